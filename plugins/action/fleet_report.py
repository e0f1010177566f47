# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockhand.runtime.fleet_report: writes the fleet report (HTML, Markdown, JSON) on the controller from what
playbooks/report.yml gathered on each host. Nothing runs on a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.dockhand.runtime.plugins.plugin_utils.report.model import ReportError, build_report
from ansible_collections.dockhand.runtime.plugins.plugin_utils.report.render import to_html, to_markdown

_BASENAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
OPTIONS = ("hosts", "dest", "expected", "title", "basename")


def _same_report(path, report):
    """Whether the JSON report at ``path`` says the same as ``report``, its time aside."""
    try:
        with open(path) as handle:
            old = json.load(handle)
    except (OSError, ValueError):
        return False
    if not isinstance(old, dict):
        return False
    return dict(old, generated_at=None) == dict(report, generated_at=None)


def _write(path, text):
    """Replace ``path`` atomically (a temporary file in the same directory, then a rename)."""
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(prefix=".fleet-report-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(OPTIONS)
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        try:
            dest, basename = self._check(args)
            now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            report = build_report(args.get("hosts"), expected=args.get("expected"), generated_at=now,
                                  title=args.get("title"))
        except ReportError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        paths = {kind: os.path.join(dest, basename + suffix)
                 for kind, suffix in (("html", ".html"), ("markdown", ".md"), ("json", ".json"))}
        result.update(paths)
        result["summary"] = report["summary"]
        unchanged = all(os.path.exists(path) for path in paths.values()) and _same_report(paths["json"], report)
        result["changed"] = not unchanged
        if unchanged or self._task.check_mode:
            return result
        try:
            os.makedirs(dest, exist_ok=True)
            _write(paths["html"], to_html(report))
            _write(paths["markdown"], to_markdown(report))
            _write(paths["json"], json.dumps(report, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            result.update(failed=True, changed=False,
                          msg="dest: cannot write the report in %s on the controller: %s" % (dest, exc.strerror or exc))
        return result

    @staticmethod
    def _check(args):
        dest = args.get("dest")
        if not isinstance(dest, str) or not dest.strip():
            raise ReportError("dest: give the directory on the controller to write the report in")
        dest = os.path.abspath(os.path.expanduser(dest))
        if os.path.exists(dest) and not os.path.isdir(dest):
            raise ReportError("dest: %s is a file; give a directory" % dest)
        basename = args.get("basename") or "fleet-report"
        if not isinstance(basename, str) or not _BASENAME_RE.fullmatch(basename):
            raise ReportError("basename: %r is not a file name; write letters, digits, '.', '_' and '-' (the report "
                              "is written as <basename>.html, .md and .json)" % (basename,))
        title = args.get("title")
        if title is not None and (not isinstance(title, str) or "\n" in title or len(title) > 200):
            raise ReportError("title: give one line of text, at most 200 characters")
        return dest, basename
