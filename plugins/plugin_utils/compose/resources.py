# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The top-level ``networks`` and ``volumes`` in the model's form, their engine names resolved."""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.forms import Path, as_bool, key_value_map
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import type_name
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.names import RESOURCE_KEY

# The engine's rule for names, as the module checks it: two characters at least.
ENGINE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_COMMON = ("name", "external", "driver", "driver_opts", "labels")
NETWORK_KEYS = _COMMON + ("internal", "attachable", "enable_ipv6", "ipam")
VOLUME_KEYS = _COMMON
_IPAM_CONFIG_KEYS = ("subnet", "gateway", "ip_range")


def _ipam(value: Any, path: Path) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(value), path)
    unknown = sorted(set(value) - {"driver", "config"})
    if unknown:
        raise ComposeError("key %s is not supported" % unknown[0], path + (unknown[0],))
    result: Dict[str, Any] = {}
    if value.get("driver") is not None:
        result["driver"] = value["driver"]
    if value.get("config") is not None:
        if not isinstance(value["config"], list):
            raise ComposeError("expected a list, got a %s" % type_name(value["config"]), path + ("config",))
        result["config"] = []
        for index, item in enumerate(value["config"]):
            where = path + ("config", index)
            if not isinstance(item, dict):
                raise ComposeError("expected a mapping, got a %s" % type_name(item), where)
            unknown = sorted(set(item) - set(_IPAM_CONFIG_KEYS))
            if unknown:
                raise ComposeError("key %s is not supported" % unknown[0], where + (unknown[0],))
            result["config"].append({key: item.get(key) for key in _IPAM_CONFIG_KEYS})
    return result


def _resource(kind: str, key: str, value: Any, project: str, allowed: Iterable[str]) -> Dict[str, Any]:
    path: Path = (kind, key)
    if not RESOURCE_KEY.fullmatch(key):
        raise ComposeError("%r is not a valid %s key ([a-zA-Z0-9][a-zA-Z0-9_.-]*)" % (key, kind[:-1]), path)
    value = value or {}
    if not isinstance(value, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(value), path)
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ComposeError("key %s is not supported" % unknown[0], path + (unknown[0],))
    external = value.get("external", False)
    name = value.get("name")
    if isinstance(external, dict):  # the legacy form external: {name: x}
        name = external.get("name", name)
        external = True
    external = as_bool(external, path + ("external",))
    if name is None:
        name = key if external else "%s_%s" % (project, key)
    if not isinstance(name, str) or not ENGINE_NAME.fullmatch(name):
        raise ComposeError("%r is not a valid %s name" % (name, kind[:-1]), path + ("name",))
    result: Dict[str, Any] = {"name": name, "external": external}
    if external:
        extra = sorted(set(value) - {"name", "external"})
        if extra:
            raise ComposeError("an external %s is only named, not configured: drop %s" % (kind[:-1], extra[0]),
                               path + (extra[0],))
    if value.get("driver") is not None:
        if not isinstance(value["driver"], str):
            raise ComposeError("expected a string, got a %s" % type_name(value["driver"]), path + ("driver",))
        result["driver"] = value["driver"]
    for mapping in ("driver_opts", "labels"):
        if value.get(mapping) is not None:
            result[mapping] = key_value_map(value[mapping], path + (mapping,), bare="")
    for flag in ("internal", "attachable", "enable_ipv6"):
        if flag in allowed and value.get(flag) is not None:
            result[flag] = as_bool(value[flag], path + (flag,))
    if "ipam" in allowed and value.get("ipam") is not None:
        result["ipam"] = _ipam(value["ipam"], path + ("ipam",))
    return result


def _section(document: Dict[str, Any], kind: str) -> Dict[str, Any]:
    section = document.get(kind) or {}
    if not isinstance(section, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(section), (kind,))
    return {str(key): value for key, value in section.items() if not str(key).startswith("x-")}


def normalise_networks(document: Dict[str, Any], project: str, uses_default: bool) -> Dict[str, Any]:
    """Top-level networks; ``default`` added when a service uses it and the file does not declare it."""
    section = _section(document, "networks")
    if uses_default and "default" not in section:
        section["default"] = None
    return {key: _resource("networks", key, value, project, NETWORK_KEYS) for key, value in section.items()}


def normalise_top_volumes(document: Dict[str, Any], project: str) -> Dict[str, Any]:
    """Top-level volumes."""
    return {key: _resource("volumes", key, value, project, VOLUME_KEYS)
            for key, value in _section(document, "volumes").items()}
