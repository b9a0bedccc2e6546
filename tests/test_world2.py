"""World language 2: bounds, decay, calendar conditions, review timing, variable hazards,
exclusive choices, `unless` on reviews and invariants. Each construct has a malformed-input
test (file:line, message, hint) and a closed-form or hand-computed test; the world in
tests/data/world2 uses all of them at once."""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from helpers import paths, replaced

from sim import cli
from sim.engine import Engine
from sim.errors import InputError
from sim.events import INJECTED, Event, Occurrence
from sim.seeding import replicate_rng
from sim.state import State, as_of
from sim.worldfile import parse_world
from sim.yamlfile import Located, loads

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "world2"

# 7 lines; cases add lines from line 8 on
HEAD = """\
world: t
starts: 2020-01-01
actors: {A: {name: Alpha}}
state:
  x: {type: float, initial: 8.0, min: 0, max: 10, decay: {half_life: 10, to: 0}}
  n: {type: int, initial: 0, min: 0, max: 3}
  flag: false
"""
EVENTS = """\
events:
  up: {actor: A, effects: {x: {add: 3.0}, n: {add: 1}}}
  down: {actor: A, effects: {x: {add: -20.0}, n: {add: -5}}}
  stop: {actor: A, once: true}
  go: {actor: A}
  other: {actor: A}
"""


def parse(text: str) -> object:
    return parse_world(loads(text, "w.yaml"))


def world(extra: str = "") -> object:
    return parse(HEAD + EVENTS + extra)


def one_problem(text: str):
    with pytest.raises(InputError) as exc:
        parse(text)
    return exc.value.problems


def run(w, fork=0.0, horizon=100.0, inject=(), replicate=0, **kw):
    eng = Engine(w, [], fork, horizon, inject=inject, **kw)
    return eng, eng.run(replicate_rng(1, replicate), "s")


def at(day: float, kind: str) -> Occurrence:
    return Occurrence(time=day, kind=kind, origin=INJECTED)


def ev(t: float, kind: str, v: int = 1) -> Event:
    return Event("s", v, t, kind)


MALFORMED = [
    # (id, text replacing the state's or appended after the events, line, message, hint)
    ("bounds-empty", HEAD.replace("min: 0, max: 3", "min: 4, max: 3"), 6,
     "min 4 is above max 3", "swap"),
    ("bounds-initial", HEAD.replace("initial: 0, min: 0", "initial: 5, min: 0"), 6,
     "initial value of 'n' (5) is outside its bounds [0, 3]", "within min and max"),
    ("bounds-bool", HEAD.replace("flag: false", "flag: {type: bool, max: 1}"), 7,
     "true/false variable has no 'max'", "int and float"),
    ("bounds-int-fraction", HEAD.replace("max: 3", "max: 2.5"), 6,
     "must be a whole number", "whole number"),
    ("decay-int", HEAD.replace("min: 0, max: 3}", "decay: {half_life: 5}}"), 6,
     "only a float variable can decay", "type: float"),
    ("decay-half-life", HEAD.replace("half_life: 10", "half_life: 0"), 5,
     "half-life of 'x' is 0; it must be > 0", "halve"),
    ("decay-rest-outside", HEAD.replace("to: 0}", "to: 12}"), 5,
     "rest value of 'x' (12) is outside its bounds", "decay must head"),
    ("decay-unknown-key", HEAD.replace("to: 0}", "too: 0}"), 5, "unknown key 'too'",
     "did you mean 'to'"),
    ("effect-set-outside", EVENTS + "  bad: {effects: {n: 7}}\n", 14,
     "sets 'n' to 7, outside its bounds [0, 3]", "within min and max"),
    ("compare-outside", EVENTS + "rules:\n  - {id: r, on: go, then: stop, when: {x: {'>': 12}}}\n",
     15, "'x' is compared with 12, outside its bounds [0, 10]", "always or never true"),
    ("calendar-op", EVENTS + "rules:\n  - {id: r, on: go, then: stop, "
                             "when: {date: {after: 2020-02-01}}}\n", 15,
     "unknown calendar comparison 'after'", "did you mean"),
    ("calendar-not-date", EVENTS + "rules:\n  - {id: r, on: go, then: stop, "
                                   "when: {date: {before: soon}}}\n", 15,
     "'before' needs a date, not text", "ISO date"),
    ("date-variable", HEAD + "  date: 0.0\n", 8, "'date' cannot be a variable name", "rename"),
    ("phase-zero", EVENTS + "reviews:\n  - {id: v, actor: A, every: 30, phase: 0, decides: go, "
                            "probability: 1}\n", 15, "phase of review 'v' is 0", "phase: random"),
    ("phase-word", EVENTS + "reviews:\n  - {id: v, actor: A, every: 30, phase: sometimes, "
                            "decides: go, probability: 1}\n", 15,
     "phase of review 'v' must be a number", "phase: random"),
    ("calendar-and-every", EVENTS + "reviews:\n  - {id: v, actor: A, every: 30, "
                                    "calendar: ['12-15'], decides: go, probability: 1}\n", 15,
     "both 'every' and 'calendar'", "not both"),
    ("neither-every-nor-calendar", EVENTS + "reviews:\n  - {id: v, actor: A, decides: go, "
                                            "probability: 1}\n", 15, "missing 'every'",
     "'every' or 'calendar'"),
    ("calendar-bad-day", EVENTS + "reviews:\n  - {id: v, actor: A, calendar: ['02-29'], "
                                  "decides: go, probability: 1}\n", 15,
     "'02-29' is not a month-day of every year", "02-29"),
    ("calendar-phase", EVENTS + "reviews:\n  - {id: v, actor: A, calendar: ['12-15'], phase: 3, "
                                "decides: go, probability: 1}\n", 15,
     "'phase' does not apply", "drop 'phase'"),
    ("hazard-form", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, decides: go, "
                             "probability: {logistc: {var: x, mid: 1, scale: 1}}}\n", 15,
     "unknown key 'logistc' in the probability of review 'v'", "did you mean 'logistic'"),
    ("hazard-missing", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, decides: go, "
                                "probability: {logistic: {var: x, mid: 1}}}\n", 15,
     "missing 'scale'", "required keys"),
    ("hazard-bool", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, decides: go, "
                             "probability: {per_unit: {var: flag, p: 0.1}}}\n", 15,
     "needs a numeric variable; 'flag' is true/false", "modifier"),
    ("hazard-p", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, decides: go, "
                          "probability: {per_unit: {var: n, p: 1.5}}}\n", 15,
     "'p' of a per_unit probability is 1.5", "from 0 to 1"),
    ("hazard-var", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, decides: go, "
                            "probability: {per_unit: {var: nn, p: 0.5}}}\n", 15,
     "unknown variable 'nn'", "did you mean 'n'"),
    ("choose-and-decides", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, decides: go, "
                                    "choose: {go: 1, stop: 1}, probability: 1}\n", 15,
     "both 'decides' and 'choose'", "one event"),
    ("choose-event", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, "
                              "choose: {go: 1, stpo: 1}, probability: 1}\n", 15,
     "unknown event 'stpo'", "did you mean 'stop'"),
    ("choose-zero", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, "
                             "choose: {go: 0, stop: 0}, probability: 1}\n", 15,
     "sum to 0", "positive weight"),
    ("choose-negative", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, "
                                 "choose: {go: -1, stop: 1}, probability: 1}\n", 15,
     "weight of 'go' is -1", "weights are numbers >= 0"),
    ("review-unless", EVENTS + "reviews:\n  - {id: v, actor: A, every: 5, decides: go, "
                               "probability: 1, unless: [stpo]}\n", 15,
     "unknown event 'stpo'", "did you mean 'stop'"),
    ("invariant-missing", EVENTS + "invariants:\n  - {unless: [go]}\n", 15,
     "invariant #1 is missing 'never'", "required keys"),
    ("invariant-event", EVENTS + "invariants:\n  - {never: stpo}\n", 15,
     "unknown event 'stpo'", "did you mean 'stop'"),
    ("invariant-key", EVENTS + "invariants:\n  - {never: stop, unles: [go]}\n", 15,
     "unknown key 'unles'", "did you mean 'unless'"),
    # found by tests/test_schema.py's loader-vs-schema check: an empty id was dropped silently
    ("empty-rule-id", EVENTS + "rules:\n  - {id: , on: go, then: stop}\n", 15,
     "the rule id is empty", "letters, digits"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_constructs_are_reported_with_line_and_hint(case):
    _, text, line, message, hint = case
    text = text if text.startswith("world:") else HEAD + text
    if "events:" not in text:
        text += EVENTS
    found = one_problem(text)
    assert any(p.file == "w.yaml" and p.line == line and message in p.message
               and hint in (p.hint or "") for p in found), [str(p) for p in found]


# --------------------------------------------------------------------------- bounds

def test_effects_clamp_to_the_bounds():
    w = world()
    s = State(w)
    for _ in range(5):
        s.apply("up")
    assert s["n"] == 3 and s["x"] == 10.0          # 0 + 5 > 3; 8 + 15 > 10
    s.apply("down")
    assert s["n"] == 0 and s["x"] == 0.0
    assert type(s["n"]) is int


# --------------------------------------------------------------------------- decay

def test_decay_is_exact_and_read_at_any_time():
    w = world()
    # 8 at day 0, half-life 10 toward 0: 8 * 2**(-t/10)
    assert as_of(w, [], 20.0)["x"] == pytest.approx(2.0, rel=1e-15)
    # +3 at day 10 (4 + 3 = 7), then 20 more days: 7 / 4
    evs = [ev(10.0, "up")]
    assert as_of(w, evs, 10.0)["x"] == pytest.approx(7.0, rel=1e-15)
    assert as_of(w, evs, 30.0)["x"] == pytest.approx(1.75, rel=1e-15)
    # reading more often changes nothing (no time steps)
    s = State(w)
    for t in range(0, 31):
        s.advance(float(t))
        if t == 10:
            s.apply("up")
    assert s["x"] == as_of(w, evs, 30.0)["x"]


def test_conditions_read_the_decayed_value():
    # a daily review fires while x < 2; x = 8 * 2**(-t/10) is 2 at t = 20, so day 21
    w = world("reviews:\n  - {id: v, actor: A, every: 1, decides: stop, probability: 1, "
              "when: {x: {'<': 2}}}\n")
    _, out = run(w)
    assert [(e.kind, e.time) for e in out] == [("stop", 21.0)]


def test_state_outcome_and_show_report_the_decayed_value(tmp_path, capsys):
    import sim

    (tmp_path / "world.yaml").write_text(HEAD + EVENTS + "reviews:\n  - {id: v, actor: A, "
                                         "every: 1000, decides: go, probability: 0}\n")
    (tmp_path / "history.yaml").write_text("sources: {}\nevents: []\n")
    (tmp_path / "s.yaml").write_text(
        "name: d\nworld: world.yaml\nhistory: history.yaml\nfork: 2020-01-11\n"
        "horizon: 2020-02-10\nreplicates: 2\nseed: 1\n"
        "outcomes:\n  - {id: x_end, state: x, at: horizon}\n"
        "  - {id: x_mid, state: x, at: 2020-01-21}\n")
    r = sim.run(tmp_path / "s.yaml", out=tmp_path / "run", executor="serial", progress=False)
    values = r.outcome_values("d")
    # a date means the whole day: the state at its end (day d + 1, less one ulp).
    # horizon = day 40, end 41: 8 * 2**-4.1; day 20, end 21: 8 * 2**-2.1
    assert list(values["x_end"]) == pytest.approx([8 * 2 ** -4.1] * 2, rel=1e-12)
    assert list(values["x_mid"]) == pytest.approx([8 * 2 ** -2.1] * 2, rel=1e-12)
    assert cli.main(["show", str(tmp_path / "run"), "--as-of", "2020-01-31"]) == 0
    out = capsys.readouterr().out                     # day 30, end 31: 8 * 2**-3.1
    assert f"x = {8 * 2 ** -3.1:.4g}" in out or f"x = {8 * 2 ** -3.1:.3g}" in out, out


# --------------------------------------------------------------------------- calendar

def test_calendar_conditions_compare_the_date():
    # before 2020-01-11 (day 10) and on or after it, with daily reviews from day 1
    w = world("reviews:\n"
              "  - {id: early, actor: A, every: 1, decides: go, probability: 1, "
              "when: {date: {before: 2020-01-04}}}\n"
              "  - {id: late, actor: A, every: 1, decides: stop, probability: 1, "
              "when: {date: {on_or_after: 2020-01-11}}}\n")
    _, out = run(w, horizon=20.0)
    assert [e.time for e in out if e.kind == "go"] == [1.0, 2.0]
    assert [e.time for e in out if e.kind == "stop"] == [10.0]
    assert "date" not in as_of(w, out, 20.0)        # the clock is not a state variable


# --------------------------------------------------------------------------- review timing

def review_times(text, fork=0.0, horizon=100.0, replicate=0):
    _, out = run(world("reviews:\n  - " + text + "\n"), fork, horizon, replicate=replicate)
    return [e.time for e in out]


def test_review_phase_sets_the_first_tick():
    assert review_times("{id: v, actor: A, every: 15, phase: 7, decides: go, probability: 1}",
                        fork=3.0, horizon=60.0) == [10.0, 25.0, 40.0, 55.0]
    # default: the first tick one period after the fork, as before
    assert review_times("{id: v, actor: A, every: 15, decides: go, probability: 1}",
                        fork=3.0, horizon=60.0) == [18.0, 33.0, 48.0]


def test_calendar_reviews_run_every_year_on_their_dates():
    # starts 2020-01-01; fork day 0; horizon 2022-12-31 (day 1095)
    times = review_times("{id: v, actor: A, calendar: ['12-15', '06-01'], decides: go, "
                         "probability: 1}", horizon=1095.0)
    w = world()
    expected = sorted(w.day(dt.date(y, m, d)) for y in (2020, 2021, 2022)
                      for m, d in ((12, 15), (6, 1)))
    assert times == expected and times[0] == 152.0       # 2020-06-01: 31+29+31+30+31


def test_random_phase_is_uniform_per_replicate_and_shared_by_branches():
    spec = "{id: v, actor: A, every: 20, phase: random, decides: go, probability: 1}"
    firsts = []
    for i in range(300):
        times = review_times(spec, horizon=100.0, replicate=i)
        assert 0.0 < times[0] <= 20.0
        assert all(b - a == pytest.approx(20.0) for a, b in zip(times, times[1:]))
        assert times[-1] + 20.0 > 100.0
        firsts.append(times[0])
    # uniform on (0, 20]: mean 10, sd 20 / sqrt(12); 5 standard errors
    mean = sum(firsts) / len(firsts)
    assert abs(mean - 10.0) < 5 * (20 / math.sqrt(12)) / math.sqrt(300)
    assert len(set(firsts)) == 300
    # another branch (a different probability, another review) keeps the same phase
    other = ("{id: v, actor: A, every: 20, phase: random, decides: go, probability: 0.5}\n"
             "  - {id: w2, actor: A, every: 3, decides: other, probability: 0.5}")
    total = 0
    for i in range(10):
        _, out = run(world("reviews:\n  - " + other + "\n"), horizon=100.0, replicate=i)
        fired = [e.time for e in out if e.kind == "go"]
        assert set(fired) <= set(review_times(spec, horizon=100.0, replicate=i))
        total += len(fired)
    assert total > 0


# --------------------------------------------------------------------------- hazards

@pytest.mark.parametrize("form, x, expected", [
    ("{logistic: {var: x, mid: 5, scale: 2, max: 0.4}}", 5.0, 0.2),
    ("{logistic: {var: x, mid: 5, scale: 2}}", 5.0 + 2 * math.log(3), 0.75),
    ("{per_unit: {var: x, p: 0.5}}", 2.0, 0.75),
    ("{per_unit: {var: x, p: 0.5}}", 0.0, 0.0),
])
def test_hazard_of_a_variable_closed_form(form, x, expected):
    text = HEAD.replace("initial: 8.0, min: 0, max: 10, decay: {half_life: 10, to: 0}",
                        f"initial: {x!r}")
    w = parse(text + EVENTS + f"reviews:\n  - {{id: v, actor: A, every: 1, decides: go, "
                              f"probability: {form}}}\n")
    assert w.reviews[0].hazard(w.initial_state()) == pytest.approx(expected, rel=1e-12)
    _, out = run(w, horizon=400.0)
    # each firing records the hazard; the firing rate is binomial(400, expected)
    assert all(e.data["p"] == pytest.approx(expected, rel=1e-12) for e in out)
    sd = math.sqrt(400 * expected * (1 - expected)) or 1e-9
    assert abs(len(out) - 400 * expected) <= 5 * sd


def test_hazard_reads_the_decayed_value():
    # per_unit p = 0.1 of x = 8 * 2**(-t/10): the recorded hazard at tick t is exact
    w = world("reviews:\n  - {id: v, actor: A, every: 1, decides: other, "
              "probability: {per_unit: {var: x, p: 0.1}}}\n")
    _, out = run(w, horizon=60.0)
    assert out
    for e in out:
        x = 8.0 * 2.0 ** (-e.time / 10.0)
        assert e.data["p"] == pytest.approx(1 - 0.9 ** x, rel=1e-12)


# --------------------------------------------------------------------------- choices

def test_exclusive_choice_frequencies_and_records():
    w = world("reviews:\n  - {id: v, actor: A, every: 1, choose: {go: 1, other: 3}, "
              "probability: 0.5}\n")
    _, out = run(w, horizon=4000.0)
    times = [e.time for e in out]
    assert len(times) == len(set(times))                   # one event at most per tick
    n = len(out)
    assert abs(n - 2000) <= 5 * math.sqrt(4000 * 0.25)
    go = sum(e.kind == "go" for e in out)
    assert abs(go - n / 4) <= 5 * math.sqrt(n * 0.25 * 0.75)
    assert {e.data["p"] for e in out} == {0.125, 0.375}    # 0.5 * 1/4, 0.5 * 3/4
    assert {e.rule for e in out} == {"v"}


def test_suppressed_choice_produces_nothing_and_keeps_the_others():
    w = world("reviews:\n  - {id: v, actor: A, every: 1, choose: {go: 1, other: 3}, "
              "probability: 0.5}\n")
    _, full = run(w, horizon=500.0)
    _, supp = run(w, horizon=500.0, suppress=["go"])
    assert [(e.time, e.kind) for e in supp] == [(e.time, e.kind) for e in full
                                                if e.kind == "other"]


# --------------------------------------------------------------------------- unless

def test_unless_stops_a_review():
    w = world("reviews:\n  - {id: v, actor: A, every: 10, decides: go, probability: 1, "
              "unless: [stop]}\n")
    _, out = run(w, inject=[at(35.0, "stop")])
    assert [(e.kind, e.time) for e in out] == [("go", 10.0), ("go", 20.0), ("go", 30.0),
                                               ("stop", 35.0)]
    # stopped before the fork: never ticks
    _, out = run(w, fork=40.0, inject=[at(5.0, "stop")])
    assert [e.kind for e in out] == []


# --------------------------------------------------------------------------- invariants

def test_invariants_are_checked_as_the_replicate_runs():
    w = world("rules:\n  - {id: r, on: go, then: stop, delay: 5}\n"
              "invariants:\n  - {never: stop, unless: [other]}\n"
              "  - {never: go, when: {n: {'>=': 1}}}\n"
              "  - {never: other}\n")
    eng, out = run(w, inject=[at(10.0, "go"), at(20.0, "up"), at(30.0, "go")])
    # stop at 15 with no `other` before it breaks #1; go at 30 after `up` breaks #2
    assert [(i, t) for i, _, t in eng.violations] == [(0, 15.0), (1, 30.0)]
    eng, out = run(w, inject=[at(1.0, "other"), at(10.0, "go")])
    assert [(i, t) for i, _, t in eng.violations] == [(2, 1.0)]


def test_validate_check_counts_broken_invariants(capsys):
    code = cli.main(["validate", str(DATA / "scenario.yaml"), "--check", "20"])
    out = capsys.readouterr().out
    assert code == 1
    assert "invariant #3 (never waiver unless sanction) broken in" in out
    assert "invariant #1" not in out and "invariant #2" not in out
    from sim.worldfile import load_world

    assert load_world(DATA / "world.yaml").invariants[1].describe() == \
        "never sanction when deal == true"
    line = next(x for x in out.splitlines() if "branch 'world2'" in x)
    first = int(line.split("first in replicate ")[1].split()[0])
    # the named replicate really breaks it, and no earlier one does
    from sim.runner import replicate_stream
    from sim.scenario import load_scenario

    sc = load_scenario(DATA / "scenario.yaml")
    br = sc.branches[0]
    eng = Engine(br.world, br.history, br.fork, br.horizon, uncertainty=br.uncertainty)
    broke = []
    for i in range(first + 1):
        eng.run(replicate_rng(sc.seed, i), replicate_stream(br.name, i))
        broke.append(any(j == 2 for j, _, _ in eng.violations))
    assert broke == [False] * first + [True]


def test_validate_check_passes_when_invariants_hold(tmp_path, capsys):
    text = (DATA / "world.yaml").read_text().split("  - {never: waiver")[0]
    (tmp_path / "world.yaml").write_text(text)
    for f in ("history.yaml", "scenario.yaml"):
        (tmp_path / f).write_text((DATA / f).read_text())
    assert cli.main(["validate", str(tmp_path / "scenario.yaml"), "--check", "10"]) == 0
    assert "invariants hold in 10 replicates" in capsys.readouterr().out


# --------------------------------------------------------------------------- all at once

def test_the_world2_world_uses_every_construct():
    from sim.worldfile import load_world

    w = load_world(DATA / "world.yaml")
    assert w.variables["tension"].half_life == 60 and w.variables["strikes"].max == 3
    assert {rv.phase for rv in w.reviews} >= {"random", 7.0}
    assert any(rv.calendar for rv in w.reviews) and any(rv.choose for rv in w.reviews)
    assert any(rv.unless for rv in w.reviews) and w.uses_date and len(w.invariants) == 3
    assert {type(rv.probability).__name__ for rv in w.reviews} == {"float", "Curve"}


def test_any_wrong_value_in_world2_gives_input_error_not_a_crash():
    doc = loads((DATA / "world.yaml").read_text(), "w.yaml")
    wrong = [None, "zzz", [], {}, -1, True, 1.5, dt.date(2000, 1, 1)]
    errors = 0
    for path in paths(doc.data):
        for value in wrong:
            try:
                parse_world(Located(replaced(doc.data, path, value), doc.positions, "w.yaml"))
            except InputError as exc:
                assert all(p.file == "w.yaml" and p.line for p in exc.problems)
                errors += 1
    assert errors > 100


def test_existing_worlds_give_the_same_digests():
    """Digests of every s400 scenario branch (prefix + 40 replicates, seed 7) recorded
    before world language 2: a world using none of its constructs runs as before.
    (Re-recorded with the code just before world language 2 was merged, which already
    counted the whole horizon day (#12); the merged code gives the same digests.) The S-400
    files of that time are kept in tests/data/world2/s400_before: the live case has since
    moved on and uses the new constructs."""
    from sim.runner import _engine, replicate_stream
    from sim.scenario import load_scenario
    from sim.store import digest_of

    before = json.loads((DATA / "s400_digests_before.json").read_text())
    files = sorted({k.split(":")[0] for k in before})
    got = {}
    for f in files:
        sc = load_scenario(DATA / "s400_before" / f).replace(replicates=40, seed=7)
        for b, br in enumerate(sc.branches):
            eng = _engine(sc, b)
            evs = list(eng.prefix)
            for i in range(40):
                evs += eng.run(replicate_rng(7, i), replicate_stream(br.name, i))
            got[f"{f}:{br.name}"] = digest_of(evs)
    assert got == before


@pytest.mark.slow
def test_world2_runs_identically_under_every_executor(tmp_path):
    pytest.importorskip("dask.distributed")
    import sim

    runs = {ex: sim.run(DATA / "scenario.yaml", out=tmp_path / ex, executor=ex, jobs=2,
                        progress=False) for ex in ("serial", "processes", "dask")}
    digests = {ex: r.manifest["digests"] for ex, r in runs.items()}
    assert digests["serial"] == digests["processes"] == digests["dask"]
    assert len(digests["serial"]) == 2 * 24 + 2


def test_world2_run_tells_its_story_and_draws_its_graph(tmp_path, capsys):
    """Reviews with choices and curves show in the event graph and in stories."""
    import sim
    from sim.plots import event_graph
    from sim.worldfile import load_world

    fig = event_graph(load_world(DATA / "world.yaml"))
    badges = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "review"]
    assert any("f(tension)/15d" in b for b in badges) and any("yearly" in b for b in badges)
    r = sim.run(DATA / "scenario.yaml", out=tmp_path / "run", replicates=4, executor="serial",
                progress=False)
    for i in range(4):
        assert cli.main(["story", str(r.folder), "--replicate", str(i)]) == 0
    out = capsys.readouterr().out
    assert "review beta_reacts by B" in out or "review alpha_provokes by A" in out


# --------------------------------------------------------------------------- history uncertainty

def hist(day: float, kind: str, granularity="day", confidence="high") -> Occurrence:
    from sim.events import HISTORY

    return Occurrence(time=day, kind=kind, origin=HISTORY, source="S",
                      granularity=granularity, confidence=confidence)


def uncertain_runs(history, unc, n=400, fork=400.0, w=None):
    w = w or world()
    eng = Engine(w, history, fork, fork + 10.0, uncertainty=unc)
    assert eng.prefix == []
    return [eng.run(replicate_rng(3, i), f"s/{i}") for i in range(n)]


def test_uncertain_dates_fall_uniformly_in_their_period():
    from sim.history import Uncertainty

    # 2020-07-12 is day 193 (a Sunday); July 2020 is days 182..212; its ISO week 187..193
    w = world()
    assert w.day(dt.date(2020, 7, 12)) == 193.0
    runs = uncertain_runs([hist(193.0, "go", "month"), hist(193.0, "other", "week")],
                          Uncertainty(dates=True), w=w)
    months = [e.time for r in runs for e in r if e.kind == "go"]
    weeks = [e.time for r in runs for e in r if e.kind == "other"]
    assert len(months) == len(weeks) == 400
    assert set(months) == {float(d) for d in range(182, 213)}           # all 31 days drawn
    assert set(weeks) == {float(d) for d in range(187, 194)}            # Monday..Sunday
    assert abs(sum(months) / 400 - 197.0) < 5 * math.sqrt((31 ** 2 - 1) / 12 / 400)
    assert all(e.origin == "history" and e.stream == f"s/{i}"
               for i, r in enumerate(runs) for e in r)


def test_low_confidence_entries_are_kept_with_their_probability():
    from sim.history import Uncertainty

    runs = uncertain_runs([hist(10.0, "go", confidence="low"), hist(20.0, "other")],
                          Uncertainty(keep={"low": 0.3}))
    kept = sum(any(e.kind == "go" for e in r) for r in runs)
    assert abs(kept - 120) <= 5 * math.sqrt(400 * 0.3 * 0.7)
    assert all(any(e.kind == "other" for e in r) for r in runs)        # high: always kept


def test_uncertainty_without_effect_changes_nothing():
    """Dates on, all entries day-granular: the same events as certain history, replicate
    by replicate (rules and reviews draw the same numbers)."""
    from sim.history import Uncertainty

    w = world("rules:\n  - {id: r, on: go, then: other, probability: 0.5, "
              "delay: {exponential: {mean: 30}}}\n"
              "reviews:\n  - {id: v, actor: A, every: 7, decides: go, probability: 0.2}\n")
    history = [hist(float(d), "go") for d in (3, 50, 90)]
    certain = Engine(w, history, 100.0, 300.0)
    unc = Engine(w, history, 100.0, 300.0, uncertainty=Uncertainty(dates=True))
    for i in range(30):
        a = certain.prefix + certain.run(replicate_rng(5, i), "s")
        b = unc.run(replicate_rng(5, i), "s")
        assert [(e.time, e.kind, e.cause, e.rule) for e in a] == \
               [(e.time, e.kind, e.cause, e.rule) for e in b]


def test_uncertain_dates_are_common_to_branches():
    """A branch that drops another entry draws the same date for this one."""
    from sim.history import Uncertainty

    unc = Uncertainty(dates=True, keep={"low": 0.5})
    both = uncertain_runs([hist(40.0, "other", "month", "low"), hist(193.0, "go", "month")],
                          unc, n=50)
    one = uncertain_runs([hist(193.0, "go", "month")], unc, n=50)
    for a, b in zip(both, one):
        assert [e.time for e in a if e.kind == "go"] == [e.time for e in b if e.kind == "go"]


def test_malformed_history_uncertainty_in_a_scenario(tmp_path):
    from sim.scenario import load_scenario

    for f in ("world.yaml", "history.yaml"):
        (tmp_path / f).write_text((DATA / f).read_text())
    text = (DATA / "scenario.yaml").read_text().replace(
        "history_uncertainty: {dates: true, keep: {low: 0.7}}",
        "history_uncertainty: {dates: maybe, keep: {lo: 0.7, medium: 2}}")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(InputError) as exc:
        load_scenario(tmp_path / "s.yaml")
    found = [(p.line, p.message, p.hint or "") for p in exc.value.problems]
    line = text.splitlines().index(next(x for x in text.splitlines()
                                        if x.startswith("history_uncertainty"))) + 1
    assert any(ln == line and "'dates' must be true or false" in m for ln, m, _ in found)
    assert any(ln == line and "unknown confidence 'lo'" in m and "did you mean 'low'" in h
               for ln, m, h in found)
    assert any(ln == line and "keeping 'medium' entries is 2; it must be between 0 and 1" in m
               for ln, m, _ in found)


def test_run_counts_broken_invariants_in_manifest_output_and_report(tmp_path, capsys):
    """The manifest counts, per branch, the replicates that broke each invariant and names
    the first; the counts equal an independent re-run of the same replicates."""
    from sim.invariants import check_scenario
    from sim.report import render
    from sim.runner import open_run
    from sim.scenario import load_scenario

    assert cli.main(["run", str(DATA / "scenario.yaml"), "-n", "12", "--out",
                     str(tmp_path / "run"), "--executor", "serial", "--no-progress"]) == 0
    out = capsys.readouterr().out
    r = open_run(tmp_path / "run")
    summary = r.manifest["invariants"]
    expected = {(b.branch, b.index + 1): (b.replicates, b.first)
                for b in check_scenario(load_scenario(DATA / "scenario.yaml"), 12)}
    for branch, rows in summary.items():
        for row in rows:
            assert row["of"] == 12
            got = (row["broken"], row["first"]) if row["broken"] else None
            assert got == expected.get((branch, row["invariant"]))
    assert summary["world2"][2]["broken"] > 0 and summary["world2"][0]["broken"] == 0
    assert "#3 (never waiver unless sanction) broken in" in out
    html = render([r])
    assert "<h2>Invariants</h2>" in html and "never waiver unless sanction" in html


# --------------------------------------------------------------------------- joint acts

def test_joint_acts_record_and_show_every_actor(tmp_path):
    from sim.history import parse_history
    from sim.plots import timeline
    from sim.story import story

    w = parse(HEAD.replace("actors: {A: {name: Alpha}}", "actors: {A: {name: Alpha}, "
                           "B: {name: Beta}}") + EVENTS + "  pact: {actor: [A, B]}\n")
    assert w.events["pact"].actors == ("A", "B")
    h = parse_history(loads("sources: {S: {outlet: O, title: T, published: 2020-01-05}}\n"
                            "events:\n  - {date: 2020-01-05, event: go, actor: [B, A], "
                            "source: S}\n  - {date: 2020-01-06, event: pact, source: S}\n",
                            "h.yaml"), w)
    eng = Engine(w, h.occurrences(w), 10.0, 30.0, inject=[at(20.0, "pact")])
    evs = eng.prefix + eng.run(replicate_rng(1, 0), "s")
    assert [(e.time, e.kind, e.actor) for e in evs] == [
        (4.0, "go", "B+A"), (5.0, "pact", "A+B"), (20.0, "pact", "A+B")]
    text = story(evs, w)
    assert "[Beta & Alpha]" in text and "[Alpha & Beta]" in text
    fig = timeline(evs, w)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "Alpha & Beta" in labels and "Beta & Alpha" in labels


@pytest.mark.parametrize("actor, message", [
    ("[A, A]", "two or more different actors"),
    ("[A]", "two or more different actors"),
    ("[A, C]", "unknown actor 'C'"),
])
def test_malformed_joint_acts(actor, message):
    found = one_problem(HEAD + EVENTS + f"  pact: {{actor: {actor}}}\n")
    assert any(p.line == 14 and message in p.message for p in found), [str(p) for p in found]


def test_ingest_codes_a_joint_act_once_with_all_its_actors():
    """In a world where the threat is a joint act of USA and USC, the sentence that names
    both gives one candidate naming both (otherwise one per actor)."""
    from sim.ingest import default_coding_path, ingest, load_coding, to_yaml

    coding = load_coding(default_coding_path(ROOT / "scenarios/s400/world.yaml"))
    text = "Senators and Secretary of State Mike Pompeo warned Turkey of sanctions on Monday."
    alone = ingest(text, dt.date(2019, 4, 3), coding)
    assert sorted(c.actor for c in alone.candidates
                  if c.event == "sanctions_threatened") == ["USA", "USC"]
    res = ingest(text, dt.date(2019, 4, 3), coding, joint={"sanctions_threatened": "USA+USC"})
    joint = [c for c in res.candidates if c.event == "sanctions_threatened"]
    assert [c.actor for c in joint] == ["USA+USC"]
    assert len(joint[0].evidence) == 1
    assert "  actor: [USA, USC]" in to_yaml(res)


@pytest.mark.parametrize("curve", [
    ("logistic", {"mid": 5.0, "scale": 1.5, "max": 0.4}), ("logistic", {"mid": -2.0, "scale": 0.3}),
    ("per_unit", {"p": 0.03}), ("per_unit", {"p": 0.9})])
def test_compiled_curves_give_the_same_floats(curve):
    from sim.engine import _compile_curve
    from sim.world import Curve

    c = Curve(curve[0], "x", curve[1])
    f = _compile_curve(c)
    for x in [-1e6, -3.0, -0.5, 0.0, 1e-9, 0.7, 2.0, 5.0, 17.3, 1e3, 1e6]:
        assert f({"x": x}) == c.at(x)


# --------------------------------------------------------------------------- decay, property

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 200.0), st.sampled_from(["up", "down", "other"])),
                max_size=8),
       st.floats(0.0, 300.0))
def test_decay_with_bounds_matches_a_hand_computation(steps, t):
    """x starts at 8, decays toward 0 with half-life 10, `up` adds 3 and `down` -20, clamped
    to [0, 10]: computed here step by step from the definition."""
    w = world()
    steps = sorted(steps)
    evs = [ev(time, kind, i + 1) for i, (time, kind) in enumerate(steps)]
    x, t0 = 8.0, 0.0
    for time, kind in steps:
        if time > t:
            break
        if kind == "other":
            continue
        x = x * 2.0 ** (-(time - t0) / 10.0) + (3.0 if kind == "up" else -20.0)
        x, t0 = min(10.0, max(0.0, x)), time
    expected = x * 2.0 ** (-(t - t0) / 10.0)
    assert as_of(w, evs, t)["x"] == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_validate_check_says_when_there_is_nothing_to_check(capsys):
    assert cli.main(["validate", str(ROOT / "tests/data/mini/scenario.yaml"), "--check", "3"]) == 0
    assert "declares no invariants; nothing to check" in capsys.readouterr().out
