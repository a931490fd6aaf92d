"""Runs side by side: their params and metrics read from MLflow, and what differs between them.

One module for `ame runs compare` and the console's comparison screen. A run is named by its
AME run id (what `ame runs` and the console list; resolved to its MLflow run by the caller) or
by an MLflow run id. Reading goes through MLflow's REST API on a tracking server (no mlflow
import) and through the MLflow client on other stores, as `ame_tui.services.mlflow_data` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


class CompareError(Exception):
    """A run that cannot be compared (not in MLflow, MLflow not answering): one line."""


@dataclass
class MetricSeries:
    """One metric of one run: its history as (step, value), in step order."""

    points: list[tuple[int, float]]

    @property
    def last(self) -> float:
        return self.points[-1][1]

    @property
    def min(self) -> float:
        return min(v for _, v in self.points)

    @property
    def max(self) -> float:
        return max(v for _, v in self.points)

    def at(self, step: int) -> float | None:
        """The value logged at `step`, else the last one before it (None: none before)."""
        found = None
        for s, v in self.points:
            if s > step:
                break
            found = v
        return found


@dataclass
class RunSide:
    label: str  # what the user named it by: the AME run id, else the MLflow run id
    mlflow_run_id: str
    name: str = ""
    status: str = ""
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSeries] = field(default_factory=dict)


@dataclass
class Row:
    key: str
    differs: bool


@dataclass
class ParamRow(Row):
    values: list[str | None]  # one per run; None: the run has no such param


@dataclass
class MetricRow(Row):
    series: list[MetricSeries | None]  # one per run; None: the run did not log it


@dataclass
class Comparison:
    runs: list[RunSide]
    params: list[ParamRow]
    metrics: list[MetricRow]

    def shown(self, rows: list[Any], only_differences: bool) -> list[Any]:
        return [r for r in rows if r.differs or not only_differences]

    @property
    def last_step(self) -> int:
        """The highest step any run logged (0 when none)."""
        steps = [p[-1][0] for row in self.metrics for s in row.series if s for p in [s.points]]
        return max(steps, default=0)

    def to_json(self, step: int | None = None) -> dict[str, Any]:
        def metric(series: MetricSeries | None) -> dict[str, Any] | None:
            if series is None:
                return None
            out: dict[str, Any] = {
                "last": _num(series.last),
                "min": _num(series.min),
                "max": _num(series.max),
                "steps": len(series.points),
                "history": [[s, _num(v)] for s, v in series.points],
            }
            if step is not None:
                at = series.at(step)
                out["at_step"] = None if at is None else _num(at)
            return out

        return {
            "runs": [
                {
                    "id": r.label,
                    "mlflow_run_id": r.mlflow_run_id,
                    "name": r.name,
                    "status": r.status,
                }
                for r in self.runs
            ],
            "step": step,
            "params": [
                {"key": p.key, "differs": p.differs, "values": p.values} for p in self.params
            ],
            "metrics": [
                {"key": m.key, "differs": m.differs, "runs": [metric(s) for s in m.series]}
                for m in self.metrics
            ],
        }


def _num(value: float) -> float | str:
    """JSON has no NaN or infinity: those are written as text."""
    return value if math.isfinite(value) else str(value)


def build(runs: list[RunSide]) -> Comparison:
    """Every param and metric of any of the runs, each marked whether the runs differ on it
    (a metric differs when the last values do, or one run lacks it)."""
    param_keys = sorted({k for r in runs for k in r.params})
    params = []
    for key in param_keys:
        values = [r.params.get(key) for r in runs]
        params.append(ParamRow(key, len(set(values)) > 1, values))
    metric_keys = sorted({k for r in runs for k in r.metrics})
    metrics = []
    for key in metric_keys:
        series = [r.metrics.get(key) for r in runs]
        lasts = {None if s is None else s.last for s in series}
        metrics.append(MetricRow(key, len(lasts) > 1, series))
    return Comparison(runs, params, metrics)


def read_run(api: Any, mlflow_run_id: str, label: str | None = None) -> RunSide:
    """A run's params and metric histories; `api` is an `ame_core.mlflow_rest.MlflowRest` (a
    tracking server) or an MlflowClient (other stores). Raises CompareError."""
    from ame_core.mlflow_rest import MlflowRest, RestError

    label = label or mlflow_run_id
    try:
        if isinstance(api, MlflowRest):
            return _read_rest(api, mlflow_run_id, label)
        return _read_client(api, mlflow_run_id, label)
    except RestError as exc:
        if exc.not_found or exc.status == 404:
            raise CompareError(f"{label}: no MLflow run {mlflow_run_id}") from None
        raise CompareError(f"{label}: MLflow: {exc}") from None
    except CompareError:
        raise
    except Exception as exc:  # noqa: BLE001 - the MLflow client's errors: one line
        if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            raise CompareError(f"{label}: no MLflow run {mlflow_run_id}") from None
        from ame_core.errors import one_line

        raise CompareError(f"{label}: MLflow: {one_line(exc)}") from None


def _read_rest(api: Any, run_id: str, label: str) -> RunSide:
    from ame_core.mlflow_rest import metrics_of, params_of

    run = api.get_run(run_id)
    info = run.get("info") or {}
    side = RunSide(label, run_id, str(info.get("run_name") or ""), str(info.get("status") or ""))
    side.params = params_of(run)
    for key in sorted(metrics_of(run)):
        points = [
            (int(m.get("step") or 0), int(m.get("timestamp") or 0), float(m["value"]))
            for m in api.metric_history(run_id, key)
        ]
        side.metrics[key] = _series(points)
    return side


def _read_client(client: Any, run_id: str, label: str) -> RunSide:
    run = client.get_run(run_id)
    side = RunSide(label, run_id, run.info.run_name or "", str(run.info.status))
    side.params = dict(run.data.params)
    for key in sorted(run.data.metrics):
        points = [
            (int(m.step), int(m.timestamp), float(m.value))
            for m in client.get_metric_history(run_id, key)
        ]
        side.metrics[key] = _series(points)
    return side


def _series(points: list[tuple[int, int, float]]) -> MetricSeries:
    # a step logged twice keeps its latest value (what MLflow's UI shows)
    by_step: dict[int, float] = {}
    for step, _ts, value in sorted(points):
        by_step[step] = value
    return MetricSeries(sorted(by_step.items()))


def looks_like_mlflow_id(ref: str) -> bool:
    return len(ref) == 32 and all(c in "0123456789abcdef" for c in ref)


def mlflow_run_of(record: Any, get_run: Any) -> str:
    """The MLflow run of an AME run: its own, else (a pipeline) its last step's that has one.
    `get_run(id)` reads a step's record. Raises CompareError when there is none."""
    if record.mlflow_run_id:
        return record.mlflow_run_id
    for step_id in reversed(list(record.step_ids or [])):
        try:
            step = get_run(step_id)
        except Exception:  # noqa: BLE001 - a step the backend no longer has: try the others
            continue
        if step.mlflow_run_id:
            return step.mlflow_run_id
    raise CompareError(
        f"run {record.id} ({record.task}) logged nothing to MLflow: no params or metrics to compare"
    )


def client_for(uri: str) -> Any:
    """What `read_run` reads with for a tracking URI (the CLI's; the console keeps its own)."""
    from ame_core import tracking

    if uri.startswith(("http://", "https://")):
        return tracking.rest(uri)
    return tracking.client(uri)


def fmt(value: float | None) -> str:
    """A metric value in a few characters ('—' for none)."""
    if value is None:
        return "—"
    if value != value:
        return "nan"
    if abs(value) >= 1e5 or (0 < abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"
