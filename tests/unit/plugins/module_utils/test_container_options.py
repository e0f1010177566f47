"""The container option table and the plan: pure functions, no daemon."""

import os
import sys

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils import container_options as co
from ansible_collections.dockhand.runtime.plugins.module_utils.container_state import carry_over_binds, plan

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools")


def running(**extra):
    container = {"Id": "c" * 64, "Image": "sha256:img", "State": {"Running": True}, "Config": {}, "HostConfig": {}}
    for path, value in extra.items():
        co.set_path(container, path.replace("__", "."), value)
    return container


def test_argument_spec_has_every_option_and_control():
    spec = co.argument_spec()
    assert set(co.OPTIONS_BY_NAME) <= set(spec)
    assert spec["published_ports"]["aliases"] == ["ports"]
    assert spec["state"]["default"] == "started"


def test_module_documentation_matches_the_table():
    sys.path.insert(0, os.path.abspath(TOOLS))
    import container_doc  # noqa: PLC0415 - a script next to the tests, found by path

    assert container_doc.main(["--check"]) == 0, "run make container-doc"


@pytest.mark.parametrize("spec, expected", [
    ("80", {"80/tcp": [{"HostIp": "", "HostPort": ""}]}),
    ("8080:80", {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}),
    ("127.0.0.1:8080:80/udp", {"80/udp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}),
    ("0.0.0.0::53", {"53/tcp": [{"HostIp": "", "HostPort": ""}]}),
    ("[::1]:8080:80", {"80/tcp": [{"HostIp": "::1", "HostPort": "8080"}]}),
    ("8000-8001:80-81", {"80/tcp": [{"HostIp": "", "HostPort": "8000"}],
                         "81/tcp": [{"HostIp": "", "HostPort": "8001"}]}),
])
def test_published_ports(spec, expected):
    assert co.parse_published_ports([spec]) == expected


@pytest.mark.parametrize("spec", ["80:99999", "abc", "1:2:3:4", "8000-8002:80-81", "80/icmp", "300.1.1.1:80:80"])
def test_bad_published_ports(spec):
    with pytest.raises(co.OptionError):
        co.parse_published_ports([spec])


def test_volumes_split_binds_and_anonymous():
    parsed = co.parse_volumes(["/srv:/data:ro", "cache:/cache", "/anon", "/x:/y:rw"])
    assert parsed == {"binds": ["/srv:/data:ro", "/x:/y", "cache:/cache"], "anonymous": ["/anon"]}


@pytest.mark.parametrize("spec", ["rel:/data:xx", "./rel:/data", "/a:rel", "a:b:c:d", "anon"])
def test_bad_volumes(spec):
    with pytest.raises(co.OptionError):
        co.parse_volumes([spec])


def test_parse_options_names_the_option():
    with pytest.raises(co.OptionError, match="^memory: '12xb'"):
        co.parse_options({"memory": "12xb"})
    with pytest.raises(co.OptionError, match="^network_mode"):
        co.parse_options({"network_mode": "host", "networks": ["app"]})
    with pytest.raises(co.OptionError, match="^env: .*quote"):
        co.parse_options({"env": {"DEBUG": True}})


def test_env_compares_against_image_env():
    image = {"Env": ["PATH=/bin", "LANG=C"]}
    wanted = co.parse_options({"env": {"A": "1"}})
    same = running(Config__Env=["PATH=/bin", "LANG=C", "A=1"])
    assert co.differences(wanted, same, image) == []
    extra = running(Config__Env=["PATH=/bin", "LANG=C", "A=1", "OLD=x"])
    assert co.differences(wanted, extra, image) == ["env"]
    overridden = co.parse_options({"env": {"LANG": "en_US.UTF-8"}})
    assert co.differences(overridden, running(Config__Env=["PATH=/bin", "LANG=en_US.UTF-8"]), image) == []


def test_labels_image_labels_never_drift():
    image = {"Labels": {"maintainer": "x"}}
    wanted = co.parse_options({"labels": {"team": "a"}})
    assert co.differences(wanted, running(Config__Labels={"maintainer": "x", "team": "a"}), image) == []
    assert co.differences(wanted, running(Config__Labels={"team": "a"}), image) == ["labels"]


def test_empty_command_means_the_image_command():
    image = {"Cmd": ["nginx", "-g", "daemon off;"]}
    wanted = co.parse_options({"command": []})
    assert co.differences(wanted, running(Config__Cmd=["nginx", "-g", "daemon off;"]), image) == []
    assert co.differences(co.parse_options({"command": "sleep 1"}), running(Config__Cmd=["sleep", "1"]), image) == []


def test_network_mode_default_is_bridge():
    wanted = co.parse_options({"network_mode": "bridge"})
    assert co.differences(wanted, running(HostConfig__NetworkMode="default"), {}) == []


def test_update_body_restart_policy_and_memory_swap():
    container = running(HostConfig__RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 3},
                        HostConfig__Memory=64 << 20, HostConfig__MemorySwap=128 << 20)
    wanted = co.parse_options({"restart_policy": "always", "memory": "256m"})
    body = co.update_body(["restart_policy", "memory"], wanted, container)
    assert body == {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}, "Memory": 256 << 20,
                    "MemorySwap": 512 << 20}


def test_view_masks_secrets():
    wanted = co.parse_options({"env": {"DB_PASSWORD": "s3cret", "api_token": "t", "MODE": "x"}})
    before, after = co.view(["env"], wanted, running(Config__Env=["DB_PASSWORD=old", "MODE=x"]), {})
    assert after["env"] == {"DB_PASSWORD": co.MASK, "api_token": co.MASK, "MODE": "x"}
    assert before["env"]["DB_PASSWORD"] == co.MASK


@pytest.mark.parametrize("state, container, wanted, image_id, expected", [
    ("started", None, {}, "sha256:img", ["created", "started"]),
    ("present", None, {}, "sha256:img", ["created"]),
    ("started", running(), {}, "sha256:img", []),
    ("started", running(), {}, "sha256:new", ["recreated", "started"]),
    ("started", running(), {"memory": 1 << 20}, "sha256:img", ["updated"]),
    ("started", running(), {"hostname": "x"}, "sha256:img", ["recreated", "started"]),
    ("stopped", running(), {}, None, ["stopped"]),
    ("started", {"Id": "x", "Image": "i", "State": {"Running": False}}, {}, None, ["started"]),
    ("absent", running(), {}, None, ["removed"]),
    ("absent", None, {}, None, []),
])
def test_plan(state, container, wanted, image_id, expected):
    assert plan(state, container, wanted, image_id, {}).actions == expected


def test_plan_restart_and_forced_recreate():
    assert plan("started", running(), {}, None, {}, restart=True).actions == ["restarted"]
    assert plan("present", running(), {}, None, {}, recreate=True).actions == ["recreated", "started"]


def test_carry_over_anonymous_volumes():
    old = {"Mounts": [{"Type": "volume", "Name": "a" * 64, "Destination": "/data"},
                      {"Type": "volume", "Name": "named", "Destination": "/named"},
                      {"Type": "volume", "Name": "b" * 64, "Destination": "/taken"}]}
    body = {"HostConfig": {"Binds": ["/srv:/taken"]}}
    assert carry_over_binds(old, body) == ["%s:/data" % ("a" * 64)]
