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

import json
import os
import re
import subprocess

import pytest
from conftest import ansible_env, assert_no_traceback, tool
from paths import REPO_ROOT

from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import lock_path

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
def scenario(lab, docker_host, run_playbook_once, tmp_path_factory):
    """Run the role's Molecule scenario (prepare, converge, idempotence, verify) on host7, once.

    The scenario's prepare starts from what a user's host has; the reset play first takes away what other
    tests of this file may have left (drop-ins that change dockerd's or containerd's command line or limits).
    """
    reset = run_playbook_once(reset_play(mirror=True), inventory=docker_host)
    assert reset.rc == 0, str(reset)
    record = tmp_path_factory.mktemp("molecule") / "record.jsonl"
    record.write_text("")
    env = ansible_env(str(record))
    env.pop("ANSIBLE_COLLECTIONS_PATH")  # the scenario must find the collection by itself
    env["PATH"] = os.path.dirname(tool("ansible-playbook")) + os.pathsep + env.get("PATH", "")
    env.update({"NO_COLOR": "1", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0",
                # A fresh state each time: Molecule skips prepare when an earlier run's state says "prepared".
                "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path_factory.mktemp("molecule-state"))})
    command = header_command()
    proc = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1500, check=False)
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return {"rc": proc.returncode, "output": ANSI.sub("", proc.stdout), "records": records,
            "inventory": lab["inventory"], "command": command}


def header_command():
    """The command the scenario's molecule.yml tells a user to run (the indented line of its header)."""
    with open(os.path.join(ROLE_DIR, "molecule", "default", "molecule.yml")) as handle:
        lines = [line[1:].strip() for line in handle if line.startswith("#   ")]
    assert len(lines) == 1, lines
    return lines[0]


def records_of(scenario, task):
    return [r for r in scenario["records"] if r["host"] == HOST and r["task"].endswith(task)]


def test_molecule_scenario_passes(scenario):
    output = scenario["output"]
    assert scenario["command"] == "cd roles/cgroups && molecule test"
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
    assert "[WARNING]: No image for the proof container on %s" % HOST in " ".join(run.output.split()), \
        "not shown as a warning"
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


# --------------------------------------------------------------------------
# Limits a run does not name are kept, unless exclusive (issue 16 #7)
# --------------------------------------------------------------------------

SLICE_LIMITS_ON_HOST = ("systemctl show -p MemoryMax,TasksMax,CPUWeight containers.slice | sort; "
                        "cat /sys/fs/cgroup/memory/containers.slice/memory.limit_in_bytes "
                        "/sys/fs/cgroup/pids/containers.slice/pids.max")


def test_slice_limits_a_run_does_not_name_are_kept_unless_exclusive(docker_host, run_playbook):
    quick = {"cgroups_verify": False}
    run = run_playbook(
        reset_play(mirror=True)
        + role_play(dict(quick, cgroups_slice_limits={"memory_max": "256m", "tasks_max": 100}), name="first")
        + role_play(quick, name="limits left out")  # as a later provision.yml run that sets no limits
        + read_play("kept", SLICE_LIMITS_ON_HOST)
        + role_play(dict(quick, cgroups_slice_limits={"cpu_weight": 50}, cgroups_slice_limits_exclusive=True),
                    name="exclusive")
        + read_play("exclusive on host", SLICE_LIMITS_ON_HOST),
        inventory=docker_host)
    assert run.rc == 0, str(run)
    first, left_out, exclusive = [r["result"] for r in run.results("Make the slice with the limits of all containers",
                                                                   HOST)]
    assert first["changed"] is True
    assert left_out["changed"] is False and left_out["kept_limits"] == ["memory_max", "tasks_max"]
    assert left_out["limits"] == {"memory_max": 268435456, "tasks_max": 100}
    assert lines_of(run, "kept") == ["CPUWeight=[not set]", "MemoryMax=268435456", "TasksMax=100",
                                     "268435456", "100"]
    assert exclusive["changed"] is True and exclusive["removed_limits"] == ["memory_max", "tasks_max"]
    assert "took out limits.memory_max, limits.tasks_max" in " ".join(exclusive["warnings"])
    on_host = lines_of(run, "exclusive on host")
    assert on_host[:3] == ["CPUWeight=50", "MemoryMax=infinity", "TasksMax=infinity"]
    assert int(on_host[3]) > 1 << 62 and on_host[4] == "max"


# --------------------------------------------------------------------------
# Bad input: refused before anything changes
# --------------------------------------------------------------------------

def test_bad_input_fails_naming_the_variable_and_changes_nothing(docker_host, run_playbook):
    cases = [
        ({"cgroups_slice_limits": {"memory_max": "lots"}}, "cgroups_slice_limits.memory_max: 'lots' is not a size"),
        ({"cgroups_slice_limits": {"memory_max": "1g", "memory_high": "2g"}},
         "cgroups_slice_limits.memory_high: 2g is above memory_max (1g)"),
        ({"cgroups_slice_limits": {"cpu_weight": 0}}, "cgroups_slice_limits.cpu_weight: 0 is not a CPU weight"),
        ({"cgroups_slice_limits": {"cpu_quota": "1.5"}}, "cgroups_slice_limits.cpu_quota: '1.5' is not a CPU quota"),
        ({"cgroups_slice_limits": {"tasks_max": -1}, "cgroups_unified": True},
         "cgroups_slice_limits.tasks_max: -1 is not a number of tasks"),
        ({"cgroups_slice_limits": {"memory_maxx": "1g"}}, "memory_maxx"),
        ({"cgroups_slice": "system.slice"}, "cgroups_slice must be a slice name of its own"),
        ({"cgroups_slice": "containers"}, "cgroups_slice must be a slice name of its own"),
        # a trailing newline passed the old `match('^...$')` checks
        ({"cgroups_slice": "containers.slice\n"}, "cgroups_slice must be a slice name of its own"),
        ({"cgroups_cgroupfs_path": "/containers\n"}, "cgroups_cgroupfs_path an absolute cgroup path"),
        ({"cgroups_cgroupfs_path": "containers"}, "cgroups_cgroupfs_path an absolute cgroup path"),
        ({"cgroups_driver": "systemd-ish"}, "cgroups_driver"),
        ({"cgroups_verify": "maybe"}, "cgroups_verify"),
        ({"cgroups_slice_limits_exclusive": "sometimes"}, "cgroups_slice_limits_exclusive"),
        ({"cgroups_default_ulimits": {"nofile": "10:5"}},
         "cgroups_default_ulimits.nofile: the soft limit (10) is above the hard limit (5)"),
        ({"cgroups_default_ulimits": {"nofiles": 10}}, "cgroups_default_ulimits.nofiles: unknown ulimit"),
    ]
    tasks = [try_role("case %d" % index, dict(CONVERGED, **variables)) for index, (variables, _w) in enumerate(cases)]
    run = run_playbook(reset_play(mirror=True) + read_play("before", SNAPSHOT)
                       + [{"name": "bad input", "hosts": HOST, "gather_facts": False, "tasks": tasks}]
                       + read_play("after", SNAPSHOT), inventory=docker_host)
    assert run.rc == 0, str(run)
    for index, (_variables, words) in enumerate(cases):
        message = run.result("case %d" % index, HOST)["msg"]
        assert words in message, (index, message)
    assert lines_of(run, "before") == lines_of(run, "after")
    assert "no-grub" in lines_of(run, "after")
    bad_input = [r for r in run.records if r["task"].startswith("dockhand.runtime.cgroups : ")]
    assert bad_input and not [r["task"] for r in bad_input if r["result"].get("changed")]  # nothing but reads
    assert_no_traceback(run)


# --------------------------------------------------------------------------
# Check mode, and check mode of the unified hierarchy (issue 16 #6)
# --------------------------------------------------------------------------

GRUB_TEXT = """# A stand-in written by the test: this lab host boots no boot loader.
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
"""
UNIFIED_GRUB_TEXT = GRUB_TEXT.replace('net.ifnames=0"', 'net.ifnames=0 systemd.unified_cgroup_hierarchy=1"')
FAKE_UPDATE_GRUB = "/usr/local/sbin/update-grub"


def real(task):
    """A task that runs for real in a --check run (setup and reads of the test)."""
    return dict(task, check_mode=False)


def test_check_mode_reports_and_touches_nothing_and_predicts_the_boot_loader(docker_host, run_playbook):
    """Converged (and a second run changes nothing), then --check --diff: the slice, daemon.json and the GRUB
    change are shown and nothing moves; without update-grub check mode gives the real run's warning, and with
    update-grub on the host, cgroups_reboot: true does not fail as "not regenerated"."""
    converged = run_playbook(
        reset_play(mirror=True, image="present") + role_play(CONVERGED, name="converge")
        + role_play(CONVERGED, name="again")
        + [{"name": "grub", "hosts": HOST, "gather_facts": False, "tasks": [
            {"name": "stand-in grub", "ansible.builtin.copy": {"dest": GRUB, "content": GRUB_TEXT, "mode": "0644"}}]}],
        inventory=docker_host)
    assert converged.rc == 0, str(converged)
    again = [r for r in converged.records if r["task"].startswith("dockhand.runtime.cgroups : ")]
    second = again[len(again) // 2:]
    assert not [r["task"] for r in second if r["result"].get("changed")]  # the second run changed nothing

    variables = dict(CONVERGED, cgroups_slice_limits={"memory_max": "256m"}, cgroups_default_ulimits={"nofile": 1024},
                     cgroups_unified=True)
    run = run_playbook(
        [{"name": "snapshot", "hosts": HOST, "gather_facts": False, "tasks": [real(shell("before", SNAPSHOT))]}]
        + role_play(variables, name="no boot loader tool")
        + [{"name": "tool", "hosts": HOST, "gather_facts": False, "tasks": [
            real({"name": "a stand-in update-grub", "ansible.builtin.copy": {
                "dest": FAKE_UPDATE_GRUB, "content": "#!/bin/sh\nexit 0\n", "mode": "0755"}})]}]
        + role_play(dict(variables, cgroups_reboot=True), name="update-grub and a reboot asked")
        + [{"name": "after", "hosts": HOST, "gather_facts": False, "tasks": [
            real({"name": "no stand-in update-grub", "ansible.builtin.file": {
                "path": FAKE_UPDATE_GRUB, "state": "absent"}}),
            real(shell("after", SNAPSHOT + "; cat %s" % GRUB))]}],
        inventory=docker_host, check=True, diff=True)
    assert run.rc == 0, str(run)
    slice_result = run.result("Make the slice with the limits of all containers", HOST)
    assert slice_result["changed"] is True
    assert slice_result["actions"] == ["write %s" % SLICE_FILE, "systemctl daemon-reload"]
    assert "+MemoryMax=268435456" in run.output and "-MemoryMax=536870912" in run.output
    assert "-TasksMax=2048" not in run.output  # kept: not named, not exclusive
    docker = run.result("Point dockerd at the slice, with the driver and the default ulimits", HOST)
    assert docker["changed"] is True and docker["changed_keys"] == ["default-ulimits"]
    assert docker["applied"] == "restart"
    assert run.status("Start a throwaway container", HOST) == "skipped"
    without_tool, with_tool = [r["result"] for r in run.results(
        "Ask for the unified hierarchy on the kernel command line", HOST)]
    assert without_tool["bootloader_updated"] is False
    assert "neither update-grub nor grub2-mkconfig" in " ".join(without_tool.get("warnings", []))
    assert '+GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0 systemd.unified_cgroup_hierarchy=1"' in run.output
    assert with_tool["bootloader_updated"] is True and with_tool["bootloader_command"] == [FAKE_UPDATE_GRUB]
    assert not [r for r in run.records if r["status"] == "failed"]  # no "not regenerated" in check mode
    assert [r["status"] for r in run.results("Reboot into the unified hierarchy", HOST)] == ["skipped", "skipped"]
    before, after = lines_of(run, "before"), lines_of(run, "after")
    assert after[:len(before)] == before and "\n".join(after[len(before):]) + "\n" == GRUB_TEXT


# --------------------------------------------------------------------------
# A refused dockerd change removes the slice the run created
# --------------------------------------------------------------------------

def test_refused_docker_change_removes_the_slice_it_created(docker_host, run_playbook):
    """dockerd's unit sets --default-ulimit, so daemon_config refuses default-ulimits: the new slice goes too."""
    variables = dict(CONVERGED, cgroups_slice="dhfault.slice", cgroups_default_ulimits={"nofile": 5000})
    drop_in = ("[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// "
               "--containerd=/run/containerd/containerd.sock --default-ulimit nofile=1024:2048\n")
    run = run_playbook(reset_play(mirror=True) + [
        {"name": "unit with a conflicting flag", "hosts": HOST, "gather_facts": False, "tasks": [
            {"name": "drop-in directory", "ansible.builtin.file": {
                "path": os.path.dirname(DOCKERD_FLAGS_DROP_IN), "state": "directory", "mode": "0755"}},
            {"name": "drop-in", "ansible.builtin.copy": {"dest": DOCKERD_FLAGS_DROP_IN, "content": drop_in,
                                                         "mode": "0644"}},
            {"name": "reload units", "ansible.builtin.systemd_service": {"daemon_reload": True}},
            shell("before", SNAPSHOT)]},
        {"name": "the role", "hosts": HOST, "gather_facts": False, "tasks": [try_role("refused", variables)]},
        # systemd answers for any slice name (LoadState=loaded, no FragmentPath): look at what is left of this
        # one: an active unit, its file, its cgroup.
        read_play("after", SNAPSHOT)[0],
        read_play("fault slice", "systemctl show -p ActiveState,FragmentPath dhfault.slice; "
                                 "test -e /etc/systemd/system/dhfault.slice && echo file || echo no-file; "
                                 "test -d /sys/fs/cgroup/memory/dhfault.slice && echo dir || echo no-dir")[0],
    ], inventory=docker_host)
    assert run.rc == 0, str(run)
    created = run.result("Make the slice with the limits of all containers", HOST)
    assert created["changed"] is True and created["created"] is True
    removed = run.result("Remove the slice this run created, so nothing is left half-configured", HOST)
    assert removed["changed"] is True
    message = run.result("refused", HOST)["msg"]
    assert "--default-ulimit" in message and "fix_unit_conflicts" in message and "Nothing was written" in message
    assert lines_of(run, "fault slice") == ["ActiveState=inactive", "FragmentPath=", "no-file", "no-dir"]
    assert lines_of(run, "before") == lines_of(run, "after")
    assert_no_traceback(run)


# --------------------------------------------------------------------------
# The cgroupfs driver, read back from the host (issue 14 #3)
# --------------------------------------------------------------------------

def test_cgroupfs_driver_puts_containers_under_the_directory(docker_host, run_playbook):
    variables = dict(CONVERGED, cgroups_driver="cgroupfs", cgroups_cgroupfs_path="/dhcontainers")
    on_host = ("cat /sys/fs/cgroup/memory/dhcontainers/memory.limit_in_bytes /sys/fs/cgroup/cpu/dhcontainers/"
               "cpu.cfs_quota_us /sys/fs/cgroup/cpu/dhcontainers/cpu.cfs_period_us /sys/fs/cgroup/cpu/dhcontainers/"
               "cpu.shares /sys/fs/cgroup/pids/dhcontainers/pids.max; "
               "python3 -c 'import json; print(json.dumps(json.load(open(\"%s\"))))'; "
               "docker info --format '{{.CgroupDriver}}'" % DAEMON_JSON)
    run = run_playbook(reset_play(mirror=True, image="present")
                       + role_play(variables, report("report 1")) + read_play("host", on_host)
                       + role_play(variables, report("report 2")), inventory=docker_host)
    assert run.rc == 0, str(run)
    first, second = [r["result"]["cgroups_report"] for r in run.results("report 1", HOST) + run.results("report 2",
                                                                                                        HOST)]
    assert (first["driver"], first["cgroup_parent"], first["proof"]) == ("cgroupfs", "/dhcontainers", "container")
    host = lines_of(run, "host")
    assert host[:5] == ["536870912", "150000", "100000", "2048", "2048"]  # cpu.shares = weight 200 x 1024 / 100
    assert json.loads(host[5]) == {"registry-mirrors": ["http://dockhand-lab-cache:5001"],
                                   "exec-opts": ["native.cgroupdriver=cgroupfs"], "cgroup-parent": "/dhcontainers",
                                   "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 4096, "Hard": 8192}}}
    assert host[6] == "cgroupfs"
    checked = run.results("Check its cgroup path, memory limit and ulimits", HOST)
    assert "runs in /dhcontainers/" in checked[0]["result"]["msg"] and "536870912 bytes" in checked[0]["result"]["msg"]
    made = run.results("Make the slice with the limits of all containers", HOST)
    assert made[0]["result"]["created"] is True and made[1]["result"]["changed"] is False
    docker = run.results("Point dockerd at the slice, with the driver and the default ulimits", HOST)
    assert docker[0]["result"]["applied"] == "restart" and docker[1]["result"]["changed"] is False
    assert second["proof"] == "container"


# --------------------------------------------------------------------------
# The unified hierarchy, asked for once
# --------------------------------------------------------------------------

def test_unified_hierarchy_is_asked_for_once_and_reported(docker_host, run_playbook, docker_cli):
    variables = dict(CONVERGED, cgroups_unified=True, cgroups_verify=False)
    started = docker_cli("inspect", "-f", "{{.State.StartedAt}}", HOST)
    run = run_playbook(
        reset_play(mirror=True)
        + [{"name": "stand-in grub", "hosts": HOST, "gather_facts": False, "tasks": [
            {"name": "write it", "ansible.builtin.copy": {"dest": GRUB, "content": GRUB_TEXT, "mode": "0644"}}]}]
        + role_play(variables, report()) + role_play(variables, report())
        + read_play("grub", "cat %s; ls %s.dockhand-bootloader-pending" % (GRUB, GRUB))
        + [{"name": "reboot asked", "hosts": HOST, "gather_facts": False,
            "tasks": [try_role("refused", dict(variables, cgroups_reboot=True))]}],
        inventory=docker_host)
    assert run.rc == 0, str(run)
    edits = run.results("Ask for the unified hierarchy on the kernel command line", HOST)
    assert edits[0]["result"]["changed"] is True and edits[1]["result"]["changed"] is False
    assert edits[0]["result"]["after"] == "console=ttyS0,115200 net.ifnames=0 systemd.unified_cgroup_hierarchy=1"
    assert edits[0]["result"]["bootloader_updated"] is False
    assert "neither update-grub nor grub2-mkconfig" in " ".join(edits[0]["result"].get("warnings", []))
    reports = [r["result"]["cgroups_report"] for r in run.results("report", HOST)]
    assert [r["reboot_required"] for r in reports] == [True, True]
    assert reports[1]["hierarchy"] == "hybrid"
    grub = lines_of(run, "grub")
    assert "\n".join(grub[:-1]) + "\n" == UNIFIED_GRUB_TEXT
    assert grub[-1] == GRUB + ".dockhand-bootloader-pending"
    refused = run.result("refused", HOST)["msg"]
    assert "boot loader configuration was not" in refused and "regenerated" in refused
    assert run.status("Reboot into the unified hierarchy", HOST) == "skipped"
    assert docker_cli("inspect", "-f", "{{.State.StartedAt}}", HOST) == started  # the host was not rebooted


# --------------------------------------------------------------------------
# cgroup_info and cgroup_slice on the host: the hierarchy it really has, bad input, injection, the lock
# --------------------------------------------------------------------------

# Another run holding a file's lock as files.locked takes it: until a release file appears (or 120 s).
HOLD_LOCK = ("import fcntl, os, time; fd = os.open('%s', os.O_RDWR | os.O_CREAT, 0o600); "
             "fcntl.flock(fd, fcntl.LOCK_EX); open('%s', 'w').close(); deadline = time.time() + 120\n"
             "while not os.path.exists('%s') and time.time() < deadline: time.sleep(0.1)")


def test_cgroup_info_and_cgroup_slice_on_the_host(docker_host, run_playbook):
    """cgroup_info reports what host7's mounts say (read here with awk, not with the module's parser); bad
    input gets a clear error; a slice description that would add a directive is refused and the unit file
    stays as it was; a run waits for another run's lock on the unit file, then fails naming it."""
    unit = "/etc/systemd/system/dhtest.slice"
    held, release = "/run/dhtest-lock-held", "/run/dhtest-lock-release"
    injected = "Limits\nMemoryMax=infinity\nExecStartPre=/bin/touch /tmp/x"
    hold_lock = HOLD_LOCK % (lock_path(unit), held, release)

    def attempt(name, module, args, **extra):
        return dict({"name": name, module: args, "ignore_errors": True}, **extra)

    run = run_playbook(reset_play(mirror=True) + [{"name": "modules", "hosts": HOST, "gather_facts": False, "tasks": [
        shell("mounts", "awk '$3 == \"cgroup2\" {print \"unified \" $2} $3 == \"cgroup\" {print \"v1 \" $4}' "
                        "/proc/self/mounts"),
        {"name": "info", "dockhand.runtime.cgroup_info": {}},
        {"name": "pid 1", "dockhand.runtime.cgroup_info": {"pid": 1}},
        attempt("pid 0", "dockhand.runtime.cgroup_info", {"pid": 0}),
        attempt("pid -4", "dockhand.runtime.cgroup_info", {"pid": -4}),
        attempt("pid word", "dockhand.runtime.cgroup_info", {"pid": "one"}),
        {"name": "no such pid", "dockhand.runtime.cgroup_info": {"pid": 4194304}},
        {"name": "a slice", "dockhand.runtime.cgroup_slice": {"name": "dhtest.slice", "limits": {"tasks_max": 50}}},
        shell("unit before", "sha256sum %s" % unit),
        attempt("injected description", "dockhand.runtime.cgroup_slice", {
            "name": "dhtest.slice", "limits": {"tasks_max": 60}, "description": injected}),
        attempt("name with a newline", "dockhand.runtime.cgroup_slice", {"name": "dhtest.slice\n"}),
        shell("unit after", "sha256sum %s; systemctl show -p TasksMax dhtest.slice; test -e /tmp/x || echo no-x"
              % unit),
        {"name": "hold the lock", "ansible.builtin.command": {"argv": ["python3", "-c", hold_lock]},
         "async": 150, "poll": 0, "register": "holding", "changed_when": False},
        {"name": "wait until it is held", "ansible.builtin.wait_for": {"path": held}},
        attempt("locked", "dockhand.runtime.cgroup_slice", {
            "name": "dhtest.slice", "limits": {"tasks_max": 70}, "lock_timeout": 1}),
        {"name": "let it go", "ansible.builtin.file": {"path": release, "state": "touch", "mode": "0600"}},
        {"name": "until it has", "ansible.builtin.async_status": {"jid": "{{ holding.ansible_job_id }}"},
         "register": "released", "until": "released.finished", "retries": 30, "delay": 1},
        {"name": "after the lock", "dockhand.runtime.cgroup_slice": {"name": "dhtest.slice",
                                                                     "limits": {"tasks_max": 70}}},
        {"name": "clean up", "ansible.builtin.file": {"path": "{{ item }}", "state": "absent"},
         "loop": [held, release]},
    ]}], inventory=docker_host)
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    mounts = lines_of(run, "mounts")
    v1 = sorted({option for line in mounts if line.startswith("v1 ") for option in line[3:].split(",")
                 if option in ("cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer",
                               "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc")})
    info = run.result("info", HOST)
    assert info["host_cgroup"]["version"] == "hybrid"  # the lab: v1 controllers plus cgroup2 at .../unified
    assert ["unified " + info["host_cgroup"]["unified_mount"]] == [m for m in mounts if m.startswith("unified ")]
    assert info["host_cgroup"]["controllers"] == v1 and "memory" in v1 and "pids" in v1
    assert (info["systemd"], info["init"]) == (True, "systemd")
    process = run.result("pid 1", HOST)["process"]
    assert process["pid"] == 1 and process["slice"] is None and process["can_raise_limits"] is False
    assert process["ulimits"]["nofile"] == {"soft": 20000, "hard": 20000}  # the lab hosts' limit
    assert run.result("pid 0", HOST)["msg"] == "pid: 0 is not a process ID; give a positive number"
    assert run.result("pid -4", HOST)["msg"] == "pid: -4 is not a process ID; give a positive number"
    assert "pid" in run.result("pid word", HOST)["msg"] and run.status("pid word", HOST) == "failed"
    assert run.result("no such pid", HOST)["process"] is None
    assert "description: " in run.result("injected description", HOST)["msg"]
    assert "cannot be a unit's description" in run.result("injected description", HOST)["msg"]
    assert "is not a slice name" in run.result("name with a newline", HOST)["msg"]
    after = lines_of(run, "unit after")
    assert after == lines_of(run, "unit before") + ["TasksMax=50", "no-x"]
    locked = run.result("locked", HOST)
    assert run.status("locked", HOST) == "failed"
    assert "another run has been changing %s for more than 1 s" % unit in locked["msg"], locked
    assert run.result("after the lock", HOST)["changed"] is True
