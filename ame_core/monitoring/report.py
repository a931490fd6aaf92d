"""The monitoring report of one model over a window: traffic, errors and latency per version,
and the drift of the window's inputs against the reference (a plain dict: it is printed,
written as JSON, recorded in MLflow and shown in the console).

Drift is judged on the inputs of every version that answered in the window (a canary's share
included), against the deployed version's reference and signature. The verdict is `drift` when
any watched feature drifted, `ok` when none did, `not enough data` below `MIN_ROWS` rows (the
report says how many are needed) and `no reference` when there is nothing to compare with.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from ame_core.monitoring import drift
from ame_core.monitoring.reference import Feature, Reference
from ame_core.monitoring.request_log import VersionLog

SERIES_POINTS = 60  # the console's chart: one point per minute of an hour's window


def traffic(
    times: Sequence[float],
    statuses: Sequence[int],
    latencies_ms: Sequence[float],
    since: float,
    until: float,
) -> dict[str, Any]:
    """Requests, rate, errors and latency percentiles of one set of requests."""
    import numpy as np

    count = len(times)
    span = max(until - since, 1.0)
    errors = sum(1 for s in statuses if s >= 400)
    figures: dict[str, Any] = {
        "requests": count,
        # Over at least a minute: a version served for seconds has no meaningful rate yet.
        "per_minute": round(count / max(span / 60, 1.0), 3),
        "errors": errors,
        "error_rate": round(errors / count, 6) if count else 0.0,
        "server_errors": sum(1 for s in statuses if s >= 500),
        "latency_ms": None,
    }
    if count:
        p50, p95, p99 = np.percentile(np.asarray(latencies_ms, dtype=float), [50, 95, 99])
        figures["latency_ms"] = {"p50": round(p50, 3), "p95": round(p95, 3), "p99": round(p99, 3)}
    step = span / SERIES_POINTS
    series = [0] * SERIES_POINTS
    for at in times:
        series[min(SERIES_POINTS - 1, max(0, int((at - since) / step)))] += 1
    figures["series"] = {"step_s": round(step, 3), "requests": series}
    return figures


def align(
    samples: Sequence[tuple[list[str] | None, list[list[Any]]]], features: list[Feature]
) -> tuple[Any, int]:
    """The sampled rows as one DataFrame with the features' columns, and how many rows did not
    match the signature (wrong width, or a feature missing from a named request)."""
    import pandas as pd

    names = [f.name for f in features]
    width = len(names)
    frames, mismatched = [], 0
    by_header: dict[tuple[str, ...] | None, list[list[Any]]] = {}
    for columns, rows in samples:
        key = tuple(columns) if columns is not None else None
        by_header.setdefault(key, []).extend(rows)
    for header, rows in by_header.items():
        expected = len(header) if header is not None else width
        good = [r for r in rows if isinstance(r, list) and len(r) == expected]
        mismatched += len(rows) - len(good)
        if not good:
            continue
        if header is None:
            frames.append(pd.DataFrame(good, columns=names))
            continue
        if any(n not in header for n in names):
            mismatched += len(good)  # the model itself refuses these: counted, not guessed
            continue
        frame = pd.DataFrame(good, columns=list(header))
        frames.append(frame.loc[:, ~frame.columns.duplicated()][names])
    if not frames:
        return pd.DataFrame(columns=names), mismatched
    return (pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]), mismatched


def feature_drift(
    feature: Feature, reference: Any, current: Any, threshold: float
) -> drift.FeatureDrift:
    import pandas as pd

    ref, cur = reference[feature.name], current[feature.name]
    if feature.kind == "numeric":
        ref = pd.to_numeric(ref, errors="coerce").dropna()
        values = pd.to_numeric(cur, errors="coerce")
        kept = values.dropna()
        return drift.numeric(
            feature.name,
            ref.to_numpy(),
            kept.to_numpy(),
            threshold=threshold,
            missing=len(values) - len(kept),
        )
    ref, kept = ref.dropna(), cur.dropna()
    return drift.categorical(
        feature.name,
        ref.tolist(),
        kept.tolist(),
        threshold=threshold,
        missing=len(cur) - len(kept),
    )


def build(
    model: str,
    deployed: str | None,
    logs: dict[str, VersionLog],
    *,
    since: float,
    until: float,
    features: list[Feature] | None,
    reference: Reference | None,
    no_reference_reason: str = "",
    threshold: float | None = None,
    watched: list[str] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    # A model served for less than the window: rates over the time it was watched.
    oldest = [log.oldest_on_disk for log in logs.values() if log.oldest_on_disk]
    watched_from = max(since, min(oldest)) if oldest else since
    all_times = [t for log in logs.values() for t in log.times]
    all_statuses = [s for log in logs.values() for s in log.statuses]
    all_latencies = [ms for log in logs.values() for ms in log.latencies_ms]
    report: dict[str, Any] = {
        "model": model,
        "version": deployed,
        "window": {"from": since, "to": until, "seconds": round(until - since, 3)},
        "generated_at": time.time(),
        "traffic": traffic(all_times, all_statuses, all_latencies, watched_from, until),
        "versions": {
            v: traffic(log.times, log.statuses, log.latencies_ms, watched_from, until)
            for v, log in sorted(logs.items(), key=lambda item: _version_key(item[0]))
        },
        "warnings": list(warnings or []),
        "unavailable": [],
    }
    if watched_from > since + 60:
        report["window"]["watched_from"] = watched_from
        report["warnings"].append(
            "the request log reaches back only to "
            f"{time.strftime('%H:%M', time.localtime(watched_from))} (served since then, or "
            "older requests dropped at the log's size cap): rates are over that time"
        )
    samples = [s for log in logs.values() for s in log.samples]
    not_rows: dict[str, int] = {}
    for log in logs.values():
        for reason, n in log.not_rows.items():
            not_rows[reason] = not_rows.get(reason, 0) + n
    report["inputs"] = {
        "sampled_requests": len(samples),
        "rows": sum(len(rows) for _, rows in samples),
        "not_matching_signature": 0,
        "requests_without_rows": not_rows,
    }
    report["drift"] = _drift(
        samples, features, reference, no_reference_reason, threshold, watched, report
    )
    return report


def _drift(
    samples: list[tuple[list[str] | None, list[list[Any]]]],
    features: list[Feature] | None,
    reference: Reference | None,
    no_reference_reason: str,
    threshold: float | None,
    watched: list[str] | None,
    report: dict[str, Any],
) -> dict[str, Any]:
    threshold = threshold if threshold is not None else drift.DISTANCE
    result: dict[str, Any] = {
        "verdict": "no reference",
        "reason": no_reference_reason,
        "share": None,
        "drifted": [],
        "features": [],
        "rows": 0,
        "needed_rows": drift.MIN_ROWS,
        "threshold": {"distance": threshold, "p_value": drift.P_VALUE},
        "reference": None,
    }
    if reference is None or not features:
        return result
    result["reference"] = {
        "source": reference.source,
        "rows": reference.rows,
        "warning": reference.warning,
    }
    chosen = [f for f in features if not watched or f.name in watched]
    current, mismatched = align(samples, features)
    report["inputs"]["not_matching_signature"] = mismatched
    result["rows"] = len(current)
    if len(current) < drift.MIN_ROWS:
        result["verdict"] = "not enough data"
        result["reason"] = (
            f"{len(current)} input rows in the window; {drift.MIN_ROWS} are needed for a verdict"
        )
        return result
    found = [feature_drift(f, reference.frame, current, threshold) for f in chosen]
    drifted = [f.feature for f in found if f.drifted]
    result.update(
        verdict="drift" if drifted else "ok",
        reason="",
        share=round(len(drifted) / len(found), 6) if found else 0.0,
        drifted=drifted,
        features=[_finite(f.to_json()) for f in found],
    )
    return result


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity: a chi-squared of a new category is reported as None (p = 0)."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()
    }


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)
