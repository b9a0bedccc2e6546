"""A live classroom explorer: move key parameters, toggle teaching branches, watch the curves.

:class:`Explorer` builds an ipywidgets panel for one scenario (the S-400 baseline by default):

- a slider per key parameter (a dotted path of the world, e.g.
  ``reviews.congress_ndaa.probability``); when any differs from the world's value, a branch
  "your settings" with those values (a ``set:``) is run beside the baseline, with the same seed
  (common random numbers), so the gap between the two curves is the parameter's effect;
- a checkbox per teaching file (e.g. ``crete_model``) adds that file's counterfactual branch
  (and, when the file forks on another date than the baseline, its own control too: a branch
  is compared only with a control from the same fork);
- an event menu picks which event's cumulative probability is drawn (with 95% bands, via
  :func:`sim.plots.cumulative` on one persistent figure);
- a story panel tells one replicate of one shown branch (:func:`sim.story.story`).

All logic is in plain methods (:meth:`Explorer.update`, :meth:`Explorer.tell`) hooked to the
widgets' ``observe``/``on_click``, so tests drive it by setting widget values. Runs are cached
by (file, settings, replicates), so toggling back is instant.
"""
from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

DEFAULT_PARAMETERS = (
    "reviews.congress_ndaa.probability",
    "reviews.us_caatsa.probability",
    "reviews.turkey_live_test.probability",
    "rules.preempt_ndaa.probability",
)
DEFAULT_BRANCHES = ("no_congress_hold", "crete_model", "wg_accepted_apr2019", "patriot_2017")
DEFAULT_EVENTS = ("caatsa_sanctions", "s400_live_test", "wg_accepted", "f35_removed")
SETTINGS = "your settings"


class Explorer:
    """The widget panel (``.widget``) and its state (``.curves``, ``.figure``, ``.story``)."""

    def __init__(self, baseline: str | Path, *, replicates: int = 100,
                 parameters: Sequence[str] = DEFAULT_PARAMETERS,
                 branches: Sequence[str] = DEFAULT_BRANCHES,
                 events: Sequence[str] = DEFAULT_EVENTS, runs: str | Path | None = None,
                 live: bool = True):
        import ipywidgets as w
        import matplotlib.pyplot as plt

        import sim

        self.baseline = Path(baseline).resolve()
        self.folder = self.baseline.parent
        self.runs = Path(runs) if runs else Path(tempfile.mkdtemp(prefix="sim-explorer-"))
        self.scenario = sim.load(self.baseline)
        self.world = self.scenario.branches[0].world
        values = self.world.parameters()
        missing = [p for p in parameters if p not in values]
        if missing:
            raise ValueError(f"Explorer: {missing} are not parameters of the world "
                             f"(see world.parameters())")
        self.defaults = {p: float(values[p]) for p in parameters}
        self.branch_files = [b for b in branches if (self.folder / f"{b}.yaml").exists()]
        events = [e for e in events if e in self.world.events]
        self._cache: dict[tuple, Any] = {}
        self.curves: dict[str, tuple] = {}
        self.shown: dict[str, tuple[Any, str]] = {}   # label -> (run, branch)
        self.story = ""

        style = {"description_width": "initial"}
        self.sliders = {p: w.FloatSlider(value=v, min=0.0, max=round(min(1.0, max(3 * v, 0.05)),
                                                                      4),
                                         step=round(max(v, 0.001) / 20, 5), readout_format=".3f",
                                         description=p.split(".")[1], continuous_update=False,
                                         style=style)
                        for p, v in self.defaults.items()}
        self.toggles = {b: w.Checkbox(value=False, description=b, indent=False)
                        for b in self.branch_files}
        self.event = w.Dropdown(options=events, value=events[0], description="event")
        self.replicates = w.IntSlider(value=replicates, min=20, max=2000, step=20,
                                      description="replicates", continuous_update=False)
        self.live = w.Checkbox(value=live, description="update on every change", indent=False)
        self.run_button = w.Button(description="Run", button_style="primary")
        self.reset_button = w.Button(description="Reset parameters")
        self.story_branch = w.Dropdown(options=[], description="branch")
        self.story_replicate = w.BoundedIntText(value=0, min=0, max=replicates - 1,
                                                description="replicate")
        self.story_button = w.Button(description="Tell its story")
        self.story_box = w.Textarea(value="", layout=w.Layout(width="100%", height="260px"))
        self.status = w.HTML()
        self.plot = w.Output()

        with plt.ioff():
            self.figure, self.ax = plt.subplots(figsize=(8, 4.2))

        for s in self.sliders.values():
            s.observe(self._changed, names="value")
        for t in self.toggles.values():
            t.observe(self._changed, names="value")
        self.event.observe(self._changed, names="value")
        self.replicates.observe(self._changed, names="value")
        self.run_button.on_click(lambda _b: self.update())
        self.reset_button.on_click(lambda _b: self.reset())
        self.story_button.on_click(lambda _b: self.tell())
        self.story_replicate.observe(lambda _c: self.tell(), names="value")
        self.story_branch.observe(lambda _c: self.tell(), names="value")

        self.widget = w.VBox([
            w.HTML("<b>Parameters</b> (per-month hazards and rule probabilities)"),
            *self.sliders.values(),
            w.HBox([self.reset_button, self.replicates]),
            w.HTML("<b>Teaching branches</b> (each against the same baseline)"),
            w.HBox(list(self.toggles.values())),
            w.HBox([self.event, self.live, self.run_button]),
            self.status, self.plot,
            w.HTML("<b>One simulated world</b>"),
            w.HBox([self.story_branch, self.story_replicate, self.story_button]),
            self.story_box,
        ])

    # ------------------------------------------------------------------ state

    def settings(self) -> dict[str, float]:
        """The parameters whose slider is away from the world's value."""
        return {p: float(s.value) for p, s in self.sliders.items()
                if abs(float(s.value) - self.defaults[p]) > 1e-12}

    def _run(self, scenario: Path | dict, name: str) -> Any:
        import sim

        n = int(self.replicates.value)
        text = yaml.safe_dump(scenario, sort_keys=True) if isinstance(scenario, dict) \
            else str(scenario)
        key = (text, n)
        if key not in self._cache:
            if isinstance(scenario, dict):
                path = self.runs / f"{name}-{len(self._cache)}.yaml"
                path.write_text(text)
            else:
                path = scenario
            self._cache[key] = sim.run(path, replicates=n, out=self.runs / f"run{len(self._cache)}",
                                       executor="serial", progress=False, force=True)
        return self._cache[key]

    def update(self) -> None:
        """Run what is needed and redraw the curves of the chosen event."""
        from sim import outcomes, plots

        self.status.value = "running ..."
        shown: dict[str, tuple[Any, str]] = {}
        base = self._run(self.baseline, "baseline")
        shown["baseline"] = (base, base.branch_names()[0])
        if self.settings():
            spec = {"name": "explorer", "extends": str(self.baseline),
                    "branches": {"settings": {"set": self.settings()}}}
            run = self._run(spec, "settings")
            shown[SETTINGS] = (run, "settings")
        for b, t in self.toggles.items():
            if t.value:
                run = self._run(self.folder / f"{b}.yaml", b)
                if run.scenario.fork != self.scenario.fork:
                    # another fork: its own control, never the baseline, is its comparison
                    shown[f"{b} control"] = (run, run.branch_names()[0])
                shown[b] = (run, run.branch_names()[-1])
        sc = self.scenario
        grid = np.arange(sc.fork - 60, sc.horizon + 1)
        self.curves = {}
        for label, (run, branch) in shown.items():
            t = run.first_times(branch, self.event.value)
            if getattr(run.branch(branch), "uncertain", None):
                # grouped parameter draws: draws as the Monte Carlo units, and the band over
                # the parameters beside it (as `sim plot` draws them)
                from sim.paramspread import cumulative as drawn_cumulative

                self.curves[label] = (grid, *drawn_cumulative(
                    np.asarray(t, dtype=float), grid, sc.horizon,
                    run.scenario.replicates_per_draw))
                continue
            self.curves[label] = (grid, *outcomes.cumulative_incidence(t, grid, sc.horizon))
        self.shown = shown
        self.ax.clear()
        plots.cumulative(self.curves, self.world, sc.fork, horizon=sc.horizon,
                         event_label=self.event.value, ax=self.ax,
                         title=f"{self.event.value}: {self.replicates.value} replicates per "
                               f"branch, 95% bands")
        self.story_branch.options = list(shown)
        self.story_replicate.max = int(self.replicates.value) - 1
        final = ", ".join(f"{k} {c[1][np.isfinite(c[1])][-1]:.2f}"
                          for k, c in self.curves.items())
        self.status.value = f"P({self.event.value}) by the horizon: {final}"
        self._show()

    def _show(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import clear_output, display
        except ImportError:  # pragma: no cover - IPython comes with ipywidgets
            return
        if get_ipython() is None:
            return
        with self.plot:
            clear_output(wait=True)
            display(self.figure)

    def _changed(self, _change: Mapping) -> None:
        if self.live.value:
            self.update()

    def reset(self) -> None:
        """Sliders back to the world's values (one redraw)."""
        live, self.live.value = self.live.value, False
        for p, s in self.sliders.items():
            s.value = self.defaults[p]
        self.live.value = live
        if live:
            self.update()

    def tell(self) -> str:
        """The story of the chosen replicate of the chosen branch, into the text box."""
        from sim import story

        label = self.story_branch.value
        if label not in self.shown:
            self.story = "Run first, then choose a branch."
        else:
            run, branch = self.shown[label]
            i = int(self.story_replicate.value)
            events = run.replicate_events(branch, i)
            self.story = f"{label}, replicate {i}\n" + story.story(
                events, run.world(branch), branch=run.branch(branch))
        self.story_box.value = self.story
        return self.story

    def curve_end(self, label: str) -> float:
        """P(event by the horizon) of a drawn curve (the last point of its line)."""
        p = self.curves[label][1]
        return float(p[np.isfinite(p)][-1])
