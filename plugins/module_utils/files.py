# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration files on the host: read exactly, write atomically, back up, restore."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import os
import shutil
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


def backup(path):
    """Copy ``path`` next to itself with a timestamp; returns the copy's path, or None if there was no file."""
    if not os.path.exists(path):
        return None
    target = backup_path(path)
    suffix = 0
    while os.path.exists(target):
        suffix += 1
        target = "%s.%d~" % (backup_path(path)[:-1], suffix)
    try:
        shutil.copy2(path, target)
    except (IOError, OSError) as exc:
        raise FileError("cannot back up %s to %s: %s" % (path, target, exc.strerror or exc)) from None
    return target


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
