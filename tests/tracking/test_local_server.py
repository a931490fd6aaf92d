"""The project's local MLflow server, with real processes: started once for four runs at once
on a never-used project, restarted once after a `kill -9`, `ame mlflow status|stop|ui`, an
MLflow run ended after the fact when the server was down as its run ended. Tests run in file
order on one project (the session's one server)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tracking_support import Project, server_processes

from ame_core.mlflow_rest import MlflowRest


def _runs(project: Project) -> list[dict]:
    api = MlflowRest(project.state()["url"])
    experiment = api.experiment_by_name("tracked")
    assert experiment is not None
    return api.search_runs([experiment["experiment_id"]])


def test_four_runs_at_once_on_a_new_project_get_one_server(started) -> None:
    project = started.project
    for code, out, err in started.results:
        assert code == 0, err
        assert "hello" in out
    announced = [err for _, _, err in started.results if "starting the project's MLflow" in err]
    assert len(announced) == 1, [err for _, _, err in started.results]
    assert "first use" in announced[0]
    state = project.state()
    assert server_processes(project.dir) == [state["pid"]]
    assert state["url"] == f"http://127.0.0.1:{state['port']}"
    fifth = project.ame("task", "run", "hello")
    assert fifth.returncode == 0, fifth.stderr
    assert "starting" not in fifth.stderr
    assert server_processes(project.dir) == [state["pid"]]
    records = project.records()
    assert len(records) == 5 and {r["status"] for r in records} == {"succeeded"}
    assert {r["extra"]["tracking_uri"] for r in records} == {state["url"]}
    runs = _runs(project)
    assert len(runs) == 5
    assert {r["info"]["status"] for r in runs} == {"FINISHED"}
    # Artifacts stay files under .ame/mlartifacts.
    assert {r["info"]["artifact_uri"].split("/mlartifacts/")[0] for r in runs} == {
        (project.dir / ".ame").resolve().as_uri()
    }


def test_looking_starts_no_server(tmp_path: Path) -> None:
    fresh = Project(tmp_path)
    for args in (("lint",), ("show",), ("schema",), ("task", "list"), ("mlflow", "status")):
        result = fresh.ame(*args)
        assert result.returncode == 0, (args, result.stderr)
    assert "not running" in fresh.ame("mlflow", "status").stdout
    assert not server_processes(fresh.dir)
    assert not (fresh.dir / ".ame" / "mlflow.db").exists()


def test_a_chosen_tracking_uri_is_used_as_is(tmp_path: Path) -> None:
    fresh = Project(tmp_path)
    uri = f"sqlite:///{tmp_path / 'chosen.db'}"
    result = fresh.ame("task", "run", "hello", env={"MLFLOW_TRACKING_URI": uri})
    assert result.returncode == 0, result.stderr
    assert [r["extra"]["tracking_uri"] for r in fresh.records()] == [uri]
    assert not fresh.state_file.exists() and not server_processes(fresh.dir)
    status = fresh.ame("mlflow", "status", env={"MLFLOW_TRACKING_URI": uri})
    assert "no local server" in status.stdout


def test_status_stop_and_ui(project: Project) -> None:
    result = project.ame("mlflow", "status")
    assert result.returncode == 0, result.stderr
    state = project.state()
    assert f"address:   {state['url']}" in result.stdout
    assert f"pid:       {state['pid']}" in result.stdout
    assert "uptime:" in result.stdout and "mlflow.db" in result.stdout
    info = json.loads(project.ame("mlflow", "status", "--json").stdout)
    assert info["running"] and info["answers"] and info["pid"] == state["pid"]

    stopped = project.ame("mlflow", "stop")
    assert stopped.returncode == 0 and "stopped the project's MLflow server" in stopped.stdout
    assert not server_processes(project.dir)
    assert "not running" in project.ame("mlflow", "status").stdout
    assert "not running" in project.ame("mlflow", "stop").stdout

    ui = project.ame("mlflow", "ui")
    assert ui.returncode == 0, ui.stderr
    assert ui.stdout.strip() == state["url"]  # the recorded port is reused
    assert MlflowRest(state["url"]).health()
    again = project.state()
    assert again["pid"] != state["pid"] and server_processes(project.dir) == [again["pid"]]


def test_a_killed_server_is_restarted_once_and_nothing_is_lost(project: Project) -> None:
    from mlflow import MlflowClient

    state = project.state()
    before = _runs(project)
    client = MlflowClient(tracking_uri=state["url"], registry_uri=state["url"])
    client.create_registered_model("kept")
    client.create_model_version(
        "kept", f"runs:/{before[0]['info']['run_id']}/model", run_id=before[0]["info"]["run_id"]
    )
    records = project.records()
    os.kill(state["pid"], signal.SIGKILL)

    result = project.ame("task", "run", "hello")
    assert result.returncode == 0, result.stderr
    assert "it had exited" in result.stderr
    after = project.state()
    assert after["pid"] != state["pid"]
    assert server_processes(project.dir) == [after["pid"]]
    assert len(project.records()) == len(records) + 1
    runs = _runs(project)
    assert {r["info"]["run_id"] for r in before} < {r["info"]["run_id"] for r in runs}
    assert MlflowRest(after["url"]).search_model_versions("name='kept'")[0]["version"] == "1"

    # A `kill -9` the next command does not notice first: its REST call restarts the server.
    os.kill(after["pid"], signal.SIGKILL)
    time.sleep(0.5)
    status = project.ame("model", "status", "nosuch")  # the project has no model: no MLflow
    assert "Traceback" not in status.stderr
    runs_cmd = project.ame("runs", "--all")
    assert runs_cmd.returncode == 0, runs_cmd.stderr


def test_a_run_that_ends_while_the_server_is_down_is_ended_in_mlflow_later(
    project: Project,
) -> None:
    project.ame("mlflow", "ui")  # running
    run_id = project.ame("task", "run", "nap", "--detach").stdout.strip()
    deadline = time.monotonic() + 60
    while not project.record(run_id).get("mlflow_run_id"):
        assert time.monotonic() < deadline, project.record(run_id)
        time.sleep(0.2)
    assert project.ame("mlflow", "stop").returncode == 0

    record = project.wait_finished(run_id)
    assert record["status"] == "succeeded", record
    assert record["extra"]["mlflow_end_pending"] == "FINISHED"
    assert not server_processes(project.dir)  # a supervisor does not restart a stopped server
    log = (project.dir / ".ame" / "runs" / f"{run_id}.log").read_text()
    assert "it will be ended when MLflow answers again" in log

    listing = project.ame("runs", "--all")
    assert listing.returncode == 0, listing.stderr
    record = project.record(run_id)
    assert "mlflow_end_pending" not in record["extra"]
    run = MlflowRest(project.state()["url"]).get_run(record["mlflow_run_id"])
    assert run["info"]["status"] == "FINISHED"
    assert abs(int(run["info"]["end_time"]) / 1000 - record["ended_at"]) < 1
