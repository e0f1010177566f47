# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockerd as a service: find it, reload it (SIGHUP), restart it, wait for it, read its journal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import (
    Unit,
    UnitError,
    daemon_reload,
    process_name,
    process_start,
    runs_systemd,
)

DEFAULT_UNIT = "docker.service"
DEFAULT_PIDFILE = "/var/run/docker.pid"


class ServiceError(Exception):
    """dockerd could not be reloaded or restarted; the message says why, with its own words."""


# dockerd's fatal error, printed as a plain line on stderr when it cannot start.
_FAILED_TO_START = "failed to start daemon"
_LOGRUS_MSG = re.compile(r'level=(?P<level>fatal|error) msg="(?P<msg>(?:[^"\\]|\\.)*)"')


def cause_line(journal):
    """dockerd's own words for why it failed, from its journal text: the one line a person needs, or None.

    The plain ``failed to start daemon: ...`` line wins; otherwise the last
    ``level=fatal``, then the last ``level=error`` message of dockerd itself
    (grpc's chatter, ``module=grpc``, is never the cause).
    """
    lines = [line.strip() for line in (journal or "").splitlines() if "module=grpc" not in line]
    for line in reversed(lines):
        if _FAILED_TO_START in line:
            return line[line.index(_FAILED_TO_START):]
    for level in ("fatal", "error"):
        for line in reversed(lines):
            match = _LOGRUS_MSG.search(line)
            if match and match.group("level") == level:
                return match.group("msg").replace('\\"', '"')
    return None


def without_noise(journal, keep=12):
    """The last ``keep`` lines of a journal text without grpc's connection chatter."""
    lines = [line for line in (journal or "").splitlines() if "module=grpc" not in line]
    return "\n".join(lines[-keep:])


def first_line(text):
    """The first line of a command's output ("Job for docker.service failed ..."), without the "See ..." advice."""
    return (text or "").strip().split("\n")[0].strip()


class Dockerd:
    """The dockerd on this host, controlled through systemd where the host runs it."""

    def __init__(self, run_command, client, unit=DEFAULT_UNIT, pidfile=DEFAULT_PIDFILE):
        self.run_command = run_command
        self.client = client
        self.unit = unit
        self.pidfile = pidfile
        self.systemd = runs_systemd()
        self.service = Unit(run_command, unit)

    def unit_facts(self):
        return self.service.facts() if self.systemd else None

    def pid(self):
        """dockerd's PID, or None when it is not running.

        From systemd's MainPID, else from the pidfile. Either way the process
        must be named dockerd (/proc/PID/comm): a stale pidfile may name a PID
        that the kernel has since given to another program, which must never
        get dockerd's signals. Raises ServiceError for such a PID.
        """
        source, pid = None, None
        if self.systemd:
            facts = self.unit_facts()
            if facts and facts["main_pid"]:
                source, pid = "%s's MainPID" % self.unit, facts["main_pid"]
        if pid is None:
            try:
                with open(self.pidfile) as handle:
                    source, pid = self.pidfile, int(handle.read().strip())
            except (IOError, OSError, ValueError):
                return None
        name = process_name(pid)
        if name is None:
            return None
        if name != "dockerd":
            raise ServiceError("%s names PID %d, which is %s, not dockerd (a stale PID that the kernel gave to "
                               "another program); nothing was signalled. Start dockerd, or remove the stale %s"
                               % (source, pid, name, source))
        return pid

    def identity(self):
        """(PID, start time) of the running dockerd, or None: tells whether it was restarted since."""
        try:
            pid = self.pid()
        except ServiceError:
            return None
        return None if pid is None else (pid, process_start(pid))

    def answers(self, timeout=5):
        """True when the engine answers /_ping within ``timeout`` seconds."""
        previous = self.client.timeout
        self.client.timeout = timeout
        try:
            return self.client.ping()
        except EngineError:
            return False
        finally:
            self.client.timeout = previous
            self.client.close()

    def wait_until_up(self, timeout):
        """Poll /_ping until it answers or ``timeout`` seconds pass; returns whether it answered."""
        deadline = time.monotonic() + timeout
        while True:
            if self.answers(timeout=min(5, max(1, timeout))):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)

    def reload(self):
        """Send SIGHUP: dockerd re-reads daemon.json and applies its reloadable keys."""
        pid = self.pid()
        if pid is None:
            raise ServiceError("dockerd is not running, so there is nothing to reload")
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError as exc:
            raise ServiceError("cannot signal dockerd (PID %d): %s" % (pid, exc.strerror or exc)) from None

    def restart(self, timeout):
        """Restart through systemd and wait until the engine answers; raises ServiceError otherwise."""
        if not self.systemd:
            raise ServiceError("restarting dockerd needs systemd, which this host does not run; restart it "
                               "by hand, or use apply: reload for reloadable keys")
        try:
            self.service.restart(reset_failed=True)
        except UnitError as exc:
            raise ServiceError("systemctl restart %s failed: %s" % (self.unit, first_line(exc.output))) from None
        if not self.wait_until_up(timeout):
            raise ServiceError("dockerd did not answer within %d s after the restart" % timeout)

    def start(self, timeout):
        if not self.systemd:
            raise ServiceError("starting dockerd needs systemd, which this host does not run")
        try:
            said = self.service.start(reset_failed=True)
        except UnitError as exc:
            said, started = exc.output, False
        else:
            started = self.wait_until_up(timeout)
        if not started:
            reason = first_line(said) or "it did not answer within %d s" % timeout
            raise ServiceError("dockerd did not start again: %s" % reason)

    def renew_socket(self):
        """Stop dockerd and restart its socket unit (docker.socket), if it has one.

        dockerd started with its own ``hosts`` deletes the socket file of the
        socket unit when it stops; going back to ``-H fd://`` needs the socket
        unit to create it again.
        """
        if not self.systemd or not self.unit.endswith(".service"):
            return
        self.service.stop(check=False)
        Unit(self.run_command, self.unit[:-len(".service")] + ".socket").try_restart(check=False)

    def daemon_reload(self):
        try:
            daemon_reload(self.run_command)
        except UnitError as exc:
            raise ServiceError(str(exc)) from None

    def journal(self, lines=25, since=None):
        """The last ``lines`` dockerd logged (since the epoch time ``since``, if given), as text."""
        return self.service.journal(lines, since) if self.systemd else ""
