# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Podman and CRI-O registry mirrors: a ``registries.conf.d`` drop-in with ``[[registry]]`` and ``[[registry.mirror]]``.

Podman reads the drop-in on each command; a running crio.service is reloaded
(CRI-O re-reads it on SIGHUP).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
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
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth import (
    AuthConfigError,
    encode_auth,
    read_config,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.auth_store import (
    masked,
    render_config,
    with_login,
    write_config,
)

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


def check_podman_mirrors(mirrors, server=None):
    """None when registries.conf and the auth file can carry these mirrors, else what Podman lacks."""
    if server:
        return ("server %s: registries.conf has no fallback server of its own (the location is the registry "
                "itself); server is for containerd's hosts.toml" % server)
    for index, mirror in enumerate(mirrors):
        if mirror.get("headers"):
            return ("mirrors[%d] (%s) sets headers, which registries.conf cannot carry; use it on containerd"
                    % (index, mirror["url"]))
        if (mirror.get("auth") or {}).get("token"):
            return ("mirrors[%d] (%s) sets a bearer token, which the containers auth file cannot carry (it holds "
                    "user names and passwords); use username and password, or containerd"
                    % (index, mirror["url"]))
    return None


def auth_file_after(config, mirrors, state):
    """The containers auth file's data once the mirrors' basic auth is in (or out, for state=absent); pure.

    Entries are keyed by the mirror's location (host[:port][/path]), which is
    where containers/image looks for a mirror's credentials. Other entries stay.
    """
    new = config
    for mirror in mirrors:
        auth = mirror.get("auth") or {}
        if not auth.get("username"):
            continue
        key = podman_mirror(mirror)["location"]
        if state == "present":
            current = ((new.get("auths") or {}).get(key) or {}).get("auth")
            if current != encode_auth(auth["username"], auth["password"]):
                new = with_login(new, key, auth["username"], auth["password"])
        elif key in (new.get("auths") or {}):
            new = copy.deepcopy(new)
            del new["auths"][key]
    return new


def default_auth_file():
    """The containers auth file that Podman run by this user reads and that outlives a reboot."""
    return os.path.join(os.path.expanduser("~"), ".config", "containers", "auth.json")


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

    def unfit_mirrors(self, mirrors):
        return check_podman_mirrors(mirrors, self.params.get("server"))

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
                if mirror["client_cert"]:
                    module.warn("podman: containers/image reads the client certificate of %s only from "
                                "/etc/containers/certs.d/%s/ (a .cert and a .key file); copy %s there"
                                % (mirror["url"], mirror_host(mirror["url"]),
                                   " and ".join(p for p in (mirror["client_cert"], mirror["client_key"]) if p)))
        plan = {"dropin": file_change(path, before, dropin_after(registry, mirrors, state, path, before)),
                "auth": None}
        if any((mirror.get("auth") or {}).get("username") for mirror in mirrors):
            auth_path = self.params.get("podman_auth_file") or default_auth_file()
            self.lock(auth_path)
            try:
                raw, config = read_config(auth_path)
            except AuthConfigError as exc:
                raise Refused("podman: %s. Nothing was written." % exc) from None
            after = auth_file_after(config, mirrors, state)
            plan["auth"] = {"path": auth_path, "before": config, "after": after, "changed": after != config,
                            "existed": raw is not None}
        return plan

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
        change, auth = plan["dropin"], plan["auth"]
        auth_changed = bool(auth and auth["changed"])
        result = {"changed": change["changed"] or auth_changed,
                  "files": [c["path"] for c in (auth, change) if c and c["changed"]],
                  "applied": "none", "drop_in": change["path"], "auth_file": auth["path"] if auth else None}
        diffs = []
        if auth_changed:
            diffs.append({"before_header": auth["path"], "after_header": auth["path"],
                          "before": render_config(masked(auth["before"])).decode("utf-8") if auth["existed"] else "",
                          "after": render_config(masked(auth["after"])).decode("utf-8")})
        if change["changed"]:
            diffs.append(diff_of(change))
        crio = Unit(module.run_command, CRIO_UNIT)
        reload = bool(change["changed"] and self.params["apply"] != "none" and runs_systemd() and crio.is_active())
        if reload:
            result["applied"] = "reload"
        if module.check_mode or not result["changed"]:
            return result, diffs
        try:
            if auth_changed:  # the credentials first: the mirror is never tried without them
                write_config(auth["path"], auth["after"])
            if change["changed"]:
                write_change(change)
        except (FileError, AuthConfigError) as exc:
            raise ChangeFailed("podman: %s" % exc, **result) from None
        if not change["changed"]:
            return result, diffs
        if reload:
            try:
                crio.reload()
            except UnitError as exc:
                module.warn("podman: the drop-in is written, but reloading %s failed (%s); restart CRI-O for it to "
                            "take effect" % (CRIO_UNIT, exc.output))
                result["applied"] = "none"
        return result, diffs
