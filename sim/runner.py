"""Monte Carlo runs: branches x replicates, seeds, executors, resume.

A run takes a resolved :class:`~sim.scenario.Scenario`, simulates every
(branch, replicate) with the engine, and streams the events into a SQLite
event store inside a **run folder** (its files, manifest and the :class:`Run`
reader are :mod:`sim.runfolder`; checking a run is :mod:`sim.verify`; both
keep their public names importable from here).

Seeds: replicate ``i`` of every branch draws from
``sim.seeding.replicate_rng(seed, i)``; results are identical whatever the
executor, the number of workers or the order chunks finish in.

Executors share one small interface (``submit(fn, *args)`` returning a
future, ``close()``): ``serial`` (in this process), ``processes`` (a local
process pool, the default for large runs outside Jupyter) and ``dask``
(``dask.distributed``, a scheduler address or a LocalCluster). Workers only
simulate; the parent is the single writer of the store, one transaction per
chunk, with a bounded number of chunks in flight so memory stays flat.

Completeness: ``manifest.json`` says ``"status": "running"`` from the start
and ``"complete"`` only after every replicate is stored and the tables are
written (each file is written to a temporary name and renamed). A run killed
at any point is therefore read as incomplete, and ``resume`` finishes it:
every replicate stream in the store was written and sealed in one
transaction with its chunk, so the missing ones are exactly those to run.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import attrs

from sim import outcomes as oc
from sim.engine import Engine
from sim.errors import InputError, Problem
from sim.events import Event, shared_data
from sim.limits import check_jobs
from sim.runfailures import OutFolderError, check_not_file, connect_dask, run_failures
from sim.runfolder import (  # noqa: F401  (re-exported: sim.runner's public names)
    COPIES,
    FORMAT,
    MANIFEST,
    OUTCOMES,
    REPLICATES,
    SCENARIO,
    STORE,
    TABLES,
    WORKERS_LOCK,
    FolderLock,
    Run,
    RunError,
    _atomic_write,
    _json_float,
    _run_digest,
    _versions,
    _write_replicates_csv,
    _write_scenario_copy,
    check_files,
    check_no_stale_workers,
    claim_folder,
    clear_run_folder,
    default_folder,
    file_digests,
    is_run_folder,
    open_run,
    per_draw_of,
    prefix_stream,
    read_manifest,
    remove_workers_lock,
    replicate_stream,
)
from sim.scenario import Scenario, load_scenario
from sim.seeding import replicate_rng
from sim.store import SQLiteStore, open_store

EXECUTORS = ("auto", "serial", "processes", "dask")


# --------------------------------------------------------------------------- worker side

@attrs.frozen
class ReplicateResult:
    """What a worker sends back for one replicate.

    ``rows`` are the replicate's events as plain tuples (version, time, kind, actor,
    target, data dict or None, cause, rule, origin, source): they pickle several
    times faster than Event records, and the parent rebuilds the events it stores.
    """

    branch: int
    replicate: int
    rows: tuple[tuple, ...] = ()
    values: dict[str, float] = attrs.field(factory=dict)
    error: str | None = None
    records: tuple[Event, ...] = ()   # the events themselves, when they stay in-process
    broken: tuple[int, ...] = ()      # indexes of the world's invariants this replicate broke
    parameters: dict[str, Any] = attrs.field(factory=dict)   # drawn `uncertain:` values

    def events(self, stream: str) -> list[Event]:
        return list(self.records) if self.records else _events_from_rows(stream, self.rows)

    @property
    def has_events(self) -> bool:
        return bool(self.records or self.rows)


def _rows(events: Sequence[Event]) -> tuple[tuple, ...]:
    return tuple((e.version, e.time, e.kind, e.actor, e.target, dict(e.data) if e.data else None,
                  e.cause, e.rule, e.origin, e.source) for e in events)


def _events_from_rows(stream: str, rows: Sequence[tuple]) -> list[Event]:
    """Events from rows; equal data payloads share one read-only mapping."""
    return [Event(stream, v, t, k, a, tg, shared_data(d), c, ru, o, src)
            for v, t, k, a, tg, d, c, ru, o, src in rows]


# Engines are built once per (scenario, branch) in each process. The cache holds the
# scenario object itself, so its id cannot be reused by another scenario while cached.
_ENGINES: dict[int, tuple[Scenario, dict[int, Engine]]] = {}


def _engine(scenario: Scenario, b: int) -> Engine:
    entry = _ENGINES.get(id(scenario))
    if entry is None or entry[0] is not scenario:
        if len(_ENGINES) >= 8:
            _ENGINES.clear()
        entry = (scenario, {})
        _ENGINES[id(scenario)] = entry
    engines = entry[1]
    eng = engines.get(b)
    if eng is None:
        br = scenario.branches[b]
        eng = engines[b] = Engine(br.world, br.history, br.fork, br.horizon,
                                  inject=br.inject, suppress=br.suppress,
                                  uncertainty=br.uncertainty)
    return eng


def simulate_chunk(scenario: Scenario, b: int, start: int, stop: int,
                   as_rows: bool = True) -> list[ReplicateResult]:
    """Simulate replicates ``start..stop-1`` of branch ``b`` (runs in a worker).

    ``as_rows``: return the events as plain tuples, to be sent to another process;
    otherwise as the Event records themselves (for a writer in this process).
    """
    br = scenario.branches[b]
    eng = _engine(scenario, b)
    prefix = eng.prefix
    evaluate = oc.Evaluator(scenario.outcomes, br.world, br.fork, br.horizon)
    out = []
    drawn: dict[str, Any] = {}
    point = -1
    for i in range(start, stop):
        stream = replicate_stream(br.name, i)
        try:
            # this replicate's parameter values: draw i // replicates_per_draw, shared with
            # the other replicates of its group (sim.uncertainty, sim.paramspread)
            if br.uncertain and i // scenario.replicates_per_draw != point:
                eng, evaluate, drawn = _drawn_engine(scenario, br,
                                                     i // scenario.replicates_per_draw)
                prefix = eng.prefix
                point = i // scenario.replicates_per_draw
            events = eng.run(replicate_rng(scenario.seed, i), stream)
            values = evaluate([*prefix, *events])
            broken = tuple(sorted({j for j, _, _ in eng.violations}))
            out.append(ReplicateResult(b, i, _rows(events), values, broken=broken,
                                       parameters=drawn) if as_rows
                       else ReplicateResult(b, i, values=values, records=tuple(events),
                                            broken=broken, parameters=drawn))
        except InputError:  # the world itself is wrong (e.g. a runaway loop): stop the run
            raise
        except Exception as exc:  # a failing replicate is recorded, not fatal
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            out.append(ReplicateResult(b, i, error=tb))
    return out


def _drawn_engine(scenario: Scenario, br: Any, point: int) -> tuple[Engine, Any, dict]:
    """The engine and evaluator of parameter draw ``point`` (replicates
    ``point * replicates_per_draw`` onwards), with its drawn values set."""
    from sim import uncertainty

    drawn = uncertainty.draw(br.uncertain, scenario.seed, point,
                             uncertainty.integer_path(br.world))
    world = uncertainty.check_draw(br.world, drawn)
    # with the branch's history uncertainty too, as the branch's own engine (_engine)
    eng = Engine(world, br.history, br.fork, br.horizon, inject=br.inject, suppress=br.suppress,
                 uncertainty=br.uncertainty)
    return eng, oc.Evaluator(scenario.outcomes, world, br.fork, br.horizon), drawn


_WORKER: dict[str, Any] = {}


def _init_worker(scenario: Scenario, store_path: str | None, prefix_len: list[int],
                 parent_pid: int | None = None) -> None:
    """A local worker process: it simulates its chunks and, when it shares the run
    folder's disk, writes them itself (one transaction per chunk, like the parent).

    It stops when the run's process dies (see :func:`_die_with_parent`) and holds the
    folder's workers lock while alive, so no later resume writes beside it."""
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    _WORKER.update(scenario=scenario, prefix_len=prefix_len,
                   store=_worker_store(store_path) if store_path else None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def _worker_store(store_path: str) -> SQLiteStore:
    """Open the run's store in a worker, holding the folder's workers lock (shared)."""
    lock = FolderLock(Path(store_path).parent, WORKERS_LOCK, shared=True).acquire(wait=30)
    _WORKER.setdefault("locks", []).append(lock)   # held until the process ends
    return SQLiteStore(store_path)


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker stop when the run's process dies, however it dies.

    On Linux the kernel sends SIGKILL when the worker's parent (the pool's fork server,
    which exits with the run's process) dies: ``prctl(PR_SET_PDEATHSIG)``. Everywhere, a
    daemon thread also polls the run's pid twice a second and exits when it is gone.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)   # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    import threading

    def watch() -> None:
        while True:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:   # the pid now belongs to another user's process
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="sim-parent-watch", daemon=True).start()


def _worker_chunk(b: int, start: int, stop: int) -> list[ReplicateResult]:
    store = _WORKER["store"]
    results = simulate_chunk(_WORKER["scenario"], b, start, stop, as_rows=store is None)
    if store is None:
        return results
    return _store_and_trim(store, _WORKER["scenario"], _WORKER["prefix_len"], results)


def _store_and_trim(store: SQLiteStore, scenario: Scenario, prefix_len: list[int],
                    results: list[ReplicateResult]) -> list[ReplicateResult]:
    _write_results(store, scenario, prefix_len, results)
    # the events are stored: send back only what the parent counts
    return [attrs.evolve(r, rows=(), records=()) for r in results]


_STORES: dict[str, SQLiteStore] = {}


def simulate_chunk_into(scenario: Scenario, b: int, start: int, stop: int, store_path: str,
                        prefix_len: list[int]) -> list[ReplicateResult]:
    """A Dask task on a worker that shares the run folder's disk: simulate and write."""
    store = _STORES.get(store_path)
    if store is None:
        store = _STORES[store_path] = _worker_store(store_path)
    return _store_and_trim(store, scenario, prefix_len,
                           simulate_chunk(scenario, b, start, stop, as_rows=False))


# --------------------------------------------------------------------------- executors

class SerialExecutor:
    """Runs each chunk in this process when submitted.

    Every executor has: ``name``, ``jobs``, ``submit(b, start, stop) -> future``
    (of a list of ReplicateResult), ``wait(pending) -> (done, not_done)`` and
    ``close(cancel=False)``.
    """

    name = "serial"
    writes = False

    def __init__(self, scenario: Scenario, jobs: int = 1):
        self.scenario = scenario
        self.jobs = 1

    def submit(self, b: int, start: int, stop: int) -> Future:
        f: Future = Future()
        try:
            f.set_result(simulate_chunk(self.scenario, b, start, stop, as_rows=False))
        except BaseException as exc:  # pragma: no cover - simulate_chunk catches per replicate
            f.set_exception(exc)
        return f

    def wait(self, pending: set) -> tuple[set, set]:
        return _wait_first(pending)

    def close(self, cancel: bool = False) -> None:
        pass


class ProcessExecutor:
    """A local process pool; workers receive the scenario once, at start, and write
    their chunks into the run's store themselves (``writes = True``)."""

    name = "processes"
    writes = True

    def __init__(self, scenario: Scenario, jobs: int | None = None,
                 store_path: str | None = None, prefix_len: list[int] | None = None):
        import multiprocessing as mp

        self.jobs = jobs or os.cpu_count() or 1
        self.writes = store_path is not None
        # forkserver: safe with threads (Jupyter, tqdm) and cheaper than spawn
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self.pool = ProcessPoolExecutor(self.jobs, mp_context=mp.get_context(method),
                                        initializer=_init_worker,
                                        initargs=(scenario, store_path, prefix_len or [],
                                                  os.getpid()))

    def submit(self, b: int, start: int, stop: int) -> Future:
        return self.pool.submit(_worker_chunk, b, start, stop)

    def wait(self, pending: set) -> tuple[set, set]:
        return _wait_first(pending)

    def close(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskExecutor:
    """dask.distributed: a scheduler at ``address``, or a LocalCluster of ``jobs`` workers."""

    name = "dask"

    def __init__(self, scenario: Scenario, jobs: int | None = None, address: str | None = None,
                 store_path: str | None = None, prefix_len: list[int] | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise RunError("the dask executor needs dask.distributed: "
                           "pip install 'sim[dask]'") from None
        self.jobs = jobs or os.cpu_count() or 1
        self.cluster = None
        if address:
            self.client = connect_dask(Client, address)
        else:
            self.cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1,
                                        processes=True, dashboard_address=None,
                                        silence_logs=40)
            self.client = Client(self.cluster)
        self.scenario_future = self.client.scatter(scenario, broadcast=True)
        # A LocalCluster's workers share this disk, so they write their own chunks; a
        # remote cluster's may not, so they send their events back to be written here.
        self.writes = address is None and store_path is not None
        self.store_path, self.prefix_len = store_path, prefix_len or []

    def submit(self, b: int, start: int, stop: int) -> Future:
        if self.writes:
            return self.client.submit(simulate_chunk_into, self.scenario_future, b, start, stop,
                                      self.store_path, self.prefix_len, pure=False)
        return self.client.submit(simulate_chunk, self.scenario_future, b, start, stop,
                                  pure=False)

    def wait(self, pending: set) -> tuple[set, set]:
        from dask.distributed import wait as dask_wait

        done, not_done = dask_wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done), set(not_done)

    def close(self, cancel: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _wait_first(pending: set) -> tuple[set, set]:
    done, not_done = wait(pending, return_when=FIRST_COMPLETED)
    return set(done), set(not_done)


def _in_jupyter() -> bool:
    return "ipykernel" in sys.modules


def _serial_if_unguarded_main(kind: str) -> str:
    """Local workers would re-run an unguarded main script (see sim.mainguard)."""
    from sim.mainguard import NOTE, unguarded_main_call

    if unguarded_main_call():
        print(NOTE, file=sys.stderr)
        return "serial"
    return kind


def make_executor(kind: str, scenario: Scenario, jobs: int | None, scheduler: str | None,
                  total: int, store_path: str | None = None,
                  prefix_len: list[int] | None = None):
    if kind not in EXECUTORS:
        raise InputError(Problem(None, None, None, f"unknown executor '{kind}'",
                                 "expected one of: " + ", ".join(EXECUTORS)))
    check_jobs(jobs)
    if scheduler and kind in ("auto", "dask"):
        kind = "dask"
    if kind == "auto":
        cores = jobs or os.cpu_count() or 1
        kind = "serial" if (cores == 1 or total < 2000 or _in_jupyter()) else "processes"
    if kind == "processes" or (kind == "dask" and not scheduler):
        kind = _serial_if_unguarded_main(kind)
    if kind == "serial":
        return SerialExecutor(scenario)
    if kind == "processes":
        return ProcessExecutor(scenario, jobs, store_path, prefix_len)
    return DaskExecutor(scenario, jobs, scheduler, store_path, prefix_len)


# --------------------------------------------------------------------------- the run itself

def _chunks(scenario: Scenario, done: set[tuple[int, int]], size: int) -> Iterator[tuple]:
    for b in range(len(scenario.branches)):
        i = 0
        n = scenario.replicates
        while i < n:
            if (b, i) in done:
                i += 1
                continue
            j = i
            while j < n and j - i < size and (b, j) not in done:
                j += 1
            yield (b, i, j)
            i = j


def _chunk_size(total: int, jobs: int) -> int:
    return max(1, min(250, total // (jobs * 8) or 1))


def _progress(total: int, initial: int, enabled: bool | None, desc: str):
    """A tqdm bar on a terminal (or a notebook widget when ipywidgets is there); silent
    when output is not a terminal or ``enabled`` is False."""
    if enabled is None:
        enabled = sys.stderr.isatty() or _in_jupyter()
    from tqdm import tqdm

    if enabled and _in_jupyter():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm
        except ImportError:
            pass
    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc,
                unit="rep", smoothing=0.1, dynamic_ncols=True)


def _write_results(store: SQLiteStore, scenario: Scenario, prefix_len: list[int],
                   results: Sequence[ReplicateResult]) -> list[tuple[str, str | None]]:
    """One transaction for a whole chunk: fork, append, seal each replicate stream."""
    digests = []
    with store.batch():
        for r in results:
            br = scenario.branches[r.branch]
            stream = replicate_stream(br.name, r.replicate)
            meta = {"branch": br.name, "replicate": r.replicate}
            if r.error is not None:
                meta.update(status="failed", error=r.error)
                store.fork(prefix_stream(br.name), prefix_len[r.branch], stream, meta)
                digests.append((stream, None))
                continue
            meta.update(status="ok", outcomes={k: _json_float(v) for k, v in r.values.items()})
            if r.broken:
                meta["broken"] = list(r.broken)
            if r.parameters:
                meta["parameters"] = r.parameters
            store.fork(prefix_stream(br.name), prefix_len[r.branch], stream, meta)
            if r.has_events:
                store.append(stream, r.events(stream), prefix_len[r.branch])
            digests.append((stream, store.seal(stream)))
    return digests




def run(scenario: Scenario | str | os.PathLike, *, out: str | os.PathLike | None = None,
        replicates: int | None = None, seed: int | None = None, executor: str = "auto",
        jobs: int | None = None, scheduler: str | None = None, progress: bool | None = None,
        force: bool = False, replicates_per_draw: int | None = None) -> Run:
    """Run a scenario into a new run folder and return the opened :class:`Run`.

    ``out`` defaults to ``runs/<name>-<timestamp>``. An existing complete run
    folder is refused unless ``force``; an incomplete one is refused too (use
    :func:`resume`, or ``force`` to start again). ``replicates``, ``seed`` and
    ``replicates_per_draw`` override the scenario file's values.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if replicates is not None or seed is not None or replicates_per_draw is not None:
        scenario = scenario.replace(replicates=replicates, seed=seed,
                                    replicates_per_draw=replicates_per_draw)
    if scenario.replicates < 1:
        raise InputError("replicates must be at least 1")
    folder = Path(out) if out is not None else default_folder(scenario)
    check_not_file(folder)
    lock, created = claim_folder(folder, force)
    try:
        return _start(scenario, folder, created, executor, jobs, scheduler, progress)
    finally:
        lock.release()


def _start(scenario: Scenario, folder: Path, created: bool, executor: str, jobs: int | None,
           scheduler: str | None, progress: bool | None) -> Run:
    """Write a new run's first files into the claimed (locked) ``folder`` and run it."""
    try:
        _write_scenario_copy(scenario, folder)
        manifest = {
            "format": FORMAT,
            "status": "running",
            "scenario": scenario.name,
            "scenario_file": str(scenario.file),
            "seed": scenario.seed,
            "replicates": scenario.replicates,
            "branches": [b.name for b in scenario.branches],
            "versions": _versions(),
            # branches whose replicates draw `uncertain:` parameters: their estimates
            # average over these distributions (values per replicate in replicates.csv)
            **({"uncertain": {b.name: {p: d.describe() for p, d in b.uncertain.items()}
                              for b in scenario.branches if b.uncertain},
                "replicates_per_draw": scenario.replicates_per_draw}
               if any(b.uncertain for b in scenario.branches) else {}),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "files": file_digests(folder, COPIES),
        }
        _atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
        store = SQLiteStore(folder / STORE, create=True)
    except BaseException as exc:
        _discard(folder, created)
        if isinstance(exc, OSError):
            raise OutFolderError(f"cannot write the run folder {folder}: "
                                 f"{exc.strerror or exc}") from None
        raise
    try:
        with run_failures(folder):
            return _execute(folder, scenario, store, manifest, executor, jobs, scheduler,
                            progress)
    except InputError:  # bad input found while running: leave nothing half-written
        store.close()
        _discard(folder, created)
        raise


def _discard(folder: Path, created: bool) -> None:
    """Remove what this run wrote: the folder if it made it, else its contents."""
    if created:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            clear_run_folder(folder)


def resume(folder: str | os.PathLike, *, executor: str = "auto", jobs: int | None = None,
           scheduler: str | None = None, progress: bool | None = None) -> Run:
    """Finish an interrupted run: simulate the replicates its store does not hold.

    The folder is locked for the time of the resume, and its copies of the model must
    be those the run started with (their digests in the manifest)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("status") == "complete":
        raise RunError(f"{folder} is already complete; nothing to resume")
    lock = FolderLock(folder).acquire()
    try:
        manifest = read_manifest(folder)   # again, under the lock
        if manifest.get("status") == "complete":
            raise RunError(f"{folder} is already complete; nothing to resume")
        changed = check_files(folder, manifest, COPIES)
        if changed:
            raise RunError(f"{folder}: cannot resume, the run's copy of its model is not the "
                           "one it started with:\n  " + "\n  ".join(changed)
                           + "\n(start a new run with the changed model instead)")
        check_no_stale_workers(folder)
        scenario = per_draw_of(load_scenario(folder / SCENARIO), manifest)
        store = open_store(folder / STORE)
        with run_failures(folder):
            return _execute(folder, scenario, store, manifest, executor, jobs, scheduler,
                            progress)
    finally:
        lock.release()


def _execute(folder: Path, scenario: Scenario, store: SQLiteStore, manifest: dict,
             executor: str, jobs: int | None, scheduler: str | None,
             progress: bool | None) -> Run:
    t0 = time.perf_counter()
    # prefix streams (history before the fork), one per branch, written once
    # what the store already holds (a resumed run): prefixes, and finished replicates
    index = {b.name: i for i, b in enumerate(scenario.branches)}
    existing: set[str] = set()
    done: set[tuple[int, int]] = set()
    for info in store.iter_infos():
        existing.add(info.name)
        m = info.meta
        if not m.get("prefix") and "replicate" in m and m.get("branch") in index:
            done.add((index[m["branch"]], m["replicate"]))
    prefix_len = []
    with store.batch():
        for b, br in enumerate(scenario.branches):
            eng = _engine(scenario, b)
            name = prefix_stream(br.name)
            prefix_len.append(len(eng.prefix))
            if name not in existing:
                store.create(name, {"branch": br.name, "prefix": True})
                if eng.prefix:
                    store.append(name, [e.evolve(stream=name) for e in eng.prefix], 0)
                store.seal(name)
    total = len(scenario.branches) * scenario.replicates
    ex = make_executor(executor, scenario, jobs, scheduler, total - len(done),
                       str(folder / STORE), prefix_len)
    manifest["executor"] = ex.name
    manifest["jobs"] = ex.jobs
    size = _chunk_size(total - len(done), ex.jobs)
    failed = 0
    bar = _progress(total, len(done), progress, scenario.name)
    t_sim = time.perf_counter()
    try:
        pending: set[Future] = set()
        chunks = _chunks(scenario, done, size)
        limit = ex.jobs * 3
        while True:
            while len(pending) < limit:
                nxt = next(chunks, None)
                if nxt is None:
                    break
                pending.add(ex.submit(*nxt))
            if not pending:
                break
            finished, pending = ex.wait(pending)
            for fut in finished:
                results = fut.result()
                if not ex.writes:
                    _write_results(store, scenario, prefix_len, results)
                failed += sum(r.error is not None for r in results)
                bar.update(len(results))
        ex.close()
    except BaseException as exc:
        bar.close()
        ex.close(cancel=True)
        if isinstance(exc, KeyboardInterrupt):
            exc.run_folder = str(folder)  # type: ignore[attr-defined]  # for the CLI's message
        manifest["status"] = "incomplete"
        manifest["interrupted"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        _atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
        store.close()
        raise
    bar.close()
    t_written = time.perf_counter()
    runobj = Run(folder, allow_incomplete=True, store=store, scenario=scenario)
    table = runobj.outcome_table()
    table.to_csv(folder / OUTCOMES)
    _write_replicates_csv(runobj, folder / REPLICATES)
    digests = runobj.digests()
    store.checkpoint()   # the store file alone holds the run (read-only readers need no WAL)
    manifest.update(
        status="complete",
        finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        counts={"streams": len(digests), "replicates": total, "failed": failed,
                "events": store.count_events() if hasattr(store, "count_events") else None},
        timings={"simulate_and_store_s": round(t_written - t_sim, 3),
                 "total_s": round(time.perf_counter() - t0, 3)},
        run_digest=_run_digest(digests),
        meta_digest=runobj.meta_digest(),
        files={**file_digests(folder, COPIES), **file_digests(folder, TABLES)},
        digests=digests,
    )
    if any(br.world.invariants for br in scenario.branches):
        from sim.invariants import summarise

        manifest["invariants"] = summarise(scenario, (i.meta for i in store.iter_infos()))
    if failed:
        manifest["status_note"] = (f"{failed} of {total} replicates failed; the estimates "
                                   "leave them out (see replicates.csv)")
    _atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
    remove_workers_lock(folder)
    runobj.manifest = manifest
    return runobj


def verify(folder: str | os.PathLike, resimulate: int = 0,
           on_progress: Callable[[int], None] | None = None) -> list[str]:
    """Check a run folder; see :func:`sim.verify.verify` (kept here for existing callers)."""
    from sim.verify import verify as _verify

    return _verify(folder, resimulate=resimulate, on_progress=on_progress)
