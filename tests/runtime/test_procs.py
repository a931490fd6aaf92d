"""Process identity: a pid with its start time, so a reused pid or a zombie is never 'alive'."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ame_core.runtime import procs


def _wait_for(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_process_is_known_by_pid_and_start_time() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        start_new_session=True,
        env={**os.environ, "AME_TEST_MARK": "procs-1"},
    )
    try:
        started = procs.start_time(child.pid)
        assert started is not None and started == procs.start_time(child.pid)
        assert procs.alive(child.pid, started)
        assert not procs.alive(child.pid, started + "0")  # another process on the same pid
        assert procs.pgid_of(child.pid) == child.pid
        assert procs.group_members(child.pid) == [child.pid]
        assert _wait_for(lambda: procs.env_members("AME_TEST_MARK", "procs-1") == [child.pid])
        assert os.getpid() not in procs.env_members("AME_TEST_MARK", "procs-1")
        child.kill()
        # Not reaped yet: a zombie is not alive, and its group is empty.
        assert _wait_for(lambda: not procs.alive(child.pid, started))
        assert not procs.group_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert procs.start_time(child.pid) is None or not procs.alive(child.pid, started)


def test_stop_tree_reaches_a_process_that_left_the_group() -> None:
    # The child starts a grandchild in a session of its own: only the environment ties it.
    script = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " start_new_session=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        start_new_session=True,
        env={**os.environ, "AME_RUN_ID": "procs-run-2"},
    )
    try:
        assert _wait_for(lambda: len(procs.env_members("AME_RUN_ID", "procs-run-2")) == 2)
        assert procs.stop_run("procs-run-2", child.pid, grace=2.0) == []
        assert _wait_for(lambda: procs.env_members("AME_RUN_ID", "procs-run-2") == [])
    finally:
        child.kill()
        child.wait()
