"""Review ticks that cannot fire are skipped (engine decision 12): the bound on a review's
hazard holds in every state, and runs give the same events with and without skipping, and
the same as the engine before skipping (one clock per random-phase review) recorded."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.engine
import sim.runner
from sim.seeding import replicate_rng
from sim.world import Compare, Curve, Modifier, Review

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "data" / "engine_digests_before_tick_skip.json"


# --------------------------------------------------------------------------- the bound

def hazard_bound(review):
    return sim.engine.hazard_bound(review)


def test_bound_by_hand():
    """Hand computations: the largest hazard is every raising modifier applied."""
    r = Review("r", "A", 30, "e", 0.008, None, tuple(
        Modifier(Compare(v, "==", True), m) for v, m in
        [("a", 4), ("b", 3), ("c", 1.5), ("d", 1.3), ("e", 0.5), ("f", 0.5)]))
    assert hazard_bound(r) == pytest.approx(0.008 * 4 * 3 * 1.5 * 1.3)
    r = Review("r", "A", 30, "e", 0.3)                       # a constant: itself
    assert hazard_bound(r) == 0.3
    r = Review("r", "A", 30, "e", 0.6, None, (Modifier(None, 3.0),))   # clamped to 1
    assert hazard_bound(r) == 1.0
    r = Review("r", "A", 30, "e", 0.2, None, (Modifier(Compare("a", "==", True), 0.0),
                                              Modifier(Compare("b", "==", True), 1.0, -0.5)))
    assert hazard_bound(r) == 0.2                             # modifiers only lower it
    r = Review("r", "A", 30, "e", 0.2, None, (Modifier(Compare("a", "==", True), 1.0, -0.5),
                                              Modifier(Compare("b", "==", True), -2.0)))
    # 0.2 -> [-0.3, 0.2] -> times -2 gives [-0.4, 0.6]: the hull is [-0.4, 0.6]
    assert hazard_bound(r) == pytest.approx(0.6)
    r = Review("r", "A", 30, "e", Curve("logistic", "x", {"mid": 5, "scale": 2, "max": 0.4}),
               None, (Modifier(Compare("a", "==", True), 2.0),))
    assert hazard_bound(r) == pytest.approx(0.8)
    r = Review("r", "A", 30, "e", 0.1, None, (Modifier(None, math.inf),))
    assert hazard_bound(r) == 1.0                             # no finite bound: none


def _review(base, mods):
    return Review("r", "A", 30, "e", base, None, tuple(
        Modifier(None if i == 0 and always else Compare(f"b{i}", "==", True), m, a)
        for i, (m, a, always) in enumerate(mods)))


bases = st.one_of(
    st.floats(0.0, 1.0),
    st.builds(lambda mid, scale, top: Curve("logistic", "x", {"mid": mid, "scale": scale,
                                                               "max": top}),
              st.floats(-20, 20), st.floats(0.01, 10), st.floats(0.0, 1.0)),
    st.builds(lambda p: Curve("per_unit", "x", {"p": p}), st.floats(0.0, 1.0)))
modifiers = st.lists(st.tuples(st.floats(-3, 5), st.floats(-0.5, 0.5), st.booleans()),
                     max_size=6)


@settings(max_examples=400, deadline=None)
@given(bases, modifiers, st.lists(st.booleans(), min_size=6, max_size=6),
       st.floats(-1e3, 1e3))
def test_hazard_never_exceeds_its_bound(base, mods, flags, x):
    review = _review(base, mods)
    values = {f"b{i}": f for i, f in enumerate(flags)} | {"x": x}
    bound = hazard_bound(review)
    assert 0.0 <= bound <= 1.0
    assert review.hazard(values) <= bound
    assert sim.engine._compile_hazard(review)(values) <= bound


def _worlds():
    from sim.scenario import load_scenario

    for name in ("s400", "nord_stream"):
        yield load_scenario(ROOT / "scenarios" / name / "baseline.yaml").branches[0].world


def _state_strategy(world):
    """Any values the variables can take (within their bounds; ints and floats wide)."""
    parts = {}
    for v in world.variables.values():
        if v.type == "bool":
            parts[v.name] = st.booleans()
        else:
            lo = -1e4 if v.min is None else v.min
            hi = 1e4 if v.max is None else v.max
            parts[v.name] = (st.integers(int(lo), int(hi)) if v.type == "int"
                             else st.floats(lo, hi))
    parts["date"] = st.floats(-1e4, 1e5)
    return st.fixed_dictionaries(parts)


@pytest.mark.parametrize("world", list(_worlds()), ids=lambda w: w.name)
def test_real_worlds_hazards_stay_under_their_bounds(world):
    bounds = {rv.id: hazard_bound(rv) for rv in world.reviews}
    assert any(b < 1.0 for b in bounds.values())

    @settings(max_examples=300, deadline=None)
    @given(_state_strategy(world))
    def check(values):
        for rv in world.reviews:
            assert rv.hazard(values) <= bounds[rv.id], rv.id

    check()


# --------------------------------------------------------------------------- same events

def _bench():
    spec = importlib.util.spec_from_file_location("bench_engine",
                                                  ROOT / "benchmarks" / "engine.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def recorded_cases(replicates: int = 30) -> dict[str, str]:
    """Digests of the test worlds (prefix + replicates, seed 7), using only what the
    engine offered before tick skipping, so the function also runs on that engine (it
    wrote tests/data/engine_digests_before_tick_skip.json: the engine of commit 6c9c6a4)."""
    from sim.engine import Engine
    from sim.runner import _engine, replicate_stream
    from sim.scenario import load_scenario
    from sim.store import digest_of

    def digest(eng, name):
        evs = list(eng.prefix)
        broken = []
        for i in range(replicates):
            evs += eng.run(replicate_rng(7, i), replicate_stream(name, i))
            broken.append(list(eng.violations))
        broken_digest = hashlib.sha256(repr(broken).encode()).hexdigest()[:16]
        return f"{digest_of(evs)} {len(evs)} events, invariants {broken_digest}"

    out = {}
    data = ROOT / "tests" / "data"
    for f in ("world2/scenario.yaml", "uncertain/scenario.yaml", "mini/scenario.yaml",
              "scenarios/base.yaml"):
        sc = load_scenario(data / f).replace(replicates=replicates, seed=7)
        for b, br in enumerate(sc.branches):
            out[f"{f}:{br.name}"] = digest(_engine(sc, b), br.name)
    # world2's world from day 0 (the first ticks before twice a period: see
    # Engine._candidates), with a random-phase review every 7.3 days
    w = load_scenario(data / "world2/scenario.yaml").branches[0].world
    for every in (30, 7.3):
        w2 = w.with_parameters({"reviews.alpha_provokes.every": every})
        out[f"world2 from day 0, every {every}"] = digest(Engine(w2, [], 0.0, 500.0), "x")
    bench = _bench()
    world, history = bench.bench_world()
    out["bench"] = digest(Engine(world, history, bench.FORK, bench.HORIZON), "b")
    out["bench2"] = digest(Engine(bench.bench_world2(world), history, bench.FORK,
                                  bench.HORIZON), "b")
    return out


def test_digests_as_recorded_before_tick_skipping():
    assert recorded_cases() == json.loads(RECORDED.read_text())


def _live_cases(replicates: int) -> dict[str, str]:
    from sim.runner import _engine, replicate_stream
    from sim.scenario import load_scenario
    from sim.store import digest_of

    out = {}
    for f in sorted((ROOT / "scenarios").glob("*/*.yaml")):
        text = f.read_text()
        if "\nfork:" not in text and "\nextends:" not in text:
            continue            # worlds, histories, coding and scoring files
        sc = load_scenario(f).replace(replicates=replicates, seed=7)
        for b, br in enumerate(sc.branches):
            eng = _engine(sc, b)
            evs = list(eng.prefix)
            for i in range(replicates):
                evs += eng.run(replicate_rng(7, i), replicate_stream(br.name, i))
            out[f"{f.parent.name}/{f.name}:{br.name}"] = digest_of(evs)
    return out


def test_skipping_changes_no_event_of_any_scenario(monkeypatch):
    """Every branch of every S-400 and Nord Stream scenario, the test worlds and the bench
    worlds: the same digests when every tick is evaluated (a bound of 1)."""
    skipped = _live_cases(20) | recorded_cases(20)
    assert sum(k.startswith("s400/") for k in skipped) >= 12
    assert sum(k.startswith("nord_stream/") for k in skipped) >= 6
    sim.runner._ENGINES.clear()
    monkeypatch.setattr(sim.engine, "hazard_bound", lambda review: 1.0)
    every = _live_cases(20) | recorded_cases(20)
    sim.runner._ENGINES.clear()
    assert skipped == every
