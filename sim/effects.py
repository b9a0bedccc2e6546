"""Effects: each branch of a run against its own control, for the report and the figures.

This module owns what the report's summary and the comparison figures show:

- :func:`pairs` -- every (branch, control) pair of a run, the control being the
  base branch of the branch's own scenario file;
- :func:`differences` -- one row per outcome statistic, "branch minus control",
  with a 95% interval (``.estimate``), whether it is ``clear`` (the interval
  excludes 0) and its unit (``kind``: "probability", "days" or "mean");
- :func:`cumulative_difference` -- the paired difference of P(event by t)
  between a branch and its control over a grid of days, with a pointwise band;
- :func:`summary` -- the clear differences of a pair in plain words, largest first.

It is a thin adapter over :mod:`sim.compare`: when that module provides the
comparison API (``Side``, ``differences``, ``cumulative_difference``), those
are used, so every number here is the one ``sim compare`` prints. Otherwise
the local functions below give the same quantities for branches of one run
(paired by replicate under common random numbers): ``occurs`` and ``first``
as probabilities, ``time_to`` as the restricted mean time to the event up to
the horizon in days (never by the horizon counts as the whole window),
``state`` and ``count`` as means.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from sim import compare as _compare
from sim import outcomes as oc

#: the comparison API of sim.compare, when present (see the module docs)
_API = all(hasattr(_compare, n) for n in ("Side", "differences", "cumulative_difference"))
#: whether branches of different runs can be compared (only through sim.compare's pairing)
CROSS_RUN = _API


@attrs.frozen
class _Side:
    run: Any
    branch: str

    @property
    def label(self) -> str:
        name = self.run.scenario.name
        return name if self.branch == name else f"{name}:{self.branch}"


def side(run: Any, branch: str) -> Any:
    """One branch of one run (``compare.Side`` when it exists)."""
    return _compare.Side(run, branch) if _API else _Side(run, branch)


def control_of(run: Any, branch: str) -> str | None:
    """The control of ``branch``: its scenario's base branch (None for the base itself,
    or when the run has no base, e.g. a sweep with ``base: false``)."""
    if hasattr(_compare, "control_of"):
        return _compare.control_of(run, branch)
    names = list(run.branch_names())
    base = names[0] if names and names[0] == run.scenario.name else None
    return None if base is None or branch == base else base


def is_paired(branch: Any, control: Any) -> bool:
    """Whether the two sides share their random numbers replicate by replicate (so their
    differences are paired): ``compare.pairing`` when it exists, else: the same run."""
    if hasattr(_compare, "pairing"):
        return bool(_compare.pairing(branch, control).paired)
    return branch.run is control.run


def pairs(run: Any) -> list[tuple[Any, Any]]:
    """(branch, control) sides for every branch of ``run`` that has a control."""
    out = []
    for b in run.branch_names():
        c = control_of(run, b)
        if c is not None:
            out.append((side(run, b), side(run, c)))
    return out


def cross_pairs(runs: Sequence[Any]) -> list[tuple[Any, Any]]:
    """(control of a later run, control of the first run) for each later run that has no
    branch with a control of its own (as ``sim compare`` compares them), when branches of
    different runs can be compared at all (:data:`CROSS_RUN`)."""
    if not CROSS_RUN or not runs:
        return []
    first = runs[0]
    out = []
    for r in runs[1:]:
        if r is first or pairs(r):
            continue
        out.append((side(r, r.branch_names()[0]), side(first, first.branch_names()[0])))
    return out


#: the error sim.compare raises for two runs it refuses to compare (another fork or horizon)
REFUSED = getattr(_compare, "NotComparable", ())


@attrs.frozen
class Difference:
    """One outcome statistic, branch minus control (the fields of ``compare.Difference``)."""

    outcome: str
    label: str
    measure: str
    stat: str
    kind: str                 # "probability" | "days" | "mean"
    branch: str
    control: str
    estimate: oc.Estimate
    paired: bool = True
    note: str = ""

    @property
    def clear(self) -> bool:
        e = self.estimate
        return bool(e.lo > 0 or e.hi < 0)

    @property
    def direction(self) -> str:
        if not self.clear:
            return "cannot tell apart"
        if self.kind == "days":
            return "later" if self.estimate.mean > 0 else "sooner"
        return "higher" if self.estimate.mean > 0 else "lower"


def _local_differences(branch: Any, control: Any) -> list[Difference]:
    if branch.run is not control.run:
        raise ValueError("without sim.compare's comparison API, effects are computed "
                         "within one run only")
    run = branch.run
    sc = run.scenario
    window = float(sc.horizon - sc.fork)
    vb, vc = run.outcome_values(branch.branch), run.outcome_values(control.branch)
    out = []
    for spec in sc.outcomes:
        if spec.id not in vb or spec.id not in vc:
            continue
        a, b = np.asarray(vb[spec.id], dtype=float), np.asarray(vc[spec.id], dtype=float)
        ok = ~(np.isnan(a) | np.isnan(b))              # a failed replicate is NaN
        a, b = a[ok], b[ok]
        rows: list[tuple[str, str, np.ndarray, np.ndarray]] = []
        if spec.measure == "occurs":
            rows.append(("probability", "probability", a, b))
        elif spec.measure == "time_to":
            rows.append(("restricted_mean_days", "days", np.minimum(a, window),
                         np.minimum(b, window)))
        elif spec.measure in ("state", "count"):
            rows.append(("mean", "mean", a, b))
        elif spec.measure == "first":
            for i, k in enumerate(spec.events):
                rows.append((f"first:{k}", "probability", (a == i) * 1.0, (b == i) * 1.0))
            rows.append(("first:none", "probability", (a == -1) * 1.0, (b == -1) * 1.0))
        for stat, kind, x, y in rows:
            if x.size < 2:
                continue
            out.append(Difference(spec.id, spec.label or "", spec.measure, stat, kind,
                                  branch.label, control.label, oc.paired_difference(x, y)))
    return out


def differences(branch: Any, control: Any) -> list[Any]:
    """Every outcome's difference, branch minus control, in the scenario's outcome order."""
    if _API:
        return list(_compare.differences(branch, control))
    return _local_differences(branch, control)


def _local_cumulative_difference(branch: Any, control: Any, kind: str, grid: Any,
                                 level: float = 0.95) -> tuple[np.ndarray, ...]:
    if branch.run is not control.run:
        raise ValueError("without sim.compare's comparison API, effects are computed "
                         "within one run only")
    run = branch.run
    tb = np.asarray(run.first_times(branch.branch, kind), dtype=float)
    tc = np.asarray(run.first_times(control.branch, kind), dtype=float)
    g = np.asarray(grid, dtype=float)
    n = tb.size
    # d_i(t) = 1[tb_i <= t] - 1[tc_i <= t]; its mean is Fb - Fc and its mean square is
    # P(exactly one by t) = Fb + Fc - 2 P(both by t), so no n x grid matrix is needed
    fb = np.searchsorted(np.sort(tb), g, side="right") / n
    fc = np.searchsorted(np.sort(tc), g, side="right") / n
    both = np.searchsorted(np.sort(np.maximum(tb, tc)), g, side="right") / n
    d = fb - fc
    if n > 1:
        var = np.maximum(fb + fc - 2 * both - d * d, 0.0) * n / (n - 1)
        h = oc.t_quantile(0.5 + level / 2, n - 1) * np.sqrt(var / n)
    else:
        h = np.full(g.shape, np.nan)
    lo, hi = d - h, d + h
    beyond = g > float(run.scenario.horizon)
    for arr in (d, lo, hi):
        arr[beyond] = np.nan
    return d, lo, hi


def cumulative_difference(branch: Any, control: Any, kind: str, grid: Any,
                          level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired difference of P(first ``kind`` at or before t), branch minus control, over
    ``grid`` (days since the world's starts), with a pointwise interval: ``(d, lo, hi)``."""
    if _API:
        return _compare.cumulative_difference(branch, control, kind, grid, level)
    return _local_cumulative_difference(branch, control, kind, grid, level)


# --------------------------------------------------------------------------- plain words

_KIND_ORDER = {"probability": 0, "days": 1, "mean": 2}


def _name(d: Any) -> str:
    stat = d.stat
    what = d.label or d.outcome
    if stat.startswith("first:"):
        k = stat.split(":", 1)[1]
        return f"{'none' if k == 'none' else k} first ({what})"
    return what


def _num(x: float, kind: str, decimals: int | None = None) -> str:
    if kind == "probability":
        return f"{abs(x) * 100:.{1 if decimals is None else decimals}f}"
    if kind == "days":
        return f"{abs(x):.{0 if decimals is None else decimals}f}"
    return f"{abs(x):.3g}"


def words(d: Any) -> str:
    """A clear difference in plain words, e.g. "CAATSA sanctions by the horizon: 19.0
    percentage points less likely (95% interval 13.0 to 25.0)"."""
    e = d.estimate
    if not d.clear:
        return (f"{_name(d)}: cannot tell apart (95% interval {e.lo:+.3g} to {e.hi:+.3g}"
                f"{' days' if d.kind == 'days' else ''}){_over_parameters(d)}")
    up = e.mean > 0
    lo, hi = sorted((abs(e.lo), abs(e.hi)))
    if d.kind == "probability":
        change = f"{_num(e.mean, d.kind)} percentage points {'more' if up else 'less'} likely"
    elif d.kind == "days":
        change = (f"{_num(e.mean, d.kind)} days {'later' if up else 'sooner'} on average "
                  f"(restricted mean time to the event up to the horizon)")
    else:
        change = f"{'higher' if up else 'lower'} by {_num(e.mean, d.kind)} on average"
    unit = " days" if d.kind == "days" else ""
    # enough decimals that the end nearest 0 of this interval (which excludes 0) is not 0
    dec = oc.nonzero_decimals(lo * (100 if d.kind == "probability" else 1),
                              1 if d.kind == "probability" else 0)
    interval = f"95% interval {_num(lo, d.kind, dec)} to {_num(hi, d.kind, dec)}{unit}"
    if not getattr(d, "paired", True):
        interval += ", unpaired"
    return f"{_name(d)}: {change} ({interval}){_over_parameters(d)}"


def _over_parameters(d: Any) -> str:
    """'; over the drawn parameters ...' for a difference of runs that draw `uncertain:`
    parameters (the 90% spread of the per-draw difference, sim.paramspread), else ''."""
    sp = getattr(d, "spread", None)
    if sp is None:
        return ""
    if sp.cell().startswith("n/a"):   # no interval, or none left once noise is removed
        return f"; over the drawn parameters: {sp.cell()}"
    if d.kind == "probability":
        ends, unit = [f"{x * 100:+.1f}" for x in (sp.lo, sp.hi)], " percentage points"
    elif d.kind == "days":
        ends, unit = [f"{x:+.0f}" for x in (sp.lo, sp.hi)], " days"
    else:
        ends, unit = [f"{x:+.3g}" for x in (sp.lo, sp.hi)], ""
    tail = " (within noise)" if sp.within_noise else ""
    return f"; over the drawn parameters, 90% of draws give {ends[0]} to {ends[1]}{unit}{tail}"


def clear_first(diffs: Sequence[Any]) -> list[Any]:
    """The differences whose interval excludes 0, probabilities first, then days, then
    other means; largest first within each."""
    clear = [d for d in diffs if d.clear and not math.isnan(d.estimate.mean)]
    return sorted(clear, key=lambda d: (_KIND_ORDER.get(d.kind, 3), -abs(d.estimate.mean)))


#: at most this many lines of each kind in a summary
SUMMARY_LIMITS = {"probability": 6, "days": 3, "mean": 3}


def summary(branch: Any, control: Any) -> tuple[list[str], int, int]:
    """(plain-words lines of the clear differences, largest first, at most
    ``SUMMARY_LIMITS`` of each kind; how many were clear; how many differences in all)."""
    diffs = differences(branch, control)
    clear = clear_first(diffs)
    shown: list[str] = []
    used: dict[str, int] = {}
    for d in clear:
        used[d.kind] = used.get(d.kind, 0) + 1
        if used[d.kind] <= SUMMARY_LIMITS.get(d.kind, 3):
            shown.append(words(d))
    return shown, len(clear), len(diffs)
