# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's model: what playbooks/report.yml gathered on each host, as one view per host and a summary.

Input, per host, is what the play registered (each may say ``unreachable``, ``failed`` or ``skipped``):
``engine`` (engine_info with disk_usage), ``cgroup`` (cgroup_info with a slice), ``mirrors`` (mirror_probe of the
engine's registry mirrors) and ``containers`` (container_info with every and details). Nothing here reads a file or
the network: the renderers and the action plugin do the rest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re
import statistics

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import redact

PARTS = ("engine", "cgroup", "mirrors", "containers")
DISK_KINDS = ("images", "containers", "volumes", "build_cache")
# What drift is judged on: (key in a host view's engine part, words for it)
DRIFT_KEYS = (("version", "engine version"), ("cgroup_driver", "cgroup driver"), ("mirrors", "registry mirrors"))


def natural_key(name):
    """host2 before host10: digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", str(name)) if part]


class ReportError(ValueError):
    """Bad input for the report; the message names the option."""


def _problem(result):
    """("unreachable" | "failed", message) for a registered result that did not come through, else None."""
    if not isinstance(result, dict):
        return None
    if result.get("unreachable"):
        return "unreachable", str(result.get("msg") or "unreachable")
    if result.get("failed"):
        return "failed", str(result.get("msg") or "failed")
    return None


def _usable(result):
    return isinstance(result, dict) and not result.get("skipped") and _problem(result) is None


def host_status(record):
    """(status, error): ``unreachable`` when any part could not reach the host, else ``failed`` when the engine
    part failed, else ``ok`` (a failed probe or listing is shown in its own section)."""
    problems = [_problem(record.get(part)) for part in PARTS]
    for kind in ("unreachable", "failed"):
        for part, problem in zip(PARTS, problems):
            if problem and problem[0] == kind and (kind == "unreachable" or part == "engine"):
                return kind, problem[1]
    if not _usable(record.get("engine")):
        return "failed", "no engine facts were gathered"
    return "ok", None


def _engine(result):
    engine = result.get("engine") or {}
    daemon_json = result.get("daemon_json") or {}
    mirrors = engine.get("registry_mirrors")
    if mirrors is None:
        mirrors = (daemon_json.get("settings") or {}).get("registry-mirrors") or []
    return {
        "running": bool(engine.get("running")),
        "error": engine.get("error"),
        "kind": engine.get("kind"),
        "version": engine.get("version"),
        "api_version": engine.get("api_version"),
        "storage_driver": engine.get("storage_driver"),
        "cgroup_driver": engine.get("cgroup_driver"),
        "cgroup_version": engine.get("cgroup_version"),
        "os": engine.get("os"),
        "mirrors": [str(mirror).rstrip("/") for mirror in mirrors],
    }


def _disk(result):
    usage = result.get("disk_usage") or {}
    return {kind: usage.get(kind) for kind in DISK_KINDS} if usage else None


def _slice(result):
    found = result.get("slice") if _usable(result) else None
    if not found:
        return None
    keys = ("name", "exists", "memory_max", "memory_current", "cpu_quota_percent", "cpu_usage_usec", "tasks_max",
            "tasks_current")
    return {key: found.get(key) for key in keys}


def _mirrors(result):
    if not _usable(result):
        return []
    keys = ("ok", "latency_ms", "throughput", "integrity", "error")
    return [dict({key: entry.get(key) for key in keys}, url=str(entry.get("url") or "").rstrip("/"))
            for entry in result.get("results") or []]


def _containers(result):
    if not _usable(result):
        return []
    keys = ("name", "image", "state", "running", "health", "restart_count", "uptime_seconds")
    return [{key: entry.get(key) for key in keys} for entry in result.get("containers") or []]


def _part_error(result):
    problem = _problem(result)
    return problem[1] if problem else None


def host_view(name, record):
    """What the report shows for one host."""
    if not isinstance(record, dict):
        record = {}
    status, error = host_status(record)
    view = {"host": name, "status": status, "error": error, "engine": None, "disk": None, "slice": None,
            "mirrors": [], "containers": [], "errors": {}, "drift": []}
    if status != "ok":
        return view
    engine = record["engine"]
    view.update(engine=_engine(engine), disk=_disk(engine), slice=_slice(record.get("cgroup")),
                mirrors=_mirrors(record.get("mirrors")), containers=_containers(record.get("containers")))
    for part in PARTS:
        error = _part_error(record.get(part))
        if error:
            view["errors"][part] = error
    if engine.get("disk_usage_error"):
        view["errors"]["disk"] = engine["disk_usage_error"]
    return view


def _value(view, key):
    engine = view["engine"] or {}
    value = engine.get(key)
    return tuple(value) if isinstance(value, list) else value


def _shown(value):
    if isinstance(value, tuple):
        return ", ".join(value) if value else "none"
    return "none" if value in (None, "") else str(value)


def majority(views, key):
    """The value most hosts with a running engine have (ties: the first in sorted order), or None."""
    counted = collections.Counter(_value(view, key) for view in views
                                  if view["status"] == "ok" and view["engine"]["running"])
    if not counted:
        return None
    top = max(counted.values())
    return sorted((value for value, count in counted.items() if count == top), key=_shown)[0]


def _expected(expected, key):
    value = (expected or {}).get(key)
    if value is None:
        return None
    if key == "mirrors":
        return tuple(str(mirror).rstrip("/") for mirror in value)
    return str(value)


def mark_drift(views, expected=None):
    """Sets each host view's ``drift`` (words) where it differs from what the play asks or from the majority."""
    common = {key: majority(views, key) for key, _words in DRIFT_KEYS}
    for view in views:
        if view["status"] != "ok" or not view["engine"]["running"]:
            continue
        for key, words in DRIFT_KEYS:
            value, asked = _value(view, key), _expected(expected, key)
            if asked is not None and value != asked:
                view["drift"].append("%s %s, the play asks %s" % (words, _shown(value), _shown(asked)))
            elif asked is None and common[key] is not None and value != common[key]:
                view["drift"].append("%s %s, most hosts have %s" % (words, _shown(value), _shown(common[key])))
    return {key: (list(value) if isinstance(value, tuple) else value) for key, value in common.items()}


def _mirror_speeds(views):
    by_url = collections.OrderedDict()
    for view in views:
        for probe in view["mirrors"]:
            by_url.setdefault(probe["url"], []).append(probe)
    speeds = []
    for url, probes in by_url.items():
        throughputs = [probe["throughput"] for probe in probes if probe["ok"] and probe["throughput"]]
        latencies = [probe["latency_ms"] for probe in probes if probe["ok"] and probe["latency_ms"] is not None]
        speeds.append({"url": url, "hosts": len(probes), "ok_hosts": sum(1 for probe in probes if probe["ok"]),
                       "median_throughput": int(statistics.median(throughputs)) if throughputs else None,
                       "median_latency_ms": round(statistics.median(latencies), 1) if latencies else None,
                       "integrity": sorted({probe["integrity"] for probe in probes if probe["integrity"]})})
    return speeds


def summarize(views, common):
    """The fleet summary: counts, engine versions and mirror speeds for the charts, the majority."""
    statuses = collections.Counter(view["status"] for view in views)
    running = [view for view in views if view["status"] == "ok" and view["engine"]["running"]]
    containers = [container for view in views for container in view["containers"]]
    versions = collections.Counter(view["engine"]["version"] or "unknown" for view in running)
    return {
        "hosts": len(views),
        "ok": statuses["ok"],
        "unreachable": statuses["unreachable"],
        "failed": statuses["failed"],
        "engines_running": len(running),
        "engines_down": statuses["ok"] - len(running),
        "containers": len(containers),
        "containers_running": sum(1 for container in containers if container["running"]),
        "containers_unhealthy": sum(1 for container in containers if container["health"] == "unhealthy"),
        "drifting": sum(1 for view in views if view["drift"]),
        "engine_versions": [{"version": version, "hosts": count}
                            for version, count in sorted(versions.items(), key=lambda item: (-item[1], item[0]))],
        "mirror_speeds": _mirror_speeds(views),
        "majority": common,
    }


def build_report(hosts, expected=None, generated_at=None, title=None):
    """The whole report from {host: record}: ``summary``, ``hosts`` (in natural order) and what the play asked.

    Secrets (URL credentials, values under secret-sounding keys) are masked before anything is rendered.
    """
    if not isinstance(hosts, dict) or not hosts:
        raise ReportError("hosts: give a dict of host names to what report.yml gathered there; it is empty")
    if expected is not None and not isinstance(expected, dict):
        raise ReportError("expected: give a dict with engine_version, cgroup_driver and mirrors (any of them)")
    unknown = sorted(set(expected or {}) - {"engine_version", "cgroup_driver", "mirrors"})
    if unknown:
        raise ReportError("expected: %s is not something the report compares; use engine_version, cgroup_driver "
                          "or mirrors" % ", ".join(unknown))
    asked = {"version": (expected or {}).get("engine_version"), "cgroup_driver": (expected or {}).get("cgroup_driver"),
             "mirrors": (expected or {}).get("mirrors")}
    if asked["mirrors"] is not None and not isinstance(asked["mirrors"], list):
        raise ReportError("expected.mirrors: give a list of mirror URLs")
    views = [host_view(str(name), redact(hosts[name])) for name in sorted(hosts, key=natural_key)]
    # both sides masked alike, so a mirror with credentials compares equal and its password shows nowhere
    asked = redact({key: value for key, value in asked.items() if value is not None})
    common = mark_drift(views, asked)
    return {"title": title or "Fleet report", "generated_at": generated_at, "expected": asked,
            "summary": summarize(views, common), "hosts": views}
