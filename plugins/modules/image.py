#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image
short_description: Pull, build, tag or push an image through the engine, or remove it
version_added: 0.1.0
description:
  - Makes sure an image is present on the host (pulled through the engine, so the engine's
    registry mirrors and insecure registries apply, or built from a context with O(source=build)) or absent.
  - Gives it another name (O(repository)) and pushes it (O(push)), verified by digest.
  - Judges presence by the local image store, one inspect; with O(pull=missing) a present image
    costs no registry request at all.
  - With O(pull=always) the image is pulled on every run, and the task reports a change only when
    the image the name points to changed (a new image ID, or the name was not there before).
  - Uses the credentials that M(dockhand.runtime.registry_login) (or C(docker login)) stored for
    the image's registry in the Docker config file, and sends them to the engine with the pull.
  - A failed pull names the image and says why in words (no such image or tag, access denied, the
    registry cannot be reached) and what to change.
  - An image of a registry other than Docker Hub is pulled through the mirrors that Docker's rewrite
    table (O(mirrors_table), written by M(dockhand.runtime.registry_mirrors) with C(runtime=docker)) lists
    for its registry, in order, then from the registry itself. The table is read only when a pull is due.
  - Through a mirror the image is pulled by digest, so the engine checks the content it gets against that
    digest. For a tag, the digest is the one the mirror serves for it. With the table's C(verify_digest)
    set to V(upstream), the registry itself is asked first, and a mirror that serves another digest is passed
    over with a warning that names both digests. A pinned digest is the task's own.
  - The image is then tagged with its canonical name (V(ghcr.io/org/app:1)) and the mirror's name is removed,
    so C(docker images) shows the canonical name and a rerun finds it. A pinned image (C(name@digest)) keeps
    the mirror's digest name (see RV(local_name)), since the engine holds a digest only under the name it was
    pulled by; a rerun finds it there.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
  - dockhand.runtime.engine.pulls
attributes:
  check_mode:
    support: full
    description:
      - Pulls and removes nothing. A pull that would happen is reported as a change; the registry
        is asked through the engine (C(GET /distribution/{name}/json)) whether the image exists
        and, with O(pull=always), whether it differs from the local one. An image of a registry in Docker's
        rewrite table is asked of its mirrors first. An image pulled through a mirror has no digest under its
        canonical name, so with O(pull=always) check mode reports that a pull would change it, and warns.
        With O(source=build) the context is read and hashed, and nothing is built; with O(push) the registry
        is asked which digest it serves.
  diff_mode:
    support: full
    description: Shows whether the image is present, its ID and RepoDigests, before and after.
options:
  name:
    description:
      - The image reference, as C(docker pull) takes it, for example V(busybox:1.36),
        V(registry.example.com:5000/team/app:2.1) or V(busybox@sha256:<digest>).
      - Without a tag or digest the tag is V(latest). Without a registry the image is on Docker Hub
        (C(docker.io), official images under C(library/)).
      - With both a tag and a digest the digest decides, as with C(docker pull); the tag is not
        set locally.
      - Messages name the option as the task wrote it (O(name) or its alias C(image)).
    type: str
    required: true
    aliases: [image]
  state:
    description:
      - V(present) pulls the image when needed (see O(pull)); V(absent) removes the name from the
        host (C(docker rmi)); the image itself goes when no other name points to it.
    type: str
    choices: [present, absent]
    default: present
  pull:
    description:
      - V(missing) pulls only when the name is not present locally.
      - V(always) pulls on every run and reports a change only when the image changed.
        A reference with a digest is never pulled again, since what a digest names cannot change.
    type: str
    choices: [missing, always]
    default: missing
  platform:
    description:
      - The platform to pull, V(os[/arch[/variant]]) such as V(linux/arm64), when the image is built for several
        (an image index). Without it the engine pulls its own platform.
      - With O(pull=missing), a local image of the name that is of another platform is pulled again, so the name
        then points to the image of this platform (the engine holds one image per name). A rerun changes
        nothing.
      - For O(source=pull) only; a build's platform is O(build.platform).
    type: str
    version_added: 0.2.0
  force:
    description:
      - With O(state=absent), remove the name even when a container uses the image
        (the container keeps running on the untagged image).
    type: bool
    default: false
  source:
    description:
      - Where the image comes from with O(state=present).
      - V(pull) pulls it (see O(pull)).
      - V(build) builds it from the context directory O(build.path) on the host through C(POST /build). The built
        image carries the label C(dockhand.build.hash), the sha256 of the context's content (after
        C(.dockerignore)) and of the build options; a rerun builds again only when that hash changed (or with
        O(force_source)).
      - V(local) uses the image the host holds and fails when there is none; nothing is pulled. Use it to tag or
        push a loaded image.
    type: str
    choices: [pull, build, local]
    default: pull
  build:
    description:
      - How to build the image, with O(source=build). Option names as in M(community.docker.docker_image).
    type: dict
    suboptions:
      path:
        description:
          - The build context, a directory on the host. Its C(.dockerignore) is honoured (C(*), C(?), C(**),
            character classes and C(!) exceptions; a pattern that matches a directory leaves out all inside it).
          - A context on the controller is copied to the host first with M(ansible.builtin.copy) (see the examples).
        type: path
        required: true
      dockerfile:
        description: The Dockerfile, a path inside O(build.path).
        type: str
        default: Dockerfile
      args:
        description: Build arguments (C(ARG)), name to value. Values are one line each.
        type: dict
        default: {}
      target:
        description: The stage of a multi-stage Dockerfile to build.
        type: str
      labels:
        description: Labels for the image. C(dockhand.build.hash) is the module's own and cannot be set.
        type: dict
        default: {}
      pull:
        description:
          - Ask the registry for a newer version of the C(FROM) images on every build.
          - The hash does not cover the C(FROM) images, so a newer base image alone does not start a build; use
            O(force_source) for that.
        type: bool
        default: false
      nocache:
        description: Build without the builder's cache.
        type: bool
        default: false
      network:
        description: The network of the C(RUN) steps, such as V(host), V(none) or a network's name.
        type: str
      platform:
        description: The platform to build for, such as V(linux/amd64).
        type: str
  force_source:
    description:
      - With O(source=build), build even when the image carries this build's hash already.
    type: bool
    default: false
  repository:
    description:
      - Give the image this name too (C(docker tag)), such as V(registry.example.com/team/app:1.0). Without a tag
        it takes the tag of O(name). A change only when the name pointed to another image, or to none.
      - With O(push), this is the name that is pushed.
    type: str
  push:
    description:
      - Push the image (under O(repository) when given, else O(name)) with the credentials that
        M(dockhand.runtime.registry_login) stored for its registry.
      - A push is due only when the registry does not already serve, under that tag, a manifest this engine recorded
        for the image; afterwards the digest the engine pushed must be the one the registry serves (see RV(push)).
    type: bool
    default: false
notes:
  - Credential helpers (C(credsStore), C(credHelpers)) are not run; only entries under C(auths) are used.
  - A build runs on the classic builder of the engine's API (C(POST /build)); BuildKit-only Dockerfile features
    (C(RUN --mount)) are not available.
  - A registry mirror set in the engine's C(daemon.json) applies to Docker Hub images only; other registries'
    mirrors come from O(mirrors_table).
seealso:
  - module: dockhand.runtime.registry_login
  - module: dockhand.runtime.registry_mirrors
"""

EXAMPLES = r"""
- name: Make sure an image is on the host (pulls only when missing)
  dockhand.runtime.image:
    name: busybox:1.36

- name: Follow a moving tag; changed only when the registry has a newer image
  dockhand.runtime.image:
    name: registry.example.com:5000/team/app:stable
    pull: always
  register: app_image

- name: Pin by digest
  dockhand.runtime.image:
    name: busybox@sha256:f9f3c0b4a19b2a3d2f084be935b3bbeb1bb9edd2906c3a950e52dd1f094f9e3f

- name: Pull a private image with the credentials registry_login stored
  block:
    - name: Log in
      dockhand.runtime.registry_login:
        registry: registry.example.com
        username: deploy
        password: "{{ vault_registry_password }}"
    - name: Pull
      dockhand.runtime.image:
        name: registry.example.com/private/app:1.0

- name: Pull a ghcr.io image through the mirrors registry_mirrors listed for ghcr.io (Docker)
  dockhand.runtime.image:
    name: ghcr.io/org/app:1
  register: app_image  # app_image.mirror.url names the mirror that served it

- name: Copy a build context from the controller to the host
  ansible.builtin.copy:
    src: app/
    dest: /srv/build/app/
    mode: preserve

- name: Build it; a rerun builds again only when the context or the options changed
  dockhand.runtime.image:
    name: app:1.0
    source: build
    build:
      path: /srv/build/app
      args:
        VERSION: "1.0"
      labels:
        org.opencontainers.image.source: https://git.example.com/app
  register: app_build  # app_build.build.output holds the builder's output

- name: Tag it for the registry and push it with the stored credentials
  dockhand.runtime.image:
    name: app:1.0
    source: local
    repository: registry.example.com:5000/team/app:1.0
    push: true
  register: pushed  # pushed.push.digest: the digest the registry serves

- name: Remove an image name
  dockhand.runtime.image:
    name: busybox:1.36
    state: absent
"""

RETURN = r"""
name:
  description: The reference, normalised as the engine stores it.
  returned: always
  type: str
  sample: docker.io/library/busybox:1.36
reference:
  description: The parts of the reference.
  returned: always
  type: dict
  contains:
    registry:
      description: Registry host, V(docker.io) for Docker Hub.
      type: str
      sample: docker.io
    repository:
      description: Repository path in the registry.
      type: str
      sample: library/busybox
    tag:
      description: Tag, or null when only a digest was given.
      type: str
      sample: "1.36"
    digest:
      description: Digest, or null.
      type: str
      sample: null
    name:
      description: Registry and repository.
      type: str
      sample: docker.io/library/busybox
    full:
      description: Everything, normalised.
      type: str
      sample: docker.io/library/busybox:1.36
    familiar:
      description: The short form the docker CLI shows.
      type: str
      sample: busybox:1.36
id:
  description: The image ID the name points to afterwards; null when absent (or not yet known in check mode).
  returned: always
  type: str
  sample: sha256:079e7c5d5915a25ff43e272344ca4065f185e87e28e32e441b8592c54fa41978
repo_tags:
  description: The image's names on the host.
  returned: always
  type: list
  elements: str
  sample: ["busybox:1.36", "busybox:latest"]
repo_digests:
  description: The image's digests in the registries it was pulled from.
  returned: always
  type: list
  elements: str
  sample: ["busybox@sha256:f9f3c0b4a19b2a3d2f084be935b3bbeb1bb9edd2906c3a950e52dd1f094f9e3f"]
local_name:
  description:
    - The name the engine holds the image under. It is RV(name) as the engine stores it, except for a pinned
      image (C(name@digest)) that a mirror of Docker's rewrite table served, which keeps the mirror's digest name.
  returned: always
  type: str
  sample: ghcr.io/org/app:1
mirror:
  description:
    - The mirror of Docker's rewrite table that served the image (in check mode, that would serve it),
      or null when the registry itself did (or nothing was pulled).
  returned: always
  type: dict
  contains:
    url:
      description: The mirror's URL, as the table lists it.
      type: str
      sample: https://ghcr.mirror.lan
    reference:
      description: What was pulled from the mirror, by digest.
      type: str
      sample: ghcr.mirror.lan/org/app@sha256:0e5c0f1a6d5b6e0e1f25e7b7d4b9e8b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a697
    digest:
      description: The manifest digest the engine checked the content against.
      type: str
      sample: sha256:0e5c0f1a6d5b6e0e1f25e7b7d4b9e8b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a697
    checked_against:
      description:
        - Where that digest came from. V(mirror) is the digest the mirror serves for the tag. V(upstream)
          means the registry itself serves the same digest. V(reference) is the digest the task pinned.
      type: str
      sample: mirror
    table:
      description: The rewrite table the mirror came from.
      type: str
      sample: /etc/dockhand/registry-mirrors.json
  sample: null
pulled:
  description: Whether the image was pulled (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
actions:
  description:
    - What changed (in check mode, what would change), V(pulled) (a new image or a new name on the host),
      V(built), V(tagged) (O(repository)), V(pushed) or V(removed).
    - A pull with O(pull=always) that brings nothing new is not listed.
  returned: always
  type: list
  elements: str
  sample: ["pulled"]
build:
  description: The build, with O(source=build).
  returned: with source=build
  type: dict
  contains:
    hash:
      description: The build's hash, as the label C(dockhand.build.hash) carries it.
      type: str
      sample: sha256:3b1f5c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c
    context_entries:
      description: How many files, directories and links the context sends (after C(.dockerignore)).
      type: int
      sample: 12
    output:
      description: The builder's output lines (empty when no build ran).
      type: list
      elements: str
      sample: ["Step 1/2 : FROM busybox:1.36", "Successfully built 0a1b2c3d4e5f"]
repository:
  description: The name O(repository) gave the image (normalised), or O(name) when only O(push) was set.
  returned: with repository or push
  type: str
  sample: registry.example.com:5000/team/app:1.0
tagged:
  description: The names the image was given, with O(repository) (in check mode, would be given).
  returned: when a name was set
  type: list
  elements: str
  sample: ["registry.example.com:5000/team/app:1.0"]
push:
  description: The push, with O(push).
  returned: with push
  type: dict
  contains:
    name:
      description: The name pushed.
      type: str
      sample: registry.example.com:5000/team/app:1.0
    digest:
      description:
        - The manifest digest the registry serves for the name afterwards (null in check mode when a push is due).
      type: str
      sample: sha256:0e5c0f1a6d5b6e0e1f25e7b7d4b9e8b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a697
    pushed:
      description: Whether a push ran (in check mode, would run); false when the registry held the image already.
      type: bool
      sample: true
untagged:
  description: Names removed, with O(state=absent).
  returned: when an image was removed
  type: list
  elements: str
  sample: ["busybox:1.36"]
deleted:
  description: Image layers and IDs deleted, with O(state=absent).
  returned: when an image was removed
  type: list
  elements: str
  sample: ["sha256:079e7c5d5915a25ff43e272344ca4065f185e87e28e32e441b8592c54fa41978"]
"""


from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError, object_path
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import protect
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.build_context import BuildContextError
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_build import (
    BUILD_SPEC,
    HASH_LABEL,
    BuildLog,
    build_params,
    plan_build,
    run_build,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_pull import (
    NETWORK_WORDS,
    Credentials,
    Pull,
    hub_mirrors,
    local_serves,
    remote_digest,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_push import (
    push,
    push_needed,
    served_digest,
    tag_image,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.platform import (
    image_is_of,
    normalise_platform,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    ImageRef,
    ImageReferenceError,
    knows_digest,
    parse_reference,
)


def view(image):
    """The part of an inspect that diffs and results show."""
    if image is None:
        return {"present": False, "id": None, "repo_digests": []}
    return {"present": True, "id": image.get("Id"), "repo_digests": sorted(image.get("RepoDigests") or [])}


def ensure_present(module, client, ref, result):
    before = client.inspect("image", ref.local)
    result["diff"]["before"] = view(before)
    platform = module.params["platform"]
    if local_serves(before, ref, module.params["pull"], platform):
        return before
    puller = Pull(module, client, ref, Credentials(module, ref), option=option_name(module), platform=platform)
    if before is None and ref.digest:
        kept = puller.local_copy()  # pinned, and served by a mirror of Docker's rewrite table before
        if kept is not None:
            result["diff"]["before"] = view(kept)
            result["local_name"] = puller.local_name
            return kept
    if module.check_mode:
        return predict_pull(module, client, ref, before, puller, result)

    result["pulled"] = True
    try:
        after = puller.pull()
    except EngineError as exc:
        module.fail_json(msg=puller.failure(exc, mirrors=hub_mirrors(client, ref)), engine_error=exc.to_dict(),
                         **result)
    result["mirror"] = puller.served
    result["local_name"] = puller.local_name
    if after is None:
        module.fail_json(msg="the engine reported a successful pull of %s (%s) but has no image under that "
                             "name afterwards" % (ref.familiar, option_name(module)), **result)
    if before is None or before.get("Id") != after.get("Id"):
        result["actions"].append("pulled")
    return after


def predict_pull(module, client, ref, before, puller, result):
    """Check mode: say whether a pull would happen and change anything, without pulling."""
    result["pulled"] = True
    digest = puller.predict(before)  # a mirror of Docker's rewrite table, when one would serve
    result["mirror"] = puller.served
    if digest is None:
        try:
            digest = remote_digest(client, ref, puller.credentials)
        except EngineError as exc:
            said = (exc.daemon_message or "").lower()
            if exc.kind == "http" and (exc.status in (401, 403, 404) or any(word in said for word in NETWORK_WORDS)):
                module.fail_json(msg=puller.failure(exc, check_mode=True, mirrors=hub_mirrors(client, ref)),
                                 engine_error=exc.to_dict(), **result)
            if exc.kind != "http":
                raise
            module.warn("could not ask the registry about %s in check mode (%s); reporting that a pull would "
                        "change it" % (ref.familiar, exc.daemon_message or exc))
            digest = None
    if (before is not None and digest and knows_digest(before.get("RepoDigests"), ref, digest)
            and image_is_of(before, puller.platform)):
        return before
    result["actions"].append("pulled")
    result["diff"]["after"] = {"present": True, "id": None,
                               "repo_digests": ["%s@%s" % (ref.name, digest)] if digest else []}
    return None


def image_users(client, image_id):
    """Names of the containers (running or not) created from the image."""
    try:
        listed = client.get("/containers/json", params={"all": True, "filters": {"ancestor": [image_id]}})
    except EngineError:
        return []
    return sorted(c["Names"][0].lstrip("/") for c in listed or [] if c.get("Names"))


def ensure_absent(module, client, ref, result):
    before = client.inspect("image", ref.local)
    local_name = ref.local
    if before is None and ref.digest:
        puller = Pull(module, client, ref, Credentials(module, ref), option=option_name(module))
        before = puller.local_copy()  # pinned, and served by a mirror of Docker's rewrite table
        local_name = result["local_name"] = puller.local_name
    result["diff"]["before"] = view(before)
    result["diff"]["after"] = view(None)
    if before is None:
        return
    result["actions"].append("removed")
    if module.check_mode:
        return
    try:
        answer = client.delete(object_path("image", local_name), params={"force": module.params["force"]})
    except EngineError as exc:
        if exc.status != 409:
            raise
        users = image_users(client, before["Id"])
        used_by = ", ".join(users) if users else "a container"
        module.fail_json(
            msg="cannot remove image %s (%s): %s. It is used by %s; remove those containers first, or set "
                "force: true to untag it anyway" % (ref.familiar, option_name(module), exc.daemon_message, used_by),
            containers=users, engine_error=exc.to_dict(), **dict(result, actions=[]))
    result["untagged"] = [item["Untagged"] for item in answer or [] if item.get("Untagged")]
    result["deleted"] = [item["Deleted"] for item in answer or [] if item.get("Deleted")]
    return


def check_combination(module, ref):
    """Options that belong together, refused with a message that names them."""
    params = module.params
    if params["build"] is not None and params["source"] != "build":
        module.fail_json(msg="build is used only with source: build (source is %s); set source: build or remove "
                             "build" % params["source"])
    if params["platform"] is not None:
        try:
            params["platform"] = normalise_platform(params["platform"])
        except ValueError as exc:
            module.fail_json(msg="platform: %s" % exc)
        if params["source"] != "pull" or params["state"] == "absent":
            module.fail_json(msg="platform is used only to pull (source: pull, state: present); for a build, set "
                                 "build.platform, and remove platform from this task")
    if params["state"] == "absent":
        given = [option for option in ("repository", "push", "force_source") if params[option]]
        if params["source"] != "pull":
            given.append("source")
        if given:
            module.fail_json(msg="%s apply to state: present only; remove them from the task with state: absent"
                                 % ", ".join(given))
    if params["source"] == "build" and ref.digest:
        module.fail_json(msg="%s: a built image is named by a tag, not a digest; give for example app:1.0"
                             % option_name(module))
    if params["repository"]:
        target_reference(module, ref)  # refused here, before anything is asked or changed
    if params["push"] and not params["repository"] and ref.digest:
        module.fail_json(msg="push: %s is pinned by digest; push it by tag, with repository: <name>:<tag>"
                             % ref.familiar)


def ensure_built(module, client, ref, result):
    """Build the image when the one under the name lacks this context's and options' hash."""
    build = module.params["build"]
    options, entries, build_hash = plan_build(build)
    result["build"] = {"hash": build_hash, "context_entries": len(entries), "output": []}
    before = client.inspect("image", ref.local)
    result["diff"]["before"] = dict(view(before), build_hash=label_of(before))
    if before is not None and label_of(before) == build_hash and not module.params["force_source"]:
        result["diff"]["after"] = result["diff"]["before"]
        return before
    result["actions"].append("built")
    if module.check_mode:
        result["diff"]["after"] = {"present": True, "id": None, "repo_digests": [], "build_hash": build_hash}
        return None
    log = BuildLog()
    try:
        built_id = run_build(client, ref.familiar, build["path"], entries,
                             build_params(ref.local, options, build_hash), log)
    except BuildContextError as exc:
        result["build"]["output"] = log.lines
        module.fail_json(msg=str(exc), **dict(result, actions=[]))
    result["build"]["output"] = log.lines
    after = client.inspect("image", ref.local)
    if after is None or label_of(after) != build_hash or (built_id and after.get("Id") != built_id):
        module.fail_json(msg="the engine reported a successful build of %s, but the image under that name is not "
                             "the one it built (%s); another task may have replaced it"
                             % (ref.familiar, built_id or "no image ID reported"), **result)
    result["diff"]["after"] = dict(view(after), build_hash=build_hash)
    return after


def label_of(image):
    """The build hash an image carries, or None."""
    return (((image or {}).get("Config") or {}).get("Labels") or {}).get(HASH_LABEL)


def ensure_local(module, client, ref, result):
    """source=local: the image must be on the host already; nothing is pulled."""
    image = client.inspect("image", ref.local)
    result["diff"]["before"] = view(image)
    if image is None:
        module.fail_json(msg="%s: image %s is not on the host and source is local, so nothing pulls it; pull it "
                             "(source: pull), build it (source: build) or load it (image_load) first"
                             % (option_name(module), ref.familiar), **result)
    return image


def target_reference(module, ref):
    """The name repository gives (its tag, else the name's tag, else latest), or the name itself."""
    text = module.params["repository"]
    if not text:
        return ref
    try:
        target = parse_reference(text)
    except ImageReferenceError as exc:
        module.fail_json(msg="repository: %s" % exc)
    if target.digest:
        module.fail_json(msg="repository: %s holds a digest; a tag is what can be set, for example "
                             "registry.example.com/team/app:1.0" % text)
    if text.rfind(":") <= text.rfind("/"):  # no tag written: the name's own
        target = ImageRef(target.registry, target.repository, ref.tag or "latest", None, text)
    return target


def tag_and_push(module, client, ref, image, result):
    """Give the image the name repository, and push that name (or the image's own) when push is set."""
    target = target_reference(module, ref)
    result["repository"] = target.full
    if target is not ref:
        current = client.inspect("image", target.local)
        if image is None or current is None or current.get("Id") != image.get("Id"):
            result["actions"].append("tagged")
            result["tagged"] = [target.familiar]
            if not module.check_mode:
                tag_image(client, image["Id"], target)
    if not module.params["push"]:
        return image
    credentials = Credentials(module, target)
    result["push"] = {"name": target.familiar, "digest": None, "pushed": False}
    digest = None
    if image is not None:
        try:
            digest = served_digest(client, target, credentials)
        except EngineError as exc:
            module.warn("could not ask the registry whether it holds %s already (%s); pushing"
                        % (target.familiar, exc.daemon_message or exc))
        if not push_needed(image, target, digest):
            result["push"]["digest"] = digest
            return image
    result["actions"].append("pushed")
    result["push"]["pushed"] = True
    if module.check_mode:
        return image
    result["push"]["digest"] = push(client, target, credentials, option="repository" if target is not ref
                                    else option_name(module))
    return client.inspect("image", image["Id"]) or image


def option_name(module):
    """The option the task wrote the image in: name, or its alias image (as the containers role does)."""
    return "image" if module.params.get("image") is not None else "name"


def manage(module):
    protect(module, skip_keys=("client_key", "tls"))
    params = module.params
    try:
        ref = parse_reference(params["name"])
    except ImageReferenceError as exc:
        module.fail_json(msg="%s: %s" % (option_name(module), exc))
    result = {"changed": False, "name": ref.full, "reference": ref.to_dict(), "pulled": False, "actions": [],
              "id": None, "repo_tags": [], "repo_digests": [], "local_name": ref.local, "mirror": None,
              "diff": {"before": {}, "after": {}}}
    check_combination(module, ref)
    client = make_client(params)
    try:
        if params["state"] == "absent":
            image = ensure_absent(module, client, ref, result)
        else:
            if params["source"] == "build":
                image = ensure_built(module, client, ref, result)
            elif params["source"] == "local":
                image = ensure_local(module, client, ref, result)
            else:
                image = ensure_present(module, client, ref, result)
            if params["repository"] or params["push"]:
                image = tag_and_push(module, client, ref, image, result)
    finally:
        client.close()
    if image is not None:
        result.update(id=image.get("Id"), repo_tags=image.get("RepoTags") or [],
                      repo_digests=image.get("RepoDigests") or [])
        if not result["diff"]["after"]:
            result["diff"]["after"] = view(image)
    result["changed"] = bool(result["actions"])
    if not module._diff:
        del result["diff"]
    return result


def main():
    module = engine_module({
        "name": {"type": "str", "required": True, "aliases": ["image"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "pull": {"type": "str", "default": "missing", "choices": ["missing", "always"]},
        "force": {"type": "bool", "default": False},
        "platform": {"type": "str"},
        "config_path": {"type": "path", "aliases": ["dockercfg_path"]},
        "mirrors_table": {"type": "path"},
        "source": {"type": "str", "default": "pull", "choices": ["pull", "build", "local"]},
        "build": {"type": "dict", "options": BUILD_SPEC},
        "force_source": {"type": "bool", "default": False},
        "repository": {"type": "str"},
        "push": {"type": "bool", "default": False},
    }, required_if=[("source", "build", ["build"])])
    run_module(module, manage)


if __name__ == "__main__":
    main()
