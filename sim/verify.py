"""Verifying a run folder: the store's seals, the manifest's digests, re-simulation.

``verify(folder)`` checks that what a run folder holds is what its run wrote:
every sealed stream's digest recomputed from its events, the manifest's digests
against the store's, and optionally a few replicates simulated again.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from sim.runfolder import Run, prefix_stream, replicate_stream
from sim.runner import _engine, simulate_chunk
from sim.store import MemoryStore


def verify(folder: str | os.PathLike, resimulate: int = 0,
           on_progress: Callable[[int], None] | None = None) -> list[str]:
    """Check a run: the store's digests, the manifest's digests, and (optionally)
    that ``resimulate`` replicates simulated again give the same digests.

    Returns a list of problems (empty when all is well).
    """
    run_ = Run(folder, allow_incomplete=True)
    problems = [str(p) for p in run_.store.verify()]
    recorded = run_.manifest.get("digests") or {}
    stored = run_.digests()
    if not run_.complete:
        problems.append(f"{run_.folder}: the run is incomplete "
                        f"(status {run_.manifest.get('status')})")
    for name, d in recorded.items():
        if stored.get(name) != d:
            problems.append(f"stream {name}: digest in the manifest {d} differs from the "
                            f"store's {stored.get(name)}")
    if resimulate:
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
    run_.close()
    return problems
