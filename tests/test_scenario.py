"""Scenario files: extends, set, inject, suppress, drop_history, branches, sweeps, outcomes,
and exact error messages for malformed files (fixtures in tests/data/scenarios/).

Day numbers are hand-computed from the tiny world's start, 2020-01-01 (a leap year):
2020-01-10 = 9, 02-01 = 31, 03-01 = 60, 04-01 = 91 (fork), 05-01 = 121, 06-01 = 152,
06-15 = 166, 07-01 = 182, 09-30 = 273, 12-31 = 365 (horizon).
"""
from __future__ import annotations

import datetime as dt
import math
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.errors import InputError
from sim.events import HISTORY, INJECTED
from sim.scenario import Scenario, check, lhs_unit, load_scenario, validate

DATA = Path(__file__).parent / "data" / "scenarios"


def kinds(occurrences):
    return [(o.time, o.kind) for o in occurrences]


# --------------------------------------------------------------------------- resolution

def test_base_scenario_resolves():
    s = load_scenario(DATA / "base.yaml")
    assert isinstance(s, Scenario)
    assert (s.name, s.description) == ("base", "The base case of the tiny world.")
    assert s.starts == dt.date(2020, 1, 1)
    assert (s.fork_date, s.horizon_date) == (dt.date(2020, 4, 1), dt.date(2020, 12, 31))
    # the fork is the start of its day, the horizon the end of its day (it counts whole)
    assert s.fork == 91.0 and 365.0 < s.horizon < 366.0 and s.horizon == math.nextafter(366, 0)
    assert (s.replicates, s.seed) == (200, 11)
    assert s.world_file == (DATA / "world.yaml").resolve()
    assert s.history_file == (DATA / "history.yaml").resolve()
    [b] = s.branches
    assert b.name == "base" and (b.fork, b.horizon) == (91.0, s.horizon)
    # history strictly before the fork; the 2020-06-01 talk is the model's business
    assert kinds(b.history) == [(9.0, "arm"), (31.0, "talk"), (60.0, "arm")]
    assert {o.origin for o in b.history} == {HISTORY}
    assert b.history[0].source == "T1"
    assert len(b.history_doc.entries) == 4 and "T1" in b.history_doc.sources
    assert b.inject == () and b.suppress == frozenset()
    # set: applied to the branch's world, the world file's values untouched
    assert b.settings == {"rules.sanction_after_decision.probability": 0.4,
                          "state.tension": 1.0}
    assert b.world.rules[0].probability == 0.4
    assert b.world.variables["tension"].initial == 1.0
    assert b.world.reviews[0].probability == 0.1


def end(day: float) -> float:
    """The last instant of a day: a date as a bound means the whole day."""
    return math.nextafter(day + 1.0, 0.0)


def test_outcomes_resolve_dates_to_days():
    s = load_scenario(DATA / "base.yaml")
    o = {x.id: x for x in s.outcomes}
    assert [x.id for x in s.outcomes] == ["decided", "t_sanction", "armed_end", "armed_mid",
                                          "n_talks", "first_move"]
    assert (o["decided"].measure, o["decided"].event, o["decided"].by) == ("occurs", "decide",
                                                                           end(273.0))
    assert (o["t_sanction"].measure, o["t_sanction"].event) == ("time_to", "sanction")
    assert o["t_sanction"].by is None and o["t_sanction"].label == "days to sanctions"
    assert (o["armed_end"].var, o["armed_end"].at) == ("armed", end(365.0))   # default: horizon
    assert o["armed_mid"].at == end(182.0)
    assert (o["n_talks"].measure, o["n_talks"].by) == ("count", end(365.0))
    assert o["first_move"].events == ("sanction", "talk") and o["first_move"].by == end(365.0)


def test_extends_inherits_and_overrides():
    s = load_scenario(DATA / "variants" / "child.yaml")
    assert s.name == "child"                      # name is never inherited: the file's stem
    assert s.description == "A child of the base."
    assert (s.replicates, s.seed) == (50, 11)    # one overridden, one inherited
    # world/history stay relative to base.yaml, the file that names them
    assert s.world_file == (DATA / "world.yaml").resolve()
    assert len(s.outcomes) == 6
    assert s.chain == (DATA / "variants" / "child.yaml", DATA / "base.yaml")
    assert [b.name for b in s.branches] == ["child", "eager", "no_arms"]
    base, eager, no_arms = s.branches
    # set merges across files
    assert base.settings == {"rules.sanction_after_decision.probability": 0.4,
                             "state.tension": 1.0, "reviews.alpha_decides.every": 45}
    assert base.world.reviews[0].every == 45.0
    # inject, suppress and drop_history
    assert kinds(base.inject) == [(121.0, "talk")]
    assert base.inject[0].origin == INJECTED and base.inject[0].note == "extra talks"
    assert base.suppress == frozenset({"sanction"})
    assert kinds(base.history) == [(9.0, "arm"), (31.0, "talk")]    # 03-01 arm dropped
    assert len(base.history_doc.entries) == 3
    # a branch adds to the base: its set overrides, its inject/drop_history add
    assert eager.description == "Alpha is keener."
    assert eager.settings["reviews.alpha_decides.probability"] == 0.3
    assert eager.settings["reviews.alpha_decides.every"] == 45
    assert eager.world.reviews[0].probability == 0.3 and eager.world.reviews[0].every == 45.0
    assert kinds(eager.inject) == [(121.0, "talk"), (166.0, "decide")]
    assert eager.inject[1].actor == "A"
    assert eager.suppress == frozenset({"sanction"})
    assert kinds(no_arms.history) == [(31.0, "talk")]
    assert no_arms.world.reviews[0].probability == 0.1


def test_extends_two_levels_merges_set_and_branches_and_null_removes():
    s = load_scenario(DATA / "variants" / "grand.yaml")
    assert s.name == "grand" and s.replicates == 50 and s.description == "A child of the base."
    assert [o.id for o in s.outcomes] == ["decided"]           # lists replace
    assert s.outcomes[0].by == end(365.0)
    base, eager, no_arms = s.branches
    assert base.settings == {"rules.sanction_after_decision.probability": 0.4,
                             "state.tension": 2.0, "reviews.alpha_decides.every": 45}
    assert base.suppress == frozenset()                        # `suppress: ~` removed it
    assert kinds(base.inject) == [(121.0, "talk")]             # still inherited
    assert eager.settings["reviews.alpha_decides.probability"] == 0.2
    assert eager.description == "Alpha is keener."             # branch mappings merge
    assert kinds(eager.inject) == [(121.0, "talk"), (166.0, "decide")]
    assert kinds(no_arms.history) == [(31.0, "talk")]


def test_extends_cycle_is_refused_with_the_chain():
    a = DATA / "cycle_a.yaml"
    b = DATA / "cycle_b.yaml"
    with pytest.raises(InputError) as exc:
        load_scenario(a)
    assert str(exc.value) == (f"{b}:2:10: extends cycle: {a} -> {b} -> {a} "
                              "(a scenario cannot extend itself, directly or through others)")


def test_errors_in_an_inherited_file_name_that_file(tmp_path):
    (tmp_path / "parent.yaml").write_text(
        f"world: {DATA / 'world.yaml'}\nhistory: {DATA / 'history.yaml'}\n"
        "fork: 2020-04-01\nhorizon: 2020-12-31\nset: {state.tensoin: 1.0}\nseeds: 3\n")
    (tmp_path / "kid.yaml").write_text("extends: parent.yaml\nreplicates: 0\n")
    with pytest.raises(InputError) as exc:
        load_scenario(tmp_path / "kid.yaml")
    got = [str(p) for p in exc.value.problems]
    parent, kid = tmp_path / "parent.yaml", tmp_path / "kid.yaml"
    assert got == [
        f"{parent}:6:1: unknown key 'seeds' in the scenario file "
        "(did you mean 'seed' or 'extends'?)",
        f"{kid}:2:13: 'replicates' is 0; it must be >= 1 (e.g. 1000)",
        f"{parent}:5:7: unknown parameter 'state.tensoin' "
        "(did you mean 'state.tension' or 'state.rounds'?)",
    ]


def test_sweep_grid_is_the_cartesian_product_after_the_base():
    s = load_scenario(DATA / "sweep_grid.yaml")
    names = [b.name for b in s.branches]
    assert names == ["sweep_grid", "probability=0.2,every=30", "probability=0.2,every=60",
                     "probability=0.6,every=30", "probability=0.6,every=60"]
    for b in s.branches[1:]:
        p, every = (float(x.split("=")[1]) for x in b.name.split(","))
        assert b.world.rules[0].probability == p and b.world.reviews[0].every == every
        assert b.settings["state.tension"] == 1.0           # the base's set still applies
        assert b.world.variables["tension"].initial == 1.0
    assert s.branches[0].world.rules[0].probability == 0.4


def test_sweep_names_use_the_shortest_unambiguous_suffix(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: {DATA / 'base.yaml'}\nsweep:\n  grid:\n"
                    "    rules.sanction_after_decision.probability: [0.25]\n"
                    "    reviews.alpha_decides.probability: [0.5, 1]\n")
    s = load_scenario(path)
    assert [b.name for b in s.branches[1:]] == [
        "sanction_after_decision.probability=0.25,alpha_decides.probability=0.5",
        "sanction_after_decision.probability=0.25,alpha_decides.probability=1"]


def test_sweep_lhs_is_stratified_seeded_and_drops_the_base():
    s = load_scenario(DATA / "sweep_lhs.yaml")
    assert [b.name for b in s.branches] == [f"lhs{i:02d}" for i in range(1, 11)]
    n = 10
    for path, (low, high) in (("rules.sanction_after_decision.probability", (0.1, 0.9)),
                              ("reviews.alpha_decides.probability", (0.0, 0.5))):
        values = np.array([b.settings[path] for b in s.branches])
        strata = np.floor((values - low) / (high - low) * n).astype(int)
        assert sorted(strata) == list(range(n)), path       # each stratum exactly once
    # an int variable is rounded to whole numbers within its range
    rounds = [b.settings["state.rounds"] for b in s.branches]
    assert all(isinstance(r, int) and 0 <= r <= 10 for r in rounds)
    assert [b.world.variables["rounds"].initial for b in s.branches] == rounds
    assert s.branches[0].world.rules[0].probability == s.branches[0].settings[
        "rules.sanction_after_decision.probability"]
    # same file, same points
    again = load_scenario(DATA / "sweep_lhs.yaml")
    assert [b.settings for b in again.branches] == [b.settings for b in s.branches]


def test_lhs_unit_property():
    for n, d, seed in ((1, 1, 0), (7, 3, 1), (50, 4, 20191115)):
        x = lhs_unit(n, d, seed)
        assert x.shape == (n, d) and (x >= 0).all() and (x < 1).all()
        for j in range(d):
            assert sorted(np.floor(x[:, j] * n).astype(int)) == list(range(n))
    assert np.array_equal(lhs_unit(10, 2, 5), lhs_unit(10, 2, 5))
    assert not np.array_equal(lhs_unit(10, 2, 5), lhs_unit(10, 2, 6))


def test_resolved_is_plain_data_and_loads_back(tmp_path):
    s = load_scenario(DATA / "variants" / "child.yaml")
    r = s.resolved
    assert "extends" not in r and r["name"] == "child"
    assert r["world"] == str((DATA / "world.yaml").resolve())
    assert r["set"] == {"rules.sanction_after_decision.probability": 0.4, "state.tension": 1.0,
                        "reviews.alpha_decides.every": 45}
    text = s.to_yaml()
    assert yaml.safe_load(text) == r
    copy = tmp_path / "child.yaml"
    copy.write_text(text)
    again = load_scenario(copy)
    assert [b.name for b in again.branches] == [b.name for b in s.branches]
    for b1, b2 in zip(again.branches, s.branches):
        assert (b1.world, b1.history, b1.inject, b1.suppress, b1.settings) == (
            b2.world, b2.history, b2.inject, b2.suppress, b2.settings)
    assert again.outcomes == s.outcomes


def test_replace_overrides_replicates_and_seed():
    s = load_scenario(DATA / "base.yaml")
    t = s.replace(replicates=7, seed=3)
    assert (t.replicates, t.seed) == (7, 3) and (s.replicates, s.seed) == (200, 11)
    assert t.resolved["replicates"] == 7 and s.resolved["replicates"] == 200
    assert s.replace(seed=5).replicates == 200
    with pytest.raises(InputError) as exc:
        s.replace(replicates=0, seed=-2)
    assert str(exc.value) == ("2 problems found:\n"
                              "  --replicates: replicates must be at least 1, got 0 "
                              "(e.g. 1000)\n"
                              "  --seed: seed must be 0 or more, got -2 (e.g. 20191115)")


def test_branch_lookup():
    s = load_scenario(DATA / "variants" / "child.yaml")
    assert s.branch("eager") is s.branches[1]
    with pytest.raises(InputError, match="no branch 'eagr' \\(did you mean 'eager'\\?\\)"):
        s.branch("eagr")


def test_scenario_pickles():
    s = load_scenario(DATA / "variants" / "child.yaml")
    again = pickle.loads(pickle.dumps(s))
    assert again.branches == s.branches


# --------------------------------------------------------------------------- errors

HEAD = "world: world.yaml\nhistory: history.yaml\nfork: 2020-04-01\nhorizon: 2020-12-31\n"
SWEEP_HINT = ("e.g. sweep: {grid: {rules.my_rule.probability: [0.3, 0.5]}} or "
              "sweep: {lhs: {samples: 20, ranges: {rules.my_rule.probability: [0.1, 0.9]}}}")
MEASURE_HINT = "give exactly one of: occurs, time_to, state, count, first"

MALFORMED = [
    (HEAD + "replicats: 10\n",
     "{f}:5:1: unknown key 'replicats' in the scenario file "
     "(did you mean 'replicates' or 'replicates_per_draw'?)"),
    ("world: world.yaml\nhistory: history.yaml\nhorizon: 2020-12-31\n",
     "{f}:1:1: the scenario file is missing 'fork' "
     "(e.g. fork: 2019-11-15; history runs before it, the model after)"),
    ("fork: 2020-04-01\nhorizon: 2020-12-31\nhistory: history.yaml\n",
     "{f}:1:1: the scenario file is missing 'world' (e.g. world: world.yaml)"),
    (HEAD.replace("2020-04-01", "soon"),
     "{f}:3:7: 'fork' must be a date, not text ('soon') "
     "(e.g. fork: 2019-11-15; history runs before it, the model after)"),
    (HEAD.replace("2020-04-01", "2020-13-01"),
     "{f}:3:7: '2020-13-01' is not a valid value (month must be in 1..12) "
     "(dates are YYYY-MM-DD with a real month and day)"),
    (HEAD.replace("2020-04-01", "2019-06-01"),
     "{f}:3:7: fork 2019-06-01 is before the world starts (2020-01-01) "
     "(use a date on or after 2020-01-01)"),
    (HEAD.replace("2020-12-31", "2020-03-01"),
     "{f}:4:10: horizon 2020-03-01 is not after the fork 2020-04-01 "
     "(the model runs from the fork to the horizon)"),
    (HEAD + "replicates: 0\n", "{f}:5:13: 'replicates' is 0; it must be >= 1 (e.g. 1000)"),
    (HEAD + "replicates: many\n",
     "{f}:5:13: 'replicates' must be a whole number, not text ('many') (e.g. 1000)"),
    (HEAD + "replicates: 2.5\n",
     "{f}:5:13: 'replicates' must be a whole number, not 2.5 (e.g. 1000)"),
    (HEAD + "seed: -1\n", "{f}:5:7: 'seed' is -1; it must be >= 0 (e.g. 20191115)"),
    (HEAD + "inject: [{date: 2020-05-01, event: tallk}]\n",
     "{f}:5:36: unknown event 'tallk' (did you mean 'talk'?)"),
    (HEAD + "inject: [{date: 2020-05-01, event: talk, actor: C}]\n",
     "{f}:5:49: unknown actor 'C' (expected one of: A, B)"),
    (HEAD + "inject: [{date: 2021-05-01, event: talk}]\n",
     "{f}:5:17: inject date 2021-05-01 is outside the simulation "
     "(use a date from 2020-01-01 to the horizon 2020-12-31)"),
    (HEAD + "inject: [{event: talk}]\n",
     "{f}:5:10: inject entry #1 is missing 'date' (required keys: date, event)"),
    (HEAD + "suppress: [sanctions]\n",
     "{f}:5:12: unknown event 'sanctions' (did you mean 'sanction'?)"),
    (HEAD + "suppress: [talk]\ninject: [{date: 2020-05-01, event: talk}]\n",
     "{f}:6:36: 'talk' is both injected and suppressed (remove one of the two)"),
    (HEAD + "drop_history: [{event: arm, date: 2020-02-01}]\n",
     "{f}:5:35: drop_history: no 'arm' entry on 2020-02-01 "
     "(the history has it on 2020-01-10, 2020-03-01)"),
    (HEAD + "drop_history: [{event: decide}]\n",
     "{f}:5:24: drop_history: no history entry of 'decide' "
     "(remove this entry; the history never has this event)"),
    (HEAD + "outcomes:\n  - {id: x, state: armd}\n",
     "{f}:6:20: unknown variable 'armd' (did you mean 'armed'?)"),
    (HEAD + "outcomes:\n  - {id: x, occurs: arm}\n  - {id: x, count: arm}\n",
     "{f}:7:10: duplicate outcome id 'x' (each outcome needs its own id)"),
    (HEAD + "outcomes:\n  - {id: x, occurs: arm, count: arm}\n",
     "{f}:6:5: outcome 'x' has several measures (occurs, count) (" + MEASURE_HINT + ")"),
    (HEAD + "outcomes:\n  - {id: x, by: 2020-05-01}\n",
     "{f}:6:5: outcome 'x' is missing one of 'occurs', 'time_to', 'state', 'count', 'first' "
     "(give one of them)"),
    (HEAD + "outcomes:\n  - {id: x, occurs: arm, by: 2021-05-01}\n",
     "{f}:6:30: outcome date 2021-05-01 is after the horizon 2020-12-31 "
     "(the simulation stops at the horizon)"),
    (HEAD + "outcomes:\n  - {id: x, time_to: arm, by: 2020-05-01}\n",
     "{f}:6:27: 'by' does not apply to a time_to outcome "
     "(time_to is measured up to the horizon)"),
    (HEAD + "outcomes:\n  - {id: x, occurs: arm, by: later}\n",
     "{f}:6:30: 'by' must be a date or 'horizon', not text ('later') "
     "(write an ISO date like 2019-07-12)"),
    (HEAD + "outcomes:\n  - {id: x, first: [arm]}\n",
     "{f}:6:20: 'first' must be a list of two or more events, not a list of 1 "
     "(e.g. first: [s400_activated, deal_reached])"),
    (HEAD + "sweep: {grid: {state.tension: [1, 2]}, lhs: {samples: 3, "
     "ranges: {state.tension: [0, 1]}}}\n",
     "{f}:5:1: sweep needs exactly one of 'grid' or 'lhs', not both (" + SWEEP_HINT + ")"),
    (HEAD + "sweep:\n  lhs: {samples: 3, ranges: {state.tension: [2, 1]}}\n",
     "{f}:6:45: lhs range 'state.tension' must have low < high, got [2, 1] (e.g. [0.1, 0.9])"),
    (HEAD + "sweep:\n  lhs: {samples: 0, ranges: {state.tension: [1, 2]}}\n",
     "{f}:6:18: lhs samples is 0; it must be >= 1 (e.g. samples: 20)"),
    (HEAD + "sweep:\n  lhs: {samples: 2, ranges: {state.armed: [0, 1]}}\n",
     "{f}:6:30: lhs range 'state.armed': a true/false variable has no range "
     "(use a grid: {state.armed: [true, false]})"),
    (HEAD + "sweep:\n  lhs: {samples: 9, ranges: {reviews.alpha_decides.probability: [0, 2]}}\n",
     "{f}:6:30: 'reviews.alpha_decides.probability': "
     "a probability must be between 0 and 1, got 2"),
    (HEAD + "sweep:\n  grid: {state.tension: [1, 1]}\n",
     "{f}:6:25: sweep grid 'state.tension' lists a value twice (each value once)"),
    (HEAD + "sweep:\n  grid: {state.tensio: [1, 2]}\n",
     "{f}:6:10: unknown parameter 'state.tensio' "
     "(did you mean 'state.tension' or 'state.sanctioned'?)"),
    (HEAD.replace("world.yaml", "nowhere.yaml"),
     "{f}:1:8: world file 'nowhere.yaml' not found "
     "(looked for {d}/nowhere.yaml; paths are relative to the file that names them)"),
    (HEAD.replace("history.yaml", "past.yaml"),
     "{f}:2:10: history file 'past.yaml' not found "
     "(looked for {d}/past.yaml; paths are relative to the file that names them)"),
    (HEAD + "set: {rules.sanction_after_decison.probability: 0.5}\n",
     "{f}:5:7: unknown parameter 'rules.sanction_after_decison.probability' "
     "(did you mean 'rules.sanction_after_decision.probability' or "
     "'rules.sanction_after_decision.delay.sigma'?)"),
    (HEAD + "set: {rules.sanction_after_decision.probability: 1.5}\n",
     "{f}:5:7: 'rules.sanction_after_decision.probability': "
     "a probability must be between 0 and 1, got 1.5"),
    (HEAD + "set: {rules: {sanction_after_decision: {probability: 0.5}}}\n",
     "{f}:5:14: set: 'rules' must be true/false or a number or a list, not a mapping "
     "({'sanction_after_decision': {'probabilit…) "
     "(write the whole dotted path as one key, e.g. rules.my_rule.probability: 0.5)"),
    ("extends: missing.yaml\n",
     "{f}:1:10: extended file 'missing.yaml' not found "
     "(looked for {d}/missing.yaml; the path is relative to the extending file)"),
    (HEAD + "branches:\n  b1: {sett: {}}\n",
     "{f}:6:8: unknown key 'sett' in branch 'b1' (did you mean 'set'?)"),
    (HEAD + "name: twin\nbranches:\n  twin: {}\n",
     "{f}:7:3: branch name 'twin' is used twice "
     "(the base branch is named after the scenario; rename one)"),
    ("- just\n- a list\n",
     "{f}:1:1: a scenario file must be a mapping of keys to values "
     "(start with e.g. 'name: baseline' and 'world: world.yaml')"),
    (HEAD + "fork: 2020-05-01\n",
     "{f}:5:1: duplicate key 'fork' (each key may appear once in a mapping)"),
]


@pytest.fixture
def folder(tmp_path):
    for name in ("world.yaml", "history.yaml"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(("text", "expected"), MALFORMED,
                         ids=[f"case{i:02d}" for i in range(len(MALFORMED))])
def test_malformed_scenario_exact_message(folder, text, expected):
    path = folder / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert str(exc.value) == expected.replace("{f}", str(path)).replace("{d}", str(folder))


def test_several_errors_are_reported_at_once(folder):
    path = folder / "bad.yaml"
    path.write_text("world: world.yaml\nhistory: history.yaml\nfork: 2020-04-01\n"
                    "horizon: 2020-12-31\nreplicates: -5\nsuppres: [talk]\n"
                    "inject: [{date: 2020-05-01, event: tlak}]\n"
                    "outcomes:\n  - {id: a, occurs: decide}\n  - {id: a, state: armed}\n")
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    lines = str(exc.value).splitlines()
    assert lines == [
        "4 problems found:",
        f"  {path}:6:1: unknown key 'suppres' in the scenario file (did you mean 'suppress'?)",
        f"  {path}:5:13: 'replicates' is -5; it must be >= 1 (e.g. 1000)",
        f"  {path}:10:10: duplicate outcome id 'a' (each outcome needs its own id)",
        f"  {path}:7:36: unknown event 'tlak' (did you mean 'talk'?)",
    ]


def test_world_file_errors_come_with_the_scenario_errors(folder):
    (folder / "world.yaml").write_text(
        (DATA / "world.yaml").read_text().replace("probability: 0.1", "probability: 2"))
    path = folder / "bad.yaml"
    path.write_text(HEAD + "seed: x\n")
    problems = check(path)
    files = {Path(str(p.file)).name for p in problems}
    assert files == {"world.yaml", "bad.yaml"}
    assert f"{path}:5:7: 'seed' must be a whole number, not text ('x') (e.g. 20191115)" in [
        str(p) for p in problems]


def test_validate_lists_problems_across_files(folder):
    good = DATA / "base.yaml"
    bad = folder / "bad.yaml"
    bad.write_text(HEAD + "replicates: 0\n")
    assert validate([good, DATA / "variants" / "child.yaml"]) == []
    assert validate([good, bad]) == [f"{bad}:5:13: 'replicates' is 0; it must be >= 1 "
                                     "(e.g. 1000)"]
    assert validate([DATA / "world.yaml"]) == []          # a world file is checked alone
    assert validate([folder / "none.yaml"])[0].startswith(f"{folder / 'none.yaml'}: file not "
                                                          "found")


def test_history_after_fork_is_not_in_the_branch(folder):
    path = folder / "late.yaml"
    path.write_text(HEAD.replace("2020-04-01", "2020-06-02"))
    s = load_scenario(path)
    assert kinds(s.branches[0].history)[-1] == (152.0, "talk")
    assert s.fork == 153.0
    assert math.isclose(s.horizon - s.fork, 213.0)    # 2020-06-02 .. 2020-12-31, whole days


def test_a_branch_error_points_at_the_branch_line(folder):
    path = folder / "bad.yaml"
    path.write_text(HEAD + "branches:\n  calm:\n    set: {reviews.alpha_decides.every: 0}\n"
                    "    suppress: [tlak]\n")
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert [str(p) for p in exc.value.problems] == [
        f"{path}:7:11: 'reviews.alpha_decides.every': a review period must be positive, got 0",
        f"{path}:8:16: unknown event 'tlak' (did you mean 'talk'?)",
    ]


def test_sweep_point_names_may_not_clash_with_branches(folder):
    path = folder / "bad.yaml"
    path.write_text(HEAD + "branches:\n  tension=2: {}\nsweep:\n  grid: {state.tension: [1, 2]}\n")
    assert [str(p) for p in check(path)] == [
        f"{path}:8:3: sweep point name 'tension=2' clashes with a branch (rename the branch)"]


def test_resolution_drives_the_engine(tmp_path):
    """End to end with outcomes that are certain given the resolution: the injected decision
    makes 'decided' sure in 'eager'; dropping every 'arm' makes it impossible in 'no_arms'
    (the review needs armed: true); talks = 1 in history before the fork + 1 injected."""
    import sim

    run = sim.run(DATA / "variants" / "child.yaml", out=tmp_path / "run", replicates=20,
                  executor="serial", progress=False)
    assert run.branch_names() == ["child", "eager", "no_arms"]
    assert list(run.outcome_values("eager")["decided"]) == [1] * 20
    assert list(run.outcome_values("no_arms")["decided"]) == [0] * 20
    for b in run.branch_names():
        assert list(run.outcome_values(b)["n_talks"]) == [2] * 20
        assert list(run.outcome_values(b)["t_sanction"]) == [math.inf] * 20   # suppressed


def test_branches_with_the_same_drops_share_their_history():
    s = load_scenario(DATA / "sweep_grid.yaml")
    assert all(b.history is s.branches[0].history for b in s.branches)
    child = load_scenario(DATA / "variants" / "child.yaml")
    assert child.branches[1].history is child.branches[0].history
    assert child.branches[2].history != child.branches[0].history


def test_set_impossible_delay_is_reported_with_its_line(tmp_path):
    """`set:` may not turn a delay into an impossible distribution (it would crash at draw)."""
    from sim.errors import InputError
    from sim.scenario import load_scenario

    mini = Path(__file__).parent / "data" / "mini"
    for name in ("world.yaml", "history.yaml"):
        (tmp_path / name).write_text((mini / name).read_text())
    text = (mini / "scenario.yaml").read_text().replace(
        "cautious: {set: {reviews.alpha_decides.probability: 0.05}}",
        "cautious: {set: {rules.punish_after_decision.delay.mean: 0}}")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "s.yaml")
    msg = str(err.value)
    assert "s.yaml:" in msg and "delay.mean" in msg and "must be positive" in msg
