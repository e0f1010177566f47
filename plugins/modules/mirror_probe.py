#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mirror_probe
short_description: Probe registry mirrors or package mirrors from the target host and rank them
version_added: 0.1.0
description:
  - Probes candidate mirrors from the host the task runs on, since each host has its own network
    path to them, and ranks them so that a play can point the host at the best ones.
  - For O(kind=registry) it sends C(GET /v2/) to each mirror. A V(200) or V(401) answer means a
    registry is there, and the time to that answer is RV(results[].latency_ms). With O(image) it also
    fetches the image's manifest, resolving an image index or manifest list to the host's platform,
    and then the largest layer blob, read up to O(max_bytes), which gives RV(results[].throughput).
    When a registry answers C(401) with a Bearer challenge, an anonymous pull token is fetched from
    the challenge's realm, as docker does for public images.
  - For O(kind=package) it fetches O(path) under each package mirror, for example
    C(dists/bookworm/Release) under C(http://deb.debian.org/debian), and times it the same way.
  - Mirrors are probed concurrently, O(concurrency) at a time, and each one gets O(timeout) seconds
    for everything it does, so a mirror that hangs costs O(timeout), not the sum of all the waits.
    A layer or file still arriving when the time is up is not a failure. The bytes read so far give
    the throughput, since a slow mirror is slow, not dead.
  - Ranking puts the mirrors that passed the probe first. Among them, the O(first) mirrors come first, then
    the O(prefer) mirrors within O(tolerance), then measured throughput decides (fastest first), and
    latency decides where nothing was measured. Ties keep the order of O(mirrors).
  - Every mirror that is not in RV(best) is listed in RV(left_out) with the reason.
  - B(Integrity.) A fast mirror that serves the wrong image is worse than none. With O(image) or
    O(integrity_images), the manifest digest each mirror serves for each of those images is compared with
    a reference, for the host's platform. The reference is the first source in O(trusted) that has the
    image (upstream, through a proxy where one is set, or your registry cache), else the digest that a
    strict majority of the mirrors serve (two at least).
  - Each mirror gets RV(results[].integrity). V(ok) means it serves the same image. V(stale) means it serves
    an image created before the reference's. V(mismatch) means any other image. V(missing) means it lacks
    an image the reference has, as an allow-list mirror does. V(unknown) means there was nothing to
    compare with, or the mirror did not answer.
  - A V(stale) or V(mismatch) mirror is never in RV(best), whatever O(first) says; RV(left_out) says
    why, and so does a warning, since the mirror itself needs fixing. Where the digests agree, the
    check costs no request beyond the probe's own (plus one manifest per extra image). The image
    creation dates that tell V(stale) from V(mismatch) are fetched only where a mirror differs.
  - Only the Python standard library is used on the target.
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description: The module only reads from the mirrors, so it runs the same in check mode.
  diff_mode:
    support: none
    description: The module changes nothing.
options:
  mirrors:
    description:
      - The mirrors to probe, as C(http://) or C(https://) URLs, for example C(https://mirror.example.com)
        for a registry mirror or C(http://deb.debian.org/debian) for a package mirror.
      - A URL without a scheme, with another scheme (C(ftp://)), with credentials, a query or a
        fragment fails the task and names the entry. A URL listed twice is probed once.
    type: list
    elements: str
    required: true
  kind:
    description:
      - V(registry) probes container registry mirrors over the registry API v2.
      - V(package) probes package mirrors (apt, dnf, ...) by fetching O(path).
    type: str
    choices: [registry, package]
    default: registry
  image:
    description:
      - For O(kind=registry), an image whose manifest and largest layer are fetched from each mirror
        to measure throughput, for example V(library/busybox:latest). V(busybox) means
        V(library/busybox:latest), a C(docker.io/) prefix is dropped, and C(@sha256:...) pins a digest.
      - The image must be one the mirrors serve. A mirror that does not have it is reported as not ok,
        with C(manifest unknown) in RV(results[].error).
      - Without it, only C(GET /v2/) is timed and the ranking goes by latency.
    type: str
  path:
    description:
      - For O(kind=package), the file to fetch under each mirror URL, for example
        V(dists/bookworm/Release) (apt) or V(repodata/repomd.xml) (dnf).
      - Defaults to C(dists/<codename>/Release), with the codename taken from the target's
        C(/etc/os-release). On a host without one, set it.
    type: str
  timeout:
    description:
      - Seconds each mirror gets for all of its requests (connect, C(/v2/), token, manifest, layer).
      - The whole task takes about this long when O(concurrency) is at least the number of mirrors.
    type: float
    default: 5
  max_bytes:
    description:
      - The most bytes read from the layer blob or package file to measure throughput.
    type: int
    default: 4194304
  pick:
    description: How many mirrors RV(best) holds at most.
    type: int
    default: 1
  first:
    description:
      - Preferred mirrors. Those that pass the probe rank first, in this order, however fast the others
        are, so a preferred mirror (your own cache, say) is used whenever it is healthy.
      - A preferred mirror that fails the probe is left out with a warning that gives the reason, and
        RV(left_out) lists it. It ranks first again on the first run where it passes.
      - Each one must also be in O(mirrors). Compared without a trailing slash.
    type: list
    elements: str
    default: []
  prefer:
    description:
      - Mirrors in use now. Those that are alive and within O(tolerance) of the best rank first (after
        the O(first) ones), in this order, so that probing again does not switch mirrors because of
        measurement noise.
      - Compared without a trailing slash (dockerd reports mirrors with one).
      - Before a mirror of O(prefer) that passed the probe is moved down, it and the best of the others are
        measured once more, one at a time (RV(remeasured)), and the mirror keeps its place when that second
        measurement is within O(tolerance) of the best one's. One measurement taken while many hosts probe
        the same registries at once can be far off; a mirror that is slower both times is moved down.
    type: list
    elements: str
    default: []
  tolerance:
    description:
      - How much slower a mirror of O(prefer) may be than the best and still be kept, as a fraction
        (V(0.5) keeps it at half the best throughput, or up to 1.5 times the best latency when no
        throughput was measured).
    type: float
    default: 0.5
  concurrency:
    description: How many mirrors are probed at the same time.
    type: int
    default: 8
  validate_certs:
    description: Verify the TLS certificates of C(https://) mirrors.
    type: bool
    default: true
  ca_path:
    description: A CA bundle (PEM) to verify C(https://) mirrors with, instead of the system's.
    type: path
  integrity:
    description:
      - V(auto) compares the digests the mirrors serve for O(image) and O(integrity_images), when there
        is one.
      - V(off) skips the comparison. Every mirror's RV(results[].integrity) is then V(unknown).
    type: str
    choices: [auto, "off"]
    default: auto
  trusted:
    description:
      - Registries whose manifests are the truth, in order of trust, as C(http://) or C(https://) URLs.
        Examples are the upstream (V(https://registry-1.docker.io)) and your pull-through cache
        (V(http://registry-cache.lan:5000)). Only manifests are fetched from them.
      - For each image the first one that has it is the reference. When none has it, or none is given,
        the majority of the mirrors is. With two mirrors that disagree and no trusted source, both are
        V(unknown). Set one to catch a stale mirror in a pair.
      - A trusted source may also be one of O(mirrors); it is probed once.
    type: list
    elements: str
    default: []
  integrity_images:
    description:
      - More images to compare, besides O(image), such as V(library/alpine:latest). Only their
        manifests are fetched.
      - A mirror that lacks one of them is V(missing) but may still be picked. Docker then goes to the
        next mirror for that image.
    type: list
    elements: str
    default: []
  proxy:
    description:
      - An C(http://) proxy, as C(http://[user:password@]host:port), through which the O(trusted) sources
        are reached, for hosts that reach the upstream only through a proxy (see
        M(dockhand.runtime.engine_proxy)). C(https://) sources are tunnelled through it with C(CONNECT).
      - The mirrors themselves are always probed directly, as the engine pulls from them.
      - Its password never shows in results, errors or logs.
    type: str
  no_proxy:
    description: Hosts (names, C(.domain) suffixes, IP addresses or networks) of O(trusted) reached directly.
    type: list
    elements: str
    default: []
notes:
  - The mirrors are probed directly, and the trusted sources through O(proxy) when it is set. Proxy environment
    variables (C(http_proxy), ...) are not used.
  - When no mirror passes the probe, the task does not fail. RV(best) is then empty and a warning lists
    each mirror's error, or its integrity where it answered with a stale or mismatched image.
    Use M(ansible.builtin.assert) on RV(best) to stop a play.
  - Docker tries C(registry-mirrors) in order only for Docker Hub images, so O(image) should be an
    image from Docker Hub, such as V(library/busybox:latest).
seealso:
  - module: dockhand.runtime.registry_mirrors
  - module: dockhand.runtime.daemon_config
"""

EXAMPLES = r"""
- name: Rank registry mirrors by the throughput of a real layer, from each host
  dockhand.runtime.mirror_probe:
    mirrors:
      - https://mirror.gcr.io
      - https://registry.example.lan:5000
      - http://10.0.0.5:5000
    image: library/busybox:latest
    timeout: 5
    pick: 2
  register: probe

- name: Point Docker at the best two
  dockhand.runtime.registry_mirrors:
    runtime: docker
    mirrors: "{{ probe.best }}"
  when: probe.best | length > 0

- name: Your own cache whenever it is healthy, else the fastest of the others
  dockhand.runtime.mirror_probe:
    mirrors:
      - http://registry-cache.lan:5000
      - https://mirror.example.com
      - https://mirror-b.example.com
    first:
      - http://registry-cache.lan:5000
    image: library/busybox:latest
    pick: 2
  register: probe_first

- name: The fastest mirror that serves the same busybox as your own cache (a stale mirror is never picked)
  dockhand.runtime.mirror_probe:
    mirrors: [https://mirror-a.example.com, https://mirror-b.example.com, http://registry-cache.lan:5000]
    trusted: [http://registry-cache.lan:5000]
    image: library/busybox:latest
    integrity_images: [library/alpine:latest]
  register: probe_checked

- name: Stop when no mirror answers
  ansible.builtin.assert:
    that: probe.best | length > 0
    fail_msg: "no mirror answered: {{ probe.results | map(attribute='error') | list }}"

- name: Choose the fastest Debian mirror for this host (dists/<codename>/Release by default)
  dockhand.runtime.mirror_probe:
    kind: package
    mirrors:
      - http://deb.debian.org/debian
      - http://mirror.example.lan/debian
  register: apt_mirrors

- name: Time a bigger file of a yum/dnf mirror
  dockhand.runtime.mirror_probe:
    kind: package
    path: repodata/repomd.xml
    mirrors: "{{ candidate_rpm_mirrors }}"
    max_bytes: 1048576
"""

RETURN = r"""
results:
  description: One result per mirror, in the order of O(mirrors) (duplicates removed).
  returned: always
  type: list
  elements: dict
  contains:
    url:
      description: The mirror, as given.
      type: str
      sample: http://10.0.0.5:5000
    ok:
      description:
        - Whether the mirror passed the probe. For registries this means C(/v2/) answered V(200) or V(401),
          and with O(image) the manifest and some of the layer arrived too. For package mirrors it means
          O(path) answered V(200) with a body.
      type: bool
      sample: true
    status:
      description: The HTTP status of C(GET /v2/) (registry) or of O(path) (package), or null if none came.
      type: int
      sample: 200
    latency_ms:
      description: Milliseconds from sending that request, connecting included, to its answer's headers.
      type: float
      sample: 3.2
    throughput:
      description:
        - Bytes per second of the layer blob or package file, from the request to the last byte read.
          It is null when nothing was measured.
      type: int
      sample: 48213402
    bytes:
      description: How many bytes that measurement read (at most O(max_bytes)).
      type: int
      sample: 1080528
    error:
      description:
        - Why the mirror is not ok, in words. Examples are C(connection refused by 10.0.0.5:5000 (nothing
          listens there)), C(timed out after 5 s (waiting for the answer to GET /v2/)),
          C(HTTP 500 from GET /v2/), and C(manifest unknown (HTTP 404 from GET /v2/library/busybox/manifests/latest)).
        - It is null when the mirror is ok.
      type: str
      sample: connection refused by 10.0.0.5:5000 (nothing listens there)
    elapsed_ms:
      description: Milliseconds the whole probe of this mirror took.
      type: float
      sample: 41.7
    digest:
      description:
        - The digest of the manifest (or image index) the mirror gave for O(image), computed from the
          bytes received, or null.
      type: str
      sample: sha256:2f8bd4e2a4bbd6a5f0c3c1d9e0e2a8a7c1c1b6d5f9a3b0e7d4c2a1f0e9d8c7b6
    integrity:
      description:
        - What the mirror serves, compared with the reference (see O(trusted)). The value is one of
          V(ok), V(stale), V(mismatch), V(missing) and V(unknown).
        - V(stale) and V(mismatch) keep the mirror out of RV(best).
        - Over several images the worst of V(mismatch), V(stale) and V(missing) counts. Otherwise the
          value is V(ok) if an image matched, and V(unknown) if none did.
      type: str
      sample: stale
    integrity_note:
      description:
        - Why the integrity is not V(ok), with the digests and creation dates involved, or null.
      type: str
      sample: >-
        serves an older library/busybox:latest: sha256:4b5c6d7e8f90 (created 2020-01-01T00:00:00Z),
        where trusted http://registry-cache.lan:5000 serves sha256:0a1b2c3d4e5f (created 2026-11-28T10:00:00Z)
    remeasured:
      description:
        - The second measurement (C(ok), C(throughput), C(latency_ms), C(error)) of a mirror listed in
          RV(remeasured).
      returned: when the mirror is listed in RV(remeasured)
      type: dict
      sample: {"ok": true, "throughput": 1812345, "latency_ms": 3.1, "error": null}
remeasured:
  description:
    - The mirrors measured a second time before a mirror of O(prefer) was moved down (see O(prefer)), the best
      of the others first; empty when no mirror in use would move. Their RV(results[].remeasured) holds the
      second measurement; RV(results[].throughput) and RV(results[].latency_ms) stay the first, taken with
      every mirror's.
  returned: always
  type: list
  elements: str
  sample: ["http://10.0.0.5:5000", "https://mirror.gcr.io"]
ranked:
  description: Every mirror's URL, best first. Mirrors that are not ok come last.
  returned: always
  type: list
  elements: str
  sample: ["http://10.0.0.5:5000", "https://registry.example.lan:5000", "https://mirror.gcr.io"]
best:
  description: The first O(pick) mirrors of RV(ranked) that are ok. The list is empty when none is.
  returned: always
  type: list
  elements: str
  sample: ["http://10.0.0.5:5000"]
left_out:
  description: Every mirror that is not in RV(best), in ranked order, with the reason it was left out.
  returned: always
  type: list
  elements: dict
  contains:
    url:
      description: The mirror, as given.
      type: str
      sample: http://cache.lan:5000
    reason:
      description:
        - The probe's error. For a mirror that serves a stale or mismatched image, the integrity and its
          note. Otherwise, that it passed but ranked below the O(pick) chosen.
      type: str
      sample: connection refused by cache.lan:5000 (nothing listens there)
integrity:
  description: The references the mirrors were compared with.
  returned: always
  type: dict
  contains:
    images:
      description: The images compared (O(image) first), normalized; empty when nothing was compared.
      type: list
      elements: str
      sample: ["library/busybox:latest"]
    references:
      description:
        - Per image, C(digest) and C(platform_digest) of the reference, C(source) (which trusted source, or
          the majority of how many mirrors, or why there is none) and C(created), when a mirror differed.
      type: dict
      sample:
        library/busybox:latest:
          digest: sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
          platform_digest: sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
          source: trusted http://registry-cache.lan:5000
          created: null
image:
  description: The image probed, normalized, or null.
  returned: always
  type: str
  sample: library/busybox:latest
path:
  description: The package path probed (with its default filled in), or null.
  returned: always
  type: str
  sample: dists/bookworm/Release
elapsed_ms:
  description: Milliseconds the whole probe took.
  returned: always
  type: float
  sample: 5012.4
"""

import time

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import mask_urls, protect
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.probe import (
    INTEGRITY_OFF,
    KIND_PACKAGE,
    PROBE_ARGUMENT_SPEC,
    ProbeInputError,
    best_urls,
    check_options,
    confirmed,
    host_package_path,
    image_name,
    left_out,
    parse_image,
    parse_mirror,
    rank,
    same_url,
    survey,
    to_confirm,
    warnings_for,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy_fetch import proxy_fetcher_class
from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.proxy_settings import ProxyError


def check_first(mirrors, first):
    """Raise ProbeInputError for an entry of ``first`` that is not one of ``mirrors``."""
    for url in first:
        parse_mirror(url)
        if not any(same_url(url, mirror) for mirror in mirrors):
            raise ProbeInputError("first: %r is not one of mirrors; list it in mirrors too" % mask_urls(url))


def probe(module):
    protect(module)
    p = module.params
    started = time.monotonic()
    try:
        check_options(p["kind"], p["image"], p["path"], p["timeout"], p["max_bytes"], p["pick"], p["concurrency"])
        check_first(p["mirrors"], p["first"])
        path = p["path"]
        if p["kind"] == KIND_PACKAGE and not path:
            path = host_package_path()
            if not path:
                raise ProbeInputError("kind=package needs path on this host (its /etc/os-release names no "
                                      "VERSION_CODENAME): for example dists/bookworm/Release for apt, "
                                      "repodata/repomd.xml for dnf")
        image = image_name(*parse_image(p["image"])) if p["image"] else None
        trusted_fetcher = proxy_fetcher_class(p["proxy"], p["no_proxy"]) if p["proxy"] else None
        surveyed = survey(
            p["mirrors"], kind=p["kind"], image=p["image"], path=path, timeout=p["timeout"],
            max_bytes=p["max_bytes"], concurrency=p["concurrency"], validate_certs=p["validate_certs"],
            ca_path=p["ca_path"], integrity=p["integrity"], trusted=p["trusted"],
            integrity_images=p["integrity_images"], trusted_fetcher_class=trusted_fetcher)
    except (ProbeInputError, ProxyError) as exc:
        module.fail_json(msg=mask_urls(str(exc)))
    results = surveyed["results"]
    remeasured = to_confirm(results, p["prefer"], p["tolerance"], p["first"])
    keep = []
    if remeasured:  # a mirror in use would move down: measure it and the best again, one at a time
        again = survey(remeasured, kind=p["kind"], image=p["image"], path=path, timeout=p["timeout"],
                       max_bytes=p["max_bytes"], concurrency=1, validate_certs=p["validate_certs"],
                       ca_path=p["ca_path"], integrity=INTEGRITY_OFF)
        results, keep = confirmed(results, again["results"], remeasured, p["tolerance"])
    ranked = rank(results, p["prefer"], p["tolerance"], p["first"], keep)
    best = best_urls(ranked, p["pick"])
    left = left_out(ranked, best, p["pick"])
    for warning in warnings_for(ranked, best, left, p["first"]):
        module.warn(warning)
    return {
        "changed": False,
        "results": results,
        "remeasured": remeasured,
        "ranked": [r["url"] for r in ranked],
        "best": best,
        "left_out": left,
        "integrity": surveyed["integrity"],
        "image": image,
        "path": path,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }


def main():
    module = ProtectedModule(argument_spec=PROBE_ARGUMENT_SPEC, supports_check_mode=True)
    run_module(module, probe)


if __name__ == "__main__":
    main()
