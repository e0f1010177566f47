"""Every module's and doc fragment's DOCUMENTATION, EXAMPLES and RETURN is YAML that parses (ansible-doc needs it).

ansible-test sanity checks far more, in minutes; this catches the commonest slip (a ': ' inside a plain
scalar) in the unit tier, in a second.
"""

import ast
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
FILES = sorted((ROOT / "plugins" / "modules").glob("*.py")) + sorted((ROOT / "plugins" / "doc_fragments").glob("*.py"))


def doc_strings(path):
    """{NAME: text} of the module-level (or ModuleDocFragment class-level) string assignments of docs."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                    found[target.id] = node.value.value
    return found


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_documentation_examples_and_return_parse(path):
    docs = doc_strings(path)
    if path.parent.name == "modules":
        assert set(docs) >= {"DOCUMENTATION", "EXAMPLES", "RETURN"}, path.name
    for name, text in docs.items():
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            pytest.fail("%s %s is not YAML: %s" % (path.name, name, exc))
