"""The project from its sources: file discovery, env precedence, profiles, names, dependencies, masking.

The files are real files in a temporary directory, read by the action plugin's controller reader.
"""

import pytest

from ansible_collections.dockhand.runtime.plugins.action.compose import ControllerReader
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.project import (
    Request,
    build_project,
    dependency_cycle,
)

DEFAULT_NET = {"aliases": [], "ipv4_address": None, "ipv6_address": None}


@pytest.fixture
def project_dir(tmp_path):
    directory = tmp_path / "My_App.v2"
    directory.mkdir()
    return directory


def write(directory, name, text):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def build(**kwargs):
    return build_project(Request(**kwargs), ControllerReader())


def fails(message, **kwargs):
    with pytest.raises(ComposeError) as caught:
        build(**kwargs)
    assert str(caught.value) == message


# -- sources ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("present", "chosen"), [
    (["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"], "compose.yaml"),
    (["compose.yml", "docker-compose.yml"], "compose.yml"),
    (["docker-compose.yml", "docker-compose.yaml"], "docker-compose.yml"),
    (["docker-compose.yaml"], "docker-compose.yaml"),
])
def test_project_src_picks_compose_file_by_preference(project_dir, present, chosen):
    for name in present:
        write(project_dir, name, "services:\n  s: {image: %s}\n" % name)
    model, _warnings = build(project_src=str(project_dir))
    assert model["config_files"] == [str(project_dir / chosen)]
    assert model["services"]["s"]["image"] == chosen


def test_project_src_merges_the_override_file(project_dir):
    write(project_dir, "compose.yaml", "services:\n  web: {image: a, ports: ['80:80']}\n")
    write(project_dir, "compose.override.yaml", "services:\n  web: {image: b, ports: ['443:443']}\n")
    model, _warnings = build(project_src=str(project_dir))
    assert model["config_files"] == [str(project_dir / "compose.yaml"), str(project_dir / "compose.override.yaml")]
    assert model["services"]["web"]["image"] == "b"
    assert [p["target"] for p in model["services"]["web"]["ports"]] == [80, 443]


def test_project_src_without_a_compose_file(project_dir):
    fails("project_src: %s holds none of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml"
          % project_dir, project_src=str(project_dir))


def test_files_merge_in_order_relative_to_project_src(project_dir):
    write(project_dir, "base.yml", "services:\n  web: {image: a, environment: [A=1]}\n")
    write(project_dir, "prod/prod.yml", "services:\n  web: {image: b, environment: [B=2]}\n")
    model, _warnings = build(project_src=str(project_dir), files=["base.yml", "prod/prod.yml"])
    assert model["config_files"] == [str(project_dir / "base.yml"), str(project_dir / "prod/prod.yml")]
    assert model["services"]["web"]["environment"] == {"A": "1", "B": "2"}
    assert model["working_dir"] == str(project_dir)


def test_absolute_files_without_project_src_use_the_first_files_directory(project_dir):
    first = write(project_dir, "compose.yaml", "services:\n  web: {image: a, volumes: ['./d:/d']}\n")
    model, _warnings = build(files=[first])
    assert model["working_dir"] == str(project_dir)
    assert model["name"] == "my_appv2"
    assert model["services"]["web"]["volumes"][0]["source"] == str(project_dir / "d")


def test_relative_files_without_project_src_are_refused():
    fails("files: 'compose.yaml' is relative: give an absolute path, or a path relative to project_src together "
          "with project_src (the playbook's directory is not assumed)", files=["compose.yaml"])


def test_missing_file(project_dir):
    fails("the compose file %s/nope.yml does not exist" % project_dir, files=[str(project_dir / "nope.yml")])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give one of project_src, files or definition"),
    ({"files": ["/a.yml"], "definition": {}}, "give one of files and definition, not both (project_src may go with "
                                              "either)"),
    ({"project_src": "relative"}, "project_src: expected an absolute directory, got 'relative'"),
    ({"files": []}, "files: expected a non-empty list of paths"),
    ({"definition": 3, "project_name": "x"}, "definition: expected a mapping or a YAML string, got a integer"),
    ({"files": ["/a\n.yml"]}, "files: expected a path, got '/a\\n.yml'"),
])
def test_source_errors(kwargs, message):
    fails(message, **kwargs)


def test_definition_as_dict_and_as_yaml_string():
    as_dict, _warnings = build(definition={"services": {"web": {"image": "a"}}}, project_name="p")
    as_text, _warnings = build(definition="services:\n  web:\n    image: a\n", project_name="p")
    assert as_dict == as_text
    assert as_dict["working_dir"] is None
    assert as_dict["config_files"] == []


def test_definition_with_project_src_uses_its_env_and_directory(project_dir):
    write(project_dir, ".env", "TAG=3\n")
    model, _warnings = build(project_src=str(project_dir), definition={"services": {"w": {"image": "a:${TAG}"}}})
    assert model["services"]["w"]["image"] == "a:3"
    assert model["name"] == "my_appv2"
    assert model["config_files"] == []


# -- names -----------------------------------------------------------------------------------------------------
def test_name_rule_option_then_top_level_then_directory(project_dir):
    write(project_dir, "compose.yaml", "name: from-file\nservices:\n  s: {image: a}\n")
    assert build(project_src=str(project_dir), project_name="opt")[0]["name"] == "opt"
    assert build(project_src=str(project_dir))[0]["name"] == "from-file"
    write(project_dir, "compose.yaml", "services:\n  s: {image: a}\n")
    assert build(project_src=str(project_dir))[0]["name"] == "my_appv2"


def test_top_level_name_is_interpolated(project_dir):
    write(project_dir, "compose.yaml", "name: app-${ENV_NAME}\nservices:\n  s: {image: a}\n")
    assert build(project_src=str(project_dir), environment={"ENV_NAME": "prod"})[0]["name"] == "app-prod"


def test_directory_name_is_normalised(tmp_path):
    directory = tmp_path / "_-Web App!"
    directory.mkdir()
    write(directory, "compose.yaml", "services:\n  s: {image: a}\n")
    assert build(project_src=str(directory))[0]["name"] == "webapp"


def test_directory_with_no_usable_name(tmp_path):
    directory = tmp_path / "__"
    directory.mkdir()
    write(directory, "compose.yaml", "services:\n  s: {image: a}\n")
    fails("the project directory __ gives no project name once normalised (lower-case letters, digits, '_' and '-', "
          "starting with a letter or a digit): give project_name", project_src=str(directory))


@pytest.mark.parametrize("name", ["Upper", "-lead", "a b", "a.b", "", "ok\n"])
def test_invalid_given_names_are_refused_not_altered(name):
    with pytest.raises(ComposeError, match="is not a valid project name"):
        build(definition={"services": {}}, project_name=name)


def test_definition_without_a_name_asks_for_project_name():
    fails("an inline definition without a top-level name: needs project_name: give project_name (lower-case "
          "letters, digits, '_' and '-', starting with a letter or a digit)", definition={"services": {}})


# -- the interpolation environment -----------------------------------------------------------------------------
def test_precedence_task_environment_over_env_file(project_dir):
    write(project_dir, ".env", "A=dotenv\nB=dotenv\nC=dotenv\n")
    write(project_dir, "compose.yaml", "services:\n  s:\n    image: x\n    labels: [a=$A, b=$B, c=$C]\n")
    model, _warnings = build(project_src=str(project_dir), environment={"A": "task"})
    assert model["services"]["s"]["labels"] == {"a": "task", "b": "dotenv", "c": "dotenv"}


def test_env_files_replace_dotenv_later_ones_win(project_dir):
    write(project_dir, ".env", "A=dotenv\nB=dotenv\n")
    write(project_dir, "one.env", "A=one\nC=one\n")
    write(project_dir, "two.env", "C=two\nD=${A}-two\n")
    write(project_dir, "compose.yaml", "services:\n  s:\n    image: x\n    labels: [a=$A, b=$B, c=$C, d=$D]\n")
    model, warnings = build(project_src=str(project_dir), env_files=["one.env", "two.env"])
    assert model["services"]["s"]["labels"] == {"a": "one", "b": "", "c": "two", "d": "one-two"}
    assert warnings == ["the variable B is not set: it was replaced by an empty string"]


def test_dotenv_sees_the_task_environment(project_dir):
    write(project_dir, ".env", "URL=http://${HOST:-localhost}/\n")
    write(project_dir, "compose.yaml", "services:\n  s: {image: x, environment: [URL]}\n")
    model, _warnings = build(project_src=str(project_dir), environment={"HOST": "db"})
    assert model["services"]["s"]["environment"] == {"URL": "http://db/"}


def test_env_files_relative_without_project_src_are_refused(project_dir):
    fails("env_files: 'a.env' is relative: give an absolute path, or a path relative to project_src together with "
          "project_src (the playbook's directory is not assumed)",
          definition={"services": {}}, project_name="p", env_files=["a.env"])


def test_missing_env_files_entry(project_dir):
    write(project_dir, "compose.yaml", "services: {}\n")
    fails("env_files: the file %s/none.env does not exist" % project_dir, project_src=str(project_dir),
          env_files=["none.env"])


def test_required_variable_error_names_file_and_path(project_dir):
    path = write(project_dir, "compose.yaml", "services:\n  s:\n    image: x\n    environment:\n"
                                              "      DB: ${DB_HOST:?set DB_HOST}\n")
    fails("%s: services.s.environment.DB: required variable DB_HOST is missing a value: set DB_HOST" % path,
          project_src=str(project_dir))


# -- profiles --------------------------------------------------------------------------------------------------
PROFILED = ("services:\n  web: {image: a}\n  debug: {image: b, profiles: [debug]}\n"
            "  tools: {image: c, profiles: [tools, ops]}\n")


@pytest.mark.parametrize(("kwargs", "enabled"), [
    ({}, ["web"]),
    ({"profiles": ["debug"]}, ["web", "debug"]),
    ({"profiles": ["ops"]}, ["web", "tools"]),
    ({"profiles": ["*"]}, ["web", "debug", "tools"]),
    ({"services": ["tools"]}, ["web", "tools"]),
])
def test_profiles(kwargs, enabled):
    model, _warnings = build(definition=PROFILED, project_name="p", **kwargs)
    assert list(model["services"]) == enabled
    assert all("profiles" not in service for service in model["services"].values())


def test_services_option_naming_an_unknown_service():
    fails("services: the project has no service 'nope' (it has debug, tools, web)", definition=PROFILED,
          project_name="p", services=["nope"])


def test_dependency_in_an_inactive_profile():
    text = "services:\n  web: {image: a, depends_on: [db]}\n  db: {image: b, profiles: [data]}\n"
    fails("services.web.depends_on.db: service 'db' is in profiles ['data'], none of which is active: add one to "
          "profiles, or set required: false", definition=text, project_name="p")
    assert build(definition=text, project_name="p", profiles=["data"])[0]["services"]["web"]["depends_on"]["db"]
    optional = "services:\n  web: {image: a, depends_on: {db: {required: false}}}\n  db: {image: b, profiles: [x]}\n"
    assert build(definition=optional, project_name="p")[0]["services"]["web"]["depends_on"] == {}


# -- dependencies ----------------------------------------------------------------------------------------------
def test_unknown_dependency():
    fails("services.web.depends_on.nope: the project has no service 'nope'",
          definition="services:\n  web: {image: a, depends_on: [nope]}\n", project_name="p")


def test_cycle_is_named():
    fails("services.a.depends_on: depends_on makes a cycle: a -> b -> c -> a",
          definition="services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n"
                     "  c: {image: x, depends_on: [a]}\n", project_name="p")


def test_dependency_cycle_helper():
    assert dependency_cycle({"a": {"depends_on": {"a": {}}}}) == ["a", "a"]
    assert dependency_cycle({"a": {"depends_on": {"b": {}}}, "b": {}}) is None


# -- top level -------------------------------------------------------------------------------------------------
def test_top_level_extensions_and_version_dropped_unknown_refused():
    model, _warnings = build(definition={"version": "3.8", "x-any": {"a": 1}, "services": {}}, project_name="p")
    assert model == {"name": "p", "working_dir": None, "config_files": [], "services": {}, "networks": {},
                     "volumes": {}, "mask": []}
    fails("secrets: the top-level key secrets is not supported (supported: name, services, networks, volumes, "
          "version)", definition={"secrets": {}, "services": {}}, project_name="p")


def test_networks_and_volumes_names():
    text = """
services:
  web: {image: a, networks: [front, outside], volumes: [data:/d, ext:/e]}
  db: {image: b}
networks:
  front: {driver: bridge, internal: "true", labels: [a=1], ipam: {config: [{subnet: 10.5.0.0/16}]}}
  outside: {external: true}
  named: {name: custom}
  legacy: {external: {name: old-net}}
  x-ignored: {}
volumes:
  data: {driver_opts: {type: none}}
  ext: {external: true, name: shared-data}
"""
    model, _warnings = build(definition=text, project_name="p")
    assert model["networks"] == {
        "front": {"name": "p_front", "external": False, "driver": "bridge", "labels": {"a": "1"}, "internal": True,
                  "ipam": {"config": [{"subnet": "10.5.0.0/16", "gateway": None, "ip_range": None}]}},
        "outside": {"name": "outside", "external": True},
        "named": {"name": "custom", "external": False},
        "legacy": {"name": "old-net", "external": True},
        "default": {"name": "p_default", "external": False}}
    assert model["volumes"] == {"data": {"name": "p_data", "external": False, "driver_opts": {"type": "none"}},
                                "ext": {"name": "shared-data", "external": True}}
    assert model["services"]["db"]["networks"] == {"default": DEFAULT_NET}


@pytest.mark.parametrize(("section", "message"), [
    ("networks:\n  n: {external: true, driver: bridge, name: nn}\n",
     "networks.n.driver: an external network is only named, not configured: drop driver"),
    ("networks:\n  n: {scope: local}\n", "networks.n.scope: key scope is not supported"),
    ("volumes:\n  v: {name: 'bad name'}\n", "volumes.v.name: 'bad name' is not a valid volume name"),
    ("volumes: [a]\n", "volumes: expected a mapping, got a list"),
    ("volumes:\n  v: {name: x}\n", "volumes.v.name: 'x' is not a valid volume name"),  # as the module: 2 at least
])
def test_bad_top_level_resources(section, message):
    fails(message, definition="services: {}\n" + section, project_name="p")


def test_invalid_service_name():
    fails("services: 'bad name' is not a valid service name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
          definition={"services": {"bad name": {"image": "a"}}}, project_name="p")


# -- secrets never show ----------------------------------------------------------------------------------------
def test_secret_values_from_env_files_and_environment_are_masked_in_errors(project_dir):
    write(project_dir, ".env", "DB_PASSWORD=hunter22secret\nAPI_URL=https://user:pw123456@api.example\n")
    write(project_dir, "compose.yaml", "services:\n  s:\n    image: x\n    environment: [DB_PASSWORD]\n"
                                       "    ports: ['${DB_PASSWORD}', '${API_TOKEN}']\n")
    with pytest.raises(ComposeError) as caught:
        build(project_src=str(project_dir))
    assert "hunter22secret" not in str(caught.value)
    assert "'********' is not a port mapping" in str(caught.value)
    with pytest.raises(ComposeError) as caught:
        build(project_src=str(project_dir), environment={"DB_PASSWORD": "ok", "API_TOKEN": "tok-from-task"},
              definition={"services": {"s": {"image": "x", "ports": ["${API_TOKEN}"]}}})
    assert "tok-from-task" not in str(caught.value)


def test_secret_values_from_a_service_env_file_are_masked(project_dir):
    write(project_dir, "db.env", "POSTGRES_PASSWORD=pg-secret-value\n")
    write(project_dir, "compose.yaml", "services:\n  s:\n    image: x\n    env_file: db.env\n"
                                       "    labels: {a: 1}\n  t: {image: y, depends_on: [pg-secret-value]}\n")
    with pytest.raises(ComposeError) as caught:
        build(project_src=str(project_dir))
    assert str(caught.value) == "services.t.depends_on.********: the project has no service '********'"


def test_the_model_lists_the_secrets_interpolation_used(project_dir):
    write(project_dir, ".env", "MYSQL_ROOT_PASSWORD=hunter22\nAPI_TOKEN=tok12345\nUNUSED_SECRET=never-used\n")
    write(project_dir, "compose.yaml", "services:\n  db:\n    image: x\n    command: ['--token', '${API_TOKEN}']\n"
                                       "    healthcheck:\n"
                                       "      test: [CMD, mysqladmin, ping, '-p${MYSQL_ROOT_PASSWORD}']\n")
    model, _warnings = build(project_src=str(project_dir))
    assert model["services"]["db"]["command"] == ["--token", "tok12345"]
    assert model["mask"] == ["hunter22", "tok12345"]


def test_compose_project_name_and_profiles_from_the_environment(project_dir):
    write(project_dir, "compose.yaml", "name: from-file\nservices:\n  s: {image: a}\n"
                                       "  dbg: {image: b, profiles: [debug]}\n  ops: {image: c, profiles: [ops]}\n")
    write(project_dir, ".env", "COMPOSE_PROJECT_NAME=from-dotenv\nCOMPOSE_PROFILES=debug, ops\n")
    model = build(project_src=str(project_dir))[0]
    assert model["name"] == "from-dotenv"
    assert sorted(model["services"]) == ["dbg", "ops", "s"]
    model = build(project_src=str(project_dir), environment={"COMPOSE_PROJECT_NAME": "from-task"},
                  profiles=["ops"])[0]
    assert model["name"] == "from-task"
    assert sorted(model["services"]) == ["ops", "s"]
    assert build(project_src=str(project_dir), project_name="opt")[0]["name"] == "opt"
    write(project_dir, ".env", "COMPOSE_PROJECT_NAME=Bad Name\n")
    with pytest.raises(ComposeError, match="COMPOSE_PROJECT_NAME 'Bad Name' is not a valid project name"):
        build(project_src=str(project_dir))


@pytest.mark.parametrize("service, message", [
    ({"cpus": "abc"}, "services.s.cpus: expected a number of CPUs such as 0.5, got 'abc'"),
    ({"cpus": []}, "services.s.cpus: expected a number of CPUs such as 0.5, got []"),
    ({"pull_policy": []}, "services.s.pull_policy: expected one of always, missing, if_not_present, never, got []"),
    ({"deploy": []}, "services.s.deploy: expected a mapping, got a list"),
    ({"deploy": ""}, "services.s.deploy: expected a mapping, got a string"),
    ({"deploy": 0}, "services.s.deploy: expected a mapping, got a integer"),
    ({"deploy": {"resources": {"limits": {"cpus": "lots"}}}},
     "services.s.deploy.resources.limits.cpus: expected a number of CPUs such as 0.5, got a string"),
    ({"profiles": 5}, "services.s.profiles: expected a profile name, got 5"),
    ({"profiles": ["a", 5]}, "services.s.profiles[1]: expected a profile name, got 5"),
])
def test_wrong_types_are_refused_with_the_key_path(service, message):
    fails(message, definition={"services": {"s": dict({"image": "a"}, **service)}}, project_name="p", profiles=["*"])
