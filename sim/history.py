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

from sim import schema, yamlfile
from sim.errors import InputError, Problem, did_you_mean, foreign, not_this_kind
from sim.events import HISTORY, Occurrence, frozen_data
from sim.world import JOINT, World
from sim.worldfile import load_yaml
from sim.worldfile import type_name as _type_name

__all__ = ["Source", "HistoryEntry", "History", "NoMatch", "load_history", "parse_history",
           "CONFIDENCE", "GRANULARITY", "Uncertainty", "parse_uncertainty"]

CONFIDENCE = ("high", "medium", "low")
GRANULARITY = ("day", "week", "month", "year")
# the keys of each mapping come from the one declarative description (sim.schema)
TOP_KEYS = schema.HISTORY.names
SOURCE_KEYS = schema.SOURCE.names
SOURCE_REQUIRED = schema.SOURCE.required
ENTRY_KEYS = schema.ENTRY.names
ENTRY_REQUIRED = schema.ENTRY.required
DEFAULT_CONFIDENCE = "medium"
DEFAULT_GRANULARITY = "day"
DATE_HINT = "write an ISO date like 2019-07-12"


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


def parse_uncertainty(spec: Any, doc: yamlfile.Located, path: tuple) -> Uncertainty:
    """Validate a ``history_uncertainty:`` mapping found at ``path`` of ``doc`` (a scenario):
    ``{dates: true, keep: {low: 0.5, medium: 0.9}}``; InputError listing every problem."""
    problems: list[Problem] = []
    form = "history_uncertainty: {dates: true, keep: {low: 0.5}}"
    if not isinstance(spec, Mapping):
        raise InputError(doc.problem(path, "'history_uncertainty' must be a mapping, not "
                                           f"{_type_name(spec)}", f"e.g. {form}"))
    for k in spec:
        if k not in ("dates", "keep"):
            problems.append(doc.problem(path + (k,), f"unknown key '{k}' in history_uncertainty",
                                        did_you_mean(str(k), ("dates", "keep")), key=True))
    dates = spec.get("dates", False)
    if not isinstance(dates, bool):
        problems.append(doc.problem(path + ("dates",), "'dates' must be true or false",
                                    "dates: true draws week/month/year entries' dates"))
    keep = spec.get("keep", {})
    if not isinstance(keep, Mapping):
        problems.append(doc.problem(path + ("keep",), "'keep' must map confidences to "
                                    "probabilities", f"e.g. {form}"))
        keep = {}
    for c, p in keep.items():
        if c not in CONFIDENCE:
            problems.append(doc.problem(path + ("keep", c), f"unknown confidence {c!r}",
                                        did_you_mean(str(c), CONFIDENCE), key=True))
        elif (isinstance(p, bool) or not isinstance(p, (int, float))
              or not 0.0 <= p <= 1.0):
            problems.append(doc.problem(path + ("keep", c), f"the probability of keeping "
                                        f"'{c}' entries must be a number from 0 to 1, not {p!r}",
                                        "e.g. keep: {low: 0.5}"))
    if problems:
        raise InputError(problems)
    return Uncertainty(bool(dates), {c: float(p) for c, p in keep.items()})


# --------------------------------------------------------------------------- reading

def load_history(path: str | Path, world: World) -> History:
    """Read and validate the history file at ``path`` against ``world``."""
    return parse_history(load_yaml(path), world)


def parse_history(doc: yamlfile.Located, world: World) -> History:
    """Validate and build a History from a loaded YAML document; raise :class:`InputError`
    listing every problem found."""
    problems: list[Problem] = []

    def add(path: tuple, message: str, hint: str | None = None, key: bool = False) -> None:
        problems.append(doc.problem(path, message, hint, key=key))

    def keys(path: tuple, mapping: Mapping, allowed: tuple, required: tuple, what: str) -> None:
        for k in mapping:
            if k not in allowed:
                add(path + (k,), f"unknown key '{k}' in {what}", did_you_mean(k, allowed),
                    key=True)
        for k in required:
            if k not in mapping:
                add(path, f"{what} is missing '{k}'", f"required keys: {', '.join(required)}")

    data = doc.data
    if not isinstance(data, Mapping):
        raise InputError(doc.problem((), "a history file must be a mapping at the top level, "
                                         f"not {_type_name(data)}",
                                     "expected 'sources:' (citations) and 'events:' "
                                     "(a list of dated entries)"))
    if foreign(data, TOP_KEYS):
        raise InputError(not_this_kind(doc, "a history file", TOP_KEYS))
    keys((), data, TOP_KEYS, schema.HISTORY.required, "the history file")

    sources: dict[str, Source] = {}
    sec = data.get("sources")
    if sec is not None and not isinstance(sec, Mapping):
        add(("sources",), f"'sources' must be a mapping of citation ids, not {_type_name(sec)}",
            "e.g. sources: {S000: {outlet: ..., title: ..., published: 2019-11-15}}")
        sec = None
    for sid, spec in (sec or {}).items():
        path = ("sources", sid)
        if not isinstance(sid, str):
            add(path, f"source id {sid!r} must be text", "e.g. S000", key=True)
            continue
        if not isinstance(spec, Mapping):
            add(path, f"source '{sid}' must be a mapping, not {_type_name(spec)}",
                "expected {outlet: ..., title: ..., published: 2019-11-15}")
            sources[sid] = Source(sid, "", "", dt.date.min)
            continue
        keys(path, spec, SOURCE_KEYS, SOURCE_REQUIRED, f"source '{sid}'")
        fields: dict[str, Any] = {}
        for k in ("outlet", "title", "identifier", "url", "note"):
            v = spec.get(k)
            if v is not None and not isinstance(v, str):
                add(path + (k,), f"the {k} of source '{sid}' must be text, not {_type_name(v)}")
                v = None
            fields[k] = v
        published = spec.get("published")
        if "published" in spec and not _is_date(published):
            add(path + ("published",), f"the publication date of '{sid}' must be a date, "
                                       f"not {_type_name(published)} ({published!r})",
                DATE_HINT)
        if not _is_date(published):
            published = dt.date.min
        sources[sid] = Source(sid, fields["outlet"] or "", fields["title"] or "", published,
                              fields["url"], fields["note"], fields["identifier"])

    entries: list[HistoryEntry] = []
    events = data.get("events")
    if events is not None and not isinstance(events, list):
        add(("events",), f"'events' must be a list of entries, not {_type_name(events)}",
            "e.g. events: [{date: 2019-07-12, event: s400_delivered, source: S000}]")
        events = []
    last: tuple[dt.date, int | None] | None = None
    once_seen: dict[str, int | None] = {}
    for i, spec in enumerate(events or []):
        path = ("events", i)
        line, _ = doc.where(path)
        if not isinstance(spec, Mapping):
            add(path, f"history entry #{i + 1} must be a mapping, not {_type_name(spec)}",
                "expected {date: 2019-07-12, event: ..., source: ...}")
            continue
        before = len(problems)
        keys(path, spec, ENTRY_KEYS, ENTRY_REQUIRED, f"history entry #{i + 1}")
        date = spec.get("date")
        if "date" in spec and not _is_date(date):
            add(path + ("date",), f"'date' must be a date, not {_type_name(date)} ({date!r})",
                DATE_HINT)
        elif _is_date(date):
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
        if "event" in spec:
            if isinstance(kind, str) and kind in world.events:
                etype = world.events[kind]
            else:
                add(path + ("event",), f"unknown event '{kind}' (not in world "
                                       f"'{world.name}')",
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
            v = spec.get(k)
            if k == "actor" and isinstance(v, list):       # a joint act: actor: [USA, TUR]
                for j, a in enumerate(v):
                    if not (isinstance(a, str) and a in world.actors):
                        add(path + (k, j), f"unknown actor '{a}'",
                            did_you_mean(str(a), world.actors))
                if len(v) < 2 or len(set(map(str, v))) != len(v):
                    add(path + (k,), "a joint act needs two or more different actors",
                        "e.g. actor: [USA, TUR]; one actor is written actor: USA")
                v = JOINT.join(map(str, v))
            elif v is not None and not (isinstance(v, str) and v in world.actors):
                add(path + (k,), f"unknown actor '{v}'", did_you_mean(str(v), world.actors))
            who[k] = v if v is not None else getattr(etype, k, None)
        source = spec.get("source")
        if isinstance(source, Mapping):
            add(path + ("source",), "'source' must be a citation id, not a mapping",
                "put the outlet, title and published date under 'sources:' with an id, "
                "e.g. S000, and write source: S000")
        elif "source" in spec and not (isinstance(source, str) and source in sources):
            add(path + ("source",), f"unknown source '{source}'",
                did_you_mean(str(source), sources) or "add it under 'sources'")
        conf = spec.get("confidence", DEFAULT_CONFIDENCE)
        if conf not in CONFIDENCE:
            add(path + ("confidence",), f"unknown confidence {conf!r}",
                did_you_mean(str(conf), CONFIDENCE))
        gran = spec.get("granularity", DEFAULT_GRANULARITY)
        if gran not in GRANULARITY:
            add(path + ("granularity",), f"unknown granularity {gran!r}",
                did_you_mean(str(gran), GRANULARITY))
        note = spec.get("note")
        if note is not None and not isinstance(note, str):
            add(path + ("note",), f"'note' must be one line of text, not {_type_name(note)}")
        extra = spec.get("data")
        if extra is not None and not (isinstance(extra, Mapping) and all(
                isinstance(k, str) and _jsonable(v) for k, v in extra.items())):
            add(path + ("data",), "'data' must be a mapping of names to plain values",
                "e.g. data: {units: 4}")
        if len(problems) > before:
            continue
        entries.append(HistoryEntry(date, kind, who["actor"], who["target"], source, conf, gran,
                                    note, dict(extra or {}), line))

    if problems:
        raise InputError(problems)
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
