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

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import host_cgroup
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import read_daemon_json, redact_argv
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
    try:
        engine = engine_facts(client)
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
        "systemd": on_systemd,
        "dockerd_unit": unit,
    }


def main():
    module = engine_module({
        "daemon_json_path": {"type": "path", "default": "/etc/docker/daemon.json"},
        "unit": {"type": "str", "default": "docker.service"},
    })
    run_module(module, gather)


if __name__ == "__main__":
    main()
