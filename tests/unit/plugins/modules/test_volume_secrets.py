"""Secrets in volume driver options, and secret pairs in an engine's words."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import MASK, mask_pairs
from ansible_collections.dockhand.runtime.plugins.modules.volume import option_secrets


@pytest.mark.parametrize("options, secrets", [
    ({"type": "cifs", "device": "//nas/share", "o": "addr=10.0.0.5,username=u,password=p4ss/w0rd"}, {"p4ss/w0rd"}),
    ({"type": "nfs", "o": "addr=10.0.0.5,rw"}, set()),
    ({"secret_key": "k3y-value", "Token": 12345}, {"k3y-value", "12345"}),
    ({"o": "password=ab"}, set()),  # too short to mask everywhere (it would hide every "ab" in the output)
    (None, set()),
])
def test_option_secrets(options, secrets):
    assert option_secrets(options) == secrets


def test_mask_pairs_in_an_engine_message():
    said = ("error while mounting volume: mount tmpfs, data: size=1m,password=v0l-s3cret: invalid argument; "
            "token=abc DB_PASS=x https://u:pw@host/x")
    shown = mask_pairs({"msg": said, "engine_error": {"daemon_message": said}, "list": [said], "n": 3})
    for text in (shown["msg"], shown["engine_error"]["daemon_message"], shown["list"][0]):
        assert "v0l-s3cret" not in text and "abc" not in text and "pw@" not in text
        assert "size=1m,password=%s" % MASK in text and "DB_PASS=%s" % MASK in text
    assert shown["n"] == 3
    assert mask_pairs("max-size=10m,labels=a") == "max-size=10m,labels=a"
