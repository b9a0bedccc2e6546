"""Out-of-sample forecast scores at rolling origins, against naive baselines.

This module owns scoring files (format in docs/scenarios.md, "Scoring
forecasts") and the scoring report. A scoring file names a scenario (its
world, history and ``set:`` are used; its fork, horizon and outcomes are not),
several **origins**, **horizons** and the **events** to ask about. At each
origin the world is forked on the history dated before the origin (exactly
what ``sim run`` does at a fork) and ``replicates`` replicates are simulated
up to the longest horizon. Then, for every event X:

- one **binary question** per horizon h: "does X occur on a date in
  [origin, origin + h)?" (3 months from 2019-04-01 means up to and including
  2019-06-30); the model's forecast is the share of replicates where it does;
- one **date question**: "how many days after the origin does X first
  occur?", watched for the longest horizon H, scored with the censored CRPS
  (:mod:`sim.scores`); "not by the horizon" is the censored outcome.

The truth is the history document's first entry of X dated on or after the
origin. A ``once`` event that history already has before the origin cannot
occur again: its questions are left out (and counted). Every question is
also forecast by two baselines:

- **base rate**: X as a constant hazard ``lam = (k + 1/2) / E``, where ``k``
  is the number of history entries of X dated before the origin and ``E`` the
  days from the world's ``starts`` to the origin (the 1/2 keeps an event that
  never happened yet possible: the Jeffreys estimate of a Poisson rate);
  ``P(by h) = 1 - exp(-lam h)`` and the waiting time is exponential;
- **no change**: nothing new happens (probability 0; never by the horizon).

**In-sample or out-of-sample.** A world declares ``fitted_through: DATE``,
the last history date its parameters were fitted on (a scoring file may
declare a later one for its scenario's ``set:``). Scores at origins *before*
that date are in-sample (the parameters saw part of what is forecast) and
reported apart; a world that declares nothing is reported as "fit date not
declared" and treated as in-sample.

``variants`` re-score the model with every delay scaled (``time_scale: 3``:
every rule delay and every review period x3, i.e. everything 3 times slower),
so a report can show how much worse a deliberately wrong model does.

Use: ``report = score("scenarios/s400/score.yaml")``; ``print(format_report(report))``;
``report.save(folder)`` / ``load_report(folder)``; :mod:`sim.scoredoc` (``make scores-doc``)
regenerates the S-400 tables in docs/s400-model.md.
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from sim import yamlfile
from sim.engine import Engine
from sim.errors import InputError, Problem, did_you_mean
from sim.scenario import load_scenario
from sim.scores import (
    LOG_FLOOR,
    bootstrap,
    brier,
    crps_ensemble,
    crps_exponential,
    crps_never,
    log_loss,
)
from sim.seeding import replicate_rng
from sim.world import Delay, World

__all__ = ["ScoringSpec", "Question", "ScoreReport", "load_spec", "score", "format_report",
           "reliability", "time_scaled", "load_report", "SCORES_FILE", "MODEL", "BASE_RATE",
           "NO_CHANGE"]

SPEC_KEYS = ("name", "description", "scenario", "origins", "horizons", "events",
             "replicates", "seed", "bootstrap", "fitted_through", "variants")
VARIANT_KEYS = ("name", "time_scale")
MODEL, BASE_RATE, NO_CHANGE = "model", "base rate", "no change"
BASELINES = (BASE_RATE, NO_CHANGE)
SCORES_FILE = "scores.json"
IN, OUT = "in-sample", "out-of-sample"
_HORIZON = re.compile(r"^\s*(\d+)\s*([dmy])\s*$")
_UNIT = {"d": "days", "m": "months", "y": "years"}


# --------------------------------------------------------------------------- the file

@attrs.frozen
class Horizon:
    """A forecast horizon: ``count`` days, months or years after the origin."""

    count: int
    unit: str        # "d", "m" or "y"

    @property
    def label(self) -> str:
        return f"{self.count}{self.unit}"

    def end(self, origin: dt.date) -> dt.date:
        """The first date *after* the window [origin, end)."""
        if self.unit == "d":
            return origin + dt.timedelta(days=self.count)
        months = self.count * (12 if self.unit == "y" else 1)
        y, m = divmod(origin.month - 1 + months, 12)
        year, month = origin.year + y, m + 1
        return dt.date(year, month, min(origin.day, calendar.monthrange(year, month)[1]))

    def days(self, origin: dt.date) -> int:
        return (self.end(origin) - origin).days


@attrs.frozen
class ScoringSpec:
    """A validated scoring file."""

    name: str
    file: Path
    scenario_file: Path
    origins: tuple[dt.date, ...]
    horizons: tuple[Horizon, ...]
    events: tuple[str, ...]
    replicates: int
    seed: int
    bootstrap: int
    fitted_through: dt.date | None
    variants: tuple[tuple[str, float], ...]
    scenario: Any = attrs.field(eq=False, repr=False)

    @property
    def longest(self) -> Horizon:
        """The last horizon (horizons are sorted by their length from 2001-01-01)."""
        return self.horizons[-1]


def _int(doc: yamlfile.Located, data: dict, key: str, default: int, minimum: int,
         problems: list[Problem]) -> int:
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        problems.append(doc.problem((key,), f"'{key}' must be a whole number >= {minimum}, "
                                    f"not {v!r}", f"e.g. {key}: {default}"))
        return default
    return v


def _date(v: Any) -> dt.date | None:
    return v if isinstance(v, dt.date) and not isinstance(v, dt.datetime) else None


def load_spec(path: str | os.PathLike, replicates: int | None = None) -> ScoringSpec:
    """Read and check a scoring file, its scenario, world and history.

    Every problem is reported at once as one :class:`InputError` naming the
    scoring file's line (problems inside the scenario name the scenario's).
    """
    path = Path(path)
    doc = yamlfile.load(path)
    data = doc.data
    if not isinstance(data, dict):
        raise InputError(doc.problem((), "a scoring file must be a mapping",
                                     "expected keys: " + ", ".join(SPEC_KEYS)))
    if "origins" not in data and ("fork" in data or "world" in data or "extends" in data):
        raise InputError(Problem(path, None, None, "this is a scenario, not a scoring file",
                                 "a scoring file names a scenario (scenario: baseline.yaml) "
                                 "and adds origins, horizons and events; see "
                                 "scenarios/s400/score.yaml"))
    problems: list[Problem] = []
    for k in data:
        if k not in SPEC_KEYS:
            problems.append(doc.problem((k,), f"unknown key '{k}' in a scoring file",
                                        did_you_mean(str(k), SPEC_KEYS)
                                        or "keys: " + ", ".join(SPEC_KEYS), key=True))
    for k in ("scenario", "origins", "horizons", "events"):
        if k not in data:
            problems.append(doc.problem((), f"a scoring file needs '{k}'",
                                        "see docs/scenarios.md, 'Scoring forecasts'"))
    if problems:
        raise InputError(problems)

    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(doc.problem(("name",), "'name' must be text"))
        name = path.stem
    n = _int(doc, data, "replicates", 1000, 1, problems)
    if replicates is not None:
        n = int(replicates)
    seed = _int(doc, data, "seed", 0, 0, problems)
    draws = _int(doc, data, "bootstrap", 2000, 100, problems)

    # horizons
    horizons: list[Horizon] = []
    hs = data["horizons"]
    if not isinstance(hs, list) or not hs:
        problems.append(doc.problem(("horizons",), "'horizons' must be a non-empty list",
                                    "e.g. horizons: [3m, 6m, 12m]"))
        hs = []
    for i, h in enumerate(hs):
        m = _HORIZON.match(str(h)) if isinstance(h, str) else None
        if not m or int(m.group(1)) < 1:
            problems.append(doc.problem(("horizons", i), f"'{h}' is not a horizon",
                                        "write a whole number and d, m or y: 90d, 3m, 1y"))
            continue
        hz = Horizon(int(m.group(1)), m.group(2))
        if hz in horizons:
            problems.append(doc.problem(("horizons", i), f"horizon '{h}' is listed twice"))
            continue
        horizons.append(hz)

    # origins
    origins: list[dt.date] = []
    os_ = data["origins"]
    if not isinstance(os_, list) or not os_:
        problems.append(doc.problem(("origins",), "'origins' must be a non-empty list of dates",
                                    "e.g. origins: [2018-07-01, 2019-01-01]"))
        os_ = []
    for i, o in enumerate(os_):
        d = _date(o)
        if d is None:
            problems.append(doc.problem(("origins", i), f"origin {o!r} is not a date",
                                        "write dates as YYYY-MM-DD"))
        elif d in origins:
            problems.append(doc.problem(("origins", i), f"origin {d} is listed twice"))
        else:
            origins.append(d)

    fitted_spec = None
    if "fitted_through" in data:
        fitted_spec = _date(data["fitted_through"])
        if fitted_spec is None:
            problems.append(doc.problem(("fitted_through",), "'fitted_through' must be a date",
                                        "the last history date the parameters saw"))

    variants: list[tuple[str, float]] = []
    vs = data.get("variants") or []
    if not isinstance(vs, list):
        problems.append(doc.problem(("variants",), "'variants' must be a list",
                                    "e.g. [{name: 3x faster, time_scale: 0.333333}]"))
        vs = []
    for i, v in enumerate(vs):
        if not isinstance(v, dict) or set(v) != set(VARIANT_KEYS):
            problems.append(doc.problem(("variants", i), "a variant is {name: ..., "
                                        "time_scale: ...}", "e.g. {name: 4x slower, "
                                        "time_scale: 4}"))
            continue
        ts = v["time_scale"]
        vname = str(v["name"])
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not ts > 0:
            problems.append(doc.problem(("variants", i, "time_scale"), "'time_scale' must be "
                                        f"a positive number, not {ts!r}",
                                        "3 = every delay 3 times longer"))
        elif vname in (MODEL, *BASELINES) or vname in [x[0] for x in variants]:
            problems.append(doc.problem(("variants", i, "name"), f"variant name '{vname}' is "
                                        "taken", "choose another name"))
        else:
            variants.append((vname, float(ts)))

    # the scenario, its world and history
    sc_rel = data["scenario"]
    scenario = None
    if not isinstance(sc_rel, str):
        problems.append(doc.problem(("scenario",), "'scenario' must be a file name",
                                    "e.g. scenario: baseline.yaml"))
    else:
        scenario = load_scenario(path.parent / sc_rel)   # its own problems name its file
        br = scenario.branches[0]
        if br.inject or br.suppress:
            problems.append(doc.problem(("scenario",), f"scenario '{sc_rel}' injects or "
                                        "suppresses events, which a forecast must not assume",
                                        "score a scenario without inject: or suppress:"))
    events: list[str] = []
    es = data["events"]
    if not isinstance(es, list) or not es:
        problems.append(doc.problem(("events",), "'events' must be a non-empty list of "
                                    "event kinds", "e.g. events: [caatsa_sanctions]"))
        es = []
    if scenario is not None:
        br = scenario.branches[0]
        world = br.world
        for i, e in enumerate(es):
            if not isinstance(e, str) or e not in world.events:
                problems.append(doc.problem(("events", i), f"'{e}' is not an event of world "
                                            f"'{world.name}'", did_you_mean(str(e),
                                                                            world.events)))
            elif e in events:
                problems.append(doc.problem(("events", i), f"event '{e}' is listed twice"))
            else:
                events.append(e)
        entries = br.history_doc.entries
        last = max((x.date for x in entries), default=None)
        for i, o in enumerate(origins):
            at = ("origins", i)
            if o <= world.starts:
                problems.append(doc.problem(at, f"origin {o} is not after the world's start "
                                            f"({world.starts})", "the base rate needs some "
                                            "history before the origin; use a later origin"))
            elif last is None or o > last:
                problems.append(doc.problem(at, f"origin {o} is after the last history entry "
                                            f"({last}): there is nothing to score against",
                                            "use an earlier origin"))
            elif horizons:
                end = max(h.end(o) for h in horizons) - dt.timedelta(days=1)
                if end > last:
                    problems.append(doc.problem(at, f"origin {o}: the longest horizon runs to "
                                                f"{end}, after the last history entry "
                                                f"({last}), so what happened is not known",
                                                "use an earlier origin or shorter horizons"))
    if problems:
        raise InputError(problems)
    assert scenario is not None
    fitted = scenario.branches[0].world.fitted_through
    if fitted_spec is not None:
        fitted = max(fitted, fitted_spec) if fitted is not None else fitted_spec
    return ScoringSpec(str(name), path, (path.parent / sc_rel), tuple(sorted(origins)),
                       tuple(sorted(horizons, key=lambda h: h.days(dt.date(2001, 1, 1)))),
                       tuple(events), n, seed, draws, fitted, tuple(variants), scenario)


# --------------------------------------------------------------------------- perturbation

def _scaled_delay(d: Delay, f: float) -> Delay:
    p = dict(d.params)
    for k in ("value", "mean", "median", "low", "mode", "high"):
        if k in p:
            p[k] = float(p[k]) * f
    if "values" in p:
        p["values"] = [float(v) * f for v in p["values"]]
    return Delay(d.kind, p)


def time_scaled(world: World, factor: float) -> World:
    """The world with every rule delay and every review period multiplied by ``factor``
    (``factor`` 1/3: everything three times faster; 4: four times slower)."""
    rules = tuple(attrs.evolve(r, delay=_scaled_delay(r.delay, factor)) for r in world.rules)
    reviews = tuple(attrs.evolve(rv, every=rv.every * factor) for rv in world.reviews)
    return World(world.name, world.starts, world.actors, world.variables, world.events,
                 rules, reviews, world.file, fitted_through=world.fitted_through)


# --------------------------------------------------------------------------- questions

@attrs.frozen
class Question:
    """One scored question and every forecaster's forecast.

    ``kind`` is "by" (binary; ``forecast`` holds probabilities, ``outcome`` 0/1)
    or "date" (``forecast`` holds censored CRPS values in days, ``outcome`` the
    days to the first occurrence or None if not by ``days``).
    """

    origin: dt.date
    event: str
    kind: str
    horizon: str
    days: int
    outcome: float | None
    forecast: dict[str, float]
    in_sample: bool

    def scores(self, metric: str) -> dict[str, float]:
        if metric == "crps":
            return dict(self.forecast)
        fn = brier if metric == "brier" else log_loss
        return {f: float(fn(p, self.outcome)) for f, p in self.forecast.items()}

    def to_json(self) -> dict:
        return {"origin": self.origin.isoformat(), "event": self.event, "kind": self.kind,
                "horizon": self.horizon, "days": self.days, "outcome": self.outcome,
                "forecast": self.forecast, "in_sample": self.in_sample}

    @classmethod
    def from_json(cls, d: dict) -> Question:
        return cls(dt.date.fromisoformat(d["origin"]), d["event"], d["kind"], d["horizon"],
                   int(d["days"]), d["outcome"], dict(d["forecast"]), bool(d["in_sample"]))


@attrs.frozen
class ScoreReport:
    """Every question of a scoring run, with what is needed to summarise it again."""

    name: str
    scenario: str
    world: str
    origins: tuple[dt.date, ...]
    horizons: tuple[str, ...]
    events: tuple[str, ...]
    replicates: int
    seed: int
    bootstrap: int
    fitted_through: dt.date | None
    forecasters: tuple[str, ...]
    questions: tuple[Question, ...]
    skipped: tuple[tuple[str, str], ...] = ()    # (origin, event): once, already happened
    seconds: float = attrs.field(default=0.0, eq=False)

    def to_json(self) -> dict:
        return {"name": self.name, "scenario": self.scenario, "world": self.world,
                "origins": [o.isoformat() for o in self.origins],
                "horizons": list(self.horizons), "events": list(self.events),
                "replicates": self.replicates, "seed": self.seed, "bootstrap": self.bootstrap,
                "fitted_through": self.fitted_through.isoformat() if self.fitted_through
                else None, "forecasters": list(self.forecasters),
                "skipped": [list(s) for s in self.skipped], "seconds": self.seconds,
                "log_floor": LOG_FLOOR, "questions": [q.to_json() for q in self.questions]}

    @classmethod
    def from_json(cls, d: dict) -> ScoreReport:
        ft = d.get("fitted_through")
        return cls(d["name"], d["scenario"], d["world"],
                   tuple(dt.date.fromisoformat(o) for o in d["origins"]), tuple(d["horizons"]),
                   tuple(d["events"]), int(d["replicates"]), int(d["seed"]),
                   int(d["bootstrap"]), dt.date.fromisoformat(ft) if ft else None,
                   tuple(d["forecasters"]), tuple(Question.from_json(q) for q in d["questions"]),
                   tuple(tuple(s) for s in d.get("skipped", ())), float(d.get("seconds", 0)))

    def save(self, folder: str | os.PathLike, force: bool = False) -> Path:
        """Write ``folder/scores.json`` (atomically; an existing folder must be a scoring
        output and ``force`` given). Returns the file."""
        folder = Path(folder)
        target = folder / SCORES_FILE
        check_out(folder, force)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".scores-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_json(), fh, indent=1)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def check_out(folder: str | os.PathLike, force: bool = False) -> None:
    """Refuse an output folder that holds anything but an earlier scoring output, or an
    earlier one without ``force`` (InputError; nothing is touched)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(Problem(folder, None, None, "is a file, not a folder",
                                 "choose another --out folder"))
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / SCORES_FILE).is_file():
            raise InputError(Problem(folder, None, None, "exists and is not a scoring output",
                                     "choose another --out folder"))
        if not force:
            raise InputError(Problem(folder, None, None, "already holds scores",
                                     "add --force to replace them"))


def reliability_figure(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Draw the reliability diagram of a scoring output (model and base rate, all binary
    questions) into ``FOLDER/figures/reliability.png`` (and .svg) or ``out``; returns the
    PNG's path."""
    from sim import plots

    report = load_report(path)
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    bins = {f: reliability(report.questions, f) for f in (MODEL, BASE_RATE)}
    nq = sum(q.kind == "by" for q in report.questions)
    fig = plots.reliability(bins, title=f"Reliability: {report.name}, {nq} binary questions")
    png, _ = plots.save(fig, out if out is not None else folder / "figures" / "reliability")
    return png


def is_scores(path: str | os.PathLike) -> bool:
    """True if ``path`` is a scoring output folder (or its scores.json)."""
    p = Path(path)
    return (p.is_dir() and (p / SCORES_FILE).is_file()) or (p.is_file()
                                                             and p.name == SCORES_FILE)


def load_report(path: str | os.PathLike) -> ScoreReport:
    """Read a scoring output folder (or its scores.json)."""
    p = Path(path)
    f = p / SCORES_FILE if p.is_dir() else p
    try:
        return ScoreReport.from_json(json.loads(f.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(Problem(f, None, None, f"not a readable scoring output ({exc})",
                                 "write one with 'sim score FILE --out FOLDER'")) from None


# --------------------------------------------------------------------------- scoring

def _first_times(engine: Engine, kinds: set[str], n: int, seed: int, origin: float,
                 name: str) -> dict[str, np.ndarray]:
    """Per kind, the day (whole days after the origin, floor) of its first occurrence on
    or after the origin in each replicate (inf: none)."""
    first = {k: np.full(n, math.inf) for k in kinds}
    for i in range(n):
        for e in engine.run(replicate_rng(seed, i), f"{name}/{i}"):
            arr = first.get(e.kind)
            if arr is not None and e.time >= origin:
                d = math.floor(e.time) - origin
                if d < arr[i]:
                    arr[i] = d
    return first


def score(spec: ScoringSpec | str | os.PathLike, replicates: int | None = None) -> ScoreReport:
    """Forecast every question of a scoring file with the model, its variants and the
    baselines. ``replicates`` overrides the file's count."""
    t0 = time.perf_counter()
    if not isinstance(spec, ScoringSpec):
        spec = load_spec(spec, replicates=replicates)
    elif replicates is not None:
        spec = attrs.evolve(spec, replicates=int(replicates))
    br = spec.scenario.branches[0]
    world = br.world
    entries = sorted(br.history_doc.entries, key=lambda e: e.date)
    occurrences = br.history_doc.occurrences(world)
    worlds = [(MODEL, world)] + [(v, time_scaled(world, f)) for v, f in spec.variants]
    forecasters = tuple(w for w, _ in worlds) + BASELINES
    questions: list[Question] = []
    skipped: list[tuple[str, str]] = []
    n = spec.replicates
    for origin in spec.origins:
        o_day = world.day(origin)
        in_sample = spec.fitted_through is None or origin < spec.fitted_through
        hdays = [h.days(origin) for h in spec.horizons]
        H = max(hdays)
        past = [o for o in occurrences if o.time < o_day]
        asked = []
        for ev in spec.events:
            before = sum(1 for e in entries if e.event == ev and e.date < origin)
            if world.events[ev].once and before:
                skipped.append((origin.isoformat(), ev))
            else:
                asked.append((ev, before))
        if not asked:
            continue
        kinds = {ev for ev, _ in asked}
        sims = {}
        for wname, w in worlds:
            engine = Engine(w, past, o_day, o_day + H)
            sims[wname] = _first_times(engine, kinds, n, spec.seed, o_day, wname)
        for ev, before in asked:
            truth = next(((e.date - origin).days for e in entries
                          if e.event == ev and e.date >= origin), math.inf)
            lam = (before + 0.5) / o_day
            for hz, d in zip(spec.horizons, hdays):
                fc = {w: float(np.mean(sims[w][ev] < d)) for w, _ in worlds}
                fc[BASE_RATE] = 1.0 - math.exp(-lam * d)
                fc[NO_CHANGE] = 0.0
                questions.append(Question(origin, ev, "by", hz.label, d,
                                          1.0 if truth < d else 0.0, fc, in_sample))
            fc = {w: crps_ensemble(sims[w][ev], truth, H) for w, _ in worlds}
            fc[BASE_RATE] = crps_exponential(lam, truth, H)
            fc[NO_CHANGE] = crps_never(truth, H)
            questions.append(Question(origin, ev, "date", spec.longest.label, H,
                                      float(truth) if truth < H else None, fc, in_sample))
    return ScoreReport(spec.name, str(spec.scenario_file), world.name, spec.origins,
                       tuple(h.label for h in spec.horizons), spec.events, n, spec.seed,
                       spec.bootstrap, spec.fitted_through, forecasters, tuple(questions),
                       tuple(skipped), round(time.perf_counter() - t0, 2))


# --------------------------------------------------------------------------- summaries

METRICS = (("brier", "by", "Brier"), ("log", "by", "log loss"), ("crps", "date", "CRPS (days)"))


def summarise(report: ScoreReport, questions: Sequence[Question]) -> dict:
    """For each metric, the cluster-bootstrap summary (:func:`sim.scores.bootstrap`) over
    ``questions``, clusters = event kinds; None for a metric with no question."""
    out = {}
    for metric, kind, _ in METRICS:
        qs = [q for q in questions if q.kind == kind]
        if not qs:
            out[metric] = None
            continue
        per = [q.scores(metric) for q in qs]
        scores = {f: np.array([p[f] for p in per]) for f in report.forecasters}
        out[metric] = bootstrap(scores, [q.event for q in qs], reference=BASELINES,
                                draws=report.bootstrap, seed=report.seed)
    return out


def groups(report: ScoreReport) -> list[tuple[str, list[Question]]]:
    """("in-sample", questions), ("out-of-sample", questions): only the non-empty ones."""
    out = []
    for label, flag in ((IN, True), (OUT, False)):
        qs = [q for q in report.questions if q.in_sample == flag]
        if qs:
            out.append((label, qs))
    return out


def reliability(questions: Sequence[Question], forecaster: str = MODEL,
                bins: int = 10) -> list[dict]:
    """Binned reliability of a forecaster's binary forecasts: per bin [lo, hi) (the last
    bin includes 1), the count, the mean forecast and the observed frequency."""
    qs = [q for q in questions if q.kind == "by"]
    p = np.array([q.forecast[forecaster] for q in qs])
    y = np.array([q.outcome for q in qs])
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        c = int(m.sum())
        rows.append({"lo": b / bins, "hi": (b + 1) / bins, "count": c,
                     "forecast": float(p[m].mean()) if c else math.nan,
                     "observed": float(y[m].mean()) if c else math.nan})
    return rows


def _ci(m: float, ci: tuple[float, float], fmt: str) -> str:
    return f"{m:{fmt}} [{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def _skill(t: tuple[float, float, float] | None) -> str:
    if t is None or math.isnan(t[0]):
        return "n/a"
    return f"{t[0]:+.2f} [{t[1]:+.2f}, {t[2]:+.2f}]"


def verdict(summary: dict, forecaster: str = MODEL, reference: str = BASE_RATE) -> list[str]:
    """Plain sentences: does ``forecaster`` beat ``reference`` on each metric?"""
    lines = []
    for metric, _, title in METRICS:
        s = summary.get(metric)
        if s is None:
            continue
        sk = s["skill"].get((forecaster, reference))
        if sk is None or math.isnan(sk[0]):
            lines.append(f"{title}: no skill score (the {reference} scores 0)")
        elif sk[1] > 0:
            lines.append(f"{title}: the {forecaster} beats the {reference} (skill "
                         f"{_skill(sk)})")
        elif sk[2] < 0:
            lines.append(f"{title}: the {forecaster} is WORSE than the {reference} (skill "
                         f"{_skill(sk)})")
        else:
            lines.append(f"{title}: the {forecaster} does NOT beat the {reference} (skill "
                         f"{_skill(sk)}; the interval includes 0)")
    return lines


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def _group_text(report: ScoreReport, label: str, qs: list[Question]) -> list[str]:
    origins = sorted({q.origin for q in qs})
    nb = sum(q.kind == "by" for q in qs)
    nd = sum(q.kind == "date" for q in qs)
    s = summarise(report, qs)
    lines = [f"{label.upper()}: {len(origins)} origin(s) "
             f"({', '.join(str(o) for o in origins)}), {nb} binary and {nd} date questions "
             f"about {len({q.event for q in qs})} events"]
    head = ("forecaster",) + tuple(t for _, _, t in METRICS)
    rows = [head]
    for f in report.forecasters:
        row = [f]
        for metric, _, _ in METRICS:
            m = s[metric]
            fmt = ".1f" if metric == "crps" else ".3f"
            row.append("-" if m is None else _ci(m["mean"][f], m["ci"][f], fmt))
        rows.append(tuple(row))
    lines += _table(rows)
    lines.append("")
    lines.append("skill score = 1 - score/baseline score, 95% interval (positive: better than "
                 "the baseline)")
    rows = [("forecaster", "vs", *(t for _, _, t in METRICS))]
    for ref in BASELINES:
        for f in report.forecasters:
            if f in BASELINES:
                continue
            rows.append((f, ref, *(_skill(s[m]["skill"].get((f, ref)) if s[m] else None)
                                   for m, _, _ in METRICS)))
    lines += _table(rows)
    lines.append("")
    lines += ["verdict: " + v for v in verdict(s)]
    lines.append("")
    # per origin
    rows = [("origin", "questions", "Brier model", "base rate", "no change", "skill vs base",
             "CRPS model", "base rate", "no change")]
    for o in origins:
        qo = [q for q in qs if q.origin == o]
        so = summarise(report, qo)
        b, c = so["brier"], so["crps"]
        rows.append((str(o), str(len(qo)),
                     *(f"{b['mean'][f]:.3f}" for f in (MODEL, *BASELINES)),
                     _skill(b["skill"].get((MODEL, BASE_RATE))),
                     *(f"{c['mean'][f]:.1f}" for f in (MODEL, *BASELINES))))
    lines += _table(rows)
    lines.append("")
    return lines


def worse_than_base_rate(qs: Sequence[Question], metric: str = "brier") -> list[tuple]:
    """Events on whose questions the model's mean score is worse than the base rate's:
    (event, questions, model mean, base-rate mean), worst first."""
    kind = "date" if metric == "crps" else "by"
    out = []
    for ev in dict.fromkeys(q.event for q in qs if q.kind == kind):
        sc = [q.scores(metric) for q in qs if q.event == ev and q.kind == kind]
        m = float(np.mean([s[MODEL] for s in sc]))
        b = float(np.mean([s[BASE_RATE] for s in sc]))
        if m > b:
            out.append((ev, len(sc), m, b))
    out.sort(key=lambda t: t[3] - t[2])
    return out


def format_report(report: ScoreReport) -> str:
    """The plain-text scoring report: in-sample and out-of-sample tables, verdicts,
    per-origin scores, the events where the model loses to the base rate, reliability."""
    ft = report.fitted_through
    lines = [f"Forecast scores of {report.name} (world {report.world}): "
             f"{len(report.origins)} origins, {len(report.events)} events, horizons "
             f"{'/'.join(report.horizons)}, {report.replicates} replicates, seed {report.seed}",
             ("parameters fitted on history through " + str(ft) + ": origins before it are "
              "in-sample") if ft else "the world does not declare when its parameters were "
             "fitted (fitted_through): every score is treated as in-sample",
             f"binary questions: Brier and log loss (probabilities floored at {LOG_FLOOR}); "
             f"date questions: CRPS in days, censored at the longest horizon; 95% intervals: "
             f"bootstrap over events ({report.bootstrap} draws)"]
    if report.skipped:
        lines.append(f"left out: {len(report.skipped)} (origin, event) pairs whose once-only "
                     "event had already happened")
    lines.append("")
    gs = groups(report)
    labels = [g for g, _ in gs]
    if OUT not in labels:
        lines.append("OUT-OF-SAMPLE: no origin is on or after the fit date, so there is no "
                     "out-of-sample score.")
        lines.append("")
    for label, qs in gs:
        lines += _group_text(report, label, qs)
        bad = worse_than_base_rate(qs)
        if bad:
            lines.append(f"{label}: events where the model's mean Brier is worse than the base "
                         "rate's:")
            lines += [f"  {ev}: {m:.3f} vs {b:.3f} ({k} questions)" for ev, k, m, b in bad]
            lines.append("")
    rel = reliability(report.questions)
    lines.append("reliability of the model (all binary questions): bin, count, mean forecast, "
                 "observed frequency")
    for r in rel:
        if r["count"]:
            lines.append(f"  [{r['lo']:.1f}, {r['hi']:.1f}{']' if r['hi'] == 1 else ')'}  "
                         f"{r['count']:4d}  {r['forecast']:.3f}  {r['observed']:.3f}")
    return "\n".join(lines)
