"""MLflow basics: which tracking store, the project's experiment, a task's MLflow run.

Precedence of the tracking URI: `--mlflow-uri`, then `MLFLOW_TRACKING_URI`, then the embedded
default: `sqlite:///<project>/.ame/mlflow.db` with artifacts under `<project>/.ame/mlartifacts`.
`mlflow` is imported lazily (it takes seconds), only where a run is created or ended.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")


class TrackingError(Exception):
    """MLflow cannot be used; the message says where and why."""


def embedded_uri(project_dir: Path) -> str:
    return f"sqlite:///{Path(project_dir).resolve() / '.ame' / 'mlflow.db'}"


def artifact_root(project_dir: Path) -> Path:
    return Path(project_dir).resolve() / ".ame" / "mlartifacts"


def tracking_uri_for(project_dir: Path, cli_uri: str | None = None) -> str:
    return cli_uri or os.environ.get("MLFLOW_TRACKING_URI") or embedded_uri(project_dir)


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """A quick look (no mlflow import) that the store can be used; TrackingError if not."""
    if uri.startswith(("http://", "https://")):
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
    _quiet_mlflow()
    import logging

    from mlflow.tracking import MlflowClient

    # MLflow configures its loggers on import; quiet them afterwards (the DB-migration notes
    # would otherwise land in every run's log).
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(mlflow_client: Any, project: str, project_dir: Path, uri: str) -> str:
    """The project's experiment id, created (with the project's artifact folder) if needed."""
    experiment = mlflow_client.get_experiment_by_name(project)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    location = None
    if uri == embedded_uri(project_dir):
        root = artifact_root(project_dir)
        root.mkdir(parents=True, exist_ok=True)
        location = root.as_uri()
    try:
        return mlflow_client.create_experiment(project, artifact_location=location)
    except Exception:
        # Another process created it in between.
        experiment = mlflow_client.get_experiment_by_name(project)
        if experiment is None:
            raise
        return experiment.experiment_id


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
) -> tuple[str, str]:
    """Create the task's MLflow run (RUNNING); returns (mlflow run id, experiment id).

    Tries a fast path first (`ame_core.tracking_fast`: the REST API of a tracking server, or the
    SQL tables of an existing sqlite store whose schema it checks), because importing mlflow
    costs seconds on every run; falls back to the MLflow client.
    """
    all_tags = {
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
    from ame_core import tracking_fast

    fast = tracking_fast.create_run(uri, project, all_tags, run_name)
    if fast is not None:
        return fast
    try:
        c = client(uri)
        experiment_id = ensure_experiment(c, project, project_dir, uri)
        run = c.create_run(experiment_id, tags=all_tags, run_name=run_name)
    except TrackingError:
        raise
    except Exception as exc:
        raise TrackingError(f"MLflow ({uri}): cannot create a run: {_one_line(exc)}") from None
    return run.info.run_id, experiment_id


def end_run(uri: str, run_id: str, status: str) -> None:
    assert status in RUN_STATUSES, status
    from ame_core import tracking_fast

    if tracking_fast.end_run(uri, run_id, status):
        return
    try:
        client(uri).set_terminated(run_id, status=status)
    except Exception as exc:
        raise TrackingError(f"MLflow ({uri}): cannot end run {run_id}: {_one_line(exc)}") from None


def log_artifacts(uri: str, run_id: str, items: Iterable[tuple[Path, str | None]]) -> list[str]:
    """Log files/folders (local path, artifact sub-folder); returns what was logged."""
    c = client(uri)
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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
