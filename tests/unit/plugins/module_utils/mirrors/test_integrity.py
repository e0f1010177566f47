"""Integrity by digest: the pure classification (integrity.py), then survey() against small registries
on 127.0.0.1 that serve the same, an older, a newer or no image under one tag."""

import hashlib
import http.server
import json
import threading

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors import integrity
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.integrity import (
    MISMATCH,
    MISSING,
    OK,
    STALE,
    UNKNOWN,
    choose_reference,
    compare,
    created_stamp,
    overall,
    settle,
    verdict,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.probe import (
    MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
    ProbeInputError,
    best_urls,
    left_out,
    rank,
    survey,
    warnings_for,
)

IMAGE = "library/app:1"


def facts(key, digest=None):
    return {"digest": digest or key, "platform_digest": key, "config_digest": None}


# --------------------------------------------------------------------------
# Pure
# --------------------------------------------------------------------------

def test_a_trusted_source_is_the_reference_in_order():
    trusted = [("http://down", None), ("http://cache", {IMAGE: facts("sha256:a")})]
    mirrors = [("http://m1", {IMAGE: facts("sha256:b")}), ("http://m2", {IMAGE: facts("sha256:b")})]
    reference = choose_reference(IMAGE, trusted, mirrors)
    assert reference["key"] == "sha256:a" and reference["source"] == "trusted http://cache"


def test_the_majority_is_the_reference_without_a_trusted_source():
    mirrors = [("http://m1", {IMAGE: facts("sha256:a")}), ("http://m2", {IMAGE: facts("sha256:b")}),
               ("http://m3", {IMAGE: facts("sha256:a")}), ("http://dead", None)]
    reference = choose_reference(IMAGE, [], mirrors)
    assert reference["key"] == "sha256:a" and reference["url"] == "http://m1"
    assert reference["source"] == "the majority (2 of 3 mirrors)"


@pytest.mark.parametrize("mirrors, words", [
    ([("http://m1", {IMAGE: facts("sha256:a")}), ("http://m2", {IMAGE: facts("sha256:b")})],
     "no two mirrors out of more than half agree"),
    ([("http://m1", {IMAGE: facts("sha256:a")})], "1 mirror served it"),
    ([("http://m1", {IMAGE: facts("sha256:a")}), ("http://m2", {IMAGE: facts("sha256:a")}),
      ("http://m3", {IMAGE: facts("sha256:b")}), ("http://m4", {IMAGE: facts("sha256:b")})], "agree"),
])
def test_no_reference_without_a_strict_majority_of_two(mirrors, words):
    reference = choose_reference(IMAGE, [("http://cache", {IMAGE: {"missing": True, "error": "manifest unknown"}})],
                                 mirrors)
    assert reference["key"] is None
    assert "http://cache: manifest unknown" in reference["source"] and words in reference["source"]


def test_platform_digests_are_compared_not_index_digests():
    reference = {"key": "sha256:img", "source": "x"}
    assert compare({"digest": "sha256:index-1", "platform_digest": "sha256:img"}, reference) == OK
    assert compare({"digest": "sha256:img", "platform_digest": None}, reference) == OK  # no index: the manifest
    assert compare({"digest": "sha256:index-1", "platform_digest": "sha256:other"}, reference) == integrity.DIFFERS
    assert compare({"missing": True, "error": "manifest unknown"}, reference) == MISSING
    assert compare({"error": "timed out"}, reference) == UNKNOWN
    assert compare(None, reference) == UNKNOWN
    assert compare(facts("sha256:img"), {"key": None, "source": "none"}) == UNKNOWN


@pytest.mark.parametrize("created, expected", [
    ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00"),
    ("2026-11-28T10:11:12.123456789Z", "2026-11-28T10:11:12"),
    ("2026-11-28T10:11:12", "2026-11-28T10:11:12"),
    ("2026-11-28T10:11:12+08:00", None), ("yesterday", None), ("", None), (None, None), (20200101, None),
])
def test_created_stamp(created, expected):
    assert created_stamp(created) == expected


def test_older_is_stale_and_anything_else_a_mismatch():
    assert settle("2020-01-01T00:00:00Z", "2026-11-28T10:00:00.5Z") == STALE
    assert settle("2026-12-01T00:00:00Z", "2026-11-28T10:00:00Z") == MISMATCH  # newer than the reference
    assert settle("2026-11-28T10:00:00Z", "2026-11-28T10:00:00Z") == MISMATCH  # same date, other content
    assert settle(None, "2026-11-28T10:00:00Z") == MISMATCH  # undated
    assert settle("1970-01-01T00:00:00Z", None) == MISMATCH


def test_the_worst_state_wins():
    assert overall([OK, STALE, MISSING]) == STALE
    assert overall([MISSING, MISMATCH, STALE]) == MISMATCH
    assert overall([OK, MISSING]) == MISSING
    assert overall([OK, UNKNOWN]) == OK
    assert overall([UNKNOWN]) == UNKNOWN and overall([]) == UNKNOWN


def test_verdict_words_name_image_digests_dates_and_source():
    references = {IMAGE: {"key": "sha256:" + "a" * 64, "source": "trusted http://cache", "url": "http://cache",
                          "facts": facts("sha256:" + "a" * 64)},
                  "library/b:1": {"key": "sha256:" + "c" * 64, "source": "the majority (2 of 3 mirrors)"}}
    manifests = {IMAGE: facts("sha256:" + "b" * 64), "library/b:1": {"missing": True, "error": "manifest unknown"}}
    state, note = verdict([IMAGE, "library/b:1"], references, manifests,
                          {IMAGE: "2020-01-01T00:00:00Z"}, {IMAGE: "2026-11-28T10:00:00Z"})
    assert state == STALE
    assert note == ("serves an older library/app:1: sha256:bbbbbbbbbbbb (created 2020-01-01T00:00:00Z), where "
                    "trusted http://cache serves sha256:aaaaaaaaaaaa (created 2026-11-28T10:00:00Z); does not have "
                    "library/b:1, which the majority (2 of 3 mirrors) serves")
    state, note = verdict([IMAGE], references, manifests, {IMAGE: "2027-01-01T00:00:00Z"},
                          {IMAGE: "2026-11-28T10:00:00Z"})
    assert state == MISMATCH and "serves a different library/app:1" in note and "if the reference is stale" in note
    assert verdict([IMAGE], references, {IMAGE: facts("sha256:" + "a" * 64)}) == (OK, None)
    state, note = verdict([IMAGE], {IMAGE: {"key": None, "source": "no trusted source is set"}},
                          {IMAGE: facts("sha256:x")})
    assert state == UNKNOWN and note == "library/app:1: nothing to compare with (no trusted source is set)"


def result(url, ok=True, state=UNKNOWN, throughput=100, note=None):
    return {"url": url, "ok": ok, "throughput": throughput, "latency_ms": 1.0, "error": None if ok else "refused",
            "integrity": state, "integrity_note": note}


def test_a_stale_or_mismatched_mirror_gets_a_warning_that_says_why():
    results = [result("http://stale", state=STALE, throughput=10 ** 9, note="serves an older x"),
               result("http://odd", state=MISMATCH, throughput=10 ** 9, note="serves a different x"),
               result("http://good", state=OK, throughput=10), result("http://spare", state=OK, throughput=5),
               result("http://dead", ok=False)]
    ranked = rank(results, first=["http://odd"])
    best = best_urls(ranked, 1)
    warnings = warnings_for(ranked, best, left_out(ranked, best, 1), first=["http://odd"])
    assert warnings == ["mirror http://stale is never picked: stale: serves an older x",
                        "preferred mirror http://odd is left out: mismatch: serves a different x; using http://good"]


def test_without_a_live_mirror_the_warning_lists_every_reason():
    ranked = rank([result("http://stale", state=STALE, note="serves an older x"), result("http://dead", ok=False)])
    best = best_urls(ranked, 2)
    assert best == []
    assert warnings_for(ranked, best, left_out(ranked, best, 2)) == [
        "no mirror passed the probe: http://stale: stale: serves an older x; http://dead: refused"]


def test_a_stale_or_mismatched_mirror_is_never_picked_even_when_preferred():
    results = [result("http://stale", state=STALE, throughput=10 ** 9, note="serves an older x"),
               result("http://odd", state=MISMATCH, throughput=10 ** 9, note="serves a different x"),
               result("http://slow", state=OK, throughput=10), result("http://allow", state=MISSING, throughput=5),
               result("http://dead", ok=False)]
    ranked = rank(results, prefer=["http://stale"], tolerance=0.5, first=["http://odd"])
    assert [r["url"] for r in ranked] == ["http://slow", "http://allow", "http://stale", "http://odd", "http://dead"]
    best = best_urls(ranked, 3)
    assert best == ["http://slow", "http://allow"]  # missing may be picked; stale and mismatch never
    reasons = {entry["url"]: entry["reason"] for entry in left_out(ranked, best, 3)}
    assert reasons == {"http://stale": "stale: serves an older x", "http://odd": "mismatch: serves a different x",
                       "http://dead": "refused"}


# --------------------------------------------------------------------------
# survey() against registries on 127.0.0.1
# --------------------------------------------------------------------------

LAYER = b"layer bytes " * 1000
LAYER_DIGEST = "sha256:" + hashlib.sha256(LAYER).hexdigest()


def digest(body):
    return "sha256:" + hashlib.sha256(body).hexdigest()


def image_documents(created, label, index=False):
    """{path: (body, media type)} of library/app:1: one image (config with ``created``), maybe in an index."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": created,
                         "config": {"Labels": {"build": label}},
                         "rootfs": {"type": "layers", "diff_ids": [LAYER_DIGEST]}}, sort_keys=True).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_DOCKER_MANIFEST,
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "digest": digest(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                       "digest": LAYER_DIGEST, "size": len(LAYER)}]}).encode()
    docs = {"/v2/library/app/blobs/" + digest(config): (config, "application/octet-stream"),
            "/v2/library/app/blobs/" + LAYER_DIGEST: (LAYER, "application/octet-stream"),
            "/v2/library/app/manifests/" + digest(manifest): (manifest, MEDIA_DOCKER_MANIFEST)}
    if index:
        doc = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": [
            {"mediaType": MEDIA_OCI_MANIFEST, "digest": digest(manifest), "size": len(manifest),
             "platform": {"architecture": "amd64", "os": "linux"}}], "annotations": {"by": label}}).encode()
        docs["/v2/library/app/manifests/1"] = (doc, MEDIA_OCI_INDEX)
    else:
        docs["/v2/library/app/manifests/1"] = (manifest, MEDIA_DOCKER_MANIFEST)
    return docs, digest(manifest)


class StaticRegistry:
    """Answers /v2/ and the documents it was given; 404 (manifest unknown) for anything else."""

    def __init__(self, documents):
        self.documents = documents
        self.requests = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                registry.requests.append(self.path)
                if self.path == "/v2/":
                    body, media, status = b"{}", "application/json", 200
                elif self.path in registry.documents:
                    (body, media), status = registry.documents[self.path], 200
                else:
                    body, media, status = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', \
                        "application/json", 404
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registries():
    made = []

    def make(documents):
        made.append(StaticRegistry(documents))
        return made[-1]
    yield make
    for server in made:
        server.close()


NEW = "2026-11-28T10:00:00.5Z"
OLD = "2020-01-01T00:00:00Z"


def by_url(results):
    return {r["url"]: r for r in results}


def test_the_majority_finds_the_stale_mirror_and_it_is_left_out(registries):
    current, current_digest = image_documents(NEW, "current")
    old, old_digest = image_documents(OLD, "old")
    hub, cache, stale = registries(current), registries(dict(current)), registries(old)
    surveyed = survey([stale.url, hub.url, cache.url], image=IMAGE, timeout=3, machine="x86_64")
    results = by_url(surveyed["results"])
    assert results[hub.url]["integrity"] == OK and results[cache.url]["integrity"] == OK
    assert results[hub.url]["integrity_note"] is None
    assert results[stale.url]["ok"] is True and results[stale.url]["integrity"] == STALE
    assert results[stale.url]["integrity_note"] == (
        "serves an older library/app:1: %s (created %s), where the majority (2 of 3 mirrors) serves %s (created %s)"
        % (old_digest[:19], OLD, current_digest[:19], NEW))
    reference = surveyed["integrity"]["references"][IMAGE]
    assert reference["platform_digest"] == current_digest and reference["created"] == NEW
    assert surveyed["integrity"]["images"] == [IMAGE]
    assert all("manifests" not in r for r in surveyed["results"])  # internal facts do not leak
    ranked = rank(surveyed["results"])
    assert stale.url not in best_urls(ranked, 3)
    # A mirror that agrees and is not the reference gets no request beyond the probe's own: /v2/, the
    # manifest, the layer; the creation dates come from the stale mirror and the reference (hub) alone.
    assert cache.requests == ["/v2/", "/v2/library/app/manifests/1", "/v2/library/app/blobs/" + LAYER_DIGEST]
    assert len(hub.requests) == 4 and len(stale.requests) == 4  # + the config blob


def test_where_all_agree_the_check_costs_no_request(registries):
    current, _digest = image_documents(NEW, "current")
    mirrors = [registries(dict(current)) for _mirror in range(3)]
    results = survey([m.url for m in mirrors], image=IMAGE, timeout=3)["results"]
    assert [r["integrity"] for r in results] == [OK, OK, OK]
    for mirror in mirrors:
        assert mirror.requests == ["/v2/", "/v2/library/app/manifests/1", "/v2/library/app/blobs/" + LAYER_DIGEST]


def test_a_trusted_source_outside_the_mirrors_decides_a_pair(registries):
    current, _digest = image_documents(NEW, "current", index=True)
    old, _old = image_documents(OLD, "old", index=True)
    newer, _newer = image_documents("2027-01-01T00:00:00Z", "rebuilt")
    trusted, good, stale, odd = registries(current), registries(dict(current)), registries(old), registries(newer)
    surveyed = survey([good.url, stale.url, odd.url], image=IMAGE, timeout=3, machine="x86_64",
                      trusted=[trusted.url])
    results = by_url(surveyed["results"])
    assert [results[u]["integrity"] for u in (good.url, stale.url, odd.url)] == [OK, STALE, MISMATCH]
    assert "where trusted %s serves" % trusted.url in results[stale.url]["integrity_note"]
    assert "it is newer: if the reference is stale, update it" in results[odd.url]["integrity_note"]
    assert trusted.url not in results  # a trusted source is not a mirror of the results
    assert not any("/blobs/" + LAYER_DIGEST in path for path in trusted.requests)  # manifests only, no layer


def test_without_a_trusted_source_a_pair_that_disagrees_is_unknown(registries):
    current, _digest = image_documents(NEW, "current")
    old, _old = image_documents(OLD, "old")
    first, second = registries(current), registries(old)
    results = survey([first.url, second.url], image=IMAGE, timeout=3)["results"]
    assert [r["integrity"] for r in results] == [UNKNOWN, UNKNOWN]
    assert "no two mirrors out of more than half agree" in results[0]["integrity_note"]
    # unknown does not block: both are picked (in an order their measured throughput decides)
    assert sorted(best_urls(rank(results), 2)) == sorted([first.url, second.url])


def test_an_extra_image_a_mirror_lacks_is_missing_and_does_not_block(registries):
    current, _digest = image_documents(NEW, "current")
    extra = {path.replace("/library/app/", "/library/extra/"): doc for path, doc in current.items()}
    full, partial = registries(dict(current, **extra)), registries(current)
    surveyed = survey([partial.url, full.url], image=IMAGE, timeout=3, trusted=[full.url],
                      integrity_images=["library/extra:1", IMAGE])
    results = by_url(surveyed["results"])
    assert surveyed["integrity"]["images"] == [IMAGE, "library/extra:1"]
    assert results[full.url]["integrity"] == OK
    assert results[partial.url]["integrity"] == MISSING
    assert results[partial.url]["integrity_note"] == "does not have library/extra:1, which trusted %s serves" \
        % full.url
    assert set(best_urls(rank(surveyed["results"]), 2)) == {full.url, partial.url}


def test_integrity_off_and_no_image_compare_nothing(registries):
    current, _digest = image_documents(NEW, "current")
    reg = registries(current)
    off = survey([reg.url], image=IMAGE, timeout=3, integrity="off")["results"][0]
    assert off["integrity"] == UNKNOWN and off["integrity_note"] == "not checked (integrity: off)"
    bare = survey([reg.url], timeout=3)
    assert bare["results"][0]["integrity_note"] == "not checked: no image to compare (set image)"
    assert bare["integrity"] == {"images": [], "references": {}}


@pytest.mark.parametrize("options, words", [
    ({"trusted": ["cache.lan:5000"]}, ["trusted: mirror 'cache.lan:5000' has no scheme"]),
    ({"integrity_images": ["ghcr.io/org/app:1"]}, ["integrity_images[0]", "ghcr.io"]),
    ({"integrity": "strict"}, ["integrity must be one of auto, off"]),
    ({"integrity": "off", "trusted": ["http://cache.lan:5000"]}, ["trusted applies when integrity is auto"]),
])
def test_bad_integrity_input_fails_before_any_traffic(registries, options, words):
    reg = registries({})
    with pytest.raises(ProbeInputError) as caught:
        survey([reg.url], image=IMAGE, timeout=3, **options)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    assert reg.requests == []
