# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: engine_version
short_description: Pick the package version that an engine_version names, from apt or dnf output
version_added: 0.1.0
description:
  - Reads the versions a package source offers, from C(apt-cache madison NAME) or
    C(dnf list --showduplicates NAME), and returns the newest one that O(version) names.
  - O(version) is a full version (the epoch may be left out), which must match exactly, or its
    upstream part, such as V(27.3.1), or V(27.3) for the newest 27.3.x.
  - Fails, listing what the source has, when no version matches.
author:
  - dockhand.runtime team (@dockhand-runtime)
options:
  _input:
    description: The output of C(apt-cache madison NAME) or C(dnf list --showduplicates NAME).
    type: str
    required: true
  version:
    description: The version wanted.
    type: str
    required: true
  family:
    description: V(apt) or V(dnf).
    type: str
    required: true
  name:
    description: The package, for dnf's output and for the error message.
    type: str
    required: true
  origin:
    description:
      - Take only the versions of this repository - its URL for apt (as C(apt-cache madison) prints it),
        its repository id for dnf. Empty takes every source.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: The full version of docker-ce 27.3.1 in the configured source
  ansible.builtin.set_fact:
    wanted: "{{ madison.stdout | dockhand.runtime.engine_version('27.3.1', 'apt', 'docker-ce') }}"
"""

RETURN = r"""
_value:
  description: The full version, as the package manager names it.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.module_utils.install.package_sources import (
    FAMILY_APT,
    match_version,
    package_spec,
    parse_apt_versions,
    parse_dnf_versions,
)


def engine_version(text, version, family, name, origin=""):
    """The newest version in ``text`` that ``version`` names; AnsibleFilterError when none does."""
    if family == FAMILY_APT:
        available = parse_apt_versions(text, origin or None)
    else:
        available = parse_dnf_versions(text, name, origin or None)
    found = match_version(available, version)
    if found is None:
        if available:
            more = len(available) - 15
            listing = ", ".join(available[:15]) + (" and %d more" % more if more > 0 else "")
            has = "it has %s" % listing
        else:
            has = "it has no %s at all" % name
        raise AnsibleFilterError(
            "engine_version %s: the package source has no %s %s (%s). Set engine_version to one of those, "
            "or leave it empty for the newest" % (version, name, version, has))
    return found


def engine_off_version(pinned, installed, version):
    """The ``pinned`` packages that are installed (``installed``: name -> version) at another version."""
    return [name for name in pinned or [] if name in (installed or {})
            and match_version([installed[name]], version) is None]


def engine_package_specs(packages, family, outputs, version, origin=""):
    """``packages`` as install specs: those in ``outputs`` (name -> version listing) pinned to ``version``."""
    specs = []
    for name in packages or []:
        if version and name in (outputs or {}):
            specs.append(package_spec(family, name, engine_version(outputs[name], version, family, name, origin)))
        else:
            specs.append(name)
    return specs


class FilterModule(object):
    def filters(self):
        return {"engine_version": engine_version, "engine_off_version": engine_off_version,
                "engine_package_specs": engine_package_specs}
