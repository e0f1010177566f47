# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose's project name rule: project_name, else the top-level ``name:``, else the directory's name normalised."""

from __future__ import annotations

import posixpath
import re
from typing import Optional

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError

PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
RESOURCE_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_RULE = "lower-case letters, digits, '_' and '-', starting with a letter or a digit"


def normalise_directory_name(directory: str) -> str:
    """A directory's base name as compose makes a project name of it: lower case, other characters dropped."""
    name = re.sub(r"[^a-z0-9_-]", "", posixpath.basename(directory.rstrip("/")).lower())
    return name.lstrip("_-")


def check_name(name: object, where: str) -> str:
    """A project name given by the user: it must already follow the rule (compose refuses, it does not alter)."""
    if not isinstance(name, str) or not PROJECT_NAME.fullmatch(name):
        raise ComposeError("%s %r is not a valid project name: use %s" % (where, name, _RULE))
    return name


def project_name(option: Optional[str], top_level: object, directory: Optional[str],
                 from_environment: Optional[str] = None) -> str:
    """The project's name: the task's project_name, else COMPOSE_PROJECT_NAME (``from_environment``: the task's
    environment, env_files or .env), else ``name:``, else the project directory's name."""
    if option is not None:
        return check_name(option, "project_name")
    if from_environment:
        return check_name(from_environment, "COMPOSE_PROJECT_NAME")
    if top_level is not None:
        return check_name(top_level, "the top-level name:")
    if directory is None:
        raise ComposeError("an inline definition without a top-level name: needs project_name: give project_name "
                           "(%s)" % _RULE)
    name = normalise_directory_name(directory)
    if not name:
        raise ComposeError("the project directory %s gives no project name once normalised (%s): give project_name"
                           % (posixpath.basename(directory.rstrip("/")) or directory, _RULE))
    return name
