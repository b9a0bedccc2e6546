"""Scenario files: loading, ``extends``, validation and resolution into branches.

This module owns the scenario YAML format (see docs/world-language.md and
DESIGN.md) and turns a file into a fully resolved, frozen :class:`Scenario`:

- ``extends: other.yaml`` inherits another scenario (path relative to the
  extending file). Mappings merge recursively (so ``set`` and ``branches``
  merge), lists replace, ``sweep`` replaces as a whole, and a key set to
  null (``~``) removes the inherited value. ``name`` is never inherited: it
  defaults to the file's stem. ``world``/``history`` paths are relative to
  the file that names them. Cycles are refused with the chain.
- the base branch (named after ``name``) applies the scenario's ``set``,
  ``inject``, ``suppress`` and ``drop_history``. Each ``branches:`` entry is a
  variant of the base: its ``set`` overrides the base's, its ``inject``,
  ``suppress`` and ``drop_history`` add to the base's.
- ``sweep:`` (``grid`` or ``lhs``) adds one branch per point on top of the
  base. The base stays, first, as the reference (``base: false`` drops it).
  Grid points are named ``path=value`` with the shortest unambiguous dotted
  suffix of each path (``probability=0.3``, ``a.probability=0.3,every=45``);
  Latin hypercube points are named ``lhs01``... and are drawn with numpy,
  seeded from the scenario seed, so the same file gives the same points.
- Branch ``history`` keeps the history entries dated strictly before the
  fork (after ``drop_history``); ``history_doc`` keeps the whole document.

Every problem in every file of the chain is reported at once, each with its
file, line, column and a hint (:class:`sim.errors.InputError`).

Use: ``sc = load_scenario("scenarios/s400/baseline.yaml")``; ``sc.branches[0].world``,
``sc.replace(replicates=100)``, ``sc.to_yaml()``; ``validate([paths])`` for ``sim validate``.
"""
from __future__ import annotations

import copy
import datetime as dt
import itertools
import os
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from sim import schema, schemacheck, yamlfile
from sim.errors import InputError, Problem, did_you_mean, excerpt, foreign, not_this_kind
from sim.events import INJECTED, Occurrence
from sim.history import load_history, parse_uncertainty
from sim.limits import MAX_NAME, MAX_REPLICATES, MAX_TICKS, check_count, date_problem, path_problem
from sim.outcomes import MEASURES, OutcomeSpec
from sim.uncertainty import Distribution
from sim.uncertainty import parse as parse_uncertain
from sim.world import World, end_of_day
from sim.worldfile import load_world

# the keys of a scenario file and their shapes are sim.schema's (sim.schemacheck checks them)
SCENARIO_KEYS = schema.SCENARIO.names
OUTCOME_DATE_KEY = {"occurs": "by", "count": "by", "first": "by", "state": "at",
                    "time_to": None}
REPLACED_WHOLE = {("sweep",)}          # merged by replacement, not key by key
DEFAULT_REPLICATES = 1000
DEFAULT_SEED = 0
# replicates that share one draw of the `uncertain:` parameters (sim.paramspread says why)
DEFAULT_PER_DRAW = 20
MAX_BRANCHES = 1000
_LHS_TAG = 0x4C4853                    # spawn key of the LHS stream (replicates use (i,))


# --------------------------------------------------------------------------- records

@attrs.frozen
class Branch:
    """One variant of a scenario, ready for the engine.

    world:       the World with the branch's ``set:`` applied
    history:     history occurrences before the fork, after ``drop_history``
    history_doc: the History document (sources, all entries)
    inject:      occurrences added by the scenario (origin "injected"), in time order
    suppress:    event kinds that can never occur in this branch
    fork, horizon: days since the world's ``starts``; the fork is the start of its day,
                 the horizon the end of its day (events on the horizon date count)
    settings:    the ``set:`` paths applied and their values (for reports)
    uncertain:   the ``uncertain:`` paths and their distributions: each replicate
                 draws its own values (:mod:`sim.uncertainty`) on top of ``world``
    """

    name: str
    description: str
    world: World
    history: tuple[Occurrence, ...]
    history_doc: Any = attrs.field(eq=False, repr=False)
    inject: tuple[Occurrence, ...] = ()
    suppress: frozenset[str] = frozenset()
    fork: float = 0.0
    horizon: float = 0.0
    settings: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    uncertainty: Any = None       # sim.history.Uncertainty when the scenario opts in
    uncertain: Mapping[str, Distribution] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class Scenario:
    """A fully resolved scenario: dates checked, branches built, outcomes resolved.

    ``branches[0]`` is the base (named ``name``) unless a sweep says ``base: false``.
    ``resolved`` is the merged scenario as plain data (world/history as absolute
    paths), loadable again as a scenario; :meth:`to_yaml` writes it.
    """

    name: str
    description: str
    file: Path
    world_file: Path
    history_file: Path
    starts: dt.date
    fork_date: dt.date
    horizon_date: dt.date
    replicates: int
    seed: int
    outcomes: tuple[OutcomeSpec, ...]
    branches: tuple[Branch, ...]
    resolved: dict = attrs.field(eq=False, hash=False, repr=False)
    chain: tuple[Path, ...] = attrs.field(default=(), eq=False)   # the file, then what it extends
    # replicates r of every branch use the `uncertain:` draw number r // replicates_per_draw
    replicates_per_draw: int = DEFAULT_PER_DRAW

    @property
    def fork(self) -> float:
        """The fork in days since ``starts``."""
        return float((self.fork_date - self.starts).days)

    @property
    def horizon(self) -> float:
        """The horizon in days since ``starts``: the end of the horizon date (a date
        means the whole day, so events on it count; :func:`sim.world.end_of_day`)."""
        return end_of_day(float((self.horizon_date - self.starts).days))

    def branch(self, name: str) -> Branch:
        """The branch called ``name`` (InputError with a hint if there is none)."""
        for b in self.branches:
            if b.name == name:
                return b
        raise InputError(Problem(self.file, None, None, f"no branch '{name}'",
                                 did_you_mean(name, [b.name for b in self.branches])))

    def replace(self, replicates: int | None = None, seed: int | None = None,
                replicates_per_draw: int | None = None) -> Scenario:
        """A copy with the replicate count, seed and/or replicates per parameter draw
        changed (CLI overrides)."""
        changes: dict[str, Any] = {}
        problems = []
        if replicates_per_draw is not None:
            err = _check_int(replicates_per_draw, minimum=1, what="replicates_per_draw")
            if err:
                problems.append(Problem(None, None, None, f"--replicates-per-draw: {err[0]}",
                                        err[1]))
            changes["replicates_per_draw"] = replicates_per_draw
        if replicates is not None:
            err = _check_int(replicates, minimum=1, what="replicates")
            if err:
                problems.append(Problem(None, None, None, f"--replicates: {err[0]}", err[1]))
            changes["replicates"] = replicates
        if seed is not None:
            err = _check_int(seed, minimum=0, what="seed")
            if err:
                problems.append(Problem(None, None, None, f"--seed: {err[0]}", err[1]))
            changes["seed"] = seed
        if problems:
            raise InputError(problems)
        if not changes:
            return self
        resolved = copy.deepcopy(self.resolved)
        resolved.update(changes)
        return attrs.evolve(self, resolved=resolved, **changes)

    def to_yaml(self) -> str:
        """The resolved scenario as YAML text."""
        return yaml.safe_dump(self.resolved, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- public API

def load_scenario(path: str | os.PathLike) -> Scenario:
    """Load, merge, validate and resolve a scenario file.

    Raises :class:`InputError` listing every problem found (in this file, the
    files it extends, and the world and history it names).
    """
    problems: list[Problem] = []
    scenario = _Builder(Path(path), problems).build()
    if problems or scenario is None:
        raise InputError(_dedupe(problems) or [Problem(path, None, None, "cannot load")])
    return scenario


def check(path: str | os.PathLike) -> list[Problem]:
    """Every problem in a scenario file (empty when it loads)."""
    try:
        load_scenario(path)
    except InputError as exc:
        return exc.problems
    return []


def validate(paths: Iterable[str | os.PathLike]) -> list[str]:
    """``sim validate FILE...``: one line per problem across the files; empty if all are fine.

    Scenario files are checked in full (with their world and history). A world
    file (one with ``actors:``/``events:`` and no ``fork:``) is checked alone.
    """
    out: list[str] = []
    for p in paths:
        out.extend(str(pr) for pr in _validate_one(Path(p)))
    return out


def _validate_one(path: Path) -> list[Problem]:
    try:
        doc = yamlfile.load(path)
    except InputError as exc:
        return exc.problems
    data = doc.data
    if isinstance(data, dict) and "fork" not in data and "extends" not in data and (
            "actors" in data or "events" in data and isinstance(data.get("events"), dict)):
        try:
            load_world(path)
        except InputError as exc:
            return exc.problems
        return []
    return check(path)


# --------------------------------------------------------------------------- helpers

def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set = set()
    out = []
    for p in problems:
        key = (str(p.file), p.line, p.column, p.message, p.hint)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _check_int(value: Any, minimum: int, what: str) -> tuple[str, str] | None:
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "a positive" if minimum == 1 else "a non-negative"
        return (f"{what} must be {kind} whole number, got {value!r}",
                "e.g. 1000" if what == "replicates" else "e.g. 20191115")
    if value < minimum:
        kind = "at least 1" if minimum == 1 else "0 or more"
        return (f"{what} must be {kind}, got {value}",
                "e.g. 1000" if what == "replicates" else "e.g. 20191115")
    if what == "replicates":
        return check_count(value, what, MAX_REPLICATES)
    if value >= 2 ** 128:   # numpy's SeedSequence takes any size, but no need for more
        return (f"{what} is too large ({len(str(value))} digits)", "at most 2**128 - 1")
    return None


def _name_problem(name: Any) -> str | None:
    """What is wrong with a scenario or branch name (it names folders and streams)."""
    if not isinstance(name, str) or not name.strip():
        return f"must be a non-empty text, got {excerpt(repr(name))}"
    if "/" in name or "\\" in name:
        return f"cannot contain '/' or '\\', got {excerpt(repr(name))}"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long (at most {MAX_NAME})"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return f"cannot contain control characters, got {excerpt(repr(name))}"
    if name in (".", ".."):
        return f"cannot be '{name}'"
    return None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _short_names(paths: list[str]) -> dict[str, str]:
    """The shortest dotted suffix of each path that no other path ends with."""
    out = {}
    for p in paths:
        parts = p.split(".")
        for k in range(1, len(parts) + 1):
            suffix = ".".join(parts[-k:])
            if not any(q != p and (q == suffix or q.endswith("." + suffix)) for q in paths):
                break
        out[p] = suffix
    return out


def lhs_unit(samples: int, dims: int, seed: int) -> np.ndarray:
    """A Latin hypercube in [0, 1)^dims: each of ``samples`` equal strata of each
    dimension holds exactly one point. Seeded from the scenario ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_LHS_TAG, 0)))
    x = np.empty((samples, dims))
    for j in range(dims):
        x[:, j] = (rng.permutation(samples) + rng.random(samples)) / samples
    return x


# --------------------------------------------------------------------------- merged documents

class _Merged:
    """The merge of a chain of scenario files, remembering which file set each value."""

    def __init__(self, top: yamlfile.Located):
        self.top = top
        self.data: dict = {}
        self.owner: dict[tuple, yamlfile.Located] = {(): top}

    def merge(self, doc: yamlfile.Located) -> None:
        self._merge(self.data, doc.data, doc, ())

    def _purge(self, path: tuple) -> None:
        n = len(path)
        for p in [p for p in self.owner if len(p) >= n and p[:n] == path]:
            del self.owner[p]

    def _merge(self, dst: dict, src: dict, doc: yamlfile.Located, path: tuple) -> None:
        for k, v in src.items():
            p = path + (k,)
            if p == ("extends",):
                continue
            if p == ("name",) and doc is not self.top:
                continue
            if v is None:
                dst.pop(k, None)
                self._purge(p)
            elif (isinstance(v, dict) and isinstance(dst.get(k), dict) and p not in REPLACED_WHOLE
                  and not (len(p) >= 2 and p[-2] == "uncertain")):   # a distribution: whole
                self._merge(dst[k], v, doc, p)
            else:
                dst[k] = copy.deepcopy(v)
                self._purge(p)
                self.owner[p] = doc

    def doc(self, path: tuple) -> yamlfile.Located:
        path = tuple(path)
        while path not in self.owner:
            path = path[:-1]
        return self.owner[path]

    def problem(self, path: tuple, message: str, hint: str | None = None,
                key: bool = False) -> Problem:
        return self.doc(path).problem(tuple(path), message, hint, key=key)

    def get(self, path: tuple, default: Any = None) -> Any:
        node: Any = self.data
        for k in path:
            if isinstance(node, dict) and k in node:
                node = node[k]
            elif isinstance(node, list) and isinstance(k, int) and 0 <= k < len(node):
                node = node[k]
            else:
                return default
        return node


@attrs.define
class _Changes:
    """What a base or a branch asks for, parsed (not yet applied)."""

    settings: dict[str, Any] = attrs.Factory(dict)
    setting_at: dict[str, tuple] = attrs.Factory(dict)     # path -> path into the document
    inject: list[tuple[tuple, dict]] = attrs.Factory(list)  # (doc path, entry)
    suppress: list[tuple[tuple, str]] = attrs.Factory(list)
    drops: list[tuple[tuple, str, dt.date | None]] = attrs.Factory(list)
    uncertain: dict[str, Distribution] = attrs.Factory(dict)


# --------------------------------------------------------------------------- the builder

class _Builder:
    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.problems = problems
        self.ok: Any = lambda path: True        # sim.schemacheck.Checked.clean
        self.m: _Merged | None = None
        self.chain: list[Path] = []
        self.world: World | None = None
        self.history: Any = None
        self.sweep_checks: list[tuple[dict, tuple]] = []     # sweep values to check
        self.histories: dict[tuple, tuple] = {}               # drops -> (History, occurrences)

    def add(self, path: tuple, message: str, hint: str | None = None, key: bool = False) -> None:
        assert self.m is not None
        self.problems.append(self.m.problem(path, message, hint, key=key))

    # ---- reading the chain

    def _read_chain(self) -> bool:
        docs: list[yamlfile.Located] = []
        path = self.path
        seen: list[Path] = []
        pointer: tuple[yamlfile.Located, tuple] | None = None
        bad = path_problem(str(path))
        if bad:
            self.problems.append(Problem(excerpt(path, 80), None, None, bad, "check the path"))
            return False
        while True:
            real = path.resolve()
            if real in seen:
                names = [str(d.file) for d in docs] + [str(path)]
                assert pointer is not None
                self.problems.append(pointer[0].problem(
                    pointer[1], "extends cycle: " + " -> ".join(names),
                    "a scenario cannot extend itself, directly or through others"))
                return False
            if pointer is not None and not path.is_file():
                self.problems.append(pointer[0].problem(
                    pointer[1], f"extended file '{pointer[0].data['extends']}' not found",
                    f"looked for {path}; the path is relative to the extending file"))
                return False
            try:
                doc = yamlfile.load(path)
            except InputError as exc:
                self.problems.extend(exc.problems)
                return False
            except ValueError as exc:   # a YAML date that is no calendar date (2020-13-01)
                self.problems.append(Problem(path, None, None, f"invalid value: {exc}",
                                             "check that dates are real calendar dates, "
                                             "YYYY-MM-DD"))
                return False
            if not isinstance(doc.data, dict):
                self.problems.append(Problem(path, 1, 1, "a scenario file must be a mapping "
                                             "of keys to values",
                                             "start with e.g. 'name: baseline' and "
                                             "'world: world.yaml'"))
                return False
            if foreign(doc.data, SCENARIO_KEYS):
                self.problems.append(not_this_kind(doc, "a scenario file", SCENARIO_KEYS))
                return False
            seen.append(real)
            docs.append(doc)
            self.chain.append(path)
            ext = doc.data.get("extends")
            if ext is None:
                break
            if not isinstance(ext, str) or not ext.strip() or path_problem(ext):
                self.problems.append(doc.problem(("extends",), "extends must be a file name"
                                                 + (f": {path_problem(ext)}"
                                                    if isinstance(ext, str) and ext.strip()
                                                    else ""),
                                                 "e.g. extends: baseline.yaml"))
                return False
            pointer = (doc, ("extends",))
            path = Path(os.path.normpath(path.parent / ext))
        self.m = _Merged(docs[0])
        for doc in reversed(docs):
            self.m.merge(doc)
        return True

    # ---- top level

    def build(self) -> Scenario | None:
        if not self._read_chain():
            return None
        m = self.m
        assert m is not None
        d = m.data
        # the structural pass (sim.schemacheck, from sim.schema); what follows checks the
        # rest: files, dates against the world, names against its events and variables
        checked = schemacheck.check_value(m, (), d, schema.SCENARIO)
        self.problems.extend(checked.problems)
        self.ok = checked.clean
        ok = self.ok
        name = d.get("name", self.path.stem)
        bad = _name_problem(name) if ok(("name",)) else None
        if bad:
            self.add(("name",), f"name {bad}", "e.g. name: baseline")
        if bad or not ok(("name",)):
            name = "scenario"
        description = d.get("description") if ok(("description",)) else None
        description = description or ""
        fork = d.get("fork") if ok(("fork",)) else None
        horizon = d.get("horizon") if ok(("horizon",)) else None
        for key, day in (("fork", fork), ("horizon", horizon)):
            if day is not None and date_problem(day, key):
                self.add((key,), date_problem(day, key), "a date in years 1000-8999")
        if (fork and date_problem(fork, "")) or (horizon and date_problem(horizon, "")):
            fork = horizon = None
        replicates = d.get("replicates", DEFAULT_REPLICATES)
        err = _check_int(replicates, 1, "replicates") if ok(("replicates",)) else None
        if err:
            self.add(("replicates",), *err)
        seed = d.get("seed", DEFAULT_SEED)
        err = _check_int(seed, 0, "seed") if ok(("seed",)) else None
        if err:
            self.add(("seed",), *err)
        # its type and range are sim.schema's (checked by sim.schemacheck)
        per_draw = (d.get("replicates_per_draw", DEFAULT_PER_DRAW)
                    if ok(("replicates_per_draw",)) else DEFAULT_PER_DRAW)
        world_file = self._file("world") if "world" in d and ok(("world",)) else None
        history_file = self._file("history") if "history" in d and ok(("history",)) else None
        if world_file is not None:
            try:
                self.world = load_world(world_file)
            except InputError as exc:
                self.problems.extend(exc.problems)
        if self.world is not None and history_file is not None:
            try:
                self.history = load_history(history_file, self.world)
            except InputError as exc:
                self.problems.extend(exc.problems)
        w = self.world
        if w is not None and fork is not None and fork < w.starts:
            self.add(("fork",), f"fork {fork} is before the world starts ({w.starts})",
                     f"use a date on or after {w.starts}")
        if fork is not None and horizon is not None and horizon <= fork:
            self.add(("horizon",), f"horizon {horizon} is not after the fork {fork}",
                     "the model runs from the fork to the horizon")
        base = self._changes(())
        branch_specs = self._branches()
        sweep_points, keep_base = self._sweep()
        outcomes = self._outcomes(horizon)
        uncertainty = None
        if d.get("history_uncertainty") is not None and ok(("history_uncertainty",)):
            try:
                uncertainty = parse_uncertainty(d["history_uncertainty"], self.m,
                                                ("history_uncertainty",))
            except InputError as exc:
                self.problems.extend(exc.problems)
        names = [name] if keep_base else []
        for bname, _ in branch_specs:
            if bname in names:
                self.add(("branches", bname), f"branch name '{bname}' is used twice",
                         "the base branch is named after the scenario; rename one", key=True)
            names.append(bname)
        for pname, _, ppath in sweep_points:
            if pname in names:
                self.add(ppath, f"sweep point name '{pname}' clashes with a branch",
                         "rename the branch", key=True)
            names.append(pname)
        if len(names) > MAX_BRANCHES:
            self.add(("sweep",), f"{len(names)} branches are too many (at most {MAX_BRANCHES})",
                     "sweep fewer values or use lhs with fewer samples", key=True)
        if w is None:
            return None
        # ---- check everything against the world (all problems first, then build)
        before = len(self.problems)
        self._check_settings(base, w)
        base_world = w if len(self.problems) > before else w.with_parameters(base.settings)
        for _, ch in branch_specs:
            self._check_settings(ch, base_world)
        for point, ppath in self.sweep_checks:
            self._check_point(point, base_world, ppath)
        specs = ([(name, description, _Changes())] if keep_base else [])
        specs += [(bn, m.get(("branches", bn, "description"), "") or "", ch)
                  for bn, ch in branch_specs]
        specs += [(pn, "sweep point " + ", ".join(f"{k}={_fmt(v)}" for k, v in pt.items()),
                   _Changes(settings=dict(pt))) for pn, pt, _ in sweep_points]
        self._check_combinations(base, specs, horizon)
        if self.problems or fork is None or horizon is None:
            return None
        assert world_file is not None and history_file is not None
        branches = tuple(self._branch(bn, desc, base, ch, base_world, fork, horizon)
                         for bn, desc, ch in specs)
        self._check_ticks(branches, base, [s[2] for s in specs])
        if self.problems:
            return None
        if uncertainty is not None:
            branches = tuple(attrs.evolve(b, uncertainty=uncertainty) for b in branches)
        resolved = copy.deepcopy(d)
        resolved["name"] = name
        resolved["world"] = str(world_file)
        resolved["history"] = str(history_file)
        resolved["replicates"] = replicates
        resolved["seed"] = seed
        if any(b.uncertain for b in branches):   # recorded in the run folder's copy
            resolved["replicates_per_draw"] = per_draw
        for k in ("fork", "horizon"):
            resolved[k] = fork if k == "fork" else horizon
        order = {k: i for i, k in enumerate(SCENARIO_KEYS)}
        resolved = dict(sorted(resolved.items(), key=lambda kv: order.get(kv[0], 99)))
        return Scenario(name=name, description=description, file=self.path,
                        world_file=world_file, history_file=history_file, starts=w.starts,
                        fork_date=fork, horizon_date=horizon, replicates=replicates, seed=seed,
                        outcomes=tuple(outcomes), branches=branches, resolved=resolved,
                        chain=tuple(self.chain), replicates_per_draw=per_draw)

    def _file(self, key: str) -> Path | None:
        assert self.m is not None
        value = self.m.data[key]
        if not isinstance(value, str) or not value.strip():
            self.add((key,), f"{key} must be a file name, got {excerpt(repr(value))}",
                     f"e.g. {key}: {key}.yaml")
            return None
        bad = path_problem(value)
        if bad:
            self.add((key,), f"{key}: {bad}", f"e.g. {key}: {key}.yaml")
            return None
        doc = self.m.doc((key,))
        try:
            path = (Path(doc.file).parent / value).resolve()
            found = path.is_file()
        except (OSError, ValueError) as exc:
            self.add((key,), f"{key} file '{excerpt(value)}' cannot be used ({exc})",
                     "check the path")
            return None
        if not found:
            self.add((key,), f"{key} file '{value}' not found",
                     f"looked for {path}; paths are relative to the file that names them")
            return None
        return path

    # ---- set / inject / suppress / drop_history

    def _changes(self, at: tuple) -> _Changes:
        """The ``set``/``uncertain``/``inject``/``suppress``/``drop_history`` of the base
        (``at == ()``) or a branch: what passed the structural pass, to check against
        the world."""
        assert self.m is not None
        ch = _Changes()
        node = self.m.get(at)
        ok = self.ok
        if not isinstance(node, dict):
            return ch
        for k, v in (node.get("set") or {}).items() if ok(at + ("set",)) else ():
            ch.settings[str(k)] = v
            ch.setting_at[str(k)] = at + ("set", k)
        if node.get("uncertain") is not None:
            spec = node["uncertain"]
            self._uncertain(at, {k: v for k, v in spec.items() if ok(at + ("uncertain", k))}
                            if isinstance(spec, dict) else spec, ch)
        for i, e in enumerate(node.get("inject") or []):
            if ok(at + ("inject", i)):
                ch.inject.append((at + ("inject", i), e))
        sup = node.get("suppress")
        if isinstance(sup, str):
            self.m.get(at)["suppress"] = [sup]
            sup = [sup] if ok(at + ("suppress",)) else []
        for i, k in enumerate(sup or []):
            if ok(at + ("suppress", i)):
                ch.suppress.append((at + ("suppress", i), k))
        for i, e in enumerate(node.get("drop_history") or []):
            p = at + ("drop_history", i)
            if ok(p):
                ch.drops.append((p, e, None) if isinstance(e, str) else
                                (p, e["event"], e.get("date")))
        return ch

    def _uncertain(self, at: tuple, spec: Any, ch: _Changes) -> None:
        """``uncertain:`` of the base or a branch (sim.uncertainty checks each entry)."""
        def report(sub: tuple, message: str, hint: str | None, key: bool) -> None:
            self.add(at + ("uncertain",) + sub, message, hint, key=key)

        ch.uncertain = parse_uncertain(spec, self.world, report)
        where = "this branch" if at else "the scenario"
        for k in ch.settings:
            if isinstance(spec, dict) and k in spec:
                self.add(at + ("uncertain", k), f"'{k}' is both set: and uncertain: in {where}",
                         "keep one: set: fixes a value, uncertain: draws it per replicate",
                         key=True)
                ch.uncertain.pop(k, None)

    def _kind(self, path: tuple, kind: Any) -> bool:
        w = self.world
        if w is None:
            return False
        if not isinstance(kind, str) or kind not in w.events:
            self.add(path, f"unknown event '{kind}'", did_you_mean(kind, w.events))
            return False
        return True

    def _check_settings(self, ch: _Changes, world: World) -> None:
        assert self.m is not None
        before = len(self.problems)
        for k, v in ch.settings.items():
            doc = self.m.doc(ch.setting_at[k])
            pos = doc.key_where(ch.setting_at[k])
            try:
                world.with_parameters({k: v}, file=doc.file, where=lambda _p, pos=pos: pos)
            except InputError as exc:
                self.problems.extend(exc.problems)
        if len(self.problems) > before or len(ch.settings) < 2:
            return
        # each setting is fine alone: together they must be too (e.g. no loop without delay)
        m = self.m
        first = m.doc(ch.setting_at[next(iter(ch.settings))])
        try:
            world.with_parameters(ch.settings, file=first.file,
                                  where=lambda p: m.doc(ch.setting_at[p]).key_where(
                                      ch.setting_at[p]))
        except InputError as exc:
            self.problems.extend(exc.problems)

    def _check_ticks(self, branches: tuple[Branch, ...], base: _Changes,
                     changes: list[_Changes]) -> None:
        """A review that would tick more than MAX_TICKS times between the fork and the
        horizon would not finish in any useful time (e.g. every: 1e-9)."""
        assert self.m is not None
        seen = set()
        for br, ch in zip(branches, changes):
            for rv in br.world.reviews:
                ticks = (br.horizon - br.fork) / rv.every
                if ticks <= MAX_TICKS or rv.id in seen:
                    continue
                seen.add(rv.id)
                key = f"reviews.{rv.id}.every"
                at = ch.setting_at.get(key) or base.setting_at.get(key)
                msg = (f"review '{rv.id}' would tick {ticks:,.0f} times between the fork and "
                       f"the horizon (every {rv.every:g} days); at most {MAX_TICKS:,}")
                hint = "use a longer period ('every') or a shorter horizon"
                if at is not None:
                    self.add(at, msg, hint, key=True)
                else:
                    self.problems.append(Problem(br.world.file, None, None, msg, hint))

    def _check_point(self, point: dict, world: World, path: tuple) -> None:
        assert self.m is not None
        doc = self.m.doc(path)
        for k, v in point.items():
            pos = doc.key_where(path + (k,))
            try:
                world.with_parameters({k: v}, file=doc.file, where=lambda _p, pos=pos: pos)
            except InputError as exc:
                self.problems.extend(exc.problems)

    def _check_combinations(self, base: _Changes, specs: list,
                            horizon: dt.date | None) -> None:
        """Check event kinds, actors, dates and drop matches of the base and each branch."""
        w = self.world
        assert w is not None and self.m is not None
        for ch in [base] + [s[2] for s in specs]:
            for p, e in ch.inject:
                self._kind(p + ("event",), e["event"])
                date = e["date"]
                if date < w.starts or (horizon and date > horizon):
                    self.add(p + ("date",), f"inject date {date} is outside the simulation",
                             f"use a date from {w.starts} to the horizon {horizon}")
                for role in ("actor", "target"):
                    a = e.get(role)
                    if a is not None and (not isinstance(a, str) or a not in w.actors):
                        self.add(p + (role,), f"unknown actor '{a}'",
                                 did_you_mean(a, w.actors))
            for p, k in ch.suppress:
                self._kind(p, k)
            for p, k, date in ch.drops:
                at = p + ("event",) if isinstance(self.m.get(p), dict) else p
                if not self._kind(at, k) or self.history is None:
                    continue
                if self.history.matching(_drop(k, date)):
                    continue
                dates = [e.date for e in self.history.matching(_drop(k, None))]
                if date is None:
                    self.add(at, f"drop_history: no history entry of '{k}'",
                             "remove this entry; the history never has this event")
                else:
                    hint = ("the history has it on " + ", ".join(str(x) for x in dates)
                            if dates else "the history never has this event")
                    self.add(p + ("date",), f"drop_history: no '{k}' entry on {date}", hint)
        base_conflicts = self._conflicts(base, _Changes())
        for k, p in base_conflicts.items():
            self.add(p + ("event",), f"'{k}' is both injected and suppressed",
                     "remove one of the two")
        for bn, _, ch in specs:
            for k, p in self._conflicts(base, ch).items():
                if k not in base_conflicts:
                    self.add(p + ("event",), f"'{k}' is both injected and suppressed in "
                             f"branch '{bn}'", "remove one of the two")

    @staticmethod
    def _conflicts(base: _Changes, ch: _Changes) -> dict[str, tuple]:
        suppressed = {k for _, k in base.suppress + ch.suppress if isinstance(k, str)}
        out: dict[str, tuple] = {}
        for p, e in ch.inject + base.inject:
            if isinstance(e["event"], str) and e["event"] in suppressed and e["event"] not in out:
                out[e["event"]] = p
        return out

    # ---- branches and sweeps

    def _branches(self) -> list[tuple[str, _Changes]]:
        assert self.m is not None
        spec = self.m.data.get("branches")
        if not isinstance(spec, dict):
            return []
        out = []
        for bn in spec:
            p = ("branches", bn)
            if not self.ok(p):
                continue
            bad = _name_problem(bn)
            if bad:
                self.add(p, f"branch name {bad}", "e.g. no_sanctions", key=True)
                continue
            out.append((bn, self._changes(p)))
        return out

    def _sweep(self) -> tuple[list[tuple[str, dict, tuple]], bool]:
        """The sweep points as (name, {path: value}, path into the doc), and whether the
        base branch stays."""
        assert self.m is not None
        spec = self.m.data.get("sweep")
        if not isinstance(spec, dict):
            return [], True
        keep = spec.get("base") is not False
        kinds = [k for k in ("grid", "lhs") if spec.get(k) is not None]
        if len(kinds) != 1:
            self.add(("sweep",), "sweep needs exactly one of 'grid' or 'lhs'"
                     + (", not both" if kinds else ""), schema.SWEEP_HINT, key=True)
            return [], keep
        if not self.ok(("sweep", kinds[0])):
            return [], keep
        if kinds == ["grid"]:
            return self._grid(spec["grid"]), keep
        return self._lhs(spec["lhs"]), keep

    def _grid(self, grid: dict) -> list[tuple[str, dict, tuple]]:
        if not grid:
            self.add(("sweep", "grid"), "sweep grid must map parameter paths to lists of "
                     "values", "e.g. grid: {rules.my_rule.probability: [0.3, 0.5, 0.7]}")
            return []
        ok = True
        for k, values in grid.items():
            if len({repr(v) for v in values}) != len(values):
                self.add(("sweep", "grid", k), f"sweep grid '{k}' lists a value twice",
                         "each value once")
                ok = False
        if not ok:
            return []
        paths = [str(k) for k in grid]
        short = _short_names(paths)
        n = int(np.prod([len(v) for v in grid.values()]))
        if n > MAX_BRANCHES:
            self.add(("sweep", "grid"), f"the sweep grid has {n} points (at most "
                     f"{MAX_BRANCHES})", "sweep fewer values or use lhs", key=True)
            return []
        out = []
        for combo in itertools.product(*grid.values()):
            point = dict(zip(paths, combo))
            name = ",".join(f"{short[k]}={_fmt(v)}" for k, v in point.items())
            out.append((name, point, ("sweep", "grid")))
        self.sweep_checks = [(p, path) for _, p, path in out]
        return out

    def _lhs(self, spec: dict) -> list[tuple[str, dict, tuple]]:
        assert self.m is not None
        ok = True
        samples = spec["samples"]
        if samples > MAX_BRANCHES:
            self.add(("sweep", "lhs", "samples"), f"lhs samples {samples} is too many (at "
                     f"most {MAX_BRANCHES})", "e.g. samples: 20")
            ok = False
        ranges = spec["ranges"]
        if not ranges:
            self.add(("sweep", "lhs", "ranges"), "sweep lhs needs ranges: a mapping of "
                     "parameter paths to [low, high]", schema.LHS.hint)
            return []
        for k, r in ranges.items():
            if not r[0] < r[1]:
                self.add(("sweep", "lhs", "ranges", k), f"lhs range '{k}' must have low < "
                         f"high, got {r!r}", "e.g. [0.1, 0.9]")
                ok = False
            elif self._bool_parameter(str(k)):
                self.add(("sweep", "lhs", "ranges", k), f"lhs range '{k}': a true/false "
                         "variable has no range", f"use a grid: {{{k}: [true, false]}}",
                         key=True)
                ok = False
        seed = self.m.data.get("seed", DEFAULT_SEED)
        if not ok or _check_int(seed, 0, "seed"):
            return []
        paths = [str(k) for k in ranges]
        where = ("sweep", "lhs", "ranges")
        self.sweep_checks = [({p: ranges[p][0] for p in paths}, where),
                             ({p: ranges[p][1] for p in paths}, where)]
        unit = lhs_unit(samples, len(paths), seed)
        width = len(str(samples))
        out = []
        for i in range(samples):
            point = {}
            for j, p in enumerate(paths):
                low, high = ranges[p]
                value = float(low + unit[i, j] * (high - low))
                if self._int_parameter(p):
                    value = int(round(value))
                point[p] = value
            out.append((f"lhs{i + 1:0{width}d}", point, where))
        return out

    def _bool_parameter(self, path: str) -> bool:
        w = self.world
        parts = path.split(".")
        if w is None or len(parts) != 2 or parts[0] != "state":
            return False
        v = w.variables.get(parts[1])
        return v is not None and v.type == "bool"

    def _int_parameter(self, path: str) -> bool:
        w = self.world
        parts = path.split(".")
        if w is None or len(parts) != 2 or parts[0] != "state":
            return False
        v = w.variables.get(parts[1])
        return v is not None and v.type == "int"

    # ---- outcomes

    def _outcomes(self, horizon: dt.date | None) -> list[OutcomeSpec]:
        assert self.m is not None
        spec = self.m.data.get("outcomes")
        out = []
        ids: set[str] = set()
        w = self.world
        for i, o in enumerate(spec if isinstance(spec, list) else []):
            p = ("outcomes", i)
            if not isinstance(o, dict):
                continue
            ok = self.ok(p)
            oid = o.get("id")
            if isinstance(oid, str) and oid in ids and self.ok(p + ("id",)):
                self.add(p + ("id",), f"duplicate outcome id '{oid}'",
                         "each outcome needs its own id")
                ok = False
            elif isinstance(oid, str):
                ids.add(oid)
            measures = [k for k in MEASURES if o.get(k) is not None]
            if len(measures) != 1:
                if measures:
                    self.add(p, f"outcome '{oid}' has several measures ("
                             + ", ".join(measures) + ")",
                             "give exactly one of: " + ", ".join(MEASURES), key=True)
                continue
            measure = measures[0]
            value = o[measure]
            if not self.ok(p + (measure,)):
                continue
            date_key = OUTCOME_DATE_KEY[measure]
            for dk in ("by", "at"):
                if o.get(dk) is not None and dk != date_key:
                    self.add(p + (dk,), f"'{dk}' does not apply to a {measure} outcome",
                             f"use '{date_key}'" if date_key else
                             "time_to is measured up to the horizon", key=True)
                    ok = False
            when: float | None = None
            if date_key is not None:
                d = (self._outcome_date(p + (date_key,), o.get(date_key) or "horizon", horizon)
                     if self.ok(p + (date_key,)) else None)
                if d is None:
                    ok = False
                elif w is not None:
                    when = w.end_of_day(d)      # the whole day counts
            if w is None:
                continue
            kw: dict[str, Any] = {}
            if measure == "first":
                good = all([self._kind(p + ("first", j), k) for j, k in enumerate(value)])
                if len(set(map(str, value))) != len(value):
                    self.add(p + ("first",), "first lists an event twice", "each event once")
                    good = False
                if not good:
                    continue
                kw["events"] = tuple(value)
            elif measure == "state":
                if not isinstance(value, str) or value not in w.variables:
                    self.add(p + ("state",), f"unknown variable '{value}'",
                             did_you_mean(value, w.variables))
                    continue
                kw["var"] = value
            else:
                if not self._kind(p + (measure,), value):
                    continue
                kw["event"] = value
            label = o.get("label") or ""
            if not ok:
                continue
            if date_key is not None:
                kw[date_key] = when
            out.append(OutcomeSpec(id=oid, measure=measure, label=label, **kw))
        return out

    def _outcome_date(self, path: tuple, value: Any, horizon: dt.date | None) -> dt.date | None:
        if value == "horizon":
            return horizon
        d = value
        w = self.world
        if w is not None and d < w.starts:
            self.add(path, f"outcome date {d} is before the world starts ({w.starts})",
                     f"use a date from {w.starts} to the horizon")
            return None
        if horizon is not None and d > horizon:
            self.add(path, f"outcome date {d} is after the horizon {horizon}",
                     "the simulation stops at the horizon")
            return None
        return d

    # ---- building a branch

    def _branch(self, name: str, description: str, base: _Changes, ch: _Changes,
                base_world: World, fork: dt.date, horizon: dt.date) -> Branch:
        world = base_world.with_parameters(ch.settings)
        settings = {**base.settings, **ch.settings}
        # a branch's set: fixes what the base draws; its uncertain: replaces the base's
        uncertain = {k: d for k, d in {**base.uncertain, **ch.uncertain}.items()
                     if k not in ch.settings or k in ch.uncertain}
        drops = [_drop(k, d) for _, k, d in base.drops + ch.drops]
        fork_day = world.day(fork)
        key = tuple((k, d) for _, k, d in base.drops + ch.drops)
        if key not in self.histories:   # branches with the same drops share one tuple
            kept = self.history.without(drops) if drops else self.history
            self.histories[key] = (kept, tuple(o for o in kept.occurrences(world)
                                               if o.time < fork_day))
        kept, history = self.histories[key]
        inject = []
        for _, e in base.inject + ch.inject:
            inject.append(Occurrence(time=world.day(_as_date(e["date"])), kind=e["event"],
                                     origin=INJECTED, actor=e.get("actor"),
                                     target=e.get("target"), note=e.get("note")))
        inject.sort(key=lambda o: o.time)
        suppress = frozenset(k for _, k in base.suppress + ch.suppress)
        return Branch(name=name, description=description, world=world, history=history,
                      history_doc=kept, inject=tuple(inject), suppress=suppress,
                      fork=fork_day, horizon=world.end_of_day(horizon), settings=settings,
                      uncertain=uncertain)


def _drop(kind: str, date: dt.date | None) -> dict[str, Any]:
    return {"event": kind} if date is None else {"event": kind, "date": date}
