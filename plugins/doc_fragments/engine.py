# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by every module that talks to the engine."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - Where the engine listens, as seen from the target host.
      - V(unix:///path) for a unix socket, V(tcp://host:port) or V(https://host:port) for TCP.
        A bare absolute path is taken as a unix socket.
      - Works with dockerd and with Podman's Docker-compatible service
        (for example V(unix:///run/podman/podman.sock)).
      - If not set, the value of the E(DOCKER_HOST) environment variable on the target is used,
        then V(unix:///var/run/docker.sock).
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  tls:
    description:
      - Use TLS for a TCP O(docker_host). Implied by V(https://), O(ca_path) and O(client_cert),
        and by a non-empty E(DOCKER_TLS_VERIFY).
      - If not set, the value of the E(DOCKER_TLS) environment variable is used.
    type: bool
    default: false
  validate_certs:
    description:
      - Verify the daemon's certificate and host name when TLS is used.
      - Unlike community.docker, this defaults to V(true); set it to V(false) only for a test daemon.
    type: bool
    default: true
    aliases: [tls_verify]
  ca_path:
    description:
      - CA certificate file that signed the daemon's certificate.
      - If not set and E(DOCKER_CERT_PATH) is, C(ca.pem) in that directory is used.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  client_cert:
    description:
      - Client certificate file for TLS client authentication. Needs O(client_key).
      - If not set and E(DOCKER_CERT_PATH) is, C(cert.pem) in that directory is used.
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description:
      - Private key file of O(client_cert).
      - If not set and E(DOCKER_CERT_PATH) is, C(key.pem) in that directory is used.
    type: path
    aliases: [tls_client_key, key_path]
  tls_hostname:
    description:
      - The name the daemon's certificate must carry, when it differs from the host in O(docker_host).
      - If not set, the value of the E(DOCKER_TLS_HOSTNAME) environment variable is used.
    type: str
  api_version:
    description:
      - Engine API version to speak, such as V(1.41).
      - V(auto) asks the daemon and uses the newest version both sides support.
      - If not set, the value of the E(DOCKER_API_VERSION) environment variable is used.
    type: str
    default: auto
    aliases: [docker_api_version]
  timeout:
    description:
      - Seconds to wait for each answer of the daemon before failing.
      - If not set, the value of the E(DOCKER_TIMEOUT) environment variable is used.
    type: int
    default: 60
  allow_plain_tcp:
    description:
      - Allow unencrypted TCP to an address that is not loopback.
      - Anyone who can reach a plain TCP engine port controls the host, so this is refused
        unless set to V(true). Loopback addresses and unix sockets need no such consent.
    type: bool
    default: false
  debug:
    description:
      - Accepted for community.docker's tasks; it changes nothing here. Run with C(-vvv) to see what a task
        sends and gets back.
    type: bool
    default: false
  use_ssh_client:
    description:
      - Accepted for community.docker's tasks. It matters only for an C(ssh://) O(docker_host), which this
        collection does not take (it fails naming O(docker_host)); run the task on the engine's host instead.
    type: bool
    default: false
notes:
  - The modules talk to the engine with the Python standard library alone;
    the target host needs Python 3.8 or newer and nothing else (no C(requests), no Docker SDK).
  - Set the connection once for a play with C(module_defaults) and the action group
    C(group/dockhand.runtime.engine).
"""

    # The options of the modules that pull images (image, container, compose).
    PULLS = r"""
options:
  config_path:
    description:
      - The Docker config file to read registry credentials from.
      - Defaults to C(config.json) in E(DOCKER_CONFIG) if set, else C(~/.docker/config.json) of the
        user the module runs as.
      - Credentials are looked up by the image's registry host; a missing file means no credentials.
    type: path
    aliases: [dockercfg_path]
  mirrors_table:
    description:
      - Docker's rewrite table of mirrors for registries other than Docker Hub, as
        M(dockhand.runtime.registry_mirrors) writes it.
      - Defaults to C(/etc/dockhand/registry-mirrors.json). A missing file means no mirrors.
      - It is read only when a pull is due. Credentials for a mirror are looked up by the mirror's host, as for
        any registry.
    type: path
"""
