# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd: is it PID 1, what a unit runs, the unit's state, and the one way to control a service.

:class:`Unit` starts, restarts, reloads and stops a unit, says whether it is
active and reads its journal; it serves dockerd, containerd and CRI-O alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shlex

SYSTEMD_RUNTIME_DIR = "/run/systemd/system"

_ARGV_RE = re.compile(r"argv\[\]=(.*?) ;")


def runs_systemd(runtime_dir=SYSTEMD_RUNTIME_DIR):
    """True when the host was booted with systemd (the sd_booted() test)."""
    return os.path.isdir(runtime_dir)


def parse_show(text):
    """Parse ``systemctl show`` output (KEY=value lines) into a dict."""
    props = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key] = value
    return props


def parse_exec_start(value):
    """The argv lists of an ``ExecStart=`` property as ``systemctl show`` prints it.

    ``{ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// ; ... }``
    becomes ``[["/usr/bin/dockerd", "-H", "fd://"]]``.
    """
    commands = []
    for match in _ARGV_RE.finditer(value or ""):
        try:
            commands.append(shlex.split(match.group(1)))
        except ValueError:
            commands.append(match.group(1).split())
    return commands


def unit_info(run_command, unit, systemctl="systemctl"):
    """Facts of one unit: loaded, active, fragment_path, drop_in_paths, exec_start, main_pid.

    ``run_command`` is ``AnsibleModule.run_command`` (or anything with its
    signature). Returns None when systemctl cannot be run.
    """
    properties = "LoadState,ActiveState,SubState,FragmentPath,DropInPaths,ExecStart,MainPID"
    rc, out, err = run_command([systemctl, "show", unit, "--property", properties, "--no-pager"])
    if rc != 0:
        return None
    props = parse_show(out)
    exec_start = parse_exec_start(props.get("ExecStart", ""))
    try:
        main_pid = int(props.get("MainPID") or 0)
    except ValueError:
        main_pid = 0
    return {
        "unit": unit,
        "loaded": props.get("LoadState") == "loaded",
        "load_state": props.get("LoadState"),
        "active_state": props.get("ActiveState"),
        "sub_state": props.get("SubState"),
        "fragment_path": props.get("FragmentPath") or None,
        "drop_in_paths": (props.get("DropInPaths") or "").split(),
        "exec_start": exec_start[0] if exec_start else [],
        "main_pid": main_pid or None,
    }


def bus_path(unit):
    """The D-Bus object path of a unit (systemd's bus label escaping: _XX for each other byte)."""
    escaped = []
    for index, byte in enumerate(unit.encode("utf-8")):
        char = chr(byte)
        if ("a" <= char.lower() <= "z") or ("0" <= char <= "9" and index > 0):
            escaped.append(char)
        else:
            escaped.append("_%02x" % byte)
    return "/org/freedesktop/systemd1/unit/" + "".join(escaped)


def exact_exec_start(run_command, unit, busctl="busctl"):
    """The first ExecStart= argv of ``unit`` word for word, from systemd over D-Bus; None when it cannot be read.

    ``systemctl show`` prints the words joined by spaces without quoting, so a
    word holding a space cannot be told apart from two words; D-Bus gives the
    list itself.
    """
    rc, out, _err = run_command([busctl, "--json=short", "get-property", "org.freedesktop.systemd1",
                                 bus_path(unit), "org.freedesktop.systemd1.Service", "ExecStart"])
    if rc != 0:
        return None
    try:
        commands = json.loads(out)["data"]
        argv = commands[0][1]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not isinstance(argv, list) or not all(isinstance(word, str) for word in argv):
        return None
    return argv


def process_name(pid, proc="/proc"):
    """The command name of process ``pid`` (/proc/PID/comm), or None when there is no such process."""
    try:
        with open(os.path.join(proc, str(pid), "comm")) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def process_start(pid, proc="/proc"):
    """When process ``pid`` started (clock ticks since boot, /proc/PID/stat field 22), or None."""
    try:
        with open(os.path.join(proc, str(pid), "stat")) as handle:
            stat = handle.read()
        return int(stat.rpartition(")")[2].split()[19])
    except (IOError, OSError, ValueError, IndexError):
        return None


def process_running(name, proc="/proc"):
    """Whether some process is named ``name`` (for a service that systemd does not run)."""
    try:
        entries = os.listdir(proc)
    except OSError:
        return False
    return any(entry.isdigit() and process_name(entry, proc) == name for entry in entries)


class UnitError(Exception):
    """A systemctl command failed; ``output`` is what it said."""

    def __init__(self, args, output):
        super(UnitError, self).__init__("systemctl %s failed: %s" % (" ".join(args), output))
        self.output = output


def systemctl(run_command, *args, check=True):
    """Run ``systemctl ARGS``; returns its output, or raises UnitError (unless ``check=False``)."""
    rc, out, err = run_command(["systemctl"] + list(args))
    output = (err or out or "").strip()
    if rc != 0 and check:
        raise UnitError(args, output)
    return output


class Unit:
    """One systemd unit: its state, start, restart, reload, stop, and its journal.

    ``run_command`` is ``AnsibleModule.run_command`` (or anything with its
    signature). The commands return what systemctl said and raise UnitError
    when it fails.
    """

    ACTIVE_STATES = ("active", "reloading", "activating")

    def __init__(self, run_command, name):
        self.run_command = run_command
        self.name = name

    def facts(self):
        """unit_info() of the unit, or None when systemctl cannot be run."""
        return unit_info(self.run_command, self.name)

    def active_state(self):
        facts = self.facts()
        return facts["active_state"] if facts else None

    def is_active(self):
        return self.active_state() == "active"

    def running(self, process):
        """(running, under_systemd): by the unit where systemd runs it, else by a process named ``process``."""
        if runs_systemd():
            facts = self.facts()
            if facts and facts["loaded"]:
                return facts["active_state"] in self.ACTIVE_STATES, True
        return process_running(process), False

    def start(self, reset_failed=False):
        if reset_failed:  # a unit that failed recently may be held back by its start limit
            self.reset_failed()
        return systemctl(self.run_command, "start", self.name)

    def restart(self, reset_failed=False):
        if reset_failed:
            self.reset_failed()
        return systemctl(self.run_command, "restart", self.name)

    def reload(self):
        return systemctl(self.run_command, "reload", self.name)

    def stop(self, check=True):
        return systemctl(self.run_command, "stop", self.name, check=check)

    def try_restart(self, check=True):
        return systemctl(self.run_command, "try-restart", self.name, check=check)

    def reset_failed(self):
        return systemctl(self.run_command, "reset-failed", self.name, check=False)

    def journal(self, lines=25, since=None):
        """The last ``lines`` the unit logged (since the epoch time ``since``, if given), as text; '' if none."""
        argv = ["journalctl", "-u", self.name, "-n", str(lines), "--no-pager", "--output", "cat"]
        if since is not None:
            argv += ["--since", "@%d" % int(since)]
        rc, out, _err = self.run_command(argv)
        return out.rstrip() if rc == 0 else ""

    def journal_tail(self, lines=20):
        """The journal's last lines, headed, to end a message with; '' when there are none."""
        return journal_section(self.name, self.journal(lines))


def journal_section(unit, text):
    """Journal lines of ``unit``, headed, to end a message with; '' when there are none."""
    return "\nLast lines of the %s journal:\n%s" % (unit, text) if text.strip() else ""


def daemon_reload(run_command):
    """``systemctl daemon-reload``; raises UnitError."""
    return systemctl(run_command, "daemon-reload")
