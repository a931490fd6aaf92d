"""KServe InferenceServices in the cluster (`serving: kserve`, `triton`).

One job: the InferenceService objects of the backend's namespace — render one for a model
version (after the checks that need the registry and the cluster), apply, read, list and
delete them, and read the cluster's default deployment mode. What an InferenceService looks
like is inference_service.py's; a cluster without KServe, or a Role from before it, reads
as "none here".
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from ame_core.runtime.backend import BackendError, Endpoint, RunContext
from ame_core.runtime.kubernetes import inference_service as isvc
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import render
from ame_core.runtime.kubernetes.client import Conflict, Forbidden, KubeError
from ame_core.runtime.kubernetes.objects import APPLY_OPTIONS, unless_missing

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

# What the model's own Kubernetes objects are when `serving: mlflow` serves it.
MLFLOW_KINDS = ("Ingress", "Service", "Deployment")


class KServe:
    """The InferenceServices of the backend's namespace."""

    def __init__(self, backend: KubernetesBackend) -> None:
        self.backend = backend

    def call(self, verb: str, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """One call of the custom-objects API on InferenceServices (`method` of
        CustomObjectsApi; group and version filled in)."""
        from kubernetes import client

        kube = self.backend.kube
        fn = getattr(client.CustomObjectsApi(kube.api_client), method)
        return kube.call(verb, isvc.PLURAL, fn, isvc.GROUP, isvc.API_VERSION, *args, **kwargs)

    def render(
        self,
        model: str,
        version: str,
        context: RunContext,
        deployment: Any,
        traffic: int | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """The InferenceService of a version, after every check that needs the registry and
        the cluster; nothing is applied here. `traffic`: canaryTrafficPercent as given (100
        ends a canary: a field left out would be kept by a merge)."""
        from ame_core.runtime.kubernetes import model_facts, storage

        backend = self.backend
        serving = render.serving_kind(deployment)
        facts = model_facts.read_version(
            backend.tracking_uri or context.tracking_uri, model, version
        )
        uri = storage.storage_uri(facts.location, facts.what)
        plan = isvc.check_version(serving, facts, getattr(deployment, "image", None))
        percent = isvc.canary_percent(deployment)
        warnings = list(plan.warnings)
        canary = None
        if percent is not None:
            existing = self.read(n.model_name(model))
            served = ((existing or {}).get("metadata") or {}).get("annotations") or {}
            first = existing is None or served.get(n.ANN_MODEL_VERSION) == str(version)
            mode = isvc.mode_of(existing) or self.default_mode()
            canary, more = isvc.canary_decision(
                percent, mode, first, os.environ.get(isvc.CANARY_FALLBACK_ENV)
            )
            warnings += more
        if traffic is not None:
            canary = traffic
        spec = render.isvc_spec(
            context.project, model, version, deployment, backend.namespace, plan, uri, canary
        )
        return isvc.inference_service(spec), warnings

    def serve(self, rendered: tuple[dict[str, Any], list[str]]) -> Endpoint:
        """Apply an InferenceService `render` made (its warnings said); what `serving: mlflow`
        served before goes."""
        obj, warnings = rendered
        for line in warnings:
            print(f"ame: warning: {line}", file=sys.stderr)
        self.apply(obj)
        name = obj["metadata"]["name"]
        for kind in MLFLOW_KINDS:  # served by `mlflow` before
            self.backend.delete(kind, name)
        endpoint = self.endpoint(self.read(name) or obj)
        endpoint.extra["warnings"] = warnings
        return endpoint

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply; create when the object is new."""
        name = obj["metadata"]["name"]
        ns = obj["metadata"].get("namespace") or self.backend.namespace

        def apply_or_create() -> dict[str, Any]:
            applied = unless_missing(
                lambda: self.call(
                    "patch",
                    "patch_namespaced_custom_object",
                    ns,
                    isvc.PLURAL,
                    name,
                    obj,
                    name=name,
                    **APPLY_OPTIONS,
                )
            )
            if applied is not None:
                return applied
            try:
                return self.call(
                    "create", "create_namespaced_custom_object", ns, isvc.PLURAL, obj, name=name
                )
            except Conflict:  # created by someone else in between
                return self.apply(obj)

        applied = unless_missing(apply_or_create)
        if applied is None:  # no InferenceService API at all
            raise BackendError(
                f"the cluster has no InferenceService API ({isvc.GROUP}/{isvc.API_VERSION}): "
                "install KServe in it (ame cluster check tells), or use serving: mlflow"
            )
        return applied

    def read(self, name: str) -> dict[str, Any] | None:
        """The InferenceService; None when there is none, or no KServe at all."""
        ns = self.backend.namespace
        try:
            return unless_missing(
                lambda: self.call(
                    "get", "get_namespaced_custom_object", ns, isvc.PLURAL, name, name=name
                )
            )
        except Forbidden:  # a Role from before KServe support: not served by KServe here
            return None

    def list(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """The InferenceServices that carry `labels`; none where KServe is missing or may not
        be listed."""
        ns = self.backend.namespace
        try:
            data = unless_missing(
                lambda: self.call(
                    "list",
                    "list_namespaced_custom_object",
                    ns,
                    isvc.PLURAL,
                    label_selector=n.selector(labels),
                )
            )
        except Forbidden:
            return []
        return [item for item in (data or {}).get("items") or [] if n.matches(item, labels)]

    def delete(self, name: str) -> bool:
        """Delete the InferenceService; False when there was none."""
        ns = self.backend.namespace

        def call() -> bool:
            self.call("delete", "delete_namespaced_custom_object", ns, isvc.PLURAL, name, name=name)
            return True

        try:
            return unless_missing(call) or False
        except Forbidden:  # may not even look: it cannot have made one either
            return False

    def default_mode(self) -> str | None:
        """The cluster's default deployment mode (ConfigMap kserve/inferenceservice-config),
        or None where it cannot be read (ame's Role is namespaced: usually not)."""
        kube = self.backend.kube
        try:
            cm = kube.call(
                "get",
                "configmaps",
                kube.core.read_namespaced_config_map,
                isvc.CONFIG_NAME,
                isvc.CONFIG_NAMESPACE,
                name=isvc.CONFIG_NAME,
            )
        except KubeError:
            return None
        return isvc.mode_from_config(cm)

    def endpoint(self, obj: dict[str, Any]) -> Endpoint:
        backend = self.backend
        return isvc.endpoint(obj, backend.name, backend.namespace, backend.kube.context)
