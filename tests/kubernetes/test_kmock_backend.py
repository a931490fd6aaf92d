"""The Kubernetes backend against kmock, through the official client.

The test plays the Job controller and the kubelet (kmock has no controllers): it creates the
Job's pod and moves its status the way they would, and checks what a user would see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from k8s_harness import CLUSTER_MLFLOW, NAMESPACE, Kubelet, load_example

from ame_core.runtime.backend import EndpointStatus, RunContext, RunRecord, RunStatus
from ame_core.runtime.kubernetes.backend import KubernetesBackend

GPU_MESSAGE = (
    "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are "
    "available: 3 No preemption victims found for incoming pod."
)


@pytest.fixture
def quickstart(tmp_path: Path, mlflow_uri: str):
    project, analysis = load_example("quickstart", tmp_path)
    context = RunContext(project_dir=project, project="quickstart", tracking_uri=mlflow_uri)
    return analysis, context


def mlflow_run(uri: str, run_id: str):
    from ame_core.tracking import client

    return client(uri).get_run(run_id)


def submit_train(quickstart) -> tuple[KubernetesBackend, RunRecord, RunContext]:
    """train_logreg submitted by a new backend: (the backend, the run's record, the context)."""
    analysis, context = quickstart
    backend = KubernetesBackend(context.project_dir)
    return (
        backend,
        backend.submit(analysis.resolver.resolve_by_name("train_logreg"), context),
        context,
    )


def submit_pipeline(tmp_path: Path, mlflow_uri: str) -> tuple[KubernetesBackend, RunRecord, Path]:
    """full_pipeline submitted by a new backend: (the backend, the pipeline's record, the
    project's folder)."""
    project, analysis = load_example("pipeline", tmp_path)
    context = RunContext(project_dir=project, project="pipeline_demo", tracking_uri=mlflow_uri)
    backend = KubernetesBackend(project)
    return (
        backend,
        backend.submit(analysis.resolver.resolve_by_name("full_pipeline"), context),
        project,
    )


def test_task_run_lifecycle_queued_running_succeeded(cluster: Kubelet, quickstart) -> None:
    backend, record, context = submit_train(quickstart)
    assert record.status is RunStatus.QUEUED
    assert record.backend == "kubernetes"

    # The Job carries the labels, the annotations and the MLflow run.
    job = cluster.job(record.id)
    labels = job["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "ame"
    assert labels["ame.dev/project"] == "quickstart"
    assert labels["ame.dev/task"] == "train-logreg"
    assert labels["ame.dev/run-id"] == record.id
    assert job["metadata"]["annotations"]["ame.dev/mlflow-run-id"] == record.mlflow_run_id
    assert job["spec"]["backoffLimit"] == 0
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLFLOW_RUN_ID"]["value"] == record.mlflow_run_id
    assert env["MLFLOW_TRACKING_URI"]["value"] == "http://mlflow.ame.svc:5000"
    assert env["AME_RUN_ID"]["value"] == record.id

    # The project's code was uploaded to the task's MLflow run for the init container.
    from ame_core.tracking import client

    artifacts = [
        f.path for f in client(context.tracking_uri).list_artifacts(record.mlflow_run_id, "ame")
    ]
    assert "ame/code.tar.gz" in artifacts

    # No pod yet, then a pod the scheduler cannot place: queued, with the reason in words.
    assert backend.get_run(record.id).status is RunStatus.QUEUED
    pod = cluster.pod_for(record.id)
    cluster.unschedulable(pod, GPU_MESSAGE)
    queued = backend.get_run(record.id)
    assert queued.status is RunStatus.QUEUED
    assert queued.reason.startswith("no node has a free nvidia.com/gpu (")

    cluster.running(pod, record.id)
    assert backend.get_run(record.id).status is RunStatus.RUNNING
    cluster.logs(pod, "epoch 1\naccuracy 0.93\n")
    assert backend.read_logs(record.id).text == "epoch 1\naccuracy 0.93\n"
    assert backend.read_logs(record.id, offset=8).text == "accuracy 0.93\n"

    cluster.finished(pod, record.id, exit_code=0)
    done = backend.get_run(record.id)
    assert done.status is RunStatus.SUCCEEDED
    assert done.exit_code == 0
    assert done.started_at and done.ended_at and done.ended_at > done.started_at
    run = mlflow_run(context.tracking_uri, record.mlflow_run_id)
    assert run.info.status == "FINISHED"
    # The log survives the pod: kept with the MLflow run.
    artifacts = [
        f.path for f in client(context.tracking_uri).list_artifacts(record.mlflow_run_id, "ame")
    ]
    assert "ame/log.txt" in artifacts


def test_failures_are_explained(cluster: Kubelet, quickstart) -> None:
    analysis, context = quickstart
    backend = KubernetesBackend(context.project_dir)
    task = analysis.resolver.resolve_by_name("train_logreg")

    oom = backend.submit(task, context)
    pod = cluster.pod_for(oom.id)
    cluster.running(pod, oom.id)
    cluster.finished(pod, oom.id, exit_code=137, reason="OOMKilled")
    failed = backend.get_run(oom.id)
    assert failed.status is RunStatus.FAILED
    assert failed.reason.startswith("OOMKilled")
    assert "1Gi" in failed.reason
    assert mlflow_run(context.tracking_uri, oom.mlflow_run_id).info.status == "FAILED"

    exit_two = backend.submit(task, context)
    pod = cluster.pod_for(exit_two.id)
    cluster.finished(pod, exit_two.id, exit_code=2)
    assert backend.get_run(exit_two.id).reason.startswith("exit code 2")

    bad_image = backend.submit(task, context)
    pod = cluster.pod_for(bad_image.id)
    cluster.pod_status(
        pod,
        {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "task",
                    "ready": False,
                    "restartCount": 0,
                    "image": "python:3.11-slim",
                    "imageID": "",
                    "state": {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": 'Back-off pulling image "python:3.11-slim"',
                        }
                    },
                }
            ],
        },
    )
    pulled = backend.get_run(bad_image.id)
    assert pulled.status is RunStatus.FAILED
    assert pulled.reason.startswith("image pull error")


def test_cancel_deletes_the_job_and_kills_the_mlflow_run(cluster: Kubelet, quickstart) -> None:
    backend, record, context = submit_train(quickstart)
    pod = cluster.pod_for(record.id)
    cluster.running(pod, record.id)

    cancelled = backend.cancel(record.id)
    assert cancelled.status is RunStatus.CANCELLED
    assert record.id not in [j["metadata"]["name"] for j in cluster.jobs()]
    # Foreground propagation: the Job goes only after its pods.
    deletes = [r for r in cluster.server.handler if r.method == "DELETE"]
    assert any(r.data and r.data.get("propagationPolicy") == "Foreground" for r in deletes)
    assert mlflow_run(context.tracking_uri, record.mlflow_run_id).info.status == "KILLED"
    # Any process sees it cancelled, though the Job is gone.
    assert KubernetesBackend(context.project_dir).get_run(record.id).status is RunStatus.CANCELLED


def test_reattach_from_a_new_process(cluster: Kubelet, quickstart, tmp_path: Path) -> None:
    analysis, context = quickstart
    record = KubernetesBackend(context.project_dir).submit(
        analysis.resolver.resolve_by_name("validate_logreg"), context
    )
    pod = cluster.pod_for(record.id)
    cluster.running(pod, record.id)
    cluster.logs(pod, "validating\n")

    code = (
        "import json, sys\n"
        "from ame_core.runtime.kubernetes.backend import KubernetesBackend\n"
        "b = KubernetesBackend()\n"
        "runs = b.list_runs('quickstart')\n"
        "r = b.get_run(sys.argv[1])\n"
        "print(json.dumps({'ids': [x.id for x in runs], 'status': r.status.value,\n"
        "                  'mlflow': r.mlflow_run_id, 'log': b.read_logs(r.id).text}))\n"
    )
    env = {**os.environ, "KUBECONFIG": os.environ["KUBECONFIG"]}
    out = subprocess.run(
        [sys.executable, "-c", code, record.id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["ids"] == [record.id]
    assert seen["status"] == "running"
    assert seen["mlflow"] == record.mlflow_run_id
    assert seen["log"] == "validating\n"


def test_watch_waits_for_the_end(cluster: Kubelet, quickstart) -> None:
    """wait() watches the run's pods; the test finishes the pod from another thread."""
    import threading

    backend, record, _ = submit_train(quickstart)
    pod = cluster.pod_for(record.id)
    cluster.running(pod, record.id)
    timer = threading.Timer(1.0, lambda: cluster.finished(pod, record.id, exit_code=0))
    timer.start()
    try:
        final = backend.wait(record.id, timeout=120)
    finally:
        timer.cancel()
    assert final.status is RunStatus.SUCCEEDED


def test_pipeline_steps_run_in_order_and_its_driver_carries_on(
    cluster: Kubelet, tmp_path: Path, mlflow_uri: str
) -> None:
    """A read starts nothing; each round of the pipeline's driver (`advance_pipeline`, what
    its driver Job does in a loop, here from a new backend) starts the next group."""
    project, analysis = load_example("pipeline", tmp_path)
    context = RunContext(project_dir=project, project="pipeline_demo", tracking_uri=mlflow_uri)
    pipeline = analysis.resolver.resolve_by_name("full_pipeline")
    record = KubernetesBackend(project).submit(pipeline, context)
    assert len(record.step_ids) == 4

    def step_jobs() -> list[str]:
        return sorted(
            j["metadata"]["name"]
            for j in cluster.jobs()
            if j["metadata"]["labels"].get("ame.dev/parent-run-id") == record.id
        )

    first, a, b, last = record.step_ids
    assert step_jobs() == [first]  # only the first group has started

    def finish(step: str, code: int = 0) -> None:
        pod = cluster.pod_for(step)
        cluster.running(pod, step)
        cluster.finished(pod, step, exit_code=code)

    finish(first)
    # Reading the pipeline has no side effects: the next group is not started by a look.
    other = KubernetesBackend(project)
    assert other.get_run(record.id).status is RunStatus.RUNNING
    assert step_jobs() == [first]
    # A round of its driver (another process: a new backend) starts the parallel group.
    assert other.advance_pipeline(record.id).status is RunStatus.RUNNING
    assert step_jobs() == sorted([first, a, b])
    finish(a)
    finish(b)
    other.advance_pipeline(record.id)
    assert step_jobs() == sorted([first, a, b, last])
    # Step runs are their own runs, linked to the pipeline and to its MLflow run.
    step = other.get_run(last)
    assert step.parent_id == record.id
    assert mlflow_run(mlflow_uri, step.mlflow_run_id).data.tags["mlflow.parentRunId"] == (
        record.mlflow_run_id
    )
    finish(last)
    assert KubernetesBackend(project).get_run(record.id).status is RunStatus.SUCCEEDED
    other.advance_pipeline(record.id)  # the driver's last round records the end
    done = KubernetesBackend(project).get_run(record.id)
    assert done.status is RunStatus.SUCCEEDED
    assert mlflow_run(mlflow_uri, record.mlflow_run_id).info.status == "FINISHED"


def test_failed_step_stops_the_pipeline(cluster: Kubelet, tmp_path: Path, mlflow_uri: str):
    backend, record, _ = submit_pipeline(tmp_path, mlflow_uri)
    first = record.step_ids[0]
    pod = cluster.pod_for(first)
    cluster.finished(pod, first, exit_code=3)
    failed = backend.get_run(record.id)
    assert failed.status is RunStatus.FAILED
    assert "prepare_data" in failed.reason and "exit code 3" in failed.reason
    names = [j["metadata"]["name"] for j in cluster.jobs()]
    assert record.step_ids[1] not in names and record.step_ids[3] not in names


def test_deploy_and_roll_a_new_version(cluster: Kubelet, quickstart) -> None:
    analysis, context = quickstart
    backend = KubernetesBackend(context.project_dir)
    deployment = analysis.project.models[0].deployment
    endpoint = backend.deploy("logreg", "1", context, deployment)
    assert endpoint.status is EndpointStatus.STARTING
    assert endpoint.version == "1"
    assert endpoint.url == f"http://ame-model-logreg.{NAMESPACE}.svc.cluster.local"
    assert "port-forward" in endpoint.extra["port_forward"]

    dep = cluster.apps.read_namespaced_deployment(
        "ame-model-logreg", NAMESPACE, _preload_content=False
    )
    dep = json.loads(dep.data)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert "models:/logreg/1" in container["command"][-1]
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert container["readinessProbe"]["httpGet"]["path"] == "/ping"

    # The deployment controller and kubelets bring the replica up.
    cluster.apps.patch_namespaced_deployment_status(
        "ame-model-logreg",
        NAMESPACE,
        {
            "status": {
                "replicas": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "availableReplicas": 1,
            }
        },
        _preload_content=False,
    )
    ready = backend.endpoint("logreg", context)
    assert ready.status is EndpointStatus.READY and ready.ready_replicas == 1

    # Version 2 rolls in: the old replica keeps serving until the new one is ready.
    rolling = backend.deploy("logreg", "2", context, deployment)
    dep = json.loads(
        cluster.apps.read_namespaced_deployment(
            "ame-model-logreg", NAMESPACE, _preload_content=False
        ).data
    )
    assert "models:/logreg/2" in dep["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    cluster.apps.patch_namespaced_deployment_status(
        "ame-model-logreg",
        NAMESPACE,
        {"status": {"replicas": 2, "readyReplicas": 1, "updatedReplicas": 1}},
        _preload_content=False,
    )
    rolling = backend.endpoint("logreg", context)
    assert rolling.status is EndpointStatus.STARTING
    assert rolling.version == "2"
    assert "rollout of version 2" in rolling.detail
    cluster.apps.patch_namespaced_deployment_status(
        "ame-model-logreg",
        NAMESPACE,
        {"status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1}},
        _preload_content=False,
    )
    assert backend.endpoint("logreg", context).status is EndpointStatus.READY
    assert [e.model for e in backend.list_endpoints(context)] == ["logreg"]

    backend.undeploy("logreg", context)
    assert backend.endpoint("logreg", context) is None


def test_ingress_when_host_is_set(cluster: Kubelet, quickstart) -> None:
    from ame_core.spec import Deployment

    analysis, context = quickstart
    backend = KubernetesBackend(context.project_dir)
    deployment = Deployment.model_validate(
        {"replicas": 2, "ingress": {"host": "logreg.example.com", "tls": True}}
    )
    endpoint = backend.deploy("logreg", "3", context, deployment)
    assert endpoint.url == "https://logreg.example.com"
    assert endpoint.replicas == 2
    with backend.open_url("logreg") as url:  # reachable from here: no port-forward needed
        assert url == "https://logreg.example.com"
    # Without a host the Ingress goes away again.
    backend.deploy("logreg", "3", context, Deployment.model_validate({"replicas": 2}))
    assert backend.endpoint("logreg", context).url.endswith(".svc.cluster.local")


def test_secrets_are_labelled_and_never_listed_with_values(cluster: Kubelet) -> None:
    from ame_core.runtime.kubernetes import secrets

    name = secrets.set_secret("db_password", "s3cr3t-value")
    assert name == "ame-secret-db-password"
    secrets.set_secret("db_password", "another-value")  # replaces
    assert secrets.list_secrets() == ["db_password"]
    obj = json.loads(
        cluster.core.read_namespaced_secret(name, NAMESPACE, _preload_content=False).data
    )
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ame"
    assert secrets.delete_secret("db_password") is True
    assert secrets.delete_secret("db_password") is False
    assert secrets.list_secrets() == []


def test_secret_commands_manage_cluster_secrets(cluster: Kubelet, monkeypatch, capsys) -> None:
    import io

    from ame_cli.main import main

    monkeypatch.setattr("sys.stdin", io.StringIO("t0ken-value\n"))
    assert main(["secret", "set", "api_token", "--backend", "kubernetes"]) == 0
    assert main(["--backend", "kubernetes", "secret", "list"]) == 0
    assert main(["secret", "delete", "api_token", "--backend", "kubernetes"]) == 0
    out = capsys.readouterr()
    assert out.out.split() == ["api_token"]
    assert "t0ken-value" not in out.out + out.err
    assert main(["secret", "delete", "api_token", "--backend", "kubernetes"]) == 2


def test_follow_logs_until_the_run_ends(cluster: Kubelet, quickstart) -> None:
    import threading

    backend, record, _ = submit_train(quickstart)
    pod = cluster.pod_for(record.id)
    cluster.running(pod, record.id)
    cluster.logs(pod, "line 1\n")

    def later() -> None:
        cluster.logs(pod, "line 1\nline 2\n")
        cluster.finished(pod, record.id)

    timer = threading.Timer(1.0, later)
    timer.start()
    try:
        chunks = list(backend.follow_logs(record.id, poll=0.2))
    finally:
        timer.cancel()
    # Each piece once, in order, although the stream was reconnected in between.
    assert "".join(c.text for c in chunks) == "line 1\nline 2\n"
    assert chunks[-1].offset == len("line 1\nline 2\n")
    # From an offset: only what comes after it.
    assert "".join(c.text for c in backend.follow_logs(record.id, offset=7)) == "line 2\n"


def test_following_a_quiet_run_stops_when_asked(cluster: Kubelet, quickstart) -> None:
    import threading

    # The console's log view asks this when its screen closes: a run that prints nothing
    # must not keep the reader polling until it ends.
    backend, record, _ = submit_train(quickstart)
    pod = cluster.pod_for(record.id)
    cluster.running(pod, record.id)
    cluster.logs(pod, "line 1\n")
    closed = threading.Event()
    timer = threading.Timer(1.0, closed.set)
    timer.start()
    try:
        chunks = list(backend.follow_logs(record.id, poll=0.2, stop=closed.is_set))
    finally:
        timer.cancel()
    assert closed.is_set()
    assert "".join(c.text for c in chunks) == "line 1\n"
    assert backend.get_run(record.id).status.finished is False  # it stopped, the run did not


def test_a_crashed_containers_previous_log_comes_first(cluster: Kubelet, quickstart) -> None:
    backend, record, _ = submit_train(quickstart)
    pod = cluster.pod_for(record.id)
    cluster.pod_status(
        pod,
        {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "task",
                    "ready": False,
                    "restartCount": 1,
                    "image": "python",
                    "imageID": "",
                    "state": {"running": {"startedAt": "2026-01-01T00:02:00Z"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                }
            ],
        },
    )
    cluster.logs(pod, "Traceback: boom\n", previous=True)
    cluster.logs(pod, "second attempt\n")
    assert backend.read_logs(record.id).text == "Traceback: boom\nsecond attempt\n"


def test_cancel_a_pipeline_cancels_its_running_steps(
    cluster: Kubelet, tmp_path: Path, mlflow_uri: str
) -> None:
    backend, record, project = submit_pipeline(tmp_path, mlflow_uri)
    first = record.step_ids[0]
    pod = cluster.pod_for(first)
    cluster.running(pod, first)
    cancelled = KubernetesBackend(project).cancel(record.id)
    assert cancelled.status is RunStatus.CANCELLED
    assert backend.get_run(first).status is RunStatus.CANCELLED
    assert cluster.jobs() == []
    assert mlflow_run(mlflow_uri, record.mlflow_run_id).info.status == "KILLED"
    # A cancelled pipeline starts nothing more, whoever looks at it.
    assert backend.get_run(record.id).status is RunStatus.CANCELLED
    assert cluster.jobs() == []


def test_mlflow_unreachable_when_the_run_ends_is_told_later(
    cluster: Kubelet, quickstart, tmp_path: Path
) -> None:
    analysis, context = quickstart
    record = KubernetesBackend(context.project_dir).submit(
        analysis.resolver.resolve_by_name("train_logreg"), context
    )
    pod = cluster.pod_for(record.id)
    cluster.finished(pod, record.id)
    # A process whose MLflow cannot be used sees the end first: the record keeps the truth...
    broken = KubernetesBackend(
        context.project_dir, tracking_uri=f"sqlite:///{tmp_path}/missing/dir/mlflow.db"
    )
    assert broken.get_run(record.id).status is RunStatus.SUCCEEDED
    assert mlflow_run(context.tracking_uri, record.mlflow_run_id).info.status == "RUNNING"
    # ...and the next look from a process that reaches MLflow ends the MLflow run.
    assert KubernetesBackend(context.project_dir).get_run(record.id).status is (RunStatus.SUCCEEDED)
    assert mlflow_run(context.tracking_uri, record.mlflow_run_id).info.status == "FINISHED"


def test_a_canary_of_mlflow_serving_is_a_second_deployment_under_the_service(
    cluster: Kubelet, tmp_path: Path
) -> None:
    import kubernetes_validate

    from ame_core.spec.models import Deployment

    backend = KubernetesBackend(tmp_path)
    context = RunContext(project_dir=tmp_path, project="quickstart", tracking_uri=CLUSTER_MLFLOW)
    served = Deployment(replicas=3)
    backend.deploy("logreg", "1", context, served)

    def deployments() -> dict[str, dict]:
        found = cluster.apps.list_namespaced_deployment(NAMESPACE, _preload_content=False)
        return {d["metadata"]["name"]: d for d in json.loads(found.data)["items"]}

    endpoint = backend.start_canary("logreg", "2", context, served, 20)
    found = deployments()
    assert set(found) == {"ame-model-logreg", "ame-model-logreg-canary"}
    canary = found["ame-model-logreg-canary"]
    for obj in found.values():
        kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
    # 3 stable pods: one canary pod takes about a quarter of the requests (said, approximate).
    assert canary["spec"]["replicas"] == 1
    assert endpoint.extra["canary"] == {
        "version": "2", "percent": 20, "pods": 1, "approximate_percent": 25.0
    }  # fmt: skip
    labels = canary["spec"]["template"]["metadata"]["labels"]
    service = json.loads(
        cluster.core.read_namespaced_service(
            "ame-model-logreg", NAMESPACE, _preload_content=False
        ).data
    )
    assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
    assert canary["spec"]["selector"]["matchLabels"]["ame.dev/track"] == "canary"
    assert "models:/logreg/2" in canary["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert [e.version for e in backend.list_endpoints(context)] == ["1"]  # one endpoint

    from dataclasses import replace

    backend.promote_canary("logreg", replace(context, model_version="2"), served)
    found = deployments()
    assert set(found) == {"ame-model-logreg"}
    assert found["ame-model-logreg"]["metadata"]["annotations"]["ame.dev/model-version"] == "2"

    backend.start_canary("logreg", "3", context, served, 20)
    backend.abort_canary("logreg", replace(context, model_version="3"), served, "2")
    found = deployments()
    assert set(found) == {"ame-model-logreg"}
    assert found["ame-model-logreg"]["metadata"]["annotations"]["ame.dev/model-version"] == "2"

    backend.start_canary("logreg", "3", context, served, 20)
    backend.undeploy("logreg", context)
    assert deployments() == {}
