"""Opt-in: the quickstart on a real cluster (kind, k3d, or any other).

Runs only with AME_TEST_KUBECONFIG set; needs the cluster to reach an MLflow server:

    kubectl apply -f deploy/namespace.yaml && kubectl apply -f deploy/
    kubectl -n ame port-forward svc/mlflow 5000:5000 &
    AME_TEST_KUBECONFIG=~/.kube/config AME_TEST_NAMESPACE=ame \\
    AME_TEST_MLFLOW_URI=http://localhost:5000 \\
    AME_CLUSTER_MLFLOW_URI=http://mlflow.ame.svc:5000 \\
        .venv/bin/python -m pytest -m cluster tests/kubernetes/test_real_cluster.py

The images must be pullable by the cluster (python:3.11-slim, ghcr.io/mlflow/mlflow).
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not os.environ.get("AME_TEST_KUBECONFIG"),
        reason="needs a real cluster: set AME_TEST_KUBECONFIG (and AME_TEST_MLFLOW_URI, "
        "AME_CLUSTER_MLFLOW_URI); see the module docstring",
    ),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def real_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("KUBECONFIG", os.environ["AME_TEST_KUBECONFIG"])
    uri = os.environ.get("AME_TEST_MLFLOW_URI")
    if not uri or not os.environ.get("AME_CLUSTER_MLFLOW_URI"):
        pytest.skip("set AME_TEST_MLFLOW_URI and AME_CLUSTER_MLFLOW_URI for the real cluster")
    project = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", project, ignore=shutil.ignore_patterns(".ame"))
    return project, uri, os.environ.get("AME_TEST_NAMESPACE")


def test_cluster_check_passes(real_cluster) -> None:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend
    from ame_core.runtime.kubernetes.cluster_check import FAIL, run_checks

    _, uri, namespace = real_cluster
    checks = run_checks(
        KubernetesBackend(namespace=namespace), uri, os.environ["AME_CLUSTER_MLFLOW_URI"]
    )
    assert [c for c in checks if c.status == FAIL] == []


def test_quickstart_trains_validates_and_deploys(real_cluster) -> None:
    from ame_core.lifecycle import Lifecycle, load_project
    from ame_core.runtime.backend import EndpointStatus, RunStatus
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

    project, uri, namespace = real_cluster
    backend = KubernetesBackend(project, namespace=namespace)
    lifecycle = Lifecycle(load_project(project), backend, uri, run_timeout=1800)
    result = lifecycle.train("logreg")
    assert result.run.status is RunStatus.SUCCEEDED, result.run.reason
    assert result.version is not None
    context = lifecycle.context("deployment", "logreg")
    deadline = time.monotonic() + 900
    endpoint = backend.endpoint("logreg", context)
    while endpoint is not None and endpoint.status is not EndpointStatus.READY:
        assert time.monotonic() < deadline, endpoint.detail
        time.sleep(5)
        endpoint = backend.endpoint("logreg", context)
    assert endpoint is not None and endpoint.version == result.version
    with backend.port_forward("logreg") as forward:
        body = lifecycle.input_example("logreg", result.version)
        assert body, "the quickstart logs an input example with its model"
        request = urllib.request.Request(
            f"{forward.url}/invocations", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
    lifecycle.undeploy("logreg")
    assert backend.endpoint("logreg", context) is None
