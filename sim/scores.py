"""Proper scoring rules, skill scores and cluster-bootstrap intervals (the arithmetic only).

This module owns the numbers :mod:`sim.scoring` prints. Every score is
*negatively oriented* (lower is better), so a skill score is always
``1 - S_forecast / S_reference`` (1 perfect, 0 no better than the reference,
negative worse).

Binary questions ("does X occur within h?"), forecast probability ``p``,
outcome ``y`` in {0, 1}:

- **Brier score** ``(p - y)**2``. A forecast equal to the true probability
  ``pi`` has expected score ``pi (1 - pi)``; any other ``q`` has
  ``pi (1 - pi) + (q - pi)**2``.
- **Log loss** ``-ln(p)`` if ``y = 1``, ``-ln(1 - p)`` if ``y = 0``, with the
  probability of what happened floored at :data:`LOG_FLOOR` (0.01), so a
  forecast of 0 for something that happens costs ``-ln 0.01 = 4.61``
  instead of infinity. The floor is the same for every forecaster (model,
  base rate, "no change").

Event-date questions ("when does X first occur?"), answered with a forecast
distribution ``F`` of the waiting time ``T`` (days from the origin), watched
for ``H`` days: the truth is either a day ``y < H`` or "not by the horizon"
(right-censored at ``H``). We score with the **censored CRPS**

    CRPS_H(F, y) = integral from 0 to H of (F(t) - 1{y <= t})**2 dt,

which uses the outcome only through ``1{y <= t}`` for ``t < H``, i.e. only
through what was observed. It is exactly the ordinary CRPS of the forecast
of the *censored* variable ``Z = min(T, H)`` (whose CDF is ``F`` below ``H``
and 1 from ``H`` on) against the observed ``z = min(y, H)``: above ``H`` both
CDFs are 1 and contribute nothing. So it is proper (the CRPS is proper for
any observable, and ``Z`` is observable), it is in days, and it lies in
``[0, H]``. (Equivalently: the threshold-weighted CRPS with weight
``1{t < H}``, Gneiting & Ranjan 2011.) For an ensemble ``z_1..z_n`` (the
simulated waiting times clipped at ``H``; "never" is ``H``) the empirical
CDF gives ``mean|z_i - z| - 1/2 mean|z_i - z_j|`` exactly; for a constant
hazard ``lam`` (the base rate) ``F(t) = 1 - exp(-lam t)`` and the integral
has the closed form in :func:`crps_exponential`; "nothing happens" is the
point mass at ``H``, scoring ``H - z``.

Intervals: :func:`bootstrap` resamples *clusters* (we use one cluster per
event kind, so the nested 3/6/12-month questions and the date question about
one event, and the same event at several origins, stay together), computes
each forecaster's mean score per draw, and reports percentile intervals of
the means and of the paired skill scores.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["LOG_FLOOR", "brier", "log_loss", "crps_ensemble", "crps_exponential",
           "crps_never", "skill", "bootstrap"]

LOG_FLOOR = 0.01


def brier(p: float | np.ndarray, y: float | np.ndarray) -> float | np.ndarray:
    """The Brier score ``(p - y)**2``."""
    return (np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2


def log_loss(p: float | np.ndarray, y: float | np.ndarray,
             floor: float = LOG_FLOOR) -> float | np.ndarray:
    """``-ln`` of the probability given to what happened, floored at ``floor``."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    q = np.where(y > 0.5, p, 1.0 - p)
    return -np.log(np.maximum(q, floor))


def crps_ensemble(samples: Sequence[float] | np.ndarray, y: float, horizon: float) -> float:
    """The censored CRPS of an ensemble of waiting times against ``y`` (``inf`` or any value
    ``>= horizon`` means "not by the horizon"); samples are clipped at ``horizon`` too.

    Equals ``integral_0^H (F_n(t) - 1{y <= t})**2 dt`` for the empirical CDF ``F_n``.
    """
    z = np.minimum(np.asarray(samples, dtype=float), horizon)
    n = z.size
    if n == 0:
        raise ValueError("an empty ensemble has no CRPS")
    obs = min(float(y), horizon)
    z = np.sort(z)
    term1 = float(np.mean(np.abs(z - obs)))
    # sum_{i,j} |z_i - z_j| = 2 sum_k (2k - n + 1) z_(k), k = 0..n-1 on sorted z
    k = np.arange(n)
    pair = 2.0 * float(np.sum((2 * k - n + 1) * z)) / (n * n)
    return max(term1 - 0.5 * pair, 0.0)


def crps_exponential(lam: float, y: float, horizon: float) -> float:
    """The censored CRPS of the waiting time of a constant hazard ``lam`` (per day).

    With ``F(t) = 1 - e^(-lam t)`` and ``z = min(y, H)``:
    ``integral_0^H F^2 dt - 2 integral_z^H F dt + (H - z)``, where
    ``integral_a^b F = (b - a) - (e^(-lam a) - e^(-lam b)) / lam`` and
    ``integral_0^H F^2 = H - 2 (1 - e^(-lam H)) / lam + (1 - e^(-2 lam H)) / (2 lam)``.
    """
    h = float(horizon)
    z = min(float(y), h)
    if lam <= 0.0:
        return h - z
    e = math.exp
    int_f2 = h - 2.0 * (1.0 - e(-lam * h)) / lam + (1.0 - e(-2.0 * lam * h)) / (2.0 * lam)
    int_f_zh = (h - z) - (e(-lam * z) - e(-lam * h)) / lam
    return max(int_f2 - 2.0 * int_f_zh + (h - z), 0.0)


def crps_never(y: float, horizon: float) -> float:
    """The censored CRPS of "it does not happen by the horizon" (a point mass at ``H``)."""
    return float(horizon) - min(float(y), float(horizon))


def skill(score: float, reference: float) -> float:
    """``1 - score / reference`` (nan when the reference scores exactly 0)."""
    if reference == 0.0:
        return math.nan
    return 1.0 - score / reference


def bootstrap(scores: Mapping[str, np.ndarray], clusters: Sequence[object], *,
              reference: Sequence[str] = (), draws: int = 2000, seed: int = 0,
              level: float = 0.95) -> dict:
    """Means and percentile intervals over a cluster bootstrap.

    ``scores`` maps each forecaster to one score per question (same order for
    all); ``clusters`` gives each question's cluster. Returns
    ``{"n": questions, "clusters": k, "mean": {f: m}, "ci": {f: (lo, hi)},
    "skill": {(f, ref): (s, lo, hi)}}`` for every forecaster ``f`` and every
    ``ref`` in ``reference`` (``f != ref``). Skill is ``1 - mean_f/mean_ref``
    on each draw, so the interval is paired (the same questions in both).
    Draws where a reference mean is 0 are left out of that skill's interval.
    """
    names = list(scores)
    if not names:
        raise ValueError("no forecasters")
    labels = list(clusters)
    n = len(labels)
    keys = list(dict.fromkeys(labels))
    index = {c: i for i, c in enumerate(keys)}
    cid = np.array([index[c] for c in labels], dtype=int)
    k = len(keys)
    counts = np.bincount(cid, minlength=k).astype(float)
    sums = {f: np.bincount(cid, weights=np.asarray(scores[f], dtype=float), minlength=k)
            for f in names}
    mean = {f: float(sums[f].sum() / counts.sum()) if n else math.nan for f in names}
    rng = np.random.default_rng(seed)
    w = rng.multinomial(k, np.full(k, 1.0 / k), size=draws).astype(float) if k else \
        np.zeros((0, 0))
    denom = w @ counts if k else np.zeros(0)
    boot = {f: (w @ sums[f]) / denom for f in names} if k else {f: np.zeros(0) for f in names}
    a = (1.0 - level) / 2.0

    def interval(x: np.ndarray) -> tuple[float, float]:
        x = x[np.isfinite(x)]
        if x.size == 0:
            return (math.nan, math.nan)
        return (float(np.quantile(x, a)), float(np.quantile(x, 1.0 - a)))

    out: dict = {"n": n, "clusters": k, "mean": mean,
                 "ci": {f: interval(boot[f]) for f in names}, "skill": {}}
    for ref in reference:
        for f in names:
            if f == ref:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                s = 1.0 - boot[f] / boot[ref]
            s[boot[ref] == 0.0] = np.nan
            lo, hi = interval(s)
            out["skill"][(f, ref)] = (skill(mean[f], mean[ref]), lo, hi)
    return out
