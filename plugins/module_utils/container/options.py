# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""THE container option table: one entry per option of the container module.

Each entry says, once, how a task's value is read and checked (``parse``:
user value -> the engine's form), where it goes in the body of
``POST /containers/create`` (``create``), where the engine reports it in
``GET /containers/{id}/json`` (``inspect``), how the wanted and the current
value are compared (``compare``, with the image's own defaults at hand), and
whether ``POST /containers/{id}/update`` can change it in place (``update``).
The module's argument_spec, the create body, the comparison and the option
list of the module's documentation are all derived from :data:`OPTIONS`, so
adding an option is one entry here (and ``make container-doc``).

Names and value formats are those of community.docker's docker_container, so
a task moves over by changing its module name. Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import diff_pair
from ansible_collections.dockhand.runtime.plugins.module_utils.host.units import (
    UnitError,
    parse_cpus,
    parse_size,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.platform import (
    architecture,
    normalise_platform,
    platform_matches,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    ImageReferenceError,
    parse_reference,
)


class OptionError(ValueError):
    """A value a task gave that the engine would refuse; the message names the option."""


class WholeError(OptionError):
    """An OptionError in community.docker's exact words, which playbooks compare whole: nothing is put before it."""


class NotInPlace(Exception):
    """The engine cannot make this change with POST /containers/{id}/update; the container is recreated."""

    def __init__(self, option, why):
        super(NotInPlace, self).__init__("%s: %s" % (option, why))
        self.option = option


# --------------------------------------------------------------------------
# Paths in nested dicts
# --------------------------------------------------------------------------

def get_path(data, path, default=None):
    """``data["A"]["B"]`` for ``"A.B"``; ``default`` when any step is missing or null."""
    for key in path.split("."):
        if not isinstance(data, dict) or data.get(key) is None:
            return default
        data = data[key]
    return data


def set_path(data, path, value):
    """Set ``data["A"]["B"] = value`` for ``"A.B"``, creating the dicts on the way."""
    keys = path.split(".")
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value


# --------------------------------------------------------------------------
# Parsers: task value -> the engine's form (raise OptionError without the option name;
# parse_options adds it)
# --------------------------------------------------------------------------

def _fail(message):
    raise OptionError(message)


def parse_str(value):
    return str(value)


def parse_bool(value):
    return bool(value)


def parse_int(minimum=None, maximum=None):
    def parse(value):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail("%r is not a whole number" % (value,))
        if minimum is not None and value < minimum:
            _fail("%d is below the minimum %d" % (value, minimum))
        if maximum is not None and value > maximum:
            _fail("%d is above the maximum %d" % (value, maximum))
        return value
    return parse


def parse_size_option(allow_unlimited=False):
    def parse(value):
        try:
            return parse_size(value, allow_unlimited=allow_unlimited)
        except UnitError as exc:
            _fail(str(exc))
    return parse


def parse_cpus_option(value):
    """NanoCpus; 0 means no CPU limit."""
    if not isinstance(value, bool) and str(value).strip() in ("0", "0.0"):
        return 0
    try:
        return parse_cpus(value)
    except UnitError as exc:
        _fail(str(exc))


def parse_argv(value):
    """A command or entrypoint: a list of strings, or a string split like a shell would."""
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        _fail("cannot split %r into arguments (%s); give a list instead" % (value, exc))


def _text_value(key, item):
    if isinstance(item, bool):
        _fail("the value of %s is the boolean %s; quote it ('%s') if a string is meant"
              % (key, item, str(item).lower()))
    if isinstance(item, (dict, list)):
        _fail("the value of %s must be a string, not a %s" % (key, type(item).__name__))
    return "" if item is None else str(item)


def parse_text_dict(value):
    """A dict of strings; numbers become strings, booleans must be quoted (they are ambiguous)."""
    if isinstance(value, (list, tuple)):  # ["KEY=value", ...]
        pairs = {}
        for item in value:
            key, sep, text = str(item).partition("=")
            if not sep or not key:
                _fail("%r is not KEY=value" % (item,))
            pairs[key] = text
        value = pairs
    if not isinstance(value, dict):
        _fail("must be a dict of names to values")
    return {str(key): _text_value(key, item) for key, item in value.items()}


def parse_env(value):
    for key, item in (value.items() if isinstance(value, dict) else ()):
        if isinstance(item, bool):  # community.docker's words, which playbooks match
            raise WholeError("Non-string value found for env option. Ambiguous env options must be wrapped in quotes "
                             "to avoid them being interpreted. Key: %s" % key)
    env = parse_text_dict(value)
    for key in env:
        if not key or "=" in key:
            _fail("%r is not a valid environment variable name" % key)
    return env


_PORT_PROTOCOLS = ("tcp", "udp", "sctp")


def _port_range(text, what):
    first, sep, last = text.partition("-")
    try:
        low = int(first)
        high = int(last) if sep else low
    except ValueError:
        _fail("%s %r is not a port number or range such as 8080 or 8000-8010" % (what, text))
    if not (1 <= low <= 65535 and 1 <= high <= 65535) or high < low:
        _fail("%s %r is outside 1-65535 or not an ascending range" % (what, text))
    return list(range(low, high + 1))


def _container_port(text):
    """``80``, ``80/udp``, ``8000-8002/tcp`` -> ["80/tcp", ...]."""
    port, _sep, protocol = text.partition("/")
    protocol = (protocol or "tcp").lower()
    if protocol not in _PORT_PROTOCOLS:
        _fail("protocol %r in %r is not tcp, udp or sctp" % (protocol, text))
    return ["%d/%s" % (number, protocol) for number in _port_range(port, "container port")]


def parse_exposed_ports(value):
    ports = set()
    for item in value:
        ports.update(_container_port(str(item).strip()))
    return sorted(ports)


def _split_published(text):
    """``[ip:]host:container`` with an optional bracketed IPv6 address -> (ip, host, container)."""
    ip = ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:  # community.docker's words (its tests compare them whole); they name the input
            raise WholeError('Cannot find closing "]" in input "%s" for opening "[" at index 1!' % text)
        if text[end + 1:end + 2] != ":":
            _fail("%r: an IPv6 address is written [addr]:host_port:container_port" % text)
        ip, text = text[1:end], text[end + 2:]
        host, sep, container = text.rpartition(":")
        if not sep:
            _fail("%r has no container port" % text)
        return ip, host, container
    parts = text.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        if parts[0] and not _IPV4.fullmatch(parts[0]) and re.fullmatch(r"[A-Za-z0-9_.-]+", parts[0]):
            raise WholeError("Bind addresses for published ports must be IPv4 or IPv6 addresses, not hostnames. Use "
                             "the dig lookup to resolve hostnames. (Found hostname: %s)" % parts[0])
        return parts[0], parts[1], parts[2]
    raise WholeError('Invalid port description "%s" - expected 1 to 3 colon-separated parts, but got %d. Maybe you '
                     "forgot to use square brackets ([...]) around an IPv6 address?" % (text, len(parts)))


_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def _check_ip(ip, what):
    if not ip:
        return
    match = _IPV4.fullmatch(ip)
    if match and all(int(part) <= 255 for part in match.groups()):
        return
    address, percent, zone = ip.partition("%")  # an IPv6 address may name its zone: fe80::1%eth0
    if ":" in address and re.fullmatch(r"[0-9a-fA-F:.]+", address) and (
            not percent or re.fullmatch(r"[A-Za-z0-9_.-]+", zone)):
        return
    _fail("%s %r is not an IP address" % (what, ip))


def parse_published_ports(value, default_ip=""):
    """community.docker's port strings -> PortBindings {"80/tcp": [{"HostIp", "HostPort"}]}.

    ``default_ip`` is the host IP of a port that names none (default_host_ip).
    """
    bindings = {}
    for item in value:
        text = str(item).strip()
        ip, host, container = _split_published(text)
        _check_ip(ip, "host IP in %r:" % text)
        ip = ip or default_ip
        container_ports = _container_port(container)
        if host:
            host_ports = [str(port) for port in _port_range(host, "host port in %r:" % text)]
            if len(host_ports) > 1 and len(container_ports) == 1:
                host_ports = ["%s-%s" % (host_ports[0], host_ports[-1])]  # the engine takes a free port of it
            elif len(host_ports) == 1 and len(container_ports) > 1:
                host_ports = host_ports * len(container_ports)
            if len(host_ports) != len(container_ports):
                _fail("%r: the host and container port ranges have different lengths" % text)
        else:
            host_ports = [""] * len(container_ports)
        for port, host_port in zip(container_ports, host_ports):
            # As given: an explicit 0.0.0.0 binds IPv4 only, where "" (no IP) binds IPv6 ([::]) as well.
            binding = {"HostIp": ip, "HostPort": host_port}
            if binding not in bindings.setdefault(port, []):
                bindings[port].append(binding)
    return bindings


_VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_VOLUME_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated",
                 "shared", "rshared", "slave", "rslave", "private", "rprivate"}


def parse_volumes(value):
    """``/host:/ctr[:mode]``, ``name:/ctr[:mode]`` or ``/ctr`` -> {"binds": [...], "anonymous": [...]}."""
    binds, anonymous = [], []
    for item in value:
        text = str(item).strip()
        parts = text.split(":")
        if len(parts) == 1:
            target = parts[0]
            if not target.startswith("/"):
                _fail("%r: a container path must be absolute" % text)
            anonymous.append(target)
            continue
        if len(parts) == 2 and parts[0].startswith("/") and set(parts[1].split(",")) <= _VOLUME_MODES:
            anonymous.append(text)  # /data:rw: community.docker passes it on whole, a volume at "/data:rw"
            continue
        if len(parts) > 3:
            _fail("%r is not source:/container/path[:mode]" % text)
        source, target = parts[0], parts[1]
        modes = parts[2].split(",") if len(parts) == 3 else []
        unknown = [mode for mode in modes if mode not in _VOLUME_MODES]
        if unknown:
            _fail("%r: unknown mode %s; use ro or rw, and optionally z, Z, nocopy or a propagation such as "
                  "rshared" % (text, ", ".join(unknown)))
        if not target.startswith("/"):
            _fail("%r: the container path %r must be absolute" % (text, target))
        if source.startswith("."):
            _fail("%r: a host path must be absolute" % text)
        if not source.startswith("/") and not _VOLUME_NAME.fullmatch(source):
            _fail("%r: %r is neither an absolute host path nor a volume name" % (text, source))
        modes = [mode for mode in modes if mode != "rw"]
        binds.append(":".join([source, target] + ([",".join(modes)] if modes else [])))
    return {"binds": sorted(set(binds)), "anonymous": sorted(set(anonymous))}


_MOUNT_TYPES = ("bind", "volume", "tmpfs")


def parse_mounts(value):
    """community.docker's mounts list -> the engine's Mounts."""
    mounts = []
    for item in value:
        if not isinstance(item, dict):
            _fail("each entry is a dict with target, and source and type")
        unknown = sorted(set(item) - {"target", "source", "type", "read_only", "propagation", "no_copy",
                                      "tmpfs_size", "tmpfs_mode"})
        if unknown:
            _fail("unknown key(s) %s in %r; known: target, source, type, read_only, propagation, no_copy, "
                  "tmpfs_size, tmpfs_mode" % (", ".join(unknown), item))
        target = item.get("target")
        if not target or not str(target).startswith("/"):
            _fail("%r: target must be an absolute container path" % (item,))
        kind = item.get("type") or "volume"
        if kind not in _MOUNT_TYPES:
            _fail("%r: type must be one of %s" % (item, ", ".join(_MOUNT_TYPES)))
        mount = {"Type": kind, "Target": str(target)}
        source = item.get("source")
        if kind == "bind" and not (source and str(source).startswith("/")):
            _fail("%r: a bind mount needs source, an absolute host path" % (item,))
        if kind == "tmpfs" and source:
            _fail("%r: a tmpfs mount takes no source" % (item,))
        if source:
            mount["Source"] = str(source)
        if item.get("read_only"):
            mount["ReadOnly"] = True
        if item.get("propagation"):
            mount["BindOptions"] = {"Propagation": str(item["propagation"])}
        if item.get("no_copy"):
            mount["VolumeOptions"] = {"NoCopy": True}
        tmpfs = {}
        if item.get("tmpfs_size") is not None:
            tmpfs["SizeBytes"] = parse_size_option()(item["tmpfs_size"])
        if item.get("tmpfs_mode") is not None:
            try:
                tmpfs["Mode"] = int(str(item["tmpfs_mode"]), 8)
            except ValueError:
                _fail("%r: tmpfs_mode must be an octal mode such as 1777" % (item,))
        if tmpfs:
            mount["TmpfsOptions"] = tmpfs
        mounts.append(mount)
    return sorted(mounts, key=lambda mount: mount["Target"])


def parse_networks(value):
    networks = []
    seen = set()
    for entry in value:
        item = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(item, dict) or not item.get("name"):
            _fail("each entry needs name (and optionally aliases, ipv4_address, links)")
        unknown = sorted(set(item) - {"name", "aliases", "ipv4_address", "ipv6_address", "links"})
        if unknown:
            _fail("unknown key(s) %s for network %s; known: name, aliases, ipv4_address, ipv6_address, links"
                  % (", ".join(unknown), item["name"]))
        name = str(item["name"])
        if name in seen:
            _fail("network %s is listed twice" % name)
        seen.add(name)
        _check_ip(item.get("ipv4_address") or "", "ipv4_address of network %s:" % name)
        _check_ip(item.get("ipv6_address") or "", "ipv6_address of network %s:" % name)
        links = []
        for link in item.get("links") or []:
            other, _sep, alias = str(link).partition(":")
            links.append("%s:%s" % (other, alias or other))
        networks.append({"name": name, "aliases": sorted(str(a) for a in item.get("aliases") or []),
                         "ipv4_address": item.get("ipv4_address") or None,
                         "ipv6_address": item.get("ipv6_address") or None, "links": sorted(links)})
    return networks


RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")


def parse_ulimits(value):
    """``nofile:1024:2048`` (or ``nofile:1024``) -> [{"Name", "Soft", "Hard"}]."""
    limits = []
    for item in value:
        parts = str(item).split(":")
        if len(parts) not in (2, 3) or not parts[0]:
            _fail("%r is not name:soft[:hard], for example nofile:1024:2048" % (item,))
        try:
            soft = int(parts[1])
            hard = int(parts[2]) if len(parts) == 3 else soft
        except ValueError:
            _fail("%r: soft and hard limits are whole numbers" % (item,))
        if hard < soft:
            _fail("%r: the hard limit is below the soft limit" % (item,))
        limits.append({"Name": parts[0], "Soft": soft, "Hard": hard})
    return sorted(limits, key=lambda limit: limit["Name"])


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 10 ** 3, "µs": 10 ** 3, "ms": 10 ** 6, "s": 10 ** 9, "m": 60 * 10 ** 9,
                "h": 3600 * 10 ** 9}


def parse_duration(value):
    """Nanoseconds from ``30s``, ``1m30s``, ``500ms`` or a number of seconds."""
    if isinstance(value, bool):
        _fail("%r is not a duration" % (value,))
    if isinstance(value, (int, float)):
        return int(value * 10 ** 9)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return int(float(text) * 10 ** 9)
    if not text or _DURATION_PART.sub("", text):
        _fail("%r is not a duration such as 30s, 1m30s or 500ms" % (value,))
    return sum(int(float(number) * _DURATION_NS[unit]) for number, unit in _DURATION_PART.findall(text))


_HEALTHCHECK_KEYS = {"test": "Test", "interval": "Interval", "timeout": "Timeout", "retries": "Retries",
                     "start_period": "StartPeriod"}


def parse_healthcheck(value):
    if not isinstance(value, dict):
        _fail("must be a dict with test, and optionally interval, timeout, retries, start_period")
    unknown = sorted(set(value) - set(_HEALTHCHECK_KEYS))
    if unknown:
        _fail("unknown key(s) %s; known: %s" % (", ".join(unknown), ", ".join(_HEALTHCHECK_KEYS)))
    check = {}
    test = value.get("test")
    if test is not None:
        if isinstance(test, str):
            test = ["NONE"] if test.upper() == "NONE" else ["CMD-SHELL", test]
        elif not test or str(test[0]) not in ("CMD", "CMD-SHELL", "NONE"):
            test = ["CMD"] + [str(part) for part in test]
        check["Test"] = [str(part) for part in test]
    for key in ("interval", "timeout", "start_period"):
        if value.get(key) is not None:
            nanos = parse_duration(value[key])
            if 0 < nanos < 10 ** 6:
                _fail("%s %r is below the engine's minimum of 1ms" % (key, value[key]))
            check[_HEALTHCHECK_KEYS[key]] = nanos
    if value.get("retries") is not None:
        check["Retries"] = parse_int(minimum=0)(value["retries"])
    return check


def normalize_capability(name):
    upper = str(name).strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def parse_capabilities(value):
    caps = sorted({normalize_capability(item) for item in value})
    for cap in caps:
        if not re.fullmatch(r"[A-Z_]+", cap):
            _fail("%r is not a capability name such as NET_ADMIN" % cap)
    return caps


def parse_tmpfs(value):
    mounts = {}
    for item in value:
        path, _sep, options = str(item).partition(":")
        if not path.startswith("/"):
            _fail("%r: the tmpfs path must be absolute" % (item,))
        mounts[path] = options
    return mounts


def parse_devices(value):
    devices = []
    for item in value:
        if isinstance(item, dict):
            on_host, in_container, permissions = (item.get("path_on_host"), item.get("path_in_container"),
                                                  item.get("cgroup_permissions"))
        else:
            parts = str(item).split(":")
            if len(parts) > 3:
                _fail("%r is not /dev/host[:/dev/container[:permissions]]" % (item,))
            parts += [None] * (3 - len(parts))
            on_host, in_container, permissions = parts
            if in_container and not in_container.startswith("/"):  # /dev/x:rwm
                in_container, permissions = None, in_container
        if not on_host or not str(on_host).startswith("/"):
            _fail("%r: the host device must be an absolute path" % (item,))
        permissions = permissions or "rwm"
        if not re.fullmatch(r"[rwm]{1,3}", permissions):
            _fail("%r: cgroup permissions are some of r, w and m" % (item,))
        devices.append({"PathOnHost": on_host, "PathInContainer": in_container or on_host,
                        "CgroupPermissions": permissions})
    return sorted(devices, key=lambda device: device["PathInContainer"])


def parse_etc_hosts(value):
    if not isinstance(value, dict):
        _fail("must be a dict of host names to IP addresses")
    hosts = []
    for host, ip in value.items():
        _check_ip(str(ip), "the address of %s:" % host)
        hosts.append("%s:%s" % (host, ip))
    return sorted(hosts)


def parse_cpuset(value):
    """A CPU list such as ``0-2,4``; an empty string means every CPU (no restriction)."""
    text = str(value).strip()
    if text and not re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", text):
        _fail("%r is not a CPU list such as 0-2,4" % (value,))
    return text


def parse_stop_signal(value):
    text = str(value).strip().upper()
    if text.isdigit():
        return text
    if not re.fullmatch(r"(SIG)?[A-Z0-9+-]+", text):
        _fail("%r is not a signal name such as SIGTERM" % (value,))
    return text if text.startswith("SIG") else "SIG" + text


def parse_dns(value):
    for item in value:
        _check_ip(str(item), "DNS server")
    return [str(item) for item in value]


def parse_image(value):
    try:
        return parse_reference(value)
    except ImageReferenceError as exc:
        _fail(str(exc))


_NAME = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+")


def parse_name(value):
    text = str(value)
    if not _NAME.fullmatch(text):
        _fail("%r is not a valid container name: letters, digits, '_', '.' and '-', starting with a letter "
              "or digit, at least two characters" % text)
    return text.lstrip("/")


def _pattern_parser(pattern, what):
    """A string that must match ``pattern`` entirely; ``what`` says what the engine expects."""
    compiled = re.compile(pattern)

    def parse(value):
        text = "" if value is None else str(value)
        if isinstance(value, bool) or not compiled.fullmatch(text):
            _fail("%r is not %s" % (value, what))
        return text
    return parse


_NAME_TEXT = r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+"
_HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

parse_pid_mode = _pattern_parser(r"(host|container:%s)?" % _NAME_TEXT,
                                 "a PID namespace mode: host, container:<name or ID>, or an empty string")
parse_ipc_mode = _pattern_parser(r"(none|private|shareable|host|container:%s)?" % _NAME_TEXT,
                                 "an IPC mode: none, private, shareable, host, container:<name or ID>, or an "
                                 "empty string")
parse_uts = _pattern_parser(r"(host)?", "a UTS namespace mode: host or an empty string")
parse_userns_mode = _pattern_parser(r"(host|private)?", "a user namespace mode: host, private or an empty string")
parse_runtime = _pattern_parser(r"[A-Za-z0-9][A-Za-z0-9_.-]*", "a runtime name such as runc or nvidia")
parse_domainname = _pattern_parser(r"(%s(\.%s)*)?" % (_HOST_LABEL, _HOST_LABEL),
                                   "a domain name such as example.com (letters, digits and '-', dot-separated)")
parse_volume_driver = _pattern_parser(r"[A-Za-z0-9_.:/-]*",
                                      "a volume driver name such as local (or a plugin such as vieux/sshfs:latest)")


def parse_string_list(pattern, what, sort=False):
    """Each item must match ``pattern`` entirely; ``sort`` for options the engine treats as a set."""
    parse_one = _pattern_parser(pattern, what)

    def parse(value):
        items = [parse_one(item) for item in value]
        return sorted(set(items)) if sort else items
    return parse


parse_groups = parse_string_list(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", "a group name or ID such as 1234 or audio",
                                 sort=True)
parse_dns_opts = parse_string_list(r"[A-Za-z0-9][A-Za-z0-9_.-]*(:[0-9]+)?",
                                   "a resolver option such as rotate, ndots:2 or timeout:10", sort=True)
parse_dns_search = parse_string_list(r"\.|%s(\.%s)*\.?" % (r"[A-Za-z0-9_-]{1,63}", r"[A-Za-z0-9_-]{1,63}"),
                                     "a search domain such as example.com")
parse_device_cgroup_rules = parse_string_list(
    r"[abc] (\*|[0-9]+):(\*|[0-9]+) [rwm]{1,3}",
    "a device cgroup rule: type (a, b or c), major:minor (numbers or *) and access (some of r, w, m), "
    "such as 'c 42:* rmw'")


def parse_links(value):
    """``name`` or ``name:alias`` -> sorted (name, alias) strings ``name:alias``."""
    links = set()
    for item in value:
        text = str(item)
        name, _sep, alias = text.partition(":")
        if not _NAME.fullmatch(name) or (alias and not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", alias)):
            _fail("%r is not container[:alias], such as db or db:database" % (item,))
        links.add("%s:%s" % (name.lstrip("/"), alias or name.lstrip("/")))
    return sorted(links)


def parse_volumes_from(value):
    """``container`` or ``container:ro``/``container:rw``."""
    found = set()
    for item in value:
        text = str(item)
        name, sep, mode = text.partition(":")
        if not _NAME.fullmatch(name) or (sep and mode not in ("ro", "rw")):
            _fail("%r is not container[:ro|rw], such as data or data:ro" % (item,))
        found.add(text)
    return sorted(found)


_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}")


def parse_mac_address(value):
    """``92:d0:c6:0a:29:33`` (or with ``-``) -> lower case with ``:``."""
    text = str(value)
    if isinstance(value, bool) or not _MAC.fullmatch(text):
        _fail("%r is not a MAC address such as 92:d0:c6:0a:29:33" % (value,))
    return text.replace("-", ":").lower()


def parse_default_host_ip(value):
    """An empty string or an IP address (IPv6 with or without brackets)."""
    text = str(value)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    _check_ip(text, "the address")
    return text


def parse_platform(value):
    """``os[/arch[/variant]]`` such as ``linux/amd64`` or ``linux/arm64/v8``, lower case."""
    try:
        return normalise_platform(value)
    except ValueError as exc:
        _fail(str(exc))


_DEVICE_RATE_KEYS = ("path", "rate")


def _device_rates(value, rate_of):
    rates = []
    for item in value:
        if not isinstance(item, dict):
            _fail("each entry is a dict with path and rate")
        unknown = sorted(set(item) - set(_DEVICE_RATE_KEYS))
        if unknown:
            _fail("unknown key(s) %s; known: path, rate" % ", ".join(str(key) for key in unknown))
        path = item.get("path")
        if not isinstance(path, str) or not re.fullmatch(r"/[^\x00-\x20\x7f:]*", path):
            _fail("path %r must be an absolute device path such as /dev/sda, without spaces or ':'" % (path,))
        if item.get("rate") is None:
            _fail("the entry for %s has no rate" % path)
        rates.append({"Path": path, "Rate": rate_of(item["rate"], path)})
    if len({rate["Path"] for rate in rates}) != len(rates):
        _fail("a device is listed twice")
    return sorted(rates, key=lambda rate: rate["Path"])


def _byte_rate(rate, path):
    try:
        number = parse_size(rate)
    except UnitError as exc:
        return _fail("rate of %s: %s" % (path, exc))
    if number <= 0:
        _fail("rate of %s must be more than 0" % path)
    return number


def _io_rate(rate, path):
    if isinstance(rate, bool) or not re.fullmatch(r"[0-9]+", str(rate).strip()) or int(str(rate).strip()) <= 0:
        _fail("rate of %s must be a whole number of operations per second above 0, not %r" % (path, rate))
    return int(str(rate).strip())


def parse_device_bps(value):
    """[{path, rate: 10m}] -> [{"Path", "Rate": bytes per second}]."""
    return _device_rates(value, _byte_rate)


def parse_device_iops(value):
    """[{path, rate: 100}] -> [{"Path", "Rate": operations per second}]."""
    return _device_rates(value, _io_rate)


_DEVICE_REQUEST_KEYS = ("driver", "count", "device_ids", "capabilities", "options")


def parse_device_requests(value):
    """community.docker's device_requests -> the engine's DeviceRequests (every field present)."""
    requests = []
    for item in value:
        if not isinstance(item, dict):
            _fail("each entry is a dict with driver, count, device_ids, capabilities and options")
        unknown = sorted(set(item) - set(_DEVICE_REQUEST_KEYS))
        if unknown:
            known = ", ".join(_DEVICE_REQUEST_KEYS)
            _fail("unknown key(s) %s; known: %s" % (", ".join(str(key) for key in unknown), known))
        driver = item.get("driver") or ""
        if not re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.-]*)?", str(driver)):
            _fail("driver %r is not a driver name such as nvidia" % (driver,))
        count = item.get("count")
        count = 0 if count is None else parse_int(minimum=-1)(count)
        ids = item.get("device_ids") or []
        if not isinstance(ids, list):
            _fail("device_ids must be a list of device IDs")
        ids = [_pattern_parser(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", "a device ID such as 0 or GPU-3a23c669")(one)
               for one in ids]
        if count and ids:
            _fail("count and device_ids exclude each other; give one of them")
        capabilities = item.get("capabilities") or []
        if not isinstance(capabilities, list) or not all(isinstance(group, list) for group in capabilities):
            _fail("capabilities is a list of lists, such as [[gpu, utility]]")
        capabilities = [[_pattern_parser(r"[A-Za-z0-9][A-Za-z0-9_.-]*", "a capability such as gpu")(cap)
                         for cap in group] for group in capabilities]
        options = parse_text_dict(item.get("options") or {})
        requests.append({"Driver": str(driver), "Count": count, "DeviceIDs": ids, "Capabilities": capabilities,
                         "Options": options})
    return requests


def parse_storage_opts(value):
    """Storage driver options such as ``size: 10G`` (a dict of strings)."""
    opts = parse_text_dict(value)
    for key, text in opts.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", key) or not re.fullmatch(r"[^\x00-\x20\x7f]+", text):
            _fail("%s=%r: option names are letters, digits, '.', '_' and '-', values have no spaces" % (key, text))
    return opts


def parse_int_or_zero(minimum, maximum, what, allow_minus_one=False):
    """A whole number from ``minimum`` to ``maximum``, or 0 (unset; also -1 with ``allow_minus_one``)."""
    def parse(value):
        number = parse_int()(value)
        if number == 0 or (allow_minus_one and number == -1):
            return number
        if number < minimum or (maximum is not None and number > maximum):
            _fail("%d is not %s" % (number, what))
        return number
    return parse


parse_cpu_period = parse_int_or_zero(1000, 1000000, "0 or a period from 1000 to 1000000 microseconds")
parse_cpu_quota = parse_int_or_zero(1000, None, "-1 or 0 (no quota) or at least 1000 microseconds",
                                    allow_minus_one=True)
parse_blkio_weight = parse_int_or_zero(10, 1000, "0 (the default) or a weight from 10 to 1000")


def parse_kernel_memory(value):
    number = parse_size_option()(value)
    if 0 < number < 4 * 1024 * 1024:
        _fail("%r is below the engine's minimum of 4m (or 0 for none)" % (value,))
    return number


_ENV_FILE_KEY = re.compile(r"[^\x00-\x20\x7f=]+")


def parse_env_file(text, path):
    """The KEY=value lines of an env file (docker run --env-file): blank lines and # comments are skipped.

    A bad line is named by its number only: the file may hold secrets.
    """
    env = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not _ENV_FILE_KEY.fullmatch(key):
            _fail("%s line %d is not KEY=value (a name without spaces, then '=')" % (path, number))
        if "\x00" in value:
            _fail("%s line %d holds a NUL character" % (path, number))
        env[key] = value
    return env


# --------------------------------------------------------------------------
# Comparisons: (wanted, current, image_config, wanted_all) -> equal?
# --------------------------------------------------------------------------

def same(wanted, current, _image, _wanted_all):
    return wanted == current


def same_flag(wanted, current, _image, _wanted_all):
    """A boolean the engine reports as false or leaves out when it is off."""
    return wanted == bool(current)


def same_set(wanted, current, _image, _wanted_all):
    return set(wanted or ()) == set(current or ())


def same_capabilities(wanted, current, _image, _wanted_all):
    return set(wanted) == {normalize_capability(cap) for cap in current or ()}


def env_list_to_dict(items):
    result = {}
    for item in items or ():
        key, _sep, value = item.partition("=")
        result[key] = value
    return result


def expected_env(wanted, image):
    env = env_list_to_dict(image.get("Env"))
    env.update(wanted)
    return env


def same_env(wanted, current, image, _wanted_all):
    """The container's Env is the image's Env overlaid with the task's: any other key is drift."""
    return env_list_to_dict(current) == expected_env(wanted, image)


def expected_labels(wanted, image):
    """The image's labels overlaid with the task's."""
    expected = dict(image.get("Labels") or {})
    expected.update(wanted)
    return expected


def same_labels(wanted, current, image, _wanted_all):
    return (current or {}) == expected_labels(wanted, image)


def same_argv_or_image(key):
    """command/entrypoint: an empty list means the image's own."""
    def compare(wanted, current, image, wanted_all):
        if not wanted:
            if key == "Cmd" and wanted_all.get("entrypoint"):
                return not current
            return (current or []) == (image.get(key) or [])
        return wanted == (current or [])
    return compare


def same_exposed(wanted, current, image, wanted_all):
    expected = set(wanted) | set(image.get("ExposedPorts") or {})
    expected |= set(wanted_all.get("published_ports") or {})
    return expected == set(current or {})


def _bindings_set(bindings):
    found = set()
    for port, entries in (bindings or {}).items():
        for entry in entries or [{}]:
            found.add((port, entry.get("HostIp") or "", entry.get("HostPort") or ""))
    return found


def same_bindings(wanted, current, _image, _wanted_all):
    return _bindings_set(wanted) == _bindings_set(current)


def _bind_key(bind):
    parts = bind.split(":")
    modes = sorted(mode for mode in (parts[2].split(",") if len(parts) > 2 else []) if mode and mode != "rw")
    return parts[0], parts[1] if len(parts) > 1 else "", tuple(modes)


_ANONYMOUS_SOURCE = re.compile(r"^[0-9a-f]{64}:")


def current_volumes(container):
    """Binds and anonymous volumes; an anonymous volume carried over by a recreate counts as anonymous."""
    binds = get_path(container, "HostConfig.Binds") or []
    return {"binds": sorted(bind for bind in binds if not _ANONYMOUS_SOURCE.match(bind)),
            "anonymous": sorted(get_path(container, "Config.Volumes") or {})}


def same_volumes(wanted, current, image, _wanted_all):
    if {_bind_key(b) for b in wanted["binds"]} != {_bind_key(b) for b in current["binds"]}:
        return False
    return set(wanted["anonymous"]) | set(image.get("Volumes") or {}) == set(current["anonymous"])


def _mount_key(mount):
    keep = {key: mount[key] for key in ("Type", "Source", "Target", "BindOptions", "VolumeOptions",
                                        "TmpfsOptions") if mount.get(key)}
    keep["ReadOnly"] = bool(mount.get("ReadOnly"))
    return repr(sorted(keep.items()))


def same_mounts(wanted, current, _image, _wanted_all):
    return sorted(_mount_key(m) for m in wanted) == sorted(_mount_key(m) for m in current or [])


def normalize_network_mode(mode):
    return "bridge" if mode in (None, "", "default") else mode


def same_network_mode(wanted, current, _image, _wanted_all):
    return normalize_network_mode(wanted) == normalize_network_mode(current)


def current_networks(container):
    networks = {}
    for name, settings in (get_path(container, "NetworkSettings.Networks") or {}).items():
        endpoint = settings or {}
        networks[name] = {"aliases": sorted(endpoint.get("Aliases") or []),
                          "ipv4_address": get_path(endpoint, "IPAMConfig.IPv4Address") or None,
                          "ipv6_address": get_path(endpoint, "IPAMConfig.IPv6Address") or None,
                          "links": sorted(endpoint.get("Links") or [])}
    return networks


def expected_network_names(wanted, wanted_all):
    names = {network["name"] for network in wanted}
    mode = wanted_all.get("network_mode")
    if mode and mode not in ("host", "none") and not mode.startswith("container:"):
        names.add(normalize_network_mode(mode))
    return names


def same_networks(wanted, current, _image, wanted_all):
    """Connected to exactly the listed networks; aliases and links as asked (the engine adds its own)."""
    return set(current) == expected_network_names(wanted, wanted_all) and networks_as_asked(wanted, current)


def networks_as_asked(wanted, current):
    """On each listed network (all of them present in ``current``) with the aliases, links and addresses asked."""
    for network in wanted:
        have = current[network["name"]]
        if not set(network["aliases"]) <= set(have["aliases"]):
            return False
        if not {link.split(":")[0] for link in network["links"]} <= {
                link.split(":")[0].lstrip("/") for link in have["links"]}:
            return False
        for key in ("ipv4_address", "ipv6_address"):
            if network[key] and network[key] != have[key]:
                return False
    return True


def same_healthcheck(wanted, current, _image, _wanted_all):
    current = current or {}
    return all(current.get(key) == value for key, value in wanted.items())


def same_dict_list(wanted, current, _image, _wanted_all):
    """Lists of flat dicts (ulimits, devices) as sets."""
    def key(item):
        return tuple(sorted((item or {}).items()))
    return {key(item) for item in wanted} == {key(item) for item in current or ()}


def same_text_dict(wanted, current, _image, _wanted_all):
    return wanted == (current or {})


def same_restart_policy(wanted, current, _image, _wanted_all):
    return wanted == (current or "no")


def current_memory_swap(container):
    """MemorySwap and the Memory it goes with: what memory_swap means depends on both."""
    return {"memory": get_path(container, "HostConfig.Memory") or 0,
            "swap": get_path(container, "HostConfig.MemorySwap") or 0}


def expected_swap(swap, memory):
    """The MemorySwap the engine holds for a task's memory_swap: 0 is its default, twice the memory."""
    if swap == 0:
        return 2 * memory if memory else 0
    return swap


def same_memory_swap(wanted, current, _image, wanted_all):
    memory = wanted_all["memory"] if "memory" in wanted_all else current["memory"]
    if not memory:  # without a memory limit there is no swap limit, whatever the field says
        return wanted in (0, -1) or current["swap"] == wanted
    return current["swap"] == expected_swap(wanted, memory)


def same_pids_limit(wanted, current, _image, _wanted_all):
    """-1, 0 and an unset limit all mean unlimited (the engine reports null, 0 or -1)."""
    return max(wanted, 0) == max(current or 0, 0)


def same_stop_signal(wanted, current, image, _wanted_all):
    current = current or image.get("StopSignal") or "SIGTERM"
    return wanted == parse_stop_signal(current)


def same_text(wanted, current, _image, _wanted_all):
    """A string the engine reports as empty or leaves out when it is not set."""
    return wanted == (current or "")


def same_number(wanted, current, _image, _wanted_all):
    """A number the engine reports as 0 or leaves out when it is not set."""
    return wanted == (current or 0)


def same_list(wanted, current, _image, _wanted_all):
    """An ordered list the engine reports as null or [] when empty."""
    return list(wanted) == list(current or [])


def same_quota(wanted, current, _image, _wanted_all):
    """-1 and 0 both mean no quota (the engine reports 0)."""
    return max(wanted, 0) == max(current or 0, 0)


def same_ipc_mode(wanted, current, _image, _wanted_all):
    """An empty ipc_mode asks for the engine's default: private (dockerd 20.10) or shareable (older)."""
    if not wanted:
        return (current or "") in ("", "private", "shareable")
    return wanted == (current or "")


def same_swappiness(wanted, current, _image, _wanted_all):
    """-1 and an unset value (null) both mean the host's swappiness."""
    return (None if wanted == -1 else wanted) == (None if current in (None, -1) else current)


def same_mac_address(wanted, current, _image, _wanted_all):
    return wanted == (current or "").replace("-", ":").lower()


def current_links(container):
    """HostConfig.Links holds ``/other:/this/alias``; -> ``other:alias``."""
    links = []
    for link in get_path(container, "HostConfig.Links") or []:
        other, _sep, alias = link.partition(":")
        links.append("%s:%s" % (other.lstrip("/"), alias.rsplit("/", 1)[-1]))
    return sorted(links)


def _normal_device_request(request):
    request = request or {}
    return repr((request.get("Driver") or "", request.get("Count") or 0, list(request.get("DeviceIDs") or []),
                 [list(group) for group in request.get("Capabilities") or []],
                 sorted((request.get("Options") or {}).items())))


def same_device_requests(wanted, current, _image, _wanted_all):
    """Compared field by field; an empty field and one the engine reports as null are the same."""
    return sorted(_normal_device_request(r) for r in wanted) == sorted(
        _normal_device_request(r) for r in current or [])


def current_platform(container):
    """What the engine records of the platform (the OS, ``Platform``) and the image's, which the module adds
    to the container's inspect as ``ImagePlatform`` ({"os", "architecture", "variant"}) when it knows it."""
    return {"os": container.get("Platform") or "", "image": container.get("ImagePlatform")}


def same_platform(wanted, current, _image, _wanted_all):
    """The OS must be the container's; architecture and variant (when given) those of its image."""
    image = current.get("image")
    if image is None:
        return wanted.split("/")[0] == (current.get("os") or "linux")
    return platform_matches(wanted, current.get("os"), image.get("architecture"), image.get("variant"))


def always_same(_wanted, _current, _image, _wanted_all):
    """Options that are not a property of the container (they shape another option's value)."""
    return True


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

class Option:
    """One container option: how it is read, where it goes, how it is compared and updated."""

    __slots__ = ("name", "type", "elements", "aliases", "choices", "parse", "create", "inspect", "compare",
                 "update", "doc", "minimum_api", "caveat")

    def __init__(self, name, doc, type="str", elements=None, aliases=(), choices=None, parse=None,
                 create=None, inspect=None, compare=same, update=None, minimum_api=None, caveat=None):
        self.name = name
        self.doc = doc
        self.type = type
        self.elements = elements
        self.aliases = tuple(aliases)
        self.choices = choices
        self.parse = parse
        self.create = create
        self.inspect = inspect if inspect is not None else _inspect_path_of(create)
        self.compare = compare
        self.update = update
        self.minimum_api = minimum_api
        # (parsed value, the engine's /version) -> why the engine cannot honour it, or None
        self.caveat = caveat

    def argument_spec(self):
        spec = {"type": self.type}
        if self.elements:
            spec["elements"] = self.elements
        if self.aliases:
            spec["aliases"] = list(self.aliases)
        if self.choices:
            spec["choices"] = list(self.choices)
        return spec

    def current(self, container):
        """The engine's current value of this option, from an inspect."""
        if callable(self.inspect):
            return self.inspect(container)
        if self.inspect is None:  # env_file, default_host_ip: no field of their own
            return None
        return get_path(container, self.inspect)


def _inspect_path_of(create):
    """Where inspect reports what the create body set: Config fields sit under Config."""
    if create is None or callable(create):
        return None
    return create if create.startswith("HostConfig.") else "Config." + create


def _create_volumes(body, value):
    if value["binds"]:
        body.setdefault("HostConfig", {}).setdefault("Binds", []).extend(value["binds"])
    for target in value["anonymous"]:
        body.setdefault("Volumes", {})[target] = {}


def _create_published(body, value):
    body.setdefault("HostConfig", {})["PortBindings"] = value
    for port in value:
        body.setdefault("ExposedPorts", {})[port] = {}


def _create_exposed(body, value):
    for port in value:
        body.setdefault("ExposedPorts", {})[port] = {}


def _create_networks(body, value):
    """The first network goes into the create body (the rest are connected after create)."""
    if not value:
        return
    body.setdefault("HostConfig", {}).setdefault("NetworkMode", value[0]["name"])
    body["NetworkingConfig"] = {"EndpointsConfig": {value[0]["name"]: endpoint_config(value[0])}}


def endpoint_config(network):
    """The EndpointSettings for one entry of networks."""
    config = {}
    if network["aliases"]:
        config["Aliases"] = list(network["aliases"])
    if network["links"]:
        config["Links"] = list(network["links"])
    ipam = {}
    if network["ipv4_address"]:
        ipam["IPv4Address"] = network["ipv4_address"]
    if network["ipv6_address"]:
        ipam["IPv6Address"] = network["ipv6_address"]
    if ipam:
        config["IPAMConfig"] = ipam
    return config


def _create_env(body, value):
    body["Env"] = ["%s=%s" % item for item in sorted(value.items())]


def _create_etc_hosts(body, value):
    body.setdefault("HostConfig", {})["ExtraHosts"] = list(value)


def _create_argv(key):
    def create(body, value):
        if value:
            body[key] = value
    return create


def _create_nothing(_body, _value):
    """Options that shape another option's value (env_file, default_host_ip) add nothing of their own."""


def _create_platform(body, value):
    """The platform travels as the ``platform`` query parameter of the create; engine.create takes it out."""
    body["platform"] = value


def _kernel_memory_caveat(value, _engine):
    if value:
        return ("kernel_memory: the engine records it but nothing enforces it: runc 1.0 and later ignore kernel "
                "memory limits, cgroup v2 has none, and Docker deprecated the option in 20.10")
    return None


def _volumes_caveat(value, _engine):
    odd = [path for path in value["anonymous"] if ":" in path]
    if odd:
        return ("volumes: %s is an anonymous volume at the container path written whole (community.docker passes "
                "it on so, and the engine takes it); write %s for a volume at %s, or give it a source"
                % (odd[0], odd[0].split(":")[0], odd[0].split(":")[0]))
    return None


def _platform_caveat(value, engine):
    engine_os, engine_arch = (engine.get("Os") or "").lower(), (engine.get("Arch") or "").lower()
    parts = value.split("/")
    if engine_arch and len(parts) > 1 and parts[1] != architecture(engine_arch):
        return ("platform: the engine runs on %s/%s; a %s container runs only with binfmt emulation (qemu-user) "
                "on the host" % (engine_os, engine_arch, value))
    return None


def _device_requests_caveat(value, _engine):
    drivers = sorted({request["Driver"] or "(any)" for request in value if request["Count"] or request["DeviceIDs"]
                      or request["Capabilities"]})
    if drivers:
        return ("device_requests: the engine starts the container only if a device driver for %s is registered "
                "in it (for GPUs, the NVIDIA Container Toolkit); otherwise the start fails and a recreate rolls back"
                % ", ".join(drivers))
    return None


_LIST = {"type": "list", "elements": "str"}

OPTIONS = (
    Option("command", "The command to run, as a list or a string split like a shell would; an empty list "
           "means the image's own C(CMD).", type="raw", parse=parse_argv, create=_create_argv("Cmd"),
           inspect="Config.Cmd", compare=same_argv_or_image("Cmd")),
    Option("entrypoint", "The entrypoint, as a list or a string; an empty list means the image's own.",
           type="raw", parse=parse_argv, create=_create_argv("Entrypoint"), inspect="Config.Entrypoint",
           compare=same_argv_or_image("Entrypoint")),
    Option("env", "Environment variables (a dict; values are strings, quote C(true) and numbers you mean as "
           "text). Compared with the image's own environment overlaid with these: by default the container may "
           "have more variables (community.docker's V(allow_more_present)); with C(env: strict) in O(comparisons) "
           "a variable the container has that is in neither is drift. Values of keys whose names contain PASS, "
           "TOKEN, SECRET, KEY, CREDENTIAL, AUTH or PRIVATE (any case) never show: masked in results, diffs "
           "(a changed one reads V(******** (changed))), errors and the -vvv output.", type="dict", parse=parse_env,
           create=_create_env,
           inspect="Config.Env", compare=same_env),
    Option("labels", "Labels (a dict of strings). Compared with the image's labels overlaid with these; by "
           "default the container may have more labels, with C(labels: strict) in O(comparisons) it may not.",
           type="dict", parse=parse_text_dict, create="Labels", compare=same_labels),
    Option("published_ports", "Ports to publish, in the C(docker run -p) format: V(8080:80), "
           "V(127.0.0.1:8080:80/udp), V(80) (a random host port), V(8000-8001:80-81), V([::1]:8080:80). Without "
           "an IP a port is bound on every address, IPv6 too; V(0.0.0.0:8080:80) binds IPv4 only.",
           aliases=("ports",), parse=parse_published_ports, create=_create_published,
           inspect="HostConfig.PortBindings", compare=same_bindings, **_LIST),
    Option("exposed_ports", "Ports to expose without publishing them, such as V(80) or V(53/udp). Compared "
           "with the image's exposed ports plus these and the published ones.", aliases=("exposed", "expose"),
           parse=parse_exposed_ports, create=_create_exposed, inspect="Config.ExposedPorts",
           compare=same_exposed, **_LIST),
    Option("volumes", "Volumes in the C(docker run -v) format: V(/srv/data:/data:ro) (a host path), "
           "V(appdata:/data) (a named volume) or V(/data) (an anonymous volume, carried over on recreate).",
           parse=parse_volumes, create=_create_volumes, inspect=current_volumes, compare=same_volumes,
           caveat=_volumes_caveat, **_LIST),
    Option("mounts", "Mounts as dicts: C(target) (required), C(source), C(type) (V(volume), V(bind), "
           "V(tmpfs); default V(volume)), C(read_only), C(propagation), C(no_copy), C(tmpfs_size), "
           "C(tmpfs_mode).", type="list", elements="dict", parse=parse_mounts, create="HostConfig.Mounts",
           compare=same_mounts),
    Option("networks", "Networks to connect the container to, as dicts with C(name) and optionally "
           "C(aliases), C(ipv4_address), C(ipv6_address), C(links). With O(networks_cli_compatible) (the "
           "default) and no O(network_mode), the first one is the container's network mode, as C(docker run "
           "--network) makes it. A change connects and disconnects the running container in place, as "
           "community.docker does: a network the container is on but the task does not list stays, unless "
           "O(comparisons) compares C(networks) strictly (then V([]) leaves it on no network).", type="list",
           elements="raw", parse=parse_networks, create=_create_networks, inspect=current_networks,
           compare=same_networks),
    Option("network_mode", "V(bridge), V(host), V(none), V(container:<name>) or a network's name. Cannot be "
           "V(host), V(none) or V(container:...) together with O(networks).", create="HostConfig.NetworkMode",
           compare=same_network_mode),
    Option("restart_policy", "What the engine does when the container exits. Changed in place (a container "
           "with O(auto_remove) takes none, so giving it one recreates it without auto_remove).",
           choices=RESTART_POLICIES, create="HostConfig.RestartPolicy.Name", compare=same_restart_policy,
           update="RestartPolicy.Name"),
    Option("restart_retries", "With O(restart_policy=on-failure), how many restarts at most. Changed in place.",
           type="int", parse=parse_int(minimum=0), create="HostConfig.RestartPolicy.MaximumRetryCount",
           update="RestartPolicy.MaximumRetryCount"),
    Option("memory", "Memory limit, such as V(512m) or V(1g) (binary units); V(0) for no limit. Set or changed "
           "in place (with the swap limit kept at the engine's default of twice the memory, or at what it was); "
           "removing a limit (V(0)) recreates the container, since the engine cannot do that in place.",
           parse=parse_size_option(), create="HostConfig.Memory", update="Memory"),
    Option("memory_reservation", "Soft memory limit, such as V(256m); V(0) for none. Set or changed in place; "
           "removing it recreates the container.",
           parse=parse_size_option(), create="HostConfig.MemoryReservation", update="MemoryReservation"),
    Option("memory_swap", "Memory plus swap limit, such as V(1g); V(-1) for unlimited swap; V(0) for the engine's "
           "default, twice O(memory). Needs O(memory) (except V(-1) and V(0)). Changed in place.",
           parse=parse_size_option(allow_unlimited=True), inspect=current_memory_swap, create="HostConfig.MemorySwap",
           compare=same_memory_swap, update="MemorySwap"),
    Option("cpus", "CPUs the container may use, such as V(0.5) or V(2); V(0) for no limit. Set or changed in "
           "place; removing the limit recreates the container. Not together with O(cpu_period) or O(cpu_quota) (the "
           "engine refuses the pair).", type="float",
           parse=parse_cpus_option, create="HostConfig.NanoCpus", update="NanoCpus"),
    Option("cpu_shares", "Relative CPU weight (the engine's default is 1024); V(0) for the default. Set or "
           "changed in place; going back to V(0) recreates the container.", type="int",
           parse=parse_int(minimum=0, maximum=262144), create="HostConfig.CpuShares", update="CpuShares"),
    Option("cpuset_cpus", "CPUs the container may run on, such as V(0-1) or V(0,2); an empty string for all. "
           "Set or changed in place; going back to all CPUs recreates the container.",
           parse=parse_cpuset, create="HostConfig.CpusetCpus", update="CpusetCpus"),
    Option("pids_limit", "Most processes in the container; V(-1) or V(0) for unlimited. Changed in place.",
           type="int", parse=parse_int(minimum=-1), create="HostConfig.PidsLimit", compare=same_pids_limit,
           update="PidsLimit"),
    Option("ulimits", "Resource limits as V(name:soft[:hard]), such as V(nofile:1024:2048).",
           parse=parse_ulimits, create="HostConfig.Ulimits", compare=same_dict_list, **_LIST),
    Option("healthcheck", "A dict with C(test) (a list such as V([CMD, curl, -f, http://localhost/]), or a "
           "string run by the shell, or V(NONE) to turn the image's check off), C(interval), C(timeout), "
           "C(start_period) (durations such as V(30s) or V(1m30s)) and C(retries). After a start or recreate "
           "the module waits up to O(health_timeout) for V(healthy).", type="dict", parse=parse_healthcheck,
           create="Healthcheck", compare=same_healthcheck),
    Option("user", "User (and group) to run as, V(name), V(uid) or V(uid:gid).", parse=parse_str,
           create="User"),
    Option("working_dir", "Working directory, an absolute path.", parse=parse_str, create="WorkingDir"),
    Option("hostname", "Host name inside the container.", parse=parse_str, create="Hostname"),
    Option("capabilities", "Capabilities to add, such as V(NET_ADMIN).", parse=parse_capabilities,
           create="HostConfig.CapAdd", compare=same_capabilities, **_LIST),
    Option("cap_drop", "Capabilities to drop, such as V(ALL) or V(MKNOD).", parse=parse_capabilities,
           create="HostConfig.CapDrop", compare=same_capabilities, **_LIST),
    Option("read_only", "Mount the root file system read-only.", type="bool", parse=parse_bool,
           create="HostConfig.ReadonlyRootfs", compare=same_flag),
    Option("tmpfs", "tmpfs mounts as V(/path[:options]), such as V(/run:size=64m).", parse=parse_tmpfs,
           create="HostConfig.Tmpfs", compare=same_text_dict, **_LIST),
    Option("log_driver", "Logging driver, such as V(json-file), V(local) or V(journald).",
           create="HostConfig.LogConfig.Type"),
    Option("log_options", "Options of the logging driver (a dict of strings), such as C(max-size: 10m). An "
           "option the driver does not know fails before anything running is touched.", type="dict",
           parse=parse_text_dict, create="HostConfig.LogConfig.Config", aliases=("log_opt",), compare=same_text_dict),
    Option("privileged", "Give the container all capabilities and devices.", type="bool", parse=parse_bool,
           create="HostConfig.Privileged", compare=same_flag),
    Option("init", "Run an init process as PID 1 that reaps zombies and forwards signals.", type="bool",
           parse=parse_bool, create="HostConfig.Init", compare=same_flag),
    Option("devices", "Host devices as V(/dev/host[:/dev/container[:permissions]]).", parse=parse_devices,
           create="HostConfig.Devices", compare=same_dict_list, **_LIST),
    Option("sysctls", "Namespaced kernel parameters (a dict of strings), such as C(net.core.somaxconn: 1024).",
           type="dict", parse=parse_text_dict, create="HostConfig.Sysctls", compare=same_text_dict),
    Option("dns_servers", "DNS servers, in order.", parse=parse_dns, create="HostConfig.Dns",
           compare=lambda w, c, i, a: w == (c or []), **_LIST),
    Option("etc_hosts", "Extra /etc/hosts entries, a dict of host names to addresses.", type="dict",
           parse=parse_etc_hosts, create=_create_etc_hosts, inspect="HostConfig.ExtraHosts", compare=same_set),
    Option("stop_signal", "Signal that stops the container, such as V(SIGTERM) or V(SIGQUIT).",
           parse=parse_stop_signal, create="StopSignal", compare=same_stop_signal),
    Option("stop_timeout", "Seconds to wait after the stop signal before the engine kills the container; also "
           "the wait this module allows when it stops the container.", type="int", parse=parse_int(minimum=0),
           create="StopTimeout"),
    Option("cgroup_parent", "The cgroup the container's cgroup is created under (a slice such as "
           "V(containers.slice) with the systemd cgroup driver, a path with cgroupfs).", parse=parse_str,
           create="HostConfig.CgroupParent"),
    Option("cgroupns_mode", "Cgroup namespace: V(private) or V(host). Needs API 1.41.",
           choices=("private", "host"), create="HostConfig.CgroupnsMode", minimum_api="1.41"),
    Option("shm_size", "Size of /dev/shm, such as V(64m).", parse=parse_size_option(), create="HostConfig.ShmSize"),
    Option("security_opts", "Security options, such as V(no-new-privileges) or V(seccomp=unconfined).",
           parse=lambda value: sorted(str(item) for item in value), create="HostConfig.SecurityOpt",
           compare=same_set, **_LIST),
    Option("auto_remove", "Remove the container when it exits.", type="bool", parse=parse_bool,
           create="HostConfig.AutoRemove", compare=same_flag),
    # --- namespaces -------------------------------------------------------------------------------------
    Option("pid_mode", "PID namespace: V(host), V(container:<name or ID>), or an empty string for the container's "
           "own. A container named here is looked up and recorded by ID, as the engine does.",
           parse=parse_pid_mode, create="HostConfig.PidMode", compare=same_text),
    Option("ipc_mode", "IPC namespace: V(none), V(private), V(shareable), V(host), V(container:<name or ID>) (the "
           "other container needs V(shareable)), or an empty string for the engine's default (V(private)).",
           parse=parse_ipc_mode, create="HostConfig.IpcMode", compare=same_ipc_mode),
    Option("uts", "UTS namespace (host and domain name): V(host), or an empty string for the container's own.",
           parse=parse_uts, create="HostConfig.UTSMode", compare=same_text),
    Option("userns_mode", "User namespace: V(host) turns the engine's user namespace remapping off for this "
           "container (with C(userns-remap) in daemon.json); V(private) or an empty string keep it.",
           parse=parse_userns_mode, create="HostConfig.UsernsMode", compare=same_text),
    # --- resources --------------------------------------------------------------------------------------
    Option("cpu_period", "CPU CFS period in microseconds (1000 to 1000000; V(0) for the default, 100000); "
           "see O(cpus) for an easier form. Set or changed in place; V(0) recreates the container.", type="int",
           parse=parse_cpu_period, create="HostConfig.CpuPeriod", compare=same_number,
           update="CpuPeriod"),
    Option("cpu_quota", "CPU CFS quota in microseconds per O(cpu_period) (at least 1000; V(-1) or V(0) for none). "
           "Set or changed in place; removing it recreates the container.", type="int",
           parse=parse_cpu_quota, create="HostConfig.CpuQuota", compare=same_quota, update="CpuQuota"),
    Option("cpuset_mems", "Memory nodes (NUMA) the container may use, such as V(0) or V(0-1); an empty string for "
           "all. Set or changed in place; going back to all recreates the container.", parse=parse_cpuset,
           create="HostConfig.CpusetMems", compare=same_text, update="CpusetMems"),
    Option("blkio_weight", "Block IO weight, V(10) to V(1000) (V(0) for the default). Set or changed in place. "
           "The engine needs the cgroup v1 C(blkio.weight) file (CFQ) or cgroup v2's C(io.weight); on kernels that "
           "offer only BFQ's C(blkio.bfq.weight) it discards the weight, says so, and the module passes that "
           "warning on.", type="int", parse=parse_blkio_weight, create="HostConfig.BlkioWeight",
           compare=same_number, update="BlkioWeight"),
    Option("device_read_bps", "Read rate limits per device: a list of dicts with C(path) (the host's block "
           "device, such as V(/dev/sda)) and C(rate) (bytes per second with an optional unit, such as V(20m)).",
           type="list", elements="dict", parse=parse_device_bps, create="HostConfig.BlkioDeviceReadBps",
           compare=same_dict_list),
    Option("device_write_bps", "Write rate limits per device, as O(device_read_bps).", type="list",
           elements="dict", parse=parse_device_bps, create="HostConfig.BlkioDeviceWriteBps",
           compare=same_dict_list),
    Option("device_read_iops", "Read operation limits per device: a list of dicts with C(path) and C(rate) "
           "(operations per second, a whole number).", type="list", elements="dict", parse=parse_device_iops,
           create="HostConfig.BlkioDeviceReadIOps", compare=same_dict_list),
    Option("device_write_iops", "Write operation limits per device, as O(device_read_iops).", type="list",
           elements="dict", parse=parse_device_iops, create="HostConfig.BlkioDeviceWriteIOps",
           compare=same_dict_list),
    Option("memory_swappiness", "How readily the kernel swaps the container's memory, V(0) to V(100); V(-1) for "
           "the host's. cgroup v2 has no per-container swappiness: there the engine ignores it and says so, and "
           "the module passes that warning on.", type="int", parse=parse_int(minimum=-1, maximum=100),
           create="HostConfig.MemorySwappiness", compare=same_swappiness),
    Option("oom_killer", "V(true) B(disables) the kernel's OOM killer for the container (the engine's "
           "C(OomKillDisable)), as in community.docker despite the name; set O(memory) with it, or a container "
           "that runs out of memory hangs instead of being killed.", type="bool", parse=parse_bool,
           create="HostConfig.OomKillDisable", compare=same_flag),
    Option("oom_score_adj", "OOM score adjustment of the container's processes, V(-1000) to V(1000).", type="int",
           parse=parse_int(minimum=-1000, maximum=1000), create="HostConfig.OomScoreAdj", compare=same_number),
    Option("kernel_memory", "Kernel memory limit, such as V(64m) (at least V(4m); V(0) for none). Accepted for "
           "compatibility only: the engine records it, but runc 1.0 and later ignore it, cgroup v2 has no such "
           "limit and Docker deprecated it in 20.10; the module warns whenever it is set. Changed in place.",
           parse=parse_kernel_memory, create="HostConfig.KernelMemory", compare=same_number,
           update="KernelMemory", caveat=_kernel_memory_caveat),
    Option("storage_opts", "Storage driver options per container (a dict of strings), such as C(size: 10G). "
           "The engine supports C(size) only with overlay2 on xfs mounted with C(pquota) (or devicemapper, btrfs, "
           "zfs); elsewhere it refuses to create the container and the task fails naming this option, with the "
           "old container untouched.", type="dict", parse=parse_storage_opts, create="HostConfig.StorageOpt",
           compare=same_text_dict),
    # --- devices and runtime ----------------------------------------------------------------------------
    Option("device_requests", "Device requests, for GPUs: a list of dicts with C(driver) (such as V(nvidia)), "
           "C(count) (V(-1) for all), C(device_ids), C(capabilities) (a list of lists, such as V([[gpu]])) and "
           "C(options). The engine needs the device driver registered (for NVIDIA GPUs the NVIDIA Container "
           "Toolkit on the host); without it the start fails naming this option and a recreate rolls back to the "
           "old container. The module warns when a request is set. Needs API 1.40.", type="list",
           elements="dict", parse=parse_device_requests, create="HostConfig.DeviceRequests",
           compare=same_device_requests, minimum_api="1.40", caveat=_device_requests_caveat),
    Option("device_cgroup_rules", "Device cgroup rules, such as V(c 42:* rmw) (type, major:minor, access).",
           parse=parse_device_cgroup_rules, create="HostConfig.DeviceCgroupRules", compare=same_list,
           minimum_api="1.28", **_LIST),
    Option("runtime", "The OCI runtime, such as V(runc) or V(nvidia); it must be configured in the engine. Unset, "
           "the engine's default runtime is used (and reported).", parse=parse_runtime, create="HostConfig.Runtime",
           compare=same_text),
    Option("platform", "Platform of the container, V(os[/arch[/variant]]) such as V(linux/arm64). The image is "
           "pulled for it (also with O(pull=missing) when the local image of the name is of another platform), "
           "and the container is compared with its OS and its image's architecture and variant. Running another "
           "architecture than the engine's needs binfmt emulation on the host; the module warns then. Needs API "
           "1.41.", parse=parse_platform, create=_create_platform, inspect=current_platform,
           compare=same_platform, minimum_api="1.41", caveat=_platform_caveat),
    # --- environment and identity -----------------------------------------------------------------------
    Option("env_file", "A file on the target with C(KEY=value) lines (blank lines and C(#) comments are "
           "skipped), read by the module; its variables are merged under O(env), which wins for a name in both. "
           "A bad line fails the task, named by its number only.", type="path", create=_create_nothing,
           compare=always_same),
    Option("groups", "Additional groups (names or IDs) the container's process runs with.", parse=parse_groups,
           create="HostConfig.GroupAdd", compare=same_set, **_LIST),
    Option("domainname", "The container's domain name.", parse=parse_domainname, create="Domainname",
           compare=same_text),
    Option("mac_address", "The container's MAC address on its first network, such as V(92:d0:c6:0a:29:33).",
           parse=parse_mac_address, create="MacAddress", compare=same_mac_address),
    Option("dns_opts", "Resolver options for /etc/resolv.conf, such as V(rotate) or V(ndots:2).",
           parse=parse_dns_opts, create="HostConfig.DnsOptions", compare=same_set, **_LIST),
    Option("dns_search_domains", "DNS search domains, in order.", parse=parse_dns_search,
           create="HostConfig.DnsSearch", compare=same_list, **_LIST),
    Option("links", "Legacy links to other containers on the default bridge network, as V(name) or "
           "V(name:alias).", parse=parse_links, create="HostConfig.Links", inspect=current_links, compare=same_set,
           **_LIST),
    Option("volumes_from", "Containers whose volumes to mount, as V(name) or V(name:ro).",
           parse=parse_volumes_from, create="HostConfig.VolumesFrom", compare=same_set, **_LIST),
    Option("volume_driver", "Volume driver for the container's anonymous and named volumes that do not exist "
           "yet, such as V(local).", parse=parse_volume_driver, create="HostConfig.VolumeDriver", compare=same_text),
    Option("publish_all_ports", "Publish every exposed port to a random host port; O(published_ports) keep theirs.",
           type="bool", parse=parse_bool, create="HostConfig.PublishAllPorts", compare=same_flag),
    Option("default_host_ip", "The host IP of O(published_ports) that give none: an IPv4 or IPv6 address, or an "
           "empty string for the engine's default (all addresses, IPv4 and IPv6). Without this option, the "
           "address of the first of O(networks) that is a bridge network with the option "
           "C(com.docker.network.bridge.host_binding_ipv4), or else V(0.0.0.0), as community.docker fills it "
           "in. Ports are compared with it filled in.", parse=parse_default_host_ip,
           create=_create_nothing, compare=always_same),
    Option("tty", "Allocate a pseudo-TTY.", type="bool", parse=parse_bool, create="Tty", compare=same_flag),
    Option("interactive", "Keep the container's stdin open.", type="bool", parse=parse_bool, create="OpenStdin",
           compare=same_flag),
)

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
ALIASES = {alias: option.name for option in OPTIONS for alias in option.aliases}

# Options of the module that are not properties of the container (what to do, not what to have).
CONTROL_SPEC = {
    "name": {"type": "str", "required": True},
    "image": {"type": "str"},
    "state": {"type": "str", "default": "started",
              "choices": ["present", "started", "stopped", "absent", "healthy"]},
    "pull": {"type": "raw", "default": "missing", "choices": ["missing", "always", "never", True, False]},
    "recreate": {"type": "bool", "default": False},
    "restart": {"type": "bool", "default": False},
    "detach": {"type": "bool", "default": True},
    "health_timeout": {"type": "int", "default": 60},
    "keep_volumes": {"type": "bool", "default": True},
    "cleanup": {"type": "bool", "default": False},
    "force_kill": {"type": "bool", "default": False, "aliases": ["forcekill"]},
    "kill_signal": {"type": "str"},
    "paused": {"type": "bool"},
    "removal_wait_timeout": {"type": "float"},
    "healthy_wait_timeout": {"type": "float", "default": 300},
    "comparisons": {"type": "dict"},
    "image_comparison": {"type": "str", "default": "desired-image", "choices": ["desired-image", "current-image"]},
    "image_label_mismatch": {"type": "str", "default": "ignore", "choices": ["ignore", "fail"]},
    "image_name_mismatch": {"type": "str", "default": "recreate", "choices": ["ignore", "recreate"]},
    "command_handling": {"type": "str", "default": "correct", "choices": ["correct", "compatibility"]},
    "container_default_behavior": {"type": "str", "default": "no_defaults",
                                   "choices": ["no_defaults", "compatibility"]},
    "networks_cli_compatible": {"type": "bool", "default": True},
    "output_logs": {"type": "bool", "default": False},
    "pull_check_mode_behavior": {"type": "str", "default": "image_not_present",
                                 "choices": ["image_not_present", "always"]},
    "config_path": {"type": "path", "aliases": ["dockercfg_path"]},
    "mirrors_table": {"type": "path"},
}


def argument_spec():
    """The module's argument_spec: the control options plus one entry per option of the table."""
    spec = {key: dict(value) for key, value in CONTROL_SPEC.items()}
    for option in OPTIONS:
        spec[option.name] = option.argument_spec()
    return spec


def parse_options(params, env_file_text=None):
    """{option: engine form} for every table option the task sets; raises OptionError naming the option.

    ``env_file_text`` is the content of the task's env_file (the module reads it): its variables are merged
    under env, as community.docker does. default_host_ip is filled into the published ports that name no IP.
    """
    wanted = {}
    for option in OPTIONS:
        value = params.get(option.name)
        if value is None:
            continue
        try:
            wanted[option.name] = option.parse(value) if option.parse else value
            if option.name == "published_ports" and params.get("default_host_ip"):
                wanted[option.name] = parse_published_ports(value, parse_default_host_ip(params["default_host_ip"]))
        except OptionError as exc:
            if isinstance(exc, WholeError):
                raise
            raise OptionError("%s: %s" % (option.name, exc)) from None
    if "env_file" in wanted:
        try:
            env = parse_env_file(env_file_text or "", wanted["env_file"])
        except OptionError as exc:
            raise OptionError("env_file: %s" % exc) from None
        env.update(wanted.get("env") or {})
        wanted["env"] = env
    check_combinations(wanted)
    return wanted


# Options whose value may name another container (container:<name>); the engine records it by ID.
CONTAINER_REFERENCES = ("network_mode", "pid_mode", "ipc_mode")


def container_references(wanted):
    """{option: the container name it refers to} for values such as ``container:db``."""
    found = {}
    for name in CONTAINER_REFERENCES:
        value = wanted.get(name) or ""
        if value.startswith("container:"):
            found[name] = value[len("container:"):].lstrip("/")
    return found


def caveats(wanted, engine_version):
    """Why the engine cannot honour some of the wanted options here (warnings), in table order."""
    found = []
    for option in OPTIONS:
        if option.caveat is not None and option.name in wanted:
            warning = option.caveat(wanted[option.name], engine_version or {})
            if warning:
                found.append(warning)
    return found


def volume_targets(volumes):
    """The container paths of a parsed volumes option, binds first, in order."""
    return [bind.split(":")[1] for bind in volumes["binds"]] + list(volumes["anonymous"])


def check_mount_points(wanted):
    """A container path is mounted once: refused before anything is created, with community.docker's words."""
    volumes = volume_targets(wanted["volumes"]) if wanted.get("volumes") else []
    mounts = [mount["Target"] for mount in wanted.get("mounts") or []]
    for targets, option in ((volumes, "volumes"), (mounts, "mounts")):
        seen = set()
        for target in targets:
            if target in seen:
                raise OptionError('The mount point "%s" appears twice in the %s option' % (target, option))
            seen.add(target)
    for target in mounts:
        if target in volumes:
            raise OptionError('The mount point "%s" appears both in the volumes and mounts option' % target)


def check_combinations(wanted):
    """Options that are fine alone but not together."""
    check_mount_points(wanted)
    mode = wanted.get("network_mode")
    if wanted.get("networks") and mode and (mode in ("host", "none") or mode.startswith("container:")):
        raise OptionError("network_mode: %s cannot be combined with networks; drop networks, or set network_mode "
                          "to bridge or a network's name" % mode)
    if wanted.get("restart_retries") and wanted.get("restart_policy", "on-failure") != "on-failure":
        raise OptionError("restart_retries: only restart_policy on-failure takes a retry count (restart_policy is "
                          "%s)" % wanted["restart_policy"])
    memory = wanted.get("memory")
    if memory and wanted.get("memory_swap") not in (None, -1, 0) and wanted["memory_swap"] < memory:
        raise OptionError("memory_swap: %d bytes is less than memory (%d bytes); memory_swap is memory plus swap, "
                          "so it must be at least memory, or -1 for unlimited swap" % (wanted["memory_swap"], memory))
    if memory and wanted.get("memory_reservation") and wanted["memory_reservation"] > memory:
        raise OptionError("memory_reservation: the soft limit must not exceed memory")
    if wanted.get("memory_swap") not in (None, 0, -1) and not memory:
        raise OptionError("memory_swap: set memory too; the engine takes a swap limit only with a memory limit")
    for name in ("cpu_period", "cpu_quota"):  # the engine: "Conflicting options: Nano CPUs and CPU Period ..."
        if (wanted.get("cpus") or 0) > 0 and (wanted.get(name) or 0) > 0:
            raise OptionError("cpus: the engine takes a CPU limit as cpus or as cpu_period and cpu_quota, not both "
                              "(%s is set); drop cpus or %s" % (name, name))
    if wanted.get("uts") == "host":
        for name in ("hostname", "domainname"):
            if wanted.get(name):
                raise OptionError("%s: a container with uts host has the host's names; drop %s or uts" % (name, name))
    if wanted.get("mac_address") and mode and (mode in ("host", "none") or mode.startswith("container:")):
        raise OptionError("mac_address: network_mode %s gives the container no network of its own to set a MAC "
                          "address on; drop mac_address or change network_mode" % mode)
    if wanted.get("auto_remove") and wanted.get("restart_policy") not in (None, "no"):
        raise OptionError("restart_policy: the engine refuses a restart policy for a container with auto_remove; "
                          "set restart_policy to no, or auto_remove to false")


def create_body(wanted, image):
    """The body of POST /containers/create for the wanted options and the image reference."""
    body = {"Image": image, "HostConfig": {}}
    for name, value in wanted.items():
        target = OPTIONS_BY_NAME[name].create
        if callable(target):
            target(body, value)
        else:
            set_path(body, target, value)
    return body


def differences(wanted, container, image_config):
    """Names of the wanted options whose current value differs, in table order."""
    image_config = image_config or {}
    found = []
    for option in OPTIONS:
        if option.name not in wanted:
            continue
        if not option.compare(wanted[option.name], option.current(container), image_config, wanted):
            found.append(option.name)
    return found


# Limits the engine (dockerd 20.10 and later) cannot take off a container with an update: it reads 0 (or
# an empty CPU list) as "leave as it is". Removing one of them recreates the container.
_NOT_REMOVABLE_IN_PLACE = ("memory", "memory_reservation", "cpus", "cpu_shares", "cpuset_cpus", "cpu_period",
                           "cpu_quota", "cpuset_mems", "blkio_weight", "kernel_memory")


def update_body(names, wanted, container):
    """The body of POST /containers/{id}/update that applies the differences ``names``.

    Raises NotInPlace when the engine cannot make one of them in place. A new
    Memory always travels with its MemorySwap: the engine refuses a memory limit
    above the swap limit it holds (HTTP 409 "update the memoryswap at the same
    time"), and a container that had no limit holds a swap limit of 0.
    """
    host = container.get("HostConfig") or {}
    body = {}
    for name in names:
        option = OPTIONS_BY_NAME[name]
        if not option.update:
            raise NotInPlace(name, "the engine changes it only by recreating the container")
        if name in _NOT_REMOVABLE_IN_PLACE and wanted[name] in (0, -1, ""):
            raise NotInPlace(name, "the engine cannot remove this limit in place")
        if name != "memory_swap":
            set_path(body, option.update, wanted[name])
    if "RestartPolicy" in body:
        policy = dict(host.get("RestartPolicy") or {})
        policy.update(body["RestartPolicy"])
        if policy.get("Name") != "on-failure":
            policy["MaximumRetryCount"] = 0
        if host.get("AutoRemove") and policy.get("Name") not in ("", "no"):
            raise NotInPlace("restart_policy", "the engine gives no restart policy to a container with auto_remove")
        body["RestartPolicy"] = policy
    if "Memory" in body or "memory_swap" in names:
        body["MemorySwap"] = swap_for_update(wanted, host, body.get("Memory") or host.get("Memory") or 0)
    return body


def swap_for_update(wanted, host, memory):
    """The MemorySwap to send with the limit ``memory``: the task's, else the relation the container had."""
    if "memory_swap" in wanted:
        return expected_swap(wanted["memory_swap"], memory)
    current_memory, swap = host.get("Memory") or 0, host.get("MemorySwap") or 0
    if swap == -1:
        return -1
    if not current_memory or swap == 2 * current_memory or swap < memory:
        return 2 * memory  # what the engine gives a new container with this limit
    return swap


def in_place(names, wanted, container, networks_in_place=False):
    """None when the differences ``names`` can be changed in place, else why not (a NotInPlace).

    With ``networks_in_place``, a difference in networks is made by connecting and disconnecting the
    container (network_steps), as community.docker does; else it recreates the container, as compose does.
    """
    try:
        update_body([name for name in names if not (networks_in_place and name == "networks")], wanted, container)
    except NotInPlace as exc:
        return exc
    return None


def network_steps(networks, container, only=None):
    """The engine calls that put a container on its ``networks`` in place: ``[(action, network, endpoint config)]``.

    A listed network the container is not on is connected; one it is on with other aliases, links or
    addresses is disconnected and connected again as asked; with ``only`` (the names it may be on, when
    networks are compared strictly) any other network is disconnected.
    """
    current = current_networks(container)
    steps = []
    for network in networks:
        if network["name"] in current:
            if networks_as_asked([network], current):
                continue
            steps.append(("disconnect", network["name"], None))
        steps.append(("connect", network["name"], endpoint_config(network)))
    if only is not None:
        steps.extend(("disconnect", name, None) for name in sorted(set(current) - set(only)))
    return steps


def endpoint_of(container, network):
    """The EndpointConfig that connects the container to ``network`` again as it is now (to undo a step)."""
    endpoint = get_path(container, "NetworkSettings.Networks") or {}
    endpoint = endpoint.get(network) or {}
    config = {key: endpoint[key] for key in ("Aliases", "Links") if endpoint.get(key)}
    if endpoint.get("IPAMConfig"):
        config["IPAMConfig"] = endpoint["IPAMConfig"]
    return config


def view(names, wanted, container, image_config):
    """(before, after) of the options ``names`` for a diff, secrets masked; ``container`` may be None.

    A secret whose value changes reads ``******** (changed)`` on the after side.
    """
    image_config = image_config or {}
    before, after = {}, {}
    for name in names:
        option = OPTIONS_BY_NAME[name]
        want = wanted[name]
        current = option.current(container) if container is not None else None
        if name == "env":
            want = expected_env(want, image_config)
            current = env_list_to_dict(current)
        elif name == "labels":
            want = dict(image_config.get("Labels") or {}, **want)
        elif name == "memory_swap":
            memory = wanted.get("memory", (current or {}).get("memory", 0))
            want = expected_swap(want, memory)
            current = (current or {}).get("swap")
        after[name] = want
        if container is not None:
            before[name] = current
    return diff_pair(before, after)
