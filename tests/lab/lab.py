"""dockhand lab: disposable Debian hosts in Docker for testing dockhand.runtime.

Subcommands (see tests/lab/README.md):

    lab setup              install packages, start dockerd, build images, start the hub and mirrors
    lab up [N]             setup, then exactly N hosts (default 3), write the inventory
    lab down [--images]    remove everything labelled dockhand.lab=1 (and the images)
    lab status [--json]    hosts, ports, hub, mirror stand-ins
    lab exec HOST CMD...   run a command in a host (docker exec)
    lab ssh HOST [CMD...]  ssh into a host with the lab key

Python 3 standard library only: it runs with the system python3 before any
virtualenv exists. Everything the lab creates carries the label dockhand.lab=1
and is found again by that label, never by name.
"""

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

# --------------------------------------------------------------------------
# Constants and knobs
# --------------------------------------------------------------------------

LAB_DIR = Path(__file__).resolve().parent
IMAGES_DIR = LAB_DIR / "images"
STATE_DIR = Path(os.environ.get("DOCKHAND_LAB_STATE_DIR") or (LAB_DIR / "state")).resolve()
SSH_DIR = STATE_DIR / "ssh"
SSH_KEY = SSH_DIR / "id_ed25519"
AUTHORIZED_KEYS = SSH_DIR / "authorized_keys"
INVENTORY = STATE_DIR / "inventory.yml"
LAB_JSON = STATE_DIR / "lab.json"
CACHE_DIR = STATE_DIR / "cache"
BUILD_DIR = STATE_DIR / "build"
LOG_DIR = STATE_DIR / "logs"
DOCKERD_LOG = Path("/var/log/dockhand-lab-dockerd.log")
DOCKERD_PIDFILE = Path("/var/run/docker.pid")

HUB_PORT = int(os.environ.get("DOCKHAND_LAB_HUB_PORT", "5000"))
# The mirror stand-ins are published on 127.0.0.1:(BASE + offset), offsets 1-5 and 9.
MIRROR_PORT_BASE = int(os.environ.get("DOCKHAND_LAB_MIRROR_PORT_BASE", "5000"))
SSH_PORT_BASE = int(os.environ.get("DOCKHAND_LAB_SSH_PORT_BASE", "2200"))
DEBIAN_MIRROR = os.environ.get("DOCKHAND_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
CONNECTION = os.environ.get("DOCKHAND_LAB_CONNECTION", "ssh")
BOOT_TIMEOUT = int(os.environ.get("DOCKHAND_LAB_BOOT_TIMEOUT", "240"))
# "Edge" hosts, by index: the hub (the stand-in for Docker Hub) is unreachable from them, so they reach
# registries only through the lab's mirrors, as this collection's users do. The roles' and playbooks'
# tests with defaults run on them: host7 (cgroups), host8 (containers), host15 and host16 (provision.yml).
EDGE_HOSTS = frozenset(int(i) for i in os.environ.get("DOCKHAND_LAB_EDGE", "7,8,15,16,19,22,25").split(",")
                       if i.strip())

LABEL = "dockhand.lab"
LABEL_ROLE = "dockhand.lab.role"
LABEL_RECIPE = "dockhand.lab.recipe"
LABEL_CONFIG = "dockhand.lab.config"
LABEL_INDEX = "dockhand.lab.index"
LABEL_OWNER = "dockhand.lab.owner"

NETWORK = "dockhand-lab"
HUB_NAME = "dockhand-lab-hub"
HOST_PREFIX = "dockhand-lab-host"
CACHE_NAME = "dockhand-lab-cache"
SLOW_NAME = "dockhand-lab-slow"
HANG_NAME = "dockhand-lab-hang"
APT_NAME = "dockhand-lab-apt"
AUTH_MIRROR_NAME = "dockhand-lab-authmirror"
PROXY_NAME = "dockhand-lab-proxy"
STALE_NAME = "dockhand-lab-stale"

# Ports of the mirror stand-ins inside the lab network. Each is published on
# 127.0.0.1:(MIRROR_PORT_BASE + port - 5000), the same number by default.
CACHE_PORT = 5001  # dockhand-lab-cache: pull-through cache of the hub
SLOW_PORT = 5002  # dockhand-lab-slow: nginx, the hub and a package tree at 64 KB/s
ERROR_PORT = 5003  # dockhand-lab-slow: nginx, every request answers 500
HANG_PORT = 5004  # dockhand-lab-hang: accepts TCP, reads, never answers
PACKAGES_PORT = 5005  # dockhand-lab-slow: nginx, the package tree at full speed
DOCKER_CE_PORT = 5006  # dockhand-lab-apt: nginx, a signed apt repository laid out as download.docker.com
DEAD_PORT = 5009  # nothing listens here, on the lab network or on 127.0.0.1
GHCR_PORT = 5010  # dockhand-lab-ghcr: a second upstream registry, the stand-in for ghcr.io (GHCR_SEED)
GHCR_MIRROR_PORT = 5011  # dockhand-lab-ghcr-mirror: pull-through cache of dockhand-lab-ghcr
AUTH_MIRROR_PORT = 5015  # dockhand-lab-authmirror: pull-through cache of the hub behind basic auth (htpasswd)
PROXY_PORT = 5016  # dockhand-lab-proxy: tinyproxy, an HTTP proxy with basic auth, the one way edge hosts reach the hub

# Lab-only credentials of the authenticated mirror and the proxy. Tests assert these never show in any output.
AUTH_MIRROR_USER = "labmirror"
AUTH_MIRROR_PASSWORD = "mirror-Pa55-7f3c91"
PROXY_USER = "labproxy"
PROXY_PASSWORD = "proxy-Pa55-2b8e64"
STALE_PORT = 5020  # dockhand-lab-stale: a registry serving an older library/busybox:latest than the hub

IMG_BUSYBOX = "dockhand-lab/busybox:latest"
IMG_HELLO = "dockhand-lab/hello:latest"
IMG_HOST = "dockhand-lab/host:bookworm"
IMG_REGISTRY = "dockhand-lab/registry:latest"
IMG_NGINX = "dockhand-lab/nginx:latest"
IMG_PROXY = "dockhand-lab/tinyproxy:latest"
# The base of the execution environment `make ee` builds with ansible-builder (meta/execution-environment.yml).
IMG_EE_BASE = "dockhand-lab/ee-base:bookworm"
# ansible-builder 3 expects an RPM base with dnf; this Debian one works because the EE needs no system package:
# ansible-builder gets PKGMGR=/bin/true (it only cleans caches) and PYCMD=EE_BASE_PYTHON, a virtualenv's Python
# (Debian's own refuses ensurepip, which ansible-builder runs).
EE_BASE_PACKAGES = ["python3", "python3-venv", "openssh-client", "ca-certificates"]
EE_BASE_PYTHON = "/opt/ee/bin/python3"
EE_BASE_CHANGES = ['ENV PATH=/opt/ee/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                   'CMD ["bash"]']
# The CAs this machine trusts: the build's pip reaches PyPI through the same TLS trust as the controller's.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

# What `lab setup` pushes into the hub: (repository, tag, local image).
HUB_SEED = [
    ("library/busybox", "latest", IMG_BUSYBOX),
    ("library/busybox", "1.36", IMG_BUSYBOX),
    ("library/busybox", "stable", IMG_BUSYBOX),
    ("library/hello", "latest", IMG_HELLO),
]

APT_PACKAGES = [
    "docker.io", "docker-registry", "openssh-server", "debootstrap", "nginx",
    "busybox-static", "podman", "skopeo", "python3-venv",
    # for the test suite: nginx's stream module (TLS in front of dockerd),
    # openssl (test certificates), shellcheck (ansible-test sanity)
    "libnginx-mod-stream", "openssl", "shellcheck",
    # htpasswd (bcrypt) for the registries with basic auth that tests start
    "apache2-utils",
    # the docker-ce mirror stand-in: dpkg-scanpackages and dpkg-deb, gpg to sign its Release
    "dpkg-dev", "gnupg",
    # the HTTP proxy stand-in (its binary only: no service on this machine)
    "tinyproxy-bin",
    # docker-compose 1.29: an independent compose client, for the compose module's interoperability tests
    "docker-compose",
    # headless Chromium: opens the fleet report as a browser does (tests/integration/test_report.py)
    "chromium",
]

# `docker run` flags that let systemd boot as PID 1 and a nested dockerd run,
# without --privileged (which fails on this kind of machine: "unable to apply
# caps"). See README.md for the why of each one.
HOST_RUN_FLAGS = [
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined",
    "--device-cgroup-rule", "a *:* rwm",
    # Private cgroup namespace: the host's systemd and anything it runs (a
    # nested dockerd's containers too) stay inside the container's own cgroup,
    # and nothing of the machine's /sys/fs/cgroup is bind-mounted in.
    # The image's PID 1 (dockhand-lab-init) makes that tree writable.
    "--cgroupns", "private",
    "--tmpfs", "/run:rw,exec,nosuid,nodev,mode=755",
    "--tmpfs", "/run/lock:rw,noexec,nosuid,nodev",
    "--stop-signal", "SIGRTMIN+3",
]


# Per-host named volumes: an inner dockerd/containerd/podman on overlayfs would
# fall back to vfs; on a volume (ext4) they get overlay2.
HOST_VOLUMES = [
    ("docker", "/var/lib/docker"),
    ("containerd", "/var/lib/containerd"),
    ("containers", "/var/lib/containers"),
]

HOST_IMPORT_CHANGES = [
    'CMD ["/usr/local/sbin/dockhand-lab-init"]',
    "ENV container=docker",
    "EXPOSE 22",
]
BUSYBOX_IMPORT_CHANGES = ['CMD ["sh"]']
HELLO_IMPORT_CHANGES = ['CMD ["cat", "/etc/dockhand-lab/hello.txt"]']
REGISTRY_IMPORT_CHANGES = [
    'ENTRYPOINT ["/usr/bin/docker-registry"]',
    'CMD ["serve", "/etc/docker/registry/config.yml"]',
    "EXPOSE 5000",
]
NGINX_IMPORT_CHANGES = [
    'ENTRYPOINT ["/usr/sbin/nginx"]',
    'CMD ["-c", "/etc/nginx/nginx.conf"]',
    "EXPOSE %d %d %d" % (SLOW_PORT, ERROR_PORT, PACKAGES_PORT),
]

# The pull-through cache: the hub's registry image, configured by environment
# (distribution reads REGISTRY_<SECTION>_<KEY> over its config file).
CACHE_ENV = [
    "REGISTRY_HTTP_ADDR=:%d" % CACHE_PORT,
    "REGISTRY_PROXY_REMOTEURL=http://%s:5000" % HUB_NAME,
]
# The hang: busybox nc accepts every connection (-ll) and hands it to a shell
# that reads the request and never writes; the reader ends when the client
# hangs up, so nothing piles up.
HANG_COMMAND = ["nc", "-ll", "-p", str(HANG_PORT), "-e", "sh", "-c", "exec cat >/dev/null"]

# The authenticated mirror: the registry image as a pull-through cache of the hub, with basic auth from an
# htpasswd file (bcrypt, as distribution wants) that its shell writes from the environment before serving.
AUTH_MIRROR_ENV = [
    "REGISTRY_HTTP_ADDR=:%d" % AUTH_MIRROR_PORT,
    "REGISTRY_PROXY_REMOTEURL=http://%s:5000" % HUB_NAME,
    "REGISTRY_AUTH=htpasswd",
    "REGISTRY_AUTH_HTPASSWD_REALM=dockhand-lab",
    "REGISTRY_AUTH_HTPASSWD_PATH=/etc/docker/registry/htpasswd",
]
AUTH_MIRROR_COMMAND = ["-c", 'printf "%s\\n" "$HTPASSWD_LINE" >/etc/docker/registry/htpasswd && '
                             "exec /usr/bin/docker-registry serve /etc/docker/registry/config.yml"]

# The proxy: tinyproxy in the foreground, every client allowed, basic auth, every CONNECT port.
PROXY_IMPORT_CHANGES = [
    'ENTRYPOINT ["/usr/bin/tinyproxy", "-d", "-c", "/etc/tinyproxy/tinyproxy.conf"]',
    "EXPOSE %d" % PROXY_PORT,
]
PROXY_CONF = """# Generated by tests/lab/lab.py: the lab's HTTP proxy.
Port %d
Timeout 600
MaxClients 100
LogLevel Connect
DisableViaHeader Yes
BasicAuth %s %s
""" % (PROXY_PORT, PROXY_USER, PROXY_PASSWORD)

# The package tree the nginx image serves under /debian (generated, about 1 MiB).
PACKAGE_TREE_VERSION = "1"
PACKAGES_FILE_BYTES = 1024 * 1024

# The docker-ce mirror stand-in (dockhand-lab-apt): a signed apt repository with the
# layout of download.docker.com (<base>/linux/debian/dists/bookworm/stable/binary-amd64,
# <base>/linux/debian/gpg). Everything in it is made from Debian's own packages, each with
# DOCKER_CE_SUFFIX at the end of its version, so that an install from it is told apart from one
# from Debian's archive:
# - docker.io: Debian's docker.io, rebuilt with the suffix;
# - Docker CE's package set under Docker CE's names, so the engine role's defaults install from it:
#   docker-ce (Debian's dockerd and its service), docker-ce-cli (Debian's docker client),
#   containerd.io (Debian's containerd and runc in one package that provides, conflicts with and
#   replaces both, as Docker's does), and docker-buildx-plugin / docker-compose-plugin (CLI plugins that
#   answer the docker CLI's metadata call and say they are stand-ins: Debian 12 has neither).
# Built under state/ (not in an image), served read-only. The key's fingerprint is written to
# DOCKER_CE_FINGERPRINT_FILE: tests pin it, as a user of a private mirror must.
DOCKER_CE_MIRROR_VERSION = "2"
DOCKER_CE_DIR = STATE_DIR / "docker-ce-mirror"
DOCKER_CE_GNUPG = STATE_DIR / "docker-ce-gnupg"
DOCKER_CE_FINGERPRINT_FILE = STATE_DIR / "docker-ce-key.fingerprint"
DOCKER_CE_PATH = "/docker-ce"  # the base URL's path, as on real mirrors (<host>/docker-ce)
DOCKER_CE_PACKAGE = "docker.io"
DOCKER_CE_SOURCES = ("docker.io", "containerd", "runc")  # Debian's packages the stand-in is made from
DOCKER_CE_SUFFIX = "+dockhandlab1"
# Docker CE's client files, which docker-ce-cli takes out of Debian's docker.io.
DOCKER_CE_CLI_FILES = ("usr/bin/docker", "usr/share/bash-completion/completions/docker",
                       "usr/share/fish/vendor_completions.d/docker.fish", "usr/share/zsh/vendor-completions/_docker",
                       "usr/share/man/man1")
DOCKER_CE_KEY_UID = "dockhand lab docker-ce mirror <lab@dockhand.invalid>"
DOCKER_CE_NGINX_CONF = """# Generated by tests/lab/lab.py: the docker-ce mirror stand-in.
user root;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
error_log stderr warn;
events {
    worker_connections 256;
}
http {
    access_log off;
    default_type application/octet-stream;
    server_tokens off;
    client_body_temp_path /var/lib/nginx/body;
    proxy_temp_path /var/lib/nginx/proxy;
    fastcgi_temp_path /var/lib/nginx/fastcgi;
    uwsgi_temp_path /var/lib/nginx/uwsgi;
    scgi_temp_path /var/lib/nginx/scgi;
    server {
        listen %d;
        location %s/ {
            root /srv/mirror;
            autoindex on;
        }
    }
}
""" % (DOCKER_CE_PORT, DOCKER_CE_PATH)

# Part of every image's recipe hash: bump it when this script's build code
# changes in a way the images should pick up (input files are hashed already).
RECIPE_VERSION = "1"


class LabError(Exception):
    pass


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

_T0 = time.monotonic()


def log(msg):
    print("lab [%6.1fs] %s" % (time.monotonic() - _T0, msg), flush=True)


def warn(msg):
    print("lab: warning: %s" % msg, file=sys.stderr, flush=True)


def run(cmd, check=True, capture=True, input=None, timeout=None, env=None):
    """Run a command; return CompletedProcess. Raise LabError on failure."""
    try:
        proc = subprocess.run(
            cmd, check=False, input=input, timeout=timeout, env=env, text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
        )
    except FileNotFoundError:
        raise LabError("command not found: %s" % cmd[0]) from None
    except subprocess.TimeoutExpired:
        raise LabError("timed out after %ss: %s" % (timeout, " ".join(cmd))) from None
    if check and proc.returncode != 0:
        detail = ((proc.stderr or "") + (proc.stdout or "")).strip() if capture else ""
        raise LabError("command failed (exit %d): %s%s" % (
            proc.returncode, " ".join(cmd), ("\n" + detail[-3000:]) if detail else ""))
    return proc


def out(cmd, **kw):
    return run(cmd, **kw).stdout.strip()


def docker(*args, **kw):
    return run(["docker"] + list(args), **kw)


def docker_out(*args, **kw):
    return docker(*args, **kw).stdout.strip()


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


def sha256_update_tree(h, root):
    """Feed every file under root (relative path, exec bit, content) into h."""
    root = Path(root)
    for path in sorted(p for p in root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            h.update(b"L" + rel.encode() + b"\0" + os.readlink(path).encode() + b"\0")
        elif path.is_file():
            h.update(b"F" + rel.encode() + b"\0" + (b"x" if os.access(path, os.X_OK) else b"-"))
            h.update(path.read_bytes() + b"\0")
        elif path.is_dir():
            h.update(b"D" + rel.encode() + b"\0")


def short_hash(*parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            sha256_update_tree(h, part)
        else:
            h.update(json.dumps(part, sort_keys=True).encode() + b"\0")
    return h.hexdigest()[:16]


def pkg_version(name):
    proc = run(["dpkg-query", "-W", "-f=${Version}", name], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def http_get(url, headers=None, method="GET", timeout=5, data=None):
    """HTTP to the lab's own registry only (loopback); proxies are ignored."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    with opener.open(req, timeout=timeout) as resp:
        return resp.status, dict(resp.headers), resp.read()


@contextlib.contextmanager
def lab_lock():
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another lab command is running; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


# --------------------------------------------------------------------------
# Packages and dockerd
# --------------------------------------------------------------------------

def ensure_packages():
    missing = [p for p in APT_PACKAGES
               if not out(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", p], check=False).startswith("ii")]
    if not missing:
        return
    if os.geteuid() != 0:
        raise LabError("missing packages %s and not root" % " ".join(missing))
    log("installing missing packages: %s" % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    run(["apt-get"] + lock + ["update"], capture=False, env=env)
    run(["apt-get"] + lock + ["install", "-y"] + missing, capture=False, env=env)


def docker_answers():
    try:
        return run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False,
                   timeout=30).returncode == 0
    except LabError:
        return False


def systemd_booted():
    return Path("/run/systemd/system").is_dir()


def ensure_dockerd():
    if docker_answers():
        return
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        raise LabError("docker/dockerd not installed (run `lab setup`)")
    if systemd_booted():
        log("starting docker via systemctl")
        run(["systemctl", "start", "docker"])
    else:
        log("no systemd: starting dockerd by hand (log %s)" % DOCKERD_LOG)
        DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
        with open(DOCKERD_LOG, "ab") as logf:
            subprocess.Popen(
                ["dockerd", "--pidfile", str(DOCKERD_PIDFILE)],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, cwd="/")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if docker_answers():
            log("dockerd is up")
            return
        time.sleep(1)
    tail = ""
    if DOCKERD_LOG.exists():
        tail = "\n".join(DOCKERD_LOG.read_text(errors="replace").splitlines()[-20:])
    raise LabError("dockerd did not answer within 90s; last lines of %s:\n%s" % (DOCKERD_LOG, tail))


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

def image_recipe(image):
    proc = docker("image", "inspect", "--format",
                  '{{index .Config.Labels "%s"}}' % LABEL_RECIPE, image, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def image_id(image):
    proc = docker("image", "inspect", "--format", "{{.Id}}", image, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def import_rootfs(rootfs, image, recipe, changes):
    """Tar rootfs and `docker import` it as image, labelled as a lab image."""
    old_id = image_id(image)
    labels = "LABEL %s=1 %s=image %s=%s" % (LABEL, LABEL_ROLE, LABEL_RECIPE, recipe)
    cmd = ["docker", "import"]
    for change in list(changes) + [labels]:
        cmd += ["--change", change]
    cmd += ["-", image]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "--xattrs",
                            "--xattrs-include=*", "-cf", "-", "."],
                           stdout=subprocess.PIPE)
    imp = subprocess.run(cmd, check=False, stdin=tar.stdout, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    tar.stdout.close()
    if tar.wait() != 0 or imp.returncode != 0:
        raise LabError("docker import of %s failed: %s" % (image, imp.stderr.strip()))
    if old_id and old_id != image_id(image):
        docker("rmi", old_id, check=False)  # the superseded build, if unused


def install_file(src, dest):
    """Copy src to dest as root:root 0644, or 0755 if src is executable.

    The checkout's own modes (umask 002 gives 0664/0775) must not leak into an
    image: sshd refuses keys below group-writable directories, for one.
    """
    shutil.copyfile(src, dest)
    os.chown(dest, 0, 0)
    os.chmod(dest, 0o755 if os.access(src, os.X_OK) else 0o644)


def install_overlay(src, root):
    """Copy the tree src over root; new directories get 0755, existing ones keep their mode."""
    src = Path(src)
    for path in sorted(src.rglob("*")):
        dest = Path(root) / path.relative_to(src)
        if path.is_dir() and not path.is_symlink():
            if not dest.exists():
                dest.mkdir(mode=0o755)
                os.chmod(dest, 0o755)
        elif path.is_symlink():
            if dest.exists() or dest.is_symlink():
                dest.unlink()
            os.symlink(os.readlink(path), dest)
        else:
            install_file(path, dest)


def make_busybox_root(root):
    """A root fs holding busybox-static and its applet symlinks."""
    root = Path(root)
    busybox = Path(shutil.which("busybox") or "/bin/busybox").resolve()
    if not busybox.exists():
        raise LabError("busybox-static is not installed")
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp", "var/tmp",
              "proc", "sys", "dev", "run"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    os.chmod(root / "var/tmp", 0o1777)
    os.chmod(root / "root", 0o700)
    shutil.copy2(busybox, root / "bin/busybox")
    for applet in lines(out([str(busybox), "--list-full"])):
        link = root / applet
        if link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/bin/busybox", link)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return root


def busybox_recipe():
    return short_hash(RECIPE_VERSION, "busybox", pkg_version("busybox-static"),
                      BUSYBOX_IMPORT_CHANGES)


def hello_recipe():
    return short_hash(RECIPE_VERSION, "hello", pkg_version("busybox-static"),
                      HELLO_IMPORT_CHANGES)


def registry_recipe():
    return short_hash(RECIPE_VERSION, "registry", pkg_version("busybox-static"),
                      pkg_version("docker-registry"), REGISTRY_IMPORT_CHANGES,
                      IMAGES_DIR / "registry")


def host_packages():
    text = (IMAGES_DIR / "host" / "packages").read_text()
    return [w for line in text.splitlines() for w in line.split("#", 1)[0].split()]


def debootstrap_key():
    return short_hash(RECIPE_VERSION, SUITE, "minbase", host_packages(), DEBIAN_MIRROR)


def host_recipe():
    return short_hash(RECIPE_VERSION, debootstrap_key(), HOST_IMPORT_CHANGES,
                      IMAGES_DIR / "host")


@contextlib.contextmanager
def build_dir(name):
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=name + ".", dir=str(BUILD_DIR)))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def build_busybox():
    recipe = busybox_recipe()
    if image_recipe(IMG_BUSYBOX) == recipe:
        return False
    log("building %s (recipe %s)" % (IMG_BUSYBOX, recipe))
    with build_dir("busybox") as tmp:
        import_rootfs(make_busybox_root(tmp / "root"), IMG_BUSYBOX, recipe, BUSYBOX_IMPORT_CHANGES)
    return True


def build_hello():
    recipe = hello_recipe()
    if image_recipe(IMG_HELLO) == recipe:
        return False
    log("building %s (recipe %s)" % (IMG_HELLO, recipe))
    with build_dir("hello") as tmp:
        root = make_busybox_root(tmp / "root")
        (root / "etc/dockhand-lab").mkdir(parents=True)
        (root / "etc/dockhand-lab/hello.txt").write_text(
            "hello from the dockhand lab hub (library/hello)\n")
        import_rootfs(root, IMG_HELLO, recipe, HELLO_IMPORT_CHANGES)
    return True


def copy_with_libraries(binary, root):
    """Copy a dynamically linked program into root, at the same path, with every file ldd lists."""
    dest = Path(root) / str(binary).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, dest)
    ldd = run(["ldd", str(binary)], check=False).stdout
    for line in ldd.splitlines():
        parts = line.split()
        lib = None
        if "=>" in parts:
            idx = parts.index("=>")
            if idx + 1 < len(parts) and parts[idx + 1].startswith("/"):
                lib = parts[idx + 1]
        elif parts and parts[0].startswith("/"):
            lib = parts[0]  # the program interpreter, e.g. /lib64/ld-linux-x86-64.so.2
        if lib:
            dest = Path(root) / lib.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, dest)  # follows symlinks: real file under the linked name


def build_registry():
    """busybox root + Debian's docker-registry binary + the libraries ldd lists.

    /usr/bin/docker-registry is a cgo build linked against glibc, not static,
    so it cannot go alone into an empty image; copying it with what ldd names
    keeps the image around 25 MB and lets it follow the host's package.
    """
    recipe = registry_recipe()
    if image_recipe(IMG_REGISTRY) == recipe:
        return False
    log("building %s (recipe %s)" % (IMG_REGISTRY, recipe))
    binary = Path("/usr/bin/docker-registry")
    if not binary.exists():
        raise LabError("/usr/bin/docker-registry missing (package docker-registry)")
    with build_dir("registry") as tmp:
        root = make_busybox_root(tmp / "root")
        copy_with_libraries(binary, root)
        (root / "etc/docker/registry").mkdir(parents=True)
        install_file(IMAGES_DIR / "registry/config.yml", root / "etc/docker/registry/config.yml")
        (root / "var/lib/registry").mkdir(parents=True)
        import_rootfs(root, IMG_REGISTRY, recipe, REGISTRY_IMPORT_CHANGES)
    return True


def nginx_recipe():
    return short_hash(RECIPE_VERSION, "nginx", pkg_version("busybox-static"), pkg_version("nginx"),
                      NGINX_IMPORT_CHANGES, IMAGES_DIR / "nginx", PACKAGE_TREE_VERSION, SUITE,
                      PACKAGES_FILE_BYTES)


def make_package_tree(top):
    """A small Debian-style archive under top: dists/SUITE/Release and main/binary-all/Packages.

    Packages is about PACKAGES_FILE_BYTES of made-up stanzas, so that a probe
    has something to time; Release lists it with its size and SHA256 as a
    real Release file does. Deterministic: the same bytes on every build.
    """
    dist = Path(top) / "dists" / SUITE
    (dist / "main/binary-all").mkdir(parents=True)
    stanzas = []
    size = 0
    i = 0
    while size < PACKAGES_FILE_BYTES:
        i += 1
        name = "dockhand-lab-%05d" % i
        stanza = (
            "Package: %(name)s\nVersion: 1.0-%(i)d\nArchitecture: all\n"
            "Maintainer: dockhand lab <lab@dockhand.invalid>\nInstalled-Size: %(kb)d\n"
            "Filename: pool/main/d/%(name)s/%(name)s_1.0-%(i)d_all.deb\nSize: %(size)d\n"
            "SHA256: %(sha)s\nDescription: stand-in package %(i)d of the dockhand lab's package mirror\n\n"
        ) % {"name": name, "i": i, "kb": 4 + i % 97, "size": 1024 + i % 4096,
             "sha": hashlib.sha256(name.encode()).hexdigest()}
        stanzas.append(stanza)
        size += len(stanza)
    packages = "".join(stanzas).encode()
    (dist / "main/binary-all/Packages").write_bytes(packages)
    release = (
        "Origin: dockhand lab\nLabel: dockhand lab\nSuite: stable\nCodename: %s\n"
        "Date: Sat, 01 Jan 2000 00:00:00 UTC\nArchitectures: all\nComponents: main\n"
        "Description: stand-in package mirror of the dockhand lab (tests/lab)\n"
        "SHA256:\n %s %8d main/binary-all/Packages\n"
    ) % (SUITE, hashlib.sha256(packages).hexdigest(), len(packages))
    (dist / "Release").write_text(release)


def build_nginx():
    """busybox root + Debian's nginx and the libraries ldd lists + images/nginx + the package tree."""
    recipe = nginx_recipe()
    if image_recipe(IMG_NGINX) == recipe:
        return False
    log("building %s (recipe %s)" % (IMG_NGINX, recipe))
    binary = Path("/usr/sbin/nginx")
    if not binary.exists():
        raise LabError("/usr/sbin/nginx missing (package nginx)")
    with build_dir("nginx") as tmp:
        root = make_busybox_root(tmp / "root")
        copy_with_libraries(binary, root)
        for d in ("etc/nginx", "var/lib/nginx", "var/log/nginx"):
            (root / d).mkdir(parents=True, exist_ok=True)
        install_file(IMAGES_DIR / "nginx/nginx.conf", root / "etc/nginx/nginx.conf")
        make_package_tree(root / "srv/packages/debian")
        import_rootfs(root, IMG_NGINX, recipe, NGINX_IMPORT_CHANGES)
    return True


def proxy_recipe():
    return short_hash(RECIPE_VERSION, "tinyproxy", pkg_version("busybox-static"), pkg_version("tinyproxy-bin"),
                      PROXY_IMPORT_CHANGES, PROXY_CONF)


def build_proxy():
    """busybox root + Debian's tinyproxy and the libraries ldd lists + its configuration."""
    recipe = proxy_recipe()
    if image_recipe(IMG_PROXY) == recipe:
        return False
    log("building %s (recipe %s)" % (IMG_PROXY, recipe))
    binary = Path("/usr/bin/tinyproxy")
    if not binary.exists():
        raise LabError("/usr/bin/tinyproxy missing (package tinyproxy-bin)")
    with build_dir("tinyproxy") as tmp:
        root = make_busybox_root(tmp / "root")
        copy_with_libraries(binary, root)
        (root / "etc/tinyproxy").mkdir(parents=True)
        (root / "etc/tinyproxy/tinyproxy.conf").write_text(PROXY_CONF)
        os.chmod(root / "etc/tinyproxy/tinyproxy.conf", 0o644)
        import_rootfs(root, IMG_PROXY, recipe, PROXY_IMPORT_CHANGES)
    return True


def prune_superseded_images():
    """Remove lab images that a rebuild untagged and no container uses any more."""
    docker("image", "prune", "-f", "--filter", "label=%s=1" % LABEL, check=False)


def debootstrap(packages, target, logfile):
    """debootstrap SUITE minbase plus packages into target, without the .debs and package lists it fetched."""
    with open(logfile, "w") as logf:
        rc = subprocess.call(
            ["debootstrap", "--variant=minbase", "--include=" + ",".join(packages),
             SUITE, str(target), DEBIAN_MIRROR],
            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if rc != 0:
        tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-25:])
        raise LabError("debootstrap failed (exit %d); last lines of %s:\n%s" % (rc, logfile, tail))
    for junk in list((target / "var/cache/apt/archives").glob("*.deb")) + [
            p for p in (target / "var/lib/apt/lists").glob("*") if p.is_file()]:
        junk.unlink()


def debootstrap_tarball():
    """Pristine debootstrap output, cached as state/cache/host-debootstrap-KEY.tar."""
    key = debootstrap_key()
    tarball = CACHE_DIR / ("host-debootstrap-%s.tar" % key)
    if tarball.exists():
        log("using cached debootstrap output %s" % tarball.name)
        return tarball
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    logfile = LOG_DIR / "debootstrap.log"
    packages = host_packages()
    log("debootstrap %s minbase + %s (log %s)" % (SUITE, ",".join(packages), logfile))
    with build_dir("debootstrap") as tmp:
        target = tmp / "rootfs"
        debootstrap(packages, target, logfile)
        partial = tarball.with_suffix(".tar.partial")
        run(["tar", "-C", str(target), "--numeric-owner", "--xattrs", "--xattrs-include=*",
             "-cf", str(partial), "."])
        partial.rename(tarball)
    for old in CACHE_DIR.glob("host-debootstrap-*.tar"):
        if old != tarball:
            old.unlink()  # a superseded recipe's output
    return tarball


def build_host():
    recipe = host_recipe()
    if image_recipe(IMG_HOST) == recipe:
        return False
    log("building %s (recipe %s)" % (IMG_HOST, recipe))
    tarball = debootstrap_tarball()
    with build_dir("host") as tmp:
        root = tmp / "rootfs"
        root.mkdir()
        run(["tar", "-C", str(root), "--numeric-owner", "--xattrs", "--xattrs-include=*",
             "-xf", str(tarball)])
        install_overlay(IMAGES_DIR / "host/overlay", root)
        install_file(IMAGES_DIR / "host/customize.sh", root / "tmp/dockhand-lab-customize.sh")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
               "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
        log("customizing the host root fs (images/host/customize.sh)")
        proc = run(["chroot", str(root), "/bin/sh", "/tmp/dockhand-lab-customize.sh"],
                   check=False, env=env)
        if proc.returncode != 0:
            raise LabError("images/host/customize.sh failed (exit %d):\n%s" % (
                proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
        log("importing %s" % IMG_HOST)
        import_rootfs(root, IMG_HOST, recipe, HOST_IMPORT_CHANGES)
    return True


def ee_base_recipe():
    bundle = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.exists() else b""
    return short_hash(RECIPE_VERSION, "ee-base", SUITE, EE_BASE_PACKAGES, EE_BASE_PYTHON, EE_BASE_CHANGES,
                      DEBIAN_MIRROR, hashlib.sha256(bundle).hexdigest())


def build_ee_base():
    """The execution environment's base image: Debian minbase, Python in a virtualenv, an SSH client."""
    recipe = ee_base_recipe()
    if image_recipe(IMG_EE_BASE) == recipe:
        log("%s is up to date (recipe %s)" % (IMG_EE_BASE, recipe))
        return False
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    logfile = LOG_DIR / "ee-base-debootstrap.log"
    included = ",".join(EE_BASE_PACKAGES)
    log("building %s: debootstrap %s minbase + %s (log %s)" % (IMG_EE_BASE, SUITE, included, logfile))
    with build_dir("ee-base") as tmp:
        root = tmp / "rootfs"
        debootstrap(EE_BASE_PACKAGES, root, logfile)
        if HOST_CA_BUNDLE.exists():
            install_file(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        venv = str(Path(EE_BASE_PYTHON).parent.parent)
        run(["chroot", str(root), "/usr/bin/python3", "-m", "venv", "--without-pip", venv],
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
        import_rootfs(root, IMG_EE_BASE, recipe, EE_BASE_CHANGES)
    return True


# --------------------------------------------------------------------------
# Network, SSH key, hub
# --------------------------------------------------------------------------

def ensure_network():
    ids = lines(docker_out("network", "ls", "-q", "--filter", "label=%s=1" % LABEL,
                           "--filter", "name=^%s$" % NETWORK))
    if ids:
        return
    if lines(docker_out("network", "ls", "-q", "--filter", "name=^%s$" % NETWORK)):
        raise LabError("a docker network named %s exists without the label %s=1; "
                       "it is not the lab's, remove or rename it" % (NETWORK, LABEL))
    log("creating network %s" % NETWORK)
    docker("network", "create", "--label", "%s=1" % LABEL, "--label", "%s=network" % LABEL_ROLE,
           NETWORK)


def ensure_ssh_key():
    SSH_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(SSH_DIR, 0o700)
    if not SSH_KEY.exists():
        log("generating the lab SSH key %s" % SSH_KEY)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockhand-lab",
             "-f", str(SSH_KEY)])
    pub = Path(str(SSH_KEY) + ".pub").read_text()
    if not AUTHORIZED_KEYS.exists() or AUTHORIZED_KEYS.read_text() != pub:
        AUTHORIZED_KEYS.write_text(pub)
    os.chmod(AUTHORIZED_KEYS, 0o644)
    return pub


def container_info(name):
    proc = docker("container", "inspect", name, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0]


def container_ip(info):
    nets = (info.get("NetworkSettings") or {}).get("Networks") or {}
    return (nets.get(NETWORK) or {}).get("IPAddress") or None


def remove_container(name):
    """Remove a lab container and its lab volumes (looked up by label)."""
    docker("rm", "-f", "-v", name, check=False)
    for vol in lines(docker_out("volume", "ls", "-q", "--filter", "label=%s=1" % LABEL,
                                "--filter", "label=%s=%s" % (LABEL_OWNER, name))):
        docker("volume", "rm", "-f", vol, check=False)


def ensure_container(name, config, create):
    """Start container `name` unless it exists with the same config label."""
    info = container_info(name)
    if info is not None:
        labels = info["Config"].get("Labels") or {}
        if labels.get(LABEL) != "1":
            raise LabError("container %s exists but is not the lab's (no label %s=1); "
                           "remove it yourself" % (name, LABEL))
        if labels.get(LABEL_CONFIG) != config:
            log("%s is out of date (image or settings changed): recreating" % name)
            remove_container(name)
            info = None
        elif not info["State"]["Running"]:
            log("starting stopped container %s" % name)
            docker("start", name)
            return "started"
        else:
            return "kept"
    create()
    return "created"


def check_port_free(port, what):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LabError("127.0.0.1:%d (for %s) is already in use by something else: %s"
                           % (port, what, exc)) from None


def ensure_hub():
    config = short_hash(image_id(IMG_REGISTRY), HUB_PORT)

    def create():
        check_port_free(HUB_PORT, "the hub registry")
        log("starting the hub registry %s on 127.0.0.1:%d" % (HUB_NAME, HUB_PORT))
        docker("run", "-d", "--name", HUB_NAME, "--hostname", HUB_NAME,
               "--label", "%s=1" % LABEL, "--label", "%s=hub" % LABEL_ROLE,
               "--label", "%s=%s" % (LABEL_CONFIG, config),
               "--network", NETWORK, "--publish", "127.0.0.1:%d:5000" % HUB_PORT,
               IMG_REGISTRY)

    ensure_container(HUB_NAME, config, create)
    deadline = time.monotonic() + 30
    while True:
        try:
            if http_get("http://127.0.0.1:%d/v2/" % HUB_PORT)[0] == 200:
                break
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            logs = docker("logs", "--tail", "20", HUB_NAME, check=False)
            raise LabError("hub registry did not answer on 127.0.0.1:%d within 30s:\n%s%s"
                           % (HUB_PORT, logs.stdout, logs.stderr))
        time.sleep(0.5)


def registry_digest(port, repo, tag):
    """The manifest digest a lab registry published on 127.0.0.1:port serves for repo:tag, or None."""
    try:
        status, headers, _body = http_get(
            "http://127.0.0.1:%d/v2/%s/manifests/%s" % (port, repo, tag), method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    except (urllib.error.URLError, OSError):
        return None
    return headers.get("Docker-Content-Digest") if status == 200 else None


def hub_digest(repo, tag):
    return registry_digest(HUB_PORT, repo, tag)


def seed_hub():
    for repo, tag, image in HUB_SEED:
        remote = "127.0.0.1:%d/%s" % (HUB_PORT, repo)
        digests = json.loads(docker_out("image", "inspect", "--format", "{{json .RepoDigests}}",
                                        image) or "[]") or []
        have = hub_digest(repo, tag)
        if have and "%s@%s" % (remote, have) in digests:
            continue
        log("pushing %s as %s:%s" % (image, remote, tag))
        docker("tag", image, "%s:%s" % (remote, tag))
        docker("push", "%s:%s" % (remote, tag))


# --------------------------------------------------------------------------
# Mirror stand-ins: a pull-through cache, a slow mirror, a broken one, a hang, a dead port
# --------------------------------------------------------------------------

def local_port(port):
    """Where a mirror stand-in's lab-network port is published on 127.0.0.1."""
    return MIRROR_PORT_BASE + port - 5000


def mirror_urls():
    """{key: {"lab": URL from the hosts, "local": URL from this machine, "container": name}}."""
    def entry(container, port, path="", local=None):
        return {"lab": "http://%s:%d%s" % (container, port, path),
                "local": "http://127.0.0.1:%d%s" % (local or local_port(port), path),
                "container": container}
    return {
        "hub": entry(HUB_NAME, 5000, local=HUB_PORT),
        "cache": entry(CACHE_NAME, CACHE_PORT),
        "slow": entry(SLOW_NAME, SLOW_PORT),
        "error": entry(SLOW_NAME, ERROR_PORT),
        "hang": entry(HANG_NAME, HANG_PORT),
        "dead": entry(HANG_NAME, DEAD_PORT),
        "packages": entry(SLOW_NAME, PACKAGES_PORT, "/debian"),
        "packages_slow": entry(SLOW_NAME, SLOW_PORT, "/debian"),
        "docker_ce": entry(APT_NAME, DOCKER_CE_PORT, DOCKER_CE_PATH),
        "authmirror": entry(AUTH_MIRROR_NAME, AUTH_MIRROR_PORT),
        "proxy": entry(PROXY_NAME, PROXY_PORT),
        "ghcr": entry(GHCR_NAME, GHCR_PORT),
        "ghcr_mirror": entry(GHCR_MIRROR_NAME, GHCR_MIRROR_PORT),
        "stale": entry(STALE_NAME, STALE_PORT),
    }


# The stand-in for ghcr.io (a registry other than Docker Hub) and its mirror. Lab hosts do not resolve
# ghcr.io to it: tests name ghcr.io/org/app:1 and map ghcr.io to these by the runtimes' mirror settings.
GHCR_NAME = "dockhand-lab-ghcr"
GHCR_MIRROR_NAME = "dockhand-lab-ghcr-mirror"
# (repository, tag, local image): org/app:1 and :2 differ; stale/org/app:1 is another image than org/app:1,
# a stale copy for a mirror whose path is /stale (http://dockhand-lab-ghcr:5010/stale).
GHCR_SEED = [
    ("org/app", "1", IMG_BUSYBOX),
    ("org/app", "2", IMG_HELLO),
    ("stale/org/app", "1", IMG_HELLO),
]


def ensure_ghcr():
    """The ghcr.io stand-in (seeded with GHCR_SEED) and its pull-through mirror, each answering."""
    env = ["REGISTRY_HTTP_ADDR=:%d" % GHCR_PORT]
    config = short_hash(image_id(IMG_REGISTRY), env, local_port(GHCR_PORT))
    ensure_container(GHCR_NAME, config, lambda: run_mirror(
        GHCR_NAME, config, IMG_REGISTRY, [GHCR_PORT], extra=[arg for e in env for arg in ("--env", e)]))
    mirror_env = ["REGISTRY_HTTP_ADDR=:%d" % GHCR_MIRROR_PORT,
                  "REGISTRY_PROXY_REMOTEURL=http://%s:%d" % (GHCR_NAME, GHCR_PORT)]
    mirror_config = short_hash(image_id(IMG_REGISTRY), mirror_env, local_port(GHCR_MIRROR_PORT), config)
    ensure_container(GHCR_MIRROR_NAME, mirror_config, lambda: run_mirror(
        GHCR_MIRROR_NAME, mirror_config, IMG_REGISTRY, [GHCR_MIRROR_PORT],
        extra=[arg for e in mirror_env for arg in ("--env", e)]))
    port = local_port(GHCR_PORT)
    deadline = time.monotonic() + 30
    while http_status("http://127.0.0.1:%d/v2/" % port) != 200:
        if time.monotonic() > deadline:
            raise LabError("%s did not answer on 127.0.0.1:%d within 30s" % (GHCR_NAME, port))
        time.sleep(0.5)
    for repo, tag, image in GHCR_SEED:
        remote = "127.0.0.1:%d/%s" % (port, repo)
        digests = json.loads(docker_out("image", "inspect", "--format", "{{json .RepoDigests}}", image) or "[]") or []
        have = registry_digest(port, repo, tag)
        if have and "%s@%s" % (remote, have) in digests:
            continue
        log("pushing %s as %s:%s" % (image, remote, tag))
        docker("tag", image, "%s:%s" % (remote, tag))
        docker("push", "%s:%s" % (remote, tag))
    mirror_port = local_port(GHCR_MIRROR_PORT)
    want = registry_digest(port, "org/app", "1")
    while registry_digest(mirror_port, "org/app", "1") != want:  # the mirror serves through to the stand-in
        if time.monotonic() > deadline:
            raise LabError("%s does not serve org/app:1 (as %s does) on 127.0.0.1:%d within 30s"
                           % (GHCR_MIRROR_NAME, GHCR_NAME, mirror_port))
        time.sleep(0.5)


def run_mirror(name, config, image, ports, extra=(), command=()):
    """docker run one mirror stand-in on the lab network, its ports published on 127.0.0.1."""
    for port in ports:
        check_port_free(local_port(port), name)
    log("starting %s on 127.0.0.1:%s" % (name, ",".join(str(local_port(p)) for p in ports)))
    cmd = ["run", "-d", "--name", name, "--hostname", name,
           "--label", "%s=1" % LABEL, "--label", "%s=mirror" % LABEL_ROLE,
           "--label", "%s=%s" % (LABEL_CONFIG, config), "--network", NETWORK]
    for port in ports:
        cmd += ["--publish", "127.0.0.1:%d:%d" % (local_port(port), port)]
    docker(*(cmd + list(extra) + [image] + list(command)))


def ensure_mirrors():
    """The cache, the slow/broken/package nginx and the hang, each kept while its config is the same."""
    config = short_hash(image_id(IMG_REGISTRY), CACHE_ENV, local_port(CACHE_PORT))
    ensure_container(CACHE_NAME, config, lambda: run_mirror(
        CACHE_NAME, config, IMG_REGISTRY, [CACHE_PORT],
        extra=[arg for env in CACHE_ENV for arg in ("--env", env)]))
    nginx_ports = [SLOW_PORT, ERROR_PORT, PACKAGES_PORT]
    slow_config = short_hash(image_id(IMG_NGINX), [local_port(p) for p in nginx_ports])
    ensure_container(SLOW_NAME, slow_config, lambda: run_mirror(
        SLOW_NAME, slow_config, IMG_NGINX, nginx_ports))
    hang_config = short_hash(image_id(IMG_BUSYBOX), HANG_COMMAND, local_port(HANG_PORT))
    ensure_container(HANG_NAME, hang_config, lambda: run_mirror(
        HANG_NAME, hang_config, IMG_BUSYBOX, [HANG_PORT], command=HANG_COMMAND))
    ensure_docker_ce_mirror()
    ensure_auth_mirror()
    ensure_proxy()
    ensure_ghcr()
    ensure_stale_mirror()
    wait_mirrors()


def ensure_auth_mirror():
    """The authenticated mirror: a pull-through cache of the hub that answers 401 without basic auth."""
    config = short_hash(image_id(IMG_REGISTRY), AUTH_MIRROR_ENV, AUTH_MIRROR_COMMAND, AUTH_MIRROR_USER,
                        AUTH_MIRROR_PASSWORD, local_port(AUTH_MIRROR_PORT))

    def create():
        line = out(["htpasswd", "-nbB", AUTH_MIRROR_USER, AUTH_MIRROR_PASSWORD]).strip()
        env = AUTH_MIRROR_ENV + ["HTPASSWD_LINE=" + line]
        run_mirror(AUTH_MIRROR_NAME, config, IMG_REGISTRY, [AUTH_MIRROR_PORT],
                   extra=[arg for item in env for arg in ("--env", item)] + ["--entrypoint", "/bin/sh"],
                   command=AUTH_MIRROR_COMMAND)

    ensure_container(AUTH_MIRROR_NAME, config, create)


def ensure_proxy():
    """The HTTP proxy (tinyproxy with basic auth), built into its own image if it is not there yet."""
    build_proxy()
    config = short_hash(image_id(IMG_PROXY), local_port(PROXY_PORT))
    ensure_container(PROXY_NAME, config, lambda: run_mirror(PROXY_NAME, config, IMG_PROXY, [PROXY_PORT]))


def http_status(url, timeout=5, headers=None):
    """The HTTP status of GET url (loopback only), or None when nothing answered."""
    try:
        return http_get(url, headers=headers, timeout=timeout)[0]
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError):
        return None


def tcp_refused(port):
    """True when 127.0.0.1:port refuses a connection (nothing listens)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def wait_mirrors(timeout=30):
    """Wait until each stand-in behaves as documented, as seen from this machine."""
    urls = {k: v["local"] for k, v in mirror_urls().items()}
    checks = [
        ("cache", urls["cache"] + "/v2/", 200),
        ("slow", urls["slow"] + "/v2/", 200),
        ("error", urls["error"] + "/v2/", 500),
        ("packages", urls["packages"] + "/dists/%s/Release" % SUITE, 200),
        ("docker_ce", urls["docker_ce"] + "/linux/debian/dists/%s/InRelease" % SUITE, 200),
        ("authmirror", urls["authmirror"] + "/v2/", 401),
        ("proxy", urls["proxy"] + "/", 407),
        ("stale", urls["stale"] + "/v2/%s/manifests/%s" % STALE_IMAGE, 200),
    ]
    # a registry answers 400 to a manifest request that does not accept the manifest's (schema 2) type
    accept = {"stale": {"Accept": MANIFEST_V2}}
    deadline = time.monotonic() + timeout
    while True:
        failing = ["%s (%s answered %s, want %s)" % (k, u, got, want) for k, u, want in checks
                   for got in [http_status(u, headers=accept.get(k))] if got != want]
        if not (container_info(HANG_NAME) or {}).get("State", {}).get("Running"):
            failing.append("hang (%s is not running)" % HANG_NAME)
        if not failing:
            break
        if time.monotonic() > deadline:
            raise LabError("mirror stand-ins not ready after %ds: %s" % (timeout, "; ".join(failing)))
        time.sleep(0.5)
    if not tcp_refused(local_port(DEAD_PORT)):
        warn("127.0.0.1:%d, the lab's dead address, does not refuse connections: something listens "
             "there; set DOCKHAND_LAB_MIRROR_PORT_BASE to move the mirror ports" % local_port(DEAD_PORT))


# --------------------------------------------------------------------------
# The stale mirror: a registry whose library/busybox:latest is older than the hub's
# --------------------------------------------------------------------------

STALE_IMAGE = ("library/busybox", "latest")
# Before the hub's images (made when the lab is set up), so the probe calls it stale, not just different.
STALE_CREATED = "2024-06-06T00:00:00Z"
STALE_ENV = ["REGISTRY_HTTP_ADDR=:%d" % STALE_PORT]
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def image_bytes(files, config):
    """(layer, config, manifest) bytes of a one-layer image: ``files`` [(path, bytes, mode)] in the layer, the
    fields of ``config`` (architecture, os, ...) in its config. The same bytes on every call (no timestamps in the
    tar or gzip), so the digests are stable."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(tar_bytes.getvalue(), mtime=0)
    config = json.dumps(dict(config, rootfs={
        "type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes.getvalue()).hexdigest()]}),
        sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_V2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest()}],
    }, sort_keys=True).encode()
    return layer, config, manifest


def stale_image():
    """(layer, config, manifest) bytes of the stale busybox: one layer, created STALE_CREATED.

    The layer holds 1 MiB that does not compress, as the hub's busybox layer weighs, so a probe
    measures its throughput as it does the others'.
    """
    text = b"dockhand lab: a stale library/busybox:latest (created %s)\n" % STALE_CREATED.encode()
    filler = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(32768))
    return image_bytes(
        [("etc/dockhand-lab/stale.txt", text, 0o644), ("etc/dockhand-lab/filler", filler, 0o644)],
        {"architecture": docker_out("image", "inspect", "--format", "{{.Architecture}}", IMG_BUSYBOX) or "amd64",
         "os": "linux", "created": STALE_CREATED, "config": {"Cmd": ["cat", "/etc/dockhand-lab/stale.txt"]}})


def push_blob(base, repo, blob):
    """Upload one blob to the registry at base (monolithic: POST, then PUT with the digest)."""
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    status = http_status(base + "/v2/%s/blobs/%s" % (repo, digest))
    if status == 200:
        return
    _status, headers, _body = http_get(base + "/v2/%s/blobs/uploads/" % repo, method="POST", data=b"")
    location = urllib.parse.urljoin(base + "/", headers["Location"])
    location += ("&" if "?" in location else "?") + urllib.parse.urlencode({"digest": digest})
    http_get(location, method="PUT", data=blob, headers={"Content-Type": "application/octet-stream"})


def seed_stale_mirror(base):
    """Push the stale busybox to the registry at base unless it serves it already."""
    repo, tag = STALE_IMAGE
    layer, config, manifest = stale_image()
    want = "sha256:" + hashlib.sha256(manifest).hexdigest()
    try:
        _status, headers, _body = http_get(base + "/v2/%s/manifests/%s" % (repo, tag), method="HEAD",
                                           headers={"Accept": MANIFEST_V2})
        if headers.get("Docker-Content-Digest") == want:
            return
    except urllib.error.HTTPError:
        pass
    log("pushing a stale %s:%s (created %s) to %s" % (repo, tag, STALE_CREATED, STALE_NAME))
    push_blob(base, repo, layer)
    push_blob(base, repo, config)
    http_get(base + "/v2/%s/manifests/%s" % (repo, tag), method="PUT", data=manifest,
             headers={"Content-Type": MANIFEST_V2})


def ensure_stale_mirror():
    """dockhand-lab-stale: the lab's registry image, serving an older library/busybox:latest than the hub."""
    config = short_hash(image_id(IMG_REGISTRY), STALE_ENV, local_port(STALE_PORT))
    ensure_container(STALE_NAME, config, lambda: run_mirror(
        STALE_NAME, config, IMG_REGISTRY, [STALE_PORT],
        extra=[arg for env in STALE_ENV for arg in ("--env", env)]))
    base = mirror_urls()["stale"]["local"]
    deadline = time.monotonic() + 30
    while http_status(base + "/v2/") != 200:
        if time.monotonic() > deadline:
            raise LabError("%s did not answer on %s within 30s" % (STALE_NAME, base))
        time.sleep(0.5)
    seed_stale_mirror(base)


# --------------------------------------------------------------------------
# The docker-ce mirror stand-in: a signed apt repository, download.docker.com's layout
# --------------------------------------------------------------------------

def gpg(*args, **kw):
    env = dict(os.environ, GNUPGHOME=str(DOCKER_CE_GNUPG))
    return run(["gpg", "--batch", "--no-tty", "--quiet"] + list(args), env=env, **kw)


def docker_ce_key():
    """The mirror's signing key (made once, no passphrase); returns its fingerprint."""
    DOCKER_CE_GNUPG.mkdir(parents=True, exist_ok=True)
    os.chmod(DOCKER_CE_GNUPG, 0o700)
    listing = gpg("--with-colons", "--list-secret-keys", check=False).stdout
    fprs = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")]
    if fprs:
        if not DOCKER_CE_FINGERPRINT_FILE.exists() or DOCKER_CE_FINGERPRINT_FILE.read_text().strip() != fprs[0]:
            DOCKER_CE_FINGERPRINT_FILE.write_text(fprs[0] + "\n")
        return fprs[0]
    log("generating the docker-ce mirror's signing key in %s" % DOCKER_CE_GNUPG)
    gpg("--passphrase", "", "--quick-gen-key", DOCKER_CE_KEY_UID, "ed25519", "sign", "never")
    return docker_ce_key()


def download_deb(package):
    """Debian's .deb of package (candidate version), cached in state/cache/debs."""
    debs = CACHE_DIR / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    version = out(["apt-cache", "policy", package]).split("Candidate:", 1)[-1].split()[0]
    if version in ("", "(none)"):
        raise LabError("apt knows no candidate of %s (run apt-get update)" % package)
    arch = out(["dpkg", "--print-architecture"])
    name = "%s_%s_%s.deb" % (package, version.split(":", 1)[-1], arch)
    if not (debs / name).exists():
        log("downloading %s %s from Debian's archive" % (package, version))
        proc = run(["apt-get", "download", "%s=%s" % (package, version)], check=False)
        if proc.returncode != 0:  # lists gone stale: refresh once
            run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"])
            run(["apt-get", "download", "%s=%s" % (package, version)])
        shutil.move(name, str(debs / name))  # apt-get download writes to the working directory
    return debs / name, version, arch


def release_text(dist, files, arch):
    """A Release file for dists/SUITE listing files (paths relative to dist) with sizes and SHA256."""
    lines_ = ["Origin: dockhand lab", "Label: Docker CE (dockhand lab stand-in)", "Suite: %s" % SUITE,
              "Codename: %s" % SUITE, "Date: Sat, 01 Jan 2000 00:00:00 UTC", "Architectures: %s" % arch,
              "Components: stable", "Description: stand-in for a mirror of download.docker.com (tests/lab)",
              "SHA256:"]
    for rel in files:
        data = (dist / rel).read_bytes()
        lines_.append(" %s %8d %s" % (hashlib.sha256(data).hexdigest(), len(data), rel))
    return "\n".join(lines_) + "\n"


def read_control(tree):
    """DEBIAN/control as an ordered list of [field, value] (continuation lines kept in the value)."""
    fields = []
    for line in (tree / "DEBIAN" / "control").read_text().splitlines():
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += "\n" + line
        elif ":" in line:
            name, value = line.split(":", 1)
            fields.append([name, value.strip()])
    return fields


def write_control(tree, fields, changes):
    """Write DEBIAN/control with ``changes`` applied (field -> value; None drops the field)."""
    names = [entry[0] for entry in fields]
    result = [[name, changes.get(name, value)] for name, value in fields if changes.get(name, value) is not None]
    result += [[name, value] for name, value in changes.items() if name not in names and value is not None]
    (tree / "DEBIAN" / "control").write_text("".join("%s: %s\n" % (name, value) for name, value in result))
    md5sums = tree / "DEBIAN" / "md5sums"
    if md5sums.exists():  # the file lists change when a package is split or merged: dpkg does not need it
        md5sums.unlink()


def field(fields, name):
    return dict(fields).get(name, "")


def without(depends, names):
    """A Depends value without the alternatives that name one of ``names``."""
    kept = [dep.strip() for dep in depends.split(",") if dep.strip()
            and dep.strip().split()[0] not in names]
    return ", ".join(kept)


def build_deb(tree, pool, name, version, arch):
    """dpkg-deb -b the tree into pool/<n>/<name>/; returns the .deb."""
    directory = pool / name[0] / name
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / ("%s_%s_%s.deb" % (name, version.split(":", 1)[-1], arch))
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "-b", str(tree), str(target)])
    return target


def cli_plugin_tree(tmp, name, version):
    """A docker CLI plugin that answers the CLI's metadata call and says, when run, that it is a stand-in."""
    tree = tmp / name
    plugin = tree / "usr" / "libexec" / "docker" / "cli-plugins" / ("docker-" + name.split("-")[1])
    plugin.parent.mkdir(parents=True)
    command = name.split("-")[1]
    plugin.write_text(
        "#!/bin/sh\n"
        "# The dockhand lab's stand-in for Docker's %s package (tests/lab/lab.py): Debian 12 has no %s.\n"
        "if [ \"$1\" = docker-cli-plugin-metadata ]; then\n"
        "  printf '%%s\\n' '{\"SchemaVersion\":\"0.1.0\",\"Vendor\":\"dockhand lab\",\"Version\":\"%s\","
        "\"ShortDescription\":\"stand-in of the dockhand lab: does nothing\"}'\n"
        "  exit 0\n"
        "fi\n"
        "echo \"docker %s: this is the dockhand lab's stand-in, it does nothing\" >&2\n"
        "exit 1\n" % (name, command, version, command))
    os.chmod(plugin, 0o755)
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN" / "control").write_text("Package: x\n")
    return tree


def docker_ce_packages(tmp, debs, arch, pool):
    """Build every package of the stand-in into pool; returns the .deb files."""
    trees = {}
    for package, (deb, _version, _arch) in debs.items():
        trees[package] = tmp / ("src-" + package)
        run(["dpkg-deb", "-R", str(deb), str(trees[package])])
    docker_io = read_control(trees["docker.io"])
    upstream = debs["docker.io"][1].split(":", 1)[-1].split("+", 1)[0].split("-", 1)[0]  # 20.10.24
    ce_version = "5:%s-1~debian.12~%s%s" % (upstream, SUITE, DOCKER_CE_SUFFIX)
    containerd_upstream = debs["containerd"][1].split(":", 1)[-1].split("~", 1)[0].split("-", 1)[0]
    containerd_version = "%s-1%s" % (containerd_upstream, DOCKER_CE_SUFFIX)
    plugin_version = "0.0.0-1~debian.12~%s%s" % (SUITE, DOCKER_CE_SUFFIX)
    built = []

    # docker.io as Debian ships it, with the suffix
    write_control(trees["docker.io"], docker_io, {"Version": debs["docker.io"][1] + DOCKER_CE_SUFFIX})
    built.append(build_deb(trees["docker.io"], pool, "docker.io", debs["docker.io"][1] + DOCKER_CE_SUFFIX, arch))

    # docker-ce-cli: the client files of Debian's docker.io (unpacked again: docker.io was built above)
    engine = tmp / "docker-ce"
    run(["dpkg-deb", "-R", str(debs["docker.io"][0]), str(engine)])
    cli = tmp / "docker-ce-cli"
    (cli / "DEBIAN").mkdir(parents=True)
    (cli / "DEBIAN" / "control").write_text("Package: x\n")
    for rel in DOCKER_CE_CLI_FILES:
        if (engine / rel).exists():
            (cli / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(engine / rel), str(cli / rel))
    common = {"Maintainer": "dockhand lab <lab@dockhand.invalid>", "Built-Using": None, "Source": None,
              "Installed-Size": None, "Homepage": None}
    write_control(cli, [], dict(
        common, Package="docker-ce-cli", Version=ce_version, Architecture=arch, Section="admin",
        Priority="optional", Depends="libc6", Conflicts="docker.io, docker-engine",
        Replaces="docker.io",
        Description="Docker CLI (dockhand lab stand-in: Debian's docker client under Docker CE's name)"))
    built.append(build_deb(cli, pool, "docker-ce-cli", ce_version, arch))

    # docker-ce: the rest of Debian's docker.io (dockerd, its unit and maintainer scripts)
    depends = without(field(docker_io, "Depends"), ("containerd", "runc"))
    write_control(engine, docker_io, dict(
        common, Package="docker-ce", Version=ce_version,
        Depends="containerd.io (>= 1.6), docker-ce-cli, " + depends,
        Recommends=None, Suggests=None, Conflicts="docker.io, docker-engine", Replaces="docker.io",
        Description="Docker Engine (dockhand lab stand-in: Debian's docker.io daemon under Docker CE's name)"))
    built.append(build_deb(engine, pool, "docker-ce", ce_version, arch))

    # containerd.io: Debian's containerd and runc in one package, as Docker's containerd.io bundles runc
    merged = trees["containerd"]
    runc = trees["runc"]
    for path in sorted(runc.rglob("*")):
        rel = path.relative_to(runc)
        if rel.parts[0] == "DEBIAN" or path.is_dir():
            continue
        (merged / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(str(path), str(merged / rel), follow_symlinks=False)
    containerd = read_control(merged)
    depends = ", ".join(dep for dep in (without(field(containerd, "Depends"), ("runc",)),
                                        field(read_control(runc), "Depends")) if dep)
    write_control(merged, containerd, dict(
        common, Package="containerd.io", Version=containerd_version, Depends=depends, Suggests=None,
        Provides="containerd (= %s), runc (= %s)" % (containerd_version, containerd_version),
        Conflicts="containerd, runc", Replaces="containerd, runc", Breaks=None,
        Description="containerd and runc (dockhand lab stand-in: Debian's containerd and runc in one package)"))
    built.append(build_deb(merged, pool, "containerd.io", containerd_version, arch))

    for name in ("docker-buildx-plugin", "docker-compose-plugin"):
        tree = cli_plugin_tree(tmp, name, plugin_version)
        write_control(tree, [], dict(
            common, Package=name, Version=plugin_version, Architecture=arch, Section="admin",
            Priority="optional", Depends="docker-ce-cli",
            Description="dockhand lab stand-in for Docker's %s (does nothing)" % name))
        built.append(build_deb(tree, pool, name, plugin_version, arch))
    return built


def build_docker_ce_repo(fingerprint):
    """Build the repository into DOCKER_CE_DIR unless its stamp says it is current."""
    debs = {package: download_deb(package) for package in DOCKER_CE_SOURCES}
    arch = debs[DOCKER_CE_PACKAGE][2]
    stamp = short_hash(DOCKER_CE_MIRROR_VERSION, [debs[p][1] for p in DOCKER_CE_SOURCES], arch, fingerprint,
                       DOCKER_CE_SUFFIX, DOCKER_CE_CLI_FILES)
    stamp_file = DOCKER_CE_DIR / ".stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return False
    log("building the docker-ce mirror stand-in (%s, suffix %s)"
        % (", ".join("%s %s" % (p, debs[p][1]) for p in DOCKER_CE_SOURCES), DOCKER_CE_SUFFIX))
    with build_dir("docker-ce") as tmp:
        top = tmp / "mirror" / DOCKER_CE_PATH.strip("/") / "linux" / "debian"
        pool = top / "pool" / "stable"
        pool.mkdir(parents=True)
        docker_ce_packages(tmp, debs, arch, pool)
        dist = top / "dists" / SUITE
        binary = dist / "stable" / ("binary-%s" % arch)
        binary.mkdir(parents=True)
        scan = subprocess.run(["dpkg-scanpackages", "--multiversion", "pool"], cwd=str(top), check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if scan.returncode != 0:
            raise LabError("dpkg-scanpackages failed: %s" % scan.stderr.decode(errors="replace")[-2000:])
        packages = scan.stdout
        (binary / "Packages").write_bytes(packages)
        run(["gzip", "-9kn", str(binary / "Packages")])
        rel = ["stable/binary-%s/Packages" % arch, "stable/binary-%s/Packages.gz" % arch]
        (dist / "Release").write_text(release_text(dist, rel, arch))
        gpg("--yes", "--local-user", fingerprint, "--clearsign", "-o", str(dist / "InRelease"), str(dist / "Release"))
        gpg("--yes", "--local-user", fingerprint, "--armor", "--detach-sign", "-o", str(dist / "Release.gpg"),
            str(dist / "Release"))
        (top / "gpg").write_text(gpg("--armor", "--export", fingerprint).stdout)
        conf = tmp / "mirror" / "nginx.conf"
        conf.write_text(DOCKER_CE_NGINX_CONF)
        for path in [tmp / "mirror"] + list((tmp / "mirror").rglob("*")):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        (tmp / "mirror" / ".stamp").write_text(stamp)
        if DOCKER_CE_DIR.exists():
            shutil.rmtree(DOCKER_CE_DIR)
        shutil.move(str(tmp / "mirror"), str(DOCKER_CE_DIR))
    return True


def ensure_docker_ce_mirror():
    """Build the repository if needed and serve it with nginx (the lab's nginx image, its own config)."""
    build_docker_ce_repo(docker_ce_key())
    # The directory's inode is part of the config: a rebuilt (or deleted and rebuilt) repository is a
    # new directory, which a running container's bind mount would not see.
    config = short_hash(image_id(IMG_NGINX), DOCKER_CE_NGINX_CONF, local_port(DOCKER_CE_PORT), str(DOCKER_CE_DIR),
                        str(os.stat(DOCKER_CE_DIR).st_ino))
    ensure_container(APT_NAME, config, lambda: run_mirror(
        APT_NAME, config, IMG_NGINX, [DOCKER_CE_PORT],
        extra=["--volume", "%s:/srv/mirror:ro" % DOCKER_CE_DIR],
        command=["-c", "/srv/mirror/nginx.conf"]))


def hub_ip():
    info = container_info(HUB_NAME)
    return container_ip(info) if info else None


# --------------------------------------------------------------------------
# Hosts
# --------------------------------------------------------------------------

def host_name(i):
    return "%s%d" % (HOST_PREFIX, i)


def lab_containers(role=None):
    flt = ["--filter", "label=%s=1" % LABEL]
    if role:
        flt += ["--filter", "label=%s=%s" % (LABEL_ROLE, role)]
    names = lines(docker_out("ps", "-a", "--format", "{{.Names}}", *flt))
    return sorted(names)


def ensure_host(i, pubkey):
    name = host_name(i)
    port = SSH_PORT_BASE + i
    run_flags = HOST_RUN_FLAGS
    config = short_hash(image_id(IMG_HOST), port, str(AUTHORIZED_KEYS), pubkey, run_flags,
                        HOST_VOLUMES)

    def create():
        check_port_free(port, name)
        log("creating %s (ssh on 127.0.0.1:%d)" % (name, port))
        cmd = ["run", "-d", "--name", name, "--hostname", name,
               "--label", "%s=1" % LABEL, "--label", "%s=host" % LABEL_ROLE,
               "--label", "%s=%d" % (LABEL_INDEX, i), "--label", "%s=%s" % (LABEL_CONFIG, config),
               "--network", NETWORK, "--publish", "127.0.0.1:%d:22" % port]
        cmd += run_flags
        for suffix, mountpoint in HOST_VOLUMES:
            vol = "%s-%s" % (name, suffix)
            docker("volume", "create", "--label", "%s=1" % LABEL, "--label", "%s=volume" % LABEL_ROLE,
                   "--label", "%s=%s" % (LABEL_OWNER, name), vol)
            cmd += ["--volume", "%s:%s" % (vol, mountpoint)]
        cmd += ["--volume", "%s:/etc/ssh/dockhand-lab/authorized_keys:ro" % AUTHORIZED_KEYS]
        cmd += [IMG_HOST]
        docker(*cmd)

    return ensure_container(name, config, create)


def cut_off_hub(i):
    """Make the hub unreachable from host ``i`` (an edge host): an 'unreachable' route to its address.

    Pulls from inside the host, from its dockerd and from its containers then fail at once with
    "no route to host", unless they go through a mirror. Applied again on every `lab up`.
    """
    address = hub_ip()
    if not address:
        raise LabError("the hub has no address on %s; run `lab setup`" % NETWORK)
    docker("exec", host_name(i), "ip", "route", "replace", "unreachable", "%s/32" % address)
    probe = docker("exec", host_name(i), "curl", "--silent", "--max-time", "3", "--output", "/dev/null",
                   "http://%s:5000/v2/" % address, check=False)
    if probe.returncode == 0:
        raise LabError("%s still reaches the hub at %s" % (host_name(i), address))


def ssh_base(port):
    return ["ssh", "-F", "/dev/null", "-i", str(SSH_KEY), "-p", str(port),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=5", "root@127.0.0.1"]


def wait_hosts(names_ports):
    """Wait until systemd is running/degraded and sshd lets the lab key in."""
    pending = dict(names_ports)
    deadline = time.monotonic() + BOOT_TIMEOUT
    state = {}
    while pending:
        for name, port in list(pending.items()):
            proc = docker("exec", name, "systemctl", "is-system-running", check=False, timeout=30)
            state[name] = proc.stdout.strip() or proc.stderr.strip()
            if state[name] not in ("running", "degraded"):
                continue
            if run(ssh_base(port) + ["true"], check=False, timeout=30).returncode != 0:
                state[name] += " (ssh not ready)"
                continue
            if state[name] == "degraded":
                failed = docker_out("exec", name, "systemctl", "--failed", "--no-legend",
                                    "--plain", check=False)
                warn("%s booted degraded; failed units:\n%s" % (name, failed))
            log("%s is up (systemd %s, ssh 127.0.0.1:%d)" % (name, state[name], port))
            del pending[name]
        if not pending:
            break
        if time.monotonic() > deadline:
            raise LabError("hosts not ready after %ss: %s" % (
                BOOT_TIMEOUT, ", ".join("%s=%s" % (n, state.get(n)) for n in pending)))
        time.sleep(1)


# --------------------------------------------------------------------------
# Inventory and status
# --------------------------------------------------------------------------

def yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def collect_state():
    """What is running now, from docker itself (labels), as a dict."""
    hosts = []
    for name in lab_containers("host"):
        info = container_info(name)
        if not info:
            continue
        labels = info["Config"].get("Labels") or {}
        port = None
        for binding in ((info["NetworkSettings"].get("Ports") or {}).get("22/tcp") or []):
            port = int(binding["HostPort"])
        hosts.append({
            "name": name,
            "index": int(labels.get(LABEL_INDEX, "0") or 0),
            "running": bool(info["State"]["Running"]),
            "ssh_port": port,
            "edge": int(labels.get(LABEL_INDEX, "0") or 0) in EDGE_HOSTS,
            "lab_ip": container_ip(info),
            "image_current": labels.get(LABEL_CONFIG) is not None
            and (info.get("Image") == image_id(IMG_HOST)),
        })
    hosts.sort(key=lambda h: h["index"])
    hub = container_info(HUB_NAME)
    hub_state = {
        "name": HUB_NAME,
        "running": bool(hub and hub["State"]["Running"]),
        "local": "127.0.0.1:%d" % HUB_PORT,
        "lab_ip": container_ip(hub) if hub else None,
    }
    hub_state["registry"] = ("%s:5000" % hub_state["lab_ip"]) if hub_state["lab_ip"] else None
    mirrors = mirror_urls()
    infos = {HUB_NAME: hub}
    for entry in mirrors.values():
        if entry["container"] not in infos:
            infos[entry["container"]] = container_info(entry["container"])
        info = infos[entry["container"]]
        entry["running"] = bool(info and info["State"]["Running"])
        entry["lab_ip"] = container_ip(info) if info else None
    return {
        "network": NETWORK,
        "hub": hub_state,
        "mirrors": mirrors,
        "hosts": hosts,
        "ssh_private_key": str(SSH_KEY),
        "inventory": str(INVENTORY),
    }


def write_inventory(state):
    if CONNECTION not in ("ssh", "paramiko"):
        raise LabError("DOCKHAND_LAB_CONNECTION is %r: set it to ssh (the default) or paramiko" % CONNECTION)
    hub = state["hub"]
    group_vars = [
        ("ansible_user", "root"),
        # OpenSSH with ControlPersist (ansible's default ssh_args) and pipelining: one SSH session per host
        # for a whole run, and no temporary module files. DOCKHAND_LAB_CONNECTION=paramiko writes paramiko
        # instead (deprecated in ansible-core 2.19; a test keeps it working: test_engine_info.py).
        ("ansible_connection", CONNECTION),
        ("ansible_pipelining", True),
        ("ansible_ssh_private_key_file", str(SSH_KEY)),
        ("ansible_python_interpreter", "/usr/bin/python3"),
        # paramiko_ssh reads these (ansible-core 2.19): no known_hosts, no prompt.
        ("ansible_host_key_checking", False),
        ("ansible_paramiko_host_key_checking", False),
        # The lab shares two cores with the suite: key exchange and authentication can take longer than
        # the default 10 s while 22 hosts start containers (an "Authentication timeout" was seen in CI).
        ("ansible_paramiko_timeout", 30),
        ("ansible_ssh_timeout", 30),
        # ...and these keep the OpenSSH connection quiet and off known_hosts.
        ("ansible_ssh_common_args",
         "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"),
        ("lab_network", NETWORK),
        ("lab_hub_registry", hub["registry"] or ""),
        ("lab_hub_registry_name", "%s:5000" % HUB_NAME),
        ("lab_hub_registry_local", hub["local"]),
    ]
    mirror_vars = [
        # URLs of the mirror stand-ins: from inside a host, and from this machine.
        ("lab_mirrors", {k: v["lab"] for k, v in state["mirrors"].items()}),
        ("lab_mirrors_local", {k: v["local"] for k, v in state["mirrors"].items()}),
    ]
    out_lines = [
        "# Generated by tests/lab/lab up -- do not edit, it is rewritten on every run.",
        "all:",
        "  children:",
        "    lab:",
        "      children:",
        "        lab_hosts:",
        "          hosts:" + ("" if state["hosts"] else " {}"),
    ]
    for h in state["hosts"]:
        out_lines += [
            "            %s:" % h["name"],
            "              ansible_host: %s" % yaml_scalar("127.0.0.1"),
            "              ansible_port: %s" % yaml_scalar(h["ssh_port"]),
            "              lab_ip: %s" % yaml_scalar(h["lab_ip"] or ""),
            "              lab_container: %s" % yaml_scalar(h["name"]),
            "              lab_edge: %s" % yaml_scalar(bool(h.get("edge"))),
        ]
    edge = [h["name"] for h in state["hosts"] if h.get("edge")]
    # lab_edge: the hosts that reach registries only through the lab's mirrors (the hub is cut off).
    out_lines.append("        lab_edge:")
    out_lines.append("          hosts:" + ("" if edge else " {}"))
    out_lines += ["            %s: {}" % name for name in edge]
    out_lines.append("      vars:")
    out_lines += ["        %s: %s" % (k, yaml_scalar(v)) for k, v in group_vars]
    # A JSON object is a valid YAML flow mapping.
    out_lines += ["        %s: %s" % (k, json.dumps(v, sort_keys=True)) for k, v in mirror_vars]
    INVENTORY.write_text("\n".join(out_lines) + "\n")
    LAB_JSON.write_text(json.dumps(state, indent=2) + "\n")


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

# Each host's systemd takes inotify instances (path units, journald, logind), all counted against root here:
# Debian's default of 128 runs out near 20 hosts, and the next host's systemd then hangs "initializing".
INOTIFY_INSTANCES = 1024
INOTIFY_SETTING = Path("/proc/sys/fs/inotify/max_user_instances")


def ensure_inotify_instances():
    """Raise fs.inotify.max_user_instances to INOTIFY_INSTANCES (never lowers it; until the next boot)."""
    try:
        current = int(INOTIFY_SETTING.read_text().strip())
    except (OSError, ValueError):
        return
    if current < INOTIFY_INSTANCES:
        log("raising fs.inotify.max_user_instances from %d to %d (each lab host's systemd needs some)"
            % (current, INOTIFY_INSTANCES))
        INOTIFY_SETTING.write_text("%d\n" % INOTIFY_INSTANCES)


def do_setup():
    ensure_packages()
    ensure_dockerd()
    ensure_inotify_instances()
    built = [build_busybox(), build_hello(), build_registry(), build_nginx(), build_proxy(), build_host()]
    if not any(built):
        log("images are current")
    else:
        prune_superseded_images()
    ensure_ssh_key()
    ensure_network()
    ensure_hub()
    seed_hub()
    ensure_mirrors()
    log("setup done; hub at 127.0.0.1:%d (lab network %s), mirrors on 127.0.0.1:%d-%d"
        % (HUB_PORT, hub_ip(), local_port(CACHE_PORT), local_port(DOCKER_CE_PORT)))


def cmd_setup(args):
    with lab_lock():
        do_setup()


def cmd_ee_base(args):
    with lab_lock():
        ensure_packages()
        ensure_dockerd()
        build_ee_base()
    print(IMG_EE_BASE)


def cmd_up(args):
    n = args.count
    if n < 0:
        raise LabError("host count must be >= 0")
    with lab_lock():
        do_setup()
        pubkey = ensure_ssh_key()
        for name in lab_containers("host"):
            info = container_info(name)
            idx = ((info or {}).get("Config", {}).get("Labels") or {}).get(LABEL_INDEX, "")
            if not idx.isdigit() or not 1 <= int(idx) <= n:
                log("removing %s (not among the %d wanted hosts)" % (name, n))
                remove_container(name)
        for i in range(1, n + 1):
            ensure_host(i, pubkey)
        wait_hosts({host_name(i): SSH_PORT_BASE + i for i in range(1, n + 1)})
        for i in sorted(EDGE_HOSTS):
            if i <= n:
                cut_off_hub(i)
        prune_superseded_images()
        state = collect_state()
        write_inventory(state)
        log("lab is up: %d host(s); inventory %s" % (len(state["hosts"]), INVENTORY))


def restart_dockerd():
    """Stop dockerd and start it again (ensure_dockerd)."""
    if systemd_booted():
        log("restarting docker via systemctl")
        run(["systemctl", "restart", "docker"])
        return
    try:
        pid = int(DOCKERD_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        raise LabError("cannot restart dockerd: no pid in %s" % DOCKERD_PIDFILE) from None
    log("restarting dockerd (pid %d)" % pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        raise LabError("dockerd (pid %d) did not stop within 90s" % pid)
    ensure_dockerd()


def remove_networks(networks):
    """docker network rm; when dockerd keeps an endpoint of a container that is gone ("has active endpoints"
    with no container attached, a libnetwork leak), restart dockerd, which drops it, and remove them again."""
    proc = run(["docker", "network", "rm"] + networks, check=False)
    if proc.returncode == 0:
        return
    attached = [net for net in networks
                if docker_out("network", "inspect", "--format", "{{len .Containers}}", net, check=False).strip()
                not in ("", "0")]
    said = (proc.stdout or "") + (proc.stderr or "")
    if "has active endpoints" not in said or attached:
        raise LabError("docker network rm %s failed:\n%s" % (" ".join(networks), said))
    warn("dockerd holds an endpoint of a removed container on %s; restarting dockerd to drop it"
         % " ".join(networks))
    restart_dockerd()
    left = [net for net in networks if docker_out("network", "ls", "-q", "--filter", "id=" + net)]
    if left:
        docker("network", "rm", *left)


def cmd_down(args):
    with lab_lock():
        if shutil.which("docker") is None:
            log("docker is not installed: nothing to remove")
            return
        ensure_dockerd()
        flt = ["--filter", "label=%s=1" % LABEL]
        containers = lines(docker_out("ps", "-a", "-q", *flt))
        if containers:
            log("removing %d container(s)" % len(containers))
            docker("rm", "-f", "-v", *containers)
        volumes = lines(docker_out("volume", "ls", "-q", *flt))
        if volumes:
            log("removing %d volume(s)" % len(volumes))
            docker("volume", "rm", "-f", *volumes)
        networks = lines(docker_out("network", "ls", "-q", *flt))
        if networks:
            log("removing %d network(s)" % len(networks))
            remove_networks(networks)
        if args.images:
            images = sorted(set(lines(docker_out("images", "-a", "-q", *flt))))
            if images:
                log("removing %d image(s)" % len(images))
                docker("rmi", "-f", *images, check=False)
        for f in (INVENTORY, LAB_JSON):
            if f.exists():
                f.unlink()
        if args.purge and STATE_DIR.exists():
            log("removing the state dir (SSH key, debootstrap cache, logs)")
            shutil.rmtree(STATE_DIR)
        log("lab is down")


def cmd_status(args):
    if not docker_answers():
        if args.json:
            print(json.dumps({"docker": False}))
        else:
            print("docker: not answering (run `lab setup`)")
        return 1
    state = collect_state()
    if args.json:
        print(json.dumps(state, indent=2))
    else:
        hub = state["hub"]
        print("hub:   %s %s  local %s  lab-network %s" % (
            hub["name"], "up" if hub["running"] else "DOWN", hub["local"], hub["registry"]))
        if hub["running"]:
            try:
                body = http_get("http://%s/v2/_catalog" % hub["local"])[2]
                print("       catalog: %s" % ", ".join(json.loads(body).get("repositories", [])))
            except (urllib.error.URLError, OSError, ValueError) as exc:
                print("       catalog: unreachable (%s)" % exc)
        for key, m in state["mirrors"].items():
            if key == "dead":  # up means: refuses connections, as a dead mirror does
                up = tcp_refused(local_port(DEAD_PORT))
            else:
                up = m["running"]
            if key != "hub":
                print("mirror: %-14s %-4s local %-36s lab %s" % (key, "up" if up else "DOWN", m["local"], m["lab"]))
        if not state["hosts"]:
            print("hosts: none")
        for h in state["hosts"]:
            print("host:  %-20s %-7s ssh 127.0.0.1:%-5s lab-ip %-15s%s" % (
                h["name"], "up" if h["running"] else "STOPPED", h["ssh_port"], h["lab_ip"],
                "" if h["image_current"] else "  (old image)"))
        print("inventory: %s%s" % (INVENTORY, "" if INVENTORY.exists() else " (not written)"))
        print("ssh key:   %s" % SSH_KEY)
    ok = (state["hub"]["running"] and state["hosts"] and all(h["running"] for h in state["hosts"])
          and all(m["running"] for m in state["mirrors"].values()))
    return 0 if ok else 1


def resolve_host(arg):
    candidates = [arg, "%s%s" % (HOST_PREFIX, arg), "dockhand-lab-%s" % arg]
    hosts = lab_containers("host")
    for c in candidates:
        if c in hosts:
            return c
    raise LabError("no lab host %r (hosts: %s)" % (arg, ", ".join(hosts) or "none"))


def cmd_exec(args):
    name = resolve_host(args.host)
    cmd = args.cmd or ["bash", "-l"]
    flags = ["-i"] + (["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else [])
    return subprocess.call(["docker", "exec"] + flags + [name] + cmd)


def cmd_ssh(args):
    name = resolve_host(args.host)
    info = container_info(name)
    port = int(info["NetworkSettings"]["Ports"]["22/tcp"][0]["HostPort"])
    base = ssh_base(port)
    if not args.cmd and sys.stdin.isatty():
        base.insert(1, "-t")
    return subprocess.call(base + args.cmd)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="lab", description="dockhand.runtime test lab: Debian hosts in Docker.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("setup", help="install packages, start dockerd, build images, start the hub and mirrors")
    p.set_defaults(func=cmd_setup)
    p = sub.add_parser("up", help="setup, then run exactly N hosts and write the inventory")
    p.add_argument("count", nargs="?", type=int, default=3, metavar="N")
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("down", help="remove all lab containers, volumes and networks")
    p.add_argument("--images", action="store_true", help="also remove the lab images")
    p.add_argument("--purge", action="store_true",
                   help="also remove the images and the state dir (key, debootstrap cache)")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("ee-base", help="build the execution environment's base image (make ee builds the EE on it)")
    p.set_defaults(func=cmd_ee_base)
    p = sub.add_parser("status", help="show hosts, ports, the hub and the mirror stand-ins")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("exec", help="run a command in a host (docker exec)")
    p.add_argument("host", help="1, host1 or dockhand-lab-host1")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_exec)
    p = sub.add_parser("ssh", help="ssh into a host as root with the lab key")
    p.add_argument("host")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_ssh)
    args = parser.parse_args(argv)
    os.umask(0o022)  # image trees and state files must not inherit a lax umask
    if getattr(args, "purge", False):
        args.images = True
    try:
        return args.func(args) or 0
    except LabError as exc:
        print("lab: error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
