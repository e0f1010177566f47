# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the engine role plans its package work with (documented in engine_*.yml next to this file)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dockhand.runtime.plugins.module_utils.install.package_sources import (
    parse_apt_depends,
    parse_apt_removals,
    version_plan,
)


def engine_version_plan(packages, family, listings, version, origin="", installed=None):
    """What pinning ``packages`` to ``version`` means (specs, resolved, missing, moves); never raises."""
    return version_plan(packages, family, listings, version, origin or None, installed)


def engine_apt_needs(text):
    """The packages `apt-cache depends --recurse` lists: all that the named packages need."""
    return parse_apt_depends(text)


def engine_apt_removals(text):
    """The packages `apt-get -s remove` would remove."""
    return parse_apt_removals(text)


class FilterModule(object):
    def filters(self):
        return {"engine_version_plan": engine_version_plan, "engine_apt_needs": engine_apt_needs,
                "engine_apt_removals": engine_apt_removals}
