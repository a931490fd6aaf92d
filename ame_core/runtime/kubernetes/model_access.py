"""Reaching a model served in the cluster from this machine.

One job: a URL of the model's server that works here — its ingress, or a port-forward
(portforward.py) to its Service (KServe's predictor Service for an InferenceService) — and
MLServer's Prometheus metrics, read through a port-forward to its metrics port, or, in a pod
(a scheduled monitoring Job, which has no kubectl), from each serving pod's IP.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ame_core.runtime.backend import BackendError
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes.portforward import PortForward

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

METRICS_PORT = 8082  # MLServer's


class ModelAccess:
    """The served models of the backend's namespace, as seen from this machine."""

    def __init__(self, backend: KubernetesBackend) -> None:
        self.backend = backend

    def _served_by(self, model: str) -> tuple[str, bool]:
        """(the name of the model's Service and Deployment, whether anything serves it)."""
        backend = self.backend
        service = n.model_name(model)
        if backend.objects.read("Deployment", service) is not None:
            return service, True
        if backend.kserve.read(service) is not None:
            return f"{service}-predictor", True  # KServe's predictor Service and Deployment
        return service, False

    def port_forward(self, model: str) -> PortForward:
        """A local URL for the model's Service (the TUI's smoke request); see portforward."""
        service, _served = self._served_by(model)
        return PortForward.start(self.backend.kube, self.backend.kube_context, service)

    def serving_metrics(self, model: str) -> str | None:
        """MLServer's Prometheus text, through a port-forward to its metrics port (8082) on
        the model's pods; None for a runtime without one AME reads. In a pod, every running
        serving pod's text, read from its IP: the figures then add up over the replicas."""
        service, served = self._served_by(model)
        if not served:
            return None
        if os.environ.get("KUBERNETES_SERVICE_HOST"):  # in a pod: pod IPs are reachable
            return self._metrics_from_pods(service)
        target = f"deployment/{service}"
        with PortForward.start(
            self.backend.kube, self.backend.kube_context, service, target=target, port=METRICS_PORT
        ) as pf:
            return _read_metrics(f"{pf.url}/metrics", target, METRICS_PORT)

    def _metrics_from_pods(self, deployment: str) -> str:
        found = self.backend.objects.read("Deployment", deployment) or {}
        labels = ((found.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        pods = [
            pod
            for pod in (self.backend.objects.list("Pod", labels) if labels else [])
            if (pod.get("status") or {}).get("phase") == "Running"
            and (pod.get("status") or {}).get("podIP")
        ]
        if not pods:
            raise BackendError(f"deployment/{deployment}: no running pod to read metrics from")
        texts = []
        for pod in pods:
            name = (pod.get("metadata") or {}).get("name", "?")
            port = _metrics_port(pod)
            url = f"http://{pod['status']['podIP']}:{port}/metrics"
            texts.append(_read_metrics(url, f"pod/{name}", port))
        return "\n".join(texts)

    @contextmanager
    def open_url(self, model: str) -> Iterator[str]:
        """A URL of the model's server that works from this machine, for as long as the
        `with` block lasts: the ingress when there is one, else a port-forward."""
        backend = self.backend
        name = n.model_name(model)
        ingress = backend.objects.read("Ingress", name)
        if ingress is not None:
            deployment = backend.objects.read("Deployment", name) or {}
            yield backend.serving.deployment_endpoint(deployment, ingress).url or ""
            return
        with self.port_forward(model) as forward:
            yield forward.url


def _metrics_port(pod: dict[str, Any]) -> int:
    """The container port named `metrics`, else MLServer's default."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == "metrics" and port.get("containerPort"):
                return int(port["containerPort"])
    return METRICS_PORT


def _read_metrics(url: str, target: str, port: int) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http(s) only
            return response.read().decode("utf-8", "replace")
    except OSError as exc:
        raise BackendError(f"{target}: no metrics on port {port} ({exc})") from None
