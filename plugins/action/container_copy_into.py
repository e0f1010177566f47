# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockhand.runtime.container_copy_into: reads ``src`` on the controller and sends its bytes to the module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import stat

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

# Bytes of a controller file sent inline at most; larger files go to the managed node first (path).
MAX_SRC_BYTES = 32 * 1024 * 1024


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        src = args.pop("src", None)
        if src is not None:
            failure = self._read_src(src, args)
            if failure:
                result.update(failed=True, changed=False, msg=failure)
                return result
        module_result = self._execute_module(module_args=args, task_vars=task_vars)
        if src is not None:
            invocation = (module_result.get("invocation") or {}).get("module_args")
            if isinstance(invocation, dict):  # the bytes were sent as content; show where they came from
                invocation["src"] = src
                invocation["content"] = "(the %d bytes of src)" % self._src_size
        result.update(module_result)
        return result

    def _read_src(self, src, args):
        """Put the controller file's bytes (and mode, unless the task sets one) into ``args``; a message on failure."""
        if args.get("content") is not None or args.get("path") is not None:
            given = " and ".join(name for name in ("content", "path") if args.get(name) is not None)
            return "give exactly one of content, src and path; this task gives src and %s" % given
        try:
            source = self._find_needle("files", src)
        except AnsibleError as exc:
            return "src %s is not a file on the controller: %s" % (src, to_text(exc))
        try:
            info = os.stat(source)
            if not stat.S_ISREG(info.st_mode):
                return "src %s is not a regular file" % source
            if info.st_size > MAX_SRC_BYTES:
                return ("src %s has %d bytes, more than the %d this module sends inline; copy it to the managed "
                        "node first (ansible.builtin.copy) and give it as path" % (source, info.st_size, MAX_SRC_BYTES))
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            return "cannot read src %s: %s" % (source, exc.strerror or exc)
        self._src_size = len(data)
        args["content"] = base64.b64encode(data).decode("ascii")
        args["content_is_b64"] = True
        if args.get("mode") is None:
            args["mode"] = "%04o" % stat.S_IMODE(info.st_mode)
        return None
