"""A date means the whole day: the horizon, an outcome's ``by:`` and ``at:``, sweeps and figures.

The closed forms: event ``a`` is injected at the start of the fork date and a rule
schedules ``b`` after an exponential delay of mean ``m`` days. With the horizon one date
after the fork, the whole of both days counts, so P(b by the horizon) = 1 - exp(-2/m);
P(b by the fork date) = 1 - exp(-1/m); and the restricted mean time to ``b`` up to the
horizon is m (1 - exp(-2/m)). Frequencies are checked within 4 standard errors.
"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from sim import runner
from sim.engine import Engine
from sim.outcomes import Evaluator, cumulative_grid, cumulative_incidence
from sim.scenario import load_scenario
from sim.seeding import replicate_rng

WORLD = """\
world: days
starts: 2020-01-01
actors:
  A: {name: Alpha}
state:
  got_b: false
events:
  a: {actor: A}
  b: {actor: A, effects: {got_b: true}, once: true}
  c: {actor: A, once: true}
  d: {actor: A, once: true}
  e: {actor: A}
rules:
  - {id: r_b, on: a, then: b, probability: 1.0, delay: {exponential: {mean: 1}}}
  - {id: r_c, on: a, then: c, probability: 1.0, delay: {fixed: {value: 1.5}}}
  - {id: r_d, on: a, then: d, probability: 1.0, delay: {fixed: {value: 2}}}
reviews:
  - {id: ticks, actor: A, every: 1, decides: e, probability: 1.0}
"""

HISTORY = "sources: {}\nevents: []\n"

# fork 2020-03-01 (day 60); the horizon is the next date, 2020-03-02 (day 61)
SCENARIO = """\
name: days
world: world.yaml
history: history.yaml
fork: 2020-03-01
horizon: 2020-03-02
replicates: 10
seed: 3
inject: [{date: 2020-03-01, event: a}]
outcomes:
  - {id: b_by_horizon, occurs: b, label: b by the horizon}
  - {id: b_by_fork_day, occurs: b, by: 2020-03-01}
  - {id: got_b_on_fork_day, state: got_b, at: 2020-03-01}
  - {id: got_b_at_horizon, state: got_b}
  - {id: t_b, time_to: b}
  - {id: n_b, count: b}
  - {id: c_by_horizon, occurs: c}
  - {id: d_by_horizon, occurs: d}
  - {id: n_ticks, count: e}
  - {id: c_first, first: [c, d]}
"""


@pytest.fixture
def scenario(tmp_path):
    (tmp_path / "world.yaml").write_text(WORLD)
    (tmp_path / "history.yaml").write_text(HISTORY)
    (tmp_path / "days.yaml").write_text(SCENARIO)
    return load_scenario(tmp_path / "days.yaml")


def _values(scenario, branch, n):
    br = scenario.branches[branch]
    eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                 suppress=br.suppress)
    ev = Evaluator(scenario.outcomes, br.world, br.fork, br.horizon)
    rows = [ev(eng.prefix + eng.run(replicate_rng(scenario.seed, i), "s")) for i in range(n)]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def _within(freq: float, p: float, n: int, k: float = 4.0) -> None:
    se = math.sqrt(p * (1 - p) / n)
    assert abs(freq - p) <= k * se, (freq, p, k * se)


def test_fixed_delays_and_ticks_on_the_horizon_date_count(scenario):
    v = _values(scenario, 0, 5)
    # c at fork + 1.5 days falls on the horizon date: it counts; d at fork + 2 days is the
    # start of the next date: it does not
    assert set(v["c_by_horizon"]) == {1.0} and set(v["d_by_horizon"]) == {0.0}
    # the daily review ticks at fork + 1 (the horizon date) but not at fork + 2
    assert set(v["n_ticks"]) == {1.0}
    assert set(v["c_first"]) == {0.0}


def test_exponential_delay_at_the_day_boundary(scenario):
    n = 4000
    v = _values(scenario, 0, n)
    _within(v["b_by_horizon"].mean(), 1 - math.exp(-2), n)            # not 1 - e^-1
    _within(v["n_b"].mean(), 1 - math.exp(-2), n)
    _within(v["got_b_at_horizon"].mean(), 1 - math.exp(-2), n)
    _within(np.isfinite(v["t_b"]).mean(), 1 - math.exp(-2), n)
    _within(v["b_by_fork_day"].mean(), 1 - math.exp(-1), n)           # the fork day, whole
    _within(v["got_b_on_fork_day"].mean(), 1 - math.exp(-1), n)
    # the outcome is exactly "the event's time is before the next midnight"
    t = v["t_b"]
    assert np.array_equal(v["b_by_fork_day"] == 1.0, t < 1.0)
    assert np.array_equal(v["b_by_horizon"] == 1.0, np.isfinite(t))
    assert np.all(t[np.isfinite(t)] < 2.0)
    # restricted mean time to b up to the horizon (two days): E[min(T, 2)] = 1 - e^-2
    window = scenario.horizon - scenario.fork
    assert window == pytest.approx(2.0)
    rmst = np.minimum(t, window)
    se = rmst.std(ddof=1) / math.sqrt(n)
    assert abs(rmst.mean() - (1 - math.exp(-2))) <= 4 * se


def test_sweep_branches_use_the_whole_horizon_day(tmp_path):
    (tmp_path / "world.yaml").write_text(WORLD)
    (tmp_path / "history.yaml").write_text(HISTORY)
    (tmp_path / "sweep.yaml").write_text(
        SCENARIO + "sweep: {grid: {rules.r_b.delay.mean: [2.0, 0.5]}}\n")
    sc = load_scenario(tmp_path / "sweep.yaml")
    assert [b.horizon for b in sc.branches] == [sc.horizon] * 3
    n = 3000
    for b, mean in ((1, 2.0), (2, 0.5)):
        _within(_values(sc, b, n)["b_by_horizon"].mean(), 1 - math.exp(-2 / mean), n)


def test_cumulative_curve_ends_at_the_occurs_share(scenario, tmp_path):
    run = runner.run(scenario, out=tmp_path / "run", replicates=60, executor="serial",
                     progress=False)
    world = run.world()
    grid = cumulative_grid(scenario.fork - 3, scenario.horizon)
    assert grid[-1] == scenario.horizon and np.all(np.diff(grid) > 0)
    t = run.first_times("days", "b")
    p, _, _ = cumulative_incidence(t, grid, scenario.horizon)
    share = run.outcome_values("days")["b_by_horizon"].mean()
    assert p[-1] == pytest.approx(share)
    assert world.date(scenario.horizon).isoformat() == "2020-03-02"


def test_show_as_of_a_date_includes_that_whole_day(scenario, tmp_path, capsys):
    from sim.cli import main

    runner.run(scenario, out=tmp_path / "run", replicates=2, executor="serial", progress=False)
    assert main(["show", str(tmp_path / "run"), "--as-of", "2020-03-02"]) == 0
    out = capsys.readouterr().out
    assert " c " in out.replace("  ", " ") and " d " not in out.replace("  ", " ")


def test_end_of_day_is_the_last_float_of_the_day():
    from sim.world import end_of_day

    for d in (0.0, 60.0, 2556.0, 1e6):
        e = end_of_day(d)
        assert d < e < d + 1 and math.floor(e) == d and math.nextafter(e, math.inf) == d + 1
    rng = random.Random(1)
    for _ in range(200):
        d = float(rng.randrange(0, 5000))
        t = d + rng.random()
        assert t <= end_of_day(d)
