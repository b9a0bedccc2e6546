"""The teaching notebooks and their answer checks (sim.teaching).

Every notebook in notebooks/ runs top to bottom in a real kernel with few
replicates. Each question is checked three ways, in the kernel, in order:

1. with the placeholder ``my_answer = ...`` its check cell must fail with
   ``NotAnswered`` and say how to answer;
2. with a wrong answer (the reference answer moved off, or another option)
   it must fail with ``WrongAnswer``;
3. with the reference answer it must pass.

The reference answers live here, not in the notebooks. Where possible they
are computed by a different route than the check cell uses (the CSV files of
the run folder, the story text, the SQL first times, a hand formula), so a
pass also says that those routes agree.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from sim import teaching
from sim.teaching import NotAnswered, WrongAnswer

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
REQUIRED = ("01_baseline", "02_counterfactuals", "03_sensitivity", "04_change_the_model")

# Reference answers: notebook -> question -> (code setting my_answer, code making it wrong).
# The wrong code runs after the reference code, so it can start from the right value.
_MOVE = "my_answer = my_answer + 0.3 if my_answer < 0.5 else my_answer - 0.3"
_OTHER = "my_answer = [o for o in {options} if o != my_answer][0]"
_CHOICES = "my_answer = [o for o in {options} if o != my_answer][0]"
_DIRECTIONS = _CHOICES.format(options='["higher", "lower", "no clear difference"]')

# Run once in the kernel before the notebook: independent routes to the reference answers.
HELPERS = """
import csv as _csv
from collections import Counter as _Counter

import numpy as _np

from sim import outcomes as _oc

def _csv_values(run, branch, outcome):
    # per-replicate values from the run folder's replicates.csv, in replicate order
    with open(run.folder / "replicates.csv", newline="") as f:
        rows = [r for r in _csv.DictReader(f) if r["branch"] == branch]
    rows.sort(key=lambda r: int(r["replicate"]))
    return _np.array([float(r[outcome]) if r[outcome] != "" else _np.nan for r in rows])


def _csv_diff(run, branch, ref, outcome):
    return float(_np.mean(_csv_values(run, branch, outcome) - _csv_values(run, ref, outcome)))


def _route_counts(run, branch):
    # the rule behind each replicate's first sanctions, read stream by stream
    c = _Counter()
    for i in range(run.scenario.replicates):
        e = next((e for e in run.replicate_events(branch, i)
                  if e.kind == "caatsa_sanctions"), None)
        if e is not None:
            c[e.rule] += 1
    return c


def _top_route(run, branch):
    return _route_counts(run, branch).most_common(1)[0][0]


def _not_top_route(run, branch, options):
    # a wrong answer: a route that is not tied for the most sanctions
    c = _route_counts(run, branch)
    return next(o for o in options if c[o] < max(c.values()))


def _direction(a, b):
    d = _oc.paired_difference(a, b)
    return "higher" if d.lo > 0 else "lower" if d.hi < 0 else "no clear difference"
"""

ANSWERS: dict[str, dict[str, tuple[str, str]]] = {
    "01_baseline": {
        "1.1": ("my_answer = float(_np.mean(_csv_values(run, 'baseline', 'sanctioned')))",
                _MOVE),
        "1.2": ("my_answer = float(np.mean(t_sanctions <= scenario.fork + 365))", _MOVE),
        "1.3": ("import re\n"
                "line = story.why(events, world, 'caatsa_sanctions').splitlines()[1]\n"
                "my_answer = re.search(r': (?:rule|review) (\\w+)', line).group(1)",
                _CHOICES.format(options="routes")),
        "1.4": ("my_answer = _top_route(run, 'baseline')",
                "my_answer = _not_top_route(run, 'baseline', routes)"),
    },
    "02_counterfactuals": {
        "2.1": ("my_answer = _csv_diff(hold, CF, CTL, 'sanctioned_by_2021')", _MOVE),
        # normal-theory standard errors by hand (the check uses t and z quantiles: ~2% apart)
        "2.2": ("d = a - b\n"
                "se_paired = d.std(ddof=1) / np.sqrt(d.size)\n"
                "se_unpaired = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)\n"
                "my_answer = float(se_unpaired / se_paired)",
                "my_answer = my_answer * 2"),
        "2.3": ("my_answer = _direction(_csv_values(hold, CF, 'batch2_signed'), "
                "_csv_values(hold, CTL, 'batch2_signed'))", _DIRECTIONS),
        "2.5": ("my_answer = float(_np.mean(_csv_values(crete, CF2, 'sanctioned')))", _MOVE),
        "2.6": ("my_answer = _top_route(crete, CF2)",
                "my_answer = _not_top_route(crete, CF2, routes)"),
        "2.8": ("my_answer = _csv_diff(patriot, CF3, CTL3, 'still_in_f35')", _MOVE),
        "2.9": ("my_answer = _csv_diff(wg, CF4, CTL4, 'f35_suspended_by_2020')", _MOVE),
    },
    "03_sensitivity": {
        # the widest swing, from the run folder's CSV rather than the outcome table
        "3.1": ("sw_ = {p: abs(_np.mean(_csv_values(tor, hi, OUTCOME))\n"
                "              - _np.mean(_csv_values(tor, lo, OUTCOME)))\n"
                "       for p, (lo, hi, _x, _y) in points.items()}\n"
                "my_answer = max(sw_, key=sw_.get)",
                _CHOICES.format(options="PARAMETERS")),
        "3.3": ("d_ = _direction(_csv_values(sw, points_sw[-1], OUTCOME), "
                "_csv_values(sw, points_sw[0], OUTCOME))\n"
                "my_answer = {'higher': 'rise', 'lower': 'fall'}.get(d_, 'no clear change')",
                _CHOICES.format(options='["rise", "fall", "no clear change"]')),
        # the smallest n whose Wilson half-width at base_p is <= 0.02 (not the normal formula)
        "3.4": ("from sim.outcomes import wilson\n"
                "my_answer = next(n for n in range(10, 100000, 5)\n"
                "                 if (lambda r: (r[2] - r[1]) / 2)(\n"
                "                     wilson(round(base_p * n), n)) <= 0.02)",
                "my_answer = my_answer * 2"),
        # the largest total index, read from the folder's CSV with the csv module
        "3.7": ("import csv as _csv\n"
                "with open(sens / 'sobol.csv') as f_:\n"
                "    r_ = [r for r in _csv.DictReader(f_) if r['outcome'] == 'activated']\n"
                "my_answer = max(r_, key=lambda r: float(r['ST']))['parameter']",
                _CHOICES.format(options='sensitivity.manifest(sens)["parameters"]')),
    },
    "04_change_the_model": {
        "4.1": ("import re\n"
                "my_answer = int(re.search(r'world_broken\\.yaml:(\\d+):', "
                "str(broken_error)).group(1))",
                "my_answer = my_answer + 1"),
        "4.2": ("my_answer = float(_np.mean(_csv_values(new, 'radar_red_line', "
                "'sanctioned_by_2021') - _csv_values(base, 'baseline', 'sanctioned_by_2021')))",
                _MOVE),
        "4.3": ("hits = sum(1 for i in range(N) for e in new.replicate_events('radar_red_line', i)\n"
                "           if e.kind == 'caatsa_sanctions' and e.rule == 'sanction_after_radar_test')\n"
                "my_answer = hits / N",
                _MOVE),
        "4.4": ("my_answer = _direction(_csv_values(new, 'radar_red_line', 'live_test_by_2021'), "
                "_csv_values(base, 'baseline', 'live_test_by_2021'))", _DIRECTIONS),
    },
    "05_article_to_history": {
        "5.1": ("import re\n"
                "my_answer = int(re.search(r'# (\\d+) candidate', "
                "ingest.to_yaml(result)).group(1))",
                "my_answer = my_answer + 1"),
        "5.2": ("import re\n"
                "my_answer = re.search(r'activated -> s400_activated: ([a-z ]+) \\(', "
                "ingest.to_yaml(result)).group(1)",
                _CHOICES.format(options='["negated", "conditional", "modal or future"]')),
        "5.4": ("import re\n"
                "my_answer = sum(1 for line in str(history_error).splitlines()\n"
                "                if re.search(r'history\\.yaml:\\d+:\\d+: ', line))",
                "my_answer = my_answer + 1"),
    },
}


# --------------------------------------------------------------------------- sim.teaching

def test_check_number_accepts_within_tolerance(capsys):
    teaching.check_number(0.42, 0.40, tol=0.02, question="t")
    assert "correct" in capsys.readouterr().out
    teaching.check_number("0.4", 0.40, tol=0.0, question="t")  # text that is a number is fine


@pytest.mark.parametrize("answer,side", [(0.43, "too high"), (0.37, "too low")])
def test_check_number_says_which_side_without_the_value(answer, side):
    with pytest.raises(WrongAnswer) as err:
        teaching.check_number(answer, 0.40, tol=0.02, question="q7", hint="read row X")
    msg = str(err.value)
    assert side in msg and "q7" in msg and "read row X" in msg
    assert "0.4 " not in msg and "0.40" not in msg   # the right value is not revealed


def test_check_number_relative_tolerance():
    teaching.check_number(2200, 2000, tol=0.15, rel=True, question="n")
    with pytest.raises(WrongAnswer, match="within 15%"):
        teaching.check_number(2400, 2000, tol=0.15, rel=True, question="n")


def test_check_number_placeholder_and_bad_types():
    with pytest.raises(NotAnswered, match=r"Replace the \.\.\."):
        teaching.check_number(..., 0.5, tol=0.1, question="p")
    for bad in (True, "many", [0.5], float("nan")):
        with pytest.raises(WrongAnswer):
            teaching.check_number(bad, 0.5, tol=0.1, question="p")


def test_check_number_spots_a_percentage():
    with pytest.raises(WrongAnswer, match="percentage"):
        teaching.check_number(40, 0.40, tol=0.01, question="p")


def test_check_choice():
    opts = ["up", "down", "no clear change"]
    teaching.check_choice(" No_Clear  change ", "no clear change", options=opts, question="c")
    with pytest.raises(NotAnswered, match="'up', 'down'"):
        teaching.check_choice(..., "up", options=opts, question="c")
    with pytest.raises(WrongAnswer, match="not one of the options"):
        teaching.check_choice("sideways", "up", options=opts, question="c")
    with pytest.raises(WrongAnswer, match="not quite"):
        teaching.check_choice("down", "up", options=opts, question="c", hint="h")
    with pytest.raises(ValueError):   # a check cell whose key is not an option is a bug
        teaching.check_choice("up", "left", options=opts, question="c")
    teaching.check_choice("down", ["up", "down"], options=opts, question="tie")  # a tie
    with pytest.raises(WrongAnswer):
        teaching.check_choice("no clear change", ["up", "down"], options=opts, question="tie")


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
    monkeypatch.chdir(NOTEBOOKS)   # found from the notebook folder, one level down
    assert teaching.scenario_path("s400", "world.yaml") == ROOT / "scenarios/s400/world.yaml"
    with pytest.raises(FileNotFoundError, match="SIM_SCENARIOS"):
        teaching.scenario_path("s400", "no_such.yaml")


# --------------------------------------------------------------------------- notebook files

def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _question(cell) -> str | None:
    return (cell.metadata.get("sim") or {}).get("question")


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def test_required_notebooks_exist():
    names = {p.stem for p in _notebooks()}
    assert set(REQUIRED) <= names


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_is_clean_and_well_formed(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Learning objectives" in text
    assert re.search(r"\(\w[\w\s.-]+, \"[^\"]+\",\s+\d{4}-\d\d-\d\d[);]", text), \
        "cite at least one source as (outlet, \"title\", date)"
    questions = []
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, \
                f"cell {i} has outputs: notebooks are stored stripped (see notebooks/README.md)"
        if "answer" in _tags(c):
            assert c.source.strip() == "my_answer = ...", f"cell {i}: the placeholder only"
            nxt = nb.cells[i + 1]
            assert "check" in _tags(nxt) and _question(nxt) == _question(c), \
                f"cell {i}: an answer cell is followed by its check cell"
            assert nxt.metadata["jupyter"]["source_hidden"] is True
            questions.append(_question(c))
    assert questions, "a notebook has at least one checked question"
    assert len(set(questions)) == len(questions)
    assert sorted(questions) == sorted(ANSWERS.get(path.stem, {})), \
        "every checked question has a reference answer in this file, and no more"


# --------------------------------------------------------------------------- execution

def _client(nb, tmp_path: Path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    # A kernelspec for *this* interpreter, so a stray user-level "python3" kernel that
    # lacks sim can never be picked up (works on a fresh clone after pip install -e .[dev]).
    spec = tmp_path / "kernels" / "simtest"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "sim tests", "language": "python"}))
    km = KernelManager(kernel_name="simtest",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))
    return NotebookClient(nb, km=km, timeout=180, allow_errors=False,
                          resources={"metadata": {"path": str(NOTEBOOKS)}})


def _run(client, source: str, index: int):
    """Execute ``source`` in the kernel; (ename, evalue, text output) -- ename None if it passed."""
    from nbclient.exceptions import CellExecutionError

    cell = nbformat.v4.new_code_cell(source)
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as exc:
        return exc.ename, exc.evalue, ""
    out = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return None, "", out


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in _notebooks()], ids=lambda p: p.stem)
def test_notebook_runs_and_checks_are_real(path: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv(teaching.REPLICATES_ENV, "60")
    monkeypatch.setenv(teaching.RUNS_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.delenv(teaching.SCENARIOS_ENV, raising=False)
    nb = nbformat.read(path, as_version=4)
    answers = ANSWERS[path.stem]
    client = _client(nb, tmp_path)
    checked = []
    with client.setup_kernel(env=dict(os.environ)):
        ename, evalue, _ = _run(client, HELPERS, 0)
        assert ename is None, f"test helpers: {ename}: {evalue}"
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            q = _question(cell)
            if "check" not in _tags(cell):
                ename, evalue, _ = _run(client, cell.source, i)
                assert ename is None, f"{path.name} cell {i} failed: {ename}: {evalue}"
                continue
            solution, wrong = answers[q]
            ename, evalue, _ = _run(client, cell.source, i)          # placeholder
            assert ename == "NotAnswered", (q, ename, evalue)
            assert f"Question {q}" in evalue and "my_answer = ..." in evalue
            for code in (solution, wrong):
                e2, v2, _ = _run(client, code, i)
                assert e2 is None, f"{q}: the test's answer code failed: {e2}: {v2}"
            ename, evalue, _ = _run(client, cell.source, i)          # wrong answer
            assert ename == "WrongAnswer", (q, ename, evalue)
            assert f"Question {q}" in evalue
            e2, v2, _ = _run(client, solution, i)
            assert e2 is None, (q, e2, v2)
            ename, evalue, out = _run(client, cell.source, i)        # reference answer
            assert ename is None, f"{path.name} question {q}: {ename}: {evalue}"
            assert f"Question {q}: correct" in out
            checked.append(q)
    assert sorted(checked) == sorted(answers)
