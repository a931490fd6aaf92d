"""Reaching a model served in the cluster from this machine.

One job: a URL of the model's server that works here — its ingress, or a port-forward
(portforward.py) to its Service (KServe's predictor Service for an InferenceService) — and
MLServer's Prometheus metrics, read through a port-forward to its metrics port.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

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
        the model's pods; None for a runtime without one AME reads."""
        import urllib.request

        service, served = self._served_by(model)
        if not served:
            return None
        target = f"deployment/{service}"
        with PortForward.start(
            self.backend.kube, self.backend.kube_context, service, target=target, port=METRICS_PORT
        ) as pf:
            try:
                with urllib.request.urlopen(f"{pf.url}/metrics", timeout=10) as response:  # noqa: S310
                    return response.read().decode("utf-8", "replace")
            except OSError as exc:
                raise BackendError(f"{target}: no metrics on port {METRICS_PORT} ({exc})") from None

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
