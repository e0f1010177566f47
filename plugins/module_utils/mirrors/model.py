# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry mirrors as data: the mirror model, shared by every runtime's driver.

A mirror is a URL, or a dict with ``url`` and the options in ``MIRROR_OPTIONS``
(the one table of them); a URL may also be the name of a preset (presets.py),
which stands for that mirror's URL for the registry. :func:`normalise_mirrors` turns what a task gives
into plain dicts and says, per mirror, what to change; :func:`normalise_registry`
does the same for the registry they stand in for.

Each runtime renders the mirrors into its own file in ``runtimes/``: Docker's
daemon.json keys (docker.py), containerd's hosts.toml and config_path
(containerd.py), and a registries.conf.d drop-in for Podman and CRI-O
(podman.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import difflib
import re
from urllib.parse import urlsplit

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import check_mirror_url
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import (
    MASK,
    is_secret_header,
    mask_urls,
    redact,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.presets import PresetError, resolve
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import registry_host

DOCKER_HUB_SERVER = "https://registry-1.docker.io"
DEFAULT_REGISTRY_DIR = "_default"  # containerd: the hosts.toml in certs.d/_default serves every registry

CAPABILITIES = ("pull", "resolve", "push")
DEFAULT_CAPABILITIES = ("pull", "resolve")

WRITTEN_BY = "# Written by dockhand.runtime (registry_mirrors) for %s; changes here are overwritten."


class MirrorError(ValueError):
    """The mirrors or the registry cannot be used as given; the message says what to change."""


# --------------------------------------------------------------------------
# The mirror model
# --------------------------------------------------------------------------

def _bool_option(value, label):
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise MirrorError("%s must be true or false, not %r" % (label, value)) from None


_PATH_RE = re.compile(r"/[^\x00-\x1f\x7f]*")


def _path_option(example):
    def convert(value, label):
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not _PATH_RE.fullmatch(value):
            raise MirrorError("%s must be an absolute path on the target host without control characters, such as "
                              "%s, not %r" % (label, example, value))
        return value
    return convert


_ca_file_option = _path_option("/etc/ssl/mirror-ca.pem")


def _capabilities_option(value, label):
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise MirrorError("%s must be a non-empty list drawn from %s" % (label, ", ".join(CAPABILITIES)))
    unknown = [item for item in value if item not in CAPABILITIES]
    if unknown:
        names = ", ".join(repr(item) for item in unknown)
        raise MirrorError("%s: %s unknown; use %s" % (label, names, ", ".join(CAPABILITIES)))
    return [name for name in CAPABILITIES if name in value]  # one order, so that re-runs render the same file


# HTTP header names are RFC 9110 tokens; values visible ASCII with inner spaces (no line breaks, no
# control characters, nothing at either end that a reader could strip).
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE_RE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_USERNAME_RE = re.compile(r"[^\x00-\x20\x7f:]+")  # basic auth joins user:password, so no ':' in the name
_PASSWORD_RE = re.compile(r"[^\x00-\x1f\x7f]+")
_TOKEN_RE = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750 b64token
AUTH_KEYS = {"basic": ("username", "password"), "bearer": ("token",)}


def _auth_option(value, label):
    """{username, password} (basic) or {token} (bearer); no value is ever echoed."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise MirrorError("%s must be a dict: {username: ..., password: ...} for basic auth, or {token: ...} for a "
                          "bearer token" % label)
    keys = set(value)
    kind = next((name for name, wanted in AUTH_KEYS.items() if keys == set(wanted)), None)
    if kind is None:
        raise MirrorError("%s takes either username and password (basic auth) or token (a bearer token), not %s"
                          % (label, ", ".join(sorted(str(key) for key in keys)) or "nothing"))
    checks = {"username": (_USERNAME_RE, "a user name without ':', white space or control characters"),
              "password": (_PASSWORD_RE, "a non-empty password without control characters (no line break)"),
              "token": (_TOKEN_RE, "a bearer token: letters, digits and -._~+/ with '=' only at its end")}
    auth = {}
    for key in AUTH_KEYS[kind]:
        item = value[key]
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)
        pattern, wanted = checks[key]
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise MirrorError("%s.%s must be %s; change it (its value is not shown)" % (label, key, wanted))
        auth[key] = item
    return auth


def _headers_option(value, label):
    """{name: [values]}: header names as given (no two alike but for case), each value a list."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise MirrorError("%s must be a dict of header names to a value or a list of values, such as "
                          "{X-Meta-Source: fleet}" % label)
    headers, seen = {}, {}
    for name, given in value.items():
        if not isinstance(name, str) or not _HEADER_NAME_RE.fullmatch(name):
            raise MirrorError("%s: %r is not an HTTP header name (letters, digits and !#$%%&'*+.^_`|~-)"
                              % (label, name))
        if name.lower() in seen:
            raise MirrorError("%s names %s and %s, the same header; give it once, with a list of values"
                              % (label, seen[name.lower()], name))
        seen[name.lower()] = name
        values = given if isinstance(given, (list, tuple)) else [given]
        if not values or not all(isinstance(item, str) and _HEADER_VALUE_RE.fullmatch(item) for item in values):
            raise MirrorError("%s.%s must be a non-empty string, or a list of them, of visible ASCII characters and "
                              "inner spaces (no line breaks or control characters, no blank at either end)"
                              % (label, name))
        headers[name] = list(values)
    return headers


_client_path_option = _path_option("/etc/ssl/mirror-client.pem")


def auth_header(auth):
    """The Authorization header value of a mirror's ``auth``: ``Basic <base64>`` or ``Bearer <token>``; None."""
    if not auth:
        return None
    if "token" in auth:
        return "Bearer " + auth["token"]
    pair = ("%s:%s" % (auth["username"], auth["password"])).encode("utf-8")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def mirror_secrets(mirror):
    """The strings of a mirror that must never show: its credentials, their header form, secret-named headers."""
    found = set()
    auth = mirror.get("auth") or {}
    for key in ("password", "token"):
        if auth.get(key):
            found.add(auth[key])
    if auth:
        found.add(auth_header(auth))
        found.add(auth_header(auth).split(" ", 1)[1])
    for name, values in (mirror.get("headers") or {}).items():
        if is_secret_header(name):
            found.update(values)
    return found


def shown_mirrors(mirrors):
    """The mirrors fit to show: redact's rule, and every credential-carrying header's values masked."""
    shown = redact(mirrors)
    for mirror in shown:
        headers = mirror.get("headers") or {}
        mirror["headers"] = {name: MASK if is_secret_header(name) else values for name, values in headers.items()}
    return shown


# The one table of mirror options: name -> (default, converter). The module's
# documentation of `mirrors` describes the same entries.
MIRROR_OPTIONS = {
    "url": (None, None),
    "insecure": (False, _bool_option),
    "skip_verify": (False, _bool_option),
    "ca_file": (None, _ca_file_option),
    "capabilities": (list(DEFAULT_CAPABILITIES), _capabilities_option),
    "override_path": (False, _bool_option),
    "auth": (None, _auth_option),
    "headers": ({}, _headers_option),
    "client_cert": (None, _client_path_option),
    "client_key": (None, _client_path_option),
}
# What a mirror may carry that Docker's registry-mirrors cannot send (dockerd uses Docker Hub's credentials).
CREDENTIAL_OPTIONS = ("auth", "headers")


def normalise_url(url):
    """The canonical form of a valid mirror URL: scheme and host in lower case, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return "%s://%s%s" % (parts.scheme.lower(), parts.netloc.lower(), path)


_MANGLED_SCHEME_RE = re.compile(r"(?P<scheme>[A-Za-z]{1,8})(?P<sep>[:;/\\|]+)(?P<rest>[^:;/\\|].*)", re.S)
_BLANK_OR_CONTROL_RE = re.compile(r"[\x00-\x20\x7f]")


_UNMASKABLE_RE = re.compile(r"[\s'\"<>]")  # characters that end redact's URL pattern before the '@'


def shown_url(url):
    """A URL fit for a message: its credentials masked, also where the scheme is missing or mangled, and where
    the credentials hold a blank, a quote or '<>' (which end redact's URL pattern early)."""
    shown = mask_urls(url)
    if isinstance(shown, str) and "@" in shown and "://" not in shown:
        head, _at, tail = shown.rpartition("@")
        scheme = _MANGLED_SCHEME_RE.match(head)
        prefix = scheme.group("scheme") + scheme.group("sep") if scheme else ""
        shown = "%s%s@%s" % (prefix, MASK, tail)
    elif isinstance(shown, str) and "@" in shown:
        head, _at, tail = shown.rpartition("@")
        scheme, _sep, userinfo = head.partition("://")
        if _UNMASKABLE_RE.search(userinfo):
            shown = "%s://%s@%s" % (scheme, MASK, tail)
    return shown


def userinfo_secrets(value):
    """What a URL may hold as a secret, for no_log_values: its user information and its password part, also
    where a character redact's URL pattern stops at (a quote, a blank) keeps that pattern from seeing them."""
    if not isinstance(value, str) or "@" not in value:
        return set()
    _scheme, sep, rest = value.partition("://")
    userinfo = (rest if sep else value).rpartition("@")[0]
    found = {userinfo, userinfo.partition(":")[2]}
    return {item for item in found if len(item) >= 3}


def scheme_typo(url):
    """The URL a mangled scheme meant, or None.

    ``http//host:5001``, ``http:/host``, ``https;//host``, ``htp://host`` and
    ``http:host`` become ``http://host...`` (``https://`` where the typo ends in
    s). A host name or an unrelated scheme (``mirror.lan:5000``, ``ftp://``) is
    not a typo of http.
    """
    if not isinstance(url, str):
        return None
    match = _MANGLED_SCHEME_RE.fullmatch(url.strip())
    if not match:
        return None
    scheme = match.group("scheme").lower()
    if scheme in ("http", "https") and match.group("sep") == "://":
        return None
    if not difflib.get_close_matches(scheme, ("http", "https"), n=1, cutoff=0.6):
        return None
    return "%s://%s" % ("https" if scheme.endswith("s") else "http", match.group("rest"))


def check_url_form(url, label):
    """Refuse, before any parsing that could echo them, blanks, control characters, credentials and a
    mangled scheme (with the URL it meant); raises MirrorError."""
    shown = shown_url(url)
    if _BLANK_OR_CONTROL_RE.search(url):
        raise MirrorError("%s: %r contains white space or control characters; write the URL alone, such as "
                          "https://mirror.example.com" % (label, shown))
    if shown != url:
        raise MirrorError("%s: %r carries credentials: dockerd does not accept them in a mirror URL; store them "
                          "with registry_login instead" % (label, shown))
    meant = scheme_typo(url)
    if meant:
        raise MirrorError("%s: %r has a mangled scheme: write %s" % (label, shown, meant))


def _label(index, url=None):
    return "mirrors[%d]%s" % (index, " (%s)" % url if url else "")


def normalise_mirror(value, index=0, registry=None):
    """One mirror as a dict with every key of MIRROR_OPTIONS; raises MirrorError naming it.

    With ``registry``, a preset's name in place of the URL stands for that
    preset's URL for the registry (presets.resolve).
    """
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        raise MirrorError("%s must be a URL string or a dict with url (and %s), not %r"
                          % (_label(index), ", ".join(sorted(set(MIRROR_OPTIONS) - {"url"})), value))
    unknown = sorted(set(value) - set(MIRROR_OPTIONS))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), MIRROR_OPTIONS, n=1, cutoff=0.6)
            hints.append("%s%s" % (key, " (did you mean %s?)" % close[0] if close else ""))
        url = value.get("url")
        label = _label(index, shown_url(url) if isinstance(url, str) else None)
        raise MirrorError("%s: unknown key %s; the keys are %s" % (label, ", ".join(hints), ", ".join(MIRROR_OPTIONS)))
    url = value.get("url")
    if url is None or url == "":
        raise MirrorError("%s has no url: write it as a string, or as {url: https://mirror.example.com, ...}"
                          % _label(index))
    if isinstance(url, str):
        url = url.strip()
        if registry is not None:
            try:
                url = resolve(url, registry, _label(index)) or url
            except PresetError as exc:
                raise MirrorError(str(exc)) from None
        check_url_form(url, _label(index))
    error = check_mirror_url(url)
    if error:
        raise MirrorError("%s: %s" % (_label(index), error))
    url = normalise_url(url)
    mirror = {"url": url}
    for name, (default, convert) in MIRROR_OPTIONS.items():
        if name == "url":
            continue
        given = value.get(name)
        label = "%s.%s" % (_label(index, url), name)
        mirror[name] = copy.deepcopy(default) if given is None else convert(given, label)
    for name in ("ca_file", "client_cert", "client_key"):
        if mirror[name] and not url.startswith("https://"):
            raise MirrorError("%s: %s applies to https mirrors only; this one is plain HTTP"
                              % (_label(index, url), name))
    if mirror["client_key"] and not mirror["client_cert"]:
        raise MirrorError("%s: client_key needs client_cert, the certificate it belongs to" % _label(index, url))
    if mirror["auth"] and any(name.lower() == "authorization" for name in mirror["headers"]):
        raise MirrorError("%s sets auth and an Authorization header; give the credentials once, in auth"
                          % _label(index, url))
    return mirror


def normalise_mirrors(values, registry=None):
    """Every mirror normalised, in order; raises MirrorError listing every problem found.

    With ``registry`` (normalised), preset names are resolved for it.
    """
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        values = [values]
    mirrors, problems, seen = [], [], {}
    for index, value in enumerate(values):
        try:
            mirror = normalise_mirror(value, index, registry)
        except MirrorError as exc:
            problems.append(str(exc))
            continue
        if mirror["url"] in seen:
            first = seen[mirror["url"]]
            problems.append("%s repeats mirrors[%d]; list each mirror once" % (_label(index, mirror["url"]), first))
            continue
        seen[mirror["url"]] = index
        mirrors.append(mirror)
    if problems:
        raise MirrorError("; ".join(problems))
    return mirrors


def is_insecure(mirror):
    """Whether TLS is not verified for this mirror (insecure or skip_verify)."""
    return bool(mirror.get("insecure") or mirror.get("skip_verify"))


def mirror_host(url):
    """host[:port] of a mirror URL, as Docker's insecure-registries and certs.d directories name it."""
    return urlsplit(url).netloc.lower()


_REGISTRY_RE = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:(?P<port>[0-9]{1,5}))?")


def normalise_registry(registry):
    """The registry as host[:port] in lower case (Docker Hub's aliases become docker.io), or _default."""
    if not isinstance(registry, str) or not registry.strip():
        raise MirrorError("registry must be a registry host such as docker.io or registry.example.com:5000")
    value = registry.strip()
    if value == DEFAULT_REGISTRY_DIR:
        return value
    if "://" in value:
        raise MirrorError("registry %r: write the registry as host[:port] without a scheme (%s)"
                          % (registry, value.split("://", 1)[1].rstrip("/")))
    if "/" in value:
        raise MirrorError("registry %r: mirrors are set per registry host; write host[:port] without a path"
                          " (%s)" % (registry, value.split("/", 1)[0]))
    value = registry_host(value)
    match = _REGISTRY_RE.fullmatch(value)
    if not match or (match.group("port") and not 0 < int(match.group("port")) < 65536):
        raise MirrorError("registry %r is not host[:port], such as docker.io or registry.example.com:5000"
                          % registry)
    return value


def normalise_server(value, registry):
    """The upstream ``server`` that a registry's mirrors fall back to, as a canonical URL; None when not given.

    Raises MirrorError for a URL Docker's rules refuse (credentials, query, fragment, another scheme), and for
    _default, whose hosts.toml serves every registry and so can have no single upstream.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MirrorError("server must be a URL string such as https://registry.example.com, not %r" % (value,))
    if registry == DEFAULT_REGISTRY_DIR:
        raise MirrorError("server cannot be set for registry _default: its hosts.toml serves every registry, each "
                          "from its own host; name the registry whose upstream you mean")
    check_url_form(value, "server")
    error = check_mirror_url(value)
    if error:
        raise MirrorError("server: %s" % error.replace("a mirror URL", "a server URL"))
    return normalise_url(value)
