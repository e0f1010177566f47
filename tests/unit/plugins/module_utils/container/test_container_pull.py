"""pull takes community.docker's booleans: true is always, false is missing; pull=never names the image."""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.dockhand.runtime.plugins.module_utils.container import task as container
from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import argument_spec
from ansible_collections.dockhand.runtime.plugins.module_utils.container.task import pull_mode


def test_booleans_are_words():
    assert pull_mode(True) == "always"
    assert pull_mode(False) == "missing"
    assert [pull_mode(word) for word in ("missing", "always", "never")] == ["missing", "always", "never"]


def pull_errors(value):
    """What Ansible's own argument check says about pull: value against the module's spec."""
    validator = ArgumentSpecValidator({"pull": argument_spec()["pull"]})
    return [str(error) for error in validator.validate({"pull": value}).errors]


def test_the_argument_spec_accepts_booleans_and_words_only():
    for value in (True, False, "never", "missing", "always"):
        assert pull_errors(value) == [], value
    assert any("pull" in error for error in pull_errors("sometimes"))


def test_the_pull_never_message_names_the_image_with_its_tag_as_community_docker_does():
    assert [container.with_tag(image) for image in ("busybox", "busybox:1.36", "127.0.0.1:5000/app",
                                                    "127.0.0.1:5000/app:2", "app@sha256:" + "a" * 64)] == [
        "busybox:latest", "busybox:1.36", "127.0.0.1:5000/app:latest", "127.0.0.1:5000/app:2",
        "app@sha256:" + "a" * 64]
