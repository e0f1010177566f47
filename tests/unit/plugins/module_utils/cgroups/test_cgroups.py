"""Hierarchy detection from mount tables of the three layouts; slice limits, their files, /proc parsers."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    CgroupError,
    can_raise_limits,
    check_cgroup_path,
    check_description,
    check_slice_name,
    daemon_ulimits,
    detect_hierarchy,
    effective_capabilities,
    effective_memory_limit,
    file_value_matches,
    host_cgroup,
    limit_files,
    normalize_limits,
    parse_flat_keyed,
    parse_mounts,
    parse_pid_cgroup,
    parse_proc_cgroups,
    parse_proc_limits,
    parse_timespan_usec,
    quota_usec_per_sec,
    shown_mismatches,
    slice_cgroup_path,
    slice_of,
    slice_unit_text,
    ulimits_beyond,
    v1_mountpoints,
    weight_to_shares,
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


def test_host_cgroup_of_a_hybrid_host_reads_its_v1_controllers_and_the_unified_mount(tmp_path):
    """The layout of the lab's hosts and this machine: v1 controllers plus cgroup2 at .../unified, whose
    root has no controllers (they are all bound to v1)."""
    root = tmp_path / "cg"
    unified = root / "unified"
    unified.mkdir(parents=True)
    (unified / "cgroup.controllers").write_text("\n")
    mounts = tmp_path / "mounts"
    mounts.write_text(HYBRID.replace("/sys/fs/cgroup", str(root)))
    found = host_cgroup(str(mounts), root=str(root))
    assert found == {"version": "hybrid", "mountpoint": str(root), "unified_mount": str(unified),
                     "controllers": ["cpu", "cpuacct", "memory", "pids"], "unified_controllers": []}


def test_host_cgroup_without_any_cgroup_mount(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\n")
    assert host_cgroup(str(mounts), root=str(tmp_path)) == {
        "version": "none", "mountpoint": None, "unified_mount": None, "controllers": [], "unified_controllers": []}


# --------------------------------------------------------------------------
# Slices and limits
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["containers.slice", "a-b.slice", "k8s_pods.slice", "x:y.slice"])
def test_good_slice_names(name):
    assert check_slice_name(name) == name


@pytest.mark.parametrize("name, words", [
    ("containers", "end with .slice"), ("system.slice", "systemd's own"), ("-.slice", "systemd's own"),
    ("a--b.slice", "'-' separates"), ("-a.slice", "'-' separates"), ("a-.slice", "'-' separates"),
    ("a b.slice", "not a slice name"), ("", "give a slice name"), (None, "give a slice name"),
    ("../x.slice", "not a slice name"),
])
def test_bad_slice_names(name, words):
    with pytest.raises(CgroupError) as exc:
        check_slice_name(name, "cgroups_slice")
    assert str(exc.value).startswith("cgroups_slice: ") and words in str(exc.value)


def test_slice_cgroup_path_nests_on_dashes():
    assert slice_cgroup_path("containers.slice") == "/containers.slice"
    assert slice_cgroup_path("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice"


@pytest.mark.parametrize("path", ["containers", "/a/../b", "/a b", "/", "/a//b"])
def test_bad_cgroup_paths(path):
    with pytest.raises(CgroupError, match="^path: "):
        check_cgroup_path(path)


def test_cgroup_path_good():
    assert check_cgroup_path("/containers") == "/containers"
    assert check_cgroup_path("/a/b.c") == "/a/b.c"


def test_normalize_limits_canonical_forms():
    got = normalize_limits({"memory_max": "512m", "memory_high": "400M", "cpu_quota": "150 %", "cpu_weight": "200",
                            "tasks_max": 4096})
    assert got == {"memory_max": 512 << 20, "memory_high": 400 << 20, "cpu_quota": "150%", "cpu_weight": 200,
                   "tasks_max": 4096}
    assert list(got) == ["memory_max", "memory_high", "cpu_quota", "cpu_weight", "tasks_max"]


def test_normalize_limits_infinity_none_and_decimals():
    got = normalize_limits({"memory_max": "infinity", "tasks_max": "max", "cpu_quota": "12.50%", "cpu_weight": None})
    assert got == {"memory_max": "infinity", "tasks_max": "infinity", "cpu_quota": "12.5%"}
    assert normalize_limits(None) == {}
    assert normalize_limits({}) == {}


@pytest.mark.parametrize("limits, words", [
    ({"memory_max": "lots"}, "limits.memory_max: 'lots' is not a size"),
    ({"memory_max": "1k"}, "limits.memory_max: '1k' is too small"),
    ({"memory_max": True}, "limits.memory_max"),
    ({"memory_high": "2g", "memory_max": "1g"}, "limits.memory_high: 2g is above memory_max (1g)"),
    ({"cpu_quota": "1.5"}, "limits.cpu_quota: '1.5' is not a CPU quota"),
    ({"cpu_quota": 150}, "limits.cpu_quota: 150 is not a CPU quota"),
    ({"cpu_quota": "0%"}, "gives no CPU at all"),
    ({"cpu_quota": "1.234%"}, "not a CPU quota"),
    ({"cpu_weight": 0}, "limits.cpu_weight: 0 is not a CPU weight; write an integer from 1 to 10000"),
    ({"cpu_weight": 10001}, "limits.cpu_weight"),
    ({"cpu_weight": True}, "limits.cpu_weight"),
    ({"cpu_weight": "1.5"}, "limits.cpu_weight"),
    ({"tasks_max": 0}, "limits.tasks_max: 0 is not a number of tasks"),
    ({"tasks_max": -1}, "limits.tasks_max"),
    ({"memory_maxx": "1g"}, "limits.memory_maxx: unknown limit; the limits are memory_max"),
])
def test_bad_limits_name_the_option(limits, words):
    with pytest.raises(CgroupError) as exc:
        normalize_limits(limits)
    assert words in str(exc.value)


def test_every_bad_limit_is_reported_at_once():
    with pytest.raises(CgroupError) as exc:
        normalize_limits({"memory_max": "x", "cpu_weight": 0}, "cgroups_slice_limits")
    assert "cgroups_slice_limits.memory_max" in str(exc.value)
    assert "cgroups_slice_limits.cpu_weight" in str(exc.value)


def test_not_a_dict():
    with pytest.raises(CgroupError, match="must be a dict"):
        normalize_limits(["memory_max"])


def test_quota_and_shares():
    assert quota_usec_per_sec("150%") == 1500000
    assert quota_usec_per_sec("12.5%") == 125000
    assert quota_usec_per_sec("infinity") is None
    assert weight_to_shares(100) == 1024
    assert weight_to_shares(200) == 2048
    assert weight_to_shares(1) == 10
    assert weight_to_shares(10000) == 102400


def test_slice_unit_text():
    text = slice_unit_text("containers.slice", normalize_limits(
        {"memory_max": "512m", "cpu_quota": "150%", "cpu_weight": 200, "tasks_max": "infinity",
         "memory_high": "infinity"}))
    lines = text.splitlines()
    assert lines[0].startswith("# Managed by dockhand.runtime")
    assert "[Slice]" in lines and "Before=slices.target" in lines
    assert lines[-5:] == ["MemoryMax=536870912", "MemoryHigh=infinity", "CPUQuota=150%", "CPUWeight=200",
                          "TasksMax=infinity"]
    assert text.endswith("\n")
    assert "CPUQuota=\n" in slice_unit_text("a.slice", {"cpu_quota": "infinity"})


def test_slice_unit_text_without_limits_has_no_limit_lines():
    text = slice_unit_text("a.slice", {}, description="Mine")
    assert "Description=Mine" in text
    assert not any(key in text for key in ("MemoryMax", "CPUQuota", "TasksMax", "CPUWeight"))


@pytest.mark.parametrize("text, usec", [
    ("1.500000s", 1500000), ("125ms", 125000), ("500ms", 500000), ("2s", 2000000), ("1min 30s", 90000000),
    ("infinity", None), ("", None), ("250us", 250),
])
def test_timespan(text, usec):
    assert parse_timespan_usec(text) == usec


def test_shown_mismatches():
    limits = normalize_limits({"memory_max": "512m", "cpu_quota": "150%", "cpu_weight": 200, "tasks_max": 100})
    shown = {"MemoryMax": "536870912", "CPUQuotaPerSecUSec": "1.500000s", "CPUWeight": "200", "TasksMax": "100"}
    assert shown_mismatches(limits, shown) == []
    shown["MemoryMax"] = "infinity"
    shown["CPUWeight"] = "[not set]"
    problems = shown_mismatches(limits, shown)
    assert [p["limit"] for p in problems] == ["memory_max", "cpu_weight"]
    assert problems[0] == {"limit": "memory_max", "property": "MemoryMax", "wanted": 536870912, "shown": "infinity"}
    assert shown_mismatches({"memory_max": "infinity", "cpu_quota": "infinity"},
                            {"MemoryMax": "infinity", "CPUQuotaPerSecUSec": "infinity"}) == []


def test_limit_files_v1():
    limits = normalize_limits({"memory_max": "512m", "memory_high": "400m", "cpu_quota": "150%", "cpu_weight": 200,
                               "tasks_max": 100})
    rows, unsupported = limit_files(limits, "hybrid")
    assert unsupported == ["memory_high"]
    assert [(r["limit"], r["controller"], r["file"], r["value"]) for r in rows] == [
        ("memory_max", "memory", "memory.limit_in_bytes", "536870912"),
        ("cpu_quota", "cpu", "cpu.cfs_period_us", "100000"),
        ("cpu_quota", "cpu", "cpu.cfs_quota_us", "150000"),
        ("cpu_weight", "cpu", "cpu.shares", "2048"),
        ("tasks_max", "pids", "pids.max", "100"),
    ]


def test_limit_files_v2():
    limits = normalize_limits({"memory_max": "512m", "memory_high": "400m", "cpu_quota": "50%", "cpu_weight": 200,
                               "tasks_max": "infinity"})
    rows, unsupported = limit_files(limits, "v2")
    assert unsupported == []
    assert [(r["file"], r["value"]) for r in rows] == [
        ("memory.max", "536870912"), ("memory.high", "419430400"), ("cpu.max", "50000 100000"),
        ("cpu.weight", "200"), ("pids.max", "max")]


def test_limit_files_unlimited():
    rows, _unsupported = limit_files({"memory_max": "infinity", "cpu_quota": "infinity"}, "v1")
    assert [(r["file"], r["value"]) for r in rows] == [
        ("memory.limit_in_bytes", "-1"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "-1")]
    rows, _unsupported = limit_files({"memory_max": "infinity", "cpu_quota": "infinity"}, "v2")
    assert [(r["file"], r["value"]) for r in rows] == [("memory.max", "max"), ("cpu.max", "max 100000")]


@pytest.mark.parametrize("filename, wanted, actual, ok", [
    ("memory.limit_in_bytes", "536870912", "536870912\n", True),
    ("memory.limit_in_bytes", "-1", "9223372036854771712", True),
    ("memory.limit_in_bytes", "1025024", "1024000", True),  # rounded down to pages
    ("memory.limit_in_bytes", "536870912", "9223372036854771712", False),
    ("memory.max", "max", "max", True),
    ("memory.max", "536870912", "max", False),
    ("cpu.max", "50000 100000", "50000 100000\n", True),
    ("cpu.max", "50000 100000", "max 100000", False),
    ("pids.max", "100", "max", False),
    ("cpu.shares", "2048", "2048", True),
])
def test_file_value_matches(filename, wanted, actual, ok):
    assert file_value_matches(filename, wanted, actual) is ok


def test_pid_cgroup_v1_and_v2():
    text = ("12:cpu,cpuacct:/containers.slice/docker-ab.scope\n4:memory:/containers.slice/docker-ab.scope\n"
            "1:name=systemd:/containers.slice/docker-ab.scope\n0::/containers.slice/docker-ab.scope\n")
    paths = parse_pid_cgroup(text)
    assert paths["cpu"] == paths["cpuacct"] == paths["memory"] == "/containers.slice/docker-ab.scope"
    assert paths[""] == "/containers.slice/docker-ab.scope"
    assert slice_of(paths["memory"]) == "containers.slice"
    assert slice_of("/a.slice/a-b.slice/docker-1.scope") == "a-b.slice"
    assert slice_of("/containers/abc") is None
    assert slice_of(None) is None


def test_proc_limits():
    text = ("Limit                     Soft Limit           Hard Limit           Units     \n"
            "Max open files            4096                 8192                 files     \n"
            "Max processes             unlimited            unlimited            processes \n"
            "Max core file size        0                    unlimited            bytes     \n")
    assert parse_proc_limits(text) == {"nofile": {"soft": 4096, "hard": 8192}, "nproc": {"soft": -1, "hard": -1},
                                       "core": {"soft": 0, "hard": -1}}


def test_memory_stat_and_effective_limit_v1(tmp_path):
    (tmp_path / "memory.stat").write_text("cache 0\nhierarchical_memory_limit 536870912\ntotal_rss 1\n")
    assert parse_flat_keyed((tmp_path / "memory.stat").read_text())["hierarchical_memory_limit"] == 536870912
    assert effective_memory_limit(str(tmp_path), "hybrid") == 536870912
    (tmp_path / "memory.stat").write_text("hierarchical_memory_limit 9223372036854771712\n")
    assert effective_memory_limit(str(tmp_path), "v1") is None


def test_effective_limit_v2_is_the_smallest_ancestor(tmp_path):
    root = tmp_path / "cg"
    leaf = root / "containers.slice" / "docker-1.scope"
    leaf.mkdir(parents=True)
    (root / "containers.slice" / "memory.max").write_text("536870912\n")
    (leaf / "memory.max").write_text("max\n")
    assert effective_memory_limit(str(leaf), "v2", str(root)) == 536870912
    (leaf / "memory.max").write_text("1048576\n")
    assert effective_memory_limit(str(leaf), "v2", str(root)) == 1048576


def test_v1_mountpoints():
    found = v1_mountpoints(parse_mounts(HYBRID))
    assert found["cpu"] == found["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert found["memory"] == "/sys/fs/cgroup/memory"
    assert "name=systemd" not in found


@pytest.mark.parametrize("given, expected", [
    ({"nofile": {"soft": 1024, "hard": 65536}}, {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 65536}}),
    ({"nofile": 65536}, {"nofile": {"Name": "nofile", "Soft": 65536, "Hard": 65536}}),
    ({"nofile": "1024:2048"}, {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}),
    ({"core": "unlimited"}, {"core": {"Name": "core", "Soft": -1, "Hard": -1}}),
    ({"nproc": {"soft": 100}}, {"nproc": {"Name": "nproc", "Soft": 100, "Hard": 100}}),
    ({"memlock": {"soft": 10, "hard": "unlimited"}}, {"memlock": {"Name": "memlock", "Soft": 10, "Hard": -1}}),
    (None, {}),
])
def test_daemon_ulimits(given, expected):
    assert daemon_ulimits(given) == expected


@pytest.mark.parametrize("given, words", [
    ({"nofiles": 1}, "default_ulimits.nofiles: unknown ulimit"),
    ({"nofile": {"soft": 10, "hard": 5}}, "default_ulimits.nofile: the soft limit (10) is above the hard limit (5)"),
    ({"nofile": {"soft": "unlimited", "hard": 5}}, "the soft limit (unlimited) is above"),
    ({"nofile": "many"}, "default_ulimits.nofile: 'many' is not a limit"),
    ({"nofile": {"hard": 5}}, "write {soft: N, hard: N}"),
    ({"nofile": True}, "default_ulimits.nofile"),
    ({"nofile": -5}, "negative"),
    ([1], "must be a dict"),
])
def test_bad_ulimits(given, words):
    with pytest.raises(CgroupError) as exc:
        daemon_ulimits(given)
    assert words in str(exc.value)


# /proc/<pid>/status of a process in a lab host (CAP_SYS_RESOURCE dropped) and of a root process on a machine.
STATUS_WITHOUT_SYS_RESOURCE = "Name:\tdockerd\nCapInh:\t0000000000000000\nCapEff:\t0000003ffeffffff\n"
STATUS_WITH_SYS_RESOURCE = "Name:\tdockerd\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n"


def test_capabilities_from_proc_status():
    assert effective_capabilities(STATUS_WITHOUT_SYS_RESOURCE) == 0x3ffeffffff
    assert can_raise_limits(STATUS_WITHOUT_SYS_RESOURCE) is False
    assert can_raise_limits(STATUS_WITH_SYS_RESOURCE) is True
    assert can_raise_limits("Name:\tx\n") is False and effective_capabilities("CapEff:\tzz\n") is None


DOCKERD_IN_A_CONTAINER = {"pid": 554, "can_raise_limits": False,
                          "ulimits": {"nofile": {"soft": 20000, "hard": 20000}, "nproc": {"soft": -1, "hard": -1}}}


def test_ulimits_beyond_a_dockerd_that_cannot_raise_them():
    wanted = daemon_ulimits({"nofile": {"soft": 1024, "hard": 65536}, "nproc": 100000})
    problems = ulimits_beyond(wanted, DOCKERD_IN_A_CONTAINER, "cgroups_default_ulimits")
    assert len(problems) == 1  # nproc: dockerd's own is unlimited
    assert problems[0].startswith("cgroups_default_ulimits.nofile: the hard limit 65536 is above dockerd's own "
                                  "(20000, /proc/554/limits)")
    assert "Write a hard limit of at most 20000" in problems[0]
    assert ulimits_beyond(daemon_ulimits({"nofile": "1024:20000"}), DOCKERD_IN_A_CONTAINER) == []
    unlimited = ulimits_beyond(daemon_ulimits({"nofile": "unlimited"}), DOCKERD_IN_A_CONTAINER)
    assert "the hard limit unlimited is above" in unlimited[0]


def test_ulimits_beyond_is_empty_where_dockerd_may_raise_them():
    process = dict(DOCKERD_IN_A_CONTAINER, can_raise_limits=True)
    assert ulimits_beyond(daemon_ulimits({"nofile": 65536}), process) == []
    assert ulimits_beyond(daemon_ulimits({"core": 0}), DOCKERD_IN_A_CONTAINER) == []  # no row: nothing to say


# --------------------------------------------------------------------------
# Nothing written into a unit file can add a line (issue 9, line injection)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["containers.slice\n", "a\nb.slice", "x\\x2d.slice", "c.slice\r", "c.slice\x00"])
def test_slice_names_with_a_newline_or_escape_are_refused(name):
    with pytest.raises(CgroupError, match="not a slice name"):
        check_slice_name(name, "name")


@pytest.mark.parametrize("path", ["/containers\n", "/a\n/b", "/a\tb"])
def test_cgroup_paths_with_a_newline_are_refused(path):
    with pytest.raises(CgroupError, match="^path: .* is not a cgroup path"):
        check_cgroup_path(path)


@pytest.mark.parametrize("text", [
    "Limits\nMemoryMax=infinity", "Limits\r\nExecStartPre=/bin/sh", "Limits\n", "tab\there", "bell\x07",
    "line\u2028separator", "C1\x85", "ends in a continuation \\", "escape \\x41", "specifier %n", "", "x" * 257,
])
def test_descriptions_that_could_add_a_line_or_be_expanded_are_refused(text):
    with pytest.raises(CgroupError, match="^description: .* cannot be a unit's description"):
        check_description(text)
    with pytest.raises(CgroupError):
        slice_unit_text("containers.slice", {}, text)


def test_descriptions_on_one_plain_line_are_kept_as_they_are():
    for text in ("All containers", "Conteneurs : limites de l'hôte (prod-1)", "x" * 256):
        assert check_description(text) == text
        assert "\nDescription=%s\n" % text in slice_unit_text("containers.slice", {}, text)
    assert check_description(None) is None


def test_the_unit_text_refuses_a_name_that_was_not_checked():
    with pytest.raises(CgroupError):
        slice_unit_text("containers.slice\nMemoryMax=infinity", {})
