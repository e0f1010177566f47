# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building an image through POST /build: the options (checked), their hash, the build stream, a failure in words.

A built image carries the label ``dockhand.build.hash``: the sha256 of the context's content and of the
options that shape the image. A build is due only when the image under the name lacks that hash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import (
    KIND_HTTP,
    KIND_STREAM,
    EngineError,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.registry.build_context import (
    BuildContextError,
    check_dockerfile,
    context_digest,
    context_entries,
    options_digest,
    write_context_tar,
)

HASH_LABEL = "dockhand.build.hash"
BUILD_TIMEOUT = 3600  # per chunk of the stream: a RUN step may print nothing for a long while

BUILD_SPEC = {
    "path": {"type": "path", "required": True},
    "dockerfile": {"type": "str", "default": "Dockerfile"},
    "args": {"type": "dict", "default": {}},
    "target": {"type": "str"},
    "labels": {"type": "dict", "default": {}},
    "pull": {"type": "bool", "default": False},
    "nocache": {"type": "bool", "default": False},
    "network": {"type": "str"},
    "platform": {"type": "str"},
}

_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_NETWORK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_PLATFORM = re.compile(r"[a-z0-9_]+/[a-z0-9_]+(?:/[a-z0-9_.]+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STEP = re.compile(r"Step \d+/\d+ : .*")
_REMOVING = "Removing intermediate container"  # the builder's clean-up, not what failed


def _text(value, option):
    if isinstance(value, (dict, list)):
        raise BuildContextError("%s must be a string, number or boolean, not a %s" % (option, type(value).__name__))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def check_build_options(build):
    """The build options as the hash and the engine take them; raises BuildContextError naming the option."""
    if not build:
        raise BuildContextError("source=build needs build.path, the context directory on the host")
    options = {"dockerfile": check_dockerfile(build.get("dockerfile")), "args": {}, "labels": {},
               "target": build.get("target") or None, "pull": bool(build.get("pull")),
               "nocache": bool(build.get("nocache")), "network": build.get("network") or None,
               "platform": build.get("platform") or None}
    for name, value in sorted((build.get("args") or {}).items()):
        if not _ARG_NAME.fullmatch(str(name)):
            raise BuildContextError("build.args: %r is not a build argument name (letters, digits and _, not "
                                    "starting with a digit)" % name)
        text = _text(value, "build.args.%s" % name)
        if _CONTROL.search(text):
            raise BuildContextError("build.args.%s holds a control character (a newline?); give a one-line value"
                                    % name)
        options["args"][name] = text
    for key, value in sorted((build.get("labels") or {}).items()):
        if not _LABEL_KEY.fullmatch(str(key)):
            raise BuildContextError("build.labels: %r is not a label key (letters, digits, '.', '_', '/' and '-', "
                                    "starting with a letter or digit)" % key)
        if key == HASH_LABEL:
            raise BuildContextError("build.labels: %s is set by the module itself (the build's hash); remove it"
                                    % HASH_LABEL)
        text = _text(value, "build.labels.%s" % key)
        if _CONTROL.search(text):
            raise BuildContextError("build.labels.%s holds a control character; give a one-line value" % key)
        options["labels"][key] = text
    for option, pattern, example in (("target", _TARGET, "a stage name of the Dockerfile, such as runtime"),
                                     ("network", _NETWORK, "host, none, default or a network's name"),
                                     ("platform", _PLATFORM, "linux/amd64 or linux/arm64/v8")):
        value = options[option]
        if value is not None and not pattern.fullmatch(value):
            raise BuildContextError("build.%s %r is not valid; give %s" % (option, value, example))
    return options


def plan_build(build):
    """``(options, entries, hash)`` for a build: reads the context directory, builds nothing."""
    options = check_build_options(build)
    root = build["path"]
    entries = context_entries(root, options["dockerfile"])
    context = context_digest(root, entries)
    return options, entries, options_digest(context, options)


def build_params(name, options, build_hash):
    """The query of POST /build."""
    labels = dict(options["labels"])
    labels[HASH_LABEL] = build_hash
    params = {"t": name, "dockerfile": options["dockerfile"], "labels": labels, "rm": True, "forcerm": True,
              "pull": options["pull"], "nocache": options["nocache"]}
    if options["args"]:
        params["buildargs"] = options["args"]
    for option, key in (("target", "target"), ("network", "networkmode"), ("platform", "platform")):
        if options[option]:
            params[key] = options[option]
    return params


class BuildLog:
    """The build stream, as it goes: the output lines, the step being run, the image ID the builder made."""

    def __init__(self):
        self.lines = []
        self.step = None
        self.image_id = None

    def feed(self, obj):
        if not isinstance(obj, dict):
            return
        text = obj.get("stream")
        if isinstance(text, str):
            for raw in text.splitlines():
                line = raw.strip()
                if not line:
                    continue
                self.lines.append(line)
                if _STEP.fullmatch(line):
                    self.step = line
        aux = obj.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]

    def tail(self, count=10):
        return self.lines[-count:]

    def failure(self, name, path, said):
        """A failed build's message: the builder's own words, the step, the last lines of output."""
        message = "cannot build image %s from build.path %s: %s" % (name, path, said.strip().rstrip("."))
        if self.step:
            message += " (at %s)" % self.step
        output = [line for line in self.tail(6) if line != self.step and not line.startswith(_REMOVING)]
        if output:
            message += ". Last output: %s" % " | ".join(output)
        return message + "."


def run_build(client, name, path, entries, params, log):
    """POST /build with the context's tar; feeds ``log``; returns the built image's ID.

    Raises BuildContextError with the builder's message when the build fails.
    """
    context = write_context_tar(path, entries)
    try:
        for obj in client.stream("POST", "/build", params=params, body=context, timeout=BUILD_TIMEOUT,
                                 headers={"Content-Type": "application/x-tar"}):
            log.feed(obj)
    except EngineError as exc:
        # never str(exc): it names the request, whose query holds the build args (a token passed as one)
        said = exc.daemon_message or exc.message
        if exc.kind not in (KIND_STREAM, KIND_HTTP):
            said = "%s (POST /build at %s)" % (exc.message, client.endpoint_url)
        raise BuildContextError(log.failure(name, path, said)) from None
    finally:
        context.close()
    return log.image_id
