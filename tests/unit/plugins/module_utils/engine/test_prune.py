"""Unit tests of prune's core: filters, the engine's matching rules, the plans of what would go, the answers."""

import calendar

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.disk_usage import summarize_disk_usage
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.prune import (
    engine_time,
    normalize_filters,
    parse_until,
    plan_build_cache,
    plan_containers,
    plan_images,
    plan_networks,
    plan_volumes,
    selected,
    shape_answer,
    shape_plan,
    volume_filters,
)

NOW = calendar.timegm((2026, 12, 1, 12, 0, 0))
HOUR = 3600.0


# --- filters ------------------------------------------------------------------------------------

def test_filters_become_lists_of_text():
    assert normalize_filters("images", {"dangling": False, "until": "24h", "label": ["a", "b=c"],
                                        "label!": "keep"}) == {
        "dangling": ["false"], "until": ["24h"], "label": ["a", "b=c"], "label!": ["keep"]}
    assert normalize_filters("volumes", {"all": "True"}) == {"all": ["true"]}
    assert normalize_filters("containers", None) == {}


@pytest.mark.parametrize("kind, filters, words", [
    ("containers", {"dangling": True}, "no 'dangling' filter for containers; it takes until, label, label!"),
    ("volumes", {"until": "24h"}, "no 'until' filter for volumes"),
    ("builder_cache", {"label": "x"}, "no 'label' filter for builder cache"),
    ("images", {"dangling": "maybe"}, "images_filters.dangling must be true or false"),
    ("containers", {"until": "yesterday"}, "containers_filters.until 'yesterday' is not a time"),
    ("containers", {"label": "a b"}, "containers_filters.label: 'a b' is not valid"),
    ("containers", {"label": "key\n"}, "is not valid"),
    ("networks", {"label": []}, "networks_filters.label is an empty list"),
    ("networks", {"label": {"a": "b"}}, "is not a value"),
])
def test_bad_filters_are_refused_naming_the_option(kind, filters, words):
    with pytest.raises(OptionError) as caught:
        normalize_filters(kind, filters)
    assert words in str(caught.value)


@pytest.mark.parametrize("value, seconds", [
    ("24h", NOW - 24 * HOUR),
    ("1h30m", NOW - 1.5 * HOUR),
    ("90s", NOW - 90),
    ("1764590400", 1764590400.0),
    ("2026-12-01T10:00:00Z", NOW - 2 * HOUR),
    ("2026-12-01T14:00:00+02:00", NOW),
    ("2026-12-01T11:59:59.5Z", NOW - 0.5),
])
def test_until_forms(value, seconds):
    assert parse_until(value, NOW) == pytest.approx(seconds)


def test_until_date_without_zone_is_local_time():
    assert parse_until("2026-12-01", NOW) == pytest.approx(
        __import__("time").mktime((2026, 12, 1, 0, 0, 0, 0, 0, -1)))


def test_a_bare_number_is_a_unix_time_as_the_engine_reads_it():
    assert parse_until("24", NOW) == 24.0


@pytest.mark.parametrize("value", ["2026-13-01", "24 h", "1d", "-1h", "2026-12-01T10:00:00Z\n", " 24h"])
def test_until_errors(value):
    with pytest.raises(OptionError) as caught:
        parse_until(value, NOW)
    assert "is not a time" in str(caught.value)


def test_engine_times():
    assert engine_time(1700000000) == 1700000000.0
    assert engine_time("2026-12-01T12:00:00.123456789Z") == pytest.approx(NOW + 0.123456789)
    assert engine_time("") is None and engine_time("garbage") is None


# --- the engine's matching rules ----------------------------------------------------------------

def test_label_filters_follow_the_engine():
    labels = {"team": "web", "keep": ""}
    assert selected({"label": ["team"]}, labels, None, NOW)
    assert selected({"label": ["team=web"]}, labels, None, NOW)
    assert not selected({"label": ["team=db"]}, labels, None, NOW)
    assert not selected({"label": ["team", "tier"]}, labels, None, NOW)  # all must match
    assert not selected({"label!": ["keep"]}, labels, None, NOW)  # protected
    assert selected({"label!": ["keep=yes"]}, labels, None, NOW)
    assert selected({"label!": ["keep", "other"]}, labels, None, NOW)  # the engine keeps only when all match
    assert selected({"label!": ["keep"]}, {}, None, NOW)
    assert not selected({"label": ["team"]}, None, None, NOW)


def test_until_keeps_newer_objects():
    assert selected({"until": ["1h"]}, {}, NOW - 2 * HOUR, NOW)
    assert not selected({"until": ["1h"]}, {}, NOW - 0.5 * HOUR, NOW)
    assert not selected({"until": ["1h"]}, {}, None, NOW)


# --- plans --------------------------------------------------------------------------------------

def test_container_plan_skips_running_and_protected():
    listing = [
        {"Id": "c1", "Names": ["/done"], "State": "exited", "Labels": {}, "Created": NOW - 10, "SizeRw": 5},
        {"Id": "c2", "Names": ["/web"], "State": "running", "Labels": {}, "Created": NOW - 10},
        {"Id": "c3", "Names": ["/paused"], "State": "paused", "Labels": {}, "Created": NOW - 10},
        {"Id": "c4", "Names": ["/kept"], "State": "exited", "Labels": {"keep": "1"}, "Created": NOW - 10},
        {"Id": "c5", "Names": ["/new"], "State": "created", "Labels": {}, "Created": NOW - 10},
    ]
    planned = plan_containers(listing, {"label!": ["keep"]}, NOW)
    assert [item["name"] for item in planned] == ["done", "new"]
    assert planned[0] == {"id": "c1", "name": "done", "size": 5}
    assert shape_plan("containers", planned)[0] == ["c1", "c5"]


def test_image_plan_dangling_by_default_and_unused_only():
    images = [
        {"Id": "i1", "RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"], "Created": 1, "Size": 10},
        {"Id": "i2", "RepoTags": ["app:1"], "Created": 1, "Size": 20, "Labels": {"keep": ""}},
        {"Id": "i3", "RepoTags": [], "RepoDigests": ["app@sha256:ab"], "Created": 1, "Size": 30},
        {"Id": "i4", "RepoTags": None, "Created": 1, "Size": 40},
        {"Id": "i5", "RepoTags": ["app:2"], "Created": 1, "Size": 50},
    ]
    containers = [{"ImageID": "i4"}]
    assert [i["id"] for i in plan_images(images, containers, {}, NOW)] == ["i1"]
    all_unused = plan_images(images, containers, {"dangling": ["false"]}, NOW)
    assert [i["id"] for i in all_unused] == ["i1", "i2", "i3", "i5"]
    kept = plan_images(images, containers, {"dangling": ["false"], "label!": ["keep"]}, NOW)
    assert [i["id"] for i in kept] == ["i1", "i3", "i5"]
    assert kept[-1] == {"id": "i5", "tags": ["app:2"], "size": 50}


def test_network_plan_skips_predefined_and_attached():
    networks = [{"Id": "n1", "Name": "bridge"}, {"Id": "n2", "Name": "used", "Created": "2026-01-01T00:00:00Z"},
                {"Id": "n3", "Name": "idle", "Created": "2026-01-01T00:00:00.5Z", "Labels": {}},
                {"Id": "n4", "Name": "swarmnet", "Scope": "swarm"},
                {"Id": "n5", "Name": "young", "Created": "2026-12-01T11:59:00Z"}]
    running = [{"NetworkSettings": {"Networks": {"used": {"NetworkID": "n2"}}}}]
    planned = plan_networks(networks, running, {"until": ["1h"]}, NOW)
    assert shape_plan("networks", planned)[0] == ["idle"]


def test_volume_plan_anonymous_only_on_new_engines():
    volumes = [{"Name": "named", "Labels": None},
               {"Name": "0123abc", "Labels": {"com.docker.volume.anonymous": ""}},
               {"Name": "kept", "Labels": {"keep": "yes"}}]
    assert [v["name"] for v in plan_volumes(volumes, {}, anonymous_only=True)] == ["0123abc"]
    assert [v["name"] for v in plan_volumes(volumes, {"label!": ["keep"]}, anonymous_only=False)] == [
        "named", "0123abc"]


def test_volume_all_filter_before_api_142():
    assert volume_filters({"all": ["true"], "label": ["x"]}, api_at_least_142=False) == {"label": ["x"]}
    assert volume_filters({"all": ["true"]}, api_at_least_142=True) == {"all": ["true"]}
    with pytest.raises(OptionError) as caught:
        volume_filters({"all": ["false"]}, api_at_least_142=False)
    assert "API 1.42" in str(caught.value)


def test_build_cache_plan():
    records = [{"ID": "b1", "InUse": False, "Shared": False, "Size": 7, "LastUsedAt": "2026-11-01T00:00:00Z",
                "Type": "regular"},
               {"ID": "b2", "InUse": True, "Size": 9},
               {"ID": "b3", "InUse": False, "Shared": True, "Size": 3, "CreatedAt": "2026-11-01T00:00:00Z"},
               {"ID": "b4", "InUse": False, "Size": 2, "LastUsedAt": "2026-12-01T11:59:00Z"}]
    assert [r["id"] for r in plan_build_cache(records, {}, NOW, prune_all=False)] == ["b1", "b4"]
    assert [r["id"] for r in plan_build_cache(records, {"until": ["1h"]}, NOW, prune_all=True)] == ["b1", "b3"]
    assert [r["id"] for r in plan_build_cache(records, {"type": ["source.local"]}, NOW, prune_all=True)] == []


# --- answers ------------------------------------------------------------------------------------

def test_prune_answers_are_shaped_like_docker_prune():
    assert shape_answer("containers", {"ContainersDeleted": ["c1"], "SpaceReclaimed": 12}) == (["c1"], 12, {})
    assert shape_answer("containers", {"ContainersDeleted": None, "SpaceReclaimed": 0}) == ([], 0, {})
    removed, space, extra = shape_answer("images", {"ImagesDeleted": [
        {"Untagged": "app:old"}, {"Deleted": "sha256:aa"}, {"Deleted": "sha256:bb"}], "SpaceReclaimed": 99})
    assert (removed, space, extra) == (["sha256:aa", "sha256:bb"], 99, {"images_untagged": ["app:old"]})
    assert shape_answer("networks", {"NetworksDeleted": ["n"]}) == (["n"], 0, {})
    assert shape_answer("builder_cache", {"CachesDeleted": ["b"], "SpaceReclaimed": 5}) == (["b"], 5, {})


# --- disk usage ---------------------------------------------------------------------------------

def test_disk_usage_summary():
    df = {
        "LayersSize": 1000,
        "Images": [{"Id": "i1", "Size": 600, "SharedSize": 100, "Containers": 1},
                   {"Id": "i2", "Size": 500, "SharedSize": 100, "Containers": 0}],
        "Containers": [{"State": "running", "SizeRw": 10}, {"State": "exited", "SizeRw": 30},
                       {"State": "created", "SizeRw": -1}],
        "Volumes": [{"UsageData": {"Size": 200, "RefCount": 1}}, {"UsageData": {"Size": 50, "RefCount": 0}},
                    {"UsageData": {"Size": -1, "RefCount": 0}}],
        "BuildCache": [{"Size": 70, "InUse": False, "Shared": False}, {"Size": 5, "InUse": True},
                       {"Size": 8, "InUse": False, "Shared": True}],
    }
    assert summarize_disk_usage(df) == {
        "images": {"count": 2, "active": 1, "size": 1000, "reclaimable": 500},
        "containers": {"count": 3, "active": 1, "size": 40, "reclaimable": 30},
        "volumes": {"count": 3, "active": 1, "size": 250, "reclaimable": 50},
        "build_cache": {"count": 3, "active": 1, "size": 83, "reclaimable": 70},
    }
    empty = summarize_disk_usage({"Images": None, "BuildCache": None})
    assert empty["images"] == {"count": 0, "active": 0, "size": 0, "reclaimable": 0}
