"""daemon_config against files on this machine: files it must refuse, and a read-only /etc."""

import json
import os
import secrets
import stat
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


PROXY_SECRET = "pr0xy/" + secrets.token_urlsafe(8)  # a '/' in a password once kept it from being masked
SPLUNK_SECRET = "splunk-" + secrets.token_urlsafe(12)
MIRROR_SECRET = "m1rror-" + secrets.token_urlsafe(8)


def assert_secrets_hidden(run, *hidden):
    everything = run.output + json.dumps([record["result"] for record in run.records])
    for secret in hidden:
        assert secret not in everything, "%s shows in the output" % secret


def test_secrets_never_show_at_vvv(run_playbook, tmp_path, monkeypatch):
    """Proxy passwords (with '/'), log-opts tokens and mirror credentials stay out of -vvv output, diffs,
    results and messages; a new file that holds one is created 0600, an existing file keeps its mode."""
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    new = tmp_path / "new" / "daemon.json"
    existing = tmp_path / "daemon.json"
    existing.write_text(json.dumps({"log-driver": "json-file"}))
    os.chmod(existing, 0o644)
    proxies = {"http-proxy": "http://proxyuser:%s@proxy.example:3128" % PROXY_SECRET}
    log_opts = {"splunk-token": SPLUNK_SECRET, "splunk-url": "https://splunk.example:8088"}
    run = run_playbook(local_play([
        dict(config_task(new, settings={"proxies": proxies}), name="new file"),
        dict(config_task(existing, settings={"log-driver": "splunk", "log-opts": log_opts}), name="existing file"),
        dict(config_task(existing, settings={"log-opts": {"splunk-token": SPLUNK_SECRET + "-new"}}), name="rotate"),
        dict(config_task(existing, settings={"registry-mirrors": ["https://u:%s@mirror.example" % MIRROR_SECRET]}),
             name="credentials in a mirror"),
        dict(config_task(existing, settings={"registry-mirrors": ["u:%s@mirror.example" % MIRROR_SECRET]}),
             name="credentials without a scheme"),
    ]), diff=True)
    assert run.status("new file") == "changed" and run.status("existing file") == "changed"
    assert run.status("credentials in a mirror") == "failed"
    assert "credentials" in run.result("credentials in a mirror")["msg"]
    assert run.status("credentials without a scheme") == "failed"
    assert "module_args" in run.output  # -vvv shows the arguments, masked
    assert "******** (changed)" in run.result("rotate")["diff"]["after"]
    assert_secrets_hidden(run, PROXY_SECRET, SPLUNK_SECRET, MIRROR_SECRET)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644
    assert json.loads(new.read_text())["proxies"] == proxies  # masked in the output only
    assert json.loads(existing.read_text())["log-opts"]["splunk-token"] == SPLUNK_SECRET + "-new"
    assert_no_traceback(run)


def test_plain_tcp_hosts_are_refused_unless_allowed(run_playbook, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"log-driver": "json-file"}))
    before = path.read_bytes()
    plain = {"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}
    run = run_playbook(local_play([dict(config_task(path, settings=plain), name="plain tcp")]))
    message = run.result("plain tcp")["msg"]
    assert run.status("plain tcp") == "failed"
    assert "tcp://0.0.0.0:2375" in message and "allow_plain_tcp_hosts" in message and "tlsverify" in message
    assert "Nothing was written" in message and path.read_bytes() == before
    allowed = run_playbook(local_play([
        dict(config_task(path, settings={"hosts": ["tcp://127.0.0.1:2375"]}), name="loopback"),
        dict(config_task(path, settings={"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": True}), name="tlsverify"),
        dict(config_task(path, settings=plain, allow_plain_tcp_hosts=True), name="opted in"),
    ]))
    for task in ("loopback", "tlsverify", "opted in"):
        assert allowed.status(task) == "changed", allowed.result(task)
    assert json.loads(path.read_text())["hosts"] == plain["hosts"]
    assert_no_traceback(run)


@pytest.mark.parametrize("options, words", [
    ({"unit": "docker.service\nExecStartPre=/bin/sh -c id"}, "unit"),
    ({"unit": "../../../tmp/evil.service"}, "unit"),
    ({"path": "PATH\nx"}, "path"),
    ({"lock_timeout": -1}, "lock_timeout"),
    ({"backup_keep": -2}, "backup_keep"),
])
def test_bad_options_change_nothing(run_playbook, tmp_path, options, words):
    etc = tmp_path / "etc"
    etc.mkdir()
    path = etc / "daemon.json"
    path.write_text('{"debug": false}')
    if options.get("path") == "PATH\nx":
        options["path"] = str(path) + "\nx"
    run = run_playbook(local_play([{"name": "bad", "ignore_errors": True, "dockhand.runtime.daemon_config": dict(
        {"path": str(path), "apply": "none", "settings": {"debug": True}}, **options)}]))
    message = run.result("bad")["msg"]
    assert run.status("bad") == "failed" and message.startswith(words) and "Nothing was written" in message, message
    assert path.read_text() == '{"debug": false}'
    assert sorted(p.name for p in etc.iterdir()) == ["daemon.json"]
    assert_no_traceback(run)


def test_backups_keep_the_newest(run_playbook, tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    path = etc / "daemon.json"
    path.write_text('{"max-concurrent-downloads": 1}')
    tasks = [dict(config_task(path, settings={"max-concurrent-downloads": count}, backup=True, backup_keep=2),
                  name="change %d" % count) for count in range(2, 6)]
    run = run_playbook(local_play(tasks))
    assert run.rc == 0, str(run)
    backups = sorted(p for p in etc.iterdir() if p.name.startswith("daemon.json.") and p.name.endswith("~"))
    assert len(backups) == 2
    assert sorted(json.loads(p.read_text())["max-concurrent-downloads"] for p in backups) == [3, 4]
    keep_all = run_playbook(local_play([dict(config_task(path, settings={"max-concurrent-downloads": count},
                                                         backup=True, backup_keep=0), name="keep %d" % count)
                                        for count in range(6, 9)]))
    assert keep_all.rc == 0, str(keep_all)
    assert len([p for p in etc.iterdir() if p.name.endswith("~")]) == 5


def test_untouched_keys_keep_their_formatting(run_playbook, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}\n')
    run = run_playbook(local_play([config_task(path, settings={"registry-mirrors": ["http://127.0.0.1:5000"]})]))
    assert run.rc == 0, str(run)
    assert path.read_text() == ('{\n  "log-driver": "json-file",\n  "log-opts": {"max-size": "10m", "max-file": "3"},\n'
                                '  "registry-mirrors": [\n    "http://127.0.0.1:5000"\n  ]\n}\n')


def test_leftover_temporary_files_are_removed(run_playbook, tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    path = etc / "daemon.json"
    path.write_text('{"debug": false}')
    leftovers = [etc / ".daemon.json.k2j4_x9q", etc / ".daemon.json.validate.abcd1234"]
    for leftover in leftovers:
        leftover.write_text('{"debug": tr')  # what a killed run leaves: a temporary file, maybe cut short
    unrelated = etc / ".daemon.json.keep-me"
    unrelated.write_text("not ours")
    run = run_playbook(local_play([dict(config_task(path, settings={"debug": True}), register="out")]))
    assert run.rc == 0, str(run)
    assert sorted(run.result("config")["removed_leftovers"]) == sorted(str(p) for p in leftovers)
    assert sorted(p.name for p in etc.iterdir()) == [".daemon.json.keep-me", "daemon.json"]
    assert json.loads(path.read_text()) == {"debug": True}
