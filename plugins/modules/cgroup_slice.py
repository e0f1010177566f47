#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cgroup_slice
short_description: A cgroup with limits for all containers together, as a systemd slice or a cgroupfs directory
version_added: 0.1.0
description:
  - Makes one cgroup that holds every container, with limits on their memory, CPU and tasks
    together, so that the containers cannot starve the host. Point dockerd's C(cgroup-parent)
    at RV(cgroup_parent) (see the P(dockhand.runtime.cgroups#role) role).
  - Where PID 1 is systemd, writes the slice unit C(/etc/systemd/system/<name>) atomically,
    runs C(systemctl daemon-reload) and starts the slice.
  - Where it is not (or with O(manager=cgroupfs)), creates the directory O(path) in each cgroup
    hierarchy and writes the limit files; on cgroup v2 it enables the C(cpu), C(memory) and
    C(pids) controllers in the parents' C(cgroup.subtree_control). Such a directory does not
    survive a reboot, so run the module at boot (or from the play) again.
  - Checks every option before changing anything, and fails naming the option and what to write.
  - Verifies that the limits took effect (C(systemctl show) and the cgroup files). When they did
    not, it puts back what was there and fails, saying which limit shows what.
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description: Reports the actions it would take; touches nothing.
  diff_mode:
    support: full
    description: Shows the unit file, or the limit files, before and after.
options:
  name:
    description:
      - The slice, such as V(containers.slice). A C(-) nests it (V(a-b.slice) sits in V(a.slice)).
      - systemd's own slices (V(-.slice), V(system.slice), V(user.slice)) are refused.
    type: str
    required: true
  state:
    description:
      - V(present) makes the slice with O(limits). A limit the slice already has and the task does not name
        is kept (see O(exclusive)); V(infinity) lifts a limit.
      - V(absent) stops and removes it; it refuses while tasks (containers) still run in it.
    type: str
    choices: [present, absent]
    default: present
  limits:
    description: The limits of all containers together. Each is optional.
    type: dict
    default: {}
    suboptions:
      memory_max:
        description:
          - Hard memory limit (C(MemoryMax=), C(memory.max), C(memory.limit_in_bytes) on v1), such as
            V(512m) or V(2g) (binary units), or V(infinity).
        type: raw
      memory_high:
        description:
          - Memory throttling threshold (C(MemoryHigh=), C(memory.high)); at most O(limits.memory_max).
          - cgroup v1 has no such limit; on v1 and hybrid hosts it is listed in RV(unsupported).
        type: raw
      cpu_quota:
        description:
          - CPU time as a percentage of one CPU (C(CPUQuota=); C(cpu.max) or C(cpu.cfs_quota_us)), such as
            V(150%) for one and a half CPUs, or V(infinity).
        type: raw
      cpu_weight:
        description:
          - Share of CPU under contention against the other slices, 1 to 10000; 100 is the default
            (C(CPUWeight=); C(cpu.weight), or C(cpu.shares) = weight * 1024 / 100 on v1).
        type: raw
      tasks_max:
        description: Most processes and threads (C(TasksMax=), C(pids.max)), or V(infinity).
        type: raw
  exclusive:
    description:
      - V(false) keeps the limits the slice has that O(limits) does not name (they are listed in
        RV(kept_limits)), so a run that names only some limits loses none set earlier.
      - V(true) makes the slice hold exactly O(limits); a limit left out is not limited any more (listed in
        RV(removed_limits), with a warning). With O(manager=cgroupfs) its files are set back to the kernel's
        defaults.
    type: bool
    default: false
  description:
    description:
      - The slice's C(Description=), up to 256 characters on one line.
      - Control characters (such as a newline, which would start a directive of its own), C(\\) and C(%)
        are refused, never altered.
    type: str
  manager:
    description:
      - V(auto) uses systemd where PID 1 is systemd, cgroupfs elsewhere.
      - V(cgroupfs) on a systemd host makes a directory systemd does not manage, for dockerd's
        C(cgroupfs) cgroup driver.
    type: str
    choices: [auto, systemd, cgroupfs]
    default: auto
  path:
    description:
      - The cgroup path for the cgroupfs manager, such as V(/containers); dockerd's C(cgroup-parent)
        with the cgroupfs driver.
      - Defaults to the slice name without C(.slice) (V(containers.slice) -> V(/containers)).
    type: str
  verify:
    description: Check that the limits show in C(systemctl show) and in the cgroup files; roll back and fail otherwise.
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for another run that is changing the same slice unit (an exclusive lock in C(/run/lock)
        is held from reading the unit through writing, reloading, verifying and rolling back).
    type: int
    default: 60
notes:
  - kubelet and dockerd must use the same cgroup driver; with systemd's, dockerd's C(cgroup-parent) is a slice name.
seealso:
  - module: dockhand.runtime.cgroup_info
  - module: dockhand.runtime.daemon_config
  - name: systemd.resource-control(5)
    description: The limits of a slice.
    link: https://www.freedesktop.org/software/systemd/man/systemd.resource-control.html
"""

EXAMPLES = r"""
- name: All containers together get at most 6 GiB and three CPUs
  dockhand.runtime.cgroup_slice:
    name: containers.slice
    limits:
      memory_max: 6g
      memory_high: 5g
      cpu_quota: 300%
      tasks_max: 8192
  register: slice

- name: Make it dockerd's cgroup parent, with the systemd driver
  dockhand.runtime.daemon_config:
    settings:
      exec-opts: ["native.cgroupdriver=systemd"]
      cgroup-parent: "{{ slice.cgroup_parent }}"

- name: Without systemd (or for the cgroupfs driver), a directory /containers
  dockhand.runtime.cgroup_slice:
    name: containers.slice
    manager: cgroupfs
    path: /containers
    limits:
      memory_max: 2g
"""

RETURN = r"""
manager:
  description: What made the cgroup, V(systemd) or V(cgroupfs).
  returned: always
  type: str
  sample: systemd
cgroup_parent:
  description: What dockerd's C(cgroup-parent) must be to put containers in it (a slice name, or a path for cgroupfs).
  returned: always
  type: str
  sample: containers.slice
cgroup_path:
  description: The cgroup's path in the cgroup tree.
  returned: always
  type: str
  sample: /containers.slice
unit_path:
  description: The slice's unit file, or null for cgroupfs.
  returned: always
  type: str
  sample: /etc/systemd/system/containers.slice
limits:
  description:
    - The limits in canonical form (bytes, percentages, integers, V(infinity)).
    - With the systemd manager and O(exclusive=false), the limits kept from the slice are included.
  returned: always
  type: dict
  sample: {"memory_max": 536870912, "cpu_quota": "150%", "tasks_max": 4096}
kept_limits:
  description:
    - With O(exclusive=false), the limits the task did not name that stay as they were (systemd, read from the
      unit file; cgroupfs, every limit not named, left as the files hold it).
  returned: always
  type: list
  elements: str
  sample: ["memory_max"]
removed_limits:
  description: With O(exclusive=true), the limits the slice had that this run took out (set back to unlimited).
  returned: always
  type: list
  elements: str
  sample: ["tasks_max"]
actions:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: list
  elements: str
  sample: ["write /etc/systemd/system/containers.slice", "systemctl daemon-reload", "systemctl start containers.slice"]
created:
  description: Whether the slice (unit file or directory) did not exist before.
  returned: always
  type: bool
  sample: true
unsupported:
  description: Limits this host's hierarchy cannot enforce (V(memory_high) on cgroup v1 and hybrid).
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["memory_high"]
properties:
  description: The limits as C(systemctl show) reports them.
  returned: when O(manager=systemd)
  type: dict
  sample: {"MemoryMax": "536870912", "CPUQuotaPerSecUSec": "1.500000s", "TasksMax": "4096"}
files:
  description: The limit files of the cgroup and what they hold.
  returned: when O(state=present)
  type: dict
  sample: {"/sys/fs/cgroup/memory/containers.slice/memory.limit_in_bytes": "536870912"}
hierarchy:
  description: The host's cgroup hierarchy, V(v1), V(hybrid) or V(v2).
  returned: always
  type: str
  sample: hybrid
rolled_back:
  description: Present and true when the change was undone because the limits did not take effect.
  returned: on failure after a change
  type: bool
  sample: true
mismatches:
  description: The limits that did not take effect, with what shows instead.
  returned: on a failed verification
  type: list
  elements: dict
  sample: [{"limit": "memory_max", "property": "MemoryMax", "wanted": 536870912, "shown": "infinity"}]
"""

import os

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    HIERARCHY_NONE,
    LIMIT_NAMES,
    CgroupError,
    check_cgroup_path,
    check_description,
    check_slice_name,
    host_cgroup,
    normalize_limits,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.slices import (
    CgroupfsGroup,
    SliceError,
    SystemdSlice,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import runs_systemd


def init_name():
    try:
        with open("/proc/1/comm") as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return "unknown"


def apply(module):
    params = module.params
    try:
        name = check_slice_name(params["name"], "name")
        check_description(params["description"], "description")
        limits = normalize_limits(params["limits"], "limits")
        path = check_cgroup_path(params["path"], "path") if params["path"] else "/" + name[:-len(".slice")]
    except CgroupError as exc:
        module.fail_json(msg="%s. Nothing was changed." % exc)

    manager = params["manager"]
    on_systemd = runs_systemd()
    if manager == "auto":
        manager = "systemd" if on_systemd else "cgroupfs"
    if manager == "systemd" and not on_systemd:
        module.fail_json(msg="manager: systemd, but PID 1 on this host is %s, not systemd; use manager: cgroupfs "
                             "(or auto). Nothing was changed." % init_name())
    hierarchy = host_cgroup()
    if hierarchy["version"] == HIERARCHY_NONE:
        module.fail_json(msg="no cgroup hierarchy is mounted under /sys/fs/cgroup on this host, so there is "
                             "nothing to put a slice in. Nothing was changed.")
    if manager == "systemd":
        target = SystemdSlice(module, name, limits, params["description"], hierarchy,
                              lock_timeout=params["lock_timeout"], exclusive=params["exclusive"])
    else:
        target = CgroupfsGroup(module, path, limits, hierarchy, exclusive=params["exclusive"])
    try:
        result = target.run(params["state"], params["verify"])
    except SliceError as exc:
        result = dict(exc.result)
        result["hierarchy"] = hierarchy["version"]
        module.fail_json(msg=str(exc), **result)
    result["hierarchy"] = hierarchy["version"]
    if result.get("removed_limits") and params["state"] == "present":
        module.warn("exclusive: this run %s %s, which the slice had and the task does not name (now not limited)"
                    % ("would take out" if module.check_mode else "took out",
                       ", ".join("limits." + key for key in result["removed_limits"])))
    if result.get("unsupported"):
        names = ", ".join("limits." + key for key in result["unsupported"])
        module.warn("%s cannot be enforced on this host's cgroup %s hierarchy (cgroup v1 has no equivalent); "
                    "it takes effect once the host runs cgroup v2" % (names, hierarchy["version"]))
    return result


def main():
    module = ProtectedModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            limits=dict(type="dict", default={}, options={key: dict(type="raw") for key in LIMIT_NAMES}),
            description=dict(type="str"),
            manager=dict(type="str", default="auto", choices=["auto", "systemd", "cgroupfs"]),
            path=dict(type="str"),
            verify=dict(type="bool", default=True),
            lock_timeout=dict(type="int", default=60),
            exclusive=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if not os.path.isdir("/sys/fs/cgroup"):
        module.fail_json(msg="/sys/fs/cgroup does not exist on this host; cgroups are not available")
    run_module(module, apply)


if __name__ == "__main__":
    main()
