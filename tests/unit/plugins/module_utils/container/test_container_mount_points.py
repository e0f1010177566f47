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


def test_a_path_with_a_mode_and_no_source_is_a_volume_at_that_path_with_a_warning():
    """community.docker passes /anon:rw on whole (the engine makes a volume at "/anon:rw"); so does this module,
    and it says so."""
    wanted = co.parse_options({"volumes": ["/tmp:/tmp", "/anon:rw"]})
    assert wanted["volumes"] == {"binds": ["/tmp:/tmp"], "anonymous": ["/anon:rw"]}
    assert co.caveats(wanted, {}) == [
        "volumes: /anon:rw is an anonymous volume at the container path written whole (community.docker passes it "
        "on so, and the engine takes it); write /anon for a volume at /anon, or give it a source"]
    assert co.caveats(co.parse_options({"volumes": ["/anon"]}), {}) == []
    with pytest.raises(co.OptionError, match="unknown mode"):
        co.parse_options({"volumes": ["/data:/x:sometimes"]})


@pytest.mark.parametrize("driver", ["local", "/", "vieux/sshfs:latest", ""])
def test_volume_drivers_the_engine_takes(driver):
    assert co.parse_options({"volume_driver": driver})["volume_driver"] == driver


@pytest.mark.parametrize("driver", ["a b", "loc\nal", True])
def test_volume_drivers_with_spaces_or_newlines_are_refused(driver):
    with pytest.raises(co.OptionError, match="^volume_driver: "):
        co.parse_options({"volume_driver": driver})
