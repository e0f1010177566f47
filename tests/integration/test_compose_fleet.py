"""A compose project rolled across a fleet (host23-25) by playbooks/deploy.yml, one host at a time.

The hosts run Debian's docker.io with dockerd's registry mirror pointed at the lab's cache (what the
registry_mirrors module does for a user); host25 is an edge host: the hub is cut off, only the mirror brings
``busybox``. The playbook runs exactly as its header comment shows, with the lab inventory, the hosts and the
project (containers_compose_projects in a vars file). A rerun changes nothing; a service whose healthcheck fails
stops the rollout at the first host, where the old container is back, and the other hosts keep theirs.
"""

import json
import os
import re

import pytest
import yaml
from conftest import assert_no_traceback, engine_with_mirror_tasks, run_shell_command, shell_task
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

HOSTS = ["dockhand-lab-host23", "dockhand-lab-host24", "dockhand-lab-host25"]
EDGE = "dockhand-lab-host25"
DEPLOY = os.path.join(REPO_ROOT, "playbooks", "deploy.yml")
README = os.path.join(REPO_ROOT, "README.md")
PROJECT = "dh-cmpf-fleet"
IMAGE = "busybox:latest"  # Docker Hub's name: each host pulls it through its mirror, the lab's cache


def header_command():
    """The compose command of deploy.yml's header (the comment line that loads a compose vars file)."""
    with open(DEPLOY) as handle:
        lines = [line[1:].strip() for line in handle if line.startswith("#   ansible-playbook ")]
    found = [line for line in lines if "deploy_serial" in line]
    assert len(found) == 1, lines
    with open(README) as handle:  # README.md "Compose projects" shows the same command
        assert found[0] in handle.read().splitlines(), "README.md no longer shows %r" % found[0]
    return found[0]


def compose_file(healthcheck):
    return {"name": PROJECT, "services": {
        "web": {"image": IMAGE, "command": "sleep 3600", "stop_signal": "SIGKILL",
                "environment": {"RELEASE": "${RELEASE}"},
                "healthcheck": dict(healthcheck, interval="1s", retries=2)},
        "worker": {"image": IMAGE, "command": ["sleep", "3600"], "stop_signal": "SIGKILL"}}}


@pytest.fixture(scope="module")
def fleet(lab, run_playbook_once):
    """host23-25 as a user has them: docker.io, dockerd's mirror on the lab's cache, no project yet."""
    run = run_playbook_once([{"name": "engines with a mirror", "hosts": ",".join(HOSTS), "gather_facts": False,
                              "tasks": [
        *engine_with_mirror_tasks(),
        {"name": "hub", "ansible.builtin.uri": {"url": "http://dockhand-lab-hub:5000/v2/", "timeout": 3},
         "register": "hub", "ignore_errors": True}]}], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    assert run.status("hub", EDGE) == "failed", "host25 reaches the hub: it is no edge host"
    remove_project(lab, run_playbook_once)
    yield lab
    remove_project(lab, run_playbook_once)


def remove_project(lab, run_playbook):
    """No container of the project on the hosts, and no busybox image (so the first run pulls it)."""
    run = run_playbook([{"name": "clean", "hosts": ",".join(HOSTS), "gather_facts": False, "tasks": [
        {"name": "down", "dockhand.runtime.compose": {"project_name": PROJECT, "state": "absent",
                                                      "definition": {"services": {"web": {"image": IMAGE},
                                                                                  "worker": {"image": IMAGE}}}}},
        {"name": "untag", "dockhand.runtime.image": {"name": IMAGE, "state": "absent"}}]}],
        inventory=lab["inventory"])
    assert run.rc == 0, str(run)


def containers(lab, run_playbook):
    """{host: {container name: (ID, running, health)}} of the project, read with docker inspect on each host."""
    command = ("docker ps -aq --filter label=com.docker.compose.project=%s | xargs -r docker inspect "
               "--format '{{json .State}} {{.Id}} {{.Name}}'" % PROJECT)
    run = run_playbook([{"name": "look", "hosts": ",".join(HOSTS), "gather_facts": False,
                         "tasks": [shell_task("ps", command)]}], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    found = {}
    for host in HOSTS:
        found[host] = {}
        for line in run.result("ps", host)["stdout"].splitlines():
            state, container_id, name = line.rsplit(" ", 2)
            state = json.loads(state)
            found[host][name.lstrip("/")] = (container_id, state["Running"], (state.get("Health") or {}).get("Status"))
    return found


def deploy(lab, tmp_path, healthcheck, release):
    """Writes the project and its vars file, then runs the header's command with the lab's inventory."""
    source = tmp_path / "app"
    source.mkdir(exist_ok=True)
    (source / "compose.yaml").write_text(yaml.safe_dump(compose_file(healthcheck), sort_keys=False))
    (source / ".env").write_text("RELEASE=%s\n" % release)
    (tmp_path / "compose-app.yml").write_text(yaml.safe_dump({"containers_compose_projects": [
        {"project_src": str(source), "wait": True, "wait_timeout": 30}]}))
    command = header_command()
    command = command.replace("-i inventory", "-i " + lab["inventory"])
    command = re.sub(r"deploy_hosts=\S+", "deploy_hosts=" + ":".join(HOSTS), command)
    return run_shell_command(command, tmp_path, timeout=1500)


def changed_hosts(run):
    return sorted({record["host"] for record in run.records if record["status"] == "changed"})


def deployed(run, host):
    return run.result("Deploy the compose projects", host)["results"][0]


def test_rollout_rerun_and_a_failed_health_gate(fleet, run_playbook_once, tmp_path):
    healthy = {"test": ["CMD", "true"]}
    first = deploy(fleet, tmp_path, healthy, "1")
    assert_no_traceback(first)
    assert first.rc == 0, str(first)
    assert "-e deploy_serial=1" in header_command()
    for host in HOSTS:
        result = deployed(first, host)
        assert result["changed"] and result["services"]["web"]["actions"], result
    assert changed_hosts(first) == HOSTS
    before = containers(fleet, run_playbook_once)
    for host in HOSTS:
        assert sorted(before[host]) == [PROJECT + "-web-1", PROJECT + "-worker-1"], before
        assert before[host][PROJECT + "-web-1"][1:] == (True, "healthy"), before
    again = deploy(fleet, tmp_path, healthy, "1")
    assert again.rc == 0, str(again)
    assert changed_hosts(again) == [], "the rerun changed something"
    assert sorted({record["host"] for record in again.records}) == HOSTS
    assert containers(fleet, run_playbook_once) == before

    broken = {"test": ["CMD-SHELL", "echo release 2 is broken >&2; exit 1"]}
    failed = deploy(fleet, tmp_path, broken, "2")
    assert_no_traceback(failed)
    assert failed.rc != 0, str(failed)
    result = deployed(failed, HOSTS[0])
    assert result.get("failed") and "services.web" in result["msg"], result
    assert "rolled back" in result["msg"].lower(), result["msg"]
    ran_on = sorted({record["host"] for record in failed.records
                     if record["task"].endswith("Deploy the compose projects")})
    assert ran_on == [HOSTS[0]], "the rollout went on after the first failed health gate: %s" % ran_on
    after = containers(fleet, run_playbook_once)
    for host in HOSTS[1:]:
        assert after[host] == before[host], "%s was touched after the first host failed" % host
    rolled_back = {name: state[:2] for name, state in after[HOSTS[0]].items()}
    assert rolled_back == {name: state[:2] for name, state in before[HOSTS[0]].items()}, (
        "the first host's old containers are not back (same IDs, running)")
