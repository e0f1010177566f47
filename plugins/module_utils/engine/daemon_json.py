# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""daemon.json as data: load, merge, remove, validate, compare, render.

``DAEMON_KEYS`` is the one table of the keys this collection knows: how each
is validated, whether dockerd applies it on SIGHUP (reload) or needs a
restart, and which dockerd flags set the same thing (a flag and a key for the
same setting stop dockerd from starting).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import ipaddress
import json
import re
from urllib.parse import urlsplit

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import MASK, is_secret_name, mask_urls

DEFAULT_DAEMON_JSON = "/etc/docker/daemon.json"


class DaemonJsonError(ValueError):
    """daemon.json cannot be used as it is; the message says why and where."""


def parse_daemon_json(text, path=DEFAULT_DAEMON_JSON):
    """Parse daemon.json text into a dict; an empty file is an empty dict.

    Raises DaemonJsonError for text that is not JSON or not a JSON object,
    naming the file, line and column.
    """
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        where = " at line %s, column %s" % (line, column) if line else ""
        raise DaemonJsonError("%s is not valid JSON%s: %s" % (path, where, getattr(exc, "msg", exc))) from None
    if not isinstance(data, dict):
        raise DaemonJsonError("%s must hold a JSON object ({...}), not a %s"
                              % (path, type(data).__name__.replace("dict", "object")))
    return data


def read_daemon_json(path=DEFAULT_DAEMON_JSON):
    """What is at ``path``: exists, valid, error, settings (None unless valid), raw text."""
    state = {"path": path, "exists": False, "valid": False, "error": None, "settings": None, "text": None}
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == 2:
            # A missing file is a valid, empty configuration.
            state.update(valid=True, settings={})
        else:
            state["error"] = "cannot read %s: %s" % (path, exc.strerror or exc)
        return state
    state["exists"] = True
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        state["error"] = "%s is not UTF-8 text (byte %d)" % (path, exc.start)
        return state
    state["text"] = text
    try:
        state["settings"] = parse_daemon_json(text, path)
        state["valid"] = True
    except DaemonJsonError as exc:
        state["error"] = str(exc)
    return state


# --------------------------------------------------------------------------
# Merge, remove, compare (pure)
# --------------------------------------------------------------------------

LIST_MERGE_MODES = ("replace", "append_unique")


def deep_merge(base, overlay, list_merge="replace"):
    """A new dict: ``overlay`` merged into ``base``.

    Dicts merge key by key, recursively; lists are replaced, or with
    ``list_merge="append_unique"`` extended by the items not yet present
    (order kept); anything else is replaced. Keys of ``base`` that
    ``overlay`` does not name are kept as they are, in their order.
    """
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = deep_merge(current, value, list_merge)
        elif isinstance(current, list) and isinstance(value, list) and list_merge == "append_unique":
            merged[key] = current + [item for i, item in enumerate(value)
                                     if item not in current and item not in value[:i]]
        else:
            merged[key] = value
    return merged


def split_path(data, path):
    """Split a dotted ``path`` into keys, preferring a literal key that contains dots."""
    if path in data:
        return [path]
    head, sep, rest = path.partition(".")
    if not sep:
        return [path]
    while sep:
        if head in data and isinstance(data[head], dict):
            return [head] + split_path(data[head], rest)
        more_head, sep, rest = rest.partition(".")
        head = head + "." + more_head
    return [path]


def remove_paths(data, paths):
    """A new dict without the dotted ``paths``; returns (new_data, removed_paths)."""
    result = _copy_dicts(data)
    removed = []
    for path in paths:
        keys = split_path(result, path)
        node = result
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and keys[-1] in node:
            del node[keys[-1]]
            removed.append(path)
            _prune_empty_parents(result, keys[:-1])
    return result, removed


def _copy_dicts(data):
    return {key: _copy_dicts(value) if isinstance(value, dict) else value for key, value in data.items()}


def _prune_empty_parents(data, keys):
    """Drop dicts left empty by a removal (``log-opts: {}`` means nothing)."""
    for depth in range(len(keys), 0, -1):
        node = data
        for key in keys[:depth - 1]:
            node = node[key]
        if node.get(keys[depth - 1]) == {}:
            del node[keys[depth - 1]]
        else:
            return


def changed_keys(before, after):
    """Top-level keys whose value differs between two documents, sorted."""
    keys = set(before) | set(after)
    return sorted(key for key in keys if before.get(key, _MISSING) != after.get(key, _MISSING))


_MISSING = object()


def render(data):
    """daemon.json text: two-space indent, keys in their existing order, final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_MEMBER_INDENT = re.compile(r"\{[ \t\r]*\n(?P<indent>[ \t]+)\"")


def top_level_members(text):
    """[(key, the value's exact text)] of a JSON object, in order; None unless ``text`` is one plain object.

    A duplicate key (which json.loads would quietly resolve) also gives None.
    """
    decoder = json.JSONDecoder()
    members = []
    try:
        index = _WHITESPACE.match(text, 0).end()
        if text[index:index + 1] != "{":
            return None
        index = _WHITESPACE.match(text, index + 1).end()
        closed = text[index:index + 1] == "}"
        index += closed
        while not closed:
            if text[index:index + 1] != '"':
                return None
            key, index = decoder.raw_decode(text, index)
            index = _WHITESPACE.match(text, index).end()
            if text[index:index + 1] != ":":
                return None
            start = _WHITESPACE.match(text, index + 1).end()
            _value, index = decoder.raw_decode(text, start)
            members.append((key, text[start:index]))
            index = _WHITESPACE.match(text, index).end()
            separator = text[index:index + 1]
            if separator == ",":
                index = _WHITESPACE.match(text, index + 1).end()
            elif separator == "}":
                index, closed = index + 1, True
            else:
                return None
    except ValueError:
        return None
    if text[_WHITESPACE.match(text, index).end():] or len({member[0] for member in members}) != len(members):
        return None
    return members


def _same(one, other):
    return json.dumps(one, sort_keys=True) == json.dumps(other, sort_keys=True)


def render_keeping(text, after):
    """daemon.json text for ``after`` that keeps the user's formatting of every value the change leaves alone.

    The value of each top-level key whose value did not change is copied from
    ``text`` exactly (a one-line ``log-opts`` stays one line); changed and new
    keys are written indented. The top level is one key per line with the
    file's own indentation. Whenever ``text`` is not one plain JSON object, or
    the result would not read back as ``after``, the canonical :func:`render`.
    """
    members = top_level_members(text) if text else None
    if not members or not after:
        return render(after)
    original = dict(members)
    found = _MEMBER_INDENT.search(text)
    indent = found.group("indent") if found else "  "
    lines = []
    for key, value in after.items():
        kept = original.get(key)
        if kept is not None and _same(json.loads(kept), value):
            shown_value = kept
        else:
            shown_value = json.dumps(value, indent=indent, ensure_ascii=False).replace("\n", "\n" + indent)
        lines.append("%s%s: %s" % (indent, json.dumps(key, ensure_ascii=False), shown_value))
    result = "{\n" + ",\n".join(lines) + "\n}\n"
    try:
        if _same(json.loads(result), after) and list(json.loads(result)) == list(after):
            return result
    except ValueError:
        pass
    return render(after)


# --------------------------------------------------------------------------
# Validation (pure): each check returns an error text or None
# --------------------------------------------------------------------------

_HOST_PORT_RE = re.compile(
    r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:(?P<port>[0-9]{1,5}))?")


def shown(value):
    """``value`` fit for a message: URL credentials masked, and anything before an '@' of a scheme-less value."""
    text = mask_urls(value)
    if "://" not in text and "@" in text:
        text = MASK + "@" + text.rpartition("@")[2]
    return text


def schemeless_passwords(value):
    """Passwords in ``user:password@host`` strings without a scheme (a mistake redact's URL rule cannot see)."""
    found = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= schemeless_passwords(item)
    elif isinstance(value, list):
        for item in value:
            found |= schemeless_passwords(item)
    elif isinstance(value, str) and "://" not in value and "@" in value:
        _user, sep, password = value.rpartition("@")[0].partition(":")
        if sep and len(password) >= 3:
            found.add(password)
    return found


def check_mirror_url(value):
    """Docker's rules for a registry mirror URL; messages never show credentials."""
    if not isinstance(value, str) or not value:
        return "must be a URL string such as https://mirror.example.com"
    safe = repr(shown(value))
    if shown(value) != value:  # credentials, found by pattern before any parsing can quote them
        return ("%s carries credentials: dockerd does not accept them in a mirror URL; store them with "
                "registry_login instead" % safe)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return "%s is not a valid URL: %s" % (safe, exc)
    if parts.scheme not in ("http", "https"):
        if not parts.scheme or "://" not in value:
            return "%s has no scheme: write https://%s (or http:// for a plain-HTTP mirror)" % (safe, shown(value))
        return "%s: the scheme must be http or https, not %s" % (safe, parts.scheme)
    if parts.username is not None or parts.password is not None:
        return ("%s carries credentials: dockerd does not accept them in a mirror URL; store them with "
                "registry_login instead" % safe)
    if parts.query or value.endswith("?"):
        return "%s has a query string, which dockerd does not accept" % safe
    if parts.fragment or "#" in value:
        return "%s has a fragment (#...), which dockerd does not accept" % safe
    if not parts.hostname:
        return "%s has no host name" % safe
    return None


def check_insecure_registry(value):
    """host[:port] or a CIDR, no scheme."""
    if not isinstance(value, str) or not value:
        return "must be host[:port] or a CIDR such as 10.0.0.0/8"
    if "://" in value and "@" not in value:
        return "%r: write the registry as host[:port] without a scheme (%s)" % (value, value.split("://", 1)[1])
    if "/" in value and "@" not in value:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return "%r is neither host[:port] nor a CIDR such as 10.0.0.0/8" % value
        return None
    match = _HOST_PORT_RE.fullmatch(value)
    if not match or (match.group("port") and not 0 < int(match.group("port")) < 65536):
        return "%r is neither host[:port] nor a CIDR such as 10.0.0.0/8" % shown(value)
    return None


def check_exec_opt(value):
    if not isinstance(value, str) or "=" not in value:
        return "%r must be name=value, such as native.cgroupdriver=systemd" % (value,)
    name, _sep, setting = value.partition("=")
    if name.strip() == "native.cgroupdriver" and setting.strip() not in ("systemd", "cgroupfs"):
        return "%r: native.cgroupdriver must be systemd or cgroupfs" % value
    return None


def check_label(value):
    if not isinstance(value, str) or "=" not in value or value.startswith("="):
        return "%r must be key=value" % (value,)
    return None


def check_host_address(value):
    if not isinstance(value, str) or not re.match(r"^(unix|tcp|fd|npipe)://", value):
        return "%r must start with unix://, tcp:// or fd://" % (value,)
    return None


def check_absolute_path(value):
    if not isinstance(value, str) or not value.startswith("/"):
        return "%r must be an absolute path" % (value,)
    return None


def check_cidr(value):
    try:
        ipaddress.ip_interface(value)
    except (ValueError, TypeError):
        return "%r must be an address with a prefix, such as 172.26.0.1/16" % (value,)
    return None


def check_ip(value):
    try:
        ipaddress.ip_address(value)
    except (ValueError, TypeError):
        return "%r must be an IP address" % (value,)
    return None


def check_string_values(value):
    """log-opts and the like: dockerd wants every value as a string ("3", not 3)."""
    if not isinstance(value, dict):
        return "must be an object of strings"
    for key, item in value.items():
        if not isinstance(item, str):
            return "%s must be a string (write %s), dockerd refuses other types" % (key, json.dumps(str(item)))
    return None


def check_ulimits(value):
    if not isinstance(value, dict):
        return "must be an object such as {\"nofile\": {\"Name\": \"nofile\", \"Soft\": 1024, \"Hard\": 2048}}"
    for name, limit in value.items():
        if not isinstance(limit, dict) or not all(isinstance(limit.get(k), int) for k in ("Soft", "Hard")):
            return "%s must be an object with integer Soft and Hard" % name
        if limit["Soft"] > limit["Hard"] and limit["Hard"] != -1:
            return "%s: Soft (%d) must not exceed Hard (%d)" % (name, limit["Soft"], limit["Hard"])
    return None


def check_address_pools(value):
    if not isinstance(value, list):
        return "must be a list of {\"base\": CIDR, \"size\": prefix length}"
    for pool in value:
        if not isinstance(pool, dict) or check_cidr(pool.get("base")) or not isinstance(pool.get("size"), int):
            return "%r must be {\"base\": CIDR, \"size\": prefix length}" % (pool,)
    return None


def _of_type(kind, label):
    def check(value):
        if kind is int and isinstance(value, bool):
            return "must be %s" % label
        if not isinstance(value, kind):
            return "must be %s, not %s" % (label, json.dumps(value))
        return None
    return check


def _non_negative_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "must be a whole number of 0 or more, not %s" % json.dumps(value)
    return None


def _positive_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a whole number of 1 or more, not %s" % json.dumps(value)
    return None


def _choice(*choices):
    def check(value):
        if value not in choices:
            return "must be one of %s, not %s" % (", ".join(choices), json.dumps(value))
        return None
    return check


def _list_of(item_check):
    def check(value):
        if not isinstance(value, list):
            return "must be a list, not %s" % json.dumps(value)
        errors = [error for error in (item_check(item) for item in value) if error]
        return "; ".join(errors) or None
    return check


_bool = _of_type(bool, "true or false")
_str = _of_type(str, "a string")
_dict = _of_type(dict, "an object")


_UNSET = object()


class Key:
    """One daemon.json key: its check, whether SIGHUP applies it, and its dockerd flags.

    ``neutral`` is the value that means "not set" for a reloadable key that
    dockerd re-reads only when the file names it: removing such a key writes
    this value instead, so that a reload applies the removal.
    """

    def __init__(self, name, check=None, reload=False, flags=(), neutral=_UNSET):
        self.name = name
        self.check = check
        self.reload = reload
        self.flags = tuple(flags) or ("--" + name,)
        self.neutral = neutral


# The table. `reload=True` marks the keys dockerd re-reads on SIGHUP (see
# "Configuration reload behavior" in the dockerd reference); any other change
# needs a restart. `flags` are the command-line spellings of the same setting.
DAEMON_KEYS = {key.name: key for key in (
    Key("registry-mirrors", _list_of(check_mirror_url), reload=True, flags=("--registry-mirror",), neutral=[]),
    Key("insecure-registries", _list_of(check_insecure_registry), reload=True, flags=("--insecure-registry",),
        neutral=[]),
    Key("allow-nondistributable-artifacts", _list_of(check_insecure_registry), reload=True,
        flags=("--allow-nondistributable-artifacts",), neutral=[]),
    Key("debug", _bool, reload=True, flags=("--debug", "-D"), neutral=False),
    Key("labels", _list_of(check_label), reload=True, flags=("--label",), neutral=[]),
    Key("live-restore", _bool, reload=True, neutral=False),
    Key("max-concurrent-downloads", _positive_int, reload=True),
    Key("max-concurrent-uploads", _positive_int, reload=True),
    Key("max-download-attempts", _positive_int, reload=True),
    Key("shutdown-timeout", _non_negative_int, reload=True),
    Key("default-runtime", _str, reload=True),
    Key("runtimes", _dict, reload=True, flags=("--add-runtime",)),
    Key("authorization-plugins", _list_of(_str), reload=True, flags=("--authorization-plugin",)),
    Key("features", _dict, reload=True, flags=("--feature",)),
    Key("exec-opts", _list_of(check_exec_opt), flags=("--exec-opt",)),
    Key("data-root", check_absolute_path, flags=("--data-root", "-g", "--graph")),
    Key("exec-root", check_absolute_path),
    Key("storage-driver", _str, flags=("--storage-driver", "-s")),
    Key("storage-opts", _list_of(_str), flags=("--storage-opt",)),
    Key("log-driver", _str),
    Key("log-opts", check_string_values, flags=("--log-opt",)),
    Key("log-level", _choice("debug", "info", "warn", "error", "fatal"), flags=("--log-level", "-l")),
    Key("cgroup-parent", _str),
    Key("default-cgroupns-mode", _choice("host", "private")),
    Key("default-ulimits", check_ulimits, flags=("--default-ulimit",)),
    Key("hosts", _list_of(check_host_address), flags=("--host", "-H")),
    Key("containerd", check_absolute_path),
    Key("dns", _list_of(check_ip)),
    Key("dns-opts", _list_of(_str), flags=("--dns-opt",)),
    Key("dns-search", _list_of(_str)),
    Key("bip", check_cidr),
    Key("default-address-pools", check_address_pools, flags=("--default-address-pool",)),
    Key("mtu", _positive_int),
    Key("ipv6", _bool),
    Key("fixed-cidr", check_cidr),
    Key("fixed-cidr-v6", check_cidr),
    Key("iptables", _bool),
    Key("ip-forward", _bool),
    Key("ip-masq", _bool),
    Key("icc", _bool),
    Key("userland-proxy", _bool),
    Key("experimental", _bool),
    Key("metrics-addr", _str),
    Key("default-shm-size", _str),
    Key("group", _str, flags=("--group", "-G")),
    Key("pidfile", check_absolute_path, flags=("--pidfile", "-p")),
    Key("proxies", _dict),
    Key("selinux-enabled", _bool),
    Key("userns-remap", _str),
    Key("tls", _bool),
    Key("tlsverify", _bool),
    Key("tlscacert", check_absolute_path),
    Key("tlscert", check_absolute_path),
    Key("tlskey", check_absolute_path),
)}

RELOADABLE_KEYS = frozenset(name for name, key in DAEMON_KEYS.items() if key.reload)


def cgroup_driver_of(settings):
    """The native.cgroupdriver in exec-opts, or None."""
    for option in settings.get("exec-opts") or []:
        if isinstance(option, str):
            name, _sep, value = option.partition("=")
            if name.strip() == "native.cgroupdriver":
                return value.strip()
    return None


def validate(settings):
    """Every problem of a daemon.json document, as 'key: what to change' lines.

    Unknown keys are not errors (dockerd knows keys this table does not), but
    a key that looks like a misspelt known one is.
    """
    problems = []
    for name, value in settings.items():
        key = DAEMON_KEYS.get(name)
        if key is None:
            close = difflib.get_close_matches(name, DAEMON_KEYS, n=1, cutoff=0.85)
            if close:
                problems.append("%s: unknown key; did you mean %s?" % (name, close[0]))
            continue
        error = key.check(value) if key.check else None
        if error:
            problems.append("%s: %s" % (name, error))
    driver = cgroup_driver_of(settings)
    parent = settings.get("cgroup-parent")
    if driver == "systemd" and isinstance(parent, str) and parent and not parent.endswith(".slice"):
        problems.append("cgroup-parent: with native.cgroupdriver=systemd it must be a slice name such as "
                        "containers.slice, not %s" % parent)
    return problems


def neutralize_removed(before, after):
    """``after`` with removed reload-only keys set to their neutral value (see Key.neutral)."""
    result = dict(after)
    for name in before:
        key = DAEMON_KEYS.get(name)
        if name not in after and key is not None and key.neutral is not _UNSET:
            result[name] = list(key.neutral) if isinstance(key.neutral, list) else key.neutral
    return result


def needs_restart(keys):
    """The changed keys that SIGHUP does not apply (sorted); empty means a reload will do."""
    return sorted(key for key in keys if key not in RELOADABLE_KEYS)


# --------------------------------------------------------------------------
# Flags on the dockerd command line that conflict with keys (pure)
# --------------------------------------------------------------------------

def _flag_table():
    table = {}
    for name, key in DAEMON_KEYS.items():
        for flag in key.flags:
            table[flag] = name
    return table


FLAG_TO_KEY = _flag_table()


def parse_dockerd_flags(argv):
    """[(flag, value or None, key or None)] for each flag in a dockerd argv (program first)."""
    found = []
    args = list(argv[1:])
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("-"):
            continue
        flag, sep, value = arg.partition("=")
        key = FLAG_TO_KEY.get(flag)
        if not sep:
            value = None
            takes_value = key is not None and DAEMON_KEYS[key].check not in (_bool,)
            if flag.startswith("--") and key is None:
                # an unknown long flag: a value follows unless the next arg is a flag
                takes_value = index < len(args) and not args[index].startswith("-")
            if takes_value and index < len(args):
                value = args[index]
                index += 1
        found.append((flag, value, key))
    return found


def flag_conflicts(argv, settings):
    """[{flag, value, key}] for flags that set a key also present in ``settings``."""
    conflicts = []
    for flag, value, key in parse_dockerd_flags(argv):
        if key is not None and key in settings:
            conflicts.append({"flag": flag, "value": value, "key": key})
    return conflicts


def redact_argv(argv):
    """A dockerd command line fit to show: URL credentials and secret-named ``name=value`` values masked.

    ``--log-opt splunk-token=T`` and ``--log-opt=splunk-token=T`` both become
    ``splunk-token=********``; the flags' own names (``--tlskey``) are not secrets.
    """
    shown_args = []
    for original in argv:
        arg = mask_urls(original)
        head, sep, rest = arg.partition("=") if arg.startswith("-") else ("", "", arg)
        name, inner, _value = rest.partition("=")
        if inner and name and is_secret_name(name):
            rest = "%s=%s" % (name, MASK)
        shown_args.append(head + sep + rest)
    return shown_args


def argv_without(argv, conflicts):
    """The argv with the conflicting flags (and their values) taken out."""
    drop = {(c["flag"], c["value"]) for c in conflicts}
    result = [argv[0]]
    args = list(argv[1:])
    index = 0
    while index < len(args):
        arg = args[index]
        flag, sep, value = arg.partition("=")
        if sep and (flag, value) in drop:
            index += 1
            continue
        if not sep and index + 1 < len(args) and (arg, args[index + 1]) in drop:
            index += 2
            continue
        if not sep and (arg, None) in drop:
            index += 1
            continue
        result.append(arg)
        index += 1
    return result
