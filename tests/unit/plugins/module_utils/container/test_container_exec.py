"""Unit tests of container_exec's core: options, output, and the hijacked connection on a real socket."""

import json
import socket
import struct
import threading

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container.exec import (
    check_container,
    command_argv,
    env_list,
    exec_config,
    failure_message,
    shape_result,
    split_output,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    EngineClient,
    EngineError,
    hijack_request,
    parse_response_head,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError


def frame(kind, payload):
    return struct.pack(">BxxxI", kind, len(payload)) + payload


def params(**given):
    base = {"container": "app", "argv": None, "command": None, "env": None, "user": None, "workdir": None,
            "stdin": None, "stdin_add_newline": True, "tty": False, "detach": False}
    base.update(given)
    return base


# --- options ------------------------------------------------------------------------------------

def test_command_is_split_like_a_shell():
    assert command_argv(None, "sh -c 'echo \"a b\"; exit 3'") == ["sh", "-c", 'echo "a b"; exit 3']
    assert command_argv(["ls", "-l"], None) == ["ls", "-l"]


@pytest.mark.parametrize("argv, command, words", [
    (None, None, "neither"),
    (["ls"], "ls", "both"),
    (None, "echo 'open", "quotes"),
    (None, "   ", "command is empty"),
    ([], None, "argv is empty"),
    (["echo", "a\x00b"], None, "argv[1] contains a NUL"),
])
def test_bad_commands_are_refused_naming_the_option(argv, command, words):
    with pytest.raises(OptionError) as caught:
        command_argv(argv, command)
    assert words in str(caught.value)


def test_env_becomes_the_engines_list():
    assert env_list({"A": "1", "PORT": 8080, "EMPTY": ""}) == ["A=1", "PORT=8080", "EMPTY="]


@pytest.mark.parametrize("env, words", [
    ({"DEBUG": True}, "env.DEBUG must be a string"),
    ({"X": None}, "env.X must be a string"),
    ({"A=B": "1"}, "is not a variable name"),
    ({"A B": "1"}, "is not a variable name"),
    ({"A\n": "1"}, "is not a variable name"),
    ({"A": "x\x00y"}, "NUL"),
])
def test_bad_env_is_refused(env, words):
    with pytest.raises(OptionError) as caught:
        env_list(env)
    assert words in str(caught.value)


def test_exec_config_builds_the_create_body():
    container, body, stdin = exec_config(params(container="/app", command="cat", env={"TOKEN": "s3cret"},
                                                user="1000:1000", workdir="/srv", stdin="hello", tty=True))
    assert container == "app"
    assert body == {"AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Tty": True, "Cmd": ["cat"],
                    "Env": ["TOKEN=s3cret"], "User": "1000:1000", "WorkingDir": "/srv"}
    assert stdin == b"hello\n"
    assert exec_config(params(argv=["cat"], stdin="x\n"))[2] == b"x\n"
    assert exec_config(params(argv=["cat"], stdin="x", stdin_add_newline=False))[2] == b"x"
    detached = exec_config(params(argv=["sleep", "9"], detach=True))[1]
    assert detached["AttachStdout"] is False and detached["AttachStdin"] is False and "User" not in detached


@pytest.mark.parametrize("given, words", [
    ({"container": "bad name"}, "container 'bad name' is not a container name"),
    ({"container": "app\n"}, "is not a container name"),
    ({"user": "root\n"}, "user 'root\\n' is not a user"),
    ({"user": "a:b:c"}, "is not a user"),
    ({"workdir": "srv"}, "workdir 'srv' must be an absolute path"),
    ({"workdir": "/srv\n"}, "must be an absolute path"),
    ({"detach": True, "stdin": "x"}, "stdin cannot be sent with detach"),
])
def test_bad_exec_options_are_refused(given, words):
    with pytest.raises(OptionError) as caught:
        exec_config(params(**dict({"argv": ["true"]}, **given)))
    assert words in str(caught.value)


def test_check_container_takes_names_and_ids():
    assert check_container("dh-day2_x.1") == "dh-day2_x.1"
    assert check_container("0123abcd") == "0123abcd"


# --- output -------------------------------------------------------------------------------------

def test_split_output_demuxes_frames_without_a_tty():
    raw = frame(1, b"out 1\n") + frame(2, b"err 1\n") + frame(1, b"out 2\n")
    assert split_output(raw, tty=False) == (b"out 1\nout 2\n", b"err 1\n")
    assert split_output(b"both\r\n", tty=True) == (b"both\r\n", b"")
    assert split_output(b"", tty=False) == (b"", b"")


def test_shape_result_strips_empty_ends_only_when_asked():
    result = shape_result("e1", 0, b"a\n\nb\n\n", b"warn\r\n", True)
    assert result == {"changed": True, "exec_id": "e1", "rc": 0, "stdout": "a\n\nb", "stderr": "warn"}
    assert shape_result("e1", 0, b"a\n", b"", False)["stdout"] == "a\n"
    assert shape_result("e1", 0, b"\xff\n", b"", True)["stdout"] == "\ufffd"


def test_failure_message_names_rc_and_the_end_of_stderr():
    text = failure_message("app", ["sh", "-c", "x"], 3, "one\ntwo\n\nthree\nfour\n")
    assert "rc 3" in text and "container app" in text and "two | three | four" in text and "one" not in text
    assert "fail_on_rc: false" in text
    assert "(no stderr)" in failure_message("app", ["false"], 1, "")


# --- the hijacked connection -------------------------------------------------------------------

def test_response_head_parsing():
    assert parse_response_head(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: x") is None
    status, reason, headers, rest = parse_response_head(
        b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n\x01\x00")
    assert (status, reason, headers["upgrade"], rest) == (101, "UPGRADED", "tcp", b"\x01\x00")
    with pytest.raises(EngineError):
        parse_response_head(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_hijack_request_asks_for_an_upgrade():
    raw = hijack_request("POST", "/v1.41/exec/x/start", b'{"Detach": false}')
    head, body = raw.split(b"\r\n\r\n", 1)
    assert b"Upgrade: tcp" in head and b"Connection: Upgrade" in head and b"Content-Length: 17" in head
    assert body == b'{"Detach": false}'


class OneShotDaemon:
    """A real unix socket that answers one hijacked request with canned bytes and records what it got."""

    def __init__(self, path, answer, read_stdin):
        self.answer, self.read_stdin = answer, read_stdin
        self.request, self.stdin = b"", b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn = self.sock.accept()[0]
        with conn:
            while b"\r\n\r\n" not in self.request:
                self.request += conn.recv(65536)
            head = self.request.split(b"\r\n\r\n", 1)[0].decode()
            length = int(head.lower().split("content-length: ", 1)[1].split("\r\n", 1)[0])
            while len(self.request.split(b"\r\n\r\n", 1)[1]) < length:
                self.request += conn.recv(65536)
            conn.sendall(self.answer)
            if self.read_stdin:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    self.stdin += chunk
                conn.sendall(frame(1, b"got " + self.stdin))

    def close(self):
        self.sock.close()
        self.thread.join(5)


def client_at(path):
    client = EngineClient("unix://" + path, timeout=5)
    client._api_version = "1.41"  # no /version round trip: the fake daemon answers one request
    return client


def test_hijack_sends_stdin_closes_writing_and_reads_to_the_end(tmp_path):
    path = str(tmp_path / "d.sock")
    daemon = OneShotDaemon(path, b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                           + frame(2, b"warming up\n"), read_stdin=True)
    try:
        raw = client_at(path).hijack("POST", "/exec/e1/start", body={"Detach": False, "Tty": False},
                                     stdin=b"hello\n")
    finally:
        daemon.close()
    assert daemon.request.startswith(b"POST /v1.41/exec/e1/start HTTP/1.1\r\n")
    assert json.loads(daemon.request.split(b"\r\n\r\n", 1)[1]) == {"Detach": False, "Tty": False}
    assert daemon.stdin == b"hello\n"  # the process saw its end of file: the daemon's read returned
    assert split_output(raw, tty=False) == (b"got hello\n", b"warming up\n")


class EchoDaemon(OneShotDaemon):
    """Answers the upgrade, then sends back each piece of stdin as it arrives, as `cat` does."""

    def serve(self):
        conn = self.sock.accept()[0]
        with conn:
            while b"\r\n\r\n" not in self.request:
                self.request += conn.recv(65536)
            conn.sendall(self.answer)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                self.stdin += chunk
                conn.sendall(frame(1, chunk))


def test_hijack_writes_a_large_stdin_while_it_reads_the_echo(tmp_path):
    """8 MiB through a process that echoes: writing all before reading would fill both sockets' buffers and
    wait for ever (the client's read timeout would end it)."""
    path = str(tmp_path / "d.sock")
    payload = bytes(range(256)) * (8 * 4096)
    daemon = EchoDaemon(path, b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
                        read_stdin=True)
    try:
        raw = client_at(path).hijack("POST", "/exec/e1/start", body={}, stdin=payload, read_timeout=10)
    finally:
        daemon.close()
    assert daemon.stdin == payload and split_output(raw, tty=False) == (payload, b"")


def test_hijack_error_answer_carries_the_daemons_words(tmp_path):
    path = str(tmp_path / "d.sock")
    body = b'{"message": "Container abc is not running"}'
    daemon = OneShotDaemon(path, b"HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: %d"
                           b"\r\n\r\n%s" % (len(body), body), read_stdin=False)
    try:
        with pytest.raises(EngineError) as caught:
            client_at(path).hijack("POST", "/exec/e1/start", body={})
    finally:
        daemon.close()
    exc = caught.value
    assert exc.status == 409 and exc.daemon_message == "Container abc is not running"
    assert "POST /v1.41/exec/e1/start" in str(exc) and path in str(exc)


def test_hijack_refuses_stdin_over_tls():
    client = EngineClient("https://127.0.0.1:2376", validate_certs=False)
    client._api_version = "1.41"
    with pytest.raises(EngineError) as caught:
        client.hijack("POST", "/exec/e1/start", body={}, stdin=b"x")
    assert caught.value.kind == "config" and "stdin over TLS" in str(caught.value)
