#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: warn
short_description: Print a warning (a C([WARNING]) line) without failing the play
version_added: 0.1.0
description:
  - Shows O(msg) as Ansible's own warnings are shown, in the play's output and in the warnings a callback
    collects, and goes on. The roles use it where something is missing but the play can still do its job, for
    example when the cgroups role has no image for its proof container.
  - Runs on the controller only; nothing is sent to the host.
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description: Warns the same way; it never changes anything.
  diff_mode:
    support: none
    description: Nothing to show a difference of.
options:
  msg:
    description: The warning's text.
    type: str
    required: true
notes:
  - A task's C(when) decides whether it warns; the module itself always warns.
seealso:
  - module: ansible.builtin.debug
"""

EXAMPLES = r"""
- name: Say what to set when no proof image could be had
  dockhand.runtime.warn:
    msg: No image for the proof container; set cgroups_verify_image to an image your mirrors serve.
  when: proof_image is failed
"""

RETURN = r"""
msg:
  description: The warning, as shown.
  returned: always
  type: str
  sample: No image for the proof container; set cgroups_verify_image.
"""
