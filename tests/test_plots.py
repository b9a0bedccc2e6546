"""Tests of sim.plots: what is drawn matches the inputs, and the main figures match
their baseline images (regenerate with SIM_REGEN_BASELINES=1, see docs/figures.md)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import matplotlib.dates as mdates
import matplotlib.style
import numpy as np
import pytest
from matplotlib.testing.compare import compare_images

from sim import plots
from sim.events import Event
from sim.outcomes import OutcomeSpec
from sim.world import Actor, Delay, EventType, Review, Rule, Variable, World

BASELINES = Path(__file__).parent / "baseline_images"
REGEN = os.environ.get("SIM_REGEN_BASELINES") == "1"
START = dt.date(2019, 1, 1)


@pytest.fixture(scope="module")
def world() -> World:
    actors = {"TUR": Actor("TUR", "Turkey"), "USA": Actor("USA", "United States executive"),
              "RUS": Actor("RUS", "Russia")}
    events = {
        "delivered": EventType("delivered", "RUS", "TUR", "Russia delivers S-400 components"),
        "activated": EventType("activated", "TUR", None, "Turkey activates the S-400",
                               once=True),
        "sanctions": EventType("sanctions", "USA", "TUR",
                               "US imposes CAATSA sanctions on the procurement agency"),
        "removed": EventType("removed", "USA", "TUR", "Turkey removed from F-35 programme"),
        "patriot": EventType("patriot", "USA", "TUR", "US offers Patriot"),
        "batch2": EventType("batch2", "RUS", "TUR", "Russia offers a second batch"),
    }
    rules = (
        Rule("remove_after_delivery", "delivered", "removed", 0.95, Delay("fixed", {"value": 5})),
        Rule("sanction_after_activation", "activated", "sanctions", 0.7,
             Delay("lognormal", {"median": 120, "sigma": 0.6})),
        Rule("batch2_after_sanctions", "sanctions", "batch2", 0.4,
             Delay("uniform", {"low": 10, "high": 50})),
    )
    reviews = (Review("turkey_activation", "TUR", 30, "activated", 0.06),)
    return World("test", START, actors, {"x": Variable("x", "bool", False)}, events, rules,
                 reviews)


def day(s: str) -> float:
    return float((dt.date.fromisoformat(s) - START).days)


@pytest.fixture(scope="module")
def replicate() -> list[Event]:
    rows = [  # time, kind, actor, origin, source, cause, rule
        (day("2019-07-12"), "delivered", "RUS", "history", "S003", None, None),
        (day("2019-07-17"), "removed", "USA", "history", "S000", None, None),
        (day("2020-01-15"), "patriot", "USA", "injected", None, None, None),
        (day("2020-03-01"), "activated", "TUR", "simulated", None, None, "turkey_activation"),
        (day("2020-07-01"), "sanctions", "USA", "simulated", None, 4, "sanction_after_activation"),
        (day("2020-08-10"), "batch2", "RUS", "simulated", None, 5, "batch2_after_sanctions"),
    ]
    return [Event("base/0", i + 1, t, k, a, None, origin=o, source=s, cause=c, rule=r)
            for i, (t, k, a, o, s, c, r) in enumerate(rows)]


SOURCES = {"S000": SimpleNamespace(id="S000", outlet="Middle East Eye", title="A made-up title",
                                   published="2019-11-15"),
           "S003": SimpleNamespace(id="S003", outlet="Outlet unknown", title="Another title",
                                   published="2020-11-12")}
FORK = dt.date(2019, 11, 15)


def texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
    return out


def by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def check_image(fig, name: str, tmp_path: Path, tol: float = 3.0) -> None:
    """Compare with tests/baseline_images/<name>.png (written when SIM_REGEN_BASELINES=1)."""
    png, _svg = plots.save(fig, tmp_path / name)
    expected = BASELINES / f"{name}.png"
    if REGEN or not expected.exists():
        if not REGEN:
            pytest.fail(f"no baseline {expected}; run with SIM_REGEN_BASELINES=1")
        BASELINES.mkdir(exist_ok=True)
        expected.write_bytes(png.read_bytes())
        return
    err = compare_images(str(expected), str(png), tol=tol)
    assert err is None, err


# ----------------------------------------------------------------------------- helpers

def test_shorten_cuts_at_a_word_and_marks_it():
    assert plots.shorten("US imposes CAATSA sanctions on SSB", 20) == "US imposes CAATSA\u2026"
    assert plots.shorten("short", 20) == "short"
    assert len(plots.shorten("x" * 50, 10)) <= 10


def test_palette_is_okabe_ito():
    assert set(plots.PALETTE) <= {c.upper() for c in plots.OKABE_ITO.values()}


# ----------------------------------------------------------------------------- cumulative

def test_cumulative_draws_each_branch_step_curve_and_the_fork(world):
    grid = np.array([0.0, 300.0, 400.0, 600.0])
    curves = {"baseline": (grid, [0, 0, 0.25, 0.5], [0, 0, 0.1, 0.3], [0, 0.1, 0.4, 0.7]),
              "no_hold": (grid, [0, 0.1, 0.5, 0.9])}
    fig = plots.cumulative(curves, world, FORK, event_label="US imposes sanctions")
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines["baseline"].get_ydata()) == [0, 0, 0.25, 0.5]
    assert list(lines["no_hold"].get_ydata()) == [0, 0.1, 0.5, 0.9]
    # x are calendar dates: day 300 after 2019-01-01 is 2019-10-28
    assert lines["baseline"].get_xdata()[1] == mdates.date2num(dt.date(2019, 10, 28))
    assert lines["baseline"].get_drawstyle() == "steps-post"
    fork = [ln for ln in ax.get_lines() if ln.get_gid() == "fork"]
    assert fork and fork[0].get_xdata()[0] == mdates.date2num(FORK)
    assert "fork" in texts(fig)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["baseline", "no_hold", "95% interval"]
    assert "US imposes sanctions" in ax.get_ylabel()


def test_cumulative_rejects_a_curve_of_the_wrong_shape(world):
    with pytest.raises(ValueError, match="differ in length"):
        plots.cumulative({"b": ([0, 1, 2], [0, 1])}, world)


# ----------------------------------------------------------------------------- timeline

def test_timeline_marks_origins_sources_and_lanes(world, replicate):
    fig = plots.timeline(replicate, world, SOURCES, FORK)
    ax = fig.axes[0]
    assert len(by_gid(ax, "event-history")) == 2
    assert len(by_gid(ax, "event-simulated")) == 3
    assert len(by_gid(ax, "event-injected")) == 1
    t = [s.strip() for s in texts(fig)]
    assert "Russia delivers S-400 components [S003]" in t
    assert "US offers Patriot (injected)" in t
    # long labels are shortened with an ellipsis, never shown as ids
    assert any(s.startswith("US imposes CAATSA sanctions") and s.endswith("\u2026") for s in t)
    assert "sanctions" not in t
    sources = [s for s in t if s.startswith("Sources:")]
    assert sources and "[S000] Middle East Eye" in sources[0] and "2020-11-12" in sources[0]
    lanes = [lab.get_text() for lab in ax.get_yticklabels()]
    assert lanes == ["Turkey", "United States\nexecutive", "Russia"]
    # each event sits in its actor's lane: the activation (TUR) is in the top lane
    ys = {lab.get_text(): y for lab, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    act = [a for a in by_gid(ax, "event-simulated")
           if a.get_xdata()[0] == mdates.date2num(dt.date(2020, 3, 1))][0]
    assert abs(act.get_ydata()[0] - ys["Turkey"]) < abs(act.get_ydata()[0] - ys["Russia"])
    assert [ln for ln in ax.get_lines() if ln.get_gid() == "fork"]


def test_timeline_stacks_overlapping_labels_in_rows(world):
    # two events of the same actor one day apart must not share a text row
    evs = [Event("s/0", 1, 100.0, "activated", "TUR"), Event("s/0", 2, 101.0, "activated", "TUR")]
    fig = plots.timeline(evs, world, fork=50.0)
    ys = [a.get_ydata()[0] for a in by_gid(fig.axes[0], "event-simulated")]
    assert ys[0] != ys[1]


def test_pack_is_greedy_interval_rows():
    assert plots._pack([0, 1, 5, 6], [4, 3, 7, 8]) == [0, 1, 0, 1]


# ----------------------------------------------------------------------------- tree

SHARES = {("activated",): 0.5, ("activated", "sanctions"): 0.3, (): 0.2}


def test_tree_from_shares_sums_prefixes():
    root = plots.tree_from_shares(SHARES)
    assert root.share == pytest.approx(1.0)
    a = root.children["activated"]
    assert a.share == pytest.approx(0.8) and a.stop == pytest.approx(0.5)
    assert a.children["sanctions"].share == pytest.approx(0.3)
    assert root.stop == pytest.approx(0.2)


def test_outcome_tree_labels_each_branch_with_its_share(world):
    fig = plots.outcome_tree(SHARES, world, n=1000)
    ax = fig.axes[0]
    shares = sorted(t.get_text() for t in ax.texts if t.get_gid() == "share")
    # activated 80%; after it: sanctions 30%, nothing further 50%; none of these 20%
    assert shares == ["20%", "30%", "50%", "80%"]
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "branch-label"]
    assert "none of these events" in labels and "nothing further" in labels
    assert any("Turkey activates" in s for s in labels)
    assert len([a for a in ax.get_lines() if a.get_gid() == "terminal"]) == 3
    assert any("(n=1000)" in t for t in texts(fig))


def test_outcome_tree_leaves_out_tiny_orders_and_says_so(world):
    fig = plots.outcome_tree({("activated",): 0.996, ("sanctions",): 0.004}, world,
                             min_share=0.005)
    assert "left out" in fig.axes[0].get_title()
    shares = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "share"]
    assert shares == [">99%"]


# ----------------------------------------------------------------------------- tornado

def test_tornado_bars_start_at_baseline_widest_swing_on_top():
    res = {"a": (0.40, 0.55, 0.03, 0.09), "b": (0.20, 0.70), "c": (0.47, 0.50)}
    fig = plots.tornado(res, 0.48, "P(sanctions)")
    ax = fig.axes[0]
    lows = [p for p in ax.patches if p.get_gid() == "low"]
    highs = [p for p in ax.patches if p.get_gid() == "high"]
    # bars are drawn bottom to top in increasing swing: c (0.03), a (0.15), b (0.50)
    assert [round(p.get_width(), 6) for p in lows] == [-0.01, -0.08, -0.28]
    assert [round(p.get_width(), 6) for p in highs] == [0.02, 0.07, 0.22]
    assert all(p.get_x() == pytest.approx(0.48) for p in lows + highs)
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["c", "a\n(0.03 \u2192 0.09)", "b"]
    assert "baseline 48%" in ax.get_xlabel()


def test_tornado_rejects_a_malformed_row():
    with pytest.raises(ValueError, match="'a' needs"):
        plots.tornado({"a": (0.1, 0.2, 0.3)}, 0.5, "x")


# ----------------------------------------------------------------------------- sweep, heatmap

def test_sweep_draws_estimates_and_band():
    fig = plots.sweep([0.1, 0.5, 0.9], "p", [(0.2, 0.1, 0.3), (0.4, 0.3, 0.5), (0.7, 0.6, 0.8)],
                      outcome_label="P(x)")
    ax = fig.axes[0]
    line = [ln for ln in ax.get_lines() if ln.get_label() == "P(x)"][0]
    assert list(line.get_ydata()) == [0.2, 0.4, 0.7]
    assert list(line.get_xdata()) == [0.1, 0.5, 0.9]
    assert ax.get_xlabel() == "p" and ax.get_ylabel() == "P(x)"
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.1) and band[:, 1].max() == pytest.approx(0.8)


def test_sweep_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 parameter values but 2"):
        plots.sweep([1, 2, 3], "p", [0.1, 0.2])


def test_heatmap_annotates_each_cell():
    v = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
    fig = plots.heatmap([1, 2], [10, 20, 30], v, "x", "y", "P")
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert cells == ["10%", "20%", "30%", "40%", "50%", "60%"]
    with pytest.raises(ValueError, match="shape"):
        plots.heatmap([1, 2, 3], [10, 20, 30], v, "x", "y")


# ----------------------------------------------------------------------------- time distribution

def test_time_distribution_shows_never_share_and_median(world):
    times = {"a": np.array([100.0, 200.0, np.inf, 400.0]), "b": np.array([50.0, 60.0])}
    fig = plots.time_distribution(times, world, FORK, event_label="sanctions")
    ax, axn = fig.axes
    never = sorted(p.get_width() for p in axn.patches if p.get_gid() == "never")
    assert never == pytest.approx([0.0, 0.25])
    assert {"25%", "0%"} <= {t.get_text().strip() for t in axn.texts}
    medians = sorted(ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_gid() == "median")
    base = mdates.date2num(START)
    assert medians == pytest.approx([base + 55.0, base + 200.0])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]


# ----------------------------------------------------------------------------- event graph

def test_event_graph_draws_every_rule_and_review(world):
    fig = plots.event_graph(world)
    ax = fig.axes[0]
    arrows = [p.get_gid() for p in ax.patches if (p.get_gid() or "").startswith("rule-")]
    assert sorted(arrows) == sorted(f"rule-{r.id}" for r in world.rules)
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "rule-label"]
    assert sorted(labels) == sorted(["95%, 5d", "70%, ~120d", "40%, 10-50d"])
    assert [t.get_text() for t in ax.texts if t.get_gid() == "review"] == ["\u21bb 6%/30d"]
    nodes = [p for p in ax.patches if (p.get_gid() or "").startswith("node-")]
    assert len(nodes) == len(world.events)
    # actor columns, in the world's order
    heads = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"
             and t.get_gid() is None]
    assert heads[:3] == ["Turkey", "United States executive", "Russia"]


def test_event_graph_node_sits_in_its_actor_column(world):
    fig = plots.event_graph(world)
    ax = fig.axes[0]
    xs = {p.get_gid()[5:]: p.get_x() + p.get_width() / 2 for p in ax.patches
          if (p.get_gid() or "").startswith("node-")}
    assert xs["sanctions"] == pytest.approx(xs["removed"])        # both USA
    assert xs["delivered"] == pytest.approx(xs["batch2"])         # both RUS
    assert xs["activated"] < xs["sanctions"] < xs["delivered"]    # TUR, USA, RUS


# ----------------------------------------------------------------------------- halfwidth

def test_halfwidth_plots_widths_and_reference():
    ns = np.array([10, 100, 1000])
    fig = plots.halfwidth(ns, {"p": [0.3, 0.1, 0.03]}, target=0.02)
    ax = fig.axes[0]
    line = [ln for ln in ax.get_lines() if ln.get_label() == "p"][0]
    assert list(line.get_ydata()) == [0.3, 0.1, 0.03]
    ref = [ln for ln in ax.get_lines() if ln.get_label().startswith("worst case")][0]
    assert ref.get_ydata() == pytest.approx(1.96 * np.sqrt(0.25 / ns))
    assert ax.get_xscale() == "log"


def test_halfwidths_of_a_constant_outcome_shrink():
    ns, w = plots._halfwidths(np.ones(1000))
    assert ns[0] == 10 and ns[-1] == 1000
    assert np.all(np.diff(w) < 0)
    # Wilson interval for 10/10 successes: lower bound 0.7225, upper 1 -> half-width 0.1388
    assert w[0] == pytest.approx((1 - 0.72245) / 2, abs=1e-3)


# ----------------------------------------------------------------------------- save

def test_save_writes_png_and_svg_reproducibly(world, tmp_path):
    png, svg = plots.save(plots.halfwidth([10, 100], [0.2, 0.07]), tmp_path / "a" / "hw.png")
    assert png.name == "hw.png" and svg.name == "hw.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = svg.read_bytes()
    assert b"<svg" in first and b"<dc:date>" not in first
    png2, svg2 = plots.save(plots.halfwidth([10, 100], [0.2, 0.07]), tmp_path / "b" / "hw")
    assert svg2.read_bytes() == first and png2.read_bytes() == png.read_bytes()


# ----------------------------------------------------------------------------- standard set

class FakeRun:
    """The runner's interface, over hand-made streams."""

    def __init__(self, folder, world, streams):
        self.folder = folder
        self._world = world
        self._streams = streams
        outcomes = (
            OutcomeSpec("activated_by_2021", "occurs", event="activated", by=day("2021-01-01")),
            OutcomeSpec("time_to_sanctions", "time_to", event="sanctions"),
            OutcomeSpec("first", "first", events=("activated", "sanctions")),
        )
        branches = tuple(SimpleNamespace(name=b, world=world, history_doc=SimpleNamespace(
            sources=list(SOURCES.values()))) for b in streams)
        self.scenario = SimpleNamespace(
            name="t", fork_date=FORK, horizon_date=dt.date(2021, 12, 31), replicates=4,
            seed=1, outcomes=outcomes, branches=branches, starts=START)

    def branch_names(self):
        return list(self._streams)

    def replicate_events(self, b, i):
        return self._streams[b][i]

    def iter_events(self, b):
        return iter(self._streams[b])

    def first_times(self, b, kind, since=-np.inf):
        return np.array([min([e.time for e in s if e.kind == kind and e.time >= since],
                             default=np.inf) for s in self._streams[b]])

    def outcome_values(self, b):
        return {"activated_by_2021": (self.first_times(b, "activated") <= day("2021-01-01"))
                .astype(float)}

    def world(self, b):
        return self._world


def test_standard_figures_writes_the_set(world, replicate, tmp_path):
    hist = replicate[:2]
    other = [Event("alt/0", 3, day("2020-05-01"), "sanctions", "USA")]
    streams = {"base": [replicate, hist, hist + replicate[3:4], hist],
               "alt": [hist + other, hist, hist, hist]}
    run = FakeRun(tmp_path, world, streams)
    paths = plots.standard_figures(run)
    names = sorted(p.name for p in paths)
    assert names == sorted(["cumulative_activated.png", "cumulative_sanctions.png",
                            "timeline_base_0.png", "tree_base.png", "tree_alt.png",
                            "time_time_to_sanctions.png", "event_graph.png", "halfwidth.png"])
    for p in paths:
        assert p.parent == tmp_path / "figures" and p.exists() and p.with_suffix(".svg").exists()


# ----------------------------------------------------------------------------- images

@pytest.fixture
def default_rc():
    with matplotlib.style.context("default"):
        yield


def test_image_cumulative(world, tmp_path, default_rc):
    grid = np.arange(0.0, 1096.0, 5.0)
    p1 = np.clip((grid - day("2019-11-15")) / 900, 0, None) ** 0.7
    p1 = np.minimum(p1, 0.8)
    p2 = np.minimum(p1 * 1.3, 0.95)
    curves = {"baseline": (grid, p1, np.clip(p1 - 0.05, 0, 1), np.clip(p1 + 0.05, 0, 1)),
              "no_congress_hold": (grid, p2, np.clip(p2 - 0.05, 0, 1), np.clip(p2 + 0.05, 0, 1))}
    check_image(plots.cumulative(curves, world, FORK, event_label="US imposes sanctions",
                                 horizon=1095.0), "cumulative", tmp_path)


def test_image_timeline(world, replicate, tmp_path, default_rc):
    check_image(plots.timeline(replicate, world, SOURCES, FORK, horizon=1095.0),
                "timeline", tmp_path)


def test_image_outcome_tree(world, tmp_path, default_rc):
    shares = {("activated", "sanctions"): 0.31, ("sanctions",): 0.22,
              ("sanctions", "activated"): 0.12, ("activated",): 0.15, (): 0.2}
    check_image(plots.outcome_tree(shares, world, n=1000), "outcome_tree", tmp_path)


def test_image_event_graph(world, tmp_path, default_rc):
    check_image(plots.event_graph(world), "event_graph", tmp_path)


def test_image_tornado(tmp_path, default_rc):
    res = {"rules.sanction_after_activation.probability": (0.35, 0.6, 0.3, 0.9),
           "reviews.turkey_activation.probability": (0.4, 0.55, 0.03, 0.09),
           "state.in_f35": (0.2, 0.7)}
    check_image(plots.tornado(res, 0.48, "P(sanctions by 2021)"), "tornado", tmp_path)


def test_image_time_distribution(world, tmp_path, default_rc):
    rng = np.random.default_rng(7)
    t = {"baseline": np.where(rng.random(300) < 0.7, 330 + rng.exponential(300, 300), np.inf),
         "no_hold": np.where(rng.random(300) < 0.85, 330 + rng.exponential(150, 300), np.inf)}
    t = {k: np.where(v > 1095, np.inf, v) for k, v in t.items()}
    check_image(plots.time_distribution(t, world, FORK, event_label="US imposes sanctions",
                                        horizon=1095.0), "time_distribution", tmp_path)


def test_tree_events_are_first_outcomes_then_the_most_variable_after_the_fork(world, replicate,
                                                                             tmp_path):
    hist = replicate[:2]                           # delivered, removed: before the fork
    act = replicate[3]                             # activated, after the fork
    streams = {"base": [hist + [act], hist + [act], hist, hist]}
    run = FakeRun(tmp_path, world, streams)
    outs = [OutcomeSpec("f", "first", events=("sanctions",)),
            OutcomeSpec("r", "occurs", event="removed"),      # only in history: p = 0
            OutcomeSpec("d", "occurs", event="delivered"),    # only in history: p = 0
            OutcomeSpec("a", "occurs", event="activated")]    # after the fork in 2 of 4
    fork = day("2019-11-15")
    assert plots._tree_kinds(run, "base", outs, fork, 4) == ["sanctions", "activated"]
    assert plots._tree_kinds(run, "base", outs, fork, 1) == ["sanctions"]


# ----------------------------------------------------------------------------- effects

def _no_overlap(fig, ax) -> bool:
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    leg = ax.get_legend() or (fig.legends[0] if fig.legends else None)
    assert leg is not None
    a, b = leg.get_window_extent(), ax.get_window_extent()
    return not a.overlaps(b)


def test_difference_over_time_draws_the_effect_in_points_with_zero_line(world):
    grid = np.array([0.0, 300.0, 400.0, 600.0])
    d = np.array([0.0, 0.0, -0.05, -0.2])
    fig = plots.difference_over_time({"hold \u2212 base": (grid, d, d - 0.03, d + 0.03)}, world,
                                     FORK, event_label="sanctions")
    ax = fig.axes[0]
    line = [ln for ln in ax.get_lines() if ln.get_label() == "hold \u2212 base"][0]
    assert list(line.get_ydata()) == [0.0, 0.0, -5.0, -20.0]     # percentage points
    assert line.get_drawstyle() == "steps-post"
    zero = [ln for ln in ax.get_lines() if ln.get_gid() == "zero"]
    assert zero and list(zero[0].get_ydata()) == [0, 0]
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(-23.0) and band[:, 1].max() == pytest.approx(3.0)
    assert "percentage points" in ax.get_ylabel()
    assert _no_overlap(fig, ax)
    legend = fig.legends[0] if fig.legends else ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["hold \u2212 base",
                                                        "95% interval (paired)"]
    fig = plots.difference_over_time({"a": (grid, d)}, world, band_label="95% interval (unpaired)")
    assert "95% interval (unpaired)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_forest_one_panel_per_unit_clear_and_unclear_marked():
    rows = [("P(sanctions)", -0.19, -0.25, -0.13, "probability"),
            ("P(storage)", 0.01, -0.02, 0.04, "probability"),
            ("days to sanctions", 45.0, 20.0, 70.0, "days"),
            ("tension", 0.0, 0.0, 0.0, "mean")]
    fig = plots.forest(rows, title="t")
    axes = fig.axes
    assert len(axes) == 3                                # units are never mixed on one axis
    # in the given order, top to bottom
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["P(sanctions)", "P(storage)"]
    assert list(axes[0].get_yticks()) == [1, 0]
    clear = by_gid(axes[0], "clear")[0]
    assert list(clear.get_xdata()) == [pytest.approx(-19.0)]   # percentage points
    assert len(by_gid(axes[0], "unclear")) == 1
    txt = texts(fig)
    assert "-19.0 [-25.0, -13.0]" in txt
    assert "+1.0 [-2.0, +4.0]  cannot tell apart" in txt
    assert "+45 [+20, +70]" in txt
    assert "0: the same in every replicate" in txt
    assert axes[1].get_xlabel().startswith("difference in days")
    assert axes[2].get_xlim() == (-1.0, 1.0)             # all zero: one unit either side


def test_more_than_eight_branches_never_share_colour_and_style(world):
    grid = np.array([0.0, 400.0, 800.0])
    curves = {f"b{i}": (grid, [0, 0.05 * i, 0.08 * i]) for i in range(11)}
    fig = plots.cumulative(curves, world, FORK)
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("b")]
    styles = {(ln.get_color(), ln.get_linestyle()) for ln in lines}
    assert len(styles) == 11
    assert lines[8].get_linestyle() == "--" and lines[0].get_linestyle() == "-"
    assert _no_overlap(fig, ax)


def test_legends_sit_outside_the_axes(world):
    grid = np.array([0.0, 400.0, 800.0])
    long = {"a_rather_long_branch_name_that_goes_on \u2212 its_control": (grid, [0, 0.1, 0.2])}
    for fig in (plots.cumulative({"base": (grid, [0, 0.5, 0.9])}, world, FORK),
                plots.cumulative(long, world, FORK),
                plots.sweep([1, 2], "p", {"a": [0.1, 0.2], "b": [0.3, 0.4]}),
                plots.halfwidth([10, 100], {"x": [0.2, 0.07]})):
        assert _no_overlap(fig, fig.axes[0])


def test_sweep_run_gets_sweep_heatmap_and_tornado(tmp_path):
    import sim

    grid = Path(__file__).parent / "data" / "scenarios" / "sweep_grid.yaml"
    run = sim.run(grid, out=tmp_path / "sw", replicates=20, executor="serial", progress=False)
    figs = plots.sweep_figures(run, max_outcomes=1)
    stems = [s for s, _c, _f in figs]
    assert stems == ["sweep_decided_sanction_after_decision_probability",
                     "sweep_decided_alpha_decides_every", "heatmap_decided", "tornado_decided"]
    # the heatmap's cells are the branches' estimates
    table = run.outcome_table()
    heat = figs[2][2].axes[0]
    want = [plots._pct(table.summary(b, "decided")["probability"].mean)
            for b in ["probability=0.2,every=30", "probability=0.6,every=30",
                      "probability=0.2,every=60", "probability=0.6,every=60"]]
    assert [t.get_text() for t in heat.texts] == want
    # tornado, one-way: 'every' at its base 30 while the rule's probability moves; the
    # probability (base 0.4, grid 0.2 and 0.6) held at 0.2, the nearest (ties: the lower)
    tor = figs[3][2].axes[0]
    base = table.summary("sweep_grid", "decided")["probability"].mean
    p = {b: table.summary(b, "decided")["probability"].mean for b in [
        "probability=0.2,every=30", "probability=0.6,every=30", "probability=0.2,every=60"]}
    labels = [t.get_text().split("\n")[0] for t in tor.get_yticklabels()]
    low = dict(zip(labels, [r.get_width() + base for r in by_gid(tor, "low")]))
    high = dict(zip(labels, [r.get_width() + base for r in by_gid(tor, "high")]))
    assert low["sanction_after_decision.probability"] == pytest.approx(
        p["probability=0.2,every=30"])
    assert high["sanction_after_decision.probability"] == pytest.approx(
        p["probability=0.6,every=30"])
    assert high["alpha_decides.every"] == pytest.approx(p["probability=0.2,every=60"])
    assert "nearest their base values" in tor.get_title()
    paths = plots.standard_figures(run, max_trees=1)
    names = {p.name for p in paths}
    assert {"heatmap_decided.png", "tornado_decided.png"} <= names
    assert not any(n.startswith("forest_") for n in names)   # a sweep: no forest per point


def test_image_difference_over_time(world, tmp_path, default_rc):
    grid = np.arange(0.0, 1096.0, 5.0)
    d = np.where(grid < day("2019-12-20"), 0.0,
                 0.6 * np.exp(-(grid - day("2019-12-20")) / 500.0) * np.minimum(
                     1.0, (grid - day("2019-12-20")) / 60.0))
    d[grid > 1095] = np.nan
    curves = {"no_hold \u2212 baseline": (grid, d, d - 0.05, d + 0.05)}
    check_image(plots.difference_over_time(curves, world, FORK, event_label="US imposes "
                                           "sanctions", horizon=1095.0),
                "difference_over_time", tmp_path)


def test_image_forest(tmp_path, default_rc):
    rows = [("P(sanctions by 2021)", 0.5, 0.44, 0.56, "probability"),
            ("P(S-400 put in storage)", -0.007, -0.016, 0.003, "probability"),
            ("P(working group accepted)", -0.023, -0.041, -0.006, "probability"),
            ("days from the fork to sanctions (days)", -360.0, -390.0, -330.0, "days"),
            ("US-Turkey tension at the horizon", 6.68, 5.34, 8.03, "mean")]
    check_image(plots.forest(rows, title="'no_hold' minus its control 'baseline'"), "forest",
                tmp_path)


def test_a_curve_drawn_exactly_over_another_says_so(world):
    grid = np.array([0.0, 400.0, 800.0])
    fig = plots.cumulative({"a": (grid, [0, 0.2, 0.4]), "b": (grid, [0, 0.3, 0.5]),
                            "c": (grid, [0, 0.2, 0.4])}, world, FORK)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["a", "b", "c (same as a)", "95% interval"]
    fig = plots.sweep([1, 2], "p", {"x": [0.1, 0.2], "y": [0.1, 0.2]})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "x", "y (same as x)"]


def test_rug_over_many_replicates_draws_distinct_times_with_the_same_look(world, monkeypatch):
    """Over RUG_MARKERS replicates the rug draws one tick per distinct time, with the
    alpha its stacked ticks compose to: fewer markers, (almost) the same pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng = np.random.default_rng(3)
    n = 6000
    t = {"b": np.where(rng.random(n) < 0.8, 400 + np.floor(rng.exponential(120, n)), np.inf)}

    def render():
        fig = plots.time_distribution(t, world, FORK, event_label="x", horizon=1095.0)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        ticks = sum(len(line.get_xdata()) for line in fig.axes[0].lines
                    if line.get_marker() == "|")
        return np.asarray(canvas.buffer_rgba(), dtype=float), ticks

    compact, few = render()
    monkeypatch.setattr(plots, "RUG_MARKERS", 10**9)
    full, many = render()
    finite = t["b"][np.isfinite(t["b"])]
    assert many == len(finite) and few == len(np.unique(finite)) < many / 5
    assert compact.shape == full.shape
    diff = np.abs(compact - full).max(axis=2)
    # anti-aliased tick edges compose a little differently; nothing else moves
    rows = np.nonzero(diff.max(axis=1) > 12)[0]
    assert len(rows) <= 10 and rows.max() - rows.min() < 10      # only the rug's band
    assert diff.mean() < 0.5 and (diff > 12).mean() < 0.01
