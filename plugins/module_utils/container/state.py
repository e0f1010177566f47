# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's wanted state against its inspect: the differences and the plan.

The plan is a list of actions (created, updated, recreated, started, stopped,
restarted, removed) that check mode reports, diff mode explains and normal
mode carries out; the same function decides all three. Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.dockhand.runtime.plugins.module_utils.container.comparisons import differences
from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    get_path,
    in_place,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_env_entry, mask_urls, redact

# Temporary names during a safe recreate: the new container is created under NEW_SUFFIX and the old
# one waits under OLD_SUFFIX until the new one is up.
NEW_SUFFIX = "__dockhand_new"
OLD_SUFFIX = "__dockhand_old"

_VOLUME_ID = re.compile(r"[0-9a-f]{64}")


class Plan:
    """What to do with one container, and why."""

    __slots__ = ("actions", "differences", "image_changed", "mode", "why", "only_networks")

    def __init__(self, actions=None, differences=None, image_changed=False, mode=None, why=None):
        self.actions = actions or []
        self.differences = differences or []
        self.image_changed = image_changed
        self.mode = mode  # create | update | recreate | remove | None
        self.why = why  # why a difference that could be updated recreates instead
        self.only_networks = None  # names: a new container is disconnected from any other network

    def __repr__(self):
        return "Plan(%s, %s)" % (self.mode, self.actions)


def is_running(container):
    return bool(get_path(container, "State.Running"))


def is_paused(container):
    return bool(get_path(container, "State.Paused"))


def pause_actions(plan_, container, paused):
    """Add 'paused' or 'unpaused' to a plan for a started container, as ``paused`` asks (None: as it is)."""
    if paused is None:
        return plan_
    fresh = plan_.mode in ("create", "recreate")
    currently = False if fresh or container is None else is_paused(container)
    if paused and not currently:
        plan_.actions.append("paused")
    elif not paused and currently:
        plan_.actions.append("unpaused")
    return plan_


def plan(state, container, wanted, image_id, image_config, recreate=False, restart=False, old_image_config=None,
         paused=None, modes=None, networks_in_place=False):
    """The plan for ``state`` given the current ``container`` inspect (None when absent).

    ``wanted`` holds the table options the task sets (engine form); ``image_id``
    is the ID of the image the task names, resolved locally (None when the
    task names no image or it is not known yet, as in check mode before a pull).
    When the image changes, ``old_image_config`` (the container's current
    image's config) tells a difference the task made from one the new image
    brings: only the first is reported next to ``image``. ``paused`` (for state
    started) pauses or unpauses the running container. ``modes`` are the
    comparison modes of comparisons.parse_comparisons (default: community.docker's). With
    ``networks_in_place``, a difference in networks is an update (connect and disconnect), not a recreate.
    """
    found = _plan(state, container, wanted, image_id, image_config, recreate, restart, old_image_config, modes or {},
                  networks_in_place)
    return pause_actions(found, container, paused) if state == "started" else found


def _plan(state, container, wanted, image_id, image_config, recreate, restart, old_image_config, modes,
          networks_in_place):
    if state == "absent":
        return Plan(["removed"] if container else [], mode="remove" if container else None)
    if container is None:
        return Plan(["created"] + (["started"] if state == "started" else []), mode="create")
    image_changed = bool(image_id) and container.get("Image") != image_id and modes.get("image") != "ignore"
    found = differences(wanted, container, old_image_config if image_changed and old_image_config is not None
                        else image_config, modes or None)
    running = is_running(container)
    result = Plan(differences=(["image"] if image_changed else []) + found, image_changed=image_changed)
    why = None if recreate or image_changed or not found else in_place(found, wanted, container, networks_in_place)
    if recreate or image_changed or why is not None:
        result.mode = "recreate"
        result.why = str(why) if why is not None else None
        result.actions.append("recreated")
        if state == "started":  # present leaves a recreated container created, as community.docker does
            result.actions.append("started")
        return result
    if found:
        result.mode = "update"
        result.actions.append("updated")
    if state == "started" and not running:
        result.actions.append("started")
    elif state == "stopped" and running:
        result.actions.append("stopped")
    elif restart and state == "started" and running:
        result.actions.append("restarted")
    return result


def anonymous_volumes(container):
    """``{destination: volume name}`` of the container's anonymous volumes (64-hex names)."""
    found = {}
    for mount in container.get("Mounts") or []:
        if mount.get("Type") == "volume" and _VOLUME_ID.fullmatch(mount.get("Name") or ""):
            found[mount.get("Destination")] = mount["Name"]
    return found


def carry_over_binds(old_container, body):
    """Binds that give the new container the old one's anonymous volumes, where it has no mount of its own."""
    taken = {bind.split(":")[1] for bind in get_path(body, "HostConfig.Binds") or [] if ":" in bind}
    taken |= {mount.get("Target") for mount in get_path(body, "HostConfig.Mounts") or []}
    taken |= set(get_path(body, "HostConfig.Tmpfs") or {})
    return ["%s:%s" % (name, destination) for destination, name in sorted(anonymous_volumes(old_container).items())
            if destination not in taken]


def has_healthcheck(container):
    test = get_path(container, "Config.Healthcheck.Test") or []
    return bool(test) and test[0] != "NONE"


def shown_inspect(container):
    """A container's inspect fit to show: Env values of secret-named variables, URL credentials, secret-named
    labels and logging options masked (redact's rule)."""
    shown = copy.deepcopy(container)
    config = shown.get("Config") or {}
    if config.get("Env"):
        config["Env"] = [mask_env_entry(mask_urls(entry)) for entry in config["Env"]]
    if config.get("Labels"):
        config["Labels"] = redact(config["Labels"])
    log_config = (shown.get("HostConfig") or {}).get("LogConfig") or {}
    if log_config.get("Config"):  # splunk-token, loki-url with credentials, from the task or daemon.json
        log_config["Config"] = redact(log_config["Config"])
    return shown


def summary(container):
    """What results show of a container: its inspect as community.docker returns it (secrets masked), and the
    short lower-case keys of this collection beside the engine's own."""
    if container is None:
        return None
    state = container.get("State") or {}
    shown = shown_inspect(container)
    shown.update({
        "id": container.get("Id"),
        "name": (container.get("Name") or "").lstrip("/"),
        "image": get_path(container, "Config.Image"),
        "image_id": container.get("Image"),
        "status": state.get("Status"),
        "running": bool(state.get("Running")),
        "exit_code": state.get("ExitCode"),
        "health": get_path(state, "Health.Status"),
        "restart_count": container.get("RestartCount"),
    })
    return shown
