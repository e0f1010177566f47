"""detach false: the output sits in the result's container under Output, also once the container is gone."""

from ansible_collections.dockhand.runtime.plugins.module_utils.container.task import (
    AUTO_REMOVED_OUTPUT,
    attached_container,
)


def test_output_joins_the_container():
    assert attached_container({"Id": "c", "State": {"ExitCode": 42}}, "") == {
        "Id": "c", "State": {"ExitCode": 42}, "Output": ""}


def test_a_removed_container_still_has_its_output():
    assert attached_container(None, AUTO_REMOVED_OUTPUT) == {"Output": AUTO_REMOVED_OUTPUT}
    assert AUTO_REMOVED_OUTPUT == "Cannot retrieve result as auto_remove is enabled"
