# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A build context on the host: which files it holds (.dockerignore), its content hash, and its tar stream.

The walk and the hash read the directory only; the tar is written into a temporary file that
POST /build then streams. The hash covers each entry's path, kind, permission bits and content
(or link target), not times or owners, so it changes exactly when what a build sees changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import stat
import tarfile
import tempfile

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import ReportedError

DOCKERIGNORE = ".dockerignore"
_CHUNK = 1 << 20


class BuildContextError(ReportedError):
    """The context directory or a file in it is unusable; the message names it."""


# --------------------------------------------------------------------------
# .dockerignore (pure)
# --------------------------------------------------------------------------

def _clean(pattern):
    """A pattern as Docker cleans it: no leading or trailing slash, no ``.`` parts, ``..`` resolved."""
    parts = []
    for part in pattern.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _translate(pattern):
    """A cleaned .dockerignore pattern as a regular expression for re.fullmatch."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":  # **/ : any number of directories, none included
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise ValueError("an unclosed [ in %r" % pattern)
            body = pattern[i + 1:end]
            if body.startswith(("!", "^")):
                body = "^" + body[1:]
            out.append("[%s]" % body.replace("\\", "\\\\"))
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def parse_dockerignore(text, source=DOCKERIGNORE):
    """The rules of a .dockerignore text: a list of ``(compiled pattern, excludes, original line)``.

    Blank lines and ``#`` comments are skipped; ``!`` re-includes. Raises BuildContextError naming
    the line of a pattern that cannot be read.
    """
    rules = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        body = line if excludes else line[1:].strip()
        cleaned = _clean(body)
        if not cleaned:
            continue
        try:
            compiled = re.compile(_translate(cleaned))
        except (ValueError, re.error) as exc:
            raise BuildContextError("%s line %d: the pattern %r cannot be read (%s); fix or remove it"
                                    % (source, number, line, exc)) from None
        rules.append((compiled, excludes, line))
    return rules


def is_ignored(relpath, rules):
    """Whether the context path ``relpath`` (``a/b.txt``) is left out: the last rule that matches it, or one
    of its parent directories, decides."""
    parents = relpath.split("/")
    candidates = ["/".join(parents[:i]) for i in range(1, len(parents) + 1)]
    ignored = False
    for compiled, excludes, _line in rules:
        if any(compiled.fullmatch(candidate) for candidate in candidates):
            ignored = excludes
    return ignored


def has_exceptions(rules):
    """Whether any rule re-includes (``!``): then an ignored directory must still be walked."""
    return any(not excludes for _compiled, excludes, _line in rules)


# --------------------------------------------------------------------------
# The walk and the hash (read-only)
# --------------------------------------------------------------------------

def check_dockerfile(dockerfile):
    """The Dockerfile's path inside the context, checked: relative, no ``..``, no control characters."""
    text = dockerfile or "Dockerfile"
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise BuildContextError("build.dockerfile %r holds a control character; give a file name such as "
                                "Dockerfile or docker/app.Dockerfile" % text)
    if text.startswith("/") or ".." in text.split("/"):
        raise BuildContextError("build.dockerfile %r must be a path inside build.path (relative, without ..), "
                                "for example Dockerfile or docker/app.Dockerfile" % text)
    cleaned = _clean(text)
    if not cleaned:
        raise BuildContextError("build.dockerfile %r names no file; give for example Dockerfile" % text)
    return cleaned


def read_rules(root):
    """The rules of ``root``/.dockerignore ([] when there is none)."""
    path = os.path.join(root, DOCKERIGNORE)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BuildContextError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    return parse_dockerignore(data.decode("utf-8", "replace"), path)


def context_entries(root, dockerfile="Dockerfile"):
    """The context's entries as sorted relative paths, after .dockerignore.

    The Dockerfile and .dockerignore are always sent (the builder reads them), as the docker CLI
    does. Sockets, pipes and devices are left out.
    """
    if not os.path.isdir(root):
        raise BuildContextError("build.path %s is not a directory on the host; copy the context there first "
                                "(ansible.builtin.copy) or fix the path" % root)
    rules = read_rules(root)
    walk_ignored = has_exceptions(rules)
    always = {dockerfile, DOCKERIGNORE}
    entries = []

    def failed(exc):
        raise BuildContextError("cannot read %s in the build context: %s" % (exc.filename, exc.strerror or exc))

    for directory, dirs, files in os.walk(root, onerror=failed):
        rel_dir = os.path.relpath(directory, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        kept_dirs = []
        for name in sorted(dirs):
            rel = rel_dir + "/" + name if rel_dir else name
            full = os.path.join(directory, name)
            if os.path.islink(full):  # a link to a directory is an entry of its own, never followed
                if not is_ignored(rel, rules):
                    entries.append(rel)
                continue
            ignored = is_ignored(rel, rules)
            if not ignored:
                entries.append(rel)
            if not ignored or walk_ignored or any(a.startswith(rel + "/") for a in always):
                kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            rel = rel_dir + "/" + name if rel_dir else name
            mode = os.lstat(os.path.join(directory, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                continue
            if rel in always or not is_ignored(rel, rules):
                entries.append(rel)
    if dockerfile not in entries:
        raise BuildContextError("build.dockerfile %s does not exist in build.path %s (or is not a regular file)"
                                % (dockerfile, root))
    return sorted(set(entries))


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


def entry_record(root, rel):
    """What the hash covers of one entry: ``[path, kind, mode, content digest or link target]``."""
    full = os.path.join(root, rel)
    try:
        info = os.lstat(full)
        if stat.S_ISLNK(info.st_mode):
            return [rel, "link", 0, os.readlink(full)]
        if stat.S_ISDIR(info.st_mode):
            return [rel, "dir", stat.S_IMODE(info.st_mode), ""]
        return [rel, "file", stat.S_IMODE(info.st_mode), file_digest(full)]
    except OSError as exc:
        raise BuildContextError("cannot read %s in the build context: %s" % (full, exc.strerror or exc)) from None


def context_digest(root, entries):
    """sha256 over the records of every entry, in order: the context's content hash."""
    digest = hashlib.sha256()
    for rel in entries:
        digest.update(json.dumps(entry_record(root, rel), separators=(",", ":")).encode("utf-8"))
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


def options_digest(context, options):
    """The build's hash: the context's digest and the options that shape the image, as one sha256."""
    data = json.dumps({"context": context, "options": options}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------
# The tar stream (edge)
# --------------------------------------------------------------------------

def _normalise(info):
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_context_tar(root, entries, target=None):
    """Write the entries into a tar (``target``, or a new temporary file); returns the file, rewound."""
    handle = target if target is not None else tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    try:
        with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for rel in entries:
                full = os.path.join(root, rel)
                info = archive.gettarinfo(full, arcname=rel)
                if info is None:
                    continue
                _normalise(info)
                if info.isreg():
                    with open(full, "rb") as content:
                        archive.addfile(info, content)
                else:
                    archive.addfile(info)
    except OSError as exc:
        if target is None:
            handle.close()
        raise BuildContextError("cannot pack the build context %s: %s" % (root, exc.strerror or exc)) from None
    handle.seek(0)
    return handle
