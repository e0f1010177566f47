"""container's image option: an image ID is recognised as one (looked up on the host, never pulled)."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container.task import image_id_of

HEX = "0123456789abcdef" * 4


def test_an_id_with_or_without_its_algorithm_is_an_id():
    assert image_id_of("sha256:" + HEX) == "sha256:" + HEX
    assert image_id_of(HEX) == "sha256:" + HEX


@pytest.mark.parametrize("value", ["busybox", "busybox:1.36", "sha256:" + HEX[:12], HEX[:12],
                                   "registry.example.com/app@sha256:" + HEX, "sha256:" + HEX + "\n",
                                   "sha256:" + HEX.upper(), None])
def test_names_and_short_ids_are_not(value):
    assert image_id_of(value) is None
