# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command in a running container (the container_exec module's core).

Pure parts: the options checked and turned into the body of ``POST /containers/{id}/exec``, the
daemon's output split into stdout and stderr, and the result. The edge: create, start (on a
connection the daemon takes over, so stdin can be sent), and the exit code from ``GET /exec/{id}/json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex
import time

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    EngineError,
    demux_docker_stream,
    object_path,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import OptionError

# A container's name or (short) ID, as the engine accepts them.
CONTAINER_NAME = re.compile(r"/?[A-Za-z0-9][A-Za-z0-9_.-]*")
# user, user:group, uid or uid:gid
EXEC_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?")
ENV_NAME = re.compile(r"[^=\s\x00-\x1f\x7f]+")
ABSOLUTE_PATH = re.compile(r"/[^\x00-\x1f\x7f]*")
# How long to wait for the engine to record the exit code after the output ended.
EXIT_CODE_WAIT = 10.0


def check_container(value, option="container"):
    """The container's name or ID without a leading slash; refuses anything the engine could not name."""
    if not isinstance(value, str) or not CONTAINER_NAME.fullmatch(value):
        raise OptionError("%s %r is not a container name or ID: use letters, digits, '_', '.' and '-', "
                          "starting with a letter or digit" % (option, value))
    return value.lstrip("/")


def command_argv(argv, command):
    """The argument vector from ``argv`` (a list) or ``command`` (a string split like a POSIX shell)."""
    if (argv is None) == (command is None):
        raise OptionError("give exactly one of argv (a list) and command (a string); this task gives %s"
                          % ("both" if argv is not None else "neither"))
    if command is not None:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise OptionError("command cannot be split into arguments (%s): check its quotes, or give argv as "
                              "a list" % exc) from None
        option = "command"
    else:
        option = "argv"
    if not argv:
        raise OptionError("%s is empty; give the program to run and its arguments" % option)
    for index, item in enumerate(argv):
        if "\x00" in item:
            raise OptionError("%s[%d] contains a NUL character, which no program can receive" % (option, index))
    return list(argv)


def env_list(env):
    """``env`` (a dict) as the engine's ``NAME=value`` list; refuses values YAML may have turned into other types."""
    entries = []
    for key, value in (env or {}).items():
        name = str(key)
        if not ENV_NAME.fullmatch(name):
            raise OptionError("env: %r is not a variable name; a name has no '=', spaces or control characters"
                              % name)
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            raise OptionError("env.%s must be a string (quote it: YAML read %r as a %s)"
                              % (name, value, type(value).__name__))
        text = str(value)
        if "\x00" in text:
            raise OptionError("env.%s contains a NUL character, which an environment cannot hold" % name)
        entries.append("%s=%s" % (name, text))
    return entries


def exec_config(params):
    """Checked options -> (container, the body of POST /containers/{id}/exec, stdin bytes or None)."""
    container = check_container(params["container"])
    argv = command_argv(params.get("argv"), params.get("command"))
    user = params.get("user")
    if user is not None and not EXEC_USER.fullmatch(user):
        raise OptionError("user %r is not a user: give a name or UID, optionally with ':group' or ':GID'" % user)
    workdir = params.get("workdir")
    if workdir is not None and not ABSOLUTE_PATH.fullmatch(workdir):
        raise OptionError("workdir %r must be an absolute path in the container without control characters"
                          % workdir)
    stdin = params.get("stdin")
    detach = bool(params.get("detach"))
    if detach and stdin is not None:
        raise OptionError("stdin cannot be sent with detach: true (nothing waits to write it); drop one of them")
    data = None
    if stdin is not None:
        if params.get("stdin_add_newline", True) and not stdin.endswith("\n"):
            stdin += "\n"
        data = stdin.encode("utf-8")
    body = {
        "AttachStdin": data is not None,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
        "Tty": bool(params.get("tty")),
        "Cmd": argv,
        "Env": env_list(params.get("env")),
    }
    if user is not None:
        body["User"] = user
    if workdir is not None:
        body["WorkingDir"] = workdir
    return container, body, data


def split_output(raw, tty):
    """The daemon's bytes as (stdout, stderr): one stream with a TTY, the multiplexed frames without."""
    if tty:
        return raw, b""
    return demux_docker_stream(raw)


def output_text(data, strip_empty_ends):
    text = data.decode("utf-8", "replace")
    return text.rstrip("\r\n") if strip_empty_ends else text


def shape_result(exec_id, rc, stdout, stderr, strip_empty_ends):
    """The module's result for a finished command."""
    out, err = output_text(stdout, strip_empty_ends), output_text(stderr, strip_empty_ends)
    return {"changed": True, "exec_id": exec_id, "rc": rc, "stdout": out, "stderr": err}


def failure_message(container, argv, rc, stderr):
    """What a failed command says: its exit code and the end of its stderr."""
    tail = [line for line in stderr.splitlines() if line.strip()][-3:]
    said = (": %s" % " | ".join(tail)) if tail else " (no stderr)"
    return ("%s exited with rc %s in container %s%s. Set fail_on_rc: false to accept a non-zero exit code"
            % (argv[0], rc, container, said))


# --------------------------------------------------------------------------
# Edge: the engine
# --------------------------------------------------------------------------

def running_container(client, container):
    """Inspect the container and make sure a command can run in it; returns the inspect."""
    found = client.inspect("container", container)
    if found is None:
        raise OptionError("container %s does not exist on %s" % (container, client.endpoint_url))
    state = found.get("State") or {}
    if state.get("Paused"):
        raise OptionError("container %s is paused; unpause it first" % container)
    if not state.get("Running"):
        raise OptionError("container %s is not running (status %s); start it first"
                          % (container, state.get("Status") or "unknown"))
    return found


def exit_code(client, exec_id, wait=EXIT_CODE_WAIT):
    """The exit code of a finished exec; the engine may record it a moment after the output ends."""
    deadline = time.monotonic() + wait
    while True:
        info = client.get("/exec/%s/json" % exec_id) or {}
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        if time.monotonic() >= deadline:
            raise EngineError("the command's output ended, but the engine reported no exit code within %d s "
                              "(exec %s)" % (wait, exec_id), endpoint=client.endpoint_url)
        time.sleep(0.1)


def run_exec(client, container_id, body, stdin, detach):
    """Create and start the exec; returns (exec_id, raw output or None when detached)."""
    created = client.post(object_path("container", container_id, "/exec"), body=body) or {}
    exec_id = created.get("Id")
    if not exec_id:
        raise EngineError("the engine created no exec (answer %r)" % created, endpoint=client.endpoint_url)
    start = {"Detach": detach, "Tty": body["Tty"]}
    if detach:
        client.post("/exec/%s/start" % exec_id, body=start)
        return exec_id, None
    return exec_id, client.hijack("POST", "/exec/%s/start" % exec_id, body=start, stdin=stdin)
