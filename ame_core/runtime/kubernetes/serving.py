"""Serving a model version on the cluster, and what its endpoint is.

One job: a model's serving objects — `serving: mlflow` as a Deployment, Service and maybe
Ingress (a canary as a second Deployment under the same Service), KServe's runtimes as an
InferenceService (kserve.py) — deployed, switched between, undeployed, and read back as an
`Endpoint`. Reaching a served model from this machine is model_access.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ame_core.runtime.backend import BackendError, Endpoint, EndpointStatus, RunContext
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import render
from ame_core.runtime.kubernetes.kserve import MLFLOW_KINDS

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend


def by_kserve(deployment: Any) -> bool:
    return render.serving_kind(deployment) in render.KSERVE_SERVING


class Serving:
    """The served models of the backend's namespace."""

    def __init__(self, backend: KubernetesBackend) -> None:
        self.backend = backend

    def render_deploy(
        self, model: str, version: str, context: RunContext, deployment: Any
    ) -> list[dict[str, Any]]:
        backend = self.backend
        if by_kserve(deployment):
            obj, _warnings = backend.kserve.render(model, version, context, deployment)
            return [obj]
        uri = render.cluster_tracking_uri(context, backend.settings, strict=False)
        spec = render.serving_spec(
            context.project, model, version, deployment, backend.settings, backend.namespace, uri
        )
        return m.serving_objects(spec)

    def deploy(self, model: str, version: str, context: RunContext, deployment: Any) -> Endpoint:
        backend = self.backend
        if by_kserve(deployment):
            return backend.kserve.serve(backend.kserve.render(model, version, context, deployment))
        render.cluster_tracking_uri(context, backend.settings, strict=True)
        objects = self.render_deploy(model, version, context, deployment)
        for obj in objects:
            backend.apply(obj)
        name = n.model_name(model)
        if not any(obj["kind"] == "Ingress" for obj in objects):
            backend.delete("Ingress", name)
        backend.kserve.delete(name)  # served by KServe before: switched back
        backend.delete("Deployment", f"{name}-{m.CANARY_TRACK}")  # a replace ends one
        return self._endpoint_of(model, context)

    # --- canary: KServe's canaryTrafficPercent; the gate cannot be measured from here ------

    def start_canary(
        self, model: str, version: str, context: RunContext, deployment: Any, percent: float
    ) -> Endpoint:
        backend = self.backend
        if by_kserve(deployment):
            return backend.kserve.serve(backend.kserve.render(model, version, context, deployment))
        # `serving: mlflow`: a second Deployment under the model's Service, its share by the
        # ratio of pods (approximate: the Service spreads requests over ready pods).
        if backend.objects.read("Deployment", n.model_name(model)) is None:
            raise BackendError(
                f"{model}: a canary needs a served version to split requests with; deploy one "
                f"first (ame model deploy {model})"
            )
        uri = render.cluster_tracking_uri(context, backend.settings, strict=True)
        spec = render.serving_spec(
            context.project, model, version, deployment, backend.settings, backend.namespace, uri
        )
        canary = m.canary_deployment(spec, percent)
        backend.apply(canary)
        stable = int(spec.replicas)
        share = 100.0 * canary["spec"]["replicas"] / (stable + canary["spec"]["replicas"])
        endpoint = self._endpoint_of(model, context)
        endpoint.extra["canary"] = {
            "version": str(version),
            "percent": percent,
            "pods": canary["spec"]["replicas"],
            "approximate_percent": round(share, 1),
        }
        return endpoint

    def promote_canary(self, model: str, context: RunContext, deployment: Any) -> Endpoint:
        version = str(context.model_version)
        whole = deployment.model_copy(update={"rollout": None})
        if by_kserve(deployment):
            # Applied again with canaryTrafficPercent 100: the new revision takes all traffic.
            kserve = self.backend.kserve
            return kserve.serve(kserve.render(model, version, context, whole, traffic=100))
        # The stable Deployment rolls to the version (no gap: maxUnavailable 0); the canary's
        # pods go at once (its old-version pods serve until the new ones are ready).
        return self.deploy(model, version, context, whole)

    def abort_canary(
        self, model: str, context: RunContext, deployment: Any, previous: str
    ) -> Endpoint | None:
        whole = deployment.model_copy(update={"rollout": None})
        if by_kserve(deployment):
            kserve = self.backend.kserve
            return kserve.serve(kserve.render(model, previous, context, whole, traffic=100))
        self.backend.delete("Deployment", f"{n.model_name(model)}-{m.CANARY_TRACK}")
        return self.endpoint(model, context)

    def undeploy(self, model: str, context: RunContext) -> None:
        name = n.model_name(model)
        self.backend.delete("Deployment", f"{name}-{m.CANARY_TRACK}")
        for kind in MLFLOW_KINDS:
            self.backend.delete(kind, name)
        self.backend.kserve.delete(name)

    # --- endpoints ------------------------------------------------------------------------

    def endpoint(self, model: str, context: RunContext) -> Endpoint | None:
        backend = self.backend
        name = n.model_name(model)
        deployment = backend.objects.read("Deployment", name)
        if deployment is None:
            obj = backend.kserve.read(name)
            return None if obj is None else backend.kserve.endpoint(obj)
        return self.deployment_endpoint(deployment, backend.objects.read("Ingress", name))

    def _endpoint_of(self, model: str, context: RunContext) -> Endpoint:
        """The endpoint of a model just deployed (it has one)."""
        endpoint = self.endpoint(model, context)
        assert endpoint is not None
        return endpoint

    def list_endpoints(self, context: RunContext) -> list[Endpoint]:
        backend = self.backend
        labels = {**n.base_labels(context.project), n.LABEL_COMPONENT: "serving"}
        out = []
        for deployment in backend.objects.list("Deployment", labels):
            if (deployment["metadata"].get("labels") or {}).get(n.LABEL_TRACK):
                continue  # a canary: part of its model's endpoint
            ingress = backend.objects.read("Ingress", deployment["metadata"]["name"])
            out.append(self.deployment_endpoint(deployment, ingress))
        out.extend(backend.kserve.endpoint(obj) for obj in backend.kserve.list(labels))
        return out

    def deployment_endpoint(
        self, deployment: dict[str, Any], ingress: dict[str, Any] | None
    ) -> Endpoint:
        """The endpoint of a `serving: mlflow` Deployment: its rollout, and its URL (the
        ingress's when there is one, else the Service's in the cluster)."""
        namespace = self.backend.namespace
        meta = deployment.get("metadata") or {}
        ann = meta.get("annotations") or {}
        spec = deployment.get("spec") or {}
        status = deployment.get("status") or {}
        name = meta.get("name", "")
        wanted = int(spec.get("replicas") or 1)
        ready = int(status.get("readyReplicas") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        generation = meta.get("generation")
        observed = status.get("observedGeneration")
        current = generation is None or observed is None or observed >= generation
        conditions = {c.get("type"): c for c in status.get("conditions") or []}
        progressing = conditions.get("Progressing") or {}
        version = ann.get(n.ANN_MODEL_VERSION, "")
        rollout = (
            f"rollout of version {version}: {updated}/{wanted} updated, {ready}/{wanted} ready"
        )
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            state, detail = EndpointStatus.FAILED, f"{rollout}; {progressing.get('message')}"
        elif current and updated >= wanted and ready >= wanted and total <= wanted:
            state, detail = EndpointStatus.READY, f"{ready}/{wanted} replicas ready"
        else:
            state, detail = EndpointStatus.STARTING, rollout
        in_cluster = f"http://{name}.{namespace}.svc.cluster.local"
        url = in_cluster
        if ingress is not None:
            rule = ((ingress.get("spec") or {}).get("rules") or [{}])[0]
            paths = (rule.get("http") or {}).get("paths") or [{}]
            scheme = "https" if (ingress.get("spec") or {}).get("tls") else "http"
            path = paths[0].get("path") or "/"
            url = f"{scheme}://{rule.get('host')}{path.rstrip('/')}"
        return Endpoint(
            model=ann.get(n.ANN_MODEL, name),
            version=version,
            backend=self.backend.name,
            status=state,
            url=url,
            replicas=wanted,
            ready_replicas=ready,
            detail=detail,
            extra={
                "namespace": namespace,
                "context": self.backend.kube.context,
                "deployment": name,
                "service": name,
                "updated_replicas": updated,
                "port_forward": f"kubectl -n {namespace} port-forward svc/{name} 8080:80",
                "in_cluster_url": in_cluster,
            },
        )
