"""sim.compare: each branch against its own control, pairing only like with like, time_to in
days, first: rows, "cannot tell apart", labels; and every teaching branch's documented
compare command gives the effect against its own control."""
from __future__ import annotations

import csv
import math
import re
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim import compare, runner
from sim.errors import InputError
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
S400 = ROOT / "scenarios" / "s400"

WORLD = """\
world: cmp
starts: 2020-01-01
actors:
  A: {name: Alpha}
state:
  got_c: false
events:
  a: {actor: A}
  b: {actor: A, once: true}
  c: {actor: A, once: true, effects: {got_c: true}}
rules:
  - {id: r_b, on: a, then: b, probability: 1.0, delay: {fixed: {value: 10}}}
  - {id: r_c, on: a, then: c, probability: 0.5, delay: {exponential: {mean: 20}}}
"""

# fork 2020-03-01 (day 60), horizon 2020-03-31 (day 90): a 31-day window, both dates whole.
# `a` at the start of the fork date; `b` exactly 10 days later; `c` with probability 1/2.
SCENARIO = """\
name: ctl
world: world.yaml
history: history.yaml
fork: 2020-03-01
horizon: 2020-03-31
replicates: 60
seed: 5
inject: [{date: 2020-03-01, event: a}]
outcomes:
  - {id: t_b, time_to: b, label: days to b}
  - {id: t_c, time_to: c}
  - {id: got_c, occurs: c, label: c happens}
  - {id: c_state, state: got_c}
  - {id: order, first: [b, c]}
branches:
  same: {description: no change at all}
  later: {set: {rules.r_b.delay.value: 20}}
  never: {suppress: [b]}
  lucky: {set: {rules.r_c.probability: 0.9}}
"""


def write(folder: Path, text: str = SCENARIO, name: str = "ctl.yaml") -> Path:
    (folder / "world.yaml").write_text(WORLD)
    (folder / "history.yaml").write_text("sources: {}\nevents: []\n")
    (folder / name).write_text(text)
    return folder / name


def run(path: Path, out: Path, **kw) -> runner.Run:
    return runner.run(path, out=out, executor="serial", progress=False, **kw)


@pytest.fixture(scope="module")
def ctl(tmp_path_factory) -> runner.Run:
    d = tmp_path_factory.mktemp("cmp")
    return run(write(d), d / "run")


def by(diffs, outcome, stat=None):
    return next(d for d in diffs if d.outcome == outcome and (stat is None or d.stat == stat))


def test_each_branch_is_compared_with_its_own_control(ctl):
    assert compare.control_of(ctl, "later") == "ctl" and compare.control_of(ctl, "ctl") is None
    table = compare.compare_runs([ctl])
    assert table.controls == {"ctl": None, "same": "ctl", "later": "ctl", "never": "ctl",
                              "lucky": "ctl"}
    assert {d.control for d in table.differences} == {"ctl"}
    assert all(d.paired and d.note == "" for d in table.differences)


def test_time_to_differences_are_days_of_restricted_mean_time(ctl):
    diffs = compare.effects(ctl)
    # b comes exactly 10 days after the fork in the control, 20 in 'later': +10 days
    d = by([x for x in diffs if x.branch.endswith("later")], "t_b")
    assert (d.stat, d.kind) == ("restricted_mean_days", "days")
    assert (d.estimate.mean, d.estimate.lo, d.estimate.hi) == (10.0, 10.0, 10.0)
    assert d.direction == "later" and "days" in d.cell()
    # never: every replicate counts the whole 31-day window (2020-03-01 .. 2020-03-31): +21
    assert compare.window(compare.Column(ctl, "never")) == pytest.approx(31.0)
    d = by([x for x in diffs if x.branch.endswith("never")], "t_b")
    assert d.estimate.mean == pytest.approx(21.0) and d.estimate.hi == pytest.approx(21.0)


def test_restricted_mean_difference_matches_a_hand_computation(ctl, tmp_path):
    """From replicates.csv, with the standard library: min(t, 31), paired differences,
    t interval."""
    rows = list(csv.DictReader((Path(ctl.folder) / "replicates.csv").open()))

    def days(branch):
        out = []
        for r in rows:
            if r["branch"] == branch:
                t = float(r["t_c"])           # "inf" when c did not happen by the horizon
                out.append(min(t, 31.0))
        return out

    diff = [a - b for a, b in zip(days("lucky"), days("ctl"))]
    n = len(diff)
    mean = statistics.fmean(diff)
    half = stats.t.ppf(0.975, n - 1) * statistics.stdev(diff) / math.sqrt(n)
    d = by([x for x in compare.effects(ctl) if x.branch.endswith("lucky")], "t_c")
    assert d.estimate.mean == pytest.approx(mean, abs=1e-9)
    assert d.estimate.lo == pytest.approx(mean - half, abs=1e-9)
    assert d.estimate.hi == pytest.approx(mean + half, abs=1e-9)
    assert d.estimate.n == n == 60
    assert mean < 0          # c more likely, so sooner on average
    # never a difference of probabilities under a row of days
    assert all(x.kind == "days" for x in compare.effects(ctl) if x.measure == "time_to")


def test_first_outcomes_get_difference_rows_and_labels_show(ctl):
    table = compare.compare_runs([ctl])
    stats_ = {d.stat for d in table.differences if d.outcome == "order"}
    assert stats_ == {"first:b", "first:c", "first:none"}
    # never: b cannot come first, so first:b falls by the control's share (1 here: b at day 10
    # beats c unless c comes within 10 days)
    d = next(x for x in table.differences if x.branch == "never" and x.stat == "first:b")
    ctl_share = np.mean(ctl.outcome_values("ctl")["order"] == 0)
    assert d.estimate.mean == pytest.approx(-ctl_share)
    text = str(table)
    assert "t_b: days to b" in text and "got_c: c happens" in text
    assert "difference first:b" in text
    assert [d.label for d in table.differences if d.outcome == "got_c"][0] == "c happens"


def test_no_change_is_cannot_tell_apart_never_a_direction(ctl):
    same = [d for d in compare.effects(ctl) if d.branch.endswith("same")]
    assert same and all(d.estimate.mean == 0 and d.direction == compare.CANNOT_TELL
                        for d in same)
    text = str(compare.compare_runs([ctl]))
    row = next(ln for ln in text.splitlines() if ln.strip().startswith("difference")
               and "+0.000 [+0.000, +0.000]" in ln)
    assert "cannot tell apart" in row
    # an interval that straddles zero is never shown as higher or lower
    for d in compare.compare_runs([ctl]).differences:
        if d.estimate.lo <= 0 <= d.estimate.hi:
            assert d.direction == compare.CANNOT_TELL and compare.CANNOT_TELL in d.cell()
        else:
            assert d.direction in ("higher", "lower", "later", "sooner")


def test_pairing_across_runs_needs_like_runs(ctl, tmp_path):
    write(tmp_path)
    twin = run(tmp_path / "ctl.yaml", tmp_path / "twin")
    assert compare.pairing(compare.Column(twin, "ctl"), compare.Column(ctl, "ctl")).paired
    other_seed = run(tmp_path / "ctl.yaml", tmp_path / "seed", seed=6)
    p = compare.pairing(compare.Column(other_seed, "ctl"), compare.Column(ctl, "ctl"))
    assert not p.paired and p.differs == ("seed 6 vs 5",) and not p.refused
    fewer = run(tmp_path / "ctl.yaml", tmp_path / "fewer", replicates=40)
    p = compare.pairing(compare.Column(fewer, "ctl"), compare.Column(ctl, "ctl"))
    assert not p.paired and "replicates 40 vs 60" in p.differs
    # another history before the fork: unpaired
    write(tmp_path, SCENARIO.replace("inject: [{date: 2020-03-01, event: a}]",
                                     "inject: [{date: 2020-02-20, event: a}]"), "early.yaml")
    early = run(tmp_path / "early.yaml", tmp_path / "early")
    p = compare.pairing(compare.Column(early, "ctl"), compare.Column(ctl, "ctl"))
    assert not p.paired and p.differs == ("history before the fork differs",)
    # unpaired comparisons say so in the table, its notes and the CSV
    table = compare.compare_runs([ctl, other_seed])
    assert table.controls["seed:ctl"] == "run:ctl"
    mine = [d for d in table.differences if d.branch == "seed:ctl"]
    assert mine and all(not d.paired and d.note == "unpaired: seed 6 vs 5" for d in mine)
    text = str(table)
    assert "(unpaired)" in text and "seed 6 vs 5" in text
    rows = list(csv.DictReader(table.to_csv(tmp_path / "d.csv").open()))
    assert {r["paired"] for r in rows if r["branch"] == "seed:ctl"} == {"unpaired"}
    assert {r["paired"] for r in rows if r["branch"] == "run:lucky"} == {"paired"}


def test_another_fork_or_horizon_is_refused_or_left_out(ctl, tmp_path):
    write(tmp_path, SCENARIO.replace("fork: 2020-03-01", "fork: 2020-02-15")
          .replace("name: ctl", "name: f"), "f.yaml")
    other = run(tmp_path / "f.yaml", tmp_path / "f")
    p = compare.pairing(compare.Column(other, "f"), compare.Column(ctl, "ctl"))
    assert p.refused and "fork 2020-02-15 vs 2020-03-01" in p.refused
    with pytest.raises(InputError, match="fork 2020-02-15 vs 2020-03-01") as err:
        compare.compare_runs([ctl, other], against="ctl")
    assert "own scenario file" in str(err.value)
    # by default: each branch against its own control; the two controls are not compared
    table = compare.compare_runs([ctl, other])
    assert table.controls["f"] is None and table.controls["f:lucky"] == "f"
    assert any("not compared" in n and "fork" in n for n in table.notes)
    write(tmp_path, SCENARIO.replace("horizon: 2020-03-31", "horizon: 2020-04-30")
          .replace("name: ctl", "name: h"), "h.yaml")
    longer = run(tmp_path / "h.yaml", tmp_path / "h")
    with pytest.raises(InputError, match="horizon 2020-04-30 vs 2020-03-31"):
        compare.differences(compare.Column(longer, "h"), compare.Column(ctl, "ctl"))


def test_cumulative_difference_is_paired_and_ends_at_the_occurs_difference(ctl):
    a, b = compare.Column(ctl, "lucky"), compare.Column(ctl, "ctl")
    br = ctl.branch("ctl")
    grid = np.array([br.fork, br.fork + 5, br.fork + 30, br.horizon, br.horizon + 1])
    d, lo, hi = compare.cumulative_difference(a, b, "c", grid)
    occurs = by([x for x in compare.effects(ctl) if x.branch.endswith("lucky")], "got_c")
    assert d[3] == pytest.approx(occurs.estimate.mean)
    assert lo[3] == pytest.approx(occurs.estimate.lo) and hi[3] == pytest.approx(occurs.estimate.hi)
    assert d[0] == 0 and np.isnan(d[4]) and np.all(lo[:4] <= d[:4]) and np.all(d[:4] <= hi[:4])


# --------------------------------------------------------------------------- the CLI

def sim_cmd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_cli_refuses_against_another_fork_naming_it(ctl, tmp_path):
    write(tmp_path, SCENARIO.replace("fork: 2020-03-01", "fork: 2020-02-15")
          .replace("name: ctl", "name: f"), "f.yaml")
    other = run(tmp_path / "f.yaml", tmp_path / "f")
    r = sim_cmd("compare", str(ctl.folder), str(other.folder), "--against", "ctl")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "fork 2020-02-15 vs 2020-03-01" in r.stderr and "own scenario file" in r.stderr
    r = sim_cmd("compare", str(ctl.folder), "--against", "ctrl")
    assert r.returncode == 2 and "did you mean 'ctl'" in r.stderr


def _documented_compare_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in doc.read_text().splitlines():
            m = re.search(r"(?:^|[\s`(])(sim compare [^#`]*)", line)
            if m:
                found.append((doc.name, shlex.split(m.group(1))[2:]))
    return found


def _teaching_files() -> list[str]:
    return sorted(p.name for p in S400.glob("*.yaml")
                  if p.read_text().startswith("# Teaching branch"))


def test_every_teaching_branch_has_a_documented_compare_command():
    files = {Path(a).name for _, args in _documented_compare_commands() for a in args
             if a.endswith(".yaml")}
    teaching = _teaching_files()
    assert len(teaching) >= 10
    assert set(teaching) <= files, sorted(set(teaching) - files)


@pytest.mark.parametrize("name", _teaching_files())
def test_teaching_compare_gives_the_effect_against_its_own_control(name, tmp_path):
    """Every teaching file, as the docs' compare command runs it (few replicates):
    the counterfactual branch is compared with its own control, paired, and nothing else
    is compared with anything from another fork."""
    sc = load_scenario(S400 / name)
    sc = sc.replace(replicates=12)
    r = runner.run(sc, out=tmp_path / "run", executor="serial", progress=False)
    table = compare.compare_runs([r])
    base = sc.name
    others = [b.name for b in sc.branches if b.name != base]
    assert others and table.controls == {base: None, **{b: base for b in others}}
    assert table.differences and all(d.paired and d.control == base for d in table.differences)
    # the documented command: the same columns, controls and numbers
    docs = [args for _, args in _documented_compare_commands()
            if any(Path(a).name == name for a in args)]
    assert docs, f"{name}: no 'sim compare' command in README.md or docs/"
    for args in docs:
        files = [S400 / Path(a).name for a in args if a.endswith(".yaml")]
        assert all(f.is_file() for f in files), args
        runs = [r if f.name == name else
                runner.run(load_scenario(f).replace(replicates=12), out=tmp_path / f.stem,
                           executor="serial", progress=False, force=True) for f in files]
        t = compare.compare_runs(runs)
        for b in others:
            assert t.controls[b] == base, (args, t.controls)
        for label, ctrl in t.controls.items():
            if ctrl is not None:
                col = next(c for c, lab in compare.columns(runs) if lab == label)
                ref = next(c for c, lab in compare.columns(runs) if lab == ctrl)
                assert compare.pairing(col, ref).paired, (args, label, ctrl)


def test_the_issue_example_baseline_and_patriot_2017(tmp_path):
    """`sim compare baseline.yaml patriot_2017.yaml` once paired runs forked in 2019 and 2017
    and printed their difference as an effect. Now patriot_2017 is compared with its own
    control, and the two controls (different forks) are not compared at all."""
    runs = [runner.run(load_scenario(S400 / f).replace(replicates=12), out=tmp_path / f,
                       executor="serial", progress=False)
            for f in ("baseline.yaml", "patriot_2017.yaml")]
    table = compare.compare_runs(runs)
    assert table.controls == {"baseline": None, "patriot_2017_control": None,
                              "patriot_2017": "patriot_2017_control"}
    assert {(d.branch, d.control) for d in table.differences} == {
        ("patriot_2017", "patriot_2017_control")}
    note = next(n for n in table.notes if "not compared" in n)
    assert "fork 2017-06-01 vs 2019-11-15" in note
    with pytest.raises(InputError, match="fork 2017-06-01 vs 2019-11-15"):
        compare.compare_runs(runs, against="baseline")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 400, allow_nan=False), st.just(math.inf)), min_size=1,
                max_size=40),
       st.floats(1, 400, allow_nan=False))
def test_restricted_mean_is_the_area_under_the_survival_curve(times, tau):
    """E[min(T, tau)] equals the integral of the empirical survival function over [0, tau]
    (computed here piece by piece from the sorted times): the restricted mean time."""
    t = np.array(times)
    t = np.where(t > tau, math.inf, t)       # beyond the window: not by the horizon
    n = len(t)
    area, prev, alive = 0.0, 0.0, n
    for x in sorted(v for v in t if np.isfinite(v)):
        area += (x - prev) * alive / n
        prev, alive = x, alive - 1
    area += (tau - prev) * alive / n
    assert float(np.mean(compare.restricted_mean(t, tau))) == pytest.approx(area, abs=1e-9)


def test_words_say_the_direction_only_when_the_interval_excludes_zero(ctl):
    eff = compare.effects(ctl)
    d = by([x for x in eff if x.branch == "later"], "t_b")
    assert d.words() == ("t_b (days to b): 10.0 [10.0, 10.0] days later on average in "
                         "later than in ctl (restricted mean time to the event up to the "
                         "horizon; paired)")
    d = by([x for x in eff if x.branch == "same"], "got_c")
    assert d.words().startswith("got_c (c happens): cannot tell apart same and ctl (the same "
                                "in every replicate): difference +0.000 [+0.000, +0.000]")
