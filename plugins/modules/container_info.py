#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_info
short_description: Find containers by label, or look at one container by name
version_added: 0.1.0
description:
  - With O(name), inspects that one container (one request) and says whether it exists.
  - With O(labels), lists the containers that carry all of the given labels (one
    C(GET /containers/json) with a label filter, stopped containers included unless O(all=false)),
    for example the containers that the P(dockhand.runtime.containers#role) role manages.
  - Reads only; never changes anything.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Runs in check mode as in normal mode; it only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
options:
  name:
    description:
      - Name of one container to inspect. A container whose ID merely starts with O(name) is not a match.
      - Exactly one of O(name), O(labels) and O(every) is required.
    type: str
  labels:
    description:
      - List the containers that carry every one of these labels.
      - A label whose value is V(null) matches any value (the label only has to be there); any other
        value must match exactly (as a string).
      - Exactly one of O(name), O(labels) and O(every) is required.
    type: dict
  every:
    description:
      - List every container on the host, with or without labels (a fleet report's view).
      - Exactly one of O(name), O(labels) and O(every) is required.
    type: bool
    default: false
  details:
    description:
      - With O(labels) or O(every), inspect each container found, so that RV(containers[].health),
        RV(containers[].restart_count), RV(containers[].started_at), RV(containers[].uptime_seconds) and
        RV(containers[].pid) are filled in as they are with O(name). One more request per container.
    type: bool
    default: false
  all:
    description:
      - With O(labels) or O(every), include containers that are not running (created, exited, paused).
    type: bool
    default: true
notes:
  - Environment variables of containers are not returned (they may hold secrets).
seealso:
  - module: dockhand.runtime.container
"""

EXAMPLES = r"""
- name: Find the containers this collection's containers role manages
  dockhand.runtime.container_info:
    labels:
      dockhand.runtime.managed-by: containers
      dockhand.runtime.containers-instance: default
  register: managed

- name: Show their names
  ansible.builtin.debug:
    msg: "{{ managed.names }}"

- name: Does the container web exist, and does it run?
  dockhand.runtime.container_info:
    name: web
  register: web

- name: Say so
  ansible.builtin.debug:
    msg: "{{ web.exists and web.containers[0].running }}"

- name: Where does its main process sit in the cgroup tree
  dockhand.runtime.cgroup_info:
    pid: "{{ web.containers[0].pid }}"
  when: web.exists and web.containers[0].running
"""

RETURN = r"""
exists:
  description: With O(name), whether the container exists; with O(labels), whether any container matched.
  returned: always
  type: bool
  sample: true
names:
  description: Names of the containers found, sorted.
  returned: always
  type: list
  elements: str
  sample: [api, web]
containers:
  description: The containers found, sorted by name (at most one with O(name)).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Container ID.
      type: str
    name:
      description: Container name (without the leading slash).
      type: str
    image:
      description: The image name the container was created from.
      type: str
    image_id:
      description: The image ID.
      type: str
    state:
      description: The engine's state, such as V(running), V(exited), V(created) or V(paused).
      type: str
    running:
      description: Whether it runs.
      type: bool
    labels:
      description: All labels of the container.
      type: dict
    pid:
      description:
        - With O(name), the ID on the host of the container's main process (C(State.Pid)), V(0) when it
          does not run; read C(/proc/<pid>/cgroup) or pass it to M(dockhand.runtime.cgroup_info) to see where
          the container sits.
        - Null with O(labels) or O(every) unless O(details=true), since the engine's listing does not carry it.
      type: int
    health:
      description:
        - The healthcheck's verdict (V(starting), V(healthy) or V(unhealthy)), or null when the container has no
          healthcheck (or with O(labels) or O(every) unless O(details=true)).
      type: str
    restart_count:
      description: How many times the engine restarted it (its restart policy); null as RV(containers[].health).
      type: int
    started_at:
      description: When it last started (the engine's RFC 3339 time), or null as RV(containers[].health).
      type: str
    uptime_seconds:
      description: Seconds since it started, by the host's clock, while it runs; null otherwise.
      type: int
  sample:
    - id: 4c01db0b339c
      name: web
      image: busybox:1.36
      image_id: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
      state: running
      running: true
      labels: {dockhand.runtime.managed-by: containers}
      pid: 4242
      health: healthy
      restart_count: 0
      started_at: "2026-11-30T08:15:02.118394051Z"
      uptime_seconds: 86400
"""

import calendar
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import as_text, text_dict
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module


def label_filter(labels):
    """The engine's label filter for {key: value}: ``key=value``, or ``key`` when the value is null."""
    return sorted(str(key) if value is None else "%s=%s" % (key, as_text(value)) for key, value in labels.items())


def from_listing(entry):
    """One entry of ``GET /containers/json`` in the module's result shape."""
    names = entry.get("Names") or ["/" + entry.get("Id", "")[:12]]
    state = entry.get("State") or ""
    return {"id": entry.get("Id"), "name": names[0].lstrip("/"), "image": entry.get("Image"),
            "image_id": entry.get("ImageID"), "state": state, "running": state == "running",
            "labels": text_dict(entry.get("Labels")), "pid": None, "health": None, "restart_count": None,
            "started_at": None, "uptime_seconds": None}


def seconds_since(stamp, now):
    """Whole seconds from an engine time (RFC 3339, UTC, up to nine fraction digits) to ``now`` (epoch
    seconds), or None when the time is missing or the zero time."""
    if not stamp or stamp.startswith("0001-"):
        return None
    try:
        started = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    return max(0, int(now - started))


def from_inspect(container, now=None):
    """A container inspect in the module's result shape."""
    state = container.get("State") or {}
    config = container.get("Config") or {}
    running = bool(state.get("Running"))
    now = time.time() if now is None else now
    return {"id": container.get("Id"), "name": (container.get("Name") or "").lstrip("/"),
            "image": config.get("Image"), "image_id": container.get("Image"), "state": state.get("Status"),
            "running": running, "labels": text_dict(config.get("Labels")),
            "pid": int(state.get("Pid") or 0), "health": (state.get("Health") or {}).get("Status"),
            "restart_count": int(container.get("RestartCount") or 0), "started_at": state.get("StartedAt"),
            "uptime_seconds": seconds_since(state.get("StartedAt"), now) if running else None}


def detailed(client, entry):
    """A listed container with what only its inspect has; as listed when it went away meanwhile."""
    container = client.inspect("container", entry["id"])
    return from_inspect(container) if container is not None else entry


def check_params(module):
    name, labels = module.params["name"], module.params["labels"]
    given = [option for option, value in (("name", name), ("labels", labels), ("every", module.params["every"] or None))
             if value is not None]
    if len(given) != 1:
        module.fail_json(msg="give exactly one of name (one container), labels (containers carrying the labels) and "
                             "every (every container on the host); this task gives %s"
                             % (" and ".join(given) if given else "none of them"))
    if name is not None and not name.strip():
        module.fail_json(msg="name is empty; give a container's name")
    if labels is not None and not labels:
        module.fail_json(msg="labels is empty; give at least one label, such as dockhand.runtime.managed-by: "
                             "containers (an empty filter would match every container)")
    for key in labels or {}:
        if not str(key).strip():
            module.fail_json(msg="labels has an empty key; give the label names to filter on")


def find(module):
    check_params(module)
    client = make_client(module.params)
    try:
        if module.params["name"] is not None:
            name = module.params["name"].strip().lstrip("/")
            container = client.inspect("container", name)
            if container is not None and (container.get("Name") or "").lstrip("/") != name:
                container = None  # found by ID prefix: not the container named so
            found = [from_inspect(container)] if container is not None else []
        else:
            params = {"all": module.params["all"]}
            if module.params["labels"] is not None:
                params["filters"] = {"label": label_filter(module.params["labels"])}
            found = [from_listing(entry) for entry in client.get("/containers/json", params=params) or []]
            if module.params["details"]:
                found = [detailed(client, entry) for entry in found]
    finally:
        client.close()
    found.sort(key=lambda item: item["name"])
    return {"changed": False, "exists": bool(found), "names": [item["name"] for item in found],
            "containers": found}


def main():
    module = engine_module({
        "name": {"type": "str"},
        "labels": {"type": "dict"},
        "every": {"type": "bool", "default": False},
        "details": {"type": "bool", "default": False},
        "all": {"type": "bool", "default": True},
    })
    run_module(module, find)


if __name__ == "__main__":
    main()
