"""The local runtime's own state right after a fault, with real processes: a cancel and the end of
a run stop what the task started even outside its process group; `storage` is admitted against
the project's free disk; installing executors never see ame's own environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
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


def test_installing_executors_start_without_ames_environment() -> None:
    from ame_core.runtime.executors import ExecutionPlan, task_environ

    venv = sys.prefix
    base = {
        "PATH": os.pathsep.join([f"{venv}/bin", "/usr/local/bin", "/usr/bin"]),
        "VIRTUAL_ENV": venv,
        "POETRY_ACTIVE": "1",
        "PIPENV_ACTIVE": "1",
        "CONDA_PREFIX": "/opt/conda/envs/ame",
        "PYTHONHOME": venv,
        "PYTHONPATH": os.pathsep.join([f"{venv}/lib/python3.11/site-packages", "/src/mine"]),
        "PIP_TARGET": f"{venv}/lib",
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "KEEP": "me",
    }
    env = task_environ(base, ExecutionPlan("poetry"))
    for key in ("VIRTUAL_ENV", "POETRY_ACTIVE", "PIPENV_ACTIVE", "CONDA_PREFIX", "PYTHONHOME"):
        assert key not in env, key
    assert "PIP_TARGET" not in env
    assert env["PIP_INDEX_URL"] == base["PIP_INDEX_URL"] and env["KEEP"] == "me"
    assert env["PYTHONPATH"] == "/src/mine"
    assert env["PATH"].split(os.pathsep) == ["/usr/local/bin", "/usr/bin", f"{venv}/bin"]
    # !pip puts its own environment first; !custom runs as from the user's shell.
    pip = task_environ(
        base, ExecutionPlan("pip", env={"VIRTUAL_ENV": "/c/e"}, path_prepend=["/c/e/bin"])
    )
    assert pip["VIRTUAL_ENV"] == "/c/e" and pip["PATH"].startswith("/c/e/bin" + os.pathsep)
    custom = task_environ(base, ExecutionPlan("custom"))
    assert custom["VIRTUAL_ENV"] == venv and "PYTHONHOME" not in custom


@pytest.mark.slow
def test_poetry_task_from_ames_activated_venv_uses_its_own(tmp_path: Path) -> None:
    from test_executor_tools import PROJECTS

    bin_dir = Path(sys.executable).parent
    if shutil.which("poetry", path=str(bin_dir)) is None:
        pytest.skip("poetry is not installed in the test environment")
    project = tmp_path / "poetry"
    project.mkdir()
    for name, text in PROJECTS["poetry"].items():
        (project / name).write_text(text)
    show = "import os, sys; print('seen', os.environ.get('VIRTUAL_ENV'), sys.prefix)"
    (project / "ame.yml").write_text(
        "project: poetry_venv\ntasks:\n  - name: show\n    executor: !poetry\n"
        f'      pythonVersion: "3.11"\n      command: python -c "{show}"\n'
    )
    env = {
        **os.environ,
        # ame's venv activated, as `source .venv/bin/activate` leaves it
        "VIRTUAL_ENV": sys.prefix,
        "POETRY_ACTIVE": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "AME_CACHE_DIR": str(tmp_path / "cache"),
        "POETRY_VIRTUALENVS_PATH": str(tmp_path / "poetry-envs"),
        "POETRY_CACHE_DIR": str(tmp_path / "poetry-cache"),
    }
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "AME_BACKEND", "AME_RUN_ID"):
        env.pop(key, None)
    from ame_core import tracking_server

    try:
        result = subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(project), "task", "run", "show"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
    finally:
        tracking_server.stop_all_under(tmp_path)  # the project's local MLflow server
    assert result.returncode == 0, result.stdout + result.stderr
    seen = next(line for line in result.stdout.splitlines() if line.startswith("seen "))
    _, venv, prefix = seen.split()
    ame_venv = os.path.realpath(sys.prefix)
    assert os.path.realpath(prefix) != ame_venv and os.path.realpath(venv) != ame_venv
    assert str(tmp_path / "poetry-envs") in prefix  # poetry's own environment


def test_a_vanished_supervisor_leaves_nothing_of_its_task(rt: Env) -> None:
    run_id = rt.start("escaper")
    pids = _escaped_pids(rt, run_id)
    supervisor = rt.raw_record(run_id)["extra"]["supervisor_pid"]
    os.kill(supervisor, 9)  # as if the machine went down under it
    assert not _wait_gone([supervisor], timeout=10)
    record = rt.record(run_id)  # the next look notices, and stops what the task started
    assert record["status"] == "failed" and "vanished" in record["reason"]
    assert not _wait_gone(pids, timeout=5), "the unsupervised task's processes survived"


def test_admitted_runs_hold_their_storage() -> None:
    from decimal import Decimal

    from ame_core.runtime.resources import Inventory, Request, too_large, waiting_reason

    gib = Decimal(2**30)
    inv = Inventory(Decimal(4), 8 * gib, storage=10 * gib)
    assert too_large(Request.of({"storage": "10Gi"}), inv) is None
    assert too_large(Request.of({"ephemeral-storage": "11Gi"}), inv) == (
        "storage 11 GiB requested, the project's file system has 10 GiB free"
    )
    used = Request.of({"storage": "6Gi"})  # a running run's request, not written yet
    assert waiting_reason(Request.of({"storage": "4Gi"}), used, inv) is None
    why = waiting_reason(Request.of({"storage": "5Gi"}), used, inv)
    assert why == "waiting for resources: storage: 5 GiB requested, 4 GiB free"
