"""Parameter uncertainty as an interval: the spread over parameter draws of an
outcome's probability (or mean) given the parameters, with Monte Carlo noise removed.

A run whose scenario declares ``uncertain:`` parameters groups its replicates into
**parameter points**: replicate ``r`` uses draw ``r // M`` (``M`` is the scenario's
``replicates_per_draw``, default 20), so the ``M`` replicates of a point share one set
of drawn values and differ only in their engine streams. Each point ``k`` then gives
an estimate ``m_k`` of ``P(outcome | parameters_k)`` (or of the mean), and the spread
of the true values over the declared distributions is what a reader needs to know
about what we do not know. (Across replicates of a binary outcome the spread is 0/1
and says nothing.)

**The correction.** ``m_k`` is the true value plus Monte Carlo noise of variance
``sigma_w^2 / n_k`` (for a probability, ``p_k (1 - p_k) / n_k``), which widens the
spread of the ``m_k``. :func:`spread` removes it with the one-way random-effects
ANOVA (method of moments) estimator of the between-point variance,

    sigma_b^2 = max(0, (MS_between - MS_within) / n0),
    n0 = (N - sum n_k^2 / N) / (K - 1)      (= M when every point has M replicates)

(Searle, Casella & McCulloch, *Variance Components*, Wiley 1992, sec. 3.5 and 3.6;
with M replicates per point and a 0/1 outcome it is
``var(m_k) - mean(m_k (1 - m_k)) / (M - 1)``), and then shrinks each point towards
the grand mean ``m``, ``m + c_k (m_k - m)`` with
``c_k = sqrt(sigma_b^2 / (sigma_b^2 + MS_within / n_k))``, so that the shrunk points
have exactly the estimated between-point variance (a variance-matching
adjustment in the spirit of Louis, "Estimating a population of parameter values
using Bayes and empirical Bayes methods", JASA 79, 1984). The interval is the 5% and
95% points of the shrunk points. With no parameter effect ``sigma_b^2`` is about 0
and the interval collapses to the mean.

What it includes: the variation of the outcome's probability over the declared
distributions, estimated from the K points drawn; each of the two ends carries its own
sampling error (about ``sqrt(0.05 x 0.95 / K) / density`` for a quantile, so a few
hundred points are needed for two decimals), and the shrinkage assumes the noise is
roughly symmetric: for a 5% or 95% point it is exact when the per-point values are
normal and slightly narrow for a flat distribution (the noise makes the tails of the
raw points more normal). It does not include structural uncertainty (the model's
rules themselves).

Points that share random numbers (``sim sensitivity`` runs every point with the same
``M`` replicate streams) have noise correlated across points: pass ``noise`` = the
residual mean square of the two-way (points x replicates) table, whose expectation is
the part of the noise that differs between points (:func:`crn_noise`), instead of the
within-point variances.

Too few points (``MIN_POINTS``) or fewer than 2 replicates per point give no
interval: :attr:`Spread.reason` says why and :meth:`Spread.cell` prints ``n/a``.

The Monte Carlo interval of the mean is still wanted beside it; with grouped draws the
replicates of one point are not independent (they share the parameter values), so
:func:`grouped_mean` uses the points as the independent units (the ratio estimator of
cluster sampling, Cochran, *Sampling Techniques*, 3rd ed. 1977, sec. 6.13), with
Student-t quantiles on K - 1 degrees of freedom.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from sim import outcomes as oc

QUANTILES = (0.05, 0.95)
MIN_POINTS = 20          # a 5% point needs at least 20 points to be more than the minimum
LABEL = "90% over parameters"
WITHIN_NOISE = "within noise"
WITHIN_NOISE_NOTE = ("within noise: the draws' estimates vary no more than Monte Carlo noise "
                     "would make them (F test at 5%); more draws would tell")


@attrs.frozen
class Spread:
    """The parameter-uncertainty interval of one outcome statistic.

    ``lo``/``hi``: the 5% and 95% points of the per-point values with their Monte
    Carlo noise removed (nan when ``reason`` says why there is none); ``mean``: the
    mean over replicates; ``sd``: the estimated between-point standard deviation;
    ``raw_lo``/``raw_hi``: the same quantiles of the uncorrected per-point values;
    ``noise_sd``: the Monte Carlo standard deviation of one point's value;
    ``points`` and ``per_point`` (median replicates per point); ``median``: the 50%
    point of the corrected values."""

    mean: float
    lo: float
    hi: float
    sd: float
    raw_lo: float
    raw_hi: float
    noise_sd: float
    points: int
    per_point: float
    reason: str = ""
    median: float = math.nan      # the 50% point of the corrected per-point values
    within_noise: bool = False    # the points vary no more than noise would (F test, 5%)

    @property
    def available(self) -> bool:
        return not self.reason

    def cell(self, signed: bool = False) -> str:
        """``[lo, hi]`` or ``n/a (reason)``."""
        if self.reason:
            return f"n/a ({self.reason})"
        if self.within_noise and not self.sd > 0:
            # no spread left once the noise is removed: a zero-width interval would claim
            # the parameters do not matter, when the draws only cannot show that they do
            return f"n/a ({WITHIN_NOISE} at {self.points} draws)"
        d = _digits(self.lo, self.hi)
        f = (lambda x: f"{x:+.{d}f}") if signed else (lambda x: f"{x:.{d}f}")
        return f"[{f(self.lo)}, {f(self.hi)}]" + (f" ({WITHIN_NOISE})" if self.within_noise
                                                 else "")

    @property
    def note(self) -> str:
        """Why there is no interval, or that it is within noise ('' otherwise)."""
        return self.reason or (WITHIN_NOISE_NOTE if self.within_noise else "")


def _digits(*xs: float) -> int:
    m = max((abs(x) for x in xs if math.isfinite(x)), default=0.0)
    return 0 if m >= 100 else 1 if m >= 10 else 3


def not_available(reason: str, mean: float = math.nan, points: int = 0,
                  per_point: float = math.nan) -> Spread:
    nan = math.nan
    return Spread(mean, nan, nan, nan, nan, nan, nan, points, per_point, reason)


def point_of(replicates: int, per_draw: int) -> np.ndarray:
    """The parameter point (draw number) of each replicate: ``r // per_draw``."""
    return np.arange(replicates) // max(1, int(per_draw))


def point_stats(values: Any, per_draw: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means, counts, within-point variances with ddof 1) of the points of per-replicate
    ``values`` (replicate ``r`` in point ``r // per_draw``; NaN, a failed replicate, is
    left out; points with no value are dropped; a variance is nan below 2 values)."""
    x = np.asarray(values, dtype=float)
    g = point_of(x.size, per_draw)
    ok = ~np.isnan(x)
    k = int(g[-1]) + 1 if x.size else 0
    n = np.bincount(g[ok], minlength=k).astype(float)
    s1 = np.bincount(g[ok], weights=x[ok], minlength=k)
    keep = n > 0
    n, s1 = n[keep], s1[keep]
    means = s1 / n
    dev = np.zeros_like(x)
    full_means = np.zeros(k)
    full_means[keep] = means
    dev[ok] = (x[ok] - full_means[g[ok]]) ** 2
    ss = np.bincount(g[ok], weights=dev[ok], minlength=k)[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(n >= 2, ss / (n - 1), np.nan)
    return means, n, within


def spread(means: Any, counts: Any, within: Any = None, noise: float | None = None,
           q: Sequence[float] = QUANTILES, min_points: int = MIN_POINTS,
           noise_df: float | None = None) -> Spread:
    """The parameter-uncertainty interval from per-point ``means`` over ``counts``
    replicates each (see the module docs for the method).

    ``within``: each point's within-point variance (ddof 1), pooled into the noise
    variance MS_within (independent replicates at every point, as ``sim run``); or
    ``noise``: that variance given directly (points sharing random numbers:
    :func:`crn_noise`, on ``noise_df`` degrees of freedom).

    :attr:`Spread.within_noise` is set when MS_between / MS_within is below the 95%
    point of F(K - 1, df of MS_within): the points do not vary detectably more than
    their noise, so the interval (whatever its width) cannot be told from none."""
    m = np.asarray(means, dtype=float)
    n = np.asarray(counts, dtype=float)
    use = n >= (1 if noise is not None else 2)
    per_point = float(np.median(n)) if n.size else math.nan
    grand = float(np.sum(m * n) / np.sum(n)) if n.size and np.sum(n) > 0 else math.nan
    if n.size and float(np.max(n)) < 2 and noise is None:
        return not_available("one replicate per parameter draw: set replicates_per_draw "
                             "of 2 or more", grand, int(n.size), per_point)
    m, n = m[use], n[use]
    k = int(m.size)
    if k < min_points:
        return not_available(f"{k} parameter draw{'s' if k != 1 else ''}; at least "
                             f"{min_points} needed", grand, k, per_point)
    big_n = float(n.sum())
    grand_used = float(np.sum(m * n) / big_n)
    msb = float(np.sum(n * (m - grand_used) ** 2) / (k - 1))
    if noise is None:
        w = np.asarray(within, dtype=float)[use]
        msw = float(np.sum((n - 1) * w) / (big_n - k))
        df2 = big_n - k
    else:
        msw = float(noise)
        df2 = float(noise_df) if noise_df is not None else (k - 1) * (float(np.median(n)) - 1)
    n0 = (big_n - float(np.sum(n * n)) / big_n) / (k - 1)
    between = max(0.0, (msb - msw) / n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(between > 0, np.sqrt(between / (between + msw / n)), 0.0)
    shrunk = grand_used + c * (m - grand_used)
    lo, hi = (float(v) for v in np.quantile(shrunk, q))
    raw_lo, raw_hi = (float(v) for v in np.quantile(m, q))
    from scipy.special import fdtri

    quiet = bool(msb > 0 and df2 > 0 and msb <= msw * float(fdtri(k - 1, df2, 0.95)))
    return Spread(grand, lo, hi, math.sqrt(between), raw_lo, raw_hi,
                  math.sqrt(max(msw, 0.0) / float(np.median(n))), k, per_point,
                  median=float(np.median(shrunk)), within_noise=quiet)


def of_replicates(values: Any, per_draw: int, q: Sequence[float] = QUANTILES) -> Spread:
    """:func:`spread` of per-replicate ``values`` of a run whose replicate ``r`` used
    parameter draw ``r // per_draw`` (NaN: failed, left out)."""
    means, n, within = point_stats(values, per_draw)
    return spread(means, n, within, q=q)


def crn_noise(means: Any, within: Any, replicates: int, column_means: Any) -> float:
    """The residual mean square of a points x replicates table where every point ran the
    same ``replicates`` streams (common random numbers): the noise variance that
    :func:`spread` needs for such points.

    From sufficient statistics only: ``means`` and ``within`` (ddof 1) of each point and
    ``column_means``, each replicate stream's mean over the points. SS_residual =
    SS_within - K * sum_r (column_mean_r - grand)^2 on (K - 1)(M - 1) degrees of
    freedom; its expectation is the mean over points of the noise variance that is
    not shared by all points (two-way ANOVA without replication, Searle et al. 1992)."""
    m = np.asarray(means, dtype=float)
    w = np.asarray(within, dtype=float)
    col = np.asarray(column_means, dtype=float)
    k, r = m.size, int(replicates)
    if k < 2 or r < 2:
        return math.nan
    grand = float(m.mean())
    ss_within = float(np.sum((r - 1) * w))
    ss_cols = k * float(np.sum((col - grand) ** 2))
    return max(0.0, (ss_within - ss_cols) / ((k - 1) * (r - 1)))


def cluster_se(x: np.ndarray, groups: np.ndarray) -> tuple[Any, int]:
    """The standard error of the mean of ``x`` (per column when 2-D: replicates x
    columns; no NaN) with the groups as the independent units -- the ratio estimator of
    cluster sampling, se^2 = K / (K - 1) * sum_k (y_k - mean n_k)^2 / N^2 (y_k, n_k: a
    group's sum and count) -- and K, the number of groups. ``groups``: each row's group,
    in ascending order (as :func:`point_of` gives them). nan when K < 2.

    >>> se, k = cluster_se(np.array([1.0, 1.0, 0.0, 0.0]), np.array([0, 0, 1, 1]))
    >>> k, round(float(se), 6)
    (2, 0.5)
    """
    g = np.asarray(groups)
    n = x.shape[0]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if n else np.zeros(0, int)
    k = starts.size
    if k < 2:
        return np.full(x.shape[1:], np.nan) if x.ndim > 1 else math.nan, k
    sums = np.add.reduceat(x, starts, axis=0)
    sizes = np.diff(np.append(starts, n)).astype(float)
    if x.ndim > 1:
        sizes = sizes[:, None]
    mean = x.mean(axis=0)
    return np.sqrt(k / (k - 1) * np.sum((sums - mean * sizes) ** 2, axis=0)) / n, k


def grouped_mean(values: Any, per_draw: int, level: float = 0.95,
                 kind: str = "mean") -> oc.Estimate:
    """The mean of per-replicate ``values`` with a Monte Carlo interval that treats the
    parameter points (replicates ``r // per_draw``) as the independent units: the
    ratio estimator of cluster sampling, se^2 = K / (K - 1) * sum_k (y_k - mean n_k)^2 /
    N^2 (y_k, n_k: a point's sum and count), t quantile on K - 1 degrees of freedom.
    A probability's interval is clipped to [0, 1]. NaN values are left out."""
    x = np.asarray(values, dtype=float)
    g = point_of(x.size, per_draw)
    ok = ~np.isnan(x)
    x, g = x[ok], g[ok]
    big_n = x.size
    if big_n == 0:
        return oc.Estimate(math.nan, math.nan, math.nan, 0, kind)
    mean = float(x.mean())
    se, k = cluster_se(x, g)
    if k < 2:
        return oc.Estimate(mean, math.nan, math.nan, big_n, kind)
    h = oc.t_quantile(0.5 + level / 2, k - 1) * float(se)
    lo, hi = mean - h, mean + h
    if kind == "probability":
        lo, hi = max(0.0, lo), min(1.0, hi)
    return oc.Estimate(mean, lo, hi, big_n, kind)


def grouped_median(values: Any, per_draw: int, level: float = 0.95,
                   resamples: int = 400) -> oc.Estimate:
    """The median of the finite per-replicate ``values`` (a time to an event where it
    occurred) with a percentile interval from a bootstrap over the parameter points
    (whole groups of ``per_draw`` replicates resampled with replacement; seeded, so the
    same run gives the same interval): the order-statistic interval assumes independent
    replicates, which grouped draws are not."""
    x = np.asarray(values, dtype=float)
    g = point_of(x.size, per_draw)
    ok = np.isfinite(x)
    x, g = x[ok], g[ok]
    if x.size == 0:
        return oc.Estimate(math.nan, math.nan, math.nan, 0, "median")
    med = float(np.median(x))
    pts = np.unique(g)
    if pts.size < 2:
        return oc.Estimate(med, math.nan, math.nan, int(x.size), "median")
    order = np.argsort(g, kind="stable")
    x, g = x[order], g[order]
    starts = np.searchsorted(g, pts)
    ends = np.searchsorted(g, pts, side="right")
    rng = np.random.default_rng(np.random.SeedSequence(0x4D4544))   # "MED"
    meds = np.empty(resamples)
    for b in range(resamples):
        pick = rng.integers(0, pts.size, pts.size)
        meds[b] = np.median(np.concatenate([x[starts[i]:ends[i]] for i in pick]))
    lo, hi = np.quantile(meds, (0.5 - level / 2, 0.5 + level / 2))
    return oc.Estimate(med, float(lo), float(hi), int(x.size), "median")


# --------------------------------------------------------------------------- outcome tables

def stat_series(spec: oc.OutcomeSpec, stat: str, values: np.ndarray) -> np.ndarray | None:
    """The per-replicate series whose mean is the summary statistic ``stat`` (NaN kept),
    or None for a statistic that is not a mean (a median)."""
    x = np.asarray(values, dtype=float)
    nan = np.isnan(x)
    if stat == "probability_by_horizon":
        return np.where(nan, np.nan, np.isfinite(x) * 1.0)
    if stat.startswith("first:"):
        ev = stat.split(":", 1)[1]
        i = -1 if ev == "none" else list(spec.events).index(ev)
        return np.where(nan, np.nan, (x == i) * 1.0)
    if stat in ("probability", "share", "mean"):
        return x
    return None


def with_spreads(table: oc.OutcomeTable, values: Mapping[str, Mapping[str, np.ndarray]],
                 per_draw: Mapping[str, int], level: float = 0.95) -> oc.OutcomeTable:
    """``table`` with, for each branch in ``per_draw`` (the branches that draw
    ``uncertain:`` parameters, and their replicates per draw), every statistic's
    :class:`Spread` attached and, when the draws are grouped (per_draw > 1), its Monte
    Carlo interval from :func:`grouped_mean`. ``values``: per-replicate values with NaN
    for failed replicates (``Run.outcome_values``)."""
    out = {}
    for b, sums in table.summaries.items():
        if b not in per_draw:
            out[b] = sums
            continue
        m = per_draw[b]
        new = []
        for s in sums:
            stats, spreads = [], {}
            for stat, est in s.stats:
                x = stat_series(s.spec, stat, values[b][s.spec.id])
                if x is None:   # the median time where it occurs: no per-draw probability
                    spreads[stat] = not_available("a median: not a mean over draws")
                    if m > 1:
                        est = grouped_median(values[b][s.spec.id], m, level)
                    stats.append((stat, est))
                    continue
                if m > 1:
                    est = grouped_mean(x, m, level, est.kind)
                spreads[stat] = of_replicates(x, m)
                stats.append((stat, est))
            new.append(attrs.evolve(s, stats=tuple(stats), spreads=spreads))
        out[b] = new
    new_table = oc.OutcomeTable(out, {b: v for b, v in table.failed.items()},
                                invariants=table.invariants)
    new_table.param_note = note(per_draw)
    return new_table


def note(per_draw: Mapping[str, int]) -> str:
    """The line under a table with parameter-uncertainty intervals."""
    ms = sorted(set(per_draw.values()))
    each = ("every replicate draws its own values" if ms == [1] else
            f"{' or '.join(str(x) for x in ms)} replicates share each draw")
    return (f"parameter uncertainty: {', '.join(per_draw)} draw uncertain: parameters "
            f"({each}; values in replicates.csv). '95% MC interval': Monte Carlo interval "
            f"of the mean over the draws. '{LABEL}': 5-95% of the outcome's probability "
            "(or mean) given the drawn parameters, per draw, with the Monte Carlo noise of "
            f"each draw's estimate removed (sim.paramspread); '{WITHIN_NOISE}': the draws' "
            "estimates vary no more than that noise would make them (F test at 5%).")


def cumulative(times: Any, grid: Any, horizon: float, per_draw: int, level: float = 0.95
               ) -> tuple[np.ndarray, ...]:
    """P(first time <= t) for each ``t`` of ``grid`` in a run with grouped draws:
    ``(p, lo, hi, param_lo, param_hi)``: the share, its Monte Carlo interval with the
    draws as units (:func:`grouped_mean`) and its parameter-uncertainty interval
    (:func:`of_replicates`; nan where n/a). ``times``: per replicate, inf = never, NaN =
    failed. Beyond the horizon every value is nan (censored)."""
    t = np.asarray(times, dtype=float)
    g = np.asarray(grid, dtype=float)
    out = np.full((5, g.size), np.nan)
    failed = np.isnan(t)
    for j, x in enumerate(g):
        if x > horizon:
            continue
        ind = np.where(failed, np.nan, (t <= x) * 1.0)
        e = grouped_mean(ind, per_draw, level, "probability")
        sp = of_replicates(ind, per_draw)
        out[:, j] = (e.mean, e.lo, e.hi, sp.lo, sp.hi)
    return tuple(out)
