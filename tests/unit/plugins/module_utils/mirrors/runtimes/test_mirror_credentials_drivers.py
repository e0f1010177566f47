"""Mirror credentials in each runtime's files: containerd's header table, Podman's auth file, Docker's refusal."""

import base64
import json
import os
import stat

import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st
from mirror_samples import mirror_values, mirrors

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import normalise_mirrors
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import file_change, write_change
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.containerd import (
    containerd_host,
    holds_secret,
    hosts_toml_after,
    parse_hosts_toml,
    render_hosts_toml,
    shown_hosts_toml,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.docker import check_docker_mirrors
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.podman import (
    auth_file_after,
    check_podman_mirrors,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import loads
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth import find_credentials

SECRET = "s3cret-Pa55"
PATH = "/etc/containerd/certs.d/docker.io/hosts.toml"
BASIC = {"url": "http://cache.lan:5012", "auth": {"username": "fleet", "password": SECRET}}
FULL = {"url": "https://gw.lan/v2/hub", "override_path": True, "auth": {"token": "t0ken-" + SECRET},
        "headers": {"X-Fleet": "edge", "X-Multi": ["a", "b"], "Weird.Name": "x"}, "client_cert": "/etc/ssl/c.pem",
        "client_key": "/etc/ssl/c.key", "ca_file": "/etc/ssl/ca.pem", "skip_verify": True, "capabilities": ["pull"]}


# -- containerd ----------------------------------------------------------------------------------------

def test_hosts_toml_sends_basic_auth_in_the_header_table():
    text = render_hosts_toml("docker.io", [containerd_host(m) for m in mirrors(BASIC)])
    data = tomllib.loads(text)
    expected = "Basic " + base64.b64encode(("fleet:" + SECRET).encode()).decode()
    wanted = {"capabilities": ["pull", "resolve"], "header": {"Authorization": expected}}
    assert data["host"]["http://cache.lan:5012"] == wanted


def test_hosts_toml_takes_every_per_mirror_setting_and_the_server_override():
    text = render_hosts_toml("ghcr.io", [containerd_host(m) for m in mirrors(FULL)], server="https://ghcr.internal")
    data = tomllib.loads(text)
    assert data["server"] == "https://ghcr.internal"
    assert data["host"]["https://gw.lan/v2/hub"] == {
        "capabilities": ["pull"], "skip_verify": True, "ca": "/etc/ssl/ca.pem",
        "client": [["/etc/ssl/c.pem", "/etc/ssl/c.key"]], "override_path": True,
        "header": {"Authorization": "Bearer t0ken-" + SECRET, "X-Fleet": "edge", "X-Multi": ["a", "b"],
                   "Weird.Name": "x"}}


def test_a_client_certificate_without_a_key_is_one_path():
    mirror = dict(FULL, client_key=None)
    data = tomllib.loads(render_hosts_toml("ghcr.io", [containerd_host(m) for m in mirrors(mirror)]))
    assert data["host"]["https://gw.lan/v2/hub"]["client"] == "/etc/ssl/c.pem"


def test_parse_reads_containerd_client_forms():
    text = ('[host."https://a.lan"]\n  client = ["/a.pem", "/b.pem"]\n'
            '[host."https://b.lan"]\n  client = [["/c.pem", "/c.key"], ["/d.pem", ""]]\n'
            '[host."https://c.lan"]\n  client = "/e.pem"\n'
            '[host."https://d.lan".header]\n  X-One = "1"\n  X-Two = ["2", "3"]\n')
    hosts = parse_hosts_toml(text)["hosts"]
    assert [host["client"] for host in hosts] == [["/a.pem", None], ["/c.pem", "/c.key"], ["/e.pem", None], None]
    assert hosts[3]["header"] == {"X-One": ["1"], "X-Two": ["2", "3"]}


credential_values = st.builds(
    lambda base, auth, headers, cert: dict(base, **{k: v for k, v in (("auth", auth), ("headers", headers))
                                                    if v is not None}, **cert),
    mirror_values,
    st.one_of(st.none(), st.fixed_dictionaries({"username": st.sampled_from(["u", "fleet", "a b"]),
                                                "password": st.text(st.characters(min_codepoint=32,
                                                                                  max_codepoint=0x2FF,
                                                                                  blacklist_characters="\x7f"),
                                                                    min_size=1, max_size=12)}),
              st.fixed_dictionaries({"token": st.from_regex(r"[A-Za-z0-9._~+/-]{1,12}=?", fullmatch=True)})),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(["X-A", "x.b", "X_C"]),
                                         st.lists(st.from_regex(r"[!-~]([ -~]{0,6}[!-~])?", fullmatch=True),
                                                  min_size=1, max_size=2), max_size=2)),
    st.sampled_from([{}, {"client_cert": "/c.pem"}, {"client_cert": "/c.pem", "client_key": "/c.key"}]),
)


def _valid(values):
    kept = []
    for original in values:
        value = original
        if value.get("client_cert") and not value["url"].startswith("https://"):
            value = {k: v for k, v in value.items() if not k.startswith("client_")}
        if " " in (value.get("auth") or {}).get("username", ""):
            value = dict(value, auth=None)
        kept.append(value)
    return kept


@settings(max_examples=200, deadline=None)
@given(st.lists(credential_values, max_size=3, unique_by=lambda m: m["url"].rstrip("/")),
       st.sampled_from(["docker.io", "quay.io", "registry.lan:5000"]))
def test_hosts_toml_with_credentials_round_trips(values, registry):
    wanted = [containerd_host(m) for m in normalise_mirrors(_valid(values))]
    text = render_hosts_toml(registry, wanted)
    assert parse_hosts_toml(text)["hosts"] == wanted
    assert loads(text) == tomllib.loads(text)
    # state=absent of one of them keeps the others' credentials as they were
    if len(wanted) > 1:
        after = hosts_toml_after(registry, normalise_mirrors([values[0]["url"]]), "absent", PATH, text)
        assert parse_hosts_toml(after)["hosts"] == wanted[1:]


def test_a_server_override_is_written_for_present_and_kept_for_absent():
    text = hosts_toml_after("quay.io", mirrors("https://a.lan", "https://b.lan"), "present", PATH, None,
                            server="https://quay.internal")
    assert tomllib.loads(text)["server"] == "https://quay.internal"
    after = hosts_toml_after("quay.io", mirrors("https://a.lan"), "absent", PATH, text)
    assert tomllib.loads(after)["server"] == "https://quay.internal"
    assert tomllib.loads(hosts_toml_after("quay.io", mirrors("https://a.lan"), "present", PATH, text))["server"] == \
        "https://quay.io"


def test_a_file_with_an_authorization_or_secret_named_header_holds_a_secret():
    assert holds_secret([containerd_host(m) for m in mirrors(BASIC)])
    assert holds_secret([containerd_host(m) for m in mirrors({"url": "https://a.lan",
                                                              "headers": {"X-Api-Key": "k"}})])
    assert not holds_secret([containerd_host(m) for m in mirrors({"url": "https://a.lan",
                                                                  "headers": {"X-Fleet": "edge"}})])
    for name in ("Cookie", "X-JFrog-Art-Api"):  # credentials under names that do not say so
        assert holds_secret([containerd_host(m) for m in mirrors({"url": "https://a.lan", "headers": {name: "v"}})])
        assert '"v"' not in shown_hosts_toml(render_hosts_toml("docker.io", [
            containerd_host(m) for m in mirrors({"url": "https://a.lan", "headers": {name: "v"}})]))


def test_shown_hosts_toml_masks_secret_headers_and_marks_a_changed_one():
    old = render_hosts_toml("docker.io", [containerd_host(m) for m in mirrors(BASIC)])
    new = render_hosts_toml("docker.io", [containerd_host(m) for m in mirrors(
        dict(BASIC, auth={"username": "fleet", "password": SECRET + "2"}, headers={"X-Fleet": "edge"}))])
    same = shown_hosts_toml(old, old)
    changed = shown_hosts_toml(new, old)
    encoded = base64.b64encode(("fleet:" + SECRET).encode()).decode()
    for text in (shown_hosts_toml(old), same, changed):
        assert SECRET not in text and encoded[:12] not in text
        assert tomllib.loads(text)  # still TOML
    assert 'Authorization = "********"' in same
    assert 'Authorization = "******** (changed)"' in changed
    assert 'X-Fleet = "edge"' in changed
    assert shown_hosts_toml(None) is None


def test_shown_hosts_toml_masks_a_broken_file_by_line():
    broken = '[host."https://a.lan"\n  Authorization = "Basic c2VjcmV0"\n  X-Fleet = "edge"\n'
    shown = shown_hosts_toml(broken)
    assert "c2VjcmV0" not in shown and 'X-Fleet = "edge"' in shown


def test_a_secret_file_is_written_0600_also_over_a_wider_one(tmp_path):
    path = str(tmp_path / "docker.io" / "hosts.toml")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write("old\n")
    os.chmod(path, 0o644)
    change = dict(file_change(path, "old\n", "new\n"), secret=True)
    write_change(change)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    fresh = str(tmp_path / "quay.io" / "hosts.toml")
    write_change(dict(file_change(fresh, None, "new\n"), secret=True))
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600
    plain = str(tmp_path / "ghcr.io" / "hosts.toml")
    write_change(file_change(plain, None, "new\n"))
    assert stat.S_IMODE(os.stat(plain).st_mode) == 0o644


# -- Docker and Podman ---------------------------------------------------------------------------------

def test_docker_cannot_send_a_mirrors_credentials_or_use_a_server():
    assert check_docker_mirrors(mirrors("https://a.lan", {"url": "https://b.lan", "headers": {"X": "1"}})) is not None
    reason = check_docker_mirrors(mirrors(BASIC))
    assert "mirrors[0] (http://cache.lan:5012) sets auth" in reason and "registry_login" in reason
    assert SECRET not in reason
    assert "containerd" in check_docker_mirrors(mirrors("https://a.lan"), server="https://up.lan")
    assert check_docker_mirrors(mirrors("https://a.lan", {"url": "https://b.lan", "client_cert": "/c.pem"})) is None


def test_podman_takes_basic_auth_but_no_token_headers_or_server():
    assert check_podman_mirrors(mirrors(BASIC)) is None
    assert "bearer token" in check_podman_mirrors(mirrors({"url": "https://a.lan", "auth": {"token": "t0k"}}))
    assert "headers" in check_podman_mirrors(mirrors({"url": "https://a.lan", "headers": {"X": "1"}}))
    assert "containerd" in check_podman_mirrors(mirrors("https://a.lan"), server="https://up.lan")


def test_podman_auth_file_gets_the_mirrors_login_keyed_by_location_and_keeps_the_rest():
    config = {"auths": {"other.lan": {"auth": "b3RoZXI6cHc="}}, "credHelpers": {"x.lan": "pass"}}
    wanted = mirrors(BASIC, dict(BASIC, url="https://gw.lan/v2/hub", auth={"username": "u2", "password": "p2"}),
                     "https://plain.lan")
    after = auth_file_after(config, wanted, "present")
    assert set(after["auths"]) == {"other.lan", "cache.lan:5012", "gw.lan/v2/hub"}
    assert find_credentials(after, "cache.lan:5012")["password"] == SECRET
    assert after["credHelpers"] == config["credHelpers"]
    assert config == {"auths": {"other.lan": {"auth": "b3RoZXI6cHc="}}, "credHelpers": {"x.lan": "pass"}}
    assert auth_file_after(after, wanted, "present") is after  # nothing to change: the same data
    removed = auth_file_after(after, mirrors(BASIC), "absent")
    assert set(removed["auths"]) == {"other.lan", "gw.lan/v2/hub"}
    assert json.dumps(removed)  # plain data
