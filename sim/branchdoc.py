"""The generated teaching-branch tables of a case page, and the command that regenerates them.

This module owns turning teaching files (each a control and one counterfactual
branch, see docs/scenarios.md) into Markdown: it runs every file with
:func:`sim.runner.run` (the same code as ``sim run``; replicate ``i`` of both
branches shares its random numbers), takes each branch's differences from its
own control with :func:`sim.compare.effects` (the numbers ``sim compare``
prints) and writes, per file, every outcome whose difference is clear (its 95%
interval excludes zero) with the control's value and the paired difference, then
the list of outcomes it cannot tell apart. :func:`update_doc` replaces the block
between ``<!-- branches:begin -->`` and ``<!-- branches:end -->`` of a page.
The Nord Stream 2 numbers in docs/nord-stream-model.md come from here;
tests/test_nord_stream.py recomputes them and requires the same text.

    python -m sim.branchdoc docs/nord-stream-model.md scenarios/nord_stream/insurers_early.yaml \\
        ... -n 300                                        # or: make nord-stream-doc
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sim import compare, docblock
from sim.errors import InputError, Problem

BEGIN, END = "<!-- branches:begin -->", "<!-- branches:end -->"


def _num(x: float, kind: str) -> str:
    if math.isnan(x):
        return "n/a"
    if kind == "days":
        return f"{x:.0f} days"
    return f"{x:.2f}" if kind == "probability" else f"{x:.1f}"


def _signed(x: float, kind: str) -> str:
    if kind == "days":
        return f"{x:+.0f}"
    return f"{x:+.2f}" if kind == "probability" else f"{x:+.1f}"


def _control_value(run, d: compare.Difference) -> float:
    """The control's value of the statistic the difference is taken on."""
    spec = next(s for s in run.scenario.outcomes if s.id == d.outcome)
    col = compare.Column(run, d.control)
    binary = spec.measure == "state" and compare._binary_state(col, spec)
    series = compare._series(spec, run.outcome_values(d.control)[spec.id],
                             compare.window(col), binary)
    values = next(v for stat, _, v in series if stat == d.stat)
    return float(np.nanmean(values))


def _what(d: compare.Difference) -> str:
    label = d.label or d.outcome
    if d.stat == "restricted_mean_days":
        return f"{label} (mean days, capped at the horizon)"
    if d.stat.startswith("first:"):
        return f"{label}: {d.stat[len('first:'):]} first"
    return label


def header_field(path: str | os.PathLike, word: str) -> str:
    """The text after ``# Word:`` in a teaching file's opening comment, with its indented
    continuation lines (``#   ...``) joined; '' if absent."""
    head = Path(path).read_text(encoding="utf-8").split("\nname:")[0].splitlines()
    for i, line in enumerate(head):
        if line.startswith(f"# {word}:"):
            parts = [line.split(":", 1)[1].strip()]
            for more in head[i + 1:]:
                if not more.startswith("#   "):
                    break
                parts.append(more[1:].strip())
            return " ".join(parts)
    return ""


def file_table(path: str | os.PathLike, replicates: int, folder: str | os.PathLike) -> str:
    """Markdown for one teaching file: its header question and every outcome's effect."""
    from sim.runner import run as run_scenario

    path = Path(path)
    r = run_scenario(path, out=Path(folder) / path.stem, replicates=replicates,
                     executor="serial", progress=False, force=True)
    diffs = compare.effects(r)
    if not diffs:
        raise InputError(Problem(str(path), None, None, "no counterfactual branch to compare",
                                 "a teaching file has a base branch and one under branches:"))
    branch, control = diffs[0].branch, diffs[0].control
    question = header_field(path, "Question")
    out = [f"**`{path.name}`** ({question}) fork {r.scenario.fork_date}, "
           f"{replicates} replicates per branch; `{branch}` against `{control}`:", "",
           f"Expected (the file's header): {header_field(path, 'Expected')}", "",
           "| outcome | control | difference (95% interval) | |", "|---|---|---|---|"]
    same = [d for d in diffs if not d.clear]
    for d in (d for d in diffs if d.clear):
        e = d.estimate
        out.append(f"| {_what(d)} | {_num(_control_value(r, d), d.kind)} | "
                   f"{_signed(e.mean, d.kind)} ({_signed(e.lo, d.kind)} to "
                   f"{_signed(e.hi, d.kind)}) | {d.direction} |")
    if same:
        out += ["", "Cannot tell apart (the 95% interval includes zero): "
                + "; ".join(_what(d) for d in same) + "."]
    return "\n".join(out)


def markdown(files: Sequence[str | os.PathLike], replicates: int,
             hindcast: str | os.PathLike | None = None, targets: Sequence[str] = (),
             hindcast_replicates: int = 500) -> str:
    """The whole generated block (deterministic: no timings, no folder names); with
    ``hindcast``, its table first."""
    parts = [f"Generated by `python -m sim.branchdoc` with {replicates} replicates per branch "
             "and each file's own seed; each difference is branch minus control, paired "
             "replicate by replicate. Probabilities are shares of replicates; \"days\" rows are "
             "the mean time from the fork to the event, a replicate without it counting the "
             "whole window to the horizon."]
    if hindcast is not None:
        parts.insert(0, hindcast_table(hindcast, hindcast_replicates, targets))
    with tempfile.TemporaryDirectory(prefix="sim-branchdoc-") as tmp:
        for f in files:
            parts.append(file_table(f, replicates, tmp))
    return "\n\n".join(parts)


def hindcast_table(scenario: str | os.PathLike, replicates: int,
                   targets: Sequence[str]) -> str:
    """Markdown of :func:`sim.hindcast.hindcast` for ``scenario``: every event history records
    after the fork, its real date, the model's P(by horizon), 5/50/95% dates and percentile;
    the ``targets`` (calibration targets) in bold."""
    from sim.hindcast import hindcast

    rep = hindcast(scenario, replicates=replicates)

    def d(x):
        return "never" if x is None else str(x)
    out = [f"Hindcast of `{Path(scenario).name}` from {rep.fork} to {rep.horizon}, "
           f"{rep.replicates} replicates, seed {rep.seed}; calibration targets in bold:", "",
           "| event | real date | P(by horizon) | 5% / 50% / 95% | percentile |",
           "|---|---|---|---|---|"]
    for r in rep.rows:
        name = f"**{r.kind}**" if r.kind in targets else r.kind
        out.append(f"| {name} | {r.actual} | {r.p_by_horizon:.2f} | {d(r.q05)} / {d(r.q50)} / "
                   f"{d(r.q95)} | {r.percentile:.0f} |")
    return "\n".join(out)


BLOCK = docblock.Block(BEGIN, END)
block = BLOCK.span            # the character span strictly between this doc's markers
current = BLOCK.read          # the block's present content, stripped
update_doc = BLOCK.replace    # replace the block's content; True if the file changed


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.branchdoc",
                                description="Regenerate the teaching-branch tables of a doc.")
    p.add_argument("doc")
    p.add_argument("files", nargs="+", help="teaching files, in the order the doc lists them")
    p.add_argument("-n", "--replicates", type=int, default=300)
    p.add_argument("--hindcast", help="also tabulate the hindcast of this scenario")
    p.add_argument("--hindcast-replicates", type=int, default=500)
    p.add_argument("--targets", default="", help="comma-separated calibration targets")
    a = p.parse_args(argv)
    try:
        doc = Path(a.doc)
        block(doc.read_text(encoding="utf-8"), doc)     # check before the long part
        targets = [t for t in a.targets.split(",") if t]
        changed = update_doc(doc, markdown(a.files, a.replicates, a.hindcast, targets,
                                           a.hindcast_replicates))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{a.doc}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
