"""Invariants over replicates: counting the breaches, and saying so wherever results show.

A world's ``invariants:`` say what must never happen (``never: X unless Y``,
``never: X when Z``). The engine checks them in every replicate as it runs
(:attr:`sim.engine.Engine.violations` after each :meth:`~sim.engine.Engine.run`);
a run stores each replicate's broken invariants in its stream's metadata.
This module owns what is made of those per-replicate records:

- :func:`check_scenario` runs N replicates of every branch (``sim validate --check N``);
- :func:`tally` counts, per branch, the replicates that broke each invariant, those
  that broke any, and the first of each (:class:`Tally`); :func:`summarise` is the
  manifest's form of it;
- :func:`table_rows`, :func:`table_notes` and :func:`column_note` are how the outcome
  table (text, HTML, ``outcomes.csv``), ``sim compare`` and the report show it: a
  compact line when every invariant held; when any broke, rows with the share of
  replicates and its interval, the invariant and the first replicate that broke it,
  and a warning on every difference computed from such a branch.
"""
from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence

import attrs

from sim.seeding import replicate_rng

__all__ = ["Breach", "Tally", "check_scenario", "column_note", "describe", "summarise",
           "table_notes", "table_rows", "tally"]

ANY_ROW = "(invariants broken)"        # outcome name of a branch's row: replicates breaking any
ONE_ROW = "(invariant #{} broken)"     # outcome name of one broken invariant's row
FLAG = "[!]"                           # marks a number computed from a branch that broke one


@attrs.frozen
class Breach:
    """Invariant ``index`` of branch ``branch``'s world broken in ``replicates`` of ``of``
    replicates; ``first`` is the first such replicate, ``time`` the day it broke there."""

    branch: str
    index: int
    text: str
    replicates: int
    of: int
    first: int
    time: float
    date: str


def check_scenario(scenario, n: int) -> list[Breach]:
    """Run ``n`` replicates (seeded as ``sim run`` seeds them) of every branch; the
    invariants broken, per branch in branch order, then invariant order."""
    from sim.engine import Engine
    from sim.runner import replicate_stream

    out: list[Breach] = []
    for br in scenario.branches:
        invs = br.world.invariants
        if not invs:
            continue
        eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                     suppress=br.suppress, uncertainty=br.uncertainty)
        count = [0] * len(invs)
        first: list[tuple[int, float] | None] = [None] * len(invs)
        for i in range(n):
            eng.run(replicate_rng(scenario.seed, i), replicate_stream(br.name, i))
            hit = {}
            for j, _version, t in eng.violations:
                hit.setdefault(j, t)
            for j, t in hit.items():
                count[j] += 1
                if first[j] is None:
                    first[j] = (i, t)
        for j, inv in enumerate(invs):
            if count[j]:
                i, t = first[j]
                out.append(Breach(br.name, j, inv.describe(), count[j], n, i, t,
                                  br.world.date(t).isoformat()))
    return out


def describe(b: Breach) -> str:
    return (f"branch '{b.branch}': invariant #{b.index + 1} ({b.text}) broken in "
            f"{b.replicates} of {b.of} replicates; first in replicate {b.first} "
            f"on {b.date}")


@attrs.frozen
class Tally:
    """A branch's invariants over the replicates of a run that did not fail.

    ``texts``: each declared invariant, described; ``broken[j]``: the replicates that
    broke invariant ``j`` (``first[j]`` the first of them, None when none did);
    ``any``: the replicates that broke at least one (``first_any`` the first)."""

    branch: str
    texts: tuple[str, ...]
    of: int
    broken: tuple[int, ...]
    first: tuple[int | None, ...]
    any: int
    first_any: int | None

    @property
    def held(self) -> bool:
        return self.any == 0


def tally(scenario, done: Mapping[str, int],
          broken: Iterable[tuple[str, int, Iterable[int]]]) -> dict[str, Tally]:
    """Per branch whose world declares invariants: ``done`` maps a branch to its replicates
    that ran to the end; ``broken`` gives (branch, replicate, indexes of the invariants it
    broke) for each replicate that broke any."""
    reps: dict[tuple[str, int], list[int]] = {}
    anyof: dict[str, list[int]] = {}
    for b, i, js in broken:
        js = list(js)
        if not js:
            continue
        anyof.setdefault(b, []).append(i)
        for j in js:
            reps.setdefault((b, j), []).append(i)
    out: dict[str, Tally] = {}
    for br in scenario.branches:
        invs = br.world.invariants
        if not invs:
            continue
        per = [reps.get((br.name, j), []) for j in range(len(invs))]
        hit = anyof.get(br.name, [])
        out[br.name] = Tally(br.name, tuple(inv.describe() for inv in invs),
                             int(done.get(br.name, 0)), tuple(len(r) for r in per),
                             tuple(min(r) if r else None for r in per), len(hit),
                             min(hit) if hit else None)
    return out


def tally_metas(scenario, metas) -> dict[str, Tally]:
    """:func:`tally` from the replicate streams' metadata (``broken``: invariant indexes)."""
    done: dict[str, int] = {}
    broken = []
    for m in metas:
        if m.get("prefix") or "replicate" not in m or m.get("status") != "ok":
            continue
        done[m["branch"]] = done.get(m["branch"], 0) + 1
        if m.get("broken"):
            broken.append((m["branch"], m["replicate"], m["broken"]))
    return tally(scenario, done, broken)


def summarise(scenario, metas) -> dict[str, list[dict]]:
    """Per branch, each invariant with the replicates that broke it and the first of them,
    from the replicate streams' metadata (``broken``: invariant indexes), for a run's
    manifest: ``{branch: [{"invariant": 1, "text": ..., "broken": k, "of": n,
    "first": i or None}, ...]}``."""
    return {b: [{"invariant": j + 1, "text": text, "broken": t.broken[j], "of": t.of,
                 "first": t.first[j]} for j, text in enumerate(t.texts)]
            for b, t in tally_metas(scenario, metas).items()}


def summary_lines(summary: dict[str, list[dict]]) -> list[str]:
    """Lines for a manifest's ``invariants`` (see :func:`summarise`): one per broken
    invariant of a branch, and one line for a branch whose invariants all held.

    >>> summary_lines({"b": [{"invariant": 1, "text": "never x", "broken": 0, "of": 5}]})
    ['b: all 1 invariant(s) held in every one of 5 replicates']
    """
    out = []
    for branch, rows in summary.items():
        broken = [r for r in rows if r["broken"]]
        for r in broken:
            out.append(f"{branch}: invariant #{r['invariant']} ({r['text']}) broken in "
                       f"{r['broken']} of {r['of']} replicates (first: replicate {r['first']})")
        if rows and not broken:
            out.append(f"{branch}: all {len(rows)} invariant(s) held in every one of "
                       f"{rows[0]['of']} replicates")
    return out


# --------------------------------------------------------------------------- showing it

def table_rows(t: Tally | None) -> list[dict]:
    """The outcome table's rows for one branch (the columns of
    :data:`sim.outcomes.COLUMNS`): the share of replicates that broke any invariant, with
    its Wilson interval, and one row per invariant broken at least once; the label names
    the first replicate that broke it. None (no invariants declared): no rows."""
    from sim.outcomes import Estimate

    if t is None:
        return []

    def row(outcome: str, label: str, k: int, first: int | None) -> dict:
        e = Estimate.proportion(k, t.of)
        label += f"; first: replicate {first}" if first is not None else ""
        return {"branch": t.branch, "outcome": outcome, "label": label, "measure": "share",
                "estimate": e.mean, "lo": e.lo, "hi": e.hi, "n": e.n}

    n = len(t.texts)
    rows = [row(ANY_ROW, f"any of {n} invariant{'s' if n != 1 else ''}", t.any, t.first_any)]
    rows += [row(ONE_ROW.format(j + 1), text, t.broken[j], t.first[j])
             for j, text in enumerate(t.texts) if t.broken[j]]
    return rows


def is_quiet(row: Mapping, tallies: Mapping[str, Tally]) -> bool:
    """Whether the text and HTML tables leave out an outcome-table row (the CSV keeps every
    row): a branch's invariants row when all held (one line under the table says so), and
    the rows of single invariants (the lines under the table name each one)."""
    if row["outcome"] != ANY_ROW:
        return row["outcome"].startswith("(invariant #") and row["branch"] in tallies
    t = tallies.get(row["branch"])
    return t is not None and t.held


def table_notes(tallies: Mapping[str, Tally], width: int = 80) -> list[str]:
    """Lines under the outcome table: one short line when every invariant held in every
    replicate; else a warning naming, per branch, each broken invariant, how many
    replicates broke it and the first (lines at most ``width`` wide)."""
    if not tallies:
        return []
    ts = list(tallies.values())
    if all(t.held for t in ts):
        shape = {(len(t.texts), t.of) for t in ts}
        if len(shape) == 1:
            k, n = shape.pop()
            where = "of every branch" if len(ts) > 1 else f"of {ts[0].branch}"
            return [f"invariants: all {k} held in all {n} replicates {where}"]
        return ["invariants: all held in every replicate ("
                + "; ".join(f"{t.branch}: {len(t.texts)} in {t.of}" for t in ts) + ")"]
    bad = [t for t in ts if not t.held]
    out = textwrap.wrap(
        f"{FLAG} INVARIANTS BROKEN in {len(bad)} of {len(ts)} branch"
        f"{'es' if len(ts) != 1 else ''}: some replicates did what the world says must never "
        "happen, so the model (or the invariant) is wrong there; treat those branches' "
        "estimates, and every difference computed from them, as suspect:", width)
    for t in bad:
        for j, text in enumerate(t.texts):
            if t.broken[j]:
                out += textwrap.wrap(
                    f"{t.branch}: #{j + 1} ({text}) broken in {t.broken[j]} of {t.of} "
                    f"replicates ({t.broken[j] / t.of:.1%}); first: replicate {t.first[j]}",
                    width, initial_indent="  ", subsequent_indent="    ")
    out += [f"  {t.branch}: all {len(t.texts)} held in all {t.of} replicates"
            for t in ts if t.held]
    out.append("  (to read one: sim story RUN --branch BRANCH --replicate N)")
    return out


def column_note(t: Tally | None) -> str:
    """'' when the branch's invariants all held (or it has none); else e.g. "invariants
    broken in 37 of 200 replicates (first: replicate 4)", for a comparison's warning."""
    if t is None or t.held:
        return ""
    return (f"invariants broken in {t.any} of {t.of} replicates "
            f"(first: replicate {t.first_any})")


def run_tallies(run) -> dict[str, Tally]:
    """A run's tallies (``run.invariants()`` when it has that method, else none)."""
    get = getattr(run, "invariants", None)
    return dict(get()) if callable(get) else {}


def caution(tallies: Sequence[tuple[str, Tally | None]]) -> str:
    """The warning on a difference between columns (label, tally): '' when no column broke
    an invariant."""
    parts = [f"'{label}': {column_note(t)}" for label, t in tallies if column_note(t)]
    return ("; ".join(parts) + " -- the difference may come from the model breaking its "
            "own rules") if parts else ""
