"""A model's deployment history: every deploy, promote, roll-back and undeploy as an MLflow run
in the project's experiment, so it survives every process and any `ame` (or the MLflow UI) reads
it (FORMAT.md: "Each deploy, promote, roll-back and undeploy is recorded").

A history run has the tags `ame.kind=deployment`, `ame.model`, `ame.event`, `ame.from_version`,
`ame.to_version`, `ame.strategy`, `ame.outcome`, `ame.reason`, `ame.backend`, `ame.flow_id` and
`mlflow.user`; its start time is when the event happened; a canary's figures are its metrics.
On a tracking server it goes through the REST API (no `mlflow` import); on another store (a
`sqlite:///` URI given on purpose) through the MLflow client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ame_core.tracking import TrackingError, client, is_http, log_metrics, rest, start_task_run

KIND = "deployment"
EVENTS = ("deploy", "promote", "rollback", "undeploy")
# Listing more than this many events of one model is not useful in a terminal.
MAX_EVENTS = 200


@dataclass
class DeploymentEvent:
    model: str
    event: str  # one of EVENTS
    to_version: str | None  # None for an undeploy
    from_version: str | None = None  # what was served before (None: nothing)
    strategy: str = "replace"
    outcome: str = "succeeded"  # succeeded | failed | rolled back
    reason: str = ""
    backend: str = "local"
    flow_id: str | None = None
    user: str = ""  # default: who runs this process
    at: float = field(default_factory=time.time)  # seconds since the epoch
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None  # the MLflow run that records it

    def tags(self) -> dict[str, str]:
        tags = {"mlflow.user": self.user} if self.user else {}
        tags |= {
            "ame.event": self.event,
            "ame.model": self.model,
            "ame.strategy": self.strategy,
            "ame.outcome": self.outcome,
            "ame.backend": self.backend,
        }
        optional = {
            "ame.to_version": self.to_version,
            "ame.from_version": self.from_version,
            "ame.reason": self.reason[:500] if self.reason else None,
            "ame.flow_id": self.flow_id,
        }
        tags.update({k: v for k, v in optional.items() if v})
        return tags

    @property
    def summary(self) -> str:
        """One line: "deploy v1 → v2 (canary) succeeded"."""
        was = f"v{self.from_version}" if self.from_version else "nothing"
        now = f"v{self.to_version}" if self.to_version else "nothing"
        how = f" ({self.strategy})" if self.strategy != "replace" else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.event} {was} → {now}{how} {self.outcome}{why}"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def record(uri: str, project_dir: Path, project: str, event: DeploymentEvent) -> str:
    """Write the event as an ended MLflow run; its id. TrackingError when MLflow cannot."""
    from ame_core.tracking import end_run

    run_id, _ = start_task_run(
        uri,
        project_dir,
        project,
        f"{event.event}-{event.model}",
        event.flow_id or f"{event.event}-{int(event.at)}",
        kind=KIND,
        tags={**event.tags(), "mlflow.source.name": f"ame model {event.event} {event.model}"},
        start_time=event.at,
    )
    if event.metrics:
        log_metrics(uri, project_dir, run_id, event.metrics, event.at)
    end_run(
        uri,
        run_id,
        "FINISHED" if event.outcome == "succeeded" else "FAILED",
        project_dir=project_dir,
    )
    event.run_id = run_id
    return run_id


def events(uri: str, project_dir: Path, project: str, model: str) -> list[DeploymentEvent]:
    """The model's deployment events, newest first ([] when there is no experiment yet)."""
    query = f"tags.`ame.kind` = '{KIND}' and tags.`ame.model` = '{_quote(model)}'"
    order = ["attributes.start_time DESC"]
    try:
        if is_http(uri):
            api = rest(uri, project_dir)
            experiment = api.experiment_by_name(project)
            if experiment is None:
                return []
            runs = api.search_runs(
                [str(experiment["experiment_id"])], query, MAX_EVENTS, order_by=order
            )
            return [_from_rest(run) for run in runs]
        c = client(uri)
        found = c.get_experiment_by_name(project)
        if found is None:
            return []
        runs = c.search_runs([found.experiment_id], query, max_results=MAX_EVENTS, order_by=order)
        return [_from_client(run) for run in runs]
    except TrackingError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow's client raises any kind: one line
        raise TrackingError(f"MLflow ({uri}): cannot read the deployment history: {exc}") from None


def previous_version(history: list[DeploymentEvent], current: str | None) -> str | None:
    """The version served before `current` (newest first): what a roll-back goes back to."""
    for event in history:
        if event.outcome != "succeeded" or event.event == "undeploy":
            continue
        if event.to_version == current and event.from_version and event.from_version != current:
            return event.from_version
    return None


def _event(tags: dict[str, str], start_ms: Any, metrics: dict[str, float], run_id: str):
    return DeploymentEvent(
        model=tags.get("ame.model", ""),
        event=tags.get("ame.event", ""),
        to_version=tags.get("ame.to_version"),
        from_version=tags.get("ame.from_version"),
        strategy=tags.get("ame.strategy", "replace"),
        outcome=tags.get("ame.outcome", ""),
        reason=tags.get("ame.reason", ""),
        backend=tags.get("ame.backend", ""),
        flow_id=tags.get("ame.flow_id"),
        user=tags.get("mlflow.user", ""),
        at=int(start_ms or 0) / 1000,
        metrics=metrics,
        run_id=run_id,
    )


def _from_rest(run: dict[str, Any]) -> DeploymentEvent:
    info, data = run.get("info") or {}, run.get("data") or {}
    tags = {t["key"]: t["value"] for t in data.get("tags") or []}
    metrics = {m["key"]: float(m["value"]) for m in data.get("metrics") or []}
    return _event(tags, info.get("start_time"), metrics, info.get("run_id", ""))


def _from_client(run: Any) -> DeploymentEvent:
    return _event(dict(run.data.tags), run.info.start_time, dict(run.data.metrics), run.info.run_id)


def _quote(value: str) -> str:
    return value.replace("'", "\\'")
