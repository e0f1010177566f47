"""What the container module returns of a container: community.docker's inspect, secrets masked."""

from ansible_collections.dockhand.runtime.plugins.module_utils.container.state import plan, summary

INSPECT = {
    "Id": "c" * 64, "Name": "/web", "Image": "sha256:" + "a" * 64, "RestartCount": 0,
    "State": {"Status": "running", "Running": True, "ExitCode": 0, "Health": {"Status": "healthy"}},
    "Config": {"Image": "nginx:1.27", "Env": ["PATH=/usr/bin", "DB_PASSWORD=s3cret", "URL=http://u:pw99@db/x"],
               "Labels": {"team": "web", "api_token": "t0ken"}},
    "HostConfig": {"Memory": 268435456, "LogConfig": {"Type": "splunk", "Config": {
        "splunk-token": "spl-t0ken", "splunk-url": "https://u:pw77@splunk.lan", "tag": "web"}}},
}


def test_the_inspect_comes_back_as_community_docker_returns_it_with_the_short_keys_beside():
    shown = summary(INSPECT)
    assert shown["State"]["Running"] is True and shown["HostConfig"]["Memory"] == 268435456
    assert shown["Config"]["Image"] == "nginx:1.27" and shown["Id"] == "c" * 64
    assert (shown["id"], shown["name"], shown["running"], shown["health"]) == ("c" * 64, "web", True, "healthy")


def test_secrets_in_env_labels_and_urls_are_masked_and_the_inspect_is_not_touched():
    shown = summary(INSPECT)
    assert shown["Config"]["Env"] == ["PATH=/usr/bin", "DB_PASSWORD=********", "URL=http://u:********@db/x"]
    assert shown["Config"]["Labels"] == {"team": "web", "api_token": "********"}
    assert shown["HostConfig"]["LogConfig"]["Config"] == {
        "splunk-token": "********", "splunk-url": "https://u:********@splunk.lan", "tag": "web"}
    assert "s3cret" in INSPECT["Config"]["Env"][1]  # a copy was masked
    assert summary(None) is None


def running(paused=False):
    return {"Id": "c" * 64, "Image": "sha256:i", "State": {"Running": True, "Paused": paused}, "Config": {},
            "HostConfig": {}}


def test_paused_pauses_or_resumes_a_started_container_and_unset_leaves_it():
    assert plan("started", running(), {}, "sha256:i", {}, paused=True).actions == ["paused"]
    assert plan("started", running(True), {}, "sha256:i", {}, paused=True).actions == []
    assert plan("started", running(True), {}, "sha256:i", {}, paused=False).actions == ["unpaused"]
    assert plan("started", running(True), {}, "sha256:i", {}).actions == []
    assert plan("started", None, {}, "sha256:i", {}, paused=True).actions == ["created", "started", "paused"]
    recreated = plan("started", running(True), {}, "sha256:new", {}, paused=True)
    assert recreated.actions == ["recreated", "started", "paused"]  # the new container starts unpaused
    assert plan("stopped", running(), {}, "sha256:i", {}, paused=True).actions == ["stopped"]
