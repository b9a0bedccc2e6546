"""docs/s400-model.md cannot drift: its generated blocks equal a fresh run, and every teaching
branch's stated direction holds against its own control.

scripts/s400_docs.py writes every results table of the page (files, baseline, one block per
teaching branch, hindcast) from 1000 replicates per branch with each scenario's fixed seed.
This test regenerates them (about 25 s of one core) and compares the text exactly, so a model
change that moves a number fails here until `make docs-numbers` is run. Everything is in one
test so that the runs are made once, in one worker.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _docs_module():
    spec = importlib.util.spec_from_file_location("s400_docs", ROOT / "scripts" / "s400_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_model_doc_numbers_are_current_and_every_branch_direction_holds():
    d = _docs_module()
    text = d.DOC.read_text(encoding="utf-8")
    new = d.blocks()
    found = d.found(text)
    assert found == set(new), (found ^ set(new))
    # every teaching file is documented and every stated direction holds (95% interval)
    teaching = {p.stem for p in (ROOT / "scenarios" / "s400").glob("*.yaml")
                if p.read_text(encoding="utf-8").startswith("# Teaching branch:")}
    assert teaching == set(d.EXPECTED)
    wrong = []
    for name, outcomes in d.EXPECTED.items():
        for outcome, sign in outcomes:
            _, _, diff = d.effect(name, outcome)
            ok = diff.lo > 0 if sign > 0 else diff.hi < 0 if sign < 0 else diff.lo <= 0 <= diff.hi
            if not ok:
                wrong.append((name, outcome, sign, round(diff.mean, 3), round(diff.lo, 3),
                              round(diff.hi, 3)))
    assert not wrong, wrong
    stale = [name for name in new if f"<!-- generated:{name} -->\n{new[name]}<!-- /generated -->"
             not in text]
    assert not stale, f"docs/s400-model.md blocks out of date: {stale}; run `make docs-numbers`"
