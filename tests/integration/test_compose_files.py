"""dockhand.runtime.compose end to end: the action plugin reads compose files, then the module applies them.

Through ansible-playbook against this machine's dockerd (the lab hub's images). The files are written by each
test; every project is named dh-cmpf-... and everything labelled with such a project is removed before and after
each test.
"""


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
