"""A canary rollout's settings and its gate (FORMAT.md, "Rollout"): whether the canary, judged on
its own requests over the window, is promoted, rolled back, or watched a while longer.

Pure: the figures come from whoever measured them (the local proxy's `traffic/<model>.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ame_core.durations import format_duration, parse_duration, parse_percent

DEFAULT_MAX_ERROR_RATE = 1.0  # percent (FORMAT.md: `maxErrorRate` defaults to 1%)

PROMOTE, ROLLBACK, WAIT = "promote", "rollback", "wait"


@dataclass(frozen=True)
class CanaryPlan:
    """A rollout as numbers: what the deploy flow carries (and records in its step)."""

    percent: float
    window_s: float
    min_requests: int
    max_error_rate: float  # percent
    max_latency_p95_ms: float | None

    @classmethod
    def of(cls, rollout: Any) -> CanaryPlan:
        gate = rollout.gate
        error_rate = DEFAULT_MAX_ERROR_RATE
        latency = None
        if gate is not None and gate.max_error_rate is not None:
            error_rate = parse_percent(gate.max_error_rate)
        if gate is not None and gate.max_latency_p95 is not None:
            latency = parse_duration(gate.max_latency_p95) * 1000
        return cls(
            percent=parse_percent(rollout.canary, 1, 99),
            window_s=parse_duration(rollout.window),
            min_requests=int(rollout.min_requests),
            max_error_rate=error_rate,
            max_latency_p95_ms=latency,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CanaryPlan:
        return cls(**data)

    def describe(self) -> str:
        gate = f"errors ≤ {self.max_error_rate:g}%"
        if self.max_latency_p95_ms is not None:
            gate += f", p95 ≤ {self.max_latency_p95_ms:g} ms"
        return (
            f"canary {self.percent:g}% for {format_duration(self.window_s)} "
            f"(gate: {gate}, after ≥ {self.min_requests} requests)"
        )


@dataclass(frozen=True)
class Figures:
    """What the canary answered since it started."""

    requests: int
    errors: int
    latency_ms: tuple[float, ...]

    @classmethod
    def of(cls, entry: dict[str, Any] | None) -> Figures:
        entry = entry or {}
        return cls(
            int(entry.get("requests") or 0),
            int(entry.get("errors") or 0),
            tuple(float(x) for x in entry.get("latency_ms") or ()),
        )

    @property
    def error_rate(self) -> float:
        """Percent of failed requests (0 with none)."""
        return 100.0 * self.errors / self.requests if self.requests else 0.0

    @property
    def p95_ms(self) -> float | None:
        if not self.latency_ms:
            return None
        ordered = sorted(self.latency_ms)
        # nearest-rank: the smallest value with at least 95% of samples at or below it
        rank = max(1, -(-95 * len(ordered) // 100))
        return ordered[rank - 1]

    def metrics(self) -> dict[str, float]:
        """As MLflow metrics of the history event."""
        out = {"canary_requests": float(self.requests), "canary_error_rate": self.error_rate}
        if self.p95_ms is not None:
            out["canary_latency_p95_ms"] = self.p95_ms
        return out


@dataclass(frozen=True)
class Verdict:
    decision: str  # PROMOTE | ROLLBACK | WAIT
    reason: str


def judge(plan: CanaryPlan, figures: Figures, elapsed_s: float, extended: bool) -> Verdict:
    """The gate at `elapsed_s` into the window. A limit broken once the canary has served
    `min_requests` rolls back at once (no need to wait for more harm); the gate holds only at
    the window's end. A window ending with too few requests is extended once (`extended`
    says it was), then rolled back as "not enough traffic"."""
    enough = figures.requests >= plan.min_requests
    broken = _broken(plan, figures) if enough else None
    if broken:
        return Verdict(ROLLBACK, broken)
    if elapsed_s < plan.window_s * (2 if extended else 1):
        return Verdict(WAIT, f"{figures.requests} requests so far")
    if enough:
        return Verdict(PROMOTE, _held(plan, figures))
    if not extended:
        return Verdict(WAIT, "extend")
    return Verdict(
        ROLLBACK,
        f"not enough traffic: {figures.requests} of {plan.min_requests} requests in "
        f"{format_duration(plan.window_s * 2)}",
    )


def _broken(plan: CanaryPlan, figures: Figures) -> str | None:
    if figures.error_rate > plan.max_error_rate:
        return (
            f"error rate {figures.error_rate:.2f}% > {plan.max_error_rate:g}% "
            f"({figures.errors} of {figures.requests} requests failed)"
        )
    p95 = figures.p95_ms
    if plan.max_latency_p95_ms is not None and p95 is not None and p95 > plan.max_latency_p95_ms:
        return f"p95 latency {p95:.0f} ms > {plan.max_latency_p95_ms:g} ms"
    return None


def _held(plan: CanaryPlan, figures: Figures) -> str:
    text = f"gate held: error rate {figures.error_rate:.2f}% ≤ {plan.max_error_rate:g}%"
    if plan.max_latency_p95_ms is not None and figures.p95_ms is not None:
        text += f", p95 {figures.p95_ms:.0f} ms ≤ {plan.max_latency_p95_ms:g} ms"
    return f"{text} over {figures.requests} requests"
