"""registry_login (and image with stored credentials) against a registry with htpasswd auth on loopback.

The fixture runs the distribution registry binary (/usr/bin/docker-registry) on 127.0.0.1 at a
free port, with bcrypt htpasswd users made by htpasswd (apache2-utils, installed if missing), and
pushes one private image to it with the docker CLI (using a throwaway DOCKER_CONFIG). dockerd
reaches it over plain HTTP: 127.0.0.0/8 is an insecure registry range by default.
"""

import base64
import json
import os
import secrets
import shutil
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

USERS = {"alice": "A-" + secrets.token_urlsafe(12), "bob": "B-" + secrets.token_urlsafe(12)}
WRONG = "wrong-" + secrets.token_urlsafe(8)
SOURCE_IMAGE = "dockhand-lab/hello:latest"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def htpasswd_tool():
    found = shutil.which("htpasswd")
    if found:
        return found
    # test setup only: apache2-utils provides htpasswd (bcrypt, which the registry requires)
    install = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "apache2-utils"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    found = shutil.which("htpasswd")
    if not found:
        pytest.fail("htpasswd is needed (apt-get install apache2-utils): %s" % install.stdout[-2000:])
    return found


def docker(*args, config=None, stdin=None, check=True):
    argv = ["docker"] + (["--config", str(config)] if config else []) + list(args)
    return subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check)


def registry_status(port):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open("http://127.0.0.1:%d/v2/" % port, timeout=2) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory):
    """``{"host", "image"}`` of a registry with basic auth holding one private image."""
    work = tmp_path_factory.mktemp("private_registry")
    tool = htpasswd_tool()
    htpasswd = work / "htpasswd"
    for index, (user, password) in enumerate(USERS.items()):
        subprocess.run([tool, "-B", "-i"] + (["-c"] if index == 0 else []) + [str(htpasswd), user],
                       input=password, text=True, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = free_port()
    (work / "config.yml").write_text("\n".join([
        "version: 0.1",
        "log: {level: warn}",
        "storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}" % (work / "data"),
        "http: {addr: '127.0.0.1:%d', secret: %s}" % (port, secrets.token_hex(16)),
        "auth: {htpasswd: {realm: dockhand-test, path: %s}}" % htpasswd,
        "",
    ]))
    log = open(work / "registry.log", "w")  # noqa: SIM115 - open for the registry's lifetime
    proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(work / "config.yml")], stdout=log,
                            stderr=subprocess.STDOUT)
    host = "127.0.0.1:%d" % port
    image = "%s/private/hello:1" % host
    try:
        deadline = time.monotonic() + 20
        while registry_status(port) != 401:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the test registry did not start: %s" % (work / "registry.log").read_text()[-2000:])
            time.sleep(0.1)
        cli_config = work / "cli"
        docker("login", host, "--username", "alice", "--password-stdin", config=cli_config, stdin=USERS["alice"])
        docker("tag", SOURCE_IMAGE, image)
        docker("push", image, config=cli_config)
        docker("rmi", image)
        shutil.rmtree(cli_config)
        yield {"host": host, "image": image}
    finally:
        docker("rmi", image, check=False)
        proc.terminate()
        proc.wait(20)
        log.close()


def login_task(task_name="login", **options):
    return {"name": task_name, "dockhand.runtime.registry_login": options, "register": "out"}


def image_task(task_name, name, **options):
    options["name"] = name
    return {"name": task_name, "dockhand.runtime.image": options, "register": "out"}


def auth_of(user):
    return base64.b64encode(("%s:%s" % (user, USERS[user])).encode()).decode()


def assert_no_secret(run):
    """No password, and no base64 of user:password, anywhere in the output or the results."""
    everything = run.output + json.dumps([r["result"] for r in run.records])
    for user, password in list(USERS.items()) + [("alice", WRONG)]:
        encoded = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        assert password not in everything
        assert encoded not in everything


@pytest.fixture
def config_file(tmp_path):
    """A config.json that already holds another registry's entry and keys the module must keep."""
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir()
    original = {"auths": {"other.example:5000": {"auth": base64.b64encode(b"carol:keep").decode()}},
                "HttpHeaders": {"User-Agent": "kept"}, "detachKeys": "ctrl-x"}
    path.write_text(json.dumps(original, indent=2))
    os.chmod(path, 0o600)
    return path


def test_login_check_mode_stores_nothing(run_playbook, private_registry, config_file):
    before = config_file.read_bytes()
    run = run_playbook(local_play([login_task(registry=private_registry["host"], username="alice",
                                              password=USERS["alice"], config_path=str(config_file))]),
                       check=True, diff=True)
    assert run.rc == 0, str(run)
    result = run.result("login")
    assert result["changed"] is True and result["actions"] == ["stored"]
    assert result["verified"] is True and result["login_status"] == "Login Succeeded"
    assert "alice:********" in result["diff"]["after"] and "alice" not in result["diff"]["before"]
    assert "carol:********" in result["diff"]["before"]
    assert config_file.read_bytes() == before
    assert_no_secret(run)


def test_login_stores_merges_and_is_idempotent(run_playbook, private_registry, config_file):
    host = private_registry["host"]
    task = {"registry": host, "username": "alice", "password": USERS["alice"], "config_path": str(config_file)}
    run = run_playbook(local_play([login_task("first", **task)]))
    assert run.rc == 0, str(run)
    first = run.result("first")
    assert first["changed"] is True and first["registry"] == host and first["verified"] is True
    config = json.loads(config_file.read_text())
    assert config["auths"][host] == {"auth": auth_of("alice")}
    assert config["auths"]["other.example:5000"] == {"auth": base64.b64encode(b"carol:keep").decode()}
    assert config["HttpHeaders"] == {"User-Agent": "kept"} and config["detachKeys"] == "ctrl-x"
    assert stat.S_IMODE(os.stat(config_file).st_mode) == 0o600
    assert_no_secret(run)

    written = os.stat(config_file)
    again = run_playbook(local_play([login_task("again", **task), login_task("reauthorize", reauthorize=True, **task)]))
    assert again.rc == 0, str(again)
    assert again.result("again")["changed"] is False and again.result("again")["verified"] is False
    assert again.result("reauthorize")["changed"] is False and again.result("reauthorize")["verified"] is True
    after = os.stat(config_file)
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns), "the file was rewritten"
    assert_no_secret(again)


def test_wrong_password_fails_and_leaves_the_file(run_playbook, private_registry, config_file):
    host = private_registry["host"]
    before = config_file.read_bytes()
    for check in (True, False):
        run = run_playbook(local_play([login_task(registry=host, username="alice", password=WRONG,
                                                  config_path=str(config_file))]), check=check)
        assert run.rc != 0
        message = run.result("login")["msg"]
        for words in (host, "'alice'", "did not accept", "nothing was written"):
            assert words in message, message
        assert_no_secret(run)
        assert_no_traceback(run)
    assert config_file.read_bytes() == before


def test_private_pull_with_stored_credentials_and_logout(run_playbook, private_registry, config_file):
    host, image = private_registry["host"], private_registry["image"]
    docker("rmi", image, check=False)
    denied = run_playbook(local_play([image_task("anonymous", image, config_path=str(config_file))]))
    assert denied.rc != 0
    message = denied.result("anonymous")["msg"]
    for words in (image, "refused access", "No credentials for %s" % host, "registry_login"):
        assert words in message, message

    run = run_playbook(local_play([
        login_task(registry="http://%s" % host, username="bob", password=USERS["bob"], config_path=str(config_file)),
        image_task("pull", image, config_path=str(config_file)),
        image_task("pull again", image, config_path=str(config_file)),
    ]))
    assert run.rc == 0, str(run)
    assert run.result("pull")["changed"] is True and run.result("pull")["pulled"] is True
    assert run.result("pull again")["pulled"] is False
    assert_no_secret(run)

    check = run_playbook(local_play([login_task(registry=host, state="absent", config_path=str(config_file))]),
                         check=True, diff=True)
    assert check.rc == 0, str(check)
    assert check.result("login")["removed_keys"] == [host]
    assert "bob:********" in check.result("login")["diff"]["before"]
    assert "bob" not in check.result("login")["diff"]["after"]
    assert host in json.loads(config_file.read_text())["auths"]

    logout = run_playbook(local_play([login_task("logout", registry=host, state="absent",
                                                 config_path=str(config_file)),
                                      login_task("again", registry=host, state="absent",
                                                 config_path=str(config_file))]))
    assert logout.rc == 0, str(logout)
    assert logout.result("logout")["changed"] is True and logout.result("again")["changed"] is False
    config = json.loads(config_file.read_text())
    assert host not in config["auths"] and "other.example:5000" in config["auths"]
    docker("rmi", image, check=False)
    after_logout = run_playbook(local_play([image_task("pull", image, config_path=str(config_file))]))
    assert after_logout.rc != 0 and "refused access" in after_logout.result("pull")["msg"]


def test_new_password_shows_in_diff_without_the_secret(run_playbook, private_registry, tmp_path):
    host = private_registry["host"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {host: {"auth": base64.b64encode(b"alice:outdated").decode()}}}))
    os.chmod(path, 0o644)
    run = run_playbook(local_play([login_task(registry=host, username="alice", password=USERS["alice"],
                                              config_path=str(path))]), diff=True)
    assert run.rc == 0, str(run)
    result = run.result("login")
    assert result["actions"] == ["stored", "permissions_fixed"]
    assert "alice:******** (new password)" in result["diff"]["after"]
    assert result["diff"]["before_header"].endswith("(mode 0644)")
    assert result["diff"]["after_header"].endswith("(mode 0600)")
    assert "outdated" not in json.dumps(result)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text())["auths"][host] == {"auth": auth_of("alice")}


def test_loose_file_mode_is_fixed(run_playbook, private_registry, config_file):
    task = {"registry": private_registry["host"], "username": "alice", "password": USERS["alice"],
            "config_path": str(config_file)}
    assert run_playbook(local_play([login_task(**task)])).rc == 0
    os.chmod(config_file, 0o644)
    content = config_file.read_bytes()
    run = run_playbook(local_play([login_task(**task)]))
    assert run.rc == 0, str(run)
    assert run.result("login")["actions"] == ["permissions_fixed"]
    assert stat.S_IMODE(os.stat(config_file).st_mode) == 0o600 and config_file.read_bytes() == content


def test_docker_config_environment_and_helper_warning(run_playbook, private_registry, tmp_path):
    directory = tmp_path / "dc"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"credsStore": "dockhand-none"}))
    play = local_play([login_task(registry=private_registry["host"], username="alice", password=USERS["alice"])],
                      environment={"DOCKER_CONFIG": str(directory)})
    run = run_playbook(play)
    assert run.rc == 0, str(run)
    result = run.result("login")
    assert result["config_path"] == str(directory / "config.json")
    config = json.loads((directory / "config.json").read_text())
    assert config == {"credsStore": "dockhand-none", "auths": {private_registry["host"]: {"auth": auth_of("alice")}}}
    assert any("credential helper 'dockhand-none'" in w for w in result.get("warnings", []))


@pytest.mark.parametrize("options, words", [
    ({"registry": "ftp://reg.lan", "username": "a", "password": "b"}, "registry: registry 'ftp://reg.lan'"),
    ({"username": "a:b", "password": "c"}, "username 'a:b' is not usable"),
    ({"username": "a"}, "missing: password"),
    ({"username": "a", "password": ""}, "password is empty"),
])
def test_bad_input_changes_nothing(run_playbook, config_file, options, words):
    before = config_file.read_bytes()
    run = run_playbook(local_play([login_task(config_path=str(config_file), **options)]))
    assert run.rc != 0
    assert words in run.result("login")["msg"], run.result("login")["msg"]
    assert config_file.read_bytes() == before
    assert_no_traceback(run)


def test_invalid_config_file_is_not_overwritten(run_playbook, private_registry, tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"auths": {\n  "x": }\n')
    before = path.read_bytes()
    for state in ("present", "absent"):
        run = run_playbook(local_play([login_task(registry=private_registry["host"], username="alice",
                                                  password=USERS["alice"], config_path=str(path), state=state)]))
        assert run.rc != 0
        message = run.result("login")["msg"]
        assert str(path) in message and "line 2" in message and "Nothing was written" in message, message
        assert path.read_bytes() == before
        assert_no_secret(run)


def test_concurrent_logouts_lose_no_change(run_playbook, tmp_path, monkeypatch):
    """20 runs at once each take out a different registry's entry: every one is gone, the other keys stay."""
    path = tmp_path / "config.json"
    registries = ["reg%d.example:5000" % index for index in range(20)]
    path.write_text(json.dumps({"auths": dict({name: {"auth": base64.b64encode(b"u:p").decode()}
                                               for name in registries},
                                              **{"kept.example": {"auth": base64.b64encode(b"k:k").decode()}}),
                                "detachKeys": "ctrl-x"}))
    os.chmod(path, 0o600)
    inventory = tmp_path / "hosts"
    inventory.write_text("\n".join("run%d ansible_connection=local registry=%s" % (index, name)
                                   for index, name in enumerate(registries)) + "\n")
    monkeypatch.setenv("ANSIBLE_FORKS", "20")
    run = run_playbook([{"name": "logouts", "hosts": "all", "gather_facts": False,
                         "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                         "tasks": [login_task(registry="{{ registry }}", state="absent", config_path=str(path),
                                              lock_timeout=120)]}], inventory=str(inventory))
    assert run.rc == 0, str(run)
    assert all(record["result"]["changed"] for record in run.results("login"))
    assert len(run.results("login")) == 20
    config = json.loads(path.read_text())
    assert sorted(config["auths"]) == ["kept.example"] and config["detachKeys"] == "ctrl-x"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_mode_fix_does_not_follow_a_symlink(run_playbook, private_registry, tmp_path):
    """A config file that is a symlink: the mode of its target is never changed through it."""
    target = tmp_path / "elsewhere"
    host = private_registry["host"]
    target.write_text(json.dumps({"auths": {host: {"auth": auth_of("alice")}}}))
    os.chmod(target, 0o644)
    link = tmp_path / "config.json"
    link.symlink_to(target)
    run = run_playbook(local_play([login_task(registry=host, username="alice", password=USERS["alice"],
                                              config_path=str(link))]))
    assert run.status("login") == "failed"
    message = run.result("login")["msg"]
    assert str(link) in message and "symbolic link" in message, message
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert os.path.islink(link)
    assert_no_secret(run)
    assert_no_traceback(run)
