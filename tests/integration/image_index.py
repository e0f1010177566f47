"""A two-platform image index (linux/amd64 and linux/arm64/v8) pushed to a lab registry over HTTP.

Each platform's image is one small layer holding /platform.txt, made by the lab's image_bytes (the same digests on
every run). Nothing in it runs: it is for pulls and created (never started) containers.
"""

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from lab import MANIFEST_V2, http_get, image_bytes, push_blob  # noqa: E402 - the lab's registry helpers

MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
PLATFORMS = (("linux", "amd64", None), ("linux", "arm64", "v8"))


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_index(base, repository, tag):
    """Push the index as repository:tag to the registry at ``base`` (http://host:port).

    Returns {"linux/amd64": image ID, "linux/arm64": image ID, "index": the index's digest}; an image ID is
    its config's digest, as the engine names a pulled image.
    """
    found, entries = {}, []
    for os_name, arch, variant in PLATFORMS:
        platform = {"os": os_name, "architecture": arch}
        if variant:
            platform["variant"] = variant
        text = ("dockhand test image for %s\n" % "/".join(platform.values())).encode()
        layer, config, manifest = image_bytes([("platform.txt", text, 0o755)],
                                              dict(platform, config={"Cmd": ["/platform.txt"]}))
        push_blob(base, repository, layer)
        push_blob(base, repository, config)
        http_get("%s/v2/%s/manifests/%s" % (base, repository, digest_of(manifest)), method="PUT", data=manifest,
                 headers={"Content-Type": MANIFEST_V2}, timeout=30)
        entries.append({"mediaType": MANIFEST_V2, "size": len(manifest), "digest": digest_of(manifest),
                        "platform": platform})
        found["%s/%s" % (os_name, arch)] = digest_of(config)
    index = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_LIST, "manifests": entries},
                       sort_keys=True).encode()
    http_get("%s/v2/%s/manifests/%s" % (base, repository, tag), method="PUT", data=index,
             headers={"Content-Type": MANIFEST_LIST}, timeout=30)
    found["index"] = digest_of(index)
    return found
