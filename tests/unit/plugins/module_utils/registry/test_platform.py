"""Platforms: a task's value normalised as Docker reads it, and whether an image is of one."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.registry.platform import (
    image_is_of,
    normalise_platform,
    platform_matches,
)


@pytest.mark.parametrize("value, expected", [
    ("linux/amd64", "linux/amd64"),
    ("Linux/AMD64", "linux/amd64"),
    ("linux/x86_64", "linux/amd64"),
    ("linux/aarch64", "linux/arm64"),
    ("linux/arm64/v8", "linux/arm64/v8"),
    ("arm64", "linux/arm64"),  # an architecture alone is Linux's
    ("windows", "windows"),
    (" linux/arm/v7 ", "linux/arm/v7"),
])
def test_normalise(value, expected):
    assert normalise_platform(value) == expected


@pytest.mark.parametrize("value", ["", "linux/", "linux/arm64/v8/x", "linux amd64", "linux/amd64;rm", True, "/amd64"])
def test_normalise_refuses(value):
    with pytest.raises(ValueError, match="is not a platform os"):
        normalise_platform(value)


@pytest.mark.parametrize("wanted, os_name, arch, variant, matches", [
    ("linux", "linux", "amd64", None, True),
    ("linux/amd64", "linux", "amd64", None, True),
    ("linux/amd64", "linux", "x86_64", None, True),
    ("linux/arm64", "linux", "amd64", None, False),
    ("linux/arm64/v8", "linux", "arm64", None, True),  # arm64's default variant
    ("linux/arm64/v8", "linux", "arm64", "v8", True),
    ("linux/arm/v7", "linux", "arm", "v6", False),
    ("windows/amd64", "linux", "amd64", None, False),
    ("linux/amd64", None, "amd64", None, True),  # an image without an OS is Linux's
])
def test_platform_matches(wanted, os_name, arch, variant, matches):
    assert platform_matches(wanted, os_name, arch, variant) is matches


def test_image_is_of():
    arm = {"Os": "linux", "Architecture": "arm64", "Variant": "v8"}
    assert image_is_of(arm, "linux/arm64") and image_is_of(arm, "linux/arm64/v8")
    assert not image_is_of(arm, "linux/amd64")
    assert image_is_of(arm, None) and image_is_of(None, "linux/amd64")  # no platform asked, no image to judge
