#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container
short_description: Deploy a container idempotently, recreating it safely when it must change
version_added: 0.1.0
description:
  - Makes sure a container exists with the options the task gives, in the state it asks for.
  - Finds the container with one inspect by name (never by listing all containers), and compares
    only the options the task sets, with the image's own defaults taken into account (C(Env),
    C(Cmd), C(Entrypoint), C(Labels), C(ExposedPorts), C(Volumes)), so an option the task does not
    set never causes a change. Image drift is judged by image ID after resolving the name locally
    (a digest in O(image) pins it).
  - Resource limits (O(memory), O(memory_reservation), O(memory_swap), O(cpus), O(cpu_shares),
    O(cpuset_cpus), O(pids_limit)) and the restart policy change in place; the container keeps its
    ID and keeps running. Any other difference recreates it.
  - A recreate is safe. The new container is created under a temporary name first, so that options
    the engine refuses change nothing. Then the old one is stopped and renamed aside, the new one takes
    the name and starts, and, when it has a healthcheck, must be healthy within O(health_timeout).
    If it fails to start or never becomes healthy, it is removed, the old one gets its name back and
    is started again, and the task fails with the new container's state and the tail of its logs.
    Named volumes are untouched; anonymous volumes of the old container are mounted into the new one.
  - Option names and value formats are those of community.docker's C(docker_container), so such a
    task moves over by changing its module name.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description:
      - Creates, changes and pulls nothing; reports the actions it would take. With O(pull=always)
        the registry is asked through the engine whether the image changed.
  diff_mode:
    support: full
    description:
      - Shows before and after of the options that differ only (all the task's options for a new
        container), the image ID and the running state. Values of C(env) keys whose names contain
        PASSWORD, PASSWD, TOKEN, SECRET or KEY are masked.
options:
  name:
    description:
      - The container's name.
    type: str
    required: true
  image:
    description:
      - The image, as C(docker pull) takes it, such as V(busybox:1.36) or
        V(registry.example.com/team/app@sha256:<digest>).
      - Required to create a container. For an existing container without O(image), the image is
        not compared.
    type: str
  state:
    description:
      - V(started) creates the container if needed and makes sure it runs.
      - V(present) creates it if needed and leaves its running state alone (a recreated container
        that was running is started again).
      - V(stopped) creates it if needed and makes sure it is stopped.
      - V(absent) stops and removes it.
    type: str
    choices: [present, started, stopped, absent]
    default: started
  pull:
    description:
      - V(missing) pulls the image only when it is not on the host; V(always) pulls on every run (the
        container is recreated when the image changed); V(never) fails when the image is not on the host.
      - Pulls go through the engine, so its registry mirrors apply, with the credentials that
        M(dockhand.runtime.registry_login) stored.
    type: str
    choices: [missing, always, never]
    default: missing
  recreate:
    description:
      - Recreate the container even when nothing differs (safely, as described above).
    type: bool
    default: false
  restart:
    description:
      - Restart a running container that needed no recreate (with O(state=started)).
    type: bool
    default: false
  detach:
    description:
      - With V(false), wait for the container to exit after starting it, return its output, and fail
        when its exit code is not 0.
    type: bool
    default: true
  health_timeout:
    description:
      - Seconds to wait, after this task started the container, for a container with a healthcheck
        to become healthy. V(0) does not wait.
      - A recreated container that is not healthy in time is rolled back.
    type: int
    default: 60
  keep_volumes:
    description:
      - With O(state=absent), keep the container's anonymous volumes (named volumes are never removed).
    type: bool
    default: true
  config_path:
    description:
      - The Docker config file with registry credentials for pulls; default C(~/.docker/config.json)
        or C(config.json) in E(DOCKER_CONFIG).
    type: path
    aliases: [dockercfg_path]
# BEGIN options from container_options.OPTIONS (make container-doc)
  command:
    description:
    - The command to run, as a list or a string split like a shell would; an empty list means the image's
      own C(CMD).
    type: raw
  entrypoint:
    description:
    - The entrypoint, as a list or a string; an empty list means the image's own.
    type: raw
  env:
    description:
    - 'Environment variables (a dict; values are strings, quote C(true) and numbers you mean as text). Compared
      with the image''s own environment overlaid with these: a variable the container has that is in neither
      is drift. Values of keys whose names contain PASSWORD, TOKEN, SECRET or KEY are masked in diffs.'
    type: dict
  labels:
    description:
    - Labels (a dict of strings). Compared with the image's labels overlaid with these.
    type: dict
  published_ports:
    description:
    - 'Ports to publish, in the C(docker run -p) format: V(8080:80), V(127.0.0.1:8080:80/udp), V(80) (a
      random host port), V(8000-8001:80-81), V([::1]:8080:80).'
    type: list
    elements: str
    aliases:
    - ports
  exposed_ports:
    description:
    - Ports to expose without publishing them, such as V(80) or V(53/udp). Compared with the image's exposed
      ports plus these and the published ones.
    type: list
    elements: str
    aliases:
    - exposed
    - expose
  volumes:
    description:
    - 'Volumes in the C(docker run -v) format: V(/srv/data:/data:ro) (a host path), V(appdata:/data) (a
      named volume) or V(/data) (an anonymous volume, carried over on recreate).'
    type: list
    elements: str
  mounts:
    description:
    - 'Mounts as dicts: C(target) (required), C(source), C(type) (V(volume), V(bind), V(tmpfs); default
      V(volume)), C(read_only), C(propagation), C(no_copy), C(tmpfs_size), C(tmpfs_mode).'
    type: list
    elements: dict
  networks:
    description:
    - Networks to connect the container to, as dicts with C(name) and optionally C(aliases), C(ipv4_address),
      C(ipv6_address), C(links). Without O(network_mode) the first one is the container's network mode,
      so the container is on exactly these networks.
    type: list
    elements: raw
  network_mode:
    description:
    - V(bridge), V(host), V(none), V(container:<name>) or a network's name. Cannot be V(host), V(none) or
      V(container:...) together with O(networks).
    type: str
  restart_policy:
    description:
    - What the engine does when the container exits. Changed in place.
    type: str
    choices:
    - 'no'
    - always
    - on-failure
    - unless-stopped
  restart_retries:
    description:
    - With O(restart_policy=on-failure), how many restarts at most. Changed in place.
    type: int
  memory:
    description:
    - Memory limit, such as V(512m) or V(1g) (binary units). Changed in place.
    type: str
  memory_reservation:
    description:
    - Soft memory limit, such as V(256m). Changed in place.
    type: str
  memory_swap:
    description:
    - Memory plus swap limit, such as V(1g), or V(-1) for unlimited swap. Changed in place.
    type: str
  cpus:
    description:
    - CPUs the container may use, such as V(0.5) or V(2). Changed in place.
    type: float
  cpu_shares:
    description:
    - Relative CPU weight (default 1024). Changed in place.
    type: int
  cpuset_cpus:
    description:
    - CPUs the container may run on, such as V(0-1) or V(0,2). Changed in place.
    type: str
  pids_limit:
    description:
    - Most processes in the container; V(-1) for unlimited. Changed in place.
    type: int
  ulimits:
    description:
    - Resource limits as V(name:soft[:hard]), such as V(nofile:1024:2048).
    type: list
    elements: str
  healthcheck:
    description:
    - A dict with C(test) (a list such as V([CMD, curl, -f, http://localhost/]), or a string run by the
      shell, or V(NONE) to turn the image's check off), C(interval), C(timeout), C(start_period) (durations
      such as V(30s) or V(1m30s)) and C(retries). After a start or recreate the module waits up to O(health_timeout)
      for V(healthy).
    type: dict
  user:
    description:
    - User (and group) to run as, V(name), V(uid) or V(uid:gid).
    type: str
  working_dir:
    description:
    - Working directory, an absolute path.
    type: str
  hostname:
    description:
    - Host name inside the container.
    type: str
  capabilities:
    description:
    - Capabilities to add, such as V(NET_ADMIN).
    type: list
    elements: str
  cap_drop:
    description:
    - Capabilities to drop, such as V(ALL) or V(MKNOD).
    type: list
    elements: str
  read_only:
    description:
    - Mount the root file system read-only.
    type: bool
  tmpfs:
    description:
    - tmpfs mounts as V(/path[:options]), such as V(/run:size=64m).
    type: list
    elements: str
  log_driver:
    description:
    - Logging driver, such as V(json-file), V(local) or V(journald).
    type: str
  log_options:
    description:
    - 'Options of the logging driver (a dict of strings), such as C(max-size: 10m). An option the driver
      does not know fails before anything running is touched.'
    type: dict
  privileged:
    description:
    - Give the container all capabilities and devices.
    type: bool
  init:
    description:
    - Run an init process as PID 1 that reaps zombies and forwards signals.
    type: bool
  devices:
    description:
    - Host devices as V(/dev/host[:/dev/container[:permissions]]).
    type: list
    elements: str
  sysctls:
    description:
    - 'Namespaced kernel parameters (a dict of strings), such as C(net.core.somaxconn: 1024).'
    type: dict
  dns_servers:
    description:
    - DNS servers, in order.
    type: list
    elements: str
  etc_hosts:
    description:
    - Extra /etc/hosts entries, a dict of host names to addresses.
    type: dict
  stop_signal:
    description:
    - Signal that stops the container, such as V(SIGTERM) or V(SIGQUIT).
    type: str
  stop_timeout:
    description:
    - Seconds to wait after the stop signal before the engine kills the container; also the wait this module
      allows when it stops the container.
    type: int
  cgroup_parent:
    description:
    - The cgroup the container's cgroup is created under (a slice such as V(containers.slice) with the systemd
      cgroup driver, a path with cgroupfs).
    type: str
  cgroupns_mode:
    description:
    - 'Cgroup namespace: V(private) or V(host). Needs API 1.41.'
    type: str
    choices:
    - private
    - host
  shm_size:
    description:
    - Size of /dev/shm, such as V(64m).
    type: str
  security_opts:
    description:
    - Security options, such as V(no-new-privileges) or V(seccomp=unconfined).
    type: list
    elements: str
  auto_remove:
    description:
    - Remove the container when it exits.
    type: bool
# END options from container_options.OPTIONS
notes:
  - The options the task does not set are not compared. Removing an option from a task does not
    change the container; set it to its default, or use O(recreate=true) once.
  - O(networks) are compared as the set of networks the container is on; the engine's own aliases
    (the short container ID) are allowed next to the ones asked for.
seealso:
  - module: dockhand.runtime.image
  - module: dockhand.runtime.network
  - module: dockhand.runtime.volume
  - module: dockhand.runtime.registry_login
"""

EXAMPLES = r"""
- name: Run a web server, published on the loopback address
  dockhand.runtime.container:
    name: web
    image: nginx:1.27
    published_ports:
      - 127.0.0.1:8080:80
    memory: 256m
    cpus: 0.5
    restart_policy: unless-stopped

- name: An application with a healthcheck; a failed update rolls back to the old container
  dockhand.runtime.container:
    name: app
    image: registry.example.com/team/app:{{ app_version }}
    env:
      DATABASE_URL: postgres://db/app
      API_TOKEN: "{{ vault_api_token }}"
    networks:
      - name: backend
        aliases: [app]
    volumes:
      - appdata:/var/lib/app
    healthcheck:
      test: [CMD, /app/healthcheck]
      interval: 5s
      retries: 3
    health_timeout: 60

- name: Raise a memory limit in place (the container keeps running)
  dockhand.runtime.container:
    name: app
    memory: 1g

- name: Run a one-off job and fail if it fails
  dockhand.runtime.container:
    name: migrate
    image: registry.example.com/team/app:{{ app_version }}
    command: [/app/migrate, --yes]
    detach: false
    auto_remove: false

- name: Remove a container
  dockhand.runtime.container:
    name: web
    state: absent
"""

RETURN = r"""
actions:
  description:
    - What was done (or, in check mode, would be done), in order. Any of V(pulled), V(created),
      V(updated), V(recreated), V(started), V(stopped), V(restarted), V(removed), V(rolled_back).
  returned: always
  type: list
  elements: str
  sample: [recreated, started]
differences:
  description: The options whose current value differs from the task's.
  returned: always
  type: list
  elements: str
  sample: [memory, env]
pulled:
  description: Whether the image was pulled (or would be, in check mode).
  returned: always
  type: bool
container:
  description: The container after the task; null when absent. Env is left out (it may hold secrets).
  returned: always
  type: dict
  contains:
    id:
      description: Container ID.
      type: str
    name:
      description: Container name.
      type: str
    image:
      description: The image name the container was created from.
      type: str
    image_id:
      description: The image ID.
      type: str
    status:
      description: The engine's status, such as V(running) or V(exited).
      type: str
    running:
      description: Whether it runs.
      type: bool
    exit_code:
      description: Exit code of the last run.
      type: int
    health:
      description: Health status, or null without a healthcheck.
      type: str
    restart_count:
      description: How often the engine restarted it.
      type: int
output:
  description: With O(detach=false), what the container wrote to stdout and stderr.
  returned: when detach is false and the container ran
  type: str
status:
  description: With O(detach=false), the container's exit code.
  returned: when detach is false and the container ran
  type: int
new_container:
  description: When a new container did not come up, its state and the tail of its logs.
  returned: on failure to start or become healthy
  type: dict
"""

from ansible_collections.dockhand.runtime.plugins.module_utils import container_engine as engine
from ansible_collections.dockhand.runtime.plugins.module_utils.container_options import (
    OptionError,
    argument_spec,
    create_body,
    parse_image,
    parse_name,
    parse_options,
    update_body,
    view,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container_state import plan, summary
from ansible_collections.dockhand.runtime.plugins.module_utils.engine_api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine_args import (
    engine_module,
    make_client,
    run_module,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.image_pull import (
    Credentials,
    pull,
    pull_error_message,
    pull_failure,
    remote_digest,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.images import knows_digest

# Options whose comparison needs the image's own defaults.
_USES_IMAGE = ("env", "labels", "command", "entrypoint", "exposed_ports", "volumes", "stop_signal")
_MINIMUM_API = {"cgroupns_mode": "1.41"}


def resolve_image(module, client, ref, result):
    """The image's inspect after pulling as O(pull) says; None in check mode when a pull would bring it."""
    local = client.inspect("image", ref.local)
    mode = module.params["pull"]
    if local is None and mode == "never":
        module.fail_json(msg="image: %s is not on this host and pull is never; pull it first (dockhand.runtime.image) "
                             "or set pull: missing" % ref.familiar, **result)
    if local is not None and (mode != "always" or ref.digest):
        return local
    credentials = Credentials(module, ref)
    if module.check_mode:
        try:
            digest = remote_digest(client, ref, credentials)
        except EngineError as exc:
            if exc.kind == "http" and exc.status in (401, 403, 404):
                module.fail_json(msg=pull_failure(ref, exc, credentials, check_mode=True, option="image"),
                                 engine_error=exc.to_dict(), **result)
            digest = None
        if local is not None and digest and knows_digest(local.get("RepoDigests"), ref, digest):
            return local
        result["pulled"] = True
        result["actions"].append("pulled")
        return None
    try:
        after = pull(client, ref, credentials)
    except EngineError as exc:
        module.fail_json(msg=pull_error_message(ref, exc, credentials, option="image"),
                         engine_error=exc.to_dict(), **result)
    result["pulled"] = True
    if local is None or local.get("Id") != after.get("Id"):
        result["actions"].append("pulled")
    return after


def check_api(client, wanted):
    for name, minimum in _MINIMUM_API.items():
        if name in wanted and not client.api_at_least(minimum):
            raise OptionError("%s: needs engine API %s; this engine speaks %s" % (name, minimum, client.api_version))


def set_diff(result, current_plan, wanted, container, image_config, image_id):
    names = list(wanted) if current_plan.mode == "create" else current_plan.differences
    before, after = view(names, wanted, container, image_config)
    if container is not None:
        before["image_id"] = container.get("Image")
        before["running"] = bool((container.get("State") or {}).get("Running"))
    if current_plan.mode == "remove":
        after = {}
    else:
        after["image_id"] = image_id or before.get("image_id")
        after["running"] = ("started" in current_plan.actions or "restarted" in current_plan.actions or (
            before.get("running", False) and "stopped" not in current_plan.actions))
    result["diff"] = {"before": before, "after": after}


def fail_not_up(module, client, name, container, result):
    details = engine.failure_details(client, container)
    result["container"] = summary(container)
    module.fail_json(msg=engine.describe_not_up(name, details, module.params["health_timeout"]),
                     new_container=details, **result)


def start_checked(module, client, name, container_id, result, fresh=False):
    """Start a container and make sure it came up; a fresh one that the engine cannot start is removed."""
    try:
        engine.start(client, container_id)
    except EngineError as exc:
        if exc.kind != "http":
            raise
        if fresh:
            engine.remove(client, container_id, volumes=True)
            result["actions"] = [action for action in result["actions"] if action != "created"]
        said = exc.daemon_message or str(exc)
        option = engine.blame(said)
        module.fail_json(msg="cannot start container %s%s: %s%s" % (
            name, " (check %s)" % option if option else "", said,
            "; the new container was removed" if fresh else ""), engine_error=exc.to_dict(), **result)
    ok, current = engine.came_up(client, container_id, module.params["health_timeout"])
    if not ok and module.params["detach"]:
        fail_not_up(module, client, name, current, result)
    return current


def run_attached(module, client, container_id, result):
    code, output = engine.wait_exit(client, container_id, timeout=None)
    result["status"] = code
    result["output"] = output
    if code != 0:
        module.fail_json(msg="container %s exited with code %s; its output is in output" % (
            module.params["name"], code), **result)


def execute(module, client, name, current_plan, container, wanted, ref, result):
    params = module.params
    stop_timeout = wanted.get("stop_timeout")
    image_name = ref.local if ref else container["Image"]
    networks = wanted.get("networks") or []
    new = container
    if current_plan.mode == "remove":
        if engine.is_running(container):
            engine.stop(client, container["Id"], stop_timeout)
        engine.remove(client, container["Id"], volumes=not params["keep_volumes"])
        return None
    if current_plan.mode == "create":
        body = create_body(wanted, image_name)
        new = engine.create(client, name, body, networks)
    elif current_plan.mode == "update":
        warnings = engine.update(client, container["Id"], update_body(current_plan.differences, wanted, container))
        for warning in warnings:
            module.warn(warning)
        new = client.inspect("container", container["Id"])
    elif current_plan.mode == "recreate":
        body = create_body(wanted, image_name)
        if not ref:
            body["Image"] = container["Image"]
        new = engine.safe_recreate(client, container, name, body, networks, stop_timeout,
                                   start_new="started" in current_plan.actions,
                                   health_timeout=params["health_timeout"])
        if not params["detach"] and "started" in current_plan.actions:
            run_attached(module, client, new["Id"], result)
        return client.inspect("container", new["Id"])
    if "started" in current_plan.actions:
        if params["detach"]:
            new = start_checked(module, client, name, new["Id"], result, fresh=current_plan.mode == "create")
        else:
            start_checked(module, client, name, new["Id"], result, fresh=current_plan.mode == "create")
            run_attached(module, client, new["Id"], result)
            new = client.inspect("container", new["Id"])
    elif "stopped" in current_plan.actions:
        engine.stop(client, new["Id"], stop_timeout)
        new = client.inspect("container", new["Id"])
    elif "restarted" in current_plan.actions:
        engine.restart(client, new["Id"], stop_timeout)
        ok, new = engine.came_up(client, new["Id"], params["health_timeout"])
        if not ok:
            fail_not_up(module, client, name, new, result)
    return new


def manage(module):
    params = module.params
    result = {"changed": False, "actions": [], "differences": [], "pulled": False, "container": None}
    try:
        name = parse_name(params["name"])
        wanted = parse_options(params)
        ref = parse_image(params["image"]) if params["image"] else None
    except OptionError as exc:
        module.fail_json(msg=str(exc), **result)
    client = make_client(params)
    try:
        if not module.check_mode:
            warning = engine.recover_leftovers(client, name)
            if warning:
                module.warn(warning)
        container = engine.find(client, name)
        image, image_id = None, None
        if params["state"] != "absent":
            check_api(client, wanted)
            if ref is not None:
                image = resolve_image(module, client, ref, result)
                image_id = image["Id"] if image else None
            elif container is None:
                module.fail_json(msg="image: container %s does not exist; give image to create it" % name, **result)
            elif any(option in wanted for option in _USES_IMAGE):
                image = client.inspect("image", container["Image"])
        image_config = (image or {}).get("Config") or {}
        current_plan = plan(params["state"], container, wanted, image_id, image_config,
                            recreate=params["recreate"], restart=params["restart"])
        result["actions"].extend(current_plan.actions)
        result["differences"] = current_plan.differences
        if module._diff:
            set_diff(result, current_plan, wanted, container, image_config, image_id)
        result["changed"] = bool(result["actions"])
        if module.check_mode:
            result["container"] = summary(container)
            return result
        try:
            after = execute(module, client, name, current_plan, container, wanted, ref, result)
        except engine.ContainerFailure as exc:
            if exc.details.get("rolled_back"):
                result["actions"].append("rolled_back")
            try:
                result["container"] = summary(engine.find(client, name))
            except EngineError:
                result["container"] = None
            module.fail_json(msg=str(exc), **dict(result, **exc.details))
        result["container"] = summary(after)
    except OptionError as exc:
        module.fail_json(msg=str(exc), **result)
    finally:
        client.close()
    return result


def main():
    module = engine_module(argument_spec())
    run_module(module, manage)


if __name__ == "__main__":
    main()
