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

The cache is ``~/.cache/dockhand.runtime/bytecode`` in the home directory that the password
database gives the user running the module (``$HOME`` and ``$XDG_CACHE_HOME`` are not trusted:
under ``become`` they may still name another user's). What it reads must be the user's own: the
home must belong to that user (or root) and be writable by nobody else; below it, each directory
is opened without following a link and must belong to the user, ``.cache`` writable by nobody
else, the cache itself private (0700), each file private too (0600). Anything unexpected (no
home, a read-only disk, a foreign owner, a damaged file) makes the import compile from the zip
as before, and a file that failed the checks is replaced: the cache can make a task faster,
never make it fail. ``DOCKHAND_BYTECODE_CACHE=off`` (in a task's or play's ``environment``)
turns it off; ``PYTHONDONTWRITEBYTECODE`` keeps it from writing. Check mode writes it too, as
Python writes ``__pycache__`` whatever the program does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import contextlib
import hashlib
import marshal
import os
import stat
import sys
import time
import types
from importlib.machinery import PathFinder
from importlib.util import MAGIC_NUMBER, spec_from_loader
from zipimport import zipimporter

try:
    import pwd
except ImportError:  # pragma: no cover - not a POSIX system
    pwd = None

try:
    from _imp import _fix_co_filename  # what importlib itself calls on code read from __pycache__
except ImportError:  # pragma: no cover - not CPython
    _fix_co_filename = None

PACKAGE = "ansible_collections.dockhand.runtime.plugins.module_utils."
SWITCH = "DOCKHAND_BYTECODE_CACHE"
SCHEME = b"dockhand-bytecode-1"
_OWNER_ONLY = 0o077  # group and other bits: none may be set on the cache's directory or files
CACHE_PATH = (".cache", "dockhand.runtime", "bytecode")  # under the user's home
STALE_TEMPORARY_SECONDS = 3600  # a temporary file this old was left by a process that was killed


def home_directory():
    """The home directory the password database gives the user running this process, or None."""
    if pwd is None:
        return None
    try:
        return pwd.getpwuid(os.geteuid()).pw_dir or None
    except KeyError:
        return None


def entry_name(fullname, source, package=PACKAGE):
    """The file that holds the code of module ``fullname`` compiled from ``source`` (bytes) by this Python."""
    digest = hashlib.sha256(SCHEME + b"\0" + MAGIC_NUMBER + b"\0" + source).hexdigest()[:32]
    module = fullname[len(package):] if fullname.startswith(package) else fullname
    tag = sys.implementation.cache_tag or "python"
    if sys.flags.optimize:  # python -O drops asserts: its code is not the same
        tag += "-opt%d" % sys.flags.optimize
    return "%s.%s.%s.bin" % (module, tag, digest)


def _private(st, uid):
    return st.st_uid == uid and not st.st_mode & _OWNER_ONLY


def _check_dir(fd, what, uid, owners, forbidden):
    st = os.fstat(fd)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid not in owners or st.st_mode & forbidden:
        raise OSError("%s is not a directory of uid %d that others may not write to" % (what, uid))


def _open_dir(home, create):
    """A descriptor of the cache directory under ``home``, checked at every step from ``home`` down.

    Raises OSError when a step is missing (and ``create`` is false), is a link, or belongs to anyone else.
    """
    uid = os.geteuid()
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    fd = os.open(home, flags)  # the home itself may be reached through a link (/home -> /srv/home)
    try:
        _check_dir(fd, home, uid, (uid, 0), 0o022)
        for depth, name in enumerate(CACHE_PATH, 1):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o700, dir_fd=fd)
            child = os.open(name, flags | getattr(os, "O_NOFOLLOW", 0), dir_fd=fd)
            os.close(fd)
            fd = child
            _check_dir(fd, name, uid, (uid,), _OWNER_ONLY if depth == len(CACHE_PATH) else 0o022)
    except BaseException:
        os.close(fd)
        raise
    return fd


def load(dir_fd, name):
    """The code object stored as ``name``, or None when there is none that can be trusted."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block
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
    """Write ``code`` as ``name``: a temporary file renamed over it, so a reader sees all of it or none.

    Then remove this module's entries from older sources for this Python, and temporary files that
    killed processes left.
    """
    temporary = ".%s.%s.tmp" % (name, binascii.hexlify(os.urandom(6)).decode())
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
    now = time.time()
    for other in os.listdir(dir_fd):
        with contextlib.suppress(OSError):
            replaced = other != name and other.endswith(".bin") and other.rsplit(".", 2)[0] == module_and_python
            if replaced or other.endswith(".tmp") and now - os.lstat(other, dir_fd=dir_fd).st_mtime > \
                    STALE_TEMPORARY_SECONDS:
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
        try:
            dir_fd = _open_dir(self.finder.home, self.finder.writable)
        except OSError:
            return compile(source, path, "exec", dont_inherit=True)
        try:
            code = load(dir_fd, name)
            if code is not None:
                if _fix_co_filename is not None:
                    _fix_co_filename(code, path)  # tracebacks name this task's file, as for a __pycache__ file
                return code
            code = compile(source, path, "exec", dont_inherit=True)
            if self.finder.writable:
                with contextlib.suppress(OSError):  # a full or read-only disk: the code runs all the same
                    store(dir_fd, name, code)
            return code
        finally:
            os.close(dir_fd)

    def exec_module(self, module):
        spec = module.__spec__
        exec(self.code(spec.name, spec.origin), module.__dict__)  # pylint: disable=exec-used


class _CachedFinder:
    """Finds this collection's module_utils in a zip and gives them a loader that keeps their code.

    It builds the spec itself: the zip's own finder compiles a module once to name its file, before
    the loader compiles it again to run it.
    """

    def __init__(self, home, writable, package=PACKAGE):
        self.home = home
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


def cache_compiled_imports(environ=None, meta_path=None, package=PACKAGE, home=None):
    """Keep the code of this collection's module_utils compiled in the user's cache (see the module's doc).

    Call it before importing them; a second call changes nothing. ``home`` is for tests: by default the
    password database's home of the user running the module.
    """
    environ = os.environ if environ is None else environ
    meta_path = sys.meta_path if meta_path is None else meta_path
    if environ.get(SWITCH, "").lower() in ("off", "0", "false", "no"):
        return None
    if any(isinstance(finder, _CachedFinder) and finder.package == package for finder in meta_path):
        return None
    home = home or home_directory()
    if not home or not os.path.isabs(home):
        return None
    finder = _CachedFinder(home, not sys.dont_write_bytecode, package)
    # just before Python's path finder: the finders in front of it (built-in and frozen modules, a test
    # harness's own) keep their turn
    position = next((i for i, other in enumerate(meta_path) if other is PathFinder), len(meta_path))
    meta_path.insert(position, finder)
    return finder
