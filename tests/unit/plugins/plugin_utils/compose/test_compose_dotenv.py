"""The .env format as compose reads it."""

import pytest

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.dotenv import parse_env
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError


def env(text, lookup=None):
    return parse_env(text, "/p/.env", lookup)


@pytest.mark.parametrize(("line", "expected"), [
    ("VAR=VAL", "VAL"),
    ("VAR=", ""),
    ("VAR = VAL", "VAL"),
    ("export VAR=VAL", "VAL"),
    ("  export   VAR=VAL  ", "VAL"),
    ('VAR="VAL"', "VAL"),
    ("VAR='VAL'", "VAL"),
    ("VAR=VAL # comment", "VAL"),
    ("VAR=VAL# not a comment", "VAL# not a comment"),
    ('VAR="VAL # not a comment"', "VAL # not a comment"),
    ('VAR="VAL" # comment', "VAL"),
    ("VAR='VAL' # comment", "VAL"),
    ("VAR='$OTHER'", "$OTHER"),
    ("VAR='${OTHER}'", "${OTHER}"),
    ("VAR='Let\\'s go!'", "Let's go!"),
    ('VAR="{\\"hello\\": \\"json\\"}"', '{"hello": "json"}'),
    ('VAR="some\\tvalue"', "some\tvalue"),
    ("VAR='some\\tvalue'", "some\\tvalue"),
    ("VAR=some\\tvalue", "some\\tvalue"),
    ('VAR="a\\nb"', "a\nb"),
    ('VAR="back\\\\slash"', "back\\slash"),
    ('VAR="\\$OTHER"', "$OTHER"),
    ("VAR=a=b=c", "a=b=c"),
    ("VAR=url://u:p@h/x?a=1&b=2", "url://u:p@h/x?a=1&b=2"),
    ("dotted.name-x=1", "1"),
])
def test_one_line(line, expected):
    name = line.strip().split("=")[0].replace("export", "").strip()
    assert env(line + "\n")[name] == expected


def test_comments_blank_lines_and_crlf():
    assert env("# a comment\n\n  # indented\r\nA=1\r\nB=2") == {"A": "1", "B": "2"}


def test_double_quoted_value_spans_lines():
    assert env('A="line one\nline two"\nB=2\n') == {"A": "line one\nline two", "B": "2"}


def test_later_line_wins():
    assert env("A=1\nA=2\n") == {"A": "2"}


def test_interpolation_in_unquoted_and_double_quoted_values_not_single():
    text = "BASE=/srv\nA=$BASE/a\nB=\"${BASE}/b\"\nC='${BASE}/c'\nD=${MISSING:-dflt}\nE=$$BASE\n"
    assert env(text) == {"BASE": "/srv", "A": "/srv/a", "B": "/srv/b", "C": "${BASE}/c", "D": "dflt",
                         "E": "$BASE"}


def test_lookup_wins_over_the_files_own_values():
    assert env("BASE=/file\nA=${BASE}\n", {"BASE": "/shell"}.get)["A"] == "/shell"


def test_bare_key_takes_the_lookup_value_or_is_left_out():
    assert env("FROM_SHELL\nNOT_SET\nOTHER=1 \nCOMMENTED # x\n", {"FROM_SHELL": "s", "COMMENTED": "c"}.get) == {
        "FROM_SHELL": "s", "OTHER": "1", "COMMENTED": "c"}


def test_bom_is_skipped():
    assert env("\ufeffA=1\n") == {"A": "1"}


@pytest.mark.parametrize(("text", "message"), [
    ("1A=x\n", "/p/.env: line 1: expected KEY=VALUE"),
    ("A=1\nB C\n", "/p/.env: line 2: expected KEY=VALUE"),
    ("A=1\n=x\n", "/p/.env: line 2: expected KEY=VALUE"),
    ('A="open\n', "/p/.env: line 1: the double quote is never closed"),
    ("A='open\n", "/p/.env: line 1: the single quote is never closed"),
    ('A="x" y\n', "/p/.env: line 1: unexpected 'y' after the closing quote"),
    ("A=${B:?B is needed}\n", "/p/.env: line 1: required variable B is missing a value: B is needed"),
    ("A=${B\n", "/p/.env: line 1: invalid interpolation format"),
    ("A=a\x00b\n", "/p/.env: line 1: a control character in the value of A"),
])
def test_errors_name_the_file_and_line(text, message):
    with pytest.raises(ComposeError) as caught:
        env(text)
    assert str(caught.value).startswith(message)


def test_error_does_not_show_the_values():
    with pytest.raises(ComposeError) as caught:
        env("DB_PASSWORD=hunter22\nX='unterminated\n")
    assert "hunter22" not in str(caught.value)


@pytest.mark.parametrize("text, message", [
    ('DB_PASSWORD="hunter22"xyz-rest\n', "line 1: unexpected text after the closing quote of DB_PASSWORD"),
    ("API_TOKEN=ab${cdhunter22\n", "line 1: invalid interpolation format in the value of API_TOKEN (not shown"),
    ("API_TOKEN=${X:hunter22}\n", "line 1: invalid interpolation format in the value of API_TOKEN (not shown"),
])
def test_errors_do_not_quote_a_secret_named_value(text, message):
    with pytest.raises(ComposeError) as caught:
        parse_env(text, "/p/.env")
    assert message in str(caught.value)
    assert "hunter22" not in str(caught.value) and "xyz-rest" not in str(caught.value)


def test_errors_quote_other_values():
    with pytest.raises(ComposeError, match="unexpected 'x' after the closing quote of NAME"):
        parse_env('NAME="a"x\n', "/p/.env")
