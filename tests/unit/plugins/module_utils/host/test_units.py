"""Sizes and CPU amounts."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.host.units import (
    UnitError,
    format_size,
    parse_cpus,
    parse_size,
)


@pytest.mark.parametrize("text, expected", [
    ("64m", 64 << 20), ("64M", 64 << 20), ("64mb", 64 << 20), ("64MiB", 64 << 20), ("1.5g", 3 << 29),
    ("1024", 1024), (1024, 1024), ("0", 0), ("10b", 10), ("2k", 2048), (" 3 G ", 3 << 30), ("1t", 1 << 40),
])
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["12xb", "", "m", "-5", "1,5g", "ten", True, "1.2.3m", "-1"])
def test_bad_sizes(text):
    with pytest.raises(UnitError):
        parse_size(text)


def test_unlimited():
    assert parse_size("-1", allow_unlimited=True) == -1
    assert parse_size(-1, allow_unlimited=True) == -1
    with pytest.raises(UnitError):
        parse_size(-2, allow_unlimited=True)


@pytest.mark.parametrize("number, text", [(64 << 20, "64m"), (1536, "1536"), (1 << 30, "1g"), (1000, "1000")])
def test_format_size(number, text):
    assert format_size(number) == text
    assert parse_size(format_size(number)) == number


@pytest.mark.parametrize("value, nano", [(0.5, 500000000), ("2", 2000000000), (1, 10 ** 9), ("0.25", 250000000)])
def test_cpus(value, nano):
    assert parse_cpus(value) == nano


@pytest.mark.parametrize("value", [-1, 0, "x", "nan", "inf", None, True, 1e-12])
def test_bad_cpus(value):
    with pytest.raises(UnitError):
        parse_cpus(value)


@pytest.mark.parametrize("text", ["64m\n1", "64m\nx", "1\n2g", "64m;", "64 m b"])
def test_a_size_is_read_whole(text):
    with pytest.raises(UnitError):
        parse_size(text)
