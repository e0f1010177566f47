# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's registry mirrors: ``registry-mirrors`` and ``insecure-registries`` in daemon.json, and the
rewrite table for every other registry.

dockerd's own mirrors serve Docker Hub only. Mirrors of any other registry go
into the collection's rewrite table (registry/rewrite_table.py), which the
image and container modules pull through; their plain-HTTP and insecure hosts
go into ``insecure-registries``, since the engine pulls from them by name.
The changes are pure data (:func:`docker_change`, :func:`table_after`,
:func:`table_insecure_change`); daemon.json goes through daemon_config's one
safe path (change_daemon_json: lock, merge, validate, write, reload with
SIGHUP, check, roll back), so no container and no dockerd restarts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import functools
import os

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import make_client
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import (
    ChangeFailed,
    change_daemon_json,
    load_current,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import check_mirror_url
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.dockerd import Dockerd
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import FileError, restore
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    CREDENTIAL_OPTIONS,
    DEFAULT_REGISTRY_DIR,
    is_insecure,
    mirror_host,
    normalise_url,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import (
    Driver,
    Refused,
    diff_of,
    file_change,
    read_text,
    write_change,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import DOCKER_HUB
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.rewrite_table import (
    TableError,
    insecure_hosts,
    mirror_prefix,
    parse_table,
    remove_registry,
    render_table,
    set_registry,
    table_mirrors,
)


def check_docker_registry(registry):
    """None when Docker can mirror ``registry``, else why not and what to use instead."""
    if registry == DEFAULT_REGISTRY_DIR:
        return ("registry _default: Docker has no mirrors for every registry at once; name the registry "
                "(docker.io goes into daemon.json, any other into the rewrite table)")
    return None


def check_docker_mirrors(mirrors, server=None):
    """None when dockerd can use these mirrors as given, else what it lacks and what to do instead."""
    if server:
        return ("server %s: dockerd has no upstream setting; it falls back to Docker Hub itself. server is for "
                "containerd's hosts.toml" % server)
    for index, mirror in enumerate(mirrors):
        given = [name for name in CREDENTIAL_OPTIONS if mirror.get(name)]
        if given:
            return ("mirrors[%d] (%s) sets %s, but dockerd sends no credentials or headers of its own to a "
                    "registry mirror. Use it on containerd or Podman, or log Docker in to it with "
                    "dockhand.runtime.registry_login and pull from it by name"
                    % (index, mirror["url"], " and ".join(given)))
    return None


def _as_list(value):
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    return []


def _loose_url(value):
    """A URL from daemon.json in canonical form for comparison (it may not be valid)."""
    if not isinstance(value, str):
        return value
    try:
        return normalise_url(value) if not check_mirror_url(value.strip()) else value
    except ValueError:
        return value


def docker_change(current, mirrors, state="present", keep_hosts=()):
    """The settings registry_mirrors merges into daemon.json (empty when nothing changes).

    ``present`` makes ``registry-mirrors`` exactly ``mirrors`` (in order);
    ``absent`` takes out ``mirrors`` (every mirror when empty). An entry of
    ``insecure-registries`` that is a mirror's host[:port] follows that
    mirror's ``insecure``: added for insecure mirrors, taken out when the
    mirror goes or stops being insecure. Other entries are kept, and so are
    the hosts in ``keep_hosts`` (those the rewrite table needs).

    A list that becomes empty is written as ``[]``, never removed: on SIGHUP
    dockerd reloads these keys only when the file has them, so a removed key
    would leave the old mirrors in force until the next restart.
    """
    current_urls = _as_list(current.get("registry-mirrors"))
    current_norm = [_loose_url(url) for url in current_urls]
    if state == "present":
        wanted_norm = [mirror["url"] for mirror in mirrors]
        wanted = current_urls if current_norm == wanted_norm else wanted_norm
        owned = {mirror_host(url) for url in current_norm + wanted_norm if isinstance(url, str)}
        want_insecure = [mirror_host(m["url"]) for m in mirrors if is_insecure(m)]
    else:
        drop = {mirror["url"] for mirror in mirrors}
        keep = [(url, norm) for url, norm in zip(current_urls, current_norm) if mirrors and norm not in drop]
        wanted = [url for url, _norm in keep]
        kept_hosts = {mirror_host(norm) for _url, norm in keep if isinstance(norm, str)}
        owned = {mirror_host(norm) for norm in current_norm if isinstance(norm, str)} - kept_hosts
        want_insecure = []

    owned -= set(keep_hosts)
    current_insecure = _as_list(current.get("insecure-registries"))
    new_insecure = []
    for entry in current_insecure:
        name = entry.lower() if isinstance(entry, str) else entry
        if (name not in owned or name in want_insecure) and entry not in new_insecure:
            new_insecure.append(entry)
    lowered = [entry.lower() for entry in new_insecure if isinstance(entry, str)]
    new_insecure += [host for host in dict.fromkeys(want_insecure) if host not in lowered]

    settings = {}
    for key, old, new in (("registry-mirrors", current.get("registry-mirrors"), wanted),
                          ("insecure-registries", current.get("insecure-registries"), new_insecure)):
        if old != new and (old is not None or new):
            settings[key] = new
    return settings


def hub_mirror_hosts(current):
    """host[:port] of each Docker Hub mirror daemon.json sets."""
    return {mirror_host(norm) for norm in (_loose_url(url) for url in _as_list(current.get("registry-mirrors")))
            if isinstance(norm, str)}


def table_insecure_change(current, before_hosts, after_hosts):
    """The ``insecure-registries`` change the rewrite table needs (empty when nothing changes).

    ``before_hosts`` and ``after_hosts`` are the table's plain-HTTP and insecure
    mirror hosts (rewrite_table.insecure_hosts) before and after the change: the
    new ones are added, and those no longer needed go, unless a Docker Hub
    mirror in daemon.json is on the same host. Other entries are kept.
    """
    drop = set(before_hosts) - set(after_hosts) - hub_mirror_hosts(current)
    old = current.get("insecure-registries")
    new = [entry for entry in _as_list(old) if not (isinstance(entry, str) and entry.lower() in drop)]
    lowered = {entry.lower() for entry in new if isinstance(entry, str)}
    new += [host for host in after_hosts if host not in lowered]
    if old == new or (old is None and not new):
        return {}
    return {"insecure-registries": new}


def table_after(table, registry, mirrors, state, verify_digest):
    """The rewrite table once ``registry`` has ``mirrors`` (present) or lost them (absent; all when empty)."""
    if state == "present":
        return set_registry(table, registry, mirrors, verify_digest)
    return remove_registry(table, registry, [mirror["url"] for mirror in mirrors])


def mirrors_from_docker(settings):
    """The mirrors a daemon.json document sets: [{url, insecure}] (insecure: its host is in insecure-registries)."""
    insecure = {entry.lower() for entry in _as_list(settings.get("insecure-registries")) if isinstance(entry, str)}
    found = []
    for url in _as_list(settings.get("registry-mirrors")):
        norm = _loose_url(url)
        if isinstance(norm, str):
            found.append({"url": norm, "insecure": mirror_host(norm) in insecure})
    return found


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------

class DockerDriver(Driver):
    """dockerd, through daemon.json (module.params["path"]) and the engine (made on first use)."""

    name = "docker"

    def __init__(self, module, lock):
        super(DockerDriver, self).__init__(module, lock)
        self._client = None

    def client(self):
        if self._client is None:
            self._client = make_client(self.params)
        return self._client

    def close(self):
        if self._client is not None:
            self._client.close()

    def detect(self):
        found = self.module.get_bin_path("dockerd")
        if found:
            return "dockerd at %s" % found
        # Not the directory: packages such as docker-registry make /etc/docker without any dockerd.
        if os.path.isfile(self.params["path"]):
            return "%s exists" % self.params["path"]
        if Dockerd(self.module.run_command, self.client()).answers(timeout=3):
            return "the engine answers at %s" % self.params["docker_host"]
        return None

    def looked_for(self):
        return "dockerd, %s and the engine at %s" % (self.params["path"], self.params["docker_host"])

    def unfit(self, registry):
        return check_docker_registry(registry)

    def unfit_mirrors(self, mirrors):
        return check_docker_mirrors(mirrors, self.params.get("server"))

    def plan(self, registry, mirrors, state):
        module = self.module
        # A file that cannot be changed is refused now, before any runtime is touched. The settings themselves
        # are computed by change_daemon_json from the file as it is under its lock (held from that read through
        # the apply), so that a change another run makes in the meantime is kept.
        try:
            load_current(self.params["path"], self.params["on_invalid"])
        except ChangeFailed as exc:
            raise Refused("docker: %s" % exc) from None
        if registry == DOCKER_HUB:
            table = self.read_table(refuse=False)[0]
            plan = {"settings": functools.partial(docker_change, mirrors=mirrors, state=state,
                                                  keep_hosts=insecure_hosts(table) if table else ())}
        else:
            plan = self.plan_table(registry, mirrors, state)
        if not module.get_bin_path("dockerd"):
            # Nothing to validate with (a remote engine, or only daemon.json here); and run_command would
            # fail the task on the missing executable.
            self.params["validate_with_dockerd"] = False
        for mirror in mirrors:
            if mirror["ca_file"] and state == "present":
                module.warn("docker: dockerd reads the CA of %s only from /etc/docker/certs.d/%s/ (a .crt file); "
                            "copy %s there, for example with ansible.builtin.copy"
                            % (mirror["url"], mirror_host(mirror["url"]), mirror["ca_file"]))
            if mirror["client_cert"] and state == "present":
                module.warn("docker: dockerd reads the client certificate of %s only from /etc/docker/certs.d/%s/ "
                            "(client.cert and client.key); copy %s there"
                            % (mirror["url"], mirror_host(mirror["url"]),
                               " and ".join(path for path in (mirror["client_cert"], mirror["client_key"]) if path)))
        return plan  # "settings": a function of daemon.json's current settings; "table": the table's change

    def read_table(self, refuse=True):
        """(table, text) of the rewrite table, read under its lock; a broken one is refused, or (refuse=False)
        gives None."""
        path = self.params["mirrors_table"]
        self.lock(path)
        text = read_text(path)
        try:
            return parse_table(text, path), text
        except TableError as exc:
            if refuse:
                raise Refused("docker: %s. It is this module's rewrite table: fix it, or delete it and run the task "
                              "again. Nothing was written." % exc) from None
            self.module.warn("docker: %s; the Docker Hub mirrors' insecure-registries entries are changed without "
                             "regard to it" % exc)
            return None, text

    def plan_table(self, registry, mirrors, state):
        """The rewrite table's change for a registry other than Docker Hub, and its insecure-registries."""
        problems = []
        for index, mirror in enumerate(mirrors):
            try:
                mirror_prefix(mirror["url"])
            except TableError as exc:
                problems.append("mirrors[%d]: %s" % (index, exc))
        if problems and state == "present":
            raise Refused("docker: registry %s: %s. Nothing was written." % (registry, "; ".join(problems)))
        path = self.params["mirrors_table"]
        table, before = self.read_table()
        after = table_after(table, registry, mirrors, state, self.params["verify_digest"])
        text = before if after == table else render_table(after)
        settings = functools.partial(table_insecure_change, before_hosts=insecure_hosts(table),
                                     after_hosts=insecure_hosts(after))
        return {"settings": settings, "table": file_change(path, before, text),
                "table_mirrors": [mirror["url"] for mirror in table_mirrors(after, registry)[0]]}

    def apply(self, plan):
        table = plan.get("table")
        wrote_table = False
        if table and table["changed"] and not self.module.check_mode:
            try:
                write_change(table)
            except FileError as exc:
                raise ChangeFailed("docker: %s. Nothing else was written." % exc, changed=False) from None
            wrote_table = True
        try:
            result = change_daemon_json(self.module, self.client(), settings=plan["settings"],
                                        on_invalid=self.params["on_invalid"])
        except ChangeFailed as exc:
            if wrote_table:
                try:
                    restore(table["path"], None if table["before"] is None else table["before"].encode("utf-8"))
                except FileError as undo:
                    raise ChangeFailed("%s; and %s could not be put back: %s" % (exc, table["path"], undo),
                                       **exc.result) from None
                raise ChangeFailed("%s; %s was put back as it was" % (exc, table["path"]), **exc.result) from None
            raise
        except Exception:  # noqa: BLE001 - an engine or unit error: the table goes back too, then the error goes on
            if wrote_table:
                with contextlib.suppress(FileError):
                    restore(table["path"], None if table["before"] is None else table["before"].encode("utf-8"))
            raise
        after = result.pop("settings", None) or {}
        diff = result.pop("diff", None)
        result["registry_mirrors"] = [mirror["url"] for mirror in mirrors_from_docker(after)]
        result["insecure_registries"] = list(after.get("insecure-registries") or [])
        result["files"] = [result["path"]] if result["changed"] else []
        diffs = [diff] if diff and result["changed"] else []
        if table:
            result["mirrors_table"] = table["path"]
            result["table_mirrors"] = plan["table_mirrors"]
            if table["changed"]:
                result["changed"] = True
                result["files"].insert(0, table["path"])
                diffs.insert(0, diff_of(table))
        return result, diffs
