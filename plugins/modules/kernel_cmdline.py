#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kernel_cmdline
short_description: Set kernel command line arguments in /etc/default/grub and regenerate the boot configuration
version_added: 0.1.0
description:
  - Sets arguments in C(GRUB_CMDLINE_LINUX) of C(/etc/default/grub), such as
    C(systemd.unified_cgroup_hierarchy=1) to boot into the unified (v2) cgroup hierarchy. The
    other arguments, their order, the quotes and every other line stay as they are.
  - Writes atomically, then regenerates the boot loader configuration with C(update-grub), or
    C(grub2-mkconfig) / C(grub-mkconfig) where that is what the host has. When none is installed
    it says so (RV(bootloader_updated) is false, with a warning) and does not fail.
  - Reports RV(reboot_required) when the running kernel's command line (C(/proc/cmdline)) does not
    have the arguments yet. It never reboots; see M(ansible.builtin.reboot).
  - Refuses values it cannot edit safely (escapes, command substitution, an unquoted value with
    blanks) and leaves the file untouched.
  - Argument names and values are checked whole against strict patterns; a name or value with a
    newline or another control character, a blank, a quote, C(\\), C($) or C(`) is refused, never altered.
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description:
      - Reports the change, whether a reboot would be needed, and whether the boot loader configuration would
        be regenerated (RV(bootloader_updated), RV(bootloader_command)), looking for the tools as the real run
        does; when none is installed it gives the real run's warning. Touches nothing.
  diff_mode:
    support: full
    description: Shows the file before and after.
options:
  args:
    description:
      - Arguments to set, name to value. A null value sets a bare flag (such as C(quiet)).
      - An argument already there gets the new value in its place; a new one is added at the end.
    type: dict
    default: {}
  remove:
    description: Names of arguments to take out.
    type: list
    elements: str
    default: []
  path:
    description: The file that holds the variable.
    type: path
    default: /etc/default/grub
  variable:
    description:
      - The variable to edit. C(GRUB_CMDLINE_LINUX) applies to every boot entry, including recovery;
        C(GRUB_CMDLINE_LINUX_DEFAULT) only to the default entries.
    type: str
    choices: [GRUB_CMDLINE_LINUX, GRUB_CMDLINE_LINUX_DEFAULT]
    default: GRUB_CMDLINE_LINUX
  update_bootloader:
    description: Regenerate the boot loader configuration after a change (and when an earlier run could not).
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the previous file next to it.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another run that is changing the same file (an exclusive lock in C(/run/lock) is
        held from reading the file through writing it, regenerating the boot configuration and restoring it).
    type: int
    default: 60
notes:
  - On hosts that boot with systemd-boot or another loader, set the argument with that loader's tool.
  - On EL with BootLoaderSpec entries, C(grub2-mkconfig) updates the entries' options only on versions that
    support C(--update-bls-cmdline); C(grubby --update-kernel=ALL --args=...) is the alternative there.
seealso:
  - module: dockhand.runtime.cgroup_info
  - module: ansible.builtin.reboot
"""

EXAMPLES = r"""
- name: Boot into the unified cgroup hierarchy at the next reboot
  dockhand.runtime.kernel_cmdline:
    args:
      systemd.unified_cgroup_hierarchy: "1"
  register: cmdline

- name: Reboot when the running kernel does not have it yet
  ansible.builtin.reboot:
  when: cmdline.reboot_required and cmdline.bootloader_updated
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/default/grub
before:
  description: The variable's value before, or null when the file did not set it.
  returned: always
  type: str
  sample: quiet
after:
  description: The variable's value after.
  returned: always
  type: str
  sample: quiet systemd.unified_cgroup_hierarchy=1
running:
  description: The running kernel's command line.
  returned: always
  type: str
  sample: BOOT_IMAGE=/vmlinuz-6.1.0-13-amd64 root=UUID=... ro quiet
reboot_required:
  description: Whether the running kernel lacks an argument (or has one to remove); a reboot applies them.
  returned: always
  type: bool
  sample: true
bootloader_updated:
  description:
    - Whether the boot loader configuration has the new arguments (regenerated now, or nothing changed).
    - In check mode, whether it would have them after the run.
  returned: always
  type: bool
  sample: true
bootloader_command:
  description: The command that regenerated it (in check mode, that would regenerate it), or null.
  returned: always
  type: list
  elements: str
  sample: [/usr/sbin/update-grub]
backup_file:
  description: The copy of the previous file, when O(backup=true) and the file changed.
  returned: always
  type: str
  sample: null
"""

import contextlib
import os

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.kernel_cmdline import (
    CmdlineError,
    arg_value,
    check_args,
    set_grub_variable,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    FileError,
    atomic_write,
    backup,
    locked,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule

GRUB_CONFIGS = ("/boot/grub2/grub.cfg", "/boot/grub/grub.cfg")
# Remembers, next to the file, that the file was changed but the boot configuration not regenerated yet.
PENDING_SUFFIX = ".dockhand-bootloader-pending"


def bootloader_command(module):
    """The command that regenerates the boot configuration here, or None."""
    update_grub = module.get_bin_path("update-grub")
    if update_grub:
        return [update_grub]
    for tool in ("grub2-mkconfig", "grub-mkconfig"):
        path = module.get_bin_path(tool)
        if path:
            target = next((cfg for cfg in GRUB_CONFIGS if os.path.exists(cfg)), None)
            if target:
                return [path, "-o", target]
    return None


def running_differs(running, args, remove):
    for key, value in args.items():
        have = arg_value(running, key)
        if have is None or have != ("" if value is None else value):
            return True
    return any(arg_value(running, key) is not None for key in remove)


def apply(module):
    params = module.params
    path = params["path"]
    args = {str(k): (None if v is None else str(v)) for k, v in params["args"].items()}
    remove = params["remove"]
    try:
        check_args(args, remove)
    except CmdlineError as exc:
        module.fail_json(msg="%s. Nothing was changed." % exc)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(locked(path, params["lock_timeout"]))
        except FileError as exc:
            module.fail_json(msg="%s. Nothing was changed." % exc)
        return change(module, path, args, remove)


def change(module, path, args, remove):
    """Read, plan, write and regenerate, under the file's lock."""
    params = module.params
    try:
        raw = read_bytes(path)
    except FileError as exc:
        module.fail_json(msg="%s. Nothing was changed." % exc)
    if raw is None:
        module.fail_json(msg="path: %s does not exist, so this host does not take its kernel command line from "
                             "GRUB's defaults file; set the arguments with the host's boot loader tool, or give the "
                             "right path. Nothing was changed." % path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        module.fail_json(msg="path: %s is not UTF-8 text (byte %d); this module edits only text it can write back "
                             "unchanged, so fix the file first. Nothing was changed." % (path, exc.start))
    try:
        new_text, before, after = set_grub_variable(text, params["variable"], args, remove, path)
    except CmdlineError as exc:
        module.fail_json(msg="%s. Nothing was changed." % exc)

    with open("/proc/cmdline") as handle:
        running = handle.read().strip()
    pending_marker = path + PENDING_SUFFIX
    changed = new_text != text
    pending = os.path.exists(pending_marker)
    command = bootloader_command(module) if params["update_bootloader"] else None
    result = {
        "changed": changed,
        "path": path,
        "before": before,
        "after": after,
        "running": running,
        "reboot_required": running_differs(running, args, remove),
        "bootloader_updated": not (changed or pending),
        "bootloader_command": None,
        "backup_file": None,
    }
    if module._diff:
        result["diff"] = {"before": text, "after": new_text, "before_header": path, "after_header": path}
    if module.check_mode:
        # The real run's outcome, found the same way: regenerated with the same command, or the same warning.
        if (changed or pending) and command:
            result.update(bootloader_updated=True, bootloader_command=command, changed=True)
        elif (changed or pending) and params["update_bootloader"]:
            module.warn(no_bootloader_tool(path))
        return result
    if changed:
        try:
            if params["backup"]:
                result["backup_file"] = backup(path)
            atomic_write(path, new_text.encode("utf-8"))
        except FileError as exc:
            module.fail_json(msg="%s. The previous file is unchanged." % exc)
    if (changed or pending) and command:
        rc, out, err = module.run_command(command)
        if rc != 0:
            if changed:
                restore(path, raw)
            module.fail_json(msg="%s failed (rc %d), so %s was restored: %s" % (
                " ".join(command), rc, path, (err or out).strip()[-2000:]), **result)
        result.update(bootloader_updated=True, bootloader_command=command, changed=True)
        if pending:
            os.unlink(pending_marker)
    elif changed or pending:
        if changed and not pending:
            atomic_write(pending_marker, b"")
        if params["update_bootloader"]:
            module.warn(no_bootloader_tool(path))
    return result


def no_bootloader_tool(path):
    return ("%s was changed, but neither update-grub nor grub2-mkconfig / grub-mkconfig (with a grub.cfg in /boot) "
            "is installed, so the boot loader configuration was not regenerated and a reboot would not apply the "
            "change. Regenerate it with the host's boot loader tool." % path)


def main():
    module = ProtectedModule(
        argument_spec=dict(
            args=dict(type="dict", default={}),
            remove=dict(type="list", elements="str", default=[]),
            path=dict(type="path", default="/etc/default/grub"),
            variable=dict(type="str", default="GRUB_CMDLINE_LINUX",
                          choices=["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"]),
            update_bootloader=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
            lock_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    run_module(module, apply)


if __name__ == "__main__":
    main()
