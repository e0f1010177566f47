"""The commands README.md and tests/lab/README.md give a newcomer, run exactly as written, in their order, on a
fresh lab: `make provision` twice (the second run changes nothing), the execution environment built and run, the
lab's ping and status, and the two ways to take the lab down. tests/run runs this file after the main suite:
`make provision` makes a 3-host lab, which removes every other lab host (tests/readme is not among pytest.ini's
testpaths)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.lab
HOSTS = ["dockhand-lab-host%d" % i for i in (1, 2, 3)]


def readme_commands(path, first):
    """The lines of the sh block of `path` that holds a line starting with `first`, comments cut off."""
    text = (ROOT / path).read_text()
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
        if any(line.startswith(first) for line in lines):
            return [line for line in lines if line]
    raise AssertionError("no sh block in %s starts a line with %r" % (path, first))


def shell(command, timeout=1500):
    """Run a README command as a user would type it, from the repository's root."""
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    return done.returncode, done.stdout


def recap(output, host):
    found = re.search(r"^%s\s*:\s*(.*)$" % re.escape(host), output, flags=re.M)
    assert found, "no recap line for %s:\n%s" % (host, output[-3000:])
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found.group(1))}


def table(output):
    """The closing table of provision.yml as printed: header and one line per host."""
    start = output.index("host                running")
    lines = []
    for printed in output[start:].splitlines():
        line = printed.strip().strip('",').rstrip()
        if not line.startswith("host") and not line.startswith("dockhand-lab-host"):
            break
        lines.append(line)
    return lines


def lab_hosts():
    listed = subprocess.run(["docker", "ps", "-a", "--filter", "label=dockhand.lab.role=host", "--format",
                             "{{.Names}}"], stdout=subprocess.PIPE, text=True, check=True)
    return sorted(listed.stdout.split())


def test_the_short_benchmark_as_written():
    """tests/bench/README.md's shorter line (run first: it needs the lab's hub, which `lab down` removes)."""
    commands = readme_commands("tests/bench/README.md", "make bench")
    short = 'make bench BENCH_ARGS="-m image,network -n 10 -r 3"'
    assert short in commands
    rc, output = shell(short)
    assert rc == 0, output[-4000:]
    for module in ("image", "network"):
        # module, core, s/task, (min-max), x ping: a figure for each
        assert re.search(r"^dockhand\.runtime\.%s\s+\S+\s+[\d.]+\s+\([\d.]+-[\d.]+\)\s+[\d.]+\s" % module, output,
                         flags=re.M), output[-3000:]
    print(output[-2500:])


def test_the_readmes_first_commands_as_written():
    first, second = readme_commands("README.md", "make provision")
    assert (first, second) == ("make provision", "make test")
    rc, output = shell(first)
    assert rc == 0, output[-5000:]
    assert sorted(lab_hosts()) == sorted(HOSTS)
    for host in HOSTS:
        assert recap(output, host)["failed"] == 0
    shown = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("host   ")]
    lines = table(output)
    assert lines[0] == shown[0], "README's table header differs from what provision.yml prints:\n" + "\n".join(lines)
    for host, line in zip(HOSTS, lines[1:]):
        words = line.split()
        assert words[:2] == [host, "yes"] and "systemd" in words and words[-2:] == ["1", "-"], line
    # ...and ends with the fleet report, its path printed
    written = re.search(r"fleet report: (\S+/build/report/fleet-report\.html) \(3 hosts, 0 unreachable", output)
    assert written and os.path.isfile(written.group(1)), output[-3000:]
    rc, again = shell(first)
    assert rc == 0, again[-5000:]
    for host in HOSTS:
        counts = recap(again, host)
        assert counts["changed"] == 0 and counts["failed"] == 0, counts  # "a second run changes nothing"
    print("make provision: first and second run as in README.md (output of the second):\n" + "\n".join(table(again)))


def test_the_execution_environment_as_written():
    """README's EE commands after `make provision`: the EE is built, provision.yml run in it changes nothing on the
    3 hosts, and report.yml run in it writes the report of the 3 hosts."""
    build, provision, report = readme_commands("README.md", "make ee")
    assert (build, provision, report) == (
        "make ee",
        ".venv/bin/ansible-navigator run playbooks/provision.yml -i tests/lab/state/inventory.yml -e @tests/lab/provision-vars.yml",  # noqa: E501
        ".venv/bin/ansible-navigator run playbooks/report.yml -i tests/lab/state/inventory.yml -e report_dest=build/report-ee")  # noqa: E501
    rc, output = shell(build)
    assert rc == 0, output[-5000:]
    images = subprocess.run(["docker", "image", "inspect", "--format",
                             '{{index .Config.Labels "ansible-execution-environment"}}', "dockhand-runtime-ee:latest"],
                            stdout=subprocess.PIPE, text=True, check=False)
    assert images.stdout.strip() == "true", images.stdout
    rc, output = shell(provision)
    assert rc == 0, output[-5000:]
    for host in HOSTS:
        counts = recap(output, host)
        assert counts["changed"] == 0 and counts["failed"] == 0 and counts["unreachable"] == 0, counts
    rc, output = shell(report)
    assert rc == 0, output[-5000:]
    page = ROOT / "build/report-ee/fleet-report.html"
    assert page.is_file(), output[-3000:]
    assert all(host in page.read_text() for host in HOSTS)
    print("provision.yml and report.yml in the EE (the end of report.yml's output):\n" + output[-1500:])


def test_the_lab_readmes_commands_as_written():
    """tests/lab/README.md's commands, last: they end by taking the lab down."""
    up, ping, status, down = readme_commands("tests/lab/README.md", "tests/lab/lab up")
    assert (up, ping, status, down) == (
        "tests/lab/lab up", "ansible -i tests/lab/state/inventory.yml lab -m ansible.builtin.ping",
        "tests/lab/lab status", "tests/lab/lab down")
    rc, output = shell(up)
    assert rc == 0 and "lab is up: 3 host(s)" in output, output[-3000:]
    rc, output = shell(ping)
    assert rc == 0 and all(re.search(r"^%s \| SUCCESS" % host, output, flags=re.M) for host in HOSTS), output
    rc, output = shell(status)
    assert rc == 0 and all(host in output for host in HOSTS), output
    rc, output = shell(down)
    assert rc == 0 and lab_hosts() == [], output
    rc, output = shell("make lab-down")  # README: "`make lab-down` removes the lab again"; nothing is left
    assert rc == 0 and lab_hosts() == [], output
