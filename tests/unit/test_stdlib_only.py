"""The runtime core imports nothing outside the standard library and ansible.module_utils."""

import ast
import os
import sys

import pytest
from paths import REPO_ROOT

CORE_DIR = os.path.join(REPO_ROOT, "plugins", "module_utils")
MODULES_DIR = os.path.join(REPO_ROOT, "plugins", "modules")
ALLOWED_PREFIXES = ("ansible.module_utils", "ansible_collections.dockhand.runtime.plugins.module_utils")


def python_files(directory):
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".py"))


def imported_modules(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def is_allowed(module):
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or module.startswith(ALLOWED_PREFIXES) or module == "__future__"


@pytest.mark.parametrize("path", python_files(CORE_DIR) + python_files(MODULES_DIR), ids=os.path.basename)
def test_imports_are_stdlib_or_ansible_module_utils(path):
    foreign = sorted({m for m in imported_modules(path) if not is_allowed(m)})
    assert foreign == [], "%s imports %s" % (os.path.relpath(path, REPO_ROOT), foreign)


def test_the_check_would_catch_a_foreign_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import requests\nfrom docker import APIClient\nimport json\n")
    assert sorted(m for m in imported_modules(str(sample)) if not is_allowed(m)) == ["docker", "requests"]
