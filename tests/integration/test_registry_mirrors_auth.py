"""registry_mirrors with a mirror that wants basic auth: containerd and Podman pull through the lab's authmirror.

The lab's ``dockhand-lab-authmirror`` is a pull-through cache of the hub that
answers 401 to every request without its credentials. host20 (this file's own)
pulls library/busybox through it with the credentials registry_mirrors writes, and fails with a
401 without them. The password never shows, not even at -vvv.
"""

import base64
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from conftest import shell_task as shell

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
import lab as lab_py  # noqa: E402 - the lab's own constants (its credentials and names)

HOST = "dockhand-lab-host20"
AUTH_MIRROR = "http://%s:%d" % (lab_py.AUTH_MIRROR_NAME, lab_py.AUTH_MIRROR_PORT)
LOCAL_HUB = "http://127.0.0.1:%d" % lab_py.HUB_PORT
PASSWORD = lab_py.AUTH_MIRROR_PASSWORD
CREDENTIALS = {"username": lab_py.AUTH_MIRROR_USER, "password": PASSWORD}
CERTS_DIR = "/etc/containerd/certs.d"
HOSTS_TOML = CERTS_DIR + "/docker.io/hosts.toml"
DROP_IN = "/etc/containers/registries.conf.d/50-dockhand-docker.io.conf"
CTR_PULL = "ctr images pull --hosts-dir %s docker.io/library/busybox:latest" % CERTS_DIR
CTR_DIGEST = "ctr images ls | awk '$1 == \"docker.io/library/busybox:latest\" {print $3}'"


def play(tasks):
    return [{"name": "registry_mirrors with auth", "hosts": HOST, "gather_facts": False, "tasks": tasks}]


def mirrors_task(name, **options):
    return {"name": name, "dockhand.runtime.registry_mirrors": options, "register": name.replace(" ", "_")}


def hub_digest():
    request = urllib.request.Request(LOCAL_HUB + "/v2/library/busybox/manifests/latest", method="HEAD", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback, the lab's hub
        return answer.headers["Docker-Content-Digest"]


def assert_password_hidden(run):
    assert PASSWORD not in run.output, "the mirror's password shows in the output"
    for record in run.records:
        assert PASSWORD not in str(record["result"]), "the mirror's password shows in %s" % record["task"]


@pytest.fixture(scope="module")
def runtimes_host(lab, run_playbook_once):
    run = run_playbook_once(play([
        {"name": "install", "ansible.builtin.apt": {"name": ["containerd", "podman"], "update_cache": True,
                                                    "cache_valid_time": 3600, "install_recommends": False}},
        {"name": "start containerd", "ansible.builtin.systemd_service": {"name": "containerd", "state": "started"}},
    ]), inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    return lab["inventory"]


@pytest.mark.lab
def test_containerd_pulls_through_the_authenticated_mirror(run_playbook, runtimes_host, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")  # -vvv: module_args in the output too
    digest = hub_digest()
    mirror = {"url": AUTH_MIRROR, "auth": CREDENTIALS}
    run = run_playbook(play([
        {"name": "no hosts dir", "ansible.builtin.file": {"path": CERTS_DIR, "state": "absent"}},
        shell("no busybox", "ctr images rm docker.io/library/busybox:latest", ignore_errors=True),
        mirrors_task("without credentials", runtime="containerd", mirrors=[AUTH_MIRROR]),
        shell("pull refused", CTR_PULL + " 2>&1", ignore_errors=True),
        mirrors_task("with credentials", runtime="containerd", mirrors=[mirror]),
        mirrors_task("again", runtime="containerd", mirrors=[mirror]),
        {"name": "hosts.toml", "ansible.builtin.stat": {"path": HOSTS_TOML}},
        shell("pull through the mirror", CTR_PULL),
        shell("pulled digest", CTR_DIGEST),
        mirrors_task("remove", runtime="containerd", state="absent"),
    ]), inventory=runtimes_host, diff=True)
    assert run.rc == 0, str(run)
    refused = run.result("pull refused", HOST)
    assert refused["rc"] != 0 and "401" in refused["stdout"], refused["stdout"]
    first = run.result("with credentials", HOST)
    assert first["changed"] and first["mirrors"][0]["auth"] == "********"
    assert first["runtimes"]["containerd"]["files"] == [HOSTS_TOML]
    assert run.result("again", HOST)["changed"] is False
    assert run.result("hosts.toml", HOST)["stat"]["mode"] == "0600"  # it holds the Authorization header
    assert run.result("pulled digest", HOST)["stdout"].strip() == digest  # the hub's, through the mirror
    assert run.result("remove", HOST)["runtimes"]["containerd"]["files"] == [HOSTS_TOML]
    assert "Authorization" in run.output  # the diff shows the header's name, masked
    assert_password_hidden(run)
    assert_no_traceback(run)


@pytest.mark.lab
def test_podman_pulls_through_the_authenticated_mirror(run_playbook, runtimes_host, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    digest = hub_digest()
    auth_file = "/root/.config/containers/auth.json"
    run = run_playbook(play([
        {"name": "no drop-in", "ansible.builtin.file": {"path": DROP_IN, "state": "absent"}},
        {"name": "no auth file", "ansible.builtin.file": {"path": auth_file, "state": "absent"}},
        shell("no busybox", "podman rmi -f docker.io/library/busybox", ignore_errors=True),
        mirrors_task("without credentials", runtime="podman", mirrors=[AUTH_MIRROR]),
        shell("pull refused", "podman pull -q docker.io/library/busybox 2>&1", ignore_errors=True),
        mirrors_task("with credentials", runtime="podman", podman_auth_file=auth_file,
                     mirrors=[{"url": AUTH_MIRROR, "auth": CREDENTIALS}]),
        {"name": "auth file", "ansible.builtin.slurp": {"src": auth_file}},
        shell("pull through the mirror", "podman pull -q docker.io/library/busybox"),
        shell("pulled digest", "podman image inspect --format '{{.Digest}}' docker.io/library/busybox"),
        mirrors_task("remove", runtime="podman", state="absent", podman_auth_file=auth_file),
    ]), inventory=runtimes_host)
    assert run.rc == 0, str(run)
    refused = run.result("pull refused", HOST)
    assert refused["rc"] != 0 and ("401" in refused["stdout"] or "unauthorized" in refused["stdout"].lower()), \
        refused["stdout"]
    first = run.result("with credentials", HOST)["runtimes"]["podman"]
    assert first["changed"] and first["auth_file"] == auth_file
    auths = base64.b64decode(run.result("auth file", HOST)["content"]).decode()
    assert "%s:%d" % (lab_py.AUTH_MIRROR_NAME, lab_py.AUTH_MIRROR_PORT) in auths
    assert run.result("pulled digest", HOST)["stdout"].strip() == digest
    assert_password_hidden(run)
    assert_no_traceback(run)
