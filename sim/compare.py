"""Comparing runs and branches: each outcome side by side, with differences.

The first column (the first run's first branch) is the reference. For every
other column each outcome's headline value per replicate is compared with the
reference's:

- *paired* (common random numbers) when both columns were run with the same
  seed and the same number of replicates: replicate ``i`` of each used the
  same random stream, so the interval comes from the paired differences and
  is much tighter than an unpaired one;
- *unpaired* otherwise (a normal interval on the difference of means), and
  the table says so.

Headline values: ``occurs`` 0/1; ``time_to`` whether it occurred by the
horizon; ``state`` and ``count`` their values. ``first`` outcomes are shown
as shares, without a difference.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from sim import outcomes as oc


@attrs.frozen
class Column:
    run: Any
    branch: str

    @property
    def label(self) -> str:
        name = self.run.scenario.name
        return name if self.branch == name else f"{name}:{self.branch}"


def columns(runs: Sequence[Any]) -> list[tuple[Column, str]]:
    """Every (run, branch) column with a unique label (run folder names if scenarios repeat)."""
    cols = [Column(r, b) for r in runs for b in r.branch_names()]
    labels = [c.label for c in cols]
    if len(set(labels)) < len(labels):
        labels = [f"{c.run.folder.name}:{c.branch}" for c in cols]
    return list(zip(cols, labels))


def headline(spec: oc.OutcomeSpec, values: np.ndarray) -> np.ndarray | None:
    """Per-replicate values that the difference is taken on (None: no difference)."""
    if spec.measure == "time_to":
        return np.where(np.isnan(values), np.nan, np.isfinite(values).astype(float))
    if spec.measure == "first":
        return None
    return values


def unpaired_difference(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> oc.Estimate:
    """Difference of means with a normal interval (independent samples)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    d = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size) if min(a.size, b.size) > 1 \
        else math.nan
    return oc.Estimate(d, d - z * se, d + z * se, int(min(a.size, b.size)), "difference")


def difference(spec: oc.OutcomeSpec, ref: tuple[Any, str], other: tuple[Any, str],
               paired: bool) -> oc.Estimate | None:
    a = headline(spec, other[0].outcome_values(other[1])[spec.id])
    b = headline(spec, ref[0].outcome_values(ref[1])[spec.id])
    if a is None or b is None:
        return None
    if paired:
        ok = ~(np.isnan(a) | np.isnan(b))
        return oc.paired_difference(a[ok], b[ok])
    return unpaired_difference(a[~np.isnan(a)], b[~np.isnan(b)])


def _pairable(r1: Any, r2: Any) -> bool:
    return (r1.scenario.seed == r2.scenario.seed
            and r1.scenario.replicates == r2.scenario.replicates)


@attrs.frozen
class Comparison:
    """The comparison as data: a header, rows of cells, and notes."""

    header: list[str]
    rows: list[list[str]]
    notes: list[str]

    def __str__(self) -> str:
        widths = [max(len(r[i]) for r in [self.header, *self.rows])
                  for i in range(len(self.header))]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [fmt.format(*self.header), fmt.format(*["-" * w for w in widths])]
        lines += [fmt.format(*r).rstrip() for r in self.rows]
        return "\n".join(lines + [""] + self.notes)

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr" + (' class="diff"' if r[1].startswith("difference") else "") + ">"
            + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in self.rows)
        notes = "".join(f"<p class='note'>{escape(n)}</p>" for n in self.notes)
        return f"<table class='outcomes'><thead><tr>{head}</tr></thead><tbody>{body}" \
               f"</tbody></table>{notes}"


def compare_runs(runs: Sequence[Any]) -> Comparison:
    """Each outcome's estimate per column and its difference from the first column.

    ``str()`` of the result is a text table; in Jupyter it displays as HTML.
    """
    pairs = columns(runs)
    cols = [c for c, _ in pairs]
    labels = [label for _, label in pairs]
    ref = cols[0]
    specs = {s.id: s for s in ref.run.scenario.outcomes}
    notes = []
    header = ["outcome", "measure"] + labels
    rows: list[list[str]] = []
    for sid, spec in specs.items():
        present = [c for c in cols if any(s.id == sid for s in c.run.scenario.outcomes)]
        if len(present) < len(cols):
            notes.append(f"outcome '{sid}' is not defined in every run; blanks where missing")
        first_summary = ref.run.outcome_table().summary(ref.branch, sid)
        for stat, _ in first_summary.stats:
            row = [sid, stat]
            for c in cols:
                if c not in present:
                    row.append("")
                    continue
                est = c.run.outcome_table().summary(c.branch, sid)[stat]
                row.append(f"{_f(est.mean)} [{_f(est.lo)}, {_f(est.hi)}]")
            rows.append(row)
        diff_row = [sid, "difference vs " + labels[0]]
        any_diff = False
        for c in cols:
            if c is ref or c not in present:
                diff_row.append("")
                continue
            paired = _pairable(ref.run, c.run)
            d = difference(spec, (ref.run, ref.branch), (c.run, c.branch), paired)
            if d is None:
                diff_row.append("")
                continue
            any_diff = True
            diff_row.append(f"{_f(d.mean, signed=True)} [{_f(d.lo, True)}, {_f(d.hi, True)}]"
                            + ("" if paired else " (unpaired)"))
        if any_diff:
            rows.append(diff_row)
    if any(not _pairable(ref.run, c.run) for c in cols):
        notes.append("(unpaired): different seeds or replicate counts, so no common random "
                     "numbers; the interval is wider")
    else:
        notes.append("differences are paired by replicate (common random numbers): 95% "
                      "intervals from the paired differences")
    return Comparison(header, rows, notes)


def _f(x: float, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 3
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
