"""playbooks/provision.yml on the lab's edge hosts (host15, host16), which reach registries only through the lab's
mirrors, run the way the README shows it."""

import os
import re

import pytest
import yaml
from conftest import assert_no_traceback
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

FLEET = ["dockhand-lab-host15", "dockhand-lab-host16"]
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "provision.yml")


def table_lines(run):
    """The lines of the closing facts table, as printed."""
    record = run.result("Print one line per host")
    return record["msg"]


def inventory_with_ghosts(lab, path):
    """The lab's inventory plus two hosts that never answer (nothing listens on their ports)."""
    with open(lab["inventory"]) as handle:
        data = yaml.safe_load(handle)
    hosts = data["all"]["children"]["lab"]["children"]["lab_hosts"]["hosts"]
    for name in ("ghost9", "ghost10"):
        hosts[name] = {"ansible_host": "127.0.0.1", "ansible_port": 9, "lab_edge": True}
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_table_is_printed_when_every_host_fails(lab, run_playbook, tmp_path):
    """Every host fails or is unreachable: the table still lists each one, in natural order, with its error."""
    inventory = inventory_with_ghosts(lab, tmp_path / "inventory.yml")
    run = run_playbook(PLAYBOOK, inventory=inventory, extra_vars={
        "provision_hosts": "dockhand-lab-host15:ghost9:ghost10",
        # A package mirror nobody serves: the engine step fails on the real host before it changes anything.
        "engine_repo_mirror": "http://127.0.0.1:9/docker-ce"}, timeout=600)
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    lines = table_lines(run)
    assert lines[0].split()[:2] == ["host", "running"]
    assert [line.split()[0] for line in lines[1:]] == ["dockhand-lab-host15", "ghost9", "ghost10"]
    ghost9 = lines[2]
    assert "unreachable" in ghost9
    host15 = lines[1]
    assert "127.0.0.1:9" in host15, host15  # the engine step's own error, naming the mirror it could not use
    failed = {record["host"] for record in run.records if record["status"] == "failed"
              and record["task"] == "Fail the hosts whose provisioning failed"}
    assert failed == {"dockhand-lab-host15", "ghost9", "ghost10"}
    assert re.search(r"dockhand-lab-host15\s*:.*failed=1", run.output)
