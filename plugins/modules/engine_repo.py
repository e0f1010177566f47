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
  - For apt it writes a deb822 file C(/etc/apt/sources.list.d/<name>.sources) with C(Signed-By)
    and the key under C(/etc/apt/keyrings). For dnf it writes C(/etc/yum.repos.d/<name>.repo) with
    C(gpgcheck=1); the key stays a URL unless it is given as content or a file.
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
      - For dnf a URL goes into C(gpgkey=) as it is (dnf fetches it); a file is copied under C(/etc/pki/rpm-gpg).
    type: str
  key_content:
    description:
      - The signing key itself, ASCII-armored. Takes precedence over O(key).
    type: str
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
      - Fetch the mirror's Release or repomd.xml (and the key) before writing, and fail without changing
        anything when they do not answer. Turn it off only for a mirror the host cannot reach yet.
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

- name: Docker CE from our own mirror of download.docker.com, with our copy of the key
  dockhand.runtime.engine_repo:
    mirror: http://mirror.internal/docker-ce
    key: https://mirror.internal/keys/docker.asc
    backup: true
  register: repo

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
      description: The key file on the host, or null (dnf with a key URL).
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
"""

import hashlib
import os
import platform
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.dockhand.runtime.plugins.module_utils.engine_args import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.files import (
    FileError,
    atomic_write,
    backup,
    read_bytes,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.package_sources import (
    CONFLICTS,
    DOCKER_CE_PACKAGES,
    ENGINE_SOURCES,
    FAMILY_APT,
    SourceError,
    build_source,
    check_release,
    host_target,
    key_format,
    parse_os_release,
    probe_path,
    resolve_candidates,
    resolve_mirror,
    source_paths,
)

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
MAX_BYTES = 4 * 1024 * 1024


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
    if data is None:
        return ""
    if data.lstrip().startswith(b"-----BEGIN"):
        return data.decode("utf-8", "replace")
    return "<binary OpenPGP key, %d bytes, sha256 %s>\n" % (len(data), hashlib.sha256(data).hexdigest())


def load_key(module, source, family):
    """(key bytes or None, key_url or None). None bytes: dnf fetches the URL itself."""
    p = module.params
    if p["key_content"]:
        return p["key_content"].encode("utf-8"), None
    key = p["key"]
    if key and "://" not in key:
        if not key.startswith("/"):
            raise SourceError("key %r must be an http(s) URL or an absolute path on the target" % key)
        data = read_bytes(key)
        if data is None:
            raise SourceError("key %s does not exist on the target; give the path of a key file there, or a URL"
                              % key)
        return data, None
    url = key or source["key_url"]
    if key and not key.lower().startswith(("http://", "https://")):
        raise SourceError("key %r has an unsupported scheme: use http://, https:// or an absolute path" % key)
    if not p["validate_mirror"] and family != FAMILY_APT:
        return None, url
    try:
        data = fetch(url, p["timeout"], p["validate_certs"])
    except FetchError as exc:
        raise SourceError("the signing key %s did not come: %s. %s" % (
            url, exc, "Check key" if key else "Check mirror (or give key)")) from None
    if family == FAMILY_APT:
        return data, url
    key_format(data)  # dnf: check that it is a key, keep the URL in the .repo
    return None, url


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


def engine_repo(module):
    p = module.params
    result = {"changed": False, "target": None, "source": None, "candidates": [], "files": [],
              "probe_path": None, "packages": {}, "conflicts": {}}
    try:
        target = host_target(read_os_release(), platform.machine(), p["distribution"], p["release"])
        result["target"] = target
        result["probe_path"] = probe_path(target, p["channel"])
        result["packages"] = {"docker_ce": list(DOCKER_CE_PACKAGES), "distro": list(target["distro_packages"])}
        result["conflicts"] = {source: list(CONFLICTS[(target["family"], source)]) for source in ENGINE_SOURCES}
        if p["state"] == "query":
            if p["candidates"]:
                result["candidates"] = resolve_candidates(p["candidates"], "candidates")
            if p["mirror"] and p["mirror"] != "auto":
                result["source"] = build_source(resolve_mirror(p["mirror"]), target, p["channel"], p["name"])
            return result
        if p["state"] == "absent":
            paths = list(source_paths(target["family"], p["name"]))
            if target["family"] == FAMILY_APT:
                paths.append(source_paths(target["family"], p["name"], "gpg")[1])
            plans = [plan_file(path, None) for path in paths]
            plans = [dict(plan, changed=plan["existed"], key=path != paths[0]) for plan, path in zip(plans, paths)]
        else:
            base = resolve_mirror(p["mirror"])
            source = build_source(base, target, p["channel"], p["name"])
            if p["validate_mirror"]:
                check_mirror(module, source, target)
            data, key_url = load_key(module, source, target["family"])
            fmt = key_format(data) if data is not None else "asc"
            key_file = None
            if data is not None:
                key_file = source_paths(target["family"], p["name"], fmt)[1]
            source = build_source(base, target, p["channel"], p["name"], key_url=key_url, key_file=key_file,
                                  key_format=fmt)
            source["key_url"] = key_url
            result["source"] = source
            plans = []
            if key_file:
                plans.append(dict(plan_file(key_file, data), key=True))
            plans.append(plan_file(source["path"], source["content"].encode("utf-8")))
    except SourceError as exc:
        module.fail_json(msg=str(exc), **result)
    try:
        result["files"] = apply_files(module, plans)
    except (FileError, OSError) as exc:
        module.fail_json(msg="could not write the package source: %s" % exc, **result)
    result["changed"] = any(entry["changed"] for entry in result["files"])
    if module._diff:
        result["diff"] = diffs_for(plans)
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present", "absent", "query"]},
            "mirror": {"type": "str", "default": "official"},
            "candidates": {"type": "list", "elements": "str", "default": []},
            "channel": {"type": "str", "default": "stable", "choices": ["stable", "test"]},
            "name": {"type": "str", "default": "docker"},
            "key": {"type": "str", "no_log": False},
            "key_content": {"type": "str", "no_log": False},
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
