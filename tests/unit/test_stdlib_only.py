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
    """Every .py file under ``directory``, the wings of module_utils included."""
    found = []
    for root, _dirs, names in os.walk(directory):
        found.extend(os.path.join(root, name) for name in names if name.endswith(".py"))
    return sorted(found)


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


@pytest.mark.parametrize("path", python_files(CORE_DIR) + python_files(MODULES_DIR),
                         ids=lambda path: os.path.relpath(path, REPO_ROOT))
def test_imports_are_stdlib_or_ansible_module_utils(path):
    foreign = sorted({m for m in imported_modules(path) if not is_allowed(m)})
    assert foreign == [], "%s imports %s" % (os.path.relpath(path, REPO_ROOT), foreign)


def test_the_check_would_catch_a_foreign_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import requests\nfrom docker import APIClient\nimport json\n")
    assert sorted(m for m in imported_modules(str(sample)) if not is_allowed(m)) == ["docker", "requests"]


# The wings of module_utils, by tier: a wing imports only wings of a lower tier (README "Layout").
WING_TIERS = {"host": 0, "engine": 1, "cgroups": 1, "install": 1, "registry": 2, "mirrors": 3, "container": 3}
CORE_PREFIX = "ansible_collections.dockhand.runtime.plugins.module_utils."


def test_every_core_file_sits_in_a_wing():
    loose = [os.path.relpath(path, CORE_DIR) for path in python_files(CORE_DIR)
             if os.path.relpath(path, CORE_DIR).split(os.sep)[0] not in WING_TIERS]
    assert loose == []


@pytest.mark.parametrize("wing", sorted(WING_TIERS))
def test_dependencies_run_downward_only(wing):
    upward = set()
    for path in python_files(os.path.join(CORE_DIR, wing)):
        for module in imported_modules(path):
            if module.startswith(CORE_PREFIX):
                other = module[len(CORE_PREFIX):].split(".")[0]
                if other != wing and WING_TIERS[other] >= WING_TIERS[wing]:
                    upward.add("%s imports %s" % (os.path.relpath(path, REPO_ROOT), module))
    assert upward == set()


def core_closure(path):
    """The core files a module ships: what it imports from module_utils, and what those import, and so on."""
    seen, pending = set(), [path]
    while pending:
        for module in imported_modules(pending.pop()):
            if module.startswith(CORE_PREFIX):
                target = os.path.join(CORE_DIR, *module[len(CORE_PREFIX):].split(".")) + ".py"
                if os.path.exists(target) and target not in seen:
                    seen.add(target)
                    pending.append(target)
    return {os.path.relpath(target, CORE_DIR) for target in seen}


@pytest.mark.parametrize("module", ["cgroup_info", "cgroup_slice", "kernel_cmdline", "engine_repo", "mirror_probe"])
def test_host_only_modules_ship_no_engine_client(module):
    shipped = core_closure(os.path.join(MODULES_DIR, module + ".py"))
    assert "engine/module.py" in shipped
    assert "engine/api.py" not in shipped and "engine/args.py" not in shipped, sorted(shipped)
