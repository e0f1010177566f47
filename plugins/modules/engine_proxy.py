#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: engine_proxy
short_description: Make dockerd, containerd and Podman pull through an HTTP proxy, with rollback
version_added: 0.1.0
description:
  - Where no registry mirror serves, the runtimes pull upstream through a proxy. This module sets the proxy
    (O(http_proxy), O(https_proxy), O(no_proxy)) for each runtime in the runtime's own place, and leaves every
    other setting as it is.
  - B(dockerd) from Docker Engine 23 takes C(proxies) in daemon.json. The change goes through the same safe
    path as M(dockhand.runtime.daemon_config), under the file's lock, with C(dockerd --validate), an atomic write,
    a restart and the previous file put back if dockerd does not come back.
    Older engines, such as Debian 12's 20.10, take the proxy from their environment. The module writes
    C(/etc/systemd/system/<unit>.d/50-dockhand-proxy.env) (mode C(0600), C(HTTP_PROXY), C(HTTPS_PROXY),
    C(NO_PROXY) and their lower-case forms) and a drop-in C(50-dockhand-proxy.conf) that names it as the
    unit's C(EnvironmentFile). An environment file, unlike C(Environment=) lines, is not shown to every local
    user by C(systemctl show).
  - B(containerd) gets the same drop-in and environment file for its unit.
  - B(Podman) gets C(env) in the C([engine]) table of C(<containers.conf.d>/50-dockhand-proxy.conf), which Podman
    reads on each command, so nothing restarts. The same drop-in sets C(http_proxy = false) in C([containers]),
    because Podman would otherwise pass its proxy variables, password included, into every container it runs.
    Give a container that needs a proxy its own through C(env).
  - A service's environment changes only when it restarts. dockerd and containerd are restarted once, and only
    when their setting changed; a re-run with the same settings restarts nothing. When a runtime does not come
    back, its previous files are put back and it is started with them. The task then fails with the runtime's
    own words and the last lines of its journal.
  - Without live-restore, a dockerd restart stops the running containers; the module warns first and names
    those that stay stopped.
  - The proxy's password never shows in results, diffs, messages or C(-vvv) output.
  - Every value is matched whole before anything is written. A proxy URL with a path, white space, a control
    character or an unencoded quote is refused with the option's name.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Reports per runtime which files would change and whether it would restart; touches nothing.
  diff_mode:
    support: full
    description: Shows each file before and after, with the proxies' passwords masked.
options:
  http_proxy:
    description:
      - The proxy for C(http://) registries, as C(scheme://[user:password@]host[:port]), the scheme
        V(http), V(https), V(socks5) or V(socks5h).
      - Characters of the user and password other than letters, digits and C(._~!*+,;=-) must be
        percent-encoded (C(@) as C(%40), C($) as C(%24)).
    type: str
  https_proxy:
    description: The proxy for C(https://) registries, written like O(http_proxy). Most registries are https.
    type: str
  no_proxy:
    description:
      - Hosts reached without the proxy - a host, a domain (V(.example.com)), an address, a CIDR, C(host:port),
        or V(*) - as a list or a comma-separated string.
      - List your registry mirrors and caches here, so that the runtimes reach them directly.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) sets the proxy; at least one of O(http_proxy) and O(https_proxy) is needed.
      - V(absent) removes it - the module's drop-in and environment file, the C(proxies) key of daemon.json
        with O(docker_method=daemon_json), and the containers.conf.d drop-in.
    type: str
    choices: [present, absent]
    default: present
  runtime:
    description:
      - The runtimes to configure. V(auto) configures each one installed (C(dockerd), C(containerd), C(podman)
        found in PATH).
      - Debian's docker.io runs its own containerd service, which V(auto) then restarts too. dockerd pulls
        images itself; name V(docker) alone to restart only dockerd.
      - A runtime named explicitly must be installed.
    type: list
    elements: str
    choices: [auto, docker, containerd, podman]
    default: [auto]
  docker_method:
    description:
      - Where dockerd gets the proxy.
      - V(auto) uses daemon.json on Docker Engine 23 and newer, asked from the engine (or C(dockerd --version)),
        and the systemd environment file otherwise.
      - V(daemon_json) forces C(proxies) in daemon.json. An older dockerd refuses to start with that key; the
        module warns, and the change is then rolled back.
      - V(systemd) forces the environment file, which every engine reads. daemon.json's C(proxies), if set,
        wins over it on Engine 23+; the module warns about that.
      - Switching the method leaves the other place as it is; remove the proxy from there with O(state=absent)
        and that method.
    type: str
    choices: [auto, daemon_json, systemd]
    default: auto
  apply:
    description:
      - V(auto) restarts a running dockerd or containerd whose proxy changed (Podman needs no restart).
      - V(none) only writes the files; the result's C(restart_needed) says which runtime still runs with the
        previous proxy.
    type: str
    choices: [auto, none]
    default: auto
  restart_timeout:
    description: Seconds to wait for dockerd to answer after a restart before rolling back.
    type: int
    default: 60
  path:
    description: Docker's daemon.json (O(docker_method=daemon_json)).
    type: path
    default: /etc/docker/daemon.json
  backup:
    description: Keep a timestamped copy of daemon.json before changing it.
    type: bool
    default: false
  validate_with_dockerd:
    description: Run C(dockerd --validate) on the new daemon.json first, where the installed dockerd supports it.
    type: bool
    default: true
  unit:
    description: The systemd unit that runs dockerd, a service unit's name such as V(docker.service).
    type: str
    default: docker.service
  containerd_unit:
    description: The systemd unit that runs containerd, a service unit's name such as V(containerd.service).
    type: str
    default: containerd.service
  containers_conf_d:
    description: The drop-in directory of containers.conf (Podman).
    type: path
    default: /etc/containers/containers.conf.d
notes:
  - Podman's C(env) replaces the C(env) list of an earlier containers.conf file, and is itself replaced by a later
    drop-in's. Rootless users read the system drop-in only when it is readable, and it is C(0600) while it holds a
    password; give them a proxy of their own in C(~/.config/containers/containers.conf.d/).
  - CRI-O takes its proxy from its own unit's environment; this module does not configure it.
seealso:
  - module: dockhand.runtime.registry_mirrors
  - module: dockhand.runtime.daemon_config
  - module: dockhand.runtime.mirror_probe
"""

EXAMPLES = r"""
- name: Pull through the company proxy, reaching the mirrors on the LAN directly
  dockhand.runtime.engine_proxy:
    http_proxy: http://proxy.internal:3128
    https_proxy: http://proxy.internal:3128
    no_proxy: [localhost, 127.0.0.1, .internal, 10.0.0.0/8]

- name: A proxy with a password, kept out of every output
  dockhand.runtime.engine_proxy:
    runtime: docker
    https_proxy: "http://fleet:{{ vault_proxy_password | urlencode }}@proxy.internal:3128"

- name: See first what would restart
  dockhand.runtime.engine_proxy:
    https_proxy: http://proxy.internal:3128
  check_mode: true
  diff: true

- name: No proxy any more
  dockhand.runtime.engine_proxy:
    state: absent
"""

RETURN = r"""
proxy:
  description: The settings as understood, with the proxies' passwords masked.
  returned: always
  type: dict
  sample: {"http_proxy": null, "https_proxy": "http://fleet:********@proxy.internal:3128",
           "no_proxy": [".internal"]}
runtimes:
  description:
    - One entry per runtime handled or skipped, keyed V(docker), V(containerd) and V(podman).
    - Every entry has C(skipped), C(changed), C(files) (written or removed, or that would be in check mode) and
      C(applied) (V(restart) or V(none)). A handled entry has C(detected_by); a skipped one, C(reason).
    - V(docker) also has C(method) (V(daemon_json) or V(systemd)) and C(engine_version). With V(systemd) it has
      C(drop_in), C(env_file), C(restart_needed), C(rolled_back), C(stopped_containers); with V(daemon_json), what
      M(dockhand.runtime.daemon_config) returns (C(path), C(changed_keys), C(rolled_back), C(dockerd_error), ...).
    - V(containerd) has C(drop_in), C(env_file), C(restart_needed) and C(rolled_back); V(podman) has C(drop_in).
  returned: always
  type: dict
  sample:
    docker:
      skipped: false
      detected_by: dockerd at /usr/sbin/dockerd
      method: systemd
      engine_version: 20.10.24+dfsg1
      changed: true
      files: ["/etc/systemd/system/docker.service.d/50-dockhand-proxy.env",
              "/etc/systemd/system/docker.service.d/50-dockhand-proxy.conf"]
      applied: restart
      rolled_back: false
    podman:
      skipped: false
      changed: true
      files: ["/etc/containers/containers.conf.d/50-dockhand-proxy.conf"]
      applied: none
"""

import contextlib

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import engine_module, make_client
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import (
    DAEMON_CHANGE_OPTIONS,
    ChangeFailed,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls, protect
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import userinfo_secrets
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy import (
    CONTAINERS_CONF_D,
    DOCKER_METHODS,
    PROXIES_MIN_ENGINE,
    RUNTIMES,
    PodmanProxy,
    choose_docker_method,
    containerd_unit_proxy,
    docker_daemon_json,
    docker_holds_proxies,
    dockerd_unit_proxy,
    engine_major,
    shown_settings,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy_settings import (
    ProxyError,
    check_unit_names,
    is_empty,
    normalise_settings,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import FileLocks, Refused

BINARIES = {"docker": "dockerd", "containerd": "containerd", "podman": "podman"}
APPLY_ORDER = ("podman", "containerd", "docker")  # no restart first; dockerd, which stops containers, last


def engine_version(module, client):
    """The Docker Engine version: from the engine, else from ``dockerd --version``; None when unknown."""
    try:
        return (client.version_info() or {}).get("Version")
    except EngineError:
        pass
    finally:
        client.close()
    binary = module.get_bin_path("dockerd")
    if binary:
        rc, out, _err = module.run_command([binary, "--version"])
        if rc == 0 and "version " in out:
            return out.split("version ", 1)[1].split(",")[0].strip()
    return None


def chosen_runtimes(module):
    """([(name, detected_by)], {name: reason}); raises Refused for a runtime asked for but not installed."""
    asked = module.params["runtime"] or ["auto"]
    auto = "auto" in asked
    chosen, skipped = [], {}
    for name in RUNTIMES:
        if not auto and name not in asked:
            continue
        found = module.get_bin_path(BINARIES[name])
        if found:
            chosen.append((name, "%s at %s" % (BINARIES[name], found)))
        elif auto:
            skipped[name] = "%s is not installed" % BINARIES[name]
        else:
            raise Refused("runtime %s was asked for, but this host has no %s in PATH or the sbin directories; "
                          "install it, or leave it out of runtime. Nothing was written." % (name, BINARIES[name]))
    if not chosen:
        raise Refused("runtime auto found no dockerd, containerd or podman on this host; install one, or name the "
                      "runtime. Nothing was written.")
    return chosen, skipped


def configure(module):
    protect(module, skip_keys=("client_key", "tls"))  # the proxies' passwords never reach the output
    params = module.params
    for name in ("http_proxy", "https_proxy"):  # also those redact's URL pattern cannot see (a quote in them)
        module.no_log_values.update(userinfo_secrets(params[name]))
    try:
        settings = normalise_settings(params["http_proxy"], params["https_proxy"], params["no_proxy"])
        check_unit_names(unit=params["unit"], containerd_unit=params["containerd_unit"])
    except ProxyError as exc:
        module.fail_json(msg="%s. Nothing was written." % mask_urls(str(exc)))
    state = params["state"]
    if state == "present" and is_empty(settings):
        module.fail_json(msg="give http_proxy or https_proxy (or both), such as http://proxy.example.com:3128, or "
                             "use state: absent to remove the proxy. Nothing was written.")
    result = {"changed": False, "proxy": shown_settings(settings), "runtimes": {}}
    diffs = []
    with contextlib.ExitStack() as stack:
        lock = FileLocks(module, stack)
        client = make_client(params)
        stack.callback(client.close)
        try:
            chosen, skipped = chosen_runtimes(module)
        except Refused as exc:
            module.fail_json(msg=str(exc), **result)
        for name, reason in skipped.items():
            result["runtimes"][name] = {"skipped": True, "reason": reason, "changed": False, "files": [],
                                        "applied": "none"}
        found = dict(chosen)
        handlers, extra = {}, {}
        try:
            for name in APPLY_ORDER:
                if name not in found:
                    continue
                if name == "docker":
                    version = engine_version(module, client)
                    method = choose_docker_method(params["docker_method"], engine_major(version))
                    extra[name] = {"method": method, "engine_version": version}
                    warn_about_docker(module, method, version, params)
                    handler = None if method == "daemon_json" else dockerd_unit_proxy(module, lock, client)
                elif name == "containerd":
                    handler = containerd_unit_proxy(module, lock)
                else:
                    handler = PodmanProxy(module, lock)
                handlers[name] = (handler, handler.plan(settings, state) if handler else None)
        except Refused as exc:
            module.fail_json(msg=str(exc), **result)

        name = None
        try:
            for name in APPLY_ORDER:
                if name not in handlers:
                    continue
                handler, plan = handlers[name]
                if handler is None:
                    outcome, more = docker_daemon_json(module, client, settings, state)
                else:
                    outcome, more = handler.apply(plan)
                outcome.update(extra.get(name, {}), detected_by=found[name], skipped=False)
                result["runtimes"][name] = outcome
                diffs += more
                result["changed"] = result["changed"] or outcome["changed"]
        except ChangeFailed as exc:
            result["runtimes"][name] = dict(exc.result, failed=True, detected_by=found[name], skipped=False,
                                            **extra.get(name, {}))
            result["changed"] = result["changed"] or bool(exc.result.get("rolled_back") or exc.result.get("changed"))
            later = [other for other in APPLY_ORDER if other in handlers and other not in result["runtimes"]]
            message = str(exc) if str(exc).startswith(name) else "%s: %s" % (name, exc)
            suffix = " (%s: not changed)" % ", ".join(later) if later else ""
            module.fail_json(msg=mask_urls(message + suffix), **result)
    if module._diff:
        result["diff"] = diffs
    return result


def warn_about_docker(module, method, version, params):
    major = engine_major(version)
    if method == "daemon_json" and major is not None and major < PROXIES_MIN_ENGINE:
        module.warn("docker: dockerd %s does not know proxies in daemon.json (Docker Engine %d+): it will refuse to "
                    "start with it, and the change will be rolled back. Use docker_method: auto or systemd"
                    % (version, PROXIES_MIN_ENGINE))
    if method == "systemd" and docker_holds_proxies(params["path"]):
        module.warn("docker: %s sets proxies, which Docker Engine %d+ uses instead of the environment this module "
                    "sets; remove it with docker_method: daemon_json and state: absent"
                    % (params["path"], PROXIES_MIN_ENGINE))


def main():
    options = {name: dict(spec) for name, spec in DAEMON_CHANGE_OPTIONS.items()}
    options["apply"] = {"type": "str", "default": "auto", "choices": ["auto", "none"]}
    options.pop("fix_unit_conflicts")
    options.update(
        http_proxy={"type": "str"},
        https_proxy={"type": "str"},
        no_proxy={"type": "list", "elements": "str", "default": []},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        runtime={"type": "list", "elements": "str", "default": ["auto"], "choices": ["auto"] + list(RUNTIMES)},
        docker_method={"type": "str", "default": "auto", "choices": list(DOCKER_METHODS)},
        containerd_unit={"type": "str", "default": "containerd.service"},
        containers_conf_d={"type": "path", "default": CONTAINERS_CONF_D},
    )
    module = engine_module(options)
    module.params["fix_unit_conflicts"] = False  # daemon_config's path reads it; this module writes no ExecStart
    run_module(module, configure)


if __name__ == "__main__":
    main()
