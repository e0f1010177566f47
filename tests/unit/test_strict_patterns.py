"""Values checked by a pattern are checked whole: no pattern in the collection ends in '$', which also accepts
a trailing newline (use re.fullmatch). The one exception parses a line of a file the user owns, not a value."""

import ast
import pathlib

from paths import REPO_ROOT

# (file, pattern start): patterns that read a line of an existing file rather than validate a value.
LINE_PARSERS = {("plugins/module_utils/cgroups/kernel_cmdline.py", r"^(?P<prefix>")}


def dollar_patterns():
    root = pathlib.Path(REPO_ROOT)
    for path in sorted((root / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 2
                    and node.value.endswith("$") and not node.value.endswith("\\$")):
                yield str(path.relative_to(root)), node.lineno, node.value


def test_no_validation_pattern_ends_in_a_dollar():
    found = [(path, line, text) for path, line, text in dollar_patterns()
             if not any(path == known and text.startswith(start) for known, start in LINE_PARSERS)]
    assert not found, "use re.fullmatch instead of a pattern ending in $ (it accepts a trailing newline): %s" % found


def test_the_guard_sees_a_dollar_pattern():
    assert any(path.endswith("kernel_cmdline.py") for path, _line, _text in dollar_patterns())
