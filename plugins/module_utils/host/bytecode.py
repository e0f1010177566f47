# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compiled module_utils kept on the target between tasks.

Ansible ships a module and its module_utils in a zip (AnsiballZ) and Python imports them from it.
Python writes no bytecode for a zip, so each task compiled every module_utils file again: most of
what a no-op task of this collection cost beyond ``ansible.builtin.ping`` (about 60 ms of a
container task's 110 ms, measured with ``python -X importtime`` on a kept AnsiballZ file).

:func:`cache_compiled_imports` puts a finder before Python's path finder on ``sys.meta_path``. For this
collection's module_utils imported from a zip it looks up the code compiled from exactly that
source (the file name holds a SHA-256 of the source and Python's bytecode magic number), and
compiles and stores it when there is none: a task's second run on a host loads, the first
compiles, as Python's own ``__pycache__`` does for files on disk.

The cache is ``$XDG_CACHE_HOME/dockhand.runtime/bytecode`` (``~/.cache/...``), one per user.
What it reads must be the user's own: the directory is opened without following links and
used only when the user running the module owns it and nobody else may write to it (0700);
each file likewise (0600). Anything unexpected (no home, a read-only disk, a foreign owner,
a damaged file) makes the import compile from the zip as before: the cache can make a task
faster, never make it fail. ``DOCKHAND_BYTECODE_CACHE=off`` (in a task's or play's
``environment``) turns it off; ``PYTHONDONTWRITEBYTECODE`` keeps it from writing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import marshal
import os
import stat
import sys
import types
from importlib.machinery import PathFinder
from importlib.util import MAGIC_NUMBER, spec_from_loader
from zipimport import zipimporter

try:
    from _imp import _fix_co_filename  # what importlib itself calls on code read from __pycache__
except ImportError:  # pragma: no cover - not CPython
    _fix_co_filename = None

PACKAGE = "ansible_collections.dockhand.runtime.plugins.module_utils."
SWITCH = "DOCKHAND_BYTECODE_CACHE"
SCHEME = b"dockhand-bytecode-1"
_OWNER_ONLY = 0o077  # group and other bits: none may be set on the cache's directory or files


def cache_dir(environ=None):
    """Where this user's compiled module_utils are kept, or None without a home to keep them in."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        home = environ.get("HOME") or ""
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "dockhand.runtime", "bytecode")


def entry_name(fullname, source, package=PACKAGE):
    """The file that holds the code of module ``fullname`` compiled from ``source`` (bytes) by this Python."""
    digest = hashlib.sha256(SCHEME + b"\0" + MAGIC_NUMBER + b"\0" + source).hexdigest()[:32]
    module = fullname[len(package):] if fullname.startswith(package) else fullname
    return "%s.%s.%s.bin" % (module, sys.implementation.cache_tag or "python", digest)


def _private(st, uid):
    return st.st_uid == uid and not st.st_mode & _OWNER_ONLY


def _open_dir(path, create):
    """A descriptor of ``path`` when it is a directory of this user's that nobody else may write to."""
    uid = os.geteuid()
    if create:
        with contextlib.suppress(OSError):
            os.makedirs(path, 0o700)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode) or not _private(st, uid):
            raise OSError("%s is not a private directory of uid %d" % (path, uid))
    except BaseException:
        os.close(fd)
        raise
    return fd


def load(dir_fd, name):
    """The code object stored as ``name``, or None when there is none that can be trusted."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode) or not _private(st, os.geteuid()):
            return None
        data = handle.read()
    try:
        code = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def store(dir_fd, name, code):
    """Write ``code`` as ``name``: a temporary file renamed over it, so a reader sees all of it or none."""
    temporary = ".%s.%d.tmp" % (name, os.getpid())
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600,
                 dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(marshal.dumps(code))
        os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=dir_fd)
        raise
    module_and_python = name.rsplit(".", 2)[0]  # another Python's entries stay: hosts may run modules with two
    for other in os.listdir(dir_fd):  # what older sources of this module left for this Python
        if other != name and other.endswith(".bin") and other.rsplit(".", 2)[0] == module_and_python:
            with contextlib.suppress(OSError):
                os.unlink(other, dir_fd=dir_fd)


class _CachedLoader:
    """Executes a module of the zip from cached code; everything else is asked of the zip's own loader."""

    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def __getattr__(self, attribute):
        return getattr(self.loader, attribute)

    def create_module(self, spec):
        return None

    def code(self, fullname, path):
        try:
            source = self.loader.get_data(path)
        except OSError:  # not a source file of the zip after all: let the zip compile whatever it holds
            return self.loader.get_code(fullname)
        name = entry_name(fullname, source, self.finder.package)
        dir_fd = None
        try:
            dir_fd = _open_dir(self.finder.directory, self.finder.writable)
            code = load(dir_fd, name)
            if code is not None:
                if _fix_co_filename is not None:
                    _fix_co_filename(code, path)  # tracebacks name this task's file, as for a __pycache__ file
                return code
            code = compile(source, path, "exec", dont_inherit=True)
            if self.finder.writable:
                store(dir_fd, name, code)
            return code
        except (OSError, ValueError):
            return compile(source, path, "exec", dont_inherit=True)
        finally:
            if dir_fd is not None:
                os.close(dir_fd)

    def exec_module(self, module):
        spec = module.__spec__
        exec(self.code(spec.name, spec.origin), module.__dict__)  # pylint: disable=exec-used


class _CachedFinder:
    """Finds this collection's module_utils in a zip and gives them a loader that keeps their code.

    It builds the spec itself: the zip's own finder compiles a module once to name its file, before
    the loader compiles it again to run it.
    """

    def __init__(self, directory, writable, package=PACKAGE):
        self.directory = directory
        self.writable = writable
        self.package = package

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.package) or not path:
            return None
        tail = fullname.rpartition(".")[2]
        for entry in path:
            importer = _zip_importer(entry)
            if importer is None:
                return None  # not in a zip: Python's own finders, with its own __pycache__
            try:
                is_package = importer.is_package(fullname)
            except ImportError:
                continue
            base = entry + "/" + tail
            origin = base + "/__init__.py" if is_package else base + ".py"
            loader = _CachedLoader(importer, self)
            spec = spec_from_loader(fullname, loader, origin=origin, is_package=is_package)
            if is_package:
                spec.submodule_search_locations = [base]
            spec.has_location = True
            return spec
        return None


def _zip_importer(entry):
    """The zip importer of a path entry inside a zip file, or None for any other entry."""
    importer = sys.path_importer_cache.get(entry)
    if importer is None:
        try:
            importer = zipimporter(entry)
        except ImportError:
            return None
        sys.path_importer_cache[entry] = importer
    return importer if isinstance(importer, zipimporter) else None


def cache_compiled_imports(environ=None, meta_path=None, package=PACKAGE):
    """Keep the code of this collection's module_utils compiled in the user's cache (see the module's doc).

    Call it before importing them; a second call changes nothing.
    """
    environ = os.environ if environ is None else environ
    meta_path = sys.meta_path if meta_path is None else meta_path
    if environ.get(SWITCH, "").lower() in ("off", "0", "false", "no"):
        return None
    if any(isinstance(finder, _CachedFinder) and finder.package == package for finder in meta_path):
        return None
    directory = cache_dir(environ)
    if directory is None:
        return None
    finder = _CachedFinder(directory, not sys.dont_write_bytecode, package)
    # just before Python's path finder: the finders in front of it (built-in and frozen modules, a test
    # harness's own) keep their turn
    position = next((i for i, other in enumerate(meta_path) if other is PathFinder), len(meta_path))
    meta_path.insert(position, finder)
    return finder
