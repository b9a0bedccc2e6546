"""A shareable report: one self-contained HTML page comparing runs.

``sim report RUN... --out report.html`` writes a single file that opens
offline in any browser: CSS inline, figures embedded as base64 PNG, no
scripts, no links to fetch. It holds, in order:

1. a summary: for each branch, the differences against its control (the base
   branch of its own scenario file) whose 95% interval excludes 0, largest
   first, in plain words with their intervals (:mod:`sim.effects`);
2. the runs (scenario, description, seed, replicates, branches, folder);
3. what differs: each branch against its control, and each later run's base
   against the first run's (resolved settings; ``set:`` with the control's
   value and the branch's, injections, suppressions, dropped history);
4. the outcome table with 95% intervals and differences (:mod:`sim.compare`);
5. the effects plotted: for each key event the paired difference in its
   cumulative probability, branch minus control, over time, and for each
   branch a forest plot of every outcome's difference with its interval;
6. figures of each branch on its own: the cumulative probability of each key
   event for every branch of every run, and the time-to-event distributions;
7. one example story per branch (replicate 0), with the reason for each step.
8. forecast scores, when scoring outputs (``sim score --out``) are given too: the
   scoring report and its reliability diagram.
9. for each sensitivity folder given (``sim sensitivity``), its Sobol indices,
   tornado and PRIM boxes (:func:`sim.sensplots.html_section`).

Branches that draw ``uncertain:`` parameters are named under the outcome table:
their estimates average over the declared distributions, their bracketed intervals
are Monte Carlo intervals of that average (the parameter draws as the units), and
rows labelled "90% over parameters" (and dotted bands in the cumulative figures, a
wide light bar in the forest plots) give the spread of the outcome over the
parameters themselves (:mod:`sim.paramspread`).
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim import __version__
from sim.compare import FLAG, Column, caution_of, columns, compare_runs
from sim.errors import InputError

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
ul.summary{margin-top:.2em} ul.summary li{margin:.15em 0}
.flag,td.flag,tr.diff td.flag{color:#b00020;font-weight:bold}
"""


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, Mapping):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix.rstrip(".")] = d
    return out


def _history_key(o: Any) -> tuple:
    return (o.kind, float(o.time), o.source)


def _dropped(branch: Any, control: Any, starts: dt.date) -> str:
    """History entries the control has before the fork and the branch does not."""
    mine = Counter(_history_key(o) for o in branch.history)
    theirs = Counter(_history_key(o) for o in control.history)
    gone = sorted((theirs - mine).elements(), key=lambda k: (k[1], k[0]))
    return ", ".join(f"{k}@{starts + dt.timedelta(days=t)}" for k, t, _s in gone) or "-"


def comparison_pairs(runs: Sequence[Any]) -> list[tuple[Column, str, Column, str]]:
    """(column, label, reference column, its label): every branch with its control (the
    base of its own run), and each later run's first branch with the first run's."""
    from sim import effects

    pairs = columns(runs)
    label = {(id(c.run), c.branch): lab for c, lab in pairs}
    col = {(id(c.run), c.branch): c for c, _lab in pairs}
    out = []
    first = pairs[0][0]
    for r in runs:
        names = r.branch_names()
        if r is not runs[0]:
            c = col[(id(r), names[0])]
            out.append((c, label[(id(r), names[0])], first, pairs[0][1]))
        for b in names:
            ctl = effects.control_of(r, b)
            if ctl is not None:
                out.append((col[(id(r), b)], label[(id(r), b)], col[(id(r), ctl)],
                            label[(id(r), ctl)]))
    return out


def scenario_differences(runs: Sequence[Any]) -> list[tuple[str, str, str, str, str]]:
    """(column, reference column, setting, reference value, this value) for every
    difference of a branch from its control and of a later run from the first run:
    scenario settings (resolved), ``set:`` (the reference's value even when the reference
    does not set it), injections, suppressions and dropped history."""

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

    out = []
    for c, label, rc, rlabel in comparison_pairs(runs):
        ref, mine = settings(rc), settings(c)
        ref_params = rc.run.world(rc.branch).parameters()
        my_params = c.run.world(c.branch).parameters()
        for k in [k for k in mine if k.startswith("set.")]:
            ref.setdefault(k, ref_params.get(k[4:], "-"))
        for k in [k for k in ref if k.startswith("set.")]:
            mine.setdefault(k, my_params.get(k[4:], "-"))
        br, rb = c.run.branch(c.branch), rc.run.branch(rc.branch)
        starts = c.run.scenario.starts
        mine["drop_history"] = _dropped(br, rb, starts)
        ref["drop_history"] = _dropped(rb, br, starts)
        for k in sorted(set(ref) | set(mine)):
            a, b = ref.get(k, "-"), mine.get(k, "-")
            if a != b:
                out.append((label, rlabel, k, str(a), str(b)))
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
    from sim.outcomes import cumulative_grid, cumulative_incidence

    pairs = columns(runs)
    cols = [c for c, _ in pairs]
    labels = [label for _, label in pairs]
    ref = runs[0]
    sc = ref.scenario
    world = ref.world()
    horizon = max(world.end_of_day(r.scenario.horizon_date) for r in runs)
    grid = cumulative_grid(0.0, horizon)
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
            hz = c.run.world(c.branch).end_of_day(c.run.scenario.horizon_date)
            if getattr(c.run.branch(c.branch), "uncertain", None):   # grouped draws
                from sim.paramspread import cumulative as drawn_cumulative

                curves[label] = (grid, *drawn_cumulative(
                    t, grid, hz, c.run.scenario.replicates_per_draw))
                continue
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


def _scores_section(scores: Sequence[Any]) -> list[str]:
    """Forecast scores (:class:`sim.scoring.ScoreReport`): the text report and the
    reliability diagram of each."""
    from sim import plots
    from sim.scoring import BASE_RATE, MODEL, format_report, reliability

    e = html.escape
    parts = ["<h2>Forecast scores</h2>"]
    for rep in scores:
        bins = {f: reliability(rep.questions, f) for f in (MODEL, BASE_RATE)}
        fig = plots.reliability(bins, title=f"Reliability: {rep.name}")
        parts.append(f"<h3>{e(rep.name)}</h3><pre>{e(format_report(rep))}</pre>"
                     f"<figure><img alt='reliability diagram' "
                     f"src='data:image/png;base64,{_png(fig)}'><figcaption>Reliability of "
                     f"the model and the base rate: forecast probability against observed "
                     f"frequency, with counts</figcaption></figure>")
    return parts


def _effect_figures(runs: Sequence[Any]) -> list[tuple[str, str]]:
    """The effects plotted: each run's branches against their controls."""
    from sim import effects, plots

    out = []
    for r in runs:
        if plots._sweep_params(r)[1]:
            figs = plots.sweep_figures(r)
        else:
            figs = plots.effect_figures(effects.pairs(r), max_forests=12)
        out += [(f"{r.scenario.name}: {caption}", _png(fig)) for _stem, caption, fig in figs]
    for b, c in effects.cross_pairs(runs):
        try:
            figs = plots.effect_figures([(b, c)])
        except effects.REFUSED:           # said in the summary
            continue
        out += [(f"{b.label} against {c.label}: {caption}", _png(fig))
                for _stem, caption, fig in figs]
    return out


def _summary(runs: Sequence[Any]) -> list[str]:
    """The report's opening: per branch, its clear differences against its control."""
    from sim import effects

    e = html.escape
    parts = ["<h2>Summary</h2>",
             "<p class='note'>Each branch against its control (the base branch of its own "
             "scenario file, paired replicate by replicate under common random numbers "
             "unless marked unpaired). "
             "Listed: the differences whose 95% interval excludes 0, probabilities first, "
             "then times in days, then other means, largest first.</p>"]
    cross = {id(b.run): (b, c) for b, c in effects.cross_pairs(runs)}
    parts += _invariants_warning(runs)
    for r in runs:
        pairs = effects.pairs(r)
        if not pairs and id(r) not in cross:
            parts.append(f"<p><b>{e(r.scenario.name)}</b>: a single branch, no control to "
                         f"compare with.</p>")
            continue
        if _is_sweep(r):
            parts.append(f"<p><b>{e(r.scenario.name)}</b> is a sweep of {len(pairs)} points: "
                         f"see the sweep figures below.</p>")
            continue
        for b, c in pairs or [cross[id(r)]]:
            try:
                lines, n_clear, n_all = effects.summary(b, c)
            except effects.REFUSED as exc:
                parts.append(f"<p><b>{e(b.label)}</b> is not compared with <b>{e(c.label)}"
                             f"</b>: {e(str(exc))}</p>")
                continue
            head = (f"<p><b>{e(b.branch)}</b> against its control <b>{e(c.branch)}</b> "
                    f"({e(r.scenario.name)}): " if pairs else
                    f"<p><b>{e(b.label)}</b> against the first run's <b>{e(c.label)}</b>"
                    f"{'' if effects.is_paired(b, c) else ' (unpaired)'}: ")
            caution = caution_of(b, c)
            if caution:
                head += f"<span class='flag'>{e(FLAG)} {e(caution)}.</span> "
            if not n_clear:
                parts.append(head + f"no clear difference in any of {n_all} outcome "
                             f"statistics (every interval includes 0).</p>")
                continue
            parts.append(head + f"{n_clear} of {n_all} differences are clearly non-zero"
                         + (f"; the largest {len(lines)} (all are in the outcome table):"
                            if n_clear > len(lines) else ":")
                         + "</p><ul class='summary'>"
                         + "".join(f"<li>{e(x)}</li>" for x in lines) + "</ul>")
    return parts


def _invariants_warning(runs: Sequence[Any]) -> list[str]:
    """At the top of the summary, when replicates of any branch broke its world's
    invariants: which branches, so no difference below is read without that."""
    from sim.invariants import column_note, run_tallies

    bad = [(r, b, column_note(t)) for r in runs for b, t in run_tallies(r).items()
           if not t.held]
    if not bad:
        return []
    e = html.escape
    return ["<p class='flag'>" + e(f"{FLAG} Invariants broken: ") + "; ".join(
        f"{e(b if b == r.scenario.name else f'{r.scenario.name} / {b}')}: {e(note)}"
        for r, b, note in bad)
        + ". Those replicates did what the world says must never happen, so the model (or "
        "the invariant) is wrong there; every estimate and difference of those branches is "
        "suspect (see Invariants below).</p>"]


def _invariants_section(runs: Sequence[Any]) -> list[str]:
    """Per run whose world declares invariants: what the outcome table says of them."""
    from sim.invariants import run_tallies, table_notes

    checked = [(r, run_tallies(r)) for r in runs]
    checked = [(r, t) for r, t in checked if t]
    if not checked:
        return []
    e = html.escape
    parts = ["<h2>Invariants</h2><p class='note'>What the world says must never happen, "
             "checked in every replicate as it ran.</p>"]
    for r, tallies in checked:
        lines = table_notes(tallies, width=10_000)
        cls = " class='flag'" if lines and lines[0].startswith(FLAG) else ""
        parts.append(f"<p><b>{e(r.scenario.name)}</b></p><ul{cls}>"
                     + "".join(f"<li>{e(x.strip())}</li>" for x in lines) + "</ul>")
    return parts


def _is_sweep(run: Any) -> bool:
    from sim import plots

    return bool(plots._sweep_params(run)[1])


def render(runs: Sequence[Any], scores: Sequence[Any] = (),
           sensitivity: Sequence[Any] = ()) -> str:
    """The report's HTML text (``scores``: scoring reports, ``sensitivity``: sensitivity
    folders, added at the end)."""
    from sim.runner import replicate_stream
    from sim.story import story

    e = html.escape
    if not runs:
        from sim.sensplots import html_section

        return "\n".join([f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                          f"{GENERATOR}<title>sim report: sensitivity</title>"
                          f"<style>{CSS}</style></head><body><h1>Sensitivity report</h1>"]
                         + [html_section(f) for f in sensitivity] + ["</body></html>"])
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{GENERATOR}"
             f"<title>sim report: {e(', '.join(r.scenario.name for r in runs))}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Scenario report: {e(' vs '.join(r.scenario.name for r in runs))}</h1>",
             f"<p class='meta'>sim {__version__}, written "
             f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}. Every number below comes from "
             f"the run folders named here; <code>sim verify RUN</code> checks them.</p>",
             *_summary(runs),
             "<h2>Runs</h2><table><tr><th>scenario</th><th>description</th><th>branches</th>"
             "<th>replicates</th><th>seed</th><th>folder</th></tr>"]
    for r in runs:
        sc = r.scenario
        parts.append(f"<tr><td>{e(sc.name)}</td><td>{e(sc.description or '')}</td>"
                     f"<td>{e(', '.join(r.branch_names()))}</td><td>{sc.replicates}</td>"
                     f"<td>{sc.seed}</td><td><code>{e(str(r.folder))}</code></td></tr>")
    parts.append("</table>")
    diffs = scenario_differences(runs)
    parts.append("<h2>What differs</h2>")
    if diffs:
        parts.append("<p class='note'>Each branch against its control, and each later run "
                     "against the first. <code>set.PATH</code>: the parameter's value in the "
                     "control and in the branch; <code>drop_history</code>: history entries "
                     "before the fork that one has and the other does not.</p>")
        parts.append("<table><tr><th>branch</th><th>against</th><th>setting</th>"
                     "<th>there</th><th>in this branch</th></tr>")
        parts += [f"<tr><td>{e(a)}</td><td>{e(r)}</td><td><code>{e(b)}</code></td>"
                  f"<td>{e(c)}</td><td>{e(d)}</td></tr>" for a, r, b, c, d in diffs]
        parts.append("</table>")
    else:
        parts.append("<p>Nothing: a single branch, or identical settings.</p>")
    parts.append("<h2>Outcomes</h2>")
    parts.append(compare_runs(runs)._repr_html_())
    effect_figs = _effect_figures(runs)
    if effect_figs:
        parts.append("<h2>The effects, plotted</h2>")
        parts.append("<p class='note'>Each branch minus its control: over time, the paired "
                     "difference in the probability that the event has happened by each "
                     "date, with its pointwise 95% band (0 = no effect); and every outcome's "
                     "difference with its 95% interval. Events whose probability by every "
                     "date is the same in a branch and its control are not drawn. For a "
                     "sweep: each outcome against the swept parameters.</p>")
        for caption, data in effect_figs:
            parts.append(f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{e(caption)}</figcaption></figure>")
    parts += _invariants_section(runs)
    drawn = [(r.scenario.name, b.name, len(b.uncertain), r.scenario.replicates_per_draw)
             for r in runs for b in r.scenario.branches if getattr(b, "uncertain", None)]
    if drawn:
        parts.append("<p class='note'>Parameter uncertainty: "
                     + "; ".join(f"{e(s)} / {e(b)} draws {n} <code>uncertain:</code> "
                                 f"parameter(s), {m} replicates per draw"
                                 for s, b, n, m in drawn)
                     + ". Their estimates average over the declared distributions; the "
                     "intervals in brackets are the Monte Carlo intervals of that average "
                     "(the draws as the independent units). The rows '90% over parameters' "
                     "give the 5% and 95% points over the draws of the outcome's probability "
                     "(or mean, or paired difference) given the drawn values, with the Monte "
                     "Carlo noise of each draw's estimate removed; 'within noise' when the "
                     "draws vary no more than that noise would make them, 'n/a' with the "
                     "reason when there are too few draws. In the figures the parameter "
                     "spread is the dotted band (cumulative) or the wide light bar (forest). "
                     "Which parameters matter: the sensitivity section "
                     "(<code>sim sensitivity</code>).</p>")
    parts.append("<h2>Each branch on its own</h2>")
    for caption, data in _figures(runs):
        parts.append(f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts.append("<h2>One simulated world per branch</h2>")
    for r in runs:
        for b in r.branch_names():
            text = story(r.replicate_events(b, 0), r.world(b), sources=r.sources(b),
                         branch=r.branch(b), stream=replicate_stream(b, 0))
            parts.append(f"<h3>{e(r.scenario.name)} / {e(b)}, replicate 0</h3>"
                         f"<pre>{e(text)}</pre>")
    if scores:
        parts += _scores_section(scores)
    if sensitivity:
        from sim.sensplots import html_section

        parts += [html_section(f) for f in sensitivity]
    parts.append("</body></html>")
    return "\n".join(parts)


GENERATOR = "<meta name='generator' content='sim report'>"   # marks a page we wrote


def check_target(out: Path, force: bool = False) -> None:
    """Refuse to write the report over anything but a report we wrote before (or, with
    ``force``, another regular file): never through a symbolic link, over a folder or
    a device, and never over a run folder's own files, whatever ``force`` says."""
    from sim.runfolder import _RUN_FILES, looks_like_run

    if out.is_symlink():
        raise InputError(f"{out} is a symbolic link; sim report does not write through "
                         "links (give the real path, or another --out)")
    parent = out.parent if str(out.parent) else Path(".")
    if out.name in _RUN_FILES and looks_like_run(parent):
        raise InputError(f"{out} is a file of the run folder {parent}; write the report "
                         "elsewhere (e.g. --out report.html)")
    if not out.exists():
        return
    if not out.is_file():
        raise InputError(f"{out} exists and is not a regular file; choose another --out")
    if _is_report(out) or force:
        return
    raise InputError(f"{out} exists and is not a report written by sim; use --force to "
                     "replace it, or choose another --out")


def _is_report(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(2048)
    except OSError:
        return False
    return head.startswith(b"<!DOCTYPE html>") and GENERATOR.encode() in head


def write_report(runs: Sequence[Any], out: str | os.PathLike, force: bool = False,
                 scores: Sequence[Any] = (), sensitivity: Sequence[Any] = ()) -> Path:
    """Write the report atomically (a temporary file renamed) and return its path.

    ``out`` may be a new file or a report written before; see :func:`check_target`."""
    out = Path(out)
    check_target(out, force)
    text = render(runs, scores, sensitivity)
    out.parent.mkdir(parents=True, exist_ok=True)
    check_target(out, force)   # again: rendering takes a while
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return out
