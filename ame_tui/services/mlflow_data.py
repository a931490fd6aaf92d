"""Reading MLflow for the TUI: health, model versions, run params/metrics/history, artifacts.

Imported only inside workers. On a tracking server (`http(s)://`: the project's local server or
a remote one) everything goes through MLflow's REST API (`ame_core.mlflow_rest`), without
importing mlflow (seconds); other stores use the MLflow client. Every function raises
`MlflowUnavailable` with a one-line reason when the store does not answer.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ame_core.errors import one_line


class MlflowUnavailable(Exception):
    """The tracking store does not answer; the message says why."""


@dataclass
class RunData:
    name: str = ""
    status: str = ""
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    # (path, size, is a folder); a logged model's own row has its name where the size goes
    artifacts: list[tuple[str, int | str | None, bool]] = field(default_factory=list)


_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def client(uri: str) -> Any:
    """One client per URI, made by ame_core.tracking: on a server the REST client (no mlflow
    import); otherwise an MlflowClient with short HTTP retries and MLflow's loggers quieted
    (their lines would land on the terminal the TUI draws on)."""
    with _lock:
        if uri not in _clients:
            from ame_core import tracking

            _clients[uri] = tracking.rest(uri) if _http(uri) else tracking.client(uri)
        return _clients[uri]


def check(uri: str, timeout: float = 2.0) -> str:
    """'' when the store answers, else why not. Cheap: no mlflow import. The project's local
    server is started here if it is not running (this runs in a worker)."""
    if _http(uri):
        from ame_core.tracking import TrackingError, ensure_local

        try:
            ensure_local(uri)
        except TrackingError as exc:
            return one_line(exc)
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                if response.status == 200:
                    return ""
                return f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"not answering ({reason})"
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if not path.exists():  # created on first use
            return ""
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
            try:
                con.execute("select 1").fetchone()
            finally:
                con.close()
        except sqlite3.Error as exc:
            return f"cannot open the store ({exc})"
        return ""
    return ""


def _guard(fn):
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlflowUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - shown to the user in one line
            if _is_not_found(exc):
                raise LookupError(one_line(exc)) from exc
            raise MlflowUnavailable(one_line(exc)[:200]) from exc

    return wrapper


def _is_not_found(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


@_guard
def run_data(uri: str, run_id: str, history: bool = True, artifacts: bool = True) -> RunData:
    if _http(uri):
        return _rest_run_data(client(uri), run_id, history, artifacts)
    mlflow_client = client(uri)
    run = mlflow_client.get_run(run_id)
    data = RunData(
        name=run.info.run_name or "",
        status=str(run.info.status),
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
    )
    if history:
        for key in sorted(data.metrics):
            points = mlflow_client.get_metric_history(run_id, key)
            points = sorted(points, key=lambda m: (m.step, m.timestamp))
            data.history[key] = [float(m.value) for m in points]
    if artifacts:
        data.artifacts = _artifacts(mlflow_client, run_id)
        data.artifacts += _logged_models(mlflow_client, run.info.experiment_id, run_id)
    return data


def _artifacts(
    mlflow_client: Any, run_id: str, limit: int = 200
) -> list[tuple[str, int | None, bool]]:
    out: list[tuple[str, int | None, bool]] = []
    pending: list[tuple[str | None, int]] = [(None, 0)]
    while pending and len(out) < limit:
        path, depth = pending.pop(0)
        for item in mlflow_client.list_artifacts(run_id, path):
            out.append((item.path, item.file_size, item.is_dir))
            if item.is_dir and depth < 2:
                pending.append((item.path, depth + 1))
    return sorted(out)[:limit]


def _rest_run_data(api: Any, run_id: str, history: bool, artifacts: bool) -> RunData:
    from ame_core.mlflow_rest import metrics_of, params_of

    run = api.get_run(run_id)
    info = run.get("info") or {}
    data = RunData(
        name=info.get("run_name") or "",
        status=str(info.get("status") or ""),
        params=params_of(run),
        metrics=metrics_of(run),
    )
    if history:
        for key in sorted(data.metrics):
            points = sorted(
                api.metric_history(run_id, key),
                key=lambda m: (int(m.get("step") or 0), int(m.get("timestamp") or 0)),
            )
            data.history[key] = [float(m["value"]) for m in points]
    if artifacts:
        data.artifacts = _rest_artifacts(api, run_id)
        data.artifacts += _rest_logged_models(api, str(info.get("experiment_id") or ""), run_id)
    return data


# MLflow 3 keeps a model logged by a run as a "logged model" of the experiment, with its files
# under `models/m-…/artifacts` of the experiment's store, not among the run's artifacts. They
# are shown as `models/m-…/` (the layout on disk) with the model's name.


def _logged_models(mlflow_client: Any, experiment_id: str, run_id: str) -> list[Any]:
    try:
        models = mlflow_client.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run_id}'"
        )
    except AttributeError:  # an MLflow before 3: models are run artifacts
        return []
    out: list[Any] = []
    for model in models:
        out += _model_tree(
            model.model_id,
            model.name,
            lambda path, m=model.model_id: [
                (f.path, f.file_size, f.is_dir)
                for f in mlflow_client.list_logged_model_artifacts(m, path)
            ],
        )
    return out


def _rest_logged_models(api: Any, experiment_id: str, run_id: str) -> list[Any]:
    from ame_core.mlflow_rest import RestError

    try:
        found = api.post(
            "logged-models/search",
            {"experiment_ids": [experiment_id], "filter": f"source_run_id = '{run_id}'"},
        )
    except RestError as exc:
        if exc.status == 404:  # a server before MLflow 3
            return []
        raise
    out: list[Any] = []
    for model in found.get("models") or []:
        info = model.get("info") or {}
        model_id = str(info.get("model_id") or "")

        def listing(path: str | None, m: str = model_id) -> list[tuple[str, int | None, bool]]:
            answer = api.get(
                f"logged-models/{m}/artifacts/directories", artifact_directory_path=path
            )
            return [
                (
                    f["path"],
                    None if f.get("is_dir") else int(f.get("file_size") or 0),
                    bool(f.get("is_dir")),
                )
                for f in answer.get("files") or []
            ]

        if model_id:
            out += _model_tree(model_id, str(info.get("name") or ""), listing)
    return out


def _model_tree(model_id: str, name: str, listing: Any, limit: int = 100) -> list[Any]:
    """A logged model's files below `models/<id>/`, its own row first (named, as a folder)."""
    root = f"models/{model_id}"
    out: list[Any] = [(root, f"logged model {name}" if name else "logged model", True)]
    pending: list[tuple[str | None, int]] = [(None, 0)]
    while pending and len(out) < limit:
        path, depth = pending.pop(0)
        for item_path, size, is_dir in listing(path):
            out.append((f"{root}/{item_path}", size, is_dir))
            if is_dir and depth < 2:
                pending.append((item_path, depth + 1))
    return [out[0], *sorted(out[1:])]


def _rest_artifacts(api: Any, run_id: str, limit: int = 200) -> list[tuple[str, int | None, bool]]:
    out: list[tuple[str, int | None, bool]] = []
    pending: list[tuple[str | None, int]] = [(None, 0)]
    while pending and len(out) < limit:
        path, depth = pending.pop(0)
        for item in api.list_artifacts(run_id, path):
            is_dir = bool(item.get("is_dir"))
            size = None if is_dir else int(item.get("file_size") or 0)
            out.append((item["path"], size, is_dir))
            if is_dir and depth < 2:
                pending.append((item["path"], depth + 1))
    return sorted(out)[:limit]


@_guard
def input_example(uri: str, model: str, version: str) -> dict[str, Any] | None:
    """The registered version's input example as an /invocations payload, or None."""
    if _http(uri):
        import json

        from ame_core.mlflow_rest import RestError

        try:
            raw = client(uri).model_version_artifact(model, version, "serving_input_example.json")
        except RestError as exc:
            if exc.status == 404 or exc.not_found:
                return None  # no example logged with the model
            raise
        return payload_for(json.loads(raw))
    import tempfile

    import mlflow
    from mlflow.models import Model

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with tempfile.TemporaryDirectory(prefix="ame-tui-") as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model}/{version}", dst_path=tmp
        )
        meta = Model.load(local)
        example = meta.load_input_example(local)
    if example is None:
        return None
    return payload_for(example)


def payload_for(example: Any) -> dict[str, Any]:
    """An /invocations body for an input example (DataFrame, array, dict or list)."""
    import json

    if hasattr(example, "to_json") and hasattr(example, "columns"):
        return {"dataframe_split": json.loads(example.to_json(orient="split", index=False))}
    if hasattr(example, "tolist"):
        return {"inputs": example.tolist()}
    if isinstance(example, dict) and any(
        k in example for k in ("dataframe_split", "dataframe_records", "inputs", "instances")
    ):
        return example
    return {"inputs": example}
