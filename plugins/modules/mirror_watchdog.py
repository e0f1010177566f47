#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mirror_watchdog
short_description: Install, report on or remove a timer that re-probes the registry mirrors and demotes dead ones
version_added: 0.2.0
description:
  - Mirrors die between playbook runs. With O(state=present) this module installs a systemd timer,
    C(dockhand-mirror-watchdog.timer), that every O(interval) re-probes the registry mirrors the host
    is configured with. These are Docker's C(registry-mirrors) in O(daemon_json) and the hosts of every
    containerd C(hosts.toml) under O(certs_dir).
  - A mirror is V(dead) when the probe fails, V(stale) when it serves another manifest digest for O(image)
    than most of the other mirrors, and V(slow) when C(GET /v2/) takes longer than O(slow_ms) or the layer
    comes slower than O(min_throughput). With O(policy=demote) such mirrors move behind the healthy ones;
    with O(policy=remove) they are taken out, keeping at least O(min_keep) mirrors.
  - Each run starts from the configuration the last play set (the baseline, recorded in the state file
    C(/var/lib/dockhand/mirror-watchdog.json) when O(record=true)), so a mirror that answers again goes
    back to its place. A configuration someone else changed becomes the new baseline.
  - Docker takes the change with C(SIGHUP), never a restart, so no container stops; the watchdog checks
    C(/info) and puts the previous daemon.json back when dockerd does not show the change. containerd
    reads C(hosts.toml) on each pull. Every change is made under the lock the other modules of this
    collection take on the file, and written atomically.
  - Each change is one line in the journal (C(journalctl -t dockhand-mirror-watchdog)) and one event in the
    state file. O(state=report) returns the events since the last report.
  - The watchdog runs from C(/usr/local/lib/dockhand/mirror_watchdog), which holds copies of this
    collection's module_utils files that it imports (the same probe the M(dockhand.runtime.mirror_probe)
    module runs). The host needs Python 3.8 or later and nothing else.
  - O(state=absent) stops and removes the timer, the service and the code, puts back the baseline (the
    configuration the last play set) where the watchdog changed it, and removes the state file.
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description: Reports what would be installed, recorded or restored; touches nothing.
  diff_mode:
    support: full
    description: Shows the settings file and the systemd units before and after.
options:
  state:
    description:
      - V(present) installs (or updates) the watchdog and, with O(record=true), records the current
        configuration as the baseline.
      - V(absent) removes the watchdog and restores the baseline.
      - V(report) returns what the watchdog did since the last report, and marks it reported (not in
        check mode). It changes nothing else.
    type: str
    choices: [present, absent, report]
    default: present
  interval:
    description: How long after one run the next one starts, as a systemd time span such as V(5min), V(90s), V(1h).
    type: str
    default: 5min
  policy:
    description: V(demote) moves failing mirrors behind the healthy ones; V(remove) takes them out.
    type: str
    choices: [demote, remove]
    default: demote
  slow_ms:
    description: A mirror whose C(GET /v2/) takes longer than this many milliseconds is slow. V(0) turns this off.
    type: float
    default: 3000
  min_throughput:
    description: A mirror that delivers the layer of O(image) slower than this many bytes per second is slow.
      V(0) turns this off.
    type: int
    default: 0
  min_keep:
    description: With O(policy=remove), the fewest mirrors to keep; the least bad failing ones stay to make up
      the number.
    type: int
    default: 1
  image:
    description:
      - An image the probe fetches (manifest and one layer) from each Docker Hub mirror, such as
        V(library/busybox:latest). Its digest tells a stale mirror; its layer gives the throughput.
      - Empty probes C(GET /v2/) only.
    type: str
    default: ''
  timeout:
    description: Seconds each mirror's probe may take.
    type: float
    default: 5
  record:
    description: With O(state=present), record the mirrors configured now as the baseline (what the play set).
    type: bool
    default: true
  daemon_json:
    description: Docker's daemon.json.
    type: path
    default: /etc/docker/daemon.json
  docker_unit:
    description: dockerd's systemd unit, whose MainPID gets C(SIGHUP).
    type: str
    default: docker.service
  docker_host:
    description: The engine's local socket, where the watchdog reads C(/info) to check dockerd took the change.
    type: str
    default: unix:///var/run/docker.sock
  certs_dir:
    description: containerd's C(config_path) directory; every C(<registry>/hosts.toml) under it is watched.
    type: path
    default: /etc/containerd/certs.d
  lock_timeout:
    description: Seconds to wait for another run that changes the same file.
    type: int
    default: 60
  python:
    description: The Python the service runs; by default the one that runs this module.
    type: path
notes:
  - Needs systemd. Runs as root, as Docker's and containerd's files need.
seealso:
  - module: dockhand.runtime.registry_mirrors
  - module: dockhand.runtime.mirror_probe
"""

EXAMPLES = r"""
- name: Watch the mirrors every 5 minutes and move dead ones to the back
  dockhand.runtime.mirror_watchdog:
    image: library/busybox:latest

- name: Take dead or slow mirrors out, keep at least one
  dockhand.runtime.mirror_watchdog:
    policy: remove
    slow_ms: 1500
    min_keep: 1
    interval: 2min

- name: What did the watchdog do since the last run?
  dockhand.runtime.mirror_watchdog:
    state: report
  register: watchdog

- name: Remove the watchdog and put back the mirrors the play set
  dockhand.runtime.mirror_watchdog:
    state: absent
"""

RETURN = r"""
installed:
  description: Whether the watchdog is installed once the task is done.
  returned: always
  type: bool
timer:
  description: The systemd timer's name.
  returned: always
  type: str
  sample: dockhand-mirror-watchdog.timer
state_file:
  description: The watchdog's state file.
  returned: always
  type: str
  sample: /var/lib/dockhand/mirror-watchdog.json
files:
  description: The files written or removed (the code's files are counted, not listed).
  returned: always
  type: list
  elements: str
recorded:
  description: The baselines recorded by this task, by target (C(docker:<daemon.json>), C(containerd:<hosts.toml>)).
  returned: when state is present
  type: dict
  sample: {"docker:/etc/docker/daemon.json": ["https://mirror-a.example.com", "https://mirror-b.example.com"]}
restored:
  description: The targets whose mirrors were put back to the baseline, with the mirrors restored.
  returned: when state is absent
  type: dict
events:
  description:
    - What the watchdog changed since the last report, oldest first.
    - Each has C(seq), C(time) (UTC), C(runtime), C(path), C(before), C(after), C(changes) (each
      C(mirror), C(action) one of removed, demoted, restored, promoted, and C(reason)) and C(outcome)
      (V(applied), or why the change was rolled back).
  returned: when state is report
  type: list
  elements: dict
summary:
  description: One line per event, for a report.
  returned: when state is report
  type: list
  elements: str
last_run:
  description: When the watchdog last ran, each target's probed mirrors with their verdict, and whether it failed.
  returned: when state is report
  type: dict
"""

import contextlib
import json
import os
import shutil
import sys
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import DaemonJsonError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    FileError,
    atomic_write,
    locked,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import protect
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import UnitError, daemon_reload, systemctl
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.watchdog import (
    CONFIG_PATH,
    DEFAULT_SETTINGS,
    RUNTIME_CONTAINERD,
    RUNTIME_DOCKER,
    STATE_PATH,
    WatchdogError,
    change_line,
    check_settings,
    containerd_files,
    events_since,
    is_watchdog_order,
    iso_time,
    mirror_key,
    parse_state,
    read_docker,
    read_text_file,
    record_baseline,
    split_hosts_toml,
    state_session,
    target_name,
    write_docker_mirrors,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.watchdog_ship import (
    PACKAGE_DIR,
    SYSTEMD_DIR,
    UNIT_NAME,
    ShipError,
    check_interval,
    check_python,
    import_closure,
    package_files,
    service_text,
    timer_text,
)

SERVICE_PATH = os.path.join(SYSTEMD_DIR, UNIT_NAME + ".service")
TIMER_PATH = os.path.join(SYSTEMD_DIR, UNIT_NAME + ".timer")
TIMER = UNIT_NAME + ".timer"

ARGUMENT_SPEC = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "report"]},
    "interval": {"type": "str", "default": "5min"},
    "policy": {"type": "str", "default": "demote", "choices": ["demote", "remove"]},
    "slow_ms": {"type": "float", "default": 3000},
    "min_throughput": {"type": "int", "default": 0},
    "min_keep": {"type": "int", "default": 1},
    "image": {"type": "str", "default": ""},
    "timeout": {"type": "float", "default": 5},
    "record": {"type": "bool", "default": True},
    "daemon_json": {"type": "path", "default": DEFAULT_SETTINGS["daemon_json"]},
    "docker_unit": {"type": "str", "default": DEFAULT_SETTINGS["docker_unit"]},
    "docker_host": {"type": "str", "default": DEFAULT_SETTINGS["docker_host"]},
    "certs_dir": {"type": "path", "default": DEFAULT_SETTINGS["certs_dir"]},
    "lock_timeout": {"type": "int", "default": DEFAULT_SETTINGS["lock_timeout"]},
    "python": {"type": "path"},
}


class Refused(Exception):
    """Bad input or an unusable host; nothing was changed."""


def settings_of(params):
    try:
        return check_settings({name: params[name] for name in DEFAULT_SETTINGS})
    except WatchdogError as exc:
        raise Refused("%s. Nothing was changed." % exc) from None


def read_text(path):
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise Refused(str(exc)) from None
    return None if raw is None else raw.decode("utf-8", "replace")


def package_changes():
    """[(path, text)] of the code's files that differ from what is on the host, and [paths] to remove."""
    try:
        files = package_files(import_closure())
    except ShipError as exc:
        raise Refused(str(exc)) from None
    changes = []
    for relative, text in sorted(files.items()):
        path = os.path.join(PACKAGE_DIR, relative)
        if read_text(path) != text:
            changes.append((path, text))
    wanted = {os.path.join(PACKAGE_DIR, relative) for relative in files}
    stale = []
    for root, _dirs, names in os.walk(PACKAGE_DIR):
        stale.extend(path for path in (os.path.join(root, name) for name in names)
                     if path not in wanted and "__pycache__" not in path)
    return changes, sorted(stale)


def current_targets(settings):
    """{target: (runtime, path, baseline, text)} of what is configured now."""
    found = {}
    _raw, mirrors = read_docker(settings)
    if mirrors:
        found[target_name(RUNTIME_DOCKER, settings["daemon_json"])] = (
            RUNTIME_DOCKER, settings["daemon_json"], mirrors, None)
    for _registry, path in containerd_files(settings["certs_dir"]):
        text = read_text_file(path)
        if text is None:
            continue
        try:
            _head, blocks = split_hosts_toml(text, path)
        except WatchdogError:
            continue  # a file the watchdog cannot reorder is not watched
        found[target_name(RUNTIME_CONTAINERD, path)] = (RUNTIME_CONTAINERD, path, [u for u, _b in blocks], text)
    return found


def record(module, settings):
    """Record the configured mirrors as the baselines, under each file's lock then the state's; returns them."""
    recorded = {}
    changed = False
    with contextlib.ExitStack() as stack:
        if not module.check_mode:
            stack.enter_context(locked(settings["daemon_json"], settings["lock_timeout"]))
            for _registry, path in containerd_files(settings["certs_dir"]):
                stack.enter_context(locked(path, settings["lock_timeout"]))
        targets = current_targets(settings)
        session = contextlib.nullcontext(parse_state(read_bytes(STATE_PATH))[0]) if module.check_mode \
            else state_session(STATE_PATH, settings)
        with session as state:
            now = iso_time(time.time())
            for name, (runtime, path, baseline, text) in targets.items():
                if is_watchdog_order(state, runtime, path, baseline):
                    # what the watchdog wrote (it ran between the play's change and this task): not the play's
                    recorded[name] = state["targets"][name]["baseline"]
                    continue
                changed |= record_baseline(state, runtime, path, baseline, now, text)
                recorded[name] = baseline
    return recorded, changed


def unit_state(module):
    enabled = systemctl(module.run_command, "is-enabled", TIMER, check=False)
    active = systemctl(module.run_command, "is-active", TIMER, check=False)
    return enabled == "enabled", active == "active"


def present(module):
    params = module.params
    settings = settings_of(params)
    python = params["python"] or sys.executable
    problems = [p for p in (check_interval(params["interval"]), check_python(python)) if p]
    if problems:
        raise Refused("%s. Nothing was changed." % "; ".join(problems))
    config = json.dumps(settings, indent=2, sort_keys=True) + "\n"
    units = [(CONFIG_PATH, config), (SERVICE_PATH, service_text(python, CONFIG_PATH, STATE_PATH)),
             (TIMER_PATH, timer_text(params["interval"]))]
    code, stale = package_changes()
    plain = [(path, text, read_text(path)) for path, text in units]
    plain = [(path, text, before) for path, text, before in plain if before != text]
    diffs = [{"before_header": path, "after_header": path, "before": before or "", "after": text}
             for path, text, before in plain]
    units_changed = any(path in (SERVICE_PATH, TIMER_PATH) for path, _text, _before in plain)
    enabled, active = unit_state(module)
    files = [path for path, _text, _before in plain] + [path for path, _text in code] + stale
    if not module.check_mode:
        for path, text in code:
            atomic_write(path, text.encode("utf-8"), mode=0o644)
        for path in stale:
            restore(path, None)
        for path, text, _before in plain:
            atomic_write(path, text.encode("utf-8"), mode=0o644)
    recorded, recorded_changed = record(module, settings) if params["record"] else ({}, False)
    start = units_changed or not enabled or not active
    if start and not module.check_mode:
        if units_changed:
            daemon_reload(module.run_command)
        systemctl(module.run_command, "enable", TIMER)
        # restart: a changed interval takes effect now; the service itself is a oneshot, not interrupted
        systemctl(module.run_command, "restart", TIMER)
    result = {"changed": bool(files) or start or recorded_changed, "installed": True, "timer": TIMER,
              "state_file": STATE_PATH, "files": files, "recorded": recorded}
    if module._diff:
        result["diff"] = diffs
    return result


def restore_targets(module, settings, state):
    """Put back each target's baseline where it differs now; returns {target: mirrors restored}."""
    restored = {}
    for name, entry in sorted(state["targets"].items()):
        runtime, path, baseline = entry.get("runtime"), entry.get("path"), entry.get("baseline") or []
        if runtime == RUNTIME_DOCKER and path == settings["daemon_json"]:
            raw, current = read_docker(settings)
            if raw is None or [mirror_key(u) for u in current] == [mirror_key(u) for u in baseline]:
                continue
            restored[name] = baseline
            if not module.check_mode:
                write_docker_mirrors(settings, raw, baseline)
        elif runtime == RUNTIME_CONTAINERD and entry.get("text") and os.path.dirname(
                os.path.dirname(path)) == settings["certs_dir"].rstrip("/"):
            text = read_text_file(path)
            if text is None or text == entry["text"]:
                continue
            restored[name] = baseline
            if not module.check_mode:
                atomic_write(path, entry["text"].encode("utf-8"))
    return restored


def absent(module):
    settings = settings_of(module.params)
    files = [path for path in (TIMER_PATH, SERVICE_PATH, CONFIG_PATH) if os.path.exists(path)]
    installed = bool(files) or os.path.isdir(PACKAGE_DIR)
    if not module.check_mode and installed:
        systemctl(module.run_command, "disable", "--now", TIMER, check=False)
        systemctl(module.run_command, "stop", UNIT_NAME + ".service", check=False)
        for path in files:
            restore(path, None)
        shutil.rmtree(PACKAGE_DIR, ignore_errors=True)
        daemon_reload(module.run_command)
    restored = {}
    state_exists = os.path.exists(STATE_PATH)
    if state_exists:
        with contextlib.ExitStack() as stack:
            if not module.check_mode:
                stack.enter_context(locked(settings["daemon_json"], settings["lock_timeout"]))
                for _registry, path in containerd_files(settings["certs_dir"]):
                    stack.enter_context(locked(path, settings["lock_timeout"]))
                stack.enter_context(locked(STATE_PATH, settings["lock_timeout"]))
            state, _note = parse_state(read_bytes(STATE_PATH))
            restored = restore_targets(module, settings, state)
            if not module.check_mode:
                restore(STATE_PATH, None)
        files.append(STATE_PATH)
    result = {"changed": installed or state_exists, "installed": False, "timer": TIMER, "state_file": STATE_PATH,
              "files": files + ([PACKAGE_DIR] if os.path.isdir(PACKAGE_DIR) or installed else []),
              "restored": restored}
    if module._diff:
        result["diff"] = [{"before_header": path, "after_header": path, "before": read_text(path) or "",
                           "after": ""} for path in (TIMER_PATH, SERVICE_PATH, CONFIG_PATH) if path in files]
    return result


def report(module):
    raw = read_bytes(STATE_PATH)
    state, note = parse_state(raw)
    events = events_since(state)
    if events and not module.check_mode:
        with state_session(STATE_PATH) as current:
            current["reported_seq"] = max(current["reported_seq"], events[-1]["seq"])
    summary = ["%s %s" % (event.get("time"),
                          change_line(target_name(event.get("runtime"), event.get("path")),
                                      event.get("changes") or [], event.get("after") or []))
               + ("" if event.get("outcome") == "applied" else " [not applied: %s]" % event.get("outcome"))
               for event in events]
    if note:
        module.warn("%s: %s" % (STATE_PATH, note))
    return {"changed": False, "installed": os.path.exists(TIMER_PATH), "timer": TIMER, "state_file": STATE_PATH,
            "files": [], "events": events, "summary": summary, "last_run": state.get("last_run")}


def run(module):
    protect(module)
    handlers = {"present": present, "absent": absent, "report": report}
    try:
        return handlers[module.params["state"]](module)
    except (Refused, WatchdogError, FileError, UnitError, EngineError, DaemonJsonError, OSError) as exc:
        module.fail_json(msg="mirror_watchdog (state=%s): %s" % (module.params["state"], exc),
                         changed=False)


def main():
    module = ProtectedModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
