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
    previous file comes back. No container and no dockerd restarts. Docker's mirrors apply to Docker Hub
    (V(docker.io)) only.
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
    and their C(insecure-registries) entries, the registry's hosts.toml and the drop-in.
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
    description: Shows each file before and after (daemon.json, hosts.toml, config.toml, the drop-in).
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
        Docker can only mirror V(docker.io), and Podman cannot mirror V(_default).
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
      - V(url) (required) is the mirror's URL, such as V(https://mirror.example.com).
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
      - With O(state=present) the list replaces the registry's mirrors; it may not be empty.
        With O(state=absent) the listed mirrors are removed. An empty list removes them all.
    type: list
    elements: raw
    default: []
  state:
    description:
      - V(present) makes the mirrors of O(registry) exactly O(mirrors), in order.
      - V(absent) removes O(mirrors), or every mirror of O(registry) when O(mirrors) is empty.
    type: str
    choices: [present, absent]
    default: present
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

- name: containerd - hosts.toml for docker.io, and config_path set once in config.toml
  dockhand.runtime.registry_mirrors:
    runtime: containerd
    registry: docker.io
    mirrors:
      - url: https://mirror.example.com
        ca_file: /etc/ssl/certs/internal-ca.pem
      - url: http://registry-cache.internal:5000
        capabilities: [pull, resolve]

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
  description: The mirrors as understood, with every key filled in.
  returned: always
  type: list
  elements: dict
  sample: [{"url": "http://registry-cache.internal:5000", "insecure": false, "skip_verify": false,
            "ca_file": null, "capabilities": ["pull", "resolve"], "override_path": false}]
runtimes:
  description:
    - One entry per runtime handled (or skipped), keyed by V(docker), V(containerd) and V(podman).
    - Every entry has C(skipped), C(changed), C(files) (the files written or removed, or that would be in
      check mode) and C(applied) (how the change was made live - V(reload), V(restart) or V(none)).
    - A handled entry also has C(detected_by) (how the runtime was found). An entry with C(skipped=true)
      has a C(reason) instead.
    - V(docker) also has C(path), C(changed_keys), C(registry_mirrors), C(insecure_registries),
      C(restart_needed_for), C(backup_file), C(rolled_back), C(validated_with_dockerd) and C(unit_conflicts)
      (as M(dockhand.runtime.daemon_config) returns them).
    - V(containerd) also has C(hosts_toml), C(config_toml), C(certs_dir), C(config_table) (the TOML table of
      config_path), C(config_path_set) (this run added it), C(restart_needed) and C(backup_file).
    - V(podman) also has C(drop_in).
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
import os
import tempfile

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import (
    DAEMON_CHANGE_OPTIONS,
    ChangeFailed,
    change_daemon_json,
    load_current,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.dockerd import Dockerd
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    DEFAULT_LOCK_TIMEOUT,
    FileError,
    atomic_write,
    backup,
    locked,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls, protect
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import runs_systemd, unit_info
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    CONTAINERD_CERTS_DIR,
    CONTAINERD_CONFIG,
    REGISTRIES_CONF_D,
    MirrorError,
    TomlError,
    check_docker_registry,
    check_podman_registry,
    config_path_dirs,
    containerd_host,
    containerd_major,
    docker_change,
    dropin_name,
    hosts_toml_path,
    mirror_host,
    mirrors_from_docker,
    normalise_mirrors,
    normalise_registry,
    normalise_url,
    parse_hosts_toml,
    parse_registries_dropin,
    plan_config_path,
    podman_mirror,
    registries_conf_v1_tables,
    render_hosts_toml,
    render_registries_dropin,
)

RUNTIMES = ("docker", "containerd", "podman")


class Refused(Exception):
    """The task cannot be done as asked; nothing has been written."""


# --------------------------------------------------------------------------
# Which runtimes
# --------------------------------------------------------------------------

def detect(module, name, client_box):
    """How ``name`` was found on the host, or None when it is not installed."""
    if name == "docker":
        found = module.get_bin_path("dockerd")
        if found:
            return "dockerd at %s" % found
        # Not the directory: packages such as docker-registry make /etc/docker without any dockerd.
        if os.path.isfile(module.params["path"]):
            return "%s exists" % module.params["path"]
        if Dockerd(module.run_command, client_box.get()).answers(timeout=3):
            return "the engine answers at %s" % module.params["docker_host"]
        return None
    if name == "containerd":
        found = module.get_bin_path("containerd")
        return "containerd at %s" % found if found else None
    for binary in ("podman", "crio"):
        found = module.get_bin_path(binary)
        if found:
            return "%s at %s" % (binary, found)
    return None


def unfit(name, registry):
    """Why ``name`` cannot mirror ``registry``, or None."""
    if name == "docker":
        return check_docker_registry(registry)
    if name == "podman":
        return check_podman_registry(registry)
    return None


def select_runtimes(module, registry, client_box):
    """[(name, detected_by)] to configure and {name: reason} skipped; raises Refused."""
    asked = module.params["runtime"] or ["auto"]
    auto = "auto" in asked
    names = RUNTIMES if auto else [name for name in RUNTIMES if name in asked]
    chosen, skipped = [], {}
    for name in names:
        found = detect(module, name, client_box)
        if not found:
            if not auto:
                raise Refused("runtime %s was asked for, but this host has no %s (looked for %s in PATH and the sbin "
                              "directories); install it, or leave it out of runtime"
                              % (name, name, {"docker": "dockerd, %s and the engine at %s"
                                              % (module.params["path"], module.params["docker_host"]),
                                              "containerd": "containerd",
                                              "podman": "podman and crio"}[name]))
            continue
        reason = unfit(name, registry)
        if reason:
            if not auto:
                raise Refused("runtime %s: %s" % (name, reason))
            skipped[name] = reason
            continue
        chosen.append((name, found))
    if not chosen and not skipped:
        raise Refused("runtime auto found no container runtime on this host (no dockerd, containerd, podman or crio, "
                      "no %s, no engine at %s); install one, or name the runtime"
                      % (module.params["path"], module.params["docker_host"]))
    return chosen, skipped


class ClientBox:
    """The engine client, made on first use (many tasks never need it)."""

    def __init__(self, params):
        self.params = params
        self.client = None

    def get(self):
        if self.client is None:
            self.client = make_client(self.params)
        return self.client

    def close(self):
        if self.client is not None:
            self.client.close()


# --------------------------------------------------------------------------
# Files this module owns (hosts.toml, the drop-in): plan and write
# --------------------------------------------------------------------------

def read_text(path):
    """(text or None) of a file; Refused when it cannot be read or is not UTF-8."""
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise Refused("%s. Nothing was written." % exc) from None
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("%s is not UTF-8 text (byte %d); nothing was written" % (path, exc.start)) from None


def file_change(path, before, after):
    return {"path": path, "before": before, "after": after, "changed": before != after}


def diff_of(change):
    return {"before_header": change["path"], "after_header": change["path"],
            "before": change["before"] or "", "after": change["after"] or ""}


def write_change(change, remove_empty_dir=False):
    """Write (or delete) one planned file; raises FileError."""
    path = change["path"]
    if change["after"] is None:
        restore(path, None)
        if remove_empty_dir:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))  # only succeeds when the directory is empty
        return
    atomic_write(path, change["after"].encode("utf-8"), mode=0o644)


def parse_own_file(kind, path, text, parse, source_label):
    """One of this module's files, parsed (for state=absent with a list of mirrors)."""
    try:
        return parse(text, path)
    except TomlError as exc:
        raise Refused("%s: %s. It is this module's %s; remove the mirrors with state: absent and no mirrors list, "
                      "which deletes the file" % (kind, exc, source_label)) from None


# --------------------------------------------------------------------------
# Docker
# --------------------------------------------------------------------------

def plan_docker(module, registry, mirrors, state, lock):
    # daemon.json is locked by change_daemon_json itself, from its own read through the apply.
    try:
        _raw, current, _replaced = load_current(module.params["path"], module.params["on_invalid"])
    except ChangeFailed as exc:
        raise Refused("docker: %s" % exc) from None
    settings = docker_change(current, mirrors, state)
    if not module.get_bin_path("dockerd"):
        # Nothing to validate with (a remote engine, or only daemon.json here); and run_command would
        # fail the task on the missing executable.
        module.params["validate_with_dockerd"] = False
    for mirror in mirrors:
        if mirror["ca_file"] and state == "present":
            module.warn("docker: dockerd reads the CA of %s only from /etc/docker/certs.d/%s/ (a .crt file); copy %s "
                        "there, for example with ansible.builtin.copy" % (mirror["url"], mirror_host(mirror["url"]),
                                                                          mirror["ca_file"]))
    return {"settings": settings}


def apply_docker(module, client, plan):
    result = change_daemon_json(module, client, settings=plan["settings"], on_invalid=module.params["on_invalid"])
    after = result.pop("settings", None) or {}
    diff = result.pop("diff", None)
    result["registry_mirrors"] = [mirror["url"] for mirror in mirrors_from_docker(after)]
    result["insecure_registries"] = list(after.get("insecure-registries") or [])
    result["files"] = [result["path"]] if result["changed"] else []
    return result, ([diff] if diff and result["changed"] else [])


# --------------------------------------------------------------------------
# containerd
# --------------------------------------------------------------------------

def installed_containerd_major(module):
    binary = module.get_bin_path("containerd")
    if not binary:
        return None
    rc, out, _err = module.run_command([binary, "--version"])
    return containerd_major(out) if rc == 0 else None


def check_containerd_config(module, config_file, text):
    """Refused when ``containerd config dump`` rejects ``text`` (where containerd is installed)."""
    binary = module.get_bin_path("containerd")
    directory = os.path.dirname(config_file) or "."
    if not binary or not os.path.isdir(directory):
        return
    handle, candidate = tempfile.mkstemp(prefix=".config.toml.validate.", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        rc, out, err = module.run_command([binary, "--config", candidate, "config", "dump"])
    finally:
        with contextlib.suppress(OSError):
            os.unlink(candidate)
    if rc != 0:
        raise Refused("containerd refused the new %s: %s. Nothing was written."
                      % (config_file, (err or out).strip().replace(candidate, config_file)))


def plan_containerd(module, registry, mirrors, state, lock):
    params = module.params
    config_file = params["containerd_config"]
    lock(config_file)
    text = read_text(config_file)
    wanted_dir = params["containerd_certs_dir"]
    try:
        probe = plan_config_path(text, wanted_dir or CONTAINERD_CERTS_DIR, source=config_file)
    except TomlError as exc:
        if state == "absent":
            probe = {"current": None, "conflicts": []}
        else:
            raise Refused("containerd: %s. Fix the file; nothing was written." % exc) from None
    current_dirs = config_path_dirs(probe["current"])
    if current_dirs and wanted_dir and wanted_dir.rstrip("/") not in current_dirs:
        raise Refused("containerd: %s already sets config_path = %r, so containerd does not read hosts.toml files "
                      "under %s. Set containerd_certs_dir: %s (or change config_path yourself); nothing was "
                      "written." % (config_file, probe["current"], wanted_dir, current_dirs[0]))
    certs_dir = wanted_dir or (current_dirs[0] if current_dirs else CONTAINERD_CERTS_DIR)

    hosts_path = hosts_toml_path(certs_dir, registry)
    lock(hosts_path)
    before = read_text(hosts_path)
    if state == "present":
        after = render_hosts_toml(registry, [containerd_host(mirror) for mirror in mirrors])
    elif before is None or not mirrors:
        after = None
    else:
        parsed = parse_own_file("containerd", hosts_path, before, parse_hosts_toml, "hosts.toml")
        urls = {mirror["url"] for mirror in mirrors}
        keep = [host for host in parsed["hosts"] if normalise_url(host["url"]) not in urls]
        after = render_hosts_toml(registry, keep, server=parsed["server"]) if keep else None
        if keep and [h["url"] for h in keep] == [h["url"] for h in parsed["hosts"]]:
            after = before  # none of the listed mirrors is there: leave the file as it is
    plan = {"hosts": file_change(hosts_path, before, after), "config": file_change(config_file, text, text),
            "certs_dir": certs_dir, "config_path_set": False, "table": None, "raw": text}

    if state == "present" and not current_dirs:
        if probe["conflicts"]:
            raise Refused("containerd: %s. Nothing was written." % "; ".join(probe["conflicts"]))
        major = installed_containerd_major(module) if not (text or "").strip() else None
        try:
            edit = plan_config_path(text, certs_dir, major=major, source=config_file)
        except TomlError as exc:
            raise Refused("containerd: %s. Fix the file; nothing was written." % exc) from None
        if edit["conflicts"]:
            raise Refused("containerd: %s. Nothing was written." % "; ".join(edit["conflicts"]))
        plan["config"] = file_change(config_file, text, edit["text"])
        plan["config_path_set"] = edit["changed"]
        plan["table"] = edit["table"]
        if edit["changed"] and text is not None:
            check_containerd_config(module, config_file, edit["text"])
    elif state == "present" and probe["conflicts"]:
        raise Refused("containerd: %s. Nothing was written." % "; ".join(probe["conflicts"]))
    return plan


def containerd_running(module, unit):
    """(running, under_systemd)."""
    if runs_systemd():
        facts = unit_info(module.run_command, unit)
        if facts and facts["loaded"]:
            return facts["active_state"] in ("active", "reloading", "activating"), True
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/comm" % entry) as handle:
                    if handle.read().strip() == "containerd":
                        return True, False
            except (IOError, OSError):
                continue
    return False, False


def journal_tail(module, unit, lines=20):
    rc, out, _err = module.run_command(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "--output", "cat"])
    if rc != 0 or not out.strip():
        return ""
    return "\nLast lines of the %s journal:\n%s" % (unit, out.rstrip())


def restart_containerd(module, unit):
    """None when containerd restarted and is active, else the reason with its journal."""
    rc, out, err = module.run_command(["systemctl", "restart", unit])
    if rc != 0:
        return "systemctl restart %s failed: %s%s" % (unit, (err or out).strip(), journal_tail(module, unit))
    facts = unit_info(module.run_command, unit) or {}
    if facts.get("active_state") != "active":
        return "%s is %s after the restart%s" % (unit, facts.get("active_state"), journal_tail(module, unit))
    return None


def apply_containerd(module, plan):
    params = module.params
    hosts, config = plan["hosts"], plan["config"]
    result = {
        "changed": hosts["changed"] or config["changed"],
        "files": [change["path"] for change in (hosts, config) if change["changed"]],
        "applied": "none",
        "hosts_toml": hosts["path"],
        "config_toml": config["path"],
        "certs_dir": plan["certs_dir"],
        "config_table": plan["table"],
        "config_path_set": config["changed"],
        "restart_needed": False,
        "backup_file": None,
    }
    diffs = [diff_of(change) for change in (hosts, config) if change["changed"]]
    running, systemd = (containerd_running(module, params["containerd_unit"]) if config["changed"]
                        else (False, False))
    restart = config["changed"] and running and systemd and params["apply"] in ("auto", "restart")
    result["restart_needed"] = bool(config["changed"] and running and not restart)
    if restart:
        result["applied"] = "restart"
    if module.check_mode or not result["changed"]:
        return result, diffs
    try:
        if hosts["changed"]:
            write_change(hosts, remove_empty_dir=True)
        if config["changed"]:
            if params["backup"] and config["before"] is not None:
                result["backup_file"] = backup(config["path"])
            write_change(config)
    except FileError as exc:
        raise ChangeFailed("containerd: %s" % exc, **result) from None
    if restart:
        reason = restart_containerd(module, params["containerd_unit"])
        if reason:
            restore(config["path"], plan["raw"].encode("utf-8") if plan["raw"] is not None else None)
            again = restart_containerd(module, params["containerd_unit"])
            result.update(rolled_back=True, applied="none")
            raise ChangeFailed("containerd did not come back after config_path was set in %s: %s. The previous file "
                               "was restored%s." % (config["path"], reason,
                                                    "" if again is None else " but containerd did not start with "
                                                    "it either: %s" % again), **result)
    elif result["restart_needed"]:
        module.warn("containerd: config_path was added to %s; restart containerd for it to take effect (hosts.toml "
                    "files are read on each pull, so later changes need no restart)" % config["path"])
    return result, diffs


# --------------------------------------------------------------------------
# Podman and CRI-O
# --------------------------------------------------------------------------

def plan_podman(module, registry, mirrors, state, lock):
    directory = module.params["registries_conf_d"].rstrip("/")
    path = os.path.join(directory, dropin_name(registry))
    lock(path)
    before = read_text(path)
    if state == "present":
        if directory.endswith(".d"):
            main = directory[:-2]
            main_text = read_text(main) if os.path.isfile(main) else None
            problem = registries_conf_v1_tables(main_text, main) if main_text else None
            if problem:
                raise Refused("podman: %s. Nothing was written." % problem)
        after = render_registries_dropin(registry, [podman_mirror(mirror) for mirror in mirrors])
        warn_about_later_dropins(module, directory, path, registry)
        for mirror in mirrors:
            if mirror["ca_file"]:
                where = mirror_host(mirror["url"])
                module.warn("podman: containers/image reads the CA of %s only from /etc/containers/certs.d/%s/ (a "
                            ".crt file); copy %s there" % (mirror["url"], where, mirror["ca_file"]))
    elif before is None or not mirrors:
        after = None
    else:
        parsed = parse_own_file("podman", path, before, parse_registries_dropin, "drop-in")
        entries = parsed[0]["mirrors"] if parsed else []
        drop = {podman_mirror(mirror)["location"] for mirror in mirrors}
        keep = [entry for entry in entries if entry["location"] not in drop]
        after = render_registries_dropin(registry, keep) if keep else None
        if keep and len(keep) == len(entries):
            after = before
    return {"dropin": file_change(path, before, after)}


def warn_about_later_dropins(module, directory, path, registry):
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".conf"))
    except OSError:
        return
    for name in names:
        other = os.path.join(directory, name)
        if name <= os.path.basename(path):
            continue  # read before this module's drop-in, so replaced by it
        try:
            with open(other, "rb") as handle:
                entries = parse_registries_dropin(handle.read().decode("utf-8"), other)
        except (IOError, OSError, UnicodeDecodeError, TomlError):
            continue
        if any(entry["prefix"] == registry for entry in entries):
            module.warn("podman: %s is read after %s and has its own [[registry]] for %s, which replaces these "
                        "mirrors; remove it or rename the files" % (other, path, registry))


def apply_podman(module, plan):
    change = plan["dropin"]
    result = {"changed": change["changed"], "files": [change["path"]] if change["changed"] else [],
              "applied": "none", "drop_in": change["path"]}
    diffs = [diff_of(change)] if change["changed"] else []
    crio = False
    if change["changed"] and module.params["apply"] != "none" and runs_systemd():
        facts = unit_info(module.run_command, "crio.service")
        crio = bool(facts and facts["active_state"] == "active")
    if crio:
        result["applied"] = "reload"
    if module.check_mode or not change["changed"]:
        return result, diffs
    try:
        write_change(change)
    except FileError as exc:
        raise ChangeFailed("podman: %s" % exc, **result) from None
    if crio:
        rc, out, err = module.run_command(["systemctl", "reload", "crio.service"])
        if rc != 0:
            module.warn("podman: the drop-in is written, but reloading crio.service failed (%s); restart CRI-O for "
                        "it to take effect" % (err or out).strip())
            result["applied"] = "none"
    return result, diffs


# --------------------------------------------------------------------------
# The task
# --------------------------------------------------------------------------

PLANNERS = {"docker": plan_docker, "containerd": plan_containerd, "podman": plan_podman}


class FileLocks:
    """The locks of the files a run changes, held from their read through the write, apply and rollback."""

    def __init__(self, module, stack):
        self.module = module
        self.stack = stack
        self.held = set()

    def __call__(self, path):
        if self.module.check_mode or path in self.held:
            return
        timeout = self.module.params.get("lock_timeout")
        try:
            self.stack.enter_context(locked(path, DEFAULT_LOCK_TIMEOUT if timeout is None else timeout))
        except FileError as exc:
            raise Refused("%s. Nothing was written." % exc) from None
        self.held.add(path)


def configure(module):
    protect(module)  # URL credentials and secret-named values never reach the output
    params = module.params
    try:
        registry = normalise_registry(params["registry"])
        mirrors = normalise_mirrors(params["mirrors"])
    except MirrorError as exc:
        module.fail_json(msg="%s. Nothing was written." % mask_urls(str(exc)))
    if params["state"] == "present" and not mirrors:
        module.fail_json(msg="mirrors is empty: give at least one mirror, or use state: absent to remove the "
                             "mirrors of %s. Nothing was written." % registry)

    client_box = ClientBox(params)
    result = {"changed": False, "registry": registry, "mirrors": mirrors, "runtimes": {}}
    with contextlib.ExitStack() as stack:
        stack.callback(client_box.close)
        lock = FileLocks(module, stack)
        try:
            chosen, skipped = select_runtimes(module, registry, client_box)
            plans = [(name, found, PLANNERS[name](module, registry, mirrors, params["state"], lock))
                     for name, found in chosen]
        except Refused as exc:
            module.fail_json(msg=str(exc), **result)
        for name, reason in skipped.items():
            result["runtimes"][name] = {"skipped": True, "reason": reason, "changed": False, "files": [],
                                        "applied": "none"}

        diffs = []
        name = None
        try:
            for name, found, plan in plans:
                if name == "docker":
                    outcome, more = apply_docker(module, client_box.get(), plan)
                elif name == "containerd":
                    outcome, more = apply_containerd(module, plan)
                else:
                    outcome, more = apply_podman(module, plan)
                outcome["detected_by"] = found
                outcome["skipped"] = False
                result["runtimes"][name] = outcome
                diffs += more
                result["changed"] = result["changed"] or outcome["changed"]
        except ChangeFailed as exc:
            result["runtimes"][name] = dict(exc.result, failed=True)
            result["changed"] = result["changed"] or bool(exc.result.get("rolled_back") or exc.result.get("changed"))
            later = [other for other, _found, _plan in plans if other not in result["runtimes"]]
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
                 "choices": ["auto", "docker", "containerd", "podman"]},
        registry={"type": "str", "default": "docker.io"},
        mirrors={"type": "list", "elements": "raw", "default": []},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        on_invalid={"type": "str", "default": "fail", "choices": ["fail", "backup_and_replace"]},
        containerd_config={"type": "path", "default": CONTAINERD_CONFIG},
        containerd_certs_dir={"type": "path"},
        containerd_unit={"type": "str", "default": "containerd.service"},
        registries_conf_d={"type": "path", "default": REGISTRIES_CONF_D},
    )
    module = engine_module(options)
    run_module(module, configure)


if __name__ == "__main__":
    main()
