"""Benchmark of sim.engine against a bare SimPy model of the same event graph.

A world of 5 actors, 9 event types, 9 rules and 5 reviews, with 20 history
events before the fork and two years after it (about 100 occurrences per
replicate). In the same process it times:

1. ``Engine.run`` (Event records included), replicates per second, on that
   world and on the S-400 baseline (scenarios/s400/baseline.yaml);
2. a hand-written bare SimPy model of the same graph (processes and timeouts,
   plain dicts and tuples, no store, no validation, no Event records; it
   draws from one ``random.Random`` in event order, without common random
   numbers);
3. the engine's random numbers: a ``random.Random`` seeded per source (what a
   stream per rule and review would cost), ``sim.engine.uniform`` one at a
   time, and the per-replicate table; and scalar draws of ``random.Random``
   against numpy's Generator (why sim.seeding hands out ``random.Random``).

``--world2`` times the cost of world language 2's continuous constructs: the
bench world against the same world where ``tension`` decays (half-life 60
days toward 0) and two reviews' probabilities are curves of it (a logistic
and a per-unit hazard) instead of constants (target: at most 1.3x).

``--crn`` measures what common random numbers buy: for each S-400 teaching
scenario (a base branch and one changed branch), the standard error of the
paired difference of each outcome over the unpaired one (1 = no gain).
``--engine FILE`` runs everything with another engine module, e.g. the one
before synchronised streams: ``git show 8f55051:sim/engine.py > /tmp/e.py``.

Targets (docs in the engine's report): engine <= 1.5x the bare model per
replicate; >= 3,000 replicates/s on one core.

    .venv/bin/python benchmarks/engine.py            # full run (~40 s)
    .venv/bin/python benchmarks/engine.py --quick    # smoke run (~3 s)
    .venv/bin/python benchmarks/engine.py --crn      # CRN gain only (~1 min)
    .venv/bin/python benchmarks/engine.py --world2   # decay and variable hazards (~20 s)
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import math
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sim.engine  # noqa: E402
from sim import outcomes as oc  # noqa: E402
from sim.events import HISTORY, Occurrence  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.seeding import replicate_rng  # noqa: E402
from sim.world import (  # noqa: E402
    Actor,
    Delay,
    Effect,
    EventType,
    Modifier,
    Review,
    Rule,
    Variable,
    World,
    condition,
)

FORK = 400.0
HORIZON = FORK + 730.0
ROOT = Path(__file__).resolve().parents[1]
S400 = ROOT / "scenarios" / "s400"
CRN_SCENARIOS = ("no_congress_hold", "russia_wedge", "patriot_2017", "sanction_on_delivery",
                 "trump_second_term", "turkey_resells", "wg_accepted_apr2019")


def bench_world() -> tuple[World, list[Occurrence]]:
    actors = {a: Actor(a, a) for a in ("TUR", "USA", "USC", "RUS", "NATO")}
    var = {"tension": Variable("tension", "float", 0.0), "talks": Variable("talks", "bool", False),
           "sanctions": Variable("sanctions", "int", 0),
           "deliveries": Variable("deliveries", "int", 0)}

    def et(k, actor, *effects, target=None):
        return EventType(k, actor, target, k, tuple(Effect(*e) for e in effects))

    events = {e.id: e for e in [
        et("provocation", "TUR", ("tension", "add", 1.0), target="USA"),
        et("warning", "USA", ("tension", "add", 0.5), target="TUR"),
        et("bill", "USC", ("sanctions", "add", 1)),
        et("delivery", "RUS", ("deliveries", "add", 1), target="TUR"),
        et("talks_start", "NATO", ("talks", "set", True)),
        et("talks_end", "NATO", ("talks", "set", False)),
        et("deescalate", "USA", ("tension", "add", -1.5)),
        et("protest", "RUS", ("tension", "add", 0.2)),
        et("statement", "TUR"),
    ]}
    rules = (
        Rule("warn", "provocation", "warning", 0.8, Delay("exponential", {"mean": 10})),
        Rule("bill_after_warning", "warning", "bill", 0.3,
             Delay("lognormal", {"median": 30, "sigma": 0.5}),
             condition({"tension": {">=": 2}}), ("talks_start",)),
        Rule("deliver", "provocation", "delivery", 0.3, Delay("uniform", {"low": 5, "high": 40})),
        Rule("provoke_back", "delivery", "provocation", 0.4, Delay("exponential", {"mean": 20}),
             condition({"talks": False})),
        Rule("talks_last", "talks_start", "talks_end", 1.0, Delay("fixed", {"value": 60})),
        Rule("talks_calm", "talks_start", "deescalate", 0.7,
             Delay("triangular", {"low": 5, "mode": 10, "high": 30})),
        Rule("protest_bill", "bill", "protest", 0.9, Delay("choice", {"values": [1, 3, 7]})),
        Rule("statement_after", "protest", "statement", 0.5, Delay("exponential", {"mean": 5})),
        Rule("warn_delivery", "delivery", "warning", 0.5, Delay("exponential", {"mean": 15}),
             unless=("talks_start",)),
    )
    reviews = (
        Review("tur_provokes", "TUR", 14, "provocation", 0.5, None,
               (Modifier(condition({"talks": True}), 0.5),
                Modifier(condition({"tension": {">=": 5}}), 1.0, 0.05))),
        Review("nato_talks", "NATO", 30, "talks_start", 0.25, condition({"talks": False})),
        Review("usa_calms", "USA", 30, "deescalate", 0.5, condition({"tension": {">=": 3}})),
        Review("rus_delivers", "RUS", 30, "delivery", 0.1),
        Review("usc_bill", "USC", 60, "bill", 0.1, condition({"sanctions": {"<": 5}})),
    )
    world = World("bench", dt.date(2017, 1, 1), actors, var, events, rules, reviews)
    kinds = ["provocation", "warning", "delivery", "statement", "protest"]
    history = [Occurrence(float(20 * i), kinds[i % len(kinds)], HISTORY, source=f"S{i}")
               for i in range(20)]
    return world, history


def bench_world2(world: World) -> World:
    """The bench world with ``tension`` decaying and two reviews' probabilities curves of it."""
    import attrs

    from sim.world import Curve

    var = dict(world.variables)
    var["tension"] = attrs.evolve(var["tension"], half_life=60.0, rest=0.0)
    reviews = list(world.reviews)
    reviews[2] = attrs.evolve(reviews[2], probability=Curve(
        "logistic", "tension", {"mid": 3.0, "scale": 1.0, "max": 0.6}))
    reviews[3] = attrs.evolve(reviews[3], probability=Curve("per_unit", "tension", {"p": 0.03}))
    return World(world.name, world.starts, world.actors, var, world.events, world.rules,
                 tuple(reviews))


def world2_cost(eng_mod, n: int, repeats: int) -> None:
    """Replicates/s and events/s of the bench world with and without decay and curves."""
    world, history = bench_world()
    plain = eng_mod.Engine(world, history, FORK, HORIZON)
    dyn = eng_mod.Engine(bench_world2(world), history, FORK, HORIZON)
    sizes = {k: statistics.mean(len(e.run(random.Random(i), "b/0")) for i in range(500))
             for k, e in (("plain", plain), ("decay+curves", dyn))}
    best = rates({"plain": lambda i: plain.run(random.Random(i), "b/0"),
                  "decay+curves": lambda i: dyn.run(random.Random(i), "b/0")}, n, repeats)
    print(f"world language 2 cost, best of {repeats} x {n} replicates (CPU):")
    for k, (_w, c) in best.items():
        print(f"  {k:14s} {c:8,.0f} replicates/s {1e6 / c:6.0f} us, {sizes[k]:.1f} events "
              f"per replicate, {1e6 / c / sizes[k]:.2f} us per event")
    per_rep = best["plain"][1] / best["decay+curves"][1]
    per_event = per_rep * sizes["plain"] / sizes["decay+curves"]
    print(f"ratio decay+curves / plain: {per_rep:.2f}x per replicate, {per_event:.2f}x per "
          f"event (target <= 1.3x)")


# --------------------------------------------------------------------------- bare SimPy


def bare_model(world: World, history: list[Occurrence], callbacks: bool = False):
    """The same graph written directly in SimPy: returns run(rng) -> list of (time, kind).

    ``callbacks=False``: the textbook style, a process per review and per pending
    consequence. ``callbacks=True``: Timeouts with callbacks, no processes (the
    leanest plain-SimPy style; the engine's own style).
    """
    effects = {k: [(e.var, e.op == "set", e.value) for e in et.effects]
               for k, et in world.events.items()}
    rules_on: dict[str, list] = {}
    for r in world.rules:
        fixed = float(r.delay.params["value"]) if r.delay.kind == "fixed" else None
        rules_on.setdefault(r.on, []).append(
            (r.id, r.then, r.probability, fixed, r.delay.draw,
             r.when.holds if r.when else None, r.unless))
    cancels: dict[str, list[str]] = {}
    for r in world.rules:
        for u in r.unless:
            cancels.setdefault(u, []).append(r.id)
    reviews = [(rv.every, rv.decides, rv.when.holds if rv.when else None, rv.hazard)
               for rv in world.reviews]
    initial = world.initial_state()
    hist = [(o.time, o.kind) for o in history if o.time < FORK]

    def run(rng: random.Random) -> list[tuple[float, str]]:
        env = simpy.Environment()
        values = dict(initial)
        log: list[tuple[float, str]] = []
        pending: dict[str, list[list[bool]]] = {}

        def occur(kind: str) -> None:
            now = env.now
            if now >= FORK:
                log.append((now, kind))
            for var, is_set, v in effects[kind]:
                values[var] = v if is_set else values[var] + v
            for rid in cancels.get(kind, ()):
                for flag in pending.pop(rid, ()):
                    flag[0] = True
            for rid, then, p, fixed, draw, when, unless in rules_on.get(kind, ()):
                if when is not None and not when(values):
                    continue
                if p < 1.0 and rng.random() >= p:
                    continue
                d = fixed if fixed is not None else draw(rng)
                if now + d < FORK or now + d > HORIZON:
                    continue
                flag = [False]
                if unless:
                    pending.setdefault(rid, []).append(flag)
                if callbacks:
                    simpy.Timeout(env, d, (then, when, flag)).callbacks.append(due)
                else:
                    env.process(consequence(d, then, when, flag))

        def due(ev):
            then, when, flag = ev.value
            if not flag[0] and (when is None or when(values)):
                occur(then)

        def tick(ev):
            every, decides, when, hazard = rv = ev.value
            if when is None or when(values):
                h = hazard(values)
                if h >= 1.0 or (h > 0.0 and rng.random() < h):
                    occur(decides)
            if env.now + every <= HORIZON:
                simpy.Timeout(env, every, rv).callbacks.append(tick)

        def happen(ev):
            occur(ev.value)

        def consequence(d, then, when, flag):
            yield env.timeout(d)
            if not flag[0] and (when is None or when(values)):
                occur(then)

        def past():
            for t, kind in hist:
                yield env.timeout(t - env.now)
                occur(kind)

        def review(every, decides, when, hazard):
            yield env.timeout(FORK + every)
            while True:
                if when is None or when(values):
                    h = hazard(values)
                    if h >= 1.0 or (h > 0.0 and rng.random() < h):
                        occur(decides)
                if env.now + every > HORIZON:
                    return
                yield env.timeout(every)

        if callbacks:
            for t, kind in hist:
                simpy.Timeout(env, t, kind).callbacks.append(happen)
            for rv in reviews:
                simpy.Timeout(env, FORK + rv[0], rv).callbacks.append(tick)
        else:
            env.process(past())
            for rv in reviews:
                env.process(review(*rv))
        env.run()
        return log

    return run


# --------------------------------------------------------------------------- timing


def rate(fn, n: int) -> tuple[float, float]:
    """Replicates/s of ``fn(i)`` for i in range(n): by wall clock and by CPU time."""
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - w0), n / (time.process_time() - c0)


def rates(contenders: dict, n: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Best wall and CPU rates of each contender, timed in turn (A B C A B C ...) so that
    a change of load on the shared machine hits them alike."""
    best = {k: (0.0, 0.0) for k in contenders}
    for _ in range(repeats):
        for k, fn in contenders.items():
            w, c = rate(fn, n)
            best[k] = (max(best[k][0], w), max(best[k][1], c))
    return best


def draws_per_second(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def load_engine(path: str | None):
    """The engine module to measure: sim.engine, or another version of it from a file."""
    if path is None:
        return sim.engine
    spec = importlib.util.spec_from_file_location("engine_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def branch_engine(eng_mod, scenario, b: int):
    br = scenario.branches[b]
    return eng_mod.Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                          suppress=br.suppress)


def crn_gain(eng_mod, n: int) -> None:
    """Paired over unpaired standard errors of every outcome, per teaching scenario."""
    print(f"common random numbers: SE(paired difference) / SE(unpaired), {n} replicates "
          f"per branch (1 = no gain; outcomes constant in both branches left out)")
    every: list[float] = []
    for name in CRN_SCENARIOS:
        sc = load_scenario(S400 / f"{name}.yaml")
        cols = []
        for b in (0, 1):
            br = sc.branches[b]
            eng = branch_engine(eng_mod, sc, b)
            ev = oc.Evaluator(sc.outcomes, br.world, br.fork, br.horizon)
            cap = br.horizon - br.fork
            rows = [ev([*eng.prefix, *eng.run(replicate_rng(sc.seed, i), "s")])
                    for i in range(n)]
            cols.append({k: [min(r[k], cap) for r in rows] for k in rows[0]})
        ratios = {}
        for k in cols[0]:
            a, c = cols[0][k], cols[1][k]
            unpaired = math.sqrt(statistics.pvariance(a) + statistics.pvariance(c))
            if unpaired > 0:
                ratios[k] = statistics.pstdev([x - y for x, y in zip(a, c)]) / unpaired
        every += ratios.values()
        changed = sorted(ratios, key=ratios.get)
        print(f"  {name:22s} median {statistics.median(ratios.values()):.2f}  "
              f"[{min(ratios.values()):.2f} .. {max(ratios.values()):.2f}] over "
              f"{len(ratios)} outcomes; tightest {changed[0]} {ratios[changed[0]]:.2f}")
    q = statistics.quantiles(every, n=4)
    print(f"  all: median {statistics.median(every):.2f}, quartiles {q[0]:.2f} / {q[2]:.2f}, "
          f"{sum(r < 0.5 for r in every)} of {len(every)} below 0.5")


def random_numbers(eng_mod, engines: dict, m: int) -> None:
    """The cost of the engine's random numbers."""
    if not hasattr(eng_mod, "uniform"):
        return
    t0 = time.perf_counter()
    for i in range(m // 10):
        random.Random(i)
    seed_us = (time.perf_counter() - t0) / (m // 10) * 1e6
    t0 = time.perf_counter()
    for i in range(m):
        eng_mod.uniform(12345, 678, i)
    uni_us = (time.perf_counter() - t0) / m * 1e6
    print(f"random numbers: seeding a random.Random {seed_us:.2f} us (per source, if each "
          f"had one); sim.engine.uniform {uni_us:.2f} us each")
    for name, eng in engines.items():
        k = m // 100
        t0 = time.perf_counter()
        for i in range(k):
            eng._table(i)
        size = len(eng._table(0))
        print(f"  {name}: table of {size} uniforms per replicate, "
              f"{(time.perf_counter() - t0) / k * 1e6:.1f} us")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run (few replicates)")
    ap.add_argument("--replicates", type=int, default=None)
    ap.add_argument("--crn", action="store_true", help="only the common-random-numbers gain")
    ap.add_argument("--engine", default=None, help="an engine module file to measure instead")
    ap.add_argument("--world2", action="store_true",
                    help="only the cost of decay and variable hazards")
    args = ap.parse_args(argv)
    n = args.replicates or (300 if args.quick else 5000)
    repeats = 1 if args.quick else 3
    eng_mod = load_engine(args.engine)
    print(f"python {platform.python_version()}, simpy {simpy.__version__}, "
          f"numpy {np.__version__}, {platform.machine()}; engine {eng_mod.__file__}")
    if args.crn:
        crn_gain(eng_mod, args.replicates or (200 if args.quick else 2000))
        return 0
    if args.world2:
        world2_cost(eng_mod, n if args.replicates or args.quick else 3000, repeats)
        return 0

    world, history = bench_world()
    engine = eng_mod.Engine(world, history, FORK, HORIZON)
    s400 = load_scenario(S400 / "baseline.yaml")
    s400_engine = branch_engine(eng_mod, s400, 0)
    bare = bare_model(world, history)
    lean = bare_model(world, history, callbacks=True)
    print(f"world: {len(world.actors)} actors, {len(world.events)} event types, "
          f"{len(world.rules)} rules, {len(world.reviews)} reviews; "
          f"{len(engine.prefix)} events before the fork, {HORIZON - FORK:g} days after")
    sw = s400.branches[0].world
    print(f"S-400 baseline: {len(sw.events)} event types, {len(sw.rules)} rules, "
          f"{len(sw.reviews)} reviews; {len(s400_engine.prefix)} events before the fork")

    sizes = [len(engine.run(random.Random(i), "b/0")) for i in range(min(n, 1000))]
    s400_sizes = [len(s400_engine.run(random.Random(i), "b/0")) for i in range(min(n, 1000))]
    bare_sizes = [len(bare(random.Random(i))) for i in range(min(n, 1000))]
    lean_sizes = [len(lean(random.Random(i))) for i in range(min(n, 1000))]
    print(f"occurrences per replicate after the fork (means; the bare models break ties and "
          f"draw differently): engine {statistics.mean(sizes):.1f}, bare "
          f"{statistics.mean(bare_sizes):.1f}, bare callbacks {statistics.mean(lean_sizes):.1f};"
          f" S-400 baseline {statistics.mean(s400_sizes):.1f}")

    best = rates({"engine (random.Random)": lambda i: engine.run(random.Random(i), "b/0"),
                  "bare SimPy model": lambda i: bare(random.Random(i)),
                  "bare SimPy, callbacks": lambda i: lean(random.Random(i)),
                  "engine, S-400 baseline": lambda i: s400_engine.run(random.Random(i), "b/0"),
                  "random.Random(i) alone": lambda i: random.Random(i)}, n, repeats)
    print(f"best of {repeats} x {n} replicates, timed in turn:      wall            CPU")
    for k, (w, c) in best.items():
        print(f"  {k:26s} {w:9,.0f}/s {1e6 / w:5.0f} us  {c:9,.0f}/s {1e6 / c:5.0f} us")
    eng_w, eng_c = best["engine (random.Random)"]
    bare_w, bare_c = best["bare SimPy model"]
    lean_c = best["bare SimPy, callbacks"][1]
    print(f"ratio engine / bare per replicate: {bare_w / eng_w:.2f}x wall, "
          f"{bare_c / eng_c:.2f}x CPU  (target <= 1.5x); engine / bare callbacks "
          f"{lean_c / eng_c:.2f}x CPU")
    print(f"engine >= 3,000 replicates/s (CPU): {'yes' if eng_c >= 3000 else 'NO'}; "
          f"{eng_c * statistics.mean(sizes):,.0f} events/s")

    m = 20000 if args.quick else 200000
    random_numbers(eng_mod, {"bench world": engine, "S-400 baseline": s400_engine}, m)
    r = random.Random(1)
    g = np.random.default_rng(1)
    pairs = [("uniform [0,1)", r.random, g.random),
             ("exponential", lambda: r.expovariate(0.02), lambda: g.exponential(50.0)),
             ("lognormal", lambda: r.lognormvariate(math.log(30), 0.5),
              lambda: g.lognormal(math.log(30), 0.5))]
    print("scalar draws (millions/s): random.Random vs numpy Generator")
    for name, a, b in pairs:
        ra, rb = draws_per_second(a, m), draws_per_second(b, m)
        print(f"  {name:14s} {ra / 1e6:6.2f} vs {rb / 1e6:6.2f}  ({ra / rb:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
