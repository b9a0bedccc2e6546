"""Tests of sim.story: exact text of a story and of causal chains on a small
hand-written log (dates worked out by hand from starts = 2019-01-01)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sim.events import HISTORY, INJECTED, SIMULATED, Event
from sim.story import story, why
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
    Event(S, 5, 150.0, "activated", "TUR", data={"p": 0.024}, cause=3,
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
2019-05-31  Turkey activates the S-400 [Turkey] (review turkey_activation by TUR: p=0.024 this period; state changed by Russia delivers S-400 components on 2019-02-10)
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
    assert lines[4].startswith("2019-05-31  Turkey activates the S-400 [Turkey] (review "
                               "turkey_activation by TUR: p=0.024 this period)")


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


def test_why_follows_causes_back_to_history():
    assert why(EVENTS, WORLD, "sanctions", SOURCES) == """\
Why: US imposes CAATSA sanctions on 2019-10-28 (baseline/0, event 7)
  2019-10-28  US imposes CAATSA sanctions [United States -> Turkey]: rule sanction_after_activation: p=0.7
  <- 2019-05-31  Turkey activates the S-400 [Turkey]: review turkey_activation by TUR: p=0.024 this period
  <- 2019-02-10  Russia delivers S-400 components [Russia -> Turkey]: history; source S9
The chain goes back to history (2 links)."""


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
    orphan = [Event(S, 1, 150.0, "activated", "TUR", rule="turkey_activation", data={"p": 0.06})]
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
