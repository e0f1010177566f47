# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A service's ``volumes`` (short and long syntax) in the model's form."""

from __future__ import annotations

import posixpath
import re
from typing import Any, Dict, List, Optional

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.forms import Path, as_bool, as_int
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import type_name

PROPAGATIONS = ("rprivate", "private", "rshared", "shared", "rslave", "slave")
DEFAULT_PROPAGATION = "rprivate"
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3}
_LONG_KEYS = {"type", "source", "target", "read_only", "bind", "volume", "tmpfs"}
_SUB_KEYS = {"bind": {"create_host_path", "propagation"}, "volume": {"nocopy"}, "tmpfs": {"size"}}
_NAMED = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def _size(value: Any, path: Path) -> int:
    if isinstance(value, str):
        match = re.fullmatch(r"([0-9]+)\s*([a-zA-Z]*)", value.strip())
        if not match or match.group(2).lower() not in _UNITS:
            raise ComposeError("%r is not a size: write bytes or a number with b, k, m or g" % value, path)
        return int(match.group(1)) * _UNITS[match.group(2).lower()]
    return as_int(value, path, minimum=0)


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~"))


def _short_parts(text: str, path: Path):
    """``SOURCE:TARGET[:MODE]`` or ``TARGET`` -> (source or None, target, modes)."""
    parts = text.split(":")
    if len(parts) == 1:
        return None, parts[0], []
    if len(parts) == 2:
        modes = parts[1].split(",")
        if parts[1].startswith("/") or not set(modes) <= set(PROPAGATIONS + ("ro", "rw", "nocopy", "z", "Z")):
            return parts[0], parts[1], []
        return None, parts[0], modes  # TARGET:MODE, an anonymous volume
    if len(parts) == 3:
        return parts[0], parts[1], parts[2].split(",")
    raise ComposeError("%r is not a volume: write [SOURCE:]TARGET[:MODE]" % text, path)


def volume_target(item: Any) -> Optional[str]:
    """The container path of one ``volumes`` item (the key compose merges by); None when it has none."""
    if isinstance(item, dict):
        target = item.get("target")
        return target if isinstance(target, str) else None
    if isinstance(item, str):
        try:
            return _short_parts(item, ())[1]
        except ComposeError:
            return None
    return None


def _absolute_source(source: str, working_dir: Optional[str], path: Path) -> str:
    if source.startswith("~"):
        raise ComposeError("%r: a path under ~ is not supported (whose home: the controller's or the host's?); "
                           "write an absolute path" % source, path)
    if source.startswith("/"):
        return posixpath.normpath(source)
    if working_dir is None:
        raise ComposeError("%r is relative, and an inline definition has no project directory: give project_src, "
                           "or write an absolute path" % source, path)
    return posixpath.normpath(posixpath.join(working_dir, source))


def short_volume(text: str, path: Path, working_dir: Optional[str]) -> Dict[str, Any]:
    """``./data:/data:ro`` -> the long form."""
    source, target, modes = _short_parts(text, path)
    read_only = False
    propagation = None
    nocopy = False
    for mode in modes:
        if mode in ("ro", "rw"):
            read_only = mode == "ro"
        elif mode in PROPAGATIONS:
            propagation = mode
        elif mode == "nocopy":
            nocopy = True
        elif mode in ("z", "Z"):
            raise ComposeError("%r: the SELinux relabel modes z and Z are not supported" % text, path)
        else:
            raise ComposeError("%r: unknown mode %r (use ro, rw, nocopy or a propagation: %s)"
                               % (text, mode, ", ".join(PROPAGATIONS)), path)
    if source is not None and _is_path(source):
        if nocopy:
            raise ComposeError("%r: nocopy applies to named volumes, not to a bind mount" % text, path)
        return _finish({"type": "bind", "source": _absolute_source(source, working_dir, path), "target": target,
                        "read_only": read_only,
                        "bind": {"create_host_path": True, "propagation": propagation or DEFAULT_PROPAGATION}}, path)
    if propagation:
        raise ComposeError("%r: a propagation mode applies to a bind mount, not to a volume" % text, path)
    return _finish({"type": "volume", "source": source or None, "target": target, "read_only": read_only,
                    "volume": {"nocopy": nocopy}}, path)


def long_volume(value: Dict[str, Any], path: Path, working_dir: Optional[str]) -> Dict[str, Any]:
    """The long syntax, checked and completed."""
    unknown = sorted(set(value) - _LONG_KEYS)
    if unknown:
        raise ComposeError("key %s is not supported in a volume's long syntax" % unknown[0], path + (unknown[0],))
    kind = value.get("type", "volume")
    if kind not in ("volume", "bind", "tmpfs"):
        raise ComposeError("type %r is not supported: use volume, bind or tmpfs" % (kind,), path + ("type",))
    for section, keys in _SUB_KEYS.items():
        given = value.get(section)
        if given is None:
            continue
        if section != kind:
            raise ComposeError("%s options given for a %s mount" % (section, kind), path + (section,))
        if not isinstance(given, dict):
            raise ComposeError("expected a mapping, got a %s" % type_name(given), path + (section,))
        unknown = sorted(set(given) - keys)
        if unknown:
            raise ComposeError("key %s is not supported" % unknown[0], path + (section, unknown[0]))
    target = value.get("target")
    source = value.get("source")
    if source is not None and not isinstance(source, str):
        raise ComposeError("expected a string, got a %s" % type_name(source), path + ("source",))
    entry: Dict[str, Any] = {"type": kind, "source": source or None, "target": target,
                             "read_only": as_bool(value.get("read_only", False), path + ("read_only",))}
    options = value.get(kind) or {}
    if kind == "bind":
        if not source:
            raise ComposeError("a bind mount needs source", path)
        entry["source"] = _absolute_source(source, working_dir, path + ("source",))
        propagation = options.get("propagation", DEFAULT_PROPAGATION)
        if propagation not in PROPAGATIONS:
            raise ComposeError("%r is not a propagation: use one of %s" % (propagation, ", ".join(PROPAGATIONS)),
                               path + ("bind", "propagation"))
        entry["bind"] = {"create_host_path": as_bool(options.get("create_host_path", False),
                                                     path + ("bind", "create_host_path")),
                         "propagation": propagation}
    elif kind == "volume":
        entry["volume"] = {"nocopy": as_bool(options.get("nocopy", False), path + ("volume", "nocopy"))}
    else:
        if source:
            raise ComposeError("a tmpfs mount has no source", path + ("source",))
        if "size" in options:
            entry["tmpfs"] = {"size": _size(options["size"], path + ("tmpfs", "size"))}
    return _finish(entry, path)


def _finish(entry: Dict[str, Any], path: Path) -> Dict[str, Any]:
    target = entry["target"]
    if not isinstance(target, str) or not target.startswith("/"):
        raise ComposeError("the target %r is not an absolute container path" % (target,), path)
    if any(ord(char) < 32 for char in target + (entry["source"] or "")):
        raise ComposeError("a control character in the source or target", path)
    if entry["type"] == "volume" and entry["source"] is not None and not _NAMED.fullmatch(entry["source"]):
        raise ComposeError("%r is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)" % entry["source"], path)
    return entry


def normalise_volumes(value: Any, path: Path, working_dir: Optional[str]) -> List[Dict[str, Any]]:
    """``volumes`` of a service -> the model's list."""
    if not isinstance(value, list):
        raise ComposeError("expected a list, got a %s" % type_name(value), path)
    result = []
    for index, item in enumerate(value):
        where = path + (index,)
        if isinstance(item, str):
            result.append(short_volume(item, where, working_dir))
        elif isinstance(item, dict):
            result.append(long_volume(item, where, working_dir))
        else:
            raise ComposeError("expected a string or a mapping, got a %s" % type_name(item), where)
    return result
