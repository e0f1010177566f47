# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd: is it PID 1, what a unit runs, and the unit's state."""

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
