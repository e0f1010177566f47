"""daemon_config against files on this machine: files it must refuse, and a read-only /etc."""

import json
import subprocess

import pytest
from conftest import assert_no_traceback, local_play


def config_task(path, **options):
    options.update(path=str(path), apply="none")
    return {"name": "config", "dockhand.runtime.daemon_config": options, "ignore_errors": True}


@pytest.mark.parametrize("content, words", [
    ('["registry-mirrors", "https://a.example"]', "must hold a JSON object"),
    ('{"debug": true,}', "is not valid JSON at line 1"),
    (b'{"debug": "\xff"}', "is not UTF-8 text"),
])
def test_unusable_file_is_left_as_it_is(run_playbook, tmp_path, content, words):
    path = tmp_path / "daemon.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = path.read_bytes()
    run = run_playbook(local_play([config_task(path, settings={"debug": False})]))
    assert run.status("config") == "failed"
    assert words in run.result("config")["msg"] and str(path) in run.result("config")["msg"]
    assert path.read_bytes() == before
    assert_no_traceback(run)


def test_unreadable_path(run_playbook, tmp_path):
    path = tmp_path / "daemon.json"
    path.mkdir()
    run = run_playbook(local_play([config_task(path, settings={"debug": False})]))
    assert run.status("config") == "failed"
    assert "cannot read %s" % path in run.result("config")["msg"]
    assert_no_traceback(run)


def test_read_only_directory_changes_nothing(run_playbook, tmp_path):
    etc = tmp_path / "etc-docker"
    etc.mkdir()
    path = etc / "daemon.json"
    path.write_text(json.dumps({"log-driver": "json-file"}))
    subprocess.run(["mount", "--bind", str(etc), str(etc)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(etc)], check=True)
        run = run_playbook(local_play([config_task(path, settings={"registry-mirrors": ["http://127.0.0.1:5000"]},
                                                   backup=True)]))
    finally:
        subprocess.run(["umount", str(etc)], check=True)
    assert run.status("config") == "failed"
    message = run.result("config")["msg"]
    assert str(path) in message and "Read-only file system" in message, message
    assert json.loads(path.read_text()) == {"log-driver": "json-file"}
    assert [p.name for p in etc.iterdir()] == ["daemon.json"]  # no temporary file, no backup left
    assert_no_traceback(run)


def test_merge_into_a_local_file_with_diff(run_playbook, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"log-opts": {"max-size": "10m"}, "proxies": {"http-proxy": "http://u:s3cret@p:3128"}}))
    run = run_playbook(local_play([dict(config_task(path, settings={"log-opts": {"max-file": "3"}}),
                                        ignore_errors=False, register="merged")]), diff=True)
    assert run.rc == 0, str(run)
    result = run.result("config")
    assert result["changed_keys"] == ["log-opts"] and result["applied"] == "none"
    assert json.loads(path.read_text())["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert "s3cret" not in json.dumps(result) and "s3cret" not in run.output
    assert "u:s3cret" in path.read_text()  # masked in output only, kept in the file
