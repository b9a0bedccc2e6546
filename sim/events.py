"""The Event record: one occurrence in one stream of the event store.

An event is an immutable value. Everything the simulator knows about a
simulated world is a sequence of these, appended to a stream; state is a
fold over them (see :mod:`sim.state`).

>>> e = Event(stream="baseline/0", version=1, time=3.5, kind="s400_delivered",
...           actor="RUS", target="TUR", origin=HISTORY, source="S003")
>>> e.kind, e.time
('s400_delivered', 3.5)
"""
from __future__ import annotations

from typing import Any

import attrs

HISTORY = "history"
SIMULATED = "simulated"
INJECTED = "injected"
ORIGINS = (HISTORY, SIMULATED, INJECTED)

class FrozenData(dict):
    """A read-only dict: the ``data`` of an event. Picklable (workers send events
    back to the runner) and JSON-serialisable like any dict.

    >>> d = FrozenData({"p": 0.1})
    >>> d["p"], d == {"p": 0.1}
    (0.1, True)
    >>> d["p"] = 1
    Traceback (most recent call last):
    TypeError: event data is read-only
    """

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("event data is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __reduce__(self) -> tuple:
        return (FrozenData, (dict(self),))

    def __repr__(self) -> str:
        return f"FrozenData({dict.__repr__(self)})"


_EMPTY: Any = FrozenData()


_SHARED: dict[tuple, Any] = {}


def shared_data(data: Any) -> Any:
    """Like :func:`frozen_data`, but equal payloads share one read-only mapping (event
    data repeats a great deal, e.g. a review's ``{"p": hazard}``). Keys include the
    value types, so 1, 1.0 and True never share; unhashable values are not shared.
    """
    if not data:
        return _EMPTY
    try:
        key = tuple((k, type(v), v) for k, v in data.items())
        got = _SHARED.get(key)
    except TypeError:
        return frozen_data(data)
    if got is None:
        if len(_SHARED) >= 4096:
            _SHARED.clear()
        got = _SHARED[key] = frozen_data(data)
    return got


def frozen_data(data: Any) -> Any:
    """A read-only copy of a data mapping (the shared empty one when empty)."""
    if not data:
        return _EMPTY
    if type(data) is FrozenData:
        return data
    return FrozenData(data)


@attrs.frozen(slots=True)
class Event:
    """One occurrence.

    stream:  the stream it belongs to ("branch/replicate", or a prefix stream)
    version: its 1-based position in that stream
    time:    days since the world's ``starts`` date (float)
    kind:    the world's event type
    actor, target: actor ids (or None)
    data:    a small mapping of JSON-able values; treat it as read-only
             (pass it through :func:`frozen_data` when it comes from outside)
    cause:   version (in the same stream) of the event that caused it, or None
    rule:    id of the rule or review that produced it, or None
    origin:  "history", "simulated" or "injected"
    source:  citation id for history events, or None
    """

    stream: str
    version: int
    time: float
    kind: str
    actor: str | None = None
    target: str | None = None
    data: Any = attrs.field(default=_EMPTY, hash=False)
    cause: int | None = None
    rule: str | None = None
    origin: str = SIMULATED
    source: str | None = None

    def evolve(self, **changes: Any) -> Event:
        """A copy with some fields changed (e.g. a new stream or version)."""
        return attrs.evolve(self, **changes)


@attrs.frozen(slots=True)
class Occurrence:
    """An event given from outside the model at a fixed time, not yet in a stream:
    a history entry (origin "history") or a scenario injection (origin "injected").

    The engine turns each into an :class:`Event` when it occurs. ``actor`` and
    ``target`` default to the event type's own when None.
    """

    time: float
    kind: str
    origin: str = HISTORY
    source: str | None = None
    actor: str | None = None
    target: str | None = None
    data: Any = attrs.field(default=_EMPTY, hash=False)
    note: str | None = None
    # how precise a history entry's date is, and how sure it is (None: not from a history
    # file); the engine uses them only under opt-in history uncertainty
    granularity: str | None = attrs.field(default=None, eq=False)
    confidence: str | None = attrs.field(default=None, eq=False)
