"""state healthy: the failure message when the wait runs out, in community.docker's words."""

from ansible_collections.dockhand.runtime.plugins.module_utils.container.task import not_healthy_message

CID = "c" * 64


def details(status, health, log=()):
    return {"state": {"status": status, "exit_code": 0, "error": None, "health": health, "health_log": list(log)},
            "logs": ""}


def test_a_running_container_out_of_time_gets_community_dockers_words():
    text = not_healthy_message("web", {"Id": CID}, details("running", "starting"), 1.0)
    assert text.startswith('Timeout of 1.0 seconds exceeded while waiting for container "%s"' % CID)
    assert "(it is starting)" in text


def test_the_last_health_check_output_is_kept():
    text = not_healthy_message("web", {"Id": CID}, details("running", "unhealthy", ["curl: refused"]), 5.0)
    assert text.endswith("last health check output: curl: refused")


def test_an_exited_container_says_it_exited():
    text = not_healthy_message("web", {"Id": CID}, details("exited", None), 5.0)
    assert "exited with code 0" in text and not text.startswith("Timeout")
