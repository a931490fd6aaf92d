"""Pipelines (order, a parallel group that really runs concurrently, a failure that cancels
the rest of its group) and GPU admission with a two-GPU inventory (AME_FAKE_GPUS=2)."""

from __future__ import annotations

import json
import time

from runtime_support import Env


def _clear(rt: Env) -> None:
    for f in rt.steps.iterdir():
        f.unlink()


def test_pipeline_runs_steps_in_order_and_groups_concurrently(rt: Env) -> None:
    _clear(rt)
    result = rt.ame("task", "run", "pipe_ok", timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    run_id = result.stderr.split()[1].rstrip(":")
    # the steps' output, followed through the pipeline, each line named by its step
    for line in ("[step_a] step a done", "[par_1] step par_1 done", "[step_c] step c done"):
        assert line in result.stdout
    pipeline = rt.record(run_id)
    assert pipeline["status"] == "succeeded" and pipeline["kind"] == "pipeline"
    steps = [rt.record(s) for s in pipeline["step_ids"]]
    assert [s["task"] for s in steps] == ["step_a", "par_1", "par_2", "step_c"]
    assert all(s["status"] == "succeeded" and s["parent_id"] == run_id for s in steps)
    # par_1 and par_2 each wait until the other has started: both succeeding means they ran
    # at the same time; the order of the groups shows in the files' times.
    start = {p.stem: p.stat().st_mtime_ns for p in rt.steps.glob("*.start")}
    end = {p.stem: p.stat().st_mtime_ns for p in rt.steps.glob("*.end")}
    assert end["a"] <= min(start["par_1"], start["par_2"])
    assert max(end["par_1"], end["par_2"]) <= start["c"]
    # each step's MLflow run is a child of the pipeline's
    step_run = rt.mlflow_run(steps[1]["mlflow_run_id"])
    assert step_run.data.tags["mlflow.parentRunId"] == pipeline["mlflow_run_id"]
    assert rt.mlflow_run(pipeline["mlflow_run_id"]).info.status == "FINISHED"


def test_failed_step_fails_pipeline_and_cancels_its_group(rt: Env) -> None:
    _clear(rt)
    result = rt.ame("task", "run", "pipe_fail", timeout=300)
    assert result.returncode == 1  # the failed step's exit code
    run_id = result.stderr.split()[1].rstrip(":")
    pipeline = rt.record(run_id)
    assert pipeline["status"] == "failed"
    assert "par_fail" in pipeline["reason"]
    steps = {rt.record(s)["task"]: rt.record(s) for s in pipeline["step_ids"]}
    assert set(steps) == {"par_fail", "par_long"}  # step_c never started
    assert steps["par_fail"]["status"] == "failed"
    assert steps["par_long"]["status"] == "cancelled"
    assert not (rt.steps / "par_long.end").exists()
    assert not (rt.steps / "c.start").exists()
    assert rt.mlflow_run(pipeline["mlflow_run_id"]).info.status == "FAILED"


def test_gpu_admission_with_two_gpus(rt: Env) -> None:
    first = rt.start("gpu1")
    second = rt.start("gpu1")
    third = rt.start("gpu1")
    rt.wait_file(rt.gpus / first)
    rt.wait_file(rt.gpus / second)
    devices = {(rt.gpus / first).read_text(), (rt.gpus / second).read_text()}
    assert devices == {"0", "1"}
    queued = rt.record(third)
    assert queued["status"] == "queued"
    assert "GPUs: 1 requested, 0 of 2 free" in queued["reason"]
    listing = rt.ame("runs").stdout
    assert third in listing and "queued" in listing
    # a request larger than the machine is refused before it starts, with the numbers
    refused = rt.ame("task", "run", "gpu3")
    assert refused.returncode == 2
    assert "nvidia.com/gpu 3 requested, the machine has 2" in refused.stderr
    # room opens up: the queued run starts on a freed GPU
    (rt.gpus / "release").touch()
    for run_id in (first, second):
        assert rt.wait(run_id)["status"] == "succeeded"
    done = rt.wait(third)
    assert done["status"] == "succeeded"
    assert (rt.gpus / third).read_text() in ("0", "1")
    (rt.gpus / "release").unlink()


def test_cancel_a_queued_run(rt: Env) -> None:
    holders = [rt.start("gpu1"), rt.start("gpu1")]
    waiting = rt.start("gpu1")
    for run_id in holders:
        rt.wait_file(rt.gpus / run_id)
    assert rt.record(waiting)["status"] == "queued"
    result = rt.ame("cancel", waiting)
    assert result.returncode == 0
    assert rt.record(waiting)["status"] == "cancelled"
    (rt.gpus / "release").touch()
    for run_id in holders:
        rt.wait(run_id)
    # A finishing supervisor starts the queued runs that now fit: once both have exited, the
    # cancelled run had its chance to be (wrongly) started.
    for run_id in holders:
        extra = rt.record(run_id)["extra"]
        _wait_until_gone(extra["supervisor_pid"], extra["supervisor_start"])
    assert rt.record(waiting)["status"] == "cancelled"  # never started afterwards
    assert not (rt.gpus / waiting).exists()
    (rt.gpus / "release").unlink()


def test_a_pipeline_whose_supervisor_is_killed_is_resumed_by_the_next_look(rt: Env) -> None:
    import os
    import signal

    _clear(rt)
    started = rt.ame("task", "run", "pipe_slow", "--detach", "--json")
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout)["id"]
    deadline = time.monotonic() + 60
    while not rt.record(run_id)["step_ids"] and time.monotonic() < deadline:
        time.sleep(0.1)
    first_step = rt.record(run_id)["step_ids"][0]
    pid = rt.record(run_id)["extra"]["supervisor_pid"]
    os.kill(pid, signal.SIGKILL)  # while step_slow runs
    _wait_until_gone(pid, rt.record(run_id)["extra"]["supervisor_start"])

    looked = rt.ame("runs", "--json")  # the next look notices and resumes it
    assert looked.returncode == 0, looked.stderr
    record = rt.record(run_id)
    assert record["status"] == "running" and record["extra"]["resumes"] == 1
    assert record["extra"]["supervisor_pid"] != pid

    deadline = time.monotonic() + 120
    while rt.record(run_id)["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    record = rt.record(run_id)
    assert record["status"] == "succeeded", record["reason"]
    steps = [rt.record(s) for s in record["step_ids"]]
    # step_slow was reattached, not started again; step_c ran after it
    assert [s["task"] for s in steps] == ["step_slow", "step_c"]
    assert steps[0]["id"] == first_step
    assert all(s["status"] == "succeeded" for s in steps)
    log = (rt.project / ".ame" / "runs" / f"{run_id}.log").read_text()
    assert "vanished; resumed" in log and "(reattached)" in log


def _wait_until_gone(pid: int, started: str, seconds: float = 30.0) -> None:
    from ame_core.runtime import procs

    deadline = time.monotonic() + seconds
    while procs.alive(pid, started):
        assert time.monotonic() < deadline, f"process {pid} still running after {seconds} s"
        time.sleep(0.05)
