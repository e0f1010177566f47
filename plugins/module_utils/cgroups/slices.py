# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cgroup with limits for all containers: a systemd slice, or a cgroupfs directory without systemd.

Both follow the same steps: plan (what differs from the wanted state), apply
(atomic unit file and daemon-reload, or mkdir and limit files), verify (the
limits are in the cgroup files), and roll back to what was there when the
verification fails. The pure parts (validation, the unit text, the files
that carry each limit) are in cgroups.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import os

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.hierarchy import (
    DEFAULT_LIMITS,
    HIERARCHY_V2,
    LIMIT_NAMES,
    SHOW_PROPERTIES,
    CgroupError,
    cgroup_dirs,
    file_value_matches,
    limit_files,
    merge_limits,
    shown_mismatches,
    slice_cgroup_path,
    slice_unit_text,
    unit_limits,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    DEFAULT_LOCK_TIMEOUT,
    FileError,
    atomic_write,
    locked,
    read_bytes,
    restore,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import parse_show

UNIT_DIR = "/etc/systemd/system"
V2_CONTROLLERS = ("cpu", "memory", "pids")


class SliceError(Exception):
    """The slice could not be set up (or was rolled back); ``result`` says what happened."""

    def __init__(self, message, **result):
        super(SliceError, self).__init__(message)
        self.result = result


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _write_text(path, value):
    """Write one value to a cgroup file; the kernel's refusal becomes a SliceError naming the file."""
    try:
        with open(path, "w") as handle:
            handle.write(value)
    except (IOError, OSError) as exc:
        hint = ""
        if exc.errno == errno.EBUSY and "memory" in os.path.basename(path):
            hint = " (the cgroup already uses more memory than that; give a larger limit)"
        elif exc.errno == errno.EINVAL:
            hint = " (the kernel refused the value)"
        raise SliceError("cannot write %r to %s: %s%s" % (value, path, exc.strerror or exc, hint)) from None


def _verify_files(rows, dirs):
    """(values read {path: text}, mismatches [{limit, file, wanted, found}]) of limit_files rows."""
    values = {}
    problems = []
    for row in rows:
        directory = dirs.get(row["controller"], dirs.get(""))
        if directory is None:
            problems.append({"limit": row["limit"], "file": row["file"], "wanted": row["value"],
                             "found": "the %s controller is not mounted" % row["controller"]})
            continue
        path = os.path.join(directory, row["file"])
        found = _read_text(path)
        values[path] = None if found is None else found.strip()
        if found is None or not file_value_matches(row["file"], row["value"], found):
            problems.append({"limit": row["limit"], "file": path, "wanted": row["value"],
                             "found": values[path]})
    return values, problems


def describe_mismatches(problems):
    parts = []
    for problem in problems:
        where = problem.get("property") or problem.get("file")
        found = problem.get("shown", problem.get("found"))
        parts.append("%s: %s shows %s instead of %s" % (problem["limit"], where, found, problem["wanted"]))
    return "; ".join(parts)


# --------------------------------------------------------------------------
# systemd: a slice unit
# --------------------------------------------------------------------------

class SystemdSlice:
    """A slice unit in /etc/systemd/system, managed through systemctl."""

    def __init__(self, module, name, limits, description=None, hierarchy=None, unit_dir=UNIT_DIR,
                 lock_timeout=DEFAULT_LOCK_TIMEOUT, exclusive=False):
        self.module = module
        self.name = name
        self.limits = limits
        self.exclusive = exclusive
        self.description = description
        self.hierarchy = hierarchy or {}
        self.unit_path = os.path.join(unit_dir, name)
        self.lock_timeout = lock_timeout

    def systemctl(self, *args, **kwargs):
        rc, out, err = self.module.run_command(["systemctl"] + list(args))
        if rc != 0 and not kwargs.get("allow_fail"):
            raise SliceError("systemctl %s failed: %s" % (" ".join(args), (err or out).strip()))
        return rc, out

    def show(self):
        props = ["LoadState", "ActiveState", "FragmentPath", "DropInPaths", "NeedDaemonReload", "ControlGroup",
                 "TasksCurrent"] + sorted(set(SHOW_PROPERTIES.values()))
        _rc, out = self.systemctl("show", self.name, "--no-pager", "--property", ",".join(props))
        return parse_show(out)

    def files(self, props):
        """The limit files of the running slice, and the limits this hierarchy cannot express."""
        cgroup = props.get("ControlGroup") or slice_cgroup_path(self.name)
        rows, unsupported = limit_files(self.limits, self.hierarchy.get("version"))
        return rows, unsupported, cgroup_dirs(cgroup)

    def check(self, props):
        """Mismatches between the wanted limits and what systemd and the cgroup files show."""
        problems = shown_mismatches(self.limits, props)
        if props.get("ActiveState") == "active":
            rows, _unsupported, dirs = self.files(props)
            problems += _verify_files(rows, dirs)[1]
        return problems

    def run(self, state="present", verify=True):
        """Plan, apply, verify (and roll back) under the unit file's lock, held from the read to the end."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(locked(self.unit_path, self.lock_timeout))
            except FileError as exc:
                raise SliceError("%s. Nothing was changed." % exc) from None
            return self._run(state, verify)

    def _merge(self, before_text):
        """(kept, removed): the limits of the unit this run keeps (not exclusive) or takes out (exclusive)."""
        current, unreadable = unit_limits(before_text)
        named = set(self.limits)
        if self.exclusive:
            removed = sorted((set(current) | set(unreadable)) - named, key=LIMIT_NAMES.index)
            return [], removed
        cannot_keep = sorted(set(unreadable) - named, key=LIMIT_NAMES.index)
        if cannot_keep:
            raise SliceError("%s sets %s, which this module cannot keep as it is; name %s in limits (infinity "
                             "to lift it), or set exclusive: true to drop the limits not named. Nothing was changed."
                             % (self.unit_path, ", ".join(unreadable[key] for key in cannot_keep),
                                ", ".join("limits." + key for key in cannot_keep)))
        kept = [key for key in LIMIT_NAMES if key in current and key not in named]
        try:
            self.limits = merge_limits(current, self.limits)
        except CgroupError as exc:
            raise SliceError("%s. Nothing was changed." % exc) from None
        return kept, []

    def _run(self, state, verify):
        try:
            raw = read_bytes(self.unit_path)
        except FileError as exc:
            raise SliceError(str(exc)) from None
        before_text = raw.decode("utf-8", "replace") if raw is not None else None
        kept, removed = self._merge(before_text) if state == "present" else ([], [])
        text = slice_unit_text(self.name, self.limits, self.description) if state == "present" else None
        props = self.show()
        active = props.get("ActiveState") == "active"
        result = {
            "changed": False,
            "manager": "systemd",
            "state": state,
            "unit_path": self.unit_path,
            "cgroup_parent": self.name,
            "cgroup_path": props.get("ControlGroup") or slice_cgroup_path(self.name),
            "limits": self.limits,
            "kept_limits": kept,
            "removed_limits": removed,
            "actions": [],
            "created": raw is None and state == "present",
        }
        if self.module._diff:
            result["diff"] = {"before": before_text or "", "after": text or "",
                              "before_header": self.unit_path, "after_header": self.unit_path}
        if state == "absent":
            return self._absent(raw, props, active, result)

        file_changed = raw is None or before_text != text
        actions = []
        if file_changed:
            actions.append("write %s" % self.unit_path)
        drift = [] if file_changed or not active else self.check(props)
        if file_changed or props.get("NeedDaemonReload") == "yes" or drift:
            actions.append("systemctl daemon-reload")
        if not active:
            actions.append("systemctl start %s" % self.name)
        result["actions"] = actions
        result["changed"] = bool(actions)
        if self.module.check_mode or not actions:
            return self._finish(result, props, verify and not self.module.check_mode)

        try:
            if file_changed:
                atomic_write(self.unit_path, text.encode("utf-8"))
            self.systemctl("daemon-reload")
            if not active:
                self.systemctl("start", self.name)
        except (FileError, SliceError) as exc:
            self._roll_back(raw, active)
            raise SliceError("%s. The previous %s was restored." % (exc, self.unit_path), **result) from None
        props = self.show()
        try:
            return self._finish(result, props, verify)
        except SliceError as exc:
            self._roll_back(raw, active)
            result.update(exc.result, rolled_back=True)
            raise SliceError("%s. The previous %s was restored." % (exc, self.unit_path), **result) from None

    def _finish(self, result, props, verify):
        rows, unsupported, dirs = self.files(props)
        result["unsupported"] = unsupported
        result["properties"] = {prop: props.get(prop) for prop in sorted(set(SHOW_PROPERTIES.values()))}
        result["files"] = {}
        if props.get("ActiveState") == "active":
            result["files"] = _verify_files(rows, dirs)[0]
        if verify:
            problems = self.check(props)
            if problems:
                drop_ins = (props.get("DropInPaths") or "").split()
                hint = ""
                if drop_ins:
                    hint = (" Drop-ins override the unit file: %s (systemctl set-property writes them; "
                            "`systemctl revert %s` removes them)" % (", ".join(drop_ins), self.name))
                result["mismatches"] = problems
                raise SliceError("the limits of %s did not take effect: %s.%s"
                                 % (self.name, describe_mismatches(problems), hint), **result)
        return result

    def _roll_back(self, raw, was_active):
        with contextlib.suppress(FileError):
            restore(self.unit_path, raw)
        self.systemctl("daemon-reload", allow_fail=True)
        if not was_active:
            self.systemctl("stop", self.name, allow_fail=True)

    def _absent(self, raw, props, active, result):
        actions = []
        try:
            tasks = int(props.get("TasksCurrent") or 0)
        except ValueError:
            tasks = 0
        if active and tasks > 0 and tasks < (1 << 63) - 1:
            raise SliceError("%s still holds %d tasks (containers run in it); stop them, or point dockerd's "
                             "cgroup-parent elsewhere, before removing the slice" % (self.name, tasks), **result)
        if raw is not None:
            actions += ["remove %s" % self.unit_path, "systemctl daemon-reload"]
        if active:
            actions.append("systemctl stop %s" % self.name)
        result.update(actions=actions, changed=bool(actions), unsupported=[], files={}, properties={})
        if self.module.check_mode or not actions:
            return result
        if active:
            self.systemctl("stop", self.name)
        if raw is not None:
            try:
                restore(self.unit_path, None)
            except FileError as exc:
                raise SliceError(str(exc), **result) from None
            self.systemctl("daemon-reload")
        return result


# --------------------------------------------------------------------------
# cgroupfs: a directory in each hierarchy, limits written by hand
# --------------------------------------------------------------------------

class CgroupfsGroup:
    """A cgroup directory with limit files, for hosts where PID 1 is not systemd."""

    def __init__(self, module, path, limits, hierarchy, exclusive=False):
        self.module = module
        self.path = path
        self.limits = limits
        self.hierarchy = hierarchy
        self.version = hierarchy.get("version")
        self.exclusive = exclusive
        complete = dict(DEFAULT_LIMITS)
        complete.update(limits)
        every_row, unsupported = limit_files(complete, self.version)
        # The group is made in every controller its limits use (memory, cpu, pids), named or not. A limit the
        # task does not give is left as the files hold it, or, exclusive, set back to the kernel's default.
        self.controllers = {row["controller"] for row in every_row}
        self.rows = every_row if exclusive else [row for row in every_row if row["limit"] in limits]
        self.unsupported = [key for key in unsupported if key in limits]

    def dirs(self):
        dirs = cgroup_dirs(self.path)
        if self.version != HIERARCHY_V2:
            needed = self.controllers
            missing = sorted(controller for controller in needed if controller not in dirs)
            asked = sorted({row["limit"] for row in self.rows
                            if row["controller"] in missing and row["limit"] in self.limits})
            if asked:
                raise SliceError("limits.%s: the %s controller is not mounted on this host, so the limit cannot "
                                 "be set; leave it out" % (asked[0], ", ".join(missing)))
            self.rows = [row for row in self.rows if row["controller"] in dirs]
            return {controller: dirs[controller] for controller in needed if controller in dirs}
        return dirs

    def _v2_enable(self):
        """(file, '+cpu +memory ...') writes that enable the controllers down to the group's parent."""
        top = self.hierarchy["unified_mount"].rstrip("/")
        available = set((_read_text(top + "/cgroup.controllers") or "").split())
        wanted = [c for c in V2_CONTROLLERS if c in available]
        writes = []
        directory = top
        for part in [p for p in self.path.split("/") if p][:-1] + [None]:
            subtree = set((_read_text(directory + "/cgroup.subtree_control") or "").split())
            missing = [c for c in wanted if c not in subtree]
            if missing:
                writes.append((directory + "/cgroup.subtree_control", " ".join("+" + c for c in missing)))
            if part is None:
                break
            directory = directory + "/" + part
        return writes

    def run(self, state="present", verify=True):
        dirs = self.dirs()
        result = {
            "changed": False,
            "manager": "cgroupfs",
            "state": state,
            "unit_path": None,
            "cgroup_parent": self.path,
            "cgroup_path": self.path,
            "limits": self.limits,
            "unsupported": self.unsupported,
            "kept_limits": [] if self.exclusive else [key for key in LIMIT_NAMES if key not in self.limits],
            "removed_limits": [],
            "actions": [],
            "created": False,
            "properties": {},
        }
        missing_dirs = sorted({d for d in dirs.values() if not os.path.isdir(d)})
        if state == "absent":
            # In every hierarchy, not only its own controllers': dockerd makes its cgroup-parent in each.
            present = sorted({d for d in cgroup_dirs(self.path).values() if os.path.isdir(d)}, key=len, reverse=True)
            result.update(actions=["rmdir %s" % d for d in present], changed=bool(present), files={})
            if not self.module.check_mode:
                for directory in present:
                    try:
                        os.rmdir(directory)
                    except OSError as exc:
                        hint = " (processes still run in it)" if exc.errno == errno.EBUSY else ""
                        raise SliceError("cannot remove %s: %s%s" % (directory, exc.strerror or exc, hint),
                                         **result) from None
            return result

        enable = self._v2_enable() if self.version == HIERARCHY_V2 else []
        before, _problems = _verify_files(self.rows, dirs)
        writes = []
        for row in self.rows:
            path = os.path.join(dirs.get(row["controller"], dirs.get("")), row["file"])
            if before.get(path) is None or not file_value_matches(row["file"], row["value"], before[path]):
                writes.append((path, row["value"]))
        actions = ["write %s to %s" % (value, path) for path, value in enable]
        actions += ["mkdir %s" % d for d in missing_dirs]
        actions += ["write %s to %s" % (value, path) for path, value in writes]
        reset = {row["limit"] for row in self.rows if row["limit"] not in self.limits
                 and os.path.join(dirs.get(row["controller"], dirs.get("")), row["file"]) in dict(writes)}
        result.update(actions=actions, changed=bool(actions), created=bool(missing_dirs),
                      removed_limits=[key for key in LIMIT_NAMES if key in reset and not missing_dirs])
        if self.module._diff:
            result["diff"] = {
                "before": "".join("%s = %s\n" % (p, before.get(p)) for p, _v in writes),
                "after": "".join("%s = %s\n" % (p, v) for p, v in writes),
                "before_header": self.path, "after_header": self.path,
            }
        if self.module.check_mode or not actions:
            result["files"] = before
            if verify and not self.module.check_mode:
                self._verify(result, dirs)
            return result

        done = []
        try:
            for path, value in enable:
                _write_text(path, value)
            for directory in missing_dirs:
                try:
                    os.makedirs(directory)
                except OSError as exc:
                    raise SliceError("cannot create %s: %s" % (directory, exc.strerror or exc)) from None
            for path, value in writes:
                _write_text(path, value)
                done.append(path)
            if verify:
                self._verify(result, dirs)
            else:
                result["files"] = _verify_files(self.rows, dirs)[0]
        except SliceError as exc:
            self._roll_back(before, done, missing_dirs)
            result.update(exc.result, rolled_back=True, changed=True)
            raise SliceError("%s. The previous limits were restored." % exc, **result) from None
        return result

    def _verify(self, result, dirs):
        values, problems = _verify_files(self.rows, dirs)
        result["files"] = values
        if problems:
            result["mismatches"] = problems
            raise SliceError("the limits of %s did not take effect: %s" % (self.path, describe_mismatches(problems)),
                             **result)

    def _roll_back(self, before, written, created):
        for path in reversed(written):
            if before.get(path) is not None:
                with contextlib.suppress(SliceError):
                    _write_text(path, before[path])
        for directory in sorted(created, key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
