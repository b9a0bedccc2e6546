"""Small helpers for the teaching notebooks: their settings and their answer checks.

This module owns the conventions the notebooks in ``notebooks/`` share:

- :func:`replicates`: the replicate count, from ``SIM_NOTEBOOK_REPLICATES``
  (the tests set it low; a class can set it high);
- :func:`runs_dir`: where a notebook's run folders go, ``SIM_NOTEBOOK_RUNS``
  or a fresh temporary folder, so notebooks never clutter the repository;
- :func:`scenario_path`: a file under ``scenarios/``, found from the
  notebook's folder (or ``SIM_SCENARIOS``);
- the "check your answer" cells: the student writes ``my_answer = ...``;
  the check cell computes the right value from the run and calls
  :func:`check_number` or :func:`check_choice`, which print a confirmation
  or raise :class:`NotAnswered` / :class:`WrongAnswer` (both
  ``AssertionError``) with a hint. The right value is never printed before
  the answer is right.

>>> check_number(0.41, 0.4, tol=0.02, question="demo")
Question demo: correct (0.41; the run gives 0.4).
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPLICATES_ENV = "SIM_NOTEBOOK_REPLICATES"
RUNS_ENV = "SIM_NOTEBOOK_RUNS"
SCENARIOS_ENV = "SIM_SCENARIOS"


class NotAnswered(AssertionError):
    """The answer cell still holds the placeholder ``...``."""


class WrongAnswer(AssertionError):
    """The answer does not match what the run gives (the message has a hint)."""


def replicates(default: int = 300) -> int:
    """Replicates per branch: ``SIM_NOTEBOOK_REPLICATES`` if set, else ``default``."""
    raw = os.environ.get(REPLICATES_ENV, "").strip()
    if not raw:
        return default
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{REPLICATES_ENV}={raw!r}: expected a whole number of at least 1 "
                         f"(e.g. {REPLICATES_ENV}=300)")
    return n


def runs_dir(name: str) -> Path:
    """A folder for this notebook's runs: ``$SIM_NOTEBOOK_RUNS/name`` or a new temp folder."""
    root = os.environ.get(RUNS_ENV, "").strip()
    if root:
        path = Path(root) / name
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix=f"sim-{name}-"))


def scenario_path(*parts: str) -> Path:
    """``scenarios/<parts>``: looked up in ``SIM_SCENARIOS``, else from the current folder up.

    >>> # scenario_path("s400", "baseline.yaml") -> /.../scenarios/s400/baseline.yaml
    """
    root = os.environ.get(SCENARIOS_ENV, "").strip()
    if root:
        bases = [Path(root)]
    else:
        here = Path.cwd().resolve()
        bases = [p / "scenarios" for p in (here, *here.parents)]
    for base in bases:
        path = base.joinpath(*parts)
        if path.exists():
            return path
    raise FileNotFoundError(
        f"cannot find scenarios/{'/'.join(parts)} from {Path.cwd()} (start Jupyter inside the "
        f"sim repository, or set {SCENARIOS_ENV} to its scenarios folder)")


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def check_number(answer: Any, expected: float, *, tol: float, question: str,
                 rel: bool = False, hint: str = "", example: str = "0.35") -> None:
    """Check a numeric answer: ``|answer - expected| <= tol`` (``tol * |expected|`` if ``rel``).

    Prints a confirmation when right. Raises :class:`NotAnswered` for the
    placeholder ``...`` and :class:`WrongAnswer` (saying whether the answer
    is too high or too low, never the right value) otherwise.
    """
    __tracebackhide__ = True  # IPython shows the message without this frame
    if answer is Ellipsis or answer is None:
        raise NotAnswered(f"Question {question}: not answered yet. Replace the ... in "
                          f"`my_answer = ...` with a number (for example {example}) and run "
                          f"that cell, then this one again.")
    try:
        if isinstance(answer, bool):
            raise TypeError
        value = float(answer)
    except (TypeError, ValueError):
        raise WrongAnswer(f"Question {question}: expected a number (for example {example}), "
                          f"got {answer!r}.") from None
    if math.isnan(value):
        raise WrongAnswer(f"Question {question}: your answer is nan; expected a number.")
    allowed = tol * abs(expected) if rel else tol
    off = value - expected
    if abs(off) <= allowed + 1e-12:
        print(f"Question {question}: correct ({_fmt(value)}; the run gives {_fmt(expected)}).")
        return
    side = "too high" if off > 0 else "too low"
    within = f"within {tol:.0%} of the right value" if rel else f"within \u00b1{_fmt(tol)}"
    msg = f"Question {question}: not quite. Your answer {_fmt(value)} is {side} " \
          f"(it must be {within})."
    if rel is False and 0 < abs(expected) <= 1 and 1 < abs(value) <= 100:
        msg += " Did you give a percentage? Write probabilities as fractions (0.35, not 35)."
    if hint:
        msg += f" Hint: {hint}"
    raise WrongAnswer(msg)


def _norm(text: Any) -> str:
    return " ".join(str(text).strip().lower().replace("_", " ").split())


def check_choice(answer: Any, expected: str | Sequence[str], *, options: Sequence[str],
                 question: str, hint: str = "") -> None:
    """Check an answer chosen from ``options`` (case, spaces and ``_`` do not matter).

    ``expected`` is the right option, or a list of options that are all right (a tie).
    """
    __tracebackhide__ = True
    right = [expected] if isinstance(expected, str) else list(expected)
    listed = ", ".join(repr(o) for o in options)
    if not right or any(r not in options for r in right):
        raise ValueError(f"check_choice: the right value {expected!r} is not among the "
                         f"options ({listed})")
    if answer is Ellipsis or answer is None:
        raise NotAnswered(f"Question {question}: not answered yet. Replace the ... in "
                          f"`my_answer = ...` with one of: {listed}; then run this cell again.")
    by_norm = {_norm(o): o for o in options}
    chosen = by_norm.get(_norm(answer))
    if chosen is None:
        raise WrongAnswer(f"Question {question}: {answer!r} is not one of the options; "
                          f"choose one of: {listed}.")
    if chosen in right:
        print(f"Question {question}: correct ({chosen}).")
        return
    msg = f"Question {question}: not quite; {chosen!r} is not what this run shows."
    if hint:
        msg += f" Hint: {hint}"
    raise WrongAnswer(msg)
