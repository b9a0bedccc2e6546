"""Regenerate the numbers of docs/s400-model.md from the S-400 scenarios (`make docs-numbers`).

Every table of results in docs/s400-model.md sits between markers

    <!-- generated:NAME -->
    ...
    <!-- /generated -->

and is written by this script from runs of the scenario files (the engine in-process, one
core, replicate i seeded as `sim run` seeds it, so the numbers are the ones `sim run` and
`sim compare` give for the same replicate count). Nothing outside the markers is touched.

    python scripts/s400_docs.py            # rewrite the blocks in docs/s400-model.md
    python scripts/s400_docs.py --check    # exit 1 if a block differs from a fresh run

tests/test_s400_docs.py runs the same generation and compares, so the prose cannot fall
behind the model. EXPECTED below is the one list of each teaching branch's stated
directions (its file header says the same in words); tests/test_s400.py checks them.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import sys
from functools import cache
from pathlib import Path

import numpy as np

from sim import docblock
from sim import outcomes as oc
from sim.engine import Engine
from sim.hindcast import TARGETS, hindcast
from sim.history import load_history
from sim.scenario import load_scenario
from sim.seeding import replicate_rng
from sim.worldfile import load_world

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "scenarios" / "s400"
DOC = ROOT / "docs" / "s400-model.md"
N = 1000            # replicates per branch for every number in the doc

# file -> [(outcome, expected sign of counterfactual - control)], the headline first.
# A sign of 0 states that the branch is a null result on purpose (its header says why).
EXPECTED: dict[str, list[tuple[str, int]]] = {
    "patriot_2017": [("contract", -1), ("delivered", -1), ("still_in_f35", +1),
                     ("tension_2019_end", -1)],
    "no_congress_hold": [("time_to_sanctions", -1), ("sanctioned_by_2021", +1),
                         ("tension_mid_2020", +1)],
    "wg_accepted_apr2019": [("f35_suspended_by_2020", -1), ("time_to_f35_suspension", +1),
                            ("activated", -1), ("delivered", 0)],
    "crete_model": [("sanctioned", -1), ("time_to_sanctions", +1)],
    "sanction_on_delivery": [("batch2_talks", +1), ("batch2_signed", +1),
                             ("tension_mid_2020", -1)],
    "no_syria_shock": [("house_bill", -1), ("sanctioned_by_2021", -1)],
    "trump_second_term": [("batch2_signed", +1)],
    "russia_wedge": [("batch2_signed", +1), ("batch2_talks", +1), ("tur_rus_end", +1)],
    "turkey_resells": [("still_in_f35", +1), ("tension_end", -1), ("tur_rus_end", -1)],
    "deadline_slips": [("f35_suspended_by_2020", -1), ("time_to_f35_suspension", +1),
                       ("f35_removal_done", -1), ("delivered", 0)],
}
# outcomes shown for every branch file besides its expected ones
ALSO = ("delivered", "sanctioned", "activated")

NAME = re.compile(r"<!-- generated:([a-z0-9_-]+) -->")   # a block's begin marker
END = "<!-- /generated -->"                                 # every block's end marker


# --------------------------------------------------------------------------- running

# event kinds whose first occurrence (time, rule) the checks below read
_TRACKED = ("contract_signed", "caatsa_sanctions", "s400_returned", "f35_suspended",
            "wg_accepted", "bill_passed_senate", "ndaa_mandate", "bill_enacted")


@cache
def _runs(name: str, n: int = N) -> dict[str, tuple[dict[str, np.ndarray], list[dict]]]:
    """branch -> (outcome id -> per-replicate values, per-replicate facts) for
    scenarios/s400/<name>.yaml. Facts: first (time, rule) of the tracked kinds, the number
    of working-group meetings, and the invariant violations the engine reports (if any)."""
    s = load_scenario(CASE / f"{name}.yaml")
    out = {}
    for br in s.branches:
        eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                     suppress=br.suppress)
        ev = oc.Evaluator(s.outcomes, br.world, br.fork, br.horizon)
        rows, facts = [], []
        for i in range(n):
            evs = [*eng.prefix, *eng.run(replicate_rng(s.seed, i), f"{br.name}/{i}")]
            rows.append(ev(evs))
            first: dict[str, tuple[float, str | None]] = {}
            meetings = 0
            for e in evs:
                if e.kind in _TRACKED and e.kind not in first:
                    first[e.kind] = (e.time, e.rule)
                meetings += e.kind == "wg_meeting"
            facts.append({"first": first, "wg_meetings": meetings,
                          "violations": len(getattr(eng, "violations", ()) or ())})
        values = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
        out[br.name] = (values, facts)
    return out


def outcome_values(name: str, n: int = N) -> dict[str, dict[str, np.ndarray]]:
    """branch -> outcome id -> per-replicate values, for scenarios/s400/<name>.yaml."""
    return {b: v for b, (v, _) in _runs(name, n).items()}


def _spec(name: str, outcome: str) -> oc.OutcomeSpec:
    s = load_scenario(CASE / f"{name}.yaml")
    return next(o for o in s.outcomes if o.id == outcome)


def _window(name: str) -> float:
    s = load_scenario(CASE / f"{name}.yaml")
    br = s.branches[0]
    return float(br.horizon - br.fork)


def _series(name: str, outcome: str, values: np.ndarray) -> np.ndarray:
    """What a difference is taken on: a time_to becomes the time restricted to the window
    from the fork to the end of the horizon (censored = the whole window), as in
    sim.compare's restricted mean."""
    if _spec(name, outcome).measure == "time_to":
        return np.minimum(values, _window(name))
    return values


def effect(name: str, outcome: str, n: int = N) -> tuple[float, float, oc.Estimate]:
    """(control mean, branch mean, paired difference branch - control with its 95% interval)
    of one outcome of a teaching file (time_to: restricted mean days)."""
    res = outcome_values(name, n)
    a = _series(name, outcome, res[name][outcome])
    b = _series(name, outcome, res[f"{name}_control"][outcome])
    return float(np.mean(b)), float(np.mean(a)), oc.paired_difference(a, b)


# --------------------------------------------------------------------------- blocks

def _f(x: float, digits: int = 2) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:.{digits}f}" if abs(x) < 10 else f"{x:.0f}"


def _fs(x: float, digits: int = 2) -> str:
    s = _f(x, digits)
    return s if s.startswith("-") else "+" + s


def block_files() -> str:
    world = load_world(CASE / "world.yaml")
    hist = load_history(CASE / "history.yaml", world)
    base = load_scenario(CASE / "baseline.yaml")
    n_inv = len(getattr(world, "invariants", ()) or ())
    return (
        "| file | what it holds |\n|---|---|\n"
        f"| `history.yaml` | {len(hist.entries)} dated events from {hist.entries[0].date.year} to "
        f"{hist.entries[-1].date.year}, from {len(hist.sources)} sources, each with a "
        "confidence and a date granularity |\n"
        f"| `world.yaml` | the event graph: {len(world.actors)} actors, {len(world.variables)} "
        f"state variables, {len(world.events)} event types, {len(world.rules)} rules, "
        f"{len(world.reviews)} reviews, {n_inv} invariants |\n"
        f"| `baseline.yaml` | the dispute from {base.fork_date} to {base.horizon_date}, with "
        f"{len(base.outcomes)} outcomes |\n"
        "| `hindcast.yaml` | the same world forked on 2019-04-01, to check the model against "
        "what really happened |\n"
        f"| {len(EXPECTED)} teaching files | one counterfactual each (section 4), each with its "
        "own control branch |\n")


def block_baseline() -> str:
    s = load_scenario(CASE / "baseline.yaml")
    world = s.branches[0].world
    vals = outcome_values("baseline")["baseline"]
    lines = [f"Baseline, {N} replicates (seed {s.seed}), 95% intervals:", "",
             "| outcome | statistic | value | 95% interval |", "|---|---|---|---|"]
    for spec in s.outcomes:
        var = world.variables.get(spec.var) if spec.measure == "state" else None
        summ = oc.summarize(spec, vals[spec.id], var_type=var.type if var else None)
        for stat, est in summ.stats:
            lines.append(f"| `{spec.id}` ({spec.label}) | {stat.replace('_', ' ')} | "
                         f"{_f(est.mean)} | {_f(est.lo)} to {_f(est.hi)} |")
    return "\n".join(lines) + "\n"


def block_branch(name: str) -> str:
    expected = dict(EXPECTED[name])
    shown = [o for o, _ in EXPECTED[name]] + [o for o in ALSO if o not in expected]
    lines = [f"`sim compare` of `{name}.yaml`, {N} replicates per branch, paired by replicate "
             "(time_to: restricted mean days from the fork):", "",
             "| outcome | expected | control | branch | difference (95% interval) | holds |",
             "|---|---|---|---|---|---|"]
    for o in shown:
        ctrl, br, d = effect(name, o)
        sign = expected.get(o)
        want = {+1: "up", -1: "down", 0: "none", None: ""}[sign]
        if sign in (+1, -1):
            holds = "yes" if (d.lo > 0 if sign > 0 else d.hi < 0) else "NO"
        else:
            holds = ""
        lines.append(f"| `{o}` | {want} | {_f(ctrl)} | {_f(br)} | {_fs(d.mean)} "
                     f"({_fs(d.lo)} to {_fs(d.hi)}) | {holds} |")
    return "\n".join(lines) + "\n"


def block_checks() -> str:
    """The counts issue 15 asked about, for the current model (worlds out of N)."""
    def facts(name: str, branch: str) -> list[dict]:
        return _runs(name)[branch][1]

    rows = []
    pat = facts("patriot_2017", "patriot_2017")
    nocon = [f for f in pat if "contract_signed" not in f["first"]]
    rows.append(("`patriot_2017`: worlds with no S-400 contract that are still sanctioned",
                 f"{sum('caatsa_sanctions' in f['first'] for f in nocon)} of {len(nocon)}"))
    res = facts("turkey_resells", "turkey_resells")
    after = [f for f in res if "caatsa_sanctions" in f["first"] and "s400_returned" in f["first"]
             and f["first"]["caatsa_sanctions"][0] >= f["first"]["s400_returned"][0]]
    bound = [f for f in after if any(k in f["first"] and f["first"][k][0] < f["first"]
                                     ["s400_returned"][0] for k in ("ndaa_mandate", "bill_enacted"))]
    rows.append(("`turkey_resells`: worlds sanctioned after the resale (of them, with a "
                 "mandate already law)", f"{len(after)} of {len(res)} ({len(bound)})"))
    base = facts("baseline", "baseline")
    rows.append(("baseline: P(the Senate passes the bill)",
                 f"{np.mean(['bill_passed_senate' in f['first'] for f in base]):.3f}"))
    fork = load_scenario(CASE / "baseline.yaml").fork
    wg = [f["first"].get("wg_accepted") for f in base]
    rows.append(("baseline: P(the US accepts the working group); within 14 days of the fork",
                 f"{np.mean([w is not None for w in wg]):.3f}; "
                 f"{np.mean([w is not None and w[0] - fork <= 14 for w in wg]):.3f}"))
    ds = load_scenario(CASE / "deadline_slips.yaml")
    new_d = ds.branches[0].world.day(dt.date(2019, 12, 31))
    sus = [f["first"]["f35_suspended"] for f in facts("deadline_slips", "deadline_slips")
           if "f35_suspended" in f["first"]]
    early = [t for t, rule in sus if t < new_d and rule == "us_f35_review"]
    rows.append(("`deadline_slips`: suspensions by the US backstop review before the new "
                 "deadline",
                 f"{len(early)} of {len(sus)}"))
    wga = facts("wg_accepted_apr2019", "wg_accepted_apr2019")
    rows.append(("`wg_accepted_apr2019`: working-group meetings per world, mean and most",
                 f"{np.mean([f['wg_meetings'] for f in wga]):.1f}, "
                 f"{max(f['wg_meetings'] for f in wga)}"))
    world = load_world(CASE / "world.yaml")
    invs = getattr(world, "invariants", ()) or ()
    if invs:
        names = ["baseline", *EXPECTED]
        broken = sum(f["violations"] for nm in names for _, fs in _runs(nm).values() for f in fs)
        worlds = sum(len(fs) for nm in names for _, fs in _runs(nm).values())
        rows.insert(0, (f"invariant violations ({len(invs)} invariants), every branch of the "
                        "baseline and the teaching files", f"{broken} in {worlds} worlds"))
    else:
        rows.insert(0, ("invariant violations", "no invariants declared"))
    lines = [f"{N} replicates per branch:", "", "| check | current model |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines) + "\n"


def block_hindcast() -> str:
    rep = hindcast(CASE / "hindcast.yaml", replicates=N)
    lines = [f"Hindcast from {rep.fork}, {N} replicates:", "",
             "| event | real date | conf | model P(by horizon) | simulated 5% / 50% / 95% | "
             "percentile |", "|---|---|---|---|---|---|"]
    for r in rep.rows:
        name = f"**{r.kind}**" if r.kind in TARGETS else r.kind
        q = " / ".join(str(x) if x is not None else "never" for x in (r.q05, r.q50, r.q95))
        lines.append(f"| {name} | {r.actual} | {r.confidence} | {r.p_by_horizon:.2f} | {q} | "
                     f"{r.percentile:.0f} |")
    return "\n".join(lines) + "\n"


def blocks() -> dict[str, str]:
    out = {"files": block_files(), "baseline": block_baseline(), "checks": block_checks(),
           "hindcast": block_hindcast()}
    for name in EXPECTED:
        out[f"branch-{name}"] = block_branch(name)
    return out


def found(text: str) -> set[str]:
    """The names of the generated blocks in ``text``."""
    return set(NAME.findall(text))


def render(text: str, new: dict[str, str]) -> str:
    """``text`` with each generated block's body replaced (:func:`sim.docblock.render`;
    unknown names are an error)."""
    unknown = found(text) - set(new)
    if unknown:
        raise KeyError(f"docs/s400-model.md has generated blocks this script does not make: "
                       f"{', '.join(sorted(unknown))} (known: {', '.join(sorted(new))})")
    for name, body in new.items():
        text = docblock.render(text, f"<!-- generated:{name} -->", END, body.rstrip("\n"), DOC)
    return text


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    found_names = found(text)
    new = blocks()
    missing = sorted(set(new) - found_names)
    if missing:
        print(f"docs/s400-model.md lacks the generated blocks: {', '.join(missing)}",
              file=sys.stderr)
        return 2
    out = render(text, new)
    if "--check" in argv:
        if out != text:
            print("docs/s400-model.md is out of date: run `make docs-numbers`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(out, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
