"""Build, save, load, tag, push and image_info through ansible-playbook against the local dockerd and the lab's hub.

Everything this file creates is named dh-img-* (on the hub: 127.0.0.1:5000/dh-img-*) and is removed afterwards.
Builds start FROM the lab's busybox image (dockhand-lab/busybox), which the machine holds: there is no Docker Hub.
"""

import json
import os
import re
import shutil
import subprocess
import uuid

import pytest
from conftest import assert_no_traceback, local_play

pytestmark = pytest.mark.engine

BASE = "dockhand-lab/busybox:latest"
HUB = "127.0.0.1:5000"
BUILT = "dh-img-built:1"
MOVED = "dh-img-move:1"
TAGGED = "dh-img-tagged:2"
PUSHED_REPO = HUB + "/dh-img-push"
PUSHED = PUSHED_REPO + ":1"
TEST_LABEL = "dh-img-test"


def docker(*args, check=True):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)


def image_id(name):
    done = docker("image", "inspect", "--format", "{{.Id}}", name, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def our_images():
    """IDs and names of every image whose name starts with dh-img- (here or on the hub)."""
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.split("\n")
    return [line.split()[0] for line in listed
            if line.startswith(("dh-img-", HUB + "/dh-img-"))]


def remove_ours():
    for name in our_images():
        docker("rmi", "-f", name, check=False)
    for found in docker("images", "-a", "-q", "--filter", "label=" + TEST_LABEL).stdout.split():
        docker("rmi", "-f", found, check=False)  # builds that a later build replaced (no name left)
    for line in docker("images", "--digests", "--format", "{{.Repository}}@{{.Digest}}").stdout.split("\n"):
        if line.startswith(PUSHED_REPO + "@sha256:"):
            docker("rmi", "-f", line, check=False)


@pytest.fixture
def clean():
    assert image_id(BASE), "the lab's busybox image %s is not on this machine: run tests/lab/lab up" % BASE
    remove_ours()
    yield
    remove_ours()


def task(module, title, **options):
    return {"name": title, "dockhand.runtime." + module: options, "register": "out", "ignore_errors": True}


def build_task(title, path, image=BUILT, **build):
    build["path"] = str(path)
    build["labels"] = dict(build.get("labels") or {}, **{TEST_LABEL: "1"})
    return task("image", title, name=image, source="build", build=build)


def context(path, text="first"):
    path.mkdir(exist_ok=True)
    (path / "Dockerfile").write_text("FROM %s\nARG FLAVOUR=plain\nCOPY app.txt /app.txt\n"
                                     "RUN echo \"$FLAVOUR\" > /flavour\n" % BASE)
    (path / "app.txt").write_text(text + "\n")
    (path / ".dockerignore").write_text("*.log\n")
    (path / "debug.log").write_text("noise\n")
    return path


def read_in(image, path):
    return docker("run", "--rm", image, "cat", path).stdout.strip()


def test_build_runs_again_only_when_the_context_or_options_change(run_playbook, clean, tmp_path):
    ctx = context(tmp_path / "ctx")
    check = run_playbook(local_play([build_task("build", ctx)]), check=True, diff=True)
    assert check.rc == 0, str(check)
    predicted = check.result("build")
    assert predicted["changed"] is True and predicted["actions"] == ["built"]
    assert predicted["diff"]["before"]["present"] is False
    assert image_id(BUILT) is None, "check mode built the image"

    run = run_playbook(local_play([build_task("first", ctx), build_task("second", ctx)]))
    assert run.rc == 0, str(run)
    first, second = run.result("first"), run.result("second")
    assert first["changed"] is True and first["actions"] == ["built"], first
    assert first["id"] == image_id(BUILT)
    # the builder counts the LABEL step it adds for the labels
    assert any(re.fullmatch(r"Step 1/\d+ : FROM " + re.escape(BASE), line) for line in first["build"]["output"])
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", BUILT).stdout)
    assert labels["dockhand.build.hash"] == first["build"]["hash"]
    assert second["changed"] is False and second["actions"] == [] and second["id"] == first["id"]
    assert second["build"]["output"] == []
    assert read_in(BUILT, "/app.txt") == "first"

    (ctx / "debug.log").write_text("other noise\n")  # left out by .dockerignore
    ignored = run_playbook(local_play([build_task("ignored", ctx)]))
    assert ignored.rc == 0, str(ignored)
    assert ignored.result("ignored")["changed"] is False and ignored.result("ignored")["id"] == first["id"]

    (ctx / "app.txt").write_text("second\n")
    edited = run_playbook(local_play([build_task("edited", ctx), build_task("edited again", ctx)]))
    assert edited.rc == 0, str(edited)
    changed = edited.result("edited")
    assert changed["changed"] is True and changed["id"] != first["id"] and changed["id"] == image_id(BUILT)
    assert edited.result("edited again")["changed"] is False
    assert read_in(BUILT, "/app.txt") == "second"

    with_args = run_playbook(local_play([build_task("args", ctx, args={"FLAVOUR": "spicy"}, labels={"team": "a"})]))
    assert with_args.rc == 0, str(with_args)
    assert with_args.result("args")["changed"] is True
    assert read_in(BUILT, "/flavour") == "spicy"
    assert_no_traceback(run)


def test_a_build_error_shows_the_builders_message(run_playbook, clean, tmp_path):
    failing = tmp_path / "failing"
    failing.mkdir()
    (failing / "Dockerfile").write_text("FROM %s\nRUN echo about to fail && exit 3\n" % BASE)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Dockerfile").write_text("FORM %s\n" % BASE)
    run = run_playbook(local_play([build_task("failing", failing), build_task("broken", broken)]))
    assert run.status("failing") == "failed" and run.status("broken") == "failed"
    failed = run.result("failing")
    assert failed["msg"].startswith("cannot build image dh-img-built:1 from build.path %s: " % failing)
    assert "returned a non-zero code: 3" in failed["msg"]
    assert re.search(r"\(at Step 2/\d+ : RUN echo about to fail && exit 3\)", failed["msg"]), failed["msg"]
    assert "about to fail" in failed["build"]["output"]
    assert "unknown instruction: FORM" in run.result("broken")["msg"]
    assert image_id(BUILT) is None
    assert_no_traceback(run)


@pytest.mark.parametrize("options, words", [
    ({"source": "build", "build": {"path": "CTX", "args": {"1BAD": "x"}}}, "build.args: '1BAD'"),
    ({"source": "build", "build": {"path": "CTX", "dockerfile": "../Dockerfile"}}, "build.dockerfile '../Dockerfile'"),
    ({"source": "build", "build": {"path": "CTX", "labels": {"dockhand.build.hash": "x"}}}, "build.labels"),
    ({"source": "build", "build": {"path": "CTX", "platform": "amd64"}}, "build.platform 'amd64'"),
    ({"source": "build", "build": {"path": "CTX/none"}}, "build.path"),
    ({"source": "build", "build": {"path": "CTX", "dockerfile": "Other"}}, "build.dockerfile Other does not exist"),
    ({"source": "build"}, "source is build but all of the following are missing: build"),
    ({"build": {"path": "CTX"}}, "build is used only with source: build"),
    ({"source": "build", "build": {"path": "CTX"}, "name": "dh-img-built@sha256:" + "a" * 64},
     "a built image is named by a tag"),
    ({"source": "local", "repository": "dh-img-x@sha256:" + "a" * 64}, "repository: "),
    ({"state": "absent", "push": True}, "push apply to state: present only"),
    ({"source": "local", "name": "dh-img-none:1"}, "image dh-img-none:1 is not on the host"),
])
def test_bad_image_input_fails_clearly_and_changes_nothing(run_playbook, clean, tmp_path, options, words):
    ctx = context(tmp_path / "ctx")
    if "build" in options:
        options["build"] = dict(options["build"], path=options["build"]["path"].replace("CTX", str(ctx)))
    options.setdefault("name", BUILT)
    before = our_images()
    run = run_playbook(local_play([task("image", "bad", **options)]))
    assert run.status("bad") == "failed"
    assert words in run.result("bad")["msg"], run.result("bad")["msg"]
    assert our_images() == before
    assert_no_traceback(run)


def build_unique(run_playbook, tmp_path, name=MOVED):
    """An image of its own (a unique file in it), so removing it removes the image ID too: (ID, the file's text)."""
    text = uuid.uuid4().hex
    ctx = context(tmp_path / "unique", text=text)
    run = run_playbook(local_play([build_task("build", ctx, image=name)]))
    assert run.rc == 0, str(run)
    return run.result("build")["id"], text


def test_save_remove_load_verified_by_id(run_playbook, clean, tmp_path):
    built = build_unique(run_playbook, tmp_path)[0]
    archive = tmp_path / "dh-img-move.tar"
    save = [task("image_export", "save", names=[MOVED], path=str(archive)),
            task("image_export", "save again", names=[MOVED], path=str(archive))]
    run = run_playbook(local_play(save), diff=True)
    assert run.rc == 0, str(run)
    saved, again = run.result("save"), run.result("save again")
    assert saved["changed"] is True and saved["written"] is True
    assert saved["images"] == [{"id": built, "repo_tags": [MOVED]}]
    assert again["changed"] is False and again["written"] is False
    mtime = os.stat(str(archive)).st_mtime_ns

    docker("rmi", MOVED)
    assert image_id(built) is None

    check = run_playbook(local_play([task("image_load", "load", path=str(archive))]), check=True)
    assert check.rc == 0, str(check)
    assert check.result("load")["changed"] is True and image_id(built) is None, "check mode loaded"

    run = run_playbook(local_play([task("image_load", "load", path=str(archive)),
                                   task("image_load", "load again", path=str(archive)),
                                   task("image_export", "save after load", names=[MOVED], path=str(archive))]))
    assert run.rc == 0, str(run)
    loaded, again = run.result("load"), run.result("load again")
    assert loaded["changed"] is True and loaded["loaded"] is True
    assert loaded["archive"] == [{"id": built, "repo_tags": [MOVED]}]
    assert [image["Id"] for image in loaded["images"]] == [built] and image_id(MOVED) == built
    assert loaded["image_names"] == [MOVED]
    assert again["changed"] is False and again["loaded"] is False
    assert run.result("save after load")["changed"] is False
    assert os.stat(str(archive)).st_mtime_ns == mtime, "an unchanged save rewrote the archive"
    assert_no_traceback(run)


def test_a_damaged_or_missing_archive_is_refused(run_playbook, clean, tmp_path):
    _built, text = build_unique(run_playbook, tmp_path)
    archive = tmp_path / "dh-img-move.tar"
    run = run_playbook(local_play([task("image_export", "save", names=[MOVED], path=str(archive))]))
    assert run.rc == 0, str(run)
    docker("rmi", MOVED)
    data = bytearray(archive.read_bytes())
    where = data.find(text.encode())  # app.txt inside a layer
    assert where > 0
    data[where] = ord("x") if data[where] != ord("x") else ord("y")
    damaged = tmp_path / "dh-img-damaged.tar"
    damaged.write_bytes(bytes(data))
    cut = tmp_path / "dh-img-cut.tar"
    cut.write_bytes(archive.read_bytes()[:4096])
    run = run_playbook(local_play([task("image_load", "damaged", path=str(damaged)),
                                   task("image_load", "cut", path=str(cut)),
                                   task("image_load", "none", path=str(tmp_path / "none.tar")),
                                   task("image_export", "missing image", names=["dh-img-none:1"],
                                        path=str(tmp_path / "x.tar")),
                                   task("image_export", "no directory", names=[BASE],
                                        path=str(tmp_path / "no" / "x.tar")),
                                   task("image_export", "digest", names=["busybox@sha256:" + "a" * 64],
                                        path=str(tmp_path / "x.tar"))]))
    for name in ("damaged", "cut", "none", "missing image", "no directory", "digest"):
        assert run.status(name) == "failed", name
    assert run.result("damaged")["msg"].startswith("%s is damaged: the layer " % damaged)
    assert "does not exist on the host" in run.result("none")["msg"]
    assert "names: image dh-img-none:1 is not on the host" in run.result("missing image")["msg"]
    assert "does not exist on the host; create it first" in run.result("no directory")["msg"]
    assert "names: busybox@sha256:" in run.result("digest")["msg"]
    assert image_id(MOVED) is None, "a damaged archive was loaded"
    assert not (tmp_path / "x.tar").exists()
    assert [p for p in os.listdir(str(tmp_path)) if p.endswith(".part")] == []
    assert_no_traceback(run)


def test_tag_push_and_pull_back_by_digest(run_playbook, clean, tmp_path):
    built = build_unique(run_playbook, tmp_path)[0]
    tag = [task("image", "tag", name=MOVED, source="local", repository=TAGGED),
           task("image", "tag again", name=MOVED, source="local", repository=TAGGED)]
    run = run_playbook(local_play(tag))
    assert run.rc == 0, str(run)
    assert run.result("tag")["changed"] is True and run.result("tag")["tagged"] == [TAGGED]
    assert image_id(TAGGED) == built
    assert run.result("tag again")["changed"] is False

    push = task("image", "push", name=MOVED, source="local", repository=PUSHED, push=True)
    check = run_playbook(local_play([push]), check=True)
    assert check.rc == 0, str(check)
    assert check.result("push")["changed"] is True and check.result("push")["push"]["pushed"] is True
    assert image_id(PUSHED) is None, "check mode tagged the image"

    run = run_playbook(local_play([push, dict(push, name="push again")]))
    assert run.rc == 0, str(run)
    pushed, again = run.result("push"), run.result("push again")
    assert pushed["changed"] is True and pushed["actions"] == ["tagged", "pushed"]
    digest = pushed["push"]["digest"]
    assert digest.startswith("sha256:") and "%s@%s" % (PUSHED_REPO, digest) in pushed["repo_digests"]
    assert again["changed"] is False and again["push"] == {"name": PUSHED, "digest": digest, "pushed": False}

    docker("rmi", PUSHED, MOVED, TAGGED)
    docker("rmi", "%s@%s" % (PUSHED_REPO, digest), check=False)  # gone with the last tag, as a rule
    assert image_id(built) is None
    pinned = "%s@%s" % (PUSHED_REPO, digest)
    run = run_playbook(local_play([task("image", "pull back", name=pinned)]))
    assert run.rc == 0, str(run)
    assert run.result("pull back")["pulled"] is True and run.result("pull back")["id"] == built
    assert_no_traceback(run)


def test_image_info_lists_present_and_missing(run_playbook, clean):
    run = run_playbook(local_play([task("image_info", "info", name=[BASE, "dh-img-none:1"]),
                                   task("image_info", "bad", name=["Bad Name"])]))
    info = run.result("info")
    assert run.status("info") == "ok" and info["changed"] is False
    assert [image["Id"] for image in info["images"]] == [image_id(BASE)]
    assert info["missing"] == ["dh-img-none:1"]
    assert run.status("bad") == "failed" and run.result("bad")["msg"].startswith("name: ")
    assert_no_traceback(run)


def test_a_context_copied_from_the_controller(run_playbook, clean, tmp_path):
    """The documented way for a context on the controller: ansible.builtin.copy, then build; a rerun does neither."""
    source = context(tmp_path / "controller")
    target = tmp_path / "host"
    plays = local_play([
        {"name": "copy", "ansible.builtin.copy": {"src": str(source) + "/", "dest": str(target) + "/",
                                                  "mode": "preserve"}},
        build_task("build", target),
    ])
    first = run_playbook(plays)
    second = run_playbook(plays)
    assert first.rc == 0 and second.rc == 0, str(first) + str(second)
    assert first.result("build")["changed"] is True
    assert second.status("copy") == "ok" and second.result("build")["changed"] is False
    shutil.rmtree(str(target))
