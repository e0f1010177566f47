"""image_label_mismatch=fail: the refusal in community.docker's words, each label quoted."""

from ansible_collections.dockhand.runtime.plugins.module_utils.container.task import image_labels_message


def test_the_labels_are_listed_quoted():
    assert image_labels_message(["img_label"]) == (
        "Some labels should be removed but are present in the base image. You can set image_label_mismatch to "
        "'ignore' to ignore this error. Labels: \"img_label\"")
    assert image_labels_message(["a", "b"]).endswith('Labels: "a", "b"')
