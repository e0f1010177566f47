"""registry_mirrors through ansible-playbook: real pulls through the lab's hub on Docker, containerd and Podman.

Docker Hub is unreachable from the lab, and every pull below names an image
the hub holds (library/busybox, library/hello), so no pull leaves the lab;
the pulled image's digest is the hub's own, which proves the mirror served it.
Host1 belongs to the engine_info and daemon_config tests: Docker runs on
host2, containerd and Podman on host3. Every test installs what it needs
(idempotently) and starts from its own clean state, in any order.
"""

import base64
import contextlib
import json
import os
import subprocess
import time
import urllib.request

import pytest
import yaml
from conftest import ansible_env, assert_no_traceback, local_play, tool
from conftest import shell_task as shell

from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import atomic_write, locked

DOCKER_HOST = "dockhand-lab-host11"
RUNTIMES_HOST = "dockhand-lab-host12"
HUB = "http://dockhand-lab-hub:5000"  # the hub by name, as hosts see it
HUB_BY_IP = "http://{{ lab_hub_registry }}"  # the same registry by its lab address
LOCAL_HUB = "http://127.0.0.1:5000"  # the same registry, from this machine
CERTS_DIR = "/etc/containerd/certs.d"
HOSTS_TOML = CERTS_DIR + "/docker.io/hosts.toml"
CONFIG_TOML = "/etc/containerd/config.toml"
DROP_IN = "/etc/containers/registries.conf.d/50-dockhand-docker.io.conf"

# What Debian 12's containerd package ships as /etc/containerd/config.toml.
DEBIAN_CONFIG_TOML = """version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
"""


# -- helpers ---------------------------------------------------------------------------

def play(host, tasks):
    return [{"name": "registry_mirrors", "hosts": host, "gather_facts": False, "tasks": tasks}]


def mirrors_task(name, register=None, ignore_errors=False, **options):
    task = {"name": name, "dockhand.runtime.registry_mirrors": options}
    if register:
        task["register"] = register
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def install(*packages):
    return {"name": "install " + " ".join(packages),
            "ansible.builtin.apt": {"name": list(packages), "update_cache": True, "cache_valid_time": 3600,
                                    "install_recommends": False}}


def slurp(name, path):
    return {"name": name, "ansible.builtin.slurp": {"src": path}}


def text_of(run, task, host):
    return base64.b64decode(run.result(task, host)["content"]).decode()


def stdout(run, task, host):
    return run.result(task, host)["stdout"].strip()


def hub_digest(repository="library/busybox", tag="latest"):
    """The manifest digest the hub serves for a tag (asked on loopback, where the hub is published)."""
    request = urllib.request.Request("%s/v2/%s/manifests/%s" % (LOCAL_HUB, repository, tag), method="HEAD", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback, the lab's hub
        return answer.headers["Docker-Content-Digest"]


def inventory_vars(lab, host):
    data = lab["data"]["all"]["children"]["lab"]
    merged = dict(data.get("vars") or {})
    merged.update(data["children"]["lab_hosts"]["hosts"][host])
    return merged


def hub_ip_url(lab):
    return "http://" + inventory_vars(lab, DOCKER_HOST)["lab_hub_registry"]


# -- Docker on host2 ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def docker_host(lab, run_playbook_once):
    """host2 with docker.io running, once for this module."""
    run = run_playbook_once(play(DOCKER_HOST, [
        install("docker.io"),
        {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
    ]), inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    return lab["inventory"]


DOCKER_STATE = [
    shell("started at", "docker inspect -f '{{.State.StartedAt}} {{.State.Running}}' mirror-canary"),
    shell("dockerd pid", "systemctl show -p MainPID --value docker"),
    shell("engine mirrors", "docker info --format '{{json .RegistryConfig}}'"),
]


@pytest.mark.lab
def test_docker_pulls_busybox_through_the_mirror_and_nothing_restarts(run_playbook, docker_host, lab):
    digest = hub_digest()
    prepare = run_playbook(play(DOCKER_HOST, [
        {"name": "an empty daemon.json", "ansible.builtin.copy": {"dest": "/etc/docker/daemon.json",
                                                                  "content": "{}\n"}},
        {"name": "dockerd reads it", "ansible.builtin.shell": "kill -HUP $(systemctl show -p MainPID --value docker)"},
        shell("no canary, no busybox", "docker rm -f mirror-canary; docker rmi -f busybox busybox:1.36",
              ignore_errors=True),
        mirrors_task("point docker.io at the hub", runtime="docker", mirrors=[HUB], register="first"),
        mirrors_task("again", runtime="docker", mirrors=[HUB + "/"], register="again"),
        shell("pull by the short name", "docker pull busybox"),
        shell("pulled digest", "docker image inspect -f '{{index .RepoDigests 0}}' busybox"),
        shell("start a canary", "docker run -d --name mirror-canary busybox sleep 3600"),
        *DOCKER_STATE,
    ]), inventory=docker_host)
    assert prepare.rc == 0, str(prepare)
    first = prepare.result("point docker.io at the hub", DOCKER_HOST)
    docker = first["runtimes"]["docker"]
    assert first["changed"] is True and list(first["runtimes"]) == ["docker"]
    assert docker["applied"] == "reload" and docker["changed_keys"] == ["registry-mirrors"]
    assert docker["registry_mirrors"] == [HUB] and docker["files"] == ["/etc/docker/daemon.json"]
    again = prepare.result("again", DOCKER_HOST)
    assert again["changed"] is False and again["runtimes"]["docker"]["applied"] == "none"
    assert stdout(prepare, "pulled digest", DOCKER_HOST) == "busybox@" + digest  # served by the hub
    assert json.loads(stdout(prepare, "engine mirrors", DOCKER_HOST))["Mirrors"] == [HUB + "/"]
    started_before = stdout(prepare, "started at", DOCKER_HOST)
    pid_before = stdout(prepare, "dockerd pid", DOCKER_HOST)
    assert started_before.endswith(" true") and int(pid_before) > 0

    # The switch: the same hub by its lab address, insecure (so insecure-registries changes too).
    switch = run_playbook(play(DOCKER_HOST, [
        mirrors_task("switch", runtime="docker", mirrors=[{"url": hub_ip_url(lab), "insecure": True}],
                     register="switched"),
    ]), inventory=docker_host)
    assert switch.rc == 0, str(switch)
    after = run_playbook(play(DOCKER_HOST, [
        *DOCKER_STATE,
        shell("drop busybox", "docker rmi busybox busybox:latest", ignore_errors=True),
        shell("pull a tag through the new mirror", "docker pull busybox:1.36"),
        shell("pulled digest", "docker image inspect -f '{{index .RepoDigests 0}}' busybox:1.36"),
        shell("reload in the journal", "journalctl -u docker --no-pager -o cat | grep -c 'Got signal to reload'"),
    ]), inventory=docker_host)
    assert after.rc == 0, str(after)
    docker = switch.result("switch", DOCKER_HOST)["runtimes"]["docker"]
    ip_host = hub_ip_url(lab).split("://")[1]
    assert docker["applied"] == "reload" and docker["changed_keys"] == ["insecure-registries", "registry-mirrors"]
    assert docker["insecure_registries"] == [ip_host]
    engine = json.loads(stdout(after, "engine mirrors", DOCKER_HOST))
    assert engine["Mirrors"] == [hub_ip_url(lab) + "/"]
    assert engine["IndexConfigs"][ip_host]["Secure"] is False
    assert stdout(after, "started at", DOCKER_HOST) == started_before  # the container kept running
    assert stdout(after, "dockerd pid", DOCKER_HOST) == pid_before  # dockerd was reloaded, not restarted
    assert stdout(after, "pulled digest", DOCKER_HOST) == "busybox@" + hub_digest(tag="1.36")
    assert int(stdout(after, "reload in the journal", DOCKER_HOST)) >= 2

    cleanup = run_playbook(play(DOCKER_HOST, [
        shell("remove the canary", "docker rm -f mirror-canary"),
        mirrors_task("remove the mirrors", runtime="docker", state="absent", register="removed"),
        shell("engine mirrors", "docker info --format '{{json .RegistryConfig}}'"),
    ]), inventory=docker_host)
    assert cleanup.rc == 0, str(cleanup)
    assert cleanup.result("remove the mirrors", DOCKER_HOST)["runtimes"]["docker"]["changed_keys"] == [
        "insecure-registries", "registry-mirrors"]
    assert json.loads(stdout(cleanup, "engine mirrors", DOCKER_HOST))["Mirrors"] == []
    assert_no_traceback(cleanup)


@pytest.mark.lab
def test_docker_keeps_every_other_key_and_refuses_bad_input(run_playbook, docker_host):
    original = {"log-driver": "json-file", "log-opts": {"max-size": "10m"},
                "registry-mirrors": ["http://dockhand-lab-hub:5000/"], "insecure-registries": ["10.99.0.0/16"]}
    run = run_playbook(play(DOCKER_HOST, [
        {"name": "write", "ansible.builtin.copy": {"dest": "/etc/docker/daemon.json",
                                                   "content": json.dumps(original, indent=4) + "\n"}},
        {"name": "reload", "ansible.builtin.shell": "kill -HUP $(systemctl show -p MainPID --value docker)"},
        slurp("before", "/etc/docker/daemon.json"),
        mirrors_task("same mirror, other spelling", runtime="docker", mirrors=["HTTP://DOCKHAND-LAB-HUB:5000"],
                     register="same"),
        mirrors_task("_default on docker", runtime="docker", registry="_default", mirrors=[HUB],
                     ignore_errors=True),
        mirrors_task("a bad mirror", runtime="docker", mirrors=["dockhand-lab-hub:5000"], ignore_errors=True),
        slurp("after", "/etc/docker/daemon.json"),
        mirrors_task("add a second mirror", runtime="docker", mirrors=[HUB, {"url": "https://10.99.0.7:5443",
                                                                             "insecure": True}],
                     apply="none", register="second"),
        slurp("merged", "/etc/docker/daemon.json"),
        mirrors_task("back", runtime="docker", state="absent", apply="none"),
        slurp("final", "/etc/docker/daemon.json"),
        {"name": "reload again", "ansible.builtin.shell": "kill -HUP $(systemctl show -p MainPID --value docker)"},
    ]), inventory=docker_host)
    assert run.rc == 0, str(run)  # the two refusals are expected (ignore_errors)
    assert run.result("same mirror, other spelling", DOCKER_HOST)["changed"] is False
    assert text_of(run, "after", DOCKER_HOST) == text_of(run, "before", DOCKER_HOST)  # refusals wrote nothing
    every = run.result("_default on docker", DOCKER_HOST)
    assert run.status("_default on docker", DOCKER_HOST) == "failed"
    assert "Docker has no mirrors for every registry at once" in every["msg"]
    bad = run.result("a bad mirror", DOCKER_HOST)
    assert run.status("a bad mirror", DOCKER_HOST) == "failed"
    assert "no scheme" in bad["msg"] and "http:// for a plain-HTTP mirror" in bad["msg"]
    merged = json.loads(text_of(run, "merged", DOCKER_HOST))
    assert merged == {"log-driver": "json-file", "log-opts": {"max-size": "10m"},
                      "registry-mirrors": [HUB, "https://10.99.0.7:5443"],
                      "insecure-registries": ["10.99.0.0/16", "10.99.0.7:5443"]}
    assert list(merged)[:2] == ["log-driver", "log-opts"]
    assert json.loads(text_of(run, "final", DOCKER_HOST)) == {  # [] rather than no key: see docker_change
        "log-driver": "json-file", "log-opts": {"max-size": "10m"}, "registry-mirrors": [],
        "insecure-registries": ["10.99.0.0/16"]}
    assert_no_traceback(run)


# -- containerd and Podman on host3 --------------------------------------------------------

@pytest.fixture(scope="module")
def runtimes_host(lab, run_playbook_once):
    """host3 with containerd (running under systemd) and podman, once for this module."""
    run = run_playbook_once(play(RUNTIMES_HOST, [
        install("containerd", "podman"),
        {"name": "start containerd", "ansible.builtin.systemd_service": {"name": "containerd", "state": "started"}},
    ]), inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    return lab["inventory"]


def fresh_containerd():
    """Tasks that put Debian's config.toml back (no config_path) and clear the mirrors and the image."""
    return [
        {"name": "debian config.toml", "ansible.builtin.copy": {"dest": CONFIG_TOML, "content": DEBIAN_CONFIG_TOML},
         "register": "config_reset"},
        {"name": "restart containerd",
         "ansible.builtin.systemd_service": {"name": "containerd", "state": "restarted"},
         "when": "config_reset is changed"},
        {"name": "no hosts dir", "ansible.builtin.file": {"path": CERTS_DIR, "state": "absent"}},
        shell("no busybox", "ctr images rm docker.io/library/busybox:latest docker.io/library/hello:latest",
              ignore_errors=True),
    ]


CTR_PULL = "ctr images pull --hosts-dir " + CERTS_DIR + " docker.io/library/%s"
CTR_DIGEST = "ctr images ls | awk '$1 == \"docker.io/library/%s\" {print $3}'"
CONTAINERD_PID = shell("containerd pid", "systemctl show -p MainPID --value containerd")


@pytest.mark.lab
def test_containerd_pulls_through_hosts_toml(run_playbook, runtimes_host, lab):
    digest = hub_digest()
    run = run_playbook(play(RUNTIMES_HOST, [
        *fresh_containerd(),
        dict(CONTAINERD_PID, name="pid before"),
        mirrors_task("point docker.io at the hub", runtime="containerd", mirrors=[HUB], register="first"),
        dict(CONTAINERD_PID, name="pid after the first run"),
        mirrors_task("again", runtime="containerd", mirrors=[HUB], register="again"),
        dict(CONTAINERD_PID, name="pid after the second run"),
        slurp("config.toml", CONFIG_TOML),
        slurp("hosts.toml", HOSTS_TOML),
        shell("config seen by containerd", "containerd config dump | grep config_path"),
        shell("pull through the mirror", CTR_PULL % "busybox:latest"),
        shell("pulled digest", CTR_DIGEST % "busybox:latest"),
    ]), inventory=runtimes_host)
    assert run.rc == 0, str(run)
    first = run.result("point docker.io at the hub", RUNTIMES_HOST)["runtimes"]["containerd"]
    assert first["changed"] and first["config_path_set"] and first["applied"] == "restart"
    assert first["files"] == [HOSTS_TOML, CONFIG_TOML] and first["restart_needed"] is False
    assert first["config_table"] == '[plugins."io.containerd.grpc.v1.cri".registry]'
    assert stdout(run, "pid after the first run", RUNTIMES_HOST) != stdout(run, "pid before", RUNTIMES_HOST)
    again = run.result("again", RUNTIMES_HOST)
    assert again["changed"] is False and again["runtimes"]["containerd"]["applied"] == "none"
    assert stdout(run, "pid after the second run", RUNTIMES_HOST) == stdout(run, "pid after the first run",
                                                                            RUNTIMES_HOST)
    # config.toml: Debian's file byte for byte, plus the two lines of the registry table
    assert text_of(run, "config.toml", RUNTIMES_HOST) == DEBIAN_CONFIG_TOML.replace(
        '      conf_dir = "/etc/cni/net.d"\n',
        '      conf_dir = "/etc/cni/net.d"\n    [plugins."io.containerd.grpc.v1.cri".registry]\n'
        '      config_path = "/etc/containerd/certs.d"\n')
    assert 'config_path = "/etc/containerd/certs.d"' in stdout(run, "config seen by containerd", RUNTIMES_HOST)
    hosts_toml = text_of(run, "hosts.toml", RUNTIMES_HOST)
    assert 'server = "https://registry-1.docker.io"' in hosts_toml
    assert '[host."%s"]\n  capabilities = ["pull", "resolve"]\n' % HUB in hosts_toml
    assert stdout(run, "pulled digest", RUNTIMES_HOST) == digest  # served by the hub

    # Switching the mirror rewrites hosts.toml only: no restart, and the next pull uses the new mirror.
    switch = run_playbook(play(RUNTIMES_HOST, [
        dict(CONTAINERD_PID, name="pid before"),
        mirrors_task("switch", runtime="containerd", mirrors=[hub_ip_url(lab)], register="switched"),
        dict(CONTAINERD_PID, name="pid after"),
        shell("pull another image", CTR_PULL % "hello:latest"),
        shell("pulled digest", CTR_DIGEST % "hello:latest"),
        mirrors_task("remove", runtime="containerd", state="absent", register="removed"),
        mirrors_task("remove again", runtime="containerd", state="absent", register="removed_again"),
        {"name": "hosts.toml gone", "ansible.builtin.stat": {"path": HOSTS_TOML}},
        slurp("config.toml after", CONFIG_TOML),
    ]), inventory=runtimes_host)
    assert switch.rc == 0, str(switch)
    switched = switch.result("switch", RUNTIMES_HOST)["runtimes"]["containerd"]
    assert switched["files"] == [HOSTS_TOML] and switched["applied"] == "none" and not switched["config_path_set"]
    assert stdout(switch, "pid after", RUNTIMES_HOST) == stdout(switch, "pid before", RUNTIMES_HOST)
    assert stdout(switch, "pulled digest", RUNTIMES_HOST) == hub_digest("library/hello")
    assert switch.result("remove", RUNTIMES_HOST)["runtimes"]["containerd"]["files"] == [HOSTS_TOML]
    assert switch.result("remove again", RUNTIMES_HOST)["changed"] is False
    assert switch.result("hosts.toml gone", RUNTIMES_HOST)["stat"]["exists"] is False
    assert text_of(switch, "config.toml after", RUNTIMES_HOST) == text_of(run, "config.toml", RUNTIMES_HOST)
    assert_no_traceback(switch)


@pytest.mark.lab
def test_podman_pulls_through_the_drop_in(run_playbook, runtimes_host):
    digest = hub_digest()
    run = run_playbook(play(RUNTIMES_HOST, [
        {"name": "no drop-in", "ansible.builtin.file": {"path": DROP_IN, "state": "absent"}},
        shell("no busybox", "podman rmi -f docker.io/library/busybox", ignore_errors=True),
        mirrors_task("point docker.io at the hub", runtime="podman", mirrors=[HUB], register="first"),
        mirrors_task("again", runtime="podman", mirrors=[HUB], register="again"),
        slurp("drop-in", DROP_IN),
        shell("pull through the mirror", "podman pull -q docker.io/library/busybox"),
        shell("pulled digest", "podman image inspect --format '{{.Digest}}' docker.io/library/busybox"),
        mirrors_task("remove", runtime="podman", state="absent", register="removed"),
        {"name": "drop-in gone", "ansible.builtin.stat": {"path": DROP_IN}},
    ]), inventory=runtimes_host)
    assert run.rc == 0, str(run)
    first = run.result("point docker.io at the hub", RUNTIMES_HOST)["runtimes"]["podman"]
    assert first["changed"] and first["files"] == [DROP_IN] and first["applied"] == "none"
    assert run.result("again", RUNTIMES_HOST)["changed"] is False
    assert text_of(run, "drop-in", RUNTIMES_HOST).endswith(
        '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n\n'
        '[[registry.mirror]]\nlocation = "dockhand-lab-hub:5000"\ninsecure = true\n')
    assert stdout(run, "pulled digest", RUNTIMES_HOST) == digest  # served by the hub
    assert run.result("remove", RUNTIMES_HOST)["runtimes"]["podman"]["files"] == [DROP_IN]
    assert run.result("drop-in gone", RUNTIMES_HOST)["stat"]["exists"] is False


@pytest.mark.lab
def test_auto_check_mode_and_diff_touch_nothing(run_playbook, runtimes_host):
    paths = [HOSTS_TOML, CONFIG_TOML, DROP_IN]
    stat_tasks = [{"name": "stat %s" % path, "ansible.builtin.stat": {"path": path, "checksum_algorithm": "sha256"}}
                  for path in paths]
    prepare = run_playbook(play(RUNTIMES_HOST, [
        *fresh_containerd(),
        mirrors_task("no mirrors", state="absent"),
        *stat_tasks,
        dict(CONTAINERD_PID, name="pid before"),
    ]), inventory=runtimes_host)
    assert prepare.rc == 0, str(prepare)
    check = run_playbook(play(RUNTIMES_HOST, [mirrors_task("dry run", mirrors=[HUB], register="planned")]),
                         inventory=runtimes_host, check=True, diff=True)
    assert check.rc == 0, str(check)
    after = run_playbook(play(RUNTIMES_HOST, [*stat_tasks, dict(CONTAINERD_PID, name="pid after")]),
                         inventory=runtimes_host)
    assert after.rc == 0, str(after)

    planned = check.result("dry run", RUNTIMES_HOST)
    runtimes = planned["runtimes"]
    assert {"containerd", "podman"} <= set(runtimes)  # auto: what host3 has installed
    assert runtimes["containerd"]["detected_by"].startswith("containerd at ")
    assert runtimes["containerd"]["skipped"] is False and runtimes["podman"]["skipped"] is False
    assert runtimes["containerd"]["files"] == [HOSTS_TOML, CONFIG_TOML]
    assert runtimes["containerd"]["applied"] == "restart"  # what would happen
    assert runtimes["podman"]["files"] == [DROP_IN]
    assert planned["changed"] is True
    diffs = {entry["after_header"]: entry for entry in planned["diff"]}
    assert diffs[HOSTS_TOML]["before"] == "" and HUB in diffs[HOSTS_TOML]["after"]
    assert diffs[CONFIG_TOML]["before"] == DEBIAN_CONFIG_TOML and "config_path" in diffs[CONFIG_TOML]["after"]
    assert "dockhand-lab-hub:5000" in diffs[DROP_IN]["after"]
    assert "+location = \"dockhand-lab-hub:5000\"" in check.output  # ansible-playbook --diff shows it
    for path in paths:  # same content, same inode, not modified (reading them may change atime)
        old, new = (run.result("stat %s" % path, RUNTIMES_HOST)["stat"] for run in (prepare, after))
        assert {key: new.get(key) for key in ("exists", "checksum", "inode", "mtime", "ctime", "size")} == \
            {key: old.get(key) for key in ("exists", "checksum", "inode", "mtime", "ctime", "size")}
    assert stdout(after, "pid after", RUNTIMES_HOST) == stdout(prepare, "pid before", RUNTIMES_HOST)


@pytest.mark.lab
def test_containerd_refuses_old_mirror_tables_and_leaves_the_file(run_playbook, runtimes_host):
    old_style = DEBIAN_CONFIG_TOML + (
        '  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n'
        '    endpoint = ["http://dockhand-lab-hub:5000"]\n')
    run = run_playbook(play(RUNTIMES_HOST, [
        {"name": "old-style config", "ansible.builtin.copy": {"dest": "/tmp/old-config.toml", "content": old_style}},
        mirrors_task("refused", runtime="containerd", mirrors=[HUB], containerd_config="/tmp/old-config.toml",
                     containerd_certs_dir="/tmp/old-certs.d", ignore_errors=True),
        slurp("unchanged", "/tmp/old-config.toml"),
        {"name": "no hosts.toml", "ansible.builtin.stat": {"path": "/tmp/old-certs.d"}},
    ]), inventory=runtimes_host)
    refused = run.result("refused", RUNTIMES_HOST)
    assert run.status("refused", RUNTIMES_HOST) == "failed" and "the old way to configure mirrors" in refused["msg"]
    assert "Nothing was written" in refused["msg"]
    assert text_of(run, "unchanged", RUNTIMES_HOST) == old_style
    assert run.result("no hosts.toml", RUNTIMES_HOST)["stat"]["exists"] is False
    assert_no_traceback(run)


# -- registries other than Docker Hub: the lab's ghcr.io stand-in and its mirror --------------------------
# Lab hosts cannot resolve ghcr.io, quay.io or registry.k8s.io: an image of theirs can only come from the mirror
# each runtime is told about. dockhand-lab-ghcr-mirror serves the stand-in's org/app for any registry's name.

GHCR_MIRROR = "http://dockhand-lab-ghcr-mirror:5011"  # pull-through cache of the stand-in, as hosts see it
GHCR_STALE = "http://dockhand-lab-ghcr:5010/stale"  # the stand-in's stale/org/app:1 is another image than org/app:1
STAND_IN = "dockhand-lab-ghcr:5010"  # the stand-in by name: a registry lab hosts can reach, for verify_digest
LOCAL_GHCR = "http://127.0.0.1:5010"  # the stand-in, from this machine
TABLE = "/etc/dockhand/registry-mirrors.json"
OTHER_REGISTRIES = ("ghcr.io", "quay.io", "registry.k8s.io")
APP = "dh-rewrite-app"  # the container module's container on host11
ROLE_APP = "dh-rewrite-role-app"  # the containers role's


def stand_in_manifest(repository="org/app", tag="1"):
    """(manifest digest, image ID) the ghcr.io stand-in serves for a tag (the image ID is the config's digest)."""
    request = urllib.request.Request("%s/v2/%s/manifests/%s" % (LOCAL_GHCR, repository, tag), headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback, the lab's stand-in
        return answer.headers["Docker-Content-Digest"], json.loads(answer.read())["config"]["digest"]


def module_task(module, title, register=None, ignore_errors=False, **options):
    task = dict(mirrors_task(title, register=register, ignore_errors=ignore_errors))
    del task["dockhand.runtime.registry_mirrors"]
    task["dockhand.runtime." + module] = options
    return task


def docker_clean_slate():
    """No daemon.json settings, no table, no container or image of ours: each test on host11 starts here."""
    return [
        {"name": "an empty daemon.json", "ansible.builtin.copy": {"dest": "/etc/docker/daemon.json",
                                                                  "content": "{}\n"}},
        {"name": "dockerd reads it", "ansible.builtin.shell": "kill -HUP $(systemctl show -p MainPID --value docker)"},
        {"name": "no rewrite table", "ansible.builtin.file": {"path": TABLE, "state": "absent"}},
        shell("no app containers or images",
              "docker rm -f %s %s; docker images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' "
              "| awk '$1 ~ /^(ghcr.io|quay.io|registry.k8s.io|dockhand-lab-ghcr)/ "
              "{print ($2 == \"<none>\" ? $1 \"@\" $3 : $1 \":\" $2)}' | xargs -r -n1 docker rmi"
              % (APP, ROLE_APP), ignore_errors=True),
    ]


@pytest.mark.lab
def test_docker_pulls_other_registries_images_through_the_rewrite_table(run_playbook, docker_host):
    digest, image_id = stand_in_manifest()
    every = [mirrors_task("mirror " + registry, runtime="docker", registry=registry, mirrors=[GHCR_MIRROR])
             for registry in OTHER_REGISTRIES]
    role_app = {"name": ROLE_APP, "image": "registry.k8s.io/org/app:1", "command": ["sleep", "3600"]}
    deploy = {"ansible.builtin.include_role": {"name": "dockhand.runtime.containers"},
              "vars": {"containers_list": [role_app]}}
    run = run_playbook(play(DOCKER_HOST, [
        *docker_clean_slate(),
        *every,
        dict(mirrors_task("ghcr.io again", runtime="docker", registry="ghcr.io", mirrors=[GHCR_MIRROR + "/"]),
             register="again"),
        slurp("table", TABLE),
        slurp("daemon.json", "/etc/docker/daemon.json"),
        shell("engine registries", "docker info --format '{{json .RegistryConfig.IndexConfigs}}'"),
        module_task("image", "pull ghcr.io/org/app:1", name="ghcr.io/org/app:1"),
        module_task("image", "pull it again", name="ghcr.io/org/app:1"),
        module_task("container", "run quay.io/org/app:1", name=APP, image="quay.io/org/app:1",
                    command=["sleep", "3600"]),
        module_task("container", "run it again", name=APP, image="quay.io/org/app:1", command=["sleep", "3600"]),
        dict(deploy, name="deploy registry.k8s.io/org/app:1 with the containers role"),
        dict(deploy, name="deploy it again with the role"),
        shell("images", "docker images --format '{{.Repository}}:{{.Tag}}' | sort"),
        shell("image ids", "docker image inspect -f '{{.Id}}' ghcr.io/org/app:1 quay.io/org/app:1 "
                           "registry.k8s.io/org/app:1"),
        shell("containers", "docker inspect -f '{{.Config.Image}} {{.State.Running}}' %s %s" % (APP, ROLE_APP)),
    ]), inventory=docker_host)
    assert run.rc == 0, str(run)
    first = run.result("mirror ghcr.io", DOCKER_HOST)["runtimes"]["docker"]
    assert first["changed"] and first["files"] == [TABLE, "/etc/docker/daemon.json"]
    assert first["table_mirrors"] == [GHCR_MIRROR] and first["applied"] == "reload"
    assert first["insecure_registries"] == ["dockhand-lab-ghcr-mirror:5011"]  # plain HTTP, pulled from by name
    assert run.result("mirror quay.io", DOCKER_HOST)["runtimes"]["docker"]["files"] == [TABLE]  # same host
    assert run.result("ghcr.io again", DOCKER_HOST)["changed"] is False
    table = json.loads(text_of(run, "table", DOCKER_HOST))
    assert table == {"version": 1, "registries": {
        registry: {"mirrors": [{"url": GHCR_MIRROR, "insecure": False}], "verify_digest": "mirror"}
        for registry in OTHER_REGISTRIES}}
    assert json.loads(text_of(run, "daemon.json", DOCKER_HOST)) == {
        "insecure-registries": ["dockhand-lab-ghcr-mirror:5011"]}
    assert json.loads(stdout(run, "engine registries", DOCKER_HOST))["dockhand-lab-ghcr-mirror:5011"][
        "Secure"] is False  # dockerd took it on SIGHUP

    pulled = run.result("pull ghcr.io/org/app:1", DOCKER_HOST)
    assert pulled["changed"] is True
    assert pulled["mirror"] == {"url": GHCR_MIRROR, "reference": "dockhand-lab-ghcr-mirror:5011/org/app@" + digest,
                                "digest": digest, "checked_against": "mirror", "table": TABLE}
    again = run.result("pull it again", DOCKER_HOST)
    assert again["changed"] is False and again["mirror"] is None  # found under its canonical name: no pull
    container = run.result("run quay.io/org/app:1", DOCKER_HOST)
    assert container["changed"] is True and container["mirror"]["url"] == GHCR_MIRROR
    assert container["mirror"]["digest"] == digest
    assert run.result("run it again", DOCKER_HOST)["changed"] is False
    role_pulls = run.results("Pull the images of the containers", DOCKER_HOST)
    role_deploys = run.results("Deploy the containers", DOCKER_HOST)
    assert [record["status"] for record in role_pulls + role_deploys] == ["changed", "ok", "changed", "ok"]
    assert role_pulls[0]["result"]["results"][0]["mirror"]["url"] == GHCR_MIRROR  # the role's pull, through it

    names = stdout(run, "images", DOCKER_HOST).splitlines()
    for registry in OTHER_REGISTRIES:
        assert "%s/org/app:1" % registry in names  # the canonical name
    assert not [name for name in names if name.startswith("dockhand-lab-ghcr")]  # no mirror's name is left
    assert stdout(run, "image ids", DOCKER_HOST).splitlines() == [image_id] * 3  # the stand-in's image, by digest
    assert stdout(run, "containers", DOCKER_HOST).splitlines() == [
        "quay.io/org/app:1 true", "registry.k8s.io/org/app:1 true"]
    assert_no_traceback(run)

    cleanup = run_playbook(play(DOCKER_HOST, [
        shell("remove the containers", "docker rm -f %s %s" % (APP, ROLE_APP)),
        *[mirrors_task("remove " + registry, runtime="docker", registry=registry, state="absent")
          for registry in OTHER_REGISTRIES],
        {"name": "the table", "ansible.builtin.stat": {"path": TABLE}},
        slurp("daemon.json", "/etc/docker/daemon.json"),
    ]), inventory=docker_host)
    assert cleanup.rc == 0, str(cleanup)
    assert cleanup.result("remove ghcr.io", DOCKER_HOST)["runtimes"]["docker"]["files"] == [TABLE]
    last = cleanup.result("remove registry.k8s.io", DOCKER_HOST)["runtimes"]["docker"]
    assert last["files"] == [TABLE, "/etc/docker/daemon.json"] and last["table_mirrors"] == []
    assert cleanup.result("the table", DOCKER_HOST)["stat"]["exists"] is False  # its last registry went
    assert json.loads(text_of(cleanup, "daemon.json", DOCKER_HOST)) == {"insecure-registries": []}


@pytest.mark.lab
def test_docker_passes_over_a_stale_mirror_and_refuses_a_digest_no_mirror_serves(run_playbook, docker_host):
    digest, image_id = stand_in_manifest()
    stale_digest, stale_id = stand_in_manifest("stale/org/app")
    assert stale_digest != digest and stale_id != image_id  # the stand-in's stale copy is another image
    pinned = "ghcr.io/org/app@" + digest
    run = run_playbook(play(DOCKER_HOST, [
        *docker_clean_slate(),
        # The stand-in itself, by name, is a registry lab hosts reach: verify_digest upstream asks it.
        mirrors_task("stale mirror first", runtime="docker", registry=STAND_IN, mirrors=[GHCR_STALE, GHCR_MIRROR],
                     verify_digest="upstream"),
        module_task("image", "pull through the mirrors", name=STAND_IN + "/org/app:1", register="through"),
        shell("image id", "docker image inspect -f '{{.Id}}' %s/org/app:1" % STAND_IN),
        # ghcr.io itself is unreachable: only the stale mirror is left to serve a pinned digest, and it cannot.
        mirrors_task("only the stale mirror", runtime="docker", registry="ghcr.io", mirrors=[GHCR_STALE]),
        slurp("table", TABLE),
        module_task("image", "pinned", name=pinned, ignore_errors=True),
        shell("not pulled", "docker images --format '{{.Repository}}' | grep -c -E '^(ghcr.io|dockhand-lab-ghcr:5010/"
                            "stale)'", ignore_errors=True),
    ]), inventory=docker_host)
    through = run.result("pull through the mirrors", DOCKER_HOST)
    assert run.status("pull through the mirrors", DOCKER_HOST) == "changed", str(run)
    assert through["mirror"]["url"] == GHCR_MIRROR and through["mirror"]["checked_against"] == "upstream"
    assert through["mirror"]["digest"] == digest
    assert stdout(run, "image id", DOCKER_HOST) == image_id  # not the stale copy
    assert ["mirror %s of %s in %s passed over for %s/org/app:1: it serves %s, but the registry itself serves %s "
            "(a stale or wrong copy)" % (GHCR_STALE, STAND_IN, TABLE, STAND_IN, stale_digest, digest)] == [
        warning for warning in through.get("warnings", []) if "passed over" in warning]

    refused = run.result("pinned", DOCKER_HOST)
    assert run.status("pinned", DOCKER_HOST) == "failed"
    assert refused["msg"].startswith(
        "cannot pull image %s (name): the mirrors of Docker's rewrite table %s did not serve it, and ghcr.io itself "
        "is unreachable from this host" % (pinned, TABLE)), refused["msg"]
    assert "The mirrors tried first: %s: pulling dockhand-lab-ghcr:5010/stale/org/app@%s failed" % (
        GHCR_STALE, digest) in refused["msg"]
    assert stdout(run, "not pulled", DOCKER_HOST) == "0"
    assert_no_traceback(run)

    cleanup = run_playbook(play(DOCKER_HOST, [
        mirrors_task("remove ghcr.io", runtime="docker", registry="ghcr.io", state="absent"),
        mirrors_task("remove the stand-in", runtime="docker", registry=STAND_IN, state="absent"),
        {"name": "the table", "ansible.builtin.stat": {"path": TABLE}},
    ]), inventory=docker_host)
    assert cleanup.rc == 0, str(cleanup)
    assert cleanup.result("the table", DOCKER_HOST)["stat"]["exists"] is False


@pytest.mark.lab
def test_containerd_pulls_other_registries_images_through_hosts_toml(run_playbook, runtimes_host):
    digest = stand_in_manifest()[0]
    run = run_playbook(play(RUNTIMES_HOST, [
        *[task for registry in OTHER_REGISTRIES for task in (
            shell("no image of " + registry, "ctr images rm %s/org/app:1" % registry, ignore_errors=True),
            mirrors_task("mirror " + registry, runtime="containerd", registry=registry, mirrors=[GHCR_MIRROR]),
            slurp("hosts.toml of " + registry, "%s/%s/hosts.toml" % (CERTS_DIR, registry)),
            shell("pull from " + registry, "ctr images pull --hosts-dir %s %s/org/app:1" % (CERTS_DIR, registry)),
            shell("digest from " + registry,
                  "ctr images ls | awk '$1 == \"%s/org/app:1\" {print $3}'" % registry),
            mirrors_task("remove " + registry, runtime="containerd", registry=registry, state="absent"),
        )],
    ]), inventory=runtimes_host)
    assert run.rc == 0, str(run)
    for registry in OTHER_REGISTRIES:
        hosts_toml = text_of(run, "hosts.toml of " + registry, RUNTIMES_HOST)
        assert 'server = "https://%s"' % registry in hosts_toml
        assert '[host."%s"]\n  capabilities = ["pull", "resolve"]\n' % GHCR_MIRROR in hosts_toml
        assert stdout(run, "digest from " + registry, RUNTIMES_HOST) == digest  # served by the mirror
        assert run.result("remove " + registry, RUNTIMES_HOST)["changed"] is True
    assert_no_traceback(run)


@pytest.mark.lab
def test_podman_pulls_other_registries_images_through_the_drop_in(run_playbook, runtimes_host):
    digest = stand_in_manifest()[0]
    run = run_playbook(play(RUNTIMES_HOST, [
        *[task for registry in OTHER_REGISTRIES for task in (
            shell("no image of " + registry, "podman rmi -f %s/org/app:1" % registry, ignore_errors=True),
            mirrors_task("mirror " + registry, runtime="podman", registry=registry, mirrors=[GHCR_MIRROR]),
            slurp("drop-in of " + registry, "/etc/containers/registries.conf.d/50-dockhand-%s.conf" % registry),
            shell("pull from " + registry, "podman pull -q %s/org/app:1" % registry),
            shell("digest from " + registry, "podman image inspect --format '{{.Digest}}' %s/org/app:1" % registry),
            mirrors_task("remove " + registry, runtime="podman", registry=registry, state="absent"),
        )],
    ]), inventory=runtimes_host)
    assert run.rc == 0, str(run)
    for registry in OTHER_REGISTRIES:
        assert text_of(run, "drop-in of " + registry, RUNTIMES_HOST).endswith(
            '[[registry]]\nprefix = "%s"\nlocation = "%s"\n\n[[registry.mirror]]\n'
            'location = "dockhand-lab-ghcr-mirror:5011"\ninsecure = true\n' % (registry, registry))
        assert stdout(run, "digest from " + registry, RUNTIMES_HOST) == digest  # served by the mirror
        assert run.result("remove " + registry, RUNTIMES_HOST)["changed"] is True
    assert_no_traceback(run)


# -- on this machine, with files in a temporary directory (no lab, nothing applied) -------------

@pytest.fixture
def tree(tmp_path):
    """daemon.json, config.toml and registries.conf.d with content, and the options that point at them."""
    etc = tmp_path / "etc"
    (etc / "docker").mkdir(parents=True)
    (etc / "containerd").mkdir()
    (etc / "containers" / "registries.conf.d").mkdir(parents=True)
    (etc / "docker" / "daemon.json").write_text('{\n  "debug": true,\n  "insecure-registries": ["10.0.0.0/8"]\n}\n')
    (etc / "containerd" / "config.toml").write_text(DEBIAN_CONFIG_TOML)
    (etc / "containers" / "registries.conf").write_text('unqualified-search-registries = ["docker.io"]\n')
    shortnames = etc / "containers" / "registries.conf.d" / "shortnames.conf"
    shortnames.write_text('[aliases]\n"busybox" = "docker.io/library/busybox"\n')
    options = {
        "runtime": ["docker", "containerd", "podman"],
        "path": str(etc / "docker" / "daemon.json"),
        "containerd_config": str(etc / "containerd" / "config.toml"),
        "containerd_certs_dir": str(etc / "containerd" / "certs.d"),
        "registries_conf_d": str(etc / "containers" / "registries.conf.d"),
        "mirrors_table": str(etc / "dockhand" / "registry-mirrors.json"),
        "docker_host": "unix://" + str(tmp_path / "no-engine.sock"),  # never this machine's dockerd
        "apply": "none",
    }
    return etc, options


def snapshot(directory):
    return {os.path.relpath(os.path.join(root, name), directory): open(os.path.join(root, name), "rb").read()
            for root, _dirs, files in os.walk(directory) for name in files}


def test_present_absent_round_trip_on_files(run_playbook, tree):
    etc, options = tree
    mirrors = [HUB, {"url": "https://m.example.com", "insecure": True, "ca_file": "/etc/ssl/m.pem"}]
    run = run_playbook(local_play([
        mirrors_task("present", mirrors=mirrors, **options),
        mirrors_task("present again", mirrors=mirrors, **options),
        mirrors_task("drop one", state="absent", mirrors=["https://m.example.com/"], **options),
    ]))
    assert run.rc == 0, str(run)
    present = run.result("present")
    assert set(present["runtimes"]) == {"docker", "containerd", "podman"}
    assert not any(entry["skipped"] for entry in present["runtimes"].values())
    assert present["runtimes"]["containerd"]["files"] == [str(etc / "containerd/certs.d/docker.io/hosts.toml"),
                                                          options["containerd_config"]]
    assert any("/etc/docker/certs.d/m.example.com/" in warning for warning in present["warnings"])
    assert run.result("present again")["changed"] is False
    assert all(not r["changed"] for r in run.result("present again")["runtimes"].values())
    files = snapshot(str(etc))
    daemon = json.loads(files["docker/daemon.json"])
    assert daemon == {"debug": True, "insecure-registries": ["10.0.0.0/8"], "registry-mirrors": [HUB]}
    hosts_toml = files["containerd/certs.d/docker.io/hosts.toml"].decode()
    assert HUB in hosts_toml and "m.example.com" not in hosts_toml
    assert b"m.example.com" not in files["containers/registries.conf.d/50-dockhand-docker.io.conf"]
    assert files["containers/registries.conf.d/shortnames.conf"].startswith(b"[aliases]")

    gone = run_playbook(local_play([mirrors_task("absent", state="absent", **options)]))
    assert gone.rc == 0, str(gone)
    files = snapshot(str(etc))
    assert json.loads(files["docker/daemon.json"]) == {"debug": True, "insecure-registries": ["10.0.0.0/8"],
                                                       "registry-mirrors": []}
    assert "containerd/certs.d/docker.io/hosts.toml" not in files
    assert not (etc / "containerd" / "certs.d" / "docker.io").exists()
    assert "containers/registries.conf.d/50-dockhand-docker.io.conf" not in files
    assert b"config_path" in files["containerd/config.toml"]  # it stays: harmless without hosts.toml files


def test_auto_mirrors_quay_io_on_every_runtime_docker_through_the_rewrite_table(run_playbook, tree):
    etc, options = tree
    table_path = etc / "dockhand" / "registry-mirrors.json"
    table_path.parent.mkdir()
    table_path.write_text('{"version": 1, "note": "kept", "registries": {"ghcr.io": {"mirrors": '
                          '[{"url": "https://ghcr.mirror.lan", "insecure": false}], "verify_digest": "mirror"}}}\n')
    quay = dict(options, runtime=["auto"], registry="Quay.IO")
    run = run_playbook(local_play([
        mirrors_task("quay", **dict(quay, mirrors=[HUB, "https://m.example.com/quay.io"])),
        mirrors_task("quay again", **dict(quay, mirrors=[HUB, "https://m.example.com/quay.io"])),
    ]))
    assert run.rc == 0, str(run)
    result = run.result("quay")
    assert result["registry"] == "quay.io"
    docker = result["runtimes"]["docker"]  # this machine has dockerd, containerd and podman
    assert docker["skipped"] is False and docker["files"] == [str(table_path), options["path"]]
    assert docker["table_mirrors"] == [HUB, "https://m.example.com/quay.io"]
    assert docker["changed_keys"] == ["insecure-registries"]  # the plain-HTTP mirror, pulled from by name
    assert result["runtimes"]["containerd"]["files"][0] == str(etc / "containerd/certs.d/quay.io/hosts.toml")
    assert result["runtimes"]["podman"]["files"] == [str(etc / "containers/registries.conf.d/"
                                                         "50-dockhand-quay.io.conf")]
    assert 'server = "https://quay.io"' in (etc / "containerd/certs.d/quay.io/hosts.toml").read_text()
    assert json.loads((etc / "docker" / "daemon.json").read_text()) == {
        "debug": True, "insecure-registries": ["10.0.0.0/8", "dockhand-lab-hub:5000"]}
    table = json.loads(table_path.read_text())
    assert table == {"version": 1, "note": "kept", "registries": {
        "ghcr.io": {"mirrors": [{"url": "https://ghcr.mirror.lan", "insecure": False}], "verify_digest": "mirror"},
        "quay.io": {"mirrors": [{"url": HUB, "insecure": False}, {"url": "https://m.example.com/quay.io",
                                                                  "insecure": False}],
                    "verify_digest": "mirror"}}}
    assert oct(table_path.stat().st_mode & 0o777) == "0o644"
    assert run.result("quay again")["changed"] is False

    gone = run_playbook(local_play([
        dict(mirrors_task("check", **dict(quay, state="absent")), check_mode=True, diff=True),
        mirrors_task("absent", **dict(quay, state="absent")),
        mirrors_task("every registry", **dict(options, registry="_default", mirrors=[HUB], runtime=["auto"])),
    ]))
    assert gone.rc == 0, str(gone)
    checked = gone.result("check")["runtimes"]["docker"]
    assert checked["changed"] and checked["files"] == [str(table_path), options["path"]]
    absent = gone.result("absent")["runtimes"]["docker"]
    assert absent["files"] == [str(table_path), options["path"]] and absent["table_mirrors"] == []
    assert json.loads((etc / "docker" / "daemon.json").read_text()) == {"debug": True,
                                                                        "insecure-registries": ["10.0.0.0/8"]}
    assert list(json.loads(table_path.read_text())["registries"]) == ["ghcr.io"]  # the other registry stays
    every = gone.result("every registry")["runtimes"]
    assert every["docker"]["skipped"] and "Docker has no mirrors for every registry at once" in every["docker"][
        "reason"]
    assert_no_traceback(gone)


BAD_INPUT = [
    ({"mirrors": ["mirror.example.com"]}, "mirrors[0]: 'mirror.example.com' has no scheme"),
    ({"mirrors": ["http//172.17.0.3:5001"]},
     "mirrors[0]: 'http//172.17.0.3:5001' has a mangled scheme: write http://172.17.0.3:5001"),
    ({"mirrors": ["https;//mirror.example.com"]}, "has a mangled scheme: write https://mirror.example.com"),
    ({"mirrors": ["https://user:hunter2/x@mirror.example.com"]}, "'https://user:********@mirror.example.com' "
                                                                 "carries credentials"),
    ({"mirrors": ["ftp://mirror.example.com"]}, "the scheme must be http or https, not ftp"),
    ({"mirrors": ["https://user:hunter2@mirror.example.com"]}, "carries credentials"),
    ({"mirrors": ["https://mirror.example.com/?token=abc"]}, "has a query string"),
    ({"mirrors": [{"url": "https://m.example.com", "skipverify": True}]}, "did you mean skip_verify?"),
    ({"mirrors": ["https://mirror"], "registry": "quay.io", "runtime": ["docker"]},
     "the engine reads 'mirror' in an image name as a Docker Hub user"),
    ({"mirrors": ["https://m.example.com/Quay"], "registry": "quay.io"}, "must be lower-case repository name"),
    ({"mirrors": [HUB], "registry": "quay.io", "_table": '{"version": 1, "registries": {"quay.io": 1}}'},
     "It is this module's rewrite table"),
    ({"mirrors": [HUB], "registry": "quay.io", "verify_digest": "both"}, "verify_digest"),
    ({"mirrors": [HUB], "registry": "_default", "runtime": ["podman"]}, "_default is for containerd only"),
    ({"mirrors": [HUB], "registry": "https://quay.io"}, "without a scheme (quay.io)"),
    ({"mirrors": []}, "mirrors is empty"),
    ({"mirrors": [HUB], "runtime": ["dokcer"]}, "runtime"),
    ({"mirrors": [HUB], "containerd_certs_dir": "/elsewhere", "_config_path": "/etc/containerd/certs.d"},
     "already sets config_path = '/etc/containerd/certs.d'"),
    ({"mirrors": [HUB], "_config_toml": "version = 2\n[plugins\n"}, "config.toml: line 2"),
    ({"mirrors": [HUB], "_daemon_json": '{"debug": true,}'}, "is not valid JSON"),
    ({"mirrors": [HUB], "_registries_conf": '[registries.search]\nregistries = ["docker.io"]\n'}, "old v1 format"),
]


@pytest.mark.parametrize("changes, words", BAD_INPUT, ids=[words[:40] for _changes, words in BAD_INPUT])
def test_bad_input_fails_clearly_and_writes_nothing(run_playbook, tree, changes, words):
    etc, options = tree
    changes = dict(changes)
    if "_config_path" in changes:
        (etc / "containerd" / "config.toml").write_text(
            'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "%s"\n'
            % changes.pop("_config_path"))
    if "_config_toml" in changes:
        (etc / "containerd" / "config.toml").write_text(changes.pop("_config_toml"))
    if "_daemon_json" in changes:
        (etc / "docker" / "daemon.json").write_text(changes.pop("_daemon_json"))
    if "_registries_conf" in changes:
        (etc / "containers" / "registries.conf").write_text(changes.pop("_registries_conf"))
    if "_table" in changes:
        (etc / "dockhand").mkdir()
        (etc / "dockhand" / "registry-mirrors.json").write_text(changes.pop("_table"))
    before = snapshot(str(etc))
    run = run_playbook(local_play([mirrors_task("bad", **dict(options, **changes))]))
    assert run.rc != 0 and run.status("bad") == "failed"
    message = run.result("bad")["msg"]
    assert words in message, message
    assert "https://http" not in message
    assert "hunter2" not in json.dumps(run.result("bad")) and "hunter2" not in run.output
    assert snapshot(str(etc)) == before  # nothing written, nothing left behind
    assert_no_traceback(run)


# Where Ansible's get_bin_path looks beyond PATH (ansible.module_utils.common.process).
SBIN_DIRS = ("/sbin", "/usr/sbin", "/usr/local/sbin")


def test_a_runtime_asked_for_but_not_installed(run_playbook, tree, tmp_path):
    _etc, options = tree
    # The machine's containerd comes from Debian's package, which puts it in /usr/bin: with an empty PATH the
    # module cannot find it. (Were it in an sbin directory, this test would have to hide it another way.)
    assert not [d for d in SBIN_DIRS if os.path.exists(os.path.join(d, "containerd"))], \
        "containerd is in an sbin directory here, where get_bin_path finds it whatever PATH says"
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    task = mirrors_task("containerd", **dict(options, runtime=["containerd"], mirrors=[HUB]))
    run = run_playbook(local_play([dict(task, environment={"PATH": str(empty)})]))
    assert run.rc != 0 and run.status("containerd") == "failed"
    message = run.result("containerd")["msg"]
    assert "runtime containerd was asked for, but this host has no containerd" in message
    assert_no_traceback(run)


def test_an_invalid_daemon_json_is_kept_and_replaced_on_request(run_playbook, tree):
    """Issue 15 #10: the message names on_invalid, and registry_mirrors takes it."""
    etc, options = tree
    broken = b'{"debug": true,,}\n'
    (etc / "docker" / "daemon.json").write_bytes(broken)
    docker = dict(options, runtime=["docker"], mirrors=[HUB])
    run = run_playbook(local_play([
        dict(mirrors_task("refused", **docker), ignore_errors=True),
        mirrors_task("replaced", on_invalid="backup_and_replace", register="replaced", **docker),
    ]))
    assert run.rc == 0, str(run)
    refused = run.result("refused")["msg"]
    assert "is not valid JSON" in refused and "set on_invalid: backup_and_replace" in refused, refused
    replaced = run.result("replaced")["runtimes"]["docker"]
    assert json.loads((etc / "docker" / "daemon.json").read_text()) == {"registry-mirrors": [HUB]}
    with open(replaced["backup_file"], "rb") as kept:
        assert kept.read() == broken
    assert_no_traceback(run)


@pytest.mark.parametrize("held", ["hosts.toml", "config.toml", "drop-in"])
def test_each_file_is_changed_under_its_lock(tree, held, tmp_path):
    """Issue 9, lost updates: a run waits for the lock another run holds on hosts.toml, config.toml or the
    registries.conf.d drop-in, and writes nothing until it is released."""
    etc, options = tree
    paths = {"hosts.toml": etc / "containerd/certs.d/docker.io/hosts.toml",
             "config.toml": etc / "containerd/config.toml",
             "drop-in": etc / "containers/registries.conf.d/50-dockhand-docker.io.conf"}
    before = snapshot(str(etc))
    playbook = tmp_path / "locked.yml"
    playbook.write_text(yaml.safe_dump(local_play([mirrors_task(
        "while another run holds the lock", **dict(options, runtime=["containerd", "podman"], mirrors=[HUB]))])))
    record = tmp_path / "record.jsonl"
    with locked(str(paths[held]), timeout=5):
        proc = subprocess.Popen([tool("ansible-playbook"), str(playbook), "-i", "localhost,"],
                                env=ansible_env(str(record)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        with contextlib.suppress(subprocess.TimeoutExpired):  # it waits for the lock, as it should
            proc.wait(timeout=20)
        assert snapshot(str(etc)) == before, "a file was written while another run held the lock on %s" % held
    output, _err = proc.communicate(timeout=120)
    assert proc.returncode == 0, output[-3000:]
    after = snapshot(str(etc))
    assert after != before and HUB.encode() in after["containerd/certs.d/docker.io/hosts.toml"]
    assert b"dockhand-lab-hub:5000" in after["containers/registries.conf.d/50-dockhand-docker.io.conf"]


def processes_holding(path):
    """The PIDs, other than this one, that have ``path`` open."""
    found = set()
    for pid in (entry for entry in os.listdir("/proc") if entry.isdigit() and int(entry) != os.getpid()):
        with contextlib.suppress(OSError):
            for fd in os.listdir("/proc/%s/fd" % pid):
                with contextlib.suppress(OSError):
                    if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == path:
                        found.add(int(pid))
    return found


def test_a_daemon_json_change_made_while_a_run_waits_for_its_lock_is_kept(tree, tmp_path):
    """Issue 10, a lost update: Docker's registry-mirrors and insecure-registries are computed from daemon.json
    as it is under its lock, not as it was when the run planned, so what another run wrote meanwhile stays."""
    etc, options = tree
    daemon_json = etc / "docker" / "daemon.json"
    playbook = tmp_path / "mirrors.yml"
    playbook.write_text(yaml.safe_dump(local_play([mirrors_task("an insecure mirror", **dict(
        options, runtime=["docker"], mirrors=[{"url": "https://m.example.com", "insecure": True}]))])))
    record = tmp_path / "record.jsonl"
    with locked(str(daemon_json), timeout=5) as lock_file:
        proc = subprocess.Popen([tool("ansible-playbook"), str(playbook), "-i", "localhost,"],
                                env=ansible_env(str(record)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        while not processes_holding(os.path.realpath(lock_file)):  # the run has planned and waits for the lock
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            time.sleep(0.1)
        # what another run (daemon_config adding an insecure registry) writes while it holds the lock
        atomic_write(str(daemon_json), b'{"debug": true, "insecure-registries": ["10.0.0.0/8", "build.lan:5000"]}\n')
    output, _err = proc.communicate(timeout=120)
    assert proc.returncode == 0, output[-3000:]
    assert json.loads(daemon_json.read_text()) == {
        "debug": True, "insecure-registries": ["10.0.0.0/8", "build.lan:5000", "m.example.com"],
        "registry-mirrors": ["https://m.example.com"]}
