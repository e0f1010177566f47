"""playbooks/report.yml on the lab, and the HTML page it writes opened in a real browser.

The header's command runs as written (its defaults: every host of the inventory, the report under the directory
it runs in) over the whole lab plus ``gone``, an inventory host nothing answers for. The lab's other hosts are in
whatever state their own tests leave, so the checks are on host26 (Debian's docker.io with its registry mirror on
the lab's cache, a slice with limits and a container with a healthcheck), host27 (no engine) and ``gone``.
Headless Chromium (Debian's package) opens the page through a proxy that records every request it gets, dumps
the DOM it rendered and takes a screenshot.
"""

import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest
import yaml
from conftest import assert_no_traceback, engine_with_mirror_tasks, run_shell_command
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

ENGINE, BARE, GONE = "dockhand-lab-host26", "dockhand-lab-host27", "gone"
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "report.yml")
CONTAINER = "dh-report-web"


@pytest.fixture(scope="module")
def fleet(lab, run_playbook_once, tmp_path_factory):
    """host26 with an engine, a mirror, a slice and a healthy container; the inventory with ``gone`` added."""
    run = run_playbook_once([{"name": "an engine host", "hosts": ENGINE, "gather_facts": False, "tasks": [
        *engine_with_mirror_tasks(),
        {"name": "slice", "dockhand.runtime.cgroup_slice": {"name": "containers.slice",
                                                            "limits": {"memory_max": "512m", "tasks_max": 256}}},
        {"name": "container", "dockhand.runtime.container": {
            "name": CONTAINER, "image": "busybox:latest", "command": ["sleep", "3600"], "stop_signal": "SIGKILL",
            "healthcheck": {"test": ["CMD", "true"], "interval": "1s"}, "state": "healthy"}},
    ]}], inventory=lab["inventory"], timeout=900)
    assert run.rc == 0, str(run)
    with open(lab["inventory"]) as handle:
        data = yaml.safe_load(handle)
    data["all"]["children"]["lab"]["children"]["lab_hosts"]["hosts"][GONE] = {"ansible_host": "127.0.0.1",
                                                                              "ansible_port": 9}
    path = tmp_path_factory.mktemp("report") / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return {"inventory": str(path), "cache": data["all"]["children"]["lab"]["vars"]["lab_mirrors"]["cache"]}


def header_command():
    """The command report.yml's header shows."""
    with open(PLAYBOOK) as handle:
        lines = [line[1:].strip() for line in handle if line.startswith("#   ansible-playbook ")]
    assert lines == ["ansible-playbook -i inventory dockhand.runtime.report"]
    return lines[0]


def read(dest):
    with open(os.path.join(dest, "fleet-report.json")) as handle:
        model = json.load(handle)
    return model, {view["host"]: view for view in model["hosts"]}


@pytest.fixture(scope="module")
def report(fleet, tmp_path_factory):
    """The header's command, as written but for the inventory, from a directory of its own."""
    where = tmp_path_factory.mktemp("written")
    run = run_shell_command(header_command().replace("-i inventory", "-i " + fleet["inventory"]), where)
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    dest = where / "fleet-report"
    model, hosts = read(dest)
    return {"run": run, "dest": dest, "model": model, "hosts": hosts}


def test_the_report_holds_what_each_host_has(fleet, report):
    hosts = report["hosts"]
    assert {ENGINE, BARE, GONE} <= set(hosts)
    engine = hosts[ENGINE]
    assert engine["status"] == "ok" and engine["engine"]["running"] is True
    assert engine["engine"]["version"].startswith("20.10.") and engine["engine"]["cgroup_driver"] == "cgroupfs"
    assert engine["engine"]["mirrors"] == [fleet["cache"]]
    probe = engine["mirrors"][0]
    assert probe["url"] == fleet["cache"] and probe["ok"] is True and probe["throughput"] > 0, probe
    web = [container for container in engine["containers"] if container["name"] == CONTAINER]
    assert web and web[0]["health"] == "healthy" and web[0]["restart_count"] == 0 and web[0]["running"] is True
    assert web[0]["uptime_seconds"] >= 0
    assert engine["slice"]["exists"] is True and engine["slice"]["memory_max"] == 512 * 1024 * 1024
    assert engine["slice"]["tasks_max"] == 256 and isinstance(engine["slice"]["memory_current"], int)
    assert engine["disk"]["images"]["count"] >= 1 and engine["disk"]["containers"]["active"] >= 1
    assert hosts[BARE]["status"] == "ok" and hosts[BARE]["engine"]["running"] is False
    assert hosts[GONE]["status"] == "unreachable" and hosts[GONE]["error"]
    summary = report["model"]["summary"]
    assert summary["hosts"] == len(hosts) >= 28 and summary["unreachable"] >= 1
    said = report["run"].result("Say where the report is")["msg"]
    assert str(report["dest"] / "fleet-report.html") in said


def test_drift_from_what_the_play_asks(fleet, run_playbook, tmp_path):
    """report_expected: host26 runs docker.io's default cgroup driver, cgroupfs, where the play asks for systemd; a
    host without an engine or one that does not answer is not judged."""
    run = run_playbook(PLAYBOOK, inventory=fleet["inventory"], extra_vars={
        "report_hosts": ":".join((ENGINE, BARE, GONE)), "report_dest": str(tmp_path),
        "report_expected": {"cgroup_driver": "systemd", "mirrors": [fleet["cache"]]}}, timeout=600)
    assert run.rc == 0, str(run)
    model, hosts = read(tmp_path)
    assert hosts[ENGINE]["drift"] == ["cgroup driver cgroupfs, the play asks systemd"]
    assert hosts[BARE]["drift"] == [] and hosts[GONE]["drift"] == []
    summary = model["summary"]
    assert (summary["hosts"], summary["unreachable"], summary["engines_running"], summary["drifting"]) == (3, 1, 1, 1)
    assert "1 unreachable" in run.result("Say where the report is")["msg"]


def test_the_markdown_lists_every_host(report):
    text = (report["dest"] / "fleet-report.md").read_text()
    for host in (ENGINE, BARE, GONE):
        assert "| %s |" % host in text
    assert "| %s | unreachable:" % GONE in text


class Recorder(http.server.BaseHTTPRequestHandler):
    """A proxy that answers nothing and records every request a browser sends it."""

    seen = []

    def _record(self):
        self.seen.append("%s %s" % (self.command, self.path))
        self.send_response(403)
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_CONNECT = _record

    def log_message(self, *args):
        pass


# Chromium's own service requests (updates, sign-in, time), which some builds send whatever the flags say; the
# proxy answers them 403, so nothing leaves the machine. Any other request came from the page.
BROWSER_SERVICES = (".google.com", ".googleapis.com", ".gstatic.com", ".gvt1.com")


def chromium(*args, timeout=120):
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: tests/lab/lab setup installs Debian's chromium package"
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--disable-default-apps", "--disable-domain-reliability", "--no-pings", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)


def page_requests(*args):
    """Open a page in Chromium behind the recording proxy: (the run, the requests that are not the browser's)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Recorder.seen = []
    try:
        done = chromium("--proxy-server=http://127.0.0.1:%d" % server.server_address[1],
                        "--proxy-bypass-list=<-loopback>", *args)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr[-3000:]
    hosts = [request.split()[1].split("://")[-1].split("/")[0].split(":")[0] for request in Recorder.seen]
    return done, [request for request, host in zip(Recorder.seen, hosts) if not host.endswith(BROWSER_SERVICES)]


def test_the_recorder_sees_what_a_page_loads(tmp_path):
    """The control: a page that loads an image is seen by the proxy; with the report's Content-Security-Policy the
    same page loads nothing."""
    image = '<img src="http://report-probe.invalid/pixel.png">'
    loose = tmp_path / "loose.html"
    loose.write_text("<!DOCTYPE html><html><body>%s</body></html>" % image)
    strict = tmp_path / "strict.html"
    strict.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                      "'none'; style-src 'unsafe-inline'\"></head><body>%s</body></html>" % image)
    assert page_requests("--dump-dom", "file://%s" % loose)[1] == ["GET http://report-probe.invalid/pixel.png"]
    assert page_requests("--dump-dom", "file://%s" % strict)[1] == []


def test_a_browser_renders_the_page_without_a_network_request(report, tmp_path):
    page = "file://" + str(report["dest"] / "fleet-report.html")
    shot = tmp_path / "report.png"
    dom, requested = page_requests("--dump-dom", page)
    assert requested == []
    _taken, requested = page_requests("--hide-scrollbars", "--window-size=1400,1800", "--screenshot=%s" % shot, page)
    assert requested == []
    rendered = dom.stdout
    for host in (ENGINE, BARE, GONE):
        assert 'id="host-%s"' % host in rendered
    gone_row = rendered[rendered.index('href="#host-%s"' % GONE):]
    assert '<span class="tag unreachable">unreachable</span>' in gone_row[:400]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (1400, 1800)
