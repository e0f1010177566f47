"""The one masking rule: secret-named keys, URL credentials, changed secrets, no_log_values."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import (
    CHANGED_MASK,
    MASK,
    diff_pair,
    is_secret_name,
    mask_urls,
    redact,
    secret_values,
)


@pytest.mark.parametrize("name", ["DB_PASS", "AWS_CREDENTIALS", "splunk-token", "MYSQL_ROOT_PASSWORD", "passwd",
                                  "apiKey", "client_secret", "X_AUTH", "private_data"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "max-size", "memory", "registry-mirrors", "LANG"])
def test_plain_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize("url, shown", [
    ("http://user:s3cret@proxy:3128", "http://user:%s@proxy:3128" % MASK),
    ("http://user:pa/ss@proxy:3128", "http://user:%s@proxy:3128" % MASK),
    ("https://tok3n@mirror.example.com/v2/", "https://%s@mirror.example.com/v2/" % MASK),
    ("http://u:p@ss:w@rd@host/x", "http://u:%s@host/x" % MASK),
    ("https://mirror.example.com/path@v1", "https://mirror.example.com/path@v1"),
    ("no url here", "no url here"),
])
def test_mask_urls(url, shown):
    assert mask_urls(url) == shown


def test_mask_urls_in_a_sentence_keeps_the_rest():
    text = "mirror 'http://a:b1b2@[bad' is not a URL; see https://docs.example.com"
    assert "b1b2" not in mask_urls(text)
    assert mask_urls(text).endswith("see https://docs.example.com")


def test_redact_nested():
    value = {"log-opts": {"splunk-token": "abcd-1234", "max-size": "10m"},
             "proxies": {"http-proxy": "http://u:pw@p:3128"},
             "env": ["DB_PASS=hunter22", "LANG=C"], "debug": True}
    shown = redact(value)
    assert shown == {"log-opts": {"splunk-token": MASK, "max-size": "10m"},
                     "proxies": {"http-proxy": "http://u:%s@p:3128" % MASK},
                     "env": ["DB_PASS=%s" % MASK, "LANG=C"], "debug": True}
    assert value["log-opts"]["splunk-token"] == "abcd-1234"  # a copy


def test_diff_pair_marks_a_changed_secret():
    before, after = diff_pair({"DB_PASSWORD": "old", "API_TOKEN": "same"}, {"DB_PASSWORD": "new", "API_TOKEN": "same"})
    assert before == {"DB_PASSWORD": MASK, "API_TOKEN": MASK}
    assert after == {"DB_PASSWORD": CHANGED_MASK, "API_TOKEN": MASK}


def test_secret_values_for_no_log():
    params = {"env": {"DB_PASS": "hunter22", "LANG": "C"}, "client_key": "/etc/pki/key.pem",
              "settings": {"proxies": {"https-proxy": "http://u:pa/ss@p:3128"}},
              "driver_options": {"password": "vol-pass"}, "labels": ["app.token=tok123"], "tls": True}
    assert secret_values(params, skip_keys=("client_key",)) == {"hunter22", "pa/ss", "vol-pass", "tok123"}
