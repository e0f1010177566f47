"""Loading daemon.json: what is valid, and how the errors read."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import (
    DaemonJsonError,
    parse_daemon_json,
    read_daemon_json,
)


def test_parse_object_and_empty():
    assert parse_daemon_json('{"debug": true}') == {"debug": True}
    assert parse_daemon_json("  \n") == {}


@pytest.mark.parametrize("text, words", [
    ('{"debug": true,,}', "line 1, column"),
    ('["registry-mirrors"]', "JSON object"),
    ('"text"', "JSON object"),
])
def test_parse_errors_name_file_and_place(text, words):
    with pytest.raises(DaemonJsonError) as caught:
        parse_daemon_json(text, "/etc/docker/daemon.json")
    assert words in str(caught.value) and "/etc/docker/daemon.json" in str(caught.value)


def test_read_missing_is_valid_and_empty(tmp_path):
    state = read_daemon_json(str(tmp_path / "daemon.json"))
    assert state["exists"] is False and state["valid"] is True and state["settings"] == {}


def test_read_invalid(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{\n  \"debug\": true\n  \"x\": 1\n}\n")
    state = read_daemon_json(str(path))
    assert state["exists"] and not state["valid"] and "line 3" in state["error"]


def test_read_unreadable(tmp_path):
    path = tmp_path / "dir-not-file"
    path.mkdir()
    state = read_daemon_json(str(path))
    assert state["valid"] is False and "cannot read" in state["error"]


def test_read_not_utf8(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_bytes(b'{"a": "\xff"}')
    assert "UTF-8" in read_daemon_json(str(path))["error"]
