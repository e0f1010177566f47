# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pulling images through the engine, shared by the image and container modules.

The stored credentials for the image's registry (read lazily, only when a pull
needs them), the pull itself, what the registry serves (asked through the
engine, for check mode), and a failure message in words.

An image of a registry other than Docker Hub is pulled through the mirrors
that Docker's rewrite table (registry/rewrite_table.py) lists for its registry,
in order, then from the registry itself (:class:`Pull`). The table is read only
when a pull is due.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineError, object_path
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import ReportedError
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import FileError, read_bytes
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls
from ansible_collections.dockhand.runtime.plugins.module_utils.registry import auth as registry_auth
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.platform import image_is_of
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    ImageRef,
    ImageReferenceError,
    knows_digest,
)

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


def describe_tried(tried):
    """The mirrors of the rewrite table that did not serve an image, and why, in one clause."""
    return "; ".join("%s: %s" % (mask_urls(entry["url"]), entry["reason"]) for entry in tried)


def pull_failure(ref, exc, credentials, check_mode=False, option="name", mirrors=(), tried=(), table=None):
    """A message for a pull (or a check-mode registry query) that failed.

    ``mirrors`` are the engine's registry mirrors (see :func:`hub_mirrors`): with them, a Docker Hub pull
    that ends on an unreachable docker.io means the mirrors did not serve the image. ``tried`` are the
    mirrors of Docker's rewrite table (the file ``table``) that did not serve it, with the reason for each
    (see :class:`Pull`).
    """
    said = exc.daemon_message or str(exc)
    lowered = said.lower()
    unreachable = any(word in lowered for word in NETWORK_WORDS)
    if any(word in lowered for word in _AUTH_WORDS) or exc.status in (401, 403):
        why = "the registry refused access"
        advice = credentials.describe() or " Log in with dockhand.runtime.registry_login if the image is private."
    elif tried and unreachable:
        why = ("the mirrors of Docker's rewrite table %s did not serve it, and %s itself is unreachable from this "
               "host" % (table, ref.registry))
        advice = (" Check the name, tag and digest in %s, and that the mirrors serve that image (a mirror may serve "
                  "only an allow-list of images)." % option)
    elif mirrors and unreachable:
        why = ("the engine's registry mirrors (%s) did not serve it, and docker.io itself is unreachable from "
               "this host" % ", ".join(mask_urls(str(m)) for m in mirrors))
        advice = (" Check the name, tag and digest in %s, and that the mirrors serve that image (a mirror may serve "
                  "only an allow-list of images)." % option)
    elif unreachable:
        why = "the engine cannot reach the registry %s" % ref.registry
        advice = (" Check the registry host and port in %s, the host's network, and, for a registry "
                  "without TLS, the engine's insecure-registries (or its registry mirrors)." % option)
    elif any(word in lowered for word in _MISSING_WORDS) or exc.status == 404:
        why = "the registry has no such repository, tag or digest"
        advice = " Check the name, tag and digest in %s." % option + credentials.describe()
    else:
        why = "the engine could not pull it"
        advice = ""
    if tried:
        advice += " The mirrors tried first: %s." % describe_tried(tried)
    prefix = "cannot pull image %s (%s)" % (ref.familiar, option)
    if check_mode:
        prefix = "image %s (%s) would fail to pull (the registry was asked in check mode)" % (ref.familiar, option)
    return "%s: %s: %s.%s" % (prefix, why, said.rstrip("."), advice)


def remote_digest(client, ref, credentials, timeout=None):
    """The digest the registry serves for ``ref`` (asked through the engine); raises EngineError."""
    answer = client.get(object_path("distribution", ref.local, "/json"), headers=credentials.header(),
                        timeout=timeout)
    return ((answer or {}).get("Descriptor") or {}).get("digest")


def local_serves(local, ref, mode, platform=None):
    """Whether the local image (an inspect, or None) serves a task without a pull: it is here, of the platform
    asked (unless ``mode`` is never), and ``mode`` is not always (a digest never changes, so a pinned image is
    never pulled again)."""
    if local is None or (mode != "never" and not image_is_of(local, platform)):
        return False
    return mode != "always" or bool(ref.digest)


def pull(client, ref, credentials, platform=None):
    """Pull ``ref`` (for ``platform``, else the engine's own) through the engine (raises EngineError); returns the
    image's inspect afterwards."""
    params = dict(ref.pull_params, platform=platform) if platform else ref.pull_params
    for _event in client.stream("POST", "/images/create", params=params, headers=credentials.header()):
        pass
    return client.inspect("image", ref.local)


def pull_error_message(ref, exc, credentials, option="name", mirrors=(), tried=(), table=None):
    """The message for an EngineError raised by :func:`pull`."""
    if exc.kind in ("http", "stream"):
        return pull_failure(ref, exc, credentials, option=option, mirrors=mirrors, tried=tried, table=table)
    message = "cannot pull image %s (%s): %s" % (ref.familiar, option, exc)
    if exc.kind == "timeout":
        message += "; the registry or the engine is slow: raise timeout (seconds without progress)"
    if tried:
        message += "; the mirrors tried first: %s" % describe_tried(tried)
    return message


# --------------------------------------------------------------------------
# Pulls through Docker's rewrite table (registries other than Docker Hub)
# --------------------------------------------------------------------------

UPSTREAM_TIMEOUT = 15  # seconds the registry itself gets to name its digest (verify_digest: upstream)


class TableUnusable(ReportedError):
    """Docker's rewrite table cannot be read; nothing was pulled."""


def table_code():
    """registry/rewrite_table, imported on first use: a task with nothing to pull never loads it."""
    from ansible_collections.dockhand.runtime.plugins.module_utils.registry import rewrite_table  # noqa: PLC0415
    return rewrite_table


def said(exc):
    """What the engine said about a failure, on one line."""
    return " ".join(str(exc.daemon_message or exc).split())


class Pull:
    """One pull of ``ref`` as a task asks for it: through the mirrors Docker's rewrite table lists for its
    registry, in order, then from the registry itself.

    Through a mirror, an image is pulled by digest: by the task's own digest
    when it pins one, else by the digest the mirror serves for the tag (with
    ``verify_digest: upstream`` that digest must also be the registry's own,
    when the registry answers). The engine checks the content against that
    digest. A tag is then set back to its canonical name (``ghcr.io/org/app:1``)
    and the mirror's name, when this pull made it, is removed. A pinned image
    keeps the mirror's name: the engine holds a digest only under the name it
    was pulled by (:attr:`local_name`).

    The table is read on first use, only for registries other than Docker Hub.
    :attr:`tried` lists the mirrors that did not serve and why, :attr:`served`
    what the result's ``mirror`` shows. With ``platform`` (normalised,
    ``linux/arm64``) every pull asks for that platform of a multi-platform image.
    """

    def __init__(self, module, client, ref, credentials, option="name", platform=None):
        self.module = module
        self.client = client
        self.ref = ref
        self.credentials = credentials
        self.option = option
        self.platform = platform
        self.table_path = None
        self.tried = []
        self.served = None
        self.local_name = ref.local
        self._entry = None
        self._upstream = None
        self._upstream_asked = False

    # -- the table ------------------------------------------------------------

    def mirrors(self):
        """([{url, insecure}], verify_digest) of the table for the image's registry; ([], None) without."""
        if self._entry is None:
            self._entry = ([], None)
            if self.ref.registry != "docker.io":
                self._entry = self._read_table()
        return self._entry

    def _read_table(self):
        rewrite_table = table_code()
        self.table_path = self.module.params.get("mirrors_table") or rewrite_table.TABLE_PATH
        try:
            raw = read_bytes(self.table_path)
            if raw is None:
                return [], None
            table = rewrite_table.parse_table(raw.decode("utf-8"), self.table_path)
        except (FileError, rewrite_table.TableError) as exc:
            raise TableUnusable("cannot pull image %s (%s) through Docker's rewrite table: %s. Fix the file or "
                                "write it again with dockhand.runtime.registry_mirrors; nothing was pulled"
                                % (self.ref.familiar, self.option, exc)) from None
        except UnicodeDecodeError:
            raise TableUnusable("cannot pull image %s (%s): Docker's rewrite table %s is not UTF-8 text; write it "
                                "again with dockhand.runtime.registry_mirrors; nothing was pulled"
                                % (self.ref.familiar, self.option, self.table_path)) from None
        return rewrite_table.table_mirrors(table, self.ref.registry)

    def attempts(self):
        """[(url, reference on the mirror)] for each usable mirror, in order; the others go to :attr:`tried`."""
        rewrite_table = table_code()
        found = []
        for mirror in self.mirrors()[0]:
            try:
                found.append((mirror["url"], rewrite_table.mirror_reference(mirror["url"], self.ref)))
            except (rewrite_table.TableError, ImageReferenceError) as exc:
                self.skip(mirror["url"], str(exc))
        return found

    def skip(self, url, reason):
        self.tried.append({"url": url, "reason": reason})

    # -- digests ---------------------------------------------------------------

    def upstream_digest(self):
        """The registry's own digest for the tag (asked once), or None when it does not answer in time."""
        if not self._upstream_asked:
            self._upstream_asked = True
            try:
                self._upstream = remote_digest(self.client, self.ref, self.credentials, timeout=UPSTREAM_TIMEOUT)
            except EngineError as exc:
                self.module.warn("verify_digest is upstream in %s, but %s did not name its digest for %s (%s); the "
                                 "mirrors' digests are checked only against what they serve"
                                 % (self.table_path, self.ref.registry, self.ref.familiar, said(exc)))
        return self._upstream

    def mirror_digest(self, url, mirror_ref, credentials, ask_pinned=False):
        """(digest, checked_against) a mirror serves for the image, or None after recording why not.

        A pinned image's digest is its own; the mirror is asked whether it has it only with ``ask_pinned``
        (check mode: a pull by digest asks it anyway).
        """
        if self.ref.digest and not ask_pinned:
            return self.ref.digest, "reference"
        try:
            digest = remote_digest(self.client, mirror_ref, credentials)
        except EngineError as exc:
            if exc.kind not in ("http", "timeout"):
                raise
            self.skip(url, "it did not name a digest for %s: %s" % (mirror_ref.familiar, said(exc)))
            return None
        if not digest:
            self.skip(url, "it named no digest for %s" % mirror_ref.familiar)
            return None
        if self.ref.digest:
            return digest, "reference"
        rewrite_table = table_code()
        verify = self.mirrors()[1]
        upstream = self.upstream_digest() if verify == rewrite_table.VERIFY_UPSTREAM else None
        checked, problem = rewrite_table.judge_digest(digest, upstream, verify)
        if problem:
            self.skip(url, problem)
            self.module.warn("mirror %s of %s in %s passed over for %s: %s" % (
                mask_urls(url), self.ref.registry, self.table_path, self.ref.familiar, problem))
            return None
        return digest, checked

    # -- the pull ------------------------------------------------------------------

    def local_copy(self):
        """A pinned image a mirror of the table served before: its inspect under the mirror's name, else None."""
        if not self.ref.digest:
            return None
        for _url, mirror_ref in self.attempts():
            image = self.client.inspect("image", mirror_ref.local)
            if image is not None and image_is_of(image, self.platform):
                self.local_name = mirror_ref.local
                return image
        self.tried = []
        return None

    def pull(self):
        """Pull the image (through the table's mirrors, then the registry); returns its inspect afterwards.

        Raises EngineError when the registry's own pull fails, TableUnusable when the table cannot be read.
        """
        for url, mirror_ref in self.attempts():
            image = self.through(url, mirror_ref)
            if image is not None:
                return image
        return pull(self.client, self.ref, self.credentials, self.platform)

    def through(self, url, mirror_ref):
        """Pull through one mirror by digest and name the image canonically; None after recording why not."""
        credentials = Credentials(self.module, mirror_ref)
        judged = self.mirror_digest(url, mirror_ref, credentials)
        if judged is None:
            return None
        digest, checked = judged
        pinned = ImageRef(mirror_ref.registry, mirror_ref.repository, None, digest)
        image = self.client.inspect("image", pinned.local)
        made_name = image is None
        if made_name or not image_is_of(image, self.platform):
            try:
                image = pull(self.client, pinned, credentials, self.platform)
            except EngineError as exc:
                if exc.kind not in ("http", "stream", "timeout"):
                    raise
                self.skip(url, "pulling %s failed: %s" % (pinned.familiar, said(exc)))
                return None
            if image is None:
                self.skip(url, "the engine has no image under %s after pulling it" % pinned.familiar)
                return None
        if self.ref.digest:
            self.local_name = pinned.local
        else:
            self.client.post(object_path("image", image["Id"], "/tag"),
                             params={"repo": self.ref.name, "tag": self.ref.tag})
            if made_name:
                try:
                    self.client.delete(object_path("image", pinned.local), params={"noprune": True})
                except EngineError as exc:
                    if exc.kind != "http":
                        raise
                    self.module.warn("%s is tagged %s, but the mirror's name %s could not be removed: %s"
                                     % (image["Id"], self.ref.familiar, pinned.familiar, said(exc)))
            image = self.client.inspect("image", self.ref.local) or image
        self.served = {"url": url, "reference": pinned.local, "digest": digest, "checked_against": checked,
                       "table": self.table_path}
        return image

    # -- check mode -------------------------------------------------------------------

    def predict(self, local):
        """Check mode: the digest the first mirror that would serve names (None: no mirror would; ask the registry).

        ``local`` is the image under the canonical name, when there is one: the
        engine keeps no digest of an image pulled through a mirror under that
        name, so whether it changed is not known before the pull.
        """
        for url, mirror_ref in self.attempts():
            judged = self.mirror_digest(url, mirror_ref, Credentials(self.module, mirror_ref), ask_pinned=True)
            if judged is None:
                continue
            digest, checked = judged
            self.served = {"url": url, "reference": "%s@%s" % (mirror_ref.name, digest), "digest": digest,
                           "checked_against": checked, "table": self.table_path}
            if local is not None and not knows_digest(local.get("RepoDigests"), self.ref, digest):
                self.module.warn("check mode cannot tell whether %s changed: the engine keeps no digest under that "
                                 "name for an image pulled through a mirror of %s; a real run pulls %s by digest and "
                                 "reports a change only when the image ID changes"
                                 % (self.ref.familiar, self.table_path, mirror_ref.name))
            return digest
        return None

    def failure(self, exc, check_mode=False, mirrors=()):
        """The message for the registry's own pull (or check-mode query) that failed after the mirrors."""
        if check_mode:
            return pull_failure(self.ref, exc, self.credentials, check_mode=True, option=self.option,
                                mirrors=mirrors, tried=self.tried, table=self.table_path)
        return pull_error_message(self.ref, exc, self.credentials, option=self.option, mirrors=mirrors,
                                  tried=self.tried, table=self.table_path)
