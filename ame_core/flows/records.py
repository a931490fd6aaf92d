"""Flow records: what one user action started, each step with its status and result.

A flow (train → validate → deploy, validate, deploy, undeploy, a scheduled firing) is driven by a
process that is not the client that asked for it; its record is the only thing they share. The
record says which steps are done with what result, so a driver that died can be replaced by a
new one that starts at the first unfinished step.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FlowStatus(StrEnum):
    PENDING = "pending"  # recorded, its driver not started yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (FlowStatus.SUCCEEDED, FlowStatus.FAILED, FlowStatus.CANCELLED)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self is not StepStatus.PENDING and self is not StepStatus.RUNNING


# The kinds of flow and the steps each one is made of, in order.
FLOW_STEPS: dict[str, tuple[str, ...]] = {
    "train": ("train", "register", "validate", "deploy"),
    "validate": ("resolve", "validate"),
    "deploy": ("resolve", "check", "deploy"),
    "undeploy": ("undeploy",),
    "task": ("run",),
    # The built-in report, then the user's own monitoring task (skipped when there is none).
    "monitor": ("resolve", "report", "monitor"),
    # A pipeline on a cluster: its driver starts each next group until the pipeline ends.
    "pipeline": ("advance",),
}
# How often a flow whose driver vanished is resumed before it is marked failed.
MAX_RESUMES = 3


@dataclass
class StepRecord:
    name: str
    status: StepStatus = StepStatus.PENDING
    started_at: float | None = None
    ended_at: float | None = None
    # The run this step started (training, validation): a resumed driver reattaches to it.
    run_id: str | None = None
    # What the step found or made: {"version": "3"}, {"verdict": "passed"}, {"url": ...}.
    result: dict[str, Any] = field(default_factory=dict)
    # One line for the user: what happened ("logreg v3 passed validation").
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["status"] = StepStatus(known.get("status", "pending"))
        return cls(**known)


@dataclass
class FlowRecord:
    id: str
    kind: str
    project: str
    backend: str
    status: FlowStatus = FlowStatus.PENDING
    model: str | None = None
    task: str | None = None
    # What the user asked: version, alias, force, deploy (autoDeploy wanted), ...
    params: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    reason: str | None = None
    # Who drives it now: {"pid", "start"} locally, {"job", "pod"} on a cluster.
    driver: dict[str, Any] = field(default_factory=dict)
    resumes: int = 0
    # Where it runs: project_dir, tracking_uri, context, namespace.
    origin: dict[str, Any] = field(default_factory=dict)
    # One line per thing that happened, with its time: what `ame flow show` prints.
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        flow_id: str,
        kind: str,
        project: str,
        backend: str,
        *,
        model: str | None = None,
        task: str | None = None,
        params: dict[str, Any] | None = None,
        origin: dict[str, Any] | None = None,
        steps: tuple[str, ...] | None = None,
    ) -> FlowRecord:
        names = steps if steps is not None else FLOW_STEPS[kind]
        return cls(
            id=flow_id,
            kind=kind,
            project=project,
            backend=backend,
            model=model,
            task=task,
            params=dict(params or {}),
            steps=[StepRecord(name) for name in names],
            created_at=time.time(),
            origin=dict(origin or {}),
        )

    @property
    def subject(self) -> str:
        """What the flow is about, in words: "logreg", "logreg v3", "task train"."""
        if self.model:
            version = self.params.get("version")
            return f"{self.model} v{version}" if version else self.model
        return self.task or ""

    @property
    def title(self) -> str:
        if self.kind == "deploy" and self.params.get("event") == "rollback":
            # a deploy of the version served before
            return f"roll back {self.model} to v{self.params.get('version')}"
        return f"{self.kind} {self.subject}".strip()

    def step(self, name: str) -> StepRecord:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def current(self) -> StepRecord | None:
        """The step being worked on, or the next one to do; None when all are finished."""
        for step in self.steps:
            if not step.status.finished:
                return step
        return None

    def run_ids(self) -> list[str]:
        return [s.run_id for s in self.steps if s.run_id]

    def event(self, text: str) -> None:
        self.events.append({"time": time.time(), "text": text})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["steps"] = [s.to_json() for s in self.steps]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["status"] = FlowStatus(known.get("status", "pending"))
        known["steps"] = [StepRecord.from_json(s) for s in known.get("steps") or []]
        return cls(**known)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)
