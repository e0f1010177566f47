# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A service's ``ports`` (short and long syntax) and ``expose`` in the model's form."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.forms import Path, as_int, scalar_text
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import type_name

PROTOCOLS = ("tcp", "udp")
_RANGE = r"[0-9]{1,5}(?:-[0-9]{1,5})?"
# [[HOST_IP:][PUBLISHED]:]TARGET[/PROTOCOL]; an IPv6 host address in brackets, or bare (the last two colons split).
_SHORT = re.compile(r"(?:(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*?):)?(?P<published>%s)?:)?(?P<target>%s)"
                    r"(?:/(?P<protocol>[a-z]+))?" % (_RANGE, _RANGE))
_EXPOSE = re.compile(r"[0-9]{1,5}(?:-[0-9]{1,5})?(?:/(?:tcp|udp))?")
# Long-syntax keys that change nothing for a container on one engine (swarm's routing mode, informational names).
_IGNORED_LONG_KEYS = ("mode", "name", "app_protocol")


def _span(text: str, path: Path) -> List[int]:
    first, _sep, last = text.partition("-")
    low, high = int(first), int(last or first)
    if not 0 < low <= high <= 65535:
        raise ComposeError("%r is not a port or a port range within 1-65535" % text, path)
    return list(range(low, high + 1))


def _protocol(value: Any, path: Path) -> str:
    protocol = (value or "tcp").lower() if isinstance(value, str) or value is None else value
    if protocol not in PROTOCOLS:
        raise ComposeError("protocol %r is not supported: use tcp or udp" % (protocol,), path)
    return protocol


# compose lets the engine pick a free host port of a range for one container port; the module publishes a port on
# one host port (or ranges of the same length), so it refuses rather than binds something else.
_ONE_OF_RANGE = ("%r publishes one container port on a range of host ports, which dockhand.runtime.compose does not "
                 "support: give one host port, such as %d:%d")


def _entry(target: int, published, host_ip, protocol: str) -> Dict[str, Any]:
    return {"target": target, "published": published, "host_ip": host_ip, "protocol": protocol}


def short_port(text: str, path: Path) -> List[Dict[str, Any]]:
    """``"127.0.0.1:8000-8001:80-81/udp"`` -> one long-form entry per container port."""
    match = _SHORT.fullmatch(text)
    if not match:
        raise ComposeError("%r is not a port mapping: write [HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL], "
                           "e.g. \"8080:80\" or \"127.0.0.1:8080:80/tcp\"" % text, path)
    host_ip = (match.group("ip") or "").strip("[]") or None
    protocol = _protocol(match.group("protocol"), path)
    targets = _span(match.group("target"), path)
    published = match.group("published")
    if published is None:
        return [_entry(target, None, host_ip, protocol) for target in targets]
    published_ports = _span(published, path)
    if len(targets) == 1:
        if len(published_ports) > 1:
            raise ComposeError(_ONE_OF_RANGE % (text, published_ports[0], targets[0]), path)
        return [_entry(targets[0], str(published_ports[0]), host_ip, protocol)]
    if len(published_ports) != len(targets):
        raise ComposeError("%r maps %d published ports to %d container ports: give ranges of the same length"
                           % (text, len(published_ports), len(targets)), path)
    return [_entry(target, str(port), host_ip, protocol) for target, port in zip(targets, published_ports)]


def long_port(value: Dict[str, Any], path: Path) -> Dict[str, Any]:
    """The long syntax, checked: target, published, host_ip, protocol."""
    unknown = sorted(set(value) - {"target", "published", "host_ip", "protocol"} - set(_IGNORED_LONG_KEYS))
    if unknown:
        raise ComposeError("key %s is not supported in a port's long syntax" % unknown[0], path + (unknown[0],))
    if "target" not in value:
        raise ComposeError("a port in long syntax needs target", path)
    target = as_int(value["target"], path + ("target",), minimum=1)
    if target > 65535:
        raise ComposeError("%d is not a port within 1-65535" % target, path + ("target",))
    published = scalar_text(value.get("published"), path + ("published",))
    if published is not None:
        _span(published, path + ("published",))
        if not re.fullmatch(_RANGE, published):
            raise ComposeError("%r is not a port or a port range" % published, path + ("published",))
        span = _span(published, path + ("published",))
        if len(span) > 1:
            raise ComposeError(_ONE_OF_RANGE % (published, span[0], target), path + ("published",))
        published = str(span[0])
    host_ip = value.get("host_ip")
    if host_ip is not None and (not isinstance(host_ip, str) or not re.fullmatch(r"[0-9A-Fa-f:.]+", host_ip)):
        raise ComposeError("%r is not an IP address" % (host_ip,), path + ("host_ip",))
    return _entry(target, published, host_ip, _protocol(value.get("protocol"), path + ("protocol",)))


def port_entries(item: Any, path: Path) -> List[Dict[str, Any]]:
    """One item of ``ports`` (an int, a short-syntax string or a long-syntax mapping) in the long form."""
    if isinstance(item, dict):
        return [long_port(item, path)]
    if isinstance(item, int) and not isinstance(item, bool):
        item = str(item)
    if not isinstance(item, str):
        raise ComposeError("expected a port mapping (string or mapping), got a %s" % type_name(item), path)
    return short_port(item, path)


def normalise_ports(value: Any, path: Path) -> List[Dict[str, Any]]:
    """``ports`` -> the model's list (a short-form range gives one entry per port; duplicates dropped)."""
    if not isinstance(value, list):
        raise ComposeError("expected a list, got a %s" % type_name(value), path)
    result: List[Dict[str, Any]] = []
    for index, item in enumerate(value):
        for entry in port_entries(item, path + (index,)):
            if entry not in result:
                result.append(entry)
    return result


def normalise_expose(value: Any, path: Path) -> List[str]:
    """``expose`` -> ``["80", "53/udp"]``."""
    if not isinstance(value, list):
        raise ComposeError("expected a list, got a %s" % type_name(value), path)
    result = []
    for index, item in enumerate(value):
        text = scalar_text(item, path + (index,)) if not isinstance(item, bool) else None
        if text is None or not _EXPOSE.fullmatch(text):
            raise ComposeError("%r is not a port: write PORT[/PROTOCOL], e.g. \"80\" or \"53/udp\"" % (item,),
                               path + (index,))
        _span(text.split("/")[0], path + (index,))
        if text not in result:
            result.append(text)
    return result
