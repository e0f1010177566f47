"""The record of a change in progress, and the leftovers of a stopped run."""

import os

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_journal import (
    clear_pending,
    decode,
    digest,
    encode,
    pending_path,
    read_pending,
    remove_leftovers,
    write_pending,
)


def test_record_round_trip_and_clear(tmp_path):
    path = str(tmp_path / "daemon.json")
    record = {"path": path, "apply": "restart", "previous": encode(b'{"debug": true}'), "written_sha256": digest(b"x")}
    try:
        write_pending(path, record)
        assert os.stat(pending_path(path)).st_mode & 0o777 == 0o600  # it holds the previous file
        assert read_pending(path) == record
        assert decode(read_pending(path)["previous"]) == b'{"debug": true}'
        assert read_pending(str(tmp_path / "other.json")) is None
    finally:
        clear_pending(path)
    assert read_pending(path) is None
    clear_pending(path)  # nothing to clear is fine


def test_a_record_others_could_have_written_is_ignored(tmp_path):
    path = str(tmp_path / "daemon.json")
    try:
        write_pending(path, {"path": path})
        os.chmod(pending_path(path), 0o644)
        assert read_pending(path) is None
        os.chmod(pending_path(path), 0o600)
        with open(pending_path(path), "w") as handle:
            handle.write("not json")
        assert read_pending(path) is None
    finally:
        clear_pending(path)


def test_a_symlink_is_not_followed(tmp_path):
    path = str(tmp_path / "daemon.json")
    target = tmp_path / "elsewhere"
    target.write_text('{"path": "%s"}' % path)
    os.chmod(target, 0o600)
    try:
        os.symlink(str(target), pending_path(path))
        assert read_pending(path) is None
        write_pending(path, {"path": path})  # replaces the link, never writes through it
        assert not os.path.islink(pending_path(path))
        assert target.read_text() == '{"path": "%s"}' % path
    finally:
        clear_pending(path)


def test_only_our_temporary_files_are_removed(tmp_path):
    ours = [".daemon.json.abcd_123", ".daemon.json.validate.x1y2z3w4"]
    theirs = [".daemon.json.too-long-name", ".daemon.json.ABCDEFGH", "daemon.json", ".other.json.abcd_123"]
    for name in ours + theirs:
        (tmp_path / name).write_text("{}")
    removed = remove_leftovers(str(tmp_path / "daemon.json"))
    assert sorted(os.path.basename(p) for p in removed) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs)
