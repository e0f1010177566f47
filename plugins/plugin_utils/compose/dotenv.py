# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``.env`` format as compose reads it (the project's ``.env``, ``env_files`` and a service's ``env_file``).

One ``KEY=VALUE`` a line, an optional ``export `` before it, blank lines and ``#`` lines ignored.
Unquoted: up to the end of the line, a `` #`` starts a comment, outer white space trimmed.
``'single'``: literal (``\\'`` for a quote). ``"double"``: ``\\n``, ``\\r``, ``\\t``, ``\\\\``, ``\\"``
escapes, may span lines. Unquoted and double-quoted values are interpolated: by ``lookup`` first,
then by the keys above them in the same file. A bare ``KEY`` takes ``lookup``'s value, or is left out.
"""

from __future__ import annotations

import re
from typing import Dict, Optional

from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import is_secret_name
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.interpolate import (
    InterpolationError,
    Lookup,
    substitute,
)

_LINE_START = re.compile(r"[ \t]*(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)[ \t]*(?P<sep>=?)[ \t]*")
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$$"}


def _quoted(text: str, start: int, quote: str, line: int, source: str):
    """(raw value, index after the closing quote) of a quoted value starting after its opening quote."""
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            index += 2
            continue
        if char == quote:
            return text[start:index], index + 1
        index += 1
    raise ComposeError("line %d: the %s quote is never closed" % (line, "single" if quote == "'" else "double"),
                       source=source)


def _unescape_double(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _DOUBLE_ESCAPES.get(m.group(1), m.group(0)), raw, flags=re.DOTALL)


def _rest_of_line(text: str, index: int, line: int, source: str, key: str) -> int:
    """Index of the next line after a closing quote: only white space or a comment may follow it."""
    end = text.find("\n", index)
    end = len(text) if end < 0 else end
    tail = text[index:end].strip()
    if tail and not tail.startswith("#"):
        shown = "text" if is_secret_name(key) else repr(tail[:20])  # a secret's value is not quoted
        raise ComposeError("line %d: unexpected %s after the closing quote of %s" % (line, shown, key), source=source)
    return end + 1


def parse_env(text: str, source: str, lookup: Optional[Lookup] = None) -> Dict[str, str]:
    """The variables of an env file, in file order; errors name ``source`` and the line."""
    lookup = lookup or (lambda _name: None)
    found: Dict[str, str] = {}

    def resolve(name):
        value = lookup(name)
        return found.get(name) if value is None else value

    def interpolated(raw, line, key):
        try:
            return substitute(raw, resolve)
        except InterpolationError as exc:
            if exc.quotes_text and is_secret_name(key):
                raise ComposeError("line %d: invalid interpolation format in the value of %s (not shown: the name "
                                   "says it is a secret)" % (line, key), source=source) from None
            raise ComposeError("line %d: %s" % (line, exc), source=source) from None

    index = 0
    text = text.replace("\r\n", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    while index < len(text):
        line = text.count("\n", 0, index) + 1
        end = text.find("\n", index)
        end = len(text) if end < 0 else end
        stripped = text[index:end].strip()
        if not stripped or stripped.startswith("#"):
            index = end + 1
            continue
        match = _LINE_START.match(text, index)
        if not match or (not match.group("sep") and match.end() < end and text[match.end()] != "#"):
            raise ComposeError("line %d: expected KEY=VALUE (a name of letters, digits, '_', '.' and '-' "
                               "that does not start with a digit)" % line, source=source)
        key = match.group("key")
        if not match.group("sep"):
            inherited = lookup(key)
            if inherited is not None:
                found[key] = inherited
            index = end + 1
            continue
        start = match.end()
        quote = text[start:start + 1]
        if quote in ("'", '"'):
            raw, after = _quoted(text, start + 1, quote, line, source)
            index = _rest_of_line(text, after, line, source, key)
            if quote == "'":
                found[key] = raw.replace("\\'", "'")
            else:
                found[key] = interpolated(_unescape_double(raw), line, key)
            continue
        raw = text[start:end]
        comment = re.search(r"[ \t]#", raw)
        if comment:
            raw = raw[:comment.start()]
        if any(ord(char) < 32 and char != "\t" for char in raw):
            raise ComposeError("line %d: a control character in the value of %s" % (line, key), source=source)
        found[key] = interpolated(raw.strip(), line, key)
        index = end + 1
    return found
