"""Monte Carlo runs: branches x replicates, seeds, executors and the run folder.

A run takes a resolved :class:`~sim.scenario.Scenario`, simulates every
(branch, replicate) with the engine, and streams the events into a SQLite
event store inside a **run folder**::

    runs/baseline-20261121-194500/
      manifest.json     versions, seed, status, counts, timings, stream digests
      scenario.yaml     the resolved scenario (extends merged, overrides applied)
      world.yaml        copies of the world and history it used, so the folder
      history.yaml      alone can be re-read, resumed, verified and re-plotted
      events.sqlite     the event store: one prefix stream per branch (history
                        before the fork) and one stream per replicate forked from it
      outcomes.csv      the outcome table (branch x outcome, estimate and interval)
      replicates.csv    one row per replicate: its outcome values, and the parameter
                        values it drew when the scenario declares ``uncertain:``
      figures/          written by ``sim plot``

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

import csv
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from sim import outcomes as oc
from sim.engine import Engine
from sim.errors import InputError, Problem, SimError
from sim.events import Event, shared_data
from sim.scenario import Scenario, load_scenario
from sim.seeding import replicate_rng
from sim.store import SQLiteStore, open_store

MANIFEST = "manifest.json"
STORE = "events.sqlite"
SCENARIO = "scenario.yaml"
OUTCOMES = "outcomes.csv"
REPLICATES = "replicates.csv"
FORMAT = 1

EXECUTORS = ("auto", "serial", "processes", "dask")


class RunError(SimError):
    """A run folder that cannot be used as asked (exit status 2)."""


def prefix_stream(branch: str) -> str:
    return f"{branch}/history"


def replicate_stream(branch: str, i: int) -> str:
    return f"{branch}/{i}"


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
                                  inject=br.inject, suppress=br.suppress)
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
    for i in range(start, stop):
        stream = replicate_stream(br.name, i)
        try:
            if br.uncertain:   # this replicate's own parameter values (sim.uncertainty)
                eng, evaluate, drawn = _drawn_engine(scenario, br, i)
            events = eng.run(replicate_rng(scenario.seed, i), stream)
            values = evaluate([*prefix, *events])
            out.append(ReplicateResult(b, i, _rows(events), values, parameters=drawn)
                       if as_rows else ReplicateResult(b, i, values=values,
                                                       records=tuple(events),
                                                       parameters=drawn))
        except InputError:  # the world itself is wrong (e.g. a runaway loop): stop the run
            raise
        except Exception as exc:  # a failing replicate is recorded, not fatal
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            out.append(ReplicateResult(b, i, error=tb))
    return out


def _drawn_engine(scenario: Scenario, br: Any, i: int) -> tuple[Engine, Any, dict]:
    """Replicate ``i``'s engine and evaluator, with its drawn parameter values set."""
    from sim import uncertainty

    drawn = uncertainty.draw(br.uncertain, scenario.seed, i, uncertainty.integer_path(br.world))
    world = uncertainty.check_draw(br.world, drawn)
    eng = Engine(world, br.history, br.fork, br.horizon, inject=br.inject, suppress=br.suppress)
    return eng, oc.Evaluator(scenario.outcomes, world, br.fork, br.horizon), drawn


_WORKER: dict[str, Any] = {}


def _init_worker(scenario: Scenario, store_path: str | None, prefix_len: list[int]) -> None:
    """A local worker process: it simulates its chunks and, when it shares the run
    folder's disk, writes them itself (one transaction per chunk, like the parent)."""
    _WORKER.update(scenario=scenario, prefix_len=prefix_len,
                   store=SQLiteStore(store_path) if store_path else None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


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
        store = _STORES[store_path] = SQLiteStore(store_path)
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
                                        initargs=(scenario, store_path, prefix_len or []))

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
            try:
                self.client = Client(address, timeout="10s")
            except OSError as exc:
                raise RunError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
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


def make_executor(kind: str, scenario: Scenario, jobs: int | None, scheduler: str | None,
                  total: int, store_path: str | None = None,
                  prefix_len: list[int] | None = None):
    if kind not in EXECUTORS:
        raise InputError(Problem(None, None, None, f"unknown executor '{kind}'",
                                 "expected one of: " + ", ".join(EXECUTORS)))
    if scheduler and kind in ("auto", "dask"):
        kind = "dask"
    if kind == "auto":
        cores = jobs or os.cpu_count() or 1
        kind = "serial" if (cores == 1 or total < 2000 or _in_jupyter()) else "processes"
    if kind == "serial":
        return SerialExecutor(scenario)
    if kind == "processes":
        return ProcessExecutor(scenario, jobs, store_path, prefix_len)
    return DaskExecutor(scenario, jobs, scheduler, store_path, prefix_len)


# --------------------------------------------------------------------------- run folder files

def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("sim", "simpy", "attrs", "numpy", "matplotlib", "PyYAML", "tqdm", "dask",
                 "distributed"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if Path(folder).is_file():
        raise RunError(f"{folder}: is a file, not a run folder (to run a scenario file: "
                       f"sim run {folder})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{folder}: not a run folder (no {MANIFEST}; runs are made by "
                       "sim run SCENARIO)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: damaged manifest ({exc})") from None


def default_folder(scenario: Scenario, root: Path = Path("runs")) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"{scenario.name}-{stamp}"


def _write_scenario_copy(scenario: Scenario, folder: Path) -> None:
    """The resolved scenario with copies of its world and history, so the folder stands alone."""
    resolved = dict(scenario.resolved)
    resolved.pop("extends", None)
    resolved["world"] = "world.yaml"
    resolved["history"] = "history.yaml"
    resolved["replicates"] = scenario.replicates
    resolved["seed"] = scenario.seed
    shutil.copyfile(scenario.world_file, folder / "world.yaml")
    shutil.copyfile(scenario.history_file, folder / "history.yaml")
    _atomic_write(folder / SCENARIO,
                  f"# resolved from {scenario.file}\n"
                  + yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))


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
            if r.parameters:
                meta["parameters"] = r.parameters
            store.fork(prefix_stream(br.name), prefix_len[r.branch], stream, meta)
            if r.has_events:
                store.append(stream, r.events(stream), prefix_len[r.branch])
            digests.append((stream, store.seal(stream)))
    return digests


def _json_float(v: float) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return None if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _from_json_float(v: Any) -> float:
    if v is None:
        return float("nan")
    if v == "inf":
        return float("inf")
    if v == "-inf":
        return float("-inf")
    return float(v)


def run(scenario: Scenario | str | os.PathLike, *, out: str | os.PathLike | None = None,
        replicates: int | None = None, seed: int | None = None, executor: str = "auto",
        jobs: int | None = None, scheduler: str | None = None, progress: bool | None = None,
        force: bool = False) -> Run:
    """Run a scenario into a new run folder and return the opened :class:`Run`.

    ``out`` defaults to ``runs/<name>-<timestamp>``. An existing complete run
    folder is refused unless ``force``; an incomplete one is refused too (use
    :func:`resume`, or ``force`` to start again).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if replicates is not None or seed is not None:
        scenario = scenario.replace(replicates=replicates, seed=seed)
    if scenario.replicates < 1:
        raise InputError("replicates must be at least 1")
    folder = Path(out) if out is not None else default_folder(scenario)
    if folder.exists() and any(folder.iterdir()):
        if not force:
            try:
                status = read_manifest(folder).get("status")
            except RunError:
                status = None
            what = {"complete": "a complete run", None: "a folder that is not empty"}.get(
                status, "an incomplete run (resume it with: sim run --resume "
                        f"{folder})")
            raise RunError(f"{folder} already holds {what}; use --force to overwrite it, "
                           "or --out to choose another folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
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
                              for b in scenario.branches if b.uncertain}}
               if any(b.uncertain for b in scenario.branches) else {}),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        _atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
        store = SQLiteStore(folder / STORE, create=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        return _execute(folder, scenario, store, manifest, executor, jobs, scheduler, progress)
    except InputError:  # bad input found while running: leave nothing half-written
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise


def resume(folder: str | os.PathLike, *, executor: str = "auto", jobs: int | None = None,
           scheduler: str | None = None, progress: bool | None = None) -> Run:
    """Finish an interrupted run: simulate the replicates its store does not hold."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("status") == "complete":
        raise RunError(f"{folder} is already complete; nothing to resume")
    scenario = load_scenario(folder / SCENARIO)
    store = open_store(folder / STORE)
    return _execute(folder, scenario, store, manifest, executor, jobs, scheduler, progress)


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
    manifest.update(
        status="complete",
        finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        counts={"streams": len(digests), "replicates": total, "failed": failed,
                "events": store.count_events() if hasattr(store, "count_events") else None},
        timings={"simulate_and_store_s": round(t_written - t_sim, 3),
                 "total_s": round(time.perf_counter() - t0, 3)},
        run_digest=_run_digest(digests),
        digests=digests,
    )
    _atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
    runobj.manifest = manifest
    return runobj


def _run_digest(digests: dict[str, str | None]) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in sorted(digests):
        h.update(f"{name}={digests[name]}\n".encode())
    return h.hexdigest()


def _write_replicates_csv(run: Run, path: Path) -> None:
    ids = [o.id for o in run.scenario.outcomes]
    # drawn parameter values (scenario `uncertain:`), one column per path: "param:PATH"
    params = list(dict.fromkeys(p for b in run.scenario.branches for p in b.uncertain))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["branch", "replicate", "status", *ids, "error",
                    *(f"param:{p}" for p in params)])
        for name in run.branch_names():
            vals = run.outcome_values(name)
            drawn = run.drawn_parameters(name)
            errors = {rep: err for _, rep, err in run.failed(name)}
            for rep in range(run.scenario.replicates):
                ps = [_csv_value(drawn[p][rep]) if p in drawn else "" for p in params]
                if rep in errors:
                    w.writerow([name, rep, "failed", *[""] * len(ids), errors[rep], *ps])
                else:
                    w.writerow([name, rep, "ok", *[_csv_value(vals[k][rep]) for k in ids], "",
                                *ps])
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _csv_value(v: float) -> str:
    if np.isnan(v):
        return ""
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


# --------------------------------------------------------------------------- reading a run

class Run:
    """An opened run folder: its scenario, store, outcomes and events.

    >>> # run = sim.run("scenarios/s400/baseline.yaml"); run.outcomes
    """

    def __init__(self, folder: str | os.PathLike, *, allow_incomplete: bool = False,
                 store: SQLiteStore | None = None, scenario: Scenario | None = None):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self.complete = self.manifest.get("status") == "complete"
        if not self.complete and not allow_incomplete:
            raise RunError(f"{self.folder} is an incomplete run (status: "
                           f"{self.manifest.get('status')}); finish it with: "
                           f"sim run --resume {self.folder}")
        self.scenario = scenario or load_scenario(self.folder / SCENARIO)
        self.store = store or open_store(self.folder / STORE)
        self._values: dict[str, dict[str, np.ndarray]] | None = None
        self._failed: dict[str, list[tuple[int, str]]] = {}
        self._digests: dict[str, str | None] = {}
        self._table = None

    # ---- the interface plots, stories and notebooks use

    def branch_names(self) -> list[str]:
        return [b.name for b in self.scenario.branches]

    def branch(self, name: str):
        for b in self.scenario.branches:
            if b.name == name:
                return b
        from sim.errors import did_you_mean

        raise InputError(Problem(self.folder, None, None, f"no branch '{name}' in this run",
                                 did_you_mean(name, self.branch_names())))

    def world(self, branch: str | None = None):
        return self.branch(branch or self.branch_names()[0]).world

    def replicate_events(self, branch: str, i: int) -> list[Event]:
        self.branch(branch)
        if not 0 <= i < self.scenario.replicates:
            raise InputError(Problem(self.folder, None, None,
                                     f"replicate {i} is out of range",
                                     f"this run has replicates 0..{self.scenario.replicates - 1}"))
        return self.store.read(replicate_stream(branch, i))

    def iter_events(self, branch: str, block: int = 500) -> Iterator[list[Event]]:
        """Every replicate's full stream, in replicate order (read in blocks, so memory
        stays bounded whatever the number of replicates)."""
        self.branch(branch)
        n = self.scenario.replicates
        for start in range(0, n, block):
            names = [replicate_stream(branch, i) for i in range(start, min(n, start + block))]
            got = dict(self.store.iter_streams(names))
            for name in names:
                yield got.get(name, [])

    def first_times(self, branch: str, kind: str) -> np.ndarray:
        ft = self.store.first_times(kind)
        return np.array([ft.get(replicate_stream(branch, i), np.inf)
                         for i in range(self.scenario.replicates)], dtype=float)

    def _scan(self) -> None:
        """One pass over the store's stream records: per-replicate outcome values,
        failures and digests, without keeping a record per stream in memory."""
        if self._values is not None:
            return
        n = self.scenario.replicates
        ids = [o.id for o in self.scenario.outcomes]
        values = {b: {k: np.full(n, np.nan) for k in ids} for b in self.branch_names()}
        failed: dict[str, list[tuple[int, str]]] = {b: [] for b in self.branch_names()}
        digests: dict[str, str | None] = {}
        drawn: dict[str, dict[str, np.ndarray]] = {
            b.name: {p: np.full(n, np.nan) for p in b.uncertain} for b in self.scenario.branches}
        for info in self.store.iter_infos():
            digests[info.name] = info.digest
            m = info.meta
            if m.get("prefix") or "replicate" not in m or m.get("branch") not in values:
                continue
            b, i = m["branch"], m["replicate"]
            if m.get("status") == "failed":
                failed[b].append((i, m.get("error", "")))
            if not 0 <= i < n:
                continue
            vals = values[b]
            for k, v in m.get("outcomes", {}).items():
                if k in vals:
                    vals[k][i] = _from_json_float(v)
            for k, v in m.get("parameters", {}).items():
                if k in drawn[b]:
                    drawn[b][k][i] = float(v)
        for f in failed.values():
            f.sort()
        self._values, self._failed, self._digests = values, failed, digests
        self._drawn = drawn

    def drawn_parameters(self, branch: str) -> dict[str, np.ndarray]:
        """Per-replicate values each ``uncertain:`` path drew (empty when none)."""
        self.branch(branch)
        self._scan()
        return self._drawn[branch]

    def outcome_values(self, branch: str) -> dict[str, np.ndarray]:
        """Per-replicate values of each outcome (NaN for failed or missing replicates)."""
        self.branch(branch)
        self._scan()
        return self._values[branch]

    def failed(self, branch: str | None = None) -> list[tuple[str, int, str]]:
        """(branch, replicate, error) of every replicate that failed."""
        self._scan()
        names = [branch] if branch else self.branch_names()
        return [(b, rep, err) for b in names for rep, err in self._failed[b]]

    def digests(self) -> dict[str, str | None]:
        """Stream name -> digest, for every stream in the store."""
        self._scan()
        return self._digests

    def outcome_table(self):
        if self._table is None:
            # NaN marks a failed (or missing) replicate: summaries use the others
            present = {b: {k: v[~np.isnan(v)] for k, v in self.outcome_values(b).items()}
                       for b in self.branch_names()}
            types = {v.name: v.type for v in self.world().variables.values()}
            self._table = oc.OutcomeTable.from_values(self.scenario.outcomes, present,
                                                      var_types=types)
        return self._table

    @property
    def outcomes(self):
        """The outcome table (prints as text, displays in Jupyter; ``.to_pandas()``)."""
        return self.outcome_table()

    def to_pandas(self):
        return self.outcome_table().to_pandas()

    def sources(self, branch: str | None = None):
        b = self.branch(branch or self.branch_names()[0])
        doc = getattr(b, "history_doc", None)
        return doc.sources if doc is not None else {}

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Run({str(self.folder)!r}, scenario={self.scenario.name!r}, "
                f"branches={self.branch_names()}, replicates={self.scenario.replicates}, "
                f"status={self.manifest.get('status')!r})")

    def _repr_html_(self) -> str:
        head = (f"<p><b>Run</b> <code>{self.folder}</code>: scenario "
                f"<b>{self.scenario.name}</b>, {len(self.branch_names())} branch(es) x "
                f"{self.scenario.replicates} replicates, status {self.manifest.get('status')}</p>")
        return head + self.outcome_table()._repr_html_()


def open_run(folder: str | os.PathLike, allow_incomplete: bool = False) -> Run:
    return Run(folder, allow_incomplete=allow_incomplete)


def is_run_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()


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
        from sim.store import MemoryStore

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
