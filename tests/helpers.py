"""Helpers shared by the tests (not a test module): walking and mutating nested data."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def paths(data: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every path to a value in nested dicts and lists (the root included)."""
    yield path
    if isinstance(data, dict):
        for k, v in data.items():
            yield from paths(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from paths(v, path + (i,))


def replaced(data: Any, path: tuple, value: Any) -> Any:
    """A copy of ``data`` with the value at ``path`` replaced by ``value``."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: (replaced(v, rest, value) if k == head else v) for k, v in data.items()}
    return [(replaced(v, rest, value) if i == head else v) for i, v in enumerate(data)]
