"""The compose module through ansible-playbook against this machine's dockerd (the lab hub's images).

The model goes straight into ``project`` (what the action plugin sends). Every project is named dh-cmp-... and
everything labelled with such a project is removed before and after each test.
"""

import json
import os
import shutil
import subprocess

import pytest
import yaml
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

BUSYBOX = "127.0.0.1:5000/library/busybox:latest"
HELLO = "127.0.0.1:5000/library/hello:latest"
PREFIX = "dh-cmp-"
SLEEP = {"image": BUSYBOX, "command": ["sleep", "3600"], "stop_signal": "SIGKILL"}


def docker(*args, check=True):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)


def inspect(name, kind="container"):
    done = docker("inspect", "--type", kind, name, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def ours(kind):
    """Names (IDs for containers) of the containers, networks or volumes of dh-cmp- projects."""
    listed = docker(kind, "ls", *(["-a"] if kind == "container" else []), "--format",
                    '{{.%s}}\t{{.Label "com.docker.compose.project"}}' % ("ID" if kind == "container" else "Name"))
    return [line.split("\t")[0] for line in listed.stdout.splitlines()
            if "\t" in line and line.split("\t")[1].startswith(PREFIX)]


def remove_all():
    containers = ours("container")
    if containers:
        docker("rm", "-f", "-v", *containers, check=False)
    for network in ours("network"):
        docker("network", "rm", network, check=False)
    for volume in ours("volume"):
        docker("volume", "rm", volume, check=False)
    for name in (PREFIX + "ext-net",):
        docker("network", "rm", name, check=False)


@pytest.fixture
def clean():
    remove_all()
    yield
    remove_all()


def model(name, services, networks=None, volumes=None, default_network=True):
    """The model the action plugin would send: names resolved, a default network when services use it."""
    networks = dict(networks or {})
    if default_network and any(not service.get("networks") and not service.get("network_mode")
                               for service in services.values()):
        networks.setdefault("default", {"name": name + "_default", "external": False})
    for key, config in networks.items():
        config.setdefault("name", "%s_%s" % (name, key))
        config.setdefault("external", False)
    volumes = dict(volumes or {})
    for key, config in volumes.items():
        config.setdefault("name", "%s_%s" % (name, key))
        config.setdefault("external", False)
    return {"name": name, "working_dir": "/tmp", "config_files": [], "services": services, "networks": networks,
            "volumes": volumes}


def failures(run):
    return [record["result"].get("msg") for record in run.records if record["result"].get("failed")] or \
        run.output[-3000:]


def compose_task(task_name, project, register=None, **options):
    task = {"name": task_name, "dockhand.runtime.compose": dict(options, project=project)}
    if register:
        task["register"] = register
    return task


def containers_of(project):
    listed = docker("ps", "-a", "--filter", "label=com.docker.compose.project=" + project, "--format",
                    "{{.Names}}").stdout.split()
    return sorted(listed)


def ids_and_starts(project):
    return {name: (inspect(name)["Id"], inspect(name)["State"]["StartedAt"]) for name in containers_of(project)}


def full_service(bind_dir):
    """A service with every supported key it can run with on this machine."""
    return {
        "image": BUSYBOX, "entrypoint": ["sleep"], "command": ["3600"],
        "environment": {"A": "1", "DB_PASSWORD": "s3cret-value"},
        "ports": [{"target": 80, "published": "18311", "host_ip": "127.0.0.1", "protocol": "tcp"},
                  {"target": 53, "published": None, "host_ip": None, "protocol": "udp"}],
        "expose": ["8080"],
        "volumes": [{"type": "volume", "source": "data", "target": "/data", "read_only": False},
                    {"type": "bind", "source": bind_dir, "target": "/host", "read_only": True,
                     "bind": {"create_host_path": True}},
                    {"type": "tmpfs", "source": None, "target": "/scratch", "read_only": False,
                     "tmpfs": {"size": 1048576}}],
        "networks": {"front": {"aliases": ["www"], "ipv4_address": "10.213.47.10", "ipv6_address": None}},
        "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "retries": 3},
        "restart": "on-failure:3",
        "deploy": {"resources": {"limits": {"memory": "64m", "cpus": "0.5", "pids": 100},
                                 "reservations": {"memory": "32m"}}},
        "labels": {"team": "a"}, "user": "1000:1000", "working_dir": "/tmp", "hostname": "web",
        "domainname": "example.lan", "cap_add": ["NET_ADMIN"], "cap_drop": ["MKNOD"], "read_only": True,
        "tmpfs": ["/run:size=1m"], "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
        "logging": {"driver": "json-file", "options": {"max-size": "1m"}}, "extra_hosts": ["db:10.0.0.5"],
        "init": True, "stop_grace_period": "3s", "stop_signal": "SIGKILL", "sysctls": {"net.core.somaxconn": "1024"},
        "security_opt": ["no-new-privileges"], "shm_size": "64m", "ipc": "shareable", "pid": "",
        "devices": ["/dev/null:/dev/xnull"], "dns": ["10.0.0.1"], "privileged": False,
    }


def test_round_trip_of_the_spec_keys(run_playbook, clean, tmp_path):
    """Apply, rerun unchanged, change one service's key (that service alone recreated), rerun unchanged."""
    name = PREFIX + "keys"
    bind_dir = str(tmp_path / "bind")
    os.makedirs(bind_dir)
    networks = {"front": {"ipam": {"config": [{"subnet": "10.213.47.0/24"}]}}}
    services = {"web": full_service(bind_dir), "side": dict(SLEEP, network_mode="service:web"),
                "other": dict(SLEEP)}
    first = model(name, services, networks=networks, volumes={"data": {}})
    changed = json.loads(json.dumps(first))
    changed["services"]["web"]["environment"]["A"] = "2"
    run = run_playbook(local_play([compose_task("apply", first, register="apply"),
                                   compose_task("again", first, register="again"),
                                   compose_task("change", changed, register="change"),
                                   compose_task("settled", changed, register="settled")]), diff=True)
    assert_no_traceback(run)
    assert run.rc == 0, failures(run)
    applied = run.result("apply")
    assert applied["changed"], applied
    assert not run.result("again")["changed"], run.result("again")
    change = run.result("change")
    assert change["services"]["web"]["actions"] == ["recreated %s-web-1" % name, "started %s-web-1" % name], change
    assert change["services"]["web"]["differences"] == ["env"], change
    assert change["services"]["other"]["actions"] == [], change
    # side shares web's network namespace (network_mode service:web): it follows web's new container, as compose does
    assert change["services"]["side"]["actions"] == ["recreated %s-side-1" % name, "started %s-side-1" % name]
    assert "s3cret-value" not in json.dumps(change), "a secret shows"
    assert not run.result("settled")["changed"], run.result("settled")
    web = inspect(name + "-web-1")
    labels = web["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == name and labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1" and labels["com.docker.compose.oneoff"] == "False"
    assert len(labels["com.docker.compose.config-hash"]) == 64 and labels["team"] == "a"
    host = web["HostConfig"]
    assert host["Memory"] == 64 * 2 ** 20 and host["NanoCpus"] == 5 * 10 ** 8 and host["PidsLimit"] == 100
    assert host["MemoryReservation"] == 32 * 2 ** 20
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18311"}]
    assert host["CapAdd"] in (["NET_ADMIN"], ["CAP_NET_ADMIN"]) and host["ReadonlyRootfs"] and host["Init"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert host["ExtraHosts"] == ["db:10.0.0.5"] and host["Dns"] == ["10.0.0.1"] and host["ShmSize"] == 64 * 2 ** 20
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"} and host["SecurityOpt"] == ["no-new-privileges"]
    assert host["IpcMode"] == "shareable"
    assert web["Config"]["StopTimeout"] == 3 and web["Config"]["User"] == "1000:1000"
    assert "A=2" in web["Config"]["Env"] and web["Config"]["Hostname"] == "web"
    endpoint = web["NetworkSettings"]["Networks"][name + "_front"]
    assert "www" in endpoint["Aliases"] and endpoint["IPAMConfig"]["IPv4Address"] == "10.213.47.10"
    assert inspect(name + "-side-1")["HostConfig"]["NetworkMode"] == "container:" + web["Id"]
    assert inspect(name + "_data", "volume")["Labels"]["com.docker.compose.volume"] == "data"
    assert inspect(name + "_front", "network")["Labels"]["com.docker.compose.network"] == "front"
