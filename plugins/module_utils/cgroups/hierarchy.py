# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cgroups: the host's hierarchy (read from its mounts), slice limits and the files that carry them.

Everything but host_cgroup is pure: validation, the slice unit text, the
mapping of limits to cgroup v1 and v2 files, and parsers of /proc files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.dockhand.runtime.plugins.module_utils.host.units import UnitError, format_size, parse_size

# Controllers of the v1 hierarchy that may appear as mount options.
V1_CONTROLLERS = (
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory",
    "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma",
)

HIERARCHY_V1 = "v1"
HIERARCHY_HYBRID = "hybrid"
HIERARCHY_V2 = "v2"
HIERARCHY_NONE = "none"


def parse_mounts(text):
    """Parse /proc/self/mounts text into dicts with device, mountpoint, fstype, options."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mountpoint = fields[1].replace("\\040", " ")
        mounts.append({
            "device": fields[0],
            "mountpoint": mountpoint,
            "fstype": fields[2],
            "options": fields[3].split(","),
        })
    return mounts


def detect_hierarchy(mounts, root="/sys/fs/cgroup"):
    """Classify the cgroup layout.

    Returns a dict: ``version`` (v1, hybrid, v2 or none), ``unified_mount``
    (where cgroup2 is mounted, or None) and ``v1_controllers`` (sorted names
    of the controllers mounted as v1 hierarchies).
    """
    unified = None
    v1 = set()
    for mount in mounts:
        if mount["fstype"] == "cgroup2" and mount["mountpoint"].startswith(root):
            if unified is None or mount["mountpoint"] == root:
                unified = mount["mountpoint"]
        elif mount["fstype"] == "cgroup" and mount["mountpoint"].startswith(root):
            v1.update(opt for opt in mount["options"] if opt in V1_CONTROLLERS)
    if unified == root and not v1:
        version = HIERARCHY_V2
    elif v1 and unified:
        version = HIERARCHY_HYBRID
    elif v1:
        version = HIERARCHY_V1
    elif unified:
        version = HIERARCHY_V2
    else:
        version = HIERARCHY_NONE
    return {"version": version, "unified_mount": unified, "v1_controllers": sorted(v1)}


def v1_mountpoints(mounts, root="/sys/fs/cgroup"):
    """{controller: mountpoint} of the v1 hierarchies (``cpu`` and ``cpuacct`` may share one)."""
    found = {}
    for mount in mounts:
        if mount["fstype"] == "cgroup" and mount["mountpoint"].startswith(root):
            for option in mount["options"]:
                if option in V1_CONTROLLERS:
                    found.setdefault(option, mount["mountpoint"])
    return found


def parse_proc_cgroups(text):
    """Names of the enabled controllers in /proc/cgroups text."""
    enabled = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) >= 4 and fields[3] == "1":
            enabled.append(fields[0])
    return sorted(enabled)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def read_mounts(mounts_path="/proc/self/mounts"):
    return parse_mounts(_read(mounts_path) or "")


def host_cgroup(mounts_path="/proc/self/mounts", root="/sys/fs/cgroup"):
    """The host's cgroup hierarchy and controllers, read from its files.

    ``controllers`` lists what containers can be limited by: on v2 the
    controllers of the unified root, on v1 and hybrid the v1 controllers.
    """
    text = _read(mounts_path) or ""
    found = detect_hierarchy(parse_mounts(text), root=root)
    unified_controllers = []
    if found["unified_mount"]:
        unified_controllers = sorted((_read(found["unified_mount"] + "/cgroup.controllers") or "").split())
    if found["version"] == HIERARCHY_V2:
        controllers = unified_controllers
    else:
        controllers = found["v1_controllers"]
    return {
        "version": found["version"],
        "mountpoint": root if found["version"] != HIERARCHY_NONE else None,
        "unified_mount": found["unified_mount"],
        "controllers": controllers,
        "unified_controllers": unified_controllers,
    }


# --------------------------------------------------------------------------
# Slices and their limits (pure)
# --------------------------------------------------------------------------

INFINITY = "infinity"
# The period systemd gives CPUQuota= (and the cgroupfs fallback uses): 100 ms.
CPU_PERIOD_USEC = 100000
CPU_WEIGHT_MIN, CPU_WEIGHT_MAX, CPU_WEIGHT_DEFAULT = 1, 10000, 100
CPU_SHARES_DEFAULT, CPU_SHARES_MIN, CPU_SHARES_MAX = 1024, 2, 262144
# v1 prints an unlimited memory limit as a huge page-aligned number; anything this big is unlimited.
UNLIMITED_THRESHOLD = 1 << 62

# The limits a slice takes, in the order they are written: the role and module option name,
# the unit file directive, and the `systemctl show` property that reports it.
LIMITS = (
    ("memory_max", "MemoryMax", "MemoryMax"),
    ("memory_high", "MemoryHigh", "MemoryHigh"),
    ("cpu_quota", "CPUQuota", "CPUQuotaPerSecUSec"),
    ("cpu_weight", "CPUWeight", "CPUWeight"),
    ("tasks_max", "TasksMax", "TasksMax"),
)
LIMIT_NAMES = tuple(name for name, _directive, _prop in LIMITS)
UNIT_DIRECTIVES = {name: directive for name, directive, _prop in LIMITS}
SHOW_PROPERTIES = {name: prop for name, _directive, prop in LIMITS}
# What a limit is when the task does not give it (the cgroupfs fallback writes these).
DEFAULT_LIMITS = {"memory_max": INFINITY, "memory_high": INFINITY, "cpu_quota": INFINITY,
                  "cpu_weight": CPU_WEIGHT_DEFAULT, "tasks_max": INFINITY}
# Slices this collection refuses to own: limits there would cap the whole machine, its services or its users.
RESERVED_SLICES = ("-.slice", "system.slice", "user.slice", "init.scope")

# Every pattern is used with fullmatch: "$" would accept a trailing newline.
_UNIT_NAME_RE = re.compile(r"[A-Za-z0-9:_.-]+")
_CGROUP_PATH_RE = re.compile(r"(/[A-Za-z0-9:_.@-]+)+")
_PERCENT_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]{1,2})?)\s*%\s*")
# A unit's Description=: no control characters (a newline would start a directive of its own), no '\\'
# (a line continuation or an escape) and no '%' (a specifier systemd would expand).
_DESCRIPTION_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\\%]{1,256}")
_TIMESPAN_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(us|ms|s|min|h|d)")
_TIMESPAN_USEC = {"us": 1, "ms": 1000, "s": 1000000, "min": 60000000, "h": 3600000000, "d": 86400000000}


class CgroupError(ValueError):
    """Bad input for a slice or a limit; the message names the option and says what to write."""


def check_slice_name(name, option="name"):
    """``name`` if it is a slice unit name this collection may own; CgroupError otherwise."""
    if not isinstance(name, str) or not name:
        raise CgroupError("%s: give a slice name such as containers.slice" % option)
    if not name.endswith(".slice") or not _UNIT_NAME_RE.fullmatch(name):
        raise CgroupError("%s: %r is not a slice name; write letters, digits, '_', '.', '-' and end with .slice, "
                          "for example containers.slice" % (option, name))
    stem = name[:-len(".slice")]
    if name in RESERVED_SLICES:
        raise CgroupError("%s: %s is a slice of systemd's own; limits there would hold every service or user. "
                          "Use a slice of its own, such as containers.slice" % (option, name))
    if not stem or stem.startswith("-") or stem.endswith("-") or "--" in stem:
        raise CgroupError("%s: %r is not a valid slice name: a '-' separates parent and child slices "
                          "(a-b.slice sits in a.slice), so it may not start or end the name or appear twice "
                          "in a row" % (option, name))
    return name


def check_description(text, option="description"):
    """``text`` if it can be a unit's Description= as it is; CgroupError otherwise (never altered)."""
    if text is None:
        return None
    if not isinstance(text, str) or not _DESCRIPTION_RE.fullmatch(text):
        raise CgroupError("%s: %r cannot be a unit's description; write up to 256 characters on one line, "
                          "without control characters (such as a newline), '\\' or '%%'" % (option, text))
    return text


def slice_cgroup_path(name):
    """Where systemd puts a slice in the cgroup tree: ``a-b.slice`` is ``/a.slice/a-b.slice``."""
    parts = name[:-len(".slice")].split("-")
    return "/" + "/".join("-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))


def check_cgroup_path(path, option="path"):
    """``path`` if it is an absolute cgroup path such as /containers; CgroupError otherwise."""
    if not isinstance(path, str) or not _CGROUP_PATH_RE.fullmatch(path) or \
            any(part in (".", "..") for part in path.split("/")):
        raise CgroupError("%s: %r is not a cgroup path; write an absolute path of plain names, "
                          "for example /containers" % (option, path))
    return path.rstrip("/")


def _is_infinity(value):
    return isinstance(value, str) and value.strip().lower() in (INFINITY, "max", "unlimited")


def _size_limit(option, value):
    if _is_infinity(value):
        return INFINITY
    try:
        number = parse_size(value)
    except UnitError as exc:
        raise CgroupError("%s: %s, or infinity" % (option, exc)) from None
    if number < 4096:
        raise CgroupError("%s: %r is too small; give at least 4k (one page), for example 512m or 2g"
                          % (option, value))
    return number


def _cpu_quota(option, value):
    if _is_infinity(value):
        return INFINITY
    match = _PERCENT_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise CgroupError("%s: %r is not a CPU quota; write a percentage of one CPU such as 50%% or 150%% "
                          "(200%% is two full CPUs), or infinity" % (option, value))
    percent = float(match.group(1))
    if percent <= 0:
        raise CgroupError("%s: %r gives no CPU at all; write more than 0%%, for example 50%%" % (option, value))
    return ("%.2f" % percent).rstrip("0").rstrip(".") + "%"


def _cpu_weight(option, value):
    number = _integer(value)
    if number is None or not CPU_WEIGHT_MIN <= number <= CPU_WEIGHT_MAX:
        raise CgroupError("%s: %r is not a CPU weight; write an integer from %d to %d (%d is the default "
                          "every other slice has)" % (option, value, CPU_WEIGHT_MIN, CPU_WEIGHT_MAX,
                                                      CPU_WEIGHT_DEFAULT))
    return number


def _tasks_max(option, value):
    if _is_infinity(value):
        return INFINITY
    number = _integer(value)
    if number is None or number < 1:
        raise CgroupError("%s: %r is not a number of tasks; write a positive integer such as 4096, "
                          "or infinity" % (option, value))
    return number


def _integer(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_CHECKS = {"memory_max": _size_limit, "memory_high": _size_limit, "cpu_quota": _cpu_quota,
           "cpu_weight": _cpu_weight, "tasks_max": _tasks_max}


def normalize_limits(limits, option="limits"):
    """Check a dict of slice limits and return them in canonical form.

    ``memory_max``/``memory_high``: bytes (int) or ``infinity``; ``cpu_quota``:
    ``"150%"`` or ``infinity``; ``cpu_weight``: int; ``tasks_max``: int or
    ``infinity``. Limits given as None are left out. Raises CgroupError naming
    every bad option (``limits.memory_max: ...``).
    """
    if limits is None:
        return {}
    if not isinstance(limits, dict):
        raise CgroupError("%s: must be a dict of %s" % (option, ", ".join(LIMIT_NAMES)))
    problems = []
    result = {}
    for key, value in limits.items():
        name = "%s.%s" % (option, key)
        if key not in _CHECKS:
            problems.append("%s: unknown limit; the limits are %s" % (name, ", ".join(LIMIT_NAMES)))
            continue
        if value is None:
            continue
        try:
            result[key] = _CHECKS[key](name, value)
        except CgroupError as exc:
            problems.append(str(exc))
    high, top = result.get("memory_high"), result.get("memory_max")
    if isinstance(high, int) and isinstance(top, int) and high > top:
        problems.append("%s.memory_high: %s is above memory_max (%s); memory_high is where the kernel starts "
                        "to reclaim, so it must not exceed memory_max"
                        % (option, format_size(high), format_size(top)))
    if problems:
        raise CgroupError("; ".join(problems))
    return {key: result[key] for key in LIMIT_NAMES if key in result}


def quota_usec_per_sec(quota):
    """CPU time per second in microseconds for ``"150%"`` (1500000), None for infinity."""
    if quota == INFINITY:
        return None
    return int(round(float(quota.rstrip("%")) * 10000))


def weight_to_shares(weight):
    """cgroup v1 cpu.shares for a CPUWeight= value, as systemd converts it (100 -> 1024)."""
    return min(max(weight * CPU_SHARES_DEFAULT // CPU_WEIGHT_DEFAULT, CPU_SHARES_MIN), CPU_SHARES_MAX)


def _directive_value(name, value):
    if value == INFINITY:
        return "" if name == "cpu_quota" else INFINITY
    return str(value)


def slice_unit_text(name, limits, description=None):
    """The unit file of a slice with ``limits`` (canonical, from normalize_limits).

    Refuses (CgroupError) a name or description that could add a line of its own.
    """
    check_slice_name(name)
    check_description(description)
    lines = [
        "# Managed by dockhand.runtime (cgroup_slice): changes made here are overwritten.",
        "[Unit]",
        "Description=%s" % (description or "Limits for all containers (%s)" % name),
        "Before=slices.target",
        "",
        "[Slice]",
        "CPUAccounting=yes",
        "MemoryAccounting=yes",
        "TasksAccounting=yes",
    ]
    for key in LIMIT_NAMES:
        if key in limits:
            lines.append("%s=%s" % (UNIT_DIRECTIVES[key], _directive_value(key, limits[key])))
    return "\n".join(lines) + "\n"


_DIRECTIVE_LIMITS = {directive: name for name, directive, _prop in LIMITS}


def unit_limits(text):
    """The limits a slice unit file sets, canonical, and the directives it sets that cannot be read back.

    Returns (limits, unreadable): limits as normalize_limits gives them; unreadable maps a limit name to
    the directive line this module cannot carry over as it is (such as ``MemoryMax=50%``). The last
    assignment in the [Slice] section wins, as in systemd; an empty ``CPUQuota=`` is no quota.
    """
    found = {}
    section = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        directive, sep, value = line.partition("=")
        name = _DIRECTIVE_LIMITS.get(directive.strip())
        if section == "Slice" and sep and name:
            found[name] = value.strip()
    limits, unreadable = {}, {}
    for name, value in found.items():
        if name == "cpu_quota" and value == "":
            limits[name] = INFINITY
            continue
        if name == "cpu_weight" and value == "":
            continue  # systemd's default weight: not a limit
        try:
            limits[name] = _CHECKS[name](name, value)
        except CgroupError:
            unreadable[name] = "%s=%s" % (UNIT_DIRECTIVES[name], value)
    return {key: limits[key] for key in LIMIT_NAMES if key in limits}, unreadable


def merge_limits(current, wanted, option="limits"):
    """``wanted`` over ``current`` (both canonical): the limits a slice keeps when a run names only some.

    Checked again as a whole (memory_high may not exceed a memory_max that was kept).
    """
    merged = dict(current or {})
    merged.update(wanted or {})
    try:
        return normalize_limits(merged, option)
    except CgroupError as exc:
        raise CgroupError("%s (limits not named in this run are kept from the slice: %s)"
                          % (exc, ", ".join(sorted(set(current or {}) - set(wanted or {}))) or "none")) from None


def parse_timespan_usec(text):
    """Microseconds from a systemd timespan as ``systemctl show`` prints it (``1.500000s``, ``125ms``).

    None for ``infinity`` or an empty value.
    """
    text = (text or "").strip()
    if not text or text == INFINITY:
        return None
    total = 0.0
    for amount, unit in _TIMESPAN_RE.findall(text):
        total += float(amount) * _TIMESPAN_USEC[unit]
    return int(round(total))


def _shown(name, text):
    """A ``systemctl show`` value in the canonical form of normalize_limits."""
    text = (text or "").strip()
    if name == "cpu_quota":
        usec = parse_timespan_usec(text)
        return INFINITY if usec is None else usec
    if text in (INFINITY, "[not set]", ""):
        return INFINITY if name != "cpu_weight" else None
    try:
        return int(text)
    except ValueError:
        return text


def shown_mismatches(limits, props):
    """The limits systemd does not show as asked: list of {limit, property, wanted, shown}."""
    problems = []
    for key, wanted in limits.items():
        prop = SHOW_PROPERTIES[key]
        shown = _shown(key, props.get(prop))
        expect = wanted
        if key == "cpu_quota" and wanted != INFINITY:
            expect = quota_usec_per_sec(wanted)
        if shown != expect:
            problems.append({"limit": key, "property": prop, "wanted": wanted, "shown": props.get(prop)})
    return problems


def limit_files(limits, version):
    """The cgroup files that carry ``limits`` on a hierarchy ``version``, and the limits that have none.

    Returns (files, unsupported): files is a list of {limit, controller,
    file, value} in the order to write them (controller is "" on v2, where
    every file sits in one directory); unsupported lists limits this
    hierarchy cannot express (memory_high on v1: it has no equivalent).
    """
    rows = []
    unsupported = []
    v2 = version == HIERARCHY_V2

    def add(key, controller, filename, value):
        rows.append({"limit": key, "controller": controller, "file": filename, "value": value})

    for key in LIMIT_NAMES:
        if key not in limits:
            continue
        value = limits[key]
        unlimited = value == INFINITY
        if key == "memory_max":
            add(key, "memory", "memory.max" if v2 else "memory.limit_in_bytes",
                ("max" if v2 else "-1") if unlimited else str(value))
        elif key == "memory_high" and v2:
            add(key, "memory", "memory.high", "max" if unlimited else str(value))
        elif key == "memory_high":
            unsupported.append(key)
        elif key == "cpu_quota":
            quota = quota_usec_per_sec(value)
            per_period = None if quota is None else quota * CPU_PERIOD_USEC // 1000000
            if v2:
                add(key, "cpu", "cpu.max", "%s %d" % (per_period or "max", CPU_PERIOD_USEC))
            else:
                add(key, "cpu", "cpu.cfs_period_us", str(CPU_PERIOD_USEC))
                add(key, "cpu", "cpu.cfs_quota_us", str(per_period or -1))
        elif key == "cpu_weight":
            if v2:
                add(key, "cpu", "cpu.weight", str(value))
            else:
                add(key, "cpu", "cpu.shares", str(weight_to_shares(value)))
        elif key == "tasks_max":
            add(key, "pids", "pids.max", "max" if unlimited else str(value))
    return rows, unsupported


def file_value_matches(filename, wanted, actual):
    """Whether a cgroup file holds ``wanted`` (as limit_files writes it); ``actual`` as read.

    Unlimited reads back as ``max`` (v2) or a huge number (v1 memory); the
    kernel rounds memory limits down to whole pages.
    """
    actual = (actual or "").strip()
    wanted = wanted.strip()
    if actual == wanted:
        return True
    if filename.startswith("memory."):
        wanted_bytes = _bytes_or_unlimited(wanted)
        actual_bytes = _bytes_or_unlimited(actual)
        if wanted_bytes is None or actual_bytes is None:
            return wanted_bytes is None and actual_bytes is None
        return 0 <= wanted_bytes - actual_bytes < 65536
    return actual.split() == wanted.split()


def _bytes_or_unlimited(text):
    """An int, or None for unlimited (max, -1 or a v1 'unlimited' number)."""
    if text in ("max", "-1", ""):
        return None
    try:
        number = int(text)
    except ValueError:
        return None
    return None if number >= UNLIMITED_THRESHOLD else number


def parse_pid_cgroup(text):
    """``/proc/<pid>/cgroup`` as {controller: path}; the unified (v2) entry is under ""."""
    paths = {}
    for line in text.splitlines():
        fields = line.strip().split(":", 2)
        if len(fields) != 3:
            continue
        for controller in fields[1].split(",") if fields[1] else [""]:
            paths[controller] = fields[2]
    return paths


def slice_of(path):
    """The innermost slice in a cgroup path (``containers.slice`` for /containers.slice/docker-x.scope)."""
    slices = [part for part in (path or "").split("/") if part.endswith(".slice")]
    return slices[-1] if slices else None


def parse_flat_keyed(text):
    """``memory.stat``-style files (``key value`` lines) as {key: int}."""
    values = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2:
            try:
                values[fields[0]] = int(fields[1])
            except ValueError:
                continue
    return values


def unlimited_to_none(number):
    return None if number is None or number >= UNLIMITED_THRESHOLD or number < 0 else number


# Rows of /proc/<pid>/limits and the ulimit names Docker takes for them.
PROC_LIMIT_NAMES = {
    "Max cpu time": "cpu", "Max file size": "fsize", "Max data size": "data", "Max stack size": "stack",
    "Max core file size": "core", "Max resident set": "rss", "Max processes": "nproc",
    "Max open files": "nofile", "Max locked memory": "memlock", "Max address space": "as",
    "Max file locks": "locks", "Max pending signals": "sigpending", "Max msgqueue size": "msgqueue",
    "Max nice priority": "nice", "Max realtime priority": "rtprio", "Max realtime timeout": "rttime",
}
# The names dockerd's default-ulimits accepts.
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                "rss", "rtprio", "rttime", "sigpending", "stack")


def parse_proc_limits(text):
    """``/proc/<pid>/limits`` as {ulimit name: {"soft": int or -1, "hard": int or -1}}."""
    found = {}
    for line in text.splitlines():
        for label, name in PROC_LIMIT_NAMES.items():
            if line.startswith(label):
                fields = line[len(label):].split()
                if len(fields) >= 2:
                    found[name] = {"soft": _limit_number(fields[0]), "hard": _limit_number(fields[1])}
    return found


# CAP_SYS_RESOURCE: a process with it may raise hard resource limits (up to fs.nr_open for nofile).
CAP_SYS_RESOURCE = 24


def effective_capabilities(status_text):
    """The effective capability mask (``CapEff``) of ``/proc/<pid>/status`` text, or None."""
    for line in status_text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "CapEff":
            try:
                return int(value.strip(), 16)
            except ValueError:
                return None
    return None


def can_raise_limits(status_text):
    """Whether the process of ``/proc/<pid>/status`` text may raise its hard limits (CAP_SYS_RESOURCE)."""
    mask = effective_capabilities(status_text)
    return mask is not None and bool(mask & (1 << CAP_SYS_RESOURCE))


def ulimits_beyond(wanted, process, option="default_ulimits", who="dockerd"):
    """Why ``wanted`` (daemon_ulimits form) cannot be granted under a process's limits: a list of messages.

    ``process`` is process_cgroup's dict for the process that starts the containers (its ``ulimits`` and
    ``can_raise_limits``). A process without CAP_SYS_RESOURCE (in a container, rootless) cannot give a
    container a hard limit above its own: every container start would fail with "error setting rlimit
    ... operation not permitted". With the capability nothing is refused here.
    """
    process = process or {}
    if process.get("can_raise_limits", True):
        return []
    problems = []
    for name in sorted(wanted or {}):
        ceiling = ((process.get("ulimits") or {}).get(name) or {}).get("hard")
        if ceiling is None or ceiling == -1:
            continue
        hard = wanted[name]["Hard"]
        if hard == -1 or hard > ceiling:
            problems.append(
                "%s.%s: the hard limit %s is above %s's own (%d, /proc/%s/limits), and %s may not raise it "
                "(it lacks CAP_SYS_RESOURCE, as in a container): every container would fail to start with "
                "\"error setting rlimit ... operation not permitted\". Write a hard limit of at most %d, or "
                "start %s with a higher limit" % (option, name, "unlimited" if hard == -1 else hard, who, ceiling,
                                                  process.get("pid", "<pid>"), who, ceiling, who))
    return problems


def _limit_number(text):
    if text == "unlimited":
        return -1
    try:
        return int(text)
    except ValueError:
        return None


def _ulimit_value(option, value):
    if isinstance(value, bool):
        raise CgroupError("%s: %r is not a limit; write an integer or unlimited" % (option, value))
    if isinstance(value, int):
        if value < -1:
            raise CgroupError("%s: %d is negative; write 0 or more, or unlimited" % (option, value))
        return value
    if isinstance(value, str) and value.strip() in ("unlimited", "infinity", "-1"):
        return -1
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise CgroupError("%s: %r is not a limit; write an integer or unlimited" % (option, value))


def daemon_ulimits(value, option="default_ulimits"):
    """dockerd's ``default-ulimits`` from ``{nofile: {soft: 1024, hard: 2048}}``, ``{nofile: 65536}``
    or ``{nofile: "1024:2048"}`` (the docker CLI's form). Raises CgroupError naming the bad entry.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CgroupError("%s: must be a dict such as {nofile: {soft: 1024, hard: 65536}}" % option)
    problems = []
    result = {}
    for name, limit in value.items():
        entry = "%s.%s" % (option, name)
        if name not in ULIMIT_NAMES:
            problems.append("%s: unknown ulimit; dockerd takes %s" % (entry, ", ".join(ULIMIT_NAMES)))
            continue
        try:
            if isinstance(limit, dict):
                unknown = sorted(set(limit) - {"soft", "hard"})
                if unknown or "soft" not in limit:
                    raise CgroupError("%s: write {soft: N, hard: N} (hard defaults to soft)" % entry)
                soft = _ulimit_value(entry + ".soft", limit["soft"])
                hard = _ulimit_value(entry + ".hard", limit.get("hard", limit["soft"]))
            elif isinstance(limit, str) and ":" in limit:
                soft_text, _sep, hard_text = limit.partition(":")
                soft = _ulimit_value(entry, soft_text)
                hard = _ulimit_value(entry, hard_text)
            else:
                soft = hard = _ulimit_value(entry, limit)
        except CgroupError as exc:
            problems.append(str(exc))
            continue
        if hard != -1 and (soft == -1 or soft > hard):
            problems.append("%s: the soft limit (%s) is above the hard limit (%s); raise hard or lower soft"
                            % (entry, "unlimited" if soft == -1 else soft, hard))
            continue
        result[name] = {"Name": name, "Soft": soft, "Hard": hard}
    if problems:
        raise CgroupError("; ".join(problems))
    return result


# --------------------------------------------------------------------------
# The edge: where a cgroup's files are, and what a process sits in
# --------------------------------------------------------------------------

def cgroup_dirs(path, mounts=None, root="/sys/fs/cgroup"):
    """{controller: directory} of cgroup ``path``: one per v1 controller, or {"": dir} on v2."""
    mounts = read_mounts() if mounts is None else mounts
    found = detect_hierarchy(mounts, root=root)
    if found["version"] == HIERARCHY_V2:
        return {"": found["unified_mount"].rstrip("/") + path}
    return {controller: mountpoint.rstrip("/") + path
            for controller, mountpoint in v1_mountpoints(mounts, root=root).items()}


def effective_memory_limit(memory_dir, version, unified_root=None):
    """The memory limit that holds a cgroup, its own or an ancestor's (bytes), or None when unlimited.

    v1 reports it as ``hierarchical_memory_limit`` in memory.stat; on v2 it
    is the smallest memory.max from the cgroup up to ``unified_root``.
    """
    if version != HIERARCHY_V2:
        stat = parse_flat_keyed(_read(memory_dir + "/memory.stat") or "")
        return unlimited_to_none(stat.get("hierarchical_memory_limit"))
    smallest = None
    directory = memory_dir.rstrip("/")
    top = (unified_root or "/sys/fs/cgroup").rstrip("/")
    while directory.startswith(top) and len(directory) > len(top):
        value = _bytes_or_unlimited((_read(directory + "/memory.max") or "").strip())
        if value is not None and (smallest is None or value < smallest):
            smallest = value
        directory = directory.rsplit("/", 1)[0]
    return smallest


def process_cgroup(pid, root="/sys/fs/cgroup"):
    """Where process ``pid`` sits in the cgroup tree and what holds it.

    Returns None when the process does not exist, else a dict: ``cgroups``
    ({controller: path}), ``cgroup`` (the path of its memory cgroup, or the
    unified one), ``slice`` (the innermost slice in that path), ``memory_limit``
    (its own limit, bytes or None), ``effective_memory_limit`` (its own or an
    ancestor's, the smaller), ``ulimits`` (from /proc/<pid>/limits) and ``can_raise_limits`` (whether it
    holds CAP_SYS_RESOURCE, from /proc/<pid>/status).
    """
    text = _read("/proc/%d/cgroup" % pid)
    if text is None:
        return None
    mounts = read_mounts()
    found = detect_hierarchy(mounts, root=root)
    paths = parse_pid_cgroup(text)
    v2 = found["version"] == HIERARCHY_V2
    path = paths.get("" if v2 else "memory", paths.get(""))
    own = None
    effective = None
    if v2 and path is not None:
        directory = found["unified_mount"].rstrip("/") + path
        own = _bytes_or_unlimited((_read(directory + "/memory.max") or "").strip())
        effective = effective_memory_limit(directory, found["version"], found["unified_mount"])
    elif path is not None and "memory" in v1_mountpoints(mounts, root=root):
        directory = v1_mountpoints(mounts, root=root)["memory"].rstrip("/") + path
        own = _bytes_or_unlimited((_read(directory + "/memory.limit_in_bytes") or "").strip())
        effective = effective_memory_limit(directory, found["version"])
    return {
        "pid": pid,
        "cgroups": paths,
        "cgroup": path,
        "slice": slice_of(path),
        "memory_limit": own,
        "effective_memory_limit": effective,
        "ulimits": parse_proc_limits(_read("/proc/%d/limits" % pid) or ""),
        "can_raise_limits": can_raise_limits(_read("/proc/%d/status" % pid) or ""),
    }


# --------------------------------------------------------------------------
# What a cgroup is allowed and what it uses now
# --------------------------------------------------------------------------

# (key in the result, v1 controller, v1 file, v2 file)
USE_FILES = (
    ("memory_max", "memory", "memory.limit_in_bytes", "memory.max"),
    ("memory_current", "memory", "memory.usage_in_bytes", "memory.current"),
    ("cpu_quota", "cpu", "cpu.cfs_quota_us", "cpu.max"),
    ("cpu_period", "cpu", "cpu.cfs_period_us", None),
    ("cpu_usage", "cpuacct", "cpuacct.usage", "cpu.stat"),
    ("tasks_max", "pids", "pids.max", "pids.max"),
    ("tasks_current", "pids", "pids.current", "pids.current"),
)


def _int_or_none(text):
    if isinstance(text, int):
        return text
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def parse_cgroup_use(files, version):
    """Limits and use from the texts of a cgroup's files ({key of USE_FILES: text or None}).

    Returns memory_max and memory_current (bytes), cpu_quota_percent (100 is one CPU), cpu_usage_usec
    (CPU time used since the cgroup was made), tasks_max and tasks_current; a limit is None when unlimited,
    and any value None when its file could not be read.
    """
    v2 = version == HIERARCHY_V2
    quota_percent = None
    if v2:
        fields = (files.get("cpu_quota") or "").split()
        if len(fields) == 2 and fields[0] != "max" and _int_or_none(fields[1]):
            quota_percent = 100.0 * int(fields[0]) / int(fields[1])
        usage = _int_or_none(parse_flat_keyed(files.get("cpu_usage") or "").get("usage_usec"))
    else:
        quota, period = _int_or_none(files.get("cpu_quota")), _int_or_none(files.get("cpu_period"))
        if quota is not None and quota > 0 and period:
            quota_percent = 100.0 * quota / period
        nanoseconds = _int_or_none(files.get("cpu_usage"))
        usage = None if nanoseconds is None else nanoseconds // 1000
    tasks_max = (files.get("tasks_max") or "").strip()
    return {
        "memory_max": _bytes_or_unlimited((files.get("memory_max") or "").strip()),
        "memory_current": _int_or_none(files.get("memory_current")),
        "cpu_quota_percent": None if quota_percent is None else round(quota_percent, 1),
        "cpu_usage_usec": usage,
        "tasks_max": None if tasks_max in ("", "max") else _int_or_none(tasks_max),
        "tasks_current": _int_or_none(files.get("tasks_current")),
    }


def cgroup_use(path, mounts=None, root="/sys/fs/cgroup"):
    """What cgroup ``path`` (such as /containers.slice) may use and uses now, read from its files.

    Returns parse_cgroup_use's dict with ``path`` and ``exists`` (whether its memory cgroup, or the unified
    one, is there); every value is None when it does not exist.
    """
    mounts = read_mounts() if mounts is None else mounts
    version = detect_hierarchy(mounts, root=root)["version"]
    dirs = cgroup_dirs(path, mounts, root=root)
    v2 = version == HIERARCHY_V2
    files = {}
    for key, controller, v1_file, v2_file in USE_FILES:
        directory = dirs.get("" if v2 else controller)
        filename = v2_file if v2 else v1_file
        files[key] = _read(directory + "/" + filename) if directory and filename else None
    main_dir = dirs.get("" if v2 else "memory")
    exists = bool(main_dir) and os.path.isdir(main_dir)
    use = parse_cgroup_use(files if exists else {}, version)
    use.update(path=path, exists=exists)
    return use
