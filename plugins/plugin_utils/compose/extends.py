# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``extends``: a service built on another one, of the same file or of another file (relative to the extending file).

Resolved per file, before the files are merged, as compose does. Relative paths in a service taken from
another file (``env_file``, bind sources, ``build``) are made absolute against that file's directory.
"""

from __future__ import annotations

import posixpath
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import type_name
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.merge import merge_service, strip_markers

# absolute path -> (interpolated document, display name)
LoadFile = Callable[[str], Tuple[Dict[str, Any], str]]


def _absolute(path: str, directory: str) -> str:
    if path.startswith(("/", "~")):
        return path
    return posixpath.normpath(posixpath.join(directory, path))


def rebase_paths(service: Dict[str, Any], directory: str) -> Dict[str, Any]:
    """The service with its relative ``env_file``, bind sources and ``build`` context made absolute."""
    result = dict(service)
    env_file = result.get("env_file")
    if isinstance(env_file, str):
        result["env_file"] = _absolute(env_file, directory)
    elif isinstance(env_file, list):
        result["env_file"] = [
            _absolute(item, directory) if isinstance(item, str)
            else dict(item, path=_absolute(item["path"], directory))
            if isinstance(item, dict) and isinstance(item.get("path"), str) else item
            for item in env_file]
    volumes = result.get("volumes")
    if isinstance(volumes, list):
        rebased = []
        for item in volumes:
            if isinstance(item, str) and item.startswith(".") and ":" in item:
                source, _sep, rest = item.partition(":")
                rebased.append("%s:%s" % (_absolute(source, directory), rest))
            elif isinstance(item, dict) and item.get("type") == "bind" and isinstance(item.get("source"), str):
                rebased.append(dict(item, source=_absolute(item["source"], directory)))
            else:
                rebased.append(item)
        result["volumes"] = rebased
    build = result.get("build")
    if isinstance(build, str):
        result["build"] = _absolute(build, directory)
    elif isinstance(build, dict) and isinstance(build.get("context"), str) and "://" not in build["context"]:
        result["build"] = dict(build, context=_absolute(build["context"], directory))
    return result


def _target(extends: Any, path) -> Tuple[str, Optional[str]]:
    if isinstance(extends, str):
        return extends, None
    if isinstance(extends, dict):
        unknown = sorted(set(extends) - {"service", "file"})
        if unknown:
            raise ComposeError("key %s is not part of extends (service, file)" % unknown[0], path + (unknown[0],))
        service, file = extends.get("service"), extends.get("file")
        if not isinstance(service, str) or not service:
            raise ComposeError("extends needs service: the name of the service to extend", path)
        if file is not None and (not isinstance(file, str) or not file):
            raise ComposeError("expected a file path, got %s" % type_name(file), path + ("file",))
        return service, file
    raise ComposeError("expected a service name or a mapping with service (and file), got a %s"
                       % type_name(extends), path)


def resolve_extends(document: Dict[str, Any], source: str, directory: Optional[str],
                    load_file: LoadFile) -> Dict[str, Any]:
    """``document`` with every service's ``extends`` resolved (``directory``: where the file is, None inline)."""
    services = document.get("services")
    if not isinstance(services, dict):
        return document
    cache: Dict[Tuple[str, str], Dict[str, Any]] = {}

    def resolve(name: str, file_services: Dict[str, Any], file_source: str, file_dir: Optional[str],
                stack: List[str]) -> Dict[str, Any]:
        key = (file_source, name)
        if key in cache:
            return cache[key]
        service = file_services[name]
        path = ("services", name)
        if not isinstance(service, dict) or "extends" not in service:
            cache[key] = service
            return service
        label = "%s (%s)" % (name, file_source)
        if label in stack:
            raise ComposeError("extends makes a cycle: %s" % " -> ".join(stack[stack.index(label):] + [label]),
                               path + ("extends",), file_source)
        target, file = _target(service["extends"], path + ("extends",))
        if file is None:
            base_services, base_source, base_dir = file_services, file_source, file_dir
        else:
            if file_dir is None and not file.startswith("/"):
                raise ComposeError("extends.file %r is relative, and an inline definition has no directory: give "
                                   "project_src or an absolute path" % file, path + ("extends", "file"), file_source)
            full = _absolute(file, file_dir or "/")
            other, base_source = load_file(full)
            base_services = other.get("services")
            base_dir = posixpath.dirname(full)
            if not isinstance(base_services, dict):
                base_services = {}
        if target not in base_services:
            raise ComposeError("extends names service %r, which %s does not define" % (target, base_source),
                               path + ("extends",), file_source)
        base = resolve(target, base_services, base_source, base_dir, stack + [label])
        if not isinstance(base, dict):
            raise ComposeError("the extended service %r is not a mapping" % target, path + ("extends",), file_source)
        if base_dir is not None and base_dir != file_dir:
            base = rebase_paths(base, base_dir)
        own = {k: v for k, v in service.items() if k != "extends"}
        merged = merge_service(strip_markers(base), own, path)
        cache[key] = merged
        return merged

    resolved = {name: resolve(name, services, source, directory, []) for name in services}
    return dict(document, services=resolved)
