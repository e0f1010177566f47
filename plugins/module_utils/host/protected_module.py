# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AnsibleModule every module of the collection is made from (kept apart from engine/module.py, which code
shipped without Ansible, such as the mirror watchdog, imports)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import secret_values


class ProtectedModule(AnsibleModule):
    """AnsibleModule whose "Invoked with ..." line on the host (journal or syslog) hides the secrets that
    host/redact finds in the parameters (a mirror's auth dict, env secrets, settings), not only those of options
    marked no_log: AnsibleModule writes that line before the module can call redact.protect."""

    def _log_invocation(self):
        added = secret_values(self.params) - self.no_log_values
        self.no_log_values.update(added)
        try:
            super(ProtectedModule, self)._log_invocation()
        finally:
            # protect() decides what the results mask, with the module's own exceptions (paths in key-named options)
            self.no_log_values.difference_update(added)
