"""A shareable report: one self-contained HTML page comparing runs.

``sim report RUN... --out report.html`` writes a single file that opens
offline in any browser: CSS inline, figures embedded as base64 PNG, no
scripts, no links to fetch. It holds, in order:

1. the runs (scenario, description, seed, replicates, branches, folder);
2. how each scenario and branch differs from the first (resolved settings);
3. the outcome table with 95% intervals and differences against the first
   column (paired under common random numbers, see :mod:`sim.compare`);
4. figures: the cumulative probability of each key event for every branch
   of every run on one plot, and the time-to-event distributions;
5. one example story per branch (replicate 0), with the reason for each step;
6. for each sensitivity folder given (``sim sensitivity``), its Sobol indices,
   tornado and PRIM boxes (:func:`sim.sensplots.html_section`).

Branches that draw ``uncertain:`` parameters per replicate are named under the
outcome table: their estimates average over the declared distributions.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.compare import Column, columns, compare_runs

CSS = """
body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
 padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;
 margin-top:2em} .meta{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:.8em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef4fa} tr.diff td{background:#fbf6e9;font-style:italic}
.note{color:#555;font-size:.85em} figure{margin:1em 0} figure img{max-width:100%;
 border:1px solid #ddd} figcaption{color:#555;font-size:.85em}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.8em;line-height:1.35}
code{background:#f0f0f0;padding:0 .2em}
"""


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, Mapping):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix.rstrip(".")] = d
    return out


def scenario_differences(runs: Sequence[Any]) -> list[tuple[str, str, str, str]]:
    """(column, setting, reference value, this value) for every difference from the first
    column: scenario settings (resolved) and each branch's own changes."""
    pairs = columns(runs)

    def settings(c: Column) -> dict[str, Any]:
        sc = c.run.scenario
        flat = {k: v for k, v in _flatten(sc.resolved).items()
                if not k.startswith(("branches", "sweep", "outcomes", "description", "name",
                                     "extends", "world", "history"))}
        br = c.run.branch(c.branch)
        for k, v in (br.settings or {}).items():
            flat[f"set.{k}"] = v
        flat["inject"] = ", ".join(f"{o.kind}@{sc.starts + dt.timedelta(days=o.time)}"
                                   for o in br.inject) or "-"
        flat["suppress"] = ", ".join(sorted(br.suppress)) or "-"
        flat["fork"] = str(sc.starts + dt.timedelta(days=br.fork))
        flat["horizon"] = str(sc.starts + dt.timedelta(days=br.horizon))
        return flat

    ref = settings(pairs[0][0])
    out = []
    for c, label in pairs[1:]:
        mine = settings(c)
        for k in sorted(set(ref) | set(mine)):
            a, b = ref.get(k, "-"), mine.get(k, "-")
            if a != b:
                out.append((label, k, str(a), str(b)))
    return out


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(runs: Sequence[Any]) -> list[tuple[str, str]]:
    from sim import plots
    from sim.outcomes import cumulative_incidence

    pairs = columns(runs)
    cols = [c for c, _ in pairs]
    labels = [label for _, label in pairs]
    ref = runs[0]
    sc = ref.scenario
    world = ref.world()
    horizon = max(world.day(r.scenario.horizon_date) for r in runs)
    grid = np.arange(0.0, horizon + 1.0, max(1.0, horizon / 600))
    kinds: list[str] = []
    for o in sc.outcomes:
        for k in ([o.event] if o.event else []) + list(o.events):
            if k and k not in kinds:
                kinds.append(k)
    out = []
    for kind in kinds:
        curves = {}
        for c, label in zip(cols, labels):
            t = c.run.first_times(c.branch, kind)
            hz = c.run.world(c.branch).day(c.run.scenario.horizon_date)
            p, lo, hi = cumulative_incidence(t, grid, hz)
            curves[label] = (grid, p, lo, hi)
        fig = plots.cumulative(curves, world, sc.fork_date, horizon=horizon,
                               event_label=plots.label_of(world, kind))
        out.append((f"Cumulative probability: {plots.label_of(world, kind)}", _png(fig)))
    for o in sc.outcomes:
        if o.measure == "time_to" and o.event:
            times = {label: c.run.first_times(c.branch, o.event) for c, label in zip(cols, labels)}
            fig = plots.time_distribution(times, world, sc.fork_date, horizon=horizon,
                                          event_label=plots.label_of(world, o.event))
            out.append((f"When it happens: {plots.label_of(world, o.event)}", _png(fig)))
    return out


def render(runs: Sequence[Any], sensitivity: Sequence[Any] = ()) -> str:
    """The report's HTML text (``sensitivity``: sensitivity folders to add)."""
    from sim.story import story

    e = html.escape
    if not runs:
        from sim.sensplots import html_section

        return "\n".join([f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                          f"<title>sim report: sensitivity</title><style>{CSS}</style></head>"
                          "<body><h1>Sensitivity report</h1>"]
                         + [html_section(f) for f in sensitivity] + ["</body></html>"])
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>sim report: {e(', '.join(r.scenario.name for r in runs))}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Scenario report: {e(' vs '.join(r.scenario.name for r in runs))}</h1>",
             f"<p class='meta'>sim {__version__}, written "
             f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}. Every number below comes from "
             f"the run folders named here; <code>sim verify RUN</code> checks them.</p>",
             "<h2>Runs</h2><table><tr><th>scenario</th><th>description</th><th>branches</th>"
             "<th>replicates</th><th>seed</th><th>folder</th></tr>"]
    for r in runs:
        sc = r.scenario
        parts.append(f"<tr><td>{e(sc.name)}</td><td>{e(sc.description or '')}</td>"
                     f"<td>{e(', '.join(r.branch_names()))}</td><td>{sc.replicates}</td>"
                     f"<td>{sc.seed}</td><td><code>{e(str(r.folder))}</code></td></tr>")
    parts.append("</table>")
    diffs = scenario_differences(runs)
    parts.append("<h2>What differs from the first column</h2>")
    if diffs:
        parts.append("<table><tr><th>branch</th><th>setting</th><th>reference</th>"
                     "<th>this branch</th></tr>")
        parts += [f"<tr><td>{e(a)}</td><td><code>{e(b)}</code></td><td>{e(c)}</td>"
                  f"<td>{e(d)}</td></tr>" for a, b, c, d in diffs]
        parts.append("</table>")
    else:
        parts.append("<p>Nothing: a single branch, or identical settings.</p>")
    parts.append("<h2>Outcomes</h2>")
    parts.append(compare_runs(runs)._repr_html_())
    drawn = [(r.scenario.name, b.name, len(b.uncertain)) for r in runs
             for b in r.scenario.branches if getattr(b, "uncertain", None)]
    if drawn:
        parts.append("<p class='note'>Parameter uncertainty: "
                     + "; ".join(f"{e(s)} / {e(b)} draws {n} <code>uncertain:</code> "
                                 f"parameter(s) per replicate" for s, b, n in drawn)
                     + ". Their estimates average over the declared distributions and their "
                     "intervals are the Monte Carlo intervals of that average; the spread "
                     "over the parameters themselves is in the sensitivity section "
                     "(<code>sim sensitivity</code>).</p>")
    parts.append("<h2>Figures</h2>")
    for caption, data in _figures(runs):
        parts.append(f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts.append("<h2>One simulated world per branch</h2>")
    for r in runs:
        for b in r.branch_names():
            text = story(r.replicate_events(b, 0), r.world(b), sources=r.sources(b),
                         branch=r.branch(b))
            parts.append(f"<h3>{e(r.scenario.name)} / {e(b)}, replicate 0</h3>"
                         f"<pre>{e(text)}</pre>")
    if sensitivity:
        from sim.sensplots import html_section

        parts += [html_section(f) for f in sensitivity]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(runs: Sequence[Any], out: str | os.PathLike,
                 sensitivity: Sequence[Any] = ()) -> Path:
    """Write the report atomically (a temporary file renamed) and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render(runs, sensitivity)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return out
