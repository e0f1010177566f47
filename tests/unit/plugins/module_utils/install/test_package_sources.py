"""package_sources: the preset table, the distribution table, and the source files rendered for every
supported distribution, release and architecture (the RHEL family and Ubuntu are covered here only:
the lab runs Debian hosts)."""

import base64
import itertools

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.install.package_sources import (
    ARCHITECTURES,
    AUTO_CANDIDATES,
    CONFLICTS,
    DISTRIBUTIONS,
    DOCKER_KEY_FINGERPRINTS,
    PRESETS,
    SourceError,
    build_source,
    check_base_url,
    check_fingerprint,
    check_key,
    check_name,
    check_release,
    check_url,
    conflicting_packages,
    default_packages,
    host_target,
    key_fingerprints,
    key_format,
    match_version,
    package_spec,
    parse_apt_depends,
    parse_apt_removals,
    parse_apt_versions,
    parse_dnf_versions,
    parse_os_release,
    probe_path,
    render_deb822,
    render_dnf_repo,
    resolve_candidates,
    resolve_mirror,
    version_plan,
)

OS_RELEASES = {
    "debian": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
              'VERSION_CODENAME=bookworm\nID=debian\n',
    "ubuntu": 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n'
              'ID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n',
    "rocky": 'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
             'VERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
    "openEuler": 'NAME="openEuler"\nVERSION="22.03 (LTS-SP3)"\nID="openEuler"\nVERSION_ID="22.03"\n'
                 'PRETTY_NAME="openEuler 22.03 (LTS-SP3)"\n',
    "fedora": 'NAME="Fedora Linux"\nVERSION="41 (Server Edition)"\nID=fedora\nVERSION_ID=41\n',
    "rhel10": 'NAME="Red Hat Enterprise Linux"\nVERSION="10.0 (Coughlan)"\nID="rhel"\nVERSION_ID="10.0"\n',
    "alpine": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n',
    "mint": 'NAME="Linux Mint"\nVERSION="22 (Wilma)"\nID=linuxmint\nID_LIKE="ubuntu debian"\n'
            'VERSION_CODENAME=wilma\nUBUNTU_CODENAME=noble\n',
}


def os_release(distro_id, release):
    """A minimal os-release for a table entry and release key."""
    info = DISTRIBUTIONS[distro_id]
    if info["family"] == "apt":
        return {"ID": distro_id, "VERSION_CODENAME": release}
    return {"ID": distro_id, "VERSION_ID": release + ".3"}


def machines_for(info):
    """Every uname -m that maps onto one of the distribution's architectures."""
    index = 0 if info["family"] == "apt" else 1
    return [machine for machine, arches in ARCHITECTURES.items() if arches[index] in info["arches"]]


ALL_TARGETS = [(d, r, m) for d, info in DISTRIBUTIONS.items() for r in info["releases"] for m in machines_for(info)]


# --------------------------------------------------------------------------
# The tables
# --------------------------------------------------------------------------

def test_presets_are_https_base_urls_and_intranet_variants_are_http():
    for name, url in PRESETS.items():
        assert check_base_url(url) == url, name
        if name.endswith("_intranet"):
            assert url.startswith("http://"), name
            assert name[: -len("_intranet")] in PRESETS, name
            # the intranet host serves the same path as the public one
            assert url.split("/", 3)[3] == PRESETS[name[: -len("_intranet")]].split("/", 3)[3]
        else:
            assert url.startswith("https://"), name
    assert PRESETS["official"] == "https://download.docker.com"
    assert PRESETS["aliyun"] == "https://mirrors.aliyun.com/docker-ce"
    assert PRESETS["tuna"] == "https://mirrors.tuna.tsinghua.edu.cn/docker-ce"
    assert PRESETS["volces"] == "https://mirrors.volces.com/docker"
    assert set(AUTO_CANDIDATES) == {n for n in PRESETS if not n.endswith("_intranet")}


def test_every_distribution_has_a_supported_family_and_architecture():
    for distro_id, info in DISTRIBUTIONS.items():
        assert info["family"] in ("apt", "dnf"), distro_id
        assert info["repo"] in ("debian", "ubuntu", "centos", "rhel", "fedora"), distro_id
        assert machines_for(info), distro_id
        assert (info["family"], "docker_ce") in CONFLICTS


@pytest.mark.parametrize("distro_id,release,machine", ALL_TARGETS,
                         ids=["%s-%s-%s" % t for t in ALL_TARGETS])
def test_every_supported_target_renders_for_every_preset(distro_id, release, machine):
    info = DISTRIBUTIONS[distro_id]
    target = host_target(os_release(distro_id, release), machine)
    assert target["family"] == info["family"]
    for name, base in PRESETS.items():
        source = build_source(base, target)
        repo = "%s/linux/%s" % (base, target["repo"])
        assert source["repo_url"] == repo, name
        assert source["key_url"] == repo + "/gpg"
        assert source["probe_url"] == base + "/" + source["probe_path"]
        text = source["content"]
        if info["family"] == "apt":
            assert source["path"] == "/etc/apt/sources.list.d/docker.sources"
            assert "URIs: %s\n" % repo in text
            assert "Suites: %s\n" % release in text
            assert "Architectures: %s\n" % ARCHITECTURES[machine][0] in text
            assert "Signed-By: /etc/apt/keyrings/docker.asc\n" in text
            assert source["probe_path"] == "linux/%s/dists/%s/Release" % (target["repo"], release)
        else:
            assert source["path"] == "/etc/yum.repos.d/docker.repo"
            assert "gpgcheck=1\n" in text and "gpgkey=%s/gpg\n" % repo in text
            assert "baseurl=%s/%s/$basearch/stable\n" % (repo, target["release"]) in text
            assert source["probe_path"].endswith("/%s/stable/repodata/repomd.xml" % ARCHITECTURES[machine][1])


def test_rhel_family_and_openeuler_map_onto_docker_ce_trees():
    rocky = host_target(parse_os_release(OS_RELEASES["rocky"]), "aarch64")
    assert (rocky["repo"], rocky["release"], rocky["arch"]) == ("centos", "9", "aarch64")
    euler = host_target(parse_os_release(OS_RELEASES["openEuler"]), "x86_64")
    assert (euler["repo"], euler["release"], euler["host_release"]) == ("centos", "9", "22")
    assert host_target({"ID": "openEuler", "VERSION_ID": "20.03"}, "x86_64")["release"] == "8"
    rhel10 = host_target(parse_os_release(OS_RELEASES["rhel10"]), "x86_64")
    assert (rhel10["repo"], rhel10["release"]) == ("centos", "10")
    assert host_target({"ID": "rhel", "VERSION_ID": "9.4"}, "s390x")["repo"] == "rhel"
    fedora = host_target(parse_os_release(OS_RELEASES["fedora"]), "x86_64")
    assert fedora["release"] == "$releasever"
    source = build_source(PRESETS["ustc"], fedora)
    baseurl = "baseurl=https://mirrors.ustc.edu.cn/docker-ce/linux/fedora/$releasever/$basearch/stable"
    assert baseurl in source["content"]
    assert source["probe_path"] == "linux/fedora/41/x86_64/stable/repodata/repomd.xml"


def test_repo_file_for_rocky_from_an_intranet_mirror():
    target = host_target(parse_os_release(OS_RELEASES["rocky"]), "x86_64")
    source = build_source(PRESETS["aliyun_intranet"], target)
    assert source["content"] == (
        "# Written by dockhand.runtime (engine_repo); changes here are overwritten.\n"
        "[docker-ce-stable]\n"
        "name=Docker CE Stable - $basearch\n"
        "baseurl=http://mirrors.cloud.aliyuncs.com/docker-ce/linux/centos/9/$basearch/stable\n"
        "enabled=1\n"
        "gpgcheck=1\n"
        "gpgkey=http://mirrors.cloud.aliyuncs.com/docker-ce/linux/centos/gpg\n")
    with_file = build_source(PRESETS["tuna"], target, key_file="/etc/pki/rpm-gpg/docker-ce.asc")
    assert "gpgkey=file:///etc/pki/rpm-gpg/docker-ce.asc\n" in with_file["content"]


def test_deb822_for_ubuntu_from_tencent():
    target = host_target(parse_os_release(OS_RELEASES["ubuntu"]), "aarch64")
    source = build_source(resolve_mirror("tencent"), target, channel="test", name="docker-ce")
    assert source["content"] == (
        "# Written by dockhand.runtime (engine_repo); changes here are overwritten.\n"
        "Types: deb\n"
        "URIs: https://mirrors.tencent.com/docker-ce/linux/ubuntu\n"
        "Suites: noble\n"
        "Components: test\n"
        "Architectures: arm64\n"
        "Signed-By: /etc/apt/keyrings/docker-ce.asc\n")
    assert source["path"] == "/etc/apt/sources.list.d/docker-ce.sources"


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value,words", [
    ("nosuch", "is not a known preset"),
    ("mirrors.aliyun.com/docker-ce", "needs its scheme (http:// or https://)"),
    ("ftp://mirror.example.com/docker-ce", "use http:// or https://"),
    ("https://user:secret@mirror.example.com", "holds credentials"),
    ("https://mirror.example.com/?x=1", "query or fragment"),
    ("", "is empty"),
    ("auto", "must be resolved by probing first"),
])
def test_bad_mirrors_name_the_option(value, words):
    with pytest.raises(SourceError) as info:
        resolve_mirror(value, "engine_repo_mirror")
    assert "engine_repo_mirror" in str(info.value) and words in str(info.value)
    assert "secret" not in str(info.value)


def test_urls_are_normalised_and_candidates_deduplicated():
    assert resolve_mirror("HTTPS://Mirror.Example.com/docker-ce/") == "https://mirror.example.com/docker-ce"
    assert resolve_candidates(["tuna", PRESETS["tuna"], "official"]) == [PRESETS["tuna"], PRESETS["official"]]
    with pytest.raises(SourceError, match=r"candidates\[1\]"):
        resolve_candidates(["tuna", "bogus"])
    with pytest.raises(SourceError, match="is empty"):
        resolve_candidates([])


@pytest.mark.parametrize("text,machine,kwargs,words", [
    (OS_RELEASES["alpine"], "x86_64", {}, "Alpine Linux v3.20 (os-release ID 'alpine') is not supported"),
    (OS_RELEASES["mint"], "x86_64", {}, "Its ID_LIKE is 'ubuntu debian'"),
    ('ID=debian\nVERSION_CODENAME=buster\n', "x86_64", {}, "Debian buster is not supported"),
    ('ID=debian\n', "x86_64", {}, "has no VERSION_CODENAME; set release"),
    ('ID=rocky\nVERSION_ID=7.9\n', "x86_64", {}, "Rocky Linux 7 is not supported"),
    (OS_RELEASES["debian"], "i686", {}, "no Debian packages for the i686 architecture"),
    (OS_RELEASES["fedora"], "ppc64le", {}, "no Fedora packages for the ppc64le architecture"),
])
def test_unsupported_hosts_say_what_to_change(text, machine, kwargs, words):
    with pytest.raises(SourceError) as info:
        host_target(parse_os_release(text), machine, **kwargs)
    assert words in str(info.value)


def test_overrides_for_derivatives_and_new_releases():
    mint = host_target(parse_os_release(OS_RELEASES["mint"]), "x86_64", distribution="ubuntu", release="noble")
    assert (mint["repo"], mint["release"]) == ("ubuntu", "noble")
    future = host_target(parse_os_release('ID=debian\nVERSION_CODENAME=forky\n'), "x86_64", release="forky")
    assert future["release"] == "forky"
    assert host_target({"ID": "OPENEULER", "VERSION_ID": "24.03"}, "x86_64")["distribution"] == "openEuler"


def test_an_override_must_stay_in_the_hosts_family():
    with pytest.raises(SourceError, match="distribution rocky installs with dnf, but this host"):
        host_target(parse_os_release(OS_RELEASES["debian"]), "x86_64", distribution="rocky", release="9")
    with pytest.raises(SourceError, match="uses dnf"):
        host_target(parse_os_release(OS_RELEASES["openEuler"]), "x86_64", distribution="ubuntu", release="noble")
    # an unknown host family (no ID or ID_LIKE in the table) takes the override as given
    assert host_target({"ID": "somelinux"}, "x86_64", distribution="debian", release="bookworm")["repo"] == "debian"


def test_parse_os_release_handles_quotes_and_comments():
    parsed = parse_os_release('# comment\nNAME="Debian GNU/Linux"\nID=debian\n\nVERSION=\'12 (bookworm)\'\nBAD\n')
    assert parsed == {"NAME": "Debian GNU/Linux", "ID": "debian", "VERSION": "12 (bookworm)"}


def test_release_file_must_list_the_arch_and_channel():
    target = host_target(parse_os_release(OS_RELEASES["debian"]), "aarch64")
    good = "Origin: Docker\nCodename: bookworm\nArchitectures: amd64 arm64 armhf\nComponents: stable test\n"
    assert check_release(good, target, "stable", "u")["codename"] == "bookworm"
    with pytest.raises(SourceError, match="no arm64 packages"):
        check_release("Architectures: amd64\nComponents: stable\n", target, "stable", "u")
    with pytest.raises(SourceError, match="no test channel"):
        check_release("Architectures: arm64\nComponents: stable\n", target, "test", "u")


def test_key_format():
    assert key_format(b"\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n") == "asc"
    assert key_format(b"\x99\x01\x0d\x04") == "gpg"
    assert key_format(b"\xc6\x33") == "gpg"
    with pytest.raises(SourceError, match="not an OpenPGP public key"):
        key_format(b"<html>404 Not Found</html>")
    with pytest.raises(SourceError, match="cut short"):
        key_format(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc")
    with pytest.raises(SourceError, match="empty"):
        key_format(b"")


# --------------------------------------------------------------------------
# Packages and versions
# --------------------------------------------------------------------------

def test_default_and_conflicting_packages():
    debian = host_target(parse_os_release(OS_RELEASES["debian"]), "x86_64")
    rocky = host_target(parse_os_release(OS_RELEASES["rocky"]), "x86_64")
    fedora = host_target(parse_os_release(OS_RELEASES["fedora"]), "x86_64")
    assert default_packages("docker_ce", debian)[0] == "docker-ce"
    assert default_packages("distro", debian) == ["docker.io"]
    assert default_packages("distro", fedora) == ["moby-engine"]
    with pytest.raises(SourceError, match="ships no Docker Engine package of its own"):
        default_packages("distro", rocky)
    assert "docker.io" in conflicting_packages("docker_ce", "apt", ["docker-ce"])
    assert "docker.io" not in conflicting_packages("docker_ce", "apt", ["docker.io"])
    assert "podman-docker" in conflicting_packages("docker_ce", "dnf", ["docker-ce"])
    assert "docker-ce" in conflicting_packages("distro", "apt", ["docker.io"])


MADISON = """\
 docker-ce | 5:27.3.1-1~debian.12~bookworm | https://download.docker.com/linux/debian bookworm/stable amd64 Packages
 docker-ce | 5:27.3.0-1~debian.12~bookworm | https://download.docker.com/linux/debian bookworm/stable amd64 Packages
 docker-ce | 5:26.1.4-1~debian.12~bookworm | https://download.docker.com/linux/debian bookworm/stable amd64 Packages
"""
DNF_LIST = """\
Available Packages
docker-ce.x86_64                3:26.1.4-1.el9                 docker-ce-stable
docker-ce.x86_64                3:27.3.1-1.el9                 docker-ce-stable
docker-ce.x86_64                3:27.3.0-1.el9                 docker-ce-stable
docker-ce-cli.x86_64            1:27.3.1-1.el9                 docker-ce-stable
"""


def test_versions_from_apt_and_dnf():
    apt = parse_apt_versions(MADISON)
    assert apt[0] == "5:27.3.1-1~debian.12~bookworm" and len(apt) == 3
    dnf = parse_dnf_versions(DNF_LIST, "docker-ce")
    assert dnf == ["3:27.3.1-1.el9", "3:27.3.0-1.el9", "3:26.1.4-1.el9"]


@pytest.mark.parametrize("wanted,expected", [
    ("27.3.1", "5:27.3.1-1~debian.12~bookworm"),
    ("27.3", "5:27.3.1-1~debian.12~bookworm"),
    ("27.3.0", "5:27.3.0-1~debian.12~bookworm"),
    ("5:26.1.4-1~debian.12~bookworm", "5:26.1.4-1~debian.12~bookworm"),
    ("26.1.4-1~debian.12~bookworm", "5:26.1.4-1~debian.12~bookworm"),
    ("27", "5:27.3.1-1~debian.12~bookworm"),
    ("27.3.2", None),
    ("2", None),
    ("", None),
])
def test_match_version(wanted, expected):
    assert match_version(parse_apt_versions(MADISON), wanted) == expected


def test_debian_versions_and_specs():
    versions = ["20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1", "20.10.24+dfsg1-1+deb12u1+b6"]
    assert match_version(versions, "20.10.24") == versions[0]
    assert match_version(versions, "20.10.24+dfsg1-1+deb12u1+b6") == versions[1]
    full = "5:27.3.1-1~debian.12~bookworm"
    assert package_spec("apt", "docker-ce", full) == "docker-ce=" + full
    assert package_spec("dnf", "docker-ce", "3:27.3.1-1.el9") == "docker-ce-27.3.1-1.el9"
    assert package_spec("apt", "containerd.io", None) == "containerd.io"


def test_probe_paths():
    for (distro_id, release, machine) in itertools.islice(ALL_TARGETS, 0, None, 7):
        target = host_target(os_release(distro_id, release), machine)
        path = probe_path(target)
        assert path.startswith("linux/%s/" % target["repo"])
        assert "$" not in path


# --------------------------------------------------------------------------
# Line injection: every value that goes into a .sources or .repo file is refused, never altered
# --------------------------------------------------------------------------

DEBIAN = host_target(parse_os_release(OS_RELEASES["debian"]), "x86_64")
ROCKY = host_target(parse_os_release(OS_RELEASES["rocky"]), "x86_64")


@pytest.mark.parametrize("release,words", [
    ("bookworm\nTrusted: yes", "holds a newline"),
    ("bookworm\n", "holds a newline"),
    ("bookworm stable", "holds a space"),
    ("bookworm\tx", "holds a tab"),
    ("book\x00worm", "the control character"),
    ("../bookworm", "must be letters, digits"),
    ("$releasever", "must be letters, digits"),
])
def test_release_with_a_line_break_or_blank_is_refused(release, words):
    with pytest.raises(SourceError) as info:
        host_target(parse_os_release(OS_RELEASES["debian"]), "x86_64", release=release)
    assert "release" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("url,words", [
    ("http://mirror.lan/docker ce", "holds a space"),
    ("http://mirror.lan/docker-ce\nTrusted: yes", "holds a newline"),
    ("http://mirror.lan/docker-ce\n", "holds a newline"),
    (" http://mirror.lan/docker-ce", "holds a space"),
    ("http://mirror.lan/docker-ce\r", "holds a carriage return"),
    ("http://mirror.lan/$releasever", "$ is refused"),
    ("http://mirror.lan/a\"b", "has characters an apt or dnf source cannot take"),
    ("http://mirror_lan/docker-ce", "has characters an apt or dnf source cannot take"),
])
def test_mirror_with_whitespace_or_control_characters_is_refused(url, words):
    with pytest.raises(SourceError) as info:
        resolve_mirror(url, "engine_repo_mirror")
    assert "engine_repo_mirror" in str(info.value) and words in str(info.value), str(info.value)


def test_key_url_with_a_newline_is_refused_and_http_needs_opting_in():
    with pytest.raises(SourceError, match="key .* holds a newline"):
        check_url("https://mirror.lan/gpg\ngpgcheck=0", "key")
    with pytest.raises(SourceError, match="is plain http"):
        check_url("http://mirror.lan/gpg", "key", allow_http=False)
    assert check_url("http://mirror.lan/gpg", "key") == "http://mirror.lan/gpg"


def test_credentials_never_show_in_the_refusal():
    with pytest.raises(SourceError) as info:
        resolve_mirror("https://user:s3cret-pw@mirror.lan/a b", "engine_repo_mirror")
    assert "s3cret-pw" not in str(info.value)
    with pytest.raises(SourceError) as info:
        resolve_mirror("https://user:s3cret-pw@mirror.lan/docker-ce", "engine_repo_mirror")
    assert "s3cret-pw" not in str(info.value) and "holds credentials" in str(info.value)


def test_name_with_a_trailing_newline_is_refused():
    assert check_name("docker") == "docker"
    for bad in ("docker\n", "docker ce", "../docker", ""):
        with pytest.raises(SourceError, match="name"):
            check_name(bad)


def test_renderers_refuse_what_the_format_would_split():
    with pytest.raises(SourceError, match="Suites"):
        render_deb822("http://m.lan/linux/debian", "bookworm\nTrusted: yes", ["stable"], "amd64", "/k.asc")
    with pytest.raises(SourceError, match="URIs"):
        render_deb822("http://m.lan/a b", "bookworm", ["stable"], "amd64", "/k.asc")
    with pytest.raises(SourceError, match="Components"):
        render_deb822("http://m.lan/a", "bookworm", ["stable main"], "amd64", "/k.asc")
    with pytest.raises(SourceError, match="Signed-By"):
        render_deb822("http://m.lan/a", "bookworm", ["stable"], "amd64", "/k.asc\nTrusted: yes")
    with pytest.raises(SourceError, match="gpgkey"):
        render_dnf_repo("docker-ce-stable", "Docker CE", "http://m.lan/a", "http://m.lan/gpg\ngpgcheck=0")
    with pytest.raises(SourceError, match="baseurl"):
        render_dnf_repo("docker-ce-stable", "Docker CE", "http://m.lan/a b", "file:///etc/pki/rpm-gpg/k.asc")
    with pytest.raises(SourceError, match="section"):
        render_dnf_repo("docker]\n[x", "Docker CE", "http://m.lan/a", "file:///etc/pki/rpm-gpg/k.asc")
    # what the module renders for real still passes
    assert "Suites: bookworm\n" in build_source(PRESETS["tuna"], DEBIAN)["content"]
    assert "gpgcheck=1\n" in build_source(PRESETS["tuna"], ROCKY, key_file="/etc/pki/rpm-gpg/docker-ce.asc")["content"]


# --------------------------------------------------------------------------
# The pinned signing key
# --------------------------------------------------------------------------

# Two throwaway ed25519 keys made with gpg 2.2 for these tests; the fingerprints are gpg's own
# (gpg --show-keys --with-colons), so the parser is checked against an independent implementation.
KEY_ONE = b"""-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEaw7fRBYJKwYBBAHaRw8BAQdAz8cG0muo/OND0LiQyefWXGK+1H9wh51/PBjY
ja6bBfK0MWRvY2toYW5kIHVuaXQgdGVzdCBrZXkgb25lIDxvbmVAZG9ja2hhbmQu
aW52YWxpZD6IkAQTFggAOBYhBLyDeXZlWfbVKXOCw3m9QwkpXdX7BQJrDt9EAhsD
BQsJCAcCBhUKCQgLAgQWAgMBAh4BAheAAAoJEHm9QwkpXdX7tmIBAJaNsJMUXH+S
SFETEZxq+tcFkvNSXFTYMHEfxcySET8oAP9EQH9DSMALY1CSeE9Gvl/+3r2jJnqF
7mps2kTnU8rhCQ==
=Dxyj
-----END PGP PUBLIC KEY BLOCK-----
"""
KEY_ONE_FPR = "BC8379766559F6D5297382C379BD4309295DD5FB"
KEY_TWO = b"""-----BEGIN PGP PUBLIC KEY BLOCK-----
Comment: a header line, as some exports carry

mDMEaw7fRBYJKwYBBAHaRw8BAQdAkUuDjaqhYcVKCgl55C67XB/L8v+RnynYpnCE
3O3/vlG0MWRvY2toYW5kIHVuaXQgdGVzdCBrZXkgdHdvIDx0d29AZG9ja2hhbmQu
aW52YWxpZD6IkAQTFggAOBYhBL3yE2DJqlMXAA+tQWGP+20NduW+BQJrDt9EAhsD
BQsJCAcCBhUKCQgLAgQWAgMBAh4BAheAAAoJEGGP+20NduW+P/sA/2TWMawkrAOE
uklfPKL8d2jOetWJHdoljYYUuUHDRNWXAPsGmhQtf8ElOnE7/HuGYZg6ZvKDTzCf
IrYeXN3kZj2+Dw==
=+CNB
-----END PGP PUBLIC KEY BLOCK-----
"""
KEY_TWO_FPR = "BDF21360C9AA5317000FAD41618FFB6D0D76E5BE"
KEY_ONE_BINARY = base64.b64decode(
    "mDMEaw7fRBYJKwYBBAHaRw8BAQdAz8cG0muo/OND0LiQyefWXGK+1H9wh51/PBjYja6bBfK0MWRvY2toYW5kIHVuaXQgdGVzdCBrZXkgb25lIDxv"
    "bmVAZG9ja2hhbmQuaW52YWxpZD6IkAQTFggAOBYhBLyDeXZlWfbVKXOCw3m9QwkpXdX7BQJrDt9EAhsDBQsJCAcCBhUKCQgLAgQWAgMBAh4BAheAAAoJ"
    "EHm9QwkpXdX7tmIBAJaNsJMUXH+SSFETEZxq+tcFkvNSXFTYMHEfxcySET8oAP9EQH9DSMALY1CSeE9Gvl/+3r2jJnqF7mps2kTnU8rhCQ==")


def test_fingerprints_match_gpgs_for_armored_and_binary_keys():
    assert key_fingerprints(KEY_ONE) == [KEY_ONE_FPR]
    assert key_fingerprints(KEY_TWO) == [KEY_TWO_FPR]
    assert key_fingerprints(KEY_ONE_BINARY) == [KEY_ONE_FPR]
    assert key_fingerprints(KEY_ONE.replace(b"\n", b"\r\n")) == [KEY_ONE_FPR]
    assert key_fingerprints(KEY_ONE + KEY_TWO) == [KEY_ONE_FPR, KEY_TWO_FPR]


def test_docker_fingerprints_are_the_published_ones():
    # docs.docker.com: "9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88" (Debian, Ubuntu) and
    # "060A 61C5 1B55 8A7F 742B  77AA C52F EB6B 621E 9F35" (CentOS, RHEL, Fedora)
    assert {
        "apt": check_fingerprint("9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88"),
        "dnf": check_fingerprint("060A 61C5 1B55 8A7F 742B  77AA C52F EB6B 621E 9F35"),
    } == DOCKER_KEY_FINGERPRINTS


def test_the_pinned_key_passes_and_any_other_is_refused():
    assert check_key(KEY_ONE, KEY_ONE_FPR, "u") == [KEY_ONE_FPR]
    with pytest.raises(SourceError) as info:
        check_key(KEY_TWO, KEY_ONE_FPR, "http://m.lan/linux/debian/gpg")
    message = str(info.value)
    assert "BDF2 1360 C9AA 5317 000F  AD41 618F FB6D 0D76 E5BE".replace("  ", " ") in message
    assert "not the pinned key" in message and "key_fingerprint" in message
    # a key file that adds a second key next to the pinned one is refused too (apt would trust both)
    with pytest.raises(SourceError, match="BDF2"):
        check_key(KEY_ONE + KEY_TWO, KEY_ONE_FPR, "u")
    with pytest.raises(SourceError, match="BC83"):
        check_key(KEY_ONE, DOCKER_KEY_FINGERPRINTS["apt"], "u")


@pytest.mark.parametrize("data,words", [
    (b"<html>404</html>", "not an OpenPGP public key"),
    (b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n", "not valid base64"),
    (KEY_ONE_BINARY[:40], "cut short"),
    (b"\x95\x01\x00", "not an OpenPGP public key"),  # a secret-key packet (tag 5) does not even look like a key
    (b"\x99\x00\x01\x03", "version 3 key"),
])
def test_bad_keys_are_refused(data, words):
    with pytest.raises(SourceError, match=words):
        key_fingerprints(data)


def test_a_secret_key_is_refused():
    secret = KEY_ONE_BINARY[:53] + b"\x94\x01\x04"  # the public-key packet, then a secret-key packet (tag 5)
    with pytest.raises(SourceError, match="secret key"):
        key_fingerprints(secret)


@pytest.mark.parametrize("value", ["", "9DC8", "9DC85822\n9FC7DD38854AE2D88D81803C0EBFCD88", "0x9DC858229FC7DD38854A"
                                   "E2D88D81803C0EBFCD88", "ZZC858229FC7DD38854AE2D88D81803C0EBFCD88"])
def test_bad_fingerprints_are_refused(value):
    with pytest.raises(SourceError, match="key_fingerprint"):
        check_fingerprint(value)


# --------------------------------------------------------------------------
# Versions from the chosen source only; full versions match exactly
# --------------------------------------------------------------------------

LAB_MADISON = (
    " docker.io | 20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1 | http://dockhand-lab-apt:5006/docker-ce/linux/debian"
    " bookworm/stable amd64 Packages\n"
    " docker.io | 20.10.24+dfsg1-1+deb12u1+b6 | http://deb.debian.org/debian bookworm/main amd64 Packages\n")
LAB_ORIGIN = "http://dockhand-lab-apt:5006/docker-ce/linux/debian"


def test_a_full_version_matches_exactly():
    versions = ["20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"]
    assert match_version(versions, "20.10.24+dfsg1-1+deb12u1+b6") is None
    assert match_version(versions, "20.10.24+dfsg1-1+deb12u1") is None
    assert match_version(versions, "20.10.24") == versions[0]
    assert match_version(versions, "20.10.24+dfsg1") == versions[0]
    assert match_version(["5:27.3.1-1~debian.12~bookworm"], "5:27.3.1-1") is None


def test_versions_are_taken_from_the_chosen_source_only():
    assert parse_apt_versions(LAB_MADISON, LAB_ORIGIN) == ["20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"]
    assert parse_apt_versions(LAB_MADISON, LAB_ORIGIN + "/") == ["20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"]
    assert len(parse_apt_versions(LAB_MADISON)) == 2
    assert parse_dnf_versions(DNF_LIST + "docker-ce.x86_64  3:28.0.0-1.el9  other-repo\n", "docker-ce",
                              "docker-ce-stable")[0] == "3:27.3.1-1.el9"


def test_version_plan_fails_a_version_only_another_source_has():
    plan = version_plan(["docker.io", "containerd"], "apt", {"docker.io": LAB_MADISON},
                        "20.10.24+dfsg1-1+deb12u1+b6", LAB_ORIGIN,
                        {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"})
    assert plan["resolved"] == {}
    assert plan["missing"] == ["%s has no docker.io 20.10.24+dfsg1-1+deb12u1+b6 (it has "
                               "20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1)" % LAB_ORIGIN]


def test_version_plan_moves_a_package_installed_from_another_source():
    installed = {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6"}  # Debian's build: "20.10.24" names it too
    plan = version_plan(["docker.io", "containerd"], "apt", {"docker.io": LAB_MADISON}, "20.10.24", LAB_ORIGIN,
                        installed)
    assert plan["specs"] == ["docker.io=20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1", "containerd"]
    assert plan["moves"] == ["docker.io"] and plan["missing"] == []
    same = version_plan(["docker.io"], "apt", {"docker.io": LAB_MADISON}, "20.10.24", LAB_ORIGIN,
                        {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1"})
    assert same["moves"] == []
    dnf = version_plan(["docker-ce"], "dnf", {"docker-ce": DNF_LIST}, "27.3.1", "docker-ce-stable",
                       {"docker-ce": "3:27.3.1-1.el9"})
    assert dnf["specs"] == ["docker-ce-27.3.1-1.el9"] and dnf["moves"] == []
    assert version_plan(["docker-ce"], "apt", {}, "", None, {})["specs"] == ["docker-ce"]


# --------------------------------------------------------------------------
# What the engine packages need, and what a removal would take
# --------------------------------------------------------------------------

APT_DEPENDS = """docker.io
  PreDepends: init-system-helpers
  Depends: containerd
  Depends: runc
  Depends: lsb-base
    sysvinit-utils
init-system-helpers
 |Depends: usrmerge
  Depends: usr-is-merged
    usrmerge
containerd
  Depends: runc
runc
  Depends: libc6
usrmerge
  Depends: <perl:any>
<perl:any>
libc6:amd64
"""
APT_SIMULATION = """NOTE: This is only a simulation!
Reading package lists...
Remv docker.io [20.10.24+dfsg1-1+deb12u1+b6+dockhandlab1]
Remv containerd [1.6.20~ds1-1+b1]
Remv runc [1.1.5+ds1-1+deb12u1]
"""


def test_what_the_engine_packages_need_and_what_a_removal_takes():
    needed = parse_apt_depends(APT_DEPENDS)
    assert needed == ["docker.io", "init-system-helpers", "containerd", "runc", "usrmerge", "perl", "libc6"]
    assert parse_apt_removals(APT_SIMULATION) == ["docker.io", "containerd", "runc"]
    assert parse_apt_removals("Remv podman-docker:all [4.3]\n") == ["podman-docker"]
