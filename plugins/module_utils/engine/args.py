# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options every engine module shares, and the module-side glue.

Option names, aliases and environment variables follow community.docker so
that a task moves over by changing its module name. One difference, on
purpose: ``validate_certs`` defaults to true, so TLS is verified unless the
user says otherwise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    DEFAULT_DOCKER_HOST,
    DEFAULT_TIMEOUT,
    EngineClient,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import fail_with
from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule

ENGINE_ARGUMENT_SPEC = {
    "docker_host": {"type": "str", "default": DEFAULT_DOCKER_HOST, "aliases": ["docker_url"],
                    "fallback": (env_fallback, ["DOCKER_HOST"])},
    "tls_hostname": {"type": "str", "fallback": (env_fallback, ["DOCKER_TLS_HOSTNAME"])},
    "api_version": {"type": "str", "default": "auto", "aliases": ["docker_api_version"],
                    "fallback": (env_fallback, ["DOCKER_API_VERSION"])},
    "timeout": {"type": "int", "default": DEFAULT_TIMEOUT, "fallback": (env_fallback, ["DOCKER_TIMEOUT"])},
    "ca_path": {"type": "path", "aliases": ["ca_cert", "tls_ca_cert", "cacert_path"]},
    "client_cert": {"type": "path", "aliases": ["tls_client_cert", "cert_path"]},
    "client_key": {"type": "path", "aliases": ["tls_client_key", "key_path"]},
    "tls": {"type": "bool", "default": False, "fallback": (env_fallback, ["DOCKER_TLS"])},
    "validate_certs": {"type": "bool", "default": True, "aliases": ["tls_verify"]},
    "allow_plain_tcp": {"type": "bool", "default": False},
    # community.docker's, accepted so its tasks move over: see the engine doc fragment for what each does here
    "debug": {"type": "bool", "default": False},
    "use_ssh_client": {"type": "bool", "default": False},
}

ENGINE_OPTION_NAMES = frozenset(ENGINE_ARGUMENT_SPEC)

# Files looked for in DOCKER_CERT_PATH, as the docker CLI does.
_CERT_PATH_FILES = (("ca_path", "ca.pem"), ("client_cert", "cert.pem"), ("client_key", "key.pem"))


def connection_params(params, environ=None):
    """The connection parameters, completed from DOCKER_CERT_PATH and DOCKER_TLS_VERIFY."""
    environ = os.environ if environ is None else environ
    resolved = {name: params.get(name) for name in ENGINE_OPTION_NAMES}
    if environ.get("DOCKER_TLS_VERIFY"):
        resolved["tls"] = True
    cert_dir = environ.get("DOCKER_CERT_PATH")
    if cert_dir and resolved.get("tls"):
        for option, filename in _CERT_PATH_FILES:
            candidate = os.path.join(cert_dir, filename)
            if not resolved.get(option) and os.path.isfile(candidate):
                resolved[option] = candidate
    return resolved


def engine_argument_spec(**module_options):
    """The shared connection options plus a module's own."""
    spec = {name: dict(value) for name, value in ENGINE_ARGUMENT_SPEC.items()}
    spec.update(module_options)
    return spec


def engine_module(argument_spec, **kwargs):
    """An AnsibleModule (ProtectedModule) with the shared connection options added."""
    kwargs.setdefault("supports_check_mode", True)
    return ProtectedModule(argument_spec=engine_argument_spec(**argument_spec), **kwargs)


def make_client(params):
    """An EngineClient from the module's parameters; raises EngineError(kind=config)."""
    p = connection_params(params)
    return EngineClient(
        docker_host=p["docker_host"],
        tls=bool(p["tls"]),
        validate_certs=p["validate_certs"] if p["validate_certs"] is not None else True,
        ca_path=p["ca_path"],
        client_cert=p["client_cert"],
        client_key=p["client_key"],
        tls_hostname=p["tls_hostname"],
        api_version=p["api_version"] or "auto",
        timeout=p["timeout"] or DEFAULT_TIMEOUT,
        allow_plain_tcp=bool(p["allow_plain_tcp"]),
    )


def fail_on_engine_error(module, exc, **result):
    """Fail the module with the error's message and its data under ``engine_error``."""
    fail_with(module, exc, **result)
