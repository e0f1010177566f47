"""The cgroups role on the lab's host7: its Molecule scenario, then bad input, faults, check mode,
the cgroupfs driver and the move to the unified hierarchy.

host7 is a Debian 12 container that boots systemd in a private cgroup namespace on this machine's
hybrid hierarchy (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified). Its systemd creates
slices in the v1 controllers and applies MemoryMax= as memory.limit_in_bytes, so a container under
the slice shows the slice's limit as hierarchical_memory_limit in its memory.stat. MemoryHigh=
has no v1 equivalent and cannot be proven here.
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
HUB = "dockhand-lab-hub:5000"
ROLE_DIR = os.path.join(REPO_ROOT, "roles", "cgroups")
DAEMON_JSON = "/etc/docker/daemon.json"
SLICE_FILE = "/etc/systemd/system/containers.slice"
GRUB = "/etc/default/grub"
# The converge vars of the Molecule scenario: what host7 holds after it.
CONVERGED = {
    "cgroups_driver": "auto",
    "cgroups_slice": "containers.slice",
    "cgroups_slice_limits": {"memory_max": "512m", "cpu_quota": "150%", "cpu_weight": 200, "tasks_max": 2048},
    "cgroups_default_ulimits": {"nofile": {"soft": 4096, "hard": 8192}},
    "cgroups_verify_image": HUB + "/library/busybox:latest",
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DOCKERD_FLAGS_DROP_IN = "/etc/systemd/system/docker.service.d/50-dockhand-test-ulimit.conf"


def role_play(variables, post_tasks=None):
    return [{"name": "cgroups role", "hosts": HOST, "gather_facts": False,
             "roles": [{"role": "dockhand.runtime.cgroups", "vars": variables}],
             "post_tasks": post_tasks or []}]


def shell(name, command):
    return {"name": name, "ansible.builtin.shell": "{% raw %}" + command + "{% endraw %}", "changed_when": False}


REPORT = [{"name": "report", "ansible.builtin.debug": {"var": "cgroups_report"}}]
# What must not move when the role refuses its input: the files it owns and dockerd's process.
SNAPSHOT = ("sha256sum %s %s 2>&1; systemctl show -p MainPID --value docker; "
            "test -e %s && echo grub-present || echo no-grub" % (DAEMON_JSON, SLICE_FILE, GRUB))


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
    assert slices[0]["result"]["files"]["/sys/fs/cgroup/memory/containers.slice/memory.limit_in_bytes"] == \
        "536870912"
    checked = records_of(scenario, "Check its cgroup path, memory limit and ulimits")
    assert checked and "/containers.slice/docker-" in checked[0]["result"]["msg"]
    assert "536870912 bytes" in checked[0]["result"]["msg"]


def test_bad_input_fails_naming_the_variable_and_changes_nothing(scenario, run_playbook):
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
        ({"cgroups_cgroupfs_path": "containers"}, "cgroups_cgroupfs_path an absolute cgroup path"),
        ({"cgroups_driver": "systemd-ish"}, "cgroups_driver"),
        ({"cgroups_default_ulimits": {"nofile": "10:5"}},
         "cgroups_default_ulimits.nofile: the soft limit (10) is above the hard limit (5)"),
        ({"cgroups_default_ulimits": {"nofiles": 10}}, "cgroups_default_ulimits.nofiles: unknown ulimit"),
    ]
    tasks = [shell("before", SNAPSHOT)]
    for index, (variables, _words) in enumerate(cases):
        merged = dict(CONVERGED)
        merged.update(variables)
        tasks.append({"name": "try %d" % index, "block": [
            {"name": "role %d" % index, "ansible.builtin.include_role": {"name": "dockhand.runtime.cgroups"},
             "vars": merged},
            {"name": "case %d" % index, "ansible.builtin.debug": {"msg": "NOT REFUSED"}},
        ], "rescue": [
            {"name": "case %d" % index, "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg }}"}},
        ]})
    tasks.append(shell("after", SNAPSHOT))
    run = run_playbook([{"name": "bad input", "hosts": HOST, "gather_facts": False, "tasks": tasks}],
                       inventory=scenario["inventory"])
    assert run.rc == 0, str(run)
    for index, (_variables, words) in enumerate(cases):
        message = run.result("case %d" % index, HOST)["msg"]
        assert words in message, (index, message)
        assert "Traceback" not in message
    assert run.result("before", HOST)["stdout"] == run.result("after", HOST)["stdout"]
    assert "no-grub" in run.result("after", HOST)["stdout"]
    # nothing but reads ran on the host
    changed = [r["task"] for r in run.records if r["result"].get("changed")]
    assert changed == [], changed
    assert_no_traceback(run)


def test_check_mode_reports_and_touches_nothing(scenario, run_playbook):
    variables = dict(CONVERGED, cgroups_slice_limits={"memory_max": "256m"},
                     cgroups_default_ulimits={"nofile": 1024})
    before = run_playbook([{"name": "s", "hosts": HOST, "gather_facts": False, "tasks": [shell("s", SNAPSHOT)]}],
                          inventory=scenario["inventory"])
    run = run_playbook(role_play(variables), inventory=scenario["inventory"], check=True, diff=True)
    after = run_playbook([{"name": "s", "hosts": HOST, "gather_facts": False, "tasks": [shell("s", SNAPSHOT)]}],
                         inventory=scenario["inventory"])
    assert run.rc == 0, str(run)
    slice_result = run.result("Make the slice with the limits of all containers", HOST)
    assert slice_result["changed"] is True
    assert slice_result["actions"] == ["write %s" % SLICE_FILE, "systemctl daemon-reload"]
    assert "+MemoryMax=268435456" in run.output and "-MemoryMax=536870912" in run.output
    docker = run.result("Point dockerd at the slice, with the driver and the default ulimits", HOST)
    assert docker["changed"] is True and docker["changed_keys"] == ["default-ulimits"]
    assert docker["applied"] == "restart"
    assert before.result("s", HOST)["stdout"] == after.result("s", HOST)["stdout"]
    assert run.status("Start a throwaway container", HOST) == "skipped"


def test_refused_docker_change_removes_the_slice_it_created(scenario, run_playbook):
    """dockerd's unit sets --default-ulimit, so daemon_config refuses default-ulimits: the new slice goes too."""
    variables = dict(CONVERGED, cgroups_slice="dhfault.slice", cgroups_default_ulimits={"nofile": 5000})
    drop_in = ("[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// "
               "--containerd=/run/containerd/containerd.sock --default-ulimit nofile=1024:2048\n")
    run = run_playbook([
        {"name": "unit with a conflicting flag", "hosts": HOST, "gather_facts": False, "tasks": [
            {"name": "drop-in directory", "ansible.builtin.file": {
                "path": os.path.dirname(DOCKERD_FLAGS_DROP_IN), "state": "directory", "mode": "0755"}},
            {"name": "drop-in", "ansible.builtin.copy": {"dest": DOCKERD_FLAGS_DROP_IN, "content": drop_in}},
            shell("reload units", "systemctl daemon-reload"),
            shell("before", SNAPSHOT)]},
        {"name": "the role", "hosts": HOST, "gather_facts": False, "tasks": [{"name": "try", "block": [
            {"name": "role", "ansible.builtin.include_role": {"name": "dockhand.runtime.cgroups"},
             "vars": variables}],
            "rescue": [{"name": "refused", "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg }}"}}],
            "always": [
                {"name": "back to the packaged unit", "ansible.builtin.file": {
                    "path": DOCKERD_FLAGS_DROP_IN, "state": "absent"}},
                shell("reload units again", "systemctl daemon-reload"),
                shell("after", SNAPSHOT),
                # systemd answers for any slice name (LoadState=loaded, no FragmentPath): look at
                # what is left of this one: an active unit, its file, its cgroup.
                shell("fault slice", "systemctl show -p ActiveState,FragmentPath dhfault.slice; "
                                     "test -e /etc/systemd/system/dhfault.slice && echo file || echo no-file; "
                                     "test -d /sys/fs/cgroup/memory/dhfault.slice && echo dir || echo no-dir")]}]},
    ], inventory=scenario["inventory"])
    assert run.rc == 0, str(run)
    created = run.result("Make the slice with the limits of all containers", HOST)
    assert created["changed"] is True and created["created"] is True
    removed = run.result("Remove the slice this run created, so nothing is left half-configured", HOST)
    assert removed["changed"] is True
    message = run.result("refused", HOST)["msg"]
    assert "--default-ulimit" in message and "fix_unit_conflicts" in message and "Nothing was written" in message
    assert run.result("fault slice", HOST)["stdout_lines"] == ["ActiveState=inactive", "FragmentPath=", "no-file",
                                                               "no-dir"]
    assert run.result("before", HOST)["stdout"] == run.result("after", HOST)["stdout"]
    assert_no_traceback(run)


def test_cgroupfs_driver_puts_containers_under_the_directory(scenario, run_playbook):
    variables = dict(CONVERGED, cgroups_driver="cgroupfs", cgroups_cgroupfs_path="/dhcontainers")
    try:
        run = run_playbook(role_play(variables, REPORT) + role_play(variables, REPORT), inventory=scenario["inventory"])
        assert run.rc == 0, str(run)
        first, second = run.results("report", HOST)
        assert first["result"]["cgroups_report"]["driver"] == "cgroupfs"
        assert first["result"]["cgroups_report"]["cgroup_parent"] == "/dhcontainers"
        assert first["result"]["cgroups_report"]["verified"] is True
        made = run.results("Make the slice with the limits of all containers", HOST)
        assert made[0]["result"]["manager"] == "cgroupfs" and made[0]["result"]["created"] is True
        assert made[0]["result"]["files"]["/sys/fs/cgroup/memory/dhcontainers/memory.limit_in_bytes"] == "536870912"
        assert made[0]["result"]["files"]["/sys/fs/cgroup/cpu/dhcontainers/cpu.cfs_quota_us"] == "150000"
        assert made[1]["result"]["changed"] is False  # the second run finds every file as wanted
        docker = run.results("Point dockerd at the slice, with the driver and the default ulimits", HOST)
        assert docker[0]["result"]["applied"] == "restart" and docker[1]["result"]["changed"] is False
        checked = run.results("Check its cgroup path, memory limit and ulimits", HOST)
        assert "runs in /dhcontainers/" in checked[0]["result"]["msg"]
        assert "536870912 bytes" in checked[0]["result"]["msg"]
    finally:
        back = run_playbook(role_play(CONVERGED, [
            {"name": "remove the directory", "dockhand.runtime.cgroup_slice": {
                "name": "containers.slice", "manager": "cgroupfs", "path": "/dhcontainers", "state": "absent"}}]),
            inventory=scenario["inventory"])
        assert back.rc == 0, str(back)


GRUB_TEXT = """# A stand-in written by the test: this lab host boots no boot loader.
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
"""


def test_unified_hierarchy_is_asked_for_once_and_reported(scenario, run_playbook, docker_cli):
    variables = dict(CONVERGED, cgroups_unified=True, cgroups_verify=False)
    started = docker_cli("inspect", "-f", "{{.State.StartedAt}}", HOST)
    try:
        run = run_playbook(
            [{"name": "fake grub", "hosts": HOST, "gather_facts": False, "tasks": [
                {"name": "write it", "ansible.builtin.copy": {"dest": GRUB, "content": GRUB_TEXT}}]}]
            + role_play(variables, REPORT) + role_play(variables, REPORT)
            + [{"name": "read", "hosts": HOST, "gather_facts": False, "tasks": [
                {"name": "grub", "ansible.builtin.slurp": {"src": GRUB}}]}]
            + [{"name": "reboot asked", "hosts": HOST, "gather_facts": False, "tasks": [{"name": "try", "block": [
                {"name": "role", "ansible.builtin.include_role": {"name": "dockhand.runtime.cgroups"},
                 "vars": dict(variables, cgroups_reboot=True)}],
                "rescue": [{"name": "refused", "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg }}"}}],
            }]}],
            inventory=scenario["inventory"])
        assert run.rc == 0, str(run)
        edits = run.results("Ask for the unified hierarchy on the kernel command line", HOST)
        assert edits[0]["result"]["changed"] is True and edits[1]["result"]["changed"] is False
        assert edits[0]["result"]["after"] == "console=ttyS0,115200 net.ifnames=0 systemd.unified_cgroup_hierarchy=1"
        assert edits[0]["result"]["bootloader_updated"] is False
        assert "neither update-grub nor grub2-mkconfig" in " ".join(edits[0]["result"].get("warnings", []))
        reports = run.results("report", HOST)
        assert reports[0]["result"]["cgroups_report"]["reboot_required"] is True
        assert reports[1]["result"]["cgroups_report"]["reboot_required"] is True
        assert reports[1]["result"]["cgroups_report"]["hierarchy"] == "hybrid"
        text = base64.b64decode(run.result("grub", HOST)["content"]).decode()
        assert text == GRUB_TEXT.replace('net.ifnames=0"', 'net.ifnames=0 systemd.unified_cgroup_hierarchy=1"')
        refused = run.result("refused", HOST)["msg"]
        assert "boot loader configuration was not" in refused and "regenerated" in refused
        assert run.status("Reboot into the unified hierarchy", HOST) == "skipped"
        # the second run of the whole role changed nothing
        second_play = [r for r in run.records if r["result"].get("changed")]
        assert [r["task"] for r in second_play].count("dockhand.runtime.cgroups : "
                                                      "Ask for the unified hierarchy on the kernel command line") == 1
    finally:
        cleanup = run_playbook([{"name": "no grub", "hosts": HOST, "gather_facts": False, "tasks": [
            shell("remove it", "rm -f %s %s.dockhand-bootloader-pending" % (GRUB, GRUB))]}],
            inventory=scenario["inventory"])
        assert cleanup.rc == 0, str(cleanup)
    assert docker_cli("inspect", "-f", "{{.State.StartedAt}}", HOST) == started  # the host was not rebooted


def test_role_run_is_fast_when_nothing_changes(scenario, run_playbook):
    """A re-run of the converged role is a no-op; print how long it takes (no timed assertion)."""
    run = run_playbook(role_play(CONVERGED), inventory=scenario["inventory"])
    assert run.rc == 0, str(run)
    assert [r["task"] for r in run.records if r["result"].get("changed")] == []
    print("cgroups role no-op run on %s: %.1f s" % (HOST, run.seconds))
