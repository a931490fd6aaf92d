"""The registry and the REST client against the project's local server, with real MLflow:
versions (newest first, with their training run's metrics), verdict tags, the deployed alias,
the version a run registered, resolving by alias, and the one-line errors. No `mlflow` import
on these paths (checked in a fresh process)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from tracking_support import Project

from ame_core.mlflow_rest import MlflowRest, RestError, Unreachable
from ame_core.registry import Registry, RegistryError

MODEL = "reg_model"


@pytest.fixture(scope="module")
def registered(project: Project) -> dict[str, str]:
    """Three versions of MODEL, each registered by its own run with an accuracy; version → run."""
    from mlflow import MlflowClient

    from ame_core import tracking, tracking_server

    url = tracking_server.ensure(project.dir)
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    client.create_registered_model(MODEL)
    runs = {}
    for i, (accuracy, loss) in enumerate([(0.8, 0.5), (0.81, 0.49), (0.82, 0.48)]):
        run_id, _ = tracking.start_task_run(url, project.dir, "tracked", "train", f"r-{i}abcdef")
        client.log_metric(run_id, "accuracy", accuracy)
        client.log_metric(run_id, "loss", loss)
        tracking.end_run(url, run_id, "FINISHED", project_dir=project.dir)
        mv = client.create_model_version(MODEL, f"runs:/{run_id}/model", run_id=run_id)
        runs[str(mv.version)] = run_id
    return runs


def test_versions_newest_first_with_metrics(project: Project, registered) -> None:
    registry = Registry(tracking_uri_for(project))
    versions = registry.versions(MODEL)
    assert [v.version for v in versions] == ["3", "2", "1"]
    assert versions[0].run_id == registered["3"]
    assert versions[0].metrics == {"accuracy": 0.82, "loss": 0.48}
    assert versions[0].key_metrics(1) == {"accuracy": 0.82}
    assert versions[0].status == "READY" and versions[0].created_at > 1e9
    assert registry.versions("no_such_model") == []
    assert registry.model_exists(MODEL) and not registry.model_exists("no_such_model")
    assert registry.latest(MODEL).version == "3"
    assert MODEL in registry.registered_models()


def test_verdicts_aliases_and_resolving(project: Project, registered) -> None:
    registry = Registry(tracking_uri_for(project))
    verdict = registry.set_verdict(MODEL, "2", True, "run-2", registered["2"], reason=None)
    assert verdict.passed
    registry.set_verdict(MODEL, "3", False, "run-3", registered["3"], reason="accuracy 0.82 < 0.9")
    assert registry.verdict(MODEL, "2").passed
    failed = registry.verdict(MODEL, "3")
    assert failed.status == "failed" and failed.reason == "accuracy 0.82 < 0.9"
    assert failed.mlflow_run_id == registered["3"]
    assert registry.verdict(MODEL, "1") is None

    assert registry.deployed(MODEL) is None
    registry.set_deployed(MODEL, "2")
    assert registry.deployed(MODEL) == "2"
    assert registry.resolve(MODEL, alias="deployed") == "2"
    assert registry.resolve(MODEL) == "3" and registry.resolve(MODEL, version="1") == "1"
    assert registry.versions(MODEL)[1].aliases == ["deployed"]
    registry.clear_deployed(MODEL)
    registry.clear_deployed(MODEL)  # clearing twice is fine
    assert registry.deployed(MODEL) is None

    assert registry.version_for_run(MODEL, registered["1"]) == "1"
    assert registry.version_for_run(MODEL, "0" * 32) is None
    assert registry.version_for_run(MODEL, None) is None


def test_one_line_registry_errors(project: Project, registered) -> None:
    registry = Registry(tracking_uri_for(project))
    with pytest.raises(RegistryError, match=r"^reg_model has no version 9 \(versions: 1, 2, 3\)$"):
        registry.version(MODEL, "9")
    with pytest.raises(RegistryError, match="has no alias 'canary'"):
        registry.resolve(MODEL, alias="canary")
    # The aliases it has are named, with their versions (not the versions alone).
    registry.set_deployed(MODEL, "2", alias="champion")
    with pytest.raises(RegistryError, match=r"has no alias 'canary' \(aliases: .*champion → v2"):
        registry.resolve(MODEL, alias="canary")
    registry.clear_deployed(MODEL, alias="champion")
    with pytest.raises(RegistryError, match="has no registered versions yet"):
        registry.resolve("no_such_model")
    with pytest.raises(RegistryError, match="not both"):
        registry.resolve(MODEL, version="1", alias="x")


def test_rest_errors_name_the_endpoint_and_mlflow_s_error(project: Project, registered) -> None:
    api = MlflowRest(tracking_uri_for(project))
    with pytest.raises(RestError) as caught:
        api.get_model_version(MODEL, "42")
    error = caught.value
    assert error.status == 404 and error.error_code == "RESOURCE_DOES_NOT_EXIST" and error.not_found
    assert str(error).startswith("MLflow model-versions/get: HTTP 404: RESOURCE_DOES_NOT_EXIST: ")
    assert "\n" not in str(error)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unreachable, match=f"runs/get: no answer: .*127.0.0.1:{port}"):
        MlflowRest(f"http://127.0.0.1:{port}", timeout=2).get_run("x")
    # a remote (user-given) server is not restarted: one line, from the registry too
    with pytest.raises(RegistryError, match="MLflow is unreachable"):
        Registry(f"http://127.0.0.1:{port}").versions(MODEL)


def test_history_and_the_console_s_reads_need_no_mlflow(project: Project, registered) -> None:
    code = f"""
import json, sys
from pathlib import Path
from ame_core.registry import Registry
from ame_core.tracking import tracking_uri_for
from ame_tui.services import mlflow_data
uri = tracking_uri_for(Path({str(project.dir)!r}))
versions = Registry(uri).versions({MODEL!r})
data = mlflow_data.run_data(uri, versions[0].run_id)
print(json.dumps({{"v": [v.version for v in versions], "history": data.history,
                  "mlflow": "mlflow" in sys.modules}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=project.env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {
        "v": ["3", "2", "1"],
        "history": {"accuracy": [0.82], "loss": [0.48]},
        "mlflow": False,
    }


def tracking_uri_for(project: Project) -> str:
    from ame_core.tracking import tracking_uri_for as uri_for

    return uri_for(project.dir)
