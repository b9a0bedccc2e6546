"""End-to-end benchmark of `sim run`: executors, speed-up, and peak memory.

Runs the ~100-events-per-replicate scenario in benchmarks/data/ with 10,000
replicates end to end (engine, store, outcome tables), serially, with 2
local worker processes and with a 2-worker Dask LocalCluster, each in a
fresh subprocess; then the peak resident memory (of the parent and its
workers) at 10k and 100k replicates. A bare loop of the engine alone (no
store, no outcomes) is measured in the same run as the floor.

Targets (issue 4): <= 10 s end to end on 2 cores; speed-up >= 1.8x with 2
workers; Dask within 1.3x of the process pool; peak memory flat in the
number of replicates and <= 500 MB at 100k.

    python benchmarks/run.py            # everything (a few minutes)
    python benchmarks/run.py --quick    # 2,000 replicates, no 100k memory run
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "data" / "scenario.yaml"


def timed_run(n: int, executor: str, jobs: int, out: Path) -> dict:
    """`sim run` in a subprocess; wall time and peak RSS (parent + children)."""
    code = f"""
import json, threading, time
import psutil
peak = {{"self": 0, "child": 0, "total": 0}}
done = threading.Event()
def sample():
    me = psutil.Process()
    while not done.is_set():
        try:
            kids = me.children(recursive=True)   # worker processes, however started
            rss = [k.memory_info().rss for k in kids]
        except psutil.Error:
            rss = []
        own = me.memory_info().rss
        peak["self"] = max(peak["self"], own)
        peak["child"] = max([peak["child"], *rss])
        peak["total"] = max(peak["total"], own + sum(rss))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
import sim
r = sim.run({str(SCENARIO)!r}, replicates={n}, executor={executor!r}, jobs={jobs},
            out={str(out)!r}, force=True, progress=False)
wall = time.perf_counter() - t
done.set()
mb = 1 / 2**20
print(json.dumps({{"wall": wall, "self_mb": peak["self"] * mb, "children_mb": peak["child"] * mb,
                  "total_mb": peak["total"] * mb,
                  "events": r.manifest["counts"]["events"], "digest": r.manifest["run_digest"],
                  "inner": r.manifest["timings"]}}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"run failed ({executor}):\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def engine_floor(n: int) -> float:
    """Replicates/s of the engine alone (no store, no outcomes), one core."""
    import sim
    from sim.engine import Engine
    from sim.seeding import replicate_rng

    sc = sim.load(SCENARIO)
    br = sc.branches[0]
    eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                 suppress=br.suppress)
    t = time.perf_counter()
    for i in range(n):
        eng.run(replicate_rng(1, i), "x")
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 2000 if args.quick else 10_000
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    floor = engine_floor(min(n, 3000))
    print(f"engine alone (no store): {floor:,.0f} replicates/s on one core")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        res = {}
        for ex, jobs in (("serial", 1), ("processes", 2), ("dask", 2)):
            res[ex] = timed_run(n, ex, jobs, tmp / ex)
            r = res[ex]
            print(f"{ex:>9} x{jobs}: {n:,} replicates, {r['events']:,} events in "
                  f"{r['wall']:.2f} s end to end ({n / r['wall']:,.0f} rep/s; "
                  f"peak RSS parent {r['self_mb']:.0f} MB, largest worker {r['children_mb']:.0f} MB)")
        same = len({r["digest"] for r in res.values()}) == 1
        print(f"identical digests across executors: {same}")
        speedup = res["serial"]["wall"] / res["processes"]["wall"]
        dask_ratio = res["dask"]["wall"] / res["processes"]["wall"]
        print(f"speed-up with 2 workers: {speedup:.2f}x (target >= 1.8x)")
        print(f"dask / process pool: {dask_ratio:.2f}x (target <= 1.3x)")
        best = min(r["wall"] for r in res.values())
        print(f"best end to end: {best:.2f} s (target <= 10 s for 10k on 2 cores)")
        print(f"serial end to end vs engine alone: "
              f"{(n / res['serial']['wall']) / floor:.2f} of the engine-only rate")
        if not args.quick:
            for big in (10_000, 100_000):
                r = timed_run(big, "processes", 2, tmp / f"mem{big}")
                print(f"memory at {big:,} replicates: parent {r['self_mb']:.0f} MB, "
                      f"largest worker {r['children_mb']:.0f} MB, all processes together "
                      f"{r['total_mb']:.0f} MB (target <= 500 MB, flat); {r['wall']:.1f} s")


if __name__ == "__main__":
    main()
