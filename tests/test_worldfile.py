"""Tests of sim.worldfile: world YAML -> World, and every validation message."""
from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pytest
from helpers import paths, replaced

from sim.errors import InputError
from sim.history import parse_history
from sim.world import (
    Actor,
    All,
    AnyOf,
    Compare,
    Delay,
    Effect,
    EventType,
    Modifier,
    Not,
    Review,
    Rule,
    Variable,
    World,
)
from sim.worldfile import load_world, parse_world, satisfiable
from sim.yamlfile import loads

# 8 lines; the cases below add lines from line 9 on (an indented first line continues `events`).
HEAD = """\
world: t
starts: 2019-01-01
actors: {TUR: {name: Turkey}, USA: {name: US}}
state: {active: false, sanctioned: false, tension: 0.0, n: 0}
events:
  activate: {actor: TUR, effects: {active: true}, once: true}
  sanction: {actor: USA, target: TUR, effects: {sanctioned: true, tension: {add: 1.5}}}
  talk: {actor: USA}
"""

RULE = "rules:\n  - {id: r, on: talk, then: sanction, %s}\n"          # the rule is on line 10
REVIEW = ("reviews:\n  - {id: v, actor: TUR, every: 30, decides: activate, probability: 0.1, "
          "%s}\n")                                                   # the review is on line 10


def parse(text: str, file: str = "w.yaml") -> World:
    return parse_world(loads(text, file))


def problems(text: str) -> list:
    with pytest.raises(InputError) as exc:
        parse(text)
    return exc.value.problems


MALFORMED = [
    # (id, text after HEAD, line, words in the message, words in the hint)
    ("unknown-top-key", "rulez: []\n", 9, "unknown key 'rulez'", "did you mean 'rules'"),
    ("unknown-event-key", "  bad: {actor: TUR, onse: true}\n", 9, "unknown key 'onse'",
     "did you mean 'once'"),
    ("unknown-actor", "  bad: {actor: TRU}\n", 9, "unknown actor 'TRU'", "did you mean 'TUR'"),
    ("unknown-target", "  bad: {actor: TUR, target: USB}\n", 9, "unknown actor 'USB'",
     "did you mean 'USA'"),
    ("effect-unknown-var", "  bad: {effects: {sanctiond: true}}\n", 9,
     "unknown variable 'sanctiond'", "did you mean 'sanctioned'"),
    ("add-on-bool", "  bad: {effects: {active: {add: 1}}}\n", 9, "cannot add to 'active'",
     "active: true"),
    ("effect-type", "  bad: {effects: {tension: true}}\n", 9,
     "effect on 'tension' must be a number", "is a number (float)"),
    ("effect-int-fraction", "  bad: {effects: {n: {add: 0.5}}}\n", 9,
     "must be a whole number", "int"),
    ("effect-bool-number", "  bad: {effects: {active: 1}}\n", 9,
     "must be true or false", "true/false"),
    ("once-not-bool", "  bad: {once: 3}\n", 9, "'once' must be true or false", "once: true"),
    ("rule-unknown-then", "rules:\n  - {id: r, on: talk, then: sanctoin}\n", 10,
     "unknown event 'sanctoin'", "did you mean 'sanction'"),
    ("rule-unknown-on", "rules:\n  - {id: r, on: activte, then: sanction}\n", 10,
     "unknown event 'activte'", "did you mean 'activate'"),
    ("rule-unknown-unless", RULE % "unless: [tlak]", 10, "unknown event 'tlak'",
     "did you mean 'talk'"),
    ("rule-unknown-key", RULE % "thne: talk", 10, "unknown key 'thne'", "did you mean 'then'"),
    ("rule-missing-then", "rules:\n  - {id: r, on: talk}\n", 10, "rule 'r' is missing 'then'",
     "required keys: id, on, then"),
    ("probability-above-1", RULE % "probability: 1.5", 10, "must be between 0 and 1",
     "from 0 to 1"),
    ("probability-negative", RULE % "probability: -0.1", 10, "is -0.1", "from 0 to 1"),
    ("probability-text", RULE % "probability: high", 10, "must be a number, not text",
     "from 0 to 1"),
    ("negative-fixed-delay", RULE % "delay: -3", 10, "is -3; it must be >= 0", "0 or more"),
    ("uniform-low-above-high", RULE % "delay: {uniform: {low: 10, high: 5}}", 10,
     "low (10) is above high (5)", "0 <= low <= high"),
    ("triangular-mode-outside", RULE % "delay: {triangular: {low: 1, mode: 9, high: 5}}", 10,
     "mode (9) must lie between low (1) and high (5)", "low <= mode <= high"),
    ("lognormal-median-zero", RULE % "delay: {lognormal: {median: 0, sigma: 0.5}}", 10,
     "median must be positive", "{lognormal: {median, sigma}}"),
    ("lognormal-sigma-negative", RULE % "delay: {lognormal: {median: 30, sigma: -1}}", 10,
     "sigma cannot be negative", "{lognormal: {median, sigma}}"),
    ("exponential-mean-zero", RULE % "delay: {exponential: {mean: 0}}", 10,
     "mean must be positive", "{exponential: {mean}}"),
    ("choice-empty", RULE % "delay: {choice: {values: []}}", 10,
     "must be a non-empty list of values", "values: [30, 60, 90]"),
    ("choice-weights-mismatch", RULE % "delay: {choice: {values: [1, 2], weights: [1]}}", 10,
     "2 values but 1 weights", "one weight per value"),
    ("choice-negative-weight", RULE % "delay: {choice: {values: [1, 2], weights: [1, -1]}}",
     10, "'weights' of a choice delay is -1; it must be >= 0", "values: [30, 60, 90]"),
    ("delay-unknown-kind", RULE % "delay: {lognormall: {median: 3, sigma: 1}}", 10,
     "unknown key 'lognormall' in the delay of rule 'r'", "did you mean 'lognormal'"),
    ("delay-missing-param", RULE % "delay: {uniform: {low: 3}}", 10,
     "a uniform delay is missing 'high'", "required keys: low, high"),
    ("delay-bad-shape", RULE % "delay: soon", 10, "the delay of rule 'r' must be a number or a mapping",
     "{lognormal: {median, sigma}}"),
    ("when-unknown-var", RULE % "when: {sanctiond: false}", 10,
     "condition on unknown variable 'sanctiond'", "did you mean 'sanctioned'"),
    ("when-bool-vs-number", RULE % "when: {active: 1}", 10,
     "'active' is true/false but is compared with a number", "active: true"),
    ("when-ordering-on-bool", RULE % "when: {active: {'>': false}}", 10,
     "ordering comparison '>' on true/false variable 'active'", "only == and !="),
    ("when-number-vs-bool", RULE % "when: {tension: {'>=': true}}", 10,
     "'tension' is a number (float) but is compared with true/false",
     "compare it with a number"),
    ("when-unknown-op", RULE % "when: {tension: {'=>': 3}}", 10,
     "unknown comparison '=>'", "expected one of"),
    ("when-single-equals", RULE % "when: {tension: {'=': 3}}", 10,
     "unknown comparison '='", "'=='"),
    ("when-empty-any", RULE % "when: {any: []}", 10, "'any:' needs a non-empty list",
     "any: ["),
    ("when-contradiction", RULE % "when: {all: [{active: true}, {active: false}]}", 10,
     "can never hold: the comparisons on 'active'", "both true and false"),
    ("when-empty-range", RULE % "when: {tension: {'>': 3, '<': 2}}", 10,
     "can never hold: the comparisons on 'tension'", "range that is empty"),
    ("when-int-empty-range", RULE % "when: {n: {'>': 2, '<': 3}}", 10,
     "can never hold: the comparisons on 'n'", "range that is empty"),
    ("when-not-contradiction", RULE % "when: {active: true, not: {active: true}}", 10,
     "can never hold", "both true and false"),
    ("int-equals-fraction", RULE % "when: {n: 1.5}", 10, "can never equal 1.5",
     "whole number"),
    ("dead-rule-on-sets", "rules:\n  - {id: r, on: activate, then: talk, when: {active: false}}\n",
     10, "rule 'r' can never fire: its 'when' is checked right after 'activate' occurs, and "
         "'activate' sets active = true", "drop that comparison"),
    ("dead-rule-once-loop", "rules:\n  - {id: r, on: activate, then: activate}\n", 10,
     "'activate' is a once event", "drop 'once: true'"),
    ("review-every-zero", "reviews:\n  - {id: v, actor: TUR, every: 0, decides: activate, "
     "probability: 0.1}\n", 10, "the period ('every') of review 'v' is 0; it must be > 0",
     "days between"),
    ("review-unknown-actor", "reviews:\n  - {id: v, actor: TRK, every: 30, decides: activate, "
     "probability: 0.1}\n", 10, "unknown actor 'TRK'", "did you mean 'TUR'"),
    ("review-unknown-decides", "reviews:\n  - {id: v, actor: TUR, every: 30, decides: activat, "
     "probability: 0.1}\n", 10, "unknown event 'activat'", "did you mean 'activate'"),
    ("review-missing-probability", "reviews:\n  - {id: v, actor: TUR, every: 30, "
     "decides: activate}\n", 10, "review 'v' is missing 'probability'", "required keys"),
    ("modifier-unknown-key", REVIEW % "modifiers: [{when: {sanctioned: true}, multipy: 2}]", 10,
     "unknown key 'multipy'", "did you mean 'multiply'"),
    ("modifier-no-change", REVIEW % "modifiers: [{when: {sanctioned: true}}]", 10,
     "changes nothing", "'multiply' and/or 'add'"),
    ("modifier-negative-multiply", REVIEW % "modifiers: [{multiply: -1}]", 10,
     "must be >= 0", "multiply: 0.5"),
    ("modifier-never-applies", REVIEW % "when: {active: false}, modifiers: [{when: {active: "
     "true}, multiply: 2}]", 10, "can never apply: its 'when' contradicts the review's own",
     "only runs while"),
    ("duplicate-rule-id", "rules:\n  - {id: r, on: talk, then: sanction}\n"
     "  - {id: r, on: sanction, then: talk, delay: 1}\n", 11, "duplicate id 'r': already used by a rule "
     "at line 10", "must all be different"),
    ("rule-review-id-clash", "rules:\n  - {id: v, on: talk, then: sanction}\n"
     + REVIEW % "note: n", 12, "duplicate id 'v': already used by a rule",
     "must all be different"),
    ("bad-rule-id", "rules:\n  - {id: r.1, on: talk, then: sanction}\n", 10,
     "rule id 'r.1' is not a valid name", "no dots"),
    ("instant-loop", "rules:\n  - {id: a, on: talk, then: sanction}\n"
     "  - {id: b, on: sanction, then: talk}\n", 10,
     "rules 'a', 'b' form a loop with no delay", "give one of them a delay"),
    ("instant-self-loop", "rules:\n  - {id: z, on: talk, then: talk, delay: {fixed: {value: 0}}}"
     "\n", 10, "rule 'z' forms a loop", "make an event of the loop 'once'"),
    ("rules-not-list", "rules: {id: r}\n", 9, "'rules' must be a list", "a list of"),
]


@pytest.mark.parametrize("text,line,message,hint", [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_world_is_reported_with_file_line_and_hint(text, line, message, hint):
    found = problems(HEAD + text)
    assert len(found) == 1, [str(p) for p in found]
    p = found[0]
    assert p.file == "w.yaml"
    assert p.line == line
    assert message in p.message
    assert p.hint and hint in p.hint
    assert str(p).startswith(f"w.yaml:{line}:")


FULL = [
    ("starts-not-a-date", "world: t\nstarts: 12/01/2019\nevents: {}\n", 2,
     "'starts' must be a date, not text", "ISO date"),
    ("starts-datetime", "world: t\nstarts: 2019-01-01 10:00:00\nevents: {}\n", 2,
     "'starts' must be a date", "ISO date"),
    ("starts-missing", "world: t\nevents: {}\n", 1, "the world file is missing 'starts'",
     "required keys: world, starts, events"),
    ("events-missing", "world: t\nstarts: 2019-01-01\n", 1, "missing 'events'",
     "required keys"),
    ("world-name-number", "world: 3\nstarts: 2019-01-01\nevents: {}\n", 1,
     "'world' must be text, not a number", "world: s400"),
    ("state-string", "world: t\nstarts: 2019-01-01\nstate:\n  x: maybe\nevents: {}\n", 4,
     "initial value of 'x' must be true/false or a number", "sanctioned: false"),
    ("state-bad-type", "world: t\nstarts: 2019-01-01\nstate:\n  x: {type: flaot}\nevents: {}\n",
     4, "unknown variable type 'flaot'", "did you mean 'float'"),
    ("state-long-form-mismatch", "world: t\nstarts: 2019-01-01\nstate:\n"
     "  x: {type: int, initial: 0.5}\nevents: {}\n", 4, "must be a whole number", "int"),
    ("variable-named-any", "world: t\nstarts: 2019-01-01\nstate:\n  any: true\nevents: {}\n",
     4, "'any' cannot be a variable name", "rename"),
    ("variable-named-on", "world: t\nstarts: 2019-01-01\nstate:\n  on: true\nevents: {}\n",
     4, "variable name true is not a valid name", "put the name in quotes"),
]


@pytest.mark.parametrize("text,line,message,hint", [c[1:] for c in FULL],
                         ids=[c[0] for c in FULL])
def test_malformed_top_level(text, line, message, hint):
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    p = found[0]
    assert (p.file, p.line) == ("w.yaml", line)
    assert message in p.message
    assert p.hint and hint in p.hint


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(InputError) as exc:
        parse("world: t\nstarts: 2019-01-01\nevents:\n  a: {actor: [TUR}\n")
    p = exc.value.problems[0]
    assert (p.file, p.line) == ("w.yaml", 4)
    assert "YAML syntax error" in p.message and p.hint


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", ""])
def test_top_level_must_be_a_mapping(text):
    with pytest.raises(InputError) as exc:
        parse(text)
    (p,) = exc.value.problems
    assert p.file == "w.yaml" and p.line == 1
    assert "must be a mapping at the top level" in p.message
    assert "starts" in p.hint


def test_every_problem_in_a_file_is_reported_at_once():
    text = HEAD + (
        "  bad: {actor: TRU}\n"                                              # 9
        "rules:\n"                                                           # 10
        "  - {id: r, on: talk, then: sanctoin, probability: 2}\n"            # 11
        "  - {id: r, on: talk, then: talk, delay: {uniform: {low: 5, high: 1}}}\n"  # 12
        "reviews:\n"                                                         # 13
        "  - {id: v, actor: TUR, every: -1, decides: activate, probability: 0.1,\n"  # 14
        "     when: {sanctiond: true}}\n"                                    # 15
    )
    found = problems(text)
    lines = sorted(p.line for p in found)
    assert lines == [9, 11, 11, 12, 12, 14, 15]
    text_all = "\n".join(str(p) for p in found)
    for words in ("unknown actor 'TRU'", "unknown event 'sanctoin'", "is 2; it must be between",
                  "low (5) is above high (1)", "duplicate id 'r'", "'every') of review 'v' is -1",
                  "unknown variable 'sanctiond'"):
        assert words in text_all
    assert str(InputError(found)).startswith("7 problems found:")


# ----------------------------------------------------------------------- a valid world

VALID = """\
world: s400
starts: 2015-01-01
description: a small test world
actors: {TUR: {name: Turkey}, USA: {name: US executive}, RUS: Russia}
state:
  s400_delivered: false
  s400_active: false
  sanctioned: false
  working_group: false
  tension: 0.0
  batteries: {type: int, initial: 0}
  cost: {type: float, initial: 2}
events:
  s400_delivered: {actor: RUS, target: TUR, label: Russia delivers S-400 components,
                   effects: {s400_delivered: true, tension: {add: 2}, batteries: {add: 1}}}
  s400_activated: {actor: TUR, label: Turkey activates, effects: {s400_active: true},
                   once: true}
  caatsa_sanctions: {actor: USA, target: TUR, effects: {sanctioned: true, cost: 7}, once: true}
  wg_accepted: {actor: TUR, effects: {working_group: {set: true}}}
  talks:
rules:
  - id: sanction_after_activation
    on: s400_activated
    then: caatsa_sanctions
    probability: 0.7
    delay: {lognormal: {median: 120, sigma: 0.6}}
    when: {sanctioned: false}
    unless: [wg_accepted]
  - id: talks_after_delivery
    on: s400_delivered
    then: talks
    delay: 14
    when: {any: [{tension: {">=": 2, "<": 10}}, {not: {working_group: true}}]}
    unless: talks
    note: talks usually follow
  - {id: c, on: talks, then: wg_accepted, delay: {choice: {values: [10, 20], weights: [3, 1]}}}
reviews:
  - id: turkey_activation
    actor: TUR
    every: 30
    decides: s400_activated
    when: {s400_delivered: true, s400_active: false}
    probability: 0.06
    modifiers:
      - {when: {working_group: true}, multiply: 0.4}
      - {when: {tension: {">=": 5}}, add: 0.02}
      - {multiply: 2}
"""


def hand_built() -> World:
    b = {n: Variable(n, "bool", False)
         for n in ("s400_delivered", "s400_active", "sanctioned", "working_group")}
    variables = {**b, "tension": Variable("tension", "float", 0.0),
                 "batteries": Variable("batteries", "int", 0),
                 "cost": Variable("cost", "float", 2.0)}
    events = {
        "s400_delivered": EventType("s400_delivered", "RUS", "TUR",
                                    "Russia delivers S-400 components",
                                    (Effect("s400_delivered", "set", True),
                                     Effect("tension", "add", 2.0),
                                     Effect("batteries", "add", 1))),
        "s400_activated": EventType("s400_activated", "TUR", None, "Turkey activates",
                                    (Effect("s400_active", "set", True),), True),
        "caatsa_sanctions": EventType("caatsa_sanctions", "USA", "TUR", "",
                                      (Effect("sanctioned", "set", True),
                                       Effect("cost", "set", 7.0)), True),
        "wg_accepted": EventType("wg_accepted", "TUR", None, "",
                                 (Effect("working_group", "set", True),)),
        "talks": EventType("talks"),
    }
    rules = (
        Rule("sanction_after_activation", "s400_activated", "caatsa_sanctions", 0.7,
             Delay("lognormal", {"median": 120, "sigma": 0.6}),
             Compare("sanctioned", "==", False), ("wg_accepted",)),
        Rule("talks_after_delivery", "s400_delivered", "talks", 1.0,
             Delay("fixed", {"value": 14}),
             AnyOf((All((Compare("tension", ">=", 2), Compare("tension", "<", 10))),
                    Not(Compare("working_group", "==", True)))),
             ("talks",), {"note": "talks usually follow"}),
        Rule("c", "talks", "wg_accepted", 1.0,
             Delay("choice", {"values": [10, 20], "weights": [3, 1]})),
    )
    reviews = (Review("turkey_activation", "TUR", 30.0, "s400_activated", 0.06,
                      All((Compare("s400_delivered", "==", True),
                           Compare("s400_active", "==", False))),
                      (Modifier(Compare("working_group", "==", True), 0.4, 0.0),
                       Modifier(Compare("tension", ">=", 5), 1.0, 0.02),
                       Modifier(None, 2.0, 0.0))),)
    actors = {"TUR": Actor("TUR", "Turkey"), "USA": Actor("USA", "US executive"),
              "RUS": Actor("RUS", "Russia")}
    return World("s400", dt.date(2015, 1, 1), actors, variables, events, rules, reviews)


def test_valid_world_equals_hand_built_objects():
    got = parse(VALID)
    want = hand_built()
    assert got.name == want.name and got.starts == want.starts
    assert got.actors == want.actors
    assert got.variables == want.variables
    assert got.events == want.events
    assert got.rules == want.rules
    assert got.reviews == want.reviews
    assert got == want
    assert list(got.events) == list(want.events)           # file order kept
    assert got.file == "w.yaml"


def test_valid_world_types_are_exact():
    w = parse(VALID)
    assert type(w.variables["cost"].initial) is float       # long form coerces int 2 to 2.0
    eff = {e.var: e for e in w.events["s400_delivered"].effects}
    assert type(eff["tension"].value) is float and type(eff["batteries"].value) is int
    assert w.rules_on["s400_activated"][0].id == "sanction_after_activation"
    assert w.cancelled_by["wg_accepted"] == ("sanction_after_activation",)


def test_load_world_from_file(tmp_path):
    p = tmp_path / "world.yaml"
    p.write_text(VALID, encoding="utf-8")
    w = load_world(p)
    assert w == hand_built()
    assert w.file == str(p)


def test_impossible_date_is_an_input_error_with_line(tmp_path):
    p = tmp_path / "world.yaml"
    p.write_text("world: t  # 2019-99-99 in a comment is ignored\nstarts: 2019-13-01\n"
                 "events: {}\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_world(p)
    (prob,) = exc.value.problems
    assert (prob.line, prob.column) == (2, 9)
    assert "2019-13-01" in prob.message and "month" in prob.message and prob.hint


def test_load_world_missing_file(tmp_path):
    with pytest.raises(InputError) as exc:
        load_world(tmp_path / "nope.yaml")
    assert "file not found" in str(exc.value)


@pytest.mark.parametrize("second", [
    "{id: b, on: sanction, then: talk, delay: 1}",                 # time advances
    "{id: b, on: sanction, then: talk, probability: 0.9}",         # the loop ends a.s.
    "{id: b, on: sanction, then: talk, when: {tension: {'<': 5}}}",  # state can end it
    "{id: b, on: sanction, then: activate}",                       # no cycle
])
def test_loops_that_can_end_are_accepted(second):
    w = parse(HEAD + "rules:\n  - {id: a, on: talk, then: sanction}\n  - " + second + "\n")
    assert [r.id for r in w.rules] == ["a", "b"]


def test_rule_key_on_survives_yaml_1_1_booleans():
    # PyYAML reads a bare `on:` key as True; the rule must still get its `on`, and
    # problems must still point at the line of `on`.
    text = HEAD + "rules:\n  - id: r\n    on: tallk\n    then: sanction\n"
    (p,) = problems(text)
    assert p.line == 11 and "unknown event 'tallk'" in p.message


def test_condition_semantics_of_a_loaded_world():
    w = parse(VALID)
    cond = w.rules[1].when
    assert cond.holds({"tension": 2.0, "working_group": True})
    assert not cond.holds({"tension": 10.0, "working_group": True})
    assert cond.holds({"tension": 10.0, "working_group": False})
    hazard = w.reviews[0].hazard
    # hand computed: 0.06 * 0.4 = 0.024; + 0.02 = 0.044; * 2 = 0.088
    vals = {"working_group": True, "tension": 5.0}
    assert hazard(vals) == pytest.approx(0.088)


def test_a_rule_whose_when_is_satisfiable_after_on_is_accepted():
    # `activate` sets active = true; a `when` asking active == true is fine,
    # and one on another variable is fine.
    text = HEAD + ("rules:\n  - {id: r, on: activate, then: talk, when: {active: true}}\n"
                   "  - {id: s, on: activate, then: talk, when: {sanctioned: false}}\n"
                   "  - {id: u, on: sanction, then: talk, when: {tension: {'>': 100}}}\n")
    w = parse(text)
    assert [r.id for r in w.rules] == ["r", "s", "u"]   # `add` effects are not judged


@pytest.mark.parametrize("spec,types,expected", [
    ({"x": True}, {"x": "bool"}, True),
    ({"all": [{"x": True}, {"x": False}]}, {"x": "bool"}, {"x"}),
    ({"x": {"!=": True}, "not": {"x": False}}, {"x": "bool"}, {"x"}),
    ({"any": [{"x": True}, {"x": False}]}, {"x": "bool"}, True),
    ({"n": {">": 2, "<": 3}}, {"n": "int"}, {"n"}),
    ({"n": {">=": 2, "<": 3}}, {"n": "int"}, True),
    ({"n": {">=": 2, "<=": 3, "!=": 2}}, {"n": "int"}, True),
    ({"n": {">=": 2, "<=": 3}, "all": [{"n": {"!=": 2}}, {"n": {"!=": 3}}]}, {"n": "int"},
     {"n"}),
    ({"t": {">": 2, "<": 3}}, {"t": "float"}, True),
    ({"t": {">=": 2, "<=": 2}}, {"t": "float"}, True),
    ({"t": {">": 2, "<=": 2}}, {"t": "float"}, {"t"}),
    ({"t": {">=": 2, "<=": 2, "!=": 2}}, {"t": "float"}, {"t"}),
    ({"t": 1, "all": [{"t": 2}]}, {"t": "float"}, {"t"}),
    ({"not": {"any": [{"t": {"<": 5}}, {"t": {">=": 5}}]}}, {"t": "float"}, {"t"}),
    ({"any": [{"all": [{"x": True}, {"x": False}]}, {"t": {">": 1, "<": 0}}]},
     {"x": "bool", "t": "float"}, {"x", "t"}),
])
def test_satisfiable_closed_form(spec, types, expected):
    from sim.world import condition
    assert satisfiable(condition(spec), types) == expected


DOC = Path(__file__).resolve().parents[1] / "docs" / "world-language.md"


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


def test_the_documented_examples_load():
    blocks = _yaml_blocks(DOC.read_text(encoding="utf-8"))
    world = parse_world(loads(blocks[0], "doc-world.yaml"))
    assert world.rules[0].delay.mean() == pytest.approx(120 * math.exp(0.6 ** 2 / 2))
    history_block = next(b for b in blocks if b.startswith("sources:"))
    h = parse_history(loads(history_block, "doc-history.yaml"), world)
    assert [(e.event, e.actor, e.target) for e in h.entries] == [("s400_delivered", "RUS", "TUR")]




WRONG = [None, "zzz", [], {}, -1, True, 1.5, [1, "a"], {"k": None}, dt.date(2000, 1, 1)]


def test_any_wrong_value_anywhere_gives_input_error_not_a_crash():
    from sim.yamlfile import Located
    doc = loads(VALID, "w.yaml")
    all_paths = list(paths(doc.data))
    assert len(all_paths) > 100
    outcomes = {"error": 0, "ok": 0}
    for path in all_paths:
        for value in WRONG:
            mutated = Located(replaced(doc.data, path, value), doc.positions, "w.yaml")
            try:
                parse_world(mutated)
                outcomes["ok"] += 1
            except InputError as exc:
                assert exc.problems and all(p.file == "w.yaml" and p.line for p in exc.problems)
                outcomes["error"] += 1
    assert outcomes["error"] > outcomes["ok"]
