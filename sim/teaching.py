"""The student's side of the teaching notebooks: settings, predictions and answer checks.

This module owns what the notebooks in ``notebooks/`` share with the student:

- :func:`replicates`: the replicate count, from ``SIM_NOTEBOOK_REPLICATES``
  (the tests set it low; a class can set it high);
- :func:`runs_dir`: where a notebook's run folders go, ``SIM_NOTEBOOK_RUNS``
  or a fresh temporary folder, so notebooks never clutter the repository;
- :func:`scenario_path`: a file under ``scenarios/``, found from the
  notebook's folder (or ``SIM_SCENARIOS``);
- predictions: :func:`predict` records what the student expects *before* a
  run, :func:`reveal` compares it with the run afterwards;
- the check cells: :func:`check` asks :mod:`sim.exercise_keys` for the right
  value *from the student's own run* and replies with one of three phrases,
  :data:`RIGHT`, :data:`NOT_YET` or :data:`NEAR`. The reply never contains
  the value, and never a direction: an answer too high and one too low by the
  same amount get the same words, so a student cannot bisect to the value;
- :func:`written`: marks a written question (the model answers are only in
  the instructor's key, written by ``sim teaching answers``).

The judging itself (:func:`judge`) is pure, so the tests can drive it directly.

>>> judge(0.41, NumberKey(0.4, tol=0.02, noise=0.05))
'right'
>>> judge(0.44, NumberKey(0.4, tol=0.02, noise=0.05)) == judge(0.36, NumberKey(0.4, tol=0.02, noise=0.05))
True
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

REPLICATES_ENV = "SIM_NOTEBOOK_REPLICATES"
RUNS_ENV = "SIM_NOTEBOOK_RUNS"
SCENARIOS_ENV = "SIM_SCENARIOS"

RIGHT = "right"
NOT_YET = "not yet"
NEAR = "within noise of the right value: can you tell?"
CANNOT_TELL = "cannot tell apart"
#: the marker before each line ``sim teaching answers`` collects from a notebook
KEY_MARKER = "SIM-TEACHING-KEY "


class NotAnswered(AssertionError):
    """The answer (or prediction) cell still holds the placeholder ``...``."""


class NotYet(AssertionError):
    """The answer is not right yet (the message says "not yet" or "within noise")."""


@attrs.frozen
class NumberKey:
    """A numeric right answer: ``value``; "right" within ``tol`` (reading precision),
    "within noise" within ``noise`` (the run's Monte Carlo half-width)."""

    value: float
    tol: float
    noise: float = 0.0
    example: str = "0.35"


@attrs.frozen
class ChoiceKey:
    """A right option among ``options``; ``near`` are options within Monte Carlo noise of it
    (when ``right`` is :data:`CANNOT_TELL`, the options the run cannot tell apart)."""

    right: str
    options: tuple[str, ...]
    near: tuple[str, ...] = ()

    def __attrs_post_init__(self):
        if self.right not in self.options or any(n not in self.options for n in self.near):
            raise ValueError(f"ChoiceKey: {self.right!r} / {self.near!r} not among the "
                             f"options {self.options!r}")


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
    """``scenarios/<parts>``: looked up in ``SIM_SCENARIOS``, else from the current folder up."""
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


# --------------------------------------------------------------------------- judging

def _norm(text: Any) -> str:
    return " ".join(str(text).strip().lower().replace("_", " ").split())


def judge(answer: Any, key: NumberKey | ChoiceKey) -> str:
    """:data:`RIGHT`, :data:`NEAR` or :data:`NOT_YET` for ``answer`` (not the placeholder).

    A number is right within ``key.tol`` of the value and "within noise" within
    ``max(key.tol, key.noise)``; the reply depends on the distance only, never on its sign.
    An option is right if it is ``key.right`` and "within noise" if it is in ``key.near``.
    """
    if isinstance(key, ChoiceKey):
        chosen = {_norm(o): o for o in key.options}.get(_norm(answer))
        if chosen == key.right:
            return RIGHT
        return NEAR if chosen in key.near else NOT_YET
    try:
        if isinstance(answer, bool):
            return NOT_YET
        value = float(answer)
    except (TypeError, ValueError):
        return NOT_YET
    if not math.isfinite(value):
        return NOT_YET
    off = abs(value - key.value)
    if off <= key.tol + 1e-12:
        return RIGHT
    if off <= max(key.tol, key.noise) + 1e-12:
        return NEAR
    return NOT_YET


_attempts: dict[str, int] = {}


def _placeholder(answer: Any) -> bool:
    return answer is Ellipsis or answer is None


def check(question: str, answer: Any, **context: Any) -> None:
    """The check cell: judge ``answer`` against the key computed from ``context`` (the run).

    Prints "Question Q: right." or raises :class:`NotAnswered` / :class:`NotYet`
    (``AssertionError``, so "Run all" stops there) with a hint that gives neither the
    value nor a direction.
    """
    __tracebackhide__ = True  # IPython shows the message without this frame
    from sim import exercise_keys

    spec = exercise_keys.QUESTIONS[question]
    if _placeholder(answer):
        raise NotAnswered(f"Question {question}: not answered yet. Replace the ... in "
                          f"`my_answer = ...` with {spec.form}, run that cell, then this one.")
    key = spec.key(**context)
    reply = judge(answer, key)
    if reply == RIGHT:
        _attempts.pop(question, None)
        print(f"Question {question}: {RIGHT}.")
        return
    _attempts[question] = _attempts.get(question, 0) + 1
    msg = f"Question {question}: {reply}."
    if isinstance(key, ChoiceKey) and _norm(answer) not in {_norm(o) for o in key.options}:
        msg += f" Choose one of: {', '.join(repr(o) for o in key.options)}."
    elif isinstance(key, NumberKey) and isinstance(answer, int | float) \
            and 0 < abs(key.value) <= 1 and 1 < abs(answer) <= 100:
        msg += " (Probabilities are written as fractions: 0.35, not 35.)"
    if spec.hint:
        msg += f" Hint: {spec.hint}"
    if _attempts[question] >= 4:
        msg += (" Several tries now: guessing will not find it (the reply has no direction). "
                "Work it out from your run, or ask.")
    raise NotYet(msg)


def reference(question: str, answer: Any = None, **context: Any) -> NumberKey | ChoiceKey:
    """The key of ``question`` for this run, printed on one marked line for the answer-key
    command (``sim teaching answers`` runs the notebooks with ``check`` swapped for this)."""
    from sim import exercise_keys

    key = exercise_keys.QUESTIONS[question].key(**context)
    print(KEY_MARKER + json.dumps({"question": question, "key": attrs.asdict(key)}))
    return key


# --------------------------------------------------------------------------- predictions

_predictions: dict[str, tuple[Any, float]] = {}


def predict(question: str, prediction: Any) -> None:
    """Record the student's prediction for ``question`` before the run (placeholder refused)."""
    __tracebackhide__ = True
    if _placeholder(prediction):
        raise NotAnswered(f"Prediction {question}: not answered yet. Write your prediction in "
                          f"`my_prediction = ...` before running anything below, then run "
                          f"that cell and this one.")
    _predictions[question] = (prediction, time.time())
    print(f"Prediction {question} recorded: {prediction!r}. Keep it; you will compare it with "
          f"the run below.")


def reveal(question: str, estimate: Any, *, label: str = "the run") -> str:
    """Compare the recorded prediction with the run's ``estimate`` (an ``Estimate`` or a
    value); returns and prints the comparison. The value is the student's own result."""
    __tracebackhide__ = True
    if question not in _predictions:
        raise NotAnswered(f"Prediction {question}: no prediction recorded (run the prediction "
                          f"cell at the top first).")
    guess, _ = _predictions[question]
    lo, hi = getattr(estimate, "lo", None), getattr(estimate, "hi", None)
    mean = getattr(estimate, "mean", estimate)
    number = None
    if lo is not None and not isinstance(guess, bool):
        try:
            number = float(guess)
        except (TypeError, ValueError):
            number = None
    if number is not None:
        inside = lo <= number <= hi
        text = (f"You predicted {guess!r}; {label} gives {mean:.3g} (95% interval "
                f"{lo:.3g} to {hi:.3g}): your prediction is "
                f"{'inside' if inside else 'outside'} the interval.")
    else:
        same = _norm(guess) == _norm(mean)
        text = (f"You predicted {guess!r}; {label} gives {mean!r}: "
                f"{'the same' if same else 'not the same'}.")
    text += " What did you assume that the model does not (or the other way round)?"
    print(text)
    return text


def written(question: str, **context: Any) -> None:
    """Mark a written question: the answer goes in the student's notes or a cell they add."""
    print(f"Question {question} (written): write your answer in your notes, or in a markdown "
          f"cell you add here (Esc, then b, then m). It is discussed in class; there is no "
          f"automatic check.")


def facts(question: str, **context: Any) -> dict:
    """The numbers behind the model answer to a written question (for the answer key)."""
    from sim import exercise_keys

    fn = exercise_keys.FACTS.get(question)
    values = fn(**context) if fn is not None else {}
    print(KEY_MARKER + json.dumps({"question": question, "facts": values}))
    return values


__all__: Sequence[str] = [
    "CANNOT_TELL", "ChoiceKey", "NEAR", "NOT_YET", "NotAnswered", "NotYet", "NumberKey",
    "RIGHT", "check", "facts", "judge", "predict", "reference", "replicates", "reveal",
    "runs_dir", "scenario_path", "written"]
