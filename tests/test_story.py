"""Tests of sim.story: exact text of a story and of causal chains on a small
hand-written log (dates worked out by hand from starts = 2019-01-01)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import attrs
import pytest

from sim.events import HISTORY, INJECTED, SIMULATED, Event
from sim.story import condition_text, hazard_factors, story, why
from sim.world import Actor, EventType, Review, Rule, World

WORLD = World(
    "toy", dt.date(2019, 1, 1),
    {"TUR": Actor("TUR", "Turkey"), "USA": Actor("USA", "United States"),
     "RUS": Actor("RUS", "Russia")},
    {},
    {"delivered": EventType("delivered", "RUS", "TUR", "Russia delivers S-400 components"),
     "activated": EventType("activated", "TUR", None, "Turkey activates the S-400"),
     "sanctions": EventType("sanctions", "USA", "TUR", "US imposes CAATSA sanctions"),
     "talks": EventType("talks", "TUR", "USA", "Turkey proposes a working group"),
     "offer": EventType("offer", "USA", "TUR", "US offers Patriots"),
     "returned": EventType("returned", "TUR", "RUS", "Turkey returns the S-400")},
    (Rule("talks_after_offer", "offer", "talks", 0.5),
     Rule("sanction_after_activation", "activated", "sanctions", 0.7)),
    (Review("turkey_activation", "TUR", 30, "activated", 0.06),),
)

S = "baseline/0"
# day 10 = 2019-01-11, 40 = 02-10, 100 = 04-11, 120 = 05-01, 150 = 05-31, 200 = 07-20, 300 = 10-28
EVENTS = [
    Event(S, 1, 10.0, "delivered", "RUS", "TUR", origin=HISTORY, source="S1"),
    Event(S, 2, 40.0, "talks", "TUR", "USA", origin=HISTORY, source="S2"),
    Event(S, 3, 40.0, "delivered", "RUS", "TUR", origin=HISTORY, source="S9"),
    Event(S, 4, 120.0, "offer", "USA", "TUR", origin=INJECTED),
    Event(S, 5, 150.0, "activated", "TUR", data={"p": 0.06}, cause=3,
          rule="turkey_activation", origin=SIMULATED),
    Event(S, 6, 200.0, "talks", "TUR", "USA", cause=4, rule="talks_after_offer"),
    Event(S, 7, 300.0, "sanctions", "USA", "TUR", cause=5, rule="sanction_after_activation"),
]
SOURCES = {
    "S1": SimpleNamespace(id="S1", outlet="Example Times", title="Batteries arrive",
                          published=dt.date(2019, 1, 12)),
    "S2": SimpleNamespace(id="S2", outlet="Sample Wire", title="Talks offered",
                          published="2019-02-11"),
}
BRANCH = SimpleNamespace(name="baseline", fork=100.0,
                         history_doc=SimpleNamespace(sources=SOURCES))

STORY = """\
Story of baseline/0 (world toy; branch baseline; fork 2019-04-11; 7 events)
2019-01-11  Russia delivers S-400 components [Russia -> Turkey] (history; Example Times, 'Batteries arrive', 2019-01-12)
2019-02-10  Turkey proposes a working group [Turkey -> United States] (history; Sample Wire, 'Talks offered', 2019-02-11)
2019-02-10  Russia delivers S-400 components [Russia -> Turkey] (history; source S9)
------------ fork 2019-04-11: the model takes over ------------
2019-05-01  US offers Patriots [United States -> Turkey] (injected by the scenario)
2019-05-31  Turkey activates the S-400 [Turkey] (review turkey_activation by TUR: fired by chance at a tick, hazard 0.06 (the base probability, no modifier in force))
2019-07-20  Turkey proposes a working group [Turkey -> United States] (rule talks_after_offer: p=0.5 after US offers Patriots on 2019-05-01)
2019-10-28  US imposes CAATSA sanctions [United States -> Turkey] (rule sanction_after_activation: p=0.7 after Turkey activates the S-400 on 2019-05-31)"""


def test_story_exact_text():
    assert story(EVENTS, WORLD, SOURCES, BRANCH) == STORY


def test_story_takes_sources_from_the_branch_and_sorts_by_date():
    shuffled = [EVENTS[i] for i in (6, 0, 4, 2, 1, 5, 3)]
    assert story(shuffled, WORLD, branch=BRANCH) == STORY
    assert story(EVENTS, WORLD, list(SOURCES.values()), BRANCH) == STORY


def test_story_without_fork_marks_the_first_model_event():
    lines = story(EVENTS[:2] + EVENTS[4:5], WORLD).splitlines()
    assert lines[0] == "Story of baseline/0 (world toy; 3 events)"
    assert lines[1].endswith("(history; source S1)")
    assert lines[3] == "------------ the model takes over (fork date not given) ------------"
    assert lines[4] == ("2019-05-31  Turkey activates the S-400 [Turkey] (review "
                        "turkey_activation by TUR: fired by chance at a tick, hazard 0.06 "
                        "(the base probability, no modifier in force))")


def test_story_source_with_missing_fields():
    src = {"S1": SimpleNamespace(id="S1", outlet=None, title="Batteries arrive", published=None)}
    line = story(EVENTS[:1], WORLD, src).splitlines()[1]
    assert line.endswith("(history; unknown outlet, 'Batteries arrive')")


def test_story_with_a_branch_name_only():
    lines = story(EVENTS[:2], WORLD, SOURCES, "baseline").splitlines()
    assert lines[0] == "Story of baseline/0 (world toy; branch baseline; 2 events)"


def test_story_fork_after_every_event_puts_the_separator_last():
    lines = story(EVENTS[:3], WORLD, fork=100.0).splitlines()
    assert lines[-1] == "------------ fork 2019-04-11: the model takes over ------------"


def test_why_follows_rule_causes_and_stops_at_a_review():
    # the review's recorded cause (event 3) is not followed: a review has no trigger
    assert why(EVENTS, WORLD, "sanctions", SOURCES) == """\
Why: US imposes CAATSA sanctions on 2019-10-28 (baseline/0, event 7)
  2019-10-28  US imposes CAATSA sanctions [United States -> Turkey]: rule sanction_after_activation: p=0.7
  <- 2019-05-31  Turkey activates the S-400 [Turkey]: review turkey_activation by TUR fired by chance at a tick
         ticks every 30 days after the fork (no 'when')
         base probability 0.06
         = hazard 0.06 at this tick
The chain ends at a review: a standing decision with no single triggering event; the conditions \
above set its chance (1 link)."""


def test_why_follows_rule_causes_back_to_history():
    assert why(EVENTS, WORLD, 6).splitlines()[-1] == (
        "The chain starts with an event injected by the scenario (1 link).")
    evs = [EVENTS[2], Event(S, 4, 60.0, "offer", "USA", "TUR", cause=3, rule="x")]
    assert why(evs, WORLD, "offer", SOURCES) == """\
Why: US offers Patriots on 2019-03-02 (baseline/0, event 4)
  2019-03-02  US offers Patriots [United States -> Turkey]: simulated by x
  <- 2019-02-10  Russia delivers S-400 components [Russia -> Turkey]: history; source S9
The chain goes back to history (1 link)."""


def test_why_by_version_and_injected_start():
    expected = """\
Why: Turkey proposes a working group on 2019-07-20 (baseline/0, event 6)
  2019-07-20  Turkey proposes a working group [Turkey -> United States]: rule talks_after_offer: p=0.5
  <- 2019-05-01  US offers Patriots [United States -> Turkey]: injected by the scenario
The chain starts with an event injected by the scenario (1 link)."""
    assert why(EVENTS, WORLD, 6) == expected
    assert why(EVENTS, WORLD, "6") == expected


def test_why_kind_with_several_occurrences_explains_the_first():
    assert why(EVENTS, WORLD, "talks", SOURCES) == """\
Why: Turkey proposes a working group on 2019-02-10 (baseline/0, event 2) (the first of 2 \
occurrences; give a version number for another: 2, 6)
  2019-02-10  Turkey proposes a working group [Turkey -> United States]: history; Sample Wire, \
'Talks offered', 2019-02-11
The chain goes back to history (0 links)."""


def test_why_messages_when_there_is_nothing_to_explain():
    assert why(EVENTS, WORLD, "sanctoins") == (
        "'sanctoins' is not an event of world toy (did you mean 'sanctions'?).")
    assert why(EVENTS, WORLD, "returned") == (
        "Turkey returns the S-400 ('returned') never occurred in baseline/0.")
    assert why(EVENTS, WORLD, 99) == "baseline/0 has no event with version 99 (it has versions 1..7)."


def test_why_simulated_start_and_broken_chain():
    orphan = [Event(S, 1, 150.0, "activated", "TUR", rule="not_in_this_world")]
    assert why(orphan, WORLD, 1).splitlines()[-1] == (
        "The chain starts with a simulated event that records no cause (0 links).")
    broken = [Event(S, 2, 150.0, "sanctions", "USA", "TUR", cause=1,
                    rule="sanction_after_activation")]
    assert why(broken, WORLD, "sanctions").splitlines()[-1] == (
        "The chain breaks: cause 1 is not in this stream (0 links).")


def test_story_names_the_replicate_not_its_history_prefix():
    import datetime as dt

    from sim.events import Event
    from sim.story import story
    from sim.world import EventType, World

    w = World("w", dt.date(2020, 1, 1), {}, {}, {"a": EventType("a", label="A"),
                                                 "b": EventType("b", label="B")})
    evs = [Event("base/history", 1, 1.0, "a", origin="history"),
           Event("base/7", 2, 5.0, "b", origin="simulated")]
    assert story(evs, w).splitlines()[0].startswith("Story of base/7 ")


def test_why_names_the_replicate_when_the_event_never_occurred():
    import datetime as dt

    from sim.events import Event
    from sim.story import why
    from sim.world import EventType, World

    w = World("w", dt.date(2020, 1, 1), {}, {}, {"a": EventType("a", label="A"),
                                                 "b": EventType("b", label="B")})
    evs = [Event("base/history", 1, 1.0, "a", origin="history"),
           Event("base/7", 2, 5.0, "a", origin="simulated")]
    assert "never occurred in base/7" in why(evs, w, "b")


# ---------------------------------------------------------------- a review with modifiers
# Hand computation: base 0.06; sanctioned (since event 2) x1.5 -> 0.09 (raises);
# working_group (since event 3, injected later) x0.3 -> 0.027 (lowers); tension >= 60 is
# false (tension 10), so "+0.02" is not in force. The engine records cause = 3 for the review's
# event (the latest change of a variable it reads), which LOWERED the hazard: it must never be
# printed as a cause.
from sim.world import Effect, Modifier, Variable, condition  # noqa: E402

RWORLD = World(
    "toy2", dt.date(2019, 1, 1),
    {"TUR": Actor("TUR", "Turkey"), "USA": Actor("USA", "United States")},
    {"delivered": Variable("delivered", "bool", False),
     "sanctioned": Variable("sanctioned", "bool", False),
     "working_group": Variable("working_group", "bool", False),
     "tension": Variable("tension", "int", 10)},
    {"delivered": EventType("delivered", "TUR", None, "S-400 delivered",
                            (Effect("delivered", "set", True),)),
     "sanctions": EventType("sanctions", "USA", "TUR", "US imposes sanctions",
                            (Effect("sanctioned", "set", True),)),
     "wg": EventType("wg", "TUR", "USA", "Working group agreed",
                     (Effect("working_group", "set", True),)),
     "activated": EventType("activated", "TUR", None, "Turkey activates the S-400"),
     "protest": EventType("protest", "USA", "TUR", "US protests")},
    (Rule("protest_after_activation", "activated", "protest", 0.9),),
    (Review("activation", "TUR", 30, "activated", 0.06, condition({"delivered": True}),
            (Modifier(condition({"sanctioned": True}), 1.5),
             Modifier(condition({"working_group": True}), 0.3),
             Modifier(condition({"tension": {">=": 60}}), 1.0, 0.02))),),
)
R = "b/3"
REVENTS = [
    Event(R, 1, 10.0, "delivered", "TUR", origin=HISTORY, source="S1"),
    Event(R, 2, 40.0, "sanctions", "USA", "TUR", origin=HISTORY, source="S2"),
    Event(R, 3, 120.0, "wg", "TUR", "USA", origin=INJECTED),
    Event(R, 4, 150.0, "activated", "TUR", data={"p": 0.027}, cause=3, rule="activation"),
    Event(R, 5, 200.0, "protest", "USA", "TUR", cause=4, rule="protest_after_activation"),
]


def test_why_review_event_shows_hazard_and_modifiers_not_a_lowering_cause():
    text = why(REVENTS, RWORLD, "protest", SOURCES)
    assert text == """\
Why: US protests on 2019-07-20 (b/3, event 5)
  2019-07-20  US protests [United States -> Turkey]: rule protest_after_activation: p=0.9
  <- 2019-05-31  Turkey activates the S-400 [Turkey]: review activation by TUR fired by chance at a tick
         ticks every 30 days while delivered, since 2019-01-11 (S-400 delivered, event 1)
         base probability 0.06
         x1.5 (raises) because sanctioned since 2019-02-10 (US imposes sanctions, event 2)
         x0.3 (lowers) because working_group since 2019-05-01 (Working group agreed, event 3)
         = hazard 0.027 at this tick
         not in force: +0.02 if tension >= 60
The chain ends at a review: a standing decision with no single triggering event; the conditions \
above set its chance (1 link)."""
    # the hazard-lowering change is a factor, never a link of the chain
    assert not any(line.startswith("  <-") and "Working group" in line
                   for line in text.splitlines())


def test_story_review_event_uses_the_same_wording():
    lines = story(REVENTS, RWORLD, SOURCES, fork=100.0).splitlines()
    assert lines[5] == (
        "2019-05-31  Turkey activates the S-400 [Turkey] (review activation by TUR: fired by "
        "chance at a tick, hazard 0.027 (base 0.06; x1.5 (raises) because sanctioned since "
        "2019-02-10; x0.3 (lowers) because working_group since 2019-05-01))")
    assert lines[6] == ("2019-07-20  US protests [United States -> Turkey] (rule "
                        "protest_after_activation: p=0.9 after Turkey activates the S-400 on "
                        "2019-05-31)")
    assert "state changed by" not in "\n".join(lines)


def test_review_since_is_the_last_time_the_condition_became_true_and_start_if_initial():
    w = attrs.evolve(RWORLD, variables={**RWORLD.variables,
                                        "tension": Variable("tension", "int", 70)})
    unwg = EventType("unwg", "TUR", None, "WG ends", (Effect("working_group", "set", False),))
    w = attrs.evolve(w, events={**w.events, "unwg": unwg})
    evs = [REVENTS[0], Event(R, 2, 20.0, "wg"), Event(R, 3, 30.0, "unwg"),
           Event(R, 4, 60.0, "wg"),
           Event(R, 5, 90.0, "activated", "TUR", data={"p": 0.038}, rule="activation")]
    hz = hazard_factors(evs, w)[5]
    wg, tension = hz.factors[1], hz.factors[2]
    assert wg.holds and wg.since.version == 4          # the second time, not the first
    assert tension.holds and tension.since is None     # held in the initial state
    assert not hz.factors[0].holds
    assert hz.computed == pytest.approx(0.06 * 0.3 + 0.02)
    line = why(evs, w, "activated").splitlines()
    assert "      +0.02 (raises) because tension >= 60 since the start" in line
    assert "      not in force: x1.5 if sanctioned" in line


def test_review_hazard_clamped_and_world_mismatch_are_said():
    w = attrs.evolve(RWORLD, reviews=(attrs.evolve(RWORLD.reviews[0], probability=0.9),))
    evs = REVENTS[:2] + [Event(R, 3, 150.0, "activated", "TUR", data={"p": 0.5},
                               rule="activation")]
    text = why(evs, w, "activated")
    assert "      = hazard 1 at this tick (clamped from 1.35)" in text
    assert "(the engine recorded 0.5: the world given here is not the one this replicate " \
           "ran with)" in text
    assert "hazard 0.5 as recorded, but the world given here has 1" in story(evs, w)


def test_condition_text_forms():
    assert condition_text(None) == "always"
    assert condition_text(condition({"any": [{"a": True}, {"b": {"<": 2}}]})) == "a or b < 2"
    assert condition_text(condition({"not": {"a": True}})) == "not a"
    assert condition_text(condition({"not": {"x": 3}})) == "not (x = 3)"
    assert condition_text(condition({"all": [{"any": [{"a": True}, {"b": False}]},
                                             {"c": {"!=": "y"}}]})) == "(a or not b) and c != 'y'"


def test_docs_show_the_text_why_prints():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "world-language.md").read_text()
    assert why(REVENTS, RWORLD, "protest", SOURCES) + "\n" in doc
    line = story(REVENTS, RWORLD, SOURCES, fork=100.0).splitlines()[5]
    one_line = ("hazard 0.027 (base 0.06; x1.5 (raises) because sanctioned since 2019-02-10; "
                "x0.3 (lowers) because working_group since 2019-05-01)")
    assert one_line in line and one_line in " ".join(doc.split())


def test_elsewhere_text_lists_replicates_or_other_branches():
    from sim.story import elsewhere_text

    many = list(range(0, 24, 2))
    assert elsewhere_text("X", "b", many, 30) == (
        "It occurred in 12 of 30 replicates of branch b: 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, "
        "... (2 more) (e.g. --replicate 0).")
    assert elsewhere_text("X", "b", [], 30, {"c": 0, "d": 3, "e": 1}) == (
        "X never occurred in any of the 30 replicates of branch b; it did in branch "
        "d (3 replicates), e (1 replicate) (use --branch d).")
    assert elsewhere_text("X", "b", [], 30, {"c": 0}) == (
        "X never occurred in any of the 30 replicates of branch b.")
    assert why(REVENTS, RWORLD, "activated").startswith("Why:")
    assert why(REVENTS[:3], RWORLD, "protest", elsewhere="It occurred in 1 of 5 ...") == (
        "US protests ('protest') never occurred in b/3.\nIt occurred in 1 of 5 ...")
