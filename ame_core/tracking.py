"""MLflow basics: which tracking server, the project's experiment, a task's MLflow run.

Precedence of the tracking URI: `--mlflow-uri`, then `MLFLOW_TRACKING_URI` (a server, or a
`sqlite:///` store on purpose: exactly that is used), then the embedded default: the project's
own MLflow server (`ame_core.tracking_server`) on `.ame/mlflow.db` and `.ame/mlartifacts`,
started on first need. On an `http(s)://` URI runs are created and ended through MLflow's REST
API (`ame_core.mlflow_rest`): no `mlflow` import, which takes seconds. The MLflow client is
imported only for other stores and for artifacts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ame_core.errors import one_line

if TYPE_CHECKING:
    from ame_core.mlflow_rest import MlflowRest
    from ame_core.runtime.backend import RunRecord
    from ame_core.runtime.records import RecordStore

RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")
# A run record whose MLflow run could not be ended holds the MLflow status here until it is.
END_PENDING = "mlflow_end_pending"


class TrackingError(Exception):
    """MLflow cannot be used; the message says where and why."""


def embedded_uri(project_dir: Path) -> str:
    """The project's store, as its local server opens it (not a URI for clients)."""
    return f"sqlite:///{Path(project_dir).resolve() / '.ame' / 'mlflow.db'}"


def artifact_root(project_dir: Path) -> Path:
    return Path(project_dir).resolve() / ".ame" / "mlartifacts"


def tracking_uri_for(project_dir: Path, cli_uri: str | None = None) -> str:
    """The tracking URI to use; the embedded default is the address of the project's local
    server, which this does not start (the first call that needs it does)."""
    explicit = cli_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if explicit:
        return explicit
    from ame_core import tracking_server

    return tracking_server.local_url(project_dir)


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def rest(uri: str, project_dir: Path | None = None, timeout: float | None = None) -> MlflowRest:
    """A REST client on `uri`; on the project's local server (known from `project_dir`, or
    from an address this process handed out) a call that finds nothing answering starts the
    server again once and is retried."""
    from ame_core import tracking_server
    from ame_core.mlflow_rest import DEFAULT_TIMEOUT, MlflowRest

    project = tracking_server.project_for(uri, project_dir)
    hook = None
    if project is not None:
        failed = uri.rstrip("/")

        def hook() -> str | None:
            return tracking_server.recover(project, failed)

    return MlflowRest(uri, timeout=timeout or DEFAULT_TIMEOUT, on_unreachable=hook)


def ensure_local(uri: str, project_dir: Path | None = None) -> None:
    """Start the project's local server if `uri` is it and it is not running (TrackingError)."""
    if not is_http(uri):
        return
    from ame_core import tracking_server

    project = tracking_server.project_for(uri, project_dir)
    if project is None:
        return
    try:
        tracking_server.ensure(project)
    except tracking_server.ServerError as exc:
        raise TrackingError(str(exc)) from None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """A quick look (no mlflow import) that the store can be used; TrackingError if not. The
    project's local server is started here if it is not running."""
    if is_http(uri):
        from ame_core import tracking_server

        if tracking_server.project_for(uri) is not None:
            ensure_local(uri)
            return
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
                return
        except urllib.error.HTTPError:
            return  # it answers: some servers have no /health, the real calls will tell
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(f"MLflow at {uri} is unreachable: {reason}") from None
    elif uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///") :]).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrackingError(f"cannot create the MLflow store folder {folder}: {exc}") from None
        if not os.access(folder, os.W_OK):
            raise TrackingError(f"the MLflow store folder {folder} is not writable")


def _quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # Fail within seconds, not minutes, when a server is down.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")


def client(uri: str) -> Any:
    """An MlflowClient (seconds to import); the project's local server is started first."""
    ensure_local(uri)
    _quiet_mlflow()
    import logging

    from mlflow.tracking import MlflowClient

    # MLflow configures its loggers on import; quiet them afterwards (the DB-migration notes
    # would otherwise land in every run's log).
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _is_local(uri: str, project_dir: Path) -> bool:
    from ame_core import tracking_server

    return uri == embedded_uri(project_dir) or (
        is_http(uri) and tracking_server.project_for(uri, project_dir) is not None
    )


def _local_location(project_dir: Path) -> str:
    root = artifact_root(project_dir)
    root.mkdir(parents=True, exist_ok=True)
    return root.as_uri()


def ensure_experiment(mlflow_client: Any, project: str, project_dir: Path, uri: str) -> str:
    """The project's experiment id, created (with the project's artifact folder) if needed."""
    experiment = mlflow_client.get_experiment_by_name(project)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    location = _local_location(project_dir) if _is_local(uri, project_dir) else None
    try:
        return mlflow_client.create_experiment(project, artifact_location=location)
    except Exception:
        # Another process created it in between.
        experiment = mlflow_client.get_experiment_by_name(project)
        if experiment is None:
            raise
        return experiment.experiment_id


def ensure_experiment_rest(api: MlflowRest, project: str, project_dir: Path, uri: str) -> str:
    """`ensure_experiment` through the REST API."""
    from ame_core.mlflow_rest import RestError

    experiment = api.experiment_by_name(project)
    if experiment is not None:
        if experiment.get("lifecycle_stage") == "deleted":
            api.restore_experiment(experiment["experiment_id"])
        return str(experiment["experiment_id"])
    location = _local_location(project_dir) if _is_local(uri, project_dir) else None
    try:
        return api.create_experiment(project, artifact_location=location)
    except RestError:
        experiment = api.experiment_by_name(project)  # another process created it in between
        if experiment is None:
            raise
        return str(experiment["experiment_id"])


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except (OSError, KeyError):  # no user name (a container without /etc/passwd entry)
        return "unknown"


def start_task_run(
    uri: str,
    project_dir: Path,
    project: str,
    task: str,
    ame_run_id: str,
    *,
    kind: str = "task",
    parent_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    start_time: float | None = None,
) -> tuple[str, str]:
    """Create the task's MLflow run (RUNNING); returns (mlflow run id, experiment id).
    `start_time` (seconds; default now) is when what the run records began.

    On a tracking server through the REST API; on any other store with the MLflow client."""
    all_tags = {
        "mlflow.user": _user(),
        "ame.project": project,
        "ame.task": task,
        "ame.run_id": ame_run_id,
        "ame.kind": kind,
        "mlflow.source.name": f"ame task {task}",
        **(tags or {}),
    }
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run_name = f"{task}-{ame_run_id[-6:]}"
    if is_http(uri):
        from ame_core.mlflow_rest import RestError, now_ms
        from ame_core.tracking_server import ServerError

        try:
            api = rest(uri, project_dir)
            experiment_id = ensure_experiment_rest(api, project, project_dir, uri)
            started = int(start_time * 1000) if start_time else now_ms()
            run = api.create_run(experiment_id, run_name, all_tags, started)
        except (RestError, ServerError) as exc:
            raise TrackingError(f"MLflow ({uri}): cannot create a run: {exc}") from None
        return run["info"]["run_id"], experiment_id
    try:
        c = client(uri)
        experiment_id = ensure_experiment(c, project, project_dir, uri)
        started = int(start_time * 1000) if start_time else None
        run = c.create_run(experiment_id, start_time=started, tags=all_tags, run_name=run_name)
    except TrackingError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow's client raises any kind: one line
        raise TrackingError(f"MLflow ({uri}): cannot create a run: {one_line(exc)}") from None
    return run.info.run_id, experiment_id


def end_run(
    uri: str,
    run_id: str,
    status: str,
    *,
    project_dir: Path | None = None,
    end_time: float | None = None,
    timeout: float | None = None,
) -> None:
    """Set the MLflow run's final status (and end time, seconds; default now)."""
    assert status in RUN_STATUSES, status
    if is_http(uri):
        from ame_core.mlflow_rest import RestError, now_ms
        from ame_core.tracking_server import ServerError

        ended = int(end_time * 1000) if end_time else now_ms()
        try:
            rest(uri, project_dir, timeout).update_run(run_id, status, ended)
        except (RestError, ServerError) as exc:
            raise TrackingError(f"MLflow ({uri}): cannot end run {run_id}: {exc}") from None
        return
    try:
        client(uri).set_terminated(
            run_id, status=status, end_time=int(end_time * 1000) if end_time else None
        )
    except Exception as exc:  # noqa: BLE001 - MLflow's client raises any kind: one line
        raise TrackingError(f"MLflow ({uri}): cannot end run {run_id}: {one_line(exc)}") from None


def end_pending_runs(store: RecordStore, records: Iterable[RunRecord]) -> None:
    """End the MLflow runs whose end their supervisor could not record (the server was down),
    with the run's real status and end time, and clear the mark. Cheap when nothing is
    pending; stops at the first server that still does not answer (tried again next look)."""
    pending = [r for r in records if r.extra.get(END_PENDING) and r.mlflow_run_id]
    for record in pending:
        uri = record.extra.get("tracking_uri")
        if not uri:
            continue
        try:
            end_run(
                uri,
                record.mlflow_run_id,  # type: ignore[arg-type]
                record.extra[END_PENDING],
                project_dir=store.project_dir,
                end_time=record.ended_at,
                timeout=3.0,
            )
        except TrackingError:
            return

        def clear(r: RunRecord) -> None:
            r.extra.pop(END_PENDING, None)

        store.update(record.id, clear)  # under the store's lock
        record.extra.pop(END_PENDING, None)


def log_metrics(
    uri: str, project_dir: Path, run_id: str, metrics: dict[str, float], at: float
) -> None:
    """Log figures (step 0, time `at`) on a run: REST on a server, else the MLflow client."""
    stamp = int(at * 1000)
    try:
        if is_http(uri):
            batch = [
                {"key": k, "value": float(v), "timestamp": stamp, "step": 0}
                for k, v in metrics.items()
            ]
            api = rest(uri, project_dir)
            for start in range(0, len(batch), 1000):  # MLflow's limit per batch
                api.post(
                    "runs/log-batch", {"run_id": run_id, "metrics": batch[start : start + 1000]}
                )
            return
        from mlflow.entities import Metric

        entities = [Metric(k, float(v), stamp, 0) for k, v in metrics.items()]
        client(uri).log_batch(run_id, metrics=entities)
    except TrackingError:
        raise
    except Exception as exc:  # noqa: BLE001 - RestError, MLflow's own errors: one line
        raise TrackingError(f"MLflow ({uri}): cannot record the figures: {one_line(exc)}") from None


def log_artifacts(uri: str, run_id: str, items: Iterable[tuple[Path, str | None]]) -> list[str]:
    """Log files/folders (local path, artifact sub-folder); returns what was logged."""
    c = client(uri)  # the MLflow client earns its import here: artifact stores of every kind
    logged = []
    for path, artifact_path in items:
        if path.is_dir():
            c.log_artifacts(run_id, str(path), artifact_path=artifact_path)
        elif path.is_file():
            c.log_artifact(run_id, str(path), artifact_path=artifact_path)
        else:
            continue
        logged.append(str(path))
    return logged


def runtime_env(
    *,
    project: str,
    task: str,
    ame_run_id: str,
    tracking_uri: str,
    mlflow_run_id: str | None,
    context_env: dict[str, str] | None = None,
    environment: Iterable[tuple[str, str]] = (),
    secrets: dict[str, str] | None = None,
) -> dict[str, str]:
    """FORMAT.md "Runtime contract", in its order: AME_* and MLFLOW_*, the lifecycle's
    variables, the task's environment, then its secrets (later entries win)."""
    env = {
        "AME_PROJECT": project,
        "AME_TASK": task,
        "AME_RUN_ID": ame_run_id,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_EXPERIMENT_NAME": project,
    }
    if mlflow_run_id:
        env["MLFLOW_RUN_ID"] = mlflow_run_id
    env.update(context_env or {})
    env.update(dict(environment))
    env.update(secrets or {})
    return env
