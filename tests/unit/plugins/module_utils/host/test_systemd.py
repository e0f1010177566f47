"""Parsing what systemctl show prints."""

from ansible_collections.dockhand.runtime.plugins.module_utils.host.systemd import (
    bus_path,
    exact_exec_start,
    parse_exec_start,
    parse_show,
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
    assert exact_exec_start(run_command, "docker.service") == ["/usr/sbin/dockerd", "-H", "fd://", "--label",
                                                               "a b=c"]
    assert calls[0][-3:] == ["/org/freedesktop/systemd1/unit/docker_2eservice", "org.freedesktop.systemd1.Service",
                             "ExecStart"]
    assert exact_exec_start(lambda argv: (1, "", "no bus"), "docker.service") is None
    assert exact_exec_start(lambda argv: (0, '{"data": []}', ""), "docker.service") is None
    assert exact_exec_start(lambda argv: (0, "not json", ""), "docker.service") is None
