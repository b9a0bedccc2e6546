"""Precision and recall of `sim ingest` on the development and the held-out sentence tables.

Used by tests/test_ingest.py, and run as a script to write the scores into docs/ingest.md
(between the ``<!-- scores -->`` markers; the test checks the doc matches):

    .venv/bin/python tests/ingest_eval.py            # print
    .venv/bin/python tests/ingest_eval.py --write    # update docs/ingest.md

A candidate is correct when its event kind, actor, date and granularity all match an expected
entry of its sentence (and its target, where the table gives one). Precision = correct /
produced, recall = correct / expected.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim import docblock, yamlfile  # noqa: E402
from sim.errors import InputError  # noqa: E402
from sim.ingest import S400_ACTORS, S400_EVENTS, ingest, load_coding  # noqa: E402

DATA = ROOT / "tests" / "data"
DEV = DATA / "ingest_cases.yaml"
HELDOUT = DATA / "ingest_heldout.yaml"
DOC = ROOT / "docs" / "ingest.md"

# The held-out table's score with the coder as it was when the table was written (commit
# d23060e, before any change for issue #19), measured with this same scoring. The `disputes`
# sentences were read with the S-400 coding, the only one that coder had.
HELDOUT_FIRST_RUN = {"s400": (7, 6, 24), "disputes": (4, 1, 20), "all": (11, 7, 44)}


@functools.cache
def codings() -> dict[str, tuple]:
    vocab = yaml.safe_load((DATA / "ingest_disputes" / "vocabulary.yaml").read_text())
    disputes = load_coding(DATA / "ingest_disputes" / "coding.yaml", events=vocab["events"],
                           actors=vocab["actors"])
    s400 = load_coding(ROOT / "scenarios" / "s400" / "coding.yaml")
    return {"s400": (s400, set(S400_EVENTS), set(S400_ACTORS)),
            "disputes": (disputes, set(vocab["events"]), set(vocab["actors"]))}


def load_cases(path: Path) -> list[dict]:
    return yamlfile.load(path).data


def run_case(case: dict):
    coding, events, actors = codings()[case.get("coding", "s400")]
    return ingest(case["text"], case["published"], coding, events, actors)


def key(c) -> tuple:
    return (c.event, c.actor, c.date, c.granularity)


def score(cases: list[dict]) -> dict:
    produced = correct = expected = 0
    misses, extras, rejected = [], [], []
    for case in cases:
        cands = run_case(case).candidates
        want = [(e["event"], e["actor"], e["date"], e["granularity"])
                for e in case.get("expect", [])]
        targets = {(e["event"], e["actor"]): e.get("target") for e in case.get("expect", [])}
        found = set()
        for c in cands:
            ok = key(c) in want and key(c) not in found and targets.get(
                (c.event, c.actor)) in (None, c.target)
            if ok:
                found.add(key(c))
                correct += 1
            else:
                extras.append((case["id"], key(c)))
            if c.event in case.get("reject", []):
                rejected.append((case["id"], c.event))
        produced += len(cands)
        expected += len(want)
        misses += [(case["id"], w) for w in want if w not in found]
    return {"sentences": len(cases), "produced": produced, "correct": correct,
            "expected": expected, "misses": misses, "extras": extras, "rejected": rejected,
            "precision": correct / produced if produced else 0.0,
            "recall": correct / expected if expected else 0.0}


def table() -> list[tuple[str, dict]]:
    dev, held = load_cases(DEV), load_cases(HELDOUT)
    rows = []
    for name, cases in (("development", dev), ("held-out", held)):
        for part in ("s400", "disputes"):
            sub = [c for c in cases if c.get("coding", "s400") == part]
            rows.append((f"{name}, {part}", score(sub)))
        rows.append((f"{name}, all", score(cases)))
    return rows


def markdown(rows: list[tuple[str, dict]]) -> str:
    out = ["| table | sentences | expected | produced | correct | precision | recall |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for name, s in rows:
        out.append(f"| {name} | {s['sentences']} | {s['expected']} | {s['produced']} | "
                   f"{s['correct']} | {s['precision']:.2f} | {s['recall']:.2f} |")
    for part, (p, c, e) in HELDOUT_FIRST_RUN.items():
        out.append(f"| held-out, {part}: first run, before issue #19 | | {e} | {p} | {c} | "
                   f"{c / p:.2f} | {c / e:.2f} |")
    from sim.ingest import MAX_ARTICLE_BYTES, MAX_SENTENCE
    from sim.lexicon import load_lexicon
    lex = load_lexicon()
    forms = sum(len(e.match.split()[0].split("|")) for e in lex.entries)
    out += ["", f"The lexicon holds {len(lex.entries)} phrase patterns ({forms} verb or phrase "
                f"forms in their first slot) under {len({e.code for e in lex.entries})} codes. "
                f"Limits: an article of at most {MAX_ARTICLE_BYTES:,} bytes; sentences longer "
                f"than {MAX_SENTENCE} characters are cut into pieces."]
    return "\n".join(out)


BEGIN, END = "<!-- scores -->", "<!-- /scores -->"   # the generated block (sim.docblock)


def doc_block(text: str) -> str | None:
    try:
        a, b = docblock.span(text, BEGIN, END, DOC)
    except InputError:
        return None
    return text[a:b].strip()


def main(argv: list[str]) -> int:
    rows = table()
    md = markdown(rows)
    print(md)
    for name, s in rows:
        for m in s["misses"]:
            print(f"  {name} missed: {m}")
        for x in s["extras"]:
            print(f"  {name} extra:  {x}")
    if "--write" in argv:
        docblock.replace(DOC, BEGIN, END, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
