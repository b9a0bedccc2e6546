"""The teaching checks (sim.teaching), their keys (sim.exercise_keys) and the answer key.

The replies must carry neither the value nor a direction: the property tests show an answer
too high and one too low by the same amount always get the same reply, so bisection has
nothing to go on. The keys are checked against hand-built runs whose right answer is known
(a clear leader, a tie within noise). Student material is checked for reference values and
model answers in ``test_notebooks.py`` (it needs the executed keys).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import answers, exercise_keys, teaching
from sim.cli import main
from sim.teaching import (
    CANNOT_TELL,
    NEAR,
    NOT_YET,
    RIGHT,
    ChoiceKey,
    NotAnswered,
    NotYet,
    NumberKey,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


# --------------------------------------------------------------------------- judging

def test_judge_number_three_replies():
    key = NumberKey(0.40, tol=0.01, noise=0.05)
    assert teaching.judge(0.405, key) == RIGHT
    assert teaching.judge("0.4", key) == RIGHT          # text that is a number is fine
    assert teaching.judge(0.43, key) == NEAR
    assert teaching.judge(0.37, key) == NEAR
    assert teaching.judge(0.50, key) == NOT_YET
    for bad in (True, "many", [0.4], float("nan"), float("inf")):
        assert teaching.judge(bad, key) == NOT_YET


@given(value=st.floats(-1e3, 1e3), tol=st.floats(0, 10), noise=st.floats(0, 10),
       off=st.floats(0, 100))
def test_reply_has_no_direction(value, tol, noise, off):
    """Too high and too low by the same amount always get the same reply: no bisection."""
    key = NumberKey(value, tol=tol, noise=noise)
    assert teaching.judge(value + off, key) == teaching.judge(value - off, key)


def test_bisection_gets_no_signal():
    """A bisecting student (go up on one reply, down on another) sees the same sequence of
    replies whether the value is 0.2 or its mirror 0.8 around their common probe 0.5, so no
    strategy can tell which half to keep."""
    for v1, v2 in ((0.2, 0.8), (0.45, 0.55)):
        k1, k2 = NumberKey(v1, tol=0.01, noise=0.03), NumberKey(v2, tol=0.01, noise=0.03)
        for probe in np.linspace(0, 1, 101):
            mirror = 1.0 - probe      # the probe seen from the other value's side
            assert teaching.judge(probe, k1) == teaching.judge(mirror, k2)
        assert teaching.judge(0.5, k1) == teaching.judge(0.5, k2) == NOT_YET


def test_check_messages_reveal_neither_value_nor_side(monkeypatch, capsys):
    q = exercise_keys.Question("a fraction", "read the row", lambda v: NumberKey(v, 0.01, 0.05))
    monkeypatch.setitem(exercise_keys.QUESTIONS, "t.1", q)
    monkeypatch.setattr(teaching, "_attempts", {})
    msgs = []
    for answer in (0.6137, 0.2137, 0.4437, 0.3637):   # 0.41 +/- 0.2 and +/- 0.0337
        teaching._attempts.clear()
        with pytest.raises(NotYet) as err:
            teaching.check("t.1", answer, v=0.4137)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1] == "Question t.1: not yet. Hint: read the row"
    assert msgs[2] == msgs[3] == f"Question t.1: {NEAR}. Hint: read the row"
    for m in msgs:
        assert "0.41" not in m and "high" not in m and "low" not in m
    teaching.check("t.1", 0.41, v=0.4137)
    assert capsys.readouterr().out == "Question t.1: right.\n"
    with pytest.raises(NotAnswered, match="not answered yet"):
        teaching.check("t.1", ..., v=0.4137)


def test_many_tries_are_told_to_stop_guessing(monkeypatch):
    q = exercise_keys.Question("a fraction", "", lambda: NumberKey(0.5, 0.01, 0.0))
    monkeypatch.setitem(exercise_keys.QUESTIONS, "t.2", q)
    monkeypatch.setattr(teaching, "_attempts", {})
    for i in range(4):
        with pytest.raises(NotYet) as err:
            teaching.check("t.2", 0.1 * i)
    assert "guessing will not find it" in str(err.value)


def test_percentages_are_spotted_without_giving_a_side(monkeypatch):
    q = exercise_keys.Question("a fraction", "", lambda: NumberKey(0.4, 0.01, 0.0))
    monkeypatch.setitem(exercise_keys.QUESTIONS, "t.3", q)
    with pytest.raises(NotYet, match="fractions"):
        teaching.check("t.3", 40)


def test_choice_keys():
    opts = ("a", "b", CANNOT_TELL)
    key = ChoiceKey(CANNOT_TELL, opts, near=("a",))
    assert teaching.judge(" Cannot_Tell  apart ", key) == RIGHT
    assert teaching.judge("a", key) == NEAR
    assert teaching.judge("b", key) == NOT_YET
    assert teaching.judge("sideways", key) == NOT_YET
    with pytest.raises(ValueError):
        ChoiceKey("left", opts)


def test_predictions_recorded_then_revealed(monkeypatch, capsys):
    monkeypatch.setattr(teaching, "_predictions", {})
    with pytest.raises(NotAnswered, match="not answered yet"):
        teaching.predict("9.0", ...)
    with pytest.raises(NotAnswered, match="no prediction recorded"):
        teaching.reveal("9.0", 0.5)
    teaching.predict("9.0", 0.3)
    from sim.outcomes import Estimate

    text = teaching.reveal("9.0", Estimate(0.5, 0.4, 0.6, 100, "probability"))
    assert "outside the interval" in text
    teaching.predict("9.0", 0.45)
    assert "inside the interval" in teaching.reveal("9.0", Estimate(0.5, 0.4, 0.6, 100))
    teaching.predict("9.1", "reviews.x")
    assert "the same" in teaching.reveal("9.1", "reviews.x")


def test_replicates_from_environment(monkeypatch):
    monkeypatch.delenv(teaching.REPLICATES_ENV, raising=False)
    assert teaching.replicates(default=250) == 250
    monkeypatch.setenv(teaching.REPLICATES_ENV, "60")
    assert teaching.replicates(default=250) == 60
    for bad in ("0", "lots", "-5"):
        monkeypatch.setenv(teaching.REPLICATES_ENV, bad)
        with pytest.raises(ValueError, match="SIM_NOTEBOOK_REPLICATES"):
            teaching.replicates()


def test_runs_dir_and_scenario_path(monkeypatch, tmp_path):
    monkeypatch.setenv(teaching.RUNS_ENV, str(tmp_path))
    assert teaching.runs_dir("nb") == tmp_path / "nb" and (tmp_path / "nb").is_dir()
    monkeypatch.delenv(teaching.RUNS_ENV)
    fresh = teaching.runs_dir("nb")
    assert fresh.is_dir() and fresh != tmp_path / "nb"
    fresh.rmdir()
    monkeypatch.delenv(teaching.SCENARIOS_ENV, raising=False)
    monkeypatch.chdir(NOTEBOOKS)
    assert teaching.scenario_path("s400", "world.yaml") == ROOT / "scenarios/s400/world.yaml"
    with pytest.raises(FileNotFoundError, match="SIM_SCENARIOS"):
        teaching.scenario_path("s400", "no_such.yaml")


# --------------------------------------------------------------------------- keys

def _routes(counts: dict[str, int], n: int) -> list[str | None]:
    out: list[str | None] = [r for r, k in counts.items() for _ in range(k)]
    return out + [None] * (n - len(out))


def test_commonest_route_clear_leader_and_tie():
    opts = ["a", "b", "c"]
    clear = exercise_keys.commonest(_routes({"a": 60, "b": 10, "c": 5}, 100), opts)
    assert clear == ChoiceKey("a", ("a", "b", "c", CANNOT_TELL))
    # 30 vs 28 of 100: the paired interval of the indicator difference is about +/-0.13
    tie = exercise_keys.commonest(_routes({"a": 30, "b": 28, "c": 2}, 100), opts)
    assert tie.right == CANNOT_TELL and set(tie.near) == {"a", "b"}
    assert exercise_keys.commonest([None] * 10, opts).right == CANNOT_TELL


def test_direction_by_hand():
    up = exercise_keys.direction(np.ones(50), np.r_[np.ones(10), np.zeros(40)])
    assert up.right == "higher"
    # one replicate of 50 differs: the interval (t, 49 df) is 0.02 +/- 0.04 -> includes zero
    tie = exercise_keys.direction(np.r_[1.0, np.zeros(49)], np.zeros(50))
    assert tie.right == CANNOT_TELL and tie.near == ("higher",)


class _Tornado:
    """A run-shaped object with given per-replicate outcome values (closed-form keys)."""

    def __init__(self, values: dict[str, np.ndarray]):
        self.values = values

    def outcome_values(self, branch: str) -> dict[str, np.ndarray]:
        return {"y": self.values[branch]}


def test_q3_1_does_not_reward_a_tie_within_noise():
    rng = np.random.default_rng(1)
    lo = (rng.random(300) < 0.5).astype(float)
    wide = np.maximum(lo, (rng.random(300) < 0.5))           # swing about +0.25
    also = np.maximum(lo, (rng.random(300) < 0.52))          # about the same swing
    small = np.maximum(lo, (rng.random(300) < 0.04))         # about +0.02
    points = {"p.a": ("a_lo", "a_hi"), "p.b": ("b_lo", "b_hi"), "p.c": ("c_lo", "c_hi")}
    run = _Tornado({"a_lo": lo, "a_hi": wide, "b_lo": lo, "b_hi": also, "c_lo": lo,
                    "c_hi": small})
    key = exercise_keys.QUESTIONS["3.1"].key(tor=run, points=points, OUTCOME="y")
    assert key.right == CANNOT_TELL and set(key.near) == {"p.a", "p.b"}
    points2 = {"p.a": ("a_lo", "a_hi"), "p.c": ("c_lo", "c_hi")}
    assert exercise_keys.QUESTIONS["3.1"].key(tor=run, points=points2, OUTCOME="y").right \
        == "p.a"


def test_q3_4_closed_form():
    key = exercise_keys.QUESTIONS["3.4"].key(base_p=0.5)
    assert key.value == pytest.approx(2401.0)        # 1.96^2 * 0.25 / 0.0004
    assert teaching.judge(2700, key) == RIGHT and teaching.judge(2900, key) == NOT_YET


# --------------------------------------------------------------------------- answer key

def test_answers_command_writes_and_refuses_foreign_folders(tmp_path, capsys):
    out = tmp_path / "key"
    assert main(["teaching", "answers", "--out", str(out), "-n", "5", "--only", "05",
                 "--notebooks", str(NOTEBOOKS)]) == 0
    text = (out / "answers.md").read_text()
    assert "| 5.1 |" in text and "| 5.2 | `conditional` |" in text
    assert "**5.6**" in text                               # a model answer
    assert main(["teaching", "answers", "--out", str(out), "-n", "5", "--only", "05",
                 "--notebooks", str(NOTEBOOKS)]) == 0     # its own folder: rewritten
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(["teaching", "answers", "--out", str(foreign), "-n", "5", "--only", "05",
                 "--notebooks", str(NOTEBOOKS)]) == 2
    err = capsys.readouterr().err
    assert "did not write" in err and "Traceback" not in err
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_model_answers_cover_every_written_question():
    import nbformat

    asked = set()
    for p in answers.notebooks(NOTEBOOKS):
        nb = nbformat.read(p, as_version=4)
        for c in nb.cells:
            if c.cell_type == "markdown":
                asked |= set(re.findall(r"\*\*Question (\d+\.\d+b?) \(written\)", c.source))
    assert asked and asked <= set(answers.MODEL_ANSWERS), asked - set(answers.MODEL_ANSWERS)


def test_make_lab_installs_jupyterlab_and_opens_the_notebooks():
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert re.search(r"pip install .*\[.*teach.*\]", out.stdout)
    assert re.search(r"jupyter.* lab .*notebooks", out.stdout)


# --------------------------------------------------------------------------- the guide

GUIDE = ROOT / "docs" / "teaching.md"


def test_guide_has_a_90_minute_plan_per_exercise():
    text = GUIDE.read_text()
    sections = re.split(r"\n## Exercise ", text)[1:]
    assert len(sections) >= 6
    for sec in sections:
        title = sec.splitlines()[0]
        minutes = [int(m) for m in re.findall(r"^\| (\d+) \|", sec, flags=re.M)]
        assert sum(minutes) == 90, (title, minutes)
        assert "Common misreadings" in sec and "project" in sec, title
        assert "Discussion prompts" in sec or "misreadings" in sec, title
    for nb in answers.notebooks(NOTEBOOKS):
        assert f"`{nb.stem}`" in text, f"the guide does not present {nb.stem}"


def test_guide_quotes_no_model_numbers():
    """Values come from the generated key only: no probabilities, shares or percentages."""
    # the confidence level and question 3.4's target half-width are not model outputs
    text = GUIDE.read_text().replace("95%", "").replace("half-width of 0.02", "")
    assert not re.findall(r"(?<![\d.])0\.\d+", text)
    assert not re.findall(r"\d+(?:\.\d+)?\s?%", text)
