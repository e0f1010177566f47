#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: compose
short_description: Deploy a compose project with Docker alone, no compose plugin and no Python packages on the host
version_added: 0.2.0
description:
  - Makes a compose project's networks, volumes and containers as its compose files describe them, in the
    state the task asks for. The host needs the engine and Python 3 only.
  - The action plugin of the same name reads and parses the project on the controller (O(project_src), O(files),
    O(definition), or with O(remote_src) the files on the target), interpolates its variables, resolves
    C(extends), anchors and C(x-) extensions, applies O(profiles), and sends this module the normalised model
    in O(project). The source options are consumed by the action plugin.
  - Each service's keys map onto the options of M(dockhand.runtime.container) (C(ports) to C(published_ports),
    C(cap_add) to C(capabilities), C(deploy.resources.limits.memory) to C(memory), C(restart) to
    C(restart_policy), C(logging) to C(log_driver) and C(log_options), C(stop_grace_period) to C(stop_timeout),
    and so on) and are compared and applied as that module does. A key this module does not support (such as
    C(build), C(secrets), C(configs)) fails the task naming its path, for example
    C(services.web.build), before anything changes.
  - Containers, networks and volumes carry docker compose's labels (C(com.docker.compose.project),
    C(.service), C(.container-number), C(.oneoff), C(.config-hash), C(.project.working_dir),
    C(.project.config_files), C(com.docker.compose.network), C(com.docker.compose.volume)), and containers are
    named C(<project>-<service>-<n>) (or C(container_name)), so C(docker compose ps), C(logs) and C(down) work
    on a deployed project. Existing containers are found by the project's label (one listing); a project that
    C(docker compose up) or C(docker-compose) 1.29 made is adopted without a recreate when nothing differs,
    and its containers keep their names.
  - Networks and volumes come first; external ones must exist, or the task fails naming them with nothing
    changed. Services follow in dependency order, each waiting for its C(depends_on) conditions
    (C(service_started), C(service_healthy), C(service_completed_successfully)). A service another one waits
    for with C(service_completed_successfully) is a one-shot job; once it exited with code 0 it is left as it is.
  - A changed service is recreated with the container module's safe recreate (the new container must come up,
    and be healthy within O(wait_timeout), or its first health check if that comes later, when it has a
    healthcheck; otherwise the old one is back and the task
    fails with the new one's state and logs). A change to one service recreates that service alone; the
    services depending on it are restarted only when their C(depends_on.<service>.restart) is true.
  - C(deploy.replicas) (or C(scale)) containers are numbered 1 to N; scaling down removes the highest numbers.
  - Environment variables are compared strictly (a variable removed from the project recreates the container);
    other dicts and lists that are sets, as M(dockhand.runtime.container) compares them by default, may hold more
    on the container than the project asks.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
  - dockhand.runtime.engine.pulls
attributes:
  check_mode:
    support: full
    description: Changes nothing and returns the same plan a real run would carry out.
  diff_mode:
    support: full
    description:
      - Per service and container, before and after of the options that differ (all of them for a new container).
        Values whose names contain PASS, TOKEN, SECRET, KEY, CREDENTIAL, AUTH or PRIVATE never show.
options:
  project:
    description:
      - The compose model, set by the action plugin from O(project_src), O(files) or O(definition). Given with none
        of them, it goes to the host as it is (the module checks it); given with one of them, the task fails.
        A mapping with C(name), C(working_dir), C(config_files), C(services), C(networks) and C(volumes) in the
        normalised forms the action plugin produces.
    type: dict
  state:
    description:
      - V(present) creates, updates and starts what the project describes.
      - V(stopped) stops the services' running containers, and does nothing else (it creates, recreates,
        updates and pulls nothing, as C(docker compose stop)); V(restarted) applies the project as
        V(present) does and restarts every container it did not start or recreate.
      - V(absent) removes the containers, and the project's networks; named volumes only with
        O(remove_volumes).
    type: str
    choices: [present, absent, stopped, restarted]
    default: present
  services:
    description:
      - Act on these services only (with V(present), on the services they depend on too, as C(docker compose up)
        does; with V(absent), V(stopped) and V(restarted), on the named services alone). All services when empty.
        With V(absent), the project's networks are kept.
    type: list
    elements: str
    default: []
  pull:
    description:
      - V(missing) pulls an image that is not on the host, V(always) pulls every time (a pull that brings the
        same image changes nothing), V(never) fails when an image is missing. A service's C(pull_policy)
        overrides it.
    type: str
    choices: [missing, always, never]
    default: missing
  remove_orphans:
    description: Remove the containers of the project whose service is no longer in it (otherwise a warning).
    type: bool
    default: false
  remove_volumes:
    description:
      - With V(absent), remove the project's named volumes and the containers' anonymous volumes too. External
        volumes are never removed.
    type: bool
    default: false
  wait:
    description: Wait until every service acted on is running, and healthy where it has a healthcheck.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds O(wait), a C(depends_on) condition and the health gate of a new or recreated container wait.
    type: int
    default: 120
  recreate:
    description:
      - V(auto) recreates a container whose configuration or image differs, V(always) recreates every container,
        V(never) leaves existing containers as they are (starting them when they are stopped).
    type: str
    choices: [auto, always, never]
    default: auto
  project_src:
    description:
      - Directory holding C(compose.yaml), C(compose.yml), C(docker-compose.yml) or C(docker-compose.yaml) (the
        first found, in that order); C(compose.override.yml) or C(compose.override.yaml) beside it is merged after
        it.
      - It is the project directory for C(.env), relative paths and the default project name. It may go with
        O(files) or O(definition).
      - On the controller a relative path is looked for as C(src) is (the role's or playbook's C(files/), then
        beside the playbook). With O(remote_src=true) it must be absolute on the host.
      - Relative bind-mount sources are made absolute against this directory's path, and that path is used on
        the host as it is; with a project read on the controller, give absolute bind sources or keep the
        project at the same path on the hosts.
      - Read by the action plugin, never sent to the host.
    type: path
  files:
    description:
      - Compose files merged in this order by compose's rules. Relative paths are relative to O(project_src);
        without O(project_src) they must be absolute (the playbook's directory is not assumed).
      - Mutually exclusive with O(definition). Read by the action plugin.
    type: list
    elements: path
  definition:
    description:
      - The compose document inline, as a mapping or a YAML string. Without a top-level C(name) it needs
        O(project_name).
      - Mutually exclusive with O(files). Read by the action plugin.
    type: raw
  remote_src:
    description:
      - Read the compose files, C(.env), O(env_files) and each service's C(env_file) on the managed host instead
        of the controller.
    type: bool
    default: false
  env_files:
    description:
      - Files of variables for interpolation, in the C(.env) format; when given they replace the project's
        C(.env), and later files win.
      - The task's C(environment) wins over them. Relative paths are relative to O(project_src).
    type: list
    elements: path
  profiles:
    description:
      - Profiles to enable (C("*") enables all). Services without profiles are always enabled; services named in
        O(services) enable their own profiles.
      - Without it, C(COMPOSE_PROFILES) (comma-separated) from the task's environment, O(env_files) or C(.env).
    type: list
    elements: str
  project_name:
    description:
      - The project's name, as compose's C(-p) takes it; lower-case letters, digits, C(_) and C(-), starting with
        a letter or digit.
      - Default is C(COMPOSE_PROJECT_NAME) from the task's environment, O(env_files) or C(.env), else the
        top-level C(name), else the project directory's name, lower-cased with other characters dropped.
    type: str
notes:
  - Supported service keys are C(image), C(command), C(entrypoint), C(environment), C(env_file), C(ports),
    C(expose), C(volumes), C(networks), C(network_mode), C(depends_on), C(healthcheck), C(restart),
    C(deploy.replicas), C(deploy.resources) (C(limits) C(memory), C(cpus), C(pids); C(reservations) C(memory),
    C(cpus), the latter ignored with a warning as docker compose does), C(scale), C(labels), C(user),
    C(working_dir), C(hostname), C(domainname), C(cap_add), C(cap_drop), C(read_only), C(tmpfs), C(ulimits),
    C(logging), C(extra_hosts), C(init), C(stop_grace_period), C(stop_signal), C(sysctls), C(security_opt),
    C(shm_size), C(pid), C(ipc), C(devices), C(dns), C(dns_search), C(dns_opt), C(group_add), C(privileged),
    C(container_name), C(pull_policy), C(mem_limit), C(mem_reservation), C(cpus), C(pids_limit),
    C(oom_score_adj), C(platform) (the image is pulled for it).
  - Networks and volumes that exist are used as they are; the module does not recreate them when their driver
    or options differ from the project.
seealso:
  - module: dockhand.runtime.container
  - module: dockhand.runtime.network
  - module: dockhand.runtime.volume
"""

EXAMPLES = r"""
- name: Deploy the project in /srv/app on the controller and wait until it is healthy
  dockhand.runtime.compose:
    project_src: /srv/app
    wait: true

- name: An inline project
  dockhand.runtime.compose:
    project_name: web
    definition:
      services:
        web:
          image: nginx:1.27
          ports: ["127.0.0.1:8080:80"]
          depends_on:
            app: {condition: service_healthy, restart: true}
        app:
          image: registry.example.com/team/app:2.1
          healthcheck:
            test: [CMD, /app/healthcheck]
            interval: 5s

- name: Restart one service
  dockhand.runtime.compose:
    project_src: /srv/app
    services: [web]
    state: restarted

- name: Remove the project and its named volumes
  dockhand.runtime.compose:
    project_src: /srv/app
    state: absent
    remove_volumes: true
"""

RETURN = r"""
actions:
  description: What was done (in check mode, would be done) at the project's level, such as
    V(created network app_default), V(removed volume app_data), V(removed orphan app-old-1).
  returned: always
  type: list
  elements: str
  sample: [created network app_default]
services:
  description:
    - Per service acted on, its containers after the task and its actions, such as V(pulled),
      V(created app-web-1), V(started app-web-1), V(recreated app-web-1), V(updated app-web-1),
      V(restarted app-web-1), V(stopped app-web-1), V(removed app-web-2), V(rolled_back app-web-1).
  returned: always
  type: dict
  sample: {"web": {"containers": [{"name": "app-web-1", "id": "4f1c...", "state": "running", "health": "healthy"}],
                   "actions": ["recreated app-web-1", "started app-web-1"], "differences": ["env"]}}
  contains:
    containers:
      description: The service's containers, with C(name), C(id), C(state) and C(health) (null without a check).
      type: list
      elements: dict
    actions:
      description: What was done to the service's containers.
      type: list
      elements: str
    differences:
      description: The container options that differed, as M(dockhand.runtime.container) names them.
      type: list
      elements: str
networks:
  description: Per network key, its C(name), whether it is C(external), and its C(actions).
  returned: always
  type: dict
  sample: {"default": {"name": "app_default", "external": false, "actions": ["created"]}}
volumes:
  description: Per volume key, its C(name), whether it is C(external), and its C(actions).
  returned: always
  type: dict
  sample: {"data": {"name": "app_data", "external": false, "actions": []}}
new_container:
  description: When a container did not come up (or a condition failed), its state and the tail of its logs.
  returned: on failure
  type: dict
"""

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.container.compose import ComposeError
from ansible_collections.dockhand.runtime.plugins.module_utils.container.compose_engine import ComposeRun, Failed
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import engine_module, make_client
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_pairs, protect

# Shorter values are not masked: every "1" or "on" in the output would be (redact's rule).
MIN_NO_LOG_LENGTH = 3

ARGUMENT_SPEC = {
    "project": {"type": "dict"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "stopped", "restarted"]},
    "services": {"type": "list", "elements": "str", "default": []},
    "pull": {"type": "str", "default": "missing", "choices": ["missing", "always", "never"]},
    "remove_orphans": {"type": "bool", "default": False},
    "remove_volumes": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 120},
    "recreate": {"type": "str", "default": "auto", "choices": ["auto", "always", "never"]},
    # the source options: the action plugin reads them and removes them; accepted and ignored here
    "project_src": {"type": "path"},
    "files": {"type": "list", "elements": "path"},
    "definition": {"type": "raw"},
    "remote_src": {"type": "bool", "default": False},
    "env_files": {"type": "list", "elements": "path"},
    "profiles": {"type": "list", "elements": "str"},
    "project_name": {"type": "str"},
    # what the image pulls read (as the container module takes them), not documented as the project's
    "config_path": {"type": "path", "aliases": ["dockercfg_path"]},
    "mirrors_table": {"type": "path"},
}


def manage(module):
    protect(module, skip_keys=("client_key", "tls"))
    mask = (module.params["project"] or {}).get("mask") if isinstance(module.params["project"], dict) else None
    if mask is not None and (not isinstance(mask, list) or not all(isinstance(item, str) for item in mask)):
        module.fail_json(msg="project.mask: must be a list of strings (the values the action plugin masks)")
    module.no_log_values.update(item for item in mask or [] if len(item) >= MIN_NO_LOG_LENGTH)
    result = {"changed": False, "actions": [], "services": {}, "networks": {}, "volumes": {}}
    if module._diff:
        result["diff"] = {"before": {}, "after": {}}
    if module.params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout: %s is below 0; give the seconds to wait" % module.params["wait_timeout"],
                         **result)
    if module.params["project"] is None:
        module.fail_json(msg="project_src, files or definition: give one of them (the compose action plugin reads "
                             "it and sends the project to the host)", **result)
    client = make_client(module.params)
    try:
        run = ComposeRun(module, client, module.params["project"], result)
        run.run()
    except ComposeError as exc:
        module.fail_json(msg="%s. Nothing was changed" % exc, **mask_pairs(result))
    except Failed as exc:
        result["changed"] = changed(result)
        module.fail_json(msg=str(exc), **mask_pairs(dict(result, **exc.details)))
    finally:
        client.close()
    result["changed"] = changed(result)
    return mask_pairs(result)


def changed(result):
    return bool(result["actions"] or any(service["actions"] for service in result["services"].values()))


def main():
    module = engine_module(ARGUMENT_SPEC)
    run_module(module, manage)


if __name__ == "__main__":
    main()
