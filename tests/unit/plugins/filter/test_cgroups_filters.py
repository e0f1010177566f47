"""The cgroups role's filters fail on the controller with the variable's name."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.filter.daemon_ulimits import daemon_ulimits, ulimits_beyond
from ansible_collections.dockhand.runtime.plugins.filter.slice_limits import slice_limits


def test_slice_limits():
    assert slice_limits({"memory_max": "1g", "cpu_quota": "50%"}) == {"memory_max": 1 << 30, "cpu_quota": "50%"}
    with pytest.raises(AnsibleFilterError, match=r"^cgroups_slice_limits\.memory_max: 'x' is not a size"):
        slice_limits({"memory_max": "x"}, "cgroups_slice_limits")


def test_daemon_ulimits():
    assert daemon_ulimits({"nofile": 10}) == {"nofile": {"Name": "nofile", "Soft": 10, "Hard": 10}}
    with pytest.raises(AnsibleFilterError, match=r"^cgroups_default_ulimits\.nofile: the soft limit"):
        daemon_ulimits({"nofile": "10:5"}, "cgroups_default_ulimits")


def test_ulimits_beyond():
    process = {"pid": 9, "can_raise_limits": False, "ulimits": {"nofile": {"soft": 100, "hard": 200}}}
    wanted = daemon_ulimits({"nofile": "100:300"})
    problems = ulimits_beyond(wanted, process, "cgroups_default_ulimits")
    assert len(problems) == 1 and problems[0].startswith("cgroups_default_ulimits.nofile: the hard limit 300")
    assert ulimits_beyond(wanted, dict(process, can_raise_limits=True)) == []
