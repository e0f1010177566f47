# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A compose project, from its sources to the model the module takes (see COMPOSE_CONTRACT in the docs).

Order, as compose does it: read the env files, then each compose file: parse, interpolate, resolve
``extends``; merge the files; drop ``x-`` keys; apply profiles; normalise; check the dependencies.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol, Set, Tuple

from ansible_collections.dockhand.runtime.plugins.module_utils.host import redact
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.dotenv import parse_env
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.extends import resolve_extends
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.forms import string_list
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.interpolate import interpolate_document
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import parse_compose, type_name
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.merge import merge_documents, strip_markers
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.names import SERVICE_NAME, project_name
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.resources import (
    normalise_networks,
    normalise_top_volumes,
)
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.service import Context, normalise_service

# compose's file names, in its order of preference; the override file is merged after the first one found.
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
TOP_LEVEL_KEYS = ("name", "services", "networks", "volumes", "version")


class Reader(Protocol):
    """Reads a file by absolute path: its text, or None when there is no such file (other failures raise)."""

    def read(self, path: str) -> Optional[str]:
        """The file's text, or None."""


@dataclass
class Request:
    """The task's source options (paths already absolute where the action plugin made them so)."""

    project_src: Optional[str] = None
    files: Optional[List[str]] = None
    definition: Any = None
    env_files: Optional[List[str]] = None
    profiles: List[str] = field(default_factory=list)
    project_name: Optional[str] = None
    services: List[str] = field(default_factory=list)
    environment: Dict[str, str] = field(default_factory=dict)


def _absolute(path: Any, option: str, project_src: Optional[str]) -> str:
    if not isinstance(path, str) or not path or any(ord(char) < 32 for char in path):
        raise ComposeError("%s: expected a path, got %r" % (option, path))
    if path.startswith("/"):
        return posixpath.normpath(path)
    if project_src is None:
        raise ComposeError("%s: %r is relative: give an absolute path, or a path relative to project_src together "
                           "with project_src (the playbook's directory is not assumed)" % (option, path))
    return posixpath.normpath(posixpath.join(project_src, path))


def dependency_cycle(services: Dict[str, Dict[str, Any]]) -> Optional[List[str]]:
    """A cycle in depends_on (``["a", "b", "a"]``), or None."""
    state: Dict[str, int] = {}

    def visit(name: str, trail: List[str]) -> Optional[List[str]]:
        state[name] = 1
        for dependency in sorted(services[name].get("depends_on") or {}):
            if dependency not in services:
                continue
            if state.get(dependency) == 1:
                return trail[trail.index(dependency):] + [dependency]
            if dependency not in state:
                found = visit(dependency, trail + [dependency])
                if found:
                    return found
        state[name] = 2
        return None

    for name in sorted(services):
        if name not in state:
            found = visit(name, [name])
            if found:
                return found
    return None


class ProjectBuilder:
    """Builds the model from a :class:`Request` through a :class:`Reader`; keeps what a message must mask."""

    def __init__(self, request: Request, reader: Reader):
        self.request = request
        self.reader = reader
        self.secrets: Set[str] = set()
        self.warnings: List[str] = []
        self.environment: Dict[str, str] = {}
        self._documents: Dict[str, Tuple[Dict[str, Any], str]] = {}
        self._remember(request.environment)

    # -- masking -----------------------------------------------------------------------------------------------
    def _remember(self, variables: Dict[str, str]) -> None:
        self.secrets.update(redact.secret_values({"environment": variables}))

    def mask(self, text: str) -> str:
        """``text`` with every secret the sources held masked (longest first), and URL credentials masked."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, redact.MASK)
        return redact.mask_urls(text)

    # -- reading -----------------------------------------------------------------------------------------------
    def _read(self, path: str, what: str, required: bool = True) -> Optional[str]:
        text = self.reader.read(path)
        if text is None and required:
            raise ComposeError("%s %s does not exist" % (what, path))
        return text

    def _env_file(self, path: str, lookup, what: str, required: bool = True) -> Optional[Dict[str, str]]:
        text = self._read(path, what, required)
        if text is None:
            return None
        variables = parse_env(text, path, lookup)
        self._remember(variables)
        return variables

    def _load_environment(self, working_dir: Optional[str]) -> None:
        """The interpolation environment: the task's environment over env_files (or the project's .env)."""
        task = self.request.environment
        found: Dict[str, str] = {}

        def lookup(name):
            return task.get(name, found.get(name))

        if self.request.env_files is not None:
            for path in string_list(self.request.env_files, ("env_files",)):
                full = _absolute(path, "env_files", self.request.project_src)
                found.update(self._env_file(full, lookup, "env_files: the file"))
        elif working_dir is not None:
            found.update(self._env_file(posixpath.join(working_dir, ".env"), lookup, ".env", required=False) or {})
        self.environment = dict(found, **task)

    def _document(self, path: str) -> Tuple[Dict[str, Any], str]:
        """A compose file: parsed and interpolated (cached: extends may name it again)."""
        if path not in self._documents:
            document = parse_compose(self._read(path, "the compose file"), path)
            document, unset = interpolate_document(document, self.environment, path)
            self._warn_unset(unset)
            self._documents[path] = (document, path)
        return self._documents[path]

    def _warn_unset(self, names: List[str]) -> None:
        for name in names:
            message = "the variable %s is not set: it was replaced by an empty string" % name
            if message not in self.warnings:
                self.warnings.append(message)

    # -- sources -----------------------------------------------------------------------------------------------
    def _config_files(self) -> List[str]:
        request = self.request
        if request.files is not None:
            if not isinstance(request.files, list) or not request.files:
                raise ComposeError("files: expected a non-empty list of paths")
            return [_absolute(path, "files", request.project_src) for path in request.files]
        base = next((posixpath.join(request.project_src, name) for name in DEFAULT_FILES
                     if self.reader.read(posixpath.join(request.project_src, name)) is not None), None)
        if base is None:
            raise ComposeError("project_src: %s holds none of %s" % (request.project_src, ", ".join(DEFAULT_FILES)))
        override = next((posixpath.join(request.project_src, name) for name in OVERRIDE_FILES
                         if self.reader.read(posixpath.join(request.project_src, name)) is not None), None)
        return [base] + ([override] if override else [])

    def _check_sources(self) -> None:
        request = self.request
        if request.definition is not None and request.files is not None:
            raise ComposeError("give one of files and definition, not both (project_src may go with either)")
        if request.definition is None and request.files is None and request.project_src is None:
            raise ComposeError("give one of project_src, files or definition")
        if request.project_src is not None and (not isinstance(request.project_src, str)
                                                or not request.project_src.startswith("/")):
            raise ComposeError("project_src: expected an absolute directory, got %r" % (request.project_src,))

    def _definition(self) -> Dict[str, Any]:
        definition = self.request.definition
        if isinstance(definition, str):
            document = parse_compose(definition, "definition")
        elif isinstance(definition, dict):
            document = definition
        else:
            raise ComposeError("definition: expected a mapping or a YAML string, got a %s" % type_name(definition))
        document, unset = interpolate_document(document, self.environment, "definition")
        self._warn_unset(unset)
        return document

    # -- the model ---------------------------------------------------------------------------------------------
    def build(self) -> Dict[str, Any]:
        """The model (the contract's ``project``)."""
        self._check_sources()
        request = self.request
        config_files = [] if request.definition is not None else self._config_files()
        working_dir = request.project_src or (posixpath.dirname(config_files[0]) if config_files else None)
        self._load_environment(working_dir)
        documents = []
        if request.definition is not None:
            documents.append(resolve_extends(self._definition(), "definition", working_dir, self._document))
        for path in config_files:
            document, source = self._document(path)
            documents.append(resolve_extends(document, source, posixpath.dirname(path), self._document))
        merged: Dict[str, Any] = {}
        for document in documents:
            merged = merge_documents(merged, document)
        merged = strip_markers(merged)
        model = self._model(merged, working_dir, config_files)
        model["mask"] = self.used_secrets(model)
        return model

    def used_secrets(self, model: Dict[str, Any]) -> List[str]:
        """The values of secret-named variables (task environment, .env, env_files) that reached the model through
        interpolation or an env_file: the module and the action plugin mask them wherever they show."""
        texts: List[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, str):
                texts.append(value)

        walk(model)
        return sorted(secret for secret in self.secrets if any(secret in text for text in texts))

    def _model(self, document: Dict[str, Any], working_dir: Optional[str], config_files: List[str]) -> Dict[str, Any]:
        document = {key: value for key, value in document.items() if not str(key).startswith("x-")}
        unknown = sorted(str(key) for key in set(document) - set(TOP_LEVEL_KEYS))
        if unknown:
            raise ComposeError("the top-level key %s is not supported (supported: %s)"
                               % (unknown[0], ", ".join(TOP_LEVEL_KEYS)), (unknown[0],))
        name = project_name(self.request.project_name, document.get("name"), working_dir,
                            self.environment.get("COMPOSE_PROJECT_NAME"))
        services = document.get("services") or {}
        if not isinstance(services, dict):
            raise ComposeError("expected a mapping, got a %s" % type_name(services), ("services",))
        for service_name in services:
            if not isinstance(service_name, str) or not SERVICE_NAME.fullmatch(service_name):
                raise ComposeError("%r is not a valid service name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)" % (service_name,),
                                   ("services",))
        enabled = self._enabled_services(services)
        volumes = normalise_top_volumes(document, name)
        top_networks = document.get("networks") or {}
        context = Context(working_dir=working_dir, environment=self.environment, read_env_file=self._service_env_file,
                          networks=[str(key) for key in top_networks] if isinstance(top_networks, dict) else [],
                          volumes=list(volumes))
        model_services = {service_name: normalise_service(service_name, services[service_name], context)
                          for service_name in enabled}
        self._check_dependencies(model_services, services)
        uses_default = any("default" in (service.get("networks") or {}) for service in model_services.values())
        return {"name": name, "working_dir": working_dir, "config_files": config_files, "services": model_services,
                "networks": normalise_networks(document, name, uses_default), "volumes": volumes}

    def _service_env_file(self, path: str, required: bool, where) -> Optional[Dict[str, str]]:
        try:
            return self._env_file(path, self.environment.get, "the env_file", required)
        except ComposeError as exc:
            raise ComposeError(exc.message, where) from None

    def _enabled_services(self, services: Dict[str, Any]) -> List[str]:
        """The services the active profiles enable (services named in the task's services enable theirs)."""
        def profiles_of(service_name: str) -> List[str]:
            service = services[service_name]
            value = service.get("profiles") if isinstance(service, dict) else None
            where = ("services", service_name, "profiles")
            for index, item in enumerate(value if isinstance(value, list) else [value] if value is not None else []):
                if not isinstance(item, str):  # a profile is a name: 5 is refused, not made "5"
                    raise ComposeError("expected a profile name, got %r" % (item,),
                                       where + ((index,) if isinstance(value, list) else ()))
            return string_list(value, where)

        active = set(string_list(self.request.profiles, ("profiles",)))
        if not active and self.environment.get("COMPOSE_PROFILES"):  # the profiles option wins over it
            active = {item.strip() for item in self.environment["COMPOSE_PROFILES"].split(",") if item.strip()}
        for service_name in self.request.services or []:
            if service_name not in services:
                raise ComposeError("services: the project has no service %r (it has %s)"
                                   % (service_name, ", ".join(sorted(services)) or "none"))
            active.update(profiles_of(service_name))
        return [service_name for service_name in services
                if not profiles_of(service_name) or "*" in active or active & set(profiles_of(service_name))]

    @staticmethod
    def _check_dependencies(model: Dict[str, Dict[str, Any]], services: Dict[str, Any]) -> None:
        for service_name, service in model.items():
            for dependency, options in list((service.get("depends_on") or {}).items()):
                where = ("services", service_name, "depends_on", dependency)
                if dependency in model:
                    continue
                if not options["required"]:
                    del service["depends_on"][dependency]
                elif dependency in services:
                    wanted = services[dependency].get("profiles") if isinstance(services[dependency], dict) else None
                    raise ComposeError("service %r is in profiles %s, none of which is active: add one to profiles, "
                                       "or set required: false" % (dependency, wanted), where)
                else:
                    raise ComposeError("the project has no service %r" % dependency, where)
        cycle = dependency_cycle(model)
        if cycle:
            raise ComposeError("depends_on makes a cycle: %s" % " -> ".join(cycle),
                               ("services", cycle[0], "depends_on"))


def build_project(request: Request, reader: Reader) -> Tuple[Dict[str, Any], List[str]]:
    """(model, warnings) for a request; raises ComposeError with a masked message."""
    builder = ProjectBuilder(request, reader)
    try:
        return builder.build(), builder.warnings
    except ComposeError as exc:
        raise ComposeError(builder.mask(exc.message)) from None
