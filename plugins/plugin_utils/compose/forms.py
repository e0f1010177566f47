# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The short and long forms compose accepts for one key, brought to one form (shared by merge and normalise)."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError, PathPart
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import Override, Reset, type_name

Path = Tuple[PathPart, ...]
BOOLEAN_WORDS = {"true": True, "yes": True, "y": True, "on": True, "false": False, "no": False, "n": False,
                 "off": False}


def scalar_text(value: Any, path: Path) -> Optional[str]:
    """A scalar as the string compose makes of it (``true`` -> "true", 3 -> "3"); None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise ComposeError("expected a string, got a %s" % type_name(value), path)


def key_value_map(value: Any, path: Path, separator: str = "=", bare: Optional[str] = None) -> Dict[str, Any]:
    """``["A=1", "B"]`` or ``{A: 1, B: null}`` -> ``{"A": "1", "B": bare}``; values become strings."""
    if value is None:
        return {}
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if isinstance(item, (Reset, Override)):  # merge resolves these
                result[str(key)] = item
                continue
            text = scalar_text(item, path + (str(key),))
            result[str(key)] = bare if text is None else text
        return result
    if isinstance(value, list):
        result = {}
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise ComposeError("expected a non-empty 'NAME%sVALUE' string, got %s" % (separator, type_name(item)),
                                   path + (index,))
            name, sep, rest = item.partition(separator)
            result[name] = rest if sep else bare
        return result
    raise ComposeError("expected a mapping or a list of 'NAME%sVALUE' strings, got a %s"
                       % (separator, type_name(value)), path)


def string_list(value: Any, path: Path) -> List[str]:
    """A string or a list of scalars -> a list of strings."""
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        result = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise ComposeError("expected a string, got a %s" % type_name(item), path + (index,))
            result.append(str(item))
        return result
    raise ComposeError("expected a string or a list of strings, got a %s" % type_name(value), path)


def as_int(value: Any, path: Path, minimum: Optional[int] = None) -> int:
    """An integer, or a string of digits (an interpolated value)."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ComposeError("expected an integer, got %s" % type_name(value), path)
    if minimum is not None and value < minimum:
        raise ComposeError("expected an integer of at least %d, got %d" % (minimum, value), path)
    return value


def as_bool(value: Any, path: Path) -> bool:
    """A boolean, or one of compose's words for one (an interpolated value: "true", "no", ...)."""
    if isinstance(value, str) and value.strip().lower() in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[value.strip().lower()]
    if not isinstance(value, bool):
        raise ComposeError("expected true or false, got %s" % type_name(value), path)
    return value


def depends_on_map(value: Any, path: Path) -> Dict[str, Any]:
    """The list form of depends_on -> the map form (values as given; defaults come in normalise)."""
    if value is None:
        return {}
    if isinstance(value, list):
        return {name: {} for name in string_list(value, path)}
    if isinstance(value, dict):
        return dict(value)
    raise ComposeError("expected a list of service names or a mapping, got a %s" % type_name(value), path)


def networks_map(value: Any, path: Path) -> Dict[str, Any]:
    """The list form of a service's networks -> the map form."""
    if value is None:
        return {}
    if isinstance(value, list):
        return dict.fromkeys(string_list(value, path))
    if isinstance(value, dict):
        return dict(value)
    raise ComposeError("expected a list of network names or a mapping, got a %s" % type_name(value), path)


def extra_hosts_list(value: Any, path: Path) -> List[str]:
    """extra_hosts as ``host:ip`` strings (map form, ``host=ip`` and list-of-addresses values converted)."""
    if value is None:
        return []
    if isinstance(value, dict):
        result = []
        for host, address in value.items():
            addresses = address if isinstance(address, list) else [address]
            for item in addresses:
                if not isinstance(item, str) or not item:
                    raise ComposeError("expected an IP address, got %s" % type_name(item), path + (str(host),))
                result.append("%s:%s" % (host, item))
        return result
    result = []
    for index, item in enumerate(string_list(value, path)):
        if "=" in item:
            host, _sep, address = item.partition("=")
        else:
            host, _sep, address = item.partition(":")
        if not host or not address:
            raise ComposeError("expected 'HOST:IP', got %r" % item, path + (index,))
        result.append("%s:%s" % (host, address))
    return result
