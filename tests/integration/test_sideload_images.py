"""playbooks/sideload_images.yml on host21 (the source, which builds) and host22 (no registry used at all).

The image is built FROM scratch on host21, so no registry is involved anywhere; host22 gets it only through the
archive. A rerun must copy and load nothing. Everything is named dh-img-sideload* and removed afterwards.
"""

import os

import pytest
from conftest import assert_no_traceback
from paths import REPO_ROOT

pytestmark = pytest.mark.lab

SOURCE = "dockhand-lab-host21"
TARGET = "dockhand-lab-host22"
IMAGE = "dh-img-sideload:1"
REMOTE_DIR = "/var/tmp/dh-img-sideload"
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "sideload_images.yml")


def play(tasks, hosts=SOURCE + "," + TARGET):
    return [{"name": "sideload test", "hosts": hosts, "gather_facts": False, "tasks": tasks}]


def clean_tasks():
    return [{"name": "remove the image", "dockhand.runtime.image": {"name": IMAGE, "state": "absent"}},
            {"name": "remove the work directory", "ansible.builtin.file": {"path": REMOTE_DIR, "state": "absent"}}]


@pytest.fixture
def engines(lab, run_playbook):
    """docker.io running on both hosts, and none of this test's images or files."""
    hosts = lab["data"]["all"]["children"]["lab"]["children"]["lab_hosts"]["hosts"]
    assert SOURCE in hosts and TARGET in hosts, (
        "this test needs lab hosts 21 and 22 of its own: raise LAB_HOSTS in tests/paths.py to 22")
    run = run_playbook(play([
        {"name": "install docker.io", "ansible.builtin.apt": {"name": ["docker.io"], "update_cache": True,
                                                              "cache_valid_time": 3600, "install_recommends": False}},
        {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
    ] + clean_tasks()), inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    yield lab["inventory"]
    run_playbook(play(clean_tasks()), inventory=lab["inventory"])


def changed_tasks(run):
    return sorted((r["host"], r["task"]) for r in run.records if r["result"].get("changed"))


def test_build_once_save_copy_load_verify_and_a_rerun_copies_nothing(run_playbook, engines, tmp_path):
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (context / "hello.txt").write_text("sideloaded\n")
    extra = {"sideload_source": SOURCE, "sideload_hosts": SOURCE + "," + TARGET,
             "sideload_builds": [{"name": IMAGE, "context": str(context)}],
             "sideload_remote_dir": REMOTE_DIR, "sideload_local_dir": str(tmp_path / "controller")}

    first = run_playbook(PLAYBOOK, inventory=engines, extra_vars=extra)
    assert first.rc == 0, str(first)
    built = first.result("Build the images (again only when a context or its options changed)", SOURCE)
    saved = first.result("Save them into one archive (verified by digest; nothing written when it holds them "
                         "already)", SOURCE)
    assert saved["changed"] is True
    image_id = saved["images"][0]["id"]
    assert built["changed"] is True
    assert first.result("Copy the archive", TARGET)["changed"] is True
    loaded = first.result("Load it (checked by digest first)", TARGET)
    assert loaded["changed"] is True and [image["Id"] for image in loaded["images"]] == [image_id]
    assert first.status("Copy the archive", SOURCE) == "skipped"  # the source holds the image already
    after = first.result("Look at the images again", TARGET)
    assert after["missing"] == [] and [image["Id"] for image in after["images"]] == [image_id]

    second = run_playbook(PLAYBOOK, inventory=engines, extra_vars=extra)
    assert second.rc == 0, str(second)
    assert changed_tasks(second) == []
    assert second.status("Copy the archive", TARGET) == "skipped"
    assert second.status("Load it (checked by digest first)", TARGET) == "skipped"
    assert_no_traceback(second)
