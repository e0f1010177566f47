"""Image archives: the manifest, the check by digest (config and layers), names, and what counts as the same."""

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_archive import (
    ArchiveError,
    archive_matches,
    image_name,
    parse_manifest,
    read_archive,
    save_query,
    tag_key,
)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def layer_tar(content):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def write_archive(path, layers=(b"one",), tags=("busybox:1.36",), oci=False, damage=None, gzip_layers=False,
                  omit=None):
    """A tar as docker save writes it (or in the OCI layout of Docker 25+); returns the image ID."""
    layer_data = [layer_tar(content) for content in layers]
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(d) for d in layer_data]}}).encode()
    config_name = "blobs/sha256/%s" % sha(config) if oci else "%s.json" % sha(config)
    files = {config_name: config}
    layer_names = []
    for data in layer_data:
        stored = gzip.compress(data) if gzip_layers else data
        name = "blobs/sha256/%s" % sha(stored) if oci else "%s/layer.tar" % sha(data)
        files[name] = stored
        layer_names.append(name)
    files["manifest.json"] = json.dumps([{"Config": config_name, "RepoTags": list(tags),
                                          "Layers": layer_names}]).encode()
    if damage:
        files[damage(layer_names, config_name)] = b"tampered"
    with tarfile.open(str(path), "w") as archive:
        for name, data in files.items():
            if name == omit:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return "sha256:" + sha(config)


@pytest.mark.parametrize("oci", [False, True])
def test_read_archive_gives_ids_and_names(tmp_path, oci):
    path = tmp_path / "images.tar"
    image_id = write_archive(path, layers=(b"one", b"two"), oci=oci)
    assert read_archive(str(path)) == [{"id": image_id, "repo_tags": ["busybox:1.36"]}]


def test_gzipped_layers_are_checked_uncompressed(tmp_path):
    path = tmp_path / "images.tar"
    image_id = write_archive(path, gzip_layers=True, oci=True)
    assert read_archive(str(path))[0]["id"] == image_id


def test_a_changed_layer_is_refused(tmp_path):
    path = tmp_path / "images.tar"
    write_archive(path, damage=lambda layers, config: layers[0])
    with pytest.raises(ArchiveError, match="is damaged: the layer .* hashes to sha256:"):
        read_archive(str(path))


def test_a_changed_config_is_refused(tmp_path):
    path = tmp_path / "images.tar"
    write_archive(path, damage=lambda layers, config: config)
    with pytest.raises(ArchiveError, match="is damaged: the config .* hashes to"):
        read_archive(str(path))


def test_a_missing_member_is_named(tmp_path):
    path = tmp_path / "images.tar"
    write_archive(path, omit="manifest.json")
    with pytest.raises(ArchiveError, match="manifest.json names manifest.json|which it does not hold"):
        read_archive(str(path))


def test_a_cut_archive_is_refused(tmp_path):
    path = tmp_path / "images.tar"
    write_archive(path, layers=(b"x" * 20000,))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ArchiveError):
        read_archive(str(path))


def test_not_a_tar_and_no_file(tmp_path):
    path = tmp_path / "images.tar"
    path.write_text("hello")
    with pytest.raises(ArchiveError, match="is not a tar archive"):
        read_archive(str(path))
    with pytest.raises(ArchiveError, match="does not exist on the host"):
        read_archive(str(tmp_path / "none.tar"))


@pytest.mark.parametrize("data, words", [(b"{", "is not JSON"), (b"[]", "lists no images"),
                                         (b'[{"RepoTags": []}]', "without Config and Layers")])
def test_bad_manifests(data, words):
    with pytest.raises(ArchiveError, match=words):
        parse_manifest(data, "x.tar")


def test_archive_matches_by_id_and_normalised_names():
    images = [{"id": "sha256:a", "repo_tags": ["busybox:1.36"]}]
    assert archive_matches(images, {"sha256:a": {"docker.io/library/busybox:1.36"}})
    assert not archive_matches(images, {"sha256:a": set()})
    assert not archive_matches(images, {"sha256:b": {"docker.io/library/busybox:1.36"}})
    assert not archive_matches(images, {"sha256:a": {"docker.io/library/busybox:1.36"}, "sha256:c": set()})


def test_names_by_tag_or_id_and_digests_refused():
    image_id = "sha256:" + "a" * 64
    assert image_name(image_id, "names") == (image_id, image_id)
    assert image_name("busybox", "names") == ("docker.io/library/busybox:latest", "busybox:latest")
    with pytest.raises(ArchiveError, match="names: .* is pinned by digest"):
        image_name("busybox@sha256:" + "b" * 64, "names")
    with pytest.raises(ArchiveError, match="names: .*white space"):
        image_name("busy box", "names")
    assert tag_key("127.0.0.1:5000/x:1") == "127.0.0.1:5000/x:1"


def test_save_query_repeats_names():
    assert save_query(["a:1", "b/c:2"]) == "/images/get?names=a%3A1&names=b%2Fc%3A2"
