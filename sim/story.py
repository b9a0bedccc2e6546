"""Stories: one simulated world told in plain English, and the causal chain of an event.

This module owns the text behind ``sim story`` and ``sim why``. It reads one
replicate's events (history prefix included) and the branch's world; it
changes nothing.

- :func:`story` gives one line per event in date order: the calendar date,
  the event's label from the world, who acted on whom (actor names), and why
  it happened -- its source for history, "injected by the scenario", or the
  rule or review that produced it with the probability used and the event
  that caused it. A separator line marks the fork (when the fork is not
  given, it goes before the first event that is not from history).
- :func:`why` follows ``cause`` links from one event back to where the chain
  starts (usually a history event) and names each link's rule or source.

Rules and reviews are explained differently, because they cause differently:

- a rule's event has one trigger, the event the rule listens to: that is its
  cause, and ``why`` follows it with ``<-``;
- a review's event has none: the review ticked on its calendar and fired by
  chance with the hazard of that tick. It is explained by the hazard, the
  review's ``when`` (what let it tick at all) and every modifier in force at
  the tick, each with its size ("x1.5", "+0.02"), its direction (raises or
  lowers) and the event since which it has held (or "since the start" if it
  held in the world's initial state). A change that lowered the hazard is a
  factor, never a cause, so the chain stops at a review's event.
  (:func:`hazard_factors` computes this; the state at the tick is the fold
  of every event recorded before the review's event.)

``sources`` may be a mapping of source id to a record with ``outlet``,
``title`` and ``published`` (as :func:`sim.history.load_history` gives them),
a list of such records (with ``id``), or an object with a ``.sources``
attribute (a History). With ``branch`` given as a scenario Branch (``.name``,
``.fork``, and optionally ``.history_doc``), the fork and the sources come
from it; given as a name, only the name is shown.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from sim.errors import did_you_mean
from sim.events import HISTORY, INJECTED, Event
from sim.state import State
from sim.world import JOINT, All, AnyOf, Compare, Condition, Curve, Not, Review, World

SEPARATOR = "-" * 12


def condition_text(c: Condition | None) -> str:
    """A condition in short words: ``{sanctioned: true}`` is "sanctioned", ``{x: false}``
    "not x", comparisons "tension >= 60"; ``any`` / ``all`` / ``not`` as "or", "and", "not".

    >>> from sim.world import condition
    >>> condition_text(condition({"sanctioned": True, "tension": {">=": 60}, "wg": False}))
    'sanctioned and tension >= 60 and not wg'
    """
    if c is None:
        return "always"
    if isinstance(c, Compare):
        if c.op in ("==", "!=") and isinstance(c.value, bool):
            return c.var if (c.value is True) == (c.op == "==") else f"not {c.var}"
        value = c.value if not isinstance(c.value, str) else repr(c.value)
        return f"{c.var} {'=' if c.op == '==' else c.op} {value}"
    if isinstance(c, All):
        return " and ".join(_group(p) for p in c.parts)
    if isinstance(c, AnyOf):
        return " or ".join(_group(p) for p in c.parts)
    if isinstance(c, Not):
        inner = condition_text(c.part)
        return f"not {inner}" if isinstance(c.part, Compare) and " " not in inner \
            else f"not ({inner})"
    return str(c)  # pragma: no cover - every Condition class is handled above


def _group(c: Condition) -> str:
    text = condition_text(c)
    return f"({text})" if isinstance(c, (All, AnyOf)) and len(c.parts) > 1 else text


@attrs.frozen
class Factor:
    """One condition of a review at one tick: its ``when`` (``index`` -1) or modifier
    ``index``; whether it held, and the event since which it held (None: since the
    start, i.e. in the world's initial state). For a modifier in force, ``before`` and
    ``after`` are the probability before and after it was applied (unclamped)."""

    index: int
    text: str
    holds: bool
    since: Event | None
    multiply: float = 1.0
    add: float = 0.0
    before: float = 0.0
    after: float = 0.0

    @property
    def size(self) -> str:
        """"x1.5", "+0.02" or "x0.5 +0.01"."""
        parts = []
        if self.multiply != 1.0:
            parts.append(f"x{self.multiply:g}")
        if self.add != 0.0:
            parts.append(f"{self.add:+g}")
        return " ".join(parts) or "x1"

    @property
    def direction(self) -> str:
        if self.after > self.before:
            return "raises"
        if self.after < self.before:
            return "lowers"
        return "no change"


@attrs.frozen
class TimePassed:
    """A condition that came to hold as time passed (decay or the calendar), not through
    an event: it held by ``time`` (the first event after which it was seen holding)."""

    time: float


@attrs.frozen
class Hazard:
    """Why a review's event happened at its tick: the hazard and its factors."""

    review: Review
    hazard: float            # as recorded by the engine (data "p"), else recomputed
    computed: float          # recomputed from the state at the tick (clamped)
    gate: Factor | None      # the review's ``when`` (None if it has none)
    factors: tuple[Factor, ...]  # every modifier, in file order, in force or not
    base: float = 0.0        # the base probability at the tick (a curve's value there)
    base_note: str = ""      # for a curve: which function of which value

    @property
    def in_force(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.holds)


def p_curve_name(c: Curve) -> str:
    return {"logistic": "logistic", "per_unit": "per-unit chance"}.get(c.kind, c.kind)


def _conditions(rv: Review) -> list[tuple[int, Condition | None]]:
    return [(-1, rv.when)] + [(i, m.when) for i, m in enumerate(rv.modifiers)]


def hazard_factors(events: Sequence[Event], world: World) -> dict[int, Hazard]:
    """For every event of ``events`` produced by a review: its :class:`Hazard`.

    One pass in version order (the order in which the engine recorded the
    events): the state at a review's tick is the fold of every event recorded
    before the review's event; a condition's "since" is the last event after
    which it went from not holding to holding.
    """
    reviews = {r.id: r for r in world.reviews}
    conds = {(rv.id, i): c for rv in world.reviews for i, c in _conditions(rv)}
    state = State(world)
    values = state.values

    def holds(c: Condition | None) -> bool:
        return c is None or c.holds(values)

    truth = {k: holds(c) for k, c in conds.items()}
    since: dict[tuple[str, int], Event | None] = {k: None for k in conds}
    out: dict[int, Hazard] = {}
    for e in sorted(events, key=lambda e: e.version):
        if state.dynamic:                 # decay and the clock: values at the event's time
            state.advance(e.time)
            for k, c in conds.items():    # turned true by time passing: no event to name
                t = holds(c)
                if t and not truth[k]:
                    since[k] = TimePassed(e.time)
                truth[k] = t
        rv = reviews.get(e.rule) if e.rule and e.origin not in (HISTORY, INJECTED) else None
        if rv is not None:
            p = rv.probability
            note = ""
            if isinstance(p, Curve):      # a hazard of a variable: its value at the tick
                x = values[p.var]
                p = p(values)
                note = f" ({p_curve_name(rv.probability)} of {rv.probability.var} = {x:.4g})"
            base = p
            factors = []
            for i, m in enumerate(rv.modifiers):
                k = (rv.id, i)
                before = p
                if truth[k]:
                    p = p * m.multiply + m.add
                factors.append(Factor(i, condition_text(m.when), truth[k], since[k],
                                      m.multiply, m.add, before, p))
            computed = min(1.0, max(0.0, p))
            gate = (Factor(-1, condition_text(rv.when), truth[(rv.id, -1)], since[(rv.id, -1)])
                    if rv.when is not None else None)
            recorded = (e.data or {}).get("p")
            out[e.version] = Hazard(rv, float(recorded) if recorded is not None else computed,
                                    computed, gate, tuple(factors), base, note)
        state.apply(e.kind)
        for k, c in conds.items():
            t = holds(c)
            if t and not truth[k]:
                since[k] = e
            truth[k] = t
    return out


def _sources(sources: Any) -> Mapping[str, Any]:
    if sources is None:
        return {}
    if hasattr(sources, "sources") and not isinstance(sources, Mapping):
        sources = sources.sources
    if isinstance(sources, Mapping):
        return sources
    return {s.id: s for s in sources}


def _p(p: Any) -> str:
    return f"{float(p):.3g}"


def _value(v: Any) -> str:
    """A parameter value as a reader sees it: 0.62, 120, true."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _p(v)
    return str(v)


class _Teller:
    """Formats events of one stream with one world (``drawn``: the replicate's drawn
    ``uncertain:`` values, path -> (value, base value), quoted as drawn)."""

    def __init__(self, events: Sequence[Event], world: World, sources: Any,
                 drawn: Mapping[str, tuple[Any, Any]] | None = None):
        self.world = world
        self.drawn = dict(drawn or {})
        self.sources = _sources(sources)
        self.by_version = {e.version: e for e in events}
        self.rules = {r.id: r for r in world.rules}
        self.reviews = {r.id: r for r in world.reviews}
        self._events = events
        self._hazards: dict[int, Hazard] | None = None

    def drawn_note(self, path: str) -> str:
        """" (drawn; base 0.7)" when ``path`` was drawn for this replicate, else ''."""
        if path not in self.drawn:
            return ""
        return f" (drawn; base {_value(self.drawn[path][1])})"

    def drawn_lines(self) -> list[str]:
        """One line naming every drawn value, for the head of a story or explanation."""
        if not self.drawn:
            return []
        return ["parameters drawn for this replicate (uncertain:): " + "; ".join(
            f"{p} = {_value(v)} (base {_value(b)})" for p, (v, b) in self.drawn.items())]

    def hazard(self, e: Event) -> Hazard | None:
        if self._hazards is None:
            self._hazards = hazard_factors(self._events, self.world)
        return self._hazards.get(e.version)

    def since(self, f: Factor, detail: bool = False) -> str:
        if f.since is None:
            return "since the start"
        if isinstance(f.since, TimePassed):
            return f"by {self.date(f.since.time)} (as time passed: decay or the calendar)"
        text = f"since {self.date(f.since.time)}"
        return text + (f" ({self.label(f.since)}, event {f.since.version})" if detail else "")

    def modifier(self, f: Factor, detail: bool = False, review: str = "") -> str:
        """The same words in ``story`` and ``why``: "x1.5 (raises) because sanctioned since
        2019-10-09"; ``why`` adds the event that made the condition hold."""
        drawn = "".join(self.drawn_note(f"reviews.{review}.modifiers.{f.index}.{k}")
                        for k in ("multiply", "add"))
        return f"{f.size}{drawn} ({f.direction}) because {f.text} {self.since(f, detail)}"

    def review_reason(self, e: Event, hz: Hazard) -> str:
        """One line for ``story``: the hazard of the tick and the modifiers in force."""
        rv = hz.review
        mods = [self.modifier(f, review=rv.id) for f in hz.in_force]
        drawn = self.drawn_note(f"reviews.{rv.id}.probability")
        why_p = (f"base {_p(hz.base)}{drawn}{hz.base_note}; " + "; ".join(mods)) if mods \
            else f"the base probability{drawn}, no modifier in force"
        text = f"review {rv.id} by {rv.actor}: fired by chance at a tick, hazard {_p(hz.hazard)}"
        if abs(hz.computed - hz.hazard) > 1e-9:
            return (text + f" as recorded, but the world given here has {_p(hz.computed)} "
                    f"({why_p}): not the world this replicate ran with")
        return f"{text} ({why_p})"

    def review_lines(self, hz: Hazard, indent: str) -> list[str]:
        """The lines under a review's event in ``why``."""
        rv = hz.review
        out = []
        ticks = (f"ticks every {rv.every:g} days" if rv.every is not None
                 else "ticks on its calendar dates")
        if hz.gate is not None:
            out.append(f"{indent}{ticks} while {hz.gate.text}, {self.since(hz.gate, True)}")
        else:
            out.append(f"{indent}{ticks} after the fork (no 'when')")
        out.append(f"{indent}base probability {_p(hz.base)}"
                   f"{self.drawn_note(f'reviews.{rv.id}.probability')}{hz.base_note}")
        for f in hz.in_force:
            out.append(f"{indent}{self.modifier(f, True, rv.id)}")
        clamp = ""
        raw = hz.in_force[-1].after if hz.in_force else hz.base
        if raw != hz.computed:
            clamp = f" (clamped from {_p(raw)})"
        out.append(f"{indent}= hazard {_p(hz.computed)} at this tick{clamp}")
        if abs(hz.computed - hz.hazard) > 1e-9:
            out.append(f"{indent}(the engine recorded {_p(hz.hazard)}: the world given here "
                       f"is not the one this replicate ran with)")
        off = [f"{f.size} if {f.text}" for f in hz.factors if not f.holds]
        if off:
            out.append(f"{indent}not in force: " + "; ".join(off))
        return out

    def date(self, t: float) -> str:
        return self.world.date(t).isoformat()

    def label_of(self, kind: str) -> str:
        et = self.world.events.get(kind)
        return et.label if et is not None and et.label else kind

    def label(self, e: Event) -> str:
        return self.label_of(e.kind)

    def name(self, actor: str | None) -> str:
        if actor and JOINT in actor:                 # a joint act: every actor, named
            return " & ".join(self.name(a) for a in actor.split(JOINT))
        a = self.world.actors.get(actor) if actor else None
        return a.name if a is not None else str(actor)

    def who(self, e: Event) -> str:
        if not e.actor:
            return ""
        if e.target:
            return f" [{self.name(e.actor)} -> {self.name(e.target)}]"
        return f" [{self.name(e.actor)}]"

    def headline(self, e: Event) -> str:
        return f"{self.date(e.time)}  {self.label(e)}{self.who(e)}"

    def source(self, sid: str | None) -> str:
        if sid is None:
            return "history"
        s = self.sources.get(sid)
        if s is None:
            return f"history; source {sid}"
        pub = getattr(s, "published", None)
        pub = pub.isoformat() if isinstance(pub, dt.date) else pub
        title = getattr(s, "title", None)
        parts = [getattr(s, "outlet", None) or "unknown outlet",
                 f"'{title}'" if title else None, str(pub) if pub else None]
        return "history; " + ", ".join(p for p in parts if p)

    def cause(self, e: Event) -> Event | None:
        return self.by_version.get(e.cause) if e.cause is not None else None

    def reason(self, e: Event, with_cause: bool = True) -> str:
        """Why ``e`` happened, without parentheses."""
        if e.origin == HISTORY:
            return self.source(e.source)
        if e.origin == INJECTED:
            return "injected by the scenario"
        c = self.cause(e) if with_cause else None
        after = f"{self.label(c)} on {self.date(c.time)}" if c is not None else None
        data = e.data or {}
        if e.rule in self.reviews:
            hz = self.hazard(e)
            if hz is not None:
                return self.review_reason(e, hz)
        if e.rule in self.rules:
            r = self.rules[e.rule]
            p = data.get("p", r.probability)
            return (f"rule {r.id}: p={_p(p)}{self.drawn_note(f'rules.{r.id}.probability')}"
                    + (f" after {after}" if after else ""))
        text = "simulated" + (f" by {e.rule}" if e.rule else "")
        return text + (f" after {after}" if after else "")


class _Named:
    def __init__(self, name: str):
        self.name = name


def story(events: Sequence[Event], world: World, sources: Any = None, branch: Any = None,
          fork: float | None = None, stream: str | None = None,
          drawn: Mapping[str, tuple[Any, Any]] | None = None) -> str:
    """One replicate told line by line in date order, the fork marked by a separator.

    ``branch``: a scenario Branch (gives name, fork and sources) or just its name.
    ``drawn``: the replicate's drawn ``uncertain:`` values, path -> (value, base value)
    (``Run.replicate_world``); ``world`` should then be the world with them set. The
    story names them and marks every probability quoted from them "(drawn; base ...)".
    """
    if isinstance(branch, str):
        branch = _Named(branch)
    if fork is None and branch is not None:
        fork = getattr(branch, "fork", None)
    if sources is None and branch is not None:
        sources = getattr(branch, "history_doc", None)
    teller = _Teller(events, world, sources, drawn)
    evs = sorted(events, key=lambda e: (e.time, e.version))
    # a replicate read from the store starts with its branch's history prefix stream;
    # the replicate is the stream of its own (last) events
    # (``stream`` names it when the replicate has no events of its own)
    stream = stream or (events[-1].stream if events else "(empty stream)")
    head = f"Story of {stream} (world {world.name}"
    if branch is not None and getattr(branch, "name", None):
        head += f"; branch {branch.name}"
    if fork is not None:
        head += f"; fork {teller.date(fork)}"
    lines = [head + f"; {len(evs)} events)", *teller.drawn_lines()]
    marked = False

    def mark() -> None:
        if fork is not None:
            lines.append(f"{SEPARATOR} fork {teller.date(fork)}: the model takes over {SEPARATOR}")
        else:
            lines.append(f"{SEPARATOR} the model takes over (fork date not given) {SEPARATOR}")

    for e in evs:
        if not marked and ((fork is not None and e.time >= fork)
                           or (fork is None and e.origin != HISTORY)):
            mark()
            marked = True
        lines.append(f"{teller.headline(e)} ({teller.reason(e)})")
    if not marked and fork is not None:
        mark()
    if not evs:
        lines.append("(no events)")
    return "\n".join(lines)


def elsewhere_text(kind_label: str, branch: str, replicates: Sequence[int], total: int,
                   other_branches: Mapping[str, int] | None = None, show: int = 10) -> str:
    """Where an event that did not occur in one replicate did occur: the replicates of
    the same branch (the first ``show`` of them), or else other branches with counts.

    >>> elsewhere_text("Sanctions", "base", [2, 5], 40)
    'It occurred in 2 of 40 replicates of branch base: 2, 5 (e.g. --replicate 2).'
    """
    if replicates:
        listed = ", ".join(str(i) for i in replicates[:show])
        more = f", ... ({len(replicates) - show} more)" if len(replicates) > show else ""
        return (f"It occurred in {len(replicates)} of {total} replicates of branch {branch}: "
                f"{listed}{more} (e.g. --replicate {replicates[0]}).")
    text = f"{kind_label} never occurred in any of the {total} replicates of branch {branch}"
    others = {b: n for b, n in (other_branches or {}).items() if n}
    if others:
        text += "; it did in branch " + ", ".join(
            f"{b} ({n} replicate{'s' if n != 1 else ''})" for b, n in others.items()) \
            + f" (use --branch {next(iter(others))})"
    return text + "."


def why(events: Sequence[Event], world: World, kind_or_version: str | int,
        sources: Any = None, elsewhere: str | None = None, stream: str | None = None,
        drawn: Mapping[str, tuple[Any, Any]] | None = None) -> str:
    """The chain of causes of one event, back to where it starts.

    ``kind_or_version``: an event version in this stream (int, or a string of
    digits), or an event kind (its first occurrence is explained). Returns a
    message instead if there is no such event in this replicate, with a
    did-you-mean hint when the kind is unknown to the world, and ``elsewhere``
    (e.g. from :func:`elsewhere_text`) appended when the kind did not occur.
    ``stream``: the replicate's name (default: the stream of the last event).
    ``drawn``: as for :func:`story` (the values quoted are marked as drawn).
    """
    teller = _Teller(events, world, sources, drawn)
    # not its history prefix (``stream`` names it when it has no events of its own)
    stream = stream or (events[-1].stream if events else "this replicate")
    target: Event | None
    note = ""
    if isinstance(kind_or_version, int) or str(kind_or_version).isdigit():
        v = int(kind_or_version)
        target = teller.by_version.get(v)
        if target is None:
            span = (f"versions {min(teller.by_version)}..{max(teller.by_version)}"
                    if teller.by_version else "no events")
            return f"{stream} has no event with version {v} (it has {span})."
    else:
        kind = str(kind_or_version)
        if kind not in world.events:
            hint = did_you_mean(kind, world.events)
            return (f"'{kind}' is not an event of world {world.name}"
                    + (f" ({hint})" if hint else "") + ".")
        hits = sorted((e for e in events if e.kind == kind), key=lambda e: (e.time, e.version))
        if not hits:
            return (f"{teller.label_of(kind)} ('{kind}') never occurred in {stream}."
                    + (f"\n{elsewhere}" if elsewhere else ""))
        target = hits[0]
        if len(hits) > 1:
            note = (f" (the first of {len(hits)} occurrences; "
                    f"give a version number for another: {', '.join(str(h.version) for h in hits)})")
    lines = [f"Why: {teller.label(target)} on {teller.date(target.time)} "
             f"({stream}, event {target.version}){note}", *teller.drawn_lines()]
    seen: set[int] = set()
    e: Event | None = target
    prefix = "  "
    last = target
    hz: Hazard | None = None
    while e is not None and e.version not in seen:
        seen.add(e.version)
        last = e
        hz = teller.hazard(e) if e.rule in teller.reviews else None
        if hz is not None:
            # a review has no triggering event: its hazard and the factors behind it
            lines.append(f"{prefix}{teller.headline(e)}: review {hz.review.id} by "
                         f"{hz.review.actor} fired by chance at a tick")
            lines += teller.review_lines(hz, " " * (len(prefix) + 4))
            break
        lines.append(f"{prefix}{teller.headline(e)}: {teller.reason(e, with_cause=False)}")
        prefix = "  <- "
        e = teller.cause(e)
    links = len(seen) - 1
    if hz is not None:
        end = ("The chain ends at a review: a standing decision with no single triggering "
               "event; the conditions above set its chance")
    elif last.origin == HISTORY:
        end = "The chain goes back to history"
    elif last.origin == INJECTED:
        end = "The chain starts with an event injected by the scenario"
    elif last.cause is not None:
        end = f"The chain breaks: cause {last.cause} is not in this stream"
    else:
        end = "The chain starts with a simulated event that records no cause"
    lines.append(f"{end} ({links} link{'s' if links != 1 else ''}).")
    return "\n".join(lines)
