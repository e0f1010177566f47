#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: engine_info
short_description: Report the container engine, daemon.json, cgroups and the dockerd unit of a host
version_added: 0.1.0
description:
  - Reports what a host's container engine is and how it is set up, in one call; it returns
    the daemon's version, storage and cgroup drivers, registry mirrors, container counts;
    whether C(daemon.json) exists and parses; the host's cgroup hierarchy read from its mounts;
    and, where the host runs systemd, the flags on the dockerd unit's C(ExecStart).
  - An engine that is absent, stopped or not reachable is not a failure of this module.
    It returns RV(engine.running=false) and the reason in RV(engine.error), so it can run
    before Docker is installed and decide what a play does next.
  - Works against dockerd and against Podman's Docker-compatible service.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: The module changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
    description: The module changes nothing.
options:
  daemon_json_path:
    description:
      - Path of the daemon's configuration file to report on.
    type: path
    default: /etc/docker/daemon.json
  unit:
    description:
      - The systemd unit that runs the engine, whose C(ExecStart) flags are reported.
    type: str
    default: docker.service
  disk_usage:
    description:
      - Also report what the engine's images, containers, volumes and build cache use on disk (RV(disk_usage)),
        as C(docker system df) does.
      - Off by default because the engine measures every container layer and volume for it, which can take
        seconds to minutes on a busy host.
    type: bool
    default: false
notes:
  - Failures to reach the engine never fail this module; bad input does (for example an
    unknown scheme in O(docker_host), or a TLS file that does not exist), since those
    are mistakes in the task, not facts about the host.
"""

EXAMPLES = r"""
- name: Learn what the host runs
  dockhand.runtime.engine_info:
  register: facts

- name: Install the engine only where it is not running
  ansible.builtin.include_role:
    name: dockhand.runtime.engine
  when: not facts.engine.running

- name: Fail early when the cgroup driver does not match kubelet's
  ansible.builtin.assert:
    that: facts.engine.cgroup_driver == 'systemd'
    fail_msg: "dockerd uses {{ facts.engine.cgroup_driver }}; kubelet expects systemd"
  when: facts.engine.running

- name: Report disk use for the fleet report
  dockhand.runtime.engine_info:
    disk_usage: true
  register: facts

- name: Warn where reclaimable space is large
  ansible.builtin.debug:
    msg: "{{ (facts.disk_usage.images.reclaimable / 1073741824) | round(1) }} GiB of images could go (prune)"
  when: facts.disk_usage is not none and facts.disk_usage.images.reclaimable > 10737418240

- name: Ask Podman's Docker-compatible service
  dockhand.runtime.engine_info:
    docker_host: unix:///run/podman/podman.sock
"""

RETURN = r"""
engine:
  description: The engine as it answers on O(docker_host).
  returned: always
  type: dict
  contains:
    running:
      description: Whether the engine answered.
      type: bool
      sample: true
    error:
      description: Why the engine could not be asked (socket missing, permission, timeout, ...), or null.
      type: str
      sample: "the socket /var/run/docker.sock does not exist: is the engine installed and running? (at unix:///var/run/docker.sock)"
    error_kind:
      description: Class of RV(engine.error) (unreachable, permission, timeout, tls, http, protocol), or null.
      type: str
      sample: unreachable
    endpoint:
      description: The endpoint asked, as a URL.
      type: str
      sample: unix:///var/run/docker.sock
    product:
      description: V(docker) or V(podman); null when not running.
      type: str
      sample: docker
    version:
      description: The engine's version.
      type: str
      sample: 20.10.24+dfsg1
    api_version:
      description: The newest API version the engine serves.
      type: str
      sample: "1.41"
    min_api_version:
      description: The oldest API version the engine serves.
      type: str
      sample: "1.12"
    client_api_version:
      description: The API version this collection speaks with the engine.
      type: str
      sample: "1.41"
    os:
      description: The operating system the engine reports.
      type: str
      sample: Debian GNU/Linux 12 (bookworm)
    kernel:
      description: Kernel version.
      type: str
      sample: 6.1.0-18-amd64
    architecture:
      description: Machine architecture.
      type: str
      sample: x86_64
    storage_driver:
      description: Storage driver in use.
      type: str
      sample: overlay2
    cgroup_driver:
      description: The engine's cgroup driver (V(systemd) or V(cgroupfs)).
      type: str
      sample: systemd
    cgroup_version:
      description: The cgroup version the engine uses, V(1) or V(2).
      type: int
      sample: 2
    docker_root_dir:
      description: The engine's data root.
      type: str
      sample: /var/lib/docker
    registry_mirrors:
      description: Registry mirrors in use for Docker Hub.
      type: list
      elements: str
      sample: ["https://mirror.example.com/"]
    insecure_registries:
      description: Registries and CIDRs reached without TLS verification.
      type: list
      elements: str
      sample: ["127.0.0.0/8", "registry.lan:5000"]
    live_restore:
      description: Whether containers keep running while the daemon restarts.
      type: bool
      sample: false
    default_runtime:
      description: The default OCI runtime.
      type: str
      sample: runc
    containers_total:
      description: Number of containers.
      type: int
      sample: 4
    containers_running:
      description: Number of running containers.
      type: int
      sample: 3
    images:
      description: Number of images.
      type: int
      sample: 12
daemon_json:
  description: The daemon's configuration file.
  returned: always
  type: dict
  contains:
    path:
      description: Its path.
      type: str
      sample: /etc/docker/daemon.json
    exists:
      description: Whether it exists.
      type: bool
      sample: true
    valid:
      description: Whether it parses as a JSON object (a missing file counts as valid and empty).
      type: bool
      sample: true
    error:
      description: Why it is not valid, with line and column, or null.
      type: str
      sample: "/etc/docker/daemon.json is not valid JSON at line 3, column 1: Expecting ',' delimiter"
    settings:
      description:
        - Its content, when valid, with secrets masked as C(********) (values of keys named like a secret, such
          as C(splunk-token), and the credentials in URLs, such as proxy passwords).
      type: dict
      sample: {"registry-mirrors": ["https://mirror.example.com"],
               "proxies": {"http-proxy": "http://proxyuser:********@proxy.example.com:3128"}}
host_cgroup:
  description: The host's cgroup hierarchy, read from its mounts (not from the engine).
  returned: always
  type: dict
  contains:
    version:
      description: V(v1), V(hybrid) (v1 controllers plus a cgroup2 mount), V(v2), or V(none).
      type: str
      sample: v2
    controllers:
      description: Controllers available to limit containers.
      type: list
      elements: str
      sample: ["cpu", "io", "memory", "pids"]
    unified_mount:
      description: Where cgroup2 is mounted, or null.
      type: str
      sample: /sys/fs/cgroup
disk_usage:
  description:
    - What the engine's data uses on disk, per kind, from C(GET /system/df). Sizes are in bytes.
    - Null unless O(disk_usage=true), and when the engine is not running or could not measure (the reason is then
      in RV(disk_usage_error)).
  returned: always
  type: dict
  contains:
    images:
      description:
        - C(count) images, C(active) of them used by containers;
          C(size) for all their layers, C(reclaimable) of it held by
          unused images only.
      type: dict
      sample: {"count": 12, "active": 3, "size": 1288490188, "reclaimable": 805306368}
    containers:
      description:
        - Containers (C(active) running); size and reclaimable are their writable layers
          (all, and of those not running).
      type: dict
      sample: {"count": 4, "active": 3, "size": 40960, "reclaimable": 4096}
    volumes:
      description:
        - Local volumes (C(active) used by containers), their size, and the size of unused ones.
      type: dict
      sample: {"count": 2, "active": 1, "size": 104857600, "reclaimable": 0}
    build_cache:
      description:
        - Build cache records (C(active) in use), their size, and the size of unused,
          unshared ones.
      type: dict
      sample: {"count": 0, "active": 0, "size": 0, "reclaimable": 0}
disk_usage_error:
  description: Why RV(disk_usage) could not be measured, or null.
  returned: always
  type: str
  sample: null
systemd:
  description: Whether the host was booted with systemd.
  returned: always
  type: bool
  sample: true
dockerd_unit:
  description: The engine's systemd unit, or null where the host does not run systemd.
  returned: always
  type: dict
  contains:
    unit:
      description: Unit name.
      type: str
      sample: docker.service
    loaded:
      description: Whether systemd knows the unit (false before Docker is installed).
      type: bool
      sample: true
    active_state:
      description: The unit's active state.
      type: str
      sample: active
    exec_start:
      description: The command line of C(ExecStart), as a list (secrets masked as in RV(daemon_json.settings)).
      type: list
      elements: str
      sample: ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]
    flags:
      description: The flags of C(ExecStart), without the program.
      type: list
      elements: str
      sample: ["-H", "fd://", "--containerd=/run/containerd/containerd.sock"]
    fragment_path:
      description: The unit file.
      type: str
      sample: /lib/systemd/system/docker.service
    drop_in_paths:
      description: Drop-in files that change the unit.
      type: list
      elements: str
      sample: ["/etc/systemd/system/docker.service.d/10-dockhand.conf"]
    main_pid:
      description: PID of dockerd, or null when not running.
      type: int
      sample: 812
"""

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import host_cgroup
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import read_daemon_json, redact_argv
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.disk_usage import summarize_disk_usage
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.facts import engine_facts
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import redact, secret_values
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import runs_systemd, unit_info


def gather(module):
    try:
        client = make_client(module.params)
    except EngineError as exc:
        # A mistake in the task (bad URL, missing TLS file) is a failure, not a fact.
        module.fail_json(msg=str(exc), engine_error=exc.to_dict())
    disk_usage = disk_usage_error = None
    try:
        engine = engine_facts(client)
        if module.params["disk_usage"] and engine.get("running"):
            try:
                disk_usage = summarize_disk_usage(client.get("/system/df"))
            except EngineError as exc:
                disk_usage_error = str(exc)
    finally:
        client.close()

    daemon_json = read_daemon_json(module.params["daemon_json_path"])
    daemon_json.pop("text", None)
    module.no_log_values.update(secret_values(daemon_json["settings"] or {}))
    daemon_json["settings"] = redact(daemon_json["settings"])

    on_systemd = runs_systemd()
    unit = None
    if on_systemd:
        unit = unit_info(module.run_command, module.params["unit"])
        if unit is not None:
            unit["exec_start"] = redact_argv(unit["exec_start"])
            unit["flags"] = unit["exec_start"][1:]
    return {
        "changed": False,
        "engine": engine,
        "daemon_json": daemon_json,
        "host_cgroup": host_cgroup(),
        "disk_usage": disk_usage,
        "disk_usage_error": disk_usage_error,
        "systemd": on_systemd,
        "dockerd_unit": unit,
    }


def main():
    module = engine_module({
        "daemon_json_path": {"type": "path", "default": "/etc/docker/daemon.json"},
        "unit": {"type": "str", "default": "docker.service"},
        "disk_usage": {"type": "bool", "default": False},
    })
    run_module(module, gather)


if __name__ == "__main__":
    main()
