# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the runtime drivers share: the shape of a driver, its refusals, its locks and the files it owns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os

from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    DEFAULT_LOCK_TIMEOUT,
    FileError,
    atomic_write,
    locked,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import TomlError


class Refused(Exception):
    """The task cannot be done as asked; nothing has been written."""


class Driver:
    """The registry mirrors of one container runtime on this host.

    - :meth:`detect`: how the runtime was found, or None when it is not installed;
    - :meth:`unfit`: why it cannot mirror a registry, or None;
    - :meth:`plan`: read the runtime's files (under their locks, held until the
      run ends) and compute with pure functions what to write; raises Refused,
      and writes nothing;
    - :meth:`apply`: write the plan, make it live, and put the previous files
      back when the runtime does not take it; returns (result, diffs), raises
      ChangeFailed. In check mode it only reports.
    """

    name = None

    def __init__(self, module, lock):
        self.module = module
        self.params = module.params
        self.lock = lock

    def detect(self):
        raise NotImplementedError

    def looked_for(self):
        """What :meth:`detect` looks for, to tell a user whose runtime is missing."""
        raise NotImplementedError

    def unfit(self, registry):
        return None

    def unfit_mirrors(self, mirrors):
        """Why the runtime cannot take these mirrors (settings it has no place for) with state=present, or None."""

    def plan(self, registry, mirrors, state):
        raise NotImplementedError

    def apply(self, plan):
        raise NotImplementedError

    def close(self):
        """Release what the driver opened (an engine connection)."""


def select_drivers(module, registry, drivers, mirrors=()):
    """[(driver, detected_by)] to configure and {name: reason} skipped; raises Refused."""
    asked = module.params["runtime"] or ["auto"]
    auto = "auto" in asked
    chosen, skipped = [], {}
    for driver in drivers:
        if not auto and driver.name not in asked:
            continue
        found = driver.detect()
        if not found:
            if not auto:
                raise Refused("runtime %s was asked for, but this host has no %s (looked for %s in PATH and the sbin "
                              "directories); install it, or leave it out of runtime"
                              % (driver.name, driver.name, driver.looked_for()))
            continue
        reason = driver.unfit(registry)
        if not reason and module.params.get("state", "present") == "present":
            reason = driver.unfit_mirrors(mirrors)
        if reason:
            if not auto:
                raise Refused("runtime %s: %s" % (driver.name, reason))
            skipped[driver.name] = reason
            continue
        chosen.append((driver, found))
    if not chosen and not skipped:
        raise Refused("runtime auto found no container runtime on this host (no dockerd, containerd, podman or crio, "
                      "no %s, no engine at %s); install one, or name the runtime"
                      % (module.params["path"], module.params["docker_host"]))
    return chosen, skipped


class FileLocks:
    """The locks of the files a run changes, held from their read through the write, apply and rollback."""

    def __init__(self, module, stack):
        self.module = module
        self.stack = stack
        self.held = set()

    def __call__(self, path):
        if self.module.check_mode or path in self.held:
            return
        timeout = self.module.params.get("lock_timeout")
        try:
            self.stack.enter_context(locked(path, DEFAULT_LOCK_TIMEOUT if timeout is None else timeout))
        except FileError as exc:
            raise Refused("%s. Nothing was written." % exc) from None
        self.held.add(path)


# --------------------------------------------------------------------------
# The files a driver owns (hosts.toml, the drop-in): read, plan, write
# --------------------------------------------------------------------------

def read_text(path):
    """(text or None) of a file; Refused when it cannot be read or is not UTF-8."""
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise Refused("%s. Nothing was written." % exc) from None
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("%s is not UTF-8 text (byte %d); nothing was written" % (path, exc.start)) from None


def file_change(path, before, after):
    return {"path": path, "before": before, "after": after, "changed": before != after}


def diff_of(change):
    return {"before_header": change["path"], "after_header": change["path"],
            "before": change["before"] or "", "after": change["after"] or ""}


def write_change(change, remove_empty_dir=False):
    """Write (or delete) one planned file; raises FileError."""
    path = change["path"]
    if change["after"] is None:
        restore(path, None)
        if remove_empty_dir:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))  # only succeeds when the directory is empty
        return
    if change.get("secret"):
        # A file that holds a secret is 0600, also when it was there before with a wider mode: narrowed
        # before the secret is written, so that it is never readable by others, not even for a moment.
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, 0o600)
    atomic_write(path, change["after"].encode("utf-8"), mode=0o600 if change.get("secret") else 0o644)


def parse_own_file(kind, path, text, parse, source_label):
    """One of this module's files, parsed (for state=absent with a list of mirrors)."""
    try:
        return parse(text, path)
    except TomlError as exc:
        raise Refused("%s: %s. It is this module's %s; remove the mirrors with state: absent and no mirrors list, "
                      "which deletes the file" % (kind, exc, source_label)) from None


def owned_file_after(state, wanted, before, parse, render, same):
    """The text of a mirrors file a driver owns once the change is made (None: no file); pure.

    ``wanted`` are the runtime's entries for the task's mirrors, in order.
    With state=present the file holds exactly them. With state=absent the file
    (``before``, None when there is none) loses the entries that are ``same``
    as a wanted one; it goes when none is left or no mirror was listed, and
    stays byte for byte when none of them was in it. ``parse(before)`` gives
    (entries, context) and may raise Refused; ``render(entries, context)``
    gives the text, context None for a new file.
    """
    if state == "present":
        return render(wanted, None)
    if before is None or not wanted:
        return None
    entries, context = parse(before)
    keep = [entry for entry in entries if not any(same(entry, other) for other in wanted)]
    if keep and len(keep) == len(entries):
        return before  # none of the listed mirrors is there: leave the file as it is
    return render(keep, context) if keep else None
