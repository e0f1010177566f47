"""Every canonical conversion of a service, and the errors with their key paths."""

import pytest

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.errors import ComposeError
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.ports import normalise_expose, normalise_ports
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.service import Context, normalise_service
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.volumes import normalise_volumes

ENV_FILES = {"/p/a.env": {"A": "from-file", "B": "file"}, "/p/b.env": {"B": "second"}}


def read_env_file(path, required, where):
    if path in ENV_FILES:
        return ENV_FILES[path]
    if required:
        raise ComposeError("the env_file %s does not exist" % path, where)
    return None


def context(**kwargs):
    options = dict(working_dir="/p", environment={"FROM_SHELL": "s"}, read_env_file=read_env_file,
                   networks=["front", "back"], volumes=["data"])
    options.update(kwargs)
    return Context(**options)


def service(body, **kwargs):
    return normalise_service("web", dict({"image": "nginx"}, **body), context(**kwargs))


def fails(body, message, **kwargs):
    with pytest.raises(ComposeError) as caught:
        service(body, **kwargs)
    assert str(caught.value) == message


def port(target, published=None, host_ip=None, protocol="tcp"):
    return {"target": target, "published": published, "host_ip": host_ip, "protocol": protocol}


@pytest.mark.parametrize(("item", "expected"), [
    (80, [port(80)]),
    ("80", [port(80)]),
    ("8080:80", [port(80, "8080")]),
    ("127.0.0.1:8080:80", [port(80, "8080", "127.0.0.1")]),
    ("127.0.0.1::80", [port(80, None, "127.0.0.1")]),
    ("53:53/udp", [port(53, "53", protocol="udp")]),
    ("[::1]:6001:6001", [port(6001, "6001", "::1")]),
    ("::1:6001:6001", [port(6001, "6001", "::1")]),
    ("8000-8001:80-81", [port(80, "8000"), port(81, "8001")]),
    ("3000-3001", [port(3000), port(3001)]),
    ("9090-9090:8080", [port(8080, "9090")]),
    ({"target": 80, "published": "8080-8080"}, [port(80, "8080")]),
    ({"target": 80, "published": 8080, "host_ip": "0.0.0.0", "protocol": "udp", "mode": "host"},
     [port(80, "8080", "0.0.0.0", "udp")]),
    ({"target": "80"}, [port(80)]),
])
def test_ports(item, expected):
    assert normalise_ports([item], ("p",)) == expected


@pytest.mark.parametrize(("item", "message"), [
    ("eighty", "p[0]: 'eighty' is not a port mapping"),
    ("0:80", "p[0]: '0' is not a port or a port range within 1-65535"),
    ("8080:70000", "p[0]: '70000' is not a port or a port range within 1-65535"),
    ("8000-8002:80-81", "p[0]: '8000-8002:80-81' maps 3 published ports to 2 container ports"),
    ("80/sctp", "p[0]: protocol 'sctp' is not supported: use tcp or udp"),
    ("8000-8010:80", "p[0]: '8000-8010:80' publishes one container port on a range of host ports, which "
                     "dockhand.runtime.compose does not support: give one host port, such as 8000:80"),
    ({"target": 80, "published": "8000-8010"},
     "p[0].published: '8000-8010' publishes one container port on a range of host ports"),
    ("80\n", "p[0]: '80\\n' is not a port mapping"),
    ({"published": 80}, "p[0]: a port in long syntax needs target"),
    ({"target": 80, "x": 1}, "p[0].x: key x is not supported in a port's long syntax"),
    ({"target": 80, "host_ip": "a b"}, "p[0].host_ip: 'a b' is not an IP address"),
    (True, "p[0]: expected a port mapping (string or mapping), got a boolean"),
])
def test_bad_ports(item, message):
    with pytest.raises(ComposeError) as caught:
        normalise_ports([item], ("p",))
    assert str(caught.value).startswith(message)


def test_expose():
    assert normalise_expose([80, "53/udp", "80", "8000-8010"], ("e",)) == ["80", "53/udp", "8000-8010"]
    with pytest.raises(ComposeError, match=r"e\[0\]: '80/sctp' is not a port"):
        normalise_expose(["80/sctp"], ("e",))


def bind(source, target, read_only=False, create=True, propagation="rprivate"):
    return {"type": "bind", "source": source, "target": target, "read_only": read_only,
            "bind": {"create_host_path": create, "propagation": propagation}}


def volume(source, target, read_only=False, nocopy=False):
    return {"type": "volume", "source": source, "target": target, "read_only": read_only,
            "volume": {"nocopy": nocopy}}


@pytest.mark.parametrize(("item", "expected"), [
    ("/data", volume(None, "/data")),
    ("/data:ro", volume(None, "/data", read_only=True)),
    ("data:/data", volume("data", "/data")),
    ("data:/data:ro", volume("data", "/data", read_only=True)),
    ("data:/data:nocopy", volume("data", "/data", nocopy=True)),
    ("./html:/usr/share/html:ro", bind("/p/html", "/usr/share/html", read_only=True)),
    ("../up:/up", bind("/up", "/up")),
    ("/etc/a:/a:ro,rshared", bind("/etc/a", "/a", read_only=True, propagation="rshared")),
    ({"type": "bind", "source": "./x", "target": "/x"}, bind("/p/x", "/x", create=False)),
    ({"type": "bind", "source": "/x", "target": "/x", "read_only": "true",
      "bind": {"create_host_path": True, "propagation": "slave"}}, bind("/x", "/x", True, True, "slave")),
    ({"type": "volume", "source": "data", "target": "/d", "volume": {"nocopy": True}},
     volume("data", "/d", nocopy=True)),
    ({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "64m"}},
     {"type": "tmpfs", "source": None, "target": "/t", "read_only": False, "tmpfs": {"size": 64 * 1024 ** 2}}),
    ({"type": "tmpfs", "target": "/t"}, {"type": "tmpfs", "source": None, "target": "/t", "read_only": False}),
])
def test_volumes(item, expected):
    assert normalise_volumes([item], ("v",), "/p") == [expected]


@pytest.mark.parametrize(("item", "message"), [
    ("data:relative", "v[0]: the target 'relative' is not an absolute container path"),
    ("./x:/x:z", "v[0]: './x:/x:z': the SELinux relabel modes z and Z are not supported"),
    ("./x:/x:bogus", "v[0]: './x:/x:bogus': unknown mode 'bogus'"),
    ("~/x:/x", "v[0]: '~/x': a path under ~ is not supported"),
    ("data:/d:rshared", "v[0]: 'data:/d:rshared': a propagation mode applies to a bind mount"),
    ("a:b:c:d", "v[0]: 'a:b:c:d' is not a volume"),
    ({"type": "npipe", "target": "/x"}, "v[0].type: type 'npipe' is not supported"),
    ({"type": "bind", "target": "/x"}, "v[0]: a bind mount needs source"),
    ({"type": "volume", "target": "/x", "consistency": "cached"}, "v[0].consistency: key consistency is not"),
    ({"type": "volume", "target": "/x", "bind": {}}, "v[0].bind: bind options given for a volume mount"),
    ({"type": "bind", "source": "/a", "target": "/x", "bind": {"selinux": "z"}}, "v[0].bind.selinux: key selinux"),
    ({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "lots"}}, "v[0].tmpfs.size: 'lots' is not a size"),
    (3, "v[0]: expected a string or a mapping, got a integer"),
])
def test_bad_volumes(item, message):
    with pytest.raises(ComposeError) as caught:
        normalise_volumes([item], ("v",), "/p")
    assert str(caught.value).startswith(message)


def test_relative_bind_without_a_project_directory_is_refused():
    with pytest.raises(ComposeError, match="an inline definition has no project directory: give project_src"):
        normalise_volumes(["./x:/x"], ("v",), None)


def test_named_volume_must_be_declared():
    fails({"volumes": ["logs:/logs"]}, "services.web.volumes[0]: volume 'logs' is not declared in the top-level "
                                       "volumes")


def test_command_and_entrypoint():
    result = service({"command": "sh -c 'echo \"a b\"'", "entrypoint": ["/bin/run", 3]})
    assert result["command"] == ["sh", "-c", 'echo "a b"']
    assert result["entrypoint"] == ["/bin/run", "3"]
    assert service({"command": None})["command"] is None
    fails({"command": "sh -c 'open"}, "services.web.command: cannot split \"sh -c 'open\" into arguments: "
                                      "No closing quotation")


def test_environment_forms_env_file_underneath_and_bare_keys():
    result = service({"env_file": ["a.env", {"path": "b.env"}, {"path": "gone.env", "required": False}],
                      "environment": ["A=own", "FROM_SHELL", "NOT_SET", "N=1"]})
    assert result["environment"] == {"A": "own", "B": "second", "FROM_SHELL": "s", "N": "1"}
    assert service({"environment": {"X": 1, "Y": True, "Z": None, "F": 1.5}})["environment"] == {
        "X": "1", "Y": "true", "F": "1.5"}
    assert service({})["environment"] == {}


def test_env_file_string_form_and_errors():
    assert service({"env_file": "a.env"})["environment"] == {"A": "from-file", "B": "file"}
    fails({"env_file": "missing.env"}, "services.web.env_file: the env_file /p/missing.env does not exist")
    fails({"env_file": [{"path": "a.env", "format": "raw"}]},
          "services.web.env_file[0].format: format raw is not supported (only the .env format)")
    fails({"env_file": "a.env"}, "services.web.env_file: 'a.env' is relative, and an inline definition has no "
                                 "project directory: give project_src, or write an absolute path", working_dir=None)


def test_networks_forms_and_default():
    assert service({})["networks"] == {"default": {"aliases": [], "ipv4_address": None, "ipv6_address": None}}
    assert service({"networks": ["front"]})["networks"] == {
        "front": {"aliases": [], "ipv4_address": None, "ipv6_address": None}}
    assert service({"networks": {"back": {"aliases": "db", "ipv4_address": "10.0.0.5"}, "front": None}})[
        "networks"] == {"back": {"aliases": ["db"], "ipv4_address": "10.0.0.5", "ipv6_address": None},
                        "front": {"aliases": [], "ipv4_address": None, "ipv6_address": None}}
    assert "networks" not in service({"network_mode": "host"})


@pytest.mark.parametrize(("networks", "message"), [
    (["elsewhere"], "services.web.networks.elsewhere: network 'elsewhere' is not declared in the top-level networks"),
    ({"front": {"priority": 1}}, "services.web.networks.front.priority: key priority is not supported"),
    ({"front": {"ipv4_address": "a b"}}, "services.web.networks.front.ipv4_address: 'a b' is not an IP address"),
    ("front", "services.web.networks: expected a list of network names or a mapping, got a string"),
])
def test_bad_networks(networks, message):
    fails({"networks": networks}, message)


def test_network_mode_with_networks_is_refused():
    fails({"network_mode": "host", "networks": ["front"]},
          "services.web.networks: network_mode and networks exclude each other: keep one")


def test_depends_on_forms():
    assert service({"depends_on": ["db"]})["depends_on"] == {
        "db": {"condition": "service_started", "restart": False, "required": True}}
    assert service({"depends_on": {"db": {"condition": "service_healthy", "restart": True, "required": "false"}}})[
        "depends_on"] == {"db": {"condition": "service_healthy", "restart": True, "required": False}}
    fails({"depends_on": {"db": {"condition": "service_up"}}}, "services.web.depends_on.db.condition: condition "
          "'service_up' is not one of service_started, service_healthy, service_completed_successfully")


def test_healthcheck():
    assert service({"healthcheck": {"test": "curl -f localhost", "interval": "30s", "timeout": "1m30s",
                                    "retries": "3", "start_period": "500ms"}})["healthcheck"] == {
        "test": ["CMD-SHELL", "curl -f localhost"], "interval": "30s", "timeout": "1m30s", "retries": 3,
        "start_period": "500ms"}
    assert service({"healthcheck": {"test": ["CMD", "true"]}})["healthcheck"] == {"test": ["CMD", "true"]}
    assert service({"healthcheck": {"disable": True}})["healthcheck"] == {"disable": True}
    fails({"healthcheck": {"test": ["true"]}}, "services.web.healthcheck.test[0]: a test list starts with CMD, "
                                               "CMD-SHELL or NONE")
    fails({"healthcheck": {"test": "x", "interval": "5 s"}},
          "services.web.healthcheck.interval: '5 s' is not a duration: write e.g. 30s, 1m30s or 500ms")
    fails({"healthcheck": {"test": "x", "start_interval": "1s"}},
          "services.web.healthcheck.start_interval: key start_interval is not supported")


def test_deploy_and_scale():
    assert service({"deploy": {"replicas": 2, "resources": {"limits": {"memory": "512m", "cpus": 1, "pids": 100},
                                                            "reservations": {"memory": 1024, "cpus": "0.5"}}}})[
        "deploy"] == {"replicas": 2, "resources": {"limits": {"memory": "512m", "cpus": 1.0, "pids": 100},
                                                   "reservations": {"memory": 1024, "cpus": "0.5"}}}
    assert service({"scale": 3})["deploy"] == {"replicas": 3}
    assert service({"scale": 3, "deploy": {"replicas": 3}})["deploy"] == {"replicas": 3}
    assert "deploy" not in service({})
    fails({"scale": 3, "deploy": {"replicas": 2}}, "services.web.scale: scale 3 and deploy.replicas 2 differ: "
                                                   "keep one")
    fails({"deploy": {"placement": {}}}, "services.web.deploy.placement: key placement is not supported")
    fails({"deploy": {"resources": {"reservations": {"pids": 1}}}},
          "services.web.deploy.resources.reservations.pids: key pids is not supported")
    fails({"deploy": {"replicas": "two"}}, "services.web.deploy.replicas: expected an integer, got string")


def test_labels_sysctls_ulimits_extra_hosts_dns_tmpfs_logging():
    result = service({"labels": ["a=1", "b"], "sysctls": ["net.core.somaxconn=1024"],
                      "ulimits": {"nproc": 65535, "nofile": {"soft": 20000, "hard": 40000}},
                      "extra_hosts": {"db": "10.0.0.2", "v6": ["::1"]}, "dns": "8.8.8.8", "tmpfs": "/run",
                      "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": 3}}})
    assert result["labels"] == {"a": "1", "b": ""}
    assert result["sysctls"] == {"net.core.somaxconn": "1024"}
    assert result["ulimits"] == {"nproc": {"soft": 65535, "hard": 65535}, "nofile": {"soft": 20000, "hard": 40000}}
    assert result["extra_hosts"] == ["db:10.0.0.2", "v6:::1"]
    assert result["dns"] == ["8.8.8.8"]
    assert result["tmpfs"] == ["/run"]
    assert result["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
    assert service({"extra_hosts": ["a=1.2.3.4", "b:5.6.7.8"]})["extra_hosts"] == ["a:1.2.3.4", "b:5.6.7.8"]


@pytest.mark.parametrize(("body", "message"), [
    ({"labels": "a=1"}, "services.web.labels: expected a mapping or a list of 'NAME=VALUE' strings, got a string"),
    ({"sysctls": ["net.x"]}, "services.web.sysctls: a sysctl needs a value (NAME=VALUE)"),
    ({"ulimits": {"nofile": {"soft": 2}}}, "services.web.ulimits.nofile: expected soft and hard (and nothing else)"),
    ({"ulimits": {"nofile": {"soft": 3, "hard": 2}}}, "services.web.ulimits.nofile: soft 3 is above hard 2"),
    ({"extra_hosts": ["nohost"]}, "services.web.extra_hosts[0]: expected 'HOST:IP', got 'nohost'"),
    ({"logging": {"driver": "x", "mode": "y"}}, "services.web.logging.mode: key mode is not supported"),
    ({"environment": [3]}, "services.web.environment[0]: expected a non-empty 'NAME=VALUE' string, got integer"),
    ({"environment": {"A": [1]}}, "services.web.environment.A: expected a string, got a list"),
    ({"image": "a b"}, "services.web.image: expected an image reference, got 'a b'"),
    ({"read_only": "maybe"}, "services.web.read_only: expected true or false, got string"),
    ({"cpu_shares": "lots"}, "services.web.cpu_shares: expected an integer, got string"),
])
def test_bad_values_name_the_key_path(body, message):
    fails(body, message)


def test_a_service_needs_an_image():
    with pytest.raises(ComposeError, match="services.web: a service needs image"):
        normalise_service("web", {"command": "x"}, context())


def test_pass_through_keys_and_casts_and_dropped_keys():
    result = service({"user": "1000", "restart": "always", "read_only": "true", "privileged": "no", "init": True,
                      "cpu_shares": "512", "build": ".", "x-note": "dropped", "profiles": ["p"],
                      "stop_grace_period": "1m", "cap_add": ["NET_ADMIN"]})
    assert result == {"image": "nginx", "user": "1000", "restart": "always", "read_only": True, "privileged": False,
                      "init": True, "cpu_shares": 512, "build": ".", "stop_grace_period": "1m",
                      "cap_add": ["NET_ADMIN"], "environment": {},
                      "networks": {"default": {"aliases": [], "ipv4_address": None, "ipv6_address": None}}}
