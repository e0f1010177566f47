# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mirror watchdog: re-probe the configured registry mirrors, move dead, stale or slow ones back or out.

A systemd timer (installed by the mirror_watchdog module) runs :func:`main` on
the host, from a copy of the module_utils files it imports (watchdog_ship).
Each run, for every target (Docker's daemon.json ``registry-mirrors``; each
containerd ``certs.d/<registry>/hosts.toml``):

- it starts from the *baseline*, the configuration the last play set (kept in
  the state file), so a mirror that answers again goes back to its place;
- probes the baseline's mirrors with probe.probe_mirrors;
- orders them by the user's policy (:func:`plan_order`, pure): ``demote``
  moves dead, stale and slow mirrors behind the healthy ones, ``remove``
  takes them out, keeping at least ``min_keep`` mirrors;
- writes the change under the file's lock (files.locked, the lock the modules
  take) atomically, and makes dockerd take it with SIGHUP (never a restart),
  checked in /info and rolled back when dockerd does not show it; containerd
  reads hosts.toml on each pull;
- prints one line per change (the journal keeps it) and keeps the events in
  the state file for the mirror_watchdog module's report.

A configuration changed by someone else (a mirror the baseline does not
have) becomes the new baseline: the watchdog never fights a play.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineClient, EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import (
    DaemonJsonError,
    parse_daemon_json,
    render_keeping,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.dockerd import Dockerd, ServiceError
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    FileError,
    atomic_write,
    locked,
    read_bytes,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.probe import (
    ProbeInputError,
    parse_image,
    parse_mirror,
    probe_mirrors,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import TomlError, loads

STATE_PATH = "/var/lib/dockhand/mirror-watchdog.json"
CONFIG_PATH = "/etc/dockhand/mirror-watchdog.json"
STATE_VERSION = 1
MAX_EVENTS = 100
POLICIES = ("demote", "remove")
VERDICTS = ("ok", "slow", "stale", "dead")  # in order of severity
RUNTIME_DOCKER = "docker"
RUNTIME_CONTAINERD = "containerd"
DOCKER_HUB_DIR = "docker.io"
RELOAD_WAIT = 15  # seconds dockerd has to show the new mirrors in /info after SIGHUP

# The watchdog's settings: name -> (default, check). The module's options carry the same names.
DEFAULT_SETTINGS = {
    "policy": "demote",
    "slow_ms": 3000.0,
    "min_throughput": 0,
    "min_keep": 1,
    "image": "",
    "timeout": 5.0,
    "daemon_json": "/etc/docker/daemon.json",
    "docker_unit": "docker.service",
    "docker_host": "unix:///var/run/docker.sock",
    "certs_dir": "/etc/containerd/certs.d",
    "lock_timeout": 60,
}

_PATH_RE = re.compile(r"/[^\x00-\x20\x7f]*")
_UNIT_RE = re.compile(r"[A-Za-z0-9:_.@-]+\.service")
_DOCKER_HOST_RE = re.compile(r"unix:///[^\x00-\x20\x7f]*")
_HOST_HEADER_RE = re.compile(r'\s*\[\s*host\s*\.\s*"((?:[^"\\]|\\.)*)"\s*(\.[^\]]*)?\]\s*(#.*)?')
_TABLE_HEADER_RE = re.compile(r"\s*\[.*")


class WatchdogError(Exception):
    """A setting, a file or the daemon is not as the watchdog needs; the message says what to change."""


# --------------------------------------------------------------------------
# Settings (pure)
# --------------------------------------------------------------------------

def check_settings(settings):
    """The settings, complete and checked; raises WatchdogError naming the option and what to change."""
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise WatchdogError("unknown watchdog settings: %s" % ", ".join(unknown))
    checked = dict(DEFAULT_SETTINGS)
    checked.update({key: value for key, value in settings.items() if value is not None})
    problems = []
    if checked["policy"] not in POLICIES:
        problems.append("policy must be one of %s, not %r" % (", ".join(POLICIES), checked["policy"]))
    for name in ("slow_ms", "timeout"):
        value = checked[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append("%s must be a number of %s, 0 or more, not %r"
                            % (name, "milliseconds" if name == "slow_ms" else "seconds", value))
    if not problems and checked["timeout"] <= 0:
        problems.append("timeout must be more than 0 seconds, not %r" % (checked["timeout"],))
    for name in ("min_throughput", "min_keep", "lock_timeout"):
        value = checked[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append("%s must be a whole number, 0 or more, not %r" % (name, value))
    for name in ("daemon_json", "certs_dir"):
        if not isinstance(checked[name], str) or not _PATH_RE.fullmatch(checked[name]):
            problems.append("%s %r must be an absolute path without white space or control characters"
                            % (name, checked[name]))
    if not isinstance(checked["docker_unit"], str) or not _UNIT_RE.fullmatch(checked["docker_unit"]):
        problems.append("docker_unit %r must be a systemd service name such as docker.service"
                        % (checked["docker_unit"],))
    if not isinstance(checked["docker_host"], str) or not _DOCKER_HOST_RE.fullmatch(checked["docker_host"]):
        problems.append("docker_host %r must be the engine's local socket, such as unix:///var/run/docker.sock"
                        % (checked["docker_host"],))
    image = checked["image"]
    if not isinstance(image, str):
        problems.append("image must be a string, not %r" % (image,))
    elif image:
        try:
            parse_image(image)
        except ProbeInputError as exc:
            problems.append("image: %s" % exc)
    if problems:
        raise WatchdogError("; ".join(problems))
    checked["slow_ms"] = float(checked["slow_ms"])
    checked["timeout"] = float(checked["timeout"])
    return checked


# --------------------------------------------------------------------------
# The policy (pure)
# --------------------------------------------------------------------------

def mirror_key(url):
    return url.rstrip("/") if isinstance(url, str) else url


def majority_digest(results):
    """The manifest digest more than half of the answering mirrors serve, or None."""
    digests = [r["digest"] for r in results if r.get("ok") and r.get("digest")]
    for digest in set(digests):
        if digests.count(digest) * 2 > len(digests):
            return digest
    return None


def classify(results, slow_ms=0, min_throughput=0):
    """{url: (verdict, reason)} from probe results: ok, slow, stale (serves another digest) or dead.

    A mirror is stale when it serves another manifest digest for the probe
    image than the majority of the answering mirrors (no majority: none is
    stale). ``slow_ms`` (latency of GET /v2/) and ``min_throughput`` (bytes/s)
    of 0 switch those checks off.
    """
    majority = majority_digest(results)
    verdicts = {}
    for result in results:
        url = result["url"]
        if not result.get("ok"):
            verdicts[url] = ("dead", result.get("error") or "did not answer")
        elif majority and result.get("digest") and result["digest"] != majority:
            verdicts[url] = ("stale", "serves %s, the other mirrors %s" % (result["digest"], majority))
        elif slow_ms and (result.get("latency_ms") or 0) > slow_ms:
            verdicts[url] = ("slow", "answered in %s ms, more than slow_ms %s" % (result["latency_ms"], slow_ms))
        elif min_throughput and result.get("throughput") is not None and result["throughput"] < min_throughput:
            verdicts[url] = ("slow", "delivered %d bytes/s, less than min_throughput %d"
                             % (result["throughput"], min_throughput))
        else:
            verdicts[url] = ("ok", None)
    return verdicts


def plan_order(baseline, verdicts, policy, min_keep=1):
    """The mirrors in the order the policy wants, from the ``baseline`` order and the probe's ``verdicts``.

    Healthy mirrors keep their baseline order and go first. ``demote`` puts
    the others behind them, least bad first (slow, stale, dead), each group in
    baseline order. ``remove`` leaves them out, except the least bad ones
    needed to keep ``min_keep`` mirrors. A mirror without a verdict counts
    as healthy.
    """
    def severity(url):
        return VERDICTS.index(verdicts.get(url, ("ok", None))[0])

    healthy = [url for url in baseline if severity(url) == 0]
    failing = sorted((url for url in baseline if severity(url) > 0), key=severity)
    if policy == "demote":
        return healthy + failing
    return healthy + failing[:max(0, min_keep - len(healthy))]


def describe_changes(current, order, verdicts):
    """[{mirror, action, reason}] that take ``current`` to ``order``: removed, demoted, restored, promoted."""
    changes = []
    current_keys = [mirror_key(url) for url in current]
    order_keys = [mirror_key(url) for url in order]
    for url in current:
        if mirror_key(url) not in order_keys:
            changes.append({"mirror": url, "action": "removed", "reason": verdicts.get(url, ("", None))[1]})
    for url in order:
        if mirror_key(url) not in current_keys:
            changes.append({"mirror": url, "action": "restored", "reason": "it passes the probe again"
                            if verdicts.get(url, ("ok",))[0] == "ok" else "kept to have min_keep mirrors"})
    verdict_of = {mirror_key(url): verdict for url, (verdict, _reason) in verdicts.items()}

    def healthy(key):
        return verdict_of.get(key, "ok") == "ok"

    before = [key for key in current_keys if key in order_keys]
    after = [key for key in order_keys if key in current_keys]
    if before != after:
        for url in order:
            key = mirror_key(url)
            if key not in before:
                continue
            verdict, reason = verdicts.get(url, ("ok", None))
            if after.index(key) > before.index(key) and verdict != "ok":
                changes.append({"mirror": url, "action": "demoted", "reason": reason})
            elif after.index(key) < before.index(key) and verdict == "ok" and any(
                    after.index(other) > after.index(key) and healthy(other) for other in before[:before.index(key)]):
                # it stood behind a healthy mirror it goes before now: it had been demoted, and is back
                changes.append({"mirror": url, "action": "promoted", "reason": "it passes the probe again"})
    return changes


def change_line(target, changes, order):
    """The journal line of one change."""
    parts = ["%s %s%s" % (c["action"], c["mirror"], " (%s)" % c["reason"] if c["reason"] else "")
             for c in changes]
    return "%s: %s; mirrors now: %s" % (target, "; ".join(parts) or "reordered", ", ".join(order) or "(none)")


def baseline_for(recorded, current, applied=None):
    """(baseline, adopted): the recorded baseline, or ``current`` when someone else set it.

    The baseline holds while the file shows what the watchdog last wrote
    (``applied``) or the baseline itself; when the watchdog has not written
    yet, also a part of the baseline. An empty list (mirrors removed)
    or a mirror the baseline does not have means a play or a person changed
    the configuration: it becomes the baseline.
    """
    keys = [mirror_key(url) for url in current]
    if recorded is None:
        return list(current), True
    if applied is not None:
        # What the watchdog last wrote, or the baseline itself, keeps the baseline; any other list (a mirror
        # removed or the order changed by a play or a person) is someone else's and becomes the baseline.
        if keys in ([mirror_key(url) for url in applied], [mirror_key(url) for url in recorded]):
            return list(recorded), False
        return list(current), True
    known = {mirror_key(url) for url in recorded}
    if not current or any(key not in known for key in keys):
        return list(current), True
    return list(recorded), False


def mark_applied(state, runtime, path, order):
    """Note in the target's entry what the watchdog wrote, so the next run knows it for its own."""
    entry = state["targets"].get(target_name(runtime, path))
    if entry is not None:
        entry["applied"] = list(order)


def is_watchdog_order(state, runtime, path, current):
    """True when ``current`` is what the watchdog last wrote to the target (not what a play set)."""
    entry = state["targets"].get(target_name(runtime, path)) or {}
    applied = entry.get("applied")
    return applied is not None and [mirror_key(u) for u in applied] == [mirror_key(u) for u in current] and \
        [mirror_key(u) for u in applied] != [mirror_key(u) for u in entry.get("baseline") or []]


# --------------------------------------------------------------------------
# containerd's hosts.toml as blocks of text (pure)
# --------------------------------------------------------------------------

def split_hosts_toml(text, source="hosts.toml"):
    """(head, [(url, block text)]) of a hosts.toml; raises WatchdogError when it cannot be reordered.

    Each ``[host."<url>"]`` table, with its sub-tables (``[host."<url>".header]``)
    and the lines up to the next host, is one block; reordering blocks keeps
    every setting and comment of each mirror as it was. A table other than a
    host's after the first host cannot be placed and is refused.
    """
    try:
        document = loads(text, source)
    except TomlError as exc:
        raise WatchdogError("%s cannot be read: %s" % (source, exc)) from None
    head, blocks = [], []
    for line in text.splitlines(True):
        match = _HOST_HEADER_RE.fullmatch(line.rstrip("\n"))
        if match:
            url = re.sub(r"\\(.)", r"\1", match.group(1))
            if match.group(2) and blocks and blocks[-1][0] == url:
                blocks[-1][1].append(line)
            elif match.group(2):
                raise WatchdogError("%s: the table %s comes before its host's own table" % (source, line.strip()))
            else:
                blocks.append((url, [line]))
        elif _TABLE_HEADER_RE.match(line) and blocks:
            raise WatchdogError("%s: the table %s after the mirrors cannot be kept in place when they are "
                                "reordered; the watchdog leaves this file alone" % (source, line.strip()))
        elif blocks:
            blocks[-1][1].append(line)
        else:
            head.append(line)
    found = [url for url, _lines in blocks]
    if found != list((document.get("host") or {}).keys()):
        raise WatchdogError("%s: its host tables cannot be told apart line by line; the watchdog leaves it alone"
                            % source)
    return "".join(head), [(url, _ending("".join(lines))) for url, lines in blocks]


def _ending(block):
    """A block with exactly one blank line after it, so blocks join the same way in any order."""
    return block.rstrip("\n") + "\n\n"


def join_hosts_toml(head, blocks, order):
    """The hosts.toml text with the blocks of ``order`` (urls) in that order."""
    texts = dict(blocks)
    head = head.rstrip("\n") + "\n\n" if head.strip() else ""
    return (head + "".join(texts[url] for url in order)).rstrip("\n") + "\n"


def hosts_with_override_path(text, source="hosts.toml"):
    """The hosts of a hosts.toml that set override_path (their URL is not a registry root to probe)."""
    try:
        hosts = loads(text, source).get("host") or {}
    except TomlError:
        return set()
    return {url for url, table in hosts.items() if isinstance(table, dict) and table.get("override_path")}


# --------------------------------------------------------------------------
# The state file (pure)
# --------------------------------------------------------------------------

def new_state():
    return {"version": STATE_VERSION, "seq": 0, "reported_seq": 0, "targets": {}, "events": [], "last_run": None}


def parse_state(raw):
    """The state from the file's bytes (None: no file); an unreadable file starts afresh, with a note."""
    if raw is None:
        return new_state(), None
    try:
        state = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return new_state(), "the state file was not JSON; it starts afresh"
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return new_state(), "the state file has another format; it starts afresh"
    fresh = new_state()
    for key, kind in (("seq", int), ("reported_seq", int), ("targets", dict), ("events", list)):
        if not isinstance(state.get(key), kind):
            state[key] = fresh[key]
    return state, None


def render_state(state):
    return (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8")


def target_name(runtime, path):
    return "%s:%s" % (runtime, path)


def record_baseline(state, runtime, path, baseline, now, text=None):
    """Record what a play set for one target; True when the state changed."""
    name = target_name(runtime, path)
    entry = {"runtime": runtime, "path": path, "baseline": list(baseline)}
    if text is not None:
        entry["text"] = text
    old = state["targets"].get(name)
    if old and all(old.get(key) == value for key, value in entry.items()):
        return False
    entry["recorded_at"] = now
    state["targets"][name] = entry
    return True


def add_event(state, runtime, path, before, after, changes, now, outcome="applied"):
    """Append one change to the state's events (the newest MAX_EVENTS are kept); returns it."""
    state["seq"] += 1
    event = {"seq": state["seq"], "time": now, "runtime": runtime, "path": path, "before": list(before),
             "after": list(after), "changes": changes, "outcome": outcome}
    state["events"] = (state["events"] + [event])[-MAX_EVENTS:]
    return event


def events_since(state, seq=None):
    """The events after ``seq`` (default: after the last report)."""
    since = state.get("reported_seq", 0) if seq is None else seq
    return [event for event in state["events"] if isinstance(event, dict) and event.get("seq", 0) > since]


def iso_time(now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


# --------------------------------------------------------------------------
# The edges: files, dockerd, the state file
# --------------------------------------------------------------------------

def run_command(argv):
    """AnsibleModule.run_command's signature, for host/systemd outside a module."""
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              check=False)
    except OSError as exc:
        return 127, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def engine_mirrors(settings):
    """RegistryConfig.Mirrors of the running engine (trailing slashes stripped)."""
    client = EngineClient(docker_host=settings["docker_host"], timeout=10)
    try:
        info = client.get("/info") or {}
    finally:
        client.close()
    return [mirror_key(url) for url in (info.get("RegistryConfig") or {}).get("Mirrors") or []]


def reload_dockerd(settings, wanted):
    """SIGHUP dockerd (found and checked by engine/dockerd.Dockerd, as the modules do) and wait until /info shows
    ``wanted``; raises WatchdogError when it does not."""
    client = EngineClient(docker_host=settings["docker_host"], timeout=10)
    try:
        Dockerd(run_command, client, unit=settings["docker_unit"]).reload()
    except ServiceError as exc:
        raise WatchdogError(str(exc)) from None
    finally:
        client.close()
    deadline = time.monotonic() + RELOAD_WAIT
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = engine_mirrors(settings)
        except EngineError as exc:
            seen = "no answer (%s)" % exc
        if seen == [mirror_key(url) for url in wanted]:
            return
        time.sleep(0.3)
    raise WatchdogError("dockerd did not take the new registry-mirrors after SIGHUP within %d s (it shows %s)"
                        % (RELOAD_WAIT, seen))


def write_docker_mirrors(settings, raw, mirrors):
    """Make daemon.json's registry-mirrors ``mirrors`` (other keys and the layout kept) and SIGHUP dockerd.

    The caller holds the file's lock. When dockerd does not show the change,
    the previous file goes back (and dockerd is told again); raises
    WatchdogError then.
    """
    path = settings["daemon_json"]
    text = raw.decode("utf-8")
    after = parse_daemon_json(text, path)
    after["registry-mirrors"] = list(mirrors)
    atomic_write(path, render_keeping(text, after).encode("utf-8"))
    try:
        reload_dockerd(settings, mirrors)
    except (WatchdogError, OSError, EngineError) as exc:
        atomic_write(path, raw)
        before = parse_daemon_json(text, path).get("registry-mirrors") or []
        with contextlib.suppress(WatchdogError, OSError, EngineError):
            reload_dockerd(settings, before)
        raise WatchdogError("%s; %s was put back as it was" % (str(exc).rstrip("."), path)) from None


def read_docker(settings):
    """(raw bytes, registry-mirrors) of daemon.json; (None, []) without the file; raises WatchdogError."""
    path = settings["daemon_json"]
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise WatchdogError(str(exc)) from None
    if raw is None:
        return None, []
    try:
        current = parse_daemon_json(raw.decode("utf-8"), path).get("registry-mirrors") or []
    except (DaemonJsonError, UnicodeDecodeError) as exc:
        raise WatchdogError("%s cannot be read: %s; the watchdog leaves it alone" % (path, exc)) from None
    if not isinstance(current, list) or not all(isinstance(url, str) for url in current):
        raise WatchdogError("%s: registry-mirrors is not a list of URLs; the watchdog leaves it alone" % path)
    return raw, current


def containerd_files(certs_dir):
    """The hosts.toml files under ``certs_dir``, sorted: [(registry, path)]."""
    try:
        names = sorted(os.listdir(certs_dir))
    except OSError:
        return []
    found = []
    for name in names:
        path = os.path.join(certs_dir, name, "hosts.toml")
        if os.path.isfile(path):
            found.append((name, path))
    return found


def read_text_file(path):
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise WatchdogError(str(exc)) from None
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WatchdogError("%s is not UTF-8 text; the watchdog leaves it alone" % path) from None


def probe_results(settings, urls, image):
    """probe_mirrors over the URLs it can probe; a URL it refuses counts as dead, with the reason."""
    fine, results = [], {}
    for url in urls:
        try:
            parse_mirror(url)
            fine.append(url)
        except ProbeInputError as exc:
            results[url] = {"url": url, "ok": False, "error": str(exc)}
    if fine:
        for result in probe_mirrors(fine, image=image or None, timeout=settings["timeout"], max_bytes=512 * 1024):
            results[result["url"]] = result
    return [results[url] for url in urls]


class Watchdog:
    """One run over every target; ``log`` takes one line per change or failure.

    Each target is done under its file's lock and then the state file's lock
    (always in that order, as the mirror_watchdog module takes them), from the
    state as it is then: a baseline a play records meanwhile is never lost.
    """

    def __init__(self, settings, state_path, now, log, probe=probe_results):
        self.settings = settings
        self.state_path = state_path
        self.now = now
        self.log = log
        self.probe = probe
        self.failed = False
        self.seen = {}

    def decide(self, runtime, path, current, baseline, image, skip=()):
        """(order, changes) for one target."""
        probed = [url for url in baseline if url not in skip]
        results = self.probe(self.settings, probed, image) if probed else []
        verdicts = classify(results, self.settings["slow_ms"], self.settings["min_throughput"])
        self.seen[target_name(runtime, path)] = [
            {"mirror": mask_urls(url), "verdict": verdicts[url][0], "reason": mask_urls(verdicts[url][1])}
            for url in probed]
        order = plan_order(baseline, verdicts, self.settings["policy"], self.settings["min_keep"])
        return order, describe_changes(current, order, verdicts)

    def note(self, state, runtime, path, before, after, changes, outcome="applied"):
        """One event and one journal line, URL credentials masked (redact's rule)."""
        before, after = [mask_urls(url) for url in before], [mask_urls(url) for url in after]
        changes = [dict(change, mirror=mask_urls(change["mirror"]), reason=mask_urls(change["reason"]))
                   for change in changes]
        outcome = mask_urls(outcome)
        add_event(state, runtime, path, before, after, changes, iso_time(self.now), outcome)
        line = change_line(target_name(runtime, path), changes, after)
        self.log(line if outcome == "applied" else "%s [not applied: %s]" % (line, outcome))

    def docker(self):
        settings = self.settings
        path = settings["daemon_json"]
        name = target_name(RUNTIME_DOCKER, path)
        with locked(path, settings["lock_timeout"]), state_session(self.state_path, settings) as state:
            raw, current = read_docker(settings)
            if raw is None or (not current and name not in state["targets"]):
                return
            entry = state["targets"].get(name)
            baseline, adopted = baseline_for(entry["baseline"] if entry else None, current,
                                             entry.get("applied") if entry else None)
            if adopted:
                record_baseline(state, RUNTIME_DOCKER, path, baseline, iso_time(self.now))
            if not baseline:
                return
            order, changes = self.decide(RUNTIME_DOCKER, path, current, baseline, settings["image"])
            if [mirror_key(url) for url in order] == [mirror_key(url) for url in current]:
                return
            try:
                write_docker_mirrors(settings, raw, order)
            except (WatchdogError, FileError, DaemonJsonError) as exc:
                self.failed = True
                self.note(state, RUNTIME_DOCKER, path, current, order, changes, outcome=str(exc))
                return
            mark_applied(state, RUNTIME_DOCKER, path, order)
            self.note(state, RUNTIME_DOCKER, path, current, order, changes)

    def containerd(self):
        for registry, path in containerd_files(self.settings["certs_dir"]):
            try:
                self.containerd_file(registry, path)
            except (WatchdogError, FileError) as exc:
                self.failed = True
                self.log("%s: %s" % (target_name(RUNTIME_CONTAINERD, path), exc))

    def containerd_file(self, registry, path):
        settings = self.settings
        name = target_name(RUNTIME_CONTAINERD, path)
        with locked(path, settings["lock_timeout"]), state_session(self.state_path, settings) as state:
            text = read_text_file(path)
            if text is None:
                return
            _head, blocks = split_hosts_toml(text, path)
            current = [url for url, _block in blocks]
            entry = state["targets"].get(name)
            base_text = entry.get("text") if entry else None
            base_blocks = dict(split_hosts_toml(base_text, path)[1]) if base_text else {}
            # The baseline holds while each block in the file is the baseline's own block, unchanged.
            if not base_text or any(base_blocks.get(url) != block for url, block in blocks):
                record_baseline(state, RUNTIME_CONTAINERD, path, current, iso_time(self.now), text)
                base_text = text
            base_head, baseline_pairs = split_hosts_toml(base_text, path)
            baseline = [url for url, _block in baseline_pairs]
            if not baseline:
                return
            image = settings["image"] if registry == DOCKER_HUB_DIR else ""
            order, changes = self.decide(RUNTIME_CONTAINERD, path, current, baseline, image,
                                         skip=hosts_with_override_path(base_text, path))
            if order == current:
                return
            atomic_write(path, join_hosts_toml(base_head, baseline_pairs, order).encode("utf-8"))
            mark_applied(state, RUNTIME_CONTAINERD, path, order)
            self.note(state, RUNTIME_CONTAINERD, path, current, order, changes)

    def run(self):
        for runtime, step in ((RUNTIME_DOCKER, self.docker), (RUNTIME_CONTAINERD, self.containerd)):
            try:
                step()
            except (WatchdogError, FileError, ProbeInputError) as exc:
                self.failed = True
                self.log("%s: %s" % (runtime, exc))
        with state_session(self.state_path, self.settings) as state:
            state["last_run"] = {"time": iso_time(self.now), "probed": self.seen, "failed": self.failed}
        return not self.failed


@contextlib.contextmanager
def state_session(path, settings=None):
    """The state file, read under its lock; written back (0600, atomically) on leaving when it changed."""
    with locked(path, (settings or DEFAULT_SETTINGS)["lock_timeout"]):
        raw = read_bytes(path)
        state, _note = parse_state(raw)
        yield state
        data = render_state(state)
        if data != raw:
            atomic_write(path, data, mode=0o600)


def load_settings(path):
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise WatchdogError(str(exc)) from None
    if raw is None:
        raise WatchdogError("%s does not exist; install the watchdog with dockhand.runtime.mirror_watchdog" % path)
    try:
        settings = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WatchdogError("%s is not JSON: %s" % (path, exc)) from None
    if not isinstance(settings, dict):
        raise WatchdogError("%s is not a JSON object" % path)
    return check_settings(settings)


def _write_line(line):
    """A line on standard output, which the unit sends to the journal."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv=None, log=None):
    """The timer's run: returns the exit status (0: every target done, 1: something failed, 2: bad settings)."""
    parser = argparse.ArgumentParser(prog="dockhand-mirror-watchdog")
    parser.add_argument("--config", default=CONFIG_PATH)
    parser.add_argument("--state", default=STATE_PATH)
    args = parser.parse_args(argv)
    log = log or _write_line
    try:
        settings = load_settings(args.config)
        return 0 if Watchdog(settings, args.state, time.time(), log).run() else 1
    except WatchdogError as exc:
        log("cannot run: %s" % exc)
        return 2
    except FileError as exc:
        log("cannot run: %s" % exc)
        return 1
