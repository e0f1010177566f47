"""The pure parts of the container module's edges: blame, gone, host ports, words for failures."""

import socket

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container import engine as ce
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError


def http_error(status, said):
    return EngineError("the daemon said no", status=status, daemon_message=said, kind="http")


@pytest.mark.parametrize("said, option", [
    ("unknown log opt 'no-such-option' for json-file log driver", "log_options"),
    ("invalid restart policy 'sometimes'", "restart_policy"),
    ("Minimum memory limit allowed is 6MB", "memory"),
    ("invalid mount config for type \"bind\": bind source path does not exist", "mounts"),
    ("Bind for 127.0.0.1:8080 failed: port is already allocated", "volumes"),
    ("something nobody expected", None),
    ("", None),
])
def test_blame_names_the_option(said, option):
    assert ce.blame(said) == option


@pytest.mark.parametrize("error, gone", [
    (http_error(404, "No such container: x"), True),
    (http_error(409, "removal of container x is already in progress"), True),
    (http_error(409, "Container x is marked for removal and cannot be started"), True),
    (http_error(409, "Conflict. The container name is already in use"), False),
    (http_error(500, "removal failed"), False),
    (EngineError("timed out", kind="timeout"), False),
])
def test_is_gone(error, gone):
    assert ce.is_gone(error) is gone


def test_wanted_host_ports_skips_random_ports():
    bindings = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}, {"HostIp": "", "HostPort": ""}],
                "53/udp": [{"HostIp": "", "HostPort": "5353"}], "81/tcp": None}
    assert ce.wanted_host_ports(bindings) == {(8080, "tcp", "127.0.0.1"), (5353, "udp", "")}
    assert ce.wanted_host_ports(None) == set()


LISTING = [
    {"Id": "old", "Names": ["/app"], "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 9090,
                                                "Type": "tcp"}]},
    {"Id": "other", "Names": ["/web"], "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080,
                                                  "Type": "tcp"},
                                                 {"PrivatePort": 443, "Type": "tcp"}]},
    {"Id": "dns", "Names": ["/dns"], "Ports": [{"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": 53,
                                                "Type": "udp"}]},
]


@pytest.mark.parametrize("wanted, holders", [
    ({(8080, "tcp", "")}, [(8080, "tcp", "web")]),            # any address overlaps 127.0.0.1
    ({(8080, "tcp", "127.0.0.1")}, [(8080, "tcp", "web")]),
    ({(8080, "tcp", "127.0.0.2")}, []),                       # another address is free
    ({(8080, "udp", "")}, []),                                # another protocol is free
    ({(9090, "tcp", "")}, []),                                # the old container frees its own port
    ({(53, "udp", "10.0.0.1"), (8080, "tcp", "")}, [(53, "udp", "dns"), (8080, "tcp", "web")]),
])
def test_port_holders(wanted, holders):
    assert ce.port_holders(wanted, LISTING, {"old"}) == holders


def test_bind_free_sees_a_listening_socket():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        assert ce.bind_free("127.0.0.1", port, "tcp") is False
    finally:
        listener.close()
    assert ce.bind_free("127.0.0.1", port, "tcp") is True


@pytest.mark.parametrize("steps, words", [
    ([], "was not touched"),
    (["stopped old"], "was stopped"),
    (["stopped old", "started new", "renamed old"], "app__dockhand_old, stopped; the new one is app__dockhand_new"),
    (["stopped old", "started new", "renamed old", "renamed new"], "The new container has the name app"),
])
def test_where_things_are(steps, words):
    assert words in ce.where_things_are("app", steps)


@pytest.mark.parametrize("state, words", [
    ({"status": "exited", "exit_code": 3, "error": None}, "it exited with code 3"),
    ({"status": "exited", "exit_code": 127, "error": "exec: not found"}, "code 127 (exec: not found)"),
    ({"status": "running", "health": "unhealthy", "health_log": ["curl: refused"]}, "became unhealthy"),
    ({"status": "running", "health": "starting"}, "not healthy within health_timeout (30s)"),
])
def test_describe_not_up(state, words):
    text = ce.describe_not_up("app", {"state": state, "logs": "last words\n"}, 30)
    assert text.startswith("the new container app did not come up: ") and words in text
    assert text.endswith("last words\n")
    if state.get("health_log"):
        assert "last health check output: curl: refused" in text


def test_engine_warnings_are_worded_as_community_docker_words_them():
    said = "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
    assert ce.engine_warnings({"Id": "c", "Warnings": [said, ""]}) == ["Docker warning: " + said]
    assert ce.engine_warnings({"Warnings": None}) == []
    assert ce.engine_warnings(None) == []


@pytest.mark.parametrize("healthcheck,timeout,wait", [
    ({"Test": ["CMD", "true"], "Interval": 62 * 10 ** 9, "Timeout": 3 * 10 ** 9}, 60, 66),  # checked after 62 s
    ({"Test": ["CMD", "true"], "Interval": 10 ** 9, "Timeout": 10 ** 9, "StartPeriod": 100 * 10 ** 9}, 60, 103),
    ({"Test": ["CMD", "true"], "Interval": 10 ** 9, "Timeout": 10 ** 9}, 60, 60),  # the timeout is longer
    ({"Test": ["CMD", "true"]}, 60, 61),  # the engine's defaults: 30 s interval, 30 s timeout
    ({"Test": ["CMD", "true"]}, None, None),  # no bound stays no bound
    ({"Test": ["NONE"], "Interval": 62 * 10 ** 9}, 60, 60),  # the image's check is switched off
    (None, 60, 60),  # no healthcheck
])
def test_a_new_container_is_waited_for_until_its_first_health_check(healthcheck, timeout, wait):
    assert ce.health_wait({"Config": {"Healthcheck": healthcheck}}, timeout) == wait
