"""Compose YAML: anchors, merge keys, duplicate keys, !reset and !override, errors with file and line."""

import pytest

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError, key_path
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import (
    Override,
    Reset,
    parse_compose,
    type_name,
)


def test_anchors_and_merge_keys():
    text = """
x-base: &base
  image: alpine
  restart: always
services:
  a:
    <<: *base
    restart: "no"
  b: *base
"""
    document = parse_compose(text, "compose.yaml")
    assert document["services"]["a"] == {"image": "alpine", "restart": "no"}
    assert document["services"]["b"] == {"image": "alpine", "restart": "always"}


def test_merge_key_with_a_list_of_anchors():
    text = "x-a: &a {one: 1}\nx-b: &b {two: 2, one: 9}\nc:\n  <<: [*a, *b]\n"
    assert parse_compose(text, "f")["c"] == {"one": 1, "two": 2}


def test_duplicate_key_is_refused_with_file_and_line():
    with pytest.raises(ComposeError) as caught:
        parse_compose("services:\n  web:\n    image: a\n    image: b\n", "/p/compose.yaml")
    message = str(caught.value)
    assert message.startswith("/p/compose.yaml: not valid YAML: line 4")
    assert "'image' is given twice (first at line 3)" in message


def test_duplicate_service_is_refused():
    with pytest.raises(ComposeError, match="'web' is given twice"):
        parse_compose("services:\n  web: {}\n  web: {}\n", "f")


def test_syntax_error_names_file_and_line():
    with pytest.raises(ComposeError, match=r"^c.yml: not valid YAML: line 4, column 1: while parsing a flow"):
        parse_compose("services:\n  web:\n    image: [a\n", "c.yml")


def test_top_level_must_be_a_mapping():
    with pytest.raises(ComposeError, match="holds a list"):
        parse_compose("- a\n", "f")


def test_empty_file_is_an_empty_mapping():
    assert parse_compose("", "f") == {}
    assert parse_compose("# nothing\n", "f") == {}


def test_unsafe_tags_are_refused():
    with pytest.raises(ComposeError, match="not valid YAML"):
        parse_compose("a: !!python/object/apply:os.system ['true']\n", "f")


def test_reset_and_override_tags():
    document = parse_compose("a: !reset []\nb: !override [1]\nc: !override 42\nd: !reset null\ne: !override\n"
                             "  x: 1\n", "f")
    assert document == {"a": Reset(), "b": Override([1]), "c": Override(42), "d": Reset(),
                        "e": Override({"x": 1})}


def test_override_of_a_quoted_scalar_stays_a_string():
    assert parse_compose("c: !override '42'\n", "f") == {"c": Override("42")}


def test_type_names_read_as_yaml():
    assert [type_name(v) for v in (None, True, 1, 1.5, "s", [], {})] == [
        "null", "boolean", "integer", "number", "string", "list", "mapping"]


def test_key_path():
    assert key_path(("services", "web", "ports", 1, "target")) == "services.web.ports[1].target"
    assert str(ComposeError("bad", ("a", 0), "f.yml")) == "f.yml: a[0]: bad"


def test_an_anchor_reused_after_its_merge_is_not_a_duplicate():
    text = "x-a: &a {image: x, restart: always}\nx-b: &b\n  <<: *a\n  restart: 'no'\nservices:\n  s1: *b\n  s2:\n" \
           "    <<: *b\n    image: y\n"
    services = parse_compose(text, "f")["services"]
    assert services == {"s1": {"image": "x", "restart": "no"}, "s2": {"image": "y", "restart": "no"}}


def test_merge_of_a_scalar_is_refused():
    with pytest.raises(ComposeError, match="<< merges a mapping or a list of mappings"):
        parse_compose("a:\n  <<: 3\n", "f")
