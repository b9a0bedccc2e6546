"""Which inputs matter: Sobol indices, a one-way tornado and PRIM over ``uncertain:``.

``sim sensitivity RUN_OR_SCENARIO`` runs a design of *parameter points* over a
branch's ``uncertain:`` parameters, ``replicates`` replicates at each point,
and analyses the per-point outcome means:

- **Sobol** first-order (S1) and total (ST) indices with bootstrap intervals.
  SALib does the sampling (``SALib.sample.sobol``: a scrambled Sobol sequence
  in the unit cube, N x (D + 2) points for D parameters) and the estimators
  (``SALib.analyze.sobol``, Saltelli 2010 / Jansen, bootstrap confidence); the
  unit cube is mapped to the declared distributions by their inverse CDFs
  (:meth:`sim.uncertainty.Distribution.ppf`). The model output is a point's
  mean over its replicates, so the indices describe the outcome's
  *probability* (or mean) as a function of the parameters. The Monte Carlo
  error of ``replicates`` replicates per point does not vanish: with the same
  replicate streams at every point (below) it is itself a function of the
  parameters, a step-shaped approximation of the true one, so it is attributed
  to them rather than left unexplained; an inert parameter still gets exactly 0,
  and more replicates per point make the function smoother.
- **Tornado**: every parameter at its median, then one at a time at the 5%
  and 95% quantiles of its declared distribution (not a fixed +/-50%), each
  point with ``tornado_replicates`` replicates; bars carry Monte Carlo
  95% intervals.
- **Parameter uncertainty**: the spread of the point means over the design's
  A and B points (draws from the declared distributions) gives the 5-95%
  range of an outcome over what we do not know. Each point mean still carries
  the Monte Carlo error of ``replicates`` replicates, which would widen the
  range; :func:`sim.paramspread.spread` (the function ``sim run``'s outcome table
  uses too) removes it by the method of moments, with the noise variance taken
  from the residual of the points x replicates table because the points share
  their replicate streams (:func:`sim.paramspread.crn_noise`). ``raw_q05`` and
  ``raw_q95`` are the uncorrected quantiles; ``param_note`` says why a range is
  n/a (too few points).
  The mean over points gets a Monte Carlo standard error from the replicates,
  not the points: all points share the same ``replicates`` streams, so the
  error of that mean is about that of a run of ``replicates`` replicates (a
  plain ``sim run`` of the scenario, each replicate drawing its own values and
  stream, estimates the mean better).
- **PRIM** (:mod:`sim.prim`) on each binary outcome over the A and B points.

Common random numbers: replicate ``r`` of every point uses the engine stream
of replicate ``r`` of a plain run (``replicate_rng(seed, r)``), so point
differences are not blurred by independent noise, and replicate ``r`` of point
``j`` is exactly replicate ``r`` of ``sim run`` with point ``j``'s values
``set`` (:func:`recreate` simulates it again and returns its outcome values).

What a sensitivity run keeps (a folder; ~1M replicates would be gigabytes of
events): ``points.csv``, one row per point with its parameter values and each
outcome's mean and standard deviation over its replicates; the result tables
(``sobol.csv``, ``tornado.csv``, ``uncertainty.csv``, ``prim.csv``); the
manifest and a copy of the scenario, world and history. No events: any
replicate is re-created from the seed, its number and its point's values.
Memory is flat in the number of points (a bounded number of chunks in
flight, per-point sums only).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim import paramspread, uncertainty
from sim import prim as prim_mod
from sim.errors import InputError, Problem, did_you_mean
from sim.points import PointEvaluator, evaluate_points
from sim.safetext import csv_writer
from sim.scenario import Scenario, load_scenario

MANIFEST = "manifest.json"
SUMMABLE = ("occurs", "state", "count")          # outcomes with finite per-replicate values
TORNADO_Q = (0.05, 0.95)
DEFAULT_SAMPLES = 64
DEFAULT_REPLICATES = 50
DEFAULT_TORNADO_REPLICATES = 500


# --------------------------------------------------------------------------- the plan

def _problem(scenario: Scenario, msg: str, hint: str | None = None) -> InputError:
    return InputError(Problem(scenario.file, None, None, msg, hint))


def plan(scenario: Scenario, branch: str | None = None,
         outcomes: Sequence[str] | None = None) -> tuple[int, list[str], list[str]]:
    """(branch index, uncertain paths, outcome ids) after checking the request."""
    names = [b.name for b in scenario.branches]
    b = 0 if branch is None else (names.index(branch) if branch in names else -1)
    if b < 0:
        raise _problem(scenario, f"no branch '{branch}'", did_you_mean(branch or "", names))
    br = scenario.branches[b]
    if not br.uncertain:
        raise _problem(scenario, f"branch '{br.name}' declares no uncertain: parameters",
                       "add e.g. uncertain: {rules.my_rule.probability: {uniform: {low: 0.3, "
                       "high: 0.7}}} to the scenario (see docs/scenarios.md)")
    specs = {o.id: o for o in scenario.outcomes}
    if outcomes:
        for o in outcomes:
            if o not in specs:
                raise _problem(scenario, f"unknown outcome '{o}'", did_you_mean(o, specs))
            if specs[o].measure not in SUMMABLE:
                raise _problem(scenario, f"outcome '{o}' is a {specs[o].measure} outcome",
                               "sensitivity takes occurs, state and count outcomes (a "
                               "time_to outcome has infinite values; use an occurs outcome)")
        ids = list(outcomes)
    else:
        ids = [o.id for o in scenario.outcomes if o.measure in SUMMABLE]
    if not ids:
        raise _problem(scenario, "no outcome to analyse", "declare an occurs outcome")
    return b, list(br.uncertain), ids


# --------------------------------------------------------------------------- designs

def _values(dists: Sequence[uncertainty.Distribution], unit: np.ndarray) -> np.ndarray:
    out = np.empty(unit.shape, dtype=object)
    for j, d in enumerate(dists):
        for i in range(unit.shape[0]):
            out[i, j] = d.ppf(float(min(unit[i, j], np.nextafter(1.0, 0.0))))
    return out


def sobol_design(dists: Sequence[uncertainty.Distribution], samples: int, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """SALib's Sobol sample (N x (D + 2) rows: A, AB_1..AB_D, B for each base sample)
    in the unit cube, and the parameter values it maps to."""
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": len(dists), "names": [f"x{j}" for j in range(len(dists))],
               "bounds": [[0.0, 1.0]] * len(dists)}
    unit = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    return unit, _values(dists, unit)


def sobol_indices(y: np.ndarray, d: int, seed: int, resamples: int = 200
                  ) -> dict[str, np.ndarray]:
    """SALib's first-order and total indices with bootstrap 95% half-widths."""
    from SALib.analyze import sobol as sobol_analyze

    problem = {"num_vars": d, "names": [f"x{j}" for j in range(d)],
               "bounds": [[0.0, 1.0]] * d}
    if not np.var(y) > 0:       # a constant output: no parameter explains anything
        z = np.zeros(d)
        return {"S1": z, "S1_conf": z, "ST": z, "ST_conf": z}
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")     # SALib warns about constant subsets
        r = sobol_analyze.analyze(problem, np.asarray(y, dtype=float), calc_second_order=False,
                                  num_resamples=resamples, conf_level=0.95, seed=seed)
    return {k: np.asarray(r[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}


def ab_rows(n_rows: int, d: int) -> np.ndarray:
    """Indices of the A and B rows of a Sobol design (independent draws of the joint
    distribution)."""
    idx = np.arange(n_rows)
    k = idx % (d + 2)
    return idx[(k == 0) | (k == d + 1)]


def tornado_design(dists: Sequence[uncertainty.Distribution]) -> tuple[np.ndarray, list[str]]:
    """Row 0: every parameter at its median; rows 2j+1 and 2j+2: parameter j at its
    5% and 95% quantiles, the others at their medians."""
    d = len(dists)
    med = [dist.ppf(0.5) for dist in dists]
    rows = [list(med)]
    labels = ["base"]
    for j, dist in enumerate(dists):
        for q, lab in zip(TORNADO_Q, ("low", "high")):
            r = list(med)
            r[j] = dist.ppf(q)
            rows.append(r)
            labels.append(f"{j}:{lab}")
    out = np.empty((len(rows), d), dtype=object)
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            out[i, j] = v
    return out, labels


# --------------------------------------------------------------------------- the analysis

def analyse(target: str | os.PathLike | Scenario, *, out: str | os.PathLike | None = None,
            branch: str | None = None, outcomes: Sequence[str] | None = None,
            samples: int = DEFAULT_SAMPLES, replicates: int = DEFAULT_REPLICATES,
            tornado_replicates: int = DEFAULT_TORNADO_REPLICATES, min_coverage: float = 0.5,
            executor: str = "auto", jobs: int | None = None, scheduler: str | None = None,
            progress: bool | None = None, force: bool = False) -> Path:
    """Run the Sobol and tornado designs, analyse them and write a sensitivity folder.

    ``target``: a scenario file, a run folder (its scenario is used) or a Scenario.
    Returns the folder (``runs/<name>-sensitivity-<stamp>`` by default)."""
    from sim import runner

    if isinstance(target, Scenario):
        scenario = target
    elif runner.is_run_folder(target):
        scenario = load_scenario(Path(target) / runner.SCENARIO)
    else:
        scenario = load_scenario(target)
    for what, v in (("samples", samples), ("replicates", replicates),
                    ("tornado replicates", tornado_replicates)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise InputError(Problem(None, None, None, f"--{what.replace(' ', '-')} must be a "
                                     f"whole number of at least 2, got {v!r}", "e.g. 64"))
    if not 0.0 < min_coverage <= 1.0:
        raise InputError(Problem(None, None, None, f"--min-coverage must be in (0, 1], got "
                                 f"{min_coverage}", "e.g. 0.5"))
    b, paths, ids = plan(scenario, branch, outcomes)
    br = scenario.branches[b]
    dists = [br.uncertain[p] for p in paths]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(out) if out is not None else Path("runs") / f"{scenario.name}-sensitivity-{stamp}"
    if folder.exists() and any(folder.iterdir()):
        if not force:
            raise runner.RunError(f"{folder} is not empty; use --force to overwrite it, or "
                                  "--out to choose another folder")
        if not (folder / MANIFEST).is_file():
            raise runner.RunError(f"{folder} was not made by sim sensitivity; choose another "
                                  "folder with --out")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        manifest = {"kind": "sensitivity", "status": "running", "scenario": scenario.name,
                    "scenario_file": str(scenario.file), "branch": br.name,
                    "seed": scenario.seed, "samples": samples, "replicates": replicates,
                    "tornado_replicates": tornado_replicates, "parameters": paths,
                    "outcomes": ids, "min_coverage": min_coverage,
                    "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        runner._atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
        runner._write_scenario_copy(scenario, folder)
        unit, values = sobol_design(dists, samples, scenario.seed)
        rows = ab_rows(len(values), len(paths))
        means, sds, pooled = evaluate_points(scenario, b, ids, replicates, paths, values,
                                             executor, jobs, scheduler, progress, rows)
        t_sobol = time.perf_counter() - t0
        tvalues, tlabels = tornado_design(dists)
        tmeans, tsds, _ = evaluate_points(scenario, b, ids, tornado_replicates, paths, tvalues,
                                       "serial" if executor == "auto" and len(tvalues)
                                       * tornado_replicates < 20000 else executor,
                                       jobs, scheduler, progress)
        _write_points(folder / "points.csv", paths, ids, values, means, sds,
                      [_row_kind(i, len(paths)) for i in range(len(values))])
        _write_points(folder / "tornado_points.csv", paths, ids, tvalues, tmeans, tsds, tlabels)
        _write_tables(folder, scenario, paths, dists, ids, values, means, sds, rows, pooled,
                      tvalues, tmeans, tsds, replicates, tornado_replicates, min_coverage)
        manifest.update(status="complete", points=len(values),
                        replicates_total=int(len(values) * replicates
                                             + len(tvalues) * tornado_replicates),
                        timings={"sobol_s": round(t_sobol, 3),
                                 "total_s": round(time.perf_counter() - t0, 3)})
        runner._atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
    except InputError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except BaseException:
        manifest["status"] = "incomplete"
        runner._atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2))
        raise
    return folder


def _row_kind(i: int, d: int) -> str:
    k = i % (d + 2)
    return "A" if k == 0 else "B" if k == d + 1 else f"AB{k}"


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return format(v, ".10g")
    return str(v)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    from sim.runner import _atomic_write

    buf = io.StringIO()
    w = csv_writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow([_fmt(x) for x in r])
    _atomic_write(path, buf.getvalue())


def _write_points(path: Path, paths: list[str], ids: list[str], values: np.ndarray,
                  means: np.ndarray, sds: np.ndarray, kinds: list[str]) -> None:
    header = ["point", "kind", *paths] + [f"{k}{s}" for k in ids for s in (":mean", ":sd")]
    rows = []
    for i in range(len(values)):
        rows.append([i, kinds[i], *values[i]] + [x for j in range(len(ids))
                                                 for x in (float(means[i, j]),
                                                           float(sds[i, j]))])
    _write_csv(path, header, rows)


def _write_tables(folder: Path, scenario: Scenario, paths: list[str], dists: list,
                  ids: list[str], values: np.ndarray, means: np.ndarray, sds: np.ndarray,
                  rows: np.ndarray, pooled: np.ndarray, tvalues: np.ndarray,
                  tmeans: np.ndarray, tsds: np.ndarray,
                  replicates: int, tornado_replicates: int, min_coverage: float) -> None:
    d = len(paths)
    sob, unc, tor, prim_rows, box_rows = [], [], [], [], []
    specs = {o.id: o for o in scenario.outcomes}
    for j, k in enumerate(ids):
        r = sobol_indices(means[:, j], d, scenario.seed)
        for p in range(d):
            sob.append([k, paths[p], r["S1"][p], r["S1"][p] - r["S1_conf"][p],
                        r["S1"][p] + r["S1_conf"][p], r["ST"][p],
                        r["ST"][p] - r["ST_conf"][p], r["ST"][p] + r["ST_conf"][p]])
        y = means[rows, j]
        # Monte Carlo standard error of the mean over the A and B points: every point
        # runs the same replicate streams, so the points are not independent draws; the
        # replicates are. Each replicate's mean over the points is one independent
        # value, and the error is their standard deviation / sqrt(replicates).
        se = float(np.std(pooled[:, j], ddof=1) / math.sqrt(replicates))
        within = float(np.mean(sds[rows, j] ** 2) / replicates)
        # the spread over the points with their Monte Carlo noise removed: the same
        # function as sim run's outcome table (sim.paramspread), told that the points
        # share their replicate streams (the noise that differs between points is the
        # residual of the points x replicates table)
        noise = paramspread.crn_noise(y, sds[rows, j] ** 2, replicates, pooled[:, j])
        sp = paramspread.spread(y, np.full(len(y), replicates), noise=noise,
                                noise_df=(len(y) - 1) * (replicates - 1))
        unc.append([k, float(np.mean(y)), se, sp.lo, sp.median, sp.hi,
                    math.sqrt(within), len(y), replicates, sp.sd, sp.raw_lo, sp.raw_hi,
                    sp.note])
        base, bse = tmeans[0, j], tsds[0, j] / math.sqrt(tornado_replicates)
        for p in range(d):
            lo, hi = 1 + 2 * p, 2 + 2 * p
            tor.append([k, paths[p], tvalues[lo, p], tvalues[hi, p], tvalues[0, p], base, bse,
                        tmeans[lo, j], tsds[lo, j] / math.sqrt(tornado_replicates),
                        tmeans[hi, j], tsds[hi, j] / math.sqrt(tornado_replicates)])
        if not np.ptp(means[:, j]) > 0:
            continue   # the same value at every point: no box can be denser (summary says so)
        if specs[k].measure == "occurs" or (specs[k].measure == "state" and np.all(
                (means[:, j] >= 0) & (means[:, j] <= 1))):
            x = np.array([[float(v) for v in row] for row in values[rows]])
            res = prim_mod.prim(x, y, paths, min_coverage=min_coverage)
            for s, st in enumerate(res.trajectory):
                prim_rows.append([k, s, st.coverage, st.density, st.mass,
                                  int(s == res.chosen)])
            for p in range(d):
                lo_, hi_ = res.box[p]
                box_rows.append([k, paths[p], lo_, hi_, res.limits[p][0], res.limits[p][1],
                                 int(res.restricted[p])])
    _write_csv(folder / "sobol.csv", ["outcome", "parameter", "S1", "S1_lo", "S1_hi", "ST",
                                      "ST_lo", "ST_hi"], sob)
    _write_csv(folder / "uncertainty.csv",
               ["outcome", "mean", "mc_se", "param_q05", "param_median", "param_q95",
                "mc_sd_per_point", "points", "replicates_per_point", "param_sd",
                "raw_q05", "raw_q95", "param_note"], unc)
    _write_csv(folder / "tornado.csv",
               ["outcome", "parameter", "low_value", "high_value", "median_value",
                "base_mean", "base_se", "low_mean", "low_se", "high_mean", "high_se"], tor)
    _write_csv(folder / "prim.csv", ["outcome", "step", "coverage", "density", "mass",
                                     "chosen"], prim_rows)
    _write_csv(folder / "prim_box.csv", ["outcome", "parameter", "box_low", "box_high",
                                         "range_low", "range_high", "restricted"], box_rows)


# --------------------------------------------------------------------------- reading

def is_sensitivity_folder(path: str | os.PathLike) -> bool:
    m = Path(path) / MANIFEST
    if not m.is_file():
        return False
    try:
        return json.loads(m.read_text(encoding="utf-8")).get("kind") == "sensitivity"
    except (OSError, json.JSONDecodeError):
        return False


def read_table(folder: str | os.PathLike, name: str) -> list[dict[str, Any]]:
    """One of the folder's tables as rows of dicts (numbers as floats)."""
    with (Path(folder) / name).open(encoding="utf-8", newline="") as f:
        out = []
        for row in csv.DictReader(f):
            conv = {}
            for k, v in row.items():
                try:
                    conv[k] = float(v)
                except ValueError:
                    conv[k] = v
            out.append(conv)
    return out


def manifest(folder: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))


def recreate(folder: str | os.PathLike, point: int, replicate: int,
             design: str = "points.csv") -> np.ndarray:
    """Outcome values of replicate ``replicate`` at point ``point`` of a sensitivity
    folder, simulated again from the seed and the point's stored parameter values."""
    folder = Path(folder)
    m = manifest(folder)
    scenario = load_scenario(folder / "scenario.yaml")
    rows = read_table(folder, design)
    if not 0 <= point < len(rows):
        raise InputError(Problem(folder / design, None, None, f"no point {point}",
                                 f"points 0..{len(rows) - 1}"))
    b = [x.name for x in scenario.branches].index(m["branch"])
    ev = PointEvaluator(scenario, b, m["outcomes"], replicate + 1)
    values = {}
    for p in m["parameters"]:
        v = rows[point][p]
        values[p] = (v == "true") if v in ("true", "false") else v
    return ev.values(values, [replicate])[0]


def constant(sobol_rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether an outcome's Sobol rows are those of an output that is the same at every
    point (:func:`sobol_indices` writes exact zeros then; an output that varies gives
    total indices that sum to about 1 or more)."""
    keys = ("S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi")
    return bool(sobol_rows) and all(float(r[c]) == 0.0 for r in sobol_rows for c in keys)


def summary(folder: str | os.PathLike) -> str:
    """The folder's results as text: per outcome, its range over parameter uncertainty
    and the parameters ranked by total Sobol index."""
    m = manifest(folder)
    unc = {r["outcome"]: r for r in read_table(folder, "uncertainty.csv")}
    sob = read_table(folder, "sobol.csv")
    prims = {}
    for r in read_table(folder, "prim.csv"):
        if r["chosen"] == 1:
            prims[r["outcome"]] = r
    boxes: dict[str, list[dict]] = {}
    for r in read_table(folder, "prim_box.csv"):
        if r["restricted"] == 1:
            boxes.setdefault(r["outcome"], []).append(r)
    lines = [f"sensitivity of '{m['scenario']}' (branch {m['branch']}): "
             f"{len(m['parameters'])} uncertain parameters, {m['points']} points x "
             f"{m['replicates']} replicates (Sobol N = {m['samples']}), tornado "
             f"{m['tornado_replicates']} replicates per point"]
    for k in m["outcomes"]:
        u = unc[k]
        lines.append("")
        lines.append(f"{k}: mean {u['mean']:.3f} (Monte Carlo s.e. {u['mc_se']:.3f}); "
                     + (f"over parameter uncertainty 90% of points lie in "
                        f"[{u['param_q05']:.3f}, {u['param_q95']:.3f}] (Monte Carlo noise "
                        "removed)" if not u.get("param_note") else
                        f"range over parameter uncertainty n/a ({u['param_note']})"))
        rows = sorted((r for r in sob if r["outcome"] == k), key=lambda r: -r["ST"])
        if constant(rows):
            lines.append(f"  the same value ({u['mean']:.3g}) at every point of the design: no "
                         "parameter changes it within these ranges (its Sobol indices are "
                         "written as 0; there is no PRIM box)")
            continue
        lines.append(f"  {'parameter':<48} {'S1 [95% bootstrap]':>24} {'ST [95% bootstrap]':>24}")
        for r in rows:
            lines.append(f"  {r['parameter']:<48} "
                         f"{r['S1']:>6.3f} [{r['S1_lo']:>6.3f}, {r['S1_hi']:>6.3f}] "
                         f"{r['ST']:>6.3f} [{r['ST_lo']:>6.3f}, {r['ST_hi']:>6.3f}]")
        if k in prims:
            p = prims[k]
            lines.append(f"  PRIM box: density {p['density']:.3f}, coverage {p['coverage']:.3f}, "
                         f"mass {p['mass']:.3f}")
            for b in boxes.get(k, []):
                lines.append(f"    {b['parameter']} in [{b['box_low']:.4g}, {b['box_high']:.4g}]"
                             f" (of [{b['range_low']:.4g}, {b['range_high']:.4g}])")
    return "\n".join(lines)


def _f(x: float, digits: int = 2) -> str:
    """``x`` rounded, without a minus sign on a zero (-0.004 -> "0.00")."""
    t = f"{x:.{digits}f}"
    return t[1:] if t.startswith("-") and float(t) == 0 else t


def markdown(folder: str | os.PathLike, top: int = 3) -> str:
    """The folder's results as Markdown: per outcome, its range over parameter
    uncertainty and the ``top`` parameters by total Sobol index (for documents; the
    S-400 numbers in docs/s400-model.md are written by this function)."""
    m = manifest(folder)
    unc = {r["outcome"]: r for r in read_table(folder, "uncertainty.csv")}
    sob = read_table(folder, "sobol.csv")
    tor = {(r["outcome"], r["parameter"]): r for r in read_table(folder, "tornado.csv")}
    labels = {o.id: o.label or o.id for o in load_scenario(Path(folder) / "scenario.yaml").outcomes}
    lines = [f"Scenario `{m['scenario']}`, {len(m['parameters'])} uncertain parameters; Sobol "
             f"design N = {m['samples']} ({m['points']} points x {m['replicates']} replicates); "
             f"tornado {m['tornado_replicates']} replicates per point; seed {m['seed']}.", ""]
    lines += ["| outcome | mean (MC s.e.) | 90% range over parameters |",
              "|---|---|---|"]
    for k in m["outcomes"]:
        u = unc[k]
        rng = (f"n/a ({u['param_note']})" if u.get("param_note")
               else f"{u['param_q05']:.3f} to {u['param_q95']:.3f}")
        lines.append(f"| {labels.get(k, k)} | {u['mean']:.3f} ({u['mc_se']:.3f}) | {rng} |")
    lines += ["", "| outcome | parameter | ST [95% bootstrap] | S1 [95% bootstrap] | "
              "tornado: outcome at 5% / 95% quantile |", "|---|---|---|---|---|"]
    for k in m["outcomes"]:
        rows = sorted((r for r in sob if r["outcome"] == k), key=lambda r: -r["ST"])
        if constant(rows):
            lines.append(f"| {k} | (none: the same value at every point) | - | - | - |")
            continue
        for r in rows[:top]:
            t = tor[(k, r["parameter"])]
            lines.append(f"| {k} | `{r['parameter']}` | {_f(r['ST'])} [{_f(r['ST_lo'])}, "
                         f"{_f(r['ST_hi'])}] | {_f(r['S1'])} [{_f(r['S1_lo'])}, "
                         f"{_f(r['S1_hi'])}] | {_f(t['low_mean'], 3)} / "
                         f"{_f(t['high_mean'], 3)} |")
    return "\n".join(lines)
