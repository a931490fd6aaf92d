"""A served model's figures from its runtime's Prometheus text (MLServer's `/metrics`), for a
cluster, where there is no request log: totals since the server started, and latency
percentiles estimated from the REST duration histogram's buckets."""

from __future__ import annotations

import math
import re
from typing import Any

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of each sample line; comments and odd lines are skipped."""
    found = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        labels = dict(_LABEL.findall(match.group(2) or ""))
        found.append((match.group(1), labels, value))
    return found


def serving_figures(text: str) -> dict[str, Any]:
    """Requests, failures and latency percentiles of an MLServer (names per its docs:
    `model_infer_request_success`/`_failure`, `rest_server_requests_duration_seconds`)."""
    success = failure = 0.0
    buckets: dict[float, float] = {}
    for name, labels, value in samples(text):
        if name.startswith("model_infer_request_success") and not name.endswith("_created"):
            success += value
        elif name.startswith("model_infer_request_failure") and not name.endswith("_created"):
            failure += value
        elif name.endswith("requests_duration_seconds_bucket") and "infer" in labels.get(
            "endpoint", labels.get("handler", "infer")
        ):
            upper = math.inf if labels.get("le") == "+Inf" else float(labels.get("le", "inf"))
            buckets[upper] = buckets.get(upper, 0.0) + value
    total = success + failure
    figures: dict[str, Any] = {
        "requests_total": int(total),
        "failures_total": int(failure),
        "error_rate": round(failure / total, 6) if total else 0.0,
        "latency_ms": None,
    }
    if buckets:
        figures["latency_ms"] = {f"p{q}": _quantile(buckets, q / 100) for q in (50, 95, 99)}
    return figures


def _quantile(buckets: dict[float, float], q: float) -> float | None:
    """Prometheus' histogram_quantile: linear within the bucket that holds the rank (ms)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for upper in bounds:
        count = buckets[upper]
        if count >= rank:
            if math.isinf(upper):
                return round(lower * 1000, 3)
            inside = count - below
            share = (rank - below) / inside if inside else 0.0
            return round((lower + (upper - lower) * share) * 1000, 3)
        lower, below = upper, count
    return None
