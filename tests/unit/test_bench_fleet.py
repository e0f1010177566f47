"""tests/bench/fleet.py: the command its README shows, and the play of the same shape it times against."""

import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "bench"))

import fleet  # noqa: E402  (tests/bench is not a package)


def test_the_readme_command():
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run(["bash", "-c", "python tests/bench/fleet.py --help"], cwd=REPO_ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert done.returncode == 0, done.stdout
    assert "--hosts" in done.stdout and "--playbooks" in done.stdout and "ping" in done.stdout


def test_the_ping_play_has_the_shape_of_the_rerun():
    play = fleet.ping_play(["h1", "h2"], ran=3, skipped=2, serial="25%")[0]
    assert play["hosts"] == "h1:h2" and play["serial"] == "25%"
    assert [("when" in task) for task in play["tasks"]] == [False, False, False, True, True]
    assert all(task["ansible.builtin.ping"] == {} for task in play["tasks"])
    assert "serial" not in fleet.ping_play(["h1"], ran=1, skipped=0, serial=None)[0]


def test_recap_lines_are_read():
    output = ("PLAY RECAP ***\ndockhand-lab-host1         : ok=12   changed=0    unreachable=0    failed=0    "
              "skipped=4    rescued=0    ignored=0\n")
    found = {match.group(1): tuple(int(value) for value in match.groups()[1:])
             for match in fleet.RECAP.finditer(output)}
    assert found == {"dockhand-lab-host1": (12, 0, 0, 0, 4)}


def test_the_hosts_under_a_task_header_are_read():
    output = ("TASK [dockhand.runtime.mirrors : Probe the candidates from this host] ***\nok: [h1]\n\n"
              "TASK [dockhand.runtime.mirrors : Point the runtimes at the chosen mirrors] ***\nchanged: [h1]\n"
              "fatal: [h2]: FAILED! => {}\n\nTASK [Print one line per host] ***\nok: [h3]\n")
    assert fleet.hosts_that_ran(output, "Point the runtimes at the chosen mirrors") == {"h1", "h2"}
    assert fleet.hosts_that_ran(output, "Print one line per host") == {"h3"}
    assert fleet.hosts_that_ran(output, "Not a task") == set()
