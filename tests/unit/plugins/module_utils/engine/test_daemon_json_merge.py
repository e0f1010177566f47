"""Merging into daemon.json keeps what it was not told about (property-based), validation, flags."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import plan_change
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import (
    DAEMON_KEYS,
    RELOADABLE_KEYS,
    argv_without,
    changed_keys,
    deep_merge,
    flag_conflicts,
    needs_restart,
    parse_daemon_json,
    remove_paths,
    render,
    validate,
)

# -- property: untouched keys survive ------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)), max_leaves=12)
documents = st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(documents, documents, st.sampled_from(["replace", "append_unique"]))
def test_merge_keeps_every_key_it_was_not_told_to_touch(document, overlay, list_merge):
    merged = deep_merge(document, overlay, list_merge)
    for key, value in document.items():
        if key not in overlay:
            assert merged[key] == value
            assert json.dumps(merged[key], sort_keys=True) == json.dumps(value, sort_keys=True)
    for key, value in overlay.items():
        if not isinstance(value, (dict, list)) or not isinstance(document.get(key), type(value)):
            assert merged[key] == value
    assert list(merged)[:len(document)] == list(document)  # existing keys keep their order


@settings(max_examples=200, deadline=None)
@given(documents, documents)
def test_merge_then_render_round_trips(document, overlay):
    merged = deep_merge(document, overlay)
    assert parse_daemon_json(render(merged)) == merged


@settings(max_examples=200, deadline=None)
@given(documents, st.lists(st.text(min_size=1, max_size=12), max_size=4))
def test_remove_touches_only_the_named_keys(document, paths):
    result, removed = remove_paths(document, paths)
    for key, value in document.items():
        if key not in paths and not any(p.startswith(key + ".") for p in paths):
            assert result[key] == value
    assert set(removed) <= set(paths)


def test_merge_does_not_modify_its_input():
    base = {"log-opts": {"max-size": "10m"}, "dns": ["1.1.1.1"]}
    snapshot = json.dumps(base)
    deep_merge(base, {"log-opts": {"max-file": "3"}, "dns": ["9.9.9.9"]}, "append_unique")
    remove_paths(base, ["log-opts.max-size"])
    assert json.dumps(base) == snapshot


# -- examples ---------------------------------------------------------------------------

def test_nested_merge_and_list_modes():
    base = {"registry-mirrors": ["https://a"], "log-opts": {"max-size": "10m"}}
    assert deep_merge(base, {"registry-mirrors": ["https://b", "https://a"]}) == {
        "registry-mirrors": ["https://b", "https://a"], "log-opts": {"max-size": "10m"}}
    assert deep_merge(base, {"registry-mirrors": ["https://b", "https://a", "https://b"]}, "append_unique")[
        "registry-mirrors"] == ["https://a", "https://b"]
    assert deep_merge(base, {"log-opts": {"max-file": "3"}})["log-opts"] == {"max-size": "10m", "max-file": "3"}


def test_remove_dotted_paths_and_prune():
    data = {"log-opts": {"max-size": "10m"}, "a.b": 1, "features": {"buildkit": True, "x": False}}
    result, removed = remove_paths(data, ["log-opts.max-size", "a.b", "features.x", "missing.key"])
    assert result == {"features": {"buildkit": True}}
    assert removed == ["log-opts.max-size", "a.b", "features.x"]


def test_changed_keys_and_restart_decision():
    before = {"debug": False, "registry-mirrors": ["https://a"], "data-root": "/var/lib/docker"}
    after = {"debug": True, "registry-mirrors": ["https://a"], "exec-opts": ["native.cgroupdriver=systemd"]}
    assert changed_keys(before, after) == ["data-root", "debug", "exec-opts"]
    assert needs_restart(["debug", "registry-mirrors"]) == []
    assert needs_restart(["debug", "exec-opts"]) == ["exec-opts"]
    assert {"registry-mirrors", "insecure-registries", "live-restore", "debug"} <= RELOADABLE_KEYS


# -- validation: bad input named, good input passes -------------------------------------------

@pytest.mark.parametrize("settings, words", [
    ({"registry-mirrors": ["mirror.example.com"]}, "has no scheme"),
    ({"registry-mirrors": ["ftp://mirror.example.com"]}, "must be http or https"),
    ({"registry-mirrors": ["https://user:secret@mirror.example.com"]}, "carries credentials"),
    ({"registry-mirrors": ["https://mirror.example.com/?a=1"]}, "query string"),
    ({"registry-mirrors": ["https://mirror.example.com/#top"]}, "fragment"),
    ({"registry-mirrors": "https://mirror.example.com"}, "must be a list"),
    ({"insecure-registries": ["http://reg.lan:5000"]}, "without a scheme"),
    ({"insecure-registries": ["reg lan"]}, "neither host[:port] nor a CIDR"),
    ({"insecure-registries": ["10.0.0.0/33"]}, "neither host[:port] nor a CIDR"),
    ({"exec-opts": ["native.cgroupdriver=systemdd"]}, "systemd or cgroupfs"),
    ({"data-root": "var/lib/docker"}, "absolute path"),
    ({"log-opts": {"max-file": 3}}, 'write "3"'),
    ({"live-restore": "yes"}, "true or false"),
    ({"max-concurrent-downloads": 0}, "1 or more"),
    ({"registry-mirror": ["https://a"]}, "did you mean registry-mirrors"),
    ({"exec-opts": ["native.cgroupdriver=systemd"], "cgroup-parent": "docker"}, "slice name"),
    ({"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 10, "Hard": 5}}}, "must not exceed"),
])
def test_validation_names_key_and_fix(settings, words):
    problems = validate(settings)
    assert problems and words in " ".join(problems), problems
    assert list(settings)[-1] in " ".join(problems)


def test_credentials_are_not_echoed():
    problems = validate({"registry-mirrors": ["https://user:secret@mirror.example.com"]})
    assert "secret" not in " ".join(problems)


def test_every_problem_of_a_list_is_reported():
    problems = validate({"registry-mirrors": ["a.example", "ftp://b.example", "https://ok.example/"]})
    assert "a.example" in problems[0] and "ftp://b.example" in problems[0]


def test_good_settings_pass():
    assert validate({
        "registry-mirrors": ["https://mirror.example.com", "http://10.0.0.5:5000/path/"],
        "insecure-registries": ["reg.lan:5000", "10.0.0.0/8", "[fd00::1]:5000", "localhost"],
        "exec-opts": ["native.cgroupdriver=systemd"], "cgroup-parent": "containers.slice",
        "log-opts": {"max-size": "10m", "max-file": "3"}, "data-root": "/srv/docker", "live-restore": True,
        "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}], "dns": ["1.1.1.1"],
        "hosts": ["unix:///var/run/docker.sock", "fd://"], "some-future-key": {"anything": 1},
    }) == []


def test_the_table_is_consistent():
    for name, key in DAEMON_KEYS.items():
        assert key.name == name and key.flags
        assert all(flag.startswith("-") for flag in key.flags)


# -- flags on the dockerd command line ---------------------------------------------------

DEBIAN_UNIT = ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]


def test_conflicts_of_the_packaged_unit():
    conflicts = flag_conflicts(DEBIAN_UNIT, {"hosts": ["unix:///var/run/docker.sock"], "debug": True})
    assert conflicts == [{"flag": "-H", "value": "fd://", "key": "hosts"}]
    expected = ["/usr/sbin/dockerd", "--containerd=/run/containerd/containerd.sock"]
    assert argv_without(DEBIAN_UNIT, conflicts) == expected


def test_conflicts_in_every_spelling():
    argv = ["/usr/bin/dockerd", "--registry-mirror=https://a", "--insecure-registry", "reg:5000", "-D",
            "--exec-opt", "native.cgroupdriver=cgroupfs", "--log-level=warn", "--iptables=false"]
    settings = {"registry-mirrors": [], "insecure-registries": [], "debug": True, "exec-opts": [], "log-level": "info"}
    found = {c["key"] for c in flag_conflicts(argv, settings)}
    assert found == {"registry-mirrors", "insecure-registries", "debug", "exec-opts", "log-level"}
    assert argv_without(argv, flag_conflicts(argv, settings)) == ["/usr/bin/dockerd", "--iptables=false"]


def test_no_conflict_without_the_key():
    assert flag_conflicts(DEBIAN_UNIT, {"registry-mirrors": ["https://a"]}) == []


def test_removing_a_reload_only_key_writes_its_neutral_value():
    before = {"registry-mirrors": ["https://a"], "debug": True, "data-root": "/srv/docker", "labels": ["a=b"]}
    after, changed = plan_change(before, remove=["registry-mirrors", "debug", "data-root", "labels"])
    assert after == {"registry-mirrors": [], "debug": False, "labels": []}
    assert changed == ["data-root", "debug", "labels", "registry-mirrors"]
    again, changed_again = plan_change(after, remove=["registry-mirrors", "debug", "labels"])
    assert again == after and changed_again == []
