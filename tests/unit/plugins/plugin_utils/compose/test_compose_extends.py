"""extends: within a file and across files, relative paths, cycles, unknown targets."""

import pytest

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.extends import rebase_paths, resolve_extends
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import parse_compose

OTHER_FILES = {
    "/p/common/base.yml": "services:\n  base:\n    image: alpine\n    env_file: base.env\n"
                          "    volumes: ['./conf:/conf', 'data:/data']\n    environment: [A=1]\n"
                          "  chained:\n    extends: {service: base}\n    user: '1000'\n"
                          "  outer:\n    extends: {file: ../deeper/d.yml, service: d}\n",
    "/p/deeper/d.yml": "services:\n  d: {image: deep, env_file: d.env}\n",
}


def load_file(path):
    if path not in OTHER_FILES:
        raise ComposeError("the compose file %s does not exist" % path)
    return parse_compose(OTHER_FILES[path], path), path


def resolve(text, directory="/p"):
    return resolve_extends(parse_compose(text, "/p/compose.yaml"), "/p/compose.yaml", directory, load_file)["services"]


def test_same_file_merges_the_base_under_the_service():
    services = resolve("services:\n  base: {image: a, environment: {A: '1'}, command: x}\n"
                       "  web:\n    extends: base\n    environment: {B: '2'}\n    command: y\n")
    assert services["web"] == {"image": "a", "environment": {"A": "1", "B": "2"}, "command": "y"}
    assert services["base"] == {"image": "a", "environment": {"A": "1"}, "command": "x"}


def test_mapping_form_without_file():
    assert resolve("services:\n  b: {image: a}\n  w: {extends: {service: b}}\n")["w"] == {"image": "a"}


def test_chain_of_extends():
    services = resolve("services:\n  a: {image: x, user: u}\n  b: {extends: a, init: true}\n  c: {extends: b}\n")
    assert services["c"] == {"image": "x", "user": "u", "init": True}


def test_other_file_relative_to_the_extending_file_with_paths_rebased():
    services = resolve("services:\n  web:\n    extends: {file: common/base.yml, service: base}\n"
                       "    environment: [B=2]\n")
    assert services["web"] == {"image": "alpine", "env_file": "/p/common/base.env",
                               "volumes": ["/p/common/conf:/conf", "data:/data"],
                               "environment": {"A": "1", "B": "2"}}


def test_other_file_service_that_extends_within_its_file():
    services = resolve("services:\n  web: {extends: {file: common/base.yml, service: chained}}\n")
    assert services["web"]["user"] == "1000"
    assert services["web"]["env_file"] == "/p/common/base.env"


def test_other_file_that_extends_a_third_file_relative_to_itself():
    services = resolve("services:\n  web: {extends: {file: common/base.yml, service: outer}}\n")
    assert services["web"] == {"image": "deep", "env_file": "/p/deeper/d.env"}


def test_unknown_service_is_refused():
    with pytest.raises(ComposeError) as caught:
        resolve("services:\n  web: {extends: nothere}\n")
    assert str(caught.value) == ("/p/compose.yaml: services.web.extends: extends names service 'nothere', which "
                                 "/p/compose.yaml does not define")


def test_unknown_service_in_the_other_file_is_refused():
    with pytest.raises(ComposeError, match="which /p/common/base.yml does not define"):
        resolve("services:\n  web: {extends: {file: common/base.yml, service: nope}}\n")


def test_missing_file_is_refused():
    with pytest.raises(ComposeError, match="/p/missing.yml does not exist"):
        resolve("services:\n  web: {extends: {file: missing.yml, service: a}}\n")


def test_cycle_is_refused_and_named():
    with pytest.raises(ComposeError, match=r"extends makes a cycle: a \(/p/compose.yaml\) -> b \(/p/compose.yaml\) "
                                           r"-> a \(/p/compose.yaml\)"):
        resolve("services:\n  a: {extends: b, image: x}\n  b: {extends: a}\n")


def test_relative_file_in_an_inline_definition_is_refused():
    with pytest.raises(ComposeError, match="give project_src or an absolute path"):
        resolve("services:\n  web: {extends: {file: common/base.yml, service: base}}\n", directory=None)


@pytest.mark.parametrize(("extends", "message"), [
    ("{file: x.yml}", "extends needs service"),
    ("{service: a, other: 1}", "key other is not part of extends"),
    ("[a]", "expected a service name or a mapping"),
])
def test_bad_extends(extends, message):
    with pytest.raises(ComposeError, match=message):
        resolve("services:\n  a: {image: x}\n  w: {extends: %s}\n" % extends)


def test_reset_in_the_extending_service_removes_the_inherited_key():
    services = resolve("services:\n  a: {image: x, ports: ['80:80']}\n  w:\n    extends: a\n    ports: !reset []\n")
    assert services["w"] == {"image": "x"}


def test_rebase_leaves_absolute_and_named_alone():
    service = {"env_file": [{"path": "e.env", "required": False}, "/abs.env"],
               "volumes": [{"type": "bind", "source": "./x", "target": "/x"}, "/h:/h", "named:/n"],
               "build": {"context": "./app"}}
    assert rebase_paths(service, "/o") == {
        "env_file": [{"path": "/o/e.env", "required": False}, "/abs.env"],
        "volumes": [{"type": "bind", "source": "/o/x", "target": "/x"}, "/h:/h", "named:/n"],
        "build": {"context": "/o/app"}}
