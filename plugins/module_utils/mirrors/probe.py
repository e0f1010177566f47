# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrent probing of registry mirrors and package mirrors, on the Python standard library.

A probe runs from the host that will use the mirror (each host has its own
network path) and answers three questions per mirror: does it answer at all,
how fast does it answer (``latency_ms``), and how fast does it deliver data
(``throughput``, bytes per second, measured on a real image layer or a real
file of a package mirror).

Registry mirrors: ``GET /v2/`` (200 or 401 means a registry is there), then,
with an image, its manifest (an image index or manifest list is resolved to
the host's platform), then the largest layer blob, read up to ``max_bytes``.
Anonymous Bearer tokens are fetched from the realm named in a 401 challenge,
as docker does for public images. Package mirrors: ``GET <mirror>/<path>``.

Every mirror gets one deadline, ``timeout`` seconds, for everything it does;
mirrors are probed concurrently by threads, so a set of mirrors takes about
``timeout`` seconds however many of them hang. A layer or file still arriving
when the deadline comes is not a failure: the bytes read so far give the
throughput (a slow mirror is slow, not dead).

The pure parts (URL and image parsing, challenge parsing, manifest and layer
choice, ranking, error wording) are separate functions with unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import http.client
import json
import platform
import re
import socket
import ssl
import threading
import time
from urllib.parse import urlencode, urljoin, urlsplit

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors import integrity
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import scheme_typo, shown_url
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.reference import (
    DOCKER_HUB,
    ImageReferenceError,
    parse_reference,
    registry_host,
)

KIND_REGISTRY = "registry"
KIND_PACKAGE = "package"
KINDS = (KIND_REGISTRY, KIND_PACKAGE)

DEFAULT_TIMEOUT = 5
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_PICK = 1
DEFAULT_CONCURRENCY = 8
INTEGRITY_AUTO = "auto"
INTEGRITY_OFF = "off"
INTEGRITY_MODES = (INTEGRITY_AUTO, INTEGRITY_OFF)

# Seconds the caller waits beyond ``timeout`` for a probe thread that is stuck
# where no socket timeout reaches (a name lookup that never returns).
GRACE_SECONDS = 1.0
MAX_REDIRECTS = 5
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # manifests, token answers, error bodies
CHUNK = 64 * 1024
USER_AGENT = "dockhand.runtime-mirror-probe"

MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
MEDIA_DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_ACCEPT = ", ".join((MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST))

# The gzip of an empty tar: schema 1 manifests list it for every metadata-only layer.
EMPTY_LAYER_DIGEST = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"

# uname -m -> (GOARCH, variant), the names image indexes use.
MACHINE_PLATFORMS = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", None),
    "i686": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}

# The options of the mirror_probe module, in argument_spec form (the module's
# documentation describes each one).
PROBE_ARGUMENT_SPEC = {
    "mirrors": {"type": "list", "elements": "str", "required": True},
    "kind": {"type": "str", "default": KIND_REGISTRY, "choices": list(KINDS)},
    "image": {"type": "str"},
    "path": {"type": "str"},
    "timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
    "max_bytes": {"type": "int", "default": DEFAULT_MAX_BYTES},
    "pick": {"type": "int", "default": DEFAULT_PICK},
    "first": {"type": "list", "elements": "str", "default": []},
    "prefer": {"type": "list", "elements": "str", "default": []},
    "tolerance": {"type": "float", "default": 0.5},
    "concurrency": {"type": "int", "default": DEFAULT_CONCURRENCY},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "integrity": {"type": "str", "default": INTEGRITY_AUTO, "choices": list(INTEGRITY_MODES)},
    "trusted": {"type": "list", "elements": "str", "default": []},
    "integrity_images": {"type": "list", "elements": "str", "default": []},
    "proxy": {"type": "str"},
    "no_proxy": {"type": "list", "elements": "str", "default": []},
}

_CHALLENGE_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]+)')


class ProbeInputError(ValueError):
    """A mistake in the task's input (a mirror URL, the image, the path); the message names it."""


class ProbeFailure(Exception):
    """One mirror failed; the message is what its result's ``error`` says."""


# --------------------------------------------------------------------------
# Input (pure)
# --------------------------------------------------------------------------

class Mirror:
    """A mirror URL, checked: scheme, host, port and the base path requests go under."""

    def __init__(self, url, scheme, host, port, base_path):
        self.url = url  # as the task gave it (stripped), so results map back to the input
        self.scheme = scheme
        self.host = host
        self.port = port
        self.base_path = base_path  # no trailing slash; "" for the root

    def under(self, path):
        """The absolute URL of ``path`` below the mirror's base path."""
        netloc = "[%s]" % self.host if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        if self.port != default:
            netloc += ":%d" % self.port
        return "%s://%s%s/%s" % (self.scheme, netloc, self.base_path, path.lstrip("/"))

    def __repr__(self):
        return "Mirror(%s)" % self.url


def mask_url(url):
    """The URL with its credentials masked, for messages (redact's rule, also without a scheme)."""
    return shown_url(url)


def parse_mirror(url):
    """Check one entry of ``mirrors`` and return a :class:`Mirror`; raises ProbeInputError naming it.

    An http:// or https:// URL with a host, an optional port and an optional
    base path (package mirrors live under one, for example /debian). Refused:
    no scheme (``mirror.example.com``), any other scheme (``ftp://``),
    credentials, a query string or a fragment.
    """
    if not isinstance(url, str) or not url.strip():
        raise ProbeInputError("mirrors: an entry is empty; each entry is a URL such as https://mirror.example.com")
    value = url.strip()
    shown = mask_url(value)
    if re.search(r"[\x00-\x20\x7f]", value):
        raise ProbeInputError("mirror %r contains white space or control characters; give the URL alone" % shown)
    meant = scheme_typo(value)
    if meant:
        raise ProbeInputError("mirror %r has a mangled scheme: write %s" % (shown, mask_url(meant)))
    if "://" not in value:
        raise ProbeInputError("mirror %r has no scheme: write http://%s or https://%s"
                              % (shown, shown.lstrip("/"), shown.lstrip("/")))
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ProbeInputError("mirror %r is not a valid URL: %s" % (shown, exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ProbeInputError("mirror %r: the scheme %s:// is not supported; a mirror is probed over "
                              "http:// or https://" % (shown, parts.scheme))
    if not parts.hostname:
        raise ProbeInputError("mirror %r has no host name" % shown)
    if parts.username is not None or parts.password is not None:
        raise ProbeInputError("mirror %r carries credentials in its URL; mirrors are probed anonymously, "
                              "remove the user and password" % shown)
    if parts.query or parts.fragment:
        raise ProbeInputError("mirror %r has a query string or a fragment; give the mirror's base URL only"
                              % shown)
    if port is None:
        port = 443 if scheme == "https" else 80
    return Mirror(value, scheme, parts.hostname, port, parts.path.rstrip("/"))


def parse_image(reference):
    """``(repository, reference)`` of an image as the mirrors serve it; raises ProbeInputError.

    ``busybox`` -> ``("library/busybox", "latest")``; ``library/busybox:1.36``;
    ``docker.io/library/busybox``; ``name@sha256:...`` keeps the digest. The
    reference is read by registry.reference's rules (those of the engine); a
    registry host other than Docker Hub's is refused: a mirror serves the
    repositories at its own root.
    """
    if not isinstance(reference, str) or not reference.strip():
        raise ProbeInputError("image is empty; give a repository with a tag, for example library/busybox:latest")
    try:
        ref = parse_reference(reference)
    except ImageReferenceError as exc:
        raise ProbeInputError(str(exc)) from None
    if registry_host(ref.registry) != DOCKER_HUB:
        raise ProbeInputError("image %r names the registry %s; give the repository as the mirrors serve it, for "
                              "example library/busybox:latest" % (reference, ref.registry))
    return ref.repository, ref.digest or ref.tag


def image_name(repository, reference):
    """``library/busybox:latest`` or ``library/busybox@sha256:...``."""
    return "%s%s%s" % (repository, "@" if ":" in reference else ":", reference)


def default_package_path(os_release_text):
    """``dists/<codename>/Release`` from the text of /etc/os-release, or None without a codename."""
    for line in (os_release_text or "").splitlines():
        key, sep, raw = line.partition("=")
        if sep and key.strip() == "VERSION_CODENAME":
            codename = raw.strip().strip("\"'")
            if codename:
                return "dists/%s/Release" % codename
    return None


def host_package_path(os_release="/etc/os-release"):
    """The default package ``path`` for this host, from its /etc/os-release; None if it names no codename."""
    try:
        with open(os_release) as handle:
            return default_package_path(handle.read())
    except (OSError, UnicodeDecodeError):
        return None


def check_options(kind, image=None, path=None, timeout=DEFAULT_TIMEOUT, max_bytes=DEFAULT_MAX_BYTES,
                  pick=DEFAULT_PICK, concurrency=DEFAULT_CONCURRENCY):
    """Raise ProbeInputError, naming the option, for values that cannot work together."""
    if kind not in KINDS:
        raise ProbeInputError("kind must be one of %s, not %r" % (", ".join(KINDS), kind))
    if kind == KIND_REGISTRY and path:
        raise ProbeInputError("path applies to kind=package; to measure a registry's throughput, set image")
    if kind == KIND_PACKAGE and image:
        raise ProbeInputError("image applies to kind=registry; to measure a package mirror, set path")
    if timeout is None or timeout <= 0:
        raise ProbeInputError("timeout must be a positive number of seconds, not %r" % (timeout,))
    if max_bytes is None or max_bytes < 1:
        raise ProbeInputError("max_bytes must be at least 1, not %r" % (max_bytes,))
    if pick is None or pick < 1:
        raise ProbeInputError("pick must be at least 1, not %r" % (pick,))
    if concurrency is None or concurrency < 1:
        raise ProbeInputError("concurrency must be at least 1, not %r" % (concurrency,))


# --------------------------------------------------------------------------
# Registry documents (pure)
# --------------------------------------------------------------------------

def parse_challenge(header):
    """``(scheme, params)`` of one WWW-Authenticate challenge; ``(None, {})`` for none.

    ``Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"``
    -> ``("bearer", {"realm": ..., "service": ..., "scope": ...})``. Quoted values
    may hold commas and escaped quotes; parameter names are lower-cased.
    """
    text = (header or "").strip()
    if not text:
        return None, {}
    scheme, _sep, rest = text.partition(" ")
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        raw = match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(match.group(1).lower(), raw)
    return scheme.lower(), params


def choose_challenge(headers):
    """The challenge to answer among WWW-Authenticate header values: Bearer if offered, else the first."""
    parsed = [parse_challenge(h) for h in headers or [] if h and h.strip()]
    for scheme, params in parsed:
        if scheme == "bearer":
            return scheme, params
    return parsed[0] if parsed else (None, {})


def token_url(params, repository):
    """The URL that gives an anonymous pull token, from a Bearer challenge's parameters."""
    realm = params.get("realm") or ""
    if urlsplit(realm).scheme.lower() not in ("http", "https") or not urlsplit(realm).hostname:
        raise ProbeFailure("the registry asks for a Bearer token but its challenge names no usable realm (%r)"
                           % realm)
    query = []
    if params.get("service"):
        query.append(("service", params["service"]))
    query.append(("scope", params.get("scope") or "repository:%s:pull" % repository))
    return realm + ("&" if "?" in realm else "?") + urlencode(query)


def token_from_answer(body):
    """The token in a token server's JSON answer (``token`` or ``access_token``)."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProbeFailure("the token server did not answer with JSON") from None
    token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
    if not isinstance(token, str) or not token:
        raise ProbeFailure("the token server's answer holds no token")
    return token


def host_platform(machine=None):
    """``(os, architecture, variant)`` of this host in image-index terms, for example ('linux', 'amd64', None)."""
    machine = (machine if machine is not None else platform.machine()).lower()
    arch, variant = MACHINE_PLATFORMS.get(machine, (machine, None))
    return "linux", arch, variant


def manifest_kind(doc, content_type=None):
    """'index' (a manifest list or OCI index), 'image' (one image's manifest) or 'schema1'."""
    media = (doc.get("mediaType") if isinstance(doc, dict) else None) or (content_type or "").split(";")[0].strip()
    if media in (MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX):
        return "index"
    if media in (MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST):
        return "image"
    if media in (MEDIA_DOCKER_SCHEMA1, MEDIA_DOCKER_SCHEMA1_SIGNED):
        return "schema1"
    if isinstance(doc, dict):
        if isinstance(doc.get("manifests"), list):
            return "index"
        if isinstance(doc.get("layers"), list):
            return "image"
        if isinstance(doc.get("fsLayers"), list):
            return "schema1"
    raise ProbeFailure("the manifest is neither an image manifest nor an index (media type %r)" % media)


def choose_manifest(index, arch, variant=None, os_name="linux"):
    """The entry of an image index to probe: this platform, else linux/amd64, else the first real image.

    Attestation entries (platform unknown/unknown) are never chosen.
    """
    entries = [e for e in (index.get("manifests") or []) if isinstance(e, dict) and e.get("digest")]

    def platform_of(entry):
        p = entry.get("platform") or {}
        return p.get("os"), p.get("architecture"), p.get("variant")

    real = [e for e in entries if platform_of(e)[:2] != ("unknown", "unknown")]
    if not real:
        raise ProbeFailure("the image index lists no image")
    for wanted in ((os_name, arch, variant), (os_name, arch, None), ("linux", "amd64", None)):
        for entry in real:
            got = platform_of(entry)
            if got[:2] == wanted[:2] and (wanted[2] is None or got[2] in (wanted[2], None)):
                return entry
    return real[0]


def choose_layer(manifest):
    """The layer blob to time: the largest one (the best sample of throughput), as a descriptor dict.

    Layers served from elsewhere (foreign or non-distributable) are skipped.
    A schema 1 manifest has no sizes: its first layer that is not the empty layer is taken.
    """
    if isinstance(manifest.get("fsLayers"), list):
        digests = [layer.get("blobSum") for layer in manifest["fsLayers"] if isinstance(layer, dict)]
        digests = [d for d in digests if d]
        if not digests:
            raise ProbeFailure("the manifest lists no layers")
        chosen = next((d for d in digests if d != EMPTY_LAYER_DIGEST), digests[0])
        return {"digest": chosen, "size": None}
    layers = [layer for layer in manifest.get("layers") or []
              if isinstance(layer, dict) and layer.get("digest")
              and "foreign" not in (layer.get("mediaType") or "")
              and "nondistributable" not in (layer.get("mediaType") or "")]
    if not layers:
        raise ProbeFailure("the manifest lists no layer this mirror serves")
    return max(layers, key=lambda layer: layer.get("size") or 0)


def registry_error_words(body):
    """The messages of a registry's JSON error answer (``{"errors": [...]}``), or None."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return None
    words = []
    for item in errors:
        if isinstance(item, dict):
            text = item.get("message") or item.get("code")
            if text and text not in words:
                words.append(str(text))
    return "; ".join(words) or None


def http_error(status, body, request, content_type=None):
    """The error for an unexpected HTTP answer, in words: 'manifest unknown (HTTP 404 from GET ...)'."""
    words = registry_error_words(body)
    if words:
        return "%s (HTTP %d from %s)" % (words, status, request)
    message = "HTTP %d from %s" % (status, request)
    if (content_type or "").startswith("text/plain"):
        first = (body or b"").decode("utf-8", "replace").strip().splitlines()
        if first and first[0].strip():
            message += ": %s" % first[0].strip()[:160]
    return message


# --------------------------------------------------------------------------
# Results and ranking (pure)
# --------------------------------------------------------------------------

def new_result(url):
    return {
        "url": url,
        "ok": False,
        "status": None,
        "latency_ms": None,
        "throughput": None,
        "bytes": 0,
        "error": None,
        "elapsed_ms": None,
        "digest": None,
        "integrity": "unknown",
        "integrity_note": None,
    }


def format_seconds(seconds):
    """3 -> '3', 2.5 -> '2.5', 0.25 -> '0.25'."""
    return ("%.2f" % seconds).rstrip("0").rstrip(".")


def throughput(nbytes, seconds):
    """Bytes per second as an int, or None when nothing was timed."""
    if not nbytes or seconds <= 0:
        return None
    return int(nbytes / seconds)


def eligible(result):
    """Whether a mirror may be picked: it passed the probe and serves no stale or mismatched image."""
    return bool(result.get("ok")) and result.get("integrity") not in integrity.BLOCKING


def rank_key(result):
    """Eligible first; among them measured throughput first, fastest first; then lowest latency.

    Then the mirrors that passed the probe but serve a stale or mismatched image, then the failed ones.
    """
    measured = result.get("throughput")
    latency = result.get("latency_ms")
    return (
        0 if eligible(result) else 1 if result.get("ok") else 2,
        0 if measured is not None else 1,
        -(measured or 0),
        latency if latency is not None else float("inf"),
    )


def same_url(a, b):
    """Whether two mirror URLs are the same, a trailing slash aside (dockerd reports mirrors with one)."""
    return a.rstrip("/") == b.rstrip("/")


def good_enough(result, best, tolerance):
    """Whether an eligible ``result`` is within ``tolerance`` (0.5 = 50 %) of the ``best`` one."""
    if not eligible(result) or not eligible(best):
        return False
    if best.get("throughput") is not None:
        return (result.get("throughput") or 0) >= best["throughput"] * (1 - tolerance)
    if best.get("latency_ms") is not None and result.get("latency_ms") is not None:
        return result["latency_ms"] <= best["latency_ms"] * (1 + tolerance)
    return True


def _first_and_rest(results, first):
    """The eligible mirrors of ``first`` in its order, and the others by :func:`rank_key`."""
    ranked = sorted(results, key=rank_key)
    head = []
    for url in first or ():
        for result in ranked:
            if same_url(result["url"], url) and eligible(result) and result not in head:
                head.append(result)
    return head, [result for result in ranked if result not in head]


def rank(results, prefer=(), tolerance=0.0, first=(), keep=()):
    """The results, best first. Ties keep the order the mirrors were given in.

    Mirrors in ``first`` that are eligible go first, in ``first``'s order, whatever
    the others measure (a preferred mirror wins whenever it is healthy). Then
    the mirrors in ``prefer`` (those in use now) that are eligible and within
    ``tolerance`` of the best of the rest, or listed in ``keep``, in ``prefer``'s
    order: a re-run does not switch mirrors because of measurement noise. Then
    the rest, by measure.
    """
    head, rest = _first_and_rest(results, first)
    if not prefer or not rest:
        return head + rest
    kept = []
    for url in prefer:
        for result in rest:
            if same_url(result["url"], url) and result not in kept and (
                    good_enough(result, rest[0], tolerance)
                    or eligible(result) and any(same_url(url, held) for held in keep or ())):
                kept.append(result)
    return head + kept + [result for result in rest if result not in kept]


def to_confirm(results, prefer=(), tolerance=0.0, first=()):
    """The URLs to measure once more before :func:`rank` moves a mirror in use down; [] when none moves.

    Those are the best of the mirrors outside ``first``, then each mirror in ``prefer`` (in use now) that
    passed the probe but is not within ``tolerance`` of it: one measurement taken while many hosts probe
    the same registries at once can be far off, and a rerun that switches mirrors on it is a change for
    nothing. :func:`confirmed` reads the second measurements.
    """
    in_use = [r["url"] for r in results if eligible(r) and any(same_url(r["url"], url) for url in prefer or ())]

    def order(keep):
        return [r["url"] for r in rank(results, prefer, tolerance, first, keep)]

    if not in_use or order(()) == order(in_use):
        return []
    rest = _first_and_rest(results, first)[1]
    best = rest[0]
    urls = [best["url"]]
    for result in rest:
        if result["url"] in in_use and not good_enough(result, best, tolerance) \
                and not any(same_url(result["url"], url) for url in urls):
            urls.append(result["url"])
    return urls


def confirmed(results, again, remeasured, tolerance):
    """``(results, keep)`` after a second round (``again``) of the mirrors :func:`to_confirm` named.

    Each result measured again gets its second figures under ``remeasured``; its first figures stay, and
    rank the mirrors as before. ``keep`` lists the mirrors in use that the second round keeps in their
    place: within ``tolerance`` of the best one measured the same way, one at a time (or the best failed
    its second probe). A mirror in use that failed its second probe is not kept.
    """
    by_url = {r["url"]: r for r in again}
    annotated = []
    for result in results:
        second = by_url.get(result["url"])
        if second is not None:
            result = dict(result, remeasured={  # noqa: PLW2901 - the annotated copy
                "ok": second.get("ok"), "throughput": second.get("throughput"),
                "latency_ms": second.get("latency_ms"), "error": second.get("error")})
        annotated.append(result)
    best = by_url.get(remeasured[0]) if remeasured else None
    keep = [url for url in remeasured[1:] if url in by_url and eligible(by_url[url])
            and (best is None or not eligible(best) or good_enough(by_url[url], best, tolerance))]
    return annotated, keep


def best_urls(ranked, pick):
    """The URLs of the first ``pick`` eligible results of a ranked list."""
    return [r["url"] for r in ranked if eligible(r)][:max(pick, 0)]


def left_out(ranked, best, pick):
    """[{url, reason}] for every mirror of ``ranked`` that is not in ``best``, in ranked order.

    A mirror that failed the probe gives its error; one that serves a stale or
    mismatched image gives that; one that passed was ranked below the ``pick`` chosen.
    """
    chosen = set(best)
    out = []
    for result in ranked:
        if result["url"] in chosen:
            continue
        if result.get("ok") and not eligible(result):
            reason = "%s: %s" % (result["integrity"], result.get("integrity_note") or "serves another image")
        elif result.get("ok"):
            reason = "passed the probe, but %d mirror%s ranked before it (pick: %d)" % (
                len(chosen), "" if len(chosen) == 1 else "s", pick)
        else:
            reason = result.get("error") or "failed the probe"
        out.append({"url": result["url"], "reason": reason})
    return out


def warnings_for(ranked, best, left, first=()):
    """The warnings a probe gives: [str], for the user to act on.

    None passed: every mirror with its reason. Else a preferred mirror (``first``)
    left out, and any mirror that serves a stale or mismatched image (never
    picked, however fast: the mirror itself needs fixing).
    """
    if not best:
        return ["no mirror passed the probe: %s" % "; ".join("%s: %s" % (e["url"], e["reason"]) for e in left)]
    blocked = [r["url"] for r in ranked if r.get("ok") and not eligible(r)]
    found = []
    for entry in left:
        if any(same_url(entry["url"], url) for url in first):
            found.append("preferred mirror %s is left out: %s; using %s" % (entry["url"], entry["reason"],
                                                                            ", ".join(best)))
        elif entry["url"] in blocked:
            found.append("mirror %s is never picked: %s" % (entry["url"], entry["reason"]))
    return found


def describe_error(exc, where, timeout=None, doing=None):
    """A failure to reach ``where`` (host:port) in words a person can act on."""
    if isinstance(exc, ProbeFailure):
        return str(exc)
    if isinstance(exc, socket.timeout) or (isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT):
        text = "timed out after %s s" % format_seconds(timeout) if timeout else "timed out"
        return "%s%s" % (text, " (%s)" % doing if doing else "")
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused by %s (nothing listens there)" % where
    if isinstance(exc, socket.gaierror):
        return "cannot resolve the host name of %s (%s)" % (where, exc.strerror or exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ("TLS certificate of %s not trusted: %s (give its CA in ca_path, or set validate_certs=false)"
                % (where, getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc))
    if isinstance(exc, ssl.SSLError):
        hint = " (is it plain http://?)" if "WRONG_VERSION_NUMBER" in str(exc).upper() else ""
        return "TLS handshake with %s failed: %s%s" % (where, getattr(exc, "reason", None) or exc, hint)
    if isinstance(exc, http.client.RemoteDisconnected):
        return "%s closed the connection without answering" % where
    if isinstance(exc, ConnectionResetError):
        return "connection reset by %s" % where
    if isinstance(exc, http.client.HTTPException):
        return "%s did not answer with HTTP (%s: %s)" % (where, type(exc).__name__, exc)
    if isinstance(exc, OSError):
        named = {errno.EHOSTUNREACH: "no route to host", errno.ENETUNREACH: "network unreachable"}
        if exc.errno in named:
            return "%s: %s" % (named[exc.errno], where)
        return "cannot reach %s: %s" % (where, exc.strerror or exc)
    return "unexpected error (%s: %s); this is a bug in mirror_probe" % (type(exc).__name__, exc)


# --------------------------------------------------------------------------
# HTTP with one deadline (I/O)
# --------------------------------------------------------------------------

class Deadline:
    """The time a probe has left."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.start = clock()
        self.end = self.start + seconds

    def remaining(self):
        return self.end - self.clock()


class ProbeTimeout(Exception):
    """The mirror's deadline passed."""


class Fetcher:
    """HTTP/1.1 requests for one probe: keep-alive per host, redirects, every wait bounded by the deadline."""

    def __init__(self, deadline, ssl_context=None):
        self.deadline = deadline
        self.ssl_context = ssl_context
        self.doing = None  # what the probe waits for, for the timeout message
        self.where = None  # host:port being talked to, for error messages
        self._conns = {}

    def close(self):
        for conn, _sock in self._conns.values():
            conn.close()
        self._conns.clear()

    def _left(self):
        left = self.deadline.remaining()
        if left <= 0:
            raise ProbeTimeout()
        return left

    def _connection(self, scheme, host, port):
        key = (scheme, host, port)
        cached = self._conns.get(key)
        if cached and cached[0].sock is not None:
            return cached[0], cached[1], True
        self.doing = "connecting to %s" % self.where
        if scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=self._left(), context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self._left())
        conn.connect()
        self._conns[key] = (conn, conn.sock)
        return conn, conn.sock, False

    def _drop(self, scheme, host, port):
        cached = self._conns.pop((scheme, host, port), None)
        if cached:
            cached[0].close()

    def open(self, url, headers=None):
        """GET ``url``, following redirects; returns (response, url) with the body not yet read.

        The Authorization header is not sent to another host than the first.
        """
        first_host = urlsplit(url).hostname
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https") or not parts.hostname:
                raise ProbeFailure("redirected to %s, which is not an http(s) URL" % mask_url(url))
            port = parts.port or (443 if scheme == "https" else 80)
            self.where = "%s:%d" % (parts.hostname, port)
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            send = {"User-Agent": USER_AGENT}
            for name, value in (headers or {}).items():
                if name.lower() == "authorization" and parts.hostname != first_host:
                    continue
                send[name] = value
            response = self._send(scheme, parts.hostname, port, target, send)
            location = response.getheader("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                self.read(response, MAX_DOCUMENT_BYTES)
                url = urljoin(url, location)
                continue
            return response, url
        raise ProbeFailure("more than %d redirects from %s" % (MAX_REDIRECTS, mask_url(url)))

    def _send(self, scheme, host, port, target, headers):
        request = "GET %s" % target.split("?", 1)[0]
        for attempt in (1, 2):
            conn, sock, reused = self._connection(scheme, host, port)
            self.doing = "waiting for the answer to %s" % request
            try:
                sock.settimeout(self._left())
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(scheme, host, port)
                if reused and attempt == 1:
                    continue  # a keep-alive connection the server had closed: once more on a new one
                raise
            except Exception:
                self._drop(scheme, host, port)
                raise
            response.dockhand_sock = sock
            response.dockhand_key = (scheme, host, port)
            response.dockhand_request = request
            return response
        raise ProbeFailure("%s closed the connection twice" % self.where)  # not reached

    def read(self, response, limit, partial=False):
        """Read the body; returns (data or None, count).

        A document (``partial`` false) is read to its end and kept; more than
        ``limit`` bytes is a failure. A sample (``partial`` true) is counted,
        not kept, up to ``limit`` bytes, and the deadline ends it without an
        error once some bytes have arrived. A body left unread closes the
        connection, which cannot serve another request then.
        """
        kept = []
        count = 0
        self.doing = "reading the answer to %s" % response.dockhand_request
        complete = False
        try:
            while not partial or count < limit:
                left = self.deadline.remaining()
                if left <= 0:
                    if partial and count:
                        break
                    raise ProbeTimeout()
                response.dockhand_sock.settimeout(left)
                try:
                    chunk = response.read1(min(CHUNK, limit - count) if partial else CHUNK)
                except socket.timeout:
                    if partial and count:
                        break
                    raise
                if not chunk:
                    complete = True
                    response.close()  # marks the exchange done, so the connection can be reused
                    break
                count += len(chunk)
                if not partial:
                    if count > limit:
                        raise ProbeFailure("the answer to %s is larger than %d bytes"
                                           % (response.dockhand_request, limit))
                    kept.append(chunk)
        finally:
            if not complete and not response.isclosed():
                self._drop(*response.dockhand_key)
        return (None if partial else b"".join(kept)), count


# --------------------------------------------------------------------------
# One mirror
# --------------------------------------------------------------------------

def _request_name(url):
    return "GET %s" % (urlsplit(url).path or "/")


def _get_document(fetcher, url, headers):
    response, final = fetcher.open(url, headers)
    body, _count = fetcher.read(response, MAX_DOCUMENT_BYTES)
    return response, body, final


def _authorized_get(fetcher, auth, url, repository, accept=None):
    """GET a registry document, answering a Bearer challenge with an anonymous token once."""
    headers = {"Accept": accept} if accept else {}
    if auth.get("token"):
        headers["Authorization"] = "Bearer %s" % auth["token"]
    response, body, final = _get_document(fetcher, url, headers)
    if response.status != 401 or auth.get("token"):
        return response, body, final
    scheme, params = choose_challenge(response.msg.get_all("WWW-Authenticate") or [])
    if scheme != "bearer":
        raise ProbeFailure("%s needs credentials (HTTP 401%s); mirrors are probed anonymously"
                           % (_request_name(url), ", %s auth" % scheme.capitalize() if scheme else ""))
    token_response, token_body, _token_final = _get_document(fetcher, token_url(params, repository), {})
    if token_response.status != 200:
        raise ProbeFailure("the token server refused an anonymous token: %s"
                           % http_error(token_response.status, token_body, token_response.dockhand_request,
                                        token_response.getheader("Content-Type")))
    auth["token"] = token_from_answer(token_body)
    headers["Authorization"] = "Bearer %s" % auth["token"]
    return _get_document(fetcher, url, headers)


def _json_document(body, what):
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProbeFailure("the %s is not JSON" % what) from None
    if not isinstance(doc, dict):
        raise ProbeFailure("the %s is not a JSON object" % what)
    return doc


def _measure(fetcher, response, max_bytes, started, result):
    _data, count = fetcher.read(response, max_bytes, partial=True)
    seconds = fetcher.deadline.clock() - started
    if not count:
        raise ProbeFailure("%s answered with an empty body" % response.dockhand_request)
    result["bytes"] = count
    result["throughput"] = throughput(count, seconds)


def _manifest_failure(response, body):
    return ProbeFailure(http_error(response.status, body, response.dockhand_request,
                                   response.getheader("Content-Type")))


def body_digest(body):
    """The sha256 digest of a manifest as received: what the bytes are, whatever a header says."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def manifest_facts(fetcher, mirror, repository, reference, machine=None, auth=None):
    """What a registry serves for one image: ``(facts, image manifest document)``.

    ``facts`` holds ``digest`` (of the manifest or index the reference names),
    ``platform_digest`` (of the image manifest for this host's platform) and
    ``config_digest``. A 404 gives ``({"missing": True, "error": ...}, None)``;
    other failures raise ProbeFailure.
    """
    auth = {} if auth is None else auth
    url = mirror.under("/v2/%s/manifests/%s" % (repository, reference))
    response, body, _final = _authorized_get(fetcher, auth, url, repository, MANIFEST_ACCEPT)
    if response.status == 404:
        return {"missing": True, "error": str(_manifest_failure(response, body))}, None
    if response.status != 200:
        raise _manifest_failure(response, body)
    facts = {"digest": body_digest(body), "platform_digest": None, "config_digest": None}
    doc = _json_document(body, "manifest")
    kind = manifest_kind(doc, response.getheader("Content-Type"))
    if kind == "index":
        _os, arch, variant = host_platform(machine)
        entry = choose_manifest(doc, arch, variant)
        facts["platform_digest"] = entry["digest"]
        entry_url = mirror.under("/v2/%s/manifests/%s" % (repository, entry["digest"]))
        response, body, _final = _authorized_get(fetcher, auth, entry_url, repository, MANIFEST_ACCEPT)
        if response.status != 200:
            raise _manifest_failure(response, body)
        doc = _json_document(body, "platform manifest")
        manifest_kind(doc, response.getheader("Content-Type"))
    else:
        facts["platform_digest"] = facts["digest"]
    config = doc.get("config")
    if isinstance(config, dict) and isinstance(config.get("digest"), str):
        facts["config_digest"] = config["digest"]
    return facts, doc


def check_images_facts(fetcher, mirror, images, machine=None):
    """manifest_facts for each (repository, reference) of ``images``, by image name; a failure of one
    image is that image's ``error`` (the deadline stops the rest)."""
    found = {}
    for repository, reference in images:
        name = image_name(repository, reference)
        try:
            found[name], _doc = manifest_facts(fetcher, mirror, repository, reference, machine)
        except ProbeTimeout:
            found[name] = {"error": "timed out (%s)" % (fetcher.doing or "fetching its manifest")}
            break
        except Exception as exc:  # noqa: BLE001 - one image's failure is that image's result
            found[name] = {"error": describe_error(exc, fetcher.where, None, fetcher.doing)}
    return found


def probe_registry(fetcher, mirror, result, image=None, max_bytes=DEFAULT_MAX_BYTES, machine=None,
                   check_images=(), layer=True):
    """GET /v2/; with ``image`` (repository, reference) also its manifest and one layer, timed.

    The manifests of ``image`` and of ``check_images`` are recorded in
    ``result["manifests"]`` (by image name) for the integrity check; the
    layer is read last, so that a slow mirror's deadline ends the throughput
    sample, not the manifests. ``layer`` false skips the layer (a trusted
    source is asked for manifests only).
    """
    clock = fetcher.deadline.clock
    url = mirror.under("/v2/")
    started = clock()
    response, _final = fetcher.open(url)
    result["latency_ms"] = round((clock() - started) * 1000, 1)
    result["status"] = response.status
    body, _count = fetcher.read(response, MAX_DOCUMENT_BYTES)
    if response.status not in (200, 401):
        error = http_error(response.status, body, response.dockhand_request, response.getheader("Content-Type"))
        if response.status == 404:
            error += " (no registry API v2 here)"
        raise ProbeFailure(error)
    manifests = result.setdefault("manifests", {})
    doc = None
    auth = {}
    if image is not None:
        repository, reference = image
        facts, doc = manifest_facts(fetcher, mirror, repository, reference, machine, auth)
        manifests[image_name(repository, reference)] = facts
        result["digest"] = facts.get("digest")
        if facts.get("missing"):
            raise ProbeFailure(facts["error"])
    others = [ref for ref in check_images if image_name(*ref) not in manifests]
    manifests.update(check_images_facts(fetcher, mirror, others, machine))
    if image is None or not layer:
        return
    chosen = choose_layer(doc)
    headers = {"Authorization": "Bearer %s" % auth["token"]} if auth.get("token") else {}
    blob_url = mirror.under("/v2/%s/blobs/%s" % (image[0], chosen["digest"]))
    started = clock()
    response, _final = fetcher.open(blob_url, headers)
    if response.status != 200:
        body, _count = fetcher.read(response, MAX_DOCUMENT_BYTES)
        raise _manifest_failure(response, body)
    _measure(fetcher, response, max_bytes, started, result)


def image_created(fetcher, mirror, repository, facts, machine=None):
    """The ``created`` time (RFC 3339 text) of the image config that ``facts`` name, or None.

    Fetches the platform manifest when its config digest is not known yet,
    then the config blob (a small JSON document).
    """
    auth = {}
    config_digest = facts.get("config_digest")
    if not config_digest and facts.get("platform_digest"):
        more, _doc = manifest_facts(fetcher, mirror, repository, facts["platform_digest"], machine, auth)
        config_digest = more.get("config_digest")
    if not config_digest:
        return None
    url = mirror.under("/v2/%s/blobs/%s" % (repository, config_digest))
    response, body, _final = _authorized_get(fetcher, auth, url, repository)
    if response.status != 200:
        return None
    try:
        created = _json_document(body, "image config").get("created")
    except ProbeFailure:
        return None
    return created if isinstance(created, str) else None


def probe_package(fetcher, mirror, result, path, max_bytes=DEFAULT_MAX_BYTES):
    """GET <mirror>/<path>, timed: latency to the answer, throughput of the body."""
    clock = fetcher.deadline.clock
    started = clock()
    response, _final = fetcher.open(mirror.under(path))
    result["latency_ms"] = round((clock() - started) * 1000, 1)
    result["status"] = response.status
    if response.status != 200:
        body, _count = fetcher.read(response, MAX_DOCUMENT_BYTES)
        raise ProbeFailure(http_error(response.status, body, response.dockhand_request,
                                      response.getheader("Content-Type")))
    _measure(fetcher, response, max_bytes, started, result)


def probe_one(mirror, kind=KIND_REGISTRY, image=None, path=None, timeout=DEFAULT_TIMEOUT,
              max_bytes=DEFAULT_MAX_BYTES, ssl_context=None, machine=None, clock=time.monotonic,
              check_images=(), layer=True, fetcher_class=None):
    """Probe one mirror within ``timeout`` seconds; always returns a result dict, never raises.

    ``fetcher_class`` makes the HTTP client (Fetcher by default): the hook
    through which a trusted upstream is reached through a proxy.
    """
    result = new_result(mirror.url)
    deadline = Deadline(timeout, clock)
    fetcher = (fetcher_class or Fetcher)(deadline, ssl_context)
    fetcher.where = "%s:%d" % (mirror.host, mirror.port)
    try:
        if kind == KIND_PACKAGE:
            probe_package(fetcher, mirror, result, path, max_bytes)
        else:
            probe_registry(fetcher, mirror, result, image, max_bytes, machine, check_images, layer)
        result["ok"] = True
    except ProbeTimeout:
        result["error"] = describe_error(socket.timeout(), fetcher.where, timeout, fetcher.doing)
    except Exception as exc:  # noqa: BLE001 - every failure of one mirror becomes its result
        result["error"] = describe_error(exc, fetcher.where, timeout, fetcher.doing)
    finally:
        fetcher.close()
        result["elapsed_ms"] = round((clock() - deadline.start) * 1000, 1)
    return result


def created_one(mirror, repository, facts, timeout=DEFAULT_TIMEOUT, ssl_context=None, machine=None,
                clock=time.monotonic, fetcher_class=None):
    """image_created within ``timeout`` seconds; None for any failure (the date only explains a mismatch)."""
    fetcher = (fetcher_class or Fetcher)(Deadline(timeout, clock), ssl_context)
    fetcher.where = "%s:%d" % (mirror.host, mirror.port)
    try:
        return image_created(fetcher, mirror, repository, facts, machine)
    except Exception:  # noqa: BLE001 - no date is not an error of the probe
        return None
    finally:
        fetcher.close()


def run_all(jobs, concurrency, timeout, clock=time.monotonic):
    """Run the callables ``jobs`` on ``concurrency`` daemon threads; their answers in order.

    The caller waits at most about ``timeout`` (plus GRACE_SECONDS) per round
    of ``concurrency`` jobs. A job still running then is left behind and
    answers ``("stuck", None)``; one never started answers ``("not started",
    None)``; the others ``("done", answer)``.
    """
    answers = [None] * len(jobs)
    started = [False] * len(jobs)
    lock = threading.Lock()
    pending = list(range(len(jobs)))

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                index = pending.pop(0)
                started[index] = True
            answers[index] = ("done", jobs[index]())

    if not jobs:
        return []
    workers = min(concurrency, len(jobs))
    threads = [threading.Thread(target=worker, name="mirror-probe-%d" % i) for i in range(workers)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    rounds = -(-len(jobs) // workers)
    give_up = clock() + rounds * (timeout + GRACE_SECONDS)
    for thread in threads:
        thread.join(max(0.0, give_up - clock()))
    with lock:
        pending[:] = []  # a stuck worker must not start anything more
        final = list(answers)
    return [answer or (("stuck", None) if started[index] else ("not started", None))
            for index, answer in enumerate(final)]


def make_ssl_context(validate_certs=True, ca_path=None):
    """The TLS context for https:// mirrors; raises ProbeInputError for an unreadable ca_path."""
    try:
        context = ssl.create_default_context(cafile=ca_path)
    except (OSError, ssl.SSLError) as exc:
        raise ProbeInputError("ca_path %s cannot be used: %s" % (ca_path, getattr(exc, "strerror", None) or exc)) \
            from None
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def parse_mirrors(urls, what="mirrors"):
    """Each URL checked with :func:`parse_mirror`, duplicates dropped, in order."""
    parsed, seen = [], set()
    for url in urls or []:
        try:
            mirror = parse_mirror(url)
        except ProbeInputError as exc:
            if what == "mirrors":
                raise
            raise ProbeInputError("%s: %s" % (what, exc)) from None
        if mirror.url not in seen:
            seen.add(mirror.url)
            parsed.append(mirror)
    return parsed


def integrity_images_of(kind, image, integrity, integrity_images):
    """The images the integrity check compares, as (repository, reference): ``image`` first."""
    if integrity not in INTEGRITY_MODES:
        raise ProbeInputError("integrity must be one of %s, not %r" % (", ".join(INTEGRITY_MODES), integrity))
    if integrity == INTEGRITY_OFF or kind != KIND_REGISTRY:
        return []
    refs = [parse_image(image)] if image else []
    for index, value in enumerate(integrity_images or []):
        try:
            ref = parse_image(value)
        except ProbeInputError as exc:
            raise ProbeInputError("integrity_images[%d]: %s" % (index, exc)) from None
        if ref not in refs:
            refs.append(ref)
    return refs


def survey(mirrors, kind=KIND_REGISTRY, image=None, path=None, timeout=DEFAULT_TIMEOUT,
           max_bytes=DEFAULT_MAX_BYTES, concurrency=DEFAULT_CONCURRENCY, validate_certs=True,
           ca_path=None, machine=None, clock=time.monotonic, integrity=INTEGRITY_AUTO, trusted=(),
           integrity_images=(), trusted_fetcher_class=None):
    """Probe every mirror and check what each serves; ``{"results": [...], "integrity": {...}}``.

    Results come in the order of ``mirrors`` (checked with :func:`parse_mirror`;
    duplicates are probed once); ``image`` is a reference for :func:`parse_image`.
    Raises ProbeInputError for bad input before any traffic. Mirrors, and the
    ``trusted`` sources that are not among them, are probed concurrently,
    ``concurrency`` at a time; the caller waits at most about ``timeout`` per
    round: a probe that outlives that (a name lookup that never returns) is
    reported as timed out and left behind.

    With ``integrity`` auto and an image to compare (``image``, ``integrity_images``),
    each result gets ``integrity`` and ``integrity_note`` (integrity.py). Where
    digests agree this costs no request beyond the probe's own (and one per
    extra image); the creation dates that tell stale from mismatch are fetched
    only where a mirror differs. ``trusted_fetcher_class`` makes the HTTP client
    for the trusted sources (the hook for a proxy to upstream).
    """
    check_options(kind, image, path, timeout, max_bytes, 1, concurrency)
    parsed = parse_mirrors(mirrors)
    if not parsed:
        raise ProbeInputError("mirrors is empty; give at least one mirror URL")
    image_ref = parse_image(image) if image else None
    if kind == KIND_PACKAGE and not path:
        raise ProbeInputError("kind=package needs path, for example dists/bookworm/Release")
    checked = integrity_images_of(kind, image, integrity, integrity_images)
    if trusted and integrity == INTEGRITY_OFF:
        raise ProbeInputError("trusted applies when integrity is auto; remove it, or set integrity: auto")
    sources = parse_mirrors(trusted, "trusted")  # checked even when there is nothing to compare
    if not checked:
        sources = []
    context = make_ssl_context(validate_certs, ca_path)  # also for token realms and redirects to https
    extra = [ref for ref in checked if ref != image_ref]
    outside = [source for source in sources if not any(same_url(source.url, m.url) for m in parsed)]

    def mirror_job(mirror):
        return lambda: probe_one(mirror, kind, image_ref, path, timeout, max_bytes, context, machine, clock,
                                 check_images=extra)

    def source_job(source):
        return lambda: probe_one(source, KIND_REGISTRY, None, None, timeout, max_bytes, context, machine, clock,
                                 check_images=checked, layer=False, fetcher_class=trusted_fetcher_class)

    answers = run_all([mirror_job(m) for m in parsed] + [source_job(s) for s in outside], concurrency,
                      timeout, clock)
    everything = []
    for target, (how, answer) in zip(parsed + outside, answers):
        result = answer
        if result is None:
            result = new_result(target.url)
            result["error"] = ("timed out after %s s (the probe did not finish; a name lookup may hang)"
                               % format_seconds(timeout) if how == "stuck"
                               else "not probed: the probes before it did not finish in time (raise concurrency)")
        everything.append(result)
    results = everything[:len(parsed)]
    by_url = {r["url"]: r for r in everything}
    trusted_manifests = []
    for source in sources:
        match = next((url for url in by_url if same_url(url, source.url)), source.url)
        trusted_manifests.append((source.url, by_url.get(match, {}).get("manifests")))
    summary = check_integrity(results, checked, trusted_manifests, timeout, context, machine, clock,
                              concurrency, trusted_fetcher_class)
    if not checked:
        unchecked = ("not checked (integrity: off)" if integrity == INTEGRITY_OFF
                     else None if kind == KIND_PACKAGE else "not checked: no image to compare (set image)")
        for result in results:
            result["integrity_note"] = unchecked
    for result in everything:
        result.pop("manifests", None)
    return {"results": results, "integrity": summary}


def check_integrity(results, checked, trusted_manifests, timeout=DEFAULT_TIMEOUT, ssl_context=None,
                    machine=None, clock=time.monotonic, concurrency=DEFAULT_CONCURRENCY,
                    trusted_fetcher_class=None):
    """Set ``integrity`` and ``integrity_note`` on each result; returns the summary (images, references)."""
    names = [image_name(*ref) for ref in checked]
    summary = {"images": names, "references": {}}
    if not names:
        return summary
    mirror_manifests = [(r["url"], r.get("manifests")) for r in results]
    references = {name: integrity.choose_reference(name, trusted_manifests, mirror_manifests) for name in names}
    repositories = dict(zip(names, (ref[0] for ref in checked)))
    # Creation dates, only where a mirror serves another image than the reference.
    wanted = []  # (key, url, repository, facts, fetcher class)
    for name, reference in references.items():
        differing = [r for r in results
                     if integrity.compare((r.get("manifests") or {}).get(name), reference) == integrity.DIFFERS]
        if differing:
            from_trusted = reference["url"] not in [r["url"] for r in results]
            wanted.append((("reference", name), reference["url"], repositories[name], reference["facts"],
                           trusted_fetcher_class if from_trusted else None))
            wanted += [((r["url"], name), r["url"], repositories[name], r["manifests"][name], None)
                       for r in differing]
    jobs = [(lambda url=url, repository=repository, facts=facts, cls=cls:
             created_one(parse_mirror(url), repository, facts, timeout, ssl_context, machine, clock, cls))
            for _key, url, repository, facts, cls in wanted]
    answers = run_all(jobs, concurrency, timeout, clock)
    created = {key: answer for (key, _u, _r, _f, _c), (_how, answer) in zip(wanted, answers)}
    reference_created = {name: created.get(("reference", name)) for name in names}
    for result in results:
        mine = {name: created.get((result["url"], name)) for name in names}
        result["integrity"], result["integrity_note"] = integrity.verdict(
            names, references, result.get("manifests"), mine, reference_created)
    for name, reference in references.items():
        summary["references"][name] = {
            "digest": reference["facts"].get("digest") if reference["facts"] else None,
            "platform_digest": reference["key"], "source": reference["source"],
            "created": reference_created.get(name)}
    return summary


def probe_mirrors(mirrors, kind=KIND_REGISTRY, image=None, path=None, timeout=DEFAULT_TIMEOUT,
                  max_bytes=DEFAULT_MAX_BYTES, concurrency=DEFAULT_CONCURRENCY, validate_certs=True,
                  ca_path=None, machine=None, clock=time.monotonic, **checks):
    """The results of :func:`survey` alone (``checks``: its integrity options)."""
    return survey(mirrors, kind, image, path, timeout, max_bytes, concurrency, validate_certs, ca_path, machine,
                  clock, **checks)["results"]
