#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: network
short_description: Create, recreate or remove an engine network
version_added: 0.1.0
description:
  - Makes sure a network exists with the given driver, driver options, labels, flags and IPAM
    configuration, or that it does not exist.
  - Idempotent with one inspect. Only what the task sets is compared (O(driver) always, as it has a
    default); O(labels) and O(driver_options) given are compared exactly as written (values as strings).
  - The engine cannot change a network in place. When the network differs, it is removed and created
    again, but only when no container (running or stopped) is attached to it; otherwise the module
    refuses, names the containers and the differences, and changes nothing. If the new network cannot be
    created, the previous one is created again with its old settings and the module fails.
  - Options, names and value formats follow community.docker's C(docker_network).
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
    description: Shows the compared settings before and after.
options:
  name:
    description: Name of the network.
    type: str
    required: true
    aliases: [network_name]
  state:
    description: V(present) creates or recreates the network as needed; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description: Network driver, for example V(bridge), V(macvlan), V(ipvlan), V(overlay).
    type: str
    default: bridge
  driver_options:
    description:
      - Driver options (C(docker network create --opt)), for example
        V(com.docker.network.bridge.name). Values are sent as strings; V(true) and V(false) as such.
    type: dict
    aliases: [options]
  labels:
    description: Labels of the network. Compared exactly when given.
    type: dict
  internal:
    description: Restrict external access to the network.
    type: bool
  attachable:
    description: Let standalone containers attach to a swarm-scoped network.
    type: bool
  enable_ipv6:
    description: Enable IPv6 on the network.
    type: bool
  ipam_driver:
    description: IPAM driver; the engine's is V(default).
    type: str
  ipam_config:
    description:
      - Address pools of the network. Each entry is compared with the network's entry of the same subnet;
        the number of entries must match. An empty list is the same as not setting it.
    type: list
    elements: dict
    aliases: [ipam]
    suboptions:
      subnet:
        description: Subnet in CIDR form, for example V(172.28.0.0/16) (host bits zero).
        type: str
        required: true
      gateway:
        description: Gateway address, inside O(ipam_config[].subnet).
        type: str
      iprange:
        description: Range to allocate container addresses from, a CIDR inside O(ipam_config[].subnet).
        type: str
      aux_addresses:
        description: Addresses the IPAM driver must not hand out, as name to address.
        type: dict
  force:
    description:
      - With O(state=absent), disconnect every attached container (running or stopped) first, then remove
        the network. Without it, a network in use is not removed and the module names the containers.
      - It has no effect with O(state=present); a network in use is never recreated, since containers would
        lose their connection (and their addresses and aliases on it).
    type: bool
    default: false
notes:
  - The predefined networks C(bridge), C(host) and C(none) are never removed or recreated.
seealso:
  - module: dockhand.runtime.volume
"""

EXAMPLES = r"""
- name: A bridge network for an application
  dockhand.runtime.network:
    name: app
    labels:
      com.example.team: web

- name: Internal network with a fixed subnet and gateway
  dockhand.runtime.network:
    name: backend
    internal: true
    ipam_config:
      - subnet: 172.28.0.0/24
        gateway: 172.28.0.1
        iprange: 172.28.0.128/25
    driver_options:
      com.docker.network.bridge.name: br-backend

- name: Remove a network, disconnecting what is still attached
  dockhand.runtime.network:
    name: old
    state: absent
    force: true
"""

RETURN = r"""
network:
  description: The network as the engine inspects it afterwards; null when absent (or not yet created in check mode).
  returned: always
  type: dict
  sample: {"Name": "app", "Id": "0f1e...", "Driver": "bridge", "Labels": {"com.example.team": "web"},
           "IPAM": {"Driver": "default", "Config": [{"Subnet": "172.28.0.0/24", "Gateway": "172.28.0.1"}]}}
actions:
  description:
    - What was done (in check mode, what would be done), V(created), V(recreated), V(disconnected) or V(removed).
  returned: always
  type: list
  elements: str
  sample: ["recreated"]
differences:
  description: The options whose wanted value differs from the network's.
  returned: always
  type: list
  elements: str
  sample: ["driver_options", "labels"]
containers:
  description: Containers attached to the network, when they stopped a recreation or removal (or were disconnected).
  returned: when containers are attached and it mattered
  type: list
  elements: str
  sample: ["web-1"]
"""

import ipaddress

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
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.ipam import InvalidInput, wanted_ipam
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import protect

PREDEFINED = frozenset(("bridge", "host", "none"))
FLAGS = (("internal", "Internal"), ("attachable", "Attachable"), ("enable_ipv6", "EnableIPv6"))


def _normal(value, parse):
    try:
        return str(parse(value))
    except ValueError:
        return value


def current_ipam(network):
    """The network's IPAM config in the shape of wanted_ipam (normalised where parsable)."""
    found = []
    for entry in ((network.get("IPAM") or {}).get("Config") or []):
        item = {"subnet": _normal(entry.get("Subnet") or "", lambda v: ipaddress.ip_network(v, strict=False))}
        if entry.get("Gateway"):
            item["gateway"] = _normal(entry["Gateway"].split("/")[0], ipaddress.ip_address)
        if entry.get("IPRange"):
            item["iprange"] = _normal(entry["IPRange"], lambda v: ipaddress.ip_network(v, strict=False))
        if entry.get("AuxiliaryAddresses"):
            item["aux_addresses"] = {k: _normal(v, ipaddress.ip_address)
                                     for k, v in entry["AuxiliaryAddresses"].items()}
        found.append(item)
    return found


def ipam_differs(wanted, current):
    if len(wanted) != len(current):
        return True
    by_subnet = {item["subnet"]: item for item in current}
    for item in wanted:
        have = by_subnet.get(item["subnet"])
        if have is None:
            return True
        for key in ("gateway", "iprange", "aux_addresses"):
            if key in item and item[key] != have.get(key, {} if key == "aux_addresses" else None):
                return True
    return False


def wanted_state(params):
    """The settings the task asks for, normalised; keys only for what the task sets."""
    wanted = {"driver": params["driver"]}
    if params["driver_options"] is not None:
        wanted["driver_options"] = text_dict(params["driver_options"])
    if params["labels"] is not None:
        wanted["labels"] = text_dict(params["labels"])
    for option, _key in FLAGS:
        if params[option] is not None:
            wanted[option] = params[option]
    if params["ipam_driver"]:
        wanted["ipam_driver"] = params["ipam_driver"]
    if params["ipam_config"]:
        wanted["ipam_config"] = wanted_ipam(params["ipam_config"])
    return wanted


def current_state(network):
    """Every compared setting of an inspected network."""
    state = {
        "driver": network.get("Driver"),
        "driver_options": network.get("Options") or {},
        "labels": network.get("Labels") or {},
        "ipam_driver": (network.get("IPAM") or {}).get("Driver") or "default",
        "ipam_config": current_ipam(network),
    }
    for option, key in FLAGS:
        state[option] = bool(network.get(key))
    return state


def differences(wanted, current):
    """Names of the options whose wanted value differs from the current one."""
    found = []
    for option, value in wanted.items():
        if option == "ipam_config":
            if ipam_differs(value, current["ipam_config"]):
                found.append(option)
        elif current.get(option) != value:
            found.append(option)
    return found


def create_body(name, wanted):
    body = {"Name": name, "CheckDuplicate": True, "Driver": wanted["driver"]}
    if "driver_options" in wanted:
        body["Options"] = wanted["driver_options"]
    if "labels" in wanted:
        body["Labels"] = wanted["labels"]
    for option, key in FLAGS:
        if option in wanted:
            body[key] = wanted[option]
    ipam = {"Driver": wanted.get("ipam_driver") or "default"}
    if wanted.get("ipam_config"):
        ipam["Config"] = [
            dict(
                {"Subnet": item["subnet"]},
                **{api: item[key] for key, api in (("gateway", "Gateway"), ("iprange", "IPRange"),
                                                   ("aux_addresses", "AuxiliaryAddresses")) if key in item})
            for item in wanted["ipam_config"]]
    body["IPAM"] = ipam
    return body


def body_from_inspect(network):
    """The create body that makes the inspected network again (for a rollback)."""
    ipam = network.get("IPAM") or {}
    body = {"Name": network["Name"], "CheckDuplicate": True, "Driver": network.get("Driver"),
            "Options": network.get("Options") or {}, "Labels": network.get("Labels") or {},
            "IPAM": {"Driver": ipam.get("Driver") or "default", "Config": ipam.get("Config") or [],
                     "Options": ipam.get("Options") or {}}}
    for _option, key in FLAGS:
        body[key] = bool(network.get(key))
    return body


def inspect_network(client, name):
    """The network named exactly ``name``, or None (the engine also matches ID prefixes)."""
    network = client.inspect("network", name)
    if network is not None and network.get("Name") != name:
        return None
    return network


def attached(client, network):
    """``{container id: name}`` of every container attached to the network, running or stopped."""
    users = {cid: (info.get("Name") or cid[:12]) for cid, info in (network.get("Containers") or {}).items()}
    # by ID for containers that ran, by name for containers only created (their endpoint has no network ID yet)
    listed = client.get("/containers/json", params={"all": True, "filters": {"network": [network["Id"],
                                                                                         network["Name"]]}})
    for container in listed or []:
        names = container.get("Names") or []
        users[container["Id"]] = names[0].lstrip("/") if names else container["Id"][:12]
    return users


def shown(state, keys):
    return {key: state[key] for key in keys if key in state}


def ensure_present(module, client, result):
    name = module.params["name"]
    wanted = wanted_state(module.params)
    network = inspect_network(client, name)
    if network is None:
        result["actions"].append("created")
        result["diff"] = {"before": {}, "after": wanted}
        if module.check_mode:
            return None
        return create(client, name, wanted)

    current = current_state(network)
    diff = differences(wanted, current)
    result["differences"] = diff
    result["diff"] = {"before": shown(current, wanted), "after": dict(shown(current, wanted), **wanted)}
    if not diff:
        return network
    if name in PREDEFINED:
        module.fail_json(msg="network %s is predefined by the engine and cannot be recreated; it differs in %s. "
                             "Remove those options from the task" % (name, ", ".join(diff)), **result)
    users = attached(client, network)
    if users:
        result["containers"] = sorted(users.values())
        module.fail_json(
            msg="network %s differs in %s, and the engine can only change that by removing and creating the "
                "network again, but containers are attached to it: %s. Nothing was changed. Remove those "
                "containers (or disconnect them) first, then run the task again"
                % (name, ", ".join(diff), ", ".join(result["containers"])), **result)
    result["actions"].append("recreated")
    if module.check_mode:
        return network
    client.delete(object_path("network", network["Id"]))
    try:
        return create(client, name, wanted)
    except EngineError as exc:
        try:
            restored = client.post("/networks/create", body=body_from_inspect(network))
            outcome = ("The previous network was created again with its old settings (new ID %s)"
                       % (restored or {}).get("Id", "?")[:12])
            actions = []
        except EngineError as again:
            outcome = "Creating the previous network again failed too (%s): network %s is gone" % (again, name)
            actions = ["removed"]
        module.fail_json(
            msg="network %s was removed to apply %s, but the new one could not be created: %s. %s"
                % (name, ", ".join(diff), exc.daemon_message or exc, outcome),
            engine_error=exc.to_dict(), **dict(result, actions=actions, changed=bool(actions)))
    return None


def create(client, name, wanted):
    try:
        created = client.post("/networks/create", body=create_body(name, wanted))
    except EngineError as exc:
        if exc.kind != "http":
            raise
        exc.message = ("cannot create network %s: %s; check driver, driver_options and ipam_config"
                       % (name, exc.daemon_message or exc.message))
        raise
    return client.get(object_path("network", created["Id"]))


def ensure_absent(module, client, result):
    name = module.params["name"]
    network = inspect_network(client, name)
    if network is None:
        result["diff"] = {"before": {}, "after": {}}
        return
    result["diff"] = {"before": current_state(network), "after": {}}
    if name in PREDEFINED:
        module.fail_json(msg="network %s is predefined by the engine and cannot be removed" % name, **result)
    users = attached(client, network)
    if users:
        result["containers"] = sorted(users.values())
        if not module.params["force"]:
            module.fail_json(
                msg="network %s has containers attached: %s. Nothing was changed. Remove them first, or set "
                    "force: true to disconnect them and remove the network" % (name, ", ".join(result["containers"])),
                **result)
        result["actions"].append("disconnected")
    result["actions"].append("removed")
    if module.check_mode:
        return
    for container_id in users:
        client.post(object_path("network", network["Id"], "/disconnect"),
                    body={"Container": container_id, "Force": True})
    client.delete(object_path("network", network["Id"]))


def manage(module):
    protect(module, skip_keys=("client_key", "tls"))
    result = {"changed": False, "network": None, "actions": [], "differences": []}
    if not module.params["name"].strip():
        module.fail_json(msg="name is empty; give the network's name", **result)
    client = make_client(module.params)
    try:
        if module.params["state"] == "present":
            try:
                result["network"] = ensure_present(module, client, result)
            except InvalidInput as exc:
                module.fail_json(msg="%s. Nothing was changed" % exc, **result)
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
        "name": {"type": "str", "required": True, "aliases": ["network_name"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "driver": {"type": "str", "default": "bridge"},
        "driver_options": {"type": "dict", "aliases": ["options"]},
        "labels": {"type": "dict"},
        "internal": {"type": "bool"},
        "attachable": {"type": "bool"},
        "enable_ipv6": {"type": "bool"},
        "ipam_driver": {"type": "str"},
        "ipam_config": {"type": "list", "elements": "dict", "aliases": ["ipam"], "options": {
            "subnet": {"type": "str", "required": True},
            "gateway": {"type": "str"},
            "iprange": {"type": "str"},
            "aux_addresses": {"type": "dict"},
        }},
        "force": {"type": "bool", "default": False},
    })
    run_module(module, manage)


if __name__ == "__main__":
    main()
