#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: prune
short_description: Reclaim disk by removing unused containers, images, networks, volumes and build cache
version_added: 0.2.0
description:
  - Runs the engine's prune for each kind asked for (C(docker container prune), C(image prune), C(network prune),
    C(volume prune), C(builder prune)), with the engine's own filters, and returns what was removed and the space
    reclaimed.
  - Options and return values keep the names of community.docker's C(docker_prune), so a task moves over by
    changing its module name.
  - B(Keep objects) with the engine's C(label!) filter. For example, a C(label!) key of V(com.example.keep) in
    O(containers_filters) keeps every container that has the label C(com.example.keep). With several C(label!)
    values the engine keeps only objects carrying all of them.
  - Filter keys the engine does not take for a kind are refused before anything is removed.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description:
      - Lists what would be removed, found by applying the engine's rules and the same filters to its listings;
        removes nothing. Space figures are then estimates (see RV(containers_space_reclaimed)).
  diff_mode:
    support: none
    description: The lists of what was removed are the change.
options:
  containers:
    description: Remove stopped containers (not running, paused or restarting).
    type: bool
    default: false
  containers_filters:
    description:
      - Filters selecting the containers to remove, each a value or a list of values.
      - V(until) (a duration such as V(24h), a date such as V(2026-01-31T00:00:00Z) or a Unix time; created before),
        V(label) (V(KEY) or V(KEY=VALUE); all must match), V(label!) (objects carrying them are kept).
    type: dict
  images:
    description:
      - Remove images no container uses; only untagged (dangling) ones unless O(images_filters) sets
        V(dangling=false).
    type: bool
    default: false
  images_filters:
    description:
      - Filters selecting the images to remove, each a value or a list of values.
      - V(dangling) (V(true), the default, for untagged images only; V(false) for every unused image),
        V(until), V(label), V(label!) as for O(containers_filters).
    type: dict
  networks:
    description: Remove networks no running container is attached to (the engine's own networks stay).
    type: bool
    default: false
  networks_filters:
    description: Filters selecting the networks to remove, V(until), V(label), V(label!) as for O(containers_filters).
    type: dict
  volumes:
    description:
      - Remove volumes no container (running or stopped) uses. B(Their data is lost.)
      - Engines with API 1.42 (Docker 23) or newer remove only anonymous volumes unless O(volumes_filters) sets
        V(all=true).
    type: bool
    default: false
  volumes_filters:
    description:
      - Filters selecting the volumes to remove, V(label), V(label!) as for O(containers_filters), and V(all)
        (API 1.42 or newer; named volumes too).
    type: dict
  builder_cache:
    description: Remove build cache records no build uses.
    type: bool
    default: false
  builder_cache_all:
    description: Remove all unused build cache, not only the dangling records.
    type: bool
    default: false
  builder_cache_filters:
    description:
      - Filters selecting the build cache records, V(until), V(id), V(parent), V(type), V(description), V(inuse),
        V(shared), V(private). Build cache has no labels.
    type: dict
  builder_cache_keep_storage:
    description: Space the build cache may keep, such as V(5g) or V(512m) (binary units).
    type: str
notes:
  - Objects created by other tools are removed too when they match; use C(label!) filters to protect them, and
    run the task in check mode first to see the list.
seealso:
  - module: dockhand.runtime.engine_info
"""

EXAMPLES = r"""
- name: See what a cleanup would remove
  dockhand.runtime.prune:
    containers: true
    images: true
    images_filters:
      dangling: false
      until: 168h
  check_mode: true
  register: would_go

- name: Remove stopped containers older than a day, keeping those labelled keep
  dockhand.runtime.prune:
    containers: true
    containers_filters:
      until: 24h
      "label!": com.example.keep

- name: Remove every unused image and network, and the build cache
  dockhand.runtime.prune:
    images: true
    images_filters:
      dangling: false
    networks: true
    builder_cache: true
    builder_cache_all: true

- name: Remove unused volumes of a finished project (named ones too)
  dockhand.runtime.prune:
    volumes: true
    volumes_filters:
      label: com.example.project=demo
      all: true
"""

RETURN = r"""
containers:
  description: IDs of the containers removed (in check mode, that would be removed).
  returned: O(containers=true)
  type: list
  elements: str
  sample: ["0c5b6f0a8a7d3e14b1d2c9a4f6e7d8c9b0a1f2e3d4c5b6a7980f1e2d3c4b5a69"]
containers_space_reclaimed:
  description: Bytes reclaimed from containers; in check mode the writable layers' sizes of those that would go.
  returned: O(containers=true)
  type: int
  sample: 1024
images:
  description: IDs of the images removed (in check mode, that would be removed).
  returned: O(images=true)
  type: list
  elements: str
  sample: ["sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741"]
images_untagged:
  description: The references (tags and digests) removed with the images; not returned in check mode.
  returned: O(images=true) and not in check mode
  type: list
  elements: str
  sample: ["app:old"]
images_space_reclaimed:
  description:
    - Bytes reclaimed from images.
    - In check mode the sizes of the images that would go, shared layers counted with each image.
  returned: O(images=true)
  type: int
  sample: 2048000
networks:
  description: Names of the networks removed (in check mode, that would be removed).
  returned: O(networks=true)
  type: list
  elements: str
  sample: ["old-project_default"]
volumes:
  description: Names of the volumes removed (in check mode, that would be removed).
  returned: O(volumes=true)
  type: list
  elements: str
  sample: ["old-project_data"]
volumes_space_reclaimed:
  description: Bytes reclaimed from volumes; 0 in check mode (the engine measures a volume only when it removes it).
  returned: O(volumes=true)
  type: int
  sample: 0
builder_cache_caches_deleted:
  description: IDs of the build cache records removed (in check mode, the unused records the filters select).
  returned: O(builder_cache=true)
  type: list
  elements: str
  sample: ["ylx2pr5ejnwtyq6gw8dpkl4eb"]
builder_cache_space_reclaimed:
  description: Bytes reclaimed from the build cache; in check mode the size of the records listed.
  returned: O(builder_cache=true)
  type: int
  sample: 0
would_remove:
  description: In check mode, per kind, what would be removed with names and tags, for people to read.
  returned: in check mode
  type: dict
  sample: {"containers": [{"id": "0c5b6f0a8a7d", "name": "old-job", "size": 1024}]}
"""

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError, run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.prune import (
    KIND_ORDER,
    normalize_filters,
    plan,
    prune,
    shape_answer,
    shape_plan,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.units import UnitError, parse_size

# kind -> the result keys of its list and of its space, as community.docker's docker_prune names them
RESULT_KEYS = {"containers": ("containers", "containers_space_reclaimed"),
               "images": ("images", "images_space_reclaimed"),
               "networks": ("networks", None),
               "volumes": ("volumes", "volumes_space_reclaimed"),
               "builder_cache": ("builder_cache_caches_deleted", "builder_cache_space_reclaimed")}


def checked_options(params):
    """kind -> its engine filters, for the kinds asked for; everything is checked before anything is removed."""
    kinds = {}
    for kind in KIND_ORDER:
        filters = normalize_filters(kind, params["%s_filters" % kind])
        if params[kind]:
            kinds[kind] = filters
        elif params["%s_filters" % kind]:
            raise OptionError("%s_filters is set but %s is not true; set %s: true to prune them, or drop the filters"
                              % (kind, kind, kind))
    keep = params["builder_cache_keep_storage"]
    if keep is not None:
        try:
            keep = parse_size(keep)
        except UnitError as exc:
            raise OptionError("builder_cache_keep_storage: %s" % exc) from None
    return kinds, keep


def run(module):
    params = module.params
    kinds, keep_storage = checked_options(params)
    result = {"changed": False}
    if module.check_mode:
        result["would_remove"] = {}
    client = make_client(params)
    going = set()  # check mode: the containers this task removes first (their images are then unused)
    try:
        for kind, filters in kinds.items():
            list_key, space_key = RESULT_KEYS[kind]
            if module.check_mode:
                planned = plan(client, kind, filters, params["builder_cache_all"], going=going)
                if kind == "containers":
                    going.update(item["id"] for item in planned)
                removed, details = shape_plan(kind, planned)
                space = sum(item.get("size") or 0 for item in planned)
                result["would_remove"][kind] = details
                extra = {}
            else:
                answer = prune(client, kind, filters, params["builder_cache_all"], keep_storage)
                removed, space, extra = shape_answer(kind, answer)
            result[list_key] = removed
            if space_key:
                result[space_key] = space
            result.update(extra)
            result["changed"] = result["changed"] or bool(removed) or bool(space and not module.check_mode)
    finally:
        client.close()
    return result


def main():
    spec = {}
    for kind in ("containers", "images", "networks", "volumes", "builder_cache"):
        spec[kind] = {"type": "bool", "default": False}
        spec["%s_filters" % kind] = {"type": "dict"}
    spec["builder_cache_all"] = {"type": "bool", "default": False}
    spec["builder_cache_keep_storage"] = {"type": "str"}
    module = engine_module(spec)
    run_module(module, run)


if __name__ == "__main__":
    main()
