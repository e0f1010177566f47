#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: registry_login
short_description: Log in to a registry (credentials checked by the engine) and keep them in the Docker config file
version_added: 0.1.0
description:
  - Checks a username and password against a registry through the engine (C(POST /auth); the engine asks the
    registry, with its own mirrors, proxies and insecure-registries settings) and stores them in the Docker
    config file the way C(docker login) does, under C(auths), keyed C(https://index.docker.io/v1/) for Docker
    Hub and C(host[:port]) for any other registry.
  - The file is merged, never overwritten. Other registries' entries and keys such as C(credsStore),
    C(credHelpers), C(proxies) and C(HttpHeaders) keep their values. It is written atomically with mode C(0600);
    a new C(.docker) directory gets mode C(0700). Run as root for another user's file, a new file and directory
    get the owner of the directory they are created in.
  - Idempotent. When the file already holds the same username and password for the registry, nothing is written
    and the registry is not asked again (unless O(reauthorize=true)).
  - O(state=absent) logs out, removing every entry of the registry (with or without scheme, as C(docker logout)
    does).
  - M(dockhand.runtime.image) sends the stored credentials with a pull from that registry.
  - The password never appears in results, diffs or messages; diffs show C(auth) values as C(user:********).
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description:
      - Writes nothing. Credentials that would be stored are still checked with the registry (through the engine),
        so a wrong password fails in check mode too.
  diff_mode:
    support: full
    description: Shows the config file before and after, with credentials masked.
options:
  registry:
    description:
      - The registry, as a host with an optional port (V(registry.example.com:5000)) or a URL.
      - V(docker.io) (and C(index.docker.io), C(https://index.docker.io/v1/)) is Docker Hub.
    type: str
    default: docker.io
    aliases: [registry_url, url]
  username:
    description: The user name. Required with O(state=present).
    type: str
  password:
    description: The password or access token. Required with O(state=present).
    type: str
  reauthorize:
    description:
      - Check the credentials with the registry even when the file already holds the same ones.
    type: bool
    default: false
    aliases: [reauth]
  config_path:
    description:
      - The Docker config file.
      - Defaults to C(config.json) in E(DOCKER_CONFIG) if that is set, else C(~/.docker/config.json) of the user
        the module runs as (the remote user, or the O(ignore:become_user)).
    type: path
    aliases: [dockercfg_path]
  state:
    description: V(present) logs in; V(absent) logs out.
    type: str
    choices: [present, absent]
    default: present
  lock_timeout:
    description:
      - Seconds to wait for another run that is changing the same config file before failing.
      - Each change holds an exclusive lock on the file (in C(/run/lock)) from the read through the write, so two
        logins to different registries at once both end up in the file. Not taken in check mode.
    type: int
    default: 60
notes:
  - Credential helpers are not run. The credentials always go to C(auths) in the file; when the file names a
    credential helper for the registry (C(credsStore) or C(credHelpers)), the module warns, since the docker CLI
    would ask that helper instead.
  - An identity token a registry may hand out is not stored; the username and password are, as C(auth).
seealso:
  - module: dockhand.runtime.image
"""

EXAMPLES = r"""
- name: Log in to a private registry
  dockhand.runtime.registry_login:
    registry: registry.example.com:5000
    username: deploy
    password: "{{ vault_registry_password }}"

- name: Log in to Docker Hub for the user that runs the containers
  dockhand.runtime.registry_login:
    username: example
    password: "{{ vault_hub_token }}"
  become: true
  become_user: deploy

- name: Log out
  dockhand.runtime.registry_login:
    registry: registry.example.com:5000
    state: absent
"""

RETURN = r"""
registry:
  description: The key of the registry's entry in the file.
  returned: always
  type: str
  sample: registry.example.com:5000
config_path:
  description: The config file.
  returned: always
  type: str
  sample: /home/deploy/.docker/config.json
username:
  description: The user name, with O(state=present).
  returned: always
  type: str
  sample: deploy
verified:
  description: Whether the registry accepted the credentials on this run (false when it was not asked).
  returned: always
  type: bool
  sample: true
login_status:
  description: The engine's answer to the login, or null when the registry was not asked.
  returned: always
  type: str
  sample: Login Succeeded
actions:
  description:
    - What changed (in check mode, what would change). V(stored) (credentials written), V(removed) (logout),
      V(permissions_fixed) (the file's mode set to C(0600)).
  returned: always
  type: list
  elements: str
  sample: ["stored"]
removed_keys:
  description: Entries taken out of C(auths) by a logout.
  returned: with O(state=absent)
  type: list
  elements: str
  sample: ["registry.example.com:5000", "https://registry.example.com:5000"]
"""

import contextlib
import json

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import DEFAULT_LOCK_TIMEOUT, FileError, locked
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth import (
    AuthConfigError,
    credential_helper,
    default_config_path,
    encode_auth,
    find_credentials,
    login_target,
    read_config,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth_store import (
    FILE_MODE,
    MASK,
    file_mode,
    masked,
    scrub,
    set_mode,
    with_login,
    without_login,
    write_config,
)

_REFUSED_WORDS = ("unauthorized", "incorrect username or password", "authentication required", "denied",
                  "401", "403", "forbidden")


def diff_text(config, raw_exists):
    if not raw_exists and not config:
        return ""
    return json.dumps(masked(config), indent=2, sort_keys=False) + "\n"


def verify(module, key, hostname, path):
    """Ask the registry, through the engine, whether the credentials are good; returns the engine's status."""
    params = module.params
    body = {"username": params["username"], "password": params["password"], "serveraddress": key}
    secrets = (params["password"], encode_auth(params["username"], params["password"]))
    try:
        client = make_client(params)
    except EngineError as exc:
        module.fail_json(msg=str(exc), engine_error=exc.to_dict())
    try:
        answer = client.post("/auth", body=body)
    except EngineError as exc:
        said = scrub(exc.daemon_message or exc, *secrets)
        if exc.kind == "http" and (exc.status in (401, 403) or any(w in said.lower() for w in _REFUSED_WORDS)):
            message = ("the registry %s did not accept username %r with the given password: %s. Check username and "
                       "password (registry_login); nothing was written to %s"
                       % (hostname, params["username"], said, path))
        elif exc.kind == "http":
            message = ("cannot check the credentials with the registry %s: %s. Check registry (host and port) and "
                       "that the engine can reach it; nothing was written to %s" % (hostname, said, path))
        else:
            message = "cannot ask the engine to check the credentials: %s; nothing was written to %s" % (
                scrub(exc, *secrets), path)
        error = exc.to_dict()
        error["msg"] = scrub(error["msg"], *secrets)
        error["daemon_message"] = scrub(error["daemon_message"] or "", *secrets) or None
        module.fail_json(msg=message, engine_error=error, registry=key, config_path=path)
    finally:
        client.close()
    return (answer or {}).get("Status") or "Login Succeeded"


def login(module, key, hostname, path, raw, config, result):
    params = module.params
    username, password = params["username"], params["password"]
    if not username or ":" in username or any(ch in username for ch in "\r\n"):
        module.fail_json(msg="username %r is not usable: it must be non-empty and contain no ':' or line breaks"
                             % username, **result)
    if not password:
        module.fail_json(msg="password is empty; give the registry password or access token", **result)
    result["username"] = username
    try:
        stored = find_credentials(config, hostname)
    except AuthConfigError as exc:  # a broken entry for this registry: the login replaces it
        module.warn("%s: %s; it is replaced" % (path, exc))
        stored = None
    same = bool(stored) and stored["username"] == username and stored["password"] == password \
        and not stored.get("identitytoken")
    if not same or params["reauthorize"]:
        result["login_status"] = verify(module, key, hostname, path)
        result["verified"] = True
    new_config = config if same else with_login(config, key, username, password)
    if not same:
        result["actions"].append("stored")
    mode = file_mode(path)
    if raw is not None and mode is not None and mode != FILE_MODE:
        result["actions"].append("permissions_fixed")
    if module._diff:
        after = masked(new_config)
        if not same and stored and stored["username"] == username:
            entry = after["auths"][key]
            entry["auth"] = "%s:%s (new password)" % (username, MASK)
        result["diff"] = {"before": diff_text(config, raw is not None),
                          "after": json.dumps(after, indent=2) + "\n",
                          "before_header": path, "after_header": path}
        if mode is not None and mode != FILE_MODE:
            result["diff"]["before_header"] = "%s (mode %04o)" % (path, mode)
            result["diff"]["after_header"] = "%s (mode %04o)" % (path, FILE_MODE)
    if not result["actions"] or module.check_mode:
        return
    if "stored" in result["actions"]:
        write_config(path, new_config)
    else:
        set_mode(path, FILE_MODE)


def logout(module, hostname, path, raw, config, result):
    new_config, removed = without_login(config, hostname)
    result["removed_keys"] = removed
    if module._diff:
        result["diff"] = {"before": diff_text(config, raw is not None),
                          "after": diff_text(new_config, raw is not None),
                          "before_header": path, "after_header": path}
    if not removed:
        return
    result["actions"].append("removed")
    if not module.check_mode:
        write_config(path, new_config)


def change_config(module, key, hostname, path, result):
    """Read, change and write the file (the caller holds its lock)."""
    params = module.params
    try:
        raw, config = read_config(path)
    except AuthConfigError as exc:
        module.fail_json(msg="%s. Nothing was written" % exc, **result)
    try:
        if params["state"] == "present":
            helper = credential_helper(config, hostname)
            if helper:
                module.warn("%s names the credential helper %r for %s; the docker CLI on this host asks that "
                            "helper and will not use the credentials stored under auths (dockhand.runtime.image "
                            "does)" % (path, helper, hostname))
            login(module, key, hostname, path, raw, config, result)
        else:
            logout(module, hostname, path, raw, config, result)
    except AuthConfigError as exc:
        module.fail_json(msg="%s. Nothing was written" % scrub(exc, params["password"]), **result)


def manage(module):
    params = module.params
    result = {"changed": False, "registry": None, "config_path": None, "username": None, "verified": False,
              "login_status": None, "actions": []}
    try:
        key, hostname = login_target(params["registry"])
    except AuthConfigError as exc:
        module.fail_json(msg="registry: %s" % exc, **result)
    path = params["config_path"] or default_config_path()
    result.update(registry=key, config_path=path)
    if params["lock_timeout"] < 0:
        module.fail_json(msg="lock_timeout must be 0 or more seconds, not %d. Nothing was written"
                         % params["lock_timeout"], **result)
    with contextlib.ExitStack() as stack:
        if not module.check_mode:
            try:
                stack.enter_context(locked(path, params["lock_timeout"]))
            except FileError as exc:
                module.fail_json(msg="%s. Nothing was written" % exc, **result)
        change_config(module, key, hostname, path, result)
    result["changed"] = bool(result["actions"])
    return result


def main():
    module = engine_module(
        {
            "registry": {"type": "str", "default": "docker.io", "aliases": ["registry_url", "url"]},
            "username": {"type": "str"},
            "password": {"type": "str", "no_log": True},
            "reauthorize": {"type": "bool", "default": False, "aliases": ["reauth"]},
            "config_path": {"type": "path", "aliases": ["dockercfg_path"]},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "lock_timeout": {"type": "int", "default": DEFAULT_LOCK_TIMEOUT},
        },
        required_if=[("state", "present", ("username", "password"))],
    )
    run_module(module, manage)


if __name__ == "__main__":
    main()
