"""A two-platform image index (linux/amd64 and linux/arm64/v8) pushed to a lab registry over HTTP.

Each platform's image is one small layer holding /platform.txt, made here byte for byte (no timestamps), so the
digests are the same on every run. Nothing in it runs: it is for pulls and created (never started) containers.
"""

import gzip
import hashlib
import io
import json
import tarfile
import urllib.parse
import urllib.request

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
PLATFORMS = (("linux", "amd64", None), ("linux", "arm64", "v8"))


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def request(url, method="GET", data=None, headers=None):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the lab's registry, on loopback
    with opener.open(urllib.request.Request(url, data=data, headers=headers or {}, method=method), timeout=30) as got:
        return dict(got.headers)


def push_blob(base, repository, blob):
    headers = request("%s/v2/%s/blobs/uploads/" % (base, repository), method="POST", data=b"")
    location = urllib.parse.urljoin(base + "/", headers["Location"])
    location += ("&" if "?" in location else "?") + urllib.parse.urlencode({"digest": digest_of(blob)})
    request(location, method="PUT", data=blob, headers={"Content-Type": "application/octet-stream"})


def platform_image(os_name, arch, variant):
    """(layer, config, manifest) bytes of one platform's image."""
    name = "/".join(part for part in (os_name, arch, variant) if part)
    text = ("dockhand test image for %s\n" % name).encode()
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("platform.txt")
        info.size, info.mode, info.mtime = len(text), 0o755, 0
        tar.addfile(info, io.BytesIO(text))
    layer = gzip.compress(tar_bytes.getvalue(), mtime=0)
    config = {"architecture": arch, "os": os_name, "config": {"Cmd": ["/platform.txt"]},
              "rootfs": {"type": "layers", "diff_ids": [digest_of(tar_bytes.getvalue())]}}
    if variant:
        config["variant"] = variant
    config = json.dumps(config, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_V2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": digest_of(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": digest_of(layer)}],
    }, sort_keys=True).encode()
    return layer, config, manifest


def push_index(base, repository, tag):
    """Push the index as repository:tag to the registry at ``base`` (http://host:port).

    Returns {"linux/amd64": image ID, "linux/arm64": image ID, "index": the index's digest}; an image ID is
    its config's digest, as the engine names a pulled image.
    """
    found, entries = {}, []
    for os_name, arch, variant in PLATFORMS:
        layer, config, manifest = platform_image(os_name, arch, variant)
        push_blob(base, repository, layer)
        push_blob(base, repository, config)
        request("%s/v2/%s/manifests/%s" % (base, repository, digest_of(manifest)), method="PUT", data=manifest,
                headers={"Content-Type": MANIFEST_V2})
        platform = {"os": os_name, "architecture": arch}
        if variant:
            platform["variant"] = variant
        entries.append({"mediaType": MANIFEST_V2, "size": len(manifest), "digest": digest_of(manifest),
                        "platform": platform})
        found["%s/%s" % (os_name, arch)] = digest_of(config)
    index = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_LIST, "manifests": entries},
                       sort_keys=True).encode()
    request("%s/v2/%s/manifests/%s" % (base, repository, tag), method="PUT", data=index,
            headers={"Content-Type": MANIFEST_LIST})
    found["index"] = digest_of(index)
    return found
