"""Mirror probing: the pure parts (parsing, manifest choice, ranking, error words), then real HTTP
on 127.0.0.1 against a small fake registry (token auth, image indexes, redirects, hangs, trickles)."""

import errno
import hashlib
import http.client
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors import probe
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.probe import (
    EMPTY_LAYER_DIGEST,
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
    ProbeFailure,
    ProbeInputError,
    best_urls,
    check_options,
    choose_challenge,
    choose_layer,
    choose_manifest,
    default_package_path,
    describe_error,
    format_seconds,
    host_platform,
    http_error,
    image_name,
    left_out,
    manifest_kind,
    mask_url,
    parse_challenge,
    parse_image,
    parse_mirror,
    probe_mirrors,
    rank,
    throughput,
    token_from_answer,
    token_url,
)

# --------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("url, scheme, host, port, base", [
    ("https://mirror.example.com", "https", "mirror.example.com", 443, ""),
    ("https://mirror.example.com/", "https", "mirror.example.com", 443, ""),
    ("http://10.0.0.5:5000", "http", "10.0.0.5", 5000, ""),
    ("HTTP://Mirror.Example.com:8080/debian/", "http", "mirror.example.com", 8080, "/debian"),
    ("  http://[::1]:5000  ", "http", "::1", 5000, ""),
])
def test_parse_mirror(url, scheme, host, port, base):
    mirror = parse_mirror(url)
    assert (mirror.scheme, mirror.host, mirror.port, mirror.base_path) == (scheme, host, port, base)
    assert mirror.url == url.strip()


def test_mirror_under_joins_paths():
    assert parse_mirror("http://h:5000").under("/v2/") == "http://h:5000/v2/"
    assert parse_mirror("https://h/").under("/v2/x") == "https://h/v2/x"
    assert parse_mirror("http://h:80/debian/").under("dists/bookworm/Release") == \
        "http://h/debian/dists/bookworm/Release"
    assert parse_mirror("http://[::1]:5000").under("/v2/") == "http://[::1]:5000/v2/"


@pytest.mark.parametrize("url, words", [
    ("mirror.example.com", "has no scheme: write http://mirror.example.com or https://mirror.example.com"),
    ("ftp://mirror.example.com", "the scheme ftp:// is not supported"),
    ("https://user:secret@mirror.example.com", "carries credentials"),
    ("https://mirror.example.com/?x=1", "query string or a fragment"),
    ("https://mirror.example.com/#top", "query string or a fragment"),
    ("http://", "has no host name"),
    ("http://h:port", "not a valid URL"),
    ("", "an entry is empty"),
    ("   ", "an entry is empty"),
])
def test_parse_mirror_refuses_bad_input(url, words):
    with pytest.raises(ProbeInputError) as caught:
        parse_mirror(url)
    assert words in str(caught.value)
    assert "secret" not in str(caught.value)
    if url.strip():
        assert mask_url(url.strip()) in str(caught.value)


def test_mask_url():
    assert mask_url("https://u:pw@h/x") == "https://u:********@h/x"
    assert mask_url("https://u:p/w@h/x") == "https://u:********@h/x"  # a password with a slash
    assert mask_url("u:pw@h:5000") == "u:********@h:5000"  # no scheme
    assert mask_url("https://h/x") == "https://h/x"


@pytest.mark.parametrize("url, meant", [
    ("http//172.17.0.3:5001", "http://172.17.0.3:5001"),
    ("https;//mirror.example.com", "https://mirror.example.com"),
    ("htp://mirror.example.com", "http://mirror.example.com"),
    ("http:/mirror.example.com/debian", "http://mirror.example.com/debian"),
])
def test_parse_mirror_names_the_url_a_mangled_scheme_meant(url, meant):
    with pytest.raises(ProbeInputError) as caught:
        parse_mirror(url)
    assert str(caught.value) == "mirror %r has a mangled scheme: write %s" % (url, meant)


def test_parse_mirror_refuses_control_characters():
    with pytest.raises(ProbeInputError) as caught:
        parse_mirror("http://mirror.lan/debian\nx")
    assert "white space or control characters" in str(caught.value)


@pytest.mark.parametrize("ref, repository, reference", [
    ("busybox", "library/busybox", "latest"),
    ("busybox:1.36", "library/busybox", "1.36"),
    ("library/busybox:stable", "library/busybox", "stable"),
    ("docker.io/library/busybox", "library/busybox", "latest"),
    ("index.docker.io/grafana/grafana:10.0", "grafana/grafana", "10.0"),
    ("registry.hub.docker.com/grafana/grafana:10.0", "grafana/grafana", "10.0"),
    ("registry-1.docker.io/library/busybox", "library/busybox", "latest"),
    ("org/team/app:v1", "org/team/app", "v1"),
    ("busybox@sha256:" + "a" * 64, "library/busybox", "sha256:" + "a" * 64),
    ("busybox:1.36@sha256:" + "b" * 64, "library/busybox", "sha256:" + "b" * 64),
])
def test_parse_image(ref, repository, reference):
    assert parse_image(ref) == (repository, reference)


@pytest.mark.parametrize("ref, words", [
    ("ghcr.io/org/app:1", "names the registry ghcr.io"),
    ("localhost:5000/app", "names the registry localhost:5000"),
    ("127.0.0.1:5000/library/busybox:1.36", "names the registry 127.0.0.1:5000"),
    ("Library/BusyBox", "must be lowercase"),
    ("busybox:bad tag", "white space"),
    ("busybox:-bad", "tag '-bad' is invalid"),
    ("busybox@md5:12", "unsupported algorithm 'md5'"),
    ("", "image is empty"),
])
def test_parse_image_refuses(ref, words):
    with pytest.raises(ProbeInputError) as caught:
        parse_image(ref)
    assert words in str(caught.value)


def test_image_name():
    assert image_name("library/busybox", "latest") == "library/busybox:latest"
    assert image_name("library/busybox", "sha256:ab") == "library/busybox@sha256:ab"


def test_default_package_path():
    text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
    assert default_package_path(text) == "dists/bookworm/Release"
    assert default_package_path('VERSION_CODENAME="jammy"\n') == "dists/jammy/Release"
    assert default_package_path('ID="rhel"\nVERSION_ID="9.3"\n') is None
    assert default_package_path("VERSION_CODENAME=\n") is None
    assert default_package_path("") is None


def test_host_package_path_reads_os_release(tmp_path):
    os_release = tmp_path / "os-release"
    os_release.write_text("VERSION_CODENAME=trixie\n")
    assert probe.host_package_path(str(os_release)) == "dists/trixie/Release"
    assert probe.host_package_path(str(tmp_path / "absent")) is None


@pytest.mark.parametrize("kwargs, words", [
    ({"kind": "registry", "path": "dists/x/Release"}, "path applies to kind=package"),
    ({"kind": "package", "image": "busybox"}, "image applies to kind=registry"),
    ({"kind": "registry", "timeout": 0}, "timeout must be a positive number"),
    ({"kind": "registry", "max_bytes": 0}, "max_bytes must be at least 1"),
    ({"kind": "registry", "pick": 0}, "pick must be at least 1"),
    ({"kind": "registry", "concurrency": 0}, "concurrency must be at least 1"),
    ({"kind": "apt"}, "kind must be one of"),
])
def test_check_options(kwargs, words):
    with pytest.raises(ProbeInputError) as caught:
        check_options(**kwargs)
    assert words in str(caught.value)


def test_check_options_accepts_the_defaults():
    check_options("registry", image="busybox")
    check_options("package", path="dists/bookworm/Release")


# --------------------------------------------------------------------------
# Auth challenges
# --------------------------------------------------------------------------

def test_parse_bearer_challenge():
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                      "scope": "repository:library/busybox:pull"}


def test_parse_challenge_quirks():
    # spaces after commas, unquoted tokens, a comma and an escaped quote inside quotes, case of names
    scheme, params = parse_challenge('BEARER Realm="https://a/t?x=1,y=2", Service=reg, error="say \\"hi\\""')
    assert scheme == "bearer"
    assert params == {"realm": "https://a/t?x=1,y=2", "service": "reg", "error": 'say "hi"'}
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})
    assert parse_challenge("") == (None, {})
    assert parse_challenge(None) == (None, {})


def test_choose_challenge_prefers_bearer():
    assert choose_challenge(['Basic realm="x"', 'Bearer realm="https://a/t"'])[0] == "bearer"
    assert choose_challenge(['Basic realm="x"'])[0] == "basic"
    assert choose_challenge([]) == (None, {})


def test_token_url():
    params = {"realm": "https://auth.example/token", "service": "registry.example"}
    assert token_url(params, "library/busybox") == \
        "https://auth.example/token?service=registry.example&scope=repository%3Alibrary%2Fbusybox%3Apull"
    params = {"realm": "https://auth.example/token?account=x", "scope": "repository:a/b:pull"}
    assert token_url(params, "ignored/here") == "https://auth.example/token?account=x&scope=repository%3Aa%2Fb%3Apull"
    for realm in ("", "/token", "ftp://auth.example/token"):
        with pytest.raises(ProbeFailure) as caught:
            token_url({"realm": realm}, "library/busybox")
        assert "no usable realm" in str(caught.value)


def test_token_from_answer():
    assert token_from_answer(b'{"token": "abc"}') == "abc"
    assert token_from_answer(b'{"access_token": "xyz", "expires_in": 300}') == "xyz"
    for body, words in ((b"<html>", "not answer with JSON"), (b"{}", "holds no token"), (b"[1]", "holds no token")):
        with pytest.raises(ProbeFailure) as caught:
            token_from_answer(body)
        assert words in str(caught.value)


# --------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------

def entry(digest, arch, os_name="linux", variant=None):
    platform = {"architecture": arch, "os": os_name}
    if variant:
        platform["variant"] = variant
    return {"mediaType": MEDIA_OCI_MANIFEST, "digest": digest, "size": 500, "platform": platform}


INDEX = {"mediaType": MEDIA_OCI_INDEX, "manifests": [
    entry("sha256:att", "unknown", "unknown"),
    entry("sha256:armv6", "arm", variant="v6"),
    entry("sha256:armv7", "arm", variant="v7"),
    entry("sha256:amd64", "amd64"),
    entry("sha256:arm64", "arm64", variant="v8"),
    entry("sha256:s390x", "s390x"),
]}


@pytest.mark.parametrize("machine, digest", [
    ("x86_64", "sha256:amd64"),
    ("aarch64", "sha256:arm64"),
    ("armv7l", "sha256:armv7"),
    ("armv6l", "sha256:armv6"),
    ("s390x", "sha256:s390x"),
    ("ppc64le", "sha256:amd64"),  # not in the index: linux/amd64
    ("mips", "sha256:amd64"),
])
def test_choose_manifest_for_host(machine, digest):
    _os, arch, variant = host_platform(machine)
    assert choose_manifest(INDEX, arch, variant)["digest"] == digest


def test_choose_manifest_variant_missing_in_index():
    index = {"manifests": [entry("sha256:arm64", "arm64")]}  # no variant given for arm64
    assert choose_manifest(index, "arm64", "v8")["digest"] == "sha256:arm64"


def test_choose_manifest_falls_back_to_first_real_image():
    index = {"manifests": [entry("sha256:att", "unknown", "unknown"), entry("sha256:win", "amd64", "windows"),
                           entry("sha256:riscv", "riscv64")]}
    assert choose_manifest(index, "arm64", "v8")["digest"] == "sha256:win"


def test_choose_manifest_refuses_empty_or_attestations_only():
    for index in ({"manifests": []}, {"manifests": [entry("sha256:att", "unknown", "unknown")]}, {}):
        with pytest.raises(ProbeFailure) as caught:
            choose_manifest(index, "amd64")
        assert "lists no image" in str(caught.value)


def test_host_platform():
    assert host_platform("x86_64") == ("linux", "amd64", None)
    assert host_platform("AARCH64") == ("linux", "arm64", "v8")
    assert host_platform("loongarch64") == ("linux", "loongarch64", None)
    assert host_platform()[0] == "linux"


@pytest.mark.parametrize("doc, content_type, kind", [
    ({"mediaType": MEDIA_DOCKER_LIST, "manifests": []}, None, "index"),
    ({"manifests": []}, MEDIA_OCI_INDEX, "index"),
    ({"mediaType": MEDIA_DOCKER_MANIFEST, "layers": []}, None, "image"),
    ({"schemaVersion": 2, "layers": []}, "application/json", "image"),
    ({"schemaVersion": 1, "fsLayers": []}, "application/vnd.docker.distribution.manifest.v1+prettyjws", "schema1"),
    ({"schemaVersion": 1, "fsLayers": []}, None, "schema1"),
    ({"manifests": []}, None, "index"),
])
def test_manifest_kind(doc, content_type, kind):
    assert manifest_kind(doc, content_type) == kind


def test_manifest_kind_refuses_other_documents():
    with pytest.raises(ProbeFailure) as caught:
        manifest_kind({"hello": 1}, "text/html")
    assert "neither an image manifest nor an index" in str(caught.value)


def test_choose_layer_takes_the_largest_served_layer():
    manifest = {"layers": [
        {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": "sha256:small", "size": 10},
        {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": "sha256:win",
         "size": 10 ** 9},
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:big", "size": 5000},
        {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "digest": "sha256:nd",
         "size": 10 ** 8},
    ]}
    assert choose_layer(manifest)["digest"] == "sha256:big"


def test_choose_layer_schema1_skips_the_empty_layer():
    manifest = {"fsLayers": [{"blobSum": EMPTY_LAYER_DIGEST}, {"blobSum": "sha256:real"}]}
    assert choose_layer(manifest) == {"digest": "sha256:real", "size": None}
    assert choose_layer({"fsLayers": [{"blobSum": EMPTY_LAYER_DIGEST}]})["digest"] == EMPTY_LAYER_DIGEST


def test_choose_layer_refuses_no_layers():
    for manifest in ({"layers": []}, {"fsLayers": []}, {}):
        with pytest.raises(ProbeFailure):
            choose_layer(manifest)


# --------------------------------------------------------------------------
# Errors, results, ranking
# --------------------------------------------------------------------------

def test_http_error_words():
    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {}}]})
    assert http_error(404, body.encode(), "GET /v2/x/manifests/y") == \
        "manifest unknown (HTTP 404 from GET /v2/x/manifests/y)"
    body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS"}, {"code": "TOOMANYREQUESTS"}]})
    assert http_error(429, body.encode(), "GET /v2/") == "TOOMANYREQUESTS (HTTP 429 from GET /v2/)"
    assert http_error(500, b"the backend is down\nmore", "GET /v2/", "text/plain; charset=utf-8") == \
        "HTTP 500 from GET /v2/: the backend is down"
    assert http_error(502, b"<html><body>Bad Gateway</body></html>", "GET /v2/", "text/html") == \
        "HTTP 502 from GET /v2/"
    assert http_error(500, b"", "GET /v2/", "text/plain") == "HTTP 500 from GET /v2/"


@pytest.mark.parametrize("exc, words", [
    (socket.timeout("timed out"), "timed out after 3 s (waiting)"),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), "timed out after 3 s"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
     "connection refused by h:5000 (nothing listens there)"),
    (socket.gaierror(-2, "Name or service not known"), "cannot resolve the host name of h:5000"),
    (ConnectionResetError(errno.ECONNRESET, "reset"), "connection reset by h:5000"),
    (http.client.RemoteDisconnected("closed"), "h:5000 closed the connection without answering"),
    (http.client.BadStatusLine("SSH-2.0"), "h:5000 did not answer with HTTP"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "no route to host: h:5000"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "network unreachable: h:5000"),
    (OSError(errno.EACCES, "Permission denied"), "cannot reach h:5000: Permission denied"),
    (ProbeFailure("manifest unknown"), "manifest unknown"),
    (KeyError("x"), "this is a bug in mirror_probe"),
])
def test_describe_error(exc, words):
    assert words in describe_error(exc, "h:5000", timeout=3, doing="waiting")


def test_describe_tls_errors():
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "self-signed certificate"
    text = describe_error(verify, "h:443")
    assert "TLS certificate of h:443 not trusted: self-signed certificate" in text and "ca_path" in text
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert "is it plain http://?" in describe_error(wrong, "h:5000")


def test_format_seconds_and_throughput():
    assert [format_seconds(s) for s in (3, 3.0, 2.5, 0.25, 10)] == ["3", "3", "2.5", "0.25", "10"]
    assert throughput(1000, 0.5) == 2000
    assert throughput(0, 1) is None
    assert throughput(10, 0) is None


def result(url, ok, tp=None, latency=None):
    return {"url": url, "ok": ok, "throughput": tp, "latency_ms": latency}


def test_rank_alive_then_throughput_then_latency():
    results = [
        result("dead", False),
        result("slow", True, tp=70000, latency=1.0),
        result("latency-only", True, latency=0.5),
        result("hub", True, tp=90000000, latency=4.0),
        result("cache", True, tp=60000000, latency=2.0),
        result("error", False, latency=0.2),
    ]
    assert [r["url"] for r in rank(results)] == ["hub", "cache", "slow", "latency-only", "error", "dead"]


def test_rank_by_latency_without_throughput_and_ties_keep_order():
    results = [result("a", True, latency=5.0), result("b", True, latency=1.0), result("c", True, latency=5.0),
               result("d", False), result("e", False)]
    assert [r["url"] for r in rank(results)] == ["b", "a", "c", "d", "e"]


def test_best_urls():
    ranked = rank([result("x", False), result("a", True, tp=5), result("b", True, tp=3)])
    assert best_urls(ranked, 1) == ["a"]
    assert best_urls(ranked, 5) == ["a", "b"]
    assert best_urls(rank([result("x", False)]), 1) == []


def test_first_mirrors_win_whenever_they_pass():
    results = [result("http://hub", True, tp=90000000), result("http://cache/", True, tp=1000),
               result("http://other", True, tp=50000000)]
    # the cache is far slower but preferred: first, ahead of the in-use mirror kept by the tolerance
    assert [r["url"] for r in rank(results, ["http://other"], 0.9, first=["http://cache"])] == [
        "http://cache/", "http://other", "http://hub"]
    assert [r["url"] for r in rank(results, first=["http://other", "http://cache/"])] == [
        "http://other", "http://cache/", "http://hub"]
    down = [result("http://hub", True, tp=9), result("http://cache", False)]
    assert [r["url"] for r in rank(down, first=["http://cache"])] == ["http://hub", "http://cache"]


def test_to_confirm_names_a_mirror_in_use_about_to_move_down_and_the_best():
    results = [result("http://a/", True, tp=40), result("http://b", True, tp=100), result("http://c", True, tp=70)]
    # a (in use, first) at 40 % of the best: it would move down, so a and the best are measured again
    assert probe.to_confirm(results, ["http://a", "http://b"], 0.5) == ["http://b", "http://a/"]
    # within the tolerance, already behind, not in use, or no mirror in use: nothing moves
    assert probe.to_confirm(results, ["http://a", "http://b"], 0.7) == []
    assert probe.to_confirm(results, ["http://b", "http://c"], 0.5) == []
    assert probe.to_confirm(results, [], 0.5) == []
    # c in use behind b: too slow to keep its place, but nothing would pass it, so nothing moves
    assert probe.to_confirm(results[1:], ["http://b", "http://c"], 0.1) == []
    # a mirror in use that failed leaves anyway: a failure is not measurement noise
    failed = [result("http://a", False), result("http://b", True, tp=100)]
    assert probe.to_confirm(failed, ["http://a", "http://b"], 0.5) == []
    # the best of the others is measured beside the first mirrors, not instead of them
    assert probe.to_confirm(results, ["http://a"], 0.3, first=["http://b"]) == ["http://c", "http://a/"]
    assert probe.to_confirm(results, ["http://a"], 0.5, first=["http://b"]) == []  # 40 is within half of 70


def test_to_confirm_by_latency_and_without_duplicates():
    # ranked by latency (no image): 3 times the best is out of a tolerance of 0.5 and of 1.0 alike
    slow_answer = [result("http://a", True, latency=30.0), result("http://b", True, latency=10.0)]
    assert probe.to_confirm(slow_answer, ["http://a/", "http://b"], 0.5) == ["http://b", "http://a"]
    assert probe.to_confirm(slow_answer, ["http://a/", "http://a", "http://b"], 0.5) == ["http://b", "http://a"]


def test_confirmed_keeps_a_mirror_in_use_whose_second_measurement_is_within_tolerance():
    results = [result("http://a", True, tp=30), result("http://b", True, tp=100), result("http://c", True, tp=80)]
    remeasured = probe.to_confirm(results, ["http://a", "http://b"], 0.5)
    assert remeasured == ["http://b", "http://a"]
    again = [result("http://b", True, tp=250), result("http://a", True, tp=200)]
    annotated, keep = probe.confirmed(results, again, remeasured, 0.5)
    assert keep == ["http://a"]
    # the first figures stay and rank (a is not compared with c on a figure c never had), the second are shown
    assert [(r["url"], r["throughput"]) for r in annotated] == [("http://a", 30), ("http://b", 100), ("http://c", 80)]
    assert annotated[0]["remeasured"] == {"ok": True, "throughput": 200, "latency_ms": None, "error": None}
    assert "remeasured" not in annotated[2] and "remeasured" not in results[0]  # the input is left as it was
    ranked = rank(annotated, ["http://a", "http://b"], 0.5, keep=keep)
    assert [r["url"] for r in ranked] == ["http://a", "http://b", "http://c"]


def test_confirmed_moves_down_a_mirror_slower_both_times_or_failing_the_second_probe():
    results = [result("http://a", True, tp=30), result("http://b", True, tp=100), result("http://c", True, tp=80)]
    slower = [result("http://b", True, tp=250), result("http://a", True, tp=90)]
    annotated, keep = probe.confirmed(results, slower, ["http://b", "http://a"], 0.5)
    assert keep == []
    assert [r["url"] for r in rank(annotated, ["http://a", "http://b"], 0.5, keep=keep)] == [
        "http://b", "http://c", "http://a"]
    failed = [result("http://b", True, tp=250), dict(result("http://a", False), error="timed out")]
    annotated, keep = probe.confirmed(results, failed, ["http://b", "http://a"], 0.5)
    assert keep == [] and annotated[0]["remeasured"]["error"] == "timed out"
    # the best failing its second probe leaves the mirror in use where it was
    best_failed = [dict(result("http://b", False), error="timed out"), result("http://a", True, tp=20)]
    assert probe.confirmed(results, best_failed, ["http://b", "http://a"], 0.5)[1] == ["http://a"]


def test_left_out_gives_each_reason():
    results = [result("http://hub", True, tp=90), result("http://slow", True, tp=5),
               dict(result("http://cache", False), error="connection refused by cache:5000 (nothing listens there)")]
    ranked = rank(results, first=["http://cache"])
    best = best_urls(ranked, 1)
    assert best == ["http://hub"]
    assert left_out(ranked, best, 1) == [
        {"url": "http://slow", "reason": "passed the probe, but 1 mirror ranked before it (pick: 1)"},
        {"url": "http://cache", "reason": "connection refused by cache:5000 (nothing listens there)"}]
    assert left_out(ranked, best_urls(ranked, 2), 2) == [
        {"url": "http://cache", "reason": "connection refused by cache:5000 (nothing listens there)"}]


# --------------------------------------------------------------------------
# Real HTTP against a fake registry on 127.0.0.1
# --------------------------------------------------------------------------

LAYER = bytes(range(256)) * 1024  # 256 KiB
LAYER_DIGEST = "sha256:" + hashlib.sha256(LAYER).hexdigest()
CONFIG_DIGEST = "sha256:" + "c" * 64
IMAGE_MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": CONFIG_DIGEST, "size": 2},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "0" * 64,
                "size": 10},
               {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": LAYER_DIGEST,
                "size": len(LAYER)}],
}).encode()
IMAGE_DIGEST = "sha256:" + hashlib.sha256(IMAGE_MANIFEST).hexdigest()
INDEX_DOC = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": [
    {"mediaType": MEDIA_OCI_MANIFEST, "digest": "sha256:" + "9" * 64, "size": 1,
     "platform": {"architecture": "s390x", "os": "linux"}},
    {"mediaType": MEDIA_OCI_MANIFEST, "digest": IMAGE_DIGEST, "size": len(IMAGE_MANIFEST),
     "platform": {"architecture": "amd64", "os": "linux"}},
]}).encode()
INDEX_DIGEST = "sha256:" + hashlib.sha256(INDEX_DOC).hexdigest()


class FakeRegistry:
    """A registry API v2 on 127.0.0.1: one repository, library/app:1 (an OCI index), and options
    for Bearer auth, a blob served through a redirect, a trickling blob, and answers with errors."""

    def __init__(self, auth=None, redirect_host=None, trickle=None, v2_status=200, tls=None):
        self.auth = auth  # None, "bearer" or "basic"
        self.redirect_host = redirect_host  # the blob is redirected to http://<this>:<port>/storage/...
        self.trickle = trickle  # (bytes per step, seconds per step) for the blob
        self.v2_status = v2_status
        self.requests = []  # (path, headers, client port)
        self.tokens_issued = 0
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                registry.requests.append((self.path, dict(self.headers), self.client_address[1]))
                registry.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None  # a TLS hello is not HTTP: quiet
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        if tls:  # (certificate, key) files: serve https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = "https://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def send(handler, status, body=b"", headers=None):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def authorized(self, handler):
        if self.auth is None:
            return True
        if self.auth == "basic":
            self.send(handler, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                      {"WWW-Authenticate": 'Basic realm="Registry"'})
            return False
        if handler.headers.get("Authorization") == "Bearer tok-123":
            return True
        challenge = 'Bearer realm="%s/token",service="fake-registry",scope="repository:library/app:pull"' % self.url
        self.send(handler, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                  {"WWW-Authenticate": challenge, "Content-Type": "application/json"})
        return False

    def handle(self, handler):
        path = handler.path
        if path.startswith("/token?"):
            assert "service=fake-registry" in path and "scope=repository%3Alibrary%2Fapp%3Apull" in path
            self.tokens_issued += 1
            return self.send(handler, 200, b'{"token": "tok-123", "expires_in": 300}')
        if path == "/v2/":
            if self.v2_status != 200:
                return self.send(handler, self.v2_status, b"backend down\n", {"Content-Type": "text/plain"})
            if self.auth:
                return self.authorized(handler)
            return self.send(handler, 200, b"{}", {"Content-Type": "application/json"})
        if path.startswith("/storage/"):
            assert "Authorization" not in handler.headers, "credentials followed a redirect to another host"
            return self.send(handler, 200, LAYER)
        if not self.authorized(handler):
            return None
        manifests = {"/v2/library/app/manifests/1": (INDEX_DOC, MEDIA_OCI_INDEX, INDEX_DIGEST),
                     "/v2/library/app/manifests/" + IMAGE_DIGEST: (IMAGE_MANIFEST, MEDIA_OCI_MANIFEST, IMAGE_DIGEST)}
        if path in manifests:
            body, media, digest = manifests[path]
            assert MEDIA_OCI_INDEX in handler.headers.get("Accept", "")
            return self.send(handler, 200, body, {"Content-Type": media, "Docker-Content-Digest": digest})
        if path == "/v2/library/app/blobs/" + LAYER_DIGEST:
            if self.redirect_host:
                location = "http://%s:%d/storage/%s" % (self.redirect_host, self.port, LAYER_DIGEST)
                return self.send(handler, 307, b"", {"Location": location})
            if self.trickle:
                return self.send_trickle(handler)
            return self.send(handler, 200, LAYER, {"Content-Type": "application/octet-stream"})
        return self.send(handler, 404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}',
                         {"Content-Type": "application/json"})

    def send_trickle(self, handler):
        step, pause = self.trickle
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(LAYER)))
        handler.end_headers()
        try:
            for start in range(0, len(LAYER), step):
                handler.wfile.write(LAYER[start:start + step])
                handler.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the probe hung up once its time was over


@pytest.fixture
def registry(request):
    servers = []

    def make(**kwargs):
        server = FakeRegistry(**kwargs)
        servers.append(server)
        return server
    yield make
    for server in servers:
        server.close()


def only(results):
    assert len(results) == 1
    return results[0]


def test_probe_without_image_times_v2(registry):
    reg = registry()
    res = only(probe_mirrors([reg.url], timeout=3))
    assert res["ok"] is True and res["status"] == 200 and res["error"] is None
    assert res["latency_ms"] is not None and res["throughput"] is None and res["bytes"] == 0
    assert [r[0] for r in reg.requests] == ["/v2/"]


def test_probe_image_index_layer_and_keep_alive(registry):
    reg = registry()
    res = only(probe_mirrors([reg.url], image="library/app:1", timeout=3, machine="x86_64"))
    assert res["ok"] is True, res
    assert res["digest"] == INDEX_DIGEST
    assert res["bytes"] == len(LAYER) and res["throughput"] > 0
    paths = [r[0] for r in reg.requests]
    assert paths == ["/v2/", "/v2/library/app/manifests/1", "/v2/library/app/manifests/" + IMAGE_DIGEST,
                     "/v2/library/app/blobs/" + LAYER_DIGEST]  # the amd64 image, its largest layer
    assert len({r[2] for r in reg.requests}) == 1  # one connection for all four requests


def test_probe_max_bytes_bounds_the_read(registry):
    reg = registry()
    res = only(probe_mirrors([reg.url], image="library/app:1", timeout=3, max_bytes=1000))
    assert res["ok"] is True and res["bytes"] == 1000


def test_probe_bearer_token_flow(registry):
    reg = registry(auth="bearer")
    res = only(probe_mirrors([reg.url], image="library/app:1", timeout=3))
    assert res["ok"] is True and res["status"] == 401, res  # /v2/ answering 401 is alive
    assert reg.tokens_issued == 1  # one token serves manifests and blob
    blob = [r for r in reg.requests if "/blobs/" in r[0]]
    assert blob and blob[0][1].get("Authorization") == "Bearer tok-123"


def test_probe_basic_auth_is_reported(registry):
    reg = registry(auth="basic")
    res = only(probe_mirrors([reg.url], image="library/app:1", timeout=3))
    assert res["ok"] is False and res["status"] == 401
    assert "needs credentials (HTTP 401, Basic auth)" in res["error"]


def test_probe_redirected_blob_drops_credentials_on_another_host(registry):
    reg = registry(auth="bearer", redirect_host="localhost")  # 127.0.0.1 -> localhost: another host name
    res = only(probe_mirrors([reg.url], image="library/app:1", timeout=3))
    assert res["ok"] is True, res
    assert res["bytes"] == len(LAYER)
    assert any(r[0].startswith("/storage/") for r in reg.requests)


def test_probe_manifest_unknown(registry):
    reg = registry()
    res = only(probe_mirrors([reg.url], image="library/app:nope", timeout=3))
    assert res["ok"] is False and res["status"] == 200
    assert res["error"] == "manifest unknown (HTTP 404 from GET /v2/library/app/manifests/nope)"


def test_probe_v2_answering_500(registry):
    reg = registry(v2_status=500)
    res = only(probe_mirrors([reg.url], timeout=3))
    assert res["ok"] is False and res["status"] == 500
    assert res["error"] == "HTTP 500 from GET /v2/: backend down"


def test_probe_trickling_blob_stops_at_the_deadline_with_a_throughput(registry):
    slow = registry(trickle=(4096, 0.05))  # 4 KiB every 50 ms: the 256 KiB layer takes 3.2 s at the least
    fast = registry()
    results = probe_mirrors([slow.url, fast.url], image="library/app:1", timeout=1.5)
    res = results[0]
    assert res["ok"] is True and res["error"] is None, res  # slow, not dead
    assert 0 < res["bytes"] < len(LAYER)  # the deadline cut the layer short
    assert res["elapsed_ms"] >= 1500  # it used its whole time
    assert res["throughput"] > 0
    assert results[1]["bytes"] == len(LAYER)  # the fast one read it all
    assert [r["url"] for r in rank(results)] == [fast.url, slow.url]


def test_package_probe(registry):
    reg = registry()
    res = only(probe_mirrors([reg.url + "/v2"], kind="package", path="library/app/blobs/" + LAYER_DIGEST,
                             timeout=3))
    assert res["ok"] is True and res["status"] == 200 and res["bytes"] == len(LAYER)
    res = only(probe_mirrors([reg.url + "/debian"], kind="package", path="dists/bookworm/Release", timeout=3))
    assert res["ok"] is False and res["status"] == 404
    assert "(HTTP 404 from GET /debian/dists/bookworm/Release)" in res["error"]


@pytest.fixture
def silent_port():
    """A listening socket that never accepts: connections are made, nothing is ever answered."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_hangs_are_bounded_and_concurrent(silent_port, closed_port, registry):
    reg = registry()
    hangs = ["http://127.0.0.1:%d/h%d" % (silent_port, i) for i in range(4)]
    mirrors = hangs + ["http://127.0.0.1:%d" % closed_port, reg.url]
    started = time.monotonic()
    results = probe_mirrors(mirrors, timeout=2, concurrency=8)
    took = time.monotonic() - started
    assert [r["url"] for r in results] == mirrors
    for res in results[:4]:
        assert res["ok"] is False
        assert res["error"] == "timed out after 2 s (waiting for the answer to GET /h%s/v2/)" % res["url"][-1]
        assert res["elapsed_ms"] >= 2000
    assert "connection refused" in results[4]["error"]
    assert results[5]["ok"] is True
    assert [r["url"] for r in rank(results)][0] == reg.url
    # Concurrent: the four hangs waited at the same time, so the whole probe ended well before their sum.
    assert took < 4 * 2, "four hangs of 2 s each took %.1f s" % took


def test_concurrency_one_runs_in_rounds(silent_port):
    mirrors = ["http://127.0.0.1:%d/%d" % (silent_port, i) for i in range(2)]
    started = time.monotonic()
    results = probe_mirrors(mirrors, timeout=0.5, concurrency=1)
    took = time.monotonic() - started
    assert all("timed out after 0.5 s" in r["error"] for r in results)
    assert took >= 2 * 0.5  # one after the other, each its whole timeout


def test_duplicates_are_probed_once(registry):
    reg = registry()
    results = probe_mirrors([reg.url, reg.url + " ", reg.url], timeout=3)
    assert [r["url"] for r in results] == [reg.url]


def test_bad_input_fails_before_any_traffic(registry):
    reg = registry()
    with pytest.raises(ProbeInputError) as caught:
        probe_mirrors([reg.url, "mirror.example.com"], timeout=3)
    assert "'mirror.example.com' has no scheme" in str(caught.value)
    with pytest.raises(ProbeInputError):
        probe_mirrors([reg.url], kind="package", timeout=3)
    with pytest.raises(ProbeInputError):
        probe_mirrors([], timeout=3)
    assert reg.requests == []


def test_a_probe_stuck_beyond_its_deadline_is_reported(monkeypatch):
    release = threading.Event()

    def stuck(mirror, *args, **kwargs):
        release.wait(60)  # like a name lookup that never returns
        return probe.new_result(mirror.url)

    monkeypatch.setattr(probe, "probe_one", stuck)
    monkeypatch.setattr(probe, "GRACE_SECONDS", 0.2)
    try:
        results = probe_mirrors(["http://a.invalid", "http://b.invalid"], timeout=0.3, concurrency=1)
        # It gave up on the stuck probe: its thread is still waiting when the results come back.
        assert any(thread.name.startswith("mirror-probe-") and thread.is_alive() for thread in threading.enumerate())
    finally:
        release.set()
    assert "timed out after 0.3 s (the probe did not finish" in results[0]["error"]
    assert results[1]["error"].startswith("not probed")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if not shutil.which("openssl"):
        pytest.fail("the openssl command is needed: tests/lab/lab setup installs it")
    work = tmp_path_factory.mktemp("tls")
    cert, key = str(work / "cert.pem"), str(work / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


def test_https_mirror_verification(registry, certificate):
    reg = registry(tls=certificate)
    untrusted = only(probe_mirrors([reg.url], image="library/app:1", timeout=3))
    assert untrusted["ok"] is False
    assert "TLS certificate of 127.0.0.1:%d not trusted" % reg.port in untrusted["error"]
    assert "ca_path" in untrusted["error"]
    trusted = only(probe_mirrors([reg.url], image="library/app:1", timeout=3, ca_path=certificate[0]))
    assert trusted["ok"] is True and trusted["bytes"] == len(LAYER), trusted
    unverified = only(probe_mirrors([reg.url], timeout=3, validate_certs=False))
    assert unverified["ok"] is True


def test_https_to_a_plain_http_port_is_a_tls_error(registry):
    reg = registry()
    res = only(probe_mirrors(["https://127.0.0.1:%d" % reg.port], timeout=3))
    assert res["ok"] is False and "TLS handshake with 127.0.0.1:%d failed" % reg.port in res["error"]


def test_unreadable_ca_path(tmp_path):
    with pytest.raises(ProbeInputError) as caught:
        probe_mirrors(["https://127.0.0.1:1"], ca_path=str(tmp_path / "none.pem"), timeout=1)
    assert "ca_path" in str(caught.value)


def result_urls(ranked):
    return [r["url"] for r in ranked]


def test_current_mirror_is_kept_when_close_to_the_best():
    rank = probe.rank
    results = [
        {"url": "http://a:5000", "ok": True, "throughput": 100.0, "latency_ms": 5},
        {"url": "http://b:5000", "ok": True, "throughput": 70.0, "latency_ms": 3},
        {"url": "http://c:5000", "ok": True, "throughput": 20.0, "latency_ms": 1},
        {"url": "http://d:5000", "ok": False, "throughput": None, "latency_ms": None},
    ]
    assert result_urls(rank(results)) == ["http://a:5000", "http://b:5000", "http://c:5000", "http://d:5000"]
    # b is in use and within 50 % of a: it stays first (dockerd's trailing slash ignored)
    assert result_urls(rank(results, ["http://b:5000/"], 0.5))[0] == "http://b:5000"
    # c is in use but far slower: the best wins; d is dead: never preferred
    assert result_urls(rank(results, ["http://c:5000", "http://d:5000"], 0.5))[0] == "http://a:5000"
    assert result_urls(rank(results, ["http://b:5000"], 0.0))[0] == "http://a:5000"
