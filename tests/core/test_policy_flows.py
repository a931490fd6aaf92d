"""Flows refuse what a team policy forbids (issue 16), through the real `ame` command: the
same message as `ame lint`; `--ignore-policy` runs it and the MLflow run says so
(`ame.policy.ignored=true`, read back from the project's real MLflow server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = """\
project: gated
templates:
  - name: roomy
    resources:
      memory: 2Gi
tasks:
  - name: allowed
    executor: !custom
      command: python -c "print('allowed ran')"
    resources:
      memory: 100Mi
  - name: greedy
    fromTemplate: roomy
    executor: !custom
      command: python -c "print('greedy ran')"
models:
  - name: m
    training:
      task:
        taskRef: greedy
"""

POLICY = """\
properties:
  tasks:
    items:
      properties:
        resources:
          properties:
            memory:
              x-ame-maxQuantity: 1Gi
              x-ame-message: a task asks for at most 1Gi of memory
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("gated")
    (root / ".git").mkdir()
    (root / "ame.yml").write_text(PROJECT)
    (root / ".ame-policy").mkdir()
    (root / ".ame-policy" / "memory.yaml").write_text(POLICY)
    yield root
    from ame_core import tracking_server

    tracking_server.stop_all_under(root)


def _ame(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "AME_CONFIG_DIR": str(root / ".config"),
        "AME_CACHE_DIR": str(root / ".cache"),
    }
    for key in ("MLFLOW_TRACKING_URI", "AME_BACKEND", "AME_POLICY"):
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


MESSAGE = (
    "task 'greedy' (value from template 'roomy'): a task asks for at most 1Gi of memory "
    "[policy .ame-policy/memory.yaml]"
)


def test_lint_reports_what_the_flows_refuse(project: Path):
    lint = _ame(project, "lint", str(project / "ame.yml"))
    assert lint.returncode == 1
    assert f"ame.yml:5:15: error AME501 {MESSAGE}" in lint.stdout


def test_task_run_refused_with_lints_message(project: Path):
    refused = _ame(project, "task", "run", "greedy")
    assert refused.returncode != 0
    assert f"ame.yml:5:15: {MESSAGE}" in refused.stderr
    assert "--ignore-policy" in refused.stderr
    assert "greedy ran" not in refused.stdout
    assert len(refused.stderr.strip().splitlines()) == 1  # one line, no traceback


def test_task_the_policy_allows_runs(project: Path):
    run = _ame(project, "task", "run", "allowed")
    assert run.returncode == 0, run.stderr
    assert "allowed ran" in run.stdout


def test_ignore_policy_runs_and_is_recorded_on_the_mlflow_run(project: Path):
    run = _ame(project, "task", "run", "greedy", "--ignore-policy", "--json")
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout[run.stdout.index("{") :])
    assert record["status"] == "succeeded"
    from mlflow.tracking import MlflowClient

    from ame_core import tracking_server

    client = MlflowClient(tracking_uri=tracking_server.local_url(project))
    tags = client.get_run(record["mlflow_run_id"]).data.tags
    assert tags["ame.policy.ignored"] == "true"
    allowed = _ame(project, "runs", "--json")
    runs = json.loads(allowed.stdout)
    first = next(r for r in runs if r["task"] == "allowed")
    assert "ame.policy.ignored" not in client.get_run(first["mlflow_run_id"]).data.tags


def test_model_train_and_deploy_refused(project: Path):
    train = _ame(project, "model", "train", "m")
    assert train.returncode == 1
    assert MESSAGE in train.stderr and "forbids training model 'm'" in train.stderr
    deploy = _ame(project, "model", "deploy", "m")
    assert deploy.returncode == 1
    assert MESSAGE in deploy.stderr and "forbids deploying model 'm'" in deploy.stderr
