"""The supervisor of one local run: `python -m ame_core.runtime.supervisor <record.json>`.

It runs in its own session, detached from the `ame` process that started it, and owns the run
from start to end: secrets, the MLflow run, environment set-up, the task (in its own process
group), the log (through the secret mask), the exit code or signal, artifacts, the MLflow
status, the final record; then it starts queued runs that now fit. A pipeline's supervisor
submits each step as its own run and waits for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ame_core.errors import one_line
from ame_core.runtime import procs
from ame_core.runtime.backend import BackendError, RunContext, RunRecord, RunStatus
from ame_core.runtime.masking import Masker
from ame_core.runtime.records import RecordStore

MLFLOW_STATUS = {
    RunStatus.SUCCEEDED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELLED: "KILLED",
}


class Supervisor:
    def __init__(self, record_path: Path) -> None:
        self.run_id = record_path.stem
        self.store = RecordStore(record_path.parent.parent.parent)
        with self.store.lock():  # whoever started us writes the record (GPUs) under the lock
            self.record = self.store.read(self.run_id)
        self.project_dir = Path(self.record.extra["project_dir"])
        self.store = RecordStore(self.project_dir)
        self.log = open(self.store.log_path(self.run_id), "ab", buffering=0)  # noqa: SIM115
        self.masker = Masker()
        self.terminated = False

    # --- small helpers ------------------------------------------------------------------

    def note(self, message: str) -> None:
        self.log.write(self.masker.mask(f"[ame] {message}\n".encode()))

    def update(self, **changes: Any) -> RunRecord:
        extra = changes.pop("extra", {})

        def apply(record: RunRecord) -> None:
            for key, value in changes.items():
                setattr(record, key, value)
            record.extra.update(extra)

        self.record = self.store.update(self.run_id, apply)
        return self.record

    def cancelled(self) -> bool:
        return self.store.cancel_marker(self.run_id).exists()

    def on_term(self, signum: int, frame: Any) -> None:
        # Someone stops the supervisor itself (shutdown): stop the task, record it, end.
        self.terminated = True
        procs.signal_group(self.record.extra.get("child_pgid"), signal.SIGTERM)

    # --- running a child --------------------------------------------------------------------

    def run_child(
        self, cmd: list[str] | str, env: dict[str, str], extra: dict[str, Any] | None = None
    ) -> int:
        argv = shell_argv(cmd) if isinstance(cmd, str) else list(cmd)
        try:
            child = subprocess.Popen(
                argv,
                cwd=self.project_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:  # as a shell would say it, with its code
            self.note(f"cannot run {argv[0]}: {exc.strerror or exc}")
            return 127 if isinstance(exc, FileNotFoundError) else 126
        self.update(
            extra={
                "child_pid": child.pid,
                "child_pgid": child.pid,
                "child_start": procs.start_time(child.pid),
                **(extra or {}),
            }
        )
        if self.cancelled() or self.terminated:  # a cancel that came before we recorded the pid
            procs.signal_group(child.pid, signal.SIGTERM)
        assert child.stdout is not None
        pump = threading.Thread(target=self._pump, args=(child.stdout.fileno(),), daemon=True)
        pump.start()
        code = child.wait()
        # The main process is done: nothing it left behind may outlive it, in its group or
        # not (`setsid`, double-forked daemons carry the run's AME_RUN_ID).
        survivors = procs.stop_run(self.run_id, child.pid, grace=2)
        if survivors:
            self.note(f"could not stop processes the task left: pids {_pids(survivors)}")
        pump.join(timeout=5)
        child.stdout.close()
        tail = self.masker.flush()
        if tail:
            self.log.write(tail)
        return code

    def _pump(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data = self.masker.feed(chunk)
            if data:
                self.log.write(data)

    # --- one task -------------------------------------------------------------------------

    def run_task(self) -> None:
        from ame_core.runtime.executors import ExecutorError, build_plan, task_environ
        from ame_core.runtime.secrets import SecretError, SecretRef, resolve_secrets
        from ame_core.tracking import TrackingError, runtime_env, start_task_run

        rec = self.record
        spec = rec.extra["run"]
        if self.cancelled():
            return self.finish(RunStatus.CANCELLED, "cancelled before it started")
        try:
            secrets = resolve_secrets([SecretRef(**r) for r in spec["secrets"]])
        except SecretError as exc:
            return self.finish(RunStatus.FAILED, str(exc))
        self.masker = Masker(list(secrets.values()))
        uri = rec.extra["tracking_uri"]
        parent_mlflow = None
        if rec.parent_id:
            with contextlib.suppress(BackendError):
                parent_mlflow = self.store.read(rec.parent_id).mlflow_run_id
        try:
            mlflow_run_id, experiment_id = start_task_run(
                uri,
                self.project_dir,
                rec.project,
                rec.task,
                rec.id,
                kind=rec.kind,
                parent_run_id=parent_mlflow,
                tags=rec.extra.get("tags") or None,
            )
        except TrackingError as exc:
            return self.finish(RunStatus.FAILED, str(exc))
        self.update(  # one write: this process owns the run, and its MLflow run
            status=RunStatus.RUNNING,
            started_at=rec.started_at or time.time(),
            mlflow_run_id=mlflow_run_id,
            mlflow_experiment_id=experiment_id,
            extra={
                "supervisor_pid": os.getpid(),
                "supervisor_start": procs.start_time(os.getpid()),
            },
        )
        snapshot = _mtimes(self.project_dir) if _save_changed(spec) else None
        try:
            plan = build_plan(spec, self.project_dir)
        except ExecutorError as exc:
            self.note(str(exc))
            return self.finish(RunStatus.FAILED, str(exc))
        env = task_environ(os.environ, plan)
        env.update(
            runtime_env(
                project=rec.project,
                task=rec.task,
                ame_run_id=rec.id,
                tracking_uri=uri,
                mlflow_run_id=mlflow_run_id,
                context_env=rec.extra.get("context_env"),
                environment=[(k, v) for k, v in spec["environment"]],
                secrets=secrets,
            )
        )
        gpus = rec.extra.get("gpus") or []
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        for step in plan.setup:
            if self.cancelled() or self.terminated:
                break
            code = self.run_child(step, env)
            if code != 0 and not self.cancelled():
                reason = f"environment set-up failed (exit code {code}); see the log"
                return self.finish(RunStatus.FAILED, reason, snapshot=snapshot, spec=spec)
        if self.cancelled():
            return self.finish(
                RunStatus.CANCELLED, "cancelled by user", snapshot=snapshot, spec=spec
            )
        # set-up time = command_started_at - started_at
        code = self.run_child(plan.command, env, {"command_started_at": time.time()})
        if self.cancelled():
            return self.finish(
                RunStatus.CANCELLED, "cancelled by user", code, snapshot=snapshot, spec=spec
            )
        if code == 0:
            return self.finish(RunStatus.SUCCEEDED, None, 0, snapshot=snapshot, spec=spec)
        if code < 0:
            name = procs.signal_name(-code)
            why = "stopped: the supervisor was terminated" if self.terminated else "killed"
            return self.finish(
                RunStatus.FAILED,
                f"{why} by signal {-code} ({name})",
                128 - code,
                signal_number=-code,
                snapshot=snapshot,
                spec=spec,
            )
        return self.finish(
            RunStatus.FAILED, f"exited with code {code}", code, snapshot=snapshot, spec=spec
        )

    def finish(
        self,
        status: RunStatus,
        reason: str | None,
        exit_code: int | None = None,
        *,
        signal_number: int | None = None,
        snapshot: dict[str, float] | None = None,
        spec: Any = None,
    ) -> None:
        from ame_core.tracking import END_PENDING, TrackingError, end_run

        if reason and status != RunStatus.SUCCEEDED:
            self.note(f"run {status.value}: {reason}")
        mlflow_run_id = self.record.mlflow_run_id
        uri = self.record.extra.get("tracking_uri")
        logged: list[str] = []
        extra: dict[str, Any] = {}
        if mlflow_run_id and uri:
            if spec is not None:
                logged = self.log_artifacts(uri, mlflow_run_id, spec, snapshot)
            try:
                end_run(uri, mlflow_run_id, MLFLOW_STATUS[status], project_dir=self.project_dir)
            except TrackingError as exc:
                # The record is the truth; the next `ame` process that lists runs ends the
                # MLflow run with this status once the server answers again.
                self.note(f"{exc}; it will be ended when MLflow answers again")
                extra[END_PENDING] = MLFLOW_STATUS[status]
        extra["artifacts_logged"] = logged
        if signal_number:
            extra["signal"] = signal_number
        self.update(
            status=status, reason=reason, exit_code=exit_code, ended_at=time.time(), extra=extra
        )
        with contextlib.suppress(OSError):
            self.store.cancel_marker(self.run_id).unlink()

    def log_artifacts(
        self, uri: str, run_id: str, spec: Any, snapshot: dict[str, float] | None
    ) -> list[str]:
        from ame_core.tracking import log_artifacts

        items: list[tuple[Path, str | None]] = []
        for raw in spec["artifacts"]["paths"]:
            path = (self.project_dir / raw).resolve()
            if not path.exists():
                self.note(f"artifact {raw} does not exist; not logged")
                continue
            parent = str(Path(raw).parent) if str(Path(raw).parent) != "." else None
            items.append((path, parent))
        if snapshot is not None:
            after = _mtimes(self.project_dir)
            for rel, mtime in sorted(after.items()):
                if snapshot.get(rel) != mtime:
                    parent = str(Path(rel).parent)
                    items.append(
                        (
                            self.project_dir / rel,
                            "changed" + ("" if parent == "." else f"/{parent}"),
                        )
                    )
        if not items:
            return []
        try:
            logged = log_artifacts(uri, run_id, items)
        except Exception as exc:  # noqa: BLE001 - an artifact problem must not lose the run's record
            self.note(f"could not log artifacts: {one_line(exc)}")
            return []
        for path in logged:
            self.note(f"artifact logged: {os.path.relpath(path, self.project_dir)}")
        return [os.path.relpath(p, self.project_dir) for p in logged]

    # --- a pipeline ---------------------------------------------------------------------------

    def run_pipeline(self) -> None:
        """Run the groups in order. Resumable: the step runs of each group are recorded as they
        are submitted (`extra["groups"]`), so a supervisor started again after the first one
        died reattaches to them instead of starting them twice."""
        from ame_core.runtime.local import LocalBackend
        from ame_core.runtime.prepared import PreparedTask
        from ame_core.tracking import TrackingError, start_task_run

        rec = self.record
        self.update(
            extra={"supervisor_pid": os.getpid(), "supervisor_start": procs.start_time(os.getpid())}
        )
        resolved = PreparedTask.from_json(rec.extra["pipeline"])
        uri = rec.extra["tracking_uri"]
        if not rec.mlflow_run_id:
            try:
                mlflow_run_id, experiment_id = start_task_run(
                    uri,
                    self.project_dir,
                    rec.project,
                    rec.task,
                    rec.id,
                    kind="pipeline",
                    tags=rec.extra.get("tags") or None,
                )
            except TrackingError as exc:
                return self.finish(RunStatus.FAILED, str(exc))
            self.update(mlflow_run_id=mlflow_run_id, mlflow_experiment_id=experiment_id)
        backend = LocalBackend(self.project_dir)
        context = RunContext(
            project_dir=self.project_dir,
            project=rec.project,
            tracking_uri=uri,
            env=rec.extra.get("context_env") or {},
            parent_id=rec.id,
            tags=dict(rec.extra.get("tags") or {}),
        )
        groups: list[list[str]] = list(self.record.extra.get("groups") or [])
        for index, step in enumerate(resolved.steps):
            group = _flatten_group(step)
            names = ", ".join(s.name for s in group)
            ids = list(groups[index]) if index < len(groups) else []
            if len(ids) == len(group):
                self.note(f"pipeline step {index + 1}/{len(resolved.steps)}: {names} (reattached)")
                resumed = True
            else:
                self.note(f"pipeline step {index + 1}/{len(resolved.steps)}: {names}")
                resumed = False
                try:
                    for task in group[len(ids) :]:
                        ids.append(backend.submit(task, context).id)
                        groups[index:] = [ids]
                        self.update(extra={"groups": groups})
                        self.note(f"  {task.name}: run {ids[-1]}")
                except BackendError as exc:
                    for run_id in ids:
                        backend.cancel(run_id)
                    return self.finish(RunStatus.FAILED, f"step {index + 1}: {exc}")
            outcome = self.wait_group(backend, ids, [t.name for t in group], from_end=resumed)
            if outcome is not None:
                status, reason, code = outcome
                return self.finish(status, reason, code)
        self.finish(RunStatus.SUCCEEDED, None, 0)

    def wait_group(
        self, backend: Any, ids: list[str], names: list[str], from_end: bool = False
    ) -> tuple[RunStatus, str, int | None] | None:
        """Wait for a group, copying its steps' logs into the pipeline's (each line prefixed
        with the step's name); a failed step cancels the rest of the group. `from_end`: a
        reattached group's logs are copied from where they are now (what came before is in
        the pipeline's log already, or in each step's own)."""
        offsets = dict.fromkeys(ids, 0)
        if from_end:
            for run_id in ids:
                offsets[run_id] = _log_size(backend, run_id)
        partial = dict.fromkeys(ids, "")

        def copy_logs(final: bool = False) -> None:
            for run_id, name in zip(ids, names, strict=True):
                chunk = backend.read_logs(run_id, offsets[run_id])
                offsets[run_id] = chunk.offset
                lines = (partial[run_id] + chunk.text).split("\n")
                rest = lines.pop()  # after the last newline: wait for the rest of the line
                if final and rest:
                    lines.append(rest)
                    rest = ""
                partial[run_id] = rest
                for line in lines:
                    self.log.write(f"[{name}] {line}\n".encode())

        while True:
            if self.cancelled() or self.terminated:
                for run_id in ids:
                    backend.cancel(run_id)
                copy_logs(final=True)
                return RunStatus.CANCELLED, "cancelled by user", None
            records = [backend.get_run(run_id) for run_id in ids]
            copy_logs()
            bad = [r for r in records if r.status in (RunStatus.FAILED, RunStatus.CANCELLED)]
            if bad:
                first = bad[0]
                for r in records:
                    if not r.status.finished:
                        self.note(f"  cancelling {r.task} (run {r.id}): {first.task} failed")
                        backend.cancel(r.id)
                copy_logs(final=True)
                what = "failed" if first.status == RunStatus.FAILED else "was cancelled"
                code = first.exit_code if first.exit_code else 1
                return RunStatus.FAILED, f"step '{first.task}' {what}: {first.reason}", code
            if all(r.status == RunStatus.SUCCEEDED for r in records):
                copy_logs(final=True)
                return None
            time.sleep(0.2)


_UNQUOTED_SPECIAL = set("$`\\;&|<>()*?[]{}~!#\n")


def _needs_shell(command: str) -> bool:
    quote = None
    for ch in command:
        if quote == "'":
            quote = None if ch == "'" else quote
        elif quote == '"':
            if ch in "$`\\":
                return True
            quote = None if ch == '"' else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _UNQUOTED_SPECIAL:
            return True
    return quote is not None


def shell_argv(command: str) -> list[str]:
    """A simple command (words and quotes) runs directly, so its exit status and signal are
    its own; anything a shell must interpret (pipes, `;`, `$VAR`, globs, redirections,
    `VAR=x cmd`) runs through `/bin/sh -c`."""
    import shlex

    if not _needs_shell(command):
        try:
            words = shlex.split(command)
        except ValueError:
            words = []
        if words and "=" not in words[0]:
            return words
    return ["/bin/sh", "-c", command]


def _pids(pids: list[int]) -> str:
    return ", ".join(str(p) for p in pids)


def _log_size(backend: Any, run_id: str) -> int:
    try:
        return os.path.getsize(backend.store.log_path(run_id))
    except OSError:
        return 0


def _flatten_group(step: Any) -> list[Any]:
    if isinstance(step, list):
        return [t for s in step for t in _flatten_group(s)]
    return [step]


def _save_changed(spec: dict[str, Any]) -> bool:
    return bool(spec["artifacts"]["save_changed_files"])


_SKIP = {".ame", ".git", ".venv", "venv", "__pycache__", "mlruns", "node_modules", ".mypy_cache"}


def _mtimes(root: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP]
        for name in filenames:
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                out[os.path.relpath(path, root)] = os.stat(path).st_mtime_ns
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ame_core.runtime.supervisor RECORD.json", file=sys.stderr)
        return 2
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    supervisor = Supervisor(Path(args[0]))
    signal.signal(signal.SIGTERM, supervisor.on_term)
    try:
        if supervisor.record.kind == "pipeline":
            supervisor.run_pipeline()
        else:
            supervisor.run_task()
    except Exception as exc:  # noqa: BLE001 - never leave a run "running": record what went wrong
        supervisor.note(f"internal error: {type(exc).__name__}: {exc}")
        if not supervisor.store.read(supervisor.run_id).status.finished:
            supervisor.finish(RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        # Room may have opened up: start queued runs.
        with contextlib.suppress(Exception):
            from ame_core.runtime.local import LocalBackend

            LocalBackend(supervisor.project_dir).drain()
    return 0


if __name__ == "__main__":
    sys.exit(main())
