"""Outcome measures: projections over replicate streams, with intervals.

(Skeleton: the OutcomeSpec record is fixed here so the scenario loader and
the runner can use it; the measures are being written.)
"""
from __future__ import annotations

import attrs

MEASURES = ("occurs", "time_to", "state", "count", "first")


@attrs.frozen
class OutcomeSpec:
    """One outcome a scenario asks for.

    YAML forms (dates are ISO dates or ``horizon``; times here are days since
    the world's ``starts``):

    - ``{id: X, occurs: EVENT, by: DATE}``   1/0 per replicate; by defaults to the horizon
    - ``{id: X, time_to: EVENT}``            days from the fork to the first occurrence
                                             after it... see measure docs; inf if never
    - ``{id: X, state: VAR, at: DATE}``      the variable's value at that date
    - ``{id: X, count: EVENT, by: DATE}``    number of occurrences by the date
    - ``{id: X, first: [E1, E2, ...]}``      which of these occurred first (index, or -1)
    """

    id: str
    measure: str
    event: str | None = None
    events: tuple[str, ...] = ()
    var: str | None = None
    by: float | None = None
    at: float | None = None
    label: str = ""
