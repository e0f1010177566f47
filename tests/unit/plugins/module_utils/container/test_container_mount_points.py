"""A container path is mounted once across volumes and mounts: refused before anything is created."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container import options as co


@pytest.mark.parametrize("params, message", [
    ({"volumes": ["/etc:/tmp", "/home:/tmp:ro"]}, 'The mount point "/tmp" appears twice in the volumes option'),
    ({"volumes": ["/srv:/data", "/data"]}, 'The mount point "/data" appears twice in the volumes option'),
    ({"mounts": [{"source": "/home", "target": "/x", "type": "bind"},
                 {"source": "/etc", "target": "/x", "type": "bind"}]},
     'The mount point "/x" appears twice in the mounts option'),
    ({"mounts": [{"source": "/tmp", "target": "/tmp", "type": "bind"}], "volumes": ["/tmp:/tmp"]},
     'The mount point "/tmp" appears both in the volumes and mounts option'),
])
def test_a_path_mounted_twice_is_refused_naming_the_option(params, message):
    with pytest.raises(co.OptionError) as caught:
        co.parse_options(params)
    assert str(caught.value) == message


def test_distinct_paths_pass():
    wanted = co.parse_options({"volumes": ["/srv:/data", "/cache"], "mounts": [{"target": "/tmp", "type": "tmpfs"}]})
    assert co.volume_targets(wanted["volumes"]) == ["/data", "/cache"]
