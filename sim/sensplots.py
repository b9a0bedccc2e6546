"""Figures of a sensitivity folder (:mod:`sim.sensitivity`): Sobol indices with their
bootstrap intervals, the one-way tornado with Monte Carlo error bars, and the
PRIM peeling trajectory with the chosen box. Same style and file pairs
(PNG + SVG) as :mod:`sim.plots`.

``sensitivity_figures(folder)`` writes them into ``folder/figures`` and returns
the PNG paths; the functions below draw one figure each from the folder's
tables (``sim.sensitivity.read_table`` rows).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sim.plots import GREY, _new, _slug, color, save, styled
from sim.sensitivity import manifest, read_table


def _short(path: str) -> str:
    """``rules.warn_on_contract.probability`` -> ``warn_on_contract.probability``."""
    parts = path.split(".")
    return ".".join(parts[1:]) if parts[0] in ("rules", "reviews", "state") else path


@styled
def sobol_figure(rows: Sequence[dict], outcome: str, title: str | None = None) -> Figure:
    """First-order and total Sobol indices of one outcome, with 95% bootstrap intervals,
    parameters ordered by total index."""
    rows = sorted([r for r in rows if r["outcome"] == outcome], key=lambda r: r["ST"])
    fig, ax = _new((6.4, 0.45 * len(rows) + 1.4))
    y = np.arange(len(rows))
    for k, (key, lab, off) in enumerate((("S1", "first order S1", -0.18),
                                         ("ST", "total ST", 0.18))):
        v = np.array([r[key] for r in rows])
        lo = np.array([r[f"{key}_lo"] for r in rows])
        hi = np.array([r[f"{key}_hi"] for r in rows])
        ax.barh(y + off, v, height=0.34, color=color(k), label=lab)
        ax.errorbar(v, y + off, xerr=[v - lo, hi - v], fmt="none", ecolor="black",
                    elinewidth=0.8, capsize=2)
    ax.set_yticks(y, [_short(r["parameter"]) for r in rows])
    ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set_xlabel("Sobol index (share of the variance of the outcome's probability; "
                  "bars: 95% bootstrap)")
    ax.set_title(title or f"Which parameters matter: {outcome}")
    ax.legend(loc="lower right")
    return fig


@styled
def tornado_figure(rows: Sequence[dict], outcome: str, title: str | None = None) -> Figure:
    """One-way tornado: each parameter at the 5% and 95% quantiles of its declared
    distribution, the others at their medians; error bars are 95% Monte Carlo intervals."""
    rows = [r for r in rows if r["outcome"] == outcome]
    rows.sort(key=lambda r: abs(r["high_mean"] - r["low_mean"]))
    fig, ax = _new((6.4, 0.45 * len(rows) + 1.4))
    base = rows[0]["base_mean"] if rows else 0.0
    for i, r in enumerate(rows):
        for k, side in enumerate(("low", "high")):
            m = r[f"{side}_mean"]
            ax.barh(i, m - base, left=base, height=0.6, color=color(k),
                    label=("at the 5% quantile" if side == "low" else "at the 95% quantile")
                    if i == 0 else None)
            ax.errorbar(m, i, xerr=1.96 * r[f"{side}_se"], fmt="none", ecolor="black",
                        elinewidth=0.8, capsize=2)
    ax.axvline(base, color="black", linewidth=0.9,
               label=f"all at their medians: {base:.3f}")
    if rows:
        ax.axvspan(base - 1.96 * rows[0]["base_se"], base + 1.96 * rows[0]["base_se"],
                   color=GREY, alpha=0.15, linewidth=0)
    ax.set_yticks(range(len(rows)), [f"{_short(r['parameter'])}\n"
                                     f"[{r['low_value']:.3g} .. {r['high_value']:.3g}]"
                                     for r in rows])
    ax.set_xlabel("outcome mean (error bars: 95% Monte Carlo)")
    ax.set_title(title or f"One-way tornado: {outcome}")
    ax.legend(loc="lower right")
    return fig


@styled
def prim_figure(traj: Sequence[dict], box: Sequence[dict], outcome: str,
                title: str | None = None) -> Figure:
    """Left: the peeling trajectory (coverage against density, the chosen box marked);
    right: the chosen box, each parameter's kept range within its whole range."""
    traj = [r for r in traj if r["outcome"] == outcome]
    box = [r for r in box if r["outcome"] == outcome]
    fig = Figure(figsize=(9.6, max(3.2, 0.4 * len(box) + 1.6)), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.2])
    cov = [r["coverage"] for r in traj]
    den = [r["density"] for r in traj]
    ax1.plot(cov, den, "-o", color=color(0), markersize=3)
    for r in traj:
        if r["chosen"] == 1:
            ax1.plot([r["coverage"]], [r["density"]], "o", color=color(1), markersize=8,
                     label=f"chosen: density {r['density']:.2f}, coverage "
                           f"{r['coverage']:.2f}")
    ax1.set_xlabel("coverage (share of all occurrences inside the box)")
    ax1.set_ylabel("density (probability inside the box)")
    ax1.set_title("Peeling trajectory")
    ax1.invert_xaxis()
    ax1.legend(loc="upper left")
    for i, r in enumerate(box):
        span = r["range_high"] - r["range_low"] or 1.0
        lo = (r["box_low"] - r["range_low"]) / span
        hi = (r["box_high"] - r["range_low"]) / span
        ax2.plot([0, 1], [i, i], color=GREY, linewidth=6, alpha=0.3, solid_capstyle="butt")
        ax2.plot([lo, hi], [i, i], color=color(1) if r["restricted"] == 1 else GREY,
                 linewidth=6, solid_capstyle="butt")
        ax2.text(1.02, i, f"{r['box_low']:.3g} .. {r['box_high']:.3g}", va="center",
                 fontsize=7)
    ax2.set_yticks(range(len(box)), [_short(r["parameter"]) for r in box])
    ax2.set_xlim(0, 1.35)
    ax2.set_xticks([0, 0.5, 1], ["min", "", "max"])
    ax2.set_title("The chosen box (within each parameter's sampled range)")
    fig.suptitle(title or f"PRIM scenario discovery: {outcome}", fontweight="bold")
    return fig


def sensitivity_figures(folder: str | os.PathLike, out_dir: str | os.PathLike | None = None
                        ) -> list[Path]:
    """Every figure of a sensitivity folder; returns the PNG paths."""
    folder = Path(folder)
    out = Path(out_dir) if out_dir is not None else folder / "figures"
    m = manifest(folder)
    sob = read_table(folder, "sobol.csv")
    tor = read_table(folder, "tornado.csv")
    traj = read_table(folder, "prim.csv")
    box = read_table(folder, "prim_box.csv")
    paths: list[Path] = []
    has_prim = {r["outcome"] for r in traj}
    for k in m["outcomes"]:
        figs: list[tuple[Any, str]] = [(sobol_figure(sob, k), f"sobol_{_slug(k)}"),
                                       (tornado_figure(tor, k), f"tornado_{_slug(k)}")]
        if k in has_prim:
            figs.append((prim_figure(traj, box, k), f"prim_{_slug(k)}"))
        for fig, stem in figs:
            paths.append(save(fig, out / stem)[0])
    return paths


def html_section(folder: str | os.PathLike) -> str:
    """A sensitivity folder as a section of ``sim report``: its summary and figures."""
    import base64
    import html
    import io

    from sim.sensitivity import summary

    e = html.escape
    folder = Path(folder)
    m = manifest(folder)
    sob = read_table(folder, "sobol.csv")
    tor = read_table(folder, "tornado.csv")
    traj = read_table(folder, "prim.csv")
    box = read_table(folder, "prim_box.csv")
    has_prim = {r["outcome"] for r in traj}
    parts = [f"<h2>Which parameters matter: {e(m['scenario'])} / {e(m['branch'])}</h2>",
             f"<p class='note'>Sensitivity folder <code>{e(str(folder))}</code>. Sobol "
             "indices (SALib) with 95% bootstrap intervals; a one-way tornado between the "
             "5% and 95% quantiles of each declared distribution, with 95% Monte Carlo error "
             "bars; PRIM boxes (coverage: share of all occurrences inside the box; density: "
             "probability inside it). The range over parameters includes the Monte Carlo "
             "error of each point's replicates.</p>",
             f"<pre>{e(summary(folder))}</pre>"]
    for k in m["outcomes"]:
        figs = [(f"Sobol indices: {k}", sobol_figure(sob, k)),
                (f"Tornado: {k}", tornado_figure(tor, k))]
        if k in has_prim:
            figs.append((f"PRIM: {k}", prim_figure(traj, box, k)))
        for caption, fig in figs:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight",
                        metadata={"Software": None})
            data = base64.b64encode(buf.getvalue()).decode("ascii")
            parts.append(f"<figure><img alt='{e(caption)}' src='data:image/png;base64,"
                         f"{data}'><figcaption>{e(caption)}</figcaption></figure>")
    return "\n".join(parts)
