#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: registry_mirrors
short_description: Point Docker, containerd and Podman/CRI-O at registry mirrors, without restarting containers
version_added: 0.1.0
description:
  - One interface over three runtimes. For each runtime it writes only what it owns, and it leaves
    every other setting as it is.
  - B(Docker)
    sets C(registry-mirrors) in daemon.json through the same path as M(dockhand.runtime.daemon_config).
    It merges, validates, runs C(dockerd --validate) where dockerd has it, writes atomically, reloads dockerd
    with C(SIGHUP) and checks that dockerd shows the new mirrors. If dockerd does not take the change, the
    previous file comes back. No container and no dockerd restarts. dockerd's own mirrors apply to Docker Hub
    (V(docker.io)) only.
  - For any other registry (V(ghcr.io), V(quay.io), V(registry.k8s.io), ...) Docker's mirrors go into the
    collection's rewrite table, O(mirrors_table), a small JSON file that is merged per registry.
    M(dockhand.runtime.image), M(dockhand.runtime.container) and the roles that use them pull an image of that
    registry through its mirrors in order, by digest, tag it back to its canonical name (V(ghcr.io/org/app:1)),
    and fall back to the registry itself. See O(verify_digest) for what the digest is checked against.
  - A plain-HTTP or insecure mirror in the table also goes into C(insecure-registries) as C(host[:port]),
    because the engine pulls from it by name. The entry goes again when no mirror in the table needs it,
    unless a Docker Hub mirror is on the same host.
  - Mirrors marked C(insecure) also go into C(insecure-registries) as C(host[:port]).
    An C(insecure-registries) entry that is a mirror's C(host[:port]) follows that mirror's C(insecure)
    flag. Other entries are kept.
  - B(containerd)
    writes C(<certs dir>/<registry>/hosts.toml), with the mirrors in order as C([host."<url>"]) tables.
    The upstream is the C(server). containerd reads the file on each pull, so a change needs no restart.
  - It also sets C(config_path) under the CRI registry table of config.toml if no C(config_path) is set
    there yet. The table depends on the file's layout.
    V([plugins."io.containerd.grpc.v1.cri".registry]) is used for C(version = 2).
    V([plugins."io.containerd.cri.v1.images".registry]) is used for C(version = 3), which is containerd 2.x.
    V([plugins.cri.registry]) is used for a file without a version line, which containerd 1.x reads as version 1.
    A missing or empty file gets C(version = 2), or C(version = 3) with containerd 2.x.
  - Only that one line is added; every other byte of config.toml is kept. Setting C(config_path) needs a
    containerd restart. The module restarts containerd through systemd when it runs there. If containerd
    does not come back, the previous file comes back.
  - The module refuses to set C(config_path) when config.toml still has the old C(registry.mirrors) or
    C(registry.configs.*.tls) tables, because containerd refuses both together.
  - B(Podman and CRI-O)
    write the drop-in C(<registries.conf.d>/50-dockhand-<registry>.conf) with one C([[registry]]) and a
    C([[registry.mirror]]) per mirror. Podman reads it on each command. A running C(crio.service) is
    reloaded, which CRI-O does on C(SIGHUP).
  - All input is checked for every runtime before anything is written, so bad input changes nothing.
  - Each file is changed under an exclusive lock (in C(/run/lock)), held from its read through the write,
    the apply and any rollback, so two runs that change the same file take turns instead of losing a change.
  - A mirror URL with credentials is refused, and the credentials never show in the output. A mangled
    scheme (C(http//host), C(htp://host)) is refused with the URL it meant.
    With O(state=absent) the module removes exactly what it owns. That is the mirrors in daemon.json
    and their C(insecure-registries) entries, the registry's entry in the rewrite table, the registry's
    hosts.toml and the drop-in.
    C(config_path) stays, because it does no harm without hosts.toml files.
  - A list in daemon.json that becomes empty stays as V([]). dockerd reloads C(registry-mirrors) and
    C(insecure-registries) on C(SIGHUP) only when the file has them, so without the key the old mirrors
    would stay in force until the next restart.
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Reports per runtime what would change and how it would be applied; touches nothing.
  diff_mode:
    support: full
    description: Shows each file before and after (daemon.json, the rewrite table, hosts.toml, config.toml, the
      drop-in).
options:
  runtime:
    description:
      - The runtimes to configure, one or a list.
      - V(auto) configures every runtime installed on the host.
        Docker counts as installed when C(dockerd) is found, when O(path) exists,
        or when the engine answers.
        containerd counts as installed when C(containerd) is found.
        Podman counts as installed when C(podman) or C(crio) is found.
      - In V(auto) mode, a runtime that cannot mirror O(registry) is skipped with the reason.
        Docker and Podman cannot mirror V(_default).
      - A runtime named explicitly must be installed. It must also be able to mirror O(registry),
        or the task fails.
    type: list
    elements: str
    choices: [auto, docker, containerd, podman]
    default: [auto]
  registry:
    description:
      - The registry the mirrors stand in for, as C(host[:port]). V(index.docker.io) and
        V(registry-1.docker.io) mean V(docker.io).
      - V(_default) (containerd only) applies the mirrors to every registry that has no hosts.toml of its own.
    type: str
    default: docker.io
  mirrors:
    description:
      - The mirrors, in the order they are tried. Each is a URL, or a dict with the keys below.
      - A URL needs V(http://) or V(https://). It may not carry credentials, a query or a fragment.
      - In place of a URL, the name of a preset, such as V(daocloud), stands for that mirror's URL for
        O(registry). The presets are the collection's dated table of known mirrors (the README lists
        them). A preset that stopped serving, one that does not serve O(registry), and one whose URL
        is per account or per site (V(aliyun), V(registry-cache)) are refused with the reason. A URL of
        a mirror known to have stopped is kept, with a warning.
      - V(url) (required) is the mirror's URL or a preset's name, such as V(https://mirror.example.com).
      - V(insecure) (bool, default false) means TLS is not verified, or the mirror is plain HTTP.
        Docker gets the host in C(insecure-registries), containerd gets C(skip_verify) for https,
        and Podman gets C(insecure = true). Plain V(http://) mirrors work without it for Docker and
        containerd, and Podman always marks them insecure.
      - V(skip_verify) (bool, default false) is containerd's C(skip_verify). For Docker and Podman it acts
        like V(insecure).
      - V(ca_file) (path on the host, https only) is the CA that signed the mirror's certificate, used
        as containerd's C(ca). Docker and Podman read a mirror's CA only from
        C(/etc/docker/certs.d/HOST:PORT/) and C(/etc/containers/certs.d/HOST:PORT/). Put a copy there;
        the module warns about it.
      - V(capabilities) (list, default V([pull, resolve])) is containerd's C(capabilities), drawn from
        V(pull), V(resolve) and V(push). A public mirror should not have V(push).
      - V(override_path) (bool, default false) is containerd's C(override_path), for a mirror whose URL
        path already is the registry API path.
      - V(auth) (dict) are the mirror's credentials, V({username, password}) for basic auth or V({token}) for
        a bearer token. containerd sends them as an C(Authorization) header from the mirror's C([host.<url>.header])
        table, and the hosts.toml is then written with mode C(0600). Podman takes basic auth from its auth file
        (O(podman_auth_file)), keyed by the mirror's location; it has no place for a token. Docker sends no
        credentials of its own to a mirror, so it is skipped (V(auto)) or refused; log it in to the mirror with
        M(dockhand.runtime.registry_login) and pull from the mirror by name instead.
        The credentials never show in results, diffs or messages.
      - V(headers) (dict) are more HTTP headers for every request to the mirror (containerd only), a value or
        a list of values per header name. Values of secret-looking names (such as C(X-Api-Key)) are masked.
      - V(client_cert) and V(client_key) (paths on the host, https only) are the client certificate and key,
        containerd's C(client). Docker and Podman read them only from C(/etc/docker/certs.d/HOST:PORT/) and
        C(/etc/containers/certs.d/HOST:PORT/); the module warns.
      - Every value that goes into a file is matched whole. A line break or another control character is
        refused with the option's name, and nothing is written.
      - With O(state=present) the list replaces the registry's mirrors; it may not be empty.
        With O(state=absent) the listed mirrors are removed. An empty list removes them all.
    type: list
    elements: raw
    default: []
  server:
    description:
      - The upstream the mirrors of O(registry) fall back to, containerd's C(server) in hosts.toml, such as
        V(https://registry.internal.example:5000). By default it is the registry itself
        (V(https://registry-1.docker.io) for V(docker.io)).
      - containerd only; Docker and Podman have no such setting and are skipped (V(auto)) or refused.
        Not for V(_default).
    type: str
  podman_auth_file:
    description:
      - The containers auth file where Podman finds the basic auth of mirrors that have V(auth).
      - The default, C(~/.config/containers/auth.json) of the user the module runs as, is read by that user's
        Podman (root's for a root task) and outlives a reboot. Rootless users and CRI-O (its C(global_auth_file))
        read other files.
      - Written with mode C(0600); other entries are kept. With O(state=absent) the entries of the listed
        mirrors that have V(auth) are taken out.
    type: path
  state:
    description:
      - V(present) makes the mirrors of O(registry) exactly O(mirrors), in order.
      - V(absent) removes O(mirrors), or every mirror of O(registry) when O(mirrors) is empty.
    type: str
    choices: [present, absent]
    default: present
  mirrors_table:
    description:
      - Docker's rewrite table of mirrors for registries other than Docker Hub, written for a O(registry)
        other than V(docker.io).
      - Give M(dockhand.runtime.image) and M(dockhand.runtime.container) the same path if you move it.
      - The file is JSON, mode 0644, written atomically under a lock. Other registries' entries are kept.
        The file goes when its last registry goes.
    type: path
    default: /etc/dockhand/registry-mirrors.json
  verify_digest:
    description:
      - Docker, for a registry other than Docker Hub, kept in the rewrite table.
        It sets what a pull through the table checks a mirror's digest against.
      - Every pull through a mirror is by digest, so the engine checks the content against that digest.
      - V(mirror) takes the digest the mirror serves for the tag, and the registry itself is never contacted
        while a mirror serves. That is the choice for hosts that cannot reach the registry.
      - V(upstream) first asks the registry itself (through the engine, for at most 15 seconds) which digest
        the tag has. A mirror that serves another digest is passed over as stale, with a warning. When the
        registry does not answer, the pull warns and goes on as with V(mirror).
      - A pinned image (C(name@digest)) is checked against its own digest either way.
    type: str
    choices: [mirror, upstream]
    default: mirror
  path:
    description: Docker's daemon.json.
    type: path
    default: /etc/docker/daemon.json
    aliases: [daemon_json]
  backup:
    description: Keep a timestamped copy of daemon.json and config.toml before changing them.
    type: bool
    default: false
  on_invalid:
    description:
      - What to do when daemon.json is not valid JSON (or not UTF-8).
      - V(fail) leaves the file as it is and fails, saying where it is broken.
      - V(backup_and_replace) keeps a copy of the broken file next to it (as O(backup) does) and starts from
        an empty configuration that holds only the mirrors.
    type: str
    choices: [fail, backup_and_replace]
    default: fail
  apply:
    description:
      - How the change is made live.
      - V(auto) reloads dockerd (C(SIGHUP); mirror keys need nothing more) and restarts containerd only when
        C(config_path) was added to config.toml. It also reloads a running CRI-O.
      - V(reload) never restarts anything; a containerd restart that is still needed shows in the result.
      - V(restart) restarts dockerd instead of reloading it.
      - V(none) only writes the files.
    type: str
    choices: [auto, reload, restart, none]
    default: auto
  restart_timeout:
    description: Seconds to wait for dockerd to answer after a restart before rolling back.
    type: int
    default: 60
  validate_with_dockerd:
    description: Run C(dockerd --validate) on the new daemon.json first, where the installed dockerd supports it.
    type: bool
    default: true
  fix_unit_conflicts:
    description:
      - When the dockerd command line sets mirrors too (C(--registry-mirror)), write a systemd drop-in without
        those flags and restart dockerd. Without it the task fails and says which flag conflicts.
    type: bool
    default: false
  unit:
    description: The systemd unit that runs dockerd.
    type: str
    default: docker.service
  containerd_config:
    description: containerd's configuration file.
    type: path
    default: /etc/containerd/config.toml
  containerd_certs_dir:
    description:
      - The directory of the per-registry hosts.toml files.
      - By default it is the C(config_path) that config.toml already sets, otherwise V(/etc/containerd/certs.d).
        If set, it must be a directory of an existing C(config_path), because the module does not replace one.
    type: path
  containerd_unit:
    description: The systemd unit that runs containerd.
    type: str
    default: containerd.service
  registries_conf_d:
    description:
      - The drop-in directory of containers-registries.conf (Podman, Buildah, Skopeo, CRI-O).
      - The main file, the same path without C(.d), is checked for the old v1 format. That format
        cannot be mixed with drop-ins.
    type: path
    default: /etc/containers/registries.conf.d
notes:
  - Docker tries its mirrors in order, then Docker Hub. A mirror that lacks an image makes dockerd go to
    Docker Hub for it, as containerd and Podman go to the C(server) and the C(location).
  - Drop-ins in registries.conf.d are read in name order. A later file with a C([[registry]]) for the same
    prefix replaces this one, and the module warns when it finds one.
  - To check which mirrors are fast from each host first, see M(dockhand.runtime.mirror_probe).
seealso:
  - module: dockhand.runtime.daemon_config
  - module: dockhand.runtime.engine_info
"""

EXAMPLES = r"""
- name: Docker - pull Docker Hub images through a mirror (dockerd reloads; containers keep running)
  dockhand.runtime.registry_mirrors:
    runtime: docker
    mirrors:
      - https://mirror.example.com
      - http://registry-cache.internal:5000

- name: Docker - pull ghcr.io images through mirrors (image and container rewrite, check and re-tag them)
  dockhand.runtime.registry_mirrors:
    runtime: docker
    registry: ghcr.io
    mirrors:
      - https://ghcr.mirror.lan
      - https://m.example.com/ghcr.io
    verify_digest: upstream

- name: containerd - ghcr.io through a preset (its name stands for its ghcr.io URL)
  dockhand.runtime.registry_mirrors:
    runtime: containerd
    registry: ghcr.io
    mirrors:
      - daocloud

- name: containerd - hosts.toml for docker.io, and config_path set once in config.toml
  dockhand.runtime.registry_mirrors:
    runtime: containerd
    registry: docker.io
    mirrors:
      - url: https://mirror.example.com
        ca_file: /etc/ssl/certs/internal-ca.pem
      - url: http://registry-cache.internal:5000
        capabilities: [pull, resolve]

- name: containerd and Podman - a registry cache with basic auth, its password kept out of every output
  dockhand.runtime.registry_mirrors:
    runtime: [containerd, podman]
    mirrors:
      - url: https://cache.internal:5000
        auth:
          username: fleet
          password: "{{ vault_cache_password }}"
        ca_file: /etc/ssl/certs/internal-ca.pem

- name: containerd - a mirror behind a gateway that wants a token, a header and a client certificate
  dockhand.runtime.registry_mirrors:
    runtime: containerd
    registry: ghcr.io
    server: https://ghcr.internal
    mirrors:
      - url: https://gateway.internal/v2/ghcr
        override_path: true
        auth:
          token: "{{ vault_gateway_token }}"
        headers:
          X-Fleet: edge
        client_cert: /etc/ssl/fleet/client.pem
        client_key: /etc/ssl/fleet/client.key

- name: containerd - one mirror for every registry without its own hosts.toml
  dockhand.runtime.registry_mirrors:
    runtime: containerd
    registry: _default
    mirrors:
      - https://pull-through.internal

- name: Podman or CRI-O - registries.conf.d drop-in for quay.io
  dockhand.runtime.registry_mirrors:
    runtime: podman
    registry: quay.io
    mirrors:
      - url: https://quay-mirror.internal
        insecure: true

- name: Every runtime on the host, checked first with a dry run
  dockhand.runtime.registry_mirrors:
    mirrors:
      - https://mirror.example.com
  check_mode: true
  diff: true
  register: planned

- name: Back to Docker Hub itself on every runtime
  dockhand.runtime.registry_mirrors:
    state: absent
"""

RETURN = r"""
registry:
  description: The registry, normalised.
  returned: always
  type: str
  sample: docker.io
mirrors:
  description: >-
    The mirrors as understood, with every key filled in and preset names replaced by their URLs; C(auth) and
    the values of headers that carry credentials (secret-sounding names, C(Cookie), C(X-JFrog-Art-Api)) masked.
  returned: always
  type: list
  elements: dict
  sample: [{"url": "http://registry-cache.internal:5000", "insecure": false, "skip_verify": false,
            "ca_file": null, "capabilities": ["pull", "resolve"], "override_path": false, "auth": "********",
            "headers": {}, "client_cert": null, "client_key": null}]
server:
  description: The O(server) as understood, or null for the registry itself.
  returned: always
  type: str
  sample: https://registry.internal.example:5000
runtimes:
  description:
    - One entry per runtime handled (or skipped), keyed by V(docker), V(containerd) and V(podman).
    - Every entry has C(skipped), C(changed), C(files) (the files written or removed, or that would be in
      check mode) and C(applied) (how the change was made live - V(reload), V(restart) or V(none)).
    - A handled entry also has C(detected_by) (how the runtime was found). An entry with C(skipped=true)
      has a C(reason) instead.
    - V(docker) also has C(path), C(changed_keys), C(registry_mirrors), C(insecure_registries),
      C(restart_needed_for), C(backup_file), C(rolled_back), C(validated_with_dockerd) and C(unit_conflicts)
      (as M(dockhand.runtime.daemon_config) returns them). For a registry other than V(docker.io) it also has
      C(mirrors_table) (the table's path) and C(table_mirrors) (the registry's mirrors in the table afterwards).
    - V(containerd) also has C(hosts_toml), C(config_toml), C(certs_dir), C(config_table) (the TOML table of
      config_path), C(config_path_set) (this run added it), C(restart_needed) and C(backup_file).
    - V(podman) also has C(drop_in) and C(auth_file) (the containers auth file, when a mirror has V(auth)).
  returned: always
  type: dict
  sample:
    docker:
      skipped: false
      changed: true
      files: ["/etc/docker/daemon.json"]
      applied: reload
      path: /etc/docker/daemon.json
      changed_keys: ["registry-mirrors"]
      registry_mirrors: ["http://registry-cache.internal:5000"]
      insecure_registries: []
    containerd:
      changed: true
      files: ["/etc/containerd/certs.d/docker.io/hosts.toml", "/etc/containerd/config.toml"]
      applied: restart
      hosts_toml: /etc/containerd/certs.d/docker.io/hosts.toml
      config_toml: /etc/containerd/config.toml
      certs_dir: /etc/containerd/certs.d
      config_table: '[plugins."io.containerd.grpc.v1.cri".registry]'
      config_path_set: true
      restart_needed: false
    podman:
      changed: true
      files: ["/etc/containers/registries.conf.d/50-dockhand-docker.io.conf"]
      applied: none
      drop_in: /etc/containers/registries.conf.d/50-dockhand-docker.io.conf
"""

import contextlib

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import engine_module
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import (
    DAEMON_CHANGE_OPTIONS,
    ChangeFailed,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls, protect
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    MirrorError,
    mirror_secrets,
    normalise_mirrors,
    normalise_registry,
    normalise_server,
    shown_mirrors,
    userinfo_secrets,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.presets import stopped_note
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import (
    FileLocks,
    Refused,
    select_drivers,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.containerd import (
    CONTAINERD_CONFIG,
    ContainerdDriver,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.docker import DockerDriver
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.podman import (
    REGISTRIES_CONF_D,
    PodmanDriver,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.rewrite_table import (
    TABLE_PATH,
    VERIFY_CHOICES,
    VERIFY_MIRROR,
)

DRIVERS = (DockerDriver, ContainerdDriver, PodmanDriver)  # in the order they are applied


def configure(module):
    protect(module, skip_keys=("podman_auth_file",))  # URL credentials and secret-named values never show
    params = module.params
    for value in params["mirrors"] + [params["server"]]:  # also credentials redact's URL pattern cannot see
        url = value.get("url") if isinstance(value, dict) else value
        module.no_log_values.update(userinfo_secrets(url))
    try:
        registry = normalise_registry(params["registry"])
        mirrors = normalise_mirrors(params["mirrors"], registry)
        params["server"] = normalise_server(params["server"], registry)
    except MirrorError as exc:
        module.fail_json(msg="%s. Nothing was written." % mask_urls(str(exc)))
    for mirror in mirrors:  # the Authorization header made from auth is no parameter: masked too
        module.no_log_values.update(secret for secret in mirror_secrets(mirror) if len(secret) >= 3)
    for mirror in mirrors if params["state"] == "present" else ():
        note = stopped_note(mirror["url"])
        if note:
            module.warn("%s; it stays in the list as given, but pulls will go past it" % note)
    if params["state"] == "present" and not mirrors:
        module.fail_json(msg="mirrors is empty: give at least one mirror, or use state: absent to remove the "
                             "mirrors of %s. Nothing was written." % registry)

    result = {"changed": False, "registry": registry, "mirrors": shown_mirrors(mirrors), "server": params["server"],
              "runtimes": {}}
    with contextlib.ExitStack() as stack:
        lock = FileLocks(module, stack)
        drivers = [driver_class(module, lock) for driver_class in DRIVERS]
        for driver in drivers:
            stack.callback(driver.close)
        try:
            chosen, skipped = select_drivers(module, registry, drivers, mirrors)
            plans = [(driver, found, driver.plan(registry, mirrors, params["state"])) for driver, found in chosen]
        except Refused as exc:
            module.fail_json(msg=str(exc), **result)
        for name, reason in skipped.items():
            result["runtimes"][name] = {"skipped": True, "reason": reason, "changed": False, "files": [],
                                        "applied": "none"}

        diffs = []
        name = None
        try:
            for driver, found, plan in plans:
                name = driver.name
                outcome, more = driver.apply(plan)
                outcome["detected_by"] = found
                outcome["skipped"] = False
                result["runtimes"][name] = outcome
                diffs += more
                result["changed"] = result["changed"] or outcome["changed"]
        except ChangeFailed as exc:
            result["runtimes"][name] = dict(exc.result, failed=True)
            result["changed"] = result["changed"] or bool(exc.result.get("rolled_back") or exc.result.get("changed"))
            later = [driver.name for driver, _found, _plan in plans if driver.name not in result["runtimes"]]
            prefix = "" if str(exc).startswith(name) else name + ": "
            suffix = " (%s: not changed)" % ", ".join(later) if later else ""
            module.fail_json(msg="%s%s%s" % (prefix, exc, suffix), **result)
    if module._diff:
        result["diff"] = diffs
    return result


def main():
    options = dict(DAEMON_CHANGE_OPTIONS)
    options["path"] = dict(options["path"], aliases=["daemon_json"])
    options.update(
        runtime={"type": "list", "elements": "str", "default": ["auto"],
                 "choices": ["auto"] + [driver.name for driver in DRIVERS]},
        registry={"type": "str", "default": "docker.io"},
        mirrors={"type": "list", "elements": "raw", "default": []},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        on_invalid={"type": "str", "default": "fail", "choices": ["fail", "backup_and_replace"]},
        containerd_config={"type": "path", "default": CONTAINERD_CONFIG},
        containerd_certs_dir={"type": "path"},
        containerd_unit={"type": "str", "default": "containerd.service"},
        registries_conf_d={"type": "path", "default": REGISTRIES_CONF_D},
        server={"type": "str"},
        podman_auth_file={"type": "path"},
        mirrors_table={"type": "path", "default": TABLE_PATH},
        verify_digest={"type": "str", "default": VERIFY_MIRROR, "choices": list(VERIFY_CHOICES)},
    )
    module = engine_module(options)
    run_module(module, configure)


if __name__ == "__main__":
    main()
