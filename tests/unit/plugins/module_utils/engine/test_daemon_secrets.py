"""What daemon.json's helpers show of secrets: nothing."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import secret_keys
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import (
    redact_argv,
    schemeless_passwords,
    shown,
    validate,
)


@pytest.mark.parametrize("value", [
    "https://user:pa/ss@mirror.example",
    "https://user:p@ss/w@mirror.example/v2/",
    "user:pa/ss@mirror.example",
    "https://:pa/ss@mirror.example",
])
def test_mirror_credentials_never_in_a_message(value):
    problems = validate({"registry-mirrors": [value]})
    assert problems and "credentials" in problems[0]
    assert "pa/ss" not in problems[0] and "p@ss" not in problems[0]


def test_insecure_registry_with_credentials_is_refused_masked():
    problems = validate({"insecure-registries": ["user:s3cret@reg.example:5000"]})
    assert problems and "s3cret" not in problems[0]


def test_shown():
    assert shown("https://u:pa/ss@h.example") == "https://u:********@h.example"
    assert shown("u:pa/ss@h.example") == "********@h.example"
    assert shown("https://h.example/a@b") == "https://h.example/a@b"


def test_schemeless_passwords():
    settings = {"registry-mirrors": ["u:s3cret@m.example", "https://m.example"], "log-opts": {"tag": "a@b"}}
    assert schemeless_passwords(settings) == {"s3cret"}


def test_redact_argv():
    argv = ["/usr/bin/dockerd", "--log-opt", "splunk-token=T0ken", "--log-opt=splunk-token=T0ken",
            "--tlskey=/etc/docker/key.pem", "--registry-mirror=https://u:p/w@m.example", "-H", "fd://"]
    assert redact_argv(argv) == ["/usr/bin/dockerd", "--log-opt", "splunk-token=********",
                                 "--log-opt=splunk-token=********", "--tlskey=/etc/docker/key.pem",
                                 "--registry-mirror=https://u:********@m.example", "-H", "fd://"]


def test_secret_keys():
    settings = {"proxies": {"http-proxy": "http://u:p4ss@proxy:3128", "no-proxy": "localhost"},
                "log-opts": {"splunk-token": "t0ken", "max-size": "10m"},
                "tlskey": "/etc/docker/server-key.pem", "debug": True}
    assert secret_keys(settings) == {"proxies.http-proxy", "log-opts.splunk-token"}
    assert secret_keys({"log-driver": "json-file"}) == set()
