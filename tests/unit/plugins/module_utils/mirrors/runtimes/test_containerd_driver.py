"""containerd's driver, as data: hosts.toml rendered and read back, config_path added to config.toml."""

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st
from mirror_samples import mirror_lists, mirrors

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import normalise_mirror, normalise_mirrors
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.base import Refused
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.runtimes.containerd import (
    CRI_REGISTRY_TABLES,
    config_path_dirs,
    containerd_host,
    containerd_major,
    containerd_server,
    hosts_toml_after,
    parse_hosts_toml,
    plan_config_path,
    render_hosts_toml,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.toml import (
    TomlError,
    dotted_key,
    loads,
    toml_string,
)

CERTS = "/etc/containerd/certs.d"


# -- containerd: hosts.toml ------------------------------------------------------------

def test_hosts_toml_for_docker_hub():
    text = render_hosts_toml("docker.io", [containerd_host(m) for m in mirrors(
        "http://hub.lan:5000",
        {"url": "https://m.lan", "insecure": True, "ca_file": "/etc/ssl/m.pem", "capabilities": ["pull"]},
        {"url": "https://proxy.lan/v2/hub", "override_path": True})])
    data = tomllib.loads(text)
    assert data["server"] == "https://registry-1.docker.io"
    assert list(data["host"]) == ["http://hub.lan:5000", "https://m.lan", "https://proxy.lan/v2/hub"]
    assert data["host"]["http://hub.lan:5000"] == {"capabilities": ["pull", "resolve"]}
    assert data["host"]["https://m.lan"] == {"capabilities": ["pull"], "skip_verify": True, "ca": "/etc/ssl/m.pem"}
    assert data["host"]["https://proxy.lan/v2/hub"]["override_path"] is True
    assert text.startswith("# Written by dockhand.runtime")


def test_hosts_toml_server_per_registry():
    assert containerd_server("docker.io") == "https://registry-1.docker.io"
    assert containerd_server("quay.io") == "https://quay.io"
    assert containerd_server("_default") is None
    assert "server" not in tomllib.loads(render_hosts_toml("_default", []))


def test_insecure_http_mirror_needs_no_skip_verify():
    host = containerd_host(normalise_mirror({"url": "http://hub.lan:5000", "insecure": True}))
    assert host["skip_verify"] is False


@settings(max_examples=200, deadline=None)
@given(mirror_lists, st.sampled_from(["docker.io", "quay.io", "_default", "registry.lan:5000"]))
def test_hosts_toml_round_trip(values, registry):
    wanted = [containerd_host(m) for m in normalise_mirrors(values)]
    text = render_hosts_toml(registry, wanted)
    parsed = parse_hosts_toml(text)
    assert parsed == {"server": containerd_server(registry), "hosts": wanted}
    assert loads(text) == tomllib.loads(text)


def test_parse_hosts_toml_reads_containerd_defaults_and_ca_lists():
    parsed = parse_hosts_toml('[host."https://m.lan"]\n  ca = ["/a.pem", "/b.pem"]\n')
    assert parsed["server"] is None
    assert parsed["hosts"] == [{"url": "https://m.lan", "capabilities": ["pull", "resolve", "push"],
                                "skip_verify": False, "ca": "/a.pem", "client": None, "override_path": False,
                                "header": {}}]


def test_hosts_toml_absent_takes_out_only_the_listed_mirrors_and_keeps_the_server():
    before = render_hosts_toml("quay.io", [containerd_host(m) for m in mirrors("https://a.lan", "http://b.lan:5000")],
                               server="https://quay.internal")
    path = CERTS + "/quay.io/hosts.toml"
    after = hosts_toml_after("quay.io", mirrors("https://A.lan/"), "absent", path, before)
    assert parse_hosts_toml(after) == {"server": "https://quay.internal",
                                       "hosts": [containerd_host(m) for m in mirrors("http://b.lan:5000")]}
    assert hosts_toml_after("quay.io", mirrors("https://c.lan"), "absent", path, before) is before
    assert hosts_toml_after("quay.io", mirrors("https://a.lan", "http://b.lan:5000"), "absent", path, before) is None
    assert hosts_toml_after("quay.io", [], "absent", path, before) is None
    assert hosts_toml_after("quay.io", mirrors("https://a.lan"), "absent", path, None) is None
    with pytest.raises(Refused, match="hosts.toml: line 1.*state: absent and no mirrors list"):
        hosts_toml_after("quay.io", mirrors("https://a.lan"), "absent", path, "[host\n")


# -- containerd: config_path in config.toml ---------------------------------------------

DEBIAN_CONFIG = """version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
"""


def config_path_in(text, version):
    node = tomllib.loads(text)
    for part in CRI_REGISTRY_TABLES[version]:
        node = node[part]
    return node["config_path"]


def only_added_lines(before, after, added):
    """``after`` is ``before`` with exactly the lines ``added`` put in (every other byte kept)."""
    block = "".join(added)
    assert after.count(block) == 1
    assert after.replace(block, "", 1) in (before, before + "\n")


def test_debian_config_gets_the_table_after_its_siblings():
    plan = plan_config_path(DEBIAN_CONFIG, CERTS)
    assert plan["changed"] and plan["version"] == 2 and plan["conflicts"] == []
    assert plan["table"] == '[plugins."io.containerd.grpc.v1.cri".registry]'
    assert plan["text"] == DEBIAN_CONFIG.replace(
        '      conf_dir = "/etc/cni/net.d"\n',
        '      conf_dir = "/etc/cni/net.d"\n'
        '    [plugins."io.containerd.grpc.v1.cri".registry]\n'
        '      config_path = "/etc/containerd/certs.d"\n')
    assert config_path_in(plan["text"], 2) == CERTS
    again = plan_config_path(plan["text"], CERTS)
    assert again["changed"] is False and again["current"] == CERTS and again["text"] == plan["text"]


@pytest.mark.parametrize("text, major, version", [
    (None, None, 2), ("", 1, 2), ("", 2, 3), ("\n# nothing here yet\n", None, 2), ("# x", 2, 3),
])
def test_a_missing_or_empty_file_gets_a_version_and_the_table(text, major, version):
    plan = plan_config_path(text, CERTS, major=major)
    assert plan["changed"] and plan["version"] == version
    assert tomllib.loads(plan["text"])["version"] == version
    assert config_path_in(plan["text"], version) == CERTS
    assert plan["text"].startswith(text or "")


def test_version_3_uses_the_images_plugin():
    text = 'version = 3\n\n[plugins."io.containerd.cri.v1.runtime".containerd]\n  default_runtime_name = "runc"\n'
    plan = plan_config_path(text, CERTS)
    assert plan["table"] == '[plugins."io.containerd.cri.v1.images".registry]'
    assert config_path_in(plan["text"], 3) == CERTS
    only_added_lines(text, plan["text"], ["\n", '[plugins."io.containerd.cri.v1.images".registry]\n',
                                          '  config_path = "/etc/containerd/certs.d"\n'])


def test_a_file_without_version_is_version_1_for_containerd():
    text = 'root = "/var/lib/containerd"\n\n[plugins.cri]\n  sandbox_image = "pause:3.9"\n'
    plan = plan_config_path(text, CERTS)
    assert plan["version"] == 1 and plan["table"] == "[plugins.cri.registry]"
    assert config_path_in(plan["text"], 1) == CERTS
    assert "version" not in tomllib.loads(plan["text"])
    only_added_lines(text, plan["text"], ["  [plugins.cri.registry]\n",
                                          '    config_path = "/etc/containerd/certs.d"\n'])


def test_an_existing_registry_table_gets_one_line_under_its_header():
    text = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
            '  [plugins."io.containerd.grpc.v1.cri".registry.configs."gcr.io".auth]\n    username = "u"\n')
    plan = plan_config_path(text, CERTS)
    assert plan["text"] == text.replace(
        'registry]\n', 'registry]\n  config_path = "/etc/containerd/certs.d"\n', 1)
    assert plan["conflicts"] == []  # auth in configs is fine with config_path


def test_an_empty_config_path_is_filled_in_place_keeping_its_comment():
    text = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = ""   # set me\n'
    plan = plan_config_path(text, CERTS)
    assert plan["text"] == text.replace('""', '"/etc/containerd/certs.d"')


def test_a_config_path_already_set_is_left_alone():
    text = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\nconfig_path = "/etc/containerd/certs.d:/x"\n'
    plan = plan_config_path(text, CERTS)
    assert plan["changed"] is False and plan["text"] == text and plan["current"] == "/etc/containerd/certs.d:/x"
    assert config_path_dirs(plan["current"]) == ["/etc/containerd/certs.d", "/x"]


def test_registry_made_by_dotted_keys_gets_a_dotted_line():
    text = ('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause"\n'
            '  registry.configs."gcr.io".auth.username = "u"\n  enable_selinux = false\n')
    plan = plan_config_path(text, CERTS)
    only_added_lines(text, plan["text"], ['  registry.config_path = "/etc/containerd/certs.d"\n'])
    assert config_path_in(plan["text"], 2) == CERTS


def test_crlf_and_no_final_newline_are_kept():
    text = 'version = 2\r\n[plugins."io.containerd.grpc.v1.cri".registry]\r\n  x = 1'
    plan = plan_config_path(text, CERTS)
    assert plan["text"] == text.replace("registry]\r\n", 'registry]\r\n  config_path = "/etc/containerd/certs.d"\r\n')
    text = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  x = 1'
    plan = plan_config_path(text, CERTS)
    assert config_path_in(plan["text"], 2) == CERTS and plan["text"].startswith(text + "\n")


@pytest.mark.parametrize("text, words", [
    ('version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = ["https://m"]\n',
     "registry.mirrors], the old way"),
    ('version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.configs."m.lan".tls]\n  insecure_skip_verify = true\n',
     "configs.<registry>.tls] for m.lan"),
    ('[plugins.cri.registry.mirrors."docker.io"]\nendpoint = ["https://m"]\n', "[plugins.cri.registry.mirrors]"),
    ('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\nregistry = { config_path = "" }\n',
     "inline table or value (line 3)"),
    ('version = "2"\n', "is not a containerd config version"),
    ('version = 2\n[plugins]\n"io.containerd.grpc.v1.cri" = 5\n', "inline table or value"),
])
def test_config_toml_conflicts(text, words):
    plan = plan_config_path(text, CERTS)
    assert plan["changed"] is False and plan["text"] == text
    assert any(words in conflict for conflict in plan["conflicts"]), plan["conflicts"]


def test_config_toml_that_is_not_toml():
    with pytest.raises(TomlError) as caught:
        plan_config_path('version = 2\n[plugins\n', CERTS, source="/etc/containerd/config.toml")
    assert "/etc/containerd/config.toml: line 2" in str(caught.value)


# Random containerd configurations: after the edit, the data is the old data plus config_path.
simple_values = st.one_of(st.booleans(), st.integers(-1000, 1000), st.text(max_size=8),
                          st.lists(st.text(max_size=5), max_size=3))
names = st.sampled_from(["root", "state", "oom_score", "sandbox_image", "bin_dir", "a-b", "with space", "x.y"])
plugin_names = st.sampled_from(["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
                                "io.containerd.grpc.v1.cri\".x", "io.containerd.cri.v1.images"])
sub_names = st.sampled_from(["containerd", "cni", "registry", "registry\".configs", "containerd.runtimes.runc"])


@st.composite
def configs(draw):
    version = draw(st.sampled_from([None, 1, 2, 3]))
    lines, data = [], {}
    if version is not None:
        lines.append("version = %d" % version)
        data["version"] = version
    for key, value in draw(st.dictionaries(names, simple_values, max_size=3)).items():
        lines.append("%s = %s" % (dotted_key([key]), toml_value(value)))
        data[key] = value
    tables = draw(st.lists(st.tuples(plugin_names, sub_names, st.dictionaries(names, simple_values, max_size=2)),
                           max_size=4, unique_by=lambda t: (t[0], t[1])))
    for plugin, sub, values in tables:
        path = ["plugins", plugin] + sub.split('".')
        if plugin != "io.containerd.grpc.v1.cri" and "registry" in sub:
            continue
        lines.append("")
        lines.append("%s[%s]" % (draw(st.sampled_from(["", "  "])), dotted_key(path)))
        node = data
        for part in path:
            node = node.setdefault(part, {})
        for key, value in values.items():
            lines.append("  %s = %s  %s" % (dotted_key([key]), toml_value(value), draw(st.sampled_from(["", "# c"]))))
            node[key] = value
    return version, "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[%s]" % ", ".join(toml_string(item) for item in value)
    return toml_string(value)


@settings(max_examples=300, deadline=None)
@given(configs(), st.sampled_from([None, 1, 2]))
def test_config_path_edit_keeps_everything_else(config, major):
    version, text = config
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # the generator made a duplicate table; not a valid input
        return
    assert loads(text) == before
    plan = plan_config_path(text, CERTS, major=major)
    assert plan["conflicts"] == []
    after = tomllib.loads(plan["text"])
    used = plan["version"]
    assert config_path_in(plan["text"], min(used, 3)) == CERTS
    # take config_path (and the version a new file gets) out again: what is left is the old data
    node = after
    for part in CRI_REGISTRY_TABLES[min(used, 3)]:
        node = node[part]
    del node["config_path"]
    if before.get("version") is None and text.strip() == "":
        after.pop("version")
    for depth in range(3, 0, -1):
        node = after
        path = CRI_REGISTRY_TABLES[min(used, 3)]
        for part in path[:depth - 1]:
            node = node[part]
        if node[path[depth - 1]] == {} and not _has(before, path[:depth]):
            del node[path[depth - 1]]
    assert after == before
    if version is None and text.strip() and "=" in text:
        assert used == 1
    assert plan_config_path(plan["text"], CERTS)["changed"] is False


def _has(document, path):
    node = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.mark.parametrize("output, major", [
    ("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3", 1),
    ("containerd containerd.io 1.7.25 bcc810d6b9066471b0b6fa75f557a15a1cbf31bb", 1),
    ("containerd github.com/containerd/containerd/v2 v2.1.1 cb1076646aa3740577fafbf3d914198b7fe8e3f7", 2),
    ("", None), (None, None), ("containerd dev", None),
])
def test_containerd_major(output, major):
    assert containerd_major(output) == major
