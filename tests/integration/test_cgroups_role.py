"""The cgroups role on the lab's host7: its Molecule scenario, its defaults, bad input, faults, check mode,
the cgroupfs driver and the move to the unified hierarchy.

host7 is a Debian 12 container that boots systemd in a private cgroup namespace on this machine's
hybrid hierarchy (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified). Its systemd creates
slices in the v1 controllers and applies MemoryMax= as memory.limit_in_bytes, so a container under
the slice shows the slice's limit as hierarchical_memory_limit in its memory.stat. MemoryHigh=
has no v1 equivalent and cannot be proven here.

host7 is an edge host: it cannot reach the hub (the lab's stand-in for Docker Hub), only the lab's
mirrors. Its dockerd pulls Docker Hub images through the lab's pull-through cache, set the way a user
would (dockhand.runtime.registry_mirrors). It has no CAP_SYS_RESOURCE and a hard nofile limit of 20000
for every process, as the hosts of issue 16 had.

Every test starts with a play that makes the state it needs (reset_play), so the tests run in any order.
"""

import base64
import json
import os
import re
import subprocess

import pytest
from conftest import ansible_env, assert_no_traceback, tool
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

HOST = "dockhand-lab-host7"
ROLE_DIR = os.path.join(REPO_ROOT, "roles", "cgroups")
DAEMON_JSON = "/etc/docker/daemon.json"
SLICE_FILE = "/etc/systemd/system/containers.slice"
GRUB = "/etc/default/grub"
PROOF_IMAGE = "busybox:latest"  # the role's default cgroups_verify_image: a Docker Hub image
# The converge vars of the Molecule scenario.
CONVERGED = {
    "cgroups_driver": "auto",
    "cgroups_slice": "containers.slice",
    "cgroups_slice_limits": {"memory_max": "512m", "cpu_quota": "150%", "cpu_weight": 200, "tasks_max": 2048},
    "cgroups_default_ulimits": {"nofile": {"soft": 4096, "hard": 8192}},
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DOCKERD_FLAGS_DROP_IN = "/etc/systemd/system/docker.service.d/50-dockhand-test-ulimit.conf"
CONTAINERD_LIMIT_DROP_IN = "/etc/systemd/system/containerd.service.d/50-dockhand-test-nofile.conf"
TEST_SLICES = ("containers.slice", "dhfault.slice", "dhtest.slice")
TEST_CGROUPFS_PATHS = ("/dhcontainers",)


def role_play(variables, post_tasks=None, name="cgroups role", **play):
    entry = {"name": name, "hosts": HOST, "gather_facts": False,
             "roles": [{"role": "dockhand.runtime.cgroups", "vars": variables}],
             "post_tasks": post_tasks or []}
    entry.update(play)
    return [entry]


def shell(name, command, **extra):
    task = {"name": name, "ansible.builtin.shell": "{% raw %}" + command + "{% endraw %}", "changed_when": False}
    task.update(extra)
    return task


def try_role(name, variables):
    """The role in a block whose rescue records the failure's message as the task ``name``."""
    return {"name": "try " + name, "block": [
        {"name": "role " + name, "ansible.builtin.include_role": {"name": "dockhand.runtime.cgroups"},
         "vars": variables},
        {"name": name, "ansible.builtin.debug": {"msg": "NOT REFUSED"}},
    ], "rescue": [{"name": name, "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg }}"}}]}


def report(name="report"):
    return [{"name": name, "ansible.builtin.debug": {"var": "cgroups_report"}}]


# What must not move when the role refuses its input: the files it owns and dockerd's process.
SNAPSHOT = ("sha256sum %s %s 2>&1; systemctl show -p MainPID --value docker; "
            "test -e %s && echo grub-present || echo no-grub" % (DAEMON_JSON, SLICE_FILE, GRUB))


def reset_play(mirror=True, image=None, name="reset"):
    """A play that gives host7 the state a test starts from.

    dockerd runs with Docker's defaults for the role's keys (no exec-opts, cgroup-parent, default-ulimits),
    pulls Docker Hub images through the lab's cache (mirror=True) or from nowhere (mirror=False); no slice,
    cgroupfs directory, GRUB file or test drop-in of an earlier test is left. image: "absent" removes the
    proof image, "present" pulls it (through the cache), None leaves it as it is.
    """
    tasks = [
        {"name": "no test drop-ins", "ansible.builtin.file": {"path": "{{ item }}", "state": "absent"},
         "loop": [DOCKERD_FLAGS_DROP_IN, CONTAINERD_LIMIT_DROP_IN], "register": "reset_drop_ins"},
        {"name": "reload units and restart containerd without them",
         "ansible.builtin.systemd_service": {"name": "containerd", "state": "restarted", "daemon_reload": True},
         "when": "reset_drop_ins is changed"},
        {"name": "dockerd runs", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
        {"name": "registry mirror", "dockhand.runtime.registry_mirrors": {
            "runtime": ["docker"], "mirrors": ["{{ lab_mirrors.cache }}"] if mirror else [],
            "state": "present" if mirror else "absent"}},
        {"name": "Docker's defaults for the cgroup keys", "dockhand.runtime.daemon_config": {
            "remove": ["exec-opts", "cgroup-parent", "default-ulimits"]}},
        {"name": "no slices of earlier tests", "dockhand.runtime.cgroup_slice": {
            "name": "{{ item }}", "manager": "systemd", "state": "absent"}, "loop": list(TEST_SLICES)},
        {"name": "no cgroupfs directories of earlier tests", "dockhand.runtime.cgroup_slice": {
            "name": "containers.slice", "manager": "cgroupfs", "path": "{{ item }}", "state": "absent"},
         "loop": list(TEST_CGROUPFS_PATHS)},
        shell("no grub file", "rm -f %s %s.dockhand-bootloader-pending /usr/local/sbin/update-grub" % (GRUB, GRUB)),
    ]
    if image == "absent":
        tasks.append({"name": "no proof image", "dockhand.runtime.image": {
            "name": PROOF_IMAGE, "state": "absent", "force": True}})
    elif image == "present":
        tasks.append({"name": "the proof image", "dockhand.runtime.image": {"name": PROOF_IMAGE}})
    return [{"name": name, "hosts": HOST, "gather_facts": False, "tasks": tasks}]


def read_play(name, command):
    return [{"name": name, "hosts": HOST, "gather_facts": False, "tasks": [shell(name, command)]}]


def lines_of(run, task):
    return run.result(task, HOST)["stdout_lines"]


@pytest.fixture(scope="module")
def docker_host(lab, run_playbook_once):
    """host7 with docker.io from Debian's archive, running, and pulling through the lab's cache."""
    run = run_playbook_once([{"name": "docker on host7", "hosts": HOST, "gather_facts": False, "tasks": [
        {"name": "Install docker.io", "ansible.builtin.apt": {
            "name": "docker.io", "update_cache": True, "cache_valid_time": 3600, "install_recommends": False}},
    ]}] + reset_play(), inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    return lab["inventory"]


# --------------------------------------------------------------------------
# The Molecule scenario
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario(lab, tmp_path_factory):
    """Run the role's Molecule scenario (prepare, converge, idempotence, verify) on host7, once."""
    record = tmp_path_factory.mktemp("molecule") / "record.jsonl"
    record.write_text("")
    env = ansible_env(str(record))
    env["PATH"] = os.path.dirname(tool("ansible-playbook")) + os.pathsep + env.get("PATH", "")
    env.update({"NO_COLOR": "1", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0",
                # A fresh state each time: Molecule skips prepare when an earlier run's state says "prepared".
                "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path_factory.mktemp("molecule-state"))})
    proc = subprocess.run([tool("molecule"), "test"], cwd=ROLE_DIR, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1500, check=False)
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return {"rc": proc.returncode, "output": ANSI.sub("", proc.stdout), "records": records,
            "inventory": lab["inventory"]}


def records_of(scenario, task):
    return [r for r in scenario["records"] if r["host"] == HOST and r["task"].endswith(task)]


def test_molecule_scenario_passes(scenario):
    output = scenario["output"]
    assert scenario["rc"] == 0, output[-6000:]
    for step in ("syntax", "prepare", "converge", "idempotence", "verify"):
        assert re.search(r"%s: Executed: Successful" % step, output), (step, output[-3000:])
    assert not re.search(r"destroy: Executed: Successful", output)  # the lab is left alone


def test_first_run_restarts_dockerd_and_the_second_changes_nothing(scenario):
    applied = records_of(scenario, "Point dockerd at the slice, with the driver and the default ulimits")
    assert len(applied) == 2, applied  # converge, then idempotence
    first, second = applied[0]["result"], applied[1]["result"]
    assert first["changed"] is True and first["applied"] == "restart"
    assert set(first["changed_keys"]) == {"exec-opts", "cgroup-parent", "default-ulimits"}
    assert second["changed"] is False and second["applied"] == "none"
    slices = records_of(scenario, "Make the slice with the limits of all containers")
    assert slices[0]["result"]["created"] is True and slices[0]["result"]["changed"] is True
    assert slices[1]["result"]["changed"] is False and slices[1]["result"]["actions"] == []
    checked = records_of(scenario, "Check its cgroup path, memory limit and ulimits")
    assert checked and "/containers.slice/docker-" in checked[0]["result"]["msg"]
    assert "536870912 bytes" in checked[0]["result"]["msg"]


# --------------------------------------------------------------------------
# The role with its defaults, on a host that reaches registries only through a mirror
# --------------------------------------------------------------------------

def test_defaults_prove_the_slice_with_a_container_or_warn_without_an_image(docker_host, run_playbook):
    """(a) With the mirror set, the default image comes through it and the proof container runs.
    (b) With no mirror and no image, the role warns naming cgroups_verify_image, proves the slice from
    systemd and the cgroup files, and does not fail."""
    limited = {"cgroups_slice_limits": {"memory_max": "256m"}}
    run = run_playbook(
        reset_play(mirror=True, image="absent", name="reset: the mirror, no image")
        + role_play({}, report("report a"), name="defaults")
        + read_play("host a", "python3 -c 'import json; print(json.dumps(json.load(open(\"%s\"))))'; "
                              "systemctl show -p ActiveState containers.slice; "
                              "docker ps -a --format '{{.Names}}' | grep -c dockhand-cgroups-verify || true;"
                              "docker image inspect -f '{{.RepoTags}}' %s" % (DAEMON_JSON, PROOF_IMAGE))
        + reset_play(mirror=False, image="absent", name="reset: no mirror, no image")
        + role_play(limited, report("report b"), name="no image")
        + read_play("host b", "systemctl show -p ActiveState,MemoryMax containers.slice; "
                              "cat /sys/fs/cgroup/memory/containers.slice/memory.limit_in_bytes; "
                              "docker image inspect %s >/dev/null 2>&1 && echo image || echo no-image"
                    % PROOF_IMAGE),
        inventory=docker_host)
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    # (a) the image came through the cache, and the container proved the slice
    pulled = run.results("Make sure the proof container's image is on the host", HOST)
    assert pulled[0]["result"]["actions"] == ["pulled"], pulled[0]
    a = run.result("report a", HOST)["cgroups_report"]
    assert a["proof"] == "container" and a["verified"] is True and a["driver"] == "systemd", a
    started = run.result("Start a throwaway container", HOST)
    assert started["container"]["running"] is True
    checked = run.result("Check its cgroup path, memory limit and ulimits", HOST)
    assert "runs in /containers.slice/docker-%s.scope" % started["container"]["id"] in checked["msg"]
    host_a = lines_of(run, "host a")
    assert json.loads(host_a[0]) == {"registry-mirrors": ["http://dockhand-lab-cache:5001"],
                                     "exec-opts": ["native.cgroupdriver=systemd"],
                                     "cgroup-parent": "containers.slice"}
    assert host_a[1:] == ["ActiveState=active", "0", "[busybox:latest]"]  # the throwaway container is gone
    # (b) no image: a warning that names the variable, the slice proven from systemd and its files
    warned = [r for r in run.results("Warn that no container can prove the slice", HOST) if r["status"] == "ok"]
    assert len(warned) == 1, warned
    assert "cgroups_verify_image" in warned[0]["result"]["msg"], warned[0]
    assert "cannot pull image busybox:latest" in warned[0]["result"]["msg"]
    b = run.result("report b", HOST)["cgroups_report"]
    assert b["proof"] == "slice" and b["verified"] is True and b["limits"] == {"memory_max": 268435456}, b
    assert lines_of(run, "host b") == ["MemoryMax=268435456", "ActiveState=active", "268435456", "no-image"]
    assert [r["status"] for r in run.records if r["task"].endswith("Start a throwaway container")] == \
        ["ok", "skipped"]
    assert not [r for r in run.records if r["status"] == "failed"]


# --------------------------------------------------------------------------
# Default ulimits the host cannot grant (issue 16 #2)
# --------------------------------------------------------------------------

DAEMON_STATE = ("sha256sum %s; systemctl show -p MainPID --value docker; "
                "test -e %s && echo slice-file || echo no-slice-file" % (DAEMON_JSON, SLICE_FILE))
NPROC = {"Name": "nproc", "Soft": 4096, "Hard": 4096}


def test_ulimits_dockerd_cannot_grant_are_refused_and_a_failed_proof_is_rolled_back(docker_host, run_playbook):
    """host7's processes have a hard nofile limit of 20000 and no CAP_SYS_RESOURCE.

    (a) nofile hard 65536 is above dockerd's own limit: refused before anything is written.
    (b) containerd (which starts the containers) is held to 10000, dockerd to 20000: nofile hard 15000 passes
    the check against dockerd, but the proof container cannot start; daemon.json (with the earlier
    default-ulimits it held) and dockerd are put back, the new slice is removed, and containers start again.
    """
    above = dict(CONVERGED, cgroups_default_ulimits={"nofile": {"soft": 1024, "hard": 65536}})
    runtime_refuses = dict(CONVERGED, cgroups_default_ulimits={"nofile": {"soft": 1024, "hard": 15000}})
    containerd_drop_in = "[Service]\nLimitNOFILE=10000\n"
    run = run_playbook(
        reset_play(mirror=True, image="present")
        + read_play("before a", DAEMON_STATE)
        + [{"name": "a", "hosts": HOST, "gather_facts": False, "tasks": [try_role("refused a", above)]}]
        + read_play("after a", DAEMON_STATE)
        + [{"name": "setup b", "hosts": HOST, "gather_facts": False, "tasks": [
            {"name": "an earlier default ulimit", "dockhand.runtime.daemon_config": {
                "settings": {"default-ulimits": {"nproc": NPROC}}}},
            {"name": "containerd drop-in directory", "ansible.builtin.file": {
                "path": os.path.dirname(CONTAINERD_LIMIT_DROP_IN), "state": "directory", "mode": "0755"}},
            {"name": "containerd held to 10000 files", "ansible.builtin.copy": {
                "dest": CONTAINERD_LIMIT_DROP_IN, "content": containerd_drop_in, "mode": "0644"}},
            {"name": "restart containerd", "ansible.builtin.systemd_service": {
                "name": "containerd", "state": "restarted", "daemon_reload": True}}]}]
        + read_play("before b", DAEMON_STATE + "; cat %s" % DAEMON_JSON)
        + [{"name": "b", "hosts": HOST, "gather_facts": False, "tasks": [try_role("refused b", runtime_refuses)]}]
        + read_play("after b", DAEMON_STATE + "; cat %s; systemctl show -p ActiveState containers.slice; "
                               "docker run --rm %s true && echo containers-start" % (DAEMON_JSON, PROOF_IMAGE)),
        inventory=docker_host)
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    # (a) refused before anything was written: daemon.json, dockerd and the slice as they were
    message = run.result("refused a", HOST)["msg"]
    assert "cgroups_default_ulimits.nofile: the hard limit 65536 is above dockerd's own (20000" in message, message
    assert "lacks CAP_SYS_RESOURCE" in message and "at most 20000" in message and "Nothing was changed" in message
    assert lines_of(run, "before a") == lines_of(run, "after a")
    assert lines_of(run, "after a")[-1] == "no-slice-file"
    assert len(run.results("Point dockerd at the slice, with the driver and the default ulimits", HOST)) == 1  # (b)
    # (b) the proof failed: rolled back, and said why
    message = run.result("refused b", HOST)["msg"]
    assert "The proof container could not start" in message and "error setting rlimit" in message, message
    assert "daemon.json and dockerd were put back as they were and the new slice was removed" in message
    assert "lower cgroups_default_ulimits" in message
    rollback = run.result("Put daemon.json and dockerd back as they were, since no container starts with this "
                          "run's settings", HOST)
    assert rollback["changed"] is True and rollback["applied"] == "restart"
    before, after = lines_of(run, "before b"), lines_of(run, "after b")
    assert before[0] == after[0]  # daemon.json's checksum: the same bytes as before the run
    assert before[1] != after[1]  # dockerd was restarted (twice: with the new file, then with the old one)
    assert after[2] == "no-slice-file"
    assert json.loads("\n".join(after[3:-2])) == {"registry-mirrors": ["http://dockhand-lab-cache:5001"],
                                                  "default-ulimits": {"nproc": NPROC}}
    assert after[-2:] == ["ActiveState=inactive", "containers-start"]


# --------------------------------------------------------------------------
# Booleans and numbers from the command line (issue 9 #6)
# --------------------------------------------------------------------------

def test_booleans_and_numbers_given_as_strings_with_e(docker_host, run_playbook):
    """`-e cgroups_verify=false` gives the string "false" (as does `-e '{"cgroups_verify": "false"}'`);
    it was taken as true. Every boolean and number of the role is read through | bool and | int."""
    strings_off = {"cgroups_verify": "false", "cgroups_backup": "no", "cgroups_unified": "False",
                   "cgroups_reboot": "false", "cgroups_restart_timeout": "90", "cgroups_reboot_timeout": "600"}
    backups = "ls %s.*~ 2>/dev/null | wc -l" % DAEMON_JSON
    off = run_playbook(reset_play(mirror=True, image="present") + read_play("backups before", backups)
                       + role_play({"cgroups_slice_limits": {"memory_max": "256m"}}, report())
                       + read_play("backups after", backups),
                       inventory=docker_host, extra_vars=strings_off)
    assert off.rc == 0, str(off)
    report_off = off.result("report", HOST)["cgroups_report"]
    assert report_off["verified"] is None and report_off["proof"] == "none", report_off
    assert off.status("Make sure the proof container's image is on the host", HOST) == "skipped"
    assert off.status("Start a throwaway container", HOST) == "skipped"
    assert off.status("Ask for the unified hierarchy on the kernel command line", HOST) == "skipped"
    docker = off.result("Point dockerd at the slice, with the driver and the default ulimits", HOST)
    assert docker["changed"] is True and docker["backup_file"] is None
    assert lines_of(off, "backups before") == lines_of(off, "backups after")
    strings_on = dict(strings_off, cgroups_verify="true", cgroups_backup="yes")
    on = run_playbook(role_play({"cgroups_slice_limits": {"memory_max": "128m"},
                                 "cgroups_default_ulimits": {"nofile": 4096}}, report())
                      + read_play("backups", backups),
                      inventory=docker_host, extra_vars=strings_on)
    assert on.rc == 0, str(on)
    report_on = on.result("report", HOST)["cgroups_report"]
    assert report_on["verified"] is True and report_on["proof"] == "container", report_on
    backup_file = on.result("Point dockerd at the slice, with the driver and the default ulimits", HOST)["backup_file"]
    assert backup_file.startswith(DAEMON_JSON + ".")
    assert int(lines_of(on, "backups")[0]) == min(int(lines_of(off, "backups after")[0]) + 1, 3)  # newest 3 kept
    assert on.result("Make the slice with the limits of all containers", HOST)["limits"] == {"memory_max": 134217728}
    assert_no_traceback(on)
