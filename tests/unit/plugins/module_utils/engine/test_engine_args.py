"""The shared connection options: names, environment, DOCKER_CERT_PATH."""

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    ENGINE_ARGUMENT_SPEC,
    connection_params,
    engine_argument_spec,
)


def test_names_follow_community_docker():
    for name in ("docker_host", "tls", "validate_certs", "ca_path", "client_cert", "client_key",
                 "api_version", "timeout", "tls_hostname"):
        assert name in ENGINE_ARGUMENT_SPEC
    assert "docker_url" in ENGINE_ARGUMENT_SPEC["docker_host"]["aliases"]
    assert "tls_verify" in ENGINE_ARGUMENT_SPEC["validate_certs"]["aliases"]
    assert ENGINE_ARGUMENT_SPEC["validate_certs"]["default"] is True


def test_module_spec_is_a_copy():
    spec = engine_argument_spec(name={"type": "str"})
    spec["docker_host"]["default"] = "changed"
    assert ENGINE_ARGUMENT_SPEC["docker_host"]["default"] != "changed"
    assert "name" in spec


def test_cert_path_fills_missing_files(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    params = dict.fromkeys(ENGINE_ARGUMENT_SPEC)
    params.update(tls=False, client_key="/mine/key.pem")
    got = connection_params(params, {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert got["tls"] is True
    assert got["ca_path"] == str(tmp_path / "ca.pem")
    assert got["client_cert"] == str(tmp_path / "cert.pem")
    assert got["client_key"] == "/mine/key.pem"


def test_cert_path_ignored_without_tls(tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    params = dict.fromkeys(ENGINE_ARGUMENT_SPEC)
    params["tls"] = False
    assert connection_params(params, {"DOCKER_CERT_PATH": str(tmp_path)})["ca_path"] is None
