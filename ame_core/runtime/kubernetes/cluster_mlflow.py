"""MLflow bookkeeping of cluster runs, done from the submitting machine.

One job: a cluster run's MLflow run — start it before the Job exists, upload the project's
code into it, end it the way the task ended, keep the task's log in it, ask it how a run whose
Job is gone ended, read the log back, drop a run started twice. The task's own code logs
its params and metrics from the pod; none of that passes through here.

The MLflow client raises its own errors, requests' and the socket's: where MLflow is only told
(ending a run, keeping a log) any failure is a "could not tell", said by the return value.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ame_core.runtime.backend import BackendError, RunContext, RunStatus
from ame_core.runtime.kubernetes import manifests as m

MLFLOW_STATUS = {
    RunStatus.SUCCEEDED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELLED: "KILLED",
}
RECORDED_STATUS = {mlflow: ours for ours, mlflow in MLFLOW_STATUS.items()}
LOG_ARTIFACT = "ame/log.txt"


def start_run(
    context: RunContext, task: str, run_id: str, kind: str, parent: str | None, namespace: str
) -> tuple[str, str]:
    """(MLflow run id, experiment id) of a new run for ame's run `run_id`."""
    from ame_core.tracking import TrackingError, start_task_run

    try:
        return start_task_run(
            context.tracking_uri,
            Path(context.project_dir),
            context.project,
            task,
            run_id,
            kind=kind,
            parent_run_id=parent,
            tags={"ame.backend": "kubernetes", "ame.namespace": namespace, **context.tags},
        )
    except TrackingError as exc:
        raise BackendError(str(exc)) from None


def upload_code(uri: str, mlflow_run_id: str, archive: bytes) -> None:
    """The project's packed code, where the Job's code container fetches it."""
    from ame_core.tracking import client

    with tempfile.TemporaryDirectory(prefix="ame-code-") as tmp:
        path = Path(tmp) / "code.tar.gz"
        path.write_bytes(archive)
        try:
            client(uri).log_artifact(mlflow_run_id, str(path), m.CODE_ARTIFACT_DIR)
        except Exception as exc:  # noqa: BLE001 - any MLflow failure: one message, no traceback
            raise BackendError(
                f"uploading the project's code to MLflow ({uri}) failed: {exc}"
            ) from None


def end_run(uri: str | None, run_id: str | None, status: RunStatus, why: str = "") -> bool:
    """End the MLflow run like the task; False when MLflow could not be told (the record
    says so, and the next look tries again)."""
    if not uri or not run_id or status not in MLFLOW_STATUS:
        return True
    from ame_core.tracking import client

    try:
        c = client(uri)
        if why:
            c.set_tag(run_id, "ame.reason", why[:4000])
        c.set_terminated(run_id, status=MLFLOW_STATUS[status])
        return True
    except Exception:  # noqa: BLE001 - MLflow unreachable or refusing: told again later
        return False


def recorded_status(uri: str | None, run_id: str | None) -> tuple[RunStatus, str] | None:
    """How MLflow says the run ended ((status, MLflow's word)); None when it does not say."""
    if not uri or not run_id:
        return None
    try:
        from ame_core.tracking import client

        status = client(uri).get_run(run_id).info.status
    except Exception:  # noqa: BLE001 - MLflow cannot be asked: the Job's view stands
        return None
    return (RECORDED_STATUS[status], status) if status in RECORDED_STATUS else None


def keep_log(uri: str, run_id: str, text: str) -> None:
    """The task's log as an artifact, so it survives the pod (best effort)."""
    try:
        from ame_core.tracking import client

        client(uri).log_text(run_id, text, LOG_ARTIFACT)
    except Exception:  # noqa: BLE001 - a log not kept must not stop recording the end
        pass


def read_log(uri: str | None, run_id: str | None) -> str:
    """The log kept by `keep_log`; "" when there is none (or MLflow cannot be reached)."""
    if not uri or not run_id:
        return ""
    try:
        from ame_core.tracking import client

        with tempfile.TemporaryDirectory(prefix="ame-log-") as tmp:
            path = client(uri).download_artifacts(run_id, LOG_ARTIFACT, tmp)
            return Path(path).read_text(errors="replace")
    except Exception:  # noqa: BLE001 - no log kept, or MLflow unreachable: no text
        return ""


def drop_run(uri: str, run_id: str) -> None:
    """Delete a run nobody will use (a step another process started first); best effort."""
    try:
        from ame_core.tracking import client

        client(uri).delete_run(run_id)
    except Exception:  # noqa: BLE001 - a stray empty run is harmless
        pass
