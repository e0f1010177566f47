"""What the compose tests read and clean up on this machine's dockerd: docker inspect, and the containers,
networks and volumes of the compose projects whose names start with a test file's prefix."""

import json
import subprocess


def docker(*args, check=True):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)


def inspect(name, kind="container"):
    """docker inspect of one object, or None when there is none."""
    done = docker("inspect", "--type", kind, name, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


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
