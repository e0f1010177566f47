"""comparisons: community.docker's modes and defaults, on the table's options."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container.comparisons import (
    differences,
    more_generic,
    parse_comparisons,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    OPTIONS_BY_NAME,
    OptionError,
    parse_options,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container.state import plan


def wanted(**options):
    return parse_options(options)


def container(**config):
    return {"Id": "c" * 64, "Image": "sha256:i", "State": {"Running": True},
            "Config": dict({"Env": [], "Labels": {}, "Hostname": "a"}, **config.pop("Config", {})),
            "HostConfig": dict({"Dns": [], "CapAdd": None, "Devices": []}, **config.pop("HostConfig", {})),
            "NetworkSettings": {"Networks": {}}}


def test_defaults_are_community_docker_s():
    modes = parse_comparisons(None)
    assert modes["hostname"] == modes["command"] == modes["dns_servers"] == modes["image"] == "strict"
    assert modes["env"] == modes["labels"] == modes["published_ports"] == modes["capabilities"] == \
        modes["networks"] == modes["volumes"] == "allow_more_present"
    assert modes["stop_timeout"] == "ignore"


def test_the_wildcard_sets_what_is_not_named_and_a_name_wins():
    modes = parse_comparisons({"*": "ignore", "env": "strict"})
    assert modes["env"] == "strict" and modes["labels"] == modes["image"] == modes["hostname"] == "ignore"
    assert parse_comparisons({"*": "strict"})["stop_timeout"] == "strict"


@pytest.mark.parametrize("value, words", [
    ({"hostname": "allow_more_present"}, "lists, sets and dicts only"),
    ({"image": "allow_more_present"}, "strict or ignore"),
    ({"*": "allow_more_present"}, "'*' takes strict or ignore"),
    ({"envs": "strict"}, "'envs' is not an option"),
    ({"env": "loose"}, "env takes strict, ignore or allow_more_present"),
    (["env"], "must be a dict"),
])
def test_bad_comparisons_are_refused_by_name(value, words):
    with pytest.raises(OptionError) as refused:
        parse_comparisons(value)
    assert str(refused.value).startswith("comparisons:") and words in str(refused.value)


def test_a_set_allows_more_by_default_and_strict_wants_it_exact():
    current = container(HostConfig={"CapAdd": ["NET_ADMIN", "SYS_TIME"]})
    asked = wanted(capabilities=["net_admin"])
    assert differences(asked, current, {}) == []
    assert differences(asked, current, {}, parse_comparisons({"capabilities": "strict"})) == ["capabilities"]
    assert differences(wanted(capabilities=["NET_ADMIN", "MKNOD"]), current, {}) == ["capabilities"]


def test_a_dict_allows_more_keys_but_not_another_value():
    current = container(Config={"Labels": {"a": "1", "b": "2"}, "Env": ["A=1", "B=2"]})
    assert differences(wanted(labels={"a": "1"}, env={"A": "1"}), current, {}) == []
    assert differences(wanted(labels={"a": "9"}, env={"A": "9"}), current, {}) == ["env", "labels"]
    strict = parse_comparisons({"labels": "strict", "env": "strict"})
    assert differences(wanted(labels={"a": "1"}, env={"A": "1"}), current, {}, strict) == ["env", "labels"]


def test_a_label_the_task_no_longer_overrides_goes_back_to_the_image_s_value():
    image = {"Labels": {"img_label": "base"}}
    overridden = container(Config={"Labels": {"img_label": "override", "extra": "1"}})
    assert differences(wanted(labels={}), overridden, image) == ["labels"]
    assert differences(wanted(labels={"img_label": "override"}), overridden, image) == []
    as_built = container(Config={"Labels": {"img_label": "base", "extra": "1"}})
    assert differences(wanted(labels={}), as_built, image) == []


def test_ignore_never_changes_and_ordered_lists_stay_strict():
    current = container(HostConfig={"Dns": ["10.0.0.1", "10.0.0.2"]})
    assert differences(wanted(dns_servers=["10.0.0.1"]), current, {}) == ["dns_servers"]
    ignored = parse_comparisons({"dns_servers": "ignore"})
    assert differences(wanted(dns_servers=["10.0.0.1"]), current, {}, ignored) == []
    assert differences(wanted(hostname="b"), current, {}, parse_comparisons({"hostname": "ignore"})) == []


def test_image_ignore_keeps_the_container_on_its_image():
    current = container()
    assert plan("started", current, {}, "sha256:new", {}).actions == ["recreated", "started"]
    assert plan("started", current, {}, "sha256:new", {}, modes=parse_comparisons({"image": "ignore"})).actions == []
    assert plan("started", current, {}, "sha256:new", {}, modes=parse_comparisons({"*": "ignore"})).actions == []


def test_allow_more_present_takes_lists_of_nested_dicts():
    compare = more_generic(OPTIONS_BY_NAME["ulimits"])
    gpu = {"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu", "utility"]], "Options": {}}
    assert compare([gpu], [gpu, {"Driver": "other", "Count": 1, "Capabilities": [], "Options": {}}], {}, {})
    assert not compare([dict(gpu, Count=2)], [gpu], {}, {})


def test_aliases_name_their_option_and_an_ordered_list_allows_more_in_order():
    modes = parse_comparisons({"ports": "strict", "log_opt": "ignore", "command": "allow_more_present"})
    assert modes["published_ports"] == "strict" and modes["log_options"] == "ignore"
    current = container(HostConfig={"Dns": ["10.0.0.1", "10.0.0.9", "10.0.0.2"]})
    more = parse_comparisons({"dns_servers": "allow_more_present"})
    assert differences(wanted(dns_servers=["10.0.0.1", "10.0.0.2"]), current, {}, more) == []
    assert differences(wanted(dns_servers=["10.0.0.2", "10.0.0.1"]), current, {}, more) == ["dns_servers"]
    assert parse_comparisons(None)["device_cgroup_rules"] == "strict"


def test_device_requests_the_engine_reports_with_nulls_allow_more_by_default():
    asked = wanted(device_requests=[{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}])
    reported = {"Driver": "nvidia", "Count": -1, "DeviceIDs": None, "Capabilities": [["gpu"]], "Options": None}
    assert differences(asked, container(HostConfig={"DeviceRequests": [reported]}), {}) == []
