"""Runs against a real `mlflow server` (the REST path): `--mlflow-uri http://…`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_support import Env

from ame_core.net import free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--default-artifact-root",
            str(root / "artifacts"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.log", "wb"),  # noqa: SIM115
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((root / "server.log").read_text()[-2000:]) from None
            time.sleep(0.3)
    yield uri
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_runs_against_a_tracking_server(rt: Env, server: str) -> None:
    from mlflow.tracking import MlflowClient

    ok = rt.ame("--mlflow-uri", server, "task", "run", "hello")
    assert ok.returncode == 0, ok.stderr
    env = json.loads(next(x for x in ok.stdout.splitlines() if x.startswith("ENV "))[4:])
    assert env["MLFLOW_TRACKING_URI"] == server
    client = MlflowClient(tracking_uri=server)
    run = client.get_run(env["MLFLOW_RUN_ID"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["ame.run_id"] == env["AME_RUN_ID"]
    assert run.data.tags["ame.task"] == "hello"
    assert client.get_experiment(run.info.experiment_id).name == "rt"
    bad = rt.ame("--mlflow-uri", server, "task", "run", "fail3")
    assert bad.returncode == 3
    record = rt.record(bad.stderr.split()[1].rstrip(":"))
    assert client.get_run(record["mlflow_run_id"]).info.status == "FAILED"
