"""Image references: parsing, normalisation and refusals, as the engine does them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    ImageReferenceError,
    knows_digest,
    parse_reference,
    registry_host,
    split_domain,
)

DIGEST = "sha256:" + "f9f3c0b4a19b2a3d2f084be935b3bbeb1bb9edd2906c3a950e52dd1f094f9e3f"


@pytest.mark.parametrize("value, registry, repository, tag, digest", [
    ("busybox", "docker.io", "library/busybox", "latest", None),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36", None),
    ("library/busybox:1.36", "docker.io", "library/busybox", "1.36", None),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", None),
    ("index.docker.io/library/busybox:stable", "docker.io", "library/busybox", "stable", None),
    ("team/app", "docker.io", "team/app", "latest", None),
    ("docker.io/team/sub/app:v1", "docker.io", "team/sub/app", "v1", None),
    ("127.0.0.1:5000/library/busybox:latest", "127.0.0.1:5000", "library/busybox", "latest", None),
    ("localhost:5000/app", "localhost:5000", "app", "latest", None),
    ("localhost/app:1", "localhost", "app", "1", None),
    ("registry.example.com/app", "registry.example.com", "app", "latest", None),
    ("Registry.Example.com:443/a/b", "Registry.Example.com:443", "a/b", "latest", None),
    ("[::1]:5000/app:x", "[::1]:5000", "app", "x", None),
    ("busybox@" + DIGEST, "docker.io", "library/busybox", None, DIGEST),
    ("busybox:1.36@" + DIGEST, "docker.io", "library/busybox", "1.36", DIGEST),
    ("reg.lan:5000/a/b@" + DIGEST, "reg.lan:5000", "a/b", None, DIGEST),
    ("ab-c__d/e--f", "docker.io", "ab-c__d/e--f", "latest", None),
])
def test_parse(value, registry, repository, tag, digest):
    ref = parse_reference(value)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_forms_of_a_hub_image():
    ref = parse_reference("busybox:1.36")
    assert ref.name == "docker.io/library/busybox"
    assert ref.full == "docker.io/library/busybox:1.36"
    assert ref.local == "docker.io/library/busybox:1.36"
    assert ref.familiar == "busybox:1.36"
    assert ref.pull_params == {"fromImage": "docker.io/library/busybox", "tag": "1.36"}
    assert ref.is_official_hub
    assert ref.to_dict()["familiar"] == "busybox:1.36"


def test_forms_of_a_pinned_image():
    ref = parse_reference("127.0.0.1:5000/library/busybox:1.36@" + DIGEST)
    assert ref.full == "127.0.0.1:5000/library/busybox:1.36@" + DIGEST
    # the digest decides: the engine stores and pulls name@digest
    assert ref.local == "127.0.0.1:5000/library/busybox@" + DIGEST
    assert ref.pull_params == {"fromImage": "127.0.0.1:5000/library/busybox", "tag": DIGEST}
    assert ref.familiar == "127.0.0.1:5000/library/busybox@" + DIGEST
    assert not ref.is_official_hub


def test_familiar_keeps_non_library_namespaces():
    assert parse_reference("team/app:1").familiar == "team/app:1"
    assert parse_reference("docker.io/library/a/b").familiar == "library/a/b:latest"


def test_familiar_keeps_docker_io_when_the_path_would_read_as_a_registry():
    ref = parse_reference("docker.io/a.b/c:1")
    assert ref.familiar == "docker.io/a.b/c:1"
    assert parse_reference(ref.familiar) == ref


def test_equality_is_by_normal_form():
    assert parse_reference("busybox") == parse_reference("docker.io/library/busybox:latest")
    assert parse_reference("busybox") != parse_reference("busybox:1.36")
    assert len({parse_reference("busybox"), parse_reference("index.docker.io/library/busybox")}) == 1


@pytest.mark.parametrize("value, words", [
    ("", "empty"),
    ("   ", "empty"),
    ("Busybox", "must be lowercase"),
    ("team/App", "must be lowercase"),
    ("busybox:", "tag ''"),
    ("busybox:-x", "tag '-x' is invalid"),
    ("busybox:" + "x" * 129, "is invalid"),
    ("busy box", "white space"),
    ("busybox@sha256:abc", "64 lowercase hex"),
    ("busybox@sha256:" + "F" * 64, "lowercase hex"),
    ("busybox@md5:" + "a" * 32, "unsupported algorithm"),
    ("busybox@" + "a" * 64, "algorithm:hex"),
    ("a" * 64, "image ID"),
    ("-busybox", "not a valid repository name component"),
    ("a//b", "not a valid repository name component"),
    ("a/b_", "not a valid repository name component"),
    ("reg-.lan:5000/app", "not a valid registry"),
    ("a.b-c__d/e", "not a valid registry"),
    ("reg.lan:port/app", "not a valid registry"),
    (":tag", "no repository"),
    ("a/" + "b" * 260, "longer than 255"),
])
def test_refusals_name_the_part(value, words):
    with pytest.raises(ImageReferenceError) as caught:
        parse_reference(value)
    assert words in str(caught.value)


def test_refusal_of_a_non_string():
    with pytest.raises(ImageReferenceError, match="must be a string"):
        parse_reference(["busybox"])


@pytest.mark.parametrize("name, expected", [
    ("busybox", ("docker.io", "library/busybox")),
    ("localhost/x", ("localhost", "x")),
    ("UPPER/x", ("UPPER", "x")),
    ("a.b/x", ("a.b", "x")),
    ("plain/x", ("docker.io", "plain/x")),
])
def test_split_domain(name, expected):
    assert split_domain(name) == expected


def test_knows_digest_matches_the_repository():
    ref = parse_reference("busybox:latest")
    assert knows_digest(["busybox@" + DIGEST], ref, DIGEST)
    assert knows_digest(["docker.io/library/busybox@" + DIGEST], ref, DIGEST)
    assert not knows_digest(["other@" + DIGEST], ref, DIGEST)
    assert not knows_digest(["busybox@sha256:" + "0" * 64], ref, DIGEST)
    assert not knows_digest(None, ref, DIGEST)
    local = parse_reference("127.0.0.1:5000/library/busybox")
    assert knows_digest(["127.0.0.1:5000/library/busybox@" + DIGEST], local, DIGEST)
    assert not knows_digest(["busybox@" + DIGEST], local, DIGEST)


# --- properties -------------------------------------------------------------------------------

_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_separator = st.sampled_from([".", "_", "__", "-", "--"])


@st.composite
def path_components(draw):
    parts = [draw(_alnum)]
    for _index in range(draw(st.integers(0, 2))):
        parts += [draw(_separator), draw(_alnum)]
    return "".join(parts)


@st.composite
def references(draw):
    registry = draw(st.sampled_from(["", "docker.io/", "index.docker.io/", "127.0.0.1:5000/", "localhost/",
                                     "reg.example.com/", "reg.lan:5000/"]))
    parts = draw(st.lists(path_components(), min_size=1, max_size=3))
    if not registry and len(parts) > 1 and "." in parts[0]:
        registry = "docker.io/"  # else the first component would name a registry, as the engine reads it
    path = "/".join(parts)
    tag = draw(st.one_of(st.none(), st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z")))
    digest = draw(st.one_of(st.none(), st.text("0123456789abcdef", min_size=64, max_size=64)))
    value = registry + path
    if tag:
        value += ":" + tag
    if digest:
        value += "@sha256:" + digest
    return value


@given(references())
def test_normal_forms_parse_to_themselves(value):
    ref = parse_reference(value)
    assert parse_reference(ref.full) == ref
    assert parse_reference(ref.familiar).local == ref.local
    assert parse_reference(ref.local).local == ref.local
    assert ref.tag or ref.digest


@pytest.mark.parametrize("bad", ["busybox:latest\n", "busybox\n", "registry.example.com\n/app:1", "  busybox:1.36  "])
def test_a_trailing_or_embedded_newline_is_refused(bad):
    with pytest.raises(ImageReferenceError):
        parse_reference(bad)


@pytest.mark.parametrize("value, host", [
    ("docker.io", "docker.io"), ("INDEX.docker.io", "docker.io"), ("registry-1.docker.io", "docker.io"),
    ("registry.hub.docker.com", "docker.io"), ("https://index.docker.io/v1/", "docker.io"),
    ("http://Reg.LAN:5000/v2/", "reg.lan:5000"), ("ghcr.io", "ghcr.io"),
])
def test_one_registry_host_rule(value, host):
    assert registry_host(value) == host


def test_docker_hub_in_an_image_name_is_what_the_engine_reads_as_such():
    assert parse_reference("index.docker.io/library/busybox").registry == "docker.io"
    assert parse_reference("registry-1.docker.io/library/busybox").registry == "registry-1.docker.io"
