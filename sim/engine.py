"""The engine: one replicate of a world, run by SimPy from its history and fork.

:class:`Engine` owns the *engine semantics* of DESIGN.md. Build it once per
branch (it precomputes indexes and the deterministic pre-fork prefix), then
call :meth:`Engine.run` once per replicate with that replicate's
``random.Random`` (it takes one 64-bit number from it: decision 3). ``engine.prefix`` (stream ``"prefix"``, versions 1..k)
followed by ``engine.run(rng, stream)`` (versions k+1..) is exactly what one
uninterrupted run from the world's ``starts`` would record.

SimPy's ``Environment`` is the clock and the event queue. For speed the
engine puts two small kinds of objects in its queue with the public
``Environment.schedule`` rather than building a ``Timeout`` each: pending rule
consequences and external occurrences. Each carries the two attributes
``Environment.step`` reads (``callbacks``, ``_ok``); tests/test_engine.py pins
the behaviour against a plain heapq reference. Review ticks are not queued: a
replicate's ticks that can fire (decision 12) are listed in time order up front,
and :meth:`Engine.run` takes each when it is due, stepping SimPy's queue up to
it (entries before it in SimPy's (time, priority) order) and setting the clock.

Engine decisions (resolving what DESIGN.md leaves open; docs/world-language.md
carries them for users):

1. Time is days since ``starts``. The prefix is every history occurrence with
   time < fork and every injected occurrence with time < fork, in time order
   (history before injections at the same time, otherwise input order).
   History at or after the fork is ignored; injections after the horizon too.
   ``horizon`` is inclusive (``t <= horizon``); a scenario passes the last
   instant of its horizon date (:func:`sim.world.end_of_day`), so the whole
   horizon date counts and nothing of the next day does.
2. Ties at equal times: first external occurrences (history and injected, in
   the order of 1.), then review ticks (reviews in file order), then rule
   consequences in the order they were scheduled (pre-fork ones first). This
   is SimPy's queue order (time, priority, scheduling order) with priorities
   external < review < rule, so it does not depend on when a tick was queued.
3. Random numbers are synchronised for common random numbers (Law & Kelton):
   every rule and every review is a *source* with its own stream of uniforms,
   so what one source draws never shifts another's. ``run`` takes one 64-bit
   ``base = rng.getrandbits(64)`` from the replicate's generator; uniform n
   (n = 0, 1, ...) of a source is ``uniform(base, key, n)``: output n of
   SplitMix64 seeded with mix(base XOR key), key a hash of "rule:ID" or
   "review:ID" (by id, not position, so branches whose worlds add or drop
   other rules still share it). Counter-based, so nothing is skipped or
   carried: the engine computes each replicate's first uniforms of every
   source in one numpy pass and the rest one by one, with the same floats.
   (A ``random.Random`` per source, as first built, cost ~3.7 us to seed each
   and made the S-400 baseline 40% slower; this costs 5-7%: benchmarks/engine.py.)
   Each evaluation of a rule -- an occurrence of its ``on`` event, before or
   after the fork, while its ``then`` can still occur -- uses the next two
   uniforms of its stream, whether or not ``when`` holds and whatever the
   probability: the first against the probability, the second through the
   delay's inverse CDF (``Delay.from_uniform``; a fixed delay ignores it).
   Evaluation order within an occurrence is file order. Skipped whole, with
   no effect on any other source: a rule with probability 0, one whose
   ``then`` is suppressed, and evaluations after its ``then`` (a ``once``
   event) has occurred -- such a rule can never fire again. A consequence due
   after the horizon (or, before the fork, due before the fork) is dropped.
4. Review ticks at fork + k*every (k >= 1) while <= horizon (exact for whole
   days; a fractional period may land an ulp away). Tick k uses uniform k-1
   of the review's stream, whether or not ``when`` held at earlier ticks; a
   tick whose ``when`` holds fires if that uniform is below the hazard (so
   always at hazard 1, never at 0). Reviews due at the same time tick in file
   order. A review whose ``decides`` is suppressed never ticks; one whose
   ``decides`` is a ``once`` event that has occurred stops ticking.
5. ``once``: the event never occurs twice, whatever its origin: a second
   history or injected occurrence of it is skipped (no record), a pending
   consequence of it is dropped when due.
6. Suppressed kinds never occur, history included; rules and reviews that
   would produce them use no uniforms (decision 3).
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
9. A replicate that records more than ``max_events`` (default 100,000) events
   raises an InputError naming the rules involved: a loop of rules with zero
   delay and probability 1 would otherwise never end.
10. World language 2 (docs/world-language.md). Review timing: ``phase: d``
   ticks at fork + d + k*every (k >= 0); ``phase: random`` draws d = every (1 - u),
   u uniform 0 of the source "phase:ID", per replicate (at equal times its ticks
   and other reviews' go in file order, decision 2);
   ``calendar`` ticks on month-days of every year in (fork, horizon]. Tick k
   (from 0) uses uniform k of the review's stream in every case. An exclusive
   choice uses that one uniform u twice: act if u < hazard, then pick by u /
   hazard against the cumulative weights. A review stops once one of its
   ``unless`` events has occurred. Decaying variables and the calendar
   variable ``date`` are brought to the current time (``State.advance``)
   before an occurrence's effects, before a tick reads them and before a
   consequence's ``when`` reads them (the values are exact functions of time,
   so when they are brought up to date changes nothing else); worlds without
   them skip this, so their runs are unchanged. Invariants are checked at each occurrence of
   their ``never`` event, before its effects (:attr:`Engine.violations`).
11. History uncertainty (opt-in, ``uncertainty=`` a :class:`sim.history.Uncertainty`):
   the prefix is empty and each replicate records its own history. Entry j (its
   source keyed "history:KIND@DAY#RANK") is kept if uniform 0 of its source is
   below its keep probability, and falls on first + floor(u1 * days) of its
   period. A drawn date at or after the fork drops the entry (the model takes
   over), as for certain history; entries recorded at or after the fork are not
   drawn back before it.
12. Only ticks that can fire are evaluated. A tick has no effect unless it fires,
   and it fires only if its uniform u is below the hazard h in the state of that
   moment. :func:`hazard_bound` gives, once per world, a bound h_max >= h over
   every state (interval arithmetic over the modifiers, the same float
   operations, then the clamp); a tick with u >= h_max is skipped whole (no
   state read, no advance, no queue entry), which changes no event: every
   digest is the same as evaluating every tick (tests/test_tick_skip.py, which
   also checks recorded digests of the engine before this). Each replicate
   computes the uniforms of all review ticks and random phases at once (numpy),
   keeps those below their bound, and walks them in time order, reviews in file
   order at equal times, each at the exact time one clock per review would have
   reached (``t_(k-1) + (t_k - t_(k-1))``, what ``Environment.schedule`` gives).
   Decaying values are exact functions of time (:mod:`sim.state`), so skipping
   reads of them changes nothing either. On the S-400 baseline about one tick in
   seven remains (benchmarks/README.md).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import operator
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import simpy

from sim.errors import InputError, Problem, did_you_mean
from sim.events import HISTORY, INJECTED, Event, Occurrence, frozen_data
from sim.state import State
from sim.world import DATE_VAR, All, AnyOf, Compare, Condition, Curve, Delay, Not, World

PREFIX_STREAM = "prefix"

# Queue priorities at equal times (SimPy orders its queue by time, priority, then
# scheduling order): external occurrences, then review ticks, then rule consequences.
_EXTERNAL, _REVIEW, _RULE = 0, 1, 2


def compile_condition(cond: Condition | None) -> Callable[[Mapping[str, Any]], bool] | None:
    """A plain function equivalent to ``cond.holds`` (faster in the inner loop), or None."""
    if cond is None:
        return None
    if type(cond) is Compare:
        var, value = cond.var, cond.value
        op = cond.op
        if op == "==":
            return lambda v: v[var] == value
        if op == "!=":
            return lambda v: v[var] != value
        if op == ">=":
            return lambda v: v[var] >= value
        if op == ">":
            return lambda v: v[var] > value
        if op == "<=":
            return lambda v: v[var] <= value
        if op == "<":
            return lambda v: v[var] < value
    elif type(cond) is All:
        if len(cond.parts) > 1 and all(type(c) is Compare and c.op == "=="
                                       for c in cond.parts):
            # several equalities (most review conditions): one C-level lookup of all the
            # variables and one tuple comparison (element-wise ==, like the parts)
            get = operator.itemgetter(*(c.var for c in cond.parts))
            want = tuple(c.value for c in cond.parts)
            return lambda v: get(v) == want
        parts = tuple(compile_condition(c) for c in cond.parts)
        return _and_chain(parts)
    elif type(cond) is AnyOf:
        parts = tuple(compile_condition(c) for c in cond.parts)
        return lambda v: any(p(v) for p in parts)
    elif type(cond) is Not:
        part = compile_condition(cond.part)
        return lambda v: not part(v)
    return cond.holds       # any other Condition keeps its own method


def _and_chain(parts: tuple) -> Callable[[Mapping[str, Any]], bool]:
    """``all(p(v) for p in parts)`` as nested two-part lambdas (no generator per call:
    review conditions of 3-4 parts are checked at every tick)."""
    if not parts:
        return lambda v: True
    if len(parts) == 1:
        return parts[0]
    a, b = parts[0], _and_chain(parts[1:])
    return lambda v: a(v) and b(v)


class _Rule:
    """A rule compiled for the engine's inner loop."""

    __slots__ = ("id", "then", "p", "fixed", "inverse", "certain", "src", "key", "off", "cap",
                 "end", "at_fork", "pos", "when", "recheck", "cancellable", "data", "actor",
                 "timed",
                 "target")

    def __init__(self, rule: Any, world: World, src: int):
        self.id = rule.id
        self.then = rule.then
        self.p = float(rule.probability)
        d = rule.delay
        self.fixed = float(d.params["value"]) if d.kind == "fixed" else None
        self.inverse = _compile_inverse(d)
        # probability 1 and a fixed delay: neither of its two uniforms matters, so the
        # rule never needs its stream (decision 3)
        self.certain = self.p >= 1.0 and self.fixed is not None
        self.src = src
        self.key = source_key("rule", rule.id)
        # where its first uniforms sit in a replicate's table, how many, and where they
        # end (Engine._layout); uniforms used before the fork; during a run, the table
        # index of its next uniform (run() resets it)
        self.off = self.cap = self.end = self.at_fork = self.pos = 0
        self.when = compile_condition(rule.when)
        self.recheck = self.when
        # its `when` reads a value that changes with time (decay, the date)
        self.timed = rule.when is not None and bool(rule.when.variables() & _timed(world))
        self.cancellable = bool(rule.unless)
        self.data = frozen_data(rule.data)
        et = world.events[rule.then]
        self.actor = et.actor
        self.target = et.target


class _Pending:
    """A consequence waiting in SimPy's queue.

    It goes into the queue itself through ``Environment.schedule`` and carries
    the two attributes ``Environment.step`` reads from a queued event
    (``callbacks`` and ``_ok``): a Timeout per consequence would cost a third more.
    """

    __slots__ = ("callbacks", "rule", "cause", "dead")
    _ok = True

    def __init__(self, rule: _Rule, cause: int, callbacks: list):
        self.callbacks = callbacks
        self.rule = rule
        self.cause = cause
        self.dead = False


class _External:
    """A history or injected occurrence waiting in the queue."""

    __slots__ = ("callbacks", "occurrence")
    _ok = True

    def __init__(self, occurrence: Occurrence, callbacks: list):
        self.callbacks = callbacks
        self.occurrence = occurrence


def source_key(kind: str, ident: str) -> int:
    """The 64-bit key of a random source: ``kind`` is "rule" or "review", ``ident`` its id.

    Source streams are keyed by id, not by position, so that branches whose worlds
    differ in other rules or reviews still share this source's stream.
    """
    digest = hashlib.blake2b(f"{kind}:{ident}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


# SplitMix64 (Steele, Lea & Flood 2014; constants of Stafford's "mix13" finaliser)
_M64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_UNIT = 2.0 ** -53
_FIRST_CAP = 8          # uniforms of a rule's stream first put in each replicate's table
_MAX_CAP = 4096


def _mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * _MIX1) & _M64
    z = ((z ^ (z >> 27)) * _MIX2) & _M64
    return z ^ (z >> 31)


def uniform(base: int, key: int, n: int) -> float:
    """Uniform ``n`` (0, 1, 2, ...) of the source keyed ``key`` in a replicate whose base is
    ``base``: output ``n`` of SplitMix64 seeded with mix(base XOR key), in [0, 1).

    The engine computes the first uniforms of every source at once (numpy) and
    calls this for the rest; both give the same floats.
    """
    z = (_mix64(base ^ key) + (n + 1) * _GAMMA) & _M64
    return (_mix64(z) >> 11) * _UNIT


_S11, _S27, _S30, _S31 = (np.uint64(k) for k in (11, 27, 30, 31))
_NP_MIX1, _NP_MIX2 = np.uint64(_MIX1), np.uint64(_MIX2)


def _mix64_array(z: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """``_mix64`` on a uint64 array, in place (numpy's uint64 arithmetic wraps mod 2**64);
    ``tmp`` is scratch space of the same shape."""
    np.right_shift(z, _S30, out=tmp)
    z ^= tmp
    z *= _NP_MIX1
    np.right_shift(z, _S27, out=tmp)
    z ^= tmp
    z *= _NP_MIX2
    np.right_shift(z, _S31, out=tmp)
    z ^= tmp
    return z


def _compile_inverse(delay: Delay) -> Callable[[float], float]:
    """``delay.from_uniform`` with its parameters looked up once (the same arithmetic,
    so the same floats: tests/test_engine.py checks it)."""
    p = delay.params
    k = delay.kind
    log1p, exp = math.log1p, math.exp
    if k == "exponential":
        neg_mean = -float(p["mean"])
        return lambda u: neg_mean * log1p(-u)
    if k == "lognormal":
        median, sigma = float(p["median"]), float(p["sigma"])
        inv_cdf, tiny = Delay._inv_cdf, Delay._TINY
        return lambda u: median * exp(sigma * inv_cdf(u if u > 0.0 else tiny))
    if k == "uniform":
        low = float(p["low"])
        width = float(p["high"]) - low
        return lambda u: low + u * width
    return delay.from_uniform


def _timed(world: World) -> set[str]:
    """The variables whose values change with time alone: decaying ones and ``date``."""
    out = {v.name for v in world.variables.values() if v.half_life is not None}
    out.add(DATE_VAR)
    return out


def _compile_hazard(review: Any) -> Callable[[Mapping[str, Any]], float]:
    """``review.hazard`` with compiled conditions (same arithmetic, same order)."""
    base = review.probability
    mods = tuple((compile_condition(m.when), m.multiply, m.add) for m in review.modifiers)
    if isinstance(base, Curve):
        curve = _compile_curve(base)

        def hazard_curve(values: Mapping[str, Any]) -> float:
            p = curve(values)
            for when, multiply, add in mods:
                if when is None or when(values):
                    p = p * multiply + add
            return 0.0 if p < 0.0 else 1.0 if p > 1.0 else p

        return hazard_curve

    def hazard(values: Mapping[str, Any]) -> float:
        p = base
        for when, multiply, add in mods:
            if when is None or when(values):
                p = p * multiply + add
        return 0.0 if p < 0.0 else 1.0 if p > 1.0 else p

    return hazard


def hazard_bound(review: Any) -> float:
    """An upper bound of ``review.hazard(values)`` over every possible state (decision 12).

    The hazard is the base probability (or a curve's value), then each modifier in
    force applied in order (``p * multiply + add``), clamped to [0, 1]. Interval
    arithmetic over "applied or not" for each modifier, with the same float
    operations on the interval's ends, bounds every subset of modifiers in force:
    rounding is monotone, so ``p <= hi`` gives ``p * m + a <= hi * m + a`` for
    ``m >= 0`` (``lo`` for ``m < 0``). A logistic curve lies between 0 and its
    ``max``; a per-unit curve between 0 and 1. Anything not finite gives 1 (no bound).
    """
    p = review.probability
    if isinstance(p, Curve):
        if p.kind == "logistic":
            top = float(p.params.get("max", 1.0))
            lo, hi = min(0.0, top), max(0.0, top)
        elif p.kind == "per_unit" and 0.0 <= 1.0 - p.params["p"] <= 1.0:
            lo, hi = 0.0, 1.0
        else:
            return 1.0
    else:
        lo = hi = float(p)
    for m in review.modifiers:
        a = lo * m.multiply + m.add
        b = hi * m.multiply + m.add
        lo, hi = min(lo, a, b), max(hi, a, b)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 1.0
    return 0.0 if hi < 0.0 else 1.0 if hi > 1.0 else hi


def _compile_curve(c: Curve) -> Callable[[Mapping[str, Any]], float]:
    """``c(values)`` with its parameters looked up once (the same arithmetic as
    :meth:`sim.world.Curve.at`, so the same floats)."""
    var = c.var
    if c.kind == "logistic":
        mid, scale, top = c.params["mid"], c.params["scale"], c.params.get("max", 1.0)
        exp = math.exp

        def logistic(values: Mapping[str, Any]) -> float:
            z = -(values[var] - mid) / scale
            return top / (1.0 + exp(z)) if z < 700 else 0.0

        return logistic
    q = 1.0 - c.params["p"]

    def per_unit(values: Mapping[str, Any]) -> float:
        x = values[var]
        return 1.0 - q ** x if x > 0 else 0.0

    return per_unit


class _Review:
    __slots__ = ("id", "every", "decides", "when", "hazard", "constant", "reads", "actor",
                 "target", "once", "src", "key", "options", "unless", "phase", "calendar",
                 "bound", "timed")

    def __init__(self, review: Any, world: World, src: int, suppressed: Collection[str] = ()):
        self.id = review.id
        self.src = src
        self.key = source_key("review", review.id)
        self.every = float(review.every)
        self.decides = review.decides
        self.when = compile_condition(review.when)
        self.hazard = _compile_hazard(review)
        # no tick whose uniform is at or above this can fire, whatever the state
        self.bound = hazard_bound(review)
        # its `when` or hazard reads a value that changes with time (decay, the date)
        self.timed = bool(review.variables() & _timed(world))
        # without modifiers or a curve the hazard is a constant: no call per tick
        self.constant = (None if review.modifiers or isinstance(review.probability, Curve)
                         else review.hazard({}))
        reads = review.variables()
        reads.discard("date")
        self.reads = tuple(sorted(reads))
        self.unless = tuple(review.unless)
        self.phase = review.phase
        self.calendar = review.calendar
        if review.choose:
            # exclusive choice: (event, cumulative weight, share, actor, target, once);
            # a suppressed option stays (its share of the uniform then produces nothing)
            total = float(sum(w for _, w in review.choose))
            cum = 0.0
            opts = []
            for e, w in review.choose:
                cum += w
                et = world.events[e]
                opts.append((e, cum / total, w / total,
                             et.actor if et.actor is not None else review.actor, et.target,
                             e in suppressed))
            self.options = tuple(opts)
            self.actor = self.target = None
            self.once = False
            return
        self.options = None
        et = world.events[review.decides]
        self.actor = et.actor if et.actor is not None else review.actor
        self.target = et.target
        self.once = et.once

    def ticks(self, world: World, fork: float, horizon: float, phase: float | None = None
              ) -> list[float]:
        """Its tick times in (fork, horizon] (decision 4); ``phase`` for a random phase."""
        out = []
        if self.calendar:
            first, last = world.date(fork).year, world.date(horizon).year
            for year in range(first, last + 1):
                for month, day in self.calendar:
                    t = world.day(dt.date(year, month, day))
                    if fork < t <= horizon:
                        out.append(t)
            return sorted(out)
        if phase is None and self.phase is None:
            k = 1
            while fork + k * self.every <= horizon:
                out.append(fork + k * self.every)
                k += 1
            return out
        start = fork + (self.phase if phase is None else phase)
        k = 0
        while start + k * self.every <= horizon:
            out.append(start + k * self.every)
            k += 1
        return out


class Engine:
    """Runs replicates of one branch: a world, its history, fork, horizon and changes.

    ``history`` occurrences at or after ``fork`` are ignored; ``inject``
    occurrences happen at their time; kinds in ``suppress`` never happen.
    """

    def __init__(self, world: World, history: Sequence[Occurrence], fork: float,
                 horizon: float, inject: Sequence[Occurrence] = (),
                 suppress: Collection[str] = (), max_events: int = 100_000,
                 uncertainty: Any = None):
        self.world = world
        self.max_events = max_events
        self.fork = fork = float(fork)
        self.horizon = horizon = float(horizon)
        _check(world, history, inject, suppress, fork, horizon)
        # opt-in history uncertainty (decision 11): nothing is shared before the fork;
        # each replicate draws its history and runs it in an engine of its own
        self.uncertainty = uncertainty if uncertainty is not None and uncertainty.active \
            else None
        if self.uncertainty is not None:
            self._uncertain = self._spread(history)
            self._inject = tuple(inject)
            history = ()
        self.suppress = suppressed = frozenset(suppress)
        events = world.events

        # ---- indexes
        self._once = frozenset(k for k, et in events.items() if et.once)
        # random sources (decision 3): rule j and review len(rules) + j of the world
        src = {r.id: j for j, r in enumerate(world.rules)}
        self._keys = np.array([source_key("rule", r.id) for r in world.rules]
                              + [source_key("review", rv.id) for rv in world.reviews],
                              dtype=np.uint64)
        rules_on: dict[str, tuple[_Rule, ...]] = {}
        for kind, rules in world.rules_on.items():
            keep = tuple(_Rule(r, world, src[r.id]) for r in rules
                         if r.then not in suppressed and r.probability > 0.0)
            if keep:
                rules_on[kind] = keep
        self._rules_on = rules_on
        self._cancels = {k: v for k, v in world.cancelled_by.items() if k not in suppressed}
        self._reviews = tuple(_Review(rv, world, len(world.rules) + j, suppressed)
                              for j, rv in enumerate(world.reviews)
                              if rv.choose or rv.decides not in suppressed)
        # events whose occurrence a review's `unless` or an invariant watches
        self._watched = frozenset(u for rv in self._reviews for u in rv.unless) | frozenset(
            u for inv in world.invariants for u in inv.unless)
        self._invariants = tuple((i, inv, compile_condition(inv.when))
                                 for i, inv in enumerate(world.invariants))
        self._guards = {inv.never for inv in world.invariants}
        # the last run's broken invariants: (invariant index, version, time)
        self.violations: list[tuple[int, int, float]] = []
        tracked = {v for rv in self._reviews for v in rv.reads}
        self._tracks = {k: tuple(sorted({e.var for e in et.effects} & tracked))
                        for k, et in events.items()}
        self._tracks = {k: v for k, v in self._tracks.items() if v}
        # kind -> (once?, tracked variables it sets, rules it cancels, rules on it,
        #          more to do: a state that changes with time, or watched by a review's
        #          `unless` or an invariant?)
        dynamic = State(world).dynamic
        self._plan = {k: (k in self._once, self._tracks.get(k, ()), self._cancels.get(k, ()),
                          rules_on.get(k, ()),
                          dynamic or k in self._watched or k in self._guards)
                      for k in events}

        self.prefix_violations: list[tuple[int, int, float]] = []
        # ---- external occurrences, in scheduling order (decision 1)
        ext = [o for o in history if o.time < fork] + list(inject)
        ext = [o for o in ext if o.time <= horizon and o.kind not in suppressed]
        ext.sort(key=lambda o: o.time)           # stable: history first at equal times
        pre = [o for o in ext if o.time < fork]
        self._post = tuple(o for o in ext if o.time >= fork)

        # ---- the deterministic prefix, and what the rules saw before the fork
        state = State(world)
        values = state.values
        dynamic = state.dynamic
        occurred: set[str] = set()
        seen: set[str] = set()              # watched kinds that have occurred
        last: dict[str, int] = {}
        prefix: list[Event] = []
        steps: list[tuple[float, int, tuple[tuple[_Rule, int], ...], tuple[str, ...]]] = []
        evals = [0] * len(world.rules)      # uniforms each rule's evaluations have used
        for o in pre:
            if o.kind in occurred:
                continue
            version = len(prefix) + 1
            et = events[o.kind]
            prefix.append(Event(PREFIX_STREAM, version, float(o.time), o.kind,
                                o.actor if o.actor is not None else et.actor,
                                o.target if o.target is not None else et.target,
                                frozen_data(o.data), None, None, o.origin, o.source))
            if dynamic:
                state.advance(float(o.time))
            if o.kind in self._guards:
                self._check_invariants(o.kind, values, seen, version, float(o.time),
                                       self.prefix_violations)
            if o.kind in self._watched:
                seen.add(o.kind)
            self._occur_state(state, o.kind, version, occurred, last)
            # the rules whose `when` holds, each with the index of its first uniform;
            # every evaluation uses two (decision 3)
            live = []
            for r in rules_on.get(o.kind, ()):
                if r.then in occurred:
                    continue
                if r.when is None or r.when(values):
                    live.append((r, evals[r.src]))
                if not r.certain:
                    evals[r.src] += 2
            cancels = self._cancels.get(o.kind, ())
            if live or cancels:
                steps.append((float(o.time), version, tuple(live), cancels))
        self.prefix: list[Event] = prefix
        # ---- the review clock (decision 4, and decision 12: only the ticks that can fire).
        # Shared-clock ticks: tick time -> the reviews due, in file order, each with the
        # slot of the replicate's table that holds its uniform (tick k uses uniform k - 1
        # of the review's stream). Random-phase reviews: a row of slots per review for
        # uniforms 0.. of its stream, and one slot for the phase's uniform. Reviews'
        # uniforms come first in the table, then rules' (whose share may grow: _layout).
        due: dict[float, list[tuple[_Review, int]]] = {}
        table_src: list[int] = []
        table_n: list[int] = []
        random_phase = []
        for rv in self._reviews:
            if rv.once and rv.decides in occurred:
                continue
            if any(u in seen for u in rv.unless):
                continue
            if rv.phase == "random" and not rv.calendar:   # (calendar ignores a phase)
                random_phase.append(rv)
                continue
            for k, t in enumerate(rv.ticks(world, fork, horizon)):
                due.setdefault(t, []).append((rv, len(table_src)))
                table_src.append(rv.src)
                table_n.append(k)
        times = sorted(due)
        # the times at which SimPy processed the shared clock's ticks: the clock went back
        # in the queue with delay T_i - now, so tick i fell at c_(i-1) + (T_i - c_(i-1))
        # (T_i itself whenever that subtraction is exact, as it is for whole days)
        slot_rv: list[_Review | None] = [None] * len(table_src)
        slot_time = [0.0] * len(table_src)
        c = 0.0
        for t in times:
            c = c + (t - c)
            for rv, slot in due[t]:
                slot_rv[slot] = rv
                slot_time[slot] = c
        n_shared = len(table_src)
        # random-phase reviews (decision 10): at most `width` ticks each, as its first
        # tick falls in (fork, fork + every]; padding slots lie past the horizon
        self._random_phase = tuple(random_phase)
        width = 0
        for rv in random_phase:
            n = len(rv.ticks(world, fork, horizon, 0.0)) + 1
            width = max(width, n)
        self._rp_width = width
        n_rp = len(random_phase) * width
        slot_rv += [rv for rv in random_phase for _ in range(width)]
        n_phase_src = len(world.rules) + len(world.reviews)
        self._keys = np.concatenate([self._keys, np.array(
            [source_key("phase", rv.id) for rv in random_phase], dtype=np.uint64)])
        # the table's review part: shared slots, a row of `width` per random-phase review
        # (uniforms 0.. of its stream), then one phase uniform per random-phase review
        self._review_src = np.concatenate([
            np.array(table_src, dtype=np.intp),
            np.repeat(np.array([rv.src for rv in random_phase], dtype=np.intp), width),
            np.arange(n_phase_src, n_phase_src + len(random_phase), dtype=np.intp)])
        self._review_n = np.concatenate([
            np.array(table_n, dtype=np.uint64),
            np.tile(np.arange(width, dtype=np.uint64), len(random_phase)),
            np.zeros(len(random_phase), dtype=np.uint64)])
        self._slot_rv = tuple(slot_rv)
        # per slot: the bound on its review's hazard (a uniform at or above it cannot
        # fire), its review's place in the file (the order at equal times: decision 2)
        # and, for shared slots, the time
        place = {id(rv): i for i, rv in enumerate(self._reviews)}
        self._slot_bound = np.array([rv.bound for rv in slot_rv], dtype=float)
        self._slot_order = np.array([place[id(rv)] for rv in slot_rv], dtype=np.intp)
        self._slot_time = np.empty(n_shared + n_rp)
        self._slot_time[:n_shared] = slot_time
        self._n_shared = n_shared
        if random_phase:
            self._rp_every = np.array([rv.every for rv in random_phase])
            self._rp_k = np.arange(width, dtype=float)
            # SimPy processed a random-phase review's tick k at c_(k-1) + (t_k - t_(k-1));
            # that is t_k itself when the subtraction is exact (Sterbenz: t_(k-1) >= every,
            # true for every tick when fork >= 2 every), else the sum is carried (below)
            self._rp_exact = fork >= 2.0 * float(self._rp_every.max())
        self._random_rules = tuple(r for rules in rules_on.values() for r in rules
                                   if not r.certain)
        for r in self._random_rules:
            r.cap = _FIRST_CAP
        self._layout()
        for r in self._random_rules:
            r.at_fork = evals[r.src]
        self._steps = tuple(steps)
        self._fork_state = state
        self._fork_occurred = frozenset(occurred)
        self._fork_seen = frozenset(seen)
        self._fork_last = last

    def _spread(self, history: Sequence[Occurrence]) -> tuple:
        """(occurrence, first day, days, keep probability, source key) of each history
        occurrence before the fork; the key names the entry by event, recorded date and
        rank among equal pairs, so branches that drop other entries draw alike."""
        out = []
        rank: dict[tuple[str, float], int] = {}
        u = self.uncertainty
        for o in history:
            if o.time >= self.fork:
                continue
            n = rank[o.kind, o.time] = rank.get((o.kind, o.time), -1) + 1
            first, days = u.period(self.world.date(o.time), o.granularity, self.world.starts)
            key = source_key("history", f"{o.kind}@{o.time:g}#{n}")
            out.append((o, first, days, u.keep_probability(o.confidence), key))
        return tuple(out)

    def _run_uncertain(self, rng: random.Random, stream: str) -> list[Event]:
        """One replicate with its own history: entries dropped with probability 1 - keep
        (uniform 0 of the entry's source), dates drawn in their period (uniform 1); then
        the run, from the same replicate generator state, so rules and reviews draw as
        they would with certain history."""
        state = rng.getstate()
        base = rng.getrandbits(64)
        rng.setstate(state)
        occs = []
        for o, first, days, keep, key in self._uncertain:
            if keep < 1.0 and uniform(base, key, 0) >= keep:
                continue
            if days > 1:
                t = first + math.floor(uniform(base, key, 1) * days)
                o = attrs.evolve(o, time=t)
            occs.append(o)
        sub = Engine(self.world, occs, self.fork, self.horizon, self._inject, self.suppress,
                     self.max_events)
        out = [e.evolve(stream=stream) for e in sub.prefix] + sub.run(rng, stream)
        self.violations = sub.violations
        return out

    def _check_invariants(self, kind: str, values: Mapping[str, Any], seen: Collection[str],
                          version: int, time: float, out: list) -> None:
        """Record the invariants that ``kind`` occurring now breaks (before its effects)."""
        for i, inv, when in self._invariants:
            if inv.never != kind:
                continue
            if inv.unless and any(u in seen for u in inv.unless):
                continue
            if when is not None and not when(values):
                continue
            out.append((i, version, time))

    def _layout(self) -> None:
        """Where each source's first uniforms go in a replicate's table (speed only: the
        values are ``uniform(base, key, n)`` wherever they are computed)."""
        off = start = len(self._review_src)
        for r in self._random_rules:
            r.off = off
            off += r.cap
            r.end = off
        caps = np.array([r.cap for r in self._random_rules], dtype=np.intp)
        self._table_src = np.concatenate([self._review_src, np.repeat(
            np.array([r.src for r in self._random_rules], dtype=np.intp), caps)])
        # uniform n of each rule's share: the slot's distance from the share's start
        n = np.arange(off - start, dtype=np.uint64) - np.repeat(
            (np.cumsum(caps) - caps).astype(np.uint64), caps)
        # n -> (n + 1) * gamma, wrapping mod 2**64 like the scalar code's mask
        self._table_step = (np.concatenate([self._review_n, n]) + np.uint64(1)) \
            * np.uint64(_GAMMA)
        # scratch arrays, reused by every replicate (each run finishes before the next)
        n_keys, n = len(self._keys), len(self._table_src)
        self._scratch = (np.empty(n_keys, np.uint64), np.empty(n_keys, np.uint64),
                         np.empty(n, np.uint64), np.empty(n, np.uint64), np.empty(n))

    def _table(self, base: int) -> Sequence[float]:
        """The first uniforms of every source for a replicate whose base is ``base``: a
        memoryview of floats (indexing it gives Python floats; cheaper than a list)."""
        seeds, tmp, z, ztmp, out = self._scratch
        if not len(z):
            return ()
        np.bitwise_xor(self._keys, np.uint64(base), out=seeds)
        _mix64_array(seeds, tmp)
        np.take(seeds, self._table_src, out=z)
        z += self._table_step
        _mix64_array(z, ztmp)
        z >>= _S11
        np.multiply(z, _UNIT, out=out)
        return out.data

    def _grow(self, rules: Collection[_Rule]) -> None:
        """Give rules that ran past their share of the table a larger one."""
        for r in rules:
            r.cap = min(_MAX_CAP, max(2 * r.cap, r.pos - r.off + 2))
        self._layout()

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

    def _candidates(self, u: np.ndarray) -> tuple[list[float], list[int]]:
        """The review ticks of one replicate that can fire (decision 12), in the order
        SimPy would process them: (times, table slots). ``u`` is the replicate's table."""
        n = len(self._slot_bound)
        mask = u[:n] < self._slot_bound
        times = self._slot_time
        if self._random_phase:
            ns = self._n_shared
            every = self._rp_every
            p = len(every)
            # decision 10: phase = every (1 - u), u uniform 0 of the source "phase:ID";
            # tick k at (fork + phase) + k every while <= horizon (as _Review.ticks)
            phase = every * (1.0 - u[n:n + p])
            start = self.fork + phase
            t = start[:, None] + self._rp_k[None, :] * every[:, None]
            mask[ns:] &= (t <= self.horizon).ravel()
            if not self._rp_exact:
                # the times SimPy reached: t_0, then c_(k-1) + (t_k - t_(k-1))
                t[:, 1:] = np.diff(t, axis=1)
                t = np.cumsum(t, axis=1)
            times[ns:] = t.ravel()
        idx = np.flatnonzero(mask)
        if len(idx) > 1:
            # by time, then (decision 2) reviews in file order
            idx = idx[np.lexsort((self._slot_order[idx], times[idx]))]
        return times[idx].tolist(), idx.tolist()

    @property
    def state_at_fork(self) -> dict[str, Any]:
        """The variables' values once the prefix has occurred (a copy)."""
        return dict(self._fork_state.values)

    def run(self, rng: random.Random, stream: str) -> list[Event]:
        """One replicate: the events after the prefix (versions k+1.., in ``stream``)."""
        if self.uncertainty is not None:
            return self._run_uncertain(rng, stream)
        fork = self.fork
        horizon = self.horizon
        plan = self._plan
        world_events = self.world.events
        # decision 3: uniform n of source j is uniform(base, key_j, n); the table holds the
        # first ones of every source, ``far`` computes the others
        base = rng.getrandbits(64)
        table = self._table(base)
        n_slots = len(self._slot_rv)
        for r in self._random_rules:
            r.pos = r.off + r.at_fork
        overflow: list[_Rule] = []

        def far(r: _Rule, e: int) -> tuple[float, float]:
            overflow.append(r)
            return uniform(base, r.key, e), uniform(base, r.key, e + 1)

        state = self._fork_state.copy()
        values = state.values
        apply = state.applier()
        dynamic = state.dynamic
        advance = state.advance
        occurred = set(self._fork_occurred)
        seen = set(self._fork_seen)
        violations = self.violations = list(self.prefix_violations)
        guards = self._guards
        watched = self._watched
        check_invariants = self._check_invariants
        last = dict(self._fork_last)
        pending: dict[str, list[_Pending]] = {}
        out: list[Event] = []
        version = len(self.prefix)
        limit = version + self.max_events

        fire_callbacks: list = []      # [fire], filled in below; shared by all consequences
        # ---- replay the rules' draws before the fork (decision 3)
        carried: list[tuple[float, _Pending]] = []
        for t, cause, live, cancels in self._steps:
            for rid in cancels:
                for it in pending.pop(rid, ()):
                    it.dead = True
            for r, e in live:
                if r.certain:
                    d = r.fixed
                else:
                    if e < r.cap:
                        u, v = table[r.off + e], table[r.off + e + 1]
                    else:
                        u, v = far(r, e)
                    if u >= r.p:
                        continue
                    d = r.fixed if r.fixed is not None else r.inverse(v)
                due = t + d
                if due < fork or due > horizon:
                    continue
                it = _Pending(r, cause, fire_callbacks)
                carried.append((due, it))
                if r.cancellable:
                    pending.setdefault(r.id, []).append(it)

        env = simpy.Environment()
        schedule = env.schedule

        def occur(kind: str, actor: str | None, target: str | None, data: Any,
                  cause: int | None, rule: str | None, origin: str,
                  source: str | None) -> None:
            nonlocal version
            version += 1
            now = env._now
            if version > limit:
                raise _runaway(self.world, out, now)
            out.append(Event(stream, version, now, kind, actor, target, data, cause, rule,
                             origin, source))
            is_once, tracks, cancels, rules, more = plan[kind]
            if more:
                if dynamic:
                    advance(now)
                if kind in guards:
                    check_invariants(kind, values, seen, version, now, violations)
                if kind in watched:
                    seen.add(kind)
            if is_once:
                occurred.add(kind)
            if tracks:
                before = [values[v] for v in tracks]
                apply(kind)
                for v, b in zip(tracks, before):
                    if values[v] != b:
                        last[v] = version
            else:
                apply(kind)
            if cancels:
                for rid in cancels:
                    for it in pending.pop(rid, ()):
                        it.dead = True
            if rules:
                # decision 3: each evaluation uses the next two uniforms of the rule's
                # stream, one for the probability and one for the delay, whatever happens
                for r in rules:
                    if r.then in occurred:
                        continue
                    if r.certain:
                        if r.when is not None and not r.when(values):
                            continue
                        d = r.fixed
                    else:
                        e = r.pos
                        r.pos = e + 2
                        if r.when is not None and not r.when(values):
                            continue
                        if e < r.end:
                            if table[e] >= r.p:
                                continue
                            v = table[e + 1]
                        else:
                            u, v = far(r, e - r.off)
                            if u >= r.p:
                                continue
                        d = r.fixed if r.fixed is not None else r.inverse(v)
                    if now + d > horizon:
                        continue
                    it = _Pending(r, version, fire_callbacks)
                    schedule(it, _RULE, d)
                    if r.cancellable:
                        pending.setdefault(r.id, []).append(it)

        def fire(it: _Pending) -> None:
            if it.dead:
                return
            it.dead = True
            r = it.rule
            if r.then in occurred:
                return
            if r.recheck is not None:
                if dynamic and r.timed:     # (occur() advances before any effect)
                    advance(env._now)
                if not r.recheck(values):
                    return
            occur(r.then, r.actor, r.target, r.data, it.cause, r.id, "simulated", None)

        fire_callbacks.append(fire)
        external_callbacks: list = []
        cand_times, cand_slots = self._candidates(self._scratch[4]) if n_slots else ((), ())
        slot_rv = self._slot_rv
        n_ticks = len(cand_times)
        queue = env._queue

        def external(ev: _External) -> None:
            o = ev.occurrence
            if o.kind in occurred:
                return
            et = world_events[o.kind]
            occur(o.kind, o.actor if o.actor is not None else et.actor,
                  o.target if o.target is not None else et.target,
                  frozen_data(o.data), None, None, o.origin, o.source)

        external_callbacks.append(external)

        # ---- scheduling order (decision 2); the clock starts at 0 so that
        # absolute times are exact (0 + t == t)
        for o in self._post:
            schedule(_External(o, external_callbacks), _EXTERNAL, float(o.time))
        for due, it in carried:
            if not it.dead:
                schedule(it, _RULE, due)
        # the review ticks that can fire (decision 12) are not queued: each is taken when
        # it is due in SimPy's order (time, then priority external < review < rule), at
        # the time SimPy gave it when every review had its own clock
        step = env.step
        ci = 0
        while ci < n_ticks:
            now = cand_times[ci]
            if queue:
                head = queue[0]
                if head[0] < now or (head[0] == now and head[1] < _REVIEW):
                    step()
                    continue
            env._now = now
            slot = cand_slots[ci]
            ci += 1
            rv = slot_rv[slot]
            if rv.once and rv.decides in occurred:
                continue
            if rv.unless and any(x in seen for x in rv.unless):
                continue
            if dynamic and rv.timed:     # (occur() advances before any effect)
                advance(now)
            if rv.when is None or rv.when(values):
                h = rv.constant
                if h is None:
                    h = rv.hazard(values)
                # decision 4: the review's tick k uses uniform k - 1 of its stream
                u = table[slot]
                if u < h:
                    cause = None
                    for v in rv.reads:
                        c = last.get(v)
                        if c is not None and (cause is None or c > cause):
                            cause = c
                    if rv.options is None:
                        occur(rv.decides, rv.actor, rv.target, frozen_data({"p": h}), cause,
                              rv.id, "simulated", None)
                        continue
                    # exclusive choice: u / h is uniform on [0, 1) given that the actor acts
                    x = u / h
                    for kind, cum, share, actor, target, off in rv.options:
                        if x < cum:
                            if not off and kind not in occurred:
                                occur(kind, actor, target, frozen_data({"p": h * share}),
                                      cause, rv.id, "simulated", None)
                            break
        env.run()
        if overflow:
            self._grow(set(overflow))
        return out


def _runaway(world: World, out: list[Event], now: float) -> InputError:
    """The error for a replicate that never ends (a loop of rules without delay)."""
    recent: dict[str, int] = {}
    for e in out[-1000:]:
        if e.rule is not None:
            recent[e.rule] = recent.get(e.rule, 0) + 1
    loop = ", ".join(sorted(recent, key=lambda r: -recent[r])[:5]) or "?"
    return InputError(Problem(
        world.file, None, None,
        f"a replicate passed {len(out)} events by day {now:g}: rules {loop} keep "
        f"scheduling each other", "give the loop a positive delay, a probability below 1, "
        "a 'when' that turns false, or make one of its events 'once'"))


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
    for rv in world.reviews:
        if not rv.every > 0:
            problems.append(Problem(world.file, None, None,
                                    f"review '{rv.id}': every must be a positive number of "
                                    f"days, not {rv.every!r}", "for example every: 30"))
    if horizon < fork:
        problems.append(Problem(world.file, None, None,
                                f"the horizon (day {horizon:g}) is before the fork "
                                f"(day {fork:g})", "move the horizon after the fork"))
    if problems:
        raise InputError(problems)
