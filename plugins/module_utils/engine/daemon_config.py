# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change daemon.json safely: plan the merge, check it, write it atomically, apply it, roll it back.

Shared by the daemon_config and registry_mirrors modules (and so by the
engine, cgroups and mirrors roles): every change to dockerd's configuration
goes through :func:`change_daemon_json`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import ipaddress
import os
import re
import tempfile
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError, object_path
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_journal import (
    clear_pending,
    decode,
    digest,
    encode,
    pending_path,
    read_pending,
    remove_leftovers,
    write_pending,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import (
    DEFAULT_DAEMON_JSON,
    DaemonJsonError,
    argv_without,
    changed_keys,
    deep_merge,
    flag_conflicts,
    needs_restart,
    neutralize_removed,
    parse_daemon_json,
    remove_paths,
    render,
    render_keeping,
    validate,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.dockerd import (
    DEFAULT_PIDFILE,
    Dockerd,
    ServiceError,
    cause_line,
    without_noise,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    DEFAULT_KEEP_BACKUPS,
    DEFAULT_LOCK_TIMEOUT,
    FileError,
    atomic_write,
    backup,
    locked,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import (
    diff_pair,
    redact,
    secret_values,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import exact_exec_start, journal_section

APPLY_MODES = ("auto", "reload", "restart", "none")
DROP_IN_DIR = "/etc/systemd/system"
DROP_IN_NAME = "10-dockhand-flags.conf"

# Options of the modules that change daemon.json, in argument_spec form.
DAEMON_CHANGE_OPTIONS = {
    "path": {"type": "path", "default": DEFAULT_DAEMON_JSON},
    "backup": {"type": "bool", "default": False},
    "apply": {"type": "str", "default": "auto", "choices": list(APPLY_MODES)},
    "restart_timeout": {"type": "int", "default": 60},
    "validate_with_dockerd": {"type": "bool", "default": True},
    "fix_unit_conflicts": {"type": "bool", "default": False},
    "unit": {"type": "str", "default": "docker.service"},
}

# More options of daemon_config; change_daemon_json takes their defaults for a module without them.
DAEMON_CONFIG_OPTIONS = {
    "lock_timeout": {"type": "int", "default": DEFAULT_LOCK_TIMEOUT},
    "backup_keep": {"type": "int", "default": DEFAULT_KEEP_BACKUPS},
    "allow_plain_tcp_hosts": {"type": "bool", "default": False},
    "restart_stopped_containers": {"type": "list", "elements": "str", "default": []},
}


def option(module, name):
    """The value of one of DAEMON_CONFIG_OPTIONS, or its default where the module does not take it."""
    value = module.params.get(name)
    return DAEMON_CONFIG_OPTIONS[name]["default"] if value is None else value


class ChangeFailed(Exception):
    """The change was refused or undone; ``result`` says what happened, the message what to do."""

    def __init__(self, message, **result):
        super(ChangeFailed, self).__init__(message)
        self.result = result


# --------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------

_PATH_RE = re.compile(r"/[^\x00-\x1f\x7f]*")
_UNIT_RE = re.compile(r"[A-Za-z0-9:_.@-]+\.service")
# One word of the ExecStart= a drop-in writes: printable ASCII without white space, quotes, a backslash
# or ';' (systemd's command separator), so that systemd reads back exactly the word that was written.
_EXEC_WORD_RE = re.compile(r"[\x21\x23-\x26\x28-\x3a\x3c-\x5b\x5d-\x7e]+")


def clause(error):
    """An error's text to go before a full stop of our own."""
    return str(error).rstrip(". \n")


def input_problems(path, unit, lock_timeout, backup_keep):
    """What is wrong with the options that name files and the unit (each an error text)."""
    problems = []
    if not isinstance(path, str) or not _PATH_RE.fullmatch(path):
        problems.append("path %r must be an absolute path without control characters" % (path,))
    if not isinstance(unit, str) or not _UNIT_RE.fullmatch(unit):
        problems.append("unit %r must be a systemd service name such as docker.service (letters, digits and "
                        ":_.@- before .service)" % (unit,))
    if lock_timeout < 0:
        problems.append("lock_timeout must be 0 or more seconds, not %d" % lock_timeout)
    if backup_keep < 0:
        problems.append("backup_keep must be 0 (keep every backup) or more, not %d" % backup_keep)
    return problems


def plan_change(before, settings=None, remove=None, list_merge="replace"):
    """(after, changed_keys): ``settings`` merged into ``before``, then ``remove`` taken out."""
    after = deep_merge(before, settings or {}, list_merge)
    after, _removed = remove_paths(after, remove or [])
    after = neutralize_removed(before, after)
    return after, changed_keys(before, after)


def choose_apply(apply, changed, engine_running):
    """How to make dockerd take the change: 'reload', 'restart' or 'none'."""
    if not changed or apply == "none" or not engine_running:
        return "none"
    if apply in ("reload", "restart"):
        return apply
    return "restart" if needs_restart(changed) else "reload"


def _strip_slash(values):
    return [str(value).rstrip("/") for value in values or []]


def unapplied_after_reload(after, changed, info):
    """The changed keys whose effect /info does not show yet (after a SIGHUP)."""
    registry = info.get("RegistryConfig") or {}
    observed = {
        "registry-mirrors": lambda: (_strip_slash(registry.get("Mirrors")) ==
                                     _strip_slash(after.get("registry-mirrors"))),
        "insecure-registries": lambda: all(
            name in (registry.get("InsecureRegistryCIDRs") or []) or
            (registry.get("IndexConfigs") or {}).get(name, {}).get("Secure") is False
            for name in after.get("insecure-registries") or []),
        "debug": lambda: bool(info.get("Debug")) == bool(after.get("debug", False)),
        "live-restore": lambda: bool(info.get("LiveRestoreEnabled")) == bool(after.get("live-restore", False)),
        "labels": lambda: all(label in (info.get("Labels") or []) for label in after.get("labels") or []),
    }
    return sorted(key for key in changed if key in observed and not observed[key]())


def secret_keys(settings, prefix=""):
    """Dotted names of the keys that hold secrets in ``settings`` (redact's rule; a path to a key file is none)."""
    found = set()
    for key, value in settings.items():
        name = prefix + str(key)
        if isinstance(value, dict):
            found |= secret_keys(value, name + ".")
        elif any(not secret.startswith("/") for secret in secret_values({key: value})):
            found.add(name)
    return found


def file_mode(path):
    """The permission bits of ``path``, or 0 when it cannot be read."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0


def exec_start_problem(argv, unit):
    """Why ``argv`` (the unit's dockerd command line) cannot go into a drop-in as it is, or None."""
    if not argv or not argv[0].startswith("/"):
        return "the ExecStart of %s does not start with an absolute path, so no drop-in is written" % unit
    bad = [arg for arg in argv if not _EXEC_WORD_RE.fullmatch(arg)]
    if bad:
        return ("the ExecStart of %s holds %s, which a drop-in cannot carry unchanged (white space, quotes, a "
                "backslash, ';' or a control character); remove the conflicting flags from the unit yourself, or "
                "the keys from the task" % (unit, ", ".join(repr(arg) for arg in bad)))
    return None


def drop_in_text(argv, conflicts):
    """A systemd drop-in that runs dockerd without the flags that conflict with daemon.json.

    Every word has passed :func:`exec_start_problem`; '%' is doubled, since
    systemd reads it as a specifier (``systemctl show`` prints it resolved).
    """
    keys = ", ".join(sorted({c["key"] for c in conflicts}))
    command = " ".join(arg.replace("%", "%%") for arg in argv_without(argv, conflicts))
    return ("# Written by dockhand.runtime: these keys are set in daemon.json, and dockerd refuses\n"
            "# to start when a flag sets them too: %s\n"
            "[Service]\nExecStart=\nExecStart=%s\n" % (keys, command))


TCP_SECURITY_KEYS = frozenset(("hosts", "tls", "tlsverify"))


def _is_loopback(host):
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name may resolve to any address; an empty host listens on all of them


def plain_tcp_hosts(settings):
    """The ``hosts`` addresses where dockerd would serve its API over TCP to the network without tlsverify."""
    if settings.get("tlsverify") is True:
        return []
    found = []
    for address in settings.get("hosts") or []:
        if not isinstance(address, str) or not address.startswith("tcp://"):
            continue
        authority = address[len("tcp://"):].split("/", 1)[0]
        if authority.startswith("["):
            host = authority[1:authority.find("]")]
        else:
            host = authority.rpartition(":")[0] if ":" in authority else authority
        if not _is_loopback(host):
            found.append(address)
    return found


def describe_plain_tcp(addresses):
    if not addresses:
        return []
    return ["hosts: %s would let anyone who reaches %s run containers as root on this host, since dockerd "
            "checks no client certificate there. Set tlsverify: true with tlscacert, tlscert and tlskey, listen on "
            "127.0.0.1 or a unix socket, or set allow_plain_tcp_hosts: true if the network is trusted"
            % (", ".join(addresses), "it" if len(addresses) == 1 else "them")]


def stopped_since(before, now):
    """[(id, name)] of the containers in ``before`` that are not in ``now`` (both [(id, name)])."""
    running = {container_id for container_id, _name in now}
    return [(container_id, name) for container_id, name in before if container_id not in running]


def chosen_to_start(stopped, wanted):
    """The stopped containers that ``wanted`` (names or IDs, or '*' for all) asks to start again."""
    if "*" in wanted:
        return list(stopped)
    return [(container_id, name) for container_id, name in stopped
            if name in wanted or any(len(item) >= 12 and container_id.startswith(item) for item in wanted)]


def describe_stopped(stopped, started):
    parts = []
    if stopped:
        parts.append("Stopped by the restart and not running now: %s (they have no restart policy, and live-restore "
                     "is off); name them in restart_stopped_containers, or '*', to have them started."
                     % ", ".join(stopped))
    if started:
        parts.append("Started again, as restart_stopped_containers asks: %s." % ", ".join(started))
    return " ".join(parts)


def describe_conflicts(conflicts, daemon_json_path):
    parts = ["%s%s (daemon.json key %s)" % (c["flag"], " " + c["value"] if c["value"] else "", c["key"])
             for c in conflicts]
    return ("the dockerd command line sets %s, which %s also sets; dockerd refuses to start with both. "
            "Set fix_unit_conflicts: true to have a systemd drop-in remove the flags, or remove the keys "
            "from the task" % ("; ".join(parts), daemon_json_path))


# --------------------------------------------------------------------------
# The edge: read, check, write, apply, roll back
# --------------------------------------------------------------------------

def load_current(path, on_invalid="fail"):
    """(raw_bytes or None, settings dict, replaced_invalid: bool). Raises ChangeFailed on an unusable file."""
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise ChangeFailed(str(exc)) from None
    if raw is None:
        return None, {}, False
    try:
        return raw, parse_daemon_json(raw.decode("utf-8"), path), False
    except (DaemonJsonError, UnicodeDecodeError) as exc:
        if on_invalid == "backup_and_replace":
            return raw, {}, True
        if isinstance(exc, UnicodeDecodeError):
            exc = "%s is not UTF-8 text (byte %d)" % (path, exc.start)
        raise ChangeFailed("%s; the file was left as it is. Fix it, or set on_invalid: backup_and_replace "
                           "to keep a copy and start from an empty configuration" % exc) from None


def dockerd_validate(module, path, text):
    """Run ``dockerd --validate`` on ``text`` in a temporary file next to ``path``.

    Returns (validated: bool, error or None); validated is False when this
    dockerd has no --validate (before Docker 23) or is not installed.
    """
    directory = os.path.dirname(path) or "."
    dockerd_bin = module.get_bin_path("dockerd")
    if not dockerd_bin or not os.path.isdir(directory):
        return False, None
    try:
        handle, candidate = tempfile.mkstemp(prefix=".%s.validate." % os.path.basename(path), dir=directory)
    except OSError as exc:
        raise ChangeFailed("cannot write %s: %s. Nothing was written." % (path, exc.strerror or exc)) from None
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        rc, out, err = module.run_command([dockerd_bin, "--validate", "--config-file", candidate])
        output = (err or out or "").strip()
        if rc == 0:
            return True, None
        if "unknown flag" in output or rc == 127 or "No such file" in output:
            return False, None
        return True, output.replace(candidate, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(candidate)


def unit_conflicts(dockerd, after):
    """(argv, conflicts) of the dockerd unit against the new settings; ([], []) without systemd."""
    facts = dockerd.unit_facts()
    if not facts or not facts["exec_start"]:
        return [], []
    argv = facts["exec_start"]
    return argv, flag_conflicts(argv, after)


def running_containers(client):
    """[(id, name)] of the running containers, or None when the engine cannot say."""
    try:
        listed = client.get("/containers/json") or []
    except EngineError:
        return None
    return [(item["Id"], ((item.get("Names") or ["/" + item["Id"][:12]])[0]).lstrip("/")) for item in listed]


def change_daemon_json(module, client, settings=None, remove=None, list_merge="replace", on_invalid="fail"):
    """Merge ``settings`` into daemon.json, take out ``remove``, and apply as module.params say.

    The whole change, from the read through the apply and any rollback, holds
    the file's lock (files.locked), so concurrent runs take turns and a
    rollback never undoes another run's change. ``settings`` may be a function
    of the file's current settings, called under the lock: a change computed
    from what the file holds (registry_mirrors' lists) then never works from a
    copy read before another run's change. Returns the module result.
    Raises ChangeFailed when the change is refused (nothing written) or was
    rolled back (the previous file is in place).
    """
    params = module.params
    problems = input_problems(params["path"], params["unit"], option(module, "lock_timeout"),
                              option(module, "backup_keep"))
    if problems:
        raise ChangeFailed("%s. Nothing was written." % "; ".join(problems))
    with contextlib.ExitStack() as stack:
        if not module.check_mode:
            try:
                stack.enter_context(locked(params["path"], option(module, "lock_timeout")))
            except FileError as exc:
                raise ChangeFailed("%s. Nothing was written." % exc) from None
        return DaemonJsonChange(module, client).run(settings, remove, list_merge, on_invalid)


class DaemonJsonChange:
    """One change of daemon.json, run while its lock is held: plan, write, apply, and undo on failure."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.path = module.params["path"]
        self.dockerd = None
        self.result = {}
        self.since = None  # when this run started changing things (for dockerd's journal)

    # -- the plan ---------------------------------------------------------

    def run(self, settings, remove, list_merge, on_invalid):
        module, params, path = self.module, self.params, self.path
        leftovers = [] if module.check_mode else remove_leftovers(path)
        raw, before, replacing_invalid = load_current(path, on_invalid)
        module.no_log_values.update(secret_values(before))  # the file's own secrets, should a message quote them
        self.dockerd = Dockerd(module.run_command, self.client, unit=params["unit"],
                               pidfile=before.get("pidfile") if isinstance(before.get("pidfile"), str) else
                               DEFAULT_PIDFILE)
        resumed = self.resume(read_pending(path), raw, before)
        if resumed and not module.check_mode:
            raw, before, replacing_invalid = load_current(path, on_invalid)

        if callable(settings):
            settings = settings(before)
        after, changed = plan_change(before, settings, remove, list_merge)
        if replacing_invalid:
            changed = sorted(set(changed) | {"(whole file: it was not valid JSON)"})
        problems = validate({key: after[key] for key in changed if key in after})
        if set(changed) & TCP_SECURITY_KEYS and not option(module, "allow_plain_tcp_hosts"):
            problems.extend(describe_plain_tcp(plain_tcp_hosts(after)))
        if problems:
            raise ChangeFailed("%s: %s. Nothing was written." % (path, "; ".join(problems)))

        argv, conflicts = unit_conflicts(self.dockerd, after)
        blocking = [c for c in conflicts if c["key"] in changed]
        if blocking and not params["fix_unit_conflicts"]:
            raise ChangeFailed(describe_conflicts(blocking, path) + ". Nothing was written.", unit_conflicts=blocking)
        fixing_unit = bool(conflicts and params["fix_unit_conflicts"])
        if fixing_unit:
            # The drop-in is written from the exact words (systemctl show does not quote them).
            argv = exact_exec_start(module.run_command, params["unit"])
            if argv is None:
                raise ChangeFailed("cannot read the exact ExecStart of %s from systemd (busctl get-property), so no "
                                   "drop-in is written. Nothing was written." % params["unit"],
                                   unit_conflicts=conflicts)
            conflicts = flag_conflicts(argv, after)
            problem = exec_start_problem(argv, params["unit"])
            if problem:
                raise ChangeFailed(problem + ". Nothing was written.", unit_conflicts=conflicts)

        self.result = result = {
            "changed": bool(changed) or fixing_unit or bool(resumed),
            "path": path,
            "changed_keys": changed,
            "settings": redact(after),
            "applied": "none",
            "backup_file": None,
            "rolled_back": False,
            "validated_with_dockerd": False,
            "unit_conflicts": conflicts,
            "restart_needed_for": [],
            "stopped_containers": [],
            "started_containers": [],
            "dockerd_error": None,
            "resumed": resumed,
            "removed_leftovers": leftovers,
        }
        if module._diff:
            shown_before, shown_after = diff_pair(before, after)
            result["diff"] = {
                "before": render(shown_before) if raw is not None else "",
                "after": render(shown_after),
                "before_header": path,
                "after_header": path,
            }
        if not (changed or fixing_unit):
            return result

        text = render_keeping(None if replacing_invalid or raw is None else raw.decode("utf-8"), after)
        if params["validate_with_dockerd"]:
            validated, error = dockerd_validate(module, path, text)
            result["validated_with_dockerd"] = validated
            if error:
                raise ChangeFailed("dockerd --validate refused the new %s: %s. Nothing was written." % (path, error))

        running = self.dockerd.answers()
        if fixing_unit and running and params["apply"] != "none":
            apply = "restart"  # a changed unit takes effect only on a restart
        else:
            apply = choose_apply(params["apply"], changed, running)
        result["applied"] = apply
        if params["apply"] in ("reload", "none") or not running:
            result["restart_needed_for"] = needs_restart(changed) if params["apply"] != "restart" else []
        containers = self.warn_before_restart() if apply == "restart" else None
        if module.check_mode:
            return result

        if (params["backup"] or replacing_invalid) and raw is not None:
            try:
                result["backup_file"] = backup(path, keep=option(module, "backup_keep"))
            except FileError as exc:
                raise ChangeFailed(str(exc) + ". Nothing was written.") from None
        undo = {"raw": raw, "before": before, "drop_in": None, "previous_drop_in": None, "apply": apply,
                "containers": containers}
        if fixing_unit:
            undo["drop_in"] = os.path.join(DROP_IN_DIR, params["unit"] + ".d", DROP_IN_NAME)
            try:
                undo["previous_drop_in"] = read_bytes(undo["drop_in"])
            except FileError as exc:
                raise ChangeFailed("%s. Nothing was written." % exc) from None
        self.since = time.time()
        self.journal(apply, changed, text.encode("utf-8"), undo)
        self.write(text, after, raw)
        if fixing_unit:
            result["drop_in"] = undo["drop_in"]
            try:
                remove_leftovers(undo["drop_in"])
                atomic_write(undo["drop_in"], drop_in_text(argv, conflicts).encode("utf-8"))
                undo["drop_in_written"] = True
                self.dockerd.daemon_reload()
            except (FileError, ServiceError) as exc:
                self.roll_back("The systemd drop-in %s could not be put in place: %s."
                               % (undo["drop_in"], clause(exc)), undo)
        self.apply(apply, after, changed, undo)
        clear_pending(path)
        if apply == "restart":
            self.account_for_containers(containers)
        return result

    def journal(self, apply, changed, written, undo):
        """Record the change before it is written, so that a stopped run's successor can finish or undo it."""
        if apply == "none":
            return
        record = {"path": self.path, "apply": apply, "changed": changed, "written_sha256": digest(written),
                  "previous": encode(undo["raw"]), "drop_in": undo["drop_in"],
                  "previous_drop_in": encode(undo["previous_drop_in"]), "dockerd": self.dockerd.identity(),
                  "time": time.time()}
        try:
            write_pending(self.path, record)
        except OSError as exc:
            raise ChangeFailed("cannot record the change of %s in %s: %s. Nothing was written."
                               % (self.path, pending_path(self.path), exc.strerror or exc)) from None

    def write(self, text, after, raw):
        module, path = self.module, self.path
        holding_secrets = sorted(secret_keys(after))
        if holding_secrets and raw is not None and file_mode(path) & 0o077:
            module.warn("%s holds secrets (%s) and others can read it (mode %04o); make it 0600 if no one else "
                        "needs it" % (path, ", ".join(holding_secrets), file_mode(path)))
        try:
            # A new file that holds a secret is created 0600; an existing file keeps its mode and owner.
            atomic_write(path, text.encode("utf-8"), mode=0o600 if holding_secrets else 0o644)
        except FileError as exc:
            clear_pending(path)
            raise ChangeFailed("%s. The previous file is unchanged." % exc) from None

    # -- making dockerd take it ------------------------------------------

    def apply(self, apply, after, changed, undo):
        """Reload or restart dockerd and check that it took the change; roll back (and raise) when not."""
        dockerd, timeout = self.dockerd, self.params["restart_timeout"]
        undo["applying"] = True
        if apply == "reload":
            try:
                dockerd.reload()
            except ServiceError as exc:
                self.roll_back("dockerd could not be reloaded: %s." % clause(exc), undo)
            deadline = time.monotonic() + 10
            while True:
                try:
                    missing = unapplied_after_reload(after, changed, self.client.info() or {})
                except EngineError as exc:
                    self.roll_back("dockerd stopped answering after the reload: %s." % clause(exc), undo)
                if not missing or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            if missing:
                self.roll_back("dockerd did not apply %s on reload (it keeps its previous configuration when it "
                               "rejects a file)." % ", ".join(missing), undo)
        elif apply == "restart":
            try:
                dockerd.restart(timeout)
            except ServiceError as exc:
                self.roll_back("dockerd did not come back after the restart: %s." % clause(exc), undo)

    def warn_before_restart(self):
        """The running containers; warns when a restart will stop them (live-restore off)."""
        containers = running_containers(self.client)
        if not containers:
            return containers
        try:
            live_restore = bool((self.client.info() or {}).get("LiveRestoreEnabled"))
        except EngineError:
            live_restore = False
        if not live_restore:
            names = [name for _id, name in containers]
            self.module.warn("restarting dockerd stops the %d running container(s) (live-restore is off): %s. "
                             "Those with a restart policy start again; name the others in restart_stopped_containers "
                             "(or '*') to have them started, or set live-restore: true first"
                             % (len(names), ", ".join(names)))
        return containers

    def account_for_containers(self, containers):
        """Report the containers stopped by a restart; start those restart_stopped_containers names."""
        if not containers:
            return []
        now = running_containers(self.client)
        if now is None:
            return []
        stopped = stopped_since(containers, now)
        wanted = chosen_to_start(stopped, option(self.module, "restart_stopped_containers"))
        started, failed = [], []
        for container_id, name in wanted:
            try:
                self.client.post(object_path("container", container_id, "/start"))
                started.append(name)
            except EngineError as exc:
                failed.append("%s (%s)" % (name, exc))
        self.result["stopped_containers"] = [name for _id, name in stopped if name not in started]
        self.result["started_containers"] = started
        if failed:
            self.module.warn("could not start again: %s" % "; ".join(failed))
        return stopped

    def roll_back(self, reason, undo):
        """Put the previous file (and drop-in) back, bring dockerd back, and fail with dockerd's own words first."""
        dockerd, path, result = self.dockerd, self.path, self.result
        journal = dockerd.journal(80, self.since)
        cause = cause_line(journal)
        problems = []
        try:
            restore(path, undo["raw"])
        except FileError as exc:
            problems.append("Restoring %s failed too: %s." % (path, clause(exc)))
        if undo.get("drop_in_written"):
            try:
                restore(undo["drop_in"], undo["previous_drop_in"])
                dockerd.daemon_reload()
                dockerd.renew_socket()
            except (FileError, ServiceError) as exc:
                problems.append("Restoring the drop-in %s failed too: %s." % (undo["drop_in"], clause(exc)))
        try:
            if not undo.get("applying"):
                pass  # dockerd was not touched: it still runs with the previous file
            elif undo["apply"] == "restart" and dockerd.answers():
                dockerd.restart(self.params["restart_timeout"])
            elif undo["apply"] == "restart" or not dockerd.answers():
                dockerd.start(self.params["restart_timeout"])
            elif undo["apply"] == "reload":
                dockerd.reload()
        except ServiceError as exc:
            problems.append("Bringing dockerd back with the previous file failed too: %s" % exc)
        clear_pending(path)
        stopped = self.account_for_containers(undo["containers"])
        result.update(rolled_back=True, changed=True, settings=redact(undo["before"]), dockerd_error=cause)
        message = [("%s: " % cause if cause else "") + reason,
                   "The previous %s was restored%s." % (path, "" if problems else
                                                        " and dockerd runs with it again")]
        message.extend(problems)
        if stopped:
            message.append(describe_stopped(result["stopped_containers"], result["started_containers"]))
        tail = journal_section(self.params["unit"], without_noise(journal, keep=12))
        if tail:
            message.append(tail)
        raise ChangeFailed(" ".join(message), **result)

    # -- a change a stopped run left behind --------------------------------

    def resume(self, pending, raw, before):
        """Finish the change a stopped run wrote but may not have applied; returns what was done, or None.

        The record says what the run wrote (its digest), how it meant to apply
        it, and what was there before. When daemon.json is no longer what it
        wrote (the run stopped before the rename, or someone changed the file
        since), the record is stale and dropped. Otherwise the reload or
        restart is made (a restart only if dockerd has not restarted since),
        and undone with the recorded previous file if dockerd does not take it.
        """
        if pending is None:
            return None
        if pending.get("written_sha256") != digest(raw):
            if not self.module.check_mode:
                clear_pending(self.path)
            return None
        apply = pending.get("apply")
        done = {"changed_keys": pending.get("changed") or [], "applied": apply,
                "note": "an earlier run wrote %s but was stopped before dockerd took the change; this run %s it"
                        % (self.path, {"reload": "reloaded", "restart": "restarted"}.get(apply, "applied"))}
        if self.module.check_mode:
            return done
        self.since = pending.get("time")
        recorded = tuple(pending.get("dockerd") or ())
        undo = {"raw": decode(pending.get("previous")), "before": {}, "drop_in": pending.get("drop_in"),
                "previous_drop_in": decode(pending.get("previous_drop_in")), "apply": apply, "containers": None,
                "drop_in_written": bool(pending.get("drop_in")), "applying": True}
        with contextlib.suppress(DaemonJsonError, UnicodeDecodeError):
            undo["before"] = parse_daemon_json(undo["raw"].decode("utf-8"), self.path) if undo["raw"] else {}
        self.result = {"changed": True, "path": self.path, "changed_keys": done["changed_keys"], "applied": apply,
                       "rolled_back": False, "resumed": done, "stopped_containers": [], "started_containers": [],
                       "dockerd_error": None}
        if undo["drop_in"]:
            try:
                self.dockerd.daemon_reload()
            except ServiceError as exc:
                self.roll_back("systemctl daemon-reload failed while finishing an earlier run's change: %s."
                               % clause(exc), undo)
        if apply == "restart" and self.dockerd.identity() not in (None, recorded) and \
                self.dockerd.wait_until_up(min(10, self.params["restart_timeout"])):
            pass  # dockerd has restarted since the file was written, and answers: the change is live
        elif apply == "restart" and not self.dockerd.answers():
            try:
                self.dockerd.start(self.params["restart_timeout"])
            except ServiceError as exc:
                self.roll_back("dockerd does not start with the %s an earlier, stopped run wrote: %s."
                               % (self.path, exc), undo)
        else:
            self.apply(apply, before, done["changed_keys"], undo)
        clear_pending(self.path)
        return done
