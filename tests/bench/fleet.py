# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's playbooks at fleet size: a no-op rerun on 1, 5, 10, 20 and 30 lab hosts against a play of the
same shape made of ansible.builtin.ping tasks.

For each playbook and each fleet size, one run converges the hosts (not timed), then a rerun, which must report
changed=0 on every host (the script says so when it does not), is timed; then a play of the same shape is timed:
on the same hosts, with the same serial batches, as many ping tasks as the rerun ran on a host and as many
skipped ones as it skipped. The table prints both times and their ratio. Figures, never assertions.

    python tests/bench/fleet.py --hosts 1,5,10,20,30 --playbooks provision,deploy,switch_mirrors

It needs a lab with at least as many hosts (tests/lab/lab up 30) and changes those hosts.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(BENCH_DIR))
COLLECTIONS_DIR = os.path.join(REPO_ROOT, "build", "collections")
INVENTORY = os.path.join(REPO_ROOT, "tests", "lab", "state", "inventory.yml")
PROVISION_VARS = os.path.join(REPO_ROOT, "tests", "lab", "provision-vars.yml")
BIN_DIR = os.path.dirname(sys.executable)

# What each playbook is given: the lab's own variables, as its tests and README give them.
PLAYBOOKS = {
    "provision": {"file": "provision.yml", "hosts_var": "provision_hosts", "vars_files": [PROVISION_VARS],
                  "serial": None},
    "switch_mirrors": {"file": "switch_mirrors.yml", "hosts_var": "switch_mirrors_hosts", "vars_files": [],
                       "extra": {"mirrors_candidates": ["{{ lab_mirrors.cache }}", "{{ lab_mirrors.hub }}"]},
                       "serial": "25%"},
    "deploy": {"file": "deploy.yml", "hosts_var": "deploy_hosts", "vars_files": [],
               "extra": {"containers_list": [{"name": "bench-web", "image": "busybox:latest",
                                              "command": "sleep 3600", "stop_signal": "SIGKILL"}]},
               "serial": "100%"},
}
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def ansible_env():
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_RETRY_FILES_ENABLED="False")
    env["PATH"] = BIN_DIR + os.pathsep + env.get("PATH", "")
    return env


def run(playbook, extra, vars_files=()):
    """(seconds, {host: (ok, changed, unreachable, failed, skipped)}, output) of one ansible-playbook run."""
    command = ["ansible-playbook", "-i", INVENTORY, playbook, "-e", json.dumps(extra)]
    for path in vars_files:
        command += ["-e", "@" + path]
    started = time.monotonic()
    done = subprocess.run(command, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    seconds = time.monotonic() - started
    recap = {match.group(1): tuple(int(value) for value in match.groups()[1:])
             for match in RECAP.finditer(done.stdout)}
    return seconds, recap, done.stdout


def ping_play(hosts, ran, skipped, serial):
    play = {"name": "same shape", "hosts": ":".join(hosts), "gather_facts": False,
            "tasks": [{"name": "ping %d" % index, "ansible.builtin.ping": {}} for index in range(ran)] +
                     [{"name": "skipped %d" % index, "ansible.builtin.ping": {}, "when": False}
                      for index in range(skipped)]}
    if serial:
        play["serial"] = serial
    return [play]


def measure(name, size, directory):
    spec = PLAYBOOKS[name]
    hosts = ["dockhand-lab-host%d" % index for index in range(1, size + 1)]
    extra = dict(spec.get("extra") or {}, **{spec["hosts_var"]: ":".join(hosts)})
    playbook = os.path.join(REPO_ROOT, "playbooks", spec["file"])
    converge, recap, output = run(playbook, extra, spec["vars_files"])
    if any(counts[3] or counts[2] for host, counts in recap.items() if host in hosts):
        sys.exit("%s on %d hosts failed to converge:\n%s" % (name, size, output[-4000:]))
    seconds, recap, output = run(playbook, extra, spec["vars_files"])
    changed = sorted(host for host, counts in recap.items() if host in hosts and counts[1])
    ran = max(recap[host][0] for host in hosts)
    skipped = max(recap[host][4] for host in hosts)
    path = os.path.join(directory, "ping-%s-%d.yml" % (name, size))
    with open(path, "w") as handle:
        yaml.safe_dump(ping_play(hosts, ran, skipped, spec["serial"]), handle)
    ping_seconds, _recap, ping_output = run(path, {})
    if "failed=0" not in ping_output:
        sys.exit("the ping play failed:\n" + ping_output[-3000:])
    return {"playbook": name, "hosts": size, "converge": converge, "rerun": seconds, "ping": ping_seconds,
            "tasks": ran, "skipped": skipped, "changed_hosts": changed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", default="1,5,10,20,30", help="fleet sizes, comma-separated")
    parser.add_argument("--playbooks", default="provision,deploy,switch_mirrors",
                        help="any of %s" % ", ".join(PLAYBOOKS))
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.hosts.split(",")]
    names = args.playbooks.split(",")
    unknown = [name for name in names if name not in PLAYBOOKS]
    if unknown:
        parser.error("--playbooks: %s is not one of %s" % (", ".join(unknown), ", ".join(PLAYBOOKS)))
    rows = []
    with tempfile.TemporaryDirectory(prefix="dockhand-fleet-bench-") as directory:
        for name in names:
            for size in sizes:
                row = measure(name, size, directory)
                rows.append(row)
                print("%-15s %3d hosts  rerun %6.1f s  ping play %6.1f s  %.2fx  (%d tasks, %d skipped per host;"
                      " converge %.0f s)%s" % (name, size, row["rerun"], row["ping"], row["rerun"] / row["ping"],
                                               row["tasks"], row["skipped"], row["converge"],
                                               "  CHANGED on " + ", ".join(row["changed_hosts"])
                                               if row["changed_hosts"] else ""), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
