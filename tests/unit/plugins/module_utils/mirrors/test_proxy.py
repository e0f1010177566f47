"""The runtimes' proxy as data: settings validated whole, rendered per runtime, passwords never shown."""

import pytest
import tomllib

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import secret_values
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import userinfo_secrets as proxy_secrets
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy import (
    choose_docker_method,
    containers_conf_text,
    daemon_json_proxies,
    drop_in_text,
    engine_major,
    env_file_text,
    environment,
    parse_containers_conf_env,
    shown_env_text,
    shown_settings,
    unit_paths,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy_settings import (
    ProxyError,
    check_unit_names,
    is_empty,
    normalise_no_proxy,
    normalise_settings,
)

SECRET = "s3cret%40Pa55"
PROXY = "http://fleet:%s@proxy.lan:3128" % SECRET


def test_settings_are_kept_as_given_and_no_proxy_is_a_list():
    no_proxy = "localhost,.lan,10.0.0.0/8,*.corp,reg.lan:5000,[fd00::2]"
    settings = normalise_settings(PROXY + "/", "socks5h://[fd00::1]:1080", no_proxy)
    assert settings == {"http_proxy": PROXY, "https_proxy": "socks5h://[fd00::1]:1080",
                        "no_proxy": ["localhost", ".lan", "10.0.0.0/8", "*.corp", "reg.lan:5000", "[fd00::2]"]}
    assert normalise_no_proxy(["a.lan", "a.lan", "*"]) == ["a.lan", "*"]
    assert is_empty(normalise_settings(None, "", []))
    assert not is_empty(normalise_settings(None, "http://p.lan:3128", None))


@pytest.mark.parametrize("value, words", [
    ("proxy.lan:3128", ["http_proxy", "is not a proxy URL", "scheme://"]),
    ("ftp://proxy.lan", ["is not a proxy URL"]),
    ("http://proxy.lan:3128/path", ["no path"]),
    ("http://proxy.lan:3128\nX: 1", ["is not a proxy URL"]),
    ("http://proxy .lan", ["is not a proxy URL"]),
    ("http://proxy.lan:99999", ["the port must be 1 to 65535"]),
    ("http://fleet:pa\"ss@proxy.lan", ["percent-encode", "%40", "http://********@proxy.lan"]),
    ("http://fleet:pa$ss@proxy.lan", ["percent-encode"]),
    ("http://fleet:pa ss@proxy.lan", ["percent-encode"]),
    ("http://fleet:pa%zzss@proxy.lan", ["percent-encode"]),
    ("http://fleet:" + SECRET + "@proxy.lan?x=1", ["is not a proxy URL", "http://********@proxy.lan?x=1"]),
    ("http://fle'et:pa ss@proxy.lan", ["is not a proxy URL", "http://********@proxy.lan"]),
    (3128, ["http_proxy must be a URL string"]),
])
def test_a_bad_proxy_is_refused_by_name_without_its_password(value, words):
    with pytest.raises(ProxyError) as caught:
        normalise_settings(value, None, None)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    assert SECRET not in str(caught.value) and "pa\"ss" not in str(caught.value) and "pa ss" not in str(caught.value)


@pytest.mark.parametrize("entry", ["a b", "a,", "", "http://x", "a\n", "é.lan", ".", "a;b", "1.2.3.4/x", "[::1",
                                   "::1]", "a..", "-a"])
def test_a_bad_no_proxy_entry_is_refused(entry):
    with pytest.raises(ProxyError, match="no_proxy entry"):
        normalise_no_proxy([entry])


def test_addresses_and_cidrs_are_no_proxy_entries():
    entries = ["10.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "[fd00::1]:5000", "10.0.0.1:5000"]
    assert normalise_no_proxy(entries) == entries


def test_proxy_secrets_hold_what_the_url_pattern_misses():
    assert proxy_secrets('http://fleet:pa"ss word@proxy.lan') == {'fleet:pa"ss word', 'pa"ss word'}
    assert proxy_secrets(PROXY) == {"fleet:" + SECRET, SECRET}
    assert proxy_secrets("http://proxy.lan") == set() and proxy_secrets(None) == set()


def test_every_problem_is_reported_at_once():
    with pytest.raises(ProxyError) as caught:
        normalise_settings("proxy.lan", "ftp://x", ["a b"])
    assert all(word in str(caught.value) for word in ("http_proxy", "https_proxy", "no_proxy"))


def test_environment_has_each_variable_in_both_cases():
    settings = normalise_settings(PROXY, None, ["localhost", ".lan"])
    assert environment(settings) == [("HTTP_PROXY", PROXY), ("http_proxy", PROXY),
                                     ("NO_PROXY", "localhost,.lan"), ("no_proxy", "localhost,.lan")]


def test_daemon_json_proxies_use_dockers_key_names():
    settings = normalise_settings(PROXY, "http://p.lan:3128", ["localhost", ".lan"])
    assert daemon_json_proxies(settings) == {"http-proxy": PROXY, "https-proxy": "http://p.lan:3128",
                                             "no-proxy": "localhost,.lan"}
    assert daemon_json_proxies(normalise_settings(None, "http://p.lan:3128", None)) == \
        {"https-proxy": "http://p.lan:3128"}


def test_the_unit_gets_an_environment_file_named_by_its_drop_in():
    drop_in, env_file = unit_paths("docker.service")
    assert drop_in == "/etc/systemd/system/docker.service.d/50-dockhand-proxy.conf"
    assert env_file == "/etc/systemd/system/docker.service.d/50-dockhand-proxy.env"
    text = drop_in_text("docker.service", env_file)
    assert text.endswith("[Service]\nEnvironmentFile=-%s\n" % env_file)
    assert drop_in_text("a.service", "/etc/50%.env").endswith("EnvironmentFile=-/etc/50%%.env\n")  # a specifier
    env = env_file_text("docker.service", normalise_settings(PROXY, None, [".lan"]))
    assert env.splitlines()[1:] == ["HTTP_PROXY=" + PROXY, "http_proxy=" + PROXY, "NO_PROXY=.lan", "no_proxy=.lan"]
    assert env.startswith("# Written by dockhand.runtime (engine_proxy)")


def test_podman_gets_engine_env_in_toml():
    text = containers_conf_text(normalise_settings(PROXY, "http://p.lan:3128", ["localhost"]))
    env = tomllib.loads(text)["engine"]["env"]
    assert tomllib.loads(text)["containers"] == {"http_proxy": False}  # containers do not get the proxy
    assert env == ["HTTP_PROXY=" + PROXY, "http_proxy=" + PROXY, "HTTPS_PROXY=http://p.lan:3128",
                   "https_proxy=http://p.lan:3128", "NO_PROXY=localhost", "no_proxy=localhost"]
    assert parse_containers_conf_env(text) == env
    assert parse_containers_conf_env("[engine]\n") == []


def test_passwords_are_masked_in_what_is_shown_and_found_for_no_log():
    settings = normalise_settings(PROXY, None, None)
    assert SECRET not in str(shown_settings(settings))
    assert shown_settings(settings)["http_proxy"] == "http://fleet:********@proxy.lan:3128"
    for text in (env_file_text("docker.service", settings), containers_conf_text(settings)):
        assert SECRET in text and SECRET not in shown_env_text(text)
    assert SECRET in secret_values({"http_proxy": PROXY})  # protect(module) adds it to no_log_values


@pytest.mark.parametrize("version, major", [("20.10.24+dfsg1", 20), ("27.3.1", 27), ("v23.0.0", 23), ("", None),
                                            (None, None), ("dev", None)])
def test_engine_major(version, major):
    assert engine_major(version) == major


@pytest.mark.parametrize("method, major, chosen", [
    ("auto", 20, "systemd"), ("auto", 23, "daemon_json"), ("auto", None, "systemd"),
    ("daemon_json", 20, "daemon_json"), ("systemd", 27, "systemd"),
])
def test_docker_method(method, major, chosen):
    assert choose_docker_method(method, major) == chosen


@pytest.mark.parametrize("value", ["docker", "../../etc/evil.service", "docker.service\nExecStart=/bin/sh",
                                   "docker service.service", "", None])
def test_unit_names_that_are_no_service_unit_are_refused_by_option(value):
    with pytest.raises(ProxyError, match="^containerd_unit: .* is not a systemd service unit's name"):
        check_unit_names(unit="docker.service", containerd_unit=value)


def test_service_unit_names_pass():
    check_unit_names(unit="docker.service", containerd_unit="containerd@main.service")
