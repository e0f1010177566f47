"""container_info and kernel_cmdline through ansible-playbook with the local connection: bad input, the
container's PID as the engine reports it, and kernel_cmdline in check and diff mode.

Nothing here touches a lab host or this machine's boot configuration: kernel_cmdline edits stand-in GRUB
files under tmp_path, and finds (or not) a stand-in update-grub on a PATH the test gives it. The modules
that change a host's cgroups (cgroup_slice) and cgroup_info are tested on host7 in test_cgroups_role.py.
"""

import os
import uuid

import pytest
from conftest import assert_no_traceback, local_play

from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import lock_path

GRUB_TEXT = """# A stand-in written by the test.
GRUB_DEFAULT=0
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
"""
UNIFIED = {"systemd.unified_cgroup_hierarchy": "1"}
LAB_IMAGE = "dockhand-lab/busybox:latest"  # built by tests/lab/lab setup on this machine
# Another run that holds a file's lock as files.locked takes it: lock file, marker that it holds it, and the
# file whose appearance lets it go (or 120 s).
HOLD_LOCK = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
             "fcntl.flock(fd, fcntl.LOCK_EX); open(sys.argv[2], 'w').close(); deadline = time.time() + 120\n"
             "while not os.path.exists(sys.argv[3]) and time.time() < deadline: time.sleep(0.1)")


def attempt(name, module, args, **extra):
    """A task that may fail: its result is recorded under ``name`` and the play goes on."""
    task = {"name": name, module: args, "ignore_errors": True}
    task.update(extra)
    return task


# --------------------------------------------------------------------------
# container_info
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    ({}, "give exactly one of name (one container), labels (containers carrying the labels) and every (every "
         "container on the host); this task gives none of them"),
    ({"name": "web", "labels": {"a": "b"}}, "this task gives name and labels"),
    ({"labels": {"a": "b"}, "every": True}, "this task gives labels and every"),
    ({"name": "  "}, "name is empty; give a container's name"),
    ({"labels": {}}, "labels is empty; give at least one label"),
    ({"labels": {" ": "x"}}, "labels has an empty key"),
    ({"name": "web", "all": "sometimes"}, "all"),
    ({"name": "web", "docker_host": "ftp://nowhere"}, "docker_host"),
])
def test_container_info_refuses_bad_input(run_playbook, args, words):
    run = run_playbook(local_play([attempt("info", "dockhand.runtime.container_info", args)]))
    assert run.rc == 0, str(run)
    result = run.result("info")
    assert run.status("info") == "failed" and words in result["msg"], result
    assert_no_traceback(run)


@pytest.mark.engine
def test_container_info_gives_the_pid_the_engine_reports(run_playbook, docker_cli):
    name = "dh-cgroups-pid-%s" % uuid.uuid4().hex[:8]
    docker_cli("run", "--detach", "--name", name, "--label", "dh.test=cgroups", LAB_IMAGE, "sleep", "60")
    try:
        run = run_playbook(local_play([
            {"name": "by name", "dockhand.runtime.container_info": {"name": name}},
            {"name": "by label", "dockhand.runtime.container_info": {"labels": {"dh.test": "cgroups"}}},
            {"name": "absent", "dockhand.runtime.container_info": {"name": name + "-absent"}},
        ]))
        engine_pid = int(docker_cli("inspect", "-f", "{{.State.Pid}}", name))
        container_id = docker_cli("inspect", "-f", "{{.Id}}", name)
        docker_cli("stop", "-t", "0", name)
        stopped = run_playbook(local_play([{"name": "stopped", "dockhand.runtime.container_info": {"name": name}}]))
    finally:
        docker_cli("rm", "-f", name)
    assert run.rc == 0 and stopped.rc == 0, str(run) + str(stopped)
    found = run.result("by name")["containers"]
    assert [c["pid"] for c in found] == [engine_pid] and engine_pid > 0
    assert [c["id"] for c in found] == [container_id]
    listed = [c for c in run.result("by label")["containers"] if c["name"] == name]
    assert len(listed) == 1 and listed[0]["pid"] is None  # the listing does not carry it
    assert run.result("absent")["exists"] is False and run.result("absent")["containers"] == []
    assert stopped.result("stopped")["containers"][0]["pid"] == 0


# --------------------------------------------------------------------------
# kernel_cmdline: check mode, diff mode, bad input, the lock
# --------------------------------------------------------------------------

def grub_task(name, path, args=None, **extra):
    options = {"path": str(path), "args": UNIFIED if args is None else args}
    options.update(extra.pop("options", {}))
    task = attempt(name, "dockhand.runtime.kernel_cmdline", options)
    task.update(extra)
    return task


def fake_update_grub(directory):
    """A stand-in update-grub that records that it ran."""
    directory.mkdir()
    tool = directory / "update-grub"
    tool.write_text("#!/bin/sh\necho ran >> %s\n" % (directory / "ran"))
    tool.chmod(0o755)
    return directory


def test_kernel_cmdline_check_and_diff_mode_predict_the_real_run(run_playbook, tmp_path):
    """Check mode shows the diff, finds update-grub the way the real run does (on PATH), or gives the real
    run's warning that there is none; it touches nothing. The real runs that follow do as predicted."""
    without, with_tool = tmp_path / "without" / "grub", tmp_path / "with" / "grub"
    for path in (without, with_tool):
        path.parent.mkdir()
        path.write_text(GRUB_TEXT)
    tools = fake_update_grub(tmp_path / "bin")
    path_with_tool = "%s:%s" % (tools, os.environ.get("PATH", "/usr/bin:/bin"))
    run = run_playbook(local_play([
        grub_task("check without", without, check_mode=True, diff=True),
        grub_task("check with", with_tool, check_mode=True, diff=True, environment={"PATH": path_with_tool}),
        grub_task("real without", without),
        grub_task("real with", with_tool, environment={"PATH": path_with_tool}),
        grub_task("again with", with_tool, check_mode=True, environment={"PATH": path_with_tool}),
    ]), diff=True)
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    check_without, real_without = run.result("check without"), run.result("real without")
    assert check_without["changed"] is True and check_without["bootloader_updated"] is False
    warning = [w for w in check_without.get("warnings", []) if "neither update-grub nor grub2-mkconfig" in w]
    assert warning and warning == [w for w in real_without["warnings"] if "neither update-grub" in w]
    assert check_without["diff"]["after"] == GRUB_TEXT.replace(
        'net.ifnames=0"', 'net.ifnames=0 systemd.unified_cgroup_hierarchy=1"')
    assert check_without["diff"]["before"] == GRUB_TEXT
    assert '+GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0 systemd.unified_cgroup_hierarchy=1"' in run.output
    check_with, real_with = run.result("check with"), run.result("real with")
    assert check_with["bootloader_updated"] is True and check_with["bootloader_command"] == [str(tools / "update-grub")]
    assert "warnings" not in check_with or not check_with["warnings"]
    assert (real_with["bootloader_updated"], real_with["bootloader_command"]) == \
        (True, check_with["bootloader_command"])
    assert (tools / "ran").read_text() == "ran\n"  # once: by the real run, never in check mode
    assert run.result("again with")["changed"] is False
    # the real runs changed the files as check mode showed; the tool-less one left a marker to regenerate later
    assert without.read_text() == with_tool.read_text() == check_without["diff"]["after"]
    assert os.path.exists(str(without) + ".dockhand-bootloader-pending")


@pytest.mark.parametrize("args, options, words", [
    ({"systemd.unified_cgroup_hierarchy\nGRUB_DISABLE_RECOVERY": "true"}, {}, "is not a kernel argument name"),
    ({"systemd.unified_cgroup_hierarchy": "1\nGRUB_DISABLE_RECOVERY=true"}, {}, "control characters"),
    ({"quiet": "$(reboot)"}, {}, "'$'"),
    ({}, {"remove": ["quiet\n"]}, "remove: 'quiet\\n' is not a kernel argument name"),
    ({"a": "1"}, {"variable": "GRUB_CMDLINE"}, "variable"),
    ({"a": "1"}, {"lock_timeout": "soon"}, "lock_timeout"),
])
def test_kernel_cmdline_refuses_bad_input_and_changes_nothing(run_playbook, tmp_path, args, options, words):
    (tmp_path / "etc").mkdir()
    grub = tmp_path / "etc" / "grub"
    grub.write_text(GRUB_TEXT)
    run = run_playbook(local_play([grub_task("edit", grub, args, options=options)]))
    assert run.rc == 0, str(run)
    result = run.result("edit")
    assert run.status("edit") == "failed" and words in result["msg"], result
    assert grub.read_text() == GRUB_TEXT
    assert sorted(os.listdir(str(grub.parent))) == ["grub"]  # no backup, temporary file or marker
    assert_no_traceback(run)


def test_kernel_cmdline_waits_for_the_lock_of_another_run(run_playbook, tmp_path):
    """Another run holds the GRUB file's lock (files.locked): this one waits lock_timeout, then fails
    naming the file and the lock, and changes nothing."""
    grub = tmp_path / "grub"
    grub.write_text(GRUB_TEXT)
    held, release = tmp_path / "held", tmp_path / "release"
    run = run_playbook(local_play([
        {"name": "hold the lock", "ansible.builtin.command": {
            "argv": ["{{ ansible_playbook_python }}", "-c", HOLD_LOCK, lock_path(str(grub)), str(held), str(release)]},
         "async": 150, "poll": 0, "register": "holding"},
        {"name": "wait until it is held", "ansible.builtin.wait_for": {"path": str(held)}},
        grub_task("edit", grub, options={"lock_timeout": 1}),
        {"name": "let it go", "ansible.builtin.file": {"path": str(release), "state": "touch", "mode": "0600"}},
        {"name": "until it has", "ansible.builtin.async_status": {"jid": "{{ holding.ansible_job_id }}"},
         "register": "released", "until": "released.finished", "retries": 30, "delay": 1},
        grub_task("edit again", grub, options={"update_bootloader": False}),
    ]))
    assert run.rc == 0, str(run)
    refused = run.result("edit")
    assert run.status("edit") == "failed"
    assert "another run has been changing %s for more than 1 s" % grub in refused["msg"], refused
    assert "Nothing was changed" in refused["msg"]
    assert run.result("edit again")["changed"] is True  # once the other run let go
