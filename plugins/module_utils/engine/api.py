# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker Engine API client on the Python standard library alone.

Talks HTTP/1.1 over a unix socket or TCP (optionally TLS) with :mod:`.transport`,
negotiates the API version once per client, decodes JSON and JSON-lines
streams, and turns every failure into one exception type, :class:`EngineError`,
whose message names the endpoint and the cause in words a person can act on.

Works against dockerd and Podman's Docker-compatible service alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import ipaddress
import json
import os
import selectors
import socket
import sys
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import ReportedError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.transport import (
    TRANSPORT_ERRORS,
    Connection,
    RemoteDisconnected,
    tcp_opener,
    unix_socket_opener,
)

# The newest API version this client is written and tested for. A newer daemon
# is spoken to at this version (daemons serve older versions), an older one at
# its own version as long as it is not below MIN_API_VERSION.
MAX_API_VERSION = "1.45"
MIN_API_VERSION = "1.24"

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 60
TCP_PORT = 2375
TLS_PORT = 2376

# How a failure is classified; callers (engine_info, rollbacks) branch on it.
KIND_CONFIG = "config"  # bad docker_host, missing TLS file, refused plain TCP
KIND_UNREACHABLE = "unreachable"  # no socket, connection refused, DNS failure
KIND_PERMISSION = "permission"  # EACCES on the socket
KIND_TIMEOUT = "timeout"  # the daemon did not answer in time
KIND_TLS = "tls"  # handshake or certificate verification failed
KIND_HTTP = "http"  # the daemon answered with an error status
KIND_STREAM = "stream"  # an error object inside a progress stream
KIND_PROTOCOL = "protocol"  # the answer was not what the API promises


class EngineError(ReportedError):
    """Any failure to talk to the engine.

    Carries ``status`` (HTTP status or None), ``daemon_message`` (the daemon's
    own words, if it said any), ``endpoint`` (the socket path or URL) and
    ``kind`` (one of the KIND_* constants).
    """

    def __init__(self, message, endpoint=None, status=None, daemon_message=None,
                 kind=KIND_PROTOCOL, method=None, path=None):
        super(EngineError, self).__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.status = status
        self.daemon_message = daemon_message
        self.kind = kind
        self.method = method
        self.path = path

    def __str__(self):
        parts = [self.message]
        where = []
        if self.method and self.path:
            where.append("%s %s" % (self.method, self.path))
        if self.endpoint:
            where.append("at %s" % self.endpoint)
        if self.status is not None:
            where.append("HTTP %s" % self.status)
        if where:
            parts.append("(%s)" % ", ".join(where))
        return " ".join(parts)

    @property
    def not_found(self):
        return self.status == 404

    result_key = "engine_error"

    def to_dict(self):
        """The error as plain data, for a module's result."""
        return {
            "msg": str(self),
            "kind": self.kind,
            "status": self.status,
            "daemon_message": self.daemon_message,
            "endpoint": self.endpoint,
        }


# --------------------------------------------------------------------------
# Endpoint parsing (pure)
# --------------------------------------------------------------------------

class Endpoint:
    """Where the daemon listens: a unix socket path or a TCP host and port."""

    def __init__(self, scheme, path=None, host=None, port=None, tls=False):
        self.scheme = scheme  # "unix" or "tcp"
        self.path = path
        self.host = host
        self.port = port
        self.tls = tls

    @property
    def url(self):
        if self.scheme == "unix":
            return "unix://" + self.path
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % ("https" if self.tls else "tcp", host, self.port)

    @property
    def is_loopback(self):
        if self.scheme == "unix":
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __repr__(self):
        return "Endpoint(%s)" % self.url


def parse_docker_host(docker_host, tls=False):
    """Parse a ``docker_host`` value into an :class:`Endpoint`.

    Accepts ``unix:///path``, ``tcp://host[:port]``, ``http://`` (plain TCP)
    and ``https://`` (TCP with TLS). Raises EngineError(kind=config) for
    anything else, with the accepted forms in the message.
    """
    value = (docker_host or "").strip()
    if not value:
        value = DEFAULT_DOCKER_HOST
    if value.startswith("/"):
        value = "unix://" + value
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise EngineError("docker_host %r is not a valid URL: %s" % (value, exc), kind=KIND_CONFIG) from None
    scheme = parts.scheme.lower()
    if scheme == "unix":
        path = parts.path or ""
        if parts.netloc:  # unix://var/run/docker.sock (two slashes) is a common slip
            path = "/" + parts.netloc + path
        if not path.startswith("/"):
            raise EngineError("docker_host %r: a unix socket path must be absolute, "
                              "for example unix:///var/run/docker.sock" % value, kind=KIND_CONFIG)
        return Endpoint("unix", path=path)
    if scheme in ("tcp", "http", "https"):
        use_tls = tls or scheme == "https"
        try:
            host = parts.hostname
            port = parts.port
        except ValueError as exc:
            raise EngineError("docker_host %r: %s" % (value, exc), kind=KIND_CONFIG) from None
        if not host:
            raise EngineError("docker_host %r has no host name, for example tcp://127.0.0.1:2376"
                              % value, kind=KIND_CONFIG)
        if parts.username or parts.password:
            raise EngineError("docker_host must not carry credentials; use TLS client "
                              "certificates (client_cert, client_key)", kind=KIND_CONFIG)
        if parts.path not in ("", "/"):
            raise EngineError("docker_host %r: a path is not supported after host:port" % value,
                              kind=KIND_CONFIG)
        return Endpoint("tcp", host=host, port=port or (TLS_PORT if use_tls else TCP_PORT), tls=use_tls)
    if scheme == "ssh":
        raise EngineError("docker_host %r: ssh:// is not supported; run the module on the "
                          "remote host through Ansible's own connection instead (the "
                          "modules run on the target and use its local socket)" % value,
                          kind=KIND_CONFIG)
    raise EngineError("docker_host %r has an unknown scheme %r; use unix:///path/to/docker.sock, "
                      "tcp://host:port or https://host:port" % (value, parts.scheme or ""),
                      kind=KIND_CONFIG)


def version_tuple(version):
    """'1.41' -> (1, 41); anything unparsable -> (0, 0)."""
    try:
        return tuple(int(p) for p in str(version).split(".")[:2])
    except ValueError:
        return (0, 0)


def negotiate_version(server_version, server_min=None, requested=None):
    """Choose the API version to speak.

    With ``requested`` (a user's ``api_version``) that version is used, and it
    must lie within what the server supports. Otherwise the lower of the
    server's version and MAX_API_VERSION. Raises EngineError(kind=config)
    when no version fits.
    """
    server = version_tuple(server_version)
    lowest = version_tuple(server_min or MIN_API_VERSION)
    if requested and requested != "auto":
        wanted = version_tuple(requested)
        if wanted == (0, 0):
            raise EngineError("api_version %r is not a version like 1.41" % requested, kind=KIND_CONFIG)
        if wanted > server:
            raise EngineError("api_version %s is newer than the daemon supports (%s); "
                              "set api_version to auto or at most %s"
                              % (requested, server_version, server_version), kind=KIND_CONFIG)
        if wanted < lowest:
            raise EngineError("api_version %s is older than the daemon accepts (minimum %s)"
                              % (requested, server_min), kind=KIND_CONFIG)
        return "%d.%d" % wanted
    if server == (0, 0):
        raise EngineError("the daemon did not report an API version", kind=KIND_PROTOCOL)
    chosen = min(server, version_tuple(MAX_API_VERSION))
    if chosen < version_tuple(MIN_API_VERSION):
        raise EngineError("the daemon speaks API %s; this collection needs at least %s "
                          "(Docker 1.12 or newer)" % (server_version, MIN_API_VERSION),
                          kind=KIND_CONFIG)
    return "%d.%d" % chosen


# --------------------------------------------------------------------------
# Stream decoding (pure)
# --------------------------------------------------------------------------

_DECODER = json.JSONDecoder()


def split_json_objects(buffer):
    """Split a text buffer of concatenated JSON documents.

    Returns ``(objects, rest)`` where ``rest`` is the incomplete tail.
    Documents may be separated by any whitespace (dockerd uses CRLF).
    """
    objects = []
    pos = 0
    length = len(buffer)
    while True:
        while pos < length and buffer[pos] in " \t\r\n":
            pos += 1
        if pos >= length:
            return objects, ""
        try:
            obj, end = _DECODER.raw_decode(buffer, pos)
        except ValueError:
            return objects, buffer[pos:]
        objects.append(obj)
        pos = end


def stream_error(obj):
    """The error message carried by one progress-stream object, or None."""
    if not isinstance(obj, dict):
        return None
    detail = obj.get("errorDetail")
    if isinstance(detail, dict) and detail.get("message"):
        return detail["message"]
    if obj.get("error"):
        return str(obj["error"])
    return None


def demux_docker_stream(data):
    """Split a multiplexed log/attach stream into (stdout, stderr) bytes.

    Each frame is an 8-byte header (stream type, 3 zero bytes, big-endian
    length) followed by the payload. A stream that does not start with a
    valid header (a TTY container) is returned whole as stdout.
    """
    out, err = [], []
    pos = 0
    while pos + 8 <= len(data):
        kind = data[pos]
        if kind not in (0, 1, 2) or data[pos + 1:pos + 4] != b"\x00\x00\x00":
            if pos == 0:
                return data, b""
            break
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        payload = data[pos + 8:pos + 8 + size]
        (err if kind == 2 else out).append(payload)
        pos += 8 + size
    return b"".join(out), b"".join(err)


# --------------------------------------------------------------------------
# Objects and values (pure)
# --------------------------------------------------------------------------

_OBJECT_COLLECTIONS = {"container": "/containers", "image": "/images", "network": "/networks",
                       "volume": "/volumes", "distribution": "/distribution"}


def object_path(kind, name, suffix=""):
    """The API path of one engine object: ``object_path("image", "busybox:1.36", "/json")``.

    Image references keep their ``/``, ``:`` and ``@``; other names are quoted whole.
    """
    safe = ":@/" if kind in ("image", "distribution") else ""
    return "%s/%s%s" % (_OBJECT_COLLECTIONS[kind], quote(name, safe=safe), suffix)


def as_text(value):
    """An option or label value as the engine stores it: a string; booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def text_dict(value):
    """A dict of option or label values as the engine stores them."""
    return {str(key): as_text(item) for key, item in (value or {}).items()}


def daemon_error_message(raw):
    """The daemon's own words in an error answer's body (its JSON ``message``), or the body as text."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and (data.get("message") or data.get("cause")):
        return data.get("message") or data.get("cause")
    return text


def hijack_request(method, path, payload):
    """The bytes of a request whose connection the daemon takes over (exec start, attach)."""
    head = ["%s %s HTTP/1.1" % (method, path), "Host: docker", "User-Agent: dockhand.runtime",
            "Content-Type: application/json", "Content-Length: %d" % len(payload),
            "Connection: Upgrade", "Upgrade: tcp", "", ""]
    return "\r\n".join(head).encode("ascii") + payload


def parse_response_head(data):
    """``(status, reason, headers, rest)`` of an HTTP answer's head in ``data``, or None while it is incomplete.

    ``headers`` has lower-case names; ``rest`` is what followed the blank line (the start of the stream).
    Raises EngineError(kind=protocol) when the head is not HTTP.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise EngineError("the daemon's answer is not HTTP: %r" % lines[0][:100], kind=KIND_PROTOCOL)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), (parts[2] if len(parts) > 2 else ""), headers, data[end + 4:]


def exchange(sock, stdin, read_timeout):
    """Write ``stdin`` to a hijacked connection while reading what comes back, so that neither side waits on a
    full buffer (a process that echoes its input); shut the writing side once all is written. Returns the
    chunks read until the daemon closes; raises socket.timeout when nothing moves for ``read_timeout``."""
    view, sent, chunks = memoryview(stdin), 0, []
    selector = selectors.DefaultSelector()
    sock.setblocking(False)
    try:
        if view:
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        else:
            sock.shutdown(socket.SHUT_WR)
            selector.register(sock, selectors.EVENT_READ)
        while True:
            events = selector.select(read_timeout)
            if not events:
                raise socket.timeout("no output for %s s" % read_timeout)
            for _key, mask in events:
                if mask & selectors.EVENT_WRITE and sent < len(view):
                    with contextlib.suppress(BlockingIOError):
                        sent += sock.send(view[sent:sent + 65536])
                    if sent >= len(view):
                        sock.shutdown(socket.SHUT_WR)
                        selector.modify(sock, selectors.EVENT_READ)
                if mask & selectors.EVENT_READ:
                    try:
                        chunk = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        return chunks
                    chunks.append(chunk)
    finally:
        selector.close()


# --------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------

def build_ssl_context(validate_certs=True, ca_path=None, client_cert=None, client_key=None,
                      endpoint_url=None):
    """An ``ssl.SSLContext`` for a TLS endpoint; missing files raise EngineError(config)."""
    import ssl  # noqa: PLC0415 - only a TLS endpoint pays for it
    for option, path in (("ca_path", ca_path), ("client_cert", client_cert), ("client_key", client_key)):
        if path and not os.path.isfile(path):
            raise EngineError("%s %s does not exist or is not a file" % (option, path),
                              endpoint=endpoint_url, kind=KIND_CONFIG)
    if bool(client_cert) != bool(client_key):
        raise EngineError("client_cert and client_key must be given together", endpoint=endpoint_url,
                          kind=KIND_CONFIG)
    try:
        context = ssl.create_default_context(cafile=ca_path)
        if not validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if client_cert:
            context.load_cert_chain(client_cert, client_key)
    except (ssl.SSLError, OSError) as exc:
        raise EngineError("cannot load the TLS files (ca_path, client_cert, client_key): %s" % exc,
                          endpoint=endpoint_url, kind=KIND_CONFIG) from None
    return context


def describe_os_error(exc, endpoint):
    """(kind, message) for a socket-level failure, in words a person can act on."""
    code = getattr(exc, "errno", None)
    ssl = sys.modules.get("ssl")  # imported by a TLS endpoint's context; no TLS error without it
    if ssl is not None and isinstance(exc, ssl.SSLCertVerificationError):
        return KIND_TLS, ("the daemon's certificate could not be verified (%s): give its CA with "
                          "ca_path, or the name on the certificate with tls_hostname"
                          % (exc.verify_message or exc.reason or exc))
    if ssl is not None and isinstance(exc, ssl.SSLError):
        return KIND_TLS, "TLS handshake with the daemon failed: %s" % (exc.reason or exc)
    if isinstance(exc, socket.timeout):
        return KIND_TIMEOUT, "the daemon did not answer within the timeout"
    if isinstance(exc, socket.gaierror):
        return KIND_UNREACHABLE, "cannot resolve host %s: %s" % (endpoint.host, exc.strerror or exc)
    if endpoint.scheme == "unix":
        if code == errno.ENOENT:
            return KIND_UNREACHABLE, ("the socket %s does not exist: is the engine installed and "
                                      "running?" % endpoint.path)
        if code in (errno.EACCES, errno.EPERM):
            return KIND_PERMISSION, ("permission denied on the socket %s: run the task as root "
                                     "(become: true) or as a member of the docker group"
                                     % endpoint.path)
        if code == errno.ECONNREFUSED:
            return KIND_UNREACHABLE, ("nothing listens on the socket %s: the daemon is not "
                                      "running" % endpoint.path)
        if code == errno.ENOTSOCK:
            return KIND_CONFIG, "%s is not a socket" % endpoint.path
    if code == errno.ECONNREFUSED:
        return KIND_UNREACHABLE, "connection refused by %s:%s" % (endpoint.host, endpoint.port)
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return KIND_UNREACHABLE, "no route to %s" % endpoint.host
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return KIND_UNREACHABLE, "the daemon closed the connection"
    detail = (exc.strerror or exc) if isinstance(exc, OSError) else exc
    return KIND_UNREACHABLE, "cannot talk to the daemon: %s" % detail


class EngineClient:
    """A client for one engine endpoint.

    ``get``/``post``/``put``/``delete`` return decoded JSON (or None for an
    empty body); ``stream`` yields the objects of a JSON-lines response and
    raises on the stream's own error object; ``raw`` returns bytes. Paths are
    written without the version prefix (``/containers/x/json``); the client
    adds ``/v<version>`` after negotiating on first use.
    """

    def __init__(self, docker_host=None, tls=False, validate_certs=True, ca_path=None,
                 client_cert=None, client_key=None, tls_hostname=None, api_version="auto",
                 timeout=DEFAULT_TIMEOUT, allow_plain_tcp=False):
        self.endpoint = parse_docker_host(docker_host, tls=tls or bool(client_cert or ca_path))
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.requested_api_version = api_version or "auto"
        self.tls_hostname = tls_hostname
        self._version_info = None
        self._api_version = None
        self._conn = None
        self._ssl_context = None
        self._client_cert = client_cert
        ep = self.endpoint
        if ep.scheme == "tcp" and not ep.tls and not ep.is_loopback and not allow_plain_tcp:
            raise EngineError(
                "refusing plain TCP to %s: anyone on the network could control the engine. "
                "Use TLS (tls: true with ca_path, client_cert, client_key) or, if the network is "
                "trusted, set allow_plain_tcp: true" % ep.url, endpoint=ep.url, kind=KIND_CONFIG)
        if ep.tls:
            self._ssl_context = build_ssl_context(validate_certs, ca_path, client_cert, client_key,
                                                  endpoint_url=ep.url)

    # -- connection ---------------------------------------------------------

    @property
    def endpoint_url(self):
        return self.endpoint.url

    def _new_connection(self, timeout):
        ep = self.endpoint
        if ep.scheme == "unix":
            return Connection(unix_socket_opener(ep.path), timeout)
        if ep.tls:
            return Connection(tcp_opener(ep.host, ep.port, self._ssl_context, self.tls_hostname or ep.host), timeout)
        return Connection(tcp_opener(ep.host, ep.port), timeout)

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _fail(self, exc, method, path):
        kind, message = describe_os_error(exc, self.endpoint)
        if kind == KIND_TIMEOUT:
            message = "the daemon did not answer within %s s" % self.timeout
        if (self.endpoint.tls and not self._client_cert and
                isinstance(exc, ConnectionResetError)):
            # TLS 1.3 finishes the client's side of the handshake before the server checks for a
            # client certificate, so a missing one shows only as a closed connection.
            kind, message = KIND_TLS, ("the daemon closed the TLS connection without answering: it "
                                       "probably requires a client certificate; give client_cert and client_key")
        return EngineError(message, endpoint=self.endpoint_url, kind=kind, method=method, path=path)

    def _send(self, method, path, body=None, headers=None, timeout=None):
        """Send one request and return the open response (status checked)."""
        all_headers = {"Host": "docker", "User-Agent": "dockhand.runtime"}
        payload = None
        rewind = None
        if body is not None and hasattr(body, "read"):  # a file (a build context, an image archive): streamed
            payload = body
            rewind = body.tell()
            all_headers["Content-Length"] = str(os.fstat(body.fileno()).st_size - rewind)
        elif body is not None:
            if isinstance(body, (bytes, bytearray)):
                payload = bytes(body)
            else:
                payload = json.dumps(body).encode("utf-8")
                all_headers["Content-Type"] = "application/json"
        if headers:
            all_headers.update(headers)
        wanted_timeout = timeout if timeout is not None else self.timeout
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._new_connection(wanted_timeout)
            conn = self._conn
            conn.timeout = wanted_timeout
            if conn.sock is not None:
                conn.sock.settimeout(wanted_timeout)
            if rewind is not None:
                payload.seek(rewind)
            try:
                conn.request(method, path, body=payload, headers=all_headers)
                response = conn.getresponse()
            except (RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                # A kept-alive connection the daemon closed meanwhile: retry once.
                if reused and attempt == 1:
                    continue
                raise self._fail(exc, method, path) from None
            except TRANSPORT_ERRORS as exc:
                self.close()
                raise self._fail(exc, method, path) from None
            if response.status >= 400:
                raise self._http_error(response, method, path)
            return response
        raise EngineError("unreachable", endpoint=self.endpoint_url)  # pragma: no cover

    def _http_error(self, response, method, path):
        try:
            raw = response.read()
        except TRANSPORT_ERRORS:
            raw = b""
        finally:
            if response.will_close:
                self.close()
        return self._error_from_answer(response.status, response.reason, raw, method, path)

    def _error_from_answer(self, status, reason, raw, method, path):
        daemon_message = daemon_error_message(raw)
        message = "the daemon refused the request: %s" % (daemon_message or reason)
        if status >= 500:
            message = "the daemon failed: %s" % (daemon_message or reason)
        return EngineError(message, endpoint=self.endpoint_url, status=status,
                           daemon_message=daemon_message or None, kind=KIND_HTTP,
                           method=method, path=path)

    def _read_all(self, response, method, path):
        try:
            data = response.read()
        except TRANSPORT_ERRORS as exc:
            self.close()
            raise self._fail(exc, method, path) from None
        if response.will_close:
            self.close()
        return data

    # -- versioning ---------------------------------------------------------

    def version_info(self):
        """The daemon's ``/version`` (unversioned path), fetched once."""
        if self._version_info is None:
            data = self._request_json("GET", "/version")
            if not isinstance(data, dict):
                raise EngineError("the daemon's /version answer is not an object",
                                  endpoint=self.endpoint_url, kind=KIND_PROTOCOL)
            self._version_info = data
        return self._version_info

    @property
    def api_version(self):
        """The negotiated API version (negotiates on first use)."""
        if self._api_version is None:
            info = self.version_info()
            try:
                self._api_version = negotiate_version(info.get("ApiVersion"), info.get("MinAPIVersion"),
                                                      self.requested_api_version)
            except EngineError as exc:
                exc.endpoint = self.endpoint_url
                raise
        return self._api_version

    def api_at_least(self, version):
        return version_tuple(self.api_version) >= version_tuple(version)

    def url(self, path, params=None):
        """Versioned request path with the query string encoded."""
        full = "/v%s%s" % (self.api_version, path)
        if params:
            clean = {}
            for key, value in params.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    clean[key] = "1" if value else "0"
                elif isinstance(value, (dict, list)):
                    clean[key] = json.dumps(value)
                else:
                    clean[key] = value
            if clean:
                full += "?" + urlencode(clean)
        return full

    # -- requests -----------------------------------------------------------

    def _request_json(self, method, full_path, body=None, timeout=None, headers=None):
        response = self._send(method, full_path, body=body, timeout=timeout, headers=headers)
        data = self._read_all(response, method, full_path)
        if not data.strip():
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            raise EngineError("the daemon's answer is not JSON: %r" % data[:200],
                              endpoint=self.endpoint_url, kind=KIND_PROTOCOL, method=method,
                              path=full_path, status=response.status) from None

    def request(self, method, path, params=None, body=None, timeout=None, headers=None):
        """One API call; returns decoded JSON or None."""
        return self._request_json(method, self.url(path, params), body=body, timeout=timeout,
                                  headers=headers)

    def get(self, path, params=None, **kwargs):
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path, params=None, body=None, **kwargs):
        return self.request("POST", path, params=params, body=body, **kwargs)

    def put(self, path, params=None, body=None, **kwargs):
        return self.request("PUT", path, params=params, body=body, **kwargs)

    def delete(self, path, params=None, **kwargs):
        return self.request("DELETE", path, params=params, **kwargs)

    def raw(self, method, path, params=None, body=None, timeout=None, headers=None):
        """One API call; returns the body as bytes."""
        full = self.url(path, params)
        response = self._send(method, full, body=body, timeout=timeout, headers=headers)
        return self._read_all(response, method, full)

    def download(self, path, target, params=None, timeout=None):
        """GET ``path`` and write the body into the open binary file ``target`` in chunks; returns the byte count."""
        full = self.url(path, params)
        response = self._send("GET", full, timeout=timeout)
        written = 0
        try:
            while True:
                try:
                    chunk = response.read(1 << 20)
                except TRANSPORT_ERRORS as exc:
                    raise self._fail(exc, "GET", full) from None
                if not chunk:
                    return written
                target.write(chunk)
                written += len(chunk)
        finally:
            self.close()

    def stream(self, method, path, params=None, body=None, timeout=None, headers=None):
        """Yield the JSON objects of a streamed answer (pull, push, build).

        ``timeout`` bounds the wait for each chunk, not the whole stream. An
        error object in the stream raises EngineError(kind=stream) carrying
        the daemon's message.
        """
        full = self.url(path, params)
        response = self._send(method, full, body=body, timeout=timeout, headers=headers)
        buffer = ""
        decoder_tail = b""
        try:
            while True:
                try:
                    chunk = response.read1(65536)
                except TRANSPORT_ERRORS as exc:
                    raise self._fail(exc, method, full) from None
                if not chunk:
                    break
                chunk = decoder_tail + chunk
                try:
                    text = chunk.decode("utf-8")
                    decoder_tail = b""
                except UnicodeDecodeError as exc:  # a multi-byte character split across chunks
                    text = chunk[:exc.start].decode("utf-8")
                    decoder_tail = chunk[exc.start:]
                objects, buffer = split_json_objects(buffer + text)
                for obj in objects:
                    message = stream_error(obj)
                    if message:
                        raise EngineError(message, endpoint=self.endpoint_url, kind=KIND_STREAM,
                                          daemon_message=message, method=method, path=full,
                                          status=response.status)
                    yield obj
            if buffer.strip():
                raise EngineError("the daemon's stream ended inside a JSON object: %r" % buffer[:200],
                                  endpoint=self.endpoint_url, kind=KIND_PROTOCOL, method=method,
                                  path=full)
        finally:
            self.close()

    def hijack(self, method, path, params=None, body=None, stdin=None, read_timeout=None):
        """Send a request whose connection the daemon takes over (``POST /exec/{id}/start``) and
        return every byte the daemon sends until it closes the connection.

        ``stdin`` (bytes) is written after the daemon answered, then the writing side is shut, so
        the process reads an end of file. ``read_timeout`` bounds each wait for output (None: wait
        as long as the process runs, as ``docker exec`` does).
        """
        full = self.url(path, params)
        if stdin is not None and self.endpoint.tls:
            raise EngineError("sending stdin over TLS is not supported: TLS cannot close only the writing side "
                              "of the connection; run the module on the engine's host and use its unix socket",
                              endpoint=self.endpoint_url, kind=KIND_CONFIG, method=method, path=full)
        payload = json.dumps(body).encode("utf-8") if body is not None else b""
        conn = self._new_connection(self.timeout)
        try:
            try:
                conn.connect()
                sock = conn.sock
                sock.sendall(hijack_request(method, full, payload))
                data = b""
                head = None
                while head is None:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise EngineError("the daemon closed the connection before it answered",
                                          endpoint=self.endpoint_url, kind=KIND_PROTOCOL, method=method, path=full)
                    data += chunk
                    head = parse_response_head(data)
                status, reason, headers, rest = head
                if status >= 400:
                    wanted = int(headers.get("content-length") or 0)
                    while len(rest) < wanted:
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        rest += chunk
                    raise self._error_from_answer(status, reason, rest, method, full)
                chunks = [rest]
                if stdin is not None:
                    chunks.extend(exchange(sock, stdin, read_timeout))
                else:
                    sock.settimeout(read_timeout)
                    while True:
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        chunks.append(chunk)
            except EngineError as exc:
                exc.endpoint = exc.endpoint or self.endpoint_url
                exc.method, exc.path = method, full
                raise
            except TRANSPORT_ERRORS as exc:
                raise self._fail(exc, method, full) from None
        finally:
            conn.close()
        return b"".join(chunks)

    # -- conveniences used by several modules --------------------------------

    def ping(self):
        """True when ``/_ping`` answers OK."""
        response = self._send("GET", "/_ping")
        return self._read_all(response, "GET", "/_ping").strip() == b"OK"

    def info(self):
        return self.get("/info")

    def inspect(self, kind, name):
        """Inspect a container, image, network or volume; None when it does not exist."""
        try:
            return self.get(object_path(kind, name, "/json" if kind in ("container", "image") else ""))
        except EngineError as exc:
            if exc.not_found:
                return None
            raise
