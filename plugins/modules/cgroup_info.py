#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cgroup_info
short_description: The host's cgroup hierarchy and controllers, and where a process sits in it
version_added: 0.1.0
description:
  - Reports the cgroup hierarchy of the host (V(v1), V(hybrid), V(v2)) read from its mounts, the
    controllers containers can be limited by, whether PID 1 is systemd (which decides the cgroup
    driver), and whether the kernel command line asks for the unified hierarchy.
  - With O(pid), also where that process sits (its cgroup paths and innermost slice), the memory
    limit that holds it (its own, or a parent's such as a slice's, whichever is smaller) and its
    resource limits (ulimits). This is how the P(dockhand.runtime.cgroups#role) role proves that a
    container runs under the slice with the slice's limit.
  - Reads files only; never changes anything.
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description: The module changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
    description: The module changes nothing.
options:
  pid:
    description:
      - A process to report on, such as a container's (RV(dockhand.runtime.container_info#module:containers[].pid))
        or dockerd's (RV(dockhand.runtime.engine_info#module:dockerd_unit.main_pid)).
    type: int
  slice:
    description:
      - A systemd slice to report the limits and the current use of (RV(slice)), such as V(containers.slice),
        the one M(dockhand.runtime.cgroup_slice) and the cgroups role make.
    type: str
seealso:
  - module: dockhand.runtime.cgroup_slice
  - module: dockhand.runtime.engine_info
"""

EXAMPLES = r"""
- name: Learn the hierarchy
  dockhand.runtime.cgroup_info:
  register: cg

- name: Use the systemd driver where PID 1 is systemd
  ansible.builtin.debug:
    msg: "{{ 'systemd' if cg.systemd else 'cgroupfs' }} on a {{ cg.host_cgroup.version }} hierarchy"

- name: Where does a container's process sit
  dockhand.runtime.cgroup_info:
    pid: "{{ container_pid | int }}"
  register: where

- name: It is under containers.slice and held to 512 MiB
  ansible.builtin.assert:
    that:
      - where.process.slice == 'containers.slice'
      - where.process.effective_memory_limit == 536870912

- name: What containers.slice may use, and uses now
  dockhand.runtime.cgroup_info:
    slice: containers.slice
  register: sliced

- name: Show it
  ansible.builtin.debug:
    msg: "{{ sliced.slice.memory_current }} of {{ sliced.slice.memory_max }} bytes in use"
"""

RETURN = r"""
slice:
  description:
    - The limits of O(slice) and what it uses now, read from its cgroup files (the v1 controllers' or the unified
      one's). A limit is null when unlimited; every value is null when the slice's cgroup does not exist.
  returned: when O(slice) is given
  type: dict
  contains:
    name:
      description: The slice.
      type: str
      sample: containers.slice
    path:
      description: Its path in the cgroup tree.
      type: str
      sample: /containers.slice
    exists:
      description: Whether its cgroup is there (systemd makes it when the slice is started or gets a process).
      type: bool
      sample: true
    memory_max:
      description: Memory limit in bytes.
      type: int
      sample: 2147483648
    memory_current:
      description: Memory in use, in bytes.
      type: int
      sample: 73400320
    cpu_quota_percent:
      description: CPU quota, where 100 is one whole CPU.
      type: float
      sample: 150.0
    cpu_usage_usec:
      description: CPU time its processes used since the cgroup was made, in microseconds.
      type: int
      sample: 81234567
    tasks_max:
      description: Task (process and thread) limit.
      type: int
      sample: 512
    tasks_current:
      description: Tasks in it now.
      type: int
      sample: 14
host_cgroup:
  description: The host's cgroup hierarchy, as M(dockhand.runtime.engine_info) reports it.
  returned: always
  type: dict
  contains:
    version:
      description: V(v1), V(hybrid) (v1 controllers plus a cgroup2 mount), V(v2), or V(none).
      type: str
      sample: hybrid
    mountpoint:
      description: Where the hierarchy is mounted.
      type: str
      sample: /sys/fs/cgroup
    unified_mount:
      description: Where cgroup2 is mounted, or null.
      type: str
      sample: /sys/fs/cgroup/unified
    controllers:
      description: Controllers containers can be limited by.
      type: list
      elements: str
      sample: ["cpu", "memory", "pids"]
    unified_controllers:
      description: Controllers of the cgroup2 root.
      type: list
      elements: str
      sample: []
systemd:
  description: Whether PID 1 is systemd (the systemd cgroup driver needs it).
  returned: always
  type: bool
  sample: true
init:
  description: The name of PID 1.
  returned: always
  type: str
  sample: systemd
kernel_unified_arg:
  description: The value of C(systemd.unified_cgroup_hierarchy) on the running kernel's command line, or null.
  returned: always
  type: str
  sample: "1"
process:
  description: Where O(pid) sits, or null when there is no such process.
  returned: when O(pid) is given
  type: dict
  contains:
    pid:
      description: The process.
      type: int
      sample: 4242
    cgroups:
      description: Its cgroup path per controller (the unified one under the empty key).
      type: dict
      sample: {"memory": "/containers.slice/docker-1f0e.scope", "": "/containers.slice/docker-1f0e.scope"}
    cgroup:
      description: The path of its memory cgroup (the unified one on v2).
      type: str
      sample: /containers.slice/docker-1f0e.scope
    slice:
      description: The innermost slice in that path, or null.
      type: str
      sample: containers.slice
    memory_limit:
      description: Its own cgroup's memory limit in bytes, or null when unlimited.
      type: int
      sample: null
    effective_memory_limit:
      description: The memory limit that holds it, its own or a parent's, in bytes, or null when unlimited.
      type: int
      sample: 536870912
    ulimits:
      description: Its resource limits from C(/proc/<pid>/limits), by the names dockerd uses; -1 is unlimited.
      type: dict
      sample: {"nofile": {"soft": 1024, "hard": 65536}}
    can_raise_limits:
      description:
        - Whether it may raise its hard limits (C(CAP_SYS_RESOURCE) in its effective capabilities).
        - A dockerd without it (in a container, rootless) cannot start containers whose ulimits exceed its own
          hard limits.
      type: bool
      sample: true
"""


from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    CgroupError,
    cgroup_use,
    check_slice_name,
    host_cgroup,
    process_cgroup,
    slice_cgroup_path,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.kernel_cmdline import arg_value
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import runs_systemd


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def gather(module):
    result = {
        "changed": False,
        "host_cgroup": host_cgroup(),
        "systemd": runs_systemd(),
        "init": _read("/proc/1/comm") or "unknown",
        "kernel_unified_arg": arg_value(_read("/proc/cmdline") or "", "systemd.unified_cgroup_hierarchy"),
    }
    pid = module.params["pid"]
    if pid is not None:
        if pid < 1:
            module.fail_json(msg="pid: %d is not a process ID; give a positive number" % pid)
        result["process"] = process_cgroup(pid)
    name = module.params["slice"]
    if name is not None:
        try:
            check_slice_name(name, option="slice")
        except CgroupError as exc:
            module.fail_json(msg=str(exc))
        result["slice"] = dict(cgroup_use(slice_cgroup_path(name)), name=name)
    return result


def main():
    module = ProtectedModule(argument_spec=dict(pid=dict(type="int"), slice=dict(type="str")), supports_check_mode=True)
    run_module(module, gather)


if __name__ == "__main__":
    main()
