"""Driving a flow: run its unfinished steps in order, recording each one as it goes.

Every step is idempotent, so a driver that replaces a dead one simply starts at the first
unfinished step: a step that started a run recorded the run's id first and reattaches to it (a
run submitted just before the old driver died is found by the flow id in its environment); a
version that already has its verdict is not validated again; a deploy of the version already
served is done at once.

The engine talks to a `Lifecycle` (registry and backend) and a `FlowStore`; it is the same in the
detached local driver and in the in-cluster driver Job.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from typing import Any

from ame_core.flows.records import FlowRecord, FlowStatus, StepRecord, StepStatus
from ame_core.flows.store import FlowStore

# How often a driver looks at its current run (and at a cancel request).
POLL_SECONDS = 0.3
# How often a driver waiting on a run makes sure the project's local MLflow server is up.
TRACKING_CHECK_SECONDS = 2.0


class StepFailed(Exception):
    """The step cannot succeed; the flow fails with this reason."""


class StepSkipped(Exception):
    """The step has nothing to do; the flow goes on."""


class FlowCancelled(Exception):
    """The user cancelled the flow."""


class FlowEngine:
    def __init__(
        self,
        store: FlowStore,
        record: FlowRecord,
        lifecycle: Any,
        *,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.record = record
        self.lifecycle = lifecycle
        self._say = say or (lambda line: print(line, flush=True))

    # --- the record -------------------------------------------------------------------------

    def save(self) -> None:
        """Write what this driver knows; `driver` and `resumes` belong to whoever launched it."""
        mine = self.record

        def apply(stored: FlowRecord) -> None:
            for name in ("status", "steps", "params", "events", "reason"):
                setattr(stored, name, getattr(mine, name))
            stored.started_at, stored.ended_at = mine.started_at, mine.ended_at

        self.record = self.store.update(mine.id, apply)

    def say(self, text: str) -> None:
        self.record.event(text)
        self._say(text)
        self.save()

    # --- driving ----------------------------------------------------------------------------

    def drive(self) -> FlowRecord:
        record = self.record
        if record.status.finished:
            return record
        if record.status is FlowStatus.PENDING or record.started_at is None:
            record.started_at = record.started_at or time.time()
        record.status = FlowStatus.RUNNING
        self.save()
        try:
            for step in record.steps:
                if step.status.finished:
                    continue
                self._run_step(step)
                if self.record.status.finished:
                    return self.record
            self._finish(FlowStatus.SUCCEEDED, None)
        except FlowCancelled:
            self._finish(FlowStatus.CANCELLED, "cancelled by user")
        except Exception as exc:  # noqa: BLE001 - never leave a flow "running" behind a crashed driver
            self.say(f"internal error: {type(exc).__name__}: {exc}")
            self._say(traceback.format_exc())
            self._finish(FlowStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}")
        return self.record

    def _run_step(self, step: StepRecord) -> None:
        from ame_core.flows import steps

        if self.store.cancel_requested(self.record.id):
            raise FlowCancelled
        step.status = StepStatus.RUNNING
        step.started_at = step.started_at or time.time()
        self.save()
        action = steps.action(self.record.kind, step.name)
        try:
            note = action(self, step)
        except StepSkipped as skipped:
            self._end_step(step, StepStatus.SKIPPED, str(skipped))
        except StepFailed as failed:
            self._end_step(step, StepStatus.FAILED, str(failed))
            self._finish(FlowStatus.FAILED, str(failed))
        except FlowCancelled:
            self._end_step(step, StepStatus.CANCELLED, "cancelled by user")
            raise
        except Exception as exc:
            from ame_core.flows.steps import user_error

            message = user_error(exc)
            if message is None:
                raise
            self._end_step(step, StepStatus.FAILED, message)
            self._finish(FlowStatus.FAILED, message)
        else:
            self._end_step(step, StepStatus.DONE, note)

    def _end_step(self, step: StepRecord, status: StepStatus, note: str | None) -> None:
        step.status = status
        step.ended_at = time.time()
        step.note = note
        if note:
            self.say(f"{step.name}: {note}")
        else:
            self.save()

    def _finish(self, status: FlowStatus, reason: str | None) -> None:
        record = self.record
        for step in record.steps:
            if not step.status.finished:
                step.status = (
                    StepStatus.CANCELLED if status is FlowStatus.CANCELLED else (StepStatus.SKIPPED)
                )
        record.status = status
        record.reason = reason
        record.ended_at = time.time()
        self.say(f"flow {status.value}" + (f": {reason}" if reason else ""))

    # --- what steps use ---------------------------------------------------------------------

    def run_and_wait(self, step: StepRecord, submit: Callable[[dict[str, str]], Any]) -> Any:
        """The step's run, started once: reattached when this step recorded (or a dead driver
        submitted) one; cancelled with the flow."""
        backend = self.lifecycle.backend
        if step.run_id is None:
            found = self._submitted_before(step)
            if found is not None:
                step.run_id = found
                self.say(f"{step.name}: reattached to run {found}")
            else:
                run = submit({"AME_FLOW_ID": self.record.id, "AME_FLOW_STEP": step.name})
                step.run_id = run.id
                self.say(f"{step.name}: run {run.id} ({run.task}) {run.status.value}")
        checked = time.monotonic()
        while True:
            run = backend.get_run(step.run_id)
            if run.status.finished:
                return run
            if self.store.cancel_requested(self.record.id):
                backend.cancel(step.run_id)
                raise FlowCancelled
            if time.monotonic() - checked > TRACKING_CHECK_SECONDS:
                self._keep_tracking_up()
                checked = time.monotonic()
            time.sleep(POLL_SECONDS)

    def _keep_tracking_up(self) -> None:
        """The project's local MLflow server, started again if it crashed while a run needs it
        (the run's MLflow client retries for a while: a quick restart loses nothing)."""
        from ame_core.tracking import TrackingError, ensure_local

        try:
            ensure_local(self.lifecycle.tracking_uri, self.lifecycle.project.dir)
        except TrackingError as exc:
            self._say(f"[tracking] {exc}")

    def _submitted_before(self, step: StepRecord) -> str | None:
        """A run of this flow's step that a driver submitted but did not live to record."""
        if not self.record.resumes:
            return None
        for run in self.lifecycle.backend.list_runs(self.record.project):
            env = (run.extra or {}).get("context_env") or {}
            if env.get("AME_FLOW_ID") == self.record.id and env.get("AME_FLOW_STEP") == step.name:
                return run.id
        return None


def driver_identity() -> dict[str, Any]:
    from ame_core.runtime import procs

    return {"pid": os.getpid(), "start": procs.start_time(os.getpid())}
