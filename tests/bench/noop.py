# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a task that changes nothing costs: dockhand.runtime modules against ansible.builtin.ping.

For each module one playbook runs a warm-up task (it creates the object) and then N identical
tasks that must all report ok and unchanged; a callback times them. Rounds interleave the
modules (the order rotates every round) and the table shows medians over the rounds, the ratio
to ping run by the same ansible-playbook on the same host and connection, and the size of the
AnsiballZ payload each module ships. With --with-community-docker the same runs are made with
community.docker's modules, from the `ansible` package of PyPI installed into a separate
virtualenv. This prints figures; it asserts nothing about them.

Everything it creates is named dockhand-bench-* and is removed at the end; the image is removed
only when the benchmark pulled it.
"""

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import yaml

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(BENCH_DIR))
COLLECTIONS_DIR = os.path.join(REPO_ROOT, "build", "collections")
COLLECTION_LINK = os.path.join(COLLECTIONS_DIR, "ansible_collections", "dockhand", "runtime")
CALLBACK_DIR = os.path.join(BENCH_DIR, "callback_plugins")
COMMUNITY_VENV = os.path.join(BENCH_DIR, ".venv-ansible")
CONTAINER_MODULE = os.path.join(REPO_ROOT, "plugins", "modules", "container.py")

PREFIX = "dockhand-bench"
IMAGE = "127.0.0.1:5000/library/busybox:latest"
CONTAINER_IMAGE = "127.0.0.1:5000/library/busybox"
MODULE_KEYS = ("image", "image_info", "network", "volume", "container", "copy_into", "prune", "compose")
# The container copy_into writes into: made once before the rounds, removed at the end.
COPY_TARGET = PREFIX + "copy-target"
COPY_TARGET_SPEC = {"name": COPY_TARGET, "image": CONTAINER_IMAGE, "command": "sleep 3600", "state": "started"}
COPY_TARGET_SETUP = [("dockhand.runtime.container", COPY_TARGET_SPEC)]
COPY_TARGET_TEARDOWN = [("dockhand.runtime.container", {"name": COPY_TARGET, "state": "absent"})]
# A prune that matches nothing: the label is on no object, so the rerun removes nothing (and never anything else).
PRUNE_LABEL = PREFIX + "-nothing-carries-this"
# A compose project of 10 services (busybox sleep), inline: the action plugin parses it on every task.
COMPOSE_PROJECT = PREFIX + "-compose"
COMPOSE_DEFINITION = {"services": {"s%d" % n: {"image": IMAGE, "command": "sleep 3600", "stop_signal": "SIGKILL"}
                                   for n in range(1, 11)}}


class Case:
    """One module with the arguments of its no-op task and of its clean-up task."""

    def __init__(self, engine, key, module, args, cleanup=None, setup=(), teardown=()):
        self.engine = engine
        self.key = key
        self.module = module
        self.args = args
        self.cleanup = cleanup
        self.setup = list(setup)  # (module, args) run once before the rounds
        self.teardown = list(teardown)  # (module, args) run at the end

    @property
    def short(self):
        return self.module.rsplit(".", 1)[-1]


def dockhand_cases(keys):
    cases = [Case("dockhand", "ping", "ansible.builtin.ping", {})]
    table = {
        "image": Case("dockhand", "image", "dockhand.runtime.image", {"name": IMAGE}),
        "image_info": Case("dockhand", "image_info", "dockhand.runtime.image_info", {"name": [IMAGE]}),
        "network": Case("dockhand", "network", "dockhand.runtime.network", {"name": PREFIX + "-network"},
                        {"name": PREFIX + "-network", "state": "absent"}),
        "volume": Case("dockhand", "volume", "dockhand.runtime.volume", {"name": PREFIX + "-volume"},
                       {"name": PREFIX + "-volume", "state": "absent"}),
        "container": Case("dockhand", "container", "dockhand.runtime.container",
                          {"name": PREFIX + "-container", "image": CONTAINER_IMAGE, "command": "sleep 3600",
                           "state": "started"},
                          {"name": PREFIX + "-container", "state": "absent"}),
        "copy_into": Case("dockhand", "copy_into", "dockhand.runtime.container_copy_into",
                          {"container": COPY_TARGET, "container_path": "/tmp/bench.conf", "content": "listen 80\n",
                           "mode": "0644"}, setup=COPY_TARGET_SETUP, teardown=COPY_TARGET_TEARDOWN),
        "prune": Case("dockhand", "prune", "dockhand.runtime.prune",
                      {"containers": True, "containers_filters": {"label": PRUNE_LABEL},
                       "networks": True, "networks_filters": {"label": PRUNE_LABEL}}),
        "compose": Case("dockhand", "compose", "dockhand.runtime.compose",
                        {"project_name": COMPOSE_PROJECT, "definition": COMPOSE_DEFINITION},
                        {"project_name": COMPOSE_PROJECT, "definition": COMPOSE_DEFINITION, "state": "absent"}),
    }
    return cases + [table[key] for key in keys]


def community_cases(keys):
    cases = [Case("community", "ping", "ansible.builtin.ping", {})]
    table = {
        "image": Case("community", "image", "community.docker.docker_image", {"name": IMAGE, "source": "pull"}),
        "image_info": Case("community", "image_info", "community.docker.docker_image_info", {"name": [IMAGE]}),
        "network": Case("community", "network", "community.docker.docker_network",
                        {"name": PREFIX + "-cd-network"}, {"name": PREFIX + "-cd-network", "state": "absent"}),
        "volume": Case("community", "volume", "community.docker.docker_volume",
                       {"volume_name": PREFIX + "-cd-volume"},
                       {"volume_name": PREFIX + "-cd-volume", "state": "absent"}),
        "container": Case("community", "container", "community.docker.docker_container",
                          {"name": PREFIX + "-cd-container", "image": CONTAINER_IMAGE, "command": "sleep 3600",
                           "state": "started"},
                          {"name": PREFIX + "-cd-container", "state": "absent", "force_kill": True}),
        "copy_into": Case("community", "copy_into", "community.docker.docker_container_copy_into",
                          {"container": COPY_TARGET, "container_path": "/tmp/bench-cd.conf", "content": "listen 80\n",
                           "mode": 0o644, "owner_id": 0, "group_id": 0},
                          setup=COPY_TARGET_SETUP, teardown=COPY_TARGET_TEARDOWN),
        "prune": Case("community", "prune", "community.docker.docker_prune",
                      {"containers": True, "containers_filters": {"label": PRUNE_LABEL},
                       "networks": True, "networks_filters": {"label": PRUNE_LABEL}}),
    }
    # community.docker.docker_compose_v2 needs the compose CLI plugin on the host: not timed here.
    return cases + [table[key] for key in keys if key in table]


def play(tasks, name="bench"):
    return [{"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}]


def task(name, case, args=None, **extra):
    entry = {"name": name, case.module: dict(case.args if args is None else args)}
    entry.update(extra)
    return entry


class Runner:
    """Runs playbooks with one ansible-playbook (one engine) in a scratch directory."""

    def __init__(self, engine, ansible_playbook, workdir):
        self.engine = engine
        self.ansible_playbook = ansible_playbook
        self.workdir = workdir
        self.count = 0

    def version(self):
        out = subprocess.run([self.ansible_playbook, "--version"], stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        return out.split("core ", 1)[-1].split("]", 1)[0] if "core " in out else out.split("\n", 1)[0]

    def run(self, plays, check=False, extra_env=None):
        """Run plays; returns (rc, output, events) where events are the callback's lines."""
        self.count += 1
        stem = os.path.join(self.workdir, "%s-%d" % (self.engine, self.count))
        with open(stem + ".yml", "w") as handle:
            yaml.safe_dump(plays, handle, sort_keys=False)
        events_file = stem + ".jsonl"
        open(events_file, "w").close()
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR,
            "ANSIBLE_CALLBACK_PLUGINS": CALLBACK_DIR,
            "ANSIBLE_CALLBACKS_ENABLED": "dockhand_bench",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "DOCKHAND_BENCH_FILE": events_file,
        })
        env.update(extra_env or {})
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a target host: the modules keep their compiled imports
        cmd = [self.ansible_playbook, stem + ".yml", "-i", "localhost,"] + (["--check"] if check else [])
        proc = subprocess.run(cmd, env=env, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=False)
        with open(events_file) as handle:
            events = [json.loads(line) for line in handle if line.strip()]
        return proc.returncode, proc.stdout, events


def fail(message, output=""):
    sys.exit("noop.py: %s\n%s" % (message, output[-3000:]))


def timed_run(runner, case, tasks):
    """Seconds per task of the N timed tasks of one playbook, after checking that each changed nothing."""
    plays = play([task("warm-up", case)]
                 + [task("timed %d" % i, case) for i in range(1, tasks + 1)]
                 + [{"name": "bench end", "ansible.builtin.debug": {"msg": "end"}}],
                 name="%s x %d" % (case.module, tasks))
    rc, output, events = runner.run(plays)
    if rc != 0:
        fail("%s: ansible-playbook exited %d" % (case.module, rc), output)
    starts = {e["task"]: e["t"] for e in events if e["event"] == "start"}
    results = [e for e in events if e["event"] == "result" and e["task"].startswith("timed ")]
    bad = [e for e in results if e["status"] != "ok" or e["changed"]]
    if len(results) != tasks or bad:
        fail("%s: the timed tasks must all be ok and unchanged: %s" % (case.module, bad[:3]), output)
    return (starts["bench end"] - starts["timed 1"]) / tasks


def payload_sizes(runner, cases, workdir):
    """Bytes of the AnsiballZ_<module>.py file each module ships (kept with ANSIBLE_KEEP_REMOTE_FILES)."""
    remote_tmp = os.path.join(workdir, "remote-" + runner.engine)
    os.makedirs(remote_tmp, exist_ok=True)
    tasks = [task("payload of %s" % case.module, case) for case in cases]
    rc, output, _events = runner.run(play(tasks, name="payload"), check=True, extra_env={
        "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_PIPELINING": "False", "ANSIBLE_REMOTE_TMP": remote_tmp})
    if rc != 0:
        fail("the payload playbook (check mode) failed", output)
    sizes = {}
    for case in cases:
        found = glob.glob(os.path.join(remote_tmp, "*", "AnsiballZ_%s.py" % case.short))
        sizes[case.module] = os.path.getsize(found[0]) if found else None
    shutil.rmtree(remote_tmp, ignore_errors=True)
    return sizes


def community_ansible_playbook(venv, install):
    """ansible-playbook of the virtualenv that holds PyPI's `ansible` (community.docker) and requests."""
    binary = os.path.join(venv, "bin", "ansible-playbook")
    if not os.path.exists(binary) or install:
        print("Installing PyPI's ansible and requests into %s (once) ..." % os.path.relpath(venv), flush=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet", "ansible", "requests"], check=True)
    if not glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "ansible_collections", "community",
                                  "docker")):
        fail("community.docker is not in %s" % venv)
    return binary


def setup_tasks(cases, which):
    """The tasks of the cases' setup or teardown, each (module, args) once."""
    tasks, seen = [], []
    for case in cases:
        for module, args in getattr(case, which):
            if (module, args) not in seen:
                seen.append((module, args))
                tasks.append({"name": "%s for %s" % (which, case.key), module: dict(args)})
    return tasks


def cleanup(runner, cases, remove_image):
    tasks = []
    for case in reversed(cases):
        if case.cleanup:
            tasks.append(task("remove %s" % case.key, case, case.cleanup, ignore_errors=True))
        elif case.key == "image" and remove_image:
            tasks.append(task("remove the image the benchmark pulled", case, {"name": IMAGE, "state": "absent"},
                              ignore_errors=True))
    tasks += [dict(entry, ignore_errors=True) for entry in setup_tasks(cases, "teardown")]
    if tasks:
        rc, output, events = runner.run(play(tasks, name="clean up"))
        failed = [e for e in events if e["event"] == "result" and e["status"] == "failed"]
        if rc != 0 or failed:
            print("warning: clean-up failed, remove %s-* by hand: %s\n%s" % (PREFIX, failed, output[-1500:]))


def leftovers():
    docker = shutil.which("docker")
    if not docker:
        return []
    found = []
    for kind in ("container", "network", "volume"):
        out = subprocess.run([docker, kind, "ls"] + (["-a"] if kind == "container" else [])
                             + ["--filter", "name=" + PREFIX, "--format", "{{.Names}}" if kind == "container"
                                else "{{.Name}}"], stdout=subprocess.PIPE, text=True, check=False).stdout
        found += ["%s %s" % (kind, name) for name in out.split()]
    return found


def kb(size):
    return "-" if size is None else "%.1f" % (size / 1024.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-n", "--tasks", type=int, default=30, help="timed tasks per playbook (default 30)")
    parser.add_argument("-r", "--rounds", type=int, default=5, help="rounds, modules interleaved (default 5)")
    parser.add_argument("-m", "--modules", default=",".join(MODULE_KEYS),
                        help="comma-separated subset of %s (default all)" % ", ".join(MODULE_KEYS))
    parser.add_argument("--with-community-docker", action="store_true",
                        help="also time community.docker's modules (installs PyPI's ansible into --community-venv)")
    parser.add_argument("--community-venv", default=COMMUNITY_VENV, help="default tests/bench/.venv-ansible")
    parser.add_argument("--reinstall", action="store_true", help="reinstall the community virtualenv")
    options = parser.parse_args()

    keys = [k.strip() for k in options.modules.split(",") if k.strip()]
    unknown = set(keys) - set(MODULE_KEYS)
    if unknown or options.tasks < 1 or options.rounds < 1:
        parser.error("--modules takes %s; --tasks and --rounds at least 1" % ", ".join(MODULE_KEYS))
    if "container" in keys and not os.path.exists(CONTAINER_MODULE):
        print("note: plugins/modules/container.py is not there yet: dockhand.runtime.container and "
              "community.docker.docker_container are skipped")
        keys.remove("container")
    if not os.path.islink(COLLECTION_LINK):
        os.makedirs(os.path.dirname(COLLECTION_LINK), exist_ok=True)
        os.symlink(REPO_ROOT, COLLECTION_LINK)

    workdir = tempfile.mkdtemp(prefix="dockhand-bench-")
    local = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable)) or shutil.which("ansible-playbook")
    runners = {"dockhand": Runner("dockhand", local, workdir)}
    cases = {"dockhand": dockhand_cases(keys)}
    if options.with_community_docker:
        runners["community"] = Runner("community", community_ansible_playbook(options.community_venv,
                                                                              options.reinstall), workdir)
        cases["community"] = community_cases(keys)

    remove_image = False
    try:
        # pull once, noting whether it was here
        if {"image", "image_info", "container", "copy_into", "compose"} & set(keys):
            image_case = Case("dockhand", "image", "dockhand.runtime.image", {"name": IMAGE})
            rc, output, events = runners["dockhand"].run(play([task("pull", image_case)]))
            if rc != 0:
                fail("pulling %s failed" % IMAGE, output)
            remove_image = any(e["event"] == "result" and e["changed"] for e in events)

        setup = setup_tasks(cases["dockhand"], "setup")  # the same objects serve both engines
        if setup:
            rc, output, _events = runners["dockhand"].run(play(setup, name="setup"))
            if rc != 0:
                fail("the setup of %s failed" % ", ".join(keys), output)

        sizes = {engine: payload_sizes(runners[engine], cases[engine], workdir) for engine in runners}
        order = [(engine, case) for engine in runners for case in cases[engine]]
        seconds = {(engine, case.module): [] for engine, case in order}
        for round_ in range(options.rounds):
            shift = round_ % len(order)
            for engine, case in order[shift:] + order[:shift]:
                seconds[(engine, case.module)].append(timed_run(runners[engine], case, options.tasks))
            print("round %d/%d done" % (round_ + 1, options.rounds), flush=True)

        print("\n%d rounds x %d no-op tasks per module, localhost, local connection; medians over rounds\n"
              % (options.rounds, options.tasks))
        header = "%-36s %-8s %10s %15s %8s %11s %13s" % (
            "module", "core", "s/task", "(min-max)", "x ping", "payload KB", "- ping KB")
        print(header)
        print("-" * len(header))
        for engine, runner in runners.items():
            core = runner.version()
            ping = statistics.median(seconds[(engine, "ansible.builtin.ping")])
            ping_size = sizes[engine]["ansible.builtin.ping"]
            for case in cases[engine]:
                values = seconds[(engine, case.module)]
                size = sizes[engine][case.module]
                extra = "-" if size is None or ping_size is None else "%+.1f" % ((size - ping_size) / 1024.0)
                print("%-36s %-8s %10.3f %15s %8.2f %11s %13s" % (
                    case.module, core, statistics.median(values), "(%.3f-%.3f)" % (min(values), max(values)),
                    statistics.median(values) / ping, kb(size), extra))
    finally:
        for engine in reversed(list(runners)):
            cleanup(runners[engine], cases[engine], remove_image and engine == "dockhand")
        shutil.rmtree(workdir, ignore_errors=True)
        left = leftovers()
        if left:
            print("warning: still here after the clean-up: %s" % ", ".join(left))


if __name__ == "__main__":
    main()
