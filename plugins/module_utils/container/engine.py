# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container module's edges: find, create, start, stop, update, remove, and the safe recreate.

A recreate never removes the old container before the new one is known to
work, and keeps the time without a running container as short as the engine
allows. The host ports the new container publishes are checked first (the
engine's bindings of other containers, and a bind test on the host), so a
port another container holds changes nothing. The new container is created
under a temporary name (so a body the engine refuses changes nothing), then
the old one is stopped and the new one started at once; only then are the
names swapped. When it has a healthcheck it must become healthy within a
bound. If it does not start or come up, it is killed, the old one is started
again at once, and then the new one is removed and the names put back.

A container can disappear between two calls (one with auto_remove that
exits, another client's removal): every call that follows an inspect treats
404 and 409 "removal in progress" as :class:`Gone`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    endpoint_config,
    endpoint_of,
    get_path,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container.state import (
    NEW_SUFFIX,
    OLD_SUFFIX,
    carry_over_binds,
    has_healthcheck,
    is_running,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    EngineError,
    demux_docker_stream,
    object_path,
)

LOG_TAIL_LINES = 20
POLL_SECONDS = 0.5
REMOVAL_WAIT_SECONDS = 30
_GONE_WORDS = ("removal", "marked for removal", "is dead", "no such container")

# The engine's words for a refused create body, and the option that is to blame.
_CREATE_ERROR_OPTIONS = (
    ("kernel.domainname", "domainname"),
    ("kernel.hostname", "hostname"),
    ("storage-opt", "storage_opts"),
    ("storage opt", "storage_opts"),
    ("device driver", "device_requests"),
    ("unknown runtime", "runtime"),
    ("platform", "platform"),
    ("kernel memory", "kernel_memory"),
    ("blkio", "blkio_weight"),
    ("swappiness", "memory_swappiness"),
    ("oom score", "oom_score_adj"),
    ("cpu period", "cpu_period"),
    ("cpu cfs period", "cpu_period"),
    ("cpu cfs quota", "cpu_quota"),
    ("cpu quota", "cpu_quota"),
    ("cpuset.mems", "cpuset_mems"),
    ("mems", "cpuset_mems"),
    ("mac address", "mac_address"),
    ("mac-address", "mac_address"),
    ("ipc mode", "ipc_mode"),
    ("ipc namespace", "ipc_mode"),
    ("non-shareable ipc", "ipc_mode"),
    ("pid mode", "pid_mode"),
    ("pid namespace", "pid_mode"),
    ("uts mode", "uts"),
    ("uts namespace", "uts"),
    ("userns", "userns_mode"),
    ("link to", "links"),
    ("legacy link", "links"),
    ("volumes-from", "volumes_from"),
    ("dns", "dns_servers"),
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
    """A step failed; ``details`` go into the module's result (``actions``: what was done before)."""

    def __init__(self, message, **details):
        super(ContainerFailure, self).__init__(message)
        self.details = details


class Gone(Exception):
    """The container disappeared (removed, or being removed) between an inspect and a call that followed it."""


def is_gone(exc):
    """Whether an engine error says the container is gone: 404, or 409 while its removal is in progress."""
    if exc.kind != "http":
        return False
    said = (exc.daemon_message or "").lower()
    return exc.status == 404 or (exc.status == 409 and any(word in said for word in _GONE_WORDS))


def _call(request, path, **kwargs):
    """One call about a container that may be gone; raises Gone instead of the engine's 404/409."""
    try:
        return request(path, **kwargs)
    except EngineError as exc:
        if is_gone(exc):
            raise Gone(str(exc)) from None
        raise


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


def create(client, name, body, networks, warnings=None, only_networks=None):
    """Create a container and connect it to the networks the body does not hold; returns its inspect.

    A ``platform`` key of ``body`` (option platform) goes as the query parameter. The
    engine's warnings about the body (a setting it discarded) are appended to ``warnings``.
    ``only_networks`` (a set of names): the container is disconnected from any other
    network, such as the default bridge the engine connects it to when ``networks`` is
    empty (``networks: []`` compared strictly).
    Raises ContainerFailure naming the option the engine refused, after removing
    whatever was created.
    """
    body = dict(body)
    params = {"name": name, "platform": body.pop("platform", None)}
    try:
        answer = client.post("/containers/create", params=params, body=body)
    except EngineError as exc:
        if exc.kind != "http":
            raise
        said = exc.daemon_message or str(exc)
        option = blame(said)
        raise ContainerFailure("cannot create container %s: the engine refused it%s: %s"
                               % (name, " (check %s)" % option if option else "", said),
                               engine_error=exc.to_dict()) from None
    container_id = answer["Id"]
    if warnings is not None:
        warnings.extend(engine_warnings(answer))
    in_body = get_path(body, "NetworkingConfig.EndpointsConfig") or {}
    try:
        for network in networks:
            if network["name"] in in_body:
                continue
            client.post(object_path("network", network["name"], "/connect"),
                        body={"Container": container_id, "EndpointConfig": endpoint_config(network)})
    except EngineError as exc:
        remove(client, container_id)
        raise ContainerFailure("cannot connect container %s to network %s (networks): %s"
                               % (name, network["name"], exc.daemon_message or exc),
                               engine_error=exc.to_dict()) from None
    created = client.inspect("container", container_id)
    if only_networks is None:
        return created
    extra = sorted(set(get_path(created, "NetworkSettings.Networks") or {}) - set(only_networks))
    for other in extra:
        try:
            client.post(object_path("network", other, "/disconnect"), body={"Container": container_id})
        except EngineError as exc:
            remove(client, container_id)
            said = exc.daemon_message or exc
            raise ContainerFailure("cannot disconnect container %s from network %s (networks: only the listed ones): "
                                   "%s" % (name, other, said), engine_error=exc.to_dict()) from None
    return client.inspect("container", container_id) if extra else created


def reconnect(client, name, container, steps):
    """Connect and disconnect the container as ``steps`` (options.network_steps) say, in place.

    A step the engine refuses undoes the steps before it, so the container is on the networks it was on;
    raises ContainerFailure naming the network.
    """
    done = []
    for action, network, endpoint in steps:
        body = {"Container": container["Id"]}
        if action == "connect":
            body["EndpointConfig"] = endpoint
        try:
            client.post(object_path("network", network, "/" + action), body=body)
        except EngineError as exc:
            if exc.not_found and "container" in str(exc.daemon_message or "").lower():
                raise Gone(name) from None  # removed meanwhile: the module plans again
            failed = _undo_network_steps(client, container, done)
            raise ContainerFailure("cannot %s container %s %s network %s (networks): %s%s" % (
                action, name, "to" if action == "connect" else "from", network, exc.daemon_message or exc,
                "; undoing the steps before it failed for %s, check its networks" % ", ".join(failed)
                if failed else ""), engine_error=exc.to_dict(), undone=not failed) from None
        done.append((action, network))


def _undo_network_steps(client, container, done):
    """Undo connect and disconnect steps, last first, each tried; returns the networks whose undo failed."""
    failed = []
    for action, network in reversed(done):
        body = {"Container": container["Id"]}
        if action == "disconnect":
            body["EndpointConfig"] = endpoint_of(container, network)
        try:
            client.post(object_path("network", network, "/" + ("connect" if action == "disconnect" else
                                                               "disconnect")), body=body)
        except EngineError:
            failed.append(network)
    return failed


def start(client, container_id):
    _call(client.post, object_path("container", container_id, "/start"))


def kill(client, container_id, signal=None):
    """SIGKILL (or ``signal``): frees the container's ports at once (rollback). A container that is not running or
    gone is fine."""
    try:
        _call(client.post, object_path("container", container_id, "/kill"),
              params={"signal": signal} if signal else None)
    except Gone:
        pass
    except EngineError as exc:
        if not (exc.kind == "http" and exc.status == 409):  # 409: not running
            raise


def _stop_call(client, container_id, action, timeout):
    """POST /containers/{id}/stop or /restart, waiting the stop timeout (the engine's 10 s by default) and more."""
    params = {"t": timeout} if timeout is not None else None
    wait = (timeout if timeout is not None else 10) + client.timeout
    _call(client.post, object_path("container", container_id, "/" + action), params=params, timeout=wait)


def stop(client, container_id, timeout=None, gone_ok=False):
    """Stop a container; with ``gone_ok``, one that is gone (or being removed) counts as stopped."""
    try:
        _stop_call(client, container_id, "stop", timeout)
    except Gone:
        if not gone_ok:
            raise


def halt(client, container_id, timeout=None, force_kill=False, kill_signal=None, gone_ok=False):
    """Stop a container; with ``force_kill``, send ``kill_signal`` (SIGKILL by default) and wait until it no longer
    runs, at most the stop timeout (the engine's 10 s by default)."""
    if not force_kill:
        return stop(client, container_id, timeout, gone_ok=gone_ok)
    kill(client, container_id, kill_signal)
    wait = (timeout if timeout is not None else 10) + client.timeout
    try:
        _call(client.post, object_path("container", container_id, "/wait"), params={"condition": "not-running"},
              timeout=wait)
    except Gone:
        if not gone_ok:
            raise
    return None


def pause(client, container_id):
    _call(client.post, object_path("container", container_id, "/pause"))


def unpause(client, container_id):
    _call(client.post, object_path("container", container_id, "/unpause"))


def restart(client, container_id, timeout=None):
    _stop_call(client, container_id, "restart", timeout)


def remove(client, container_id, volumes=False, wait=REMOVAL_WAIT_SECONDS):
    """Remove a container (forced). One that is gone is fine; one whose removal is in progress is waited for,
    at most ``wait`` seconds."""
    try:
        client.delete(object_path("container", container_id), params={"force": True, "v": volumes})
    except EngineError as exc:
        if exc.kind == "http" and exc.status == 404:
            return
        if not is_gone(exc):
            raise
        deadline = time.monotonic() + wait
        while client.inspect("container", container_id) is not None:
            if time.monotonic() >= deadline:
                raise
            time.sleep(POLL_SECONDS / 5)


def rename(client, container_id, new_name):
    _call(client.post, object_path("container", container_id, "/rename"), params={"name": new_name})


def update(client, container_id, body):
    answer = _call(client.post, object_path("container", container_id, "/update"), body=body)
    return engine_warnings(answer)


def engine_warnings(answer):
    """The engine's warnings in a create or update answer (a setting it discarded), worded as community.docker
    words them, since playbooks look for them in the result's warnings."""
    return ["Docker warning: %s" % said for said in (answer or {}).get("Warnings") or [] if said]


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


def wait_healthy(client, container_id, timeout, through_unhealthy=False):
    """Wait until the container is healthy; returns (ok, inspect). Not ok when it exits or turns unhealthy (with
    ``through_unhealthy``, only when the time is up: it may recover). A ``timeout`` of None has no bound."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        container = client.inspect("container", container_id)
        if container is None or not is_running(container):
            return False, container
        status = get_path(container, "State.Health.Status")
        if status == "healthy" or not has_healthcheck(container):
            return True, container
        if (status == "unhealthy" and not through_unhealthy) or (deadline is not None and time.monotonic() >= deadline):
            return False, container
        time.sleep(POLL_SECONDS)


def came_up(client, container_id, health_timeout, auto_remove=False):
    """After a start: (ok, inspect). Running, and healthy within ``health_timeout`` if it has a healthcheck.

    A container with ``auto_remove`` that is already gone ran and removed itself: (True, None).
    """
    container = client.inspect("container", container_id)
    if container is None:
        return auto_remove, None
    if not is_running(container):
        exited_ok = get_path(container, "State.ExitCode") == 0 and not get_path(container, "State.Error")
        return exited_ok, container
    if has_healthcheck(container) and (health_timeout is None or health_timeout > 0):
        return wait_healthy(client, container_id, health_wait(container, health_timeout))
    return True, container


# The engine's healthcheck defaults (a 0 in the inspect): 30 s between checks, 30 s for one check.
HEALTH_DEFAULTS_NS = {"Interval": 30 * 10 ** 9, "Timeout": 30 * 10 ** 9, "StartPeriod": 0}


def health_wait(container, health_timeout):
    """How long a started container has to become healthy: ``health_timeout``, but at least until its first
    check that counts has run (start period, interval and one check's timeout, and a second to read it): a
    container whose image checks every minute is not rolled back before it was checked at all."""
    if health_timeout is None or not has_healthcheck(container or {}):
        return health_timeout
    config = get_path(container, "Config.Healthcheck") or {}
    first_check = sum(config.get(key) or default for key, default in HEALTH_DEFAULTS_NS.items()) / 10.0 ** 9
    return max(health_timeout, first_check + 1)


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
        why = "it was not healthy within health_timeout (%ds)" % health_timeout if health_timeout is not None \
            else "it was not healthy"
    else:
        why = "it did not come up"
    text = "the new container %s did not come up: %s" % (name, why)
    if state.get("health_log"):
        text += "; last health check output: %s" % state["health_log"][-1][:300]
    if details.get("logs"):
        text += "; last log lines:\n%s" % details["logs"][-2000:]
    return text


# --------------------------------------------------------------------------
# Host ports: checked before the old container is touched
# --------------------------------------------------------------------------

def wanted_host_ports(port_bindings):
    """{(host port, protocol, host IP)} that PortBindings publish on fixed host ports."""
    found = set()
    for port, entries in (port_bindings or {}).items():
        protocol = port.partition("/")[2] or "tcp"
        for entry in entries or []:
            host_port = str((entry or {}).get("HostPort") or "")
            if host_port and host_port != "0" and "-" not in host_port:  # a range: the engine picks a free port
                found.add((int(host_port), protocol, (entry or {}).get("HostIp") or ""))
    return found


def _any_address(ip):
    return ip in ("", "0.0.0.0", "::")


def _addresses_overlap(one, other):
    return _any_address(one) or _any_address(other) or one == other


def port_holders(wanted, listing, own_ids):
    """[(host port, protocol, holder's name)]: the wanted host ports another running container publishes.

    ``listing`` is GET /containers/json (the running containers); ``own_ids``
    are the containers whose ports do not count (the old one frees its own).
    """
    held = set()
    for container in listing or []:
        if container.get("Id") in own_ids:
            continue
        name = ((container.get("Names") or ["?"])[0]).lstrip("/")
        for port in container.get("Ports") or []:
            public = port.get("PublicPort")
            if not public:
                continue
            for host_port, protocol, ip in wanted:
                if (public == host_port and (port.get("Type") or "tcp") == protocol
                        and _addresses_overlap(ip, port.get("IP") or "")):
                    held.add((host_port, protocol, name))
    return sorted(held)


def bind_free(ip, port, protocol):
    """Whether a socket can bind (ip, port) on this host now: a process outside the engine may hold it."""
    import socket  # noqa: PLC0415 - only a recreate with host ports needs it

    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    try:
        sock = socket.socket(family, kind)
    except OSError:
        return True  # no such address family here: the engine could not bind it either
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT socket is no conflict
        sock.bind((ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        return True
    except OSError as exc:  # only a port in use is taken; an address this host lacks is the engine's to judge
        return exc.errno != errno.EADDRINUSE
    finally:
        sock.close()


def check_host_ports(client, old, body):
    """Raise ContainerFailure when a host port the new container publishes is taken; changes nothing."""
    wanted = wanted_host_ports(get_path(body, "HostConfig.PortBindings"))
    if not wanted or get_path(body, "HostConfig.NetworkMode") == "host":
        return
    holders = port_holders(wanted, client.get("/containers/json"), {old["Id"]})
    problems = ["%d/%s is published by container %s" % holder for holder in holders]
    if not holders and client.endpoint.scheme == "unix":  # the engine runs on this host: try the ports
        own = wanted_host_ports(get_path(old, "HostConfig.PortBindings")) if is_running(old) else set()
        own_ports = {(port, protocol) for port, protocol, _ip in own}
        for port, protocol, ip in sorted(wanted):
            if (port, protocol) not in own_ports and not bind_free(ip, port, protocol):
                problems.append("%d/%s%s is in use on the host by a process outside the engine"
                                % (port, protocol, " on %s" % ip if ip else ""))
    if problems:
        raise ContainerFailure("published_ports: the new container cannot publish its ports: %s. Nothing was "
                               "changed: the old container %s was not touched. Free the port or choose another "
                               "host port." % ("; ".join(problems), old["Id"][:12]), actions=[])


# --------------------------------------------------------------------------
# The safe recreate
# --------------------------------------------------------------------------

def safe_recreate(client, old, name, body, networks, stop_timeout, start_new, health_timeout, force_kill=False,
                  kill_signal=None, warnings=None, only_networks=None):
    """Replace ``old`` by a container made from ``body``; the old one comes back if the new one fails.

    Returns the new container's inspect (None when it ran with auto_remove and
    is gone already). Raises ContainerFailure (with the new container's state
    and log tail, and ``actions``: what was done) after rolling back. The old
    container may disappear on its own meanwhile (auto_remove): that is no
    failure, there is just nothing to roll back to.
    """
    body = dict(body)
    carried = carry_over_binds(old, body)
    if carried:
        host_config = dict(body.get("HostConfig") or {})
        host_config["Binds"] = list(host_config.get("Binds") or []) + carried
        body["HostConfig"] = host_config
    if start_new:
        check_host_ports(client, old, body)
    leftover = find(client, name + NEW_SUFFIX)
    if leftover is not None:
        remove(client, leftover["Id"], volumes=True)
    new = create(client, name + NEW_SUFFIX, body, networks, warnings=warnings, only_networks=only_networks)
    auto_remove = bool(get_path(body, "HostConfig.AutoRemove"))
    was_running = is_running(old)
    steps = []
    current = None
    try:
        if was_running:
            _on_old(steps, "stopped old", halt, client, old["Id"], stop_timeout, force_kill, kill_signal)
        if start_new:
            start(client, new["Id"])  # at once: the gap is the old one's stop and this start
            steps.append("started new")
        _on_old(steps, "renamed old", rename, client, old["Id"], name + OLD_SUFFIX)
        rename(client, new["Id"], name)
        steps.append("renamed new")
        if start_new:
            ok, current = came_up(client, new["Id"], health_timeout, auto_remove=auto_remove)
            if not ok:
                details = failure_details(client, current)
                raise ContainerFailure(describe_not_up(name, details, health_wait(current, health_timeout)),
                                       new_container=details)
    except Gone:
        if not auto_remove:  # someone else removed the new container: the old one comes back
            _rolled_back(client, old, new, name, steps, was_running,
                         ContainerFailure("the new container %s was removed by someone else while it was being "
                                          "started" % name))
        current = None  # it ran and removed itself (auto_remove): the old one goes as planned
    except (ContainerFailure, EngineError) as exc:
        _rolled_back(client, old, new, name, steps, was_running, exc)
    if "old gone" not in steps:
        remove(client, old["Id"], volumes=False)
    if start_new:
        return current
    return client.inspect("container", new["Id"])


def _on_old(steps, step, action, *args):
    """A step on the old container; one that removed itself meanwhile is just gone."""
    if "old gone" in steps:
        return
    try:
        action(*args)
        steps.append(step)
    except Gone:
        steps.append("old gone")


def _rolled_back(client, old, new, name, steps, was_running, exc):
    """Roll back, then raise the failure in words (or, when the rollback cannot finish, where things are)."""
    try:
        rollback(client, old, new, name, steps, was_running)
    except EngineError as lost:
        where = where_things_are(name, steps)
        raise ContainerFailure(
            "the engine stopped answering while recreating container %s (%s) and the rollback could not "
            "finish (%s). %s Run the task again once the engine answers: it gives a container left as %s%s its "
            "name back and removes %s%s." % (name, exc, lost, where, name, OLD_SUFFIX, name, NEW_SUFFIX),
            engine_error=lost.to_dict(), actions=[]) from None
    back = "old gone" not in steps
    if back:
        restored = "Rolled back: the old container %s is back under its name%s." % (
            old["Id"][:12], " and running" if was_running else "")
    else:
        restored = ("The old container %s removed itself meanwhile (auto_remove), so there is none to go back "
                    "to; the new one was removed." % old["Id"][:12])
    actions = ["rolled_back"] if back else []
    if isinstance(exc, ContainerFailure):
        details = dict(exc.details, rolled_back=back, actions=actions)
        raise ContainerFailure("%s. %s" % (exc, restored), **details) from None
    details = {"engine_error": exc.to_dict(), "rolled_back": back, "actions": actions}
    if exc.kind == "http":
        details["new_container"] = failure_details(client, client.inspect("container", new["Id"]))
    said = exc.daemon_message or str(exc)
    option = blame(said) if exc.kind == "http" else None
    raise ContainerFailure("cannot recreate container %s%s: %s. %s" % (
        name, " (check %s)" % option if option else "", said, restored), **details) from None


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
    """Undo a recreate, the old container running again first: kill the new one, start the old one at once,
    then remove the new one and give the old one its name back."""
    old_there = "old gone" not in steps
    if "started new" in steps:
        kill(client, new["Id"])
    if was_running and old_there:
        try:
            start(client, old["Id"])
        except Gone:
            old_there = False
            steps.append("old gone")
    remove(client, new["Id"], volumes=True)
    if "renamed old" in steps and old_there:
        try:
            rename(client, old["Id"], name)
        except Gone:
            steps.append("old gone")


def recover_leftovers(client, name):
    """After an interrupted recreate: the old container is given its name back. Returns a warning or None."""
    aside = find(client, name + OLD_SUFFIX)
    if aside is None:
        return None
    current = find(client, name)
    if current is None:
        try:
            rename(client, aside["Id"], name)
        except Gone:
            return None
        return ("found container %s%s from an interrupted recreate and gave it its name back"
                % (name, OLD_SUFFIX))
    return ("container %s%s from an interrupted recreate is still there; remove it when it is no longer needed"
            % (name, OLD_SUFFIX))


def wait_exit(client, container_id, timeout):
    """With detach false: wait for the container to exit; returns (exit code, output)."""
    answer = _call(client.post, object_path("container", container_id, "/wait"), timeout=timeout)
    code = (answer or {}).get("StatusCode")
    return code, logs_tail(client, container_id, lines="all")
