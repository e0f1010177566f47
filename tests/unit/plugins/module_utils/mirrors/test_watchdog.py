"""The mirror watchdog: its policy, its state file, hosts.toml blocks, and the code it ships to a host."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors import watchdog_ship
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import loads
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.watchdog import (
    MAX_EVENTS,
    Watchdog,
    WatchdogError,
    add_event,
    baseline_for,
    check_settings,
    classify,
    describe_changes,
    events_since,
    is_watchdog_order,
    join_hosts_toml,
    mark_applied,
    new_state,
    parse_state,
    plan_order,
    record_baseline,
    render_state,
    split_hosts_toml,
)

A, B, C, D = ("http://a:5000", "http://b:5000", "http://c:5000", "http://d:5000")


def ok(url, latency=10.0, digest="sha256:good", throughput=10 ** 6):
    return {"url": url, "ok": True, "latency_ms": latency, "digest": digest, "throughput": throughput}


def dead(url, error="connection refused"):
    return {"url": url, "ok": False, "error": error}


# -- classify ---------------------------------------------------------------------------

def test_classify_tells_dead_stale_slow_and_ok_apart():
    verdicts = classify([ok(A), dead(B), ok(C, digest="sha256:old"), ok(D, latency=5000.0)], slow_ms=3000)
    assert verdicts[A] == ("ok", None)
    assert verdicts[B] == ("dead", "connection refused")
    assert verdicts[C][0] == "stale" and "sha256:old" in verdicts[C][1]
    assert verdicts[D][0] == "slow" and "5000.0 ms" in verdicts[D][1]


def test_no_majority_digest_makes_no_mirror_stale():
    verdicts = classify([ok(A, digest="sha256:x"), ok(B, digest="sha256:y")])
    assert verdicts == {A: ("ok", None), B: ("ok", None)}


def test_slowness_checks_are_off_at_zero_and_throughput_counts_when_set():
    assert classify([ok(A, latency=99999.0)], slow_ms=0)[A][0] == "ok"
    assert classify([ok(A, throughput=100)], min_throughput=1000)[A][0] == "slow"
    assert classify([ok(A, throughput=100)], min_throughput=0)[A][0] == "ok"


# -- plan_order -------------------------------------------------------------------------

def test_demote_puts_failing_mirrors_behind_the_healthy_least_bad_first():
    verdicts = {A: ("dead", "x"), B: ("ok", None), C: ("slow", "y"), D: ("ok", None)}
    assert plan_order([A, B, C, D], verdicts, "demote") == [B, D, C, A]


def test_remove_takes_failing_mirrors_out_but_keeps_min_keep():
    verdicts = {A: ("dead", "x"), B: ("ok", None), C: ("stale", "y")}
    assert plan_order([A, B, C], verdicts, "remove", min_keep=1) == [B]
    assert plan_order([A, B, C], verdicts, "remove", min_keep=2) == [B, C]
    assert plan_order([A, B, C], verdicts, "remove", min_keep=0) == [B]
    every_one_dead = {A: ("dead", "x"), B: ("dead", "x")}
    assert plan_order([A, B], every_one_dead, "remove", min_keep=1) == [A]


def test_all_healthy_keeps_the_baseline_order_and_a_recovered_mirror_goes_back_to_its_place():
    assert plan_order([A, B, C], {}, "demote") == [A, B, C]
    assert plan_order([A, B], {A: ("ok", None), B: ("ok", None)}, "remove") == [A, B]


def test_describe_changes_names_each_move():
    verdicts = {A: ("dead", "refused"), B: ("ok", None), C: ("slow", "slow")}
    changes = describe_changes([A, B, C], [B, A], verdicts)
    assert {"mirror": C, "action": "removed", "reason": "slow"} in changes
    assert {"mirror": A, "action": "demoted", "reason": "refused"} in changes
    back = describe_changes([B, A], [A, B], {A: ("ok", None), B: ("ok", None)})
    assert back == [{"mirror": A, "action": "promoted", "reason": "it passes the probe again"}]
    restored = describe_changes([B], [A, B], {A: ("ok", None), B: ("ok", None)})
    assert restored[0]["action"] == "restored" and restored[0]["mirror"] == A


def test_a_configuration_changed_by_someone_else_becomes_the_baseline():
    assert baseline_for([A, B], [B]) == ([A, B], False)  # the watchdog took A out: the baseline holds
    assert baseline_for([A, B], [B, A + "/"]) == ([A, B], False)  # a trailing slash is the same mirror
    assert baseline_for([A, B], [C, A]) == ([C, A], True)  # C is new: a play or a person set this
    assert baseline_for(None, [A]) == ([A], True)
    assert baseline_for([A, B], []) == ([], True)  # the mirrors were removed: the watchdog does not bring them back
    assert baseline_for([A, B], [B], applied=[B]) == ([A, B], False)
    # a play removed C (or reordered) after the watchdog had written its own order: the play's list wins
    assert baseline_for([A, B, C], [A, B], applied=[B, A, C]) == ([A, B], True)
    assert baseline_for([A, B, C], [C, B, A], applied=[B, A, C]) == ([C, B, A], True)
    assert baseline_for([A, B, C], [A, B, C], applied=[B, A, C]) == ([A, B, C], False)


def test_the_watchdog_knows_its_own_order_from_a_plays():
    state = new_state()
    record_baseline(state, "docker", "/d", [A, B], "t1")
    assert not is_watchdog_order(state, "docker", "/d", [B, A])
    mark_applied(state, "docker", "/d", [B, A])
    assert is_watchdog_order(state, "docker", "/d", [B, A])
    assert not is_watchdog_order(state, "docker", "/d", [A, B])  # the play's own order
    record_baseline(state, "docker", "/d", [C], "t2")  # a new baseline forgets what the watchdog wrote
    assert "applied" not in state["targets"]["docker:/d"]


# -- hosts.toml blocks ------------------------------------------------------------------

HOSTS_TOML = """# Written by someone
server = "https://registry-1.docker.io"

[host."http://a:5000"]
  capabilities = ["pull", "resolve"]

[host."http://b:5000"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
[host."http://b:5000".header]
  Authorization = ["Basic eHg6eXk="]

[host."https://c:5000"]
  # c has a CA of its own
  ca = "/etc/c.crt"
"""


def test_hosts_toml_blocks_reorder_and_keep_every_setting():
    head, blocks = split_hosts_toml(HOSTS_TOML)
    assert [url for url, _block in blocks] == ["http://a:5000", "http://b:5000", "https://c:5000"]
    text = join_hosts_toml(head, blocks, ["https://c:5000", "http://b:5000"])
    document = loads(text)
    assert list(document["host"]) == ["https://c:5000", "http://b:5000"]
    assert document["host"]["http://b:5000"]["header"] == {"Authorization": ["Basic eHg6eXk="]}
    assert document["host"]["https://c:5000"]["ca"] == "/etc/c.crt"
    assert document["server"] == "https://registry-1.docker.io"
    assert join_hosts_toml(head, blocks, [url for url, _b in blocks]) == HOSTS_TOML.rstrip("\n") + "\n"


def test_hosts_toml_with_a_table_after_the_hosts_is_left_alone():
    with pytest.raises(WatchdogError, match="cannot be kept in place"):
        split_hosts_toml(HOSTS_TOML + "\n[other]\nx = 1\n")
    with pytest.raises(WatchdogError, match="cannot be read"):
        split_hosts_toml('[host."http://a"\n')


# -- the state file ---------------------------------------------------------------------

def test_state_file_round_trip_and_a_broken_file_starts_afresh():
    state = new_state()
    assert record_baseline(state, "docker", "/etc/docker/daemon.json", [A, B], "t1")
    assert not record_baseline(state, "docker", "/etc/docker/daemon.json", [A, B], "t2")  # same: no change
    assert state["targets"]["docker:/etc/docker/daemon.json"]["recorded_at"] == "t1"
    again, note = parse_state(render_state(state))
    assert again == state and note is None
    fresh, note = parse_state(b"{not json")
    assert fresh == new_state() and "afresh" in note
    assert parse_state(None) == (new_state(), None)
    other, note = parse_state(json.dumps({"version": 99}).encode())
    assert other == new_state() and "another format" in note


def test_events_are_numbered_trimmed_and_reported_once():
    state = new_state()
    for index in range(MAX_EVENTS + 5):
        add_event(state, "docker", "/d", [A, B], [B, A], [], "t%d" % index)
    assert len(state["events"]) == MAX_EVENTS and state["events"][-1]["seq"] == MAX_EVENTS + 5
    assert len(events_since(state)) == MAX_EVENTS
    state["reported_seq"] = MAX_EVENTS + 3
    assert [event["seq"] for event in events_since(state)] == [MAX_EVENTS + 4, MAX_EVENTS + 5]


# -- settings ---------------------------------------------------------------------------

@pytest.mark.parametrize("settings, words", [
    ({"policy": "drop"}, "policy must be one of demote, remove"),
    ({"slow_ms": -1}, "slow_ms must be a number"),
    ({"timeout": 0}, "timeout must be more than 0"),
    ({"min_keep": -1}, "min_keep must be a whole number"),
    ({"daemon_json": "/etc/docker/daemon.json\n"}, "daemon_json"),
    ({"certs_dir": "relative/dir"}, "certs_dir"),
    ({"docker_unit": "docker"}, "docker_unit"),
    ({"docker_host": "tcp://10.0.0.1:2375"}, "docker_host"),
    ({"image": "ghcr.io/org/app:1"}, "image"),
    ({"colour": "red"}, "unknown watchdog settings: colour"),
])
def test_bad_settings_are_refused_by_name(settings, words):
    with pytest.raises(WatchdogError, match=words.replace("(", r"\(")):
        check_settings(settings)


def test_interval_and_python_are_fullmatch_strict():
    assert watchdog_ship.check_interval("5min") is None
    assert watchdog_ship.check_interval("90s") is None
    for bad in ("5min\n", "5 min", "0s", "5d", "5min; rm", ""):
        assert "interval" in watchdog_ship.check_interval(bad)
    assert watchdog_ship.check_python("/usr/bin/python3") is None
    for bad in ("/usr/bin/python3\n", "python3", "/usr/bin/python3 -c x"):
        assert "python" in watchdog_ship.check_python(bad)


# -- the code shipped to the host -------------------------------------------------------

def test_the_closure_holds_the_probe_the_locks_and_nothing_but_shipped_modules():
    closure = watchdog_ship.import_closure()
    names = set(closure)
    prefix = "ansible_collections.dockhand.runtime.plugins.module_utils."
    assert {prefix + "mirrors.watchdog", prefix + "mirrors.probe", prefix + "host.files",
            prefix + "engine.daemon_json", prefix + "mirrors.toml"} <= names
    assert all(watchdog_ship.shipped(name) for name in names)
    assert "ansible.module_utils.basic" not in names  # the host needs no Ansible


class RegistryV2(http.server.BaseHTTPRequestHandler):
    """A registry's /v2/ on loopback: the healthy mirror."""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200 if self.path == "/v2/" else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture()
def registry():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RegistryV2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_shipped_package_runs_alone_and_demotes_a_dead_mirror(tmp_path, registry):
    """The package laid out as on a host runs under python -I without Ansible and reorders a hosts.toml."""
    package = tmp_path / "pkg"
    for relative, text in watchdog_ship.package_files(watchdog_ship.import_closure()).items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    dead_url = "http://127.0.0.1:%d" % free_port()
    certs = tmp_path / "certs.d"
    (certs / "docker.io").mkdir(parents=True)
    hosts = certs / "docker.io" / "hosts.toml"
    hosts.write_text('server = "https://registry-1.docker.io"\n\n[host."%s"]\n  capabilities = ["pull"]\n\n'
                     '[host."%s"]\n  capabilities = ["pull", "resolve"]\n' % (dead_url, registry))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"certs_dir": str(certs), "daemon_json": str(tmp_path / "no-daemon.json"),
                                  "timeout": 2}))
    state = tmp_path / "state.json"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    argv = [sys.executable, "-I", str(package / watchdog_ship.ENTRY_SCRIPT), "--config", str(config),
            "--state", str(state)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(loads(hosts.read_text())["host"]) == [registry, dead_url]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and "demoted %s" % dead_url in lines[0]
    saved = json.loads(state.read_text())
    assert saved["events"][0]["changes"][0]["action"] == "demoted"
    assert saved["targets"]["containerd:%s" % hosts]["baseline"] == [dead_url, registry]
    # A second run changes nothing: same order, no line.
    again = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert again.returncode == 0 and again.stdout == ""
    assert len(json.loads(state.read_text())["events"]) == 1


def test_events_and_journal_lines_never_show_url_credentials():
    lines = []
    state = new_state()
    secret = "http://user:s3cret@a:5000"
    watchdog = Watchdog(check_settings({}), "/nonexistent", 0, lines.append)
    watchdog.note(state, "docker", "/d", [secret, B], [B, secret],
                  [{"mirror": secret, "action": "demoted", "reason": "dead: %s refused" % secret}])
    assert "s3cret" not in json.dumps(state) and "s3cret" not in "".join(lines)
    assert "user:********@a:5000" in lines[0]


def test_what_was_probed_never_shows_url_credentials():
    secret = "http://user:s3cret@a:5000"

    def probe(_settings, urls, _image):
        return [{"url": url, "ok": False, "error": "%s refused the connection" % url} for url in urls]

    watchdog = Watchdog(check_settings({}), "/nonexistent", 0, [].append, probe=probe)
    watchdog.decide("docker", "/d", [secret, B], [secret, B], "library/busybox:latest")
    assert "s3cret" not in json.dumps(watchdog.seen) and "user:********@a:5000" in json.dumps(watchdog.seen)
