#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: volume
short_description: Create or remove an engine volume, refusing to lose data unless told to
version_added: 0.1.0
description:
  - Makes sure a named volume exists with the given driver, driver options and labels, or that it does not exist.
  - Idempotent with one inspect. O(driver) is always compared (it has a default); O(driver_options) and O(labels)
    are compared exactly when given (values as strings).
  - The engine cannot change a volume in place. A volume that differs is only removed and created again with
    O(recreate=true), because that deletes the data in it; without it the module fails, names the differences and
    changes nothing. A volume that containers use (running or stopped) is never removed; the module names them.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Reports what would be created, recreated or removed (RV(actions), RV(differences)); changes nothing.
  diff_mode:
    support: full
    description: Shows the driver, driver options and labels before and after.
options:
  name:
    description: Name of the volume.
    type: str
    required: true
    aliases: [volume_name]
  state:
    description: V(present) creates the volume when missing; V(absent) removes it (and its data).
    type: str
    choices: [present, absent]
    default: present
  driver:
    description: Volume driver.
    type: str
    default: local
  driver_options:
    description:
      - Driver options (C(docker volume create --opt)), for example C(type), C(device) and C(o) of the
        V(local) driver. Values are sent as strings.
    type: dict
    aliases: [options]
  labels:
    description: Labels of the volume. Compared exactly when given.
    type: dict
  recreate:
    description:
      - Remove and create the volume again when it differs from the task. B(This deletes the data in it.)
      - Without it, a volume that differs makes the module fail and nothing is changed.
    type: bool
    default: false
notes:
  - Unlike community.docker's C(docker_volume), O(recreate) is a boolean; V(true) means its V(options-changed).
seealso:
  - module: dockhand.runtime.network
"""

EXAMPLES = r"""
- name: A volume for a database
  dockhand.runtime.volume:
    name: pgdata
    labels:
      com.example.backup: daily

- name: A tmpfs-backed volume of the local driver
  dockhand.runtime.volume:
    name: scratch
    driver_options:
      type: tmpfs
      device: tmpfs
      o: size=64m

- name: Change the options of a scratch volume, accepting that its data goes
  dockhand.runtime.volume:
    name: scratch
    driver_options:
      type: tmpfs
      device: tmpfs
      o: size=128m
    recreate: true

- name: Remove a volume
  dockhand.runtime.volume:
    name: scratch
    state: absent
"""

RETURN = r"""
volume:
  description: The volume as the engine inspects it afterwards; null when absent (or not yet created in check mode).
  returned: always
  type: dict
  sample: {"Name": "pgdata", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/pgdata/_data",
           "Labels": {"com.example.backup": "daily"}, "Options": null, "Scope": "local"}
actions:
  description: What was done (in check mode, what would be done), V(created), V(recreated) or V(removed).
  returned: always
  type: list
  elements: str
  sample: ["created"]
differences:
  description: The options whose wanted value differs from the volume's.
  returned: always
  type: list
  elements: str
  sample: ["driver_options"]
containers:
  description: Containers that use the volume, when they stopped a recreation or removal.
  returned: when containers use the volume and it mattered
  type: list
  elements: str
  sample: ["db-1"]
"""


from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    EngineError,
    object_path,
    text_dict,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import is_secret_name, protect


def option_secrets(options):
    """The secrets in driver options: values of secret-named keys, and of secret-named entries of the mount
    option lists the local driver takes (``o: addr=10.0.0.5,username=u,password=p``)."""
    found = set()
    for key, value in (options or {}).items():
        text = "" if value is None else str(value)
        if is_secret_name(key) and text:
            found.add(text)
            continue
        for entry in text.split(","):
            name, sep, secret = entry.partition("=")
            if sep and secret and is_secret_name(name.strip()):
                found.add(secret)
    return {secret for secret in found if len(secret) >= 3}


def wanted_state(params):
    wanted = {"driver": params["driver"]}
    if params["driver_options"] is not None:
        wanted["driver_options"] = text_dict(params["driver_options"])
    if params["labels"] is not None:
        wanted["labels"] = text_dict(params["labels"])
    return wanted


def current_state(volume):
    return {"driver": volume.get("Driver"), "driver_options": volume.get("Options") or {},
            "labels": volume.get("Labels") or {}}


def differences(wanted, current):
    return [option for option, value in wanted.items() if current.get(option) != value]


def create_body(name, wanted):
    return {"Name": name, "Driver": wanted["driver"], "DriverOpts": wanted.get("driver_options") or {},
            "Labels": wanted.get("labels") or {}}


def users(client, name):
    """Names of the containers (running or stopped) that mount the volume."""
    listed = client.get("/containers/json", params={"all": True, "filters": {"volume": [name]}})
    return sorted((c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/") for c in listed or [])


def create(client, name, wanted):
    try:
        return client.post("/volumes/create", body=create_body(name, wanted))
    except EngineError as exc:
        if exc.kind != "http":
            raise
        exc.message = ("cannot create volume %s: %s; check name, driver and driver_options"
                       % (name, exc.daemon_message or exc.message))
        raise


def ensure_present(module, client, result):
    name = module.params["name"]
    wanted = wanted_state(module.params)
    volume = client.inspect("volume", name)
    if volume is None:
        result["actions"].append("created")
        result["diff"] = {"before": {}, "after": wanted}
        if module.check_mode:
            return None
        return create(client, name, wanted)

    current = current_state(volume)
    diff = differences(wanted, current)
    result["differences"] = diff
    before = {key: current[key] for key in wanted}
    result["diff"] = {"before": before, "after": dict(before, **wanted)}
    if not diff:
        return volume
    if not module.params["recreate"]:
        details = "; ".join("%s is %r, the task wants %r" % (key, current[key], wanted[key]) for key in diff)
        module.fail_json(
            msg="volume %s differs in %s (%s), and the engine can only change that by removing the volume and "
                "creating it again, which deletes its data. Nothing was changed. Set recreate: true to do it "
                "anyway" % (name, ", ".join(diff), details),
            **result)
    in_use = users(client, name)
    if in_use:
        result["containers"] = in_use
        module.fail_json(msg="volume %s differs in %s, but containers use it: %s. Nothing was changed. Remove those "
                             "containers first, then run the task again" % (name, ", ".join(diff), ", ".join(in_use)),
                         **result)
    result["actions"].append("recreated")
    if module.check_mode:
        return volume
    client.delete(object_path("volume", name))
    try:
        return create(client, name, wanted)
    except EngineError as exc:
        try:
            create(client, name, current)
            outcome = "An empty volume with the previous settings was created in its place"
            actions = ["recreated"]
        except EngineError as again:
            outcome = "Creating it with the previous settings failed too (%s): the volume is gone" % again
            actions = ["removed"]
        module.fail_json(msg="volume %s was removed to apply %s, but the new one could not be created: %s. %s"
                             % (name, ", ".join(diff), exc.daemon_message or exc, outcome),
                         engine_error=exc.to_dict(), **dict(result, actions=actions, changed=True))
    return None


def ensure_absent(module, client, result):
    name = module.params["name"]
    volume = client.inspect("volume", name)
    if volume is None:
        result["diff"] = {"before": {}, "after": {}}
        return
    result["diff"] = {"before": current_state(volume), "after": {}}
    in_use = users(client, name)
    if in_use:
        result["containers"] = in_use
        module.fail_json(msg="volume %s is used by containers: %s. Nothing was changed. Remove those containers "
                             "first" % (name, ", ".join(in_use)), **result)
    result["actions"].append("removed")
    if not module.check_mode:
        client.delete(object_path("volume", name))


def manage(module):
    # secrets in driver_options never show: not in results, diffs, messages nor invocation (-vvv)
    protect(module, skip_keys=("client_key", "tls"))
    module.no_log_values.update(option_secrets(module.params["driver_options"]))
    result = {"changed": False, "volume": None, "actions": [], "differences": []}
    if not module.params["name"].strip():
        module.fail_json(msg="name is empty; give the volume's name", **result)
    client = make_client(module.params)
    try:
        if module.params["state"] == "present":
            result["volume"] = ensure_present(module, client, result)
        else:
            ensure_absent(module, client, result)
    finally:
        client.close()
    result["changed"] = bool(result["actions"])
    if not module._diff:
        result.pop("diff", None)
    return result


def main():
    module = engine_module({
        "name": {"type": "str", "required": True, "aliases": ["volume_name"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "driver": {"type": "str", "default": "local"},
        "driver_options": {"type": "dict", "aliases": ["options"]},
        "labels": {"type": "dict"},
        "recreate": {"type": "bool", "default": False},
    })
    run_module(module, manage)


if __name__ == "__main__":
    main()
