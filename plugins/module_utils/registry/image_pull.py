# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pulling images through the engine, shared by the image and container modules.

The stored credentials for the image's registry (read lazily, only when a pull
needs them), the pull itself, what the registry serves (asked through the
engine, for check mode), and a failure message in words.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError, object_path
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls
from ansible_collections.dockhand.runtime.plugins.module_utils.registry import auth as registry_auth

_AUTH_WORDS = ("unauthorized", "authentication required", "no basic auth credentials", "denied",
               "forbidden", "incorrect username or password")
_MISSING_WORDS = ("not found", "manifest unknown", "does not exist", "name unknown", "no such")
NETWORK_WORDS = ("connection refused", "no such host", "i/o timeout", "timeout", "network is unreachable",
                 "no route to host", "http response to https client", "certificate", "tls:", "x509")


class Credentials:
    """The stored credentials for the image's registry, read lazily (only when a pull needs them)."""

    def __init__(self, module, ref):
        self.module = module
        self.ref = ref
        self.path = None
        self.found = None
        self.problem = None
        self._header = None
        self._loaded = False

    def header(self):
        if not self._loaded:
            self._loaded = True
            self._load()
        return {"X-Registry-Auth": self._header} if self._header else None

    def _load(self):
        self.path = self.module.params["config_path"] or registry_auth.default_config_path()
        try:
            _raw, config = registry_auth.read_config(self.path)
            stored = registry_auth.find_credentials(config, self.ref.registry)
        except registry_auth.AuthConfigError as exc:
            self.problem = str(exc)
            self.module.warn("pulling %s without credentials: %s" % (self.ref.familiar, exc))
            return
        self.found = stored is not None
        if stored:
            if stored["password"]:
                self.module.no_log_values.add(stored["password"])
            self._header = registry_auth.x_registry_auth(
                stored, registry_auth.image_registry_key(self.ref.registry))

    def describe(self):
        """Words about the credentials, for a failure's message."""
        if not self._loaded:
            return ""
        registry = self.ref.registry
        if self.problem:
            return " No credentials were sent: %s." % self.problem
        if self.found:
            return (" The credentials stored for %s in %s were sent; if they are outdated, log in again "
                    "with dockhand.runtime.registry_login." % (registry, self.path))
        return (" No credentials for %s were found in %s; if the image is private, log in first with "
                "dockhand.runtime.registry_login (or set config_path)." % (registry, self.path))


def hub_mirrors(client, ref):
    """The engine's registry mirrors when ``ref`` is a Docker Hub image (for a failed pull's message), else []."""
    if ref.registry != "docker.io":
        return []
    try:
        return list(((client.info() or {}).get("RegistryConfig") or {}).get("Mirrors") or [])
    except EngineError:
        return []


def pull_failure(ref, exc, credentials, check_mode=False, option="name", mirrors=()):
    """A message for a pull (or a check-mode registry query) that failed.

    ``mirrors`` are the engine's registry mirrors (see :func:`hub_mirrors`): with them, a Docker Hub pull
    that ends on an unreachable docker.io means the mirrors did not serve the image.
    """
    said = exc.daemon_message or str(exc)
    lowered = said.lower()
    if any(word in lowered for word in _AUTH_WORDS) or exc.status in (401, 403):
        why = "the registry refused access"
        advice = credentials.describe() or " Log in with dockhand.runtime.registry_login if the image is private."
    elif mirrors and any(word in lowered for word in NETWORK_WORDS):
        why = ("the engine's registry mirrors (%s) did not serve it, and docker.io itself is unreachable from "
               "this host" % ", ".join(mask_urls(str(m)) for m in mirrors))
        advice = (" Check the name, tag and digest in %s, and that the mirrors serve that image (a mirror may serve "
                  "only an allow-list of images)." % option)
    elif any(word in lowered for word in NETWORK_WORDS):
        why = "the engine cannot reach the registry %s" % ref.registry
        advice = (" Check the registry host and port in %s, the host's network, and, for a registry "
                  "without TLS, the engine's insecure-registries (or its registry mirrors)." % option)
    elif any(word in lowered for word in _MISSING_WORDS) or exc.status == 404:
        why = "the registry has no such repository, tag or digest"
        advice = " Check the name, tag and digest in %s." % option + credentials.describe()
    else:
        why = "the engine could not pull it"
        advice = ""
    prefix = "cannot pull image %s (%s)" % (ref.familiar, option)
    if check_mode:
        prefix = "image %s (%s) would fail to pull (the registry was asked in check mode)" % (ref.familiar, option)
    return "%s: %s: %s.%s" % (prefix, why, said.rstrip("."), advice)


def remote_digest(client, ref, credentials):
    """The digest the registry serves for ``ref`` (asked through the engine); raises EngineError."""
    answer = client.get(object_path("distribution", ref.local, "/json"), headers=credentials.header())
    return ((answer or {}).get("Descriptor") or {}).get("digest")


def pull(client, ref, credentials):
    """Pull ``ref`` through the engine (raises EngineError); returns the image's inspect afterwards."""
    for _event in client.stream("POST", "/images/create", params=ref.pull_params, headers=credentials.header()):
        pass
    return client.inspect("image", ref.local)


def pull_error_message(ref, exc, credentials, option="name", mirrors=()):
    """The message for an EngineError raised by :func:`pull`."""
    if exc.kind in ("http", "stream"):
        return pull_failure(ref, exc, credentials, option=option, mirrors=mirrors)
    message = "cannot pull image %s (%s): %s" % (ref.familiar, option, exc)
    if exc.kind == "timeout":
        message += "; the registry or the engine is slow: raise timeout (seconds without progress)"
    return message
