"""Mirrors as data: the model, its messages, and each runtime's renderer, read back (round trips)."""

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import deep_merge
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import (
    CRI_REGISTRY_TABLES,
    DEFAULT_CAPABILITIES,
    MirrorError,
    TomlError,
    check_docker_registry,
    check_podman_registry,
    config_path_dirs,
    containerd_host,
    containerd_major,
    containerd_server,
    docker_change,
    dotted_key,
    dropin_name,
    loads,
    mirrors_from_docker,
    normalise_mirror,
    normalise_mirrors,
    normalise_registry,
    parse_hosts_toml,
    parse_registries_dropin,
    parse_toml,
    plan_config_path,
    podman_mirror,
    registries_conf_v1_tables,
    render_hosts_toml,
    render_registries_dropin,
    scheme_typo,
    shown_url,
    toml_string,
)

CERTS = "/etc/containerd/certs.d"

# -- the mirror model ------------------------------------------------------------------


def test_a_url_string_gets_every_default():
    assert normalise_mirror("https://mirror.example.com") == {
        "url": "https://mirror.example.com", "insecure": False, "skip_verify": False, "ca_file": None,
        "capabilities": ["pull", "resolve"], "override_path": False}


@pytest.mark.parametrize("given, url", [
    ("https://Mirror.Example.COM/", "https://mirror.example.com"),
    ("  http://10.0.0.5:5000//  ", "http://10.0.0.5:5000"),
    ("HTTPS://mirror.example.com/Some/Path/", "https://mirror.example.com/Some/Path"),
    ("http://[fd00::1]:5000", "http://[fd00::1]:5000"),
])
def test_urls_are_normalised(given, url):
    assert normalise_mirror(given)["url"] == url


def test_a_dict_keeps_its_options_and_converts_booleans():
    mirror = normalise_mirror({"url": "https://m.example.com", "insecure": "yes", "skip_verify": 0,
                               "ca_file": "/etc/ssl/m.pem", "capabilities": ["resolve", "pull", "push"],
                               "override_path": "true"})
    assert mirror == {"url": "https://m.example.com", "insecure": True, "skip_verify": False,
                      "ca_file": "/etc/ssl/m.pem", "capabilities": ["pull", "resolve", "push"], "override_path": True}
    assert normalise_mirror({"url": "https://m.example.com", "capabilities": "pull, resolve"})["capabilities"] == \
        ["pull", "resolve"]


@pytest.mark.parametrize("value, words", [
    ("mirror.example.com", ["mirrors[0]", "no scheme", "https://mirror.example.com"]),
    ("ftp://mirror.example.com", ["mirrors[0]", "scheme must be http or https"]),
    ("https://user:s3cret@mirror.example.com", ["mirrors[0]", "credentials", "registry_login"]),
    ("https://mirror.example.com/?token=1", ["query string"]),
    ("https://mirror.example.com/#top", ["fragment"]),
    ("https://", ["no host name"]),
    ("https://mirror.example.com:99999", ["not a valid URL"]),
    ("https://mirror example.com", ["white space"]),
    ("https://mirror.example.com/\nTrusted: yes", ["mirrors[0]", "control characters"]),
    ("https://user:s3cret/x@mirror.example.com", ["mirrors[0]", "credentials", "user:********@"]),
    ("https://s3cret@mirror.example.com", ["credentials", "********@mirror.example.com"]),
    ("http//user:s3cret@172.17.0.3:5001", ["credentials", "http//********@172.17.0.3:5001"]),
    ({"url": "https://user:s3cret@m.example.com", "insecur": True}, ["did you mean insecure?", "user:********@"]),
    ("", ["has no url"]),
    (42, ["mirrors[0] must be a URL string or a dict"]),
    ({"insecure": True}, ["has no url", "{url: https://mirror.example.com"]),
    ({"url": "https://m.example.com", "skipverify": True}, ["unknown key skipverify", "did you mean skip_verify?"]),
    ({"url": "https://m.example.com", "insecure": "maybe"}, ["mirrors[0] (https://m.example.com).insecure",
                                                             "true or false", "maybe"]),
    ({"url": "http://m.example.com", "ca_file": "/etc/ca.pem"}, ["ca_file applies to https mirrors only"]),
    ({"url": "https://m.example.com", "ca_file": "ca.pem"}, ["ca_file must be an absolute path"]),
    ({"url": "https://m.example.com", "capabilities": ["pull", "fetch"]}, ["'fetch' unknown", "pull, resolve, push"]),
    ({"url": "https://m.example.com", "capabilities": []}, ["non-empty list"]),
])
def test_bad_mirrors_are_named_with_what_to_change(value, words):
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors([value])
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert "s3cret" not in message


def test_every_problem_is_reported_at_once_and_repeats_are_refused():
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors(["https://a.example.com", "b.example.com", "https://A.example.com/", "ftp://c"])
    message = str(caught.value)
    assert "mirrors[1]" in message and "no scheme" in message
    assert "mirrors[2] (https://a.example.com) repeats mirrors[0]" in message
    assert "mirrors[3]" in message and "ftp" in message


@pytest.mark.parametrize("given, meant", [
    ("http//172.17.0.3:5001", "http://172.17.0.3:5001"),
    ("http:/172.17.0.3:5001", "http://172.17.0.3:5001"),
    ("https;//mirror.example.com", "https://mirror.example.com"),
    ("htp://mirror.example.com", "http://mirror.example.com"),
    ("htps://mirror.example.com/path", "https://mirror.example.com/path"),
    ("http:mirror.lan:5000", "http://mirror.lan:5000"),
    ("HTTP///mirror.lan", "http://mirror.lan"),
    ("http:\\\\mirror.lan", "http://mirror.lan"),
])
def test_a_mangled_scheme_is_recognised_with_the_url_it_meant(given, meant):
    assert scheme_typo(given) == meant
    with pytest.raises(MirrorError) as caught:
        normalise_mirrors([given])
    message = str(caught.value)
    assert "mangled scheme: write %s" % meant in message, message
    assert "https://http" not in message


@pytest.mark.parametrize("given", [
    "http://mirror.lan", "HTTPS://mirror.lan:5000", "mirror.example.com", "mirror.lan:5000", "localhost:5000",
    "ftp://mirror.lan", "registry:5000", "https://", 42, None,
])
def test_what_is_not_a_mangled_scheme(given):
    assert scheme_typo(given) is None


def test_urls_are_shown_without_credentials():
    assert shown_url("https://u:pa/ss@m.lan/x") == "https://u:********@m.lan/x"
    assert shown_url("u:pass@m.lan:5000") == "u:********@m.lan:5000"
    assert shown_url("https://m.lan/x") == "https://m.lan/x"


def test_mirrors_may_be_empty_or_one_string():
    assert normalise_mirrors(None) == []
    assert normalise_mirrors("https://m.example.com")[0]["url"] == "https://m.example.com"


@pytest.mark.parametrize("given, registry", [
    ("docker.io", "docker.io"), ("index.docker.io", "docker.io"), ("registry-1.docker.io", "docker.io"),
    ("Quay.IO", "quay.io"), (" registry.example.com:5000 ", "registry.example.com:5000"), ("_default", "_default"),
    ("[fd00::1]:5000", "[fd00::1]:5000"), ("localhost", "localhost"),
])
def test_registries_are_normalised(given, registry):
    assert normalise_registry(given) == registry


@pytest.mark.parametrize("given, words", [
    ("https://quay.io", "without a scheme (quay.io)"),
    ("docker.io/library", "without a path (docker.io)"),
    ("registry.example.com:70000", "not host[:port]"),
    ("-bad-.example.com", "not host[:port]"),
    ("", "registry must be"),
    (None, "registry must be"),
])
def test_bad_registries(given, words):
    with pytest.raises(MirrorError) as caught:
        normalise_registry(given)
    assert words in str(caught.value)


# -- Docker ----------------------------------------------------------------------------

def mirrors(*values):
    return normalise_mirrors(list(values))


def apply(document, settings):
    return deep_merge(document, settings)


def test_docker_refuses_other_registries_and_says_where_to_go():
    assert check_docker_registry("docker.io") is None
    message = check_docker_registry("quay.io")
    assert "only apply to pulls from Docker Hub (docker.io)" in message
    assert "runtime: containerd" in message and "runtime: podman" in message


def test_docker_present_sets_the_list_and_insecure_hosts():
    before = {"debug": True, "insecure-registries": ["10.0.0.0/8"]}
    change = docker_change(before, mirrors("http://hub.lan:5000", {"url": "https://m.lan", "insecure": True}))
    assert change == {"registry-mirrors": ["http://hub.lan:5000", "https://m.lan"],
                      "insecure-registries": ["10.0.0.0/8", "m.lan"]}


def test_docker_present_is_idempotent_even_with_a_trailing_slash_in_the_file():
    before = {"registry-mirrors": ["http://hub.lan:5000/"], "insecure-registries": ["hub.lan:5000"]}
    assert docker_change(before, mirrors({"url": "http://hub.lan:5000", "insecure": True})) == {}


def test_docker_switch_drops_the_old_mirrors_insecure_entry_and_keeps_others():
    before = {"registry-mirrors": ["https://old.lan"], "insecure-registries": ["old.lan", "build.lan:5000"]}
    settings = docker_change(before, mirrors("https://new.lan"))
    assert settings == {"registry-mirrors": ["https://new.lan"], "insecure-registries": ["build.lan:5000"]}


def test_docker_a_mirror_that_stops_being_insecure_loses_its_entry():
    before = {"registry-mirrors": ["https://m.lan"], "insecure-registries": ["m.lan"]}
    # an emptied list is written as [], since dockerd's reload ignores a missing key
    assert docker_change(before, mirrors("https://m.lan")) == {"insecure-registries": []}


def test_docker_absent_without_a_list_removes_all_mirrors_and_their_entries():
    before = {"registry-mirrors": ["https://a.lan", "https://b.lan"], "insecure-registries": ["a.lan", "x.lan"],
              "log-driver": "journald"}
    change = docker_change(before, [], state="absent")
    assert change == {"registry-mirrors": [], "insecure-registries": ["x.lan"]}
    assert apply(before, change) == {"registry-mirrors": [], "insecure-registries": ["x.lan"],
                                     "log-driver": "journald"}
    assert docker_change(apply(before, change), [], state="absent") == {}


def test_docker_absent_with_a_list_removes_only_those():
    before = {"registry-mirrors": ["https://a.lan/", "https://b.lan"], "insecure-registries": ["a.lan", "b.lan"]}
    change = docker_change(before, mirrors("https://a.lan"), state="absent")
    assert apply(before, change) == {"registry-mirrors": ["https://b.lan"], "insecure-registries": ["b.lan"]}
    assert docker_change({}, [], state="absent") == {}
    assert docker_change({"debug": False}, mirrors("https://a.lan"), state="absent") == {}


def test_docker_tolerates_odd_values_already_in_the_file():
    before = {"registry-mirrors": "https://a.lan", "insecure-registries": [7, "a.lan"]}
    settings = docker_change(before, mirrors("https://b.lan"))
    assert settings == {"registry-mirrors": ["https://b.lan"], "insecure-registries": [7]}
    assert mirrors_from_docker({"registry-mirrors": [None, "https://c.lan/"]}) == [
        {"url": "https://c.lan", "insecure": False}]


hosts = st.sampled_from(["a.lan", "b.lan:5000", "10.1.2.3", "mirror.example.com", "[fd00::1]:80"])
mirror_values = st.builds(
    lambda scheme, host, path, insecure, skip: {"url": "%s://%s%s" % (scheme, host, path), "insecure": insecure,
                                                "skip_verify": skip},
    st.sampled_from(["http", "https"]), hosts, st.sampled_from(["", "/", "/v2/proxy"]), st.booleans(), st.booleans())
mirror_lists = st.lists(mirror_values, max_size=4, unique_by=lambda m: m["url"].rstrip("/"))
user_insecure = st.lists(st.sampled_from(["build.lan:5000", "10.0.0.0/8", "registry.internal"]), max_size=2,
                         unique=True)


@settings(max_examples=200, deadline=None)
@given(mirror_lists, mirror_lists, user_insecure)
def test_docker_round_trip_and_idempotence(first, second, extra):
    old, new = normalise_mirrors(first), normalise_mirrors(second)
    document = {"log-driver": "json-file", "insecure-registries": list(extra)}
    document = apply(document, docker_change(document, old))
    assert [m["url"] for m in mirrors_from_docker(document)] == [m["url"] for m in old]
    document = apply(document, docker_change(document, new))
    if new:
        seen = mirrors_from_docker(document)
        assert [m["url"] for m in seen] == [m["url"] for m in new]
        # a mirror reads back as insecure exactly when some mirror on its host is insecure
        for mirror in seen:
            host = mirror["url"].split("://")[1].split("/")[0]
            expected = any(m["insecure"] or m["skip_verify"] for m in new if m["url"].split("://")[1].split("/")[0]
                           == host) or host in extra
            assert mirror["insecure"] == expected
    assert docker_change(document, new) == {}  # a re-run changes nothing
    assert document["log-driver"] == "json-file"
    for entry in extra:  # entries that are no mirror's host are never taken out
        assert entry in document.get("insecure-registries", [])
    document = apply(document, docker_change(document, [], state="absent"))
    assert document.get("registry-mirrors", []) == [] and mirrors_from_docker(document) == []
    assert sorted(document.get("insecure-registries", [])) == sorted(extra)


# -- a small TOML reader, checked against tomllib -----------------------------------------

TOML_SAMPLES = [
    "",
    "# only a comment\n\n",
    'a = "x"\nb = \'lit\\eral\'\nc = 1_000\nd = 0x1F\nd2 = -17\nd3 = +0.5\n',
    'e = 0o17\nf = 0b101\ng = 3.5e2\nh = inf\ni = true\nj = -inf\nk = 0\nl = 1e-3\n',
    'esc = "tab\\t quote\\" back\\\\ nl\\n u\\u00e9 U\\U0001F600"\n',
    'ml = """\nline one\n  line two \\\n    joined"""\nlit = \'\'\'\nraw \\n text\'\'\'\n',
    'quotes = """a ""quoted"" word"""\nends = """x"""""\n',
    'arr = [\n  "a", # a comment, with ] and [\n  "b",\n]\nnested = [[1, 2], ["x"]]\nempty = []\n',
    'inline = { a = 1, b.c = "d", "e f" = [true] }\n',
    '[t]\nx.y.z = 1\n"quoted key" = 2\n\'lit key\' = 3\n[t.sub]\nw = 4\n',
    '[[arr]]\nname = "one"\n[[arr]]\nname = "two"\n[arr.detail]\nk = 1\n',
    'a = 1\r\n[b]\r\nc = "d"\r\n',
    '  [ spaced . "table" ]  # comment\n  key = "v"  # trailing\n',
    'a.b = 1\n[a.c]\nd = 2\n',
    'k = "no final newline"',
]


@pytest.mark.parametrize("text", TOML_SAMPLES)
def test_parse_toml_agrees_with_tomllib(text):
    assert loads(text) == tomllib.loads(text)


def test_dates_are_kept_as_text():
    assert loads("d = 1979-05-27T07:32:00Z\nt = 07:32:00\nday = 1979-05-27\n") == {
        "d": "1979-05-27T07:32:00Z", "t": "07:32:00", "day": "1979-05-27"}


@pytest.mark.parametrize("text, words", [
    ('a = "open\n', "line 1"),
    ("a = 1\na = 2\n", "line 2, column 1: a is set twice"),
    ("[t]\n[t]\n", "table [t] is defined twice"),
    ("a = nope\n", "expected a value"),
    ("a = -0x1F\n", "expected a value"),
    ("a = 017\n", "expected a value"),
    ("a = 1__0\n", "expected a value"),
    ("a 1\n", "expected = after the key a"),
    ("[t\n", "expected ] to close the table header"),
    ("a = 1 b = 2\n", "expected the end of the line"),
    ("a = [1, 2\n", "expected , or ] in an array"),
    ('a = "\\q"\n', "unknown escape \\q"),
    ("a = 1\n[a]\n", "not a table"),
    ('x = """never closed\n', "multi-line string is not closed"),
])
def test_toml_errors_name_the_place(text, words):
    with pytest.raises(TomlError) as caught:
        loads(text, "/etc/x.toml")
    assert words in str(caught.value) and "/etc/x.toml" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_toml_string_round_trips_any_text(value):
    text = "k = %s\n" % toml_string(value)
    assert loads(text) == {"k": value} == tomllib.loads(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3))
def test_dotted_key_round_trips(path):
    assert loads("%s = 1\n" % dotted_key(path)) == tomllib.loads("%s = 1\n" % dotted_key(path))
    entries = parse_toml("%s = 1\n" % dotted_key(path))[1]
    assert entries[0]["path"] == tuple(path)


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
                                "skip_verify": False, "ca": "/a.pem", "override_path": False}]


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


# -- Podman and CRI-O: registries.conf.d -------------------------------------------------

def test_dropin_for_docker_hub():
    text = render_registries_dropin("docker.io", [podman_mirror(m) for m in mirrors(
        "http://hub.lan:5000", "https://m.lan/cache", {"url": "https://x.lan", "skip_verify": True})])
    data = tomllib.loads(text)
    assert data == {"registry": [{"prefix": "docker.io", "location": "docker.io", "mirror": [
        {"location": "hub.lan:5000", "insecure": True},
        {"location": "m.lan/cache"},
        {"location": "x.lan", "insecure": True}]}]}


@settings(max_examples=200, deadline=None)
@given(mirror_lists, st.sampled_from(["docker.io", "quay.io", "registry.lan:5000"]))
def test_dropin_round_trip(values, registry):
    wanted = [podman_mirror(m) for m in normalise_mirrors(values)]
    text = render_registries_dropin(registry, wanted)
    assert parse_registries_dropin(text) == [{"prefix": registry, "location": registry, "mirrors": wanted}]
    assert loads(text) == tomllib.loads(text)
    for entry in wanted:
        assert "://" not in entry["location"]


def test_dropin_names_are_safe_file_names():
    assert dropin_name("docker.io") == "50-dockhand-docker.io.conf"
    assert dropin_name("registry.lan:5000") == "50-dockhand-registry.lan_5000.conf"
    assert dropin_name("[fd00::1]:5000") == "50-dockhand-_fd00__1__5000.conf"


def test_podman_has_no_default_registry():
    assert "containerd only" in check_podman_registry("_default")
    assert check_podman_registry("docker.io") is None


def test_v1_registries_conf_is_reported():
    message = registries_conf_v1_tables('[registries.search]\nregistries = ["docker.io"]\n', "/etc/r.conf")
    assert "/etc/r.conf uses the old v1 format ([registries.search])" in message
    assert registries_conf_v1_tables('unqualified-search-registries = ["docker.io"]\n') is None
    assert registries_conf_v1_tables("# all commented out\n") is None
    assert registries_conf_v1_tables("not [ toml") is None


def test_defaults_are_the_documented_ones():
    assert list(DEFAULT_CAPABILITIES) == ["pull", "resolve"]
