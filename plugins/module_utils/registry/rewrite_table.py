# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's rewrite table: mirrors for registries other than Docker Hub, as data.

dockerd's ``registry-mirrors`` serve Docker Hub only. For any other registry the
collection keeps a table on the host, written by registry_mirrors (runtime
docker) and read by the image and container modules when a pull is due: a pull
of ``ghcr.io/org/app:1`` becomes a pull of ``<mirror host>[/<path>]/org/app``
by the digest the mirror serves, tagged back to ``ghcr.io/org/app:1``.

The file (:data:`TABLE_PATH`) is JSON::

    {
      "version": 1,
      "registries": {
        "ghcr.io": {
          "mirrors": [
            {"url": "https://ghcr.mirror.lan", "insecure": false},
            {"url": "https://m.example.com/ghcr.io", "insecure": false}
          ],
          "verify_digest": "mirror"
        }
      }
    }

Keys this module does not know are kept. Pure: parse, merge
(:func:`set_registry`, :func:`remove_registry`), render, look up and the mirror
reference of an image; reading and writing the file is the caller's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    DOCKER_HUB,
    DOCKER_HUB_ALIASES,
    ImageReferenceError,
    is_registry_host,
    parse_reference,
)

TABLE_PATH = "/etc/dockhand/registry-mirrors.json"
TABLE_VERSION = 1
# What a mirror's digest is checked against before a pull through it (see image_pull.pull_image).
VERIFY_MIRROR = "mirror"  # the digest the mirror serves; the engine checks the content against it
VERIFY_UPSTREAM = "upstream"  # also the digest the registry itself serves, when it answers
VERIFY_CHOICES = (VERIFY_MIRROR, VERIFY_UPSTREAM)

_URL_RE = re.compile(r"(?P<scheme>https?)://(?P<host>[^/]+)(?P<path>(?:/[^/]+)*)")


class TableError(ValueError):
    """The table, or a mirror for it, cannot be used; the message says what to change."""


def mirror_prefix(url):
    """``host[:port][/path]`` of a mirror URL: what replaces the registry in an image name; raises TableError.

    The URL is as registry_mirrors normalises it (lower-case scheme and host,
    no trailing slash). The host must name a registry in an image reference
    (a dot, a port or ``localhost``), and the path must be repository name
    components, since the engine pulls ``<host>[/<path>]/<repository>``.
    """
    match = _URL_RE.fullmatch(url) if isinstance(url, str) else None
    if not match:
        raise TableError("%r is not a mirror URL of the form http(s)://host[:port][/path], without a trailing "
                         "slash, query or credentials" % (url,))
    host, path = match.group("host"), match.group("path")
    if host != host.lower() or not is_registry_host(host):
        raise TableError("%r: %r is not a valid registry host[:port] in lower case" % (url, host))
    if "." not in host and ":" not in host and host != "localhost":
        raise TableError("%r: the engine reads %r in an image name as a Docker Hub user, not a registry; use the "
                         "host's full DNS name or add its port (%s:443)" % (url, host, host))
    if host in DOCKER_HUB_ALIASES:
        raise TableError("%r: Docker Hub cannot stand in for another registry here; name the mirror itself" % url)
    try:
        parsed = parse_reference("%s%s/x" % (host, path))
    except ImageReferenceError:
        parsed = None
    if parsed is None or parsed.registry != host or parsed.repository != (path + "/x").lstrip("/"):
        raise TableError("%r: the path %r must be lower-case repository name components (letters, digits, '.', "
                         "'_', '-' between '/'), since the engine pulls <host>%s/<repository> from it"
                         % (url, path, path))
    return host + path


def mirror_host(url):
    """``host[:port]`` of a valid mirror URL, as Docker's insecure-registries names it."""
    return mirror_prefix(url).split("/", 1)[0]


def mirror_reference(url, ref):
    """The ImageRef ``ref`` has on the mirror at ``url``: by digest when ``ref`` has one, else by tag.

    Raises TableError for a URL that cannot prefix an image name, and
    ImageReferenceError when the name it makes is too long for the engine.
    """
    name = "%s/%s" % (mirror_prefix(url), ref.repository)
    return parse_reference("%s@%s" % (name, ref.digest) if ref.digest else "%s:%s" % (name, ref.tag))


def judge_digest(mirror_digest, upstream_digest, verify):
    """(checked_against, problem) for the digest a mirror serves for a tag.

    With ``verify`` upstream and the registry's own digest known, the mirror's
    must be the same (else ``problem`` says why the mirror is passed over);
    otherwise the mirror's digest is all there is, and the engine checks the
    content it pulls against it.
    """
    if verify == VERIFY_UPSTREAM and upstream_digest:
        if mirror_digest != upstream_digest:
            return None, ("it serves %s, but the registry itself serves %s (a stale or wrong copy)"
                          % (mirror_digest, upstream_digest))
        return VERIFY_UPSTREAM, None
    return VERIFY_MIRROR, None


def needs_insecure(mirror):
    """Whether the engine must list the mirror's host in insecure-registries to pull from it by name."""
    return mirror["url"].startswith("http://") or bool(mirror.get("insecure"))


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

def empty_table():
    return {"version": TABLE_VERSION, "registries": {}}


def _check_registry(name, where):
    if not isinstance(name, str) or not is_registry_host(name) or name != name.lower():
        raise TableError("%s: %r is not a registry host[:port] in lower case" % (where, name))
    if name in DOCKER_HUB_ALIASES:
        raise TableError("%s: Docker Hub's mirrors belong in daemon.json's registry-mirrors, not in this table"
                         % where)


def _check_entry(registry, entry, where):
    label = "%s: registries[%r]" % (where, registry)
    if not isinstance(entry, dict):
        raise TableError("%s must be an object with mirrors (a list)" % label)
    mirrors = entry.get("mirrors")
    if not isinstance(mirrors, list) or not mirrors:
        raise TableError("%s.mirrors must be a non-empty list of {url, insecure}" % label)
    for index, mirror in enumerate(mirrors):
        if not isinstance(mirror, dict) or not isinstance(mirror.get("url"), str):
            raise TableError("%s.mirrors[%d] must be an object with url" % (label, index))
        if not isinstance(mirror.get("insecure", False), bool):
            raise TableError("%s.mirrors[%d].insecure must be true or false" % (label, index))
        try:
            mirror_prefix(mirror["url"])
        except TableError as exc:
            raise TableError("%s.mirrors[%d]: %s" % (label, index, exc)) from None
    verify = entry.get("verify_digest", VERIFY_MIRROR)
    if verify not in VERIFY_CHOICES:
        raise TableError("%s.verify_digest must be one of %s, not %r" % (label, ", ".join(VERIFY_CHOICES), verify))


def parse_table(text, where=TABLE_PATH):
    """The table in ``text`` (None or blank: an empty table), checked; raises TableError naming ``where``."""
    if text is None or not text.strip():
        return empty_table()
    try:
        table = json.loads(text)
    except ValueError as exc:
        raise TableError("%s is not valid JSON: %s" % (where, exc)) from None
    if not isinstance(table, dict):
        raise TableError("%s must hold a JSON object with version and registries" % where)
    if table.get("version") != TABLE_VERSION:
        raise TableError("%s has version %r; this dockhand.runtime reads version %d (a newer one wrote it?)"
                         % (where, table.get("version"), TABLE_VERSION))
    registries = table.setdefault("registries", {})
    if not isinstance(registries, dict):
        raise TableError("%s: registries must be an object keyed by registry host" % where)
    for registry, entry in registries.items():
        _check_registry(registry, where)
        _check_entry(registry, entry, where)
    return table


def table_mirrors(table, registry):
    """The mirrors of ``registry`` ([{url, insecure}], in order; [] when it has none) and its verify_digest."""
    entry = table["registries"].get(registry) or {}
    return list(entry.get("mirrors") or []), entry.get("verify_digest", VERIFY_MIRROR)


def set_registry(table, registry, mirrors, verify_digest=VERIFY_MIRROR):
    """A copy of ``table`` where ``registry`` has exactly ``mirrors`` (dicts with url and insecure), in order.

    Other registries, and keys of the entry this module does not know, are kept.
    """
    _check_registry(registry, "registry")
    result = copy.deepcopy(table)
    entry = result["registries"].setdefault(registry, {})
    entry["mirrors"] = [{"url": mirror["url"], "insecure": bool(mirror.get("insecure"))} for mirror in mirrors]
    entry["verify_digest"] = verify_digest
    _check_entry(registry, entry, "registry")
    return result


def remove_registry(table, registry, urls=()):
    """A copy of ``table`` without the mirrors ``urls`` of ``registry`` (all of them when ``urls`` is empty).

    A registry left with no mirror goes from the table.
    """
    result = copy.deepcopy(table)
    entry = result["registries"].get(registry)
    if entry is None:
        return result
    if urls:
        entry["mirrors"] = [mirror for mirror in entry["mirrors"] if mirror["url"] not in set(urls)]
    if not urls or not entry["mirrors"]:
        del result["registries"][registry]
    return result


def is_empty(table):
    """Whether the table holds nothing worth a file: no registry and no key of someone else's."""
    return not table["registries"] and not set(table) - {"version", "registries"}


def render_table(table):
    """The file's text (registries in name order, 2-space JSON, a final newline), or None for an empty table."""
    if is_empty(table):
        return None
    ordered = {"version": table["version"]}
    ordered.update((key, value) for key, value in table.items() if key not in ("version", "registries"))
    ordered["registries"] = {name: table["registries"][name] for name in sorted(table["registries"])}
    return json.dumps(ordered, indent=2) + "\n"


def insecure_hosts(table):
    """The mirror hosts the engine must list in insecure-registries, in table order (http or insecure mirrors)."""
    hosts = []
    for registry in sorted(table["registries"]):
        for mirror in table["registries"][registry]["mirrors"]:
            host = mirror_host(mirror["url"])
            if needs_insecure(mirror) and host not in hosts:
                hosts.append(host)
    return hosts


def is_rewritable(registry):
    """Whether images of ``registry`` can be pulled through the table (every registry but Docker Hub)."""
    return registry != DOCKER_HUB
