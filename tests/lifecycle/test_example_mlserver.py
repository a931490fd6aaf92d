"""examples/mlserver_canary as a user runs it: `ame model train forest` on a copy trains,
validates and serves v1 with MLServer (nothing served yet: no canary), and the endpoint answers
V2 and `/invocations` with the version header. (The canary itself: tests/serving/test_canary.py.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from lifecycle_support import ame_env, invocation_body, kill_processes_under, shared_cache

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mlserver_canary"


def test_the_mlserver_example_trains_validates_and_serves(tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("example-mlserver")
    project = root / "mlserver_canary"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".ame"))
    env = ame_env(root, shared_cache(tmp_path_factory))

    def ame(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(project), *args],
            capture_output=True, text=True, env=env, timeout=900,
        )  # fmt: skip

    try:
        trained = ame("model", "train", "forest", "--quiet")
        assert trained.returncode == 0, trained.stderr
        assert "validation: passed" in trained.stdout
        done = ame("model", "status", "forest", "--json")
        assert done.returncode == 0, done.stderr
        status = json.loads(done.stdout)
        endpoint = status["endpoint"]
        assert status["deployed"] == "1" and endpoint["status"] == "ready"
        assert endpoint["extra"]["serving"] == "mlserver"
        health = status["health"]
        assert health["ping_ok"] and health["smoke_ok"] and health["protocol"] == "v2", health
        request = urllib.request.Request(
            f"{endpoint['url']}/invocations", data=invocation_body(2), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["AME-Model-Version"] == "1"
            assert len(json.loads(response.read())["predictions"]) == 2
        with urllib.request.urlopen(f"{endpoint['url']}/v2/health/ready", timeout=10) as ready:
            assert ready.status == 200
    finally:
        ame("model", "undeploy", "forest", "--quiet")
        ame("mlflow", "stop")
        leaked = kill_processes_under(root)
        assert not leaked, f"processes left running: {leaked}"
