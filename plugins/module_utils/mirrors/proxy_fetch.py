# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's HTTP client through an HTTP proxy, for upstream registries a host reaches only that way.

``proxy_fetcher_class(url, no_proxy)`` makes a :class:`probe.Fetcher` whose
requests go through the proxy: http:// ones in absolute form with a
``Proxy-Authorization`` header, https:// ones through a CONNECT tunnel (TLS
end to end, certificates checked against the registry's name). Hosts that
no_proxy names are reached directly. The proxy's password never shows in a
message: only its host and port do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client
import ssl
from urllib.parse import unquote, urlsplit

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.probe import Fetcher
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy_settings import (
    ProxyError,
    bypasses,
    normalise_no_proxy,
    normalise_proxy_url,
)


def proxy_authorization(url):
    """The Proxy-Authorization value of a proxy URL's credentials, or None."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    pair = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def proxy_fetcher_class(url, no_proxy=(), name="proxy"):
    """A Fetcher class that goes through the http:// proxy ``url``; raises ProxyError naming ``name``."""
    url = normalise_proxy_url(url, name)
    if url is None:
        return Fetcher
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ProxyError("%s: the probe goes through http:// proxies only (the proxy itself spoken to in plain "
                         "HTTP; https registries are still reached over TLS through it), not %s://"
                         % (name, parts.scheme))
    proxy_host, proxy_port = parts.hostname, parts.port or 80
    authorization = proxy_authorization(url)
    skip = normalise_no_proxy(no_proxy)

    class ProxyFetcher(Fetcher):
        """probe.Fetcher through the proxy (the hosts no_proxy names: directly)."""

        def _connection(self, scheme, host, port):
            if bypasses(host, port, skip):
                return Fetcher._connection(self, scheme, host, port)
            key = (scheme, host, port)
            cached = self._conns.get(key)
            if cached and cached[0].sock is not None:
                return cached[0], cached[1], True
            self.doing = "connecting to %s through the proxy %s:%d" % (self.where, proxy_host, proxy_port)
            if scheme == "https":
                context = self.ssl_context or ssl.create_default_context()
                conn = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=self._left(), context=context)
                conn.set_tunnel(host, port, headers={"Proxy-Authorization": authorization} if authorization else None)
            else:
                conn = http.client.HTTPConnection(proxy_host, proxy_port, timeout=self._left())
            conn.connect()
            self._conns[key] = (conn, conn.sock)
            return conn, conn.sock, False

        def _send(self, scheme, host, port, target, headers):
            if scheme == "http" and not bypasses(host, port, skip):
                target = "http://%s:%d%s" % (host if ":" not in host else "[%s]" % host, port, target)
                if authorization:
                    headers = dict(headers, **{"Proxy-Authorization": authorization})
            return Fetcher._send(self, scheme, host, port, target, headers)

    return ProxyFetcher
