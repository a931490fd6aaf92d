"""The `ame` commands of the kubernetes backend: dry runs, `ame cluster check`, schedules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from k8s_harness import NAMESPACE, KmockServer, Kubelet, load_example, write_kubeconfig

from ame_cli.main import main

K8S_VERSION = kubernetes_validate.latest_version()


def ame(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ame_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_task_dry_run_prints_valid_yaml_and_touches_nothing(
    kmock_server: KmockServer, tmp_path: Path
) -> None:
    project, _ = load_example("quickstart", tmp_path)
    before = sorted(p.name for p in project.iterdir())
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kmock_server.url, namespace="ml")
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "MLFLOW_TRACKING_URI": "http://mlflow.example.com",
    }
    env.pop("AME_CLUSTER_MLFLOW_URI", None)
    out = ame(
        "--project", str(project), "--backend", "kubernetes",
        "task", "run", "train_logreg", "--dry-run",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert [d["kind"] for d in docs] == ["Job", "ConfigMap"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        assert doc["metadata"]["namespace"] == "ml"  # the context's namespace
    env_vars = {
        e["name"]: e.get("value")
        for e in docs[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env_vars["MLFLOW_TRACKING_URI"] == "http://mlflow.example.com"
    # Nothing touched: no request reached the cluster, no MLflow store, no files.
    assert len(list(kmock_server.handler)) == 0
    assert sorted(p.name for p in project.iterdir()) == before


def test_pipeline_dry_run_with_namespace_option(tmp_path: Path, monkeypatch, capsys) -> None:
    project, _ = load_example("pipeline", tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))  # no cluster at all
    code = main(
        ["--project", str(project), "--backend", "kubernetes", "--namespace", "team-a",
         "task", "run", "full_pipeline", "--dry-run"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    docs = [d for d in yaml.safe_load_all(out) if d]
    # The pipeline's record, its steps' Jobs, then the flow's record and its driver's Job.
    kinds = ["ConfigMap", "Job", "Job", "Job", "Job", "ConfigMap", "Job"]
    assert [d["kind"] for d in docs] == kinds
    assert {d["metadata"]["namespace"] for d in docs} == {"team-a"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    record, flow, driver = docs[0], docs[-2], docs[-1]
    flow_id = flow["metadata"]["labels"]["ame.dev/flow-id"]
    assert json.loads(record["data"]["record.json"])["flow_id"] == flow_id
    assert driver["metadata"]["name"] == f"ame-{flow_id}-1"
    pod = driver["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ame-flow-driver"
    # No driver image named: python:<this Python>-slim installs the shipped ame wheel.
    command = pod["containers"][0]["command"][-1]
    assert "pip install" in command and ".whl" in command
    assert "ServiceAccount ame-flow-driver" in out


def test_deploy_dry_run_needs_no_registry(tmp_path: Path, monkeypatch, capsys) -> None:
    project, _ = load_example("quickstart", tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    code = main(
        ["--project", str(project), "--backend", "kubernetes", "--namespace", "ml",
         "--mlflow-uri", "http://mlflow.ml.svc:5000",
         "model", "deploy", "logreg", "--version", "42", "--dry-run"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert [d["kind"] for d in docs] == ["Deployment", "Service"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    command = docs[0]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "models:/logreg/42" in command
    assert not (project / ".ame").exists()


def test_kserve_deploy_dry_run_from_the_command_line(tmp_path: Path, monkeypatch, capsys) -> None:
    project, _ = load_example("quickstart", tmp_path)
    text = (project / "ame.yml").read_text()
    assert "    deployment:\n" in text
    (project / "ame.yml").write_text(
        text.replace("    deployment:\n", "    deployment:\n      serving: kserve\n", 1)
    )
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    code = main(
        ["--project", str(project), "--backend", "kubernetes", "--namespace", "ml",
         "--mlflow-uri", "http://mlflow.ml.svc:5000",
         "model", "deploy", "logreg", "--version", "42", "--dry-run"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    [doc] = [d for d in yaml.safe_load_all(out) if d]
    assert (doc["apiVersion"], doc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert doc["spec"]["predictor"]["model"]["modelFormat"]["name"] == "mlflow"
    assert doc["spec"]["predictor"]["model"]["protocolVersion"] == "v2"
    assert not (project / ".ame").exists()

    # The local backend does not run KServe: refused at once, before any flow, in one line.
    code = main(["--project", str(project), "model", "deploy", "logreg", "--version", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == (
        "ame: model logreg: serving 'kserve' does not run on the local backend (it runs "
        "mlflow, mlserver); deploy with --backend kubernetes"
    )
    assert not (project / ".ame" / "flows").exists()


class AccessReviews:
    """Answers access reviews as an authoriser would: the caller (SelfSubjectAccessReview) may
    do all but `denied`; a ServiceAccount (LocalSubjectAccessReview) all but `driver_denied`.
    Installed once (kmock answers with the first matching reaction); change the sets."""

    def __init__(self, server: KmockServer) -> None:
        self.denied: set[tuple[str, str]] = set()
        self.driver_denied: set[tuple[str, str]] = set()
        self.users: list[str] = []
        reviews = "/apis/authorization.k8s.io/v1"
        server.call(
            lambda: (
                server.handler[f"post {reviews}/selfsubjectaccessreviews"] << self._own,
                server.handler[f"post {reviews}/namespaces/{NAMESPACE}/localsubjectaccessreviews"]
                << self._account,
            )
        )

    @staticmethod
    def _answer(request: Any, deny: set[tuple[str, str]]) -> dict[str, Any]:
        attrs = request.data["spec"]["resourceAttributes"]
        resource = attrs["resource"] + (
            f"/{attrs['subresource']}" if attrs.get("subresource") else ""
        )
        allowed = (attrs["verb"], resource) not in deny
        return {**request.data, "status": {"allowed": allowed}}

    def _own(self, request: Any) -> dict[str, Any]:
        return self._answer(request, self.denied)

    def _account(self, request: Any) -> dict[str, Any]:
        self.users.append(request.data["spec"]["user"])
        return self._answer(request, self.driver_denied)


def test_cluster_check_table(
    cluster: Kubelet, kmock_server: KmockServer, tmp_path: Path, capsys
) -> None:
    # kmock cannot parse the namespaces URLs of the core API: answer that read explicitly.
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    kmock_server.call(
        lambda: kmock_server.handler[f"get /api/v1/namespaces/{NAMESPACE}"] << namespace
    )
    cluster.core.create_node(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "gpu-node"},
            "status": {"allocatable": {"cpu": "16", "nvidia.com/gpu": "2"}},
        },
        _preload_content=False,
    )
    reviews = AccessReviews(kmock_server)
    reviews.denied = {("delete", "secrets")}
    code = main(
        ["cluster", "check", "--cluster-mlflow-uri", "http://mlflow.ame-test.svc:5000", "--json"]
    )
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert code == 1
    assert checks["API server"]["status"] == "ok"
    assert checks["namespace"]["status"] == "ok"
    assert checks["permission jobs.batch"]["status"] == "ok"
    assert checks["permission secrets"]["status"] == "fail"
    assert "missing: delete" in checks["permission secrets"]["detail"]
    assert "deploy/rbac.yaml" in checks["permission secrets"]["fix"]
    assert checks["GPUs"]["detail"].startswith("2 nvidia.com/gpu allocatable on 1 of 1")
    assert checks["MLflow for tasks"]["status"] == "ok"
    # The flow drivers' account (deploy/rbac.yaml, applied by the fixture) may do its job.
    assert checks["flow driver ame-flow-driver"]["status"] == "ok"
    assert checks["flow driver ame-flow-driver"]["detail"].startswith("exists; may do all")

    # Its Role lacks two verbs: asked as that account, each named.
    reviews.denied = set()
    reviews.driver_denied = {("delete", "jobs"), ("get", "pods/log")}
    code = main(
        ["cluster", "check", "--cluster-mlflow-uri", "http://mlflow.ame-test.svc:5000", "--json"]
    )
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert code == 1
    driver = checks["flow driver ame-flow-driver"]
    assert driver["status"] == "fail"
    assert driver["detail"].startswith("may not: delete jobs.batch, get pods/log;")
    assert "Role ame-flow-driver" in driver["fix"]
    assert set(reviews.users) == {f"system:serviceaccount:{NAMESPACE}:ame-flow-driver"}
    assert all(c["status"] == "ok" for n, c in checks.items() if n.startswith("permission"))

    # No such account: flows cannot start, and it says what to apply.
    cluster.core.delete_namespaced_service_account(
        "ame-flow-driver", NAMESPACE, _preload_content=False
    )
    code = main(
        ["cluster", "check", "--cluster-mlflow-uri", "http://mlflow.ame-test.svc:5000", "--json"]
    )
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert code == 1
    driver = checks["flow driver ame-flow-driver"]
    assert driver["status"] == "fail"
    assert "cannot start" in driver["detail"]
    assert f"kubectl -n {NAMESPACE} apply -f deploy/rbac.yaml" in driver["fix"]

    # As a table, with a local-only MLflow store (a failure with what to do).
    code = main(["cluster", "check", "--cluster-mlflow-uri", "sqlite:///tmp/x.db"])
    table = capsys.readouterr().out
    assert code == 1
    assert table.splitlines()[0].split() == ["CHECK", "STATUS", "DETAIL", "WHAT", "TO", "DO"]
    assert "deploy/mlflow.yaml" in table


def test_cluster_check_unreachable(tmp_path: Path, monkeypatch, capsys) -> None:
    from ame_core.net import free_port

    port = free_port()  # nothing listens there
    monkeypatch.setenv(
        "KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{port}"))
    )
    assert main(["cluster", "check"]) == 1
    out = capsys.readouterr().out
    assert "API server" in out and "FAIL" in out and "cannot reach the Kubernetes API" in out


def test_monitoring_schedule_dry_run(tmp_path: Path, monkeypatch, capsys) -> None:
    project, _ = load_example("quickstart", tmp_path)
    ame_yml = project / "ame.yml"
    ame_yml.write_text(
        ame_yml.read_text().replace(
            "      window: 1h", '      schedule: "*/30 * * * *"\n      window: 1h'
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))  # no cluster at all
    monkeypatch.setenv("AME_K8S_DRIVER_IMAGE", "ghcr.io/acme/ame:1")
    assert main(["--project", str(project), "schedule", "apply", "--dry-run"]) == 0
    (cron,) = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    kubernetes_validate.validate(cron, K8S_VERSION, strict=True)
    assert cron["kind"] == "CronJob" and cron["spec"]["schedule"] == "*/30 * * * *"
    assert cron["metadata"]["annotations"]["ame.dev/task-name"] == "monitor:logreg"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (driver,) = pod["containers"]
    assert driver["image"] == "ghcr.io/acme/ame:1"
    command = driver["command"]
    assert command[:3] == ["python", "-m", "ame_core.runtime.kubernetes.flow_driver"]
    assert command[command.index("--new") :][:5] == [
        "--new",
        "monitor",
        "--model",
        "logreg",
        "--project",
    ]
    ship = json.loads(next(e["value"] for e in driver["env"] if e["name"] == "AME_FLOW_SHIP"))
    assert ship["code"]["mlflow_run_id"] == "<created-at-submit>"  # nothing was uploaded


SCHEDULED = """\
project: nightly
tasks:
  - name: retrain
    executor: !pip
      pythonVersion: "3.11"
      command: python train.py
    triggers:
      schedule: "30 1 * * *"
"""


def test_schedule_apply_list_delete(
    cluster: Kubelet, tmp_path: Path, mlflow_uri: str, capsys
) -> None:
    project = tmp_path / "nightly"
    project.mkdir()
    (project / "ame.yml").write_text(SCHEDULED)
    (project / "train.py").write_text("print('train')\n")
    base = ["--project", str(project), "--mlflow-uri", mlflow_uri]
    assert main([*base, "schedule", "apply"]) == 0
    assert "applied CronJob ame-nightly-retrain" in capsys.readouterr().out
    crons = json.loads(
        cluster.batch.list_namespaced_cron_job(NAMESPACE, _preload_content=False).data
    )["items"]
    assert [c["spec"]["schedule"] for c in crons] == ["30 1 * * *"]
    kubernetes_validate.validate(crons[0], K8S_VERSION, strict=True)

    assert main([*base, "schedule", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["task"]) for s in listed] == [("ame-nightly-retrain", "retrain")]

    # The CronJob controller starts a Job from the template: any ame process sees the run.
    template = crons[0]["spec"]["jobTemplate"]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "ame-nightly-retrain-29410530",
            "labels": template["metadata"]["labels"],
            "annotations": crons[0]["metadata"]["annotations"],
        },
        "spec": template["spec"],
    }
    cluster.batch.create_namespaced_job(NAMESPACE, job, _preload_content=False)
    pod = cluster.pod_for("ame-nightly-retrain-29410530")
    cluster.running(pod, "ame-nightly-retrain-29410530")
    from ame_core.runtime.backend import RunStatus
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

    runs = KubernetesBackend(project).list_runs("nightly")
    assert [(r.id, r.task, r.kind, r.status) for r in runs] == [
        ("ame-nightly-retrain-29410530", "retrain", "scheduled", RunStatus.RUNNING)
    ]
    assert KubernetesBackend(project).get_run(runs[0].id).status is RunStatus.RUNNING

    # The schedule changes: apply updates the CronJob.
    (project / "ame.yml").write_text(SCHEDULED.replace("30 1", "0 3"))
    assert main([*base, "schedule", "apply"]) == 0
    capsys.readouterr()
    crons = json.loads(
        cluster.batch.list_namespaced_cron_job(NAMESPACE, _preload_content=False).data
    )["items"]
    assert [c["spec"]["schedule"] for c in crons] == ["0 3 * * *"]

    assert main([*base, "schedule", "delete"]) == 0
    assert "deleted CronJob ame-nightly-retrain" in capsys.readouterr().out
    assert main([*base, "schedule", "list"]) == 0
    assert "no schedules" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["cluster"], ["schedule"]])
def test_group_without_subcommand_prints_help(command: list[str], capsys) -> None:
    assert main(command) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_schedule_dry_run(tmp_path: Path, monkeypatch, capsys) -> None:
    project = tmp_path / "nightly"
    project.mkdir()
    (project / "ame.yml").write_text(SCHEDULED)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    assert main(["--project", str(project), "schedule", "apply", "--dry-run"]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert [d["kind"] for d in docs] == ["CronJob"]
    kubernetes_validate.validate(docs[0], K8S_VERSION, strict=True)
