"""The serving runtime's metrics read from inside the cluster (a scheduled monitoring Job has
no kubectl to port-forward with): every running serving pod's /metrics, from its IP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from k8s_harness import NAMESPACE, Kubelet

from ame_core.monitoring.prometheus import serving_figures
from ame_core.net import free_port
from ame_core.runtime.backend import BackendError
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes.backend import KubernetesBackend

MODEL = "logreg"


def _metrics_text(success: int, failure: int) -> str:
    return (
        "# TYPE model_infer_request_success counter\n"
        f'model_infer_request_success_total{{model="{MODEL}",version=""}} {success}\n'
        "# TYPE model_infer_request_failure counter\n"
        f'model_infer_request_failure_total{{model="{MODEL}",version=""}} {failure}\n'
    )


@pytest.fixture
def metrics_servers() -> Iterator[list[int]]:
    """Two MLServer-like /metrics endpoints on 127.0.0.1, as two replicas' pods."""
    servers = []
    for success, failure in ((40, 2), (10, 0)):
        body = _metrics_text(success, failure).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self, body: bytes = body) -> None:  # noqa: N802 - http.server's name
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield [s.server_address[1] for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def _serve(cluster: Kubelet, ports: list[int], phases: list[str]) -> None:
    """The model's Deployment and its pods, as the controllers and kubelet would leave them."""
    name = n.model_name(MODEL)
    selector = {"app": name}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"selector": {"matchLabels": selector}, "template": {"metadata": {}}},
    }
    cluster.apps.create_namespaced_deployment(NAMESPACE, deployment, _preload_content=False)
    for index, (port, phase) in enumerate(zip(ports, phases, strict=True)):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"{name}-{index}", "namespace": NAMESPACE, "labels": selector},
            "spec": {
                "containers": [
                    {"name": "mlserver", "ports": [{"name": "metrics", "containerPort": port}]}
                ]
            },
        }
        cluster.core.create_namespaced_pod(NAMESPACE, pod, _preload_content=False)
        cluster.pod_status(f"{name}-{index}", {"phase": phase, "podIP": "127.0.0.1"})


def test_in_a_pod_the_metrics_of_every_running_replica_add_up(
    cluster: Kubelet,
    metrics_servers: list[int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")  # what a pod sees
    _serve(cluster, [*metrics_servers, free_port()], ["Running", "Running", "Pending"])
    figures = serving_figures(KubernetesBackend(tmp_path).access.serving_metrics(MODEL))
    assert figures["requests_total"] == 52 and figures["failures_total"] == 2


def test_in_a_pod_without_a_running_replica_the_reason_is_one_line(
    cluster: Kubelet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    _serve(cluster, [free_port()], ["Pending"])
    with pytest.raises(BackendError, match=r"deployment/\S+: no running pod to read metrics"):
        KubernetesBackend(tmp_path).access.serving_metrics(MODEL)


def test_a_model_nothing_serves_has_no_metrics(cluster: Kubelet, tmp_path: Path) -> None:
    assert KubernetesBackend(tmp_path).access.serving_metrics(MODEL) is None
