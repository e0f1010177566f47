# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets never show: one rule for every module's results, diffs, errors and -vvv output.

A value is secret when the key that holds it names a secret (:data:`SECRET_WORDS`
anywhere in the name, any case: ``DB_PASS``, ``AWS_CREDENTIALS``, ``splunk-token``),
or when it is the user-information part of a URL (``https://user:pa/ss@host``).
URL credentials are masked by pattern, before anything parses the URL, so an
error about a malformed URL cannot leak them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"
CHANGED_MASK = MASK + " (changed)"
SECRET_WORDS = ("pass", "token", "secret", "key", "credential", "auth", "private")

# scheme://userinfo@ : the userinfo runs to the last '@' before white space or a quote,
# so a password holding '/', ':' or '@' is masked whole.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s'\"<>]*)@")
# Strings shorter than this are not added to no_log_values: Ansible would mask every
# occurrence of them in the output ("1", "on"), which hides more than it protects.
_MIN_NO_LOG_LENGTH = 3


def is_secret_name(name):
    """Whether a key's name says its value is a secret."""
    lowered = str(name).lower()
    return any(word in lowered for word in SECRET_WORDS)


# HTTP headers that carry credentials without a secret-sounding name (Artifactory's API key, a session cookie).
SECRET_HEADER_WORDS = ("cookie", "session", "x-jfrog-art-api")


def is_secret_header(name):
    """Whether an HTTP header's value is a secret: a secret-sounding name, or one of SECRET_HEADER_WORDS."""
    lowered = str(name).lower()
    return is_secret_name(lowered) or any(word in lowered for word in SECRET_HEADER_WORDS)


def _mask_userinfo(match):
    userinfo = match.group("userinfo")
    if "/" in userinfo.split("@")[0].split(":")[0]:  # not userinfo: an '@' further along the path
        return match.group(0)
    user, sep, _password = userinfo.partition(":")
    return "%s%s@" % (match.group("scheme"), (user + ":" + MASK) if sep else MASK)


def mask_urls(text):
    """``text`` with the credentials of every URL in it masked (``https://user:********@host``)."""
    if not isinstance(text, str) or "@" not in text:
        return text
    return _URL_USERINFO.sub(_mask_userinfo, text)


def url_secrets(text):
    """The passwords (or lone tokens) of the URLs in ``text``, for no_log_values."""
    found = []
    if not isinstance(text, str) or "@" not in text:
        return found
    for match in _URL_USERINFO.finditer(text):
        userinfo = match.group("userinfo")
        if "/" in userinfo.split("@")[0].split(":")[0]:
            continue
        user, sep, password = userinfo.partition(":")
        secret = password if sep else user
        if secret:
            found.append(secret)
    return found


def redact(value, changed_from=None):
    """A copy of ``value`` fit to show: secret-named keys masked at any depth, URL credentials masked.

    ``changed_from`` is the other side of a diff: where a masked value differs
    from the value at the same place there, it reads ``******** (changed)``, so a
    diff shows that a secret changed without showing it.
    """
    if isinstance(value, dict):
        other = changed_from if isinstance(changed_from, dict) else {}
        shown = {}
        for key, item in value.items():
            if is_secret_name(key) and item not in (None, "", [], {}) and not isinstance(item, bool):
                differs = changed_from is not None and other.get(key) != item
                shown[key] = CHANGED_MASK if differs else MASK
            else:
                shown[key] = redact(item, other.get(key) if changed_from is not None else None)
        return shown
    if isinstance(value, (list, tuple)):
        other = changed_from if isinstance(changed_from, (list, tuple)) else []
        return [redact(item, other[index] if index < len(other) else None) for index, item in enumerate(value)]
    if isinstance(value, str):
        return mask_env_entry(mask_urls(value))
    return value


def mask_env_entry(text):
    """``NAME=value`` (an env list entry, a label, a driver option) with the value masked when NAME is secret."""
    name, sep, rest = text.partition("=")
    if sep and rest and name and " " not in name and is_secret_name(name):
        return "%s=%s" % (name, MASK)
    return text


def diff_pair(before, after):
    """(before, after) for a diff: both redacted, a changed secret marked on the after side."""
    return redact(before), redact(after, changed_from=before)


def secret_values(value, skip_keys=()):
    """Every string that :func:`redact` would hide in ``value``, for ``module.no_log_values``.

    ``skip_keys`` names top-level keys whose values are not secrets although their
    names say so (the connection options ``client_key`` and ``tls``, which are paths
    and switches).
    """
    found = set()

    def walk(item, secret, top):
        if isinstance(item, dict):
            for key, sub in item.items():
                if top and key in skip_keys:
                    continue
                walk(sub, secret or is_secret_name(key), False)
        elif isinstance(item, (list, tuple)):
            for sub in item:
                walk(sub, secret, False)
        elif isinstance(item, str):
            if secret:
                found.add(item)
            else:
                name, sep, rest = item.partition("=")
                if sep and rest and is_secret_name(name) and " " not in name:
                    found.add(rest)
            found.update(url_secrets(item))
        elif secret and isinstance(item, (int, float)) and not isinstance(item, bool):
            found.add(str(item))
    walk(value, False, True)
    return {item for item in found if len(item) >= _MIN_NO_LOG_LENGTH}


def protect(module, skip_keys=()):
    """Add every secret in the module's parameters to ``no_log_values``; call before anything can fail."""
    module.no_log_values.update(secret_values(module.params, skip_keys))


# name=value inside a longer text (mount options "addr=x,password=y", an engine's error message): the value of a
# secret-named pair, up to a comma, white space or a quote.
_SECRET_PAIR = re.compile(r"(?P<name>[A-Za-z0-9_.-]*(?:%s)[A-Za-z0-9_.-]*)=(?P<value>[^,\s'\"]+)"
                          % "|".join(SECRET_WORDS), re.IGNORECASE)


def mask_pairs(value):
    """``value`` with every secret-named ``name=value`` pair inside its strings masked, at any depth.

    For text that quotes values the module never saw as parameters, such as an
    engine's error about a volume's mount options (``...,password=s3cret: invalid argument``).
    """
    if isinstance(value, dict):
        return {key: mask_pairs(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_pairs(item) for item in value]
    if isinstance(value, str) and "=" in value:
        return _SECRET_PAIR.sub(lambda match: "%s=%s" % (match.group("name"), MASK), mask_urls(value))
    return value
