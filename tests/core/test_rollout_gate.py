"""The canary gate: FORMAT.md's rollout settings as numbers, and the decision at each moment."""

from __future__ import annotations

from ame_core.rollout import PROMOTE, ROLLBACK, WAIT, CanaryPlan, Figures, judge
from ame_core.spec.models import Gate, Rollout


def plan(**gate) -> CanaryPlan:
    rollout = Rollout(
        strategy="canary", canary="20%", window="10m", min_requests=50, gate=Gate(**gate)
    )
    return CanaryPlan.of(rollout)


def test_the_plan_reads_format_md_spellings_and_defaults() -> None:
    p = plan(max_error_rate="1%", max_latency_p95="250ms")
    assert (p.percent, p.window_s, p.min_requests) == (20.0, 600.0, 50)
    assert (p.max_error_rate, p.max_latency_p95_ms) == (1.0, 250.0)
    assert CanaryPlan.of(Rollout(strategy="canary")).max_error_rate == 1.0  # the default gate
    assert CanaryPlan.of(Rollout(strategy="canary")).percent == 10.0
    assert CanaryPlan.from_json(p.to_json()) == p
    assert p.describe() == (
        "canary 20% for 10m (gate: errors ≤ 1%, p95 ≤ 250 ms, after ≥ 50 requests)"
    )


def test_figures_error_rate_and_p95() -> None:
    f = Figures.of({"requests": 200, "errors": 3, "latency_ms": list(range(1, 101))})
    assert f.error_rate == 1.5
    assert f.p95_ms == 95  # nearest rank of 1..100
    assert Figures.of(None).p95_ms is None and Figures.of(None).error_rate == 0.0


def test_the_gate_waits_then_promotes_when_it_holds() -> None:
    p = plan(max_error_rate="1%", max_latency_p95="250ms")
    healthy = Figures(120, 1, tuple([30.0] * 120))
    assert judge(p, healthy, 60, extended=False).decision == WAIT
    verdict = judge(p, healthy, 600, extended=False)
    assert verdict.decision == PROMOTE
    assert verdict.reason == (
        "gate held: error rate 0.83% ≤ 1%, p95 30 ms ≤ 250 ms over 120 requests"
    )


def test_a_broken_limit_rolls_back_at_once_with_the_figures() -> None:
    p = plan(max_error_rate="1%", max_latency_p95="250ms")
    failing = Figures(60, 6, tuple([30.0] * 60))
    verdict = judge(p, failing, 30, extended=False)  # long before the window ends
    assert verdict == judge(p, failing, 30, extended=True)
    assert verdict.decision == ROLLBACK
    assert verdict.reason == "error rate 10.00% > 1% (6 of 60 requests failed)"
    slow = Figures(60, 0, tuple([400.0] * 60))
    assert judge(p, slow, 30, False).reason == "p95 latency 400 ms > 250 ms"
    # Before min_requests nothing is judged: two early failures are not a verdict.
    assert judge(p, Figures(2, 2, (1.0, 1.0)), 30, False).decision == WAIT


def test_too_little_traffic_extends_the_window_once_then_rolls_back() -> None:
    p = plan()
    quiet = Figures(10, 0, tuple([5.0] * 10))
    assert judge(p, quiet, 600, extended=False).decision == WAIT
    assert judge(p, quiet, 600, extended=False).reason == "extend"
    assert judge(p, quiet, 900, extended=True).decision == WAIT
    verdict = judge(p, quiet, 1200, extended=True)
    assert verdict.decision == ROLLBACK
    assert verdict.reason == "not enough traffic: 10 of 50 requests in 20m"
