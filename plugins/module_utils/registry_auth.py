# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials in the Docker config file (``config.json``), as the docker CLI keeps them.

The file is plain data: ``{"auths": {"<registry>": {"auth": base64("user:password")}}, ...}``
next to keys this module never touches (``credsStore``, ``credHelpers``, ``proxies``,
``HttpHeaders``, ...). Docker Hub's entry is keyed ``https://index.docker.io/v1/``,
every other registry by its ``host[:port]``; a lookup also finds entries written
with a scheme or a path, as the docker CLI does.

The pure parts (keys, encoding, lookup, merge, masking) need no I/O; the edges
read the file and write it atomically with mode 0600.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import json
import os
from urllib.parse import urlsplit

from ansible_collections.dockhand.runtime.plugins.module_utils.files import FileError, atomic_write, read_bytes

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_NAMES = frozenset(("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"))
CONFIG_FILE_NAME = "config.json"
FILE_MODE = 0o600
DIR_MODE = 0o700
MASK = "********"


class AuthConfigError(Exception):
    """The config file or a registry name is unusable; the message names it and says what to change."""


# --------------------------------------------------------------------------
# Registry names (pure)
# --------------------------------------------------------------------------

def registry_hostname(value):
    """``host[:port]`` of a registry written as a name or URL, lower-cased; Docker Hub is ``docker.io``.

    ``https://index.docker.io/v1/`` -> ``docker.io``; ``http://reg.lan:5000/v2/`` -> ``reg.lan:5000``.
    """
    text = (value or "").strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0].lower()
    if host in DOCKER_HUB_NAMES:
        return "docker.io"
    return host


def normalize_registry(value):
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


def render_config(config):
    """The file's text, as the docker CLI writes it (tab indented), as bytes."""
    return (json.dumps(config, indent="\t") + "\n").encode("utf-8")


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


def with_login(config, key, username, password):
    """A copy of ``config`` whose ``auths[key]`` holds these credentials (other keys and entries kept)."""
    new = copy.deepcopy(config)
    auths = new.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    entry = auths.get(key) if isinstance(auths.get(key), dict) else {}
    # Only the credential fields change; a stale identity token or a plain-text
    # password of an older CLI would take precedence over or contradict the new auth.
    entry = {k: v for k, v in entry.items() if k not in ("auth", "username", "password", "identitytoken",
                                                         "registrytoken")}
    entry["auth"] = encode_auth(username, password)
    auths[key] = entry
    new["auths"] = auths
    return new


def without_login(config, hostname):
    """``(copy of config without hostname's entries, removed keys)``; other entries and keys kept."""
    new = copy.deepcopy(config)
    removed = matching_keys(new, hostname)
    for key in removed:
        del new["auths"][key]
    return new, removed


def masked(config):
    """A copy for diffs and results: every ``auth`` becomes ``user:********``, tokens and passwords ``********``."""
    new = copy.deepcopy(config)
    auths = new.get("auths")
    if not isinstance(auths, dict):
        return new
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                username = decode_auth(entry["auth"])[0]
            except AuthConfigError:
                username = "?"
            entry["auth"] = "%s:%s" % (username, MASK)
        for secret in ("password", "identitytoken", "registrytoken"):
            if entry.get(secret):
                entry[secret] = MASK
        auths[key] = entry
    return new


def scrub(text, *secrets):
    """``text`` with every non-empty secret replaced by ********."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


# --------------------------------------------------------------------------
# Edges: where the file is, reading and writing it
# --------------------------------------------------------------------------

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


def _nearest_existing_dir(path):
    directory = os.path.dirname(os.path.abspath(path))
    while directory and not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return directory


def write_config(path, config):
    """Write ``config`` to ``path`` atomically with mode 0600; raises AuthConfigError.

    A new directory gets mode 0700. Run as root for another user's home, a new
    file and directory get the owner of the nearest existing directory, so the
    user can read them. An existing file keeps its owner; its mode is
    tightened to 0600 before the new content is written.
    """
    owner = None
    try:
        if not os.path.exists(path) and os.geteuid() == 0:
            anchor = os.stat(_nearest_existing_dir(path))
            if anchor.st_uid != 0:
                owner = (anchor.st_uid, anchor.st_gid)
        directory = os.path.dirname(os.path.abspath(path))
        missing = []
        while not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for new_dir in reversed(missing):
            os.mkdir(new_dir, DIR_MODE)
            if owner is not None:
                os.chown(new_dir, owner[0], owner[1])
        if os.path.exists(path) and os.stat(path).st_mode & 0o7777 != FILE_MODE:
            os.chmod(path, FILE_MODE)
        atomic_write(path, render_config(config), mode=FILE_MODE, owner=owner)
    except FileError as exc:
        raise AuthConfigError(str(exc)) from None
    except (IOError, OSError) as exc:
        raise AuthConfigError("cannot write %s: %s" % (path, exc.strerror or exc)) from None


def file_mode(path):
    """The permission bits of ``path``, or None when it does not exist."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None
