"""`ame scheduler`: cron-triggered tasks start when due (an injected clock drives the minutes)."""

from __future__ import annotations

from datetime import datetime

import pytest
from runtime_support import Env

from ame_core.runtime.loading import load_project
from ame_core.runtime.local import LocalBackend
from ame_core.runtime.scheduler import Scheduler
from ame_core.tracking import tracking_uri_for


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
        tracking_uri_for(loaded.dir),
        clock=lambda: now["t"],
        sleep=lambda _s: now.update(t=next(times)),
        log=lines.append,
    )
    assert any("cron_task" in line and "every minute" in line for line in scheduler.describe())
    scheduler.run(max_ticks=3)
    started = [run_id for name, run_id in scheduler.started if name == "cron_task"]
    assert len(started) == 2
    assert sum("started task cron_task" in line for line in lines) == 2
    # the model's monitoring goes through the lifecycle; nothing is deployed, which it says
    for thread in scheduler.threads:
        thread.join(timeout=120)
    assert sum("starting monitoring of model watched" in line for line in lines) == 2
    assert any("monitoring of watched failed" in line and "not deployed" in line for line in lines)
    for run_id in started:
        record = backend.wait(run_id, timeout=120)
        assert record.status.value == "succeeded"
        assert "tick" in backend.read_logs(run_id).text


def test_scheduler_command_refuses_nothing_to_do(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "ame.yml").write_text(
        "project: p\ntasks:\n  - name: t\n    executor: !custom\n      command: 'true'\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "ame_core", "--project", str(tmp_path), "scheduler"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "nothing to schedule" in result.stderr
