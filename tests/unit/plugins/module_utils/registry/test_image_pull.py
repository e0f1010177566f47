"""The words of a failed pull: which option, why, and what to do."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_pull import (
    Credentials,
    pull_error_message,
    pull_failure,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import parse_reference

REF = parse_reference("registry.example.com:5000/team/app:2.1")


def credentials(loaded=False, found=None, problem=None):
    """Credentials as a pull left them (no module needed: describe reads only what the load found)."""
    creds = Credentials(None, REF)
    creds._loaded = loaded
    creds.found = found
    creds.problem = problem
    creds.path = "/root/.docker/config.json"
    return creds


@pytest.mark.parametrize("status, said, why, advice", [
    (404, "manifest unknown", "no such repository, tag or digest", "Check the name, tag and digest in image."),
    (500, "Get http://x/v2/: dial tcp: connection refused", "cannot reach the registry registry.example.com:5000",
     "Check the registry host and port in image,"),
    (500, 'Get "https://x:5000/v2/": dial tcp: lookup x on 10.0.0.53:53: no such host',
     "cannot reach the registry registry.example.com:5000", "Check the registry host and port in image,"),
    (401, "unauthorized: authentication required", "the registry refused access", "registry_login"),
    (500, "something else", "the engine could not pull it", ""),
])
def test_pull_failure_names_the_option_and_the_cause(status, said, why, advice):
    text = pull_failure(REF, EngineError("no", status=status, daemon_message=said, kind="http"), credentials(),
                        option="image")
    assert text.startswith("cannot pull image registry.example.com:5000/team/app:2.1 (image): ")
    assert why in text and advice in text
    assert " in name" not in text


def test_pull_failure_in_check_mode_and_with_credentials():
    exc = EngineError("no", status=403, daemon_message="denied", kind="http")
    text = pull_failure(REF, exc, credentials(loaded=True, found=True), check_mode=True, option="name")
    assert text.startswith("image registry.example.com:5000/team/app:2.1 (name) would fail to pull")
    assert "The credentials stored for registry.example.com:5000 in /root/.docker/config.json were sent" in text
    text = pull_failure(REF, exc, credentials(loaded=True, found=False))
    assert "No credentials for registry.example.com:5000 were found" in text
    text = pull_failure(REF, exc, credentials(loaded=True, problem="config.json is not JSON"))
    assert "No credentials were sent: config.json is not JSON." in text


def test_pull_error_message_for_a_timeout_and_a_stream_error():
    slow = EngineError("no progress for 60 s", kind="timeout")
    assert "raise timeout" in pull_error_message(REF, slow, credentials(), option="image")
    stream = EngineError("manifest unknown", daemon_message="manifest unknown", kind="stream")
    assert "no such repository" in pull_error_message(REF, stream, credentials(), option="image")


def test_a_hub_pull_that_ends_on_an_unreachable_docker_io_blames_the_mirrors():
    hub = parse_reference("no-such-image:1")
    said = 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host'
    text = pull_failure(hub, EngineError("no", status=500, daemon_message=said, kind="http"), credentials(),
                        option="image", mirrors=["http://user:s3cret@cache.lan:5001/"])
    assert "registry mirrors (http://user:********@cache.lan:5001/) did not serve it" in text
    assert "Check the name, tag and digest in image" in text and "s3cret" not in text


TABLE = "/etc/dockhand/registry-mirrors.json"
GHCR = parse_reference("ghcr.io/org/app:1")
TRIED = [{"url": "http://user:s3cret@cache.lan:5011",
          "reason": "it did not name a digest for cache.lan:5011/org/app:1: manifest unknown"},
         {"url": "https://m.example.com/ghcr.io",
          "reason": "it serves sha256:aa, but the registry itself serves sha256:bb (a stale or wrong copy)"}]


def test_a_pull_through_the_table_that_ends_on_an_unreachable_registry_blames_the_mirrors():
    said = 'Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host'
    text = pull_failure(GHCR, EngineError("no", status=500, daemon_message=said, kind="http"), credentials(),
                        option="image", tried=TRIED, table=TABLE)
    assert text.startswith("cannot pull image ghcr.io/org/app:1 (image): the mirrors of Docker's rewrite table "
                           "/etc/dockhand/registry-mirrors.json did not serve it, and ghcr.io itself is unreachable")
    assert "The mirrors tried first: http://user:********@cache.lan:5011: it did not name a digest" in text
    assert "https://m.example.com/ghcr.io: it serves sha256:aa, but the registry itself serves sha256:bb" in text
    assert "s3cret" not in text


def test_a_missing_image_after_the_mirrors_names_them_too():
    text = pull_error_message(GHCR, EngineError("no", status=404, daemon_message="manifest unknown", kind="http"),
                              credentials(), option="name", tried=TRIED[1:], table=TABLE)
    assert "no such repository, tag or digest" in text and "The mirrors tried first: https://m.example.com" in text
    slow = pull_error_message(GHCR, EngineError("no progress for 60 s", kind="timeout"), credentials(),
                              tried=TRIED[1:], table=TABLE)
    assert "raise timeout" in slow and "the mirrors tried first: https://m.example.com/ghcr.io" in slow


def test_without_mirrors_tried_the_message_is_as_before():
    said = 'Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host'
    text = pull_failure(GHCR, EngineError("no", status=500, daemon_message=said, kind="http"), credentials())
    assert "the engine cannot reach the registry ghcr.io" in text and "tried" not in text
