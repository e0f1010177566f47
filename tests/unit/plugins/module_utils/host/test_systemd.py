"""Parsing what systemctl show prints; controlling a unit."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import (
    Unit,
    UnitError,
    bus_path,
    daemon_reload,
    exact_exec_start,
    parse_exec_start,
    parse_show,
    process_running,
    unit_info,
)

EXEC_START = ("{ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// "
              "--containerd=/run/containerd/containerd.sock --label \"a b\" ; ignore_errors=no ; "
              "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }")


def test_exec_start_argv():
    assert parse_exec_start(EXEC_START) == [[
        "/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock",
        "--label", "a b"]]


def test_exec_start_empty_and_several():
    assert parse_exec_start("") == []
    two = "{ path=/bin/a ; argv[]=/bin/a -x ; } ; { path=/bin/b ; argv[]=/bin/b ; }"
    assert parse_exec_start(two) == [["/bin/a", "-x"], ["/bin/b"]]


def test_parse_show_keeps_equals_in_values():
    assert parse_show("A=1\nExecStart={ argv[]=x --y=z ; }\n") == {"A": "1", "ExecStart": "{ argv[]=x --y=z ; }"}


def test_unit_info_from_command_output():
    out = "LoadState=loaded\nActiveState=active\nSubState=running\nFragmentPath=/lib/systemd/system/docker.service\n" \
          "DropInPaths=/etc/systemd/system/docker.service.d/a.conf /etc/systemd/system/docker.service.d/b.conf\n" \
          "ExecStart=%s\nMainPID=812\n" % EXEC_START
    calls = []

    def run_command(args):
        calls.append(args)
        return 0, out, ""
    info = unit_info(run_command, "docker.service")
    assert calls[0][:3] == ["systemctl", "show", "docker.service"]
    assert info["loaded"] and info["active_state"] == "active" and info["main_pid"] == 812
    assert info["exec_start"][0] == "/usr/sbin/dockerd"
    assert len(info["drop_in_paths"]) == 2


def test_unit_info_not_found_unit():
    out = ("LoadState=not-found\nActiveState=inactive\nSubState=dead\nFragmentPath=\nDropInPaths=\n"
           "ExecStart=\nMainPID=0\n")
    info = unit_info(lambda args: (0, out, ""), "docker.service")
    assert info["loaded"] is False and info["exec_start"] == [] and info["main_pid"] is None
    assert unit_info(lambda args: (1, "", "no systemctl"), "docker.service") is None


def test_bus_path():
    assert bus_path("docker.service") == "/org/freedesktop/systemd1/unit/docker_2eservice"
    assert bus_path("1a-b@c.service") == "/org/freedesktop/systemd1/unit/_31a_2db_40c_2eservice"


def test_exact_exec_start_reads_busctl_json():
    answer = ('{"type":"a(sasbttttuii)","data":[["/usr/sbin/dockerd",["/usr/sbin/dockerd","-H","fd://",'
              '"--label","a b=c"],false,0,0,0,0,0,0,0]]}')
    calls = []

    def run_command(argv):
        calls.append(argv)
        return 0, answer, ""
    argv = exact_exec_start(run_command, "docker.service")
    assert argv == ["/usr/sbin/dockerd", "-H", "fd://", "--label", "a b=c"]
    assert calls[0][-3:] == ["/org/freedesktop/systemd1/unit/docker_2eservice", "org.freedesktop.systemd1.Service",
                             "ExecStart"]
    assert exact_exec_start(lambda argv: (1, "", "no bus"), "docker.service") is None
    assert exact_exec_start(lambda argv: (0, '{"data": []}', ""), "docker.service") is None
    assert exact_exec_start(lambda argv: (0, "not json", ""), "docker.service") is None


class Systemctl:
    """A run_command that records the commands and answers as told (rc, out, err per verb)."""

    def __init__(self, answers=None):
        self.calls = []
        self.answers = answers or {}

    def __call__(self, argv):
        self.calls.append(argv)
        return self.answers.get(argv[1] if argv[0] == "systemctl" else argv[0], (0, "", ""))


def test_unit_commands_say_what_failed_in_systemctls_words():
    run = Systemctl({"restart": (1, "", "Job for containerd.service failed.\nSee journalctl -xeu\n")})
    unit = Unit(run, "containerd.service")
    with pytest.raises(UnitError) as caught:
        unit.restart(reset_failed=True)
    assert str(caught.value) == ("systemctl restart containerd.service failed: Job for containerd.service failed.\n"
                                 "See journalctl -xeu")
    assert caught.value.output.startswith("Job for")
    assert run.calls == [["systemctl", "reset-failed", "containerd.service"],
                         ["systemctl", "restart", "containerd.service"]]
    assert unit.reload() == "" and run.calls[-1] == ["systemctl", "reload", "containerd.service"]
    assert unit.stop(check=False) == "" and Unit(Systemctl({"stop": (5, "x", "")}), "a").stop(check=False) == "x"
    with pytest.raises(UnitError, match="^systemctl daemon-reload failed: no bus$"):
        daemon_reload(Systemctl({"daemon-reload": (1, "no bus", "")}))


def test_unit_journal_and_its_tail():
    run = Systemctl({"journalctl": (0, "line one\nline two\n", "")})
    unit = Unit(run, "crio.service")
    assert unit.journal(5, since=1700000000.7) == "line one\nline two"
    assert run.calls[-1] == ["journalctl", "-u", "crio.service", "-n", "5", "--no-pager", "--output", "cat",
                             "--since", "@1700000000"]
    assert unit.journal_tail() == "\nLast lines of the crio.service journal:\nline one\nline two"
    assert Unit(Systemctl({"journalctl": (1, "x", "")}), "crio.service").journal_tail() == ""
    assert Unit(Systemctl({"journalctl": (0, " \n", "")}), "crio.service").journal_tail() == ""


def test_unit_state():
    show = "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\n"
    unit = Unit(Systemctl({"show": (0, show, "")}), "containerd.service")
    assert unit.active_state() == "failed" and unit.is_active() is False
    assert Unit(Systemctl({"show": (1, "", "")}), "x.service").active_state() is None


def test_a_service_without_systemd_is_found_by_its_process_name():
    with open("/proc/self/comm") as handle:
        own = handle.read().strip()
    assert process_running(own) is True
    assert process_running("dh-no-such-process") is False
    assert process_running(own, proc="/nonexistent") is False
