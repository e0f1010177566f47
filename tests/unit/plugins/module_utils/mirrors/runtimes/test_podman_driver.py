"""The Podman and CRI-O driver, as data: the registries.conf.d drop-in rendered and read back."""

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st
from mirror_samples import mirror_lists, mirrors

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import normalise_mirrors
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import Refused
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.podman import (
    check_podman_registry,
    dropin_after,
    dropin_name,
    parse_registries_dropin,
    podman_mirror,
    registries_conf_v1_tables,
    render_registries_dropin,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import loads


def test_dropin_for_docker_hub():
    text = render_registries_dropin("docker.io", [podman_mirror(m) for m in mirrors(
        "http://hub.lan:5000", "https://m.lan/cache", {"url": "https://x.lan", "skip_verify": True})])
    data = tomllib.loads(text)
    assert data == {"registry": [{"prefix": "docker.io", "location": "docker.io", "mirror": [
        {"location": "hub.lan:5000", "insecure": True},
        {"location": "m.lan/cache"},
        {"location": "x.lan", "insecure": True}]}]}


@settings(max_examples=200, deadline=None)
@given(mirror_lists, st.sampled_from(["docker.io", "quay.io", "registry.lan:5000"]))
def test_dropin_round_trip(values, registry):
    wanted = [podman_mirror(m) for m in normalise_mirrors(values)]
    text = render_registries_dropin(registry, wanted)
    assert parse_registries_dropin(text) == [{"prefix": registry, "location": registry, "mirrors": wanted}]
    assert loads(text) == tomllib.loads(text)
    for entry in wanted:
        assert "://" not in entry["location"]


def test_dropin_names_are_safe_file_names():
    assert dropin_name("docker.io") == "50-dockhand-docker.io.conf"
    assert dropin_name("registry.lan:5000") == "50-dockhand-registry.lan_5000.conf"
    assert dropin_name("[fd00::1]:5000") == "50-dockhand-_fd00__1__5000.conf"


def test_podman_has_no_default_registry():
    assert "containerd only" in check_podman_registry("_default")
    assert check_podman_registry("docker.io") is None


def test_v1_registries_conf_is_reported():
    message = registries_conf_v1_tables('[registries.search]\nregistries = ["docker.io"]\n', "/etc/r.conf")
    assert "/etc/r.conf uses the old v1 format ([registries.search])" in message
    assert registries_conf_v1_tables('unqualified-search-registries = ["docker.io"]\n') is None
    assert registries_conf_v1_tables("# all commented out\n") is None
    assert registries_conf_v1_tables("not [ toml") is None


def test_dropin_absent_takes_out_only_the_listed_mirrors():
    path = "/etc/containers/registries.conf.d/50-dockhand-docker.io.conf"
    before = render_registries_dropin("docker.io", [podman_mirror(m) for m in mirrors("https://a.lan", "http://b.lan")])
    after = dropin_after("docker.io", mirrors("https://a.lan"), "absent", path, before)
    assert parse_registries_dropin(after)[0]["mirrors"] == [{"location": "b.lan", "insecure": True}]
    assert dropin_after("docker.io", mirrors("https://c.lan"), "absent", path, before) is before
    assert dropin_after("docker.io", mirrors("https://a.lan", "http://b.lan"), "absent", path, before) is None
    assert dropin_after("docker.io", [], "absent", path, before) is None
    with pytest.raises(Refused, match="^podman: .*It is this module's drop-in"):
        dropin_after("docker.io", mirrors("https://a.lan"), "absent", path, "[[registry]\n")
