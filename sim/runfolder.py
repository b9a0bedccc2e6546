"""The run folder: its files, its manifest, and reading a finished run (:class:`Run`).

A run folder holds everything one run wrote::

    runs/baseline-20261121-194500/
      manifest.json     versions, seed, status, counts, timings, stream digests
      scenario.yaml     the resolved scenario (extends merged, overrides applied)
      world.yaml        copies of the world and history it used, so the folder
      history.yaml      alone can be re-read, resumed, verified and re-plotted
      events.sqlite     the event store: one prefix stream per branch (history
                        before the fork) and one stream per replicate forked from it
      outcomes.csv      the outcome table (branch x outcome, estimate and interval)
      replicates.csv    one row per replicate: its outcome values
      figures/          written by ``sim plot``

Every file is written to a temporary name and renamed (``_atomic_write``).
Writing a run (executors, resume) is :mod:`sim.runner`; checking one is :mod:`sim.verify`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim import outcomes as oc
from sim.errors import InputError, Problem, SimError
from sim.events import Event
from sim.runfailures import OutFolderError, make_folder
from sim.safetext import csv_writer
from sim.scenario import Scenario, load_scenario
from sim.store import FirstTimeIndex, SQLiteStore, open_store

MANIFEST = "manifest.json"
STORE = "events.sqlite"
SCENARIO = "scenario.yaml"
OUTCOMES = "outcomes.csv"
REPLICATES = "replicates.csv"
FORMAT = 1

class RunError(SimError):
    """A run folder that cannot be used as asked (exit status 2)."""


def prefix_stream(branch: str) -> str:
    return f"{branch}/history"


def replicate_stream(branch: str, i: int) -> str:
    return f"{branch}/{i}"

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
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{folder}: not a run folder (no {MANIFEST}; runs are made by "
                       "sim run SCENARIO)") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise RunError(f"{path}: damaged manifest ({str(exc)[:200]})") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot read the manifest ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: damaged manifest (a JSON {type(data).__name__}, "
                       "not an object); run `sim verify`")
    return data


def looks_like_run(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a manifest written by this tool (a JSON object with our
    format number, a status and a scenario name)."""
    try:
        m = read_manifest(Path(folder))
    except RunError:
        return False
    return (m.get("format") == FORMAT and isinstance(m.get("status"), str)
            and isinstance(m.get("scenario"), str))


# --------------------------------------------------------------------------- replacing a folder

LOCK = ".sim-lock"                  # the writer's lock file (holds its pid)
WORKERS_LOCK = ".sim-workers-lock"  # shared by the worker processes that write the store
_RUN_FILES = {MANIFEST, SCENARIO, "world.yaml", "history.yaml", STORE, STORE + "-wal",
              STORE + "-shm", STORE + "-journal", OUTCOMES, REPLICATES, LOCK, WORKERS_LOCK}
_FIGURES = "figures"
_FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _ours(entry: Path) -> bool:
    """Whether a folder entry is one a run, ``sim plot`` or ``sim report`` writes."""
    name = entry.name
    if entry.is_symlink():
        return False
    if name in _RUN_FILES:
        return entry.is_file()
    if name.startswith(".") and name.endswith(".tmp"):   # an interrupted atomic write
        return entry.is_file()
    if name.endswith(".html") and entry.is_file():        # a page `sim report` wrote
        from sim.report import _is_report

        return _is_report(entry)
    if name == _FIGURES and entry.is_dir():
        return all(f.is_file() and not f.is_symlink() and f.suffix.lower() in _FIGURE_SUFFIXES
                   for f in entry.iterdir())
    return False


def check_not_cwd(folder: Path) -> None:
    """Refuse the current folder and its parents as a run folder (symlinks resolved)."""
    try:
        real = Path(os.path.realpath(folder))
    except (OSError, ValueError) as exc:     # e.g. a NUL character in the path
        raise OutFolderError(f"--out {str(folder)[:200]!r} cannot be used: "
                       f"{getattr(exc, 'strerror', None) or exc} (choose another folder name)"
                       ) from None
    cwd = Path(os.path.realpath(os.getcwd()))
    if real == cwd or real in cwd.parents:
        what = "the current folder" if real == cwd else "a parent of the current folder"
        raise RunError(f"--out {folder} is {what}; a run needs a folder of its own "
                       "(e.g. --out runs/NAME)")


def check_replaceable(folder: Path) -> None:
    """Refuse to replace ``folder`` unless it is a run folder of this tool holding only
    what runs write. Nothing is changed here."""
    check_not_cwd(folder)
    if folder.is_symlink():
        raise RunError(f"{folder} is a symbolic link; sim does not replace it "
                       "(choose another --out)")
    if not folder.is_dir():
        raise RunError(f"{folder} exists and is not a folder; choose another --out")
    if not looks_like_run(folder):
        raise RunError(f"{folder} is not empty and is not a run folder made by sim, so sim "
                       "will not replace it; choose another --out")
    foreign = sorted(e.name for e in folder.iterdir() if not _ours(e))
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise RunError(f"{folder} is a run folder but also holds files sim did not write "
                       f"({shown}); move them away or choose another --out")


def clear_run_folder(folder: Path) -> None:
    """Delete what a run wrote in ``folder`` (checked by :func:`check_replaceable`),
    keeping the folder and its lock files."""
    for entry in folder.iterdir():
        if entry.name in (LOCK, WORKERS_LOCK):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def claim_folder(folder: Path, force: bool) -> tuple[FolderLock, bool]:
    """Make ``folder`` ready for a new run and lock it for writing.

    A missing folder is created; an empty one is used; a run folder of this tool is
    replaced only with ``force`` and only when no other process writes it. Anything
    else is refused and left untouched. Returns the held lock and whether the folder
    was created here (so a failed start can remove it).
    """
    check_not_cwd(folder)
    created = False
    if folder.is_symlink() and not folder.exists():
        raise RunError(f"{folder} is a broken symbolic link; choose another --out")
    if folder.exists():
        if not folder.is_dir():
            raise RunError(f"{folder} exists and is not a folder; choose another --out")
        if _entries(folder):
            check_replaceable(folder)   # never touch what is not a run folder of ours
    else:
        if folder.is_symlink():
            raise RunError(f"{folder} is a symbolic link; choose another --out")
        make_folder(folder)   # parents too; a read-only place is said plainly, nothing left
        created = True
    lock = FolderLock(folder).acquire()
    try:
        if _entries(folder):   # checked again under the lock
            check_replaceable(folder)
            if not force:
                status = read_manifest(folder).get("status")
                what = ("a complete run; use --force to replace it" if status == "complete"
                        else f"an incomplete run; finish it with: sim run --resume {folder}, "
                             "or use --force to start again")
                raise RunError(f"{folder} already holds {what}, or --out to choose "
                               "another folder")
            check_no_stale_workers(folder)
            clear_run_folder(folder)
        else:
            check_no_stale_workers(folder)
    except BaseException:
        lock.release()
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return lock, created


def _entries(folder: Path) -> list[Path]:
    return [e for e in folder.iterdir() if e.name not in (LOCK, WORKERS_LOCK)]


def remove_workers_lock(folder: Path) -> None:
    """Remove the workers' lock file once no worker holds it (the end of a run)."""
    try:
        lock = FolderLock(folder, WORKERS_LOCK).acquire()
    except RunError:
        return
    with contextlib.suppress(OSError):
        os.unlink(lock.path)
    lock.release(remove=False)


# --------------------------------------------------------------------------- file digests

COPIES = (SCENARIO, "world.yaml", "history.yaml")   # the model the run used
TABLES = (OUTCOMES, REPLICATES)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_digests(folder: Path, names: Sequence[str]) -> dict[str, str]:
    return {name: file_digest(folder / name) for name in names}


def check_files(folder: Path, manifest: dict, names: Sequence[str]) -> list[str]:
    """Problems with the files ``names`` against the manifest's ``files`` digests."""
    recorded = manifest.get("files")
    if not isinstance(recorded, dict):
        return [f"{folder / MANIFEST}: no valid 'files' digests (the manifest is damaged "
                "or was written by an older sim)"]
    problems = []
    for name in names:
        want = recorded.get(name)
        if not (isinstance(want, str) and len(want) == 64):
            problems.append(f"{folder / MANIFEST}: no valid digest for {name}")
            continue
        try:
            got = file_digest(folder / name)
        except OSError as exc:
            problems.append(f"{folder / name}: cannot be read ({exc.strerror})")
            continue
        if got != want:
            problems.append(f"{folder / name}: changed since the run wrote it (digest "
                            f"{got[:12]}..., the manifest has {want[:12]}...)")
    return problems


def meta_digest(texts: Iterable[tuple[str, str | None]]) -> str:
    """One digest of every stream's metadata (outcome values, status, error) as stored:
    ``(name, JSON text)`` pairs in the store's name order (``iter_meta_texts``)."""
    h = hashlib.sha256()
    for name, text in texts:
        h.update(json.dumps([name, text], ensure_ascii=True).encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


class FolderLock:
    """An exclusive (writer) or shared (worker) OS lock on a lock file in a run folder.

    ``flock`` locks belong to the open file and vanish when the process dies, so a
    killed run never leaves a folder locked; the writer's pid is written in the file
    so a refused second writer can name it. Without ``fcntl`` (not POSIX) it does nothing.
    """

    def __init__(self, folder: str | os.PathLike, name: str = LOCK, shared: bool = False):
        self.folder = Path(folder)
        self.path = self.folder / name
        self.shared = shared
        self.fd: int | None = None

    def acquire(self, wait: float = 0.0) -> FolderLock:
        """Take the lock, waiting up to ``wait`` seconds; RunError naming the holder."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        import time

        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        deadline = time.monotonic() + wait
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise RunError(f"{self.folder}: cannot write in this folder "
                               f"({exc.strerror})") from None
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise LockedError(self.folder, holder) from None
            # the previous holder may have removed the file between our open and flock
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        if not self.shared:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self, remove: bool = True) -> None:
        if self.fd is None:
            return
        if remove and not self.shared:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self.fd)   # closing the file releases the lock
        self.fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


class DamagedRunError(RunError):
    """A run folder whose files do not match its manifest."""

    def __init__(self, folder: Path, what: str):
        super().__init__(f"run is damaged: {folder}: {what}; run `sim verify {folder}`")
        self.what = what


class LockedError(RunError):
    """Another process is writing the run folder."""

    def __init__(self, folder: Path, pid: int | None):
        who = f"process {pid}" if pid else "another process"
        super().__init__(f"{folder} is being written by {who} (another sim run or resume); "
                         "wait for it to finish, or choose another --out")
        self.pid = pid


STALE_WAIT = 5.0   # seconds to let workers of a dead run stop before refusing


def check_no_stale_workers(folder: Path, wait: float | None = None) -> None:
    """Refuse to write while worker processes of an earlier, dead run still hold the
    folder's workers lock (they stop when their parent dies; give them ``wait`` s)."""
    try:
        lock = FolderLock(folder, WORKERS_LOCK).acquire(
            wait=STALE_WAIT if wait is None else wait)
    except LockedError:
        raise RunError(f"{folder}: worker processes of an earlier run are still writing "
                       "into it; wait until they have stopped and try again") from None
    lock.release()   # and remove the file: this run's workers make it again


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
        w = csv_writer(f)
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

class Run:
    """An opened run folder: its scenario, store, outcomes and events.

    >>> # run = sim.run("scenarios/s400/baseline.yaml"); run.outcomes
    """

    def __init__(self, folder: str | os.PathLike, *, allow_incomplete: bool = False,
                 store: SQLiteStore | None = None, scenario: Scenario | None = None,
                 check: bool = True):
        """Open a run folder read-only. ``check``: a complete run's copies of its model
        must match the manifest's digests and its store the manifest's counts, else
        :class:`DamagedRunError` (:func:`sim.verify.verify` opens with ``check=False``
        and reports every problem instead)."""
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self.complete = self.manifest.get("status") == "complete"
        if not self.complete and not allow_incomplete:
            raise RunError(f"{self.folder} is an incomplete run (status: "
                           f"{self.manifest.get('status')}); finish it with: "
                           f"sim run --resume {self.folder}")
        self._check = check and self.complete and store is None
        if self._check:
            changed = check_files(self.folder, self.manifest, COPIES)
            if changed:
                raise DamagedRunError(self.folder, changed[0])
        self.scenario = scenario or per_draw_of(load_scenario(self.folder / SCENARIO),
                                                self.manifest)
        self.store = store or open_store(self.folder / STORE, readonly=True,
                                         settled=self.complete)
        if self._check:
            try:
                self._check_counts()
            except BaseException:
                self.store.close()
                raise
        self._values: dict[str, dict[str, np.ndarray]] | None = None
        self._failed: dict[str, list[tuple[int, str]]] = {}
        self._digests: dict[str, str | None] = {}
        self._first: dict[tuple[str, float | None], np.ndarray] = {}
        self._index: FirstTimeIndex | None = None
        self._sids: dict[str, np.ndarray] = {}
        self._table = None

    def _damaged(self, what: str) -> DamagedRunError:
        return DamagedRunError(self.folder, what)

    def _check_counts(self) -> None:
        """Cheap checks that the store holds what the manifest says (no event is read)."""
        m = self.manifest
        counts = m.get("counts")
        if not isinstance(counts, dict) or not all(
                isinstance(counts.get(k), int) for k in ("streams", "replicates", "events")):
            raise self._damaged(f"{MANIFEST} has no valid 'counts'")
        names = self.branch_names()
        if m.get("branches") != names or m.get("replicates") != self.scenario.replicates:
            raise self._damaged(f"{MANIFEST} and {SCENARIO} disagree on the branches or "
                                "the number of replicates")
        if counts["replicates"] != len(names) * self.scenario.replicates:
            raise self._damaged(f"{MANIFEST} counts {counts['replicates']} replicates, the "
                                f"scenario has {len(names) * self.scenario.replicates}")
        streams = self.store.count_streams()
        if streams != counts["streams"]:
            raise self._damaged(f"the store holds {streams} streams, the manifest "
                                f"{counts['streams']}")
        events = self.store.count_events()
        if events != counts["events"]:
            raise self._damaged(f"the store holds {events} events, the manifest "
                                f"{counts['events']}")

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

    def replicate_world(self, branch: str, i: int) -> tuple[Any, dict[str, tuple[Any, Any]]]:
        """The world replicate ``i`` of ``branch`` ran with, and its drawn ``uncertain:``
        values as ``{path: (drawn value, the branch's base value)}`` (empty, and the
        branch's world, when it draws none). The values are those stored with the
        replicate in the store, so stories and explanations quote what it ran with."""
        br = self.branch(branch)
        if not getattr(br, "uncertain", None):
            return br.world, {}
        if not 0 <= i < self.scenario.replicates:
            return br.world, {}                   # replicate_events says what is wrong
        try:
            meta = self.store.stream_info(replicate_stream(branch, i)).meta
        except KeyError:
            raise self._damaged(f"replicate stream {replicate_stream(branch, i)} is missing "
                                "from the store") from None
        values = dict(meta.get("parameters") or {})
        if not values:                            # a failed replicate records none
            return br.world, {}
        from sim.uncertainty import check_draw

        base = br.world.parameters()
        return check_draw(br.world, values), {p: (v, base.get(p)) for p, v in values.items()}

    def replicate_events(self, branch: str, i: int) -> list[Event]:
        self.branch(branch)
        if not 0 <= i < self.scenario.replicates:
            raise InputError(Problem(self.folder, None, None,
                                     f"replicate {i} is out of range",
                                     f"this run has replicates 0..{self.scenario.replicates - 1}"))
        name = replicate_stream(branch, i)
        try:
            self.store.stream_info(name)
        except KeyError:
            raise self._damaged(f"replicate stream {name} is missing from the store") from None
        return self.store.read(name)

    def iter_events(self, branch: str, block: int = 500) -> Iterator[list[Event]]:
        """Every replicate's full stream, in replicate order (read in blocks, so memory
        stays bounded whatever the number of replicates)."""
        self.branch(branch)
        n = self.scenario.replicates
        for start in range(0, n, block):
            names = [replicate_stream(branch, i) for i in range(start, min(n, start + block))]
            got = dict(self.store.iter_streams(names))
            for name in names:
                events = got.get(name)
                if events is None:
                    raise self._damaged(f"replicate stream {name} is missing from the store")
                yield events

    def first_times(self, branch: str, kind: str, since: float | None = None) -> np.ndarray:
        """Per replicate, the first time ``kind`` occurs (``inf``: never), counting only
        occurrences at ``since`` or later when given. The store's events are read once
        into columns (:class:`sim.store.FirstTimeIndex`) for every kind and branch."""
        self.branch(branch)
        n = self.scenario.replicates
        if not isinstance(self.store, SQLiteStore):
            ft = self.store.first_times(kind, since=since)
            return np.array([ft.get(replicate_stream(branch, i), np.inf) for i in range(n)],
                            dtype=float)
        if self._index is None:   # every event's columns, read once for all kinds
            self._index = FirstTimeIndex(self.store)
        key = (kind, since)
        ft = self._first.get(key)
        if ft is None:
            if len(self._first) >= 64:
                self._first.clear()
            ft = self._first[key] = self._index.first_times(kind, since)
        sids = self._sids.get(branch)
        if sids is None:
            get = self._index.ids.get
            sids = self._sids[branch] = np.fromiter(
                (get(replicate_stream(branch, i), -1) for i in range(n)), dtype=np.int64,
                count=n)
        return np.where(sids >= 0, ft[np.maximum(sids, 0)], np.inf)

    def _scan(self) -> None:
        """One pass over the store's stream records: per-replicate outcome values,
        failures and digests, without keeping a record per stream in memory."""
        if self._values is not None:
            return
        n = self.scenario.replicates
        ids = [o.id for o in self.scenario.outcomes]
        values = {b: {k: np.full(n, np.nan) for k in ids} for b in self.branch_names()}
        failed: dict[str, list[tuple[int, str]]] = {b: [] for b in self.branch_names()}
        seen = {b: 0 for b in values}
        idset = set(ids)
        broken: list[tuple[str, int, tuple[int, ...]]] = []
        rows: dict[str, list[int]] = {b: [] for b in values}
        cols: dict[str, dict[str, list]] = {b: {k: [] for k in ids} for b in values}
        drawn: dict[str, dict[str, np.ndarray]] = {
            b.name: {p: np.full(n, np.nan) for p in b.uncertain} for b in self.scenario.branches}

        def flush(b: str) -> None:
            """Move a block of values into the arrays: one numpy assignment per
            outcome, not one per value, and no list of every value kept."""
            idx = rows[b]
            for k, col in cols[b].items():
                values[b][k][idx] = np.fromiter(
                    (v if type(v) is float else _from_json_float(v) for v in col),
                    dtype=float, count=len(col))
                col.clear()
            idx.clear()

        try:
            for info in self.store.iter_infos():
                m = info.meta
                if m.get("prefix") or "replicate" not in m or m.get("branch") not in values:
                    continue
                b, i = m["branch"], m["replicate"]
                if not isinstance(i, int) or not 0 <= i < n:
                    raise self._damaged(f"stream {info.name}: replicate number {i!r} is "
                                        f"outside 0..{n - 1}")
                if self.complete and info.name != replicate_stream(b, i):
                    raise self._damaged(f"stream {info.name} holds replicate {i} of branch {b} "
                                        f"(expected the stream {replicate_stream(b, i)})")
                seen[b] += 1
                for k, v in (m.get("parameters") or {}).items():
                    if k in drawn[b]:
                        drawn[b][k][i] = float(v)
                if m.get("status") == "failed":
                    failed[b].append((i, str(m.get("error", ""))))
                    continue
                if m.get("broken"):      # the world's invariants this replicate broke
                    broken.append((b, i, tuple(m["broken"])))
                got = m.get("outcomes", {})
                if self.complete and got.keys() != idset:
                    raise self._damaged(f"stream {info.name}: its stored outcome values do "
                                        f"not name the scenario's outcomes")
                rows[b].append(i)
                for k, col in cols[b].items():
                    col.append(got.get(k))
                if len(rows[b]) >= 4096:
                    flush(b)
            for b in rows:
                flush(b)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            raise self._damaged(f"unreadable stream metadata in the store ({exc})") from None
        if self.complete:
            short = {b: c for b, c in seen.items() if c != n}
            if short:
                b, c = next(iter(short.items()))
                raise self._damaged(f"branch {b} has {c} replicate streams, the run has {n}")
        for f in failed.values():
            f.sort()
        self._values, self._failed, self._drawn = values, failed, drawn
        self._broken = broken
        self._done = {b: c - len(failed[b]) for b, c in seen.items()}   # ran to the end

    def drawn_parameters(self, branch: str) -> dict[str, np.ndarray]:
        """Per-replicate values each ``uncertain:`` path drew (empty when none)."""
        self.branch(branch)
        self._scan()
        return self._drawn[branch]

    def meta_digest(self) -> str:
        """:func:`meta_digest` of every stream's metadata in the store."""
        return meta_digest(self.store.iter_meta_texts())

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
        if not self._digests:
            self._digests = self.store.digests()
        return self._digests

    def invariants(self) -> dict:
        """Per branch whose world declares invariants, the replicates that broke them
        (:class:`sim.invariants.Tally`), read from the store with the outcome values."""
        from sim.invariants import tally

        self._scan()
        return tally(self.scenario, self._done, self._broken)

    def outcome_table(self):
        if self._table is None:
            # NaN marks a failed (or missing) replicate: summaries use the others
            present = {b: {k: v[~np.isnan(v)] for k, v in self.outcome_values(b).items()}
                       for b in self.branch_names()}
            types = {v.name: v.type for v in self.world().variables.values()}
            n = self.scenario.replicates
            self._table = oc.OutcomeTable.from_values(
                self.scenario.outcomes, present, var_types=types,
                failed={b: (len(self._failed[b]), n) for b in self.branch_names()},
                invariants=self.invariants())
            drawing = {b.name: self.scenario.replicates_per_draw
                       for b in self.scenario.branches if b.uncertain}
            if drawing:   # parameter-uncertainty intervals beside the Monte Carlo ones
                from sim.paramspread import with_spreads

                self._table = with_spreads(self._table, {b: self.outcome_values(b)
                                                         for b in drawing}, drawing)
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

    @property
    def status(self) -> str:
        """The manifest's status, with the number of failed replicates when any failed."""
        return status_text(self.manifest)

    def __repr__(self) -> str:
        return (f"Run({str(self.folder)!r}, scenario={self.scenario.name!r}, "
                f"branches={self.branch_names()}, replicates={self.scenario.replicates}, "
                f"status={self.status!r})")

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (f"<p><b>Run</b> <code>{esc(str(self.folder))}</code>: scenario "
                f"<b>{esc(self.scenario.name)}</b>, {len(self.branch_names())} branch(es) x "
                f"{self.scenario.replicates} replicates, status {esc(self.status)}</p>")
        return head + self.outcome_table()._repr_html_()


def per_draw_of(scenario: Scenario, manifest: dict) -> Scenario:
    """``scenario`` as the run in ``manifest`` drew its parameters: a run folder written
    before parameter draws were grouped (its manifest names ``uncertain`` branches but
    no ``replicates_per_draw``) gave every replicate its own draw."""
    if manifest.get("uncertain") and "replicates_per_draw" not in manifest \
            and scenario.replicates_per_draw != 1:
        import attrs

        return attrs.evolve(scenario, replicates_per_draw=1)
    return scenario


def status_text(manifest: dict) -> str:
    """``complete``, ``complete, 3 of 400 replicates failed``, ``incomplete``..."""
    status = str(manifest.get("status"))
    counts = manifest.get("counts")
    failed = counts.get("failed") if isinstance(counts, dict) else None
    if isinstance(failed, int) and failed > 0:
        total = counts.get("replicates")
        status += f", {failed} of {total} replicates failed"
    return status


def open_run(folder: str | os.PathLike, allow_incomplete: bool = False) -> Run:
    return Run(folder, allow_incomplete=allow_incomplete)


def is_run_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()
