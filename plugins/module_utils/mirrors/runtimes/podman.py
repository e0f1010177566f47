# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Podman and CRI-O registry mirrors: a ``registries.conf.d`` drop-in with ``[[registry]]`` and ``[[registry.mirror]]``.

Podman reads the drop-in on each command; a running crio.service is reloaded
(CRI-O re-reads it on SIGHUP).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from urllib.parse import urlsplit

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import ChangeFailed
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import FileError
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import Unit, UnitError, runs_systemd
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    DEFAULT_REGISTRY_DIR,
    WRITTEN_BY,
    is_insecure,
    mirror_host,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import (
    Driver,
    Refused,
    diff_of,
    file_change,
    owned_file_after,
    parse_own_file,
    read_text,
    write_change,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import TomlError, loads, toml_string

REGISTRIES_CONF_D = "/etc/containers/registries.conf.d"
DROP_IN_PREFIX = "50-dockhand-"
CRIO_UNIT = "crio.service"


# --------------------------------------------------------------------------
# Pure: the drop-in
# --------------------------------------------------------------------------

def dropin_name(registry):
    """The drop-in's file name, such as 50-dockhand-docker.io.conf."""
    return "%s%s.conf" % (DROP_IN_PREFIX, re.sub(r"[^A-Za-z0-9._-]", "_", registry))


def check_podman_registry(registry):
    if registry == DEFAULT_REGISTRY_DIR:
        return ("registry _default: registries.conf has no entry for every registry; name the registry (such as "
                "docker.io) for runtime podman. _default is for containerd only")
    return None


def podman_mirror(mirror):
    """A mirror as a [[registry.mirror]] entry: location without scheme; insecure for http or insecure ones."""
    parts = urlsplit(mirror["url"])
    return {"location": parts.netloc + parts.path, "insecure": parts.scheme == "http" or is_insecure(mirror)}


def render_registries_dropin(registry, entries):
    """The drop-in text: one [[registry]] for ``registry`` with ``entries`` (podman_mirror() dicts) in order."""
    lines = [WRITTEN_BY % registry,
             "# Mirrors are tried in order, then %s itself." % registry,
             "[[registry]]",
             "prefix = %s" % toml_string(registry),
             "location = %s" % toml_string(registry)]
    for entry in entries:
        lines += ["", "[[registry.mirror]]", "location = %s" % toml_string(entry["location"])]
        if entry["insecure"]:
            lines.append("insecure = true")
    return "\n".join(lines) + "\n"


def parse_registries_dropin(text, source="registries.conf"):
    """[{prefix, location, mirrors: [{location, insecure}]}] from a registries.conf (v2) file."""
    found = []
    for registry in loads(text, source).get("registry") or []:
        if not isinstance(registry, dict):
            continue
        mirrors = [{"location": mirror.get("location"), "insecure": bool(mirror.get("insecure", False))}
                   for mirror in registry.get("mirror") or [] if isinstance(mirror, dict)]
        found.append({"prefix": registry.get("prefix", registry.get("location")),
                      "location": registry.get("location"), "mirrors": mirrors})
    return found


def registries_conf_v1_tables(text, source="registries.conf"):
    """A message when ``text`` uses the v1 format ([registries.search] ...), which cannot mix with v2 drop-ins."""
    try:
        document = loads(text, source)
    except TomlError:
        return None
    registries = document.get("registries")
    if isinstance(registries, dict) and registries:
        return ("%s uses the old v1 format ([registries.%s]); containers/image refuses to mix it with the v2 "
                "[[registry]] drop-ins in registries.conf.d. Convert it to v2 (unqualified-search-registries and "
                "[[registry]] tables) first" % (source, sorted(registries)[0]))
    return None


def dropin_after(registry, mirrors, state, path, before):
    """The drop-in text that makes the mirrors of ``registry`` as ``state`` asks (None: no file); raises Refused."""
    def parse(text):
        parsed = parse_own_file("podman", path, text, parse_registries_dropin, "drop-in")
        return (parsed[0]["mirrors"] if parsed else []), None

    return owned_file_after(state, [podman_mirror(mirror) for mirror in mirrors], before, parse,
                            lambda entries, _context: render_registries_dropin(registry, entries),
                            lambda entry, wanted: entry["location"] == wanted["location"])


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------

class PodmanDriver(Driver):
    """Podman and CRI-O: one drop-in per registry in registries.conf.d; a reload of a running CRI-O."""

    name = "podman"

    def detect(self):
        for binary in ("podman", "crio"):
            found = self.module.get_bin_path(binary)
            if found:
                return "%s at %s" % (binary, found)
        return None

    def looked_for(self):
        return "podman and crio"

    def unfit(self, registry):
        return check_podman_registry(registry)

    def plan(self, registry, mirrors, state):
        module = self.module
        directory = self.params["registries_conf_d"].rstrip("/")
        path = os.path.join(directory, dropin_name(registry))
        self.lock(path)
        before = read_text(path)
        if state == "present":
            if directory.endswith(".d"):
                main = directory[:-2]
                main_text = read_text(main) if os.path.isfile(main) else None
                problem = registries_conf_v1_tables(main_text, main) if main_text else None
                if problem:
                    raise Refused("podman: %s. Nothing was written." % problem)
            self.warn_about_later_dropins(directory, path, registry)
            for mirror in mirrors:
                if mirror["ca_file"]:
                    module.warn("podman: containers/image reads the CA of %s only from /etc/containers/certs.d/%s/ "
                                "(a .crt file); copy %s there" % (mirror["url"], mirror_host(mirror["url"]),
                                                                  mirror["ca_file"]))
        return {"dropin": file_change(path, before, dropin_after(registry, mirrors, state, path, before))}

    def warn_about_later_dropins(self, directory, path, registry):
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
                self.module.warn("podman: %s is read after %s and has its own [[registry]] for %s, which replaces "
                                 "these mirrors; remove it or rename the files" % (other, path, registry))

    def apply(self, plan):
        module = self.module
        change = plan["dropin"]
        result = {"changed": change["changed"], "files": [change["path"]] if change["changed"] else [],
                  "applied": "none", "drop_in": change["path"]}
        diffs = [diff_of(change)] if change["changed"] else []
        crio = Unit(module.run_command, CRIO_UNIT)
        reload = bool(change["changed"] and self.params["apply"] != "none" and runs_systemd() and crio.is_active())
        if reload:
            result["applied"] = "reload"
        if module.check_mode or not change["changed"]:
            return result, diffs
        try:
            write_change(change)
        except FileError as exc:
            raise ChangeFailed("podman: %s" % exc, **result) from None
        if reload:
            try:
                crio.reload()
            except UnitError as exc:
                module.warn("podman: the drop-in is written, but reloading %s failed (%s); restart CRI-O for it to "
                            "take effect" % (CRIO_UNIT, exc.output))
                result["applied"] = "none"
        return result, diffs
