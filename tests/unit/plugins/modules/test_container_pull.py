"""pull takes community.docker's booleans: true is always, false is missing."""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import argument_spec
from ansible_collections.dockhand.runtime.plugins.modules.container import pull_mode


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
