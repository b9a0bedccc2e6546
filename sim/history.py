"""History files: dated, sourced events of a world's vocabulary -> :class:`History`.

This module owns reading and validating ``history.yaml`` against a world, and
the :class:`History` value the scenario loader and engine use: its entries as
:class:`sim.events.Occurrence` objects (:meth:`History.occurrences`) and
history with some entries dropped (:meth:`History.without`, for a scenario's
``drop_history``).

File format (see ``docs/world-language.md``)::

    sources:
      S000: {outlet: Middle East Eye, title: "...", published: 2019-11-15}
    events:
      - {date: 2019-07-12, event: s400_delivered, source: S000, confidence: high,
         granularity: day, note: one line in our own words}

All problems in a file are reported at once as one :class:`InputError`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from sim import schema, schemacheck, yamlfile
from sim.errors import InputError, Problem, did_you_mean
from sim.events import HISTORY, Occurrence, frozen_data
from sim.world import JOINT, World
from sim.worldfile import load_yaml

__all__ = ["Source", "HistoryEntry", "History", "NoMatch", "load_history", "parse_history",
           "CONFIDENCE", "GRANULARITY", "Uncertainty", "parse_uncertainty"]

# the keys and values of each mapping come from the one declarative description (sim.schema)
CONFIDENCE = tuple(schema.ENTRY.key("confidence").schema["enum"])
GRANULARITY = tuple(schema.ENTRY.key("granularity").schema["enum"])
TOP_KEYS = schema.HISTORY.names
ENTRY_KEYS = schema.ENTRY.names
DEFAULT_CONFIDENCE = "medium"
DEFAULT_GRANULARITY = "day"


@attrs.frozen
class Source:
    """A citation: where a history entry's evidence comes from.

    ``identifier`` is a stable public identifier of a primary record (a public law
    number, an Executive Order number, a bill number), when there is one.
    """

    id: str
    outlet: str
    title: str
    published: dt.date
    url: str | None = None
    note: str | None = None
    identifier: str | None = None


@attrs.frozen
class HistoryEntry:
    """One dated event. ``actor``/``target`` are resolved: the entry's own, else the
    event type's. ``line`` is its line in the history file (None if built by hand)."""

    date: dt.date
    event: str
    actor: str | None = None
    target: str | None = None
    source: str | None = None
    confidence: str = DEFAULT_CONFIDENCE
    granularity: str = DEFAULT_GRANULARITY
    note: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    line: int | None = attrs.field(default=None, eq=False)

    def matches(self, drop: Mapping[str, Any]) -> bool:
        """True if this entry is the ``{event, date?}`` that ``drop`` names."""
        if drop.get("event") != self.event:
            return False
        date = drop.get("date")
        if date is None:
            return True
        if isinstance(date, str):
            date = dt.date.fromisoformat(date)
        return date == self.date


class NoMatch(ValueError):
    """Some ``drop_history`` items matched no history entry.

    ``unmatched`` holds their indexes in the ``drop`` list given to
    :meth:`History.without`; ``drops`` is that list.
    """

    def __init__(self, unmatched: tuple[int, ...], drops: tuple[Mapping[str, Any], ...]):
        self.unmatched = unmatched
        self.drops = drops
        what = "; ".join(_describe(drops[i]) for i in unmatched)
        super().__init__(f"no history entry matches: {what}")


def _describe(drop: Mapping[str, Any]) -> str:
    date = drop.get("date")
    return f"{drop.get('event')}" + (f" on {date}" if date is not None else "")


@attrs.frozen
class History:
    """A world's recorded past: cited sources and dated entries in date order."""

    sources: Mapping[str, Source] = attrs.field(factory=dict, hash=False)
    entries: tuple[HistoryEntry, ...] = ()
    file: str | None = attrs.field(default=None, eq=False)

    @classmethod
    def empty(cls) -> History:
        return cls({}, ())

    def __len__(self) -> int:
        return len(self.entries)

    def occurrences(self, world: World) -> tuple[Occurrence, ...]:
        """The entries as occurrences: time = days since ``world.starts``, origin history."""
        return tuple(Occurrence(time=world.day(e.date), kind=e.event, origin=HISTORY,
                                source=e.source, actor=e.actor, target=e.target,
                                data=frozen_data(e.data), note=e.note,
                                granularity=e.granularity, confidence=e.confidence)
                     for e in self.entries)

    def before(self, date: dt.date) -> History:
        """Only the entries strictly before ``date`` (the fork)."""
        return attrs.evolve(self, entries=tuple(e for e in self.entries if e.date < date))

    def matching(self, drop: Mapping[str, Any]) -> tuple[HistoryEntry, ...]:
        """The entries that a ``{event, date?}`` drop item names."""
        return tuple(e for e in self.entries if e.matches(drop))

    def without(self, drop: Iterable[Mapping[str, Any]], strict: bool = True) -> History:
        """History minus every entry matching one of the ``{event, date?}`` items.

        An item without ``date`` drops every entry of that event. With ``strict``
        (the default), items that match nothing raise :class:`NoMatch` naming
        their indexes, so a scenario loader can point at them in its own file.
        """
        drops = tuple(drop)
        if not drops:
            return self
        unmatched = tuple(i for i, d in enumerate(drops) if not self.matching(d))
        if unmatched and strict:
            raise NoMatch(unmatched, drops)
        kept = tuple(e for e in self.entries if not any(e.matches(d) for d in drops))
        return attrs.evolve(self, entries=kept)


# --------------------------------------------------------------------------- uncertainty

@attrs.frozen
class Uncertainty:
    """Opt-in history uncertainty (a scenario's ``history_uncertainty:``).

    ``dates``: an entry whose granularity is week, month or year occurs, in each
    replicate, on a day drawn uniformly from that period (the ISO week, Monday to
    Sunday; the calendar month; the calendar year) that contains its recorded
    date, never before the world's ``starts``. ``keep``: confidence -> probability
    that an entry of that confidence occurs at all in a replicate (confidences not
    named are always kept).

    >>> import datetime as dt
    >>> Uncertainty(dates=True).period(dt.date(2019, 7, 12), "month", dt.date(2019, 1, 1))
    (181.0, 31)
    """

    dates: bool = False
    keep: Mapping[str, float] = attrs.field(factory=dict, hash=False)

    @property
    def active(self) -> bool:
        return self.dates or any(p < 1.0 for p in self.keep.values())

    def period(self, date: dt.date, granularity: str | None, starts: dt.date
               ) -> tuple[float, int]:
        """(first day since ``starts``, number of days) of the period an entry may fall in."""
        if not self.dates or granularity in (None, "day"):
            return float((date - starts).days), 1
        if granularity == "week":
            first = date - dt.timedelta(days=date.weekday())
            last = first + dt.timedelta(days=6)
        elif granularity == "month":
            first = date.replace(day=1)
            nxt = (first + dt.timedelta(days=32)).replace(day=1)
            last = nxt - dt.timedelta(days=1)
        else:
            first, last = dt.date(date.year, 1, 1), dt.date(date.year, 12, 31)
        first = max(first, starts)
        return float((first - starts).days), (last - first).days + 1

    def keep_probability(self, confidence: str | None) -> float:
        return float(self.keep.get(confidence, 1.0)) if confidence is not None else 1.0


def parse_uncertainty(spec: Any, doc: Any, path: tuple) -> Uncertainty:
    """Validate a ``history_uncertainty:`` mapping found at ``path`` of ``doc`` (a scenario):
    ``{dates: true, keep: {low: 0.5, medium: 0.9}}``; InputError listing every problem."""
    schemacheck.check_value(doc, path, spec, schema.UNCERTAIN_HISTORY).raise_if_any()
    keep = spec.get("keep") or {}
    return Uncertainty(spec.get("dates") is True, {c: float(p) for c, p in keep.items()})


# --------------------------------------------------------------------------- reading

def load_history(path: str | Path, world: World) -> History:
    """Read and validate the history file at ``path`` against ``world``."""
    return parse_history(load_yaml(path), world)


def parse_history(doc: yamlfile.Located, world: World) -> History:
    """Validate and build a History from a loaded YAML document; raise :class:`InputError`
    listing every problem found: the structural ones (:mod:`sim.schemacheck`), then those
    against the world and across entries."""
    checked = schemacheck.check(doc, schema.HISTORY, "a history file")
    problems: list[Problem] = list(checked.problems)
    ok = checked.clean

    def add(path: tuple, message: str, hint: str | None = None) -> None:
        problems.append(doc.problem(path, message, hint))

    data = doc.data
    sources: dict[str, Source] = {}
    sec = data.get("sources")
    for sid, spec in (sec.items() if isinstance(sec, Mapping) else ()):
        spec = spec if isinstance(spec, Mapping) else {}
        text = {k: v if isinstance(v, str) else None for k, v in spec.items()}
        published = spec.get("published")
        sources[sid] = Source(sid, text.get("outlet") or "", text.get("title") or "",
                              published if _is_date(published) else dt.date.min,
                              text.get("url"), text.get("note"), text.get("identifier"))

    entries: list[HistoryEntry] = []
    events = data.get("events")
    last: tuple[dt.date, int | None] | None = None
    once_seen: dict[str, int | None] = {}
    for i, spec in enumerate(events if isinstance(events, list) else []):
        path = ("events", i)
        line, _ = doc.where(path)
        if not isinstance(spec, Mapping):
            continue
        before = len(problems)
        date = spec.get("date") if ok(path + ("date",)) else None
        if date is not None:
            if date < world.starts:
                add(path + ("date",), f"{date} is before the world starts ({world.starts})",
                    "drop the entry, or move the world's 'starts' earlier")
            if last is not None and date < last[0]:
                add(path + ("date",), f"entries out of order: {date} comes after "
                                      f"{last[0]} (line {last[1]})",
                    "history entries must be in date order")
            else:
                last = (date, line)
        kind = spec.get("event")
        etype = None
        if kind is not None and ok(path + ("event",)):
            if kind in world.events:
                etype = world.events[kind]
            else:
                add(path + ("event",), f"unknown event '{kind}' (not in world '{world.name}')",
                    did_you_mean(str(kind), world.events)
                    or "use an event defined under 'events' in the world file")
        if etype is not None and etype.once:
            if kind in once_seen:
                add(path + ("event",), f"'{kind}' is a once event but already occurs at line "
                                       f"{once_seen[kind]}", "keep one entry for it")
            else:
                once_seen[kind] = line
        who: dict[str, str | None] = {}
        for k in ("actor", "target"):
            v = spec.get(k) if ok(path + (k,)) else None
            names = v if isinstance(v, list) else [] if v is None else [v]
            for j, a in enumerate(names):
                if a not in world.actors:
                    add(path + (k, j) if isinstance(v, list) else path + (k,),
                        f"unknown actor '{a}'", did_you_mean(str(a), world.actors))
            if isinstance(v, list):                  # a joint act: actor: [USA, TUR]
                if len(set(v)) != len(v):
                    add(path + (k,), "a joint act needs two or more different actors",
                        "e.g. actor: [USA, TUR]; one actor is written actor: USA")
                v = JOINT.join(v)
            who[k] = v if v is not None else getattr(etype, k, None)
        source = spec.get("source")
        if source is not None and ok(path + ("source",)) and source not in sources:
            add(path + ("source",), f"unknown source '{source}'",
                did_you_mean(str(source), sources) or "add it under 'sources'")
        extra = spec.get("data")
        if extra is not None and ok(path + ("data",)) and not _jsonable(extra):
            add(path + ("data",), "'data' must be a mapping of names to plain values",
                "e.g. data: {units: 4}")
        if len(problems) > before or not ok(path):
            continue
        entries.append(HistoryEntry(date, kind, who["actor"], who["target"], source,
                                    spec.get("confidence") or DEFAULT_CONFIDENCE,
                                    spec.get("granularity") or DEFAULT_GRANULARITY,
                                    spec.get("note"), dict(extra or {}), line))

    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.line is None, p.line or 0)))
    return History(sources, tuple(entries), str(doc.file))


def _is_date(v: Any) -> bool:
    return isinstance(v, dt.date) and not isinstance(v, dt.datetime)


def _jsonable(v: Any) -> bool:
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, list):
        return all(_jsonable(x) for x in v)
    if isinstance(v, Mapping):
        return all(isinstance(k, str) and _jsonable(x) for k, x in v.items())
    return False
