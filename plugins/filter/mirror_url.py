# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mirror_url
short_description: The URL of a mirror given as a string or as a dict with C(url)
version_added: 0.1.0
description:
  - Mirrors can be written as plain URLs or as dicts (C(url), C(insecure), C(ca_file), ...), as
    M(dockhand.runtime.registry_mirrors) takes them; this filter returns the URL of either form.
author:
  - dockhand.runtime team (@dockhand-runtime)
options:
  _input:
    description: A mirror.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: The URLs of mixed mirror entries
  ansible.builtin.debug:
    msg: "{{ mirrors | map('dockhand.runtime.mirror_url') | list }}"
  vars:
    mirrors:
      - https://mirror.example.com
      - {url: "http://cache.lan:5000", insecure: true}
"""

RETURN = r"""
_value:
  description: The mirror's URL.
  type: str
"""

from ansible.errors import AnsibleFilterError


def mirror_url(mirror):
    """The URL of a mirror given as a string or as a dict with url."""
    if isinstance(mirror, str):
        return mirror
    if isinstance(mirror, dict) and isinstance(mirror.get("url"), str):
        return mirror["url"]
    raise AnsibleFilterError("a mirror must be a URL string or a dict with a url key, not %r" % (mirror,))


class FilterModule(object):
    def filters(self):
        return {"mirror_url": mirror_url}
