"""network and volume through ansible-playbook against the local dockerd.

Every network, volume and container here is named dockhand-test-nv-* and removed afterwards.
Subnets are taken from 10.231.0.0/16 (nothing else on this machine uses it).
"""

import json
import subprocess

import pytest
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

NET = "dockhand-test-nv-net"
VOL = "dockhand-test-nv-vol"
USER = "dockhand-test-nv-user"
IMAGE = "dockhand-lab/busybox:latest"


def docker(*args, check=True):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check)


def inspect(kind, name):
    done = docker(kind, "inspect", name, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def network_task(task_name="network", **options):
    options.setdefault("name", NET)
    return {"name": task_name, "dockhand.runtime.network": options, "register": "out"}


def volume_task(task_name="volume", **options):
    options.setdefault("name", VOL)
    return {"name": task_name, "dockhand.runtime.volume": options, "register": "out"}


def cleanup():
    docker("rm", "-f", USER, USER + "-stopped", check=False)
    docker("network", "rm", NET, check=False)
    docker("volume", "rm", VOL, check=False)


@pytest.fixture
def clean():
    cleanup()
    yield
    cleanup()


NETWORK = {
    "labels": {"com.example.team": "web", "tier": 1},
    "driver_options": {"com.docker.network.bridge.enable_icc": False},
    "internal": True,
    "ipam_config": [{"subnet": "10.231.1.0/24", "gateway": "10.231.1.1", "iprange": "10.231.1.128/25"}],
}


# --- network ------------------------------------------------------------------------------------

def test_network_create_check_diff_idempotent(run_playbook, clean):
    check = run_playbook(local_play([network_task(**NETWORK)]), check=True, diff=True)
    assert check.rc == 0, str(check)
    result = check.result("network")
    assert result["changed"] is True and result["actions"] == ["created"] and result["network"] is None
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["labels"] == {"com.example.team": "web", "tier": "1"}
    assert inspect("network", NET) is None, "check mode created the network"

    run = run_playbook(local_play([network_task("create", **NETWORK), network_task("again", **NETWORK)]),
                       diff=True)
    assert run.rc == 0, str(run)
    created, again = run.result("create"), run.result("again")
    assert created["changed"] is True and created["actions"] == ["created"]
    net = inspect("network", NET)
    assert created["network"]["Id"] == net["Id"]
    assert net["Labels"] == {"com.example.team": "web", "tier": "1"}
    assert net["Options"] == {"com.docker.network.bridge.enable_icc": "false"}
    assert net["Internal"] is True and net["Driver"] == "bridge"
    assert net["IPAM"]["Config"] == [{"Subnet": "10.231.1.0/24", "IPRange": "10.231.1.128/25",
                                      "Gateway": "10.231.1.1"}]
    assert again["changed"] is False and again["actions"] == [] and again["differences"] == []
    assert again["diff"]["before"] == again["diff"]["after"]
    assert_no_traceback(run)

    # only what the task sets is compared: a bare task leaves the network alone
    bare = run_playbook(local_play([network_task()]))
    assert bare.rc == 0, str(bare)
    assert bare.result("network")["changed"] is False
    assert inspect("network", NET)["Id"] == net["Id"]


def test_network_difference_recreates_an_unused_network(run_playbook, clean):
    docker("network", "create", "--label", "tier=1", "--subnet", "10.231.2.0/24", NET)
    old_id = inspect("network", NET)["Id"]
    wanted = {"labels": {"tier": "2"}, "ipam_config": [{"subnet": "10.231.2.0/24"}]}
    check = run_playbook(local_play([network_task(**wanted)]), check=True, diff=True)
    assert check.rc == 0, str(check)
    result = check.result("network")
    assert result["changed"] is True and result["actions"] == ["recreated"] and result["differences"] == ["labels"]
    assert result["diff"]["before"]["labels"] == {"tier": "1"} and result["diff"]["after"]["labels"] == {"tier": "2"}
    assert inspect("network", NET)["Id"] == old_id

    run = run_playbook(local_play([network_task("change", **wanted), network_task("again", **wanted)]))
    assert run.rc == 0, str(run)
    assert run.result("change")["actions"] == ["recreated"]
    net = inspect("network", NET)
    assert net["Id"] != old_id and net["Labels"] == {"tier": "2"}
    assert net["IPAM"]["Config"][0]["Subnet"] == "10.231.2.0/24"
    assert run.result("again")["changed"] is False


def test_network_in_use_is_not_recreated(run_playbook, clean):
    docker("network", "create", "--subnet", "10.231.3.0/24", NET)
    docker("run", "-d", "--name", USER, "--network", NET, IMAGE, "sleep", "600")
    docker("create", "--name", USER + "-stopped", "--network", NET, IMAGE, "true")
    old_id = inspect("network", NET)["Id"]
    for check in (True, False):
        run = run_playbook(local_play([network_task(driver_options={"com.docker.network.driver.mtu": "1400"})]),
                           check=check)
        assert run.rc != 0, str(run)
        result = run.result("network")
        assert result["containers"] == [USER, USER + "-stopped"]
        for words in (NET, "driver_options", USER, USER + "-stopped", "Nothing was changed"):
            assert words in result["msg"], result["msg"]
        assert_no_traceback(run)
    assert inspect("network", NET)["Id"] == old_id
    assert inspect("container", USER)["State"]["Running"] is True


def test_network_absent_needs_force_when_in_use(run_playbook, clean):
    docker("network", "create", NET)
    docker("run", "-d", "--name", USER, "--network", NET, IMAGE, "sleep", "600")
    refused = run_playbook(local_play([network_task(state="absent")]))
    assert refused.rc != 0
    assert USER in refused.result("network")["msg"] and "force: true" in refused.result("network")["msg"]
    assert inspect("network", NET) is not None

    check = run_playbook(local_play([network_task(state="absent", force=True)]), check=True)
    assert check.rc == 0, str(check)
    assert check.result("network")["actions"] == ["disconnected", "removed"]
    assert inspect("network", NET) is not None

    run = run_playbook(local_play([network_task("remove", state="absent", force=True),
                                   network_task("again", state="absent")]))
    assert run.rc == 0, str(run)
    assert run.result("remove")["changed"] is True and run.result("remove")["containers"] == [USER]
    assert inspect("network", NET) is None
    container = inspect("container", USER)
    assert container["State"]["Running"] is True and NET not in container["NetworkSettings"]["Networks"]
    assert run.result("again")["changed"] is False


def test_network_absent_does_not_match_an_id_prefix(run_playbook, clean):
    docker("network", "create", NET)
    prefix = inspect("network", NET)["Id"][:12]
    run = run_playbook(local_play([network_task(name=prefix, state="absent")]))
    assert run.rc == 0, str(run)
    assert run.result("network")["changed"] is False
    assert inspect("network", NET) is not None


@pytest.mark.parametrize("options, words", [
    ({"ipam_config": [{"subnet": "10.231.4.1/24"}]}, "ipam_config[0].subnet '10.231.4.1/24' has host bits set; "
                                                     "write 10.231.4.0/24"),
    ({"ipam_config": [{"subnet": "10.231.4.0/24", "gateway": "10.231.5.1"}]}, "ipam_config[0].gateway 10.231.5.1 is "
                                                                              "outside the subnet"),
    ({"ipam_config": [{"subnet": "10.231.4.0/24", "iprange": "10.231.0.0/16"}]}, "ipam_config[0].iprange"),
    ({"ipam_config": [{"subnet": "nonsense"}]}, "is not a subnet in CIDR form"),
    ({"ipam_config": [{"subnet": "10.231.4.0/24"}, {"subnet": "10.231.4.128/25"}]}, "overlap"),
    ({"ipam_config": [{"gateway": "10.231.4.1"}]}, "subnet"),
    ({"driver_options": {"com.docker.network.driver.mtu": "abc"}}, "cannot create network %s: failed to parse "
                                                                   "com.docker.network.driver.mtu" % NET),
    ({"driver": "host"}, "only one instance"),
])
def test_network_bad_input_changes_nothing(run_playbook, clean, options, words):
    run = run_playbook(local_play([network_task(**options)]))
    assert run.rc != 0
    assert words in run.result("network")["msg"], run.result("network")["msg"]
    assert inspect("network", NET) is None
    assert_no_traceback(run)


def test_predefined_network(run_playbook):
    run = run_playbook(local_play([network_task("same", name="bridge"),
                                   network_task("labels", name="bridge", labels={"a": "b"})]))
    assert run.rc != 0
    assert run.result("same")["changed"] is False
    assert "predefined" in run.result("labels")["msg"]
    assert_no_traceback(run)


# --- volume -------------------------------------------------------------------------------------

VOLUME = {"labels": {"com.example.backup": "daily"},
          "driver_options": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}}


def test_volume_create_check_diff_idempotent(run_playbook, clean):
    check = run_playbook(local_play([volume_task(**VOLUME)]), check=True, diff=True)
    assert check.rc == 0, str(check)
    result = check.result("volume")
    assert result["changed"] is True and result["actions"] == ["created"] and result["volume"] is None
    assert result["diff"] == {"before": {}, "after": dict(VOLUME, driver="local")}
    assert inspect("volume", VOL) is None, "check mode created the volume"

    run = run_playbook(local_play([volume_task("create", **VOLUME), volume_task("again", **VOLUME),
                                   volume_task("bare")]), diff=True)
    assert run.rc == 0, str(run)
    created = run.result("create")
    assert created["changed"] is True and created["actions"] == ["created"]
    vol = inspect("volume", VOL)
    assert created["volume"]["Name"] == VOL and created["volume"]["CreatedAt"] == vol["CreatedAt"]
    assert vol["Labels"] == VOLUME["labels"] and vol["Options"] == VOLUME["driver_options"]
    for task in ("again", "bare"):
        assert run.result(task)["changed"] is False and run.result(task)["actions"] == [], task
    assert run.result("again")["diff"]["before"] == run.result("again")["diff"]["after"]
    assert_no_traceback(run)


def test_volume_difference_is_refused_without_recreate(run_playbook, clean):
    docker("volume", "create", "--label", "com.example.backup=daily", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
           "--opt", "o=size=1m", VOL)
    created_at = inspect("volume", VOL)["CreatedAt"]
    bigger = {"labels": VOLUME["labels"], "driver_options": {"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}}
    for check in (True, False):
        run = run_playbook(local_play([volume_task(**bigger)]), check=check, diff=True)
        assert run.rc != 0
        result = run.result("volume")
        for words in ("driver_options", "deletes its data", "recreate: true", "Nothing was changed"):
            assert words in result["msg"], result["msg"]
        assert result["differences"] == ["driver_options"]
        assert_no_traceback(run)
    relabel = run_playbook(local_play([volume_task(labels={"com.example.backup": "weekly"})]))
    assert relabel.rc != 0 and "labels" in relabel.result("volume")["msg"]
    assert inspect("volume", VOL)["CreatedAt"] == created_at
    assert inspect("volume", VOL)["Options"]["o"] == "size=1m"

    check = run_playbook(local_play([volume_task(recreate=True, **bigger)]), check=True)
    assert check.rc == 0, str(check)
    assert check.result("volume")["actions"] == ["recreated"]
    assert inspect("volume", VOL)["Options"]["o"] == "size=1m"

    run = run_playbook(local_play([volume_task("recreate", recreate=True, **bigger),
                                   volume_task("again", recreate=True, **bigger)]))
    assert run.rc == 0, str(run)
    assert run.result("recreate")["actions"] == ["recreated"]
    assert inspect("volume", VOL)["Options"]["o"] == "size=2m"
    assert run.result("again")["changed"] is False


def test_volume_in_use_is_never_removed(run_playbook, clean):
    docker("volume", "create", VOL)
    docker("create", "--name", USER + "-stopped", "-v", VOL + ":/data", IMAGE, "true")
    for task in (volume_task(state="absent"), volume_task(driver_options={"type": "tmpfs"}, recreate=True)):
        run = run_playbook(local_play([task]))
        assert run.rc != 0
        result = run.result("volume")
        assert result["containers"] == [USER + "-stopped"] and USER + "-stopped" in result["msg"]
        assert_no_traceback(run)
    assert inspect("volume", VOL) is not None


def test_volume_absent(run_playbook, clean):
    docker("volume", "create", VOL)
    check = run_playbook(local_play([volume_task(state="absent")]), check=True, diff=True)
    assert check.rc == 0, str(check)
    assert check.result("volume")["actions"] == ["removed"]
    assert check.result("volume")["diff"]["before"]["driver"] == "local"
    assert inspect("volume", VOL) is not None
    run = run_playbook(local_play([volume_task("remove", state="absent"), volume_task("again", state="absent")]))
    assert run.rc == 0, str(run)
    assert run.result("remove")["changed"] is True and inspect("volume", VOL) is None
    assert run.result("again")["changed"] is False


def test_volume_bad_name_changes_nothing(run_playbook, clean):
    run = run_playbook(local_play([volume_task(name="bad/name")]))
    assert run.rc != 0
    assert "cannot create volume bad/name" in run.result("volume")["msg"]
    assert_no_traceback(run)


@pytest.mark.parametrize("task", [network_task(), volume_task(), network_task(state="absent"),
                                  volume_task(state="absent")], ids=["network", "volume", "network-absent",
                                                                     "volume-absent"])
def test_missing_engine_fails_clearly(run_playbook, tmp_path, task):
    socket_path = str(tmp_path / "absent.sock")
    module = next(key for key in task if key.startswith("dockhand.runtime."))
    task[module]["docker_host"] = "unix://" + socket_path
    run = run_playbook(local_play([task]))
    assert run.rc != 0
    result = run.result(task["name"])
    assert socket_path in result["msg"] and "does not exist" in result["msg"], result["msg"]
    assert_no_traceback(run)
