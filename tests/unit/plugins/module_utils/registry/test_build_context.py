"""A build context: .dockerignore, which entries it sends, its content hash, and its tar."""

import os
import tarfile

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.registry.build_context import (
    BuildContextError,
    check_dockerfile,
    context_digest,
    context_entries,
    is_ignored,
    options_digest,
    parse_dockerignore,
    write_context_tar,
)


def ignored(patterns, path):
    return is_ignored(path, parse_dockerignore("\n".join(patterns)))


@pytest.mark.parametrize("patterns, path, expected", [
    (["*.log"], "app.log", True),
    (["*.log"], "sub/app.log", False),  # * does not cross a slash
    (["**/*.log"], "sub/deep/app.log", True),
    (["**/*.log"], "app.log", True),  # **/ matches no directory too
    (["node_modules"], "node_modules/a/b.js", True),  # a matched directory takes all inside it
    (["/build/"], "build/out.bin", True),  # leading and trailing slashes are cleaned
    (["./secret.txt"], "secret.txt", True),
    (["file?.txt"], "file1.txt", True),
    (["file?.txt"], "file10.txt", False),
    (["[a-c].txt"], "b.txt", True),
    (["[!a-c].txt"], "b.txt", False),
    (["docs", "!docs/keep.md"], "docs/keep.md", False),
    (["docs", "!docs/keep.md"], "docs/drop.md", True),
    (["!keep", "*"], "keep", True),  # the last rule that matches decides
    (["# a comment", "", "  tmp  "], "tmp/x", True),
    (["*.md"], "README.txt", False),
    (["a\\*b"], "a*b", True),
    (["a\\*b"], "axb", False),
])
def test_dockerignore_patterns(patterns, path, expected):
    assert ignored(patterns, path) is expected


def test_an_unreadable_pattern_names_its_line():
    with pytest.raises(BuildContextError, match=r"\.dockerignore line 2: the pattern '\[abc' cannot be read"):
        parse_dockerignore("ok\n[abc\n")


@pytest.mark.parametrize("value, expected", [("Dockerfile", "Dockerfile"), (None, "Dockerfile"),
                                             ("docker/app.Dockerfile", "docker/app.Dockerfile"),
                                             ("./Dockerfile", "Dockerfile")])
def test_dockerfile_inside_the_context(value, expected):
    assert check_dockerfile(value) == expected


@pytest.mark.parametrize("value, words", [("/etc/Dockerfile", "inside build.path"), ("../Dockerfile", "inside"),
                                          ("Docker\nfile", "control character")])
def test_dockerfile_outside_the_context_is_refused(value, words):
    with pytest.raises(BuildContextError, match="build.dockerfile") as caught:
        check_dockerfile(value)
    assert words in str(caught.value)


def make_context(root, files):
    for rel, content in files.items():
        full = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(content)
    return str(root)


def test_entries_follow_dockerignore_but_always_send_the_dockerfile(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM busybox\n", ".dockerignore": "Dockerfile\n*.log\ncache\n",
                                   "app.txt": "a", "debug.log": "x", "cache/big.bin": "x", "src/main.sh": "s"})
    assert context_entries(root) == [".dockerignore", "Dockerfile", "app.txt", "src", "src/main.sh"]


def test_entries_walk_an_ignored_directory_for_an_exception(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM busybox\n", ".dockerignore": "docs\n!docs/keep.md\n",
                                   "docs/keep.md": "k", "docs/drop.md": "d"})
    assert context_entries(root) == [".dockerignore", "Dockerfile", "docs/keep.md"]


def test_entries_keep_links_as_links_and_skip_sockets(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM busybox\n", "real.txt": "r"})
    os.symlink("real.txt", os.path.join(root, "link.txt"))
    os.symlink("/etc", os.path.join(root, "etc-link"))
    os.mkfifo(os.path.join(root, "pipe"))
    assert context_entries(root) == ["Dockerfile", "etc-link", "link.txt", "real.txt"]


def test_a_missing_context_or_dockerfile_is_named(tmp_path):
    with pytest.raises(BuildContextError, match="build.path .* is not a directory"):
        context_entries(str(tmp_path / "nope"))
    root = make_context(tmp_path, {"app.txt": "a"})
    with pytest.raises(BuildContextError, match="build.dockerfile Dockerfile does not exist"):
        context_entries(root)


def test_digest_changes_with_content_mode_and_names_but_not_times(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM busybox\n", "app.txt": "one"})
    first = context_digest(root, context_entries(root))
    os.utime(os.path.join(root, "app.txt"), (1, 1))
    assert context_digest(root, context_entries(root)) == first
    with open(os.path.join(root, "app.txt"), "w") as handle:
        handle.write("two")
    second = context_digest(root, context_entries(root))
    assert second != first
    os.chmod(os.path.join(root, "app.txt"), 0o755)
    third = context_digest(root, context_entries(root))
    assert third != second
    os.rename(os.path.join(root, "app.txt"), os.path.join(root, "other.txt"))
    assert context_digest(root, context_entries(root)) != third


def test_an_ignored_file_does_not_change_the_digest(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM busybox\n", ".dockerignore": "*.log\n", "a.log": "1"})
    first = context_digest(root, context_entries(root))
    with open(os.path.join(root, "a.log"), "w") as handle:
        handle.write("2")
    assert context_digest(root, context_entries(root)) == first


def test_options_digest_covers_the_options():
    base = {"dockerfile": "Dockerfile", "args": {"A": "1"}}
    assert options_digest("sha256:x", base) == options_digest("sha256:x", dict(base))
    assert options_digest("sha256:x", base) != options_digest("sha256:x", dict(base, args={"A": "2"}))
    assert options_digest("sha256:x", base) != options_digest("sha256:y", base)


def test_tar_holds_the_entries_with_content_and_root_owner(tmp_path):
    root = make_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n", "src/app.sh": "echo hi\n"})
    os.chmod(os.path.join(root, "src/app.sh"), 0o755)
    os.symlink("src/app.sh", os.path.join(root, "run"))
    entries = context_entries(root)
    with write_context_tar(root, entries) as handle, tarfile.open(fileobj=handle) as archive:
        names = archive.getnames()
        app = archive.getmember("src/app.sh")
        link = archive.getmember("run")
        content = archive.extractfile(app).read()
    assert names == entries
    assert content == b"echo hi\n" and app.mode & 0o777 == 0o755 and app.uid == 0 and app.gid == 0
    assert link.issym() and link.linkname == "src/app.sh"
