"""A flow in words, the same for the CLI and the console."""

from __future__ import annotations

from ame_core.flows.records import FlowRecord

STEP_MARKS = {
    "done": "✓",
    "running": "…",
    "pending": "·",
    "failed": "✗",
    "skipped": "-",
    "cancelled": "✗",
}


def step_line(record: FlowRecord) -> str:
    """ "train ✓ register ✓ validate … deploy ·": where a flow is, in one line."""
    return " ".join(f"{s.name} {STEP_MARKS.get(s.status.value, '?')}" for s in record.steps)
