"""A real unix-socket HTTP server with canned answers, for fault tests.

It stands in for a daemon that answers 500 or hangs, which a real dockerd
cannot be made to do on demand. Everything else is tested against dockerd.
"""

import os
import re
import socket
import threading


class SocketDaemon:
    """A real unix-socket HTTP server that answers with canned bytes, or never answers."""

    def __init__(self, path, answers=None, hang=False):
        self.path = path
        self.answers = list(answers or [])
        self.hang = hang
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn = self.sock.accept()[0]
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.2)
                while not self.stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    self.requests.append(data.split(b"\r\n", 1)[0].decode())
                    if self.hang:
                        self.stop.wait(5)
                        break
                    if not self.answers:
                        break
                    conn.sendall(self.answers.pop(0))

    def close(self):
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


def http_answer(status, body, content_type="application/json", chunked=False):
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    if chunked:
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in body) + b"0\r\n\r\n"
        return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                % (status, reason.encode(), content_type.encode())) + chunks
    return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (status, reason.encode(), content_type.encode(), len(body), body))


class VanishingProxy:
    """A unix-socket proxy in front of the real dockerd that goes away at a chosen request.

    Everything is forwarded to the real daemon until a request line matches
    ``cut_at`` (a regular expression over bytes); that request is not
    forwarded, its connection is closed and the proxy's socket disappears, as
    when the daemon dies in the middle of a module's run.
    """

    def __init__(self, path, cut_at, upstream="/var/run/docker.sock"):
        self.path = path
        self.cut_at = re.compile(cut_at)
        self.upstream = upstream
        self.requests = []
        self.cut = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.cut.is_set():
            try:
                conn = self.sock.accept()[0]
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.relay, args=(conn,), daemon=True).start()

    def relay(self, conn):
        daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        daemon.connect(self.upstream)
        threading.Thread(target=self.pump, args=(daemon, conn), daemon=True).start()
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                line = data.split(b"\r\n", 1)[0]
                if line[:4] in (b"GET ", b"POST", b"DELE", b"PUT ", b"HEAD"):
                    self.requests.append(line.decode("latin-1"))
                    if not self.on_request(line):
                        break
                daemon.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()
            daemon.close()

    def on_request(self, line):
        """Called with each request line before it is forwarded; False drops it and ends the connection."""
        if self.cut_at.search(line):
            self.vanish()
            return False
        return True

    @staticmethod
    def pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass

    def vanish(self):
        self.cut.set()
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def close(self):
        if not self.cut.is_set():
            self.vanish()
        self.thread.join(5)
