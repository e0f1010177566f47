"""registry_cache in the lab: a pull-through cache run as a service of its own on host13.

Host13 starts as the user of issue 15 had it: the distribution's docker-registry.service, with its
own /etc/docker/registry/config.yml, serves on :5000 (here a pull-through cache of the lab's hub).
The role deploys the cache on :5001 with that registry as its upstream, in a unit, a configuration
directory and a storage directory of its own, and must leave the packaged registry as it was.

Network rule: the chain always ends at the lab's hub (never the role's default,
registry-1.docker.io), every request goes to a lab container or to 127.0.0.1, and every lab
address is read from Docker and checked against the subnet of the lab network before use.
"""

import hashlib
import ipaddress
import json
import secrets
import shutil
import subprocess
import time
import urllib.request

import pytest
import yaml
from conftest import PlaybookRun, ansible_env, assert_no_traceback, tool

pytestmark = pytest.mark.lab

CACHE_HOST = "dockhand-lab-host13"
CLIENT_HOST = "dockhand-lab-host14"
LAB_NETWORK = "dockhand-lab"
HUB = "http://dockhand-lab-hub:5000"
HUB_LOCAL = "http://127.0.0.1:5000"
PACKAGED_PORT = 5000  # the packaged docker-registry.service, the user's own registry
UPSTREAM = "http://127.0.0.1:%d" % PACKAGED_PORT  # the cache's upstream: that registry, on the same host
PORT = 5001
ROLE = "dockhand.runtime.registry_cache"
UNIT = "dockhand-registry-cache"
CONFIG = "/etc/dockhand/registry-cache/config.yml"
HTPASSWD = "/etc/dockhand/registry-cache/htpasswd"
STORAGE = "/var/lib/dockhand-registry-cache"
PACKAGED_CONFIG = "/etc/docker/registry/config.yml"
PACKAGED_STORAGE = "/var/lib/docker-registry"
# The user's own registry: a pull-through cache of the hub on :5000, configured by hand.
PACKAGED_CONFIG_TEXT = """version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: :%d
proxy:
  remoteurl: %s
""" % (PACKAGED_STORAGE, PACKAGED_PORT, HUB)
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


# --- the lab's containers, reached with docker exec; addresses from Docker itself -------------

def docker(*args, stdin=None, check=True):
    return subprocess.run([shutil.which("docker"), *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=check)


def on(container, *argv, stdin=None, check=True):
    """Run argv in a lab container; returns (rc, stdout bytes, stderr text)."""
    done = docker("exec", "-i", container, *argv, stdin=stdin, check=False)
    if check:
        assert done.returncode == 0, "%s in %s: %s" % (argv, container, done.stderr.decode(errors="replace"))
    return done.returncode, done.stdout, done.stderr.decode(errors="replace")


def text_on(container, *argv):
    return on(container, *argv)[1].decode()


def lab_ip(container):
    """The container's address on the lab network, refused unless it lies in that network's subnet."""
    subnets = json.loads(docker("network", "inspect", LAB_NETWORK, "--format", "{{json .IPAM.Config}}").stdout)
    address = json.loads(docker("inspect", container, "--format", "{{json .NetworkSettings.Networks}}").stdout)[
        LAB_NETWORK]["IPAddress"]
    assert any(ipaddress.ip_address(address) in ipaddress.ip_network(net["Subnet"]) for net in subnets), address
    return address


def curl(container, url, *options):
    """curl from a lab host: (HTTP status, body bytes). Never follows a proxy, never leaves url's host."""
    rc, out, err = on(container, "curl", "--silent", "--show-error", "--noproxy", "*", "--max-time", "20",
                      "--output", "-", "--write-out", "\n%{http_code}", *options, url, check=False)
    assert rc == 0, "curl %s from %s: %s" % (url, container, err)
    body, _newline, status = out.rpartition(b"\n")
    return int(status), body


def hub_manifest(repository, reference):
    """The hub's own answer, over loopback from this machine: (digest, manifest)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request("%s/v2/%s/manifests/%s" % (HUB_LOCAL, repository, reference),
                                     headers={"Accept": MANIFEST_TYPES})
    with opener.open(request, timeout=10) as answer:
        return answer.headers["Docker-Content-Digest"], json.loads(answer.read())


def main_pid(unit=UNIT):
    return text_on(CACHE_HOST, "systemctl", "show", "--property", "MainPID", "--value", unit).strip()


def packaged_state():
    """(checksum of /etc/docker/registry/config.yml, MainPID of docker-registry.service, files in its dir)."""
    return (sha256_on(CACHE_HOST, PACKAGED_CONFIG), main_pid("docker-registry"),
            text_on(CACHE_HOST, "ls", "-A", "/etc/docker/registry"))


def sha256_on(container, path):
    return text_on(container, "sha256sum", path).split()[0]


# --- playbooks ----------------------------------------------------------------------------------

def cache_play(**role_vars):
    wanted = {"registry_cache_upstream_url": UPSTREAM, "registry_cache_address": "{{ lab_ip }}",
              "registry_cache_port": PORT}
    wanted.update(role_vars)
    return [{"name": "registry cache", "hosts": CACHE_HOST, "gather_facts": False,
             "roles": [{"role": ROLE, "vars": wanted}]}]


def role_records(run, suffix):
    """Records of the role's task whose name ends with suffix (names read 'role : task'); the task files of
    service and container mode share some names, so the one that ran comes first."""
    found = [r for r in run.records if r["task"].endswith(suffix)]
    assert found, "task %r did not run; output:\n%s" % (suffix, run.output[-3000:])
    return sorted(found, key=lambda record: record["status"] == "skipped")  # where it ran, first


def changed_tasks(run):
    return sorted({r["task"] for r in run.records if r["status"] == "changed"})


def failure(run):
    """The message of the failure that stopped the run (a rescued failure comes before it)."""
    failed = [r for r in run.records if r["status"] == "failed"]
    assert run.rc != 0 and failed, str(run)
    return failed[-1]["result"].get("msg", "")


class ModuleRunner:
    """run_playbook for the module-scoped deployment (same environment and recording)."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    def __call__(self, plays, inventory, timeout=900):
        self.count += 1
        playbook = self.directory / ("play%d.yml" % self.count)
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
        record = self.directory / ("record%d.jsonl" % self.count)
        record.write_text("")
        started = time.monotonic()
        proc = subprocess.run([tool("ansible-playbook"), str(playbook), "-i", inventory],
                              env=ansible_env(str(record)), cwd=str(self.directory), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
        records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        return PlaybookRun(proc.returncode, proc.stdout, records, time.monotonic() - started)


@pytest.fixture(scope="module")
def packaged(lab, tmp_path_factory):
    """CACHE_HOST with the packaged docker-registry.service serving on :5000, configured by its user."""
    run_once = ModuleRunner(tmp_path_factory.mktemp("packaged_registry"))
    run = run_once([{"name": "the user's own registry", "hosts": CACHE_HOST, "gather_facts": False, "tasks": [
        {"name": "install docker-registry", "ansible.builtin.apt": {
            "name": ["docker-registry", "curl"], "update_cache": True, "cache_valid_time": 3600,
            "install_recommends": False}},
        {"name": "configure it", "ansible.builtin.copy": {"dest": PACKAGED_CONFIG, "content": PACKAGED_CONFIG_TEXT},
         "register": "configured"},
        {"name": "run it", "ansible.builtin.systemd_service": {"name": "docker-registry", "state": "started",
                                                               "enabled": True}},
        {"name": "restart it", "ansible.builtin.systemd_service": {"name": "docker-registry", "state": "restarted"},
         "when": "configured is changed"},
        {"name": "it answers", "ansible.builtin.uri": {"url": UPSTREAM + "/v2/"}, "register": "answer",
         "until": "answer.status == 200", "retries": 20, "delay": 1},
    ]}], lab["inventory"])
    assert run.rc == 0, str(run)
    return packaged_state()


@pytest.fixture(scope="module")
def cache(lab, tmp_path_factory, packaged):
    """The cache deployed on CACHE_HOST:5001 with the role's defaults, the packaged registry as upstream."""
    run_once = ModuleRunner(tmp_path_factory.mktemp("registry_cache"))
    run = run_once(cache_play(), lab["inventory"])
    assert run.rc == 0, str(run)
    assert_no_traceback(run)
    print("\nregistry_cache: first deploy on %s took %.1f s" % (CACHE_HOST, run.seconds))
    deployed = {"run": run, "ip": lab_ip(CACHE_HOST), "inventory": lab["inventory"], "runner": run_once,
                "plain_config": sha256_on(CACHE_HOST, CONFIG), "packaged": packaged}
    yield deployed
    # Leave the host as the role's defaults make it, whatever a failed test left behind.
    deploy_plain(deployed)


def is_plain(cache):
    """The host is as the plain deployment left it: its config, no htpasswd, anonymous pulls over HTTP."""
    if sha256_on(CACHE_HOST, CONFIG) != cache["plain_config"]:
        return False
    if on(CACHE_HOST, "test", "-e", HTPASSWD, check=False)[0] == 0:
        return False
    _rc, status, _err = on(CLIENT_HOST, "curl", "--silent", "--noproxy", "*", "--max-time", "10", "--output",
                           "/dev/null", "--write-out", "%{http_code}", "http://%s:%d/v2/" % (cache["ip"], PORT),
                           check=False)
    return status == b"200"


def deploy_plain(cache):
    """Deploy the plain cache again, unless the host is already so (a test that changes the
    deployment leaves it for the next test that needs the plain one, and the last one)."""
    if not is_plain(cache):
        run = cache["runner"](cache_play(), cache["inventory"])
        assert run.rc == 0, str(run)


@pytest.fixture
def plain_deployment(cache):
    """The cache as the role's defaults deploy it, before the test."""
    deploy_plain(cache)


def fetch_manifest(ip, repository="library/busybox", reference="latest", auth=()):
    status, body = curl(CLIENT_HOST, "http://%s:%d/v2/%s/manifests/%s" % (ip, PORT, repository, reference),
                        "--header", "Accept: " + MANIFEST_TYPES, *auth)
    assert status == 200, (status, body[:500])
    manifest = json.loads(body)
    if "manifests" in manifest:  # an index: follow its first entry
        return fetch_manifest(ip, repository, manifest["manifests"][0]["digest"], auth)
    return manifest


# --- the tests ----------------------------------------------------------------------------------

@pytest.fixture
def empty_storage(cache, plain_deployment):
    """The plain cache with nothing cached yet: its storage emptied while it is stopped."""
    on(CACHE_HOST, "sh", "-c", "systemctl stop %s && rm -rf %s/docker && systemctl start %s" % (UNIT, STORAGE, UNIT))
    for _attempt in range(40):
        if on(CLIENT_HOST, "curl", "--silent", "--noproxy", "*", "--max-time", "2", "--output", "/dev/null",
              "http://%s:%d/v2/" % (cache["ip"], PORT), check=False)[0] == 0:
            return
        time.sleep(0.5)
    pytest.fail("the cache did not answer after its storage was emptied")


def test_serves_the_hub_through_the_cache(cache, empty_storage):
    ip = cache["ip"]
    run = cache["run"]
    fact = role_records(run, "Publish the address the fleet uses as its mirror")[0]["result"]["ansible_facts"]
    assert fact["registry_cache_mirror_url"] == "http://%s:%d" % (ip, PORT)

    # A client host asks the cache; the cache has nothing yet, so it pulls from its upstream (the hub's cache).
    status, body = curl(CLIENT_HOST, "http://%s:%d/v2/" % (ip, PORT))
    assert status == 200, body
    digest, from_hub = hub_manifest("library/busybox", "latest")
    manifest_url = "http://%s:%d/v2/library/busybox/manifests/latest" % (ip, PORT)
    rc, headers, _stderr = on(CLIENT_HOST, "curl", "--silent", "--noproxy", "*", "--max-time", "20", "--head",
                              "--header", "Accept: " + MANIFEST_TYPES, manifest_url)
    assert b"docker-content-digest: " + digest.encode() in headers.lower(), headers
    manifest = fetch_manifest(ip)
    assert manifest == from_hub

    # The layer comes through the cache, bit for bit.
    layer = manifest["layers"][0]["digest"]
    blob_url = "http://%s:%d/v2/library/busybox/blobs/%s" % (ip, PORT, layer)
    stored = "%s/docker/registry/v2/blobs/sha256/%s/%s/data" % (STORAGE, layer[7:9], layer[7:])
    assert on(CACHE_HOST, "test", "-e", stored, check=False)[0] != 0  # not cached before this pull
    status, blob = curl(CLIENT_HOST, blob_url, "--location")
    assert status == 200
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer

    # ... and is now kept in the cache's own storage on the cache host.
    for _attempt in range(20):
        if on(CACHE_HOST, "test", "-f", stored, check=False)[0] == 0:
            break
        time.sleep(0.5)
    assert sha256_on(CACHE_HOST, stored) == layer[7:]

    # The files the role owns.
    assert text_on(CACHE_HOST, "stat", "--format", "%U %G %a", CONFIG).split() == ["root", "docker-registry", "640"]
    assert text_on(CACHE_HOST, "stat", "--format", "%U %G %a", "/etc/dockhand").split() == ["root", "root", "755"]
    assert text_on(CACHE_HOST, "stat", "--format", "%U %G %a", STORAGE).split() == [
        "docker-registry", "docker-registry", "750"]
    config = yaml.safe_load(text_on(CACHE_HOST, "cat", CONFIG))
    assert config["proxy"] == {"remoteurl": UPSTREAM}
    assert config["http"]["addr"] == "0.0.0.0:%d" % PORT
    assert config["storage"]["filesystem"]["rootdirectory"] == STORAGE
    assert "auth" not in config and "tls" not in config["http"]
    assert text_on(CACHE_HOST, "systemctl", "is-enabled", UNIT).strip() == "enabled"
    unit = text_on(CACHE_HOST, "systemctl", "cat", UNIT)
    assert "Restart=on-failure" in unit and "ExecStart=/usr/bin/docker-registry serve %s" % CONFIG in unit


def test_the_packaged_registry_is_left_alone(cache, plain_deployment):
    """Issue 15 #2: the user's docker-registry.service keeps its config, its process and its storage."""
    assert packaged_state() == cache["packaged"]  # config checksum, MainPID, no backup or other file added
    assert text_on(CACHE_HOST, "systemctl", "is-active", "docker-registry").strip() == "active"
    assert "dockhand" not in text_on(CACHE_HOST, "systemctl", "cat", "docker-registry")  # no drop-in
    status, body = curl(CLIENT_HOST, "http://%s:%d/v2/library/hello/manifests/latest" % (cache["ip"], PACKAGED_PORT),
                        "--header", "Accept: " + MANIFEST_TYPES)
    assert status == 200 and json.loads(body)["layers"], body[:300]  # it still serves, on its own port


def test_second_run_changes_nothing_and_tags_cover_the_role(cache, plain_deployment, run_playbook, monkeypatch):
    pid = main_pid()
    again = run_playbook(cache_play(), inventory=cache["inventory"])
    assert again.rc == 0, str(again)
    assert changed_tasks(again) == []
    assert main_pid() == pid
    print("\nregistry_cache: re-run with nothing to change took %.1f s" % again.seconds)

    # With --tags registry_cache every task of the role still runs.
    monkeypatch.setenv("ANSIBLE_RUN_TAGS", "registry_cache")
    tagged = run_playbook(cache_play(), inventory=cache["inventory"])
    assert tagged.rc == 0, str(tagged)
    assert [r["task"] for r in tagged.records] == [r["task"] for r in again.records]
    assert changed_tasks(tagged) == []


def test_check_mode_reports_and_touches_nothing(cache, plain_deployment, run_playbook):
    pid = main_pid()
    before = sha256_on(CACHE_HOST, CONFIG)
    run = run_playbook(cache_play(registry_cache_log_level="debug"), inventory=cache["inventory"],
                       check=True, diff=True)
    assert run.rc == 0, str(run)
    write_task = "Write the registry configuration (tested first by the registry itself)"
    assert [r["status"] for r in role_records(run, write_task) if r["status"] != "skipped"] == ["changed"]
    assert "+  level: debug" in run.output
    assert sha256_on(CACHE_HOST, CONFIG) == before
    assert main_pid() == pid
    assert curl(CLIENT_HOST, "http://%s:%d/v2/" % (cache["ip"], PORT))[0] == 200


@pytest.fixture
def without_the_package(lab):
    """CLIENT_HOST without docker-registry and without anything of the cache (purged if a test left them)."""
    on(CLIENT_HOST, "sh", "-c", "if dpkg-query --show docker-registry >/dev/null 2>&1; then "
                                "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q docker-registry >/dev/null; fi; "
                                "rm -rf /etc/dockhand/registry-cache /etc/systemd/system/%s.service" % UNIT)


def test_check_mode_on_a_host_without_the_package(lab, without_the_package, run_playbook):
    """Check mode before the package exists: it says what it would do and writes nothing."""
    host = CLIENT_HOST

    def state():
        return on(host, "sh", "-c", "dpkg-query --show --showformat '${db:Status-Status}' docker-registry; "
                                    "ls -la /etc/dockhand /etc/docker /etc/systemd/system /var/lib", check=False)[1]

    before = state()
    assert not before.startswith(b"installed")
    play = cache_play(registry_cache_auth_users=[{"name": "fleet", "password": "pw-" + secrets.token_hex(6)}])
    play[0]["hosts"] = host
    run = run_playbook(play, inventory=lab["inventory"], check=True)
    assert run.rc == 0, str(run)
    assert state() == before
    changed = [t.split(" : ")[-1] for t in changed_tasks(run)]
    assert "Report the packages check mode would install" in changed
    assert "Write the registry configuration (tested first by the registry itself)" in changed
    assert "Write the unit of the cache" in changed
    assert "Report the users check mode would set or remove" in changed
    assert_no_traceback(run)


def test_basic_auth_and_no_secret_in_any_output(cache, plain_deployment, run_playbook, monkeypatch):
    ip = cache["ip"]
    password = "pw-" + secrets.token_urlsafe(12)
    upstream_password = "up-" + secrets.token_urlsafe(12)
    users = [{"name": "fleet", "password": password}]
    secret_vars = {"registry_cache_auth_users": users, "registry_cache_upstream_username": "dockhand",
                   "registry_cache_upstream_password": upstream_password}
    # An htpasswd file left readable by everyone gets the right mode (issue 9), not only a new one.
    on(CACHE_HOST, "install", "-m", "0644", "/dev/null", HTPASSWD)
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    run = run_playbook(cache_play(**secret_vars), inventory=cache["inventory"])
    assert run.rc == 0, str(run)
    v2 = "http://%s:%d/v2/" % (ip, PORT)

    status, _body = curl(CLIENT_HOST, v2)
    assert status == 401
    rc, headers, _stderr = on(CLIENT_HOST, "curl", "--silent", "--noproxy", "*", "--head", v2)
    assert b'www-authenticate: basic realm="registry-cache"' in headers.lower()
    assert curl(CLIENT_HOST, v2, "--user", "fleet:wrong")[0] == 401
    assert curl(CLIENT_HOST, v2, "--user", "fleet:" + password)[0] == 200
    assert fetch_manifest(ip, "library/hello", auth=("--user", "fleet:" + password))["layers"]

    # bcrypt hashes, readable by the registry only; the upstream credentials are in the config.
    line = text_on(CACHE_HOST, "cat", HTPASSWD).strip()
    assert line.startswith("fleet:$2y$10$") and password not in line
    assert text_on(CACHE_HOST, "stat", "--format", "%U %G %a", HTPASSWD).split() == ["root", "docker-registry", "640"]
    config = yaml.safe_load(text_on(CACHE_HOST, "cat", CONFIG))
    assert config["proxy"]["password"] == upstream_password
    assert config["auth"]["htpasswd"]["path"] == HTPASSWD

    # No password in the output (-vvv), in any recorded result, or in the host's journal.
    pid = main_pid()
    again = run_playbook(cache_play(**secret_vars), inventory=cache["inventory"])
    assert again.rc == 0, str(again)
    assert changed_tasks(again) == []  # a salted hash is not rewritten when its password still matches
    for each in (run, again):
        recorded = json.dumps(each.records)
        for secret in (password, upstream_password):
            assert secret not in each.output and secret not in recorded
    journal = text_on(CACHE_HOST, "journalctl", "--no-pager", "--output", "cat")
    assert password not in journal and upstream_password not in journal

    # A new password: only the hash changes, the registry rereads it without a restart.
    new_password = "pw-" + secrets.token_urlsafe(12)
    rotated_vars = dict(secret_vars)
    rotated_vars["registry_cache_auth_users"] = [{"name": "fleet", "password": new_password}]
    rotated = run_playbook(cache_play(**rotated_vars), inventory=cache["inventory"])
    assert rotated.rc == 0, str(rotated)
    assert [t.split(" : ")[-1] for t in changed_tasks(rotated)] == ["Set the password of each new or changed user"]
    assert main_pid() == pid
    assert curl(CLIENT_HOST, v2, "--user", "fleet:" + password)[0] == 401
    assert curl(CLIENT_HOST, v2, "--user", "fleet:" + new_password)[0] == 200
    assert new_password not in rotated.output and new_password not in json.dumps(rotated.records)

    # No users: the file goes, anonymous pulls work again.
    plain = run_playbook(cache_play(), inventory=cache["inventory"])
    assert plain.rc == 0, str(plain)
    assert curl(CLIENT_HOST, v2)[0] == 200
    assert on(CACHE_HOST, "test", "-e", HTPASSWD, check=False)[0] != 0


def test_tls_from_content(cache, plain_deployment, run_playbook, tmp_path):
    ip = cache["ip"]
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=%s" % CACHE_HOST, "-addext",
                    "subjectAltName=IP:%s,DNS:%s" % (ip, CACHE_HOST), "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    run = run_playbook(cache_play(registry_cache_tls_cert=cert.read_text(), registry_cache_tls_key=key.read_text()),
                       inventory=cache["inventory"])
    assert run.rc == 0, str(run)
    assert key.read_text().strip().splitlines()[1] not in run.output + json.dumps(run.records)
    fact = role_records(run, "Publish the address the fleet uses as its mirror")[0]["result"]["ansible_facts"]
    assert fact["registry_cache_mirror_url"] == "https://%s:%d" % (ip, PORT)
    assert text_on(CACHE_HOST, "stat", "--format", "%U %G %a", "/etc/dockhand/registry-cache/tls/key.pem").split() == [
        "root", "docker-registry", "640"]

    on(CLIENT_HOST, "sh", "-c", "cat > /tmp/registry-cache-ca.pem", stdin=cert.read_bytes())
    url = "https://%s:%d/v2/library/busybox/manifests/stable" % (ip, PORT)
    status, body = curl(CLIENT_HOST, url, "--cacert", "/tmp/registry-cache-ca.pem", "--header",
                        "Accept: " + MANIFEST_TYPES)
    assert status == 200 and json.loads(body)["layers"]
    assert curl(CLIENT_HOST, "http://%s:%d/v2/" % (ip, PORT))[0] == 400  # plain HTTP to a TLS port

    again = run_playbook(cache_play(registry_cache_tls_cert=cert.read_text(), registry_cache_tls_key=key.read_text()),
                         inventory=cache["inventory"])
    assert again.rc == 0 and changed_tasks(again) == [], str(again)


def test_registry_that_does_not_come_up_is_explained(cache, plain_deployment, run_playbook):
    """A cache that never answers: the role says why (the next test that needs the plain cache redeploys it)."""
    run = run_playbook(cache_play(registry_cache_upstream_url="http://dockhand-lab-hub:5999",
                                  registry_cache_validate=False, registry_cache_wait_timeout=6),
                       inventory=cache["inventory"])
    msg = failure(run)
    assert "did not answer" in msg and "within 6 s" in msg, msg
    assert "journalctl -u %s" % UNIT in msg and "connection refused" in msg, msg
    assert_no_traceback(run)


SECRET = "never-" + secrets.token_hex(8)


BAD_INPUT = [
    ({"registry_cache_port": PACKAGED_PORT},
     ("registry_cache_port 5000 on %s is taken by docker-registry (pid " % CACHE_HOST,
      "): the packaged docker-registry.service, configured by /etc/docker/registry/config.yml. The cache does not "
      "take over a registry it does not own")),
    ({"registry_cache_storage_path": PACKAGED_STORAGE},
     "registry_cache_storage_path /var/lib/docker-registry is the storage (rootdirectory) of the packaged "
     "docker-registry.service, configured by /etc/docker/registry/config.yml"),
    ({"registry_cache_storage_path": "/var/lib/cache\nTrusted: yes"},
     "registry_cache_storage_path must be an absolute directory other than /"),
    ({"registry_cache_upstream_url": "http://dockhand-lab-hub:5000\n"}, "registry_cache_upstream_url must be"),
    ({"registry_cache_port": 70000}, "registry_cache_port must be a TCP port from 1 to 65535; got 70000"),
    ({"registry_cache_port": "http"}, "argument 'registry_cache_port' is of type"),
    ({"registry_cache_upstream_url": "dockhand-lab-hub:5000"}, "registry_cache_upstream_url must be an http://"),
    ({"registry_cache_upstream_url": "https://user:%s@hub.lan" % SECRET}, "registry_cache_upstream_url must be"),
    ({"registry_cache_upstream_url": "ftp://dockhand-lab-hub:5000"}, "registry_cache_upstream_url must be"),
    ({"registry_cache_mode": "podman"}, "registry_cache_mode must be one of: service, container"),
    ({"registry_cache_mode": "container"}, "registry_cache_mode: container needs registry_cache_image"),
    ({"registry_cache_mode": "container", "registry_cache_image": "registry:2\n"}, "registry_cache_image must be"),
    ({"registry_cache_mode": "container", "registry_cache_image": "registry:2",
      "registry_cache_image_config_dir": "etc/registry"}, "registry_cache_image_config_dir must be an absolute"),
    ({"registry_cache_storage_path": "cache"}, "registry_cache_storage_path must be an absolute directory"),
    ({"registry_cache_ttl": "7 days"}, "registry_cache_ttl must be a Go duration"),
    ({"registry_cache_ttl": "72h"}, "registry_cache_ttl needs the distribution registry 3.0 or newer"),
    ({"registry_cache_upstream_password": SECRET}, "registry_cache_upstream_username and "
                                                   "registry_cache_upstream_password go together"),
    ({"registry_cache_tls_cert_path": "/etc/ssl/cache.pem"}, "registry_cache_tls_cert_path and "
                                                             "registry_cache_tls_key_path go together"),
    ({"registry_cache_tls_cert_path": "/nonexistent/cert.pem", "registry_cache_tls_key_path": "/nonexistent/key.pem"},
     "registry_cache_tls_cert_path /nonexistent/cert.pem is not a file"),
    ({"registry_cache_auth_users": [{"name": "fleet"}]}, "missing required arguments: password found in "
                                                         "registry_cache_auth_users"),
    ({"registry_cache_auth_users": [{"name": "fleet", "password": SECRET, "pasword": SECRET}]},
     "registry_cache_auth_users.pasword"),
    ({"registry_cache_auth_users": [{"name": "a:b", "password": SECRET}]}, "check \"a:b\""),
    ({"registry_cache_auth_users": [{"name": "fleet", "password": SECRET * 5}]},
     "the password of fleet must be non-empty, on one line and at most 72 bytes"),
    ({"registry_cache_auth_users": [{"name": "fleet", "password": SECRET}, {"name": "fleet", "password": "x"}]},
     "each name may appear once; repeated: fleet."),
]
UNREACHABLE = {"registry_cache_upstream_url": "http://dockhand-lab-hub:5999"}
FAILING_CASES = [role_vars for role_vars, _words in BAD_INPUT] + [UNREACHABLE]


def failing_play():
    """One play for every case that must fail and change nothing: each case includes the role in a
    block whose rescue notes the failure; after each case the controller reads the config's checksum
    and the registry's PID with docker exec (a lookup: no extra task on the host)."""
    probe = ("%s exec %s sh -c 'sha256sum %s %s; systemctl show --property MainPID --value docker-registry; "
             "systemctl show --property MainPID --value %s'" % (shutil.which("docker"), CACHE_HOST, CONFIG,
                                                                PACKAGED_CONFIG, UNIT))
    tasks = []
    for index, role_vars in enumerate(FAILING_CASES):
        wanted = {"registry_cache_upstream_url": UPSTREAM, "registry_cache_address": "{{ lab_ip }}",
                  "registry_cache_port": PORT}
        wanted.update(role_vars)
        tasks.append({"name": "case %d" % index, "block": [
            {"name": "case %d: begin" % index, "ansible.builtin.set_fact": {"dockhand_case": index}},
            {"name": "case %d: the role" % index, "ansible.builtin.include_role": {"name": ROLE}, "vars": wanted},
        ], "rescue": [
            {"name": "case %d: rescued" % index, "ansible.builtin.set_fact": {"dockhand_case_failed": index}},
        ], "always": [
            {"name": "case %d: end" % index,
             "ansible.builtin.set_fact": {"dockhand_case_state": "{{ lookup('ansible.builtin.pipe', probe) }}"}},
        ]})
    return [{"name": "failing cases", "hosts": CACHE_HOST, "gather_facts": False, "vars": {"probe": probe},
             "tasks": tasks}]


@pytest.fixture(scope="module")
def failing_run(cache):
    """All the failing cases in one ansible-playbook run, with the state they all must leave alone."""
    deploy_plain(cache)
    before = (sha256_on(CACHE_HOST, CONFIG), sha256_on(CACHE_HOST, PACKAGED_CONFIG), main_pid("docker-registry"),
              main_pid())
    run = cache["runner"](failing_play(), cache["inventory"])
    print("\nregistry_cache: %d failing cases in one run took %.1f s" % (len(FAILING_CASES), run.seconds))
    # Right after the run (later tests change the deployment): the cache still answers.
    serving = curl(CLIENT_HOST, "http://%s:%d/v2/" % (cache["ip"], PORT))[0]
    return {"run": run, "before": before, "serving_after": serving}


def case_records(run, index):
    """The records of one case of failing_play, from its first task to its last."""
    names = [r["task"] for r in run.records]
    for marker in ("case %d: begin" % index, "case %d: end" % index):
        assert marker in names, "%s did not run:\n%s" % (marker, run.output[-3000:])
    return run.records[names.index("case %d: begin" % index):names.index("case %d: end" % index) + 1]


def case_failure(run, index):
    """The message of the failure that stopped the case (a failure rescued inside the role comes before it)."""
    records = case_records(run, index)
    failed = [r for r in records if r["status"] == "failed"]
    assert failed and records[-2]["task"] == "case %d: rescued" % index, run.output[-3000:]
    return failed[-1]["result"].get("msg", "")


def case_state(run, index):
    """(checksum of the cache's config, of the packaged registry's, PID of each) right after the case."""
    words = case_records(run, index)[-1]["result"]["ansible_facts"]["dockhand_case_state"].split()
    return words[0], words[2], words[4], words[5]


def test_unreachable_upstream_is_refused_before_the_switch(failing_run):
    """distribution 2.8 exits at start when its upstream does not answer: the old config stays."""
    run, index = failing_run["run"], FAILING_CASES.index(UNREACHABLE)
    msg = case_failure(run, index)
    assert "left as it was" in msg and "dockhand-lab-hub:5999" in msg and "connection refused" in msg, msg
    assert case_state(run, index) == failing_run["before"]  # the config and the registry's PID
    assert failing_run["serving_after"] == 200
    assert_no_traceback(run)


def _words(words):
    return words if isinstance(words, tuple) else (words,)


@pytest.mark.parametrize("index, words", [(index, words) for index, (_vars, words) in enumerate(BAD_INPUT)],
                         ids=["%d-%s" % (index, _words(words)[0][:60])
                              for index, (_vars, words) in enumerate(BAD_INPUT)])
def test_bad_input_fails_early_and_names_the_variable(failing_run, index, words):
    run = failing_run["run"]
    msg = case_failure(run, index)
    assert all(word in msg for word in _words(words)), msg
    records = case_records(run, index)
    assert [r["task"] for r in records if r["status"] == "changed"] == []
    assert case_state(run, index) == failing_run["before"]  # the config and the registry's PID
    assert SECRET not in run.output and SECRET not in json.dumps(run.records)
    assert_no_traceback(run)


# --- container mode, on the client host -------------------------------------------------------------

CONTAINER_HOST = CLIENT_HOST
CONTAINER_PORT = 5002
LAB_REGISTRY_IMAGE = "dockhand-lab/registry:latest"  # built by the lab from Debian's docker-registry


@pytest.fixture
def docker_on_the_client(lab, run_playbook):
    """CLIENT_HOST with Docker and the lab's registry image, which a user would pull through their mirror
    (the hub holds no registry image, so it is loaded from this machine); removed again afterwards."""
    run = run_playbook([{"name": "docker", "hosts": CONTAINER_HOST, "gather_facts": False, "tasks": [
        {"name": "install docker.io", "ansible.builtin.apt": {"name": "docker.io", "update_cache": True,
                                                              "cache_valid_time": 3600, "install_recommends": False}},
        {"name": "start docker", "ansible.builtin.systemd_service": {"name": "docker", "state": "started"}},
    ]}], inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    saved = docker("save", LAB_REGISTRY_IMAGE).stdout
    on(CONTAINER_HOST, "docker", "load", stdin=saved)
    yield
    on(CONTAINER_HOST, "sh", "-c", "docker rm -f dockhand-registry-cache >/dev/null 2>&1; "
                                   "rm -rf /etc/dockhand/registry-cache /var/lib/dockhand-registry-cache")


def test_container_mode(lab, docker_on_the_client, run_playbook):
    """Issue 9 #7: the cache as a container (dockhand.runtime.image and container), serving the hub."""
    play = [{"name": "registry cache in a container", "hosts": CONTAINER_HOST, "gather_facts": False,
             "roles": [{"role": ROLE, "vars": {
                 "registry_cache_mode": "container", "registry_cache_image": LAB_REGISTRY_IMAGE,
                 # by address: the lab's names resolve on the lab network, not inside a host's containers
                 "registry_cache_upstream_url": "http://{{ lab_hub_registry }}", "registry_cache_port": CONTAINER_PORT,
                 "registry_cache_address": "{{ lab_ip }}"}}]}]
    run = run_playbook(play, inventory=lab["inventory"])
    assert run.rc == 0, str(run)
    ip = lab_ip(CONTAINER_HOST)
    fact = role_records(run, "Publish the address the fleet uses as its mirror")[0]["result"]["ansible_facts"]
    assert fact["registry_cache_mirror_url"] == "http://%s:%d" % (ip, CONTAINER_PORT)
    assert [r["status"] for r in role_records(run, "Run the cache container")] == ["changed"]
    inspect = json.loads(text_on(CONTAINER_HOST, "docker", "inspect", "dockhand-registry-cache"))[0]
    assert inspect["State"]["Running"] is True and inspect["Config"]["Image"].endswith(LAB_REGISTRY_IMAGE)
    assert inspect["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert sorted(m["Destination"] for m in inspect["Mounts"]) == ["/etc/docker/registry",
                                                                   "/var/lib/dockhand-registry-cache"]
    assert on(CONTAINER_HOST, "test", "-e", "/etc/systemd/system/%s.service" % UNIT, check=False)[0] != 0

    # Another host pulls the hub's image through it.
    digest, from_hub = hub_manifest("library/busybox", "latest")
    status, body = curl(CACHE_HOST, "http://%s:%d/v2/library/busybox/manifests/latest" % (ip, CONTAINER_PORT),
                        "--header", "Accept: " + MANIFEST_TYPES)
    assert status == 200 and json.loads(body) == from_hub

    def started_at():
        return json.loads(text_on(CONTAINER_HOST, "docker", "inspect", "dockhand-registry-cache"))[0]["State"][
            "StartedAt"]

    again = run_playbook(play, inventory=lab["inventory"])
    assert again.rc == 0 and changed_tasks(again) == [], str(again)
    assert started_at() == inspect["State"]["StartedAt"]

    # A new configuration: kept as a backup, and the container restarted on it.
    play[0]["roles"][0]["vars"]["registry_cache_log_level"] = "debug"
    changed = run_playbook(play, inventory=lab["inventory"])
    assert changed.rc == 0, str(changed)
    assert started_at() != inspect["State"]["StartedAt"]
    assert "level: debug" in text_on(CONTAINER_HOST, "cat", CONFIG)
    assert "level: info" in text_on(CONTAINER_HOST, "sh", "-c", "cat %s.*~" % CONFIG)
    assert curl(CACHE_HOST, "http://%s:%d/v2/" % (ip, CONTAINER_PORT))[0] == 200
    assert_no_traceback(run)
