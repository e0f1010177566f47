# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put one file into a container, idempotently (the container_copy_into module's core).

Pure parts: the options checked, the tar the engine takes (``PUT /containers/{id}/archive``) built and the one
it gives (``GET /containers/{id}/archive``) read, the plan (what differs), and a diff that never shows secret
or binary content. The edge: fetch the container's file and write the new one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import posixpath
import re
import tarfile
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError, object_path
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import (
    SECRET_WORDS,
    is_secret_name,
    mask_pairs,
)

CONTAINER_PATH = re.compile(r"(?:/[^/\x00-\x1f\x7f]+)+")
OCTAL_MODE = re.compile(r"(?:0o|0)?[0-7]{1,4}")
DEFAULT_MODE = 0o644
DEFAULT_OWNER = (0, 0)
# Content shown in a diff at most (bytes); larger files show their size only.
DIFF_MAX_BYTES = 64 * 1024
_SECRET_LINE = re.compile(r"""^\s*["']?[\w.-]*(?:%s)[\w.-]*["']?\s*[:=]\s*\S"""
                          % "|".join(SECRET_WORDS), re.IGNORECASE | re.MULTILINE)


def check_container_path(path):
    """An absolute, normalised file path in the container; anything else is refused, not altered."""
    if not isinstance(path, str) or not CONTAINER_PATH.fullmatch(path):
        raise OptionError("container_path %r must be an absolute path to a file, such as /etc/app/app.conf, "
                          "without control characters or a trailing '/'" % (path,))
    if posixpath.normpath(path) != path or "/../" in path + "/" or "/./" in path + "/":
        raise OptionError("container_path %r is not normalised; write it as %r"
                          % (path, posixpath.normpath(path)))
    return path


def parse_mode(value):
    """A file mode from an integer (0o644 in YAML) or an octal string ('0644', '644', '0o644')."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise OptionError("mode must be an octal number such as '0644', not %r" % value)
    if isinstance(value, int):
        mode = value
    else:
        text = str(value)
        if not OCTAL_MODE.fullmatch(text):
            raise OptionError("mode %r is not an octal mode: write it as a quoted string such as '0644' "
                              "(symbolic modes such as u=rw are not supported)" % text)
        mode = int(text[2:] if text.startswith("0o") else text, 8)
    if not 0 <= mode <= 0o7777:
        raise OptionError("mode %o is out of range: a file mode lies between 0000 and 7777" % mode)
    return mode


def check_id(value, option):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 31:
        raise OptionError("%s %r must be a number between 0 and 2147483647" % (option, value))
    return value


def build_file_tar(name, data, mode, uid, gid, mtime=None):
    """A tar holding one regular file ``name`` (a base name) with the given bytes, mode and owner."""
    info = tarfile.TarInfo(name=name)
    info.size = len(data)
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = int(time.time() if mtime is None else mtime)
    info.type = tarfile.REGTYPE
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_file_tar(raw):
    """The first member of the tar the engine returns for a path: its type, mode, owner and (for a file) bytes."""
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            member = archive.next()
            if member is None:
                return None
            found = {"type": "file" if member.isreg() else "directory" if member.isdir()
                     else "symlink" if member.issym() else "other",
                     "mode": member.mode & 0o7777, "uid": member.uid, "gid": member.gid,
                     "size": member.size, "linkname": member.linkname or None, "data": None}
            if member.isreg():
                handle = archive.extractfile(member)
                found["data"] = handle.read() if handle is not None else b""
            return found
    except (tarfile.TarError, EOFError) as exc:
        raise EngineError("the engine's archive of the file cannot be read: %s" % exc) from None


def wanted_file(data, mode, owner_id, group_id, current):
    """What the file must be: the task's values, else the current file's (so they are left alone), else defaults."""
    keep = current if current is not None and current["type"] == "file" else None
    return {
        "data": data,
        "mode": mode if mode is not None else (keep["mode"] if keep else DEFAULT_MODE),
        "uid": owner_id if owner_id is not None else (keep["uid"] if keep else DEFAULT_OWNER[0]),
        "gid": group_id if group_id is not None else (keep["gid"] if keep else DEFAULT_OWNER[1]),
    }


def plan_copy(current, wanted, force=None):
    """What differs between the container's file and the wanted one: a list of reasons, empty when nothing.

    ``force``: None compares; True writes always; False writes only when the file is missing.
    """
    if current is None:
        return ["created"]
    if current["type"] == "directory":
        raise OptionError("container_path is a directory in the container; give the path of the file to write")
    if force is False:
        return []
    if current["type"] != "file":
        return ["replaced %s" % current["type"]]
    reasons = []
    if current["data"] != wanted["data"]:
        reasons.append("content")
    if current["mode"] != wanted["mode"]:
        reasons.append("mode")
    if (current["uid"], current["gid"]) != (wanted["uid"], wanted["gid"]):
        reasons.append("owner")
    if force and not reasons:
        reasons.append("forced")
    return reasons


def looks_secret(path, data):
    """Whether a file's content must not be shown: a secret-sounding name, a private key, or secret-named settings."""
    if is_secret_name(posixpath.basename(path)):
        return True
    if data is None:
        return False
    text = data.decode("utf-8", "replace")
    return "PRIVATE KEY" in text or bool(_SECRET_LINE.search(text)) or mask_pairs(text) != text


def showable_text(data):
    """The bytes as text when they are small UTF-8 text; None otherwise."""
    if data is None or len(data) > DIFF_MAX_BYTES or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def describe(entry):
    return "%s, mode %04o, owner %d:%d, %d bytes" % (
        entry.get("type", "file"), entry["mode"], entry["uid"], entry["gid"], len(entry["data"] or b"")) \
        if entry.get("data") is not None else "%s, mode %04o, owner %d:%d" % (
            entry.get("type", "file"), entry["mode"], entry["uid"], entry["gid"])


def file_diff(path, current, wanted):
    """Ansible's diff: the content when both sides are small text and nothing looks secret, else a description."""
    before_data = current["data"] if current is not None else b""
    secret = looks_secret(path, before_data) or looks_secret(path, wanted["data"])
    before_text, after_text = showable_text(before_data), showable_text(wanted["data"])
    shown = not secret and before_text is not None and after_text is not None
    header = "%s (%s)" % (path, "content hidden: it looks secret" if secret else
                          "content not shown: binary or larger than %d bytes" % DIFF_MAX_BYTES if not shown else "text")
    diff = {"before_header": path if current is not None else "%s (absent)" % path, "after_header": header}
    if shown:
        diff["before"], diff["after"] = before_text, after_text
    else:
        diff["before"] = describe(current) + "\n" if current is not None else ""
        diff["after"] = describe(dict(wanted, type="file")) + "\n"
    if current is not None:
        diff["before_header"] += " (mode %04o, owner %d:%d)" % (current["mode"], current["uid"], current["gid"])
    diff["after_header"] += " (mode %04o, owner %d:%d)" % (wanted["mode"], wanted["uid"], wanted["gid"])
    return diff


# --------------------------------------------------------------------------
# Edge: the engine
# --------------------------------------------------------------------------

def fetch_file(client, container_id, path):
    """The container's file at ``path`` (see read_file_tar), or None when there is none."""
    try:
        raw = client.raw("GET", object_path("container", container_id, "/archive"), params={"path": path})
    except EngineError as exc:
        if exc.not_found:
            return None
        raise
    return read_file_tar(raw)


def put_file(client, container_id, path, wanted):
    """Write the file: a one-file tar extracted into its directory, which must exist."""
    directory, name = posixpath.split(path)
    archive = build_file_tar(name, wanted["data"], wanted["mode"], wanted["uid"], wanted["gid"])
    try:
        client.raw("PUT", object_path("container", container_id, "/archive"),
                   params={"path": directory or "/", "noOverwriteDirNonDir": True}, body=archive,
                   headers={"Content-Type": "application/x-tar"})
    except EngineError as exc:
        if exc.not_found:
            raise OptionError("the directory %s does not exist in the container; create it first (for example "
                              "with dockhand.runtime.container_exec and mkdir -p)" % directory) from None
        if exc.kind == "http":
            exc.message = "cannot write %s into the container: %s" % (path, exc.daemon_message or exc.message)
        raise
