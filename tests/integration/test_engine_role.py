"""The engine role on the lab's host5 (engine_source: distro) and host6 (docker_ce from the lab's
mirror of download.docker.com, tests/lab/README.md "docker_ce").

host6 runs one sequence from a fresh host (fixture ``ce_sequence``): a first install with a key that
did not sign the mirror, the README's example twice (docker.io from the docker-ce mirror with the
default engine_conflicting_packages), a full version pin the mirror lacks, a wrong key over an
existing source, check mode with the role's defaults, then the role's defaults twice. The Molecule
scenarios run through the exact command their header gives. The fault tests then run against the
installed hosts and check that each bad input or fault fails with a message that says what to change,
and that the package source on the host and dockerd's PID are what they were before.

Each apt run costs seconds to minutes, so the failing cases that stop before apt are folded into one
playbook run (a block per case); the tests assert on the recorded results.
"""

import json
import os
import re
import select
import subprocess
import time
import urllib.request

import pytest
from conftest import ansible_env, assert_no_traceback, tool
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

DISTRO_HOST = "dockhand-lab-host5"
CE_HOST = "dockhand-lab-host6"
ROLE_DIR = os.path.join(REPO_ROOT, "roles", "engine")
SOURCE = "/etc/apt/sources.list.d/docker.sources"
KEY = "/etc/apt/keyrings/docker.asc"
LAB_SUFFIX = "+dockhandlab1"  # every package of the lab's docker-ce mirror carries it (tests/lab/lab.py)
LAB_ORIGIN = "http://dockhand-lab-apt:5006/docker-ce/linux/debian"
# The lab writes the fingerprint of its mirror's signing key here (tests/lab/lab.py docker_ce_key): the
# tests pin it, as a user of a private mirror pins the fingerprint its owner gives.
FINGERPRINT_FILE = os.path.join(REPO_ROOT, "tests", "lab", "state", "docker-ce-key.fingerprint")
DEBIAN_DOCKER_IO = "20.10.24+dfsg1-1+deb12u1+b6"  # Debian 12's build, which the lab's mirror does not have
CE_PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"]
ALL_ENGINE_PACKAGES = CE_PACKAGES + ["docker.io", "containerd", "runc"]
DEPLOYER = "dh-engine-deployer"
DEPLOYER_ROOT_PASSWORD = "dh-engine-lab-root"  # set for su in one test, then locked again


def lab_fingerprint():
    assert os.path.exists(FINGERPRINT_FILE), "%s is missing: run tests/lab/lab setup" % FINGERPRINT_FILE
    with open(FINGERPRINT_FILE) as handle:
        return handle.read().strip()


def check_lab_mirror(lab):
    """The lab's docker-ce mirror must serve Docker CE's package names (a lab set up by an older lab.py does not)."""
    url = lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors_local"]["docker_ce"]
    with urllib.request.urlopen(url + "/linux/debian/dists/bookworm/stable/binary-amd64/Packages", timeout=10) as page:
        names = re.findall(r"^Package: (\S+)$", page.read().decode(), re.M)
    missing = sorted(set(CE_PACKAGES + ["docker.io"]) - set(names))
    assert not missing, "the lab's docker-ce mirror lacks %s: run tests/lab/lab setup" % ", ".join(missing)


def mirror_vars():
    """What a user of the lab's private mirror must set: where it is, its key's fingerprint, and that the
    key comes over plain http (the lab serves http only)."""
    return {"engine_repo_mirror": "{{ lab_mirrors.docker_ce }}", "engine_repo_key_fingerprint": lab_fingerprint(),
            "engine_repo_allow_http_key": True}


def readme_vars():
    """The README's example on the lab (issue 16 #1): docker.io from the docker-ce mirror, default conflicts."""
    return dict(mirror_vars(), engine_source="docker_ce", engine_packages=["docker.io"],
                engine_daemon_settings={"insecure-registries": ["{{ lab_hub_registry_name }}"]})


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


SOURCE_STATE = "cat %s %s 2>&1; ls /etc/apt/sources.list.d /etc/apt/keyrings 2>&1" % (SOURCE, KEY)


def source_state(host):
    """The package source files and any backups the role might have left."""
    return on_host(host, SOURCE_STATE, check=False)


def docker_pid(host):
    return on_host(host, "systemctl show -p MainPID --value docker").strip()


def installed(host):
    """{package: version} of the engine packages dpkg has installed."""
    text = on_host(host, "dpkg-query --show --showformat '${Package} ${db:Status-Status} ${Version}\\n' %s 2>/dev/null"
                   % " ".join(ALL_ENGINE_PACKAGES), check=False)
    return {parts[0]: parts[2] for parts in (line.split() for line in text.splitlines())
            if len(parts) == 3 and parts[1] == "installed"}


def role_play(host, variables, name="engine role"):
    return [{"name": name, "hosts": host, "gather_facts": False,
             "roles": [{"role": "dockhand.runtime.engine", "vars": variables}]}]


def failure(run):
    """The message of the failed task."""
    failed = [r for r in run.records if r["status"] == "failed"]
    assert failed, run.output[-3000:]
    return failed[-1]["result"].get("msg", "")


def changed_tasks(run):
    return [r["task"] for r in run.records if r["result"].get("changed")]


def wrong_key(tmp_path):
    """A key that did not sign the lab's mirror: (path of its armored export, its fingerprint)."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "wrong key <wrong@dockhand.invalid>",
                    "ed25519", "sign", "never"], env=env, check=True, capture_output=True)
    path = tmp_path / "wrong.asc"
    path.write_text(subprocess.run(["gpg", "--batch", "--armor", "--export"], env=env, check=True,
                                   stdout=subprocess.PIPE, text=True).stdout)
    listing = subprocess.run(["gpg", "--batch", "--with-colons", "--list-keys"], env=env, check=True,
                             stdout=subprocess.PIPE, text=True).stdout
    return str(path), [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")][0]


def timed(label, function, *args, **kwargs):
    started = time.monotonic()
    value = function(*args, **kwargs)
    print("%s: %.0f s" % (label, time.monotonic() - started))
    return value


# --------------------------------------------------------------------------
# Molecule, through the exact command in each scenario's header
# --------------------------------------------------------------------------

def header_command(scenario):
    """The command line the scenario's molecule.yml header tells a user to run."""
    with open(os.path.join(ROLE_DIR, "molecule", scenario, "molecule.yml")) as handle:
        lines = [line[1:].strip() for line in handle if line.startswith("#   ")]
    assert len(lines) == 1, lines
    return lines[0]


def molecule(scenario, tmp_path):
    """Run the header's command from the repository's root, the test virtualenv's bin first on PATH."""
    command = header_command(scenario)
    env = ansible_env(str(tmp_path / ("record-%s.jsonl" % scenario)))
    for name in ("ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_COLLECTIONS_PATH"):  # nothing the header does not set
        env.pop(name, None)
    env["PATH"] = os.path.dirname(tool("molecule")) + os.pathsep + env.get("PATH", "")
    env["NO_COLOR"] = "1"
    env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(tmp_path / ("molecule-%s" % scenario))  # no state from other runs
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1800, check=False)
    return command, proc.returncode, proc.stdout, time.monotonic() - started


def check_molecule(result, scenario):
    command, rc, output, seconds = result
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert rc == 0, "%s:\n%s" % (command, plain[-6000:])
    for step in ("syntax", "converge", "idempotence", "verify"):
        assert re.search(r"%s\s*(?:➜|>)\s*%s: Executed: Successful" % (scenario, step), plain), plain[-4000:]
    assert "Traceback (most recent call last)" not in plain
    assert "was not found" not in plain
    print("%s: %.0f s" % (command, seconds))


@pytest.fixture(scope="module")
def distro_installed(lab, tmp_path_factory):
    """host5 with Debian's docker.io, by the distro scenario (converge, idempotence, verify)."""
    return molecule("distro", tmp_path_factory.mktemp("molecule"))


@pytest.fixture(scope="module")
def ce_molecule(ce_sequence, tmp_path_factory):
    return molecule("docker_ce", tmp_path_factory.mktemp("molecule"))


# what each scenario's header and roles/engine/README.md show; molecule() runs the header's command as written
HEADER_COMMANDS = {"distro": "make link && cd roles/engine && molecule test -s distro",
                   "docker_ce": "make link && cd roles/engine && molecule test -s docker_ce"}


def test_molecule_headers_give_the_command_a_user_runs():
    for scenario, command in HEADER_COMMANDS.items():
        assert header_command(scenario) == command


def test_distro_scenario_runs_as_its_header_says(distro_installed):
    check_molecule(distro_installed, "distro")
    assert not installed(DISTRO_HOST)["docker.io"].endswith(LAB_SUFFIX)
    assert on_host(DISTRO_HOST, "test -e %s && echo yes || echo no" % SOURCE).strip() == "no"
    assert "docker" in on_host(DISTRO_HOST, "id -nG nobody").split()


def test_docker_ce_scenario_runs_as_its_header_says(ce_molecule):
    check_molecule(ce_molecule, "docker_ce")
    packages = installed(CE_HOST)
    assert set(CE_PACKAGES) <= set(packages) and all(packages[p].endswith(LAB_SUFFIX) for p in CE_PACKAGES)


# --------------------------------------------------------------------------
# host6: the README's example twice, a full pin, a wrong key, the defaults (one sequence)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ce_sequence(lab, run_playbook_once, tmp_path_factory):
    """Run the docker_ce cases in order from a fresh host6; returns what each run did and left."""
    check_lab_mirror(lab)
    tmp = tmp_path_factory.mktemp("ce")
    inventory = lab["inventory"]
    # A fresh host: no Docker, no docker-ce source, and no /etc/apt/keyrings (apt before 2.4 ships none).
    on_host(CE_HOST, "systemctl stop docker.socket docker.service containerd.service 2>/dev/null; "
                     "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q %s >/dev/null 2>&1; "
                     "rm -rf /etc/docker %s /etc/apt/keyrings /etc/apt/sources.list.d/docker.sources.*~"
                     % (" ".join(ALL_ENGINE_PACKAGES), SOURCE), check=False)
    assert installed(CE_HOST) == {}
    key_file, key_fpr = wrong_key(tmp)
    wrong = dict(readme_vars(), engine_repo_key=key_file, engine_repo_key_fingerprint=key_fpr,
                 engine_package_update_retries=1)
    seq = {}

    def step(name, variables, **kwargs):
        before = {"source": source_state(CE_HOST), "packages": installed(CE_HOST),
                  "pid": on_host(CE_HOST, "systemctl show -p MainPID --value docker", check=False).strip()}
        run = timed("ce_sequence %s" % name, run_playbook_once, role_play(CE_HOST, variables), inventory=inventory,
                    **kwargs)
        after = {"source": source_state(CE_HOST), "packages": installed(CE_HOST),
                 "pid": on_host(CE_HOST, "systemctl show -p MainPID --value docker", check=False).strip(),
                 "keyrings": on_host(CE_HOST, "test -d /etc/apt/keyrings && echo yes || echo no").strip(),
                 "active": on_host(CE_HOST, "systemctl is-active docker", check=False).strip()}
        seq[name] = {"run": run, "before": before, "after": after}

    step("first_install_wrong_key", wrong)
    step("readme_1", readme_vars())
    step("readme_2", readme_vars())
    step("full_pin_debian_build", dict(readme_vars(), engine_version=DEBIAN_DOCKER_IO))
    # -e engine_repo_backup=false arrives as the string "false" (issue 9 #6)
    step("wrong_key_over_source", wrong, extra_vars={"engine_repo_backup": "false"})
    apt_ip = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             "dockhand-lab-apt"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    seq["apt_ip"] = apt_ip
    step("defaults_check", dict(mirror_vars(), engine_repo_mirror="http://%s:5006/docker-ce" % apt_ip),
         check=True, diff=True)
    step("defaults_1", mirror_vars())
    step("defaults_2", mirror_vars())
    return seq


def test_first_install_with_a_wrong_key_says_why_and_leaves_nothing(ce_sequence):
    """Issue 16 #4: apt's own line about the key, no "put back" where there was nothing, no empty keyrings."""
    case = ce_sequence["first_install_wrong_key"]
    run = case["run"]
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    message = failure(run)
    assert "Refresh apt's package lists" in message, message
    assert re.search(r"apt update says: .*(NO_PUBKEY|not signed)", message), message
    assert "The package source this run wrote was removed again (there was none before)." in message, message
    assert "put back" not in message, message
    assert ". The package source this run wrote" in message and ":." not in message, message  # sentences end
    assert case["after"]["keyrings"] == "no", "an empty /etc/apt/keyrings was left behind"
    assert case["after"]["source"] == case["before"]["source"]  # no source, no key, no directory for it
    assert "No such file or directory" in case["after"]["source"]
    assert case["after"]["packages"] == {}


def test_the_readme_example_twice_keeps_docker(ce_sequence):
    """Issue 16 #1: the second run removed containerd and runc, and apt took docker.io with them."""
    first, second = ce_sequence["readme_1"], ce_sequence["readme_2"]
    assert first["run"].rc == 0, str(first["run"])
    assert first["after"]["packages"]["docker.io"].endswith(LAB_SUFFIX)
    assert {"containerd", "runc"} <= set(first["after"]["packages"])
    assert second["run"].rc == 0, str(second["run"])
    assert_no_traceback(second["run"])
    assert changed_tasks(second["run"]) == []
    assert second["after"]["packages"] == first["after"]["packages"]
    assert second["after"]["active"] == "active"
    assert second["after"]["pid"] == first["after"]["pid"] != "0"
    assert second["run"].status("Remove the conflicting packages") == "skipped"
    text = on_host(CE_HOST, "cat %s" % SOURCE)
    assert "URIs: %s\n" % LAB_ORIGIN in text and "Signed-By: %s\n" % KEY in text


def test_a_full_version_pin_matches_exactly_and_only_from_the_chosen_source(ce_sequence):
    """Issue 16 #3: Debian's build, which the mirror lacks, was taken as a prefix of ...+dockhandlab1."""
    case = ce_sequence["full_pin_debian_build"]
    run = case["run"]
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    message = failure(run)
    wanted = "engine_version %s is not in the package source: %s has no docker.io %s (it has %s%s)" % (
        DEBIAN_DOCKER_IO, LAB_ORIGIN, DEBIAN_DOCKER_IO, DEBIAN_DOCKER_IO, LAB_SUFFIX)
    assert message.startswith(wanted), message
    assert "Finalization" not in message and "filter plugin" not in message, message
    assert run.status("Refuse an engine_version the source does not have") == "failed"
    assert case["after"]["packages"] == case["before"]["packages"]
    assert case["after"]["source"] == case["before"]["source"]
    assert case["after"]["pid"] == case["before"]["pid"]


def test_a_wrong_key_over_a_source_puts_it_back_and_shows_apts_words(ce_sequence):
    """A key that did not sign the mirror (its fingerprint given too): apt refuses, the old files return."""
    case = ce_sequence["wrong_key_over_source"]
    run = case["run"]
    assert run.rc != 0, str(run)
    assert_no_traceback(run)
    message = failure(run)
    assert "Refresh apt's package lists" in message, message
    assert re.search(r"apt update says: .*(NO_PUBKEY|not signed)", message), message
    assert message.endswith("The previous package source was put back."), message
    assert run.status("Write the package source (checked against the mirror first)") == "changed"
    assert case["after"]["source"] == case["before"]["source"]
    # engine_repo_backup came as the string "false": the copies must still go (issue 9 #6)
    assert "~" not in case["after"]["source"], case["after"]["source"]
    assert case["after"]["pid"] == case["before"]["pid"]
    on_host(CE_HOST, "apt-get update -qq")  # apt works again with the restored source


def test_check_mode_shows_the_full_removal_and_touches_nothing(ce_sequence):
    case = ce_sequence["defaults_check"]
    run = case["run"]
    assert run.rc == 0, str(run)
    assert run.result("Report what check mode would do")["msg"] == (
        "Would remove docker.io, containerd, runc and install %s." % ", ".join(CE_PACKAGES))
    result = run.result("Write the package source (checked against the mirror first)")
    assert result["changed"] is True
    assert "URIs: http://%s:5006/docker-ce/linux/debian" % ce_sequence["apt_ip"] in json.dumps(result["diff"])
    assert case["after"] == dict(case["before"], keyrings="yes", active="active")


def test_the_role_defaults_install_docker_ce_and_a_second_run_changes_nothing(ce_sequence):
    """Issue 14 #1: engine_source docker_ce with the docker-ce package set, only the mirror settings given."""
    first, second = ce_sequence["defaults_1"], ce_sequence["defaults_2"]
    assert first["run"].rc == 0, str(first["run"])
    packages = first["after"]["packages"]
    assert set(packages) == set(CE_PACKAGES), packages
    assert all(packages[name].endswith(LAB_SUFFIX) for name in CE_PACKAGES), packages
    assert first["after"]["active"] == "active"
    assert second["run"].rc == 0, str(second["run"])
    assert changed_tasks(second["run"]) == []
    assert second["after"]["pid"] == first["after"]["pid"]
    assert on_host(CE_HOST, "docker version --format '{{.Server.Version}}'").strip().startswith("20.10.24")


# --------------------------------------------------------------------------
# host6: bad input, folded into one playbook run (each case fails before apt changes anything)
# --------------------------------------------------------------------------

BAD_INPUT = [
    ("unknown_preset", {"engine_repo_mirror": "nosuchmirror"}, "is not a known preset"),
    ("no_scheme", {"engine_repo_mirror": "dockhand-lab-apt:5006/docker-ce"}, "needs its scheme (http:// or https://)"),
    ("unsupported_distro", {"engine_repo_distribution": "alpine"}, "is not supported: Docker Engine is installed on"),
    ("unsupported_release", {"engine_repo_distribution": "ubuntu"}, "Ubuntu bookworm is not supported"),
    ("other_family", {"engine_repo_distribution": "rocky", "engine_repo_release": "9"},
     "distribution rocky installs with dnf, but this host (debian) uses apt"),
    ("release_injection", {"engine_repo_release": "bookworm\nTrusted: yes"},
     "release 'bookworm\\nTrusted: yes' holds a newline"),
    ("mirror_with_space", {"engine_repo_mirror": "http://dockhand-lab-apt:5006/docker ce"}, "holds a space"),
    ("key_url_with_newline", {"engine_repo_key": "http://dockhand-lab-apt:5006/docker-ce/linux/debian/gpg\ngpgcheck=0"},
     "holds a newline"),
    ("unreachable_mirror", {"engine_repo_mirror": "{{ lab_mirrors.dead }}/docker-ce"}, "connection refused"),
    ("broken_mirror", {"engine_repo_mirror": "{{ lab_mirrors.error }}"}, "HTTP 500"),
    ("auto_nothing_answers", {"engine_repo_mirror": "auto", "engine_repo_probe_timeout": 2,
                              "engine_repo_candidates": ["{{ lab_mirrors.dead }}", "{{ lab_mirrors.hang }}"]},
     "engine_repo_mirror: auto found no mirror"),
    # issue 9 "Unpinned repository key": Docker's fingerprint is the default, so the lab's own key is refused ...
    ("unpinned_lab_key", {"engine_repo_key_fingerprint": ""}, "not the pinned key 9DC8 5822 9FC7 DD38 854A E2D8"),
    # ... and so is any other fingerprint a user gives
    ("wrong_fingerprint", {"engine_repo_key_fingerprint": "BC83 7976 6559 F6D5 2973  82C3 79BD 4309 295D D5FB"},
     "not the pinned key BC83 7976 6559 F6D5 2973 82C3 79BD 4309 295D D5FB"),
    ("http_key_not_allowed", {"engine_repo_allow_http_key": False}, "would come over plain http"),
    ("version_not_in_source", {"engine_version": "99.1"},
     "engine_version 99.1 is not in the package source: %s has no docker-ce 99.1 (it has " % LAB_ORIGIN),
]
# engine_repo alone in check mode with --diff, as the issue found it: nothing may be rendered.
MODULE_CHECK_MODE = [
    ("module_release_injection", {"release": "bookworm\nTrusted: yes"}, "holds a newline"),
    ("module_mirror_with_space", {"mirror": "http://dockhand-lab-apt:5006/docker ce"}, "holds a space"),
    ("module_key_url_with_newline", {"key": "http://dockhand-lab-apt:5006/gpg\ngpgcheck=0"}, "holds a newline"),
    ("module_wrong_fingerprint", {"key_fingerprint": "9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88"},
     "not the pinned key 9DC8"),
]


def folded_play(host, fpr):
    """One play: a snapshot, then per case a block (the role or the module; the rescue records the message)
    and a snapshot after it."""
    def snapshot(name):
        return {"name": name, "ansible.builtin.shell": SOURCE_STATE + "; systemctl show -p MainPID --value docker",
                "changed_when": False}
    tasks = [snapshot("snapshot before")]
    for case, variables, _words in BAD_INPUT:
        role_vars = dict(mirror_vars(), **variables)
        tasks.append({"name": "case %s" % case, "block": [
            {"name": "start %s" % case, "ansible.builtin.include_role": {"name": "dockhand.runtime.engine"},
             "vars": role_vars}],
            "rescue": [{"name": "failed %s" % case,
                        "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg | default('') }}"}}]})
        tasks.append(snapshot("snapshot %s" % case))
    for case, options, _words in MODULE_CHECK_MODE:
        module_args = dict({"mirror": "{{ lab_mirrors.docker_ce }}", "key_fingerprint": fpr, "allow_http_key": True},
                           **options)
        tasks.append({"name": "case %s" % case, "block": [
            {"name": "start %s" % case, "dockhand.runtime.engine_repo": module_args, "check_mode": True,
             "diff": True}],
            "rescue": [{"name": "failed %s" % case,
                        "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg | default('') }}"}}]})
        tasks.append(snapshot("snapshot %s" % case))
    return [{"name": "bad input", "hosts": host, "gather_facts": False, "tasks": tasks}]


@pytest.fixture(scope="module")
def bad_input_run(ce_sequence, lab, run_playbook_once):
    assert ce_sequence["defaults_2"]["run"].rc == 0
    return timed("bad input (%d cases, one run)" % (len(BAD_INPUT) + len(MODULE_CHECK_MODE)), run_playbook_once,
                 folded_play(CE_HOST, lab_fingerprint()), inventory=lab["inventory"])


def case_records(run, case):
    """The records from the case's start to its snapshot."""
    names = [record["task"] for record in run.records]
    start = next(i for i, name in enumerate(names) if name.endswith("start %s" % case))
    end = next(i for i, name in enumerate(names) if name.endswith("snapshot %s" % case))
    return run.records[start:end + 1]


@pytest.mark.parametrize("case,variables,message", BAD_INPUT + MODULE_CHECK_MODE,
                         ids=[c[0] for c in BAD_INPUT + MODULE_CHECK_MODE])
def test_bad_input_fails_clearly_and_changes_nothing(bad_input_run, case, variables, message):
    run = bad_input_run
    assert run.rc == 0, str(run)  # every case is rescued by its block
    assert_no_traceback(run)
    records = case_records(run, case)
    rescued = [r for r in records if r["task"].endswith("failed %s" % case)]
    assert rescued, "case %s did not fail: %s" % (case, json.dumps(records)[-3000:])
    said = rescued[0]["result"]["msg"]
    assert message in said, said
    assert "Finalization" not in said and "unexpected error" not in said, said
    assert not [r["task"] for r in records if r["result"].get("changed")], case
    assert not [r for r in records if "diff" in r["result"] and r["result"]["diff"]], case
    assert records[-1]["result"]["stdout"] == run.result("snapshot before")["stdout"]


# --------------------------------------------------------------------------
# host6: a held apt lock
# --------------------------------------------------------------------------

def read_line(stream, timeout):
    """One line from ``stream`` within ``timeout`` seconds, or "" (no readline() that can hang the suite)."""
    ready, _writable, _errors = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


def test_held_apt_lock_is_waited_for_then_fails_clearly(ce_sequence, lab, run_playbook):
    assert ce_sequence["defaults_2"]["run"].rc == 0
    before = source_state(CE_HOST)
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
        assert read_line(holder.stdout, 60).strip() == "held"
        variables = dict(mirror_vars(), engine_repo_mirror="http://%s:5006/docker-ce" % ce_sequence["apt_ip"],
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


# --------------------------------------------------------------------------
# host5: the daemon, the users
# --------------------------------------------------------------------------

def test_daemon_that_does_not_start_shows_its_journal(distro_installed, lab, run_playbook):
    assert distro_installed[1] == 0
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


def test_unknown_user_is_refused(distro_installed, lab, run_playbook):
    assert distro_installed[1] == 0
    run = run_playbook(role_play(DISTRO_HOST, dict(DISTRO_VARS, engine_users=["nobody", "dockhand-nosuchuser"])),
                       inventory=lab["inventory"])
    assert run.rc != 0, str(run)
    assert "dockhand-nosuchuser, who does not exist" in failure(run)


@pytest.fixture
def deployer(distro_installed):
    """A user who logs in over SSH (the lab's key) and becomes root with su; not in the docker group yet."""
    on_host(DISTRO_HOST, "id %(u)s >/dev/null 2>&1 || useradd --create-home --shell /bin/sh %(u)s; "
                         "gpasswd --delete %(u)s docker >/dev/null 2>&1; "
                         "install -d -m 700 -o %(u)s -g %(u)s /home/%(u)s/.ssh && "
                         "install -m 600 -o %(u)s -g %(u)s /etc/ssh/dockhand-lab/authorized_keys "
                         "/home/%(u)s/.ssh/authorized_keys && "
                         "echo 'root:%(p)s' | chpasswd" % {"u": DEPLOYER, "p": DEPLOYER_ROOT_PASSWORD})
    try:
        yield DEPLOYER
    finally:
        on_host(DISTRO_HOST, "usermod --password '*' root; gpasswd --delete %s docker >/dev/null 2>&1; true"
                % DEPLOYER, check=False)


def test_a_new_member_of_the_docker_group_reaches_the_engine_in_the_same_play(deployer, lab, run_playbook):
    """Issue 9 #8: the play logs in as the user over ssh, the role (as root) adds them to docker, a later
    task as the user asks the engine. Without a new connection the kept login has its old groups."""
    play = {"name": "engine as a deployer", "hosts": DISTRO_HOST, "gather_facts": False,
            # ssh keeps the login open between tasks (ControlPersist), as on a user's controller and as the lab's
            # own connection does: the kept login has the groups it had when it was opened
            "vars": {"ansible_connection": "ansible.builtin.ssh", "ansible_user": deployer,
                     "ansible_become_method": "ansible.builtin.su", "ansible_become_password": DEPLOYER_ROOT_PASSWORD},
            "pre_tasks": [{"name": "groups at login", "ansible.builtin.command": "id -nG", "changed_when": False,
                           "register": "groups_before"}],
            "roles": [{"role": "dockhand.runtime.engine", "become": True,
                       "vars": dict(DISTRO_VARS, engine_users=["nobody", deployer])}],
            "tasks": [{"name": "ask the engine as the user", "dockhand.runtime.engine_info": {}},
                      # ends ssh's ControlPersist master, which would hold ansible-playbook's output open for 60 s
                      {"name": "close the kept login", "ansible.builtin.meta": "reset_connection"}]}
    run = run_playbook([play], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    assert "docker" not in run.result("groups at login")["stdout"].split()
    assert run.status("Add the users to the docker group") == "changed"
    engine = run.result("ask the engine as the user")["engine"]
    assert engine["running"] is True, engine
    assert "docker" in on_host(DISTRO_HOST, "id -nG %s" % deployer).split()
