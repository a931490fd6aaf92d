"""Task runs on the local backend, end to end through the `ame` command: real processes,
the project's local MLflow server."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from runtime_support import Env

from ame_core.runtime import procs


def _gone(pid: int) -> bool:
    return not procs.alive(pid)  # a zombie is gone too


def test_run_follows_logs_and_records(rt: Env) -> None:
    result = rt.ame("task", "run", "hello")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("ENV "))
    env = json.loads(line[4:])
    run_id = env["AME_RUN_ID"]
    # a new process lists the run, with what the user checks
    record = rt.record(run_id)
    assert record["status"] == "succeeded"
    assert record["exit_code"] == 0
    assert record["task"] == "hello" and record["project"] == "rt"
    assert record["started_at"] and record["ended_at"] >= record["started_at"]
    assert record["log_path"].endswith(f"{run_id}.log")
    # the runtime contract
    assert env["AME_PROJECT"] == "rt"
    assert env["AME_TASK"] == "hello"
    assert env["MLFLOW_EXPERIMENT_NAME"] == "rt"
    assert env["MLFLOW_TRACKING_URI"] == rt.tracking_uri  # the project's local server
    assert env["MLFLOW_TRACKING_URI"].startswith("http://127.0.0.1:")
    assert env["MLFLOW_RUN_ID"] == record["mlflow_run_id"]
    assert env["GREETING"] == "hi"
    assert env["CUDA_VISIBLE_DEVICES"] is None  # no GPU requested: left as it was
    # the MLflow run: tags, FINISHED
    run = rt.mlflow_run(record["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["ame.project"] == "rt"
    assert run.data.tags["ame.task"] == "hello"
    assert run.data.tags["ame.run_id"] == run_id
    # the listing shows it, table and JSON
    table = rt.ame("runs")
    assert run_id in table.stdout and "succeeded" in table.stdout


def test_exit_code_and_failed_mlflow_run(rt: Env) -> None:
    result = rt.ame("task", "run", "fail3")
    assert result.returncode == 3
    assert "failing" in result.stdout
    assert "exited with code 3" in result.stderr
    assert "Traceback" not in result.stderr
    run_id = result.stderr.split()[1].rstrip(":")
    record = rt.record(run_id)
    assert record["status"] == "failed" and record["exit_code"] == 3
    assert rt.mlflow_run(record["mlflow_run_id"]).info.status == "FAILED"


def test_killed_by_signal(rt: Env) -> None:
    result = rt.ame("task", "run", "selfkill")
    assert result.returncode == 128 + 9
    run_id = result.stderr.split()[1].rstrip(":")
    record = rt.record(run_id)
    assert record["status"] == "failed"
    assert "signal 9" in record["reason"] and "SIGKILL" in record["reason"]
    assert rt.mlflow_run(record["mlflow_run_id"]).info.status == "FAILED"


def ticking_run(rt: Env) -> str | None:
    """The id of the `ticker` run once it is running and has printed its first line."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for record in (rt.project / ".ame" / "runs").glob("*.json"):
            data = json.loads(record.read_text())
            if data["task"] == "ticker" and data["status"] == "running":
                if "tick 0" in rt.log(data["id"]):
                    return data["id"]
        time.sleep(0.05)
    return None


def test_kill_9_of_ame_does_not_lose_the_run(rt: Env, tmp_path) -> None:
    go = tmp_path / "go"
    proc = rt.popen("task", "run", "ticker", env={"TICKER_GO": str(go)})
    # the run exists and has printed its first line: kill the `ame` process hard
    run_id = ticking_run(rt)
    assert run_id, "the ticker run did not start"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    go.touch()
    record = rt.wait(run_id)
    assert record["status"] == "succeeded", record
    assert record["exit_code"] == 0
    assert "tick 9" in rt.log(run_id)
    assert rt.mlflow_run(record["mlflow_run_id"]).info.status == "FINISHED"


def test_logs_from_offset_and_follow(rt: Env, tmp_path) -> None:
    go = tmp_path / "go"
    run_id = rt.start("ticker", env={"TICKER_GO": str(go)})
    follower = rt.popen("logs", run_id, "--follow")
    rt.wait_file(rt.project / ".ame" / "runs" / f"{run_id}.log")
    deadline = time.monotonic() + 60
    while "tick 0" not in rt.log(run_id):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert follower.poll() is None  # still following: the run is not over
    go.touch()
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 0, err
    assert all(f"tick {i}" in out for i in range(10))
    full = rt.log(run_id)
    offset = full.index("tick 5")
    part = rt.ame("logs", run_id, "--offset", str(offset))
    assert part.stdout == full[offset:]
    # an unambiguous part of the id is enough
    assert rt.ame("logs", run_id[-6:]).stdout == full


def test_cancel_kills_the_whole_tree(rt: Env) -> None:
    run_id = rt.start("sleeper")
    pids_file = rt.pids / f"{run_id}.pids"
    rt.wait_file(pids_file)
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 3 and not any(_gone(p) for p in pids)
    result = rt.ame("cancel", run_id)
    assert result.returncode == 0, result.stderr
    assert "cancelled" in result.stdout
    record = rt.record(run_id)
    assert record["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(p) for p in pids), "a process of the cancelled run survived"
    assert rt.mlflow_run(record["mlflow_run_id"]).info.status == "KILLED"
    again = rt.ame("cancel", run_id)
    assert "already cancelled" in again.stdout


def test_vanished_supervisor_is_marked_failed(rt: Env) -> None:
    run_id = rt.start("sleeper")
    rt.wait_file(rt.pids / f"{run_id}.pids")
    pids = [int(p) for p in (rt.pids / f"{run_id}.pids").read_text().split()]
    raw = rt.raw_record(run_id)
    os.kill(raw["extra"]["supervisor_pid"], signal.SIGKILL)  # as if the machine went down
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _gone(raw["extra"]["supervisor_pid"]):
        time.sleep(0.05)
    record = rt.record(run_id)  # the next look notices
    assert record["status"] == "failed"
    assert "vanished" in record["reason"]
    assert rt.mlflow_run(record["mlflow_run_id"]).info.status == "FAILED"
    deadline = time.monotonic() + 30
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(p) for p in pids), "the unsupervised task was left running"


def test_artifacts_are_logged(rt: Env) -> None:
    result = rt.ame("task", "run", "artifacts")
    assert result.returncode == 0, result.stderr
    run_id = result.stderr.split()[1].rstrip(":")
    record = rt.record(run_id)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=rt.tracking_uri)
    top = {a.path for a in client.list_artifacts(record["mlflow_run_id"])}
    assert "out" in top and "changed" in top
    assert [a.path for a in client.list_artifacts(record["mlflow_run_id"], "out")] == [
        "out/result.txt"
    ]
    changed = {a.path for a in client.list_artifacts(record["mlflow_run_id"], "changed")}
    assert "changed/changed.txt" in changed
    assert "changed/out" in changed  # out/result.txt changed as well
    assert "artifact logged" in rt.log(run_id)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["task", "run", "nope"], "unknown task 'nope'"),
        (["task", "run", "no_python"], "no Python 3.99"),
        (["task", "run", "too_big"], "asks for more than this machine has"),
        (["--mlflow-uri", "http://127.0.0.1:9", "task", "run", "hello"], "unreachable"),
        (["logs", "no-such-run"], "no run 'no-such-run'"),
    ],
)
def test_errors_are_one_line(rt: Env, args: list[str], expected: str) -> None:
    result = rt.ame(*args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_missing_interpreter_names_what_is_installed(rt: Env) -> None:
    result = rt.ame("task", "run", "no_python")
    assert "installed:" in result.stderr and "3.11" in result.stderr


def test_task_list(rt: Env) -> None:
    result = rt.ame("task", "list", "--json")
    tasks = {t["name"]: t for t in json.loads(result.stdout)}
    assert tasks["gpu1"]["resources"] == {"nvidia.com/gpu": "1"}
    assert tasks["cron_task"]["schedule"] == "* * * * *"
    assert tasks["pipe_ok"]["executor"].startswith("pipeline")
    table = rt.ame("task", "list").stdout
    assert "hello" in table and "!custom" in table


def test_pip_environment_is_created_once_and_reused(rt: Env) -> None:
    first = rt.ame("task", "run", "pip_task", timeout=600)
    assert first.returncode == 0, first.stderr + first.stdout
    prefix = next(x for x in first.stdout.splitlines() if x.startswith("prefix="))[7:]
    envs = rt.root / "cache" / "envs"
    assert prefix.startswith(str(envs))
    assert (envs / os.path.basename(prefix) / ".ame-complete").is_file()
    assert "creating environment" in first.stdout
    second = rt.ame("task", "run", "pip_task")
    assert second.returncode == 0, second.stderr
    assert f"prefix={prefix}" in second.stdout
    assert "creating environment" not in second.stdout
    # a half-built environment (no marker) is rebuilt, never used
    (envs / os.path.basename(prefix) / ".ame-complete").unlink()
    third = rt.ame("task", "run", "pip_task", timeout=600)
    assert third.returncode == 0
    assert "removing the unfinished environment" in third.stdout


def test_dry_run_needs_kubernetes(rt: Env) -> None:
    result = rt.ame("task", "run", "hello", "--dry-run")
    assert result.returncode == 2
    assert "--backend kubernetes" in result.stderr


def test_detach_json_prints_the_record_and_the_run_goes_on(rt: Env) -> None:
    result = rt.ame("task", "run", "hello", "--detach", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["task"] == "hello" and data["project"] == "rt"
    assert data["status"] in ("queued", "running", "succeeded")
    assert rt.wait(data["id"])["status"] == "succeeded"


def test_ctrl_c_detaches_and_the_run_goes_on(rt: Env, tmp_path) -> None:
    go = tmp_path / "go"
    proc = rt.popen("task", "run", "ticker", env={"TICKER_GO": str(go)})
    run_id = ticking_run(rt)
    assert run_id
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"detached from run {run_id}" in err and "Traceback" not in err
    assert rt.record(run_id)["status"] == "running"
    go.touch()
    assert rt.wait(run_id)["status"] == "succeeded"


def test_changed_project_file_is_read_again(rt: Env) -> None:
    # `ame task run` keeps checked tasks under .ame/cache; any change to the file is seen.
    path = rt.project / "ame.yml"
    original = path.read_text()
    probe = (
        "  - name: cache_probe\n    executor: !custom\n"
        "      command: python -c \"import os; print('VAL=' + os.environ['VAL'])\"\n"
        "    environment:\n      - key: VAL\n        val: {}\n"
    )
    try:
        head, models = original.split("\nmodels:", 1)
        path.write_text(head + "\n" + probe.format("one") + "\nmodels:" + models)
        assert "VAL=one" in rt.ame("task", "run", "cache_probe").stdout
        assert "VAL=one" in rt.ame("task", "run", "cache_probe").stdout  # from the cache
        path.write_text(head + "\n" + probe.format("two") + "\nmodels:" + models)
        assert "VAL=two" in rt.ame("task", "run", "cache_probe").stdout
        path.write_text(head + "\n" + probe.format("[broken") + "\nmodels:" + models)
        broken = rt.ame("task", "run", "cache_probe")
        assert broken.returncode == 2 and "ame.yml" in broken.stderr
    finally:
        path.write_text(original)


def test_following_a_log_reads_it_in_bounded_pieces(rt: Env, monkeypatch) -> None:
    from ame_core.runtime.local import LocalBackend

    result = rt.ame("task", "run", "hello")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("ENV "))
    run_id = json.loads(line[4:])["AME_RUN_ID"]
    backend = LocalBackend(rt.project)
    whole = backend.read_logs(run_id).text
    assert len(whole) > 200
    # The console copies a run's log through follow_logs: a large log must come in pieces,
    # each at most FOLLOW_CHUNK bytes, and whole.
    monkeypatch.setattr(LocalBackend, "FOLLOW_CHUNK", 64)
    chunks = list(backend.follow_logs(run_id))
    assert len(chunks) >= 4
    assert all(len(c.text.encode()) <= 64 for c in chunks)
    assert "".join(c.text for c in chunks) == whole
