#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_exec
short_description: Run a command in a running container
version_added: 0.2.0
description:
  - Runs a command in a running container through the Engine API (C(docker exec)), and returns its exit code,
    standard output and standard error.
  - The task B(fails when the command exits with a non-zero code), naming the code and the end of its standard
    error, unless O(fail_on_rc=false).
  - Running a command is never idempotent; the task reports changed whenever the command ran.
  - Options keep the names of community.docker's C(docker_container_exec), so a task moves over by changing its
    module name (see the notes for the one difference).
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Checks the options and that the container runs, reports changed, and runs nothing.
  diff_mode:
    support: none
    description: A command has no before and after.
options:
  container:
    description: Name or ID of the container, which must be running.
    type: str
    required: true
  argv:
    description:
      - The program and its arguments, as a list; nothing is quoted or split.
      - Exactly one of O(argv) and O(command) is required.
    type: list
    elements: str
  command:
    description:
      - The program and its arguments as one string, split into arguments like a POSIX shell splits them.
        Quotes group words, but no shell runs, so pipes, redirections and variables do not work; use O(argv)
        with C(sh -c) for those.
      - Exactly one of O(argv) and O(command) is required.
    type: str
  env:
    description:
      - Environment variables for the command.
      - Values must be strings (or numbers); quote values such as V(yes) or V(true), which YAML reads as booleans.
      - Values of variables whose names look secret (containing C(pass), C(token), C(secret), C(key),
        C(credential), C(auth) or C(private)) never show in results, errors or C(-vvv) output.
    type: dict
  user:
    description:
      - The user to run the command as, V(name), V(uid), V(name:group) or V(uid:gid).
      - Default is the container's user.
    type: str
  workdir:
    description:
      - Absolute directory in the container to run the command in.
      - Default is the container's working directory.
    type: str
    aliases: [chdir]
  stdin:
    description:
      - Text sent to the command's standard input, which is then closed. Cannot be used with O(detach=true).
      - Not supported over TLS connections (O(docker_host) with C(https://) or O(tls=true)).
    type: str
  stdin_add_newline:
    description: Add a newline to O(stdin) when it does not end in one.
    type: bool
    default: true
  tty:
    description:
      - Give the command a pseudo-terminal; its standard output and error then arrive as one stream, in RV(stdout).
    type: bool
    default: false
  detach:
    description:
      - Start the command and return at once, without waiting for it; RV(rc), RV(stdout) and RV(stderr) are then
        not returned.
    type: bool
    default: false
  strip_empty_ends:
    description: Remove the line breaks at the end of RV(stdout) and RV(stderr).
    type: bool
    default: true
  fail_on_rc:
    description:
      - Fail the task when the command exits with a code other than 0.
      - With V(false) the task succeeds whatever the code is, and RV(rc) tells it.
    type: bool
    default: true
notes:
  - Unlike community.docker's C(docker_container_exec), a non-zero exit code fails the task unless
    O(fail_on_rc=false); a task that checks RV(rc) itself sets O(fail_on_rc=false) (or keeps its C(failed_when)).
  - The task waits as long as the command runs, as C(docker exec) does; bound it with the task keyword C(timeout).
seealso:
  - module: dockhand.runtime.container
  - module: dockhand.runtime.container_copy_into
"""

EXAMPLES = r"""
- name: Run a database migration in the app container
  dockhand.runtime.container_exec:
    container: app
    argv: [/app/manage.py, migrate, --no-input]
    env:
      DATABASE_PASSWORD: "{{ vault_db_password }}"
  register: migration

- name: Check a configuration, accepting failure
  dockhand.runtime.container_exec:
    container: web
    command: nginx -t
    fail_on_rc: false
  register: nginx_check

- name: Feed a SQL script to psql
  dockhand.runtime.container_exec:
    container: db
    argv: [psql, -U, postgres, -v, ON_ERROR_STOP=1]
    stdin: "{{ lookup('ansible.builtin.file', 'schema.sql') }}"

- name: Start a background job
  dockhand.runtime.container_exec:
    container: worker
    command: /usr/local/bin/reindex --all
    user: "1000:1000"
    workdir: /srv
    detach: true
"""

RETURN = r"""
rc:
  description: The command's exit code.
  returned: when the command ran and O(detach=false)
  type: int
  sample: 0
stdout:
  description: The command's standard output (with O(tty=true), its standard error too).
  returned: when the command ran and O(detach=false)
  type: str
  sample: "migrations applied: 3"
stderr:
  description: The command's standard error (empty with O(tty=true)).
  returned: when the command ran and O(detach=false)
  type: str
  sample: ""
exec_id:
  description: The engine's ID of the exec instance.
  returned: when the command ran
  type: str
  sample: 249d9e3075655baf705ed8f40488c5e9434049cf3431976f1bfdb73741c574c5
argv:
  description: The argument vector that ran (or would run in check mode).
  returned: always
  type: list
  elements: str
  sample: ["/app/manage.py", "migrate", "--no-input"]
"""

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.container.exec import (
    exec_config,
    exit_code,
    failure_message,
    run_exec,
    running_container,
    shape_result,
    split_output,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import protect


def run(module):
    # env secrets never show: not in results, errors nor invocation (-vvv)
    protect(module, skip_keys=("client_key", "tls"))
    params = module.params
    container, body, stdin = exec_config(params)
    result = {"changed": True, "argv": body["Cmd"]}
    client = make_client(params)
    try:
        found = running_container(client, container)
        if module.check_mode:
            return result
        exec_id, raw = run_exec(client, found["Id"], body, stdin, params["detach"])
        if raw is None:
            result["exec_id"] = exec_id
            return result
        stdout, stderr = split_output(raw, body["Tty"])
        result.update(shape_result(exec_id, exit_code(client, exec_id), stdout, stderr,
                                   params["strip_empty_ends"]))
    finally:
        client.close()
    result["argv"] = body["Cmd"]
    if result["rc"] != 0 and params["fail_on_rc"]:
        module.fail_json(msg=failure_message(container, body["Cmd"], result["rc"], result["stderr"]), **result)
    # said outright: ansible-playbook marks a result with a non-zero rc and no "failed" key as failed
    result["failed"] = False
    return result


def main():
    module = engine_module({
        "container": {"type": "str", "required": True},
        "argv": {"type": "list", "elements": "str"},
        "command": {"type": "str"},
        "env": {"type": "dict"},
        "user": {"type": "str"},
        "workdir": {"type": "str", "aliases": ["chdir"]},
        "stdin": {"type": "str"},
        "stdin_add_newline": {"type": "bool", "default": True},
        "tty": {"type": "bool", "default": False},
        "detach": {"type": "bool", "default": False},
        "strip_empty_ends": {"type": "bool", "default": True},
        "fail_on_rc": {"type": "bool", "default": True},
    })
    run_module(module, run)


if __name__ == "__main__":
    main()
