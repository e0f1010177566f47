"""Registry credentials in the Docker config file: keys, encoding, lookup, merge, masking, writing."""

import base64
import json
import os
import stat

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth import (
    DOCKER_HUB_KEY,
    AuthConfigError,
    credential_helper,
    decode_auth,
    default_config_path,
    encode_auth,
    find_credentials,
    image_registry_key,
    login_target,
    matching_keys,
    parse_config,
    read_config,
    registry_hostname,
    x_registry_auth,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth_store import (
    masked,
    render_config,
    scrub,
    with_login,
    without_login,
    write_config,
)


@pytest.mark.parametrize("value, key", [
    ("docker.io", DOCKER_HUB_KEY),
    ("index.docker.io", DOCKER_HUB_KEY),
    ("https://index.docker.io/v1/", DOCKER_HUB_KEY),
    ("registry-1.docker.io", DOCKER_HUB_KEY),
    ("127.0.0.1:5000", "127.0.0.1:5000"),
    ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ("https://Registry.Example.com/v2/", "registry.example.com"),
    ("registry.example.com:443", "registry.example.com:443"),
    (" reg.lan ", "reg.lan"),
])
def test_normalize_registry(value, key):
    assert login_target(value)[0] == key


@pytest.mark.parametrize("value, words", [
    ("", "empty"),
    ("ftp://reg.lan", "scheme must be http or https"),
    ("https://user:pw@reg.lan", "must not carry credentials"),
    ("reg.lan?x=1", "query"),
    ("reg.lan:99999", "out of range"),
    ("reg.lan:port", "not a host[:port]"),
])
def test_normalize_registry_refusals(value, words):
    with pytest.raises(AuthConfigError) as caught:
        login_target(value)
    assert words in str(caught.value)


def test_refusal_does_not_echo_credentials():
    with pytest.raises(AuthConfigError) as caught:
        login_target("https://user:s3cret@reg.lan")
    assert "s3cret" not in str(caught.value)


def test_hostnames_and_image_keys():
    assert registry_hostname("https://index.docker.io/v1/") == "docker.io"
    assert registry_hostname("http://reg.lan:5000/v2/") == "reg.lan:5000"
    assert image_registry_key("docker.io") == DOCKER_HUB_KEY
    assert image_registry_key("127.0.0.1:5000") == "127.0.0.1:5000"


def test_auth_round_trip():
    value = encode_auth("alice", "pa:ss wörd")
    assert base64.b64decode(value) == "alice:pa:ss wörd".encode()
    assert decode_auth(value) == ("alice", "pa:ss wörd")


@pytest.mark.parametrize("value", ["!!!notbase64", base64.b64encode(b"nocolon").decode(),
                                   base64.b64encode(b"\xff\xfe:x").decode()])
def test_decode_auth_refusals_do_not_echo(value):
    with pytest.raises(AuthConfigError) as caught:
        decode_auth(value)
    assert value not in str(caught.value)


def test_x_registry_auth_is_urlsafe_json():
    header = x_registry_auth({"username": "alice", "password": "p?>>>"}, "reg.lan:5000")
    assert "+" not in header and "/" not in header
    assert json.loads(base64.urlsafe_b64decode(header)) == {
        "username": "alice", "password": "p?>>>", "serveraddress": "reg.lan:5000"}
    token = x_registry_auth({"username": "alice", "identitytoken": "tok"}, DOCKER_HUB_KEY)
    assert json.loads(base64.urlsafe_b64decode(token)) == {"identitytoken": "tok", "serveraddress": DOCKER_HUB_KEY}


def test_parse_config_errors_name_the_file():
    assert parse_config(None) == {}
    assert parse_config(b"  \n") == {}
    with pytest.raises(AuthConfigError, match=r"/x/config.json is not valid JSON at line 2"):
        parse_config(b'{"auths": {}\n}}', "/x/config.json")
    with pytest.raises(AuthConfigError, match="holds a JSON list"):
        parse_config(b"[]", "/x/config.json")
    with pytest.raises(AuthConfigError, match='"auths" is not an object'):
        parse_config(b'{"auths": []}', "/x/config.json")
    with pytest.raises(AuthConfigError, match="not UTF-8"):
        parse_config(b'{"a": "\xff"}', "/x/config.json")


CONFIG = {
    "auths": {
        "https://index.docker.io/v1/": {"auth": encode_auth("hubuser", "hubpass")},
        "http://reg.lan:5000": {"auth": encode_auth("old", "oldpass")},
        "other.lan": {"auth": encode_auth("o", "p")},
    },
    "credsStore": "pass",
    "proxies": {"default": {"httpProxy": "http://proxy.lan:3128"}},
}


def test_lookup_by_host_in_any_key_form():
    assert find_credentials(CONFIG, "docker.io")["username"] == "hubuser"
    assert find_credentials(CONFIG, "index.docker.io")["password"] == "hubpass"
    found = find_credentials(CONFIG, "reg.lan:5000")
    assert (found["key"], found["username"], found["password"]) == ("http://reg.lan:5000", "old", "oldpass")
    assert find_credentials(CONFIG, "missing.lan") is None
    assert find_credentials({}, "docker.io") is None


def test_exact_key_wins():
    config = {"auths": {"https://reg.lan": {"auth": encode_auth("a", "1")}, "reg.lan": {"auth": encode_auth("b", "2")}}}
    assert matching_keys(config, "reg.lan") == ["reg.lan", "https://reg.lan"]
    assert find_credentials(config, "reg.lan")["username"] == "b"


def test_lookup_of_plain_fields_and_tokens():
    config = {"auths": {"a.lan": {"username": "u", "password": "p"}, "b.lan": {"identitytoken": "t"},
                        "c.lan": {}, "d.lan": "junk"}}
    assert find_credentials(config, "a.lan")["password"] == "p"
    assert find_credentials(config, "b.lan")["identitytoken"] == "t"
    assert find_credentials(config, "c.lan") is None
    assert find_credentials(config, "d.lan") is None


def test_broken_entry_is_named_without_its_value():
    config = {"auths": {"a.lan": {"auth": "bm9jb2xvbg=="}}}
    with pytest.raises(AuthConfigError) as caught:
        find_credentials(config, "a.lan")
    assert "'a.lan'" in str(caught.value) and "bm9jb2xvbg" not in str(caught.value)


def test_with_login_merges_and_keeps_everything_else():
    new = with_login(CONFIG, "reg.lan:5000", "alice", "secret")
    assert new["auths"]["reg.lan:5000"] == {"auth": encode_auth("alice", "secret")}
    assert new["credsStore"] == "pass" and new["proxies"] == CONFIG["proxies"]
    for key in CONFIG["auths"]:
        assert new["auths"][key] == CONFIG["auths"][key]
    assert "reg.lan:5000" not in CONFIG["auths"]  # the input is not changed
    assert find_credentials(new, "reg.lan:5000")["username"] == "alice"  # the exact key wins over http://


def test_with_login_drops_stale_secrets_but_keeps_other_fields():
    config = {"auths": {"a.lan": {"auth": "x", "identitytoken": "stale", "password": "p", "email": "a@b"}}}
    assert with_login(config, "a.lan", "u", "v")["auths"]["a.lan"] == {"email": "a@b", "auth": encode_auth("u", "v")}
    assert with_login({}, "a.lan", "u", "v") == {"auths": {"a.lan": {"auth": encode_auth("u", "v")}}}


def test_without_login_removes_every_form_of_the_host():
    config = with_login(CONFIG, "reg.lan:5000", "alice", "secret")
    new, removed = without_login(config, "reg.lan:5000")
    assert sorted(removed) == ["http://reg.lan:5000", "reg.lan:5000"]
    assert set(new["auths"]) == {"https://index.docker.io/v1/", "other.lan"}
    assert new["credsStore"] == "pass"
    assert without_login(CONFIG, "nothing.lan") == (CONFIG, [])


def test_masked_hides_every_secret():
    config = dict(CONFIG, auths=dict(CONFIG["auths"], **{"t.lan": {"identitytoken": "tok3n", "password": "pw"}}))
    shown = json.dumps(masked(config))
    for secret in ("hubpass", "oldpass", encode_auth("hubuser", "hubpass"), "tok3n", '"pw"'):
        assert secret not in shown
    assert masked(config)["auths"][DOCKER_HUB_KEY]["auth"] == "hubuser:********"
    assert masked({"auths": {"x": {"auth": "broken"}}})["auths"]["x"]["auth"] == "?:********"


def test_scrub():
    assert scrub("the password hunter2 was wrong", "hunter2", "") == "the password ******** was wrong"


def test_credential_helper():
    assert credential_helper(CONFIG, "reg.lan") == "pass"
    assert credential_helper({"credHelpers": {"https://reg.lan": "ecr-login"}, "credsStore": "pass"},
                             "reg.lan") == "ecr-login"
    assert credential_helper({}, "reg.lan") is None


def test_default_config_path():
    assert default_config_path({"DOCKER_CONFIG": "/etc/dc"}) == "/etc/dc/config.json"
    assert default_config_path({}, home="/home/u") == "/home/u/.docker/config.json"


def test_render_is_tab_indented_json():
    text = render_config({"auths": {"a": {"auth": "x"}}})
    assert text.endswith(b"\n") and b'\n\t"auths"' in text
    assert json.loads(text) == {"auths": {"a": {"auth": "x"}}}


def test_write_creates_private_file_and_directory(tmp_path):
    path = tmp_path / "home" / ".docker" / "config.json"
    write_config(str(path), {"auths": {"a": {"auth": "x"}}})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    raw, config = read_config(str(path))
    assert raw == render_config(config)


def test_write_tightens_an_existing_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    write_config(str(path), {"auths": {}})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in os.listdir(tmp_path) if p != "config.json"]  # no temporary file left


def test_write_as_root_gives_new_files_to_the_directory_owner(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 4242, 4343)
    path = home / ".docker" / "config.json"
    write_config(str(path), {})
    for item in (path, path.parent):
        assert (os.stat(item).st_uid, os.stat(item).st_gid) == (4242, 4343)


def test_read_config_of_a_missing_file(tmp_path):
    assert read_config(str(tmp_path / "none.json")) == (None, {})


def test_write_failure_names_the_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AuthConfigError) as caught:
        write_config(str(blocker / "config.json"), {})
    assert str(blocker) in str(caught.value)
