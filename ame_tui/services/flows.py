"""How the console tells a flow: one line for a notification, the step it is at, its outcome.

Pure functions of a `FlowRecord` (no I/O), shared by the app's notifications, the Models view's
FLOW column and the Flows views.
"""

from __future__ import annotations

from typing import Any

FLOW_STYLE = {
    "pending": "grey50",
    "running": "bold cyan",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "yellow",
}
STEP_STYLE = {
    "pending": "grey50",
    "running": "bold cyan",
    "done": "green",
    "failed": "bold red",
    "skipped": "grey50",
    "cancelled": "yellow",
}


def short_id(flow_id: str) -> str:
    """The last characters of a flow id: enough for `ame flow show` and the eye."""
    return flow_id.rsplit("-", 1)[-1]


def started_text(record: Any) -> str:
    return f"{record.title}: flow {record.id} started"


def outcome_text(record: Any) -> str:
    """How a flow ended, in one line: its status and reason, or what its steps did."""
    head = f"{record.title}: flow {short_id(record.id)} {record.status.value}"
    if record.status.value != "succeeded":
        return f"{head}: {record.reason}" if record.reason else head
    notes = [
        s.note
        for s in record.steps
        if s.note
        and s.status.value in ("done", "skipped")
        # the register step says what the training run did, with its id
        and not (record.kind == "train" and s.name == "train")
        # resolve only pins the version, already in the title
        and s.name != "resolve"
    ]
    return f"{head}: {'; '.join(notes)}" if notes else head


def where(record: Any) -> str:
    """The step a flow is at, and its kind: "validate … (train)"; a finished flow's outcome;
    a canary being watched, with its split and the gate's figures."""
    if record.status.finished:
        return f"{record.kind} {record.status.value}"
    step = record.current
    name = step.name if step is not None else "?"
    mark = "…" if step is not None and step.status.value == "running" else "·"
    canary = canary_text(step.result) if step is not None else None
    return canary or f"{name} {mark} ({record.kind})"


def canary_text(result: dict[str, Any]) -> str | None:
    """ "canary 20%: 57 req, 0.00% err, p95 31 ms" while a canary is watched, else None."""
    state = result.get("canary") or {}
    if "started_at" not in state:
        return None
    percent = (state.get("plan") or {}).get("percent", 0)
    figures = result.get("figures") or {}
    text = f"canary {percent:g}%"
    if not figures:
        return f"{text}: watching"
    text += f": {figures.get('canary_requests', 0):.0f} req, "
    text += f"{figures.get('canary_error_rate', 0):.2f}% err"
    p95 = figures.get("canary_latency_p95_ms")
    return f"{text}, p95 {p95:.0f} ms" if p95 is not None else text


def version_of(record: Any) -> str | None:
    version = record.params.get("version")
    return str(version) if version else None
