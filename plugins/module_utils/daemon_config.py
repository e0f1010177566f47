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
import os
import shlex
import tempfile
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.daemon_json import (
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
    validate,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.dockerd import Dockerd, ServiceError
from ansible_collections.dockhand.runtime.plugins.module_utils.engine_api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.files import (
    DEFAULT_LOCK_TIMEOUT,
    FileError,
    atomic_write,
    backup,
    locked,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.redact import (
    diff_pair,
    redact,
    secret_values,
)

APPLY_MODES = ("auto", "reload", "restart", "none")
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

# Options a module may add to DAEMON_CHANGE_OPTIONS (change_daemon_json uses their defaults without them).
DAEMON_SAFETY_OPTIONS = {
    "lock_timeout": {"type": "int", "default": DEFAULT_LOCK_TIMEOUT},
}


class ChangeFailed(Exception):
    """The change was refused or undone; ``result`` says what happened, the message what to do."""

    def __init__(self, message, **result):
        super(ChangeFailed, self).__init__(message)
        self.result = result


# --------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------

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


def drop_in_text(argv, conflicts, daemon_json_path):
    """A systemd drop-in that runs dockerd without the flags that conflict with daemon.json."""
    keys = ", ".join(sorted({c["key"] for c in conflicts}))
    command = " ".join(shlex.quote(arg) for arg in argv_without(argv, conflicts))
    return ("# Written by dockhand.runtime: these keys are set in %s, and dockerd refuses\n"
            "# to start when a flag sets them too: %s\n"
            "[Service]\nExecStart=\nExecStart=%s\n" % (daemon_json_path, keys, command))


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
        handle, candidate = tempfile.mkstemp(prefix=".daemon.json.validate.", dir=directory)
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


def change_daemon_json(module, client, settings=None, remove=None, list_merge="replace", on_invalid="fail"):
    """Merge ``settings`` into daemon.json, take out ``remove``, and apply as module.params say.

    The whole change, from the read through the apply and any rollback, holds
    the file's lock (files.locked), so concurrent runs take turns and a
    rollback never undoes another run's change. Returns the module result.
    Raises ChangeFailed when the change is refused (nothing written) or was
    rolled back (the previous file is in place).
    """
    path = module.params["path"]
    timeout = module.params.get("lock_timeout")
    timeout = DEFAULT_LOCK_TIMEOUT if timeout is None else timeout
    if timeout < 0:
        raise ChangeFailed("lock_timeout must be 0 or more seconds, not %d. Nothing was written." % timeout)
    with contextlib.ExitStack() as stack:
        if not module.check_mode:
            try:
                stack.enter_context(locked(path, timeout))
            except FileError as exc:
                raise ChangeFailed("%s. Nothing was written." % exc) from None
        return _change_locked(module, client, settings, remove, list_merge, on_invalid)


def _change_locked(module, client, settings, remove, list_merge, on_invalid):
    params = module.params
    path = params["path"]
    raw, before, replacing_invalid = load_current(path, on_invalid)
    module.no_log_values.update(secret_values(before))  # the file's own secrets, should a message quote them
    after, changed = plan_change(before, settings, remove, list_merge)
    if replacing_invalid:
        changed = sorted(set(changed) | {"(whole file: it was not valid JSON)"})

    problems = validate({key: after[key] for key in changed if key in after})
    if problems:
        raise ChangeFailed("%s: %s. Nothing was written." % (path, "; ".join(problems)))

    dockerd = Dockerd(module.run_command, client, unit=params["unit"])
    argv, conflicts = unit_conflicts(dockerd, after)
    blocking = [c for c in conflicts if c["key"] in changed]
    if blocking and not params["fix_unit_conflicts"]:
        raise ChangeFailed(describe_conflicts(blocking, path) + ". Nothing was written.", unit_conflicts=blocking)

    result = {
        "changed": bool(changed) or bool(conflicts and params["fix_unit_conflicts"]),
        "path": path,
        "changed_keys": changed,
        "settings": redact(after),
        "applied": "none",
        "backup_file": None,
        "rolled_back": False,
        "validated_with_dockerd": False,
        "unit_conflicts": conflicts,
        "restart_needed_for": [],
    }
    if module._diff:
        shown_before, shown_after = diff_pair(before, after)
        result["diff"] = {
            "before": render(shown_before) if raw is not None else "",
            "after": render(shown_after),
            "before_header": path,
            "after_header": path,
        }
    if not result["changed"]:
        return result

    text = render(after)
    if params["validate_with_dockerd"]:
        validated, error = dockerd_validate(module, path, text)
        result["validated_with_dockerd"] = validated
        if error:
            raise ChangeFailed("dockerd --validate refused the new %s: %s. Nothing was written." % (path, error))

    running = dockerd.answers()
    fixing_unit = bool(conflicts and params["fix_unit_conflicts"])
    if fixing_unit and running and params["apply"] != "none":
        apply = "restart"  # a changed unit takes effect only on a restart
    else:
        apply = choose_apply(params["apply"], changed, running)
    result["applied"] = apply
    if params["apply"] in ("reload", "none") or not running:
        result["restart_needed_for"] = needs_restart(changed) if params["apply"] != "restart" else []
    if module.check_mode:
        return result

    if (params["backup"] or replacing_invalid) and raw is not None:
        try:
            result["backup_file"] = backup(path)
        except FileError as exc:
            raise ChangeFailed(str(exc) + ". Nothing was written.") from None
    holding_secrets = sorted(secret_keys(after))
    if holding_secrets and raw is not None and file_mode(path) & 0o077:
        module.warn("%s holds secrets (%s) and others can read it (mode %04o); make it 0600 if no one else needs "
                    "it" % (path, ", ".join(holding_secrets), file_mode(path)))
    try:
        # A new file that holds a secret is created 0600; an existing file keeps its mode and owner.
        atomic_write(path, text.encode("utf-8"), mode=0o600 if holding_secrets else 0o644)
    except FileError as exc:
        raise ChangeFailed("%s. The previous file is unchanged." % exc) from None

    drop_in = None
    if fixing_unit:
        drop_in = os.path.join("/etc/systemd/system", params["unit"] + ".d", DROP_IN_NAME)
        previous_drop_in = read_bytes(drop_in)
        atomic_write(drop_in, drop_in_text(argv, conflicts, path).encode("utf-8"))
        dockerd.daemon_reload()
        result["drop_in"] = drop_in

    def roll_back(reason):
        """Put the previous file (and drop-in) back, bring dockerd back, and fail with ``reason``."""
        restore(path, raw)
        if drop_in:
            restore(drop_in, previous_drop_in)
            dockerd.daemon_reload()
            dockerd.renew_socket()
        revived = ""
        try:
            if apply == "restart" and dockerd.answers():
                dockerd.restart(params["restart_timeout"])
            elif apply == "restart":
                dockerd.start(params["restart_timeout"])
            else:
                dockerd.reload()
        except ServiceError as exc:
            revived = " Bringing dockerd back with the previous file failed too: %s" % exc
        result.update(rolled_back=True, changed=True)
        raise ChangeFailed("%s The previous %s was restored.%s" % (reason, path, revived), **result)

    if apply == "reload":
        try:
            dockerd.reload()
        except ServiceError as exc:
            roll_back("dockerd could not be reloaded: %s." % exc)
        deadline = time.monotonic() + 10
        while True:
            try:
                missing = unapplied_after_reload(after, changed, client.info() or {})
            except EngineError as exc:
                roll_back("dockerd stopped answering after the reload: %s.\n%s" % (exc, dockerd.journal_tail()))
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        if missing:
            roll_back("dockerd did not apply %s on reload (it keeps its previous configuration when it rejects "
                      "a file).\n%s" % (", ".join(missing), dockerd.journal_tail()))
    elif apply == "restart":
        try:
            dockerd.restart(params["restart_timeout"])
        except ServiceError as exc:
            roll_back("dockerd did not come back after the restart: %s" % exc)
    return result
