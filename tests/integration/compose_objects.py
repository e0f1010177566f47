"""What the compose tests share: docker inspect, the containers, networks and volumes of the compose projects
whose names start with a test file's prefix (and their clean-up), and a failed run's messages."""

import json
import subprocess


def docker(*args, check=True):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)


def inspect(name, kind="container"):
    """docker inspect of one object, or None when there is none."""
    done = docker("inspect", "--type", kind, name, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def containers_of(project):
    """The names of a project's containers, sorted."""
    listed = docker("ps", "-a", "--filter", "label=com.docker.compose.project=" + project, "--format",
                    "{{.Names}}").stdout.split()
    return sorted(listed)


def of_projects(kind, prefix):
    """IDs (containers) or names (networks, volumes) labelled with a compose project named prefix..."""
    listed = docker(kind, "ls", *(["-a"] if kind == "container" else []), "--format",
                    '{{.%s}}\t{{.Label "com.docker.compose.project"}}' % ("ID" if kind == "container" else "Name"))
    return [line.split("\t")[0] for line in listed.stdout.splitlines()
            if "\t" in line and line.split("\t")[1].startswith(prefix)]


def remove_projects(prefix):
    """Every container (with its anonymous volumes), network and volume of the projects named prefix..."""
    containers = of_projects("container", prefix)
    if containers:
        docker("rm", "-f", "-v", *containers, check=False)
    for network in of_projects("network", prefix):
        docker("network", "rm", network, check=False)
    for volume in of_projects("volume", prefix):
        docker("volume", "rm", volume, check=False)


def failures(run):
    """The messages of a playbook run's failed tasks, else the end of its output."""
    return [record["result"].get("msg") for record in run.records if record["result"].get("failed")] or \
        run.output[-3000:]
