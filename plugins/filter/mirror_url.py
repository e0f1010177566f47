# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mirror_url
short_description: The URL of a mirror given as a string, a preset's name or a dict with C(url)
version_added: 0.1.0
description:
  - Mirrors can be written as plain URLs or as dicts (C(url), C(insecure), C(ca_file), ...), as
    M(dockhand.runtime.registry_mirrors) takes them; this filter returns the URL of either form.
  - The name of a preset (the collection's dated table of known mirrors, listed in the README), such as
    V(daocloud), gives that mirror's URL for O(registry). A preset that stopped serving, one that does not
    serve O(registry), one whose URL is per account or per site, and an unknown name fail with the reason.
author:
  - dockhand.runtime team (@dockhand-runtime)
options:
  _input:
    description: A mirror.
    type: raw
    required: true
  registry:
    description: The registry the mirror stands in for, which picks a preset's URL.
    type: str
    default: docker.io
"""

EXAMPLES = r"""
- name: The URLs of mixed mirror entries
  ansible.builtin.debug:
    msg: "{{ mirrors | map('dockhand.runtime.mirror_url') | list }}"
  vars:
    mirrors:
      - https://mirror.example.com
      - {url: "http://cache.lan:5000", insecure: true}
      - daocloud

- name: A preset's URL for ghcr.io
  ansible.builtin.debug:
    msg: "{{ 'daocloud' | dockhand.runtime.mirror_url('ghcr.io') }}"
"""

RETURN = r"""
_value:
  description: The mirror's URL.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import MirrorError, normalise_registry
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.presets import PresetError, resolve


def mirror_url(mirror, registry="docker.io"):
    """The URL of a mirror given as a string, a preset's name or a dict with url."""
    if isinstance(mirror, dict) and isinstance(mirror.get("url"), str):
        value = mirror["url"]
    elif isinstance(mirror, str):
        value = mirror
    else:
        raise AnsibleFilterError("a mirror must be a URL string, a preset name or a dict with a url key, not %r"
                                 % (mirror,))
    try:
        return resolve(value.strip(), normalise_registry(registry)) or value
    except (PresetError, MirrorError) as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule(object):
    def filters(self):
        return {"mirror_url": mirror_url}
