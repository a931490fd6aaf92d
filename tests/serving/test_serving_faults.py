"""Local serving after a dead deployer, with real `mlflow models serve` processes: a deploy killed
with `kill -9` mid-start is finished (its server was ready) or rolled back (it was not) by the next
look, and `undeploy` leaves no server of the model alive, also ones no state file names.

The tests share one served model and run in file order: v1 served → a deployer of v2 killed,
v2 finished by a read → a deployer of v3 killed, rolled back by a read → a deployer of v3 killed,
then undeploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from serving_support import (
    ame_env,
    environ_of,
    http_ok,
    invocation_body,
    kill_9,
    kill_processes_under,
    pending_server,
    post_json,
    processes_under,
    start_deployer,
    wait_for,
)

from ame_core.runtime import procs
from ame_core.serving.local import SERVED_ENV, LocalServing

pytestmark = pytest.mark.slow

MODEL = "faulty"


@dataclass
class Served:
    root: Path
    project: Path
    uri: str
    env: dict[str, str]
    serving: LocalServing

    @property
    def state_path(self) -> Path:
        return self.serving.state_path(MODEL)

    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def model_processes(self) -> list[int]:
        return procs.env_members(SERVED_ENV, f"{self.project.resolve()}#{MODEL}")

    def model_status(self) -> dict:
        """`ame model status --json`, as the next process that looks."""
        out = subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(self.project),
             "--mlflow-uri", self.uri, "model", "status", MODEL, "--json"],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serving-faults")
    project = root / "project"
    project.mkdir()
    (project / "ame.yml").write_text(
        f"project: faults\nmodels:\n  - name: {MODEL}\n    deployment:\n      autoDeploy: false\n"
    )
    uri = f"sqlite:///{root / 'mlflow.db'}"
    env = ame_env(root, root / "cache")
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k in ("PATH", "MLFLOW_DISABLE_TELEMETRY")})
    # The registry in a process of its own: the test process never imports MLflow's store.
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import serving_support as s; s.register_versions({uri!r}, {MODEL!r}, 3)",
        ],
        cwd=Path(__file__).parent,
        env={**env, "PYTHONPATH": str(Path(__file__).parent)},
        check=True,
        timeout=300,
    )
    serving = LocalServing(project)
    try:
        serving.deploy(MODEL, "1", uri)
        yield Served(root, project, uri, env, serving)
    finally:
        serving.undeploy(MODEL)
        os.environ.clear()
        os.environ.update(saved)
    leaked = kill_processes_under(root)
    assert not leaked, f"processes left running: {leaked}"


def test_a_start_whose_deployer_died_is_finished_once_ready(served: Served) -> None:
    before = served.serving.endpoint(MODEL)
    assert before is not None and before.status.value == "ready" and before.version == "1"
    # Deployed from inside a task: the server must not carry the task's run variables.
    env = {**served.env, "AME_RUN_ID": "run-of-a-task", "MLFLOW_RUN_ID": "abc"}
    deployer = start_deployer(served.project, MODEL, "2", served.uri, env)
    server = pending_server(served.state_path)
    seen = environ_of(server["pid"])
    assert "AME_RUN_ID" not in seen and "MLFLOW_RUN_ID" not in seen
    assert seen[SERVED_ENV].endswith(f"#{MODEL}")
    assert served.state()["pending"]["deployer"]["pid"] == deployer.pid
    kill_9(deployer)  # after "deploying v2", before the switch
    # The orphan keeps starting; once it answers, the next look does what the deployer would.
    wait_for(lambda: http_ok(f"http://127.0.0.1:{server['port']}/ping"), "v2 to answer /ping")
    after = served.serving.endpoint(MODEL)
    assert after is not None
    assert after.version == "2" and after.status.value == "ready", after.detail
    assert after.extra["pid"] == server["pid"] and after.extra["pending_version"] is None
    assert after.url == before.url
    assert not procs.alive(before.extra["pid"]), "the old version's server still runs"
    assert post_json(f"{after.url}/invocations", invocation_body(2))[0] == 200
    # The deployer never moved the registry's `deployed` alias: the next status does.
    status = served.model_status()
    assert status["deployed"] == "2"
    aliased = {v["version"]: v["aliases"] for v in status["versions"]}
    assert aliased["2"] == ["deployed"] and "deployed" not in aliased["1"]
    assert served.model_status()["deployed"] == "2"  # recorded, not only shown


def test_a_start_whose_deployer_died_early_is_rolled_back(served: Served) -> None:
    deployer = start_deployer(served.project, MODEL, "3", served.uri, served.env)
    server = pending_server(served.state_path)
    kill_9(deployer)
    # Not ready yet and no deployer to wait for it: stopped; v2 keeps serving.
    listed = served.serving.list()
    assert [(e.model, e.version, e.status.value) for e in listed] == [(MODEL, "2", "ready")]
    assert "starting" not in (listed[0].detail or "")
    assert "pending" not in served.state()
    assert not procs.alive(server["pid"], server["start"])
    assert post_json(f"{listed[0].url}/invocations", invocation_body(2))[0] == 200


def test_undeploy_stops_a_start_whose_deployer_died(served: Served) -> None:
    deployer = start_deployer(served.project, MODEL, "3", served.uri, served.env)
    server = pending_server(served.state_path)
    kill_9(deployer)
    # And a process of the model that no state file names (its deployer died before saying).
    stray = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)"],
        env={**served.env, SERVED_ENV: f"{served.project.resolve()}#{MODEL}"},
        cwd=served.project,
        start_new_session=True,
    )
    assert served.serving.undeploy(MODEL) is True
    stray.wait(timeout=30)
    assert not served.state_path.exists()
    assert not procs.alive(server["pid"], server["start"])
    assert served.model_processes() == []
    wait_for(lambda: not processes_under(served.project), "the model's processes to exit", 30)
