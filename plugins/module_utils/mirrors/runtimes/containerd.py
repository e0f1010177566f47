# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd's registry mirrors: ``certs.d/<registry>/hosts.toml``, and ``config_path`` in config.toml.

containerd reads hosts.toml on each pull, so a change needs no restart.
``config_path`` is set once under the CRI registry table of config.toml for
the file's layout, editing nothing else in it (:func:`plan_config_path`);
that needs a containerd restart, rolled back when containerd does not come
back with it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import re
import tempfile

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import ChangeFailed
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import FileError, backup, restore
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import CHANGED_MASK, MASK, is_secret_header
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import Unit, UnitError
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    CAPABILITIES,
    DEFAULT_REGISTRY_DIR,
    DOCKER_HUB_SERVER,
    WRITTEN_BY,
    auth_header,
    normalise_url,
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
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import (
    TomlError,
    dotted_key,
    loads,
    parse_toml,
    toml_string,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import DOCKER_HUB

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d"


# --------------------------------------------------------------------------
# containerd: certs.d/<registry>/hosts.toml
# --------------------------------------------------------------------------

def containerd_server(registry):
    """The upstream a hosts.toml falls back to; None for _default (each registry's own host)."""
    if registry == DEFAULT_REGISTRY_DIR:
        return None
    if registry == DOCKER_HUB:
        return DOCKER_HUB_SERVER
    return "https://" + registry


def containerd_host(mirror):
    """A mirror as containerd's [host."<url>"] sees it."""
    header = {}
    if mirror.get("auth"):
        header["Authorization"] = [auth_header(mirror["auth"])]
    for name, values in (mirror.get("headers") or {}).items():
        header[name] = list(values)
    client = None
    if mirror.get("client_cert"):
        client = [mirror["client_cert"], mirror.get("client_key")]
    return {
        "url": mirror["url"],
        "capabilities": list(mirror["capabilities"]),
        "skip_verify": bool(mirror["skip_verify"] or (mirror["insecure"] and mirror["url"].startswith("https://"))),
        "ca": mirror["ca_file"],
        "client": client,
        "override_path": bool(mirror["override_path"]),
        "header": header,
    }


def _toml_value(values):
    """One string, or an array of them."""
    if len(values) == 1:
        return toml_string(values[0])
    return "[%s]" % ", ".join(toml_string(value) for value in values)


def render_hosts_toml(registry, hosts, server=None):
    """The hosts.toml text for ``registry``: ``hosts`` (containerd_host() dicts) in order, then ``server``."""
    if server is None:
        server = containerd_server(registry)
    lines = [WRITTEN_BY % registry,
             "# Mirrors are tried in order%s." % (", then the server" if server else ", then the registry itself")]
    if server:
        lines.append("server = %s" % toml_string(server))
    for host in hosts:
        table = "host.%s" % toml_string(host["url"])
        lines.append("")
        lines.append("[%s]" % table)
        lines.append("  capabilities = [%s]" % ", ".join(toml_string(name) for name in host["capabilities"]))
        if host.get("skip_verify"):
            lines.append("  skip_verify = true")
        if host.get("ca"):
            lines.append("  ca = %s" % toml_string(host["ca"]))
        client = host.get("client")
        if client and client[1]:
            lines.append("  client = [[%s, %s]]" % (toml_string(client[0]), toml_string(client[1])))
        elif client:
            lines.append("  client = %s" % toml_string(client[0]))
        if host.get("override_path"):
            lines.append("  override_path = true")
        if host.get("header"):
            lines.append("  [%s.header]" % table)
            for name, values in host["header"].items():
                lines.append("    %s = %s" % (dotted_key([name]), _toml_value(values)))
    return "\n".join(lines) + "\n"


def _first_client(value):
    """[cert, key or None] from containerd's client = "c" | ["c", ...] | [["c", "k"], ...]; None when unset."""
    if isinstance(value, str):
        return [value, None] if value else None
    if isinstance(value, list) and value:
        first = value[0]
        if isinstance(first, str):
            return [first, None]
        if isinstance(first, list) and first and all(isinstance(item, str) for item in first):
            return [first[0], first[1] if len(first) > 1 and first[1] else None]
    return None


def parse_hosts_toml(text, source="hosts.toml"):
    """{server, hosts: [containerd_host() dicts in file order]} from a hosts.toml."""
    document = loads(text, source)
    hosts = []
    for url, table in (document.get("host") or {}).items():
        if not isinstance(table, dict):
            continue
        ca = table.get("ca")
        header = {}
        for name, given in (table.get("header") or {}).items():
            values = given if isinstance(given, list) else [given]
            header[name] = [value for value in values if isinstance(value, str)]
        hosts.append({
            "url": url,
            "capabilities": [name for name in CAPABILITIES
                             if name in (table.get("capabilities") or list(CAPABILITIES))],
            "skip_verify": bool(table.get("skip_verify", False)),
            "ca": (ca[0] if ca else None) if isinstance(ca, list) else ca,
            "client": _first_client(table.get("client")),
            "override_path": bool(table.get("override_path", False)),
            "header": header,
        })
    return {"server": document.get("server"), "hosts": hosts}


def holds_secret(hosts):
    """Whether hosts.toml entries carry a secret (an Authorization header or another secret-named one)."""
    return any(is_secret_header(name) for host in hosts for name in host.get("header") or {})


def shown_hosts_toml(text, other=None):
    """A hosts.toml text fit to show: the value of every secret-named header masked.

    ``other`` is the other side of a diff: a masked value that differs from the
    value at the same key there reads ``******** (changed)``. A text that is not
    TOML has every line that names a secret masked after its '='.
    """
    if not text:
        return text
    try:
        _document, entries = parse_toml(text)
    except TomlError:
        return "\n".join(_mask_line(line) for line in text.split("\n"))
    previous = {}
    if other:
        try:
            previous = {tuple(e["path"]): e["value"] for e in parse_toml(other)[1] if e["kind"] == "key"}
        except TomlError:
            previous = {}
    shown, at = [], 0
    for entry in entries:
        path = tuple(entry["path"])
        if entry["kind"] != "key" or len(path) < 2 or path[-2] != "header" or not is_secret_header(path[-1]):
            continue
        mask = CHANGED_MASK if other is not None and previous.get(path) != entry["value"] else MASK
        shown.append(text[at:entry["value_start"]])
        shown.append(toml_string(mask))
        at = entry["value_end"]
    shown.append(text[at:])
    return "".join(shown)


def _mask_line(line):
    name, sep, _value = line.partition("=")
    return "%s= %s" % (name, toml_string(MASK)) if sep and is_secret_header(name) else line


def hosts_toml_path(certs_dir, registry):
    return os.path.join(certs_dir, registry, "hosts.toml")


def hosts_toml_after(registry, mirrors, state, path, before, server=None):
    """The hosts.toml text that makes the mirrors of ``registry`` as ``state`` asks (None: no file); raises Refused.

    ``server`` overrides the upstream of a file written for state=present. A
    file whose mirrors are taken out keeps its own ``server``.
    """
    def parse(text):
        parsed = parse_own_file("containerd", path, text, parse_hosts_toml, "hosts.toml")
        return parsed["hosts"], ("file", parsed["server"])

    def render(hosts, context):
        upstream = context[1] if context else server
        return render_hosts_toml(registry, hosts, server=upstream)

    return owned_file_after(state, [containerd_host(mirror) for mirror in mirrors], before, parse, render,
                            lambda host, wanted: normalise_url(host["url"]) == wanted["url"])


# --------------------------------------------------------------------------
# containerd: config_path in config.toml
# --------------------------------------------------------------------------

# The CRI registry table per config version: version 1 (no version line,
# containerd 1.x) names plugins by their short id; version 2 by URI; version
# 3 (containerd 2.x) moved the registry to the images plugin.
CRI_REGISTRY_TABLES = {
    1: ("plugins", "cri", "registry"),
    2: ("plugins", "io.containerd.grpc.v1.cri", "registry"),
    3: ("plugins", "io.containerd.cri.v1.images", "registry"),
}


def _get(document, path):
    node = document
    for part in path:
        if isinstance(node, list) and node:
            node = node[-1]
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def containerd_major(version_output):
    """The major version from ``containerd --version`` output, or None."""
    match = re.search(r"\sv?(\d+)\.(\d+)\.\d+", " " + (version_output or ""))
    return int(match.group(1)) if match else None


def config_path_dirs(value):
    """The directories of a config_path value (containerd accepts several, separated by ':')."""
    return [part.rstrip("/") or "/" for part in (value or "").split(":") if part]


def plan_config_path(text, config_path=CONTAINERD_CERTS_DIR, major=None,
                     source=CONTAINERD_CONFIG):
    """Set ``config_path`` under the CRI registry table of a containerd config.toml.

    ``text`` is the file's text ('' or None when it is missing); ``major`` is
    containerd's major version, used only to pick the layout of a new file.
    Returns {text, changed, current, version, table, conflicts}: ``current``
    is the config_path the file already sets (then nothing is edited);
    ``conflicts`` lists what containerd would refuse together with
    config_path (the old registry.mirrors and registry.configs.*.tls tables).
    Only the config_path line is added or edited; every other byte is kept.
    Raises TomlError when the text is not TOML.
    """
    text = text or ""
    document, entries = parse_toml(text, source)
    version = document.get("version")
    result = {"text": text, "changed": False, "current": None, "version": version, "table": None, "conflicts": []}
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        result["conflicts"].append("%s: version = %r is not a containerd config version (1, 2 or 3)"
                                   % (source, version))
        return result
    fresh = not entries
    if fresh:
        version = 3 if (major or 0) >= 2 else 2
    path = CRI_REGISTRY_TABLES[min(version or 1, 3)]
    result.update(version=version or 1, table="[%s]" % dotted_key(path))

    registry = _get(document, path)
    if registry is not None and not isinstance(registry, dict):
        result["conflicts"].append("%s: %s is not a table" % (source, dotted_key(path)))
        return result
    registry = registry or {}
    if registry.get("mirrors"):
        result["conflicts"].append(
            "%s sets [%s.mirrors], the old way to configure mirrors; containerd refuses it together with "
            "config_path. Move those mirrors to hosts.toml files (this module writes them) and delete the "
            "mirrors tables" % (source, dotted_key(path)))
    tls = sorted(name for name, config in (registry.get("configs") or {}).items()
                 if isinstance(config, dict) and config.get("tls"))
    if tls:
        result["conflicts"].append(
            "%s sets [%s.configs.<registry>.tls] for %s; containerd refuses it together with config_path. Move "
            "the TLS settings (ca_file, skip_verify) to the mirrors of this module and delete those tables"
            % (source, dotted_key(path), ", ".join(tls)))
    current = registry.get("config_path")
    if current is not None and not isinstance(current, str):
        result["conflicts"].append("%s: %s.config_path must be a string" % (source, dotted_key(path)))
        return result
    if current:
        result["current"] = current
        return result
    if result["conflicts"]:
        return result

    line = "config_path = %s" % toml_string(config_path)
    key_path = path + ("config_path",)
    for entry in entries:
        if entry["kind"] == "key" and entry["path"] == key_path:  # config_path = "" : fill it in
            new = text[:entry["value_start"]] + toml_string(config_path) + text[entry["value_end"]:]
            result.update(text=new, changed=True)
            return result
    for entry in entries:
        if entry["kind"] == "key" and path[:len(entry["path"])] == entry["path"]:
            lineno = text.count("\n", 0, entry["start"]) + 1
            result["conflicts"].append(
                "%s: %s is written as an inline table or value (line %d), which cannot take more keys; write it "
                "as a [%s] table with %s" % (source, dotted_key(entry["path"]), lineno, dotted_key(path), line))
            return result

    header = [e for e in entries if e["kind"] == "table" and e["path"] == path]
    if header:  # the table exists: add the line right under its header
        entry = header[0]
        insert_at = entry["end"]
        newline = "\r\n" if text[:insert_at].endswith("\r\n") else "\n"
        prefix = "" if text[:insert_at].endswith("\n") else newline
        new = text[:insert_at] + prefix + entry["indent"] + "  " + line + newline + text[insert_at:]
        result.update(text=new, changed=True)
        return result

    dotted = [e for e in entries
              if e["kind"] == "key" and e["path"][:len(path)] == path and len(e["table"]) < len(path)]
    if dotted:  # the table was made by dotted keys (registry.x = ...): add one more dotted key next to them
        entry = dotted[-1]
        relative = key_path[len(entry["table"]):]
        insert_at = entry["end"]
        newline = "\r\n" if "\r\n" in text else "\n"
        prefix = "" if text[:insert_at].endswith("\n") else newline
        new = (text[:insert_at] + prefix + entry["indent"] + "%s = %s" % (dotted_key(relative),
                                                                          toml_string(config_path))
               + newline + text[insert_at:])
        result.update(text=new, changed=True)
        return result

    # A new table: after the last line of its parent's subtree, indented like its siblings.
    newline = "\r\n" if "\r\n" in text else "\n"
    parent = path[:-1]
    parent_headers = [e for e in entries if e["kind"] in ("table", "array") and e["path"] == parent]
    indent = parent_headers[0]["indent"] + "  " if parent_headers else ""
    subtree = [e for e in entries if e["path"][:len(parent)] == parent]
    block = "%s[%s]%s%s  %s%s" % (indent, dotted_key(path), newline, indent, line, newline)
    if fresh:
        head = text + ("" if not text or text.endswith("\n") else newline) + (newline if text.strip() else "")
        new = head + "version = %d%s%s%s" % (version, newline, newline, block)
    elif subtree and parent_headers:
        insert_at = subtree[-1]["end"]
        prefix = "" if text[:insert_at].endswith("\n") else newline
        new = text[:insert_at] + prefix + block + text[insert_at:]
    else:
        head = text + ("" if text.endswith("\n") else newline)
        new = head + newline + block
    result.update(text=new, changed=True)
    return result


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------

class ContainerdDriver(Driver):
    """containerd: hosts.toml files under the certs directory, config_path in config.toml, its systemd unit."""

    name = "containerd"

    def detect(self):
        found = self.module.get_bin_path("containerd")
        return "containerd at %s" % found if found else None

    def looked_for(self):
        return "containerd"

    def installed_major(self):
        binary = self.module.get_bin_path("containerd")
        if not binary:
            return None
        rc, out, _err = self.module.run_command([binary, "--version"])
        return containerd_major(out) if rc == 0 else None

    def check_config(self, config_file, text):
        """Refused when ``containerd config dump`` rejects ``text`` (where containerd is installed)."""
        binary = self.module.get_bin_path("containerd")
        directory = os.path.dirname(config_file) or "."
        if not binary or not os.path.isdir(directory):
            return
        handle, candidate = tempfile.mkstemp(prefix=".config.toml.validate.", dir=directory)
        try:
            with os.fdopen(handle, "w") as stream:
                stream.write(text)
            rc, out, err = self.module.run_command([binary, "--config", candidate, "config", "dump"])
        finally:
            with contextlib.suppress(OSError):
                os.unlink(candidate)
        if rc != 0:
            raise Refused("containerd refused the new %s: %s. Nothing was written."
                          % (config_file, (err or out).strip().replace(candidate, config_file)))

    def plan(self, registry, mirrors, state):
        config_file = self.params["containerd_config"]
        self.lock(config_file)
        text = read_text(config_file)
        wanted_dir = self.params["containerd_certs_dir"]
        try:
            probe = plan_config_path(text, wanted_dir or CONTAINERD_CERTS_DIR, source=config_file)
        except TomlError as exc:
            if state == "absent":
                probe = {"current": None, "conflicts": []}
            else:
                raise Refused("containerd: %s. Fix the file; nothing was written." % exc) from None
        current_dirs = config_path_dirs(probe["current"])
        if current_dirs and wanted_dir and wanted_dir.rstrip("/") not in current_dirs:
            raise Refused("containerd: %s already sets config_path = %r, so containerd does not read hosts.toml "
                          "files under %s. Set containerd_certs_dir: %s (or change config_path yourself); nothing "
                          "was written." % (config_file, probe["current"], wanted_dir, current_dirs[0]))
        certs_dir = wanted_dir or (current_dirs[0] if current_dirs else CONTAINERD_CERTS_DIR)

        hosts_path = hosts_toml_path(certs_dir, registry)
        self.lock(hosts_path)
        before = read_text(hosts_path)
        after = hosts_toml_after(registry, mirrors, state, hosts_path, before, server=self.params.get("server"))
        hosts_change = file_change(hosts_path, before, after)
        hosts_change["secret"] = bool(after) and holds_secret(parse_hosts_toml(after, hosts_path)["hosts"])
        plan = {"hosts": hosts_change, "config": file_change(config_file, text, text),
                "certs_dir": certs_dir, "config_path_set": False, "table": None, "raw": text}

        if state == "present" and not current_dirs:
            if probe["conflicts"]:
                raise Refused("containerd: %s. Nothing was written." % "; ".join(probe["conflicts"]))
            major = self.installed_major() if not (text or "").strip() else None
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
                self.check_config(config_file, edit["text"])
        elif state == "present" and probe["conflicts"]:
            raise Refused("containerd: %s. Nothing was written." % "; ".join(probe["conflicts"]))
        return plan

    @staticmethod
    def restart(unit):
        """None when containerd restarted and is active, else the reason with its journal."""
        try:
            unit.restart()
        except UnitError as exc:
            return "%s%s" % (exc, unit.journal_tail())
        state = unit.active_state()
        if state != "active":
            return "%s is %s after the restart%s" % (unit.name, state, unit.journal_tail())
        return None

    def apply(self, plan):
        module, params = self.module, self.params
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
        diffs = [diff_of(change) for change in (config,) if change["changed"]]
        if hosts["changed"]:
            diffs.insert(0, diff_of(dict(hosts, before=shown_hosts_toml(hosts["before"]),
                                         after=shown_hosts_toml(hosts["after"], hosts["before"]))))
        unit = Unit(module.run_command, params["containerd_unit"])
        running, systemd = unit.running("containerd") if config["changed"] else (False, False)
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
            reason = self.restart(unit)
            if reason:
                restore(config["path"], plan["raw"].encode("utf-8") if plan["raw"] is not None else None)
                again = self.restart(unit)
                result.update(rolled_back=True, applied="none")
                raise ChangeFailed("containerd did not come back after config_path was set in %s: %s. The previous "
                                   "file was restored%s." % (config["path"], reason,
                                                             "" if again is None else " but containerd did not "
                                                             "start with it either: %s" % again), **result)
        elif result["restart_needed"]:
            module.warn("containerd: config_path was added to %s; restart containerd for it to take effect (hosts.toml "
                        "files are read on each pull, so later changes need no restart)" % config["path"])
        return result, diffs
