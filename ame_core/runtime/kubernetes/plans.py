"""What a submission creates, before anything is created: the objects of one task run or of a
pipeline. The backend fills in the MLflow ids and applies them; the dry run prints them."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ame_core.runtime.backend import RunContext
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import render
from ame_core.runtime.kubernetes.settings import KubeSettings
from ame_core.uris import redact_uri


@dataclass
class TaskPlan:
    run_id: str
    task: str
    job: dict[str, Any]
    record: dict[str, Any]


@dataclass
class PipelinePlan:
    run_id: str
    task: str
    record: dict[str, Any]
    groups: list[list[TaskPlan]] = field(default_factory=list)


def pipeline_flow(
    plan: Any,
    context: Any,
    code_mlflow_run: str,
    allow_dirty: bool,
    namespace: str,
    kube_context: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params, origin) of a pipeline's flow: what its submit records and its dry run shows."""
    params = {"run_id": plan.run_id, "code_mlflow_run": code_mlflow_run, "allow_dirty": allow_dirty}
    origin = {
        "project_dir": str(context.project_dir),
        "tracking_uri": redact_uri(context.tracking_uri),
        "context": kube_context,
        "namespace": namespace,
    }
    return params, origin


def record_data(
    run: m.TaskRun, context: RunContext, cluster_uri: str, kind: str | None = None
) -> dict[str, Any]:
    return {
        "id": run.run_id,
        "project": run.project,
        "task": run.task,
        "kind": kind or run.kind,
        "created_at": time.time(),
        "mlflow_run_id": run.mlflow_run_id,
        "mlflow_experiment_id": run.mlflow_experiment_id,
        "tracking_uri": redact_uri(context.tracking_uri),
        "cluster_tracking_uri": redact_uri(cluster_uri),
        "project_dir": str(context.project_dir),
        "model_name": run.model_name,
        "model_version": run.model_version,
        "parent_id": run.parent_id,
        "resources": {k: str(v) for k, v in run.resources.items()},
        "job": run.run_id,
        "code": run.code.describe(),
        "cancelled": False,
        "final": None,
        # AME_FLOW_ID / AME_FLOW_STEP: the flow step that submitted the run, if any.
        "context_env": {k: v for k, v in (context.env or {}).items() if k.startswith("AME_FLOW_")},
    }


def plan_task(
    resolved: Any,
    context: RunContext,
    settings: KubeSettings,
    *,
    namespace: str,
    code: m.CodeSource,
    cluster_uri: str,
    run_id: str | None = None,
    mlflow_run_id: str | None = None,
    mlflow_experiment_id: str | None = None,
    parent_id: str | None = None,
    kind: str | None = None,
) -> TaskPlan:
    run_id = run_id or n.run_name(resolved.name)
    run = render.task_run(
        resolved,
        context,
        settings,
        namespace=namespace,
        run_id=run_id,
        code=code,
        tracking_uri=cluster_uri,
        mlflow_run_id=mlflow_run_id,
        mlflow_experiment_id=mlflow_experiment_id,
        parent_id=parent_id,
        kind=kind,
    )
    return TaskPlan(run_id, resolved.name, m.job(run), record_data(run, context, cluster_uri))


def plan_pipeline(
    resolved: Any,
    context: RunContext,
    settings: KubeSettings,
    *,
    namespace: str,
    code: m.CodeSource,
    cluster_uri: str,
    run_id: str | None = None,
    mlflow_run_id: str | None = None,
    mlflow_experiment_id: str | None = None,
) -> PipelinePlan:
    run_id = run_id or n.run_name(resolved.name)
    groups: list[list[TaskPlan]] = []
    index = 0
    for group in render.flatten_steps(resolved):
        planned = []
        for step in group:
            index += 1
            planned.append(
                plan_task(
                    step,
                    context,
                    settings,
                    namespace=namespace,
                    code=code,
                    cluster_uri=cluster_uri,
                    run_id=n.step_name(run_id, index, step.name),
                    parent_id=run_id,
                    kind="step",
                )
            )
        groups.append(planned)
    record = {
        "id": run_id,
        "project": context.project,
        "task": resolved.name,
        "kind": "pipeline" if context.kind == "task" else context.kind,
        "created_at": time.time(),
        "mlflow_run_id": mlflow_run_id,
        "mlflow_experiment_id": mlflow_experiment_id,
        "tracking_uri": redact_uri(context.tracking_uri),
        "cluster_tracking_uri": redact_uri(cluster_uri),
        "project_dir": str(context.project_dir),
        "model_name": context.model_name,
        "model_version": context.model_version,
        "parent_id": None,
        "resources": {},
        "job": None,
        "code": code.describe(),
        "cancelled": False,
        "final": None,
        "steps": [[step.run_id for step in group] for group in groups],
        "step_tasks": {step.run_id: step.task for group in groups for step in group},
    }
    return PipelinePlan(run_id, resolved.name, record, groups)


def record_labels(project: str, task: str, run_id: str, kind: str, parent: str | None):
    labels = {
        **n.base_labels(project),
        n.LABEL_TASK: n.label_value(task),
        n.LABEL_RUN_ID: run_id,
        n.LABEL_KIND: n.label_value(kind),
    }
    if parent:
        labels[n.LABEL_PARENT] = parent
    return labels


def record_object(namespace: str, data: dict[str, Any], steps: dict[str, Any] | None = None):
    labels = record_labels(
        data["project"], data["task"], data["id"], data["kind"], data.get("parent_id")
    )
    obj = m.run_record(data["id"], namespace, labels, data)
    if steps is not None:
        obj["data"]["steps.json"] = json.dumps(steps, sort_keys=True)
    return obj


def with_mlflow_run(job: dict[str, Any], mlflow_run_id: str, experiment_id: str | None):
    """A planned Job with its MLflow run filled in (annotation and MLFLOW_RUN_ID)."""
    job = copy.deepcopy(job)
    for meta in (job["metadata"], job["spec"]["template"]["metadata"]):
        meta["annotations"][n.ANN_MLFLOW_RUN] = mlflow_run_id
        if experiment_id:
            meta["annotations"][n.ANN_MLFLOW_EXPERIMENT] = experiment_id
    for container in job["spec"]["template"]["spec"]["containers"]:
        for entry in container.get("env") or []:
            if entry.get("name") == "MLFLOW_RUN_ID":
                entry["value"] = mlflow_run_id
    return job
