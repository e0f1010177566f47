"""A slice's limits and use from its cgroup files: v1 (the lab's hybrid hosts) and v2 texts as the kernel writes
them, and a v2 tree in tmp_path read through cgroup_use."""

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    HIERARCHY_HYBRID,
    HIERARCHY_V2,
    cgroup_use,
    parse_cgroup_use,
)

V2_MOUNTS = [{"source": "cgroup2", "mountpoint": "", "fstype": "cgroup2", "options": ["rw", "nsdelegate"]}]


def test_v1_files():
    files = {"memory_max": "536870912\n", "memory_current": "73400320\n", "cpu_quota": "150000\n",
             "cpu_period": "100000\n", "cpu_usage": "81234567000\n", "tasks_max": "512\n", "tasks_current": "14\n"}
    assert parse_cgroup_use(files, HIERARCHY_HYBRID) == {
        "memory_max": 536870912, "memory_current": 73400320, "cpu_quota_percent": 150.0,
        "cpu_usage_usec": 81234567, "tasks_max": 512, "tasks_current": 14}


def test_v1_unlimited():
    files = {"memory_max": "9223372036854771712", "memory_current": "4096", "cpu_quota": "-1",
             "cpu_period": "100000", "cpu_usage": "0", "tasks_max": "max", "tasks_current": "0"}
    use = parse_cgroup_use(files, HIERARCHY_HYBRID)
    assert (use["memory_max"], use["cpu_quota_percent"], use["tasks_max"]) == (None, None, None)
    assert (use["memory_current"], use["cpu_usage_usec"], use["tasks_current"]) == (4096, 0, 0)


def test_v2_files():
    files = {"memory_max": "max\n", "memory_current": "1048576\n", "cpu_quota": "50000 100000\n",
             "cpu_usage": "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n", "tasks_max": "64\n",
             "tasks_current": "3\n"}
    assert parse_cgroup_use(files, HIERARCHY_V2) == {
        "memory_max": None, "memory_current": 1048576, "cpu_quota_percent": 50.0, "cpu_usage_usec": 2500,
        "tasks_max": 64, "tasks_current": 3}
    assert parse_cgroup_use(dict(files, cpu_quota="max 100000"), HIERARCHY_V2)["cpu_quota_percent"] is None


def test_unreadable_files_are_none():
    assert set(parse_cgroup_use({}, HIERARCHY_V2).values()) == {None}
    assert set(parse_cgroup_use({"memory_current": "garbage"}, HIERARCHY_HYBRID).values()) == {None}


def test_a_v2_tree(tmp_path):
    mounts = [dict(V2_MOUNTS[0], mountpoint=str(tmp_path))]
    found = tmp_path / "containers.slice"
    found.mkdir()
    for name, text in {"memory.max": "268435456\n", "memory.current": "8192\n", "cpu.max": "200000 100000\n",
                       "cpu.stat": "usage_usec 77\n", "pids.max": "max\n", "pids.current": "2\n"}.items():
        (found / name).write_text(text)
    use = cgroup_use("/containers.slice", mounts=mounts, root=str(tmp_path))
    assert use == {"path": "/containers.slice", "exists": True, "memory_max": 268435456, "memory_current": 8192,
                   "cpu_quota_percent": 200.0, "cpu_usage_usec": 77, "tasks_max": None, "tasks_current": 2}
    missing = cgroup_use("/other.slice", mounts=mounts, root=str(tmp_path))
    assert missing["exists"] is False and missing["memory_current"] is None
