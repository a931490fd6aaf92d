"""The console's view of model monitoring: the same report `ame model monitor` makes
(ame_core.monitoring), asked for live (not written, not recorded) or recorded on request."""

from __future__ import annotations

from typing import Any

from ame_tui.services.actions import lifecycle
from ame_tui.services.context import AppContext
from ame_tui.services.project import ProjectInfo


def live_report(ctx: AppContext, info: ProjectInfo, model: str) -> dict[str, Any]:
    """The report over the model's window now; the reference is read once per version."""
    from ame_core.monitoring.service import monitor

    return monitor(lifecycle(ctx, info), model, record=False, write=False, reuse_baseline=True)


def recorded_report(ctx: AppContext, info: ProjectInfo, model: str) -> dict[str, Any]:
    """The report written to `.ame/monitoring/` and recorded as an MLflow run."""
    from ame_core.monitoring.service import monitor

    return monitor(lifecycle(ctx, info), model, reuse_baseline=True)


def summary(report: dict[str, Any]) -> dict[str, str]:
    """The Deployments table's cells: requests per minute, error rate, p95, drift."""
    traffic = report["traffic"]
    latency = traffic.get("latency_ms") or {}
    found = report["drift"]
    verdict = found["verdict"]
    if verdict == "drift":
        drift = (
            "drift: "
            + ", ".join(found["drifted"][:3])
            + (" …" if len(found["drifted"]) > 3 else "")
        )
    else:
        drift = verdict
    return {
        "rate": f"{traffic['per_minute']:.1f}",
        "errors": f"{traffic['error_rate'] * 100:.1f}%",
        "p95": f"{latency['p95']:.0f} ms" if latency.get("p95") is not None else "—",
        "drift": drift,
        "verdict": verdict,
    }
