"""Helpers for the runtime tests (a uniquely named module: every test folder has a conftest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
VENV_BIN = str(Path(sys.executable).parent)


class Env:
    """The test project and helpers to drive `ame` against it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = root / "project"
        self.steps = root / "steps"
        self.pids = root / "pids"
        self.gpus = root / "gpus"
        for folder in (self.steps, self.pids, self.gpus):
            folder.mkdir()
        self.env = {
            **os.environ,
            "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "AME_CONFIG_DIR": str(root / "config"),
            "AME_CACHE_DIR": str(root / "cache"),
            "AME_FAKE_GPUS": "2",  # GPU admission is tested with a two-GPU inventory
            "STEPS_DIR": str(self.steps),
            "PIDS_DIR": str(self.pids),
            "GPU_DIR": str(self.gpus),
        }
        for key in (
            "MLFLOW_TRACKING_URI",
            "AME_BACKEND",
            "VAULT_ADDR",
            "VAULT_TOKEN",
            "MLFLOW_RUN_ID",
        ):
            self.env.pop(key, None)

    def ame(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(self.project), *args],
            input=input,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
        )

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "ame_cli", "--project", str(self.project), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **(env or {})},
        )

    def start(self, task: str, env: dict[str, str] | None = None) -> str:
        """`ame task run TASK --detach`; the run id."""
        result = self.ame("task", "run", task, "--detach", env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def record(self, run_id: str) -> dict:
        result = self.ame("runs", "--all", "--json")
        assert result.returncode == 0, result.stderr
        for item in json.loads(result.stdout):
            if item["id"] == run_id:
                return item
        raise AssertionError(f"run {run_id} not listed")

    def raw_record(self, run_id: str) -> dict:
        return json.loads((self.project / ".ame" / "runs" / f"{run_id}.json").read_text())

    def wait(self, run_id: str, timeout: float = 120, until: str = "finished") -> dict:
        deadline = time.monotonic() + timeout
        while True:
            record = self.record(run_id)
            done = record["status"] in ("succeeded", "failed", "cancelled")
            if (until == "finished" and done) or record["status"] == until:
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {record['status']} after {timeout}s")
            time.sleep(0.2)

    def log(self, run_id: str) -> str:
        return (self.project / ".ame" / "runs" / f"{run_id}.log").read_text()

    def wait_file(self, path: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} did not appear within {timeout}s")
            time.sleep(0.05)

    def mlflow_run(self, mlflow_run_id: str):
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri).get_run(mlflow_run_id)

    @property
    def tracking_uri(self) -> str:
        """The project's local MLflow server (its address; started by the first run)."""
        from ame_core import tracking_server

        return tracking_server.local_url(self.project)
