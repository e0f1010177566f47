# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small TOML reader (TOML 1.0; Python 3.8 targets have no tomllib), and TOML strings and keys to write.

:func:`parse_toml` also says where each table header and key line starts and
ends, so that a file can be edited by adding one line and keeping every other
byte (containerd's config.toml).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


class TomlError(ValueError):
    """The text is not TOML; the message names the file, line and column."""


_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
                          r"|\d{2}:\d{2}:\d{2}(?:\.\d+)?")
_NUMBER_RE = re.compile(r"0x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|0o[0-7](?:_?[0-7])*|0b[01](?:_?[01])*"
                        r"|[+-]?(?:inf|nan|(?:0|[1-9](?:_?[0-9])*)(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?)")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}


class _TomlParser:
    """Reads TOML into dicts and records, per table header and key, where its line starts and ends."""

    def __init__(self, text, source):
        self.text = text
        self.source = source
        self.pos = 0
        self.root = {}
        self.entries = []
        self.explicit = set()  # table paths given by a [header]
        self.arrays = set()  # id() of the lists made by [[header]]
        self.frozen = set()  # id() of inline tables and static arrays (not extendable)

    # -- errors and positions --

    def error(self, message, pos=None):
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        raise TomlError("%s: line %d, column %d: %s" % (self.source, line, column, message))

    def peek(self, size=1):
        return self.text[self.pos:self.pos + size]

    def skip_ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def skip_comment(self):
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def skip_blank(self):
        """White space, newlines and comments (inside arrays and inline tables)."""
        while self.pos < len(self.text):
            self.skip_ws()
            if self.peek() == "#":
                self.skip_comment()
            elif self.peek() == "\n":
                self.pos += 1
            elif self.peek(2) == "\r\n":
                self.pos += 2
            else:
                return

    def end_of_line(self):
        self.skip_ws()
        self.skip_comment()
        if self.pos >= len(self.text):
            return
        if self.peek() == "\n":
            self.pos += 1
        elif self.peek(2) == "\r\n":
            self.pos += 2
        else:
            self.error("expected the end of the line, found %r" % self.peek())

    # -- keys --

    def parse_key(self):
        parts = [self.parse_simple_key()]
        while True:
            mark = self.pos
            self.skip_ws()
            if self.peek() != ".":
                self.pos = mark
                return tuple(parts)
            self.pos += 1
            self.skip_ws()
            parts.append(self.parse_simple_key())

    def parse_simple_key(self):
        char = self.peek()
        if char == '"':
            if self.peek(3) == '"""':
                self.error("a key cannot be a multi-line string")
            return self.parse_basic_string()
        if char == "'":
            if self.peek(3) == "'''":
                self.error("a key cannot be a multi-line string")
            return self.parse_literal_string()
        match = _BARE_KEY_RE.match(self.text, self.pos)
        if not match:
            self.error("expected a key, found %r" % (char or "the end of the file"))
        self.pos = match.end()
        return match.group(0)

    def parse_key_and_equals(self):
        """A key and the = after it (the value comes next)."""
        key = self.parse_key()
        self.skip_ws()
        if self.peek() != "=":
            self.error("expected = after the key %s" % dotted_key(key))
        self.pos += 1
        self.skip_ws()
        return key

    # -- values --

    def parse_value(self):
        char = self.peek()
        if self.peek(3) == '"""':
            return self.parse_multiline_string(basic=True)
        if char == '"':
            return self.parse_basic_string()
        if self.peek(3) == "'''":
            return self.parse_multiline_string(basic=False)
        if char == "'":
            return self.parse_literal_string()
        if char == "[":
            return self.parse_array()
        if char == "{":
            return self.parse_inline_table()
        for word, value in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos) and not _BARE_KEY_RE.match(self.text, self.pos + len(word)):
                self.pos += len(word)
                return value
        match = _DATETIME_RE.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return match.group(0)  # kept as text: nothing here needs dates
        match = _NUMBER_RE.match(self.text, self.pos)
        if match and not _BARE_KEY_RE.match(self.text, match.end()):
            token = match.group(0).replace("_", "")
            try:
                if token[:2] in ("0x", "0o", "0b"):
                    number = int(token, 0)
                elif re.fullmatch(r"[+-]?[0-9]+", token):
                    number = int(token, 10)
                else:
                    number = float(token)
            except ValueError:
                number = None
            if number is not None:
                self.pos = match.end()
                return number
        self.error("expected a value (a quoted string, number, true, false, [array] or {table}), found %r"
                   % (self.text[self.pos:self.pos + 12].split("\n")[0] or "the end of the line"))
        return None  # not reached

    def parse_escape(self, chunks):
        start = self.pos
        code = self.text[self.pos + 1:self.pos + 2]
        if code in _ESCAPES:
            chunks.append(_ESCAPES[code])
            self.pos += 2
            return
        if code in ("u", "U"):
            size = 4 if code == "u" else 8
            digits = self.text[self.pos + 2:self.pos + 2 + size]
            if len(digits) == size and all(c in "0123456789abcdefABCDEF" for c in digits):
                try:
                    chunks.append(chr(int(digits, 16)))
                except ValueError:
                    self.error("\\%s%s is not a Unicode character" % (code, digits), start)
                self.pos += 2 + size
                return
        self.error("unknown escape \\%s in a string" % code, start)

    def parse_basic_string(self):
        self.pos += 1
        chunks = []
        while True:
            if self.pos >= len(self.text):
                self.error("a string is not closed")
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(chunks)
            if char == "\\":
                self.parse_escape(chunks)
            elif char in "\r\n":
                self.error("a string is not closed before the end of the line")
            else:
                chunks.append(char)
                self.pos += 1

    def parse_literal_string(self):
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or 0 <= newline < end:
            self.error("a string is not closed before the end of the line")
        value = self.text[self.pos + 1:end]
        self.pos = end + 1
        return value

    def parse_multiline_string(self, basic):
        quote = self.text[self.pos] * 3
        self.pos += 3
        if self.peek() == "\n":
            self.pos += 1
        elif self.peek(2) == "\r\n":
            self.pos += 2
        chunks = []
        while True:
            if self.pos >= len(self.text):
                self.error("a multi-line string is not closed")
            if self.text.startswith(quote, self.pos):
                run = 3
                while run < 5 and self.text[self.pos + run:self.pos + run + 1] == quote[0]:
                    run += 1
                chunks.append(quote[0] * (run - 3))
                self.pos += run
                return "".join(chunks)
            char = self.text[self.pos]
            if basic and char == "\\":
                rest = re.match(r"\\[ \t]*\r?\n[ \t\r\n]*", self.text[self.pos:])
                if rest:
                    self.pos += rest.end()
                    continue
                self.parse_escape(chunks)
                continue
            chunks.append(char)
            self.pos += 1

    def parse_array(self):
        self.pos += 1
        items = []
        while True:
            self.skip_blank()
            if self.peek() == "]":
                self.pos += 1
                break
            items.append(self.parse_value())
            if self.at_closing("]", "an array"):
                break
        self.frozen.add(id(items))
        return items

    def at_closing(self, closing, what):
        """After an item of an array or inline table: True past its closing bracket, False past a comma."""
        self.skip_blank()
        if self.peek() == ",":
            self.pos += 1
            return False
        if self.peek() != closing:
            self.error("expected , or %s in %s" % (closing, what))
        self.pos += 1
        return True

    def parse_inline_table(self):
        self.pos += 1
        table = {}
        self.skip_blank()
        if self.peek() == "}":
            self.pos += 1
            self.frozen.add(id(table))
            return table
        while True:
            self.skip_blank()
            key_at = self.pos
            key = self.parse_key_and_equals()
            self.assign(table, key, self.parse_value(), key_at)
            if self.at_closing("}", "an inline table"):
                break
        self.frozen.add(id(table))
        return table

    # -- the document --

    def descend(self, node, parents, path, at):
        """The table at ``parents`` below ``node``, made where missing; an error names ``path`` where a value is."""
        for part in parents:
            child = node.setdefault(part, {})
            if isinstance(child, list) and id(child) in self.arrays:
                child = child[-1]
            if not isinstance(child, dict) or id(child) in self.frozen:
                self.error("%s is already set to a value that is not a table" % dotted_key(path), at)
            node = child
        return node

    def assign(self, table, key, value, at):
        node = self.descend(table, key[:-1], key, at)
        if key[-1] in node:
            self.error("%s is set twice" % dotted_key(key), at)
        node[key[-1]] = value

    def open_table(self, path, array, at):
        node = self.descend(self.root, path[:-1], path, at)
        last = path[-1]
        if array:
            existing = node.get(last)
            if existing is None:
                existing = node[last] = []
                self.arrays.add(id(existing))
            elif not isinstance(existing, list) or id(existing) not in self.arrays:
                self.error("[[%s]]: %s is already set to a value that is not an array of tables"
                           % (dotted_key(path), dotted_key(path)), at)
            table = {}
            existing.append(table)
            return table
        existing = node.get(last)
        if existing is None:
            existing = node[last] = {}
        elif not isinstance(existing, dict) or id(existing) in self.frozen:
            self.error("[%s]: %s is already set to a value that is not a table" % (dotted_key(path),
                                                                                   dotted_key(path)), at)
        elif path in self.explicit:
            self.error("the table [%s] is defined twice" % dotted_key(path), at)
        self.explicit.add(path)
        return existing

    def parse(self):
        table, table_path = self.root, ()
        while True:
            self.skip_blank()
            if self.pos >= len(self.text):
                return self.root
            start = self.text.rfind("\n", 0, self.pos) + 1
            indent = self.text[start:self.pos]
            if self.peek() == "[":
                array = self.peek(2) == "[["
                at = self.pos
                self.pos += 2 if array else 1
                self.skip_ws()
                path = self.parse_key()
                self.skip_ws()
                closing = "]]" if array else "]"
                if not self.text.startswith(closing, self.pos):
                    self.error("expected %s to close the table header" % closing)
                self.pos += len(closing)
                self.end_of_line()
                table, table_path = self.open_table(path, array, at), path
                self.entries.append({"kind": "array" if array else "table", "path": path, "table": path,
                                     "start": start, "end": self.pos, "indent": indent})
                continue
            at = self.pos
            key = self.parse_key_and_equals()
            value_start = self.pos
            value = self.parse_value()
            value_end = self.pos
            self.end_of_line()
            self.assign(table, key, value, at)
            self.entries.append({"kind": "key", "path": table_path + key, "table": table_path, "key": key,
                                 "start": start, "end": self.pos, "indent": indent, "value": value,
                                 "value_start": value_start, "value_end": value_end})


def parse_toml(text, source="TOML"):
    """(document, entries): the data, and per header or key line its path and offsets in ``text``."""
    parser = _TomlParser(text, source)
    return parser.parse(), parser.entries


def loads(text, source="TOML"):
    """The TOML document as dicts and lists."""
    return parse_toml(text, source)[0]


def toml_string(value):
    """A TOML basic string."""
    out = ['"']
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def dotted_key(path):
    """A key path written as TOML: bare parts where possible, quoted otherwise."""
    return ".".join(part if _BARE_KEY_RE.fullmatch(part) else toml_string(part) for part in path)
