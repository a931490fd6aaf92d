"""Helpers for the serving tests: a tiny scikit-learn model registered as several versions in a
sqlite MLflow store (no training run: every version is the same artifact), the lifecycle tests'
process helpers, and a deployer in a subprocess that a test can `kill -9`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lifecycle"))

from lifecycle_support import (  # noqa: E402 - found through the path above
    ame_env,
    features,
    invocation_body,
    kill_processes_under,
    post_json,
    processes_under,
)

__all__ = [
    "ame_env",
    "invocation_body",
    "kill_processes_under",
    "post_json",
    "processes_under",
    "register_versions",
    "http_ok",
    "environ_of",
    "kill_9",
    "pending_server",
    "start_deployer",
    "wait_for",
]


def register_versions(uri: str, model: str, count: int) -> None:
    """`count` versions of `model`, all of one logged LogisticRegression."""
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    _, target = load_breast_cancer(return_X_y=True)
    frame = features()
    fitted = LogisticRegression(max_iter=200).fit(frame.values, target)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("serving-faults")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(
            fitted,
            name="model",
            signature=infer_signature(frame.head(), fitted.predict(frame.head().values)),
        )
    for _ in range(count):
        mlflow.register_model(f"runs:/{run.info.run_id}/model", model)


def start_deployer(
    project: Path, model: str, version: str, uri: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`LocalServing(project).deploy(model, version, uri)` in a process of its own."""
    code = (
        "import sys; from ame_core.serving.local import LocalServing; "
        "LocalServing(sys.argv[1]).deploy(sys.argv[2], sys.argv[3], sys.argv[4])"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(project), model, version, uri],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def pending_server(state_path: Path, timeout: float = 60.0) -> dict:
    """The starting server a deployer recorded in the model's state file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            state = {}
        server = (state.get("pending") or {}).get("server")
        if server and server.get("pid"):
            return server
        time.sleep(0.02)
    raise AssertionError(f"no starting server recorded in {state_path} within {timeout} s")


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(
        item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
    )


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def kill_9(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, 9)
    process.wait(timeout=30)


def http_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
