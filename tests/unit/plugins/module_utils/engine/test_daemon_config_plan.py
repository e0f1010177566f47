"""daemon_config's pure parts: what it refuses, what a drop-in may hold, which containers to start."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import (
    chosen_to_start,
    drop_in_text,
    exec_start_problem,
    input_problems,
    plain_tcp_hosts,
    stopped_since,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import (
    render,
    render_keeping,
    top_level_members,
)


@pytest.mark.parametrize("hosts, settings_extra, refused", [
    (["tcp://0.0.0.0:2375"], {}, ["tcp://0.0.0.0:2375"]),
    (["tcp://:2375"], {}, ["tcp://:2375"]),
    (["tcp://docker.example:2375"], {}, ["tcp://docker.example:2375"]),
    (["tcp://10.0.0.5:2376"], {"tls": True}, ["tcp://10.0.0.5:2376"]),  # TLS without client certificates
    (["tcp://[::]:2375", "unix:///var/run/docker.sock"], {}, ["tcp://[::]:2375"]),
    (["tcp://0.0.0.0:2376"], {"tlsverify": True}, []),
    (["tcp://127.0.0.1:2375", "tcp://localhost:2375", "tcp://[::1]:2375", "tcp://127.0.0.2"], {}, []),
    (["unix:///var/run/docker.sock", "fd://"], {}, []),
])
def test_plain_tcp_hosts(hosts, settings_extra, refused):
    assert plain_tcp_hosts(dict(settings_extra, hosts=hosts)) == refused


UNIT_ARGV = ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock", "$DOCKER_OPTS"]


def test_drop_in_of_the_packaged_unit():
    assert exec_start_problem(UNIT_ARGV, "docker.service") is None
    text = drop_in_text(UNIT_ARGV + ["--label=x=50%"], [{"flag": "-H", "value": "fd://", "key": "hosts"}])
    assert text.splitlines()[-3:] == [
        "[Service]", "ExecStart=",
        "ExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS --label=x=50%%"]


@pytest.mark.parametrize("word", ["a\nExecStartPre=/bin/sh", "two words", "it's", '"q"', "back\\slash", ";",
                                  "tab\there", "nul\x00", "del\x7f", "é"])
def test_exec_start_words_that_cannot_go_into_a_drop_in(word):
    problem = exec_start_problem(UNIT_ARGV + [word], "docker.service")
    assert problem and "docker.service" in problem


def test_exec_start_needs_an_absolute_program():
    assert "absolute path" in exec_start_problem(["dockerd", "-H", "fd://"], "docker.service")
    assert exec_start_problem([], "docker.service")


@pytest.mark.parametrize("path, unit, words", [
    ("/etc/docker/daemon.json\n", "docker.service", "path"),
    ("etc/docker/daemon.json", "docker.service", "path"),
    ("/etc/docker/daemon.json", "docker.service\nExecStartPre=/bin/sh", "unit"),
    ("/etc/docker/daemon.json", "../../tmp/x.service", "unit"),
    ("/etc/docker/daemon.json", "docker", "unit"),
])
def test_input_problems(path, unit, words):
    problems = input_problems(path, unit, 60, 3)
    assert len(problems) == 1 and problems[0].startswith(words)


def test_input_problems_of_numbers():
    assert input_problems("/etc/docker/daemon.json", "docker.service", 0, 0) == []
    assert len(input_problems("/etc/docker/daemon.json", "docker@x.service", -1, -1)) == 2


def test_containers_to_start():
    before = [("a" * 64, "web"), ("b" * 64, "db"), ("c" * 64, "cache")]
    now = [("b" * 64, "db")]
    stopped = stopped_since(before, now)
    assert stopped == [("a" * 64, "web"), ("c" * 64, "cache")]
    assert chosen_to_start(stopped, []) == []
    assert chosen_to_start(stopped, ["web", "db"]) == [("a" * 64, "web")]
    assert chosen_to_start(stopped, ["c" * 12]) == [("c" * 64, "cache")]
    assert chosen_to_start(stopped, ["c"]) == []  # a short prefix could name any container
    assert chosen_to_start(stopped, ["*"]) == stopped


ONE_LINE = '{"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "debug": false}'


def test_untouched_values_keep_their_formatting():
    after = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "debug": True,
             "registry-mirrors": ["http://m.example"]}
    text = render_keeping(ONE_LINE, after)
    assert '  "log-opts": {"max-size": "10m", "max-file": "3"},\n' in text
    assert '  "debug": true,\n' in text and '"registry-mirrors": [\n    "http://m.example"\n  ]' in text
    assert json.loads(text) == after


def test_canonical_files_stay_canonical():
    before = {"a": {"b": [1, 2]}, "c": "x"}
    after = {"a": {"b": [1, 2]}, "c": "y", "d": {"e": 1}}
    assert render_keeping(render(before), after) == render(after)


def test_tabs_are_kept():
    text = render_keeping('{\n\t"a": {"x": 1}\n}\n', {"a": {"x": 1}, "b": [1]})
    assert text == '{\n\t"a": {"x": 1},\n\t"b": [\n\t\t1\n\t]\n}\n'


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}', "[1]", '{"a": 1} trailing', "", '{"a": }', "nul"])
def test_odd_files_are_rewritten_canonically(text):
    assert top_level_members(text) is None
    assert render_keeping(text, {"a": 3}) == render({"a": 3})


def test_a_value_changed_only_in_type_is_rewritten():
    assert json.loads(render_keeping('{"a": 1}', {"a": True})) == {"a": True}
    assert render_keeping('{"a": 1}', {"a": True}) == render({"a": True})


values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                      lambda inner: (st.lists(inner, max_size=3) |
                                     st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                      max_leaves=8)
documents = st.dictionaries(st.text(max_size=6), values, max_size=5)


@settings(max_examples=200, deadline=None)
@given(documents, documents, st.sampled_from([None, 2, 4, "\t"]))
def test_render_keeping_always_reads_back_as_after(before, overlay, indent):
    text = json.dumps(before, indent=indent)
    after = dict(before, **overlay)
    kept = render_keeping(text, after)
    assert json.loads(kept) == after and list(json.loads(kept)) == list(after)
