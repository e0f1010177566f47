"""The preset table (every entry complete, dated, sourced; names unique) and the resolution of a name."""

import datetime
import os
import re
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.filter.mirror_url import mirror_url
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import check_mirror_url
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors import presets
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    MirrorError,
    normalise_mirrors,
    normalise_registry,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.presets import (
    DATE_RE,
    NAME_RE,
    PRESETS,
    STATUSES,
    STOPPED,
    TIERS,
    PresetError,
    is_template,
    resolve,
    stopped_note,
)

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "tools")
FIELDS = {"name", "title", "tier", "status", "serves", "allow_list", "as_of", "source"}


@pytest.mark.parametrize("preset", PRESETS, ids=[p["name"] for p in PRESETS])
def test_every_entry_is_complete(preset):
    assert set(preset) == FIELDS
    assert NAME_RE.fullmatch(preset["name"]) and presets.looks_like_name(preset["name"])
    assert preset["title"].strip() and preset["source"].strip()
    assert preset["tier"] in TIERS and preset["status"] in STATUSES
    assert isinstance(preset["allow_list"], str)
    assert preset["serves"]
    for registry, url in preset["serves"].items():
        assert normalise_registry(registry) == registry  # written as the module normalises it
        if is_template(url):
            assert re.fullmatch(r"https?://[^<>]*<[a-z ]+>[^<>]*", url), url
            assert preset["status"] != STOPPED  # a pattern is for the user to fill in, not a dead address
        else:
            assert check_mirror_url(url) is None, url
            assert url == url.rstrip("/") and url.lower() == url


@pytest.mark.parametrize("preset", PRESETS, ids=[p["name"] for p in PRESETS])
def test_every_date_is_a_real_date_not_in_the_future(preset):
    match = DATE_RE.fullmatch(preset["as_of"])
    assert match, preset["as_of"]
    day = int(match.group("day") or 1)
    date = datetime.date(int(match.group("year")), int(match.group("month")), day)  # raises for 2024-02-30
    assert date <= datetime.date.today()
    assert preset["as_of"] in preset["source"]  # the source gives the date


def test_names_and_urls_are_unique():
    names = [p["name"] for p in PRESETS]
    assert len(names) == len(set(names))
    urls = [url for p in PRESETS for url in p["serves"].values()]
    assert len(urls) == len(set(urls))


def test_stopped_mirrors_of_june_2024_are_there_with_their_dates():
    assert {p["name"]: p["as_of"] for p in PRESETS if p["status"] == STOPPED and p["as_of"].startswith("2024-06")} \
        == {"ustc": "2024-06-06", "sjtug": "2024-06-06", "nju": "2024-06-07"}


def test_each_tier_is_used():
    assert {p["tier"] for p in PRESETS} == set(TIERS)


def test_a_preset_name_gives_its_url_for_the_registry():
    assert resolve("daocloud") == "https://docker.m.daocloud.io"
    assert resolve("daocloud", "ghcr.io") == "https://ghcr.m.daocloud.io"
    assert resolve("daocloud", "registry.k8s.io") == "https://k8s.m.daocloud.io"
    assert resolve("1ms") == "https://docker.1ms.run"


@pytest.mark.parametrize("value", [
    "https://docker.m.daocloud.io", "http://10.0.0.5:5000", "mirror.lan", "mirror.lan:5000", "", None, 42,
    "daocloud.io", "ftp://x",
])
def test_what_is_not_written_as_a_name_is_left_to_the_url_checks(value):
    assert resolve(value) is None


@pytest.mark.parametrize("value, registry, words", [
    ("ustc", "docker.io", ["ustc", "stopped serving on 2024-06-06", "chsrc", "remove it", "daocloud"]),
    ("nju", "docker.io", ["stopped serving on 2024-06-07"]),
    ("docker-cn", "docker.io", ["stopped serving on 2019-04-17", "kubeasz"]),
    ("1ms", "ghcr.io", ["serves docker.io, not ghcr.io", "presets that serve ghcr.io: daocloud"]),
    ("1ms", "registry.example.com:5000", ["not registry.example.com:5000", "no preset serves", "give a URL"]),
    ("aliyun", "docker.io", ["has no URL that fits everyone", "https://<your accelerator id>.mirror.aliyuncs.com"]),
    ("registry-cache", "docker.io", ["give your own URL", "http://<cache host>:5000"]),
    ("DaoCloud", "docker.io", ["neither a URL nor a known preset", "did you mean daocloud?", "1ms, 1panel"]),
    ("localhost", "docker.io", ["neither a URL nor a known preset", "http:// or https://"]),
])
def test_a_name_that_cannot_be_used_is_refused_with_the_reason(value, registry, words):
    with pytest.raises(PresetError) as caught:
        resolve(value, registry, "mirrors[0]")
    message = str(caught.value)
    assert message.startswith("mirrors[0]: ")
    for word in words:
        assert word in message, message


def test_registry_mirrors_takes_preset_names_and_refuses_stopped_ones():
    mirrors = normalise_mirrors(["daocloud", {"url": "1panel", "insecure": False}, "https://m.example.com"],
                                "docker.io")
    assert [m["url"] for m in mirrors] == ["https://docker.m.daocloud.io", "https://docker.1panel.live",
                                           "https://m.example.com"]
    assert normalise_mirrors(["daocloud"], "quay.io")[0]["url"] == "https://quay.m.daocloud.io"
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors(["https://m.example.com", "sjtug"], "docker.io")
    assert "mirrors[1]: the preset sjtug" in str(caught.value) and "2024-06-06" in str(caught.value)
    with pytest.raises(MirrorError) as caught:  # a preset's URL repeated by its name is a repeat
        normalise_mirrors(["https://docker.m.daocloud.io", "daocloud"], "docker.io")
    assert "repeats mirrors[0]" in str(caught.value)


def test_without_a_registry_names_are_not_resolved():
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors(["daocloud"])
    assert "no scheme" in str(caught.value) or "http" in str(caught.value)


def test_a_stopped_mirrors_url_gets_a_note():
    note = stopped_note("https://docker.mirrors.ustc.edu.cn/")
    assert "preset ustc" in note and "stopped serving on 2024-06-06" in note
    assert stopped_note("https://docker.m.daocloud.io") is None
    assert stopped_note(None) is None


def test_the_mirror_url_filter_resolves_names_for_a_registry():
    assert mirror_url("daocloud") == "https://docker.m.daocloud.io"
    assert mirror_url({"url": "daocloud", "insecure": True}, "nvcr.io") == "https://nvcr.m.daocloud.io"
    assert mirror_url("http://b:5000") == "http://b:5000"
    with pytest.raises(AnsibleFilterError, match="stopped serving on 2024-06-06"):
        mirror_url("sjtug")


def test_the_readme_lists_the_table():
    sys.path.insert(0, os.path.abspath(TOOLS))
    import presets_doc  # noqa: PLC0415 - a script next to the tests, found by path

    assert presets_doc.main(["--check"]) == 0, "run make presets-doc"
