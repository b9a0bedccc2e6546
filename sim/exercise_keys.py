"""What each checked question of the teaching notebooks asks, and how its key is computed.

Every checked question ``Q`` has a :class:`Question` in :data:`QUESTIONS`: the form an answer
takes, a hint that gives neither the value nor a direction, and ``key(**context)``, which
computes the right answer from the objects the notebook passes (the student's own runs) as a
:class:`~sim.teaching.NumberKey` (value, reading tolerance, Monte Carlo half-width) or a
:class:`~sim.teaching.ChoiceKey`. No value is stored here: keys are computed from runs, so
they follow the model. :data:`FACTS` gives, for some written questions, the numbers the model
answer quotes (used only by ``sim teaching answers``).

Questions whose honest answer may be "the model cannot tell these apart" offer
:data:`~sim.teaching.CANNOT_TELL` as an option: it is the right answer when the 95% interval
of the paired difference between the candidates includes zero.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import numpy as np

from sim import outcomes as oc
from sim.teaching import CANNOT_TELL, ChoiceKey, NumberKey

DIRECTIONS = ("higher", "lower", CANNOT_TELL)
SHAPES = ("rise", "fall", CANNOT_TELL)
SKIP_REASONS = ("negated", "conditional", "modal or future")


@attrs.frozen
class Question:
    form: str                      # what to write, for the "not answered yet" message
    hint: str
    key: Callable[..., NumberKey | ChoiceKey]


# --------------------------------------------------------------------------- building blocks

def probability(run: Any, branch: str, outcome: str, *, tol: float = 0.01) -> NumberKey:
    """P(outcome) in ``branch`` as the outcome table gives it; noise = its half-width."""
    est = run.outcomes.summary(branch, outcome)["probability"]
    return NumberKey(est.mean, tol=tol, noise=est.halfwidth)


def difference(run_a: Any, branch_a: str, run_b: Any, branch_b: str, outcome: str,
               *, tol: float = 0.01) -> NumberKey:
    """Mean paired difference a - b of ``outcome``; noise = its half-width."""
    d = oc.paired_difference(run_a.outcome_values(branch_a)[outcome],
                             run_b.outcome_values(branch_b)[outcome])
    return NumberKey(d.mean, tol=tol, noise=d.halfwidth, example="0.25 or -0.1")


def direction(a: Any, b: Any, labels: Sequence[str] = DIRECTIONS) -> ChoiceKey:
    """"higher"/"lower" if the paired interval of a - b excludes zero, else "cannot tell
    apart" (with the side of the point estimate as the near miss)."""
    d = oc.paired_difference(a, b)
    up, down, tie = labels
    if d.lo > 0:
        return ChoiceKey(up, tuple(labels))
    if d.hi < 0:
        return ChoiceKey(down, tuple(labels))
    near = (up,) if d.mean > 0 else (down,) if d.mean < 0 else ()
    return ChoiceKey(tie, tuple(labels), near=near)


def first_routes(events_per_replicate: Iterable[Sequence[Any]],
                 kind: str = "caatsa_sanctions") -> list[str | None]:
    """The rule or review behind each replicate's first ``kind`` event (None: never)."""
    out = []
    for evs in events_per_replicate:
        e = next((e for e in evs if e.kind == kind), None)
        out.append(None if e is None else e.rule)
    return out


def commonest(routes: Sequence[str | None], options: Sequence[str]) -> ChoiceKey:
    """The commonest route if it is ahead of every other beyond Monte Carlo noise (paired
    interval of the indicator difference above zero), else "cannot tell apart"; the routes
    tied with the leader are the near misses."""
    labels = tuple(options) + (CANNOT_TELL,)
    counts = Counter(r for r in routes if r is not None)
    if not counts:
        return ChoiceKey(CANNOT_TELL, labels)
    leader = max(sorted(counts), key=counts.get)
    ind = {r: np.array([x == r for x in routes], dtype=float) for r in options}
    tied = tuple(r for r in options if r != leader
                 and oc.paired_difference(ind[leader], ind[r]).lo <= 0)
    if not tied:
        return ChoiceKey(leader, labels)
    return ChoiceKey(CANNOT_TELL, labels, near=(leader, *tied))


def routes_of(world: Any, kind: str = "caatsa_sanctions") -> list[str]:
    """The ids of the rules and reviews that can produce ``kind``, sorted."""
    return sorted({r.id for r in world.rules if r.then == kind}
                  | {r.id for r in world.reviews if r.decides == kind})


def day_of(scenario: Any, date: dt.date) -> float:
    """``date`` in the scenario's time unit (days since the world's start)."""
    return scenario.fork + (date - scenario.fork_date).days


# --------------------------------------------------------------------------- the questions

def _q1_2(run: Any, scenario: Any) -> NumberKey:
    t = run.first_times("baseline", "caatsa_sanctions")
    k = int(np.sum(t <= scenario.fork + 365))
    est = oc.Estimate.proportion(k, t.size)
    return NumberKey(k / t.size, tol=0.005, noise=est.halfwidth)


def _q1_3(events: Sequence[Any], routes: Sequence[str]) -> ChoiceKey:
    first = next((e for e in events if e.kind == "caatsa_sanctions"), None)
    return ChoiceKey(first.rule if first is not None else routes[0], tuple(routes))


def _q2_2(a: Any, b: Any) -> NumberKey:
    from sim import compare

    r = compare.unpaired_difference(a, b).halfwidth / oc.paired_difference(a, b).halfwidth
    return NumberKey(float(r), tol=0.1 * abs(float(r)), noise=0.0, example="1.5")


def swings(run: Any, points: dict, outcome: str) -> dict[str, np.ndarray]:
    """Per-replicate swing high - low of ``outcome`` for each parameter of a tornado,
    signed so that its mean is positive (the bar's length)."""
    out = {}
    for path, (lo_b, hi_b, *_rest) in points.items():
        s = run.outcome_values(hi_b)[outcome] - run.outcome_values(lo_b)[outcome]
        out[path] = s if s.mean() >= 0 else -s
    return out


def _q3_1(tor: Any, points: dict, OUTCOME: str) -> ChoiceKey:
    sw = swings(tor, points, OUTCOME)
    labels = tuple(points) + (CANNOT_TELL,)
    leader = max(sw, key=lambda p: sw[p].mean())
    tied = tuple(p for p in sw if p != leader
                 and oc.paired_difference(sw[leader], sw[p]).lo <= 0)
    if not tied:
        return ChoiceKey(leader, labels)
    return ChoiceKey(CANNOT_TELL, labels, near=(leader, *tied))


def sobol_leader(rows: Sequence[dict], outcome: str, parameters: Sequence[str]) -> ChoiceKey:
    """The parameter with the largest total Sobol index for ``outcome``, or "cannot tell
    apart" when its bootstrap interval overlaps another's (no paired test exists here, so
    overlap is the conservative reading)."""
    labels = tuple(parameters) + (CANNOT_TELL,)
    st = {r["parameter"]: r for r in rows if r["outcome"] == outcome}
    leader = max(sorted(st), key=lambda p: float(st[p]["ST"]))
    tied = tuple(p for p in st if p != leader
                 and float(st[leader]["ST_lo"]) <= float(st[p]["ST_hi"]))
    if not tied:
        return ChoiceKey(leader, labels)
    return ChoiceKey(CANNOT_TELL, labels, near=(leader, *tied))


def _q3_7(sens: Any) -> ChoiceKey:
    from sim import sensitivity

    return sobol_leader(sensitivity.read_table(sens, "sobol.csv"), "activated",
                        sensitivity.manifest(sens)["parameters"])


def _q3_4(base_p: float) -> NumberKey:
    n = 1.96 ** 2 * base_p * (1 - base_p) / 0.02 ** 2
    return NumberKey(n, tol=0.15 * n, noise=0.0, example="2000")


def _q4_3(new: Any, N: int) -> NumberKey:
    hits = sum(r == "sanction_after_radar_test"
               for r in first_routes(new.iter_events("radar_red_line")))
    return NumberKey(hits / N, tol=0.005, noise=oc.Estimate.proportion(hits, N).halfwidth)


def _q5_2(result: Any) -> ChoiceKey:
    s = next((s for s in result.skipped if s.event == "s400_activated"), None)
    if s is None:
        raise LookupError("the coder did not report the activation sentence: skip question 5.2")
    return ChoiceKey(s.reason.split(" (")[0], SKIP_REASONS)


_PROB = "a fraction between 0 and 1 (for example 0.35)"
_DIFF = "a difference as a fraction (for example 0.25 or -0.1)"
_OPT = "one of the options listed above (in quotes)"

QUESTIONS: dict[str, Question] = {
    # Exercise 1: the baseline
    "1.1": Question(_PROB, "find the row 'baseline / sanctioned / probability' in the table.",
                    lambda run: probability(run, "baseline", "sanctioned")),
    "1.2": Question(_PROB, "compare t_sanctions with scenario.fork + 365 and take the mean of "
                           "the True/False array.", _q1_2),
    "1.3": Question(_OPT, "read the first line of the `why` output above.", _q1_3),
    "1.4": Question(_OPT, "count the .rule of the first caatsa_sanctions event per replicate; "
                          "then ask whether the top two differ by more than the noise.",
                    lambda run, routes: commonest(first_routes(run.iter_events("baseline")),
                                                  routes)),
    # Exercise 2: counterfactuals
    "2.1": Question(_DIFF, "the 'difference' row under sanctioned_by_2021; mind the sign.",
                    lambda hold, CF, CTL: difference(hold, CF, hold, CTL, "sanctioned_by_2021")),
    "2.2": Question("a ratio (for example 1.5)", "divide unpaired.halfwidth by "
                    "paired.halfwidth.", _q2_2),
    "2.3": Question(_OPT, "look at both ends of the interval of the difference.",
                    lambda hold, CF, CTL: direction(hold.outcome_values(CF)["batch2_signed"],
                                                    hold.outcome_values(CTL)["batch2_signed"])),
    "2.5": Question(_PROB, "the probability row of 'sanctioned' in the counterfactual column.",
                    lambda crete, CF2: probability(crete, CF2, "sanctioned")),
    "2.6": Question(_OPT, "count routes as in Exercise 1, then compare the top two with a "
                          "paired interval.",
                    lambda crete, CF2, routes: commonest(first_routes(crete.iter_events(CF2)),
                                                         routes)),
    "2.8": Question(_DIFF, "the 'difference' row under still_in_f35.",
                    lambda patriot, CF3, CTL3: difference(patriot, CF3, patriot, CTL3,
                                                          "still_in_f35")),
    "2.9": Question(_DIFF, "the 'difference' row under f35_suspended_by_2020.",
                    lambda wg, CF4, CTL4: difference(wg, CF4, wg, CTL4,
                                                     "f35_suspended_by_2020")),
    # Exercise 3: sensitivity
    "3.1": Question(_OPT, "compare the widest bar with the next one: is the gap larger than "
                          "the noise of a swing?", _q3_1),
    "3.3": Question(_OPT, "outcomes.paired_difference(last point, first point).",
                    lambda sw, points_sw, OUTCOME: direction(
                        sw.outcome_values(points_sw[-1])[OUTCOME],
                        sw.outcome_values(points_sw[0])[OUTCOME], SHAPES)),
    "3.4": Question("a number of replicates (for example 2000)",
                    "n = 1.96**2 * p * (1 - p) / 0.02**2 with p = base_p.", _q3_4),
    "3.7": Question(_OPT, "the longest 'total ST' bar of the Sobol figure for activated; do "
                          "the bootstrap intervals of the top two overlap?",
                    lambda sens: _q3_7(sens)),
    # Exercise 4: change the model
    "4.1": Question("a line number (for example 100)",
                    "the message reads FILE:LINE:COLUMN: what is wrong (hint).",
                    lambda broken_error: NumberKey(
                        next(p.line for p in broken_error.problems
                             if str(p.file).endswith("world_broken.yaml")), tol=0,
                        example="100")),
    "4.2": Question(_DIFF, "the 'difference' row under sanctioned_by_2021.",
                    lambda new, base: difference(new, "radar_red_line", base, "baseline",
                                                 "sanctioned_by_2021")),
    "4.3": Question(_PROB, "count replicates whose first caatsa_sanctions has rule == "
                           "'sanction_after_radar_test', then divide by N.", _q4_3),
    "4.4": Question(_OPT, "look at both ends of the interval of the difference.",
                    lambda new, base: direction(
                        new.outcome_values("radar_red_line")["live_test_by_2021"],
                        base.outcome_values("baseline")["live_test_by_2021"])),
    "4.6": Question(_OPT, "look at both ends of the interval of the difference under "
                          "activated.",
                    lambda new, base: direction(
                        new.outcome_values("radar_red_line")["activated"],
                        base.outcome_values("baseline")["activated"])),
    # Exercise 5: from an article to history (deterministic: no noise)
    "5.1": Question("a whole number (for example 3)",
                    "the header of the printed YAML says how many.",
                    lambda result: NumberKey(len(result.candidates), tol=0, example="3")),
    "5.2": Question(_OPT, "see 'Matched but not coded' at the end of the YAML.", _q5_2),
    "5.4": Question("a whole number (for example 2)",
                    "count the lines of the message (one problem per line).",
                    lambda problems: NumberKey(len(problems), tol=0, example="2")),
    # Exercise 6: the second case (Nord Stream 2)
    "6.1": Question(_DIFF, "the 'difference' row under complete_by_2021.",
                    lambda early, CF6, CTL6: difference(early, CF6, early, CTL6,
                                                        "complete_by_2021")),
    "6.2": Question(_OPT, "look at both ends of the interval of the difference under "
                          "complete.",
                    lambda early, CF6, CTL6: direction(early.outcome_values(CF6)["complete"],
                                                       early.outcome_values(CTL6)["complete"])),
    "6.3": Question(_OPT, "look at both ends of the interval of the difference under "
                          "joint_statement.",
                    lambda early, CF6, CTL6: direction(
                        early.outcome_values(CF6)["joint_statement"],
                        early.outcome_values(CTL6)["joint_statement"])),
    "6.5": Question(_OPT, "look at both ends of the interval of the difference under "
                          "joint_statement.",
                    lambda nowaiver, CF7, CTL7: direction(
                        nowaiver.outcome_values(CF7)["joint_statement"],
                        nowaiver.outcome_values(CTL7)["joint_statement"])),
}


# --------------------------------------------------------------------------- written facts

def _est(e: Any) -> dict:
    return {"mean": round(float(e.mean), 3), "lo": round(float(e.lo), 3),
            "hi": round(float(e.hi), 3), "n": int(e.n)}


def _f1_6(run: Any, scenario: Any) -> dict:
    t = run.first_times("baseline", "caatsa_sanctions")
    real = day_of(scenario, dt.date(2020, 12, 14))
    k = int(np.sum(t <= real))
    return {"share_by_real_date": _est(oc.Estimate.proportion(k, t.size))}


def _f2_4(hold: Any, CF: str, CTL: str) -> dict:
    out = {}
    for name, b in (("control", CTL), ("counterfactual", CF)):
        t = hold.outcome_values(b)["time_to_sanctions"]
        t = t[np.isfinite(t)]
        out[f"median_days_{name}"] = round(float(np.median(t)), 0) if t.size else None
        out[f"share_{name}"] = round(float(np.mean(np.isfinite(
            hold.outcome_values(b)["time_to_sanctions"]))), 3)
    return out


def _f3_5(tor: Any, points: dict, OUTCOME: str) -> dict:
    base = tor.outcomes.summary("tornado", OUTCOME)["probability"]
    sw = swings(tor, points, OUTCOME)
    return {"baseline": _est(base),
            "swings": {p: _est(oc.Estimate.of_mean(s, kind="difference"))
                       for p, s in sorted(sw.items(), key=lambda kv: -kv[1].mean())}}


def _f4_5(new: Any, base: Any) -> dict:
    return {"live_test_difference": _est(oc.paired_difference(
        new.outcome_values("radar_red_line")["live_test_by_2021"],
        base.outcome_values("baseline")["live_test_by_2021"]))}


def _f6_4(early: Any, CF6: str, CTL6: str) -> dict:
    v1, v0 = early.outcome_values(CF6), early.outcome_values(CTL6)
    return {"complete_control": _est(early.outcomes.summary(CTL6, "complete")["probability"]),
            "complete_counterfactual": _est(early.outcomes.summary(CF6, "complete")
                                            ["probability"]),
            "complete_by_2021_difference": _est(oc.paired_difference(
                v1["complete_by_2021"], v0["complete_by_2021"])),
            "complete_difference": _est(oc.paired_difference(v1["complete"], v0["complete"])),
            "escalation_difference": _est(oc.paired_difference(v1["escalation"],
                                                               v0["escalation"]))}


def _f6_5(nowaiver: Any, CF7: str, CTL7: str) -> dict:
    v1, v0 = nowaiver.outcome_values(CF7), nowaiver.outcome_values(CTL7)
    return {o: _est(oc.paired_difference(v1[o], v0[o]))
            for o in ("joint_statement", "friction_end", "halted")}


FACTS: dict[str, Callable[..., dict]] = {
    "1.6": _f1_6, "2.4": _f2_4, "3.5": _f3_5, "4.5": _f4_5, "6.4": _f6_4, "6.6": _f6_5,
}
