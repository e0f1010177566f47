# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merging compose documents (several files, and a service over the one it extends) by compose's rules.

Mappings merge recursively; sequences append, leaving out an item already there; ``command``,
``entrypoint`` and ``healthcheck.test`` are replaced; ``ports`` merge by (host_ip, target,
published, protocol), ``volumes`` and ``devices`` by target; ``environment``, ``labels``,
``sysctls``, ``annotations``, ``extra_hosts``, ``depends_on`` and ``networks`` by key (list forms
converted first); ``logging`` options merge only while the driver stays the same.
``key: !reset ...`` removes the key, ``key: !override value`` replaces it without merging.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.forms import (
    Path,
    depends_on_map,
    extra_hosts_list,
    key_value_map,
    networks_map,
    string_list,
)
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import Override, Reset
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.ports import port_entries
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.volumes import volume_target

REPLACED = ("command", "entrypoint")
# Keys whose string form means a list of one.
STRING_OR_LIST = ("dns", "dns_search", "tmpfs", "env_file", "cap_add", "cap_drop", "profiles")


def strip_markers(value: Any) -> Any:
    """A value with ``!override`` unwrapped and ``!reset`` keys removed (what is left after merging)."""
    if isinstance(value, Override):
        return strip_markers(value.value)
    if isinstance(value, dict):
        return {key: strip_markers(item) for key, item in value.items() if not isinstance(item, Reset)}
    if isinstance(value, list):
        return [strip_markers(item) for item in value if not isinstance(item, Reset)]
    return value


def _append_unique(base: List[Any], over: List[Any]) -> List[Any]:
    result = list(base)
    for item in over:
        if item not in result:
            result.append(item)
    return result


def _merge_by(key: Callable[[Any, Path], Any]):
    """A list merge where an item of the override replaces the base's item with the same key."""

    def merge(base: List[Any], over: List[Any], path: Path) -> List[Any]:
        result = list(base)
        keys = [key(item, path) for item in result]
        for item in over:
            item_key = key(item, path)
            if item_key is not None and item_key in keys:
                result[keys.index(item_key)] = item
            elif item not in result:
                result.append(item)
                keys.append(item_key)
        return result
    return merge


def _port_key(item: Any, path: Path):
    try:
        return [tuple(sorted(entry.items())) for entry in port_entries(item, path)]
    except ComposeError:
        return None  # normalise names the bad port later


def _device_key(item: Any, _path: Path) -> Optional[str]:
    if isinstance(item, dict):
        return item.get("target")
    if isinstance(item, str):
        parts = item.split(":")
        return parts[1] if len(parts) > 1 else parts[0]
    return None


def _as_list(value: Any, path: Path) -> List[Any]:
    if isinstance(value, list):
        return value
    return string_list(value, path)


def _merge_mapping_of(convert: Callable[[Any, Path], Dict[str, Any]]):
    def merge(base: Any, over: Any, path: Path) -> Dict[str, Any]:
        return merge_values(convert(base, path), convert(over, path), path, None)
    return merge


def _merge_extra_hosts(base: Any, over: Any, path: Path) -> List[str]:
    base_list, over_list = extra_hosts_list(base, path), extra_hosts_list(strip_markers(over), path)
    replaced = {entry.partition(":")[0] for entry in over_list}
    return [entry for entry in base_list if entry.partition(":")[0] not in replaced] + over_list


def _merge_logging(base: Any, over: Any, path: Path) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return strip_markers(over)
    if over.get("driver") not in (None, base.get("driver")):
        return strip_markers(over)
    return merge_values(base, over, path, None)


def _merge_healthcheck(base: Any, over: Any, path: Path) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return strip_markers(over)
    result = merge_values({k: v for k, v in base.items() if k != "test" or "test" not in over},
                          {k: v for k, v in over.items() if k != "test"}, path, None)
    if "test" in over and not isinstance(over["test"], Reset):
        result["test"] = strip_markers(over["test"])
    return result


def _listwise(merge_lists):
    def merge(base: Any, over: Any, path: Path) -> List[Any]:
        return merge_lists(_as_list(base, path), _as_list(strip_markers(over), path), path)
    return merge


SERVICE_RULES: Dict[str, Callable[[Any, Any, Path], Any]] = {
    "environment": _merge_mapping_of(key_value_map),
    "labels": _merge_mapping_of(lambda value, path: key_value_map(value, path, bare="")),
    "annotations": _merge_mapping_of(lambda value, path: key_value_map(value, path, bare="")),
    "sysctls": _merge_mapping_of(key_value_map),
    "depends_on": _merge_mapping_of(depends_on_map),
    "networks": _merge_mapping_of(networks_map),
    "extra_hosts": _merge_extra_hosts,
    "logging": _merge_logging,
    "healthcheck": _merge_healthcheck,
    "ports": _listwise(_merge_by(_port_key)),
    "volumes": _listwise(_merge_by(lambda item, _path: volume_target(item))),
    "devices": _listwise(_merge_by(_device_key)),
    "secrets": _listwise(_merge_by(lambda item, _path: item.get("target", item.get("source"))
                                   if isinstance(item, dict) else item)),
    "configs": _listwise(_merge_by(lambda item, _path: item.get("target", item.get("source"))
                                   if isinstance(item, dict) else item)),
}
for _name in STRING_OR_LIST:
    SERVICE_RULES[_name] = _listwise(lambda base, over, _path: _append_unique(base, over))


def merge_values(base: Any, over: Any, path: Path, rule: Optional[Callable[[Any, Any, Path], Any]]) -> Any:
    """``over`` merged onto ``base``; ``rule`` is the key's own merge, if it has one."""
    if isinstance(over, Override):
        return strip_markers(over.value)
    if rule is not None and base is not None and over is not None:
        return rule(base, over, path)
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for key, item in over.items():
            if isinstance(item, Reset):
                result.pop(key, None)
            elif key in result:
                result[key] = merge_values(result[key], item, path + (key,), None)
            else:
                result[key] = strip_markers(item)
        return result
    if isinstance(base, list) and isinstance(over, list):
        return _append_unique(base, strip_markers(over))
    return strip_markers(over)


def merge_service(base: Dict[str, Any], over: Dict[str, Any], path: Path) -> Dict[str, Any]:
    """A service definition merged onto another (a later file's, or the extending service onto its base)."""
    result = dict(base)
    for key, item in over.items():
        if isinstance(item, Reset):
            result.pop(key, None)
        elif key in REPLACED or key not in result:
            result[key] = strip_markers(item)
        else:
            result[key] = merge_values(result[key], item, path + (key,), SERVICE_RULES.get(key))
    return result


def merge_documents(base: Dict[str, Any], over: Dict[str, Any]) -> Dict[str, Any]:
    """A later compose file merged onto the earlier ones."""
    result = dict(base)
    for key, item in over.items():
        if isinstance(item, Reset):
            result.pop(key, None)
        elif key == "services" and isinstance(item, dict) and isinstance(result.get(key), dict):
            services = dict(result[key])
            for name, service in item.items():
                if isinstance(service, Reset):
                    services.pop(name, None)
                elif isinstance(services.get(name), dict) and isinstance(service, dict):
                    services[name] = merge_service(services[name], service, ("services", name))
                else:
                    services[name] = strip_markers(service)
            result[key] = services
        elif key in result:
            result[key] = merge_values(result[key], item, (key,), None)
        else:
            result[key] = strip_markers(item)
    return result
