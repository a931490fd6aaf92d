"""Pure functions that build the Kubernetes objects ame creates, as plain dicts.

No I/O and no `kubernetes` import: the same dicts are applied by the backend, printed by the
dry run, and validated against the official schemas in the tests.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from ame_core.runtime.kubernetes import names as n

WORKSPACE = "/workspace"
CODE_ARTIFACT_DIR = "ame"
CODE_ARTIFACT = "ame/code.tar.gz"
TASK_CONTAINER = "task"
CODE_CONTAINER = "fetch-code"
DRIVER_CONTAINER = "driver"
AME_CONTAINER = "fetch-ame"
DRIVER_ARTIFACT_DIR = "ame/driver"
DRIVER_DIST = f"{WORKSPACE}/ame-dist"
DRIVER_MODULE = "ame_core.runtime.kubernetes.flow_driver"
# An optional Secret whose keys become the driver's environment (MLFLOW_TRACKING_TOKEN, ...):
# credentials reach the driver by reference, never as values in its Job.
DRIVER_ENV_SECRET = "ame-flow-driver-env"
# Small: a driver submits Jobs and polls the API; it computes nothing.
DRIVER_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
SERVING_PORT = 8080
PLACEHOLDER_RUN = "<created-at-submit>"


@dataclass
class CodeSource:
    """How the project's files reach the pod."""

    kind: str  # "mlflow" (uploaded artifact) or "git"
    mlflow_run_id: str | None = None  # the MLflow run holding ame/code.tar.gz
    repo_url: str | None = None
    commit: str | None = None
    subdir: str = ""  # the project's directory inside the repository

    @property
    def workdir(self) -> str:
        if self.kind == "git":
            return f"{WORKSPACE}/repo/{self.subdir}".rstrip("/")
        return f"{WORKSPACE}/project"

    def describe(self) -> str:
        if self.kind == "git":
            return f"git {self.repo_url}@{self.commit}" + (
                f" ({self.subdir})" if self.subdir else ""
            )
        run = self.mlflow_run_id or "of this run"
        return f"MLflow run {run}, artifact {CODE_ARTIFACT}"


@dataclass
class TaskRun:
    """Everything one Job needs; built by the backend or the dry run."""

    run_id: str  # also the Job's name
    project: str
    task: str
    namespace: str
    image: str
    command: list[str]
    code: CodeSource
    mlflow_image: str
    git_image: str
    tracking_uri: str  # as seen from the cluster
    env: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    mlflow_experiment_id: str | None = None
    kind: str = "task"
    model_name: str | None = None
    model_version: str | None = None
    parent_id: str | None = None
    ttl_seconds: int | None = 86400
    service_account: str | None = None


# --- pieces ----------------------------------------------------------------------------------


def resource_requirements(resources: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """cpu/memory → requests and limits; storage → ephemeral-storage; extended → limits."""
    from ame_core.quantity import is_extended_resource, to_canonical

    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for name, value in (resources or {}).items():
        if name in ("storage", "ephemeral-storage"):
            text = to_canonical(name, value)
            requests["ephemeral-storage"] = limits["ephemeral-storage"] = text
        elif name in ("cpu", "memory"):
            requests[name] = limits[name] = to_canonical(name, value)
        elif is_extended_resource(name):
            limits[name] = to_canonical(name, value)
        else:
            requests[name] = limits[name] = to_canonical(name, value)
    out: dict[str, dict[str, str]] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def env_var(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": str(value)}


def secret_env(inject_as: str, key: str) -> dict[str, Any]:
    """A secret as a reference to its labelled Secret: the value never enters a manifest."""
    return {
        "name": inject_as,
        "valueFrom": {"secretKeyRef": {"name": n.secret_name(key), "key": "value"}},
    }


def dedupe_env(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Later entries win (FORMAT.md order: contract, environment, secrets); one entry per name."""
    by_name: dict[str, dict[str, Any]] = {}
    for entry in entries:
        by_name.pop(entry["name"], None)
        by_name[entry["name"]] = entry
    return list(by_name.values())


def run_labels(run: TaskRun) -> dict[str, str]:
    labels = {
        **n.base_labels(run.project),
        n.LABEL_TASK: n.label_value(run.task),
        n.LABEL_RUN_ID: run.run_id,
        n.LABEL_KIND: n.label_value(run.kind),
    }
    if run.parent_id:
        labels[n.LABEL_PARENT] = run.parent_id
    if run.model_name:
        labels[n.LABEL_MODEL] = n.label_value(run.model_name)
    return labels


def run_annotations(run: TaskRun) -> dict[str, str]:
    ann = {
        n.ANN_PROJECT: run.project,
        n.ANN_TASK: run.task,
        n.ANN_CODE: run.code.describe(),
        n.ANN_MLFLOW_RUN: run.mlflow_run_id or PLACEHOLDER_RUN,
    }
    if run.mlflow_experiment_id:
        ann[n.ANN_MLFLOW_EXPERIMENT] = run.mlflow_experiment_id
    if run.model_name:
        ann[n.ANN_MODEL] = run.model_name
    if run.model_version:
        ann[n.ANN_MODEL_VERSION] = str(run.model_version)
    return ann


def code_init_container(code: CodeSource, mlflow_image: str, git_image: str, tracking_uri: str):
    """The init container that puts the project's files under /workspace."""
    mount = [{"name": "workspace", "mountPath": WORKSPACE}]
    if code.kind == "git":
        script = (
            "set -e; "
            f"git clone --quiet {shlex.quote(code.repo_url or '')} {WORKSPACE}/repo; "
            f"git -C {WORKSPACE}/repo checkout --quiet {shlex.quote(code.commit or '')}; "
            f'echo "ame: code from {code.repo_url} at {code.commit}"'
        )
        return {
            "name": CODE_CONTAINER,
            "image": git_image,
            "command": ["/bin/sh", "-c", script],
            "volumeMounts": mount,
        }
    # Download the project archive from the MLflow run, then unpack it with Python's tarfile
    # (the "data" filter refuses paths that escape the target directory).
    script = (
        "set -e; "
        f'mlflow artifacts download --run-id "$AME_CODE_RUN_ID" --artifact-path {CODE_ARTIFACT} '
        "--dst-path /tmp/ame-code >/dev/null; "
        f"mkdir -p {WORKSPACE}/project; "
        'python -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], '
        "filter='data')\" /tmp/ame-code/code.tar.gz "
        f"{WORKSPACE}/project; "
        'echo "ame: code from MLflow run $AME_CODE_RUN_ID"'
    )
    return {
        "name": CODE_CONTAINER,
        "image": mlflow_image,
        "command": ["/bin/sh", "-c", script],
        "env": [
            env_var("MLFLOW_TRACKING_URI", tracking_uri),
            env_var("AME_CODE_RUN_ID", code.mlflow_run_id or PLACEHOLDER_RUN),
            env_var("MLFLOW_DISABLE_TELEMETRY", "true"),
        ],
        "volumeMounts": mount,
    }


def pod_spec(run: TaskRun) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": TASK_CONTAINER,
        "image": run.image,
        "command": list(run.command),
        "workingDir": run.code.workdir,
        "env": dedupe_env(run.env),
        "volumeMounts": [{"name": "workspace", "mountPath": WORKSPACE}],
    }
    requirements = resource_requirements(run.resources)
    if requirements:
        container["resources"] = requirements
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "initContainers": [
            code_init_container(run.code, run.mlflow_image, run.git_image, run.tracking_uri)
        ],
        "containers": [container],
        "volumes": [{"name": "workspace", "emptyDir": {}}],
    }
    if run.service_account:
        spec["serviceAccountName"] = run.service_account
    return spec


# --- objects ---------------------------------------------------------------------------------


def job(run: TaskRun) -> dict[str, Any]:
    """One task run: a Job that runs once (`backoffLimit: 0`)."""
    labels = run_labels(run)
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": dict(labels), "annotations": run_annotations(run)},
            "spec": pod_spec(run),
        },
    }
    if run.ttl_seconds is not None:
        spec["ttlSecondsAfterFinished"] = int(run.ttl_seconds)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": run.run_id,
            "namespace": run.namespace,
            "labels": labels,
            "annotations": run_annotations(run),
        },
        "spec": spec,
    }


@dataclass
class DriverSpec:
    """Everything a flow's driver Job needs; built by the flow store or the dry run."""

    flow_id: str
    kind: str  # the flow's kind: train, validate, deploy, pipeline, ...
    project: str
    namespace: str
    attempt: int  # 1, then 2 for the first resume, ...
    image: str
    tracking_uri: str  # MLflow as seen from the cluster
    mlflow_image: str
    git_image: str
    ame_version: str
    # The project's files, for flows that read ame.yml (None: a pipeline needs only its record).
    code: CodeSource | None = None
    # With no driver image: the MLflow run holding the client's ame wheel, and its file name.
    wheel_run_id: str | None = None
    wheel: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    service_account: str | None = None
    ttl_seconds: int | None = 86400

    @property
    def job_name(self) -> str:
        return n.driver_job_name(self.flow_id, self.attempt)


def driver_labels(spec: DriverSpec) -> dict[str, str]:
    return {
        **n.base_labels(spec.project),
        n.LABEL_FLOW: spec.flow_id,
        n.LABEL_COMPONENT: n.COMPONENT_DRIVER,
    }


def driver_command(spec: DriverSpec, flow_args: list[str] | None = None) -> list[str]:
    """The driver's command: by default, drive the flow `spec.flow_id` as this attempt's Job;
    `flow_args` instead (a scheduled driver records its own new flow)."""
    if flow_args is None:
        flow_args = ["--job", spec.job_name, spec.flow_id]
    args = [DRIVER_MODULE, "--namespace", spec.namespace]
    if spec.code is not None:
        args += ["--project-dir", spec.code.workdir]
    args += flow_args
    if not spec.wheel:
        return ["python", "-m", *args]
    # No image with ame in it: install the exact wheel the client shipped, then run it.
    install = (
        "set -e; python -m pip install --no-cache-dir --disable-pip-version-check -q "
        f"{shlex.quote(f'{DRIVER_DIST}/{spec.wheel}')}; "
    )
    return ["/bin/sh", "-c", install + "exec python -m " + shlex.join(args)]


def driver_job(spec: DriverSpec) -> dict[str, Any]:
    """A flow's driver: one pod (`backoffLimit: 0`) that runs the flow's steps in the cluster.
    A driver that dies is not retried by the Job: the next `ame` that looks resumes the flow
    with a new Job (attempt + 1), from its first unfinished step."""
    labels = driver_labels(spec)
    annotations = {
        n.ANN_PROJECT: spec.project,
        n.ANN_FLOW_KIND: spec.kind,
        n.ANN_AME_VERSION: spec.ame_version,
    }
    mount = [{"name": "workspace", "mountPath": WORKSPACE}]
    init: list[dict[str, Any]] = []
    if spec.code is not None:
        annotations[n.ANN_CODE] = spec.code.describe()
        init.append(
            code_init_container(spec.code, spec.mlflow_image, spec.git_image, spec.tracking_uri)
        )
    if spec.wheel:
        artifact = f"{DRIVER_ARTIFACT_DIR}/{spec.wheel}"
        script = (
            "set -e; "
            f'mlflow artifacts download --run-id "$AME_DRIVER_RUN_ID" --artifact-path {artifact} '
            f"--dst-path {DRIVER_DIST} >/dev/null; "
            f'echo "ame: {spec.wheel} from MLflow run $AME_DRIVER_RUN_ID"'
        )
        init.append(
            {
                "name": AME_CONTAINER,
                "image": spec.mlflow_image,
                "command": ["/bin/sh", "-c", script],
                "env": [
                    env_var("MLFLOW_TRACKING_URI", spec.tracking_uri),
                    env_var("AME_DRIVER_RUN_ID", spec.wheel_run_id or PLACEHOLDER_RUN),
                    env_var("MLFLOW_DISABLE_TELEMETRY", "true"),
                ],
                "volumeMounts": mount,
            }
        )
    env = [env_var(k, v) for k, v in sorted(spec.env.items())]
    env += [
        env_var("AME_BACKEND", "kubernetes"),
        env_var("MLFLOW_TRACKING_URI", spec.tracking_uri),
        env_var("AME_CLUSTER_MLFLOW_URI", spec.tracking_uri),
        env_var("MLFLOW_DISABLE_TELEMETRY", "true"),
        env_var("AME_CLIENT_VERSION", spec.ame_version),
        env_var("PYTHONUNBUFFERED", "1"),
    ]
    container: dict[str, Any] = {
        "name": DRIVER_CONTAINER,
        "image": spec.image,
        "command": driver_command(spec),
        "workingDir": spec.code.workdir if spec.code is not None else WORKSPACE,
        "env": dedupe_env(env),
        "envFrom": [{"secretRef": {"name": DRIVER_ENV_SECRET, "optional": True}}],
        "resources": {k: dict(v) for k, v in DRIVER_RESOURCES.items()},
        "volumeMounts": mount,
    }
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [{"name": "workspace", "emptyDir": {}}],
    }
    if init:
        pod["initContainers"] = init
    if spec.service_account:
        pod["serviceAccountName"] = spec.service_account
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": dict(labels), "annotations": dict(annotations)},
            "spec": pod,
        },
    }
    if spec.ttl_seconds is not None:
        job_spec["ttlSecondsAfterFinished"] = int(spec.ttl_seconds)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": spec.job_name,
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": job_spec,
    }


def flow_record(
    flow_id: str, namespace: str, project: str, kind: str, data: dict[str, Any]
) -> dict[str, Any]:
    """A flow's record: the flow's JSON, found by its labels from any `ame` process."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": n.flow_record_name(flow_id),
            "namespace": namespace,
            "labels": {
                **n.base_labels(project),
                n.LABEL_RECORD: n.FLOW_RECORD,
                n.LABEL_FLOW: flow_id,
                n.LABEL_KIND: n.label_value(kind),
            },
        },
        "data": {"record.json": json.dumps(data, sort_keys=True)},
    }


def run_record(run_id: str, namespace: str, labels: dict[str, str], data: dict[str, Any]):
    """A run's record: it outlives the Job (TTL, cancel) so any process can still show it."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": n.record_name(run_id),
            "namespace": namespace,
            "labels": {**labels, n.LABEL_RECORD: "true"},
        },
        "data": {"record.json": json.dumps(data, sort_keys=True)},
    }


def cron_job(run: TaskRun, name: str, schedule: str) -> dict[str, Any]:
    """A scheduled task: the Job of `run` under a CronJob (no MLflow run exists in advance:
    the task's MLflow run is the one user code starts; AME_RUN_ID is the Job's name)."""
    template = job(run)
    pod = template["spec"]["template"]
    labels = {k: v for k, v in template["metadata"]["labels"].items() if k != n.LABEL_RUN_ID}
    labels[n.LABEL_SCHEDULE] = name
    pod["metadata"]["labels"] = dict(labels)
    pod["metadata"]["annotations"].pop(n.ANN_MLFLOW_RUN, None)
    task_container = pod["spec"]["containers"][0]
    env = [e for e in task_container["env"] if e["name"] not in ("AME_RUN_ID", "MLFLOW_RUN_ID")]
    env.insert(
        0,
        {
            "name": "AME_RUN_ID",
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}
            },
        },
    )
    task_container["env"] = env
    job_spec = template["spec"]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "namespace": run.namespace,
            "labels": labels,
            "annotations": {
                n.ANN_PROJECT: run.project,
                n.ANN_TASK: run.task,
                n.ANN_CODE: run.code.describe(),
            },
        },
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": dict(labels)}, "spec": job_spec},
        },
    }


# What a scheduled driver reads: its Job's name (the downward API) and what was shipped for it.
DRIVER_JOB_ENV = "AME_DRIVER_JOB"
FLOW_SHIP_ENV = "AME_FLOW_SHIP"
JOB_NAME_FIELD = "metadata.labels['batch.kubernetes.io/job-name']"


def scheduled_driver(
    spec: DriverSpec,
    ship: dict[str, Any],
    name: str,
    schedule: str,
    *,
    model: str,
) -> dict[str, Any]:
    """A model's monitoring on a schedule: a CronJob whose Job is a flow driver that records a
    new `monitor` flow (`--new`), then drives it like any driver. Once recorded, the flow is
    an ordinary one: a driver that dies is resumed by the next `ame` that looks, from `ship`
    (the code and ame uploaded once, at `ame schedule apply`)."""
    template = driver_job(spec)
    labels = {k: v for k, v in template["metadata"]["labels"].items() if k != n.LABEL_FLOW}
    labels[n.LABEL_SCHEDULE] = name
    pod = template["spec"]["template"]
    pod["metadata"]["labels"] = dict(labels)
    container = pod["spec"]["containers"][0]
    flow_args = ["--new", spec.kind, "--model", model, "--project", spec.project]
    flow_args += ["--schedule", schedule]
    container["command"] = driver_command(spec, flow_args)
    container["env"] = [
        {"name": DRIVER_JOB_ENV, "valueFrom": {"fieldRef": {"fieldPath": JOB_NAME_FIELD}}},
        env_var(FLOW_SHIP_ENV, json.dumps(ship, sort_keys=True)),
        *container["env"],
    ]
    annotations = dict(template["metadata"]["annotations"])
    annotations[n.ANN_TASK] = f"{MONITOR_SCHEDULE_PREFIX}{model}"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "schedule": schedule,
            # One report at a time: a slow one is not joined by the next.
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": dict(labels)}, "spec": template["spec"]},
        },
    }


# How `ame schedule list` names a model's monitoring (a task's schedule shows the task's name).
MONITOR_SCHEDULE_PREFIX = "monitor:"


def secret(namespace: str, key: str, value: str) -> dict[str, Any]:
    """One Secret per key, labelled so `ame secret list --backend kubernetes` finds it."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": n.secret_name(key),
            "namespace": namespace,
            "labels": {
                n.MANAGED_BY: n.MANAGED_BY_VALUE,
                n.LABEL_SECRET_KEY: n.label_value(key),
            },
            "annotations": {n.ANN_SECRET_KEY: key},
        },
        "type": "Opaque",
        "stringData": {"value": value},
    }


@dataclass
class ServingSpec:
    project: str
    model: str
    version: str
    namespace: str
    image: str
    tracking_uri: str
    replicas: int = 1
    resources: dict[str, Any] = field(default_factory=dict)
    ingress_host: str | None = None
    ingress_path: str | None = None
    ingress_annotations: dict[str, str] = field(default_factory=dict)
    ingress_tls: bool = False


def serving_labels(spec: ServingSpec) -> dict[str, str]:
    return {
        **n.base_labels(spec.project),
        n.LABEL_MODEL: n.label_value(spec.model),
        n.LABEL_COMPONENT: "serving",
    }


def deployment(spec: ServingSpec) -> dict[str, Any]:
    """`mlflow models serve` for models:/NAME/VERSION; a new version rolls with no gap."""
    name = n.model_name(spec.model)
    labels = serving_labels(spec)
    pod_labels = {**labels, n.LABEL_MODEL_VERSION: n.label_value(str(spec.version))}
    uri = f"models:/{spec.model}/{spec.version}"
    # The image holds mlflow; the model's own requirements (scikit-learn, ...) are installed
    # from the registry before serving, so any mlflow image serves any flavour.
    script = (
        f"req=$(mlflow artifacts download --artifact-uri {uri}/requirements.txt "
        "--dst-path /tmp/ame-model 2>/dev/null) && python -m pip install --no-cache-dir "
        '--disable-pip-version-check -q -r "$req" || echo "ame: could not install the '
        "model's requirements; serving with the image's packages\"; "
        f"exec mlflow models serve -m {uri} --host 0.0.0.0 --port {SERVING_PORT} "
        "--env-manager local"
    )
    probe = {"httpGet": {"path": "/ping", "port": SERVING_PORT}}
    container: dict[str, Any] = {
        "name": "serve",
        "image": spec.image,
        "command": ["/bin/sh", "-c", script],
        "env": [
            env_var("MLFLOW_TRACKING_URI", spec.tracking_uri),
            env_var("MLFLOW_DISABLE_TELEMETRY", "true"),
        ],
        "ports": [{"name": "http", "containerPort": SERVING_PORT}],
        # Installing requirements and loading the model may take minutes: the startup probe
        # allows 10, then readiness gates traffic and liveness restarts a hung server.
        "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": 60},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**probe, "periodSeconds": 20, "failureThreshold": 6},
    }
    requirements = resource_requirements(spec.resources)
    if requirements:
        container["resources"] = requirements
    annotations = {n.ANN_MODEL: spec.model, n.ANN_MODEL_VERSION: str(spec.version)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": {**annotations, n.ANN_PROJECT: spec.project},
        },
        "spec": {
            "replicas": int(spec.replicas),
            "selector": {"matchLabels": dict(labels)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": {"containers": [container]},
            },
        },
    }


CANARY_TRACK = "canary"


def canary_replicas(stable: int, percent: float) -> int:
    """Pods of a canary beside `stable` pods so that it takes about `percent` of requests
    (a Service spreads them evenly over ready pods): at least one."""
    return max(1, round(stable * percent / (100.0 - percent)))


def canary_deployment(spec: ServingSpec, percent: float) -> dict[str, Any]:
    """The canary of `spec.version` beside the stable Deployment, under the same Service (its
    pods carry the Service's labels); `ame.dev/track: canary` keeps the two apart."""
    obj = deployment(spec)
    name = f"{obj['metadata']['name']}-{CANARY_TRACK}"
    obj["metadata"]["name"] = name
    obj["metadata"]["labels"] = {**obj["metadata"]["labels"], n.LABEL_TRACK: CANARY_TRACK}
    obj["metadata"]["annotations"][n.ANN_CANARY_PERCENT] = f"{percent:g}"
    obj["spec"]["replicas"] = canary_replicas(int(spec.replicas), percent)
    obj["spec"]["selector"]["matchLabels"][n.LABEL_TRACK] = CANARY_TRACK
    obj["spec"]["template"]["metadata"]["labels"][n.LABEL_TRACK] = CANARY_TRACK
    return obj


def service(spec: ServingSpec) -> dict[str, Any]:
    name = n.model_name(spec.model)
    labels = serving_labels(spec)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": dict(labels),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def ingress(spec: ServingSpec) -> dict[str, Any] | None:
    if not spec.ingress_host:
        return None
    name = n.model_name(spec.model)
    body: dict[str, Any] = {
        "rules": [
            {
                "host": spec.ingress_host,
                "http": {
                    "paths": [
                        {
                            "path": spec.ingress_path or "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": name, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ]
    }
    if spec.ingress_tls:
        body["tls"] = [{"hosts": [spec.ingress_host], "secretName": f"{name}-tls"}]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": spec.namespace,
        "labels": serving_labels(spec),
    }
    if spec.ingress_annotations:
        metadata["annotations"] = dict(spec.ingress_annotations)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": body,
    }


def serving_objects(spec: ServingSpec) -> list[dict[str, Any]]:
    objects = [deployment(spec), service(spec)]
    ing = ingress(spec)
    if ing is not None:
        objects.append(ing)
    return objects
