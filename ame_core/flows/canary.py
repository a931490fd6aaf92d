"""The deploy step of a canary rollout: start the new version beside the served one for its
share of requests, watch the gate over the window, then promote or roll back, with nobody
watching (the step runs in the flow's driver).

What the step knows lives in its result (`canary`: the plan, when it started, whether the
window was extended; `figures`: the last look), so a resumed driver goes on from there instead
of starting the canary again. `ame model promote` / `ame model rollback` end it early through
the flow store's decision; a cancelled flow rolls the canary back.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ame_core.flows.engine import FlowCancelled, StepFailed
from ame_core.rollout import PROMOTE, ROLLBACK, WAIT, CanaryPlan, Figures, Verdict, judge

if TYPE_CHECKING:
    from ame_core.flows.engine import FlowEngine
    from ame_core.flows.records import StepRecord

# How often the step looks at the figures, and writes them for the console.
LOOK_SECONDS = 1.0
SAVE_SECONDS = 5.0


def wanted(deployment: Any, served_before: str | None, version: str) -> bool:
    """A canary needs a canary rollout and another version already served to split with."""
    rollout = deployment.rollout
    strategy = rollout.strategy if rollout is not None else "replace"
    return strategy == "canary" and bool(served_before) and served_before != version


def run(
    engine: FlowEngine, step: StepRecord, deployment: Any, version: str, served_before: str
) -> str:
    lifecycle = engine.lifecycle
    name = engine.record.model
    state = step.result.setdefault("canary", {})
    if "started_at" not in state:
        plan = CanaryPlan.of(deployment.rollout)
        state["plan"] = plan.to_json()
        engine.save()
        lifecycle.start_canary(name, version, deployment, plan.percent)
        state.update(started_at=time.time(), extended=False)
        engine.say(f"deploy: {name} v{version} takes {plan.describe()}")
    plan = CanaryPlan.from_json(state["plan"])
    verdict = _watch(engine, step, plan, state, deployment, version)
    promoted = verdict.decision == PROMOTE
    # Ended early by a user: recorded as their promote or roll-back; else the deploy's outcome.
    asked = engine.store.decision(engine.record.id)
    endpoint = lifecycle.end_canary(
        name,
        version,
        deployment,
        promote=promoted,
        reason=verdict.reason,
        metrics=_metrics(step),
        served_before=served_before,
        flow_id=engine.record.id,
        event_kind=asked or "deploy",
    )
    if not promoted:
        raise StepFailed(f"canary {name} v{version} rolled back: {verdict.reason}")
    step.result.update({"version": version, "url": endpoint.url if endpoint else None})
    return f"{name} v{version} promoted: {verdict.reason}"


def _watch(
    engine: FlowEngine,
    step: StepRecord,
    plan: CanaryPlan,
    state: dict,
    deployment: Any,
    version: str,
) -> Verdict:
    lifecycle, store, flow_id = engine.lifecycle, engine.store, engine.record.id
    name = engine.record.model
    saved = 0.0
    while True:
        if store.cancel_requested(flow_id):
            lifecycle.end_canary(
                name,
                version,
                deployment,
                promote=False,
                reason="the flow was cancelled",
                metrics=_metrics(step),
                served_before=step.result.get("served_before"),
                flow_id=flow_id,
            )
            raise FlowCancelled
        asked = store.decision(flow_id)
        if asked == PROMOTE:
            return Verdict(PROMOTE, "promoted on request (ame model promote)")
        if asked == ROLLBACK:
            return Verdict(ROLLBACK, "rolled back on request (ame model rollback)")
        measured = lifecycle.canary_figures(name)
        elapsed = time.time() - float(state["started_at"])
        if measured is None:
            # This backend cannot see the canary's traffic: the window passes, then readiness.
            verdict = _unmeasured(plan, elapsed)
        else:
            figures = Figures.of(measured)
            verdict = judge(plan, figures, elapsed, bool(state.get("extended")))
            step.result["figures"] = figures.metrics()
        if verdict.decision == WAIT and verdict.reason == "extend":
            state["extended"] = True
            engine.say("deploy: too little traffic for the gate; the window is extended once")
            continue
        if verdict.decision != WAIT:
            engine.save()
            return verdict
        if time.monotonic() - saved > SAVE_SECONDS:
            engine.save()  # the console shows the split and the gate's figures live
            saved = time.monotonic()
        time.sleep(LOOK_SECONDS)


def _metrics(step: StepRecord) -> dict[str, float]:
    """The canary's last figures (Figures.metrics), for the history event."""
    return {k: float(v) for k, v in (step.result.get("figures") or {}).items()}


def _unmeasured(plan: CanaryPlan, elapsed: float) -> Verdict:
    if elapsed < plan.window_s:
        return Verdict(WAIT, "not measured")
    return Verdict(
        PROMOTE,
        "the window passed (this backend cannot measure the canary's requests: the gate was "
        "not judged; watch the cluster's metrics, `ame model rollback` goes back)",
    )
