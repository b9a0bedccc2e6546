"""The scoring rules and the cluster bootstrap (sim.scores), against hand computations,
numerical integration and closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from sim.scores import (
    LOG_FLOOR,
    bootstrap,
    brier,
    crps_ensemble,
    crps_exponential,
    crps_never,
    log_loss,
    skill,
)


def test_brier_and_log_loss_by_hand():
    assert brier(0.7, 1) == pytest.approx(0.09)
    assert brier(0.7, 0) == pytest.approx(0.49)
    assert log_loss(0.7, 1) == pytest.approx(-math.log(0.7))
    assert log_loss(0.7, 0) == pytest.approx(-math.log(0.3))
    # a certain forecast that turns out wrong costs -ln(floor), not infinity
    assert log_loss(0.0, 1) == pytest.approx(-math.log(LOG_FLOOR))
    assert log_loss(1.0, 0) == pytest.approx(-math.log(LOG_FLOOR))
    assert log_loss(1.0, 1) == 0.0


@given(pi=st.floats(0.0, 1.0), q=st.floats(0.0, 1.0))
def test_expected_brier_is_minimised_by_the_true_probability(pi, q):
    """E[(q - Y)^2] = pi (1 - q)^2 + (1 - pi) q^2 = pi (1 - pi) + (q - pi)^2."""
    expected = pi * brier(q, 1) + (1 - pi) * brier(q, 0)
    assert expected == pytest.approx(pi * (1 - pi) + (q - pi) ** 2, abs=1e-12)
    assert expected >= pi * brier(pi, 1) + (1 - pi) * brier(pi, 0) - 1e-12


def _crps_numeric(cdf, y: float, h: float) -> float:
    """integral_0^H (F(t) - 1{y <= t})^2 dt by quadrature, split at y."""
    f = lambda t: (cdf(t) - (1.0 if y <= t else 0.0)) ** 2  # noqa: E731
    pts = [p for p in (y,) if 0 < p < h]
    return integrate.quad(f, 0, h, points=pts or None, limit=200)[0]


@settings(max_examples=60, deadline=None)
@given(samples=st.lists(st.one_of(st.floats(0, 400), st.just(math.inf)), min_size=1,
                        max_size=12),
       y=st.one_of(st.floats(0, 400), st.just(math.inf)), h=st.floats(1, 365))
def test_crps_ensemble_is_the_integral_of_the_censored_empirical_cdf(samples, y, h):
    z = np.minimum(np.array(samples), h)

    def cdf(t):
        return float(np.mean(z <= t)) if t < h else 1.0
    # integrate piecewise exactly: the integrand is constant between sorted breakpoints
    obs = min(y, h)
    cuts = sorted({0.0, h, obs, *[float(v) for v in z]})
    exact = 0.0
    for a, b in zip(cuts, cuts[1:]):
        if b <= a or a >= h:
            continue
        mid = (a + b) / 2
        exact += (b - a) * (cdf(mid) - (1.0 if obs <= mid else 0.0)) ** 2
    assert crps_ensemble(samples, y, h) == pytest.approx(exact, abs=1e-7 * max(1.0, h))


def test_crps_point_masses_by_hand():
    # a point-mass forecast at 10 days, truth 30: |10 - 30| = 20
    assert crps_ensemble([10.0], 30.0, 100.0) == pytest.approx(20.0)
    # "never" (all samples censored) against truth at day 30 of 100: H - y = 70
    assert crps_ensemble([math.inf] * 5, 30.0, 100.0) == pytest.approx(70.0)
    assert crps_never(30.0, 100.0) == 70.0
    # correct "never": 0; and any truth beyond the horizon counts as censored
    assert crps_ensemble([math.inf, 500.0], math.inf, 100.0) == 0.0
    assert crps_never(math.inf, 100.0) == 0.0
    # half the mass at 0, half never; truth censored: integral_0^H (1/2)^2 = H / 4
    assert crps_ensemble([0.0, math.inf], math.inf, 100.0) == pytest.approx(25.0)


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(1e-4, 0.2), y=st.one_of(st.floats(0, 500), st.just(math.inf)),
       h=st.floats(5, 400))
def test_crps_exponential_closed_form_matches_quadrature(lam, y, h):
    numeric = _crps_numeric(lambda t: 1 - math.exp(-lam * t), y, h)
    assert crps_exponential(lam, y, h) == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_crps_exponential_limits():
    assert crps_exponential(0.0, 40.0, 100.0) == crps_never(40.0, 100.0)
    # a huge hazard is a point mass at 0: CRPS = z
    assert crps_exponential(1e6, 40.0, 100.0) == pytest.approx(40.0, abs=1e-3)


def test_crps_ensemble_of_exponential_draws_approaches_the_closed_form():
    rng = np.random.default_rng(3)
    draws = rng.exponential(1 / 0.01, 200_000)
    for y in (5.0, 80.0, math.inf):
        assert crps_ensemble(draws, y, 120.0) == pytest.approx(crps_exponential(0.01, y, 120.0),
                                                               rel=0.01)


def test_censored_crps_is_proper_for_a_constant_hazard():
    """With the truth a hazard of 0.01/day watched for 120 days, the expected censored CRPS
    of a hazard lam (integrated over the true waiting-time law, censoring included) is
    smallest at lam = 0.01."""
    lam0, h = 0.01, 120.0

    def expected(lam):
        dens = integrate.quad(lambda y: lam0 * math.exp(-lam0 * y) * crps_exponential(lam, y, h),
                              0, h, limit=200)[0]
        return dens + math.exp(-lam0 * h) * crps_exponential(lam, math.inf, h)
    e0 = expected(lam0)
    for lam in (0.002, 0.005, 0.008, 0.012, 0.02, 0.05):
        assert expected(lam) > e0


def test_skill():
    assert skill(0.1, 0.2) == pytest.approx(0.5)
    assert skill(0.3, 0.2) == pytest.approx(-0.5)
    assert math.isnan(skill(0.1, 0.0))


def test_bootstrap_means_skill_and_intervals():
    a = np.array([0.1, 0.2, 0.3, 0.4, 0.0, 0.1])
    b = np.array([0.2, 0.2, 0.5, 0.5, 0.1, 0.3])
    clusters = ["x", "x", "y", "y", "z", "z"]
    s = bootstrap({"a": a, "b": b}, clusters, reference=["b"], draws=500, seed=1)
    assert s["n"] == 6 and s["clusters"] == 3
    assert s["mean"]["a"] == pytest.approx(a.mean())
    assert s["mean"]["b"] == pytest.approx(b.mean())
    sk, lo, hi = s["skill"][("a", "b")]
    assert sk == pytest.approx(1 - a.mean() / b.mean())
    assert lo <= sk <= hi
    lo_a, hi_a = s["ci"]["a"]
    # the bootstrap means are means of cluster sums: within the range of cluster means
    cm = [a[:2].mean(), a[2:4].mean(), a[4:].mean()]
    assert min(cm) - 1e-12 <= lo_a <= s["mean"]["a"] <= hi_a <= max(cm) + 1e-12
    # a is better than b on every cluster, so every draw has positive skill
    assert lo > 0
    # same seed, same intervals
    assert bootstrap({"a": a, "b": b}, clusters, reference=["b"], draws=500, seed=1) == s


def test_bootstrap_one_cluster_has_a_degenerate_interval_and_zero_reference_no_skill():
    s = bootstrap({"a": np.array([0.2, 0.4]), "b": np.zeros(2)}, ["x", "x"], reference=["b"],
                  draws=200)
    assert s["ci"]["a"] == pytest.approx((0.3, 0.3))
    assert all(math.isnan(v) for v in s["skill"][("a", "b")])
