# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the container module does with one task: read it, compare it with the container, and act.

The module file holds only its documentation and calls :func:`main`: code here is compiled once
and kept on the host (host/bytecode.py), while Ansible compiles a module's own file on every run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.dockhand.runtime.plugins.module_utils.container import engine
from ansible_collections.dockhand.runtime.plugins.module_utils.container.comparisons import parse_comparisons
from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    OPTIONS_BY_NAME,
    OptionError,
    argument_spec,
    caveats,
    container_references,
    create_body,
    expected_network_names,
    get_path,
    network_steps,
    parse_default_host_ip,
    parse_image,
    parse_name,
    parse_options,
    parse_published_ports,
    parse_stop_signal,
    update_body,
    view,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.container.state import plan, summary
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_pairs, protect
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_pull import (
    Credentials,
    Pull,
    hub_mirrors,
    local_serves,
    remote_digest,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.platform import image_is_of
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import knows_digest

# Options whose comparison needs the image's own defaults.
_USES_IMAGE = ("env", "labels", "command", "entrypoint", "exposed_ports", "volumes", "stop_signal")


_IMAGE_ID = re.compile(r"(?:sha256:)?([0-9a-f]{64})")


def image_id_of(value):
    """``sha256:<hex>`` when O(image) is an image ID (with or without C(sha256:)), else None: an ID names an image
    this host holds and is never pulled, as in community.docker."""
    found = _IMAGE_ID.fullmatch(value or "")
    return "sha256:" + found.group(1) if found else None


def resolve_image(module, client, ref, result, platform=None):
    """(inspect, name) of the image after pulling as O(pull) says; inspect None in check mode when a pull would
    bring it. ``name`` is what the engine holds it under (a mirror's digest name for a pinned image a mirror of
    Docker's rewrite table served). With O(platform), a local image of another platform is pulled again for it
    (unless O(pull=never))."""
    image_id = image_id_of(module.params["image"])
    if image_id is not None:
        local = client.inspect("image", image_id)
        if local is None:
            module.fail_json(msg="image: %s is an image ID this host does not hold; an ID cannot be pulled, so pull "
                                 "the image by its name first" % image_id, **result)
        return local, image_id
    local = client.inspect("image", ref.local)
    mode = module.params["pull"]
    if local_serves(local, ref, mode, platform):
        return local, ref.local
    puller = Pull(module, client, ref, Credentials(module, ref), option="image", platform=platform)
    if local is None and ref.digest:
        local = puller.local_copy()  # pinned, and served by a mirror of the rewrite table before
        if local is not None:
            return local, puller.local_name
    if local is None and mode == "never":
        module.fail_json(msg="Cannot find image with name %s, and pull=never" % with_tag(module.params["image"]),
                         **result)  # community.docker's words, which playbooks compare whole
    if module.check_mode and local is not None and module.params["pull_check_mode_behavior"] == "always":
        result["pulled"] = True  # claimed without asking the registry, as the option says (community.docker)
        result["actions"].append({"pulled_image": with_tag(module.params["image"])})
        return local, ref.local
    if module.check_mode:
        digest = puller.predict(local)
        result["mirror"] = puller.served
        if digest is None:
            try:
                digest = remote_digest(client, ref, puller.credentials)
            except EngineError as exc:
                if exc.kind == "http" and exc.status in (401, 403, 404):
                    module.fail_json(msg=puller.failure(exc, check_mode=True, mirrors=hub_mirrors(client, ref)),
                                     engine_error=exc.to_dict(), **result)
                digest = None
        if (local is not None and digest and knows_digest(local.get("RepoDigests"), ref, digest)
                and image_is_of(local, platform)):
            return local, ref.local
        result["pulled"] = True
        result["actions"].append(pulled_action(module, True))
        return None, ref.local
    try:
        after = puller.pull()
    except EngineError as exc:
        module.fail_json(msg=puller.failure(exc, mirrors=hub_mirrors(client, ref)), engine_error=exc.to_dict(),
                         **result)
    result["pulled"] = True
    result["mirror"] = puller.served
    result["actions"].append(pulled_action(module, local is None or local.get("Id") != after.get("Id")))
    return after, puller.local_name


def pulled_action(module, changed):
    """A pull in actions, as community.docker records it (a pull that brought nothing new is there, unchanged)."""
    return {"pulled_image": with_tag(module.params["image"]), "changed": changed}


def changes(actions):
    """Whether ``actions`` change anything: a pull that brought nothing new does not."""
    return any(not isinstance(action, dict) or action.get("changed", True) for action in actions)


def read_env_file(module, result):
    """The text of O(env_file) (a file on the target), or None without one."""
    path = module.params.get("env_file")
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        module.fail_json(msg="env_file: cannot read %s (%s); give a readable file of KEY=value lines"
                             % (path, exc.strerror or exc), **result)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        module.fail_json(msg="env_file: %s is not UTF-8 text" % path, **result)


def resolve_references(module, client, wanted):
    """``container:<name>`` in network_mode, pid_mode and ipc_mode becomes ``container:<ID>``, as the engine
    records it; a container that does not exist is left as written (the engine will refuse it) with a warning."""
    for option, other in container_references(wanted).items():
        found = client.inspect("container", other)
        if found is None:
            module.warn("%s: no container %s here (yet); the engine refuses to create a container that refers "
                        "to a missing one" % (option, other))
            continue
        wanted[option] = "container:" + found["Id"]


def check_api(client, wanted):
    for name in wanted:
        minimum = OPTIONS_BY_NAME[name].minimum_api
        if minimum and not client.api_at_least(minimum):
            raise OptionError("%s: needs engine API %s; this engine speaks %s" % (name, minimum, client.api_version))


def set_diff(result, current_plan, wanted, container, image_config, image_id, ref):
    """Before and after of what differs; the after side is built from the image the task names."""
    names = list(wanted) if current_plan.mode == "create" else [
        name for name in current_plan.differences if name != "image"]
    before, after = view(names, wanted, container, image_config)
    if container is not None:
        before["image"] = get_path(container, "Config.Image")
        before["image_id"] = container.get("Image")
        before["running"] = bool((container.get("State") or {}).get("Running"))
    if current_plan.mode == "remove":
        after = {}
    else:
        after["image"] = ref.familiar if ref else before.get("image")
        after["image_id"] = image_id or before.get("image_id")
        if image_id == PENDING:
            after["image_id"] = ("(%s is not pulled yet: its own env, labels and command are taken from %s)" % (
                ref.familiar, "the current image" if container is not None else "nothing; they are not known "
                "before the pull"))
        after["running"] = ("started" in current_plan.actions or "restarted" in current_plan.actions or (
            before.get("running", False) and not {"stopped", "recreated"} & set(current_plan.actions)))
    result["diff"] = {"before": before, "after": after}


def fail_not_up(module, client, name, container, result):
    details = engine.failure_details(client, container)
    result["container"] = summary(container)
    waited = engine.health_wait(container, start_wait(module.params))
    module.fail_json(msg=engine.describe_not_up(name, details, waited),
                     new_container=details, **result)


def start_checked(module, client, name, container_id, result, fresh=False):
    """Start a container and make sure it came up; a fresh one that the engine cannot start is removed."""
    try:
        engine.start(client, container_id)
    except EngineError as exc:
        if exc.kind != "http":
            raise
        if fresh:
            engine.remove(client, container_id, volumes=True)
            result["actions"] = [action for action in result["actions"] if action not in ("created", "started")]
        else:
            result["actions"] = [action for action in result["actions"] if action != "started"]
        result["changed"] = changes(result["actions"])
        said = exc.daemon_message or str(exc)
        option = engine.blame(said)
        module.fail_json(msg="cannot start container %s%s: %s%s" % (
            name, " (check %s)" % option if option else "", said,
            "; the new container was removed" if fresh else ""), engine_error=exc.to_dict(), **result)
    auto_remove = bool(module.params["auto_remove"])
    # with state healthy, wait_healthy waits afterwards, through unhealthy, up to healthy_wait_timeout
    wait = 0 if module.params["state"] == "healthy" else start_wait(module.params)
    ok, current = engine.came_up(client, container_id, wait, auto_remove=auto_remove)
    if not ok and module.params["detach"]:
        fail_not_up(module, client, name, current, result)
    return current


# The output of a container with auto_remove, which is gone before its logs can be read (community.docker's words).
AUTO_REMOVED_OUTPUT = "Cannot retrieve result as auto_remove is enabled"


def attached_container(shown, output):
    """The result's container after a run with detach false: what summary() shows of it (None once removed)
    with the output under Output, where community.docker puts it."""
    return dict(shown or {}, Output=output)


def run_attached(module, client, container_id, result):
    try:
        code, output = engine.wait_exit(client, container_id, timeout=None)
    except engine.Gone:
        module.warn("container %s removed itself (auto_remove) before its exit code could be read"
                    % module.params["name"])
        result["output"] = AUTO_REMOVED_OUTPUT
        return
    result["status"] = code
    result["output"] = AUTO_REMOVED_OUTPUT if module.params["auto_remove"] else output
    if code != 0:
        result["container"] = attached_container(summary(client.inspect("container", container_id)),
                                                 result["output"])
        module.fail_json(msg="container %s exited with code %s; its output is in output" % (
            module.params["name"], code), **result)


def only_networks(wanted, modes):
    """The networks a container may be on, when ``networks`` is compared strictly (else None: any more may be)."""
    if "networks" not in wanted or modes.get("networks") != "strict":
        return None
    return expected_network_names(wanted["networks"], wanted)


def recreate(module, client, name, current_plan, container, wanted, image_name, result):
    """The safe recreate; returns the new container's inspect (None when it ran and removed itself)."""
    body = creation_body(module.params, wanted, image_name or container["Image"])
    start_new = "started" in current_plan.actions
    warnings = []
    try:
        new = engine.safe_recreate(client, container, name, body, wanted.get("networks") or [],
                                   wanted.get("stop_timeout"), start_new=start_new,
                                   health_timeout=start_wait(module.params),
                                   force_kill=module.params["force_kill"], kill_signal=module.params["kill_signal"],
                                   warnings=warnings, only_networks=current_plan.only_networks)
    finally:
        for warning in warnings:
            module.warn(warning)
    if new is not None and not module.params["detach"] and start_new:
        run_attached(module, client, new["Id"], result)
        new = client.inspect("container", new["Id"])
    return pause_or_resume(client, current_plan, new)


def execute(module, client, name, current_plan, container, wanted, image_name, result):
    """Carry out the plan; returns the container's inspect afterwards (None when there is none).

    ``image_name`` is the name the engine holds the task's image under (None: the task names no image).

    Raises engine.Gone when the container disappeared between the inspect and a call.
    """
    params = module.params
    stop_timeout = wanted.get("stop_timeout")
    new = container
    if current_plan.mode == "remove":
        if engine.is_running(container):
            engine.halt(client, container["Id"], stop_timeout, params["force_kill"], params["kill_signal"],
                        gone_ok=True)
        engine.remove(client, container["Id"], volumes=not params["keep_volumes"], wait=removal_wait(params))
        return None
    if current_plan.mode == "create":
        warnings = []
        new = engine.create(client, name, creation_body(params, wanted, image_name), wanted.get("networks") or [],
                            warnings=warnings, only_networks=current_plan.only_networks)
        for warning in warnings:
            module.warn(warning)
    elif current_plan.mode == "update":
        limits = [name for name in current_plan.differences if name != "networks"]
        try:
            warnings = engine.update(client, container["Id"], update_body(limits, wanted, container)) if limits else []
        except EngineError as exc:
            if exc.kind != "http" or exc.status not in (400, 409):
                raise
            module.warn("the engine refused to change %s in place (%s); the container is recreated instead"
                        % (", ".join(current_plan.differences), exc.daemon_message or exc))
            result["actions"] = ["recreated" if action == "updated" else action for action in result["actions"]]
            if "started" not in result["actions"] and planned_state(params) == "started":
                result["actions"].append("started")
            current_plan.actions = [action for action in result["actions"] if not isinstance(action, dict)]
            return recreate(module, client, name, current_plan, container, wanted, image_name, result)
        for warning in warnings:
            module.warn(warning)
        if "networks" in current_plan.differences:
            try:
                engine.reconnect(client, name, container, network_steps(wanted["networks"], container,
                                                                        current_plan.only_networks))
            except engine.ContainerFailure as exc:
                if not exc.details.pop("undone", True) or limits:  # something did change
                    exc.details["actions"] = ["updated"]
                raise
        new = client.inspect("container", container["Id"])
        if new is None:
            raise engine.Gone(name)
    elif current_plan.mode == "recreate":
        return recreate(module, client, name, current_plan, container, wanted, image_name, result)
    if "started" in current_plan.actions:
        new = start_checked(module, client, name, new["Id"], result, fresh=current_plan.mode == "create")
        if new is not None and not params["detach"]:
            run_attached(module, client, new["Id"], result)
            new = client.inspect("container", new["Id"])
    elif "stopped" in current_plan.actions:
        engine.halt(client, new["Id"], stop_timeout, params["force_kill"], params["kill_signal"])
        new = client.inspect("container", new["Id"])
    elif "restarted" in current_plan.actions:
        engine.restart(client, new["Id"], stop_timeout)
        ok, new = engine.came_up(client, new["Id"], start_wait(params),
                                 auto_remove=bool(get_path(new, "HostConfig.AutoRemove")))
        if not ok:
            fail_not_up(module, client, name, new, result)
    return pause_or_resume(client, current_plan, new)


def pause_or_resume(client, current_plan, container):
    """Carry out 'paused' or 'unpaused' of the plan; returns the container's inspect afterwards."""
    if container is None or not {"paused", "unpaused"} & set(current_plan.actions):
        return container
    if "paused" in current_plan.actions:
        engine.pause(client, container["Id"])
    else:
        engine.unpause(client, container["Id"])
    return client.inspect("container", container["Id"])


def wait_healthy(module, client, name, container, result):
    """With state healthy, wait (bounded) until the container with a healthcheck reports healthy."""
    if module.params["state"] != "healthy" or module.check_mode or container is None:
        return container
    if not engine.has_healthcheck(container):
        return container
    ok, current = engine.wait_healthy(client, container["Id"], healthy_wait(module.params), through_unhealthy=True)
    if not ok:
        details = engine.failure_details(client, current)
        result["container"] = summary(current)
        module.fail_json(msg=not_healthy_message(name, current, details, healthy_wait(module.params)),
                         new_container=details, **result)
    return current


def not_healthy_message(name, container, details, timeout):
    """Why state healthy failed: a container still running ran out of time (community.docker's words, which
    playbooks match), any other one did not come up."""
    state = details["state"] or {}
    if container is None or state.get("status") != "running" or timeout is None:
        return engine.describe_not_up(name, details, timeout)
    text = 'Timeout of %s seconds exceeded while waiting for container "%s" to become healthy (it is %s)' % (
        timeout, container["Id"], state.get("health"))
    if state.get("health_log"):
        text += "; last health check output: %s" % state["health_log"][-1][:300]
    return text


def healthy_wait(params):
    """healthy_wait_timeout in seconds, None (no bound) for 0 or less, as community.docker reads it."""
    value = params["healthy_wait_timeout"]
    return None if value is None or value <= 0 else value


def start_wait(params):
    """How long a start or recreate waits for health: with state healthy, the longer of the two timeouts."""
    if params["state"] != "healthy":
        return params["health_timeout"]
    wait = healthy_wait(params)
    return None if wait is None else max(params["health_timeout"], wait)


def clean_up(module, client, container, result):
    """With cleanup and detach false, remove the container that ran and exited with code 0."""
    params = module.params
    if not params["cleanup"] or params["detach"] or container is None or result.get("status") != 0:
        return container
    engine.remove(client, container["Id"], volumes=not params["keep_volumes"], wait=removal_wait(params))
    result["actions"].append("removed")
    result["changed"] = True
    return container


# The defaults community.docker's container_default_behavior=compatibility gives options a task leaves out.
COMPATIBILITY_DEFAULTS = {"auto_remove": False, "detach": True, "init": False, "interactive": False, "memory": "0",
                          "paused": False, "privileged": False, "read_only": False, "tty": False}


def apply_compatibility(module):
    """command_handling and container_default_behavior set to compatibility, as community.docker reads them."""
    params = module.params
    if params["container_default_behavior"] == "compatibility":
        for option, value in COMPATIBILITY_DEFAULTS.items():
            if option in params and params[option] is None:
                params[option] = value
    if params["command_handling"] == "compatibility":
        for option in ("command", "entrypoint"):
            value = params.get(option)
            if isinstance(value, list):  # joined and split again, as community.docker did before 3.0.0
                value = shlex.split(" ".join(str(item) for item in value))
            params[option] = value or None  # an empty command or entrypoint counts as not given
    first = (params.get("networks") or [None])[0]
    first = first.get("name") if isinstance(first, dict) else first
    if params["networks_cli_compatible"] and params.get("network_mode") is None and first and isinstance(first, str):
        params["network_mode"] = first  # as docker run --network: the first network is the network mode


def with_tag(image):
    """The image as the task names it, with :latest when it names no tag or digest."""
    name = image.partition("@")[0]
    if "@" in image or ":" in name.rpartition("/")[2]:
        return image
    return image + ":latest"


HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"


def fill_default_host_ip(client, params, wanted):
    """Published ports that name no host IP, without default_host_ip: the host_binding_ipv4 of the first listed
    bridge network that sets one, else 0.0.0.0, as community.docker fills them in."""
    if params["default_host_ip"] is not None or not wanted.get("published_ports"):
        return
    address = "0.0.0.0"
    for network in wanted.get("networks") or []:
        found = client.inspect("network", network["name"])
        if found is None:
            raise OptionError("networks: network %s does not exist, so the host IP of published_ports cannot be "
                              "read from it; create it first (dockhand.runtime.network) or set default_host_ip"
                              % network["name"])
        if found.get("Driver") == "bridge" and (found.get("Options") or {}).get(HOST_BINDING):
            address = found["Options"][HOST_BINDING]
            break
    try:
        wanted["published_ports"] = parse_published_ports(params["published_ports"], parse_default_host_ip(address))
    except OptionError as exc:
        raise OptionError("published_ports: %s" % exc) from None


def creation_body(params, wanted, image):
    """The create body; with networks_cli_compatible false (and no network_mode) the container starts on the
    engine's default network and engine.create connects it to every listed network."""
    if not params["networks_cli_compatible"] and "network_mode" not in wanted:
        wanted = {name: value for name, value in wanted.items() if name != "networks"}
    return create_body(wanted, image)


def check_image_labels(module, image_config, wanted, modes, result):
    """image_label_mismatch=fail with labels compared strictly: the image's labels must all be in labels."""
    if module.params["image_label_mismatch"] != "fail" or modes.get("labels") != "strict":
        return
    missing = sorted(set((image_config or {}).get("Labels") or {}) - set(wanted.get("labels") or {}))
    if missing:
        module.fail_json(msg=image_labels_message(missing), **result)


def image_labels_message(missing):
    """community.docker's words (playbooks match them) for image labels that strict labels would remove."""
    return ("Some labels should be removed but are present in the base image. You can set image_label_mismatch "
            "to 'ignore' to ignore this error. Labels: %s" % ", ".join('"%s"' % label for label in missing))


def image_name_differs(params, container, image_id, modes):
    """image_name_mismatch=recreate: the container runs the task's image under another name."""
    if params["image_name_mismatch"] != "recreate" or modes.get("image") == "ignore" or container is None:
        return False
    if not params["image"] or container.get("Image") != image_id:
        return False
    created_as = get_path(container, "Config.Image") or ""
    try:  # compared normalised: busybox, busybox:latest and docker.io/library/busybox:latest are one name
        return parse_image(created_as).local != parse_image(params["image"]).local
    except OptionError:  # created from an image ID, or a name this collection cannot read
        return created_as != params["image"]


def planned_state(params):
    """The state the plan works towards: V(healthy) is V(started) plus a wait afterwards."""
    return "started" if params["state"] == "healthy" else params["state"]


def removal_wait(params):
    value = params["removal_wait_timeout"]
    return engine.REMOVAL_WAIT_SECONDS if value is None else value


def pull_mode(value):
    """O(pull) as a word: community.docker's true and false are always and missing."""
    return {True: "always", False: "missing"}.get(value, value) if isinstance(value, bool) else value


def check_control(module, result):
    """The options that say what to do (not what to have); returns the kill signal in the engine's form."""
    params = module.params
    params["pull"] = pull_mode(params["pull"])
    for key, value in sorted((params.get("log_options") or {}).items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # community.docker's words
            module.warn("Non-string value found for log_options option '%s'. The value is automatically converted to "
                        "'%s'. If this is not correct, or you want to avoid such warnings, please quote the value."
                        % (key, value))
    if params["paused"] is not None and params["state"] not in ("started", "healthy"):
        module.fail_json(msg="paused: only state started or healthy can pause or resume a container (state is %s)"
                         % params["state"], **result)
    if params["removal_wait_timeout"] is not None and params["removal_wait_timeout"] < 0:
        module.fail_json(msg="removal_wait_timeout: %s is below 0; give the seconds to wait"
                         % params["removal_wait_timeout"], **result)
    if params["cleanup"] and params["detach"]:
        module.warn("cleanup takes effect only with detach: false (a detached container keeps running)")
    if params["kill_signal"] is not None and not params["force_kill"]:
        module.warn("kill_signal takes effect only with force_kill: true")
    if params["kill_signal"] is None:
        return None
    try:
        return parse_stop_signal(params["kill_signal"])
    except OptionError as exc:
        raise OptionError("kill_signal: %s" % exc) from None


# How often a run plans again when the container disappears under it (an auto_remove container that exits).
ATTEMPTS = 3


def guard_output(module):
    """Secrets the module never saw as parameters (a volume's password= in the engine's error about mounting it)
    are masked in whatever the module returns, failures included."""
    fail_json, exit_json = module.fail_json, module.exit_json
    module.fail_json = lambda **result: fail_json(**mask_pairs(result))
    module.exit_json = lambda **result: exit_json(**mask_pairs(result))


def manage(module):
    protect(module, skip_keys=("client_key", "tls"))
    guard_output(module)
    params = module.params
    result = {"changed": False, "actions": [], "differences": [], "pulled": False, "mirror": None, "container": None}
    try:
        name = parse_name(params["name"])
        params["kill_signal"] = check_control(module, result)
        apply_compatibility(module)
        modes = parse_comparisons(params["comparisons"])
        wanted = parse_options(params, env_file_text=read_env_file(module, result))
        ref = parse_image(params["image"]) if params["image"] else None
    except OptionError as exc:
        module.fail_json(msg=str(exc), **result)
    client = make_client(params)
    try:
        image, image_id, image_name = None, None, None
        if params["state"] != "absent":
            check_api(client, wanted)
            fill_default_host_ip(client, params, wanted)
            resolve_references(module, client, wanted)
            for warning in caveats(wanted, client.version_info()):
                module.warn(warning)
            if ref is not None:
                image, image_name = resolve_image(module, client, ref, result, wanted.get("platform"))
                image_id = image["Id"] if image else None
        pulled = list(result["actions"])
        for attempt in range(ATTEMPTS):
            container = engine.find(client, name)
            if container is None and not module.check_mode:
                warning = engine.recover_leftovers(client, name)
                if warning:
                    module.warn(warning)
                    container = engine.find(client, name)
            current_plan = decide(module, client, name, container, wanted, ref, image, image_id, result, pulled, modes)
            if module.check_mode or not current_plan.actions:
                result["container"] = summary(wait_healthy(module, client, name, container, result))
                return result
            try:
                after = execute(module, client, name, current_plan, container, wanted, image_name, result)
            except engine.Gone:
                if attempt + 1 == ATTEMPTS:
                    module.fail_json(msg="container %s kept disappearing while it was being changed (it is removed "
                                         "as soon as it exits: auto_remove?); run the task again" % name, **result)
                continue
            except engine.ContainerFailure as exc:
                details = dict(exc.details)
                result["actions"] = pulled + details.pop("actions", [])
                result["changed"] = changes(result["actions"])
                try:
                    result["container"] = summary(engine.find(client, name))
                except EngineError:
                    result["container"] = None
                module.fail_json(msg=str(exc), **dict(result, **details))
            after = clean_up(module, client, after, result)
            result["container"] = summary(wait_healthy(module, client, name, after, result))
            if "output" in result:
                result["container"] = attached_container(result["container"], result["output"])
            return result
    except OptionError as exc:
        module.fail_json(msg=str(exc), **result)
    finally:
        client.close()
    return result


# The image ID a check-mode plan takes for an image that a pull would bring: it matches no container.
PENDING = "(pending pull)"


def decide(module, client, name, container, wanted, ref, image, image_id, result, pulled, modes):
    """The plan for this attempt, with the result's actions, differences and diff set from it."""
    params = module.params
    if params["state"] != "absent" and ref is None and container is None:
        module.fail_json(msg="image: container %s does not exist; give image to create it" % name, **result)
    if ref is not None and image is None and params["state"] != "absent":
        image_id = PENDING  # check mode: a pull would bring the image, so it is not the container's
    image_config = (image or {}).get("Config")
    old_image_config = None
    image_changes = container is not None and image_id and container.get("Image") != image_id
    needs_image = container is not None and params["state"] != "absent" and any(
        option in wanted for option in _USES_IMAGE)
    if needs_image and (image_config is None or image_changes):
        # the container's own image: the base when the task's image is not here (yet), and the judge of
        # which differences the task made when the image changes
        old_image_config = (client.inspect("image", container["Image"]) or {}).get("Config") or {}
    image_config = image_config if image_config is not None else old_image_config
    if params["image_comparison"] == "current-image" and container is not None:
        image_config = old_image_config if old_image_config is not None else (
            client.inspect("image", container["Image"]) or {}).get("Config") or {}
    if "platform" in wanted and container is not None and params["state"] != "absent":
        container = with_image_platform(client, container, image)
    check_image_labels(module, image_config, wanted, modes, result)
    name_mismatch = image_name_differs(params, container, image_id, modes)
    compared = with_image_defaults(params, container, wanted, image_id, modes)
    current_plan = plan(planned_state(params), container, compared, image_id, image_config or {},
                        recreate=params["recreate"] or name_mismatch, paused=params["paused"],
                        restart=params["restart"], old_image_config=old_image_config, modes=modes,
                        networks_in_place=True)
    if name_mismatch and "image" not in current_plan.differences:
        current_plan.differences.insert(0, "image")
    current_plan.only_networks = only_networks(wanted, modes)
    result["actions"] = pulled + current_plan.actions
    result["differences"] = current_plan.differences
    result["changed"] = changes(result["actions"])
    if module._diff:
        set_diff(result, current_plan, compared, container, image_config, image_id, ref)
    return current_plan


def with_image_defaults(params, container, wanted, image_id, modes):
    """What the container is compared with. With ``comparisons: {image: ignore}`` and image_comparison
    desired-image, a container of another image is compared with the environment the task's image gives, also
    where the task sets none: community.docker's reading (its labels are compared only when the task sets some),
    so a moved-over task changes the same."""
    if container is None or modes.get("image") != "ignore" or params["image_comparison"] != "desired-image" or (
            not image_id or image_id == PENDING or container.get("Image") == image_id):
        return wanted
    return dict({"env": {}}, **wanted)


def with_image_platform(client, container, image):
    """The container's inspect with ``ImagePlatform``: the OS, architecture and variant of its image, which
    option platform is compared with (the engine records only the OS)."""
    if image is None or image.get("Id") != container.get("Image"):
        image = client.inspect("image", container["Image"])
    if image is None:
        return container
    return dict(container, ImagePlatform={"os": image.get("Os"), "architecture": image.get("Architecture"),
                                          "variant": image.get("Variant")})


def main():
    module = engine_module(argument_spec())
    run_module(module, manage)
