"""Every object ame would create, validated against the official schemas (kubernetes-validate,
strict, the newest Kubernetes it knows), plus what each field must say. Pure: no cluster."""

from __future__ import annotations

import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from k8s_harness import EXAMPLES, load_example

from ame_core.runtime.backend import BackendError, RunContext, RunStatus
from ame_core.runtime.kubernetes import code, dry_run, names, plans, render, status
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes.cluster_check import DRIVER_PERMISSIONS, PERMISSIONS
from ame_core.runtime.kubernetes.settings import KubeSettings

K8S_VERSION = kubernetes_validate.latest_version()
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CLUSTER_URI = "http://mlflow.ame.svc:5000"


def validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_a_current_kubernetes_version_is_used() -> None:
    major, minor = (int(x) for x in K8S_VERSION.split(".")[:2])
    assert (major, minor) >= (1, 33)


@pytest.fixture
def settings() -> KubeSettings:
    return KubeSettings.from_env({}, cluster_mlflow_uri=CLUSTER_URI)


def context_for(project: Path, name: str, **kw) -> RunContext:
    return RunContext(project_dir=project, project=name, tracking_uri="sqlite:///x.db", **kw)


def test_task_job(tmp_path: Path, settings: KubeSettings) -> None:
    project, analysis = load_example("quickstart", tmp_path)
    resolved = analysis.resolver.resolve_by_name("validate_logreg")
    context = context_for(
        project,
        "quickstart",
        kind="validation",
        env={"AME_MODEL_NAME": "logreg", "AME_MODEL_VERSION": "3"},
        model_name="logreg",
        model_version="3",
    )
    plan = plans.plan_task(
        resolved,
        context,
        settings,
        namespace="ml",
        code=m.CodeSource(kind="mlflow", mlflow_run_id="abc"),
        cluster_uri=CLUSTER_URI,
        mlflow_run_id="abc",
        mlflow_experiment_id="7",
    )
    job = plan.job
    validate(job)
    validate(plans.record_object("ml", plan.record))
    meta = job["metadata"]
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "ame"
    assert meta["labels"]["ame.dev/task"] == "validate-logreg"
    assert meta["labels"]["ame.dev/run-id"] == plan.run_id == meta["name"]
    assert meta["annotations"]["ame.dev/mlflow-run-id"] == "abc"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    task = pod["containers"][0]
    assert task["image"] == "python:3.11-slim"
    assert task["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    # The same command the local backend runs, from the one executor builder.
    assert task["command"][:2] == ["/bin/sh", "-c"]
    assert task["command"][2].endswith("exec python validate.py")
    assert "requirements.txt" in task["command"][2]
    # FORMAT.md runtime contract, in order; then the lifecycle's and the task's variables.
    env = [(e["name"], e.get("value")) for e in task["env"]]
    assert env[:6] == [
        ("AME_PROJECT", "quickstart"),
        ("AME_TASK", "validate_logreg"),
        ("AME_RUN_ID", plan.run_id),
        ("MLFLOW_TRACKING_URI", CLUSTER_URI),
        ("MLFLOW_EXPERIMENT_NAME", "quickstart"),
        ("MLFLOW_RUN_ID", "abc"),
    ]
    assert ("AME_MODEL_VERSION", "3") in env and ("MIN_ACCURACY", "0.8") in env
    init = pod["initContainers"][0]
    assert {"name": "AME_CODE_RUN_ID", "value": "abc"} in init["env"]
    assert "ame/code.tar.gz" in init["command"][2]


def test_resources_storage_and_gpus(tmp_path: Path, settings: KubeSettings) -> None:
    requirements = m.resource_requirements(
        {"cpu": 0.5, "memory": "2Gi", "storage": "10G", "nvidia.com/gpu": 2}
    )
    assert requirements == {
        "requests": {"cpu": "500m", "memory": "2Gi", "ephemeral-storage": "10G"},
        "limits": {
            "cpu": "500m",
            "memory": "2Gi",
            "ephemeral-storage": "10G",
            "nvidia.com/gpu": "2",
        },
    }


def write_project(folder: Path, text: str) -> tuple[Path, object]:
    from ame_core.engine import analyze

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ame.yml").write_text(text)
    (folder / "run.py").write_text("print('hi')\n")
    return folder, analyze(text, str(folder / "ame.yml"))


GPU_PROJECT = """\
project: My_Project
tasks:
  - name: Train_GPU
    executor: !poetry
      pythonVersion: "3.12"
      command: python run.py
    resources:
      cpu: 4
      memory: 16Gi
      storage: 20Gi
      nvidia.com/gpu: 1
    secrets:
      - !ame {key: hf_token, injectAs: HF_TOKEN}
    environment:
      - key: EPOCHS
        val: "3"
    triggers:
      schedule: "0 2 * * *"
  - name: custom_image
    executor: !custom
      command: ./run.sh
      image: registry.example.com/team/trainer:1.2
"""


def test_gpu_task_with_secret_and_sanitised_names(tmp_path: Path, settings) -> None:
    project, analysis = write_project(tmp_path / "p", GPU_PROJECT)
    resolved = analysis.resolver.resolve_by_name("Train_GPU")
    plan = plans.plan_task(
        resolved,
        context_for(project, "My_Project"),
        settings,
        namespace="ml",
        code=m.CodeSource(kind="mlflow"),
        cluster_uri=CLUSTER_URI,
    )
    validate(plan.job)
    labels = plan.job["metadata"]["labels"]
    assert labels["ame.dev/project"] == "my-project"
    assert labels["ame.dev/task"] == "train-gpu"
    assert plan.run_id.startswith("train-gpu-")
    container = plan.job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "python:3.12-slim"  # derived from pythonVersion
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in container["resources"]["requests"]
    assert container["resources"]["requests"]["ephemeral-storage"] == "20Gi"
    assert "poetry install" in container["command"][2]
    secret = next(e for e in container["env"] if e["name"] == "HF_TOKEN")
    assert secret == {
        "name": "HF_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "ame-secret-hf-token", "key": "value"}},
    }

    custom = plans.plan_task(
        analysis.resolver.resolve_by_name("custom_image"),
        context_for(project, "My_Project"),
        settings,
        namespace="ml",
        code=m.CodeSource(kind="mlflow"),
        cluster_uri=CLUSTER_URI,
    )
    assert custom.job["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example.com/team/trainer:1.2"
    )
    # Images per executor are configurable.
    other = KubeSettings.from_env(
        {"AME_K8S_IMAGE_POETRY": "ghcr.io/acme/poetry:{python}"}, cluster_mlflow_uri=CLUSTER_URI
    )
    assert render.image_for(resolved, other) == "ghcr.io/acme/poetry:3.12"


def test_cron_job(tmp_path: Path, settings: KubeSettings) -> None:
    from ame_core.runtime.kubernetes import schedules

    project, analysis = write_project(tmp_path / "p", GPU_PROJECT)
    tasks = schedules.scheduled_tasks(analysis)
    assert [t.name for t in tasks] == ["Train_GPU"]

    (cron,) = schedules.render_cron_jobs(
        tasks,
        context_for(project, "My_Project"),
        settings,
        "ml",
        m.CodeSource(kind="mlflow", mlflow_run_id="snap"),
        CLUSTER_URI,
    )
    validate(cron)
    assert cron["spec"]["schedule"] == "0 2 * * *"
    assert cron["metadata"]["name"] == "ame-my-project-train-gpu"
    env = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    run_id = next(e for e in env if e["name"] == "AME_RUN_ID")
    assert "batch.kubernetes.io/job-name" in run_id["valueFrom"]["fieldRef"]["fieldPath"]
    assert all(e["name"] != "MLFLOW_RUN_ID" for e in env)


def test_pipeline_plan(tmp_path: Path, settings: KubeSettings) -> None:
    project, analysis = load_example("pipeline", tmp_path)
    plan = plans.plan_pipeline(
        analysis.resolver.resolve_by_name("full_pipeline"),
        context_for(project, "pipeline_demo"),
        settings,
        namespace="ml",
        code=m.CodeSource(kind="mlflow", mlflow_run_id="p"),
        cluster_uri=CLUSTER_URI,
    )
    assert [[s.task for s in g] for g in plan.groups] == [
        ["prepare_data"],
        ["stats_a", "stats_b"],
        ["train_tree"],
    ]
    steps = {s.run_id: s.job for g in plan.groups for s in g}
    validate(plans.record_object("ml", plan.record, steps))
    for job in steps.values():
        validate(job)
        assert job["metadata"]["labels"]["ame.dev/parent-run-id"] == plan.run_id
        assert len(job["metadata"]["name"]) <= names.MAX_NAME


def test_serving_objects(settings: KubeSettings) -> None:
    spec = m.ServingSpec(
        project="quickstart",
        model="Log_Reg",
        version="4",
        namespace="ml",
        image="ghcr.io/mlflow/mlflow:v3.17.2",
        tracking_uri=CLUSTER_URI,
        replicas=3,
        resources={"cpu": 1, "memory": "1Gi"},
        ingress_host="models.example.com",
        ingress_path="/logreg",
        ingress_annotations={"nginx.ingress.kubernetes.io/proxy-body-size": "10m"},
        ingress_tls=True,
    )
    deployment, service, ingress = m.serving_objects(spec)
    for obj in (deployment, service, ingress):
        validate(obj)
    assert deployment["metadata"]["name"] == "ame-model-log-reg"
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "mlflow models serve -m models:/Log_Reg/4" in container["command"][2]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ping"
    assert ingress["spec"]["tls"][0]["hosts"] == ["models.example.com"]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/logreg"
    spec.ingress_host = None
    assert [o["kind"] for o in m.serving_objects(spec)] == ["Deployment", "Service"]


def test_secret_object() -> None:
    obj = m.secret("ml", "db_password", "value")
    validate(obj)
    assert obj["metadata"]["labels"]["ame.dev/secret-key"] == "db-password"
    assert obj["metadata"]["annotations"]["ame.dev/secret-key"] == "db_password"


def test_names() -> None:
    assert names.k8s_name("My_Task") == "my-task"
    assert names.label_value("Some_Project.v2") == "some-project.v2"
    long = names.run_name("t" * 80)
    assert len(long) <= names.MAX_NAME and long[-9] == "-"
    assert names.step_name("a" * 52, 12, "x").endswith("-12")
    assert len(names.step_name("a" * 52, 12, "x")) <= names.MAX_NAME


@pytest.mark.parametrize("path", sorted(DEPLOY.glob("*.yaml")), ids=lambda p: p.name)
def test_deploy_manifests_are_valid(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs
    for doc in docs:
        validate(doc)


def _granted(role: dict) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize(
    ("role_name", "permissions"),
    [("ame", PERMISSIONS), ("ame-flow-driver", DRIVER_PERMISSIONS)],
    ids=["user", "flow-driver"],
)
def test_rbac_role_grants_exactly_what_cluster_check_verifies(role_name, permissions) -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text()))
    role = next(d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == role_name)
    assert _granted(role) == {(g, r, v) for g, r, verbs in permissions for v in verbs}
    # Bound to the ServiceAccount of the same name, which the settings' default names.
    binding = next(
        d for d in docs if d["kind"] == "RoleBinding" and d["roleRef"]["name"] == role_name
    )
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": role_name, "namespace": "ame"}
    ]
    assert any(d["kind"] == "ServiceAccount" and d["metadata"]["name"] == role_name for d in docs)


def test_flow_driver_account_is_the_default_and_never_reads_secrets() -> None:
    assert KubeSettings().driver_service_account == "ame-flow-driver"
    resources = {r for _g, r, _v in DRIVER_PERMISSIONS}
    assert not resources & {"secrets", "cronjobs", "pods/portforward"}


def test_dry_run_output_is_valid_multi_document_yaml(tmp_path: Path) -> None:
    project, analysis = load_example("quickstart", tmp_path)
    text = dry_run.render_task(
        analysis.resolver.resolve_by_name("train_logreg"),
        context_for(project, "quickstart"),
        False,
        namespace="ml",
    )
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["kind"] for d in docs] == ["Job", "ConfigMap"]
    for doc in docs:
        validate(doc)
    assert "warning: pods cannot reach the MLflow store sqlite:///x.db" in text
    assert not (project / ".ame").exists()


# --- status in words --------------------------------------------------------------------


def test_scheduler_reasons_in_words() -> None:
    assert status.scheduler_reason(
        "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    ).startswith("no node has a free cpu or a free memory")
    assert "taint" in status.scheduler_reason(
        "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}."
    )


def test_observe_init_container_failure_and_eviction() -> None:
    job = {"metadata": {"name": "j"}, "status": {}}
    pod = {
        "metadata": {"name": "j-1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [
                {"name": "fetch-code", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
            ],
        },
    }
    seen = status.observe(job, [pod])
    assert seen.status is RunStatus.FAILED
    assert seen.reason.startswith("fetching the code failed")
    evicted = {
        "metadata": {"name": "j-2", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Failed", "reason": "Evicted", "message": "low on ephemeral-storage"},
    }
    assert status.observe(job, [evicted]).reason == "evicted: low on ephemeral-storage"
    missing_secret = {
        "metadata": {"name": "j-3", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "task",
                    "state": {
                        "waiting": {
                            "reason": "CreateContainerConfigError",
                            "message": 'secret "ame-secret-hf-token" not found',
                        }
                    },
                }
            ],
        },
    }
    seen = status.observe(job, [missing_secret])
    assert seen.status is RunStatus.FAILED and "ame-secret-hf-token" in seen.reason


# --- code: what reaches the pod ---------------------------------------------------------


def test_pack_honours_gitignore_and_limit(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "data").mkdir(parents=True)
    (project / "ame.yml").write_text("project: p\n")
    (project / "train.py").write_text("print(1)\n")
    (project / ".gitignore").write_text("data/\n*.ckpt\n")
    (project / "data" / "big.csv").write_text("x" * 1000)
    (project / "model.ckpt").write_text("weights")
    (project / ".ame").mkdir()
    (project / ".ame" / "mlflow.db").write_text("db")
    with tarfile.open(fileobj=BytesIO(code.pack_project(project, 10_000))) as archive:
        assert sorted(archive.getnames()) == [".gitignore", "ame.yml", "train.py"]
    (project / "huge.bin").write_bytes(b"0" * 20_000)
    with pytest.raises(BackendError) as info:
        code.pack_project(project, 10_000)
    assert "huge.bin" in str(info.value) and "AME_K8S_CODE_LIMIT" in str(info.value)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_source_refuses_a_dirty_tree(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "--bare", "-q", str(remote))
    repo = tmp_path / "repo"
    (repo / "proj").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "proj" / "ame.yml").write_text("project: p\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "init")
    _git(repo, "remote", "add", "origin", str(remote))
    with pytest.raises(BackendError, match="not on any branch of the remote"):
        code.git_source(repo / "proj", allow_dirty=False)
    _git(repo, "push", "-q", "origin", "HEAD:main")
    _git(repo, "fetch", "-q", "origin")
    source = code.git_source(repo / "proj", allow_dirty=False)
    assert source.kind == "git" and source.subdir == "proj" and len(source.commit) == 40
    assert source.workdir == "/workspace/repo/proj"
    (repo / "proj" / "ame.yml").write_text("project: changed\n")
    with pytest.raises(BackendError, match="--allow-dirty"):
        code.git_source(repo / "proj", allow_dirty=False)
    assert code.git_source(repo / "proj", allow_dirty=True).commit == source.commit
    job = m.job(
        m.TaskRun(
            run_id="t-1",
            project="p",
            task="t",
            namespace="ml",
            image="python:3.11-slim",
            command=["python", "x.py"],
            code=source,
            mlflow_image="mlflow",
            git_image="alpine/git:v2.47.2",
            tracking_uri=CLUSTER_URI,
        )
    )
    validate(job)
    assert job["spec"]["template"]["spec"]["initContainers"][0]["image"] == "alpine/git:v2.47.2"


def test_examples_exist() -> None:
    assert (EXAMPLES / "quickstart" / "ame.yml").exists()


def test_credentials_in_the_mlflow_uri_never_reach_the_cluster(tmp_path: Path) -> None:
    project, analysis = load_example("quickstart", tmp_path)
    context = RunContext(
        project_dir=project, project="quickstart",
        tracking_uri="https://alice:pa55@mlflow.example.com",
    )  # fmt: skip
    settings = KubeSettings.from_env({})
    with pytest.raises(BackendError, match="give the credentials as task secrets"):
        render.cluster_tracking_uri(context, settings, strict=True)
    text = dry_run.render_task(
        analysis.resolver.resolve_by_name("train_logreg"), context, namespace="ml",
        settings=settings,
    )  # fmt: skip
    assert "pa55" not in text and "alice" not in text
    assert "https://mlflow.example.com" in text
