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
  starts (usually a history event) and names each link's rule, review or
  source.

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

from sim.errors import did_you_mean
from sim.events import HISTORY, INJECTED, Event
from sim.world import JOINT, World

SEPARATOR = "-" * 12


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


class _Teller:
    """Formats events of one stream with one world."""

    def __init__(self, events: Sequence[Event], world: World, sources: Any):
        self.world = world
        self.sources = _sources(sources)
        self.by_version = {e.version: e for e in events}
        self.rules = {r.id: r for r in world.rules}
        self.reviews = {r.id: r for r in world.reviews}

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
            rv = self.reviews[e.rule]
            p = data.get("p", rv.probability)
            text = f"review {rv.id} by {rv.actor}: p={_p(p)} this period"
            return text + (f"; state changed by {after}" if after else "")
        if e.rule in self.rules:
            r = self.rules[e.rule]
            p = data.get("p", r.probability)
            return f"rule {r.id}: p={_p(p)}" + (f" after {after}" if after else "")
        text = "simulated" + (f" by {e.rule}" if e.rule else "")
        return text + (f" after {after}" if after else "")


class _Named:
    def __init__(self, name: str):
        self.name = name


def story(events: Sequence[Event], world: World, sources: Any = None, branch: Any = None,
          fork: float | None = None) -> str:
    """One replicate told line by line in date order, the fork marked by a separator.

    ``branch``: a scenario Branch (gives name, fork and sources) or just its name.
    """
    if isinstance(branch, str):
        branch = _Named(branch)
    if fork is None and branch is not None:
        fork = getattr(branch, "fork", None)
    if sources is None and branch is not None:
        sources = getattr(branch, "history_doc", None)
    teller = _Teller(events, world, sources)
    evs = sorted(events, key=lambda e: (e.time, e.version))
    # a replicate read from the store starts with its branch's history prefix stream;
    # the replicate is the stream of its own (last) events
    stream = events[-1].stream if events else "(empty stream)"
    head = f"Story of {stream} (world {world.name}"
    if branch is not None and getattr(branch, "name", None):
        head += f"; branch {branch.name}"
    if fork is not None:
        head += f"; fork {teller.date(fork)}"
    lines = [head + f"; {len(evs)} events)"]
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


def why(events: Sequence[Event], world: World, kind_or_version: str | int,
        sources: Any = None) -> str:
    """The chain of causes of one event, back to where it starts.

    ``kind_or_version``: an event version in this stream (int, or a string of
    digits), or an event kind (its first occurrence is explained). Returns a
    message instead if there is no such event in this replicate, with a
    did-you-mean hint when the kind is unknown to the world.
    """
    teller = _Teller(events, world, sources)
    stream = events[-1].stream if events else "this replicate"  # not its history prefix
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
            return (f"{teller.label_of(kind)} ('{kind}') never occurred in {stream}.")
        target = hits[0]
        if len(hits) > 1:
            note = (f" (the first of {len(hits)} occurrences; "
                    f"give a version number for another: {', '.join(str(h.version) for h in hits)})")
    lines = [f"Why: {teller.label(target)} on {teller.date(target.time)} "
             f"({stream}, event {target.version}){note}"]
    seen: set[int] = set()
    e: Event | None = target
    prefix = "  "
    last = target
    while e is not None and e.version not in seen:
        seen.add(e.version)
        lines.append(f"{prefix}{teller.headline(e)}: {teller.reason(e, with_cause=False)}")
        prefix = "  <- "
        last = e
        e = teller.cause(e)
    links = len(seen) - 1
    if last.origin == HISTORY:
        end = "The chain goes back to history"
    elif last.origin == INJECTED:
        end = "The chain starts with an event injected by the scenario"
    elif last.cause is not None:
        end = f"The chain breaks: cause {last.cause} is not in this stream"
    else:
        end = "The chain starts with a simulated event that records no cause"
    lines.append(f"{end} ({links} link{'s' if links != 1 else ''}).")
    return "\n".join(lines)
