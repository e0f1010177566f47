# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integrity of registry mirrors by manifest digest (pure functions; probe.py does the requests).

A fast mirror that serves the wrong image is worse than none. For each
reference image, the digest a mirror serves is compared with a reference: the
first trusted source that has the image (upstream through a proxy, your
registry_cache), else the digest a strict majority of the mirrors serve (two
at least). Digests are compared for this host's platform (the image manifest
an index points to), so a mirror that keeps an index in another form but the
same image is not told apart.

Per mirror and image: ``ok`` (the same image), ``missing`` (the reference has
it, the mirror does not: an allow-list, say), ``unknown`` (nothing to compare
with, or the mirror did not answer), and for a different image ``stale``
(created before the reference's) or ``mismatch`` (anything else: newer,
undated, unrelated). Per mirror, the worst of mismatch, stale and missing
wins; else ``ok`` if any image matched; else ``unknown``. A stale or
mismatched mirror is never picked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

OK = "ok"
STALE = "stale"
MISMATCH = "mismatch"
MISSING = "missing"
UNKNOWN = "unknown"
STATES = (OK, STALE, MISMATCH, MISSING, UNKNOWN)
BLOCKING = (STALE, MISMATCH)  # never picked
DIFFERS = "differs"  # a different image; stale or mismatch once the creation dates are known

_CREATED_RE = re.compile(r"(?P<stamp>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?P<rest>.*)")


def comparison_key(facts):
    """The digest two registries must agree on: the platform image's, else the manifest's."""
    if not isinstance(facts, dict):
        return None
    return facts.get("platform_digest") or facts.get("digest")


def short(digest):
    """sha256:0123456789ab (the first 12 hex digits), for messages."""
    if not isinstance(digest, str):
        return "?"
    algorithm, _sep, hexpart = digest.partition(":")
    return "%s:%s" % (algorithm, hexpart[:12]) if hexpart else digest


def choose_reference(image, trusted, mirrors):
    """The reference for ``image``: a dict with ``key``, ``source`` (words), ``url`` and ``facts``.

    ``trusted`` and ``mirrors`` are ``[(url, manifests)]`` where manifests
    maps image names to facts (or is None when the registry failed). The first
    trusted source with a digest wins; else a strict majority of at least two
    mirrors. Without either, ``key`` is None and ``source`` says why.
    """
    tried = []
    for url, manifests in trusted:
        facts = (manifests or {}).get(image)
        if comparison_key(facts):
            return {"key": comparison_key(facts), "source": "trusted %s" % url, "url": url, "facts": facts}
        tried.append("%s: %s" % (url, (facts or {}).get("error") or "no answer"))
    served = [(url, (manifests or {}).get(image)) for url, manifests in mirrors]
    served = [(url, facts) for url, facts in served if comparison_key(facts)]
    counts = {}
    for _url, facts in served:
        counts[comparison_key(facts)] = counts.get(comparison_key(facts), 0) + 1
    if counts:
        key, count = max(counts.items(), key=lambda item: item[1])
        if count >= 2 and count * 2 > len(served):
            url, facts = next((u, f) for u, f in served if comparison_key(f) == key)
            return {"key": key, "source": "the majority (%d of %d mirrors)" % (count, len(served)),
                    "url": url, "facts": facts}
    why = "no trusted source has it (%s)" % "; ".join(tried) if tried else "no trusted source is set"
    why += " and no two mirrors out of more than half agree" if len(served) > 1 else \
        " and %d mirror served it" % len(served)
    return {"key": None, "source": why, "url": None, "facts": None}


def compare(facts, reference):
    """One mirror's answer for one image against the reference: ok, missing, unknown or DIFFERS."""
    if reference is None or reference.get("key") is None:
        return UNKNOWN
    if not isinstance(facts, dict) or (facts.get("error") and not facts.get("missing")):
        return UNKNOWN
    if facts.get("missing"):
        return MISSING
    if not comparison_key(facts):
        return UNKNOWN
    return OK if comparison_key(facts) == reference["key"] else DIFFERS


def created_stamp(created):
    """An image config's ``created`` as 'YYYY-MM-DDTHH:MM:SS' (fraction and zone dropped), or None.

    Registries write UTC with a Z; text that does not parse is no date.
    """
    if not isinstance(created, str):
        return None
    match = _CREATED_RE.fullmatch(created.strip())
    if not match or (match.group("rest") not in ("", "Z") and not re.fullmatch(r"\.[0-9]+Z?", match.group("rest"))):
        return None
    return match.group("stamp")


def settle(created, reference_created):
    """STALE when the mirror's image was created before the reference's, else MISMATCH."""
    mine, theirs = created_stamp(created), created_stamp(reference_created)
    return STALE if mine and theirs and mine < theirs else MISMATCH


def describe(state, image, facts, reference, created=None, reference_created=None):
    """One sentence on a mirror's answer for ``image`` that is not ok, or None."""
    if state == OK:
        return None
    if state == MISSING:
        return "does not have %s, which %s serves" % (image, reference["source"])
    if state == UNKNOWN:
        if reference is None or reference.get("key") is None:
            return "%s: nothing to compare with (%s)" % (image, reference["source"] if reference else "not checked")
        return "%s: %s" % (image, (facts or {}).get("error") or "no manifest to compare")
    mine = "%s%s" % (short(comparison_key(facts)), " (created %s)" % created if created else "")
    theirs = "%s%s" % (short(reference["key"]), " (created %s)" % reference_created if reference_created else "")
    if state == STALE:
        return "serves an older %s: %s, where %s serves %s" % (image, mine, reference["source"], theirs)
    newer = created_stamp(created) and created_stamp(reference_created) and \
        created_stamp(created) > created_stamp(reference_created)
    return "serves a different %s: %s, where %s serves %s%s" % (
        image, mine, reference["source"], theirs,
        "; it is newer: if the reference is stale, update it" if newer else "")


def overall(states):
    """A mirror's integrity from its states per image."""
    for state in (MISMATCH, STALE, MISSING):
        if state in states:
            return state
    return OK if OK in states else UNKNOWN


def verdict(images, reference_by_image, manifests, created_by_image=None, reference_created=None):
    """``(integrity, note)`` of one mirror from its manifests (image name -> facts).

    ``created_by_image`` holds the creation time of the mirror's image where it
    differs; ``reference_created`` the reference's, by image. The note gives
    the images behind the verdict (None when it is ok).
    """
    created_by_image = created_by_image or {}
    reference_created = reference_created or {}
    found = []  # (state, words)
    for image in images:
        reference = reference_by_image.get(image)
        facts = (manifests or {}).get(image)
        state = compare(facts, reference)
        if state == DIFFERS:
            state = settle(created_by_image.get(image), reference_created.get(image))
        found.append((state, describe(state, image, facts, reference, created_by_image.get(image),
                                      reference_created.get(image))))
    state = overall([state for state, _words in found])
    if state == OK:
        return state, None
    shown = (UNKNOWN,) if state == UNKNOWN else (MISMATCH, STALE, MISSING)
    notes = [words for kind in shown for each, words in found if each == kind and words]
    return state, "; ".join(notes) or None
