# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Known registry mirrors, dated: the one table of presets, and the resolution of a preset's name.

A preset is data, not trust. It says which URL a mirror has for which
registry, who runs it (the tier), what it refuses (the allow-list note) and
the latest dated fact about it with its source. Whether a mirror serves the
right image from a given host is for mirror_probe to find out, each run.

``as_of`` is the date of that fact: for a serving mirror, the latest date a
cited source lists it as working; for a stopped one, the date it stopped. A
date is ``YYYY-MM-DD``, or ``YYYY-MM`` where the source gives a month only.

A URL with ``<...>`` in it is a pattern (an account-bound or self-hosted
mirror has no URL that fits everyone): its name is refused with the pattern,
so the user gives their own URL.

Standard library only; no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

TIERS = {
    "public-interest": "run by a university or a non-profit as a free public service",
    "commercial": "run by a company or a person as a free public service, without a service-level promise",
    "cloud": "bound to a cloud account, or reachable only from inside that cloud's network",
    "self-hosted": "a registry you run yourself",
}
SERVING = "serving"
STOPPED = "stopped"
STATUSES = (SERVING, STOPPED)

NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")
DATE_RE = re.compile(r"(?P<year>20[0-9]{2})-(?P<month>0[1-9]|1[0-2])(-(?P<day>0[1-9]|[12][0-9]|3[01]))?")

# Sources cited below (all public; the date in brackets is the one each gives).
_CHSRC_STOPS = ("chsrc, src/recipe/ware/Docker-Hub/README.md: USTC and SJTUG stopped serving Docker Hub on "
                "2024-06-06, NJU on 2024-06-07")
_RODERT_2026_09 = ("github.com/Rodert/dockerhub README, its list of Docker Hub mirrors usable in China, paid, "
                   "intranet-only and dead ones excluded [2026-09]")

# The table. Order: serving mirrors first (the ones a name resolves to), then stopped ones.
PRESETS = (
    {
        "name": "1ms",
        "title": "1ms.run (Haomiao mirror)",
        "tier": "commercial",
        "status": SERVING,
        "serves": {"docker.io": "https://docker.1ms.run"},
        "allow_list": "",
        "as_of": "2026-09",
        "source": _RODERT_2026_09 + "; LinuxMirrors DockerInstallation.sh lists it first, as recommended "
                                    "[Modified: 2025-08-07]",
    },
    {
        "name": "1panel",
        "title": "1Panel mirror (FIT2CLOUD)",
        "tier": "commercial",
        "status": SERVING,
        "serves": {"docker.io": "https://docker.1panel.live"},
        "allow_list": "",
        "as_of": "2026-09",
        "source": _RODERT_2026_09 + "; chsrc src/recipe/ware/Docker-Hub/Docker-Hub.c [sources last updated "
                                    "2025-07-14]",
    },
    {
        "name": "daocloud",
        "title": "DaoCloud public-image-mirror",
        "tier": "commercial",
        "status": SERVING,
        "serves": {
            "docker.io": "https://docker.m.daocloud.io",
            "gcr.io": "https://gcr.m.daocloud.io",
            "ghcr.io": "https://ghcr.m.daocloud.io",
            "k8s.gcr.io": "https://k8s-gcr.m.daocloud.io",
            "registry.k8s.io": "https://k8s.m.daocloud.io",
            "mcr.microsoft.com": "https://mcr.m.daocloud.io",
            "nvcr.io": "https://nvcr.m.daocloud.io",
            "quay.io": "https://quay.m.daocloud.io",
            "docker.elastic.co": "https://elastic.m.daocloud.io",
        },
        "allow_list": "allow-list, rate limits and degradation under load (public-image-mirror issue #2328); "
                      "tags may lag upstream by up to an hour (its README)",
        "as_of": "2026-09",
        "source": _RODERT_2026_09 + "; registries per the DaoCloud/public-image-mirror README; chsrc "
                                    "Docker-Hub.c [2025-07-14]",
    },
    {
        "name": "dockerproxy",
        "title": "Docker Proxy (dockerproxy.net)",
        "tier": "commercial",
        "status": SERVING,
        "serves": {"docker.io": "https://dockerproxy.net"},
        "allow_list": "",
        "as_of": "2026-09",
        "source": _RODERT_2026_09 + "; LinuxMirrors DockerInstallation.sh [Modified: 2025-08-07]",
    },
    {
        "name": "google",
        "title": "Google mirror.gcr.io (Artifact Registry's Docker Hub cache)",
        "tier": "commercial",
        "status": SERVING,
        "serves": {"docker.io": "https://mirror.gcr.io"},
        "allow_list": "caches frequently pulled public images only; for others the client goes on to the next "
                      "mirror or to Docker Hub",
        "as_of": "2024-12-21",
        "source": "Google Cloud documentation, \"Pulling cached Docker Hub images\" [last updated 2024-12-21]",
    },
    {
        "name": "tencent",
        "title": "Tencent Cloud Docker Hub mirror",
        "tier": "cloud",
        "status": SERVING,
        "serves": {"docker.io": "https://mirror.ccs.tencentyun.com"},
        "allow_list": "answers hosts inside Tencent Cloud only",
        "as_of": "2025-08-07",
        "source": "LinuxMirrors DockerInstallation.sh, registry list [Modified: 2025-08-07]",
    },
    {
        "name": "aliyun",
        "title": "Alibaba Cloud Container Registry accelerator",
        "tier": "cloud",
        "status": SERVING,
        "serves": {"docker.io": "https://<your accelerator id>.mirror.aliyuncs.com"},
        "allow_list": "a URL per Alibaba Cloud account (from the Container Registry console); freshness of "
                      "Docker Hub images not promised",
        "as_of": "2022-08-29",
        "source": "Alibaba Cloud Container Registry staff on docker-practice/docker-registry-cn-mirror-test#1: "
                  "the accelerator serves, freshness of Docker Hub images is not promised [2022-08-29]",
    },
    {
        "name": "registry-cache",
        "title": "dockhand.runtime.registry_cache (a pull-through cache on one of your hosts)",
        "tier": "self-hosted",
        "status": SERVING,
        "serves": {"docker.io": "http://<cache host>:5000"},
        "allow_list": "",
        "as_of": "2026-11-28",
        "source": "this collection's registry_cache role and its lab test, "
                  "tests/integration/test_registry_cache.py [2026-11-28]",
    },
    {
        "name": "ustc",
        "title": "USTC LUG Docker Hub mirror",
        "tier": "public-interest",
        "status": STOPPED,
        "serves": {"docker.io": "https://docker.mirrors.ustc.edu.cn"},
        "allow_list": "campus only since 2020 (off-campus requests redirected, then refused with 403 from "
                      "2022-08-24, per its help page)",
        "as_of": "2024-06-06",
        "source": _CHSRC_STOPS,
    },
    {
        "name": "sjtug",
        "title": "SJTUG Docker Hub mirror",
        "tier": "public-interest",
        "status": STOPPED,
        "serves": {"docker.io": "https://docker.mirrors.sjtug.sjtu.edu.cn"},
        "allow_list": "served images older than Docker Hub's in 2023 (sjtug/mirror-requests#311)",
        "as_of": "2024-06-06",
        "source": _CHSRC_STOPS,
    },
    {
        "name": "nju",
        "title": "NJU Docker Hub mirror",
        "tier": "public-interest",
        "status": STOPPED,
        "serves": {"docker.io": "https://docker.nju.edu.cn"},
        "allow_list": "",
        "as_of": "2024-06-07",
        "source": _CHSRC_STOPS,
    },
    {
        "name": "qiniu",
        "title": "Qiniu Docker Hub mirror",
        "tier": "commercial",
        "status": STOPPED,
        "serves": {"docker.io": "https://reg-mirror.qiniu.com"},
        "allow_list": "",
        "as_of": "2020-05-30",
        "source": "docker-practice/docker-registry-cn-mirror-test#3, a comment of 2020-05-11: the service stops on "
                  "5.30 [2020-05-30]",
    },
    {
        "name": "docker-cn",
        "title": "Docker's China mirror (registry.docker-cn.com)",
        "tier": "commercial",
        "status": STOPPED,
        "serves": {"docker.io": "https://registry.docker-cn.com"},
        "allow_list": "",
        "as_of": "2019-04-17",
        "source": "easzlab/kubeasz#514 removes it as no longer working [2019-04-17]; docker/docs#8793 "
                  "[2019-05-12]",
    },
)

PRESETS_BY_NAME = {preset["name"]: preset for preset in PRESETS}


class PresetError(ValueError):
    """A preset name that cannot be used as given; the message says why and what to write instead."""


def is_template(url):
    """Whether a preset's URL is a pattern with a part for the user to fill in (``<...>``)."""
    return "<" in url


def looks_like_name(value):
    """Whether ``value`` is written as a preset name (letters, digits, '-' and '_'; no dot, colon or slash).

    A URL, a host name (``mirror.lan``) and ``host:port`` are not names: they
    go on to the URL checks, which say what is wrong with them.
    """
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", value) is not None


def serving_names(registry=None):
    """Names of the serving presets with a URL of their own (for ``registry`` when given)."""
    return [p["name"] for p in PRESETS if p["status"] == SERVING
            and any(not is_template(url) and (registry is None or reg == registry)
                    for reg, url in p["serves"].items())]


def _suggest(value):
    close = difflib.get_close_matches(value.lower(), list(PRESETS_BY_NAME), n=1, cutoff=0.6)
    return " (did you mean %s?)" % close[0] if close else ""


def resolve(value, registry="docker.io", label="mirror"):
    """The URL a preset name stands for, for ``registry``; None when ``value`` is not written as a name.

    Raises PresetError for an unknown name, a stopped mirror (with the date
    and the source of that fact), a pattern URL (account-bound or
    self-hosted), or a mirror that does not serve ``registry``.
    """
    if not looks_like_name(value):
        return None
    preset = PRESETS_BY_NAME.get(value)
    if preset is None:
        raise PresetError("%s: %r is neither a URL nor a known preset%s; write a URL with http:// or https://, "
                          "or one of the presets: %s" % (label, value, _suggest(value), ", ".join(serving_names())))
    name = preset["name"]
    if preset["status"] == STOPPED:
        others = serving_names(registry)
        raise PresetError("%s: the preset %s (%s) stopped serving on %s (%s); remove it%s"
                          % (label, name, preset["title"], preset["as_of"], preset["source"],
                             ", or use one of %s" % ", ".join(others) if others else ""))
    url = preset["serves"].get(registry)
    if url is None:
        others = serving_names(registry)
        raise PresetError("%s: the preset %s serves %s, not %s%s"
                          % (label, name, ", ".join(sorted(preset["serves"])), registry,
                             "; presets that serve %s: %s" % (registry, ", ".join(others)) if others
                             else "; no preset serves %s, give a URL" % registry))
    if is_template(url):
        raise PresetError("%s: the preset %s (%s, %s) has no URL that fits everyone: give your own URL, of the "
                          "form %s" % (label, name, preset["title"], preset["tier"], url))
    return url


def stopped_preset(url):
    """The stopped preset whose URL is ``url`` (compared without a trailing slash, case aside), or None."""
    if not isinstance(url, str):
        return None
    wanted = url.strip().rstrip("/").lower()
    for preset in PRESETS:
        if preset["status"] == STOPPED and any(u.rstrip("/").lower() == wanted for u in preset["serves"].values()):
            return preset
    return None


def stopped_note(url):
    """A sentence for a URL that belongs to a stopped preset ('... stopped serving on ...'), or None."""
    preset = stopped_preset(url)
    if preset is None:
        return None
    return "%s is %s (preset %s), which stopped serving on %s (%s)" % (
        url, preset["title"], preset["name"], preset["as_of"], preset["source"])
