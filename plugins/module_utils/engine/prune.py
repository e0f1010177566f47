# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reclaim disk: remove unused containers, images, networks, volumes and build cache (the prune module's core).

One table (:data:`PRUNE_KINDS`) says, for each kind, the filters the engine takes and where to send them.
Pure parts: filters checked and put into the engine's form, the engine's own matching rules
(``label``, ``label!``, ``until``, ``dangling``) applied to listings, so check mode shows what the engine
would remove, and its answers shaped into results. The edge: list, or prune.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError

# kind -> the filters the engine takes for it, the prune endpoint, and the answer's key of what went.
PRUNE_KINDS = {
    "containers": {"filters": ("until", "label", "label!"), "endpoint": "/containers/prune",
                   "deleted": "ContainersDeleted"},
    "images": {"filters": ("dangling", "until", "label", "label!"), "endpoint": "/images/prune",
               "deleted": "ImagesDeleted"},
    "networks": {"filters": ("until", "label", "label!"), "endpoint": "/networks/prune",
                 "deleted": "NetworksDeleted"},
    "volumes": {"filters": ("label", "label!", "all"), "endpoint": "/volumes/prune", "deleted": "VolumesDeleted"},
    "builder_cache": {"filters": ("until", "id", "parent", "type", "description", "inuse", "shared", "private"),
                      "endpoint": "/build/prune", "deleted": "CachesDeleted"},
}
KIND_ORDER = ("containers", "images", "networks", "volumes", "builder_cache")
BOOLEAN_FILTERS = ("dangling", "all", "inuse", "shared", "private")
# Networks the engine makes itself and never prunes.
PREDEFINED_NETWORKS = frozenset(("bridge", "host", "none", "default", "ingress", "docker_gwbridge"))
# API version from which volume prune removes only anonymous volumes unless all=true.
VOLUMES_ALL_API = "1.42"
ANONYMOUS_VOLUME_LABEL = "com.docker.volume.anonymous"

_FILTER_VALUE = re.compile(r"[^\x00-\x1f\x7f]+")
_LABEL = re.compile(r"[^=\s\x00-\x1f\x7f]+(?:=[^\x00-\x1f\x7f]*)?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|\xb5s|ms|s|m|h)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|\xb5s|ms|s|m|h))+")
_UNIX_TIME = re.compile(r"\d+(?:\.\d+)?")
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
                        r"(Z|[+-]\d{2}:\d{2})?)?")
_DURATION_SECONDS = {"ns": 1e-9, "us": 1e-6, "\xb5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def as_filter_text(kind, key, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (str, int, float)):
        raise OptionError("%s_filters.%s: %r is not a value; give a string (or a list of strings)" % (kind, key, value))
    text = str(value)
    if key in BOOLEAN_FILTERS and text.lower() not in ("true", "false", "1", "0"):
        raise OptionError("%s_filters.%s must be true or false, not %r" % (kind, key, text))
    pattern = _LABEL if key in ("label", "label!") else _FILTER_VALUE
    if not pattern.fullmatch(text):
        raise OptionError("%s_filters.%s: %r is not valid; %s" % (
            kind, key, text, "a label filter is KEY or KEY=VALUE, the key without spaces"
            if key in ("label", "label!") else "give a value without control characters"))
    return text.lower() if key in BOOLEAN_FILTERS else text


def normalize_filters(kind, filters):
    """A kind's filters (a dict whose values are a value or a list) as the engine takes them: key -> [text].

    Refuses keys the engine does not take for that kind, with the ones it takes in the message.
    """
    allowed = PRUNE_KINDS[kind]["filters"]
    clean = {}
    for name, value in (filters or {}).items():
        key = str(name)
        if key not in allowed:
            raise OptionError("%s_filters: the engine takes no %r filter for %s; it takes %s"
                              % (kind, key, kind.replace("_", " "), ", ".join(allowed)))
        values = value if isinstance(value, list) else [value]
        if not values:
            raise OptionError("%s_filters.%s is an empty list; give a value or drop the key" % (kind, key))
        clean[key] = [as_filter_text(kind, key, item) for item in values]
        if key == "until":
            for item in clean[key]:
                parse_until(item, 0, "%s_filters.until" % kind)
    return clean


def parse_until(value, now, option="until"):
    """The engine's ``until`` as seconds since the epoch: a Unix time, a date (and time) or a duration before ``now``.

    A date without a zone is local time, as the engine reads it.
    """
    text = str(value)
    if _DURATION.fullmatch(text):
        return now - sum(float(number) * _DURATION_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    if _UNIX_TIME.fullmatch(text):
        return float(text)
    match = _DATE_TIME.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        fields = (int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        try:
            if zone is None:
                seconds = time.mktime(fields + (0, 0, -1))
            else:
                sign = 1 if zone[0] == "+" else -1
                offset = 0 if zone == "Z" else sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
                seconds = calendar.timegm(fields + (0, 0, 0)) - offset
        except (OverflowError, ValueError):
            seconds = None
        if seconds is not None and 1 <= fields[1] <= 12 and 1 <= fields[2] <= 31:
            return seconds + (float("0." + fraction) if fraction else 0.0)
    raise OptionError("%s %r is not a time: give a duration such as 24h or 90m, a date such as 2026-01-31 or "
                      "2026-01-31T12:00:00Z, or a Unix time" % (option, text))


def engine_time(value):
    """A time as the engine reports it (Unix seconds, or RFC 3339 text with nanoseconds) in epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    if not value:
        return None
    text = str(value)
    match = _DATE_TIME.fullmatch(text)
    if not match:
        return None
    return parse_until(text, 0)


def match_labels(wanted, labels):
    """The engine's rule for a list of KEY or KEY=VALUE: all of them must be among ``labels``."""
    if not wanted:
        return True
    if not labels:
        return False
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def selected(filters, labels, created, now):
    """Whether an object passes ``label``, ``label!`` and ``until`` as the engine's prune applies them.

    ``label!`` keeps an object only when it carries all the listed labels (the engine's rule), so one
    protecting label is the usual form.
    """
    labels = labels or {}
    if not match_labels(filters.get("label"), labels):
        return False
    if filters.get("label!") and match_labels(filters["label!"], labels):
        return False
    return not any(created is None or created > parse_until(until, now) for until in filters.get("until") or ())


def plan_containers(listing, filters, now):
    """The containers prune would remove: not running, paused or restarting, and selected by the filters."""
    planned = []
    for entry in listing or []:
        if (entry.get("State") or "").lower() in ("running", "paused", "restarting"):
            continue
        if selected(filters, entry.get("Labels"), engine_time(entry.get("Created")), now):
            names = entry.get("Names") or []
            planned.append({"id": entry.get("Id"), "name": names[0].lstrip("/") if names else None,
                            "size": entry.get("SizeRw") or 0})
    return planned


def _references(values, placeholder):
    return [value for value in values or [] if value and value != placeholder]


def plan_images(images, containers, filters, now):
    """The images prune would remove: unused by any container, untagged ones only unless ``dangling`` is false."""
    dangling_only = (filters.get("dangling") or ["true"])[-1] in ("true", "1")
    used = {entry.get("ImageID") for entry in containers or []}
    planned = []
    for image in images or []:
        if image.get("Id") in used:
            continue
        tags = _references(image.get("RepoTags"), "<none>:<none>")
        digests = _references(image.get("RepoDigests"), "<none>@<none>")
        if dangling_only and (tags or digests):
            continue
        if selected(filters, image.get("Labels"), engine_time(image.get("Created")), now):
            planned.append({"id": image.get("Id"), "tags": tags, "size": image.get("Size") or 0})
    return planned


def plan_networks(networks, running_containers, filters, now):
    """The networks prune would remove: not predefined, not swarm-scoped, no running container attached."""
    used = set()
    for entry in running_containers or []:
        for attached in ((entry.get("NetworkSettings") or {}).get("Networks") or {}).values():
            used.add((attached or {}).get("NetworkID"))
    planned = []
    for network in networks or []:
        if network.get("Name") in PREDEFINED_NETWORKS or network.get("Scope") == "swarm":
            continue
        if network.get("Id") in used or network.get("Containers"):
            continue
        if selected(filters, network.get("Labels"), engine_time(network.get("Created")), now):
            planned.append({"id": network.get("Id"), "name": network.get("Name")})
    return planned


def plan_volumes(dangling_volumes, filters, anonymous_only):
    """The volumes prune would remove, from the volumes no container uses (``GET /volumes?dangling=true``)."""
    planned = []
    for volume in dangling_volumes or []:
        labels = volume.get("Labels") or {}
        if anonymous_only and ANONYMOUS_VOLUME_LABEL not in labels:
            continue
        if selected(filters, labels, None, 0):
            planned.append({"name": volume.get("Name")})
    return planned


def plan_build_cache(records, filters, now, prune_all):
    """The build cache records prune would consider: not in use, matching the filters (an upper bound without
    ``builder_cache_all``, where BuildKit keeps records it still counts as referenced)."""
    planned = []
    for record in records or []:
        if record.get("InUse"):
            continue
        if not prune_all and record.get("Shared"):
            continue
        if filters.get("type") and record.get("Type") not in filters["type"]:
            continue
        if filters.get("id") and record.get("ID") not in filters["id"]:
            continue
        last_used = engine_time(record.get("LastUsedAt") or record.get("CreatedAt"))
        if any(last_used is None or last_used > parse_until(until, now) for until in filters.get("until") or ()):
            continue
        planned.append({"id": record.get("ID"), "size": record.get("Size") or 0})
    return planned


def volume_filters(filters, api_at_least_142):
    """The volume filters to send: ``all`` means nothing before API 1.42, where every unused volume goes."""
    if "all" not in filters or api_at_least_142:
        return filters
    if filters["all"][-1] in ("false", "0"):
        raise OptionError("volumes_filters.all: false needs an engine with API 1.42 (Docker 23) or newer; this "
                          "engine prunes named volumes too. Protect volumes with a label!: filter instead")
    return {key: value for key, value in filters.items() if key != "all"}


def shape_answer(kind, answer):
    """The engine's prune answer -> (removed list, space reclaimed, extra result keys)."""
    answer = answer or {}
    removed = answer.get(PRUNE_KINDS[kind]["deleted"]) or []
    extra = {}
    if kind == "images":
        extra["images_untagged"] = [item["Untagged"] for item in removed if item.get("Untagged")]
        removed = [item["Deleted"] for item in removed if item.get("Deleted")]
    return list(removed), int(answer.get("SpaceReclaimed") or 0), extra


def shape_plan(kind, planned):
    """A plan -> (what the result lists, as the real run would, and a human-readable list)."""
    if kind in ("networks",):
        return [item["name"] for item in planned], planned
    if kind == "volumes":
        return [item["name"] for item in planned], planned
    return [item["id"] for item in planned], planned


# --------------------------------------------------------------------------
# Edge: the engine
# --------------------------------------------------------------------------

def plan(client, kind, filters, builder_cache_all=False, now=None, going=()):
    """List what prune of ``kind`` would remove, without removing anything.

    ``going``: IDs of the containers the same task prunes first; their images count as unused.
    """
    now = time.time() if now is None else now
    if kind == "containers":
        listing = client.get("/containers/json", params={"all": True, "size": True})
        return plan_containers(listing, filters, now)
    if kind == "images":
        images = client.get("/images/json")
        containers = [entry for entry in client.get("/containers/json", params={"all": True}) or []
                      if entry.get("Id") not in going]
        return plan_images(images, containers, filters, now)
    if kind == "networks":
        return plan_networks(client.get("/networks"), client.get("/containers/json"), filters, now)
    if kind == "volumes":
        listed = (client.get("/volumes", params={"filters": {"dangling": ["true"]}}) or {}).get("Volumes")
        anonymous_only = client.api_at_least(VOLUMES_ALL_API) and (filters.get("all") or ["false"])[-1] not in (
            "true", "1")
        return plan_volumes(listed, {k: v for k, v in filters.items() if k != "all"}, anonymous_only)
    params = {"type": "build-cache"} if client.api_at_least("1.42") else None
    records = (client.get("/system/df", params=params) or {}).get("BuildCache")
    return plan_build_cache(records, filters, now, builder_cache_all)


def prune(client, kind, filters, builder_cache_all=False, keep_storage=None):
    """Prune ``kind``; returns the engine's answer."""
    params = {"filters": filters} if filters else {}
    if kind == "volumes":
        sent = volume_filters(filters, client.api_at_least(VOLUMES_ALL_API))
        params = {"filters": sent} if sent else {}
    if kind == "builder_cache":
        if builder_cache_all:
            params["all"] = True
        if keep_storage:
            params["keep-storage"] = keep_storage
    return client.post(PRUNE_KINDS[kind]["endpoint"], params=params or None)
