"""Benchmark of the event store: append and full replay, SQLite vs memory vs raw sqlite3+json.

Small events (a dozen kinds, actors, one in five with a one-key data mapping) in
streams of 50 events, written 200 streams (10,000 events) per batch. "Replay" reads
every stream back as Event objects: ``iter_streams()`` (one scan) and ``read()`` per
stream. The raw baseline is one table with a column per field and the data
json-encoded, written with executemany and read back into Event objects. A last line
times the runner's pattern (fork a sealed prefix, append, seal; 500 replicates per
batch) and ``first_times``. Everything runs in this one process, on one core.

    python benchmarks/store.py           # 100k and 1M events
    python benchmarks/store.py --quick   # 100k only (smoke run)
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sim.events import Event, frozen_data  # noqa: E402
from sim.store import MemoryStore, SQLiteStore  # noqa: E402

STREAM_LEN = 50
STREAMS_PER_BATCH = 200
KINDS = [f"kind_{i}" for i in range(12)]
ACTORS = ["TUR", "USA", "USC", "RUS"]


def make_streams(n_events: int) -> list[tuple[str, list[Event]]]:
    out = []
    for s in range(n_events // STREAM_LEN):
        name = f"branch/{s}"
        evs = []
        for v in range(1, STREAM_LEN + 1):
            k = (s + v) % len(KINDS)
            evs.append(Event(name, v, v * 7.25 + s % 13, KINDS[k], ACTORS[k % 4],
                             ACTORS[(k + 1) % 4], frozen_data({"p": v / 3} if v % 5 == 0
                                                              else None),
                             v - 1 if v > 1 else None, f"rule_{k % 5}", "simulated", None))
        out.append((name, evs))
    return out


def chunks(streams, size):
    for i in range(0, len(streams), size):
        yield streams[i:i + size]


def bench_store(store, streams, n):
    t0 = time.perf_counter()
    for chunk in chunks(streams, STREAMS_PER_BATCH):
        with store.batch():
            for name, evs in chunk:
                store.append(name, evs, 0)
    t_append = time.perf_counter() - t0
    t0 = time.perf_counter()
    count = sum(len(evs) for _, evs in store.iter_streams())
    t_replay = time.perf_counter() - t0
    assert count == n, count
    t0 = time.perf_counter()
    count = sum(len(store.read(name)) for name, _ in streams)
    t_read = time.perf_counter() - t0
    assert count == n
    return n / t_append, n / t_replay, n / t_read


def bench_raw(path, streams, n):
    """One table, a column per field, data json-encoded; executemany; read into Events."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE events(stream TEXT, version INTEGER, time REAL, kind TEXT, "
                 "actor TEXT, target TEXT, data TEXT, cause INTEGER, rule TEXT, origin TEXT, "
                 "source TEXT, PRIMARY KEY (stream, version))")
    dumps, loads = json.dumps, json.loads
    t0 = time.perf_counter()
    for chunk in chunks(streams, STREAMS_PER_BATCH):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         [(e.stream, e.version, e.time, e.kind, e.actor, e.target,
                           dumps(e.data), e.cause, e.rule, e.origin, e.source)
                          for _, evs in chunk for e in evs])
        conn.execute("COMMIT")
    t_append = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = [Event(s, v, t, k, a, tg, frozen_data(loads(d)), c, r, o, so)
           for s, v, t, k, a, tg, d, c, r, o, so in conn.execute(
               "SELECT * FROM events ORDER BY stream, version")]
    t_replay = time.perf_counter() - t0
    assert len(out) == n
    conn.close()
    return n / t_append, n / t_replay, float("nan")


def bench_runner_pattern(store, replicates):
    """The runner's pattern: a sealed 20-event prefix; per replicate fork + 30 events +
    seal, 500 replicates per batch; then first_times over all replicates."""
    prefix = [Event("pre", v, float(v), KINDS[v % 12], "TUR", None, frozen_data(None), None,
                    None, "history", f"S{v}") for v in range(1, 21)]
    store.append("pre", prefix, 0)
    store.seal("pre")
    own = [[e.evolve(stream=f"b/{i}", version=e.version + 20, time=e.time + 20)
            for e in evs[:30]] for i, (_, evs) in enumerate(make_streams(STREAM_LEN * replicates))]
    t0 = time.perf_counter()
    for start in range(0, replicates, 500):
        with store.batch():
            for i in range(start, min(start + 500, replicates)):
                name = f"b/{i}"
                store.fork("pre", 20, name, {"branch": "b", "replicate": i, "status": "ok"})
                store.append(name, own[i], 20)
                store.seal(name)
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    ft = store.first_times("kind_3")
    t_ft = time.perf_counter() - t0
    assert len(ft) == replicates + 1
    return replicates / t_write, t_ft


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k events only")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per measurement; the best is reported (default 3)")
    args = ap.parse_args()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    print(f"load average at start: {os.getloadavg()[0]:.2f}; best of {args.repeat} runs")
    print(f"{'events':>9} {'backend':<12} {'append ev/s':>12} {'replay ev/s':>12} "
          f"{'read() ev/s':>12}")
    for n in sizes:
        streams = make_streams(n)
        results: dict[str, list[float]] = {}
        runner: dict[str, list[float]] = {}

        def keep(table, name, values, better):
            old = table.get(name)
            table[name] = list(values) if old is None else [
                better(a, b) for a, b in zip(old, values)]

        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(args.repeat):
                db = os.path.join(tmp, f"s{rep}.db")
                with SQLiteStore(db, create=True) as store:
                    keep(results, "SQLiteStore", bench_store(store, streams, n), max)
                size = os.path.getsize(db)
                os.remove(db)
                keep(results, "MemoryStore", bench_store(MemoryStore(), streams, n), max)
                raw = os.path.join(tmp, f"raw{rep}.db")
                keep(results, "raw sqlite3", bench_raw(raw, streams, n), max)
                raw_size = os.path.getsize(raw)
                os.remove(raw)
                db = os.path.join(tmp, f"r{rep}.db")
                with SQLiteStore(db, create=True) as store:
                    reps, ft = bench_runner_pattern(store, n // 50)
                keep(runner, "SQLiteStore", (reps, -ft), max)
                reps, ft = bench_runner_pattern(MemoryStore(), n // 50)
                keep(runner, "MemoryStore", (reps, -ft), max)
        for name, (a, r, rd) in results.items():
            print(f"{n:>9} {name:<12} {a:>12,.0f} {r:>12,.0f} {rd:>12,.0f}")
        raw_r, sq = results["raw sqlite3"], results["SQLiteStore"]
        print(f"{n:>9} SQLiteStore / raw: append x{sq[0] / raw_r[0]:.2f}, "
              f"replay x{sq[1] / raw_r[1]:.2f}; file {size / n:.0f} B/event "
              f"(raw {raw_size / n:.0f} B/event)")
        for name, (reps, ft) in runner.items():
            print(f"{n // 50:>9} replicates, runner pattern, {name}: {reps:,.0f} replicates/s "
                  f"(fork + 30 events + seal), first_times {-ft * 1000:.0f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
