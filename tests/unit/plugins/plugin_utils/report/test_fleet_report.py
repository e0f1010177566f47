"""The fleet report's model and renderers, from results shaped as report.yml registers them."""

import html.parser
import json

import pytest

from ansible_collections.dockhand.runtime.plugins.plugin_utils.report.model import ReportError, build_report
from ansible_collections.dockhand.runtime.plugins.plugin_utils.report.render import duration, size, to_html, to_markdown

MIRROR = "http://cache.lan:5000"


def engine_result(version="20.10.24", driver="systemd", mirrors=(MIRROR,), running=True):
    engine = {"running": running, "kind": "docker", "version": version, "api_version": "1.41",
              "storage_driver": "overlay2", "cgroup_driver": driver, "cgroup_version": 1,
              "registry_mirrors": list(mirrors), "error": None if running else "the socket does not exist"}
    usage = {"images": {"count": 2, "active": 1, "size": 5 * 1024 * 1024, "reclaimable": 1024},
             "containers": {"count": 1, "active": 1, "size": 0, "reclaimable": 0},
             "volumes": {"count": 0, "active": 0, "size": 0, "reclaimable": 0},
             "build_cache": {"count": 0, "active": 0, "size": 0, "reclaimable": 0}}
    return {"changed": False, "engine": engine, "disk_usage": usage if running else None, "disk_usage_error": None}


def host(version="20.10.24", driver="systemd", mirrors=(MIRROR,), throughput=4000000, health="healthy", **engine):
    return {
        "engine": engine_result(version, driver, mirrors, **engine),
        "cgroup": {"slice": {"name": "containers.slice", "exists": True, "memory_max": 1 << 30,
                             "memory_current": 1 << 20, "cpu_quota_percent": 150.0, "cpu_usage_usec": 10,
                             "tasks_max": 512, "tasks_current": 7}},
        "mirrors": {"results": [{"url": url, "ok": True, "latency_ms": 2.5, "throughput": throughput,
                                 "integrity": "ok", "error": None} for url in mirrors]},
        "containers": {"containers": [{"name": "web", "image": "busybox:1.36", "state": "running", "running": True,
                                       "health": health, "restart_count": 1, "uptime_seconds": 7260}]},
    }


UNREACHABLE = {"engine": {"unreachable": True, "msg": "Failed to connect to the host via ssh: Connection refused"},
               "cgroup": {"skipped": True}, "mirrors": {"skipped": True}, "containers": {"skipped": True}}


def fleet():
    drifting = host(version="24.0.7", driver="cgroupfs", health="unhealthy", throughput=2000000)
    return {"host2": host(), "host1": host(), "host3": drifting, "host4": UNREACHABLE,
            "host5": host(running=False, mirrors=())}


def test_statuses_counts_and_charts():
    report = build_report(fleet(), generated_at="now")
    summary = report["summary"]
    assert [view["host"] for view in report["hosts"]] == ["host1", "host2", "host3", "host4", "host5"]
    assert (summary["hosts"], summary["ok"], summary["unreachable"], summary["failed"]) == (5, 4, 1, 0)
    assert (summary["engines_running"], summary["engines_down"]) == (3, 1)
    assert (summary["containers"], summary["containers_running"], summary["containers_unhealthy"]) == (4, 4, 1)
    assert summary["engine_versions"] == [{"version": "20.10.24", "hosts": 2}, {"version": "24.0.7", "hosts": 1}]
    speeds = summary["mirror_speeds"]
    assert speeds == [{"url": MIRROR, "hosts": 3, "ok_hosts": 3, "median_throughput": 4000000,
                       "median_latency_ms": 2.5, "integrity": ["ok"]}]
    unreachable = report["hosts"][3]
    assert unreachable["status"] == "unreachable" and "Connection refused" in unreachable["error"]


def test_drift_against_the_majority_and_against_what_the_play_asks():
    report = build_report(fleet())
    drift = {view["host"]: view["drift"] for view in report["hosts"]}
    assert drift["host1"] == [] and drift["host4"] == [] and drift["host5"] == []  # down or unreachable: not judged
    assert drift["host3"] == ["engine version 24.0.7, most hosts have 20.10.24",
                              "cgroup driver cgroupfs, most hosts have systemd"]
    assert report["summary"]["drifting"] == 1
    asked = build_report(fleet(), expected={"cgroup_driver": "cgroupfs", "mirrors": [MIRROR + "/"]})
    drift = {view["host"]: view["drift"] for view in asked["hosts"]}
    assert drift["host1"] == ["cgroup driver systemd, the play asks cgroupfs"]
    assert drift["host3"] == ["engine version 24.0.7, most hosts have 20.10.24"]


def test_a_failed_engine_task_marks_the_host_failed():
    report = build_report({"a": {"engine": {"failed": True, "msg": "python3 not found"}}})
    assert report["hosts"][0]["status"] == "failed" and report["hosts"][0]["error"] == "python3 not found"


def test_secrets_are_masked_before_rendering():
    secret = "s3cr3t-pw"
    record = host(mirrors=("https://fleet:%s@mirror.lan" % secret,))
    report = build_report({"a": record})
    for text in (json.dumps(report), to_html(report), to_markdown(report)):
        assert secret not in text and "fleet:********@mirror.lan" in text


def test_a_mirror_with_credentials_the_play_asks_for_is_no_drift_and_stays_masked():
    secret = "s3cr3t-pw"
    mirror = "https://fleet:%s@mirror.lan" % secret
    report = build_report({"a": host(mirrors=(mirror,)), "b": host(mirrors=())}, expected={"mirrors": [mirror]})
    drift = {view["host"]: view["drift"] for view in report["hosts"]}
    assert drift["a"] == [] and drift["b"] == ["registry mirrors none, the play asks https://fleet:********@mirror.lan"]
    assert secret not in json.dumps(report) + to_html(report) + to_markdown(report)


def test_bad_input_names_the_option():
    for hosts, expected, words in (({}, None, "hosts:"), ({"a": host()}, {"engine": "x"}, "expected: engine"),
                                   ({"a": host()}, {"mirrors": "x"}, "expected.mirrors"),
                                   ({"a": host()}, ["x"], "expected:")):
        with pytest.raises(ReportError, match=words):
            build_report(hosts, expected=expected)


class Page(html.parser.HTMLParser):
    """What a browser would fetch (src, href other than #anchors, url() in styles) and the ids on the page."""

    def __init__(self):
        super().__init__()
        self.fetches, self.ids, self.tags = [], set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.add(value)
            if name in ("src", "srcset", "data") or (name == "href" and not value.startswith("#")):
                self.fetches.append((tag, name, value))


def test_the_html_page_loads_nothing_and_shows_every_host():
    report = build_report(fleet(), generated_at="2026-12-02 06:00:00 UTC", title="Lab <fleet>")
    page = to_html(report)
    parsed = Page()
    parsed.feed(page)
    assert parsed.fetches == [] and "script" not in parsed.tags and "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page
    assert {"host-host%d" % index for index in range(1, 6)} <= parsed.ids
    assert "<title>Lab &lt;fleet&gt;</title>" in page
    assert "Connection refused" in page and "24.0.7" in page and "<svg" in page
    assert 'class="drift"' in page and 'class="unreachable"' in page


def test_markdown_has_a_row_per_host():
    text = to_markdown(build_report(fleet()))
    rows = [line for line in text.splitlines() if line.startswith("| host")]
    assert len(rows) == 6  # the header and five hosts
    assert "| host4 | unreachable: Failed to connect" in text
    assert "- host3: engine version 24.0.7, most hosts have 20.10.24" in text


def test_units():
    assert (size(None), size(512), size(1536), size(5 * 1024 ** 3)) == ("–", "512 B", "1.5 KiB", "5.0 GiB")
    assert (duration(None), duration(59), duration(7260), duration(90061)) == ("–", "59s", "2h 1m", "1d 1h")


def test_hosts_in_natural_order():
    names = ["web10", "web2", "db1", "web1"]
    report = build_report(dict.fromkeys(names, UNREACHABLE))
    assert [view["host"] for view in report["hosts"]] == ["db1", "web1", "web2", "web10"]
