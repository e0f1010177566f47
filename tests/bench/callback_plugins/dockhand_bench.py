# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: one JSON line per task start and per task result, with a monotonic clock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: dockhand_bench
type: aggregate
short_description: Time every task for tests/bench/noop.py
description:
  - Writes one JSON object per task start and per task result to the file named by E(DOCKHAND_BENCH_FILE).
requirements:
  - enabled with E(ANSIBLE_CALLBACKS_ENABLED)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "dockhand_bench"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, entry):
        path = os.environ.get("DOCKHAND_BENCH_FILE")
        if path:
            entry["t"] = time.monotonic()
            with open(path, "a") as handle:
                handle.write(json.dumps(entry) + "\n")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._write({"event": "start", "task": task.get_name()})

    def _result(self, status, result):
        self._write({"event": "result", "task": result._task.get_name(), "status": status,
                     "changed": bool(result._result.get("changed")),
                     "msg": str(result._result.get("msg", ""))[:500]})

    def v2_runner_on_ok(self, result):
        self._result("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)
