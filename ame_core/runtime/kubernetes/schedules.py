"""`ame schedule apply|list|delete`: tasks with `triggers.schedule`, and models with
`monitoring.schedule`, as CronJobs.

`apply` makes the cluster match the project: a CronJob per scheduled task and per monitored
model (created or updated), and the project's CronJobs whose task or model lost its schedule
are deleted. The code of a schedule is uploaded once, to an MLflow run of its own (kind
`schedule`), at apply time. A model's monitoring is a flow (`monitor`: the built-in report,
then the model's own monitoring task): its CronJob runs a flow driver that records the flow
and drives it (manifests.scheduled_driver), with the code and ame shipped once at apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ame_core.flows.records import FlowRecord
from ame_core.runtime.backend import BackendError, RunContext
from ame_core.runtime.kubernetes import cluster_mlflow, render
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.scheduler import monitored_models


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


def monitoring_ship(
    backend: Any,
    context: RunContext,
    *,
    allow_dirty: bool = False,
    namespace: str | None = None,
    dry_run: bool = False,
) -> tuple[Any, FlowRecord, dict[str, Any]]:
    """What every monitoring CronJob's driver is given, shipped once (the project's code and,
    with no driver image, the ame wheel, in one MLflow run): (flow store, the record the
    drivers are rendered from, the shipment). `dry_run`: nothing uploaded."""
    from ame_core.runtime.kubernetes.flows import KubernetesFlowStore

    store = KubernetesFlowStore(backend, context.project, namespace=namespace)
    template = FlowRecord.new(
        n.schedule_name(context.project, "monitoring"),
        "monitor",
        context.project,
        "kubernetes",
        params={"allow_dirty": allow_dirty},
        origin={"project_dir": str(context.project_dir), "tracking_uri": context.tracking_uri},
    )
    return store, template, store.ship(template, dry_run=dry_run)


def render_monitor_cron_jobs(
    monitors: list[tuple[str, str]], store: Any, template: FlowRecord, ship: dict[str, Any]
) -> list[dict[str, Any]]:
    objects = []
    for model, schedule in monitors:
        name = n.schedule_name(template.project, f"monitor-{model}")
        spec = store.driver_spec(template, ship, attempt=1)
        objects.append(m.scheduled_driver(spec, ship, name, schedule, model=model))
    return objects


def render_cron_jobs(
    tasks: list[Any],
    context: RunContext,
    settings: Any,
    namespace: str,
    code: m.CodeSource,
    cluster_uri: str,
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
            settings,
            namespace=namespace,
            run_id=name,
            code=code,
            tracking_uri=cluster_uri,
            kind="scheduled",
        )
        objects.append(m.cron_job(run, name, resolved.task.triggers.schedule))
    return objects


def render_offline(
    analysis: Any, context: RunContext, settings: Any, namespace: str, *, allow_dirty: bool = False
) -> list[dict[str, Any]]:
    """The CronJobs `apply` would make, with no cluster and no MLflow (the dry run)."""
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

    cluster_uri = render.cluster_tracking_uri(context, settings, strict=False)
    code = m.CodeSource(kind="mlflow")
    tasks = scheduled_tasks(analysis)
    objects = render_cron_jobs(tasks, context, settings, namespace, code, cluster_uri)
    monitors = monitored_models(analysis.project) if analysis.project is not None else []
    if monitors:
        # A backend that never connects: the dry run only reads its settings.
        offline = KubernetesBackend(Path(context.project_dir), settings=settings)
        store, template, ship = monitoring_ship(
            offline, context, allow_dirty=allow_dirty, namespace=namespace, dry_run=True
        )
        objects += render_monitor_cron_jobs(monitors, store, template, ship)
    return objects


def apply(backend: Any, analysis: Any, context: RunContext, *, allow_dirty: bool = False):
    """Create or update the project's CronJobs (its scheduled tasks and monitored models);
    delete those no longer scheduled. Returns (applied names, deleted names)."""
    tasks = scheduled_tasks(analysis)
    monitors = monitored_models(analysis.project) if analysis.project is not None else []
    cluster_uri = render.cluster_tracking_uri(context, backend.settings, strict=True)
    code, archive = backend.code_source(Path(context.project_dir), allow_dirty)
    # Render first (errors lose nothing), then upload the code and apply.
    render_cron_jobs(tasks, context, backend.settings, backend.namespace, code, cluster_uri)
    objects: list[dict[str, Any]] = []
    if monitors:
        store, template, ship = monitoring_ship(backend, context, allow_dirty=allow_dirty)
        objects += render_monitor_cron_jobs(monitors, store, template, ship)
    applied: list[str] = []
    if tasks and archive is not None:
        mlflow_run, _ = cluster_mlflow.start_run(
            context, "schedules", n.run_name("schedules"), "schedule", None, backend.namespace
        )
        cluster_mlflow.upload_code(context.tracking_uri, mlflow_run, archive)
        cluster_mlflow.end_run(context.tracking_uri, mlflow_run, _finished())
        code.mlflow_run_id = mlflow_run
    for obj in (
        render_cron_jobs(tasks, context, backend.settings, backend.namespace, code, cluster_uri)
        + objects
    ):
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
    for obj in backend.objects.list("CronJob", n.base_labels(project)):
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
