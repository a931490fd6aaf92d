"""`ame model monitor`: the report of a served model, written as JSON and recorded in MLflow.

The same function serves the CLI, the console and the `monitor` flow's report step. Each report
is written to `.ame/monitoring/<model>/<time>.json` (and `latest.json`) and recorded as an MLflow
run in the project's experiment: tags `ame.kind=monitoring`, `ame.model`, `ame.version`,
`ame.verdict`; the figures as metrics (`requests`, `requests_per_minute`, `error_rate`,
`latency_p50_ms`/`p95`/`p99`, `drift_share`, `drifted_features`, and per feature
`drift.<feature>.statistic` / `.p_value`); the report itself as `monitoring/report.json`.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from ame_core.atomic_files import atomic_write
from ame_core.durations import FormatValueError, parse_duration
from ame_core.lifecycle import LifecycleError
from ame_core.monitoring import reference as ref
from ame_core.monitoring import request_log
from ame_core.monitoring.report import build

KIND = "monitoring"
DEFAULT_WINDOW = "1h"


class MonitorError(LifecycleError):
    """What stops a report (nothing deployed, a bad window): one line."""


def reports_dir(project_dir: Path, model: str) -> Path:
    return Path(project_dir) / ".ame" / "monitoring" / model


def latest(project_dir: Path, model: str) -> dict[str, Any] | None:
    """The model's last report on this machine, or None."""
    try:
        return json.loads((reports_dir(project_dir, model) / "latest.json").read_text())
    except (OSError, ValueError):
        return None


def window_seconds(value: str | None, model: Any) -> float:
    spelled = value or getattr(model.monitoring, "window", None) or DEFAULT_WINDOW
    try:
        seconds = parse_duration(spelled)
    except FormatValueError as exc:
        raise MonitorError(f"--window: {exc}") from None
    if seconds <= 0:
        raise MonitorError(f"--window: {spelled!r} is not a positive duration")
    return seconds


# The console asks for a live report every few seconds: the reference of a version (an MLflow
# download, a file read) is read once per (project, model, version, reference setting); the
# few most recent are kept (a reference frame can be megabytes; a new version makes a new key).
_BASELINES: dict[tuple[str, ...], tuple[Any, Any, str]] = {}
_BASELINES_KEPT = 8


def remember_baseline(key: tuple[str, ...], baseline: tuple[Any, Any, str]) -> None:
    """Keep `baseline` as the newest; forget the least recently used past the few kept."""
    _BASELINES.pop(key, None)
    while len(_BASELINES) >= _BASELINES_KEPT:
        del _BASELINES[next(iter(_BASELINES))]
    _BASELINES[key] = baseline


def monitor(
    lifecycle: Any,
    model_name: str,
    *,
    window: str | None = None,
    record: bool = True,
    write: bool = True,
    reuse_baseline: bool = False,
    now: float | None = None,
) -> dict[str, Any]:
    """The report of `model_name` over the window ending now (MonitorError, LifecycleError).
    `write`: keep it in `.ame/monitoring/`; `record`: also as an MLflow run."""
    model = lifecycle.project.model(model_name)
    seconds = window_seconds(window, model)
    until = now if now is not None else time.time()
    since = until - seconds
    backend = lifecycle.backend
    # What the backend serves, not the registry's alias: nothing served, nothing to watch (and
    # no MLflow server is started just to say so).
    endpoint = backend.endpoint(model_name, lifecycle.context("deployment", model_name))
    deployed = str(endpoint.version) if endpoint is not None and endpoint.version else None
    if deployed is None:
        raise MonitorError(
            f"{model_name} is not deployed; monitoring watches the served version "
            f"(deploy one: ame model deploy {model_name})"
        )
    context = lifecycle.context("monitoring", model_name, deployed)
    root = backend.request_log_root()
    warnings: list[str] = []
    if root is not None:
        logs = request_log.read(root, model_name, since, until)
    else:
        logs = {}
    monitoring = model.monitoring
    drift_settings = getattr(monitoring, "drift", None)
    key = (
        str(lifecycle.project.dir),
        lifecycle.tracking_uri,
        model_name,
        str(deployed),
        str(getattr(monitoring, "reference", None)),
    )
    baseline = _BASELINES.get(key) if reuse_baseline else None
    if baseline is None:
        baseline = _baseline(lifecycle, model_name, deployed, monitoring, warnings)
    remember_baseline(key, baseline)
    features, reference, why_not = baseline
    report = build(
        model_name,
        deployed,
        logs,
        since=since,
        until=until,
        features=features,
        reference=reference,
        no_reference_reason=why_not,
        threshold=_number(getattr(drift_settings, "threshold", None)),
        watched=getattr(drift_settings, "features", None),
        warnings=warnings,
    )
    report["project"] = lifecycle.project.name
    report["backend"] = backend.name
    if root is None:
        _cluster_figures(backend, model_name, context, report)
    else:
        settings = request_log.Settings.from_env()
        report["log"] = {
            "path": str(root / model_name),
            "bytes": request_log.disk_usage(root, model_name),
            "cap_bytes_per_version": settings.max_bytes,
            "rows_per_minute": settings.rows_per_minute,
        }
    if record:
        report["mlflow_run_id"] = record_run(lifecycle, report)
    if write or record:
        report["path"] = str(_write(lifecycle.project.dir, model_name, report))
    return report


def _number(value: Any) -> float | None:
    """A plain float: the file's numbers carry their source position (not copyable)."""
    return None if value is None else float(value)


def _baseline(
    lifecycle: Any, model_name: str, version: str, monitoring: Any, warnings: list[str]
) -> tuple[list[ref.Feature] | None, ref.Reference | None, str]:
    """(features, reference, why there is none) of the deployed version."""
    files = _version_files(lifecycle, model_name, version)
    features = ref.features_of(files.get("signature"))
    try:
        reference = _reference(lifecycle, model_name, version, monitoring, files)
    except ref.ReferenceError as exc:
        return features, None, str(exc)
    if reference is None:
        return (
            features,
            None,
            (
                "set `monitoring.reference` (a data set or a file), or log one from "
                f"training under `{ref.REFERENCE_ARTIFACT}/`"
            ),
        )
    if features is None:
        warnings.append("the version has no signature: features are named from the reference")
        features = [
            ref.Feature(
                str(c), "numeric" if reference.frame[c].dtype.kind in "iuf" else "categorical"
            )
            for c in reference.frame.columns
        ]
    try:
        reference.frame = ref.fit(reference.frame, features, reference.source)
    except ref.ReferenceError as exc:
        return features, None, str(exc)
    if reference.warning:
        warnings.append(reference.warning)
    return features, reference, ""


def _reference(
    lifecycle: Any, model_name: str, version: str, monitoring: Any, files: dict[str, Any]
) -> ref.Reference | None:
    project_dir = Path(lifecycle.project.dir)
    configured = getattr(monitoring, "reference", None)
    if configured:
        spec = lifecycle.project.analysis.project
        data_sets = {d.name: d.path for d in spec.data_set_list()}
        return ref.project_reference(configured, project_dir, data_sets)
    logged = _logged_reference(lifecycle, model_name, version)
    if logged is not None:
        return ref.Reference(logged, f"the training run's {ref.REFERENCE_ARTIFACT}/")
    example = files["input_example"]() if "input_example" in files else None
    if example is None:
        return None
    return ref.Reference(
        example,
        "the version's input example",
        warning=f"the reference is the version's input example ({len(example)} rows): too small "
        "to be trusted; set `monitoring.reference` or log one from training",
    )


def _version_files(lifecycle: Any, model_name: str, version: str) -> dict[str, Any]:
    """The version's signature, and a reader of its input example (read only when it is the
    reference): from its served copy on this machine, else through MLflow."""
    import yaml

    from ame_core.serving.versions import ModelFiles

    local = Path(lifecycle.project.dir) / ".ame" / "serving" / "models" / model_name
    model_dir = local / f"v{version}" / "model"
    if (model_dir / "MLmodel").is_file():
        files = ModelFiles(model_dir, yaml.safe_load((model_dir / "MLmodel").read_text()) or {})
        return {"signature": files.signature_inputs, "input_example": lambda: _example(model_dir)}
    from ame_core.tracking import is_http, rest

    if not is_http(lifecycle.tracking_uri):
        return {}
    api = rest(lifecycle.tracking_uri, lifecycle.project.dir)
    try:
        mlmodel = yaml.safe_load(api.model_version_artifact(model_name, version, "MLmodel"))
    except Exception:  # noqa: BLE001 - a version without an MLmodel: drift says so
        return {}

    def example() -> Any:
        try:
            raw = api.model_version_artifact(model_name, version, "input_example.json")
            return ref.from_input_example(json.loads(raw))
        except Exception:  # noqa: BLE001 - none logged
            return None

    return {
        "signature": ModelFiles(model_dir, mlmodel or {}).signature_inputs,
        "input_example": example,
    }


def _example(model_dir: Path) -> Any:
    try:
        return ref.input_example(model_dir)
    except ref.ReferenceError:
        return None


def _logged_reference(lifecycle: Any, model_name: str, version: str) -> Any:
    """What the version's training run logged under `ame-reference/`, or None."""
    from ame_core.tracking import is_http, rest

    try:
        run_id = lifecycle.registry.client.get_model_version(model_name, version).run_id
    except Exception:  # noqa: BLE001 - no run: no logged reference
        return None
    if not run_id:
        return None
    if is_http(lifecycle.tracking_uri):
        api = rest(lifecycle.tracking_uri, lifecycle.project.dir)
        try:
            listed = api.list_artifacts(run_id, ref.REFERENCE_ARTIFACT)
            files = [
                (Path(item["path"]).name, api.run_artifact(run_id, item["path"]))
                for item in listed
                if not item.get("is_dir")
            ]
        except Exception:  # noqa: BLE001 - the run logged none
            return None
        return ref.logged_reference(files)
    from ame_core.tracking import client

    try:
        folder = client(lifecycle.tracking_uri).download_artifacts(run_id, ref.REFERENCE_ARTIFACT)
    except Exception:  # noqa: BLE001
        return None
    return ref.read_file(Path(folder), ref.REFERENCE_ARTIFACT)


def _cluster_figures(backend: Any, model: str, context: Any, report: dict[str, Any]) -> None:
    """On a cluster: the serving runtime's own counters, and what is not available there."""
    from ame_core.monitoring.prometheus import serving_figures

    try:
        text = backend.serving_metrics(model, context)
    except Exception as exc:  # noqa: BLE001 - a port-forward that fails: said, not raised
        text = None
        report["warnings"].append(f"cannot read the model server's metrics: {exc}")
    if text is not None:
        report["server_metrics"] = serving_figures(text)
    report["unavailable"].append(
        f"on the {backend.name} backend there is no request log yet: the window's traffic, "
        "per-minute series, latency percentiles per version and input drift need one; "
        + (
            "the figures under server_metrics are the runtime's totals since it started"
            if text is not None
            else "this runtime exposes no metrics AME can read (MLServer's /metrics is)"
        )
    )


def _write(project_dir: Path, model: str, report: dict[str, Any]) -> Path:
    folder = reports_dir(project_dir, model)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(report["generated_at"]))
    path = folder / f"{stamp}.json"
    report["path"] = str(path)
    text = json.dumps(report, indent=2, default=str) + "\n"
    atomic_write(path, text)
    atomic_write(folder / "latest.json", text)
    return path


# --- MLflow ----------------------------------------------------------------------------------

_METRIC_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def metrics_of(report: dict[str, Any]) -> dict[str, float]:
    """The report's figures as MLflow metrics."""
    traffic = report["traffic"]
    figures: dict[str, float] = {
        "requests": traffic["requests"],
        "requests_per_minute": traffic["per_minute"],
        "error_rate": traffic["error_rate"],
    }
    for key, value in (traffic.get("latency_ms") or {}).items():
        figures[f"latency_{key}_ms"] = value
    found = report["drift"]
    if found.get("share") is not None:
        figures["drift_share"] = found["share"]
        figures["drifted_features"] = len(found["drifted"])
    figures["input_rows"] = found.get("rows", 0)
    for feature in found.get("features") or []:
        name = _METRIC_KEY.sub("_", feature["feature"])
        statistic = feature.get("statistic")
        figures[f"drift.{name}.statistic"] = statistic if statistic is not None else 1e308
        if feature.get("p_value") is not None:
            figures[f"drift.{name}.p_value"] = feature["p_value"]
    return figures


def record_run(lifecycle: Any, report: dict[str, Any]) -> str:
    """The report as an ended MLflow run (TrackingError when MLflow cannot take it)."""
    from ame_core.tracking import end_run, log_metrics, start_task_run

    uri, project_dir = lifecycle.tracking_uri, Path(lifecycle.project.dir)
    model, version = report["model"], str(report["version"])
    at = report["generated_at"]
    run_id, _ = start_task_run(
        uri,
        project_dir,
        lifecycle.project.name,
        f"monitor-{model}",
        f"monitor-{model}-{int(at)}",
        kind=KIND,
        tags={
            "ame.model": model,
            "ame.version": version,
            "ame.verdict": report["drift"]["verdict"],
            "mlflow.source.name": f"ame model monitor {model}",
        },
        start_time=at,
    )
    log_metrics(uri, project_dir, run_id, metrics_of(report), at)
    report["mlflow_run_id"] = run_id
    _log_report(uri, project_dir, run_id, report)
    end_run(uri, run_id, "FINISHED", project_dir=project_dir)
    return run_id


def _log_report(uri: str, project_dir: Path, run_id: str, report: dict[str, Any]) -> None:
    from ame_core.tracking import TrackingError, is_http, log_artifacts, rest

    data = (json.dumps(report, indent=2, default=str) + "\n").encode()
    try:
        if is_http(uri):
            api = rest(uri, project_dir)
            artifact_uri = str(api.get_run(run_id)["info"].get("artifact_uri") or "")
            if artifact_uri.startswith("mlflow-artifacts:"):
                api.upload_artifact(artifact_uri, "monitoring/report.json", data)
                return
            local = _local_path(artifact_uri)
            if local is not None:
                target = local / "monitoring" / "report.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                return
        import tempfile

        with tempfile.TemporaryDirectory(prefix="ame-report-") as folder:
            tmp = Path(folder) / "report.json"
            tmp.write_bytes(data)
            log_artifacts(uri, run_id, [(tmp, "monitoring")])
    except TrackingError:
        raise
    except Exception as exc:  # noqa: BLE001 - RestError, OSError, MLflow's own: one line
        from ame_core.errors import one_line

        raise TrackingError(f"MLflow ({uri}): cannot store the report: {one_line(exc)}") from None


def _local_path(artifact_uri: str) -> Path | None:
    if artifact_uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(artifact_uri).path))
    if artifact_uri.startswith("/"):
        return Path(artifact_uri)
    return None
