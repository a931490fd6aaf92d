"""The local backend: each run is a detached supervisor process with a record under `.ame/runs/`.

Runs execute in the project directory itself (no copy): what a task writes there is there
afterwards, as when you run it by hand. The `ame` process only writes a record and starts a
supervisor (`python -m ame_core.runtime.supervisor`) in a new session; the supervisor starts the
task, writes its log, records how it ended and ends its MLflow run, so a run finishes and is
recorded even if the `ame` process is killed. Any later process can list, follow and cancel it.

Admission: a run whose request exceeds the machine is refused; one that does not fit next to
the running ones is queued and started, oldest first, by whichever process (an `ame` command or a
supervisor that just finished) next notices room.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ame_core.runtime import procs
from ame_core.runtime.backend import (
    Backend,
    BackendError,
    Endpoint,
    LogChunk,
    RunContext,
    RunRecord,
    RunStatus,
)
from ame_core.runtime.prepared import PreparedTask, prepare
from ame_core.runtime.records import RecordStore, new_run_id
from ame_core.runtime.resources import (
    Inventory,
    Request,
    assign_gpus,
    detect_inventory,
    too_large,
    waiting_reason,
    with_storage,
)
from ame_core.tracking import end_pending_runs

if TYPE_CHECKING:
    from ame_core.resolve import ResolvedTask

# How often a pipeline whose supervisor vanished is resumed before it is marked failed.
MAX_PIPELINE_RESUMES = 3


class LocalBackend(Backend):
    name = "local"
    serving_runtimes = ("mlflow", "mlserver")

    def __init__(self, project_dir: Path, inventory: Inventory | None = None) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.store = RecordStore(self.project_dir)
        self._inventory = inventory
        self._children: list[subprocess.Popen[bytes]] = []

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            self._inventory = detect_inventory()
        return self._inventory

    # --- submitting ----------------------------------------------------------------------

    def check(self, task: ResolvedTask | PreparedTask, context: RunContext) -> None:
        """Everything that can be known to fail before a run starts (BackendError)."""
        from ame_core.runtime.executors import ExecutorError, build_plan
        from ame_core.runtime.secrets import SecretError, SecretRef, check_secrets
        from ame_core.tracking import TrackingError, check_reachable

        inventory = with_storage(self.inventory, self.project_dir)
        for step in prepare(task).leaves():
            why = too_large(Request.of(step.resources), inventory)
            if why:
                raise BackendError(f"task '{step.name}' asks for more than this machine has: {why}")
            assert step.run is not None
            try:
                build_plan(step.run, self.project_dir)
            except ExecutorError as exc:
                raise BackendError(f"task '{step.name}': {exc}") from None
            try:
                check_secrets([SecretRef(**r) for r in step.run["secrets"]])
            except SecretError as exc:
                raise BackendError(f"task '{step.name}': {exc}") from None
        try:
            check_reachable(context.tracking_uri)
        except TrackingError as exc:
            raise BackendError(str(exc)) from None

    def submit(
        self, task: ResolvedTask | PreparedTask, context: RunContext, *, checked: bool = False
    ) -> RunRecord:
        """Start or queue a task or pipeline (a ResolvedTask, or a PreparedTask)."""
        task = prepare(task)
        if not checked:
            self.check(task, context)
        run_id = new_run_id()
        record = RunRecord(
            id=run_id,
            project=context.project or task.project,
            task=task.name,
            backend=self.name,
            status=RunStatus.QUEUED,
            created_at=time.time(),
            log_path=str(self.store.log_path(run_id)),
            parent_id=context.parent_id,
            kind="pipeline" if task.is_pipeline else context.kind,
            model_name=context.model_name,
            model_version=context.model_version,
            extra={
                "project_dir": str(self.project_dir),
                "tracking_uri": context.tracking_uri,
                "context_env": dict(context.env),
                "tags": dict(context.tags),
            },
        )
        if task.is_pipeline:
            record.extra["pipeline"] = task.to_json()
        else:
            record.resources = dict(task.resources)
            record.extra["spec"] = task.spec
            record.extra["run"] = task.run
        with self.store.lock():
            self.store.log_path(run_id).parent.mkdir(parents=True, exist_ok=True)
            self.store.log_path(run_id).touch()
            if task.is_pipeline:
                record.status = RunStatus.RUNNING
                record.started_at = time.time()
                self._spawn(record)
            self.store.write(record)
            if context.parent_id:
                parent = self.store.read(context.parent_id)
                parent.step_ids.append(run_id)
                self.store.write(parent)
        if not task.is_pipeline:
            self.drain()
        return self.store.read(run_id)

    def _spawn(self, record: RunRecord) -> None:
        """Start the run's supervisor in its own session (caller holds the lock)."""
        log = open(self.store.log_path(record.id), "ab")  # noqa: SIM115 - handed to the child
        try:
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-P",
                    "-m",
                    "ame_core.runtime.supervisor",
                    str(self.store.path(record.id)),
                ],
                cwd=self.project_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
                # A run submitted from inside a task is a run of its own, not a process of
                # that task's run: the task's end must not stop it.
                env=procs.detached_env(),
            )
        finally:
            log.close()
        self._children.append(child)
        record.extra["supervisor_pid"] = child.pid
        record.extra["supervisor_start"] = procs.start_time(child.pid)

    def drain(self) -> None:
        """Start queued runs, oldest first, while their requests fit."""
        self._reap()
        with self.store.lock():
            records = self.store.all()
            active = [r for r in records if r.status == RunStatus.RUNNING and r.kind != "pipeline"]
            queued = [r for r in records if r.status == RunStatus.QUEUED]
            if not queued:
                return
            used = Request()
            gpus_in_use: set[str] = set()
            for r in active:
                used.add(Request.of(r.resources))
                gpus_in_use.update(r.extra.get("gpus") or [])
            inv = with_storage(self.inventory, self.project_dir)
            for r in sorted(queued, key=lambda r: (r.created_at, r.id)):
                if self.store.cancel_marker(r.id).exists():
                    continue
                req = Request.of(r.resources)
                why = waiting_reason(req, used, inv)
                if why:
                    if r.reason != why:
                        r.reason = why
                        self.store.write(r)
                    continue
                gpus = assign_gpus(req.gpus, gpus_in_use, inv)
                r.extra["gpus"] = gpus
                r.status = RunStatus.RUNNING
                r.reason = None
                r.started_at = time.time()
                self._spawn(r)
                self.store.write(r)
                used.add(req)
                gpus_in_use.update(gpus)

    def _reap(self) -> None:
        self._children = [c for c in self._children if c.poll() is None]

    # --- looking ----------------------------------------------------------------------------

    def _refresh(self, record: RunRecord) -> RunRecord:
        if record.status != RunStatus.RUNNING:
            return record
        pid = record.extra.get("supervisor_pid")
        if procs.alive(pid, record.extra.get("supervisor_start")):
            return record
        self._reap()
        with self.store.lock():
            record = self.store.read(record.id)
            if record.status != RunStatus.RUNNING or procs.alive(
                record.extra.get("supervisor_pid"), record.extra.get("supervisor_start")
            ):
                return record
            if record.kind == "pipeline" and self._resume_pipeline(record, pid):
                return record
            # The supervisor is gone without recording an end: whatever it ran is unsupervised.
            procs.stop_run(record.id, record.extra.get("child_pgid"), grace=2)
            record.status = RunStatus.FAILED
            record.ended_at = time.time()
            record.reason = (
                f"the run's supervisor (pid {pid}) vanished without recording an exit "
                "(killed, or the machine restarted)"
            )
            self.store.write(record)
        _end_mlflow_quietly(record, "FAILED")
        self.drain()
        return record

    def _resume_pipeline(self, record: RunRecord, pid: Any) -> bool:
        """A pipeline whose supervisor vanished gets a new one (caller holds the lock), which
        reattaches to the step runs: they are runs of their own and went on meanwhile."""
        resumes = int(record.extra.get("resumes") or 0)
        if resumes >= MAX_PIPELINE_RESUMES or self.store.cancel_marker(record.id).exists():
            return False
        record.extra["resumes"] = resumes + 1
        with open(self.store.log_path(record.id), "ab") as log:
            log.write(
                f"[ame] the pipeline's supervisor (pid {pid}) vanished; resumed "
                f"(attempt {resumes + 2})\n".encode()
            )
        self._spawn(record)
        self.store.write(record)
        return True

    def list_runs(self, project: str | None = None) -> list[RunRecord]:
        records = [self._refresh(r) for r in self.store.all()]
        end_pending_runs(self.store, records)  # MLflow runs a down server could not end
        if any(r.status == RunStatus.QUEUED for r in records):
            self.drain()
            records = self.store.all()
        return [r for r in records if project is None or r.project == project]

    def get_run(self, run_id: str) -> RunRecord:
        record = self._refresh(self.store.read(self.store.find(run_id)))
        end_pending_runs(self.store, [record])
        if record.status == RunStatus.QUEUED:
            self.drain()
            record = self.store.read(record.id)
        return record

    def read_logs(self, run_id: str, offset: int = 0, limit: int | None = None) -> LogChunk:
        run_id = self.store.find(run_id)
        try:
            with open(self.store.log_path(run_id), "rb") as fh:
                fh.seek(offset)
                data = fh.read(-1 if limit is None else limit)
        except FileNotFoundError:
            return LogChunk("", offset)
        # Never cut a UTF-8 character in two: stop before an incomplete one at the end.
        cut = len(data)
        for back in range(1, min(4, len(data)) + 1):
            byte = data[-back]
            if byte & 0xC0 == 0x80:
                continue
            if byte & 0x80 and back < _utf8_len(byte):
                cut = len(data) - back
            break
        return LogChunk(data[:cut].decode("utf-8", "replace"), offset + cut)

    # --- cancelling -------------------------------------------------------------------------

    def cancel(self, run_id: str) -> RunRecord:
        """Stop a run and every process it started (also those that left its process group:
        they carry its AME_RUN_ID). Pids that could not be stopped are in
        `extra["survivors"]`."""
        record = self.get_run(run_id)
        if record.status.finished:
            return record
        marker = self.store.cancel_marker(record.id)
        marker.touch()
        with self.store.lock():
            record = self.store.read(record.id)
            if record.status == RunStatus.QUEUED:
                record.status = RunStatus.CANCELLED
                record.ended_at = time.time()
                record.reason = "cancelled while queued"
                self.store.write(record)
                return record
        survivors: list[int] = []
        if record.kind == "pipeline":
            for step_id in record.step_ids:
                survivors += self.cancel(step_id).extra.get("survivors") or []
        else:
            survivors = procs.stop_run(record.id, record.extra.get("child_pgid"))
        # The supervisor records the cancellation; if it is gone, do it here.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = self.store.read(record.id)
            if record.status.finished:
                break
            if not procs.alive(
                record.extra.get("supervisor_pid"), record.extra.get("supervisor_start")
            ):
                break
            if record.kind != "pipeline":
                # A set-up step or the command may have started after our first look.
                survivors = procs.stop_run(record.id, record.extra.get("child_pgid"), grace=1)
            time.sleep(0.1)
        with self.store.lock():
            record = self.store.read(record.id)
            if record.kind != "pipeline":
                survivors = procs.stop_run(record.id, record.extra.get("child_pgid"), grace=1)
            ended_here = not record.status.finished
            if ended_here:
                record.status = RunStatus.CANCELLED
                record.ended_at = time.time()
                record.reason = "cancelled by user"
            if survivors or ended_here:
                record.extra["survivors"] = survivors
                self.store.write(record)
        if ended_here:
            _end_mlflow_quietly(record, "KILLED")
        return record

    # --- model serving: delegated to ame_core.serving.local ---------------------------------

    def _serving(self) -> Any:
        try:
            from ame_core.serving.local import LocalServing
        except ModuleNotFoundError as exc:
            raise BackendError(f"local model serving is not available: {exc}") from None
        return LocalServing(self.project_dir)

    def deploy(self, model: str, version: str, context: RunContext, deployment: Any) -> Endpoint:
        return self._serving().deploy(model, version, context.tracking_uri, deployment)

    def undeploy(self, model: str, context: RunContext) -> None:
        self._serving().undeploy(model)

    def start_canary(
        self, model: str, version: str, context: RunContext, deployment: Any, percent: float
    ) -> Endpoint:
        serving = self._serving()
        return serving.start_canary(model, version, context.tracking_uri, deployment, percent)

    def canary_figures(self, model: str, context: RunContext) -> dict[str, Any] | None:
        return self._serving().canary_figures(model)

    def promote_canary(self, model: str, context: RunContext, deployment: Any) -> Endpoint:
        return self._serving().promote_canary(model)

    def abort_canary(
        self, model: str, context: RunContext, deployment: Any, previous: str
    ) -> Endpoint | None:
        return self._serving().abort_canary(model)

    def endpoint(self, model: str, context: RunContext) -> Endpoint | None:
        return self._serving().endpoint(model)

    def list_endpoints(self, context: RunContext) -> list[Endpoint]:
        return self._serving().list()

    def request_log_root(self) -> Path | None:
        from ame_core.monitoring.request_log import log_root

        return log_root(self.project_dir)

    def flow_store(self) -> Any:
        from ame_core.flows.local import LocalFlowStore

        return LocalFlowStore(self.project_dir)


def _utf8_len(first: int) -> int:
    if first >= 0xF0:
        return 4
    if first >= 0xE0:
        return 3
    if first >= 0xC0:
        return 2
    return 1


def _end_mlflow_quietly(record: RunRecord, status: str) -> None:
    """End a run's MLflow run that its supervisor could not end (best effort)."""
    if not record.mlflow_run_id:
        return
    from ame_core.tracking import TrackingError, end_run

    uri = record.extra.get("tracking_uri")
    if not uri:
        return
    try:
        end_run(uri, record.mlflow_run_id, status)
    except TrackingError as exc:
        print(f"ame: warning: {exc}", file=sys.stderr)


os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
