"""The mirror model: mirrors and registries as a task gives them, normalised, and what to change when they are wrong."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    DEFAULT_CAPABILITIES,
    MirrorError,
    normalise_mirror,
    normalise_mirrors,
    normalise_registry,
    scheme_typo,
    shown_url,
)

# -- the mirror model ------------------------------------------------------------------


def test_a_url_string_gets_every_default():
    assert normalise_mirror("https://mirror.example.com") == {
        "url": "https://mirror.example.com", "insecure": False, "skip_verify": False, "ca_file": None,
        "capabilities": ["pull", "resolve"], "override_path": False, "auth": None, "headers": {},
        "client_cert": None, "client_key": None}


@pytest.mark.parametrize("given, url", [
    ("https://Mirror.Example.COM/", "https://mirror.example.com"),
    ("  http://10.0.0.5:5000//  ", "http://10.0.0.5:5000"),
    ("HTTPS://mirror.example.com/Some/Path/", "https://mirror.example.com/Some/Path"),
    ("http://[fd00::1]:5000", "http://[fd00::1]:5000"),
])
def test_urls_are_normalised(given, url):
    assert normalise_mirror(given)["url"] == url


def test_a_dict_keeps_its_options_and_converts_booleans():
    mirror = normalise_mirror({"url": "https://m.example.com", "insecure": "yes", "skip_verify": 0,
                               "ca_file": "/etc/ssl/m.pem", "capabilities": ["resolve", "pull", "push"],
                               "override_path": "true"})
    assert mirror == {"url": "https://m.example.com", "insecure": True, "skip_verify": False,
                      "ca_file": "/etc/ssl/m.pem", "capabilities": ["pull", "resolve", "push"], "override_path": True,
                      "auth": None, "headers": {}, "client_cert": None, "client_key": None}
    assert normalise_mirror({"url": "https://m.example.com", "capabilities": "pull, resolve"})["capabilities"] == \
        ["pull", "resolve"]


@pytest.mark.parametrize("value, words", [
    ("mirror.example.com", ["mirrors[0]", "no scheme", "https://mirror.example.com"]),
    ("ftp://mirror.example.com", ["mirrors[0]", "scheme must be http or https"]),
    ("https://user:s3cret@mirror.example.com", ["mirrors[0]", "credentials", "registry_login"]),
    ("https://mirror.example.com/?token=1", ["query string"]),
    ("https://mirror.example.com/#top", ["fragment"]),
    ("https://", ["no host name"]),
    ("https://mirror.example.com:99999", ["not a valid URL"]),
    ("https://mirror example.com", ["white space"]),
    ("https://mirror.example.com/\nTrusted: yes", ["mirrors[0]", "control characters"]),
    ("https://user:s3cret/x@mirror.example.com", ["mirrors[0]", "credentials", "user:********@"]),
    ("https://s3cret@mirror.example.com", ["credentials", "********@mirror.example.com"]),
    ("http//user:s3cret@172.17.0.3:5001", ["credentials", "http//********@172.17.0.3:5001"]),
    ({"url": "https://user:s3cret@m.example.com", "insecur": True}, ["did you mean insecure?", "user:********@"]),
    ("", ["has no url"]),
    (42, ["mirrors[0] must be a URL string or a dict"]),
    ({"insecure": True}, ["has no url", "{url: https://mirror.example.com"]),
    ({"url": "https://m.example.com", "skipverify": True}, ["unknown key skipverify", "did you mean skip_verify?"]),
    ({"url": "https://m.example.com", "insecure": "maybe"}, ["mirrors[0] (https://m.example.com).insecure",
                                                             "true or false", "maybe"]),
    ({"url": "http://m.example.com", "ca_file": "/etc/ca.pem"}, ["ca_file applies to https mirrors only"]),
    ({"url": "https://m.example.com", "ca_file": "ca.pem"}, ["ca_file must be an absolute path"]),
    ({"url": "https://m.example.com", "capabilities": ["pull", "fetch"]}, ["'fetch' unknown", "pull, resolve, push"]),
    ({"url": "https://m.example.com", "capabilities": []}, ["non-empty list"]),
])
def test_bad_mirrors_are_named_with_what_to_change(value, words):
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors([value])
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert "s3cret" not in message


def test_every_problem_is_reported_at_once_and_repeats_are_refused():
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors(["https://a.example.com", "b.example.com", "https://A.example.com/", "ftp://c"])
    message = str(caught.value)
    assert "mirrors[1]" in message and "no scheme" in message
    assert "mirrors[2] (https://a.example.com) repeats mirrors[0]" in message
    assert "mirrors[3]" in message and "ftp" in message


@pytest.mark.parametrize("given, meant", [
    ("http//172.17.0.3:5001", "http://172.17.0.3:5001"),
    ("http:/172.17.0.3:5001", "http://172.17.0.3:5001"),
    ("https;//mirror.example.com", "https://mirror.example.com"),
    ("htp://mirror.example.com", "http://mirror.example.com"),
    ("htps://mirror.example.com/path", "https://mirror.example.com/path"),
    ("http:mirror.lan:5000", "http://mirror.lan:5000"),
    ("HTTP///mirror.lan", "http://mirror.lan"),
    ("http:\\\\mirror.lan", "http://mirror.lan"),
])
def test_a_mangled_scheme_is_recognised_with_the_url_it_meant(given, meant):
    assert scheme_typo(given) == meant
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors([given])
    message = str(caught.value)
    assert "mangled scheme: write %s" % meant in message, message
    assert "https://http" not in message


@pytest.mark.parametrize("given", [
    "http://mirror.lan", "HTTPS://mirror.lan:5000", "mirror.example.com", "mirror.lan:5000", "localhost:5000",
    "ftp://mirror.lan", "registry:5000", "https://", 42, None,
])
def test_what_is_not_a_mangled_scheme(given):
    assert scheme_typo(given) is None


def test_urls_are_shown_without_credentials():
    assert shown_url("https://u:pa/ss@m.lan/x") == "https://u:********@m.lan/x"
    assert shown_url("u:pass@m.lan:5000") == "u:********@m.lan:5000"
    assert shown_url("https://m.lan/x") == "https://m.lan/x"


def test_mirrors_may_be_empty_or_one_string():
    assert normalise_mirrors(None) == []
    assert normalise_mirrors("https://m.example.com")[0]["url"] == "https://m.example.com"


@pytest.mark.parametrize("given, registry", [
    ("docker.io", "docker.io"), ("index.docker.io", "docker.io"), ("registry-1.docker.io", "docker.io"),
    ("Quay.IO", "quay.io"), (" registry.example.com:5000 ", "registry.example.com:5000"), ("_default", "_default"),
    ("[fd00::1]:5000", "[fd00::1]:5000"), ("localhost", "localhost"),
])
def test_registries_are_normalised(given, registry):
    assert normalise_registry(given) == registry


@pytest.mark.parametrize("given, words", [
    ("https://quay.io", "without a scheme (quay.io)"),
    ("docker.io/library", "without a path (docker.io)"),
    ("registry.example.com:70000", "not host[:port]"),
    ("-bad-.example.com", "not host[:port]"),
    ("", "registry must be"),
    (None, "registry must be"),
])
def test_bad_registries(given, words):
    with pytest.raises(MirrorError) as caught:
        normalise_registry(given)
    assert words in str(caught.value)


def test_defaults_are_the_documented_ones():
    assert list(DEFAULT_CAPABILITIES) == ["pull", "resolve"]
