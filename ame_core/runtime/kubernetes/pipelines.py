"""A pipeline on the cluster: a record whose `steps.json` holds every step's Job.

One job: a pipeline's course. Its submit starts the first group and a flow of kind
"pipeline" whose driver Job calls `advance` until the end: start each next group's Jobs
(deterministic names: a second driver gets 409 and knows it is done), stop the rest of a group
whose step failed, record the end. A read only says what is so; a cancelled pipeline's flow
is cancelled too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ame_core.runtime.backend import BackendError, RunContext, RunRecord, RunStatus
from ame_core.runtime.kubernetes import cluster_mlflow, plans
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import run_records as records
from ame_core.runtime.kubernetes.client import Conflict
from ame_core.runtime.kubernetes.status import Observed

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend


def flow_fields(
    plan: plans.PipelinePlan,
    context: RunContext,
    code_mlflow_run: str,
    allow_dirty: bool,
    namespace: str,
    kube_context: str | None = None,
) -> dict[str, Any]:
    """What a pipeline's flow is recorded with (`control.start`, and the dry run's
    `FlowRecord.new`), but its id."""
    from ame_core.flows.records import FLOW_STEPS

    params, origin = plans.pipeline_flow(
        plan, context, code_mlflow_run, allow_dirty, namespace, kube_context
    )
    return {
        "kind": "pipeline",
        "project": context.project,
        "backend": "kubernetes",
        "task": plan.task,
        "params": params,
        "origin": origin,
        "steps": FLOW_STEPS["pipeline"],
    }


class Pipelines:
    """The pipelines of the backend's namespace."""

    def __init__(self, backend: KubernetesBackend) -> None:
        self.backend = backend

    def start(
        self,
        plan: plans.PipelinePlan,
        context: RunContext,
        mlflow_run_id: str,
        allow_dirty: bool,
    ) -> RunRecord:
        """Start the first group (a submit creates) and the pipeline's driver, which starts
        every later group; a pipeline whose driver cannot start is failed at once."""
        from ame_core.flows import control

        backend = self.backend
        data = plan.record
        fields = flow_fields(
            plan, context, mlflow_run_id, allow_dirty, backend.namespace, backend.kube_context
        )
        flow = control.start(backend.flow_store(), **fields)
        data["flow_id"] = flow.id
        if flow.status.finished:
            seen = Observed(RunStatus.FAILED, flow.reason or "its driver could not start")
            backend.runs.finalize(data, seen, [])
            raise BackendError(f"pipeline {plan.run_id}: {seen.reason}")
        backend.records.save(data)
        return self.advance(plan.run_id)

    def advance(self, run_id: str) -> RunRecord:
        """One round of a pipeline's driver: start the next group's Jobs, stop the rest of a
        group whose step failed, record the end. Idempotent; only drivers (and submit) call it."""
        data, steps = self.backend.records.load(run_id)
        if data is None:
            raise BackendError(f"no pipeline '{run_id}' in namespace '{self.backend.namespace}'")
        if not records.is_pipeline(data, steps):
            raise BackendError(f"run {run_id} is not a pipeline")
        return self.refresh(data, steps or {}, act=True)

    def refresh(self, data: records.Record, steps: records.Steps, *, act: bool) -> RunRecord:
        """The pipeline's status from its steps'. `act` (its driver): also start the next
        group, cancel the rest of a failed group and record the end; otherwise (a read) only
        say what is so."""
        runs = self.backend.runs
        if data.get("final"):
            return runs.to_record(data, None)
        states = self._step_states(data["id"])
        groups: list[list[str]] = data.get("steps") or []
        started = None
        for group in groups:
            for run_id in group:
                state = states.get(run_id)
                if state is not None and state.started_at:
                    started = min(started or state.started_at, state.started_at)
        if data.get("cancelled"):
            seen = Observed(RunStatus.CANCELLED, "cancelled", started_at=started)
            return self._end(data, seen, act)
        for index, group in enumerate(groups):
            group_states = {run_id: states.get(run_id) for run_id in group}
            bad = [
                (run_id, s)
                for run_id, s in group_states.items()
                if s is not None and s.status in (RunStatus.FAILED, RunStatus.CANCELLED)
            ]
            if bad:
                run_id, state = bad[0]
                # A failed step stops the pipeline and the rest of its group.
                for other, s in group_states.items():
                    if act and s is not None and not s.status.finished:
                        self.backend.cancel(other)
                task = (data.get("step_tasks") or {}).get(run_id, run_id)
                word = "was cancelled" if state.status is RunStatus.CANCELLED else "failed"
                why = f"step {task} ({run_id}) {word}" + (
                    f": {state.reason}" if state.reason else ""
                )
                seen = Observed(RunStatus.FAILED, why, started_at=started)
                return self._end(data, seen, act)
            if all(
                s is not None and s.status is RunStatus.SUCCEEDED for s in group_states.values()
            ):
                continue
            missing = [run_id for run_id, s in group_states.items() if s is None]
            if act:
                for run_id in missing:
                    self._start_step(data, run_id, steps.get(run_id))
            waiting = "" if act or not missing else " (starting: its driver starts the steps)"
            return runs.to_record(
                data,
                Observed(
                    RunStatus.RUNNING,
                    f"group {index + 1} of {len(groups)}: "
                    + ", ".join((data.get("step_tasks") or {}).get(r, r) for r in group)
                    + waiting,
                    started_at=started,
                ),
            )
        return self._end(data, Observed(RunStatus.SUCCEEDED, None, 0, started), act)

    def _end(self, data: records.Record, seen: Observed, act: bool) -> RunRecord:
        """The driver records the end (and ends the MLflow run); a read only reports it."""
        runs = self.backend.runs
        if act:
            runs.finalize(data, seen, [])
            return runs.to_record(data, None)
        seen.ended_at = seen.ended_at or time.time()
        return runs.to_record(data, seen)

    def _step_states(self, pipeline_id: str) -> dict[str, Observed]:
        backend = self.backend
        labels = {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.LABEL_PARENT: pipeline_id}
        stored = {data["id"]: data for data, _ in backend.records.list(labels)}
        jobs = {j["metadata"]["name"]: j for j in backend.objects.list("Job", labels)}
        pods = backend.runs.pods_by_run(labels)
        states: dict[str, Observed] = {}
        for run_id in set(stored) | set(jobs):
            data = stored.get(run_id) or records.from_job(jobs[run_id])
            record = backend.runs.refresh(data, jobs.get(run_id), pods.get(run_id, []))
            states[run_id] = Observed(
                record.status,
                record.reason,
                record.exit_code,
                record.started_at,
                record.ended_at,
            )
        return states

    def _start_step(
        self, pipeline: records.Record, run_id: str, job: dict[str, Any] | None
    ) -> None:
        if job is None:
            raise BackendError(f"pipeline {pipeline['id']}: no stored Job for step {run_id}")
        backend = self.backend
        ann = job["metadata"].get("annotations") or {}
        task = ann.get(n.ANN_TASK) or run_id
        context = RunContext(
            project_dir=Path(pipeline.get("project_dir") or "."),
            project=pipeline["project"],
            tracking_uri=pipeline.get("tracking_uri") or "",
        )
        uri = backend.runs.tracking_uri(pipeline) or context.tracking_uri
        context.tracking_uri = uri
        mlflow_run_id, experiment_id = cluster_mlflow.start_run(
            context, task, run_id, "step", pipeline.get("mlflow_run_id"), backend.namespace
        )
        filled = plans.with_mlflow_run(job, mlflow_run_id, experiment_id)
        try:
            backend.objects.create(filled)
        except Conflict:
            # Another process started this step first: drop our MLflow run.
            cluster_mlflow.drop_run(uri, mlflow_run_id)
            return
        except BackendError as exc:
            cluster_mlflow.end_run(uri, mlflow_run_id, RunStatus.FAILED, str(exc))
            raise
        backend.records.save(
            records.step_record(pipeline, run_id, job, mlflow_run_id, experiment_id)
        )

    def stop_flow(self, flow_id: str) -> None:
        """A cancelled pipeline's flow is cancelled too, and its driver Job deleted (unless
        this is that driver, which ends its flow itself)."""
        from ame_core.flows.records import FlowStatus, StepStatus
        from ame_core.flows.store import FlowError

        backend = self.backend
        if backend.driving_flow == flow_id:
            return
        store = backend.flow_store()

        def cancelled(record: Any) -> None:
            if record.status.finished:
                return
            for step in record.steps:
                if not step.status.finished:
                    step.status = StepStatus.CANCELLED
            record.status, record.reason = FlowStatus.CANCELLED, "cancelled by user"
            record.ended_at = time.time()
            record.event("flow cancelled: its pipeline was cancelled")

        try:
            record = store.update(flow_id, cancelled)
        except FlowError:
            return  # no such flow (any more): nothing to stop
        job = (record.driver or {}).get("job")
        if job:
            backend.delete("Job", job, propagation="Foreground")
