"""The engine: one replicate of a world, run by SimPy from its history and fork.

:class:`Engine` owns the *engine semantics* of DESIGN.md. Build it once per
branch (it precomputes indexes and the deterministic pre-fork prefix), then
call :meth:`Engine.run` once per replicate with that replicate's
``random.Random``. ``engine.prefix`` (stream ``"prefix"``, versions 1..k)
followed by ``engine.run(rng, stream)`` (versions k+1..) is exactly what one
uninterrupted run from the world's ``starts`` would record.

Engine decisions (resolving what DESIGN.md leaves open; docs/world-language.md
carries them for users):

1. Time is days since ``starts``. The prefix is every history occurrence with
   time < fork and every injected occurrence with time < fork, in time order
   (history before injections at the same time, otherwise input order).
   History at or after the fork is ignored; injections after the horizon too.
2. Scheduling order, which breaks ties at equal times (SimPy's queue is FIFO
   among equal times): first all external occurrences (history and injected,
   in the order of 1.), then each review's first tick in file order, then
   rule consequences in the order they were scheduled. A review evaluates a
   tick and *then* schedules its next one.
3. Draws, in this order: for each rule ``on`` the event, in file order, whose
   ``when`` holds: one ``rng.random()`` against its probability (no draw when
   the probability is 1), then the delay's own draws (none for a fixed delay).
   A rule with probability 0, or whose ``then`` is suppressed, or whose
   ``then`` is a ``once`` event that has already occurred, is skipped without
   drawing. A consequence due after the horizon (or, before the fork, due
   before the fork) is dropped after its draws.
4. Review ticks: fork + every, then each tick schedules the next ``every``
   days later while <= horizon (times add up as in any SimPy timeout; exact
   for whole days). A tick whose ``when`` holds draws one ``rng.random()``
   against the hazard (no draw when the hazard is 0 or 1). A review whose
   ``decides`` is suppressed never ticks; one whose ``decides`` is a ``once``
   event that has occurred stops ticking.
5. ``once``: the event never occurs twice, whatever its origin: a second
   history or injected occurrence of it is skipped (no record), a pending
   consequence of it is dropped when due.
6. Suppressed kinds never occur, history included, and never cause draws.
7. Records: a rule's event has cause = version of the event that triggered
   the rule, rule = rule id, data = the rule's ``data``; a review's event has
   rule = review id, data = {"p": hazard}, cause = version of the latest event
   that *changed the value* of a variable the review reads (``when`` and
   modifiers), or None. actor/target are the event type's (a review's event
   falls back to the review's actor); history and injected occurrences keep
   their own actor/target when given.
8. ``unless`` cancels every pending consequence of the rule, whether it was
   scheduled before or after the fork. A cancelled or dropped consequence
   leaves no record.
"""
from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from typing import Any

import simpy

from sim.errors import InputError, Problem, did_you_mean
from sim.events import HISTORY, INJECTED, Event, Occurrence, frozen_data
from sim.state import State
from sim.world import World

PREFIX_STREAM = "prefix"

_Timeout = simpy.Timeout


class _Rule:
    """A rule compiled for the engine's inner loop."""

    __slots__ = ("id", "then", "p", "fixed", "draw", "when", "recheck", "cancellable",
                 "data", "actor", "target")

    def __init__(self, rule: Any, world: World):
        self.id = rule.id
        self.then = rule.then
        self.p = float(rule.probability)
        d = rule.delay
        self.fixed = float(d.params["value"]) if d.kind == "fixed" else None
        self.draw = d.draw
        self.when = rule.when.holds if rule.when is not None else None
        self.recheck = self.when
        self.cancellable = bool(rule.unless)
        self.data = frozen_data(rule.data)
        et = world.events[rule.then]
        self.actor = et.actor
        self.target = et.target


class _Pending:
    """A consequence waiting in SimPy's queue."""

    __slots__ = ("rule", "cause", "dead")

    def __init__(self, rule: _Rule, cause: int):
        self.rule = rule
        self.cause = cause
        self.dead = False


class _Review:
    __slots__ = ("id", "every", "decides", "when", "hazard", "reads", "actor", "target",
                 "once")

    def __init__(self, review: Any, world: World):
        self.id = review.id
        self.every = float(review.every)
        self.decides = review.decides
        self.when = review.when.holds if review.when is not None else None
        self.hazard = review.hazard
        reads: set[str] = set()
        if review.when is not None:
            reads |= review.when.variables()
        for m in review.modifiers:
            if m.when is not None:
                reads |= m.when.variables()
        self.reads = tuple(sorted(reads))
        et = world.events[review.decides]
        self.actor = et.actor if et.actor is not None else review.actor
        self.target = et.target
        self.once = et.once


class Engine:
    """Runs replicates of one branch: a world, its history, fork, horizon and changes.

    ``history`` occurrences at or after ``fork`` are ignored; ``inject``
    occurrences happen at their time; kinds in ``suppress`` never happen.
    """

    def __init__(self, world: World, history: Sequence[Occurrence], fork: float,
                 horizon: float, inject: Sequence[Occurrence] = (),
                 suppress: Collection[str] = ()):
        self.world = world
        self.fork = fork = float(fork)
        self.horizon = horizon = float(horizon)
        _check(world, history, inject, suppress, fork, horizon)
        self.suppress = suppressed = frozenset(suppress)
        events = world.events

        # ---- indexes
        self._once = frozenset(k for k, et in events.items() if et.once)
        rules_on: dict[str, tuple[_Rule, ...]] = {}
        for kind, rules in world.rules_on.items():
            keep = tuple(_Rule(r, world) for r in rules
                         if r.then not in suppressed and r.probability > 0.0)
            if keep:
                rules_on[kind] = keep
        self._rules_on = rules_on
        self._cancels = {k: v for k, v in world.cancelled_by.items() if k not in suppressed}
        self._reviews = tuple(_Review(rv, world) for rv in world.reviews
                              if rv.decides not in suppressed)
        tracked = {v for rv in self._reviews for v in rv.reads}
        self._tracks = {k: tuple(sorted({e.var for e in et.effects} & tracked))
                        for k, et in events.items()}
        self._tracks = {k: v for k, v in self._tracks.items() if v}

        # ---- external occurrences, in scheduling order (decision 1)
        ext = [o for o in history if o.time < fork] + list(inject)
        ext = [o for o in ext if o.time <= horizon and o.kind not in suppressed]
        ext.sort(key=lambda o: o.time)           # stable: history first at equal times
        pre = [o for o in ext if o.time < fork]
        self._post = tuple(o for o in ext if o.time >= fork)

        # ---- the deterministic prefix, and what the rules saw before the fork
        state = State(world)
        values = state.values
        occurred: set[str] = set()
        last: dict[str, int] = {}
        prefix: list[Event] = []
        steps: list[tuple[float, int, tuple[_Rule, ...], tuple[str, ...]]] = []
        for o in pre:
            if o.kind in occurred:
                continue
            version = len(prefix) + 1
            et = events[o.kind]
            prefix.append(Event(PREFIX_STREAM, version, float(o.time), o.kind,
                                o.actor if o.actor is not None else et.actor,
                                o.target if o.target is not None else et.target,
                                frozen_data(o.data), None, None, o.origin, o.source))
            self._occur_state(state, o.kind, version, occurred, last)
            live = tuple(r for r in rules_on.get(o.kind, ())
                         if r.then not in occurred and (r.when is None or r.when(values)))
            cancels = self._cancels.get(o.kind, ())
            if live or cancels:
                steps.append((float(o.time), version, live, cancels))
        self.prefix: list[Event] = prefix
        self._steps = tuple(steps)
        self._fork_state = state
        self._fork_occurred = frozenset(occurred)
        self._fork_last = last

    def _occur_state(self, state: State, kind: str, version: int, occurred: set[str],
                     last: dict[str, int]) -> None:
        """Apply one occurrence to the pre-fork bookkeeping."""
        if kind in self._once:
            occurred.add(kind)
        tracks = self._tracks.get(kind)
        if tracks:
            before = [state.values[v] for v in tracks]
            state.apply(kind)
            for v, b in zip(tracks, before):
                if state.values[v] != b:
                    last[v] = version
        else:
            state.apply(kind)

    @property
    def state_at_fork(self) -> dict[str, Any]:
        """The variables' values once the prefix has occurred (a copy)."""
        return dict(self._fork_state.values)

    def run(self, rng: random.Random, stream: str) -> list[Event]:
        """One replicate: the events after the prefix (versions k+1.., in ``stream``)."""
        fork = self.fork
        horizon = self.horizon
        once = self._once
        rules_on = self._rules_on
        cancels_by = self._cancels
        tracks_by = self._tracks
        world_events = self.world.events
        rand = rng.random
        state = self._fork_state.copy()
        values = state.values
        apply = state.apply
        occurred = set(self._fork_occurred)
        last = dict(self._fork_last)
        pending: dict[str, list[_Pending]] = {}
        out: list[Event] = []
        version = len(self.prefix)

        # ---- replay the rules' draws before the fork (decision 3)
        carried: list[tuple[float, _Pending]] = []
        for t, cause, rules, cancels in self._steps:
            for rid in cancels:
                for it in pending.pop(rid, ()):
                    it.dead = True
            for r in rules:
                if r.p < 1.0 and rand() >= r.p:
                    continue
                due = t + (r.fixed if r.fixed is not None else r.draw(rng))
                if due < fork or due > horizon:
                    continue
                it = _Pending(r, cause)
                carried.append((due, it))
                if r.cancellable:
                    pending.setdefault(r.id, []).append(it)

        env = simpy.Environment()

        def occur(kind: str, actor: str | None, target: str | None, data: Any,
                  cause: int | None, rule: str | None, origin: str,
                  source: str | None) -> None:
            nonlocal version
            version += 1
            now = env._now
            out.append(Event(stream, version, now, kind, actor, target, data, cause, rule,
                             origin, source))
            if kind in once:
                occurred.add(kind)
            tracks = tracks_by.get(kind)
            if tracks:
                before = [values[v] for v in tracks]
                apply(kind)
                for v, b in zip(tracks, before):
                    if values[v] != b:
                        last[v] = version
            else:
                apply(kind)
            cancels = cancels_by.get(kind)
            if cancels:
                for rid in cancels:
                    for it in pending.pop(rid, ()):
                        it.dead = True
            rules = rules_on.get(kind)
            if rules:
                for r in rules:
                    if r.then in occurred:
                        continue
                    if r.when is not None and not r.when(values):
                        continue
                    if r.p < 1.0 and rand() >= r.p:
                        continue
                    d = r.fixed if r.fixed is not None else r.draw(rng)
                    if now + d > horizon:
                        continue
                    it = _Pending(r, version)
                    _Timeout(env, d, it).callbacks.append(fire)
                    if r.cancellable:
                        pending.setdefault(r.id, []).append(it)

        def fire(ev: Any) -> None:
            it = ev._value
            if it.dead:
                return
            it.dead = True
            r = it.rule
            if r.then in occurred:
                return
            if r.recheck is not None and not r.recheck(values):
                return
            occur(r.then, r.actor, r.target, r.data, it.cause, r.id, "simulated", None)

        def external(ev: Any) -> None:
            o = ev._value
            if o.kind in occurred:
                return
            et = world_events[o.kind]
            occur(o.kind, o.actor if o.actor is not None else et.actor,
                  o.target if o.target is not None else et.target,
                  frozen_data(o.data), None, None, o.origin, o.source)

        def tick(ev: Any) -> None:
            rv = ev._value
            if rv.once and rv.decides in occurred:
                return
            if rv.when is None or rv.when(values):
                h = rv.hazard(values)
                if h >= 1.0 or (h > 0.0 and rand() < h):
                    cause = None
                    for v in rv.reads:
                        c = last.get(v)
                        if c is not None and (cause is None or c > cause):
                            cause = c
                    occur(rv.decides, rv.actor, rv.target, frozen_data({"p": h}), cause,
                          rv.id, "simulated", None)
                    if rv.once:
                        return
            if env._now + rv.every <= horizon:
                _Timeout(env, rv.every, rv).callbacks.append(tick)

        # ---- scheduling order (decision 2); the clock starts at 0 so that
        # absolute times are exact (0 + t == t)
        for o in self._post:
            _Timeout(env, o.time, o).callbacks.append(external)
        for rv in self._reviews:
            if fork + rv.every <= horizon and not (rv.once and rv.decides in occurred):
                _Timeout(env, fork + rv.every, rv).callbacks.append(tick)
        for due, it in carried:
            if not it.dead:
                _Timeout(env, due, it).callbacks.append(fire)
        env.run()
        return out


def _check(world: World, history: Sequence[Occurrence], inject: Sequence[Occurrence],
           suppress: Collection[str], fork: float, horizon: float) -> None:
    """Names the engine cannot run with (the loaders normally catch these first)."""
    problems = []
    kinds = world.events
    for what, occs in (("history", history), ("inject", inject)):
        for o in occs:
            if o.kind not in kinds:
                problems.append(Problem(world.file, None, None,
                                        f"{what}: unknown event '{o.kind}'",
                                        did_you_mean(o.kind, kinds)))
            if o.origin not in (HISTORY, INJECTED):
                problems.append(Problem(world.file, None, None,
                                        f"{what}: '{o.kind}' has origin '{o.origin}'",
                                        "history and injected occurrences only"))
    for k in suppress:
        if k not in kinds:
            problems.append(Problem(world.file, None, None, f"suppress: unknown event '{k}'",
                                    did_you_mean(k, kinds)))
    if horizon < fork:
        problems.append(Problem(world.file, None, None,
                                f"the horizon (day {horizon:g}) is before the fork "
                                f"(day {fork:g})", "move the horizon after the fork"))
    if problems:
        raise InputError(problems)
