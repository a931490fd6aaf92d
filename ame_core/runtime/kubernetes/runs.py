"""A task run's status, from its record, its Job and its pods.

One job: say what a run is doing (`observe` reads the Job and pods), and write its end once
when it has ended — into the record, into MLflow (ended the same way), with its log kept in
MLflow so it survives the pod. Reads only compute; the end is written by whoever sees it
first, and a run that ended while MLflow was unreachable tells MLflow at the next look.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ame_core.runtime.backend import RunRecord, RunStatus
from ame_core.runtime.kubernetes import cluster_mlflow
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import run_records as records
from ame_core.runtime.kubernetes.client import Gone, KubeError
from ame_core.runtime.kubernetes.status import Observed, observe

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

Pods = list[dict[str, Any]]


class Runs:
    """The status of the backend's task runs (a pipeline's is pipelines.py's)."""

    def __init__(self, backend: KubernetesBackend) -> None:
        self.backend = backend

    def tracking_uri(self, data: records.Record) -> str | None:
        """Where this process reaches the run's MLflow: its own URI, else the submitter's."""
        return self.backend.tracking_uri or data.get("tracking_uri")

    def pods(self, run_id: str) -> Pods:
        objects = self.backend.objects
        pods = objects.list("Pod", {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.LABEL_RUN_ID: run_id})
        if pods:
            return pods
        # A scheduled run's pods carry no run id of ours: the Job controller's label names it.
        return objects.list("Pod", {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.JOB_NAME_LABEL: run_id})

    def pods_by_run(self, labels: dict[str, str], *, by_job: bool = False) -> dict[str, Pods]:
        """The pods that carry `labels`, by our run id (and by their Job's name: `by_job`)."""
        out: dict[str, Pods] = {}
        for pod in self.backend.objects.list("Pod", labels):
            pod_labels = (pod.get("metadata") or {}).get("labels") or {}
            keys = {pod_labels.get(n.LABEL_RUN_ID)}
            if by_job:
                keys.add(pod_labels.get(n.JOB_NAME_LABEL) or pod_labels.get("job-name"))
            for key in keys:
                if key:
                    out.setdefault(key, []).append(pod)
        return out

    def refresh(self, data: records.Record, job: dict[str, Any] | None, pods: Pods) -> RunRecord:
        """The run's status now; its end written when it has ended."""
        if data.get("final"):
            return self.to_record(data, None)
        if data.get("cancelled"):
            seen = Observed(RunStatus.CANCELLED, "cancelled", ended_at=time.time())
            self.finalize(data, seen, pods)
            return self.to_record(data, None)
        seen = observe(job, pods)
        if job is None:
            seen = self._after_job_gone(data, seen)
        if seen.status.finished:
            self.finalize(data, seen, pods)
            return self.to_record(data, None)
        return self.to_record(data, seen)

    def _after_job_gone(self, data: records.Record, seen: Observed) -> Observed:
        """The Job expired (TTL) or was deleted before anyone saw it end: MLflow knows how the
        run ended when the task's code ended its run."""
        recorded = cluster_mlflow.recorded_status(
            self.tracking_uri(data), data.get("mlflow_run_id")
        )
        if recorded is None:
            return seen
        status, word = recorded
        return Observed(status, f"the Job is gone; MLflow recorded {word}")

    def finalize(self, data: records.Record, seen: Observed, pods: Pods) -> None:
        """Write the final status into the record (once) and end the MLflow run the same way;
        keep the log in MLflow so it survives the pod."""
        if data.get("final"):
            return
        uri, mlflow_run = self.tracking_uri(data), data.get("mlflow_run_id")
        ended = cluster_mlflow.end_run(uri, mlflow_run, seen.status, seen.reason or "")
        records.finish(data, seen, ended)
        if data.get("kind") != "pipeline" and pods and uri and mlflow_run:
            try:
                text = self.backend.logs.pod_log(pods)
            except KubeError:
                text = ""  # the pod's log cannot be read now: the record still ends
            if text:
                cluster_mlflow.keep_log(uri, mlflow_run, text)
        try:
            self.backend.records.save(data)
        except KubeError:
            pass  # the next look writes the end again

    def _retry_mlflow_end(self, data: records.Record) -> None:
        """A run that ended while MLflow was unreachable: tell MLflow now."""
        final = data.get("final") or {}
        if final.get("mlflow_ended", True):
            return
        status = RunStatus(final.get("status", "failed"))
        if cluster_mlflow.end_run(
            self.tracking_uri(data), data.get("mlflow_run_id"), status, final.get("reason") or ""
        ):
            final["mlflow_ended"] = True
            try:
                self.backend.records.save(data)
            except KubeError:
                pass  # told MLflow; the record says so at the next look

    def to_record(self, data: records.Record, seen: Observed | None) -> RunRecord:
        """What callers see: the final status (`seen` None), or `seen` while it runs."""
        if seen is None:
            self._retry_mlflow_end(data)
        backend = self.backend
        return records.to_run_record(
            data, seen, backend.name, backend.namespace, backend.kube.context
        )

    def watch_pods(self, run_id: str, seconds: int) -> None:
        """Return at the first change of the run's pods (or after `seconds`)."""
        kube = self.backend.kube
        labels = {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.LABEL_RUN_ID: run_id}
        try:
            for _event in kube.watch(
                "pods",
                kube.core.list_namespaced_pod,
                seconds,
                namespace=self.backend.namespace,
                label_selector=n.selector(labels),
            ):
                return
        except Gone:
            return  # expired: the caller re-lists (get_run) and watches again
        except KubeError:
            time.sleep(0.5)
