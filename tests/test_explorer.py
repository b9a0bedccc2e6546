"""The classroom explorer (sim.explorer), driven through its widgets as an instructor would.

Each step sets a widget's value (or clicks a button) and checks the figure's line data and
the story text against values computed independently from the runs: a curve's last point is
the share of replicates with the event by the horizon (the ``occurs`` outcome of the same
run), the Crete model (no tests) has no live-fire test at all, and a story is the
``sim.story`` text of that replicate.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from sim import story  # noqa: E402
from sim.explorer import SETTINGS, Explorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "s400" / "baseline.yaml"
HOLD = "reviews.congress_ndaa.probability"


def _line(ex: Explorer, label: str) -> np.ndarray:
    line = next(ln for ln in ex.ax.get_lines() if ln.get_gid() == label)
    y = np.asarray(line.get_ydata(), dtype=float)
    return y[np.isfinite(y)]


@pytest.mark.slow
def test_explorer_widgets_drive_curves_and_story(tmp_path):
    ex = Explorer(BASELINE, replicates=30, runs=tmp_path, live=True)
    ex.run_button.click()
    base_run, base_branch = ex.shown["baseline"]
    sanctioned = base_run.outcome_values(base_branch)["sanctioned"]
    assert _line(ex, "baseline")[-1] == pytest.approx(sanctioned.mean())

    ex.sliders[HOLD].value = 0.0                        # Congress never writes the mandate
    assert set(ex.curves) == {"baseline", SETTINGS}
    run, branch = ex.shown[SETTINGS]
    assert run.branch(branch).settings[HOLD] == 0.0
    mine = run.outcome_values(branch)["sanctioned"].mean()
    assert _line(ex, SETTINGS)[-1] == pytest.approx(mine)
    assert mine < sanctioned.mean()                     # a route to sanctions is closed
    assert "your settings" in ex.status.value

    ex.reset_button.click()
    assert set(ex.curves) == {"baseline"}

    ex.toggles["crete_model"].value = True
    crete, cf = ex.shown["crete_model"]
    assert cf == "crete_model"
    assert _line(ex, "crete_model")[-1] == pytest.approx(
        crete.outcome_values(cf)["sanctioned"].mean())
    ex.event.value = "s400_live_test"                   # stored, never tested
    assert _line(ex, "crete_model").max() == 0.0
    assert _line(ex, "baseline")[-1] > 0.0

    ex.story_branch.value = "crete_model"
    ex.story_replicate.value = 3
    expected = story.story(crete.replicate_events(cf, 3), crete.world(cf),
                           branch=crete.branch(cf))
    assert ex.story_box.value == "crete_model, replicate 3\n" + expected
    ex.story_replicate.value = 4
    assert ex.story_box.value.startswith("crete_model, replicate 4\n")
    assert ex.story_box.value != "crete_model, replicate 3\n" + expected

    ex.toggles["crete_model"].value = False
    ex.toggles["patriot_2017"].value = True            # forks in 2017: its own control is drawn
    assert set(ex.curves) == {"baseline", "patriot_2017 control", "patriot_2017"}
    pat, ctl = ex.shown["patriot_2017 control"]
    assert ctl == pat.branch_names()[0] and pat.scenario.fork < base_run.scenario.fork

    ex.replicates.value = 40                            # new runs with the new count
    run, branch = ex.shown["baseline"]
    assert run.outcome_values(branch)["sanctioned"].size == 40
    assert ex.story_replicate.max == 39


def test_explorer_refuses_unknown_parameters(tmp_path):
    with pytest.raises(ValueError, match="not parameters of the world"):
        Explorer(BASELINE, parameters=["reviews.no_such.probability"], runs=tmp_path)


def test_explorer_on_drawn_parameters_uses_the_draws_as_units(tmp_path):
    """A scenario whose replicates draw `uncertain:` parameters in groups: the explorer's
    band is the Monte Carlo interval with the draws as the independent units (5 draws of
    20, Student t on 4 degrees of freedom; recomputed here from the first times with
    grouped_mean, which tests/test_paramspread.py checks by hand),
    and it carries the band over the parameters, as `sim plot` draws it."""
    from sim import outcomes
    from sim.paramspread import grouped_mean

    drawn = ROOT / "scenarios" / "s400" / "assumptions.yaml"
    ex = Explorer(drawn, replicates=100, branches=(), runs=tmp_path, live=True)
    ex.run_button.click()
    run, branch = ex.shown["baseline"]
    curve = ex.curves["baseline"]
    assert len(curve) == 6                       # grid, p, lo, hi and the parameter band
    t = np.asarray(run.first_times(branch, ex.event.value), dtype=float)
    ind = (t <= run.scenario.horizon) * 1.0
    by_hand = grouped_mean(ind, 20, 0.95, "probability")
    last = np.flatnonzero(np.isfinite(curve[1]))[-1]
    assert curve[1][last] == pytest.approx(ind.mean())
    assert (curve[2][last], curve[3][last]) == pytest.approx((by_hand.lo, by_hand.hi))
    # not the interval that treats the 100 replicates as independent
    wilson = outcomes.Estimate.proportion(int(ind.sum()), ind.size)
    assert (curve[2][last], curve[3][last]) != pytest.approx((wilson.lo, wilson.hi))
