"""The promise on targets: Python 3.8+ and nothing else. The oldest and the newest CPython this machine has
(under pyenv) run engine_info, daemon_config (check mode), container, image and mirror_probe on the local
connection against the real dockerd and the lab's hub, and each result is checked against the real system."""

import glob
import json
import os
import subprocess

import pytest
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

BUSYBOX = "dockhand-lab/busybox:latest"
VERSIONS = ("3.8", "3.13")


def interpreter(version):
    """The pyenv CPython X.Y interpreter; the test machine's image carries 3.8 to 3.13."""
    root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, text=True, check=False).stdout.strip() \
        if os.path.exists(os.path.expanduser("~/.pyenv")) else ""
    found = sorted(glob.glob(os.path.join(root or os.path.expanduser("~/.pyenv"), "versions", version + ".*",
                                          "bin", "python" + version)))
    if not found:
        pytest.fail("CPython %s is not installed under pyenv on this machine; the target tests need it" % version)
    return found[-1]


@pytest.mark.parametrize("version", VERSIONS)
def test_modules_on_the_oldest_and_newest_target_python(version, run_playbook, docker_cli, lab, tmp_path):
    python = interpreter(version)
    name = "dh-py%s-probe" % version.replace(".", "")
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text('{"debug": false}\n')
    hub = "http://" + lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors_local"]["hub"].split("://")[1]
    tasks = [
        {"name": "python", "ansible.builtin.command": {"argv": ["{{ ansible_python_interpreter }}", "--version"]},
         "changed_when": False, "register": "python"},
        {"name": "engine", "dockhand.runtime.engine_info": {}},
        {"name": "daemon", "check_mode": True, "dockhand.runtime.daemon_config": {
            "path": str(daemon_json), "settings": {"registry-mirrors": [hub]}, "validate_with_dockerd": False,
            "apply": "none"}},
        {"name": "image", "dockhand.runtime.image": {"name": BUSYBOX, "pull": "missing"}},
        {"name": "container", "dockhand.runtime.container": {
            "name": name, "image": BUSYBOX, "command": ["sleep", "600"], "memory": "32m"}},
        {"name": "container again", "dockhand.runtime.container": {
            "name": name, "image": BUSYBOX, "command": ["sleep", "600"], "memory": "32m"}},
        {"name": "probe", "dockhand.runtime.mirror_probe": {"mirrors": [hub], "timeout": 10}},
    ]
    try:
        run = run_playbook(local_play(tasks, vars={"ansible_python_interpreter": python}))
        assert run.rc == 0, str(run)
        assert_no_traceback(run)
        assert run.result("python")["stdout"].startswith("Python %s." % version)
        assert run.result("engine")["engine"]["version"] == json.loads(
            docker_cli("version", "--format", "{{json .Server.Version}}"))
        daemon = run.result("daemon")
        assert daemon["changed"] is True and daemon["changed_keys"] == ["registry-mirrors"]
        assert daemon_json.read_text() == '{"debug": false}\n'  # check mode wrote nothing
        assert run.result("image")["changed"] is False
        created = run.result("container")
        assert created["changed"] is True
        assert run.result("container again")["changed"] is False
        inspected = json.loads(docker_cli("inspect", name))[0]
        assert inspected["Id"] == created["container"]["id"]
        assert inspected["State"]["Running"] is True and inspected["HostConfig"]["Memory"] == 32 * 1024 * 1024
        probe = run.result("probe")
        assert probe["results"][0]["ok"] is True and probe["results"][0]["status"] == 200
    finally:
        subprocess.run(["docker", "rm", "--force", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
