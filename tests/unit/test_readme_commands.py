"""Every command a README shows in a sh block is run by a test exactly as written, or is listed below with the
test that runs it in the lab's words (the user's own inventory, hosts and mirrors stand in the README)."""

import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# command as shown -> why no test runs it letter for letter, and what runs it instead
IN_THE_LABS_WORDS = {
    "ansible-galaxy collection build": "tests/integration/test_collection.py builds the same tarball into a "
                                       "directory of its own",
    "ansible-galaxy collection install dockhand-runtime-0.1.0.tar.gz":
        "tests/integration/test_collection.py installs it into a directory of its own (the checkout's "
        "build/collections link must stay)",
    "ansible-playbook -i inventory playbooks/provision.yml -e @fleet-vars.yml": "the user's inventory and vars: "
        "tests/integration/test_provision.py runs provision.yml with the lab's fleet vars",
    "ansible-playbook -i inventory playbooks/switch_mirrors.yml -e '{\"mirrors_candidates\": "
    "[\"https://mirror-a.example.com\", \"https://mirror-b.example.com\"]}' -e switch_mirrors_serial=25% "
    "-e switch_mirrors_max_fail_percentage=0": "tests/integration/test_switch_mirrors.py reads it from the README "
        "and runs it with the lab's mirrors in place of the example ones",
    "ansible-playbook -i inventory dockhand.runtime.switch_mirrors -e '{\"mirrors_candidates\": "
    "[\"https://mirror-a.example.com\", \"https://mirror-b.example.com\"]}'": "the same playbook as README.md's "
        "switch command, run by tests/integration/test_switch_mirrors.py",
    "ansible-playbook -i inventory dockhand.runtime.switch_mirrors -e '{\"mirrors_candidates\": "
    "[\"https://mirror-a.example.com\"]}' -e switch_mirrors_cache_host=cache1 -e switch_mirrors_cache_port=5000":
        "tests/integration/test_switch_mirrors.py runs it with a cache the registry_cache role deployed on a lab host",
    "ansible-playbook -i inventory dockhand.runtime.deploy -e deploy_hosts=app_servers": "the user's inventory: "
        "tests/integration/test_containers_role.py runs deploy.yml on a lab host",
    "ansible-playbook -i inventory dockhand.runtime.deploy -e deploy_hosts=web_servers -e deploy_serial=1 "
    "-e @compose-app.yml": "tests/integration/test_compose_fleet.py runs this line of deploy.yml's header (and "
        "checks that README.md shows the same line) with the lab's inventory and three lab hosts",
    "DOCKHAND_LAB_REUSE=1 python -m pytest -q tests/integration/test_engine_role.py": "the suite itself: make test "
        "runs that file",
    "docker rm -f -v dockhand-lab-host5 && DOCKHAND_LAB_REUSE=1 tests/lab/lab up 20": "a measurement recipe that "
        "takes the engine role's own lab host from under its tests; it made the figures above it",
    "time ANSIBLE_COLLECTIONS_PATH=build/collections .venv/bin/ansible-playbook -i tests/lab/state/inventory.yml "
    "play.yml": "the same recipe's timed run of a play the reader writes",
    ". .venv/bin/activate": "not a test: it puts the virtualenv on PATH (tests/run does the same with PATH)",
    "tests/sanity/run --test pylint": "tests/run runs every sanity test, pylint among them, with tests/sanity/run",
    "tests/sanity/run --python 3.12": "tests/run runs tests/sanity/run --python X.Y for every CPython 3.8+ "
                                      "the machine has",
    "make bench": "five rounds of thirty tasks per module: the figures in README.md come from it; "
                  "tests/readme runs the shorter line below it as written",
    "make bench BENCH_ARGS=--with-community-docker": "installs PyPI's ansible (for community.docker) into a "
        "virtualenv of its own and times both collections for minutes; the figures in README.md come from it, and "
        "tests/readme runs the same script with the shorter line",
}


def quotes_close(line):
    try:
        shlex.split(line)
    except ValueError:
        return False
    return True


def without_comment(line):
    """The line up to its first # that starts a shell comment (outside quotes)."""
    for found in re.finditer(r"(^|\s)#", line):
        if quotes_close(line[:found.start()]):
            return line[:found.start()]
    return line


def shown_commands():
    """(file, command) for every command line of every sh block in the tracked Markdown files; continued lines
    joined, comments cut."""
    files = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                           check=True).stdout.split()
    found = []
    for name in files:
        text = (ROOT / name).read_text()
        for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
            pending = ""
            for shown in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = pending + " " + shown if pending else shown
                if not quotes_close(line):  # a quoted argument may go on over lines: read on
                    pending = line
                    continue
                pending = ""
                command = without_comment(line).strip()
                if command:
                    found.append((name, " ".join(command.split())))
    return found


def sources_of_tests():
    """The text of what runs tests: the test files (this one excepted), tests/run and .ci/run."""
    paths = [p for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name and ".venv" not in p.parts]
    paths += [ROOT / "tests" / "run", ROOT / ".ci" / "run"]
    return "\n".join(" ".join(p.read_text().split()) for p in paths if p.is_file())


def test_every_shown_command_is_run_by_a_test():
    sources = sources_of_tests()
    commands = shown_commands()
    assert len(commands) > 15  # the sh blocks were found
    not_run = ["%s: %s" % (name, command) for name, command in commands
               if command not in sources and command not in IN_THE_LABS_WORDS]
    assert not not_run, "commands a README shows that no test runs as written:\n" + "\n".join(not_run)


def test_the_exceptions_are_still_shown():
    shown = {command for _name, command in shown_commands()}
    stale = sorted(set(IN_THE_LABS_WORDS) - shown)
    assert not stale, "listed here but no README shows them any longer: %s" % stale
