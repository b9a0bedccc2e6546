"""The instructor's answer key: run the teaching notebooks and write what the checks expect.

``sim teaching answers --out DIR`` executes every notebook in ``notebooks/`` top to bottom in
a Jupyter kernel (the same code the students run, at the same replicate count and seeds), with
three substitutions: a prediction cell gets a dummy prediction, each check cell calls
:func:`sim.teaching.reference` instead of :func:`~sim.teaching.check` (which prints the key it
would judge against), and each written-question cell calls :func:`sim.teaching.facts` (the
numbers its model answer quotes). It writes ``DIR/answers.md`` (values, tolerances, the
Monte Carlo noise, and the model answers to the written questions, filled with this run's
numbers) and ``DIR/answers.json``. Nothing here holds a value: the key always matches the
model it was generated from.

:func:`execute_notebook` is also what the tests use to drive a notebook cell by cell.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.teaching import KEY_MARKER, REPLICATES_ENV, RUNS_ENV

STAMP = "answers.json"   # a folder holding this file was written by this command


@contextmanager
def kernel(notebook: Any, workdir: Path, env: dict[str, str]) -> Iterator[Any]:
    """An nbclient client for ``notebook`` whose kernel is *this* interpreter, cwd ``workdir``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="sim-kernel-") as tmp:
        spec = Path(tmp) / "simkernel"
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "sim", "language": "python"}))
        km = KernelManager(kernel_name="simkernel",
                           kernel_spec_manager=KernelSpecManager(kernel_dirs=[tmp]))
        client = NotebookClient(notebook, km=km, timeout=600, allow_errors=False,
                                resources={"metadata": {"path": str(workdir)}})
        with client.setup_kernel(env=env):
            yield client


def run_cell(client: Any, source: str, index: int) -> tuple[str | None, str, str]:
    """Execute ``source``; (error name or None, error value, stream text)."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    cell = nbformat.v4.new_code_cell(source)
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as exc:
        return exc.ename, exc.evalue, ""
    out = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return None, "", out


def question(cell: Any) -> str | None:
    return (cell.metadata.get("sim") or {}).get("question")


def tags(cell: Any) -> list[str]:
    return list(cell.metadata.get("tags", []))


def key_source(cell: Any) -> str:
    """The source the answer key runs instead of ``cell``'s."""
    if "prediction" in tags(cell):
        return "my_prediction = '(answer-key run: no prediction)'"
    if "check" in tags(cell):
        return cell.source.replace("teaching.check(", "teaching.reference(")
    if "written" in tags(cell):
        return cell.source.replace("teaching.written(", "teaching.facts(")
    return cell.source


def collect(text: str) -> list[dict]:
    return [json.loads(line[len(KEY_MARKER):]) for line in text.splitlines()
            if line.startswith(KEY_MARKER)]


def execute_notebook(path: Path, replicates: int, runs: Path,
                     on_cell: Callable[[Any, Any, int], None] | None = None) -> dict[str, dict]:
    """Run ``path`` as the answer key does; {question: {"key": ...} or {"facts": ...}}.

    ``on_cell(client, cell, index)``, if given, runs *instead of* the key substitution for
    check cells (the tests drive the check cells themselves through it).
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env.update({REPLICATES_ENV: str(replicates), RUNS_ENV: str(runs),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    env.pop("SIM_SCENARIOS", None)
    found: dict[str, dict] = {}
    with kernel(nb, path.parent, env) as client:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if on_cell is not None and "check" in tags(cell):
                on_cell(client, cell, i)
            ename, evalue, out = run_cell(client, key_source(cell), i)
            if ename == "FileNotFoundError":   # e.g. a scenario folder not in this checkout
                raise InputError(f"{path}: cell {i}: {evalue}")
            if ename is not None:
                raise RuntimeError(f"{path.name} cell {i} ({question(cell) or 'code'}): "
                                   f"{ename}: {evalue}")
            for item in collect(out):
                found.setdefault(item["question"], {}).update(
                    {k: v for k, v in item.items() if k != "question"})
    return found


# --------------------------------------------------------------------------- model answers

def _e(x: dict | None) -> str:
    if not x:
        return "(not computed)"
    return f"{x['mean']:.3f} (95% interval {x['lo']:.3f} to {x['hi']:.3f}, n={x['n']})"


def _delay_or_stop(f: dict) -> str:
    d, d21 = f.get("complete_difference"), f.get("complete_by_2021_difference")
    if not d or not d21:
        return ""
    if d["hi"] < 0:
        return ("The pipe is finished less often even by the horizon: in this model earlier "
                "sanctions stop it within the period in some worlds, and delay it in others.")
    if d21["hi"] < 0:
        return ("By the horizon the run cannot tell the branches apart, while by the end of "
                "2021 the difference is clearly negative: the sanctions delay the pipe, they "
                "do not stop it.")
    return "Neither difference is distinguishable from zero at this N: the model cannot tell."


def _swings(f: dict) -> str:
    return "; ".join(f"`{p}` {_e(s)}" for p, s in f.get("swings", {}).items())


MODEL_ANSWERS: dict[str, Callable[[dict], str]] = {
    "1.5": lambda f: (
        "Name the route from 1.4 and its numbers in `world.yaml`: for the congressional route "
        "`congress_ndaa.probability` (with its live-test modifier) and `preempt_ndaa`/"
        "`ndaa_sanctions`; for the executive's route `us_caatsa.probability`. A good answer "
        "reads each number's comment (lag, stated, hindcast, assumption) and says which are "
        "judgement."),
    "1.6": lambda f: (
        "Share of replicates sanctioned by the real date (2020-12-14) in this run: "
        f"{_e(f.get('share_by_real_date'))}. Near one half is 'typical'; good answers add "
        "that this is partly by construction (the model is calibrated on a hindcast that "
        "contains this date)."),
    "1.7": lambda f: (
        "Parameter uncertainty (the *assumption* numbers), structural uncertainty (missing "
        "actors and rules), errors in the history, and the choice of fork date: the interval "
        "covers only Monte Carlo noise."),
    "1.8": lambda f: (
        "Whichever route 1.4's counts favour; if the key for 1.4 is 'cannot tell apart' the "
        "honest answer is that this run cannot rank them. The model cannot tell whether "
        "Turkey found the threat credible: its only reaction to a warning is the "
        "`defy_threat` rule (defiance with a fixed probability); no Turkish review weighs "
        "how likely the threat is to be carried out, so credibility is outside the model."),
    "2.2b": lambda f: (
        "Pairing gains most where the change touches the outcome late or weakly; once the "
        "branches diverge each draws its random numbers in the order of its own events, so "
        "the correlation fades. The paired interval is valid either way, only not much "
        "narrower. Compare with the key of 2.2."),
    "2.4": lambda f: (
        f"Median days from the fork to sanctions, control {f.get('median_days_control')}, "
        f"counterfactual {f.get('median_days_counterfactual')} (among replicates with "
        f"sanctions: shares {f.get('share_control')} and {f.get('share_counterfactual')}). "
        "The effect is carried by `senate_enacts` then `bill_sanctions`. 'Cannot tell apart' "
        "in 2.3 is absence of evidence at this N, not evidence of no effect."),
    "2.7": lambda f: (
        "Compare 2.5 with the control's P(sanctioned): the red line matters to the extent of "
        "that gap, but the congressional routes stay open without any test, which matches "
        "CAATSA being triggered by the purchase itself."),
    "2.10": lambda f: (
        "Sentences of the form 'in this model ... (95% interval ...) because rule R'; the "
        "least trusted claim rests on *assumption* numbers (the Patriot-acceptance rules, "
        "the working-group review)."),
    "2.11": lambda f: (
        "Congress (the House vote, the Senate hold, the defence-bill mandate) is the domestic "
        "level; `senate_enacts`/`ndaa_becomes_law` stand for ratification. Turkey's audience "
        "costs are not represented as such (at most as fixed probabilities in Turkey's "
        "reviews and `defy_*` rules), so none of these runs can tell a world with audience "
        "costs from one without them: the right answer is 'the model cannot tell'."),
    "3.2": lambda f: (
        "Read the parameter's comment in `world.yaml`: hindcast-calibrated numbers rest on a "
        "single historical episode, assumptions on judgement; either way a thin base for the "
        "baseline's P(sanctions)."),
    "3.5": lambda f: (
        f"Baseline P(sanctions) {_e(f.get('baseline'))}. Swings (high minus low, paired): "
        f"{_swings(f)}. Only swings whose interval clears zero by more than the baseline's "
        "half-width stand out; rankings among swings whose intervals overlap are noise and "
        "should not be reported (see 3.1's key)."),
    "3.6": lambda f: (
        "For example `turkey_live_test` with `congress_ndaa` (the mandate's hazard rises "
        "after a live test), or `us_wg_acceptance` with `sanction_after_live_test`; a "
        "two-path `grid` sweep shown as a heat map."),
    "3.8": lambda f: (
        "Compare the Sobol ranking (total indices with their bootstrap intervals) with the "
        "one-way tornado: overlapping intervals mean the ranking is not established. The "
        "spread over parameter ranges is usually wider than the Monte Carlo interval of one "
        "run, which covers only simulation noise, not parameter uncertainty."),
    "3.9": lambda f: (
        "Only what follows if the working group is accepted with the set probability: the "
        "model cannot tell whether the mechanism would have been believed. That needs "
        "evidence outside the model (negotiating records, comparable cases)."),
    "4.5": lambda f: (
        "Live-fire test by 2021, new minus original: "
        f"{_e(f.get('live_test_difference'))}. The `turkey_live_test` review's modifier on "
        "`sanctioned` makes a test more likely after sanctions (defiance); whether that is "
        "plausible is the discussion."),
    "4.7": lambda f: (
        "No: the rule fires with a fixed probability and Turkey's reviews do not read the "
        "threat, so a threat not believed and one accepted as a price give the same runs. "
        "On 4.6: `turkey_activation` reads `sanctioned` (a multiplier above 1: defiance) and "
        "tension, never a threat, so in this model a red line can provoke (a 'higher' key) "
        "but cannot deter; whatever 4.6's key, it says nothing about deterrence in the "
        "world. Telling "
        "these apart needs a Turkish decision that weighs the expected sanctions."),
    "5.3": lambda f: (
        "The deadline candidate is dated by the deadline (July 31, resolved to the past year) "
        "rather than the day it was set; the F-35 suspension and the April working-group "
        "proposal may be missed (see the unknown words)."),
    "5.5": lambda f: (
        "Classify each reported problem: entries out of date order are the pasting's fault, "
        "a once event already in the history is a real conflict."),
    "5.6": lambda f: (
        "No: the candidate carries one date, and the text gives the deadline's date, not the "
        "day it was set; the coder cannot tell these apart. A person reading the article can."),
    "6.4": lambda f: (
        f"P(complete by the horizon): control {_e(f.get('complete_control'))}, earlier "
        f"sanctions {_e(f.get('complete_counterfactual'))}; difference by the horizon "
        f"{_e(f.get('complete_difference'))}, by the end of 2021 "
        f"{_e(f.get('complete_by_2021_difference'))}. {_delay_or_stop(f)} Escalation "
        f"difference {_e(f.get('escalation_difference'))}: any effect runs only through the "
        "*assumed* modifier of `russia_escalates` on `complete` (x3), so even a clear "
        "difference would restate that assumption, not test it. Drezner: sanctions on an "
        "adversary's project raise its cost and delay; they rarely extract the concession."),
    "6.6": lambda f: (
        "Differences without the waiver (no waiver minus control): joint statement "
        f"{_e(f.get('joint_statement'))}; friction at the horizon "
        f"{_e(f.get('friction_end'))}; Germany halts certification "
        f"{_e(f.get('halted'))}. Read them as Putnam would: the waiver bought cooperation "
        "abroad (the joint statement and its pledge, `halt_with_pledge`) at a domestic "
        "price (Congress). Germany's domestic level appears only as fixed probabilities of "
        "the regulator's and government's decisions. Where an interval includes zero the "
        "model cannot tell."),
    "6.7": lambda f: (
        "Carried over: the engine, the run folders, the outcome tables, paired comparisons "
        "with common random numbers, stories and `why`, the checks. Built anew: the world "
        "(actors, events, rules, reviews and their numbers), the history with its sources, "
        "the coding dictionaries. Comparing numbers *between* the cases is not meaningful: "
        "the worlds are different models with different assumptions and horizons, so the "
        "model cannot tell whether sanctions 'worked better' on one target."),
}


def _key_text(key: dict) -> str:
    if "value" in key:
        text = f"{key['value']:.4g} (right within \u00b1{key['tol']:.3g}"
        if key.get("noise", 0) > key["tol"]:
            text += f"; 'within noise' up to \u00b1{key['noise']:.3g}"
        return text + ")"
    text = f"`{key['right']}`"
    if key.get("near"):
        text += " ('within noise' for " + ", ".join(f"`{n}`" for n in key["near"]) + ")"
    return text


def render(results: dict[str, dict[str, dict]], replicates: int) -> str:
    """answers.md: per notebook, each question's key and each written question's model answer."""
    lines = [
        "# Answer key for the teaching notebooks (instructors only)",
        "",
        f"Generated by `sim teaching answers` on {dt.date.today().isoformat()} with "
        f"{replicates} replicates per branch and the scenario seeds as committed. A student "
        "running the same notebook at the same N gets exactly these runs; at another N the "
        "keys are recomputed from the student's own run by the check cells. Do not give this "
        "file to students.",
        "",
    ]
    for name, found in results.items():
        lines += [f"## {name}", "", "| question | key |", "|---|---|"]
        for q, item in found.items():
            if "key" in item:
                lines.append(f"| {q} | {_key_text(item['key'])} |")
        lines += ["", "Written questions:", ""]
        prefix = name.split("_")[0].lstrip("0") + "."
        written = sorted({q for q in MODEL_ANSWERS if q.startswith(prefix)},
                         key=lambda q: [int(x) if x.isdigit() else x
                                        for x in q.replace("b", ".b").split(".")])
        for q in written:
            facts = found.get(q, {}).get("facts", {})
            lines.append(f"- **{q}** {MODEL_ANSWERS[q](facts)}")
        lines.append("")
    return "\n".join(lines)


def notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def write_answers(out: Path, replicates: int, folder: Path,
                  only: list[str] | None = None) -> Path:
    """Run the notebooks in ``folder`` and write ``out/answers.md`` and ``out/answers.json``."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / STAMP).exists())):
        raise InputError(f"--out {out}: exists and holds files sim did not write; choose a "
                         f"new folder (sim never overwrites what it did not create)")
    paths = notebooks(folder)
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
    if not paths:
        raise InputError(f"{folder}: no teaching notebooks found (expected NN_name.ipynb; "
                         f"run from the repository or pass --notebooks)")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sim-answers-") as tmp:
        for p in paths:
            print(f"running {p.name} ...", file=sys.stderr)
            results[p.stem] = execute_notebook(p, replicates, Path(tmp) / p.stem)
    staging = Path(tempfile.mkdtemp(prefix=".answers-", dir=out.parent if out.parent.exists()
                                    else None))
    (staging / "answers.md").write_text(render(results, replicates))
    (staging / STAMP).write_text(json.dumps({"replicates": replicates, "notebooks": results},
                                            indent=1))
    out.mkdir(parents=True, exist_ok=True)
    for name in ("answers.md", STAMP):
        shutil.move(str(staging / name), str(out / name))
    staging.rmdir()
    return out / "answers.md"
