# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: table
short_description: Lay out a list of dicts as a text table, one line per row
version_added: 0.1.0
description:
  - Turns rows (a list of dicts) into aligned text lines, with a header line, for reports
    printed with M(ansible.builtin.debug).
  - Lists are joined with commas; V(null) shows as C(-).
author:
  - dockhand.runtime team (@dockhand-runtime)
positional: columns
options:
  _input:
    description: The rows.
    type: list
    elements: dict
    required: true
  columns:
    description:
      - The keys to show, in order. A key may be written V(key:Header) to name its column.
      - If not given, the keys of the first row.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Print one line per host
  ansible.builtin.debug:
    msg: "{{ rows | dockhand.runtime.table(['host', 'version:engine', 'cgroup_driver:cgroups']) }}"
  vars:
    rows:
      - {host: web1, version: 20.10.24, cgroup_driver: systemd}
      - {host: web2, version: null, cgroup_driver: null}
"""

RETURN = r"""
_value:
  description: The table's lines, header first.
  type: list
  elements: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(item) for item in value) or "-"
    return to_text(value)


def table(rows, columns=None):
    """Rows (list of dicts) as aligned text lines, header first."""
    if not isinstance(rows, (list, tuple)) or not all(isinstance(row, dict) for row in rows):
        raise AnsibleFilterError("table expects a list of dicts, got %s" % type(rows).__name__)
    if columns is None:
        columns = list(rows[0]) if rows else []
    keys, headers = [], []
    for column in columns:
        key, _sep, header = to_text(column).partition(":")
        keys.append(key)
        headers.append(header or key)
    cells = [[_cell(row.get(key)) for key in keys] for row in rows]
    widths = [max([len(headers[i])] + [len(line[i]) for line in cells]) for i in range(len(keys))]

    def line(values):
        return "  ".join(value.ljust(widths[i]) for i, value in enumerate(values)).rstrip()
    return [line(headers)] + [line(values) for values in cells]


def _natural_key(value):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", to_text(value))]


def natural_sort(values):
    """Strings in natural order: host2 before host10."""
    if not isinstance(values, (list, tuple)):
        raise AnsibleFilterError("natural_sort expects a list, got %s" % type(values).__name__)
    return sorted(values, key=_natural_key)


class FilterModule(object):
    def filters(self):
        return {"table": table, "natural_sort": natural_sort}
