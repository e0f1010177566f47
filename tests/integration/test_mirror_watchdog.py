"""The mirror watchdog on lab host18: a mirror dies, the timer demotes it by SIGHUP, switch_mirrors reports it.

Docker and containerd on host18 get two mirrors through the mirrors role: a
pull-through registry of the hub that this test runs (dockhand-lab-wdmirror,
first) and the lab's cache (second), with mirrors_watchdog: true and a short
interval. Then the test stops its mirror and waits (bounded) for the outcome:
the dead mirror is behind the cache in `docker info` and in containerd's
hosts.toml, dockerd and containerd kept their MainPID and the container started
before kept its StartedAt, and the journal has the line.
switch_mirrors.yml then reports the change; the module's state=absent puts
back the mirrors the play set.
"""

import json
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import assert_no_traceback
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

HOST = "dockhand-lab-host18"
HUB = "dockhand-lab-hub:5000"
WD_MIRROR_NAME = "dockhand-lab-wdmirror"
WD_MIRROR_PORT = 5025
WD_MIRROR = "http://%s:%d" % (WD_MIRROR_NAME, WD_MIRROR_PORT)
REGISTRY_IMAGE = "dockhand-lab/registry:latest"
LAB_NETWORK = "dockhand-lab"
PROBE_CONTAINER = "dockhand-wd-probe"
INTERVAL_SECONDS = 10
PLAYBOOK = REPO_ROOT + "/playbooks/switch_mirrors.yml"
JOURNAL_TAG = "dockhand-mirror-watchdog"


def raw(command):
    return "{% raw %}" + command + "{% endraw %}"


def on_host(command):
    """Run a shell command inside the lab host's container (reading only); returns stdout."""
    done = subprocess.run(["docker", "exec", HOST, "sh", "-c", command], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, "%s: %s%s" % (command, done.stdout, done.stderr)
    return done.stdout.strip()


def engine_mirrors():
    listed = json.loads(on_host("docker info --format '{{json .RegistryConfig.Mirrors}}'")) or []
    return [url.rstrip("/") for url in listed]


def dockerd_pid():
    return on_host("systemctl show -p MainPID --value docker")


HOSTS_TOML = "/etc/containerd/certs.d/docker.io/hosts.toml"
CONTAINERD_TARGET = "containerd:" + HOSTS_TOML
DOCKER_TARGET = "docker:/etc/docker/daemon.json"


def containerd_mirrors():
    """The [host."..."] blocks of containerd's hosts.toml for docker.io, in order."""
    return re.findall(r'^\[host\."([^"]+)"\]', on_host("cat %s" % HOSTS_TOML), flags=re.M)


def containerd_pid():
    return on_host("systemctl show -p MainPID --value containerd")


def both_mirrors():
    return engine_mirrors(), containerd_mirrors()


def started_at():
    """{container: StartedAt} of every container on the host."""
    ids = on_host("docker ps -aq").split()
    if not ids:
        return {}
    shown = on_host("docker inspect -f '{{.Name}} {{.State.StartedAt}}' %s" % " ".join(ids))
    return dict(line.split(" ", 1) for line in shown.splitlines())


def wait_for(check, seconds, what):
    """Poll ``check()`` until it is truthy; fail with ``what`` and the last value after ``seconds``."""
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    pytest.fail("%s did not happen within %d s (last: %r)" % (what, seconds, value))


@pytest.fixture(scope="module")
def wd_mirror(lab):
    """A pull-through registry of the hub on the lab network, made for this test and removed after it."""
    subprocess.run(["docker", "rm", "-f", WD_MIRROR_NAME], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", WD_MIRROR_NAME, "--hostname", WD_MIRROR_NAME,
                    "--network", LAB_NETWORK, "--label", "dockhand.lab=1", "--label", "dockhand.lab.role=mirror",
                    "--publish", "127.0.0.1:%d:%d" % (WD_MIRROR_PORT, WD_MIRROR_PORT),
                    "--env", "REGISTRY_HTTP_ADDR=:%d" % WD_MIRROR_PORT,
                    "--env", "REGISTRY_PROXY_REMOTEURL=http://%s" % HUB, REGISTRY_IMAGE],
                   capture_output=True, check=True)

    def answers():
        try:
            return urllib.request.urlopen("http://127.0.0.1:%d/v2/" % WD_MIRROR_PORT, timeout=2).status == 200
        except (urllib.error.URLError, OSError):
            return False
    wait_for(answers, 30, "the watchdog test's mirror answering")
    yield WD_MIRROR
    subprocess.run(["docker", "rm", "-f", WD_MIRROR_NAME], capture_output=True, check=False)


def role_play(**variables):
    settings = {"mirrors_runtime": ["docker"], "mirrors_probe": False, "mirrors_verify_image": "",
                "mirrors_watchdog_interval": "%ds" % INTERVAL_SECONDS, "mirrors_watchdog_policy": "demote",
                "mirrors_watchdog_image": "", "mirrors_watchdog_timeout": 3}
    settings.update(variables)
    return [{"name": "mirrors with the watchdog", "hosts": HOST, "gather_facts": False, "tasks": [
        {"name": "Apply the mirrors role", "ansible.builtin.include_role": {"name": "dockhand.runtime.mirrors"},
         "vars": settings}]}]


def watchdog_task(**options):
    return [{"name": "watchdog module", "hosts": HOST, "gather_facts": False, "tasks": [
        {"name": "watchdog", "dockhand.runtime.mirror_watchdog": options, "register": "watchdog"}]}]


@pytest.fixture(scope="module")
def host(lab, run_playbook_once, wd_mirror):
    """Docker on host18 with the two mirrors, the watchdog on them, and a container started before all that."""
    cache = lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors"]["cache"]
    run = run_playbook_once([{"name": "prepare", "hosts": HOST, "gather_facts": False, "tasks": [
        {"name": "remove a watchdog left by an earlier run", "dockhand.runtime.mirror_watchdog": {"state": "absent"}},
        {"name": "install docker.io", "ansible.builtin.apt": {
            "name": "docker.io", "update_cache": True, "cache_valid_time": 3600, "install_recommends": False}},
        {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
        {"name": "reach the hub without TLS", "dockhand.runtime.daemon_config": {
            "settings": {"insecure-registries": [HUB]}, "list_merge": "append_unique"}},
        {"name": "start a long-running container", "ansible.builtin.shell": raw(
            "docker inspect %s >/dev/null 2>&1 || docker run -d --name %s %s/library/busybox:latest sleep 86400"
            % (PROBE_CONTAINER, PROBE_CONTAINER, HUB)), "changed_when": False},
    ]}], inventory=lab["inventory"])
    assert run.rc == 0, run.output[-3000:]
    run = run_playbook_once(role_play(mirrors_candidates=[wd_mirror, cache], mirrors_watchdog=True,
                                      mirrors_runtime=["docker", "containerd"]),
                            inventory=lab["inventory"])
    assert run.rc == 0, run.output[-3000:]
    assert_no_traceback(run)
    yield {"inventory": lab["inventory"], "cache": cache, "mirror": wd_mirror, "install": run}
    run_playbook_once(watchdog_task(state="absent"), inventory=lab["inventory"])
    subprocess.run(["docker", "exec", HOST, "docker", "rm", "-f", PROBE_CONTAINER], capture_output=True, check=False)


def test_the_watchdog_demotes_a_dead_mirror_by_sighup_and_removal_restores_the_play(host, run_playbook):
    inventory, cache, mirror = host["inventory"], host["cache"], host["mirror"]
    installed = host["install"].result("Install the mirror watchdog", HOST)
    assert installed["changed"] and installed["recorded"][DOCKER_TARGET] == [mirror, cache]
    assert installed["recorded"][CONTAINERD_TARGET] == [mirror, cache]
    assert both_mirrors() == ([mirror, cache], [mirror, cache])
    assert on_host("systemctl is-active dockhand-mirror-watchdog.timer") == "active"

    # The same settings again change nothing.
    again = run_playbook(watchdog_task(state="present", interval="%ds" % INTERVAL_SECONDS, policy="demote",
                                       image="", timeout=3), inventory=inventory)
    assert again.rc == 0, again.output[-3000:]
    assert again.result("watchdog", HOST)["changed"] is False

    pid, containerd, containers = dockerd_pid(), containerd_pid(), started_at()
    assert PROBE_CONTAINER in "".join(containers)
    journal_before = on_host("journalctl -t %s --no-pager -o cat | wc -l" % JOURNAL_TAG)
    subprocess.run(["docker", "stop", "-t", "1", WD_MIRROR_NAME], capture_output=True, check=True)

    # One period, one probe timeout and a margin: the outcome, not the timing, is what is checked.
    wait_for(lambda: both_mirrors() == ([cache, mirror], [cache, mirror]), 3 * INTERVAL_SECONDS + 40,
             "the dead mirror going behind the cache in docker info and in containerd's hosts.toml")
    assert dockerd_pid() == pid  # SIGHUP, no restart
    assert containerd_pid() == containerd  # containerd reads hosts.toml on each pull: no restart
    assert started_at() == containers  # no container restarted
    lines = on_host("journalctl -t %s --no-pager -o cat" % JOURNAL_TAG).splitlines()[int(journal_before):]
    assert any("demoted %s" % mirror in line and "mirrors now: %s, %s" % (cache, mirror) in line
               for line in lines), lines

    # switch_mirrors.yml reports what the watchdog did since the last run.
    switch = run_playbook(PLAYBOOK, inventory=inventory, extra_vars={
        "switch_mirrors_hosts": HOST, "mirrors_runtime": ["docker", "containerd"], "mirrors_probe": False,
        "mirrors_candidates": [mirror, cache], "mirrors_verify_image": "", "mirrors_watchdog": True,
        "mirrors_watchdog_interval": "%ds" % INTERVAL_SECONDS, "mirrors_watchdog_image": "",
        "mirrors_watchdog_timeout": 3})
    assert switch.rc == 0, switch.output[-3000:]
    assert_no_traceback(switch)
    report = switch.result("Read what the mirror watchdog did since the last run", HOST)
    assert any(change["action"] == "demoted" and change["mirror"] == mirror
               for event in report["events"] for change in event["changes"]), report
    table = "\n".join(switch.result("Print one line per host")["msg"])
    assert "demoted %s" % mirror in table, table
    # The play set its order again (the mirror first); the watchdog demotes it again on its next run.
    wait_for(lambda: both_mirrors() == ([cache, mirror], [cache, mirror]), 3 * INTERVAL_SECONDS + 40,
             "the second demotion")

    # A report right after reports nothing twice.
    quiet = run_playbook(watchdog_task(state="report"), inventory=inventory)
    assert quiet.rc == 0 and all(event["seq"] > max(e["seq"] for e in report["events"])
                                 for event in quiet.result("watchdog", HOST)["events"])

    # Check mode says what absent would do and does nothing.
    check = run_playbook(watchdog_task(state="absent"), inventory=inventory, check=True)
    assert check.rc == 0, check.output[-3000:]
    assert check.result("watchdog", HOST)["restored"] == {DOCKER_TARGET: [mirror, cache],
                                                          CONTAINERD_TARGET: [mirror, cache]}
    assert both_mirrors() == ([cache, mirror], [cache, mirror])
    assert on_host("systemctl is-active dockhand-mirror-watchdog.timer") == "active"

    # Removing the watchdog puts back the mirrors the play set, by SIGHUP, and removes the timer.
    removed = run_playbook(watchdog_task(state="absent"), inventory=inventory)
    assert removed.rc == 0, removed.output[-3000:]
    assert removed.result("watchdog", HOST)["changed"] is True
    assert both_mirrors() == ([mirror, cache], [mirror, cache])
    assert dockerd_pid() == pid and containerd_pid() == containerd and started_at() == containers
    assert on_host("test -e /etc/systemd/system/dockhand-mirror-watchdog.timer || echo gone") == "gone"
    assert on_host("test -e /var/lib/dockhand/mirror-watchdog.json || echo gone") == "gone"
    twice = run_playbook(watchdog_task(state="absent"), inventory=inventory)
    assert twice.rc == 0 and twice.result("watchdog", HOST)["changed"] is False


def test_bad_settings_fail_clearly_and_change_nothing(host, run_playbook):
    before = on_host("cat /etc/docker/daemon.json; ls /etc/systemd/system | grep dockhand-mirror || true")
    for options, words in (({"interval": "5min\n"}, "interval"), ({"slow_ms": -1}, "slow_ms"),
                           ({"docker_unit": "docker;reboot"}, "docker_unit")):
        run = run_playbook(watchdog_task(**options), inventory=host["inventory"])
        assert run.rc != 0
        result = run.result("watchdog", HOST)
        assert words in result["msg"] and "Nothing was changed" in result["msg"], result["msg"]
        assert_no_traceback(run)
    assert on_host("cat /etc/docker/daemon.json; ls /etc/systemd/system | grep dockhand-mirror || true") == before
