# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration files on the host: read exactly, write atomically, back up, restore."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import tempfile
import time


class FileError(Exception):
    """A file could not be read or written; the message names it and says why."""


def read_bytes(path):
    """The file's bytes, or None when it does not exist. Other errors raise FileError."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise FileError("cannot read %s: %s" % (path, exc.strerror or exc)) from None


def atomic_write(path, data, mode=0o644, owner=None):
    """Write ``data`` (bytes) to ``path`` so that readers see the old or the new file, never half of one.

    The new content goes to a temporary file in the same directory, is
    fsynced, gets the old file's mode and owner (or ``mode`` and ``owner``
    for a new file), and is renamed over the path; the directory is fsynced
    after. Missing parent directories are created (mode 0755).
    """
    directory = os.path.dirname(path) or "."
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        try:
            current = os.stat(path)
            mode, owner = current.st_mode & 0o7777, (current.st_uid, current.st_gid)
        except OSError:
            pass
        handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    except (IOError, OSError) as exc:
        raise FileError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        if owner is not None:
            os.chown(temporary, owner[0], owner[1])
        os.rename(temporary, path)
    except (IOError, OSError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise FileError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    _fsync_directory(directory)


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def backup_path(path, now=None):
    """Where a timestamped backup of ``path`` goes (Ansible's ``path.<timestamp>~`` style)."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(now))
    return "%s.%s~" % (path, stamp)


DEFAULT_KEEP_BACKUPS = 3


def backup(path, keep=DEFAULT_KEEP_BACKUPS):
    """Copy ``path`` next to itself with a timestamp; returns the copy's path, or None if there was no file.

    The copy is created with O_EXCL and O_NOFOLLOW and the original's mode from
    the first byte, so a symlink planted at the predictable name is refused and a
    file holding secrets is never readable by others, not even for a moment. Then
    only the newest ``keep`` backups of ``path`` are kept (0 keeps them all).
    """
    try:
        source = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise FileError("cannot back up %s: %s" % (path, exc.strerror or exc)) from None
    try:
        info = os.fstat(source)
        for attempt in range(100):
            target = backup_path(path) if attempt == 0 else "%s.%d~" % (backup_path(path)[:-1], attempt)
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                             info.st_mode & 0o7777)
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        else:
            raise FileError("cannot back up %s: 100 backups with this timestamp exist" % path)
        try:
            os.fchmod(fd, info.st_mode & 0o7777)  # the umask may have narrowed it
            with contextlib.suppress(OSError):
                os.fchown(fd, info.st_uid, info.st_gid)
            while True:
                chunk = os.read(source, 1 << 16)
                if not chunk:
                    break
                os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FileError("cannot back up %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        os.close(source)
    prune_backups(path, keep)
    return target


def backups_of(path):
    """The backups :func:`backup` made of ``path``, oldest first."""
    directory = os.path.dirname(path) or "."
    prefix = os.path.basename(path) + "."
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    pattern = re.compile(re.escape(prefix) + r"\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d(\.\d+)?~")
    found = [os.path.join(directory, name) for name in names if pattern.fullmatch(name)]
    return sorted(found, key=lambda name: (os.lstat(name).st_mtime, name))


def prune_backups(path, keep=DEFAULT_KEEP_BACKUPS):
    """Remove all but the newest ``keep`` backups of ``path`` (0 keeps all); returns the removed paths."""
    if not keep:
        return []
    removed = []
    for old in backups_of(path)[:-keep]:
        with contextlib.suppress(OSError):
            os.unlink(old)
            removed.append(old)
    return removed


def restore(path, previous):
    """Put back what was at ``path``: ``previous`` bytes, or no file when it is None."""
    if previous is None:
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise FileError("cannot remove %s: %s" % (path, exc.strerror or exc)) from None
        return
    atomic_write(path, previous)


LOCK_DIRS = ("/run/lock", "/var/lock", "/tmp")
DEFAULT_LOCK_TIMEOUT = 60


def lock_path(path):
    """The lock file that guards ``path``: in /run/lock, named after the path, never next to it."""
    real = os.path.abspath(path)
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", real.strip("/"))[-80:]
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    for directory in LOCK_DIRS:
        if os.path.isdir(directory) and os.access(directory, os.W_OK):
            return os.path.join(directory, "dockhand.%s.%s.lock" % (readable, digest))
    return os.path.join(tempfile.gettempdir(), "dockhand.%s.%s.lock" % (readable, digest))


@contextlib.contextmanager
def locked(path, timeout=DEFAULT_LOCK_TIMEOUT):
    """Hold an exclusive lock on ``path`` from the read through the write, apply and rollback.

    Every dockhand.runtime change to a host file takes it, so two runs that change
    the same file (two plays, forks on one host, a watchdog) take turns instead of
    losing each other's change. Raises FileError naming the file and the lock after
    ``timeout`` seconds.
    """
    lock_file = lock_path(path)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        raise FileError("cannot lock %s (lock file %s): %s" % (path, lock_file, exc.strerror or exc)) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise FileError("cannot lock %s: %s" % (path, exc.strerror or exc)) from None
            if time.monotonic() >= deadline:
                raise FileError("another run has been changing %s for more than %d s (it holds %s); let it "
                                "finish and run again, or raise lock_timeout" % (path, timeout, lock_file))
            time.sleep(0.05)
        yield lock_file
    finally:
        os.close(fd)  # closing the descriptor releases the lock
