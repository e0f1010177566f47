"""host/bytecode.py: compiled imports kept between tasks, read only from the user's own private files.

Each test imports a small package from a real zip (as AnsiballZ ships module_utils) through a finder of
its own package name, with the cache in a temporary directory.
"""

import os
import stat
import sys
import zipfile
from importlib.machinery import PathFinder

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.host import bytecode

PACKAGE = "dhbytecodepkg"
SOURCES = {
    PACKAGE + "/__init__.py": "",
    PACKAGE + "/mod.py": "VALUE = 'from the zip'\n\n\ndef fails():\n    raise RuntimeError('boom')\n",
    PACKAGE + "/sub/__init__.py": "",
    PACKAGE + "/sub/deep.py": "from dhbytecodepkg.mod import VALUE\n\nDEEP = VALUE + ', deep'\n",
}


def make_zip(path, sources):
    with zipfile.ZipFile(str(path), "w") as archive:
        for name, text in sources.items():
            archive.writestr(name, text)
    return str(path)


@pytest.fixture
def importing(tmp_path, monkeypatch):
    """A function that imports NAME from a zip of SOURCES with the cache in tmp_path/home; returns the module."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    zips = []

    def forget():
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]

    def run(name, sources=None, zip_name="payload.zip", environ=None, writable=True, at=None):
        forget()
        archive = make_zip(tmp_path / zip_name, sources or SOURCES)
        zips.append(archive)
        monkeypatch.setattr(sys, "path", [archive] + [p for p in sys.path if p not in zips])
        monkeypatch.setattr(sys, "dont_write_bytecode", not writable)
        meta_path = [finder for finder in sys.meta_path if not isinstance(finder, bytecode._CachedFinder)]
        finder = bytecode.cache_compiled_imports(environ=environ or {}, meta_path=meta_path, package=PACKAGE + ".",
                                                 home=str(at or home))
        monkeypatch.setattr(sys, "meta_path", meta_path)
        run.finder = finder
        return __import__(name, fromlist=["*"])

    run.home = home
    run.cache = home / ".cache" / "dockhand.runtime" / "bytecode"
    yield run
    forget()


def entries(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def plant(cache, name, text):
    """Replace the cached code of module NAME (one entry) with code compiled from TEXT."""
    [entry] = [p for p in cache.iterdir() if p.name.startswith(name + ".")]
    entry.write_bytes(bytecode.marshal.dumps(compile(text, "planted", "exec")))
    return entry


def test_first_import_compiles_and_stores_private_files(importing):
    deep = importing(PACKAGE + ".sub.deep")
    assert deep.DEEP == "from the zip, deep"
    assert deep.__file__.endswith("payload.zip/%s/sub/deep.py" % PACKAGE)
    assert sys.modules[PACKAGE + ".sub"].__path__ == [deep.__file__.rsplit("/", 1)[0]]
    names = entries(importing.cache)
    assert [name.rsplit(".", 3)[0] for name in names] == ["mod", "sub", "sub.deep"], names
    assert stat.S_IMODE(importing.cache.stat().st_mode) == 0o700
    for entry in importing.cache.iterdir():
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600, entry
        assert entry.stat().st_uid == os.geteuid()
    assert isinstance(sys.modules[PACKAGE + ".mod"].__spec__.loader, bytecode._CachedLoader)


def test_second_import_runs_the_cached_code(importing):
    importing(PACKAGE + ".mod")
    plant(importing.cache, "mod", "VALUE = 'from the cache'\n")
    assert importing(PACKAGE + ".mod").VALUE == "from the cache"


@pytest.mark.parametrize("spoil", [
    "group-writable directory", "other-readable file", "foreign owner", "symlinked directory", "damaged file",
    "symlinked .cache", "home writable by others", "foreign .cache"])
def test_what_is_not_the_users_own_and_private_is_never_run(importing, tmp_path, spoil):
    if spoil in ("foreign owner", "foreign .cache") and os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root (the suite runs as root)")
    importing(PACKAGE + ".mod")
    entry = plant(importing.cache, "mod", "VALUE = 'planted'\n")
    dot_cache = importing.home / ".cache"
    if spoil == "group-writable directory":
        importing.cache.chmod(0o770)
    elif spoil == "other-readable file":
        entry.chmod(0o644)
    elif spoil == "foreign owner":
        os.chown(str(entry), os.geteuid() + 1, -1)
    elif spoil == "symlinked directory":
        real = tmp_path / "elsewhere"
        importing.cache.rename(real)
        importing.cache.symlink_to(real, target_is_directory=True)
    elif spoil == "symlinked .cache":  # a link higher up: another user's directory could be behind it
        real = tmp_path / "elsewhere"
        dot_cache.rename(real)
        dot_cache.symlink_to(real, target_is_directory=True)
    elif spoil == "home writable by others":
        importing.home.chmod(0o777)
    elif spoil == "foreign .cache":
        os.chown(str(dot_cache), os.geteuid() + 1, -1)
    else:
        entry.write_bytes(entry.read_bytes()[:7])
    assert importing(PACKAGE + ".mod").VALUE == "from the zip"


def test_a_fifo_in_the_cache_does_not_block_the_import(importing):
    importing(PACKAGE + ".mod")
    [entry] = [p for p in importing.cache.iterdir() if p.name.startswith("mod.")]
    entry.unlink()
    os.mkfifo(str(entry), 0o600)
    assert importing(PACKAGE + ".mod").VALUE == "from the zip"


def test_a_changed_source_gets_a_new_entry_and_the_old_one_goes(importing):
    importing(PACKAGE + ".sub.deep")
    other_python = importing.cache / ("mod.other-python-99.%s.bin" % ("0" * 32))  # a second interpreter's entry
    other_python.write_bytes(b"")
    other_python.chmod(0o600)
    before = entries(importing.cache)
    changed = dict(SOURCES, **{PACKAGE + "/mod.py": "VALUE = 'changed'\n", PACKAGE + "/sub/__init__.py": "#\n"})
    assert importing(PACKAGE + ".sub.deep", sources=changed, zip_name="changed.zip").DEEP == "changed, deep"
    after = entries(importing.cache)

    def of(names, module):
        return [name for name in names if name.rsplit(".", 3)[0] == module and "other-python" not in name]

    for module in ("mod", "sub"):
        assert len(of(after, module)) == 1 and of(after, module) != of(before, module), (before, after)
    assert of(after, "sub.deep") == of(before, "sub.deep") and len(after) == 4, (before, after)
    assert other_python.name in after


def test_cached_code_names_this_tasks_file_in_tracebacks(importing):
    importing(PACKAGE + ".mod", zip_name="first.zip")
    mod = importing(PACKAGE + ".mod", zip_name="second.zip")  # loaded from the cache
    with pytest.raises(RuntimeError) as raised:
        mod.fails()
    assert str(raised.traceback[-1].path).endswith("second.zip/%s/mod.py" % PACKAGE)


def test_without_writing_bytecode_it_reads_but_never_writes(importing):
    assert importing(PACKAGE + ".mod", writable=False).VALUE == "from the zip"
    assert entries(importing.cache) == []
    importing(PACKAGE + ".mod")
    plant(importing.cache, "mod", "VALUE = 'from the cache'\n")
    assert importing(PACKAGE + ".mod", writable=False).VALUE == "from the cache"


def test_switched_off_nothing_is_kept(importing):
    assert importing(PACKAGE + ".mod", environ={"DOCKHAND_BYTECODE_CACHE": "off"}).VALUE == "from the zip"
    assert importing.finder is None
    assert entries(importing.cache) == []


def test_without_a_home_there_is_no_cache(monkeypatch):
    assert bytecode.cache_compiled_imports(environ={}, meta_path=[], home="relative") is None
    monkeypatch.setattr(bytecode, "home_directory", lambda: None)
    assert bytecode.cache_compiled_imports(environ={}, meta_path=[]) is None


def test_home_and_xdg_cache_home_from_the_environment_are_not_trusted():
    """Under become they may still name the connecting user's directories."""
    finder = bytecode.cache_compiled_imports(environ={"HOME": "/home/someone", "XDG_CACHE_HOME": "/tmp/shared"},
                                             meta_path=[])
    assert finder.home == bytecode.pwd.getpwuid(os.geteuid()).pw_dir


def test_code_compiled_with_python_o_is_kept_apart(monkeypatch):
    plain = bytecode.entry_name(PACKAGE + ".mod", b"assert x\n", PACKAGE + ".")
    monkeypatch.setattr(sys, "flags", type("flags", (), {"optimize": 1})())
    optimized = bytecode.entry_name(PACKAGE + ".mod", b"assert x\n", PACKAGE + ".")
    assert plain != optimized and "-opt1." in optimized and plain.rsplit(".", 2)[0] != optimized.rsplit(".", 2)[0]


def test_the_finder_goes_just_before_pythons_path_finder_once():
    first, last = object(), object()  # a harness's finder in front (ansible-test's), another one behind
    meta_path = [first, PathFinder, last]
    environ = {}
    finder = bytecode.cache_compiled_imports(environ=environ, meta_path=meta_path)
    assert meta_path == [first, finder, PathFinder, last]
    assert bytecode.cache_compiled_imports(environ=environ, meta_path=meta_path) is None
    assert len(meta_path) == 4


def test_an_unwritable_home_still_imports(importing, tmp_path):
    home = tmp_path / "locked"
    home.mkdir()
    (home / ".cache").write_text("a file where the directory would go")
    assert importing(PACKAGE + ".sub.deep", at=home).DEEP == "from the zip, deep"


def test_modules_on_disk_are_left_to_python(tmp_path, monkeypatch):
    package = tmp_path / "ondisk" / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    finder = bytecode._CachedFinder(str(tmp_path / "cache"), True, PACKAGE + ".")
    assert finder.find_spec(PACKAGE + ".mod", [str(package)]) is None
