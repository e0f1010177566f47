# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How each option of a task is compared with the container: community.docker's ``comparisons``.

Each option is compared in one of three modes:

- ``strict``: the container's value must be the task's (the table's compare);
- ``ignore``: the option never causes a change;
- ``allow_more_present`` (lists, sets and dicts only): the container may hold
  more than the task asks (more list items, more keys), but everything the
  task asks must be there, with the same value (and, in an ordered list, in
  the same order).

The default mode of an option is community.docker's: ``strict`` for single
values and for the ordered lists (``command``, ``entrypoint``, ``dns_servers``,
``dns_search_domains``), ``allow_more_present`` for sets and dicts, and
``ignore`` for ``stop_timeout``. A task's ``comparisons`` overrides them per
option; its ``*`` key sets every option it does not name to ``strict`` or
``ignore``. ``image`` (whether a new image recreates the container) takes
``strict`` or ``ignore``. Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import (
    ALIASES,
    OPTIONS,
    OPTIONS_BY_NAME,
    OptionError,
    _bind_key,
    _bindings_set,
    _mount_key,
    _normal_device_request,
    env_list_to_dict,
    expected_env,
    expected_labels,
    expected_network_names,
    networks_as_asked,
    normalize_capability,
)

MODES = ("strict", "ignore", "allow_more_present")
WILDCARD = "*"
IMAGE = "image"

# Ordered lists: the order is part of the value, so more items are a difference too.
_ORDERED = ("command", "entrypoint", "dns_servers", "dns_search_domains", "device_cgroup_rules")
# Options whose difference community.docker never acts on unless told to.
_IGNORED_BY_DEFAULT = ("stop_timeout",)


def kind(option):
    """'value', 'list', 'set' or 'dict': what a comparison can make of the option's value."""
    if option.name in _ORDERED:
        return "list"
    if option.type == "dict":
        return "dict"
    if option.type == "list":
        return "set"
    return "value"


def default_mode(option):
    if option.name in _IGNORED_BY_DEFAULT:
        return "ignore"
    return "allow_more_present" if kind(option) in ("set", "dict") else "strict"


def parse_comparisons(value):
    """{option or 'image': mode} for every option of the table and the image, from a task's ``comparisons``.

    Raises OptionError naming ``comparisons`` and what to change.
    """
    value = value or {}
    if not isinstance(value, dict):
        raise OptionError("comparisons: must be a dict of option names to strict, ignore or allow_more_present")
    wildcard = value.get(WILDCARD)
    if wildcard is not None and wildcard not in ("strict", "ignore"):
        raise OptionError("comparisons: '*' takes strict or ignore, not %r" % (wildcard,))
    value = {ALIASES.get(name, name): mode for name, mode in value.items()}  # ports, expose, log_opt, ...
    for name, mode in value.items():
        if name == WILDCARD:
            continue
        if name != IMAGE and name not in OPTIONS_BY_NAME:
            raise OptionError("comparisons: %r is not an option the container is compared by; use the name of an "
                              "option such as env, labels or networks, or image, or '*'" % (name,))
        if mode not in MODES:
            raise OptionError("comparisons: %s takes strict, ignore or allow_more_present, not %r" % (name, mode))
        if mode == "allow_more_present" and (name == IMAGE or kind(OPTIONS_BY_NAME[name]) == "value"):
            raise OptionError("comparisons: %s is a single value; allow_more_present is for lists, sets and dicts "
                              "only: use strict or ignore" % name)
    modes = {IMAGE: value.get(IMAGE, wildcard or "strict")}
    for option in OPTIONS:
        modes[option.name] = value.get(option.name, wildcard or default_mode(option))
    return modes


# --------------------------------------------------------------------------
# allow_more_present: (wanted, current, image_config, wanted_all) -> does the container hold all the task asks?
# --------------------------------------------------------------------------

def _items_within(wanted, current):
    current = current or {}
    return all(key in current and current[key] == value for key, value in (wanted or {}).items())


def _canonical(item):
    """A hashable form of a list item, nested dicts and lists included."""
    return json.dumps(item, sort_keys=True, default=str)


def _within(wanted, current):
    return {_canonical(item) for item in wanted or ()} <= {_canonical(item) for item in current or ()}


def more_env(wanted, current, image, _wanted_all):
    return _items_within(expected_env(wanted, image), env_list_to_dict(current))


def more_labels(wanted, current, image, _wanted_all):
    """The image's labels overlaid with the task's are all there, with their values (a label the task no longer
    overrides goes back to the image's value)."""
    return _items_within(expected_labels(wanted, image), current)


def more_capabilities(wanted, current, _image, _wanted_all):
    return set(wanted) <= {normalize_capability(cap) for cap in current or ()}


def more_published(wanted, current, _image, _wanted_all):
    return _bindings_set(wanted) <= _bindings_set(current)


def more_exposed(wanted, current, _image, wanted_all):
    return (set(wanted) | set(wanted_all.get("published_ports") or {})) <= set(current or {})


def more_volumes(wanted, current, _image, _wanted_all):
    return ({_bind_key(bind) for bind in wanted["binds"]} <= {_bind_key(bind) for bind in current["binds"]}
            and set(wanted["anonymous"]) <= set(current["anonymous"]))


def more_mounts(wanted, current, _image, _wanted_all):
    return {_mount_key(mount) for mount in wanted} <= {_mount_key(mount) for mount in current or []}


def more_networks(wanted, current, _image, wanted_all):
    """On every network the task lists, with what it asks there; other networks may be there too."""
    return expected_network_names(wanted, wanted_all) <= set(current) and networks_as_asked(wanted, current)


def _in_order_within(wanted, current):
    """Every item of ``wanted`` is in ``current``, in the same order (other items may come between)."""
    rest = iter(_canonical(item) for item in current or ())
    return all(any(item == other for other in rest) for item in (_canonical(item) for item in wanted or ()))


def more_device_requests(wanted, current, _image, _wanted_all):
    return {_normal_device_request(request) for request in wanted} <= {
        _normal_device_request(request) for request in current or []}


def more_generic(option):
    """The allow_more_present compare of an option with no rule of its own, by its kind and value."""
    def compare(wanted, current, _image, _wanted_all):
        if kind(option) == "list":
            return _in_order_within(wanted, current)
        if isinstance(wanted, dict):
            return _items_within(wanted, current)
        return _within(wanted, current)  # strings, or dicts (ulimits, devices) compared whole
    compare.__name__ = "more_" + option.name
    return compare


MORE = {
    "env": more_env,
    "labels": more_labels,
    "capabilities": more_capabilities,
    "cap_drop": more_capabilities,
    "published_ports": more_published,
    "exposed_ports": more_exposed,
    "volumes": more_volumes,
    "mounts": more_mounts,
    "networks": more_networks,
    "device_requests": more_device_requests,
}


def differences(wanted, container, image_config, modes=None):
    """Names of the wanted options whose current value differs in their comparison mode, in table order."""
    image_config = image_config or {}
    modes = modes or parse_comparisons(None)
    found = []
    for option in OPTIONS:
        if option.name not in wanted:
            continue
        mode = modes.get(option.name, "strict")
        if mode == "ignore":
            continue
        compare = option.compare
        if mode == "allow_more_present":
            compare = MORE.get(option.name) or more_generic(option)
        if not compare(wanted[option.name], option.current(container), image_config, wanted):
            found.append(option.name)
    return found
