"""Measure the S-400 model's "impossible worlds" counts (issue 15), before and after a change.

Runs every branch of the named S-400 scenario files with N replicates (the engine directly,
in-process, one core) and prints the counts the issue lists:

    python scripts/s400_measure.py [N]

Counts are over replicates (worlds). Times are days since the world's start.
"""
from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

from sim.engine import Engine
from sim.scenario import load_scenario
from sim.seeding import replicate_rng
from sim.state import State

CASE = Path(__file__).resolve().parent.parent / "scenarios" / "s400"


def run(name: str, n: int) -> dict[str, list[tuple[list, State]]]:
    s = load_scenario(CASE / f"{name}.yaml")
    out = {}
    for br in s.branches:
        eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                     suppress=br.suppress)
        reps = []
        for i in range(n):
            evs = [*eng.prefix, *eng.run(replicate_rng(s.seed, i), f"{br.name}/{i}")]
            reps.append((evs, State(br.world).fold(evs)))
        out[br.name] = (reps, br)
    return out


def first(evs, kind):
    return next((e for e in evs if e.kind == kind), None)


def mean_se(xs):
    m = sum(xs) / len(xs)
    v = sum((x - m) ** 2 for x in xs) / max(len(xs) - 1, 1)
    return m, math.sqrt(v / len(xs))


def main(n: int) -> None:
    res = run("patriot_2017", n)
    for name, (reps, _) in res.items():
        nocon = [r for r in reps if first(r[0], "contract_signed") is None]
        bad = [r for r in nocon if first(r[0], "caatsa_sanctions") is not None]
        print(f"patriot_2017/{name}: {len(bad)} of {len(nocon)} worlds with no contract "
              f"are sanctioned")
    res = run("turkey_resells", n)
    for name, (reps, _) in res.items():
        bad = 0
        for evs, _st in reps:
            ret, sanc = first(evs, "s400_returned"), first(evs, "caatsa_sanctions")
            if ret is not None and sanc is not None and sanc.time >= ret.time:
                bad += 1
        print(f"turkey_resells/{name}: {bad} of {len(reps)} sanctioned after the resale")
    base = run("baseline", n)
    (reps, br), = base.values()
    fork = br.fork
    senate = sum(first(e, "bill_passed_senate") is not None for e, _ in reps)
    wg = [first(e, "wg_accepted") for e, _ in reps]
    print(f"baseline: P(Senate passes the bill) = {senate / n:.3f}")
    print(f"baseline: P(US accepts the working group) = {sum(w is not None for w in wg) / n:.3f}"
          f"; within 14 days of the fork {sum(w is not None and w.time - fork <= 14 for w in wg) / n:.3f}")
    ten = [st["tension"] for _, st in reps]
    print(f"baseline: tension at the horizon mean {mean_se(ten)[0]:.1f}")
    res = run("deadline_slips", n)
    reps, br = res["deadline_slips"]
    world = br.world
    new_deadline = world.day(dt.date(2019, 12, 31))
    susp = [first(e, "f35_suspended") for e, _ in reps]
    susp = [s for s in susp if s is not None and s.origin != "history"]
    backstop = [s for s in susp if s.rule != "suspend_at_deadline" and s.time < new_deadline]
    print(f"deadline_slips: {len(backstop)} of {len(susp)} suspensions come before the new "
          f"deadline from another route ({', '.join(sorted({s.rule or '?' for s in backstop}))})")
    res = run("trump_second_term", n)
    a, _ = res["trump_second_term"]
    c, _ = res["trump_second_term_control"]
    for kind in ("caatsa_sanctions", "batch2_signed", "sanctions_expanded", "wg_accepted"):
        d = [(first(x[0], kind) is not None) - (first(y[0], kind) is not None) for x, y in zip(a, c)]
        m, se = mean_se(d)
        print(f"trump_second_term: P({kind}) branch - control = {m:+.3f} (SE {se:.3f})")
    res = run("wg_accepted_apr2019", n)
    for name, (reps, _) in res.items():
        meet = [st["wg_meetings"] for _, st in reps]
        ten = [st["tension"] for _, st in reps]
        print(f"wg_accepted_apr2019/{name}: working-group meetings mean {mean_se(meet)[0]:.1f}"
              f", max {max(meet)}; tension at the horizon mean {mean_se(ten)[0]:.1f}, "
              f"min {min(ten):.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
