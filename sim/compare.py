"""Comparing branches and runs: each outcome side by side, and each branch against its control.

This module owns what a comparison means. A *column* is one branch of one run.
By default every counterfactual branch is compared with the **control of its
own scenario file** (the file's base branch, named after the scenario); a run
that has only its control is compared with the first run's first column when
the two are comparable. ``against=`` compares every column with one column.

Two columns are **paired** (common random numbers: replicate ``i`` of both drew
from the same random streams, so the interval comes from the per-replicate
differences and is usually much tighter) when they are branches of the same run,
or, across runs, when the world (its name and start date), the history before
the fork (the digest of the branch's history prefix), the fork, the horizon, the
seed and the replicate count all agree. A world whose rules or parameters
differ is allowed: that is the change being compared, as a branch's ``set:``
changes them. Otherwise the comparison is **unpaired** (a normal interval on the
difference of two independent means) and says why, on screen, in the CSV and in
the report. Columns with a different fork or horizon are **not compared**: their
outcomes are measured over different periods, so their difference is not the
effect of any change (:class:`NotComparable` names what differs).

Differences, ``branch - control``, per outcome (:func:`differences`):

- ``occurs``: the difference in probability;
- ``time_to``: in days, the difference in **restricted mean time to the event**
  within the window from the fork to the end of the horizon date: each
  replicate contributes ``min(time_to, window)`` (0 if the event had happened
  before the fork, the whole window if it did not happen by the horizon), so
  no replicate is dropped and the censoring is the same in both columns;
- ``state``: the difference in share (bool) or mean (numbers);
- ``count``: the difference in mean count;
- ``first``: for each listed event, the difference in the share of replicates
  where it came first, and for "none of them".

A difference whose 95% interval includes zero is "cannot tell apart", never a
direction (:attr:`Difference.direction`).
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from sim import invariants
from sim import outcomes as oc
from sim.errors import InputError, Problem
from sim.safetext import csv_writer

CANNOT_TELL = "cannot tell apart"
FLAG = invariants.FLAG     # marks a difference computed from a branch that broke invariants
PARAM_LABEL = "90% over parameters"      # = sim.paramspread.LABEL


@attrs.frozen
class Column:
    """One branch of one run (``label``: the scenario name for its base branch, else
    ``scenario:branch``; :func:`columns` gives shorter unique labels for a table)."""

    run: Any
    branch: str

    @property
    def label(self) -> str:
        name = self.run.scenario.name
        return name if self.branch == name else f"{name}:{self.branch}"


Side = Column


def columns(runs: Sequence[Any]) -> list[tuple[Column, str]]:
    """Every (run, branch) column with a unique label: the branch name (a base branch is
    named after its scenario); :attr:`Column.label` (``scenario:branch``) if branch names
    repeat; the run folder's name ``folder:branch`` if scenarios repeat too."""
    cols = [Column(r, b) for r in runs for b in r.branch_names()]
    for make in (lambda c: c.branch, lambda c: c.label,
                 lambda c: f"{c.run.folder.name}:{c.branch}"):
        labels = [make(c) for c in cols]
        if len(set(labels)) == len(labels):
            break
    return list(zip(cols, labels))


def control_of(run: Any, branch: str) -> str | None:
    """The control of ``branch``: the base branch of its own scenario file, or None
    (for the base branch itself, or a sweep run without its base)."""
    base = run.scenario.name
    if branch == base or base not in run.branch_names():
        return None
    return base


# --------------------------------------------------------------------------- pairing

class NotComparable(InputError):
    """Two columns whose outcomes are measured over different periods."""


@attrs.frozen
class Pairing:
    """Whether two columns are paired; ``differs``: what differs, in plain words;
    ``refused``: a message when they cannot be compared at all (else '')."""

    paired: bool
    differs: tuple[str, ...] = ()
    refused: str = ""

    @property
    def note(self) -> str:
        return "" if self.paired else "unpaired: " + "; ".join(self.differs)


def _prefix_digest(run: Any, branch: str) -> str | None:
    from sim.runner import prefix_stream
    from sim.store import digest_of

    name = prefix_stream(branch)
    d = run.digests().get(name)
    if d is None:
        try:
            d = digest_of(run.store.read(name))
        except Exception:  # no prefix stream recorded: nothing to compare
            return None
    return d


def pairing(a: Column, b: Column) -> Pairing:
    """Are columns ``a`` and ``b`` paired, unpaired, or not comparable (see the module docs)?"""
    if a.run is b.run or Path(a.run.folder).resolve() == Path(b.run.folder).resolve():
        return Pairing(True)
    sa, sb = a.run.scenario, b.run.scenario
    wa, wb = a.run.world(a.branch), b.run.world(b.branch)
    refused = [f"{k} {x} vs {y}" for k, x, y in (("fork", sa.fork_date, sb.fork_date),
                                                 ("horizon", sa.horizon_date, sb.horizon_date))
               if x != y]
    if refused:
        msg = (f"cannot compare '{a.label}' with '{b.label}': they differ in "
               + " and ".join(refused) + ", so their outcomes are measured over different "
               "periods and the difference is not the effect of any change")
        return Pairing(False, tuple(refused), msg)
    differs = []
    if (wa.name, wa.starts) != (wb.name, wb.starts):
        differs.append(f"world '{wa.name}' vs '{wb.name}'")
    if sa.seed != sb.seed:
        differs.append(f"seed {sa.seed} vs {sb.seed}")
    if sa.replicates != sb.replicates:
        differs.append(f"replicates {sa.replicates} vs {sb.replicates}")
    if not differs and _prefix_digest(a.run, a.branch) != _prefix_digest(b.run, b.branch):
        differs.append("history before the fork differs")
    return Pairing(not differs, tuple(differs))


# --------------------------------------------------------------------------- differences

@attrs.frozen
class Difference:
    """One outcome statistic, ``branch - control``, with its 95% interval.

    ``stat``: "probability", "restricted_mean_days", "share", "mean", "first:<event>" or
    "first:none"; ``kind`` is the unit of the difference: "probability", "days" or "mean".
    ``note`` says why the comparison is unpaired ('' when paired); ``caution`` is a
    warning when replicates of either column broke their world's invariants
    (:func:`caution_of`; '' when every invariant held).
    """

    outcome: str
    label: str
    measure: str
    stat: str
    kind: str
    branch: str
    control: str
    estimate: oc.Estimate
    paired: bool
    note: str = ""
    caution: str = ""
    # sim.paramspread.Spread of the per-draw paired difference, when a column draws
    # `uncertain:` parameters (None otherwise)
    spread: Any = None

    @property
    def clear(self) -> bool:
        """The interval excludes zero."""
        lo, hi = self.estimate.lo, self.estimate.hi
        return bool(lo > 0 or hi < 0)

    @property
    def direction(self) -> str:
        """"higher" or "lower" ("later" or "sooner" for days), or "cannot tell apart"
        when the interval includes zero."""
        if not self.clear:
            return CANNOT_TELL
        if self.kind == "days":
            return "later" if self.estimate.mean > 0 else "sooner"
        return "higher" if self.estimate.mean > 0 else "lower"

    @property
    def name(self) -> str:
        """The outcome as a reader sees it: id, label and which statistic."""
        what = self.outcome + (f" ({self.label})" if self.label else "")
        return what if self.stat in ("probability", "share", "mean", "restricted_mean_days") \
            else f"{what}, {self.stat}"

    def cell(self) -> str:
        """The difference as a table cell: signed estimate, interval, verdict."""
        e = self.estimate
        unit = " days" if self.kind == "days" else ""
        verdict = self.direction
        iv = _iv(e, True)
        if unit:
            iv = iv.replace(" [", unit + " [", 1)
        return (f"{iv} {verdict}" + ("" if self.paired else " (unpaired)")
                + (f" {FLAG}" if self.caution else ""))

    def words(self) -> str:
        """One plain sentence, e.g. "sanctioned_by_2021 (CAATSA sanctions by 2021): lower by
        0.190 [0.130, 0.250] in patriot_2017 than in patriot_2017_control (paired)"; with
        drawn parameters, the spread of the per-draw difference is added, and the
        :attr:`caution` when there is one."""
        text = self._words()
        sp = self.spread
        if sp is not None and sp.available:
            text += (f"; over the drawn parameters 90% of draws give {sp.cell(True)}"
                     + (" days" if self.kind == "days" else ""))
        return f"{text} {FLAG} {self.caution}" if self.caution else text

    def _words(self) -> str:
        e = self.estimate
        how = "paired" if self.paired else self.note or "unpaired"
        where = f"in {self.branch} than in {self.control}"
        if not self.clear:
            same = " (the same in every replicate)" if self.paired and e.lo == e.hi == 0 else ""
            return (f"{self.name}: {CANNOT_TELL} {self.branch} and {self.control}{same}: "
                    f"difference {_iv(e, True)} ({how})")
        d = _interval_digits(e)
        size = (f"{_f(abs(e.mean), digits=d)} [{_f(min(abs(e.lo), abs(e.hi)), digits=d)}, "
                f"{_f(max(abs(e.lo), abs(e.hi)), digits=d)}]")
        if self.kind == "days":
            return (f"{self.name}: {size} days {self.direction} on average {where} "
                    f"(restricted mean time to the event up to the horizon; {how})")
        return f"{self.name}: {self.direction} by {size} {where} ({how})"


def unpaired_difference(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> oc.Estimate:
    """Difference of means with a normal interval (independent samples)."""
    from statistics import NormalDist

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    d = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size) if min(a.size, b.size) > 1 \
        else math.nan
    return oc.Estimate(d, d - z * se, d + z * se, int(min(a.size, b.size)), "difference")


def window(col: Column) -> float:
    """Days from the fork to the end of the horizon date (the time_to window)."""
    br = col.run.branch(col.branch)
    return float(br.horizon - br.fork)


def restricted_mean(values: Any, tau: float) -> np.ndarray:
    """Per-replicate time to the event restricted to ``tau`` days: ``min(t, tau)``
    (a censored replicate, ``inf``, counts ``tau``; NaN stays NaN)."""
    x = np.asarray(values, dtype=float)
    return np.where(np.isnan(x), np.nan, np.minimum(x, tau))


def _series(spec: oc.OutcomeSpec, values: np.ndarray, tau: float,
            binary_state: bool) -> list[tuple[str, str, np.ndarray]]:
    """(stat, kind, per-replicate values) that a difference is taken on."""
    m = spec.measure
    if m == "occurs":
        return [("probability", "probability", values)]
    if m == "time_to":
        return [("restricted_mean_days", "days", restricted_mean(values, tau))]
    if m == "state":
        return [("share", "probability", values)] if binary_state else [("mean", "mean", values)]
    if m == "count":
        return [("mean", "mean", values)]
    if m == "first":
        nan = np.isnan(values)
        out = [(f"first:{ev}", "probability", np.where(nan, np.nan, (values == i) * 1.0))
               for i, ev in enumerate(spec.events)]
        return out + [("first:none", "probability", np.where(nan, np.nan, (values == -1) * 1.0))]
    raise ValueError(f"outcome '{spec.id}': unknown measure '{m}'")


def _binary_state(col: Column, spec: oc.OutcomeSpec) -> bool:
    var = col.run.world(col.branch).variables.get(spec.var)
    return var is not None and var.type == "bool"


def differences(branch: Column, control: Column, level: float = 0.95) -> list[Difference]:
    """Every outcome both columns define, ``branch - control`` (see the module docs).

    Raises :class:`NotComparable` when the fork or the horizon differ.
    """
    pair = pairing(branch, control)
    if pair.refused:
        raise NotComparable(Problem(None, None, None, pair.refused,
                                    "compare each branch with the control of its own scenario "
                                    "file (sim compare FILE), or run both with the same fork "
                                    "and horizon"))
    ids = {s.id for s in control.run.scenario.outcomes}
    caution = caution_of(branch, control)
    va, vb = branch.run.outcome_values(branch.branch), control.run.outcome_values(control.branch)
    tau = window(branch)
    draws = [_per_draw(branch), _per_draw(control)]
    draws = draws if any(draws) else []
    out = []
    for spec in branch.run.scenario.outcomes:
        if spec.id not in ids:
            continue
        binary = spec.measure == "state" and _binary_state(branch, spec)
        sa = _series(spec, va[spec.id], tau, binary)
        sb = _series(spec, vb[spec.id], tau, binary)
        for (stat, kind, a), (_, _, b) in zip(sa, sb):
            spread = None
            if draws:   # a column draws `uncertain:` parameters (sim.paramspread)
                est, spread = _drawn_difference(a, b, pair.paired, draws, level)
            elif pair.paired:
                ok = ~(np.isnan(a) | np.isnan(b))
                est = oc.paired_difference(a[ok], b[ok], level)
            else:
                est = unpaired_difference(a[~np.isnan(a)], b[~np.isnan(b)], level)
            out.append(Difference(spec.id, spec.label, spec.measure, stat, kind, branch.label,
                                  control.label, est, pair.paired, pair.note, caution,
                                  spread))
    return out


def caution_of(branch: Column, control: Column) -> str:
    """A warning when replicates of either column broke their world's invariants, naming
    how many and the first; '' when every invariant held (or none is declared)."""
    return invariants.caution([(c.label, invariants.run_tallies(c.run).get(c.branch))
                               for c in (branch, control)])


def _per_draw(col: Column) -> int | None:
    """Replicates per parameter draw of a column that draws ``uncertain:`` values."""
    br = col.run.branch(col.branch)
    return col.run.scenario.replicates_per_draw if getattr(br, "uncertain", None) else None


def _drawn_difference(a: np.ndarray, b: np.ndarray, paired: bool, draws: list[int | None],
                      level: float) -> tuple[oc.Estimate, Any]:
    """The difference when a column draws parameters in groups of replicates: its Monte
    Carlo interval with the groups as the independent units, and the parameter spread
    of the per-draw paired difference (n/a when unpaired or grouped differently)."""
    from sim import paramspread as ps

    ma, mb = draws
    if paired:
        block = math.lcm(*(m for m in draws if m))   # groups of both columns nest in it
        d = np.where(np.isnan(a) | np.isnan(b), np.nan, a - b)
        est = (ps.grouped_mean(d, block, level, "difference") if block > 1
               else oc.Estimate.of_mean(d[~np.isnan(d)], level, kind="difference"))
        if ma and mb and ma != mb:
            return est, ps.not_available("the columns group their draws differently")
        return est, ps.of_replicates(d, ma or mb)
    from statistics import NormalDist

    parts = [ps.grouped_mean(x, m or 1, level) for x, m in ((a, ma), (b, mb))]
    tq = [oc.t_quantile(0.5 + level / 2, max(1, _points(x, m or 1) - 1))
          for x, m in ((a, ma), (b, mb))]
    se = math.sqrt(sum(((e.hi - e.lo) / 2 / t) ** 2 for e, t in zip(parts, tq)))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    diff = parts[0].mean - parts[1].mean
    est = oc.Estimate(diff, diff - z * se, diff + z * se, min(parts[0].n, parts[1].n),
                      "difference")
    return est, ps.not_available("unpaired: no per-draw difference")


def _grouped_se(x: np.ndarray, block: int) -> tuple[np.ndarray, int]:
    """Per column of ``x`` (replicates x grid), the standard error of the column mean
    with blocks of ``block`` replicates as the independent units
    (:func:`sim.paramspread.cluster_se`), and the number of blocks."""
    from sim import paramspread as ps

    return ps.cluster_se(x, ps.point_of(x.shape[0], block))


def _points(x: np.ndarray, m: int) -> int:
    """Parameter points (groups of ``m`` replicates) with at least one value."""
    from sim import paramspread as ps

    g = ps.point_of(x.size, m)[~np.isnan(x)]
    return int(np.unique(g).size)


def effects(run: Any, level: float = 0.95) -> list[Difference]:
    """Every non-control branch of ``run`` against its control (its file's base branch);
    ``branch`` and ``control`` of each difference are branch names."""
    out = []
    for b in run.branch_names():
        ctrl = control_of(run, b)
        if ctrl is not None:
            out += [attrs.evolve(d, branch=b, control=ctrl)
                    for d in differences(Column(run, b), Column(run, ctrl), level)]
    return out


def cumulative_difference(branch: Column, control: Column, kind: str, grid: Any,
                          level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The difference ``branch - control`` in P(first ``kind`` at or before t) for each ``t``
    of ``grid`` (days since the world's starts, as :meth:`Run.first_times`), with a
    pointwise 95% interval: paired (t interval on per-replicate differences of the two
    0/1 indicators) or unpaired (normal) as :func:`pairing` says. NaN beyond the horizon.
    Raises :class:`NotComparable` like :func:`differences`."""
    pair = pairing(branch, control)
    if pair.refused:
        raise NotComparable(Problem(None, None, None, pair.refused,
                                    "compare a branch with its own control"))
    ta = np.asarray(branch.run.first_times(branch.branch, kind), dtype=float)
    tb = np.asarray(control.run.first_times(control.branch, kind), dtype=float)
    g = np.asarray(grid, dtype=float)
    horizon = branch.run.branch(branch.branch).horizon
    ia = (ta[:, None] <= g[None, :]).astype(float)
    ib = (tb[:, None] <= g[None, :]).astype(float)
    draws = [_per_draw(branch), _per_draw(control)]
    if pair.paired and any(m and m > 1 for m in draws):
        # grouped parameter draws: the groups, not the replicates, are independent
        d = ia - ib
        mean = d.mean(axis=0)
        block = math.lcm(*(m for m in draws if m))
        se, k = _grouped_se(d, block)
        h = oc.t_quantile(0.5 + level / 2, k - 1) * se if k > 1 else np.full(g.shape, np.nan)
    elif pair.paired:
        d = ia - ib
        n = d.shape[0]
        mean = d.mean(axis=0)
        if n > 1:
            se = d.std(axis=0, ddof=1) / math.sqrt(n)
            h = oc.t_quantile(0.5 + level / 2, n - 1) * se
        else:
            h = np.full(g.shape, np.nan)
    else:
        from statistics import NormalDist

        mean = ia.mean(axis=0) - ib.mean(axis=0)
        z = NormalDist().inv_cdf(0.5 + level / 2)
        if any(m and m > 1 for m in draws):
            h = z * np.sqrt(sum(_grouped_se(x, m or 1)[0] ** 2
                                for x, m in ((ia, draws[0]), (ib, draws[1]))))
        else:
            va = ia.var(axis=0, ddof=1) / ia.shape[0] if ia.shape[0] > 1 else np.nan
            vb = ib.var(axis=0, ddof=1) / ib.shape[0] if ib.shape[0] > 1 else np.nan
            h = z * np.sqrt(va + vb)
    lo, hi = mean - h, mean + h
    beyond = g > horizon
    for a in (mean, lo, hi):
        a[beyond] = np.nan
    return mean, lo, hi


# --------------------------------------------------------------------------- the table

CSV_COLUMNS = ("branch", "control", "outcome", "label", "measure", "unit", "difference", "lo",
               "hi", "n", "verdict", "paired", "note")
# added when a column draws `uncertain:` parameters: 5-95% over the draws of the per-draw
# paired difference, Monte Carlo noise removed (sim.paramspread), and why not when n/a
PARAM_CSV_COLUMNS = ("param_q05", "param_q95", "param_note")


def _spread_columns(sp: Any) -> dict[str, Any]:
    if sp is None:
        return {"param_q05": math.nan, "param_q95": math.nan,
                "param_note": "no parameters drawn"}
    return {"param_q05": sp.lo, "param_q95": sp.hi, "param_note": sp.note}


@attrs.frozen
class Comparison:
    """The comparison as data: a header, rows of cells, notes, and the differences.

    Rows are ``[outcome, label, measure, *one cell per column]``; ``controls`` maps each
    column label to the label of the column it is compared with (None: not compared).
    """

    header: list[str]
    rows: list[list[str]]
    notes: list[str]
    differences: list[Difference] = attrs.field(factory=list)
    controls: dict[str, str | None] = attrs.field(factory=dict)

    def __str__(self) -> str:
        cols = self.header[3:]
        body = [[r[2], *r[3:]] for r in self.rows]
        first = ["", *[("vs " + self.controls[c]) if self.controls.get(c) else "(control)"
                       for c in cols]]
        widths = [max(len(r[i]) for r in [["outcome / measure", *cols], first, *body])
                  for i in range(len(cols) + 1)]
        widths[0] += 2
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [fmt.format("outcome / measure", *cols).rstrip(),
                 fmt.format(*first).rstrip(), fmt.format(*["-" * w for w in widths])]
        current = None
        for r in self.rows:
            if r[0] != current:
                current = r[0]
                lines.append(r[0] + (f": {r[1]}" if r[1] else ""))
            lines.append(fmt.format("  " + r[2], *r[3:]).rstrip())
        return "\n".join(lines + [""] + self.notes)

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(h)}</th>" for h in self.header)
        ctl = "".join(f"<td>{escape(('vs ' + self.controls[c]) if self.controls.get(c) else '(control)')}</td>"
                      for c in self.header[3:])
        def td(c: str) -> str:   # a cell computed from a branch that broke invariants
            return f"<td class='flag'>{escape(c)}</td>" if FLAG in c else f"<td>{escape(c)}</td>"

        body = "".join(
            "<tr" + (' class="diff"' if r[2].startswith("difference") else "") + ">"
            + "".join(td(c) for c in r) + "</tr>" for r in self.rows)
        notes = "".join(f"<p class='note{' flag' if n.startswith(FLAG) else ''}'>"
                        f"{escape(n)}</p>" for n in self.notes)
        return (f"<table class='outcomes'><thead><tr>{head}</tr><tr><td></td><td></td>"
                f"<td>compared with</td>{ctl}</tr></thead><tbody>{body}</tbody></table>{notes}")

    def csv_rows(self) -> list[dict[str, Any]]:
        drawn = self.drawn
        return [{"branch": d.branch, "control": d.control, "outcome": d.outcome,
                 "label": d.label, "measure": d.stat, "unit": d.kind,
                 "difference": d.estimate.mean, "lo": d.estimate.lo, "hi": d.estimate.hi,
                 "n": d.estimate.n, "verdict": d.direction,
                 "paired": "paired" if d.paired else "unpaired",
                 "note": "; ".join(x for x in (d.note, d.caution) if x)}
                | (_spread_columns(d.spread) if drawn else {})
                for d in self.differences]

    @property
    def drawn(self) -> bool:
        """Whether a difference carries a parameter-uncertainty interval."""
        return any(d.spread is not None for d in self.differences)

    def csv_columns(self) -> tuple[str, ...]:
        return CSV_COLUMNS + PARAM_CSV_COLUMNS if self.drawn else CSV_COLUMNS

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Every difference as one CSV row (columns :data:`CSV_COLUMNS`), written atomically."""
        import tempfile

        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.",
                                   suffix=".tmp")
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            w = csv_writer(f)
            cols = self.csv_columns()
            w.writerow(cols)
            for r in self.csv_rows():
                w.writerow([format(v, ".10g") if isinstance(v, float) else v
                            for v in (r[c] for c in cols)])
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return path


def _references(pairs: list[tuple[Column, str]], against: str | None) -> tuple[
        dict[int, int | None], list[str]]:
    """Which column each column is compared with (index -> index or None), and notes."""
    labels = [label for _, label in pairs]
    refs: dict[int, int | None] = {}
    notes: list[str] = []
    if against is not None:
        if against not in labels:
            from sim.errors import did_you_mean

            raise InputError(Problem(None, None, None, f"--against: no column '{against}'",
                                     did_you_mean(against, labels)
                                     or "columns: " + ", ".join(labels)))
        j = labels.index(against)
        for i in range(len(pairs)):
            refs[i] = None if i == j else j
        return refs, notes
    index = {(id(c.run), c.branch): i for i, (c, _) in enumerate(pairs)}
    first_run = pairs[0][0].run
    for i, (c, label) in enumerate(pairs):
        ctrl = control_of(c.run, c.branch)
        if ctrl is not None:
            refs[i] = index[(id(c.run), ctrl)]
        elif i == 0 or c.run is first_run:
            refs[i] = None
        else:
            p = pairing(c, pairs[0][0])
            if p.refused:
                refs[i] = None
                notes.append(f"'{label}' is a control and is not compared with '{labels[0]}': "
                             f"they differ in {' and '.join(p.differs)} (outcomes measured "
                             "over different periods). Each branch is compared with the "
                             "control of its own scenario file.")
            else:
                refs[i] = 0
    return refs, notes


def compare_runs(runs: Sequence[Any], against: str | None = None,
                 level: float = 0.95) -> Comparison:
    """Each outcome's estimate per column, and each column's difference from its control.

    By default a branch is compared with the control of its own scenario file; a run
    with only its control is compared with the first column if comparable. With
    ``against`` (a column label) every column is compared with that one, and a column
    with another fork or horizon is refused (:class:`NotComparable`).
    ``str()`` of the result is a text table; in Jupyter it displays as HTML.
    """
    pairs = columns(runs)
    cols = [c for c, _ in pairs]
    labels = [label for _, label in pairs]
    refs, notes = _references(pairs, against)
    diffs: dict[int, list[Difference]] = {}
    unpaired: dict[str, str] = {}
    for i, j in refs.items():
        if j is None:
            continue
        ds = differences(cols[i], cols[j], level)
        ds = [attrs.evolve(d, branch=labels[i], control=labels[j]) for d in ds]
        diffs[i] = ds
        if ds and not ds[0].paired:
            unpaired[labels[i]] = f"'{labels[i]}' vs '{labels[j]}': {ds[0].note}"
    ref = cols[0]
    specs = list(ref.run.scenario.outcomes)
    for c in cols[1:]:
        for s in c.run.scenario.outcomes:
            if all(s.id != t.id for t in specs):
                specs.append(s)
    header = ["outcome", "label", "measure"] + labels
    rows: list[list[str]] = []
    missing = []
    for spec in specs:
        present = [any(s.id == spec.id for s in c.run.scenario.outcomes) for c in cols]
        if not all(present):
            missing.append(spec.id)
        owner = cols[present.index(True)]
        stats = [k for k, _ in owner.run.outcome_table().summary(owner.branch, spec.id).stats]
        for stat in stats:
            row = [spec.id, spec.label, stat]
            spreads = []
            for c, ok in zip(cols, present):
                if not ok:
                    row.append("")
                    spreads.append(None)
                    continue
                summ = c.run.outcome_table().summary(c.branch, spec.id)
                row.append(_iv(summ[stat]))
                spreads.append(summ.spreads.get(stat))
            rows.append(row)
            if any(sp is not None for sp in spreads):   # parameter uncertainty, labelled
                rows.append([spec.id, spec.label, f"{stat}, {PARAM_LABEL}",
                             *(sp.cell() if sp is not None else "" for sp in spreads)])
        if spec.measure == "time_to":
            row = [spec.id, spec.label, "restricted_mean_days"]
            for c, ok in zip(cols, present):
                if not ok:
                    row.append("")
                    continue
                x = restricted_mean(c.run.outcome_values(c.branch)[spec.id], window(c))
                est = oc.Estimate.of_mean(x[~np.isnan(x)], level)
                row.append(_iv(est))
            rows.append(row)
        by_stat: dict[str, list[str]] = {}
        by_spread: dict[str, list[str]] = {}
        for i in range(len(cols)):
            for d in diffs.get(i, ()):
                if d.outcome == spec.id:
                    by_stat.setdefault(d.stat, [""] * len(cols))[i] = d.cell()
                    if d.spread is not None:
                        by_spread.setdefault(d.stat, [""] * len(cols))[i] = d.spread.cell(True)
        for stat, cells in by_stat.items():
            what = "difference" if stat in ("probability", "share", "mean") else \
                "difference, days" if stat == "restricted_mean_days" else f"difference {stat}"
            rows.append([spec.id, spec.label, what, *cells])
            if stat in by_spread:
                rows.append([spec.id, spec.label, f"{what}, {PARAM_LABEL}", *by_spread[stat]])
    if missing:
        notes.append("not defined in every run (blank where missing): " + ", ".join(missing))
    inv_rows, inv_notes = _invariant_rows(cols, labels)
    rows = inv_rows + rows
    notes += inv_notes
    all_diffs = [d for i in sorted(diffs) for d in diffs[i]]
    if any(d.paired for d in all_diffs):
        notes.append("paired: branches of one scenario file (or runs with the same world, "
                     "history before the fork, fork, horizon, seed and replicates) share their "
                     "random numbers replicate by replicate; 95% intervals from the "
                     "per-replicate differences.")
    notes += [f"(unpaired) {v}: no common random numbers, so the interval is that of two "
              "independent samples." for v in unpaired.values()]
    if any(d.kind == "days" for d in all_diffs):
        notes.append("time_to outcomes are compared in days: the restricted mean time to the "
                     "event within the window from the fork to the end of the horizon date "
                     "(a replicate without the event counts the whole window); "
                     "later/sooner = on average.")
    if all_diffs:
        notes.append(f"'{CANNOT_TELL}': the 95% interval of the difference includes zero.")
    if any(PARAM_LABEL in r[2] for r in rows):
        notes.append(f"'{PARAM_LABEL}': 5-95% over the drawn uncertain: parameters of the "
                     "outcome (or of the paired difference) given the parameters, per draw, "
                     "with its Monte Carlo noise removed (sim.paramspread); the intervals "
                     "in brackets beside the estimates are Monte Carlo intervals of the mean "
                     "over the draws, with the draws as the independent units. 'within "
                     "noise': the draws vary no more than Monte Carlo noise would make them "
                     "(F test at 5%).")
    return Comparison(header, rows, notes, all_diffs,
                      {labels[i]: (labels[j] if j is not None else None)
                       for i, j in refs.items()})


def _invariant_rows(cols: Sequence[Column], labels: Sequence[str]) -> tuple[
        list[list[str]], list[str]]:
    """The comparison's invariants: nothing when no column's world declares any; one note
    when all held in every replicate; else a first row giving, per column, the replicates
    that broke any invariant ("37 of 200 [!]"), and notes naming each broken one."""
    tallies = [invariants.run_tallies(c.run).get(c.branch) for c in cols]
    if all(t is None for t in tallies):
        return [], []
    if all(t is None or t.held for t in tallies):
        n = sum(t is not None for t in tallies)
        return [], ["invariants: all held in every replicate of "
                    + ("every column." if n == len(cols) else
                       f"the {n} columns whose worlds declare them.")]
    cells = ["" if t is None else f"{t.any} of {t.of}" + (f" {FLAG}" if not t.held else "")
             for t in tallies]
    row = [invariants.ANY_ROW, "replicates that broke any of the world's invariants",
           "replicates", *cells]
    notes = [f"{FLAG} invariants broken: " + "; ".join(
        f"'{label}': " + ", ".join(
            f"#{j + 1} ({text}) in {t.broken[j]} of {t.of} (first: replicate {t.first[j]})"
            for j, text in enumerate(t.texts) if t.broken[j])
        for label, t in zip(labels, tallies) if t is not None and not t.held)
        + ". Those replicates did what the world says must never happen, so the model (or "
        "the invariant) is wrong there: a difference marked [!] involves such a column and "
        "may come from the model breaking its own rules, not from the change compared."]
    return [row], notes


def _digits(*xs: float) -> int:
    m = max((abs(x) for x in xs if x is not None and math.isfinite(x)), default=0.0)
    return 0 if m >= 100 else 1 if m >= 10 else 3


def _interval_digits(e: oc.Estimate) -> int:
    """:func:`_digits` of the three numbers, or more when the interval excludes 0 and its
    end nearest 0 would print as 0 or -0."""
    d = _digits(e.mean, e.lo, e.hi)
    if oc.excludes_zero(e.lo, e.hi):
        d = oc.nonzero_decimals(min(abs(e.lo), abs(e.hi)), d)
    return d


def _iv(e: oc.Estimate, signed: bool = False) -> str:
    """``mean [lo, hi]`` with the same number of decimals for all three (enough that an
    interval excluding 0 shows no end as 0)."""
    d = _interval_digits(e)
    return f"{_f(e.mean, signed, d)} [{_f(e.lo, signed, d)}, {_f(e.hi, signed, d)}]"


def _f(x: float, signed: bool = False, digits: int | None = None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if digits is None:
        digits = _digits(x)
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
