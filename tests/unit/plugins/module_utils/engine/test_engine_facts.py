"""Engine facts from /version and /info documents as dockerd and Podman send them."""

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.facts import (
    ENGINE_FACT_KEYS,
    insecure_registries_of,
    not_running,
    summarize_engine,
)

DOCKER_VERSION = {"Version": "20.10.24+dfsg1", "ApiVersion": "1.41", "MinAPIVersion": "1.12",
                  "Os": "linux", "Arch": "amd64", "KernelVersion": "6.1.0",
                  "Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1"}]}
DOCKER_INFO = {
    "Containers": 3, "ContainersRunning": 2, "ContainersPaused": 0, "ContainersStopped": 1, "Images": 5,
    "Driver": "overlay2", "CgroupDriver": "cgroupfs", "CgroupVersion": "1", "KernelVersion": "6.1.0",
    "OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "Architecture": "x86_64",
    "DockerRootDir": "/var/lib/docker", "LiveRestoreEnabled": True, "DefaultRuntime": "runc",
    "RegistryConfig": {
        "InsecureRegistryCIDRs": ["127.0.0.0/8"],
        "IndexConfigs": {
            "docker.io": {"Name": "docker.io", "Secure": True, "Official": True},
            "registry.lan:5000": {"Name": "registry.lan:5000", "Secure": False},
        },
        "Mirrors": ["http://127.0.0.1:5000/"],
    },
}
PODMAN_VERSION = {"Version": "4.3.1", "ApiVersion": "1.41", "MinAPIVersion": "1.24",
                  "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]}


def test_docker_facts():
    facts = summarize_engine(DOCKER_VERSION, DOCKER_INFO, "1.41")
    assert facts["running"] is True and facts["error"] is None
    assert facts["product"] == "docker"
    assert facts["cgroup_version"] == 1 and facts["cgroup_driver"] == "cgroupfs"
    assert facts["registry_mirrors"] == ["http://127.0.0.1:5000/"]
    assert facts["insecure_registries"] == ["127.0.0.0/8", "registry.lan:5000"]
    assert facts["containers_running"] == 2 and facts["containers_total"] == 3
    assert facts["live_restore"] is True
    assert set(ENGINE_FACT_KEYS) <= set(facts)


def test_podman_is_recognised_and_missing_fields_are_none():
    facts = summarize_engine(PODMAN_VERSION, {}, "1.41")
    assert facts["product"] == "podman"
    assert facts["cgroup_version"] is None and facts["registry_mirrors"] == []


def test_insecure_registries_without_config():
    assert insecure_registries_of({}) == []


def test_not_running_keeps_every_key():
    exc = EngineError("the socket /x does not exist", endpoint="unix:///x", kind="unreachable")
    facts = not_running(exc, "unix:///x")
    assert facts["running"] is False and facts["error_kind"] == "unreachable"
    assert "/x" in facts["error"]
    assert set(ENGINE_FACT_KEYS) <= set(facts)
