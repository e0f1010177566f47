# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry mirrors as data: the mirror model and one renderer per runtime.

A mirror is a URL, or a dict with ``url`` and the options in ``MIRROR_OPTIONS``
(the one table of them). :func:`normalise_mirrors` turns what a task gives
into plain dicts and says, per mirror, what to change. The renderers are pure:

- Docker: the ``registry-mirrors`` and ``insecure-registries`` to merge into
  daemon.json (:func:`docker_change`); only Docker Hub can have mirrors;
- containerd: ``certs.d/<registry>/hosts.toml`` (:func:`render_hosts_toml`)
  and ``config_path`` set in config.toml for the file's layout, editing
  nothing else in it (:func:`plan_config_path`);
- Podman and CRI-O: a ``registries.conf.d`` drop-in with ``[[registry]]``
  and ``[[registry.mirror]]`` (:func:`render_registries_dropin`).

Each rendered file has a parser (a small TOML reader, since targets may run
Python 3.8 without tomllib), so everything written can be read back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os
import re
from urllib.parse import urlsplit

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import check_mirror_url
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import MASK, mask_urls
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import DOCKER_HUB, registry_host

DOCKER_HUB_SERVER = "https://registry-1.docker.io"
DEFAULT_REGISTRY_DIR = "_default"  # containerd: the hosts.toml in certs.d/_default serves every registry

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d"
REGISTRIES_CONF_D = "/etc/containers/registries.conf.d"
DROP_IN_PREFIX = "50-dockhand-"

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


def normalise_mirror(value, index=0):
    """One mirror as a dict with every key of MIRROR_OPTIONS; raises MirrorError naming it."""
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


def normalise_mirrors(values):
    """Every mirror normalised, in order; raises MirrorError listing every problem found."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        values = [values]
    mirrors, problems, seen = [], [], {}
    for index, value in enumerate(values):
        try:
            mirror = normalise_mirror(value, index)
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


# --------------------------------------------------------------------------
# Docker: registry-mirrors and insecure-registries in daemon.json
# --------------------------------------------------------------------------

def check_docker_registry(registry):
    """None when Docker can mirror ``registry``, else why not and what to use instead."""
    if registry == DOCKER_HUB:
        return None
    return ("registry %s: Docker's registry-mirrors only apply to pulls from Docker Hub (docker.io), so dockerd "
            "cannot mirror %s. Use runtime: containerd or runtime: podman for mirrors of other registries, or "
            "registry: docker.io" % (registry, registry))


def _as_list(value):
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    return []


def _loose_url(value):
    """A URL from daemon.json in canonical form for comparison (it may not be valid)."""
    if not isinstance(value, str):
        return value
    try:
        return normalise_url(value) if not check_mirror_url(value.strip()) else value
    except ValueError:
        return value


def docker_change(current, mirrors, state="present"):
    """The settings registry_mirrors merges into daemon.json (empty when nothing changes).

    ``present`` makes ``registry-mirrors`` exactly ``mirrors`` (in order);
    ``absent`` takes out ``mirrors`` (every mirror when empty). An entry of
    ``insecure-registries`` that is a mirror's host[:port] follows that
    mirror's ``insecure``: added for insecure mirrors, taken out when the
    mirror goes or stops being insecure. Other entries are kept.

    A list that becomes empty is written as ``[]``, never removed: on SIGHUP
    dockerd reloads these keys only when the file has them, so a removed key
    would leave the old mirrors in force until the next restart.
    """
    current_urls = _as_list(current.get("registry-mirrors"))
    current_norm = [_loose_url(url) for url in current_urls]
    if state == "present":
        wanted_norm = [mirror["url"] for mirror in mirrors]
        wanted = current_urls if current_norm == wanted_norm else wanted_norm
        owned = {mirror_host(url) for url in current_norm + wanted_norm if isinstance(url, str)}
        want_insecure = [mirror_host(m["url"]) for m in mirrors if is_insecure(m)]
    else:
        drop = {mirror["url"] for mirror in mirrors}
        keep = [(url, norm) for url, norm in zip(current_urls, current_norm) if mirrors and norm not in drop]
        wanted = [url for url, _norm in keep]
        kept_hosts = {mirror_host(norm) for _url, norm in keep if isinstance(norm, str)}
        owned = {mirror_host(norm) for norm in current_norm if isinstance(norm, str)} - kept_hosts
        want_insecure = []

    current_insecure = _as_list(current.get("insecure-registries"))
    new_insecure = []
    for entry in current_insecure:
        name = entry.lower() if isinstance(entry, str) else entry
        if (name not in owned or name in want_insecure) and entry not in new_insecure:
            new_insecure.append(entry)
    lowered = [entry.lower() for entry in new_insecure if isinstance(entry, str)]
    new_insecure += [host for host in dict.fromkeys(want_insecure) if host not in lowered]

    settings = {}
    for key, old, new in (("registry-mirrors", current.get("registry-mirrors"), wanted),
                          ("insecure-registries", current.get("insecure-registries"), new_insecure)):
        if old != new and (old is not None or new):
            settings[key] = new
    return settings


def mirrors_from_docker(settings):
    """The mirrors a daemon.json document sets: [{url, insecure}] (insecure: its host is in insecure-registries)."""
    insecure = {entry.lower() for entry in _as_list(settings.get("insecure-registries")) if isinstance(entry, str)}
    found = []
    for url in _as_list(settings.get("registry-mirrors")):
        norm = _loose_url(url)
        if isinstance(norm, str):
            found.append({"url": norm, "insecure": mirror_host(norm) in insecure})
    return found


# --------------------------------------------------------------------------
# A small TOML reader (TOML 1.0; Python 3.8 targets have no tomllib)
# --------------------------------------------------------------------------

class TomlError(ValueError):
    """The text is not TOML; the message names the file, line and column."""


_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
                          r"|\d{2}:\d{2}:\d{2}(?:\.\d+)?")
_NUMBER_RE = re.compile(r"0x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|0o[0-7](?:_?[0-7])*|0b[01](?:_?[01])*"
                        r"|[+-]?(?:inf|nan|(?:0|[1-9](?:_?[0-9])*)(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?)")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}


class _TomlParser:
    """Reads TOML into dicts and records, per table header and key, where its line starts and ends."""

    def __init__(self, text, source):
        self.text = text
        self.source = source
        self.pos = 0
        self.root = {}
        self.entries = []
        self.explicit = set()  # table paths given by a [header]
        self.arrays = set()  # id() of the lists made by [[header]]
        self.frozen = set()  # id() of inline tables and static arrays (not extendable)

    # -- errors and positions --

    def error(self, message, pos=None):
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        raise TomlError("%s: line %d, column %d: %s" % (self.source, line, column, message))

    def peek(self, size=1):
        return self.text[self.pos:self.pos + size]

    def skip_ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def skip_comment(self):
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def skip_blank(self):
        """White space, newlines and comments (inside arrays and inline tables)."""
        while self.pos < len(self.text):
            self.skip_ws()
            if self.peek() == "#":
                self.skip_comment()
            elif self.peek() == "\n":
                self.pos += 1
            elif self.peek(2) == "\r\n":
                self.pos += 2
            else:
                return

    def end_of_line(self):
        self.skip_ws()
        self.skip_comment()
        if self.pos >= len(self.text):
            return
        if self.peek() == "\n":
            self.pos += 1
        elif self.peek(2) == "\r\n":
            self.pos += 2
        else:
            self.error("expected the end of the line, found %r" % self.peek())

    # -- keys --

    def parse_key(self):
        parts = [self.parse_simple_key()]
        while True:
            mark = self.pos
            self.skip_ws()
            if self.peek() != ".":
                self.pos = mark
                return tuple(parts)
            self.pos += 1
            self.skip_ws()
            parts.append(self.parse_simple_key())

    def parse_simple_key(self):
        char = self.peek()
        if char == '"':
            if self.peek(3) == '"""':
                self.error("a key cannot be a multi-line string")
            return self.parse_basic_string()
        if char == "'":
            if self.peek(3) == "'''":
                self.error("a key cannot be a multi-line string")
            return self.parse_literal_string()
        match = _BARE_KEY_RE.match(self.text, self.pos)
        if not match:
            self.error("expected a key, found %r" % (char or "the end of the file"))
        self.pos = match.end()
        return match.group(0)

    # -- values --

    def parse_value(self):
        char = self.peek()
        if self.peek(3) == '"""':
            return self.parse_multiline_string(basic=True)
        if char == '"':
            return self.parse_basic_string()
        if self.peek(3) == "'''":
            return self.parse_multiline_string(basic=False)
        if char == "'":
            return self.parse_literal_string()
        if char == "[":
            return self.parse_array()
        if char == "{":
            return self.parse_inline_table()
        for word, value in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos) and not _BARE_KEY_RE.match(self.text, self.pos + len(word)):
                self.pos += len(word)
                return value
        match = _DATETIME_RE.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return match.group(0)  # kept as text: nothing here needs dates
        match = _NUMBER_RE.match(self.text, self.pos)
        if match and not _BARE_KEY_RE.match(self.text, match.end()):
            token = match.group(0).replace("_", "")
            try:
                if token[:2] in ("0x", "0o", "0b"):
                    number = int(token, 0)
                elif re.fullmatch(r"[+-]?[0-9]+", token):
                    number = int(token, 10)
                else:
                    number = float(token)
            except ValueError:
                number = None
            if number is not None:
                self.pos = match.end()
                return number
        self.error("expected a value (a quoted string, number, true, false, [array] or {table}), found %r"
                   % (self.text[self.pos:self.pos + 12].split("\n")[0] or "the end of the line"))
        return None  # not reached

    def parse_escape(self, chunks):
        start = self.pos
        code = self.text[self.pos + 1:self.pos + 2]
        if code in _ESCAPES:
            chunks.append(_ESCAPES[code])
            self.pos += 2
            return
        if code in ("u", "U"):
            size = 4 if code == "u" else 8
            digits = self.text[self.pos + 2:self.pos + 2 + size]
            if len(digits) == size and all(c in "0123456789abcdefABCDEF" for c in digits):
                try:
                    chunks.append(chr(int(digits, 16)))
                except ValueError:
                    self.error("\\%s%s is not a Unicode character" % (code, digits), start)
                self.pos += 2 + size
                return
        self.error("unknown escape \\%s in a string" % code, start)

    def parse_basic_string(self):
        self.pos += 1
        chunks = []
        while True:
            if self.pos >= len(self.text):
                self.error("a string is not closed")
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(chunks)
            if char == "\\":
                self.parse_escape(chunks)
            elif char in "\r\n":
                self.error("a string is not closed before the end of the line")
            else:
                chunks.append(char)
                self.pos += 1

    def parse_literal_string(self):
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or 0 <= newline < end:
            self.error("a string is not closed before the end of the line")
        value = self.text[self.pos + 1:end]
        self.pos = end + 1
        return value

    def parse_multiline_string(self, basic):
        quote = self.text[self.pos] * 3
        self.pos += 3
        if self.peek() == "\n":
            self.pos += 1
        elif self.peek(2) == "\r\n":
            self.pos += 2
        chunks = []
        while True:
            if self.pos >= len(self.text):
                self.error("a multi-line string is not closed")
            if self.text.startswith(quote, self.pos):
                run = 3
                while run < 5 and self.text[self.pos + run:self.pos + run + 1] == quote[0]:
                    run += 1
                chunks.append(quote[0] * (run - 3))
                self.pos += run
                return "".join(chunks)
            char = self.text[self.pos]
            if basic and char == "\\":
                rest = re.match(r"\\[ \t]*\r?\n[ \t\r\n]*", self.text[self.pos:])
                if rest:
                    self.pos += rest.end()
                    continue
                self.parse_escape(chunks)
                continue
            chunks.append(char)
            self.pos += 1

    def parse_array(self):
        self.pos += 1
        items = []
        while True:
            self.skip_blank()
            if self.peek() == "]":
                self.pos += 1
                break
            items.append(self.parse_value())
            self.skip_blank()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() == "]":
                self.pos += 1
                break
            else:
                self.error("expected , or ] in an array")
        self.frozen.add(id(items))
        return items

    def parse_inline_table(self):
        self.pos += 1
        table = {}
        self.skip_blank()
        if self.peek() == "}":
            self.pos += 1
            self.frozen.add(id(table))
            return table
        while True:
            self.skip_blank()
            key_at = self.pos
            key = self.parse_key()
            self.skip_ws()
            if self.peek() != "=":
                self.error("expected = after the key %s" % dotted_key(key))
            self.pos += 1
            self.skip_ws()
            self.assign(table, key, self.parse_value(), key_at)
            self.skip_blank()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() == "}":
                self.pos += 1
                break
            else:
                self.error("expected , or } in an inline table")
        self.frozen.add(id(table))
        return table

    # -- the document --

    def assign(self, table, key, value, at):
        node = table
        for part in key[:-1]:
            child = node.setdefault(part, {})
            if isinstance(child, list) and id(child) in self.arrays:
                child = child[-1]
            if not isinstance(child, dict) or id(child) in self.frozen:
                self.error("%s is already set to a value that is not a table" % dotted_key(key), at)
            node = child
        if key[-1] in node:
            self.error("%s is set twice" % dotted_key(key), at)
        node[key[-1]] = value

    def open_table(self, path, array, at):
        node = self.root
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if isinstance(child, list) and id(child) in self.arrays:
                child = child[-1]
            if not isinstance(child, dict) or id(child) in self.frozen:
                self.error("%s is already set to a value that is not a table" % dotted_key(path), at)
            node = child
        last = path[-1]
        if array:
            existing = node.get(last)
            if existing is None:
                existing = node[last] = []
                self.arrays.add(id(existing))
            elif not isinstance(existing, list) or id(existing) not in self.arrays:
                self.error("[[%s]]: %s is already set to a value that is not an array of tables"
                           % (dotted_key(path), dotted_key(path)), at)
            table = {}
            existing.append(table)
            return table
        existing = node.get(last)
        if existing is None:
            existing = node[last] = {}
        elif not isinstance(existing, dict) or id(existing) in self.frozen:
            self.error("[%s]: %s is already set to a value that is not a table" % (dotted_key(path),
                                                                                   dotted_key(path)), at)
        elif path in self.explicit:
            self.error("the table [%s] is defined twice" % dotted_key(path), at)
        self.explicit.add(path)
        return existing

    def parse(self):
        table, table_path = self.root, ()
        while True:
            self.skip_blank()
            if self.pos >= len(self.text):
                return self.root
            start = self.text.rfind("\n", 0, self.pos) + 1
            indent = self.text[start:self.pos]
            if self.peek() == "[":
                array = self.peek(2) == "[["
                at = self.pos
                self.pos += 2 if array else 1
                self.skip_ws()
                path = self.parse_key()
                self.skip_ws()
                closing = "]]" if array else "]"
                if not self.text.startswith(closing, self.pos):
                    self.error("expected %s to close the table header" % closing)
                self.pos += len(closing)
                self.end_of_line()
                table, table_path = self.open_table(path, array, at), path
                self.entries.append({"kind": "array" if array else "table", "path": path, "table": path,
                                     "start": start, "end": self.pos, "indent": indent})
                continue
            at = self.pos
            key = self.parse_key()
            self.skip_ws()
            if self.peek() != "=":
                self.error("expected = after the key %s" % dotted_key(key))
            self.pos += 1
            self.skip_ws()
            value_start = self.pos
            value = self.parse_value()
            value_end = self.pos
            self.end_of_line()
            self.assign(table, key, value, at)
            self.entries.append({"kind": "key", "path": table_path + key, "table": table_path, "key": key,
                                 "start": start, "end": self.pos, "indent": indent, "value": value,
                                 "value_start": value_start, "value_end": value_end})


def parse_toml(text, source="TOML"):
    """(document, entries): the data, and per header or key line its path and offsets in ``text``."""
    parser = _TomlParser(text, source)
    return parser.parse(), parser.entries


def loads(text, source="TOML"):
    """The TOML document as dicts and lists."""
    return parse_toml(text, source)[0]


def toml_string(value):
    """A TOML basic string."""
    out = ['"']
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def dotted_key(path):
    """A key path written as TOML: bare parts where possible, quoted otherwise."""
    return ".".join(part if _BARE_KEY_RE.fullmatch(part) else toml_string(part) for part in path)


def _get(document, path):
    node = document
    for part in path:
        if isinstance(node, list) and node:
            node = node[-1]
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# --------------------------------------------------------------------------
# containerd: certs.d/<registry>/hosts.toml
# --------------------------------------------------------------------------

def containerd_server(registry):
    """The upstream a hosts.toml falls back to; None for _default (each registry's own host)."""
    if registry == DEFAULT_REGISTRY_DIR:
        return None
    if registry == DOCKER_HUB:
        return DOCKER_HUB_SERVER
    return "https://" + registry


def containerd_host(mirror):
    """A mirror as containerd's [host."<url>"] sees it."""
    return {
        "url": mirror["url"],
        "capabilities": list(mirror["capabilities"]),
        "skip_verify": bool(mirror["skip_verify"] or (mirror["insecure"] and mirror["url"].startswith("https://"))),
        "ca": mirror["ca_file"],
        "override_path": bool(mirror["override_path"]),
    }


def render_hosts_toml(registry, hosts, server=None):
    """The hosts.toml text for ``registry``: ``hosts`` (containerd_host() dicts) in order, then ``server``."""
    if server is None:
        server = containerd_server(registry)
    lines = [WRITTEN_BY % registry,
             "# Mirrors are tried in order%s." % (", then the server" if server else ", then the registry itself")]
    if server:
        lines.append("server = %s" % toml_string(server))
    for host in hosts:
        lines.append("")
        lines.append("[host.%s]" % toml_string(host["url"]))
        lines.append("  capabilities = [%s]" % ", ".join(toml_string(name) for name in host["capabilities"]))
        if host.get("skip_verify"):
            lines.append("  skip_verify = true")
        if host.get("ca"):
            lines.append("  ca = %s" % toml_string(host["ca"]))
        if host.get("override_path"):
            lines.append("  override_path = true")
    return "\n".join(lines) + "\n"


def parse_hosts_toml(text, source="hosts.toml"):
    """{server, hosts: [containerd_host() dicts in file order]} from a hosts.toml."""
    document = loads(text, source)
    hosts = []
    for url, table in (document.get("host") or {}).items():
        if not isinstance(table, dict):
            continue
        ca = table.get("ca")
        hosts.append({
            "url": url,
            "capabilities": [name for name in CAPABILITIES
                             if name in (table.get("capabilities") or list(CAPABILITIES))],
            "skip_verify": bool(table.get("skip_verify", False)),
            "ca": (ca[0] if ca else None) if isinstance(ca, list) else ca,
            "override_path": bool(table.get("override_path", False)),
        })
    return {"server": document.get("server"), "hosts": hosts}


def hosts_toml_path(certs_dir, registry):
    return os.path.join(certs_dir, registry, "hosts.toml")


# --------------------------------------------------------------------------
# containerd: config_path in config.toml
# --------------------------------------------------------------------------

# The CRI registry table per config version: version 1 (no version line,
# containerd 1.x) names plugins by their short id; version 2 by URI; version
# 3 (containerd 2.x) moved the registry to the images plugin.
CRI_REGISTRY_TABLES = {
    1: ("plugins", "cri", "registry"),
    2: ("plugins", "io.containerd.grpc.v1.cri", "registry"),
    3: ("plugins", "io.containerd.cri.v1.images", "registry"),
}


def containerd_major(version_output):
    """The major version from ``containerd --version`` output, or None."""
    match = re.search(r"\sv?(\d+)\.(\d+)\.\d+", " " + (version_output or ""))
    return int(match.group(1)) if match else None


def config_path_dirs(value):
    """The directories of a config_path value (containerd accepts several, separated by ':')."""
    return [part.rstrip("/") or "/" for part in (value or "").split(":") if part]


def plan_config_path(text, config_path=CONTAINERD_CERTS_DIR, major=None,
                     source=CONTAINERD_CONFIG):
    """Set ``config_path`` under the CRI registry table of a containerd config.toml.

    ``text`` is the file's text ('' or None when it is missing); ``major`` is
    containerd's major version, used only to pick the layout of a new file.
    Returns {text, changed, current, version, table, conflicts}: ``current``
    is the config_path the file already sets (then nothing is edited);
    ``conflicts`` lists what containerd would refuse together with
    config_path (the old registry.mirrors and registry.configs.*.tls tables).
    Only the config_path line is added or edited; every other byte is kept.
    Raises TomlError when the text is not TOML.
    """
    text = text or ""
    document, entries = parse_toml(text, source)
    version = document.get("version")
    result = {"text": text, "changed": False, "current": None, "version": version, "table": None, "conflicts": []}
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        result["conflicts"].append("%s: version = %r is not a containerd config version (1, 2 or 3)"
                                   % (source, version))
        return result
    fresh = not entries
    if fresh:
        version = 3 if (major or 0) >= 2 else 2
    path = CRI_REGISTRY_TABLES[min(version or 1, 3)]
    result.update(version=version or 1, table="[%s]" % dotted_key(path))

    registry = _get(document, path)
    if registry is not None and not isinstance(registry, dict):
        result["conflicts"].append("%s: %s is not a table" % (source, dotted_key(path)))
        return result
    registry = registry or {}
    if registry.get("mirrors"):
        result["conflicts"].append(
            "%s sets [%s.mirrors], the old way to configure mirrors; containerd refuses it together with "
            "config_path. Move those mirrors to hosts.toml files (this module writes them) and delete the "
            "mirrors tables" % (source, dotted_key(path)))
    tls = sorted(name for name, config in (registry.get("configs") or {}).items()
                 if isinstance(config, dict) and config.get("tls"))
    if tls:
        result["conflicts"].append(
            "%s sets [%s.configs.<registry>.tls] for %s; containerd refuses it together with config_path. Move "
            "the TLS settings (ca_file, skip_verify) to the mirrors of this module and delete those tables"
            % (source, dotted_key(path), ", ".join(tls)))
    current = registry.get("config_path")
    if current is not None and not isinstance(current, str):
        result["conflicts"].append("%s: %s.config_path must be a string" % (source, dotted_key(path)))
        return result
    if current:
        result["current"] = current
        return result
    if result["conflicts"]:
        return result

    line = "config_path = %s" % toml_string(config_path)
    key_path = path + ("config_path",)
    for entry in entries:
        if entry["kind"] == "key" and entry["path"] == key_path:  # config_path = "" : fill it in
            new = text[:entry["value_start"]] + toml_string(config_path) + text[entry["value_end"]:]
            result.update(text=new, changed=True)
            return result
    for entry in entries:
        if entry["kind"] == "key" and path[:len(entry["path"])] == entry["path"]:
            lineno = text.count("\n", 0, entry["start"]) + 1
            result["conflicts"].append(
                "%s: %s is written as an inline table or value (line %d), which cannot take more keys; write it "
                "as a [%s] table with %s" % (source, dotted_key(entry["path"]), lineno, dotted_key(path), line))
            return result

    header = [e for e in entries if e["kind"] == "table" and e["path"] == path]
    if header:  # the table exists: add the line right under its header
        entry = header[0]
        insert_at = entry["end"]
        newline = "\r\n" if text[:insert_at].endswith("\r\n") else "\n"
        prefix = "" if text[:insert_at].endswith("\n") else newline
        new = text[:insert_at] + prefix + entry["indent"] + "  " + line + newline + text[insert_at:]
        result.update(text=new, changed=True)
        return result

    dotted = [e for e in entries
              if e["kind"] == "key" and e["path"][:len(path)] == path and len(e["table"]) < len(path)]
    if dotted:  # the table was made by dotted keys (registry.x = ...): add one more dotted key next to them
        entry = dotted[-1]
        relative = key_path[len(entry["table"]):]
        insert_at = entry["end"]
        newline = "\r\n" if "\r\n" in text else "\n"
        prefix = "" if text[:insert_at].endswith("\n") else newline
        new = (text[:insert_at] + prefix + entry["indent"] + "%s = %s" % (dotted_key(relative),
                                                                          toml_string(config_path))
               + newline + text[insert_at:])
        result.update(text=new, changed=True)
        return result

    # A new table: after the last line of its parent's subtree, indented like its siblings.
    newline = "\r\n" if "\r\n" in text else "\n"
    parent = path[:-1]
    parent_headers = [e for e in entries if e["kind"] in ("table", "array") and e["path"] == parent]
    indent = parent_headers[0]["indent"] + "  " if parent_headers else ""
    subtree = [e for e in entries if e["path"][:len(parent)] == parent]
    block = "%s[%s]%s%s  %s%s" % (indent, dotted_key(path), newline, indent, line, newline)
    if fresh:
        head = text + ("" if not text or text.endswith("\n") else newline) + (newline if text.strip() else "")
        new = head + "version = %d%s%s%s" % (version, newline, newline, block)
    elif subtree and parent_headers:
        insert_at = subtree[-1]["end"]
        prefix = "" if text[:insert_at].endswith("\n") else newline
        new = text[:insert_at] + prefix + block + text[insert_at:]
    else:
        head = text + ("" if text.endswith("\n") else newline)
        new = head + newline + block
    result.update(text=new, changed=True)
    return result


# --------------------------------------------------------------------------
# Podman and CRI-O: registries.conf.d drop-in
# --------------------------------------------------------------------------

def dropin_name(registry):
    """The drop-in's file name, such as 50-dockhand-docker.io.conf."""
    return "%s%s.conf" % (DROP_IN_PREFIX, re.sub(r"[^A-Za-z0-9._-]", "_", registry))


def check_podman_registry(registry):
    if registry == DEFAULT_REGISTRY_DIR:
        return ("registry _default: registries.conf has no entry for every registry; name the registry (such as "
                "docker.io) for runtime podman. _default is for containerd only")
    return None


def podman_mirror(mirror):
    """A mirror as a [[registry.mirror]] entry: location without scheme; insecure for http or insecure ones."""
    parts = urlsplit(mirror["url"])
    return {"location": parts.netloc + parts.path, "insecure": parts.scheme == "http" or is_insecure(mirror)}


def render_registries_dropin(registry, entries):
    """The drop-in text: one [[registry]] for ``registry`` with ``entries`` (podman_mirror() dicts) in order."""
    lines = [WRITTEN_BY % registry,
             "# Mirrors are tried in order, then %s itself." % registry,
             "[[registry]]",
             "prefix = %s" % toml_string(registry),
             "location = %s" % toml_string(registry)]
    for entry in entries:
        lines += ["", "[[registry.mirror]]", "location = %s" % toml_string(entry["location"])]
        if entry["insecure"]:
            lines.append("insecure = true")
    return "\n".join(lines) + "\n"


def parse_registries_dropin(text, source="registries.conf"):
    """[{prefix, location, mirrors: [{location, insecure}]}] from a registries.conf (v2) file."""
    found = []
    for registry in loads(text, source).get("registry") or []:
        if not isinstance(registry, dict):
            continue
        mirrors = [{"location": mirror.get("location"), "insecure": bool(mirror.get("insecure", False))}
                   for mirror in registry.get("mirror") or [] if isinstance(mirror, dict)]
        found.append({"prefix": registry.get("prefix", registry.get("location")),
                      "location": registry.get("location"), "mirrors": mirrors})
    return found


def registries_conf_v1_tables(text, source="registries.conf"):
    """A message when ``text`` uses the v1 format ([registries.search] ...), which cannot mix with v2 drop-ins."""
    try:
        document = loads(text, source)
    except TomlError:
        return None
    registries = document.get("registries")
    if isinstance(registries, dict) and registries:
        return ("%s uses the old v1 format ([registries.%s]); containers/image refuses to mix it with the v2 "
                "[[registry]] drop-ins in registries.conf.d. Convert it to v2 (unqualified-search-registries and "
                "[[registry]] tables) first" % (source, sorted(registries)[0]))
    return None
