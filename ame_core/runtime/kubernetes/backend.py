"""KubernetesBackend: the Backend interface on a cluster, composed of parts with one job each.

A task run is a Job (its name is the run id) plus a record ConfigMap (`ame-run-<id>`) that
outlives the Job (TTL clean-up, cancel), so any `ame` process finds every run by its labels.
A pipeline is a record whose `steps.json` holds every step's Job, carried on by a flow of
kind "pipeline" whose driver Job starts each next group (pipelines.py), so a pipeline goes on
with no client at all. Reads (`get_run`, `list_runs`) only compute status: they never create
or delete an object.

The parts, each the backend's public attribute for its siblings (schedules, flows, secrets,
cluster check) to use:

- `objects` (objects.py): create, apply, patch, delete, list, read any kind ame uses;
- `records` (run_records.py): the runs' record ConfigMaps;
- `runs` (runs.py): a run's status from its record, Job and pods, and its end written once;
- `pipelines` (pipelines.py): a pipeline's course, step group by step group;
- `logs` (logs.py): a run's log, read or followed;
- `serving` (serving.py), `kserve` (kserve.py), `access` (model_access.py): served models,
  their InferenceServices, and reaching them from this machine.

A run's MLflow bookkeeping is cluster_mlflow.py's (stateless: no part of its own).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ame_core.runtime.backend import (
    Backend,
    BackendError,
    Endpoint,
    LogChunk,
    RunContext,
    RunRecord,
    RunStatus,
)
from ame_core.runtime.kubernetes import cluster_mlflow, plans, render
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import run_records as records
from ame_core.runtime.kubernetes.client import Kube
from ame_core.runtime.kubernetes.logs import RunLogs
from ame_core.runtime.kubernetes.objects import ClusterObjects
from ame_core.runtime.kubernetes.pipelines import Pipelines
from ame_core.runtime.kubernetes.run_records import RunRecords
from ame_core.runtime.kubernetes.runs import Runs
from ame_core.runtime.kubernetes.settings import KubeSettings
from ame_core.runtime.kubernetes.status import Observed, observe

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.kserve import KServe
    from ame_core.runtime.kubernetes.model_access import ModelAccess
    from ame_core.runtime.kubernetes.serving import Serving


class KubernetesBackend(Backend):
    name = "kubernetes"
    serving_runtimes = ("mlflow", *render.KSERVE_SERVING)

    def __init__(
        self,
        project_dir: Path | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        kube: Kube | None = None,
        settings: KubeSettings | None = None,
        allow_dirty: bool = False,
        cluster_mlflow_uri: str | None = None,
        tracking_uri: str | None = None,
        **_options: Any,
    ) -> None:
        self.project_dir = Path(project_dir) if project_dir else None
        self.kube_context = context
        self.settings = settings or KubeSettings.from_env(cluster_mlflow_uri=cluster_mlflow_uri)
        self.allow_dirty = allow_dirty
        # The tracking URI this process reaches MLflow at (None: the one the submitter used).
        self.tracking_uri = tracking_uri
        # Set in a flow's driver: the flow it drives (it ends that flow itself).
        self.driving_flow: str | None = None
        self.objects = ClusterObjects(context, namespace, kube)
        self.records = RunRecords(self.objects)
        self.runs = Runs(self)
        self.pipelines = Pipelines(self)
        self.logs = RunLogs(self)

    # The serving parts are made on first use: runs never import them.

    @cached_property
    def serving(self) -> Serving:
        from ame_core.runtime.kubernetes.serving import Serving

        return Serving(self)

    @cached_property
    def kserve(self) -> KServe:
        from ame_core.runtime.kubernetes.kserve import KServe

        return KServe(self)

    @cached_property
    def access(self) -> ModelAccess:
        from ame_core.runtime.kubernetes.model_access import ModelAccess

        return ModelAccess(self)

    # --- connection -----------------------------------------------------------------------

    @property
    def kube(self) -> Kube:
        return self.objects.kube

    @property
    def namespace(self) -> str:
        return self.objects.namespace

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create, or update what exists (server-side apply; create when the object is new)."""
        return self.objects.apply(obj)

    def delete(self, kind: str, name: str, propagation: str = "Background") -> bool:
        return self.objects.delete(kind, name, propagation)

    # --- submitting -----------------------------------------------------------------------

    def code_source(
        self, project_dir: Path, allow_dirty: bool
    ) -> tuple[m.CodeSource, bytes | None]:
        """Where a Job gets the project's code (settings.code_source): a git commit, or an
        archive (returned, to upload into the run's MLflow run) fetched from MLflow."""
        from ame_core.runtime.kubernetes import code as code_mod

        if self.settings.code_source == "git":
            return code_mod.git_source(Path(project_dir), allow_dirty), None
        archive = code_mod.pack_project(Path(project_dir), self.settings.code_limit_bytes())
        return m.CodeSource(kind="mlflow"), archive

    def submit(self, task: Any, context: RunContext) -> RunRecord:
        cluster_uri = render.cluster_tracking_uri(context, self.settings, strict=True)
        allow_dirty = bool(getattr(context, "allow_dirty", False)) or self.allow_dirty
        code, archive = self.code_source(context.project_dir, allow_dirty)
        namespace = self.namespace
        planner = plans.plan_pipeline if task.is_pipeline else plans.plan_task

        def plan(**ids: Any) -> Any:
            return planner(
                task,
                context,
                self.settings,
                namespace=namespace,
                code=code,
                cluster_uri=cluster_uri,
                **ids,
            )

        # Render once before anything is created: a task that cannot run loses nothing.
        plan()
        run_id = n.run_name(task.name)
        kind = "pipeline" if task.is_pipeline else context.kind
        mlflow_run_id, experiment_id = cluster_mlflow.start_run(
            context, task.name, run_id, kind, None, namespace
        )
        try:
            if archive is not None:
                code.mlflow_run_id = mlflow_run_id
                cluster_mlflow.upload_code(context.tracking_uri, mlflow_run_id, archive)
            made = plan(
                run_id=run_id, mlflow_run_id=mlflow_run_id, mlflow_experiment_id=experiment_id
            )
            if task.is_pipeline:
                steps = {s.run_id: s.job for group in made.groups for s in group}
                self.objects.create(plans.record_object(namespace, made.record, steps))
                return self.pipelines.start(made, context, mlflow_run_id, allow_dirty)
            self.objects.create(made.job)
        except BackendError as exc:
            cluster_mlflow.end_run(context.tracking_uri, mlflow_run_id, RunStatus.FAILED, str(exc))
            raise
        self.records.save(made.record)
        return self.runs.to_record(made.record, Observed(RunStatus.QUEUED, "submitted"))

    # --- status ---------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        data, steps = self.records.load(run_id)
        if data is None:
            job = self.objects.read("Job", run_id)
            if job is None or not n.matches(job, {n.MANAGED_BY: n.MANAGED_BY_VALUE}):
                raise BackendError(
                    f"no run '{run_id}' in namespace '{self.namespace}' (context "
                    f"{self.kube.context}); `ame runs --backend kubernetes` lists them"
                )
            return self.runs.refresh(records.from_job(job), job, self.runs.pods(run_id))
        if records.is_pipeline(data, steps):
            return self.pipelines.refresh(data, steps or {}, act=False)
        if data.get("final"):
            return self.runs.to_record(data, None)
        job = self.objects.read("Job", data.get("job") or run_id)
        return self.runs.refresh(data, job, self.runs.pods(run_id))

    def list_runs(self, project: str | None = None) -> list[RunRecord]:
        labels = {n.MANAGED_BY: n.MANAGED_BY_VALUE}
        if project:
            labels[n.LABEL_PROJECT] = n.label_value(project)
        # Records first: a record's Job exists before it, so it is in the list that follows.
        stored = self.records.list(labels)
        # A flow's driver Job is no run (`ame flow list` shows flows).
        jobs = {
            j["metadata"]["name"]: j
            for j in self.objects.list("Job", labels)
            if (j["metadata"].get("labels") or {}).get(n.LABEL_COMPONENT) != n.COMPONENT_DRIVER
        }
        pods = self.runs.pods_by_run(labels, by_job=True)
        out: list[RunRecord] = []
        seen_jobs: set[str] = set()
        for data, steps in stored:
            job_name = data.get("job") or data["id"]
            seen_jobs.add(job_name)
            if records.is_pipeline(data, steps):
                out.append(self.pipelines.refresh(data, steps or {}, act=False))
            else:
                out.append(self.runs.refresh(data, jobs.get(job_name), pods.get(data["id"], [])))
        for name, job in jobs.items():
            if name in seen_jobs:
                continue
            data = records.from_job(job)
            # A Job without a record: started by a CronJob, or its record is being written.
            seen = observe(job, pods.get(data["id"], []) or pods.get(name, []))
            out.append(self.runs.to_record(data, seen))
        out.sort(key=lambda r: r.created_at, reverse=True)
        return out

    def advance_pipeline(self, run_id: str) -> RunRecord:
        """One round of a pipeline's driver (pipelines.Pipelines.advance)."""
        return self.pipelines.advance(run_id)

    # --- cancel ---------------------------------------------------------------------------

    def cancel(self, run_id: str) -> RunRecord:
        record = self.get_run(run_id)
        if record.status.finished:
            return record
        data, _ = self.records.load(run_id)
        if data is None:  # a Job without a record (a scheduled run)
            job = self.objects.read("Job", run_id) or {"metadata": {"name": run_id}}
            data = records.from_job(job)
        data["cancelled"] = True
        self.records.save(data)
        for step in record.step_ids:
            try:
                self.cancel(step)
            except BackendError:
                pass  # a step that is gone has nothing left to cancel
        if data.get("job"):
            self.delete("Job", data["job"], propagation="Foreground")
        if data.get("flow_id"):
            self.pipelines.stop_flow(data["flow_id"])
        now = time.time()
        self.runs.finalize(
            data,
            Observed(RunStatus.CANCELLED, "cancelled", record.exit_code, record.started_at, now),
            self.runs.pods(run_id) if data.get("kind") != "pipeline" else [],
        )
        return self.runs.to_record(data, None)

    # --- logs and waiting -----------------------------------------------------------------

    def read_logs(self, run_id: str, offset: int = 0, limit: int | None = None) -> LogChunk:
        return self.logs.read(run_id, offset, limit)

    # A read fetches the pod's (or the steps') whole log anyway: reading it in pieces would
    # fetch it once per piece.
    FOLLOW_CHUNK = None

    def follow_logs(
        self,
        run_id: str,
        offset: int = 0,
        poll: float = 0.5,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[LogChunk]:
        """Follow the pod's log as a stream (logs.RunLogs.follow)."""
        return self.logs.follow(run_id, offset, poll, stop)

    def wait(self, run_id: str, timeout: float | None = None, poll: float = 0.5) -> RunRecord:
        """Wait for the run to end, watching its pods (a watch that expires — 410 Gone — is
        re-listed and restarted transparently); pipelines are polled so they carry on."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.get_run(run_id)
            if record.status.finished:
                return record
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise BackendError(f"run {run_id} did not finish within {timeout:.0f} s")
            if record.kind == "pipeline" or record.step_ids:
                time.sleep(poll)
                continue
            self.runs.watch_pods(run_id, max(1, int(min(remaining or 30, 30))))

    # --- flows ----------------------------------------------------------------------------

    def flow_store(self) -> Any:
        from ame_core.runtime.kubernetes.flows import KubernetesFlowStore

        return KubernetesFlowStore(self)

    # --- model serving (serving.py, kserve.py, model_access.py) ---------------------------

    def render_deploy(
        self, model: str, version: str, context: RunContext, deployment: Any
    ) -> list[dict[str, Any]]:
        return self.serving.render_deploy(model, version, context, deployment)

    def deploy(self, model: str, version: str, context: RunContext, deployment: Any) -> Endpoint:
        return self.serving.deploy(model, version, context, deployment)

    def start_canary(
        self, model: str, version: str, context: RunContext, deployment: Any, percent: float
    ) -> Endpoint:
        return self.serving.start_canary(model, version, context, deployment, percent)

    def promote_canary(self, model: str, context: RunContext, deployment: Any) -> Endpoint:
        return self.serving.promote_canary(model, context, deployment)

    def abort_canary(
        self, model: str, context: RunContext, deployment: Any, previous: str
    ) -> Endpoint | None:
        return self.serving.abort_canary(model, context, deployment, previous)

    def undeploy(self, model: str, context: RunContext) -> None:
        self.serving.undeploy(model, context)

    def endpoint(self, model: str, context: RunContext) -> Endpoint | None:
        return self.serving.endpoint(model, context)

    def list_endpoints(self, context: RunContext) -> list[Endpoint]:
        return self.serving.list_endpoints(context)

    def port_forward(self, model: str) -> Any:
        """A local URL for the model's Service (the TUI's smoke request); see portforward."""
        return self.access.port_forward(model)

    def serving_metrics(self, model: str, context: RunContext) -> str | None:
        return self.access.serving_metrics(model)

    def open_url(
        self, model: str, context: RunContext | None = None
    ) -> AbstractContextManager[str]:
        """A URL of the model's server that works from this machine, for as long as the
        `with` block lasts: the ingress when there is one, else a port-forward."""
        return self.access.open_url(model)
