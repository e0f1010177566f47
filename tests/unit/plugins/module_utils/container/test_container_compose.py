"""Unit tests of the compose model's pure parts: key mapping, refusals, labels, names, order, replicas."""

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.container import compose
from ansible_collections.dockhand.runtime.plugins.module_utils.container.compose import ComposeError


def project(**service):
    base = {"image": "busybox"}
    base.update(service)
    return {"name": "shop", "working_dir": "/srv/shop", "config_files": ["/srv/shop/compose.yaml", "/srv/o.yaml"],
            "services": {"web": base, "db": {"image": "busybox"}},
            "networks": {"default": {"name": "shop_default", "external": False},
                         "front": {"name": "shop_front", "external": False}},
            "volumes": {"data": {"name": "shop_data", "external": False}}}


def params(**service):
    found, _warnings = compose.service_params(project(**service), "web")
    merged = {}
    for _key, options in found:
        merged.update(options)
    return merged


# compose key and value -> the container options it sets (task form)
MAPPING = [
    ({"command": ["sleep", "1"]}, {"command": ["sleep", "1"]}),
    ({"entrypoint": ["/bin/sh", "-c"]}, {"entrypoint": ["/bin/sh", "-c"]}),
    ({"environment": {"A": 1, "B": True}}, {"env": {"A": "1", "B": "true"}}),
    ({"ports": [{"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp"},
                {"target": 53, "published": None, "host_ip": None, "protocol": "udp"},
                {"target": 81, "published": "9000", "host_ip": "::1", "protocol": "tcp"}]},
     {"published_ports": ["127.0.0.1:8080:80/tcp", "53/udp", "[::1]:9000:81/tcp"]}),
    ({"expose": ["80", "53/udp"]}, {"exposed_ports": ["80", "53/udp"]}),
    ({"volumes": [{"type": "volume", "source": "data", "target": "/data", "read_only": True},
                  {"type": "volume", "source": None, "target": "/anon", "read_only": False},
                  {"type": "bind", "source": "/srv", "target": "/srv", "read_only": False,
                   "bind": {"create_host_path": True, "propagation": "rslave"}},
                  {"type": "bind", "source": "/etc/x", "target": "/x", "read_only": True,
                   "bind": {"create_host_path": False}},
                  {"type": "tmpfs", "source": None, "target": "/t", "read_only": False, "tmpfs": {"size": 1024}}]},
     {"volumes": ["shop_data:/data:ro", "/anon", "/srv:/srv:rslave"],
      "mounts": [{"type": "bind", "source": "/etc/x", "target": "/x", "read_only": True},
                 {"type": "tmpfs", "target": "/t", "read_only": False, "tmpfs_size": "1024"}]}),
    ({"networks": {"front": {"aliases": ["www"], "ipv4_address": "10.0.0.2", "ipv6_address": None}}},
     {"networks": [{"name": "shop_front", "aliases": ["web", "www"], "ipv4_address": "10.0.0.2"}]}),
    ({"network_mode": "service:db"}, {"network_mode": "container:shop-db-1"}),
    ({"network_mode": "host"}, {"network_mode": "host"}),
    ({"healthcheck": {"test": ["CMD-SHELL", "curl -f localhost"], "interval": "5s", "retries": 2}},
     {"healthcheck": {"test": "curl -f localhost", "interval": "5s", "retries": 2}}),
    ({"healthcheck": {"disable": True}}, {"healthcheck": {"test": ["NONE"]}}),
    ({"deploy": {"replicas": 2, "resources": {"limits": {"memory": "64M", "cpus": "0.5", "pids": 10},
                                              "reservations": {"memory": 1048576}}}},
     {"memory": "64m", "cpus": 0.5, "pids_limit": 10, "memory_reservation": "1048576"}),
    ({"restart": "on-failure:3"}, {"restart_policy": "on-failure", "restart_retries": 3}),
    ({"restart": "unless-stopped"}, {"restart_policy": "unless-stopped"}),
    ({"labels": {"team": "a"}}, {"labels": {"team": "a"}}),
    ({"user": 1000}, {"user": "1000"}),
    ({"working_dir": "/app"}, {"working_dir": "/app"}),
    ({"hostname": "h"}, {"hostname": "h"}),
    ({"domainname": "d.lan"}, {"domainname": "d.lan"}),
    ({"cap_add": ["NET_ADMIN"]}, {"capabilities": ["NET_ADMIN"]}),
    ({"cap_drop": ["ALL"]}, {"cap_drop": ["ALL"]}),
    ({"read_only": True}, {"read_only": True}),
    ({"init": True}, {"init": True}),
    ({"privileged": False}, {"privileged": False}),
    ({"tmpfs": ["/run"]}, {"tmpfs": ["/run"]}),
    ({"ulimits": {"nofile": {"soft": 1, "hard": 2}, "nproc": 5}}, {"ulimits": ["nofile:1:2", "nproc:5:5"]}),
    ({"logging": {"driver": "local", "options": {"max-size": "1m"}}},
     {"log_driver": "local", "log_options": {"max-size": "1m"}}),
    ({"extra_hosts": ["db:10.0.0.5", "v6=::1"]}, {"etc_hosts": {"db": "10.0.0.5", "v6": "::1"}}),
    ({"stop_grace_period": "1m30s"}, {"stop_timeout": 90}),
    ({"stop_signal": "SIGINT"}, {"stop_signal": "SIGINT"}),
    ({"sysctls": {"net.core.somaxconn": 1024}}, {"sysctls": {"net.core.somaxconn": "1024"}}),
    ({"security_opt": ["no-new-privileges"]}, {"security_opts": ["no-new-privileges"]}),
    ({"shm_size": "64mb"}, {"shm_size": "64m"}),
    ({"pid": "host"}, {"pid_mode": "host"}),
    ({"ipc": "service:db"}, {"ipc_mode": "container:shop-db-1"}),
    ({"devices": ["/dev/null:/dev/x"]}, {"devices": ["/dev/null:/dev/x"]}),
    ({"dns": ["10.0.0.1"]}, {"dns_servers": ["10.0.0.1"]}),
    ({"dns_search": ["lan"]}, {"dns_search_domains": ["lan"]}),
    ({"dns_opt": ["ndots:2"]}, {"dns_opts": ["ndots:2"]}),
    ({"group_add": ["audio"]}, {"groups": ["audio"]}),
    ({"mem_limit": "1g"}, {"memory": "1g"}),
    ({"container_name": "x", "pull_policy": "always", "depends_on": {}, "env_file": ["a"], "x-note": 1}, {}),
]


@pytest.mark.parametrize("service, expected", MAPPING, ids=[sorted(case[0])[0] for case in MAPPING])
def test_every_supported_key_maps_onto_the_option_table(service, expected):
    found = params(**service)
    found.pop("networks", None) if "networks" not in expected else None
    assert found == expected


def test_the_issues_keys_are_all_supported():
    listed = ["image", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes",
              "networks", "depends_on", "healthcheck", "restart", "deploy", "labels", "user", "working_dir",
              "hostname", "cap_add", "cap_drop", "read_only", "tmpfs", "ulimits", "logging", "extra_hosts",
              "init", "stop_grace_period", "stop_signal", "sysctls", "security_opt", "shm_size", "network_mode",
              "pid", "ipc", "devices", "dns", "privileged"]
    assert set(listed) <= set(compose.SERVICE_KEYS)


def test_a_service_without_networks_joins_the_default_network():
    assert params()["networks"] == [{"name": "shop_default", "aliases": ["web"]}]


def test_wanted_goes_through_the_option_parsers():
    wanted, _warnings = compose.service_wanted(project(deploy={"resources": {"limits": {"memory": "64m"}}},
                                                       restart="always"), "web")
    assert wanted["memory"] == 64 * 2 ** 20 and wanted["restart_policy"] == "always"


def test_platform_is_the_container_option_normalised():
    wanted, _warnings = compose.service_wanted(project(platform="linux/aarch64"), "web")
    assert wanted["platform"] == "linux/arm64"  # what compose_engine pulls the image for, and the container's


def test_cpu_reservation_warns_as_compose_ignores_it():
    _found, warnings = compose.service_params(project(deploy={"resources": {"reservations": {"cpus": "1"}}}), "web")
    assert warnings and "services.web.deploy.resources.reservations.cpus" in warnings[0]


REFUSED = [
    ({"build": {"context": "."}}, "services.web.build: not supported by dockhand.runtime.compose"),
    ({"secrets": ["a"]}, "services.web.secrets: not supported"),
    ({"deploy": {"placement": {}}}, "services.web.deploy.placement: not supported"),
    ({"deploy": {"resources": {"limits": {"devices": []}}}}, "services.web.deploy.resources.limits.devices"),
    ({"ports": [{"target": 0, "published": "80", "host_ip": None, "protocol": "tcp"}]},
     "services.web.ports[0].target"),
    ({"ports": [{"target": 80, "published": "80x", "host_ip": None, "protocol": "tcp"}]},
     "services.web.ports[0].published"),
    ({"ports": [{"target": 80, "published": "80", "host_ip": "not-an-ip", "protocol": "tcp"}]},
     "services.web.ports: "),
    ({"volumes": [{"type": "volume", "source": "nope", "target": "/d", "read_only": False}]},
     "services.web.volumes[0].source: no top-level volume"),
    ({"volumes": [{"type": "npipe", "source": "x", "target": "/d", "read_only": False}]},
     "services.web.volumes[0].type"),
    ({"networks": {"nope": {}}}, "services.web.networks.nope: no top-level network"),
    ({"restart": "sometimes"}, "services.web.restart"),
    ({"stop_grace_period": "soon"}, "services.web.stop_grace_period"),
    ({"healthcheck": {"test": ["CMD", "true"], "bogus": 1}}, "services.web.healthcheck.bogus"),
    ({"logging": {"driver": "local", "format": 1}}, "services.web.logging.format"),
    ({"network_mode": "service:nope"}, "services.web.network_mode: no service"),
    ({"shm_size": "lots"}, "services.web.shm_size"),
    ({"platform": "linux/arm64;x"}, "services.web.platform"),
    ({"read_only": "yes"}, "services.web.read_only: must be true or false"),
    ({"memory_swap": 1}, "services.web.memory_swap: not supported"),
    ({"cpus": "abc"}, "services.web.cpus: 'abc' is not a number of CPUs"),
    ({"cpus": []}, "services.web.cpus: [] is not a number of CPUs"),
    ({"deploy": {"resources": {"limits": {"cpus": []}}}}, "services.web.deploy.resources.limits.cpus: [] is not"),
    ({"deploy": {"resources": []}}, "services.web.deploy.resources: must be a mapping"),
]


@pytest.mark.parametrize("service, message", REFUSED, ids=["%s-%d" % (sorted(case[0])[0], index)
                                                           for index, case in enumerate(REFUSED)])
def test_unsupported_or_bad_keys_fail_with_their_path(service, message):
    with pytest.raises(ComposeError) as caught:
        compose.service_wanted(project(**service), "web")
    assert message in str(caught.value)


def test_check_project_refuses_bad_shapes():
    for bad, message in (({"name": "Shop"}, "name:"), ({"services": {}}, "services:"),
                         ({"services": {"web": {"command": ["x"]}}}, "services.web.image"),
                         ({"services": {"web": {"image": "b", "deploy": {"replicas": 2}, "container_name": "w"}}},
                          "services.web.container_name"),
                         ({"services": {"web": {"image": "b", "pull_policy": "sometimes"}}}, "pull_policy"),
                         ({"services": {"web": {"image": "b", "pull_policy": []}}}, "services.web: pull_policy"),
                         ({"services": {"web": {"image": "b", "deploy": "x"}}}, "services.web.deploy: must be a")):
        model = dict(project(), **bad)
        with pytest.raises(ComposeError) as caught:
            compose.check_project(model)
        assert message in str(caught.value)


def test_labels_and_names_are_composes():
    model = project()
    labels = compose.container_labels(model, "web", 2)
    assert labels == {"com.docker.compose.project": "shop", "com.docker.compose.service": "web",
                      "com.docker.compose.container-number": "2", "com.docker.compose.oneoff": "False",
                      "com.docker.compose.config-hash": compose.config_hash(model["services"]["web"]),
                      "com.docker.compose.project.working_dir": "/srv/shop",
                      "com.docker.compose.project.config_files": "/srv/shop/compose.yaml,/srv/o.yaml"}
    assert compose.network_labels(model, "front") == {"com.docker.compose.project": "shop",
                                                      "com.docker.compose.network": "front"}
    assert compose.volume_labels(model, "data")["com.docker.compose.volume"] == "data"
    assert compose.container_name("shop", "web", 3) == "shop-web-3"
    assert compose.container_name("shop", "web", 1, {"container_name": "w"}) == "w"


def test_config_hash_is_stable_and_leaves_out_the_replicas():
    one = {"image": "b", "environment": {"A": "1", "B": "2"}, "deploy": {"replicas": 1}}
    other = {"deploy": {"replicas": 5}, "environment": {"B": "2", "A": "1"}, "image": "b"}
    assert compose.config_hash(one) == compose.config_hash(other)
    assert compose.config_hash(one) != compose.config_hash(dict(one, image="c"))
    assert len(compose.config_hash(one)) == 64
    # compose leaves the order and the pull out of its hash: changing them recreates nothing
    started = {"web": {"condition": "service_started", "restart": False, "required": True}}
    assert compose.config_hash(dict(one, depends_on=started, pull_policy="always")) == compose.config_hash(one)


def service(*needs, **conditions):
    depends = {name: {"condition": "service_started", "restart": False, "required": True} for name in needs}
    depends.update({name: {"condition": kind, "restart": False, "required": True} for name, kind in conditions.items()})
    return {"image": "b", "depends_on": depends}


def test_dependency_order_and_implicit_service_references():
    services = {"web": service("app"), "app": service(db="service_healthy", migrate="service_completed_successfully"),
                "db": service(), "migrate": service("db"), "side": {"image": "b", "network_mode": "service:web"}}
    order = compose.dependency_order(services)
    assert order == ["db", "migrate", "app", "web", "side"]
    assert compose.one_shots(services) == {"migrate"}
    assert compose.selected(services, ["app"]) == {"app", "db", "migrate"}
    assert compose.selected(services, []) == set(services)
    with pytest.raises(ComposeError, match="services: nope not in the project"):
        compose.selected(services, ["nope"])
    assert compose.acted(services, ["app"], "present") == {"app", "db", "migrate"}
    for state in ("absent", "stopped", "restarted"):  # compose's rm, stop, restart: the named services alone
        assert compose.acted(services, ["app"], state) == {"app"}
        assert compose.acted(services, [], state) == set(services)
    with pytest.raises(ComposeError, match="services: nope not in the project"):
        compose.acted(services, ["nope"], "stopped")


def test_a_cycle_and_an_unknown_dependency_are_named():
    with pytest.raises(ComposeError, match="a cycle: a -> b -> a"):
        compose.dependency_order({"a": service("b"), "b": service("a")})
    with pytest.raises(ComposeError, match="services.a.depends_on.zz: no service"):
        compose.dependency_order({"a": service("zz")})
    with pytest.raises(ComposeError, match="services.a.depends_on.b.condition"):
        compose.dependency_order({"a": service(b="service_done"), "b": service()})


@pytest.mark.parametrize("numbers, count, expected", [
    ([], 3, ([], [], [1, 2, 3])),
    ([1, 2, 3], 3, ([1, 2, 3], [], [])),
    ([1, 2, 3], 1, ([1], [2, 3], [])),
    ([2, 5], 3, ([2, 5], [], [1])),
    ([1, 2], 0, ([], [1, 2], [])),
])
def test_replica_plan_scales_down_from_the_highest_numbers(numbers, count, expected):
    assert compose.replica_plan(numbers, count) == expected


def test_replicas_come_from_deploy_or_scale():
    assert compose.replicas({"deploy": {"replicas": 3}}, "s") == 3
    assert compose.replicas({"scale": 2}, "s") == 2
    assert compose.replicas({}, "s") == 1
    with pytest.raises(ComposeError, match="s.deploy.replicas"):
        compose.replicas({"deploy": {"replicas": -1}}, "s")


@pytest.mark.parametrize("ipam, message", [
    ({"config": [{"subnet": "10.1.0.0/33"}]}, "networks.front.ipam.config[0].subnet '10.1.0.0/33' is not a subnet"),
    ({"config": [{"subnet": "10.1.0.5/24"}]}, "networks.front.ipam.config[0].subnet '10.1.0.5/24' has host bits "
                                              "set; write 10.1.0.0/24"),
    ({"config": [{"subnet": "10.1.0.0/24", "gateway": "10.2.0.1"}]},
     "networks.front.ipam.config[0].gateway 10.2.0.1 is outside the subnet 10.1.0.0/24"),
    ({"config": [{"subnet": "10.1.0.0/24", "ip_range": "10.1.1.0/25"}]},
     "networks.front.ipam.config[0].ip_range 10.1.1.0/25 is not inside the subnet 10.1.0.0/24"),
    ({"config": [{"subnet": "10.1.0.0/16"}, {"subnet": "10.1.2.0/24"}]},
     "networks.front.ipam.config: the subnets 10.1.0.0/16 and 10.1.2.0/24 overlap"),
    ({"config": [{"gateway": "10.1.0.1"}]}, "networks.front.ipam.config[0].subnet: give the subnet"),
    ({"config": "10.1.0.0/24"}, "networks.front.ipam.config: must be a list"),
    ({"driver": "bad driver"}, "networks.front.ipam.driver: 'bad driver' is not an IPAM driver name"),
])
def test_network_ipam_is_validated_before_anything_is_created(ipam, message):
    model = project()
    model["networks"]["front"]["ipam"] = ipam
    with pytest.raises(ComposeError) as caught:
        compose.check_project(model)
    assert message in str(caught.value)


def test_network_ipam_in_the_engines_form():
    config = {"ipam": {"config": [{"subnet": "10.1.0.0/24", "gateway": "10.1.0.1", "ip_range": "10.1.0.128/25"}]}}
    assert compose.network_ipam(config, "networks.front") == {"Driver": "default", "Config": [
        {"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1", "IPRange": "10.1.0.128/25"}]}
