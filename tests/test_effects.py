"""sim.effects: each branch against its own control, checked against closed forms
and against a direct (n x grid) computation."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim import effects
from sim.outcomes import t_quantile

MINI = Path(__file__).parent / "data" / "mini" / "scenario.yaml"
N = 120


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return sim.run(MINI, out=tmp_path_factory.mktemp("eff") / "m", replicates=N,
                   executor="serial", progress=False)


def _fake_run(tb, tc, horizon):
    times = {"b": np.asarray(tb, dtype=float), "c": np.asarray(tc, dtype=float)}
    return SimpleNamespace(first_times=lambda branch, kind: times[branch],
                           scenario=SimpleNamespace(horizon=horizon, name="c"))


times = st.lists(st.one_of(st.integers(0, 30).map(float), st.just(np.inf)), min_size=2,
                 max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_cumulative_difference_equals_the_direct_paired_computation(data):
    tb = data.draw(times)
    tc = data.draw(st.lists(st.one_of(st.integers(0, 30).map(float), st.just(np.inf)),
                            min_size=len(tb), max_size=len(tb)))
    run = _fake_run(tb, tc, horizon=25.0)
    b, c = effects._Side(run, "b"), effects._Side(run, "c")
    grid = np.arange(0.0, 31.0)
    d, lo, hi = effects._local_cumulative_difference(b, c, "k", grid)
    # direct: the n x grid matrix of paired differences of indicators
    m = (np.asarray(tb)[:, None] <= grid) * 1.0 - (np.asarray(tc)[:, None] <= grid) * 1.0
    n = len(tb)
    mean = m.mean(axis=0)
    h = t_quantile(0.975, n - 1) * m.std(axis=0, ddof=1) / np.sqrt(n)
    inside = grid <= 25.0
    np.testing.assert_allclose(d[inside], mean[inside], atol=1e-12)
    np.testing.assert_allclose(hi[inside] - d[inside], h[inside], atol=1e-9)
    np.testing.assert_allclose(d[inside] - lo[inside], h[inside], atol=1e-9)
    assert np.all(np.isnan(d[~inside]))          # beyond the horizon: unknown


def test_pairs_are_each_branch_with_its_files_base(mini):
    got = [(b.branch, c.branch) for b, c in effects.pairs(mini)]
    assert got == [("same", "mini"), ("cautious", "mini")]
    assert effects.control_of(mini, "mini") is None


def test_differences_match_closed_forms(mini):
    # armed on 2020-01-10, fork 2020-02-01: 12 review ticks at p (base 0.1, cautious 0.05)
    b, c = effects.pairs(mini)[1]
    rows = {d.outcome: d for d in effects.differences(b, c)}
    dec = rows["decided"]
    exact = (1 - 0.95 ** 12) - (1 - 0.9 ** 12)                   # -0.258
    assert dec.kind == "probability" and dec.estimate.lo < exact < dec.estimate.hi
    assert dec.clear and dec.direction == "lower"
    # restricted mean time to the decision, up to the 360-day window: tick k at 30k days
    def rmst(p):
        return sum(30 * k * p * (1 - p) ** (k - 1) for k in range(1, 13)) + 360 * (1 - p) ** 12
    t = rows["time_to_decide"]
    assert t.kind == "days"
    assert t.estimate.lo < rmst(0.05) - rmst(0.1) < t.estimate.hi      # about +54 days
    assert t.clear and t.direction == "later"


def test_an_unchanged_branch_has_no_clear_difference(mini):
    b, c = effects.pairs(mini)[0]
    diffs = effects.differences(b, c)
    assert diffs and all(d.estimate.lo == d.estimate.hi == 0 for d in diffs)
    lines, n_clear, n_all = effects.summary(b, c)
    assert lines == [] and n_clear == 0 and n_all == len(diffs)


def test_summary_lists_the_large_effect_first_in_plain_words(mini):
    b, c = effects.pairs(mini)[1]
    lines, n_clear, _ = effects.summary(b, c)
    dec = next(d for d in effects.differences(b, c) if d.outcome == "decided")
    e = dec.estimate
    assert lines[0] == (f"decided: {abs(e.mean) * 100:.1f} percentage points less likely "
                        f"(95% interval {abs(e.hi) * 100:.1f} to {abs(e.lo) * 100:.1f})")
    t = next(d for d in effects.differences(b, c) if d.outcome == "time_to_decide")
    assert any(line.startswith(f"{t.label or t.outcome}: {t.estimate.mean:.0f} days later on "
                               f"average") for line in lines)


def test_words_of_an_unclear_difference_say_so():
    est = SimpleNamespace(mean=0.01, lo=-0.02, hi=0.04)
    d = effects.Difference("x", "X happens", "occurs", "probability", "probability", "b", "c",
                           est)
    assert not d.clear and d.direction == "cannot tell apart"
    assert effects.words(d) == "X happens: cannot tell apart (95% interval -0.02 to +0.04)"


def test_words_add_the_spread_over_drawn_parameters():
    """A difference between runs that draw `uncertain:` parameters: its sentence adds the
    90% spread of the per-draw difference in the same unit, or says why there is none."""
    from sim import compare
    from sim.outcomes import Estimate
    from sim.paramspread import Spread, not_available

    est = Estimate(-0.2, -0.25, -0.15, 400, "difference")
    sp = Spread(-0.2, -0.31, -0.104, 0.06, -0.35, -0.05, 0.1, 20, 20.0)
    d = compare.Difference("x", "X happens", "occurs", "probability", "probability", "b", "c",
                           est, True, "", "", sp)
    assert effects.words(d) == (
        "X happens: 20.0 percentage points less likely (95% interval 15.0 to 25.0); over the "
        "drawn parameters, 90% of draws give -31.0 to -10.4 percentage points")
    few = compare.Difference("x", "X happens", "occurs", "probability", "probability", "b",
                             "c", est, True, "", "", not_available("fewer than 20 draws"))
    assert effects.words(few).endswith(
        "; over the drawn parameters: n/a (fewer than 20 draws)")


def test_docs_quote_the_limits_the_code_uses():
    import inspect

    from sim import plots

    doc = " ".join((Path(__file__).parent.parent / "docs" / "figures.md").read_text().split())
    lim = effects.SUMMARY_LIMITS
    assert f"(at most {lim['probability']}, {lim['days']} and {lim['mean']};" in doc
    forests = inspect.signature(plots.standard_figures).parameters["max_forests"].default
    assert f"`forest_<branch>` (up to {forests} branches)" in doc
    most = inspect.signature(plots.sweep_figures).parameters["max_outcomes"].default
    assert f"vary most across the points (at most {most})" in doc
