"""Pydantic models of the AME project file (FORMAT.md).

Field names are snake_case in Python and camelCase in the file (the alias generator maps them).
Each model also declares, as class metadata, the spellings the older implementation used:
`AME_ALIASES` are accepted with a deprecation warning and a quick fix; `AME_LEGACY` are no longer
read and get an error with a migration hint. The checker (`ame_core.validate`) reads these tables,
the JSON Schema export and the language server's completion and hover read the fields.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic.alias_generators import to_camel
from typing_extensions import TypeAliasType

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"

Quantity = str | int | float


class AmeModel(BaseModel):
    """Base of every object in the file."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=False,
        # Validators are built on first use: `ame lint` never needs them, and building them
        # for every model at import costs ~200 ms.
        defer_build=True,
    )

    # alias key → canonical key, accepted with a warning
    AME_ALIASES: ClassVar[dict[str, str]] = {}
    # legacy key → migration hint, an error
    AME_LEGACY: ClassVar[dict[str, str]] = {}
    # legacy key → the key it became, where renaming it is the whole migration (a quick fix)
    AME_LEGACY_RENAMES: ClassVar[dict[str, str]] = {}
    # How the object is called in messages ("task", "executor !pip").
    AME_KIND: ClassVar[str] = "object"

    # JSON path of this object in the file's JSON view; set by the checker.
    _path: tuple[str | int, ...] = PrivateAttr(default=())

    @property
    def source_path(self) -> tuple[str | int, ...]:
        # Read from the documented store of private values: `self._path` goes through
        # pydantic's `__getattr__`, 10× slower, and the checks read this for every object.
        private = self.__pydantic_private__
        return private.get("_path", ()) if private else ()

    @classmethod
    def build(cls, fields: dict[str, Any], path: tuple[str | int, ...] = ()) -> Any:
        """Construct from values that are already checked (by python field name), with the
        object's JSON path. Checking a large file builds thousands of these: a copy of the
        class's object of defaults is 4× faster than `model_construct`, which re-reads every
        field's alias and default each time."""
        defaults = _defaults_object(cls)
        obj = (
            defaults.model_copy(update=fields)
            if defaults is not None
            else cls.model_construct(_fields_set=set(fields), **fields)
        )
        obj._path = path
        return obj


# --- references --------------------------------------------------------------------------------


class RefSpec(AmeModel):
    """A reference in map spelling: `{name: ..., project: ...}`."""

    AME_KIND: ClassVar[str] = "reference"
    name: str = Field(description="Name of the referenced object.")
    project: str | None = Field(
        default=None,
        description="Project of the referenced object, when it lives in another project file "
        "of the workspace.",
    )


Ref = str | RefSpec


class DataSetRefSpec(AmeModel):
    AME_KIND: ClassVar[str] = "data set reference"
    ref: RefSpec = Field(description="The data set: `{name, project?}`.")


# --- executors ---------------------------------------------------------------------------------

_PYTHON_VERSION_DOC = (
    'Python version to run with, as a string: `"3.11"`. Unquoted `3.10` is a YAML number (3.1) '
    "for other tools; quote it."
)
_COMMAND_DOC = "The command that runs the task, in the project directory."
_IMAGE_DOC = "Container image used when the task runs on a cluster."


class PoetryExecutor(AmeModel):
    """Python `pythonVersion`, `poetry install`, then `poetry run <command>`."""

    AME_KIND: ClassVar[str] = "executor !poetry"
    python_version: str = Field(description=_PYTHON_VERSION_DOC, examples=["3.11"])
    command: str = Field(description=_COMMAND_DOC, examples=["python train.py"])
    image: str | None = Field(default=None, description=_IMAGE_DOC)


class PipExecutor(AmeModel):
    """A virtual environment for `pythonVersion`, `pip install -r requirements.txt`, then `<command>`."""

    AME_KIND: ClassVar[str] = "executor !pip"
    python_version: str = Field(description=_PYTHON_VERSION_DOC, examples=["3.11"])
    command: str = Field(description=_COMMAND_DOC, examples=["python train.py"])
    image: str | None = Field(default=None, description=_IMAGE_DOC)


class PipenvExecutor(AmeModel):
    """`pipenv sync`, then `pipenv run <command>`."""

    AME_KIND: ClassVar[str] = "executor !pipenv"
    command: str = Field(description=_COMMAND_DOC, examples=["python train.py"])
    python_version: str | None = Field(default=None, description=_PYTHON_VERSION_DOC)
    image: str | None = Field(default=None, description=_IMAGE_DOC)


class MlflowExecutor(AmeModel):
    """An MLflow Project (`MLproject`) in the project directory: `mlflow run .`."""

    AME_KIND: ClassVar[str] = "executor !mlflow"
    python_version: str | None = Field(default=None, description=_PYTHON_VERSION_DOC)
    command: str | None = Field(
        default=None, description="Entry point of the MLproject to run (default: main)."
    )
    image: str | None = Field(default=None, description=_IMAGE_DOC)


class CustomExecutor(AmeModel):
    """No dependency set-up: runs `<command>` as it is."""

    AME_KIND: ClassVar[str] = "executor !custom"
    command: str = Field(description=_COMMAND_DOC, examples=["./run.sh"])
    python_version: str | None = Field(default=None, description=_PYTHON_VERSION_DOC)
    image: str | None = Field(default=None, description=_IMAGE_DOC)


ExecutorVariant = PoetryExecutor | PipExecutor | PipenvExecutor | MlflowExecutor | CustomExecutor

EXECUTOR_KINDS: tuple[str, ...] = ("poetry", "pip", "pipenv", "mlflow", "custom")


class Executor(AmeModel):
    """How to install dependencies and run: exactly one variant, written as a tag
    (`executor: !pip`) or as a mapping key (`executor: {pip: {...}}`)."""

    AME_KIND: ClassVar[str] = "executor"
    AME_ALIASES: ClassVar[dict[str, str]] = {"pipEnv": "pipenv"}
    AME_TAGGED_UNION: ClassVar[bool] = True

    poetry: PoetryExecutor | None = Field(default=None, description=PoetryExecutor.__doc__)
    pip: PipExecutor | None = Field(default=None, description=PipExecutor.__doc__)
    pipenv: PipenvExecutor | None = Field(default=None, description=PipenvExecutor.__doc__)
    mlflow: MlflowExecutor | None = Field(default=None, description=MlflowExecutor.__doc__)
    custom: CustomExecutor | None = Field(default=None, description=CustomExecutor.__doc__)

    @property
    def kind(self) -> str:
        for name in EXECUTOR_KINDS:
            if getattr(self, name) is not None:
                return name
        raise ValueError("executor has no variant")

    @property
    def variant(self) -> ExecutorVariant:
        return getattr(self, self.kind)


# --- secrets, environment, artifacts, triggers -------------------------------------------------


class AmeSecret(AmeModel):
    """A secret from AME's own secret store (`ame secret set KEY`)."""

    AME_KIND: ClassVar[str] = "secret !ame"
    key: str = Field(description="Key of the secret in AME's secret store.")
    inject_as: str = Field(description="Environment variable the value is injected as.")


class VaultSecret(AmeModel):
    """A secret read from a HashiCorp Vault (`VAULT_ADDR`, `VAULT_TOKEN`)."""

    AME_KIND: ClassVar[str] = "secret !vault"
    vault: str = Field(description="Secret path in Vault (KV), e.g. `secret/data/db`.")
    key: str = Field(description="Field of the Vault secret.")
    inject_as: str = Field(description="Environment variable the value is injected as.")


class Secret(AmeModel):
    """A secret injected as an environment variable: `!ame {key, injectAs}` or
    `!vault {vault, key, injectAs}`."""

    AME_KIND: ClassVar[str] = "secret"
    AME_TAGGED_UNION: ClassVar[bool] = True
    AME_LEGACY: ClassVar[dict[str, str]] = {
        "name": "secrets are now `!ame {key: <name>, injectAs: <ENV_VAR>}`",
        "envkey": "secrets are now `!ame {key: <name>, injectAs: <ENV_VAR>}`",
    }

    ame: AmeSecret | None = Field(default=None, description=AmeSecret.__doc__)
    vault: VaultSecret | None = Field(default=None, description=VaultSecret.__doc__)

    @property
    def variant(self) -> AmeSecret | VaultSecret:
        result = self.ame or self.vault
        if result is None:
            raise ValueError("secret has no variant")
        return result


class EnvVar(AmeModel):
    """An environment variable for the task."""

    AME_KIND: ClassVar[str] = "environment variable"
    AME_LEGACY: ClassVar[dict[str, str]] = {
        "name": "environment entries are now `{key: NAME, val: value}`: rename `name` to `key`",
        "value": "environment entries are now `{key: NAME, val: value}`: rename `value` to `val`",
    }
    AME_LEGACY_RENAMES: ClassVar[dict[str, str]] = {"name": "key", "value": "val"}
    key: str = Field(description="Variable name.")
    val: str = Field(description="Value (always a string).")


class Artifacts(AmeModel):
    """What the task produces, stored with its MLflow run."""

    AME_KIND: ClassVar[str] = "artifacts"
    paths: list[str] = Field(default_factory=list, description="Files or folders to store.")
    save_changed_files: bool = Field(
        default=False, description="Also store every file the task created or changed."
    )


class Triggers(AmeModel):
    """When the task runs by itself."""

    AME_KIND: ClassVar[str] = "triggers"
    schedule: str | None = Field(
        default=None,
        description="Five-field cron expression (minute hour day-of-month month day-of-week).",
        examples=["0 2 * * *"],
    )


# --- tasks and templates -----------------------------------------------------------------------

_TASK_LEGACY = {
    "runcommand": "`runcommand` is gone: the command goes in the executor, "
    "e.g. `executor: !custom {command: ...}`",
    "command": "`command` belongs inside the executor: `executor: !pip {pythonVersion: "
    '"3.11", command: ...}`',
    "taskname": "`taskname` is now `name`",
    "task_type": "`task_type` is gone: the executor's tag says how the task runs",
    "projectid": "`projectid` is gone: a task belongs to the project of its file",
    "source": "`source` is gone: tasks run from the project directory",
    "templateRef": "`templateRef` is now `fromTemplate` (`fromTemplate: project.template`)",
}


class TaskFields(AmeModel):
    """Fields shared by tasks and templates."""

    AME_ALIASES: ClassVar[dict[str, str]] = {"env": "environment", "artifactCfg": "artifacts"}
    AME_LEGACY: ClassVar[dict[str, str]] = _TASK_LEGACY
    AME_LEGACY_RENAMES: ClassVar[dict[str, str]] = {
        "taskname": "name",
        "templateRef": "fromTemplate",
    }

    executor: Executor | None = Field(
        default=None,
        description="How to install dependencies and run: `!poetry`, `!pip`, `!pipenv`, "
        "`!mlflow` or `!custom`.",
    )
    from_template: Ref | None = Field(
        default=None,
        description="Template this task starts from: `tmpl`, `project.tmpl` or "
        "`{name, project}`. Its fields are overridden field by field.",
    )
    resources: dict[str, Quantity] | None = Field(
        default=None,
        description="Resources per run, in Kubernetes quantity syntax: `cpu`, `memory`, "
        "`storage`, and extended resources such as `nvidia.com/gpu`.",
        examples=[{"cpu": 2, "memory": "4Gi"}],
    )
    environment: list[EnvVar] | None = Field(
        default=None, description="Environment variables: `{key, val}` items."
    )
    secrets: list[Secret] | None = Field(
        default=None, description="Secrets injected as environment variables."
    )
    artifacts: Artifacts | None = Field(
        default=None, description="What the task produces, stored with its run."
    )
    data_sets: list[str | DataSetRefSpec] | None = Field(
        default=None, description="Data sets the task reads: `ds`, `project.ds` or `{ref: ...}`."
    )
    triggers: Triggers | None = Field(default=None, description="When the task runs by itself.")


class Task(TaskFields):
    """A unit of work: a command with its environment and resources."""

    AME_KIND: ClassVar[str] = "task"

    name: str | None = Field(
        default=None,
        description="Task name, unique in the project (letters, digits, `_`, `-`).",
    )
    task_ref: Ref | None = Field(
        default=None,
        description="This task *is* the referenced task: `task`, `project.task` or "
        "`{name, project}`.",
    )
    pipeline: list[Step] | None = Field(
        default=None,
        description="Steps run in order; a list inside the list runs its steps in parallel. "
        "A failed step stops the pipeline.",
    )


class Template(TaskFields):
    """A partial task that tasks start from with `fromTemplate`."""

    AME_KIND: ClassVar[str] = "template"

    name: str = Field(description="Template name, unique in the project.")


# A pipeline step: a task, or a list of steps that run in parallel.
Step = TypeAliasType("Step", "Task | list[Step]")


class TaskSlot(AmeModel):
    """`{task: ...}`: an inline task or `{taskRef: ...}`."""

    AME_KIND: ClassVar[str] = "task slot"
    task: Task = Field(description="An inline task, or `{taskRef: name}`.")


# --- models ------------------------------------------------------------------------------------

ServingKind = Literal["mlflow", "mlserver", "kserve", "triton"]
SUPPORTED_SERVING: tuple[str, ...] = ("mlflow", "mlserver", "kserve", "triton")
# Served only by the kubernetes backend (KServe InferenceServices).
CLUSTER_ONLY_SERVING: tuple[str, ...] = ("kserve", "triton")


class Ingress(AmeModel):
    """How the deployment is reached from outside a cluster."""

    AME_KIND: ClassVar[str] = "ingress"
    host: str | None = Field(default=None, description="Host name of the ingress.")
    path: str | None = Field(default=None, description="Path prefix (default `/`).")
    annotations: dict[str, str] | None = Field(default=None, description="Ingress annotations.")
    tls: bool = Field(default=False, description="Serve over TLS.")


Percent = str | int | float
Duration = str


class Gate(AmeModel):
    """When a canary is promoted: limits measured on its own requests over the window."""

    AME_KIND: ClassVar[str] = "gate"
    max_error_rate: Percent | None = Field(
        default=None,
        description="Highest share of failed requests (answers >= 400, timeouts), e.g. `1%`; "
        "default 1%.",
    )
    max_latency_p95: Duration | None = Field(
        default=None, description="Highest 95th-percentile latency, e.g. `250ms`."
    )


class Rollout(AmeModel):
    """How a new version takes over from the served one."""

    AME_KIND: ClassVar[str] = "rollout"
    strategy: Literal["replace", "canary"] = Field(
        default="replace",
        description="`replace`: start, health-check, then switch all requests (no gap). "
        "`canary`: the new version takes `canary` percent of requests for `window`, then is "
        "promoted if the gate holds, else rolled back.",
    )
    canary: Percent = Field(
        default="10%", description="Share of requests the canary takes (1–99), e.g. `10%`."
    )
    window: Duration = Field(default="5m", description="How long the canary is observed.")
    min_requests: int = Field(
        default=100,
        ge=1,
        description="Requests the canary must serve before the gate is judged; a window that "
        "ends with fewer is extended once, then rolled back.",
    )
    gate: Gate | None = Field(default=None, description="The limits the canary must keep.")


class Deployment(AmeModel):
    """Serving of the model's versions for inference."""

    AME_KIND: ClassVar[str] = "deployment"
    AME_ALIASES: ClassVar[dict[str, str]] = {
        "ingressAnnotations": "ingress.annotations",
        "enableTls": "ingress.tls",
    }
    AME_LEGACY: ClassVar[dict[str, str]] = {
        "deploy": "`deploy` is gone: a model with a `deployment` section is deployed; "
        "use `autoDeploy: true` to deploy each validated version",
        "auto_train": "`auto_train` is gone: schedule training with `triggers.schedule` "
        "on the training task",
        "enable_tls": "`enable_tls` is now `ingress: {tls: true}`",
        "type": "`type` is now `serving` (`serving: mlflow`)",
    }
    AME_LEGACY_RENAMES: ClassVar[dict[str, str]] = {"type": "serving"}

    resources: dict[str, Quantity] | None = Field(
        default=None, description="Resources for each serving replica."
    )
    auto_deploy: bool = Field(
        default=False,
        description="Deploy each new version once it passes validation (or at once without a "
        "validation task).",
    )
    replicas: int = Field(default=1, ge=1, description="Number of serving replicas.")
    serving: ServingKind = Field(
        default="mlflow",
        description="Serving runtime: `mlflow` (default), `mlserver`, `kserve` (a KServe "
        "InferenceService, cluster only), `triton` (KServe's Triton runtime for ONNX or "
        "Triton-repository flavors, cluster only).",
    )
    rollout: Rollout | None = Field(
        default=None, description="How a new version takes over (default: replace)."
    )
    image: str | None = Field(default=None, description="Serving image on a cluster.")
    ingress: Ingress | None = Field(default=None, description="Ingress (cluster only).")


class Drift(AmeModel):
    """When an input feature counts as drifted from the reference."""

    AME_KIND: ClassVar[str] = "drift"
    threshold: float | None = Field(
        default=None,
        gt=0,
        description="Distance above which a feature has drifted (default 0.1, Evidently's): "
        "Wasserstein (normalised) and Jensen–Shannon, used when the reference has over 1000 "
        "rows. The p-value tests of smaller references keep p < 0.05.",
    )
    features: list[str] | None = Field(
        default=None, description="The features to watch (default: all of the signature's)."
    )


class Monitoring(AmeModel):
    """How the deployed version is watched: traffic, errors, latency, and input drift."""

    AME_KIND: ClassVar[str] = "monitoring"
    reference: str | None = Field(
        default=None,
        description="The baseline for drift: a data set of the project or a file (CSV, "
        "Parquet, JSON lines). Default: what the training run logged under `ame-reference/`, "
        "else the version's input example.",
    )
    schedule: str | None = Field(
        default=None, description="Five-field cron expression: when the report runs."
    )
    window: Duration = Field(default="1h", description="The requests a report looks at.")
    drift: Drift | None = Field(default=None, description="Drift threshold and features.")
    task: Task | None = Field(
        default=None,
        description="Your own monitoring task, run after the built-in report "
        "(its path in `AME_MONITORING_REPORT`): inline or `{taskRef: name}`.",
    )


class BatchInference(AmeModel):
    """Score a file or data set with a registered model version (proposed)."""

    AME_KIND: ClassVar[str] = "batch inference"
    input: str | None = Field(default=None, description="Input file (CSV, JSON lines, Parquet).")
    data_set: str | None = Field(default=None, description="Data set to score instead of a file.")
    output: str = Field(description="Where the predictions are written.")
    version: int | None = Field(default=None, description="Model version to use.")
    alias: str | None = Field(default=None, description="Registry alias to use instead.")
    resources: dict[str, Quantity] | None = Field(default=None, description="Resources.")
    schedule: str | None = Field(default=None, description="Five-field cron expression.")


class Model(AmeModel):
    """A model: how it is trained, validated, deployed and monitored."""

    AME_KIND: ClassVar[str] = "model"
    AME_ALIASES: ClassVar[dict[str, str]] = {"validationTask": "validation.task"}
    AME_LEGACY: ClassVar[dict[str, str]] = {
        "type": "`type` is now `deployment.serving` (`serving: mlflow`)",
    }

    name: str = Field(description="Model name; also the registered model name in MLflow.")
    training: TaskSlot | None = Field(
        default=None, description="The task that trains the model and registers a version."
    )
    validation: TaskSlot | None = Field(
        default=None,
        description="A task that succeeds if a model version is good enough; it gets "
        "`AME_MODEL_NAME`, `AME_MODEL_VERSION` and `AME_MODEL_URI`.",
    )
    deployment: Deployment | None = Field(default=None, description="Serving for inference.")
    monitoring: Monitoring | None = Field(
        default=None, description="Monitoring: traffic, errors, latency and input drift."
    )
    batch_inference: BatchInference | None = Field(
        default=None, description="Batch inference (proposed)."
    )


class DataSet(AmeModel):
    """A data set a task produces and other tasks read."""

    AME_KIND: ClassVar[str] = "data set"
    AME_ALIASES: ClassVar[dict[str, str]] = {"taskRef": "task.taskRef"}

    name: str = Field(description="Data set name, unique in the project.")
    path: str = Field(description="Where the producing task writes the data (project-relative).")
    task: Task | None = Field(default=None, description="The task that produces the data.")
    size: Quantity | None = Field(default=None, description="Expected size, for storage requests.")


_ROOT_LEGACY_PROJECT = "`{key}` is gone: name the project with `project: <name>`"


class Project(AmeModel):
    """An AME project file."""

    AME_KIND: ClassVar[str] = "project"
    AME_ALIASES: ClassVar[dict[str, str]] = {"name": "project"}
    AME_LEGACY: ClassVar[dict[str, str]] = {
        "projectid": _ROOT_LEGACY_PROJECT.format(key="projectid"),
        "projectName": _ROOT_LEGACY_PROJECT.format(key="projectName"),
        "projectname": _ROOT_LEGACY_PROJECT.format(key="projectname"),
        "data_sets": "`data_sets` is now `dataSets`",
    }
    AME_LEGACY_RENAMES: ClassVar[dict[str, str]] = {
        "projectid": "project",
        "projectName": "project",
        "projectname": "project",
        "data_sets": "dataSets",
    }

    project: str = Field(description="Project name (letters, digits, `_`, `-`).")
    tasks: list[Task] | None = Field(default=None, description="Tasks: a list.")
    templates: list[Template] | None = Field(default=None, description="Templates: partial tasks.")
    models: list[Model] | None = Field(default=None, description="Models.")
    data_sets: list[DataSet] | None = Field(default=None, description="Data sets.")

    def task_list(self) -> list[Task]:
        return self.tasks or []

    def template_list(self) -> list[Template]:
        return self.templates or []

    def model_list(self) -> list[Model]:
        return self.models or []

    def data_set_list(self) -> list[DataSet]:
        return self.data_sets or []


def field_by_alias(cls: type[AmeModel], key: str) -> tuple[str, Any] | None:
    """The (python name, FieldInfo) of the field spelled `key` in the file."""
    return _fields_by_key(cls).get(key)


@functools.cache
def _fields_by_key(cls: type[AmeModel]) -> dict[str, tuple[str, Any]]:
    return {(info.alias or name): (name, info) for name, info in cls.model_fields.items()}


def file_keys(cls: type[AmeModel]) -> list[str]:
    """The canonical keys of a model as written in the file."""
    return [info.alias or name for name, info in cls.model_fields.items()]


@functools.cache
def _defaults_object(cls: type[AmeModel]) -> AmeModel | None:
    """The class's object with nothing set, for `build` to copy; None where a copy would share a
    default (a `default_factory` list) between objects."""
    if any(info.default_factory is not None for info in cls.model_fields.values()):
        return None
    return cls.model_construct()
