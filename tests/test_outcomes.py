"""Tests of sim.outcomes: measures on small hand-written logs, intervals against
published or hand-computed values, and properties (hypothesis)."""
from __future__ import annotations

import csv
import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.events import HISTORY, INJECTED, SIMULATED, Event
from sim.outcomes import (
    Estimate,
    Evaluator,
    OutcomeSpec,
    OutcomeTable,
    check,
    cumulative_incidence,
    evaluate,
    evaluate_all,
    first_of_tree,
    first_of_tree_times,
    first_sequence,
    halfwidth_curve,
    median_interval,
    paired_difference,
    summarize,
    t_quantile,
    wilson,
)
from sim.state import as_of
from sim.world import Actor, Effect, EventType, Variable, World

Z = 1.96


def make_world() -> World:
    return World(
        "toy", dt.date(2019, 1, 1),
        {"TUR": Actor("TUR", "Turkey"), "USA": Actor("USA", "United States")},
        {"delivered": Variable("delivered", "bool", False),
         "active": Variable("active", "bool", False),
         "sanctioned": Variable("sanctioned", "bool", False),
         "tension": Variable("tension", "int", 0)},
        {"delivered": EventType("delivered", effects=(Effect("delivered", "set", True),
                                                      Effect("tension", "add", 1))),
         "activated": EventType("activated", effects=(Effect("active", "set", True),)),
         "sanctions": EventType("sanctions", effects=(Effect("sanctioned", "set", True),)),
         "talks": EventType("talks"),
         "offer": EventType("offer")})


W = make_world()
FORK, HORIZON = 100.0, 365.0


def log(*items: tuple[float, str]) -> list[Event]:
    out = []
    for i, (t, k) in enumerate(items):
        origin = HISTORY if t < FORK else SIMULATED
        out.append(Event("b/0", i + 1, float(t), k, origin=origin))
    return out


# v1 delivered@10, v2 talks@40, v3 delivered@40, v4 offer@120, v5 activated@150,
# v6 talks@200, v7 sanctions@300
LOG = log((10, "delivered"), (40, "talks"), (40, "delivered"), (120, "offer"),
          (150, "activated"), (200, "talks"), (300, "sanctions"))


def ev(spec: OutcomeSpec, events=LOG, horizon=HORIZON) -> float:
    return evaluate(spec, events, W, FORK, horizon)


# --------------------------------------------------------------------------- measures

def test_occurs_by_is_inclusive_and_defaults_to_horizon():
    assert ev(OutcomeSpec("a", "occurs", event="activated", by=149.0)) == 0.0
    assert ev(OutcomeSpec("a", "occurs", event="activated", by=150.0)) == 1.0
    assert ev(OutcomeSpec("a", "occurs", event="sanctions")) == 1.0
    assert ev(OutcomeSpec("a", "occurs", event="sanctions"), horizon=299.0) == 0.0
    # an occurrence in the history prefix counts
    assert ev(OutcomeSpec("a", "occurs", event="delivered", by=FORK)) == 1.0
    assert ev(OutcomeSpec("a", "occurs", event="talks", by=39.0)) == 0.0


def test_time_to_from_fork_with_censoring_and_prefix():
    assert ev(OutcomeSpec("t", "time_to", event="activated")) == 50.0
    assert ev(OutcomeSpec("t", "time_to", event="sanctions")) == 200.0
    # censored: occurs after the horizon, or never
    assert ev(OutcomeSpec("t", "time_to", event="sanctions"), horizon=250.0) == math.inf
    assert ev(OutcomeSpec("t", "time_to", event="activated"), events=LOG[:4]) == math.inf
    # already happened before the fork: 0, not negative (and not the later occurrence)
    assert ev(OutcomeSpec("t", "time_to", event="delivered")) == 0.0
    assert ev(OutcomeSpec("t", "time_to", event="talks")) == 0.0
    # exactly at the fork
    assert evaluate(OutcomeSpec("t", "time_to", event="offer"), LOG, W, 120.0, HORIZON) == 0.0


def test_state_at_dates():
    assert ev(OutcomeSpec("s", "state", var="active", at=149.0)) == 0.0
    assert ev(OutcomeSpec("s", "state", var="active", at=150.0)) == 1.0
    assert ev(OutcomeSpec("s", "state", var="sanctioned")) == 1.0
    assert ev(OutcomeSpec("s", "state", var="sanctioned"), horizon=299.0) == 0.0
    assert ev(OutcomeSpec("s", "state", var="tension", at=39.0)) == 1.0
    assert ev(OutcomeSpec("s", "state", var="tension")) == 2.0
    assert ev(OutcomeSpec("s", "state", var="tension", at=5.0)) == 0.0


def test_state_on_a_stream_out_of_time_order_matches_as_of():
    # stream order is not time order: the fold must still take only time <= at
    evs = [Event("b/0", 1, 10.0, "delivered"), Event("b/0", 2, 5.0, "delivered"),
           Event("b/0", 3, 7.0, "sanctions")]
    spec = [OutcomeSpec("x", "state", var="tension", at=7.0),
            OutcomeSpec("y", "state", var="sanctioned", at=6.0)]
    assert evaluate_all(spec, evs, W, FORK, HORIZON) == {"x": 1.0, "y": 0.0}


def test_count_by():
    assert ev(OutcomeSpec("c", "count", event="talks")) == 2.0
    assert ev(OutcomeSpec("c", "count", event="talks", by=199.0)) == 1.0
    assert ev(OutcomeSpec("c", "count", event="talks", by=200.0)) == 2.0
    assert ev(OutcomeSpec("c", "count", event="delivered", by=40.0)) == 2.0
    assert ev(OutcomeSpec("c", "count", event="activated", by=10.0)) == 0.0


def test_first_with_ties_and_none():
    assert ev(OutcomeSpec("f", "first", events=("sanctions", "activated", "talks"))) == 2.0
    assert ev(OutcomeSpec("f", "first", events=("sanctions", "activated"))) == 1.0
    assert ev(OutcomeSpec("f", "first", events=("activated", "sanctions"), by=149.0)) == -1.0
    assert ev(OutcomeSpec("f", "first", events=("talks", "delivered"))) == 1.0
    tie = LOG[1:3]                       # talks@40 and delivered@40
    assert ev(OutcomeSpec("f", "first", events=("delivered", "talks")), tie) == 0.0
    assert ev(OutcomeSpec("f", "first", events=("talks", "delivered")), tie) == 0.0
    assert ev(OutcomeSpec("f", "first", events=("offer",)), []) == -1.0


def test_unknown_variable_is_a_clear_error_and_check_finds_it():
    with pytest.raises(ValueError, match="did you mean 'sanctioned'"):
        ev(OutcomeSpec("s", "state", var="sanctiond"))
    with pytest.raises(ValueError, match="unknown state variable 'x'"):
        Evaluator([OutcomeSpec("s", "state", var="x")], W, FORK, HORIZON)
    assert check(OutcomeSpec("s", "state", var="sanctioned"), W) == []
    msgs = check(OutcomeSpec("o", "occurs", event="activatd"), W)
    assert len(msgs) == 1 and "unknown event 'activatd'" in msgs[0] and "activated" in msgs[0]
    assert "unknown measure" in check(OutcomeSpec("o", "ocurs", event="x"), W)[0]
    assert check(OutcomeSpec("f", "first", events=()), W)


# --------------------------------------------------------------------------- intervals

@pytest.mark.parametrize("k,n,lo,hi", [
    # Newcombe (1998), Stat Med 17:857, Table I, method 3 (Wilson score, no correction)
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_published_values(k, n, lo, hi):
    p, a, b = wilson(k, n)
    assert p == pytest.approx(k / n)
    assert (round(a, 4), round(b, 4)) == (lo, hi)


@pytest.mark.parametrize("n", [1, 5, 10, 263])
def test_wilson_edges_closed_form(n):
    p, lo, hi = wilson(0, n)
    assert (p, lo) == (0.0, 0.0) and hi == pytest.approx(Z * Z / (n + Z * Z))
    p, lo, hi = wilson(n, n)
    assert (p, hi) == (1.0, 1.0) and lo == pytest.approx(n / (n + Z * Z))
    p, lo, hi = wilson(0, 0)
    assert math.isnan(p) and (lo, hi) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(n + 1, n)


def test_wilson_vectorised_matches_scalar():
    k = np.array([0, 3, 81, 10])
    n = np.array([10, 10, 263, 10])
    p, lo, hi = wilson(k, n)
    for i in range(4):
        assert (p[i], lo[i], hi[i]) == pytest.approx(wilson(int(k[i]), int(n[i])))


@pytest.mark.parametrize("q,df,value", [
    (0.975, 1, 12.7062), (0.975, 9, 2.2622), (0.975, 30, 2.0423), (0.995, 5, 4.0321),
    (0.95, 2, 2.9200), (0.025, 9, -2.2622),
])
def test_t_quantile_table(q, df, value):
    assert round(t_quantile(q, df), 4) == value


def test_mean_estimate_by_hand():
    e = Estimate.of_mean([1, 2, 3, 4, 5])
    # sd = sqrt(2.5), se = 0.70711, t(0.975, 4) = 2.776445
    assert (e.mean, e.n) == (3.0, 5)
    assert (e.lo, e.hi) == pytest.approx((3 - 1.963243, 3 + 1.963243), abs=1e-5)
    one = Estimate.of_mean([4.0])
    assert one.mean == 4.0 and math.isnan(one.lo)


def test_paired_difference_by_hand():
    d = paired_difference([3, 5, 4, 6], [1, 4, 4, 3])
    # d = 2, 1, 0, 3: mean 1.5, sd = sqrt(5/3), se = 0.645497, t(0.975, 3) = 3.182446
    assert d.mean == 1.5 and d.n == 4 and d.kind == "difference"
    assert (d.lo, d.hi) == pytest.approx((1.5 - 2.054260, 1.5 + 2.054260), abs=1e-5)
    same = paired_difference([1, 0, 1], [1, 0, 1])
    assert (same.mean, same.lo, same.hi) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same replicates"):
        paired_difference([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1, np.inf], [1, 2])


def test_cumulative_incidence_by_hand():
    times = [5, 10, np.inf, 20, 10]
    grid = [0, 5, 9.9, 10, 20, 30, 40]
    p, lo, hi = cumulative_incidence(times, grid, horizon=30)
    assert p[:6] == pytest.approx([0, 0.2, 0.2, 0.6, 0.8, 0.8])
    k = np.array([0, 1, 1, 3, 4, 4])
    _, wlo, whi = wilson(k, np.full(6, 5))
    assert lo[:6] == pytest.approx(wlo) and hi[:6] == pytest.approx(whi)
    assert np.isnan(p[6]) and np.isnan(lo[6]) and np.isnan(hi[6])   # beyond the horizon


def test_median_interval_order_statistics():
    # n = 100: the 95% distribution-free interval is the 40th and 61st order statistics
    e = median_interval(np.arange(1, 101))
    assert (e.mean, e.lo, e.hi) == (50.5, 40.0, 61.0)
    small = median_interval([3.0, 1.0, 2.0])
    assert small.mean == 2.0 and small.lo == -math.inf and small.hi == math.inf


def test_halfwidth_curve():
    x = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=float)
    h = halfwidth_curve(x, [4, 8])
    _, lo4, hi4 = wilson(3, 4, 1.959964)
    _, lo8, hi8 = wilson(4, 8, 1.959964)
    assert h == pytest.approx([(hi4 - lo4) / 2, (hi8 - lo8) / 2], rel=1e-6)
    y = np.array([1, 2, 3, 4, 5, 100.0])
    hy = halfwidth_curve(y, [1, 5, 6])
    assert math.isnan(hy[0]) and hy[1] == pytest.approx(1.963243, abs=1e-5)
    assert hy[2] == pytest.approx(Estimate.of_mean(y).halfwidth)
    # censored times: the half-width of P(by horizon)
    t = np.array([3.0, np.inf, 5.0, np.inf])
    assert halfwidth_curve(t, [4]) == pytest.approx(halfwidth_curve([1, 0, 1, 0], [4]))
    with pytest.raises(ValueError):
        halfwidth_curve(x, [9])


# --------------------------------------------------------------------------- summaries

def test_summaries_per_measure():
    s = summarize(OutcomeSpec("o", "occurs", event="a"), [1, 0, 1, 1])
    assert [k for k, _ in s.stats] == ["probability"]
    assert (s.main.mean, s.main.lo, s.main.hi) == pytest.approx(wilson(3, 4, 1.959964))

    t = summarize(OutcomeSpec("t", "time_to", event="a"), [5, np.inf, 10, 20, np.inf, 0])
    assert t["probability_by_horizon"].mean == pytest.approx(4 / 6)
    assert t["median_days_if_occurs"].mean == 7.5 and t["median_days_if_occurs"].n == 4
    assert t.quantiles[0.25] == 3.75 and t.quantiles[0.9] == pytest.approx(17.0)

    b = summarize(OutcomeSpec("s", "state", var="v"), [1, 0, 0, 1])
    assert b.stats[0][0] == "share" and b.main.mean == 0.5 and b.main.kind == "probability"
    m = summarize(OutcomeSpec("s", "state", var="v"), [2, 3, 4])
    assert m.stats[0][0] == "mean" and m.main.mean == 3.0
    assert m.main.halfwidth == pytest.approx(t_quantile(0.975, 2) * 1 / math.sqrt(3))

    c = summarize(OutcomeSpec("c", "count", event="a"), [0, 1, 1, 2])
    assert c.main.mean == 1.0

    f = summarize(OutcomeSpec("f", "first", events=("a", "b")), [0, 1, -1, 0, 0])
    assert [(k, e.mean) for k, e in f.stats] == [("first:a", 0.6), ("first:b", 0.2),
                                                ("first:none", 0.2)]
    with pytest.raises(KeyError, match="first:a"):
        f["nope"]


def make_table() -> OutcomeTable:
    specs = [OutcomeSpec("act", "occurs", event="a", label="acted"),
             OutcomeSpec("ttt", "time_to", event="a", label="days to a")]
    values = {"baseline": {"act": [1, 0, 1, 1], "ttt": [5, np.inf, 10, 20]},
              "no_deal": {"act": [0, 0, 1, 0], "ttt": [np.inf, np.inf, 3, np.inf]}}
    return OutcomeTable.from_values(specs, values)


def test_table_csv(tmp_path):
    path = make_table().to_csv(tmp_path / "outcomes.csv")
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["branch", "outcome", "label", "measure", "estimate", "lo", "hi", "n"]
    assert [r["label"] for r in rows] == ["acted", "days to a", "days to a"] * 2
    assert [(r["branch"], r["outcome"], r["measure"]) for r in rows] == [
        ("baseline", "act", "probability"), ("baseline", "ttt", "probability_by_horizon"),
        ("baseline", "ttt", "median_days_if_occurs"), ("no_deal", "act", "probability"),
        ("no_deal", "ttt", "probability_by_horizon"), ("no_deal", "ttt", "median_days_if_occurs")]
    assert float(rows[0]["estimate"]) == 0.75 and rows[0]["n"] == "4"
    assert float(rows[0]["lo"]) == pytest.approx(wilson(3, 4, 1.959964)[1], abs=1e-7)
    assert float(rows[2]["estimate"]) == 10.0 and rows[2]["n"] == "3"


def test_table_text_html_pandas():
    table = make_table()
    text = str(table).splitlines()
    assert len(text) == 2 + 6
    assert text[0].split()[:4] == ["branch", "outcome", "label", "measure"]
    assert text[2].split()[:4] == ["baseline", "act", "acted", "probability"]
    assert len({len(line) for line in text}) == 1          # aligned: the n column is flush right
    assert "0.750  [0.301, 0.954]" in text[2]
    html = table._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == 7
    assert "<td>act</td><td>acted</td>" in html
    assert table.summary("no_deal", "act").main.mean == 0.25
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs pandas"):
            table.to_pandas()
    else:
        assert table.to_pandas().shape == (6, 8)


def test_table_from_run_uses_the_run_interface():
    class Scenario:
        outcomes = (OutcomeSpec("act", "occurs", event="a"),)

    class Run:
        scenario = Scenario()

        def branch_names(self):
            return ["x"]

        def outcome_values(self, b):
            return {"act": np.array([1.0, 1.0, 0.0])}

    t = OutcomeTable.from_run(Run())
    assert t.summary("x", "act").main.mean == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- tree

def test_first_of_tree_by_hand():
    s1 = [Event("b/0", 1, 5.0, "activated"), Event("b/0", 2, 10.0, "sanctions")]
    s2 = [Event("b/1", 1, 5.0, "activated"), Event("b/1", 2, 6.0, "activated")]
    s3 = [Event("b/2", 1, 1.0, "talks")]
    s4 = [Event("b/3", 1, 3.0, "sanctions"), Event("b/3", 2, 3.0, "activated")]  # tie
    kinds = ("activated", "sanctions")
    tree = first_of_tree([s1, s2, s3, s4], kinds)
    assert tree == {("activated", "sanctions"): 0.5, (): 0.25, ("activated",): 0.25}
    assert list(tree) == [("activated", "sanctions"), (), ("activated",)]
    assert first_sequence(s1, kinds, by=9.0) == ("activated",)
    assert first_of_tree([], kinds) == {}


def _first_times(streams, kinds):
    return {k: np.array([min([e.time for e in s if e.kind == k], default=np.inf)
                         for s in streams]) for k in kinds}


def test_first_of_tree_times_by_hand():
    s1 = [Event("b/0", 1, 5.0, "activated"), Event("b/0", 2, 10.0, "sanctions")]
    s2 = [Event("b/1", 1, 5.0, "activated"), Event("b/1", 2, 6.0, "activated")]
    s3 = [Event("b/2", 1, 1.0, "talks")]
    s4 = [Event("b/3", 1, 3.0, "sanctions"), Event("b/3", 2, 3.0, "activated")]  # tie
    kinds = ("activated", "sanctions")
    tree = first_of_tree_times(_first_times([s1, s2, s3, s4], kinds), kinds)
    # the tie at day 3 goes to the order of `kinds`, as in first_of_tree
    assert tree == {("activated", "sanctions"): 0.5, (): 0.25, ("activated",): 0.25}
    assert list(tree) == [("activated", "sanctions"), (), ("activated",)]
    assert first_of_tree_times(_first_times([s1], kinds), kinds, by=9.0) == {("activated",): 1.0}
    assert first_of_tree_times({k: np.array([]) for k in kinds}, kinds) == {}


# --------------------------------------------------------------------------- properties

KINDS = ("delivered", "activated", "sanctions", "talks")


@st.composite
def streams(draw):
    items = draw(st.lists(st.tuples(st.integers(0, 400), st.sampled_from(KINDS)), max_size=12))
    items.sort(key=lambda x: x[0])
    return [Event("b/0", i + 1, float(t), k, origin=INJECTED) for i, (t, k) in enumerate(items)]


@settings(max_examples=60, deadline=None)
@given(streams(), st.sampled_from(KINDS), st.floats(0, 400), st.floats(0, 400))
def test_occurs_by_is_monotone(evs, kind, b1, b2):
    lo, hi = sorted((b1, b2))
    a = ev(OutcomeSpec("o", "occurs", event=kind, by=lo), evs)
    b = ev(OutcomeSpec("o", "occurs", event=kind, by=hi), evs)
    assert a <= b
    assert ev(OutcomeSpec("c", "count", event=kind, by=hi), evs) >= b


@settings(max_examples=30, deadline=None)
@given(st.lists(streams(), min_size=1, max_size=15), st.sampled_from(KINDS),
       st.floats(0, 200), st.floats(200, 400))
def test_cumulative_incidence_monotone_and_ends_at_occurs_share(pop, kind, fork, horizon):
    tt = OutcomeSpec("t", "time_to", event=kind)
    oc = OutcomeSpec("o", "occurs", event=kind)
    times = [evaluate(tt, s, W, fork, horizon) for s in pop]
    occ = [evaluate(oc, s, W, fork, horizon) for s in pop]
    grid = np.linspace(0, horizon - fork, 25)
    p, lo, hi = cumulative_incidence(times, grid, horizon - fork)
    assert np.all(np.diff(p) >= 0) and np.all(lo <= p) and np.all(p <= hi)
    assert p[-1] == pytest.approx(np.mean(occ))


@settings(max_examples=40, deadline=None)
@given(streams(), st.floats(0, 400), st.floats(0, 400))
def test_evaluate_all_equals_evaluate(evs, by, at):
    specs = [OutcomeSpec("o", "occurs", event="activated", by=by),
             OutcomeSpec("t", "time_to", event="sanctions"),
             OutcomeSpec("s", "state", var="tension", at=at),
             OutcomeSpec("s2", "state", var="active"),
             OutcomeSpec("c", "count", event="delivered", by=by),
             OutcomeSpec("f", "first", events=("sanctions", "activated", "talks"))]
    allv = evaluate_all(specs, evs, W, FORK, 300.0)
    assert allv == {s.id: evaluate(s, evs, W, FORK, 300.0) for s in specs}
    assert Evaluator(specs, W, FORK, 300.0)(evs) == allv
    assert allv["s"] == float(as_of(W, evs, at)["tension"])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.integers(0, 500))
def test_wilson_contains_p_and_stays_in_unit_interval(k, extra):
    n = k + extra
    if n == 0:
        return
    p, lo, hi = wilson(k, n)
    assert 0.0 <= lo <= p <= hi <= 1.0


def test_estimates_display_rounded_with_what_they_are():
    e = Estimate.proportion(81, 263)
    assert repr(e) == "Estimate(probability 0.308, 95% interval [0.255, 0.366], n=263)"


@settings(max_examples=80, deadline=None)
@given(many=st.lists(streams(), max_size=25),
       kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4, unique=True),
       by=st.sampled_from([math.inf, 200.0, 0.0]))
def test_first_of_tree_times_equals_reading_every_event(many, kinds, by):
    """The vectorised tree (what `sim plot` uses) equals the one read from events."""
    want = first_of_tree(many, kinds, by)
    got = first_of_tree_times(_first_times(many, kinds), kinds, by)
    assert got == want and list(got) == list(want)


def decaying_world() -> World:
    """W with ``heat`` decaying (half-life 30 days toward 1, bounded to [0, 10])."""
    var = dict(W.variables)
    var["heat"] = Variable("heat", "float", 4.0, min=0.0, max=10.0, half_life=30.0, rest=1.0)
    events = dict(W.events)
    events["talks"] = EventType("talks", effects=(Effect("heat", "add", -2.5),))
    events["offer"] = EventType("offer", effects=(Effect("heat", "add", 3.0),))
    return World("toy2", W.starts, W.actors, var, events)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.sampled_from(KINDS)), max_size=14),
       st.booleans(), st.integers(0, 14), st.lists(st.floats(0, 450), min_size=1, max_size=3))
def test_evaluator_folds_as_as_of_and_after_prefix_is_the_same(items, ordered, split, ats):
    """One fold for all ``at:`` times (decaying values read at each) gives as_of's values,
    and ``after(prefix)`` gives what the whole stream gives, ordered or not."""
    world = decaying_world()
    if ordered:
        items = sorted(items, key=lambda x: x[0])
    evs = [Event("b/0", i + 1, float(t), k, origin=INJECTED) for i, (t, k) in enumerate(items)]
    specs = [OutcomeSpec(f"h{i}", "state", var="heat", at=a) for i, a in enumerate(ats)]
    specs += [OutcomeSpec("t", "state", var="tension", at=ats[0]),
              OutcomeSpec("o", "occurs", event="offer", by=ats[0]),
              OutcomeSpec("c", "count", event="talks"),
              OutcomeSpec("f", "first", events=("talks", "offer"))]
    ev = Evaluator(specs, world, FORK, HORIZON)
    got = ev(evs)
    for i, a in enumerate(ats):
        assert got[f"h{i}"] == float(as_of(world, evs, a)["heat"])     # bit for bit
    assert got["t"] == float(as_of(world, evs, ats[0])["tension"])
    prefix, rest = evs[:split], evs[split:]
    assert ev.after(prefix)(rest) == got
