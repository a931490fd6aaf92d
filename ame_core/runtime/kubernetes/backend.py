"""KubernetesBackend: the Backend interface on a cluster.

A task run is a Job (its name is the run id) plus a record ConfigMap (`ame-run-<id>`) that
outlives the Job (TTL clean-up, cancel), so any `ame` process finds every run by its labels.
A pipeline is a record whose `steps.json` holds every step's Job, carried on by a flow of
kind "pipeline" whose driver Job (ame_core.runtime.kubernetes.flows) starts each next group
(`advance_pipeline`; deterministic names: a second driver gets 409 and knows it is done), so a
pipeline goes on with no client at all. Reads (`get_run`, `list_runs`) only compute status:
they never create or delete an object.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ame_core.runtime.backend import (
    Backend,
    BackendError,
    Endpoint,
    EndpointStatus,
    LogChunk,
    RunContext,
    RunRecord,
    RunStatus,
)
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import plans, render
from ame_core.runtime.kubernetes.client import (
    Conflict,
    Forbidden,
    Gone,
    Kube,
    KubeError,
    NotFound,
    connect,
)
from ame_core.runtime.kubernetes.settings import KubeSettings
from ame_core.runtime.kubernetes.status import Observed, observe

MLFLOW_STATUS = {
    RunStatus.SUCCEEDED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELLED: "KILLED",
}
LOG_ARTIFACT = "ame/log.txt"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


# kind → (client attribute, method stem, resource): one table for every verb ame uses.
_KINDS: dict[str, tuple[str, str, str]] = {
    "Job": ("batch", "job", "jobs"),
    "CronJob": ("batch", "cron_job", "cronjobs"),
    "Pod": ("core", "pod", "pods"),
    "ConfigMap": ("core", "config_map", "configmaps"),
    "Secret": ("core", "secret", "secrets"),
    "Service": ("core", "service", "services"),
    "Deployment": ("apps", "deployment", "deployments"),
    "Ingress": ("networking", "ingress", "ingresses"),
}


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
        self._namespace = namespace
        self._kube = kube
        self.settings = settings or KubeSettings.from_env(cluster_mlflow_uri=cluster_mlflow_uri)
        self.allow_dirty = allow_dirty
        # The tracking URI this process reaches MLflow at (None: the one the submitter used).
        self.tracking_uri = tracking_uri
        # Set in a flow's driver: the flow it drives (it ends that flow itself).
        self.driving_flow: str | None = None

    # --- connection -----------------------------------------------------------------------

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            self._kube = connect(self.kube_context, self._namespace)
        return self._kube

    @property
    def namespace(self) -> str:
        return self.kube.namespace

    def _create(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace") or self.namespace
        fn, resource = self._api("create", kind)
        return self.kube.call("create", resource, fn, ns, obj, name=obj["metadata"]["name"])

    def _api(self, verb: str, kind: str):
        """The client method for `verb` on `kind` (`create` + Job → create_namespaced_job) and
        the resource name that error messages and permission checks use."""
        api, stem, resource = _KINDS[kind]
        return getattr(getattr(self.kube, api), f"{verb}_namespaced_{stem}"), resource

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create, or update what exists (server-side apply; create when the object is new)."""
        name = obj["metadata"]["name"]
        ns = obj["metadata"].get("namespace") or self.namespace
        fn, resource = self._api("patch", obj["kind"])

        def server_side_apply() -> dict[str, Any]:
            return self.kube.call(
                "patch",
                resource,
                fn,
                name,
                ns,
                obj,
                name=name,
                field_manager="ame",
                force=True,
                _content_type="application/apply-patch+yaml",
            )

        try:
            return server_side_apply()
        except NotFound as exc:
            if type(exc) is not NotFound:  # the namespace itself is missing
                raise
        try:
            return self._create(obj)
        except Conflict:  # created by someone else in between
            return server_side_apply()

    def delete(self, kind: str, name: str, propagation: str = "Background") -> bool:
        fn, resource = self._api("delete", kind)
        try:
            self.kube.call(
                "delete",
                resource,
                fn,
                name,
                self.namespace,
                name=name,
                body={"propagationPolicy": propagation},
            )
            return True
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
            return False

    def _list(self, kind: str, labels: dict[str, str]) -> list[dict[str, Any]]:
        fn, resource = self._api("list", kind)
        data = self.kube.call(
            "list", resource, fn, self.namespace, label_selector=n.selector(labels)
        )
        return [item for item in data.get("items") or [] if n.matches(item, labels)]

    def _read(self, kind: str, name: str) -> dict[str, Any] | None:
        fn, resource = self._api("read", kind)
        try:
            return self.kube.call("get", resource, fn, name, self.namespace, name=name)
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
            return None

    # --- submitting -----------------------------------------------------------------------

    def submit(self, task: Any, context: RunContext) -> RunRecord:
        cluster_uri = render.cluster_tracking_uri(context, self.settings, strict=True)
        allow_dirty = bool(getattr(context, "allow_dirty", False)) or self.allow_dirty
        code, archive = self._prepare_code(context.project_dir, allow_dirty)
        namespace = self.namespace
        # Render once before anything is created: a task that cannot run loses nothing.
        if task.is_pipeline:
            plans.plan_pipeline(
                task,
                context,
                self.settings,
                namespace=namespace,
                code=code,
                cluster_uri=cluster_uri,
            )
        else:
            plans.plan_task(
                task,
                context,
                self.settings,
                namespace=namespace,
                code=code,
                cluster_uri=cluster_uri,
            )
        run_id = n.run_name(task.name)
        mlflow_run_id, experiment_id = self._start_mlflow(
            context,
            task.name,
            run_id,
            "pipeline" if task.is_pipeline else context.kind,
            parent=None,
        )
        try:
            if archive is not None:
                code.mlflow_run_id = mlflow_run_id
                self._upload_code(context.tracking_uri, mlflow_run_id, archive)
            planner = plans.plan_pipeline if task.is_pipeline else plans.plan_task
            plan = planner(
                task,
                context,
                self.settings,
                namespace=namespace,
                code=code,
                cluster_uri=cluster_uri,
                run_id=run_id,
                mlflow_run_id=mlflow_run_id,
                mlflow_experiment_id=experiment_id,
            )
            if task.is_pipeline:
                steps = {s.run_id: s.job for group in plan.groups for s in group}
                self._create(plans.record_object(namespace, plan.record, steps))
                return self._start_pipeline(plan, context, mlflow_run_id, allow_dirty)
            self._create(plan.job)
        except BackendError as exc:
            self._end_mlflow(context.tracking_uri, mlflow_run_id, RunStatus.FAILED, str(exc))
            raise
        self._save_record(plan.record)
        return self._to_record(plan.record, Observed(RunStatus.QUEUED, "submitted"))

    def _start_pipeline(
        self, plan: plans.PipelinePlan, context: RunContext, mlflow_run_id: str, allow_dirty: bool
    ) -> RunRecord:
        """Start the first group (a submit creates) and the pipeline's driver, which starts
        every later group; a pipeline whose driver cannot start is failed at once."""
        from ame_core.flows import control
        from ame_core.flows.records import FLOW_STEPS

        data = plan.record
        params, origin = plans.pipeline_flow(
            plan, context, mlflow_run_id, allow_dirty, self.namespace, self.kube_context
        )
        flow = control.start(
            self.flow_store(),
            "pipeline",
            context.project,
            self.name,
            task=plan.task,
            params=params,
            origin=origin,
            steps=FLOW_STEPS["pipeline"],
        )
        data["flow_id"] = flow.id
        if flow.status.finished:
            seen = Observed(RunStatus.FAILED, flow.reason or "its driver could not start")
            self._finalize(data, seen, [])
            raise BackendError(f"pipeline {plan.run_id}: {seen.reason}")
        self._save_record(data)
        return self.advance_pipeline(plan.run_id)

    def _prepare_code(
        self, project_dir: Path, allow_dirty: bool
    ) -> tuple[m.CodeSource, bytes | None]:
        from ame_core.runtime.kubernetes import code as code_mod

        if self.settings.code_source == "git":
            return code_mod.git_source(Path(project_dir), allow_dirty), None
        archive = code_mod.pack_project(Path(project_dir), self.settings.code_limit_bytes())
        return m.CodeSource(kind="mlflow"), archive

    def _start_mlflow(
        self, context: RunContext, task: str, run_id: str, kind: str, parent: str | None
    ) -> tuple[str, str]:
        from ame_core.tracking import TrackingError, start_task_run

        try:
            return start_task_run(
                context.tracking_uri,
                Path(context.project_dir),
                context.project,
                task,
                run_id,
                kind=kind,
                parent_run_id=parent,
                tags={"ame.backend": "kubernetes", "ame.namespace": self.namespace, **context.tags},
            )
        except TrackingError as exc:
            raise BackendError(str(exc)) from None

    def _upload_code(self, uri: str, mlflow_run_id: str, archive: bytes) -> None:
        from ame_core.tracking import client

        with tempfile.TemporaryDirectory(prefix="ame-code-") as tmp:
            path = Path(tmp) / "code.tar.gz"
            path.write_bytes(archive)
            try:
                client(uri).log_artifact(mlflow_run_id, str(path), m.CODE_ARTIFACT_DIR)
            except Exception as exc:
                raise BackendError(
                    f"uploading the project's code to MLflow ({uri}) failed: {exc}"
                ) from None

    def _end_mlflow(
        self, uri: str | None, run_id: str | None, status: RunStatus, why: str = ""
    ) -> bool:
        """End the MLflow run like the task; False when MLflow could not be told (the record
        says so, and the next look tries again)."""
        if not uri or not run_id or status not in MLFLOW_STATUS:
            return True
        from ame_core.tracking import client

        try:
            c = client(uri)
            if why:
                c.set_tag(run_id, "ame.reason", why[:4000])
            c.set_terminated(run_id, status=MLFLOW_STATUS[status])
            return True
        except Exception:
            return False

    # --- records --------------------------------------------------------------------------

    def _load_record(self, run_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(record data, stored step Jobs) or (None, None)."""
        obj = self._read("ConfigMap", n.record_name(run_id))
        if obj is None:
            return None, None
        return _record_from_configmap(obj)

    def _save_record(self, data: dict[str, Any], steps: dict[str, Any] | None = None) -> None:
        obj = plans.record_object(self.namespace, data, steps)
        fn, resource = self._api("patch", "ConfigMap")
        name = obj["metadata"]["name"]
        patch = {"metadata": {"labels": obj["metadata"]["labels"]}, "data": obj["data"]}
        try:
            self.kube.call("patch", resource, fn, name, self.namespace, patch, name=name)
            return
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
        try:
            self._create(obj)
        except Conflict:
            self.kube.call("patch", resource, fn, name, self.namespace, patch, name=name)

    def _uri(self, data: dict[str, Any]) -> str | None:
        return self.tracking_uri or data.get("tracking_uri")

    # --- status ---------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        data, steps = self._load_record(run_id)
        if data is None:
            job = self._read("Job", run_id)
            if job is None or not n.matches(job, {n.MANAGED_BY: n.MANAGED_BY_VALUE}):
                raise BackendError(
                    f"no run '{run_id}' in namespace '{self.namespace}' (context "
                    f"{self.kube.context}); `ame runs --backend kubernetes` lists them"
                )
            data = _record_from_job(job)
            return self._refresh(data, job, self._pods(run_id))
        if data.get("kind") == "pipeline" or steps is not None:
            return self._refresh_pipeline(data, steps or {}, act=False)
        if data.get("final"):
            return self._to_record(data, None)
        job = self._read("Job", data.get("job") or run_id)
        return self._refresh(data, job, self._pods(run_id))

    def _pods(self, run_id: str) -> list[dict[str, Any]]:
        pods = self._list("Pod", {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.LABEL_RUN_ID: run_id})
        if pods:
            return pods
        # A scheduled run's pods carry no run id of ours: the Job controller's label names it.
        return self._list("Pod", {n.MANAGED_BY: n.MANAGED_BY_VALUE, JOB_NAME_LABEL: run_id})

    def _refresh(self, data: dict[str, Any], job: dict[str, Any] | None, pods) -> RunRecord:
        if data.get("final"):
            return self._to_record(data, None)
        if data.get("cancelled"):
            seen = Observed(RunStatus.CANCELLED, "cancelled", ended_at=time.time())
            self._finalize(data, seen, pods)
            return self._to_record(data, None)
        seen = observe(job, pods)
        if job is None:
            seen = self._after_job_gone(data, seen)
        if seen.status.finished:
            self._finalize(data, seen, pods)
            return self._to_record(data, None)
        return self._to_record(data, seen)

    def _after_job_gone(self, data: dict[str, Any], seen: Observed) -> Observed:
        """The Job expired (TTL) or was deleted before anyone saw it end: MLflow knows how the
        run ended when the task's code ended its run."""
        uri, mlflow_run = self._uri(data), data.get("mlflow_run_id")
        if not uri or not mlflow_run:
            return seen
        try:
            from ame_core.tracking import client

            status = client(uri).get_run(mlflow_run).info.status
        except Exception:
            return seen
        mapping = {
            "FINISHED": RunStatus.SUCCEEDED,
            "FAILED": RunStatus.FAILED,
            "KILLED": RunStatus.CANCELLED,
        }
        if status in mapping:
            return Observed(mapping[status], f"the Job is gone; MLflow recorded {status}")
        return seen

    def _finalize(self, data: dict[str, Any], seen: Observed, pods: list[dict[str, Any]]) -> None:
        """Write the final status into the record (once) and end the MLflow run the same way;
        keep the log in MLflow so it survives the pod."""
        if data.get("final"):
            return
        data["final"] = {
            "status": seen.status.value,
            "reason": seen.reason,
            "exit_code": seen.exit_code,
            "started_at": seen.started_at,
            "ended_at": seen.ended_at or time.time(),
        }
        uri = self._uri(data)
        final = data["final"]
        final["mlflow_ended"] = self._end_mlflow(
            uri, data.get("mlflow_run_id"), seen.status, seen.reason or ""
        )
        if data.get("kind") != "pipeline" and pods and uri and data.get("mlflow_run_id"):
            try:
                text = self._pod_log(pods)
                if text:
                    from ame_core.tracking import client

                    client(uri).log_text(data["mlflow_run_id"], text, LOG_ARTIFACT)
            except Exception:
                pass
        try:
            self._save_record(data)
        except KubeError:
            pass

    def _retry_mlflow_end(self, data: dict[str, Any]) -> None:
        """A run that ended while MLflow was unreachable: tell MLflow now."""
        final = data.get("final") or {}
        if final.get("mlflow_ended", True):
            return
        status = RunStatus(final.get("status", "failed"))
        if self._end_mlflow(
            self._uri(data), data.get("mlflow_run_id"), status, final.get("reason") or ""
        ):
            final["mlflow_ended"] = True
            try:
                self._save_record(data)
            except KubeError:
                pass

    def _to_record(self, data: dict[str, Any], seen: Observed | None) -> RunRecord:
        if seen is None:
            self._retry_mlflow_end(data)
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
            backend=self.name,
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
                "namespace": self.namespace,
                "context": self.kube.context,
                "job": data.get("job"),
                "code": data.get("code"),
                # The flow and step that submitted the run: a resumed driver finds it again.
                "context_env": dict(data.get("context_env") or {}),
                "flow_id": data.get("flow_id"),
            },
        )

    def list_runs(self, project: str | None = None) -> list[RunRecord]:
        labels = {n.MANAGED_BY: n.MANAGED_BY_VALUE}
        if project:
            labels[n.LABEL_PROJECT] = n.label_value(project)
        records = self._list("ConfigMap", {**labels, n.LABEL_RECORD: "true"})
        # A flow's driver Job is no run (`ame flow list` shows flows).
        jobs = {
            j["metadata"]["name"]: j
            for j in self._list("Job", labels)
            if (j["metadata"].get("labels") or {}).get(n.LABEL_COMPONENT) != n.COMPONENT_DRIVER
        }
        pods: dict[str, list[dict[str, Any]]] = {}
        for pod in self._list("Pod", labels):
            run = ((pod.get("metadata") or {}).get("labels") or {}).get(n.LABEL_RUN_ID)
            job_name = ((pod.get("metadata") or {}).get("labels") or {}).get(
                "batch.kubernetes.io/job-name"
            ) or ((pod.get("metadata") or {}).get("labels") or {}).get("job-name")
            for key in {run, job_name} - {None}:
                pods.setdefault(key, []).append(pod)
        out: list[RunRecord] = []
        seen_jobs: set[str] = set()
        for obj in records:
            data, steps = _record_from_configmap(obj)
            if data is None:
                continue
            seen_jobs.add(data.get("job") or data["id"])
            if data.get("kind") == "pipeline" or steps is not None:
                out.append(self._refresh_pipeline(data, steps or {}, act=False))
            else:
                job_name = data.get("job") or data["id"]
                out.append(self._refresh(data, jobs.get(job_name), pods.get(data["id"], [])))
        for name, job in jobs.items():
            if name in seen_jobs:
                continue
            data = _record_from_job(job)
            # A Job without a record: started by a CronJob, or its record is being written.
            seen = observe(job, pods.get(data["id"], []) or pods.get(name, []))
            out.append(self._to_record(data, seen))
        out.sort(key=lambda r: r.created_at, reverse=True)
        return out

    # --- pipelines ------------------------------------------------------------------------

    def advance_pipeline(self, run_id: str) -> RunRecord:
        """One round of a pipeline's driver: start the next group's Jobs, stop the rest of a
        group whose step failed, record the end. Idempotent; only drivers (and submit) call it."""
        data, steps = self._load_record(run_id)
        if data is None:
            raise BackendError(f"no pipeline '{run_id}' in namespace '{self.namespace}'")
        if data.get("kind") != "pipeline" and steps is None:
            raise BackendError(f"run {run_id} is not a pipeline")
        return self._refresh_pipeline(data, steps or {}, act=True)

    def _refresh_pipeline(
        self, data: dict[str, Any], steps: dict[str, Any], *, act: bool
    ) -> RunRecord:
        """The pipeline's status from its steps'. `act` (its driver): also start the next
        group, cancel the rest of a failed group and record the end; otherwise (a read) only
        say what is so."""
        if data.get("final"):
            return self._to_record(data, None)
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
            return self._end_pipeline(data, seen, act)
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
                        self.cancel(other)
                task = (data.get("step_tasks") or {}).get(run_id, run_id)
                word = "was cancelled" if state.status is RunStatus.CANCELLED else "failed"
                why = f"step {task} ({run_id}) {word}" + (
                    f": {state.reason}" if state.reason else ""
                )
                seen = Observed(RunStatus.FAILED, why, started_at=started)
                return self._end_pipeline(data, seen, act)
            if all(
                s is not None and s.status is RunStatus.SUCCEEDED for s in group_states.values()
            ):
                continue
            missing = [run_id for run_id, s in group_states.items() if s is None]
            if act:
                for run_id in missing:
                    self._start_step(data, run_id, steps.get(run_id))
            waiting = "" if act or not missing else " (starting: its driver starts the steps)"
            return self._to_record(
                data,
                Observed(
                    RunStatus.RUNNING,
                    f"group {index + 1} of {len(groups)}: "
                    + ", ".join((data.get("step_tasks") or {}).get(r, r) for r in group)
                    + waiting,
                    started_at=started,
                ),
            )
        return self._end_pipeline(data, Observed(RunStatus.SUCCEEDED, None, 0, started), act)

    def _end_pipeline(self, data: dict[str, Any], seen: Observed, act: bool) -> RunRecord:
        """The driver records the end (and ends the MLflow run); a read only reports it."""
        if act:
            self._finalize(data, seen, [])
            return self._to_record(data, None)
        seen.ended_at = seen.ended_at or time.time()
        return self._to_record(data, seen)

    def _step_states(self, pipeline_id: str) -> dict[str, Observed]:
        labels = {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.LABEL_PARENT: pipeline_id}
        records = {}
        for obj in self._list("ConfigMap", {**labels, n.LABEL_RECORD: "true"}):
            data, _ = _record_from_configmap(obj)
            if data is not None:
                records[data["id"]] = data
        jobs = {j["metadata"]["name"]: j for j in self._list("Job", labels)}
        pods: dict[str, list[dict[str, Any]]] = {}
        for pod in self._list("Pod", labels):
            run = ((pod.get("metadata") or {}).get("labels") or {}).get(n.LABEL_RUN_ID)
            if run:
                pods.setdefault(run, []).append(pod)
        states: dict[str, Observed] = {}
        for run_id in set(records) | set(jobs):
            data = records.get(run_id) or _record_from_job(jobs[run_id])
            record = self._refresh(data, jobs.get(run_id), pods.get(run_id, []))
            states[run_id] = Observed(
                record.status,
                record.reason,
                record.exit_code,
                record.started_at,
                record.ended_at,
            )
        return states

    def _start_step(self, pipeline: dict[str, Any], run_id: str, job: dict[str, Any] | None):
        if job is None:
            raise BackendError(f"pipeline {pipeline['id']}: no stored Job for step {run_id}")
        ann = job["metadata"].get("annotations") or {}
        task = ann.get(n.ANN_TASK) or run_id
        context = RunContext(
            project_dir=Path(pipeline.get("project_dir") or "."),
            project=pipeline["project"],
            tracking_uri=pipeline.get("tracking_uri") or "",
        )
        uri = self._uri(pipeline) or context.tracking_uri
        context.tracking_uri = uri
        mlflow_run_id, experiment_id = self._start_mlflow(
            context, task, run_id, "step", parent=pipeline.get("mlflow_run_id")
        )
        filled = plans.with_mlflow_run(job, mlflow_run_id, experiment_id)
        try:
            self._create(filled)
        except Conflict:
            # Another process started this step first: drop our MLflow run.
            try:
                from ame_core.tracking import client

                client(uri).delete_run(mlflow_run_id)
            except Exception:
                pass
            return
        except BackendError as exc:
            self._end_mlflow(uri, mlflow_run_id, RunStatus.FAILED, str(exc))
            raise
        labels = job["metadata"]["labels"]
        record = {
            "id": run_id,
            "project": pipeline["project"],
            "task": task,
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
            "resources": _job_resources(job),
            "job": run_id,
            "code": ann.get(n.ANN_CODE),
            "cancelled": False,
            "final": None,
        }
        self._save_record(record)

    # --- cancel ---------------------------------------------------------------------------

    def cancel(self, run_id: str) -> RunRecord:
        record = self.get_run(run_id)
        if record.status.finished:
            return record
        data, _ = self._load_record(run_id)
        if data is None:  # a Job without a record (a scheduled run)
            data = _record_from_job(self._read("Job", run_id) or {"metadata": {"name": run_id}})
        data["cancelled"] = True
        self._save_record(data)
        for step in record.step_ids:
            try:
                self.cancel(step)
            except BackendError:
                pass
        if data.get("job"):
            self.delete("Job", data["job"], propagation="Foreground")
        if data.get("flow_id"):
            self._stop_flow(data["flow_id"])
        now = time.time()
        self._finalize(
            data,
            Observed(RunStatus.CANCELLED, "cancelled", record.exit_code, record.started_at, now),
            self._pods(run_id) if data.get("kind") != "pipeline" else [],
        )
        return self._to_record(data, None)

    def _stop_flow(self, flow_id: str) -> None:
        """A cancelled pipeline's flow is cancelled too, and its driver Job deleted (unless
        this is that driver, which ends its flow itself)."""
        from ame_core.flows.records import FlowStatus, StepStatus
        from ame_core.flows.store import FlowError

        if self.driving_flow == flow_id:
            return
        store = self.flow_store()

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
            self.delete("Job", job, propagation="Foreground")

    # --- logs -----------------------------------------------------------------------------

    def _pod_log(self, pods: list[dict[str, Any]], container: str = m.TASK_CONTAINER) -> str:
        """The task container's log of the newest pod; a crashed container's previous log
        first; the code fetch's log when the task never started."""
        from ame_core.runtime.kubernetes.status import newest_pod

        pod = newest_pod(pods)
        if pod is None:
            return ""
        name = pod["metadata"]["name"]
        statuses = {
            s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []
        }
        task_status = statuses.get(container) or {}
        parts: list[str] = []
        if (task_status.get("restartCount") or 0) > 0:
            parts.append(self._read_log(name, container, previous=True))
        state = task_status.get("state") or {}
        if not task_status or "waiting" in state and "lastState" not in task_status:
            # The task container never ran: show why the code fetch failed, if it did.
            init = {
                s.get("name"): s
                for s in (pod.get("status") or {}).get("initContainerStatuses") or []
            }.get(m.CODE_CONTAINER) or {}
            term = (init.get("state") or {}).get("terminated") or {}
            if term.get("exitCode") not in (None, 0):
                return self._read_log(name, m.CODE_CONTAINER)
            if not task_status:
                return "".join(parts)
        parts.append(self._read_log(name, container))
        return "".join(parts)

    def _read_log(self, pod: str, container: str, previous: bool = False) -> str:
        kwargs: dict[str, Any] = {"container": container}
        if previous:
            kwargs["previous"] = True
        try:
            return self.kube.call(
                "get",
                "pods/log",
                self.kube.core.read_namespaced_pod_log,
                pod,
                self.namespace,
                name=pod,
                raw=True,
                **kwargs,
            )
        except NotFound:
            return ""
        except KubeError as exc:
            if "waiting to start" in str(exc) or "ContainerCreating" in str(exc):
                return ""
            if getattr(exc, "status", None) is None and "(400)" in str(exc):
                return ""
            raise

    def _log_text(self, run_id: str) -> str:
        data, _ = self._load_record(run_id)
        if data is not None and (data.get("kind") == "pipeline" or data.get("steps")):
            parts = []
            for group in data.get("steps") or []:
                for step in group:
                    task = (data.get("step_tasks") or {}).get(step, step)
                    text = self._log_text(step) if self._has_run(step) else ""
                    if text:
                        parts.append(f"== step {task} ({step}) ==\n{text}")
            return "".join(p if p.endswith("\n") else p + "\n" for p in parts)
        pods = self._pods(run_id)
        if pods:
            return self._pod_log(pods)
        if data is not None:
            return self._mlflow_log(data)
        return ""

    def _has_run(self, run_id: str) -> bool:
        return self._read("ConfigMap", n.record_name(run_id)) is not None or bool(
            self._read("Job", run_id)
        )

    def _mlflow_log(self, data: dict[str, Any]) -> str:
        uri, run = self._uri(data), data.get("mlflow_run_id")
        if not uri or not run:
            return ""
        try:
            from ame_core.tracking import client

            with tempfile.TemporaryDirectory(prefix="ame-log-") as tmp:
                path = client(uri).download_artifacts(run, LOG_ARTIFACT, tmp)
                return Path(path).read_text(errors="replace")
        except Exception:
            return ""

    def read_logs(self, run_id: str, offset: int = 0, limit: int | None = None) -> LogChunk:
        text = self._log_text(run_id)
        piece = text[offset:] if limit is None else text[offset : offset + limit]
        return LogChunk(piece, offset + len(piece))

    def follow_logs(self, run_id: str, offset: int = 0, poll: float = 0.5) -> Iterator[LogChunk]:
        """Follow the pod's log as a stream; reconnect on stream errors without repeating or
        losing text (the position is counted in characters of the whole log)."""
        record = self.get_run(run_id)
        if record.kind == "pipeline" or record.step_ids:
            yield from super().follow_logs(run_id, offset, poll)
            return
        while True:
            record = self.get_run(run_id)
            pods = self._pods(run_id)
            pod_state = _task_state(pods)
            if pods and pod_state in ("running", "terminated"):
                try:
                    for chunk in self._stream_log(pods, offset):
                        offset = chunk.offset
                        yield chunk
                except KubeError:
                    pass  # the stream broke: reconnect below
            if record.status.finished:
                final = self.read_logs(run_id, offset)
                if final.text:
                    yield final
                return
            time.sleep(poll)

    def _stream_log(self, pods: list[dict[str, Any]], offset: int) -> Iterator[LogChunk]:
        from ame_core.runtime.kubernetes.status import newest_pod

        pod = newest_pod(pods)
        assert pod is not None
        name = pod["metadata"]["name"]
        response = self.kube.stream(
            "get",
            "pods/log",
            self.kube.core.read_namespaced_pod_log,
            name,
            self.namespace,
            name=name,
            container=m.TASK_CONTAINER,
            follow=True,
        )
        seen = 0
        try:
            decoder = _Utf8()
            for raw in response.stream(4096):
                text = decoder.feed(raw)
                if not text:
                    continue
                start = max(0, offset - seen)
                seen += len(text)
                if start < len(text):
                    piece = text[start:]
                    offset += len(piece)
                    yield LogChunk(piece, offset)
        except Exception as exc:
            raise KubeError(f"the log stream of pod {name} broke: {exc}") from None
        finally:
            try:
                response.release_conn()
            except Exception:
                pass

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
            self._watch_pods(run_id, max(1, int(min(remaining or 30, 30))))

    def _watch_pods(self, run_id: str, seconds: int) -> None:
        """Return at the first change of the run's pods (or after `seconds`)."""
        labels = {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.LABEL_RUN_ID: run_id}
        try:
            for _event in self.kube.watch(
                "pods",
                self.kube.core.list_namespaced_pod,
                seconds,
                namespace=self.namespace,
                label_selector=n.selector(labels),
            ):
                return
        except Gone:
            return  # expired: the caller re-lists (get_run) and watches again
        except KubeError:
            time.sleep(0.5)

    # --- flows ----------------------------------------------------------------------------

    def flow_store(self) -> Any:
        from ame_core.runtime.kubernetes.flows import KubernetesFlowStore

        return KubernetesFlowStore(self)

    # --- model serving --------------------------------------------------------------------

    def render_deploy(
        self, model: str, version: str, context: RunContext, deployment: Any
    ) -> list[dict[str, Any]]:
        if render.serving_kind(deployment) in render.KSERVE_SERVING:
            obj, _warnings = self._render_isvc(model, version, context, deployment)
            return [obj]
        uri = render.cluster_tracking_uri(context, self.settings, strict=False)
        spec = render.serving_spec(
            context.project, model, version, deployment, self.settings, self.namespace, uri
        )
        return m.serving_objects(spec)

    def deploy(self, model: str, version: str, context: RunContext, deployment: Any) -> Endpoint:
        if render.serving_kind(deployment) in render.KSERVE_SERVING:
            return self._deploy_isvc(model, version, context, deployment)
        render.cluster_tracking_uri(context, self.settings, strict=True)
        objects = self.render_deploy(model, version, context, deployment)
        for obj in objects:
            self.apply(obj)
        if not any(obj["kind"] == "Ingress" for obj in objects):
            self.delete("Ingress", n.model_name(model))
        self._delete_isvc(n.model_name(model))  # served by KServe before: switched back
        self.delete("Deployment", f"{n.model_name(model)}-{m.CANARY_TRACK}")  # a replace ends one
        endpoint = self.endpoint(model, context)
        assert endpoint is not None
        return endpoint

    # --- canary: KServe's canaryTrafficPercent; the gate cannot be measured from here ------

    def start_canary(
        self, model: str, version: str, context: RunContext, deployment: Any, percent: float
    ) -> Endpoint:
        if render.serving_kind(deployment) in render.KSERVE_SERVING:
            return self._deploy_isvc(model, version, context, deployment)
        # `serving: mlflow`: a second Deployment under the model's Service, its share by the
        # ratio of pods (approximate: the Service spreads requests over ready pods).
        if self._read("Deployment", n.model_name(model)) is None:
            raise BackendError(
                f"{model}: a canary needs a served version to split requests with; deploy one "
                f"first (ame model deploy {model})"
            )
        uri = render.cluster_tracking_uri(context, self.settings, strict=True)
        spec = render.serving_spec(
            context.project, model, version, deployment, self.settings, self.namespace, uri
        )
        canary = m.canary_deployment(spec, percent)
        self.apply(canary)
        stable = int(spec.replicas)
        share = 100.0 * canary["spec"]["replicas"] / (stable + canary["spec"]["replicas"])
        endpoint = self.endpoint(model, context)
        assert endpoint is not None
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
        if render.serving_kind(deployment) in render.KSERVE_SERVING:
            # Applied again with canaryTrafficPercent 100: the new revision takes all traffic.
            return self._deploy_isvc(model, version, context, whole, traffic=100)
        # The stable Deployment rolls to the version (no gap: maxUnavailable 0); the canary's
        # pods go at once (its old-version pods serve until the new ones are ready).
        return self.deploy(model, version, context, whole)

    def abort_canary(
        self, model: str, context: RunContext, deployment: Any, previous: str
    ) -> Endpoint | None:
        whole = deployment.model_copy(update={"rollout": None})
        if render.serving_kind(deployment) in render.KSERVE_SERVING:
            return self._deploy_isvc(model, previous, context, whole, traffic=100)
        self.delete("Deployment", f"{n.model_name(model)}-{m.CANARY_TRACK}")
        return self.endpoint(model, context)

    def undeploy(self, model: str, context: RunContext) -> None:
        name = n.model_name(model)
        self.delete("Deployment", f"{name}-{m.CANARY_TRACK}")
        for kind in ("Ingress", "Service", "Deployment"):
            self.delete(kind, name)
        self._delete_isvc(name)

    def endpoint(self, model: str, context: RunContext) -> Endpoint | None:
        deployment = self._read("Deployment", n.model_name(model))
        if deployment is None:
            obj = self._read_isvc(n.model_name(model))
            return None if obj is None else self._isvc_endpoint(obj)
        ingress = self._read("Ingress", n.model_name(model))
        return self._endpoint(deployment, ingress)

    def list_endpoints(self, context: RunContext) -> list[Endpoint]:
        labels = {
            **n.base_labels(context.project),
            n.LABEL_COMPONENT: "serving",
        }
        out = []
        for deployment in self._list("Deployment", labels):
            if (deployment["metadata"].get("labels") or {}).get(n.LABEL_TRACK):
                continue  # a canary: part of its model's endpoint
            ingress = self._read("Ingress", deployment["metadata"]["name"])
            out.append(self._endpoint(deployment, ingress))
        out.extend(self._isvc_endpoint(obj) for obj in self._list_isvc(labels))
        return out

    # --- KServe InferenceServices (serving: kserve, triton) -------------------------------

    def _custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.kube.api_client)

    def _render_isvc(
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
        import os

        from ame_core.runtime.kubernetes import inference_service as isvc
        from ame_core.runtime.kubernetes import model_facts, storage

        serving = render.serving_kind(deployment)
        facts = model_facts.read_version(self.tracking_uri or context.tracking_uri, model, version)
        uri = storage.storage_uri(facts.location, facts.what)
        plan = isvc.check_version(serving, facts, getattr(deployment, "image", None))
        percent = isvc.canary_percent(deployment)
        warnings = list(plan.warnings)
        canary = None
        if percent is not None:
            existing = self._read_isvc(n.model_name(model))
            served = ((existing or {}).get("metadata") or {}).get("annotations") or {}
            first = existing is None or served.get(n.ANN_MODEL_VERSION) == str(version)
            mode = isvc.mode_of(existing) or self._kserve_default_mode()
            canary, more = isvc.canary_decision(
                percent, mode, first, os.environ.get(isvc.CANARY_FALLBACK_ENV)
            )
            warnings += more
        if traffic is not None:
            canary = traffic
        spec = render.isvc_spec(
            context.project, model, version, deployment, self.namespace, plan, uri, canary
        )
        return isvc.inference_service(spec), warnings

    def _deploy_isvc(
        self,
        model: str,
        version: str,
        context: RunContext,
        deployment: Any,
        traffic: int | None = None,
    ) -> Endpoint:
        import sys

        obj, warnings = self._render_isvc(model, version, context, deployment, traffic)
        for line in warnings:
            print(f"ame: warning: {line}", file=sys.stderr)
        self._apply_isvc(obj)
        name = obj["metadata"]["name"]
        for kind in ("Ingress", "Service", "Deployment"):  # served by `mlflow` before
            self.delete(kind, name)
        endpoint = self._isvc_endpoint(self._read_isvc(name) or obj)
        endpoint.extra["warnings"] = warnings
        return endpoint

    def _isvc_call(self, verb: str, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from ame_core.runtime.kubernetes import inference_service as isvc

        fn = getattr(self._custom(), method)
        return self.kube.call(verb, isvc.PLURAL, fn, isvc.GROUP, isvc.API_VERSION, *args, **kwargs)

    def _apply_isvc(self, obj: dict[str, Any]) -> dict[str, Any]:
        from ame_core.runtime.kubernetes import inference_service as isvc

        name, ns = obj["metadata"]["name"], obj["metadata"].get("namespace") or self.namespace
        try:
            try:
                return self._isvc_call(
                    "patch",
                    "patch_namespaced_custom_object",
                    ns,
                    isvc.PLURAL,
                    name,
                    obj,
                    name=name,
                    field_manager="ame",
                    force=True,
                    _content_type="application/apply-patch+yaml",
                )
            except NotFound as exc:
                if type(exc) is not NotFound:
                    raise
            try:
                return self._isvc_call(
                    "create", "create_namespaced_custom_object", ns, isvc.PLURAL, obj, name=name
                )
            except Conflict:
                return self._apply_isvc(obj)
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
            raise BackendError(
                f"the cluster has no InferenceService API ({isvc.GROUP}/{isvc.API_VERSION}): "
                "install KServe in it (ame cluster check tells), or use serving: mlflow"
            ) from None

    def _read_isvc(self, name: str) -> dict[str, Any] | None:
        from ame_core.runtime.kubernetes import inference_service as isvc

        try:
            return self._isvc_call(
                "get", "get_namespaced_custom_object", self.namespace, isvc.PLURAL, name, name=name
            )
        except NotFound as exc:  # no such object, or no KServe at all
            if type(exc) is not NotFound:
                raise
            return None
        except Forbidden:  # a Role from before KServe support: not served by KServe here
            return None

    def _list_isvc(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        from ame_core.runtime.kubernetes import inference_service as isvc

        try:
            data = self._isvc_call(
                "list",
                "list_namespaced_custom_object",
                self.namespace,
                isvc.PLURAL,
                label_selector=n.selector(labels),
            )
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
            return []
        except Forbidden:
            return []
        return [item for item in data.get("items") or [] if n.matches(item, labels)]

    def _delete_isvc(self, name: str) -> bool:
        from ame_core.runtime.kubernetes import inference_service as isvc

        try:
            self._isvc_call(
                "delete",
                "delete_namespaced_custom_object",
                self.namespace,
                isvc.PLURAL,
                name,
                name=name,
            )
            return True
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
            return False
        except Forbidden:  # may not even look: it cannot have made one either
            return False

    def _kserve_default_mode(self) -> str | None:
        """The cluster's default deployment mode (ConfigMap kserve/inferenceservice-config),
        or None where it cannot be read (ame's Role is namespaced: usually not)."""
        from ame_core.runtime.kubernetes import inference_service as isvc

        try:
            cm = self.kube.call(
                "get",
                "configmaps",
                self.kube.core.read_namespaced_config_map,
                isvc.CONFIG_NAME,
                isvc.CONFIG_NAMESPACE,
                name=isvc.CONFIG_NAME,
            )
        except KubeError:
            return None
        return isvc.mode_from_config(cm)

    def _isvc_endpoint(self, obj: dict[str, Any]) -> Endpoint:
        from ame_core.runtime.kubernetes import inference_service as isvc

        return isvc.endpoint(obj, self.name, self.namespace, self.kube.context)

    def _endpoint(self, deployment: dict[str, Any], ingress: dict[str, Any] | None) -> Endpoint:
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
        url = f"http://{name}.{self.namespace}.svc.cluster.local"
        forward = f"kubectl -n {self.namespace} port-forward svc/{name} 8080:80"
        if ingress is not None:
            rule = ((ingress.get("spec") or {}).get("rules") or [{}])[0]
            paths = (rule.get("http") or {}).get("paths") or [{}]
            scheme = "https" if (ingress.get("spec") or {}).get("tls") else "http"
            path = paths[0].get("path") or "/"
            url = f"{scheme}://{rule.get('host')}{path.rstrip('/')}"
        return Endpoint(
            model=ann.get(n.ANN_MODEL, name),
            version=version,
            backend=self.name,
            status=state,
            url=url,
            replicas=wanted,
            ready_replicas=ready,
            detail=detail,
            extra={
                "namespace": self.namespace,
                "context": self.kube.context,
                "deployment": name,
                "service": name,
                "updated_replicas": updated,
                "port_forward": forward,
                "in_cluster_url": f"http://{name}.{self.namespace}.svc.cluster.local",
            },
        )

    def port_forward(self, model: str):
        """A local URL for the model's Service (the TUI's smoke request); see portforward."""
        from ame_core.runtime.kubernetes.portforward import PortForward

        service = n.model_name(model)
        if self._read("Deployment", service) is None and self._read_isvc(service) is not None:
            service = f"{service}-predictor"  # KServe's predictor Service
        return PortForward.start(self.kube, self.kube_context, service)

    def serving_metrics(self, model: str, context: RunContext) -> str | None:
        """MLServer's Prometheus text, through a port-forward to its metrics port (8082) on
        the model's pods; None for a runtime without one AME reads."""
        import urllib.request

        from ame_core.runtime.kubernetes.portforward import PortForward

        service = n.model_name(model)
        if self._read("Deployment", service) is None and self._read_isvc(service) is not None:
            service = f"{service}-predictor"  # KServe's predictor Deployment
        elif self._read("Deployment", service) is None:
            return None
        target = f"deployment/{service}"
        with PortForward.start(
            self.kube, self.kube_context, service, target=target, port=8082
        ) as pf:
            try:
                with urllib.request.urlopen(f"{pf.url}/metrics", timeout=10) as response:  # noqa: S310
                    return response.read().decode("utf-8", "replace")
            except OSError as exc:
                raise BackendError(f"{target}: no metrics on port 8082 ({exc})") from None

    @contextmanager
    def open_url(self, model: str, context: RunContext | None = None) -> Iterator[str]:
        """A URL of the model's server that works from this machine, for as long as the
        `with` block lasts: the ingress when there is one, else a port-forward."""
        ingress = self._read("Ingress", n.model_name(model))
        if ingress is not None:
            endpoint = self._endpoint(self._read("Deployment", n.model_name(model)) or {}, ingress)
            yield endpoint.url or ""
            return
        with self.port_forward(model) as forward:
            yield forward.url


# --- helpers ---------------------------------------------------------------------------------


def _record_from_configmap(obj: dict[str, Any]):
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


def _record_from_job(job: dict[str, Any]) -> dict[str, Any]:
    """A record from a Job alone (a scheduled run, or one whose record is not written yet)."""
    from ame_core.runtime.kubernetes.status import timestamp

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
        "resources": _job_resources(job),
        "job": name,
        "code": ann.get(n.ANN_CODE),
        "cancelled": False,
        "final": None,
    }


def _job_resources(job: dict[str, Any]) -> dict[str, str]:
    containers = ((job.get("spec") or {}).get("template") or {}).get("spec", {}).get(
        "containers"
    ) or []
    for container in containers:
        if container.get("name") == m.TASK_CONTAINER:
            res = container.get("resources") or {}
            return {**(res.get("limits") or {}), **(res.get("requests") or {})}
    return {}


def _task_state(pods: list[dict[str, Any]]) -> str | None:
    from ame_core.runtime.kubernetes.status import newest_pod

    pod = newest_pod(pods)
    if pod is None:
        return None
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == m.TASK_CONTAINER:
            state = status.get("state") or {}
            for key in ("running", "terminated", "waiting"):
                if key in state:
                    return key
    return None


class _Utf8:
    """Incremental UTF-8 decoding: a character split across chunks is not mangled."""

    def __init__(self) -> None:
        import codecs

        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return self._decoder.decode(data)
