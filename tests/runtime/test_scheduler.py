"""`ame scheduler`: cron-triggered tasks start when due (an injected clock drives the minutes)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from runtime_support import Env

from ame_core.flows import control
from ame_core.runtime.loading import load_project
from ame_core.runtime.local import LocalBackend
from ame_core.runtime.scheduler import Scheduler


def test_scheduler_starts_an_every_minute_task(rt: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # in-process: the supervisors this starts inherit this process's environment
    for key in (
        "PATH",
        "STEPS_DIR",
        "PIDS_DIR",
        "GPU_DIR",
        "AME_CONFIG_DIR",
        "AME_CACHE_DIR",
        "AME_FAKE_GPUS",
    ):
        monkeypatch.setenv(key, rt.env[key])
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    loaded = load_project(rt.project)
    backend = LocalBackend(loaded.dir)
    times = iter(
        [
            datetime(2026, 1, 5, 10, 0, 5),
            datetime(2026, 1, 5, 10, 0, 40),  # same minute: nothing new
            datetime(2026, 1, 5, 10, 1, 2),
        ]
    )
    now = {"t": next(times)}
    lines: list[str] = []
    scheduler = Scheduler(
        loaded,
        backend,
        {"project_dir": str(loaded.dir)},
        clock=lambda: now["t"],
        sleep=lambda _s: now.update(t=next(times)),
        log=lines.append,
    )
    assert any("cron_task" in line and "every minute" in line for line in scheduler.describe())
    scheduler.run(max_ticks=3)
    # Each firing is a flow, driven by its own driver: the scheduler only started them.
    started = [flow_id for name, flow_id in scheduler.started if name == "cron_task"]
    assert len(started) == 2
    assert sum("started task cron_task" in line for line in lines) == 2
    store = backend.flow_store()
    for flow_id in started:
        flow = control.wait(store, flow_id, backend, timeout=120)
        assert flow.kind == "task" and flow.task == "cron_task"
        assert flow.status.value == "succeeded", flow.reason
        run_id = flow.step("run").run_id
        assert backend.get_run(run_id).status.value == "succeeded"
        assert "tick" in backend.read_logs(run_id).text
    # The model's monitoring is a flow too; nothing is deployed, which it says.
    monitors = [flow_id for name, flow_id in scheduler.started if name == "monitor:watched"]
    assert len(monitors) == 2
    assert sum("started monitoring of model watched" in line for line in lines) == 2
    for flow_id in monitors:
        flow = control.wait(store, flow_id, backend, timeout=120)
        assert flow.status.value == "failed" and "not deployed" in (flow.reason or "")


def test_scheduler_command_refuses_nothing_to_do(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "ame.yml").write_text(
        "project: p\ntasks:\n  - name: t\n    executor: !custom\n      command: 'true'\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(tmp_path), "scheduler"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "nothing to schedule" in result.stderr


def test_scheduler_runs_detached_and_stops(rt: Env) -> None:
    started = rt.ame("scheduler", "start")
    assert started.returncode == 0, started.stderr
    assert "scheduler started (pid" in started.stdout
    try:
        again = rt.ame("scheduler", "start")
        assert again.returncode == 2 and "already runs" in again.stderr
        foreground = rt.ame("scheduler", timeout=30)
        assert foreground.returncode == 2 and "already runs" in foreground.stderr
        status = rt.ame("scheduler", "status")
        assert status.returncode == 0, status.stderr
        assert "scheduler: running (pid" in status.stdout and "cron_task" in status.stdout
    finally:
        stopped = rt.ame("scheduler", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "scheduler stopped" in stopped.stdout
    status = rt.ame("scheduler", "status", "--json")
    assert json.loads(status.stdout)["running"] is False
