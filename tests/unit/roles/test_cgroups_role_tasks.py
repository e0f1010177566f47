"""The cgroups role reads every boolean through | bool and every number through | int, and its argument spec
types every variable its defaults set (so `-e cgroups_verify=false`, a string, means false)."""

import glob
import os
import re

import yaml
from paths import REPO_ROOT

ROLE = os.path.join(REPO_ROOT, "roles", "cgroups")


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def spec():
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def task_texts():
    texts = {}
    for path in sorted(glob.glob(os.path.join(ROLE, "tasks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            texts[os.path.basename(path)] = handle.read()
    return texts


def test_every_default_is_typed_in_the_argument_spec_with_the_same_default():
    defaults = load("defaults", "main.yml")
    options = spec()
    assert set(defaults) == set(options)
    for name, value in defaults.items():
        assert options[name].get("type"), name
        assert options[name].get("default") == value, name


def test_every_boolean_and_number_is_converted_where_it_is_read():
    kinds = {"bool": "bool", "int": "int"}
    for name, option in spec().items():
        kind = kinds.get(option["type"])
        if not kind:
            continue
        for file_name, text in task_texts().items():
            for match in re.finditer(r"\b%s\b(?!_)(?P<after>[^\n]{0,12})" % re.escape(name), text):
                line_start = text.rfind("\n", 0, match.start()) + 1
                line = text[line_start:text.find("\n", match.start())]
                if re.match(r"\s*(#|tags:|- name:|name:)", line) or re.search(r"set cgroups_\w+: false|msg:", line):
                    continue  # comments, tags, names and messages that name the variable for the user
                assert match.group("after").lstrip().startswith("| %s" % kind), (
                    "%s: %s is read without | %s: %s" % (file_name, name, kind, line.strip()))
