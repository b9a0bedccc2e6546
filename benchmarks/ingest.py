"""Benchmark of `sim ingest`: time for articles of growing size (it must grow linearly).

Two kinds of text, each at 1x, 4x and 16x of a base size: ordinary prose (a practice
article of our own words, repeated) and a pathological article (one unpunctuated line
dense with actor names and pattern words, the input that made the first coder
quadratic). Reports CPU seconds, characters per second and the 4x / 1x time ratio
(linear work gives about 4). One process, one core.

    python benchmarks/ingest.py           # 62.5 kB, 250 kB, 1 MB
    python benchmarks/ingest.py --quick   # 16 kB, 64 kB
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sim.ingest import ingest, load_coding  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PROSE = ("Russia delivered the first parts of the S-400 system to Turkey on 12 July 2019, "
         "officials said. Turkey has not activated the batteries. On Friday the US warned "
         "Ankara that it would face sanctions if it switched the system on. Lawmakers in the "
         "House passed a bill on Tuesday to punish Turkey over its offensive in Syria.\n\n")
DENSE = ("Russia delivered the S-400 to Turkey and Washington imposed sanctions on Ankara "
         "while Erdogan met Putin and the talks went on ")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    sizes = [16_000, 64_000] if a.quick else [62_500, 250_000, 1_000_000]
    coding = load_coding(os.path.join(ROOT, "scenarios", "s400", "coding.yaml"))
    ingest(PROSE * 10, dt.date(2019, 11, 1), coding)          # load lexicon and lemmas
    for name, unit in (("prose", PROSE), ("pathological", DENSE)):
        prev = None
        for n in sizes:
            text = (unit * (n // len(unit) + 1))[:n]
            t0 = time.process_time()
            ingest(text, dt.date(2019, 11, 1), coding)
            cpu = time.process_time() - t0
            ratio = f"{cpu / prev:.2f}x the previous size's time" if prev else ""
            print(f"{name:13s} {n:>9,} chars  {cpu:7.2f} s  {n / cpu:>9,.0f} chars/s  {ratio}")
            prev = cpu
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
