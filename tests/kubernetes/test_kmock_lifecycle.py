"""The shared lifecycle (train → validate → deploy) on the kubernetes backend, unchanged.

A thread plays the cluster: for each new Job it creates the pod, runs it, and — for the
training task — does what train.py does inside the pod: logs a metric and registers a model
version in the task's MLflow run (MLFLOW_RUN_ID from the Job).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from k8s_harness import Kubelet, load_example

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
            except BaseException as exc:  # reported by the test
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
            except Exception:
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
