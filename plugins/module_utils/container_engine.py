# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container module's edges: find, create, start, stop, update, remove, and the safe recreate.

A recreate never removes the old container before the new one is known to
work: the new one is created under a temporary name first (so that a body the
engine refuses changes nothing), the old one is stopped and renamed aside, the
new one takes the name and starts, and, when it has a healthcheck, must become
healthy within a bound. If it does not, it is removed and the old one gets its
name back and is started again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.dockhand.runtime.plugins.module_utils.container_options import (
    endpoint_config,
    get_path,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container_state import (
    NEW_SUFFIX,
    OLD_SUFFIX,
    carry_over_binds,
    has_healthcheck,
    is_running,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine_api import (
    EngineError,
    demux_docker_stream,
    object_path,
)

LOG_TAIL_LINES = 20
POLL_SECONDS = 0.5

# The engine's words for a refused create body, and the option that is to blame.
_CREATE_ERROR_OPTIONS = (
    ("log opt", "log_options"),
    ("logging driver", "log_driver"),
    ("log driver", "log_driver"),
    ("restart policy", "restart_policy"),
    ("maximum retry count", "restart_retries"),
    ("memory", "memory"),
    ("swap", "memory_swap"),
    ("cpuset", "cpuset_cpus"),
    ("nanocpus", "cpus"),
    ("cpu", "cpus"),
    ("sysctl", "sysctls"),
    ("capabilit", "capabilities"),
    ("device", "devices"),
    ("tmpfs", "tmpfs"),
    ("mount", "mounts"),
    ("bind", "volumes"),
    ("volume", "volumes"),
    ("port", "published_ports"),
    ("network", "networks"),
    ("ulimit", "ulimits"),
    ("cgroupns", "cgroupns_mode"),
    ("cgroup", "cgroup_parent"),
    ("health", "healthcheck"),
    ("security", "security_opts"),
    ("user", "user"),
)


class ContainerFailure(Exception):
    """A step failed; ``details`` go into the module's result."""

    def __init__(self, message, **details):
        super(ContainerFailure, self).__init__(message)
        self.details = details


def blame(message):
    """The option a daemon's refusal of a create body most likely names, or None."""
    lowered = (message or "").lower()
    for words, option in _CREATE_ERROR_OPTIONS:
        if words in lowered:
            return option
    return None


def find(client, name):
    """The container named ``name`` (one inspect), or None. A match by ID prefix is not a match."""
    container = client.inspect("container", name)
    if container is not None and (container.get("Name") or "").lstrip("/") != name:
        return None
    return container


def create(client, name, body, networks):
    """Create a container and connect it to the networks after the first; returns its inspect.

    Raises ContainerFailure naming the option the engine refused, after removing
    whatever was created.
    """
    try:
        answer = client.post("/containers/create", params={"name": name}, body=body)
    except EngineError as exc:
        if exc.kind != "http":
            raise
        said = exc.daemon_message or str(exc)
        option = blame(said)
        raise ContainerFailure("cannot create container %s: the engine refused it%s: %s"
                               % (name, " (check %s)" % option if option else "", said),
                               engine_error=exc.to_dict()) from None
    container_id = answer["Id"]
    try:
        for network in networks[1:]:
            client.post(object_path("network", network["name"], "/connect"),
                        body={"Container": container_id, "EndpointConfig": endpoint_config(network)})
    except EngineError as exc:
        remove(client, container_id)
        raise ContainerFailure("cannot connect container %s to network %s (networks): %s"
                               % (name, network["name"], exc.daemon_message or exc),
                               engine_error=exc.to_dict()) from None
    return client.inspect("container", container_id)


def start(client, container_id):
    client.post(object_path("container", container_id, "/start"))


def _stop_call(client, container_id, action, timeout):
    """POST /containers/{id}/stop or /restart, waiting the stop timeout (the engine's 10 s by default) and more."""
    params = {"t": timeout} if timeout is not None else None
    wait = (timeout if timeout is not None else 10) + client.timeout
    client.post(object_path("container", container_id, "/" + action), params=params, timeout=wait)


def stop(client, container_id, timeout=None):
    _stop_call(client, container_id, "stop", timeout)


def restart(client, container_id, timeout=None):
    _stop_call(client, container_id, "restart", timeout)


def remove(client, container_id, volumes=False):
    """Remove a container (forced); a container that is already gone is fine."""
    try:
        client.delete(object_path("container", container_id), params={"force": True, "v": volumes})
    except EngineError as exc:
        if exc.status != 404:
            raise


def rename(client, container_id, new_name):
    client.post(object_path("container", container_id, "/rename"), params={"name": new_name})


def update(client, container_id, body):
    answer = client.post(object_path("container", container_id, "/update"), body=body)
    return (answer or {}).get("Warnings") or []


def logs_tail(client, container_id, lines=LOG_TAIL_LINES):
    """The last lines of a container's stdout and stderr, as text ('' when unavailable)."""
    try:
        data = client.raw("GET", object_path("container", container_id, "/logs"),
                          params={"stdout": True, "stderr": True, "tail": lines})
    except EngineError:
        return ""
    try:
        stdout, stderr = demux_docker_stream(data)
        text = stdout + stderr
    except ValueError:  # a TTY container's log is not multiplexed
        text = data
    return text.decode("utf-8", "replace")


def wait_healthy(client, container_id, timeout):
    """Wait until the container is healthy; returns (ok, inspect). Not ok when it exits or turns unhealthy."""
    deadline = time.monotonic() + timeout
    while True:
        container = client.inspect("container", container_id)
        if container is None or not is_running(container):
            return False, container
        status = get_path(container, "State.Health.Status")
        if status == "healthy" or not has_healthcheck(container):
            return True, container
        if status == "unhealthy" or time.monotonic() >= deadline:
            return False, container
        time.sleep(POLL_SECONDS)


def came_up(client, container_id, health_timeout):
    """After a start: (ok, inspect). Running, and healthy within ``health_timeout`` if it has a healthcheck."""
    container = client.inspect("container", container_id)
    if container is None:
        return False, None
    if not is_running(container):
        exited_ok = get_path(container, "State.ExitCode") == 0 and not get_path(container, "State.Error")
        return exited_ok, container
    if has_healthcheck(container) and health_timeout > 0:
        return wait_healthy(client, container_id, health_timeout)
    return True, container


def failure_details(client, container):
    """State and log tail of a container that did not come up."""
    if container is None:
        return {"state": None, "logs": ""}
    state = container.get("State") or {}
    health = state.get("Health") or {}
    return {"state": {"status": state.get("Status"), "exit_code": state.get("ExitCode"),
                      "error": state.get("Error") or None, "health": health.get("Status"),
                      "health_log": [entry.get("Output", "").strip() for entry in (health.get("Log") or [])[-3:]]},
            "logs": logs_tail(client, container["Id"])}


def describe_not_up(name, details, health_timeout):
    state = details["state"] or {}
    if state.get("status") != "running":
        why = "it exited with code %s%s" % (state.get("exit_code"),
                                            " (%s)" % state["error"] if state.get("error") else "")
    elif state.get("health") == "unhealthy":
        why = "it became unhealthy"
    elif state.get("health") == "starting":
        why = "it was not healthy within health_timeout (%ds)" % health_timeout
    else:
        why = "it did not come up"
    text = "the new container %s did not come up: %s" % (name, why)
    if state.get("health_log"):
        text += "; last health check output: %s" % state["health_log"][-1][:300]
    if details.get("logs"):
        text += "; last log lines:\n%s" % details["logs"][-2000:]
    return text


def safe_recreate(client, old, name, body, networks, stop_timeout, start_new, health_timeout):
    """Replace ``old`` by a container made from ``body``; the old one comes back if the new one fails.

    Returns (new inspect, actions). Raises ContainerFailure (with the new
    container's state and log tail) after rolling back.
    """
    body = dict(body)
    carried = carry_over_binds(old, body)
    if carried:
        host_config = dict(body.get("HostConfig") or {})
        host_config["Binds"] = list(host_config.get("Binds") or []) + carried
        body["HostConfig"] = host_config
    leftover = find(client, name + NEW_SUFFIX)
    if leftover is not None:
        remove(client, leftover["Id"], volumes=True)
    new = create(client, name + NEW_SUFFIX, body, networks)
    was_running = is_running(old)
    steps = []
    try:
        if was_running:
            stop(client, old["Id"], stop_timeout)
            steps.append("stopped old")
        rename(client, old["Id"], name + OLD_SUFFIX)
        steps.append("renamed old")
        rename(client, new["Id"], name)
        steps.append("renamed new")
        if start_new:
            start(client, new["Id"])
            ok, current = came_up(client, new["Id"], health_timeout)
            if not ok:
                details = failure_details(client, current)
                raise ContainerFailure(describe_not_up(name, details, health_timeout), new_container=details)
    except (ContainerFailure, EngineError) as exc:
        try:
            rollback(client, old, new, name, steps, was_running)
        except EngineError as lost:
            where = where_things_are(name, steps)
            raise ContainerFailure(
                "the engine stopped answering while recreating container %s (%s) and the rollback could not "
                "finish (%s). %s Run the task again once the engine answers: it gives a container left as %s%s its "
                "name back and removes %s%s." % (name, exc, lost, where, name, OLD_SUFFIX, name, NEW_SUFFIX),
                engine_error=lost.to_dict()) from None
        if isinstance(exc, ContainerFailure):
            exc.details["rolled_back"] = True
            raise ContainerFailure("%s. Rolled back: the old container %s is back under its name%s."
                                   % (exc, old["Id"][:12], " and running" if was_running else ""),
                                   **exc.details) from None
        details = {"engine_error": exc.to_dict(), "rolled_back": True}
        if exc.kind == "http":
            details["new_container"] = failure_details(client, client.inspect("container", new["Id"]))
        raise ContainerFailure("cannot recreate container %s: %s. Rolled back: the old container %s is back under "
                               "its name." % (name, exc.daemon_message or exc, old["Id"][:12]), **details) from None
    remove(client, old["Id"], volumes=False)
    return client.inspect("container", new["Id"])


def where_things_are(name, steps):
    """Words for the state an interrupted recreate left behind."""
    if "renamed new" in steps:
        return "The new container has the name %s; the old one is %s%s, stopped." % (name, name, OLD_SUFFIX)
    if "renamed old" in steps:
        return "The old container is %s%s, stopped; the new one is %s%s." % (name, OLD_SUFFIX, name, NEW_SUFFIX)
    if "stopped old" in steps:
        return "The old container still has its name but was stopped; the new one is %s%s." % (name, NEW_SUFFIX)
    return "The old container was not touched; the new one is %s%s." % (name, NEW_SUFFIX)


def rollback(client, old, new, name, steps, was_running):
    """Undo the steps of a recreate: remove the new container, give the old one its name back."""
    remove(client, new["Id"], volumes=True)
    if "renamed old" in steps:
        rename(client, old["Id"], name)
    if was_running:
        start(client, old["Id"])


def recover_leftovers(client, name):
    """After an interrupted recreate: the old container is given its name back. Returns a warning or None."""
    aside = find(client, name + OLD_SUFFIX)
    if aside is None:
        return None
    current = find(client, name)
    if current is None:
        rename(client, aside["Id"], name)
        return ("found container %s%s from an interrupted recreate and gave it its name back"
                % (name, OLD_SUFFIX))
    return ("container %s%s from an interrupted recreate is still there; remove it when it is no longer needed"
            % (name, OLD_SUFFIX))


def wait_exit(client, container_id, timeout):
    """With detach false: wait for the container to exit; returns (exit code, output)."""
    answer = client.post(object_path("container", container_id, "/wait"), timeout=timeout)
    code = (answer or {}).get("StatusCode")
    return code, logs_tail(client, container_id, lines="all")
