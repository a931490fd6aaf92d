"""The drift tests against scipy itself, hand-computed small cases, and their error rates: a
shifted feature is flagged, untouched ones are not, and over many seeds the false alarms stay
near the nominal 5 %."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from ame_core.monitoring import drift


def test_small_numeric_reference_uses_kolmogorov_smirnov_as_scipy_computes_it() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(size=500), rng.normal(0.3, 1, size=400)
    found = drift.numeric("x", ref, cur)
    expected = stats.ks_2samp(ref, cur)
    assert found.method == "ks"
    assert found.statistic == pytest.approx(expected.statistic)
    assert found.p_value == pytest.approx(expected.pvalue)
    assert found.drifted == (expected.pvalue < 0.05)


def test_kolmogorov_smirnov_by_hand() -> None:
    # Two samples with no overlap: the empirical CDFs differ by 1 somewhere.
    found = drift.numeric("x", [1.0, 2.0, 3.0], [10.0, 11.0, 12.0])
    assert found.statistic == pytest.approx(1.0)
    assert found.p_value == pytest.approx(0.1)  # exact: 2 / C(6, 3)
    assert not found.drifted  # three rows each cannot show it at p < 0.05


def test_large_numeric_reference_uses_normalised_wasserstein() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(5, 2, size=5000), rng.normal(5.5, 2, size=3000)
    found = drift.numeric("x", ref, cur)
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert found.method == "wasserstein"
    assert found.statistic == pytest.approx(expected)
    assert found.p_value is None
    assert found.drifted  # a quarter of a standard deviation: over 0.1
    assert not drift.numeric("x", ref, cur, threshold=0.5).drifted


@pytest.mark.parametrize("seed", range(5))
def test_our_distances_are_scipys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=1500), rng.exponential(size=700)
    assert drift.wasserstein(u, v) == pytest.approx(stats.wasserstein_distance(u, v))
    p, q = rng.random(6), rng.random(6)
    q[2] = 0.0
    assert drift.jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q))


def test_wasserstein_by_hand() -> None:
    ref = [0.0, 2.0] * 600  # std 1
    cur = [1.0, 3.0] * 10  # every value moved by one: distance 1
    found = drift.numeric("x", ref, cur)
    assert found.statistic == pytest.approx(1.0)
    assert found.drifted


def test_small_categorical_reference_uses_chi_squared_against_its_proportions() -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 20 + ["b"] * 20 + ["c"] * 60
    found = drift.categorical("k", ref, cur)
    expected = stats.chisquare([20, 20, 60], [50, 30, 20])
    assert found.method == "chi2"
    assert found.statistic == pytest.approx(expected.statistic)
    assert found.p_value == pytest.approx(expected.pvalue)
    assert found.drifted


def test_chi_squared_by_hand_and_a_new_category() -> None:
    same = drift.categorical("k", ["a", "b"] * 10, ["a", "b"] * 5)
    assert same.statistic == pytest.approx(0.0) and same.p_value == pytest.approx(1.0)
    new = drift.categorical("k", ["a", "b"] * 10, ["a", "z"] * 5)
    assert new.p_value == 0.0 and math.isinf(new.statistic) and new.drifted


def test_large_categorical_reference_uses_jensen_shannon() -> None:
    ref = ["a"] * 700 + ["b"] * 300 + ["c"] * 200
    cur = ["a"] * 100 + ["b"] * 100 + ["c"] * 100
    found = drift.categorical("k", ref, cur)
    n = len(ref)
    expected = jensenshannon([700 / n, 300 / n, 200 / n], [1 / 3, 1 / 3, 1 / 3])
    assert found.method == "jensenshannon"
    assert found.statistic == pytest.approx(expected)
    assert found.drifted == (expected > 0.1)


def test_a_shifted_feature_is_flagged_and_the_untouched_ones_are_not() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(800, 5))
    cur = rng.normal(size=(300, 5))
    cur[:, 2] += 3.0
    flagged = [drift.numeric(str(i), ref[:, i], cur[:, i]).drifted for i in range(5)]
    assert flagged == [False, False, True, False, False]


@pytest.mark.parametrize("size", [200, 5000])
def test_false_alarms_stay_near_the_nominal_level(size: int) -> None:
    """Same distribution on both sides: KS flags about 5 % of the samples; the Wasserstein
    threshold of 0.1 sigma, on a window of a few thousand rows, almost none."""
    alarms = 0
    trials = 300
    for seed in range(trials):
        rng = np.random.default_rng(seed)
        ref, cur = rng.normal(size=size), rng.normal(size=300 if size <= 1000 else 3000)
        alarms += drift.numeric("x", ref, cur).drifted
    rate = alarms / trials
    if size <= drift.SMALL_REFERENCE:
        assert 0.02 <= rate <= 0.08, rate
    else:
        assert rate <= 0.05, rate
