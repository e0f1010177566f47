# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: daemon_ulimits
short_description: dockerd's default-ulimits from a short form, checked
version_added: 0.1.0
description:
  - >-
    Turns C({nofile: {soft: 1024, hard: 65536}}), C({nofile: 65536}) (soft and hard alike) or
    C({nofile: "1024:65536"}) (the docker CLI's form) into the objects dockerd's C(default-ulimits)
    takes (C({"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 65536}})). V(unlimited) is -1.
  - Fails naming the entry when a name is not a ulimit dockerd knows or soft exceeds hard.
author:
  - dockhand.runtime team (@dockhand-runtime)
options:
  _input:
    description: The ulimits, name to limit.
    type: dict
    required: true
  option:
    description: The variable name to use in error messages.
    type: str
    default: default_ulimits
"""

EXAMPLES = r"""
- name: Containers may open 65536 files by default
  dockhand.runtime.daemon_config:
    settings:
      default-ulimits: "{{ {'nofile': {'soft': 65536, 'hard': 65536}} | dockhand.runtime.daemon_ulimits }}"
"""

RETURN = r"""
_value:
  description: The value of dockerd's C(default-ulimits).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import CgroupError
from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    daemon_ulimits as _daemon_ulimits,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    ulimits_beyond as _ulimits_beyond,
)


def daemon_ulimits(value, option="default_ulimits"):
    try:
        return _daemon_ulimits(value, option)
    except CgroupError as exc:
        raise AnsibleFilterError(str(exc)) from None


def ulimits_beyond(value, process, option="default_ulimits", who="dockerd"):
    """Messages for the ulimits (daemon_ulimits form) that ``process`` (cgroup_info's) cannot grant."""
    return _ulimits_beyond(value, process, option, who)


class FilterModule(object):
    def filters(self):
        return {"daemon_ulimits": daemon_ulimits, "ulimits_beyond": ulimits_beyond}
