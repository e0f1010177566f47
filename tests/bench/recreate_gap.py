# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long a container with a host port serves nothing during a recreate and during a rollback.

Figures, never assertions. A busybox httpd container (dh-bench-gap, 127.0.0.1:18199) is recreated
ROUNDS times by dockhand.runtime.container (an env change) while a client asks it for a page
every 5 ms; the gap is the time from the first failed request to the next answered one (the
longest, when there are two). A rollback round gives the new container a healthcheck that always
fails: it serves until the engine calls it unhealthy, then the old one comes back. Needs this
machine's dockerd and the lab's hub (127.0.0.1:5000); removes its container at the end.

    python tests/bench/recreate_gap.py [ROUNDS]
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NAME = "dh-bench-gap"
PORT = 18199
IMAGE = "127.0.0.1:5000/library/busybox:latest"
SERVE = ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www"]


def task(version, fail=False):
    spec = {"name": NAME, "image": IMAGE, "command": SERVE, "env": {"VERSION": str(version)},
            "published_ports": ["127.0.0.1:%d:80" % PORT], "stop_signal": "SIGKILL"}
    if fail:  # it serves, but its healthcheck fails: rolled back once the engine calls it unhealthy
        spec.update(healthcheck={"test": "exit 1", "interval": "1s", "retries": 1}, health_timeout=30)
    return {"name": "deploy", "dockhand.runtime.container": spec, "ignore_errors": fail}


def playbook(tasks):
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks,
             "vars": {"ansible_python_interpreter": sys.executable}}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        json.dump(play, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"))
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    try:
        subprocess.run([ansible, "-i", "localhost,", handle.name], env=env, check=True, stdout=subprocess.DEVNULL)
    finally:
        os.unlink(handle.name)


def answered():
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=0.5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False


def measure(tasks):
    """Longest run of failed requests while ``tasks`` run, in seconds."""
    gaps, stop = [], threading.Event()

    def probe():
        down = None
        deadline = None
        while True:
            now = time.monotonic()
            if answered():
                if down is not None:
                    gaps.append(now - down)
                    down = None
                if stop.is_set():
                    return
            elif down is None:
                down = now
            if stop.is_set():  # after the task: wait (5 s at most) until the container answers again
                deadline = deadline or now + 5
                if now > deadline:
                    gaps.append(now - down)
                    return
            time.sleep(0.005)
    thread = threading.Thread(target=probe)
    thread.start()
    playbook(tasks)
    stop.set()
    thread.join()
    return max(gaps) if gaps else 0.0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    subprocess.run(["docker", "rm", "-f", NAME], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        playbook([task(0)])
        recreate = [measure([task(index)]) for index in range(1, rounds + 1)]
        rollback = [measure([task(-1, fail=True)]) for _round in range(rounds)]
    finally:
        subprocess.run(["docker", "rm", "-f", NAME], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for label, figures in (("recreate", recreate), ("rollback", rollback)):
        print("%-9s gap: median %.0f ms, min %.0f ms, max %.0f ms over %d rounds" % (
            label, 1000 * statistics.median(figures), 1000 * min(figures), 1000 * max(figures), len(figures)))


if __name__ == "__main__":
    main()
