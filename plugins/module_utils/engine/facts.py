# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine facts: /version and /info reduced to the fields people act on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError

ENGINE_FACT_KEYS = (
    "product", "version", "api_version", "min_api_version", "client_api_version", "os", "kernel",
    "architecture", "storage_driver", "cgroup_driver", "cgroup_version", "docker_root_dir",
    "registry_mirrors", "insecure_registries", "live_restore", "default_runtime",
    "containers_total", "containers_running", "containers_paused", "containers_stopped", "images",
)


def product_of(version):
    """'podman' when /version names a Podman component, else 'docker'."""
    for component in version.get("Components") or []:
        if "podman" in str(component.get("Name", "")).lower():
            return "podman"
    return "docker"


def insecure_registries_of(registry_config):
    """CIDRs plus registry names that the engine reaches without TLS verification."""
    found = list(registry_config.get("InsecureRegistryCIDRs") or [])
    for name, index in sorted((registry_config.get("IndexConfigs") or {}).items()):
        if isinstance(index, dict) and index.get("Secure") is False and name not in found:
            found.append(name)
    return found


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def summarize_engine(version, info, client_api_version=None):
    """Engine facts from the /version and /info documents (pure)."""
    registry = info.get("RegistryConfig") or {}
    return {
        "running": True,
        "error": None,
        "error_kind": None,
        "product": product_of(version),
        "version": version.get("Version") or info.get("ServerVersion"),
        "api_version": version.get("ApiVersion"),
        "min_api_version": version.get("MinAPIVersion"),
        "client_api_version": client_api_version,
        "os": info.get("OperatingSystem") or version.get("Os"),
        "kernel": info.get("KernelVersion") or version.get("KernelVersion"),
        "architecture": info.get("Architecture") or version.get("Arch"),
        "storage_driver": info.get("Driver"),
        "cgroup_driver": info.get("CgroupDriver"),
        "cgroup_version": _int_or_none(info.get("CgroupVersion")),
        "docker_root_dir": info.get("DockerRootDir"),
        "registry_mirrors": list(registry.get("Mirrors") or []),
        "insecure_registries": insecure_registries_of(registry),
        "live_restore": bool(info.get("LiveRestoreEnabled")),
        "default_runtime": info.get("DefaultRuntime"),
        "containers_total": _int_or_none(info.get("Containers")),
        "containers_running": _int_or_none(info.get("ContainersRunning")),
        "containers_paused": _int_or_none(info.get("ContainersPaused")),
        "containers_stopped": _int_or_none(info.get("ContainersStopped")),
        "images": _int_or_none(info.get("Images")),
    }


def not_running(error, endpoint):
    """Engine facts for an engine that could not be asked."""
    facts = dict.fromkeys(ENGINE_FACT_KEYS)
    facts.update({
        "running": False,
        "error": str(error),
        "error_kind": getattr(error, "kind", None),
        "endpoint": endpoint,
        "registry_mirrors": [],
        "insecure_registries": [],
    })
    return facts


def engine_facts(client):
    """Ask the engine; an engine that cannot be reached gives running: false and the reason."""
    try:
        version = client.version_info()
        api_version = client.api_version
        info = client.info() or {}
    except EngineError as exc:
        return not_running(exc, client.endpoint_url)
    facts = summarize_engine(version, info, api_version)
    facts["endpoint"] = client.endpoint_url
    return facts
