"""The event store: append-only streams of :class:`sim.events.Event`, in SQLite or in memory.

This module owns persistence of events: the :class:`EventStore` interface, its two
backends (:class:`SQLiteStore`, the embedded default, and :class:`MemoryStore`, for
tests and notebooks), stream forks, digests (seals) and JSONL export/import.

Streams and versions
    A stream is a named sequence of events with 1-based, contiguous versions.
    ``append(stream, events, expected_version)`` is all-or-nothing and raises
    :class:`sim.errors.ConcurrencyError` when the stream is not at
    ``expected_version`` (0 for a new stream; appending to a missing stream creates it).
    ``version()`` of a missing stream is 0 and ``read()`` of it is ``[]``; ``fork``,
    ``seal``, ``set_meta``, ``digest`` and ``meta`` of a missing stream raise
    :class:`UnknownStreamError` (a ``KeyError``).
    Stored times are floats: ints are converted, ``-0.0`` is stored as ``0.0`` and
    NaN is refused (``ValueError``). ``data`` must be JSON-able (str keys); both
    backends store what JSON gives back, so tuples come back as lists.

Fork by reference
    ``fork(parent, k, child)`` records only ``(parent, k)``: the child reads as the
    parent's first ``k`` events followed by its own, whose versions continue at
    ``k + 1``. No event row is copied and the parent is never changed (it may grow
    past ``k``; the child still sees only ``k``). Forks of forks resolve recursively.
    Events read through a child keep their stored values: their ``stream`` field names
    the stream that owns them (the parent). A branch's replicates thus share its
    history prefix.

Schema (SQLite, ``PRAGMA application_id`` = 0x53494D53 "SIMS", ``user_version`` = 1)::

    streams(id INTEGER PRIMARY KEY, name TEXT UNIQUE, parent INTEGER, fork_version INTEGER,
            version INTEGER,                 -- total, prefix included
            digest TEXT,                     -- NULL until sealed
            meta TEXT)                       -- JSON object or NULL
    shapes(id INTEGER PRIMARY KEY, kind, actor, target, rule, origin, source)
    events(stream INTEGER, version INTEGER, time REAL, shape INTEGER,
           data TEXT,                        -- JSON, NULL when empty
           cause INTEGER, PRIMARY KEY (stream, version)) WITHOUT ROWID

    A *shape* interns the six string fields of an event (kind, actor, target, rule,
    origin, source): a simulation produces few distinct combinations, so an event row
    is just six small columns, clustered by (stream, version). Rows are written with
    ``executemany``; reads are one range scan per fork segment.

Speed (benchmarks/store.py)
    Appends validate each event once and write one ``executemany`` per append; shapes
    are cached in memory. Reads decode rows straight into Events with the cyclic GC
    paused (it otherwise dominates large replays); a decoded prefix (stream, version)
    is cached, so a branch's shared history is decoded once for all its replicates.
    ``iter_streams`` is one ordered scan; ``first_times`` one scan of the kind's rows.
    Building an attrs Event costs about 1 us, which bounds full replays at roughly
    1M events/s on this hardware; ``first_times`` builds no Events.

Digests
    ``seal(stream)`` records ``sha256`` (hex) of the canonical encoding of the stream's
    full ``read()`` (prefix included)::

        json.dumps([[e.version, e.time, e.kind, e.actor, e.target, dict(e.data), e.cause,
                     e.rule, e.origin, e.source] for e in events],
                   sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                   allow_nan=True).encode("ascii")

    The ``stream`` field is left out, so a digest depends only on content: the same
    scenario and seed give the same digests whatever the stream names. Floats are
    written by ``repr`` (exact). A sealed stream refuses appends
    (:class:`SealedStreamError`); ``verify()`` recomputes every sealed digest.

Transactions and durability
    Outside :meth:`EventStore.batch` each call is its own transaction; inside, all calls
    form one (``BEGIN IMMEDIATE``), and an exception leaving the ``with`` block stores
    nothing of the batch. SQLite runs in WAL mode with ``synchronous=NORMAL``: a
    committed batch survives a crash of the process (it is in the WAL file, which the
    next open replays); a power loss or OS crash may lose the last committed batches
    but cannot corrupt the file. We chose this over ``FULL`` (an fsync per commit)
    because runs are re-creatable from their seed while commit latency is not free.
    A damaged or foreign file gives :class:`sim.errors.StoreError` naming the file.

>>> from sim.events import Event
>>> store = MemoryStore()
>>> store.append("base", [Event("base", 1, 0.0, "talks"), Event("base", 2, 5.0, "deal")], 0)
2
>>> store.fork("base", 1, "base/0")
>>> store.append("base/0", [Event("base/0", 2, 7.5, "walkout")], 1)
2
>>> [(e.stream, e.version, e.kind) for e in store.read("base/0")]
[('base', 1, 'talks'), ('base/0', 2, 'walkout')]
>>> store.first_times("walkout")
{'base/0': 7.5}
>>> len(store.seal("base/0"))
64
"""
from __future__ import annotations

import abc
import contextlib
import functools
import gc
import hashlib
import json
import numbers
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import attrs

from sim.errors import ConcurrencyError, Problem, StoreError, did_you_mean
from sim.events import _EMPTY, Event, FrozenData, frozen_data

SCHEMA_VERSION = 1
APPLICATION_ID = 0x53494D53  # "SIMS"
JSONL_FORMAT = "sim-event-store"

_INT64 = 2**63
_loads = json.loads
_dumps = json.dumps


def _meta(text: str | None) -> dict:
    """A stream's metadata from its JSON text; a StoreError if it is not a JSON object
    (the file was edited or damaged)."""
    if not text:
        return {}
    try:
        meta = _loads(text)
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict):
        raise StoreError(Problem(None, None, None, "the store is damaged: a stream's "
                                 "metadata is not a JSON object",
                                 "run sim verify; re-run the scenario to rebuild the store"))
    return meta


class SealedStreamError(ConcurrencyError):
    """An append to a sealed stream."""


class UnknownStreamError(KeyError):
    """A stream that does not exist in the store."""

    def __init__(self, name: str, known: Iterable[str] = ()):
        hint = did_you_mean(name, known) if known else None
        self.name = name
        self.text = f"no stream {name!r} in the store" + (f" ({hint})" if hint else "")
        super().__init__(self.text)

    def __str__(self) -> str:
        return self.text


@attrs.frozen
class StreamInfo:
    """One stream's record: ``version`` includes the inherited prefix."""

    name: str
    parent: str | None
    fork_version: int
    version: int
    sealed: bool
    digest: str | None
    meta: dict[str, Any]


# --------------------------------------------------------------------------- shared helpers


def canonical(events: Iterable[Event]) -> bytes:
    """The canonical encoding the digest is computed over (see the module docstring)."""
    return _dumps([[e.version, e.time, e.kind, e.actor, e.target, dict(e.data), e.cause,
                    e.rule, e.origin, e.source] for e in events],
                  sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                  allow_nan=True).encode("ascii")


_canon = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=True).encode   # json.dumps with canonical()'s settings


def _canonical_scalar(x: Any) -> str:
    """What :func:`canonical` writes for an int, float or None (json's own rules)."""
    t = type(x)
    if t is int:
        return int.__repr__(x)
    if t is float and x == x and x not in (_INF, -_INF):
        return float.__repr__(x)
    return _canon(x)


_INF = float("inf")


def digest_of(events: Iterable[Event]) -> str:
    """sha256 hex of :func:`canonical` of ``events``."""
    return hashlib.sha256(canonical(events)).hexdigest()


def _meta_json(meta: Any) -> str | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise ValueError(f"stream metadata must be a dict, not {type(meta).__name__}")
    try:
        return _dumps(meta, sort_keys=True, ensure_ascii=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"stream metadata is not JSON-able: {exc}") from None


def _check_shape(shape: tuple) -> None:
    kind, actor, target, rule, origin, source = shape
    if not isinstance(kind, str):
        raise ValueError(f"event kind must be a str, not {kind!r}")
    if not isinstance(origin, str):
        raise ValueError(f"event origin must be a str, not {origin!r}")
    for field, val in (("actor", actor), ("target", target), ("rule", rule),
                       ("source", source)):
        if val is not None and not isinstance(val, str):
            raise ValueError(f"event {field} must be a str or None, not {val!r}")


def _prepare(stream: str, events: Sequence[Event], expected: int, known: dict
             ) -> list[tuple[Event, tuple, str | None]]:
    """Validate ``events`` for an append at ``expected``; normalise time.

    Returns (event, shape, data JSON or None) per event. ``known`` caches validated
    shapes (any mapping whose keys are shapes already checked).
    """
    out = []
    v = expected
    for e in events:
        v += 1
        if type(e) is not Event:
            raise ValueError(f"expected sim.events.Event, got {type(e).__name__}")
        if e.version != v:
            raise ValueError(f"stream {stream!r}: event versions must run {expected + 1}.."
                             f"{expected + len(events)} after expected_version {expected}; "
                             f"event {v - expected} has version {e.version!r}")
        if e.stream != stream:
            raise ValueError(f"event {e.version} names stream {e.stream!r}, "
                             f"appended to {stream!r}")
        t = e.time
        if type(t) is not float or t == 0.0 or t != t:
            if isinstance(t, bool) or not isinstance(t, numbers.Real):
                raise ValueError(f"stream {stream!r} event {v}: time must be a number, "
                                 f"not {t!r}")
            t = float(t)
            if t != t:
                raise ValueError(f"stream {stream!r} event {v}: time is NaN")
            if t == 0.0:
                t = 0.0
            e = e.evolve(time=t)
        c = e.cause
        if c is not None and (type(c) is not int or not -_INT64 <= c < _INT64):
            raise ValueError(f"stream {stream!r} event {v}: cause must be a 64-bit int or "
                             f"None, not {c!r}")
        shape = (e.kind, e.actor, e.target, e.rule, e.origin, e.source)
        if shape not in known:
            _check_shape(shape)
        d = e.data
        if d:
            try:
                dj = _encode_data(d)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"stream {stream!r} event {v}: data is not JSON-able: "
                                 f"{exc}") from None
        else:
            dj = None
        out.append((e, shape, dj))
    return out


# Event data payloads repeat a great deal (e.g. a review's {"p": hazard} takes a few
# values), so each distinct payload is encoded and decoded once and the immutable
# result shared. Keys carry the value types, so 1, 1.0 and True never share an entry.
_DATA_CACHE_MAX = 4096
_ENCODED: dict[tuple, str] = {}
_DECODED: dict[str, Any] = {}


def _encode_data(d: Any) -> str:
    try:
        key = tuple((k, type(v), v) for k, v in d.items())
        got = _ENCODED.get(key)
    except TypeError:  # an unhashable value (a list): encode it every time
        return _dumps(dict(d), ensure_ascii=True, sort_keys=True)
    if got is None:
        got = _dumps(dict(d), ensure_ascii=True, sort_keys=True)
        if len(_ENCODED) >= _DATA_CACHE_MAX:
            _ENCODED.clear()
        _ENCODED[key] = got
    return got


def _decode_data(text: str) -> Any:
    got = _DECODED.get(text)
    if got is None:
        got = FrozenData(_loads(text))
        if len(_DECODED) >= _DATA_CACHE_MAX:
            _DECODED.clear()
        _DECODED[text] = got
    return got


def _gc_paused(fn: Any) -> Any:
    """Run ``fn`` with the cyclic GC paused: appends and reads allocate many small
    acyclic objects, and collections triggered by them would scan the whole heap."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return wrapper


def _open_text(path_or_file: str | os.PathLike | IO[str], mode: str):
    if isinstance(path_or_file, (str, os.PathLike)):
        return open(path_or_file, mode, encoding="utf-8", newline="\n")
    return contextlib.nullcontext(path_or_file)


# --------------------------------------------------------------------------- interface


class EventStore(abc.ABC):
    """Append-only streams of events; see the module docstring for the semantics."""

    # ---- writing
    @abc.abstractmethod
    def append(self, stream: str, events: Iterable[Event], expected_version: int) -> int:
        """Append ``events`` (versions ``expected_version + 1 ..``); return the new version."""

    @abc.abstractmethod
    def create(self, stream: str, meta: dict | None = None) -> None:
        """Create an empty stream (ConcurrencyError if it exists)."""

    @abc.abstractmethod
    def fork(self, parent: str, at_version: int, new_stream: str,
             meta: dict | None = None) -> None:
        """Create ``new_stream`` reading as ``parent``'s first ``at_version`` events."""

    @abc.abstractmethod
    def set_meta(self, stream: str, meta: dict | None) -> None:
        """Replace a stream's metadata (allowed on sealed streams)."""

    @abc.abstractmethod
    def seal(self, stream: str) -> str:
        """Record and return the stream's digest; it then refuses appends.

        Sealing a sealed stream returns its recorded digest.
        """

    @abc.abstractmethod
    def batch(self) -> contextlib.AbstractContextManager[None]:
        """One transaction for every call inside the ``with`` block (nestable)."""

    # ---- reading
    @abc.abstractmethod
    def read(self, stream: str, upto_version: int | None = None,
             as_of: float | None = None) -> list[Event]:
        """Events of ``stream`` (prefix included) with version <= ``upto_version`` and
        time <= ``as_of`` (a filter, in version order); ``[]`` for a missing stream."""

    @abc.abstractmethod
    def version(self, stream: str) -> int:
        """The stream's last version, prefix included; 0 if it does not exist."""

    @abc.abstractmethod
    def streams(self) -> list[StreamInfo]:
        """Every stream, in creation order (a parent always precedes its forks)."""

    def iter_infos(self) -> Iterator[StreamInfo]:
        """The same as :meth:`streams`, one at a time (memory flat in the number of
        streams where the backend can)."""
        yield from self.streams()

    @abc.abstractmethod
    def iter_streams(self, names: Iterable[str] | None = None
                     ) -> Iterator[tuple[str, list[Event]]]:
        """(name, full read) of every stream (or of those in ``names`` that exist), in
        creation order (not the order of ``names``)."""

    @abc.abstractmethod
    def by_kind(self, kind: str, streams: Iterable[str] | None = None) -> list[Event]:
        """Events of ``kind`` across streams, by stream then version.

        Only each stream's OWN events count: an event in a shared prefix is returned
        once, under the stream that owns it (when that stream is selected).
        """

    @abc.abstractmethod
    def first_times(self, kind: str, streams: Iterable[str] | None = None,
                    since: float | None = None) -> dict[str, float]:
        """Earliest time of ``kind`` in each stream, inherited prefix included
        (only occurrences at ``since`` or later, when given).

        Streams where ``kind`` never occurs are left out.
        """

    @abc.abstractmethod
    def count_events(self) -> int:
        """Number of stored events (each shared prefix event counted once)."""

    def count_streams(self) -> int:
        """Number of streams."""
        return len(self.streams())

    def digests(self) -> dict[str, str | None]:
        """Stream name -> its seal's digest (None when not sealed), for every stream."""
        return {info.name: info.digest for info in self.iter_infos()}

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store (a no-op for memory)."""

    @abc.abstractmethod
    def _verify_streams(self) -> list[Problem]:
        """Backend part of :meth:`verify`."""

    # ---- shared
    def stream_info(self, stream: str) -> StreamInfo:
        for info in self.streams():
            if info.name == stream:
                return info
        raise UnknownStreamError(stream, (i.name for i in self.streams()))

    def meta(self, stream: str) -> dict[str, Any]:
        """The stream's metadata (a fresh dict)."""
        return self.stream_info(stream).meta

    def digest(self, stream: str) -> str | None:
        """The recorded digest, or None if the stream is not sealed."""
        return self.stream_info(stream).digest

    def verify(self) -> list[Problem]:
        """Recompute every sealed digest; report mismatches and unreadable rows.

        Returns one :class:`sim.errors.Problem` per damaged stream (empty if all is well).
        """
        return self._verify_streams()

    def _check_sealed(self, info_digest: str | None, name: str, file: Any) -> list[Problem]:
        problems = []
        try:
            events = self.read(name)
        except (ValueError, KeyError, TypeError, IndexError, StoreError,
                sqlite3.DatabaseError) as exc:
            return [Problem(file, None, None, f"stream {name!r}: unreadable events ({exc})",
                            hint="the store file is damaged; re-run or restore it")]
        for i, e in enumerate(events, 1):
            if e.version != i:
                problems.append(Problem(file, None, None,
                                        f"stream {name!r}: version {i} is missing or out of "
                                        f"place (found {e.version})",
                                        hint="the store file is damaged"))
                return problems
        if info_digest is not None:
            now = digest_of(events)
            if now != info_digest:
                problems.append(Problem(file, None, None,
                                        f"stream {name!r}: digest mismatch (sealed "
                                        f"{info_digest[:12]}..., events now give {now[:12]}...)",
                                        hint="its events were changed after sealing"))
        return problems

    def export_jsonl(self, path_or_file: str | os.PathLike | IO[str],
                     streams: Iterable[str] | None = None) -> int:
        """Write streams (all, or ``streams`` plus their ancestors) as JSON lines.

        Line 1 is a header; then per stream a ``{"stream": ...}`` line (parent,
        fork_version, meta), its own events (``{"e": [version, time, kind, actor, target,
        data, cause, rule, origin, source]}``) and, if sealed, ``{"seal": digest}``.
        Returns the number of streams written.
        """
        infos = self.streams()
        if streams is not None:
            by_name = {i.name: i for i in infos}
            wanted: set[str] = set()
            for name in streams:
                if name not in by_name:
                    raise UnknownStreamError(name, by_name)
                while name is not None and name not in wanted:
                    wanted.add(name)
                    name = by_name[name].parent
            infos = [i for i in infos if i.name in wanted]
        with _open_text(path_or_file, "w") as f:
            f.write(_dumps({"format": JSONL_FORMAT, "schema": SCHEMA_VERSION}) + "\n")
            names = [i.name for i in infos]
            for info, (name, events) in zip(infos, self.iter_streams(names)):
                assert info.name == name
                f.write(_dumps({"stream": name, "parent": info.parent,
                                "fork_version": info.fork_version, "meta": info.meta},
                               sort_keys=True, ensure_ascii=True) + "\n")
                for e in events[info.fork_version:]:
                    f.write(_dumps({"e": [e.version, e.time, e.kind, e.actor, e.target,
                                          dict(e.data), e.cause, e.rule, e.origin,
                                          e.source]}, ensure_ascii=True) + "\n")
                if info.digest is not None:
                    f.write(_dumps({"seal": info.digest}) + "\n")
        return len(infos)

    def import_jsonl(self, path_or_file: str | os.PathLike | IO[str]) -> int:
        """Read a file written by :meth:`export_jsonl` into this store, in one batch.

        Streams must not exist yet; seals are recomputed and must match the file.
        Returns the number of streams read. Bad input raises StoreError (file, line).
        """
        file = (str(path_or_file) if isinstance(path_or_file, (str, os.PathLike))
                else getattr(path_or_file, "name", "<jsonl>"))
        count = 0
        with _open_text(path_or_file, "r") as f, self.batch():
            current: str | None = None
            pending: list[Event] = []
            base = 0

            def flush() -> None:
                nonlocal pending, base
                if current is not None and pending:
                    self.append(current, pending, base)
                    base += len(pending)
                pending = []

            lineno = 0
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = _loads(line)
                    if lineno == 1:
                        if rec.get("format") != JSONL_FORMAT:
                            raise ValueError("not a sim event-store export (bad header)")
                        if rec.get("schema", 0) > SCHEMA_VERSION:
                            raise ValueError(f"written by a newer sim (schema "
                                             f"{rec.get('schema')})")
                        continue
                    if "e" in rec:
                        if current is None:
                            raise ValueError("event line before any stream line")
                        (v, t, kind, actor, target, data, cause, rule, origin,
                         source) = rec["e"]
                        pending.append(Event(current, v, t, kind, actor, target,
                                             frozen_data(data), cause, rule, origin, source))
                    elif "stream" in rec:
                        flush()
                        current = rec["stream"]
                        meta = rec.get("meta") or None
                        if rec.get("parent") is None:
                            self.create(current, meta)
                            base = 0
                        else:
                            base = rec["fork_version"]
                            self.fork(rec["parent"], base, current, meta)
                        count += 1
                    elif "seal" in rec:
                        flush()
                        got = self.seal(current)
                        if got != rec["seal"]:
                            raise ValueError(f"stream {current!r}: events give digest "
                                             f"{got[:12]}..., the file says "
                                             f"{str(rec['seal'])[:12]}...")
                    else:
                        raise ValueError("unknown record")
                except (ValueError, KeyError, TypeError, ConcurrencyError) as exc:
                    raise StoreError(Problem(file, lineno, None, f"bad store export line: "
                                             f"{exc}", hint="files written by "
                                             "export_jsonl import unchanged")) from None
            flush()
        return count

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --------------------------------------------------------------------------- memory backend


class _MStream:
    __slots__ = ("name", "parent", "fork_version", "own", "digest", "meta")

    def __init__(self, name: str, parent: _MStream | None, fork_version: int,
                 meta: str | None):
        self.name = name
        self.parent = parent
        self.fork_version = fork_version
        self.own: list[Event] = []
        self.digest: str | None = None
        self.meta = meta

    @property
    def version(self) -> int:
        return self.fork_version + len(self.own)

    def upto(self, n: int) -> list[Event]:
        """The first ``n`` events, prefix included."""
        k = self.fork_version
        if n <= k:
            return self.parent.upto(n) if self.parent is not None else []
        pre = self.parent.upto(k) if self.parent is not None and k else []
        return pre + self.own[:n - k]


class MemoryStore(EventStore):
    """Streams in dicts and lists: for tests, notebooks and small runs."""

    def __init__(self) -> None:
        self._streams: dict[str, _MStream] = {}
        self._shapes: set[tuple] = set()
        self._undo: list[Any] | None = None
        self._depth = 0
        self._closed = False

    # ---- transactions
    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        self._undo = []
        try:
            yield
        except BaseException:
            for fn in reversed(self._undo):
                fn()
            raise
        finally:
            self._depth = 0
            self._undo = None

    def _log(self, fn: Any) -> None:
        if self._undo is not None:
            self._undo.append(fn)

    def _get(self, name: str) -> _MStream:
        s = self._streams.get(name)
        if s is None:
            raise UnknownStreamError(name, self._streams)
        return s

    def _new(self, name: str, parent: _MStream | None, k: int, meta: Any) -> _MStream:
        if not isinstance(name, str) or not name:
            raise ValueError(f"stream name must be a non-empty str, not {name!r}")
        if name in self._streams:
            raise ConcurrencyError(f"stream {name!r} already exists")
        s = _MStream(name, parent, k, _meta_json(meta))
        self._streams[name] = s
        self._log(lambda: self._streams.pop(name))
        return s

    # ---- writing
    @_gc_paused
    def append(self, stream: str, events: Iterable[Event], expected_version: int) -> int:
        evs = events if isinstance(events, list) else list(events)
        prepared = _prepare(stream, evs, expected_version, self._shapes)
        s = self._streams.get(stream)
        actual = s.version if s is not None else 0
        if actual != expected_version:
            raise ConcurrencyError(f"stream {stream!r}: expected version {expected_version}, "
                                   f"but it is at version {actual}")
        if s is not None and s.digest is not None:
            raise SealedStreamError(f"stream {stream!r} is sealed; it takes no more events")
        if not prepared:
            return actual
        if s is None:
            s = self._new(stream, None, 0, None)
        own = s.own
        n = len(own)
        shapes = self._shapes
        for e, shape, dj in prepared:
            shapes.add(shape)
            if dj is not None:
                e = e.evolve(data=frozen_data(_loads(dj)))
            own.append(e)
        if self._undo is not None:
            self._undo.append(lambda: own.__delitem__(slice(n, None)))
        return s.version

    def create(self, stream: str, meta: dict | None = None) -> None:
        self._new(stream, None, 0, meta)

    def fork(self, parent: str, at_version: int, new_stream: str,
             meta: dict | None = None) -> None:
        p = self._get(parent)
        if type(at_version) is not int or not 0 <= at_version <= p.version:
            raise ValueError(f"cannot fork {parent!r} at version {at_version!r}: "
                             f"it has versions 1..{p.version}")
        self._new(new_stream, p, at_version, meta)

    def set_meta(self, stream: str, meta: dict | None) -> None:
        s = self._get(stream)
        old = s.meta
        s.meta = _meta_json(meta)
        self._log(lambda: setattr(s, "meta", old))

    def seal(self, stream: str) -> str:
        s = self._get(stream)
        if s.digest is None:
            s.digest = digest_of(s.upto(s.version))
            self._log(lambda: setattr(s, "digest", None))
        return s.digest

    # ---- reading
    def read(self, stream: str, upto_version: int | None = None,
             as_of: float | None = None) -> list[Event]:
        s = self._streams.get(stream)
        if s is None:
            return []
        n = s.version if upto_version is None else max(0, min(upto_version, s.version))
        events = s.upto(n)
        if as_of is not None:
            events = [e for e in events if e.time <= as_of]
        return events

    def version(self, stream: str) -> int:
        s = self._streams.get(stream)
        return 0 if s is None else s.version

    def _info(self, s: _MStream) -> StreamInfo:
        return StreamInfo(s.name, s.parent.name if s.parent is not None else None,
                          s.fork_version, s.version, s.digest is not None, s.digest,
                          _loads(s.meta) if s.meta else {})

    def streams(self) -> list[StreamInfo]:
        return [self._info(s) for s in self._streams.values()]

    def stream_info(self, stream: str) -> StreamInfo:
        return self._info(self._get(stream))

    def iter_streams(self, names: Iterable[str] | None = None
                     ) -> Iterator[tuple[str, list[Event]]]:
        if names is None:
            chosen = list(self._streams.values())
        else:
            wanted = set(names)
            chosen = [s for s in self._streams.values() if s.name in wanted]
        for s in chosen:
            yield s.name, s.upto(s.version)

    def by_kind(self, kind: str, streams: Iterable[str] | None = None) -> list[Event]:
        wanted = None if streams is None else set(streams)
        chosen = (self._streams.values() if wanted is None
                  else [s for s in self._streams.values() if s.name in wanted])
        return [e for s in chosen for e in s.own if e.kind == kind]

    def first_times(self, kind: str, streams: Iterable[str] | None = None,
                    since: float | None = None) -> dict[str, float]:
        wanted = None if streams is None else set(streams)
        lo = -float("inf") if since is None else since
        out = {}
        for s in self._streams.values():
            if wanted is not None and s.name not in wanted:
                continue
            times = [e.time for e in s.upto(s.version) if e.kind == kind and e.time >= lo]
            if times:
                out[s.name] = min(times)
        return out

    def _verify_streams(self) -> list[Problem]:
        problems = []
        for s in self._streams.values():
            problems += self._check_sealed(s.digest, s.name, "<memory store>")
        return problems

    def count_events(self) -> int:
        return sum(len(s.own) for s in self._streams.values())

    def close(self) -> None:
        self._closed = True


# --------------------------------------------------------------------------- SQLite backend

_SCHEMA = """
CREATE TABLE streams(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    parent INTEGER REFERENCES streams(id),
    fork_version INTEGER NOT NULL,
    version INTEGER NOT NULL,
    digest TEXT,
    meta TEXT);
CREATE TABLE shapes(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, actor TEXT, target TEXT, rule TEXT, origin TEXT NOT NULL, source TEXT);
CREATE TABLE events(
    stream INTEGER NOT NULL,
    version INTEGER NOT NULL,
    time REAL NOT NULL,
    shape INTEGER NOT NULL,
    data TEXT,
    cause INTEGER,
    PRIMARY KEY (stream, version)) WITHOUT ROWID;
"""


_PREFIX_CACHE = 64  # (stream, version) prefixes kept decoded


class SQLiteStore(EventStore):
    """Streams in one SQLite file (WAL journal); see the module docstring.

    ``SQLiteStore(path)`` opens an existing store and raises StoreError if the file is
    missing; ``SQLiteStore(path, create=True)`` also creates a missing (or empty) file.
    ``path=":memory:"`` (with create=True) gives a private in-memory SQLite store.
    """

    def __init__(self, path: str | os.PathLike, create: bool = False,
                 timeout: float = 30.0, readonly: bool = False, settled: bool = False):
        self.path = str(path)
        self.readonly = readonly and not create
        self._depth = 0
        self._conn: sqlite3.Connection | None = None
        memory = self.path == ":memory:"
        if not memory and not os.path.exists(self.path) and not create:
            raise StoreError(Problem(self.path, None, None, "no event store here",
                                     hint="check the path, or create one with "
                                     "SQLiteStore(path, create=True)"))
        try:
            if self.readonly and not memory:
                conn = sqlite3.connect(_readonly_uri(self.path, settled), uri=True,
                                       isolation_level=None, timeout=timeout)
            else:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=timeout)
        except sqlite3.Error as exc:
            raise self._error(f"cannot open the file: {exc}") from None
        self._conn = conn
        try:
            self._open(create)
        except StoreError:
            conn.close()
            self._conn = None
            raise
        except sqlite3.Error as exc:
            conn.close()
            self._conn = None
            raise self._error(f"not a readable sim event store (SQLite: {exc})") from None
        self._reset_caches()

    def _error(self, msg: str, hint: str | None = None) -> StoreError:
        return StoreError(Problem(self.path, None, None, msg, hint=hint or
                                  "the file is damaged or is not a store written by sim"))

    def _open(self, create: bool) -> None:
        c = self._conn
        app = c.execute("PRAGMA application_id").fetchone()[0]
        user = c.execute("PRAGMA user_version").fetchone()[0]
        if app == 0 and user == 0:
            tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise self._error("an SQLite database, but not a sim event store "
                                  "(it has other tables)", hint="point sim at a store file")
            if not create:
                raise self._error("an empty file, not a sim event store",
                                  hint="create one with SQLiteStore(path, create=True)")
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript("BEGIN IMMEDIATE;" + _SCHEMA
                            + f"PRAGMA application_id={APPLICATION_ID};"
                            + f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        elif app != APPLICATION_ID:
            raise self._error(f"an SQLite database of another application "
                              f"(application_id {app:#x}), not a sim event store",
                              hint="point sim at a store file")
        elif user > SCHEMA_VERSION:
            raise self._error(f"written by a newer sim (store schema {user}; this sim reads "
                              f"up to {SCHEMA_VERSION})", hint="upgrade sim to read it")
        elif user < SCHEMA_VERSION:
            raise self._error(f"store schema {user} is older than this sim's "
                              f"({SCHEMA_VERSION}) and cannot be read",
                              hint="re-run the scenario to rebuild the store")
        if not self.readonly:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
        # touch every table: a damaged schema page fails here, naming the file
        for table in ("streams", "shapes", "events"):
            c.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()

    def _reset_caches(self) -> None:
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._links: dict[int, tuple[int | None, int]] = {}
        self._shape_ids: dict[tuple, int] = {}
        self._shapes: dict[int, tuple] = {}
        self._pcache: dict[tuple[int, int], list[Event]] = {}
        self._enc_cache: dict[Any, Any] = {}   # canonical encodings of shapes and data
        # stream id -> (version before, version after, events) of its last append in the
        # current transaction, for seal; emptied when the transaction ends
        self._appended: dict[int, tuple[int, int, list[Event]]] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(Problem(self.path, None, None, "the store is closed"))
        return self._conn

    # ---- transactions
    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        if self._depth:
            yield conn
            return
        self._depth = 1
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._depth = 0
            raise
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._reset_caches()
            self._depth = 0
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._reset_caches()
            raise
        finally:
            self._depth = 0
            self._appended.clear()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._tx():
            yield

    # ---- lookups
    def _row(self, name: str) -> tuple[int, int, str | None] | None:
        """(id, version, digest) of a stream, read from the database."""
        r = self.conn.execute("SELECT id, version, digest FROM streams WHERE name=?",
                              (name,)).fetchone()
        return r

    def _sid(self, name: str) -> int | None:
        sid = self._ids.get(name)
        if sid is None:
            r = self.conn.execute("SELECT id, parent, fork_version FROM streams WHERE name=?",
                                  (name,)).fetchone()
            if r is None:
                return None
            sid = r[0]
            self._ids[name] = sid
            self._names[sid] = name
            self._links[sid] = (r[1], r[2])
        return sid

    def _must(self, name: str) -> int:
        sid = self._sid(name)
        if sid is None:
            raise UnknownStreamError(name, [r[0] for r in self.conn.execute(
                "SELECT name FROM streams LIMIT 10000")])
        return sid

    def _load_streams(self) -> None:
        for sid, name, parent, k in self.conn.execute(
                "SELECT id, name, parent, fork_version FROM streams"):
            self._ids[name] = sid
            self._names[sid] = name
            self._links[sid] = (parent, k)

    def _name(self, sid: int) -> str:
        name = self._names.get(sid)
        if name is None:
            self._load_streams()
            name = self._names[sid]
        return name

    def _link(self, sid: int) -> tuple[int | None, int]:
        link = self._links.get(sid)
        if link is None:
            self._load_streams()
            link = self._links[sid]
        return link

    def _load_shapes(self) -> None:
        for row in self.conn.execute("SELECT id, kind, actor, target, rule, origin, source "
                                     "FROM shapes"):
            shape = tuple(row[1:])
            self._shapes[row[0]] = shape
            self._shape_ids[shape] = row[0]

    def _shape_id(self, shape: tuple) -> int:
        """Id of a shape, inserting it (call inside a write transaction)."""
        sid = self._shape_ids.get(shape)
        if sid is None:
            self._load_shapes()  # another connection may have added it
            sid = self._shape_ids.get(shape)
            if sid is None:
                sid = self.conn.execute("INSERT INTO shapes(kind, actor, target, rule, origin, "
                                        "source) VALUES (?,?,?,?,?,?)", shape).lastrowid
                self._shape_ids[shape] = sid
                self._shapes[sid] = shape
        return sid

    def _decode(self, sid: int, rows: list[tuple], skip: bool = False) -> list[Event]:
        """Events from (version, time, shape, data, cause) rows of stream ``sid``
        (rows prefixed by the stream id when ``skip``).

        The cyclic garbage collector is paused while the list is built: building many
        small objects otherwise triggers collections whose cost grows with the heap
        (measured: 1.6-2.5 us per event with it, 1.0 us without, over 1M events).
        """
        name = self._name(sid)
        sh = self._shapes
        E = Event
        empty = _EMPTY
        dec = _decode_data
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            for attempt in (0, 1):
                try:
                    if skip:
                        return [E(name, v, t, (s := sh[h])[0], s[1], s[2],
                                  empty if d is None else dec(d), c, s[3], s[4], s[5])
                                for _, v, t, h, d, c in rows]
                    return [E(name, v, t, (s := sh[h])[0], s[1], s[2],
                              empty if d is None else dec(d), c, s[3], s[4], s[5])
                            for v, t, h, d, c in rows]
                except KeyError:
                    i = 3 if skip else 2
                    if attempt:
                        bad = next(r for r in rows if r[i] not in sh)
                        raise self._error(f"stream {name!r}: event {bad[i - 2]} has an "
                                          f"unknown shape id {bad[i]!r}") from None
                    self._load_shapes()
                except (ValueError, TypeError) as exc:
                    raise self._error(f"stream {name!r}: unreadable event data "
                                      f"({exc})") from None
        finally:
            if paused:
                gc.enable()
        raise AssertionError("unreachable")

    # ---- writing
    @_gc_paused
    def append(self, stream: str, events: Iterable[Event], expected_version: int) -> int:
        evs = events if isinstance(events, list) else list(events)
        prepared = _prepare(stream, evs, expected_version, self._shape_ids)
        with self._tx() as conn:
            r = self._row(stream)
            actual = r[1] if r is not None else 0
            if actual != expected_version:
                raise ConcurrencyError(f"stream {stream!r}: expected version "
                                       f"{expected_version}, but it is at version {actual}")
            if r is not None and r[2] is not None:
                raise SealedStreamError(f"stream {stream!r} is sealed; it takes no more "
                                        "events")
            if not prepared:
                return actual
            sid = r[0] if r is not None else self._insert_stream(stream, None, 0, None)
            shape_ids = self._shape_ids
            rows = []
            v = expected_version
            for e, shape, dj in prepared:
                h = shape_ids.get(shape)
                if h is None:
                    h = self._shape_id(shape)
                v += 1
                rows.append((sid, v, e.time, h, dj, e.cause))
            conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?)", rows)
            new = expected_version + len(rows)
            conn.execute("UPDATE streams SET version=? WHERE id=?", (new, sid))
            # kept (until sealed or rolled back) so that seal can hash these events
            # without reading them back: they are normalised exactly as stored
            self._appended[sid] = (expected_version, new, [e for e, _, _ in prepared])
        return new

    def _insert_stream(self, name: str, parent: int | None, k: int, meta: Any) -> int:
        if not isinstance(name, str) or not name:
            raise ValueError(f"stream name must be a non-empty str, not {name!r}")
        mj = _meta_json(meta)
        try:
            sid = self.conn.execute("INSERT INTO streams(name, parent, fork_version, version, "
                                    "meta) VALUES (?,?,?,?,?)",
                                    (name, parent, k, k, mj)).lastrowid
        except sqlite3.IntegrityError:
            raise ConcurrencyError(f"stream {name!r} already exists") from None
        self._ids[name] = sid
        self._names[sid] = name
        self._links[sid] = (parent, k)
        return sid

    def create(self, stream: str, meta: dict | None = None) -> None:
        with self._tx():
            self._insert_stream(stream, None, 0, meta)

    def fork(self, parent: str, at_version: int, new_stream: str,
             meta: dict | None = None) -> None:
        with self._tx():
            pid = self._must(parent)
            r = self._row(parent)
            if type(at_version) is not int or not 0 <= at_version <= r[1]:
                raise ValueError(f"cannot fork {parent!r} at version {at_version!r}: "
                                 f"it has versions 1..{r[1]}")
            self._insert_stream(new_stream, pid, at_version, meta)

    def set_meta(self, stream: str, meta: dict | None) -> None:
        mj = _meta_json(meta)
        with self._tx() as conn:
            sid = self._must(stream)
            conn.execute("UPDATE streams SET meta=? WHERE id=?", (mj, sid))

    def seal(self, stream: str) -> str:
        with self._tx() as conn:
            sid = self._must(stream)
            r = self._row(stream)
            if r[2] is not None:
                return r[2]
            d = self._digest_incremental(sid, r[1])
            conn.execute("UPDATE streams SET digest=? WHERE id=?", (d, sid))
        return d

    def _digest_incremental(self, sid: int, version: int) -> str:
        """The digest of :func:`canonical` of the whole stream, without re-encoding a
        shared prefix for every child: ``canonical`` is ``[row,row,...]``, so the hash
        state after a prefix's rows is cached and each child adds only its own rows."""
        parent, k = self._links[sid]
        if parent is None or k == 0:
            return digest_of(self._read_sid(sid, version, None))
        h, n = self._prefix_hash(parent, k)
        fresh = self._appended.pop(sid, None)
        body = None
        if fresh is not None and fresh[0] == k and fresh[1] == version:
            try:
                body = canonical(fresh[2])[1:-1]
            except (TypeError, ValueError):  # e.g. mixed key types: use what was stored
                body = None
        if body is None:
            own = self._own_rows(sid, k + 1, version, None)
            body = canonical(own)[1:-1] if own else b""
        if body:
            h.update(b"," + body if n else body)
        h.update(b"]")
        return h.hexdigest()

    def _prefix_hash(self, sid: int, upto: int) -> tuple[Any, int]:
        """(a copy of the sha256 state after ``[`` and the first ``upto`` rows, rows)."""
        key = ("hash", sid, upto)
        got = self._pcache.get(key)
        if got is None:
            rows = self._prefix(sid, upto)
            h = hashlib.sha256(b"[")
            if rows:
                h.update(canonical(rows)[1:-1])
            got = (h, len(rows))
            if len(self._pcache) >= _PREFIX_CACHE:
                self._pcache.pop(next(iter(self._pcache)))
            self._pcache[key] = got
        return got[0].copy(), got[1]

    # ---- reading
    def _own_rows(self, sid: int, lo: int, hi: int, as_of: float | None) -> list[Event]:
        if as_of is None:
            rows = self.conn.execute("SELECT version, time, shape, data, cause FROM events "
                                     "WHERE stream=? AND version BETWEEN ? AND ?",
                                     (sid, lo, hi)).fetchall()
        else:
            rows = self.conn.execute("SELECT version, time, shape, data, cause FROM events "
                                     "WHERE stream=? AND version BETWEEN ? AND ? AND time<=?",
                                     (sid, lo, hi, as_of)).fetchall()
        return self._decode(sid, rows)

    def _prefix(self, sid: int, upto: int) -> list[Event]:
        """The first ``upto`` events of ``sid``, cached: written versions never change
        (append-only), so only a rollback, which clears the cache, can invalidate it.
        Many replicates share a branch's prefix; it is decoded once."""
        key = (sid, upto)
        got = self._pcache.get(key)
        if got is None:
            got = self._read_sid(sid, upto, None)
            if len(self._pcache) >= _PREFIX_CACHE:
                self._pcache.pop(next(iter(self._pcache)))
            self._pcache[key] = got
        return got

    def _read_sid(self, sid: int, upto: int, as_of: float | None) -> list[Event]:
        """Events 1..upto of stream ``sid`` (time <= as_of), prefix included."""
        if upto <= 0:
            return []
        parent, k = self._link(sid)
        if upto <= k:
            pre = self._prefix(parent, upto) if parent is not None else []
            return list(pre) if as_of is None else [e for e in pre if e.time <= as_of]
        pre = self._prefix(parent, k) if parent is not None and k else []
        if as_of is not None:
            pre = [e for e in pre if e.time <= as_of]
        return pre + self._own_rows(sid, k + 1, upto, as_of)

    def read(self, stream: str, upto_version: int | None = None,
             as_of: float | None = None) -> list[Event]:
        r = self._row(stream)
        if r is None:
            return []
        sid = self._sid(stream)
        n = r[1] if upto_version is None else max(0, min(upto_version, r[1]))
        return self._read_sid(sid, n, as_of)

    def version(self, stream: str) -> int:
        r = self._row(stream)
        return 0 if r is None else r[1]

    def streams(self) -> list[StreamInfo]:
        rows = self.conn.execute("SELECT id, name, parent, fork_version, version, digest, meta "
                                 "FROM streams ORDER BY id").fetchall()
        names = {r[0]: r[1] for r in rows}
        return [StreamInfo(name, names.get(parent), k, v, d is not None, d,
                           _meta(m))
                for _, name, parent, k, v, d, m in rows]

    def iter_infos(self) -> Iterator[StreamInfo]:
        cur = self.conn.execute("SELECT name, parent, fork_version, version, digest, meta "
                                "FROM streams ORDER BY id")
        name_of = self._name
        for name, parent, k, v, d, m in cur:
            yield StreamInfo(name, None if parent is None else name_of(parent), k, v,
                             d is not None, d, _meta(m))

    def stream_info(self, stream: str) -> StreamInfo:
        sid = self._must(stream)
        _, name, parent, k, v, d, m = self.conn.execute(
            "SELECT id, name, parent, fork_version, version, digest, meta FROM streams "
            "WHERE id=?", (sid,)).fetchone()
        return StreamInfo(name, None if parent is None else self._name(parent), k, v,
                          d is not None, d, _meta(m))

    def iter_streams(self, names: Iterable[str] | None = None
                     ) -> Iterator[tuple[str, list[Event]]]:
        """One ordered scan of the events table; prefixes are decoded once and shared."""
        conn = self.conn
        rows = conn.execute("SELECT id, name, parent, fork_version, version FROM streams "
                            "ORDER BY id").fetchall()
        info = {r[0]: r for r in rows}
        for sid, name, parent, k, _ in rows:
            self._ids[name] = sid
            self._names[sid] = name
            self._links[sid] = (parent, k)
        self._load_shapes()
        if names is None:
            chosen = [r[0] for r in rows]
        else:
            ids = {r[1]: r[0] for r in rows}
            chosen = sorted(ids[n] for n in set(names) if n in ids)
        # streams whose events are needed: chosen and their ancestors
        needed: set[int] = set()
        for sid in chosen:
            while sid is not None and sid not in needed:
                needed.add(sid)
                sid = info[sid][2]
        is_parent = {r[2] for r in rows if r[2] is not None}
        chosen_set = set(chosen)
        own: dict[int, list[Event]] = {}  # kept only for parents
        full_cache: dict[tuple[int, int], list[Event]] = {}

        def prefix(pid: int | None, k: int) -> list[Event]:
            if pid is None or k == 0:
                return []
            key = (pid, k)
            got = full_cache.get(key)
            if got is None:
                _, _, gp, gk, _ = info[pid]
                mine = own.get(pid, [])
                if k <= gk:
                    got = prefix(gp, k)
                else:
                    got = prefix(gp, gk) + mine[:k - gk]
                full_cache[key] = got
            return got

        if len(needed) == len(info) or len(needed) > 500:
            cur = conn.execute("SELECT stream, version, time, shape, data, cause FROM events "
                               "ORDER BY stream, version")
            want = None if len(needed) == len(info) else needed
        else:
            marks = ",".join("?" * len(needed))
            cur = conn.execute("SELECT stream, version, time, shape, data, cause FROM events "
                               f"WHERE stream IN ({marks}) ORDER BY stream, version",
                               sorted(needed))
            want = None
        pending = sorted(needed)   # streams to finish, in id order (some have no own rows)
        pos = 0

        def finish(sid: int, events: list[Event]) -> Iterator[tuple[str, list[Event]]]:
            if sid in is_parent:
                own[sid] = events
            if sid in chosen_set:
                _, name, parent, k, _ = info[sid]
                yield name, prefix(parent, k) + events

        for sid, group in groupby(cur, key=itemgetter(0)):
            if want is not None and sid not in want:
                continue
            while pos < len(pending) and pending[pos] < sid:
                yield from finish(pending[pos], [])
                pos += 1
            if pos < len(pending) and pending[pos] == sid:
                pos += 1
            yield from finish(sid, self._decode(sid, list(group), skip=True))
        while pos < len(pending):
            yield from finish(pending[pos], [])
            pos += 1

    def _kind_shapes(self, kind: str) -> list[int]:
        self._load_shapes()
        return [h for h, s in self._shapes.items() if s[0] == kind]

    def by_kind(self, kind: str, streams: Iterable[str] | None = None) -> list[Event]:
        hs = self._kind_shapes(kind)
        if not hs:
            return []
        self._load_streams()
        wanted = None if streams is None else {self._ids[n] for n in streams if n in self._ids}
        marks = ",".join("?" * len(hs))
        rows = self.conn.execute("SELECT stream, version, time, shape, data, cause FROM events "
                                 f"WHERE shape IN ({marks}) ORDER BY stream, version",
                                 hs).fetchall()
        out: list[Event] = []
        for r in rows:
            if wanted is None or r[0] in wanted:
                out += self._decode(r[0], [r[1:]])
        return out

    def first_times(self, kind: str, streams: Iterable[str] | None = None,
                    since: float | None = None) -> dict[str, float]:
        """One scan for the kind's occurrences, then prefix resolution per fork point."""
        hs = self._kind_shapes(kind)
        if not hs:
            return {}
        marks = ",".join("?" * len(hs))
        occ: dict[int, list[tuple[int, float]]] = {}
        where = "" if since is None else " AND time >= ?"
        for sid, v, t in self.conn.execute(
                f"SELECT stream, version, time FROM events WHERE shape IN ({marks}){where}",
                hs if since is None else [*hs, float(since)]):
            occ.setdefault(sid, []).append((v, t))
        rows = self.conn.execute("SELECT id, name, parent, fork_version FROM streams "
                                 "ORDER BY id").fetchall()
        link = {r[0]: (r[2], r[3]) for r in rows}
        cache: dict[tuple[int, int], float | None] = {}

        def upto(sid: int | None, k: int) -> float | None:
            """Earliest time among ``sid``'s first ``k`` events (prefix included)."""
            if sid is None or k <= 0:
                return None
            key = (sid, k)
            if key in cache:
                return cache[key]
            parent, fk = link[sid]
            best = upto(parent, min(k, fk))
            for v, t in occ.get(sid, ()):
                if v <= k and (best is None or t < best):
                    best = t
            cache[key] = best
            return best

        wanted = None if streams is None else set(streams)
        out = {}
        for sid, name, parent, fk in rows:
            if wanted is not None and name not in wanted:
                continue
            best = upto(parent, fk)
            for _, t in occ.get(sid, ()):
                if best is None or t < best:
                    best = t
            if best is not None:
                out[name] = best
        return out

    def _verify_streams(self) -> list[Problem]:
        """SQLite's integrity check, then one ordered scan of the events table: each
        stream's own rows are decoded once, their versions checked, and a sealed
        stream's digest recomputed from the cached hash state of its fork prefix plus
        its own rows (as :meth:`seal` computes it), so memory and time stay linear in
        the number of events however many replicates share a prefix."""
        problems: list[Problem] = []
        try:
            check = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            check = [str(exc)]
        if check != ["ok"]:
            problems.append(Problem(self.path, None, None,
                                    "SQLite integrity check failed: " + "; ".join(check[:3]),
                                    hint="the file is damaged; re-run or restore it"))
        try:
            rows = self.conn.execute("SELECT id, name, parent, fork_version, version, digest "
                                     "FROM streams ORDER BY id").fetchall()
            self._reset_caches()
            self._load_shapes()
        except (sqlite3.DatabaseError, ValueError) as exc:
            problems.append(Problem(self.path, None, None,
                                    f"the stream table is unreadable ({exc})",
                                    hint="the file is damaged; re-run or restore it"))
            return problems
        info = {}
        for r in rows:
            sid, name, parent, k = r[:4]
            self._ids[name] = sid
            self._names[sid] = name
            self._links[sid] = (parent, k)
            info[sid] = r
        del rows
        scanned: set[int] = set()
        try:
            cur = self.conn.execute("SELECT stream, version, time, shape, data, cause "
                                    "FROM events ORDER BY stream, version")
            for sid, group in groupby(cur, key=itemgetter(0)):
                own = list(group)
                if sid not in info:
                    problems.append(Problem(self.path, None, None,
                                            f"{len(own)} event(s) of an unknown stream id "
                                            f"{sid}", hint="the store file is damaged"))
                    continue
                scanned.add(sid)
                problems += self._check_own(info[sid], own)
        except sqlite3.DatabaseError as exc:
            problems.append(Problem(self.path, None, None,
                                    f"the events table is unreadable ({exc})",
                                    hint="the file is damaged; re-run or restore it"))
            return problems
        for sid, r in info.items():
            if sid not in scanned:
                problems += self._check_own(r, [])
        return problems

    def _check_own(self, r: tuple, rows: list[tuple]) -> list[Problem]:
        """Check one stream from its own (stream, version, time, shape, data, cause) rows."""
        sid, name, parent, k, version, digest = r
        try:
            versions = [row[1] for row in rows]
            if versions != list(range(k + 1, k + 1 + len(rows))) or k + len(rows) != version:
                wrong = next((i for i, v in enumerate(versions, k + 1) if v != i),
                             k + len(rows) + 1)
                return [Problem(self.path, None, None,
                                f"stream {name!r}: version {wrong} is missing or out of place",
                                hint="the store file is damaged")]
            if digest is None:
                return []
            body = self._canonical_body(rows)
            if parent is None or k == 0:
                now = hashlib.sha256(b"[" + body + b"]").hexdigest()
            else:
                h, n = self._prefix_hash(parent, k)
                if body:
                    h.update(b"," + body if n else body)
                h.update(b"]")
                now = h.hexdigest()
        except (ValueError, KeyError, TypeError, IndexError, StoreError,
                sqlite3.DatabaseError) as exc:
            return [Problem(self.path, None, None, f"stream {name!r}: unreadable events ({exc})",
                            hint="the store file is damaged; re-run or restore it")]
        if now != digest:
            return [Problem(self.path, None, None,
                            f"stream {name!r}: digest mismatch (sealed {digest[:12]}..., "
                            f"events now give {now[:12]}...)",
                            hint="its events were changed after sealing")]
        return []

    def _canonical_body(self, rows: list[tuple]) -> bytes:
        """:func:`canonical` of the events stored as ``rows`` (stream, version, time,
        shape, data, cause), without its enclosing brackets, written straight from the
        rows: the same bytes, without building an Event or a list per row (a test
        checks the equality on random events)."""
        if not rows:
            return b""
        shapes = self._shapes
        enc = self._enc_cache
        scalar = _canonical_scalar
        parts = []
        for _, v, t, h, d, c in rows:
            got = enc.get(h)
            if got is None:
                if h not in shapes:
                    self._load_shapes()
                kind, actor, target, rule, origin, source = shapes[h]
                got = enc[h] = (_canon([kind, actor, target])[1:-1],
                                _canon([rule, origin, source])[1:-1])
            if d is None:
                data = "{}"
            else:
                data = enc.get(d)
                if data is None:
                    data = enc[d] = _canon(dict(_loads(d)))
            if type(v) is int and type(t) is float and t - t == 0.0 and (
                    c is None or type(c) is int):   # the usual row: json's repr, inline
                parts.append(f"[{v},{t!r},{got[0]},{data},{'null' if c is None else c},"
                             f"{got[1]}]")
            else:
                parts.append(f"[{scalar(v)},{scalar(t)},{got[0]},{data},{scalar(c)},"
                             f"{got[1]}]")
        if len(enc) > 100_000:
            enc.clear()
        return ",".join(parts).encode("ascii")

    def count_events(self) -> int:
        return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def count_streams(self) -> int:
        return self.conn.execute("SELECT count(*) FROM streams").fetchone()[0]

    def digests(self) -> dict[str, str | None]:
        return dict(self.conn.execute("SELECT name, digest FROM streams ORDER BY id"))

    def iter_meta_texts(self) -> Iterator[tuple[str, str | None]]:
        """(name, stored metadata JSON text) of every stream, in name order (SQLite's
        binary order, the order of the name index): a cheap pass for digests."""
        yield from self.conn.execute("SELECT name, meta FROM streams ORDER BY name")

    def checkpoint(self) -> None:
        """Move every committed page from the WAL into the main file and empty the WAL
        (so read-only readers need no WAL; see :func:`_readonly_uri`)."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class FirstTimeIndex:
    """Every event's stream, version, time and shape as numpy columns, read from an
    SQLite store in one scan, to answer :meth:`EventStore.first_times` for many
    kinds over many streams at once (the figures of a 100k-replicate run ask for
    dozens). The same answers as ``first_times``, as an array indexed by stream id
    (``inf``: never), inherited fork prefixes included; built for a store that is no
    longer written (a snapshot: later writes are not seen)."""

    def __init__(self, store: SQLiteStore, block: int = 50_000):
        import numpy as np

        conn = store.conn
        store._load_shapes()
        self.kinds: dict[str, list[int]] = {}
        for h, shape in store._shapes.items():
            self.kinds.setdefault(shape[0], []).append(h)
        rows = conn.execute("SELECT id, name, parent, fork_version FROM streams").fetchall()
        self.ids = {name: sid for sid, name, _, _ in rows}
        size = max((r[0] for r in rows), default=0) + 1
        self.parent = np.full(size, -1, dtype=np.int64)
        self.fork = np.zeros(size, dtype=np.int64)
        for sid, _, parent, k in rows:
            if parent is not None:
                self.parent[sid] = parent
                self.fork[sid] = k
        del rows
        n = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        cols = [np.empty(n, dtype=d) for d in (np.int32, np.int32, np.float64, np.int32)]
        pos = 0
        cur = conn.execute("SELECT stream, version, time, shape FROM events")
        while chunk := cur.fetchmany(block):   # into typed columns, a block at a time
            a = np.array(chunk, dtype=np.float64)
            del chunk
            end = pos + len(a)
            if end > len(cols[0]):            # rows written since the count: grow
                cols = [np.resize(c, max(end, 2 * len(c))) for c in cols]
            for j, c in enumerate(cols):
                c[pos:end] = a[:, j]
            pos = end
        self.stream, self.version, self.time, self.shape = (c[:pos] for c in cols)
        self.size = size

    def first_times(self, kind: str, since: float | None = None) -> Any:
        """Array over stream ids: the earliest time of ``kind`` (at ``since`` or later)."""
        import numpy as np

        out = np.full(self.size, np.inf)
        hs = self.kinds.get(kind)
        if not hs:
            return out
        m = np.isin(self.shape, hs)
        if since is not None:
            m &= self.time >= since
        s, v, t = self.stream[m], self.version[m], self.time[m]
        np.minimum.at(out, s, t)                       # each stream's own events
        cache: dict[tuple[int, int], float] = {}

        def upto(p: int, k: int) -> float:
            """Earliest among stream ``p``'s first ``k`` events, prefix included."""
            if p < 0 or k <= 0:
                return np.inf
            key = (p, k)
            if key not in cache:
                own = t[(s == p) & (v <= k)]
                best = float(own.min()) if own.size else np.inf
                cache[key] = min(best, upto(int(self.parent[p]),
                                            min(k, int(self.fork[p]))))
            return cache[key]

        children, uniq, inverse = self._forks()
        if children.size:
            inherited = np.array([upto(int(p), int(k)) for p, k in uniq])
            out[children] = np.minimum(out[children], inherited[inverse])
        return out

    def _forks(self) -> tuple[Any, Any, Any]:
        """(forked stream ids, distinct (parent, fork version) pairs, pair of each)."""
        import numpy as np

        if not hasattr(self, "_fork_groups"):
            children = np.nonzero(self.parent >= 0)[0]
            pairs = np.stack([self.parent[children], self.fork[children]], axis=1)
            uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
            self._fork_groups = (children, uniq, inverse.ravel())
        return self._fork_groups


def _readonly_uri(path: str, settled: bool = False) -> str:
    """An SQLite URI opening ``path`` read-only (``mode=ro``).

    It is also ``immutable`` (no -shm/-wal file is made, no lock taken, so nothing is
    written beside the store) when this process cannot write the file or its folder,
    e.g. a read-only file system or another user's run, or when the caller says the
    store is ``settled`` (a finished run, checkpointed by its writer) and no WAL holds
    pages the main file lacks.
    """
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    folder = os.path.dirname(os.path.abspath(path))
    if not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
        return uri + "&immutable=1"
    try:
        wal = os.path.getsize(path + "-wal")
    except OSError:
        wal = 0
    return uri + "&immutable=1" if settled and wal == 0 else uri


def _guard(fn: Any) -> Any:
    """Turn SQLite's errors into a StoreError naming the file."""

    @functools.wraps(fn)
    def wrapper(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._error(f"cannot use the store (SQLite: {exc})") from None
    return wrapper


def _guard_gen(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            yield from fn(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise self._error(f"cannot use the store (SQLite: {exc})") from None
    return wrapper


for _name in ("append", "create", "fork", "set_meta", "seal", "read", "version", "streams",
              "stream_info", "by_kind", "first_times", "count_events", "count_streams", "checkpoint", "digests"):
    setattr(SQLiteStore, _name, _guard(getattr(SQLiteStore, _name)))
SQLiteStore.iter_streams = _guard_gen(SQLiteStore.iter_streams)  # type: ignore[method-assign]
SQLiteStore.iter_meta_texts = _guard_gen(SQLiteStore.iter_meta_texts)  # type: ignore[method-assign]
del _name


def open_store(path: str | os.PathLike, create: bool = False,
               readonly: bool = False, settled: bool = False) -> SQLiteStore:
    """Open the SQLite store at ``path`` (StoreError if missing, foreign, newer or damaged).

    With ``create=True`` a missing file is created; ``readonly=True`` opens it for
    reading only (SQLite ``mode=ro``; ``settled``: a finished store, see
    :func:`_readonly_uri`).
    """
    return SQLiteStore(Path(path), create=create, readonly=readonly, settled=settled)


__all__ = ["EventStore", "MemoryStore", "SQLiteStore", "FirstTimeIndex", "StreamInfo",
           "SealedStreamError",
           "UnknownStreamError", "open_store", "canonical", "digest_of", "SCHEMA_VERSION"]
