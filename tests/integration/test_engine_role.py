"""The engine role on the lab's host5 (engine_source: distro) and host6 (docker_ce from the lab's
mirror of download.docker.com, tests/lab/README.md "docker_ce").

The Molecule scenarios (roles/engine/molecule/{distro,docker_ce}: converge, idempotence, verify)
install Docker once per host per session; the fault tests then run the role against the
installed hosts and check that each bad input or fault fails with a message that says what to
change, and that the package source on the host is what it was before.
"""

import json
import os
import re
import subprocess
import time

import pytest
from conftest import ansible_env, assert_no_traceback, tool
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

DISTRO_HOST = "dockhand-lab-host5"
CE_HOST = "dockhand-lab-host6"
ROLE_DIR = os.path.join(REPO_ROOT, "roles", "engine")
SOURCE = "/etc/apt/sources.list.d/docker.sources"
KEY = "/etc/apt/keyrings/docker.asc"
LAB_SUFFIX = "+dockhandlab1"  # the lab mirror's docker.io carries it (tests/lab/lab.py)

# What the docker_ce scenario gives the role (the fault tests start from the same).
CE_VARS = {
    "engine_source": "docker_ce",
    "engine_repo_mirror": "{{ lab_mirrors.docker_ce }}",
    "engine_packages": ["docker.io"],
    "engine_conflicting_packages": ["podman-docker", "docker-doc"],
    "engine_version": "20.10.24",
    "engine_daemon_settings": {"insecure-registries": ["{{ lab_hub_registry_name }}"]},
}
DISTRO_VARS = {
    "engine_source": "distro",
    "engine_users": ["nobody"],
    "engine_daemon_settings": {"insecure-registries": ["{{ lab_hub_registry_name }}"]},
}


def on_host(host, command, check=True):
    """A shell command in a lab host (docker exec); returns its stdout."""
    proc = subprocess.run(["docker", "exec", host, "sh", "-c", command], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    if check:
        assert proc.returncode == 0, "%s on %s: %s" % (command, host, proc.stderr)
    return proc.stdout


def source_state(host):
    """The package source files and any backups the role might have left."""
    return on_host(host, "cat %s %s 2>&1; ls /etc/apt/sources.list.d /etc/apt/keyrings" % (SOURCE, KEY))


def molecule(scenario, tmp_path):
    env = ansible_env(str(tmp_path / ("record-%s.jsonl" % scenario)))
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    env["PATH"] = os.path.dirname(tool("ansible-playbook")) + os.pathsep + env.get("PATH", "")
    env["NO_COLOR"] = "1"
    env["MOLECULE_NO_LOG"] = "false"
    env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(tmp_path / ("molecule-%s" % scenario))  # no state from earlier runs
    started = time.monotonic()
    proc = subprocess.run([tool("molecule"), "test", "--scenario-name", scenario], cwd=ROLE_DIR, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800, check=False)
    return proc.returncode, proc.stdout, time.monotonic() - started


@pytest.fixture(scope="module")
def scenarios(lab, tmp_path_factory):
    """Both Molecule scenarios, run once: {scenario: (rc, output, seconds)}."""
    tmp = tmp_path_factory.mktemp("molecule")
    return {name: molecule(name, tmp) for name in ("distro", "docker_ce")}


@pytest.mark.parametrize("scenario", ["distro", "docker_ce"])
def test_molecule_scenario(scenarios, scenario):
    rc, output, seconds = scenarios[scenario]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert rc == 0, plain[-6000:]
    for step in ("syntax", "converge", "idempotence", "verify"):
        assert re.search(r"%s\s*(?:➜|>)\s*%s: Executed: Successful" % (scenario, step), plain), plain[-4000:]
    assert "Traceback (most recent call last)" not in plain
    print("molecule %s: %.0f s" % (scenario, seconds))


def test_docker_ce_came_from_the_mirror(scenarios):
    assert scenarios["docker_ce"][0] == 0
    version = on_host(CE_HOST, "dpkg-query --show --showformat '${Version}' docker.io")
    assert version.endswith(LAB_SUFFIX), version
    text = on_host(CE_HOST, "cat %s" % SOURCE)
    assert "URIs: http://dockhand-lab-apt:5006/docker-ce/linux/debian" in text
    assert "Signed-By: %s" % KEY in text
    assert on_host(CE_HOST, "head -1 %s" % KEY).startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    # The distro host has Debian's own build and no docker-ce source.
    assert scenarios["distro"][0] == 0
    assert not on_host(DISTRO_HOST, "dpkg-query --show --showformat '${Version}' docker.io").endswith(LAB_SUFFIX)
    assert on_host(DISTRO_HOST, "test -e %s && echo yes || echo no" % SOURCE).strip() == "no"
    assert "docker" in on_host(DISTRO_HOST, "id -nG nobody").split()


def role_play(host, variables, name="engine role"):
    return [{"name": name, "hosts": host, "gather_facts": False,
             "roles": [{"role": "dockhand.runtime.engine", "vars": variables}]}]


def failure(run):
    """The message of the failed task."""
    failed = [r for r in run.records if r["status"] == "failed"]
    assert failed, run.output[-3000:]
    return failed[-1]["result"].get("msg", "")


def test_second_run_changes_and_restarts_nothing(scenarios, lab, run_playbook):
    assert scenarios["distro"][0] == 0
    pid = on_host(DISTRO_HOST, "systemctl show -p MainPID --value docker").strip()
    run = run_playbook(role_play(DISTRO_HOST, DISTRO_VARS), inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    assert not [r["task"] for r in run.records if r["result"].get("changed")]
    assert on_host(DISTRO_HOST, "systemctl show -p MainPID --value docker").strip() == pid


def test_check_mode_with_another_mirror_shows_the_change_and_touches_nothing(scenarios, lab, run_playbook):
    assert scenarios["docker_ce"][0] == 0
    before = source_state(CE_HOST)
    apt_ip = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             "dockhand-lab-apt"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    variables = dict(CE_VARS, engine_repo_mirror="http://%s:5006/docker-ce" % apt_ip)
    run = run_playbook(role_play(CE_HOST, variables), inventory=lab["inventory"], check=True, diff=True)
    assert run.rc == 0, str(run)
    result = run.result("Write the package source (checked against the mirror first)")
    assert result["changed"] is True
    assert "URIs: http://%s:5006/docker-ce/linux/debian" % apt_ip in json.dumps(result["diff"])
    assert source_state(CE_HOST) == before


BAD_INPUT = [
    ("unknown_preset", {"engine_repo_mirror": "nosuchmirror"}, "is not a known preset"),
    ("no_scheme", {"engine_repo_mirror": "dockhand-lab-apt:5006/docker-ce"}, "needs its scheme (http:// or https://)"),
    ("unsupported_distro", {"engine_repo_distribution": "alpine"}, "is not supported: Docker Engine is installed on"),
    ("unsupported_release", {"engine_repo_distribution": "ubuntu"}, "Ubuntu bookworm is not supported"),
    ("other_family", {"engine_repo_distribution": "rocky", "engine_repo_release": "9"},
     "distribution rocky installs with dnf, but this host (debian) uses apt"),
    ("unreachable_mirror", {"engine_repo_mirror": "{{ lab_mirrors.dead }}/docker-ce"}, "connection refused"),
    ("broken_mirror", {"engine_repo_mirror": "{{ lab_mirrors.error }}"}, "HTTP 500"),
    ("auto_nothing_answers", {"engine_repo_mirror": "auto", "engine_repo_probe_timeout": 2,
                              "engine_repo_candidates": ["{{ lab_mirrors.dead }}", "{{ lab_mirrors.hang }}"]},
     "engine_repo_mirror: auto found no mirror"),
    ("version_not_in_source", {"engine_version": "99.1"}, "the package source has no docker.io 99.1"),
]


@pytest.mark.parametrize("case,variables,message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_fails_clearly_and_changes_nothing(scenarios, lab, run_playbook, case, variables, message):
    assert scenarios["docker_ce"][0] == 0
    before = source_state(CE_HOST)
    pid = on_host(CE_HOST, "systemctl show -p MainPID --value docker").strip()
    run = run_playbook(role_play(CE_HOST, dict(CE_VARS, **variables)), inventory=lab["inventory"])
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    assert message in failure(run), failure(run)
    assert source_state(CE_HOST) == before
    assert on_host(CE_HOST, "systemctl show -p MainPID --value docker").strip() == pid
    assert not [r["task"] for r in run.records if r["result"].get("changed")], case


def test_a_failed_install_puts_the_previous_source_back(scenarios, lab, run_playbook, tmp_path):
    """A key that did not sign the mirror: the source is written, apt refuses it, the old files return."""
    assert scenarios["docker_ce"][0] == 0
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "wrong key <wrong@dockhand.invalid>",
                    "ed25519", "sign", "never"], env=env, check=True, capture_output=True)
    wrong = tmp_path / "wrong.asc"
    wrong.write_text(subprocess.run(["gpg", "--batch", "--armor", "--export"], env=env, check=True,
                                    stdout=subprocess.PIPE, text=True).stdout)
    before = source_state(CE_HOST)
    variables = dict(CE_VARS, engine_repo_key=str(wrong), engine_package_update_retries=1)
    run = run_playbook(role_play(CE_HOST, variables), inventory=lab["inventory"])
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    message = failure(run)
    assert "Refresh apt's package lists" in message and "previous package source was put back" in message, message
    assert run.status("Write the package source (checked against the mirror first)") == "changed"
    assert source_state(CE_HOST) == before
    assert not on_host(CE_HOST, "ls /etc/apt/keyrings /etc/apt/sources.list.d | grep '~$' || true").strip()
    # apt works again with the restored source
    on_host(CE_HOST, "apt-get update -qq")


def test_held_apt_lock_is_waited_for_then_fails_clearly(scenarios, lab, run_playbook):
    assert scenarios["docker_ce"][0] == 0
    before = source_state(CE_HOST)
    apt_ip = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             "dockhand-lab-apt"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    # apt locks with fcntl (lockf), not flock: hold its lock files the same way until killed.
    holder = subprocess.Popen(["docker", "exec", CE_HOST, "python3", "-c", (
        "import fcntl, os, time\n"
        "open('/run/dockhand-lock-holder.pid', 'w').write(str(os.getpid()))\n"
        "files = [open(p, 'w') for p in ('/var/lib/apt/lists/lock', '/var/lib/dpkg/lock-frontend',"
        " '/var/lib/dpkg/lock')]\n"
        "[fcntl.lockf(f, fcntl.LOCK_EX) for f in files]\n"
        "print('held', flush=True)\n"
        "time.sleep(900)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        variables = dict(CE_VARS, engine_repo_mirror="http://%s:5006/docker-ce" % apt_ip,
                         engine_package_lock_timeout=6)
        started = time.monotonic()
        run = run_playbook(role_play(CE_HOST, variables), inventory=lab["inventory"])
        assert run.rc != 0, str(run)
        message = failure(run)
        assert "held the package manager's lock" in message and "engine_package_lock_timeout (6 s)" in message, message
        assert "previous package source was put back" in message, message
        assert time.monotonic() - started > 6  # it waited
        assert source_state(CE_HOST) == before
    finally:
        on_host(CE_HOST, "kill $(cat /run/dockhand-lock-holder.pid); rm -f /run/dockhand-lock-holder.pid", check=False)
        holder.kill()
        holder.wait()


def test_daemon_that_does_not_start_shows_its_journal(scenarios, lab, run_playbook):
    assert scenarios["distro"][0] == 0
    original = on_host(DISTRO_HOST, "cat /etc/docker/daemon.json")
    on_host(DISTRO_HOST, "systemctl stop docker.socket docker.service && "
                         "echo '{\"storage-driver\": \"dockhand-no-such-driver\"}' > /etc/docker/daemon.json")
    try:
        run = run_playbook(role_play(DISTRO_HOST, DISTRO_VARS), inventory=lab["inventory"])
        assert run.rc != 0, str(run)
        assert_no_traceback(run)
        message = failure(run)
        assert "did not start" in message and "The last lines of the journal" in message, message
        assert "dockhand-no-such-driver" in message, message
    finally:
        on_host(DISTRO_HOST, "cat > /etc/docker/daemon.json <<'EOF'\n%sEOF\n"
                             "systemctl reset-failed docker.service; systemctl start docker.service" % original)
    assert on_host(DISTRO_HOST, "docker info --format '{{.Driver}}'").strip() == "overlay2"


def test_unknown_user_is_refused(scenarios, lab, run_playbook):
    assert scenarios["distro"][0] == 0
    run = run_playbook(role_play(DISTRO_HOST, dict(DISTRO_VARS, engine_users=["nobody", "dockhand-nosuchuser"])),
                       inventory=lab["inventory"])
    assert run.rc != 0, str(run)
    assert "dockhand-nosuchuser, who does not exist" in failure(run)
