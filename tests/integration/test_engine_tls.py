"""The client over TCP with TLS: nginx terminates TLS (client certificates required) in front of
the real dockerd's socket, as a TLS-enabled dockerd would, with certificates made by the test."""

import os
import shutil
import socket
import subprocess
import time

import pytest
from conftest import local_play

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.api import EngineClient, EngineError

pytestmark = pytest.mark.engine

NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(directory, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=%s" % name,
            "-keyout", "%s-key.pem" % name, "-out", "%s.pem" % name, cwd=directory)


def make_cert(directory, name, ca, extensions):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % name, "-keyout", "%s-key.pem" % name,
            "-out", "%s.csr" % name, cwd=directory)
    ext = os.path.join(directory, "%s.ext" % name)
    with open(ext, "w") as handle:
        handle.write(extensions)
    openssl("x509", "-req", "-in", "%s.csr" % name, "-CA", "%s.pem" % ca, "-CAkey", "%s-key.pem" % ca,
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", "%s.pem" % name, cwd=directory)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tls_engine(tmp_path_factory):
    """https://127.0.0.1:PORT in front of /var/run/docker.sock; certificates in a directory."""
    if not os.path.exists(NGINX_STREAM_MODULE) or not shutil.which("nginx"):
        pytest.fail("nginx with the stream module is needed: tests/lab/lab setup installs it")
    work = str(tmp_path_factory.mktemp("tls"))
    make_ca(work, "ca")
    make_ca(work, "other-ca")
    make_cert(work, "server", "ca", "subjectAltName=DNS:engine.lab\nextendedKeyUsage=serverAuth\n")
    make_cert(work, "client", "ca", "extendedKeyUsage=clientAuth\n")
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as handle:
        handle.write("""load_module %(module)s;
user root;
daemon off;
pid %(work)s/nginx.pid;
error_log %(work)s/error.log;
events {}
stream {
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(work)s/server.pem;
        ssl_certificate_key %(work)s/server-key.pem;
        ssl_client_certificate %(work)s/ca.pem;
        ssl_verify_client on;
        proxy_pass unix:/var/run/docker.sock;
    }
}
""" % {"module": NGINX_STREAM_MODULE, "work": work, "port": port})
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("nginx did not start: %s" % proc.stderr.read().decode())
    yield {"port": port, "dir": work, "url": "tcp://127.0.0.1:%d" % port}
    proc.terminate()
    proc.wait(10)


def certs(tls_engine, ca="ca", client=True):
    options = {"ca_path": os.path.join(tls_engine["dir"], "%s.pem" % ca)}
    if client:
        options["client_cert"] = os.path.join(tls_engine["dir"], "client.pem")
        options["client_key"] = os.path.join(tls_engine["dir"], "client-key.pem")
    return options


def test_mutual_tls_with_hostname_check(tls_engine, docker_cli):
    client = EngineClient(tls_engine["url"], tls=True, tls_hostname="engine.lab", **certs(tls_engine))
    assert client.version_info()["Version"] == docker_cli("version", "--format", "{{.Server.Version}}")
    assert isinstance(client.get("/containers/json", params={"all": True}), list)


def test_hostname_mismatch_is_refused(tls_engine):
    client = EngineClient(tls_engine["url"], tls=True, **certs(tls_engine))  # 127.0.0.1 is not on the cert
    with pytest.raises(EngineError) as caught:
        client.version_info()
    assert caught.value.kind == "tls" and "tls_hostname" in str(caught.value)


def test_unknown_ca_is_refused(tls_engine):
    client = EngineClient(tls_engine["url"], tls=True, tls_hostname="engine.lab", **certs(tls_engine, ca="other-ca"))
    with pytest.raises(EngineError) as caught:
        client.version_info()
    assert caught.value.kind == "tls" and "could not be verified" in str(caught.value)
    assert tls_engine["url"].replace("tcp://", "https://") in str(caught.value)


def test_missing_client_certificate_is_refused(tls_engine):
    client = EngineClient(tls_engine["url"], tls=True, tls_hostname="engine.lab",
                          **certs(tls_engine, client=False))
    with pytest.raises(EngineError) as caught:
        client.version_info()
    assert caught.value.kind == "tls", str(caught.value)
    assert "client_cert" in str(caught.value), str(caught.value)


def test_validate_certs_false_skips_verification_only(tls_engine):
    options = certs(tls_engine)
    options.pop("ca_path")
    client = EngineClient(tls_engine["url"], tls=True, validate_certs=False, **options)
    assert client.version_info()["ApiVersion"]


def test_engine_info_over_tls(run_playbook, tls_engine):
    task = {"name": "info", "register": "facts",
            "dockhand.runtime.engine_info": dict(docker_host=tls_engine["url"], tls=True, tls_hostname="engine.lab",
                                                 **certs(tls_engine))}
    refused = {"name": "refused", "register": "refused",
               "dockhand.runtime.engine_info": dict(docker_host=tls_engine["url"], tls=True,
                                                    **certs(tls_engine))}
    run = run_playbook(local_play([task, refused]))
    assert run.rc == 0, str(run)
    assert run.result("info")["engine"]["running"] is True
    assert run.result("info")["engine"]["endpoint"] == tls_engine["url"].replace("tcp://", "https://")
    assert run.result("refused")["engine"]["running"] is False
    assert run.result("refused")["engine"]["error_kind"] == "tls"
