# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One service of the merged project -> the model's canonical form (the contract's ``services.<name>``)."""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.forms import (
    Path,
    as_bool,
    as_int,
    depends_on_map,
    extra_hosts_list,
    key_value_map,
    networks_map,
    scalar_text,
    string_list,
)
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import type_name
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.ports import normalise_expose, normalise_ports
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.volumes import normalise_volumes

CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
PULL_POLICIES = ("always", "missing", "if_not_present", "never")
DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+")
# Keys left out of the model: resolved here (extends, profiles, env_file, scale) or extensions.
CONSUMED = ("extends", "profiles", "env_file", "scale")
# Pass-through keys that compose casts after interpolation ("${RO:-false}" -> false).
BOOLEAN_KEYS = ("read_only", "privileged", "init", "tty", "stdin_open", "oom_kill_disable")
INTEGER_KEYS = ("cpu_shares", "pids_limit", "mem_swappiness", "oom_score_adj", "cpu_count", "cpu_percent")
_HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period", "disable")
# Reads an env_file: (absolute path, required, key path) -> its variables, or None when optional and missing.
ReadEnvFile = Callable[[str, bool, Path], Optional[Dict[str, str]]]


@dataclass
class Context:
    """What normalising a service needs beyond the service itself."""

    working_dir: Optional[str]
    environment: Mapping[str, str]
    read_env_file: ReadEnvFile
    networks: List[str] = field(default_factory=list)
    volumes: List[str] = field(default_factory=list)


def _command(value: Any, path: Path) -> Optional[List[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ComposeError("cannot split %r into arguments: %s" % (value, exc), path) from None
    if isinstance(value, list):
        return [scalar_text(item, path + (index,)) or "" for index, item in enumerate(value)]
    raise ComposeError("expected a string or a list of strings, got a %s" % type_name(value), path)


def _env_file_entries(value: Any, path: Path):
    """(path, required) of each env_file entry."""
    if isinstance(value, str):
        return [(value, True, path)]
    if not isinstance(value, list):
        raise ComposeError("expected a path or a list of paths, got a %s" % type_name(value), path)
    entries = []
    for index, item in enumerate(value):
        where = path + (index,)
        if isinstance(item, str):
            entries.append((item, True, where))
        elif isinstance(item, dict):
            unknown = sorted(set(item) - {"path", "required", "format"})
            if unknown:
                raise ComposeError("key %s is not supported" % unknown[0], where + (unknown[0],))
            if item.get("format") not in (None, "raw"):
                raise ComposeError("format %r is not supported (only the .env format)" % item["format"],
                                   where + ("format",))
            if item.get("format") == "raw":
                raise ComposeError("format raw is not supported (only the .env format)", where + ("format",))
            if not isinstance(item.get("path"), str):
                raise ComposeError("an env_file entry needs path", where)
            entries.append((item["path"], as_bool(item.get("required", True), where + ("required",)), where))
        else:
            raise ComposeError("expected a path or a mapping, got a %s" % type_name(item), where)
    return entries


def _environment(service: Dict[str, Any], path: Path, context: Context) -> Dict[str, str]:
    result: Dict[str, str] = {}
    if service.get("env_file") is not None:
        for env_path, required, where in _env_file_entries(service["env_file"], path + ("env_file",)):
            full = env_path
            if not env_path.startswith("/"):
                if context.working_dir is None:
                    raise ComposeError("%r is relative, and an inline definition has no project directory: give "
                                       "project_src, or write an absolute path" % env_path, where)
                full = posixpath.normpath(posixpath.join(context.working_dir, env_path))
            variables = context.read_env_file(full, required, where)
            result.update(variables or {})
    for key, value in key_value_map(service.get("environment"), path + ("environment",)).items():
        resolved = context.environment.get(key) if value is None else value
        if resolved is not None:
            result[key] = resolved
    return result


def _networks(service: Dict[str, Any], path: Path, context: Context) -> Dict[str, Dict[str, Any]]:
    where = path + ("networks",)
    if "network_mode" in service:
        if service.get("networks"):
            raise ComposeError("network_mode and networks exclude each other: keep one", where)
        return {}
    given = networks_map(service.get("networks"), where) or {"default": None}
    result = {}
    for key, value in given.items():
        if key != "default" and key not in context.networks:
            raise ComposeError("network %r is not declared in the top-level networks" % key, where + (key,))
        value = value or {}  # noqa: PLW2901 - null means no options
        if not isinstance(value, dict):
            raise ComposeError("expected a mapping, got a %s" % type_name(value), where + (key,))
        unknown = sorted(set(value) - {"aliases", "ipv4_address", "ipv6_address"})
        if unknown:
            raise ComposeError("key %s is not supported" % unknown[0], where + (key, unknown[0]))
        addresses = {}
        for name in ("ipv4_address", "ipv6_address"):
            address = value.get(name)
            if address is not None and (not isinstance(address, str) or not re.fullmatch(r"[0-9A-Fa-f:.]+", address)):
                raise ComposeError("%r is not an IP address" % (address,), where + (key, name))
            addresses[name] = address
        result[key] = {"aliases": string_list(value.get("aliases"), where + (key, "aliases")), **addresses}
    return result


def _depends_on(value: Any, path: Path) -> Dict[str, Dict[str, Any]]:
    result = {}
    for name, options in depends_on_map(value, path).items():
        where = path + (name,)
        options = options or {}  # noqa: PLW2901 - null means the defaults
        if not isinstance(options, dict):
            raise ComposeError("expected a mapping, got a %s" % type_name(options), where)
        unknown = sorted(set(options) - {"condition", "restart", "required"})
        if unknown:
            raise ComposeError("key %s is not supported" % unknown[0], where + (unknown[0],))
        condition = options.get("condition", "service_started")
        if condition not in CONDITIONS:
            raise ComposeError("condition %r is not one of %s" % (condition, ", ".join(CONDITIONS)),
                               where + ("condition",))
        result[name] = {"condition": condition,
                        "restart": as_bool(options.get("restart", False), where + ("restart",)),
                        "required": as_bool(options.get("required", True), where + ("required",))}
    return result


def _duration(value: Any, path: Path) -> str:
    if isinstance(value, str) and DURATION.fullmatch(value.strip()):
        return value.strip()
    raise ComposeError("%r is not a duration: write e.g. 30s, 1m30s or 500ms" % (value,), path)


def _healthcheck(value: Any, path: Path) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(value), path)
    unknown = sorted(set(value) - set(_HEALTHCHECK_KEYS))
    if unknown:
        raise ComposeError("key %s is not supported" % unknown[0], path + (unknown[0],))
    result: Dict[str, Any] = {}
    if "disable" in value:
        result["disable"] = as_bool(value["disable"], path + ("disable",))
    test = value.get("test")
    if isinstance(test, str):
        result["test"] = ["CMD-SHELL", test]
    elif isinstance(test, list) and test:
        result["test"] = [scalar_text(item, path + ("test", index)) or "" for index, item in enumerate(test)]
        if result["test"][0] not in ("NONE", "CMD", "CMD-SHELL"):
            raise ComposeError("a test list starts with CMD, CMD-SHELL or NONE", path + ("test", 0))
    elif test is not None or not result.get("disable"):
        raise ComposeError("expected a command string or a list starting with CMD, CMD-SHELL or NONE, got %s"
                           % type_name(test), path + ("test",))
    for name in ("interval", "timeout", "start_period"):
        if value.get(name) is not None:
            result[name] = _duration(value[name], path + (name,))
    if value.get("retries") is not None:
        result["retries"] = as_int(value["retries"], path + ("retries",), minimum=0)
    return result


def _resources(value: Any, path: Path, keys) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(value), path)
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise ComposeError("key %s is not supported" % unknown[0], path + (unknown[0],))
    result: Dict[str, Any] = {}
    if value.get("memory") is not None:
        memory = value["memory"]
        if isinstance(memory, bool) or not isinstance(memory, (str, int)):
            raise ComposeError("expected a size such as 512m, got a %s" % type_name(memory), path + ("memory",))
        result["memory"] = memory
    if value.get("cpus") is not None:
        cpus = value["cpus"]
        if isinstance(cpus, bool) or not isinstance(cpus, (str, int, float)) or not NUMBER.fullmatch(str(cpus).strip()):
            raise ComposeError("expected a number of CPUs such as 0.5, got a %s" % type_name(cpus), path + ("cpus",))
        result["cpus"] = float(cpus) if isinstance(cpus, int) else cpus
    if value.get("pids") is not None:
        result["pids"] = as_int(value["pids"], path + ("pids",))
    return result


def _deploy(service: Dict[str, Any], path: Path) -> Optional[Dict[str, Any]]:
    deploy = service.get("deploy")
    scale = service.get("scale")
    if deploy is None and scale is None:
        return None
    deploy = {} if deploy is None else deploy
    where = path + ("deploy",)
    if not isinstance(deploy, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(deploy), where)
    unknown = sorted(set(deploy) - {"replicas", "resources"})
    if unknown:
        raise ComposeError("key %s is not supported" % unknown[0], where + (unknown[0],))
    result: Dict[str, Any] = {}
    if deploy.get("replicas") is not None:
        result["replicas"] = as_int(deploy["replicas"], where + ("replicas",), minimum=0)
    if scale is not None:
        replicas = as_int(scale, path + ("scale",), minimum=0)
        if result.get("replicas", replicas) != replicas:
            raise ComposeError("scale %d and deploy.replicas %d differ: keep one" % (replicas, result["replicas"]),
                               path + ("scale",))
        result["replicas"] = replicas
    resources = deploy.get("resources")
    if resources is not None:
        if not isinstance(resources, dict):
            raise ComposeError("expected a mapping, got a %s" % type_name(resources), where + ("resources",))
        unknown = sorted(set(resources) - {"limits", "reservations"})
        if unknown:
            raise ComposeError("key %s is not supported" % unknown[0], where + ("resources", unknown[0]))
        result["resources"] = {}
        if resources.get("limits") is not None:
            result["resources"]["limits"] = _resources(resources["limits"], where + ("resources", "limits"),
                                                       ("memory", "cpus", "pids"))
        if resources.get("reservations") is not None:
            result["resources"]["reservations"] = _resources(
                resources["reservations"], where + ("resources", "reservations"), ("memory", "cpus"))
    return result


def _ulimits(value: Any, path: Path) -> Dict[str, Dict[str, int]]:
    if not isinstance(value, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(value), path)
    result = {}
    for name, limit in value.items():
        where = path + (str(name),)
        if isinstance(limit, dict):
            unknown = sorted(set(limit) - {"soft", "hard"})
            if unknown or "soft" not in limit or "hard" not in limit:
                raise ComposeError("expected soft and hard (and nothing else)", where)
            soft, hard = as_int(limit["soft"], where + ("soft",)), as_int(limit["hard"], where + ("hard",))
        else:
            soft = hard = as_int(limit, where)
        if soft > hard >= 0:
            raise ComposeError("soft %d is above hard %d" % (soft, hard), where)
        result[str(name)] = {"soft": soft, "hard": hard}
    return result


def _logging(value: Any, path: Path) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(value), path)
    unknown = sorted(set(value) - {"driver", "options"})
    if unknown:
        raise ComposeError("key %s is not supported" % unknown[0], path + (unknown[0],))
    result = {}
    if value.get("driver") is not None:
        if not isinstance(value["driver"], str):
            raise ComposeError("expected a string, got a %s" % type_name(value["driver"]), path + ("driver",))
        result["driver"] = value["driver"]
    if value.get("options") is not None:
        if not isinstance(value["options"], dict):
            raise ComposeError("expected a mapping, got a %s" % type_name(value["options"]), path + ("options",))
        result["options"] = {str(key): scalar_text(item, path + ("options", str(key))) or ""
                             for key, item in value["options"].items()}
    return result


def normalise_service(name: str, service: Any, context: Context) -> Dict[str, Any]:
    """The canonical form of one service; every error names its key path."""
    path: Path = ("services", name)
    if not isinstance(service, dict):
        raise ComposeError("expected a mapping, got a %s" % type_name(service), path)
    if "image" not in service and "build" not in service:
        raise ComposeError("a service needs image", path)
    result: Dict[str, Any] = {}
    for key, value in service.items():
        if key in CONSUMED or str(key).startswith("x-") or key in ("deploy",):
            continue
        where = path + (key,)
        if key == "image":
            if not isinstance(value, str) or not value or any(char.isspace() for char in value):
                raise ComposeError("expected an image reference, got %r" % (value,), where)
            result[key] = value
        elif key in ("command", "entrypoint"):
            result[key] = _command(value, where)
        elif key == "environment":
            continue
        elif key == "ports":
            result[key] = normalise_ports(value, where)
        elif key == "expose":
            result[key] = normalise_expose(value, where)
        elif key == "volumes":
            result[key] = normalise_volumes(value, where, context.working_dir)
            for index, mount in enumerate(result[key]):
                if mount["type"] == "volume" and mount["source"] and mount["source"] not in context.volumes:
                    raise ComposeError("volume %r is not declared in the top-level volumes" % mount["source"],
                                       where + (index,))
        elif key == "networks":
            continue
        elif key == "depends_on":
            result[key] = _depends_on(value, where)
        elif key == "healthcheck":
            result[key] = _healthcheck(value, where)
        elif key in ("labels", "sysctls"):
            result[key] = key_value_map(value, where, bare="" if key == "labels" else None)
            if key == "sysctls" and None in result[key].values():
                raise ComposeError("a sysctl needs a value (NAME=VALUE)", where)
        elif key == "ulimits":
            result[key] = _ulimits(value, where)
        elif key == "extra_hosts":
            result[key] = extra_hosts_list(value, where)
        elif key in ("dns", "tmpfs"):
            result[key] = string_list(value, where)
        elif key == "logging":
            result[key] = _logging(value, where)
        elif key == "cpus":
            if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not NUMBER.fullmatch(
                    str(value).strip()):
                raise ComposeError("expected a number of CPUs such as 0.5, got %r" % (value,), where)
            result[key] = float(value)
        elif key == "pull_policy":
            if not isinstance(value, str) or value not in PULL_POLICIES:
                raise ComposeError("expected one of %s, got %r" % (", ".join(PULL_POLICIES), value), where)
            result[key] = value
        elif key in BOOLEAN_KEYS:
            result[key] = as_bool(value, where)
        elif key in INTEGER_KEYS:
            result[key] = as_int(value, where)
        else:
            result[key] = value
    result["environment"] = _environment(service, path, context)
    networks = _networks(service, path, context)
    if networks:
        result["networks"] = networks
    deploy = _deploy(service, path)
    if deploy is not None:
        result["deploy"] = deploy
    return result
