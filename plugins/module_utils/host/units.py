# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes and CPU amounts as people write them, turned into the numbers the engine and systemd take.

``64m`` is 67108864 bytes (binary units, as docker's CLI reads them), ``1.5g``
and ``512MiB`` work too; ``cpus: 0.5`` is 500000000 NanoCpus. Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([bkmgtp]?)(?:i?b)?\s*", re.IGNORECASE)  # with fullmatch
_SIZE_FACTORS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
NANO = 10 ** 9


class UnitError(ValueError):
    """A size or amount that cannot be read; the message says what a valid one looks like."""


def parse_size(value, allow_unlimited=False):
    """Bytes from ``64m``, ``1.5G``, ``512MiB``, ``1024`` or an int; ``-1`` only with ``allow_unlimited``."""
    if isinstance(value, bool):
        raise UnitError("%r is not a size" % (value,))
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if allow_unlimited and text in ("-1", "unlimited", "infinity"):
            return -1
        match = _SIZE.fullmatch(text)
        if not match:
            raise UnitError("%r is not a size; write a number with an optional unit b, k, m, g, t or p "
                            "(binary: 1k = 1024), for example 64m or 1.5g" % (value,))
        number = int(float(match.group(1)) * _SIZE_FACTORS[match.group(2).lower()])
    if number == -1 and allow_unlimited:
        return -1
    if number < 0:
        raise UnitError("%r is negative; a size is 0 or more" % (value,))
    return number


def format_size(number):
    """The shortest exact human form of a byte count: 67108864 -> ``64m``."""
    if number is None or number <= 0:
        return str(number)
    for unit in ("p", "t", "g", "m", "k"):
        factor = _SIZE_FACTORS[unit]
        if number % factor == 0:
            return "%d%s" % (number // factor, unit)
    return str(number)


def parse_cpus(value):
    """NanoCpus from a CPU amount such as ``0.5`` or ``"2"``; must be more than 0."""
    if isinstance(value, bool):
        raise UnitError("%r is not a number of CPUs" % (value,))
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise UnitError("%r is not a number of CPUs; write a positive number such as 0.5 or 2" % (value,)) from None
    if not 0 < amount < float("inf"):  # also refuses NaN
        raise UnitError("%r CPUs: the amount must be more than 0, for example 0.5 or 2" % (value,))
    nano = int(round(amount * NANO))
    if nano < 1:
        raise UnitError("%r CPUs is too small; the smallest amount is 0.000000001" % (value,))
    return nano
