# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changing the Docker config file: add or remove a login, masked views, an atomic write with mode 0600.

The read side (keys, encoding, lookup) is in registry_auth, which pulls need;
this part travels only with registry_login.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import json
import os
import stat

from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import FileError, atomic_write
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth import (
    AuthConfigError,
    decode_auth,
    encode_auth,
    matching_keys,
)

FILE_MODE = 0o600
DIR_MODE = 0o700
MASK = "********"


def render_config(config):
    """The file's text, as the docker CLI writes it (tab indented), as bytes."""
    return (json.dumps(config, indent="\t") + "\n").encode("utf-8")


def with_login(config, key, username, password):
    """A copy of ``config`` whose ``auths[key]`` holds these credentials (other keys and entries kept)."""
    new = copy.deepcopy(config)
    auths = new.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    entry = auths.get(key) if isinstance(auths.get(key), dict) else {}
    # Only the credential fields change; a stale identity token or a plain-text
    # password of an older CLI would take precedence over or contradict the new auth.
    entry = {k: v for k, v in entry.items() if k not in ("auth", "username", "password", "identitytoken",
                                                         "registrytoken")}
    entry["auth"] = encode_auth(username, password)
    auths[key] = entry
    new["auths"] = auths
    return new


def without_login(config, hostname):
    """``(copy of config without hostname's entries, removed keys)``; other entries and keys kept."""
    new = copy.deepcopy(config)
    removed = matching_keys(new, hostname)
    for key in removed:
        del new["auths"][key]
    return new, removed


def masked(config):
    """A copy for diffs and results: every ``auth`` becomes ``user:********``, tokens and passwords ``********``."""
    new = copy.deepcopy(config)
    auths = new.get("auths")
    if not isinstance(auths, dict):
        return new
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                username = decode_auth(entry["auth"])[0]
            except AuthConfigError:
                username = "?"
            entry["auth"] = "%s:%s" % (username, MASK)
        for secret in ("password", "identitytoken", "registrytoken"):
            if entry.get(secret):
                entry[secret] = MASK
        auths[key] = entry
    return new


def scrub(text, *secrets):
    """``text`` with every non-empty secret replaced by ********."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


# --------------------------------------------------------------------------
# Edges: where the file is, reading and writing it
# --------------------------------------------------------------------------

def _nearest_existing_dir(path):
    directory = os.path.dirname(os.path.abspath(path))
    while directory and not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return directory


def write_config(path, config):
    """Write ``config`` to ``path`` atomically with mode 0600; raises AuthConfigError.

    A new directory gets mode 0700. Run as root for another user's home, a new
    file and directory get the owner of the nearest existing directory, so the
    user can read them. An existing file keeps its owner; its mode is
    tightened to 0600 before the new content is written.
    """
    owner = None
    try:
        if not os.path.exists(path) and os.geteuid() == 0:
            anchor = os.stat(_nearest_existing_dir(path))
            if anchor.st_uid != 0:
                owner = (anchor.st_uid, anchor.st_gid)
        directory = os.path.dirname(os.path.abspath(path))
        missing = []
        while not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for new_dir in reversed(missing):
            os.mkdir(new_dir, DIR_MODE)
            if owner is not None:
                os.chown(new_dir, owner[0], owner[1])
        if file_mode(path) not in (None, FILE_MODE):
            set_mode(path, FILE_MODE)
        atomic_write(path, render_config(config), mode=FILE_MODE, owner=owner)
    except FileError as exc:
        raise AuthConfigError(str(exc)) from None
    except (IOError, OSError) as exc:
        raise AuthConfigError("cannot write %s: %s" % (path, exc.strerror or exc)) from None


def file_mode(path):
    """The permission bits of ``path``, or None when it does not exist."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def set_mode(path, mode):
    """chmod ``path`` through a descriptor opened with O_NOFOLLOW: a symlink is refused, never followed.

    Raises AuthConfigError naming the file; a symlink planted at the path would
    otherwise hand its target (any file root can write) the new mode.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AuthConfigError("cannot set the mode of %s to %04o: it is a symbolic link, which is not followed; "
                                  "set config_path to the file itself" % (path, mode)) from None
        raise AuthConfigError("cannot set the mode of %s to %04o: %s" % (path, mode, exc.strerror or exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise AuthConfigError("cannot set the mode of %s to %04o: it is not a regular file" % (path, mode))
        os.fchmod(fd, mode)
    except OSError as exc:
        raise AuthConfigError("cannot set the mode of %s to %04o: %s" % (path, mode, exc.strerror or exc)) from None
    finally:
        os.close(fd)
