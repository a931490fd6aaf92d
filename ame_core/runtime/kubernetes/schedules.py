"""`ame schedule apply|list|delete`: tasks with `triggers.schedule` as CronJobs.

`apply` makes the cluster match the project: a CronJob per scheduled task (created or
updated), and the project's CronJobs whose task lost its schedule are deleted. The code of a
schedule is uploaded once, to an MLflow run of its own (kind `schedule`), at apply time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ame_core.runtime.backend import BackendError, RunContext
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import render


@dataclass
class Schedule:
    name: str
    task: str
    schedule: str
    suspended: bool = False
    last_run: str | None = None
    active: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def scheduled_tasks(loaded_analysis: Any) -> list[Any]:
    """Resolved tasks of the project that have `triggers.schedule`."""
    out = []
    index = loaded_analysis.index
    for name in index.tasks:
        resolved = loaded_analysis.resolver.resolve_by_name(name)
        triggers = resolved.task.triggers
        if triggers is not None and triggers.schedule:
            out.append(resolved)
    return out


def render_cron_jobs(
    tasks: list[Any], context: RunContext, backend: Any, code: m.CodeSource, cluster_uri: str
) -> list[dict[str, Any]]:
    objects = []
    for resolved in tasks:
        if resolved.is_pipeline:
            raise BackendError(
                f"task {resolved.name}: scheduled pipelines are not supported on the kubernetes "
                "backend yet; schedule its steps, or run `ame schedule run` locally"
            )
        name = n.schedule_name(context.project, resolved.name)
        run = render.task_run(
            resolved,
            context,
            backend.settings,
            namespace=backend.namespace,
            run_id=name,
            code=code,
            tracking_uri=cluster_uri,
            kind="scheduled",
        )
        objects.append(m.cron_job(run, name, resolved.task.triggers.schedule))
    return objects


def apply(backend: Any, analysis: Any, context: RunContext, *, allow_dirty: bool = False):
    """Create or update the project's CronJobs; delete those of tasks no longer scheduled.
    Returns (applied names, deleted names)."""
    tasks = scheduled_tasks(analysis)
    cluster_uri = render.cluster_tracking_uri(context, backend.settings, strict=True)
    code, archive = backend._prepare_code(Path(context.project_dir), allow_dirty)
    # Render first (errors lose nothing), then upload the code and apply.
    render_cron_jobs(tasks, context, backend, code, cluster_uri)
    applied: list[str] = []
    if tasks and archive is not None:
        mlflow_run, _ = backend._start_mlflow(
            context, "schedules", n.run_name("schedules"), "schedule", parent=None
        )
        backend._upload_code(context.tracking_uri, mlflow_run, archive)
        backend._end_mlflow(context.tracking_uri, mlflow_run, _finished())
        code.mlflow_run_id = mlflow_run
    for obj in render_cron_jobs(tasks, context, backend, code, cluster_uri):
        backend.apply(obj)
        applied.append(obj["metadata"]["name"])
    deleted = []
    for existing in list_schedules(backend, context.project):
        if existing.name not in applied:
            backend.delete("CronJob", existing.name)
            deleted.append(existing.name)
    return applied, deleted


def _finished() -> Any:
    from ame_core.runtime.backend import RunStatus

    return RunStatus.SUCCEEDED


def list_schedules(backend: Any, project: str) -> list[Schedule]:
    out = []
    for obj in backend._list("CronJob", n.base_labels(project)):
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        out.append(
            Schedule(
                name=meta.get("name", ""),
                task=(meta.get("annotations") or {}).get(n.ANN_TASK, ""),
                schedule=spec.get("schedule", ""),
                suspended=bool(spec.get("suspend")),
                last_run=status.get("lastScheduleTime"),
                active=len(status.get("active") or []),
            )
        )
    return sorted(out, key=lambda s: s.name)


def delete(backend: Any, project: str, task: str | None = None) -> list[str]:
    """Delete the project's CronJobs (or the one of `task`)."""
    deleted = []
    for schedule in list_schedules(backend, project):
        if task is None or schedule.task == task:
            backend.delete("CronJob", schedule.name)
            deleted.append(schedule.name)
    return deleted
