"""Kernel arguments on a command line and in /etc/default/grub."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.cgroups.kernel_cmdline import (
    CmdlineError,
    arg_value,
    check_args,
    grub_variable,
    set_args,
    set_grub_variable,
    split_args,
)

UNIFIED = {"systemd.unified_cgroup_hierarchy": "1"}

GRUB = """# If you change this file, run 'update-grub' afterwards to update
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
"""


def test_split_keeps_quoted_values():
    assert split_args('a=1 b="x y"  c') == ["a=1", 'b="x y"', "c"]


def test_arg_value_last_wins_and_bare_flags():
    assert arg_value("a=1 quiet a=2", "a") == "2"
    assert arg_value("quiet", "quiet") == ""
    assert arg_value("quiet", "a") is None


def test_set_args_appends_replaces_and_removes():
    assert set_args("quiet splash", UNIFIED) == "quiet splash systemd.unified_cgroup_hierarchy=1"
    assert set_args("systemd.unified_cgroup_hierarchy=0 quiet", UNIFIED) == "systemd.unified_cgroup_hierarchy=1 quiet"
    assert set_args("a=1 b a=2", {"a": "3"}) == "a=3 b"
    assert set_args("a=1 b", None, ["a"]) == "b"
    assert set_args("", {"nosmt": None}) == "nosmt"


def test_grub_edit_keeps_everything_else():
    text, before, after = set_grub_variable(GRUB, "GRUB_CMDLINE_LINUX", UNIFIED)
    assert before == "console=ttyS0,115200 net.ifnames=0"
    assert after == "console=ttyS0,115200 net.ifnames=0 systemd.unified_cgroup_hierarchy=1"
    assert text == GRUB.replace('net.ifnames=0"', 'net.ifnames=0 systemd.unified_cgroup_hierarchy=1"')
    assert grub_variable(text, "GRUB_CMDLINE_LINUX") == after
    assert grub_variable(text, "GRUB_CMDLINE_LINUX_DEFAULT") == "quiet"


def test_grub_edit_is_idempotent():
    once, _b, _a = set_grub_variable(GRUB, "GRUB_CMDLINE_LINUX", UNIFIED)
    twice, before, after = set_grub_variable(once, "GRUB_CMDLINE_LINUX", UNIFIED)
    assert twice == once and before == after


def test_grub_without_the_variable_gets_a_line():
    text, before, after = set_grub_variable("GRUB_TIMEOUT=5", "GRUB_CMDLINE_LINUX", UNIFIED)
    assert before is None and after == "systemd.unified_cgroup_hierarchy=1"
    assert text == 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="systemd.unified_cgroup_hierarchy=1"\n'


def test_grub_single_quotes_unquoted_and_last_assignment():
    text, _b, _a = set_grub_variable("GRUB_CMDLINE_LINUX='quiet'\n", "GRUB_CMDLINE_LINUX", UNIFIED)
    assert text == "GRUB_CMDLINE_LINUX='quiet systemd.unified_cgroup_hierarchy=1'\n"
    text, _b, _a = set_grub_variable("GRUB_CMDLINE_LINUX=quiet\n", "GRUB_CMDLINE_LINUX", UNIFIED)
    assert text == 'GRUB_CMDLINE_LINUX="quiet systemd.unified_cgroup_hierarchy=1"\n'
    text, _b, _a = set_grub_variable('GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX="b"\n', "GRUB_CMDLINE_LINUX",
                                     UNIFIED)
    assert text == 'GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX="b systemd.unified_cgroup_hierarchy=1"\n'


def test_grub_keeps_variable_references_and_comments():
    text, _b, after = set_grub_variable('GRUB_CMDLINE_LINUX="$EXTRA quiet" # mine\n', "GRUB_CMDLINE_LINUX", UNIFIED)
    assert text == 'GRUB_CMDLINE_LINUX="$EXTRA quiet systemd.unified_cgroup_hierarchy=1" # mine\n'
    assert after.startswith("$EXTRA ")


@pytest.mark.parametrize("line", [
    'GRUB_CMDLINE_LINUX="quiet\n',
    'GRUB_CMDLINE_LINUX="`cat /x`"\n',
    'GRUB_CMDLINE_LINUX="a \\"b\\""\n',
    "GRUB_CMDLINE_LINUX=a b\n",
    'GRUB_CMDLINE_LINUX="a"; echo x\n',
])
def test_grub_refuses_what_it_cannot_edit_safely(line):
    with pytest.raises(CmdlineError, match="/etc/default/grub"):
        set_grub_variable(line, "GRUB_CMDLINE_LINUX", UNIFIED)


@pytest.mark.parametrize("args, remove", [({"a b": "1"}, []), ({"a": "x y"}, []), ({"a": "$(x)"}, []),
                                          ({}, ["a=b"])])
def test_check_args(args, remove):
    with pytest.raises(CmdlineError):
        check_args(args, remove)


@pytest.mark.parametrize("args, remove, words", [
    # a trailing newline passed the old `^...$` checks and added a line to the GRUB file
    ({"systemd.unified_cgroup_hierarchy\n": "1"}, [], "is not a kernel argument name"),
    ({"quiet\nGRUB_DISABLE_OS_PROBER": "true"}, [], "is not a kernel argument name"),
    ({"a": "1\nGRUB_DISABLE_RECOVERY=true"}, [], "without blanks, control characters"),
    ({"a": "1\r"}, [], "control characters"),
    ({"a": "1\x00"}, [], "control characters"),
    ({"a": "x\ty"}, [], "without blanks"),
    ({"a": 'x"y'}, [], "quotes"),
    ({"a": "x'y"}, [], "quotes"),
    ({"a": "x\\"}, [], "'\\'"),
    ({"a": "x`id`"}, [], "'`'"),
    ({"a": "caf\u00e9"}, [], "printable ASCII"),
    ({}, ["quiet\n"], "remove: 'quiet\\n' is not a kernel argument name"),
    ({1: "x"}, [], "is not a kernel argument name"),
])
def test_check_args_refuses_what_could_add_a_line_or_leave_the_quotes(args, remove, words):
    with pytest.raises(CmdlineError) as exc:
        check_args(args, remove)
    assert words in str(exc.value)


def test_check_args_takes_plain_values_whole():
    check_args({"systemd.unified_cgroup_hierarchy": "1", "console": "ttyS0,115200", "quiet": None,
                "root": "UUID=0a1b-2c3d", "rd.luks.options": "discard", "empty": ""}, ["splash"])
