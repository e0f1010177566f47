# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tagging an image and pushing it with the stored credentials, verified by digest.

A push is due only when the registry does not already serve, under the tag, a manifest this engine
recorded for the image (its RepoDigests). After a push, the digest the engine reports must be the
one the registry serves for the tag.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    KIND_HTTP,
    KIND_STREAM,
    EngineError,
    object_path,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import ReportedError
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.image_pull import (
    NETWORK_WORDS,
    remote_digest,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import knows_digest

PUSH_TIMEOUT = 3600
NO_CREDENTIALS = base64.urlsafe_b64encode(b"{}").decode("ascii")  # the engine wants the header on a push


class PushError(ReportedError):
    """A push that failed or could not be verified; the message names the image and the registry."""


def tag_image(client, image_id, target):
    """Point the name ``target`` (an ImageRef with a tag) at ``image_id``."""
    client.post(object_path("image", image_id, "/tag"), params={"repo": target.name, "tag": target.tag})


def served_digest(client, target, credentials):
    """The digest the registry serves for ``target``, or None when it has no such tag; raises EngineError."""
    try:
        return remote_digest(client, target, credentials)
    except EngineError as exc:
        said = (exc.daemon_message or "").lower()
        if exc.kind == KIND_HTTP and (exc.status == 404 or "not found" in said or "manifest unknown" in said):
            return None
        raise


def push_needed(image, target, digest):
    """Whether ``image`` (an inspect) must be pushed to ``target``: the registry serves ``digest`` for it."""
    return not (digest and knows_digest(image.get("RepoDigests"), target, digest))


def push_digest(events):
    """The digest a push stream reports (its ``aux`` object, or the final status line)."""
    digest = None
    for event in events:
        if not isinstance(event, dict):
            continue
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
            digest = aux["Digest"]
        status = event.get("status")
        if digest is None and isinstance(status, str) and "digest: " in status:
            digest = status.split("digest: ", 1)[1].split()[0]
    return digest


def push(client, target, credentials, option="repository"):
    """Push ``target`` (its name and tag) and verify it by digest; returns the digest."""
    header = credentials.header() or {"X-Registry-Auth": NO_CREDENTIALS}
    events = []
    try:
        for event in client.stream("POST", object_path("image", target.name, "/push"), params={"tag": target.tag},
                                   headers=header, timeout=PUSH_TIMEOUT):
            events.append(event)
    except EngineError as exc:
        if exc.kind not in (KIND_STREAM, KIND_HTTP):
            raise
        raise PushError(push_failure(target, exc, credentials, option)) from None
    digest = push_digest(events)
    if not digest:
        raise PushError("pushed %s (%s) but the engine reported no digest; check the registry"
                        % (target.familiar, option))
    try:
        served = served_digest(client, target, credentials)
    except EngineError as exc:
        raise PushError("pushed %s (%s) as %s but cannot ask the registry which digest it serves: %s"
                        % (target.familiar, option, digest, exc.daemon_message or exc)) from None
    if served != digest:
        raise PushError("pushed %s (%s) as %s, but the registry serves %s for it; another push may have "
                        "raced this one" % (target.familiar, option, digest, served or "nothing"))
    return digest


def push_failure(target, exc, credentials, option):
    said = (exc.daemon_message or str(exc)).strip().rstrip(".")
    lowered = said.lower()
    if exc.status in (401, 403) or any(word in lowered for word in ("denied", "unauthorized", "authentication")):
        advice = credentials.describe() or " Log in with dockhand.runtime.registry_login first."
        why = "the registry refused access"
    elif any(word in lowered for word in NETWORK_WORDS):
        why = "the engine cannot reach the registry %s" % target.registry
        advice = (" Check the registry host and port in %s and, for a registry without TLS, the engine's "
                  "insecure-registries." % option)
    else:
        why = "the engine could not push it"
        advice = ""
    return "cannot push image %s (%s): %s: %s.%s" % (target.familiar, option, why, said, advice)
