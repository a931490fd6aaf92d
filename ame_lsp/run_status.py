"""What the run lenses show and start: a project's runs and models as the CLI sees them, and the
flows that `ame model train|validate|deploy` and the scheduler start (`ame_core.flows.control`).

Nothing here runs a step: starting records a flow and launches its driver (the process that
also runs it for the CLI and the console), so a run goes on when the editor closes. Reading
runs and the registry is blocking (a cluster, MLflow): callers run it in a worker thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ame_core.durations import format_duration

_ICONS = {"succeeded": "✓", "failed": "✗", "running": "●", "queued": "…", "cancelled": "⊘"}
# Runs and versions are read again after this long (or at once when a flow started here ends).
_FRESH_S = 5.0


class RunStartError(Exception):
    """Shown to the user as one line (window/showMessage)."""


def age(seconds_ago: float) -> str:
    return format_duration(round(max(1.0, seconds_ago)))


def run_line(run: Any, now: float | None = None) -> str:
    """`✓ succeeded 2m5s ago` (or `● running for 12s`) for a RunRecord."""
    now = time.time() if now is None else now
    status = run.status.value
    icon = _ICONS.get(status, "·")
    if not run.status.finished:
        since = run.started_at or run.created_at
        return f"{icon} {status} for {age(now - since)}" if since else f"{icon} {status}"
    ended = run.ended_at or run.started_at or run.created_at
    return f"{icon} {status} {age(now - ended)} ago" if ended else f"{icon} {status}"


def version_line(version: Any) -> str:
    """`v3 ✓ validation passed · accuracy 0.93` for a registry VersionInfo."""
    parts = [f"v{version.version}"]
    verdict = version.verdict
    if verdict is None:
        parts.append("not validated")
    else:
        parts.append(f"{'✓' if verdict.passed else '✗'} validation {verdict.status}")
    metrics = version.key_metrics(1)
    for key, value in metrics.items():
        parts.append(f"{key} {value:.4g}")
    return " · ".join(parts)


@dataclass
class _ProjectState:
    runs: list[Any] = field(default_factory=list)
    runs_at: float = 0.0
    versions: dict[str, Any] = field(default_factory=dict)  # model → VersionInfo | None
    versions_at: float = 0.0
    error: str | None = None


class RunStatus:
    """Per project directory: its backend (the one `ame` picks there), runs and versions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: dict[Path, Any] = {}
        self._state: dict[Path, _ProjectState] = {}

    def backend(self, project_dir: Path) -> Any:
        from ame_core.runtime.backend import BackendError
        from ame_core.runtime.select import get_backend

        with self._lock:
            if project_dir not in self._backends:
                try:
                    self._backends[project_dir] = get_backend(None, project_dir)
                except BackendError as exc:
                    raise RunStartError(str(exc)) from None
            return self._backends[project_dir]

    def forget(self, project_dir: Path) -> None:
        """Read again next time (a flow started here ended)."""
        with self._lock:
            self._state.pop(project_dir, None)

    def _state_of(self, project_dir: Path) -> _ProjectState:
        with self._lock:
            return self._state.setdefault(project_dir, _ProjectState())

    def last_runs(self, project_dir: Path, project: str) -> dict[str, Any]:
        """task name → its newest run (tasks and pipelines; model runs are the model's)."""
        state = self._state_of(project_dir)
        if time.time() - state.runs_at > _FRESH_S:
            try:
                state.runs = self.backend(project_dir).list_runs(project)
                state.error = None
            except Exception as exc:  # noqa: BLE001 - a cluster that cannot be reached: say so in the lens
                from ame_core.errors import one_line

                state.error = one_line(exc)
            state.runs_at = time.time()
        newest: dict[str, Any] = {}
        for run in state.runs:
            if run.kind not in ("task", "pipeline") or run.parent_id:
                continue
            seen = newest.get(run.task)
            if seen is None or run.created_at > seen.created_at:
                newest[run.task] = run
        return newest

    def running(self, project_dir: Path) -> bool:
        state = self._state_of(project_dir)
        return any(not r.status.finished for r in state.runs)

    def latest_version(self, project_dir: Path, model: str) -> Any:
        """The model's newest registered version (VersionInfo), None when it has none."""
        state = self._state_of(project_dir)
        if time.time() - state.versions_at > _FRESH_S:
            state.versions = {}
            state.versions_at = time.time()
        if model not in state.versions:
            from ame_core.registry import Registry
            from ame_core.tracking import tracking_uri_for

            if not tracking_is_up(project_dir):
                return None  # looking must not start the project's MLflow server
            try:
                state.versions[model] = Registry(tracking_uri_for(project_dir)).latest(model)
            except Exception:  # noqa: BLE001 - no store yet, or MLflow down: no version line
                state.versions[model] = None
        return state.versions[model]

    def error(self, project_dir: Path) -> str | None:
        return self._state_of(project_dir).error

    # --- starting ---------------------------------------------------------------------------

    def start(self, project_dir: Path, kind: str, name: str) -> Any:
        """Start a flow as `ame model <kind>` (kind train|validate|deploy) or the scheduler
        (kind task: a task or pipeline) does; its FlowRecord. RunStartError: refused."""
        from ame_core.errors import one_line
        from ame_core.flows import control

        backend = self.backend(project_dir)
        origin = {"project_dir": str(project_dir), "tracking_uri": None}
        try:
            if kind == "task":
                return control.start(
                    backend.flow_store(),
                    "task",
                    _load(project_dir).name,
                    backend.name,
                    task=name,
                    origin=origin,
                )
            lifecycle = _lifecycle(project_dir, backend)
            control.check_startable(kind, lifecycle.project.model(name), backend)
            return control.start(
                backend.flow_store(),
                kind,
                lifecycle.project.name,
                backend.name,
                model=name,
                params=flow_params(kind),
                origin=origin,
            )
        except RunStartError:
            raise
        except Exception as exc:  # noqa: BLE001 - the backend raises any kind: one line to the editor
            raise RunStartError(one_line(exc)) from None

    def active_flow(self, project_dir: Path, model: str) -> Any:
        """The model's flow that is going (train, validate, deploy), None when none is."""
        from ame_core.flows import control

        backend = self.backend(project_dir)
        try:
            return control.active_for_model(backend.flow_store(), model, backend)
        except Exception:  # noqa: BLE001 - a cluster that cannot be reached: the run lines say so
            return None

    def flow(self, project_dir: Path, flow_id: str) -> Any:
        from ame_core.flows import control

        backend = self.backend(project_dir)
        return control.get(backend.flow_store(), flow_id, backend)

    def run(self, project_dir: Path, run_id: str) -> Any:
        return self.backend(project_dir).get_run(run_id)


def tracking_is_up(project_dir: Path) -> bool:
    """An explicit MLflow, or the project's own server already running: the registry can be
    read without starting anything (showing a lens must never start a process)."""
    import os

    from ame_core import tracking_server

    return bool(os.environ.get("MLFLOW_TRACKING_URI")) or (
        tracking_server.running(project_dir) is not None
    )


def versions_unknown(project_dir: Path) -> bool:
    """A store with versions in it, but its server is not running: the lens says so."""
    from ame_core import tracking_server

    return not tracking_is_up(project_dir) and tracking_server.store_path(project_dir).exists()


def flow_params(kind: str) -> dict[str, Any]:
    """What `ame model <kind> MODEL` asks for with no options (see ame_cli.model_cmds)."""
    if kind == "train":
        return {"deploy": None}  # None: autoDeploy as ame.yml says
    if kind == "validate":
        return {"version": None, "alias": None}
    if kind == "deploy":
        return {"version": None, "alias": None, "force": False}
    return {}


def _load(project_dir: Path) -> Any:
    """The project file as the driver will read it (LoadError: one line)."""
    from ame_core.runtime.loading import load_project

    return load_project(project_dir)


def _lifecycle(project_dir: Path, backend: Any) -> Any:
    from ame_core.lifecycle import Lifecycle
    from ame_core.tracking import tracking_uri_for

    return Lifecycle(_load(project_dir), backend, tracking_uri_for(project_dir))
