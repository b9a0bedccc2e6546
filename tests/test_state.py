"""Tests of sim.state: the projection folds events with the world's effects.

Values are checked against hand-computed ones; a hypothesis property checks
that folding a stream in two parts equals folding it whole.
"""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.events import Event
from sim.state import State, as_of, fold, trajectory
from sim.world import Actor, Effect, EventType, Variable, World


def world() -> World:
    variables = {"delivered": Variable("delivered", "bool", False),
                 "tension": Variable("tension", "float", 1.5),
                 "batteries": Variable("batteries", "int", 0)}
    events = {
        "deliver": EventType("deliver", "RUS", "TUR", "delivery",
                             (Effect("delivered", "set", True), Effect("batteries", "add", 1),
                              Effect("tension", "add", 2.0))),
        "talks": EventType("talks", "USA", None, "talks", (Effect("tension", "add", -1.0),)),
        "reset": EventType("reset", "USA", None, "reset",
                           (Effect("tension", "set", 0.0), Effect("delivered", "set", False))),
        "note": EventType("note", "TUR"),
    }
    return World("w", dt.date(2019, 1, 1), {"RUS": Actor("RUS", "Russia")}, variables, events)


def stream(*pairs: tuple[float, str]) -> list[Event]:
    return [Event("s", i + 1, float(t), k) for i, (t, k) in enumerate(pairs)]


EVENTS = stream((10, "deliver"), (20, "talks"), (20, "deliver"), (35, "note"), (40, "reset"),
                (50, "talks"))


def test_fold_by_hand():
    # tension 1.5 +2 -1 +2 = 4.5, then set 0, then -1
    assert fold(world(), EVENTS[:4]) == {"delivered": True, "tension": 4.5, "batteries": 2}
    assert fold(world(), EVENTS) == {"delivered": False, "tension": -1.0, "batteries": 2}
    assert fold(world(), []) == {"delivered": False, "tension": 1.5, "batteries": 0}


def test_as_of_includes_events_at_the_date():
    w = world()
    assert as_of(w, EVENTS, 9.9) == {"delivered": False, "tension": 1.5, "batteries": 0}
    assert as_of(w, EVENTS, 10) == {"delivered": True, "tension": 3.5, "batteries": 1}
    assert as_of(w, EVENTS, 19.5)["tension"] == 3.5
    assert as_of(w, EVENTS, 20) == {"delivered": True, "tension": 4.5, "batteries": 2}
    assert as_of(w, EVENTS, 45) == {"delivered": False, "tension": 0.0, "batteries": 2}
    assert as_of(w, EVENTS, 1e9) == fold(w, EVENTS)


def test_trajectory_lists_only_changes():
    w = world()
    assert trajectory(w, EVENTS, "tension") == [
        (0.0, 1.5), (10.0, 3.5), (20.0, 2.5), (20.0, 4.5), (40.0, 0.0), (50.0, -1.0)]
    # 'note' changes nothing, and 'reset' flips delivered back
    assert trajectory(w, EVENTS, "delivered") == [(0.0, False), (10.0, True), (40.0, False)]
    assert trajectory(w, EVENTS, "batteries") == [(0.0, 0), (10.0, 1), (20.0, 2)]


def test_unknown_kinds_change_nothing_and_copy_is_independent():
    w = world()
    s = State(w)
    s.apply("not_in_world")
    assert s.values == w.initial_state()
    s.apply("deliver")
    c = s.copy()
    c.apply("talks")
    assert s["tension"] == 3.5 and c["tension"] == 2.5
    assert c.world is w and s.values is not c.values


def test_state_matches_effect_apply():
    # the precompiled effect table does what Effect.apply does
    w = world()
    s = State(w)
    ref = w.initial_state()
    for e in EVENTS:
        s.apply(e.kind)
        for eff in w.events[e.kind].effects:
            eff.apply(ref)
        assert s.values == ref


kinds = st.sampled_from(["deliver", "talks", "reset", "note"])
steps = st.lists(st.tuples(st.integers(0, 5), kinds), max_size=40)


@settings(max_examples=200, deadline=None)
@given(steps=steps, cut=st.integers(-1, 120))
def test_folding_in_two_parts_equals_folding_whole(steps, cut):
    w = world()
    t = 0
    pairs = []
    for gap, k in steps:
        t += gap
        pairs.append((t, k))
    events = stream(*pairs)
    first = [e for e in events if e.time <= cut]
    rest = [e for e in events if e.time > cut]
    part = State(w)
    part.fold(first)
    assert part.values == as_of(w, events, cut)
    assert part.fold(rest).values == fold(w, events)
