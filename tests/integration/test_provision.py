"""playbooks/provision.yml on the lab's edge hosts (host15, host16), which reach registries only through the lab's
mirrors, run the way the README shows it."""

import json
import os
import re
import subprocess

import pytest
import yaml
from conftest import assert_no_traceback
from paths import LAB, REPO_ROOT

pytestmark = pytest.mark.lab

FLEET = ["dockhand-lab-host15", "dockhand-lab-host16"]
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "provision.yml")
# What a fleet without Docker Hub and download.docker.com must set (README), and nothing else.
HUBLESS_VARS = os.path.join(REPO_ROOT, "tests", "lab", "provision-vars.yml")


def on(host, *command):
    """Run a command in a lab host; its stripped standard output."""
    proc = subprocess.run([LAB, "exec", host, *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout.strip()


def reset(host):
    """A fresh Debian 12 host: no Docker, no sources of ours, no slice (whatever an earlier run left)."""
    on(host, "sh", "-c", "systemctl stop docker.socket docker containerd containers.slice 2>/dev/null; "
       "apt-get purge -y -qq docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin "
       "docker.io containerd runc >/dev/null 2>&1; rm -rf /etc/docker /var/lib/docker/* /var/lib/containerd "
       "/etc/apt/sources.list.d/docker.sources /etc/apt/keyrings/docker.* /etc/systemd/system/containers.slice; "
       "systemctl daemon-reload; true")


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


def test_provision_with_what_a_hubless_fleet_must_set(lab, run_playbook):
    """engine -> mirrors -> cgroups -> containers on two edge hosts with the README's variables only: Docker CE from
    the private mirror, images through the cache (the hub is unreachable from them); a second run changes nothing."""
    for host in FLEET:
        reset(host)
        assert on(host, "sh", "-c", "curl -s -o /dev/null --max-time 3 http://dockhand-lab-hub:5000/v2/; echo $?") \
            != "0"  # the lab cut the hub off: only the mirror serves
    command = {"provision_hosts": ":".join(FLEET)}
    with open(HUBLESS_VARS) as handle:
        assert set(yaml.safe_load(handle)) == {"engine_repo_mirror", "engine_repo_key_fingerprint",
                                               "engine_repo_allow_http_key", "mirrors_candidates", "containers_list"}
    first = run_playbook(PLAYBOOK, inventory=lab["inventory"], extra_vars=command, vars_files=[HUBLESS_VARS],
                         timeout=1200)
    assert first.rc == 0, str(first)
    assert_no_traceback(first)
    second = run_playbook(PLAYBOOK, inventory=lab["inventory"], extra_vars=command, vars_files=[HUBLESS_VARS],
                          timeout=900)
    assert second.rc == 0, str(second)
    for host in FLEET:
        assert re.search(r"%s\s*:.*changed=0 " % host, second.output), second.output[-2500:]
        assert "rescued=0" in re.search(r"%s\s*:.*" % host, second.output).group(0)
    print("provision.yml on %d fresh edge hosts: %.0f s; again: %.0f s" % (len(FLEET), first.seconds, second.seconds))

    for host in FLEET:
        info = json.loads(on(host, "docker", "info", "--format", "{{json .}}"))
        assert info["CgroupDriver"] == "systemd"
        assert [m.rstrip("/") for m in info["RegistryConfig"]["Mirrors"]] == [
            lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors"]["cache"]]
        assert on(host, "dpkg-query", "-W", "-f", "${Version}", "docker-ce").endswith("dockhandlab1")
        container = json.loads(on(host, "docker", "inspect", "hello-lab"))[0]
        assert container["State"]["Running"] is True
        assert container["HostConfig"]["Memory"] == 64 * 1024 * 1024
        # the daemon's cgroup-parent is not written into HostConfig: read where the kernel put the process
        cgroups = on(host, "cat", "/proc/%d/cgroup" % container["State"]["Pid"])
        memory = [line for line in cgroups.splitlines() if ":memory:" in line]
        assert memory and memory[0].split(":", 2)[2].startswith("/containers.slice/docker-"), cgroups
        assert on(host, "systemctl", "show", "-p", "ActiveState", "--value", "containers.slice") == "active"
    lines = table_lines(second)
    assert [line.split()[0] for line in lines[1:]] == FLEET
    assert all(" systemd " in line for line in lines[1:])
