"""The engine_version filters: picking the pinned version from apt and dnf listings."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockhand.runtime.plugins.filter.engine_packages import FilterModule as Packages
from ansible_collections.dockhand.runtime.plugins.filter.engine_version import (
    FilterModule,
    engine_off_version,
    engine_package_specs,
    engine_version,
)

MADISON = (" docker.io | 20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1 | http://dockhand-lab-apt:5006/docker-ce/linux/debian"
           " bookworm/stable amd64 Packages\n"
           " docker.io | 20.10.24+dfsg1-1+deb12u1+b6 | http://deb.debian.org/debian bookworm/main amd64 Packages\n")


def test_picks_the_newest_named_version():
    assert engine_version(MADISON, "20.10.24", "apt", "docker.io") == "20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"
    assert engine_version(MADISON, "20.10.24+dfsg1-1+deb12u1+b6", "apt", "docker.io") == "20.10.24+dfsg1-1+deb12u1+b6"


def test_missing_version_lists_what_the_source_has():
    with pytest.raises(AnsibleFilterError) as info:
        engine_version(MADISON, "99.1", "apt", "docker.io")
    assert "engine_version 99.1: the package source has no docker.io 99.1" in str(info.value)
    assert "20.10.24+dfsg1-1+deb12u1+b6" in str(info.value)
    with pytest.raises(AnsibleFilterError, match="it has no docker-ce at all"):
        engine_version("", "27.3.1", "dnf", "docker-ce")


def test_specs_and_off_version():
    specs = engine_package_specs(["docker.io", "containerd"], "apt", {"docker.io": MADISON}, "20.10.24")
    assert specs == ["docker.io=20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1", "containerd"]
    assert engine_package_specs(["docker.io"], "apt", {}, "") == ["docker.io"]
    installed = {"docker-ce": "5:27.3.1-1~debian.12~bookworm", "docker-ce-cli": "5:27.3.1-1~debian.12~bookworm"}
    assert engine_off_version(["docker-ce", "docker-ce-cli", "docker.io"], installed, "27.3") == []
    assert engine_off_version(["docker-ce", "docker.io"], installed, "27.4") == ["docker-ce"]
    assert set(FilterModule().filters()) == {"engine_version", "engine_off_version", "engine_package_specs"}


LAB = "http://dockhand-lab-apt:5006/docker-ce/linux/debian"


def test_a_version_only_another_source_has_is_not_taken():
    assert engine_version(MADISON, "20.10.24", "apt", "docker.io", LAB) == "20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"
    with pytest.raises(AnsibleFilterError, match="has no docker.io 20.10.24[+]dfsg1-1[+]deb12u1[+]b6 "):
        engine_version(MADISON, "20.10.24+dfsg1-1+deb12u1+b6", "apt", "docker.io", LAB)
    # installed ...+dockhandlab1 is not "20.10.24+dfsg1-1+deb12u1+b6": it must move (issue: a full pin was a prefix)
    installed = {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"}
    assert engine_off_version(["docker.io"], installed, "20.10.24+dfsg1-1+deb12u1+b6") == ["docker.io"]
    assert engine_off_version(["docker.io"], installed, "20.10.24") == []


def test_the_plan_filter_reports_instead_of_failing():
    filters = Packages().filters()
    assert set(filters) == {"engine_version_plan", "engine_apt_needs", "engine_apt_removals"}
    plan = filters["engine_version_plan"](["docker.io"], "apt", {"docker.io": MADISON}, "99.1", LAB, {})
    assert plan["missing"] == ["%s has no docker.io 99.1 (it has 20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1)" % LAB]
    plan = filters["engine_version_plan"](["docker.io"], "apt", {"docker.io": MADISON}, "20.10.24", "", {})
    assert plan["specs"] == ["docker.io=20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"]
    assert filters["engine_apt_needs"]("docker.io\n  Depends: runc\nrunc\n") == ["docker.io", "runc"]
    assert filters["engine_apt_removals"]("Remv runc [1.1]\nRemv docker.io [20]\n") == ["runc", "docker.io"]
