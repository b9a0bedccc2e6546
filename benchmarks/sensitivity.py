"""Benchmark of `sim sensitivity`: Sobol of 8 parameters on the S-400 baseline.

scenarios/s400/assumptions.yaml declares 8 uncertain parameters. With N base
samples SALib's design has N x (8 + 2) points; each point runs `replicates`
replicates of the S-400 baseline (common random numbers across points) and
keeps only the per-point means and standard deviations of 3 outcomes
(sanctions, activation, F-35 removal) -- no events (see sim/sensitivity.py).
Each measurement runs in a fresh subprocess; peak resident memory is sampled
over the parent and its workers together.

Targets (issue 14): N = 1,024 (10,240 points x 100 replicates = 1,024,000
replicates) in <= 5 minutes on 2 cores with the process executor; memory
flat in the number of points; the Dask executor runs the same code.

    python benchmarks/sensitivity.py            # the full target run, plus memory at N=64/256
    python benchmarks/sensitivity.py --quick    # N = 64 only (a few seconds), all executors
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "s400" / "assumptions.yaml"
OUTCOMES = ["sanctioned", "activated", "f35_removal_done"]


def timed(samples: int, replicates: int, executor: str, jobs: int, out: Path) -> dict:
    code = f"""
import json, threading, time
import psutil
peak = {{"total": 0}}
done = threading.Event()
def sample():
    me = psutil.Process()
    while not done.is_set():
        try:
            rss = [k.memory_info().rss for k in me.children(recursive=True)]
        except psutil.Error:
            rss = []
        peak["total"] = max(peak["total"], me.memory_info().rss + sum(rss))
        time.sleep(0.1)
threading.Thread(target=sample, daemon=True).start()
from sim import sensitivity
t = time.perf_counter()
f = sensitivity.analyse({str(SCENARIO)!r}, out={str(out)!r}, outcomes={OUTCOMES!r},
                        samples={samples}, replicates={replicates}, tornado_replicates=100,
                        executor={executor!r}, jobs={jobs}, progress=False, force=True)
wall = time.perf_counter() - t
done.set()
m = sensitivity.manifest(f)
print(json.dumps({{"wall": wall, "sobol_s": m["timings"]["sobol_s"], "points": m["points"],
                  "replicates": m["replicates_total"], "peak_mb": peak["total"] / 2**20}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        if a.quick:
            for ex in ("serial", "processes", "dask"):
                rows.append((f"N=64 x 100, {ex}", timed(64, 100, ex, 2, Path(tmp) / ex)))
        else:
            for n in (64, 256):
                rows.append((f"N={n} x 100, processes", timed(n, 100, "processes", 2,
                                                              Path(tmp) / f"m{n}")))
            rows.append(("N=1024 x 100, processes", timed(1024, 100, "processes", 2,
                                                          Path(tmp) / "full")))
        for name, r in rows:
            rate = r["replicates"] / r["wall"]
            print(f"{name:<28} {r['points']:>6} points {r['replicates']:>9} replicates "
                  f"{r['wall']:7.1f} s (Sobol design {r['sobol_s']:.1f} s) "
                  f"{rate:9.0f} replicates/s  peak {r['peak_mb']:6.0f} MB")


if __name__ == "__main__":
    main()
