# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""daemon.json as data: load and parse."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

DEFAULT_DAEMON_JSON = "/etc/docker/daemon.json"


class DaemonJsonError(ValueError):
    """daemon.json cannot be used as it is; the message says why and where."""


def parse_daemon_json(text, path=DEFAULT_DAEMON_JSON):
    """Parse daemon.json text into a dict; an empty file is an empty dict.

    Raises DaemonJsonError for text that is not JSON or not a JSON object,
    naming the file, line and column.
    """
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        where = " at line %s, column %s" % (line, column) if line else ""
        raise DaemonJsonError("%s is not valid JSON%s: %s" % (path, where, getattr(exc, "msg", exc))) from None
    if not isinstance(data, dict):
        raise DaemonJsonError("%s must hold a JSON object ({...}), not a %s"
                              % (path, type(data).__name__.replace("dict", "object")))
    return data


def read_daemon_json(path=DEFAULT_DAEMON_JSON):
    """What is at ``path``: exists, valid, error, settings (None unless valid), raw text."""
    state = {"path": path, "exists": False, "valid": False, "error": None, "settings": None, "text": None}
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == 2:
            # A missing file is a valid, empty configuration.
            state.update(valid=True, settings={})
        else:
            state["error"] = "cannot read %s: %s" % (path, exc.strerror or exc)
        return state
    state["exists"] = True
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        state["error"] = "%s is not UTF-8 text (byte %d)" % (path, exc.start)
        return state
    state["text"] = text
    try:
        state["settings"] = parse_daemon_json(text, path)
        state["valid"] = True
    except DaemonJsonError as exc:
        state["error"] = str(exc)
    return state
