"""The containers role on the lab's host8: its Molecule scenario, bad input, and check mode.

The scenario (roles/containers/molecule/default) prepares host8 (docker.io), deploys two
networks, a volume and three containers, converges again (nothing may change), verifies every
option with docker inspect, then prunes one container and checks that exactly that one went.
"""

import json
import os
import subprocess
import time

import pytest
from conftest import BIN_DIR, ansible_env, assert_no_traceback, engine_with_mirror_tasks, tool
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

HOST = "dockhand-lab-host8"
ROLE_DIR = os.path.join(REPO_ROOT, "roles", "containers")
DEPLOY = os.path.join(REPO_ROOT, "playbooks", "deploy.yml")
IMAGE = "busybox:latest"  # Docker Hub's name: host8 pulls it through its mirror, the lab's cache
ENGINE_MODULES = {"dockhand.runtime." + name
                  for name in ("network", "volume", "image", "container", "container_info")}


def task_records(records, task):
    return [r for r in records if r["task"].endswith(" : " + task) or r["task"] == task]


def header_command():
    """The command the scenario's molecule.yml tells a user to run (the indented line of its header)."""
    with open(os.path.join(ROLE_DIR, "molecule", "default", "molecule.yml")) as handle:
        lines = [line[1:].strip() for line in handle if line.startswith("#   ")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def scenario(lab, tmp_path_factory):
    """The command of the scenario's header, exactly as written, from the repository's root (fresh state).

    ANSIBLE_COLLECTIONS_PATH is not set: the scenario must find the collection by itself.
    """
    work = tmp_path_factory.mktemp("molecule")
    record = work / "record.jsonl"
    record.write_text("")
    env = ansible_env(str(record))
    env.pop("ANSIBLE_COLLECTIONS_PATH")
    env.update({"PATH": BIN_DIR + os.pathsep + env.get("PATH", ""),
                "MOLECULE_EPHEMERAL_DIRECTORY": str(work / "ephemeral"), "NO_COLOR": "1"})
    command = header_command()
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1500, check=False)
    seconds = time.monotonic() - started
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return {"rc": proc.returncode, "output": proc.stdout, "records": records, "seconds": seconds,
            "command": command}


def test_molecule_scenario_passes(scenario):
    output = scenario["output"]
    assert scenario["command"] == "cd roles/containers && molecule test"
    assert scenario["rc"] == 0, output[-6000:]
    for step in ("prepare", "converge", "idempotence", "verify", "side_effect", "cleanup"):
        assert "[default > %s] Executed: Successful" % step in output, step
    assert "Traceback (most recent call last)" not in output
    records = scenario["records"]

    # converge, idempotence, then twice in side_effect: created once, then never changed again
    deploys = task_records(records, "Deploy the containers")
    assert [r["status"] for r in deploys] == ["changed", "ok", "ok", "ok"]
    first = deploys[0]["result"]["results"]
    assert [r["containers_name"] for r in first] == ["dockhand-mol-web", "dockhand-mol-app", "dockhand-mol-worker"]
    assert all("item" not in r for r in first), "the loop item (an entry, with its env) is in the results"
    assert all(r["actions"] == ["created", "started"] and r["container"]["running"] for r in first)
    networks = task_records(records, "Create the networks")
    assert [r["status"] for r in networks] == ["changed", "ok", "ok", "ok"]

    # pruning: skipped while containers_prune is false; then exactly the dropped container, then nothing
    prunes = task_records(records, "Remove the containers that are no longer listed")
    assert [r["status"] for r in prunes] == ["skipped", "skipped", "changed", "skipped"]  # the last: no items
    assert [(r["item"], r["actions"]) for r in prunes[2]["result"]["results"]] == [
        ("dockhand-mol-worker", ["removed"])]
    found = task_records(records, "Find the containers this role instance deployed")
    assert found[2]["result"]["names"] == ["dockhand-mol-app", "dockhand-mol-web", "dockhand-mol-worker"]
    print("molecule test of the containers role: %.0f s" % scenario["seconds"])


def role_play(variables, name="containers role", **play):
    entry = {"name": name, "hosts": HOST, "gather_facts": False,
             "roles": [{"role": "dockhand.runtime.containers", "vars": variables}]}
    entry.update(play)
    return [entry]


@pytest.mark.parametrize(("variables", "message"), [
    ({"containers_list": [{"name": "dockhand-bad-a", "image": IMAGE, "memory_limit": "1g"}]}, "memory_limit"),
    ({"containers_list": [{"name": "dockhand-bad-a", "image": IMAGE, "cpus": "lots"}]}, "cpus"),
    ({"containers_list": [{"name": "dockhand-bad-a", "image": IMAGE, "restart_policy": "sometimes"}]},
     "restart_policy"),
    ({"containers_list": [{"image": IMAGE}]}, "missing required arguments: name"),
    ({"containers_networks": [{"name": "dockhand-bad-net", "driver_opts": {}}]}, "driver_opts"),
    ({"containers_prune": "sometimes"}, "containers_prune"),
    ({"containers_pull": "daily"}, "containers_pull"),
    ({"containers_list": [{"name": "dockhand-bad-a", "image": IMAGE}, {"name": "dockhand-bad-a", "image": IMAGE}]},
     "containers_list lists dockhand-bad-a more than once"),
])
def test_bad_input_fails_before_anything_changes(scenario, lab, run_playbook, variables, message):
    run = run_playbook(role_play(variables), inventory=lab["inventory"])
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    failed = [r for r in run.records if r["status"] == "failed"]
    assert failed, str(run)
    assert message in json.dumps(failed[0]["result"]), failed[0]["result"]
    assert not [r for r in run.records if r["action"] in ENGINE_MODULES], "a module ran before the failure"


def test_check_mode_creates_and_removes_nothing(scenario, edge_engine, lab, run_playbook):
    old = {"name": "dockhand-check-old", "image": IMAGE, "command": ["sleep", "3600"]}
    new = {"name": "dockhand-check-new", "image": IMAGE, "command": ["sleep", "3600"],
           "networks": [{"name": "dockhand-check-net"}], "volumes": ["dockhand-check-vol:/data"], "memory": "32m"}
    common = {"deploy_hosts": HOST, "containers_instance": "checkmode"}
    try:
        run = run_playbook(DEPLOY, inventory=lab["inventory"], extra_vars=dict(common, containers_list=[old]))
        assert run.rc == 0, str(run)

        run = run_playbook(DEPLOY, inventory=lab["inventory"], check=True, diff=True, extra_vars=dict(
            common, containers_list=[new], containers_prune=True,
            containers_networks=[{"name": "dockhand-check-net"}], containers_volumes=[{"name": "dockhand-check-vol"}]))
        assert run.rc == 0, str(run)
        assert_no_traceback(run)
        assert run.result("Create the networks")["results"][0]["actions"] == ["created"]
        assert run.result("Create the volumes")["results"][0]["actions"] == ["created"]
        pruned = run.result("Remove the containers that are no longer listed")["results"]
        assert [(r["item"], r["actions"]) for r in pruned] == [("dockhand-check-old", ["removed"])]
        deployed = run.result("Deploy the containers")["results"][0]
        assert deployed["actions"] == ["created", "started"] and deployed["changed"]
        assert deployed["diff"]["after"]["memory"] == 32 * 1024 * 1024

        after = run_playbook([{"name": "look", "hosts": HOST, "gather_facts": False, "tasks": [
            {"name": "managed", "dockhand.runtime.container_info": {"labels": {
                "dockhand.runtime.containers-instance": "checkmode"}}},
            {"name": "objects", "ansible.builtin.command": {"argv": [
                "sh", "-c", "docker network ls -q --filter name=dockhand-check-; "
                            "docker volume ls -q --filter name=dockhand-check-"]}, "changed_when": False},
        ]}], inventory=lab["inventory"])
        assert after.rc == 0, str(after)
        assert after.result("managed")["names"] == ["dockhand-check-old"]  # not removed, nothing created
        assert after.result("objects")["stdout"] == ""
    finally:
        cleanup = run_playbook(DEPLOY, inventory=lab["inventory"], extra_vars=dict(
            common, containers_list=[dict(old, state="absent"), dict(new, state="absent")]))
        assert cleanup.rc == 0, str(cleanup)


# --- secrets never show, at any verbosity ----------------------------------------------------------------------

LOCAL_IMAGE = "127.0.0.1:5000/library/busybox:latest"
SECRET_CONTAINER = "dh-rl-secret"  # not dh-ct-: test_container.py removes those, at the same time
SECRET_VOLUME = "dh-rl-vol"
SECRETS = {"DB_PASSWORD": "n3w-s3cr3t-xyz", "AWS_CREDENTIALS": "aws-cr3d-abc", "DB_PASS": "dbp4ss-val"}
CHANGED_SECRET = "n3w-s3cr3t-2nd"
VOLUME_SECRET = "v0l-s3cr3t-q"


def run_role_locally(tmp_path, variables, *flags):
    """The containers role on this machine (local connection, its own dockerd), at the verbosity of ``flags``."""
    playbook = tmp_path / "secrets.yml"
    playbook.write_text(json.dumps([{
        "name": "secrets", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "roles": [{"role": "dockhand.runtime.containers", "vars": variables}]}]))
    record = tmp_path / "record.jsonl"
    record.write_text("")
    proc = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", str(playbook), *flags],
                          env=ansible_env(str(record)), cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout


def secret_role_vars(env, **extra):
    entry = {"name": SECRET_CONTAINER, "image": LOCAL_IMAGE, "command": ["sleep", "3600"], "stop_signal": "SIGKILL",
             "env": env}
    entry.update(extra)
    return {"containers_instance": "secrets", "containers_list": [entry],
            "containers_volumes": [{"name": SECRET_VOLUME, "driver_options": {
                "type": "tmpfs", "device": "tmpfs", "o": "size=1m,password=%s" % VOLUME_SECRET}}]}


def remove_secret_objects():
    subprocess.run(["docker", "rm", "-f", SECRET_CONTAINER], capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", SECRET_VOLUME], capture_output=True, check=False)


def test_the_role_prints_no_secret_at_any_verbosity(tmp_path):
    """Env secrets (DB_PASSWORD, AWS_CREDENTIALS, DB_PASS) and a volume's driver option password= never show:
    not at default verbosity, -v or -vvv, not in a failed item, not in --diff (a changed secret reads
    "******** (changed)")."""
    remove_secret_objects()
    changed_env = dict(SECRETS, DB_PASSWORD=CHANGED_SECRET)
    runs = [
        ("create", secret_role_vars(SECRETS), ()),
        ("rerun -v", secret_role_vars(SECRETS), ("-v",)),
        ("rerun -vvv", secret_role_vars(SECRETS), ("-vvv",)),
        ("changed secret -vvv --diff", secret_role_vars(changed_env), ("-vvv", "--diff")),
        ("failed item", secret_role_vars(changed_env, memory="12xb"), ()),
        ("failed item -v", secret_role_vars(changed_env, memory="12xb"), ("-v",)),
        ("failed item -vvv", secret_role_vars(changed_env, memory="12xb"), ("-vvv",)),
        # the engine cannot mount the volume (tmpfs takes no password) and quotes its options in the error
        ("failed mount -vvv", secret_role_vars(changed_env, volumes=[SECRET_VOLUME + ":/data"]), ("-vvv",)),
    ]
    outputs = {}
    try:
        for label, variables, flags in runs:
            outputs[label] = run_role_locally(tmp_path, variables, *flags)
    finally:
        remove_secret_objects()
    for label, (rc, output) in outputs.items():
        assert (rc != 0) == label.startswith("failed"), (label, output[-3000:])
        assert "Traceback (most recent call last)" not in output, (label, output[-3000:])
        for secret in list(SECRETS.values()) + [CHANGED_SECRET, VOLUME_SECRET]:
            assert secret not in output, "%s shows %s:\n%s" % (label, secret, output[-4000:])
    assert "******** (changed)" in outputs["changed secret -vvv --diff"][1]
    for label in ("failed item", "failed item -v", "failed item -vvv"):
        assert "memory: " in outputs[label][1] and "12xb" in outputs[label][1], outputs[label][1][-3000:]
    assert "password=********" in outputs["failed mount -vvv"][1], outputs["failed mount -vvv"][1][-3000:]


# --- playbooks/deploy.yml with its defaults, on the edge host -------------------------------------------------

EDGE_APP = "dh-ct-edge-app"


@pytest.fixture(scope="module")
def edge_engine(lab, run_playbook_once):
    """host8 as a user has it: docker.io installed, dockerd's registry mirror pointed at the lab's cache (what
    the mirrors role does); it cannot reach the hub."""
    run = run_playbook_once([{"name": "engine with a mirror", "hosts": HOST, "gather_facts": False, "tasks": [
        *engine_with_mirror_tasks(),
        {"name": "hub unreachable", "ansible.builtin.uri": {"url": "http://dockhand-lab-hub:5000/v2/",
                                                            "timeout": 3}, "register": "hub", "ignore_errors": True},
    ]}], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    assert run.status("hub unreachable") == "failed", "host8 reaches the hub: it is no edge host"
    return lab


def test_deploy_playbook_with_its_defaults_on_the_edge_host(edge_engine, run_playbook):
    """deploy.yml with only what a user must set (the hosts, containers_list): the image comes through the
    mirror, the container runs, a rerun changes nothing."""
    image_name = "hello:latest"  # docker.io/library/hello: only the lab's cache can bring it to host8
    user_vars = {"deploy_hosts": HOST,
                 "containers_list": [{"name": EDGE_APP, "image": image_name, "command": ["sleep", "3600"]}]}
    look = [{"name": "look", "hosts": HOST, "gather_facts": False, "tasks": [
        {"name": "app", "dockhand.runtime.container_info": {"name": EDGE_APP}, "register": "app"},
        {"name": "remove", "dockhand.runtime.container": {"name": EDGE_APP, "state": "absent"}},
        {"name": "untag", "dockhand.runtime.image": {"name": image_name, "state": "absent"}}]}]
    run_playbook(look, inventory=edge_engine["inventory"])  # a fresh start: no container, image not on the host
    try:
        first = run_playbook(DEPLOY, inventory=edge_engine["inventory"], extra_vars=user_vars)
        assert first.rc == 0, str(first)
        assert_no_traceback(first)
        pulled = first.result("Pull the images of the containers")["results"][0]
        assert pulled["actions"] == ["pulled"], pulled
        deployed = first.result("Deploy the containers")["results"][0]
        assert deployed["actions"] == ["created", "started"] and deployed["container"]["running"], deployed
        again = run_playbook(DEPLOY, inventory=edge_engine["inventory"], extra_vars=user_vars)
        assert again.rc == 0, str(again)
        assert not [r for r in again.records if r["status"] == "changed"], "the rerun changed something"
        found = run_playbook([dict(look[0], tasks=look[0]["tasks"][:1])], inventory=edge_engine["inventory"])
        app = found.result("app")
        assert app["exists"] and app["containers"][0]["running"], app
        assert app["containers"][0]["labels"]["dockhand.runtime.containers-instance"] == "default"
    finally:
        run_playbook(look, inventory=edge_engine["inventory"])


def test_a_failed_pull_in_the_role_names_image(edge_engine, run_playbook):
    """The entry says image:, so the role's pull error says image (and changes no container)."""
    run = run_playbook(DEPLOY, inventory=edge_engine["inventory"], extra_vars={
        "deploy_hosts": HOST, "containers_list": [{"name": EDGE_APP + "-missing", "image": "no-such-image:1"}]})
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    message = run.result("Pull the images of the containers")["results"][0]["msg"]
    assert "(image)" in message and "Check the name, tag and digest in image" in message, message
    assert " in name" not in message, message
    assert not [r for r in run.records if r["action"] == "dockhand.runtime.container"], "a container task ran"
