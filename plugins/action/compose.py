# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockhand.runtime.compose: reads the compose project on the controller (or from the host with remote_src),
builds the model and sends it to the module as ``project``, without the source options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import MASK
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.project import Request, build_project

MODULE = "dockhand.runtime.compose"
SOURCE_OPTIONS = ("project_src", "files", "definition", "remote_src", "env_files", "profiles", "project_name")
# A compose or env file larger than this is refused rather than read.
MAX_FILE_BYTES = 4 * 1024 * 1024


def _decode(data, path):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ComposeError("%s is not UTF-8 text" % path) from None


class ControllerReader:
    """Reads project files on the controller."""

    def __init__(self):
        self._cache = {}

    def read(self, path):
        """The text of ``path``, or None when it does not exist."""
        if path not in self._cache:
            try:
                if os.path.isdir(path):
                    raise ComposeError("%s is a directory, not a file" % path)
                if os.path.getsize(path) > MAX_FILE_BYTES:
                    raise ComposeError("%s has more than %d bytes" % (path, MAX_FILE_BYTES))
                with open(path, "rb") as handle:
                    self._cache[path] = _decode(handle.read(), path)
            except FileNotFoundError:
                self._cache[path] = None
            except OSError as exc:
                raise ComposeError("cannot read %s on the controller: %s" % (path, exc.strerror or exc)) from None
        return self._cache[path]


class RemoteReader:
    """Reads project files on the managed host with ansible.builtin.slurp (remote_src: true)."""

    def __init__(self, action, task_vars):
        self._action = action
        self._task_vars = task_vars
        self._cache = {}

    def read(self, path):
        """The text of ``path`` on the host, or None when it does not exist there."""
        if path not in self._cache:
            result = self._action._execute_module(  # pylint: disable=protected-access
                module_name="ansible.builtin.slurp", module_args={"src": path}, task_vars=self._task_vars)
            if result.get("failed"):
                message = to_text(result.get("msg", ""))
                if "not found" in message.lower():
                    self._cache[path] = None
                else:
                    raise ComposeError("cannot read %s on the host: %s" % (path, message))
            else:
                self._cache[path] = _decode(base64.b64decode(result.get("content", "")), path)
        return self._cache[path]


def masked(value, secrets):
    """``value`` with every string holding one of ``secrets`` masked (longest first), at any depth."""
    if isinstance(value, dict):
        return {key: masked(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
    return value


def _masked_before(before, after, secrets):
    """A diff's before side where its after side held a secret: the text at the secret's place masked too (the old
    value of the secret, which this run does not know), as far as the text around it is the same."""
    if isinstance(after, dict) and isinstance(before, dict):
        return {key: _masked_before(item, after.get(key), secrets) for key, item in before.items()}
    if isinstance(after, list) and isinstance(before, list):
        return [_masked_before(item, after[index] if index < len(after) else None, secrets)
                for index, item in enumerate(before)]
    if not isinstance(after, str) or not isinstance(before, str):
        return before
    for secret in list(secrets) + [MASK]:  # the module masked the new value already (its no_log_values)
        start = after.find(secret)
        if start < 0:
            continue
        prefix, suffix = after[:start], after[start + len(secret):]
        if before.startswith(prefix) and before.endswith(suffix) and len(before) > len(prefix) + len(suffix):
            return prefix + MASK + suffix
    return before


def masked_result(module_result, secrets):
    """The module's result with the secrets masked everywhere, and in its diff their old values too."""
    diff = module_result.get("diff")
    if secrets and isinstance(diff, dict) and "before" in diff and "after" in diff:
        module_result = dict(module_result, diff=dict(diff, before=_masked_before(
            diff["before"], diff["after"], secrets)))
    return masked(module_result, secrets)


def merged(result, module_result, warnings=()):
    """The action's result with the module's, warnings of both kept."""
    result.update(module_result)
    if warnings:
        result["warnings"] = list(module_result.get("warnings") or []) + list(warnings)
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        source = {name: args.pop(name, None) for name in SOURCE_OPTIONS}
        if args.get("project") is not None and all(source[name] is None for name in SOURCE_OPTIONS
                                                   if name != "remote_src"):
            # A model made elsewhere (the module's option project): the module checks it itself.
            return merged(result, self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        try:
            if args.pop("project", None) is not None:
                raise ComposeError("project: the model is made from project_src, files or definition; give those, "
                                   "not project as well")
            remote = self._remote_src(source["remote_src"])
            request = self._request(source, args, remote)
            reader = RemoteReader(self, task_vars) if remote else ControllerReader()
            project, warnings = build_project(request, reader)
        except ComposeError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        args["project"] = project
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        secrets = sorted(project.get("mask") or [], key=len, reverse=True)
        return merged(result, masked_result(module_result, secrets), masked(warnings, secrets))

    @staticmethod
    def _remote_src(value):
        try:
            return boolean(value or False, strict=True)
        except TypeError:
            raise ComposeError("remote_src: expected a boolean, got %r" % (value,)) from None

    def _environment(self):
        """The task's ``environment:`` (play, block and task, templated), as compose's shell environment."""
        environment = {}
        try:
            self._compute_environment_string(environment)
        except AnsibleError as exc:
            raise ComposeError("environment: %s" % to_text(exc)) from None
        return {to_text(key): to_text(value) for key, value in environment.items() if value is not None}

    def _project_src(self, value, remote):
        """project_src as an absolute directory: on the host as given, on the controller found as ``src`` is."""
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ComposeError("project_src: expected a directory path, got %r" % (value,))
        if remote:
            if not value.startswith("/"):
                raise ComposeError("project_src: with remote_src, give an absolute directory on the host, not %r"
                                   % value)
            return value.rstrip("/") or "/"
        try:
            found = self._find_needle("files", value)
        except AnsibleError:
            raise ComposeError("project_src: %s is not a directory on the controller (a relative path is looked for "
                               "as src is: in the role's or playbook's files/ and next to the playbook)"
                               % value) from None
        if not os.path.isdir(found):
            raise ComposeError("project_src: %s is not a directory" % found)
        return os.path.abspath(found)

    def _request(self, source, args, remote):
        services = args.get("services")
        if isinstance(services, str):
            services = [services]
        if services is not None and (not isinstance(services, list)
                                     or not all(isinstance(name, str) for name in services)):
            raise ComposeError("services: expected a list of service names")
        files = source["files"]
        if isinstance(files, str):
            files = [files]
        env_files = source["env_files"]
        if isinstance(env_files, str):
            env_files = [env_files]
        profiles = source["profiles"]
        if isinstance(profiles, str):
            profiles = [profiles]
        return Request(project_src=self._project_src(source["project_src"], remote), files=files,
                       definition=source["definition"], env_files=env_files, profiles=profiles or [],
                       project_name=source["project_name"], services=services or [],
                       environment=self._environment())
