# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a stopped run leaves behind a daemon.json change, and how the next run finds it.

A change is journalled while it is applied: a run stopped between writing
daemon.json and seeing dockerd take it (killed, its connection lost) leaves
the record, and the next run finishes the job (daemon_config.resume). The
record lives next to the file's lock in /run (gone at a reboot, which applies
the file anyway). Temporary files of an atomic write cut short are removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import hashlib
import json
import os
import re

from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import lock_path


def remove_leftovers(path):
    """Remove the temporary files a stopped run left next to ``path``; returns their paths.

    Only names this collection makes (``.daemon.json.XXXXXXXX`` from an atomic
    write, ``.daemon.json.validate.XXXXXXXX`` from ``dockerd --validate``) are
    touched, and only under the file's lock, when no other run can be writing one.
    """
    directory = os.path.dirname(path) or "."
    pattern = re.compile(r"\.%s\.(validate\.)?[a-z0-9_]{8}" % re.escape(os.path.basename(path)))
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in sorted(names):
        candidate = os.path.join(directory, name)
        if pattern.fullmatch(name) and not os.path.isdir(candidate):
            with contextlib.suppress(OSError):
                os.unlink(candidate)
                removed.append(candidate)
    return removed


def pending_path(path):
    return lock_path(path)[:-len(".lock")] + ".pending"


def write_pending(path, record):
    """Write the journal record of the change to ``path``, mode 0600 (it holds the previous file)."""
    target = pending_path(path)
    with contextlib.suppress(OSError):
        os.unlink(target)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w") as stream:
        json.dump(record, stream)
        stream.flush()
        os.fsync(stream.fileno())


def read_pending(path):
    """The journal record a stopped run left for ``path``, or None (a record not written by this user is ignored)."""
    try:
        fd = os.open(pending_path(path), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd) as stream:
        info = os.fstat(stream.fileno())
        if info.st_uid != os.geteuid() or info.st_mode & 0o077:
            return None
        try:
            record = json.load(stream)
        except ValueError:
            return None
    return record if isinstance(record, dict) and record.get("path") == path else None


def clear_pending(path):
    with contextlib.suppress(OSError):
        os.unlink(pending_path(path))


def encode(raw):
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def decode(text):
    return None if text is None else base64.b64decode(text)


def digest(raw):
    return hashlib.sha256(raw or b"").hexdigest()
