"""engine_info through ansible-playbook: the local dockerd, faults, and lab hosts over SSH."""

import json
import secrets
import subprocess

import pytest
from conftest import assert_no_traceback, local_play
from fault_daemon import SocketDaemon, http_answer

ENGINE_KEYS = ("running", "error", "version", "api_version", "os", "kernel", "storage_driver", "cgroup_driver",
               "cgroup_version", "registry_mirrors", "insecure_registries", "live_restore",
               "containers_running", "containers_total")


def info_task(name="info", **options):
    return {"name": name, "dockhand.runtime.engine_info": options, "register": "facts"}


def hierarchy_from_mounts():
    """v2, hybrid or v1, read from this machine's mounts (independently of the module)."""
    with open("/proc/self/mounts") as handle:
        mounts = [line.split() for line in handle]
    cgroup2 = [fields[1] for fields in mounts if fields[2] == "cgroup2"]
    if "/sys/fs/cgroup" in cgroup2:
        return "v2"
    return "hybrid" if cgroup2 else "v1"


@pytest.mark.engine
def test_local_dockerd(run_playbook, docker_cli):
    # Other files' tests create and remove containers on this machine's dockerd at the same time, so no count
    # read here could be compared with the module's: the counts are compared exactly on host9, whose dockerd no
    # other test touches (test_lab_host_with_docker).
    run = run_playbook(local_play([info_task()]), check=True)
    assert run.rc == 0, str(run)
    result = run.result("info")
    engine = result["engine"]
    for key in ENGINE_KEYS:
        assert key in engine
    assert engine["running"] is True and engine["error"] is None
    assert engine["version"] == docker_cli("version", "--format", "{{.Server.Version}}")
    assert engine["storage_driver"] == docker_cli("info", "--format", "{{.Driver}}")
    assert 0 <= engine["containers_running"] <= engine["containers_total"]
    assert engine["cgroup_version"] == int(docker_cli("info", "--format", "{{.CgroupVersion}}"))
    assert result["host_cgroup"]["version"] == hierarchy_from_mounts()
    assert {"cpu", "memory", "pids"} <= set(result["host_cgroup"]["controllers"])
    assert result["changed"] is False


@pytest.mark.engine
def test_daemon_json_reported(run_playbook, tmp_path):
    broken = tmp_path / "daemon.json"
    broken.write_text('{"debug": true,\n "log-level": }\n')
    good = tmp_path / "good.json"
    good.write_text('{"registry-mirrors": ["http://127.0.0.1:5000"]}')
    run = run_playbook(local_play([
        info_task("broken", daemon_json_path=str(broken)),
        info_task("good", daemon_json_path=str(good)),
    ]))
    assert run.rc == 0, str(run)
    assert run.result("broken")["daemon_json"]["valid"] is False
    assert "line 2" in run.result("broken")["daemon_json"]["error"]
    assert run.result("good")["daemon_json"]["settings"] == {"registry-mirrors": ["http://127.0.0.1:5000"]}


def test_missing_socket_is_not_a_failure(run_playbook, tmp_path):
    socket_path = str(tmp_path / "absent.sock")
    run = run_playbook(local_play([info_task(docker_host="unix://" + socket_path)]))
    assert run.rc == 0, str(run)
    engine = run.result("info")["engine"]
    assert engine["running"] is False and engine["error_kind"] == "unreachable"
    assert socket_path in engine["error"] and "does not exist" in engine["error"]


def test_daemon_answering_500(run_playbook, tmp_path):
    socket_path = str(tmp_path / "e.sock")
    daemon = SocketDaemon(socket_path, [http_answer(500, b'{"message": "storage driver failed"}')])
    try:
        run = run_playbook(local_play([info_task(docker_host="unix://" + socket_path)]))
    finally:
        daemon.close()
    assert run.rc == 0, str(run)
    engine = run.result("info")["engine"]
    assert engine["running"] is False and engine["error_kind"] == "http"
    assert "storage driver failed" in engine["error"] and socket_path in engine["error"]
    assert "HTTP 500" in engine["error"]


def test_hanging_daemon_times_out(run_playbook, tmp_path):
    socket_path = str(tmp_path / "h.sock")
    daemon = SocketDaemon(socket_path, hang=True)
    try:
        run = run_playbook(local_play([info_task(docker_host="unix://" + socket_path, timeout=2)]))
    finally:
        daemon.close()
    assert run.rc == 0, str(run)
    engine = run.result("info")["engine"]
    assert engine["running"] is False and engine["error_kind"] == "timeout"
    assert "within 2 s" in engine["error"] and socket_path in engine["error"]


@pytest.mark.parametrize("options, words", [
    ({"docker_host": "ftp://engine.lan"}, "unknown scheme"),
    ({"docker_host": "tcp://192.0.2.7:2375"}, "allow_plain_tcp"),
    ({"docker_host": "tcp://127.0.0.1:2376", "tls": True, "ca_path": "/nonexistent/ca.pem"},
     "ca_path /nonexistent/ca.pem does not exist"),
    ({"docker_host": "tcp://127.0.0.1:2376", "client_cert": "/nonexistent/cert.pem",
      "client_key": "/nonexistent/key.pem"}, "client_cert /nonexistent/cert.pem"),
])
def test_bad_input_fails_clearly(run_playbook, options, words):
    run = run_playbook(local_play([info_task(**options)]))
    assert run.rc != 0
    assert run.status("info") == "failed"
    assert words in run.result("info")["msg"]
    assert_no_traceback(run)


def test_unknown_option_is_named(run_playbook):
    run = run_playbook(local_play([info_task(dokcer_host="unix:///x")]))
    assert run.rc != 0 and "dokcer_host" in run.result("info")["msg"]
    assert_no_traceback(run)


def test_docker_host_from_environment(run_playbook, tmp_path):
    socket_path = str(tmp_path / "env.sock")
    run = run_playbook(local_play([info_task()], environment={"DOCKER_HOST": "unix://" + socket_path}))
    assert run.rc == 0, str(run)
    assert run.result("info")["engine"]["endpoint"] == "unix://" + socket_path


@pytest.mark.engine
def test_module_defaults_group(run_playbook, tmp_path):
    socket_path = str(tmp_path / "group.sock")
    play = local_play([info_task()], module_defaults={
        "group/dockhand.runtime.engine": {"docker_host": "unix://" + socket_path}})
    run = run_playbook(play)
    assert run.rc == 0, str(run)
    assert run.result("info")["engine"]["endpoint"] == "unix://" + socket_path


@pytest.mark.lab
def test_lab_host_without_docker(run_playbook, lab):
    """host4 never gets Docker (no test installs anything there): read-only use."""
    host = "dockhand-lab-host4"
    before = run_playbook([{
        "name": "before", "hosts": host, "gather_facts": False,
        "tasks": [info_task("before install")],
    }], inventory=lab["inventory"])
    assert before.rc == 0, str(before)
    result = before.result("before install")
    assert result["engine"]["running"] is False
    assert result["engine"]["error_kind"] == "unreachable"
    assert "/var/run/docker.sock does not exist" in result["engine"]["error"]
    assert result["systemd"] is True and result["dockerd_unit"]["loaded"] is False
    assert result["daemon_json"] == {"path": "/etc/docker/daemon.json", "exists": False, "valid": True,
                                     "error": None, "settings": {}}
    assert_no_traceback(before)


def on_host4(script):
    return subprocess.run(["docker", "exec", "dockhand-lab-host4", "sh", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False).stdout


@pytest.mark.lab
def test_modules_keep_their_compiled_imports_private_on_the_host(run_playbook, lab):
    """host/bytecode.py on a real target over SSH: off, nothing is written; on, root's cache is 0700 with
    0600 files named by module; a planted entry that others may write is never run (the task still works) and
    is replaced."""
    cache = "/root/.cache/dockhand.runtime/bytecode"
    on_host4("rm -rf /root/.cache/dockhand.runtime")

    def info(**play):
        run = run_playbook([dict({"name": "info", "hosts": "dockhand-lab-host4", "gather_facts": False,
                                  "tasks": [info_task("info")]}, **play)], inventory=lab["inventory"])
        assert run.rc == 0 and run.result("info")["engine"]["error_kind"] == "unreachable", str(run)
        assert_no_traceback(run)

    info(environment={"DOCKHAND_BYTECODE_CACHE": "off"})
    assert on_host4("test -e /root/.cache/dockhand.runtime && echo there || echo none").strip() == "none"
    info()
    listed = on_host4("stat -c '%%a %%U %%n' %s %s/*" % (cache, cache)).splitlines()
    assert listed[0] == "700 root %s" % cache, listed
    names = {line.rsplit("/", 1)[1].rsplit(".", 3)[0]: line.split()[:2] for line in listed[1:]}
    assert names["engine.api"] == names["engine.facts"] == ["600", "root"], listed
    # the cached engine.api replaced by code that would fail the task, then made writable by the group
    planted = on_host4("cd %s && f=$(ls engine.api.*.bin) && python3 -c \"import marshal, sys; "
                       "open(sys.argv[1], 'wb').write(marshal.dumps(compile('raise SystemExit(3)', 'x', 'exec')))\" "
                       "$f && chmod 660 $f && echo $f" % cache).strip()
    assert planted.startswith("engine.api."), planted
    info()  # ran the zip's code, and put its own compiled code in place of the planted file
    assert on_host4("stat -c %%a %s/%s" % (cache, planted)).strip() == "600"


@pytest.mark.lab
@pytest.mark.parametrize("connection, banner", [("ssh", "ESTABLISH SSH CONNECTION"),
                                                ("paramiko", "ESTABLISH PARAMIKO SSH CONNECTION")])
def test_both_connections_reach_a_lab_host(run_playbook, lab, monkeypatch, connection, banner):
    """OpenSSH (the lab's default) and paramiko (deprecated in ansible-core 2.19, still what older controllers
    use): the module runs over each and reads the same host4."""
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    run = run_playbook([{
        "name": "over %s" % connection, "hosts": "dockhand-lab-host4", "gather_facts": False,
        "vars": {"ansible_connection": connection}, "tasks": [info_task("info")],
    }], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    other = {"ESTABLISH SSH CONNECTION": "ESTABLISH PARAMIKO",
             "ESTABLISH PARAMIKO SSH CONNECTION": "ESTABLISH SSH CONNECTION"}
    assert banner in run.output and other[banner] not in run.output
    engine = run.result("info")["engine"]
    assert engine["running"] is False and engine["error_kind"] == "unreachable"
    assert_no_traceback(run)


@pytest.mark.lab
def test_lab_host_with_docker(run_playbook, lab):
    """host9 (with docker.io installed) as root and as a user outside the docker group."""
    host = "dockhand-lab-host9"
    after = run_playbook([{
        "name": "after", "hosts": host, "gather_facts": False,
        "tasks": [
            {"name": "install docker.io",
             "ansible.builtin.apt": {"name": "docker.io", "update_cache": True, "cache_valid_time": 3600,
                                     "install_recommends": False}},
            {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
            {"name": "add an unprivileged user",
             "ansible.builtin.user": {"name": "dockhand-probe", "shell": "/bin/sh"}},
            info_task("after install"),
            {"name": "counted by docker", "changed_when": False,
             "ansible.builtin.command": "docker info --format {% raw %}'{{json .}}'{% endraw %}"},
            dict(info_task("as a user outside the docker group"), become=True, become_user="dockhand-probe",
                 become_method="ansible.builtin.su"),
        ],
    }], inventory=lab["inventory"])
    assert after.rc == 0, str(after)
    result = after.result("after install")
    engine = result["engine"]
    docker_info = json.loads(after.result("counted by docker")["stdout"])
    assert engine["running"] is True, engine
    assert engine["storage_driver"] == "overlay2"
    assert engine["containers_total"] == docker_info["Containers"]
    assert engine["containers_running"] == docker_info["ContainersRunning"]
    assert engine["cgroup_version"] == int(docker_info["CgroupVersion"]) == 1
    unit = result["dockerd_unit"]
    assert unit["loaded"] and unit["active_state"] == "active"
    assert unit["exec_start"][0].endswith("dockerd") and unit["flags"] == unit["exec_start"][1:]
    assert unit["main_pid"]
    denied = after.result("as a user outside the docker group")["engine"]
    assert denied["running"] is False and denied["error_kind"] == "permission"
    assert "permission denied" in denied["error"]
    assert_no_traceback(after)


@pytest.mark.engine
def test_runs_on_a_bare_python(run_playbook, tmp_path):
    """The module runs on a Python that has the standard library and nothing else."""
    bare = tmp_path / "bare"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python3")
    listed = subprocess.run([python, "-c", "import sys; print(sys.path)"], check=True, stdout=subprocess.PIPE,
                            text=True).stdout
    assert "dist-packages" not in listed and "site-packages/requests" not in listed
    run = run_playbook(local_play([info_task()], vars={"ansible_python_interpreter": python}))
    assert run.rc == 0, str(run)
    assert run.result("info")["engine"]["running"] is True


def test_daemon_json_secrets_are_masked_at_vvv(run_playbook, tmp_path, monkeypatch):
    secret = "pr0xy/" + secrets.token_urlsafe(10)
    token = "tok-" + secrets.token_urlsafe(10)
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"proxies": {"https-proxy": "http://user:%s@proxy.example:3128" % secret},
                                "log-opts": {"splunk-token": token}}))
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    no_engine = "unix://%s" % (tmp_path / "no.sock")
    run = run_playbook(local_play([info_task(daemon_json_path=str(path), docker_host=no_engine)]))
    assert run.rc == 0, str(run)
    settings = run.result("info")["daemon_json"]["settings"]
    assert settings["proxies"]["https-proxy"] == "http://user:********@proxy.example:3128"
    assert settings["log-opts"]["splunk-token"] == "********"
    everything = run.output + json.dumps([record["result"] for record in run.records])
    assert secret not in everything and token not in everything
