"""Per-mirror credentials, headers, client certificates and the upstream server: validated whole, never echoed."""

import base64

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import redact
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    MirrorError,
    auth_header,
    mirror_secrets,
    normalise_mirror,
    normalise_mirrors,
    normalise_server,
    shown_mirrors,
)

SECRET = "s3cret-Pa55"


def test_basic_auth_and_bearer_token_are_kept_and_become_an_authorization_header():
    basic = normalise_mirror({"url": "https://m.lan", "auth": {"username": "fleet", "password": SECRET}})
    assert basic["auth"] == {"username": "fleet", "password": SECRET}
    assert auth_header(basic["auth"]) == "Basic " + base64.b64encode(b"fleet:" + SECRET.encode()).decode()
    bearer = normalise_mirror({"url": "https://m.lan", "auth": {"token": "abc.DEF-123_~+/=="}})
    assert auth_header(bearer["auth"]) == "Bearer abc.DEF-123_~+/=="
    assert auth_header(None) is None
    assert normalise_mirror({"url": "https://m.lan", "auth": {}})["auth"] is None


def test_a_numeric_password_is_a_string():
    assert normalise_mirror({"url": "https://m.lan", "auth": {"username": "u", "password": 123456}})["auth"] == \
        {"username": "u", "password": "123456"}


def test_headers_are_lists_and_client_cert_and_key_are_kept():
    mirror = normalise_mirror({"url": "https://m.lan", "headers": {"X-Fleet": "edge", "X-Multi": ["a", "b c"]},
                               "client_cert": "/etc/ssl/c.pem", "client_key": "/etc/ssl/c.key"})
    assert mirror["headers"] == {"X-Fleet": ["edge"], "X-Multi": ["a", "b c"]}
    assert (mirror["client_cert"], mirror["client_key"]) == ("/etc/ssl/c.pem", "/etc/ssl/c.key")


def test_the_default_headers_are_not_shared_between_mirrors():
    first, second = normalise_mirrors(["https://a.lan", "https://b.lan"])
    first["headers"]["X"] = ["1"]
    assert second["headers"] == {}


@pytest.mark.parametrize("options, words", [
    ({"auth": "fleet:" + SECRET}, ["auth must be a dict", "{username: ..., password: ...}", "{token: ...}"]),
    ({"auth": {"username": "fleet"}}, ["auth takes either username and password", "not username"]),
    ({"auth": {"username": "fleet", "password": SECRET, "token": "t"}}, ["auth takes either"]),
    ({"auth": {"user": "fleet", "password": SECRET}}, ["auth takes either", "password, user"]),
    ({"auth": {"username": "fle:et", "password": SECRET}}, ["auth.username must be a user name without ':'"]),
    ({"auth": {"username": "fleet", "password": SECRET + "\nX-Evil: 1"}},
     ["auth.password", "no line break", "not shown"]),
    ({"auth": {"username": "fleet", "password": ""}}, ["auth.password must be a non-empty password"]),
    ({"auth": {"token": SECRET + " x"}}, ["auth.token must be a bearer token"]),
    ({"auth": {"token": SECRET + "\r\n"}}, ["auth.token must be a bearer token"]),
    ({"headers": ["X-Fleet: edge"]}, ["headers must be a dict"]),
    ({"headers": {"X Fleet": "edge"}}, ["'X Fleet' is not an HTTP header name"]),
    ({"headers": {"X-Fleet:": "edge"}}, ["is not an HTTP header name"]),
    ({"headers": {"X-Fleet": "edge\nX-Evil: 1"}}, ["headers.X-Fleet must be", "no line breaks"]),
    ({"headers": {"X-Fleet": " edge"}}, ["headers.X-Fleet", "no blank at either end"]),
    ({"headers": {"X-Fleet": []}}, ["headers.X-Fleet must be a non-empty string"]),
    ({"headers": {"X-Fleet": "é"}}, ["visible ASCII"]),
    ({"headers": {"X-Fleet": 1}}, ["headers.X-Fleet must be"]),
    ({"headers": {"x-fleet": "a", "X-Fleet": "b"}}, ["names x-fleet and X-Fleet, the same header"]),
    ({"headers": {"Authorization": "Basic x"}, "auth": {"token": "t0ken"}}, ["sets auth and an Authorization header"]),
    ({"client_cert": "client.pem"}, ["client_cert must be an absolute path"]),
    ({"client_cert": "/etc/ssl/c.pem\n"}, ["client_cert must be an absolute path", "without control characters"]),
    ({"ca_file": "/etc/ssl/ca.pem\x00"}, ["ca_file must be an absolute path"]),
    ({"client_key": "/etc/ssl/c.key"}, ["client_key needs client_cert"]),
])
def test_bad_credentials_headers_and_paths_are_refused_by_name_and_never_shown(options, words):
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors([dict({"url": "https://m.lan"}, **options)])
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert SECRET not in message
    assert "mirrors[0] (https://m.lan)" in message


@pytest.mark.parametrize("name", ["client_cert", "client_key", "ca_file"])
def test_certificates_apply_to_https_mirrors_only(name):
    options = {"url": "http://m.lan:5000", name: "/etc/ssl/x.pem", "client_cert": "/etc/ssl/c.pem"}
    with pytest.raises(MirrorError, match="applies to https mirrors only"):
        normalise_mirror(options)


def test_mirror_secrets_hold_the_password_its_header_form_and_secret_named_headers():
    mirror = normalise_mirror({"url": "https://m.lan", "auth": {"username": "fleet", "password": SECRET},
                               "headers": {"X-Api-Key": "k3y-value", "X-Fleet": "edge"}})
    found = mirror_secrets(mirror)
    header = auth_header(mirror["auth"])
    assert {SECRET, header, header.split()[1], "k3y-value"} <= found
    assert "edge" not in found and "fleet" not in found


def test_a_mirror_in_a_result_shows_no_secret():
    mirror = normalise_mirror({"url": "https://m.lan", "auth": {"token": "t0ken-" + SECRET},
                               "headers": {"X-Api-Key": "k3y-value", "X-Fleet": "edge"}})
    shown = redact(mirror)
    assert shown["auth"] == "********"
    assert shown["headers"] == {"X-Api-Key": "********", "X-Fleet": ["edge"]}
    assert SECRET not in str(shown) and "k3y-value" not in str(shown)


def test_headers_that_carry_credentials_without_saying_so_are_masked_too():
    mirror = normalise_mirror({"url": "https://m.lan", "headers": {
        "Cookie": "session=c00kie", "X-JFrog-Art-Api": "art-k3y", "X-Api-Key": "k3y-value", "X-Fleet": "edge"}})
    shown = shown_mirrors([mirror])[0]
    assert shown["headers"] == {"Cookie": "********", "X-JFrog-Art-Api": "********", "X-Api-Key": "********",
                                "X-Fleet": ["edge"]}
    assert {"session=c00kie", "art-k3y", "k3y-value"} <= mirror_secrets(mirror)
    assert "edge" not in mirror_secrets(mirror)


@pytest.mark.parametrize("value, expected", [
    (None, None),
    ("", None),
    ("https://Registry.Internal:5000/", "https://registry.internal:5000"),
    ("http://10.0.0.5:5000", "http://10.0.0.5:5000"),
])
def test_server_is_a_canonical_url(value, expected):
    assert normalise_server(value, "docker.io") == expected


@pytest.mark.parametrize("value, registry, words", [
    ("registry.internal", "docker.io", ["server", "no scheme", "https://registry.internal"]),
    ("https://user:" + SECRET + "@registry.internal", "docker.io", ["server", "credentials"]),
    ("https://registry.internal\n", "docker.io", ["server", "control characters"]),
    ("https://registry.internal/?a=1", "docker.io", ["server", "query string"]),
    ("https://registry.internal", "_default", ["server cannot be set for registry _default"]),
    (5000, "docker.io", ["server must be a URL string"]),
])
def test_a_bad_server_is_refused(value, registry, words):
    with pytest.raises(MirrorError) as caught:
        normalise_server(value, registry)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("url", ['https://u:pa"%s@m.lan' % SECRET, "https://u:pa'%s@m.lan" % SECRET,
                                 "https://u:pa %s@m.lan" % SECRET, "https://u:pa<%s@m.lan" % SECRET,
                                 "https://u:pa\t%s@m.lan" % SECRET])
def test_credentials_with_a_quote_or_a_blank_are_masked_too(url):
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors([url])
    assert SECRET not in str(caught.value) and "https://********@m.lan" in str(caught.value)
