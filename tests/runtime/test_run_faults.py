"""The local runtime's own state right after a fault, with real processes: a cancel and the end of
a run stop what the task started even outside its process group; `storage` is admitted against
the project's free disk; installing executors never see ame's own environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from runtime_support import Env

from ame_core.runtime import procs


def _alive(pid: int) -> bool:
    return procs.alive(pid)


def _wait_gone(pids: list[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _escaped_pids(rt: Env, run_id: str) -> list[int]:
    path = rt.pids / f"{run_id}.escaped"
    rt.wait_file(path)
    return [int(p) for p in path.read_text().split()]


def test_cancel_stops_processes_that_left_the_group(rt: Env) -> None:
    run_id = rt.start("escaper")
    pids = _escaped_pids(rt, run_id)
    main, setsid_child, daemon = pids
    assert all(_alive(p) for p in pids)
    # They did leave the task's process group: a group kill alone would miss them.
    assert procs.pgid_of(setsid_child) != procs.pgid_of(main)
    assert procs.pgid_of(daemon) not in (procs.pgid_of(main), procs.pgid_of(setsid_child))
    result = rt.ame("cancel", run_id)
    assert result.returncode == 0, result.stderr
    assert f"run {run_id} cancelled" in result.stdout
    assert "survived" not in result.stderr
    assert not _wait_gone(pids, timeout=5), "a process of the cancelled run survived"
    assert rt.record(run_id)["status"] == "cancelled"


def test_the_end_of_a_run_stops_what_it_left(rt: Env) -> None:
    result = rt.ame("task", "run", "leaver")
    assert result.returncode == 0, result.stderr
    run_id = next(p.name.split(".")[0] for p in rt.pids.glob("*.escaped") if _leaver(rt, p))
    pids = _escaped_pids(rt, run_id)
    # The supervisor stopped them before recording the end: gone by now, not eventually.
    assert not [p for p in pids if _alive(p)], "the run ended and left processes behind"
    assert rt.record(run_id)["status"] == "succeeded"


def _leaver(rt: Env, path: Path) -> bool:
    run_id = path.name.split(".")[0]
    record = rt.project / ".ame" / "runs" / f"{run_id}.json"
    return record.exists() and '"task": "leaver"' in record.read_text()


def test_other_runs_and_the_caller_are_spared() -> None:
    """Only the exact AME_RUN_ID value matches, and the caller (here: a process of the run
    itself, as `ame cancel $AME_RUN_ID` from inside a task is) is never stopped."""
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    env = {**os.environ, "AME_RUN_ID": "run-a"}
    ours = subprocess.Popen(sleep, env=env, start_new_session=True)
    other = subprocess.Popen(sleep, env={**env, "AME_RUN_ID": "run-ab"}, start_new_session=True)
    try:
        stopper = subprocess.run(
            [
                sys.executable,
                "-c",
                "from ame_core.runtime import procs; print(procs.stop_run('run-a', None, 2))",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert stopper.returncode == 0, stopper.stderr
        assert stopper.stdout.strip() == "[]"
        assert ours.wait(timeout=10) is not None
        assert other.poll() is None
    finally:
        for child in (ours, other):
            child.kill()
            child.wait()


def test_storage_is_admitted_against_free_disk(rt: Env) -> None:
    small = rt.ame("task", "run", "disk_small")
    assert small.returncode == 0, small.stderr
    assert "disk ok" in small.stdout
    huge = rt.ame("task", "run", "disk_huge")
    assert huge.returncode == 2
    line = huge.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "storage 1000 PiB requested, the project's file system has" in line
    assert "free" in line
