# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where Docker Engine's packages come from, as data: mirror presets, distributions, sources.

One table each:

- ``PRESETS``: a mirror name (``aliyun``, ``tuna``, ``official`` ...) -> the base URL of a copy
  of download.docker.com. Cloud vendors' intranet hosts are ``<vendor>_intranet`` (plain http,
  as those hosts are reached only from inside the vendor's network).
- ``DISTRIBUTIONS``: an ``/etc/os-release`` ID -> its family (apt or dnf), the directory of
  download.docker.com that serves it (``linux/debian``, ``linux/centos`` ...), the releases that
  directory has, how the host's release maps onto it, the architectures, and the distribution's
  own Docker packages.
- ``ARCHITECTURES``: ``uname -m`` -> the name apt (dpkg) and dnf (``$basearch``) use.

Pure functions turn a host (its os-release and machine) and a mirror into a ``Source``: the
repository URL, the key URL, the file to probe before writing anything, and the text of the
deb822 ``.sources`` or dnf ``.repo`` file. Nothing here does I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re
import shlex
from urllib.parse import urlsplit

ENGINE_SOURCES = ("distro", "docker_ce")
FAMILY_APT = "apt"
FAMILY_DNF = "dnf"
AUTO = "auto"
DEFAULT_CHANNEL = "stable"
CHANNELS = ("stable", "test")

# name -> base URL (the directory that holds linux/<distro>/...). Checked against LinuxMirrors'
# DockerInstallation.sh (its Docker CE list and its public/intranet pairs) and the mirror sites.
PRESETS = {
    "official": "https://download.docker.com",
    "aliyun": "https://mirrors.aliyun.com/docker-ce",
    "aliyun_intranet": "http://mirrors.cloud.aliyuncs.com/docker-ce",
    "tencent": "https://mirrors.tencent.com/docker-ce",
    "tencent_intranet": "http://mirrors.tencentyun.com/docker-ce",
    "huaweicloud": "https://mirrors.huaweicloud.com/docker-ce",
    "huaweicloud_intranet": "http://mirrors.myhuaweicloud.com/docker-ce",
    "volces": "https://mirrors.volces.com/docker",
    "volces_intranet": "http://mirrors.ivolces.com/docker",
    "tuna": "https://mirrors.tuna.tsinghua.edu.cn/docker-ce",
    "ustc": "https://mirrors.ustc.edu.cn/docker-ce",
    "sjtu": "https://mirror.sjtu.edu.cn/docker-ce",
    "zju": "https://mirrors.zju.edu.cn/docker-ce",
    "nju": "https://mirrors.nju.edu.cn/docker-ce",
}

# What mirror=auto probes by default: every public preset (intranet hosts answer only inside
# their cloud; add them to the candidates there).
AUTO_CANDIDATES = tuple(name for name in PRESETS if not name.endswith("_intranet"))

# uname -m -> (dpkg architecture, dnf $basearch)
ARCHITECTURES = {
    "x86_64": ("amd64", "x86_64"),
    "amd64": ("amd64", "x86_64"),
    "aarch64": ("arm64", "aarch64"),
    "arm64": ("arm64", "aarch64"),
    "armv7l": ("armhf", None),
    "armv8l": ("armhf", None),
    "ppc64le": ("ppc64el", "ppc64le"),
    "s390x": ("s390x", "s390x"),
}

_DEB_ARCHES = ("amd64", "arm64", "armhf", "ppc64el", "s390x")
_EL_ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x")

# os-release ID -> how Docker CE serves it. ``releases`` maps the host's release (codename for
# apt, major version for dnf) to the release directory of download.docker.com; ``keep_releasever``
# leaves dnf's $releasever in the file (Fedora, whose $releasever is its version).
DISTRIBUTIONS = {
    "debian": {
        "name": "Debian", "family": FAMILY_APT, "repo": "debian",
        "releases": {"bullseye": "bullseye", "bookworm": "bookworm", "trixie": "trixie"},
        "arches": ("amd64", "arm64", "armhf", "ppc64el"),
        "distro_packages": ["docker.io"],
    },
    "ubuntu": {
        "name": "Ubuntu", "family": FAMILY_APT, "repo": "ubuntu",
        "releases": {"focal": "focal", "jammy": "jammy", "noble": "noble", "oracular": "oracular",
                     "plucky": "plucky"},
        "arches": _DEB_ARCHES,
        "distro_packages": ["docker.io"],
    },
    "centos": {
        "name": "CentOS Stream", "family": FAMILY_DNF, "repo": "centos",
        "releases": {"8": "8", "9": "9", "10": "10"},
        "arches": ("x86_64", "aarch64", "ppc64le"),
        "distro_packages": [],
    },
    "rhel": {
        "name": "Red Hat Enterprise Linux", "family": FAMILY_DNF, "repo": "rhel",
        # Docker CE has no rhel/10 tree; RHEL 10 takes the centos one (as LinuxMirrors does).
        "releases": {"8": "8", "9": "9", "10": ("centos", "10")},
        "arches": _EL_ARCHES,
        "distro_packages": [],
    },
    "rocky": {
        "name": "Rocky Linux", "family": FAMILY_DNF, "repo": "centos",
        "releases": {"8": "8", "9": "9", "10": "10"},
        "arches": ("x86_64", "aarch64", "ppc64le"),
        "distro_packages": [],
    },
    "almalinux": {
        "name": "AlmaLinux", "family": FAMILY_DNF, "repo": "centos",
        "releases": {"8": "8", "9": "9", "10": "10"},
        "arches": ("x86_64", "aarch64", "ppc64le"),
        "distro_packages": [],
    },
    "fedora": {
        "name": "Fedora", "family": FAMILY_DNF, "repo": "fedora",
        "releases": {"40": "40", "41": "41", "42": "42"},
        "keep_releasever": True,
        "arches": ("x86_64", "aarch64"),
        "distro_packages": ["moby-engine"],
    },
    "openEuler": {
        # openEuler's $releasever is e.g. "22.03LTS_SP3": the centos tree of the matching EL.
        "name": "openEuler", "family": FAMILY_DNF, "repo": "centos",
        "releases": {"20": "8", "22": "9", "24": "9"},
        "arches": ("x86_64", "aarch64"),
        "distro_packages": ["docker"],
    },
}

# What each source installs by default, per family.
DOCKER_CE_PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin",
                      "docker-compose-plugin"]

# Packages that must go before the engine packages of a source go in (they ship the same files
# or a conflicting docker binary). Docker's own install guides list the docker_ce ones.
CONFLICTS = {
    (FAMILY_APT, "docker_ce"): ["docker.io", "docker-doc", "docker-compose", "docker-compose-v2",
                                "podman-docker", "containerd", "runc"],
    (FAMILY_APT, "distro"): ["docker-ce", "docker-ce-cli", "containerd.io", "podman-docker"],
    (FAMILY_DNF, "docker_ce"): ["docker", "docker-client", "docker-client-latest", "docker-common",
                                "docker-latest", "docker-latest-logrotate", "docker-logrotate",
                                "docker-engine", "moby-engine", "podman-docker", "runc"],
    (FAMILY_DNF, "distro"): ["docker-ce", "docker-ce-cli", "containerd.io", "podman-docker"],
}

# The packages whose version engine_version pins (the rest follow by dependency).
VERSIONED_PACKAGES = ("docker-ce", "docker-ce-cli", "docker.io", "moby-engine", "docker", "docker-engine")

APT_SOURCES_DIR = "/etc/apt/sources.list.d"
APT_KEYRINGS_DIR = "/etc/apt/keyrings"
DNF_REPOS_DIR = "/etc/yum.repos.d"
RPM_KEYS_DIR = "/etc/pki/rpm-gpg"
DEFAULT_NAME = "docker"

WRITTEN_BY = "# Written by dockhand.runtime (engine_repo); changes here are overwritten."

# Every value that goes into a .sources or .repo file passes one of these with re.fullmatch (never
# re.match with "$", which lets a trailing newline through). Both formats are line based and deb822
# splits URIs, Suites and Components on whitespace: a newline would add a field (``Trusted: yes``,
# ``gpgcheck=0``), a space a second URI. dnf expands ``$name`` in URLs, so ``$`` is refused too.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RELEASE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST_RE = r"(?:%s(?:\.%s)*|\[[0-9A-Fa-f:.]+\])" % (_LABEL, _LABEL)
_URL_RE = re.compile(r"https?://" + _HOST_RE + r"(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%!&'()*+,;=:@/-]*)?",
                     re.IGNORECASE)
_PATH_RE = re.compile(r"/[A-Za-z0-9._~+@/-]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\s]")


class SourceError(ValueError):
    """The source cannot be computed as asked; the message says what to change."""


# --------------------------------------------------------------------------
# The host
# --------------------------------------------------------------------------

def parse_os_release(text):
    """/etc/os-release as a dict (shell-style quoting, comments and blank lines skipped)."""
    result = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        result[key.strip()] = words[0] if words else ""
    return result


def host_family(os_release):
    """apt or dnf, from the host's ID or ID_LIKE; None when neither is known."""
    for name in [os_release.get("ID", "")] + os_release.get("ID_LIKE", "").split():
        for distro_id, info in DISTRIBUTIONS.items():
            if name.lower() == distro_id.lower():
                return info["family"]
    return None


def _release_key(info, os_release):
    if info["family"] == FAMILY_APT:
        return os_release.get("VERSION_CODENAME") or os_release.get("UBUNTU_CODENAME") or ""
    version = os_release.get("VERSION_ID", "")
    return version.split(".", 1)[0]


def host_target(os_release, machine, distribution=None, release=None):
    """What the host is, in Docker CE's terms.

    Returns a dict: ``distribution`` (the os-release ID used), ``name``, ``family`` (apt or
    dnf), ``repo`` (the directory under ``<mirror>/linux/``), ``release`` (codename, or the
    release directory for dnf; ``$releasever`` for Fedora), ``host_release`` (what the host
    said), ``arch`` (dpkg architecture or dnf basearch) and ``distro_packages``.

    ``distribution`` and ``release`` override what os-release says (for derivatives, or a
    release this table does not list yet): they are taken as given, without the support check.
    Raises SourceError naming the option to change.
    """
    if distribution:
        refuse_control(distribution, "distribution", "it names a directory of the source")
    if release:
        refuse_control(release, "release")
        if not _RELEASE_RE.fullmatch(release):
            raise SourceError("release %r must be letters, digits, '.', '_' or '-' (a codename such as bookworm, "
                              "or a release directory such as 9)" % (release,))
    distro_id = distribution or os_release.get("ID", "")
    info = DISTRIBUTIONS.get(distro_id)
    if info is None:
        lowered = {key.lower(): key for key in DISTRIBUTIONS}
        if distro_id.lower() in lowered:
            distro_id = lowered[distro_id.lower()]
            info = DISTRIBUTIONS[distro_id]
    if info is None:
        like = os_release.get("ID_LIKE", "")
        hint = ""
        if not distribution and like:
            hint = (" Its ID_LIKE is %r: if it is compatible, set distribution to one of those and release "
                    "to the matching release." % like)
        raise SourceError(
            "%s (os-release ID %r) is not supported: Docker Engine is installed on %s.%s"
            % (os_release.get("PRETTY_NAME") or distro_id or "this distribution", distro_id,
               ", ".join(sorted(DISTRIBUTIONS, key=str.lower)), hint))
    if distribution:
        real = host_family(os_release)
        if real and real != info["family"]:
            raise SourceError(
                "distribution %s installs with %s, but this host (%s) uses %s: set distribution to one of the %s "
                "family (%s)" % (distro_id, info["family"], os_release.get("ID", "?"), real, real,
                                 ", ".join(sorted(k for k, v in DISTRIBUTIONS.items() if v["family"] == real))))
    repo = info["repo"]
    host_release = release or _release_key(info, os_release)
    if release:
        wanted = release
    else:
        if not host_release:
            raise SourceError(
                "cannot tell the release of this %s host: /etc/os-release has no %s; set release"
                % (info["name"], "VERSION_CODENAME" if info["family"] == FAMILY_APT else "VERSION_ID"))
        wanted = info["releases"].get(host_release)
        if wanted is None:
            raise SourceError(
                "%s %s is not supported by Docker CE's packages (supported: %s); set release to use "
                "another release's packages at your own risk"
                % (info["name"], host_release, ", ".join(info["releases"])))
    if isinstance(wanted, tuple):
        repo, wanted = wanted
    if info.get("keep_releasever") and not release:
        wanted = "$releasever"
    arches = ARCHITECTURES.get(machine)
    arch = None
    if arches:
        arch = arches[0] if info["family"] == FAMILY_APT else arches[1]
    if arch is None or arch not in info["arches"]:
        raise SourceError(
            "Docker CE publishes no %s packages for the %s architecture (%s has %s)"
            % (info["name"], machine, info["name"], ", ".join(info["arches"])))
    return {
        "distribution": distro_id,
        "name": info["name"],
        "family": info["family"],
        "repo": repo,
        "release": wanted,
        "host_release": host_release,
        "arch": arch,
        "distro_packages": list(info["distro_packages"]),
    }


# --------------------------------------------------------------------------
# Mirrors
# --------------------------------------------------------------------------

def _shown(value):
    """A value for an error message: repr, so a newline or a space shows as what it is."""
    return repr(value)


def refuse_control(value, option, what="it goes into the package source file"):
    """SourceError when ``value`` holds a control character or whitespace (refused, never stripped)."""
    found = _CONTROL_RE.search(value)
    if found:
        char = found.group(0)
        name = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", " ": "a space"}.get(
            char, "the control character %r" % char)
        raise SourceError("%s %s holds %s: %s, where it would split a field or start a new line. Remove it "
                          "(nothing was changed)" % (option, _shown(_mask_text(value)), name, what))
    return value


def _mask_text(value):
    """``value`` with the credentials of any URL in it masked (before any parsing)."""
    return re.sub(r"(://)[^/@\s]*@", r"\1***@", value)


def check_url(url, option, allow_http=True):
    """A strict http(s) URL (no credentials, query, fragment, whitespace or control characters)."""
    if not isinstance(url, str) or not url:
        raise SourceError("%s is empty: give an http:// or https:// URL" % option)
    refuse_control(url, option)
    if "://" not in url:
        raise SourceError(
            "%s %r is neither a preset nor a URL: a URL needs its scheme (http:// or https://), for example "
            "https://%s; the presets are %s" % (option, url, url.rstrip("/"), ", ".join(PRESETS)))
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise SourceError("%s %r has the scheme %s: use http:// or https://" % (option, _mask_text(url), scheme))
    netloc = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in netloc:
        raise SourceError("%s %r holds credentials: apt and dnf would write them to their logs; "
                          "use a mirror that needs none" % (option, _mask_text(url)))
    if "?" in url or "#" in url:
        raise SourceError("%s %r has a query or fragment; give the base URL only" % (option, url))
    parts = urlsplit(url)
    if not parts.hostname:
        raise SourceError("%s %r has no host name" % (option, url))
    try:
        _port = parts.port
    except ValueError:
        raise SourceError("%s %r has an invalid port" % (option, url)) from None
    if not _URL_RE.fullmatch(url):
        raise SourceError(
            "%s %r has characters an apt or dnf source cannot take: a host name, an optional port, and a path "
            "of letters, digits and - . _ ~ %% / (write others %%-encoded; $ is refused, dnf would expand it)"
            % (option, url))
    if scheme == "http" and not allow_http:
        raise SourceError("%s %r is plain http: anyone on the path could swap it. Use https://, or allow it "
                          "explicitly" % (option, url))
    return url


def check_base_url(url, option="mirror"):
    """A mirror base URL, without a trailing slash; raises SourceError naming ``option``."""
    if not isinstance(url, str) or not url:
        raise SourceError("%s is empty: give a preset name (%s), auto, or a URL such as "
                          "https://mirror.example.com/docker-ce" % (option, ", ".join(PRESETS)))
    check_url(url, option)
    parts = urlsplit(url)
    return "%s://%s%s" % (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"))


def check_fingerprint(value, option="key_fingerprint"):
    """An OpenPGP fingerprint: 40 (v4) or 64 (v6) hex digits; spaces between groups are allowed."""
    if not isinstance(value, str) or not value:
        raise SourceError("%s is empty: give the key's fingerprint (40 or 64 hex digits)" % option)
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[0-9A-F]{40}|[0-9A-F]{64}", compact):
        raise SourceError("%s %r is not an OpenPGP fingerprint: give its 40 (or, for a v6 key, 64) hex digits, "
                          "as `gpg --show-keys` prints them" % (option, value))
    return compact


def resolve_mirror(value, option="mirror"):
    """A preset name or a URL -> the base URL. ``auto`` is the caller's to resolve."""
    if isinstance(value, str) and value in PRESETS:
        return PRESETS[value]
    if isinstance(value, str) and value == AUTO:
        raise SourceError("%s=auto must be resolved by probing first (mirror_probe); pass the chosen URL" % option)
    if isinstance(value, str) and "://" not in value and re.fullmatch(r"[a-z0-9_]+", value):
        raise SourceError("%s %r is not a known preset; use one of %s, auto, or a URL with its scheme"
                          % (option, value, ", ".join(PRESETS)))
    return check_base_url(value, option)


def resolve_candidates(values, option="candidates"):
    """Names or URLs -> base URLs, in order, without duplicates."""
    urls = []
    for index, value in enumerate(values or []):
        url = resolve_mirror(value, "%s[%d]" % (option, index))
        if url not in urls:
            urls.append(url)
    if not urls:
        raise SourceError("%s is empty: give preset names or mirror URLs to probe" % option)
    return urls


# --------------------------------------------------------------------------
# The source
# --------------------------------------------------------------------------

def repo_url(base, target):
    return "%s/linux/%s" % (base.rstrip("/"), target["repo"])


def default_key_url(base, target):
    """Docker CE's signing key as the mirror serves it."""
    return "%s/gpg" % repo_url(base, target)


def probe_path(target, channel=DEFAULT_CHANNEL):
    """The file under the base URL that answers when the mirror serves this host's packages."""
    prefix = "linux/%s" % target["repo"]
    if target["family"] == FAMILY_APT:
        return "%s/dists/%s/Release" % (prefix, target["release"])
    release = target["release"]
    if release == "$releasever":
        release = target["host_release"]
    return "%s/%s/%s/%s/repodata/repomd.xml" % (prefix, release, target["arch"], channel)


def check_name(name):
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise SourceError("name %r must be letters, digits, '.', '_' or '-' (it names the source file)" % (name,))
    return name


def source_paths(family, name=DEFAULT_NAME, key_format="asc"):
    """(source file, key file) for the family. dnf keeps a key file only when one is given."""
    check_name(name)
    if family == FAMILY_APT:
        return ("%s/%s.sources" % (APT_SOURCES_DIR, name),
                "%s/%s.%s" % (APT_KEYRINGS_DIR, name, "gpg" if key_format == "gpg" else "asc"))
    return ("%s/%s.repo" % (DNF_REPOS_DIR, name), "%s/%s-ce.asc" % (RPM_KEYS_DIR, name))


def _field(name, value, pattern):
    """The last check before a value goes into a file: the whole value must match ``pattern``."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise SourceError("%s %r cannot go into the package source file: it must match %s (nothing was "
                          "changed)" % (name, value, pattern.pattern))
    return value


_SUITE_OR_ARCH_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DESCRIPTION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._$-]*")


def render_deb822(url, suite, components, arch, signed_by):
    """A deb822 .sources file for one apt repository; every field is checked before it is written."""
    _field("URIs", url, _URL_RE)
    _field("Suites", suite, _SUITE_OR_ARCH_RE)
    for component in components:
        _field("Components", component, _SUITE_OR_ARCH_RE)
    _field("Architectures", arch, _SUITE_OR_ARCH_RE)
    _field("Signed-By", signed_by, _PATH_RE)
    lines = [
        WRITTEN_BY,
        "Types: deb",
        "URIs: %s" % url,
        "Suites: %s" % suite,
        "Components: %s" % " ".join(components),
        "Architectures: %s" % arch,
        "Signed-By: %s" % signed_by,
    ]
    return "\n".join(lines) + "\n"


def render_dnf_repo(section, description, baseurl, gpgkey):
    """A .repo file with one enabled repository, gpgcheck on; every value is checked before it is written."""
    _field("section", section, _NAME_RE)
    _field("name", description, _DESCRIPTION_RE)
    _field("baseurl", baseurl.replace("$releasever", "releasever").replace("$basearch", "basearch"), _URL_RE)
    if gpgkey.startswith("file://"):
        _field("gpgkey", gpgkey[len("file://"):], _PATH_RE)
    else:
        _field("gpgkey", gpgkey, _URL_RE)
    lines = [
        WRITTEN_BY,
        "[%s]" % section,
        "name=%s" % description,
        "baseurl=%s" % baseurl,
        "enabled=1",
        "gpgcheck=1",
        "gpgkey=%s" % gpgkey,
    ]
    return "\n".join(lines) + "\n"


def build_source(base, target, channel=DEFAULT_CHANNEL, name=DEFAULT_NAME, key_url=None, key_file=None,
                 key_format="asc"):
    """Everything about the source for this host: URLs, paths and the file text.

    ``key_url`` replaces the mirror's key URL; ``key_file`` is where the key lives on the host
    when one is written (apt always; dnf when the key was given as content or a local file,
    else dnf fetches it from ``key_url`` itself).
    """
    if channel not in CHANNELS:
        raise SourceError("channel %r is not one of %s" % (channel, ", ".join(CHANNELS)))
    url = repo_url(base, target)
    key_url = key_url or default_key_url(base, target)
    source_file, default_key_file = source_paths(target["family"], name, key_format)
    result = {
        "base_url": base,
        "repo_url": url,
        "key_url": key_url,
        "probe_url": "%s/%s" % (base.rstrip("/"), probe_path(target, channel)),
        "probe_path": probe_path(target, channel),
        "path": source_file,
        "family": target["family"],
        "channel": channel,
        "key_fingerprint": None,
    }
    if target["family"] == FAMILY_APT:
        key_path = key_file or default_key_file
        result["key_path"] = key_path
        result["origin"] = url
        result["content"] = render_deb822(url, target["release"], [channel], target["arch"], key_path)
    else:
        key_path = key_file
        gpgkey = ("file://%s" % key_path) if key_path else key_url
        result["key_path"] = key_path
        baseurl = "%s/%s/$basearch/%s" % (url, target["release"], channel)
        section = "%s-ce-%s" % (name, channel)
        result["origin"] = section
        result["content"] = render_dnf_repo(section, "Docker CE %s - $basearch" % channel.capitalize(),
                                            baseurl, gpgkey)
    return result


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------

ARMOR_BEGIN = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
ARMOR_END = b"-----END PGP PUBLIC KEY BLOCK-----"

# Docker's published release keys (docs.docker.com, "Install Docker Engine" for Debian/Ubuntu and for
# CentOS/RHEL/Fedora): the key a mirror's linux/<distribution>/gpg must be, unless the user pins another.
DOCKER_KEY_FINGERPRINTS = {
    FAMILY_APT: "9DC858229FC7DD38854AE2D88D81803C0EBFCD88",  # Docker Release (CE deb) <docker@docker.com>
    FAMILY_DNF: "060A61C51B558A7F742B77AAC52FEB6B621E9F35",  # Docker Release (CE rpm) <docker@docker.com>
}

_TAG_PUBLIC_KEY = 6
_TAG_PUBLIC_SUBKEY = 14
_SECRET_TAGS = (5, 7)


def key_format(data):
    """'asc' for an ASCII-armored public key, 'gpg' for a binary one; raises SourceError otherwise."""
    if not data:
        raise SourceError("the key is empty")
    stripped = data.lstrip()
    if stripped.startswith(ARMOR_BEGIN):
        if ARMOR_END not in stripped:
            raise SourceError("the key is cut short: its ASCII armor has no END line")
        return "asc"
    first = data[0] if isinstance(data[0], int) else ord(data[0])
    # An OpenPGP public-key packet: old format tag 6 (0x98/0x99), or new format 0xC6.
    if first in (0x98, 0x99, 0xC6):
        return "gpg"
    head = stripped[:60].decode("utf-8", "replace")
    raise SourceError("this is not an OpenPGP public key (it begins %r); give the mirror's gpg file or an "
                      "ASCII-armored key" % head)


def dearmor(data):
    """The binary packets of an OpenPGP key: ASCII armor decoded (every block), binary data as it is."""
    if key_format(data) == "gpg":
        return bytes(data)
    packets = b""
    text = data.replace(b"\r\n", b"\n")
    for block in text.split(ARMOR_BEGIN)[1:]:
        lines = [line.strip() for line in block.split(ARMOR_END, 1)[0].split(b"\n")][1:]
        if b"" in lines:  # armor headers ("Comment: ...") end at the first empty line
            blank = lines.index(b"")
            if all(b": " in line for line in lines[:blank]):
                lines = lines[blank + 1:]
        payload = b"".join(line for line in lines if line and not line.startswith(b"="))  # "=" starts the CRC
        try:
            packets += base64.b64decode(payload, validate=True)
        except (ValueError, TypeError):
            raise SourceError("the key's ASCII armor is not valid base64") from None
    return packets


def _packets(data):
    """(tag, body) of each OpenPGP packet (RFC 9580 4.2: old and new packet headers)."""
    pos = 0
    while pos < len(data):
        head = data[pos]
        if not head & 0x80:
            raise SourceError("the key is not OpenPGP data (byte %d is not a packet header)" % pos)
        if head & 0x40:  # new format
            tag = head & 0x3F
            first = data[pos + 1] if pos + 1 < len(data) else None
            if first is None:
                raise SourceError("the key is cut short")
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                if pos + 2 >= len(data):
                    raise SourceError("the key is cut short")
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2:pos + 6], "big"), pos + 6
            else:
                raise SourceError("the key uses partial packet lengths, which a key never needs")
        else:  # old format
            tag = (head >> 2) & 0x0F
            size = head & 0x03
            if size == 3:
                length, pos = len(data) - pos - 1, pos + 1
            else:
                count = (1, 2, 4)[size]
                length = int.from_bytes(data[pos + 1:pos + 1 + count], "big")
                pos += 1 + count
        body = data[pos:pos + length]
        if len(body) != length:
            raise SourceError("the key is cut short")
        yield tag, body
        pos += length


def _fingerprint(body):
    version = body[0] if body else 0
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if version == 5:
        return hashlib.sha256(b"\x9a" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    if version == 6:
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise SourceError("the key is an OpenPGP version %d key, which apt and dnf no longer accept" % version)


def key_fingerprints(data):
    """The fingerprints of the primary keys in ``data`` (armored or binary), in order."""
    primaries = []
    for tag, body in _packets(dearmor(data)):
        if tag in _SECRET_TAGS:
            raise SourceError("this is a secret key: give the public key only (gpg --armor --export)")
        if tag == _TAG_PUBLIC_KEY:
            primaries.append(_fingerprint(body))
    if not primaries:
        raise SourceError("the key holds no OpenPGP public key")
    return primaries


def spaced(fingerprint):
    """A fingerprint in groups of four, as gpg prints it."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


def check_key(data, fingerprint, where):
    """Refuse a key whose primary key is not ``fingerprint`` (a key file with any other key is refused too:
    apt and dnf would trust every key in it)."""
    found = key_fingerprints(data)
    strangers = [fpr for fpr in found if fpr != fingerprint]
    if strangers:
        raise SourceError(
            "the signing key from %s is %s, not the pinned key %s: refusing it (nothing was changed). If this "
            "mirror is signed with a key of its own, set key_fingerprint (the engine role's "
            "engine_repo_key_fingerprint) to that key's fingerprint, learnt from its owner, not from the mirror"
            % (where, ", ".join(spaced(fpr) for fpr in strangers), spaced(fingerprint)))
    return found


# --------------------------------------------------------------------------
# Release files, packages and versions
# --------------------------------------------------------------------------

def parse_release(text):
    """The fields of an apt Release file that tell what it serves."""
    fields = {}
    for line in (text or "").splitlines():
        if not line or line[0] in " \t" or ":" not in line:
            continue
        key, value = line.split(":", 1)
        fields[key.strip()] = value.strip()
    return {
        "suite": fields.get("Suite"),
        "codename": fields.get("Codename"),
        "architectures": fields.get("Architectures", "").split(),
        "components": fields.get("Components", "").split(),
    }


def check_release(text, target, channel, url):
    """Fail when the Release file shows the mirror does not serve this host's arch or channel."""
    info = parse_release(text)
    problems = []
    if info["architectures"] and target["arch"] not in info["architectures"] :
        problems.append("no %s packages (it has %s)" % (target["arch"], " ".join(info["architectures"])))
    if info["components"] and channel not in info["components"]:
        problems.append("no %s channel (it has %s)" % (channel, " ".join(info["components"])))
    if problems:
        raise SourceError("%s serves %s but %s" % (url, target["release"], " and ".join(problems)))
    return info


def default_packages(engine_source, target):
    if engine_source == "docker_ce":
        return list(DOCKER_CE_PACKAGES)
    packages = target["distro_packages"]
    if not packages:
        raise SourceError(
            "%s ships no Docker Engine package of its own (it ships Podman): use engine_source: docker_ce"
            % target["name"])
    return list(packages)


def conflicting_packages(engine_source, family, packages):
    """The packages to remove first: the source's conflicts, less those being installed."""
    return [name for name in CONFLICTS[(family, engine_source)] if name not in packages]


def parse_apt_versions(text, origin=None):
    """Versions from `apt-cache madison NAME` output, in its order (newest first).

    ``origin``: keep only the lines of that repository (its URL, as the source file names it), so a
    version from another source (Debian's archive, another mirror) is never taken for the chosen one's.
    """
    versions = []
    for line in (text or "").splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 3 or not parts[1] or parts[1] in versions:
            continue
        if origin and (parts[2].split() or [""])[0].rstrip("/") != origin.rstrip("/"):
            continue
        versions.append(parts[1])
    return versions


def parse_dnf_versions(text, name, origin=None):
    """Versions from `dnf list --showduplicates NAME` output, newest first ('epoch:version-release').

    ``origin``: keep only the versions of that repository id (``docker-ce-stable``).
    """
    versions = []
    for line in (text or "").splitlines():
        parts = line.split()
        if (len(parts) >= 2 and parts[0].rsplit(".", 1)[0] == name and re.match(r"[0-9]", parts[1])
                and parts[1] not in versions):
            if origin and (len(parts) < 3 or parts[2].lstrip("@") != origin):
                continue
            versions.append(parts[1])
    return sorted(versions, key=_version_key, reverse=True)


def _version_key(version):
    epoch = 0
    if ":" in version:
        head, version = version.split(":", 1)
        epoch = int(head) if head.isdigit() else 0
    return [epoch] + [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.\-~+_]", version)]


def _strip_epoch(version):
    return version.split(":", 1)[1] if re.match(r"[0-9]+:", version) else version


def is_full_version(wanted):
    """A full version has a revision (``-1~debian.12~bookworm``, ``-1.el9``) or an epoch; the rest is an
    upstream version or a prefix of one (``27.3.1``, ``27.3``, ``20.10.24+dfsg1``)."""
    return "-" in wanted or bool(re.match(r"[0-9]+:", wanted))


def match_version(available, wanted):
    """The first of ``available`` (newest first) that ``wanted`` names, or None.

    A full version (``5:27.3.1-1~debian.12~bookworm``, the epoch may be left out) names exactly that
    version: ``20.10.24+dfsg1-1+deb12u1+b6`` is not ``20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1``. An
    upstream version names the newest build of it, and a prefix the newest of its series (``27.3``:
    the newest 27.3.x): the next character must be a separator (``-``, ``~``, ``+``, ``.``).
    """
    wanted = (wanted or "").strip()
    if not wanted:
        return None
    for version in available:
        if wanted in (version, _strip_epoch(version)):
            return version
    if is_full_version(wanted):
        return None
    for version in available:
        bare = _strip_epoch(version)
        if bare.startswith(wanted) and bare[len(wanted):len(wanted) + 1] in ("-", "~", "+", "."):
            return version
    return None


def same_version(installed, wanted):
    """Whether two full versions are the same (an epoch of 0 is the same as none)."""
    def bare(version):
        return version[2:] if version.startswith("0:") else version
    return bare(installed or "") == bare(wanted or "")


def version_plan(packages, family, listings, version, origin=None, installed=None):
    """What pinning ``packages`` to ``version`` means, from the chosen source's listings.

    ``listings``: name -> `apt-cache madison` / `dnf list --showduplicates` output, for the packages
    that carry the version. ``installed``: name -> installed version. Returns a dict: ``specs`` (the
    install specs), ``resolved`` (name -> the source's version), ``missing`` (one sentence per package
    the source lacks the version of, listing what it has) and ``moves`` (installed packages that are
    not at the resolved version, whichever source they came from).
    """
    plan = {"specs": [], "resolved": {}, "missing": [], "moves": []}
    where = origin or "the package source"
    for name in packages or []:
        if not version or name not in (listings or {}):
            plan["specs"].append(name)
            continue
        if family == FAMILY_APT:
            available = parse_apt_versions(listings[name], origin)
        else:
            available = parse_dnf_versions(listings[name], name, origin)
        found = match_version(available, version)
        if found is None:
            if available:
                more = len(available) - 15
                has = "it has %s%s" % (", ".join(available[:15]), " and %d more" % more if more > 0 else "")
            else:
                has = "it has no %s at all" % name
            plan["missing"].append("%s has no %s %s (%s)" % (where, name, version, has))
            plan["specs"].append(name)
            continue
        plan["resolved"][name] = found
        plan["specs"].append(package_spec(family, name, found))
        current = (installed or {}).get(name)
        if current is not None and not same_version(current, found):
            plan["moves"].append(name)
    return plan


# --------------------------------------------------------------------------
# What the packages need, and what a removal would take
# --------------------------------------------------------------------------

# `apt-cache depends` options for "everything these packages need to be installed".
APT_DEPENDS_ARGS = ["--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                    "--no-replaces", "--no-enhances"]


def parse_apt_depends(text):
    """The packages in `apt-cache depends --recurse` output: every package the named ones need, directly
    or not, alternatives and providers of virtual packages included (so nothing they might use is
    counted as removable). Names only, without ``:arch`` and the ``<>`` of virtual packages."""
    names = []
    for line in (text or "").splitlines():
        if not line or line[0] in " \t|":
            continue
        name = line.strip().strip("<>").split(":", 1)[0]
        if name and name not in names:
            names.append(name)
    return names


def parse_apt_removals(text):
    """The packages an `apt-get -s remove` would remove (its ``Remv NAME [VERSION]`` lines), in order."""
    names = []
    for line in (text or "").splitlines():
        found = re.match(r"Remv (\S+)", line)
        name = found.group(1).split(":", 1)[0] if found else None
        if name and name not in names:
            names.append(name)
    return names


def package_spec(family, name, version):
    """``name=version`` for apt, ``name-version`` for dnf (without the epoch: dnf matches it)."""
    if not version:
        return name
    if family == FAMILY_APT:
        return "%s=%s" % (name, version)
    return "%s-%s" % (name, _strip_epoch(version))
