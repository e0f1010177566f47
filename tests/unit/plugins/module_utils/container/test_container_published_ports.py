"""published_ports as community.docker takes them: a host port range for one container port, an IPv6 zone; and
the host-port check before a recreate, which only a port in use fails."""

import socket

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container import engine as ce
from ansible_collections.dockhand.runtime.plugins.module_utils.container import options as co


def test_a_host_range_for_one_container_port_is_left_to_the_engine():
    assert co.parse_published_ports(["9010-9050:9010"]) == {"9010/tcp": [{"HostIp": "", "HostPort": "9010-9050"}]}
    assert ce.wanted_host_ports({"9010/tcp": [{"HostIp": "", "HostPort": "9010-9050"}],
                                 "80/tcp": [{"HostIp": "", "HostPort": "8080"}]}) == {(8080, "tcp", "")}


def test_ranges_of_different_lengths_are_still_refused():
    with pytest.raises(co.OptionError, match="different lengths"):
        co.parse_published_ports(["9010-9050:9010-9011"])


def test_an_ipv6_address_may_name_its_zone():
    assert co.parse_published_ports(["[fe80::1%eth0]:90:90/tcp"]) == {
        "90/tcp": [{"HostIp": "fe80::1%eth0", "HostPort": "90"}]}


@pytest.mark.parametrize("text", ["[fe80::1%]:90:90", "[fe80::1%a b]:90:90", "[fe80::1%x%y]:90:90", "1.2.3.4%x:90:90"])
def test_a_bad_zone_is_refused(text):
    with pytest.raises(co.OptionError, match="is not an IP address"):
        co.parse_published_ports([text])


def test_only_a_port_in_use_counts_as_taken():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        assert ce.bind_free("127.0.0.1", port, "tcp") is False
        assert ce.bind_free("192.0.2.1", port, "tcp") is True  # TEST-NET-1: an address this host lacks
    finally:
        listener.close()


def test_an_explicit_any_ipv4_address_is_kept():
    """0.0.0.0 binds IPv4 only; "" binds [::] as well (dockerd 20.10 here), so 0.0.0.0 must reach the engine as
    written, and a container bound to "" differs from a task that asks for 0.0.0.0."""
    wanted = co.parse_published_ports(["0.0.0.0:8080:80"])
    assert wanted == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
    assert not co.same_bindings(wanted, {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}, {}, {})
    assert co.same_bindings(wanted, {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}, {}, {})
    assert co.parse_published_ports(["8080:80"]) == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


@pytest.mark.parametrize("text,message", [
    ("[::1:2000:3000", 'Cannot find closing "]" in input "[::1:2000:3000" for opening "[" at index 1!'),
    ("::1:2000:3000", 'Invalid port description "::1:2000:3000" - expected 1 to 3 colon-separated parts, but got 5. '
                      "Maybe you forgot to use square brackets ([...]) around an IPv6 address?"),
    ("foo:2000:3000", "Bind addresses for published ports must be IPv4 or IPv6 addresses, not hostnames. Use the dig "
                      "lookup to resolve hostnames. (Found hostname: foo)"),
])
def test_ports_community_docker_refuses_fail_in_its_words_without_a_prefix(text, message):
    with pytest.raises(co.OptionError) as refused:
        co.parse_options({"published_ports": [text]})
    assert str(refused.value) == message


def test_other_bad_ports_name_the_option():
    with pytest.raises(co.OptionError, match=r"^published_ports: host IP in '300\.1\.1\.1:80:80'"):
        co.parse_options({"published_ports": ["300.1.1.1:80:80"]})
