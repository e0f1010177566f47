# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockhand.runtime.warn: a [WARNING] from a role, on the controller (nothing runs on the host)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("msg",))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        message = self._task.args.get("msg")
        if not isinstance(message, str) or not message.strip():
            result.update(failed=True, msg="msg: give the warning's text, a non-empty string")
            return result
        message = to_text(message).strip()
        result.update(changed=False, msg=message, warnings=[message])
        return result
