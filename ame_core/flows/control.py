"""What clients do with flows: start one, look (and so notice dead drivers), cancel, follow.

A client never runs a step itself: it writes the record, launches a driver, and from then on only
reads. Looking is also how a dead driver is noticed (`reconcile`): a flow whose driver is gone is
resumed by a new driver from its first unfinished step, up to `MAX_RESUMES` times, then marked
failed with the reason. No flow stays "running" without a driver.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ame_core.flows.records import MAX_RESUMES, FlowRecord, FlowStatus, StepStatus
from ame_core.flows.store import FlowError, FlowStore


def new_flow_id() -> str:
    return "flow-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def check_startable(kind: str, model: Any, backend: Any = None) -> None:
    """Refuse at once (LifecycleError) what a flow of `kind` on `model` is known to lack, or
    (given the backend) a serving runtime that backend cannot run."""
    from ame_core.lifecycle import LifecycleError, deployment_of

    if kind == "train" and model.training is None:
        raise LifecycleError(f"model {model.name} has no training task (`training: {{task}}`)")
    if kind == "validate" and model.validation is None:
        raise LifecycleError(f"model {model.name} has no validation task (`validation: {{task}}`)")
    if kind == "deploy" and backend is not None:
        serving = deployment_of(model).serving
        if serving not in backend.serving_runtimes:
            other = "--backend kubernetes" if backend.name == "local" else "--backend local"
            raise LifecycleError(
                f"model {model.name}: serving '{serving}' does not run on the {backend.name} "
                f"backend (it runs {', '.join(backend.serving_runtimes)}); deploy with {other}"
            )


def start(
    store: FlowStore,
    kind: str,
    project: str,
    backend: str,
    *,
    model: str | None = None,
    task: str | None = None,
    params: dict[str, Any] | None = None,
    origin: dict[str, Any] | None = None,
    steps: tuple[str, ...] | None = None,
) -> FlowRecord:
    """Record a flow and launch its driver; returns at once."""
    _tracking_up(origin or {})
    record = FlowRecord.new(
        new_flow_id(),
        kind,
        project,
        backend,
        model=model,
        task=task,
        params=params,
        origin=origin,
        steps=steps,
    )
    record.event(f"{record.title}: started")
    store.write(record)  # first, so the driver finds it
    store.launch(record)
    store.update(record.id, lambda r: setattr(r, "driver", record.driver))
    return store.read(record.id)


def _tracking_up(origin: dict[str, Any]) -> None:
    """Start the project's local MLflow server here, in the user's process (which says so),
    rather than in the driver, which only restarts one that crashed."""
    project_dir = origin.get("project_dir")
    if not project_dir:
        return
    from pathlib import Path

    from ame_core.tracking import ensure_local, tracking_uri_for

    ensure_local(tracking_uri_for(Path(project_dir), origin.get("tracking_uri")), Path(project_dir))


def reconcile(store: FlowStore, record: FlowRecord, backend: Any = None) -> FlowRecord:
    """Resume a flow whose driver vanished (or fail it after too many tries); else as it is."""
    if record.status.finished or store.driver_alive(record):
        return record

    def fix(stored: FlowRecord) -> None:
        if stored.status.finished or store.driver_alive(stored):
            return
        step = stored.current
        where = f" at step {step.name}" if step else ""
        who = stored.driver.get("pid") or stored.driver.get("pod") or "?"
        if store.cancel_requested(stored.id):
            _cancel_unattended(stored, backend)
            return
        if stored.resumes >= MAX_RESUMES:
            stored.status = FlowStatus.FAILED
            stored.ended_at = time.time()
            stored.reason = (
                f"its driver vanished {stored.resumes + 1} times{where}; not resumed again "
                "(see the driver's log: ame flow show)"
            )
            for s in stored.steps:
                if not s.status.finished:
                    s.status = StepStatus.SKIPPED
            stored.event(f"flow failed: {stored.reason}")
            return
        stored.resumes += 1
        stored.event(f"driver ({who}) vanished{where}; resumed (attempt {stored.resumes + 1})")
        store.launch(stored)

    return store.update(record.id, fix)


def _cancel_unattended(record: FlowRecord, backend: Any) -> None:
    """Cancel a flow that has no driver: its current run too, if it still runs."""
    step = record.current
    run_id = step.run_id if step is not None else None
    if run_id is None and record.kind == "pipeline":
        # A pipeline's run exists before its driver first records it on the step.
        run_id = record.params.get("run_id")
    if run_id and backend is not None:
        try:
            backend.cancel(run_id)
        except Exception as exc:  # noqa: BLE001 - the run may be gone already; the flow is cancelled anyway
            record.event(f"could not cancel run {run_id}: {exc}")
    for s in record.steps:
        if not s.status.finished:
            s.status = StepStatus.CANCELLED
    record.status = FlowStatus.CANCELLED
    record.reason = "cancelled by user"
    record.ended_at = time.time()
    record.event("flow cancelled: cancelled by user")


def get(store: FlowStore, ref: str, backend: Any = None) -> FlowRecord:
    return reconcile(store, store.read(store.find(ref)), backend)


def listing(store: FlowStore, backend: Any = None) -> list[FlowRecord]:
    return [reconcile(store, r, backend) for r in store.all()]


def active_for_model(store: FlowStore, model: str, backend: Any = None) -> FlowRecord | None:
    """The model's newest flow that is still going, if any."""
    for record in listing(store, backend):
        if record.model == model and not record.status.finished:
            return record
    return None


def running_canary(store: FlowStore, model: str, backend: Any = None) -> FlowRecord | None:
    """The model's deploy flow whose canary is being watched now, if any."""
    record = active_for_model(store, model, backend)
    if record is None or record.kind != "deploy":
        return None
    step = record.current
    if step is None or step.name != "deploy" or "started_at" not in step.result.get("canary", {}):
        return None
    return record


def cancel(store: FlowStore, ref: str, backend: Any = None, timeout: float = 60.0) -> FlowRecord:
    """Ask the driver to stop (it cancels its current run) and wait until it has."""
    record = store.read(store.find(ref))
    if record.status.finished:
        return record
    store.request_cancel(record.id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = reconcile(store, store.read(record.id), backend)
        if record.status.finished:
            return record
        time.sleep(0.2)
    raise FlowError(f"flow {record.id} did not stop within {timeout:.0f} s")


def wait(
    store: FlowStore, ref: str, backend: Any = None, timeout: float | None = None
) -> FlowRecord:
    deadline = None if timeout is None else time.monotonic() + timeout
    flow_id = store.find(ref)
    while True:
        record = reconcile(store, store.read(flow_id), backend)
        if record.status.finished:
            return record
        if deadline is not None and time.monotonic() > deadline:
            raise FlowError(f"flow {flow_id} did not finish within {timeout:.0f} s")
        time.sleep(0.2)


# --- following ----------------------------------------------------------------------------------


@dataclass
class Progress:
    """One thing to show while following: an event line, or a piece of a run's log."""

    text: str
    is_log: bool = False


def follow(
    store: FlowStore,
    ref: str,
    backend: Any,
    *,
    logs: bool = True,
    poll: float = 0.2,
    since_event: int = 0,
) -> Iterator[Progress]:
    """The flow's events as they happen and, while a step's run goes on, that run's log;
    ends when the flow has finished."""
    flow_id = store.find(ref)
    shown_events = since_event
    log_offsets: dict[str, int] = {}
    while True:
        record = reconcile(store, store.read(flow_id), backend)
        for event in record.events[shown_events:]:
            yield Progress(event["text"])
        shown_events = len(record.events)
        if logs and backend is not None:
            for run_id in record.run_ids():
                yield from _log_since(backend, run_id, log_offsets)
        if record.status.finished:
            return
        time.sleep(poll)


def _log_since(backend: Any, run_id: str, offsets: dict[str, int]) -> Iterator[Progress]:
    try:
        chunk = backend.read_logs(run_id, offsets.get(run_id, 0))
    except Exception:  # noqa: BLE001 - a run that cannot be read now is read on the next round
        return
    offsets[run_id] = chunk.offset
    if chunk.text:
        yield Progress(chunk.text, is_log=True)


def outcome_code(record: FlowRecord) -> int:
    """The exit code of a command that followed the flow to its end."""
    return 0 if record.status is FlowStatus.SUCCEEDED else 1
