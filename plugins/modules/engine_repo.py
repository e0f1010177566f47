#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: engine_repo
short_description: Point apt or dnf at Docker CE's packages, from download.docker.com or a mirror of it
version_added: 0.1.0
description:
  - Works out, on the target itself, which Docker CE repository serves it. It reads
    C(/etc/os-release) and the machine's architecture, and maps them onto the layout of
    download.docker.com (C(linux/debian), C(linux/ubuntu), C(linux/centos), C(linux/rhel),
    C(linux/fedora)). Rocky, Alma, CentOS Stream and openEuler take the C(centos) tree of the
    matching EL release.
  - Takes the mirror as a preset name (O(mirror=aliyun), V(tuna), V(official) ...) or as a base URL,
    the directory that holds C(linux/<distribution>).
  - Before writing anything, fetches the file that proves the mirror serves this host
    (C(dists/<codename>/Release) for apt, C(repodata/repomd.xml) for dnf) and the signing key.
    If either does not answer, the task fails and nothing on the host changes.
  - The signing key is pinned. Its primary key must have the fingerprint O(key_fingerprint) - by default
    Docker's published release key (C(9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88) for apt,
    C(060A 61C5 1B55 8A7F 742B  77AA C52F EB6B 621E 9F35) for dnf) - or nothing is written. A key fetched
    over plain http is refused unless O(allow_http_key=true).
  - Every value that goes into the source file (URLs, release, name) is checked against a strict pattern
    first; a control character, or whitespace where the format splits on it, is refused, never stripped.
  - For apt it writes a deb822 file C(/etc/apt/sources.list.d/<name>.sources) with C(Signed-By)
    and the key under C(/etc/apt/keyrings). For dnf it writes C(/etc/yum.repos.d/<name>.repo) with
    C(gpgcheck=1) and the checked key under C(/etc/pki/rpm-gpg) (C(gpgkey=file://...)).
  - Holds a lock on the source file from the read through the write, so two runs take turns.
  - With O(state=query) it only reports the host's target and the mirror URLs (presets resolved),
    for probing candidates with M(dockhand.runtime.mirror_probe) first.
  - It does not refresh the package cache or install anything; M(ansible.builtin.apt) and
    M(ansible.builtin.dnf) do that (the C(dockhand.runtime.engine) role runs them).
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description: Fetches and checks the same files, reports what would change, writes nothing.
  diff_mode:
    support: full
    description: Shows the source file before and after, and the key file when it changes.
options:
  state:
    description:
      - V(present) writes the source and its key.
      - V(absent) removes both.
      - V(query) changes nothing and returns RV(target), RV(source) and RV(candidates).
    type: str
    choices: [present, absent, query]
    default: present
  mirror:
    description:
      - A preset name or the base URL of a copy of download.docker.com, such as
        V(https://mirrors.example.com/docker-ce) (the directory that holds C(linux/debian) and the rest).
      - "Presets: V(official), V(aliyun), V(tencent), V(huaweicloud), V(volces), V(tuna), V(ustc),
        V(sjtu), V(zju), V(nju), and the cloud vendors' intranet hosts V(aliyun_intranet),
        V(tencent_intranet), V(huaweicloud_intranet), V(volces_intranet) (plain http, reachable only
        inside that cloud)."
      - A URL needs its scheme (C(http://) or C(https://)) and must not hold credentials, a query or a fragment.
    type: str
    default: official
  candidates:
    description:
      - For O(state=query), preset names or URLs to resolve into RV(candidates), in order.
    type: list
    elements: str
    default: []
  channel:
    description: The Docker CE channel.
    type: str
    choices: [stable, test]
    default: stable
  name:
    description: The name of the source file and of the key file (C(<name>.sources), C(<name>.asc), C(<name>.repo)).
    type: str
    default: docker
  key:
    description:
      - Where the signing key comes from instead of the mirror's C(linux/<distribution>/gpg) - an
        C(http://) or C(https://) URL, or an absolute path of a key file on the target.
      - Whatever its origin, the key is checked against O(key_fingerprint) and written to a file on the host.
    type: str
  key_content:
    description:
      - The signing key itself, ASCII-armored. Takes precedence over O(key).
    type: str
  key_fingerprint:
    description:
      - The fingerprint the signing key's primary key must have (40 hex digits, or 64 for a v6 key; spaces
        between groups are allowed). A key file holding any other primary key is refused.
      - Defaults to Docker's published release key for the host's family. Set it for a private mirror signed
        with a key of its own, from the key's owner (never from the mirror that serves the key).
    type: str
  allow_http_key:
    description:
      - Fetch the key over plain C(http://) (the mirror's key on an http mirror, or an http O(key) URL). The
        fingerprint check still applies.
    type: bool
    default: false
  distribution:
    description:
      - Use this C(/etc/os-release) ID instead of the host's, for a derivative that uses another
        distribution's packages (for example V(debian) on a Debian derivative).
    type: str
  release:
    description:
      - Use this release instead of the host's (a codename such as V(bookworm) for apt, a release
        directory such as V(9) for dnf). It is taken as given, without the check that Docker CE supports it.
    type: str
  validate_mirror:
    description:
      - Fetch the mirror's Release or repomd.xml before writing, and fail without changing anything when it
        does not answer. Turn it off only for a mirror the host cannot reach yet (the key is fetched and
        checked all the same).
    type: bool
    default: true
  timeout:
    description: Seconds for each request to the mirror.
    type: float
    default: 15
  validate_certs:
    description: Verify the TLS certificates of C(https://) mirrors and key URLs.
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of each file it replaces (C(<file>.<timestamp>~)). RV(files) lists them,
        so that a later failure can put the old files back.
    type: bool
    default: false
notes:
  - Only the Python standard library and ansible.module_utils are used on the target.
seealso:
  - module: dockhand.runtime.mirror_probe
  - module: ansible.builtin.apt
  - module: ansible.builtin.dnf
"""

EXAMPLES = r"""
- name: Docker CE from the Tsinghua mirror (the key from the mirror too)
  dockhand.runtime.engine_repo:
    mirror: tuna

- name: Docker CE from our own mirror of download.docker.com, with our copy of Docker's key
  dockhand.runtime.engine_repo:
    mirror: http://mirror.internal/docker-ce
    key: https://mirror.internal/keys/docker.asc
    backup: true
  register: repo

- name: A private mirror signed with its own key (the fingerprint comes from its owner)
  dockhand.runtime.engine_repo:
    mirror: http://apt.lan/docker-ce
    key_fingerprint: "0A1B 2C3D 4E5F 6071 8293  A4B5 C6D7 E8F9 0A1B 2C3D"
    allow_http_key: true

- name: Refresh apt's cache when the source changed
  ansible.builtin.apt:
    update_cache: true
  when: repo.changed

- name: What would this host use? (nothing is fetched or written)
  dockhand.runtime.engine_repo:
    state: query
    candidates: [aliyun, tuna, official]
  register: query

- name: Probe the candidates from the host and keep the fastest
  dockhand.runtime.mirror_probe:
    kind: package
    mirrors: "{{ query.candidates }}"
    path: "{{ query.source.probe_path }}"
"""

RETURN = r"""
target:
  description: The host in Docker CE's terms.
  returned: always
  type: dict
  contains:
    distribution:
      description: The os-release ID used.
      type: str
      sample: debian
    family:
      description: V(apt) or V(dnf).
      type: str
      sample: apt
    repo:
      description: The directory under C(<mirror>/linux/).
      type: str
      sample: debian
    release:
      description: The codename (apt) or release directory (dnf; C($releasever) on Fedora).
      type: str
      sample: bookworm
    host_release:
      description: The release the host reports.
      type: str
      sample: bookworm
    arch:
      description: The dpkg architecture (apt) or C($basearch) (dnf).
      type: str
      sample: amd64
    distro_packages:
      description: The distribution's own Docker Engine packages (empty where it ships none).
      type: list
      elements: str
      sample: [docker.io]
source:
  description: The source for this host (null for O(state=query) without O(mirror)).
  returned: always
  type: dict
  contains:
    base_url:
      description: The mirror's base URL.
      type: str
      sample: https://mirrors.tuna.tsinghua.edu.cn/docker-ce
    repo_url:
      description: The repository URL.
      type: str
      sample: https://mirrors.tuna.tsinghua.edu.cn/docker-ce/linux/debian
    key_url:
      description: Where the key came from (a URL), or null when it was given as content or a file.
      type: str
      sample: https://mirrors.tuna.tsinghua.edu.cn/docker-ce/linux/debian/gpg
    key_fingerprint:
      description: The fingerprint the key was checked against (null for O(state=query)).
      type: str
      sample: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88
    origin:
      description:
        - What the package manager's listings call this source - the repository URL (apt, as
          C(apt-cache madison) prints it) or the repository id (dnf).
      type: str
      sample: https://mirrors.tuna.tsinghua.edu.cn/docker-ce/linux/debian
    probe_path:
      description: The file under the base URL that proves the mirror serves this host.
      type: str
      sample: linux/debian/dists/bookworm/Release
    probe_url:
      description: The same, as a URL.
      type: str
      sample: https://mirrors.tuna.tsinghua.edu.cn/docker-ce/linux/debian/dists/bookworm/Release
    path:
      description: The source file.
      type: str
      sample: /etc/apt/sources.list.d/docker.sources
    key_path:
      description: The key file on the host (null for dnf with O(state=query)).
      type: str
      sample: /etc/apt/keyrings/docker.asc
    content:
      description: The text of the source file.
      type: str
candidates:
  description: O(candidates) as base URLs (presets resolved, duplicates dropped), for O(state=query).
  returned: always
  type: list
  elements: str
  sample: [https://mirrors.aliyun.com/docker-ce, https://download.docker.com]
probe_path:
  description:
    - The file under a mirror's base URL that proves it serves this host (for M(dockhand.runtime.mirror_probe)).
  returned: always
  type: str
  sample: linux/debian/dists/bookworm/Release
packages:
  description: The default engine packages of each O(mirror) source kind, V(docker_ce) and V(distro) (the
    distribution's own, empty where it ships none).
  returned: always
  type: dict
  sample: {"docker_ce": ["docker-ce", "docker-ce-cli", "containerd.io"], "distro": ["docker.io"]}
conflicts:
  description: The packages that conflict with each kind of source, V(docker_ce) and V(distro).
  returned: always
  type: dict
  sample: {"docker_ce": ["docker.io", "podman-docker"], "distro": ["docker-ce", "podman-docker"]}
files:
  description: The files written or removed, with their backups, to restore them after a later failure.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    changed:
      description: Whether it was (or, in check mode, would be) written or removed.
      type: bool
    existed:
      description: Whether it existed before.
      type: bool
    backup:
      description: The copy of the previous file (O(backup=true)), or null.
      type: str
created_directories:
  description:
    - The directories this run created (or, in check mode, would create) for its files, such as
      C(/etc/apt/keyrings) on releases whose apt does not ship it; a later failure removes them again when empty.
  returned: always
  type: list
  elements: str
  sample: [/etc/apt/keyrings]
"""

import hashlib
import os
import platform
import socket

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.files import (
    FileError,
    atomic_write,
    backup,
    locked,
    read_bytes,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.host.protected_module import ProtectedModule
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import protect
from ansible_collections.dockhand.runtime.plugins.module_utils.install.package_sources import (
    CONFLICTS,
    DOCKER_CE_PACKAGES,
    DOCKER_KEY_FINGERPRINTS,
    ENGINE_SOURCES,
    FAMILY_APT,
    SourceError,
    build_source,
    check_fingerprint,
    check_key,
    check_release,
    check_url,
    host_target,
    key_fingerprints,
    key_format,
    parse_os_release,
    probe_path,
    resolve_candidates,
    resolve_mirror,
    source_paths,
    spaced,
)

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
MAX_BYTES = 4 * 1024 * 1024
# Options whose names hold "key" but whose values are public (a public key, its URL, a fingerprint).
PUBLIC_KEY_OPTIONS = ("key", "key_content", "key_fingerprint", "allow_http_key")
LOCK_TIMEOUT = 60


class FetchError(Exception):
    pass


def read_os_release():
    for path in OS_RELEASE_FILES:
        data = read_bytes(path)
        if data is not None:
            return parse_os_release(data.decode("utf-8", "replace"))
    raise SourceError("neither /etc/os-release nor /usr/lib/os-release exists: cannot tell the distribution; "
                      "set distribution and release")


def fetch(url, timeout, validate_certs):
    """GET url; returns the body; raises FetchError with the cause in words."""
    try:
        response = open_url(url, timeout=timeout, validate_certs=validate_certs, follow_redirects="safe",
                            http_agent="dockhand.runtime-engine_repo")
        body = response.read(MAX_BYTES + 1)
    except HTTPError as exc:
        raise FetchError("HTTP %s" % exc.code) from None
    except URLError as exc:
        reason = exc.reason
        if isinstance(reason, socket.timeout):
            raise FetchError("timed out after %g s" % timeout) from None
        if isinstance(reason, ConnectionRefusedError):
            raise FetchError("connection refused (nothing listens there)") from None
        if isinstance(reason, socket.gaierror):
            raise FetchError("the host name does not resolve (%s)" % reason.strerror) from None
        raise FetchError(str(getattr(reason, "strerror", None) or reason)) from None
    except socket.timeout:
        raise FetchError("timed out after %g s" % timeout) from None
    except (OSError, ValueError) as exc:
        raise FetchError(str(exc)) from None
    if len(body) > MAX_BYTES:
        raise FetchError("the answer is larger than %d bytes" % MAX_BYTES)
    return body


def key_label(data):
    """The key as a diff shows it: its fingerprints first, then the armor (or a digest of binary data)."""
    if data is None:
        return ""
    try:
        head = "# OpenPGP key %s\n" % ", ".join(spaced(fpr) for fpr in key_fingerprints(data))
    except SourceError:
        head = ""
    if data.lstrip().startswith(b"-----BEGIN"):
        return head + data.decode("utf-8", "replace")
    return head + "<binary OpenPGP key, %d bytes, sha256 %s>\n" % (len(data), hashlib.sha256(data).hexdigest())


def load_key(module, source, fingerprint):
    """(key bytes, key_url or None): the key from key_content, a file on the target or a URL, checked
    against ``fingerprint`` before anything is written."""
    p = module.params
    key = p["key"]
    if p["key_content"]:
        data, url, where = p["key_content"].encode("utf-8"), None, "key_content"
    elif key and "://" not in key:
        if not key.startswith("/"):
            raise SourceError("key %r must be an http(s) URL or an absolute path on the target" % key)
        data = read_bytes(key)
        if data is None:
            raise SourceError("key %s does not exist on the target; give the path of a key file there, or a URL"
                              % key)
        url, where = None, key
    else:
        url = check_url(key, "key") if key else source["key_url"]
        if url.lower().startswith("http://") and not p["allow_http_key"]:
            raise SourceError(
                "the signing key %s would come over plain http, where anyone on the path could swap it (together "
                "with the packages): use an https:// %s, or set allow_http_key (the engine role's "
                "engine_repo_allow_http_key) to true for a mirror you trust on this network; the key is still "
                "checked against its fingerprint (nothing was changed)" % (url, "key URL" if key else "mirror"))
        try:
            data = fetch(url, p["timeout"], p["validate_certs"])
        except FetchError as exc:
            raise SourceError("the signing key %s did not come: %s. %s" % (
                url, exc, "Check key" if key else "Check mirror (or give key)")) from None
        where = url
    key_format(data)
    check_key(data, fingerprint, where)
    return data, url


def check_mirror(module, source, target):
    url = source["probe_url"]
    try:
        body = fetch(url, module.params["timeout"], module.params["validate_certs"])
    except FetchError as exc:
        what = ("%s %s packages" % (target["name"], target["release"]) if target["family"] == FAMILY_APT
                else "%s packages for EL %s %s" % (target["name"], target["release"], target["arch"]))
        raise SourceError(
            "mirror %s does not serve %s: GET %s: %s. Check that the mirror is up and that the URL is the "
            "directory holding linux/%s (nothing was changed)"
            % (source["base_url"], what, url, exc, target["repo"])) from None
    if target["family"] == FAMILY_APT:
        check_release(body.decode("utf-8", "replace"), target, source["channel"], url)


def plan_file(path, wanted):
    before = read_bytes(path)
    return {"path": path, "before": before, "after": wanted, "changed": before != wanted,
            "existed": before is not None}


def missing_directories(plans):
    """The parent directories the changed files need and that do not exist yet, outermost first."""
    missing = []
    for plan in plans:
        if not plan["changed"] or plan["after"] is None:
            continue
        directory = os.path.dirname(plan["path"])
        chain = []
        while directory and directory != "/" and not os.path.isdir(directory):
            chain.append(directory)
            directory = os.path.dirname(directory)
        for path in reversed(chain):
            if path not in missing:
                missing.append(path)
    return missing


def apply_files(module, plans):
    results = []
    for plan in plans:
        entry = {"path": plan["path"], "changed": plan["changed"], "existed": plan["existed"], "backup": None}
        if plan["changed"] and not module.check_mode:
            if module.params["backup"] and plan["existed"]:
                entry["backup"] = backup(plan["path"])
            if plan["after"] is None:
                os.unlink(plan["path"])
            else:
                mode = 0o644
                atomic_write(plan["path"], plan["after"], mode=mode, owner=(0, 0) if os.geteuid() == 0 else None)
        results.append(entry)
    return results


def _shown(plan, data):
    if plan.get("key"):
        return key_label(data)
    return (data or b"").decode("utf-8", "replace")


def diffs_for(plans):
    return [{"before_header": plan["path"], "after_header": plan["path"],
             "before": _shown(plan, plan["before"]), "after": _shown(plan, plan["after"])}
            for plan in plans if plan["changed"]]


def wanted_fingerprint(module, family):
    given = module.params["key_fingerprint"]
    if given:
        return check_fingerprint(given, "key_fingerprint")
    return DOCKER_KEY_FINGERPRINTS[family]


def plan_present(module, target):
    """The files to write (key first, then the source), all checked; raises SourceError."""
    p = module.params
    base = resolve_mirror(p["mirror"])
    fingerprint = wanted_fingerprint(module, target["family"])
    source = build_source(base, target, p["channel"], p["name"])
    if p["validate_mirror"]:
        check_mirror(module, source, target)
    data, key_url = load_key(module, source, fingerprint)
    fmt = key_format(data)
    key_file = source_paths(target["family"], p["name"], fmt)[1]
    source = build_source(base, target, p["channel"], p["name"], key_url=key_url, key_file=key_file,
                          key_format=fmt)
    source["key_url"] = key_url
    source["key_fingerprint"] = fingerprint
    plans = [dict(plan_file(key_file, data), key=True),
             plan_file(source["path"], source["content"].encode("utf-8"))]
    return source, plans


def engine_repo(module):
    p = module.params
    protect(module, skip_keys=PUBLIC_KEY_OPTIONS)
    result = {"changed": False, "target": None, "source": None, "candidates": [], "files": [],
              "probe_path": None, "packages": {}, "conflicts": {}, "created_directories": []}
    try:
        target = host_target(read_os_release(), platform.machine(), p["distribution"], p["release"])
        result["target"] = target
        result["probe_path"] = probe_path(target, p["channel"])
        result["packages"] = {"docker_ce": list(DOCKER_CE_PACKAGES), "distro": list(target["distro_packages"])}
        result["conflicts"] = {source: list(CONFLICTS[(target["family"], source)]) for source in ENGINE_SOURCES}
        if p["key_fingerprint"]:
            check_fingerprint(p["key_fingerprint"], "key_fingerprint")
        source_file = source_paths(target["family"], p["name"])[0]
        if p["state"] == "query":
            if p["candidates"]:
                result["candidates"] = resolve_candidates(p["candidates"], "candidates")
            if p["mirror"] and p["mirror"] != "auto":
                result["source"] = build_source(resolve_mirror(p["mirror"]), target, p["channel"], p["name"])
            return result
    except SourceError as exc:
        module.fail_json(msg=str(exc), **result)
    try:
        with locked(source_file, LOCK_TIMEOUT):
            try:
                if p["state"] == "absent":
                    paths = list(source_paths(target["family"], p["name"]))
                    if target["family"] == FAMILY_APT:
                        paths.append(source_paths(target["family"], p["name"], "gpg")[1])
                    plans = [plan_file(path, None) for path in paths]
                    plans = [dict(plan, changed=plan["existed"], key=path != paths[0])
                             for plan, path in zip(plans, paths)]
                else:
                    result["source"], plans = plan_present(module, target)
            except SourceError as exc:
                module.fail_json(msg=str(exc), **result)
            result["created_directories"] = missing_directories(plans)
            result["files"] = apply_files(module, plans)
    except (FileError, OSError) as exc:
        module.fail_json(msg="could not write the package source: %s" % exc, **result)
    result["changed"] = any(entry["changed"] for entry in result["files"])
    if module._diff:
        result["diff"] = diffs_for(plans)
    return result


def main():
    module = ProtectedModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present", "absent", "query"]},
            "mirror": {"type": "str", "default": "official"},
            "candidates": {"type": "list", "elements": "str", "default": []},
            "channel": {"type": "str", "default": "stable", "choices": ["stable", "test"]},
            "name": {"type": "str", "default": "docker"},
            "key": {"type": "str", "no_log": False},
            "key_content": {"type": "str", "no_log": False},
            "key_fingerprint": {"type": "str", "no_log": False},
            "allow_http_key": {"type": "bool", "default": False, "no_log": False},
            "distribution": {"type": "str"},
            "release": {"type": "str"},
            "validate_mirror": {"type": "bool", "default": True},
            "timeout": {"type": "float", "default": 15},
            "validate_certs": {"type": "bool", "default": True},
            "backup": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    run_module(module, engine_repo)


if __name__ == "__main__":
    main()
