"""Reading a large run: `sim plot` and `sim verify` over 100,000 replicates.

Targets (issue 11, item 19): the standard figures and a full verification of a
100k-replicate run each finish within 60 s and 500 MB peak resident memory.

The run is the S-400 baseline with 100,000 replicates (made once, with 2 worker
processes, in a temporary folder unless ``--folder`` names an existing one). Each
reading command runs in a fresh subprocess whose peak RSS is sampled every 50 ms.

    python benchmarks/scale.py                     # make the run, then measure
    python benchmarks/scale.py --folder runs/big   # make it there (or reuse it), measure
    python benchmarks/scale.py --replicates 20000  # a smaller run
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "s400" / "baseline.yaml"

MEASURE = """
import json, sys, threading, time
import psutil
peak = [0]
done = threading.Event()
def sample():
    me = psutil.Process()
    while not done.is_set():
        peak[0] = max(peak[0], me.memory_info().rss)
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
from sim.cli import main
code = main(sys.argv[1:])
wall = time.perf_counter() - t
done.set()
print(json.dumps({"code": code, "wall": wall, "peak_mb": peak[0] / 2**20}), file=sys.stderr)
"""


def measure(*args: str) -> dict:
    """One `sim` command in a fresh subprocess: exit status, wall time, peak RSS."""
    p = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True)
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    try:
        res = json.loads(last)
    except json.JSONDecodeError:
        raise SystemExit(f"sim {' '.join(args)} failed:\n{p.stderr}") from None
    if res["code"] != 0:
        raise SystemExit(f"sim {' '.join(args)} exited {res['code']}:\n{p.stderr}")
    return res


def make_run(folder: Path, n: int) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "run", str(SCENARIO), "-n", str(n), "--out",
                    str(folder), "--executor", "processes", "-j", "2", "--no-progress"],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, help="an existing run folder to read (made there "
                    "first when it does not exist; kept afterwards)")
    ap.add_argument("--replicates", type=int, default=100_000)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp) / "big"
        if not (folder / "manifest.json").exists():
            wall = make_run(folder, args.replicates)
            print(f"made the run: {args.replicates:,} replicates in {wall:.0f} s")
        m = json.loads((folder / "manifest.json").read_text())
        n = m["counts"]["replicates"]
        print(f"run: {m['scenario']}, {len(m['branches'])} branch(es), {n:,} replicates, "
              f"{m['counts']['events']:,} stored events, "
              f"store {os.path.getsize(folder / 'events.sqlite') / 2**20:.0f} MB")
        # the same commands on a 1,000-replicate run: the part that does not grow with
        # replicates (drawing and writing the figures as PNG and SVG, starting Python)
        small = Path(tmp) / "small"
        make_run(small, 1000)
        print(f"load average before measuring: {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")
        for label, cmd in (("sim plot", "plot"), ("sim verify", "verify")):
            ref = measure(cmd, str(small))
            shutil.rmtree(small / "figures", ignore_errors=True)
            shutil.rmtree(folder / "figures", ignore_errors=True)
            r = measure(cmd, str(folder))
            ok = "met" if r["wall"] <= 60 and r["peak_mb"] <= 500 else "NOT MET"
            print(f"{label:<11} {n:,} replicates: {r['wall']:6.1f} s, peak RSS "
                  f"{r['peak_mb']:4.0f} MB (target <= 60 s and <= 500 MB: {ok}); "
                  f"1,000 replicates: {ref['wall']:5.1f} s, {ref['peak_mb']:4.0f} MB")
        r = measure("show", str(folder), "-r", "7")
        print(f"sim show    one replicate: {r['wall']:.1f} s, peak RSS {r['peak_mb']:.0f} MB")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
