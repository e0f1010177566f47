# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: slice_limits
short_description: Check slice limits and return them in canonical form
version_added: 0.1.0
description:
  - Checks the limits M(dockhand.runtime.cgroup_slice) takes (C(memory_max), C(memory_high),
    C(cpu_quota), C(cpu_weight), C(tasks_max)) on the controller, before any host is touched, and
    returns them canonical (sizes in bytes, quotas as V(150%), V(infinity)).
  - Fails naming every bad limit and what to write instead.
author:
  - dockhand.runtime team (@dockhand-runtime)
options:
  _input:
    description: The limits.
    type: dict
    required: true
  option:
    description: The variable name to use in error messages.
    type: str
    default: limits
"""

EXAMPLES = r"""
- name: Fail early on a bad limit
  ansible.builtin.set_fact:
    limits: "{{ {'memory_max': '512m', 'cpu_quota': '150%'} | dockhand.runtime.slice_limits('cgroups_slice_limits') }}"
  # limits == {"memory_max": 536870912, "cpu_quota": "150%"}
"""

RETURN = r"""
_value:
  description: The limits in canonical form.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import CgroupError, normalize_limits


def slice_limits(value, option="limits"):
    try:
        return normalize_limits(value, option)
    except CgroupError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule(object):
    def filters(self):
        return {"slice_limits": slice_limits}
