"""Write the S-400 sensitivity numbers into docs/s400-model.md (between the
``<!-- sensitivity:begin -->`` and ``<!-- sensitivity:end -->`` markers).

    .venv/bin/python scripts/s400_sensitivity.py          # rewrite the block
    .venv/bin/python scripts/s400_sensitivity.py --check  # exit 1 if the block is stale

tests/test_s400_sensitivity.py runs the same analysis and checks the block.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "s400-model.md"
SCENARIO = ROOT / "scenarios" / "s400" / "assumptions.yaml"
OUTCOMES = ["sanctioned", "activated", "f35_removal_done"]
SETTINGS = {"samples": 256, "replicates": 50, "tornado_replicates": 200}
BEGIN, END = "<!-- sensitivity:begin -->", "<!-- sensitivity:end -->"


def block(executor: str = "auto") -> str:
    from sim import sensitivity

    with tempfile.TemporaryDirectory() as tmp:
        f = sensitivity.analyse(SCENARIO, out=Path(tmp) / "s", outcomes=OUTCOMES,
                                executor=executor, progress=False, **SETTINGS)
        return sensitivity.markdown(f)


def current() -> str:
    from sim import docblock

    return docblock.read(DOC, BEGIN, END)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    new = block()
    if a.check:
        return 0 if new == current() else 1
    from sim import docblock

    docblock.replace(DOC, BEGIN, END, new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
