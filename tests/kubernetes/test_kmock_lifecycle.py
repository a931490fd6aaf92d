"""The shared lifecycle (train → validate → deploy) on the kubernetes backend, unchanged.

A thread plays the cluster: for each new Job it creates the pod, runs it, and — for the
training task — does what train.py does inside the pod: logs a metric and registers a model
version in the task's MLflow run (MLFLOW_RUN_ID from the Job).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from k8s_harness import NAMESPACE, Kubelet, load_example

from ame_core.runtime.backend import EndpointStatus, RunStatus
from ame_core.runtime.kubernetes.backend import KubernetesBackend


class FakeCluster(threading.Thread):
    def __init__(self, kubelet: Kubelet, mlflow_uri: str, fail_validation: bool = False):
        super().__init__(daemon=True)
        self.kubelet = kubelet
        self.mlflow_uri = mlflow_uri
        self.fail_validation = fail_validation
        self.done: set[str] = set()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                for job in self.kubelet.jobs():
                    name = job["metadata"]["name"]
                    if name not in self.done:
                        self.done.add(name)
                        self.play(job)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return
            time.sleep(0.2)

    def play(self, job: dict) -> None:
        name = job["metadata"]["name"]
        task = job["metadata"]["annotations"]["ame.dev/task-name"]
        env = {
            e["name"]: e.get("value")
            for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        pod = self.kubelet.pod_for(name)
        self.kubelet.running(pod, name)
        code = 0
        if task == "train_logreg":
            from ame_core.tracking import client

            c = client(self.mlflow_uri)
            run_id = env["MLFLOW_RUN_ID"]
            c.log_metric(run_id, "accuracy", 0.95)
            try:
                c.create_registered_model("logreg")
            except Exception:  # noqa: BLE001 - it exists already: a previous firing made it
                pass
            c.create_model_version("logreg", f"runs:/{run_id}/model", run_id=run_id)
            self.kubelet.logs(pod, "accuracy 0.95\nregistered logreg\n")
        elif task == "validate_logreg":
            assert env["AME_MODEL_URI"].startswith("models:/logreg/")
            code = 1 if self.fail_validation else 0
        self.kubelet.finished(pod, name, exit_code=code)


def test_train_validate_deploy_on_kubernetes(cluster: Kubelet, tmp_path: Path, mlflow_uri: str):
    from ame_core.lifecycle import Lifecycle, load_project

    project_dir, _ = load_example("quickstart", tmp_path)
    fake = FakeCluster(cluster, mlflow_uri)
    fake.start()
    try:
        backend = KubernetesBackend(project_dir)
        lifecycle = Lifecycle(load_project(project_dir), backend, mlflow_uri, run_timeout=120)
        result = lifecycle.train("logreg")  # autoDeploy: validation, then deployment
    finally:
        fake.stop.set()
        fake.join(timeout=10)
    assert not fake.errors, fake.errors
    assert result.run.status is RunStatus.SUCCEEDED
    assert result.version == "1"
    validation = [r for r in backend.list_runs("quickstart") if r.kind == "validation"]
    assert [r.status for r in validation] == [RunStatus.SUCCEEDED]
    assert validation[0].model_version == "1"
    endpoint = backend.endpoint("logreg", lifecycle.context("deployment", "logreg"))
    assert endpoint is not None and endpoint.version == "1"
    assert endpoint.status is EndpointStatus.STARTING  # no kubelet has made it ready
    assert lifecycle.registry.deployed("logreg") == "1"

    # Monitoring on a cluster: no request log there; the report says what it lacks, reads the
    # runtime's metrics where it can (a port-forward: none here), and is still recorded.
    from ame_core.monitoring.service import monitor
    from ame_core.tracking import client

    report = monitor(lifecycle, "logreg")
    assert report["backend"] == "kubernetes" and report["version"] == "1"
    assert report["traffic"]["requests"] == 0
    assert any("no request log yet" in line for line in report["unavailable"])
    assert "server_metrics" in report or any(
        "cannot read the model server's metrics" in w for w in report["warnings"]
    )
    assert report["drift"]["verdict"] == "no reference"
    recorded = client(mlflow_uri).get_run(report["mlflow_run_id"])
    assert recorded.data.tags["ame.kind"] == "monitoring"
    assert recorded.data.tags["ame.verdict"] == "no reference"
    listed = client(mlflow_uri).list_artifacts(report["mlflow_run_id"], "monitoring")
    assert [a.path for a in listed] == ["monitoring/report.json"]

    # Monitoring on a schedule: `ame schedule apply` makes a CronJob whose Job is a flow driver;
    # its pod records a new `monitor` flow and drives it, with no client (its code runs here).
    _scheduled_monitoring_runs_as_a_flow(cluster, project_dir, mlflow_uri)


def _scheduled_monitoring_runs_as_a_flow(cluster: Kubelet, project_dir: Path, uri: str) -> None:
    import json
    import shlex

    import kubernetes_validate

    from ame_core.engine import analyze
    from ame_core.flows.records import FlowStatus, StepStatus
    from ame_core.runtime.backend import RunContext
    from ame_core.runtime.kubernetes import flow_driver, schedules
    from ame_core.tracking import client

    ame_yml = project_dir / "ame.yml"
    ame_yml.write_text(
        ame_yml.read_text().replace(
            "      window: 1h", '      schedule: "0 * * * *"\n      window: 1h'
        )
    )
    analysis = analyze(ame_yml.read_text(), str(ame_yml))
    backend = KubernetesBackend(project_dir)
    context = RunContext(project_dir, "quickstart", uri)
    applied, deleted = schedules.apply(backend, analysis, context, allow_dirty=True)
    assert applied == ["ame-quickstart-monitor-logreg"] and deleted == []
    (cron,) = [s for s in schedules.list_schedules(backend, "quickstart")]
    assert (cron.task, cron.schedule) == ("monitor:logreg", "0 * * * *")
    obj = json.loads(
        cluster.batch.read_namespaced_cron_job(cron.name, NAMESPACE, _preload_content=False).data
    )
    kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)

    # The CronJob controller makes a Job from the template; the pod runs its command.
    template = obj["spec"]["jobTemplate"]
    job_name = "ame-quickstart-monitor-logreg-29410560"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name, "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    }
    cluster.batch.create_namespaced_job(NAMESPACE, job, _preload_content=False)
    pod = cluster.pod_for(job_name)
    cluster.running(pod, job_name)
    container = template["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert "job-name" in env["AME_DRIVER_JOB"]["valueFrom"]["fieldRef"]["fieldPath"]
    command = shlex.split(container["command"][-1].split("exec python -m ", 1)[1])
    assert command[0] == "ame_core.runtime.kubernetes.flow_driver"
    argv = command[1:]
    argv[argv.index("--project-dir") + 1] = str(project_dir)  # the shipped code, here
    saved = dict(os.environ)
    os.environ.update(
        MLFLOW_TRACKING_URI=uri,  # the cluster's MLflow, as this test reaches it
        AME_DRIVER_JOB=job_name,  # what the downward API gives the pod
        AME_FLOW_SHIP=env["AME_FLOW_SHIP"]["value"],
    )
    try:
        assert flow_driver.main(argv) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)

    (flow,) = [f for f in backend.flow_store().all() if f.kind == "monitor"]
    assert flow.status is FlowStatus.SUCCEEDED, flow.reason
    assert flow.model == "logreg" and flow.params["schedule"] == "0 * * * *"
    assert flow.driver["job"] == job_name and flow.driver["ship"]["image"]
    assert [s.status for s in flow.steps] == [
        StepStatus.DONE,
        StepStatus.DONE,
        StepStatus.SKIPPED,  # no monitoring task of its own
    ]
    report = flow.step("report").result
    recorded = client(uri).get_run(report["mlflow_run_id"])
    assert recorded.data.tags["ame.kind"] == "monitoring"
    assert recorded.data.tags["ame.version"] == "1"

    # Its schedule removed, apply deletes the CronJob.
    ame_yml.write_text(ame_yml.read_text().replace('      schedule: "0 * * * *"\n', ""))
    analysis = analyze(ame_yml.read_text(), str(ame_yml))
    assert schedules.apply(backend, analysis, context, allow_dirty=True) == (
        [],
        ["ame-quickstart-monitor-logreg"],
    )
