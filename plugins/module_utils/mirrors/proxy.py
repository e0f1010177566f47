# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP proxy the container runtimes pull through: dockerd, containerd and Podman.

Where no mirror serves, the runtimes pull upstream through a proxy. Each
runtime takes it in its own place:

- dockerd: ``proxies`` in daemon.json from Engine 23 (through daemon_config's
  one safe path: lock, validate, write, restart, roll back), else an
  environment file named by a systemd drop-in of its unit;
- containerd: the same drop-in and environment file for its unit;
- Podman: ``env`` in the ``[engine]`` table of a containers.conf.d drop-in,
  which Podman reads on each command, so nothing restarts.

A unit's environment only changes on a restart, so dockerd and containerd are
restarted once when their setting changed, and put back (files, then the
service) when they do not come back. The proxy's password never shows: URL
credentials are masked by redact's pattern, and the environment file, which
holds it, is 0600 and is not shown by ``systemctl show`` (Environment= lines
would be, to every local user).

The pure parts (normalising, rendering, comparing) come first; the edges
(reading, writing, restarting) after them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import re
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import (
    ChangeFailed,
    DaemonJsonChange,
    change_daemon_json,
    clause,
    load_current,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.dockerd import (
    Dockerd,
    ServiceError,
    cause_line,
    without_noise,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    FileError,
    atomic_write,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import (
    Unit,
    UnitError,
    daemon_reload,
    journal_section,
    runs_systemd,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import Refused, read_text
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.containerd import ContainerdDriver
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import loads, toml_string

RUNTIMES = ("docker", "containerd", "podman")
DOCKER_METHODS = ("auto", "daemon_json", "systemd")
PROXIES_MIN_ENGINE = 23  # the first Docker Engine with "proxies" in daemon.json
SYSTEMD_DIR = "/etc/systemd/system"
DROP_IN_NAME = "50-dockhand-proxy.conf"
ENV_FILE_NAME = "50-dockhand-proxy.env"  # next to the drop-in; systemd reads only *.conf there
CONTAINERS_CONF_D = "/etc/containers/containers.conf.d"
WRITTEN_BY = "# Written by dockhand.runtime (engine_proxy) for %s; changes here are overwritten."

# --------------------------------------------------------------------------
# Pure: rendering and choosing (the settings themselves: proxy_settings)
# --------------------------------------------------------------------------

# name in the result and the task -> (environment variable, daemon.json key)
PROXY_KEYS = (("http_proxy", "HTTP_PROXY", "http-proxy"),
              ("https_proxy", "HTTPS_PROXY", "https-proxy"),
              ("no_proxy", "NO_PROXY", "no-proxy"))


def environment(settings):
    """[(NAME, value)]: each set variable in upper and lower case, as Go, curl and the rest read them."""
    pairs = []
    for name, variable, _key in PROXY_KEYS:
        value = settings.get(name)
        if name == "no_proxy":
            value = ",".join(value or [])
        if value:
            pairs += [(variable, value), (variable.lower(), value)]
    return pairs


def shown_settings(settings):
    """The settings fit for a result: the proxies' passwords masked."""
    return {name: mask_urls(value) if isinstance(value, str) else value for name, value in settings.items()}


def daemon_json_proxies(settings):
    """dockerd's ``proxies`` object (Engine 23+): http-proxy, https-proxy, no-proxy (comma-separated)."""
    proxies = {}
    for name, _variable, key in PROXY_KEYS:
        value = settings.get(name)
        if name == "no_proxy":
            value = ",".join(value or [])
        if value:
            proxies[key] = value
    return proxies


def env_file_text(unit, settings):
    """The environment file a unit's drop-in names: NAME=value lines (values need no quoting, see the pattern)."""
    lines = [WRITTEN_BY % unit]
    lines += ["%s=%s" % pair for pair in environment(settings)]
    return "\n".join(lines) + "\n"


def drop_in_text(unit, env_file):
    """The unit drop-in that gives the service the environment file (a '-': a missing file is no error)."""
    return "%s\n[Service]\nEnvironmentFile=-%s\n" % (WRITTEN_BY % unit, env_file.replace("%", "%%"))


def containers_conf_text(settings):
    """A containers.conf drop-in whose [engine] env gives Podman the proxy, and [containers] http_proxy = false
    so that Podman does not hand its proxy, password included, to every container it runs."""
    values = ", ".join(toml_string("%s=%s" % pair) for pair in environment(settings))
    return "%s\n[containers]\nhttp_proxy = false\n\n[engine]\nenv = [%s]\n" % (WRITTEN_BY % "podman", values)


def parse_containers_conf_env(text, source="containers.conf"):
    """The [engine] env list of a containers.conf text ([] when unset); raises TomlError."""
    engine = loads(text, source).get("engine") or {}
    env = engine.get("env") if isinstance(engine, dict) else None
    return [item for item in env or [] if isinstance(item, str)]


def engine_major(version):
    """The major version of a Docker Engine version string ('20.10.24+dfsg1', '27.3.1'), or None."""
    match = re.match(r"v?(\d+)\.", version or "")
    return int(match.group(1)) if match else None


def choose_docker_method(method, major):
    """'daemon_json' or 'systemd': as asked, else by the engine's version (unknown: systemd, which every
    engine reads)."""
    if method != "auto":
        return method
    return "daemon_json" if major is not None and major >= PROXIES_MIN_ENGINE else "systemd"


def shown_env_text(text):
    """An environment file's text with the proxies' passwords masked (for a diff)."""
    return mask_urls(text) if text else text


def unit_paths(unit):
    """(drop-in, environment file) of ``unit``."""
    directory = os.path.join(SYSTEMD_DIR, unit + ".d")
    return os.path.join(directory, DROP_IN_NAME), os.path.join(directory, ENV_FILE_NAME)


# --------------------------------------------------------------------------
# The edges: a unit's drop-in (dockerd, containerd)
# --------------------------------------------------------------------------

def _read(path):
    try:
        return read_bytes(path)
    except FileError as exc:
        raise Refused("%s. Nothing was written." % exc) from None


class UnitProxy:
    """The proxy of one systemd service through a drop-in and its environment file.

    ``restart()`` and ``start()`` are the runtime's own service control
    (Dockerd for dockerd, Unit for containerd); each raises, or returns the
    reason it failed.
    """

    def __init__(self, module, lock, unit, process, restart, start, journal, report=None):
        self.module = module
        self.report = report or dict
        self.lock = lock
        self.unit = unit
        self.process = process
        self.restart = restart
        self.start = start
        self.journal = journal
        self.drop_in, self.env_file = unit_paths(unit)

    def plan(self, settings, state):
        self.lock(self.drop_in)
        before = {"drop_in": _read(self.drop_in), "env": _read(self.env_file)}
        if state == "present":
            after = {"drop_in": drop_in_text(self.unit, self.env_file).encode("utf-8"),
                     "env": env_file_text(self.unit, settings).encode("utf-8")}
        else:
            after = {"drop_in": None, "env": None}
        changed = [name for name in ("env", "drop_in") if before[name] != after[name]]
        return {"before": before, "after": after, "changed": changed}

    def apply(self, plan):
        module = self.module
        paths = {"drop_in": self.drop_in, "env": self.env_file}
        result = {"changed": bool(plan["changed"]), "files": [paths[name] for name in plan["changed"]],
                  "applied": "none", "drop_in": self.drop_in, "env_file": self.env_file, "rolled_back": False,
                  "restart_needed": False}
        diffs = []
        for name in plan["changed"]:
            before, after = (plan[side][name] for side in ("before", "after"))
            diffs.append({"before_header": paths[name], "after_header": paths[name],
                          "before": shown_env_text((before or b"").decode("utf-8", "replace")),
                          "after": shown_env_text((after or b"").decode("utf-8", "replace"))})
        if not plan["changed"]:
            return result, diffs
        if not runs_systemd():
            raise ChangeFailed("%s: a service's proxy is set through a systemd drop-in, and this host does not run "
                               "systemd; set the proxy in the environment of whatever starts it" % self.unit,
                               **result)
        running, _under_systemd = Unit(module.run_command, self.unit).running(self.process)
        restart = running and module.params["apply"] != "none"
        result["applied"] = "restart" if restart else "none"
        result["restart_needed"] = bool(running and not restart)
        if module.check_mode:
            return result, diffs
        try:
            for name in plan["changed"]:  # the environment file first: the drop-in names it
                self._put(paths[name], plan["after"][name])
            daemon_reload(module.run_command)
        except (FileError, UnitError) as exc:
            self._put_back(plan, paths)
            raise ChangeFailed("%s: %s. The previous files were put back." % (self.unit, clause(exc)),
                               **result) from None
        if restart:
            since = time.time()
            reason = self.restart()
            if reason:
                journal = self.journal(since)
                self._put_back(plan, paths)
                again = self.start()
                result.update(rolled_back=True, applied="none")
                cause = cause_line(journal)
                raise ChangeFailed(
                    "%s%s did not come back after its proxy changed: %s. The previous %s %s put back%s.%s"
                    % ("%s: " % cause if cause else "", self.unit, reason, " and ".join(result["files"]),
                       "was" if len(result["files"]) == 1 else "were",
                       " and it runs again" if again is None else " but it did not start with them either: %s"
                       % again, journal_section(self.unit, without_noise(journal, keep=12))),
                    **result)
            result.update(self.report())
        elif result["restart_needed"]:
            module.warn("%s runs with its previous proxy until it restarts (apply: none)" % self.unit)
        return result, diffs

    @staticmethod
    def _put(path, data):
        if data is None:
            restore(path, None)
        else:
            atomic_write(path, data, mode=0o600 if path.endswith(".env") else 0o644)

    def _put_back(self, plan, paths):
        for name in plan["changed"]:
            with contextlib.suppress(FileError):
                restore(paths[name], plan["before"][name])
        with contextlib.suppress(UnitError):
            daemon_reload(self.module.run_command)


def dockerd_unit_proxy(module, lock, client):
    """UnitProxy for dockerd: Dockerd's restart (waits for the engine to answer) and start, and daemon_config's
    warning about the containers a restart stops (live-restore off)."""
    dockerd = Dockerd(module.run_command, client, unit=module.params["unit"])
    timeout = module.params["restart_timeout"]
    containers = DaemonJsonChange(module, client)  # its warning and account of the containers a restart stops
    containers.result = {}

    def restart():
        running = containers.warn_before_restart()
        try:
            dockerd.restart(timeout)
        except ServiceError as exc:
            return clause(exc)
        containers.account_for_containers(running)
        return None

    def start():
        try:
            if dockerd.answers():
                dockerd.restart(timeout)
            else:
                dockerd.start(timeout)
        except ServiceError as exc:
            return clause(exc)
        return None

    def report():
        return {key: containers.result[key] for key in ("stopped_containers", "started_containers")
                if key in containers.result}

    return UnitProxy(module, lock, module.params["unit"], "dockerd", restart, start,
                     lambda since: dockerd.journal(80, since), report)


def containerd_unit_proxy(module, lock):
    """UnitProxy for containerd: the containerd driver's restart (is-active after it, with its journal)."""
    unit = Unit(module.run_command, module.params["containerd_unit"])

    def restart():
        return ContainerdDriver.restart(unit)

    return UnitProxy(module, lock, unit.name, "containerd", restart, restart, lambda since: unit.journal(80, since))


# --------------------------------------------------------------------------
# The edges: dockerd's daemon.json, Podman's containers.conf.d
# --------------------------------------------------------------------------

def docker_daemon_json(module, client, settings, state):
    """Set or remove ``proxies`` in daemon.json through daemon_config's safe path; (result, diffs)."""
    try:
        if state == "present":
            outcome = change_daemon_json(module, client, settings={"proxies": daemon_json_proxies(settings)})
        else:
            outcome = change_daemon_json(module, client, remove=["proxies"])
    except ChangeFailed as exc:
        raise ChangeFailed(str(exc), **dict(exc.result, method="daemon_json")) from None
    diff = outcome.pop("diff", None)
    outcome.pop("settings", None)
    outcome["files"] = [outcome["path"]] if outcome["changed"] else []
    return outcome, ([diff] if diff and outcome["changed"] else [])


def docker_holds_proxies(path):
    """Whether daemon.json sets ``proxies`` (None when it cannot be read)."""
    try:
        _raw, current, _replaced = load_current(path)
    except ChangeFailed:
        return None
    return bool(current.get("proxies"))


class PodmanProxy:
    """Podman's proxy: [engine] env in a containers.conf.d drop-in; Podman reads it on each command."""

    def __init__(self, module, lock):
        self.module = module
        self.lock = lock
        self.path = os.path.join(module.params["containers_conf_d"], DROP_IN_NAME)

    def plan(self, settings, state):
        self.lock(self.path)
        before = read_text(self.path)
        after = containers_conf_text(settings) if state == "present" else None
        return {"before": before, "after": after, "changed": before != after}

    def apply(self, plan):
        result = {"changed": plan["changed"], "files": [self.path] if plan["changed"] else [], "applied": "none",
                  "drop_in": self.path}
        diffs = []
        if plan["changed"]:
            diffs.append({"before_header": self.path, "after_header": self.path,
                          "before": shown_env_text(plan["before"] or ""), "after": shown_env_text(plan["after"] or "")})
        if self.module.check_mode or not plan["changed"]:
            return result, diffs
        try:
            if plan["after"] is None:
                restore(self.path, None)
            else:
                secret = mask_urls(plan["after"]) != plan["after"]
                if secret:  # atomic_write keeps an existing file's mode: narrowed before the password is in it
                    with contextlib.suppress(FileNotFoundError):
                        os.chmod(self.path, 0o600)
                atomic_write(self.path, plan["after"].encode("utf-8"), mode=0o600 if secret else 0o644)
        except FileError as exc:
            raise ChangeFailed("podman: %s" % exc, **result) from None
        return result, diffs
