"""mirror_probe through ansible-playbook against the lab's mirror stand-ins (tests/lab/README.md):
from this machine with the loopback URLs, and from a lab host over SSH with the lab-network URLs.

The stand-ins: the hub, a pull-through cache of it, the hub behind nginx at 64 KB/s ("slow"),
nginx answering 500 ("error"), a port that accepts and never answers ("hang"), a port nothing
listens on ("dead"), and a Debian-style package tree at full speed and at 64 KB/s.
"""

import sys
from pathlib import Path

import pytest
from conftest import assert_no_traceback, local_play

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
import lab as lab_py  # noqa: E402 - the lab's own names (the stale mirror's URL and its image's date)

pytestmark = pytest.mark.lab

TIMEOUT = 3
IMAGE = "library/busybox:latest"
PACKAGES_FILE = "dists/bookworm/main/binary-all/Packages"  # about 1 MiB, made by the lab
SLOW_CEILING = 200 * 1024  # bytes/s: 64 KB/s plus nginx's first 64 KB at once, with room to spare
LAB_HOST = "dockhand-lab-host10"  # any host: the module only reads
STALE = lab_py.mirror_urls()["stale"]["lab"]  # an older library/busybox:latest than the hub's
STALE_DATE = lab_py.STALE_CREATED[:10]


def probe_task(name, **options):
    return {"name": name, "dockhand.runtime.mirror_probe": options}


@pytest.fixture(scope="module")
def lab_vars(lab):
    return lab["data"]["all"]["children"]["lab"]["vars"]


@pytest.fixture(scope="module")
def local(lab_vars):
    return lab_vars["lab_mirrors_local"]


def by_url(result):
    return {r["url"]: r for r in result["results"]}


def check_registry_ranking(result, m):
    """hub and cache (fast) before slow, then the three that fail; each failure in clear words."""
    results = by_url(result)
    ranked = result["ranked"]
    assert set(ranked[:2]) == {m["hub"], m["cache"]}, ranked
    assert ranked[2] == m["slow"], ranked
    assert set(ranked[3:]) == {m["dead"], m["hang"], m["error"]}, ranked
    assert set(result["best"]) == {m["hub"], m["cache"]}
    assert result["image"] == IMAGE

    for fast in (m["hub"], m["cache"]):
        res = results[fast]
        assert res["ok"] is True and res["error"] is None, res
        assert res["status"] == 200 and res["bytes"] > 1000000  # the whole 1 MB busybox layer
        assert res["digest"] == results[m["hub"]]["digest"]  # the cache serves what the hub holds
    slow = results[m["slow"]]
    assert slow["ok"] is True and slow["error"] is None, slow
    assert 0 < slow["bytes"] < 1000000  # cut short at the deadline: slow, not dead
    assert 0 < slow["throughput"] < SLOW_CEILING, slow  # nginx's limit: a loaded machine only makes it slower

    dead, hang, error = results[m["dead"]], results[m["hang"]], results[m["error"]]
    assert dead["ok"] is False and dead["status"] is None
    assert dead["error"].startswith("connection refused by "), dead
    assert hang["ok"] is False and hang["status"] is None
    assert hang["error"] == "timed out after %d s (waiting for the answer to GET /v2/)" % TIMEOUT, hang
    assert error["ok"] is False and error["status"] == 500
    assert error["error"].startswith("HTTP 500 from GET /v2/"), error
    for res in (dead, hang, error):
        assert res["throughput"] is None and res["bytes"] == 0

    # Concurrent and bounded: slow and hang each used their whole timeout, and the task ended before the
    # sum of its probes' times (one after the other, it would have taken that sum at the least).
    assert slow["elapsed_ms"] >= TIMEOUT * 1000 and hang["elapsed_ms"] >= TIMEOUT * 1000
    assert result["elapsed_ms"] < sum(r["elapsed_ms"] for r in result["results"]), result


def registry_mirrors(m):
    # An order the ranking has to change.
    return [m["slow"], m["dead"], m["hub"], m["hang"], m["error"], m["cache"]]


def test_registry_ranking_from_this_machine(run_playbook, local):
    run = run_playbook(local_play([probe_task(
        "probe", mirrors=registry_mirrors(local), image=IMAGE, timeout=TIMEOUT, pick=2)]))
    assert run.rc == 0, str(run)
    assert run.status("probe") == "ok"
    result = run.result("probe")
    assert result["changed"] is False
    check_registry_ranking(result, local)
    assert_no_traceback(run)


def test_registry_ranking_from_a_lab_host(run_playbook, lab, lab_vars):
    names = ["slow", "dead", "hub", "hang", "error", "cache"]
    play = [{
        "name": "probe from a host", "hosts": LAB_HOST, "gather_facts": False,
        "tasks": [probe_task("probe", mirrors=["{{ lab_mirrors.%s }}" % n for n in names], image=IMAGE,
                             timeout=TIMEOUT, pick=2)],
    }]
    run = run_playbook(play, inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    result = run.result("probe", LAB_HOST)
    check_registry_ranking(result, lab_vars["lab_mirrors"])
    assert all(url.startswith("http://dockhand-lab-") for url in result["ranked"])  # the lab network's names
    assert_no_traceback(run)


def test_a_mirror_in_use_is_measured_twice_before_it_moves_down(run_playbook, local):
    """slow in use ahead of the cache: both are measured again, one at a time, and slow, slower both times,
    moves down; with the cache already first nothing is measured twice."""
    tasks = [probe_task("in use, slow first", mirrors=[local["slow"], local["cache"]], image=IMAGE,
                        timeout=TIMEOUT, prefer=[local["slow"] + "/", local["cache"]]),
             probe_task("in use, cache first", mirrors=[local["slow"], local["cache"]], image=IMAGE,
                        timeout=TIMEOUT, prefer=[local["cache"], local["slow"]])]
    run = run_playbook(local_play(tasks))
    assert run.rc == 0, str(run)
    moved = run.result("in use, slow first")
    assert moved["remeasured"] == [local["cache"], local["slow"]], moved
    assert moved["ranked"] == [local["cache"], local["slow"]] and moved["best"] == [local["cache"]]
    results = by_url(moved)
    second = results[local["slow"]]["remeasured"]
    assert second["ok"] is True and 0 < second["throughput"] < SLOW_CEILING, second
    assert 0 < results[local["slow"]]["throughput"] < SLOW_CEILING  # the first figure stays beside the second
    assert results[local["cache"]]["remeasured"]["throughput"] > SLOW_CEILING
    # the two probes of the second round ran one after the other: at least slow's whole timeout on top
    assert moved["elapsed_ms"] >= 2 * TIMEOUT * 1000, moved["elapsed_ms"]
    kept = run.result("in use, cache first")
    assert kept["remeasured"] == [] and kept["ranked"][0] == local["cache"]
    assert all("remeasured" not in r for r in kept["results"])
    assert_no_traceback(run)


def test_without_image_ranks_by_latency_in_check_mode(run_playbook, local):
    run = run_playbook(local_play([probe_task(
        "probe", mirrors=[local["dead"], local["hub"], local["cache"]], timeout=TIMEOUT)]), check=True)
    assert run.rc == 0, str(run)
    result = run.result("probe")
    assert result["changed"] is False and result["image"] is None
    results = by_url(result)
    for url in (local["hub"], local["cache"]):
        assert results[url]["ok"] is True and results[url]["throughput"] is None
        assert results[url]["latency_ms"] > 0
    assert result["ranked"][-1] == local["dead"]
    assert result["best"] == [result["ranked"][0]] and result["best"][0] in (local["hub"], local["cache"])
    first, second = (results[url] for url in result["ranked"][:2])
    assert first["latency_ms"] <= second["latency_ms"]


def test_an_image_the_mirrors_lack_is_not_ok(run_playbook, local):
    run = run_playbook(local_play([probe_task(
        "probe", mirrors=[local["hub"], local["cache"]], image="library/busybox:no-such-tag", timeout=TIMEOUT)]))
    assert run.rc == 0, str(run)
    result = run.result("probe")
    assert result["best"] == []
    hub = by_url(result)[local["hub"]]
    assert hub["ok"] is False and hub["status"] == 200
    assert hub["error"] == "manifest unknown (HTTP 404 from GET /v2/library/busybox/manifests/no-such-tag)"
    assert any("no mirror passed the probe" in w for w in result.get("warnings", [])), result.get("warnings")


def test_package_mirrors_from_this_machine(run_playbook, local):
    mirrors = [local["packages_slow"], local["error"], local["packages"], local["dead"], local["hang"]]
    run = run_playbook(local_play([
        probe_task("file", kind="package", mirrors=mirrors, path=PACKAGES_FILE, timeout=TIMEOUT),
        probe_task("default path", kind="package", mirrors=[local["packages"]], timeout=TIMEOUT),
    ]))
    assert run.rc == 0, str(run)
    result = run.result("file")
    results = by_url(result)
    assert result["ranked"][:2] == [local["packages"], local["packages_slow"]], result["ranked"]
    assert result["best"] == [local["packages"]] and result["path"] == PACKAGES_FILE
    fast, slow = results[local["packages"]], results[local["packages_slow"]]
    assert fast["ok"] and fast["status"] == 200 and fast["bytes"] > 1024 * 1024  # read to the end
    assert slow["ok"] and 0 < slow["bytes"] < 1024 * 1024 and slow["throughput"] < SLOW_CEILING
    assert results[local["error"]]["error"] == \
        "HTTP 500 from GET /%s: dockhand lab: this mirror always fails" % PACKAGES_FILE
    assert "connection refused" in results[local["dead"]]["error"]
    assert "timed out after %d s" % TIMEOUT in results[local["hang"]]["error"]
    assert result["elapsed_ms"] < sum(r["elapsed_ms"] for r in result["results"]), result  # concurrent

    default = run.result("default path")
    # The lab needs a Debian 12 machine (tests/lab/README.md), and its package tree has bookworm only.
    assert default["path"] == "dists/bookworm/Release"
    assert default["results"][0]["ok"] is True and default["results"][0]["bytes"] > 100


def test_package_mirrors_from_a_lab_host(run_playbook, lab, lab_vars):
    play = [{
        "name": "probe from a host", "hosts": LAB_HOST, "gather_facts": False,
        "tasks": [probe_task("probe", kind="package", timeout=TIMEOUT,  # default path: the host is bookworm
                             mirrors=["{{ lab_mirrors.packages_slow }}", "{{ lab_mirrors.packages }}",
                                      "{{ lab_mirrors.dead }}"])],
    }]
    run = run_playbook(play, inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    result = run.result("probe", LAB_HOST)
    m = lab_vars["lab_mirrors"]
    assert result["path"] == "dists/bookworm/Release"
    assert set(result["ranked"][:2]) == {m["packages"], m["packages_slow"]}  # a small file: both fast
    assert result["ranked"][2] == m["dead"]
    assert all(r["ok"] for r in result["results"] if r["url"] != m["dead"])


BAD_INPUT = [
    ({"mirrors": ["mirror.example.com"]},
     "mirror 'mirror.example.com' has no scheme: write http://mirror.example.com or https://mirror.example.com"),
    ({"mirrors": ["http://127.0.0.1:5000", "ftp://mirror.example.com/debian"]},
     "mirror 'ftp://mirror.example.com/debian': the scheme ftp:// is not supported"),
    ({"mirrors": ["https://user:secret@127.0.0.1:5000"]}, "carries credentials"),
    ({"mirrors": ["http://127.0.0.1:5000"], "path": "dists/bookworm/Release"}, "path applies to kind=package"),
    ({"mirrors": ["http://127.0.0.1:5000"], "image": "ghcr.io/org/app"}, "names the registry ghcr.io"),
    ({"mirrors": ["http://127.0.0.1:5000"], "timeout": 0}, "timeout must be a positive number"),
    ({"mirrors": []}, "mirrors is empty"),
]


def test_bad_input_fails_clearly(run_playbook):
    """Each mistake fails its task before any traffic, naming the entry or option (one playbook run)."""
    tasks = [dict(probe_task("bad %d" % i, **options), ignore_errors=True)
             for i, (options, _words) in enumerate(BAD_INPUT)]
    run = run_playbook(local_play(tasks))
    for i, (_options, words) in enumerate(BAD_INPUT):
        assert run.status("bad %d" % i) == "failed"
        msg = run.result("bad %d" % i)["msg"]
        assert words in msg, msg
        assert "secret" not in msg
    assert_no_traceback(run)


# -- integrity: the stale mirror (dockhand-lab-stale serves a busybox created 2024-06-06) ----------

def probe_from_host10(run_playbook, lab, **options):
    play = [{"name": "probe from a host", "hosts": LAB_HOST, "gather_facts": False,
             "tasks": [probe_task("probe", image=IMAGE, timeout=TIMEOUT, **options)]}]
    run = run_playbook(play, inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    return run.result("probe", LAB_HOST)


def test_a_stale_mirror_is_never_picked_even_when_it_is_the_fastest(run_playbook, lab, lab_vars):
    """Against the trusted cache: the stale mirror answers, fastest, and is left out with the reason."""
    m = lab_vars["lab_mirrors"]
    result = probe_from_host10(run_playbook, lab, mirrors=[STALE, m["slow"]], pick=1, trusted=[m["cache"]])
    stale, slow = by_url(result)[STALE], by_url(result)[m["slow"]]
    assert stale["ok"] is True and stale["error"] is None, stale  # it answers: only its image is wrong
    assert stale["throughput"] > slow["throughput"], result["results"]  # the premise: it is the fastest
    assert stale["integrity"] == "stale", stale
    note = stale["integrity_note"]
    assert "serves an older %s" % IMAGE in note and "created %s" % STALE_DATE in note, note
    assert "trusted %s" % m["cache"] in note, note
    assert slow["integrity"] == "ok" and slow["integrity_note"] is None, slow  # the hub's image, slowly
    assert result["best"] == [m["slow"]]
    assert [entry["url"] for entry in result["left_out"]] == [STALE]
    assert result["left_out"][0]["reason"] == "stale: " + note
    assert "mirror %s is never picked: stale: serves an older" % STALE in " ".join(result["warnings"])
    reference = result["integrity"]["references"][IMAGE]
    assert reference["source"] == "trusted %s" % m["cache"]
    assert reference["platform_digest"] == slow["digest"] != stale["digest"]
    assert reference["created"] > lab_py.STALE_CREATED  # the hub's image was made when the lab was set up


def test_without_a_trusted_source_the_majority_outvotes_a_preferred_stale_mirror(run_playbook, lab, lab_vars):
    """No trusted source: hub and cache agree (2 of 3), so the stale mirror is left out even as first."""
    m = lab_vars["lab_mirrors"]
    result = probe_from_host10(run_playbook, lab, mirrors=[STALE, m["hub"], m["cache"]], pick=3, first=[STALE])
    assert sorted(result["best"]) == sorted([m["hub"], m["cache"]])
    stale = by_url(result)[STALE]
    assert stale["ok"] is True and stale["integrity"] == "stale", stale
    assert "the majority (2 of 3 mirrors)" in stale["integrity_note"], stale
    assert [r["integrity"] for r in result["results"]] == ["stale", "ok", "ok"]
    assert any(warning.startswith("preferred mirror %s is left out: stale: serves an older" % STALE)
               for warning in result["warnings"]), result["warnings"]
