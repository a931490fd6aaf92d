"""Per-feature drift of current inputs against a reference, with Evidently's default tests.

- numeric, reference of at most 1000 rows: two-sample Kolmogorov–Smirnov, drift when p < 0.05;
  larger: Wasserstein distance divided by the reference's standard deviation, drift when > 0.1;
- categorical, at most 1000 rows: chi-squared of the current counts against the reference's
  proportions, drift when p < 0.05 (a category the reference never had is drift: p = 0);
  larger: Jensen–Shannon distance of the two distributions, drift when > 0.1.

`threshold` (FORMAT.md `monitoring.drift.threshold`) replaces the distance threshold; p-value tests
keep 0.05. A missing value (None, NaN) is left out of both samples and counted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

SMALL_REFERENCE = 1000  # rows: up to this, the p-value tests
P_VALUE = 0.05
DISTANCE = 0.1
MIN_ROWS = 30  # current rows below which no verdict is given
_STD_FLOOR = 0.001  # a constant reference feature: Evidently's floor for the norm


@dataclass
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    method: str  # ks | wasserstein | chi2 | jensenshannon
    statistic: float
    p_value: float | None  # None for the distances
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    missing: int = 0  # current values that were None or not of the feature's kind

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wasserstein(u: Any, v: Any) -> float:
    """The 1-D Wasserstein distance: the area between the two empirical CDFs (what
    scipy.stats.wasserstein_distance computes; here without importing scipy.stats, whose
    import alone takes most of a second)."""
    import numpy as np

    u, v = np.sort(u), np.sort(v)
    values = np.sort(np.concatenate([u, v]))
    deltas = np.diff(values)
    u_cdf = np.searchsorted(u, values[:-1], side="right") / len(u)
    v_cdf = np.searchsorted(v, values[:-1], side="right") / len(v)
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas))


def jensen_shannon(p: Sequence[float], q: Sequence[float]) -> float:
    """The Jensen–Shannon distance (natural log) of two distributions, as
    scipy.spatial.distance.jensenshannon computes it."""
    import numpy as np

    a, b = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: Any) -> float:
        nonzero = x > 0
        return float(np.sum(x[nonzero] * np.log(x[nonzero] / m[nonzero])))

    return math.sqrt(max(0.0, (kl(a) + kl(b)) / 2))


def numeric(
    feature: str,
    reference: Sequence[float],
    current: Sequence[float],
    *,
    threshold: float = DISTANCE,
    missing: int = 0,
) -> FeatureDrift:
    import numpy as np

    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if len(ref) <= SMALL_REFERENCE:
        from scipy import stats

        result = stats.ks_2samp(ref, cur)
        p = float(result.pvalue)
        return FeatureDrift(
            feature, "numeric", "ks", float(result.statistic), p, P_VALUE, p < P_VALUE,
            len(ref), len(cur), missing,
        )  # fmt: skip
    norm = max(float(np.std(ref)), _STD_FLOOR)
    distance = wasserstein(ref, cur) / norm
    return FeatureDrift(
        feature, "numeric", "wasserstein", distance, None, threshold, distance > threshold,
        len(ref), len(cur), missing,
    )  # fmt: skip


def categorical(
    feature: str,
    reference: Sequence[Any],
    current: Sequence[Any],
    *,
    threshold: float = DISTANCE,
    missing: int = 0,
) -> FeatureDrift:
    ref_counts, cur_counts = Counter(map(str, reference)), Counter(map(str, current))
    keys = sorted(set(ref_counts) | set(cur_counts))
    n_ref, n_cur = len(reference), len(current)
    if n_ref <= SMALL_REFERENCE:
        p, statistic = _chi2(keys, ref_counts, cur_counts, n_ref, n_cur)
        return FeatureDrift(
            feature, "categorical", "chi2", statistic, p, P_VALUE, p < P_VALUE,
            n_ref, n_cur, missing,
        )  # fmt: skip
    p_ref = [ref_counts[k] / n_ref for k in keys]
    p_cur = [cur_counts[k] / n_cur for k in keys]
    distance = jensen_shannon(p_ref, p_cur)
    return FeatureDrift(
        feature, "categorical", "jensenshannon", distance, None, threshold, distance > threshold,
        n_ref, n_cur, missing,
    )  # fmt: skip


def _chi2(
    keys: list[str], ref: Counter[str], cur: Counter[str], n_ref: int, n_cur: int
) -> tuple[float, float]:
    """(p-value, statistic) of the current counts against the reference's proportions."""
    from scipy import stats

    scale = n_cur / n_ref
    observed = [cur[k] for k in keys]
    expected = [ref[k] * scale for k in keys]
    if any(e == 0 and o > 0 for o, e in zip(observed, expected, strict=True)):
        return 0.0, math.inf  # a category the reference never had
    pairs = [(o, e) for o, e in zip(observed, expected, strict=True) if e > 0]
    if len(pairs) < 2:
        return 1.0, 0.0  # one category on both sides: nothing can differ
    result = stats.chisquare([o for o, _ in pairs], [e for _, e in pairs])
    return float(result.pvalue), float(result.statistic)
