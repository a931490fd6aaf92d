"""Helpers for the tracking tests (a uniquely named module: every test folder has a conftest):
a never-used project, `ame` as a subprocess, the project's local MLflow server's processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = str(Path(sys.executable).parent)

PROJECT = """\
project: tracked
tasks:
  - name: hello
    executor: !custom
      command: python -c "print('hello')"
  - name: nap
    executor: !custom
      command: python -c "import time; time.sleep(6); print('rested')"
"""


class Project:
    """A project under a temp dir and helpers to drive `ame` against it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / "tracked"
        self.dir.mkdir(parents=True)
        (self.dir / "ame.yml").write_text(PROJECT)
        self.env = {
            **os.environ,
            "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "AME_CONFIG_DIR": str(root / "config"),
            "AME_CACHE_DIR": str(root / "cache"),
        }
        for key in ("MLFLOW_TRACKING_URI", "AME_BACKEND", "MLFLOW_RUN_ID", "AME_RUN_ID"):
            self.env.pop(key, None)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ame_cli", "--project", str(self.dir), *args]

    def ame(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    @property
    def state_file(self) -> Path:
        return self.dir / ".ame" / "mlflow-server.json"

    def state(self) -> dict:
        return json.loads(self.state_file.read_text())

    def records(self) -> list[dict]:
        """The run records as files (reading them through `ame runs` would reconcile them)."""
        folder = self.dir / ".ame" / "runs"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def record(self, run_id: str) -> dict:
        return json.loads((self.dir / ".ame" / "runs" / f"{run_id}.json").read_text())

    def wait_finished(self, run_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.record(run_id)
            if record["status"] in ("succeeded", "failed", "cancelled"):
                return record
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not finish: {self.record(run_id)}")


def server_processes(project_dir: Path) -> list[int]:
    """Live `mlflow server` processes on this project's store (the group leaders)."""
    store = str(project_dir.resolve() / ".ame" / "mlflow.db")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        words = [w.decode(errors="replace") for w in cmd]
        if state not in ("Z", "X") and "server" in words and any(store in w for w in words):
            found.append(int(entry.name))
    return found
