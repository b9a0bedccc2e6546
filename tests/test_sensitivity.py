"""Sobol indices (SALib) on toy worlds with analytic answers, the tornado, PRIM finding a
planted box, re-creating a replicate of a sensitivity folder, and bad requests."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import sensitivity
from sim.prim import prim

DATA = Path(__file__).parent / "data" / "uncertain"
FACTOR = 1 - math.exp(-2)
P_HIT = "rules.hit_after_go.probability"
P_NOISE = "rules.noise_after_go.probability"


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sens") / "toy"
    return sensitivity.analyse(DATA / "scenario.yaml", out=out, outcomes=["hit", "noise"],
                               samples=64, replicates=40, tornado_replicates=400,
                               executor="serial", progress=False)


def _rows(folder, name, outcome):
    return {r["parameter"]: r for r in sensitivity.read_table(folder, name)
            if r["outcome"] == outcome}


def test_sobol_one_parameter_matters_one_is_inert(toy):
    s = _rows(toy, "sobol.csv", "hit")
    # P(hit) = p FACTOR depends on the hit probability only: ST(noise) is 0 (the noise
    # rule's draws never touch hit's under common random numbers), S1(hit) near 1
    assert s[P_NOISE]["ST"] == pytest.approx(0.0, abs=0.02)
    assert s[P_HIT]["S1"] > 0.8 and s[P_HIT]["ST"] > 0.8
    assert s[P_HIT]["S1_lo"] <= s[P_HIT]["S1"] <= s[P_HIT]["S1_hi"]
    n = _rows(toy, "sobol.csv", "noise")
    assert n[P_HIT]["ST"] == pytest.approx(0.0, abs=0.02) and n[P_NOISE]["ST"] > 0.8


def test_sobol_of_a_product_matches_the_analytic_indices(tmp_path):
    """P(hit2) = p1 p2, p1 and p2 ~ U[0, 1]: Var = 1/9 - 1/16 = 7/144,
    Var E[Y|p1] = Var(p1) / 4 = 1/48, so S1 = 3/7 and ST = 1 - S1(other) = 4/7."""
    out = sensitivity.analyse(DATA / "chain.yaml", out=tmp_path / "c", outcomes=["hit2"],
                              samples=256, replicates=60, tornado_replicates=50,
                              executor="serial", progress=False)
    s = _rows(out, "sobol.csv", "hit2")
    for p in ("rules.mid_after_go.probability", "rules.hit2_after_mid.probability"):
        assert s[p]["S1"] == pytest.approx(3 / 7, abs=0.12)
        assert s[p]["ST"] == pytest.approx(4 / 7, abs=0.12)
        assert s[p]["ST"] > s[p]["S1"]          # the interaction is real


def test_parameter_uncertainty_interval(toy):
    u = {r["outcome"]: r for r in sensitivity.read_table(toy, "uncertainty.csv")}["hit"]
    # points' means follow p FACTOR with p ~ U[0.2, 0.6]: 5% and 95% quantiles near
    # 0.22 FACTOR and 0.58 FACTOR (blurred by 40 replicates per point)
    assert u["param_q05"] == pytest.approx(0.22 * FACTOR, abs=0.08)
    assert u["param_q95"] == pytest.approx(0.58 * FACTOR, abs=0.08)
    assert abs(u["mean"] - 0.4 * FACTOR) < 4 * u["mc_se"] + 0.01


def test_tornado_ranges_come_from_the_declared_distributions(toy):
    t = _rows(toy, "tornado.csv", "hit")
    h = t[P_HIT]
    assert (h["low_value"], h["median_value"], h["high_value"]) == pytest.approx((0.22, 0.4, 0.58))
    for side, p in (("low", 0.22), ("high", 0.58)):
        assert abs(h[f"{side}_mean"] - p * FACTOR) < 4 * h[f"{side}_se"]
    n = t[P_NOISE]
    assert (n["low_value"], n["high_value"]) == pytest.approx((0.05, 0.95))
    # the inert parameter moves nothing (common random numbers: exactly)
    assert n["low_mean"] == n["high_mean"] == n["base_mean"]


def test_recreate_a_replicate_of_a_point(toy):
    rows = sensitivity.read_table(toy, "points.csv")
    j = 5
    again = np.array([sensitivity.recreate(toy, j, r)[0] for r in range(40)])
    assert again.mean() == pytest.approx(rows[j]["hit:mean"], abs=1e-12)


def test_figures(toy):
    from sim.sensplots import sensitivity_figures

    paths = sensitivity_figures(toy)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{k}_{o}.png" for k in ("sobol", "tornado", "prim")
                           for o in ("hit", "noise"))
    assert all(p.stat().st_size > 5000 for p in paths)


@pytest.mark.slow
def test_processes_and_dask_give_the_same_points(tmp_path):
    pytest.importorskip("dask.distributed")
    outs = {ex: sensitivity.analyse(DATA / "scenario.yaml", out=tmp_path / ex,
                                    outcomes=["hit"], samples=8, replicates=30,
                                    tornado_replicates=30, executor=ex, jobs=2,
                                    progress=False)
            for ex in ("serial", "processes", "dask")}
    texts = {ex: (f / "points.csv").read_text() for ex, f in outs.items()}
    assert texts["serial"] == texts["processes"] == texts["dask"]


# --------------------------------------------------------------------------- PRIM

def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(4)
    x = rng.random((3000, 3))
    inside = (x[:, 0] > 0.6) & (x[:, 1] < 0.3)
    y = rng.random(3000) < np.where(inside, 0.9, 0.05)
    r = prim(x, y.astype(float), ["a", "b", "c"], min_coverage=0.7)
    (a0, a1), (b0, b1), (c0, c1) = r.box
    assert a0 == pytest.approx(0.6, abs=0.05) and b1 == pytest.approx(0.3, abs=0.05)
    assert a1 > 0.95 and b0 < 0.05
    assert c1 - c0 > 0.8                        # the irrelevant one is barely touched
    # density and coverage by hand, from the box
    inbox = np.all([(x[:, j] >= lo) & (x[:, j] <= hi) for j, (lo, hi) in enumerate(r.box)],
                   axis=0)
    assert r.density == pytest.approx(y[inbox].mean())
    assert r.coverage == pytest.approx(y[inbox].sum() / y.sum())
    assert r.density > 0.8 and r.coverage >= 0.7


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(40, 300), st.integers(1, 4))
def test_prim_trajectory_properties(seed, n, d):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = (rng.random(n) < x[:, 0]).astype(float)
    r = prim(x, y, [f"x{j}" for j in range(d)])
    t = r.trajectory
    assert t[0].mass == 1.0 and t[0].coverage == (1.0 if y.sum() else 0.0)
    for a, b in zip(t, t[1:]):
        assert b.mass < a.mass and b.coverage <= a.coverage + 1e-12
        assert all(lo_b >= lo_a and hi_b <= hi_a
                   for (lo_a, hi_a), (lo_b, hi_b) in zip(a.box, b.box))
    assert t[-1].mass >= 0.05 - 1e-12
    assert r.coverage >= 0.5 or r.chosen == 0


# --------------------------------------------------------------------------- bad requests

def _sim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          timeout=120)


def test_refuses_a_scenario_without_uncertain_parameters(tmp_path):
    mini = Path(__file__).parent / "data" / "mini" / "scenario.yaml"
    r = _sim("sensitivity", str(mini), "--out", str(tmp_path / "s"), "--no-progress")
    assert r.returncode == 2 and "declares no uncertain" in r.stderr
    assert not (tmp_path / "s").exists()


def test_refuses_unknown_or_infinite_outcomes(tmp_path):
    r = _sim("sensitivity", str(DATA / "scenario.yaml"), "--outcomes", "hitt",
             "--out", str(tmp_path / "s"), "--no-progress")
    assert r.returncode == 2 and "unknown outcome 'hitt'" in r.stderr and "hit" in r.stderr
    assert not (tmp_path / "s").exists()


def test_report_includes_a_sensitivity_folder(toy, tmp_path):
    from sim.report import write_report

    out = write_report([], tmp_path / "r.html", sensitivity=[toy])
    text = out.read_text()
    assert "Which parameters matter: toy" in text
    assert text.count("<figure>") == 6          # sobol, tornado, PRIM for hit and noise
    assert "data:image/png;base64," in text and "<script" not in text


def test_an_outcome_that_never_varies_is_said_so_not_ranked(tmp_path):
    """With `hit` suppressed, P(hit) is 0 at every point: Sobol indices are 0/0, so the
    summary says the value is the same everywhere instead of printing a ranking of zeros,
    and PRIM draws no box for it; `noise` is still analysed."""
    f = tmp_path / "suppressed.yaml"
    f.write_text(f"extends: {DATA / 'scenario.yaml'}\nname: suppressed\nsuppress: [hit]\n")
    out = sensitivity.analyse(f, out=tmp_path / "s", outcomes=["hit", "noise"], samples=16,
                              replicates=10, tornado_replicates=10, executor="serial",
                              progress=False)
    text = sensitivity.summary(out)
    hit = text.split("\nhit:")[1].split("\nnoise:")[0]
    assert "the same value (0) at every point of the design" in hit
    assert "PRIM box:" not in hit and "S1 [95% bootstrap]" not in hit
    assert "S1 [95% bootstrap]" in text.split("\nnoise:")[1]
    assert {r["outcome"] for r in sensitivity.read_table(out, "prim.csv")} == {"noise"}
    assert "| hit | (none: the same value at every point)" in sensitivity.markdown(out)
    assert sensitivity.constant([r for r in sensitivity.read_table(out, "sobol.csv")
                                 if r["outcome"] == "hit"])
    assert not sensitivity.constant([r for r in sensitivity.read_table(out, "sobol.csv")
                                     if r["outcome"] == "noise"])
