"""pull takes community.docker's booleans: true is always, false is missing."""

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import argument_spec
from ansible_collections.dockhand.runtime.plugins.modules.container import pull_mode


def test_booleans_are_words():
    assert pull_mode(True) == "always"
    assert pull_mode(False) == "missing"
    assert [pull_mode(word) for word in ("missing", "always", "never")] == ["missing", "always", "never"]


def test_the_argument_spec_accepts_booleans():
    spec = argument_spec()["pull"]
    assert spec["type"] == "raw"
    assert True in spec["choices"] and False in spec["choices"] and "never" in spec["choices"]
