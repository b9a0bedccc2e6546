"""The state projection: the only way state changes is by folding events.

A :class:`State` starts from the world's initial values and applies each
event's effects in stream order. ``as_of(world, events, t)`` gives the
state at any time: the fold of every event with ``time <= t``.

Bounded variables are clamped after each effect. A decaying variable holds an
*anchor* (its value just after the last effect on it, and that time); its
value at time t is computed exactly from the anchor
(``rest + (anchor - rest) * 0.5 ** ((t - t_anchor) / half_life)``), so it
does not depend on how often it is read. :meth:`State.advance` brings the
decaying variables (and, in a world whose conditions read the calendar, the
variable ``date``) to time t; folds and :func:`as_of` call it before each
event and at the end.

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
from sim.world import DATE_VAR, World


class State:
    """Current values of a world's variables, changed only by :meth:`apply`.

    ``dynamic`` is True when values also change with time (decay, or the
    calendar variable ``date``): then call :meth:`advance` before reading or
    applying at a new time.
    """

    __slots__ = ("world", "values", "_effects", "dynamic", "now", "_anchor", "_decay",
                 "_clock", "_plain", "_decay_params")

    def __init__(self, world: World):
        self.world = world
        self.values: dict[str, Any] = world.initial_state()
        # kind -> ((var, is_set, value), ...): the effects, precompiled for the engine's loop
        self._effects = {k: tuple((e.var, e.op == "set", e.value) for e in et.effects)
                         for k, et in world.events.items() if et.effects}
        self._decay = tuple(v for v in world.variables.values() if v.half_life is not None)
        self._decay_params = tuple((v.name, v.half_life, v.rest) for v in self._decay)
        self._anchor = {v.name: (v.initial, 0.0) for v in self._decay}
        self._clock = world.uses_date
        if self._clock:
            self.values[DATE_VAR] = 0.0
        self.dynamic = bool(self._decay) or self._clock
        self._plain = not self._decay and not any(
            v.min is not None or v.max is not None for v in world.variables.values())
        self.now = 0.0

    def apply(self, kind: str) -> None:
        """Apply the effects of one event of ``kind`` (at time ``now``: see :meth:`advance`)."""
        if self._plain:
            self._apply_plain(kind)
        else:
            self._apply_full(kind)

    def applier(self):
        """The bound method that applies effects in this world (for the engine's loop)."""
        return self._apply_plain if self._plain else self._apply_full

    def _apply_plain(self, kind: str) -> None:
        effects = self._effects.get(kind)
        if effects:
            values = self.values
            for var, is_set, value in effects:
                values[var] = value if is_set else values[var] + value

    def _apply_full(self, kind: str) -> None:
        """Effects with bounds and decay anchors."""
        effects = self._effects.get(kind)
        if effects:
            values = self.values
            variables = self.world.variables
            for var, is_set, value in effects:
                v = variables[var]
                values[var] = x = v.clamp(value if is_set else values[var] + value)
                if v.half_life is not None:
                    self._anchor[var] = (x, self.now)

    def advance(self, t: float) -> None:
        """Bring time-dependent values to time ``t`` (exact; no-op for a static world).

        The same arithmetic as :meth:`sim.world.Variable.decayed`, inline (the engine
        calls this at every occurrence and tick of a world that has decay)."""
        if t == self.now:
            return
        self.now = t
        if self._clock:
            self.values[DATE_VAR] = t
        values = self.values
        anchor = self._anchor
        for name, half_life, rest in self._decay_params:
            a, t0 = anchor[name]
            values[name] = rest + (a - rest) * 0.5 ** ((t - t0) / half_life)

    def copy(self) -> State:
        """An independent State with the same values (cheap: shares the effect table)."""
        new = State.__new__(State)
        new.world = self.world
        new.values = dict(self.values)
        new._effects = self._effects
        new._decay = self._decay
        new._decay_params = self._decay_params
        new._anchor = dict(self._anchor) if self._decay else self._anchor
        new._clock = self._clock
        new.dynamic = self.dynamic
        new._plain = self._plain
        new.now = self.now
        return new

    def fold(self, events: Iterable[Event]) -> State:
        if self.dynamic:
            for e in events:
                self.advance(e.time)
                self.apply(e.kind)
            return self
        for e in events:
            self.apply(e.kind)
        return self

    def public(self) -> dict[str, Any]:
        """The variables' values (without the calendar variable ``date``)."""
        if self._clock:
            return {k: v for k, v in self.values.items() if k != DATE_VAR}
        return self.values

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __repr__(self) -> str:
        return f"State({self.values!r})"


def fold(world: World, events: Iterable[Event]) -> dict[str, Any]:
    """The values after all ``events`` (decaying ones as of the last event)."""
    return State(world).fold(events).public()


def as_of(world: World, events: Iterable[Event], t: float) -> dict[str, Any]:
    """The values after every event with ``time <= t`` (events in stream order), decaying
    variables read at ``t`` (an infinite ``t`` reads them as of the last event)."""
    s = State(world).fold(e for e in events if e.time <= t)
    if s.dynamic and t != float("inf"):
        s.advance(t)
    return s.public()


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
