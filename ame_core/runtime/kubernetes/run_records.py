"""A run's record: the ConfigMap `ame-run-<id>` that outlives the run's Job.

One job: reading and writing records, making one from a Job alone (a scheduled run, or one
whose record is not written yet), and turning a record into the `RunRecord` callers see.
What a run's status is comes from elsewhere (runs.py); this module only stores and shapes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ame_core.runtime.backend import RunRecord, RunStatus
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import plans
from ame_core.runtime.kubernetes.objects import ClusterObjects
from ame_core.runtime.kubernetes.status import Observed, timestamp

Record = dict[str, Any]
Steps = dict[str, Any]


class RunRecords:
    """The record ConfigMaps of one namespace."""

    def __init__(self, objects: ClusterObjects) -> None:
        self.objects = objects

    def load(self, run_id: str) -> tuple[Record | None, Steps | None]:
        """(record data, stored step Jobs) or (None, None)."""
        obj = self.objects.read("ConfigMap", n.record_name(run_id))
        if obj is None:
            return None, None
        return from_configmap(obj)

    def save(self, data: Record, steps: Steps | None = None) -> None:
        self.objects.upsert(plans.record_object(self.objects.namespace, data, steps))

    def list(self, labels: dict[str, str]) -> list[tuple[Record, Steps | None]]:
        """The readable records that carry `labels` (others' half-written ones are left out)."""
        out = []
        for obj in self.objects.list("ConfigMap", {**labels, n.LABEL_RECORD: "true"}):
            data, steps = from_configmap(obj)
            if data is not None:
                out.append((data, steps))
        return out

    def has_run(self, run_id: str) -> bool:
        """A record or a Job of that name."""
        return self.objects.read("ConfigMap", n.record_name(run_id)) is not None or bool(
            self.objects.read("Job", run_id)
        )


def is_pipeline(data: Record, steps: Steps | None) -> bool:
    return data.get("kind") == "pipeline" or steps is not None


def from_configmap(obj: dict[str, Any]) -> tuple[Record | None, Steps | None]:
    raw = (obj.get("data") or {}).get("record.json")
    if not raw:
        return None, None
    try:
        data = json.loads(raw)
    except ValueError:
        return None, None
    steps_raw = (obj.get("data") or {}).get("steps.json")
    steps = None
    if steps_raw:
        try:
            steps = json.loads(steps_raw)
        except ValueError:
            steps = None
    return data, steps


def from_job(job: dict[str, Any]) -> Record:
    """A record from a Job alone (a scheduled run, or one whose record is not written yet)."""
    meta = job.get("metadata") or {}
    labels = meta.get("labels") or {}
    ann = meta.get("annotations") or {}
    name = meta.get("name", "")
    mlflow_run = ann.get(n.ANN_MLFLOW_RUN)
    return {
        "id": labels.get(n.LABEL_RUN_ID) or name,
        "project": ann.get(n.ANN_PROJECT) or labels.get(n.LABEL_PROJECT, ""),
        "task": ann.get(n.ANN_TASK) or labels.get(n.LABEL_TASK, ""),
        "kind": labels.get(n.LABEL_KIND)
        or ("scheduled" if labels.get(n.LABEL_SCHEDULE) else "task"),
        "created_at": timestamp(meta.get("creationTimestamp")) or time.time(),
        "mlflow_run_id": None if mlflow_run == m.PLACEHOLDER_RUN else mlflow_run,
        "mlflow_experiment_id": ann.get(n.ANN_MLFLOW_EXPERIMENT),
        "tracking_uri": None,
        "model_name": ann.get(n.ANN_MODEL),
        "model_version": ann.get(n.ANN_MODEL_VERSION),
        "parent_id": labels.get(n.LABEL_PARENT),
        "resources": job_resources(job),
        "job": name,
        "code": ann.get(n.ANN_CODE),
        "cancelled": False,
        "final": None,
    }


def step_record(
    pipeline: Record, run_id: str, job: dict[str, Any], mlflow_run_id: str, experiment_id: str
) -> Record:
    """The record of a pipeline's step whose Job was just created."""
    ann = job["metadata"].get("annotations") or {}
    labels = job["metadata"]["labels"]
    return {
        "id": run_id,
        "project": pipeline["project"],
        "task": ann.get(n.ANN_TASK) or run_id,
        "kind": labels.get(n.LABEL_KIND, "step"),
        "created_at": time.time(),
        "mlflow_run_id": mlflow_run_id,
        "mlflow_experiment_id": experiment_id,
        "tracking_uri": pipeline.get("tracking_uri"),
        "cluster_tracking_uri": pipeline.get("cluster_tracking_uri"),
        "project_dir": pipeline.get("project_dir"),
        "model_name": pipeline.get("model_name"),
        "model_version": pipeline.get("model_version"),
        "parent_id": pipeline["id"],
        "resources": job_resources(job),
        "job": run_id,
        "code": ann.get(n.ANN_CODE),
        "cancelled": False,
        "final": None,
    }


def job_resources(job: dict[str, Any]) -> dict[str, str]:
    containers = ((job.get("spec") or {}).get("template") or {}).get("spec", {}).get(
        "containers"
    ) or []
    for container in containers:
        if container.get("name") == m.TASK_CONTAINER:
            res = container.get("resources") or {}
            return {**(res.get("limits") or {}), **(res.get("requests") or {})}
    return {}


def finish(data: Record, seen: Observed, mlflow_ended: bool) -> None:
    """Write the final status into the record."""
    data["final"] = {
        "status": seen.status.value,
        "reason": seen.reason,
        "exit_code": seen.exit_code,
        "started_at": seen.started_at,
        "ended_at": seen.ended_at or time.time(),
        "mlflow_ended": mlflow_ended,
    }


def to_run_record(
    data: Record, seen: Observed | None, backend: str, namespace: str, context: str
) -> RunRecord:
    """What callers see of a record: its final status, or `seen` while it runs."""
    final = data.get("final") or {}
    if seen is None:
        status = RunStatus(final.get("status", RunStatus.FAILED.value))
        reason, exit_code = final.get("reason"), final.get("exit_code")
        started, ended = final.get("started_at"), final.get("ended_at")
    else:
        status, reason, exit_code = seen.status, seen.reason, seen.exit_code
        started, ended = seen.started_at, seen.ended_at
    steps = [run_id for group in data.get("steps") or [] for run_id in group]
    return RunRecord(
        id=data["id"],
        project=data.get("project") or "",
        task=data.get("task") or "",
        backend=backend,
        status=status,
        created_at=float(data.get("created_at") or 0.0),
        started_at=started,
        ended_at=ended,
        exit_code=exit_code,
        reason=reason,
        resources=dict(data.get("resources") or {}),
        mlflow_run_id=data.get("mlflow_run_id"),
        mlflow_experiment_id=data.get("mlflow_experiment_id"),
        parent_id=data.get("parent_id"),
        step_ids=steps,
        kind=data.get("kind") or "task",
        model_name=data.get("model_name"),
        model_version=data.get("model_version"),
        extra={
            "namespace": namespace,
            "context": context,
            "job": data.get("job"),
            "code": data.get("code"),
            # The flow and step that submitted the run: a resumed driver finds it again.
            "context_env": dict(data.get("context_env") or {}),
            "flow_id": data.get("flow_id"),
        },
    )
