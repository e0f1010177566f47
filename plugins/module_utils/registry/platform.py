# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Platforms (``os[/arch[/variant]]``) as Docker names them, and whether an image is of one. Pure: no I/O."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The operating systems Go (and so Docker) knows; a platform of one word that is none of them is an architecture.
OPERATING_SYSTEMS = frozenset(("aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js", "linux",
                               "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"))
ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm",
                "i386": "386", "i686": "386"}
# The variant an image of the architecture has when its config names none.
DEFAULT_VARIANTS = {"arm64": "v8"}


def normalise_platform(value):
    """``os[/arch[/variant]]`` such as ``linux/amd64`` or ``linux/arm64/v8``, lower case, with Docker's names
    (``aarch64`` -> ``arm64``; an architecture alone is Linux's). Raises ValueError for anything else."""
    text = str(value).strip().lower()
    if isinstance(value, bool) or not re.fullmatch(r"[a-z0-9_]+(/[a-z0-9_-]+(/[a-z0-9_]+)?)?", text):
        raise ValueError("%r is not a platform os[/arch[/variant]], such as linux/amd64 or linux/arm64/v8" % (value,))
    parts = text.split("/")
    if len(parts) == 1 and parts[0] not in OPERATING_SYSTEMS:
        parts.insert(0, "linux")  # an architecture alone is Linux's, as Docker reads it (amd64: linux/amd64)
    if len(parts) > 1:
        parts[1] = architecture(parts[1])
    return "/".join(parts)


def architecture(name):
    """Docker's name of an architecture (``aarch64`` -> ``arm64``), lower case."""
    text = (name or "").lower()
    return ARCH_ALIASES.get(text, text)


def platform_matches(wanted, os_name, arch, variant=None):
    """Whether an image or container of ``os_name``/``arch``/``variant`` is of the normalised platform ``wanted``
    (only the parts ``wanted`` names are compared)."""
    parts = wanted.split("/")
    if parts[0] != (os_name or "linux").lower():
        return False
    if len(parts) == 1:
        return True
    have = architecture(arch)
    if parts[1] != have:
        return False
    if len(parts) == 3:
        return parts[2] == (variant or DEFAULT_VARIANTS.get(have, "")).lower()
    return True


def image_is_of(image, wanted):
    """Whether an image (its inspect) is of the platform ``wanted``; always true without one."""
    if not wanted or image is None:
        return True
    return platform_matches(wanted, image.get("Os"), image.get("Architecture"), image.get("Variant"))
