# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error of the compose front end, and how a key path reads in it."""

from __future__ import annotations

from typing import Iterable, Optional, Union

PathPart = Union[str, int]


def key_path(parts: Iterable[PathPart]) -> str:
    """``("services", "web", "ports", 1)`` -> ``services.web.ports[1]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text


class ComposeError(Exception):
    """A project the action plugin refuses; the message names the file and the key path where it can."""

    def __init__(self, message: str, path: Iterable[PathPart] = (), source: Optional[str] = None):
        where = key_path(path)
        text = "%s: %s" % (where, message) if where else message
        if source:
            text = "%s: %s" % (source, text)
        super().__init__(text)
        self.message = text
