"""Fixtures that run real ansible-playbook against real daemons and the lab's hosts."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml
from paths import COLLECTIONS_DIR, LAB, LAB_HOSTS, LAB_INVENTORY

INTEGRATION_DIR = os.path.dirname(os.path.abspath(__file__))
BIN_DIR = os.path.dirname(sys.executable)


def tool(name):
    """A command from the test virtualenv, or from PATH."""
    candidate = os.path.join(BIN_DIR, name)
    return candidate if os.path.exists(candidate) else shutil.which(name)


class PlaybookRun:
    """The outcome of one ansible-playbook run: rc, output and every task result."""

    def __init__(self, rc, output, records, seconds):
        self.rc = rc
        self.output = output
        self.records = records
        self.seconds = seconds

    def results(self, task, host=None):
        found = [r for r in self.records
                 if (r["task"] == task or r["task"].endswith(" : " + task)) and (host is None or r["host"] == host)]
        assert found, "task %r%s did not run; output:\n%s" % (
            task, " on %s" % host if host else "", self.output[-3000:])
        return sorted(found, key=lambda record: record["status"] == "skipped")  # where it ran, first

    def result(self, task, host=None):
        return self.results(task, host)[0]["result"]

    def status(self, task, host=None):
        return self.results(task, host)[0]["status"]

    def __repr__(self):
        return "PlaybookRun(rc=%s)" % self.rc

    def __str__(self):
        return "ansible-playbook exited %s:\n%s" % (self.rc, self.output[-4000:])


def ansible_env(record_file):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR,
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(INTEGRATION_DIR, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "dockhand_record",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "DOCKHAND_RECORD_FILE": record_file,
    })
    env.pop("DOCKER_HOST", None)
    # Modules on localhost inherit this environment; a target host's Python writes bytecode (and so the
    # collection's compiled-import cache, plugins/module_utils/host/bytecode.py, is used as on a user's host).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def playbook_runner(directory):
    """A function that runs plays (a list of dicts) with ansible-playbook in ``directory``."""
    tmp_path = directory
    counter = [0]

    def run(plays, inventory=None, extra_vars=None, check=False, diff=False, limit=None, timeout=900,
            vars_files=()):
        counter[0] += 1
        if isinstance(plays, str):  # a playbook file of the collection
            playbook = plays
        else:
            playbook = tmp_path / ("play%d.yml" % counter[0])
            playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
        record = tmp_path / ("record%d.jsonl" % counter[0])
        record.write_text("")
        cmd = [tool("ansible-playbook"), str(playbook)]
        cmd += ["-i", inventory or "localhost,"]
        for path in vars_files:  # -e @file, as a README shows it
            cmd += ["-e", "@" + str(path)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if limit:
            cmd += ["--limit", limit]
        started = time.monotonic()
        proc = subprocess.run(cmd, env=ansible_env(str(record)), cwd=str(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
        seconds = time.monotonic() - started
        records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        return PlaybookRun(proc.returncode, proc.stdout, records, seconds)
    return run


@pytest.fixture
def run_playbook(tmp_path):
    """Run plays (a list of dicts) with ansible-playbook; returns a PlaybookRun."""
    return playbook_runner(tmp_path)


@pytest.fixture(scope="module")
def run_playbook_once(tmp_path_factory):
    """run_playbook for module-scoped fixtures."""
    return playbook_runner(tmp_path_factory.mktemp("playbooks"))


def run_shell_command(command, directory, timeout=900):
    """A command line as a README or a header shows it (bash, from ``directory``, ansible-playbook on PATH), with
    the suite's Ansible settings; returns a PlaybookRun with what the record callback saw."""
    record = os.path.join(str(directory), "record.jsonl")
    with open(record, "w"):
        pass
    env = ansible_env(record)
    env["PATH"] = BIN_DIR + os.pathsep + env.get("PATH", "")
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", command], cwd=str(directory), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    with open(record) as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return PlaybookRun(proc.returncode, proc.stdout, records, time.monotonic() - started)


def engine_with_mirror_tasks():
    """Tasks that give a lab host what a user's host has after the mirrors role: Debian's docker.io, started, with
    dockerd's registry mirror on the lab's cache."""
    return [
        {"name": "docker.io", "ansible.builtin.apt": {"name": "docker.io", "update_cache": True,
                                                      "cache_valid_time": 3600, "install_recommends": False}},
        {"name": "docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
        {"name": "mirror", "dockhand.runtime.registry_mirrors": {"runtime": "docker",
                                                                 "mirrors": ["{{ lab_mirrors.cache }}"]}},
    ]


def shell_task(name, command, ignore_errors=False):
    """A shell task that reports no change; the command is not templated (--format uses {{ }})."""
    task = {"name": name, "ansible.builtin.shell": "{% raw %}" + command + "{% endraw %}", "changed_when": False}
    if ignore_errors:
        task["failed_when"] = False
    return task


def local_play(tasks, **extra):
    """One play on localhost with the local connection."""
    play = {"name": "test", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks,
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}}
    play["vars"].update(extra.pop("vars", {}))
    play.update(extra)
    return [play]


# Each test file has hosts of its own, so files can run in any order (and at once) without sharing state:
# host1-3: switch_mirrors (a fleet); host4: engine_info, kept pristine ("before Docker is installed");
# host5, host6: the engine role (distro, docker_ce from the lab's apt mirror); host7: the cgroups role;
# host8: the containers role; host9: daemon_config; host10: mirror_probe; host11, host12: registry_mirrors
# (Docker; containerd and Podman); host13, host14: registry_cache (the cache, a client);
# host15, host16: provision.yml with its defaults; host17: engine_info with Docker installed;
# host18: the mirror watchdog; host19: the engine proxy; host20: registry_mirrors with an authenticated mirror;
# host21, host22: sideload_images.yml (the source that builds, a target without a registry);
# host23-25: a compose project rolled across a fleet by deploy.yml (host25 without the hub); host26, host27: the fleet
# report (an engine with a mirror, a slice and a container; a host without an engine).
# The edge hosts (7, 8, 15, 16, 19, 22, 25; tests/lab/lab.py EDGE_HOSTS) reach registries only through the lab's
# mirrors: the hub (the stand-in for Docker Hub) is cut off.
# LAB_HOSTS (tests/paths.py) is their number.


def lab_hosts_up(path):
    """How many hosts the lab's inventory lists (0 when there is none)."""
    if not os.path.exists(path):
        return 0
    with open(path) as handle:
        data = yaml.safe_load(handle) or {}
    hosts = data.get("all", {}).get("children", {}).get("lab", {}).get("children", {})
    return len((hosts.get("lab_hosts") or {}).get("hosts") or {})


@pytest.fixture(scope="session")
def lab():
    """The lab's hosts, started fresh once per test session (tests/lab/lab up LAB_HOSTS).

    DOCKHAND_LAB_REUSE=1 keeps a running lab, and leaves it alone when it already has LAB_HOSTS hosts.
    """
    if os.geteuid() != 0:
        pytest.fail("the lab needs root")
    reuse = os.environ.get("DOCKHAND_LAB_REUSE") == "1"
    if not reuse and os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("with pytest -n, start the lab once first (tests/lab/lab down; tests/lab/lab up %d) and set "
                    "DOCKHAND_LAB_REUSE=1, as tests/run does: each worker would otherwise restart it" % LAB_HOSTS)
    if not reuse:
        subprocess.run([LAB, "down"], check=True)
    if not reuse or lab_hosts_up(LAB_INVENTORY) < LAB_HOSTS:
        subprocess.run([LAB, "up", str(LAB_HOSTS)], check=True)
    with open(LAB_INVENTORY) as handle:
        inventory = yaml.safe_load(handle)
    return {"inventory": LAB_INVENTORY, "data": inventory}


def assert_no_traceback(run):
    assert "Traceback (most recent call last)" not in run.output, run.output[-3000:]
    for record in run.records:
        text = json.dumps(record["result"])
        assert "Traceback (most recent call last)" not in record["result"].get("msg", ""), text
        assert "module_stderr" not in record["result"], text


@pytest.fixture(scope="session")
def docker_cli():
    """Run the docker CLI on this machine and return its stripped output."""
    docker = shutil.which("docker")
    if not docker:
        pytest.fail("docker CLI not found: run tests/lab/lab setup")

    def run(*args):
        return subprocess.run([docker, *args], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return run
