"""Verifying a run folder: everything it holds against its manifest, and re-simulation.

``verify(folder)`` checks that what a run folder holds is what its run wrote:

- the manifest itself: every field verify relies on is present and well-formed
  (a missing or malformed field is a problem, never a reason to skip a check);
- the run's copies of its model (scenario.yaml, world.yaml, history.yaml) and its
  tables (outcomes.csv, replicates.csv) against the manifest's file digests;
- every sealed stream's digest recomputed from its events (the store's own check),
  the store's digests against the manifest's, in both directions, and the run digest;
- every stream's metadata (the per-replicate outcome values, status and error that
  tables, compare and report read) against the manifest's ``meta_digest``;
- the manifest's counts (streams, events, replicates, failed) against the store;
- optionally, ``resimulate`` replicates simulated again give the same digests.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.runfolder import (
    COPIES,
    FORMAT,
    MANIFEST,
    STORE,
    TABLES,
    Run,
    RunError,
    _run_digest,
    check_files,
    meta_digest,
    prefix_stream,
    read_manifest,
    replicate_stream,
)
from sim.runner import _engine, simulate_chunk
from sim.store import MemoryStore

_HEX64 = re.compile(r"[0-9a-f]{64}")
SHOWN = 20   # per-stream problems listed before "... and N more"


def _is_hex(v: Any) -> bool:
    return isinstance(v, str) and _HEX64.fullmatch(v) is not None


def manifest_problems(m: dict, where: Path) -> list[str]:
    """What is missing or malformed in a complete run's manifest."""
    bad = []

    def need(key: str, ok: bool, what: str) -> None:
        if key not in m:
            bad.append(f"{where}: the '{key}' field is missing")
        elif not ok:
            bad.append(f"{where}: the '{key}' field is not {what}")

    need("format", m.get("format") == FORMAT, f"format {FORMAT}")
    need("seed", isinstance(m.get("seed"), int) and m.get("seed", -1) >= 0,
         "a whole number >= 0")
    need("replicates", isinstance(m.get("replicates"), int) and m.get("replicates", 0) >= 1,
         "a whole number >= 1")
    need("branches", isinstance(m.get("branches"), list) and bool(m.get("branches"))
         and all(isinstance(b, str) for b in m.get("branches", [])), "a list of branch names")
    counts = m.get("counts")
    need("counts", isinstance(counts, dict) and all(
        isinstance(counts.get(k), int) and counts[k] >= 0
        for k in ("streams", "replicates", "failed", "events")),
         "an object of whole numbers streams, replicates, failed, events")
    digests = m.get("digests")
    need("digests", isinstance(digests, dict) and bool(digests) and all(
        isinstance(k, str) and (v is None or _is_hex(v)) for k, v in digests.items()),
         "an object of stream name -> sha256 hex digest (or null for a failed replicate)")
    need("run_digest", _is_hex(m.get("run_digest")), "a sha256 hex digest")
    need("meta_digest", _is_hex(m.get("meta_digest")), "a sha256 hex digest")
    files = m.get("files")
    need("files", isinstance(files, dict) and all(_is_hex(files.get(n))
                                                  for n in (*COPIES, *TABLES)),
         "an object of file name -> sha256 hex digest for " + ", ".join((*COPIES, *TABLES)))
    return bad


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= SHOWN:
        return problems
    return problems[:SHOWN] + [f"... and {len(problems) - SHOWN} more such problems"]


def verify(folder: str | os.PathLike, resimulate: int = 0,
           on_progress: Callable[[int], None] | None = None) -> list[str]:
    """Check a run folder (see the module docstring); return its problems (empty when
    all is well). A folder that is not a run folder at all raises RunError."""
    folder = Path(folder)
    where = folder / MANIFEST
    if folder.is_file() or not where.exists():
        read_manifest(folder)   # raises: not a run folder
    try:
        m = read_manifest(folder)
    except RunError as exc:
        return [str(exc)]
    problems: list[str] = []
    if m.get("status") != "complete":
        problems.append(f"{folder}: the run is incomplete (status {m.get('status')!r})")
        return problems
    problems += manifest_problems(m, where)
    files_ok = isinstance(m.get("files"), dict)
    if files_ok:
        problems += check_files(folder, m, (*COPIES, *TABLES))
    try:
        run_ = Run(folder, check=False)
    except (InputError, RunError) as exc:
        return problems + [f"the run cannot be opened: {exc}"]
    try:
        problems += _check_store(run_, m)
        if resimulate:
            problems += _resimulate(run_, resimulate, on_progress)
    finally:
        run_.close()
    return problems


def _check_store(run_: Run, m: dict) -> list[str]:
    store = run_.store
    problems = _capped([str(p) for p in store.verify()])
    stored: dict[str, str | None] = {}
    failed = 0
    try:
        for info in store.iter_infos():
            stored[info.name] = info.digest
            if info.meta.get("status") == "failed":
                failed += 1
    except (ValueError, TypeError, AttributeError) as exc:
        return problems + [f"{run_.folder / STORE}: unreadable stream metadata ({exc})"]
    got = meta_digest(store.iter_meta_texts())
    recorded = m.get("digests") if isinstance(m.get("digests"), dict) else {}
    per_stream = []
    for name, d in recorded.items():
        if name not in stored:
            per_stream.append(f"stream {name}: in the manifest but missing from the store")
        elif stored[name] != d:
            per_stream.append(f"stream {name}: digest in the manifest {d} differs from the "
                              f"store's {stored[name]}")
    per_stream += [f"stream {name}: in the store but not in the manifest"
                   for name in stored if name not in recorded]
    problems += _capped(per_stream)
    if recorded and m.get("run_digest") != _run_digest(recorded):
        problems.append(f"{run_.folder / MANIFEST}: run_digest does not match its digests")
    if _is_hex(m.get("meta_digest")) and got != m["meta_digest"]:
        problems.append(f"{run_.folder / STORE}: the per-replicate outcome values, statuses "
                        "or errors stored with the streams are not those the run wrote "
                        f"(meta digest {got[:12]}..., the manifest has "
                        f"{m['meta_digest'][:12]}...)")
    counts = m.get("counts") if isinstance(m.get("counts"), dict) else {}
    sc = run_.scenario
    actual = {"streams": len(stored), "events": store.count_events(), "failed": failed,
              "replicates": len(sc.branches) * sc.replicates}
    for key, value in actual.items():
        if key in counts and counts[key] != value:
            problems.append(f"{run_.folder / MANIFEST}: counts.{key} is {counts[key]!r}, "
                            f"the run has {value}")
    if m.get("branches") != run_.branch_names() or m.get("replicates") != sc.replicates:
        problems.append(f"{run_.folder / MANIFEST}: branches or replicates differ from "
                        "the run's scenario.yaml")
    return problems


def _resimulate(run_: Run, resimulate: int,
                on_progress: Callable[[int], None] | None) -> list[str]:
    problems: list[str] = []
    stored = {info.name: info.digest for info in run_.store.iter_infos()}
    rng = np.random.default_rng(0)
    sc = run_.scenario
    picks = [(int(rng.integers(len(sc.branches))), int(rng.integers(sc.replicates)))
             for _ in range(resimulate)]
    for k, (b, i) in enumerate(picks):
        br = sc.branches[b]
        res = simulate_chunk(sc, b, i, i + 1, as_rows=False)[0]
        if res.error:
            continue
        mem = MemoryStore()
        eng = _engine(sc, b)
        pname = prefix_stream(br.name)
        mem.create(pname)
        if eng.prefix:
            mem.append(pname, [e.evolve(stream=pname) for e in eng.prefix], 0)
        stream = replicate_stream(br.name, i)
        mem.fork(pname, len(eng.prefix), stream)
        if res.has_events:
            mem.append(stream, res.events(stream), len(eng.prefix))
        again = mem.seal(stream)
        if stored.get(stream) != again:
            problems.append(f"stream {stream}: simulating it again gives digest {again}, "
                            f"the store has {stored.get(stream)}")
        if on_progress:
            on_progress(k + 1)
    return problems
