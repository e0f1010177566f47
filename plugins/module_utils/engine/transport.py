# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP/1.1 to the engine over one socket: a unix socket, TCP or TLS.

The Engine API client needs one request at a time on a kept-alive connection,
a status, headers and a body read whole, in pieces or as a chunked stream, and
the socket's timeout on every wait. ``http.client`` does that too, but it
imports the ``email`` package and ``ssl`` on every task; this does it on the
socket module alone, and ``ssl`` is imported only for a TLS endpoint.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

MAX_LINE = 65536
MAX_HEADERS = 100
_NO_BODY_STATUSES = (204, 304)
_BODY_METHODS = ("POST", "PUT", "PATCH")


class ProtocolError(Exception):
    """The daemon's answer is not HTTP/1.1 this client can read (the message says what)."""


class RemoteDisconnected(ConnectionResetError):
    """The daemon closed the connection before it sent an answer."""


# The errors a request or a read can raise.
TRANSPORT_ERRORS = (OSError, ProtocolError)


def request_head(method, path, headers):
    """The bytes of a request's head; a space or control character in the path or a header is refused."""
    if any(char <= " " or char == "\x7f" for char in path):
        raise ProtocolError("a space or control character in the request path %r" % path[:100])
    lines = ["%s %s HTTP/1.1" % (method, path)]
    lines.extend("%s: %s" % (name, value) for name, value in headers.items())
    if any((char < " " and char != "\t") or char == "\x7f" for line in lines for char in line):
        raise ProtocolError("a line break or control character in a request header")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise ProtocolError("a request header holds a character outside Latin-1") from None


def is_decimal(text, shortest=1, longest=19):
    """True for ASCII digits only, ``shortest`` to ``longest`` of them (``str.isdigit`` takes other scripts' too)."""
    return shortest <= len(text) <= longest and text.isascii() and text.isdigit()


def parse_status_line(line):
    """``(version, status, reason)`` of an HTTP status line (bytes)."""
    if not line:
        raise RemoteDisconnected("the daemon closed the connection without answering")
    text = line.decode("iso-8859-1").rstrip("\r\n")
    parts = text.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not is_decimal(parts[1], 3, 3):
        raise ProtocolError("the daemon's answer is not HTTP/1.x: %r" % text[:100])
    return parts[0], int(parts[1]), (parts[2] if len(parts) > 2 else "")


def parse_chunk_size(line):
    """The size of the next chunk of a chunked body, from its size line (bytes; extensions ignored)."""
    text = line.split(b";", 1)[0].strip()
    try:
        size = int(text, 16)
    except ValueError:
        raise ProtocolError("a chunked answer has a bad chunk size line: %r" % line[:40]) from None
    if size < 0:
        raise ProtocolError("a chunked answer has a negative chunk size")
    return size


class Response:
    """An answer: ``status``, ``reason``, ``headers`` (lower-case names), and its body through ``read``/``read1``.

    ``will_close`` is true when the connection cannot carry another request after this answer.
    """

    def __init__(self, reader, method):
        self._reader = reader
        while True:
            version, status, reason = parse_status_line(self._line())
            headers = self._headers()
            if not 100 <= status < 200:
                break
        self.status, self.reason, self.headers = status, reason, headers
        connection = headers.get("connection", "").lower()
        self.will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._chunk_left = None  # bytes left in the current chunk; None before a size line
        self._left = None  # bytes left of a Content-Length body; None: chunked or until the daemon closes
        self.complete = False
        if method == "HEAD" or status in _NO_BODY_STATUSES:
            self.complete = True
        elif not self._chunked:
            length = headers.get("content-length")
            if length is not None:
                if not is_decimal(length):
                    raise ProtocolError("the daemon's answer has a bad Content-Length: %r" % length[:40])
                self._left = int(length)
                self.complete = self._left == 0
            else:
                self.will_close = True

    def detach(self):
        """The connection under this answer was closed: reading more is an error, not a hang or a crash."""
        self._reader = None

    def _line(self):
        if self._reader is None:
            raise ProtocolError("the connection was closed before the daemon's answer was read")
        line = self._reader.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise ProtocolError("a line of the daemon's answer is longer than %d bytes" % MAX_LINE)
        return line

    def _headers(self):
        headers = {}
        for _count in range(MAX_HEADERS + 1):
            line = self._line()
            if line in (b"\r\n", b"\n"):
                return headers
            if not line.endswith(b"\n"):  # not a disconnect to retry on: the daemon got the request
                raise ProtocolError("the daemon closed the connection inside an answer's head")
            name, sep, value = line.decode("iso-8859-1").partition(":")
            if not sep:
                raise ProtocolError("a header line of the daemon's answer has no colon: %r" % line[:100])
            name = name.strip().lower()
            value = value.strip()
            headers[name] = "%s, %s" % (headers[name], value) if name in headers else value
        raise ProtocolError("the daemon's answer has more than %d headers" % MAX_HEADERS)

    def _ended_early(self):
        raise ProtocolError("the daemon closed the connection in the middle of an answer")

    def read1(self, amt=65536):
        """Up to ``amt`` bytes of the body as soon as some are there; b"" at its end."""
        if self.complete:
            return b""
        if self._reader is None:
            raise ProtocolError("the connection was closed before the daemon's answer was read")
        if self._chunked:
            if not self._chunk_left:
                if self._chunk_left == 0:
                    self._line()  # the CRLF after a chunk's data
                self._chunk_left = parse_chunk_size(self._line())
                if self._chunk_left == 0:
                    while self._line() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    self.complete = True
                    return b""
            data = self._reader.read1(min(amt, self._chunk_left))
            if not data:
                self._ended_early()
            self._chunk_left -= len(data)
            return data
        if self._left is None:  # the body runs until the daemon closes
            data = self._reader.read1(amt)
            self.complete = not data
            return data
        data = self._reader.read1(min(amt, self._left))
        if not data:
            self._ended_early()
        self._left -= len(data)
        self.complete = self._left == 0
        return data

    def read(self, amt=None):
        """The rest of the body (``amt`` None) or up to ``amt`` bytes, fewer only at its end."""
        parts, size = [], 0
        while amt is None or size < amt:
            data = self.read1(65536 if amt is None else min(65536, amt - size))
            if not data:
                break
            parts.append(data)
            size += len(data)
        return b"".join(parts)


class Connection:
    """One kept-alive connection; ``open_socket(timeout)`` makes the connected socket when one is needed."""

    def __init__(self, open_socket, timeout):
        self._open_socket = open_socket
        self.timeout = timeout
        self.sock = None
        self._reader = None
        self._response = None
        self._method = None

    def connect(self):
        self.sock = self._open_socket(self.timeout)
        self._reader = self.sock.makefile("rb")

    def request(self, method, path, body=None, headers=None):
        """Send one request; ``body`` is bytes or a binary file read to its end."""
        answered = self._response
        if self.sock is not None and not (answered is not None and answered.complete and not answered.will_close):
            self.close()  # only a connection whose last answer was read to its end can carry another request
        if self.sock is None:
            self.connect()
        headers = dict(headers or {})
        if body is None and method in _BODY_METHODS:
            headers.setdefault("Content-Length", "0")
        elif isinstance(body, (bytes, bytearray)):
            headers.setdefault("Content-Length", str(len(body)))
        head = request_head(method, path, headers)
        self._response = None
        self._method = method
        if body is None or isinstance(body, (bytes, bytearray)):
            # One send for head and body: a small request never waits on delayed ACKs.
            self.sock.sendall(head + bytes(body or b""))
            return
        self.sock.sendall(head)
        while True:
            block = body.read(65536)
            if not block:
                return
            self.sock.sendall(block)

    def getresponse(self):
        self._response = Response(self._reader, self._method)
        return self._response

    def close(self):
        reader, sock = self._reader, self.sock
        if self._response is not None:
            self._response.detach()
        self._reader = self.sock = self._response = None
        try:
            if reader is not None:
                reader.close()
        finally:
            if sock is not None:
                sock.close()


def unix_socket_opener(path):
    """``open_socket`` for a unix socket."""
    def open_socket(timeout):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return sock
    return open_socket


def tcp_opener(host, port, context=None, server_hostname=None):
    """``open_socket`` for TCP, wrapped in TLS with ``context`` (an ssl.SSLContext) when given."""
    def open_socket(timeout):
        sock = socket.create_connection((host, port), timeout)
        if context is None:
            return sock
        try:
            return context.wrap_socket(sock, server_hostname=server_hostname)
        except BaseException:
            sock.close()
            raise
    return open_socket
