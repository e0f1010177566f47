# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A compose project on the engine: its networks, volumes and services' containers, planned and applied.

Each container goes through the container module's plan (state.plan) and edges (engine.py): create, update in
place, the safe recreate with its health gate and rollback. Containers are found by one listing filtered on the
project's label; a container whose config-hash label, image and state match needs no inspect.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.dockhand.runtime.plugins.module_utils.container import compose, engine
from ansible_collections.dockhand.runtime.plugins.module_utils.container.comparisons import parse_comparisons
from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    container_references,
    create_body,
    get_path,
    parse_image,
    update_body,
    view,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container.state import plan
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError, object_path
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_pull import (
    Credentials,
    Pull,
    hub_mirrors,
    local_serves,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.platform import image_is_of

# compose recreates when the config changes: the stop timeout and the environment are compared strictly.
MODES = parse_comparisons({"stop_timeout": "strict", "env": "strict"})
# A container whose config hash is not the service's (the file changed, or another client made it) is compared
# strictly on every option, with compose's defaults for those the service does not set (compose.UNSET); labels
# may be more (compose's own, another client's).
STRICT = parse_comparisons({"*": "strict", "labels": "allow_more_present"})


class Failed(Exception):
    """A step failed after validation; ``details`` go into the result."""

    def __init__(self, message, **details):
        super(Failed, self).__init__(message)
        self.details = details


def listing(client, project_name):
    """GET /containers/json (all) of the project's containers, by its label: the run's one listing."""
    return client.get("/containers/json", params={
        "all": True, "filters": {"label": ["%s=%s" % (compose.PROJECT, project_name)]}}) or []


def by_service(entries):
    """{service: {number: listing entry}} of the project's one-off-free containers."""
    found = {}
    for entry in entries:
        labels = entry.get("Labels") or {}
        if labels.get(compose.ONEOFF, "False") != "False":
            continue
        try:
            number = int(labels.get(compose.NUMBER) or 1)
        except ValueError:
            number = 1
        found.setdefault(labels.get(compose.SERVICE) or "", {})[number] = entry
    return found


def entry_name(entry):
    return ((entry.get("Names") or ["/" + entry["Id"][:12]])[0]).lstrip("/")


def shown_container(container):
    """{name, id, state, health} of a listing entry or an inspect."""
    if container is None:
        return None
    if "State" in container and isinstance(container["State"], dict):
        state = container["State"]
        return {"name": (container.get("Name") or "").lstrip("/"), "id": container["Id"],
                "state": state.get("Status"), "health": get_path(state, "Health.Status")}
    status = container.get("Status") or ""
    health = None
    for word in ("healthy", "unhealthy", "starting"):
        if "(%s)" % word in status or "(health: %s)" % word in status:
            health = word
            break
    return {"name": entry_name(container), "id": container["Id"], "state": container.get("State"), "health": health}


class ComposeRun:
    """One run of the module over a project."""

    def __init__(self, module, client, project, result):
        self.module = module
        self.client = client
        self.project = project
        self.result = result
        self.params = module.params
        self.order = compose.check_project(project)
        self.acted = compose.acted(project["services"], self.params["services"] or [], self.params["state"])
        self.one_shots = compose.one_shots(project["services"])
        self.wanted = {}
        self.images = {}  # service -> (ref, inspect or None, name the engine holds it under)
        self.changed_services = set()
        self.timeout = self.params["wait_timeout"]

    # -- validation: nothing changes before it passes ------------------------------------------------------

    def validate(self):
        for name in self.order:
            if name not in self.acted:
                continue
            wanted, warnings = compose.service_wanted(self.project, name)
            for warning in warnings:
                self.module.warn(warning)
            self.wanted[name] = wanted
            try:
                parse_image(self.project["services"][name]["image"])
            except compose.OptionError as exc:
                raise compose.ComposeError("services.%s.image: %s" % (name, exc)) from None
        missing = []
        for kind in ("networks", "volumes"):
            for key in sorted(self.used(kind)):
                config = self.project[kind][key]
                if config.get("external") and self.client.inspect(kind[:-1], config["name"]) is None:
                    missing.append("%s.%s (%s)" % (kind, key, config["name"]))
        if missing:
            raise compose.ComposeError("external networks and volumes must exist before the project is deployed; "
                                       "missing: %s. Create them first (dockhand.runtime.network, "
                                       "dockhand.runtime.volume), or drop external: true" % ", ".join(missing))

    def used(self, kind):
        """Keys of the top-level networks or volumes the acted-on services use."""
        keys = set()
        for name in self.acted:
            service = self.project["services"][name]
            if kind == "networks":
                keys.update(service.get("networks") or [])
                if not service.get("networks") and not service.get("network_mode"):
                    keys.add("default")
            else:
                keys.update(volume.get("source") for volume in service.get("volumes") or []
                            if volume.get("type", "volume") == "volume" and volume.get("source"))
        return keys & set(self.project.get(kind) or {})

    # -- networks and volumes ------------------------------------------------------------------------------

    def ensure_networks_and_volumes(self):
        for kind in ("networks", "volumes"):
            for key in sorted(self.used(kind)):
                config = self.project[kind][key]
                shown = {"name": config["name"], "external": bool(config.get("external")), "actions": []}
                self.result[kind][key] = shown
                if config.get("external"):
                    continue
                current = self.client.inspect(kind[:-1], config["name"])
                if current is not None:
                    self.check_owner(kind, key, current)
                    continue
                shown["actions"].append("created")
                self.result["actions"].append("created %s %s" % (kind[:-1], config["name"]))
                if not self.module.check_mode:
                    self.create(kind, key, config)

    def check_owner(self, kind, key, current):
        labels = current.get("Labels") or {}
        if labels.get(compose.PROJECT) not in (None, self.project["name"]):
            self.module.warn("%s.%s: %s %s belongs to project %s; it is used as it is" % (
                kind, key, kind[:-1], current.get("Name"), labels.get(compose.PROJECT)))

    def create(self, kind, key, config):
        try:
            if kind == "networks":
                body = {"Name": config["name"], "CheckDuplicate": True, "Driver": config.get("driver") or "bridge",
                        "Options": compose._text_dict(config.get("driver_opts") or {}, "networks.%s" % key),
                        "Labels": compose.network_labels(self.project, key)}
                for flag, api in (("internal", "Internal"), ("attachable", "Attachable"),
                                  ("enable_ipv6", "EnableIPv6")):
                    if config.get(flag) is not None:
                        body[api] = bool(config[flag])
                if config.get("ipam"):
                    body["IPAM"] = compose.network_ipam(config, "networks.%s" % key)
                self.client.post("/networks/create", body=body)
            else:
                self.client.post("/volumes/create", body={
                    "Name": config["name"], "Driver": config.get("driver") or "local",
                    "DriverOpts": compose._text_dict(config.get("driver_opts") or {}, "volumes.%s" % key),
                    "Labels": compose.volume_labels(self.project, key)})
        except EngineError as exc:
            if exc.kind != "http":
                raise
            raise Failed("%s.%s: cannot create %s %s: %s" % (kind, key, kind[:-1], config["name"],
                                                             exc.daemon_message or exc),
                         engine_error=exc.to_dict()) from None

    # -- images --------------------------------------------------------------------------------------------

    def image(self, name):
        """(inspect or None in check mode before a pull, name the engine holds it under)."""
        service = self.project["services"][name]
        ref = parse_image(service["image"])
        local = self.images.get(ref.local)
        if local is None:
            local = self.client.inspect("image", ref.local)
        mode = compose.pull_mode(service, self.params["pull"])
        shown = self.result["services"][name]
        if self.params["state"] == "stopped":  # stopping pulls nothing
            return local, ref.local
        platform = (self.wanted.get(name) or {}).get("platform")
        if ref.local in self.images and mode == "always":
            mode = "missing"  # pulled once in this run already
        if local_serves(local, ref, mode, platform):
            self.images[ref.local] = local
            return local, ref.local
        if local is None and mode == "never":
            raise Failed("services.%s.image: %s is not on this host and pull is never; pull it first or set pull "
                         "to missing" % (name, ref.familiar))
        if self.module.check_mode:
            if local is None or not image_is_of(local, platform):
                shown["actions"].append("pulled")
                return None, ref.local
            return local, ref.local
        puller = Pull(self.module, self.client, ref, Credentials(self.module, ref), option="image",
                      platform=platform)
        try:
            after = puller.pull()
        except EngineError as exc:
            raise Failed("services.%s.image: %s" % (name, puller.failure(exc, mirrors=hub_mirrors(self.client, ref))),
                         engine_error=exc.to_dict()) from None
        if local is None or local.get("Id") != after.get("Id"):
            shown["actions"].append("pulled")
        self.images[ref.local] = after
        return after, puller.local_name

    # -- services ------------------------------------------------------------------------------------------

    def create_wanted(self, name, number):
        wanted = dict(self.wanted[name])
        wanted["labels"] = dict(wanted.get("labels") or {}, **compose.container_labels(self.project, name, number))
        return wanted

    def present(self, existing):
        for name in self.order:
            if name not in self.acted:
                continue
            if not self.module.check_mode:
                self.wait_for_dependencies(name)
            self.apply_service(name, existing.get(name) or {})

    def stop_service(self, name, current):
        """state stopped: the service's running containers stopped, nothing created, changed or pulled."""
        shown = self.result["services"][name]
        for number in sorted(current):
            entry = current[number]
            shown["containers"].append(shown_container(entry))
            if entry.get("State") not in ("running", "paused", "restarting"):
                continue
            shown["actions"].append("stopped %s" % entry_name(entry))
            if self.module.check_mode:
                continue
            try:
                engine.halt(self.client, entry["Id"], self.wanted[name].get("stop_timeout"), gone_ok=True)
            except EngineError as exc:
                raise self.engine_failed(name, entry_name(entry), exc) from None
        if not self.module.check_mode and shown["actions"]:
            found = by_service(listing(self.client, self.project["name"])).get(name) or {}
            shown["containers"] = [shown_container(found[number]) for number in sorted(found)]

    def engine_failed(self, name, container_name, exc):
        """A Failed for an engine error after validation: the result keeps what was done up to it."""
        return Failed("services.%s: container %s: %s" % (name, container_name, exc.daemon_message or exc),
                      engine_error=exc.to_dict())

    def apply_service(self, name, current):
        service = self.project["services"][name]
        shown = self.result["services"][name]
        image, image_name = self.image(name)
        image_id = image["Id"] if image else "(pending pull)"
        count = compose.replicas(service, "services." + name)
        keep, remove, create = compose.replica_plan(list(current), count)
        state = self.params["state"]
        if state == "stopped":
            remove, create = [], []
        restart_for = self.restart_because(name)
        self.resolve_references(name)
        for number in remove:
            self.remove(name, current[number], "removed")
        for number in keep:
            self.apply_container(name, number, current[number], image, image_id, image_name, restart_for)
        for number in create:
            self.apply_container(name, number, None, image, image_id, image_name, None)
        if not self.module.check_mode and (create or keep):
            found = by_service(listing(self.client, self.project["name"])).get(name) or {}
            shown["containers"] = [shown_container(found[number]) for number in sorted(found)]

    def resolve_references(self, name):
        """V(container:<name>) (from V(service:<name>)) becomes V(container:<ID>), as the engine records it, so a
        recreated service's namespace users are recreated with it."""
        for option, other in container_references(self.wanted[name]).items():
            found = self.client.inspect("container", other)
            if found is not None:
                self.wanted[name][option] = "container:" + found["Id"]

    def restart_because(self, name):
        """The dependency that changed and asks its dependants to restart (depends_on.<svc>.restart), or None."""
        for other, condition in sorted(compose.dependencies(self.project["services"][name]).items()):
            if (condition or {}).get("restart") and other in self.changed_services:
                return other
        return None

    def fast_unchanged(self, name, entry, image_id):
        """Whether a container is as wanted from its listing entry alone (its own config-hash, image, state)."""
        labels = entry.get("Labels") or {}
        if container_references(self.wanted[name]):  # the other container's ID is in no hash
            return False
        if self.params["recreate"] == "always" or labels.get(compose.CONFIG_HASH) != compose.config_hash(
                self.project["services"][name]) or entry.get("ImageID") != image_id:
            return False
        if self.params["state"] == "stopped":
            return entry.get("State") != "running"
        if name in self.one_shots:
            return entry.get("State") == "running" or "Exited (0)" in (entry.get("Status") or "")
        return entry.get("State") == "running" and self.params["state"] != "restarted"

    def apply_container(self, name, number, entry, image, image_id, image_name, restart_for):
        shown = self.result["services"][name]
        service = self.project["services"][name]
        if entry is not None and not restart_for and self.fast_unchanged(name, entry, image_id):
            shown["containers"].append(shown_container(entry))
            return
        container = self.client.inspect("container", entry["Id"]) if entry is not None else None
        if entry is not None and container is None:
            entry = None
        container_name = (container.get("Name") or "").lstrip("/") if container is not None else \
            compose.container_name(self.project["name"], name, number, service)
        compared = dict(self.wanted[name])
        compared.pop("labels", None)
        if service.get("labels"):
            compared["labels"] = self.wanted[name]["labels"]
        defaults, modes = {}, MODES
        if entry is not None and (entry.get("Labels") or {}).get(compose.CONFIG_HASH) != compose.config_hash(service):
            defaults, modes = compose.unset_defaults(compared), STRICT
            compared.update(defaults)
        state = self.params["state"]
        plan_state = {"stopped": "stopped", "absent": "absent"}.get(state, "started")
        one_shot = name in self.one_shots and container is not None and not engine.is_running(container) \
            and get_path(container, "State.ExitCode") == 0
        if one_shot or (state == "stopped" and container is None):
            plan_state = "present"
        image_config = (image or {}).get("Config") or {}
        old_image_config = None
        if container is not None and container.get("Image") != image_id:
            old_image_config = (self.client.inspect("image", container["Image"]) or {}).get("Config") or {}
            if image is None:
                image_config = old_image_config
        # check mode before a pull: a reference the container was not made from is a new image
        new_reference = image is None and container is not None and get_path(container, "Config.Image") not in (
            service["image"], parse_image(service["image"]).local)
        current_plan = plan(plan_state, container, compared, image_id if image else None, image_config,
                            recreate=(self.params["recreate"] == "always" or new_reference) and container is not None,
                            old_image_config=old_image_config, modes=modes)
        if new_reference and "image" not in current_plan.differences:
            current_plan.differences.insert(0, "image")
        if self.params["recreate"] == "never" and current_plan.mode == "recreate":
            current_plan.actions = [action for action in current_plan.actions if action != "recreated"]
            current_plan.mode = None
            if engine.is_running(container) or plan_state != "started":
                current_plan.actions = []
        untouched = container is not None and current_plan.mode is None and "started" not in current_plan.actions
        if untouched and (state == "restarted" or (restart_for and engine.is_running(container))):
            current_plan.actions.append("restarted")
        if current_plan.actions:
            shown["actions"].extend("%s %s" % (action, container_name) for action in current_plan.actions)
            shown["differences"] = sorted(set(shown["differences"]) | set(current_plan.differences))
            if current_plan.mode in ("recreate", "create") or "restarted" in current_plan.actions:
                self.changed_services.add(name)
        if self.module._diff and (current_plan.differences or current_plan.mode == "create"):
            names = list(compared) if current_plan.mode == "create" else [
                option for option in current_plan.differences if option != "image"]
            before, after = view(names, compared, container, image_config)
            if "image" in current_plan.differences:
                before["image"], after["image"] = get_path(container, "Config.Image"), service["image"]
            self.result["diff"]["before"].setdefault(name, {})[container_name] = before
            self.result["diff"]["after"].setdefault(name, {})[container_name] = after
        if self.module.check_mode or not current_plan.actions:
            if container is not None:
                shown["containers"].append(shown_container(container))
            return
        self.execute(name, container_name, number, current_plan, container, image_name, image, defaults)

    def execute(self, name, container_name, number, current_plan, container, image_name, image, defaults=None):
        wanted = self.create_wanted(name, number)
        networks = wanted.get("networks") or []
        stop_timeout = wanted.get("stop_timeout")
        image_ref = image_name if image is not None else container["Image"]
        try:
            if current_plan.mode == "create":
                new = engine.create(self.client, container_name, create_body(wanted, image_ref), networks)
                if "started" in current_plan.actions:
                    self.start(name, container_name, new, fresh=True)
            elif current_plan.mode == "recreate":
                engine.safe_recreate(self.client, container, container_name, create_body(wanted, image_ref),
                                     networks, stop_timeout, start_new="started" in current_plan.actions,
                                     health_timeout=self.timeout)
            else:
                if current_plan.mode == "update":
                    for warning in engine.update(self.client, container["Id"], update_body(
                            current_plan.differences, dict(defaults or {}, **wanted), container)):
                        self.module.warn(warning)
                if "started" in current_plan.actions:
                    self.start(name, container_name, container)
                elif "stopped" in current_plan.actions:
                    engine.halt(self.client, container["Id"], stop_timeout)
                elif "restarted" in current_plan.actions:
                    engine.restart(self.client, container["Id"], stop_timeout)
                    self.came_up(name, container_name, container["Id"])
        except engine.Gone:
            raise Failed("services.%s: container %s disappeared while it was being changed (removed by someone "
                         "else?); run the task again" % (name, container_name)) from None
        except EngineError as exc:
            raise self.engine_failed(name, container_name, exc) from None
        except engine.ContainerFailure as exc:
            details = dict(exc.details)
            done = details.pop("actions", [])
            self.result["services"][name]["actions"].extend("%s %s" % (action, container_name) for action in done)
            raise Failed("services.%s: %s" % (name, exc), **details) from None

    def start(self, name, container_name, container, fresh=False):
        try:
            engine.start(self.client, container["Id"])
        except EngineError as exc:
            if exc.kind != "http":
                raise
            if fresh:
                engine.remove(self.client, container["Id"], volumes=True)
            said = exc.daemon_message or str(exc)
            option = engine.blame(said)
            raise Failed("services.%s: cannot start container %s%s: %s%s" % (
                name, container_name, " (check %s)" % option if option else "", said,
                "; the new container was removed" if fresh else ""), engine_error=exc.to_dict()) from None
        self.came_up(name, container_name, container["Id"])

    def came_up(self, name, container_name, container_id):
        ok, current = engine.came_up(self.client, container_id, self.timeout)
        if not ok:
            details = engine.failure_details(self.client, current)
            waited = engine.health_wait(current, self.timeout)
            raise Failed("services.%s: %s" % (name, engine.describe_not_up(container_name, details, waited)),
                         new_container=details)

    def remove(self, name, entry, action):
        container_name = entry_name(entry)
        self.result["services"].setdefault(name, {"containers": [], "actions": [], "differences": []})
        self.result["services"][name]["actions"].append("%s %s" % (action, container_name))
        if self.module.check_mode:
            return
        try:
            if entry.get("State") == "running":
                engine.halt(self.client, entry["Id"], (self.wanted.get(name) or {}).get("stop_timeout"), gone_ok=True)
            engine.remove(self.client, entry["Id"], volumes=bool(self.params["remove_volumes"]))
        except EngineError as exc:
            raise self.engine_failed(name, container_name, exc) from None

    # -- conditions and waiting ----------------------------------------------------------------------------

    def wait_for_dependencies(self, name):
        for other, condition in sorted(compose.dependencies(self.project["services"][name]).items()):
            if other not in self.acted:
                continue
            kind = (condition or {}).get("condition") or "service_started"
            if kind == "service_started":
                continue
            for item in self.result["services"][other]["containers"]:
                self.wait_one(other, item, kind, "services.%s.depends_on.%s" % (name, other))

    def wait_one(self, name, item, kind, path):
        deadline = time.monotonic() + self.timeout
        while True:
            current = self.client.inspect("container", item["id"])
            if current is None:
                raise Failed("%s: container %s of service %s is gone" % (path, item["name"], name))
            running = engine.is_running(current)
            code = get_path(current, "State.ExitCode")
            health = get_path(current, "State.Health.Status")
            if kind == "service_completed_successfully":
                if not running:
                    if code == 0:
                        return
                    raise Failed("%s: service %s did not complete successfully: container %s exited with code %s"
                                 % (path, name, item["name"], code),
                                 new_container=engine.failure_details(self.client, current))
            elif self.reached(name, kind, current):
                return
            if time.monotonic() >= deadline:
                raise Failed("%s: service %s was not %s within wait_timeout (%ss): container %s is %s%s" % (
                    path, name, kind.replace("service_", "").replace("_", " "), self.timeout, item["name"],
                    get_path(current, "State.Status"), " (%s)" % health if health else ""),
                    new_container=engine.failure_details(self.client, current))
            time.sleep(engine.POLL_SECONDS)

    def reached(self, name, kind, current):
        """Whether a container meets service_healthy, or (kind V(running)) what O(wait) asks."""
        running = engine.is_running(current)
        health = get_path(current, "State.Health.Status")
        if kind == "service_healthy":
            return running and (health == "healthy" or not engine.has_healthcheck(current))
        return (running and health in (None, "healthy")) or (
            name in self.one_shots and not running and get_path(current, "State.ExitCode") == 0)

    def wait_all(self):
        for name in self.order:
            if name in self.acted:
                for item in self.result["services"][name]["containers"]:
                    self.wait_one(name, item, "running", "wait")

    # -- other states --------------------------------------------------------------------------------------

    def orphans(self, existing):
        for service_name in sorted(existing):
            if service_name in self.project["services"]:
                continue
            names = [entry_name(entry) for _n, entry in sorted(existing[service_name].items())]
            if not self.params["remove_orphans"]:
                self.module.warn("containers of services not in the project: %s; set remove_orphans: true to "
                                 "remove them" % ", ".join(names))
                continue
            for _number, entry in sorted(existing[service_name].items()):
                self.remove(service_name, entry, "removed")
                self.result["actions"].append("removed orphan %s" % entry_name(entry))

    def absent(self, existing):
        for name in reversed(self.order):
            if name in self.acted:
                for _number, entry in sorted((existing.get(name) or {}).items(), reverse=True):
                    self.remove(name, entry, "removed")
        if self.params["remove_orphans"]:
            self.orphans(existing)
        if self.params["services"]:
            return
        for kind in ("networks", "volumes"):
            if kind == "volumes" and not self.params["remove_volumes"]:
                continue
            for key in sorted(self.project.get(kind) or {}):
                config = self.project[kind][key]
                if config.get("external"):
                    continue
                current = self.client.inspect(kind[:-1], config["name"])
                if current is None or (current.get("Labels") or {}).get(compose.PROJECT) != self.project["name"]:
                    continue
                self.result[kind][key] = {"name": config["name"], "external": False, "actions": ["removed"]}
                self.result["actions"].append("removed %s %s" % (kind[:-1], config["name"]))
                if not self.module.check_mode:
                    try:
                        self.client.delete(object_path(kind[:-1], config["name"]))
                    except EngineError as exc:
                        if not (exc.kind == "http" and exc.status == 404):
                            raise Failed("%s.%s: cannot remove %s %s: %s" % (
                                kind, key, kind[:-1], config["name"], exc.daemon_message or exc),
                                engine_error=exc.to_dict()) from None

    def run(self):
        self.validate()
        existing = by_service(listing(self.client, self.project["name"]))
        for name in self.order:
            if name in self.acted:
                self.result["services"][name] = {"containers": [], "actions": [], "differences": []}
        if self.params["state"] == "absent":
            self.absent(existing)
            return
        if self.params["state"] == "stopped":
            for name in reversed(self.order):
                if name in self.acted:
                    self.stop_service(name, existing.get(name) or {})
            return
        self.ensure_networks_and_volumes()
        self.present(existing)
        self.orphans(existing)
        if self.params["wait"] and not self.module.check_mode:
            self.wait_all()
