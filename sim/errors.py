"""Errors that carry a file, a line, what is wrong and a hint.

Every problem with user input (a world, history, scenario or store file)
is an :class:`InputError`. The CLI prints its message and exits with
status 2, never a traceback. Several problems found in one file are
gathered into one :class:`InputError` so the user sees them all at once.

>>> err = Problem("world.yaml", 12, 5, "unknown event 's400_activted'",
...               hint=did_you_mean("s400_activted", ["s400_activated", "in_f35"]))
>>> str(err)
"world.yaml:12:5: unknown event 's400_activted' (did you mean 's400_activated'?)"
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

import attrs


class SimError(Exception):
    """Base class of the errors sim raises on purpose."""


@attrs.frozen
class Problem:
    """One thing wrong at one place in one file."""

    file: str | Path | None
    line: int | None
    column: int | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = str(self.file) if self.file is not None else ""
        if self.line is not None:
            where += f":{self.line}" if where else f"line {self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class InputError(SimError):
    """Bad input: one or more problems, each naming its file and line.

    Exit status 2 from the CLI.
    """

    def __init__(self, problems: Problem | Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(None, None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        head = f"{len(self.problems)} problems found:"
        return "\n".join([head] + [f"  {p}" for p in self.problems])

    def __str__(self) -> str:
        return self.message


class ConcurrencyError(SimError):
    """An append found the stream at another version than expected."""


class StoreError(InputError):
    """A file that is not a store, a store of a newer schema, or a damaged one."""


def excerpt(value: object, limit: int = 40) -> str:
    """``value`` as text cut to ``limit`` characters (with an ellipsis), for messages that
    quote the user's input: a file that is not ours is never echoed beyond one excerpt.

    >>> excerpt("root:$6$abcdefghijklmnopqrstuvwxyz0123456789:19000:0:99999:7::")
    'root:$6$abcdefghijklmnopqrstuvwxyz012345…'
    """
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def foreign(data: object, keys: Iterable[str]) -> bool:
    """True when ``data`` is a non-empty mapping none of whose keys is one of ``keys``,
    and that either has more than three keys or none resembling one of ``keys``: not a
    file of this kind at all (say a system file), rather than one with a typo."""
    if not isinstance(data, dict) or not data:
        return False
    keys = list(keys)
    if any(k in keys for k in data):
        return False
    return len(data) > 3 or not any(
        difflib.get_close_matches(str(k)[:40], keys, n=1, cutoff=0.6) for k in data)


def not_this_kind(doc: object, what: str, keys: Iterable[str]) -> Problem:
    """One problem for a YAML mapping none of whose keys is one of ``keys``: it is not
    ``what`` at all (say, a system file given by mistake), so its content is not
    listed key by key; only its first key is quoted, cut short.

    ``doc`` is a :class:`sim.yamlfile.Located` (not imported: errors is the lowest module).
    """
    first = next(iter(doc.data))  # type: ignore[attr-defined]
    line, col = doc.key_where((first,))  # type: ignore[attr-defined]
    return Problem(doc.file, line, col,  # type: ignore[attr-defined]
                   f"this is not {what}: none of its keys is one sim knows "
                   f"(the first is '{excerpt(first, 20)}')",
                   "expected keys such as " + ", ".join(list(keys)[:6]))


def did_you_mean(word: object, choices: Iterable[str]) -> str | None:
    """A hint naming the closest valid choices, or listing them when few.

    >>> did_you_mean("sanctiond", ["sanctioned", "in_f35"])
    "did you mean 'sanctioned'?"
    """
    choices = sorted(set(map(str, choices)))
    close = difflib.get_close_matches(str(word), choices, n=2, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if 0 < len(choices) <= 8:
        return "expected one of: " + ", ".join(choices)
    return None


class Collector:
    """Gathers problems in one file so all are reported at once.

    >>> c = Collector("x.yaml")
    >>> c.add(3, 1, "bad")
    >>> c.raise_if_any()
    Traceback (most recent call last):
    sim.errors.InputError: x.yaml:3:1: bad
    """

    def __init__(self, file: str | Path | None):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int | None, column: int | None, message: str,
            hint: str | None = None) -> None:
        self.problems.append(Problem(self.file, line, column, message, hint))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)
