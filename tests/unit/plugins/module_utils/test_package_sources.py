"""package_sources: the preset table, the distribution table, and the source files rendered for every
supported distribution, release and architecture (the RHEL family and Ubuntu are covered here only:
the lab runs Debian hosts)."""

import itertools

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.package_sources import (
    ARCHITECTURES,
    AUTO_CANDIDATES,
    CONFLICTS,
    DISTRIBUTIONS,
    PRESETS,
    SourceError,
    build_source,
    check_base_url,
    check_release,
    conflicting_packages,
    default_packages,
    host_target,
    key_format,
    match_version,
    package_spec,
    parse_apt_versions,
    parse_dnf_versions,
    parse_os_release,
    probe_path,
    resolve_candidates,
    resolve_mirror,
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
