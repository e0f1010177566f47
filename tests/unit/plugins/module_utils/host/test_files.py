"""Atomic writes, safe backups that are pruned, and the lock that serialises read-modify-write."""

import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.host import files
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    FileError,
    atomic_write,
    backup,
    backups_of,
    lock_path,
    locked,
    restore,
)


def read(path):
    with open(path) as handle:
        return handle.read()


def test_backup_keeps_the_mode_and_the_newest(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{}")
    os.chmod(path, 0o600)
    old_umask = os.umask(0)
    try:
        made = [backup(str(path), keep=3) for _round in range(5)]
    finally:
        os.umask(old_umask)
    kept = backups_of(str(path))
    assert kept == made[-3:]
    assert all(stat.S_IMODE(os.stat(name).st_mode) == 0o600 for name in kept)


def test_backup_refuses_a_planted_symlink(tmp_path, monkeypatch):
    path = tmp_path / "daemon.json"
    path.write_text('{"a": 1}')
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    monkeypatch.setattr(files, "backup_path", lambda p, now=None: str(tmp_path / "planted~"))
    os.symlink(str(victim), str(tmp_path / "planted~"))
    target = backup(str(path), keep=0)
    assert target != str(tmp_path / "planted~")
    assert victim.read_text() == "untouched"
    assert read(target) == '{"a": 1}'


def test_backup_of_nothing(tmp_path):
    assert backup(str(tmp_path / "absent")) is None


def test_atomic_write_and_restore(tmp_path):
    path = str(tmp_path / "f")
    atomic_write(path, b"one", mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    atomic_write(path, b"two")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    restore(path, b"one")
    assert read(path).encode() == b"one"
    restore(path, None)
    assert not os.path.exists(path)
    assert os.listdir(str(tmp_path)) == []


def _hold(path, seconds, ready):
    with locked(path):
        ready.set()
        time.sleep(seconds)


def test_lock_excludes_and_times_out(tmp_path):
    path = str(tmp_path / "daemon.json")
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(path, 3, ready))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(FileError) as caught, locked(path, timeout=0.3):
            pass
        assert path in str(caught.value) and "lock_timeout" in str(caught.value)
    finally:
        holder.join()
    with locked(path, timeout=1) as lock_file:
        assert lock_file == lock_path(path)
        assert not lock_file.startswith(str(tmp_path))


def _increment(path, rounds):
    for _round in range(rounds):
        with locked(path):
            value = int(read(path))
            time.sleep(0.001)
            atomic_write(path, str(value + 1).encode())


def test_lock_loses_no_update(tmp_path):
    path = str(tmp_path / "counter")
    atomic_write(path, b"0")
    workers = [multiprocessing.Process(target=_increment, args=(path, 25)) for _worker in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert read(path) == "100"
