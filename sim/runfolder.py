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

import csv
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim import outcomes as oc
from sim.errors import InputError, Problem, SimError
from sim.events import Event
from sim.scenario import Scenario, load_scenario
from sim.store import SQLiteStore, open_store

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["branch", "replicate", "status", *ids, "error"])
        for name in run.branch_names():
            vals = run.outcome_values(name)
            errors = {rep: err for _, rep, err in run.failed(name)}
            for rep in range(run.scenario.replicates):
                if rep in errors:
                    w.writerow([name, rep, "failed", *[""] * len(ids), errors[rep]])
                else:
                    w.writerow([name, rep, "ok", *[_csv_value(vals[k][rep]) for k in ids], ""])
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
        for f in failed.values():
            f.sort()
        self._values, self._failed, self._digests = values, failed, digests

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
