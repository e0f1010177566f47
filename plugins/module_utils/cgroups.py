# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cgroup hierarchy detection, read from the host's mounts (not from the daemon)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
