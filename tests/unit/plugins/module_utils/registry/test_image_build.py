"""Build options (checked, hashed, sent), the build stream and a failed build's words; tag and push helpers."""

from urllib.parse import urlencode

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.build_context import BuildContextError
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_build import (
    HASH_LABEL,
    BuildLog,
    build_params,
    check_build_options,
    plan_build,
    run_build,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_push import push_digest, push_needed
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import parse_reference


def build(**options):
    base = {"path": "/srv/ctx", "dockerfile": "Dockerfile", "args": {}, "labels": {}, "target": None,
            "pull": False, "nocache": False, "network": None, "platform": None}
    base.update(options)
    return base


def test_options_are_normalised_for_the_hash():
    options = check_build_options(build(args={"VERSION": 1, "DEBUG": True}, labels={"team": "a"}))
    assert options["args"] == {"DEBUG": "true", "VERSION": "1"}
    assert options["labels"] == {"team": "a"}
    assert options["dockerfile"] == "Dockerfile"


@pytest.mark.parametrize("options, words", [
    ({"args": {"1BAD": "x"}}, "build.args: '1BAD' is not a build argument name"),
    ({"args": {"A": "one\ntwo"}}, "build.args.A holds a control character"),
    ({"args": {"A": {"nested": 1}}}, "build.args.A must be a string"),
    ({"labels": {HASH_LABEL: "x"}}, "build.labels: dockhand.build.hash is set by the module itself"),
    ({"labels": {"bad key": "x"}}, "build.labels: 'bad key' is not a label key"),
    ({"labels": {"k": "a\x00b"}}, "build.labels.k holds a control character"),
    ({"target": "stage one"}, "build.target 'stage one' is not valid"),
    ({"network": "host\n"}, "build.network 'host\\n' is not valid"),
    ({"platform": "amd64"}, "build.platform 'amd64' is not valid; give linux/amd64"),
    ({"dockerfile": "../Dockerfile"}, "build.dockerfile '../Dockerfile' must be a path inside build.path"),
])
def test_bad_options_are_refused_naming_the_option(options, words):
    with pytest.raises(BuildContextError) as caught:
        check_build_options(build(**options))
    assert words in str(caught.value)


def test_params_carry_the_hash_label_and_only_the_options_set():
    options = check_build_options(build(args={"A": "1"}, labels={"team": "a"}, target="runtime", network="host",
                                        platform="linux/amd64", nocache=True))
    params = build_params("docker.io/library/app:1", options, "sha256:abc")
    assert params["t"] == "docker.io/library/app:1"
    assert params["labels"] == {"team": "a", HASH_LABEL: "sha256:abc"}
    assert params["buildargs"] == {"A": "1"}
    assert (params["target"], params["networkmode"], params["platform"]) == ("runtime", "host", "linux/amd64")
    assert params["nocache"] is True and params["pull"] is False
    plain = build_params("app:1", check_build_options(build()), "sha256:abc")
    assert "buildargs" not in plain and "target" not in plain and "networkmode" not in plain


def test_plan_hash_changes_with_an_option_and_not_without(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    first = plan_build(build(path=str(tmp_path)))[2]
    assert plan_build(build(path=str(tmp_path)))[2] == first
    assert plan_build(build(path=str(tmp_path), args={"A": "1"}))[2] != first
    assert plan_build(build(path=str(tmp_path), nocache=True))[2] != first


STREAM = [
    {"stream": "Step 1/3 : FROM dockhand-lab/busybox"},
    {"stream": "\n"},
    {"stream": " ---> 028422cf5cfb\n"},
    {"stream": "Step 2/3 : RUN echo building && exit 3\n"},
    {"stream": " ---> Running in 1a2b3c\n"},
    {"stream": "building\n"},
    {"stream": "Removing intermediate container 1a2b3c\n"},
]


def test_log_follows_steps_and_output():
    log = BuildLog()
    for obj in STREAM:
        log.feed(obj)
    assert log.step == "Step 2/3 : RUN echo building && exit 3"
    assert log.lines[-2:] == ["building", "Removing intermediate container 1a2b3c"]
    assert log.image_id is None
    log.feed({"aux": {"ID": "sha256:0123"}})
    log.feed("not an object")
    assert log.image_id == "sha256:0123"


def test_failure_message_has_the_builders_words_the_step_and_the_output():
    log = BuildLog()
    for obj in STREAM:
        log.feed(obj)
    message = log.failure("app:1", "/srv/ctx", "The command '/bin/sh -c echo building && exit 3' returned a "
                                               "non-zero code: 3")
    assert message.startswith("cannot build image app:1 from build.path /srv/ctx: The command")
    assert "returned a non-zero code: 3 (at Step 2/3 : RUN echo building && exit 3)" in message
    assert message.endswith("Last output: Step 1/3 : FROM dockhand-lab/busybox | ---> 028422cf5cfb | "
                            "---> Running in 1a2b3c | building.")


def test_failure_before_any_step_is_just_the_builders_words():
    message = BuildLog().failure("app:1", "/srv/ctx", "dockerfile parse error line 1: unknown instruction: FORM\n")
    assert message == ("cannot build image app:1 from build.path /srv/ctx: dockerfile parse error line 1: unknown "
                       "instruction: FORM.")


def test_push_digest_from_aux_or_status():
    assert push_digest([{"status": "Pushing"}, {"aux": {"Tag": "1", "Digest": "sha256:aa", "Size": 5}}]) == "sha256:aa"
    assert push_digest([{"status": "1: digest: sha256:bb size: 527"}]) == "sha256:bb"
    assert push_digest([{"status": "Pushed"}]) is None


def test_push_is_needed_unless_the_registry_serves_a_digest_this_engine_recorded():
    target = parse_reference("127.0.0.1:5000/dh-img-app:1")
    image = {"RepoDigests": ["127.0.0.1:5000/dh-img-app@sha256:aa", "127.0.0.1:5000/other@sha256:bb"]}
    assert push_needed(image, target, "sha256:aa") is False
    assert push_needed(image, target, "sha256:bb") is True  # recorded for another repository
    assert push_needed(image, target, None) is True  # the registry has no such tag
    assert push_needed({"RepoDigests": None}, target, "sha256:aa") is True


class TimesOut:
    """Stands in for the engine client's stream: the build request times out (no engine behaviour is imitated
    beyond the error the real client raises)."""

    endpoint_url = "unix:///var/run/docker.sock"

    def stream(self, method, path, params=None, **_kwargs):
        raise EngineError("timed out after 3600 s", method=method, path=path + "?" + urlencode(
            {"buildargs": str(params.get("buildargs"))}), kind="timeout")


def test_a_failed_build_never_quotes_its_request_the_build_args_are_in_it(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    params = {"t": "app:1", "buildargs": {"NPM_TOKEN": "ab/cd+ef=="}}
    with pytest.raises(BuildContextError) as failed:
        run_build(TimesOut(), "app:1", str(tmp_path), [], params, BuildLog())
    assert "timed out" in str(failed.value) and "POST /build" in str(failed.value)
    assert "ab" not in str(failed.value).split("POST /build")[1] and "NPM_TOKEN" not in str(failed.value)
