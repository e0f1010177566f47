"""The container option table and the plan: pure functions, no daemon."""

import os
import sys

import pytest
from paths import TESTS_DIR

from ansible_collections.dockhand.runtime.plugins.module_utils.container import options as co
from ansible_collections.dockhand.runtime.plugins.module_utils.container.state import carry_over_binds, plan
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import CHANGED_MASK, MASK

TOOLS = os.path.join(TESTS_DIR, "tools")


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


def test_view_masks_secrets_by_the_collection_rule_and_marks_a_changed_one():
    wanted = co.parse_options({"env": {"DB_PASS": "s3cret", "api_token": "t", "AWS_CREDENTIALS": "c", "MODE": "x"}})
    before, after = co.view(["env"], wanted, running(Config__Env=["DB_PASS=old", "AWS_CREDENTIALS=c", "MODE=x"]),
                            {"Env": ["PATH=/bin"]})
    assert after["env"] == {"DB_PASS": CHANGED_MASK, "api_token": CHANGED_MASK, "AWS_CREDENTIALS": MASK,
                            "MODE": "x", "PATH": "/bin"}
    assert before["env"] == {"DB_PASS": MASK, "AWS_CREDENTIALS": MASK, "MODE": "x"}


def test_view_builds_after_from_the_image():
    wanted = co.parse_options({"labels": {"team": "a"}, "env": {"A": "1"}})
    image = {"Env": ["PATH=/usr/bin"], "Labels": {"org.opencontainers.image.version": "2"}}
    _before, after = co.view(["labels", "env"], wanted, None, image)
    assert after == {"labels": {"team": "a", "org.opencontainers.image.version": "2"},
                     "env": {"PATH": "/usr/bin", "A": "1"}}


MIB = 1 << 20


def limits(**host):
    return running(**{"HostConfig__" + key: value for key, value in host.items()})


@pytest.mark.parametrize("host, task, expected", [
    # memory: unset -> set sends the swap limit too (a container without a limit holds MemorySwap 0: HTTP 409)
    ({}, {"memory": "96m"}, {"Memory": 96 * MIB, "MemorySwap": 192 * MIB}),
    ({"Memory": 64 * MIB, "MemorySwap": 128 * MIB}, {"memory": "96m"}, {"Memory": 96 * MIB, "MemorySwap": 192 * MIB}),
    ({"Memory": 64 * MIB, "MemorySwap": -1}, {"memory": "96m"}, {"Memory": 96 * MIB, "MemorySwap": -1}),
    ({"Memory": 64 * MIB, "MemorySwap": 512 * MIB}, {"memory": "96m"}, {"Memory": 96 * MIB, "MemorySwap": 512 * MIB}),
    ({"Memory": 64 * MIB, "MemorySwap": 80 * MIB}, {"memory": "96m"}, {"Memory": 96 * MIB, "MemorySwap": 192 * MIB}),
    ({}, {"memory": "96m", "memory_swap": -1}, {"Memory": 96 * MIB, "MemorySwap": -1}),
    ({"Memory": 64 * MIB, "MemorySwap": -1}, {"memory": "64m", "memory_swap": 0}, {"MemorySwap": 128 * MIB}),
    ({"Memory": 64 * MIB, "MemorySwap": 128 * MIB}, {"memory": "64m", "memory_swap": "1g"}, {"MemorySwap": 1024 * MIB}),
    ({}, {"memory_reservation": "32m"}, {"MemoryReservation": 32 * MIB}),
    ({}, {"cpus": 0.5}, {"NanoCpus": 500000000}),
    ({"CpusetCpus": "0"}, {"cpuset_cpus": "0-1"}, {"CpusetCpus": "0-1"}),
    ({"PidsLimit": 100}, {"pids_limit": -1}, {"PidsLimit": -1}),
    ({"RestartPolicy": {"Name": "always"}}, {"restart_policy": "no"}, {"RestartPolicy": {"Name": "no",
                                                                                         "MaximumRetryCount": 0}}),
])
def test_update_body_for_each_transition(host, task, expected):
    container = limits(**host)
    wanted = co.parse_options(task)
    names = co.differences(wanted, container, {})
    assert names, "the task differs from the container"
    assert co.update_body(names, wanted, container) == expected


@pytest.mark.parametrize("host, task, blamed", [
    ({"Memory": 64 * MIB, "MemorySwap": 128 * MIB}, {"memory": "0"}, "memory"),
    ({"MemoryReservation": 32 * MIB}, {"memory_reservation": 0}, "memory_reservation"),
    ({"NanoCpus": 500000000}, {"cpus": 0}, "cpus"),
    ({"CpuShares": 512}, {"cpu_shares": 0}, "cpu_shares"),
    ({"CpusetCpus": "0"}, {"cpuset_cpus": ""}, "cpuset_cpus"),
    ({"AutoRemove": True}, {"restart_policy": "always"}, "restart_policy"),
])
def test_removing_a_limit_recreates(host, task, blamed):
    container = limits(**host)
    wanted = co.parse_options(task)
    names = co.differences(wanted, container, {})
    with pytest.raises(co.NotInPlace) as caught:
        co.update_body(names, wanted, container)
    assert caught.value.option == blamed
    decided = plan("started", container, wanted, None, {})
    assert decided.actions == ["recreated", "started"] and blamed in decided.why


@pytest.mark.parametrize("host, task", [
    ({"Memory": 0, "MemorySwap": 0}, {"memory": "0"}),
    ({"Memory": 0, "MemorySwap": -1}, {"memory": 0, "memory_swap": -1}),
    ({"Memory": 64 * MIB, "MemorySwap": 128 * MIB}, {"memory": "64m", "memory_swap": 0}),
    ({"Memory": 64 * MIB, "MemorySwap": -1}, {"memory": "64m", "memory_swap": "-1"}),
    ({"PidsLimit": None}, {"pids_limit": -1}),
    ({"PidsLimit": 0}, {"pids_limit": 0}),
    ({"NanoCpus": 0}, {"cpus": "0"}),
    ({"CpusetCpus": ""}, {"cpuset_cpus": ""}),
])
def test_no_limit_values_settle(host, task):
    assert co.differences(co.parse_options(task), limits(**host), {}) == []


def test_memory_swap_and_auto_remove_combinations():
    with pytest.raises(co.OptionError, match="memory_swap"):
        co.parse_options({"memory_swap": "1g"})
    assert co.parse_options({"memory_swap": -1}) == {"memory_swap": -1}
    with pytest.raises(co.OptionError, match="restart_policy"):
        co.parse_options({"auto_remove": True, "restart_policy": "always"})


def test_image_change_is_reported_and_image_labels_are_not():
    container = running(Config__Labels={"version": "1", "team": "a"})
    wanted = co.parse_options({"labels": {"team": "a"}})
    decided = plan("started", container, wanted, "sha256:new", {"Labels": {"version": "2"}},
                   old_image_config={"Labels": {"version": "1"}})
    assert decided.differences == ["image"] and decided.actions == ["recreated", "started"]
    decided = plan("started", container, co.parse_options({"labels": {"team": "b"}}), "sha256:new",
                   {"Labels": {"version": "2"}}, old_image_config={"Labels": {"version": "1"}})
    assert decided.differences == ["image", "labels"]


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


@pytest.mark.parametrize("bad", ["web\n", "web\nx", "\nweb"])
def test_a_container_name_with_a_newline_is_refused(bad):
    with pytest.raises(co.OptionError):
        co.parse_name(bad)
