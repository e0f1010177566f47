"""The compose action plugin with Ansible's real task, loader, templar and local connection.

The module side (dockhand.runtime.compose) is tested end to end through ansible-playbook once it exists;
here the one call into it is recorded instead of run, to see what the plugin sends.
"""

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar, trust_as_template

from ansible_collections.dockhand.runtime.plugins.action.compose import ActionModule


class RecordingAction(ActionModule):
    """The plugin, with its call of the module recorded and answered."""

    calls = None

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append((module_name, module_args))
        return {"changed": True, "diff": {"before": "", "after": "x"}, "warnings": ["from module"]}


def make_action(tmp_path, args, environment=None, variables=None):
    loader = DataLoader()
    loader.set_basedir(str(tmp_path))
    task = Task()
    task.args = args
    task.environment = environment or []
    play_context = PlayContext()
    connection = connection_loader.get("local", play_context)
    templar = Templar(loader=loader, variables=variables or {})
    action = RecordingAction(task, connection, play_context, loader, templar, None)
    action.calls = []
    return action


@pytest.fixture
def project(tmp_path):
    directory = tmp_path / "shop"
    directory.mkdir()
    (directory / "compose.yaml").write_text("services:\n  web:\n    image: nginx:${TAG:-1}\n"
                                            "    environment: [API_TOKEN]\n")
    (directory / ".env").write_text("API_TOKEN=tok-123456\n")
    return directory


def test_sends_the_model_without_the_source_options(tmp_path, project):
    args = {"project_src": str(project), "env_files": None, "profiles": ["x"], "remote_src": False,
            "state": "present", "services": ["web"], "wait": True}
    environment = [{"TAG": trust_as_template("{{ tag }}")}]
    action = make_action(tmp_path, args, environment=environment, variables={"tag": "1.27"})
    result = action.run(task_vars={})
    assert "msg" not in result, result.get("msg")
    [(module, sent)] = action.calls
    assert module == "dockhand.runtime.compose"
    assert set(sent) == {"project", "state", "services", "wait"}
    assert sent["project"]["name"] == "shop"
    assert sent["project"]["services"]["web"]["image"] == "nginx:1.27"
    assert sent["project"]["services"]["web"]["environment"] == {"API_TOKEN": "tok-123456"}
    assert result["changed"] is True
    assert result["diff"] == {"before": "", "after": "x"}


def test_relative_project_src_is_found_next_to_the_playbook(tmp_path, project):
    action = make_action(tmp_path, {"project_src": "shop"})
    action.run(task_vars={})
    assert action.calls[0][1]["project"]["working_dir"] == str(project)


def test_unset_variables_become_warnings(tmp_path):
    action = make_action(tmp_path, {"definition": {"services": {"w": {"image": "a:${NOPE}"}}}, "project_name": "p"})
    result = action.run(task_vars={})
    assert result["warnings"] == ["from module", "the variable NOPE is not set: it was replaced by an empty string"]


@pytest.mark.parametrize(("args", "message"), [
    ({"project_src": "missing-dir"}, "project_src: missing-dir is not a directory on the controller"),
    ({"project_src": "shop/compose.yaml"}, "project_src: "),
    ({"project_src": "shop", "remote_src": "maybe"}, "remote_src: expected a boolean, got 'maybe'"),
    ({"project_src": "shop", "remote_src": True}, "project_src: with remote_src, give an absolute directory"),
    ({"definition": "services: [", "project_name": "p"}, "definition: not valid YAML: line 1"),
    ({"definition": {"services": {}}, "services": [3], "project_name": "p"}, "services: expected a list"),
])
def test_bad_input_fails_before_the_module_is_called(tmp_path, project, args, message):
    action = make_action(tmp_path, args)
    result = action.run(task_vars={})
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].startswith(message)
    assert action.calls == []


def test_a_secret_in_the_task_environment_is_masked_in_the_error(tmp_path):
    action = make_action(tmp_path, {"definition": {"services": {"w": {"image": "a", "ports": ["${DB_PASSWORD}"]}}},
                                    "project_name": "p"}, environment=[{"DB_PASSWORD": "pw-abcdef"}])
    result = action.run(task_vars={})
    assert "pw-abcdef" not in result["msg"]
    assert result["msg"] == ("services.w.ports[0]: '********' is not a port mapping: write "
                             "[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL], e.g. \"8080:80\" or \"127.0.0.1:8080:80/tcp\"")


class LeakingAction(RecordingAction):
    """A module answer that shows the interpolated secret, the old value beside the masked new one in a diff."""

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append((module_name, module_args))
        return {"changed": True, "msg": "ran --token tok12345",
                "diff": {"before": {"db": {"healthcheck": {"test": ["CMD", "true", "-pold-value1"]}}},
                         "after": {"db": {"healthcheck": {"test": ["CMD", "true", "-p********"]}}}}}


def test_the_module_result_is_masked_with_the_interpolated_secrets(tmp_path):
    action = make_action(tmp_path, {"definition": {"services": {"db": {"image": "a", "command": [
        "--token", "${API_TOKEN}"]}}}, "project_name": "p"}, environment=[{"API_TOKEN": "tok12345"}])
    action.__class__ = LeakingAction
    result = action.run(task_vars={})
    assert action.calls[0][1]["project"]["mask"] == ["tok12345"]
    assert result["msg"] == "ran --token ********"
    assert result["diff"]["before"]["db"]["healthcheck"]["test"] == ["CMD", "true", "-p********"]
