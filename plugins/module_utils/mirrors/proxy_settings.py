# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An HTTP proxy's settings, matched whole (no Engine client, no service control: mirror_probe uses them too)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import MASK


class ProxyError(ValueError):
    """The proxy settings cannot be used as given; the message says what to change and shows no password."""


# --------------------------------------------------------------------------
# Pure: the settings
# --------------------------------------------------------------------------

# scheme://[user[:password]@]host[:port][/]. The credentials are percent-encoded URL parts drawn from a set
# that needs no quoting in a systemd environment file, daemon.json or TOML: no quote, backslash, '$', '&',
# parentheses or white space (percent-encode them: '@' is %40, '$' is %24).
_USERINFO_CHARS = r"[A-Za-z0-9._~!*+,;=-]|%[0-9A-Fa-f]{2}"
_PROXY_URL_RE = re.compile(
    r"(?P<scheme>https?|socks5h?)://"
    r"(?:(?P<user>(?:%s)+)(?::(?P<password>(?:%s)*))?@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?/?" % (_USERINFO_CHARS, _USERINFO_CHARS))
# One no_proxy entry: a host, a domain (.example.com, *.example.com), an address, a CIDR, host:port, or '*'.
_NO_PROXY_RE = re.compile(r"\*"
                          r"|(?:\*?\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?(?::[0-9]{1,5})?"
                          r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2}"
                          r"|\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\](?::[0-9]{1,5})?"
                          r"|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:/[0-9]{1,3})?")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def shown_proxy(value):
    """A proxy URL fit for a message: everything between '://' and the last '@' masked, whatever it holds."""
    if not isinstance(value, str):
        return value
    scheme = _SCHEME_RE.match(value)
    if "@" not in value:
        return value
    head = scheme.group(0) if scheme else ""
    return "%s%s@%s" % (head, MASK, value.rpartition("@")[2])


def normalise_proxy_url(value, name):
    """A proxy URL as given (a trailing '/' dropped), or None; raises ProxyError naming ``name``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ProxyError("%s must be a URL string such as http://proxy.example.com:3128" % name)
    match = _PROXY_URL_RE.fullmatch(value)
    if not match:
        raise ProxyError("%s %r is not a proxy URL: write scheme://[user:password@]host[:port], the scheme http, "
                         "https, socks5 or socks5h, with no path, query, white space or control characters; "
                         "percent-encode other characters of the user and password (such as @ as %%40)"
                         % (name, shown_proxy(value)))
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise ProxyError("%s %r: the port must be 1 to 65535" % (name, shown_proxy(value)))
    return value[:-1] if value.endswith("/") else value


def normalise_no_proxy(value):
    """The no_proxy entries as a list (a comma-separated string is split); raises ProxyError."""
    if value is None:
        return []
    entries = value.split(",") if isinstance(value, str) else list(value)
    found = []
    for entry in entries:
        if not isinstance(entry, str) or not _NO_PROXY_RE.fullmatch(entry):
            raise ProxyError("no_proxy entry %r is not a host, a domain (.example.com), an address, a CIDR or "
                             "host:port; write one entry per item, without white space" % (entry,))
        if entry not in found:
            found.append(entry)
    return found


def normalise_settings(http_proxy=None, https_proxy=None, no_proxy=None):
    """{http_proxy, https_proxy, no_proxy: [..]}; raises ProxyError listing every problem."""
    settings, problems = {}, []
    for name, value in (("http_proxy", http_proxy), ("https_proxy", https_proxy)):
        try:
            settings[name] = normalise_proxy_url(value, name)
        except ProxyError as exc:
            problems.append(str(exc))
    try:
        settings["no_proxy"] = normalise_no_proxy(no_proxy)
    except ProxyError as exc:
        problems.append(str(exc))
    if problems:
        raise ProxyError("; ".join(problems))
    return settings


# a systemd service unit's name, as the drop-in directory and the written-by line take it (no path, no new line)
_SERVICE_UNIT_RE = re.compile(r"[A-Za-z0-9:_.@-]+\.service")


def check_unit_names(**units):
    """Raise ProxyError naming each option whose value is not a service unit's name (such as docker.service)."""
    for option, value in sorted(units.items()):
        if not isinstance(value, str) or not _SERVICE_UNIT_RE.fullmatch(value) or ".." in value:
            raise ProxyError("%s: %r is not a systemd service unit's name; give one such as docker.service or "
                             "containerd.service (letters, digits and :_.@- ending in .service)" % (option, value))


def is_empty(settings):
    return not (settings.get("http_proxy") or settings.get("https_proxy"))


def bypasses(host, port, no_proxy):
    """Whether ``host`` (at ``port``) is reached without the proxy under the no_proxy entries, as curl and Go
    read them: '*', the host itself, a domain and its subdomains ('example.com', '.example.com',
    '*.example.com'), an address or a CIDR holding it, each optionally with ':port'."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for given in no_proxy or ():
        entry = given.lower()
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if address is not None and address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, entry_port = entry, None
        if entry.startswith("["):
            name, _sep, tail = entry[1:].partition("]")
            entry_port = tail[1:] or None
        elif entry.count(":") == 1:
            name, entry_port = entry.split(":")
        if entry_port is not None and entry_port != str(port):
            continue
        name = name.lstrip("*").lstrip(".").rstrip(".")
        if address is not None:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                pass
            continue
        if host == name or host.endswith("." + name):
            return True
    return False
