#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image_export
short_description: Save one or more images into a tar archive on the host (docker save), verified by digest
version_added: 0.1.0
description:
  - Saves the images of O(names) into one archive at O(path) through C(GET /images/get), as C(docker save) does,
    so that M(dockhand.runtime.image_load) can load them on hosts without a registry.
  - The archive is written beside O(path) first and moved in place only after it was read back and checked by
    digest. Each image's config hashes to its image ID and each layer to the config's C(rootfs.diff_ids) entry,
    and the archive holds exactly the images and names asked for. A failure leaves O(path) as it was.
  - Idempotent. When O(path) already holds exactly these image IDs under these names, nothing is written.
  - Like M(community.docker.docker_image_export), so a task moves over by changing its module name.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Reads the images and the existing archive, writes nothing, and reports whether it would write.
  diff_mode:
    support: full
    description: Shows the image IDs and names the archive holds before and after.
options:
  names:
    description:
      - The images to save, by tag (V(busybox:1.36), V(registry.example.com/team/app:2.1)) or by ID
        (V(sha256:<64 hex digits>)). Without a tag the tag is V(latest).
      - An image saved by ID gets no name in the archive; one pinned by digest cannot be saved by that name
        (give its tag or ID).
    type: list
    elements: str
    required: true
    aliases: [name]
  path:
    description:
      - The archive's path on the host. Its directory must exist.
    type: path
    required: true
  force:
    description:
      - Write the archive even when it already holds these images.
    type: bool
    default: false
notes:
  - To move the archive to the controller, use M(ansible.builtin.fetch); to other hosts, M(ansible.builtin.copy);
    see C(playbooks/sideload_images.yml).
  - The archive is created with mode 0644.
  - The check by image ID assumes Docker's own image store, where an image's ID is its config's digest (Docker
    20.10 to 28 by default). With the containerd image store, an image's ID is its manifest's digest, and the
    check fails with a message saying which images differ; this path has not run here.
seealso:
  - module: dockhand.runtime.image_load
  - module: dockhand.runtime.image
"""

EXAMPLES = r"""
- name: Save two images into one archive
  dockhand.runtime.image_export:
    names:
      - busybox:1.36
      - registry.example.com/team/app:2.1
    path: /var/tmp/images.tar
  register: saved

- name: Bring it to the controller
  ansible.builtin.fetch:
    src: /var/tmp/images.tar
    dest: artifacts/images.tar
    flat: true
"""

RETURN = r"""
path:
  description: The archive's path.
  returned: always
  type: str
  sample: /var/tmp/images.tar
images:
  description: The images the archive holds afterwards (in check mode, would hold), with their names.
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
written:
  description: Whether the archive was written (in check mode, would be).
  returned: always
  type: bool
  sample: true
"""

import os

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import engine_module, make_client
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_archive import (
    ArchiveError,
    archive_matches,
    image_name,
    read_archive,
    save_archive,
)


def wanted_images(client, names):
    """``({id: set of tag keys}, [{"id", "repo_tags"}], [local names])`` of the names; fails on a missing one."""
    wanted, shown, local = {}, {}, []
    for given in names:
        name, familiar = image_name(given, "names")
        image = client.inspect("image", name)
        if image is None:
            raise ArchiveError("names: image %s is not on the host; pull, build or load it first" % given)
        tags = wanted.setdefault(image["Id"], set())
        shown.setdefault(image["Id"], [])
        if name != image["Id"] and not name.startswith("sha256:"):
            tags.add(name)
            shown[image["Id"]].append(familiar)
        local.append(name)
    images = [{"id": image_id, "repo_tags": sorted(tags)} for image_id, tags in sorted(shown.items())]
    return wanted, images, local


def existing(path):
    """The images an existing archive holds, or None when there is none or it cannot be read."""
    if not os.path.exists(path):
        return None
    try:
        return read_archive(path)
    except ArchiveError:
        return None


def export(module):
    params = module.params
    names, path = params["names"], params["path"]
    if not names:
        raise ArchiveError("names is empty; give at least one image, such as busybox:1.36")
    if os.path.isdir(path):
        raise ArchiveError("path %s is a directory; give the archive's file name, such as %s"
                           % (path, os.path.join(path, "images.tar")))
    for given in names:
        image_name(given, "names")  # every name checked before the engine is asked anything
    client = make_client(params)
    try:
        wanted, images, local = wanted_images(client, names)
        before = existing(path)
        result = {"changed": False, "path": path, "images": images, "written": False}
        if before is not None and archive_matches(before, wanted) and not params["force"]:
            return finish(module, result, before, before)
        result["changed"] = result["written"] = True
        if module.check_mode:
            return finish(module, result, before, images)
        saved = save_archive(client, local, path, wanted)
    finally:
        client.close()
    result["images"] = saved
    return finish(module, result, before, saved)


def finish(module, result, before, after):
    if module._diff:
        result["diff"] = {"before": {"path": result["path"], "images": before or []},
                          "after": {"path": result["path"], "images": after or []}}
    return result


def main():
    module = engine_module({
        "names": {"type": "list", "elements": "str", "required": True, "aliases": ["name"]},
        "path": {"type": "path", "required": True},
        "force": {"type": "bool", "default": False},
    })
    run_module(module, export)


if __name__ == "__main__":
    main()
