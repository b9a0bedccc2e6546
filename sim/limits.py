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
- ``MAX_NAME``: characters in a scenario or branch name (it becomes a folder name);
- ``MAX_PATH``: characters in a file path written in a scenario.

>>> check_count(5, "replicates", MAX_REPLICATES) is None
True
>>> check_count(10**30, "replicates", MAX_REPLICATES)[0]
'replicates is about 10**30; at most 1000000 are allowed'
"""
from __future__ import annotations

MAX_REPLICATES = 1_000_000
MAX_JOBS = 256
MAX_YAML_DEPTH = 64
MAX_ALIAS_NODES = 10_000
MAX_NAME = 100
MAX_DAYS = 1e7          # the longest delay or review period, in days (about 27,000 years)
MAX_SIGMA = 20.0        # a lognormal delay's sigma (beyond it exp() overflows)
MAX_PATH = 300


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
