# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose YAML: safe_load with anchors and merge keys, duplicate keys refused, ``!reset`` and ``!override``."""

from __future__ import annotations

from typing import Any, Optional

import yaml

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError

MERGE_TAG = "tag:yaml.org,2002:merge"


class Reset:
    """``key: !reset ...``: the key is removed from what the earlier files or the extended service gave."""

    def __eq__(self, other):
        return isinstance(other, Reset)

    def __hash__(self):
        return hash("!reset")

    def __repr__(self):
        return "Reset()"


class Override:
    """``key: !override value``: the value replaces what the earlier files gave instead of merging with it."""

    def __init__(self, value: Any):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Override) and other.value == self.value

    def __hash__(self):
        return hash(("!override", repr(self.value)))

    def __repr__(self):
        return "Override(%r)" % (self.value,)


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader with YAML's merge-key order and a key given twice in one mapping refused.

    Keys written in the mapping win over merged ones; among merged mappings the first one wins
    (``<<: [*a, *b]``: a before b), as the merge-key specification and compose say.
    """

    def _scalar_key(self, key_node):
        key = self.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar", key_node.start_mark) from None
        return key

    def flatten_mapping(self, node):
        if getattr(node, "compose_flattened", False):
            return
        merged, explicit, seen = [], [], {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise yaml.constructor.ConstructorError(
                            "while reading the mapping at line %d" % (node.start_mark.line + 1), node.start_mark,
                            "<< merges a mapping or a list of mappings, not a %s" % source.id, source.start_mark)
                    self.flatten_mapping(source)
                    merged.extend(source.value)
                continue
            if key_node.tag == "tag:yaml.org,2002:value":
                key_node.tag = "tag:yaml.org,2002:str"
            key = self._scalar_key(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading the mapping at line %d" % (node.start_mark.line + 1), node.start_mark,
                    "the key %r is given twice (first at line %d)" % (key, seen[key] + 1), key_node.start_mark)
            seen[key] = key_node.start_mark.line
            explicit.append((key_node, value_node))
        first = []
        for key_node, value_node in merged:
            key = self._scalar_key(key_node)
            if key not in seen:
                seen[key] = key_node.start_mark.line
                first.append((key_node, value_node))
        node.value = first + explicit
        node.compose_flattened = True


def _construct_tagged(loader: _Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node) if node.value != "" else None


def _construct_reset(loader: _Loader, node: yaml.Node) -> Reset:
    _construct_tagged(loader, node)
    return Reset()


def _construct_override(loader: _Loader, node: yaml.Node) -> Override:
    value = _construct_tagged(loader, node)
    if isinstance(node, yaml.ScalarNode) and value is not None and node.style is None:
        # a plain scalar after the tag: resolve it as the tag-less YAML would (42, true, ...)
        tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
        value = loader.yaml_constructors[tag](loader, yaml.ScalarNode(tag, node.value))
    return Override(value)


_Loader.add_constructor("!reset", _construct_reset)
_Loader.add_constructor("!override", _construct_override)


def parse_yaml(text: str, source: str) -> Any:
    """The document in ``text``; a YAML error names ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = " line %d, column %d:" % (mark.line + 1, mark.column + 1) if mark else ""
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ComposeError("not valid YAML:%s %s" % (line, problem), source=source) from None
    except yaml.YAMLError as exc:
        raise ComposeError("not valid YAML: %s" % exc, source=source) from None


def parse_compose(text: str, source: str) -> dict:
    """A compose document: a mapping at the top (an empty file counts as ``{}``)."""
    document = parse_yaml(text, source)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ComposeError("a compose file holds a mapping at the top, this one holds a %s"
                           % type(document).__name__, source=source)
    return document


def type_name(value: Optional[Any]) -> str:
    """How a YAML value's type reads in a message."""
    if value is None:
        return "null"
    for kind, name in ((bool, "boolean"), (dict, "mapping"), (list, "list"), (str, "string"), (int, "integer"),
                       (float, "number")):
        if isinstance(value, kind):
            return name
    return type(value).__name__
