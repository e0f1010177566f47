"""Interpolation as compose does it: every form, nesting, escapes, errors with file and key path."""

import pytest

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.interpolate import (
    InterpolationError,
    interpolate_document,
    substitute,
)
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import Override, Reset

ENV = {"SET": "value", "EMPTY": "", "FALLBACK": "fallback", "PORT": "8080"}


def sub(text, env=None):
    return substitute(text, (ENV if env is None else env).get)


@pytest.mark.parametrize(("text", "expected"), [
    ("${SET}", "value"),
    ("$SET", "value"),
    ("a-$SET-b", "a-value-b"),
    ("$SET.x", "value.x"),
    ("${SET}x", "valuex"),
    ("$SETx", ""),  # the name runs on: SETx is unset
    ("${UNSET}", ""),
    ("${EMPTY}", ""),
    ("${SET:-d}", "value"),
    ("${EMPTY:-d}", "d"),
    ("${UNSET:-d}", "d"),
    ("${SET-d}", "value"),
    ("${EMPTY-d}", ""),
    ("${UNSET-d}", "d"),
    ("${SET:?e}", "value"),
    ("${SET?e}", "value"),
    ("${EMPTY?e}", ""),
    ("${SET:+r}", "r"),
    ("${EMPTY:+r}", ""),
    ("${UNSET:+r}", ""),
    ("${SET+r}", "r"),
    ("${EMPTY+r}", "r"),
    ("${UNSET+r}", ""),
    ("${UNSET:-${FALLBACK}}", "fallback"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("${UNSET:-$FALLBACK}", "fallback"),
    ("${UNSET:-a}b}", "ab}"),
    ("${UNSET:-}", ""),
    ("${UNSET:-with space and : colon}", "with space and : colon"),
    ("$$", "$"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("$$$SET", "$value"),
    ("${UNSET:-$$}", "$"),
    ("cost: $5", "cost: $5"),  # not a name: kept
    ("a $ b", "a $ b"),
    ("trailing $", "trailing $"),
    ("no variables", "no variables"),
    ("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80"),
])
def test_forms(text, expected):
    assert sub(text) == expected


def test_unset_names_are_collected():
    unset = []
    substitute("${A} $B ${C:-x} ${SET}", ENV.get, unset)
    assert unset == ["A", "B"]


@pytest.mark.parametrize(("text", "message"), [
    ("${UNSET:?must be set}", "required variable UNSET is missing a value: must be set"),
    ("${EMPTY:?must be set}", "required variable EMPTY is missing a value: must be set"),
    ("${UNSET?gone}", "required variable UNSET is missing a value: gone"),
    ("${UNSET:?}", "required variable UNSET is missing a value"),
    ("${UNSET?${SET} needed}", "required variable UNSET is missing a value: value needed"),
])
def test_required_forms(text, message):
    with pytest.raises(InterpolationError) as caught:
        sub(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["${", "${SET", "${}", "${1A}", "${SET/a/b}", "${SET:x}", "${SET!}", "${ SET}",
                                  "${UNSET:-${X}"])
def test_bad_syntax(text):
    with pytest.raises(InterpolationError, match="invalid interpolation format"):
        sub(text)


def test_the_default_is_only_evaluated_when_used():
    assert sub("${SET:-${UNSET:?never}}") == "value"
    assert sub("${UNSET:+${UNSET2:?never}}") == ""


def test_document_values_are_interpolated_keys_are_not():
    document = {"services": {"${SET}": {"image": "x:${SET}", "ports": ["${PORT}:80", 22], "read_only": True,
                                        "o": Override("${SET}"), "r": Reset()}}}
    result, unset = interpolate_document(document, ENV, "f")
    assert result == {"services": {"${SET}": {"image": "x:value", "ports": ["8080:80", 22], "read_only": True,
                                              "o": Override("value"), "r": Reset()}}}
    assert unset == []


def test_document_error_names_file_and_key_path():
    document = {"services": {"web": {"ports": ["80", "${DB_PORT:?set DB_PORT}"]}}}
    with pytest.raises(ComposeError) as caught:
        interpolate_document(document, ENV, "/p/compose.yaml")
    assert str(caught.value) == ("/p/compose.yaml: services.web.ports[1]: required variable DB_PORT is missing a "
                                 "value: set DB_PORT")


def test_document_reports_unset_names_once():
    _result, unset = interpolate_document({"a": "$X", "b": ["${X}", "$Y"]}, {}, "f")
    assert unset == ["X", "Y"]


@pytest.mark.parametrize("document, shown", [
    ({"environment": {"DB_PASSWORD": "ab${cd-hunter22"}}, "environment.DB_PASSWORD: invalid interpolation format "
                                                          "(the value is not shown"),
    ({"command": "run ${API_TOKEN:hunter22}"}, "invalid interpolation format in an expression of API_TOKEN"),
    ({"command": "run ${API_TOKEN-hunter22"}, "invalid interpolation format in an expression of API_TOKEN"),
])
def test_errors_do_not_quote_secret_text(document, shown):
    with pytest.raises(ComposeError) as caught:
        interpolate_document(document, {}, "compose.yaml")
    assert shown in str(caught.value)
    assert "hunter22" not in str(caught.value)
