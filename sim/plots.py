"""Figures: one function per figure, each returning a matplotlib Figure.

This module owns how results look: a single colour-blind-safe style (the
Okabe-Ito palette, DejaVu Sans, fixed sizes), calendar dates on every time
axis, and :func:`save` (PNG + SVG, without timestamps so files are
reproducible). It draws; it does not compute outcomes (see
:mod:`sim.outcomes`), except for small summaries a figure needs.

Figures (times are days since ``world.starts``; ``fork`` is a day or a date):

- :func:`cumulative`          P(event by date) per branch, with interval bands
- :func:`difference_over_time`  the effect: branch minus control in P(event by date)
- :func:`forest`              every outcome's difference with its interval
- :func:`timeline`            one replicate, a lane per actor, history shaded
- :func:`outcome_tree`        the order in which key events happened, as a tree
- :func:`tornado`             one-way sensitivity around a baseline value
- :func:`sweep`, :func:`heatmap`  an outcome against one or two parameters
- :func:`time_distribution`   when an event happens, per branch, plus "never"
- :func:`event_graph`         the world itself: events by actor, rules, reviews
- :func:`halfwidth`           interval half-width against replicates
- :func:`standard_figures`    the standard set for a finished run

Functions that draw on one Axes take ``ax=None`` (a new Figure is made);
they never touch pyplot's global figure list, so they are safe in loops and
workers. In a notebook the returned Figure displays itself.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

if (not os.environ.get("MPLBACKEND") and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY") and "ipykernel" not in sys.modules):
    matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch  # noqa: E402

from sim.events import HISTORY, INJECTED, Event  # noqa: E402
from sim.outcomes import (  # noqa: E402
    cumulative_grid,
    cumulative_incidence,
    first_of_tree_times,
    halfwidth_curve,
    nonzero_decimals,
)
from sim.world import JOINT, World  # noqa: E402

# --------------------------------------------------------------------------- style

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with the common
#: colour-vision deficiencies. Black first is skipped for data series.
OKABE_ITO = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
}
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000")
GREY = "#6E6E6E"
HISTORY_SHADE = "#EDEDED"

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",
    "svg.hashsalt": "sim",
    "text.parse_math": False,    # labels come from user files: plot "$" literally
    "text.hinting": "default",
    "text.antialiased": True,
    "path.simplify": True,
}


#: after the 8 colours, series repeat them with these line styles (never silently)
LINESTYLES = ("-", "--", ":", "-.")


def color(i: int) -> str:
    """The i-th series colour (cycles; :func:`linestyle` tells the cycles apart)."""
    return PALETTE[i % len(PALETTE)]


def linestyle(i: int) -> str:
    """The i-th series line style: solid for the first 8, then dashed, dotted, dash-dot."""
    return LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)]


def _same_label(name: str, y: Any, seen: list[tuple[str, np.ndarray]]) -> str:
    """``name``, with " (same as X)" when its values equal an earlier series X's (it
    would be drawn exactly over X, hiding it)."""
    y = np.asarray(y, dtype=float)
    for other, oy in seen:
        if oy.shape == y.shape and np.array_equal(oy, y, equal_nan=True):
            seen.append((name, y))
            return f"{name} (same as {other})"
    seen.append((name, y))
    return str(name)


def _legend_outside(ax: Axes, handles: list, labels: list) -> None:
    """A legend outside the axes, so it never covers a curve: to the right when the
    labels are short, else under the figure (when the figure is ours alone)."""
    longest = max((len(str(label)) for label in labels), default=0)
    fig = ax.figure
    if longest > 30 and len(fig.axes) == 1 and fig.get_layout_engine() is not None:
        fig.legend(handles, labels, loc="outside lower center",
                   ncol=1 if longest > 45 else 2)
        return
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, ncol=1 if len(labels) <= 18 else 2)


def styled(func: Any) -> Any:
    """Run a figure function inside the module's style (rcParams apply at creation)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(STYLE):
            return func(*args, **kwargs)
    return wrapper


def _new(figsize: tuple[float, float], ax: Axes | None = None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()


def save(fig: Figure, path: str | Path) -> tuple[Path, Path]:
    """Write ``fig`` as PNG and SVG next to each other; returns (png, svg).

    ``path`` may end in .png, .svg or nothing. No timestamps are written, so
    the same figure gives the same files.
    """
    path = Path(path)
    if path.suffix.lower() in (".png", ".svg"):
        path = path.with_suffix("")
    path.parent.mkdir(parents=True, exist_ok=True)
    png, svg = path.with_suffix(".png"), path.with_suffix(".svg")
    with matplotlib.rc_context(STYLE):
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return png, svg


# --------------------------------------------------------------------------- helpers

def _day(world: World, when: float | dt.date | None) -> float | None:
    if when is None:
        return None
    if isinstance(when, dt.datetime):
        when = when.date()
    if isinstance(when, dt.date):
        return world.day(when)
    return float(when)


def _num(world: World, days: Any) -> Any:
    """Matplotlib date numbers for days since ``world.starts`` (fractions kept)."""
    return mdates.date2num(world.starts) + np.asarray(days, dtype=float)


def _date_axis(ax: Axes, axis: str = "x") -> None:
    loc = mdates.AutoDateLocator(minticks=4, maxticks=9)
    fmt = mdates.ConciseDateFormatter(loc, show_offset=False)
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_major_locator(loc)
    a.set_major_formatter(fmt)


def _fork_line(ax: Axes, world: World, fork: float | None, label: str = "fork") -> None:
    if fork is None:
        return
    x = float(_num(world, fork))
    ax.axvline(x, color="black", lw=1.0, ls="--", zorder=3, gid="fork")
    ax.annotate(label, (x, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                textcoords="offset points", ha="left", va="top", fontsize=8,
                fontweight="bold")


def label_of(world: World | None, kind: str, width: int | None = None) -> str:
    """The event type's label (or its id), shortened to ``width`` characters."""
    et = world.events.get(kind) if world is not None else None
    text = (et.label if et is not None and et.label else kind).strip()
    return shorten(text, width) if width else text


def shorten(text: str, width: int) -> str:
    """``text`` cut at a word boundary to at most ``width`` characters, with an ellipsis."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    if " " in cut[width // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "\u2026"


def _actor_name(world: World, a: str) -> str:
    """An actor's name; a joint act's actors ("USA+TUR") as "US & Turkey"."""
    if a in world.actors:
        return world.actors[a].name
    if JOINT in a:
        return " & ".join(_actor_name(world, x) for x in a.split(JOINT))
    return a


def _review_badge(rv: Any) -> str:
    """A review's probability and period, short: "6%/30d", "f(tension)/yearly"."""
    p = rv.probability
    prob = _pct(p) if isinstance(p, (int, float)) else f"f({p.var})"
    return f"{prob}/" + ("yearly" if rv.calendar else f"{rv.every:g}d")


def _pct(x: float) -> str:
    if x != x:  # nan
        return "n/a"
    v = 100 * x
    if 0 < v < 1:
        return "<1%"
    if 99 < v < 100:
        return ">99%"
    return f"{v:.0f}%"


def _param_band(value: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A curve's parameter-uncertainty band (``param_lo``, ``param_hi`` of a mapping, or
    the 5th and 6th items of a tuple), or None."""
    if isinstance(value, Mapping):
        lo, hi = value.get("param_lo"), value.get("param_hi")
    else:
        value = tuple(value)
        lo, hi = (value[4], value[5]) if len(value) == 6 else (None, None)
    if lo is None or hi is None:
        return None
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def _as_curve(value: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    if isinstance(value, Mapping):
        grid, p = value["grid"], value["p"]
        lo, hi = value.get("lo"), value.get("hi")
    else:
        value = tuple(value)
        if len(value) == 2:
            (grid, p), lo, hi = value, None, None
        elif len(value) in (4, 6):     # 6: with a parameter-uncertainty band
            grid, p, lo, hi = value[:4]
        else:
            raise ValueError("a curve is (grid, p), (grid, p, lo, hi) or (grid, p, lo, hi, "
                             f"param_lo, param_hi), not a sequence of {len(value)}")
    grid = np.asarray(grid, dtype=float)
    p = np.asarray(p, dtype=float)
    if grid.shape != p.shape:
        raise ValueError(f"a curve's grid and p differ in length: {grid.shape} vs {p.shape}")
    lo = None if lo is None else np.asarray(lo, dtype=float)
    hi = None if hi is None else np.asarray(hi, dtype=float)
    return grid, p, lo, hi


# --------------------------------------------------------------------------- cumulative

@styled
def cumulative(curves: Mapping[str, Any], world: World, fork: float | dt.date | None = None,
               *, event_label: str | None = None, title: str | None = None,
               horizon: float | dt.date | None = None, ax: Axes | None = None) -> Figure:
    """Cumulative probability of an event over time, one line per branch.

    ``curves`` maps a branch name to ``(grid, p, lo, hi)`` (or ``(grid, p)``, or
    a mapping with those keys): grid in days since ``world.starts``, p and its
    interval bounds as arrays over the grid (e.g. from
    ``sim.outcomes.cumulative_incidence``). Lines are drawn as steps. A branch that
    draws ``uncertain:`` parameters may add ``param_lo, param_hi`` (6 items, or those
    keys; :func:`sim.paramspread.cumulative`): drawn as thin dotted lines, and the
    legend then says which band is which.
    """
    fig, ax = _new((7.5, 4.2), ax)
    fork_d = _day(world, fork)
    seen: list = []
    drawn = False
    for i, (name, value) in enumerate(curves.items()):
        grid, p, lo, hi = _as_curve(value)
        x = _num(world, grid)
        c = color(i)
        if lo is not None and hi is not None:
            ax.fill_between(x, lo, hi, step="post", color=c, alpha=0.18, lw=0,
                            label=f"_band {name}")
        pb = _param_band(value)
        if pb is not None:
            drawn = True
            for k, edge in enumerate(pb):
                ax.plot(x, edge, drawstyle="steps-post", color=c, ls=":", lw=1.1,
                        label=f"_param {name}", gid=f"param_{'lo' if k == 0 else 'hi'}")
        ax.plot(x, p, drawstyle="steps-post", color=c, ls=linestyle(i), lw=1.8,
                label=_same_label(str(name), p, seen), gid=str(name))
    if fork_d is not None:
        ax.axvspan(ax.get_xlim()[0], float(_num(world, fork_d)), color=HISTORY_SHADE,
                   zorder=0, lw=0)
        ax.margins(x=0)
    _fork_line(ax, world, fork_d)
    hz = _day(world, horizon)
    if hz is not None:
        ax.axvline(float(_num(world, hz)), color=GREY, lw=0.8, ls=":")
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    _date_axis(ax)
    what = event_label or "the event"
    ax.set_ylabel(f"P({shorten(what, 40)} by date)")
    ax.set_xlabel("date")
    ax.set_title(title or f"Cumulative probability: {shorten(what, 60)}")
    handles, labels = ax.get_legend_handles_labels()
    if curves and drawn:
        band = Patch(color=GREY, alpha=0.25, label="95% Monte Carlo interval")
        dots = Line2D([], [], color=GREY, ls=":", lw=1.1)
        _legend_outside(ax, handles + [band, dots],
                        labels + ["95% Monte Carlo interval", "90% over parameters"])
    elif curves:
        band = Patch(color=GREY, alpha=0.25, label="95% interval")
        _legend_outside(ax, handles + [band], labels + ["95% interval"])
    return fig


@styled
def difference_over_time(curves: Mapping[str, Any], world: World,
                         fork: float | dt.date | None = None, *, event_label: str | None = None,
                         title: str | None = None, horizon: float | dt.date | None = None,
                         band_label: str = "95% interval (paired)",
                         ax: Axes | None = None) -> Figure:
    """The effect itself: the paired difference in cumulative probability of an event,
    a branch minus its control, over time, with its pointwise 95% band.

    ``curves`` maps a label (e.g. "no_hold - baseline") to ``(grid, d, lo, hi)`` as
    ``sim.effects.cumulative_difference`` gives them (days since ``world.starts``;
    differences of probabilities). The y axis is in percentage points (the data are
    drawn multiplied by 100); 0 (no effect) is a solid line.
    """
    fig, ax = _new((7.5, 4.2), ax)
    fork_d = _day(world, fork)
    seen: list = []
    for i, (name, value) in enumerate(curves.items()):
        grid, d, lo, hi = _as_curve(value)
        x = _num(world, grid)
        c = color(i)
        # in percentage points, so that tick labels need no rounding of their own
        if lo is not None and hi is not None:
            ax.fill_between(x, 100 * lo, 100 * hi, step="post", color=c, alpha=0.18, lw=0,
                            label=f"_band {name}")
        ax.plot(x, 100 * d, drawstyle="steps-post", color=c, ls=linestyle(i), lw=1.8,
                label=_same_label(str(name), d, seen), gid=str(name))
    # under the curves, so that a branch with no effect stays visible on it
    ax.axhline(0.0, color="black", lw=0.9, zorder=1.5, gid="zero")
    if fork_d is not None:
        ax.axvspan(ax.get_xlim()[0], float(_num(world, fork_d)), color=HISTORY_SHADE,
                   zorder=0, lw=0)
        ax.margins(x=0)
    _fork_line(ax, world, fork_d)
    hz = _day(world, horizon)
    if hz is not None:
        ax.axvline(float(_num(world, hz)), color=GREY, lw=0.8, ls=":")
    lo_y, hi_y = ax.get_ylim()
    span = max(abs(lo_y), abs(hi_y), 2.0)
    ax.set_ylim(min(lo_y, -0.1 * span), max(hi_y, 0.1 * span))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _p: f"{v:+.4g}" if abs(v) > 1e-9 else "0"))
    _date_axis(ax)
    what = event_label or "the event"
    ax.set_ylabel("difference in P(by date),\npercentage points")
    ax.set_xlabel("date")
    ax.set_title(title or f"Effect over time: {shorten(what, 60)}")
    handles, labels = ax.get_legend_handles_labels()
    if curves:
        band = Patch(color=GREY, alpha=0.25, label=band_label)
        _legend_outside(ax, handles + [band], labels + [band_label])
    return fig


_FOREST_UNITS = {
    "probability": ("probability", "difference, percentage points", 100.0),
    "days": ("days", "difference in days (restricted mean time to the event, to the horizon)",
             1.0),
    "mean": ("mean", "difference in the mean", 1.0),
}


@styled
def forest(rows: Sequence[Sequence[Any]], *, title: str | None = None) -> Figure:
    """Every outcome's difference (a branch minus its control) with its 95% interval.

    ``rows``: ``(label, estimate, lo, hi, kind)`` with kind "probability", "days" or
    "mean"; one panel per kind present (units are never mixed on one axis), rows
    top to bottom in the given order. A difference whose interval excludes 0 is
    drawn in blue with a filled dot; one whose interval includes 0 in grey with an
    open dot and "cannot tell apart". Values are written at the right. A row may add
    a sixth item ``(param_lo, param_hi)``: its parameter-uncertainty interval
    (:mod:`sim.paramspread`), drawn as a wide light bar behind the Monte Carlo one,
    with a legend saying which is which.
    """
    kinds = [k for k in _FOREST_UNITS if any(r[4] == k for r in rows)]
    kinds += sorted({r[4] for r in rows} - set(kinds))
    counts = [sum(1 for r in rows if r[4] == k) for k in kinds] or [1]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(8.5, 1.2 + 0.3 * sum(counts) + 0.75 * len(counts)),
                     layout="constrained")
        axes = fig.subplots(len(counts), 1, squeeze=False,
                            height_ratios=[c + 1.2 for c in counts])[:, 0]
    blue = OKABE_ITO["blue"]
    for ax, k in zip(axes, kinds or [None]):
        mine = [r for r in rows if r[4] == k]
        _unit, xlabel, scale = _FOREST_UNITS.get(k, (k, f"difference ({k})", 1.0))
        ys = np.arange(len(mine))[::-1]
        labels = []
        for y, row in zip(ys, mine):
            label, est, lo, hi, _k = row[:5]
            pb = row[5] if len(row) > 5 else None
            clear = bool(lo > 0 or hi < 0)
            c = blue if clear else GREY
            if pb is not None and np.all(np.isfinite(pb)):
                ax.plot([pb[0] * scale, pb[1] * scale], [y, y], color=OKABE_ITO["sky"],
                        lw=7.0, alpha=0.45, solid_capstyle="butt", gid="param")
            ax.plot([lo * scale, hi * scale], [y, y], color=c, lw=2.0, solid_capstyle="butt",
                    gid="interval")
            ax.plot([est * scale], [y], marker="o", ms=6, color=c,
                    mfc=c if clear else "white", mew=1.5, ls="none",
                    gid="clear" if clear else "unclear")
            # enough decimals that an interval excluding 0 shows no end as 0 or -0
            d = nonzero_decimals(min(abs(lo), abs(hi)) * scale, 1) if clear else 1
            fmt = (lambda v, d=d: f"{v:+.{d}f}") if k == "probability" else \
                (lambda v: f"{v:+.3g}")
            text = f"{fmt(est * scale)} [{fmt(lo * scale)}, {fmt(hi * scale)}]"
            if lo == hi == est == 0:
                text = "0: the same in every replicate"
            elif not clear:
                text += "  cannot tell apart"
            if pb is not None and np.all(np.isfinite(pb)) and not lo == hi == est == 0:
                text += f"; params [{fmt(pb[0] * scale)}, {fmt(pb[1] * scale)}]"
            ax.annotate(text, (1.01, y), xycoords=("axes fraction", "data"), va="center",
                        ha="left", fontsize=7.5, color="black" if clear else GREY)
            labels.append(shorten(str(label), 48))
        ax.axvline(0.0, color="black", lw=0.9, gid="zero")
        ax.set_yticks(ys, labels)
        ax.set_ylim(-0.7, max(len(mine), 1) - 0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(xlabel)
        if mine:
            ends = [(r[2], r[3]) for r in mine] + [tuple(r[5]) for r in mine if len(r) > 5
                                                   and r[5] is not None
                                                   and np.all(np.isfinite(r[5]))]
            lo_x = min(0.0, min(e[0] for e in ends) * scale)
            hi_x = max(0.0, max(e[1] for e in ends) * scale)
            pad = 0.08 * (hi_x - lo_x) if hi_x > lo_x else 1.0   # all zero: +-1 unit
            ax.set_xlim(lo_x - pad, hi_x + pad)
    axes[0].set_title(title or "Differences with 95% intervals", loc="left")
    if any(len(r) > 5 and r[5] is not None for r in rows):   # which bar is which
        fig.legend([Line2D([], [], color=blue, lw=2.0),
                    Line2D([], [], color=OKABE_ITO["sky"], lw=7.0, alpha=0.45)],
                   ["95% Monte Carlo interval", "90% over parameters (uncertain:)"],
                   loc="outside upper right", ncol=2, fontsize=7.5, frameon=False)
    fig.supxlabel("blue, filled: the interval excludes 0; grey, open: cannot tell apart",
                  fontsize=8, color=GREY)
    return fig


# --------------------------------------------------------------------------- timeline

_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]
_ORIGIN_STYLE = {
    HISTORY: dict(marker="s", color="#444444", label="history (source id)"),
    "simulated": dict(marker="o", color=OKABE_ITO["blue"], label="simulated"),
    INJECTED: dict(marker="D", color=OKABE_ITO["vermillion"], label="injected (scenario)"),
}


def _pack(starts: Sequence[float], ends: Sequence[float]) -> list[int]:
    """Greedy row packing: the lowest row whose last interval ended before this one starts."""
    row_end: list[float] = []
    rows = [0] * len(starts)
    for i in sorted(range(len(starts)), key=lambda j: (starts[j], j)):
        s, e = starts[i], ends[i]
        for r, last in enumerate(row_end):
            if last <= s:
                row_end[r] = e
                rows[i] = r
                break
        else:
            row_end.append(e)
            rows[i] = len(row_end) - 1
    return rows


@styled
def timeline(events: Iterable[Event], world: World, sources: Mapping[str, Any] | None = None,
             fork: float | dt.date | None = None, *, title: str | None = None,
             horizon: float | dt.date | None = None, label_width: int = 44,
             causes: bool = True) -> Figure:
    """One replicate as a timeline: a lane per actor, history shaded before the fork.

    History events are grey squares labelled with their source id; simulated
    events blue circles; injected events vermillion diamonds. Thin grey arrows
    link an event to its cause. If ``sources`` (id -> object with outlet,
    title, published) is given, the sources cited are listed under the plot.
    """
    events = sorted(events, key=lambda e: (e.time, e.version))
    fork_d = _day(world, fork)
    lanes = [a for a in world.actors]
    for e in events:
        a = e.actor if e.actor is not None else "(none)"
        if a not in lanes:
            lanes.append(a)
    if not lanes:
        lanes = ["(none)"]
    t_lo = min([e.time for e in events] + ([fork_d] if fork_d is not None else []), default=0.0)
    t_hi = max([e.time for e in events] + [x for x in (fork_d, _day(world, horizon))
                                           if x is not None], default=t_lo + 365)
    span = max(t_hi - t_lo, 30.0)
    t_lo, t_hi = t_lo - 0.04 * span, t_hi + 0.04 * span
    width_in = 11.0
    plot_in = width_in - 1.6                      # the lane labels take about 1.6 in
    fontsize = 7.0
    char_days = (t_hi - t_lo) / plot_in * (0.56 * fontsize / 72)

    # text for each event, and its row inside its lane
    texts = []
    for e in events:
        t = label_of(world, e.kind, label_width)
        if e.origin == HISTORY and e.source:
            t = f"{t} [{e.source}]"
        elif e.origin == INJECTED:
            t = f"{t} (injected)"
        texts.append(t)
    by_lane: dict[str, list[int]] = {a: [] for a in lanes}
    for i, e in enumerate(events):
        by_lane[e.actor if e.actor is not None else "(none)"].append(i)
    row = [0] * len(events)
    left = [False] * len(events)
    lane_rows = {}
    for a, idx in by_lane.items():
        starts, ends = [], []
        for i in idx:
            w = (len(texts[i]) + 2) * char_days
            if events[i].time + w > t_hi and events[i].time - w >= t_lo:
                left[i] = True                     # near the right edge: label on the left
                starts.append(events[i].time - w)
                ends.append(events[i].time)
            else:
                starts.append(events[i].time)
                ends.append(events[i].time + w)
        rs = _pack(starts, ends)
        for i, r in zip(idx, rs):
            row[i] = r
        lane_rows[a] = max(rs, default=-1) + 1
    row_h = 0.23                                   # inches per text row
    lane_h = {a: max(1, n) * row_h + 0.25 for a, n in lane_rows.items()}
    height_in = sum(lane_h.values()) + 1.3
    cited = sorted({e.source for e in events if e.origin == HISTORY and e.source})
    if sources and cited:
        height_in += 0.14 * (len(cited) + 1) + 0.1
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width_in, min(max(height_in, 3.0), 30.0)), layout="constrained")
        ax = fig.add_subplot()
    # lanes from top to bottom; y in inches-like units
    base: dict[str, float] = {}
    y = 0.0
    for a in reversed(lanes):
        base[a] = y
        y += lane_h[a]
    total = y
    for k, a in enumerate(lanes):
        if k % 2 == 1:
            ax.axhspan(base[a], base[a] + lane_h[a], color="#F6F8FB", zorder=0, lw=0)
        ax.axhline(base[a], color="#BBBBBB", lw=0.8, zorder=1)
    if fork_d is not None:
        ax.axvspan(float(_num(world, t_lo)), float(_num(world, fork_d)), color=HISTORY_SHADE,
                   zorder=0.5, lw=0)
    pos = {}
    for i, e in enumerate(events):
        a = e.actor if e.actor is not None else "(none)"
        yy = base[a] + 0.12 + row[i] * row_h
        x = float(_num(world, e.time))
        pos[e.version] = (x, yy)
        st = _ORIGIN_STYLE.get(e.origin, _ORIGIN_STYLE["simulated"])
        ax.plot([x], [yy], marker=st["marker"], color=st["color"], ms=5, ls="none", zorder=4,
                gid=f"event-{e.origin}")
        ax.text(x, yy, texts[i] + " " if left[i] else " " + texts[i], fontsize=fontsize,
                va="center", ha="right" if left[i] else "left", zorder=5,
                color="black" if e.origin != HISTORY else "#333333", clip_on=True,
                path_effects=_HALO)
    if causes:
        for e in events:
            if e.cause is not None and e.cause in pos and e.version in pos:
                ax.add_patch(FancyArrowPatch(pos[e.cause], pos[e.version], arrowstyle="-|>",
                                             mutation_scale=6, color="#9A9A9A", lw=0.6,
                                             connectionstyle="arc3,rad=-0.15", zorder=2,
                                             shrinkA=3, shrinkB=3))
    ax.set_xlim(float(_num(world, t_lo)), float(_num(world, t_hi)))
    ax.set_ylim(0, total)
    ax.set_yticks([base[a] + lane_h[a] / 2 for a in lanes])
    ax.set_yticklabels(["\n".join(textwrap.wrap(_actor_name(world, a), 16)[:3])
                        for a in lanes])
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    _date_axis(ax)
    if fork_d is not None:
        _fork_line(ax, world, fork_d)
    stream = events[0].stream if events else ""
    ax.set_title(title or f"One simulated world: {stream}")
    used = [o for o in (HISTORY, "simulated", INJECTED) if any(e.origin == o for e in events)]
    handles = [Line2D([], [], marker=_ORIGIN_STYLE[o]["marker"], color=_ORIGIN_STYLE[o]["color"],
                      ls="none", label=_ORIGIN_STYLE[o]["label"]) for o in used]
    if causes and any(e.cause is not None for e in events):
        handles.append(Line2D([], [], color="#9A9A9A", lw=0.8, label="caused by"))
    if fork_d is not None:
        handles.append(Patch(color=HISTORY_SHADE, label="before the fork: history"))
    if handles:
        # below the date labels: about 0.3 in under the axes, whatever their height
        ax.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
                  bbox_to_anchor=(0.5, -0.3 / sum(lane_h.values())))
    if sources and cited:
        lines = []
        for sid in cited:
            s = sources.get(sid)
            if s is None:
                lines.append(f"[{sid}] (source not found)")
                continue
            pub = getattr(s, "published", None) or ""
            lines.append(f"[{sid}] {getattr(s, 'outlet', '') or 'outlet unknown'}, "
                         f"\u201c{shorten(getattr(s, 'title', '') or '', 90)}\u201d, {pub}")
        fig.text(0.01, 0.0, "Sources:\n" + "\n".join(lines), fontsize=7, va="bottom",
                 ha="left", color="#333333", gid="sources")
        fig.get_layout_engine().set(rect=(0, (0.14 * (len(cited) + 1) + 0.08) / height_in,
                                          1, 1))
    return fig


# --------------------------------------------------------------------------- outcome tree

class _Node:
    __slots__ = ("kind", "share", "children", "stop", "y", "depth")

    def __init__(self, kind: str | None, depth: int):
        self.kind = kind
        self.share = 0.0
        self.children: dict[str, _Node] = {}
        self.stop = 0.0          # share of replicates whose sequence ends here
        self.y = 0.0
        self.depth = depth


def tree_from_shares(tree_shares: Mapping[tuple[str, ...], float]) -> _Node:
    """The prefix tree of sequences: each node's share is the total of sequences through it."""
    root = _Node(None, 0)
    for seq, share in tree_shares.items():
        seq = tuple(seq)
        node = root
        node.share += share
        for k in seq:
            node = node.children.setdefault(k, _Node(k, node.depth + 1))
            node.share += share
        node.stop += share
    return root


@styled
def outcome_tree(tree_shares: Mapping[tuple[str, ...], float], world: World | None = None, *,
                 title: str | None = None, n: int | None = None,
                 root_label: str = "all replicates", min_share: float = 0.0) -> Figure:
    """Which key events happened, in which order, across replicates (a TreeAge-style tree).

    ``tree_shares`` maps each sequence of event kinds (in the order they first
    occurred; ``()`` = none of them) to its share of replicates. Each branch is
    labelled with its share of all replicates; a node's "no further" leaf is
    the share whose sequence stops there. Sequences with a share below
    ``min_share`` are left out (and said so in the subtitle).
    """
    dropped = sum(s for s in tree_shares.values() if s < min_share)
    root = tree_from_shares({k: v for k, v in tree_shares.items() if v >= min_share})

    leaves: list[tuple[_Node, str]] = []            # (parent, "stop") or (child, "node")

    def layout(node: _Node) -> float:
        ys = []
        kids = sorted(node.children.values(), key=lambda c: (-c.share, c.kind))
        items: list[tuple[float, Any]] = [(c.share, c) for c in kids]
        if node.stop > 0 and (node.children or node is root):
            items.append((node.stop, None))
        items.sort(key=lambda it: -it[0])
        for _share, c in items:
            if c is None:
                ys.append(len(leaves))
                leaves.append((node, "stop"))
            elif c.children:
                ys.append(layout(c))
            else:
                c.y = len(leaves)
                leaves.append((c, "leaf"))
                ys.append(c.y)
        node.y = float(np.mean(ys)) if ys else float(len(leaves))
        if not ys:
            leaves.append((node, "leaf"))
        return node.y

    layout(root)
    depth = max((len(k) for k in tree_shares), default=0)
    n_leaves = max(len(leaves), 1)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(2.8 + 2.7 * max(depth, 1), 1.0 + 0.55 * n_leaves),
                     layout="constrained")
        ax = fig.add_subplot()
    ax.set_axis_off()
    dx = 1.0
    ymax = n_leaves - 1

    def Y(y: float) -> float:
        return ymax - y

    def node_text(kind: str) -> str:
        return "\n".join(textwrap.wrap(label_of(world, kind, 52), 27)[:2])

    def draw(node: _Node) -> None:
        x0 = node.depth * dx
        kids = sorted(node.children.values(), key=lambda c: (-c.share, c.kind))
        targets: list[tuple[float, float, str, float, bool]] = []
        for c in kids:
            targets.append(((c.depth) * dx, c.y, node_text(c.kind), c.share, bool(c.children)))
        if node.stop > 0 and (node.children or node is root):
            sy = next(i for i, (p, w) in enumerate(leaves) if p is node and w == "stop")
            label = "none of these events" if node is root else "nothing further"
            targets.append(((node.depth + 1) * dx, float(sy), label, node.stop, False))
        if not targets:
            return
        ax.plot([x0], [Y(node.y)], marker="o", ms=7, color=OKABE_ITO["green"], zorder=4,
                gid="chance")
        xm = x0 + 0.18 * dx
        ax.plot([x0, xm], [Y(node.y), Y(node.y)], color=GREY, lw=1.0)
        ys = [Y(t[1]) for t in targets] + [Y(node.y)]
        ax.plot([xm, xm], [min(ys), max(ys)], color=GREY, lw=1.0)
        for (x1, y1, text, share, inner) in targets:
            ax.plot([xm, x1], [Y(y1), Y(y1)], color=GREY, lw=1.0 + 3.0 * share,
                    solid_capstyle="butt")
            ax.text((xm + x1) / 2, Y(y1) + 0.08, _pct(share), ha="center", va="bottom",
                    fontsize=8.5, fontweight="bold", color=OKABE_ITO["blue"], gid="share")
            ax.text((xm + x1) / 2, Y(y1) - 0.08, text, ha="center", va="top", fontsize=7.5,
                    linespacing=1.0, gid="branch-label")
            if not inner:
                ax.plot([x1], [Y(y1)], marker="<", ms=7, color=OKABE_ITO["vermillion"],
                        zorder=4, gid="terminal")
                ax.text(x1 + 0.06 * dx, Y(y1), _pct(share), va="center", ha="left",
                        fontsize=8, color="#333333")
        for c in kids:
            draw(c)

    draw(root)
    ax.text(-0.06 * dx, Y(root.y), root_label + (f"\n(n={n})" if n else ""), ha="right", va="center", fontsize=8.5,
            fontweight="bold")
    ax.set_xlim(-0.75 * dx, (max(depth, 1) + 0.3) * dx)
    ax.set_ylim(-0.9, ymax + 0.7)
    sub = ""
    if dropped > 0:
        sub = f" (orders with a share under {_pct(min_share)} left out: {_pct(dropped)} in all)"
    ax.set_title((title or "Order of key events across replicates") + sub)
    return fig


# --------------------------------------------------------------------------- tornado

@styled
def tornado(results: Mapping[str, Sequence[float]], baseline_value: float, outcome_label: str,
            *, title: str | None = None, percent: bool = True,
            ax: Axes | None = None) -> Figure:
    """One-way sensitivity: for each parameter, the outcome at its low and high value.

    ``results`` maps a parameter name to ``(outcome_at_low, outcome_at_high)`` or
    ``(outcome_at_low, outcome_at_high, low_value, high_value)``. Bars start at
    ``baseline_value``; the parameter with the widest swing is at the top.
    """
    rows = []
    for name, r in results.items():
        r = tuple(r)
        if len(r) not in (2, 4):
            raise ValueError(f"tornado: '{name}' needs (low, high) or "
                             f"(low, high, low_value, high_value), got {len(r)} numbers")
        rows.append((name, *r) if len(r) == 4 else (name, r[0], r[1], None, None))
    rows.sort(key=lambda r: abs(r[2] - r[1]))          # smallest swing at the bottom
    fig, ax = _new((7.5, 1.2 + 0.42 * max(len(rows), 1)), ax)
    ys = np.arange(len(rows))
    low = np.array([r[1] for r in rows], dtype=float) - baseline_value
    high = np.array([r[2] for r in rows], dtype=float) - baseline_value
    ax.barh(ys, low, left=baseline_value, height=0.6, color=OKABE_ITO["sky"],
            label="parameter at its low value", gid="low")
    ax.barh(ys, high, left=baseline_value, height=0.6, color=OKABE_ITO["vermillion"],
            alpha=0.85, label="parameter at its high value", gid="high")
    ax.axvline(baseline_value, color="black", lw=1.0)
    names = []
    for name, _lo, _hi, pl, ph in rows:
        names.append(f"{name}\n({pl:g} \u2192 {ph:g})" if pl is not None else name)
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=8)
    ax.grid(axis="y", visible=False)
    fmt = _pct if percent else (lambda v: f"{v:.3g}")
    for y, (_n, lo_v, hi_v, _a, _b) in zip(ys, rows):
        for v in (lo_v, hi_v):
            ha = "left" if v >= baseline_value else "right"
            ax.annotate(fmt(v), (v, y), xytext=(3 if ha == "left" else -3, 0),
                        textcoords="offset points", ha=ha, va="center", fontsize=7.5)
    lo_all = min([baseline_value, *[r[1] for r in rows], *[r[2] for r in rows]])
    hi_all = max([baseline_value, *[r[1] for r in rows], *[r[2] for r in rows]])
    pad = 0.15 * max(hi_all - lo_all, 1e-9)
    ax.set_xlim(lo_all - pad, hi_all + pad)
    if percent:
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(f"{outcome_label} (baseline {fmt(baseline_value)})")
    ax.set_title(title or f"One-way sensitivity of {shorten(outcome_label, 50)}")
    if len(fig.axes) == 1 and fig.get_layout_engine() is not None:
        fig.legend(loc="outside lower center", ncol=2)     # below the x label, not on it
    else:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    return fig


# --------------------------------------------------------------------------- sweeps

def _estimates(est: Any, n: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    a = np.asarray(est, dtype=float)
    if a.ndim == 1:
        if a.shape[0] != n:
            raise ValueError(f"sweep: {n} parameter values but {a.shape[0]} estimates")
        return a, None, None
    if a.ndim == 2 and a.shape == (n, 3):
        return a[:, 0], a[:, 1], a[:, 2]
    raise ValueError(f"sweep: estimates must be {n} numbers or {n} (estimate, lo, hi) rows, "
                     f"got shape {a.shape}")


@styled
def sweep(values: Sequence[float], param_name: str, estimates: Any, *,
          outcome_label: str = "outcome", title: str | None = None, percent: bool = True,
          baseline: float | None = None, ax: Axes | None = None) -> Figure:
    """An outcome against one parameter, with interval bands.

    ``estimates`` is a sequence of ``(estimate, lo, hi)`` rows (or plain
    estimates), one per value; or a mapping label -> such a sequence for
    several outcomes or branches. ``baseline`` marks the parameter's base value.
    """
    fig, ax = _new((6.5, 4.0), ax)
    x = np.asarray(values, dtype=float)
    series = estimates if isinstance(estimates, Mapping) else {outcome_label: estimates}
    seen: list = []
    for i, (name, est) in enumerate(series.items()):
        p, lo, hi = _estimates(est, len(x))
        c = color(i)
        if lo is not None:
            ax.fill_between(x, lo, hi, color=c, alpha=0.18, lw=0)
        ax.plot(x, p, marker="o", ms=4, color=c, ls=linestyle(i), lw=1.6,
                label=_same_label(str(name), p, seen), gid=str(name))
    if baseline is not None:
        ax.axvline(baseline, color=GREY, ls="--", lw=0.9)
        ax.annotate("baseline", (baseline, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -2), textcoords="offset points", va="top", fontsize=8,
                    color=GREY)
    if percent:
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(param_name)
    ax.set_ylabel(outcome_label)
    ax.set_title(title or f"{shorten(outcome_label, 40)} against {shorten(param_name, 40)}")
    if len(series) > 1 or not isinstance(estimates, Mapping):
        handles, labels = ax.get_legend_handles_labels()
        if any(np.asarray(e, dtype=float).ndim == 2 for e in series.values()):
            handles.append(Patch(color=GREY, alpha=0.25))
            labels.append("95% interval")
        _legend_outside(ax, handles, labels)
    return fig


@styled
def heatmap(xs: Sequence[float], ys: Sequence[float], values: Any, x_name: str, y_name: str,
            outcome_label: str = "outcome", *, title: str | None = None, percent: bool = True,
            ax: Axes | None = None) -> Figure:
    """An outcome over a grid of two parameters; ``values[j][i]`` is at ``(xs[i], ys[j])``."""
    v = np.asarray(values, dtype=float)
    if v.shape != (len(ys), len(xs)):
        raise ValueError(f"heatmap: values must have shape (len(ys), len(xs)) = "
                         f"({len(ys)}, {len(xs)}), got {v.shape}")
    fig, ax = _new((1.8 + 0.75 * len(xs), 1.4 + 0.5 * len(ys)), ax)
    vmin, vmax = (0.0, 1.0) if percent else (np.nanmin(v), np.nanmax(v))
    im = ax.imshow(v, origin="lower", cmap="cividis", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
    ax.grid(False)
    fmt = _pct if percent else (lambda z: f"{z:.3g}")
    for j in range(len(ys)):
        for i in range(len(xs)):
            z = v[j, i]
            frac = (z - vmin) / (vmax - vmin) if vmax > vmin else 0.5
            ax.text(i, j, fmt(z), ha="center", va="center", fontsize=8,
                    color="black" if frac > 0.55 else "white")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label(outcome_label)
    if percent:
        cb.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(title or shorten(outcome_label, 60))
    return fig


# --------------------------------------------------------------------------- time distribution

RUG_MARKERS = 2000   # above this many replicates, equal times share one rug marker


def _rug(ax: Axes, world: World, fin: np.ndarray, y: float, c: str) -> None:
    """A rug of event times, one translucent tick per replicate (alpha 20/n, so the
    shade shows density). Over ``RUG_MARKERS`` replicates, each distinct time gets one
    tick whose alpha is what its ``m`` stacked ticks would compose to, 1-(1-a)^m
    (rounded to 0.02, one line per level): the same picture without drawing 100k
    markers."""
    n = len(fin)
    a = min(1.0, 20 / max(n, 1)) if n > 20 else 0.9
    if n <= RUG_MARKERS:
        ax.plot(_num(world, fin), np.full(n, y), "|", color=c, ms=4, alpha=a)
        return
    where, count = np.unique(fin, return_counts=True)
    level = np.round((1 - (1 - a) ** count) / 0.02) * 0.02
    for lv in np.unique(level):
        pick = where[level == lv]
        ax.plot(_num(world, pick), np.full(len(pick), y), "|", color=c, ms=4,
                alpha=float(min(1.0, max(lv, 0.02))))


@styled
def time_distribution(times_by_branch: Mapping[str, Any], world: World,
                      fork: float | dt.date | None = None, *, event_label: str | None = None,
                      horizon: float | dt.date | None = None, title: str | None = None) -> Figure:
    """When an event happens, per branch: a violin with quartiles over the replicates
    where it happened, and, in a side panel, the share where it never did.

    ``times_by_branch`` maps a branch to per-replicate times (days since
    ``world.starts``; ``np.inf`` = never by the horizon).
    """
    names = list(times_by_branch)
    k = max(len(names), 1)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(8.5, 1.3 + 0.75 * k), layout="constrained")
        ax, axn = fig.subplots(1, 2, sharey=True, width_ratios=(4.2, 1.0))
    fork_d = _day(world, fork)
    never = []
    for i, name in enumerate(names):
        t = np.asarray(times_by_branch[name], dtype=float)
        fin = t[np.isfinite(t)]
        never.append(1.0 - len(fin) / len(t) if len(t) else float("nan"))
        y = k - 1 - i
        c = color(i)
        if len(fin) >= 2 and np.ptp(fin) > 0:
            parts = ax.violinplot([_num(world, fin)], positions=[y], orientation="horizontal",
                                  widths=0.8, showextrema=False)
            for b in parts["bodies"]:
                b.set_facecolor(c)
                b.set_alpha(0.35)
                b.set_edgecolor(c)
        if len(fin):
            q1, med, q3 = np.percentile(fin, [25, 50, 75])
            ax.plot(_num(world, [q1, q3]), [y, y], color=c, lw=4, solid_capstyle="butt",
                    gid="iqr")
            ax.plot([_num(world, med)], [y], marker="o", color="white", mec=c, mew=1.5, ms=6,
                    ls="none", gid="median")
            _rug(ax, world, fin, y - 0.32, c)
        axn.barh([y], [never[-1]], color=GREY, height=0.5, gid="never")
        axn.text(never[-1] if never[-1] == never[-1] else 0, y, " " + _pct(never[-1]),
                 va="center", ha="left", fontsize=8)
    ax.set_yticks(range(k), list(reversed([shorten(str(n), 26) for n in names])) or [""])
    ax.grid(axis="y", visible=False)
    axn.grid(axis="y", visible=False)
    _date_axis(ax)
    if fork_d is not None:
        _fork_line(ax, world, fork_d)
    hz = _day(world, horizon)
    if hz is not None:
        ax.axvline(float(_num(world, hz)), color=GREY, lw=0.8, ls=":")
    ax.set_ylim(-0.6, k - 0.4)
    what = shorten(event_label or "the event", 50)
    ax.set_xlabel("date (violin: spread; bar: middle half; dot: median)")
    ax.set_title(f"When: {what}", fontsize=10, loc="left")
    axn.set_xlim(0, 1.35)
    axn.set_xticks([0, 0.5, 1.0])
    axn.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axn.set_title("never (by horizon)", fontsize=10, loc="left")
    axn.set_xlabel("share of replicates")
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


# --------------------------------------------------------------------------- event graph

def _delay_text(d: Any) -> str:
    p = d.params
    if d.kind == "fixed":
        return f"{float(p['value']):g}d"
    if d.kind == "lognormal":
        return f"~{float(p['median']):g}d"
    if d.kind == "exponential":
        return f"~{float(p['mean']):g}d"
    if d.kind == "uniform":
        return f"{float(p['low']):g}-{float(p['high']):g}d"
    if d.kind == "triangular":
        return f"{float(p['low']):g}-{float(p['high']):g}d"
    try:
        return f"~{d.mean():.0f}d"
    except Exception:  # noqa: BLE001 - a label must never break a figure
        return d.kind


def _layers(world: World) -> dict[str, int]:
    """Longest-path layer of each event in the rule graph (cycles broken by visit order)."""
    succ: dict[str, list[str]] = {k: [] for k in world.events}
    for r in world.rules:
        if r.on in succ and r.then in succ and r.on != r.then:
            succ[r.on].append(r.then)
    layer = {k: 0 for k in world.events}
    # Kahn on the graph; nodes left over (cycles) keep the layer reached so far
    indeg = {k: 0 for k in world.events}
    for vs in succ.values():
        for v in vs:
            indeg[v] += 1
    queue = [k for k in world.events if indeg[k] == 0]
    while queue:
        k = queue.pop(0)
        for v in succ[k]:
            layer[v] = max(layer[v], layer[k] + 1)
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    return layer


@styled
def event_graph(world: World, *, title: str | None = None) -> Figure:
    """The world's event graph: a column per actor, events as boxes, rules as arrows
    labelled "probability, delay", reviews as a loop badge on the event they decide
    ("↻ 6%/30d": the actor reconsiders every 30 days with hazard 6%)."""
    layer = _layers(world)
    cols = list(world.actors)
    for et in world.events.values():
        a = et.actor if et.actor is not None else "(none)"
        if a not in cols:
            cols.append(a)
    col_events: dict[str, list[str]] = {a: [] for a in cols}
    for k, et in world.events.items():
        col_events[et.actor if et.actor is not None else "(none)"].append(k)
    cols = [a for a in cols if col_events[a]] or cols
    order = list(world.events)
    reviews_by_event: dict[str, list[Any]] = {}
    for rv in world.reviews:
        for k in rv.outcomes:                   # `decides`, or every event of a `choose`
            reviews_by_event.setdefault(k, []).append(rv)
    nbrs: dict[str, list[str]] = {k: [] for k in world.events}
    produced = set(reviews_by_event)
    for r in world.rules:
        if r.on in nbrs and r.then in nbrs and r.on != r.then:
            nbrs[r.on].append(r.then)
            nbrs[r.then].append(r.on)
        produced.add(r.then)
    linked = {k for k, v in nbrs.items() if v} | produced
    # rows inside a column: by layer first, then a few barycentre sweeps (fewer crossings);
    # events no rule or review touches go to the bottom
    for a in cols:
        col_events[a].sort(key=lambda k: (k not in linked, layer[k], order.index(k)))
    slot: dict[str, float] = {}

    def assign() -> None:
        for a in cols:
            for i, k in enumerate(col_events[a]):
                slot[k] = float(i)

    assign()
    for _ in range(6):
        key = {k: (0.5 * slot[k] + 0.5 * float(np.mean([slot[n] for n in nbrs[k]]))
                   if nbrs[k] else slot[k]) for k in slot}
        for a in cols:
            col_events[a].sort(key=lambda k: (k not in linked, key[k], layer[k]))
        assign()
    rows = max((len(v) for v in col_events.values()), default=1)
    col_w, row_h = 3.3, 1.0
    with matplotlib.rc_context(STYLE):
        scale = 0.8                                  # inches per data unit (equal aspect)
        fig = Figure(figsize=(0.4 + scale * col_w * len(cols),
                              1.0 + scale * (rows + 1.9) * row_h), layout="constrained")
        ax = fig.add_subplot()
    ax.set_axis_off()
    box_w, box_h = 2.3, 0.62
    xy: dict[str, tuple[float, float]] = {}
    for ci, a in enumerate(cols):
        x = ci * col_w
        name = _actor_name(world, a)
        ax.text(x, 0.9 * row_h, shorten(name, 30), ha="center", va="center", fontsize=9.5,
                fontweight="bold", color=color(ci))
        ax.add_patch(FancyBboxPatch((x - col_w / 2 + 0.12, -(rows - 0.35) * row_h),
                                    col_w - 0.24, (rows + 0.05) * row_h + 0.6,
                                    boxstyle="round,pad=0,rounding_size=0.15",
                                    fc="#F7F7F7", ec="none", zorder=0))
        for k in col_events[a]:
            y = -slot[k] * row_h
            xy[k] = (x, y)
            text = "\n".join(textwrap.wrap(label_of(world, k, 52), 27)[:2])
            rvs = reviews_by_event.get(k, [])
            ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                        boxstyle="round,pad=0.02,rounding_size=0.08",
                                        fc="white", ec=color(ci), lw=1.6 if rvs else 1.0,
                                        ls="-" if k in produced else (0, (3, 2)), zorder=3,
                                        gid=f"node-{k}"))
            ax.text(x, y + (0.07 if rvs else 0), text, ha="center", va="center", fontsize=7,
                    zorder=4, linespacing=1.0)
            if rvs:
                badge = ", ".join(f"\u21bb {_review_badge(r)}" for r in rvs)
                ax.text(x, y - box_h / 2 + 0.02, badge, ha="center", va="bottom",
                        fontsize=6.5, color=OKABE_ITO["vermillion"], zorder=4,
                        fontweight="bold", gid="review")
    # rules
    seen: dict[tuple[str, str], int] = {}
    placed: list[tuple[float, float, float, float]] = []
    for r in world.rules:
        if r.on not in xy or r.then not in xy:
            continue
        n_same = seen.get((r.on, r.then), 0)
        seen[(r.on, r.then)] = n_same + 1
        (x0, y0), (x1, y1) = xy[r.on], xy[r.then]
        label = f"{_pct(r.probability)}, {_delay_text(r.delay)}"
        if r.unless:
            label += "\nunless " + shorten(", ".join(r.unless), 30)
        half = 0.5 * 0.06 * max(len(x) for x in label.split("\n"))   # label half-width
        half_h = 0.11 * (label.count("\n") + 1)
        if r.on == r.then:
            start, end = (x0 + box_w / 2, y0 + 0.12), (x0 + box_w / 2, y0 - 0.12)
            cs = "arc3,rad=-1.6"
            rad = -1.6
        elif abs(x0 - x1) < 1e-9:
            # same column: go round the right-hand side of the boxes
            side = box_w / 2
            start, end = (x0 + side, y0), (x1 + side, y1)
            rad = -0.35 - 0.1 * n_same if y1 < y0 else 0.35 + 0.1 * n_same
            cs = f"arc3,rad={rad}"
        else:
            dirn = 1 if x1 > x0 else -1
            start = (x0 + dirn * box_w / 2, y0)
            end = (x1 - dirn * box_w / 2, y1)
            rad = 0.08 * (1 + n_same) * (1 if y1 <= y0 else -1)
            cs = f"arc3,rad={rad}"
        # a point on matplotlib's arc3 quadratic Bezier (exact with equal aspect): the
        # middle, or the point nearest to it that is not on top of a box
        dx_, dy_ = end[0] - start[0], end[1] - start[1]
        ctrl = ((start[0] + end[0]) / 2 + rad * dy_, (start[1] + end[1]) / 2 - rad * dx_)
        mid = None
        for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.15, 0.85):
            pt = ((1 - t) ** 2 * start[0] + 2 * (1 - t) * t * ctrl[0] + t * t * end[0],
                  (1 - t) ** 2 * start[1] + 2 * (1 - t) * t * ctrl[1] + t * t * end[1])
            if not any(abs(pt[0] - bx) < box_w / 2 + half and abs(pt[1] - by) < box_h / 2 + half_h
                       for bx, by in xy.values()) and not any(
                           abs(pt[0] - lx) < half + lw and abs(pt[1] - ly) < half_h + lh
                           for lx, ly, lw, lh in placed):
                mid = pt
                break
        if mid is None:
            t = 0.5
            mid = (0.25 * start[0] + 0.5 * ctrl[0] + 0.25 * end[0],
                   0.25 * start[1] + 0.5 * ctrl[1] + 0.25 * end[1])
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9,
                                     connectionstyle=cs, color="#505050", lw=0.9, zorder=2,
                                     shrinkA=1, shrinkB=2, gid=f"rule-{r.id}"))
        placed.append((mid[0], mid[1], half, half_h))
        ax.text(mid[0], mid[1], label, fontsize=6.2, ha="center", va="center", zorder=5,
                color="#222222", gid="rule-label",
                bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.85))
    ax.set_xlim(-col_w / 2, (len(cols) - 0.5) * col_w)
    ax.set_ylim(-(rows - 0.3) * row_h - 1.1, 1.3 * row_h)
    ax.set_aspect("equal")
    ax.text(-col_w / 2 + 0.12, -(rows - 0.3) * row_h - 0.3,
            "arrow: a rule (probability, delay: ~ median or mean, fixed, or range in days)"
            "\n\u21bb p/Nd: the actor reviews every N days; the event occurs with hazard p"
            "\ndashed box: no rule or review produces it (history or injection only)",
            fontsize=7.5, color=GREY, va="top", ha="left", linespacing=1.3)
    ax.set_title(title or f"Event graph of world '{world.name}'")
    return fig


# --------------------------------------------------------------------------- halfwidth

@styled
def halfwidth(ns: Sequence[float], widths: Any, *, target: float | None = 0.02,
              title: str | None = None, ax: Axes | None = None) -> Figure:
    """Are there enough replicates? The 95% interval half-width against the number of
    replicates (log axes), with the 1/sqrt(n) reference and a target half-width.

    ``widths`` is an array over ``ns`` or a mapping label -> array.
    """
    fig, ax = _new((7.0, 4.6), ax)
    n = np.asarray(ns, dtype=float)
    series = widths if isinstance(widths, Mapping) else {"half-width": widths}
    for i, (name, w) in enumerate(series.items()):
        w = np.asarray(w, dtype=float)
        if w.shape != n.shape:
            raise ValueError(f"halfwidth: {len(n)} replicate counts but {w.shape[0]} widths "
                             f"for '{name}'")
        ax.plot(n, w, marker="o", ms=3.5, color=color(i), ls=linestyle(i), lw=1.5,
                label=str(name))
    if len(n):
        # reference: the worst case for a proportion, 1.96 * sqrt(0.25 / n)
        ref = 1.96 * np.sqrt(0.25 / n)
        ax.plot(n, ref, color=GREY, ls=":", lw=1.0, label="worst case 1.96\u00b7\u221a(.25/n)")
    if target is not None:
        ax.axhline(target, color=OKABE_ITO["vermillion"], lw=0.9, ls="--",
                   label=f"target \u00b1{target * 100:g} points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(
        [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _p: f"\u00b1{v * 100:g} pts"))
    ax.set_xlabel("replicates")
    ax.set_ylabel("95% interval half-width")
    ax.set_title(title or "Are there enough replicates?")
    handles, labels = ax.get_legend_handles_labels()
    _legend_outside(ax, handles, labels)
    return fig


@styled
def reliability(bins: Mapping[str, Sequence[Mapping[str, float]]], *,
                title: str | None = None) -> Figure:
    """A reliability diagram: observed frequency against mean forecast probability per
    bin, one line per forecaster, each point labelled with its count; below, the number
    of forecasts per bin. ``bins`` maps a forecaster to the rows of
    :func:`sim.scoring.reliability` (``lo``, ``hi``, ``count``, ``forecast``, ``observed``).
    """
    fig = Figure(figsize=(6.4, 6.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=(3, 1), sharex=True)
    top.plot([0, 1], [0, 1], color=GREY, ls=":", lw=1.0, label="perfectly calibrated")
    width = None
    for i, (name, rows) in enumerate(bins.items()):
        rows = [r for r in rows if r["count"]]
        x = np.array([r["forecast"] for r in rows])
        y = np.array([r["observed"] for r in rows])
        c = np.array([r["count"] for r in rows])
        top.plot(x, y, marker="o", ms=4, lw=1.4, color=color(i), label=str(name))
        for xi, yi, ci in zip(x, y, c):
            top.annotate(f"{ci}", (xi, yi), textcoords="offset points", xytext=(4, -9),
                         fontsize=7, color=color(i))
        lo = np.array([r["lo"] for r in rows])
        hi = np.array([r["hi"] for r in rows])
        k = len(bins)
        width = (hi - lo) / max(k, 1)
        bottom.bar(lo + i * width, c, width=width * 0.9, align="edge", color=color(i),
                   label=str(name))
    top.set_xlim(0, 1)
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("observed frequency")
    top.set_title(title or "Reliability: forecast probability against what happened")
    top.legend(loc="upper left")
    bottom.set_yscale("log")
    bottom.set_xlabel("forecast probability (bin mean; bins of width 0.1)")
    bottom.set_ylabel("forecasts")
    return fig


# --------------------------------------------------------------------------- standard set

def _key_events(outcomes: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for o in outcomes:
        for k in ([o.event] if o.event else []) + list(o.events or ()):
            if k not in out:
                out.append(k)
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60]


def _halfwidths(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-widths at about 12 replicate counts, log-spaced from 10 to all of them."""
    n_all = len(values)
    if n_all == 0:
        return np.array([]), np.array([])
    ns = np.unique(np.clip(np.round(np.geomspace(min(10, n_all), n_all, 12)), 1, n_all)
                   .astype(int))
    return ns.astype(float), np.asarray(halfwidth_curve(values, ns), dtype=float)


def _tree_kinds(run: Any, branch: str, outcomes: Sequence[Any], fork: float,
                limit: int) -> list[str]:
    """Events for the outcome tree: those of ``first`` outcomes, then the ``occurs``
    events whose occurrence after the fork varies most across replicates (p(1-p))."""
    kinds = _key_events([o for o in outcomes if o.measure == "first"])[:limit]
    spread = []
    for k in _key_events([o for o in outcomes if o.measure == "occurs"]):
        if k in kinds:
            continue
        t = np.asarray(run.first_times(branch, k), dtype=float)
        p = float(np.mean(np.isfinite(t) & (t >= fork))) if len(t) else 0.0
        if 0.0 < p:
            spread.append((-p * (1 - p), len(spread), k))
    kinds += [k for _s, _i, k in sorted(spread)[: max(0, limit - len(kinds))]]
    return kinds


def _forest_label(d: Any) -> str:
    what = d.label or d.outcome
    if d.stat.startswith("first:"):
        k = d.stat.split(":", 1)[1]
        return f"{'none' if k == 'none' else k} first ({what})"
    if d.kind == "days":
        return f"{what} (days)"
    return what


def effect_figures(pairs: Sequence[tuple[Any, Any]], *, kinds: Sequence[str] | None = None,
                   start: float | None = None, points: int = 600,
                   max_forests: int | None = None,
                   skip_identical: bool = True) -> list[tuple[str, str, Figure]]:
    """The comparison figures of (branch, control) pairs (``sim.effects.Side`` objects):
    for each key event, the paired difference in its cumulative probability over time
    (one curve per pair); for each pair, a forest plot of every outcome's difference.

    ``kinds`` default to the events the first run's outcomes name; the time axis
    runs from ``start`` (default a year before the fork) to the horizon. With
    ``skip_identical``, an event whose probability by every date is the same in
    every pair (e.g. it is in history before the fork) gets no figure. Returns
    ``(file stem, caption, figure)`` triples.
    """
    from sim import effects

    if not pairs:
        return []
    run0 = pairs[0][0].run
    sc = run0.scenario
    world = run0.world(pairs[0][0].branch)
    fork = world.day(sc.fork_date)
    horizon = max(float(p[0].run.branch(p[0].branch).horizon) for p in pairs)
    start = max(0.0, fork - 365.0) if start is None else start
    grid = np.arange(start, horizon + 1.0, max(1.0, (horizon - start) / points))
    out: list[tuple[str, str, Figure]] = []
    one_run = all(b.run is run0 and c.run is run0 for b, c in pairs)

    def name(x: Any) -> str:  # branch names are enough within one run
        return x.branch if one_run else x.label

    paired = [effects.is_paired(b, c) for b, c in pairs]
    band = ("95% interval (paired)" if all(paired) else "95% interval (unpaired)"
            if not any(paired) else "95% interval (paired unless marked)")
    for kind in (list(kinds) if kinds is not None else _key_events(sc.outcomes)):
        curves = {f"{name(b)} \u2212 {name(c)}" + ("" if ok or not any(paired)
                                                  else " (unpaired)"):
                  (grid, *effects.cumulative_difference(b, c, kind, grid))
                  for (b, c), ok in zip(pairs, paired)}
        if skip_identical and all(np.nanmax(np.abs(np.nan_to_num(v[k]))) == 0.0
                                  for v in curves.values() for k in (1, 2, 3)):
            continue      # the same at every date in every pair: nothing to draw
        what = label_of(world, kind)
        out.append((f"effect_{_slug(kind)}", f"Effect over time: {what}",
                    difference_over_time(curves, world, fork, event_label=what,
                                         horizon=horizon, band_label=band,
                                         title=f"Effect over time: {shorten(what, 50)}")))
    for b, c in pairs[:max_forests]:
        diffs = effects.differences(b, c)
        rows = [(_forest_label(d), d.estimate.mean, d.estimate.lo, d.estimate.hi, d.kind)
                + (((sp.lo, sp.hi),) if (sp := getattr(d, "spread", None)) is not None
                   and sp.available else ())
                for d in diffs]
        title = f"'{name(b)}' minus its control '{name(c)}' (95% paired intervals)"
        unpaired = [not getattr(d, "paired", True) for d in diffs]
        if any(unpaired):
            title = (f"'{name(b)}' minus '{name(c)}' (95% intervals, "
                     f"{'unpaired' if all(unpaired) else 'some unpaired'})")
        if any(getattr(d, "caution", "") for d in diffs):   # a side broke invariants
            title = "[!] invariants broken: " + title
        out.append((f"forest_{_slug(name(b))}",
                    f"Every outcome: {name(b)} against {name(c)}", forest(rows, title=title)))
    return out


def _sweep_params(run: Any) -> tuple[str, list[str]]:
    """("grid" or "lhs", the swept parameter paths) of a sweep run, or ("", [])."""
    sw = (getattr(run.scenario, "resolved", None) or {}).get("sweep") or {}
    if isinstance(sw.get("grid"), Mapping) and sw["grid"]:
        return "grid", list(sw["grid"])
    lhs = sw.get("lhs")
    if isinstance(lhs, Mapping) and isinstance(lhs.get("ranges"), Mapping):
        return "lhs", list(lhs["ranges"])
    return "", []


def sweep_figures(run: Any, *, max_outcomes: int = 4) -> list[tuple[str, str, Figure]]:
    """The figures of a sweep run: for the ``occurs`` outcomes that vary most across the
    sweep points (at most ``max_outcomes``), the outcome against each swept parameter
    (:func:`sweep`; with two grid parameters one line per value of the other), a
    :func:`heatmap` over a two-parameter grid, and a :func:`tornado` of the grid's
    parameters against the base branch (each parameter at its lowest and highest grid
    value, every other one at its grid value nearest its base value, ties to the lower;
    the title says when that is not exactly the base). Returns (stem, caption, figure).
    """
    how, params = _sweep_params(run)
    if not params:
        return []
    sc = run.scenario
    names = list(run.branch_names())
    base = names[0] if names[0] == sc.name else None
    points = [b for b in names if b != base]
    setting = {b: dict(run.branch(b).settings or {}) for b in points}
    points = [b for b in points if all(p in setting[b] for p in params)]
    if not points:
        return []
    table = run.outcome_table()
    occurs = [o for o in sc.outcomes if o.measure == "occurs"]
    est = {o.id: {b: table.summary(b, o.id)["probability"] for b in names} for o in occurs}
    spread = {o.id: np.ptp([est[o.id][b].mean for b in points]) for o in occurs}
    chosen = sorted(occurs, key=lambda o: -spread[o.id])[:max_outcomes]
    base_world = run.world(base) if base else run.world(points[0])
    base_params = base_world.parameters()
    out: list[tuple[str, str, Figure]] = []
    short = {p: p.split(".", 1)[1] if p.count(".") > 1 else p for p in params}
    for o in chosen:
        what = o.label or o.id
        e = est[o.id]
        for p in params:
            others = [q for q in params if q != p]
            if how == "grid" and len(others) == 1:
                q = others[0]
                series = {}
                for qv in sorted({setting[b][q] for b in points}):
                    sel = sorted((b for b in points if setting[b][q] == qv),
                                 key=lambda b: setting[b][p])
                    series[f"{short[q]} = {qv:g}"] = [(e[b].mean, e[b].lo, e[b].hi) for b in sel]
                xs = sorted({setting[b][p] for b in points})
                if not all(len(v) == len(xs) for v in series.values()):
                    continue
                fig = sweep(xs, p, series, outcome_label=f"P({shorten(what, 40)})",
                            baseline=base_params.get(p) if base else None)
            elif how == "grid" and not others:
                sel = sorted(points, key=lambda b: setting[b][p])
                fig = sweep([setting[b][p] for b in sel], p,
                            [(e[b].mean, e[b].lo, e[b].hi) for b in sel],
                            outcome_label=f"P({shorten(what, 40)})",
                            baseline=base_params.get(p) if base else None)
            else:
                continue   # lhs points, or grids of 3+ parameters: no line per value
            out.append((f"sweep_{_slug(o.id)}_{_slug(short[p])}",
                        f"{what} against {p}", fig))
        if how == "grid" and len(params) == 2:
            px, py = params
            xs = sorted({setting[b][px] for b in points})
            ys = sorted({setting[b][py] for b in points})
            cell = {(setting[b][px], setting[b][py]): e[b].mean for b in points}
            if len(cell) == len(xs) * len(ys):
                vals = [[cell[(x, y)] for x in xs] for y in ys]
                out.append((f"heatmap_{_slug(o.id)}", f"{what} over {px} and {py}",
                            heatmap(xs, ys, vals, px, py, f"P({shorten(what, 40)})",
                                    title=f"P({shorten(what, 50)}) over the grid")))
        if how == "grid" and base is not None and len(params) >= 2:
            results = {}
            exact = True
            for p in params:
                vals = sorted({setting[b][p] for b in points})
                # one-way: every other parameter at its grid value nearest its base value
                held = {}
                for q in params:
                    if q != p:
                        qs = sorted({setting[b][q] for b in points})
                        held[q] = min(qs, key=lambda v, q=q: abs(v - base_params.get(q, v)))
                        exact = exact and held[q] == base_params.get(q)
                ends = []
                for v in (vals[0], vals[-1]):
                    sel = [b for b in points if setting[b][p] == v
                           and all(setting[b][q] == hv for q, hv in held.items())]
                    ends.append(e[sel[0]].mean if sel else float("nan"))
                results[short[p]] = (ends[0], ends[1], vals[0], vals[-1])
            note = ("others at their base values" if exact
                    else "others at the grid values nearest their base values")
            out.append((f"tornado_{_slug(o.id)}", f"One-way sensitivity of {what} ({note})",
                        tornado(results, e[base].mean, f"P({shorten(what, 40)})",
                                title=f"One-way sensitivity of P({shorten(what, 40)})\n"
                                      f"over the grid ({note})")))
    return out


def standard_figures(run: Any, out_dir: str | Path | None = None, *,
                     max_trees: int = 4, max_tree_events: int = 4,
                     max_forests: int = 12) -> list[Path]:
    """Write the standard figures of a run into ``run.folder / "figures"`` (or ``out_dir``).

    For each key event of the scenario's outcomes, its cumulative probability
    per branch; the first replicate's timeline (first branch); an outcome
    tree of what happened after the fork to the events of the ``first`` outcomes and
    the most variable ``occurs`` events (at most ``max_tree_events``; up to
    ``max_trees`` branches);
    the time distribution of each ``time_to`` outcome; the event graph; and
    the half-width curve of the ``occurs`` outcomes; the effect of each branch
    against its control (:func:`effect_figures`: the difference over time of
    each key event, and a forest plot for up to ``max_forests`` branches); for a
    sweep, :func:`sweep_figures` instead. Returns the PNG paths (an SVG is
    written beside each).
    """
    out = Path(out_dir) if out_dir is not None else Path(run.folder) / "figures"
    sc = run.scenario
    names = list(run.branch_names())
    branches = {b.name: b for b in sc.branches}
    world = run.world(names[0])
    fork = world.day(sc.fork_date)
    horizon = world.end_of_day(sc.horizon_date)     # events on the horizon date count
    paths: list[Path] = []

    def emit(fig: Figure, stem: str) -> None:
        paths.append(save(fig, out / stem)[0])

    # from a year before the fork: earlier is history, the same in every replicate
    start = max(0.0, fork - 365.0)
    grid = cumulative_grid(start, horizon)
    for kind in _key_events(sc.outcomes):
        curves = {}
        for b in names:
            t = np.asarray(run.first_times(b, kind), dtype=float)
            if getattr(branches.get(b), "uncertain", None):   # grouped parameter draws
                from sim.paramspread import cumulative as drawn_cumulative

                curves[b] = (grid, *drawn_cumulative(t, grid, horizon,
                                                     sc.replicates_per_draw))
                continue
            curves[b] = (grid, *cumulative_incidence(t, grid, horizon))
        emit(cumulative(curves, world, fork, event_label=label_of(world, kind),
                        horizon=horizon), f"cumulative_{_slug(kind)}")
    first = branches.get(names[0])
    sources = None
    doc = getattr(first, "history_doc", None) if first is not None else None
    if doc is not None:
        srcs = getattr(doc, "sources", None)
        if isinstance(srcs, Mapping):
            sources = srcs
        elif srcs is not None:
            sources = {s.id: s for s in srcs}
    emit(timeline(run.replicate_events(names[0], 0), world, sources, fork, horizon=horizon,
                  title=f"One simulated world: branch '{names[0]}', replicate 0"),
         f"timeline_{_slug(names[0])}_0")
    tree_kinds = _tree_kinds(run, names[0], sc.outcomes, fork, max_tree_events)
    if tree_kinds:
        for b in names[:max_trees]:
            # the order of first occurrences after the fork, from one scan per kind
            shares = first_of_tree_times({k: run.first_times(b, k, since=fork)
                                          for k in tree_kinds}, tree_kinds)
            emit(outcome_tree(shares, run.world(b), n=sc.replicates, min_share=0.01,
                              title=f"Order of key events after the fork, branch '{b}'"),
                 f"tree_{_slug(b)}")
    for o in sc.outcomes:
        if o.measure == "time_to" and o.event:
            times = {b: run.first_times(b, o.event) for b in names}
            emit(time_distribution(times, world, fork, horizon=horizon,
                                   event_label=label_of(world, o.event),
                                   title=o.label or None), f"time_{_slug(o.id)}")
    emit(event_graph(world), "event_graph")
    occurs = [o for o in sc.outcomes if o.measure == "occurs"]
    if occurs:
        vals = run.outcome_values(names[0])
        series = {}
        ns = None
        for o in occurs:
            if o.id in vals:
                v = np.asarray(vals[o.id], dtype=float)
                ns, w = _halfwidths(v[~np.isnan(v)])         # NaN: a failed replicate
                series[o.label or o.id] = w
        if series and ns is not None and len(ns):
            # the outcomes that need most replicates: the widest intervals at the end
            widest = sorted(series, key=lambda k: -np.nan_to_num(series[k][-1]))[:5]
            note = (f"\n(the {len(widest)} widest of {len(series)} occurs outcomes)"
                    if len(series) > len(widest) else "")
            emit(halfwidth(ns, {k: series[k] for k in widest},
                           title=f"Are there enough replicates? branch '{names[0]}'{note}"),
                 "halfwidth")
    from sim import effects

    # a sweep's points are shown by the sweep figures, not one forest per point
    pairs = [] if _sweep_params(run)[1] else effects.pairs(run)
    for stem, _caption, fig in effect_figures(pairs, max_forests=max_forests) \
            + sweep_figures(run):
        emit(fig, stem)
    return paths
