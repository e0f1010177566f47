"""Docker's driver, as data: registry-mirrors and insecure-registries merged into daemon.json, and read back."""

from hypothesis import given, settings
from hypothesis import strategies as st
from mirror_samples import mirror_lists, mirrors

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import deep_merge
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import normalise_mirrors
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.docker import (
    check_docker_registry,
    docker_change,
    mirrors_from_docker,
    table_after,
    table_insecure_change,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.rewrite_table import (
    empty_table,
    insecure_hosts,
    render_table,
    table_mirrors,
)


def apply(document, settings):
    return deep_merge(document, settings)


def test_docker_mirrors_every_registry_but_not_all_at_once():
    assert check_docker_registry("docker.io") is None
    assert check_docker_registry("quay.io") is None  # through the rewrite table
    assert "name the registry" in check_docker_registry("_default")


# -- the rewrite table for registries other than Docker Hub ----------------------------------------------

def test_table_after_present_absent_and_the_insecure_hosts_it_needs():
    ghcr = normalise_mirrors(["http://cache.lan:5000/ghcr", {"url": "https://m.lan", "insecure": True},
                              "https://ok.lan"])
    table = table_after(empty_table(), "ghcr.io", ghcr, "present", "upstream")
    assert table_mirrors(table, "ghcr.io") == ([{"url": "http://cache.lan:5000/ghcr", "insecure": False},
                                                {"url": "https://m.lan", "insecure": True},
                                                {"url": "https://ok.lan", "insecure": False}], "upstream")
    assert insecure_hosts(table) == ["cache.lan:5000", "m.lan"]
    assert table_after(table, "ghcr.io", ghcr, "present", "upstream") == table  # a rerun changes nothing
    fewer = table_after(table, "ghcr.io", normalise_mirrors(["https://m.lan/"]), "absent", "mirror")
    assert [m["url"] for m in table_mirrors(fewer, "ghcr.io")[0]] == ["http://cache.lan:5000/ghcr", "https://ok.lan"]
    assert render_table(table_after(table, "ghcr.io", [], "absent", "mirror")) is None


def test_table_insecure_change_adds_drops_and_keeps():
    current = {"insecure-registries": ["10.0.0.0/8", "old.lan:5000"], "registry-mirrors": ["http://hub.lan:5000"]}
    assert table_insecure_change(current, ["old.lan:5000"], ["new.lan:5000"]) == {
        "insecure-registries": ["10.0.0.0/8", "new.lan:5000"]}
    assert table_insecure_change(current, ["old.lan:5000"], ["old.lan:5000"]) == {}
    # a host a Docker Hub mirror is on stays, and so does an entry the table never had
    shared = {"insecure-registries": ["hub.lan:5000", "10.0.0.0/8"], "registry-mirrors": ["http://hub.lan:5000/"]}
    assert table_insecure_change(shared, ["hub.lan:5000"], []) == {}
    assert table_insecure_change({}, [], []) == {}
    assert table_insecure_change({}, [], ["a.lan:5000"]) == {"insecure-registries": ["a.lan:5000"]}
    # emptied: [] rather than no key, as docker_change does (dockerd reloads only the keys the file has)
    assert table_insecure_change({"insecure-registries": ["a.lan:5000"]}, ["a.lan:5000"], []) == {
        "insecure-registries": []}


def test_docker_hub_mirrors_keep_an_insecure_host_the_table_needs():
    before = {"registry-mirrors": ["http://cache.lan:5000"], "insecure-registries": ["cache.lan:5000"]}
    assert docker_change(before, [], state="absent") == {"registry-mirrors": [], "insecure-registries": []}
    assert docker_change(before, [], state="absent", keep_hosts=["cache.lan:5000"]) == {"registry-mirrors": []}
    assert docker_change(before, mirrors("https://other.lan"), keep_hosts=["cache.lan:5000"]) == {
        "registry-mirrors": ["https://other.lan"]}


def test_docker_present_sets_the_list_and_insecure_hosts():
    before = {"debug": True, "insecure-registries": ["10.0.0.0/8"]}
    change = docker_change(before, mirrors("http://hub.lan:5000", {"url": "https://m.lan", "insecure": True}))
    assert change == {"registry-mirrors": ["http://hub.lan:5000", "https://m.lan"],
                      "insecure-registries": ["10.0.0.0/8", "m.lan"]}


def test_docker_present_is_idempotent_even_with_a_trailing_slash_in_the_file():
    before = {"registry-mirrors": ["http://hub.lan:5000/"], "insecure-registries": ["hub.lan:5000"]}
    assert docker_change(before, mirrors({"url": "http://hub.lan:5000", "insecure": True})) == {}


def test_docker_switch_drops_the_old_mirrors_insecure_entry_and_keeps_others():
    before = {"registry-mirrors": ["https://old.lan"], "insecure-registries": ["old.lan", "build.lan:5000"]}
    settings = docker_change(before, mirrors("https://new.lan"))
    assert settings == {"registry-mirrors": ["https://new.lan"], "insecure-registries": ["build.lan:5000"]}


def test_docker_a_mirror_that_stops_being_insecure_loses_its_entry():
    before = {"registry-mirrors": ["https://m.lan"], "insecure-registries": ["m.lan"]}
    # an emptied list is written as [], since dockerd's reload ignores a missing key
    assert docker_change(before, mirrors("https://m.lan")) == {"insecure-registries": []}


def test_docker_absent_without_a_list_removes_all_mirrors_and_their_entries():
    before = {"registry-mirrors": ["https://a.lan", "https://b.lan"], "insecure-registries": ["a.lan", "x.lan"],
              "log-driver": "journald"}
    change = docker_change(before, [], state="absent")
    assert change == {"registry-mirrors": [], "insecure-registries": ["x.lan"]}
    assert apply(before, change) == {"registry-mirrors": [], "insecure-registries": ["x.lan"],
                                     "log-driver": "journald"}
    assert docker_change(apply(before, change), [], state="absent") == {}


def test_docker_absent_with_a_list_removes_only_those():
    before = {"registry-mirrors": ["https://a.lan/", "https://b.lan"], "insecure-registries": ["a.lan", "b.lan"]}
    change = docker_change(before, mirrors("https://a.lan"), state="absent")
    assert apply(before, change) == {"registry-mirrors": ["https://b.lan"], "insecure-registries": ["b.lan"]}
    assert docker_change({}, [], state="absent") == {}
    assert docker_change({"debug": False}, mirrors("https://a.lan"), state="absent") == {}


def test_docker_tolerates_odd_values_already_in_the_file():
    before = {"registry-mirrors": "https://a.lan", "insecure-registries": [7, "a.lan"]}
    settings = docker_change(before, mirrors("https://b.lan"))
    assert settings == {"registry-mirrors": ["https://b.lan"], "insecure-registries": [7]}
    assert mirrors_from_docker({"registry-mirrors": [None, "https://c.lan/"]}) == [
        {"url": "https://c.lan", "insecure": False}]


user_insecure = st.lists(st.sampled_from(["build.lan:5000", "10.0.0.0/8", "registry.internal"]), max_size=2,
                         unique=True)


@settings(max_examples=200, deadline=None)
@given(mirror_lists, mirror_lists, user_insecure)
def test_docker_round_trip_and_idempotence(first, second, extra):
    old, new = normalise_mirrors(first), normalise_mirrors(second)
    document = {"log-driver": "json-file", "insecure-registries": list(extra)}
    document = apply(document, docker_change(document, old))
    assert [m["url"] for m in mirrors_from_docker(document)] == [m["url"] for m in old]
    document = apply(document, docker_change(document, new))
    if new:
        seen = mirrors_from_docker(document)
        assert [m["url"] for m in seen] == [m["url"] for m in new]
        # a mirror reads back as insecure exactly when some mirror on its host is insecure
        for mirror in seen:
            host = mirror["url"].split("://")[1].split("/")[0]
            expected = any(m["insecure"] or m["skip_verify"] for m in new if m["url"].split("://")[1].split("/")[0]
                           == host) or host in extra
            assert mirror["insecure"] == expected
    assert docker_change(document, new) == {}  # a re-run changes nothing
    assert document["log-driver"] == "json-file"
    for entry in extra:  # entries that are no mirror's host are never taken out
        assert entry in document.get("insecure-registries", [])
    document = apply(document, docker_change(document, [], state="absent"))
    assert document.get("registry-mirrors", []) == [] and mirrors_from_docker(document) == []
    assert sorted(document.get("insecure-registries", [])) == sorted(extra)
