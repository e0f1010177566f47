# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parsed compose model -> services -> the container option table. Pure: no I/O.

The action plugin (controller) reads, merges, interpolates and normalises a compose project and sends the
module one option, ``project``, holding this model (JSON-safe)::

    name: str                      compose's project name, validated: [a-z0-9][a-z0-9_-]*
    working_dir: str | None        absolute project directory
    config_files: [str]            absolute paths in merge order; [] for an inline definition
    services: {<name>: {...}}      compose keys in canonical forms: command/entrypoint lists, environment
                                   and labels dicts, ports long form ({target, published, host_ip, protocol}),
                                   volumes long form ({type, source, target, read_only, bind?, volume?, tmpfs?}
                                   with a named volume's source the top-level KEY), networks
                                   {KEY: {aliases, ipv4_address, ipv6_address}}, depends_on
                                   {svc: {condition, restart, required}}, healthcheck, deploy {replicas,
                                   resources {limits, reservations}}, ulimits {name: {soft, hard}}, sysctls,
                                   extra_hosts ["host:ip"], dns, tmpfs lists, logging {driver, options}; every
                                   other key passed through as written
    mask: [str]                    values of secret-named variables the model holds: masked in every output
    networks: {<KEY>: {name, external, driver?, driver_opts?, labels?, internal?, attachable?, enable_ipv6?,
                       ipam?}}
    volumes:  {<KEY>: {name, external, driver?, driver_opts?, labels?}}

Every service key maps through SERVICE_KEYS onto the options of options.py (community.docker's names); a key
this module does not support fails naming its path (``services.web.build``) before anything changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    OPTIONS_BY_NAME,
    OptionError,
    check_combinations,
    parse_duration,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.ipam import InvalidInput, wanted_ipam


class ComposeError(OptionError):
    """The model has a value this module refuses; the message names the key's path."""


LABEL = "com.docker.compose."
PROJECT = LABEL + "project"
SERVICE = LABEL + "service"
NUMBER = LABEL + "container-number"
ONEOFF = LABEL + "oneoff"
CONFIG_HASH = LABEL + "config-hash"
WORKING_DIR = LABEL + "project.working_dir"
CONFIG_FILES = LABEL + "project.config_files"
NETWORK = LABEL + "network"
VOLUME = LABEL + "volume"

CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_RESTART = re.compile(r"(no|always|unless-stopped|on-failure)(?::(\d+))?")
_SIZE = re.compile(r"\d+(\.\d+)?\s*[bkmgBKMG]?[bB]?")
_DRIVER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.:/-]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
PULL_POLICIES = {"always": "always", "missing": "missing", "if_not_present": "missing", "never": "never"}


def _fail(path, message):
    raise ComposeError("%s: %s" % (path, message))


def _want(value, kind, path, what):
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        _fail(path, "must be %s, not %r" % (what, value))
    return value


def _text_list(value, path):
    _want(value, list, path, "a list of strings")
    for index, item in enumerate(value):
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            _fail("%s[%d]" % (path, index), "must be a string, not %r" % (item,))
    return [str(item) for item in value]


def _text_dict(value, path):
    _want(value, dict, path, "a mapping")
    shown = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            _fail("%s.%s" % (path, key), "must be a string, not %r" % (item,))
        if item is None:
            shown[str(key)] = ""
        elif isinstance(item, bool):
            shown[str(key)] = "true" if item else "false"
        else:
            shown[str(key)] = str(item)
    return shown


def _seconds(value, path):
    """A compose duration (V(1m30s), or a number of seconds) in whole seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    try:
        return int(parse_duration(str(value)) // 10 ** 9)
    except OptionError as exc:
        _fail(path, str(exc))


def _size(value, path):
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not _SIZE.fullmatch(value.strip()):
        _fail(path, "%r is not a size such as 512m or 1g" % (value,))
    text = value.strip().lower()
    return text[:-1] if text.endswith("b") and len(text) > 1 and text[-2] in "kmg" else text


# -- converters: (value, path, context) -> {option: value in the container module's task form} ---------------

def _same(option, check=None):
    def convert(value, path, _ctx):
        return {option: check(value, path) if check else value}
    return convert


def _bool(option):
    return _same(option, lambda value, path: _want(value, bool, path, "true or false"))


def _argv(option):
    def convert(value, path, _ctx):
        return {} if value is None else {option: _text_list(value, path)}
    return convert


def _ports(value, path, _ctx):
    found = []
    for index, port in enumerate(_want(value, list, path, "a list")):
        where = "%s[%d]" % (path, index)
        _want(port, dict, where, "a mapping with target, published, host_ip, protocol")
        target = port.get("target")
        if not isinstance(target, int) or isinstance(target, bool) or not 1 <= target <= 65535:
            _fail(where + ".target", "%r is not a port number (1-65535)" % (target,))
        protocol = port.get("protocol") or "tcp"
        if protocol not in ("tcp", "udp", "sctp"):
            _fail(where + ".protocol", "%r is not tcp, udp or sctp" % (protocol,))
        published = port.get("published")
        host_ip = port.get("host_ip")
        text = "%d/%s" % (target, protocol)
        if published not in (None, ""):
            published = str(published)
            if not re.fullmatch(r"\d{1,5}(-\d{1,5})?", published):
                _fail(where + ".published", "%r is not a port number or range" % (published,))
            text = "%s:%s" % (published, text)
        elif host_ip:
            text = ":" + text
        if host_ip:
            text = "%s:%s" % ("[%s]" % host_ip if ":" in host_ip else host_ip, text)
        found.append(text)
    return {"published_ports": found}


def _volumes(value, path, ctx):
    binds, mounts = [], []
    for index, volume in enumerate(_want(value, list, path, "a list")):
        where = "%s[%d]" % (path, index)
        _want(volume, dict, where, "a mapping with type, source, target")
        kind, source, target = volume.get("type") or "volume", volume.get("source"), volume.get("target")
        if not isinstance(target, str) or not target.startswith("/"):
            _fail(where + ".target", "%r is not an absolute path" % (target,))
        read_only = bool(volume.get("read_only"))
        unknown = sorted(set(volume) - {"type", "source", "target", "read_only", "bind", "volume", "tmpfs",
                                        "consistency"})
        if unknown:
            _fail("%s.%s" % (where, unknown[0]), "not supported by dockhand.runtime.compose")
        if kind == "tmpfs":
            mount = {"type": "tmpfs", "target": target, "read_only": read_only}
            size = (volume.get("tmpfs") or {}).get("size")
            if size is not None:
                mount["tmpfs_size"] = _size(size, where + ".tmpfs.size")
            mounts.append(mount)
            continue
        if kind not in ("volume", "bind"):
            _fail(where + ".type", "%r is not supported (volume, bind or tmpfs)" % (kind,))
        if kind == "volume" and source:
            top = ctx["volumes"].get(source)
            if top is None:
                _fail(where + ".source", "no top-level volume %r; declare it under volumes" % (source,))
            source = top["name"]
        bind = volume.get("bind") or {}
        if kind == "bind":
            if not isinstance(source, str) or not source.startswith("/"):
                _fail(where + ".source", "%r is not an absolute host path" % (source,))
            if bind.get("create_host_path") is False:
                mount = {"type": "bind", "source": source, "target": target, "read_only": read_only}
                if bind.get("propagation"):
                    mount["propagation"] = bind["propagation"]
                mounts.append(mount)
                continue
        modes = ["ro"] if read_only else []
        if bind.get("propagation"):
            modes.append(str(bind["propagation"]))
        if (volume.get("volume") or {}).get("nocopy"):
            modes.append("nocopy")
        text = "%s:%s" % (source, target) if source else target
        binds.append(text + (":" + ",".join(modes) if modes and source else ""))
    found = {}
    if binds:
        found["volumes"] = binds
    if mounts:
        found["mounts"] = mounts
    return found


def _networks(value, path, ctx):
    _want(value, dict, path, "a mapping of network keys")
    found = []
    for key in sorted(value):
        config = value[key] or {}
        where = "%s.%s" % (path, key)
        top = ctx["networks"].get(key)
        if top is None:
            _fail(where, "no top-level network %r; declare it under networks" % (key,))
        _want(config, dict, where, "a mapping")
        unknown = sorted(set(config) - {"aliases", "ipv4_address", "ipv6_address"})
        if unknown:
            _fail("%s.%s" % (where, unknown[0]), "not supported by dockhand.runtime.compose")
        aliases = _text_list(config.get("aliases") or [], where + ".aliases")
        entry = {"name": top["name"], "aliases": [ctx["service"]] + aliases}
        for address in ("ipv4_address", "ipv6_address"):
            if config.get(address):
                entry[address] = str(config[address])
        found.append(entry)
    return {"networks": found} if found else {}


def _service_reference(option):
    """pid, ipc, network_mode: V(service:<name>) means that service's first container."""
    def convert(value, path, ctx):
        text = str(_want(value, str, path, "a string"))
        if text.startswith("service:"):
            other = text[len("service:"):]
            if other not in ctx["all_services"]:
                _fail(path, "no service %r in the project" % other)
            text = "container:" + container_name(ctx["project"], other, 1, ctx["all_services"][other])
        return {option: text}
    return convert


def _healthcheck(value, path, _ctx):
    _want(value, dict, path, "a mapping")
    unknown = sorted(set(value) - {"test", "interval", "timeout", "retries", "start_period", "disable",
                                   "start_interval"})
    if unknown:
        _fail("%s.%s" % (path, unknown[0]), "not supported by dockhand.runtime.compose")
    if value.get("disable"):
        return {"healthcheck": {"test": ["NONE"]}}
    check = {key: value[key] for key in ("interval", "timeout", "retries", "start_period") if value.get(key)
             is not None}
    test = value.get("test")
    if isinstance(test, list) and test and test[0] == "CMD-SHELL":
        test = " ".join(str(part) for part in test[1:])
    if test is None:
        _fail(path + ".test", "give the check's command (or disable: true)")
    check["test"] = test
    return {"healthcheck": check}


_DEPLOY_KEYS = {"limits": {"memory": "memory", "cpus": "cpus", "pids": "pids_limit"},
                "reservations": {"memory": "memory_reservation", "cpus": None}}


def _deploy(value, path, ctx):
    _want(value, dict, path, "a mapping")
    found = {}
    for key in value:
        if key not in ("replicas", "resources"):
            _fail("%s.%s" % (path, key), "not supported by dockhand.runtime.compose (a swarm setting); remove it")
    resources = _want({} if value.get("resources") is None else value["resources"], dict, path + ".resources",
                      "a mapping")
    for kind, item in resources.items():
        _want({} if item is None else item, dict, "%s.resources.%s" % (path, kind), "a mapping")
        if kind not in _DEPLOY_KEYS:
            _fail("%s.resources.%s" % (path, kind), "not supported by dockhand.runtime.compose")
        for name, amount in (item or {}).items():
            where = "%s.resources.%s.%s" % (path, kind, name)
            if name not in _DEPLOY_KEYS[kind]:
                _fail(where, "not supported by dockhand.runtime.compose")
            option = _DEPLOY_KEYS[kind][name]
            if option is None:  # as docker compose: a CPU reservation is a swarm setting, no engine limit
                ctx["warnings"].append("%s: the engine has no CPU reservation for a container (docker compose "
                                       "ignores it too); it is not applied" % where)
            elif option in ("memory", "memory_reservation"):
                found[option] = _size(amount, where)
            elif option == "cpus":
                found[option] = _cpu_count(amount, where)
            else:
                found[option] = _want(amount, int, where, "a whole number")
    return found


def _cpu_count(value, path):
    """A number of CPUs (V(0.5), V("2")) as a float; anything else fails naming the path."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not _NUMBER.fullmatch(
            str(value).strip()):
        _fail(path, "%r is not a number of CPUs such as 0.5 or 2" % (value,))
    return float(value)


def _restart(value, path, _ctx):
    match = _RESTART.fullmatch(str(value))
    if not match:
        _fail(path, "%r is not no, always, unless-stopped or on-failure[:N]" % (value,))
    found = {"restart_policy": match.group(1)}
    if match.group(2):
        if match.group(1) != "on-failure":
            _fail(path, "only on-failure takes a retry count")
        found["restart_retries"] = int(match.group(2))
    return found


def _ulimits(value, path, _ctx):
    _want(value, dict, path, "a mapping")
    found = []
    for name in sorted(value):
        limit = value[name]
        if isinstance(limit, int) and not isinstance(limit, bool):
            limit = {"soft": limit, "hard": limit}
        _want(limit, dict, "%s.%s" % (path, name), "a number or soft and hard")
        found.append("%s:%s:%s" % (name, limit.get("soft"), limit.get("hard", limit.get("soft"))))
    return {"ulimits": found}


def _extra_hosts(value, path, _ctx):
    hosts = {}
    for index, entry in enumerate(_text_list(value, path)):
        separator = "=" if "=" in entry else ":"
        host, _sep, address = entry.partition(separator)
        if not host or not address:
            _fail("%s[%d]" % (path, index), "%r is not host:address" % entry)
        hosts[host] = address.strip("[]")
    return {"etc_hosts": hosts}


def _logging(value, path, _ctx):
    _want(value, dict, path, "a mapping")
    unknown = sorted(set(value) - {"driver", "options"})
    if unknown:
        _fail("%s.%s" % (path, unknown[0]), "not supported by dockhand.runtime.compose")
    found = {}
    if value.get("driver"):
        found["log_driver"] = str(value["driver"])
    if value.get("options"):
        found["log_options"] = _text_dict(value["options"], path + ".options")
    return found


def _stop_grace_period(value, path, _ctx):
    return {"stop_timeout": _seconds(value, path)}


def _ignored(_value, _path, _ctx):
    return {}


# compose key -> converter. The keys the converters return are options of the option table (options.py).
SERVICE_KEYS = {
    "image": _ignored,  # the container module's control option image: read by service_spec
    "container_name": _ignored,  # the name: container_name()
    "depends_on": _ignored,  # the order: dependency_order()
    "pull_policy": _ignored,  # the pull: pull_mode()
    "env_file": _ignored,  # merged into environment by the action plugin
    "command": _argv("command"),
    "entrypoint": _argv("entrypoint"),
    "environment": lambda value, path, ctx: {"env": _text_dict(value, path)},
    "ports": _ports,
    "expose": lambda value, path, ctx: {"exposed_ports": _text_list(value, path)},
    "volumes": _volumes,
    "networks": _networks,
    "network_mode": _service_reference("network_mode"),
    "healthcheck": _healthcheck,
    "deploy": _deploy,
    "restart": _restart,
    "labels": lambda value, path, ctx: {"labels": _text_dict(value, path)},
    "user": _same("user", lambda value, path: str(value)),
    "working_dir": _same("working_dir"),
    "hostname": _same("hostname"),
    "domainname": _same("domainname"),
    "cap_add": lambda value, path, ctx: {"capabilities": _text_list(value, path)},
    "cap_drop": lambda value, path, ctx: {"cap_drop": _text_list(value, path)},
    "read_only": _bool("read_only"),
    "init": _bool("init"),
    "privileged": _bool("privileged"),
    "tmpfs": lambda value, path, ctx: {"tmpfs": _text_list(value, path)},
    "ulimits": _ulimits,
    "logging": _logging,
    "extra_hosts": _extra_hosts,
    "stop_grace_period": _stop_grace_period,
    "stop_signal": _same("stop_signal"),
    "sysctls": lambda value, path, ctx: {"sysctls": _text_dict(value, path)},
    "security_opt": lambda value, path, ctx: {"security_opts": _text_list(value, path)},
    "shm_size": lambda value, path, ctx: {"shm_size": _size(value, path)},
    "pid": _service_reference("pid_mode"),
    "ipc": _service_reference("ipc_mode"),
    "devices": lambda value, path, ctx: {"devices": _text_list(value, path)},
    "dns": lambda value, path, ctx: {"dns_servers": _text_list(value, path)},
    "dns_search": lambda value, path, ctx: {"dns_search_domains": _text_list(value, path)},
    "dns_opt": lambda value, path, ctx: {"dns_opts": _text_list(value, path)},
    "group_add": lambda value, path, ctx: {"groups": _text_list(value, path)},
    "mem_limit": lambda value, path, ctx: {"memory": _size(value, path)},
    "mem_reservation": lambda value, path, ctx: {"memory_reservation": _size(value, path)},
    "cpus": lambda value, path, ctx: {"cpus": _cpu_count(value, path)},
    "pids_limit": _same("pids_limit"),
    "oom_score_adj": _same("oom_score_adj"),
    "platform": _same("platform"),  # also the platform its image is pulled for (compose_engine)
}


# The compose default (task form) of each table option the mapping owns, for a service that does not set it.
# Compared when a container's config hash is not the service's, so a key removed from the file is undone as
# compose's recreate on a new hash undoes it. Options whose default comes from the image or the daemon (user,
# working_dir, hostname, domainname, healthcheck, stop_signal, stop_timeout, shm_size, logging, labels,
# networks, network_mode) are not listed.
UNSET = {
    "command": [], "entrypoint": [], "env": {}, "published_ports": [], "exposed_ports": [], "volumes": [],
    "mounts": [], "restart_policy": "no", "restart_retries": 0, "capabilities": [], "cap_drop": [],
    "read_only": False, "init": False, "privileged": False, "tmpfs": [], "ulimits": [], "etc_hosts": {},
    "sysctls": {}, "security_opts": [], "pid_mode": "", "ipc_mode": "", "devices": [], "dns_servers": [],
    "dns_search_domains": [], "dns_opts": [], "groups": [], "memory": "0", "memory_reservation": "0", "cpus": 0,
    "pids_limit": 0, "oom_score_adj": 0,
}


def unset_defaults(wanted):
    """The engine form of the compose defaults (UNSET) of the options ``wanted`` does not set."""
    found = {}
    for name, value in UNSET.items():
        if name not in wanted:
            option = OPTIONS_BY_NAME[name]
            found[name] = option.parse(value) if option.parse else value
    return found


def _context(project, name):
    return {"project": project["name"], "service": name, "all_services": project["services"],
            "networks": project.get("networks") or {}, "volumes": project.get("volumes") or {}, "warnings": []}


def service_params(project, name):
    """([(compose key, task-form options)], warnings) of one service; raises ComposeError naming the key's path."""
    service = project["services"][name]
    ctx = _context(project, name)
    found = []
    for key, value in service.items():
        path = "services.%s.%s" % (name, key)
        convert = SERVICE_KEYS.get(key)
        if convert is None:
            if key.startswith("x-"):
                continue
            _fail(path, "not supported by dockhand.runtime.compose; remove it (or build the image beforehand, "
                        "with dockhand.runtime.image)" if key == "build" else
                  "not supported by dockhand.runtime.compose; remove it from the service")
        if value is not None:
            found.append((key, convert(value, path, ctx)))
    if not service.get("networks") and not service.get("network_mode") and "default" in ctx["networks"]:
        found.append(("networks", _networks({"default": {}}, "services.%s.networks" % name, ctx)))
    return found, ctx["warnings"]


def service_wanted(project, name):
    """(wanted, warnings): the engine form of the table options a service sets, through options.py's parsers."""
    found, warnings = service_params(project, name)
    wanted = {}
    for key, params in found:
        for option_name, value in params.items():
            option = OPTIONS_BY_NAME[option_name]
            try:
                wanted[option_name] = option.parse(value) if option.parse else value
            except OptionError as exc:
                _fail("services.%s.%s" % (name, key), "%s (as the container option %s)" % (exc, option_name))
    try:
        check_combinations(wanted)
    except OptionError as exc:
        _fail("services.%s" % name, str(exc))
    return wanted, warnings


# -- identity: hash, labels, names ---------------------------------------------------------------------------

def config_hash(service):
    """sha256 of the service's canonical model (sorted-key JSON), without its replica count, depends_on and
    pull_policy, as compose leaves them out of its hash."""
    model = dict(service)
    for key in ("scale", "depends_on", "pull_policy"):  # the order and the pull: not the container's config
        model.pop(key, None)
    if isinstance(model.get("deploy"), dict):
        model["deploy"] = {key: value for key, value in model["deploy"].items() if key != "replicas"}
    text = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def project_labels(project):
    return {PROJECT: project["name"], WORKING_DIR: project.get("working_dir") or "",
            CONFIG_FILES: ",".join(project.get("config_files") or [])}


def container_labels(project, name, number):
    """Compose's labels of a service's container (beside the service's own labels)."""
    labels = project_labels(project)
    labels.update({SERVICE: name, NUMBER: str(number), ONEOFF: "False",
                   CONFIG_HASH: config_hash(project["services"][name])})
    return labels


def network_labels(project, key):
    return dict({PROJECT: project["name"], NETWORK: key}, **(project["networks"][key].get("labels") or {}))


def volume_labels(project, key):
    return dict({PROJECT: project["name"], VOLUME: key}, **(project["volumes"][key].get("labels") or {}))


def container_name(project_name, name, number, service=None):
    """compose v2's name, ``<project>-<service>-<n>``, or the service's container_name."""
    if service and service.get("container_name"):
        return service["container_name"]
    return "%s-%s-%d" % (project_name, name, number)


def replicas(service, path):
    deploy = service.get("deploy")
    deploy = _want({} if deploy is None else deploy, dict, path + ".deploy", "a mapping")
    count = deploy.get("replicas", service.get("scale", 1))
    if count is None:
        count = 1
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        _fail(path + ".deploy.replicas", "%r is not a number of containers (0 or more)" % (count,))
    if count > 1 and service.get("container_name"):
        _fail(path + ".container_name", "a service with container_name can have one container only "
                                        "(deploy.replicas is %d)" % count)
    return count


def replica_plan(numbers, count):
    """(keep, remove, create) container numbers: the ``count`` lowest existing are kept, the rest removed
    (scaling down removes the highest numbers), and the lowest free numbers are created up to ``count``."""
    existing = sorted(set(numbers))
    keep, remove = existing[:count], existing[count:]
    create, candidate = [], 1
    while len(keep) + len(create) < count:
        if candidate not in keep:
            create.append(candidate)
        candidate += 1
    return keep, remove, create


def pull_mode(service, default):
    policy = service.get("pull_policy")
    if policy is None:
        return default
    if not isinstance(policy, str) or policy not in PULL_POLICIES:
        raise ComposeError("pull_policy: %r is not always, missing, if_not_present or never" % (policy,))
    return PULL_POLICIES[policy]


# -- order ---------------------------------------------------------------------------------------------------

def dependencies(service):
    """{service: condition} a service waits for: its depends_on, and (as compose adds them) the services its
    network_mode, pid or ipc name as V(service:<name>)."""
    found = dict(service.get("depends_on") or {})
    for key in ("network_mode", "pid", "ipc"):
        value = service.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            found.setdefault(value[len("service:"):], {"condition": "service_started", "restart": False,
                                                       "required": True})
    return found


def dependency_order(services):
    """Service names, every one after the services it depends on (ties by name); raises ComposeError on a cycle
    or an unknown service."""
    for name, service in services.items():
        for other, condition in dependencies(service).items():
            path = "services.%s.depends_on.%s" % (name, other)
            if other not in services:
                _fail(path, "no service %r in the project" % other)
            if (condition or {}).get("condition", "service_started") not in CONDITIONS:
                _fail(path + ".condition", "%r is not one of %s" % (condition.get("condition"), ", ".join(CONDITIONS)))
    order, done, visiting = [], set(), []

    def visit(name):
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):] + [name]
            raise ComposeError("services.%s.depends_on: a cycle: %s" % (name, " -> ".join(cycle)))
        visiting.append(name)
        for other in sorted(dependencies(services[name])):
            visit(other)
        visiting.pop()
        done.add(name)
        order.append(name)
    for name in sorted(services):
        visit(name)
    return order


def selected(services, names):
    """The services to act on: ``names`` and what they depend on (all services when ``names`` is empty)."""
    if not names:
        return set(services)
    unknown = sorted(set(names) - set(services))
    if unknown:
        raise ComposeError("services: %s not in the project (it has %s)" % (", ".join(unknown), ", ".join(
            sorted(services))))
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(dependencies(services[name]))
    return found


def acted(services, names, state):
    """The services a state acts on: for present, ``names`` and what they depend on (compose's up); for absent,
    stopped and restarted, ``names`` alone (compose's rm, stop and restart); all services when ``names`` is empty."""
    found = selected(services, names)
    return found if state == "present" or not names else set(names)


def one_shots(services):
    """Services another one waits for with service_completed_successfully: run once, exit 0, left exited."""
    return {other for service in services.values() for other, condition in dependencies(service).items()
            if (condition or {}).get("condition") == "service_completed_successfully"}


def network_ipam(config, path):
    """The engine's IPAM of a top-level network ({Driver, Config}), validated as the network module validates its
    ipam_config; raises ComposeError naming the key."""
    ipam = _want(config.get("ipam") or {}, dict, path + ".ipam", "a mapping with driver and config")
    driver = ipam.get("driver") or "default"
    if not isinstance(driver, str) or not _DRIVER.fullmatch(driver):
        _fail(path + ".ipam.driver", "%r is not an IPAM driver name" % (driver,))
    entries = _want(ipam.get("config") or [], list, path + ".ipam.config", "a list")
    for index, entry in enumerate(entries):
        _want(entry, dict, "%s.ipam.config[%d]" % (path, index), "a mapping with subnet, gateway, ip_range")
    try:
        found = wanted_ipam(entries, option=path + ".ipam.config", iprange_key="ip_range")
    except InvalidInput as exc:
        raise ComposeError(str(exc)) from None
    return {"Driver": driver, "Config": [{api: item[field] for field, api in (
        ("subnet", "Subnet"), ("gateway", "Gateway"), ("iprange", "IPRange")) if item.get(field)} for item in found]}


def check_project(project):
    """The model's shape, before anything else; raises ComposeError naming the key."""
    if not isinstance(project, dict):
        raise ComposeError("project: must be the compose model the action plugin makes (a mapping)")
    name = project.get("name")
    if not isinstance(name, str) or not _PROJECT_NAME.fullmatch(name):
        raise ComposeError("name: %r is not a compose project name ([a-z0-9][a-z0-9_-]*)" % (name,))
    services = project.get("services")
    if not isinstance(services, dict) or not services:
        raise ComposeError("services: the project has no services")
    for key in ("networks", "volumes"):
        _want(project.get(key) or {}, dict, key, "a mapping")
        for item, config in (project.get(key) or {}).items():
            _want(config, dict, "%s.%s" % (key, item), "a mapping")
            if not isinstance(config.get("name"), str) or not _CONTAINER_NAME.fullmatch(config["name"]):
                _fail("%s.%s.name" % (key, item), "%r is not a valid name" % (config.get("name"),))
            if key == "networks" and config.get("ipam") is not None:
                network_ipam(config, "networks.%s" % item)
    for service_name, service in services.items():
        path = "services.%s" % service_name
        if not _SERVICE_NAME.fullmatch(str(service_name)):
            _fail(path, "is not a service name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)")
        _want(service, dict, path, "a mapping")
        if not isinstance(service.get("image"), str) or not service["image"].strip():
            _fail(path + ".image", "give the image (building is not supported)")
        if service.get("container_name") is not None and not _CONTAINER_NAME.fullmatch(
                str(service["container_name"])):
            _fail(path + ".container_name", "%r is not a container name" % (service["container_name"],))
        replicas(service, path)
        try:
            pull_mode(service, "missing")
        except ComposeError as exc:
            _fail(path, str(exc))
    return dependency_order(services)
