"""Checking a world's invariants by running replicates: ``sim validate --check N``.

A world's ``invariants:`` say what must never happen (``never: X unless Y``,
``never: X when Z``). The engine checks them in every replicate as it runs
(:attr:`sim.engine.Engine.violations` after each :meth:`~sim.engine.Engine.run`);
this module runs N replicates of every branch of a scenario and counts, per
branch and invariant, the replicates that broke it and the first of them.
"""
from __future__ import annotations

import attrs

from sim.engine import Engine
from sim.seeding import replicate_rng

__all__ = ["Breach", "check_scenario", "describe"]


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


def summarise(scenario, metas) -> dict[str, list[dict]]:
    """Per branch, each invariant with the replicates that broke it and the first of them,
    from the replicate streams' metadata (``broken``: invariant indexes), for a run's
    manifest: ``{branch: [{"invariant": 1, "text": ..., "broken": k, "of": n,
    "first": i or None}, ...]}``."""
    counts: dict[tuple[str, int], list[int]] = {}
    done: dict[str, int] = {}
    for m in metas:
        if m.get("prefix") or "replicate" not in m or m.get("status") != "ok":
            continue
        done[m["branch"]] = done.get(m["branch"], 0) + 1
        for j in m.get("broken", ()):
            counts.setdefault((m["branch"], j), []).append(m["replicate"])
    out: dict[str, list[dict]] = {}
    for br in scenario.branches:
        rows = []
        for j, inv in enumerate(br.world.invariants):
            reps = counts.get((br.name, j), [])
            rows.append({"invariant": j + 1, "text": inv.describe(), "broken": len(reps),
                         "of": done.get(br.name, 0), "first": min(reps) if reps else None})
        if rows:
            out[br.name] = rows
    return out


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
