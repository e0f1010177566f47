"""Unit tests of the Engine API client's pure parts and of its behaviour on real sockets."""

import errno
import json
import os
import socket
import ssl
import threading

import pytest
from fault_daemon import SocketDaemon, http_answer

from ansible_collections.dockhand.runtime.plugins.module_utils.engine import api as engine_api
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    EngineClient,
    EngineError,
    as_text,
    demux_docker_stream,
    negotiate_version,
    object_path,
    parse_docker_host,
    split_json_objects,
    stream_error,
    text_dict,
)


@pytest.mark.parametrize("value, scheme, where", [
    ("unix:///var/run/docker.sock", "unix", "/var/run/docker.sock"),
    ("unix://var/run/docker.sock", "unix", "/var/run/docker.sock"),
    ("/run/podman/podman.sock", "unix", "/run/podman/podman.sock"),
    ("", "unix", "/var/run/docker.sock"),
    (None, "unix", "/var/run/docker.sock"),
])
def test_unix_hosts(value, scheme, where):
    ep = parse_docker_host(value)
    assert (ep.scheme, ep.path) == (scheme, where)
    assert ep.is_loopback


@pytest.mark.parametrize("value, tls, host, port, use_tls", [
    ("tcp://10.0.0.5", False, "10.0.0.5", 2375, False),
    ("tcp://10.0.0.5", True, "10.0.0.5", 2376, True),
    ("tcp://engine.lan:12345", False, "engine.lan", 12345, False),
    ("https://engine.lan", False, "engine.lan", 2376, True),
    ("http://127.0.0.1:2375", False, "127.0.0.1", 2375, False),
    ("tcp://[::1]:2375", False, "::1", 2375, False),
])
def test_tcp_hosts(value, tls, host, port, use_tls):
    ep = parse_docker_host(value, tls=tls)
    assert (ep.scheme, ep.host, ep.port, ep.tls) == ("tcp", host, port, use_tls)


def test_endpoint_url_round_trips():
    assert parse_docker_host("tcp://[::1]:2375").url == "tcp://[::1]:2375"
    assert parse_docker_host("tcp://h:1", tls=True).url == "https://h:1"


@pytest.mark.parametrize("value, words", [
    ("ftp://host", "unknown scheme"),
    ("npipe:////./pipe/docker_engine", "unknown scheme"),
    ("ssh://user@host", "ssh:// is not supported"),
    ("tcp://", "no host name"),
    ("tcp://user:pw@host:2376", "credentials"),
    ("tcp://host:notaport", "docker_host"),
    ("tcp://host:2375/path", "path is not supported"),
])
def test_bad_hosts_name_the_problem(value, words):
    with pytest.raises(EngineError) as caught:
        parse_docker_host(value)
    assert words in str(caught.value)
    assert caught.value.kind == engine_api.KIND_CONFIG


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("localhost", True),
    ("10.1.2.3", False), ("engine.lan", False),
])
def test_loopback(host, loopback):
    assert parse_docker_host("tcp://%s:2375" % (("[%s]" % host) if ":" in host else host)).is_loopback is loopback


def test_plain_tcp_to_a_remote_address_is_refused_unless_allowed():
    with pytest.raises(EngineError) as caught:
        EngineClient("tcp://192.0.2.10:2375")
    assert "allow_plain_tcp" in str(caught.value)
    assert EngineClient("tcp://192.0.2.10:2375", allow_plain_tcp=True).endpoint.host == "192.0.2.10"
    assert EngineClient("tcp://127.0.0.1:2375").endpoint.port == 2375


def test_missing_tls_files_are_named(tmp_path):
    missing = str(tmp_path / "ca.pem")
    with pytest.raises(EngineError) as caught:
        EngineClient("tcp://engine.lan:2376", tls=True, ca_path=missing)
    assert missing in str(caught.value) and "ca_path" in str(caught.value)


def test_client_cert_needs_key(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(EngineError) as caught:
        EngineClient("tcp://engine.lan:2376", tls=True, client_cert=str(cert))
    assert "together" in str(caught.value)


# -- versions -----------------------------------------------------------------

@pytest.mark.parametrize("server, server_min, requested, chosen", [
    ("1.41", "1.12", None, "1.41"),
    ("1.50", "1.24", None, engine_api.MAX_API_VERSION),
    ("1.41", "1.12", "auto", "1.41"),
    ("1.41", "1.12", "1.40", "1.40"),
    ("1.41", None, "1.30", "1.30"),
])
def test_negotiate(server, server_min, requested, chosen):
    assert negotiate_version(server, server_min, requested) == chosen


@pytest.mark.parametrize("server, server_min, requested, words", [
    ("1.41", "1.12", "1.43", "newer than the daemon supports"),
    ("1.41", "1.30", "1.20", "older than the daemon accepts"),
    ("1.41", "1.12", "latest", "not a version"),
    ("1.20", "1.12", None, "needs at least"),
    (None, None, None, "did not report"),
])
def test_negotiate_failures(server, server_min, requested, words):
    with pytest.raises(EngineError) as caught:
        negotiate_version(server, server_min, requested)
    assert words in str(caught.value)


# -- streams ------------------------------------------------------------------

def test_split_json_objects_keeps_partial_tail():
    objs, rest = split_json_objects('{"a": 1}\r\n{"b": 2}{"c"')
    assert objs == [{"a": 1}, {"b": 2}]
    assert rest == '{"c"'
    objs, rest = split_json_objects(rest + ': 3}\n')
    assert objs == [{"c": 3}] and rest == ""


def test_stream_error_reads_both_forms():
    assert stream_error({"errorDetail": {"message": "manifest unknown"}, "error": "x"}) == "manifest unknown"
    assert stream_error({"error": "denied"}) == "denied"
    assert stream_error({"status": "Downloading"}) is None
    assert stream_error(["not", "a", "dict"]) is None


def frame(kind, text):
    """One frame of a multiplexed stream."""
    return bytes([kind, 0, 0, 0]) + len(text).to_bytes(4, "big") + text


def test_demux_splits_stdout_and_stderr():
    data = frame(1, b"out1\n") + frame(2, b"err\n") + frame(1, b"out2\n")
    assert demux_docker_stream(data) == (b"out1\nout2\n", b"err\n")
    assert demux_docker_stream(b"plain tty output\n") == (b"plain tty output\n", b"")


# -- error text -----------------------------------------------------------------

def test_error_str_names_everything():
    exc = EngineError("the daemon failed: boom", endpoint="unix:///x.sock", status=500,
                      method="GET", path="/v1.41/info")
    text = str(exc)
    assert "boom" in text and "unix:///x.sock" in text and "HTTP 500" in text and "GET /v1.41/info" in text
    assert exc.to_dict()["status"] == 500


@pytest.mark.parametrize("code, kind, words", [
    (errno.ENOENT, engine_api.KIND_UNREACHABLE, "does not exist"),
    (errno.EACCES, engine_api.KIND_PERMISSION, "permission denied"),
    (errno.ECONNREFUSED, engine_api.KIND_UNREACHABLE, "not running"),
])
def test_describe_unix_errors(code, kind, words):
    ep = parse_docker_host("unix:///run/x.sock")
    got_kind, message = engine_api.describe_os_error(OSError(code, os.strerror(code)), ep)
    assert got_kind == kind and words in message and "/run/x.sock" in message


def test_describe_timeout():
    ep = parse_docker_host("unix:///run/x.sock")
    assert engine_api.describe_os_error(socket.timeout("timed out"), ep)[0] == engine_api.KIND_TIMEOUT


# -- the client on real sockets -------------------------------------------------

VERSION = json.dumps({"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12"}).encode()


@pytest.fixture
def socket_path(tmp_path):
    return str(tmp_path / "engine.sock")


def test_versioned_path_after_negotiation(socket_path):
    daemon = SocketDaemon(socket_path, [http_answer(200, VERSION), http_answer(200, b'{"ID": "x"}')])
    try:
        client = EngineClient("unix://" + socket_path, timeout=5)
        assert client.get("/info") == {"ID": "x"}
        assert daemon.requests == ["GET /version HTTP/1.1", "GET /v1.41/info HTTP/1.1"]
    finally:
        daemon.close()


def test_http_500_carries_status_message_and_endpoint(socket_path):
    daemon = SocketDaemon(socket_path, [http_answer(200, VERSION),
                                        http_answer(500, b'{"message": "disk on fire"}')])
    try:
        client = EngineClient("unix://" + socket_path, timeout=5)
        with pytest.raises(EngineError) as caught:
            client.get("/info")
        exc = caught.value
        assert exc.status == 500 and exc.daemon_message == "disk on fire"
        assert socket_path in str(exc) and "disk on fire" in str(exc)
    finally:
        daemon.close()


def test_hanging_daemon_times_out(socket_path):
    daemon = SocketDaemon(socket_path, hang=True)
    try:
        client = EngineClient("unix://" + socket_path, timeout=1)
        with pytest.raises(EngineError) as caught:
            client.version_info()
        assert caught.value.kind == engine_api.KIND_TIMEOUT
        assert "within 1 s" in str(caught.value) and socket_path in str(caught.value)
    finally:
        daemon.close()


def test_stream_yields_objects_and_raises_on_error_object(socket_path):
    progress = [b'{"status": "Pulling"}\r\n{"status": "Dow', b'nloading"}\r\n',
                b'{"errorDetail": {"message": "manifest unknown"}, "error": "manifest unknown"}\r\n']
    daemon = SocketDaemon(socket_path, [http_answer(200, VERSION),
                                        http_answer(200, progress, chunked=True)])
    try:
        client = EngineClient("unix://" + socket_path, timeout=5)
        seen = []
        with pytest.raises(EngineError) as caught:
            for obj in client.stream("POST", "/images/create", params={"fromImage": "x"}):
                seen.append(obj["status"])
        assert seen == ["Pulling", "Downloading"]
        assert caught.value.kind == engine_api.KIND_STREAM
        assert caught.value.daemon_message == "manifest unknown"
    finally:
        daemon.close()


def test_missing_socket_and_refused_permission(tmp_path):
    missing = str(tmp_path / "nothing.sock")
    with pytest.raises(EngineError) as caught:
        EngineClient("unix://" + missing).version_info()
    assert caught.value.kind == engine_api.KIND_UNREACHABLE and missing in str(caught.value)


def test_not_a_socket(tmp_path):
    plain = tmp_path / "file"
    plain.write_text("")
    with pytest.raises(EngineError) as caught:
        EngineClient("unix://%s" % plain).version_info()
    assert str(plain) in str(caught.value)


def test_tls_to_a_plain_server_fails_as_tls(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def answer_plain():
        conn = listener.accept()[0]
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()
    thread = threading.Thread(target=answer_plain, daemon=True)
    thread.start()
    try:
        client = EngineClient("tcp://127.0.0.1:%d" % port, tls=True, timeout=5)
        with pytest.raises(EngineError) as caught:
            client.version_info()
        assert caught.value.kind in (engine_api.KIND_TLS, engine_api.KIND_UNREACHABLE)
        assert "127.0.0.1:%d" % port in str(caught.value)
    finally:
        listener.close()
        thread.join(5)


def test_ssl_context_verifies_by_default():
    context = engine_api.build_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    relaxed = engine_api.build_ssl_context(validate_certs=False)
    assert relaxed.verify_mode == ssl.CERT_NONE


def test_object_paths_and_engine_text_values():
    image_json = object_path("image", "localhost:5000/library/busybox@sha256:ab", "/json")
    assert image_json == "/images/localhost:5000/library/busybox@sha256:ab/json"
    assert object_path("network", "a b/c") == "/networks/a%20b%2Fc"
    assert object_path("network", "n1", "/disconnect") == "/networks/n1/disconnect"
    assert object_path("distribution", "busybox:latest", "/json") == "/distribution/busybox:latest/json"
    assert [as_text(True), as_text(None), as_text(3)] == ["true", "", "3"]
    assert text_dict({"a": False, 1: "x"}) == {"a": "false", "1": "x"}
