"""Unit tests of container_copy_into's core: options, the tar in and out, the plan and the diff."""

import io
import tarfile

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container.archive import (
    build_file_tar,
    check_container_path,
    check_id,
    file_diff,
    looks_secret,
    parse_mode,
    plan_copy,
    read_file_tar,
    wanted_file,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError


def current(data=b"old\n", mode=0o644, uid=0, gid=0, kind="file"):
    return {"type": kind, "data": data if kind == "file" else None, "mode": mode, "uid": uid, "gid": gid,
            "size": len(data or b""), "linkname": None}


# --- options ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/etc/app.conf", "/a/b c/d.txt", "/x"])
def test_good_container_paths(path):
    assert check_container_path(path) == path


@pytest.mark.parametrize("path, words", [
    ("etc/app.conf", "must be an absolute path"),
    ("/etc/app.conf\n", "must be an absolute path"),
    ("/etc/", "must be an absolute path"),
    ("/", "must be an absolute path"),
    ("/etc//app.conf", "must be an absolute path"),
    ("/etc/../app.conf", "is not normalised; write it as '/app.conf'"),
    ("/etc/./app.conf", "is not normalised"),
    (None, "must be an absolute path"),
])
def test_bad_container_paths_are_refused(path, words):
    with pytest.raises(OptionError) as caught:
        check_container_path(path)
    assert words in str(caught.value)


@pytest.mark.parametrize("value, mode", [(None, None), (0o640, 0o640), ("0640", 0o640), ("640", 0o640),
                                         ("0o4755", 0o4755), ("0", 0)])
def test_modes(value, mode):
    assert parse_mode(value) == mode


@pytest.mark.parametrize("value, words", [("u=rw", "symbolic modes"), ("0648", "not an octal mode"),
                                          ("0644\n", "not an octal mode"), (True, "octal number"),
                                          (0o17777, "out of range"), (-1, "out of range")])
def test_bad_modes_are_refused(value, words):
    with pytest.raises(OptionError) as caught:
        parse_mode(value)
    assert words in str(caught.value)


def test_ids_are_checked():
    assert check_id(1000, "owner_id") == 1000 and check_id(None, "owner_id") is None
    with pytest.raises(OptionError) as caught:
        check_id(-1, "group_id")
    assert "group_id -1" in str(caught.value)


# --- tar in and out -----------------------------------------------------------------------------

def test_tar_round_trip_keeps_bytes_mode_and_owner():
    raw = build_file_tar("app.conf", b"a=1\n\x00\xff", 0o4750, 1000, 2000, mtime=1)
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        (member,) = archive.getmembers()
    assert (member.name, member.mode, member.uid, member.gid, member.size) == ("app.conf", 0o4750, 1000, 2000, 6)
    found = read_file_tar(raw)
    assert found == {"type": "file", "mode": 0o4750, "uid": 1000, "gid": 2000, "size": 6, "linkname": None,
                     "data": b"a=1\n\x00\xff"}


def test_read_tar_of_a_symlink_and_a_directory():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("conf")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/real.conf"
        archive.addfile(link)
    assert read_file_tar(buffer.getvalue())["type"] == "symlink"
    assert read_file_tar(buffer.getvalue())["linkname"] == "/etc/real.conf"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo("etc")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
    assert read_file_tar(buffer.getvalue())["type"] == "directory"


def test_unreadable_tar_is_an_engine_error():
    with pytest.raises(EngineError) as caught:
        read_file_tar(b"not a tar at all" * 40)
    assert "cannot be read" in str(caught.value)


# --- the plan -----------------------------------------------------------------------------------

def test_wanted_keeps_what_the_task_does_not_set():
    assert wanted_file(b"x", None, None, None, current(mode=0o600, uid=5, gid=6)) == {
        "data": b"x", "mode": 0o600, "uid": 5, "gid": 6}
    assert wanted_file(b"x", None, None, None, None) == {"data": b"x", "mode": 0o644, "uid": 0, "gid": 0}
    assert wanted_file(b"x", 0o400, 7, 8, current()) == {"data": b"x", "mode": 0o400, "uid": 7, "gid": 8}


def test_plan_lists_what_differs():
    same = {"data": b"old\n", "mode": 0o644, "uid": 0, "gid": 0}
    assert plan_copy(None, same) == ["created"]
    assert plan_copy(current(), same) == []
    assert plan_copy(current(), dict(same, data=b"new\n")) == ["content"]
    assert plan_copy(current(), dict(same, mode=0o600, uid=1)) == ["mode", "owner"]
    assert plan_copy(current(), same, force=True) == ["forced"]
    assert plan_copy(current(), dict(same, data=b"new"), force=False) == []
    assert plan_copy(None, same, force=False) == ["created"]
    assert plan_copy(current(kind="symlink"), same) == ["replaced symlink"]


def test_plan_refuses_a_directory():
    with pytest.raises(OptionError) as caught:
        plan_copy(current(kind="directory"), {"data": b"", "mode": 0o644, "uid": 0, "gid": 0})
    assert "is a directory" in str(caught.value)


# --- the diff -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, data", [
    ("/run/secrets/api-token", b"abc"),
    ("/etc/ssl/server.key", b"x"),
    ("/etc/app.conf", b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"),
    ("/etc/app.conf", b"db_password = hunter22\n"),
    ("/etc/app.yml", b"api:\n  token: abcdef\n"),
    ("/etc/app.conf", b"url=https://bob:pw123@example.com/\n"),
])
def test_secret_looking_content(path, data):
    assert looks_secret(path, data)


def test_plain_content_is_not_secret():
    assert not looks_secret("/etc/nginx/site.conf", b"server { listen 80; }\n")


def test_diff_shows_small_text():
    diff = file_diff("/etc/app.conf", current(b"a\n"), {"data": b"b\n", "mode": 0o600, "uid": 0, "gid": 0})
    assert (diff["before"], diff["after"]) == ("a\n", "b\n")
    assert "mode 0644" in diff["before_header"] and "mode 0600" in diff["after_header"]


def test_diff_of_a_new_file():
    diff = file_diff("/etc/app.conf", None, {"data": b"b\n", "mode": 0o644, "uid": 0, "gid": 0})
    assert diff["before"] == "" and diff["after"] == "b\n" and "(absent)" in diff["before_header"]


def test_diff_hides_secret_and_binary_content():
    secret = file_diff("/etc/app.conf", current(b"password=old1\n"),
                       {"data": b"password=new2\n", "mode": 0o600, "uid": 0, "gid": 0})
    assert "old1" not in str(secret) and "new2" not in str(secret) and "looks secret" in secret["after_header"]
    assert "14 bytes" in secret["after"]
    # the old content alone looking secret hides both sides
    was_secret = file_diff("/etc/app.conf", current(b"token: abc\n"), {"data": b"plain\n", "mode": 0o644,
                                                                       "uid": 0, "gid": 0})
    assert "abc" not in str(was_secret) and "plain" not in str(was_secret)
    binary = file_diff("/bin/tool", current(b"\x7fELF\x00"), {"data": b"\x7fELF\x01\x00", "mode": 0o755,
                                                              "uid": 0, "gid": 0})
    assert "binary" in binary["after_header"] and "ELF" not in binary["after"]
