"""container_exec, container_copy_into, prune and engine_info's disk use through ansible-playbook against the
local dockerd (local connection).

Everything here is named dh-day2-* and removed afterwards. Every prune task is limited by a label that only
this run's objects carry (dh-day2-run=<random>), so nothing else on the machine can go.
"""

import glob
import json
import os
import subprocess
import time
import uuid

import pytest
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

IMAGE = "dockhand-lab/busybox:latest"
PREFIX = "dh-day2-"
EXEC = PREFIX + "exec"
COPY = PREFIX + "copy"
COPY_STOPPED = PREFIX + "copy-stopped"
SECRET = "dh-day2-Sup3r-s3cret"


def docker(*args, check=True, input=None):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check, input=input)


def in_container(container, *argv):
    return docker("exec", container, *argv).stdout


def exists(kind, name):
    return docker(kind, "inspect", name, check=False).returncode == 0


def remove_everything():
    names = docker("ps", "-aq", "--filter", "name=" + PREFIX).stdout.split()
    if names:
        docker("rm", "-f", *names, check=False)
    for kind in ("network", "volume"):
        listed = docker(kind, "ls", "-q", "--filter", "name=" + PREFIX).stdout.split()
        if listed:
            docker(kind, "rm", *listed, check=False)
    images = docker("images", "-q", "--filter", "reference=" + PREFIX + "*").stdout.split()
    if images:
        docker("rmi", "-f", *set(images), check=False)


@pytest.fixture
def clean():
    remove_everything()
    yield
    remove_everything()


def running(name):
    docker("run", "-d", "--name", name, IMAGE, "sleep", "3600")


def task(module, task_name, **options):
    return {"name": task_name, "dockhand.runtime." + module: options, "register": "out"}


# --- container_exec -----------------------------------------------------------------------------

def test_exec_fails_on_rc_with_stderr_and_passes_when_allowed(run_playbook, clean):
    running(EXEC)
    failing = ["sh", "-c", "echo partial; echo 'disk full' >&2; exit 3"]
    run = run_playbook(local_play([
        dict(task("container_exec", "fails", container=EXEC, argv=failing), ignore_errors=True),
        task("container_exec", "allowed", container=EXEC, argv=failing, fail_on_rc=False),
        task("container_exec", "quoted", container=EXEC, command="sh -c 'echo \"a  b\"; pwd; id -u; id -g'",
             workdir="/tmp", user="1234:5678"),
        task("container_exec", "tty", container=EXEC, argv=["sh", "-c", "echo one; echo two >&2"], tty=True),
        task("container_exec", "keep ends", container=EXEC, argv=["printf", "x\\n\\n"], strip_empty_ends=False),
    ]))
    assert run.rc == 0, str(run)
    failed = run.result("fails")
    assert run.status("fails") == "failed"
    assert failed["rc"] == 3 and failed["stderr"] == "disk full" and failed["stdout"] == "partial"
    assert "rc 3" in failed["msg"] and "disk full" in failed["msg"] and EXEC in failed["msg"]
    assert "fail_on_rc: false" in failed["msg"]
    allowed = run.result("allowed")
    assert run.status("allowed") == "changed" and allowed["rc"] == 3 and allowed["stderr"] == "disk full"
    assert len(allowed["exec_id"]) == 64
    assert run.result("quoted")["stdout"].split("\n") == ["a  b", "/tmp", "1234", "5678"]
    assert run.result("quoted")["argv"] == ["sh", "-c", 'echo "a  b"; pwd; id -u; id -g']
    tty = run.result("tty")
    assert tty["stdout"] == "one\r\ntwo" and tty["stderr"] == ""
    assert run.result("keep ends")["stdout"] == "x\n\n"
    assert_no_traceback(run)


def test_exec_stdin_detach_and_check_mode(run_playbook, clean):
    running(EXEC)
    big = "0123456789" * 20000  # 200 kB: more than one socket buffer
    run = run_playbook(local_play([
        task("container_exec", "stdin", container=EXEC, argv=["sh", "-c", "cat > /tmp/in; wc -c < /tmp/in"],
             stdin=big),
        task("container_exec", "stdin raw", container=EXEC, argv=["cat"], stdin="no newline",
             stdin_add_newline=False, strip_empty_ends=False),
        task("container_exec", "detach", container=EXEC, argv=["sh", "-c", "sleep 1; touch /tmp/detached"],
             detach=True),
    ]))
    assert run.rc == 0, str(run)
    assert run.result("stdin")["stdout"].strip() == str(len(big) + 1)  # the newline stdin_add_newline adds
    assert in_container(EXEC, "head", "-c", "20", "/tmp/in") == big[:20]
    assert run.result("stdin raw")["stdout"] == "no newline"
    detached = run.result("detach")
    assert run.status("detach") == "changed" and len(detached["exec_id"]) == 64 and "rc" not in detached
    for _attempt in range(100):  # the detached command runs on after the task returned
        if docker("exec", EXEC, "test", "-e", "/tmp/detached", check=False).returncode == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the detached command never ran")

    check = run_playbook(local_play([task("container_exec", "check", container=EXEC,
                                          argv=["touch", "/tmp/check-mode-ran"])]), check=True)
    assert check.rc == 0, str(check)
    assert check.status("check") == "changed" and "rc" not in check.result("check")
    assert docker("exec", EXEC, "test", "-e", "/tmp/check-mode-ran", check=False).returncode == 1


def test_exec_env_secret_never_shows_at_vvv(run_playbook, clean, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    running(EXEC)
    run = run_playbook(local_play([
        task("container_exec", "env", container=EXEC, argv=["sh", "-c", 'echo "db=$DB_PASSWORD mode=$MODE"'],
             env={"DB_PASSWORD": SECRET, "MODE": "fast"}),
        dict(task("container_exec", "env failing", container=EXEC,
                  argv=["sh", "-c", 'echo "bad $DB_PASSWORD" >&2; exit 1'], env={"DB_PASSWORD": SECRET}),
             ignore_errors=True),
    ]))
    assert run.rc == 0, str(run)
    assert run.result("env")["stdout"] == "db=******** mode=fast"
    assert run.status("env failing") == "failed" and "bad ********" in run.result("env failing")["msg"]
    assert "module_args" in run.output  # -vvv shows the arguments, masked
    assert SECRET not in run.output and SECRET not in json.dumps([r["result"] for r in run.records])


def test_exec_bad_input_fails_clearly(run_playbook, clean):
    running(EXEC)
    docker("create", "--name", EXEC + "-stopped", IMAGE, "true")
    run = run_playbook(local_play([
        dict(task("container_exec", name, container=container, **options), ignore_errors=True)
        for name, container, options in (
            ("no command", EXEC, {}),
            ("bad quotes", EXEC, {"command": "echo 'open"}),
            ("bool env", EXEC, {"argv": ["true"], "env": {"DEBUG": True}}),
            ("bad user", EXEC, {"argv": ["true"], "user": "root\nx"}),
            ("relative workdir", EXEC, {"argv": ["true"], "workdir": "tmp"}),
            ("stdin with detach", EXEC, {"argv": ["cat"], "stdin": "x", "detach": True}),
            ("bad name", "dh day2", {"argv": ["true"]}),
            ("missing", PREFIX + "missing", {"argv": ["true"]}),
            ("stopped", EXEC + "-stopped", {"argv": ["touch", "/tmp/x"]}),
            ("no program", EXEC, {"argv": ["/nonexistent"]}),
        )]))
    expected = {
        "no command": "give exactly one of argv (a list) and command (a string)",
        "bad quotes": "command cannot be split into arguments",
        "bool env": "env.DEBUG must be a string",
        "bad user": "is not a user",
        "relative workdir": "workdir 'tmp' must be an absolute path",
        "stdin with detach": "stdin cannot be sent with detach",
        "bad name": "container 'dh day2' is not a container name",
        "missing": "container dh-day2-missing does not exist",
        "stopped": "is not running (status created); start it first",
        "no program": "/nonexistent",
    }
    for name, words in expected.items():
        assert run.status(name) == "failed", name
        assert words in run.result(name)["msg"], (name, run.result(name)["msg"])
    assert_no_traceback(run)


# --- container_copy_into ------------------------------------------------------------------------

def file_state(container, path):
    return in_container(container, "stat", "-c", "%a %u %g", path).strip(), in_container(container, "cat", path)


def copy_task(task_name, **options):
    options.setdefault("container", COPY)
    options.setdefault("container_path", "/etc/dh-day2.conf")
    return task("container_copy_into", task_name, **options)


def test_copy_into_twice_the_second_unchanged_then_mode_and_owner(run_playbook, clean):
    running(COPY)
    run = run_playbook(local_play([
        copy_task("create", content="listen 80\n", mode="0640"),
        copy_task("again", content="listen 80\n", mode="0640"),
        copy_task("mode", content="listen 80\n", mode="0600"),
        copy_task("owner", content="listen 80\n", owner_id=1234, group_id=5678),
        copy_task("owner again", content="listen 80\n"),
    ]), diff=True)
    assert run.rc == 0, str(run)
    created = run.result("create")
    assert run.status("create") == "changed" and created["differences"] == ["created"]
    assert created["diff"]["before"] == "" and created["diff"]["after"] == "listen 80\n"
    assert run.status("again") == "ok" and run.result("again")["differences"] == []
    assert run.result("mode")["differences"] == ["mode"] and run.status("mode") == "changed"
    owner = run.result("owner")
    assert owner["differences"] == ["owner"] and (owner["owner_id"], owner["group_id"], owner["mode"]) == (
        1234, 5678, "0600")
    assert run.status("owner again") == "ok"  # unset owner and mode keep the file's
    assert file_state(COPY, "/etc/dh-day2.conf") == ("600 1234 5678", "listen 80\n")
    assert_no_traceback(run)


def test_copy_into_check_mode_writes_nothing(run_playbook, clean):
    running(COPY)
    docker("exec", COPY, "sh", "-c", "printf 'old\\n' > /etc/dh-day2.conf; chmod 644 /etc/dh-day2.conf")
    check = run_playbook(local_play([copy_task("change", content="new\n", mode="0600"),
                                     copy_task("create", container_path="/etc/dh-day2-new.conf", content="x")]),
                         check=True, diff=True)
    assert check.rc == 0, str(check)
    change = check.result("change")
    assert check.status("change") == "changed" and change["differences"] == ["content", "mode"]
    assert (change["diff"]["before"], change["diff"]["after"]) == ("old\n", "new\n")
    assert check.result("create")["differences"] == ["created"]
    assert file_state(COPY, "/etc/dh-day2.conf") == ("644 0 0", "old\n")
    assert docker("exec", COPY, "test", "-e", "/etc/dh-day2-new.conf", check=False).returncode == 1


def test_copy_into_from_controller_and_managed_node_and_stopped_container(run_playbook, clean, tmp_path):
    running(COPY)
    docker("create", "--name", COPY_STOPPED, IMAGE, "true")
    source = tmp_path / "site.conf"
    source.write_bytes(b"binary\x00\xff ok\n")
    os.chmod(source, 0o600)
    run = run_playbook(local_play([
        copy_task("src", src=str(source)),
        copy_task("src again", src=str(source)),
        copy_task("path", container_path="/etc/dh-day2-path.conf", path=str(source), mode="0644"),
        copy_task("stopped", container=COPY_STOPPED, content="x=1\n"),
        copy_task("stopped again", container=COPY_STOPPED, content="x=1\n"),
    ]), diff=True)
    assert run.rc == 0, str(run)
    assert run.status("src") == "changed" and run.result("src")["mode"] == "0600"
    assert "binary" in run.result("src")["diff"]["after_header"]
    assert run.status("src again") == "ok"
    assert in_container(COPY, "stat", "-c", "%a %s", "/etc/dh-day2.conf").strip() == "600 12"
    assert docker("exec", COPY, "cmp", "/etc/dh-day2.conf", "/etc/dh-day2-path.conf", check=False).returncode == 0
    assert run.status("stopped") == "changed" and run.status("stopped again") == "ok"


def test_copy_into_secret_content_never_shows(run_playbook, clean, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    running(COPY)
    run = run_playbook(local_play([
        copy_task("secret", content="api_token = %s\n" % SECRET, mode="0400"),
        copy_task("secret changed", content="api_token = %s-2\n" % SECRET, mode="0400"),
    ]), diff=True)
    assert run.rc == 0, str(run)
    assert "looks secret" in run.result("secret changed")["diff"]["after_header"]
    assert "module_args" in run.output
    assert SECRET not in run.output and SECRET not in json.dumps([r["result"] for r in run.records])
    assert in_container(COPY, "cat", "/etc/dh-day2.conf") == "api_token = %s-2\n" % SECRET


def test_copy_into_bad_input_changes_nothing(run_playbook, clean, tmp_path):
    running(COPY)
    docker("exec", COPY, "sh", "-c", "printf 'old\\n' > /etc/dh-day2.conf")
    source = tmp_path / "x.conf"
    source.write_text("x")
    cases = {
        "relative path": ({"container_path": "etc/dh-day2.conf", "content": "new"}, "must be an absolute path"),
        "newline in path": ({"container_path": "/etc/dh-day2.conf\n", "content": "new"}, "must be an absolute"),
        "symbolic mode": ({"content": "new", "mode": "u=rw"}, "symbolic modes"),
        "two sources": ({"content": "new", "src": str(source)}, "give exactly one of content, src and path"),
        "no source": ({}, "give exactly one of content, src"),
        "missing src": ({"src": str(tmp_path / "none.conf")}, "is not a file on the controller"),
        "bad base64": ({"content": "@@@", "content_is_b64": True}, "content is not valid base64"),
        "a directory": ({"container_path": "/etc", "content": "new"}, "is a directory in the container"),
        "no directory": ({"container_path": "/nonexistent/x.conf", "content": "new"},
                         "the directory /nonexistent does not exist in the container"),
        "missing container": ({"container": PREFIX + "missing", "content": "new"}, "does not exist"),
        "negative owner": ({"content": "new", "owner_id": -1, "group_id": 0}, "owner_id -1"),
    }
    run = run_playbook(local_play([dict(copy_task(name, **options), ignore_errors=True)
                                   for name, (options, _words) in cases.items()]))
    for name, (_options, words) in cases.items():
        assert run.status(name) == "failed", name
        assert words in run.result(name)["msg"], (name, run.result(name)["msg"])
    assert file_state(COPY, "/etc/dh-day2.conf") == ("644 0 0", "old\n")
    assert_no_traceback(run)


# --- prune --------------------------------------------------------------------------------------

@pytest.fixture
def prune_objects(clean):
    """This run's objects: each kind has one to go and one protected by dh-day2-keep; a running container too."""
    run_label = "dh-day2-run=" + uuid.uuid4().hex[:12]
    mine = ["--label", run_label]
    kept = mine + ["--label", "dh-day2-keep=yes"]
    docker("create", "--name", PREFIX + "gone", *mine, IMAGE, "true")
    docker("create", "--name", PREFIX + "kept", *kept, IMAGE, "true")
    docker("run", "-d", "--name", PREFIX + "running", *mine, IMAGE, "sleep", "3600")
    docker("network", "create", *mine, PREFIX + "net-gone")
    docker("network", "create", *kept, PREFIX + "net-kept")
    docker("volume", "create", *mine, PREFIX + "vol-gone")
    docker("volume", "create", *kept, PREFIX + "vol-kept")
    docker("build", "-q", "-t", PREFIX + "img-gone:1", *mine, "-", input="FROM %s\n" % IMAGE)
    docker("build", "-q", "-t", PREFIX + "img-kept:1", *kept, "-", input="FROM %s\n" % IMAGE)
    ids = {name: docker(kind, "inspect", "-f", "{{.Id}}", name).stdout.strip() for kind, name in (
        ("container", PREFIX + "gone"), ("container", PREFIX + "kept"), ("container", PREFIX + "running"),
        ("image", PREFIX + "img-gone:1"), ("image", PREFIX + "img-kept:1"))}
    filters = {"label": run_label, "label!": "dh-day2-keep"}
    return {"filters": filters, "ids": ids}


def prune_task(task_name, filters, **extra):
    options = {"containers": True, "containers_filters": filters,
               "images": True, "images_filters": dict(filters, dangling=False),
               "networks": True, "networks_filters": filters,
               "volumes": True, "volumes_filters": filters}
    options.update(extra)
    return task("prune", task_name, **options)


def everything_there():
    return {name: exists(kind, name) for kind, name in (
        ("container", PREFIX + "gone"), ("container", PREFIX + "kept"), ("container", PREFIX + "running"),
        ("network", PREFIX + "net-gone"), ("network", PREFIX + "net-kept"),
        ("volume", PREFIX + "vol-gone"), ("volume", PREFIX + "vol-kept"),
        ("image", PREFIX + "img-gone:1"), ("image", PREFIX + "img-kept:1"))}


def test_prune_check_mode_lists_and_removes_nothing_then_real_keeps_protected(run_playbook, prune_objects):
    filters, ids = prune_objects["filters"], prune_objects["ids"]
    check = run_playbook(local_play([
        prune_task("check", filters, builder_cache=True, builder_cache_filters={"until": "87600h"})]), check=True)
    assert check.rc == 0, str(check)
    planned = check.result("check")
    assert check.status("check") == "changed"
    assert planned["containers"] == [ids[PREFIX + "gone"]]
    assert [item["name"] for item in planned["would_remove"]["containers"]] == [PREFIX + "gone"]
    assert planned["images"] == [ids[PREFIX + "img-gone:1"]]
    assert planned["networks"] == [PREFIX + "net-gone"] and planned["volumes"] == [PREFIX + "vol-gone"]
    assert isinstance(planned["builder_cache_caches_deleted"], list)
    assert all(everything_there().values()), everything_there()  # nothing removed

    run = run_playbook(local_play([prune_task("prune", filters), prune_task("again", filters)]))
    assert run.rc == 0, str(run)
    pruned = run.result("prune")
    assert run.status("prune") == "changed"
    assert pruned["containers"] == [ids[PREFIX + "gone"]]
    assert pruned["images"] == [ids[PREFIX + "img-gone:1"]]
    assert pruned["images_untagged"] == [PREFIX + "img-gone:1"]
    assert pruned["networks"] == [PREFIX + "net-gone"] and pruned["volumes"] == [PREFIX + "vol-gone"]
    assert isinstance(pruned["images_space_reclaimed"], int)
    assert everything_there() == {
        PREFIX + "gone": False, PREFIX + "kept": True, PREFIX + "running": True,
        PREFIX + "net-gone": False, PREFIX + "net-kept": True,
        PREFIX + "vol-gone": False, PREFIX + "vol-kept": True,
        PREFIX + "img-gone:1": False, PREFIX + "img-kept:1": True}
    again = run.result("again")
    assert run.status("again") == "ok" and again["containers"] == [] and again["volumes"] == []
    assert_no_traceback(run)


def test_prune_bad_input_removes_nothing(run_playbook, prune_objects):
    filters = prune_objects["filters"]
    cases = {
        "dangling on containers": ({"containers": True, "containers_filters": dict(filters, dangling=True)},
                                   "containers_filters: the engine takes no 'dangling' filter for containers"),
        "until on volumes": ({"containers": True, "containers_filters": filters, "volumes": True,
                              "volumes_filters": dict(filters, until="24h")},
                             "volumes_filters: the engine takes no 'until' filter"),
        "bad until": ({"containers": True, "containers_filters": dict(filters, until="last week")},
                      "containers_filters.until 'last week' is not a time"),
        "filters without the kind": ({"containers": True, "containers_filters": filters,
                                      "networks_filters": filters}, "networks_filters is set but networks is not"),
        "bad label": ({"containers": True, "containers_filters": {"label": "a b"}}, "is not valid"),
        "bad keep storage": ({"builder_cache": True, "builder_cache_keep_storage": "lots"},
                             "builder_cache_keep_storage"),
    }
    run = run_playbook(local_play([dict(task("prune", name, **options), ignore_errors=True)
                                   for name, (options, _words) in cases.items()]))
    for name, (_options, words) in cases.items():
        assert run.status(name) == "failed", name
        assert words in run.result(name)["msg"], (name, run.result(name)["msg"])
    assert all(everything_there().values()), everything_there()
    assert_no_traceback(run)


# --- engine_info disk use -----------------------------------------------------------------------

def test_engine_info_disk_usage(run_playbook, clean):
    docker("run", "--name", PREFIX + "du", IMAGE, "dd", "if=/dev/zero", "of=/big", "bs=1024", "count=2048")
    run = run_playbook(local_play([task("engine_info", "plain"), task("engine_info", "df", disk_usage=True)]))
    assert run.rc == 0, str(run)
    assert run.result("plain")["disk_usage"] is None
    usage = run.result("df")["disk_usage"]
    assert run.result("df")["disk_usage_error"] is None
    assert set(usage) == {"images", "containers", "volumes", "build_cache"}
    for kind in usage.values():
        assert set(kind) == {"count", "active", "size", "reclaimable"}
        assert 0 <= kind["active"] <= kind["count"] and 0 <= kind["reclaimable"] <= kind["size"]
    # the stopped container's 2 MiB write counts, and is reclaimable
    assert usage["containers"]["reclaimable"] >= 2 * 1024 * 1024
    assert usage["images"]["count"] >= 1 and usage["images"]["size"] > 0


# --- the oldest and newest target Python --------------------------------------------------------

def pyenv_python(version):
    """The pyenv CPython X.Y interpreter of this machine (3.8 to 3.13 are installed)."""
    root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, text=True, check=False).stdout.strip()
    found = sorted(glob.glob(os.path.join(root or os.path.expanduser("~/.pyenv"), "versions", version + ".*",
                                          "bin", "python" + version)))
    if not found:
        pytest.fail("CPython %s is not installed under pyenv on this machine; this test needs it" % version)
    return found[-1]


@pytest.mark.parametrize("version", ("3.8", "3.13"))
def test_day2_modules_on_the_oldest_and_newest_target_python(version, run_playbook, clean):
    running(EXEC)
    run = run_playbook(local_play([
        task("container_exec", "stdin", container=EXEC, argv=["sh", "-c", "cat; echo err >&2"], stdin="py"),
        task("container_copy_into", "copy", container=EXEC, container_path="/tmp/py.conf", content="v=1\n"),
        task("container_copy_into", "copy again", container=EXEC, container_path="/tmp/py.conf", content="v=1\n"),
        dict(task("prune", "prune", containers=True, containers_filters={"label": "dh-day2-none=" + version}),
             check_mode=True),
        task("engine_info", "df", disk_usage=True),
    ], vars={"ansible_python_interpreter": pyenv_python(version)}))
    assert run.rc == 0, str(run)
    assert (run.result("stdin")["stdout"], run.result("stdin")["stderr"]) == ("py", "err")
    assert run.status("copy") == "changed" and run.status("copy again") == "ok"
    assert run.result("prune")["containers"] == []
    assert run.result("df")["disk_usage"]["images"]["count"] >= 1
    assert_no_traceback(run)
