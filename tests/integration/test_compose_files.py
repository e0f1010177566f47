"""dockhand.runtime.compose end to end: the action plugin reads compose files, then the module applies them.

Through ansible-playbook against this machine's dockerd (the lab hub's images). The files are written by each
test; every project is named dh-cmpf-... and everything labelled with such a project is removed before and after
each test.
"""

import json
import os
import shutil
import socket
import subprocess
import urllib.request

import pytest
import yaml
from compose_objects import containers_of, failures, inspect, remove_projects
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

BUSYBOX = "127.0.0.1:5000/library/busybox:latest"
HELLO = "127.0.0.1:5000/library/hello:latest"
PREFIX = "dh-cmpf-"


def remove_all():
    remove_projects(PREFIX)


@pytest.fixture
def clean():
    remove_all()
    yield
    remove_all()


def compose_task(task_name, register=None, environment=None, **options):
    task = {"name": task_name, "dockhand.runtime.compose": options}
    if register:
        task["register"] = register
    if environment:
        task["environment"] = environment
    return task


def ids(project):
    return {name: inspect(name)["Id"] for name in containers_of(project)}


def env_of(name):
    return dict(item.split("=", 1) for item in inspect(name)["Config"]["Env"])


def write(path, data):
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return str(path)


def sleeper(**extra):
    service = {"image": BUSYBOX, "command": "sleep 3600", "stop_signal": "SIGKILL"}
    service.update(extra)
    return service


def project_dir(tmp_path, name):
    """compose.yaml + compose.override.yaml + .env with ${VAR}, ${VAR:-default} and ${VAR:?msg}."""
    directory = tmp_path / "project"
    directory.mkdir()
    write(directory / "compose.yaml", {
        "name": name,
        "services": {
            "web": sleeper(environment={"GREETING": "${GREETING}", "LEVEL": "${LEVEL:-info}"}),
            "db": sleeper(environment={"DB_NAME": "${DB_NAME:?set DB_NAME in .env}"}),
        },
    })
    write(directory / "compose.override.yaml", {
        "services": {"web": {"labels": {"tier": "front"}},
                     "hello": {"image": HELLO, "command": ["sleep", "3600"], "stop_signal": "SIGKILL"}},
    })
    write(directory / ".env", "GREETING=hello\nDB_NAME=app\n")
    return directory


def test_project_src_rerun_and_an_environment_change(run_playbook, clean, tmp_path):
    """project_src: .env and override merged; a rerun changes nothing; a variable changed through the task's
    environment recreates only the service that uses it."""
    name = PREFIX + "src"
    directory = project_dir(tmp_path, name)
    run = run_playbook(local_play([compose_task("up", register="up", project_src=str(directory)),
                                   compose_task("again", register="again", project_src=str(directory))]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert run.result("up")["changed"], run.result("up")
    assert not run.result("again")["changed"], run.result("again")
    assert containers_of(name) == ["%s-%s-1" % (name, s) for s in ("db", "hello", "web")]
    web = env_of(name + "-web-1")
    assert web["GREETING"] == "hello" and web["LEVEL"] == "info", web
    assert env_of(name + "-db-1")["DB_NAME"] == "app"
    assert inspect(name + "-web-1")["Config"]["Labels"]["tier"] == "front"
    before = ids(name)
    run = run_playbook(local_play([compose_task("same", register="same", project_src=str(directory))]))
    assert run.rc == 0, failures(run)
    assert not run.result("same")["changed"], run.result("same")
    assert ids(name) == before
    changed = {"GREETING": "bye"}
    run = run_playbook(local_play([compose_task("change", register="change", environment=changed,
                                                project_src=str(directory)),
                                   compose_task("settled", register="settled", environment=changed,
                                                project_src=str(directory))]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    services = run.result("change")["services"]
    assert services["web"]["actions"] == ["recreated %s-web-1" % name, "started %s-web-1" % name], services
    assert services["db"]["actions"] == [] and services["hello"]["actions"] == [], services
    assert not run.result("settled")["changed"], run.result("settled")
    after = ids(name)
    assert after[name + "-web-1"] != before[name + "-web-1"]
    assert after[name + "-db-1"] == before[name + "-db-1"]
    assert after[name + "-hello-1"] == before[name + "-hello-1"]
    assert env_of(name + "-web-1")["GREETING"] == "bye"


def test_files_merged_in_order(run_playbook, clean, tmp_path):
    name = PREFIX + "files"
    base = write(tmp_path / "base.yaml", {"services": {
        "app": sleeper(environment={"A": "1", "B": "1"}, labels={"team": "a"}),
        "worker": sleeper()}})
    extra = write(tmp_path / "prod.yaml", {"services": {
        "app": {"environment": {"B": "2"}, "command": ["sleep", "7200"]}}})
    run = run_playbook(local_play([compose_task("up", register="up", files=[base, extra], project_name=name),
                                   compose_task("again", register="again", files=[base, extra],
                                                project_name=name)]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert not run.result("again")["changed"], run.result("again")
    assert containers_of(name) == [name + "-app-1", name + "-worker-1"]
    app = inspect(name + "-app-1")
    assert app["Config"]["Cmd"] == ["sleep", "7200"]
    assert env_of(name + "-app-1")["A"] == "1" and env_of(name + "-app-1")["B"] == "2"
    labels = app["Config"]["Labels"]
    assert labels["team"] == "a" and labels["com.docker.compose.project.config_files"] == base + "," + extra


def test_definition_as_a_yaml_string(run_playbook, clean):
    name = PREFIX + "inline"
    definition = yaml.safe_dump({"services": {"one": sleeper(environment={"WHO": "${WHO:-world}"})}})
    run = run_playbook(local_play([compose_task("up", register="up", definition=definition, project_name=name),
                                   compose_task("again", register="again", definition=definition,
                                                project_name=name)]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert run.result("up")["changed"] and not run.result("again")["changed"], run.result("again")
    assert env_of(name + "-one-1")["WHO"] == "world"


def test_a_pull_that_brings_nothing_new_is_no_change(run_playbook, clean):
    """pull: always asks the registry on every run; when it serves the image the host has, nothing changed
    (community.docker #802, #803, #813)."""
    name = PREFIX + "pull"
    definition = yaml.safe_dump({"services": {"one": sleeper()}})
    tasks = [compose_task(step, register=step, definition=definition, project_name=name, pull="always")
             for step in ("up", "again")]
    run = run_playbook(local_play(tasks))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert run.result("up")["changed"], run.result("up")
    again = run.result("again")
    assert not again["changed"] and again["services"]["one"]["actions"] == [], again
    assert [c["id"] for c in again["services"]["one"]["containers"]] == [inspect(name + "-one-1")["Id"]]


def test_missing_required_variable_fails_and_changes_nothing(run_playbook, clean, tmp_path):
    name = PREFIX + "required"
    directory = project_dir(tmp_path, name)
    run = run_playbook(local_play([compose_task("up", project_src=str(directory))]))
    assert run.rc == 0, failures(run)
    before = ids(name)
    write(directory / ".env", "GREETING=changed\n")  # DB_NAME gone, GREETING changed
    task = compose_task("missing", register="missing", project_src=str(directory))
    task["ignore_errors"] = True
    run = run_playbook(local_play([task]))
    assert_no_traceback(run)
    result = run.result("missing")
    assert run.status("missing") == "failed" and not result["changed"], result
    assert "set DB_NAME in .env" in result["msg"] and "services.db.environment" in result["msg"], result["msg"]
    assert ids(name) == before
    assert env_of(name + "-web-1")["GREETING"] == "hello"


def test_state_absent(run_playbook, clean, tmp_path):
    name = PREFIX + "absent"
    directory = project_dir(tmp_path, name)
    run = run_playbook(local_play([compose_task("up", project_src=str(directory)),
                                   compose_task("down", register="down", project_src=str(directory),
                                                state="absent"),
                                   compose_task("down again", register="again", project_src=str(directory),
                                                state="absent")]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert run.result("down")["changed"] and not run.result("down again")["changed"], run.result("down again")
    assert containers_of(name) == [] and inspect(name + "_default", "network") is None


def test_containers_role_deploys_compose_projects(run_playbook, clean, tmp_path):
    """containers_compose_projects: each entry's source, options and environment reach the compose task; the loop
    shows the project by its directory, not its environment; a rerun changes nothing."""
    name = PREFIX + "role"
    directory = project_dir(tmp_path, name)
    role_vars = {"containers_compose_projects": [
        {"project_src": str(directory), "environment": {"GREETING": "from-the-role"}, "wait": True,
         "services": ["web"]}]}
    play = local_play([], roles=[{"role": "dockhand.runtime.containers"}], vars=role_vars)
    first = run_playbook(play)
    assert_no_traceback(first)
    assert first.rc == 0, failures(first)
    assert first.status("Deploy the compose projects") == "changed"
    assert containers_of(name) == [name + "-web-1"], "services: [web] did not reach the module"
    assert env_of(name + "-web-1")["GREETING"] == "from-the-role"
    assert "(item=%s)" % directory in first.output and "from-the-role" not in first.output, first.output[-2000:]
    again = run_playbook(play)
    assert again.rc == 0, failures(again)
    assert not [r for r in again.records if r["status"] == "changed"], "the rerun changed something"


WEBAPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "unit", "plugins", "plugin_utils",
                      "compose", "fixtures", "webapp")


def instant(stamp):
    """A Docker timestamp (RFC 3339 with up to nine fraction digits, trailing zeros cut) as comparable numbers."""
    seconds, _dot, fraction = stamp.rstrip("Z").partition(".")
    return seconds, int(fraction.ljust(9, "0"))


def lab_override(port):
    """What a user adds to run the example where only the lab's images exist: compose's own override file maps
    each image to busybox, each program to a busybox stand-in that answers the same healthcheck, and the
    published ports to a free loopback port."""
    quick = {"interval": "1s", "timeout": "3s", "retries": 30, "start_period": "0s"}
    return "\n".join([
        "services:",
        "  proxy:",
        "    image: %s" % BUSYBOX,
        "    command: httpd -f -p 80 -h /etc/nginx/conf.d",
        "    stop_signal: SIGKILL",
        "    ports: !override",
        "      - 127.0.0.1:%d:80" % port,
        "  app:",
        "    image: %s" % BUSYBOX,
        "    command: sh -c 'mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8000 -h /www'",
        "    stop_signal: SIGKILL",
        "    healthcheck: %s" % json.dumps(quick),
        "  migrate:",
        "    image: %s" % BUSYBOX,
        "    command: [sh, -c, 'test -n \"$$DATABASE_URL\"']",
        "  db:",
        "    image: %s" % BUSYBOX,
        "    command: sleep 3600",
        "    stop_signal: SIGKILL",
        "    healthcheck: %s" % json.dumps(dict(quick, test=["CMD", "test", "-d", "/var/lib/postgresql/data"])),
        "  cache:",
        "    image: %s" % BUSYBOX,
        "    command: sleep 3600",
        "    stop_signal: SIGKILL",
        "    healthcheck: %s" % json.dumps(dict(quick, test=["CMD", "test", "-d", "/data"])),
        ""])


def test_a_public_style_example_with_the_lab_images(run_playbook, clean, tmp_path):
    """A whole example in the shape of the public awesome-compose samples (a proxy, an app that waits for its
    database, a migration job, a cache, a debug-only profile, two networks, a named volume), kept in this
    repository as tests/unit/.../fixtures/webapp (written for this project), run as a user would: its files and
    .env untouched, plus an override file that maps the images to the lab's busybox."""
    name = PREFIX + "webapp"
    directory = tmp_path / "webapp"
    shutil.copytree(WEBAPP, directory)
    (directory / "proxy").mkdir()
    (directory / "proxy" / "nginx.conf").write_text("server { listen 80; }\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    files = [str(directory / "compose.yaml"), write(directory / "compose.lab.yaml", lab_override(port))]
    run = run_playbook(local_play([
        compose_task("up", register="up", files=files, project_name=name, wait=True, wait_timeout=120),
        compose_task("again", register="again", files=files, project_name=name, wait=True)]))
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    assert not run.result("again")["changed"], run.result("again")
    services = ["app", "cache", "db", "migrate", "proxy"]  # adminer is in the debug profile, not started
    assert containers_of(name) == ["%s-%s-1" % (name, service) for service in services]
    state = {service: inspect("%s-%s-1" % (name, service))["State"] for service in services}
    assert {service: state[service].get("Health", {}).get("Status") for service in ("app", "db", "cache")} == \
        {"app": "healthy", "db": "healthy", "cache": "healthy"}
    assert state["proxy"]["Running"] and not state["migrate"]["Running"] and state["migrate"]["ExitCode"] == 0
    # The order depends_on asks for: db healthy before the migration ran, the migration done before app started.
    assert instant(state["migrate"]["StartedAt"]) > instant(state["db"]["StartedAt"])
    assert instant(state["app"]["StartedAt"]) > instant(state["migrate"]["FinishedAt"])

    app = inspect(name + "-app-1")
    assert app["HostConfig"]["Memory"] == 512 * 1024 * 1024 and app["HostConfig"]["NanoCpus"] == 1500000000
    assert app["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert env_of(name + "-app-1")["DATABASE_URL"] == "postgresql://app:s3cr3t p@ss@db:5432/app"
    assert env_of(name + "-app-1")["SECRET_KEY"] == "change-me"  # from env_file app.env
    assert sorted(app["NetworkSettings"]["Networks"]) == [name + "_backnet", name + "_frontnet"]
    assert "web" in app["NetworkSettings"]["Networks"][name + "_frontnet"]["Aliases"]
    assert inspect(name + "_backnet", "network")["Internal"] is True
    assert inspect(name + "_db-data", "volume")["Labels"]["com.docker.compose.project"] == name
    proxy = inspect(name + "-proxy-1")
    assert sorted(proxy["NetworkSettings"]["Networks"]) == [name + "_frontnet"]

    # The proxy serves its bind-mounted configuration on the published port, and reaches the app by its alias.
    with urllib.request.urlopen("http://127.0.0.1:%d/default.conf" % port, timeout=10) as answer:
        assert answer.read() == b"server { listen 80; }\n"
    reached = subprocess.run(["docker", "exec", name + "-proxy-1", "wget", "-qO-", "http://web:8000/health"],
                             stdout=subprocess.PIPE, text=True, check=False)
    assert reached.stdout == "ok\n"

    down = run_playbook(local_play([compose_task("down", register="down", files=files, project_name=name,
                                                 state="absent")]))
    assert down.rc == 0, failures(down)
    assert containers_of(name) == [] and inspect(name + "_db-data", "volume") is not None
