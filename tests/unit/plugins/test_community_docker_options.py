"""The README's promise: a community.docker.docker_container task moves over by changing its module name.

The names are those community.docker 4.8.5 documents for docker_container (100 options), the aliases it
documents for them, and the connection options of its API fragment that the container module takes too.
"""

import yaml

from ansible_collections.dockhand.runtime.plugins.doc_fragments.engine import ModuleDocFragment
from ansible_collections.dockhand.runtime.plugins.module_utils.container.options import argument_spec

COMMUNITY_DOCKER_4_8_5 = (
    "auto_remove", "blkio_weight", "cap_drop", "capabilities", "cgroup_parent", "cgroupns_mode", "cleanup",
    "command", "command_handling", "comparisons", "container_default_behavior", "cpu_period", "cpu_quota",
    "cpu_shares", "cpus", "cpuset_cpus", "cpuset_mems", "default_host_ip", "detach", "device_cgroup_rules",
    "device_read_bps", "device_read_iops", "device_requests", "device_write_bps", "device_write_iops",
    "devices", "dns_opts", "dns_search_domains", "dns_servers", "domainname", "entrypoint", "env", "env_file",
    "etc_hosts", "exposed_ports", "force_kill", "groups", "healthcheck", "healthy_wait_timeout", "hostname",
    "image", "image_comparison", "image_label_mismatch", "image_name_mismatch", "init", "interactive",
    "ipc_mode", "keep_volumes", "kernel_memory", "kill_signal", "labels", "links", "log_driver", "log_options",
    "mac_address", "memory", "memory_reservation", "memory_swap", "memory_swappiness", "mounts", "name",
    "network_mode", "networks", "networks_cli_compatible", "oom_killer", "oom_score_adj", "output_logs",
    "paused", "pid_mode", "pids_limit", "platform", "privileged", "publish_all_ports", "published_ports",
    "pull", "pull_check_mode_behavior", "read_only", "recreate", "removal_wait_timeout", "restart",
    "restart_policy", "restart_retries", "runtime", "security_opts", "shm_size", "state", "stop_signal",
    "stop_timeout", "storage_opts", "sysctls", "tmpfs", "tty", "ulimits", "user", "userns_mode", "uts",
    "volume_driver", "volumes", "volumes_from", "working_dir"
)
ALIASES = ("ports", "exposed", "expose", "forcekill", "log_opt")
CONNECTION = ("docker_host", "docker_url", "tls_hostname", "api_version", "docker_api_version", "timeout", "ca_path",
              "ca_cert", "tls_ca_cert", "cacert_path", "client_cert", "tls_client_cert", "cert_path", "client_key",
              "tls_client_key", "key_path", "tls", "validate_certs", "tls_verify", "debug", "use_ssh_client")


def accepted():
    spec = dict(argument_spec())
    spec.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    names = set(spec)
    for value in spec.values():
        names |= set(value.get("aliases") or [])
    return names


def test_every_option_and_alias_of_community_docker_is_taken():
    assert len(COMMUNITY_DOCKER_4_8_5) == 100
    missing = sorted(set(COMMUNITY_DOCKER_4_8_5 + ALIASES + CONNECTION) - accepted())
    assert not missing, "community.docker's docker_container options the container module refuses: %s" % missing
