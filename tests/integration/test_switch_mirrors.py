"""playbooks/switch_mirrors.yml and the mirrors role across host1-3: probe, pick, reload, verify, report.

The mirror switch must leave every container running (same StartedAt) and dockerd
itself running (same PID): registry-mirrors is applied with SIGHUP, not a restart.
The README's command with a pull-through cache runs as written, against a cache that the
registry_cache role deployed on host3; the mirrors role also runs with its defaults.
"""

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import PlaybookRun, ansible_env, assert_no_traceback, tool
from paths import REPO_ROOT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
import lab as lab_py  # noqa: E402 - the lab's own names (the stale mirror's URL)

pytestmark = pytest.mark.lab

FLEET = ["dockhand-lab-host1", "dockhand-lab-host2", "dockhand-lab-host3"]
CACHE_HOST = FLEET[2]
CACHE_UNIT = "dockhand-registry-cache"
HUB = "dockhand-lab-hub:5000"
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "switch_mirrors.yml")
# The README's example mirrors, and the lab's stand-ins that take their place (no traffic leaves the lab).
README_MIRRORS = {"https://mirror-a.example.com": "http://dockhand-lab-hub:5000",
                  "https://mirror-b.example.com": "http://dockhand-lab-slow:5002"}
STALE = lab_py.mirror_urls()["stale"]["lab"]  # serves an older library/busybox:latest than the hub
# A preset (plugins/module_utils/mirrors/presets.py) and the URL its name stands for on docker.io.
PRESET, PRESET_URL, PRESET_HOST = "daocloud", "https://docker.m.daocloud.io", "docker.m.daocloud.io"


def raw(command):
    return "{% raw %}" + command + "{% endraw %}"


STATE = raw("docker inspect -f '{{.State.StartedAt}}' dockhand-switch-probe; systemctl show -p MainPID --value docker")


@pytest.fixture(scope="module")
def fleet(lab, run_playbook_once):
    """Docker on host1-3, each running a container started before the switch."""
    run = run_playbook_once([{
        "name": "prepare", "hosts": ":".join(FLEET), "gather_facts": False,
        "tasks": [
            {"name": "install docker.io",
             "ansible.builtin.apt": {"name": "docker.io", "update_cache": True, "cache_valid_time": 3600,
                                     "install_recommends": False}},
            {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
            {"name": "reach the hub without TLS", "dockhand.runtime.daemon_config": {
                "settings": {"insecure-registries": [HUB]}, "list_merge": "append_unique",
                "remove": ["registry-mirrors"]}},
            {"name": "start a long-running container", "ansible.builtin.shell": raw(
                "docker inspect dockhand-switch-probe >/dev/null 2>&1 || "
                "docker run -d --name dockhand-switch-probe %s/library/busybox:latest sleep 3600" % HUB),
             "changed_when": False},
        ],
    }], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    return lab["inventory"]


def state_of(run_playbook, inventory, name):
    run = run_playbook([{"name": name, "hosts": ":".join(FLEET), "gather_facts": False, "tasks": [
        {"name": "state", "ansible.builtin.shell": STATE, "changed_when": False}]}], inventory=inventory)
    assert run.rc == 0, str(run)
    return {host: run.result("state", host)["stdout"] for host in FLEET}


def switch(run_playbook, inventory, **extra):
    variables = {"switch_mirrors_hosts": ":".join(FLEET), "switch_mirrors_serial": 3,
                 "mirrors_runtime": ["docker"], "mirrors_pick": 1}
    variables.update(extra)
    started = time.monotonic()
    run = run_playbook(PLAYBOOK, inventory=inventory, extra_vars=variables)
    return run, time.monotonic() - started


def forget_mirrors(run_playbook, inventory):
    """Start from no registry-mirrors: the other tests of this module, in any order, leave the hub chosen."""
    run = run_playbook([{"name": "forget", "hosts": ":".join(FLEET), "gather_facts": False, "tasks": [
        {"name": "forget", "dockhand.runtime.daemon_config": {"remove": ["registry-mirrors"]}}]}],
        inventory=inventory)
    assert run.rc == 0, str(run)


def test_switch_keeps_containers_and_dockerd_running(fleet, run_playbook):
    forget_mirrors(run_playbook, fleet)
    before = state_of(run_playbook, fleet, "before")
    candidates = ["{{ lab_mirrors.slow }}", "{{ lab_mirrors.dead }}", "{{ lab_mirrors.hub }}"]
    run, seconds = switch(run_playbook, fleet, mirrors_candidates=candidates)
    assert run.rc == 0, str(run)
    after = state_of(run_playbook, fleet, "after")
    assert before == after  # every container's StartedAt and every dockerd PID unchanged
    for host in FLEET:
        applied = run.result("Point the runtimes at the chosen mirrors", host)
        assert applied["runtimes"]["docker"]["applied"] == "reload"
        assert [m["url"] for m in applied["mirrors"]] == ["http://%s" % HUB]  # the fastest live one
        assert run.status("Pull a test image through the new mirror (Docker)", host) in ("ok", "changed")
    table = run.result("Print one line per host")["msg"]
    assert table[0].split()[:2] == ["host", "mirrors"] and len(table) == 1 + len(FLEET)
    assert all("reload" in line for line in table[1:])
    print("mirror switch across %d hosts: %.1f s" % (len(FLEET), seconds))

    again, _seconds = switch(run_playbook, fleet, mirrors_candidates=candidates)
    assert again.rc == 0, str(again)  # the mirror in use is kept: measurement noise does not flap it
    for host in FLEET:
        assert again.result("Point the runtimes at the chosen mirrors", host)["changed"] is False
    assert_no_traceback(run)


def daemon_json_of(run_playbook, inventory, name):
    run = run_playbook([{"name": name, "hosts": ":".join(FLEET), "gather_facts": False, "tasks": [
        {"name": "daemon.json", "ansible.builtin.slurp": {"src": "/etc/docker/daemon.json"}}]}], inventory=inventory)
    assert run.rc == 0, str(run)
    return {host: json.loads(b64(run.result("daemon.json", host)["content"])) for host in FLEET}


def test_a_failed_test_pull_on_the_canary_stops_the_rollout(fleet, run_playbook):
    """Issue 13: a canary first (switch_mirrors_serial as a list: 1 host, then the rest). The canary's test pull
    fails on purpose (an image no mirror has, on that host only): the play stops after the first batch, and
    the other hosts' daemon.json, dockerd and containers are as they were."""
    forget_mirrors(run_playbook, fleet)
    canary, others = FLEET[0], FLEET[1:]
    files_before = daemon_json_of(run_playbook, fleet, "before")
    state_before = state_of(run_playbook, fleet, "before")
    run, _seconds = switch(
        run_playbook, fleet, switch_mirrors_serial=[1, "100%"], mirrors_candidates=["{{ lab_mirrors.hub }}"],
        mirrors_verify_image="{{ 'library/dockhand-not-on-any-mirror:1' if inventory_hostname == '%s' "
                             "else 'busybox:latest' }}" % canary)
    assert_no_traceback(run)
    assert run.rc != 0, str(run)
    assert run.status("Pull a test image through the new mirror (Docker)", canary) == "failed"
    pointed = sorted({record["host"] for record in run.records
                      if record["task"].endswith("Point the runtimes at the chosen mirrors")})
    assert pointed == [canary], "the rollout went on after the canary failed: %s" % pointed
    files_after = daemon_json_of(run_playbook, fleet, "after")
    assert files_after[canary]["registry-mirrors"] == ["http://%s" % HUB]  # the canary did switch
    for host in others:
        assert files_after[host] == files_before[host], "%s was switched after the canary failed" % host
        assert not files_after[host].get("registry-mirrors")
    state_after = state_of(run_playbook, fleet, "after")
    assert {host: state_after[host] for host in others} == {host: state_before[host] for host in others}


def test_no_live_candidate_fails_before_changing_anything(fleet, run_playbook):
    dead = ["{{ lab_mirrors.dead }}", "{{ lab_mirrors.error }}"]
    run, _seconds = switch(run_playbook, fleet, mirrors_candidates=dead, mirrors_probe_timeout=2)
    assert run.rc != 0
    message = run.result("Fail when no candidate answers from this host", FLEET[0])["msg"]
    assert "None of the candidate mirrors answered" in message and "dockhand-lab-hang:5009" in message
    assert not [r for r in run.records if r["task"].endswith("Point the runtimes at the chosen mirrors")]


# -- the README's command with a cache deployed by the registry_cache role -----------------------

def lab_host_vars(lab, host):
    return lab["data"]["all"]["children"]["lab"]["children"]["lab_hosts"]["hosts"][host]


def on(host, command):
    """Run a shell command in a lab host (docker exec); returns its stdout."""
    done = subprocess.run([shutil.which("docker"), "exec", host, "sh", "-c", command], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    assert done.returncode == 0, "%s in %s: %s" % (command, host, done.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def cache(fleet, lab, run_playbook_once, tmp_path_factory):
    """The registry_cache role's cache of the lab's hub on host3:5000, and an inventory that names its address
    (the README: "set registry_cache_address in the inventory")."""
    address = lab_host_vars(lab, CACHE_HOST)["lab_ip"]
    run = run_playbook_once([{"name": "a cache for the fleet", "hosts": CACHE_HOST, "gather_facts": False,
                              "roles": [{"role": "dockhand.runtime.registry_cache",
                                         "vars": {"registry_cache_upstream_url": "{{ lab_mirrors.hub }}",
                                                  "registry_cache_address": address}}]}],
                            inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    extra = tmp_path_factory.mktemp("inventory") / "cache.yml"
    extra.write_text(yaml.safe_dump({"all": {"hosts": {CACHE_HOST: {"registry_cache_address": address}}}}))
    return {"url": "http://%s:5000" % address, "inventories": [lab["inventory"], str(extra)]}


def readme_command():
    """The fleet-wide switch command of README.md's "Switching registry mirrors", as its words."""
    with open(os.path.join(REPO_ROOT, "README.md")) as handle:
        text = handle.read()
    section = text[text.index("### Switching registry mirrors"):]
    block = re.search(r"```sh\n(ansible-playbook -i inventory playbooks/switch_mirrors.yml.*?)```", section, re.S)
    return shlex.split(block.group(1).replace("\\\n", " "))


def run_words(words, tmp_path):
    record = tmp_path / "record.jsonl"
    record.write_text("")
    started = time.monotonic()
    proc = subprocess.run([tool("ansible-playbook")] + words[1:], env=ansible_env(str(record)), cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200, check=False)
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return PlaybookRun(proc.returncode, proc.stdout, records, time.monotonic() - started)


def test_the_readme_command_with_a_cache_host(cache, tmp_path):
    """Issue 15 #1: -e switch_mirrors_cache_host=<host> with mirrors_candidates as an extra var (the README's
    command as written, the lab's inventory and mirrors in place of the examples): every host gets the cache
    first, and pulls through it."""
    words = readme_command()
    assert words[:4] == ["ansible-playbook", "-i", "inventory", "playbooks/switch_mirrors.yml"], words
    words = words[:2] + [cache["inventories"][0], "-i", cache["inventories"][1]] + words[3:]
    words = [README_MIRRORS.get(w, w) if not w.startswith("{") else
             json.dumps({"mirrors_candidates": [README_MIRRORS[m] for m in json.loads(w)["mirrors_candidates"]]})
             for w in words]
    words += ["-e", "switch_mirrors_cache_host=%s" % CACHE_HOST, "--limit", ":".join(FLEET)]
    run = run_words(words, tmp_path)
    assert run.rc == 0, str(run)
    assert "Recursive loop" not in run.output
    for host in FLEET:
        applied = run.result("Point the runtimes at the chosen mirrors", host)
        assert [m["url"] for m in applied["mirrors"]][0] == cache["url"]  # the cache first
        assert applied["runtimes"]["docker"]["registry_mirrors"][0] == cache["url"]
        assert run.status("Pull a test image through the new mirror (Docker)", host) in ("ok", "changed")
    table = run.result("Print one line per host")["msg"]
    assert all(line.split()[1].startswith(cache["url"]) for line in table[1:]), table
    # The test pulls went through the cache: it now holds busybox, fetched from the hub.
    assert "library/busybox" in on(CACHE_HOST, "curl -s http://127.0.0.1:5000/v2/_catalog")
    print("README switch command with a cache, 3 hosts, serial 25%%: %.1f s" % run.seconds)
    assert_no_traceback(run)


def test_a_preferred_cache_that_is_down_is_left_out_with_the_reason_and_first_again_when_back(
        cache, run_playbook, tmp_path):
    """Issue 15 #12: the cache down -> the hub, and the report names the cache and why; back -> first again.
    Here mirrors_candidates comes from the inventory and the cache as switch_mirrors_cache_url (issue 15 #1:
    "Recursive loop detected in template")."""
    hub = "http://%s" % HUB
    dropped = run_playbook(PLAYBOOK, inventory=cache["inventories"][0], extra_vars={
        "switch_mirrors_hosts": ":".join(FLEET), "switch_mirrors_cache_url": cache["url"],
        "mirrors_candidates": [hub], "mirrors_prefer": [hub]})
    assert dropped.rc != 0  # extra vars would override the playbook's mirrors_prefer: refused, not dropped
    assert "mirrors_prefer is given as an extra variable" in dropped.output and cache["url"] in dropped.output

    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "lab.yml").symlink_to(cache["inventories"][0])
    (inventory / "candidates.yml").write_text(yaml.safe_dump({"all": {"vars": {"mirrors_candidates": [hub]}}}))
    variables = {"switch_mirrors_hosts": ":".join(FLEET), "switch_mirrors_serial": 3, "mirrors_runtime": ["docker"],
                 "mirrors_pick": 1, "switch_mirrors_cache_url": cache["url"]}
    on(CACHE_HOST, "systemctl stop %s" % CACHE_UNIT)
    try:
        down = run_playbook(PLAYBOOK, inventory=str(inventory), extra_vars=variables)
    finally:
        on(CACHE_HOST, "systemctl start %s" % CACHE_UNIT)
    assert down.rc == 0, str(down)
    for host in FLEET:
        assert down.result("Point the runtimes at the chosen mirrors", host)["runtimes"]["docker"][
            "registry_mirrors"] == [hub]
        probe = down.result("Probe the candidates from this host", host)
        assert probe["left_out"] == [{"url": cache["url"], "reason": probe["left_out"][0]["reason"]}]
        assert "connection refused" in probe["left_out"][0]["reason"]
        assert any("preferred mirror %s is left out: connection refused" % cache["url"] in warning
                   for warning in probe["warnings"]), probe.get("warnings")
    table = down.result("Print one line per host")["msg"]
    assert table[0].split()[-3:] == ["left", "out", "(why)"]
    assert all(cache["url"] + ": connection refused" in line for line in table[1:]), table

    for _attempt in range(40):  # the cache answers again
        if on(CACHE_HOST, "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5000/v2/ || true") == "200":
            break
        time.sleep(0.5)
    back = run_playbook(PLAYBOOK, inventory=str(inventory), extra_vars=variables)
    assert back.rc == 0, str(back)
    for host in FLEET:
        docker = back.result("Point the runtimes at the chosen mirrors", host)["runtimes"]["docker"]
        assert docker["registry_mirrors"] == [cache["url"]] and docker["applied"] == "reload"
        assert back.result("Probe the candidates from this host", host)["left_out"][0]["url"] == hub
    assert_no_traceback(back)


def test_the_mirrors_role_with_its_defaults(fleet, lab, run_playbook):
    """Issue 14 #1: the role with its defaults plus the candidates a user must set (every runtime found, the
    probe, pick 2, the test pull); and issue 9 #6: booleans given as strings on the command line."""
    candidates = ["{{ lab_mirrors.cache }}", "{{ lab_mirrors.hub }}"]
    urls = [lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors"][name] for name in ("cache", "hub")]
    role = [{"name": "mirrors with defaults", "hosts": ":".join(FLEET), "gather_facts": False,
             "roles": [{"role": "dockhand.runtime.mirrors", "vars": {"mirrors_candidates": candidates}}],
             "tasks": [{"name": "daemon.json", "ansible.builtin.slurp": {"src": "/etc/docker/daemon.json"}},
                       {"name": "hosts.toml", "ansible.builtin.slurp": {
                           "src": "/etc/containerd/certs.d/docker.io/hosts.toml"}}]}]
    run = run_playbook(role, inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    for host in FLEET:
        report = run.result("Record this host's report", host)["ansible_facts"]["mirrors_report"]
        assert sorted(report["mirrors"]) == sorted(urls)  # mirrors_pick: 2 of the two live candidates
        assert report["runtimes"] == ["docker", "containerd"]  # auto: what docker.io brings along
        assert report["verified"] is True and report["left_out"] == []
        daemon = json.loads(b64(run.result("daemon.json", host)["content"]))
        assert daemon["registry-mirrors"] == report["mirrors"]
        hosts_toml = b64(run.result("hosts.toml", host)["content"])
        assert all('[host."%s"]' % url in hosts_toml for url in urls)
        pulled = run.result("Pull a test image through the new mirror (Docker)", host)
        assert pulled["name"] == "docker.io/library/busybox:latest" and pulled["id"].startswith("sha256:")
        assert "cmd" not in pulled  # the image module, not docker pull

    # "false" and "no" from the command line are false: no probe, every candidate in order, no backup.
    strings = run_playbook(role, inventory=lab["inventory"], extra_vars={
        "mirrors_probe": "false", "mirrors_backup": "no", "mirrors_candidates": list(reversed(candidates))})
    assert strings.rc == 0, str(strings)
    for host in FLEET:
        assert strings.status("Probe the candidates from this host", host) == "skipped"
        docker = strings.result("Point the runtimes at the chosen mirrors", host)["runtimes"]["docker"]
        assert docker["registry_mirrors"] == list(reversed(urls)) and docker["backup_file"] is None
    assert_no_traceback(strings)


def b64(text):
    return base64.b64decode(text).decode()


# README.md "Measured": the command the mirror switch figure comes from, as shown there
MEASURED_SWITCH = """time .venv/bin/ansible-playbook -i tests/lab/state/inventory.yml playbooks/switch_mirrors.yml -e '{
  "switch_mirrors_hosts": "dockhand-lab-host1:dockhand-lab-host2:dockhand-lab-host3",
  "switch_mirrors_serial": 3, "mirrors_runtime": ["docker"], "mirrors_pick": 1,
  "mirrors_candidates": ["{{ lab_mirrors.cache }}", "{{ lab_mirrors.hub }}"]}'"""


def test_the_measured_switch_command_runs_as_written(fleet, lab):
    with open(os.path.join(REPO_ROOT, "README.md")) as handle:
        assert "```sh\n%s\n```" % MEASURED_SWITCH in handle.read()
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANSIBLE_")}
    proc = subprocess.run(["bash", "-c", MEASURED_SWITCH], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"^real\s+\d+m[\d.]+s$", proc.stdout, flags=re.M), proc.stdout[-2000:]
    mirrors = {lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors"][key] for key in ("cache", "hub")}
    for host in FLEET:
        assert re.search(r"^%s\s*:.*unreachable=0\s+failed=0 " % host, proc.stdout, flags=re.M), proc.stdout[-3000:]
        shown = json.loads(on(host, "docker info --format '{{json .RegistryConfig.Mirrors}}'"))
        assert len(shown) == 1 and shown[0].rstrip("/") in mirrors, shown  # mirrors_pick: 1, one of the two
# -- integrity and presets -------------------------------------------------------------------------


def lab_mirror(lab, name):
    return lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors"][name]


def test_a_stale_candidate_is_never_picked_and_the_report_says_why(fleet, lab, run_playbook):
    """Issue 10 #3: with the lab's cache as the fleet's cache (trusted), the stale mirror, faster than the
    slow one, is left out on every host; the probe warns, and the report's table says why."""
    cache, slow = lab_mirror(lab, "cache"), lab_mirror(lab, "slow")
    run, _seconds = switch(run_playbook, fleet, mirrors_candidates=[STALE, "{{ lab_mirrors.slow }}"], mirrors_pick=2,
                           switch_mirrors_cache_url=cache)
    assert run.rc == 0, str(run)
    for host in FLEET:
        probe = run.result("Probe the candidates from this host", host)
        results = {r["url"]: r for r in probe["results"]}
        assert results[STALE]["ok"] is True and results[STALE]["integrity"] == "stale", results[STALE]
        assert results[STALE]["throughput"] > results[slow]["throughput"], probe["results"]  # the premise
        assert probe["integrity"]["references"]["library/busybox:latest"]["source"] == "trusted %s" % cache
        assert probe["best"] == [cache, slow]  # pick 2: the cache, then the slow one, never the stale one
        assert any(w.startswith("mirror %s is never picked: stale: serves an older library/busybox:latest" % STALE)
                   for w in probe["warnings"]), probe["warnings"]
        docker = run.result("Point the runtimes at the chosen mirrors", host)["runtimes"]["docker"]
        assert docker["registry_mirrors"] == [cache, slow]
        report = run.result("Record this host's report", host)["ansible_facts"]["mirrors_report"]
        assert report["left_out"] == ["%s: stale: %s" % (STALE, results[STALE]["integrity_note"])]
        assert run.status("Pull a test image through the new mirror (Docker)", host) in ("ok", "changed")
    table = run.result("Print one line per host")["msg"]
    assert all(STALE + ": stale: serves an older library/busybox:latest" in line for line in table[1:]), table
    assert_no_traceback(run)


def test_a_preset_name_resolves_and_is_probed(fleet, lab, run_playbook):
    """Issue 10 #2: a preset's name in mirrors_candidates stands for its URL, which each host probes. The
    preset's host name is pinned to 127.0.0.1 on the hosts for the test, so nothing leaves the lab: it is
    left out as unreachable, with the reason, and the hub is picked."""
    hub = lab_mirror(lab, "hub")
    pinned = []
    try:
        for host in FLEET:
            on(host, "cp /etc/hosts /etc/hosts.dh-presets && echo '127.0.0.1 %s' >> /etc/hosts" % PRESET_HOST)
            pinned.append(host)
        run, _seconds = switch(run_playbook, fleet, mirrors_candidates=[PRESET, "{{ lab_mirrors.hub }}"],
                               mirrors_probe_timeout=3)
    finally:
        for host in pinned:
            on(host, "cat /etc/hosts.dh-presets > /etc/hosts && rm /etc/hosts.dh-presets")
    assert run.rc == 0, str(run)
    for host in FLEET:
        probe = run.result("Probe the candidates from this host", host)
        assert [r["url"] for r in probe["results"]] == [PRESET_URL, hub]  # the name, resolved, then probed
        preset = probe["results"][0]
        assert preset["ok"] is False and preset["error"].startswith("connection refused by %s:443" % PRESET_HOST)
        assert probe["left_out"] == [{"url": PRESET_URL, "reason": preset["error"]}]
        docker = run.result("Point the runtimes at the chosen mirrors", host)["runtimes"]["docker"]
        assert docker["registry_mirrors"] == [hub]
    table = run.result("Print one line per host")["msg"]
    assert all(PRESET_URL + ": connection refused" in line for line in table[1:]), table
    assert_no_traceback(run)
