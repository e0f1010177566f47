# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image archives (``docker save`` tars): what one holds, checked by digest, and saving and loading them.

An archive's ``manifest.json`` lists each image: its config file, its names (RepoTags) and its
layers. The image ID is the sha256 of the config file, and each layer's sha256 is the config's
``rootfs.diff_ids`` entry for it; :func:`read_archive` checks both, so an archive that was cut
short or altered on its way between hosts is refused before the engine sees it. Docker's own
``docker save`` (``<id>.json``, ``<layer>/layer.tar``) and the OCI layout of Docker 25 and newer
(``blobs/sha256/<digest>``) are both read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import hashlib
import json
import os
import re
import tarfile
import tempfile
import zlib
from urllib.parse import urlencode

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import ReportedError
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    ImageReferenceError,
    parse_reference,
)

_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
_LOADED = re.compile(r"Loaded image(?: ID)?: (\S+)")
_CHUNK = 1 << 20
LOAD_TIMEOUT = 3600


class ArchiveError(ReportedError):
    """An archive that cannot be read, or that does not hold what it says; the message names the file."""


# --------------------------------------------------------------------------
# Names (pure)
# --------------------------------------------------------------------------

def image_name(value, option):
    """``(local name, shown name)`` of an image given by reference or by ID (``sha256:<64 hex>``)."""
    text = value if isinstance(value, str) else ""
    if _IMAGE_ID.fullmatch(text):
        return text, text
    try:
        ref = parse_reference(value)
    except ImageReferenceError as exc:
        raise ArchiveError("%s: %s" % (option, exc)) from None
    if ref.digest:
        raise ArchiveError("%s: %s is pinned by digest; an archive keeps names by tag, so give a tag or the image "
                           "ID (sha256:...)" % (option, value))
    return ref.local, ref.familiar


def tag_key(name):
    """A RepoTag as compared: the normalised reference (``busybox:latest`` -> ``docker.io/library/busybox:latest``)."""
    try:
        return parse_reference(name).local
    except ImageReferenceError:
        return name


# --------------------------------------------------------------------------
# Reading an archive (checked by digest)
# --------------------------------------------------------------------------

def _member(archive, name, path):
    try:
        member = archive.getmember(name)
    except KeyError:
        raise ArchiveError("%s is not a complete image archive: manifest.json names %s, which it does not hold"
                           % (path, name)) from None
    handle = archive.extractfile(member)
    if handle is None:
        raise ArchiveError("%s: %s is not a file in the archive" % (path, name))
    return handle


def _sha256(handle):
    digest = hashlib.sha256()
    first = handle.read(_CHUNK)
    compressed = first[:2] == b"\x1f\x8b"
    while first:
        digest.update(first)
        first = handle.read(_CHUNK)
    return "sha256:" + digest.hexdigest(), compressed


def _uncompressed_sha256(archive, name, path):
    with gzip.GzipFile(fileobj=_member(archive, name, path)) as handle:
        return _sha256(handle)[0]


def parse_manifest(data, path):
    """manifest.json's entries: ``[{"config", "repo_tags", "layers"}]``; raises ArchiveError."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeError, ValueError):
        raise ArchiveError("%s: manifest.json is not JSON; the file is not an image archive (docker save)"
                           % path) from None
    if not isinstance(manifest, list) or not manifest:
        raise ArchiveError("%s: manifest.json lists no images" % path)
    entries = []
    for item in manifest:
        if not isinstance(item, dict) or not isinstance(item.get("Config"), str) \
                or not isinstance(item.get("Layers") or [], list):
            raise ArchiveError("%s: manifest.json has an entry without Config and Layers" % path)
        tags = [tag for tag in item.get("RepoTags") or [] if isinstance(tag, str)]
        entries.append({"config": item["Config"], "repo_tags": tags,
                        "layers": [str(layer) for layer in item.get("Layers") or []]})
    return entries


def read_archive(path, verify_layers=True):
    """The images of the archive at ``path``: ``[{"id", "repo_tags"}]``, each checked by digest.

    The config file's sha256 is the image ID; with ``verify_layers`` each layer's sha256 must equal
    its ``rootfs.diff_ids`` entry. Raises ArchiveError naming the file and what does not match.
    """
    try:
        archive = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise ArchiveError("%s does not exist on the host" % path) from None
    except (tarfile.TarError, OSError) as exc:
        raise ArchiveError("%s is not a tar archive (docker save): %s" % (path, exc)) from None
    images = []
    try:
        with archive:
            entries = parse_manifest(_member(archive, "manifest.json", path).read(), path)
            for entry in entries:
                config_data = _member(archive, entry["config"], path).read()
                image_id = "sha256:" + hashlib.sha256(config_data).hexdigest()
                declared = entry["config"].replace("blobs/sha256/", "").replace(".json", "")
                if re.fullmatch(r"[0-9a-f]{64}", declared) and "sha256:" + declared != image_id:
                    raise ArchiveError("%s is damaged: the config %s hashes to %s" % (path, entry["config"], image_id))
                if verify_layers:
                    check_layers(archive, entry, config_data, path)
                images.append({"id": image_id, "repo_tags": entry["repo_tags"]})
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError("%s cannot be read to the end (cut short?): %s" % (path, exc)) from None
    return images


def check_layers(archive, entry, config_data, path):
    try:
        diff_ids = json.loads(config_data.decode("utf-8"))["rootfs"]["diff_ids"]
    except (UnicodeError, ValueError, KeyError, TypeError):
        raise ArchiveError("%s: the config %s has no rootfs.diff_ids" % (path, entry["config"])) from None
    if len(diff_ids) != len(entry["layers"]):
        raise ArchiveError("%s is damaged: the image %s has %d layers but its config lists %d"
                           % (path, entry["config"], len(entry["layers"]), len(diff_ids)))
    for layer, wanted in zip(entry["layers"], diff_ids):
        found, compressed = _sha256(_member(archive, layer, path))
        if found != wanted and compressed:
            found = _uncompressed_sha256(archive, layer, path)
        if found != wanted:
            raise ArchiveError("%s is damaged: the layer %s hashes to %s, its image's config says %s"
                               % (path, layer, found, wanted))


def archive_matches(images, wanted):
    """Whether an archive's images (``read_archive``) are exactly ``wanted``: ``{id: set of tag keys}``."""
    held = {}
    for image in images:
        held.setdefault(image["id"], set()).update(tag_key(tag) for tag in image["repo_tags"])
    return held == {image_id: set(tags) for image_id, tags in wanted.items()}


# --------------------------------------------------------------------------
# Saving and loading (edges)
# --------------------------------------------------------------------------

def save_query(names):
    """The query of GET /images/get for several names (``names=a&names=b``)."""
    return "/images/get?" + urlencode([("names", name) for name in names])


def save_archive(client, names, path, wanted):
    """Save ``names`` into a temporary file beside ``path``, check it against ``wanted``, then move it in place.

    ``path`` is never left half written: a failure removes the temporary file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ArchiveError("path %s: the directory %s does not exist on the host; create it first" % (path, directory))
    try:
        fd, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".part", dir=directory)
    except OSError as exc:
        raise ArchiveError("path %s: cannot write in %s: %s" % (path, directory, exc.strerror or exc)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            client.download(save_query(names), handle, timeout=LOAD_TIMEOUT)
            handle.flush()
            os.fsync(handle.fileno())
        saved = read_archive(temporary)
        if not archive_matches(saved, wanted):
            raise ArchiveError("the engine saved other images than asked into %s: %s, wanted %s"
                               % (path, describe(saved), describe_wanted(wanted)))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise ArchiveError("path %s: cannot write the archive: %s" % (path, exc.strerror or exc)) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return saved


def describe(images):
    return ", ".join("%s (%s)" % (image["id"][:19], ", ".join(image["repo_tags"]) or "no name") for image in images)


def describe_wanted(wanted):
    return ", ".join("%s (%s)" % (image_id[:19], ", ".join(sorted(tags)) or "no name")
                     for image_id, tags in sorted(wanted.items()))


def present_state(client, images):
    """Which of an archive's images the engine already holds: ``(missing IDs, tags pointing elsewhere)``."""
    missing, moved = [], []
    for image in images:
        found = client.inspect("image", image["id"])
        if found is None:
            missing.append(image["id"])
            continue
        for tag in image["repo_tags"]:
            holder = client.inspect("image", tag_key(tag))
            if holder is None or holder.get("Id") != image["id"]:
                moved.append(tag)
    return missing, moved


def load_archive(client, path):
    """POST /images/load with the archive; returns the names the engine reported loading."""
    loaded = []
    try:
        with open(path, "rb") as handle:
            for obj in client.stream("POST", "/images/load", params={"quiet": True}, body=handle,
                                     timeout=LOAD_TIMEOUT, headers={"Content-Type": "application/x-tar"}):
                text = obj.get("stream") if isinstance(obj, dict) else None
                for line in (text or "").splitlines():
                    match = _LOADED.search(line)
                    if match:
                        loaded.append(match.group(1))
    except OSError as exc:
        raise ArchiveError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    except EngineError as exc:
        if exc.kind not in ("stream", "http"):
            raise
        raise ArchiveError("the engine refused to load %s: %s" % (path, exc.daemon_message or exc)) from None
    return loaded
