"""Safe YAML loading that remembers where every value came from.

Data is loaded with PyYAML's safe loader (no Python objects are ever
constructed from tags) into plain dicts, lists and scalars. Alongside, a
:class:`Located` document maps each path into the data to its (line,
column), 1-based, so validation errors can name the place.

>>> doc = loads("a:\\n  b: [1, 2]\\n", "x.yaml")
>>> doc.data
{'a': {'b': [1, 2]}}
>>> doc.where(("a", "b", 1))
(2, 10)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.errors import InputError, Problem, excerpt
from sim.limits import MAX_ALIAS_NODES, MAX_YAML_BYTES, MAX_YAML_DEPTH, path_problem, read_bytes

try:  # the C loader is much faster; both are safe
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

Path_ = tuple  # a path into the data: keys and list indices


class Located:
    """A loaded YAML document and the position of each of its values."""

    def __init__(self, data: Any, positions: dict[tuple, tuple[int, int]], file: str | Path):
        self.data = data
        self.positions = positions
        self.file = file

    def where(self, path: tuple) -> tuple[int | None, int | None]:
        """(line, column) of the value at ``path``, or of its nearest parent."""
        path = tuple(path)
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def key_where(self, path: tuple) -> tuple[int | None, int | None]:
        """(line, column) of the *key* at ``path`` (falls back to the value)."""
        kp = ("<key>",) + tuple(path)
        if kp in self.positions:
            return self.positions[kp]
        return self.where(path)

    def problem(self, path: tuple, message: str, hint: str | None = None,
                key: bool = False) -> Problem:
        line, col = self.key_where(path) if key else self.where(path)
        return Problem(self.file, line, col, message, hint)


class _Budget:
    """Counts what :func:`_build` makes, to refuse deep nesting and alias bombs."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.seen: set[int] = set()      # collection nodes built once already
        self.through_alias = 0           # values built again because an alias repeats them

    def problem(self, node: yaml.Node, message: str, hint: str) -> InputError:
        return InputError(Problem(self.file, node.start_mark.line + 1,
                                  node.start_mark.column + 1, message, hint))


def _build(node: yaml.Node, path: tuple, positions: dict, loader: Any,
           budget: _Budget | None = None, depth: int = 0) -> Any:
    if budget is None:
        budget = _Budget(loader.name)
    if depth > MAX_YAML_DEPTH:
        raise budget.problem(node, f"values are nested more than {MAX_YAML_DEPTH} levels deep",
                             "no sim file needs such deep nesting; check the brackets")
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in budget.seen:      # an alias (*name) to a mapping or list: a copy
            budget.through_alias += _size(node, budget)
        budget.seen.add(id(node))
    else:
        positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        out: dict = {}
        loader.flatten_mapping(node)
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise budget.problem(knode, "a mapping key must be a plain value",
                                     "keys are names such as 'world' or 'rules'")
            key = loader.construct_object(knode, deep=True)
            if isinstance(key, (list, dict)):  # pragma: no cover - scalar nodes are plain
                raise budget.problem(knode, "a mapping key must be a plain value",
                                     "keys are names such as 'world' or 'rules'")
            if key in out:
                raise InputError(Problem(loader.name, knode.start_mark.line + 1,
                                         knode.start_mark.column + 1,
                                         f"duplicate key '{excerpt(key)}'",
                                         "each key may appear once in a mapping"))
            positions[("<key>",) + path + (key,)] = (knode.start_mark.line + 1,
                                                     knode.start_mark.column + 1)
            out[key] = _build(vnode, path + (key,), positions, loader, budget, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        return [_build(v, path + (i,), positions, loader, budget, depth + 1)
                for i, v in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # e.g. a date that is no real day: 2020-13-01
        raise InputError(Problem(loader.name, node.start_mark.line + 1,
                                 node.start_mark.column + 1,
                                 f"'{excerpt(node.value)}' is not a valid value ({exc})",
                                 "dates are YYYY-MM-DD with a real month and day")) from None


def _size(node: yaml.Node, budget: _Budget) -> int:
    """Values under ``node`` (itself included), counted without building them; raises
    as soon as the aliases of the file would build more than ``MAX_ALIAS_NODES``."""
    count = 0
    todo = [node]
    while todo:
        n = todo.pop()
        count += 1
        if budget.through_alias + count > MAX_ALIAS_NODES:
            raise budget.problem(node, f"the aliases (*name) of this file repeat more than "
                                 f"{MAX_ALIAS_NODES} values (the alias here refers to the "
                                 f"anchor at this line)",
                                 "write the values out, or use fewer aliases")
        if isinstance(n, yaml.MappingNode):
            todo.extend(v for _, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)
    return count


def loads(text: str, file: str | Path = "<string>") -> Located:
    """Parse YAML text safely; raise :class:`InputError` naming the place on a syntax error."""
    loader = _Loader(text)
    loader.name = str(file)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {(): (1, 1)}, file)
        positions: dict = {}
        data = _build(node, (), positions, loader)
        return Located(data, positions, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        raise InputError(Problem(file, line, col, f"YAML syntax error: {what}",
                                 "check the indentation and the ':' after each key")) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(file, None, None, f"YAML error: {excerpt(exc, 200)}")) from None
    except RecursionError:
        raise InputError(Problem(file, None, None, "values are nested too deeply",
                                 f"at most {MAX_YAML_DEPTH} levels")) from None
    finally:
        loader.dispose()


def load(path: str | Path) -> Located:
    """Read and parse a YAML file; a missing or unreadable file is an InputError."""
    path = Path(path)
    bad = path_problem(str(path))
    if bad:
        raise InputError(Problem(excerpt(path, 80), None, None, bad, "check the path"))
    try:
        text = read_bytes(path, MAX_YAML_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise InputError(Problem(path, None, None, "file not found",
                                 "check the path (relative paths are from the current "
                                 "directory, or from the scenario file inside a scenario)")) from None
    except IsADirectoryError:
        raise InputError(Problem(path, None, None, "is a folder, not a file")) from None
    except UnicodeDecodeError as exc:
        raise InputError(Problem(path, None, None, f"not UTF-8 text ({exc.reason})")) from None
    except OSError as exc:
        raise InputError(Problem(path, None, None, f"cannot read: {exc.strerror}")) from None
    except ValueError as exc:   # not a regular file, or too large
        raise InputError(Problem(path, None, None, f"cannot read: {exc}")) from None
    return loads(text, path)
