#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_copy_into
short_description: Put a file into a container, only when it differs
version_added: 0.2.0
description:
  - Writes one file into a container (running or stopped) through the Engine API, like C(docker cp), from
    O(content), from a file on the controller (O(src)) or from a file on the managed node (O(path)).
  - Idempotent. It reads the container's file first (C(GET /containers/{id}/archive)) and compares its content,
    mode and owner with the wanted ones; it writes (C(PUT /containers/{id}/archive)) and reports changed only
    when something differs.
  - Options keep the names of community.docker's C(docker_container_copy_into) (O(container), O(container_path),
    O(path), O(content), O(content_is_b64), O(mode), O(owner_id), O(group_id), O(force)); O(src) is added.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Reads the container's file and reports what would change (RV(differences)); writes nothing.
  diff_mode:
    support: full
    description:
      - Shows the content before and after when both are UTF-8 text of at most 64 KiB and neither looks secret,
        otherwise their type, size, mode and owner; the mode and owner are in the headers.
      - Content looks secret when the file's name contains C(pass), C(token), C(secret), C(key), C(credential),
        C(auth) or C(private), when it holds a private key, or a setting whose name contains one of those words.
        Such content is also hidden from C(-vvv) output.
  action:
    support: full
    description: An action plugin reads O(src) on the controller and sends its bytes to the module.
options:
  container:
    description: Name or ID of the container.
    type: str
    required: true
  container_path:
    description:
      - Absolute path of the file in the container. Its directory must exist.
      - A symbolic link at this path is replaced by the file; a directory is refused.
    type: str
    required: true
  content:
    description:
      - The file's content, as text (or base64 with O(content_is_b64=true)).
      - Exactly one of O(content), O(src) and O(path) is required.
    type: str
  content_is_b64:
    description: O(content) is base64-encoded bytes, for binary files.
    type: bool
    default: false
  src:
    description:
      - A file on the controller, found like the C(src) of M(ansible.builtin.copy) (relative to the role's or
        play's C(files) directory). Read by the action plugin; at most 32 MiB.
      - Exactly one of O(content), O(src) and O(path) is required.
    type: path
  path:
    description:
      - A file on the managed node (where the module runs).
      - Exactly one of O(content), O(src) and O(path) is required.
    type: path
  mode:
    description:
      - The file's mode, as an octal string such as V('0644') or an integer such as V(0o644).
      - If not given, the mode of the O(src) or O(path) file; for O(content), the current file's mode, or V(0644)
        for a new file.
    type: raw
  owner_id:
    description: The file's owner (a UID). If not given, the current file's owner, or V(0) for a new file.
    type: int
  group_id:
    description: The file's group (a GID). If not given, the current file's group, or V(0) for a new file.
    type: int
  force:
    description:
      - Not set, the file is written when its content, mode or owner differs.
      - V(true) writes the file every time; V(false) writes it only when it does not exist.
    type: bool
notes:
  - Unlike community.docker, an unset O(owner_id) and O(group_id) keep the current file's owner (root for a new
    file) rather than asking the container for its user, so stopped containers and images without C(/bin/sh)
    need nothing more.
seealso:
  - module: dockhand.runtime.container_exec
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Put a configuration file into the web container
  dockhand.runtime.container_copy_into:
    container: web
    container_path: /etc/nginx/conf.d/site.conf
    src: site.conf
    mode: "0644"

- name: Write a secret, readable by the app's user only
  dockhand.runtime.container_copy_into:
    container: app
    container_path: /run/secrets/api-token
    content: "{{ vault_api_token }}"
    owner_id: 1000
    group_id: 1000
    mode: "0400"

- name: Copy a file that is already on the managed node
  dockhand.runtime.container_copy_into:
    container: app
    container_path: /srv/data/seed.sql
    path: /opt/seed/seed.sql

- name: Write a default only when the container has none
  dockhand.runtime.container_copy_into:
    container: app
    container_path: /srv/app/local.ini
    content: "[app]\ndebug = false\n"
    force: false
"""

RETURN = r"""
container_path:
  description: The path of the file in the container.
  returned: success
  type: str
  sample: /etc/nginx/conf.d/site.conf
differences:
  description:
    - Why the file was (or in check mode would be) written, V(created), V(content), V(mode), V(owner),
      V(forced) or V(replaced symlink); empty when it already was as wanted.
  returned: success
  type: list
  elements: str
  sample: ["content", "mode"]
mode:
  description: The file's mode afterwards, in octal.
  returned: success
  type: str
  sample: "0644"
owner_id:
  description: The file's owner afterwards.
  returned: success
  type: int
  sample: 0
group_id:
  description: The file's group afterwards.
  returned: success
  type: int
  sample: 0
size:
  description: The file's size in bytes afterwards.
  returned: success
  type: int
  sample: 1024
"""

import base64
import binascii
import os
import stat

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.container.archive import (
    check_container_path,
    check_id,
    fetch_file,
    file_diff,
    looks_secret,
    parse_mode,
    plan_copy,
    put_file,
    wanted_file,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container.exec import check_container
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError, run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import protect


def source_bytes(module):
    """The new file's bytes and the source's mode (None for content)."""
    params = module.params
    given = [name for name in ("content", "src", "path") if params[name] is not None]
    if len(given) != 1:
        raise OptionError("give exactly one of content, src (a file on the controller) and path (a file on the "
                          "managed node); this task gives %s" % (" and ".join(given) or "none"))
    if params["src"] is not None:
        raise OptionError("src is read on the controller by the action plugin dockhand.runtime.container_copy_into; "
                          "call the module by that name (not through ansible.builtin.raw or a module_defaults "
                          "group that bypasses the plugin)")
    if params["content"] is not None:
        if not params["content_is_b64"]:
            return params["content"].encode("utf-8"), None
        try:
            return base64.b64decode(params["content"], validate=True), None
        except (binascii.Error, ValueError):
            raise OptionError("content is not valid base64, but content_is_b64 is true") from None
    path = params["path"]
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise OptionError("path %s on the managed node is not a regular file" % path)
        with open(path, "rb") as handle:
            return handle.read(), stat.S_IMODE(info.st_mode)
    except OSError as exc:
        raise OptionError("cannot read path %s on the managed node: %s" % (path, exc.strerror or exc)) from None


def copy_into(module):
    protect(module, skip_keys=("client_key", "tls"))
    params = module.params
    container = check_container(params["container"])
    path = check_container_path(params["container_path"])
    mode = parse_mode(params["mode"])
    owner_id, group_id = check_id(params["owner_id"], "owner_id"), check_id(params["group_id"], "group_id")
    data, source_mode = source_bytes(module)
    if looks_secret(path, data):  # never shown: not in results, diffs nor invocation (-vvv)
        module.no_log_values.update(value for value in (params["content"], data.decode("utf-8", "replace"))
                                    if value and len(value) >= 3)
    if mode is None:
        mode = source_mode
    client = make_client(params)
    try:
        found = client.inspect("container", container)
        if found is None:
            raise OptionError("container %s does not exist on %s" % (container, client.endpoint_url))
        current = fetch_file(client, found["Id"], path)
        wanted = wanted_file(data, mode, owner_id, group_id, current)
        differences = plan_copy(current, wanted, params["force"])
        if differences and not module.check_mode:
            put_file(client, found["Id"], path, wanted)
    finally:
        client.close()
    if not differences and current is not None:
        wanted = dict(current, data=current["data"] if current["data"] is not None else data)
    result = {"changed": bool(differences), "container_path": path, "differences": differences,
              "mode": "%04o" % wanted["mode"], "owner_id": wanted["uid"], "group_id": wanted["gid"],
              "size": len(wanted["data"] or b"")}
    if module._diff:
        result["diff"] = file_diff(path, current, wanted)
    return result


def main():
    module = engine_module({
        "container": {"type": "str", "required": True},
        "container_path": {"type": "str", "required": True},
        "content": {"type": "str"},
        "content_is_b64": {"type": "bool", "default": False},
        "src": {"type": "path"},
        "path": {"type": "path"},
        "mode": {"type": "raw"},
        "owner_id": {"type": "int"},
        "group_id": {"type": "int"},
        "force": {"type": "bool"},
    })
    run_module(module, copy_into)


if __name__ == "__main__":
    main()
