"""Parameter uncertainty: distributions, per-replicate draws, common random numbers,
closed-form results, validation of `uncertain:` (file:line, exit 2, nothing written)."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim import uncertainty
from sim.engine import Engine
from sim.scenario import load_scenario
from sim.seeding import replicate_rng
from sim.uncertainty import Distribution

DATA = Path(__file__).parent / "data" / "uncertain"
TOY = DATA / "scenario.yaml"
FACTOR = 1 - math.exp(-2)        # P(exponential delay of mean 180 <= 360 days)
P_HIT = "rules.hit_after_go.probability"
P_NOISE = "rules.noise_after_go.probability"


# --------------------------------------------------------------------------- distributions

def test_ppf_against_scipy():
    from scipy import stats

    us = np.linspace(0.001, 0.999, 37)
    cases = [
        (Distribution("uniform", {"low": 2, "high": 5}), stats.uniform(2, 3)),
        (Distribution("triangular", {"low": 1, "mode": 2, "high": 6}),
         stats.triang((2 - 1) / 5, loc=1, scale=5)),
        (Distribution("beta", {"a": 2, "b": 5}), stats.beta(2, 5)),
        (Distribution("beta", {"a": 2, "b": 5, "low": 0.1, "high": 0.5}),
         stats.beta(2, 5, loc=0.1, scale=0.4)),
        (Distribution("lognormal", {"median": 120, "sigma": 0.5}),
         stats.lognorm(0.5, scale=120)),
    ]
    for d, ref in cases:
        np.testing.assert_allclose([d.ppf(u) for u in us], ref.ppf(us), rtol=1e-9)
        assert d.mean() == pytest.approx(ref.mean(), rel=1e-9)


def test_choice_uses_weights():
    d = Distribution("choice", {"values": [15, 30, 60], "weights": [1, 2, 1]})
    assert [d.ppf(u) for u in (0.0, 0.24, 0.25, 0.74, 0.75, 0.999)] == [15, 15, 30, 30, 60, 60]
    assert d.mean() == pytest.approx((15 + 60 + 60) / 4)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 10**6), st.text(min_size=1, max_size=30))
def test_unit_is_a_function_of_seed_replicate_and_path(seed, rep, path):
    u = uncertainty.unit(seed, rep, path)
    assert 0.0 <= u < 1.0
    assert u == uncertainty.unit(seed, rep, path)
    assert u != uncertainty.unit(seed, rep + 1, path)


def test_units_look_uniform_and_independent():
    u = np.array([uncertainty.unit(3, i, P_HIT) for i in range(4000)])
    v = np.array([uncertainty.unit(3, i, P_NOISE) for i in range(4000)])
    # mean 1/2, variance 1/12: within 4 standard errors
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / 4000)
    assert abs(np.corrcoef(u, v)[0, 1]) < 4 / math.sqrt(4000)


# --------------------------------------------------------------------------- runs

@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("unc") / "toy"
    return sim.run(TOY, out=out, replicates=150, executor="serial", progress=False)


def test_closed_form_mean_under_parameter_uncertainty(tmp_path):
    """p ~ U[0.2, 0.6] gives P(hit) = E[p] (1 - e^-2) = 0.4 (1 - e^-2)."""
    n = 2000
    r = sim.run(DATA / "closed.yaml", out=tmp_path / "c", replicates=n, executor="serial",
                progress=False)
    hit = r.outcome_values("closed")["hit"]
    expected = 0.4 * FACTOR
    m = r.scenario.replicates_per_draw        # replicates sharing one draw (default 20)
    k = n // m                                # independent draws
    # Var(mean) under grouped draws: (M Var(pF) + E[pF (1 - pF)]) / n
    var_pf = FACTOR ** 2 * 0.4 ** 2 / 12
    e_pq = FACTOR * 0.4 - FACTOR ** 2 * (0.4 ** 2 + 0.4 ** 2 / 12)
    assert abs(hit.mean() - expected) < 4 * math.sqrt((m * var_pf + e_pq) / n)
    p = r.drawn_parameters("closed")[P_HIT]
    assert p.min() >= 0.2 and p.max() <= 0.6
    assert abs(p.mean() - 0.4) < 4 * 0.4 / math.sqrt(12 * k)
    # replicates of one group share their draw; groups differ
    assert np.all(p[:m] == p[0]) and p[m] != p[0]
    # and the outcome follows the drawn value: replicates that drew a high p hit more
    hi, lo = hit[p > 0.5].mean(), hit[p < 0.3].mean()
    assert hi - lo > 0.15          # expected (0.55 - 0.25) x 0.86 = 0.26


def test_drawn_values_are_stored(toy_run):
    import csv

    rows = list(csv.DictReader((toy_run.folder / "replicates.csv").open()))
    base = [r for r in rows if r["branch"] == "toy"]
    assert len(base) == 150
    drawn = toy_run.drawn_parameters("toy")
    for r in base[:20]:
        i = int(r["replicate"])
        assert float(r[f"param:{P_HIT}"]) == drawn[P_HIT][i]
        # each value is the declared distribution at the uniform of the replicate's draw
        # (replicate i uses draw i // replicates_per_draw)
        k = i // toy_run.scenario.replicates_per_draw
        assert drawn[P_HIT][i] == pytest.approx(0.2 + 0.4 * uncertainty.unit(11, k, P_HIT),
                                                abs=1e-15)
    assert toy_run.manifest["uncertain"]["fixed_noise"] == {
        P_HIT: "uniform(low=0.2, high=0.6)"}
    # the branch that sets the noise probability draws no value for it
    fixed = [r for r in rows if r["branch"] == "fixed_noise"]
    assert all(r[f"param:{P_NOISE}"] == "" for r in fixed)


def test_common_random_numbers_for_drawn_parameters(toy_run):
    base = toy_run.drawn_parameters("toy")
    for b in ("same", "fixed_noise"):
        np.testing.assert_array_equal(toy_run.drawn_parameters(b)[P_HIT], base[P_HIT])
        np.testing.assert_array_equal(toy_run.outcome_values(b)["hit"],
                                      toy_run.outcome_values("toy")["hit"])
    np.testing.assert_array_equal(toy_run.drawn_parameters("same")[P_NOISE], base[P_NOISE])
    # a branch that changes the range draws the same quantile of its new range
    wide = toy_run.drawn_parameters("wider_hit")[P_HIT]
    np.testing.assert_allclose(wide, (base[P_HIT] - 0.2) / 0.4, atol=1e-12)
    d = toy_run.manifest["digests"]
    assert all(d[f"same/{i}"] == d[f"toy/{i}"] for i in range(150))


def test_a_replicate_is_recreated_from_seed_and_drawn_values(toy_run):
    sc = load_scenario(TOY)
    br = sc.branches[0]
    drawn = toy_run.drawn_parameters("toy")
    for i in (0, 7, 149):
        values = {p: float(drawn[p][i]) for p in drawn}
        eng = Engine(br.world.with_parameters(values), br.history, br.fork, br.horizon,
                     inject=br.inject, suppress=br.suppress)
        again = eng.run(replicate_rng(sc.seed, i), "x")
        stored = [e for e in toy_run.replicate_events("toy", i) if e.time >= br.fork]
        assert [(e.kind, e.time) for e in again] == [(e.kind, e.time) for e in stored]


def test_verify_resimulates_runs_with_drawn_parameters(toy_run):
    assert sim.runner.verify(toy_run.folder, resimulate=5) == []


# --------------------------------------------------------------------------- bad input

def _scenario(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "bad.yaml"
    f.write_text(f"extends: {TOY}\nname: bad\n{body}", encoding="utf-8")
    return f


BAD = {
    "unknown path": ("uncertain:\n  rules.nope.probability: {uniform: {low: 0, high: 1}}\n",
                     4, "unknown parameter 'rules.nope.probability'"),
    "probability above 1": (f"uncertain:\n  {P_HIT}: {{uniform: {{low: 0.5, high: 1.2}}}}\n",
                            4, "beyond 1"),
    "probability below 0": (f"uncertain:\n  {P_HIT}: {{triangular: {{low: -0.1, mode: 0.2, "
                            "high: 0.4}}\n", 4, "below 0"),
    "lognormal probability": (f"uncertain:\n  {P_HIT}: {{lognormal: {{median: 0.3, "
                              "sigma: 0.2}}\n", 4, "beyond 1"),
    "negative delay": ("uncertain:\n  rules.noise_after_go.delay.low: "
                       "{uniform: {low: -5, high: 3}}\n", 4, "a delay cannot be negative"),
    "unknown kind": (f"uncertain:\n  {P_HIT}: {{gamma: {{shape: 2}}}}\n", 4,
                     "unknown distribution 'gamma'"),
    "low above high": (f"uncertain:\n  {P_HIT}: {{uniform: {{low: 0.6, high: 0.2}}}}\n", 4,
                       "low < high"),
    "bool not a choice": ("uncertain:\n  state.armed: {uniform: {low: 0, high: 1}}\n", 4,
                          "true/false"),
    "set and uncertain": (f"set:\n  {P_HIT}: 0.3\nuncertain:\n  {P_HIT}: "
                          "{uniform: {low: 0.2, high: 0.4}}\n", 6,
                          "both set: and uncertain:"),
    "set and uncertain in a branch": (
        f"branches:\n  b2:\n    set: {{{P_NOISE}: 0.3}}\n    uncertain:\n"
        f"      {P_NOISE}: {{uniform: {{low: 0.2, high: 0.4}}}}\n", 7,
        "both set: and uncertain: in this branch"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_uncertain_input(tmp_path, case):
    body, line, words = BAD[case]
    f = _scenario(tmp_path, body)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "sim", "run", str(f), "--out", str(out),
                        "-n", "3", "--executor", "serial"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{f}:{line}" in r.stderr, r.stderr
    assert words in r.stderr, r.stderr
    assert not out.exists()


def test_validation_lists_every_problem(tmp_path):
    f = _scenario(tmp_path, "uncertain:\n  rules.nope.probability: {uniform: {low: 0, high: 1}}\n"
                  f"  {P_HIT}: {{beta: {{a: -1, b: 2}}}}\n")
    problems = sim.scenario.check(f)
    assert sorted(p.line for p in problems) == [4, 5]


def test_extends_replaces_a_distribution_whole_and_null_removes_it(tmp_path):
    f = _scenario(tmp_path, f"uncertain:\n  {P_HIT}: {{beta: {{a: 2, b: 2}}}}\n"
                  f"  {P_NOISE}: ~\nbranches: ~\n")
    sc = load_scenario(f)
    assert dict(sc.branches[0].uncertain) == {P_HIT: Distribution("beta", {"a": 2, "b": 2})}


def test_sweep_points_fix_what_they_sweep(tmp_path):
    f = _scenario(tmp_path, f"branches: ~\nsweep:\n  grid: {{{P_HIT}: [0.1, 0.9]}}\n")
    sc = load_scenario(f)
    assert set(sc.branches[0].uncertain) == {P_HIT, P_NOISE}
    for b in sc.branches[1:]:
        assert set(b.uncertain) == {P_NOISE}
