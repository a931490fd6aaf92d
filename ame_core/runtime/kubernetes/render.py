"""From a resolved task to the TaskRun a Job is built from; shared by the backend and the dry
run so both print and apply the same objects.

The command is the one the local backend runs: `executors.build_plan(..., for_container=True)`
(one builder for both backends), wrapped in `/bin/sh -c` with its set-up steps.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ame_core.runtime.backend import BackendError, RunContext
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes.settings import KubeSettings
from ame_core.uris import redact_uri


def container_command(resolved: Any, project_dir: Path) -> tuple[list[str], dict[str, str]]:
    """(argv, extra env) for the task container, from the shared executor builder."""
    from ame_core.runtime.executors import ExecutorError, build_plan

    try:
        plan = build_plan(resolved, project_dir, for_container=True)
    except ExecutorError as exc:
        raise BackendError(str(exc)) from None
    except ValueError as exc:
        raise BackendError(f"task {resolved.name}: {exc}") from None
    parts = ["set -e"]
    for step in plan.setup:
        parts.append(step if isinstance(step, str) else shlex.join(step))
    command = plan.command if isinstance(plan.command, str) else shlex.join(plan.command)
    parts.append(f"exec {command}")
    return ["/bin/sh", "-c", "\n".join(parts)], dict(plan.env)


def image_for(resolved: Any, settings: KubeSettings) -> str:
    executor = resolved.task.executor
    if executor is None:
        raise BackendError(f"task {resolved.name} has no executor")
    variant = executor.variant
    if getattr(variant, "image", None):
        return str(variant.image)
    return settings.image_for(executor.kind, getattr(variant, "python_version", None))


def is_local_only(uri: str) -> bool:
    """A tracking URI a pod cannot reach: a file or sqlite store, or this machine."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file", "sqlite"):
        return True
    return parsed.hostname in ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def cluster_tracking_uri(context: RunContext, settings: KubeSettings, strict: bool) -> str:
    """The MLflow URI the pods use; `strict` refuses one they cannot reach."""
    uri = settings.cluster_mlflow_uri or context.tracking_uri
    if strict and not settings.cluster_mlflow_uri and is_local_only(uri):
        raise BackendError(
            f"tasks in the cluster cannot reach the MLflow store {uri}: run an MLflow server "
            "the cluster can reach (deploy/mlflow.yaml) and point ame at it with --mlflow-uri, "
            "or set AME_CLUSTER_MLFLOW_URI to its in-cluster address "
            "(e.g. http://mlflow.ame.svc:5000)"
        )
    clean = redact_uri(uri)
    if clean != uri:
        if strict:
            raise BackendError(
                f"the MLflow URI for the pods ({clean}) carries a user name or password, which "
                "would be written into the Job: give the credentials as task secrets instead "
                "(e.g. `!ame {key: mlflow_token, injectAs: MLFLOW_TRACKING_TOKEN}`)"
            )
        return clean
    return uri


def task_env(
    resolved: Any,
    context: RunContext,
    *,
    run_id: str,
    tracking_uri: str,
    mlflow_run_id: str | None,
    plan_env: dict[str, str],
) -> list[dict[str, Any]]:
    """FORMAT.md "Runtime contract" in its order; secrets as secretKeyRef, never values."""
    from ame_core.tracking import runtime_env

    task = resolved.task
    environment = [(e.key, e.val) for e in (task.environment or [])]
    plain = runtime_env(
        project=context.project,
        task=resolved.name,
        ame_run_id=run_id,
        tracking_uri=tracking_uri,
        mlflow_run_id=mlflow_run_id or m.PLACEHOLDER_RUN,
        context_env={**plan_env, **dict(context.env)},
        environment=environment,
    )
    entries = [m.env_var(key, value) for key, value in plain.items()]
    for secret in task.secrets or []:
        variant = secret.variant
        if secret.vault is not None:
            raise BackendError(
                f"task {resolved.name}: !vault secrets are not read on the kubernetes backend "
                f"yet; store the value as a cluster secret (ame secret set {variant.key} "
                "--backend kubernetes) and use !ame"
            )
        entries.append(m.secret_env(variant.inject_as, variant.key))
    return m.dedupe_env(entries)


def task_run(
    resolved: Any,
    context: RunContext,
    settings: KubeSettings,
    *,
    namespace: str,
    run_id: str,
    code: m.CodeSource,
    tracking_uri: str,
    mlflow_run_id: str | None = None,
    mlflow_experiment_id: str | None = None,
    parent_id: str | None = None,
    kind: str | None = None,
) -> m.TaskRun:
    command, plan_env = container_command(resolved, context.project_dir)
    return m.TaskRun(
        run_id=run_id,
        project=context.project,
        task=resolved.name,
        namespace=namespace,
        image=image_for(resolved, settings),
        command=command,
        code=code,
        mlflow_image=settings.mlflow_image,
        git_image=settings.git_image,
        tracking_uri=tracking_uri,
        env=task_env(
            resolved,
            context,
            run_id=run_id,
            tracking_uri=tracking_uri,
            mlflow_run_id=mlflow_run_id,
            plan_env=plan_env,
        ),
        resources=dict(resolved.task.resources or {}),
        mlflow_run_id=mlflow_run_id,
        mlflow_experiment_id=mlflow_experiment_id,
        kind=kind or context.kind,
        model_name=context.model_name,
        model_version=context.model_version,
        parent_id=parent_id,
        ttl_seconds=settings.ttl_seconds,
        service_account=settings.service_account,
    )


def flatten_steps(resolved: Any) -> list[list[Any]]:
    """A pipeline as groups run in order; the steps of a group run in parallel. A step that
    is itself a pipeline is spliced in (its groups run in its place)."""
    groups: list[list[Any]] = []
    for step in resolved.steps:
        if isinstance(step, list):
            group: list[Any] = []
            for inner in _leaves(step):
                if inner.is_pipeline:
                    raise BackendError(
                        f"pipeline {resolved.name}: step {inner.name} is a pipeline inside a "
                        "parallel group, which the kubernetes backend does not run yet"
                    )
                group.append(inner)
            if group:
                groups.append(group)
        elif step.is_pipeline:
            groups.extend(flatten_steps(step))
        else:
            groups.append([step])
    return groups


def _leaves(steps: list[Any]) -> list[Any]:
    out: list[Any] = []
    for step in steps:
        out.extend(_leaves(step) if isinstance(step, list) else [step])
    return out


def serving_spec(
    project: str,
    model: str,
    version: str,
    deployment: Any,
    settings: KubeSettings,
    namespace: str,
    tracking_uri: str,
) -> m.ServingSpec:
    ingress = getattr(deployment, "ingress", None)
    serving = serving_kind(deployment)
    if serving != "mlflow":
        raise BackendError(
            f"serving '{serving}' is not served by a Deployment: use serving: mlflow"
        )
    return m.ServingSpec(
        project=project,
        model=model,
        version=str(version),
        namespace=namespace,
        image=getattr(deployment, "image", None) or settings.mlflow_image,
        tracking_uri=tracking_uri,
        replicas=int(getattr(deployment, "replicas", 1) or 1),
        resources=dict(getattr(deployment, "resources", None) or {}),
        ingress_host=getattr(ingress, "host", None) if ingress else None,
        ingress_path=getattr(ingress, "path", None) if ingress else None,
        ingress_annotations=dict(getattr(ingress, "annotations", None) or {}) if ingress else {},
        ingress_tls=bool(getattr(ingress, "tls", False)) if ingress else False,
    )


# --- serving: kserve / triton ---------------------------------------------------------------

KSERVE_SERVING = ("kserve", "triton")


def serving_kind(deployment: Any) -> str:
    serving = str(getattr(deployment, "serving", "mlflow") or "mlflow")
    if serving not in ("mlflow", *KSERVE_SERVING):
        raise BackendError(
            f"serving '{serving}' does not run on the kubernetes backend: use serving: mlflow, "
            "kserve or triton"
        )
    return serving


def isvc_spec(
    project: str,
    model: str,
    version: str,
    deployment: Any,
    namespace: str,
    plan: Any,
    storage_uri: str,
    canary: int | None,
) -> Any:
    from ame_core.runtime.kubernetes.inference_service import IsvcSpec

    return IsvcSpec(
        project=project,
        model=model,
        version=str(version),
        namespace=namespace,
        plan=plan,
        storage_uri=storage_uri,
        replicas=int(getattr(deployment, "replicas", 1) or 1),
        resources=dict(getattr(deployment, "resources", None) or {}),
        canary=canary,
    )


def dry_run_plan(serving: str, deployment: Any) -> Any:
    """The plan a deploy would make before the version is read: triton's model format (onnx,
    or triton for a model repository) and the start-up depend on the version's flavor."""
    from ame_core.runtime.kubernetes import inference_service as isvc

    runtime = isvc.RUNTIMES[serving]
    image = getattr(deployment, "image", None) or runtime.image
    if serving == "triton":
        command = isvc.triton_command("<model>", f"{isvc.MODELS_DIR}/model.onnx", "1/model.onnx")
        return isvc.Plan(runtime, image, "onnx", command)
    return isvc.Plan(runtime, image, "mlflow", isvc.mlserver_command())
