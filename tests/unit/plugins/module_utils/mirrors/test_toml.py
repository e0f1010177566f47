"""The small TOML reader, checked against tomllib; TOML strings and keys read back."""

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import (
    TomlError,
    dotted_key,
    loads,
    parse_toml,
    toml_string,
)

TOML_SAMPLES = [
    "",
    "# only a comment\n\n",
    'a = "x"\nb = \'lit\\eral\'\nc = 1_000\nd = 0x1F\nd2 = -17\nd3 = +0.5\n',
    'e = 0o17\nf = 0b101\ng = 3.5e2\nh = inf\ni = true\nj = -inf\nk = 0\nl = 1e-3\n',
    'esc = "tab\\t quote\\" back\\\\ nl\\n u\\u00e9 U\\U0001F600"\n',
    'ml = """\nline one\n  line two \\\n    joined"""\nlit = \'\'\'\nraw \\n text\'\'\'\n',
    'quotes = """a ""quoted"" word"""\nends = """x"""""\n',
    'arr = [\n  "a", # a comment, with ] and [\n  "b",\n]\nnested = [[1, 2], ["x"]]\nempty = []\n',
    'inline = { a = 1, b.c = "d", "e f" = [true] }\n',
    '[t]\nx.y.z = 1\n"quoted key" = 2\n\'lit key\' = 3\n[t.sub]\nw = 4\n',
    '[[arr]]\nname = "one"\n[[arr]]\nname = "two"\n[arr.detail]\nk = 1\n',
    'a = 1\r\n[b]\r\nc = "d"\r\n',
    '  [ spaced . "table" ]  # comment\n  key = "v"  # trailing\n',
    'a.b = 1\n[a.c]\nd = 2\n',
    'k = "no final newline"',
]


@pytest.mark.parametrize("text", TOML_SAMPLES)
def test_parse_toml_agrees_with_tomllib(text):
    assert loads(text) == tomllib.loads(text)


def test_dates_are_kept_as_text():
    assert loads("d = 1979-05-27T07:32:00Z\nt = 07:32:00\nday = 1979-05-27\n") == {
        "d": "1979-05-27T07:32:00Z", "t": "07:32:00", "day": "1979-05-27"}


@pytest.mark.parametrize("text, words", [
    ('a = "open\n', "line 1"),
    ("a = 1\na = 2\n", "line 2, column 1: a is set twice"),
    ("[t]\n[t]\n", "table [t] is defined twice"),
    ("a = nope\n", "expected a value"),
    ("a = -0x1F\n", "expected a value"),
    ("a = 017\n", "expected a value"),
    ("a = 1__0\n", "expected a value"),
    ("a 1\n", "expected = after the key a"),
    ("[t\n", "expected ] to close the table header"),
    ("a = 1 b = 2\n", "expected the end of the line"),
    ("a = [1, 2\n", "expected , or ] in an array"),
    ('a = "\\q"\n', "unknown escape \\q"),
    ("a = 1\n[a]\n", "not a table"),
    ('x = """never closed\n', "multi-line string is not closed"),
])
def test_toml_errors_name_the_place(text, words):
    with pytest.raises(TomlError) as caught:
        loads(text, "/etc/x.toml")
    assert words in str(caught.value) and "/etc/x.toml" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_toml_string_round_trips_any_text(value):
    text = "k = %s\n" % toml_string(value)
    assert loads(text) == {"k": value} == tomllib.loads(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3))
def test_dotted_key_round_trips(path):
    assert loads("%s = 1\n" % dotted_key(path)) == tomllib.loads("%s = 1\n" % dotted_key(path))
    entries = parse_toml("%s = 1\n" % dotted_key(path))[1]
    assert entries[0]["path"] == tuple(path)
