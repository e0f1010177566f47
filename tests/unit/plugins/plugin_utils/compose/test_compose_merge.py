"""Merging compose files by compose's rules, key kind by key kind."""

from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.load import Override, Reset, parse_compose
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.merge import (
    merge_documents,
    merge_service,
    strip_markers,
)


def merged_service(base, over):
    return merge_service(base, over, ("services", "s"))


def test_scalars_are_replaced_and_new_keys_added():
    assert merged_service({"image": "a", "user": "1"}, {"image": "b", "init": True}) == {
        "image": "b", "user": "1", "init": True}


def test_command_entrypoint_are_replaced_not_appended():
    result = merged_service({"command": ["echo", "foo"], "entrypoint": ["/a"]},
                            {"command": ["echo", "bar"], "entrypoint": "/b"})
    assert result == {"command": ["echo", "bar"], "entrypoint": "/b"}


def test_healthcheck_test_is_replaced_other_keys_merged():
    result = merged_service({"healthcheck": {"test": ["CMD", "a"], "interval": "5s", "retries": 3}},
                            {"healthcheck": {"test": ["CMD", "b"], "retries": 5}})
    assert result == {"healthcheck": {"test": ["CMD", "b"], "interval": "5s", "retries": 5}}


def test_plain_sequences_append_without_duplicates():
    result = merged_service({"dns": ["1.1.1.1"], "cap_add": ["NET_ADMIN"], "security_opt": ["a"]},
                            {"dns": ["8.8.8.8", "1.1.1.1"], "cap_add": ["SYS_TIME"], "security_opt": ["a", "b"]})
    assert result == {"dns": ["1.1.1.1", "8.8.8.8"], "cap_add": ["NET_ADMIN", "SYS_TIME"], "security_opt": ["a", "b"]}


def test_string_forms_of_list_keys_are_lists_before_appending():
    result = merged_service({"dns": "1.1.1.1", "tmpfs": "/run", "env_file": "a.env"},
                            {"dns": "8.8.8.8", "tmpfs": ["/tmp"], "env_file": ["b.env"]})
    assert result == {"dns": ["1.1.1.1", "8.8.8.8"], "tmpfs": ["/run", "/tmp"], "env_file": ["a.env", "b.env"]}


def test_expose_appends_uniquely():
    assert merged_service({"expose": ["80"]}, {"expose": ["80", "443"]}) == {"expose": ["80", "443"]}


def test_ports_merge_by_ip_target_published_protocol():
    result = merged_service({"ports": ["8080:80", "53:53/udp"]},
                            {"ports": [{"target": 80, "published": "8080"}, "8443:443", "53:53/udp"]})
    assert result == {"ports": [{"target": 80, "published": "8080"}, "53:53/udp", "8443:443"]}


def test_ports_differing_in_protocol_are_both_kept():
    assert merged_service({"ports": ["53:53"]}, {"ports": ["53:53/udp"]}) == {"ports": ["53:53", "53:53/udp"]}


def test_volumes_merge_by_target():
    result = merged_service({"volumes": ["./a:/data", "logs:/var/log"]},
                            {"volumes": [{"type": "volume", "source": "data", "target": "/data"}, "/tmp:/tmp"]})
    assert result == {"volumes": [{"type": "volume", "source": "data", "target": "/data"}, "logs:/var/log",
                                  "/tmp:/tmp"]}


def test_devices_merge_by_target():
    result = merged_service({"devices": ["/dev/sda:/dev/xvda:rwm", "/dev/ttyUSB0"]},
                            {"devices": ["/dev/sdb:/dev/xvda:r"]})
    assert result == {"devices": ["/dev/sdb:/dev/xvda:r", "/dev/ttyUSB0"]}


def test_environment_merges_by_key_list_and_map_forms():
    result = merged_service({"environment": ["A=1", "B=2", "C"]}, {"environment": {"B": "3", "D": 4}})
    assert result == {"environment": {"A": "1", "B": "3", "C": None, "D": "4"}}


def test_labels_sysctls_merge_by_key():
    result = merged_service({"labels": ["a=1", "b"], "sysctls": {"net.x": 1}},
                            {"labels": {"a": "2"}, "sysctls": ["net.y=2"]})
    assert result == {"labels": {"a": "2", "b": ""}, "sysctls": {"net.x": "1", "net.y": "2"}}


def test_ulimits_merge_by_name():
    result = merged_service({"ulimits": {"nofile": {"soft": 1, "hard": 2}, "nproc": 10}},
                            {"ulimits": {"nofile": 5}})
    assert result == {"ulimits": {"nofile": 5, "nproc": 10}}


def test_extra_hosts_merge_by_host():
    result = merged_service({"extra_hosts": ["a:1.1.1.1", "b=2.2.2.2"]}, {"extra_hosts": {"a": "9.9.9.9"}})
    assert result == {"extra_hosts": ["b:2.2.2.2", "a:9.9.9.9"]}


def test_depends_on_list_and_map_merge():
    result = merged_service({"depends_on": ["db", "cache"]}, {"depends_on": {"db": {"condition": "service_healthy"}}})
    assert result == {"depends_on": {"db": {"condition": "service_healthy"}, "cache": {}}}


def test_networks_list_and_map_merge():
    result = merged_service({"networks": ["front"]}, {"networks": {"front": {"aliases": ["w"]}, "back": None}})
    assert result == {"networks": {"front": {"aliases": ["w"]}, "back": None}}


def test_logging_options_merge_while_the_driver_stays():
    same = merged_service({"logging": {"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}}},
                          {"logging": {"options": {"max-size": "5m"}}})
    assert same == {"logging": {"driver": "json-file", "options": {"max-size": "5m", "max-file": "3"}}}
    other = merged_service({"logging": {"driver": "json-file", "options": {"max-size": "1m"}}},
                           {"logging": {"driver": "syslog", "options": {"tag": "x"}}})
    assert other == {"logging": {"driver": "syslog", "options": {"tag": "x"}}}


def test_nested_mappings_merge_recursively():
    result = merged_service({"deploy": {"resources": {"limits": {"memory": "1g", "cpus": "1"}}}},
                            {"deploy": {"resources": {"limits": {"memory": "2g"}}, "replicas": 2}})
    assert result == {"deploy": {"resources": {"limits": {"memory": "2g", "cpus": "1"}}, "replicas": 2}}


def test_reset_removes_a_key():
    result = merged_service({"ports": ["80:80"], "image": "a", "environment": {"A": "1", "B": "2"}},
                            {"ports": Reset(), "environment": {"A": Reset()}})
    assert result == {"image": "a", "environment": {"B": "2"}}


def test_override_replaces_without_merging():
    result = merged_service({"ports": ["80:80"], "environment": {"A": "1"}},
                            {"ports": Override(["81:81"]), "environment": Override({"B": "2"})})
    assert result == {"ports": ["81:81"], "environment": {"B": "2"}}


def test_documents_merge_services_and_top_level():
    base = parse_compose("name: one\nservices:\n  web: {image: a, ports: ['80:80']}\n  db: {image: pg}\n"
                         "volumes:\n  data: {}\n", "a")
    over = parse_compose("name: two\nservices:\n  web: {image: b}\n  cache: {image: redis}\n  db: !reset\n"
                         "volumes:\n  data: {driver: local}\n", "b")
    assert merge_documents(base, over) == {
        "name": "two",
        "services": {"web": {"image": "b", "ports": ["80:80"]}, "cache": {"image": "redis"}},
        "volumes": {"data": {"driver": "local"}}}


def test_markers_without_a_base_are_stripped():
    assert strip_markers({"a": Reset(), "b": Override([1]), "c": [Override(2)], "d": {"e": Reset()}}) == {
        "b": [1], "c": [2], "d": {}}
