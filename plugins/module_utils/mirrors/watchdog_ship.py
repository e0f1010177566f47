# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the mirror watchdog runs from on the host: the module_utils files it imports, and its systemd units.

The watchdog is module_utils code (mirrors/watchdog.py, which reuses the
probe, the file locks and daemon.json's rules). The mirror_watchdog module
ships it as a package directory: :func:`import_closure` follows the imports
of mirrors/watchdog.py through the collection's module_utils (and the few
ansible.module_utils files they use, which travel with every module), and
:func:`package_files` lays them out under their import names, next to a small
entry script. The host then needs nothing but Python 3.8+: no Ansible, no
pip package, and the code is the same the modules run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import importlib.util
import re

WATCHDOG_MODULE = "ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.watchdog"
SHIPPED_PREFIXES = ("ansible_collections.dockhand.runtime.plugins.module_utils.", "ansible.module_utils.")
PACKAGE_DIR = "/usr/local/lib/dockhand/mirror_watchdog"
ENTRY_SCRIPT = "dockhand-mirror-watchdog.py"
UNIT_NAME = "dockhand-mirror-watchdog"
SYSTEMD_DIR = "/etc/systemd/system"
SYSLOG_IDENTIFIER = "dockhand-mirror-watchdog"

# systemd time spans the timer takes: a number and a unit (s, min, h).
INTERVAL_RE = re.compile(r"[1-9][0-9]{0,5}(s|min|h)")
_PYTHON_RE = re.compile(r"/[A-Za-z0-9_./+-]+")

ENTRY_TEXT = '''#!/usr/bin/env python3
# Written by dockhand.runtime (mirror_watchdog): the mirror watchdog's entry point.
# The package next to this file holds copies of the collection's module_utils it imports.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.watchdog import main  # noqa: E402

sys.exit(main())
'''


class ShipError(Exception):
    """The watchdog's code could not be gathered; the message says which file."""


def imported_names(source, filename="<module>"):
    """Absolute module names ``source`` imports, with ``from X import y`` giving X and X.y (y may be a module)."""
    names = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names.extend("%s.%s" % (node.module, alias.name) for alias in node.names)
    return names


def shipped(name):
    return name.startswith(SHIPPED_PREFIXES)


def find_source(name):
    """(source, is_package) of an importable module, or None when ``name`` is no module (a function, a class)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, AttributeError, ValueError):
        return None
    if spec is None or spec.loader is None:
        return None
    is_package = spec.submodule_search_locations is not None
    source = None
    getter = getattr(spec.loader, "get_source", None)
    if getter is not None:
        try:
            source = getter(name)
        except (ImportError, OSError):
            source = None
    if source is None and spec.origin and spec.has_location:
        try:
            with open(spec.origin, encoding="utf-8") as handle:
                source = handle.read()
        except OSError:
            source = None
    if source is None:
        raise ShipError("the source of %s cannot be read (%s); the watchdog cannot be shipped" % (name, spec.origin))
    return source, is_package


def import_closure(start=WATCHDOG_MODULE, finder=find_source):
    """{module name: (source, is_package)} of ``start`` and every shipped module it imports, transitively."""
    found = {}
    pending = [start]
    while pending:
        name = pending.pop()
        if name in found or not shipped(name) and name != start:
            continue
        located = finder(name)
        if located is None:
            continue
        found[name] = located
        pending.extend(imported for imported in imported_names(located[0], name) if imported not in found)
    return found


def package_files(closure):
    """{relative path: text} of the package directory: each module at its import path, empty parent packages."""
    files = {ENTRY_SCRIPT: ENTRY_TEXT}
    for name, (source, is_package) in closure.items():
        parts = name.split(".")
        files["/".join(parts) + ("/__init__.py" if is_package else ".py")] = source
        for depth in range(1, len(parts)):
            files.setdefault("/".join(parts[:depth]) + "/__init__.py", "")
    return files


def service_text(python, config_path, state_path):
    """The oneshot service the timer starts."""
    return ("# Written by dockhand.runtime (mirror_watchdog). Remove it with state: absent.\n"
            "[Unit]\n"
            "Description=dockhand.runtime mirror watchdog: re-probe the registry mirrors\n"
            "After=network-online.target docker.service containerd.service\n"
            "Wants=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            "SyslogIdentifier=%s\n"
            "ExecStart=%s -I %s/%s --config %s --state %s\n"
            % (SYSLOG_IDENTIFIER, python, PACKAGE_DIR, ENTRY_SCRIPT, config_path, state_path))


def timer_text(interval):
    """The timer: ``interval`` after it starts (at boot, or when installed), then ``interval`` after each run."""
    return ("# Written by dockhand.runtime (mirror_watchdog). Remove it with state: absent.\n"
            "[Unit]\n"
            "Description=dockhand.runtime mirror watchdog, every %s\n\n"
            "[Timer]\n"
            "OnActiveSec=%s\n"
            "OnUnitInactiveSec=%s\n"
            "AccuracySec=1s\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n" % (interval, interval, interval))


def check_python(path):
    """None, or why ``path`` cannot go into ExecStart= as the interpreter."""
    if not isinstance(path, str) or not _PYTHON_RE.fullmatch(path):
        return ("python %r must be an absolute path of letters, digits and _./+- (it goes into the service's "
                "ExecStart=)" % (path,))
    return None


def check_interval(interval):
    if not isinstance(interval, str) or not INTERVAL_RE.fullmatch(interval):
        return ("interval %r must be a number with s, min or h, such as 5min or 90s (no spaces)" % (interval,))
    return None
