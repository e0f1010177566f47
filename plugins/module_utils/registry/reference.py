# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""THE registry rules: image references, Docker Hub's names, registry hosts. Every wing uses these.

Image references as data: parse, validate and normalise them the way the engine does.

``busybox`` is ``docker.io/library/busybox:latest``; ``registry.lan:5000/app@sha256:...``
names a registry, a repository and a digest. The grammar is that of the
distribution project's ``reference`` package (which dockerd uses), so a name
this module accepts is a name the daemon accepts, and a refusal says which
part is wrong and what a valid one looks like. Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DEFAULT_REGISTRY = DOCKER_HUB = "docker.io"
LEGACY_DEFAULT_REGISTRY = "index.docker.io"
# Docker Hub in an image name, as the engine's reference grammar reads it (registry-1.docker.io/x is not).
DOCKER_HUB_REFERENCE_NAMES = frozenset((DOCKER_HUB, LEGACY_DEFAULT_REGISTRY))
# Docker Hub as a registry host: for logins, mirrors and probes, any name it answers under.
DOCKER_HUB_ALIASES = frozenset((DOCKER_HUB, LEGACY_DEFAULT_REGISTRY, "registry-1.docker.io", "registry.hub.docker.com"))
OFFICIAL_NAMESPACE = "library"
DEFAULT_TAG = "latest"
NAME_MAX_LENGTH = 255

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(r"(?:%s(?:\.%s)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT))
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX64 = re.compile(r"[a-f0-9]{64}")


class ImageReferenceError(ValueError):
    """An image reference the engine would refuse; the message says which part and why."""


class ImageRef:
    """A normalised image reference: registry, repository, tag and/or digest."""

    __slots__ = ("registry", "repository", "tag", "digest", "original")

    def __init__(self, registry, repository, tag=None, digest=None, original=None):
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.original = original

    @property
    def name(self):
        """Registry and repository: ``docker.io/library/busybox``."""
        return "%s/%s" % (self.registry, self.repository)

    @property
    def full(self):
        """Everything, normalised: ``docker.io/library/busybox:1.36@sha256:...``."""
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text

    @property
    def local(self):
        """The reference the engine stores: ``name@digest`` when pinned, else ``name:tag``.

        A digest decides what an image is; a tag next to it is only a label
        (``docker pull`` ignores it too).
        """
        if self.digest:
            return "%s@%s" % (self.name, self.digest)
        return "%s:%s" % (self.name, self.tag)

    @property
    def familiar(self):
        """The short form the docker CLI shows: ``busybox:latest``, ``registry.lan/app@sha256:...``."""
        name = self.repository
        if self.registry != DEFAULT_REGISTRY:
            name = "%s/%s" % (self.registry, name)
        elif name.startswith(OFFICIAL_NAMESPACE + "/") and name.count("/") == 1:
            name = name[len(OFFICIAL_NAMESPACE) + 1:]
        elif split_domain(name)[0] != DEFAULT_REGISTRY:  # docker.io/a.b/c: a.b/c would name a registry
            name = "%s/%s" % (DEFAULT_REGISTRY, name)
        if self.digest:
            return "%s@%s" % (name, self.digest)
        return "%s:%s" % (name, self.tag)

    @property
    def pull_params(self):
        """Query parameters of ``POST /images/create``."""
        return {"fromImage": self.name, "tag": self.digest or self.tag}

    @property
    def is_official_hub(self):
        return self.registry == DEFAULT_REGISTRY

    def to_dict(self):
        return {
            "registry": self.registry,
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
            "name": self.name,
            "full": self.full,
            "familiar": self.familiar,
        }

    def __eq__(self, other):
        return isinstance(other, ImageRef) and self.full == other.full

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.full)

    def __repr__(self):
        return "ImageRef(%s)" % self.full


def validate_digest(digest, original=None):
    """Raise ImageReferenceError unless ``digest`` is ``algorithm:hex`` of the right length."""
    what = "image %r: " % original if original else ""
    algorithm, sep, encoded = digest.partition(":")
    if not sep or not algorithm or not encoded:
        raise ImageReferenceError("%sdigest %r is not algorithm:hex, for example sha256:<64 hex digits>"
                                  % (what, digest))
    if algorithm not in _DIGEST_LENGTHS:
        raise ImageReferenceError("%sdigest %r uses the unsupported algorithm %r; use sha256, sha384 or sha512"
                                  % (what, digest, algorithm))
    length = _DIGEST_LENGTHS[algorithm]
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise ImageReferenceError("%sdigest %r: a %s digest is %d lowercase hex digits"
                                  % (what, digest, algorithm, length))


def split_domain(name):
    """``(registry, remainder)`` of a name without tag or digest, as the engine decides it.

    The first component is a registry when it contains ``.`` or ``:``, is
    ``localhost``, or has an upper-case letter; otherwise the image lives on
    Docker Hub. Docker Hub's official images get ``library/``.
    """
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        registry, remainder = DEFAULT_REGISTRY, name
    else:
        registry, remainder = first, rest
    if registry in DOCKER_HUB_REFERENCE_NAMES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in remainder:
        remainder = "%s/%s" % (OFFICIAL_NAMESPACE, remainder)
    return registry, remainder


def registry_host(value):
    """A registry host as every wing names it: ``host[:port]`` in lower case, Docker Hub's aliases as docker.io.

    Takes a bare host or a URL (``https://index.docker.io/v1/`` -> ``docker.io``,
    ``http://reg.lan:5000/v2/`` -> ``reg.lan:5000``); validation is the caller's.
    """
    text = (value or "").strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0].lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def is_registry_host(host):
    """Whether ``host`` (lower case, as :func:`registry_host` gives it) is a valid ``host[:port]``."""
    return bool(_DOMAIN.fullmatch(host or ""))


def parse_reference(value):
    """Parse an image reference into an :class:`ImageRef`; raises ImageReferenceError.

    Without tag and digest the tag is ``latest``. With both, both are kept
    (the digest decides, see :attr:`ImageRef.local`).
    """
    if not isinstance(value, str):
        raise ImageReferenceError("an image reference must be a string, not %s" % type(value).__name__)
    original = value
    if not value.strip():
        raise ImageReferenceError("the image name is empty; give one such as busybox:1.36 or "
                                  "registry.example.com/team/app@sha256:<digest>")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ImageReferenceError("image %r contains white space or a control character; remove it" % original)
    name, digest = value, None
    if "@" in name:
        name, digest = name.split("@", 1)
        validate_digest(digest, original)
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise ImageReferenceError(
                "image %r: tag %r is invalid; a tag is up to 128 letters, digits, '_', '.' and '-', "
                "and does not start with '.' or '-'" % (original, tag))
    if not name:
        raise ImageReferenceError("image %r has no repository name" % original)
    if _HEX64.fullmatch(name):
        raise ImageReferenceError("image %r: a 64-digit hexadecimal string is an image ID, not a "
                                  "repository name" % original)
    registry, remainder = split_domain(name)
    if registry != DEFAULT_REGISTRY and not _DOMAIN.fullmatch(registry):
        raise ImageReferenceError("image %r: %r is not a valid registry host[:port]" % (original, registry))
    if remainder.lower() != remainder:
        raise ImageReferenceError("image %r: repository name %r must be lowercase" % (original, remainder))
    for component in remainder.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            raise ImageReferenceError(
                "image %r: %r is not a valid repository name component; use lowercase letters and "
                "digits, separated by '.', '_', '__' or '-'" % (original, component))
    if len(name) > NAME_MAX_LENGTH:
        raise ImageReferenceError("image %r: the repository name is longer than %d characters"
                                  % (original, NAME_MAX_LENGTH))
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageRef(registry, remainder, tag, digest, original)


def knows_digest(repo_digests, ref, digest):
    """Whether ``repo_digests`` (an image's RepoDigests) records ``digest`` for ``ref``'s repository."""
    for entry in repo_digests or ():
        name, _sep, known = entry.partition("@")
        if known == digest and split_domain(name) == (ref.registry, ref.repository):
            return True
    return False
