"""image through ansible-playbook against the local dockerd and the lab's hub (127.0.0.1:5000).

The hub is reached as localhost:5000 here: the same registry (loopback, insecure by default for
dockerd), but local names of its own, so removing them never touches the 127.0.0.1:5000/... names
other tests and the lab rely on. Every name this file creates starts with localhost:5000/ or
dockhand-test/ and is removed afterwards.
"""

import io
import json
import subprocess
import tarfile
import urllib.request

import pytest
from conftest import assert_no_traceback, local_play
from image_index import push_index

pytestmark = pytest.mark.engine

HUB = "localhost:5000"
HUB_LOOPBACK = "http://127.0.0.1:5000"
BUSYBOX = HUB + "/library/busybox"
HELLO = HUB + "/library/hello"
SOLO = "dockhand-test/solo:1"
SOLO_USER = "dockhand-test-solo-user"
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


def docker(*args, check=True):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check)


def image_id(name):
    done = docker("image", "inspect", "--format", "{{.Id}}", name, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def untag(*names):
    for name in names:
        docker("rmi", name, check=False)


def hub_digest(repository, tag):
    """The digest the hub serves for repository:tag, asked over loopback."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request("%s/v2/%s/manifests/%s" % (HUB_LOOPBACK, repository, tag), method="HEAD",
                                     headers={"Accept": MANIFEST_TYPES})
    with opener.open(request, timeout=10) as answer:
        return answer.headers["Docker-Content-Digest"]


def hub_image_id(repository, tag):
    """The image ID (config digest) the hub serves for repository:tag, read from its manifest over loopback, so no
    other test's local images are involved."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request("%s/v2/%s/manifests/%s" % (HUB_LOOPBACK, repository, tag), headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    with opener.open(request, timeout=10) as answer:
        return json.load(answer)["config"]["digest"]


def image_task(name, task_name=None, **options):
    options["name"] = name
    return {"name": task_name or "image", "dockhand.runtime.image": options, "register": "out"}


OUR_NAMES = ["%s:%s" % (BUSYBOX, tag) for tag in ("1.36", "latest", "stable")] + ["%s:latest" % HELLO]


@pytest.fixture
def clean_names():
    """None of this file's names on the host before and after a test."""
    untag(*OUR_NAMES)
    yield
    untag(*OUR_NAMES)
    digest = hub_digest("library/busybox", "latest")
    untag("%s@%s" % (BUSYBOX, digest))


def test_pull_missing_check_mode_then_pull_then_no_op(run_playbook, clean_names):
    name = BUSYBOX + ":1.36"
    digest = hub_digest("library/busybox", "1.36")
    check = run_playbook(local_play([image_task(name)]), check=True, diff=True)
    assert check.rc == 0, str(check)
    result = check.result("image")
    assert result["changed"] is True and result["pulled"] is True and result["actions"] == ["pulled"]
    assert result["diff"]["before"]["present"] is False
    assert result["diff"]["after"]["repo_digests"] == ["%s@%s" % (BUSYBOX, digest)]
    assert image_id(name) is None, "check mode pulled the image"

    run = run_playbook(local_play([image_task(name, "first"), image_task(name, "second")]))
    assert run.rc == 0, str(run)
    first, second = run.result("first"), run.result("second")
    assert first["changed"] is True and first["pulled"] is True and first["actions"] == ["pulled"]
    assert first["id"] == image_id(name)
    assert "%s@%s" % (BUSYBOX, digest) in first["repo_digests"]
    assert name in first["repo_tags"]
    assert first["name"] == name and first["reference"]["tag"] == "1.36"
    assert second["changed"] is False and second["pulled"] is False and second["actions"] == []
    assert second["id"] == first["id"]
    assert_no_traceback(run)


def test_pull_always_reports_change_only_when_the_id_changes(run_playbook, clean_names):
    name = BUSYBOX + ":stable"
    busybox_id = hub_image_id("library/busybox", "stable")
    # a stale local image under the name: the hello image
    docker("tag", "127.0.0.1:5000/library/hello:latest", name)
    stale = image_id(name)
    assert stale != busybox_id

    check = run_playbook(local_play([image_task(name, pull="always")]), check=True)
    assert check.rc == 0, str(check)
    assert check.result("image")["changed"] is True
    assert image_id(name) == stale, "check mode changed the image"

    run = run_playbook(local_play([image_task(name, "stale", pull="always"),
                                   image_task(name, "fresh", pull="always"),
                                   image_task(name, "missing", pull="missing")]))
    assert run.rc == 0, str(run)
    stale_run, fresh, missing = run.result("stale"), run.result("fresh"), run.result("missing")
    assert stale_run["changed"] is True and stale_run["pulled"] is True and stale_run["id"] == busybox_id
    assert fresh["changed"] is False and fresh["pulled"] is True and fresh["actions"] == []
    assert missing["changed"] is False and missing["pulled"] is False

    check_again = run_playbook(local_play([image_task(name, pull="always")]), check=True)
    assert check_again.rc == 0, str(check_again)
    assert check_again.result("image")["changed"] is False
    assert check_again.result("image")["pulled"] is True


MULTIARCH = HUB + "/dockhand-test/multiarch:1"


@pytest.fixture
def two_platforms():
    """A two-platform index (linux/amd64, linux/arm64/v8) in the hub as dockhand-test/multiarch:1; the name is
    not on this host before and after. Returns the image ID of each platform."""
    ids = push_index(HUB_LOOPBACK, "dockhand-test/multiarch", "1")
    untag(MULTIARCH)
    yield ids
    untag(MULTIARCH)


def platform_of(name):
    return docker("image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Id}}", name).stdout.split()


def test_a_platform_of_a_two_platform_index(run_playbook, two_platforms):
    """platform pulls that platform of an index; with pull: missing an image of another platform under the name
    is pulled again; a rerun changes nothing; check mode predicts the pull and pulls nothing."""
    arm = run_playbook(local_play([image_task(MULTIARCH, "arm64", platform="linux/aarch64"),
                                   image_task(MULTIARCH, "arm64 again", platform="linux/arm64")]))
    assert arm.rc == 0, str(arm)
    assert platform_of(MULTIARCH) == ["linux/arm64", two_platforms["linux/arm64"]]
    first, again = arm.result("arm64"), arm.result("arm64 again")
    assert first["changed"] is True and first["actions"] == ["pulled"] and first["id"] == two_platforms["linux/arm64"]
    assert again["changed"] is False and again["pulled"] is False

    check = run_playbook(local_play([image_task(MULTIARCH, platform="linux/amd64")]), check=True)
    assert check.rc == 0, str(check)
    assert check.result("image")["changed"] is True and check.result("image")["actions"] == ["pulled"]
    assert platform_of(MULTIARCH) == ["linux/arm64", two_platforms["linux/arm64"]], "check mode pulled"

    amd = run_playbook(local_play([image_task(MULTIARCH, "amd64", platform="linux/amd64"),
                                   image_task(MULTIARCH, "amd64 again", platform="linux/amd64"),
                                   image_task(MULTIARCH, "no platform")]))
    assert amd.rc == 0, str(amd)
    assert platform_of(MULTIARCH) == ["linux/amd64", two_platforms["linux/amd64"]]
    assert amd.result("amd64")["changed"] is True and amd.result("amd64")["id"] == two_platforms["linux/amd64"]
    assert amd.result("amd64 again")["changed"] is False
    assert amd.result("no platform")["changed"] is False
    assert_no_traceback(amd)


@pytest.mark.parametrize("options, words", [
    ({"platform": "linux/arm64/v8/extra"}, "platform: 'linux/arm64/v8/extra' is not a platform"),
    ({"platform": "linux/arm64", "state": "absent"}, "platform is used only to pull"),
])
def test_a_bad_platform_changes_nothing(run_playbook, two_platforms, options, words):
    run = run_playbook(local_play([image_task(MULTIARCH, **options)]))
    assert run.rc != 0 and run.status("image") == "failed"
    assert words in run.result("image")["msg"], run.result("image")["msg"]
    assert docker("image", "inspect", MULTIARCH, check=False).returncode != 0, "the image was pulled"
    assert_no_traceback(run)


def test_pull_by_digest(run_playbook, clean_names):
    digest = hub_digest("library/busybox", "latest")
    pinned = "%s@%s" % (BUSYBOX, digest)
    untag(pinned)
    assert image_id(pinned) is None
    run = run_playbook(local_play([
        image_task(pinned, "pinned"),
        image_task(pinned, "again"),
        image_task(pinned, "always", pull="always"),
        image_task("%s:1.36@%s" % (BUSYBOX, digest), "tag and digest"),
    ]))
    assert run.rc == 0, str(run)
    pinned_run = run.result("pinned")
    assert pinned_run["changed"] is True and pinned_run["pulled"] is True
    assert pinned in pinned_run["repo_digests"]
    assert pinned_run["reference"]["digest"] == digest and pinned_run["reference"]["tag"] is None
    assert image_id(pinned) == pinned_run["id"]
    for task in ("again", "always", "tag and digest"):
        assert run.result(task)["changed"] is False, task
        assert run.result(task)["pulled"] is False, task
    assert run.result("tag and digest")["name"] == "%s:1.36@%s" % (BUSYBOX, digest)


def test_absent(run_playbook, clean_names):
    name = HELLO + ":latest"
    other = "127.0.0.1:5000/library/hello:latest"
    docker("pull", name)
    check = run_playbook(local_play([image_task(name, state="absent")]), check=True, diff=True)
    assert check.rc == 0, str(check)
    assert check.result("image")["changed"] is True and check.result("image")["actions"] == ["removed"]
    assert check.result("image")["diff"]["before"]["present"] is True
    assert check.result("image")["diff"]["after"]["present"] is False
    assert image_id(name) is not None, "check mode removed the image"

    run = run_playbook(local_play([image_task(name, "remove", state="absent"),
                                   image_task(name, "again", state="absent")]))
    assert run.rc == 0, str(run)
    removed = run.result("remove")
    assert removed["changed"] is True and removed["actions"] == ["removed"]
    assert name in removed["untagged"] and removed["deleted"] == []
    assert image_id(name) is None
    assert image_id(other) is not None, "removing a name must not remove the image's other names"
    assert run.result("again")["changed"] is False


@pytest.fixture
def solo_image():
    """An image with a single name, used by a (created, not running) container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("marker")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"solo\n"))
    subprocess.run(["docker", "import", "-", SOLO], input=buffer.getvalue(), check=True, stdout=subprocess.PIPE)
    the_id = image_id(SOLO)
    docker("rm", "-f", SOLO_USER, check=False)
    docker("create", "--name", SOLO_USER, SOLO, "/marker")
    yield the_id
    docker("rm", "-f", SOLO_USER, check=False)
    untag(SOLO, the_id)


def test_absent_of_an_image_in_use_needs_force(run_playbook, solo_image):
    run = run_playbook(local_play([image_task(SOLO, "no force", state="absent")]))
    assert run.rc != 0
    message = run.result("no force")["msg"]
    assert SOLO in message and SOLO_USER in message and "force: true" in message
    assert run.result("no force")["containers"] == [SOLO_USER]
    assert image_id(SOLO) == solo_image
    assert_no_traceback(run)

    forced = run_playbook(local_play([image_task(SOLO, "force", state="absent", force=True)]))
    assert forced.rc == 0, str(forced)
    assert forced.result("force")["changed"] is True
    assert image_id(SOLO) is None
    assert docker("inspect", "--format", "{{.Image}}", SOLO_USER).stdout.strip() == solo_image


@pytest.mark.parametrize("name, words", [
    (HUB + "/library/nope:latest", "has no such repository, tag or digest"),
    (BUSYBOX + ":nosuchtag", "has no such repository, tag or digest"),
    ("127.0.0.1:1/library/busybox:latest", "cannot reach the registry 127.0.0.1:1"),
])
def test_a_pull_that_fails_names_the_image(run_playbook, name, words):
    for check in (False, True):
        run = run_playbook(local_play([image_task(name)]), check=check)
        assert run.rc != 0, str(run)
        result = run.result("image")
        assert name in result["msg"] and "(name)" in result["msg"], result["msg"]
        assert words in result["msg"], result["msg"]
        assert result["changed"] is False
        assert_no_traceback(run)
    assert image_id(name) is None


@pytest.mark.parametrize("name, words", [
    ("Busybox:1", "must be lowercase"),
    ("busybox@sha256:123", "64 lowercase hex"),
    ("busy box", "white space"),
    ("", "empty"),
])
def test_bad_names_fail_before_the_engine_is_asked(run_playbook, name, words):
    run = run_playbook(local_play([image_task(name, docker_host="unix:///nonexistent/docker.sock")]))
    assert run.rc != 0
    message = run.result("image")["msg"]
    assert message.startswith("name: ") and words in message, message
    assert_no_traceback(run)


def test_a_local_only_image_is_present_without_asking_a_registry(run_playbook):
    # dockhand-lab/busybox exists only locally; Docker Hub is unreachable from here
    run = run_playbook(local_play([image_task("dockhand-lab/busybox:latest")]), diff=True)
    assert run.rc == 0, str(run)
    result = run.result("image")
    assert result["changed"] is False and result["pulled"] is False
    assert result["name"] == "docker.io/dockhand-lab/busybox:latest"
    assert result["diff"]["before"] == result["diff"]["after"]
    assert json.dumps(result["diff"]).count("sha256:") >= 1


@pytest.mark.parametrize("name, advice", [
    (HUB + "/library/nope:latest", "Check the name, tag and digest in image"),
    ("127.0.0.1:1/library/busybox:latest", "Check the registry host and port in image"),
])
def test_a_pull_error_names_the_option_the_task_wrote(run_playbook, name, advice):
    """The containers role writes image:, so the message names image, not name (nor both)."""
    for check in (False, True):
        run = run_playbook(local_play([{"name": "image", "dockhand.runtime.image": {"image": name}}]), check=check)
        assert run.rc != 0, str(run)
        message = run.result("image")["msg"]
        assert "(image)" in message and advice in message, message
        assert "(name)" not in message and " in name" not in message, message
        assert_no_traceback(run)
