"""container_info's pure parts: the label filter and the result shape."""

from ansible_collections.dockhand.runtime.plugins.modules.container_info import (
    from_inspect,
    from_listing,
    label_filter,
    seconds_since,
)


def test_label_filter_matches_values_as_strings_and_presence_for_null():
    assert label_filter({"b": None, "a": "x", "n": 1, "t": True}) == ["a=x", "b", "n=1", "t=true"]


def test_listing_and_inspect_give_the_same_shape():
    listed = from_listing({"Id": "abc123", "Names": ["/web"], "Image": "busybox:1.36", "ImageID": "sha256:1",
                           "State": "running", "Labels": {"k": "v"}})
    inspected = from_inspect({"Id": "abc123", "Name": "/web", "Image": "sha256:1",
                              "Config": {"Image": "busybox:1.36", "Labels": {"k": "v"}},
                              "State": {"Status": "running", "Running": True, "Pid": 4242}})
    same = {"id": "abc123", "name": "web", "image": "busybox:1.36", "image_id": "sha256:1",
            "state": "running", "running": True, "labels": {"k": "v"}}
    # the listing carries neither the PID nor the health, restarts and start time
    assert listed == dict(same, pid=None, health=None, restart_count=None, started_at=None, uptime_seconds=None)
    assert inspected == dict(same, pid=4242, health=None, restart_count=0, started_at=None, uptime_seconds=None)


def test_inspect_gives_health_restarts_and_uptime_while_it_runs():
    now = 1764547200  # 2025-12-01T00:00:00Z
    state = {"Status": "running", "Running": True, "Pid": 9, "StartedAt": "2025-11-30T22:59:30.123456789Z",
             "Health": {"Status": "unhealthy"}}
    running = from_inspect({"Id": "a", "Name": "/a", "RestartCount": 3, "State": state}, now=now)
    assert (running["health"], running["restart_count"], running["uptime_seconds"]) == ("unhealthy", 3, 3630)
    stopped = from_inspect({"Id": "b", "Name": "/b", "State": dict(state, Running=False, Status="exited")}, now=now)
    assert stopped["uptime_seconds"] is None and stopped["started_at"] == state["StartedAt"]


def test_seconds_since_reads_engine_times():
    now = 1764547200
    assert seconds_since("2025-11-30T23:59:00Z", now) == 60
    assert seconds_since("2025-11-30T23:59:00.5Z", now) == 60
    assert seconds_since("0001-01-01T00:00:00Z", now) is None  # the engine's "never"
    assert seconds_since("", now) is None and seconds_since("yesterday", now) is None
    assert seconds_since("2025-12-01T00:00:10Z", now) == 0  # a host clock behind: never negative


def test_inspect_gives_the_main_process_id_and_0_when_stopped():
    running = from_inspect({"Id": "a", "Name": "/a", "State": {"Status": "running", "Running": True, "Pid": 77}})
    stopped = from_inspect({"Id": "b", "Name": "/b", "State": {"Status": "exited", "Running": False, "Pid": 0}})
    created = from_inspect({"Id": "c", "Name": "/c", "State": {"Status": "created"}})
    assert (running["pid"], stopped["pid"], created["pid"]) == (77, 0, 0)


def test_listing_of_a_stopped_container_without_labels():
    entry = from_listing({"Id": "0123456789abcdef", "Names": None, "State": "exited", "Labels": None})
    assert entry["name"] == "0123456789ab" and entry["running"] is False and entry["labels"] == {}
