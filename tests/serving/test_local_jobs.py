"""Background jobs on this machine (Dash's DiskcacheManager): a job that ends by itself while its
result is read is not an error."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest
from dash import DiskcacheManager

from dashboard.runtime import jobs


@pytest.fixture
def ended_job_pid(monkeypatch) -> int:
    """The pid of a job process that ended just after Dash checked it still existed."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    monkeypatch.setattr(psutil, "pid_exists", lambda pid: pid == proc.pid or psutil._psplatform.pid_exists(pid))
    return proc.pid


def test_dash_manager_fails_when_the_job_ends_between_its_checks(tmp_path, ended_job_pid):
    import diskcache

    with pytest.raises(psutil.NoSuchProcess):
        DiskcacheManager(diskcache.Cache(str(tmp_path)), expire=60).terminate_job(ended_job_pid)


def test_local_manager_takes_a_job_that_ended_by_itself_as_terminated(tmp_path, ended_job_pid):
    jobs.local_manager(tmp_path, 60).terminate_job(ended_job_pid)


def test_local_manager_still_terminates_a_running_job(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    jobs.local_manager(tmp_path, 60).terminate_job(proc.pid)
    proc.wait(timeout=20)  # ended (killed and reaped by Dash's psutil) before its 30 s sleep
