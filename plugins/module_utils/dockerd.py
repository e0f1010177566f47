# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockerd as a service: find it, reload it (SIGHUP), restart it, wait for it, read its journal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine_api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.systemd import runs_systemd, unit_info

DEFAULT_UNIT = "docker.service"
DEFAULT_PIDFILE = "/var/run/docker.pid"


class ServiceError(Exception):
    """dockerd could not be reloaded or restarted; the message says why, with its own words."""


class Dockerd:
    """The dockerd on this host, controlled through systemd where the host runs it."""

    def __init__(self, run_command, client, unit=DEFAULT_UNIT, pidfile=DEFAULT_PIDFILE):
        self.run_command = run_command
        self.client = client
        self.unit = unit
        self.pidfile = pidfile
        self.systemd = runs_systemd()

    def unit_facts(self):
        return unit_info(self.run_command, self.unit) if self.systemd else None

    def pid(self):
        """dockerd's PID, or None when it is not running."""
        if self.systemd:
            facts = self.unit_facts()
            if facts and facts["main_pid"]:
                return facts["main_pid"]
        try:
            with open(self.pidfile) as handle:
                pid = int(handle.read().strip())
            os.kill(pid, 0)
            return pid
        except (IOError, OSError, ValueError):
            return None

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
        # A unit that failed recently may be held back by its start limit; clear it first.
        self.run_command(["systemctl", "reset-failed", self.unit])
        rc, out, err = self.run_command(["systemctl", "restart", self.unit])
        if rc != 0:
            detail = (err or out).strip()
            raise ServiceError("systemctl restart %s failed: %s\n%s" % (self.unit, detail, self.journal_tail()))
        if not self.wait_until_up(timeout):
            raise ServiceError("dockerd did not answer within %d s after the restart.\n%s"
                               % (timeout, self.journal_tail()))

    def start(self, timeout):
        if not self.systemd:
            raise ServiceError("starting dockerd needs systemd, which this host does not run")
        self.run_command(["systemctl", "reset-failed", self.unit])
        rc, out, err = self.run_command(["systemctl", "start", self.unit])
        if rc != 0 or not self.wait_until_up(timeout):
            raise ServiceError("dockerd did not start again: %s\n%s" % ((err or out).strip(), self.journal_tail()))

    def renew_socket(self):
        """Stop dockerd and restart its socket unit (docker.socket), if it has one.

        dockerd started with its own ``hosts`` deletes the socket file of the
        socket unit when it stops; going back to ``-H fd://`` needs the socket
        unit to create it again.
        """
        if not self.systemd or not self.unit.endswith(".service"):
            return
        socket_unit = self.unit[:-len(".service")] + ".socket"
        self.run_command(["systemctl", "stop", self.unit])
        self.run_command(["systemctl", "try-restart", socket_unit])

    def daemon_reload(self):
        rc, out, err = self.run_command(["systemctl", "daemon-reload"])
        if rc != 0:
            raise ServiceError("systemctl daemon-reload failed: %s" % (err or out).strip())

    def journal_tail(self, lines=25):
        """The last lines dockerd logged, to show why it failed."""
        if not self.systemd:
            return ""
        rc, out, _err = self.run_command(["journalctl", "-u", self.unit, "-n", str(lines), "--no-pager",
                                          "--output", "cat"])
        if rc != 0 or not out.strip():
            return ""
        return "Last lines of the %s journal:\n%s" % (self.unit, out.rstrip())
