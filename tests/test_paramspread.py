"""The parameter-uncertainty interval (sim.paramspread): hand computations, closed forms
on synthetic draws and on a toy world, the n/a cases, and bad `replicates_per_draw`."""
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
from sim import paramspread as ps

DATA = Path(__file__).parent / "data" / "uncertain"
FACTOR = 1 - math.exp(-2)        # P(exponential delay of mean 180 <= 360 days)


def _binary(p: np.ndarray, m: int, seed: int) -> np.ndarray:
    """M Bernoulli(p_k) replicates per point, flattened in replicate order (r // M = k)."""
    rng = np.random.default_rng(seed)
    return (rng.random((p.size, m)) < p[:, None]).astype(float).ravel()


# --------------------------------------------------------------------------- hand computations

def test_balanced_binary_correction_is_the_textbook_formula():
    """With M replicates per point and a 0/1 outcome the between-point variance is
    var(p_k) - mean(p_k (1 - p_k)) / (M - 1)."""
    p = np.linspace(0.1, 0.9, 30)
    x = _binary(p, 8, 1)
    means, n, within = ps.point_stats(x, 8)
    assert list(n) == [8.0] * 30
    np.testing.assert_allclose(means, x.reshape(30, 8).mean(axis=1))
    np.testing.assert_allclose(within, x.reshape(30, 8).var(axis=1, ddof=1))
    sp = ps.spread(means, n, within)
    by_hand = means.var(ddof=1) - np.mean(means * (1 - means)) / 7
    assert sp.sd == pytest.approx(math.sqrt(max(by_hand, 0.0)), rel=1e-12)
    # the shrunk points have exactly that variance: shrink factor sqrt(sd^2 / var(m_k))
    c = math.sqrt(by_hand / means.var(ddof=1))
    shrunk = means.mean() + c * (means - means.mean())
    assert sp.lo == pytest.approx(np.quantile(shrunk, 0.05), rel=1e-12)
    assert sp.hi == pytest.approx(np.quantile(shrunk, 0.95), rel=1e-12)
    assert sp.raw_lo == pytest.approx(np.quantile(means, 0.05))


def test_crn_noise_is_the_two_way_residual_mean_square():
    rng = np.random.default_rng(4)
    k, m = 25, 12
    table = rng.normal(size=(k, 1)) + rng.normal(size=(1, m)) + rng.normal(size=(k, m))
    resid = (table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True)
             + table.mean())
    by_hand = float((resid ** 2).sum() / ((k - 1) * (m - 1)))
    got = ps.crn_noise(table.mean(axis=1), table.var(axis=1, ddof=1), m, table.mean(axis=0))
    assert got == pytest.approx(by_hand, rel=1e-10)


def test_grouped_mean_uses_the_points_as_units():
    x = np.array([1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1], dtype=float)   # 4 points of 3
    e = ps.grouped_mean(x, 3, kind="probability")
    pm = x.reshape(4, 3).mean(axis=1)               # equal sizes: a t interval on point means
    h = sim.outcomes.t_quantile(0.975, 3) * pm.std(ddof=1) / 2
    assert e.mean == pytest.approx(x.mean())
    assert (e.lo, e.hi) == pytest.approx((max(0, x.mean() - h), min(1, x.mean() + h)))
    assert e.n == 12


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=3, max_size=60))
def test_grouped_mean_with_one_replicate_per_draw_is_the_t_interval(xs):
    x = np.array(xs)
    e, t = ps.grouped_mean(x, 1), sim.outcomes.Estimate.of_mean(x)
    assert e.mean == pytest.approx(t.mean, abs=1e-9)
    assert e.lo == pytest.approx(t.lo, abs=1e-9) and e.hi == pytest.approx(t.hi, abs=1e-9)


def test_not_available_with_too_few_points_or_replicates():
    x = _binary(np.full(10, 0.4), 5, 2)            # 10 points: fewer than MIN_POINTS
    sp = ps.of_replicates(x, 5)
    assert not sp.available and "10 parameter draws" in sp.reason
    assert sp.cell().startswith("n/a (") and math.isnan(sp.lo)
    one = ps.of_replicates(_binary(np.full(200, 0.4), 1, 3), 1)
    assert not one.available and "replicates_per_draw" in one.reason


# --------------------------------------------------------------------------- closed forms

def test_uniform_p_gives_its_quantiles_on_many_synthetic_points():
    """p ~ U(a, b), K = 4000 points of M = 20: the 5% and 95% points approach
    a + 0.05 (b - a) and a + 0.95 (b - a).

    Tolerance 0.03: the shrunk points are a scaled convolution of the uniform with
    the noise, so their 5% point lies between the uniform's (1.559 sd from the mean)
    and a normal's (1.645 sd): a bias of at most 0.086 sd = 0.010; the sample 5%
    quantile of 4000 points has sd sqrt(0.05 x 0.95 / 4000) (b - a) = 0.0014; the
    estimated sd has a relative sd of about sqrt(2 / 3999) MS_between / (2 M var) =
    2.1%, 0.004 at the ends; 0.010 + 4 x 0.0042 < 0.03."""
    a, b, m = 0.2, 0.6, 20
    rng = np.random.default_rng(7)
    p = rng.uniform(a, b, 4000)
    sp = ps.of_replicates(_binary(p, m, 8), m)
    assert sp.lo == pytest.approx(a + 0.05 * (b - a), abs=0.03)
    assert sp.hi == pytest.approx(a + 0.95 * (b - a), abs=0.03)
    assert sp.sd == pytest.approx((b - a) / math.sqrt(12), rel=0.1)
    # without the correction the ends are far out (noise sd sqrt(0.24 / 20) = 0.11)
    assert sp.raw_lo < a + 0.05 * (b - a) - 0.05 and sp.raw_hi > a + 0.95 * (b - a) + 0.05


def test_a_fixed_parameter_collapses_the_interval():
    """p = 0.3 at every point: the between-point variance is 0, so the estimate is
    (MS_between - MS_within) / M clipped at 0. MS_between / MS_within is F(K - 1, N - K);
    at its 99.9% quantile the estimated sd is sqrt((F - 1) MS_within / M), and the
    5-95% range of the shrunk points is about 2 x 1.645 of it."""
    from scipy.stats import f as fdist

    k, m = 4000, 20
    sp = ps.of_replicates(_binary(np.full(k, 0.3), m, 9), m)
    bound = math.sqrt((fdist.ppf(0.999, k - 1, k * (m - 1)) - 1) * 0.21 * m / (m - 1) / m)
    assert sp.sd <= bound
    assert sp.hi - sp.lo <= 2 * 1.7 * bound        # <= 0.07; the raw range is ~0.34
    assert sp.raw_hi - sp.raw_lo > 0.25
    assert sp.lo <= 0.3 + 0.01 and sp.hi >= 0.3 - 0.01


def test_toy_world_uniform_p_interval_and_mean(tmp_path):
    """The toy world: `hit` by the horizon with probability p (1 - e^-2), p ~ U(0.2, 0.6),
    4000 replicates = 200 draws of 20. The 5% and 95% points approach
    (0.2 + 0.05 x 0.4) F and (0.2 + 0.95 x 0.4) F within 0.07: the quantile of 200
    points has sd 0.0053, the estimated sd a relative error of about 10% (0.017 at the
    ends), the shape bias is at most 0.009: 0.009 + 3 x 0.018 < 0.07. The Monte Carlo
    interval of the mean covers E[p] F = 0.4 F within 4 standard errors."""
    r = sim.run(DATA / "closed.yaml", out=tmp_path / "c", replicates=4000, executor="serial",
                progress=False)
    s = r.outcome_table().summary("closed", "hit")
    sp, mc = s.spreads["probability"], s["probability"]
    assert sp.available and sp.points == 200 and sp.per_point == 20
    assert sp.lo == pytest.approx(0.22 * FACTOR, abs=0.07)
    assert sp.hi == pytest.approx(0.58 * FACTOR, abs=0.07)
    se = (mc.hi - mc.lo) / 2 / sim.outcomes.t_quantile(0.975, 199)
    assert abs(mc.mean - 0.4 * FACTOR) < 4 * se
    # the MC interval is that of the mean over the draws, much narrower than the spread
    assert mc.hi - mc.lo < (sp.hi - sp.lo) / 4
    # hit2 = 0.5 x 0.5 is not uncertain in this file: its range is narrow around 0.25
    h2 = r.outcome_table().summary("closed", "hit2").spreads["probability"]
    assert h2.hi - h2.lo < 0.2 and h2.lo <= 0.27 and h2.hi >= 0.23
    # the table says which interval is which, and outcomes.csv has the new columns
    text = str(r.outcomes)
    assert "95% MC interval" in text and "90% over parameters" in text
    head = (r.folder / "outcomes.csv").read_text().splitlines()[0]
    assert head.endswith("n,param_q05,param_q95,param_note")


def test_too_few_draws_print_na_with_the_reason(tmp_path):
    r = sim.run(DATA / "closed.yaml", out=tmp_path / "c", replicates=100, executor="serial",
                progress=False)
    text = str(r.outcomes)
    assert "n/a (5 parameter draws; at least 20 needed)" in text
    row = (r.folder / "outcomes.csv").read_text().splitlines()[1]
    assert row.endswith("nan,nan,5 parameter draws; at least 20 needed")


def test_runs_without_uncertain_parameters_keep_their_table(tmp_path):
    r = sim.run(DATA / "scenario.yaml", out=tmp_path / "c", replicates=5, executor="serial",
                progress=False)
    assert r.outcome_table().drawn
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"extends: {DATA / 'closed.yaml'}\nname: plain\nuncertain: ~\n")
    r2 = sim.run(plain, out=tmp_path / "p", replicates=5, executor="serial", progress=False)
    assert not r2.outcome_table().drawn
    assert "over parameters" not in str(r2.outcomes) and "95% interval" in str(r2.outcomes)
    head = (r2.folder / "outcomes.csv").read_text().splitlines()[0]
    assert head == "branch,outcome,label,measure,estimate,lo,hi,n"
    assert "replicates_per_draw" not in (r2.folder / "scenario.yaml").read_text()


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("value", ["0", "-3", "ten", "true", "2.5"])
def test_bad_replicates_per_draw(tmp_path, value):
    f = tmp_path / "bad.yaml"
    f.write_text(f"extends: {DATA / 'closed.yaml'}\nname: bad\nreplicates_per_draw: {value}\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "sim", "run", str(f), "--out", str(out),
                        "-n", "3", "--executor", "serial"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{f}:3:22: 'replicates_per_draw'" in r.stderr
    assert ("must be a whole number" in r.stderr or "it must be >= 1" in r.stderr)
    assert "e.g. replicates_per_draw: 20" in r.stderr
    assert not out.exists()


# --------------------------------------------------------------------------- compare

def test_difference_between_branches_over_parameters(tmp_path):
    """Branch `wide` draws p' = u on [0, 1] where the control draws p = 0.2 + 0.4 u (the
    same quantile u of each replicate's draw). The per-draw paired difference in P(hit)
    is F (0.6 u - 0.2), u ~ U(0, 1): 5% and 95% points F (0.03 - 0.2) and
    F (0.57 - 0.2); mean 0.1 F. Tolerance as in the one-outcome toy test (200 draws)."""
    from sim.compare import Column, compare_runs, differences

    f = tmp_path / "two.yaml"
    f.write_text(f"extends: {DATA / 'closed.yaml'}\nname: two\nbranches:\n  wide:\n"
                 "    uncertain: {rules.hit_after_go.probability: "
                 "{uniform: {low: 0.0, high: 1.0}}}\n")
    r = sim.run(f, out=tmp_path / "r", replicates=4000, executor="serial", progress=False)
    d = {x.outcome: x for x in differences(Column(r, "wide"), Column(r, "two"))}
    hit = d["hit"]
    assert hit.paired and hit.spread.available
    assert hit.spread.lo == pytest.approx(-0.17 * FACTOR, abs=0.07)
    assert hit.spread.hi == pytest.approx(0.37 * FACTOR, abs=0.07)
    # its Monte Carlo interval has the draws as units
    a, b = r.outcome_values("wide")["hit"], r.outcome_values("two")["hit"]
    by_hand = ps.grouped_mean(a - b, 20, kind="difference")
    assert (hit.estimate.lo, hit.estimate.hi) == pytest.approx((by_hand.lo, by_hand.hi))
    se = (by_hand.hi - by_hand.lo) / 2 / sim.outcomes.t_quantile(0.975, 199)
    assert abs(hit.estimate.mean - 0.1 * FACTOR) < 4 * se
    # noise draws the same value in both: its per-draw difference is exactly 0
    assert (d["noise"].spread.lo, d["noise"].spread.hi) == (0.0, 0.0)
    table = compare_runs([r])
    text = str(table)
    assert "difference, 90% over parameters" in text and "probability, 90% over parameters" \
        in text
    path = table.to_csv(tmp_path / "d.csv")
    assert path.read_text().splitlines()[0].endswith("note,param_q05,param_q95,param_note")


# --------------------------------------------------------------------------- story / why / show

def _review_run(tmp_path: Path):
    """The toy world with a monthly review that decides `hit` (armed holds from history),
    its probability and its modifier drawn per parameter draw."""
    import shutil

    shutil.copy(DATA / "history.yaml", tmp_path / "history.yaml")
    world = (DATA / "world.yaml").read_text() + (
        "reviews:\n  - id: decide\n    actor: A\n    every: 30\n    decides: hit\n"
        "    when: {armed: true}\n    probability: 0.5\n"
        "    modifiers:\n      - {when: {armed: true}, multiply: 0.5}\n")
    (tmp_path / "world.yaml").write_text(world)
    (tmp_path / "rv.yaml").write_text(
        "name: rv\nworld: world.yaml\nhistory: history.yaml\nfork: 2020-02-01\n"
        "horizon: 2021-01-26\nreplicates: 40\nseed: 5\nreplicates_per_draw: 20\n"
        "uncertain:\n  reviews.decide.probability: {uniform: {low: 0.1, high: 0.3}}\n"
        "  reviews.decide.modifiers.0.multiply: {uniform: {low: 1.5, high: 2.5}}\n"
        "outcomes: [{id: hit, occurs: hit}]\n")
    return sim.run(tmp_path / "rv.yaml", out=tmp_path / "run", executor="serial",
                   progress=False)


def test_story_why_show_quote_the_drawn_values(tmp_path):
    """By hand: the hazard at the review's tick is the drawn base probability times the
    drawn multiplier (the modifier holds since the history's `arm`)."""
    r = _review_run(tmp_path)
    drawn = r.drawn_parameters("rv")
    i = 27                                           # second draw: replicates 20..39
    p, m = drawn["reviews.decide.probability"][i], drawn["reviews.decide.modifiers.0.multiply"][i]
    assert 0.1 <= p <= 0.3 and 1.5 <= m <= 2.5 and p != drawn["reviews.decide.probability"][0]
    world, values = r.replicate_world("rv", i)
    assert values["reviews.decide.probability"] == (p, 0.5)
    assert world.parameters()["reviews.decide.probability"] == p
    hit = [e for e in r.replicate_events("rv", i) if e.kind == "hit"]
    assert hit and hit[0].rule == "decide"
    out = subprocess.run([sys.executable, "-m", "sim", "why", str(r.folder), "hit", "-b", "rv",
                          "-r", str(i)], capture_output=True, text=True, timeout=120).stdout
    assert f"base probability {p:.3g} (drawn; base 0.5)" in out
    assert f"x{m:g} (drawn; base 0.5) (raises)" in out
    assert f"= hazard {p * m:.3g} at this tick" in out
    assert "not the one this replicate ran with" not in out
    story = subprocess.run([sys.executable, "-m", "sim", "story", str(r.folder), "-b", "rv",
                            "-r", str(i)], capture_output=True, text=True, timeout=120).stdout
    assert f"hazard {p * m:.3g} (base {p:.3g} (drawn; base 0.5)" in story
    assert "parameters drawn for this replicate" in story
    assert "not the world this replicate ran with" not in story
    show = subprocess.run([sys.executable, "-m", "sim", "show", str(r.folder), "-b", "rv",
                           "-r", str(i)], capture_output=True, text=True, timeout=120).stdout
    assert f"reviews.decide.probability = {p:.3g} (drawn; base 0.5)" in show


# --------------------------------------------------------------------------- figures

def test_figures_draw_and_name_both_bands(tmp_path):
    from sim import plots
    from sim.compare import Column, cumulative_difference

    r = sim.run(DATA / "scenario.yaml", out=tmp_path / "r", replicates=400, executor="serial",
                progress=False)
    fig = plots.forest([("a", 0.1, 0.05, 0.15, "probability", (-0.2, 0.4)),
                        ("b", 0.0, -0.1, 0.1, "probability")])
    ax = fig.axes[0]
    assert [ln.get_gid() for ln in ax.lines].count("param") == 1
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["95% Monte Carlo interval", "90% over parameters (uncertain:)"]
    plain = plots.forest([("b", 0.0, -0.1, 0.1, "probability")])
    assert not plain.legends and "param" not in [ln.get_gid() for ln in plain.axes[0].lines]
    # the cumulative figure of a drawing branch: dotted parameter band, both in the legend
    world = r.world()
    grid = np.linspace(r.branch("toy").fork, r.branch("toy").horizon, 50)
    t = r.first_times("toy", "hit")
    curve = ps.cumulative(t, grid, r.branch("toy").horizon, 20)
    # the last point is the outcome table's probability and its two intervals
    s = r.outcome_table().summary("toy", "hit")
    assert curve[0][-1] == pytest.approx(s["probability"].mean)
    assert (curve[1][-1], curve[2][-1]) == pytest.approx((s["probability"].lo,
                                                           s["probability"].hi))
    assert (curve[3][-1], curve[4][-1]) == pytest.approx((s.spreads["probability"].lo,
                                                           s.spreads["probability"].hi))
    fig = plots.cumulative({"toy": (grid, *curve)}, world, r.branch("toy").fork)
    gids = [ln.get_gid() for ln in fig.axes[0].lines]
    assert "param_lo" in gids and "param_hi" in gids
    assert "90% over parameters" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    # the effect over time uses the draws as units: at the horizon it is the difference's
    # grouped Monte Carlo interval
    m, lo, hi = cumulative_difference(Column(r, "wider_hit"), Column(r, "toy"), "hit",
                                      grid[-1:])
    a = np.isfinite(r.first_times("wider_hit", "hit")) * 1.0
    b = np.isfinite(r.first_times("toy", "hit")) * 1.0
    by_hand = ps.grouped_mean(a - b, 20, kind="difference")
    assert (m[0], lo[0], hi[0]) == pytest.approx((by_hand.mean, by_hand.lo, by_hand.hi))


def test_report_shows_both_intervals(tmp_path):
    from sim.report import write_report

    r = sim.run(DATA / "scenario.yaml", out=tmp_path / "r", replicates=400, executor="serial",
                progress=False)
    text = write_report([r], tmp_path / "report.html").read_text()
    assert "probability, 90% over parameters" in text
    assert "difference, 90% over parameters" in text
    assert "20 replicates per draw" in text and "Monte Carlo intervals of that average" in text


def test_grouped_median_interval_is_wider_when_draws_matter():
    """Times whose scale is drawn per point: the order-statistic interval (independent
    replicates) is too narrow; the bootstrap over points is wider and still contains
    the sample median. With one replicate per draw the two roughly agree."""
    rng = np.random.default_rng(12)
    k, m = 100, 20
    scale = np.repeat(rng.uniform(50, 250, k), m)
    t = rng.exponential(scale)
    iid = sim.outcomes.median_interval(t)
    grouped = ps.grouped_median(t, m)
    assert grouped.mean == pytest.approx(np.median(t))
    assert grouped.lo <= grouped.mean <= grouped.hi
    assert grouped.hi - grouped.lo > 1.5 * (iid.hi - iid.lo)
    ones = ps.grouped_median(rng.exponential(100, 2000), 1)
    ref = sim.outcomes.median_interval(rng.exponential(100, 2000))
    assert 0.6 < (ones.hi - ones.lo) / (ref.hi - ref.lo) < 1.6


def test_grouped_draws_do_not_depend_on_the_executor(tmp_path):
    """Chunks of 50 replicates cut groups of 20 in two: the draws are those of the
    replicate's group whatever chunk or worker runs it."""
    a = sim.run(DATA / "scenario.yaml", out=tmp_path / "a", replicates=200, executor="serial",
                progress=False)
    b = sim.run(DATA / "scenario.yaml", out=tmp_path / "b", replicates=200,
                executor="processes", jobs=2, progress=False)
    assert a.manifest["run_digest"] == b.manifest["run_digest"]
    assert a.manifest["meta_digest"] == b.manifest["meta_digest"]
    for br in a.branch_names():
        for p, v in a.drawn_parameters(br).items():
            np.testing.assert_array_equal(v, b.drawn_parameters(br)[p])
            assert all(np.all(v[k:k + 20] == v[k]) for k in range(0, 200, 20))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=20, max_size=80), st.integers(2, 30),
       st.integers(0, 2**16))
def test_corrected_ends_lie_between_the_mean_and_the_raw_ends(ps_, m, seed):
    """With M replicates at every point the correction is one shrink factor c in [0, 1]
    towards the mean, so each corrected end lies between the mean and the raw end."""
    p = np.array(ps_)
    sp = ps.of_replicates(_binary(p, m, seed), m)
    assert sp.available
    assert 0.0 <= sp.sd
    lo_a, lo_b = sorted((sp.mean, sp.raw_lo))
    hi_a, hi_b = sorted((sp.mean, sp.raw_hi))
    assert lo_a - 1e-12 <= sp.lo <= lo_b + 1e-12
    assert hi_a - 1e-12 <= sp.hi <= hi_b + 1e-12


def test_sensitivity_uses_the_same_correction(tmp_path):
    """uncertainty.csv: the raw ends are the quantiles of the A and B point means in
    points.csv; the corrected ends lie between them and the mean; the noise removed is
    what crn_noise finds (its sd at most the per-point Monte Carlo sd)."""
    import csv

    from sim import sensitivity

    out = sensitivity.analyse(DATA / "scenario.yaml", out=tmp_path / "s", outcomes=["hit"],
                              samples=16, replicates=20, tornado_replicates=10,
                              executor="serial", progress=False)
    u = sensitivity.read_table(out, "uncertainty.csv")[0]
    rows = list(csv.DictReader((out / "points.csv").open()))
    y = np.array([float(r["hit:mean"]) for r in rows if r["kind"] in ("A", "B")])
    assert u["points"] == y.size == 32
    assert u["raw_q05"] == pytest.approx(np.quantile(y, 0.05))
    assert u["raw_q95"] == pytest.approx(np.quantile(y, 0.95))
    assert u["raw_q05"] - 1e-9 <= u["param_q05"] <= u["mean"] <= u["param_q95"] \
        <= u["raw_q95"] + 1e-9
    assert u["param_sd"] <= np.std(y, ddof=1) + 1e-12


def test_run_folders_from_before_grouping_keep_one_draw_per_replicate():
    from sim.runfolder import per_draw_of
    from sim.scenario import load_scenario

    sc = load_scenario(DATA / "scenario.yaml")
    assert sc.replicates_per_draw == 20
    old = {"uncertain": {"toy": {}}}                       # no replicates_per_draw
    assert per_draw_of(sc, old).replicates_per_draw == 1
    assert per_draw_of(sc, {**old, "replicates_per_draw": 20}) is sc
    assert per_draw_of(sc, {}) is sc                       # nothing drawn: nothing to say


def test_replicates_per_draw_from_the_command_line(tmp_path):
    """`sim run --replicates-per-draw M` overrides the file: replicates r and r' share a draw
    exactly when r // M == r' // M, the run folder's scenario copy records M (so resume and
    verify re-create the same draws), and a bad M is refused before anything is written."""
    out = tmp_path / "m5"
    r = subprocess.run([sys.executable, "-m", "sim", "run", str(DATA / "scenario.yaml"), "-n", "30",
                        "--replicates-per-draw", "5", "--out", str(out), "--executor",
                        "serial", "--no-progress"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "replicates_per_draw: 5" in (out / "scenario.yaml").read_text()
    run = sim.open_run(out)
    p = run.drawn_parameters("toy")["rules.hit_after_go.probability"]
    for i in range(30):
        for j in range(30):
            assert (p[i] == p[j]) == (i // 5 == j // 5), (i, j)
    from sim import runner
    assert runner.verify(out, resimulate=3) == []
    bad = tmp_path / "m0"
    r = subprocess.run([sys.executable, "-m", "sim", "run", str(DATA / "scenario.yaml"), "-n", "30",
                        "--replicates-per-draw", "0", "--out", str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--replicates-per-draw" in r.stderr and not bad.exists()


def test_drawn_parameters_with_history_uncertainty(tmp_path):
    """`uncertain:` parameters together with `history_uncertainty:` (world2): each draw's
    engine keeps the branch's history uncertainty, so the run completes (it stopped with a
    version error before), verifies by re-simulation, and a sensitivity point at a
    replicate's drawn values gives exactly that replicate's outcomes."""
    from sim import points, runner
    from sim.scenario import load_scenario

    f = tmp_path / "hu.yaml"
    f.write_text(f"extends: {Path(__file__).parent / 'data' / 'world2' / 'scenario.yaml'}\n"
                 "name: hu\nreplicates_per_draw: 1\n"
                 "uncertain:\n  reviews.alpha_provokes.probability: "
                 "{uniform: {low: 0.1, high: 0.3}}\n")
    sc = load_scenario(f)
    assert sc.branches[0].uncertainty is not None and sc.branches[0].uncertainty.active
    r = sim.run(sc, out=tmp_path / "run", replicates=8, executor="serial", progress=False)
    assert r.status == "complete"
    assert runner.verify(r.folder, resimulate=8) == []
    b = r.branch_names()[0]
    drawn, values = r.drawn_parameters(b), r.outcome_values(b)
    ids = [o.id for o in sc.outcomes]
    pe = points.PointEvaluator(sc, 0, ids, 8)
    for i in range(8):
        x = pe.values({k: v[i] for k, v in drawn.items()}, replicates=[i])[0]
        assert np.allclose(x, [values[k][i] for k in ids], equal_nan=True), i
