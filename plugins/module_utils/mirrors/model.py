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

import difflib
import re
from urllib.parse import urlsplit

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import check_mirror_url
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import MASK, mask_urls
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


def _ca_file_option(value, label):
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise MirrorError("%s must be an absolute path on the target host, such as /etc/ssl/mirror-ca.pem, not %r"
                          % (label, value))
    return value


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


# The one table of mirror options: name -> (default, converter). The module's
# documentation of `mirrors` describes the same entries.
MIRROR_OPTIONS = {
    "url": (None, None),
    "insecure": (False, _bool_option),
    "skip_verify": (False, _bool_option),
    "ca_file": (None, _ca_file_option),
    "capabilities": (list(DEFAULT_CAPABILITIES), _capabilities_option),
    "override_path": (False, _bool_option),
}


def normalise_url(url):
    """The canonical form of a valid mirror URL: scheme and host in lower case, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return "%s://%s%s" % (parts.scheme.lower(), parts.netloc.lower(), path)


_MANGLED_SCHEME_RE = re.compile(r"(?P<scheme>[A-Za-z]{1,8})(?P<sep>[:;/\\|]+)(?P<rest>[^:;/\\|].*)", re.S)
_BLANK_OR_CONTROL_RE = re.compile(r"[\x00-\x20\x7f]")


def shown_url(url):
    """A URL fit for a message: its credentials masked, also where the scheme is missing or mangled."""
    shown = mask_urls(url)
    if isinstance(shown, str) and "@" in shown and "://" not in shown:
        head, _at, tail = shown.rpartition("@")
        scheme = _MANGLED_SCHEME_RE.match(head)
        prefix = scheme.group("scheme") + scheme.group("sep") if scheme else ""
        shown = "%s%s@%s" % (prefix, MASK, tail)
    return shown


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
        mirror[name] = default if given is None else convert(given, "%s.%s" % (_label(index, url), name))
    if mirror["ca_file"] and not url.startswith("https://"):
        raise MirrorError("%s: ca_file applies to https mirrors only; this one is plain HTTP" % _label(index, url))
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
