#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image_info
short_description: Inspect images on the host by name or ID
version_added: 0.1.0
description:
  - Returns the engine's inspect data (C(GET /images/{name}/json)) for each image of O(name), one request each.
  - A name the host does not hold is listed in RV(missing); that is not a failure.
  - Without O(name), returns every image on the host (C(GET /images/json), then an inspect of each).
  - Reads only; never changes anything. Like M(community.docker.docker_image_info), so a task moves over by
    changing its module name.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Runs in check mode as in normal mode; it only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
options:
  name:
    description:
      - Image references (V(busybox:1.36), V(registry.example.com/app@sha256:<digest>)) or image IDs
        (V(sha256:<64 hex digits>)). Without a tag or digest the tag is V(latest).
      - Omit it to list every image on the host.
    type: list
    elements: str
notes:
  - An image is looked up by the exact reference; a name that matches only the start of an ID is not a match.
seealso:
  - module: dockhand.runtime.image
"""

EXAMPLES = r"""
- name: Look at two images
  dockhand.runtime.image_info:
    name:
      - busybox:1.36
      - registry.example.com/team/app:2.1
  register: found

- name: Fail when one is missing
  ansible.builtin.assert:
    that: found.missing | length == 0
    fail_msg: "not on the host: {{ found.missing | join(', ') }}"

- name: The ID of the first
  ansible.builtin.debug:
    msg: "{{ found.images[0].Id }}"
"""

RETURN = r"""
images:
  description:
    - The inspect data of each image found, in the order of O(name), as C(docker image inspect) shows it.
  returned: always
  type: list
  elements: dict
  sample: [{"Id": "sha256:079e7c5d5915a25ff43e272344ca4065f185e87e28e32e441b8592c54fa41978",
            "RepoTags": ["busybox:1.36"], "RepoDigests": [], "Config": {"Labels": null}}]
missing:
  description: The names of O(name) the host does not hold, as given.
  returned: always
  type: list
  elements: str
  sample: ["registry.example.com/team/app:2.1"]
"""

import re

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import engine_module, make_client
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import ReportedError, run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    ImageReferenceError,
    parse_reference,
)

_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{64}")


class ImageNameError(ReportedError):
    pass


def lookup_name(value):
    """The name the engine is asked for: an ID as it is, a reference normalised; raises ImageNameError."""
    if isinstance(value, str) and _IMAGE_ID.fullmatch(value):
        return value if value.startswith("sha256:") else "sha256:" + value
    try:
        return parse_reference(value).local
    except ImageReferenceError as exc:
        raise ImageNameError("name: %s" % exc) from None


def gather(module):
    names = module.params["name"]
    lookups = [lookup_name(value) for value in names or []]  # every name checked before anything is asked
    client = make_client(module.params)
    images, missing = [], []
    try:
        if names is None:
            listed = client.get("/images/json") or []
            lookups = [item["Id"] for item in listed if item.get("Id")]
            names = lookups
        for given, lookup in zip(names, lookups):
            found = client.inspect("image", lookup)
            if found is None:
                missing.append(given)
            else:
                images.append(found)
    finally:
        client.close()
    return {"changed": False, "images": images, "missing": missing}


def main():
    module = engine_module({"name": {"type": "list", "elements": "str"}})
    run_module(module, gather)


if __name__ == "__main__":
    main()
