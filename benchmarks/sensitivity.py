"""Benchmark of `sim sensitivity`: Sobol of 8 parameters on the S-400 baseline.

scenarios/s400/assumptions.yaml declares 8 uncertain parameters. With N base
samples SALib's design has N x (8 + 2) points; each point runs `replicates`
replicates of the S-400 baseline (common random numbers across points) and
keeps only the per-point means and standard deviations of 3 outcomes
(sanctions, activation, F-35 removal) -- no events (see sim/sensitivity.py).
Each measurement runs in a fresh subprocess; peak resident memory is sampled
over the parent and its workers together, and so is their CPU time (user +
system, the last reading of every process): on a machine shared with other
work the wall time says little, while CPU seconds / 2 is the wall time two
free cores would need.

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
cpu = {{}}
done = threading.Event()
def sample():
    me = psutil.Process()
    while not done.is_set():
        rss = []
        for k in me.children(recursive=True):
            try:
                rss.append(k.memory_info().rss)
                c = k.cpu_times()
                cpu[k.pid] = c.user + c.system
            except psutil.Error:
                pass
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
c = psutil.Process().cpu_times()
cpu_s = c.user + c.system + sum(cpu.values())
m = sensitivity.manifest(f)
print(json.dumps({{"wall": wall, "sobol_s": m["timings"]["sobol_s"], "points": m["points"],
                  "replicates": m["replicates_total"], "peak_mb": peak["total"] / 2**20,
                  "cpu_s": cpu_s}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"the measured run failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=int, nargs="*", default=[64, 1024],
                    help="the N values to measure with the process executor")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.quick:
            plan = [(64, ex) for ex in ("serial", "processes", "dask")]
        else:
            plan = [(n, "processes") for n in a.samples]
        for n, ex in plan:
            r = timed(n, 100, ex, 2, Path(tmp) / f"{ex}{n}")
            print(f"N={n} x 100, {ex:<10} {r['points']:>6} points {r['replicates']:>9} "
                  f"replicates  wall {r['wall']:7.1f} s  CPU {r['cpu_s']:7.1f} s "
                  f"(/2 = {r['cpu_s'] / 2:6.1f} s)  peak {r['peak_mb']:5.0f} MB", flush=True)


if __name__ == "__main__":
    main()
