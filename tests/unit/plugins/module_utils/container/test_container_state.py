"""What the container module returns of a container (community.docker's inspect, secrets masked), and its plan."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    endpoint_of,
    expected_network_names,
    network_steps,
    parse_options,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container.state import plan, summary

INSPECT = {
    "Id": "c" * 64, "Name": "/web", "Image": "sha256:" + "a" * 64, "RestartCount": 0,
    "State": {"Status": "running", "Running": True, "ExitCode": 0, "Health": {"Status": "healthy"}},
    "Config": {"Image": "nginx:1.27", "Env": ["PATH=/usr/bin", "DB_PASSWORD=s3cret", "URL=http://u:pw99@db/x"],
               "Labels": {"team": "web", "api_token": "t0ken"}},
    "HostConfig": {"Memory": 268435456, "LogConfig": {"Type": "splunk", "Config": {
        "splunk-token": "spl-t0ken", "splunk-url": "https://u:pw77@splunk.lan", "tag": "web"}}},
}


def test_the_inspect_comes_back_as_community_docker_returns_it_with_the_short_keys_beside():
    shown = summary(INSPECT)
    assert shown["State"]["Running"] is True and shown["HostConfig"]["Memory"] == 268435456
    assert shown["Config"]["Image"] == "nginx:1.27" and shown["Id"] == "c" * 64
    assert (shown["id"], shown["name"], shown["running"], shown["health"]) == ("c" * 64, "web", True, "healthy")


def test_secrets_in_env_labels_and_urls_are_masked_and_the_inspect_is_not_touched():
    shown = summary(INSPECT)
    assert shown["Config"]["Env"] == ["PATH=/usr/bin", "DB_PASSWORD=********", "URL=http://u:********@db/x"]
    assert shown["Config"]["Labels"] == {"team": "web", "api_token": "********"}
    assert shown["HostConfig"]["LogConfig"]["Config"] == {
        "splunk-token": "********", "splunk-url": "https://u:********@splunk.lan", "tag": "web"}
    assert "s3cret" in INSPECT["Config"]["Env"][1]  # a copy was masked
    assert summary(None) is None


def running(paused=False):
    return {"Id": "c" * 64, "Image": "sha256:i", "State": {"Running": True, "Paused": paused}, "Config": {},
            "HostConfig": {}}


def test_paused_pauses_or_resumes_a_started_container_and_unset_leaves_it():
    assert plan("started", running(), {}, "sha256:i", {}, paused=True).actions == ["paused"]
    assert plan("started", running(True), {}, "sha256:i", {}, paused=True).actions == []
    assert plan("started", running(True), {}, "sha256:i", {}, paused=False).actions == ["unpaused"]
    assert plan("started", running(True), {}, "sha256:i", {}).actions == []
    assert plan("started", None, {}, "sha256:i", {}, paused=True).actions == ["created", "started", "paused"]
    recreated = plan("started", running(True), {}, "sha256:new", {}, paused=True)
    assert recreated.actions == ["recreated", "started", "paused"]  # the new container starts unpaused
    assert plan("stopped", running(), {}, "sha256:i", {}, paused=True).actions == ["stopped"]


def on_networks(**networks):
    """An inspect of a running container on ``networks`` ({name: endpoint settings})."""
    return {"Id": "c1", "Image": "sha256:a", "State": {"Running": True}, "HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"Networks": networks}}


def test_a_network_change_is_an_update_in_place_only_when_asked():
    """The container module connects and disconnects (community.docker's way); compose recreates."""
    container = on_networks(bridge={})
    wanted = parse_options({"networks": ["front"]})
    assert plan("started", container, wanted, "sha256:a", {}, networks_in_place=True).actions == ["updated"]
    assert plan("started", container, wanted, "sha256:a", {}).actions == ["recreated", "started"]
    with_mode = parse_options({"networks": ["front"], "network_mode": "front"})  # a new network mode recreates
    assert plan("started", container, with_mode, "sha256:a", {}, networks_in_place=True).mode == "recreate"


def test_present_leaves_a_recreated_container_created_as_community_docker_does():
    container = on_networks(bridge={})
    assert plan("present", container, {}, "sha256:a", {}, recreate=True).actions == ["recreated"]
    assert plan("started", container, {}, "sha256:a", {}, recreate=True).actions == ["recreated", "started"]


@pytest.mark.parametrize("current,networks,strict,steps", [
    ({"bridge": {}}, ["front"], False, [("connect", "front", {})]),
    ({"bridge": {}}, ["front"], True, [("connect", "front", {}), ("disconnect", "bridge", None)]),
    ({"front": {"Aliases": ["web"]}}, [{"name": "front", "aliases": ["web"]}], True, []),
    ({"front": {"Aliases": ["web"]}}, [{"name": "front", "aliases": ["api"]}], False,
     [("disconnect", "front", None), ("connect", "front", {"Aliases": ["api"]})]),
    ({"front": {"IPAMConfig": {"IPv4Address": "10.0.0.2"}}}, [{"name": "front", "ipv4_address": "10.0.0.3"}], False,
     [("disconnect", "front", None), ("connect", "front", {"IPAMConfig": {"IPv4Address": "10.0.0.3"}})]),
    ({"bridge": {}, "front": {}}, [], True, [("disconnect", "bridge", None), ("disconnect", "front", None)]),
    ({"bridge": {}, "front": {}}, [], False, []),
])
def test_network_steps_connect_what_is_missing_and_disconnect_only_when_strict(current, networks, strict, steps):
    wanted = parse_options({"networks": networks})
    only = expected_network_names(wanted["networks"], wanted) if strict else None  # what the plan holds
    assert network_steps(wanted["networks"], on_networks(**current), only) == steps


def test_a_disconnect_is_undone_with_the_endpoint_the_container_had():
    container = on_networks(front={"Aliases": ["web", "c1"], "Links": None, "IPAMConfig": {"IPv4Address": "10.0.0.2"},
                                   "NetworkID": "n1", "IPAddress": "10.0.0.2"})
    assert endpoint_of(container, "front") == {"Aliases": ["web", "c1"], "IPAMConfig": {"IPv4Address": "10.0.0.2"}}
    assert endpoint_of(container, "back") == {}
