"""dockhand.runtime.warn: a real [WARNING] line, and a clear error for an empty message."""

from conftest import assert_no_traceback, local_play


def test_warns_and_goes_on(run_playbook):
    run = run_playbook(local_play([
        {"name": "warn", "dockhand.runtime.warn": {"msg": "set cgroups_verify_image to an image your mirrors serve"}},
        {"name": "after", "ansible.builtin.debug": {"msg": "still here"}}]))
    assert run.rc == 0, str(run)
    assert "[WARNING]: set cgroups_verify_image to an image your mirrors serve" in run.output
    assert run.result("warn")["changed"] is False
    assert run.status("after") == "ok"


def test_an_empty_message_is_refused(run_playbook):
    run = run_playbook(local_play([{"name": "warn", "dockhand.runtime.warn": {"msg": "  "}}]))
    assert run.rc != 0
    assert run.result("warn")["msg"] == "msg: give the warning's text, a non-empty string"
    assert_no_traceback(run)
