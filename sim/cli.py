"""The ``sim`` command: run, validate, compare, show, story, why, verify, plot, hindcast, ingest,
report, schema, sensitivity.

Exit status: 0 success, 2 bad input (a message naming the file, the line and
a hint; never a traceback), 1 internal error, 130 interrupted.
Set ``SIM_DEBUG=1`` to see the traceback of an internal error.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from sim.errors import InputError, SimError, excerpt
from sim.limits import MAX_JOBS, MAX_REPLICATES, published_problem

EPILOG = textwrap.dedent("""\
    examples:
      sim run scenarios/s400/baseline.yaml                 run it into runs/baseline-<time>/
      sim run scenarios/s400/baseline.yaml -n 200 --out runs/quick
      sim run --resume runs/quick                          finish an interrupted run
      sim validate scenarios/s400/*.yaml                   check files without running
      sim compare scenarios/s400/no_congress_hold.yaml     a branch against its own control
      sim story runs/quick --replicate 3                   one simulated world, told
      sim why runs/quick --replicate 3 caatsa_sanctions    the causal chain of one event
      sim plot runs/quick                                  the standard figures
      sim verify runs/quick --resimulate 20                digests, and 20 replicates re-run
      sim hindcast scenarios/s400/hindcast.yaml            model vs what really happened
      sim score scenarios/s400/score.yaml --out runs/scores  forecast scores vs baselines
      sim ingest article.txt --published 2019-11-15 --world scenarios/s400/world.yaml
      sim sensitivity scenarios/s400/assumptions.yaml      Sobol, tornado and PRIM
    """)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{excerpt(text)}' is not a date (use YYYY-MM-DD)"
                                         ) from None


def _published(text: str) -> dt.date:
    d = _date(text)
    bad = published_problem(d)
    if bad:
        raise argparse.ArgumentTypeError(bad)
    return d


def _int_at_least(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number >= ``minimum`` (and <= ``maximum``), with a
    plain-words error."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{excerpt(text)}' is not a whole "
                                             "number") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {n}")
        if maximum is not None and n > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {excerpt(n)}")
        return n
    return parse


_positive = _int_at_least(1)
_nonneg = _int_at_least(0)
_replicates = _int_at_least(1, MAX_REPLICATES)
_jobs = _int_at_least(1, MAX_JOBS)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with a hint, like every bad input
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sim", description="An event-sourced scenario simulator for policy "
                "analysis.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from sim import __version__

    p.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def cmd(name: str, help_: str, examples: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_,
                              epilog=("examples:\n" + examples) if examples else None,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def executor_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--executor", choices=["auto", "serial", "processes", "dask"],
                       default="auto", help="where replicates run (default: auto = processes "
                       "for large runs, serial for small ones and inside Jupyter)")
        q.add_argument("--jobs", "-j", type=_jobs,
                       help=f"workers (default: all cores; at most {MAX_JOBS})")
        q.add_argument("--scheduler", metavar="ADDR", help="a Dask scheduler address "
                       "(implies --executor dask); without it dask starts a LocalCluster")
        q.add_argument("--no-progress", action="store_true", help="no progress bar")

    q = cmd("run", "Run a scenario (all its branches x replicates) into a run folder.",
            "  sim run scenarios/s400/baseline.yaml --replicates 500 --seed 7 --out runs/b\n"
            "  sim run --resume runs/b\n")
    q.add_argument("file", nargs="?", help="scenario YAML file")
    q.add_argument("--replicates", "-n", type=_replicates,
                   help=f"override the scenario's count (at most {MAX_REPLICATES})")
    q.add_argument("--seed", type=_nonneg, help="override the scenario's seed")
    q.add_argument("--replicates-per-draw", type=_positive, metavar="M",
                   help="override how many replicates share one draw of the uncertain: "
                        "parameters (scenario key replicates_per_draw, default 20)")
    q.add_argument("--out", "-o", help="run folder (default: runs/<name>-<timestamp>)")
    q.add_argument("--force", action="store_true",
                   help="replace an existing run folder (only a run folder made by sim)")
    q.add_argument("--resume", metavar="RUN", help="finish an interrupted run folder")
    executor_args(q)

    q = cmd("validate", "Check scenario, world or history files without running them.",
            "  sim validate scenarios/s400/*.yaml\n"
            "  sim validate scenarios/s400/baseline.yaml --check 200\n")
    q.add_argument("files", nargs="+")
    q.add_argument("--check", type=_positive, metavar="N",
                   help="also run N replicates of every branch of each scenario and check "
                        "the world's invariants (exit 1 if any is broken)")

    q = cmd("schema", "Print the JSON Schema of world, history or scenario files (for "
            "editors).", "  sim schema world > world.schema.json\n")
    q.add_argument("kind", choices=["world", "history", "scenario"])

    q = cmd("compare", "Compare scenarios or runs: each branch against the control of its own "
            "scenario file, with paired differences.",
            "  sim compare scenarios/s400/crete_model.yaml -n 500       crete_model vs its control\n"
            "  sim compare scenarios/s400/patriot_2017.yaml scenarios/s400/russia_wedge.yaml "
            "-n 300 --csv diffs.csv\n"
            "  sim compare runs/a runs/b --against a                   every column vs run a\n")
    q.add_argument("items", nargs="+", metavar="FILE_OR_RUN")
    q.add_argument("--against", metavar="COLUMN", help="compare every column with this one "
                   "(a column label as printed) instead of each branch with its own control")
    q.add_argument("--csv", metavar="FILE", help="also write every difference to this CSV file")
    q.add_argument("--replicates", "-n", type=_replicates,
                   help="replicates for scenarios that are not run yet")
    q.add_argument("--out-root", default="runs", help="where new runs go (default: runs/)")
    executor_args(q)
    q.add_argument("--plot", action="store_true", help="also draw the effects: each branch "
                   "minus its control over time, and a forest plot of every outcome's "
                   "difference (into the branch's RUN/figures/)")

    q = cmd("show", "Show one replicate's events, and its state as of a date.",
            "  sim show runs/b --replicate 0 --as-of 2020-06-30\n")
    q.add_argument("run")
    q.add_argument("--replicate", "-r", type=_nonneg, default=0)
    q.add_argument("--branch", "-b")
    q.add_argument("--as-of", type=_date, help="only events up to this date, and the state then")

    q = cmd("story", "Tell one simulated world in plain English, with the reason for each step.",
            "  sim story runs/b --replicate 3\n")
    q.add_argument("run")
    q.add_argument("--replicate", "-r", type=_nonneg, default=0)
    q.add_argument("--branch", "-b")

    q = cmd("why", "The causal chain of one event, back to history.",
            "  sim why runs/b --replicate 3 caatsa_sanctions\n")
    q.add_argument("run")
    q.add_argument("event", help="an event kind (its first occurrence) or a version number")
    q.add_argument("--replicate", "-r", type=_nonneg, default=0)
    q.add_argument("--branch", "-b")

    q = cmd("verify", "Check a run's store and digests; optionally re-simulate replicates.",
            "  sim verify runs/b --resimulate 20\n")
    q.add_argument("run")
    q.add_argument("--resimulate", type=_nonneg, default=0, metavar="N",
                   help="simulate N random replicates again and compare digests")

    q = cmd("plot", "Write the standard figures of runs into their figures/ folders.",
            "  sim plot runs/b\n")
    q.add_argument("runs", nargs="+")

    q = cmd("hindcast", "Fork early, simulate, and place what really happened in the "
            "simulated distribution.", "  sim hindcast scenarios/s400/hindcast.yaml -n 500\n")
    q.add_argument("file")
    q.add_argument("--replicates", "-n", type=_replicates)

    q = cmd("score", "Score the model's forecasts at rolling origins against base-rate and "
            "'no change' baselines.",
            "  sim score scenarios/s400/score.yaml -n 300\n"
            "  sim score scenarios/s400/score.yaml --out runs/scores && sim plot runs/scores\n")
    q.add_argument("file", help="scoring file (docs/scenarios.md, 'Scoring forecasts')")
    q.add_argument("--replicates", "-n", type=_positive, help="override the file's count")
    q.add_argument("--out", "-o", help="also write FOLDER/scores.json (for sim plot)")
    q.add_argument("--force", action="store_true", help="replace an earlier scoring output")

    q = cmd("ingest", "Code a news article into candidate history entries (printed, for review).",
            "  sim ingest article.txt --published 2019-11-15 --world scenarios/s400/world.yaml\n"
            "  sim ingest --starter --world my/world.yaml > my/coding.yaml   "
            "# a first coding file\n")
    q.add_argument("article", nargs="?")
    q.add_argument("--published", type=_published)
    q.add_argument("--world", required=True)
    q.add_argument("--coding", help="coding dictionaries (default: coding.yaml beside the world)")
    q.add_argument("--source", help="the citation id the entries carry (a key of history.yaml's "
                                    'sources), or "Outlet, Title" (then: source NEW)')
    q.add_argument("--starter", action="store_true",
                   help="print a starter coding.yaml for the world (docs/ingest.md) and exit")

    q = cmd("sensitivity", "Which uncertain: parameters matter: Sobol indices, a tornado and "
            "PRIM boxes, into a sensitivity folder.",
            "  sim sensitivity scenarios/s400/assumptions.yaml --samples 64 -n 50\n"
            "  sim sensitivity runs/b --outcomes sanctioned,activated\n"
            "  sim plot runs/assumptions-sensitivity-<time>\n")
    q.add_argument("target", metavar="RUN_OR_SCENARIO")
    q.add_argument("--outcomes", help="comma-separated outcome ids (default: every occurs, "
                   "state and count outcome)")
    q.add_argument("--branch", "-b", help="the branch whose uncertain: parameters to vary "
                   "(default: the first)")
    q.add_argument("--samples", "-N", type=_int_at_least(2), default=64,
                   help="Sobol base samples N (N x (parameters + 2) points; default 64)")
    q.add_argument("--replicates", "-n", type=_int_at_least(2), default=50,
                   help="replicates per point (default 50)")
    q.add_argument("--tornado-replicates", type=_int_at_least(2), default=500,
                   help="replicates per tornado point (default 500)")
    q.add_argument("--min-coverage", type=float, default=0.5,
                   help="PRIM: the densest box with at least this coverage (default 0.5)")
    q.add_argument("--out", "-o", help="folder (default: runs/<name>-sensitivity-<time>)")
    q.add_argument("--force", action="store_true", help="overwrite an existing folder")
    executor_args(q)

    q = cmd("report", "One self-contained HTML page comparing runs (with forecast scores and "
            "sensitivity folders when given).",
            "  sim report runs/a runs/b --out report.html\n"
            "  sim report runs/a runs/scores --out report.html   # runs/scores from sim score\n"
            "  sim report runs/a runs/a-sensitivity-<time> --out report.html\n")
    q.add_argument("runs", nargs="+")
    q.add_argument("--out", "-o", default="report.html")
    q.add_argument("--force", action="store_true",
                   help="replace an existing file that sim report did not write")

    q = cmd("teaching", "Instructor tools: 'answers' runs the teaching notebooks and writes the "
            "answer key (docs/teaching.md).",
            "  sim teaching answers --out teaching-answers -n 300\n")
    q.add_argument("action", choices=["answers"])
    q.add_argument("--out", "-o", required=True, help="folder for answers.md and answers.json "
                   "(new, or one this command wrote before)")
    q.add_argument("--replicates", "-n", type=_positive, default=300,
                   help="replicates per branch, as the students run them (default: 300)")
    q.add_argument("--notebooks", default="notebooks", help="the notebooks folder")
    q.add_argument("--only", nargs="+", metavar="NN", help="only these notebooks (e.g. 01 03)")
    return p


# --------------------------------------------------------------------------- commands

def _open(path: str, **kw):
    from sim.runner import Run

    return Run(path, **kw)


def _branch(run, name: str | None) -> str:
    return run.branch(name).name if name else run.branch_names()[0]


def cmd_run(a: argparse.Namespace) -> int:
    from sim import runner

    progress = False if a.no_progress else None
    if a.resume:
        if a.file:
            raise InputError("give either a scenario FILE or --resume RUN, not both")
        r = runner.resume(a.resume, executor=a.executor, jobs=a.jobs, scheduler=a.scheduler,
                          progress=progress)
    else:
        if not a.file:
            raise InputError("sim run needs a scenario FILE (or --resume RUN)")
        r = runner.run(a.file, out=a.out, replicates=a.replicates, seed=a.seed,
                       executor=a.executor, jobs=a.jobs, scheduler=a.scheduler,
                       progress=progress, force=a.force,
                       replicates_per_draw=a.replicates_per_draw)
    print(r.outcomes)
    drawn = [b for b in r.scenario.branches if b.uncertain]
    if drawn:
        print(f"\nwhich of the {max(len(b.uncertain) for b in drawn)} uncertain: "
              f"parameter(s) matter: sim sensitivity {r.folder}")
    m = r.manifest   # (broken invariants are shown with the table)
    failed = m.get("counts", {}).get("failed", 0)
    print(f"\nrun folder: {r.folder}  ({m.get('executor')}, {m.get('jobs')} worker(s), "
          f"{m.get('timings', {}).get('total_s')} s)")
    if failed:
        print(f"warning: {failed} of {m.get('counts', {}).get('replicates')} replicate(s) "
              f"failed (status: {r.status}); see {r.folder / 'replicates.csv'}",
              file=sys.stderr)
    return 0


def cmd_validate(a: argparse.Namespace) -> int:
    from sim.errors import Problem

    problems: list[str] = []
    broken = 0
    for f in a.files:
        try:
            kind = _validate_one(Path(f))
            print(f"{f}: ok ({kind})")
            if a.check and kind.startswith("scenario"):
                broken += _check_invariants(Path(f), a.check)
        except InputError as exc:
            problems.append(str(exc))
        except SimError as exc:
            problems.append(str(Problem(f, None, None, str(exc))))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    return 1 if broken else 0


def _check_invariants(path: Path, n: int) -> int:
    """Run n replicates of every branch; print broken invariants; return how many."""
    from sim.invariants import check_scenario, describe
    from sim.scenario import load_scenario

    sc = load_scenario(path)
    if not any(br.world.invariants for br in sc.branches):
        print(f"{path}: its world declares no invariants; nothing to check")
        return 0
    breaches = check_scenario(sc, n)
    for b in breaches:
        print(f"{path}: {describe(b)}")
    if not breaches:
        print(f"{path}: invariants hold in {n} replicates of every branch")
    return len(breaches)


def cmd_schema(a: argparse.Namespace) -> int:
    from sim.schema import schema_path

    sys.stdout.write(schema_path(a.kind).read_text(encoding="utf-8"))
    return 0


def _world_beside(path: Path):
    from sim.worldfile import load_world

    world_file = path.parent / "world.yaml"
    if not world_file.is_file():
        raise InputError(f"{path}: to check this file its world is needed, and there is no "
                         f"world.yaml beside it (validate the scenario that uses it instead)")
    return load_world(world_file)


def _validate_one(path: Path) -> str:
    """Check one file of any of our kinds; return what it was."""
    from sim import yamlfile

    doc = yamlfile.load(path)
    data = doc.data if isinstance(doc.data, dict) else {}
    if "verbs" in data or "actors_patterns" in data or "patterns" in data or "cameo" in data:
        from sim.ingest import load_coding

        load_coding(path, _world_beside(path))
        return "coding dictionaries"
    if "fork" not in data and "extends" not in data and (
            "actors" in data or "rules" in data or "reviews" in data):
        from sim.worldfile import parse_world

        w = parse_world(doc)
        return f"world, {len(w.events)} events, {len(w.rules)} rules, {len(w.reviews)} reviews"
    if "origins" in data and "scenario" in data:
        from sim.scoring import load_spec

        spec = load_spec(path)
        return (f"scoring file, {len(spec.origins)} origins x {len(spec.events)} events x "
                f"{len(spec.horizons)} horizons")
    if "sources" in data and isinstance(data.get("events"), list):
        from sim.history import load_history

        h = load_history(path, _world_beside(path))
        return f"history, {len(h.entries)} entries, {len(h.sources)} sources"
    from sim.scenario import load_scenario

    sc = load_scenario(path)
    return f"scenario, {len(sc.branches)} branch(es) x {sc.replicates} replicates"


def cmd_compare(a: argparse.Namespace) -> int:
    from sim import compare, runner
    from sim.compare import compare_runs

    if a.csv and (Path(a.csv).is_dir() or not Path(a.csv).resolve().parent.is_dir()):
        raise InputError(f"--csv {a.csv}: not a file in an existing folder "
                         "(give a file name, e.g. --csv diffs.csv)")
    runs = []
    for item in a.items:
        if runner.is_run_folder(item):
            runs.append(_open(item))
        else:
            from sim.scenario import load_scenario

            sc = load_scenario(item)
            r = runner.run(sc, out=runner.default_folder(sc, Path(a.out_root)),
                           replicates=a.replicates, executor=a.executor,
                           jobs=a.jobs, scheduler=a.scheduler,
                           progress=False if a.no_progress else None)
            print(f"ran {item} -> {r.folder}", file=sys.stderr)
            runs.append(r)
    table = compare_runs(runs, against=a.against)
    print(table)
    if a.csv:
        print(f"\ndifferences written to {compare.Comparison.to_csv(table, a.csv)}")
    if a.plot:
        paths = _compare_figures(runs)
        for path in paths:
            print(path)
        if not paths:
            print("--plot: no branch here has a control to compare with, so no figures",
                  file=sys.stderr)
    return 0


def _compare_figures(runs) -> list[Path]:
    """The effect figures of ``sim compare --plot``: each run's branches against their
    control into RUN/figures/; a run of a control alone against the first run's control
    (when sim.compare can compare them) with stems ending in ``_vs_<that run>``."""
    from sim import effects
    from sim.plots import _slug, effect_figures, save

    paths = []
    for r in runs:
        for stem, _caption, fig in effect_figures(effects.pairs(r)):
            paths.append(save(fig, Path(r.folder) / "figures" / stem)[0])
    for b, c in effects.cross_pairs(runs):
        try:
            figs = effect_figures([(b, c)])
        except effects.REFUSED as exc:    # not comparable (another fork or horizon)
            print(f"no figures for {b.label} against {c.label}: {exc}", file=sys.stderr)
            continue
        for stem, _caption, fig in figs:
            paths.append(save(fig, Path(b.run.folder) / "figures"
                              / f"{stem}_vs_{_slug(Path(c.run.folder).name)}")[0])
    return paths


def _replicate(a: argparse.Namespace):
    r = _open(a.run)
    b = _branch(r, a.branch)
    return r, b, r.replicate_events(b, a.replicate)


def cmd_show(a: argparse.Namespace) -> int:
    from sim.state import as_of

    r, b, events = _replicate(a)
    world, drawn = r.replicate_world(b, a.replicate)   # its drawn uncertain: values set
    limit = world.end_of_day(a.as_of) if a.as_of else r.branch(b).horizon
    print(f"{r.scenario.name} / branch {b} / replicate {a.replicate}"
          + (f" / as of {a.as_of}" if a.as_of else ""))
    from sim.story import _value

    for path, (v, base) in drawn.items():
        print(f"  {path} = {_value(v)} (drawn; base {_value(base)})")
    fork = r.branch(b).fork
    shown_fork = False
    for e in events:
        if e.time > limit:
            break
        if not shown_fork and e.time >= fork:
            print(f"---------- fork {world.date(fork)} ----------")
            shown_fork = True
        who = e.actor or ""
        if e.target:
            who += f"->{e.target}"
        why = e.source if e.origin == "history" else (e.rule or e.origin)
        cause = f" <- #{e.cause}" if e.cause is not None else ""
        print(f"#{e.version:<4} {world.date(e.time)}  {e.kind:<26} {who:<9} "
              f"{e.origin:<9} {why or ''}{cause}")
    if not shown_fork and fork <= limit:
        print(f"---------- fork {world.date(fork)} ----------")
    state = as_of(world, events, limit)
    print("\nstate" + (f" as of {a.as_of}" if a.as_of else " at the end") + ":")
    for k, v in state.items():
        print(f"  {k} = {v}")
    return 0


def cmd_story(a: argparse.Namespace) -> int:
    from sim.runner import replicate_stream
    from sim.story import story

    r, b, events = _replicate(a)
    world, drawn = r.replicate_world(b, a.replicate)
    print(story(events, world, sources=r.sources(b), branch=r.branch(b),
                stream=replicate_stream(b, a.replicate), drawn=drawn))
    return 0


def cmd_why(a: argparse.Namespace) -> int:
    from sim.errors import Problem, did_you_mean
    from sim.runner import replicate_stream
    from sim.story import why

    r, b, events = _replicate(a)
    target: int | str = int(a.event) if a.event.isdigit() else a.event
    world, drawn = r.replicate_world(b, a.replicate)
    if isinstance(target, str) and target not in world.events:
        raise InputError(Problem(None, None, None, f"'{target}' is not an event of world "
                                 f"'{world.name}'", did_you_mean(target, world.events)))
    elsewhere = None
    if isinstance(target, str) and not any(e.kind == target for e in events):
        elsewhere = _elsewhere(r, b, target, world)
    print(why(events, world, target, sources=r.sources(b), elsewhere=elsewhere,
              stream=replicate_stream(b, a.replicate), drawn=drawn))
    return 0


def _elsewhere(r, b: str, kind: str, world) -> str:
    """Which replicates of branch ``b`` (or else which branches) have ``kind``."""
    import numpy as np

    from sim.story import elsewhere_text

    hits = [int(i) for i in np.flatnonzero(np.isfinite(r.first_times(b, kind)))]
    others = {}
    if not hits:
        others = {o: int(np.isfinite(r.first_times(o, kind)).sum())
                  for o in r.branch_names() if o != b}
    et = world.events.get(kind)
    return elsewhere_text(et.label if et is not None and et.label else kind, b, hits,
                          r.scenario.replicates, others)


def cmd_verify(a: argparse.Namespace) -> int:
    from sim import runner

    problems = runner.verify(a.run, resimulate=a.resimulate)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    extra = f", {a.resimulate} replicate(s) re-simulated identically" if a.resimulate else ""
    print(f"{a.run}: ok (every digest checks{extra})")
    return 0


def cmd_plot(a: argparse.Namespace) -> int:
    from sim.plots import standard_figures
    from sim.scoring import is_scores, reliability_figure
    from sim.sensitivity import is_sensitivity_folder

    for path in a.runs:
        if is_scores(path):
            print(reliability_figure(path))
            continue
        if is_sensitivity_folder(path):
            from sim.sensplots import sensitivity_figures

            for f in sensitivity_figures(path):
                print(f)
            continue
        r = _open(path)
        r.failed()   # reads every replicate's record: a damaged run fails before any figure
        try:
            paths = standard_figures(r)
        except OSError as exc:   # e.g. a run on a read-only file system
            raise SimError(f"cannot write the figures of {path} into {exc.filename or path}: "
                           f"{exc.strerror or exc} (copy the run folder somewhere writable "
                           "and plot the copy)") from None
        for f in paths:
            print(f)
    return 0


def cmd_hindcast(a: argparse.Namespace) -> int:
    from sim.hindcast import format_report, hindcast
    from sim.scenario import load_scenario

    sc = load_scenario(a.file)
    print(format_report(hindcast(sc, replicates=a.replicates)))
    return 0


def cmd_score(a: argparse.Namespace) -> int:
    from sim.scoring import check_out, format_report, load_spec, score

    spec = load_spec(a.file, replicates=a.replicates)   # every input problem before any work
    if a.out:
        check_out(a.out, a.force)
    report = score(spec)
    text = format_report(report)
    if a.out:
        print(f"wrote {report.save(a.out, force=a.force)}", file=sys.stderr)
    print(text)
    return 0


def cmd_ingest(a: argparse.Namespace) -> int:
    from sim import ingest
    from sim.errors import Problem
    from sim.worldfile import load_world

    world = load_world(a.world)
    if a.starter:
        from sim.coding_starter import starter_coding

        print(starter_coding(world, a.world), end="")
        return 0
    if not a.article or a.published is None:
        raise InputError(Problem(None, None, None, "ingest needs an article and --published",
                                 "e.g. sim ingest article.txt --published 2019-11-15 --world "
                                 "scenarios/s400/world.yaml"))
    coding_path = Path(a.coding) if a.coding else ingest.default_coding_path(a.world)
    coding = ingest.load_coding(coding_path, world)
    result = ingest.ingest(ingest.read_article(a.article), ingest.check_published(a.published),
                           coding,
                           set(world.events), set(world.actors), a.source,
                           {k: et.actor for k, et in world.events.items()
                            if len(et.actors) > 1})
    print(ingest.to_yaml(result), end="")
    return 0


def cmd_sensitivity(a: argparse.Namespace) -> int:
    from sim import sensitivity

    outcomes = [o.strip() for o in a.outcomes.split(",") if o.strip()] if a.outcomes else None
    folder = sensitivity.analyse(a.target, out=a.out, branch=a.branch, outcomes=outcomes,
                                 samples=a.samples, replicates=a.replicates,
                                 tornado_replicates=a.tornado_replicates,
                                 min_coverage=a.min_coverage, executor=a.executor, jobs=a.jobs,
                                 scheduler=a.scheduler,
                                 progress=False if a.no_progress else None, force=a.force)
    print(sensitivity.summary(folder))
    print(f"\nsensitivity folder: {folder}  (figures: sim plot {folder})")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from sim.report import write_report
    from sim.scoring import is_scores, load_report
    from sim.sensitivity import is_sensitivity_folder

    scores = [load_report(p) for p in a.runs if is_scores(p)]
    sens = [p for p in a.runs if is_sensitivity_folder(p)]
    runs = [_open(p) for p in a.runs if not is_scores(p) and not is_sensitivity_folder(p)]
    if not runs and not sens:
        raise InputError("sim report needs at least one run folder or sensitivity folder "
                         "(scoring outputs are added to a report about runs)")
    if scores and not runs:
        raise InputError("sim report: scoring outputs are added to a report about runs; "
                         "give a run folder too")
    out = write_report(runs, a.out, scores=scores, sensitivity=sens, force=a.force)
    print(out)
    return 0


def cmd_teaching(a: argparse.Namespace) -> int:
    from pathlib import Path

    from sim.answers import write_answers

    print(write_answers(Path(a.out), a.replicates, Path(a.notebooks), a.only))
    return 0


COMMANDS = {"teaching": cmd_teaching, "run": cmd_run, "validate": cmd_validate, "compare": cmd_compare, "show": cmd_show,
            "story": cmd_story, "why": cmd_why, "verify": cmd_verify, "plot": cmd_plot,
            "hindcast": cmd_hindcast, "score": cmd_score, "ingest": cmd_ingest, "report": cmd_report,
            "schema": cmd_schema, "sensitivity": cmd_sensitivity}


def main(argv: Sequence[str] | None = None) -> int:
    from sim.safetext import TerminalSafe

    # names and labels come from user files: never let them drive the terminal
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafe(out), TerminalSafe(err, keep_cr=True)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args) or 0
    except KeyboardInterrupt as exc:
        folder = getattr(exc, "run_folder", None)
        if folder:
            print(f"\ninterrupted: {folder} is marked incomplete; finish it with "
                  f"'sim run --resume {folder}'.", file=sys.stderr)
        else:
            print("\ninterrupted.", file=sys.stderr)
        return 130
    except (InputError, SimError) as exc:
        print(f"error: {exc}" if "\n" not in str(exc) else f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
    except Exception as exc:  # an internal error: a bug, not the user's input
        if os.environ.get("SIM_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in sim; run again with SIM_DEBUG=1 for the traceback.",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
