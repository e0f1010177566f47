# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Variable interpolation as compose does it, over a string and over every string value of a document.

``${VAR}``, ``$VAR``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``,
``${VAR:+replacement}``, ``${VAR+replacement}``, ``$$`` for a literal ``$``; the word after an
operator is interpolated itself (``${A:-${B:-x}}``). A ``$`` not followed by a name or ``{`` stays.
"""

from __future__ import annotations

import re
from typing import Any, Callable, List, Mapping, Optional, Tuple

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import is_secret_name
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError, PathPart
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import Override

NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
OPERATORS = (":-", ":?", ":+", "-", "?", "+")
Lookup = Callable[[str], Optional[str]]


class InterpolationError(ValueError):
    """A required variable without a value, or a ``${`` that is not a valid expression."""

    def __init__(self, message: str, quotes_text: bool = False):
        super().__init__(message)
        self.quotes_text = quotes_text  # the message shows the text of the value


def _invalid(name: Optional[str], text: str) -> InterpolationError:
    """An invalid expression's error; its text is not quoted when it belongs to a secret-named variable."""
    if name and is_secret_name(name):
        return InterpolationError("invalid interpolation format in an expression of %s (its text is not shown: the "
                                  "variable's name says it is a secret)" % name)
    return InterpolationError("invalid interpolation format: %s" % text, quotes_text=True)


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` that closes the expression whose body begins at ``start``; -1 when there is none."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "$" and text[index + 1:index + 2] in ("$", "{"):
            depth += text[index + 1] == "{"
            index += 2
            continue
        if char == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    return -1


def _braced(body: str, lookup: Lookup, unset: List[str]) -> str:
    """The value of ``${body}``."""
    match = NAME.match(body)
    if not match:
        raise _invalid(None, "${%s}" % body)
    name = match.group(0)
    rest = body[match.end():]
    if not rest:
        value = lookup(name)
        if value is None:
            unset.append(name)
            return ""
        return value
    operator = next((op for op in OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise _invalid(name, "${%s}" % body)
    word = rest[len(operator):]
    value = lookup(name)
    present = value is not None and (value != "" or not operator.startswith(":"))
    kind = operator[-1]
    if kind == "-":
        return value if present else substitute(word, lookup, unset)
    if kind == "+":
        return substitute(word, lookup, unset) if present else ""
    if present:
        return value
    reason = substitute(word, lookup, unset)
    raise InterpolationError("required variable %s is missing a value%s" % (name, (": " + reason) if reason else ""))


def substitute(text: str, lookup: Lookup, unset: Optional[List[str]] = None) -> str:
    """``text`` with its variables replaced; ``unset`` collects the names that had no value and no default."""
    if "$" not in text:
        return text
    unset = [] if unset is None else unset
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        after = text[index + 1:index + 2]
        if after == "$":
            out.append("$")
            index += 2
        elif after == "{":
            end = _closing_brace(text, index + 2)
            if end < 0:
                named = NAME.match(text, index + 2)
                raise _invalid(named.group(0) if named else None, "%s (no closing brace)" % text[index:])
            out.append(_braced(text[index + 2:end], lookup, unset))
            index = end + 1
        else:
            match = NAME.match(text, index + 1)
            if match:
                value = lookup(match.group(0))
                if value is None:
                    unset.append(match.group(0))
                out.append(value or "")
                index = match.end()
            else:
                out.append("$")
                index += 1
    return "".join(out)


def interpolate_document(document: Any, environment: Mapping[str, str], source: str,
                         path: Tuple[PathPart, ...] = ()) -> Tuple[Any, List[str]]:
    """Every string value of ``document`` interpolated (keys are not); also the names found unset, in order."""
    unset: List[str] = []

    def walk(value, where):
        if isinstance(value, dict):
            return {key: walk(item, where + (key,)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, where + (index,)) for index, item in enumerate(value)]
        if isinstance(value, Override):
            return Override(walk(value.value, where))
        if isinstance(value, str):
            try:
                return substitute(value, environment.get, unset)
            except InterpolationError as exc:
                if exc.quotes_text and any(isinstance(part, str) and is_secret_name(part) for part in where):
                    raise ComposeError("invalid interpolation format (the value is not shown: its key's name says "
                                       "it is a secret)", where, source) from None
                raise ComposeError(str(exc), where, source) from None
        return value

    result = walk(document, path)
    return result, list(dict.fromkeys(unset))
