"""image_info's name lookup: IDs as they are, references normalised, bad names refused naming the option."""

import pytest

from ansible_collections.dockhand.runtime.plugins.modules.image_info import ImageNameError, lookup_name

HEX = "0123456789abcdef" * 4


def test_ids_and_references():
    assert lookup_name("sha256:" + HEX) == "sha256:" + HEX
    assert lookup_name(HEX) == "sha256:" + HEX
    assert lookup_name("busybox") == "docker.io/library/busybox:latest"
    assert lookup_name("127.0.0.1:5000/app:1") == "127.0.0.1:5000/app:1"


@pytest.mark.parametrize("value", ["Bad Name", "busybox:\n", "", "app@sha256:short", "team/App:1"])
def test_bad_names_are_refused_naming_the_option(value):
    with pytest.raises(ImageNameError, match="^name: "):
        lookup_name(value)
