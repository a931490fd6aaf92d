"""The Backend interface: everything above it (CLI, lifecycle, TUI) is backend-agnostic.

A backend runs resolved tasks and pipelines, lists and reattaches to runs (including runs started
by other processes), streams logs from any offset, cancels, and serves model versions. `local`
is the embedded default; `kubernetes` is the same interface on a cluster.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: run supervisors import this without pydantic
    from ame_core.resolve import ResolvedTask


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


@dataclass
class RunRecord:
    """One run of a task or pipeline, as any process can see it."""

    id: str
    project: str
    task: str
    backend: str
    status: RunStatus = RunStatus.QUEUED
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    # Why it is queued or why it failed, in words ("killed by signal 9 (SIGKILL)").
    reason: str | None = None
    resources: dict[str, str] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    mlflow_experiment_id: str | None = None
    log_path: str | None = None
    # A pipeline step points at its pipeline run; a pipeline lists its step runs.
    parent_id: str | None = None
    step_ids: list[str] = field(default_factory=list)
    # "task", "pipeline", "training", "validation", "monitoring", "batch"
    kind: str = "task"
    model_name: str | None = None
    model_version: str | None = None
    # Backend-specific facts (pid and process group locally; job name on a cluster).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        import time

        return (self.ended_at or time.time()) - self.started_at

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["status"] = RunStatus(known.get("status", "queued"))
        return cls(**known)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)


@dataclass
class RunContext:
    """What a submission needs besides the task: where, tracking, extra environment."""

    project_dir: Path
    project: str
    tracking_uri: str
    kind: str = "task"
    # Extra environment for the task (the lifecycle's AME_MODEL_NAME/VERSION/URI).
    env: dict[str, str] = field(default_factory=dict)
    model_name: str | None = None
    model_version: str | None = None
    parent_id: str | None = None
    # Extra MLflow tags for the run (`ame.policy.ignored` for --ignore-policy).
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class LogChunk:
    text: str
    offset: int  # offset after this chunk: pass it back to continue


class EndpointStatus(StrEnum):
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass
class Endpoint:
    """A served model version."""

    model: str
    version: str
    backend: str
    status: EndpointStatus
    url: str | None = None
    replicas: int = 1
    ready_replicas: int = 0
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


class BackendError(Exception):
    """A failure the user can act on; the message says what and what to do."""


class Backend(ABC):
    name: str
    # The `deployment.serving` runtimes this backend can run (FORMAT.md, "Deployment").
    serving_runtimes: tuple[str, ...] = ("mlflow",)

    @abstractmethod
    def submit(self, task: ResolvedTask, context: RunContext) -> RunRecord:
        """Start (or queue) a resolved task or pipeline; returns at once."""

    @abstractmethod
    def list_runs(self, project: str | None = None) -> list[RunRecord]:
        """Every known run, newest first, statuses refreshed."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """One run, status refreshed. Raises BackendError if unknown."""

    @abstractmethod
    def read_logs(self, run_id: str, offset: int = 0, limit: int | None = None) -> LogChunk:
        """Log text from `offset` (what exists now)."""

    # How much one read of `follow_logs` takes (None: all there is).
    FOLLOW_CHUNK: int | None = 4 << 20

    def follow_logs(
        self,
        run_id: str,
        offset: int = 0,
        poll: float = 0.2,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[LogChunk]:
        """Log text from `offset` until the run ends, or until `stop()` says to (asked between
        polls: a quiet run yields nothing its reader could stop on). Read `FOLLOW_CHUNK` at a
        time, so catching up on a large log never holds all of it."""
        import time

        while stop is None or not stop():
            chunk = self.read_logs(run_id, offset, self.FOLLOW_CHUNK)
            if chunk.text:
                yield chunk
                offset = chunk.offset
                continue
            if self.get_run(run_id).status.finished:
                # What was written between the last read and the end.
                while (final := self.read_logs(run_id, offset, self.FOLLOW_CHUNK)).text:
                    yield final
                    offset = final.offset
                return
            time.sleep(poll)

    def wait(self, run_id: str, timeout: float | None = None, poll: float = 0.2) -> RunRecord:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.get_run(run_id)
            if record.status.finished:
                return record
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"run {run_id} did not finish within {timeout:.0f} s")
            time.sleep(poll)

    @abstractmethod
    def cancel(self, run_id: str) -> RunRecord:
        """Stop a run and everything it started; the run becomes cancelled."""

    # --- model serving ---------------------------------------------------------------------

    @abstractmethod
    def deploy(self, model: str, version: str, context: RunContext, deployment: Any) -> Endpoint:
        """Serve `models:/model/version`; replaces a running version without a gap."""

    @abstractmethod
    def undeploy(self, model: str, context: RunContext) -> None:
        """Stop serving the model."""

    @abstractmethod
    def endpoint(self, model: str, context: RunContext) -> Endpoint | None:
        """The model's endpoint with its health, or None when it is not served."""

    @abstractmethod
    def list_endpoints(self, context: RunContext) -> list[Endpoint]:
        """Every served model of the project."""

    # --- canary rollouts (FORMAT.md, "Rollout"); a backend without them refuses in one line ---

    def start_canary(
        self, model: str, version: str, context: RunContext, deployment: Any, percent: float
    ) -> Endpoint:
        """Serve `version` beside the served one, for `percent` of the requests."""
        raise BackendError(
            f"the {self.name} backend cannot split traffic for a canary: use "
            "`rollout: {strategy: replace}`"
        )

    def canary_figures(self, model: str, context: RunContext) -> dict[str, Any] | None:
        """What the canary answered since it started ({"requests", "errors", "latency_ms"}),
        or None when this backend cannot measure it."""
        return None

    def promote_canary(self, model: str, context: RunContext, deployment: Any) -> Endpoint:
        """The canary takes all requests; the version it replaced stops."""
        raise BackendError(f"the {self.name} backend has no canary to promote")

    def abort_canary(
        self, model: str, context: RunContext, deployment: Any, previous: str
    ) -> Endpoint | None:
        """The canary stops; `previous`, served before, takes all requests again."""
        raise BackendError(f"the {self.name} backend has no canary to roll back")

    # --- monitoring (FORMAT.md, "Monitoring") -------------------------------------------------

    def request_log_root(self) -> Path | None:
        """Where this backend's served models log their requests (ame_core.monitoring), or
        None when it keeps no request log."""
        return None

    def serving_metrics(self, model: str, context: RunContext) -> str | None:
        """The served model's runtime metrics (Prometheus text), or None when none can be
        read; BackendError when reading them fails."""
        return None

    # --- flows ------------------------------------------------------------------------------

    def flow_store(self) -> Any:
        """Where this backend keeps flow records and starts their drivers (ame_core.flows)."""
        raise BackendError(f"the {self.name} backend cannot run flows")
