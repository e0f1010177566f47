# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A network's IPAM config, validated strictly before anything is created (the network module, compose). Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress


class InvalidInput(Exception):
    """An IPAM value the engine would refuse or misread; the message names it."""


def _network(value, where):
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise InvalidInput("%s %r is not a subnet in CIDR form such as 172.28.0.0/16: %s"
                               % (where, value, exc)) from None
        raise InvalidInput("%s %r has host bits set; write %s" % (where, value, loose)) from None


def _address(value, where):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise InvalidInput("%s %r is not an IP address" % (where, value)) from None


def wanted_ipam(entries, option="ipam_config", iprange_key="iprange"):
    """The IPAM config entries (``option`` names them in messages; ``iprange_key`` is the IP range's key: compose
    calls it ip_range), validated and normalised: [{subnet, gateway?, iprange?, aux_addresses?}]."""
    wanted = []
    for index, entry in enumerate(entries or []):
        where = "%s[%d]" % (option, index)
        if not isinstance(entry.get("subnet"), str):
            raise InvalidInput("%s.subnet: give the subnet in CIDR form such as 172.28.0.0/16, not %r"
                               % (where, entry.get("subnet")))
        subnet = _network(entry["subnet"], where + ".subnet")
        item = {"subnet": str(subnet)}
        if entry.get("gateway"):
            gateway = _address(entry["gateway"], where + ".gateway")
            if gateway not in subnet:
                raise InvalidInput("%s.gateway %s is outside the subnet %s" % (where, gateway, subnet))
            item["gateway"] = str(gateway)
        if entry.get(iprange_key):
            iprange = _network(entry[iprange_key], "%s.%s" % (where, iprange_key))
            if iprange.version != subnet.version or not iprange.subnet_of(subnet):
                raise InvalidInput("%s.%s %s is not inside the subnet %s" % (where, iprange_key, iprange, subnet))
            item["iprange"] = str(iprange)
        if entry.get("aux_addresses") is not None:
            aux = {}
            for name, value in entry["aux_addresses"].items():
                address = _address(value, "%s.aux_addresses.%s" % (where, name))
                if address not in subnet:
                    raise InvalidInput("%s.aux_addresses.%s %s is outside the subnet %s"
                                       % (where, name, address, subnet))
                aux[str(name)] = str(address)
            item["aux_addresses"] = aux
        wanted.append(item)
    subnets = [ipaddress.ip_network(item["subnet"]) for item in wanted]
    for i, first in enumerate(subnets):
        for second in subnets[i + 1:]:
            if first.version == second.version and first.overlaps(second):
                raise InvalidInput("%s: the subnets %s and %s overlap" % (option, first, second))
    return wanted
