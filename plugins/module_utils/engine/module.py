# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module glue every module shares: no traceback reaches a user. No engine client in here.

Host-only modules (cgroups, kernel command line, package sources, probes) import this
and nothing of the Engine API client, so their payload stays small.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback


class ReportedError(Exception):
    """A failure meant for the user: the message says what happened and what to change.

    ``result_key`` names the key under which :meth:`to_dict`'s data goes into the
    failed result (EngineError puts its endpoint, status and daemon message under
    ``engine_error``).
    """

    result_key = None

    def to_dict(self):
        return {}


class OptionError(ReportedError):
    """A task's option has a value the module refuses; the message names the option and what to change."""


def fail_with(module, exc, **result):
    """Fail the module with a ReportedError's message, and its data under its result key."""
    if exc.result_key:
        result[exc.result_key] = exc.to_dict()
    module.fail_json(msg=str(exc), **result)


def run_module(module, body):
    """Run ``body(module)`` and exit with its result; no traceback reaches the user.

    ``body`` returns the result dict (with ``changed``). A ReportedError (an
    EngineError among them) becomes a failure with its message; any other
    exception becomes a failure that says it is a bug, with the traceback only in
    ``exception`` (shown by ansible-playbook at -vvv).
    """
    try:
        result = body(module)
    except ReportedError as exc:
        fail_with(module, exc)
    except Exception as exc:  # noqa: BLE001 - last line of defence, reported as a bug
        module.fail_json(
            msg="dockhand.runtime hit an unexpected error (%s: %s). This is a bug; please report "
                "it with the task that triggered it." % (type(exc).__name__, exc),
            exception=traceback.format_exc())
    module.exit_json(**result)
