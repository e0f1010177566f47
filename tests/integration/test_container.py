"""The container module through ansible-playbook against this machine's dockerd and the lab's hub.

Every name this file creates starts with dh-ct- and is removed afterwards.
"""

import json
import os
import re
import socket
import subprocess

import pytest
from conftest import assert_no_traceback, local_play
from fault_daemon import VanishingProxy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_index import push_index

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    OPTIONS_BY_NAME,
    OptionError,
    parse_options,
)

pytestmark = pytest.mark.engine

BUSYBOX = "127.0.0.1:5000/library/busybox:latest"
HELLO = "127.0.0.1:5000/library/hello:latest"
ENV_IMAGE = "127.0.0.1:5000/dh-ct-env-image:1"  # busybox with one more variable, built by the comparisons test
PREFIX = "dh-ct-"
NETWORKS = [PREFIX + "net1", PREFIX + "net2"]
BOUND_NETWORK = PREFIX + "bound"  # a bridge whose ports bind 127.0.0.1 (host_binding_ipv4)
VOLUME = PREFIX + "vol"
# SIGKILL stops the sleeping PID 1 at once (sleep ignores SIGTERM as PID 1), so recreates are quick.
BASE = {"image": BUSYBOX, "command": ["sleep", "3600"], "stop_signal": "SIGKILL"}
# A running container other cases share namespaces, volumes and links with (setup_tasks makes it).
HELPER = PREFIX + "helper"
# env files on this machine (the target of the local connection), written by setup_tasks
ENV_FILES = ["/tmp/%senv-%d" % (PREFIX, index) for index in (1, 2)]


def block_device():
    """A block device of this machine for the IO limits (the first disk in /sys/block)."""
    for name in sorted(os.listdir("/sys/block")):
        if not name.startswith(("loop", "ram", "zram", "dm-", "sr", "nbd")) and os.path.exists("/dev/" + name):
            return "/dev/" + name
    raise RuntimeError("no block device in /sys/block for the device_*_bps/iops cases")


DISK = block_device()

# option -> (first value(s), changed value(s), the action the change takes). Extra keys in a dict
# apply to both runs of that case. Every option of the table has a case (test_every_option_has_a_case).
CASES = {
    "command": ({"command": ["sleep", "3600"]}, {"command": "sleep 3601"}, "recreated"),
    "entrypoint": ({"entrypoint": ["sleep"], "command": ["3600"]},
                   {"entrypoint": ["/bin/sleep"], "command": ["3600"]}, "recreated"),
    "env": ({"env": {"A": "1", "DB_PASSWORD": "s3cret"}}, {"env": {"A": "1", "DB_PASSWORD": "other"}}, "recreated"),
    "labels": ({"labels": {"team": "a"}}, {"labels": {"team": "b"}}, "recreated"),
    "published_ports": ({"published_ports": ["127.0.0.1:18101:80"]},
                        {"ports": ["127.0.0.1:18102:80", "127.0.0.1::81/udp"]}, "recreated"),
    "exposed_ports": ({"exposed_ports": ["8080"]}, {"exposed_ports": ["8080", "53/udp"]}, "recreated"),
    "volumes": ({"volumes": ["/data"]}, {"volumes": [VOLUME + ":/data:ro"]}, "recreated"),
    "mounts": ({"mounts": [{"type": "tmpfs", "target": "/scratch"}]},
               {"mounts": [{"type": "volume", "source": VOLUME, "target": "/scratch", "read_only": True}]},
               "recreated"),
    "networks": ({"networks": [{"name": NETWORKS[0], "aliases": ["one"]}]},
                 {"networks": [{"name": NETWORKS[0], "aliases": ["one"]}, {"name": NETWORKS[1]}]}, "updated"),
    "network_mode": ({"network_mode": "none"}, {"network_mode": "bridge"}, "recreated"),
    "restart_policy": ({"restart_policy": "always"}, {"restart_policy": "unless-stopped"}, "updated"),
    "restart_retries": ({"restart_policy": "on-failure", "restart_retries": 3},
                        {"restart_policy": "on-failure", "restart_retries": 5}, "updated"),
    "memory": ({"memory": "64m"}, {"memory": "128m"}, "updated"),
    "memory_reservation": ({"memory_reservation": "32m"}, {"memory_reservation": "48m"}, "updated"),
    "memory_swap": ({"memory": "64m", "memory_swap": "128m"}, {"memory": "64m", "memory_swap": "256m"}, "updated"),
    "cpus": ({"cpus": 0.5}, {"cpus": 1}, "updated"),
    "cpu_shares": ({"cpu_shares": 512}, {"cpu_shares": 1024}, "updated"),
    "cpuset_cpus": ({"cpuset_cpus": "0"}, {"cpuset_cpus": "0-1"}, "updated"),
    "pids_limit": ({"pids_limit": 100}, {"pids_limit": 200}, "updated"),
    "ulimits": ({"ulimits": ["nofile:1024:2048"]}, {"ulimits": ["nofile:2048:4096"]}, "recreated"),
    "healthcheck": ({"healthcheck": {"test": ["CMD", "true"], "interval": "1s"}},
                    {"healthcheck": {"test": "true", "interval": "2s", "retries": 2}}, "recreated"),
    "user": ({"user": "1000"}, {"user": "1000:1000"}, "recreated"),
    "working_dir": ({"working_dir": "/tmp"}, {"working_dir": "/"}, "recreated"),
    "hostname": ({"hostname": "alpha"}, {"hostname": "beta"}, "recreated"),
    "capabilities": ({"capabilities": ["NET_ADMIN"]}, {"capabilities": ["cap_net_admin", "SYS_TIME"]}, "recreated"),
    "cap_drop": ({"cap_drop": ["MKNOD"]}, {"cap_drop": ["MKNOD", "NET_RAW"]}, "recreated"),
    "read_only": ({"read_only": True}, {"read_only": False}, "recreated"),
    "tmpfs": ({"tmpfs": ["/run:size=1m"]}, {"tmpfs": ["/run:size=2m"]}, "recreated"),
    "log_driver": ({"log_driver": "json-file"}, {"log_driver": "local"}, "recreated"),
    "log_options": ({"log_options": {"max-size": "1m"}}, {"log_options": {"max-size": "2m", "max-file": 3}},
                    "recreated"),
    # privileged cannot start on this machine (CAP_SYS_RESOURCE is not in the bounding set): created only.
    "privileged": ({"privileged": True, "state": "present"}, {"privileged": False, "state": "present"},
                   "recreated"),
    "init": ({"init": True}, {"init": False}, "recreated"),
    "devices": ({"devices": ["/dev/null:/dev/xnull"]}, {"devices": ["/dev/zero:/dev/xnull:r"]}, "recreated"),
    "sysctls": ({"sysctls": {"net.core.somaxconn": 1024}}, {"sysctls": {"net.core.somaxconn": "2048"}}, "recreated"),
    "dns_servers": ({"dns_servers": ["10.0.0.1"]}, {"dns_servers": ["10.0.0.2", "10.0.0.1"]}, "recreated"),
    "etc_hosts": ({"etc_hosts": {"db": "10.0.0.5"}}, {"etc_hosts": {"db": "10.0.0.6"}}, "recreated"),
    "stop_signal": ({"stop_signal": "SIGKILL"}, {"stop_signal": "INT", "stop_timeout": 1}, "recreated"),
    # community.docker ignores stop_timeout unless comparisons says otherwise
    "stop_timeout": ({"stop_timeout": 1, "comparisons": {"stop_timeout": "strict"}},
                     {"stop_timeout": 2, "comparisons": {"stop_timeout": "strict"}}, "recreated"),
    # state present: a cgroup_parent that is started creates cgroups on this machine.
    "cgroup_parent": ({"cgroup_parent": "/dh-ct-a", "state": "present"},
                      {"cgroup_parent": "/dh-ct-b", "state": "present"}, "recreated"),
    "cgroupns_mode": ({"cgroupns_mode": "private"}, {"cgroupns_mode": "host"}, "recreated"),
    "shm_size": ({"shm_size": "64m"}, {"shm_size": "128m"}, "recreated"),
    "security_opts": ({"security_opts": ["no-new-privileges"]},
                      {"security_opts": ["no-new-privileges", "label=disable"]}, "recreated"),
    "auto_remove": ({"auto_remove": True}, {"auto_remove": False}, "recreated"),
    "pid_mode": ({"pid_mode": "container:" + HELPER}, {"pid_mode": "host"}, "recreated"),
    "ipc_mode": ({"ipc_mode": "container:" + HELPER}, {"ipc_mode": "private"}, "recreated"),
    "uts": ({"uts": "host"}, {"uts": ""}, "recreated"),
    "userns_mode": ({"userns_mode": "host"}, {"userns_mode": ""}, "recreated"),
    "cpu_period": ({"cpu_period": 100000}, {"cpu_period": 50000}, "updated"),
    "cpu_quota": ({"cpu_quota": 50000}, {"cpu_quota": 100000}, "updated"),
    # one memory node here: from all (unset) to node 0
    "cpuset_mems": ({}, {"cpuset_mems": "0"}, "updated"),
    "device_read_bps": ({"device_read_bps": [{"path": DISK, "rate": "20m"}]},
                        {"device_read_bps": [{"path": DISK, "rate": "10m"}]}, "recreated"),
    "device_write_bps": ({"device_write_bps": [{"path": DISK, "rate": "20m"}]},
                         {"device_write_bps": [{"path": DISK, "rate": 1048576}]}, "recreated"),
    "device_read_iops": ({"device_read_iops": [{"path": DISK, "rate": 100}]},
                         {"device_read_iops": [{"path": DISK, "rate": "200"}]}, "recreated"),
    "device_write_iops": ({"device_write_iops": [{"path": DISK, "rate": 100}]},
                          {"device_write_iops": [{"path": DISK, "rate": 50}]}, "recreated"),
    "memory_swappiness": ({"memory_swappiness": 30}, {"memory_swappiness": 60}, "recreated"),
    "oom_killer": ({"oom_killer": True, "memory": "64m"}, {"oom_killer": False, "memory": "64m"}, "recreated"),
    "oom_score_adj": ({"oom_score_adj": 100}, {"oom_score_adj": 200}, "recreated"),
    "kernel_memory": ({"kernel_memory": "8m"}, {"kernel_memory": "16m"}, "updated"),
    "device_cgroup_rules": ({"device_cgroup_rules": ["c 42:* rmw"]},
                            {"device_cgroup_rules": ["c 42:* rmw", "b 7:* r"]}, "recreated"),
    "runtime": ({"runtime": "runc"}, {"runtime": "io.containerd.runc.v2"}, "recreated"),
    "env_file": ({"env_file": ENV_FILES[0]}, {"env_file": ENV_FILES[1], "env": {"FROM": "task"}}, "recreated"),
    "groups": ({"groups": ["1234"]}, {"groups": ["5678", "1234"]}, "recreated"),
    "domainname": ({"domainname": "example.com"}, {"domainname": "example.org"}, "recreated"),
    "mac_address": ({"mac_address": "02:42:ac:11:fe:01"}, {"mac_address": "02-42-AC-11-FE-02"}, "recreated"),
    "dns_opts": ({"dns_opts": ["rotate"]}, {"dns_opts": ["timeout:10", "rotate"]}, "recreated"),
    "dns_search_domains": ({"dns_search_domains": ["example.com"]},
                           {"dns_search_domains": ["example.org", "example.com"]}, "recreated"),
    "links": ({"links": [HELPER + ":one"]}, {"links": [HELPER + ":two"]}, "recreated"),
    "volumes_from": ({"volumes_from": [HELPER]}, {"volumes_from": [HELPER + ":ro"]}, "recreated"),
    "volume_driver": ({"volume_driver": "local"}, {"volume_driver": ""}, "recreated"),
    "publish_all_ports": ({"publish_all_ports": True, "exposed_ports": ["8080"]},
                          {"publish_all_ports": False, "exposed_ports": ["8080"]}, "recreated"),
    # unset: 0.0.0.0, as community.docker fills it in (an empty string would bind every address)
    "default_host_ip": ({"published_ports": ["18111:80"]},
                        {"published_ports": ["18111:80"], "default_host_ip": "127.0.0.1"}, "recreated"),
    "tty": ({"tty": True}, {"tty": False}, "recreated"),
    "interactive": ({"interactive": True}, {"interactive": False}, "recreated"),
}

# Options whose effect this machine cannot show, and why; test_options_this_engine_cannot_honour covers
# each of them instead of a round trip (it asserts what the engine does with them here).
NOT_ROUND_TRIPPED = {
    "storage_opts": "overlay2 here sits on ext4: the engine refuses a size (it needs xfs mounted with pquota)",
    "device_requests": "no GPU device driver here: the engine refuses to start a container that requests one",
    "blkio_weight": "this kernel offers BFQ's blkio.bfq.weight only, not blkio.weight: the engine discards it",
    "platform": "one platform here (linux/amd64) and no emulation: there is no other platform to change to",
}


def docker(*args, check=True):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)


def inspect(name):
    done = docker("inspect", "--type", "container", name, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def container_task(task_name, name, register="out", **options):
    spec = dict(BASE)
    spec.update(options)
    spec["name"] = name
    return {"name": task_name, "dockhand.runtime.container": spec, "register": register}


def remove_all():
    names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    ours = [name for name in names if name.startswith(PREFIX)]
    if ours:
        docker("rm", "-f", "-v", *ours, check=False)
    for path in ENV_FILES:
        if os.path.exists(path):
            os.unlink(path)
    for network in NETWORKS + [BOUND_NETWORK]:
        docker("network", "rm", network, check=False)
    docker("volume", "rm", VOLUME, check=False)


@pytest.fixture
def clean():
    remove_all()
    yield
    remove_all()


def setup_tasks():
    env_files = [{"name": "env file %d" % index, "ansible.builtin.copy": {
        "dest": path, "mode": "0600", "content": "# the case's env file\nFROM=file\nFILE_ONLY=%d\n" % index}}
        for index, path in enumerate(ENV_FILES, 1)]
    return [{"name": "network %s" % net, "dockhand.runtime.network": {"name": net}} for net in NETWORKS] + [
        {"name": "volume", "dockhand.runtime.volume": {"name": VOLUME}},
        container_task("helper", HELPER, register="helper", ipc_mode="shareable")] + env_files


def test_every_option_has_a_case():
    assert set(CASES) | set(NOT_ROUND_TRIPPED) == set(OPTIONS_BY_NAME)
    assert not set(CASES) & set(NOT_ROUND_TRIPPED)


def test_only_the_documented_options_skip_the_round_trip():
    assert sorted(NOT_ROUND_TRIPPED) == ["blkio_weight", "device_requests", "platform", "storage_opts"]


WORKERS = 4  # the cases run on this many local "hosts" at once (strategy free)


def test_image_defaults_and_image_change(run_playbook, clean):
    """The image's own labels, env and command never cause drift; a new image recreates."""
    name = PREFIX + "image"
    tasks = [
        container_task("create", name, image=HELLO, labels={"extra": "yes"}),
        container_task("again", name, image=HELLO, labels={"extra": "yes"}),
        container_task("empty command means the image's", name, image=HELLO, command=[], state="present",
                       labels={"extra": "yes"}),
        container_task("image change", name, image=BUSYBOX, labels={"extra": "yes"}),
        container_task("no image given", name, image=None, labels={"extra": "yes"}),
    ]
    tasks[2]["dockhand.runtime.container"]["command"] = []
    run = run_playbook(local_play(tasks))
    assert_no_traceback(run)
    assert run.rc == 0, run
    assert run.result("create")["changed"]
    assert not run.result("again")["changed"], run.result("again")
    image_labels = inspect(name)["Config"]["Labels"]
    assert image_labels["extra"] == "yes"
    assert "recreated" in run.result("empty command means the image's")["actions"]
    changed = run.result("image change")
    assert changed["actions"] == ["recreated", "started"], changed
    # the command changes too (the last run had the image's own); the images' own labels differ
    # (dockhand.lab.recipe), but that is the image's change, not the task's
    assert changed["differences"] == ["image", "command"], changed["differences"]
    assert not run.result("no image given")["changed"]


NOT_PULLED = "127.0.0.1:5000/library/busybox:stable"


def test_image_change_reported_and_predicted_before_the_pull(run_playbook, clean):
    """differences names image (alone when the task changes nothing else); a check-mode diff for an image not
    pulled yet predicts the recreate and keeps the image's own labels in "after"."""
    name = PREFIX + "image-diff"
    was_here = docker("image", "inspect", NOT_PULLED, check=False).returncode == 0
    docker("rmi", NOT_PULLED, check=False)
    try:
        run = run_playbook(local_play([container_task("on hello", name, image=HELLO, labels={"team": "a"})]))
        assert run.rc == 0, run
        before = inspect(name)
        tasks = [container_task("to an image not pulled", name, image=NOT_PULLED, labels={"team": "a"}),
                 container_task("and a label", name, image=NOT_PULLED, labels={"team": "b"})]
        run = run_playbook(local_play(tasks), check=True, diff=True)
        assert run.rc == 0, run
        predicted = run.result("to an image not pulled")
        pulled = {"pulled_image": NOT_PULLED, "changed": True}
        assert predicted["actions"] == [pulled, "recreated", "started"], predicted
        assert predicted["differences"] == ["image"], predicted["differences"]
        after = predicted["diff"]["after"]
        assert after["image"] == NOT_PULLED and "not pulled yet" in after["image_id"], after
        assert run.result("and a label")["differences"] == ["image", "labels"]
        labels_after = run.result("and a label")["diff"]["after"]["labels"]
        assert labels_after["team"] == "b" and "dockhand.lab.recipe" in labels_after, labels_after
        assert inspect(name)["Id"] == before["Id"], "check mode changed the container"
        run = run_playbook(local_play([container_task("for real", name, image=NOT_PULLED, labels={"team": "a"})]),
                           diff=True)
        assert run.rc == 0, run
        done = run.result("for real")
        assert done["actions"] == [pulled, "recreated", "started"], done
        assert done["differences"] == ["image"], done
    finally:
        remove_all()
        if was_here:  # leave the name as it was found (other tests expect it)
            docker("pull", NOT_PULLED)
        else:
            docker("rmi", NOT_PULLED, check=False)


def test_safe_recreate_rolls_back_when_unhealthy(run_playbook, clean):
    """A new container that never becomes healthy is removed; the old one runs again under its name."""
    name = PREFIX + "rollback"
    healthy = {"healthcheck": {"test": ["CMD", "true"], "interval": "1s"}, "volumes": ["/data"],
               "env": {"VERSION": "1"}}
    tasks = [
        container_task("old", name, **healthy),
        {"name": "write to the anonymous volume", "ansible.builtin.command": "docker exec %s sh -c 'echo kept > "
         "/data/file'" % name, "changed_when": False},
        container_task("carry over", name, **{**healthy, "env": {"VERSION": "2"}}),
        {"name": "read the anonymous volume", "ansible.builtin.command": "docker exec %s cat /data/file" % name,
         "register": "out", "changed_when": False},
        container_task("broken", name, health_timeout=15, volumes=["/data"], env={"VERSION": "3"},
                       healthcheck={"test": "echo broken-check >&2; exit 1", "interval": "1s", "retries": 1}),
        container_task("exits", name, command=["sh", "-c", "echo about to fail; exit 3"], volumes=["/data"],
                       env={"VERSION": "4"}, healthcheck={"test": ["CMD", "true"], "interval": "1s"}),
        inspect_task("after exits", name),
        # first checked after 6 s, past a 2 s health_timeout: waited for, not rolled back
        container_task("checked late", name, health_timeout=2, volumes=["/data"], env={"VERSION": "5"},
                       healthcheck={"test": ["CMD", "true"], "interval": "6s", "timeout": "1s"}),
    ]
    tasks[4]["ignore_errors"] = True
    tasks[5]["ignore_errors"] = True
    run = run_playbook(local_play(tasks))
    assert_no_traceback(run)
    carried = run.result("carry over")
    assert carried["actions"] == ["recreated", "started"] and carried["container"]["health"] == "healthy"
    assert run.result("read the anonymous volume")["stdout"] == "kept"
    broken = run.result("broken")
    assert run.status("broken") == "failed"
    assert "unhealthy" in broken["msg"] and "rolled_back" in broken["actions"], broken["msg"]
    assert "broken-check" in json.dumps(broken["new_container"])
    exits = run.result("exits")
    assert run.status("exits") == "failed", exits
    assert "exited with code 3" in exits["msg"] and "about to fail" in exits["msg"], exits["msg"]
    after = inspected(run, "after exits")
    assert after["Id"] == carried["container"]["id"], "the old container is back under its name"
    assert after["State"]["Running"]
    assert "VERSION=2" in after["Config"]["Env"]
    late = inspect(name)
    assert run.result("checked late")["actions"] == ["recreated", "started"], run.result("checked late")
    assert late["State"]["Health"]["Status"] == "healthy" and "VERSION=5" in late["Config"]["Env"]
    names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert [n for n in names if n.startswith(name)] == [name], names


def test_check_mode_changes_nothing(run_playbook, clean):
    name = PREFIX + "check"
    run = run_playbook(local_play([container_task("create", name, env={"A": "1"})]), check=True, diff=True)
    assert run.rc == 0, run
    assert run.result("create")["actions"] == ["created", "started"]
    assert inspect(name) is None
    run_playbook(local_play([container_task("create", name, env={"A": "1"})]))
    before = inspect(name)
    tasks = [container_task("env", name, env={"A": "2"}), container_task("memory", name, env={"A": "1"}, memory="96m"),
             container_task("stop", name, env={"A": "1"}, state="stopped"),
             container_task("remove", name, state="absent")]
    run = run_playbook(local_play(tasks), check=True, diff=True)
    assert run.rc == 0, run
    assert run.result("env")["actions"] == ["recreated", "started"]
    assert run.result("env")["diff"]["after"]["env"] == {"A": "2"}
    assert run.result("memory")["actions"] == ["updated"]
    assert run.result("stop")["actions"] == ["stopped"]
    assert run.result("remove")["actions"] == ["removed"]
    after = inspect(name)
    assert after["Id"] == before["Id"] and after["State"]["Running"] and after["HostConfig"]["Memory"] == 0


def test_detach_false_returns_output_and_fails_on_exit_code(run_playbook, clean):
    tasks = [container_task("job", PREFIX + "job", command=["sh", "-c", "echo hello job"], detach=False),
             container_task("failing job", PREFIX + "job2", command=["sh", "-c", "echo nope; exit 2"], detach=False)]
    tasks[1]["ignore_errors"] = True
    run = run_playbook(local_play(tasks))
    assert_no_traceback(run)
    job = run.result("job")
    assert job["status"] == 0 and "hello job" in job["output"]
    # community.docker's shape: the inspect as `container`, the output in it as Output
    assert job["container"]["Output"] == job["output"] and job["container"]["State"]["ExitCode"] == 0
    assert job["container"]["Config"]["Cmd"] == ["sh", "-c", "echo hello job"]
    assert job["container"]["Id"] == inspect(PREFIX + "job")["Id"] == job["container"]["id"]
    failing = run.result("failing job")
    assert run.status("failing job") == "failed" and failing["status"] == 2 and "exited with code 2" in failing["msg"]


def inspect_task(task_name, name):
    """A task that records Docker's inspect of ``name`` at this point of a play (read with inspected())."""
    return {"name": task_name, "ansible.builtin.command": {"argv": ["docker", "inspect", "--type", "container", name]},
            "register": "out", "changed_when": False, "failed_when": False}


def inspected(run, task_name):
    """The inspect an inspect_task recorded, or None when the container did not exist then."""
    result = run.result(task_name)
    return json.loads(result["stdout"])[0] if result["rc"] == 0 else None


def test_platform_pulls_that_platform_of_an_index(run_playbook, clean):
    """platform pulls its platform of a two-platform index (an image of another platform under the name is pulled
    again) and the container is created from it; a rerun changes nothing; another platform pulls and recreates.
    The arm64 container is created, never started: this machine runs amd64 without emulation."""
    ids = push_index("http://127.0.0.1:5000", "dockhand-test/multiarch", "1")
    image = "127.0.0.1:5000/dockhand-test/multiarch:1"
    name = PREFIX + "platform"
    docker("rmi", image, check=False)
    try:
        run = run_playbook(local_play([
            container_task("arm64", name, image=image, platform="linux/arm64", state="present"),
            inspect_task("after arm64", name),
            container_task("arm64 again", name, image=image, platform="linux/arm64", state="present"),
            dict(container_task("amd64 in check mode", name, image=image, platform="linux/amd64", state="present"),
                 check_mode=True),
            container_task("amd64", name, image=image, platform="linux/amd64", state="present"),
            inspect_task("after amd64", name),
        ]))
        assert run.rc == 0, str(run)
        first = run.result("arm64")
        assert first["actions"] == [{"pulled_image": image, "changed": True}, "created"], first
        assert any(w.startswith("platform: the engine runs on linux/amd64") for w in first.get("warnings", [])), first
        arm = inspected(run, "after arm64")
        assert arm["Image"] == ids["linux/arm64"] and arm["Platform"] == "linux" and not arm["State"]["Running"]
        assert run.result("arm64 again")["changed"] is False
        predicted = run.result("amd64 in check mode")
        assert predicted["changed"] is True and predicted["actions"][0] == {"pulled_image": image, "changed": True}
        assert run.result("amd64")["actions"] == [{"pulled_image": image, "changed": True}, "recreated"]
        amd = inspected(run, "after amd64")
        assert amd["Image"] == ids["linux/amd64"] and amd["Id"] != arm["Id"]
        assert_no_traceback(run)
    finally:
        docker("rm", "-f", name, check=False)
        docker("rmi", image, check=False)


def test_networks_change_in_place(run_playbook, clean):
    """Networks change without a recreate, as community.docker changes them: the container keeps its ID and start
    time. networks: [] keeps the default bridge (allow_more_present, the default), and compared strictly the
    container is taken off every network; networks_cli_compatible false starts a container on the default bridge
    and connects the listed networks too; a connect the engine refuses is undone and named. Judged by Docker's
    inspect after each task."""
    loose, strict, legacy = PREFIX + "nonet-loose", PREFIX + "nonet-strict", PREFIX + "legacy"
    net1, net2 = NETWORKS
    only = {"networks": [], "comparisons": {"networks": "strict"}}
    old_style = {"networks_cli_compatible": False}
    # net2 gets an alias (disconnect, connect), then the engine refuses net1's address: both steps are undone
    refused = dict(old_style, networks=[{"name": net2, "aliases": ["cache"]},
                                        {"name": net1, "ipv4_address": "10.213.7.9"}])
    tasks = [{"name": "network %s" % net, "dockhand.runtime.network": {"name": net}} for net in NETWORKS] + [
        container_task("loose", loose, networks=[]), inspect_task("after loose", loose),
        container_task("loose again", loose, networks=[]),
        container_task("loose made strict", loose, **only), inspect_task("after loose made strict", loose),
        container_task("strict", strict, **only), inspect_task("after strict", strict),
        container_task("strict again", strict, **only), inspect_task("after strict again", strict),
        container_task("legacy", legacy, networks=[{"name": net1, "aliases": ["db"]}], **old_style),
        inspect_task("after legacy", legacy),
        container_task("legacy again", legacy, networks=[{"name": net1, "aliases": ["db"]}], **old_style),
        container_task("legacy second network", legacy, networks=[{"name": net2}], **old_style),
        inspect_task("after legacy second network", legacy),
        container_task("legacy only the second", legacy, networks=[{"name": net2}],
                       comparisons={"networks": "strict"}, **old_style),
        inspect_task("after legacy only the second", legacy),
        dict(container_task("legacy refused", legacy, **refused), ignore_errors=True),
        inspect_task("after legacy refused", legacy),
        # a port without an address takes the listed bridge network's host_binding_ipv4 (community.docker's rule)
        {"name": "bound network", "dockhand.runtime.network": {"name": BOUND_NETWORK, "driver_options": {
            "com.docker.network.bridge.host_binding_ipv4": "127.0.0.1"}}},
        container_task("bound", PREFIX + "bound", networks=[{"name": BOUND_NETWORK}], published_ports=["18121:80"]),
        inspect_task("after bound", PREFIX + "bound"),
    ]
    run = run_playbook(local_play(tasks))
    assert run.rc == 0, run
    assert_no_traceback(run)
    first = inspected(run, "after loose")
    assert list(first["NetworkSettings"]["Networks"]) == ["bridge"]
    assert run.result("loose again")["changed"] is False
    made_strict = inspected(run, "after loose made strict")
    assert run.result("loose made strict")["actions"] == ["updated"]
    assert (made_strict["Id"], made_strict["State"]["StartedAt"]) == (first["Id"], first["State"]["StartedAt"])
    assert made_strict["NetworkSettings"]["Networks"] == {} and made_strict["State"]["Running"]
    created = inspected(run, "after strict")
    assert run.result("strict")["actions"] == ["created", "started"]
    assert created["NetworkSettings"]["Networks"] == {} and created["State"]["Running"]
    again = inspected(run, "after strict again")
    assert run.result("strict again")["changed"] is False
    assert (again["Id"], again["State"]["StartedAt"]) == (created["Id"], created["State"]["StartedAt"])

    def networks(task):
        return sorted(inspected(run, task)["NetworkSettings"]["Networks"])

    legacy_first = inspected(run, "after legacy")
    assert legacy_first["HostConfig"]["NetworkMode"] == "default" and networks("after legacy") == ["bridge", net1]
    assert "db" in legacy_first["NetworkSettings"]["Networks"][net1]["Aliases"]
    assert run.result("legacy again")["changed"] is False
    for task, on in (("after legacy second network", ["bridge", net1, net2]),
                     ("after legacy only the second", [net2]), ("after legacy refused", [net2])):
        now = inspected(run, task)
        assert networks(task) == on, task
        assert (now["Id"], now["State"]["StartedAt"]) == (legacy_first["Id"], legacy_first["State"]["StartedAt"]), task
    assert run.result("legacy second network")["actions"] == ["updated"]
    failed = run.result("legacy refused")
    assert run.status("legacy refused") == "failed"
    assert "(networks)" in failed["msg"] and net1 in failed["msg"], failed["msg"]
    assert failed["actions"] == [], failed["actions"]
    assert "cache" not in (inspected(run, "after legacy refused")["NetworkSettings"]["Networks"][net2]["Aliases"] or [])
    assert inspected(run, "after bound")["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18121"}]}


def test_pause_force_kill_cleanup_and_state_healthy(run_playbook, clean):
    """paused pauses and resumes in place; force_kill stops a container with the signal asked; cleanup removes a
    job that succeeded; state healthy waits for the healthcheck, also without a bound (healthy_wait_timeout 0 or
    less). Each step is checked in Docker's own inspect, taken right after it."""
    pause, kill, job, healthy = PREFIX + "pause", PREFIX + "kill", PREFIX + "cleanjob", PREFIX + "healthy"
    # PID 1 sh ignores SIGTERM (no handler), so a plain stop would wait stop_timeout and then SIGKILL (137);
    # only the USR1 that force_kill sends makes it exit with 42.
    stubborn = {"command": ["sh", "-c", "trap 'exit 42' USR1; while true; do sleep 1; done"],
                "stop_signal": "SIGTERM", "stop_timeout": 30}
    healthcheck = {"test": ["CMD-SHELL", "test -e /tmp/ready"], "interval": "1s", "retries": 30}
    slow_ready = {"healthcheck": healthcheck, "command": ["sh", "-c", "sleep 3; touch /tmp/ready; sleep 3600"]}
    tasks = [
        container_task("pause", pause, paused=True), inspect_task("after pause", pause),
        container_task("pause again", pause, paused=True), inspect_task("after pause again", pause),
        container_task("resume", pause, paused=False), inspect_task("after resume", pause),
        container_task("pause through a recreate", pause, paused=True, hostname="other"),
        inspect_task("after pause through a recreate", pause),
        container_task("kill start", kill, **stubborn),
        container_task("kill", kill, state="stopped", force_kill=True, kill_signal="SIGUSR1", **stubborn),
        inspect_task("after kill", kill),
        container_task("job", job, command=["sh", "-c", "echo done"], detach=False, cleanup=True),
        inspect_task("after job", job),
        container_task("healthy", healthy, state="healthy", **slow_ready), inspect_task("after healthy", healthy),
        container_task("healthy again", healthy, state="healthy", **slow_ready),
        container_task("healthy without a bound", PREFIX + "healthy-unbound", state="healthy",
                       healthy_wait_timeout=-1, **slow_ready),
        inspect_task("after healthy without a bound", PREFIX + "healthy-unbound"),
    ]
    run = run_playbook(local_play(tasks))
    assert run.rc == 0, run
    assert_no_traceback(run)
    paused = inspected(run, "after pause")
    assert run.result("pause")["actions"] == ["created", "started", "paused"]
    assert paused["State"]["Running"] and paused["State"]["Paused"], paused["State"]
    again = inspected(run, "after pause again")
    assert run.result("pause again")["changed"] is False and again["State"]["Paused"]
    assert (again["Id"], again["State"]["StartedAt"]) == (paused["Id"], paused["State"]["StartedAt"])
    resumed = inspected(run, "after resume")
    assert run.result("resume")["actions"] == ["unpaused"]
    assert resumed["State"]["Running"] and not resumed["State"]["Paused"], resumed["State"]
    # in place: the same container, not restarted
    assert (resumed["Id"], resumed["State"]["StartedAt"]) == (paused["Id"], paused["State"]["StartedAt"])
    recreated = inspected(run, "after pause through a recreate")
    assert run.result("pause through a recreate")["actions"] == ["recreated", "started", "paused"]
    assert recreated["Id"] != paused["Id"] and recreated["Config"]["Hostname"] == "other"
    assert recreated["State"]["Running"] and recreated["State"]["Paused"], recreated["State"]
    killed = inspected(run, "after kill")
    assert run.result("kill")["actions"] == ["stopped"]
    assert killed["Id"] == run.result("kill start")["container"]["Id"]
    assert not killed["State"]["Running"] and killed["State"]["ExitCode"] == 42, killed["State"]  # USR1, not a stop
    assert run.result("job")["actions"] == ["created", "started", "removed"] and "done" in run.result("job")["output"]
    assert run.result("job")["status"] == 0 and inspected(run, "after job") is None
    became = inspected(run, "after healthy")
    assert became["State"]["Health"]["Status"] == "healthy", became["State"]
    assert run.result("healthy")["container"]["Id"] == became["Id"]
    assert run.result("healthy again")["changed"] is False
    unbound = inspected(run, "after healthy without a bound")
    assert run.result("healthy without a bound")["actions"] == ["created", "started"]
    assert unbound["State"]["Health"]["Status"] == "healthy", unbound["State"]


def test_comparisons_decide_what_changes_the_container(run_playbook, clean):
    """community.docker's comparisons on the real engine: by default a container may hold more labels, env and
    capabilities than asked; strict wants them exact; ignore never changes; image: ignore keeps the old image.
    Whether a task touched the container is read from Docker (ID and StartedAt), after every task."""
    name = PREFIX + "cmp"
    first = {"labels": {"a": "1", "b": "2"}, "env": {"A": "1", "B": "2"}, "capabilities": ["NET_ADMIN", "SYS_TIME"],
             "hostname": "alpha"}
    fewer = {"labels": {"a": "1"}, "env": {"A": "1"}, "capabilities": ["NET_ADMIN"], "hostname": "alpha"}
    steps = [
        container_task("first", name, **first),
        container_task("fewer by default", name, **fewer),
        container_task("another hostname ignored", name, comparisons={"hostname": "ignore"},
                       **{**fewer, "hostname": "beta"}),
        container_task("all ignored", name, image=HELLO, comparisons={"*": "ignore"}, **{**fewer, "hostname": "beta"}),
        container_task("fewer labels strict", name, comparisons={"labels": "strict"}, **fewer),
        container_task("again strict", name, comparisons={"*": "strict"}, **fewer),
        # image: ignore keeps the container on its image; compared with that image's labels nothing differs ...
        container_task("other image, current-image", name, image=ENV_IMAGE, comparisons={"image": "ignore"},
                       image_comparison="current-image", **fewer),
        # ... but the task's image (desired-image) sets a variable the container lacks: recreated on it
        container_task("other image, desired-image", name, image=ENV_IMAGE, comparisons={"image": "ignore"},
                       **fewer),
    ]
    bad = container_task("bad mode", name, comparisons={"hostname": "allow_more_present"}, **fewer)
    bad["ignore_errors"] = True
    # HELLO must be here before "all ignored": a pull it made would count as a change (community.docker's too)
    tasks = [{"name": "hello image", "dockhand.runtime.image": {"name": HELLO}}]
    for step in steps:
        tasks += [step, inspect_task("after " + step["name"], name)]
    subprocess.run(["docker", "build", "-q", "-t", ENV_IMAGE, "-"], input="FROM %s\nENV FLAVOUR=env\n" % BUSYBOX,
                   text=True, check=True, stdout=subprocess.PIPE)
    try:
        run = run_playbook(local_play(tasks + [bad, inspect_task("after bad mode", name)]))
    finally:
        docker("rm", "-f", name, check=False)
        docker("rmi", ENV_IMAGE, check=False)
    assert run.rc == 0, run
    assert_no_traceback(run)
    seen = {step["name"]: (run.result(step["name"]), inspected(run, "after " + step["name"])) for step in steps}
    results = [result for result, _after in seen.values()]
    states = [after for _result, after in seen.values()]
    report = {task: (result["changed"], result["actions"], result["differences"])
              for task, result in zip(seen, results)}
    assert [result["changed"] for result in results] == [True, False, False, False, True, False, False, True], report
    ids = [(after["Id"], after["State"]["StartedAt"]) for after in states]
    assert ids[0] == ids[1] == ids[2] == ids[3] != ids[4] == ids[5] == ids[6] != ids[7], ids
    assert ids[4][0] != ids[0][0] and ids[7][0] != ids[4][0]  # strict labels and the desired image recreated it
    assert states[3]["Config"]["Image"] == states[6]["Config"]["Image"] == BUSYBOX  # image: ignore kept its image
    assert results[7]["differences"] == ["env"], report
    after = inspected(run, "after bad mode")
    assert (after["Id"], after["State"]["StartedAt"]) == ids[7]
    assert after["Config"]["Labels"].get("b") is None and after["Config"]["Hostname"] == "alpha"
    assert after["Config"]["Image"] == ENV_IMAGE and _env(after)["FLAVOUR"] == "env"  # made from the task's image
    assert _env(after)["A"] == "1" and "B" not in _env(after)  # the recreate made it from the task
    assert run.status("bad mode") == "failed" and "sets and dicts only" in run.result("bad mode")["msg"]


def test_control_options_refuse_bad_input_and_change_nothing(run_playbook, clean):
    """paused with a stopped state, a kill signal with white space and a negative removal_wait_timeout are
    refused with a message naming the option, and no container is made. (healthy_wait_timeout 0 or less is
    valid: no bound, as in community.docker; test_pause_force_kill_cleanup_and_state_healthy runs it.)"""
    name = PREFIX + "ctl"
    tasks = [container_task("paused stopped", name, paused=True, state="stopped"),
             container_task("bad signal", name, force_kill=True, kill_signal="SIG KILL"),
             container_task("bad removal wait", name, removal_wait_timeout=-1)]
    for task in tasks:
        task["ignore_errors"] = True
    run = run_playbook(local_play(tasks + [inspect_task("after", name)]))
    assert_no_traceback(run)
    assert all(run.status(task["name"]) == "failed" for task in tasks), [run.result(t["name"]) for t in tasks]
    assert "paused" in run.result("paused stopped")["msg"] and "state" in run.result("paused stopped")["msg"]
    assert run.result("bad signal")["msg"].startswith("kill_signal:"), run.result("bad signal")["msg"]
    assert run.result("bad removal wait")["msg"].startswith("removal_wait_timeout:")
    assert all(run.result(task["name"])["actions"] == [] for task in tasks)
    assert inspected(run, "after") is None and inspect(name) is None  # nothing was created


BAD_INPUT = [
    # (task name, options, words the message must contain)
    ("bad port", {"published_ports": ["80:99999"]}, ["published_ports", "99999"]),
    ("bad size", {"memory": "12xb"}, ["memory", "12xb"]),
    ("negative cpus", {"cpus": -1}, ["cpus", "more than 0"]),
    ("unknown restart policy", {"restart_policy": "sometimes"}, ["restart_policy", "sometimes"]),
    ("bad image", {"image": "127.0.0.1:5000/Bad Name!"}, ["image", "white space"]),
    ("bad image chars", {"image": "127.0.0.1:5000/library/bu$ybox"}, ["image", "bu$ybox"]),
    ("network_mode and networks", {"network_mode": "host", "networks": [{"name": NETWORKS[0]}]},
     ["network_mode", "networks"]),
    ("unknown log option", {"log_options": {"no-such-option": "1"}}, ["log_options", "no-such-option"]),
    ("image that does not exist", {"image": "127.0.0.1:5000/library/no-such-image:1"},
     ["image", "no such repository"]),
    ("retries with always", {"restart_policy": "always", "restart_retries": 2}, ["restart_retries", "on-failure"]),
    ("swap below memory", {"memory": "128m", "memory_swap": "64m"}, ["memory_swap", "memory"]),
    ("bad env value", {"env": {"DEBUG": True}}, ["env", "DEBUG", "quote"]),
    ("bad volume", {"volumes": ["relative/path:/data"]}, ["volumes", "relative/path"]),
    ("bad duration", {"healthcheck": {"test": "true", "interval": "soon"}}, ["healthcheck", "soon"]),
    ("unknown mount key", {"mounts": [{"target": "/x", "sorce": "v"}]}, ["mounts", "sorce"]),
    ("bad name", {"image": BUSYBOX, "name": "-x"}, ["name", "-x"]),
    # community.docker's words, which its tests (and playbooks moved over) compare whole
    ("unclosed bracket", {"published_ports": ["[::1:2000:3000"]},
     ['Cannot find closing "]" in input "[::1:2000:3000" for opening "[" at index 1!']),
    ("IPv6 without brackets", {"published_ports": ["::1:2000:3000"]},
     ['Invalid port description "::1:2000:3000" - expected 1 to 3 colon-separated parts, but got 5.']),
    ("hostname as host IP", {"published_ports": ["foo:2000:3000"]}, ["not hostnames", "(Found hostname: foo)"]),
    ("pull never", {"image": "127.0.0.1:5000/library/no-such-image", "pull": "never"},
     ["Cannot find image with name 127.0.0.1:5000/library/no-such-image:latest, and pull=never"]),
]


def test_bad_input_fails_clearly_and_changes_nothing(run_playbook, clean):
    name = PREFIX + "sentinel"
    run = run_playbook(local_play(setup_tasks() + [container_task("sentinel", name, env={"A": "1"})]))
    assert run.rc == 0, run
    before = inspect(name)
    tasks = []
    for task_name, bad, _words in BAD_INPUT:
        options = dict({"env": {"A": "2"}}, **bad)
        target = options.pop("name", name)
        task = container_task(task_name, target, **options)
        task["ignore_errors"] = True
        tasks.append(task)
    run = run_playbook(local_play(tasks))
    assert_no_traceback(run)
    for task_name, _options, words in BAD_INPUT:
        result = run.result(task_name)
        assert run.status(task_name) == "failed", (task_name, result)
        for word in words:
            assert word in result["msg"], (task_name, word, result["msg"])
    after = inspect(name)
    assert after["Id"] == before["Id"] and after["State"]["Running"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
    names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert [n for n in names if n.startswith(PREFIX) and n != HELPER] == [name], names


def test_daemon_that_goes_away_mid_recreate(run_playbook, clean, tmp_path):
    """The engine vanishes after the new container is created: the old one keeps running, a rerun cleans up."""
    name = PREFIX + "vanish"
    run = run_playbook(local_play([container_task("old", name, env={"V": "1"})]))
    assert run.rc == 0, run
    before = inspect(name)
    proxy = VanishingProxy(str(tmp_path / "docker.sock"), rb"^POST /v[0-9.]+/containers/[^/ ]+/stop")
    try:
        task = container_task("recreate", name, env={"V": "2"}, docker_host="unix://%s" % proxy.path)
        task["ignore_errors"] = True
        run = run_playbook(local_play([task]))
    finally:
        proxy.close()
    assert_no_traceback(run)
    result = run.result("recreate")
    assert run.status("recreate") == "failed"
    assert "stopped answering" in result["msg"] and "Run the task again" in result["msg"], result["msg"]
    assert any("/containers/create" in line for line in proxy.requests), proxy.requests
    after = inspect(name)
    assert after["Id"] == before["Id"] and after["State"]["Running"], "the old container keeps running"
    rerun = run_playbook(local_play([container_task("rerun", name, env={"V": "2"})]))
    assert rerun.rc == 0, rerun
    assert rerun.result("rerun")["actions"] == ["recreated", "started"]
    names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert [n for n in names if n.startswith(name)] == [name], names


# Options whose values need this machine's cooperation to start (privileged, cgroup_parent) or that
# decide the network (network_mode) stay out of random specs; their own cases above cover them.
# links work on the default bridge only, a MAC address and a host port may be used once: they stay out too.
RANDOM_POOL = {option: [first, second] for option, (first, second, _action) in CASES.items()
               if "state" not in first and option not in ("network_mode", "links", "mac_address", "default_host_ip")}
CONTAINERS_PER_EXAMPLE = 6


def valid_spec(parts):
    """One container spec from case values, or None when the options do not go together."""
    spec = {}
    for part in parts:
        spec.update(part)
    try:
        parse_options(spec)
    except OptionError:
        return None
    return spec


spec_strategy = st.lists(st.sampled_from(sorted(RANDOM_POOL)), min_size=1, max_size=6, unique=True).flatmap(
    lambda options: st.tuples(*[st.sampled_from(RANDOM_POOL[option]) for option in options])).map(valid_spec)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(spec_strategy.filter(lambda spec: spec is not None), min_size=CONTAINERS_PER_EXAMPLE,
                      max_size=CONTAINERS_PER_EXAMPLE))
def test_random_specs_settle_after_one_apply(run_playbook, specs):
    """Any valid spec from the table, applied twice: the second run changes nothing."""
    remove_all()
    try:
        tasks = setup_tasks()
        for index, spec in enumerate(specs):
            tasks.append(container_task("apply %d" % index, "%srandom-%d" % (PREFIX, index), **spec))
        for index, spec in enumerate(specs):
            tasks.append(container_task("again %d" % index, "%srandom-%d" % (PREFIX, index), **spec))
        run = run_playbook(local_play(tasks))
        assert_no_traceback(run)
        assert run.rc == 0, run
        for index, spec in enumerate(specs):
            assert run.result("apply %d" % index)["changed"], spec
            again = run.result("again %d" % index)
            assert not again["changed"], (spec, again["differences"], again["actions"])
    finally:
        remove_all()


# --- limits and the restart policy through each transition, in check mode and for real -----------------

MIB = 1024 * 1024
NO_LIMIT = "no limit"  # what the memory cgroup holds without a limit (a huge number)

# (case, first options, second options, what the change must do, {inspect path: value after}, cgroup memory
# limit after (bytes, NO_LIMIT or None to skip)). "unset" is the option not given; "no limit" its zero value.
TRANSITIONS = [
    ("memory-unset-set", {}, {"memory": "96m"}, "updated",
     {"HostConfig.Memory": 96 * MIB, "HostConfig.MemorySwap": 192 * MIB}, 96 * MIB),
    ("memory-set-other", {"memory": "64m"}, {"memory": "128m"}, "updated",
     {"HostConfig.Memory": 128 * MIB, "HostConfig.MemorySwap": 256 * MIB}, 128 * MIB),
    ("memory-set-lower", {"memory": "128m"}, {"memory": "64m"}, "updated", {"HostConfig.Memory": 64 * MIB}, 64 * MIB),
    ("memory-set-none", {"memory": "128m"}, {"memory": "0"}, "recreated",
     {"HostConfig.Memory": 0, "HostConfig.MemorySwap": 0}, NO_LIMIT),
    ("memory-unlimited-swap-raise", {"memory": "64m", "memory_swap": -1}, {"memory": "96m", "memory_swap": -1},
     "updated", {"HostConfig.Memory": 96 * MIB, "HostConfig.MemorySwap": -1}, 96 * MIB),
    ("reservation-unset-set", {}, {"memory_reservation": "32m"}, "updated", {"HostConfig.MemoryReservation": 32 * MIB},
     None),
    ("reservation-set-other", {"memory_reservation": "32m"}, {"memory_reservation": "48m"}, "updated",
     {"HostConfig.MemoryReservation": 48 * MIB}, None),
    ("reservation-set-none", {"memory_reservation": "32m"}, {"memory_reservation": "0"}, "recreated",
     {"HostConfig.MemoryReservation": 0}, None),
    ("swap-unset-set", {"memory": "64m"}, {"memory": "64m", "memory_swap": "256m"}, "updated",
     {"HostConfig.Memory": 64 * MIB, "HostConfig.MemorySwap": 256 * MIB}, 64 * MIB),
    ("swap-set-other", {"memory": "64m", "memory_swap": "256m"}, {"memory": "64m", "memory_swap": "512m"}, "updated",
     {"HostConfig.MemorySwap": 512 * MIB}, 64 * MIB),
    ("swap-set-unlimited", {"memory": "64m", "memory_swap": "256m"}, {"memory": "64m", "memory_swap": -1}, "updated",
     {"HostConfig.MemorySwap": -1}, 64 * MIB),
    ("swap-unlimited-default", {"memory": "64m", "memory_swap": -1}, {"memory": "64m", "memory_swap": 0}, "updated",
     {"HostConfig.MemorySwap": 128 * MIB}, 64 * MIB),
    ("cpus-unset-set", {}, {"cpus": 0.5}, "updated", {"HostConfig.NanoCpus": 500000000}, None),
    ("cpus-set-other", {"cpus": 0.5}, {"cpus": 1}, "updated", {"HostConfig.NanoCpus": 1000000000}, None),
    ("cpus-set-none", {"cpus": 0.5}, {"cpus": 0}, "recreated", {"HostConfig.NanoCpus": 0}, None),
    ("shares-unset-set", {}, {"cpu_shares": 512}, "updated", {"HostConfig.CpuShares": 512}, None),
    ("shares-set-other", {"cpu_shares": 512}, {"cpu_shares": 1024}, "updated", {"HostConfig.CpuShares": 1024}, None),
    ("shares-set-none", {"cpu_shares": 512}, {"cpu_shares": 0}, "recreated", {"HostConfig.CpuShares": 0}, None),
    ("cpuset-unset-set", {}, {"cpuset_cpus": "0"}, "updated", {"HostConfig.CpusetCpus": "0"}, None),
    ("cpuset-set-other", {"cpuset_cpus": "0"}, {"cpuset_cpus": "0-1"}, "updated", {"HostConfig.CpusetCpus": "0-1"},
     None),
    ("cpuset-set-none", {"cpuset_cpus": "0"}, {"cpuset_cpus": ""}, "recreated", {"HostConfig.CpusetCpus": ""}, None),
    ("pids-unset-set", {}, {"pids_limit": 100}, "updated", {"HostConfig.PidsLimit": 100}, None),
    ("pids-set-other", {"pids_limit": 100}, {"pids_limit": 200}, "updated", {"HostConfig.PidsLimit": 200}, None),
    ("pids-set-none", {"pids_limit": 100}, {"pids_limit": -1}, "updated", {"HostConfig.PidsLimit": 0}, None),
    ("restart-unset-set", {}, {"restart_policy": "always"}, "updated", {"HostConfig.RestartPolicy.Name": "always"},
     None),
    ("restart-set-other", {"restart_policy": "always"}, {"restart_policy": "unless-stopped"}, "updated",
     {"HostConfig.RestartPolicy.Name": "unless-stopped"}, None),
    ("restart-set-none", {"restart_policy": "always"}, {"restart_policy": "no"}, "updated",
     {"HostConfig.RestartPolicy.Name": "no"}, None),
    ("retries-unset-set", {"restart_policy": "on-failure"}, {"restart_policy": "on-failure", "restart_retries": 3},
     "updated", {"HostConfig.RestartPolicy.MaximumRetryCount": 3}, None),
    ("retries-set-other", {"restart_policy": "on-failure", "restart_retries": 3},
     {"restart_policy": "on-failure", "restart_retries": 5}, "updated",
     {"HostConfig.RestartPolicy.MaximumRetryCount": 5}, None),
    ("retries-set-none", {"restart_policy": "on-failure", "restart_retries": 3},
     {"restart_policy": "on-failure", "restart_retries": 0}, "updated",
     {"HostConfig.RestartPolicy.MaximumRetryCount": 0}, None),
    ("restart-on-auto-remove", {"auto_remove": True}, {"restart_policy": "always"}, "recreated",
     {"HostConfig.RestartPolicy.Name": "always", "HostConfig.AutoRemove": False}, None),
    # together with other changes
    ("together-unset-set", {}, {"memory": "96m", "cpus": 0.5, "pids_limit": 50, "restart_policy": "always"},
     "updated", {"HostConfig.Memory": 96 * MIB, "HostConfig.NanoCpus": 500000000, "HostConfig.PidsLimit": 50,
                 "HostConfig.RestartPolicy.Name": "always"}, 96 * MIB),
    ("together-remove-and-set", {"memory": "64m", "cpus": 0.5}, {"memory": "0", "cpus": 1}, "recreated",
     {"HostConfig.Memory": 0, "HostConfig.NanoCpus": 1000000000}, NO_LIMIT),
    ("together-with-env", {"env": {"V": "1"}}, {"env": {"V": "2"}, "memory": "96m"}, "recreated",
     {"HostConfig.Memory": 96 * MIB, "Config.Env": "V=2"}, 96 * MIB),
    ("together-with-start", {"state": "stopped"}, {"memory": "96m", "state": "started"}, "updated",
     {"HostConfig.Memory": 96 * MIB, "State.Running": True}, 96 * MIB),
    ("stopped-unset-set", {"state": "stopped"}, {"memory": "96m", "state": "stopped"}, "updated",
     {"HostConfig.Memory": 96 * MIB, "HostConfig.MemorySwap": 192 * MIB, "State.Running": False}, None),
    ("cpu-period-unset-set", {}, {"cpu_period": 50000}, "updated", {"HostConfig.CpuPeriod": 50000}, None),
    ("cpu-period-set-none", {"cpu_period": 50000}, {"cpu_period": 0}, "recreated", {"HostConfig.CpuPeriod": 0}, None),
    ("cpu-quota-and-period", {}, {"cpu_period": 100000, "cpu_quota": 20000}, "updated",
     {"HostConfig.CpuPeriod": 100000, "HostConfig.CpuQuota": 20000}, None),
    ("cpu-quota-set-none", {"cpu_quota": 50000}, {"cpu_quota": -1}, "recreated", {"HostConfig.CpuQuota": -1}, None),
    ("cpuset-mems-set-all", {"cpuset_mems": "0"}, {"cpuset_mems": ""}, "recreated", {"HostConfig.CpusetMems": ""},
     None),
    ("kernel-memory-with-memory", {"memory": "64m"}, {"memory": "96m", "kernel_memory": "8m"}, "updated",
     {"HostConfig.Memory": 96 * MIB, "HostConfig.KernelMemory": 8 * MIB}, 96 * MIB),
]


def path_value(data, path):
    for key in path.split("."):
        data = (data or {}).get(key)
    return data


def memory_cgroup(container_id):
    """The memory limit the kernel holds for a running container (cgroup v1, cgroupfs driver), or None."""
    for base in ("/sys/fs/cgroup/memory/docker", "/sys/fs/cgroup/memory/system.slice"):
        for name in (container_id, "docker-%s.scope" % container_id):
            path = "%s/%s/memory.limit_in_bytes" % (base, name)
            try:
                with open(path) as handle:
                    value = int(handle.read())
            except OSError:
                continue
            return NO_LIMIT if value >= 1 << 60 else value
    return None


def worker_inventory(tmp_path, count=WORKERS):
    workers = ["worker%d" % index for index in range(count)]
    inventory = tmp_path / "workers.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {worker: {"ansible_connection": "local"}
                                                       for worker in workers}}}))
    return workers, str(inventory)


def spread(workers, steps_by_case):
    """One free-strategy play that runs each case's steps, in order, on one of the local workers."""
    tasks = []
    for index, steps in enumerate(steps_by_case):
        for step in steps:
            step["when"] = "inventory_hostname == %r" % workers[index % len(workers)]
            tasks.append(step)
    return [{"name": "cases", "hosts": "all", "gather_facts": False, "strategy": "free", "tasks": tasks,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}}]


def _env(container):
    return dict(item.partition("=")[::2] for item in container["Config"]["Env"] or [])


def _mounts(container):
    return sorted((m["Type"], m.get("Name") if m.get("Name") == VOLUME else "", m["Destination"], m["RW"])
                  for m in container["Mounts"] or [])


def _host_mounts(container):
    return [(m["Type"], m.get("Source", ""), m["Target"], bool(m.get("ReadOnly")))
            for m in container["HostConfig"]["Mounts"] or []]


def _caps(key):
    return lambda container: sorted(cap[4:] if cap.startswith("CAP_") else cap
                                    for cap in container["HostConfig"][key] or [])


def _container_name(mode):
    """``container:<ID>`` (what the engine records) -> ``container:<name>``."""
    if not (mode or "").startswith("container:"):
        return mode
    found = inspect(mode[len("container:"):])
    return "container:" + found["Name"].lstrip("/") if found else mode


# The cgroup files some readbacks check, read right after each step (the next step changes them).
CGROUP_FILES = (("cpu", "cpu.cfs_period_us"), ("cpu", "cpu.cfs_quota_us"), ("memory", "memory.swappiness"))


def read_cgroups(container_id):
    """{(controller, file): value} the kernel holds for a running container (cgroup v1, cgroupfs driver)."""
    found = {}
    for controller, key in CGROUP_FILES:
        try:
            with open("/sys/fs/cgroup/%s/docker/%s/%s" % (controller, container_id, key)) as handle:
                found[(controller, key)] = handle.read().strip()
        except OSError:
            found[(controller, key)] = None
    return found


def _cgroup(container, controller, key):
    """A value the kernel held for the container when the step had run."""
    return container["cgroups"][(controller, key)]


def _path(path, convert=None):
    def read(container):
        value = path_value(container, path)
        return convert(value) if convert else value
    return read


# option -> (how to read the value from docker inspect, the value after the first task, after the second)
READBACK = {
    "command": (_path("Config.Cmd"), ["sleep", "3600"], ["sleep", "3601"]),
    "entrypoint": (_path("Config.Entrypoint"), ["sleep"], ["/bin/sleep"]),
    "env": (lambda c: (_env(c)["A"], _env(c)["DB_PASSWORD"]), ("1", "s3cret"), ("1", "other")),
    "labels": (_path("Config.Labels.team"), "a", "b"),
    "published_ports": (_path("HostConfig.PortBindings"), {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18101"}]},
                        {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18102"}],
                         "81/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}),
    "exposed_ports": (_path("Config.ExposedPorts", sorted), ["8080/tcp"], ["53/udp", "8080/tcp"]),
    "volumes": (_mounts, [("volume", "", "/data", True)], [("volume", VOLUME, "/data", False)]),
    "mounts": (_host_mounts, [("tmpfs", "", "/scratch", False)], [("volume", VOLUME, "/scratch", True)]),
    "networks": (_path("NetworkSettings.Networks", sorted), NETWORKS[:1], NETWORKS),
    "network_mode": (_path("HostConfig.NetworkMode"), "none", "bridge"),
    "restart_policy": (_path("HostConfig.RestartPolicy.Name"), "always", "unless-stopped"),
    "restart_retries": (_path("HostConfig.RestartPolicy.MaximumRetryCount"), 3, 5),
    "memory": (lambda c: (c["HostConfig"]["Memory"], c["memory_cgroup"]), (64 * MIB, 64 * MIB),
               (128 * MIB, 128 * MIB)),
    "memory_reservation": (_path("HostConfig.MemoryReservation"), 32 * MIB, 48 * MIB),
    "memory_swap": (_path("HostConfig.MemorySwap"), 128 * MIB, 256 * MIB),
    "cpus": (_path("HostConfig.NanoCpus"), 500000000, 1000000000),
    "cpu_shares": (_path("HostConfig.CpuShares"), 512, 1024),
    "cpuset_cpus": (_path("HostConfig.CpusetCpus"), "0", "0-1"),
    "pids_limit": (_path("HostConfig.PidsLimit"), 100, 200),
    "ulimits": (_path("HostConfig.Ulimits"), [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
                [{"Name": "nofile", "Soft": 2048, "Hard": 4096}]),
    "healthcheck": (_path("Config.Healthcheck"), {"Test": ["CMD", "true"], "Interval": 1000000000},
                    {"Test": ["CMD-SHELL", "true"], "Interval": 2000000000, "Retries": 2}),
    "user": (_path("Config.User"), "1000", "1000:1000"),
    "working_dir": (_path("Config.WorkingDir"), "/tmp", "/"),
    "hostname": (_path("Config.Hostname"), "alpha", "beta"),
    "capabilities": (_caps("CapAdd"), ["NET_ADMIN"], ["NET_ADMIN", "SYS_TIME"]),
    "cap_drop": (_caps("CapDrop"), ["MKNOD"], ["MKNOD", "NET_RAW"]),
    "read_only": (_path("HostConfig.ReadonlyRootfs", bool), True, False),
    "tmpfs": (_path("HostConfig.Tmpfs"), {"/run": "size=1m"}, {"/run": "size=2m"}),
    "log_driver": (_path("HostConfig.LogConfig.Type"), "json-file", "local"),
    "log_options": (_path("HostConfig.LogConfig.Config"), {"max-size": "1m"}, {"max-size": "2m", "max-file": "3"}),
    "privileged": (_path("HostConfig.Privileged", bool), True, False),
    "init": (_path("HostConfig.Init", bool), True, False),
    "devices": (_path("HostConfig.Devices"),
                [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull", "CgroupPermissions": "rwm"}],
                [{"PathOnHost": "/dev/zero", "PathInContainer": "/dev/xnull", "CgroupPermissions": "r"}]),
    "sysctls": (_path("HostConfig.Sysctls"), {"net.core.somaxconn": "1024"}, {"net.core.somaxconn": "2048"}),
    "dns_servers": (_path("HostConfig.Dns"), ["10.0.0.1"], ["10.0.0.2", "10.0.0.1"]),
    "etc_hosts": (_path("HostConfig.ExtraHosts"), ["db:10.0.0.5"], ["db:10.0.0.6"]),
    "stop_signal": (_path("Config.StopSignal"), "SIGKILL", "SIGINT"),
    "stop_timeout": (_path("Config.StopTimeout"), 1, 2),
    "cgroup_parent": (_path("HostConfig.CgroupParent"), "/dh-ct-a", "/dh-ct-b"),
    "cgroupns_mode": (_path("HostConfig.CgroupnsMode"), "private", "host"),
    "shm_size": (_path("HostConfig.ShmSize"), 64 * MIB, 128 * MIB),
    "security_opts": (_path("HostConfig.SecurityOpt", sorted), ["no-new-privileges"],
                      ["label=disable", "no-new-privileges"]),
    "auto_remove": (_path("HostConfig.AutoRemove", bool), True, False),
    "pid_mode": (_path("HostConfig.PidMode", _container_name), "container:" + HELPER, "host"),
    "ipc_mode": (_path("HostConfig.IpcMode", _container_name), "container:" + HELPER, "private"),
    "uts": (_path("HostConfig.UTSMode"), "host", ""),
    "userns_mode": (_path("HostConfig.UsernsMode"), "host", ""),
    "cpu_period": (lambda c: (c["HostConfig"]["CpuPeriod"], _cgroup(c, "cpu", "cpu.cfs_period_us")),
                   (100000, "100000"), (50000, "50000")),
    "cpu_quota": (lambda c: (c["HostConfig"]["CpuQuota"], _cgroup(c, "cpu", "cpu.cfs_quota_us")),
                  (50000, "50000"), (100000, "100000")),
    "cpuset_mems": (_path("HostConfig.CpusetMems"), "", "0"),
    "device_read_bps": (_path("HostConfig.BlkioDeviceReadBps"), [{"Path": DISK, "Rate": 20 * MIB}],
                        [{"Path": DISK, "Rate": 10 * MIB}]),
    "device_write_bps": (_path("HostConfig.BlkioDeviceWriteBps"), [{"Path": DISK, "Rate": 20 * MIB}],
                         [{"Path": DISK, "Rate": MIB}]),
    "device_read_iops": (_path("HostConfig.BlkioDeviceReadIOps"), [{"Path": DISK, "Rate": 100}],
                         [{"Path": DISK, "Rate": 200}]),
    "device_write_iops": (_path("HostConfig.BlkioDeviceWriteIOps"), [{"Path": DISK, "Rate": 100}],
                          [{"Path": DISK, "Rate": 50}]),
    "memory_swappiness": (lambda c: (c["HostConfig"]["MemorySwappiness"], _cgroup(c, "memory", "memory.swappiness")),
                          (30, "30"), (60, "60")),
    "oom_killer": (_path("HostConfig.OomKillDisable", bool), True, False),
    "oom_score_adj": (_path("HostConfig.OomScoreAdj"), 100, 200),
    "kernel_memory": (_path("HostConfig.KernelMemory"), 8 * MIB, 16 * MIB),
    "device_cgroup_rules": (_path("HostConfig.DeviceCgroupRules"), ["c 42:* rmw"], ["c 42:* rmw", "b 7:* r"]),
    "runtime": (_path("HostConfig.Runtime"), "runc", "io.containerd.runc.v2"),
    "env_file": (lambda c: (_env(c).get("FROM"), _env(c).get("FILE_ONLY")), ("file", "1"), ("task", "2")),
    "groups": (_path("HostConfig.GroupAdd", sorted), ["1234"], ["1234", "5678"]),
    "domainname": (_path("Config.Domainname"), "example.com", "example.org"),
    "mac_address": (lambda c: (c["Config"].get("MacAddress"), c["NetworkSettings"]["MacAddress"]),
                    ("02:42:ac:11:fe:01",) * 2, ("02:42:ac:11:fe:02",) * 2),
    "dns_opts": (_path("HostConfig.DnsOptions", sorted), ["rotate"], ["rotate", "timeout:10"]),
    "dns_search_domains": (_path("HostConfig.DnsSearch"), ["example.com"], ["example.org", "example.com"]),
    "links": (_path("HostConfig.Links", lambda links: [link.split("/")[-1] for link in links or []]),
              ["one"], ["two"]),
    "volumes_from": (_path("HostConfig.VolumesFrom"), [HELPER], [HELPER + ":ro"]),
    "volume_driver": (_path("HostConfig.VolumeDriver"), "local", ""),
    "publish_all_ports": (lambda c: (bool(c["HostConfig"]["PublishAllPorts"]),
                                     bool((c["NetworkSettings"]["Ports"] or {}).get("8080/tcp"))),
                          (True, True), (False, False)),
    "default_host_ip": (_path("HostConfig.PortBindings"), {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18111"}]},
                        {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18111"}]}),
    "tty": (_path("Config.Tty", bool), True, False),
    "interactive": (_path("Config.OpenStdin", bool), True, False),
}


def test_every_option_has_a_readback():
    assert set(READBACK) | set(NOT_ROUND_TRIPPED) == set(OPTIONS_BY_NAME)


def test_every_option_round_trips(run_playbook, clean, tmp_path):
    """Each option: apply, apply again (no change), change, change again (no change). Judged by what docker
    inspect (and the memory cgroup) reports, never by the module's word: the value after each step, and an
    update in place (same container ID and StartedAt) told from a recreate (a new ID)."""
    workers, inventory = worker_inventory(tmp_path)
    setup = {"name": "networks and volume", "hosts": workers[0], "gather_facts": False, "tasks": setup_tasks(),
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}}
    names = {option: PREFIX + option.replace("_", "-") for option in CASES}

    def apply(step, which):
        steps = [[container_task("%s %s" % (option, step), names[option], **case[which]),
                  container_task("%s %s again" % (option, step), names[option], **case[which])]
                 for option, case in CASES.items()]
        run = run_playbook(([setup] if which == 0 else []) + spread(workers, steps), inventory=inventory, diff=True)
        assert_no_traceback(run)
        assert run.rc == 0, "\n".join(line for line in run.output.splitlines() if "fatal:" in line)[-6000:]
        found = {option: inspect(names[option]) for option in CASES}
        for container in found.values():  # what the kernel holds now (the next step changes it in place)
            if container is not None:
                container["memory_cgroup"] = memory_cgroup(container["Id"])
                container["cgroups"] = read_cgroups(container["Id"])
        return run, found

    first_run, first = apply("first", 0)
    second_run, second = apply("second", 1)
    problems = []
    for option, (_first, _second, action) in CASES.items():
        read, value_first, value_second = READBACK[option]
        for label, found, wanted in (("first", first[option], value_first), ("second", second[option], value_second)):
            if found is None:
                problems.append("%s: no container after the %s task" % (option, label))
                continue
            if read(found) != wanted:
                problems.append("%s: docker inspect after the %s task has %r, expected %r"
                                % (option, label, read(found), wanted))
        if first[option] is None or second[option] is None:
            continue
        same_id = second[option]["Id"] == first[option]["Id"]
        same_start = second[option]["State"]["StartedAt"] == first[option]["State"]["StartedAt"]
        if action == "updated" and not (same_id and same_start):
            problems.append("%s: should change in place, but docker reports %s" % (
                option, "a new container" if not same_id else "a restart"))
        if action == "recreated" and same_id:
            problems.append("%s: should recreate, but docker reports the same container" % option)
        for run, label in ((first_run, "first"), (second_run, "second")):
            if run.result("%s %s again" % (option, label))["changed"]:
                problems.append("%s: the %s value does not settle" % (option, label))
    assert not problems, "\n".join(problems)
    env_diff = second_run.result("env second")["diff"]
    assert env_diff["before"]["env"]["DB_PASSWORD"] == "********"
    assert env_diff["after"]["env"]["DB_PASSWORD"] == "******** (changed)"
    assert "s3cret" not in first_run.output + second_run.output and "other" not in json.dumps(env_diff)
    # a number among the logging options is taken as its text, with community.docker's warning
    logged = second_run.result("log_options second")
    assert "Non-string value found for log_options option 'max-file'. The value is automatically converted to '3'." \
        in " ".join(logged.get("warnings") or []), logged
    shown_env = first_run.result("env first")["container"]["Config"]["Env"]  # the inspect, secrets masked
    assert "DB_PASSWORD=********" in shown_env and "A=1" in shown_env


def test_in_place_transitions_predicted_and_done(run_playbook, clean, tmp_path):
    """Every option updated in place, through unset -> set, set -> other, set -> none, alone and with other
    changes: check mode predicts what the run does, docker inspect (and the memory cgroup) has the value, an
    update keeps the container's ID and start time, a transition the engine cannot make recreates, a rerun
    changes nothing."""
    workers, inventory = worker_inventory(tmp_path)
    names = {case: PREFIX + "tr-" + case for case, *_rest in TRANSITIONS}
    first = spread(workers, [[container_task("%s first" % case, names[case], **before)]
                             for case, before, *_rest in TRANSITIONS])
    run = run_playbook(first, inventory=inventory)
    assert_no_traceback(run)
    assert run.rc == 0, run
    before = {case: inspect(names[case]) for case in names}

    steps = []
    for case, _before, after, *_rest in TRANSITIONS:
        predicted = container_task("%s predicted" % case, names[case], **after)
        predicted["check_mode"] = True
        steps.append([predicted, container_task("%s change" % case, names[case], **after),
                      container_task("%s again" % case, names[case], **after)])
    run = run_playbook(spread(workers, steps), inventory=inventory, diff=True)
    assert_no_traceback(run)
    assert run.rc == 0, run
    problems = []
    for case, _first, _second, kind, expected, cgroup in TRANSITIONS:
        old, new = before[case], inspect(names[case])
        predicted, done, again = (run.result("%s %s" % (case, step)) for step in ("predicted", "change", "again"))
        if predicted["actions"] != done["actions"]:
            problems.append("%s: check mode predicted %s, the run did %s" % (case, predicted["actions"],
                                                                             done["actions"]))
        if kind not in done["actions"]:
            problems.append("%s: expected %s, the run did %s" % (case, kind, done["actions"]))
        same_container = new["Id"] == old["Id"]
        if same_container != (kind == "updated"):
            problems.append("%s: %s, but docker reports the container ID %s" % (
                case, kind, "kept" if same_container else "changed"))
        if kind == "updated" and old["State"]["Running"] and new["State"]["StartedAt"] != old["State"]["StartedAt"]:
            problems.append("%s: updated in place, but the container was restarted" % case)
        for path, value in expected.items():
            found = path_value(new, path)
            if path == "Config.Env":
                found = value if value in found else found
            if path == "HostConfig.PidsLimit" and value == 0:
                found = 0 if found in (None, 0, -1) else found
            if found != value:
                problems.append("%s: docker inspect has %s = %r, expected %r" % (case, path, found, value))
        if cgroup is not None and memory_cgroup(new["Id"]) != cgroup:
            problems.append("%s: the memory cgroup holds %r, expected %r" % (case, memory_cgroup(new["Id"]), cgroup))
        if again["changed"]:
            problems.append("%s: the rerun changed %s (%s)" % (case, again["differences"], again["actions"]))
    assert not problems, "\n".join(problems)


# --- containers that exit and remove themselves while the module works on them ----------------------------

# (step, the second task's options): the second task runs while the first one's container (auto_remove,
# `sleep 1`, or a command that exits at once) is exiting, being removed or gone.
VANISHING_STEPS = [
    ("absent", {"state": "absent", "image": None}),
    ("started", {"auto_remove": True, "command": ["sh", "-c", "sleep 1"]}),
    ("present", {"auto_remove": True, "command": ["sh", "-c", "sleep 1"], "env": {"STEP": "present"},
                 "state": "present"}),
    ("stopped", {"auto_remove": True, "command": ["sh", "-c", "sleep 1"], "state": "stopped"}),
    ("recreate", {"auto_remove": True, "command": ["sh", "-c", "sleep 1"], "recreate": True}),
    ("update", {"auto_remove": True, "command": ["sh", "-c", "sleep 1"], "memory": "96m"}),
]
VANISHING_DELAYS = ["0", "0.2", "0.4", "0.7"]


def test_containers_that_remove_themselves_at_each_step(run_playbook, clean, tmp_path):
    """A container with auto_remove that exits at once or after a second, followed by each kind of task while it
    exits and removes itself: no crash, no failure; absent leaves nothing behind."""
    workers, inventory = worker_inventory(tmp_path)
    cases = []
    for step, options in VANISHING_STEPS:
        for delay in VANISHING_DELAYS:
            name = "%svanish-%s-%s" % (PREFIX, step, delay.replace(".", ""))
            command = ["/bin/sh", "-c", "echo"] if step == "absent" else ["sh", "-c", "sleep 1"]
            cases.append((step, name, [
                container_task("%s %s start" % (step, delay), name, auto_remove=True, command=command),
                {"name": "%s %s wait" % (step, delay), "ansible.builtin.command": "sleep %s" % delay,
                 "changed_when": False},
                container_task("%s %s step" % (step, delay), name, **options)]))
    run = run_playbook(spread(workers, [steps for _step, _name, steps in cases]), inventory=inventory)
    assert_no_traceback(run)
    failed = ["%s: %s" % (r["task"], r["result"].get("msg")) for r in run.records if r["status"] == "failed"]
    assert not failed, "\n".join(failed)
    assert run.rc == 0, run
    for step, name, _steps in cases:
        if step == "absent":
            assert inspect(name) is None, name


class RemovingProxy(VanishingProxy):
    """A proxy in front of dockerd that removes a container just before it forwards the first request matching
    ``remove_at``: that call then meets a container that is gone, every time."""

    def __init__(self, path, remove_at, container):
        super().__init__(path, rb"^$ never")
        self.remove_at = re.compile(remove_at)
        self.container = container
        self.removed = False

    def on_request(self, line):
        if not self.removed and self.remove_at.search(line):
            self.removed = True
            docker("rm", "-f", self.container, check=False)
        return True


# (case, options of the first task, options of the task that meets the removed container, the call before which
# the container is removed, what must be true afterwards: None = absent, True = running, False = there, stopped)
REMOVED_BEFORE = [
    ("stop", {}, {"state": "stopped"}, "stop", False),
    ("absent", {}, {"state": "absent", "image": None}, "stop", None),
    ("update", {}, {"memory": "96m"}, "update", True),
    ("restart", {}, {"restart": True}, "restart", True),
    ("start", {"state": "stopped"}, {"state": "started"}, "start", True),
    ("recreate", {"env": {"V": "1"}}, {"env": {"V": "2"}}, "stop", True),
]


@pytest.mark.parametrize(("case", "first", "second", "call", "after"), REMOVED_BEFORE,
                         ids=[case[0] for case in REMOVED_BEFORE])
def test_a_container_removed_between_inspect_and_call(run_playbook, clean, tmp_path, case, first, second, call,
                                                      after):
    """The container is removed (as auto_remove does) right before the call that follows the module's inspect:
    404 is handled; the task ends in the state it asks for."""
    name = PREFIX + "gone-" + case
    run = run_playbook(local_play([container_task("first", name, **first)]))
    assert run.rc == 0, run
    proxy = RemovingProxy(str(tmp_path / "docker.sock"), rb"^POST /v[0-9.]+/containers/[^/ ]+/%s" % call.encode(),
                          name)
    try:
        run = run_playbook(local_play([container_task("second", name, docker_host="unix://%s" % proxy.path,
                                                      **second)]))
    finally:
        proxy.close()
    assert_no_traceback(run)
    assert proxy.removed, proxy.requests
    assert run.rc == 0, run
    found = inspect(name)
    if after is None:
        assert found is None
    else:
        assert found is not None and found["State"]["Running"] == after, found and found["State"]


def test_a_port_conflict_leaves_the_old_container_running(run_playbook, clean):
    """Host ports are checked before the old container is touched: one another container publishes, and one a
    process on the host holds. The task fails naming published_ports and the holder; actions say nothing
    happened; the old container keeps its ID, its start time and its port."""
    holder, user = PREFIX + "port-holder", PREFIX + "port-user"
    run = run_playbook(local_play([container_task("holder", holder, published_ports=["127.0.0.1:18190:80"]),
                                   container_task("user", user, published_ports=["127.0.0.1:18191:80"])]))
    assert run.rc == 0, run
    before = inspect(user)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 18192))
    listener.listen(1)
    try:
        tasks = [container_task("taken by a container", user, published_ports=["127.0.0.1:18190:80"]),
                 container_task("taken on the host", user, published_ports=["127.0.0.1:18192:80"])]
        for task in tasks:
            task["ignore_errors"] = True
        run = run_playbook(local_play(tasks))
    finally:
        listener.close()
    assert_no_traceback(run)
    by_container, on_host = run.result("taken by a container"), run.result("taken on the host")
    assert run.status("taken by a container") == "failed" and run.status("taken on the host") == "failed"
    assert "published_ports" in by_container["msg"] and holder in by_container["msg"], by_container["msg"]
    assert "18190/tcp" in by_container["msg"] and "was not touched" in by_container["msg"], by_container["msg"]
    assert "18192/tcp" in on_host["msg"] and "in use on the host" in on_host["msg"], on_host["msg"]
    for result in (by_container, on_host):
        assert result["actions"] == [] and result["changed"] is False, result
    after = inspect(user)
    assert after["Id"] == before["Id"] and after["State"]["Running"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"], "the old container was stopped"
    assert after["HostConfig"]["PortBindings"] == before["HostConfig"]["PortBindings"]
    names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert sorted(n for n in names if n.startswith(PREFIX)) == sorted([holder, user]), names


# --- many forks on one daemon -------------------------------------------------------------------------------

SCALE_CONTAINERS = 50
SCALE_FORKS = 20


def test_twenty_forks_deploy_fifty_containers_in_three_rounds(run_playbook, clean, tmp_path):
    """50 containers on one dockerd from 20 forks at once: created, updated in place, recreated; every round
    without an error, and a rerun of the last one changes nothing."""
    hosts = {"c%02d" % index: {"ansible_connection": "local"} for index in range(SCALE_CONTAINERS)}
    inventory = tmp_path / "many.yml"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    (tmp_path / "ansible.cfg").write_text("[defaults]\nforks = %d\n" % SCALE_FORKS)  # ansible-playbook runs here

    def round_play(label, **options):
        task = container_task(label, PREFIX + "scale-{{ inventory_hostname }}", **options)
        return [{"name": label, "hosts": "all", "gather_facts": False, "tasks": [task],
                 "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}}]

    rounds = [("create", {"memory": "32m", "env": {"ROUND": "1"}}, "created"),
              ("update", {"memory": "48m", "env": {"ROUND": "1"}}, "updated"),
              ("recreate", {"memory": "48m", "env": {"ROUND": "3"}}, "recreated"),
              ("rerun", {"memory": "48m", "env": {"ROUND": "3"}}, None)]
    for label, options, action in rounds:
        run = run_playbook(round_play(label, **options), inventory=str(inventory))
        assert_no_traceback(run)
        failed = ["%s: %s" % (r["host"], r["result"].get("msg")) for r in run.records if r["status"] == "failed"]
        assert not failed, "%s: %d errors:\n%s" % (label, len(failed), "\n".join(failed[:10]))
        assert run.rc == 0, run
        results = run.results(label)
        assert len(results) == SCALE_CONTAINERS
        if action is None:
            changed = [r["host"] for r in results if r["result"]["changed"]]
            assert changed == [], "the rerun changed %s" % changed
        else:
            assert all(action in r["result"]["actions"] for r in results), label
    running = docker("ps", "--filter", "name=%sscale-" % PREFIX, "--format", "{{.Names}}").stdout.split()
    assert len(running) == SCALE_CONTAINERS
    memory = {inspect(name)["HostConfig"]["Memory"] for name in running}
    assert memory == {48 * MIB}


def test_options_this_engine_cannot_honour(run_playbook, clean):
    """The options of NOT_ROUND_TRIPPED on this machine: never dropped silently. The engine refuses storage_opts
    and a GPU request by name, with the old container untouched; it discards blkio_weight with a warning the
    module passes on; platform settles for the engine's own and is refused (with a warning) for another; and
    kernel_memory and a bad env_file say what they are."""
    created, kept = PREFIX + "cannot-new", PREFIX + "cannot-kept"
    gpu = [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}]
    steps = [
        container_task("storage_opts on create", created, storage_opts={"size": "1G"}),
        container_task("device_requests on create", created, device_requests=gpu),
        container_task("kept", kept),
        container_task("storage_opts on a recreate", kept, storage_opts={"size": "1G"}),
        container_task("device_requests on a recreate", kept, device_requests=gpu),
        container_task("blkio_weight", created, blkio_weight=300),
        container_task("platform of the engine", kept, platform="linux/amd64"),
        container_task("platform of the engine again", kept, platform="linux/amd64"),
        container_task("another platform", kept, platform="linux/arm64"),
        container_task("kernel_memory", kept, kernel_memory="8m"),
        container_task("bad env_file", created, env_file=ENV_FILES[0]),
    ]
    for step in steps:
        step["ignore_errors"] = True
    bad_env = {"name": "bad env file",
               "ansible.builtin.copy": {"dest": ENV_FILES[0], "mode": "0600", "content": "A=1\nTOKENs3cr3t\n"}}
    run = run_playbook(local_play(steps[:6] + steps[6:10] + [bad_env, steps[10]]))
    assert_no_traceback(run)

    for task in ("storage_opts on create", "storage_opts on a recreate"):
        result = run.result(task)
        assert run.status(task) == "failed" and "storage_opts" in result["msg"] and "xfs" in result["msg"], result
    for task in ("device_requests on create", "device_requests on a recreate"):
        result = run.result(task)
        assert run.status(task) == "failed" and "device_requests" in result["msg"], result
        assert any(w.startswith("device_requests: the engine starts") for w in result.get("warnings", [])), result
    kept_after = inspect(kept)
    assert kept_after["State"]["Running"] and not kept_after["HostConfig"].get("StorageOpt")
    assert not kept_after["HostConfig"].get("DeviceRequests")

    blkio = run.result("blkio_weight")
    weight_file = os.path.exists("/sys/fs/cgroup/blkio/blkio.weight") or os.path.exists("/sys/fs/cgroup/io.weight")
    if weight_file:
        assert inspect(created)["HostConfig"]["BlkioWeight"] == 300, blkio
    else:
        assert inspect(created)["HostConfig"]["BlkioWeight"] == 0, "the engine discarded it"
        assert any("Weight discarded" in w for w in blkio.get("warnings", [])), blkio

    assert run.result("platform of the engine")["changed"] is False  # the container runs linux/amd64 already
    assert run.result("platform of the engine again")["changed"] is False
    assert inspect(kept)["Platform"] == "linux"
    other = run.result("another platform")
    assert run.status("another platform") == "failed" and "platform" in other["msg"], other
    assert any(w.startswith("platform: the engine runs on linux/amd64") for w in other.get("warnings", [])), other
    assert inspect(kept)["Id"] == kept_after["Id"], "a refused platform leaves the container as it was"

    kernel = run.result("kernel_memory")
    assert any(w.startswith("kernel_memory: the engine records it but nothing enforces it")
               for w in kernel.get("warnings", [])), kernel
    bad = run.result("bad env_file")
    assert run.status("bad env_file") == "failed" and "line 2" in bad["msg"] and "s3cr3t" not in run.output, bad
