"""Bounds on what a user may ask for, so bad input fails fast instead of running away.

One place for the limits the loaders, the scenario builder, the runner and the
CLI enforce (docs/scenarios.md lists them):

- ``MAX_REPLICATES``: replicates per branch (a run of 10**30 would never end);
- ``MAX_JOBS``: worker processes for ``-j/--jobs``;
- ``MAX_YAML_DEPTH``: how deeply mappings and lists may nest in a YAML file;
- ``MAX_ALIAS_NODES``: values a YAML file may build through aliases (``*name``),
  which stops "billion laughs" files that expand to billions of values;
- ``MAX_DAYS``, ``MAX_SIGMA``: the longest delay or review period, and a lognormal
  delay's largest sigma, so no drawn time overflows to infinity;
- ``MAX_TICKS``: how often one review may tick between the fork and the horizon
  (``every: 1e-9`` would never finish);
- ``MAX_NAME``: characters in a scenario or branch name (it becomes a folder name);
- ``MAX_PATH``: characters in a file path written in a scenario;
- ``DATES``: the range of a world's ``starts`` and a scenario's fork and horizon
  (figures need room around them within the calendar's years 1 to 9999);
- ``MAX_YAML_BYTES``, ``MAX_ARTICLE_BYTES``: the size of a file sim reads; and
  only regular files are read (not ``/dev/zero``, a FIFO or a terminal);
- ``PUBLISHED``: the range of an ingested article's publication date (relative
  dates such as "last year" are counted from it, and must stay real dates).

>>> check_count(5, "replicates", MAX_REPLICATES) is None
True
>>> check_count(10**30, "replicates", MAX_REPLICATES)[0]
'replicates is about 10**30; at most 1000000 are allowed'
"""
from __future__ import annotations

import datetime as dt
import os
import stat

MAX_REPLICATES = 1_000_000
MAX_JOBS = 256
MAX_YAML_DEPTH = 64
MAX_ALIAS_NODES = 10_000
MAX_NAME = 100
MAX_DAYS = 1e7          # the longest delay or review period, in days (about 27,000 years)
MAX_SIGMA = 20.0        # a lognormal delay's sigma (beyond it exp() overflows)
MAX_TICKS = 1_000_000   # times one review may tick between the fork and the horizon
MAX_PATH = 300
PUBLISHED = (dt.date(1900, 1, 1), dt.date(2199, 12, 31))   # an article's publication date
DATES = (dt.date(1000, 1, 1), dt.date(8999, 12, 31))       # a world's start and a horizon
MAX_YAML_BYTES = 50_000_000       # a world, history, scenario or coding file
MAX_ARTICLE_BYTES = 2_000_000     # an article for sim ingest (news articles are well under 100 kB)


def check_count(value: int, what: str, maximum: int) -> tuple[str, str] | None:
    """(message, hint) when the whole number ``value`` is above ``maximum``, else None."""
    if value > maximum:
        shown = str(value) if value < 10 ** 12 else f"about 10**{len(str(value)) - 1}"
        return (f"{what} is {shown}; at most {maximum} are allowed",
                f"use {maximum} or fewer")
    return None


def path_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a file path, or None (NUL bytes, too long)."""
    if "\x00" in text:
        return "a file path cannot contain a NUL character"
    if len(text) > MAX_PATH:
        return f"the file path is {len(text)} characters long (at most {MAX_PATH})"
    return None


def published_problem(date: dt.date) -> str | None:
    """What is wrong with ``date`` as an article's publication date, or None."""
    low, high = PUBLISHED
    if not low <= date <= high:
        return f"publication date {date} is out of range ({low} .. {high})"
    return None


def check_jobs(jobs: object) -> None:
    """Refuse a number of workers that is not a whole number from 1 to ``MAX_JOBS``."""
    if jobs is None:
        return
    from sim.errors import InputError, Problem

    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise InputError(Problem(None, None, None, f"jobs must be a whole number from 1 to "
                                 f"{MAX_JOBS}, got {str(jobs)[:40]}",
                                 "the number of worker processes, e.g. -j 4"))


def date_problem(date: dt.date, what: str) -> str | None:
    """What is wrong with ``date`` as a world start, fork or horizon, or None."""
    low, high = DATES
    if not low <= date <= high:
        return f"{what} {date} is outside {low} .. {high}"
    return None


def read_bytes(path: os.PathLike | str, limit: int) -> bytes:
    """The content of the regular file at ``path``, refusing anything else (a device, a
    FIFO: reading those may never end) and files over ``limit`` bytes.

    Raises ``IsADirectoryError``, ``FileNotFoundError``... like ``open``, and
    ``ValueError`` with a message for what is refused here.
    """
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("not a regular file (a device, a pipe or a socket)")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"the file is larger than {limit:,} bytes")
    return data
