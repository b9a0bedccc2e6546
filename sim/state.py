"""The state projection: the only way state changes is by folding events.

A :class:`State` starts from the world's initial values and applies each
event's effects in stream order. ``as_of(world, events, t)`` gives the
state at any time: the fold of every event with ``time <= t``.

>>> from sim.world import World, Variable, EventType, Effect
>>> import datetime as dt
>>> w = World("w", dt.date(2019, 1, 1), {}, {"n": Variable("n", "int", 0)},
...           {"tick": EventType("tick", effects=(Effect("n", "add", 1),))})
>>> from sim.events import Event
>>> evs = [Event("s", i + 1, float(i), "tick") for i in range(3)]
>>> as_of(w, evs, 1.0)["n"]
2
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sim.events import Event
from sim.world import World


class State:
    """Current values of a world's variables, changed only by :meth:`apply`."""

    __slots__ = ("world", "values", "_effects")

    def __init__(self, world: World):
        self.world = world
        self.values: dict[str, Any] = world.initial_state()
        # kind -> ((var, is_set, value), ...): the effects, precompiled for the engine's loop
        self._effects = {k: tuple((e.var, e.op == "set", e.value) for e in et.effects)
                         for k, et in world.events.items() if et.effects}

    def apply(self, kind: str) -> None:
        """Apply the effects of one event of ``kind``."""
        effects = self._effects.get(kind)
        if effects:
            values = self.values
            for var, is_set, value in effects:
                values[var] = value if is_set else values[var] + value

    def copy(self) -> State:
        """An independent State with the same values (cheap: shares the effect table)."""
        new = State.__new__(State)
        new.world = self.world
        new.values = dict(self.values)
        new._effects = self._effects
        return new

    def fold(self, events: Iterable[Event]) -> State:
        for e in events:
            self.apply(e.kind)
        return self

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __repr__(self) -> str:
        return f"State({self.values!r})"


def fold(world: World, events: Iterable[Event]) -> dict[str, Any]:
    """The values after all ``events``."""
    return State(world).fold(events).values


def as_of(world: World, events: Iterable[Event], t: float) -> dict[str, Any]:
    """The values after every event with ``time <= t`` (events in stream order)."""
    return State(world).fold(e for e in events if e.time <= t).values


def trajectory(world: World, events: Iterable[Event], var: str) -> list[tuple[float, Any]]:
    """(time, value) after each event that changes ``var``, starting at (0, initial)."""
    s = State(world)
    out = [(0.0, s.values[var])]
    for e in events:
        before = s.values[var]
        s.apply(e.kind)
        if s.values[var] != before:
            out.append((e.time, s.values[var]))
    return out
