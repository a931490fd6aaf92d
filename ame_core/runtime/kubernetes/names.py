"""Names and labels: what a project, task or model is called in the cluster.

FORMAT.md: where a name becomes a Kubernetes object name it is lower-cased and `_` becomes `-`.
Object names are DNS-1123 labels (≤ 63 characters); label values are ≤ 63 characters too.
"""

from __future__ import annotations

import re
import secrets

MANAGED_BY = "app.kubernetes.io/managed-by"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set by the Job controller on its pods
MANAGED_BY_VALUE = "ame"
LABEL_PROJECT = "ame.dev/project"
LABEL_TASK = "ame.dev/task"
LABEL_RUN_ID = "ame.dev/run-id"
LABEL_PARENT = "ame.dev/parent-run-id"
LABEL_KIND = "ame.dev/kind"
LABEL_MODEL = "ame.dev/model"
LABEL_MODEL_VERSION = "ame.dev/model-version"
LABEL_TRACK = "ame.dev/track"  # a canary's pods: `canary`
LABEL_RECORD = "ame.dev/record"
LABEL_SCHEDULE = "ame.dev/schedule"
LABEL_SECRET_KEY = "ame.dev/secret-key"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_FLOW = "ame.dev/flow-id"
# A flow's record is a ConfigMap like a run's, told apart by the value of LABEL_RECORD, so
# run listings (LABEL_RECORD=true) never see flows.
FLOW_RECORD = "flow"
COMPONENT_DRIVER = "flow-driver"

ANN_MLFLOW_RUN = "ame.dev/mlflow-run-id"
ANN_MLFLOW_EXPERIMENT = "ame.dev/mlflow-experiment-id"
ANN_PROJECT = "ame.dev/project-name"
ANN_TASK = "ame.dev/task-name"
ANN_MODEL = "ame.dev/model-name"
ANN_MODEL_VERSION = "ame.dev/model-version"
ANN_CODE = "ame.dev/code"
ANN_SECRET_KEY = "ame.dev/secret-key"
ANN_FLOW_KIND = "ame.dev/flow-kind"
ANN_CANCEL = "ame.dev/cancel-requested"
ANN_DECISION = "ame.dev/decision-requested"  # a canary ended early: promote | rollback
ANN_CANARY_PERCENT = "ame.dev/canary-percent"
ANN_AME_VERSION = "ame.dev/ame-version"

# Job names also name their pods (plus a 5-character suffix) and CronJob names are limited
# to 52 characters: keep every generated name within that.
MAX_NAME = 52

_INVALID = re.compile(r"[^a-z0-9-]+")
_LABEL_INVALID = re.compile(r"[^A-Za-z0-9_.-]+")


def k8s_name(name: str, limit: int = MAX_NAME) -> str:
    """A DNS-1123 label from an AME name: lower-case, `_` → `-`, trimmed to `limit`."""
    text = _INVALID.sub("-", name.lower().replace("_", "-"))
    text = text[:limit].strip("-")
    return text or "x"


def label_value(name: str) -> str:
    """A valid label value from an AME name (FORMAT.md: lower-case, `_` → `-`)."""
    text = _LABEL_INVALID.sub("-", name.lower().replace("_", "-"))[:63]
    return text.strip("-._")


def new_token() -> str:
    return secrets.token_hex(4)


def run_name(task: str, token: str | None = None) -> str:
    """A run id that is also the Job's name: `<task>-<8 hex>`."""
    token = token or new_token()
    return f"{k8s_name(task, MAX_NAME - len(token) - 1)}-{token}"


def step_name(pipeline_run: str, index: int, task: str) -> str:
    """A pipeline step's run id: deterministic, so two processes that carry the pipeline on
    create the same Job (the second gets 409 and knows it is done)."""
    suffix = f"-{index}"
    base = pipeline_run[: MAX_NAME - len(suffix)].rstrip("-")
    del task  # the step's task is in its labels; the name stays short and predictable
    return f"{base}{suffix}"


def record_name(run_id: str) -> str:
    return f"ame-run-{run_id}"[:63].rstrip("-")


def flow_record_name(flow_id: str) -> str:
    return k8s_name(f"ame-{flow_id}", 63)


def driver_job_name(flow_id: str, attempt: int) -> str:
    """The driver Job of a flow's `attempt` (1, then 2 for the first resume, ...):
    deterministic, so two processes resuming the same flow at once create one Job (409)."""
    suffix = f"-{attempt}"
    return k8s_name(f"ame-{flow_id}", MAX_NAME - len(suffix)) + suffix


def model_name(model: str) -> str:
    return f"ame-model-{k8s_name(model, 63 - 10)}"


def secret_name(key: str) -> str:
    return f"ame-secret-{k8s_name(key, 63 - 11)}"


def schedule_name(project: str, task: str) -> str:
    return k8s_name(f"ame-{project}-{task}", MAX_NAME)


def base_labels(project: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGED_BY_VALUE, LABEL_PROJECT: label_value(project)}


def selector(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in labels.items())


def matches(obj: dict, labels: dict[str, str]) -> bool:
    """Client-side label check: the selector is sent to the API, and checked again here."""
    have = (obj.get("metadata") or {}).get("labels") or {}
    return all(have.get(key) == value for key, value in labels.items())
