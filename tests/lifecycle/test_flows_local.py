"""Flows outlive the process that started them: real `ame` processes on a copy of the
quickstart, killed with SIGKILL or interrupted with Ctrl-C in the middle, and the flow still ends
as it would have without the fault.

The tests share one project and run in file order (versions trained and served; v1 deployed;
a roll-back to the version served before it; undeploy).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lifecycle_support import (
    ame_env,
    copy_quickstart,
    kill_processes_under,
    processes_under,
    shared_cache,
)

pytestmark = pytest.mark.slow

MODEL = "logreg"
FLOW_TIMEOUT = 600.0


@dataclass
class Project:
    root: Path
    dir: Path
    env: dict[str, str]

    def ame(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(self.dir), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """`ame ARGS` in the foreground of a terminal-less process (the user's shell)."""
        return subprocess.Popen(
            [sys.executable, "-m", "ame_cli", "--project", str(self.dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    @property
    def flows(self) -> Path:
        return self.dir / ".ame" / "flows"

    def flow_ids(self) -> set[str]:
        return {p.stem for p in self.flows.glob("flow-*.json")} if self.flows.is_dir() else set()

    def record(self, flow_id: str) -> dict[str, Any]:
        """The record as the driver last wrote it (read without `ame`: no resume)."""
        return json.loads((self.flows / f"{flow_id}.json").read_text())

    def wait_finished(self, flow_id: str) -> dict[str, Any]:
        record = wait_for(
            lambda: (
                (r := self.record(flow_id))["status"] in ("succeeded", "failed", "cancelled") and r
            ),
            FLOW_TIMEOUT,
            f"flow {flow_id} to finish",
        )
        return record

    def model_status(self) -> dict[str, Any]:
        done = self.ame("model", "status", MODEL, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, ValueError, KeyError):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def step(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in record["steps"] if s["name"] == name)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


@pytest.fixture(scope="module")
def qs(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("flows-local")
    project = copy_quickstart(root / "quickstart")
    env = ame_env(root, shared_cache(tmp_path_factory))
    yield Project(root, project, env)
    subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(project), "model", "undeploy", MODEL],
        env=env,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(project), "mlflow", "stop"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    leaked = kill_processes_under(root)
    assert not leaked, f"processes left running: {leaked}"


def test_kill_9_of_the_foreground_train_still_validates_and_serves(qs: Project) -> None:
    before = qs.flow_ids()
    cli = qs.start("model", "train", MODEL)
    flow_id = wait_for(lambda: next(iter(qs.flow_ids() - before), None), 120, "the flow record")
    # The training run is going: kill the command the user typed.
    wait_for(lambda: step(qs.record(flow_id), "train")["run_id"], 300, "the training run")
    cli.send_signal(signal.SIGKILL)
    cli.communicate(timeout=30)

    final = qs.wait_finished(flow_id)
    assert final["status"] == "succeeded", final["reason"]
    assert final["params"]["version"] == "1"
    assert step(final, "validate")["result"]["verdict"] == "passed"
    assert step(final, "deploy")["result"]["version"] == "1"
    # What the user then sees: validated and served.
    status = qs.model_status()
    assert status["deployed"] == "1"
    assert status["versions"][0]["validation"]["status"] == "passed"
    assert status["endpoint"]["status"] == "ready"


def test_kill_9_of_the_driver_is_resumed_by_the_next_command(qs: Project) -> None:
    started = qs.ame("model", "train", MODEL, "--detach")
    assert started.returncode == 0, started.stderr
    flow_id = started.stdout.strip()
    assert flow_id in qs.flow_ids()
    # Kill the driver while validation runs.
    validation_run = wait_for(
        lambda: step(qs.record(flow_id), "validate")["run_id"], 600, "the validation run"
    )
    driver = qs.record(flow_id)["driver"]["pid"]
    os.kill(driver, signal.SIGKILL)
    wait_for(lambda: not alive(driver), 30, "the driver to die")

    listed = qs.ame("flow", "list")  # the next `ame` command that looks
    assert listed.returncode == 0, listed.stderr
    assert flow_id in listed.stdout
    resumed = qs.record(flow_id)
    assert resumed["resumes"] == 1
    assert resumed["driver"]["pid"] != driver
    assert any("vanished" in e["text"] and "resumed" in e["text"] for e in resumed["events"])

    final = qs.wait_finished(flow_id)
    # The same outcome as without the kill, and the validation was not started twice.
    assert final["status"] == "succeeded", final["reason"]
    assert final["params"]["version"] == "2"
    assert step(final, "validate")["run_id"] == validation_run
    assert step(final, "validate")["result"]["verdict"] == "passed"
    assert qs.model_status()["deployed"] == "2"
    runs = json.loads(qs.ame("runs", "--all", "--json").stdout)
    validations = [r for r in runs if r["kind"] == "validation" and r["model_version"] == "2"]
    assert [r["id"] for r in validations] == [validation_run]


def test_ctrl_c_detaches_and_a_flow_can_be_cancelled(qs: Project) -> None:
    before = qs.flow_ids()
    cli = qs.start("model", "validate", MODEL, "--version", "2")
    flow_id = wait_for(lambda: next(iter(qs.flow_ids() - before), None), 120, "the flow record")
    run_id = wait_for(lambda: step(qs.record(flow_id), "validate")["run_id"], 300, "its run")
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == 130
    assert f"detached; flow {flow_id} goes on" in err and "ame flow cancel" in err
    assert "Traceback" not in err
    assert qs.record(flow_id)["status"] == "running"

    cancelled = qs.ame("flow", "cancel", flow_id[-6:])
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"flow {flow_id}" in cancelled.stdout and "cancelled" in cancelled.stdout
    record = qs.record(flow_id)
    assert record["status"] == "cancelled"
    assert step(record, "validate")["status"] == "cancelled"
    run = json.loads(qs.ame("runs", "--all", "--json").stdout)
    assert next(r for r in run if r["id"] == run_id)["status"] == "cancelled"


def test_the_local_mlflow_server_killed_mid_flow_is_restarted_and_nothing_is_lost(
    qs: Project,
) -> None:
    before = {v["version"] for v in qs.model_status()["versions"]}
    started = qs.ame("model", "train", MODEL, "--detach")
    assert started.returncode == 0, started.stderr
    flow_id = started.stdout.strip()
    run_id = wait_for(lambda: step(qs.record(flow_id), "train")["run_id"], 300, "the training")
    runs = qs.dir / ".ame" / "runs"
    wait_for(
        lambda: json.loads((runs / f"{run_id}.json").read_text())["extra"].get(
            "command_started_at"
        ),
        300,
        "the training command to start",
    )
    state_path = qs.dir / ".ame" / "mlflow-server.json"
    server = json.loads(state_path.read_text())["pid"]
    os.kill(server, signal.SIGKILL)  # while the task is about to log its model there

    final = qs.wait_finished(flow_id)
    assert final["status"] == "succeeded", final["reason"]
    version = final["params"]["version"]
    restarted = json.loads(state_path.read_text())["pid"]
    assert restarted != server and alive(restarted)
    # Nothing lost: every version is still there, the new one validated and served.
    status = qs.model_status()
    assert {v["version"] for v in status["versions"]} == before | {version}
    assert status["deployed"] == version
    assert status["versions"][0]["validation"]["status"] == "passed"
    # The training run's record and its MLflow run agree.
    record = json.loads((runs / f"{run_id}.json").read_text())
    assert record["status"] == "succeeded"
    url = json.loads(state_path.read_text())["url"]
    with urllib.request.urlopen(
        f"{url}/api/2.0/mlflow/runs/get?run_id={record['mlflow_run_id']}", timeout=10
    ) as answer:
        assert json.loads(answer.read())["run"]["info"]["status"] == "FINISHED"


def test_kill_9_of_a_deploy_mid_start_leaves_no_orphan_server(qs: Project) -> None:
    served = qs.model_status()["deployed"]
    state_path = qs.dir / ".ame" / "serving" / f"{MODEL}.json"
    cli = qs.start("model", "deploy", MODEL, "--version", "1")
    flow_id = wait_for(
        lambda: next((f for f in qs.flow_ids() if qs.record(f)["kind"] == "deploy"), None),
        120,
        "the deploy flow",
    )
    # The new version's server is starting beside the served one: kill the command and its
    # driver (the process that started that server).
    starting = wait_for(
        lambda: ((json.loads(state_path.read_text()).get("pending") or {}).get("server") or {}).get(
            "pid"
        ),
        120,
        "the new server to be recorded",
    )
    driver = qs.record(flow_id)["driver"]["pid"]
    cli.send_signal(signal.SIGKILL)
    cli.communicate(timeout=30)
    os.kill(driver, signal.SIGKILL)
    wait_for(lambda: not alive(driver), 30, "the driver to die")

    # The next command settles it: the flow is resumed and the start finished (or rolled back
    # and done again); never two servers, never one nobody knows.
    qs.model_status()  # the next `ame` command that looks
    final = qs.wait_finished(flow_id)
    assert final["status"] == "succeeded", final["reason"]
    assert final["resumes"] == 1
    status = qs.model_status()
    assert status["deployed"] == "1" and status["endpoint"]["version"] == "1"
    assert status["endpoint"]["status"] == "ready"
    state = json.loads(state_path.read_text())
    assert "pending" not in state
    servers = [line for line in processes_under(qs.root) if "models serve" in line]
    assert len(servers) == 1 and f"models:/{MODEL}/1" in servers[0], servers
    assert served != "1"
    assert starting == state["server"]["pid"] or not alive(starting)


def history(qs: Project) -> list[dict[str, Any]]:
    done = qs.ame("model", "history", MODEL, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_deploy_is_in_the_history_and_a_rollback_serves_the_one_before(
    qs: Project,
) -> None:
    # The deploy killed mid-start (the test before) was finished by its resumed flow: the
    # history has it once, from the version served when it began.
    events = history(qs)
    newest = events[0]
    before = newest["from_version"]
    assert (newest["event"], newest["to_version"]) == ("deploy", "1")
    assert before not in (None, "1")  # what the autoDeploys of the trainings served
    assert newest["outcome"] == "succeeded" and newest["flow_id"]
    assert [e["to_version"] for e in events if e["event"] == "deploy"][-1] == "1"  # the first
    assert all(e["user"] for e in events)
    table = qs.ame("model", "history", MODEL)
    assert table.stdout.splitlines()[0].split()[:4] == ["WHEN", "EVENT", "FROM", "TO"]

    # Roll back: the version served before is served again, recorded as a roll-back.
    done = qs.ame("model", "rollback", MODEL, "--quiet")
    assert done.returncode == 0, done.stderr
    status = qs.model_status()
    assert status["deployed"] == before and status["endpoint"]["version"] == before
    with urllib.request.urlopen(status["endpoint"]["url"] + "/ping", timeout=10) as response:
        assert response.headers["AME-Model-Version"] == before
    back = history(qs)[0]
    assert (back["event"], back["from_version"], back["to_version"]) == ("rollback", "1", before)

    # A version never served, or the one served now: one line each, nothing started.
    served = sorted({e["to_version"] for e in history(qs) if e["to_version"]}, key=int)
    flows_before = qs.flow_ids()
    never = qs.ame("model", "rollback", MODEL, "--to", "99")
    assert never.returncode == 1
    assert never.stderr.strip() == (
        f"ame: logreg v99 was never served (served before: {', '.join('v' + v for v in served)}); "
        "deploy it with `ame model deploy logreg --version 99`"
    )
    same = qs.ame("model", "rollback", MODEL, "--to", before)
    assert same.returncode == 1 and f"logreg v{before} is already served" in same.stderr
    assert qs.flow_ids() == flows_before


def test_undeploy_flow_prints_its_record(qs: Project) -> None:
    done = qs.ame("model", "undeploy", MODEL, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["kind"] == "undeploy" and record["status"] == "succeeded"
    assert step(record, "undeploy")["result"]["was_served"] is True
    assert qs.model_status()["endpoint"] is None
    shown = qs.ame("flow", "show", record["id"])
    assert "undeploy  done" in shown.stdout and "logreg is no longer served" in shown.stdout
    assert not [line for line in processes_under(qs.root) if "models serve" in line]
    gone = history(qs)[0]
    assert (gone["event"], gone["to_version"]) == ("undeploy", None) and gone["from_version"]
