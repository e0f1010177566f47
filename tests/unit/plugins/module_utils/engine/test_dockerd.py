"""dockerd as a service: its own error line, and never a signal for a process that is not dockerd."""

import subprocess
import sys

import pytest

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.dockerd import (
    Dockerd,
    ServiceError,
    cause_line,
    process_name,
    process_start,
    without_noise,
)

# As dockerd 20.10 logs a graphdriver it does not know (journalctl --output cat).
JOURNAL = """time="2026-12-01T10:00:00.1Z" level=info msg="Starting up"
time="2026-12-01T10:00:00.2Z" level=info msg="[core] parsed scheme: \\"unix\\"" module=grpc
time="2026-12-01T10:00:00.3Z" level=error msg="[graphdriver] prior storage driver overlay2 failed" module=grpc
time="2026-12-01T10:00:00.4Z" level=error msg="Failed to built-in GetDriver graph no-such-driver /var/lib/docker"
failed to start daemon: error initializing graphdriver: driver not supported
docker.service: Main process exited, code=exited, status=1/FAILURE"""


def test_the_failed_to_start_line_comes_first():
    assert cause_line(JOURNAL) == "failed to start daemon: error initializing graphdriver: driver not supported"


def test_else_the_last_error_of_dockerd_itself():
    journal = ('time="t" level=info msg="Got signal to reload configuration"\n'
               'time="t" level=error msg="conflict labels for a=1 and a=2"\n'
               'time="t" level=error msg="grpc noise" module=grpc')
    assert cause_line(journal) == "conflict labels for a=1 and a=2"
    assert cause_line('time="t" level=fatal msg="say \\"no\\""') == 'say "no"'
    assert cause_line('time="t" level=info msg="fine"') is None
    assert cause_line("") is None


def test_without_noise():
    assert "module=grpc" not in without_noise(JOURNAL)
    assert without_noise(JOURNAL, keep=1) == "docker.service: Main process exited, code=exited, status=1/FAILURE"


@pytest.fixture
def stranger():
    """A real process that is not dockerd (SIGHUP would end it)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_stale_pidfile_naming_another_process_gets_no_signal(tmp_path, stranger):
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text("%d\n" % stranger.pid)
    dockerd = Dockerd(None, None, pidfile=str(pidfile))
    dockerd.systemd = False
    with pytest.raises(ServiceError) as caught:
        dockerd.reload()
    assert "PID %d" % stranger.pid in str(caught.value) and "not dockerd" in str(caught.value)
    assert str(pidfile) in str(caught.value) and "nothing was signalled" in str(caught.value)
    assert stranger.poll() is None  # still running: it got no SIGHUP
    assert dockerd.identity() is None


def test_a_pidfile_of_a_dead_process_means_not_running(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE,
                          text=True, check=True)
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text(done.stdout)
    dockerd = Dockerd(None, None, pidfile=str(pidfile))
    dockerd.systemd = False
    assert dockerd.pid() is None
    with pytest.raises(ServiceError) as caught:
        dockerd.reload()
    assert "not running" in str(caught.value)


def test_process_facts(stranger):
    assert process_name(stranger.pid).startswith("python")
    assert process_start(stranger.pid) > 0
    assert process_name(2 ** 22 + 1) is None and process_start(2 ** 22 + 1) is None
