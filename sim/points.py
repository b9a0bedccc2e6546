"""Running many parameter points: each point a branch's world with some parameters set,
``replicates`` replicates at it, and only each outcome's mean and standard deviation kept.

This is the engine room of :mod:`sim.sensitivity`. Replicate ``r`` of every point
uses the engine stream of replicate ``r`` of a plain run
(``replicate_rng(seed, r)``: common random numbers across points), so replicate
``r`` of a point is exactly replicate ``r`` of ``sim run`` with the point's values
``set``. Points go in chunks to a serial loop, a local process pool (each worker
builds its :class:`PointEvaluator` once) or Dask (the scenario scattered once);
at most 3 x workers chunks are in flight, so memory is flat in the number of
points.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

import numpy as np

from sim import outcomes as oc
from sim import uncertainty
from sim.engine import Engine
from sim.errors import InputError, Problem
from sim.scenario import Scenario
from sim.seeding import replicate_rng

# --------------------------------------------------------------------------- worker side

class _FixedBase:
    """Stands in for a replicate's ``random.Random``: the engine takes one 64-bit
    number from it, the same as ``replicate_rng(seed, r).getrandbits(64)``."""

    __slots__ = ("base",)

    def __init__(self, base: int):
        self.base = base

    def getrandbits(self, k: int) -> int:
        return self.base

    def getstate(self) -> None:        # the history-uncertainty path saves and restores
        return None                    # the state around its one draw: nothing to keep

    def setstate(self, state: None) -> None:
        return None


class PointEvaluator:
    """Runs ``replicates`` replicates of one branch at given parameter values and
    returns each outcome's mean and standard deviation (built once per process)."""

    def __init__(self, scenario: Scenario, b: int, outcome_ids: Sequence[str],
                 replicates: int):
        self.scenario = scenario
        self.br = scenario.branches[b]
        self.specs = tuple(o for o in scenario.outcomes if o.id in set(outcome_ids))
        order = {k: i for i, k in enumerate(outcome_ids)}
        self.specs = tuple(sorted(self.specs, key=lambda o: order[o.id]))
        self.replicates = replicates
        self.bases = [_FixedBase(replicate_rng(scenario.seed, r).getrandbits(64))
                      for r in range(replicates)]
        self.integer = uncertainty.integer_path(self.br.world)

    def world(self, values: dict[str, Any]):
        vals = {k: (int(round(v)) if self.integer(k) else v) for k, v in values.items()}
        return uncertainty.check_draw(self.br.world, vals)

    def values(self, values: dict[str, Any], replicates: Sequence[int] | None = None
               ) -> np.ndarray:
        """Per-replicate outcome values (replicates x outcomes) at one point."""
        br = self.br
        world = self.world(values)
        eng = Engine(world, br.history, br.fork, br.horizon, inject=br.inject,
                     suppress=br.suppress, uncertainty=br.uncertainty)
        # the prefix is the same in every replicate: its share of the outcomes once
        ev = oc.Evaluator(self.specs, world, br.fork, br.horizon).after(eng.prefix)
        reps = range(self.replicates) if replicates is None else replicates
        out = np.empty((len(reps), len(self.specs)))
        ids = [s.id for s in self.specs]
        for j, r in enumerate(reps):
            rng = self.bases[r] if r < len(self.bases) else replicate_rng(
                self.scenario.seed, r)
            res = ev(eng.run(rng, "s"))
            out[j] = [res[k] for k in ids]
        return out

    def __call__(self, values: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(means, standard deviations, per-replicate values) of the outcomes at a point."""
        x = self.values(values)
        sd = x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1])
        return x.mean(axis=0), sd, x


_WORKER: dict[str, Any] = {}


def _init_worker(scenario: Scenario, b: int, ids: list[str], replicates: int) -> None:
    _WORKER["ev"] = PointEvaluator(scenario, b, ids, replicates)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _chunk(paths: list[str], rows: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    ev = _WORKER["ev"]
    return [ev(dict(zip(paths, _py(row)))) for row in rows]


_DASK_EVAL: dict[int, PointEvaluator] = {}


def _dask_chunk(scenario: Scenario, b: int, ids: list[str], replicates: int,
                paths: list[str], rows: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    key = hash((id(scenario), b, tuple(ids), replicates))
    ev = _DASK_EVAL.get(key)
    if ev is None or ev.scenario is not scenario:
        _DASK_EVAL.clear()
        ev = _DASK_EVAL[key] = PointEvaluator(scenario, b, ids, replicates)
    return [ev(dict(zip(paths, _py(row)))) for row in rows]


def _py(row: np.ndarray) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in row]


# --------------------------------------------------------------------------- evaluation

def evaluate_points(scenario: Scenario, b: int, ids: Sequence[str], replicates: int,
                    paths: Sequence[str], points: np.ndarray, executor: str = "auto",
                    jobs: int | None = None, scheduler: str | None = None,
                    progress: bool | None = None, pool_rows: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means and standard deviations (points x outcomes) of every point's replicates,
    and for each replicate its mean over the points ``pool_rows`` (replicates x
    outcomes: what the Monte Carlo error of a mean over points is computed from, as
    every point shares the same replicate streams).

    ``points`` is an object array (points x paths) of parameter values. Chunks of
    points go to a serial loop, a local process pool or Dask; at most 3 x workers
    chunks are in flight, so memory does not grow with the number of points."""
    n = len(points)
    means = np.full((n, len(ids)), np.nan)
    sds = np.full((n, len(ids)), np.nan)
    # per-chunk sums, added up in chunk order at the end: the same floats whatever
    # order the chunks finish in (one array per chunk of points, not per point)
    parts: dict[int, np.ndarray] = {}
    in_pool = np.zeros(n, dtype=bool)
    if pool_rows is not None:
        in_pool[pool_rows] = True

    def take(i: int, res: tuple, chunk: int) -> None:
        means[i], sds[i], x = res
        if in_pool[i]:
            if chunk in parts:
                parts[chunk] += x
            else:
                parts[chunk] = np.array(x, dtype=float)

    def result() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pooled = np.zeros((replicates, len(ids)))
        for k in sorted(parts):
            pooled += parts[k]
        return means, sds, pooled / max(1, int(in_pool.sum()))
    paths = list(paths)
    ids = list(ids)
    cores = jobs or os.cpu_count() or 1
    if scheduler and executor in ("auto", "dask"):
        executor = "dask"
    if executor == "auto":
        executor = ("serial" if cores == 1 or n * replicates < 2000 or _in_jupyter()
                    else "processes")
    if executor not in ("serial", "processes", "dask"):
        raise InputError(Problem(None, None, None, f"unknown executor '{executor}'",
                                 "expected one of: auto, serial, processes, dask"))
    size = max(1, min(64, n // (cores * 8) or 1))
    chunks = [(i, min(n, i + size)) for i in range(0, n, size)]
    from sim.runner import _progress

    bar = _progress(n * replicates, 0, progress, f"{scenario.name} points")
    if executor == "serial":
        _init_local(scenario, b, ids, replicates)
        for i, j in chunks:
            for k, res in enumerate(_chunk(paths, points[i:j])):
                take(i + k, res, i)
            bar.update((j - i) * replicates)
        bar.close()
        return result()
    if executor == "processes":
        import multiprocessing as mp

        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        pool = ProcessPoolExecutor(cores, mp_context=mp.get_context(method),
                                   initializer=_init_worker,
                                   initargs=(scenario, b, ids, replicates))

        def submit(i: int, j: int):
            return pool.submit(_chunk, paths, points[i:j])

        def close(cancel: bool = False) -> None:
            pool.shutdown(wait=not cancel, cancel_futures=cancel)

        waiter = _wait
    else:
        try:
            from dask.distributed import Client, LocalCluster
            from dask.distributed import wait as dask_wait
        except ImportError:
            raise InputError("the dask executor needs dask.distributed: "
                             "pip install 'sim[dask]'") from None
        cluster = None
        if scheduler:
            client = Client(scheduler, timeout="10s")
        else:
            cluster = LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        sc_future = client.scatter(scenario, broadcast=True)

        def submit(i: int, j: int):
            return client.submit(_dask_chunk, sc_future, b, ids, replicates, paths,
                                 points[i:j], pure=False)

        def close(cancel: bool = False) -> None:
            client.close()
            if cluster is not None:
                cluster.close()

        def waiter(pending: set) -> tuple[set, set]:
            done, rest = dask_wait(list(pending), return_when="FIRST_COMPLETED")
            return set(done), set(rest)
    try:
        pending: dict[Any, tuple[int, int]] = {}
        it = iter(chunks)
        limit = 3 * cores
        while True:
            while len(pending) < limit:
                nxt = next(it, None)
                if nxt is None:
                    break
                pending[submit(*nxt)] = nxt
            if not pending:
                break
            done, _ = waiter(set(pending))
            for f in done:
                i, j = pending.pop(f)
                for k, res in enumerate(f.result()):
                    take(i + k, res, i)
                bar.update((j - i) * replicates)
        close()
    except BaseException:
        bar.close()
        close(cancel=True)
        raise
    bar.close()
    return result()


def _init_local(scenario: Scenario, b: int, ids: list[str], replicates: int) -> None:
    ev = _WORKER.get("ev")
    if not (ev is not None and ev.scenario is scenario and ev.br is scenario.branches[b]
            and [s.id for s in ev.specs] == ids and ev.replicates == replicates):
        _WORKER["ev"] = PointEvaluator(scenario, b, ids, replicates)


def _wait(pending: set) -> tuple[set, set]:
    done, rest = wait(pending, return_when=FIRST_COMPLETED)
    return set(done), set(rest)


def _in_jupyter() -> bool:
    import sys

    return "ipykernel" in sys.modules
