"""API failures: each a message a user can act on, or a transparent retry — never a traceback."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from k8s_harness import NAMESPACE, KmockServer, Kubelet, load_example, write_kubeconfig

from ame_core.net import free_port
from ame_core.runtime.backend import BackendError, RunContext, RunStatus
from ame_core.runtime.kubernetes.backend import KubernetesBackend
from ame_core.runtime.kubernetes.client import (
    Conflict,
    Forbidden,
    Gone,
    NamespaceNotFound,
    Unauthorized,
    Unreachable,
)


def _error(status: int, reason: str, message: str, details: dict | None = None):
    import kmock

    return kmock.KubernetesError(status=status, reason=reason, message=message, details=details)


def react(server: KmockServer, criteria: str, payload, times: int | None = None) -> None:
    def install() -> None:
        view = server.handler[criteria]
        if times is not None:
            view = view[:times]
        view << payload  # noqa: B015 - kmock's DSL installs the reaction

    server.call(install)


@pytest.fixture
def quickstart(tmp_path: Path, mlflow_uri: str):
    project, analysis = load_example("quickstart", tmp_path)
    context = RunContext(project_dir=project, project="quickstart", tracking_uri=mlflow_uri)
    return analysis, context


def test_401_says_to_log_in_again(cluster: Kubelet, kmock_server: KmockServer) -> None:
    react(
        kmock_server,
        "get /api/v1/namespaces/ame-test/configmaps",
        _error(401, "Unauthorized", "Unauthorized"),
    )
    with pytest.raises(Unauthorized) as info:
        KubernetesBackend().list_runs()
    assert "401 Unauthorized" in str(info.value)
    assert "log in again" in str(info.value)


def test_403_names_the_missing_permission(
    cluster: Kubelet, kmock_server: KmockServer, quickstart
) -> None:
    analysis, context = quickstart
    react(
        kmock_server,
        "post /apis/batch/v1/namespaces/ame-test/jobs",
        _error(
            403,
            "Forbidden",
            'jobs.batch is forbidden: User "dev" cannot create resource '
            '"jobs" in API group "batch" in the namespace "ame-test"',
        ),
    )
    with pytest.raises(Forbidden) as info:
        KubernetesBackend(context.project_dir).submit(
            analysis.resolver.resolve_by_name("train_logreg"), context
        )
    message = str(info.value)
    assert "'create' on 'jobs'" in message
    assert "namespace 'ame-test'" in message
    assert "deploy/rbac.yaml" in message
    # Nothing is lost: the MLflow run created for it says it failed, and why.
    from ame_core.tracking import client

    runs = client(context.tracking_uri).search_runs(
        [client(context.tracking_uri).get_experiment_by_name("quickstart").experiment_id]
    )
    assert [r.info.status for r in runs] == ["FAILED"]
    assert "permission denied" in runs[0].data.tags["ame.reason"]


def test_403_on_logs(cluster: Kubelet, kmock_server: KmockServer, quickstart) -> None:
    analysis, context = quickstart
    backend = KubernetesBackend(context.project_dir)
    record = backend.submit(analysis.resolver.resolve_by_name("train_logreg"), context)
    pod = cluster.pod_for(record.id)
    cluster.running(pod, record.id)
    react(
        kmock_server,
        f"get /api/v1/namespaces/ame-test/pods/{pod}/log",
        _error(403, "Forbidden", "pods/log is forbidden"),
    )
    with pytest.raises(Forbidden, match="'get' on 'pods/log'"):
        backend.read_logs(record.id)


def test_404_namespace(kmock_server: KmockServer, tmp_path: Path, monkeypatch) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", kmock_server.url, namespace="nope")
    monkeypatch.setenv("KUBECONFIG", str(path))
    react(
        kmock_server,
        "get /api/v1/namespaces/nope/configmaps",
        _error(
            404, "NotFound", 'namespaces "nope" not found', {"name": "nope", "kind": "namespaces"}
        ),
    )
    with pytest.raises(NamespaceNotFound) as info:
        KubernetesBackend().list_runs()
    assert "namespace 'nope' does not exist" in str(info.value)
    assert "kubectl create namespace nope" in str(info.value)


def test_409_conflict_is_a_clear_message_and_apply_recovers(cluster: Kubelet) -> None:
    from ame_core.runtime.kubernetes import secrets

    backend = KubernetesBackend()
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "taken", "namespace": NAMESPACE},
        "data": {"a": "1"},
    }
    backend.objects.create(obj)
    with pytest.raises(Conflict) as info:
        backend.objects.create(obj)
    assert "configmaps/taken already exists" in str(info.value)
    # Creating what exists is the normal case for apply (set a secret twice).
    secrets.set_secret("token", "one")
    secrets.set_secret("token", "two")
    assert secrets.list_secrets() == ["token"]


def test_409_a_step_started_by_another_process(
    cluster: Kubelet, tmp_path: Path, mlflow_uri: str
) -> None:
    """Two drivers carry a pipeline on at once (a resumed one and the one it replaced): the
    one that loses the race (409) steps back and deletes the MLflow run it had created."""
    project, analysis = load_example("pipeline", tmp_path)
    context = RunContext(project_dir=project, project="pipeline_demo", tracking_uri=mlflow_uri)
    backend = KubernetesBackend(project)
    record = backend.submit(analysis.resolver.resolve_by_name("full_pipeline"), context)
    first, a, b, _ = record.step_ids
    pod = cluster.pod_for(first)
    cluster.finished(pod, first)
    # Another process has already created step `a`'s Job (its record not written yet).
    import json

    cm = json.loads(
        cluster.core.read_namespaced_config_map(
            f"ame-run-{record.id}", NAMESPACE, _preload_content=False
        ).data
    )
    job_a = json.loads(cm["data"]["steps.json"])[a]
    cluster.batch.create_namespaced_job(NAMESPACE, job_a, _preload_content=False)

    assert backend.advance_pipeline(record.id).status is RunStatus.RUNNING
    names = [j["metadata"]["name"] for j in cluster.jobs()]
    assert names.count(a) == 1 and b in names
    from ame_core.tracking import client

    c = client(mlflow_uri)
    experiment = c.get_experiment_by_name("pipeline_demo").experiment_id
    step_runs = [r for r in c.search_runs([experiment]) if r.data.tags.get("ame.run_id") == a]
    assert step_runs == []  # the losing attempt's MLflow run was deleted


def test_api_unreachable(tmp_path: Path, monkeypatch) -> None:
    port = free_port()  # nothing listens there
    path = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(Unreachable) as info:
        KubernetesBackend().list_runs()
    assert f"cannot reach the Kubernetes API at http://127.0.0.1:{port}" in str(info.value)
    assert "context kmock" in str(info.value)


def test_no_kubeconfig(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(BackendError, match="no kubeconfig found"):
        KubernetesBackend().list_runs()


def test_410_gone_on_watch_is_retried(
    cluster: Kubelet, kmock_server: KmockServer, quickstart
) -> None:
    analysis, context = quickstart
    backend = KubernetesBackend(context.project_dir)
    record = backend.submit(analysis.resolver.resolve_by_name("train_logreg"), context)
    pod = cluster.pod_for(record.id)
    cluster.running(pod, record.id)
    gone = {
        "type": "ERROR",
        "object": {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": 410,
            "reason": "Expired",
            "message": "too old resource version: 1 (2)",
        },
    }
    import json

    # One event line, as the API server writes it, then the stream ends.
    react(kmock_server, "watch v1/pods", json.dumps(gone).encode() + b"\n", times=2)
    # The first expired watch, seen directly: the client layer says Gone...
    with pytest.raises(Gone):
        list(
            backend.kube.watch(
                "pods", backend.kube.core.list_namespaced_pod, 5, namespace=NAMESPACE
            )
        )
    # ...and wait() meets the second one, re-lists and watches again without a word.
    timer = threading.Timer(1.5, lambda: cluster.finished(pod, record.id))
    timer.start()
    try:
        final = backend.wait(record.id, timeout=120)
    finally:
        timer.cancel()
    assert final.status is RunStatus.SUCCEEDED
    watches = [r for r in kmock_server.handler if r.params.get("watch") == "true"]
    assert len(watches) >= 2  # the expired watch was followed by a fresh one


def test_port_forward_failure_is_a_clear_message(cluster: Kubelet) -> None:
    import shutil

    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed here")
    backend = KubernetesBackend()
    with pytest.raises(BackendError, match="kubectl port-forward to svc/ame-model-logreg"):
        backend.port_forward("logreg")


def test_unknown_context_and_in_cluster_without_a_service_account(
    kubeconfig: Path, tmp_path: Path, monkeypatch
) -> None:
    with pytest.raises(BackendError, match="cannot use the kubeconfig context 'nope'"):
        KubernetesBackend(context="nope").list_runs()
    # In a pod (KUBERNETES_SERVICE_HOST) with no kubeconfig: the service account is used.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(BackendError, match="service account cannot be used"):
        KubernetesBackend().list_runs()
