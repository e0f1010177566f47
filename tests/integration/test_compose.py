"""The compose module through ansible-playbook against this machine's dockerd (the lab hub's images).

The model goes straight into ``project`` (what the action plugin sends). Every project is named dh-cmp-... and
everything labelled with such a project is removed before and after each test.
"""

import json
import os
import shutil
import subprocess

import pytest
import yaml
from compose_objects import containers_of, docker, failures, inspect, remove_projects
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

BUSYBOX = "127.0.0.1:5000/library/busybox:latest"
HELLO = "127.0.0.1:5000/library/hello:latest"
PREFIX = "dh-cmp-"
SLEEP = {"image": BUSYBOX, "command": ["sleep", "3600"], "stop_signal": "SIGKILL"}


def remove_all():
    remove_projects(PREFIX)
    for name in (PREFIX + "ext-net",):
        docker("network", "rm", name, check=False)


@pytest.fixture
def clean():
    remove_all()
    yield
    remove_all()


def model(name, services, networks=None, volumes=None, default_network=True):
    """The model the action plugin would send: names resolved, a default network when services use it."""
    networks = dict(networks or {})
    if default_network and any(not service.get("networks") and not service.get("network_mode")
                               for service in services.values()):
        networks.setdefault("default", {"name": name + "_default", "external": False})
    for key, config in networks.items():
        config.setdefault("name", "%s_%s" % (name, key))
        config.setdefault("external", False)
    volumes = dict(volumes or {})
    for key, config in volumes.items():
        config.setdefault("name", "%s_%s" % (name, key))
        config.setdefault("external", False)
    return {"name": name, "working_dir": "/tmp", "config_files": [], "services": services, "networks": networks,
            "volumes": volumes}


def compose_task(task_name, project, register=None, **options):
    task = {"name": task_name, "dockhand.runtime.compose": dict(options, project=project)}
    if register:
        task["register"] = register
    return task


def ids_and_starts(project):
    return {name: (inspect(name)["Id"], inspect(name)["State"]["StartedAt"]) for name in containers_of(project)}


def full_service(bind_dir):
    """A service with every supported key it can run with on this machine."""
    return {
        "image": BUSYBOX, "entrypoint": ["sleep"], "command": ["3600"],
        "environment": {"A": "1", "DB_PASSWORD": "s3cret-value"},
        "ports": [{"target": 80, "published": "18311", "host_ip": "127.0.0.1", "protocol": "tcp"},
                  {"target": 53, "published": None, "host_ip": None, "protocol": "udp"}],
        "expose": ["8080"],
        "volumes": [{"type": "volume", "source": "data", "target": "/data", "read_only": False},
                    {"type": "bind", "source": bind_dir, "target": "/host", "read_only": True,
                     "bind": {"create_host_path": True}},
                    {"type": "tmpfs", "source": None, "target": "/scratch", "read_only": False,
                     "tmpfs": {"size": 1048576}}],
        "networks": {"front": {"aliases": ["www"], "ipv4_address": "10.213.47.10", "ipv6_address": None}},
        "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "retries": 3},
        "restart": "on-failure:3",
        "deploy": {"resources": {"limits": {"memory": "64m", "cpus": "0.5", "pids": 100},
                                 "reservations": {"memory": "32m"}}},
        "labels": {"team": "a"}, "user": "1000:1000", "working_dir": "/tmp", "hostname": "web",
        "domainname": "example.lan", "cap_add": ["NET_ADMIN"], "cap_drop": ["MKNOD"], "read_only": True,
        "tmpfs": ["/run:size=1m"], "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
        "logging": {"driver": "json-file", "options": {"max-size": "1m"}}, "extra_hosts": ["db:10.0.0.5"],
        "init": True, "stop_grace_period": "3s", "stop_signal": "SIGKILL", "sysctls": {"net.core.somaxconn": "1024"},
        "security_opt": ["no-new-privileges"], "shm_size": "64m", "ipc": "shareable", "pid": "",
        "devices": ["/dev/null:/dev/xnull"], "dns": ["10.0.0.1"], "privileged": False,
    }


def test_round_trip_of_the_spec_keys(run_playbook, clean, tmp_path):
    """Apply, rerun unchanged, change one service's key (that service alone recreated), rerun unchanged."""
    name = PREFIX + "keys"
    bind_dir = str(tmp_path / "bind")
    os.makedirs(bind_dir)
    networks = {"front": {"ipam": {"config": [{"subnet": "10.213.47.0/24"}]}}}
    services = {"web": full_service(bind_dir), "side": dict(SLEEP, network_mode="service:web"),
                "other": dict(SLEEP)}
    first = model(name, services, networks=networks, volumes={"data": {}})
    changed = json.loads(json.dumps(first))
    changed["services"]["web"]["environment"]["A"] = "2"
    run = run_playbook(local_play([compose_task("apply", first, register="apply"),
                                   compose_task("again", first, register="again"),
                                   compose_task("change", changed, register="change"),
                                   compose_task("settled", changed, register="settled")]), diff=True)
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    applied = run.result("apply")
    assert applied["changed"], applied
    assert not run.result("again")["changed"], run.result("again")
    change = run.result("change")
    assert change["services"]["web"]["actions"] == ["recreated %s-web-1" % name, "started %s-web-1" % name], change
    assert change["services"]["web"]["differences"] == ["env"], change
    assert change["services"]["other"]["actions"] == [], change
    # side shares web's network namespace (network_mode service:web): it follows web's new container, as compose does
    assert change["services"]["side"]["actions"] == ["recreated %s-side-1" % name, "started %s-side-1" % name]
    assert "s3cret-value" not in json.dumps(change), "a secret shows"
    assert not run.result("settled")["changed"], run.result("settled")
    web = inspect(name + "-web-1")
    labels = web["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == name and labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1" and labels["com.docker.compose.oneoff"] == "False"
    assert len(labels["com.docker.compose.config-hash"]) == 64 and labels["team"] == "a"
    host = web["HostConfig"]
    assert host["Memory"] == 64 * 2 ** 20 and host["NanoCpus"] == 5 * 10 ** 8 and host["PidsLimit"] == 100
    assert host["MemoryReservation"] == 32 * 2 ** 20
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18311"}]
    assert host["CapAdd"] in (["NET_ADMIN"], ["CAP_NET_ADMIN"]) and host["ReadonlyRootfs"] and host["Init"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert host["ExtraHosts"] == ["db:10.0.0.5"] and host["Dns"] == ["10.0.0.1"] and host["ShmSize"] == 64 * 2 ** 20
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"} and host["SecurityOpt"] == ["no-new-privileges"]
    assert host["IpcMode"] == "shareable"
    assert web["Config"]["StopTimeout"] == 3 and web["Config"]["User"] == "1000:1000"
    assert "A=2" in web["Config"]["Env"] and web["Config"]["Hostname"] == "web"
    endpoint = web["NetworkSettings"]["Networks"][name + "_front"]
    assert "www" in endpoint["Aliases"] and endpoint["IPAMConfig"]["IPv4Address"] == "10.213.47.10"
    assert inspect(name + "-side-1")["HostConfig"]["NetworkMode"] == "container:" + web["Id"]
    assert inspect(name + "_data", "volume")["Labels"]["com.docker.compose.volume"] == "data"
    assert inspect(name + "_front", "network")["Labels"]["com.docker.compose.network"] == "front"


def test_depends_on_conditions_replicas_and_check_mode(run_playbook, clean):
    """Each condition is waited for in order; replicas up and down; check mode changes nothing."""
    name = PREFIX + "deps"
    # The first check (after one interval) makes db healthy; the engine keeps the last five checks, so with 15 s
    # between them Log[0] is still the first one when the test reads it (it was gone with 1 s).
    healthy = dict(SLEEP, healthcheck={"test": ["CMD", "true"], "interval": "15s"})
    job = {"image": BUSYBOX, "command": ["sh", "-c", "sleep 1; echo migrated"]}
    app = dict(SLEEP, depends_on={
        "db": {"condition": "service_healthy", "restart": True, "required": True},
        "migrate": {"condition": "service_completed_successfully", "restart": False, "required": True},
        "cache": {"condition": "service_started", "restart": False, "required": True}},
        deploy={"replicas": 3})
    first = model(name, {"db": healthy, "migrate": job, "cache": dict(SLEEP), "app": app})
    fewer = json.loads(json.dumps(first))
    fewer["services"]["app"]["deploy"]["replicas"] = 1
    db_changed = json.loads(json.dumps(fewer))
    db_changed["services"]["db"]["environment"] = {"V": "2"}
    run = run_playbook(local_play([compose_task("up", first, register="up", wait=True),
                                   compose_task("again", first, register="again")]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert [c["name"] for c in run.result("up")["services"]["app"]["containers"]] == [
        "%s-app-%d" % (name, n) for n in (1, 2, 3)]
    assert not run.result("again")["changed"], run.result("again")
    migrate = inspect(name + "-migrate-1")
    assert migrate["State"]["ExitCode"] == 0 and not migrate["State"]["Running"]
    app_started = inspect(name + "-app-1")["State"]["StartedAt"]
    assert app_started > migrate["State"]["FinishedAt"], "app started before migrate completed"
    assert app_started > inspect(name + "-db-1")["State"]["Health"]["Log"][0]["End"], "app before db was healthy"
    before = ids_and_starts(name)
    run = run_playbook(local_play([compose_task("scale down", fewer, register="down"),
                                   compose_task("db changes", db_changed, register="db")]), check=True, diff=True)
    assert run.rc == 0, failures(run)
    assert run.result("scale down")["services"]["app"]["actions"] == [
        "removed %s-app-3" % name, "removed %s-app-2" % name] or run.result("scale down")["services"]["app"][
        "actions"] == ["removed %s-app-2" % name, "removed %s-app-3" % name]
    assert ids_and_starts(name) == before, "check mode changed something"
    run = run_playbook(local_play([compose_task("scale down", fewer, register="down"),
                                   compose_task("db changes", db_changed, register="db")]))
    assert run.rc == 0, failures(run)
    assert containers_of(name) == sorted("%s-%s-1" % (name, s) for s in ("app", "cache", "db", "migrate"))
    db = run.result("db changes")["services"]
    assert db["db"]["actions"] == ["recreated %s-db-1" % name, "started %s-db-1" % name], db
    assert db["app"]["actions"] == ["restarted %s-app-1" % name], db  # depends_on.db.restart
    assert db["cache"]["actions"] == [] and db["migrate"]["actions"] == [], db
    assert inspect(name + "-app-1")["Id"] == before[name + "-app-1"][0]


def test_failing_healthcheck_rolls_back_that_service_alone(run_playbook, clean):
    name = PREFIX + "rollback"
    good = model(name, {"web": dict(SLEEP, healthcheck={"test": ["CMD", "true"], "interval": "1s"}),
                        "other": dict(SLEEP)})
    bad = json.loads(json.dumps(good))
    bad["services"]["web"]["healthcheck"] = {"test": "echo broken-check >&2; exit 1", "interval": "1s", "retries": 1}
    bad["services"]["other"]["environment"] = {"V": "2"}
    run = run_playbook(local_play([compose_task("good", good)]))
    assert run.rc == 0, failures(run)
    before = ids_and_starts(name)
    task = compose_task("bad", bad, register="bad", wait_timeout=15)
    task["ignore_errors"] = True
    run = run_playbook(local_play([task]))
    assert_no_traceback(run)
    result = run.result("bad")
    assert run.status("bad") == "failed" and "services.web" in result["msg"] and "rolled back" in result["msg"].lower()
    assert inspect(name + "-web-1")["Id"] == before[name + "-web-1"][0]
    assert inspect(name + "-web-1")["State"]["Running"]
    assert containers_of(name) == [name + "-other-1", name + "-web-1"]


def test_absent_keeps_named_volumes_unless_asked(run_playbook, clean):
    name = PREFIX + "absent"
    mount = {"type": "volume", "source": "data", "target": "/data", "read_only": False}
    project = model(name, {"db": dict(SLEEP, volumes=[mount])}, volumes={"data": {}})
    run = run_playbook(local_play([compose_task("up", project), compose_task("down", project, state="absent"),
                                   compose_task("down again", project, register="again", state="absent")]))
    assert run.rc == 0, failures(run)
    assert containers_of(name) == [] and inspect(name + "_default", "network") is None
    assert inspect(name + "_data", "volume") is not None
    run = run_playbook(local_play([compose_task("up", project),
                                   compose_task("down", project, state="absent", remove_volumes=True)]))
    assert run.rc == 0, failures(run)
    assert inspect(name + "_data", "volume") is None


BAD_INPUT = [
    ("ports", {"ports": [{"target": 70000, "published": "8080", "host_ip": None, "protocol": "tcp"}]},
     "services.web.ports[0].target"),
    ("unknown key", {"build": {"context": "."}}, "services.web.build: not supported by dockhand.runtime.compose"),
    ("bad restart", {"restart": "sometimes"}, "services.web.restart"),
]


def test_bad_input_changes_nothing_and_names_the_key(run_playbook, clean):
    name = PREFIX + "bad"
    good = model(name, {"web": dict(SLEEP), "other": dict(SLEEP)})
    run = run_playbook(local_play([compose_task("good", good)]))
    assert run.rc == 0, failures(run)
    before = ids_and_starts(name)
    tasks = []
    for case, extra, _expected in BAD_INPUT:
        bad = json.loads(json.dumps(good))
        bad["services"]["web"].update(extra)
        bad["services"]["other"]["environment"] = {"CHANGED": "1"}
        tasks.append(compose_task(case, bad, register=case.replace(" ", "_")))
    external = json.loads(json.dumps(good))
    external["networks"]["outside"] = {"name": PREFIX + "ext-net", "external": True}
    external["services"]["web"]["networks"] = {"outside": {"aliases": []}}
    external["volumes"] = {"kept": {"name": PREFIX + "ext-vol", "external": True}}
    external["services"]["other"]["volumes"] = [{"type": "volume", "source": "kept", "target": "/k",
                                                 "read_only": False}]
    tasks.append(compose_task("external", external))
    for task in tasks:
        task["ignore_errors"] = True
    run = run_playbook(local_play(tasks))
    assert_no_traceback(run)
    for case, _extra, expected in BAD_INPUT:
        assert run.status(case) == "failed" and expected in run.result(case)["msg"], run.result(case)
        assert not run.result(case)["changed"]
    message = run.result("external")["msg"]
    assert "networks.outside" in message and "volumes.kept" in message, message
    assert ids_and_starts(name) == before


def compose_file(project, directory):
    """The project as a compose file docker-compose 1.29 reads (long syntax, as the model has it)."""
    services = {}
    for key, service in project["services"].items():
        services[key] = {k: v for k, v in service.items() if k != "stop_signal"}
        services[key]["stop_signal"] = "SIGKILL"
    path = os.path.join(directory, "docker-compose.yml")
    with open(path, "w") as handle:
        yaml.safe_dump({"version": "3.8", "services": services}, handle)
    return path


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="Debian's docker-compose is not installed")
def test_docker_compose_lists_removes_and_is_adopted(run_playbook, clean, tmp_path):
    """docker-compose 1.29 sees and removes what the module made; the module adopts what it made."""
    name = PREFIX + "interop"
    project = model(name, {"web": dict(SLEEP, environment={"A": "1"}, labels={"team": "a"}),
                           "db": dict(SLEEP)})
    compose_file(project, str(tmp_path))

    def client(*args):
        return subprocess.run(["docker-compose", "-p", name, *args], cwd=str(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
    run = run_playbook(local_play([compose_task("up", project)]))
    assert run.rc == 0, failures(run)
    listed = client("ps")
    assert listed.returncode == 0 and name + "-web-1" in listed.stdout and name + "-db-1" in listed.stdout, listed
    down = client("down")
    assert down.returncode == 0, down.stdout
    assert containers_of(name) == [] and inspect(name + "_default", "network") is None
    up = client("up", "-d")
    assert up.returncode == 0, up.stdout
    before = ids_and_starts(name)
    assert sorted(before) == [name + "_db_1", name + "_web_1"]
    run = run_playbook(local_play([compose_task("adopt", project, register="adopt")]))
    assert run.rc == 0, failures(run)
    assert not run.result("adopt")["changed"], run.result("adopt")
    assert ids_and_starts(name) == before


def test_a_key_removed_from_the_file_is_undone(run_playbook, clean):
    """read_only, a capability and a port dropped from the service: the container is recreated without them (this
    machine's dockerd cannot start a privileged container: read_only stands for the flags)."""
    name = PREFIX + "removed"
    first = model(name, {"web": dict(SLEEP, read_only=True, cap_add=["NET_ADMIN"], ports=[
        {"target": 80, "published": "18331", "host_ip": "127.0.0.1", "protocol": "tcp"},
        {"target": 443, "published": "18332", "host_ip": "127.0.0.1", "protocol": "tcp"}])})
    second = json.loads(json.dumps(first))
    web = second["services"]["web"]
    del web["read_only"]
    del web["cap_add"]
    web["ports"] = web["ports"][:1]
    run = run_playbook(local_play([compose_task("apply", first),
                                   compose_task("removed", second, register="removed"),
                                   compose_task("again", second, register="again")]))
    assert run.rc == 0, failures(run)
    assert run.result("removed")["changed"], run.result("removed")
    assert not run.result("again")["changed"], run.result("again")
    host = inspect(name + "-web-1")["HostConfig"]
    assert host["ReadonlyRootfs"] is False
    assert not host.get("CapAdd")
    assert sorted(host["PortBindings"]) == ["80/tcp"]


def test_interpolated_secrets_show_nowhere(run_playbook, clean):
    """Secret-named variables of the task's environment used in a command and a healthcheck: in the container, but
    in no result, diff, warning or invocation (the module's no_log_values and the action plugin's mask)."""
    name = PREFIX + "secrets"
    definition = yaml.safe_dump({"services": {"db": {
        "image": BUSYBOX, "stop_signal": "SIGKILL",
        "command": ["sh", "-c", "sleep 3600", "--token", "${API_TOKEN}"],
        "healthcheck": {"test": ["CMD", "true", "-p${MYSQL_ROOT_PASSWORD}"], "interval": "1s"}}}})

    def task(task_name, password):
        return {"name": task_name, "register": task_name, "environment": {
            "MYSQL_ROOT_PASSWORD": password, "API_TOKEN": "tok12345"},
            "dockhand.runtime.compose": {"definition": definition, "project_name": name}}
    run = run_playbook(local_play([task("create", "hunter22"), task("change", "hunter33")]), diff=True)
    assert run.rc == 0, failures(run)
    assert "tok12345" in inspect(name + "-db-1")["Config"]["Cmd"]
    assert "-phunter33" in inspect(name + "-db-1")["Config"]["Healthcheck"]["Test"]
    assert run.result("change")["changed"] and run.result("change")["diff"], run.result("change")
    assert "invocation" in run.result("change")
    shown = json.dumps(run.records) + run.output
    for secret in ("hunter22", "hunter33", "tok12345"):
        assert secret not in shown, secret


def test_stop_and_remove_act_on_the_named_services_alone(run_playbook, clean):
    """state stopped stops (never recreates, even with a changed service) the named service and not what it depends
    on; absent removes the named service alone."""
    name = PREFIX + "named"
    first = model(name, {"db": dict(SLEEP), "app": dict(SLEEP, depends_on={
        "db": {"condition": "service_started", "restart": False, "required": True}})})
    changed = json.loads(json.dumps(first))
    changed["services"]["app"]["environment"] = {"V": "2"}
    run = run_playbook(local_play([compose_task("up", first)]))
    assert run.rc == 0, failures(run)
    before = ids_and_starts(name)
    run = run_playbook(local_play([compose_task("stop", changed, register="stop", state="stopped", services=["app"]),
                                   compose_task("stop again", changed, register="again", state="stopped",
                                                services=["app"])]))
    assert run.rc == 0, failures(run)
    assert run.result("stop")["services"]["app"]["actions"] == ["stopped %s-app-1" % name], run.result("stop")
    assert not run.result("stop again")["changed"], run.result("stop again")
    app, db = inspect(name + "-app-1"), inspect(name + "-db-1")
    assert app["Id"] == before[name + "-app-1"][0] and not app["State"]["Running"]
    assert "V=2" not in (app["Config"]["Env"] or [])
    assert db["State"]["Running"] and (db["Id"], db["State"]["StartedAt"]) == before[name + "-db-1"]
    run = run_playbook(local_play([compose_task("rm", changed, register="rm", state="absent", services=["app"])]))
    assert run.rc == 0, failures(run)
    assert containers_of(name) == [name + "-db-1"]


def test_removal_waits_the_stop_grace_period(run_playbook, clean):
    """A service that ignores SIGTERM with stop_grace_period 20s is removed with a 5 s API timeout: the stop waits
    the grace period (and the API timeout) rather than the engine's default 10 s."""
    name = PREFIX + "grace"
    project = model(name, {"slow": {"image": BUSYBOX, "stop_grace_period": "20s",
                                    "command": ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]}})
    run = run_playbook(local_play([compose_task("up", project),
                                   compose_task("down", project, register="down", state="absent", timeout=5)]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert run.result("down")["services"]["slow"]["actions"] == ["removed %s-slow-1" % name]
    assert containers_of(name) == []


def test_check_mode_reports_the_recreate_for_a_tag_not_on_the_host(run_playbook, clean):
    """A new image tag that is not local yet: check mode says the container is recreated, as the real run does."""
    name = PREFIX + "newtag"
    project = model(name, {"web": dict(SLEEP)})
    newer = json.loads(json.dumps(project))
    newer["services"]["web"]["image"] = "127.0.0.1:5000/library/busybox:dh-cmp-not-pulled"
    run = run_playbook(local_play([compose_task("up", project)]))
    assert run.rc == 0, failures(run)
    before = ids_and_starts(name)
    run = run_playbook(local_play([compose_task("newtag", newer, register="newtag")]), check=True, diff=True)
    assert run.rc == 0, failures(run)
    web = run.result("newtag")["services"]["web"]
    assert "recreated %s-web-1" % name in web["actions"] and "image" in web["differences"], web
    assert ids_and_starts(name) == before
