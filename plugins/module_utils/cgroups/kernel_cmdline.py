# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel command line arguments: read them, set them in /etc/default/grub's GRUB_CMDLINE_LINUX. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Used with fullmatch ("$" would accept a trailing newline). A value is printable ASCII without blanks,
# quotes, '\\', '$' or '`': nothing that could end the quoted GRUB variable, start a line or run a command.
_KEY_RE = re.compile(r"[A-Za-z0-9_.-]+")
_VALUE_RE = re.compile(r"[!#%&()*+,./0-9:;<=>?@A-Z\[\]^_a-z{|}~-]*")


class CmdlineError(ValueError):
    """A file or argument this module cannot edit safely; the message says what to change."""


def split_args(text):
    """Arguments of a command line, split on blanks outside double quotes (``a="b c"`` is one)."""
    args = []
    current = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char.isspace() and not quoted:
            if current:
                args.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        args.append("".join(current))
    return args


def _key(arg):
    return arg.split("=", 1)[0]


def arg_value(cmdline, key):
    """The value of ``key`` on a command line (the last one wins, as in the kernel), "" for a bare
    flag, None when absent."""
    value = None
    for arg in split_args(cmdline or ""):
        name, sep, rest = arg.partition("=")
        if name == key:
            value = rest if sep else ""
    return value


def _render(key, value):
    return key if value is None else "%s=%s" % (key, value)


def check_args(args, remove, option="args"):
    """Raise CmdlineError when a key or value cannot go on a command line."""
    for key, value in (args or {}).items():
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise CmdlineError("%s: %r is not a kernel argument name; write letters, digits, '.', '_' and '-'"
                               % (option, key))
        if value is not None and (not isinstance(value, str) or not _VALUE_RE.fullmatch(value)):
            raise CmdlineError("%s.%s: %r must be printable ASCII without blanks, control characters (such as a "
                               "newline), quotes, '\\', '$' or '`'" % (option, key, value))
    for key in remove or []:
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise CmdlineError("remove: %r is not a kernel argument name; write letters, digits, '.', '_' and '-'"
                               % (key,))


def set_args(cmdline, args=None, remove=None):
    """``cmdline`` with each of ``args`` set (replaced where present, appended where not; a None value
    is a bare flag) and the keys in ``remove`` taken out. Other arguments keep their order."""
    args = args or {}
    remove = set(remove or [])
    done = set()
    out = []
    for arg in split_args(cmdline or ""):
        key = _key(arg)
        if key in remove:
            continue
        if key in args:
            if key not in done:
                out.append(_render(key, args[key]))
                done.add(key)
            continue
        out.append(arg)
    out.extend(_render(key, value) for key, value in args.items() if key not in done)
    return " ".join(out)


def _assignment_re(variable):
    return re.compile(r"^(?P<prefix>\s*(?:export\s+)?%s=)(?P<rest>.*)$" % re.escape(variable))


def _unquote(rest, variable, path):
    """(quote character, value) of the right-hand side of a shell assignment."""
    rest = rest.rstrip()
    comment = ""
    if rest[:1] in ('"', "'"):
        quote = rest[0]
        end = rest.find(quote, 1)
        if end < 0:
            raise CmdlineError("%s: the value of %s has no closing %s; fix the file first" % (path, variable, quote))
        value, comment = rest[1:end], rest[end + 1:].strip()
    else:
        quote = '"'
        value, _sep, comment = rest.partition(" #")
        comment = ("#" + comment) if _sep else ""
        if re.search(r"\s", value.strip()):
            raise CmdlineError("%s: the value of %s has blanks but no quotes; fix the file first" % (path, variable))
    if comment and not comment.startswith("#"):
        raise CmdlineError("%s: the line of %s goes on after its value (%r); this module edits only a plain "
                           "assignment, so edit the line by hand" % (path, variable, comment))
    if quote == '"' and ("\\" in value or "`" in value or '"' in value):
        raise CmdlineError("%s: the value of %s uses escapes or command substitution; this module edits only "
                           "plain values, so edit it by hand" % (path, variable))
    return quote, value, comment


def grub_variable(text, variable, path="/etc/default/grub"):
    """The value of ``variable`` in a /etc/default/grub text (the last assignment wins), or None."""
    pattern = _assignment_re(variable)
    value = None
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            value = _unquote(match.group("rest"), variable, path)[1]
    return value


def set_grub_variable(text, variable, args=None, remove=None, path="/etc/default/grub"):
    """(new text, value before, value after) with ``args`` set and ``remove`` taken out of ``variable``.

    Edits the last assignment of the variable in place, keeping its quotes,
    its other arguments and every other line; adds ``VARIABLE="..."`` at the
    end when the file has none.
    """
    pattern = _assignment_re(variable)
    lines = text.splitlines(True)
    index = None
    for number, line in enumerate(lines):
        if pattern.match(line.rstrip("\n")):
            index = number
    if index is None:
        after = set_args("", args, remove)
        if not after:
            return text, None, None
        tail = "" if not text or text.endswith("\n") else "\n"
        return text + tail + '%s="%s"\n' % (variable, after), None, after
    line = lines[index]
    ending = "\n" if line.endswith("\n") else ""
    match = pattern.match(line.rstrip("\n"))
    quote, before, comment = _unquote(match.group("rest"), variable, path)
    after = set_args(before, args, remove)
    if after == " ".join(split_args(before)):
        return text, before, before
    lines[index] = "%s%s%s%s%s%s" % (match.group("prefix"), quote, after, quote,
                                     (" " + comment) if comment else "", ending)
    return "".join(lines), before, after
