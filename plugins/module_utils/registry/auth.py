# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials in the Docker config file (``config.json``), as the docker CLI keeps them.

The file is plain data: ``{"auths": {"<registry>": {"auth": base64("user:password")}}, ...}``
next to keys this module never touches (``credsStore``, ``credHelpers``, ``proxies``,
``HttpHeaders``, ...). Docker Hub's entry is keyed ``https://index.docker.io/v1/``,
every other registry by its ``host[:port]``; a lookup also finds entries written
with a scheme or a path, as the docker CLI does.

This file is what a pull needs: keys, encoding, lookup, and reading the file.
Changing the file (a login, a logout, masked views for diffs) is in
registry_auth_store, which only registry_login uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import os
from urllib.parse import urlsplit

from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import FileError, read_bytes
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import registry_host

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
CONFIG_FILE_NAME = "config.json"


class AuthConfigError(Exception):
    """The config file or a registry name is unusable; the message names it and says what to change."""


# --------------------------------------------------------------------------
# Registry names (pure)
# --------------------------------------------------------------------------

def registry_hostname(value):
    """``host[:port]`` of a registry written as a name or URL, lower-cased; Docker Hub is ``docker.io``."""
    return registry_host(value)


def login_target(value):
    """``(key, hostname)`` for a registry given by a user; raises AuthConfigError.

    ``key`` is what the docker CLI writes under ``auths`` (and sends to
    ``POST /auth`` as ``serveraddress``): ``https://index.docker.io/v1/`` for
    Docker Hub, ``host[:port]`` otherwise.
    """
    text = (value or "").strip()
    if not text:
        raise AuthConfigError("registry is empty; give a host such as registry.example.com:5000, "
                              "or docker.io for Docker Hub")
    probe = text if "://" in text else "//" + text
    try:
        parts = urlsplit(probe)
        port = parts.port
    except ValueError as exc:
        raise AuthConfigError("registry %r is not a host[:port] or URL: %s" % (value, exc)) from None
    if parts.scheme and parts.scheme not in ("http", "https"):
        raise AuthConfigError("registry %r: the scheme must be http or https, or none at all" % value)
    if parts.username or parts.password:
        raise AuthConfigError("registry %r must not carry credentials; give them with username and "
                              "password" % value.split("@")[-1])
    if parts.query or parts.fragment:
        raise AuthConfigError("registry %r must not have a query or fragment" % value)
    if not parts.hostname:
        raise AuthConfigError("registry %r has no host name" % value)
    hostname = registry_hostname(text)
    if hostname == "docker.io":
        return DOCKER_HUB_KEY, hostname
    if port is not None and not 0 < port < 65536:
        raise AuthConfigError("registry %r: port %s is out of range" % (value, port))
    return hostname, hostname


def image_registry_key(registry):
    """The ``auths`` key for an image's registry (``docker.io`` -> Docker Hub's key)."""
    return DOCKER_HUB_KEY if registry_hostname(registry) == "docker.io" else registry_hostname(registry)


# --------------------------------------------------------------------------
# Encoding (pure)
# --------------------------------------------------------------------------

def encode_auth(username, password):
    """The ``auth`` value: base64 of ``username:password``."""
    return base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")


def decode_auth(value):
    """``(username, password)`` from an ``auth`` value; raises AuthConfigError (without the value)."""
    try:
        text = base64.b64decode(value.encode("ascii") if isinstance(value, str) else value,
                                validate=False).decode("utf-8")
    except (binascii.Error, UnicodeError, AttributeError, ValueError):
        raise AuthConfigError("an auth value is not base64 of username:password") from None
    username, sep, password = text.partition(":")
    if not sep:
        raise AuthConfigError("an auth value does not decode to username:password")
    return username, password


def x_registry_auth(credentials, serveraddress):
    """The ``X-Registry-Auth`` header for a pull: URL-safe base64 of the auth JSON, as the docker CLI sends it."""
    data = {"serveraddress": serveraddress}
    if credentials.get("identitytoken"):
        data["identitytoken"] = credentials["identitytoken"]
    else:
        data["username"] = credentials.get("username") or ""
        data["password"] = credentials.get("password") or ""
    return base64.urlsafe_b64encode(json.dumps(data).encode("utf-8")).decode("ascii")


# --------------------------------------------------------------------------
# The config data (pure)
# --------------------------------------------------------------------------

def parse_config(data, path="config.json"):
    """The config file's bytes as a dict (None or empty -> {}); raises AuthConfigError naming the file."""
    if data is None or not data.strip():
        return {}
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        config = json.loads(text)
    except UnicodeError:
        raise AuthConfigError("%s is not UTF-8 text; fix or remove it" % path) from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        where = " at line %s, column %s" % (line, exc.colno) if line else ""
        raise AuthConfigError("%s is not valid JSON%s: %s; fix or remove it"
                              % (path, where, getattr(exc, "msg", exc))) from None
    if not isinstance(config, dict):
        raise AuthConfigError("%s holds a JSON %s, not an object; fix or remove it"
                              % (path, type(config).__name__))
    auths = config.get("auths")
    if auths is not None and not isinstance(auths, dict):
        raise AuthConfigError("%s: \"auths\" is not an object; fix or remove it" % path)
    return config


def matching_keys(config, hostname):
    """Keys of ``auths`` that belong to ``hostname`` (the exact key first)."""
    auths = config.get("auths") or {}
    keys = [key for key in auths if registry_hostname(key) == hostname]
    exact = DOCKER_HUB_KEY if hostname == "docker.io" else hostname
    keys.sort(key=lambda key: key != exact)
    return keys


def find_credentials(config, registry):
    """Stored credentials for ``registry`` (a name or URL), or None.

    Returns ``{"key", "username", "password", "identitytoken"}``; an entry that
    cannot be decoded raises AuthConfigError naming the key.
    """
    hostname = registry_hostname(registry)
    auths = config.get("auths") or {}
    for key in matching_keys(config, hostname):
        entry = auths[key]
        if not isinstance(entry, dict):
            continue
        username, password = entry.get("username"), entry.get("password")
        if entry.get("auth"):
            try:
                username, password = decode_auth(entry["auth"])
            except AuthConfigError as exc:
                raise AuthConfigError("the entry %r under auths: %s" % (key, exc)) from None
        if username or entry.get("identitytoken"):
            return {"key": key, "username": username or "", "password": password or "",
                    "identitytoken": entry.get("identitytoken")}
    return None


def credential_helper(config, hostname):
    """The credential helper the docker CLI would ask for ``hostname`` (credHelpers, then credsStore), or None."""
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, dict):
        for key, helper in helpers.items():
            if registry_hostname(key) == hostname:
                return helper
    store = config.get("credsStore")
    return store or None


def default_config_path(environ=None, home=None):
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` of the user running the module."""
    environ = os.environ if environ is None else environ
    if environ.get("DOCKER_CONFIG"):
        return os.path.join(environ["DOCKER_CONFIG"], CONFIG_FILE_NAME)
    return os.path.join(home or os.path.expanduser("~"), ".docker", CONFIG_FILE_NAME)


def read_config(path):
    """``(raw bytes or None, config dict)``; raises AuthConfigError naming the file."""
    try:
        raw = read_bytes(path)
    except FileError as exc:
        raise AuthConfigError(str(exc)) from None
    return raw, parse_config(raw, path)
