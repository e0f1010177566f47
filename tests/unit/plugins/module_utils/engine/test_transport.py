"""The Engine API's HTTP/1.1 transport on real sockets: framing, keep-alive, streaming and its errors.

The client on top of it is tested against the real dockerd, Podman and the TLS endpoint by the integration suite.
"""

import os
import socket
import threading

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.transport import (
    Connection,
    ProtocolError,
    RemoteDisconnected,
    Response,
    parse_chunk_size,
    parse_status_line,
    request_head,
    unix_socket_opener,
)


def answer_of(raw, method="GET", close=True):
    """The Response parsed from ``raw`` (bytes) as the daemon's side of a socket pair wrote it."""
    ours, theirs = socket.socketpair()
    theirs.sendall(raw)
    if close:
        theirs.close()
    ours.settimeout(2)
    return Response(ours.makefile("rb"), method)


@pytest.mark.parametrize("line, parsed", [
    (b"HTTP/1.1 200 OK\r\n", ("HTTP/1.1", 200, "OK")),
    (b"HTTP/1.1 404 Not Found\r\n", ("HTTP/1.1", 404, "Not Found")),
    (b"HTTP/1.0 204\r\n", ("HTTP/1.0", 204, "")),
])
def test_status_lines(line, parsed):
    assert parse_status_line(line) == parsed


@pytest.mark.parametrize("line, error", [
    (b"", RemoteDisconnected),
    (b"SSH-2.0-OpenSSH_9.2\r\n", ProtocolError),
    (b"HTTP/2 200\r\n", ProtocolError),
    (b"HTTP/1.1 2000 OK\r\n", ProtocolError),
    ("HTTP/1.1 \u00b2\u00b2\u00b2 OK\r\n".encode("latin-1"), ProtocolError),
])
def test_what_is_not_a_status_line(line, error):
    with pytest.raises(error):
        parse_status_line(line)


def test_chunk_sizes():
    assert parse_chunk_size(b"1a\r\n") == 26
    assert parse_chunk_size(b"0;name=value\r\n") == 0
    with pytest.raises(ProtocolError, match="chunk size"):
        parse_chunk_size(b"zz\r\n")


def test_request_head_refuses_what_would_split_the_request():
    head = request_head("GET", "/v1.41/info", {"Host": "docker", "Content-Length": "0"})
    assert head == b"GET /v1.41/info HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n"
    for path, headers, words in (("/x\r\nX-Evil: 1", {}, "control character"), ("/a b/json", {}, "space"),
                                 ("/x", {"X-Registry-Auth": "abc\ndef"}, "line break"),
                                 ("/x", {"X-Registry-Auth": "a\x00b"}, "control character"),
                                 ("/x", {"X-Registry-Auth": "\u20ac"}, "outside Latin-1")):
        with pytest.raises(ProtocolError, match=words):
            request_head("POST", path, headers)


def test_a_content_length_body_is_read_exactly_and_keeps_the_connection():
    response = answer_of(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nApi-Version: 1.41\r\n\r\nhelloNEXT", close=False)
    assert response.headers["api-version"] == "1.41"
    assert response.read() == b"hello" and response.complete and not response.will_close


def test_a_chunked_body_comes_in_its_pieces_then_ends_after_the_trailers():
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n")
    response = answer_of(raw, method="POST")
    pieces = []
    while True:
        data = response.read1(65536)
        if not data:
            break
        pieces.append(data)
    assert pieces == [b'{"a"', b":1}"] and response.complete and not response.will_close


def test_read_with_a_size_returns_that_many_across_chunks():
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"
    response = answer_of(raw)
    assert response.read(4) == b"abcd"
    assert response.read(10) == b"ef"
    assert response.read(10) == b""


def test_informational_answers_are_skipped():
    response = answer_of(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
    assert (response.status, response.reason, response.read()) == (201, "Created", b"{}")


@pytest.mark.parametrize("raw, method, body, will_close", [
    (b"HTTP/1.1 200 OK\r\n\r\nuntil the end", "GET", b"until the end", True),
    (b"HTTP/1.1 204 No Content\r\n\r\n", "DELETE", b"", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD", b"", False),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "GET", b"ok", True),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", b"ok", True),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", "GET", b"ok", False),
])
def test_where_a_body_ends_and_whether_the_connection_is_kept(raw, method, body, will_close):
    response = answer_of(raw, method)
    assert response.read() == body and response.will_close is will_close


@pytest.mark.parametrize("raw, words", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "middle of an answer"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nshort", "middle of an answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
    ("HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\n\r\n".encode("latin-1"), "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: " + b"1" * 5000 + b"\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Len", "inside an answer's head"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "no colon"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n", "longer than"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", "more than 100 headers"),
])
def test_broken_answers_name_what_is_wrong(raw, words):
    with pytest.raises(ProtocolError, match=words):
        answer_of(raw).read()


def test_only_a_close_before_any_answer_is_a_disconnect_the_client_may_retry():
    with pytest.raises(RemoteDisconnected):
        answer_of(b"")
    with pytest.raises(ProtocolError) as caught:  # the daemon got the request: sending it again could repeat it
        answer_of(b"HTTP/1.1 201 Created\r\n")
    assert not isinstance(caught.value, RemoteDisconnected)


def test_a_silent_daemon_times_out_on_the_socket_timeout():
    ours, theirs = socket.socketpair()
    ours.settimeout(0.3)
    with pytest.raises(socket.timeout):
        Response(ours.makefile("rb"), "GET")
    theirs.close()


class CountingServer:
    """A unix-socket server answering every request with ``answer``; counts connections and keeps what it read."""

    def __init__(self, path, answer):
        self.answer, self.connections, self.received = answer, 0, b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.talk, args=(conn,), daemon=True).start()

    def talk(self, conn):
        with conn:
            pending = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                self.received += data
                pending += data
                while b"\r\n\r\n" in pending:
                    head, _sep, pending = pending.partition(b"\r\n\r\n")
                    length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    while length and len(pending) < length[0]:
                        more = conn.recv(65536)
                        self.received += more
                        pending += more
                    pending = pending[length[0]:] if length else pending
                    conn.sendall(self.answer)


@pytest.fixture
def engine(tmp_path):
    """``engine(answer)``: a CountingServer on a unix socket in tmp_path and a Connection to it, closed afterwards."""
    made = []

    def make(answer):
        path = str(tmp_path / "engine.sock")
        made.append((CountingServer(path, answer), Connection(unix_socket_opener(path), 5)))
        return made[-1]
    yield make
    for server, conn in made:
        conn.close()
        server.sock.close()


def test_requests_share_one_connection_until_an_answer_is_left_unread(engine):
    server, conn = engine(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    for _request in range(3):
        conn.request("GET", "/_ping", headers={"Host": "docker"})
        assert conn.getresponse().read() == b"{}"
    assert server.connections == 1
    conn.request("GET", "/_ping", headers={"Host": "docker"})
    conn.getresponse()  # not read
    conn.request("GET", "/_ping", headers={"Host": "docker"})
    assert conn.getresponse().read() == b"{}" and server.connections == 2


def test_a_broken_answer_is_not_followed_on_the_same_connection_and_a_closed_one_is_not_read(engine):
    server, conn = engine(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}")
    for _request in range(2):
        conn.request("GET", "/_ping")
        with pytest.raises(ProtocolError):
            conn.getresponse()
    assert server.connections == 2
    server.answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"
    conn.request("GET", "/events")
    events = conn.getresponse()
    assert events.read1() == b"{}"
    conn.close()
    with pytest.raises(ProtocolError, match="connection was closed"):
        events.read1()


def test_a_file_body_is_streamed_whole_and_a_bodiless_post_says_length_zero(engine, tmp_path):
    server, conn = engine(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    archive = tmp_path / "context.tar"
    archive.write_bytes(os.urandom(200000))
    with open(archive, "rb") as body:
        conn.request("POST", "/build", body=body, headers={"Content-Length": "200000"})
        assert conn.getresponse().read() == b""
    conn.request("POST", "/containers/x/start")
    conn.getresponse().read()
    assert archive.read_bytes() in server.received
    assert server.received.endswith(b"POST /containers/x/start HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
