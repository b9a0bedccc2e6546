"""Hindcasts: run a world from a past fork and ask how well it brackets what really happened.

This module owns the hindcast report. :func:`hindcast` runs a scenario's
base branch (or another branch) with the engine directly, replicate ``i``
seeded by :func:`sim.seeding.replicate_rng` (so the numbers match ``sim run``),
and compares the simulated first-occurrence dates of every event kind with the
first *historical* occurrence of that kind on or after the fork (taken from
the branch's whole history document, which the engine itself never sees after
the fork). For each such kind it reports:

- ``p_by_horizon``: the share of replicates in which the kind occurs between
  the fork and the horizon;
- ``percentile``: where the actual date falls among the simulated first dates,
  counting a replicate in which the kind never occurs as "after the horizon"
  (so it is 100 * P(simulated first date < actual) + 50 * P(same day): dates
  are whole days, so a simulated first occurrence on the actual date is a tie);
- ``q05``/``q50``/``q95``: the 5/50/95% simulated first dates over *all*
  replicates (None when that quantile falls among the replicates where it never
  occurs, shown as "never");
- ``in_band``: 5 <= percentile <= 95.

>>> # report = hindcast("scenarios/s400/hindcast.yaml", replicates=400)
>>> # print(format_report(report))
"""
from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence

import attrs
import numpy as np

from sim.engine import Engine
from sim.scenario import Scenario, load_scenario
from sim.seeding import replicate_rng

__all__ = ["EventCheck", "HindcastReport", "hindcast", "format_report", "TARGETS"]

# The events the S-400 world is calibrated on (docs/s400-model.md): their real dates must
# fall between the 5th and 95th simulated percentile in the 2019-04-01 hindcast.
TARGETS = ("f35_suspended", "s400_live_test", "caatsa_sanctions")
BAND = (5.0, 95.0)


@attrs.frozen
class EventCheck:
    """One historical event after the fork against the simulated first dates of its kind."""

    kind: str
    actual: dt.date
    confidence: str
    granularity: str
    source: str | None
    p_by_horizon: float
    percentile: float
    q05: dt.date | None
    q50: dt.date | None
    q95: dt.date | None
    after_horizon: bool = False

    @property
    def in_band(self) -> bool:
        return BAND[0] <= self.percentile <= BAND[1]


@attrs.frozen
class HindcastReport:
    scenario: str
    branch: str
    fork: dt.date
    horizon: dt.date
    replicates: int
    seed: int
    rows: tuple[EventCheck, ...]

    def row(self, kind: str) -> EventCheck:
        for r in self.rows:
            if r.kind == kind:
                return r
        raise KeyError(kind)

    def targets_in_band(self, targets: Sequence[str] = TARGETS) -> bool:
        """True if every target kind that has a row is inside the 5-95% band."""
        return all(r.in_band for r in self.rows if r.kind in targets)


def hindcast(scenario: Scenario | str | os.PathLike, replicates: int | None = None,
             branch: int | str = 0) -> HindcastReport:
    """Run ``replicates`` (default: the scenario's) of one branch and compare with history."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    br = scenario.branch(branch) if isinstance(branch, str) else scenario.branches[branch]
    n = scenario.replicates if replicates is None else int(replicates)
    world = br.world
    fork, horizon = br.fork, br.horizon

    # the first real occurrence of each kind on or after the fork
    actual: dict[str, object] = {}
    for entry in sorted(br.history_doc.entries, key=lambda e: e.date):
        if world.day(entry.date) >= fork and entry.event not in actual \
                and entry.event not in br.suppress:
            actual[entry.event] = entry
    kinds = set(actual)

    engine = Engine(world, br.history, fork, horizon, inject=br.inject, suppress=br.suppress,
                    uncertainty=br.uncertainty)
    first = {k: np.full(n, math.inf) for k in kinds}
    for i in range(n):
        for e in engine.run(replicate_rng(scenario.seed, i), f"{br.name}/{i}"):
            arr = first.get(e.kind)
            if arr is not None and e.time < arr[i]:
                arr[i] = e.time

    rows = []
    for kind, entry in actual.items():
        t = first[kind]
        real = world.day(entry.date)
        day = np.floor(t)              # a date is a whole day: same day = a tie
        below = float(np.sum(day < real))
        ties = float(np.sum(day == real))
        pct = 100.0 * (below + 0.5 * ties) / n
        qs = []
        for q in (0.05, 0.5, 0.95):
            v = float(np.quantile(t, q, method="inverted_cdf"))
            qs.append(world.date(v) if math.isfinite(v) else None)
        rows.append(EventCheck(kind, entry.date, entry.confidence, entry.granularity,
                               entry.source, float(np.mean(np.isfinite(t))), pct, *qs,
                               after_horizon=real > horizon))
    rows.sort(key=lambda r: (r.actual, r.kind))
    return HindcastReport(scenario.name, br.name, scenario.fork_date, scenario.horizon_date, n,
                          scenario.seed, tuple(rows))


def format_report(report: HindcastReport) -> str:
    """A plain-text table, one row per historical event kind after the fork."""
    head = (f"Hindcast of {report.scenario} (branch {report.branch}): fork {report.fork}, "
            f"horizon {report.horizon}, {report.replicates} replicates, seed {report.seed}")
    cols = ("event", "actual", "conf", "P(by horizon)", "5%", "50%", "95%", "percentile", "band")
    table = [cols]
    for r in report.rows:
        mark = "target" if r.kind in TARGETS else ""
        band = "in 5-95" if r.in_band else "OUTSIDE"
        if r.after_horizon:
            band = "after horizon"
        table.append((r.kind, str(r.actual), r.confidence, f"{r.p_by_horizon:.2f}",
                      _d(r.q05), _d(r.q50), _d(r.q95), f"{r.percentile:.0f}",
                      f"{band} {mark}".strip()))
    widths = [max(len(row[j]) for row in table) for j in range(len(cols))]
    lines = [head, ""]
    for k, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("percentile: 100 x share of replicates whose first simulated date is on or "
                 "before the actual one (never = after the horizon; ties count half).")
    targets = [r for r in report.rows if r.kind in TARGETS]
    if targets:
        ok = all(r.in_band for r in targets)
        lines.append("calibration targets (" + ", ".join(r.kind for r in targets) + "): "
                     + ("all inside the 5-95% band" if ok else "NOT all inside the 5-95% band"))
    return "\n".join(lines)


def _d(d: dt.date | None) -> str:
    return "never" if d is None else str(d)
