"""The containers role passes every option of the container, network and volume modules through.

The role's task arguments and its argument_specs are generated from the modules' documentation by
tests/tools/containers_role.py; these tests fail when the generated blocks are out of date, and
check the container task directly against the option table (container_options.OPTIONS and
CONTROL_SPEC), so that an option added to the table and not to the role is caught.
"""

import os
import re
import sys

import pytest
import yaml
from paths import REPO_ROOT

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    CONTROL_SPEC,
    OPTIONS,
    argument_spec,
)

sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "tools"))
import containers_role  # noqa: E402

ROLE = os.path.join(REPO_ROOT, "roles", "containers")
TABLE_NAMES = set(CONTROL_SPEC) | {option.name for option in OPTIONS}


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def task_args(task_file, module):
    tasks = load("tasks", task_file)
    found = [task["dockhand.runtime." + module] for task in tasks if "dockhand.runtime." + module in task]
    assert len(found) == 1, "%s: expected one dockhand.runtime.%s task" % (task_file, module)
    return found[0]


def list_options(variable):
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"][variable]["options"]


def test_generated_blocks_are_up_to_date():
    stale = [os.path.relpath(path, REPO_ROOT) for path, (current, new) in containers_role.rendered().items()
             if current != new]
    assert not stale, "out of date: %s; run python tests/tools/containers_role.py" % ", ".join(stale)


def test_container_task_passes_every_option_of_the_table():
    args = task_args("containers.yml", "container")
    assert set(args) == TABLE_NAMES, (
        "missing from the role: %s; not in the table: %s" % (sorted(TABLE_NAMES - set(args)),
                                                             sorted(set(args) - TABLE_NAMES)))


@pytest.mark.parametrize(("task_file", "module", "entry"), [
    ("containers.yml", "container", "containers_entry"), ("networks.yml", "network", "item"),
    ("volumes.yml", "volume", "containers_volume")])
def test_each_argument_reads_the_entry_key_of_its_own_name(task_file, module, entry):
    for name, value in task_args(task_file, module).items():
        if (module, name) == ("container", "labels"):
            assert value == "{{ containers_entry['labels'] | default({}) | combine(containers_labels) }}"
            continue
        if (module, name) == ("container", "comparisons"):  # the role's own default, strict
            assert value == "{{ containers_entry['comparisons'] | default(containers_comparisons) }}"
            continue
        keys = re.findall(r"%s\['([a-z0-9_]+)'\]" % entry, value)
        assert keys and keys[0] == name, (name, value)
        if name != "name":
            assert value.endswith("| default(omit) }}"), (name, value)


@pytest.mark.parametrize(("task_file", "variable"), [
    ("containers.yml", "containers_list"), ("volumes.yml", "containers_volumes")])
def test_loops_over_entries_that_may_hold_secrets_carry_names_only(task_file, variable):
    """The loop item is in every result (a failed item at default verbosity, every item at -v): it is the name."""
    task = load("tasks", task_file)[0]
    assert task["loop"] == "{{ %s | map(attribute='name') | list }}" % variable
    validate = load("tasks", "validate.yml")[1]
    assert "%s | map(attribute='name') | list" % variable in validate["loop"]


def test_container_list_entries_are_validated_like_the_module():
    options = list_options("containers_list")
    spec = argument_spec()
    assert set(options) == TABLE_NAMES
    for name, entry in options.items():
        want = spec[name]
        assert entry["type"] == want.get("type", "str"), name
        assert entry.get("elements") == want.get("elements"), name
        assert entry.get("choices") == want.get("choices"), name
        assert "aliases" not in entry, name  # the role takes one name per option
    assert options["name"]["required"] is True


def test_role_labels_mark_the_instance():
    labels = load("vars", "main.yml")["containers_labels"]
    assert labels == {"dockhand.runtime.managed-by": "containers",
                      "dockhand.runtime.containers-instance": "{{ containers_instance }}"}


def test_defaults_are_documented_and_prefixed():
    defaults = load("defaults", "main.yml")
    options = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert all(name.startswith("containers_") for name in defaults)
    assert set(defaults) == set(options)
    for name, value in defaults.items():
        assert options[name].get("default") == value, name


def test_role_markup_points_into_the_list():
    assert containers_role.role_markup("Without O(network_mode) or O(pull=never)", "containers_list") == (
        "Without O(containers_list[].network_mode) or O(containers_list[].pull=never)")
