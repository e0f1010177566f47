"""The filters: table layout, mirror_url."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.filter.mirror_url import mirror_url
from ansible_collections.dockhand.runtime.plugins.filter.table import natural_sort, table


def test_aligned_columns_with_headers():
    rows = [{"host": "web1", "version": "20.10.24", "mirrors": ["a", "b"]},
            {"host": "database", "version": None, "mirrors": []}]
    assert table(rows, ["host", "version:engine", "mirrors"]) == [
        "host      engine    mirrors",
        "web1      20.10.24  a,b",
        "database  -         -",
    ]


def test_columns_default_to_first_row_and_bools_read_as_words():
    assert table([{"a": True, "b": 1}]) == ["a    b", "yes  1"]


def test_empty_and_bad_input():
    assert table([], ["x"]) == ["x"]
    with pytest.raises(AnsibleFilterError):
        table("not rows")


def test_mirror_url_of_both_forms():
    assert mirror_url("https://a.example") == "https://a.example"
    assert mirror_url({"url": "http://b:5000", "insecure": True}) == "http://b:5000"
    with pytest.raises(AnsibleFilterError):
        mirror_url({"insecure": True})


def test_natural_sort_reads_numbers_as_numbers():
    hosts = ["host10", "host9", "host1", "db2", "host10b", "host2"]
    assert natural_sort(hosts) == ["db2", "host1", "host2", "host9", "host10", "host10b"]
    with pytest.raises(AnsibleFilterError):
        natural_sort("host1")
