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
    set never causes a change, with two exceptions community.docker makes too - the first of O(networks) is
    the O(network_mode) compared (O(networks_cli_compatible)), and under C(image) ignored in O(comparisons)
    the task's image's environment is compared (O(image_comparison)). Image drift is judged by image ID
    after resolving the name locally (a digest in O(image) pins it).
  - Resource limits (O(memory), O(memory_reservation), O(memory_swap), O(cpus), O(cpu_shares),
    O(cpuset_cpus), O(cpuset_mems), O(cpu_period), O(cpu_quota), O(blkio_weight), O(kernel_memory),
    O(pids_limit)), the restart policy and O(networks) (connected and disconnected, as community.docker
    does; a step the engine refuses is undone) are set or changed in place; the container
    keeps its ID and keeps running. A new memory limit always travels with its swap limit, so adding
    one to a container that had none works. Removing a limit (V(0), or an empty O(cpuset_cpus)) is
    something the engine cannot do in place, so it recreates the container, as any other difference
    does; check mode says which.
  - Options the engine cannot honour on a host are accepted, never dropped silently. The module warns
    when one is set that cannot take effect (O(kernel_memory), a GPU in O(device_requests), an
    O(platform) that is not the engine's), and passes on the engine's own warnings about a setting it
    discarded (such as O(blkio_weight) on a kernel without C(blkio.weight), or O(memory_swappiness) on
    cgroup v2); an option the engine refuses (O(storage_opts) off xfs, an unknown O(runtime)) fails the
    task naming it, before the old container is touched.
  - A container named in O(network_mode), O(pid_mode) or O(ipc_mode) (V(container:<name>)) is looked up
    and recorded by ID, as the engine does, so the comparison holds.
  - A recreate is safe, and the time without a running container is kept as short as the engine
    allows. The host ports of O(published_ports) are checked first (the engine's bindings of other
    containers, and a bind test when the engine runs on this host), and a port that is taken fails
    the task before anything is touched. The new container is created under a temporary name, so that
    options the engine refuses change nothing. Then the old one is stopped and the new one started at
    once, and the names are swapped; with a healthcheck, the new one must be healthy within
    O(health_timeout) (or by its first health check, if that comes later). If it fails to start or
    never becomes healthy, it is killed, the old one is started again at once, gets its name back, and
    the task fails with the new container's state and the tail of its logs. With host ports, clients
    see a brief gap (the engine's stop and start, about a second) during a recreate and again during
    a rollback.
    Named volumes are untouched; anonymous volumes of the old container are mounted into the new one.
  - A container that disappears while the module works on it (one with O(auto_remove) that exits) is
    no error; the module plans again from what is there.
  - Option names and value formats are those of community.docker's C(docker_container), so such a
    task moves over by changing its module name.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
  - dockhand.runtime.engine.pulls
  - dockhand.runtime.container
attributes:
  check_mode:
    support: full
    description:
      - Creates, changes and pulls nothing; reports the actions it would take. With O(pull=always)
        the registry is asked through the engine whether the image changed (with
        O(pull_check_mode_behavior=always) the pull is reported without asking).
  diff_mode:
    support: full
    description:
      - Shows before and after of the options that differ only (all the task's options for a new
        container), the image, its ID and the running state. The after side is built from the image
        the task names (its own env and labels included); for an image not pulled yet, check mode takes
        them from the current image and says so. Values whose names contain PASS, TOKEN, SECRET, KEY,
        CREDENTIAL, AUTH or PRIVATE are masked; a changed one reads V(******** (changed)).
notes:
  - The options the task does not set are not compared (but see the two exceptions above). Removing an
    option from a task does not change the container; set it to its default, or use O(recreate=true) once.
  - Lists that are sets, and dicts, are compared as community.docker compares them by default - the container
    may hold more (another variable, label, port, network) than the task asks. Removing an item from such an
    option therefore changes nothing unless O(comparisons) says V(strict) for it (or V(*) is V(strict)).
  - O(networks) are compared by the networks the container is on; the engine's own aliases (the short
    container ID) are allowed next to the ones asked for. With V(strict) for C(networks) the container is on exactly
    the listed networks.
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
    - What was done (or, in check mode, would be done), in order. Any of V(created),
      V(updated), V(recreated), V(started), V(stopped), V(restarted), V(removed), V(rolled_back).
    - A pull is a dict, as community.docker records it, C(pulled_image) (the image with its tag) and
      C(changed) (false when the registry had nothing new; such a pull does not make the task changed). In
      check mode with O(pull_check_mode_behavior=always) the claimed pull has no C(changed).
    - On a failure, only what happened; for example V([]) when a port conflict stopped a recreate
      before anything was touched, or V([rolled_back]) when the old container came back.
  returned: always
  type: list
  elements: raw
  sample: [{pulled_image: "busybox:1.36", changed: true}, recreated, started]
differences:
  description:
    - The options whose current value differs from the task's, and V(image) when the image changes
      (a difference an image brings with it, such as its own labels, is not the task's).
  returned: always
  type: list
  elements: str
  sample: [memory, env]
pulled:
  description: Whether the image was pulled (or would be, in check mode).
  returned: always
  type: bool
mirror:
  description:
    - The mirror of Docker's rewrite table that served the image (in check mode, that would serve it), or null
      when the registry itself did or nothing was pulled. The keys are those of M(dockhand.runtime.image)'s
      C(mirror) (V(url), V(reference), V(digest), V(checked_against), V(table)).
  returned: always
  type: dict
  sample: {"url": "https://ghcr.mirror.lan", "reference": "ghcr.mirror.lan/org/app@sha256:0e5c...",
           "digest": "sha256:0e5c...", "checked_against": "mirror", "table": "/etc/dockhand/registry-mirrors.json"}
container:
  description:
    - The container after the task, null when absent. It is the engine's inspect of the container, as
      community.docker returns it (C(Id), C(Config), C(State), C(HostConfig), C(NetworkSettings), ...). In it,
      the values of secret-named variables in C(Config.Env) and C(Config.Labels), and URL credentials, are masked.
    - Beside the engine's keys are the short ones below.
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
  description: With O(detach=false), what the container wrote to stdout and stderr; with O(auto_remove),
    C(Cannot retrieve result as auto_remove is enabled), as in community.docker (the container is gone before
    its logs can be read).
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

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.container.task import main  # noqa: E402

if __name__ == "__main__":
    main()
