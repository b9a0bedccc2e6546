"""Outcome measures: projections over replicate streams, and their intervals.

This module owns what a scenario's ``outcomes:`` mean and how they are
summarised across replicates. It is pure (numpy, no I/O except
:meth:`OutcomeTable.to_csv`). Times are days since the world's ``starts``;
``fork`` and ``horizon`` are the branch's, in the same unit. Every bound is
inclusive (``t <= by``); a scenario turns a date into the last instant of that
day (:func:`sim.world.end_of_day`), so an event on the ``by:`` date counts.

Per replicate (:func:`evaluate`, one stream's events, history prefix included):

- ``occurs``  1.0 if the event's first occurrence is at or before ``by``
  (default: the horizon), else 0.0. An occurrence in the history prefix counts.
- ``time_to`` days from the fork to the event's first occurrence, censored at
  the horizon: ``max(t_first - fork, 0)`` if ``t_first <= horizon``, else
  ``inf``. An event that had already occurred before the fork gives **0.0**
  ("already true at the fork"), never a negative number, so that
  ``time_to <= x`` is exactly "occurred by fork + x" and the cumulative
  incidence at ``horizon - fork`` equals the ``occurs``-by-horizon share.
  ``by`` is ignored for this measure.
- ``state``   the variable's value at ``at`` (default: the horizon) as
  :func:`sim.state.as_of` gives it (bool -> 0.0/1.0).
- ``count``   the number of occurrences with ``time <= by`` (default: horizon).
- ``first``   the index in ``spec.events`` of the event whose first occurrence
  (by ``by``, default the horizon) is earliest; ties go to the lower index;
  -1.0 if none occurred.

Across replicates:

- probabilities get Wilson score intervals (:func:`wilson`), which keep their
  coverage near 0 and 1 where the normal (Wald) interval collapses;
- means get Student-t intervals (:meth:`Estimate.of_mean`);
- branch differences under common random numbers get a paired t interval
  (:func:`paired_difference`);
- cumulative incidence (:func:`cumulative_incidence`): the only censoring is
  administrative, at one common horizon, so every replicate is followed over
  the whole window. The Kaplan-Meier estimator then reduces exactly to the
  empirical CDF, and ``#{T <= t}`` is exactly Binomial(n, F(t)), so a
  binomial interval (Wilson) is the right one with no survival-analysis
  approximation. The bands are pointwise, not simultaneous.

>>> p, lo, hi = wilson(5, 10)
>>> round(p, 4), round(lo, 4), round(hi, 4)
(0.5, 0.2366, 0.7634)
>>> p, lo, hi = wilson(81, 263)
>>> round(lo, 4), round(hi, 4)
(0.2553, 0.3662)
"""
from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import Any

import attrs
import numpy as np

from sim.errors import did_you_mean
from sim.events import Event
from sim.safetext import csv_writer
from sim.state import State, as_of
from sim.world import World

MEASURES = ("occurs", "time_to", "state", "count", "first")


@attrs.frozen
class OutcomeSpec:
    """One outcome a scenario asks for.

    YAML forms (dates are ISO dates or ``horizon``; times here are days since
    the world's ``starts``):

    - ``{id: X, occurs: EVENT, by: DATE}``   1/0 per replicate; by defaults to the horizon
    - ``{id: X, time_to: EVENT}``            days from the fork to the first occurrence,
                                             0 if it occurred before the fork, inf if
                                             never by the horizon (see the module docs)
    - ``{id: X, state: VAR, at: DATE}``      the variable's value at that date
    - ``{id: X, count: EVENT, by: DATE}``    number of occurrences by the date
    - ``{id: X, first: [E1, E2, ...]}``      which of these occurred first (index, or -1)
    """

    id: str
    measure: str
    event: str | None = None
    events: tuple[str, ...] = ()
    var: str | None = None
    by: float | None = None
    at: float | None = None
    label: str = ""


def check(spec: OutcomeSpec, world: World) -> list[str]:
    """What is wrong with ``spec`` for ``world`` (empty if nothing), each with a hint.

    For the scenario loader, which knows the file and line to put in front.
    """
    out: list[str] = []

    def hint(word: Any, choices: Iterable[str]) -> str:
        h = did_you_mean(word, choices)
        return f" ({h})" if h else ""

    if spec.measure not in MEASURES:
        out.append(f"outcome '{spec.id}': unknown measure '{spec.measure}'"
                   + hint(spec.measure, MEASURES))
        return out
    if spec.measure == "state":
        if spec.var not in world.variables:
            out.append(f"outcome '{spec.id}': unknown state variable '{spec.var}'"
                       + hint(spec.var, world.variables))
        return out
    kinds = spec.events if spec.measure == "first" else (spec.event,)
    if spec.measure == "first" and not kinds:
        out.append(f"outcome '{spec.id}': 'first' needs a list of at least one event")
    for k in kinds:
        if k not in world.events:
            out.append(f"outcome '{spec.id}': unknown event '{k}'" + hint(k, world.events))
    return out


# --------------------------------------------------------------------------- per replicate

def _first_and_times(events: Iterable[Event], kinds: set[str]) -> tuple[dict[str, list[float]],
                                                                        bool]:
    """Occurrence times of each kind of interest (stream order), and whether the
    stream's times are non-decreasing."""
    times: dict[str, list[float]] = {k: [] for k in kinds}
    monotone = True
    last = -math.inf
    for e in events:
        t = e.time
        if t < last:
            monotone = False
        last = t
        lst = times.get(e.kind)
        if lst is not None:
            lst.append(t)
    return times, monotone


def _value(spec: OutcomeSpec, times: Mapping[str, list[float]], states: Mapping[float, dict],
           fork: float, horizon: float) -> float:
    m = spec.measure
    if m == "occurs":
        by = horizon if spec.by is None else spec.by
        ts = times[spec.event]
        return 1.0 if ts and min(ts) <= by else 0.0
    if m == "time_to":
        ts = times[spec.event]
        if not ts:
            return math.inf
        t1 = min(ts)
        if t1 > horizon:
            return math.inf
        return max(t1 - fork, 0.0)
    if m == "count":
        by = horizon if spec.by is None else spec.by
        return float(sum(1 for t in times[spec.event] if t <= by))
    if m == "first":
        by = horizon if spec.by is None else spec.by
        best, best_t = -1, math.inf
        for i, k in enumerate(spec.events):
            ts = [t for t in times[k] if t <= by]
            if ts and min(ts) < best_t:
                best, best_t = i, min(ts)
        return float(best)
    if m == "state":
        at = horizon if spec.at is None else spec.at
        return float(states[at][spec.var])
    raise ValueError(f"outcome '{spec.id}': unknown measure '{spec.measure}'"
                     + (f" ({h})" if (h := did_you_mean(spec.measure, MEASURES)) else ""))


def _states(world: World, events: Sequence[Event], ats: set[float],
            monotone: bool, start: State | None = None) -> dict[float, dict]:
    """Values as of each time in ``ats``: ``as_of(world, events, a)`` for each, in one fold
    when the stream's times are ordered. ``start``: ``State(world)``, built once by the
    caller (it is copied, never changed)."""
    if not ats:
        return {}
    if not monotone:
        return {a: as_of(world, events, a) for a in ats}
    state = State(world) if start is None else start.copy()
    dynamic = state.dynamic
    order = sorted(ats)
    out: dict[float, dict] = {}
    i = 0
    n = len(order)
    for e in events:
        t = e.time
        while i < n and t > order[i]:
            out[order[i]] = _read(state, order[i], dynamic)
            i += 1
        if dynamic:     # as State.fold
            state.advance(t)
        state.apply(e.kind)
    for a in order[i:]:
        out[a] = _read(state, a, dynamic)
    return out


def _read(state: State, at: float, dynamic: bool) -> dict:
    """The values of a fold that has reached ``at`` (as :func:`sim.state.as_of`: decaying
    variables read at ``at``), from a copy so the fold goes on unchanged."""
    if not dynamic:
        return dict(state.values)
    snap = state.copy()
    if at != math.inf:
        snap.advance(at)
    return snap.public()


def _kinds(specs: Iterable[OutcomeSpec]) -> set[str]:
    kinds: set[str] = set()
    for s in specs:
        if s.measure == "first":
            kinds.update(s.events)
        elif s.event is not None:
            kinds.add(s.event)
    return kinds


def _check_vars(specs: Iterable[OutcomeSpec], world: World) -> None:
    for s in specs:
        if s.measure == "state" and s.var not in world.variables:
            h = did_you_mean(s.var, world.variables)
            raise ValueError(f"outcome '{s.id}': unknown state variable '{s.var}'"
                             + (f" ({h})" if h else ""))


class Evaluator:
    """``evaluate_all`` with the per-branch work done once: build it once per branch,
    call it on each replicate's events (what a runner's worker should do)."""

    def __init__(self, specs: Sequence[OutcomeSpec], world: World, fork: float,
                 horizon: float):
        _check_vars(specs, world)
        self.specs = tuple(specs)
        self.world, self.fork, self.horizon = world, fork, horizon
        self.kinds = _kinds(self.specs)
        self.ats = {horizon if s.at is None else s.at for s in self.specs
                    if s.measure == "state"}
        self._start = State(world) if self.ats else None

    def __call__(self, events: Sequence[Event]) -> dict[str, float]:
        times, monotone = _first_and_times(events, self.kinds)
        states = _states(self.world, events, self.ats, monotone, self._start)
        return {s.id: _value(s, times, states, self.fork, self.horizon) for s in self.specs}

    def after(self, prefix: Sequence[Event]) -> Callable[[Sequence[Event]], dict[str, float]]:
        """``lambda events: self([*prefix, *events])`` with the prefix's share of the work
        (its occurrence times, the fold of state through it) done once: for a branch
        whose replicates all start from the same prefix (``Engine.prefix``)."""
        prefix = list(prefix)
        times0, monotone0 = _first_and_times(prefix, self.kinds)
        last0 = prefix[-1].time if prefix else -math.inf
        if not monotone0 or any(a < last0 for a in self.ats):
            return lambda events: self([*prefix, *events])
        state0 = None
        if self.ats:
            state0 = self._start.copy()
            for e in prefix:        # as _states
                if state0.dynamic:
                    state0.advance(e.time)
                state0.apply(e.kind)
        specs, world, ats, fork, horizon = self.specs, self.world, self.ats, self.fork, \
            self.horizon

        def evaluate(events: Sequence[Event]) -> dict[str, float]:
            times, monotone = _first_and_times(events, self.kinds)
            if not monotone or (events and events[0].time < last0):
                return self([*prefix, *events])
            for k, ts in times.items():
                if times0[k]:
                    times[k] = times0[k] + ts
            states = _states(world, events, ats, True, state0)
            return {s.id: _value(s, times, states, fork, horizon) for s in specs}

        return evaluate


def evaluate(spec: OutcomeSpec, events: Sequence[Event], world: World, fork: float,
             horizon: float) -> float:
    """The value of one outcome in one replicate's stream (see the module docs)."""
    return Evaluator((spec,), world, fork, horizon)(events)[spec.id]


def evaluate_all(specs: Sequence[OutcomeSpec], events: Sequence[Event], world: World,
                 fork: float, horizon: float) -> dict[str, float]:
    """Every outcome's value in one replicate, in one pass over the events
    (plus one fold of state when a ``state`` outcome is asked for)."""
    return Evaluator(specs, world, fork, horizon)(events)


def first_time(events: Iterable[Event], kind: str) -> float:
    """Time of the first event of ``kind`` (np.inf if none)."""
    return min((e.time for e in events if e.kind == kind), default=math.inf)


# --------------------------------------------------------------------------- intervals

def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(k: Any, n: Any, z: float = 1.96) -> tuple[Any, Any, Any]:
    """Wilson score interval for ``k`` successes in ``n`` trials: ``(p, lo, hi)``.

    Works on scalars (returns floats) and on numpy arrays (elementwise).
    ``n == 0`` gives ``(nan, 0.0, 1.0)``: nothing is known. ``k == 0`` gives
    ``lo == 0`` exactly and ``k == n`` gives ``hi == 1`` exactly.
    """
    k_arr = np.asarray(k, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    if np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_arr / n_arr
        z2 = z * z
        denom = 1.0 + z2 / n_arr
        center = (p + z2 / (2 * n_arr)) / denom
        half = z * np.sqrt(p * (1 - p) / n_arr + z2 / (4 * n_arr * n_arr)) / denom
        lo = np.where(k_arr == 0, 0.0, np.clip(center - half, 0.0, 1.0))
        hi = np.where(k_arr == n_arr, 1.0, np.clip(center + half, 0.0, 1.0))
    empty = n_arr == 0
    lo = np.where(empty, 0.0, lo)
    hi = np.where(empty, 1.0, hi)
    p = np.where(empty, np.nan, p)
    if np.ndim(p) == 0:
        return float(p), float(lo), float(hi)
    return p, lo, hi


@lru_cache(maxsize=256)
def t_quantile(q: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (scipy.special.stdtrit,
    the same function scipy.stats.t.ppf calls, without importing all of scipy.stats).

    >>> round(t_quantile(0.975, 9), 4)
    2.2622
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"t_quantile: q must be in (0, 1), got {q}")
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


@attrs.frozen(repr=False)
class Estimate:
    """A point estimate with an interval: ``mean`` in [``lo``, ``hi``] from ``n`` replicates.

    ``kind`` is "probability" (Wilson), "mean" (t), "difference" (paired t) or
    "median" (distribution-free order-statistic interval).
    """

    mean: float
    lo: float
    hi: float
    n: int
    kind: str = "mean"

    @property
    def halfwidth(self) -> float:
        return (self.hi - self.lo) / 2

    @classmethod
    def proportion(cls, k: int, n: int, level: float = 0.95) -> Estimate:
        p, lo, hi = wilson(k, n, _z(level))
        return cls(p, lo, hi, int(n), "probability")

    @classmethod
    def of_mean(cls, values: Any, level: float = 0.95, kind: str = "mean") -> Estimate:
        """Mean with a Student-t interval (nan interval for fewer than 2 values)."""
        x = np.asarray(values, dtype=float)
        n = x.size
        if n == 0:
            return cls(math.nan, math.nan, math.nan, 0, kind)
        if not np.all(np.isfinite(x)):
            raise ValueError("a mean needs finite values (time_to outcomes are inf when "
                             "censored: summarise them with summarize())")
        m = float(x.mean())
        if n < 2:
            return cls(m, math.nan, math.nan, 1, kind)
        se = float(x.std(ddof=1)) / math.sqrt(n)
        h = t_quantile(0.5 + level / 2, n - 1) * se
        return cls(m, m - h, m + h, n, kind)

    def __str__(self) -> str:
        return f"{_fmt(self.mean)} {fmt_interval(self.lo, self.hi)} (n={self.n})"

    def __repr__(self) -> str:  # what Jupyter shows: rounded, with what it is
        return (f"Estimate({self.kind} {_fmt(self.mean)}, 95% interval "
                f"{fmt_interval(self.lo, self.hi)}, n={self.n})")


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def nonzero_decimals(x: float, decimals: int, most: int = 12) -> int:
    """``decimals``, or more (up to ``most``) until ``x`` does not print as 0 or -0 with
    ``f"{x:.{d}f}"`` (0 and non-finite ``x``: ``decimals``).

    >>> nonzero_decimals(-0.00004, 1), nonzero_decimals(0.25, 1), nonzero_decimals(0.0, 3)
    (5, 1, 3)
    """
    d = decimals
    if x == 0 or not math.isfinite(x):
        return d
    while d < most and float(f"{abs(x):.{d}f}") == 0:
        d += 1
    return d


def excludes_zero(lo: float, hi: float) -> bool:
    return bool(lo > 0 or hi < 0)


def fmt_interval(lo: float, hi: float) -> str:
    """``[lo, hi]`` with :func:`_fmt`'s digits; an interval that excludes 0 never shows an
    end as 0 or -0 (that end gets the digits it needs).

    >>> fmt_interval(0.00018, 0.0056), fmt_interval(0.0, 0.0095), fmt_interval(-4.0, -0.0004)
    ('[0.0002, 0.006]', '[0.000, 0.009]', '[-4.000, -0.0004]')
    """
    def end(x: float) -> str:
        text = _fmt(x)
        if excludes_zero(lo, hi) and abs(x) < 1 and float(text) == 0:
            return f"{x:.{nonzero_decimals(x, 3)}f}"
        return text

    return f"[{end(lo)}, {end(hi)}]"


def cumulative_incidence(times: Any, grid: Any, horizon: float,
                         z: float = 1.96) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of replicates whose event time is ``<= t`` for each ``t`` in ``grid``,
    with pointwise Wilson intervals: ``(p, lo, hi)`` arrays shaped like ``grid``.

    ``times`` use np.inf for "never by the horizon" (as ``time_to`` gives them);
    ``horizon`` is in the same unit (for ``time_to``: horizon - fork). Points of
    the grid beyond the horizon are unknown (censored): nan.
    """
    t = np.sort(np.asarray(times, dtype=float))
    g = np.asarray(grid, dtype=float)
    n = t.size
    k = np.searchsorted(t, g, side="right")
    p, lo, hi = wilson(k, np.full(k.shape, n), z)
    p, lo, hi = (np.atleast_1d(np.asarray(a, dtype=float)).reshape(g.shape).copy()
                 for a in (p, lo, hi))
    beyond = g > horizon
    for a in (p, lo, hi):
        a[beyond] = np.nan
    return p, lo, hi


def cumulative_grid(start: float, horizon: float, points: int = 600) -> np.ndarray:
    """About ``points`` times from ``start`` to the horizon, at least a day apart, ending
    exactly at ``horizon`` (the end of the horizon date), so a cumulative curve's last
    value is the share that occurred by the horizon."""
    step = max(1.0, (horizon - start) / points)
    grid = np.arange(float(start), float(horizon), step)
    return np.append(grid, float(horizon))


def median_interval(values: Any, level: float = 0.95) -> Estimate:
    """Sample median with a distribution-free interval from order statistics
    (ranks from the normal approximation to Binomial(m, 1/2))."""
    x = np.sort(np.asarray(values, dtype=float))
    m = x.size
    if m == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, "median")
    z = _z(level)
    j = math.floor(m / 2 - z * math.sqrt(m) / 2)      # 1-based ranks
    k = math.ceil(1 + m / 2 + z * math.sqrt(m) / 2)
    lo = float(x[j - 1]) if j >= 1 else -math.inf
    hi = float(x[k - 1]) if k <= m else math.inf
    return Estimate(float(np.median(x)), lo, hi, m, "median")


def paired_difference(a: Any, b: Any, level: float = 0.95) -> Estimate:
    """Mean of ``a - b`` over replicates paired by index (common random numbers),
    with a t interval from the paired differences' standard deviation."""
    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.shape != xb.shape:
        raise ValueError(f"paired_difference: the branches have {xa.size} and {xb.size} "
                         "replicates; pairing needs the same replicates in both")
    d = xa - xb
    if not np.all(np.isfinite(d)):
        raise ValueError("paired_difference needs finite values (for time_to outcomes "
                         "compare np.isfinite(values) or a capped time)")
    return Estimate.of_mean(d, level, kind="difference")


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0.0) | (x == 1.0)))


def halfwidth_curve(values: Any, ns: Any, level: float = 0.95) -> np.ndarray:
    """Interval half-width using the first ``n`` replicates, for each ``n`` in ``ns``:
    "are there enough replicates?". 0/1 values use Wilson; others the t interval;
    values with inf (censored time_to) use the share that occurred by the horizon."""
    x = np.asarray(values, dtype=float)
    nn = np.asarray(ns, dtype=int)
    if nn.size and (nn.min() < 1 or nn.max() > x.size):
        raise ValueError(f"halfwidth_curve: each n must be in 1..{x.size}")
    if np.any(np.isinf(x)):
        x = np.isfinite(x).astype(float)
    z = _z(level)
    if _is_binary(x):
        k = np.concatenate([[0.0], np.cumsum(x)])[nn]
        _, lo, hi = wilson(k, nn.astype(float), z)
        return (np.asarray(hi) - np.asarray(lo)) / 2
    c = x - x.mean()                                      # centred for stable sums
    s1 = np.concatenate([[0.0], np.cumsum(c)])[nn]
    s2 = np.concatenate([[0.0], np.cumsum(c * c)])[nn]
    out = np.full(nn.shape, np.nan)
    ok = nn >= 2
    var = (s2[ok] - s1[ok] ** 2 / nn[ok]) / (nn[ok] - 1)
    tq = np.array([t_quantile(0.5 + level / 2, int(n) - 1) for n in nn[ok]])
    out[ok] = tq * np.sqrt(np.maximum(var, 0.0) / nn[ok])
    return out


# --------------------------------------------------------------------------- summaries

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@attrs.frozen(repr=False)
class Summary:
    """One outcome summarised over a branch's replicates.

    ``stats`` are named estimates in table order, e.g. ``("probability", Estimate)``;
    ``main`` is the first. ``quantiles`` (time_to only) are days from the fork
    among replicates where the event occurred.
    """

    spec: OutcomeSpec
    n: int
    stats: tuple[tuple[str, Estimate], ...]
    quantiles: Mapping[float, float] = attrs.field(factory=dict, hash=False)
    # stat -> sim.paramspread.Spread, for a branch that draws `uncertain:` parameters
    spreads: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    @property
    def main(self) -> Estimate:
        return self.stats[0][1]

    def __repr__(self) -> str:
        stats = "; ".join(f"{k} {_fmt(e.mean)} {fmt_interval(e.lo, e.hi)}"
                          for k, e in self.stats)
        return f"Summary({self.spec.id}: {stats}; n={self.n})"

    def __getitem__(self, name: str) -> Estimate:
        for k, e in self.stats:
            if k == name:
                return e
        raise KeyError(f"{name!r}; this summary has: {', '.join(k for k, _ in self.stats)}")


def summarize(spec: OutcomeSpec, values: Any, level: float = 0.95,
              var_type: str | None = None) -> Summary:
    """Summarise one outcome's per-replicate values.

    occurs -> "probability"; time_to -> "probability_by_horizon" and
    "median_days_if_occurs" (+ quantiles); state -> "share" if every value is
    0/1 (Wilson) else "mean" (t) -- pass ``var_type`` (the variable's declared
    type) so a bool is a share and a number a mean whatever values occurred; count -> "mean";
    first -> "first:<event>" for each event then "first:none" (Wilson shares).
    """
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    m = spec.measure
    prop = Estimate.proportion
    if m == "occurs":
        return Summary(spec, n, (("probability", prop(int(np.sum(x == 1.0)), n, level)),))
    if m == "time_to":
        hit = x[np.isfinite(x)]
        q = {qq: float(np.quantile(hit, qq)) for qq in QUANTILES} if hit.size else {}
        return Summary(spec, n, (("probability_by_horizon", prop(hit.size, n, level)),
                                 ("median_days_if_occurs", median_interval(hit, level))), q)
    if m == "state":
        binary = var_type == "bool" if var_type is not None else bool(n and _is_binary(x))
        if binary:
            return Summary(spec, n, (("share", prop(int(x.sum()), n, level)),))
        return Summary(spec, n, (("mean", Estimate.of_mean(x, level)),))
    if m == "count":
        return Summary(spec, n, (("mean", Estimate.of_mean(x, level)),))
    if m == "first":
        stats = tuple((f"first:{ev}", prop(int(np.sum(x == i)), n, level))
                      for i, ev in enumerate(spec.events))
        return Summary(spec, n, stats + (("first:none", prop(int(np.sum(x == -1)), n, level)),))
    raise ValueError(f"outcome '{spec.id}': unknown measure '{m}'")


COLUMNS = ("branch", "outcome", "label", "measure", "estimate", "lo", "hi", "n")
# added to COLUMNS when a branch draws `uncertain:` parameters (sim.paramspread):
# the 5% and 95% points of P(outcome | parameters) over the draws, and why not when n/a
PARAM_COLUMNS = ("param_q05", "param_q95", "param_note")
FAILED_ROW = "(failed replicates)"   # the outcome name of the row counting failed replicates
LABEL_WIDTH = 40          # the text table shortens labels to this; CSV and HTML keep them whole


class OutcomeTable:
    """Per-branch outcome summaries: CSV, text, HTML (Jupyter) and pandas.

    One row per branch x outcome x statistic (most outcomes have one statistic;
    time_to has two; first has one per event plus "none"). Each row carries the
    outcome's ``label`` next to its id.
    """

    def __init__(self, summaries: Mapping[str, Sequence[Summary]],
                 failed: Mapping[str, tuple[int, int]] | None = None,
                 invariants: Mapping[str, Any] | None = None):
        self.summaries: dict[str, tuple[Summary, ...]] = {b: tuple(s)
                                                          for b, s in summaries.items()}
        # branch -> (failed replicates, replicates): shown as a row when any failed
        self.failed = {b: (int(k), int(n)) for b, (k, n) in (failed or {}).items() if k}
        # branch -> sim.invariants.Tally (branches whose world declares invariants)
        self.invariants = dict(invariants or {})
        self.param_note = ""   # what the parameter-uncertainty column is (sim.paramspread)

    @classmethod
    def from_values(cls, specs: Sequence[OutcomeSpec],
                    values: Mapping[str, Mapping[str, Any]],
                    level: float = 0.95,
                    var_types: Mapping[str, str] | None = None,
                    failed: Mapping[str, tuple[int, int]] | None = None,
                    invariants: Mapping[str, Any] | None = None) -> OutcomeTable:
        """``values``: branch -> outcome id -> per-replicate array (as ``run.outcome_values``);
        ``var_types``: state variable -> declared type ("bool", "int", "float");
        ``failed``: branch -> (replicates that failed, replicates run);
        ``invariants``: branch -> :class:`sim.invariants.Tally`."""
        vt = var_types or {}
        return cls({b: [summarize(s, v[s.id], level, vt.get(s.var) if s.var else None)
                        for s in specs if s.id in v]
                    for b, v in values.items()}, failed, invariants)

    @classmethod
    def from_run(cls, run: Any, level: float = 0.95) -> OutcomeTable:
        world = run.world() if hasattr(run, "world") else None
        types = {v.name: v.type for v in world.variables.values()} if world else None
        return cls.from_values(run.scenario.outcomes,
                               {b: run.outcome_values(b) for b in run.branch_names()}, level,
                               types)

    def summary(self, branch: str, outcome: str) -> Summary:
        if branch not in self.summaries:
            raise KeyError(f"no branch {branch!r}; {did_you_mean(branch, self.summaries)}")
        for s in self.summaries[branch]:
            if s.spec.id == outcome:
                return s
        raise KeyError(f"no outcome {outcome!r} in branch {branch!r}; "
                       f"{did_you_mean(outcome, [s.spec.id for s in self.summaries[branch]])}")

    @property
    def drawn(self) -> bool:
        """Whether any branch carries parameter-uncertainty intervals."""
        return any(s.spreads for sums in self.summaries.values() for s in sums)

    def rows(self) -> list[dict[str, Any]]:
        out = []
        drawn = self.drawn
        for b, sums in self.summaries.items():
            for s in sums:
                for stat, e in s.stats:
                    out.append({"branch": b, "outcome": s.spec.id, "label": s.spec.label,
                                "measure": stat,
                                "estimate": e.mean, "lo": e.lo, "hi": e.hi, "n": e.n})
                    if drawn:
                        out[-1]["spread"] = s.spreads.get(stat)
            if b in self.failed:   # the share of replicates that failed, with its interval
                k, n = self.failed[b]
                e = Estimate.proportion(k, n)
                out.append({"branch": b, "outcome": FAILED_ROW, "label": "", "measure": "share",
                            "estimate": e.mean, "lo": e.lo, "hi": e.hi, "n": e.n})
                if drawn:
                    out[-1]["spread"] = None
            if b in self.invariants:   # replicates that broke the world's invariants
                from sim.invariants import table_rows

                inv = table_rows(self.invariants[b])
                if drawn:
                    for r in inv:
                        r["spread"] = None
                out += inv
        return out

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        drawn = self.drawn
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv_writer(f)
            w.writerow(COLUMNS + PARAM_COLUMNS if drawn else COLUMNS)
            for r in self.rows():
                w.writerow([r["branch"], r["outcome"], r["label"], r["measure"],
                            *(format(r[c], ".10g") for c in ("estimate", "lo", "hi")), r["n"]]
                           + (_spread_csv(r["spread"]) if drawn else []))
        return path

    def _cells(self, short: bool = False) -> list[list[str]]:
        def label(text: str) -> str:
            if short and len(text) > LABEL_WIDTH:
                return text[:LABEL_WIDTH - 3].rstrip() + "..."
            return text

        from sim.invariants import is_quiet

        return [[r["branch"], r["outcome"], label(r["label"]), r["measure"],
                 _fmt(r["estimate"]), fmt_interval(r["lo"], r["hi"]), str(r["n"])]
                + ([_spread_cell(r["spread"])] if "spread" in r else [])
                for r in self.rows() if not is_quiet(r, self.invariants)]

    def _head(self) -> list[str]:
        if self.drawn:   # runs with drawn parameters: which interval is which
            return ["branch", "outcome", "label", "measure", "estimate", "95% MC interval",
                    "n", "90% over parameters"]
        return ["branch", "outcome", "label", "measure", "estimate", "95% interval", "n"]

    def __str__(self) -> str:
        head = self._head()
        cells = self._cells(short=True)
        widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(head)]
        right = {4, 5, 6}

        def line(cs: Sequence[str]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cs, widths))).rstrip()

        notes = [f"{b}: {k} of {n} replicates failed ({k / n:.1%}); the estimates above "
                 "leave them out" for b, (k, n) in self.failed.items()]
        notes += [self.param_note] if self.param_note else []
        inv = self._invariant_notes()
        notes += [""] + inv if inv else []
        return "\n".join([line(head), line(["-" * w for w in widths])]
                          + [line(c) for c in cells] + notes)

    def __repr__(self) -> str:
        return f"<OutcomeTable: {len(self.summaries)} branches>\n{self}"

    def _repr_html_(self) -> str:
        head = self._head()
        th = "".join(f"<th>{h}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cs) + "</tr>"
                       for cs in self._cells())
        notes = "".join(f"<p class='note'>{html.escape(n)}</p>"
                        for n in self._invariant_notes(width=10_000))
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>{notes}"

    def _invariant_notes(self, width: int = 80) -> list[str]:
        from sim.invariants import table_notes

        return table_notes(self.invariants, width)

    def to_pandas(self) -> Any:
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError("OutcomeTable.to_pandas needs pandas, which is not installed "
                              "(pip install pandas); use to_csv() or rows() instead") from err
        if self.drawn:
            rows = [{**{k: v for k, v in r.items() if k != "spread"},
                     **dict(zip(PARAM_COLUMNS, _spread_values(r["spread"])))}
                    for r in self.rows()]
            return pd.DataFrame(rows, columns=list(COLUMNS + PARAM_COLUMNS))
        return pd.DataFrame(self.rows(), columns=list(COLUMNS))


def _spread_values(sp: Any) -> tuple[float, float, str]:
    """(param_q05, param_q95, param_note) of a row's parameter spread."""
    if sp is None:
        return (math.nan, math.nan, "no parameters drawn")
    return (sp.lo, sp.hi, sp.note)


def _spread_csv(sp: Any) -> list[str]:
    lo, hi, why = _spread_values(sp)
    return [format(lo, ".10g"), format(hi, ".10g"), why]


def _spread_cell(sp: Any) -> str:
    if sp is None:
        return ""
    return sp.cell()


# --------------------------------------------------------------------------- outcome tree

def first_sequence(events: Iterable[Event], kinds: Sequence[str],
                   by: float = math.inf) -> tuple[str, ...]:
    """The kinds among ``kinds`` that occurred by ``by``, in order of first occurrence
    (ties: the order of ``kinds``)."""
    first: dict[str, float] = {}
    wanted = set(kinds)
    for e in events:
        if e.kind in wanted and e.time <= by and e.kind not in first:
            first[e.kind] = e.time
    rank = {k: i for i, k in enumerate(kinds)}
    return tuple(sorted(first, key=lambda k: (first[k], rank[k])))


def first_of_tree_times(times: Mapping[str, Any], kinds: Sequence[str],
                        by: float = math.inf) -> dict[tuple[str, ...], float]:
    """:func:`first_of_tree` from each kind's per-replicate first time (``inf`` when it
    did not occur; arrays of equal length), without reading any event: the same shares,
    in the same order, computed with numpy over all replicates at once."""
    kinds = list(kinds)
    if not kinds:
        return {}
    t = np.column_stack([np.asarray(times[k], dtype=float) for k in kinds])
    n = t.shape[0]
    if n == 0:
        return {}
    t = np.where(t <= by, t, np.inf)
    order = np.argsort(t, axis=1, kind="stable")      # ties: the order of ``kinds``
    seq = np.where(np.isfinite(np.take_along_axis(t, order, axis=1)), order, -1)
    rows, counts = np.unique(seq, axis=0, return_counts=True)
    shares = {tuple(kinds[j] for j in row if j >= 0): int(c) / n
              for row, c in zip(rows, counts)}
    return dict(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))


def first_of_tree(streams: Iterable[Iterable[Event]], kinds: Sequence[str],
                  by: float = math.inf) -> dict[tuple[str, ...], float]:
    """Share of replicates with each sequence (order of first occurrence) of ``kinds``,
    the data of an outcome-tree figure; ``()`` is "none of them". Sorted by share,
    largest first (ties by sequence)."""
    counts = Counter(first_sequence(s, kinds, by) for s in streams)
    n = sum(counts.values())
    if n == 0:
        return {}
    return {seq: c / n for seq, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
