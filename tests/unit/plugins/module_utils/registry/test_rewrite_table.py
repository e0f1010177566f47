"""Docker's rewrite table as data: parse, merge, render, look up, and the name an image has on a mirror."""

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import COLLECTIONS_DIR

from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    ImageReferenceError,
    parse_reference,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.rewrite_table import (
    TableError,
    empty_table,
    insecure_hosts,
    judge_digest,
    mirror_prefix,
    mirror_reference,
    parse_table,
    remove_registry,
    render_table,
    set_registry,
    table_mirrors,
)

GHCR = [{"url": "https://ghcr.mirror.lan", "insecure": False},
        {"url": "https://m.example.com/ghcr.io", "insecure": False}]
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def table_with(**registries):
    table = empty_table()
    for registry, mirrors in registries.items():
        table = set_registry(table, registry.replace("_", "."), mirrors)
    return table


# -- mirror URLs and the names images get on them ---------------------------------------------------

@pytest.mark.parametrize("url, prefix", [
    ("https://ghcr.mirror.lan", "ghcr.mirror.lan"),
    ("https://m.example.com/ghcr.io", "m.example.com/ghcr.io"),
    ("http://dockhand-lab-ghcr-mirror:5011", "dockhand-lab-ghcr-mirror:5011"),
    ("http://localhost/cache/quay", "localhost/cache/quay"),
    ("https://10.0.0.7:5443", "10.0.0.7:5443"),
])
def test_mirror_prefix_is_what_replaces_the_registry(url, prefix):
    assert mirror_prefix(url) == prefix


@pytest.mark.parametrize("url, words", [
    ("https://mirror", "a Docker Hub user, not a registry"),  # mirror/org/app would be docker.io/mirror/org/app
    ("https://m.example.com/GHCR", "lower-case repository name components"),
    ("https://m.example.com/a//b", "not a mirror URL"),
    ("https://m.example.com/", "not a mirror URL"),
    ("https://M.example.com", "in lower case"),
    ("ftp://m.example.com", "not a mirror URL"),
    ("https://m.example.com/x?y=1", "lower-case repository name components"),
    ("https://m.example.com/a b", "lower-case repository name components"),
    ("https://m.example.com\n", "not a valid registry host"),
    ("https://docker.io/ghcr", "Docker Hub cannot stand in"),
    (None, "not a mirror URL"),
])
def test_mirror_prefix_refuses_what_cannot_prefix_an_image_name(url, words):
    with pytest.raises(TableError) as caught:
        mirror_prefix(url)
    assert words in str(caught.value)


def test_mirror_reference_keeps_the_repository_and_the_tag_or_digest():
    ref = parse_reference("ghcr.io/org/app:1")
    on_mirror = mirror_reference("https://m.example.com/ghcr.io", ref)
    assert on_mirror.registry == "m.example.com"
    assert on_mirror.repository == "ghcr.io/org/app" and on_mirror.tag == "1"
    pinned = mirror_reference("http://cache.lan:5000", parse_reference("quay.io/org/app:1@" + DIGEST))
    assert pinned.local == "cache.lan:5000/org/app@" + DIGEST  # the digest decides


def test_mirror_reference_refuses_a_name_the_engine_would_refuse():
    ref = parse_reference("ghcr.io/" + "/".join(["a" * 40] * 5) + ":1")
    with pytest.raises(ImageReferenceError):
        mirror_reference("https://m.example.com/" + "b" * 60, ref)


# -- the file --------------------------------------------------------------------------------------

def test_set_render_parse_round_trip_and_the_layout():
    table = table_with(ghcr_io=GHCR, quay_io=[{"url": "http://quay-cache.lan:5000", "insecure": False}])
    text = render_table(table)
    assert text.endswith("}\n")
    data = json.loads(text)
    assert list(data) == ["version", "registries"] and list(data["registries"]) == ["ghcr.io", "quay.io"]
    assert data["registries"]["ghcr.io"] == {"mirrors": GHCR, "verify_digest": "mirror"}
    assert parse_table(text) == table
    assert render_table(parse_table(text)) == text  # a rerun writes the same bytes


def test_merge_keeps_other_registries_and_keys_it_does_not_know():
    text = json.dumps({"version": 1, "note": "ours", "registries": {
        "quay.io": {"mirrors": [{"url": "https://q.lan"}], "owner": "team-a"}}})
    table = set_registry(parse_table(text), "ghcr.io", GHCR, "upstream")
    assert table["note"] == "ours" and table["registries"]["quay.io"]["owner"] == "team-a"
    replaced = set_registry(table, "quay.io", [{"url": "https://q2.lan"}])
    assert replaced["registries"]["quay.io"] == {"mirrors": [{"url": "https://q2.lan", "insecure": False}],
                                                 "verify_digest": "mirror", "owner": "team-a"}
    assert table_mirrors(replaced, "ghcr.io") == (GHCR, "upstream")
    assert table_mirrors(replaced, "registry.k8s.io") == ([], "mirror")


def test_remove_one_mirror_one_registry_and_the_last_one():
    table = table_with(ghcr_io=GHCR, quay_io=[{"url": "https://q.lan", "insecure": False}])
    one_less = remove_registry(table, "ghcr.io", ["https://ghcr.mirror.lan"])
    assert table_mirrors(one_less, "ghcr.io")[0] == GHCR[1:]
    assert "ghcr.io" not in remove_registry(table, "ghcr.io")["registries"]
    assert "ghcr.io" not in remove_registry(table, "ghcr.io", [m["url"] for m in GHCR])["registries"]
    assert remove_registry(table, "registry.k8s.io") == table  # nothing of it there: nothing changes
    assert render_table(remove_registry(remove_registry(table, "ghcr.io"), "quay.io")) is None  # no file left
    assert table_mirrors(table, "ghcr.io")[0] == GHCR  # the input is not changed


def test_a_table_with_someone_elses_key_stays_a_file():
    table = parse_table('{"version": 1, "registries": {}, "note": "keep me"}')
    assert json.loads(render_table(table)) == {"version": 1, "note": "keep me", "registries": {}}


@pytest.mark.parametrize("text, words", [
    ("{", "is not valid JSON"),
    ("[]", "must hold a JSON object"),
    ('{"version": 2, "registries": {}}', "has version 2"),
    ('{"registries": {}}', "has version None"),
    ('{"version": 1, "registries": []}', "registries must be an object"),
    ('{"version": 1, "registries": {"GHCR.io": {"mirrors": [{"url": "https://m.lan"}]}}}', "in lower case"),
    ('{"version": 1, "registries": {"docker.io": {"mirrors": [{"url": "https://m.lan"}]}}}', "registry-mirrors"),
    ('{"version": 1, "registries": {"ghcr.io": {"mirrors": []}}}', "non-empty list"),
    ('{"version": 1, "registries": {"ghcr.io": {"mirrors": ["https://m.lan"]}}}', "mirrors[0] must be an object"),
    ('{"version": 1, "registries": {"ghcr.io": {"mirrors": [{"url": "https://mirror"}]}}}', "Docker Hub user"),
    ('{"version": 1, "registries": {"ghcr.io": {"mirrors": [{"url": "https://m.lan", "insecure": "yes"}]}}}',
     "insecure must be true or false"),
    ('{"version": 1, "registries": {"ghcr.io": {"mirrors": [{"url": "https://m.lan"}], "verify_digest": "x"}}}',
     "verify_digest must be one of mirror, upstream"),
])
def test_a_broken_table_is_refused_with_where_and_what(text, words):
    with pytest.raises(TableError) as caught:
        parse_table(text, "/etc/dockhand/registry-mirrors.json")
    assert words in str(caught.value)
    assert "/etc/dockhand/registry-mirrors.json" in str(caught.value)


def test_no_file_or_a_blank_one_is_an_empty_table():
    assert parse_table(None) == parse_table("  \n") == empty_table()
    assert render_table(empty_table()) is None


def test_set_registry_refuses_docker_hub_and_bad_mirrors():
    with pytest.raises(TableError):
        set_registry(empty_table(), "docker.io", GHCR)
    with pytest.raises(TableError):
        set_registry(empty_table(), "ghcr.io", [{"url": "https://mirror"}])


def test_insecure_hosts_are_the_plain_http_and_insecure_mirrors_once_each():
    table = table_with(ghcr_io=[{"url": "http://cache.lan:5000/ghcr", "insecure": False},
                                {"url": "https://m.lan", "insecure": True},
                                {"url": "https://ok.lan", "insecure": False}],
                       quay_io=[{"url": "http://cache.lan:5000/quay", "insecure": False}])
    assert insecure_hosts(table) == ["cache.lan:5000", "m.lan"]


# -- what a mirror's digest is checked against -----------------------------------------------------

def test_judge_digest():
    assert judge_digest(DIGEST, None, "mirror") == ("mirror", None)
    assert judge_digest(DIGEST, OTHER, "mirror") == ("mirror", None)  # not asked for: the registry is not used
    assert judge_digest(DIGEST, DIGEST, "upstream") == ("upstream", None)
    assert judge_digest(DIGEST, None, "upstream") == ("mirror", None)  # the registry did not answer
    checked, problem = judge_digest(DIGEST, OTHER, "upstream")
    assert checked is None and "stale or wrong copy" in problem and OTHER in problem


# -- properties ------------------------------------------------------------------------------------

HOSTS = st.sampled_from(["a.lan", "b.lan:5000", "cache.example.com", "10.0.0.9:5443"])
PATHS = st.sampled_from(["", "/ghcr.io", "/quay", "/x/y"])


def _mirror(scheme, host, path, insecure):
    return {"url": "%s://%s%s" % (scheme, host, path), "insecure": insecure}


MIRRORS = st.lists(st.builds(_mirror, st.sampled_from(["http", "https"]), HOSTS, PATHS, st.booleans()),
                   min_size=1, max_size=4, unique_by=lambda mirror: mirror["url"])
REGISTRIES = st.sampled_from(["ghcr.io", "quay.io", "registry.k8s.io", "nvcr.io"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(REGISTRIES, MIRRORS), max_size=5), REGISTRIES, MIRRORS)
def test_set_then_remove_leaves_the_others_and_render_parse_is_stable(entries, registry, mirrors):
    table = empty_table()
    for name, its_mirrors in entries:
        table = set_registry(table, name, its_mirrors)
    changed = set_registry(table, registry, mirrors)
    assert table_mirrors(changed, registry)[0] == mirrors
    for name in table["registries"]:
        if name != registry:
            assert changed["registries"][name] == table["registries"][name]
    text = render_table(changed)
    assert parse_table(text) == changed and render_table(parse_table(text)) == text
    removed = remove_registry(changed, registry)
    assert registry not in removed["registries"] and set(removed["registries"]) == set(table["registries"]) - {
        registry}


# -- the cost of a no-op ---------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["image", "container"])
def test_loading_the_pulling_modules_loads_no_table_code(module):
    """image and container import the table's code only when a pull is due (image_pull.table_code)."""
    prefix = "ansible_collections.dockhand.runtime.plugins."
    code = ("import sys; import %smodules.%s; print(sorted(m for m in sys.modules if m.startswith(%r)))"
            % (prefix, module, prefix + "module_utils.registry"))
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": COLLECTIONS_DIR}, check=True,
                          stdout=subprocess.PIPE, text=True)
    loaded = done.stdout
    assert prefix + "module_utils.registry.image_pull" in loaded  # the check would see it
    assert "rewrite_table" not in loaded
