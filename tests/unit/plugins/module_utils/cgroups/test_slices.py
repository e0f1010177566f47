"""slices.py and the cgroup v2 file mapping, against a v2 /sys/fs/cgroup tree laid out in tmp_path.

The lab's hosts (and this machine) run the hybrid hierarchy, so the v2 paths never run there. The tree
below follows the kernel's cgroup-v2 documentation (Documentation/admin-guide/cgroup-v2.rst): the root
lists its controllers in cgroup.controllers and enables them for its children in cgroup.subtree_control
("+cpu +memory" adds, "-io" removes); a child has memory.max and memory.high ("max" when unlimited, else
bytes), cpu.max ("$MAX $PERIOD", "max 100000" by default), cpu.weight (1..10000, default 100) and pids.max
("max" or a number). It is a tree of plain files, so what the kernel would do on a write (reject a value,
add a controller to subtree_control) is not modelled: these tests prove which files the code reads and
writes and with what, not the kernel's answer.
"""

import types

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups import slices
from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    CgroupError,
    cgroup_dirs,
    effective_memory_limit,
    host_cgroup,
    merge_limits,
    normalize_limits,
    parse_mounts,
    parse_pid_cgroup,
    slice_of,
    slice_unit_text,
    unit_limits,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.slices import (
    CgroupfsGroup,
    SliceError,
    SystemdSlice,
    describe_mismatches,
)

ROOT_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc\n"
# A child cgroup's interface files as the kernel creates them, with their defaults.
CHILD_DEFAULTS = {
    "cgroup.procs": "", "cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "\n",
    "memory.max": "max\n", "memory.high": "max\n", "memory.current": "0\n",
    "cpu.max": "max 100000\n", "cpu.weight": "100\n", "pids.max": "max\n", "pids.current": "0\n",
}


def v2_tree(tmp_path, children=()):
    """A unified hierarchy at tmp_path/cgroup with the given child cgroups, and its /proc/self/mounts."""
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text(ROOT_CONTROLLERS)
    (root / "cgroup.subtree_control").write_text("\n")
    (root / "cgroup.procs").write_text("1\n")
    for child in children:
        directory = root / child.strip("/")
        directory.mkdir(parents=True)
        for name, value in CHILD_DEFAULTS.items():
            (directory / name).write_text(value)
    mounts = tmp_path / "mounts"
    mounts.write_text("sysfs /sys sysfs rw 0 0\ncgroup2 %s cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"
                      % root)
    return root, mounts


def module(check_mode=False, diff=False):
    """The two flags of AnsibleModule that slices.py reads (nothing of the host is stood in for)."""
    return types.SimpleNamespace(check_mode=check_mode, _diff=diff)


def kernel_shows_subtree_control(directory):
    """What the kernel shows after "+cpu +memory" was written to cgroup.subtree_control: "cpu memory"."""
    path = directory / "cgroup.subtree_control"
    path.write_text(" ".join(token.lstrip("+") for token in path.read_text().split()) + "\n")


@pytest.fixture
def v2_host(tmp_path, monkeypatch):
    """slices.py's view of the host: the v2 tree in tmp_path instead of /proc/self/mounts' /sys/fs/cgroup."""
    root, mounts = v2_tree(tmp_path)
    table = parse_mounts(mounts.read_text())
    monkeypatch.setattr(slices, "cgroup_dirs", lambda path: cgroup_dirs(path, table, root=str(root)))
    hierarchy = host_cgroup(str(mounts), root=str(root))
    return root, hierarchy


# --------------------------------------------------------------------------
# The hierarchy and the files of a v2 host
# --------------------------------------------------------------------------

def test_a_v2_host_is_read_from_its_mount_and_root_controllers(tmp_path):
    root, mounts = v2_tree(tmp_path)
    found = host_cgroup(str(mounts), root=str(root))
    assert found == {"version": "v2", "mountpoint": str(root), "unified_mount": str(root),
                     "controllers": ["cpu", "cpuset", "hugetlb", "io", "memory", "misc", "pids", "rdma"],
                     "unified_controllers": ["cpu", "cpuset", "hugetlb", "io", "memory", "misc", "pids", "rdma"]}


def test_on_v2_every_limit_file_of_a_cgroup_is_in_its_one_directory(tmp_path):
    root, mounts = v2_tree(tmp_path)
    table = parse_mounts(mounts.read_text())
    assert cgroup_dirs("/containers.slice", table, root=str(root)) == {"": str(root) + "/containers.slice"}


def test_a_process_on_v2_has_one_line_and_sits_in_the_innermost_slice():
    paths = parse_pid_cgroup("0::/containers.slice/docker-4c01db0b339c.scope\n")
    assert paths == {"": "/containers.slice/docker-4c01db0b339c.scope"}
    assert slice_of(paths[""]) == "containers.slice"


def test_the_effective_v2_memory_limit_is_the_smallest_memory_max_up_to_the_root(tmp_path):
    root, _mounts = v2_tree(tmp_path, ["containers.slice/docker-1.scope"])
    scope = root / "containers.slice" / "docker-1.scope"
    assert effective_memory_limit(str(scope), "v2", str(root)) is None  # "max" all the way up
    (root / "containers.slice" / "memory.max").write_text("536870912\n")
    assert effective_memory_limit(str(scope), "v2", str(root)) == 536870912
    (scope / "memory.max").write_text("268435456\n")
    assert effective_memory_limit(str(scope), "v2", str(root)) == 268435456


# --------------------------------------------------------------------------
# The cgroupfs manager on a v2 host: enables the controllers, makes the directory, writes the files
# --------------------------------------------------------------------------

LIMITS = normalize_limits({"memory_max": "512m", "memory_high": "400m", "cpu_quota": "150%", "cpu_weight": 200,
                           "tasks_max": 2048})


def test_cgroupfs_on_v2_enables_the_controllers_and_writes_every_limit(v2_host):
    root, hierarchy = v2_host
    result = CgroupfsGroup(module(), "/containers", LIMITS, hierarchy).run()
    group = root / "containers"
    assert result["changed"] is True and result["created"] is True and result["unsupported"] == []
    assert result["actions"][:2] == ["write +cpu +memory +pids to %s/cgroup.subtree_control" % root,
                                     "mkdir %s" % group]
    assert (root / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    wanted = {"memory.max": "536870912", "memory.high": "419430400", "cpu.max": "150000 100000",
              "cpu.weight": "200", "pids.max": "2048"}
    assert {name: (group / name).read_text() for name in wanted} == wanted
    assert result["files"] == {str(group / name): value for name, value in wanted.items()}


def test_cgroupfs_on_v2_enables_the_controllers_down_a_nested_path(v2_host):
    root, hierarchy = v2_host
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")  # the root already delegates them
    (root / "outer").mkdir()
    (root / "outer" / "cgroup.subtree_control").write_text("memory\n")
    result = CgroupfsGroup(module(), "/outer/containers", {"cpu_weight": 50}, hierarchy).run()
    assert result["actions"][0] == "write +cpu +pids to %s/outer/cgroup.subtree_control" % root
    assert (root / "outer" / "containers" / "cpu.weight").read_text() == "50"


def test_cgroupfs_keeps_the_limits_not_named_unless_exclusive(v2_host):
    root, hierarchy = v2_host
    CgroupfsGroup(module(), "/containers", LIMITS, hierarchy).run()
    kernel_shows_subtree_control(root)
    kept = CgroupfsGroup(module(), "/containers", {"cpu_weight": 300}, hierarchy).run()
    group = root / "containers"
    assert kept["actions"] == ["write 300 to %s/cpu.weight" % group]
    assert kept["kept_limits"] == ["memory_max", "memory_high", "cpu_quota", "tasks_max"]
    assert (group / "memory.max").read_text() == "536870912" and (group / "pids.max").read_text() == "2048"
    exclusive = CgroupfsGroup(module(), "/containers", {"cpu_weight": 300}, hierarchy, exclusive=True).run()
    assert exclusive["removed_limits"] == ["memory_max", "memory_high", "cpu_quota", "tasks_max"]
    assert [(group / name).read_text() for name in ("memory.max", "memory.high", "cpu.max", "pids.max")] == \
        ["max", "max", "max 100000", "max"]


def test_cgroupfs_check_mode_and_diff_touch_nothing(v2_host):
    root, hierarchy = v2_host
    result = CgroupfsGroup(module(check_mode=True, diff=True), "/containers", normalize_limits({"memory_max": "1g"}),
                           hierarchy).run()
    assert result["changed"] is True and result["actions"][-1] == "write 1073741824 to %s/containers/memory.max" % root
    assert result["diff"]["after"] == "%s/containers/memory.max = 1073741824\n" % root
    assert not (root / "containers").exists()
    assert (root / "cgroup.subtree_control").read_text() == "\n"


def test_cgroupfs_a_second_run_finds_every_file_as_wanted(v2_host):
    root, hierarchy = v2_host
    CgroupfsGroup(module(), "/containers", LIMITS, hierarchy).run()
    kernel_shows_subtree_control(root)
    again = CgroupfsGroup(module(), "/containers", LIMITS, hierarchy).run()
    assert again["changed"] is False and again["actions"] == []


def test_cgroupfs_rolls_back_what_it_wrote_when_a_limit_does_not_take(v2_host, monkeypatch):
    """A write the kernel would refuse: the file keeps its old value. The run restores what it changed."""
    root, hierarchy = v2_host
    CgroupfsGroup(module(), "/containers", {"memory_max": 1 << 30, "tasks_max": 100}, hierarchy).run()
    kernel_shows_subtree_control(root)
    real_write = slices._write_text

    def kernel_keeps_pids(path, value):
        if not path.endswith("pids.max"):
            real_write(path, value)

    monkeypatch.setattr(slices, "_write_text", kernel_keeps_pids)
    with pytest.raises(SliceError) as exc:
        CgroupfsGroup(module(), "/containers", {"memory_max": 1 << 29, "tasks_max": 50}, hierarchy).run()
    assert "tasks_max: %s/containers/pids.max shows 100 instead of 50" % root in str(exc.value)
    assert "The previous limits were restored" in str(exc.value)
    assert (root / "containers" / "memory.max").read_text() == str(1 << 30)


def test_cgroupfs_removes_its_directory(v2_host):
    root, hierarchy = v2_host
    CgroupfsGroup(module(), "/containers", {}, hierarchy).run()
    for name in list((root / "containers").iterdir()):  # a real cgroup's files go with rmdir; these do not
        name.unlink()
    result = CgroupfsGroup(module(), "/containers", {}, hierarchy).run(state="absent")
    assert result["actions"] == ["rmdir %s/containers" % root] and not (root / "containers").exists()


# --------------------------------------------------------------------------
# The systemd manager's unit file: which limits it keeps (issue 16 #7)
# --------------------------------------------------------------------------

def test_unit_limits_reads_back_what_the_unit_text_writes():
    limits = normalize_limits({"memory_max": "512m", "cpu_quota": "infinity", "cpu_weight": 200, "tasks_max": 10})
    assert unit_limits(slice_unit_text("containers.slice", limits)) == (limits, {})
    assert unit_limits(None) == ({}, {})


def test_unit_limits_reads_the_slice_section_only_and_the_last_assignment():
    text = ("[Unit]\nDescription=x\nMemoryMax=1\n[Slice]\nMemoryMax=1G\n# MemoryMax=2G\nMemoryMax=512M\n"
            "TasksMax=50%\nCPUWeight=\n")
    assert unit_limits(text) == ({"memory_max": 512 << 20}, {"tasks_max": "TasksMax=50%"})


def systemd_slice(limits, exclusive=False):
    return SystemdSlice(module(), "containers.slice", normalize_limits(limits), exclusive=exclusive)


EARLIER = slice_unit_text("containers.slice", normalize_limits({"memory_max": "512m", "tasks_max": 2048}))


def test_a_run_that_names_some_limits_keeps_the_others():
    target = systemd_slice({"cpu_weight": 50})
    assert target._merge(EARLIER) == (["memory_max", "tasks_max"], [])
    assert target.limits == {"memory_max": 512 << 20, "cpu_weight": 50, "tasks_max": 2048}
    nothing_named = systemd_slice({})
    assert nothing_named._merge(EARLIER) == (["memory_max", "tasks_max"], [])
    assert nothing_named.limits == {"memory_max": 512 << 20, "tasks_max": 2048}


def test_exclusive_takes_out_the_limits_not_named():
    target = systemd_slice({"cpu_weight": 50}, exclusive=True)
    assert target._merge(EARLIER) == ([], ["memory_max", "tasks_max"])
    assert target.limits == {"cpu_weight": 50}


def test_infinity_lifts_one_limit_and_keeps_the_rest():
    target = systemd_slice({"memory_max": "infinity"})
    target._merge(EARLIER)
    assert target.limits == {"memory_max": "infinity", "tasks_max": 2048}


def test_a_kept_limit_that_cannot_be_read_back_is_refused_not_dropped():
    with pytest.raises(SliceError) as exc:
        systemd_slice({"cpu_weight": 50})._merge(EARLIER + "TasksMax=10%\n")
    assert "sets TasksMax=10%, which this module cannot keep as it is; name limits.tasks_max" in str(exc.value)
    target = systemd_slice({"tasks_max": 100})
    target._merge(EARLIER + "TasksMax=10%\n")  # named: replaced
    assert target.limits["tasks_max"] == 100


def test_a_kept_memory_max_still_bounds_a_new_memory_high():
    with pytest.raises(SliceError, match=r"memory_high: 1g is above memory_max \(512m\).*kept from the slice: "
                                         r"memory_max, tasks_max"):
        systemd_slice({"memory_high": "1g"})._merge(EARLIER)


def test_merge_limits_checks_the_whole():
    assert merge_limits({"memory_max": 1 << 30}, {"memory_high": 1 << 29}) == {"memory_max": 1 << 30,
                                                                               "memory_high": 1 << 29}
    with pytest.raises(CgroupError, match="kept from the slice: memory_max"):
        merge_limits({"memory_max": 1 << 29}, {"memory_high": 1 << 30})


# --------------------------------------------------------------------------
# Small parts
# --------------------------------------------------------------------------

def test_mismatches_are_described_by_limit_and_place():
    text = describe_mismatches([
        {"limit": "memory_max", "property": "MemoryMax", "wanted": 5, "shown": "infinity"},
        {"limit": "tasks_max", "file": "/x/pids.max", "wanted": "7", "found": None}])
    assert text == "memory_max: MemoryMax shows infinity instead of 5; tasks_max: /x/pids.max shows None instead of 7"


def test_a_refused_cgroup_write_names_the_file(tmp_path):
    with pytest.raises(SliceError, match="cannot write '1' to %s/missing/memory.max" % tmp_path):
        slices._write_text(str(tmp_path / "missing" / "memory.max"), "1")


def test_cgroupfs_without_limits_makes_the_group_and_writes_no_limit(v2_host):
    root, hierarchy = v2_host
    result = CgroupfsGroup(module(), "/containers", {}, hierarchy).run()
    assert result["created"] is True and (root / "containers").is_dir()
    assert not [a for a in result["actions"] if a.startswith("write") and "/containers/" in a]


@pytest.fixture
def v1_host(tmp_path, monkeypatch):
    """A hybrid host's v1 hierarchies (memory, cpu and cpuacct together, pids, blkio) under tmp_path."""
    root = tmp_path / "cgroup"
    lines = []
    for name, options in (("memory", "memory"), ("cpu,cpuacct", "cpu,cpuacct"), ("pids", "pids"),
                          ("blkio", "blkio")):
        (root / name).mkdir(parents=True)
        lines.append("cgroup %s/%s cgroup rw,nosuid,nodev,noexec,relatime,%s 0 0" % (root, name, options))
    (root / "unified").mkdir()
    lines.append("cgroup2 %s/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0" % root)
    table = parse_mounts("\n".join(lines) + "\n")
    monkeypatch.setattr(slices, "cgroup_dirs", lambda path: cgroup_dirs(path, table, root=str(root)))
    return root, {"version": "hybrid", "unified_mount": str(root / "unified")}


def test_cgroupfs_on_v1_writes_each_limit_in_its_controller(v1_host):
    root, hierarchy = v1_host
    result = CgroupfsGroup(module(), "/containers", LIMITS, hierarchy).run()
    assert result["unsupported"] == ["memory_high"]
    assert {path[len(str(root)):]: value for path, value in result["files"].items()} == {
        "/memory/containers/memory.limit_in_bytes": "536870912", "/cpu,cpuacct/containers/cpu.cfs_period_us": "100000",
        "/cpu,cpuacct/containers/cpu.cfs_quota_us": "150000", "/cpu,cpuacct/containers/cpu.shares": "2048",
        "/pids/containers/pids.max": "2048"}
    assert not (root / "blkio" / "containers").exists()  # no limit of the group lives there


def test_cgroupfs_absent_removes_the_group_in_every_hierarchy(v1_host):
    """dockerd makes its cgroup-parent in every hierarchy (blkio too): absent removes all of them."""
    root, hierarchy = v1_host
    CgroupfsGroup(module(), "/containers", {}, hierarchy).run()
    (root / "blkio" / "containers").mkdir()
    result = CgroupfsGroup(module(), "/containers", {}, hierarchy).run(state="absent")
    assert sorted(result["actions"]) == sorted("rmdir %s/%s/containers" % (root, name)
                                               for name in ("memory", "cpu,cpuacct", "pids", "blkio"))
    assert not list(root.glob("*/containers"))
