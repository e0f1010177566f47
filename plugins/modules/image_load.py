#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image_load
short_description: Load images from a tar archive on the host (docker load), verified by digest
version_added: 0.1.0
description:
  - Loads the images of the archive at O(path) (as C(docker save) or M(dockhand.runtime.image_export) writes
    it) through C(POST /images/load).
  - Before loading, the archive is checked by digest. Each image's config must hash to the image ID its manifest
    names, and each layer to the config's C(rootfs.diff_ids) entry, so an archive that was cut short or altered
    on its way is refused before the engine sees it.
  - After loading, each image ID of the archive must be on the host, and each of its names must point to it.
  - Idempotent. When every image ID of the archive is on the host already and every name points to it, nothing is
    loaded.
  - Like M(community.docker.docker_image_load), so a task moves over by changing its module name.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Reads and checks the archive, loads nothing, and reports whether it would load.
  diff_mode:
    support: full
    description: Shows which of the archive's images and names the host held before and after.
options:
  path:
    description:
      - The archive's path on the host (an uncompressed tar).
      - An archive on the controller is copied to the host first with M(ansible.builtin.copy); see the examples
        and C(playbooks/sideload_images.yml).
    type: path
    required: true
notes:
  - The image ID is the digest of the image's config, as in Docker's own image store. With the containerd image
    store (where the ID is the manifest's digest) the check after the load fails with a message; that path has
    not run here.
seealso:
  - module: dockhand.runtime.image_export
  - module: dockhand.runtime.image_info
"""

EXAMPLES = r"""
- name: Copy an archive from the controller (nothing is sent when the host has the same file)
  ansible.builtin.copy:
    src: artifacts/images.tar
    dest: /var/tmp/images.tar
    mode: "0644"

- name: Load it
  dockhand.runtime.image_load:
    path: /var/tmp/images.tar
  register: loaded

- name: The loaded names
  ansible.builtin.debug:
    msg: "{{ loaded.image_names }}"
"""

RETURN = r"""
image_names:
  description: The names (or, for an image without a name, the IDs) the archive holds.
  returned: always
  type: list
  elements: str
  sample: ["busybox:1.36"]
archive:
  description: The archive's images, each checked by digest.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The image ID (the sha256 of its config).
      type: str
      sample: sha256:079e7c5d5915a25ff43e272344ca4065f185e87e28e32e441b8592c54fa41978
    repo_tags:
      description: Its names in the archive.
      type: list
      elements: str
      sample: ["busybox:1.36"]
  sample: [{"id": "sha256:079e7c5d5915a25ff43e272344ca4065f185e87e28e32e441b8592c54fa41978",
            "repo_tags": ["busybox:1.36"]}]
images:
  description: The engine's inspect data of each image of the archive after the load (empty in check mode when a
    load was due).
  returned: always
  type: list
  elements: dict
  sample: [{"Id": "sha256:079e7c5d5915a25ff43e272344ca4065f185e87e28e32e441b8592c54fa41978",
            "RepoTags": ["busybox:1.36"]}]
loaded:
  description: Whether the archive was loaded (in check mode, would be).
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import engine_module, make_client
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_archive import (
    ArchiveError,
    load_archive,
    present_state,
    read_archive,
)


def state_view(archive, missing, moved):
    """What the host holds of the archive, for diffs."""
    return {"missing_ids": sorted(missing), "names_elsewhere": sorted(moved),
            "ids": sorted(image["id"] for image in archive)}


def load(module):
    path = module.params["path"]
    archive = read_archive(path)
    names = [tag for image in archive for tag in image["repo_tags"]] or [image["id"] for image in archive]
    result = {"changed": False, "image_names": names, "archive": archive, "images": [], "loaded": False}
    client = make_client(module.params)
    try:
        missing, moved = present_state(client, archive)
        before = state_view(archive, missing, moved)
        if missing or moved:
            result["changed"] = result["loaded"] = True
            if module.check_mode:
                return finish(module, result, before, state_view(archive, [], []))
            load_archive(client, path)
            still_missing, still_moved = present_state(client, archive)
            if still_missing or still_moved:
                raise ArchiveError("the engine loaded %s, but %s; the archive's images were not loaded as they are"
                                   % (path, describe_gaps(still_missing, still_moved)))
        result["images"] = [client.inspect("image", image["id"]) for image in archive]
    finally:
        client.close()
    return finish(module, result, before, state_view(archive, [], []))


def describe_gaps(missing, moved):
    parts = []
    if missing:
        parts.append("the host has no image %s" % ", ".join(missing))
    if moved:
        parts.append("%s point to other images" % ", ".join(moved))
    return " and ".join(parts)


def finish(module, result, before, after):
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    module = engine_module({"path": {"type": "path", "required": True}})
    run_module(module, load)


if __name__ == "__main__":
    main()
