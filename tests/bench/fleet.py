# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's playbooks at fleet size: a no-op rerun on 1, 5, 10, 20 and 30 lab hosts against a play of the
same shape made of ansible.builtin.ping tasks.

For each playbook and each fleet size, one run converges the hosts (not timed), then a rerun, which must report
changed=0 on every host (the script says so when it does not), is timed; then a play of the same shape is timed:
on the same hosts, with the same serial batches, as many ping tasks as the rerun ran on a host and as many
skipped ones as it skipped. The table prints both times and their ratio. Figures, never assertions.

    python tests/bench/fleet.py --hosts 1,5,10,20,30 --playbooks provision,deploy,switch_mirrors

It needs a lab with at least as many hosts (tests/lab/lab up 30) and changes those hosts.

With --canary N, it also rolls switch_mirrors.yml out on N hosts in batches of 1, 25% and the rest, with the first
host's test pull broken on purpose (an image no mirror has), and prints how many of the other hosts the rollout
touched (their daemon.json before and after, and which hosts ran the switch): none, when the canary works.
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


TASK_HEADER = re.compile(r"^TASK \[(?:[^\]]*: )?(.*?)\] \*", re.M)
HOST_LINE = re.compile(r"^(?:ok|changed|failed|fatal|skipping): \[([^\]]+)\]", re.M)


def hosts_that_ran(output, task):
    """The hosts the default callback lists under every TASK [task] header of ``output``."""
    found = set()
    headers = list(TASK_HEADER.finditer(output))
    for index, header in enumerate(headers):
        if header.group(1) == task:
            end = headers[index + 1].start() if index + 1 < len(headers) else len(output)
            found.update(HOST_LINE.findall(output[header.end():end]))
    return found


def registry_mirrors(hosts, directory):
    """{host: registry-mirrors of its daemon.json, comma-separated ("none" without)}, read with slurp."""
    play = [{"name": "read daemon.json", "hosts": ":".join(hosts), "gather_facts": False, "tasks": [
        {"name": "slurp", "ansible.builtin.slurp": {"src": "/etc/docker/daemon.json"}, "register": "daemon_json"},
        {"name": "show", "ansible.builtin.debug": {
            "msg": "MIRRORS {{ inventory_hostname }} {{ (daemon_json.content | b64decode | from_json)"
                   ".get('registry-mirrors', []) | join(',') or 'none' }}"}}]}]
    path = os.path.join(directory, "read-mirrors.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(play, handle)
    _seconds, _recap, output = run(path, {})
    return dict(re.findall(r"MIRRORS (\S+) ([^\s\"]+)", output))


def canary(size, directory):
    """switch_mirrors.yml on ``size`` hosts, serial [1, 25%, 100%], the canary's test pull broken."""
    hosts = ["dockhand-lab-host%d" % index for index in range(1, size + 1)]
    playbook = os.path.join(REPO_ROOT, "playbooks", "switch_mirrors.yml")
    forget = [{"name": "forget the mirrors", "hosts": ":".join(hosts), "gather_facts": False, "tasks": [
        {"name": "forget", "dockhand.runtime.daemon_config": {"remove": ["registry-mirrors"]}}]}]
    path = os.path.join(directory, "forget.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(forget, handle)
    run(path, {})
    before = registry_mirrors(hosts, directory)
    extra = dict(PLAYBOOKS["switch_mirrors"]["extra"], switch_mirrors_hosts=":".join(hosts),
                 switch_mirrors_serial=[1, "25%", "100%"],
                 mirrors_verify_image="{{ 'library/dockhand-not-on-any-mirror:1' if inventory_hostname == '%s' "
                                      "else 'busybox:latest' }}" % hosts[0])
    seconds, recap, output = run(playbook, extra)
    switched = hosts_that_ran(output, "Point the runtimes at the chosen mirrors")
    after = registry_mirrors(hosts, directory)
    touched = sorted(host for host in hosts[1:] if after.get(host) != before.get(host) or host in switched)
    return {"hosts": size, "seconds": seconds, "canary_failed": bool(recap.get(hosts[0], (0, 0, 0, 0))[3]),
            "switched": sorted(switched), "others_touched": touched}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", default="1,5,10,20,30", help="fleet sizes, comma-separated")
    parser.add_argument("--playbooks", default="provision,deploy,switch_mirrors",
                        help="any of %s, or none" % ", ".join(PLAYBOOKS))
    parser.add_argument("--canary", type=int, default=0, metavar="N",
                        help="also roll switch_mirrors out on N hosts with the canary's test pull broken")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.hosts.split(",")]
    names = [name for name in args.playbooks.split(",") if name not in ("", "none")]
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
        if args.canary:
            found = canary(args.canary, directory)
            rows.append(dict(found, playbook="canary"))
            print("canary         %3d hosts  %6.1f s  canary's test pull failed: %s; the switch ran on %s; other "
                  "hosts touched: %d of %d%s" % (found["hosts"], found["seconds"], found["canary_failed"],
                                                 ", ".join(found["switched"]) or "no host",
                                                 len(found["others_touched"]), found["hosts"] - 1,
                                                 " (" + ", ".join(found["others_touched"]) + ")"
                                                 if found["others_touched"] else ""), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
