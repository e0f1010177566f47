"""The probe's client through an HTTP proxy: what it sends on the wire, to a real local socket server as the proxy."""

import base64
import http.server
import threading

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.probe import Deadline, Fetcher
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy_fetch import (
    proxy_authorization,
    proxy_fetcher_class,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy_settings import ProxyError, bypasses

SECRET = "s3cret%40Pa55"


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 and every CONNECT with 407, and keeps each request line and its headers."""

    seen = []

    def _record(self):
        Recorder.seen.append((self.command, self.path, dict(self.headers)))

    def do_GET(self):  # noqa: N802 - http.server's name
        self._record()
        body = b"proxied"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self):  # noqa: N802 - http.server's name
        self._record()
        self.send_response(407)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy_port():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def fetch(fetcher_class, url):
    fetcher = fetcher_class(Deadline(10))
    try:
        response, _url = fetcher.open(url)
        body, _count = fetcher.read(response, 1024)
        return response.status, body
    finally:
        fetcher.close()


def test_http_goes_to_the_proxy_in_absolute_form_with_its_credentials(proxy_port):
    fetcher_class = proxy_fetcher_class("http://fleet:%s@127.0.0.1:%d" % (SECRET, proxy_port))
    status, body = fetch(fetcher_class, "http://registry.invalid:5000/v2/")
    assert (status, body) == (200, b"proxied")  # registry.invalid resolves nowhere: the proxy answered
    command, path, headers = Recorder.seen[0]
    assert (command, path) == ("GET", "http://registry.invalid:5000/v2/")
    assert headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"fleet:s3cret@Pa55").decode()
    assert headers["Host"] == "registry.invalid:5000"


def test_https_asks_the_proxy_for_a_tunnel_and_a_refusal_names_no_password(proxy_port):
    fetcher_class = proxy_fetcher_class("http://fleet:%s@127.0.0.1:%d" % (SECRET, proxy_port))
    with pytest.raises(OSError) as caught:
        fetch(fetcher_class, "https://registry.invalid/v2/")
    assert "407" in str(caught.value) and SECRET not in str(caught.value)
    command, path, headers = Recorder.seen[0]
    assert (command, path) == ("CONNECT", "registry.invalid:443")
    assert headers["Proxy-Authorization"].startswith("Basic ")


def test_no_proxy_hosts_are_reached_directly(proxy_port):
    fetcher_class = proxy_fetcher_class("http://127.0.0.1:1", no_proxy=["127.0.0.1"])  # the proxy: nothing there
    status, _body = fetch(fetcher_class, "http://127.0.0.1:%d/v2/" % proxy_port)
    assert status == 200 and Recorder.seen[0][1] == "/v2/"  # origin form: straight to the server
    assert "Proxy-Authorization" not in Recorder.seen[0][2]


def test_no_proxy_given_means_the_plain_fetcher_and_bad_proxies_are_refused():
    assert proxy_fetcher_class(None) is Fetcher and proxy_authorization("http://p.lan:3128") is None
    with pytest.raises(ProxyError, match="http:// proxies only"):
        proxy_fetcher_class("socks5://p.lan:1080")
    with pytest.raises(ProxyError) as caught:
        proxy_fetcher_class("http://fleet:%s@p.lan:3128/path" % SECRET)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("host, port, entries, expected", [
    ("registry.lan", 443, ["*"], True),
    ("registry.lan", 443, ["registry.lan"], True),
    ("m.registry.lan", 443, ["registry.lan"], True),
    ("m.registry.lan", 443, [".registry.lan"], True),
    ("m.registry.lan", 443, ["*.registry.lan"], True),
    ("xregistry.lan", 443, ["registry.lan"], False),
    ("registry.lan", 5000, ["registry.lan:5000"], True),
    ("registry.lan", 443, ["registry.lan:5000"], False),
    ("10.1.2.3", 80, ["10.0.0.0/8"], True),
    ("11.1.2.3", 80, ["10.0.0.0/8"], False),
    ("fd00::2", 80, ["[fd00::2]"], True),
    ("fd00::2", 80, ["fd00::/8"], True),
    ("Registry.LAN.", 443, ["registry.lan"], True),
    ("registry.lan", 443, [], False),
])
def test_bypasses_reads_no_proxy_as_curl_and_go_do(host, port, entries, expected):
    assert bypasses(host, port, entries) is expected
