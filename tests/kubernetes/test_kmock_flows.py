"""Flows on the Kubernetes backend, against kmock: the driver Job, a pipeline carried on by the
in-cluster driver's code with no client reading it, and a vanished driver resumed by a look.

kmock runs no pods: the tests run the driver's code here (`flow_driver.drive`, the command of
the driver Job) against kmock, the way the pod would, and play the kubelet for the step Jobs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from k8s_harness import NAMESPACE, Kubelet, load_example

from ame_core.flows import control
from ame_core.flows.records import FlowRecord, FlowStatus
from ame_core.runtime.backend import RunContext, RunStatus
from ame_core.runtime.kubernetes import flow_driver, wheel
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes.backend import KubernetesBackend
from ame_core.runtime.kubernetes.settings import KubeSettings

K8S_VERSION = kubernetes_validate.latest_version()
CLUSTER_URI = "http://mlflow.ame.svc:5000"


def validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def flow_record(kubelet: Kubelet, flow_id: str) -> FlowRecord:
    obj = json.loads(
        kubelet.core.read_namespaced_config_map(
            f"ame-{flow_id}", NAMESPACE, _preload_content=False
        ).data
    )
    return FlowRecord.from_json(json.loads(obj["data"]["record.json"]))


def driver_jobs(kubelet: Kubelet) -> list[dict[str, Any]]:
    return [
        j
        for j in kubelet.jobs()
        if j["metadata"]["labels"].get("app.kubernetes.io/component") == "flow-driver"
    ]


@pytest.fixture
def pipeline(tmp_path: Path, mlflow_uri: str):
    project, analysis = load_example("pipeline", tmp_path)
    context = RunContext(project_dir=project, project="pipeline_demo", tracking_uri=mlflow_uri)
    return project, analysis.resolver.resolve_by_name("full_pipeline"), context


# --- the driver Job ---------------------------------------------------------------------------


def _spec(**kw: Any) -> m.DriverSpec:
    base: dict[str, Any] = {
        "flow_id": "flow-20260101-000000-abcdef",
        "kind": "train",
        "project": "quick_start",
        "namespace": "ml",
        "attempt": 1,
        "image": "python:3.11-slim",
        "tracking_uri": CLUSTER_URI,
        "mlflow_image": "ghcr.io/mlflow/mlflow:v3",
        "git_image": "alpine/git:v2.47.2",
        "ame_version": "0.1.0",
        "code": m.CodeSource(kind="mlflow", mlflow_run_id="abc"),
        "wheel_run_id": "abc",
        "wheel": "ame_console-0.1.0-py3-none-any.whl",
        "env": {"AME_K8S_CODE": "mlflow"},
        "service_account": "ame-flow-driver",
    }
    base.update(kw)
    return m.DriverSpec(**base)


def test_driver_job_with_the_shipped_wheel_is_valid() -> None:
    job = m.driver_job(_spec())
    validate(job)
    assert job["metadata"]["name"] == "ame-flow-20260101-000000-abcdef-1"
    assert len(job["metadata"]["name"]) <= 52
    assert job["spec"]["backoffLimit"] == 0
    labels = job["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "ame"
    assert labels["ame.dev/flow-id"] == "flow-20260101-000000-abcdef"
    assert labels["app.kubernetes.io/component"] == "flow-driver"
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ame-flow-driver"
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-code", "fetch-ame"]
    assert "ame/driver/ame_console-0.1.0-py3-none-any.whl" in pod["initContainers"][1]["command"][2]
    driver = pod["containers"][0]
    assert driver["image"] == "python:3.11-slim"
    script = driver["command"][2]
    assert "pip install" in script and "/workspace/ame-dist/ame_console-0.1.0" in script
    assert "exec python -m ame_core.runtime.kubernetes.flow_driver" in script
    assert "--project-dir /workspace/project" in script
    assert driver["resources"]["limits"]["memory"] == "1Gi"
    env = {e["name"]: e.get("value") for e in driver["env"]}
    assert env["MLFLOW_TRACKING_URI"] == CLUSTER_URI and env["AME_CLIENT_VERSION"] == "0.1.0"
    # Credentials only by reference: an optional Secret, never a value in the Job.
    assert driver["envFrom"] == [{"secretRef": {"name": "ame-flow-driver-env", "optional": True}}]


def test_driver_job_with_a_driver_image_is_valid() -> None:
    job = m.driver_job(
        _spec(
            image="ghcr.io/acme/ame:0.1.0",
            wheel=None,
            wheel_run_id=None,
            code=None,
            kind="pipeline",
            attempt=3,
        )
    )
    validate(job)
    assert job["metadata"]["name"].endswith("-3")
    pod = job["spec"]["template"]["spec"]
    assert "initContainers" not in pod  # a pipeline's driver needs neither code nor a wheel
    assert pod["containers"][0]["command"][:3] == [
        "python",
        "-m",
        "ame_core.runtime.kubernetes.flow_driver",
    ]


def test_the_shipped_wheel_is_the_running_ame(tmp_path: Path) -> None:
    name, data = wheel.build()
    assert name == f"ame_console-{wheel.ame_version()}-py3-none-any.whl"
    assert wheel.build()[1] == data  # deterministic
    path = tmp_path / name
    path.write_bytes(data)
    import zipfile

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        metadata = archive.read(f"ame_console-{wheel.ame_version()}.dist-info/METADATA").decode()
    assert "ame_core/runtime/kubernetes/flow_driver.py" in names
    assert not any(n.startswith(("ame_tui/", "ame_lsp/")) or "__pycache__" in n for n in names)
    assert "Requires-Dist: kubernetes" in metadata and "textual" not in metadata
    # A pure wheel is importable as it is: the driver's entry point loads from it alone.
    out = subprocess.run(
        [sys.executable, "-S", "-c", "import ame_core.runtime.kubernetes.flow_driver as d; "
         "print(d.__file__)"],
        env={"PYTHONPATH": str(path)},
        cwd=tmp_path,  # not the checkout: the wheel alone
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert name in out.stdout


def test_pipeline_submit_creates_its_flow_and_driver_job(cluster: Kubelet, pipeline) -> None:
    project, task, context = pipeline
    backend = KubernetesBackend(project)
    record = backend.submit(task, context)
    flows = control.listing(backend.flow_store())
    assert [(f.kind, f.params["run_id"]) for f in flows] == [("pipeline", record.id)]
    (job,) = driver_jobs(cluster)
    validate(job)
    assert job["metadata"]["name"] == f"ame-{flows[0].id}-1"
    pod = job["spec"]["template"]["spec"]
    # No driver image named: python:<this Python>-slim installs the wheel from the pipeline's
    # own MLflow run, where the code already is.
    assert pod["containers"][0]["image"] == (
        f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"
    )
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-ame"]
    env = {e["name"]: e["value"] for e in pod["initContainers"][0]["env"]}
    assert env["AME_DRIVER_RUN_ID"] == record.mlflow_run_id
    from ame_core.tracking import client

    shipped = [
        f.path
        for f in client(context.tracking_uri).list_artifacts(record.mlflow_run_id, "ame/driver")
    ]
    assert shipped == [f"ame/driver/{wheel.wheel_name()}"]
    # The driver Job is no run.
    assert {r.id for r in backend.list_runs("pipeline_demo")} == {record.id, record.step_ids[0]}


def test_a_missing_driver_service_account_fails_the_flow_in_one_line(
    cluster: Kubelet, pipeline, monkeypatch
) -> None:
    project, task, context = pipeline
    monkeypatch.setenv("AME_K8S_DRIVER_SERVICE_ACCOUNT", "nobody")
    from ame_core.runtime.backend import BackendError

    with pytest.raises(BackendError) as err:
        KubernetesBackend(project).submit(task, context)
    message = str(err.value)
    assert "ServiceAccount 'nobody'" in message and "deploy/rbac.yaml" in message
    assert "\n" not in message


# --- a pipeline carried on by its driver, with no client reading it -----------------------------


class StepKubelet(threading.Thread):
    """Runs every step Job it sees (pod, running, succeeded), in the order they appear."""

    def __init__(self, kubelet: Kubelet, pipeline_id: str) -> None:
        super().__init__(daemon=True)
        self.kubelet = kubelet
        self.pipeline_id = pipeline_id
        self.order: list[list[str]] = []
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        seen: set[str] = set()
        while not self.stop.is_set():
            try:
                new = sorted(
                    j["metadata"]["name"]
                    for j in self.kubelet.jobs()
                    if j["metadata"]["labels"].get("ame.dev/parent-run-id") == self.pipeline_id
                    and j["metadata"]["name"] not in seen
                )
                if new:
                    self.order.append(new)
                for name in new:
                    seen.add(name)
                    pod = self.kubelet.pod_for(name)
                    self.kubelet.running(pod, name)
                    self.kubelet.finished(pod, name)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return
            time.sleep(0.1)


def test_a_pipeline_advances_with_no_client_reading_it(
    cluster: Kubelet, pipeline, monkeypatch
) -> None:
    project, task, context = pipeline
    record = KubernetesBackend(project).submit(task, context)
    first, a, b, last = record.step_ids
    (job,) = driver_jobs(cluster)
    flow_id = job["metadata"]["labels"]["ame.dev/flow-id"]

    # From here on no client reads the pipeline: any get_run / list_runs would be a client.
    reads: list[str] = []
    get_run, list_runs = KubernetesBackend.get_run, KubernetesBackend.list_runs
    monkeypatch.setattr(KubernetesBackend, "get_run", lambda self, run_id: reads.append(run_id))
    monkeypatch.setattr(KubernetesBackend, "list_runs", lambda self, p=None: reads.append("list"))
    from ame_core.flows import engine

    monkeypatch.setattr(engine, "POLL_SECONDS", 0.05)
    kubelet = StepKubelet(cluster, record.id)
    kubelet.start()
    # What the driver pod runs: its command's code, on the cluster's MLflow.
    outcome: list[int] = []
    driver = threading.Thread(
        target=lambda: outcome.append(
            flow_driver.drive(
                flow_id,
                namespace=NAMESPACE,
                job=job["metadata"]["name"],
                project_dir=None,
                tracking_uri=context.tracking_uri,
            )
        ),
        daemon=True,
    )
    driver.start()
    driver.join(timeout=90)
    kubelet.stop.set()
    kubelet.join(timeout=10)
    assert not kubelet.errors, kubelet.errors
    assert outcome == [0]
    assert reads == []
    # The groups started in order: the first (at submit), then the parallel pair, then the last.
    seen = [name for batch in kubelet.order for name in batch]
    assert sorted(seen) == sorted([first, a, b, last])
    assert seen[0] == first and set(seen[1:3]) == {a, b} and seen[3] == last
    flow = flow_record(cluster, flow_id)
    assert flow.status is FlowStatus.SUCCEEDED, flow.reason
    assert flow.steps[0].run_id == record.id
    monkeypatch.setattr(KubernetesBackend, "get_run", get_run)
    monkeypatch.setattr(KubernetesBackend, "list_runs", list_runs)
    done = KubernetesBackend(project).get_run(record.id)
    assert done.status is RunStatus.SUCCEEDED
    from ame_core.tracking import client

    assert client(context.tracking_uri).get_run(record.mlflow_run_id).info.status == "FINISHED"


# --- a driver that vanished is noticed and its flow resumed -------------------------------------


def test_a_vanished_driver_is_resumed_by_the_next_look(cluster: Kubelet, pipeline) -> None:
    project, task, context = pipeline
    backend = KubernetesBackend(project)
    backend.submit(task, context)
    (job,) = driver_jobs(cluster)
    flow_id = job["metadata"]["labels"]["ame.dev/flow-id"]
    store = backend.flow_store()
    # Young and without a pod yet: alive (the Job controller has not made its pod).
    assert control.get(store, flow_id).resumes == 0
    assert len(driver_jobs(cluster)) == 1

    # The driver Job and its pod disappear (deleted, node lost): the next look resumes it.
    cluster.batch.delete_namespaced_job(job["metadata"]["name"], NAMESPACE, _preload_content=False)
    resumed = control.get(KubernetesBackend(project).flow_store(), flow_id[-6:])
    assert resumed.resumes == 1
    assert resumed.status is FlowStatus.PENDING
    assert resumed.driver["job"] == f"ame-{flow_id}-2"
    assert "resumed (attempt 2)" in resumed.events[-1]["text"]
    (second,) = driver_jobs(cluster)
    validate(second)
    assert second["metadata"]["name"] == f"ame-{flow_id}-2"
    # The resumed driver gets what the first one was given: the same shipped ame.
    init = {
        e["name"]: e["value"]
        for e in second["spec"]["template"]["spec"]["initContainers"][0]["env"]
    }
    first_init = {
        e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["initContainers"][0]["env"]
    }
    assert init == first_init

    # Its pod runs, then is evicted (Failed) with the flow unfinished: resumed again.
    pod = cluster.pod_for(second["metadata"]["name"])
    cluster.pod_status(pod, {"phase": "Running"})
    assert control.get(store, flow_id).resumes == 1  # a running pod: alive
    cluster.pod_status(pod, {"phase": "Failed", "reason": "Evicted"})
    assert [f.resumes for f in control.listing(store)] == [2]
    assert {j["metadata"]["name"] for j in driver_jobs(cluster)} == {
        f"ame-{flow_id}-2",
        f"ame-{flow_id}-3",
    }

    # A look from two processes at once still makes one next attempt (deterministic names).
    for name in (f"ame-{flow_id}-2", f"ame-{flow_id}-3"):
        cluster.batch.delete_namespaced_job(name, NAMESPACE, _preload_content=False)
    control.get(store, flow_id)
    control.get(KubernetesBackend(project).flow_store(), flow_id)
    assert [j["metadata"]["name"] for j in driver_jobs(cluster)] == [f"ame-{flow_id}-4"]
    assert flow_record(cluster, flow_id).resumes == 3

    # After MAX_RESUMES the flow is failed with the reason, never left running.
    cluster.batch.delete_namespaced_job(f"ame-{flow_id}-4", NAMESPACE, _preload_content=False)
    failed = control.get(store, flow_id)
    assert failed.status is FlowStatus.FAILED
    assert "vanished 4 times" in failed.reason


def test_cancel_a_flow_on_the_cluster(cluster: Kubelet, pipeline) -> None:
    project, task, context = pipeline
    backend = KubernetesBackend(project)
    record = backend.submit(task, context)
    (job,) = driver_jobs(cluster)
    flow_id = job["metadata"]["labels"]["ame.dev/flow-id"]
    store = backend.flow_store()
    store.request_cancel(flow_id)
    assert store.cancel_requested(flow_id)
    # The driver is gone: the look cancels the flow and its current run (the pipeline).
    cluster.batch.delete_namespaced_job(job["metadata"]["name"], NAMESPACE, _preload_content=False)
    cancelled = control.get(store, flow_id, backend)
    assert cancelled.status is FlowStatus.CANCELLED
    # Its driver never ran (it never recorded the pipeline on its step): the pipeline run is
    # cancelled all the same, with the first group's Job.
    assert backend.get_run(record.id).status is RunStatus.CANCELLED
    assert backend.get_run(record.step_ids[0]).status is RunStatus.CANCELLED
    assert not [j for j in cluster.jobs() if j["metadata"]["name"] == record.step_ids[0]]


def test_the_driver_refuses_another_ame_version(cluster: Kubelet, pipeline, monkeypatch) -> None:
    project, task, context = pipeline
    monkeypatch.setenv("AME_K8S_DRIVER_IMAGE", "ghcr.io/acme/ame:0.0.9")
    KubernetesBackend(project).submit(task, context)
    (job,) = driver_jobs(cluster)
    flow_id = job["metadata"]["labels"]["ame.dev/flow-id"]
    assert "initContainers" not in job["spec"]["template"]["spec"]  # the image has ame
    monkeypatch.setattr(wheel, "ame_version", lambda: "0.0.9")  # what that image would run
    code = flow_driver.drive(
        flow_id,
        namespace=NAMESPACE,
        job=job["metadata"]["name"],
        project_dir=None,
        tracking_uri=context.tracking_uri,
    )
    assert code == 1
    flow = flow_record(cluster, flow_id)
    assert flow.status is FlowStatus.FAILED
    assert "runs ame 0.0.9 but the flow was started by ame" in flow.reason


def test_settings_reach_the_driver(cluster: Kubelet, pipeline, monkeypatch) -> None:
    project, task, context = pipeline
    monkeypatch.setenv("AME_K8S_TTL", "600")
    monkeypatch.setenv("AME_K8S_IMAGE_PIP", "ghcr.io/acme/py:{python}")
    KubernetesBackend(project).submit(task, context)
    (job,) = driver_jobs(cluster)
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    # The driver submits runs the way this client would.
    again = KubeSettings.from_env({k: v for k, v in env.items() if v is not None})
    assert again.ttl_seconds == 600 and again.images == {"pip": "ghcr.io/acme/py:{python}"}
    assert env["AME_CLUSTER_MLFLOW_URI"] == CLUSTER_URI
    assert job["spec"]["ttlSecondsAfterFinished"] == 600


def test_a_driver_that_cannot_read_the_project_fails_the_flow_with_where(
    cluster: Kubelet, tmp_path: Path, mlflow_uri: str
) -> None:
    # A validate flow's driver got code whose ame.yml is broken (it was edited after the
    # flow started, or the code shipped is not what the client read): the flow fails with
    # file:line:col, it does not hang or leave the flow running.
    project = tmp_path / "broken"
    project.mkdir()
    (project / "ame.yml").write_text("project: broken\nmodels:\n  - name: logreg\n    bad: [\n")
    store = KubernetesBackend(project).flow_store()
    record = FlowRecord.new(
        "flow-20261202-000000-abcdef",
        "validate",
        "broken",
        "kubernetes",
        model="logreg",
        params={"version": "1"},
    )
    record.driver = {"job": "ame-flow-20261202-000000-abcdef-1", "attempt": 1}
    store.write(record)
    code = flow_driver.drive(
        record.id,
        namespace=NAMESPACE,
        job=record.driver["job"],
        project_dir=project,
        tracking_uri=mlflow_uri,
    )
    assert code == 1
    failed = flow_record(cluster, record.id)
    assert failed.status is FlowStatus.FAILED
    assert failed.reason.startswith("cannot open the project: ")
    assert "ame.yml:" in failed.reason and "Traceback" not in failed.reason
    assert all(s.status.value == "skipped" for s in failed.steps)


def test_a_scheduled_driver_without_its_shipment_says_so(monkeypatch, capsys) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", CLUSTER_URI)
    monkeypatch.delenv("AME_FLOW_SHIP", raising=False)
    monkeypatch.delenv("AME_DRIVER_JOB", raising=False)
    argv = ["--new", "monitor", "--model", "logreg", "--project", "quickstart"]
    assert flow_driver.main(argv) == 1
    assert "its Job's name (--job or AME_DRIVER_JOB)" in capsys.readouterr().err
    monkeypatch.setenv("AME_DRIVER_JOB", "ame-quickstart-monitor-logreg-1")
    monkeypatch.setenv("AME_FLOW_SHIP", "{not json")
    assert flow_driver.main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "what `ame schedule apply` shipped (AME_FLOW_SHIP)" in err
    with pytest.raises(SystemExit):  # a flow id and --new at once
        flow_driver.main(["flow-1", *argv])
