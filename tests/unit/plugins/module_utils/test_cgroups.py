"""Hierarchy detection from mount tables of the three layouts."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups import (
    detect_hierarchy,
    host_cgroup,
    parse_mounts,
    parse_proc_cgroups,
)

V2 = """sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0
"""

HYBRID = """tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,nodev,noexec,relatime,pids 0 0
"""

V1 = """tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
"""


@pytest.mark.parametrize("text, version, unified, controllers", [
    (V2, "v2", "/sys/fs/cgroup", []),
    (HYBRID, "hybrid", "/sys/fs/cgroup/unified", ["cpu", "cpuacct", "memory", "pids"]),
    (V1, "v1", None, ["cpu", "memory"]),
    ("proc /proc proc rw 0 0\n", "none", None, []),
])
def test_detect(text, version, unified, controllers):
    found = detect_hierarchy(parse_mounts(text))
    assert found == {"version": version, "unified_mount": unified, "v1_controllers": controllers}


def test_name_systemd_is_not_a_controller():
    assert "name=systemd" not in detect_hierarchy(parse_mounts(V1))["v1_controllers"]


def test_mountpoint_with_space():
    assert parse_mounts("x /mnt/a\\040b ext4 rw 0 0")[0]["mountpoint"] == "/mnt/a b"


def test_proc_cgroups_enabled_only():
    text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t3\t10\t1\nrdma\t0\t1\t0\nmemory\t5\t9\t1\n"
    assert parse_proc_cgroups(text) == ["cpu", "memory"]


def test_host_cgroup_reads_files(tmp_path):
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    mounts = tmp_path / "mounts"
    mounts.write_text("cgroup2 %s cgroup2 rw 0 0\n" % root)
    found = host_cgroup(str(mounts), root=str(root))
    assert found["version"] == "v2"
    assert found["controllers"] == ["cpu", "cpuset", "io", "memory", "pids"]


def test_host_cgroup_on_this_machine_is_consistent():
    found = host_cgroup()
    assert found["version"] in ("v1", "hybrid", "v2", "none")
    if found["version"] in ("v1", "hybrid"):
        assert "memory" in found["controllers"] or found["controllers"]
