"""ProtectedModule: the host's "Invoked with" log line hides secrets found by key name, not only no_log options."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule

SECRET = "S3cretPw!x9"
ARGS = {"mirrors": [{"url": "http://cache.lan:5000", "auth": {"username": "fleet", "password": SECRET}},
                    "http://plain.lan"],
        "env": {"DB_PASSWORD": SECRET + "-env", "LEVEL": "debug"}}
SPEC = {"mirrors": {"type": "list", "elements": "raw"}, "env": {"type": "dict"}}


def logged(module_class, monkeypatch):
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": ARGS})))
    if hasattr(basic, "_ANSIBLE_PROFILE"):  # ansible-core 2.19 decodes the arguments by a named profile
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    lines = []
    monkeypatch.setattr(module_class, "log", lambda self, msg, log_args=None: lines.append((msg, log_args)))
    module = module_class(argument_spec=SPEC)
    return module, json.dumps(lines)


def test_plain_ansible_module_logs_the_secrets(monkeypatch):
    """The premise: AnsibleModule alone writes them to the host's journal."""
    _module, text = logged(basic.AnsibleModule, monkeypatch)
    assert SECRET in text


def test_the_invocation_line_hides_them(monkeypatch):
    module, text = logged(ProtectedModule, monkeypatch)
    assert SECRET not in text and "Invoked with" in text
    assert "http://plain.lan" in text and "debug" in text  # the rest is logged as before
    # what the results mask is still decided by redact.protect, called by the module itself
    assert SECRET not in module.no_log_values and SECRET + "-env" not in module.no_log_values


@pytest.fixture(autouse=True)
def _no_syslog(monkeypatch):
    monkeypatch.setattr(basic, "has_journal", False)
    monkeypatch.setattr(basic.syslog, "openlog", lambda *a, **k: None, raising=False)
    monkeypatch.setattr(basic.syslog, "syslog", lambda *a, **k: None, raising=False)
