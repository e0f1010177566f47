"""playbooks/switch_mirrors.yml across the 3-host lab: probe, pick, reload, verify, report.

The mirror switch must leave every container running (same StartedAt) and dockerd
itself running (same PID): registry-mirrors is applied with SIGHUP, not a restart.
"""

import os
import time

import pytest
from conftest import assert_no_traceback
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

FLEET = ["dockhand-lab-host1", "dockhand-lab-host2", "dockhand-lab-host3"]
HUB = "dockhand-lab-hub:5000"
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "switch_mirrors.yml")


def raw(command):
    return "{% raw %}" + command + "{% endraw %}"


STATE = raw("docker inspect -f '{{.State.StartedAt}}' dockhand-switch-probe; systemctl show -p MainPID --value docker")


@pytest.fixture(scope="module")
def fleet(lab, run_playbook_once):
    """Docker on host1-3, each running a container started before the switch."""
    run = run_playbook_once([{
        "name": "prepare", "hosts": ":".join(FLEET), "gather_facts": False,
        "tasks": [
            {"name": "install docker.io",
             "ansible.builtin.apt": {"name": "docker.io", "update_cache": True, "cache_valid_time": 3600,
                                     "install_recommends": False}},
            {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
            {"name": "reach the hub without TLS", "dockhand.runtime.daemon_config": {
                "settings": {"insecure-registries": [HUB]}, "list_merge": "append_unique",
                "remove": ["registry-mirrors"]}},
            {"name": "start a long-running container", "ansible.builtin.shell": raw(
                "docker inspect dockhand-switch-probe >/dev/null 2>&1 || "
                "docker run -d --name dockhand-switch-probe %s/library/busybox:latest sleep 3600" % HUB),
             "changed_when": False},
        ],
    }], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    return lab["inventory"]


def state_of(run_playbook, inventory, name):
    run = run_playbook([{"name": name, "hosts": ":".join(FLEET), "gather_facts": False, "tasks": [
        {"name": "state", "ansible.builtin.shell": STATE, "changed_when": False}]}], inventory=inventory)
    assert run.rc == 0, str(run)
    return {host: run.result("state", host)["stdout"] for host in FLEET}


def switch(run_playbook, inventory, **extra):
    variables = {"switch_mirrors_hosts": ":".join(FLEET), "switch_mirrors_serial": 3,
                 "mirrors_runtime": ["docker"], "mirrors_pick": 1}
    variables.update(extra)
    started = time.monotonic()
    run = run_playbook(PLAYBOOK, inventory=inventory, extra_vars=variables)
    return run, time.monotonic() - started


def test_switch_keeps_containers_and_dockerd_running(fleet, run_playbook):
    before = state_of(run_playbook, fleet, "before")
    candidates = ["{{ lab_mirrors.slow }}", "{{ lab_mirrors.dead }}", "{{ lab_mirrors.hub }}"]
    run, seconds = switch(run_playbook, fleet, mirrors_candidates=candidates)
    assert run.rc == 0, str(run)
    after = state_of(run_playbook, fleet, "after")
    assert before == after  # every container's StartedAt and every dockerd PID unchanged
    for host in FLEET:
        applied = run.result("Point the runtimes at the chosen mirrors", host)
        assert applied["runtimes"]["docker"]["applied"] == "reload"
        assert [m["url"] for m in applied["mirrors"]] == ["http://%s" % HUB]  # the fastest live one
        assert run.status("Pull a test image through the new mirror (Docker)", host) == "ok"
    table = run.result("Print one line per host")["msg"]
    assert table[0].split()[:2] == ["host", "mirrors"] and len(table) == 1 + len(FLEET)
    assert all("reload" in line for line in table[1:])
    print("mirror switch across %d hosts: %.1f s" % (len(FLEET), seconds))

    again, _seconds = switch(run_playbook, fleet, mirrors_candidates=candidates)
    assert again.rc == 0, str(again)  # the mirror in use is kept: measurement noise does not flap it
    for host in FLEET:
        assert again.result("Point the runtimes at the chosen mirrors", host)["changed"] is False
    assert_no_traceback(run)


def test_no_live_candidate_fails_before_changing_anything(fleet, run_playbook):
    dead = ["{{ lab_mirrors.dead }}", "{{ lab_mirrors.error }}"]
    run, _seconds = switch(run_playbook, fleet, mirrors_candidates=dead, mirrors_probe_timeout=2)
    assert run.rc != 0
    message = run.result("Fail when no candidate answers from this host", FLEET[0])["msg"]
    assert "None of the candidate mirrors answered" in message and "dockhand-lab-hang:5009" in message
    assert not [r for r in run.records if r["task"].endswith("Point the runtimes at the chosen mirrors")]
