"""engine_proxy through ansible-playbook on host19, an edge host: only the lab's proxy reaches the hub from it.

host19 has an 'unreachable' route to the hub (the stand-in for Docker Hub),
so a pull succeeds only when it goes through ``dockhand-lab-proxy`` (tinyproxy
with basic auth). Docker's registry-mirrors point at the hub by name; dockerd
(Debian's 20.10: the systemd method) and Podman then reach it through the proxy.
The proxy's password never shows, not even at -vvv.
"""

import base64
import sys
import urllib.request
from pathlib import Path

import cri
import grpc
import pytest
from conftest import assert_no_traceback
from conftest import shell_task as shell

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
import lab as lab_py  # noqa: E402 - the lab's own constants (the proxy's credentials and names)

HOST = "dockhand-lab-host19"
HUB = "http://%s:5000" % lab_py.HUB_NAME
LOCAL_HUB = "http://127.0.0.1:%d" % lab_py.HUB_PORT
PASSWORD = lab_py.PROXY_PASSWORD
PROXY = "http://%s:%s@%s:%d" % (lab_py.PROXY_USER, PASSWORD, lab_py.PROXY_NAME, lab_py.PROXY_PORT)
SHOWN_PROXY = "http://%s:********@%s:%d" % (lab_py.PROXY_USER, lab_py.PROXY_NAME, lab_py.PROXY_PORT)
UNIT_DIR = "/etc/systemd/system/docker.service.d"
ENV_FILE = UNIT_DIR + "/50-dockhand-proxy.env"
DROP_IN = UNIT_DIR + "/50-dockhand-proxy.conf"
PODMAN_DROP_IN = "/etc/containers/containers.conf.d/50-dockhand-proxy.conf"
DAEMON_JSON = "/etc/docker/daemon.json"
DOCKERD_PID = "systemctl show -p MainPID --value docker"


def play(tasks):
    return [{"name": "engine_proxy", "hosts": HOST, "gather_facts": False, "tasks": tasks}]


def proxy_task(name, check_mode=False, ignore_errors=False, **options):
    task = {"name": name, "dockhand.runtime.engine_proxy": options, "register": "result"}
    if check_mode:
        task["check_mode"] = True
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def stat(name, path):
    return {"name": name, "ansible.builtin.stat": {"path": path}}


def out(run, task):
    return run.result(task, HOST)["stdout"].strip()


def hub_digest(repository, tag="latest", accept="application/vnd.docker.distribution.manifest.v2+json"):
    request = urllib.request.Request("%s/v2/%s/manifests/%s" % (LOCAL_HUB, repository, tag), method="HEAD",
                                     headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback, the lab's hub
        return answer.headers["Docker-Content-Digest"]


def hub_digests(repository, tag="latest"):
    """The hub's digests of a tag: its schema 2 manifest, and the schema 1 one it makes for a client whose Accept
    lacks schema 2. dockerd and Podman send one Accept header per type, and tinyproxy may pass on only one."""
    return {hub_digest(repository, tag), hub_digest(repository, tag, "application/vnd.oci.image.manifest.v1+json")}


def assert_password_hidden(run):
    at = run.output.find(PASSWORD)
    assert at < 0, "the proxy's password shows in the output: ...%s..." % run.output[max(0, at - 600):at + 100]
    for record in run.records:
        assert PASSWORD not in str(record["result"]), "the proxy's password shows in %s" % record["task"]


@pytest.fixture(scope="module")
def edge_host(lab, run_playbook_once):
    """host19 with docker.io and podman, Docker Hub's mirror set to the hub by name, no proxy and no busybox."""
    run = run_playbook_once(play([
        {"name": "install", "ansible.builtin.apt": {"name": ["docker.io", "podman"], "update_cache": True,
                                                    "cache_valid_time": 3600, "install_recommends": False}},
        {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
        {"name": "docker.io through the hub", "dockhand.runtime.registry_mirrors": {
            "runtime": ["docker", "podman"], "mirrors": [HUB]}},
        {"name": "no proxy", "dockhand.runtime.engine_proxy": {"state": "absent", "runtime": ["docker", "podman"]}},
        shell("no images", "docker rmi -f busybox hello; podman rmi -f docker.io/library/busybox", ignore_errors=True),
        shell("the hub is cut off", "curl -sS --max-time 5 -o /dev/null %s/v2/ 2>&1" % HUB, ignore_errors=True),
    ]), inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    assert run.result("the hub is cut off", HOST)["rc"] != 0, "host19 reaches the hub without the proxy"
    return lab["inventory"]


@pytest.mark.lab
def test_dockerd_pulls_through_the_proxy_once_restarted_and_check_mode_touches_nothing(
        run_playbook, edge_host, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")  # -vvv: module_args in the output too
    options = {"runtime": ["docker"], "http_proxy": PROXY, "https_proxy": PROXY, "no_proxy": ["localhost", "127.0.0.1"]}
    run = run_playbook(play([
        shell("pull without the proxy", "docker pull busybox 2>&1", ignore_errors=True),
        shell("pid before", DOCKERD_PID),
        proxy_task("check", check_mode=True, **options),
        stat("env file after check", ENV_FILE),
        shell("pid after check", DOCKERD_PID),
        proxy_task("set", **options),
        shell("pid after set", DOCKERD_PID),
        proxy_task("again", **options),
        shell("pid after again", DOCKERD_PID),
        stat("env file", ENV_FILE),
        shell("pull through the proxy", "docker pull busybox"),
        shell("pulled digest", "docker image inspect -f '{{index .RepoDigests 0}}' busybox"),
        shell("environment of dockerd", "tr '\\0' '\\n' </proc/$(%s)/environ | grep -c '^HTTPS_PROXY=http://%s:'"
              % (DOCKERD_PID, lab_py.PROXY_USER)),
    ]), inventory=edge_host, diff=True)
    assert run.rc == 0, str(run)
    refused = run.result("pull without the proxy", HOST)
    assert refused["rc"] != 0, refused["stdout"]

    check = run.result("check", HOST)
    docker = check["runtimes"]["docker"]
    assert check["changed"] is True and docker["method"] == "systemd" and docker["applied"] == "restart"
    assert docker["files"] == [ENV_FILE, DROP_IN]
    assert run.result("env file after check", HOST)["stat"]["exists"] is False
    assert out(run, "pid after check") == out(run, "pid before")

    first = run.result("set", HOST)
    assert first["changed"] is True and first["proxy"]["https_proxy"] == SHOWN_PROXY
    assert first["runtimes"]["docker"]["applied"] == "restart" and first["runtimes"]["docker"]["rolled_back"] is False
    assert out(run, "pid after set") != out(run, "pid after check")
    again = run.result("again", HOST)
    assert again["changed"] is False and again["runtimes"]["docker"]["applied"] == "none"
    assert out(run, "pid after again") == out(run, "pid after set")
    assert run.result("env file", HOST)["stat"]["mode"] == "0600"
    assert out(run, "pulled digest") in {"busybox@" + digest for digest in hub_digests("library/busybox")}
    assert out(run, "environment of dockerd") == "1"
    assert SHOWN_PROXY in run.output  # the diff, masked
    assert_password_hidden(run)
    assert_no_traceback(run)


@pytest.mark.lab
def test_a_proxy_dockerd_refuses_is_rolled_back(run_playbook, edge_host, monkeypatch):
    """Debian's dockerd 20.10 does not know daemon.json's proxies: it does not start, and the file is put back."""
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    run = run_playbook(play([
        {"name": "daemon.json before", "ansible.builtin.slurp": {"src": DAEMON_JSON}},
        proxy_task("daemon_json on 20.10", ignore_errors=True, runtime=["docker"], docker_method="daemon_json",
                   https_proxy=PROXY),
        {"name": "daemon.json after", "ansible.builtin.slurp": {"src": DAEMON_JSON}},
        shell("docker active", "systemctl is-active docker"),
        shell("engine answers", "docker version --format '{{.Server.Version}}'"),
    ]), inventory=edge_host)
    failed = run.result("daemon_json on 20.10", HOST)
    assert run.status("daemon_json on 20.10", HOST) == "failed", str(run)
    assert failed["runtimes"]["docker"]["rolled_back"] is True
    # dockerd's own words (20.10 reads the proxies object's keys at the top level), and what was done about it
    assert "don't match any configuration option: https-proxy" in failed["msg"], failed["msg"]
    assert "was restored and dockerd runs with it again" in failed["msg"], failed["msg"]
    assert run.result("daemon.json after", HOST)["content"] == run.result("daemon.json before", HOST)["content"]
    assert out(run, "docker active") == "active" and out(run, "engine answers")
    assert_password_hidden(run)
    assert_no_traceback(run)


@pytest.mark.lab
def test_podman_pulls_through_the_proxy_and_absent_removes_it(run_playbook, edge_host, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    run = run_playbook(play([
        shell("pull without the proxy", "podman pull -q docker.io/library/busybox 2>&1", ignore_errors=True),
        proxy_task("set", runtime=["docker", "podman"], http_proxy=PROXY, https_proxy=PROXY),
        {"name": "drop-in", "ansible.builtin.slurp": {"src": PODMAN_DROP_IN}},
        stat("drop-in mode", PODMAN_DROP_IN),
        shell("pull through the proxy", "podman pull -q docker.io/library/busybox"),
        shell("pulled digest", "podman image inspect --format '{{.Digest}}' docker.io/library/busybox"),
        shell("a container's proxy", "podman run --rm docker.io/library/busybox env | grep -ci proxy || true"),
        proxy_task("remove", runtime=["docker", "podman"], state="absent"),
        proxy_task("remove again", runtime=["docker", "podman"], state="absent"),
        stat("env file gone", ENV_FILE),
        shell("docker pull without the proxy", "docker pull hello 2>&1", ignore_errors=True),
    ]), inventory=edge_host)
    assert run.rc == 0, str(run)
    assert run.result("pull without the proxy", HOST)["rc"] != 0
    first = run.result("set", HOST)["runtimes"]["podman"]
    assert first["changed"] and first["applied"] == "none" and first["files"] == [PODMAN_DROP_IN]
    text = base64.b64decode(run.result("drop-in", HOST)["content"]).decode()
    assert "[engine]\nenv = [" in text and '"HTTPS_PROXY=http://%s:' % lab_py.PROXY_USER in text
    assert run.result("drop-in mode", HOST)["stat"]["mode"] == "0600"
    assert out(run, "pulled digest") in hub_digests("library/busybox")  # the hub's, through the proxy
    assert out(run, "a container's proxy") == "0"  # Podman does not pass its proxy (and password) to containers
    removed = run.result("remove", HOST)
    assert removed["changed"] and removed["runtimes"]["podman"]["files"] == [PODMAN_DROP_IN]
    assert removed["runtimes"]["docker"]["files"] == [ENV_FILE, DROP_IN]
    assert removed["runtimes"]["docker"]["applied"] == "restart"
    assert run.result("remove again", HOST)["changed"] is False
    assert run.result("env file gone", HOST)["stat"]["exists"] is False
    assert run.result("docker pull without the proxy", HOST)["rc"] != 0  # the proxy is gone from dockerd too
    assert_password_hidden(run)
    assert_no_traceback(run)


@pytest.mark.lab
def test_mirror_probe_reaches_a_trusted_upstream_through_the_proxy(run_playbook, edge_host, lab, monkeypatch):
    """The hub, trusted, is reachable from host19 only through the proxy: without it the reference falls back to
    the mirrors; with it the hub's digest is the reference, and the cache (a mirror of it) is ok."""
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    cache = lab["data"]["all"]["children"]["lab"]["vars"]["lab_mirrors"]["cache"]
    probe = {"mirrors": [cache], "image": "library/busybox:latest", "trusted": [HUB], "timeout": 5}
    run = run_playbook(play([
        {"name": "direct", "dockhand.runtime.mirror_probe": probe, "register": "direct"},
        {"name": "through the proxy", "dockhand.runtime.mirror_probe": dict(probe, proxy="{{ lab_proxy_url }}"),
         "register": "proxied"},
        {"name": "a socks proxy", "dockhand.runtime.mirror_probe": dict(probe, proxy="socks5://proxy.lan:1080"),
         "ignore_errors": True},
    ]), inventory=edge_host, extra_vars={"lab_proxy_url": PROXY})  # as from a vault: Ansible's own error
    # display quotes the playbook's lines around a failed task, so a password written there would show
    assert run.rc == 0, str(run)
    direct = run.result("direct", HOST)["integrity"]["references"]["library/busybox:latest"]
    assert not direct["source"].startswith("trusted"), direct  # the hub is cut off from host19
    proxied = run.result("through the proxy", HOST)
    reference = proxied["integrity"]["references"]["library/busybox:latest"]
    assert reference["source"] == "trusted %s" % HUB, reference
    assert reference["digest"] in hub_digests("library/busybox"), reference
    assert proxied["results"][0]["integrity"] == "ok" and proxied["best"] == [cache], proxied["results"]
    assert run.status("a socks proxy", HOST) == "failed"
    assert "proxy: the probe goes through http:// proxies only" in run.result("a socks proxy", HOST)["msg"]
    assert_password_hidden(run)
    assert_no_traceback(run)


CONTAINERD_PID = "systemctl show -p MainPID --value containerd"


@pytest.mark.lab
def test_containerd_gets_the_proxy_in_its_environment_and_absent_takes_it_out(run_playbook, edge_host, monkeypatch):
    """containerd (the CRI pulls in the daemon, so its environment is what counts): one restart with the proxy in
    its environment, none on a rerun, and absent takes it out again; Docker's containers keep running."""
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    options = {"runtime": ["containerd"], "https_proxy": PROXY, "no_proxy": ["localhost"]}
    environment = "tr '\\0' '\\n' </proc/$(%s)/environ | grep -c '^HTTPS_PROXY=http://%s:' || true" % (
        CONTAINERD_PID, lab_py.PROXY_USER)
    run = run_playbook(play([
        proxy_task("no proxy yet", state="absent", runtime=["containerd"]),
        shell("pid before", CONTAINERD_PID),
        proxy_task("set", **options),
        shell("pid after set", CONTAINERD_PID),
        shell("environment after set", environment),
        proxy_task("again", **options),
        shell("pid after again", CONTAINERD_PID),
        proxy_task("remove", state="absent", runtime=["containerd"]),
        shell("environment after remove", environment),
        shell("containerd active", "systemctl is-active containerd"),
    ]), inventory=edge_host, diff=True)
    assert run.rc == 0, str(run)
    first = run.result("set", HOST)
    containerd = first["runtimes"]["containerd"]
    assert first["changed"] is True and containerd["rolled_back"] is False and containerd["drop_in"], containerd
    assert out(run, "pid after set") != out(run, "pid before")  # restarted once, to read its new environment
    assert out(run, "environment after set") == "1"
    again = run.result("again", HOST)
    assert again["changed"] is False and out(run, "pid after again") == out(run, "pid after set")
    assert run.result("remove", HOST)["changed"] is True
    assert out(run, "environment after remove") == "0" and out(run, "containerd active") == "active"
    assert_password_hidden(run)
    assert_no_traceback(run)


@pytest.mark.lab
def test_containerd_pulls_for_the_kubelet_through_the_proxy(run_playbook, edge_host):
    """A CRI pull (containerd fetches, as for a kubelet) of docker.io's busybox through hosts.toml's mirror, the
    hub: refused while the hub is cut off, served through the proxy once engine_proxy gave containerd it."""
    ref = "docker.io/library/busybox:latest"
    digest = "ctr -n k8s.io images ls 'name==%s' | awk 'NR==2 {print $3}'" % ref
    prepare = run_playbook(play([
        {"name": "docker.io through the hub", "dockhand.runtime.registry_mirrors": {
            "runtime": ["containerd"], "mirrors": [HUB]}},
        proxy_task("no proxy", state="absent", runtime=["containerd"]),
        shell("no busybox for the kubelet", "ctr -n k8s.io images rm %s" % ref, ignore_errors=True),
    ]), inventory=edge_host)
    assert prepare.rc == 0, str(prepare)
    try:
        with pytest.raises(grpc.RpcError) as refused:
            cri.pull(HOST, ref, timeout=60)
        assert "dockhand-lab-hub" in str(refused.value.details())  # it went to the mirror, which is cut off
        through = run_playbook(play([proxy_task("set", runtime=["containerd"], http_proxy=PROXY)]),
                               inventory=edge_host)
        assert through.rc == 0 and through.result("set", HOST)["changed"] is True, str(through)
        assert cri.pull(HOST, ref, timeout=120).startswith("sha256:")
        pulled = run_playbook(play([shell("digest", digest)]), inventory=edge_host)
        assert pulled.rc == 0 and out(pulled, "digest") in hub_digests("library/busybox"), str(pulled)
        assert_password_hidden(through)
    finally:
        undone = run_playbook(play([
            proxy_task("no proxy", state="absent", runtime=["containerd"]),
            {"name": "no mirror", "dockhand.runtime.registry_mirrors": {"runtime": ["containerd"],
                                                                        "state": "absent"}},
        ]), inventory=edge_host)
        assert undone.rc == 0, str(undone)


STAND_IN = "dockhand-proxy-standin.service"
STAND_IN_UNIT = "/etc/systemd/system/" + STAND_IN


@pytest.mark.lab
def test_a_service_that_does_not_come_back_with_the_proxy_is_rolled_back(run_playbook, edge_host):
    """The drop-in path containerd takes, on a stand-in unit that refuses to run with a proxy in its environment:
    the restart fails, the drop-in and environment file are taken out again, the unit runs as before, and the
    task names the unit and shows its journal."""
    refuses = "[Service]\nExecStart=/bin/sh -c 'test -z \"$HTTPS_PROXY\" || { echo proxy refused >&2; exit 3; }; " \
              "exec sleep infinity'\n[Install]\nWantedBy=multi-user.target\n"
    run = run_playbook(play([
        {"name": "stand-in unit", "ansible.builtin.copy": {"dest": STAND_IN_UNIT, "content": refuses}},
        {"name": "start it", "ansible.builtin.systemd_service": {"name": STAND_IN, "state": "restarted",
                                                                 "daemon_reload": True}},
        shell("pid before", "systemctl show -p MainPID --value " + STAND_IN),
        proxy_task("proxy for it", ignore_errors=True, runtime=["containerd"], containerd_unit=STAND_IN,
                   https_proxy=PROXY),
        stat("drop-in after", "/etc/systemd/system/%s.d/50-dockhand-proxy.conf" % STAND_IN),
        stat("env file after", "/etc/systemd/system/%s.d/50-dockhand-proxy.env" % STAND_IN),
        shell("active after", "systemctl is-active " + STAND_IN),
        {"name": "remove the stand-in", "ansible.builtin.systemd_service": {"name": STAND_IN, "state": "stopped"}},
        {"name": "remove its file", "ansible.builtin.file": {"path": STAND_IN_UNIT, "state": "absent"}},
    ]), inventory=edge_host)
    failed = run.result("proxy for it", HOST)
    assert run.status("proxy for it", HOST) == "failed", str(run)
    assert failed["runtimes"]["containerd"]["rolled_back"] is True, failed
    assert STAND_IN in failed["msg"] and "proxy refused" in failed["msg"], failed["msg"]
    assert run.result("drop-in after", HOST)["stat"]["exists"] is False
    assert run.result("env file after", HOST)["stat"]["exists"] is False
    assert out(run, "active after") == "active"
    assert_password_hidden(run)
    assert_no_traceback(run)
