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
    ("0.0.0.0::53", {"53/tcp": [{"HostIp": "0.0.0.0", "HostPort": ""}]}),  # IPv4 only, as written
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
    with pytest.raises(co.OptionError, match="^Non-string value found for env option. .*quotes .* Key: DEBUG$"):
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
    # present leaves the new container created, as community.docker does (test_container_state.py)
    assert plan("present", running(), {}, None, {}, recreate=True).actions == ["recreated"]


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


# --- namespaces, resources, devices, runtime and identity (community.docker's names and formats) -------------

@pytest.mark.parametrize("params, expected", [
    ({"pid_mode": "host"}, {"HostConfig": {"PidMode": "host"}}),
    ({"ipc_mode": "container:db"}, {"HostConfig": {"IpcMode": "container:db"}}),
    ({"uts": "host"}, {"HostConfig": {"UTSMode": "host"}}),
    ({"userns_mode": "host"}, {"HostConfig": {"UsernsMode": "host"}}),
    ({"cpu_period": 100000, "cpu_quota": 50000}, {"HostConfig": {"CpuPeriod": 100000, "CpuQuota": 50000}}),
    ({"cpuset_mems": "0-1"}, {"HostConfig": {"CpusetMems": "0-1"}}),
    ({"blkio_weight": 300}, {"HostConfig": {"BlkioWeight": 300}}),
    ({"device_read_bps": [{"path": "/dev/sda", "rate": "20M"}]},
     {"HostConfig": {"BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 20 * 1024 * 1024}]}}),
    ({"device_write_bps": [{"path": "/dev/sda", "rate": 1024}]},
     {"HostConfig": {"BlkioDeviceWriteBps": [{"Path": "/dev/sda", "Rate": 1024}]}}),
    ({"device_read_iops": [{"path": "/dev/sda", "rate": "20"}]},
     {"HostConfig": {"BlkioDeviceReadIOps": [{"Path": "/dev/sda", "Rate": 20}]}}),
    ({"device_write_iops": [{"path": "/dev/sda", "rate": 30}]},
     {"HostConfig": {"BlkioDeviceWriteIOps": [{"Path": "/dev/sda", "Rate": 30}]}}),
    ({"memory_swappiness": 30}, {"HostConfig": {"MemorySwappiness": 30}}),
    ({"oom_killer": True}, {"HostConfig": {"OomKillDisable": True}}),
    ({"oom_score_adj": -500}, {"HostConfig": {"OomScoreAdj": -500}}),
    ({"kernel_memory": "8m"}, {"HostConfig": {"KernelMemory": 8 * 1024 * 1024}}),
    ({"storage_opts": {"size": "10G"}}, {"HostConfig": {"StorageOpt": {"size": "10G"}}}),
    ({"device_requests": [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}]},
     {"HostConfig": {"DeviceRequests": [{"Driver": "nvidia", "Count": -1, "DeviceIDs": [],
                                         "Capabilities": [["gpu"]], "Options": {}}]}}),
    ({"device_cgroup_rules": ["c 42:* rmw"]}, {"HostConfig": {"DeviceCgroupRules": ["c 42:* rmw"]}}),
    ({"runtime": "runc"}, {"HostConfig": {"Runtime": "runc"}}),
    ({"platform": "Linux/x86_64"}, {"platform": "linux/amd64"}),
    ({"platform": "amd64"}, {"platform": "linux/amd64"}),
    ({"platform": "windows"}, {"platform": "windows"}),
    ({"groups": ["5678", "1234", "1234"]}, {"HostConfig": {"GroupAdd": ["1234", "5678"]}}),
    ({"domainname": "example.com"}, {"Domainname": "example.com"}),
    ({"mac_address": "92-D0-C6-0A-29-33"}, {"MacAddress": "92:d0:c6:0a:29:33"}),
    ({"dns_opts": ["timeout:10", "rotate"]}, {"HostConfig": {"DnsOptions": ["rotate", "timeout:10"]}}),
    ({"dns_search_domains": ["example.org", "example.com"]},
     {"HostConfig": {"DnsSearch": ["example.org", "example.com"]}}),
    ({"links": ["db:database", "cache"]}, {"HostConfig": {"Links": ["cache:cache", "db:database"]}}),
    ({"volumes_from": ["data:ro", "other"]}, {"HostConfig": {"VolumesFrom": ["data:ro", "other"]}}),
    ({"volume_driver": "local"}, {"HostConfig": {"VolumeDriver": "local"}}),
    ({"publish_all_ports": True}, {"HostConfig": {"PublishAllPorts": True}}),
    ({"tty": True, "interactive": True}, {"Tty": True, "OpenStdin": True}),
])
def test_new_options_reach_the_create_body(params, expected):
    body = co.create_body(co.parse_options(params), "img")
    body.pop("Image")
    if not body["HostConfig"]:
        body.pop("HostConfig")
    assert body == expected


@pytest.mark.parametrize("params, message", [
    ({"pid_mode": "container:"}, "^pid_mode: .*PID namespace mode"),
    ({"pid_mode": "private"}, "^pid_mode: "),
    ({"pid_mode": "host\n"}, "^pid_mode: "),
    ({"ipc_mode": "shared"}, "^ipc_mode: .*shareable"),
    ({"uts": "private"}, "^uts: "),
    ({"userns_mode": "remap"}, "^userns_mode: "),
    ({"cpu_period": 999}, "^cpu_period: .*1000 to 1000000"),
    ({"cpu_period": 2000000}, "^cpu_period: "),
    ({"cpu_quota": 500}, "^cpu_quota: .*at least 1000"),
    ({"cpu_quota": -2}, "^cpu_quota: "),
    ({"cpuset_mems": "0;1"}, "^cpuset_mems: .*CPU list"),
    ({"blkio_weight": 5}, "^blkio_weight: .*10 to 1000"),
    ({"blkio_weight": 1001}, "^blkio_weight: "),
    ({"blkio_weight": True}, "^blkio_weight: .*whole number"),
    ({"device_read_bps": [{"path": "/dev/sda"}]}, "^device_read_bps: .*no rate"),
    ({"device_read_bps": [{"path": "sda", "rate": "1m"}]}, "^device_read_bps: .*absolute device path"),
    ({"device_read_bps": [{"path": "/dev/sda x", "rate": "1m"}]}, "^device_read_bps: .*without spaces"),
    ({"device_read_bps": [{"path": "/dev/sda", "rate": "1q"}]}, "^device_read_bps: rate of /dev/sda"),
    ({"device_write_bps": [{"path": "/dev/sda", "rate": "0"}]}, "^device_write_bps: .*more than 0"),
    ({"device_read_bps": [{"path": "/dev/sda", "rate": "1m", "weight": 1}]}, "^device_read_bps: unknown key"),
    ({"device_read_bps": ["/dev/sda:1m"]}, "^device_read_bps: each entry is a dict"),
    ({"device_read_bps": [{"path": "/dev/sda", "rate": "1m"}, {"path": "/dev/sda", "rate": "2m"}]},
     "^device_read_bps: a device is listed twice"),
    ({"device_read_iops": [{"path": "/dev/sda", "rate": "1k"}]}, "^device_read_iops: .*whole number"),
    ({"device_write_iops": [{"path": "/dev/sda", "rate": 0}]}, "^device_write_iops: .*above 0"),
    ({"device_write_iops": [{"path": "/dev/sda", "rate": True}]}, "^device_write_iops: "),
    ({"memory_swappiness": 101}, "^memory_swappiness: .*maximum 100"),
    ({"memory_swappiness": -2}, "^memory_swappiness: .*minimum -1"),
    ({"oom_score_adj": 1001}, "^oom_score_adj: "),
    ({"kernel_memory": "1m"}, "^kernel_memory: .*minimum of 4m"),
    ({"kernel_memory": "lots"}, "^kernel_memory: .*not a size"),
    ({"storage_opts": {"size": "10 G"}}, "^storage_opts: .*no spaces"),
    ({"storage_opts": {"si ze": "10G"}}, "^storage_opts: "),
    ({"storage_opts": {"size": True}}, "^storage_opts: .*quote"),
    ({"device_requests": [{"driver": "nvidia", "count": 1, "device_ids": ["0"]}]},
     "^device_requests: count and device_ids exclude each other"),
    ({"device_requests": [{"driver": "nvidia", "capabilities": ["gpu"]}]}, "^device_requests: capabilities is a list"),
    ({"device_requests": [{"driver": "nv idia"}]}, "^device_requests: driver"),
    ({"device_requests": [{"count": -2}]}, "^device_requests: .*minimum -1"),
    ({"device_requests": [{"gpus": 1}]}, "^device_requests: unknown key"),
    ({"device_requests": [{"device_ids": ["0 1"]}]}, "^device_requests: .*device ID"),
    ({"device_cgroup_rules": ["c 42 rmw"]}, "^device_cgroup_rules: .*major:minor"),
    ({"device_cgroup_rules": ["x 1:2 r"]}, "^device_cgroup_rules: "),
    ({"device_cgroup_rules": ["c 1:2 rwx"]}, "^device_cgroup_rules: "),
    ({"runtime": "run c"}, "^runtime: .*runtime name"),
    ({"platform": "linux amd64"}, "^platform: .*os\\[/arch"),
    ({"platform": "linux/amd64/v8/x"}, "^platform: "),
    ({"groups": ["wheel admin"]}, "^groups: .*group name"),
    ({"groups": ["-1"]}, "^groups: "),
    ({"domainname": "exa mple.com"}, "^domainname: .*domain name"),
    ({"domainname": "-bad.com"}, "^domainname: "),
    ({"domainname": "example.com\n"}, "^domainname: "),
    ({"mac_address": "92:d0:c6:0a:29"}, "^mac_address: .*MAC address"),
    ({"mac_address": "92:d0:c6:0a:29:zz"}, "^mac_address: "),
    ({"dns_opts": ["ndots: 2"]}, "^dns_opts: .*resolver option"),
    ({"dns_opts": ["ndots:x"]}, "^dns_opts: "),
    ({"dns_search_domains": ["example .com"]}, "^dns_search_domains: .*search domain"),
    ({"links": ["db:data base"]}, "^links: .*container\\[:alias\\]"),
    ({"links": ["d"]}, "^links: "),
    ({"links": ["a:b:c"]}, "^links: "),
    ({"volumes_from": ["data:rx"]}, "^volumes_from: .*:ro\\|rw"),
    ({"volumes_from": ["da ta"]}, "^volumes_from: "),
    ({"volume_driver": "my driver"}, "^volume_driver: .*volume driver"),
    ({"default_host_ip": "localhost"}, "^default_host_ip: .*not an IP address"),
    ({"default_host_ip": "300.1.1.1"}, "^default_host_ip: "),
    ({"published_ports": ["80"], "default_host_ip": "me"}, "^published_ports: .*not an IP address"),
    ({"uts": "host", "domainname": "example.com"}, "^domainname: .*uts host"),
    ({"uts": "host", "hostname": "web"}, "^hostname: .*uts host"),
    ({"mac_address": "02:42:ac:11:00:02", "network_mode": "host"}, "^mac_address: .*network_mode host"),
    ({"mac_address": "02:42:ac:11:00:02", "network_mode": "container:db"}, "^mac_address: "),
    # the engine refuses NanoCpus beside CpuPeriod or CpuQuota ("Conflicting options")
    ({"cpus": 0.5, "cpu_period": 100000}, "^cpus: .*cpu_period"),
    ({"cpus": "1.5", "cpu_quota": 50000}, "^cpus: .*cpu_quota"),
])
def test_bad_new_option_values_are_refused_naming_the_option(params, message):
    with pytest.raises(co.OptionError, match=message):
        co.parse_options(params)


@pytest.mark.parametrize("params", [{"cpus": 0, "cpu_period": 100000}, {"cpus": 0.5, "cpu_period": 0},
                                    {"cpus": 0.5, "cpu_quota": -1}, {"cpu_period": 100000, "cpu_quota": 50000}])
def test_cpus_goes_with_a_period_or_quota_that_sets_no_limit(params):
    co.parse_options(params)


def test_env_file_is_merged_under_env():
    text = "# comment\n\nA=from-file\nB=two=2\n  C=spaced  \nDB_PASSWORD=s3cret\n"
    wanted = co.parse_options({"env_file": "/etc/app.env", "env": {"A": "from-env"}}, env_file_text=text)
    assert wanted["env"] == {"A": "from-env", "B": "two=2", "C": "spaced", "DB_PASSWORD": "s3cret"}
    assert co.create_body(wanted, "img")["Env"] == ["A=from-env", "B=two=2", "C=spaced", "DB_PASSWORD=s3cret"]
    # env_file adds nothing of its own and never differs; env is compared as usual
    container = running(Config__Env=["A=from-env", "B=two=2", "C=spaced", "DB_PASSWORD=s3cret"])
    assert co.differences(wanted, container, {}) == []
    assert co.differences(wanted, running(Config__Env=["A=from-file"]), {}) == ["env"]


@pytest.mark.parametrize("text, line", [("A=1\nNOEQUALSs3cr3t\n", 2), ("=s3cr3t\n", 1), ("MY KEY=s3cr3t\n", 1),
                                        ("A=1\nB=s3cr3t\x00\n", 2)])
def test_bad_env_file_line_is_named_by_number_not_content(text, line):
    with pytest.raises(co.OptionError, match="^env_file: /f line %d " % line) as caught:
        co.parse_options({"env_file": "/f"}, env_file_text=text)
    assert "s3cr3t" not in str(caught.value)


def test_env_file_secret_values_are_masked_in_the_diff():
    wanted = co.parse_options({"env_file": "/f"}, env_file_text="API_TOKEN=abc\nA=1\n")
    _before, after = co.view(["env"], wanted, None, {})
    assert after["env"]["API_TOKEN"] == MASK and after["env"]["A"] == "1"


def test_default_host_ip_fills_ports_without_an_ip():
    wanted = co.parse_options({"published_ports": ["8080:80", "10.0.0.1:81:81", "[::1]:82:82"],
                               "default_host_ip": "127.0.0.1"})
    assert wanted["published_ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                         "81/tcp": [{"HostIp": "10.0.0.1", "HostPort": "81"}],
                                         "82/tcp": [{"HostIp": "::1", "HostPort": "82"}]}
    bindings = {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "81/tcp": [{"HostIp": "10.0.0.1", "HostPort": "81"}],
                "82/tcp": [{"HostIp": "::1", "HostPort": "82"}]}
    bound_everywhere = running(HostConfig__PortBindings=bindings)
    assert co.differences(wanted, bound_everywhere, {}) == ["published_ports"]
    same = co.parse_options({"published_ports": ["8080:80", "10.0.0.1:81:81", "[::1]:82:82"],
                             "default_host_ip": ""})
    assert co.differences(same, bound_everywhere, {}) == []
    assert co.parse_options({"published_ports": ["80"], "default_host_ip": "[::1]"})["published_ports"] == {
        "80/tcp": [{"HostIp": "::1", "HostPort": ""}]}


@pytest.mark.parametrize("params, container, differs", [
    # engine defaults a container holds when the option was never set
    ({"oom_killer": False}, running(HostConfig__OomKillDisable=False), False),
    ({"oom_killer": False}, running(), False),
    ({"oom_killer": True}, running(HostConfig__OomKillDisable=False), True),
    ({"memory_swappiness": -1}, running(HostConfig__MemorySwappiness=None), False),
    ({"memory_swappiness": 60}, running(HostConfig__MemorySwappiness=None), True),
    ({"memory_swappiness": 0}, running(HostConfig__MemorySwappiness=0), False),
    ({"oom_score_adj": 0}, running(), False),
    ({"cpu_quota": -1}, running(HostConfig__CpuQuota=0), False),
    ({"cpu_quota": 50000}, running(HostConfig__CpuQuota=0), True),
    ({"cpu_period": 0}, running(HostConfig__CpuPeriod=0), False),
    ({"blkio_weight": 300}, running(HostConfig__BlkioWeight=0), True),
    ({"kernel_memory": 0}, running(HostConfig__KernelMemory=0), False),
    ({"ipc_mode": ""}, running(HostConfig__IpcMode="private"), False),
    ({"ipc_mode": ""}, running(HostConfig__IpcMode="shareable"), False),
    ({"ipc_mode": "private"}, running(HostConfig__IpcMode="shareable"), True),
    ({"ipc_mode": "host"}, running(HostConfig__IpcMode="private"), True),
    ({"pid_mode": ""}, running(HostConfig__PidMode=""), False),
    ({"pid_mode": "host"}, running(HostConfig__PidMode=""), True),
    ({"uts": ""}, running(), False),
    ({"userns_mode": "host"}, running(HostConfig__UsernsMode=""), True),
    ({"domainname": ""}, running(Config__Domainname=""), False),
    ({"domainname": "example.com"}, running(Config__Domainname="example.org"), True),
    ({"mac_address": "92:D0:C6:0A:29:33"}, running(Config__MacAddress="92:d0:c6:0a:29:33"), False),
    ({"mac_address": "92:d0:c6:0a:29:34"}, running(Config__MacAddress="92:d0:c6:0a:29:33"), True),
    ({"runtime": "runc"}, running(HostConfig__Runtime="runc"), False),
    ({"runtime": "io.containerd.runc.v2"}, running(HostConfig__Runtime="runc"), True),
    ({"groups": ["5678", "1234"]}, running(HostConfig__GroupAdd=["1234", "5678"]), False),
    ({"groups": []}, running(HostConfig__GroupAdd=None), False),
    ({"dns_opts": ["rotate", "timeout:10"]}, running(HostConfig__DnsOptions=["timeout:10", "rotate"]), False),
    ({"dns_search_domains": ["a.com", "b.com"]}, running(HostConfig__DnsSearch=["b.com", "a.com"]), True),
    ({"dns_search_domains": []}, running(HostConfig__DnsSearch=[]), False),
    ({"device_cgroup_rules": ["c 42:* rmw"]}, running(HostConfig__DeviceCgroupRules=["c 42:* rmw"]), False),
    ({"device_cgroup_rules": []}, running(HostConfig__DeviceCgroupRules=None), False),
    ({"links": ["h1:one"]}, running(HostConfig__Links=["/h1:/me/one"]), False),
    ({"links": ["h1"]}, running(HostConfig__Links=["/h1:/me/h1"]), False),
    ({"links": ["h1:two"]}, running(HostConfig__Links=["/h1:/me/one"]), True),
    ({"volumes_from": ["data:ro"]}, running(HostConfig__VolumesFrom=["data:ro"]), False),
    ({"volumes_from": ["data"]}, running(HostConfig__VolumesFrom=["data:ro"]), True),
    ({"volume_driver": ""}, running(HostConfig__VolumeDriver=""), False),
    ({"publish_all_ports": False}, running(HostConfig__PublishAllPorts=False), False),
    ({"tty": False}, running(Config__Tty=False), False),
    ({"interactive": True}, running(Config__OpenStdin=False), True),
    ({"storage_opts": {}}, running(), False),
    ({"device_read_bps": [{"path": "/dev/sda", "rate": "1m"}]},
     running(HostConfig__BlkioDeviceReadBps=[{"Path": "/dev/sda", "Rate": 1048576}]), False),
    ({"device_read_bps": []}, running(HostConfig__BlkioDeviceReadBps=[]), False),
    ({"device_write_iops": [{"path": "/dev/sda", "rate": 10}]},
     running(HostConfig__BlkioDeviceWriteIOps=[{"Path": "/dev/sda", "Rate": 20}]), True),
    ({"device_requests": []}, running(HostConfig__DeviceRequests=None), False),
    ({"device_requests": [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}]},
     running(HostConfig__DeviceRequests=[{"Driver": "nvidia", "Count": -1, "DeviceIDs": None,
                                          "Capabilities": [["gpu"]], "Options": {}}]), False),
    ({"device_requests": [{"driver": "nvidia", "count": 1}]},
     running(HostConfig__DeviceRequests=[{"Driver": "nvidia", "Count": -1}]), True),
])
def test_new_options_compare_with_engine_defaults(params, container, differs):
    wanted = co.parse_options(params)
    assert co.differences(wanted, container, {}) == (list(params) if differs else [])


@pytest.mark.parametrize("platform, image, differs", [
    ("linux", {"os": "linux", "architecture": "amd64"}, False),
    ("linux/amd64", {"os": "linux", "architecture": "amd64"}, False),
    ("linux/x86_64", {"os": "linux", "architecture": "amd64"}, False),
    ("amd64", {"os": "linux", "architecture": "amd64"}, False),  # an architecture alone: linux/amd64
    ("x86_64", {"os": "linux", "architecture": "amd64"}, False),
    ("arm64", {"os": "linux", "architecture": "amd64"}, True),
    ("linux/arm64", {"os": "linux", "architecture": "amd64"}, True),
    ("linux/arm64/v8", {"os": "linux", "architecture": "arm64", "variant": ""}, False),
    ("linux/arm/v7", {"os": "linux", "architecture": "arm", "variant": "v6"}, True),
    ("windows/amd64", {"os": "linux", "architecture": "amd64"}, True),
])
def test_platform_compares_os_and_the_images_architecture(platform, image, differs):
    container = running(Platform="linux")
    container["ImagePlatform"] = image
    assert co.differences(co.parse_options({"platform": platform}), container, {}) == (
        ["platform"] if differs else [])


def test_container_references_are_found_for_resolution():
    wanted = co.parse_options({"pid_mode": "container:db", "ipc_mode": "container:/db", "network_mode": "bridge"})
    assert co.container_references(wanted) == {"pid_mode": "db", "ipc_mode": "db"}


@pytest.mark.parametrize("params, engine, expected", [
    ({"kernel_memory": "8m"}, {}, ["kernel_memory: the engine records it but nothing enforces it"]),
    ({"kernel_memory": 0}, {}, []),
    ({"platform": "linux/arm64"}, {"Os": "linux", "Arch": "amd64"}, ["platform: the engine runs on linux/amd64"]),
    ({"platform": "linux/amd64"}, {"Os": "linux", "Arch": "amd64"}, []),
    ({"device_requests": [{"driver": "nvidia", "count": -1}]}, {}, ["device_requests: the engine starts"]),
    ({"device_requests": []}, {}, []),
])
def test_options_the_engine_cannot_honour_warn(params, engine, expected):
    found = co.caveats(co.parse_options(params), engine)
    assert len(found) == len(expected)
    for warning, start in zip(found, expected):
        assert warning.startswith(start), warning


@pytest.mark.parametrize("task, body", [
    ({"cpu_period": 50000}, {"CpuPeriod": 50000}),
    ({"cpu_quota": 20000}, {"CpuQuota": 20000}),
    ({"cpuset_mems": "0"}, {"CpusetMems": "0"}),
    ({"blkio_weight": 500}, {"BlkioWeight": 500}),
    ({"kernel_memory": "16m"}, {"KernelMemory": 16 * 1024 * 1024}),
])
def test_new_limits_update_in_place(task, body):
    wanted = co.parse_options(task)
    assert co.update_body(list(task), wanted, running()) == body
    assert co.in_place(list(task), wanted, running()) is None


@pytest.mark.parametrize("task", [{"cpu_period": 0}, {"cpu_quota": -1}, {"cpu_quota": 0}, {"cpuset_mems": ""},
                                  {"blkio_weight": 0}, {"kernel_memory": 0}, {"memory_swappiness": 10},
                                  {"oom_killer": True}, {"oom_score_adj": 10}, {"pid_mode": "host"},
                                  {"device_read_bps": [{"path": "/dev/sda", "rate": "1m"}]}, {"runtime": "runc"},
                                  {"tty": True}, {"links": ["db"]}, {"device_cgroup_rules": ["c 1:3 r"]}])
def test_what_update_cannot_change_recreates(task):
    wanted = co.parse_options(task)
    assert isinstance(co.in_place(list(task), wanted, running()), co.NotInPlace)


def test_platform_goes_as_the_create_query_parameter():
    body = co.create_body(co.parse_options({"platform": "linux/amd64", "tty": True}), "img")
    assert body["platform"] == "linux/amd64" and "Platform" not in body


@pytest.mark.parametrize("said, option", [
    ("--storage-opt is supported only for overlay over xfs with 'pquota' mount option", "storage_opts"),
    ('could not select device driver "nvidia" with capabilities: [[gpu]]', "device_requests"),
    ("Unknown runtime specified nope", "runtime"),
    ("image with reference x was found but does not match the specified platform: wanted linux/arm64",
     "platform"),
])
def test_engine_refusals_name_the_new_option(said, option):
    from ansible_collections.dockhand.runtime.plugins.module_utils.container import engine  # noqa: PLC0415

    assert engine.blame(said) == option
