"""The same client against Podman's Docker-compatible service (podman system service)."""

import io
import os
import resource
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest
from conftest import local_play

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    EngineClient,
    EngineError,
    demux_docker_stream,
)

pytestmark = pytest.mark.podman


@pytest.fixture(scope="module")
def podman_socket(tmp_path_factory):
    if not shutil.which("podman"):
        pytest.fail("podman is needed: tests/lab/lab setup installs it")
    work = tmp_path_factory.mktemp("podman")
    # podman refuses a runroot longer than 50 characters, which a pytest-xdist worker's tmp_path is.
    runroot = tempfile.mkdtemp(prefix="dh-podman-")
    sock = str(work / "podman.sock")
    proc = subprocess.Popen(
        ["podman", "--root", str(work / "root"), "--runroot", runroot, "--cgroup-manager", "cgroupfs",
         "--storage-driver", "vfs",
         "--events-backend", "file", "system", "service", "--time", "0", "unix://" + sock],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not os.path.exists(sock) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not os.path.exists(sock):
        proc.kill()
        pytest.fail("podman system service did not start: %s" % proc.stderr.read().decode())
    yield sock
    proc.terminate()
    proc.wait(20)
    shutil.rmtree(runroot, ignore_errors=True)


def busybox_image_tar(docker_cli):
    """The lab's busybox workload image, as `docker save` writes it."""
    return subprocess.run(["docker", "save", "dockhand-lab/busybox:latest"], check=True,
                          stdout=subprocess.PIPE).stdout


def lowered_ulimits():
    """nofile and nproc limits below this process's own.

    Podman sets both for every container, and on this kind of machine (no
    CAP_SYS_RESOURCE in the bounding set) runc may only lower them.
    """
    limits = []
    for name, which, wanted in (("nofile", resource.RLIMIT_NOFILE, 1024), ("nproc", resource.RLIMIT_NPROC, 4096)):
        value = min(wanted, resource.getrlimit(which)[1])
        limits.append({"Name": name, "Soft": value, "Hard": value})
    return limits


def test_version_negotiation_and_info(podman_socket):
    client = EngineClient("unix://" + podman_socket, timeout=30)
    version = client.version_info()
    assert any("Podman" in c.get("Name", "") for c in version.get("Components", []))
    assert client.api_version == min(version["ApiVersion"], "1.45", key=lambda v: tuple(map(int, v.split("."))))
    info = client.info()
    assert info["Driver"]


def test_load_create_start_logs_remove(podman_socket, docker_cli):
    client = EngineClient("unix://" + podman_socket, timeout=60)
    loaded = list(client.stream("POST", "/images/load", body=busybox_image_tar(docker_cli),
                                headers={"Content-Type": "application/x-tar"}))
    messages = "".join(str(item.get("stream", "")) for item in loaded if isinstance(item, dict))
    assert "Loaded image" in messages, loaded
    assert client.inspect("image", "dockhand-lab/busybox:latest") is not None
    created = client.post("/containers/create", params={"name": "dockhand-podman-probe"},
                          body={"Image": "dockhand-lab/busybox:latest", "Cmd": ["sh", "-c", "echo out; echo err >&2"],
                                "HostConfig": {"Ulimits": lowered_ulimits()}})
    try:
        client.post("/containers/%s/start" % created["Id"])
        client.post("/containers/%s/wait" % created["Id"], timeout=30)
        inspected = client.inspect("container", "dockhand-podman-probe")
        assert inspected["Id"] == created["Id"] and inspected["State"]["ExitCode"] == 0
        raw = client.raw("GET", "/containers/%s/logs" % created["Id"], params={"stdout": True, "stderr": True})
        out, err = demux_docker_stream(raw)
        assert out == b"out\n" and err == b"err\n"
    finally:
        client.delete("/containers/%s" % created["Id"], params={"force": True})
    assert client.inspect("container", "dockhand-podman-probe") is None


def test_missing_object_is_a_404_engine_error(podman_socket):
    client = EngineClient("unix://" + podman_socket)
    with pytest.raises(EngineError) as caught:
        client.get("/containers/no-such-container/json")
    assert caught.value.status == 404 and podman_socket in str(caught.value)


def test_engine_info_reports_podman(run_playbook, podman_socket):
    run = run_playbook(local_play([{"name": "info", "register": "facts",
                                    "dockhand.runtime.engine_info": {"docker_host": "unix://" + podman_socket}}]))
    assert run.rc == 0, str(run)
    engine = run.result("info")["engine"]
    assert engine["running"] is True and engine["product"] == "podman"
    assert engine["version"].startswith(tuple("0123456789"))


def test_tar_helper_is_a_real_image(docker_cli):
    with tarfile.open(fileobj=io.BytesIO(busybox_image_tar(docker_cli))) as tar:
        assert "manifest.json" in tar.getnames()
