"""Structural validation derived from :mod:`sim.schema`: one checker for every file language.

This module owns the checks that need nothing but the one value and its description
in :mod:`sim.schema`: unknown keys (with "did you mean"), missing required keys, wrong
types, numbers out of range, values outside an enumeration or a pattern. It walks a
loaded YAML document (:class:`sim.yamlfile.Located`, which knows the line and column
of every value) against the very JSON Schema that ``sim schema KIND`` prints, so the
two cannot disagree: every problem the ``jsonschema`` library finds in a file, this
checker reports too (tests/test_schemacheck.py checks it on random mutations), with a
message naming the file, line and column, what is wrong and a hint. It is stricter in
a few places JSON cannot express: a YAML date is not text, numbers must be finite,
whole numbers are ints.

Messages come from the schema's annotations: a section's ``label`` ("rule 'r'"), a
key's ``what`` and ``hint``, a definition's ``title`` and ``examples``.

Checks that need more than one value (names against declarations, a value against
a variable's declared type, dates in order) are the loaders' semantic passes; they
ask :meth:`Checked.clean` whether a part of the document passed this one first, so
no problem is reported twice.

>>> from sim.yamlfile import loads
>>> doc = loads("world: w\\nstarts: 2020-01-01\\nevents: {}\\nrules: [{id: r, then: a}]\\n",
...             "w.yaml")
>>> [str(p) for p in check(doc, schema.WORLD).problems]
["w.yaml:4:9: rule 'r' is missing 'on' (required keys: id, on, then)"]
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import attrs

from sim import schema
from sim.errors import InputError, Problem, did_you_mean, excerpt, foreign, not_this_kind
from sim.world import finite_number

__all__ = ["Checked", "check", "check_value", "type_name", "number_hint", "date_hint", "fmt",
           "finite_number"]


# --------------------------------------------------------------------------- words

def type_name(value: Any) -> str:
    """What a YAML value is, in words."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number" if finite_number(value) else "an infinite, undefined or too large number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.datetime):
        return "a date with a time of day"
    if isinstance(value, dt.date):
        return "a date"
    return type(value).__name__


def fmt(value: Any) -> str:
    """A value as the user wrote it, cut short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return excerpt(repr(value))


def number_hint(value: Any) -> str | None:
    """A hint for text that looks like a number: YAML 1.1 reads ``1e5`` (no dot) as text."""
    if isinstance(value, str):
        try:
            x = float(value)
        except ValueError:
            return None
        if math.isfinite(x):
            return f"YAML reads {excerpt(value)} as text: write it with a dot, e.g. {x:.1e}"
    return None


def date_hint(value: Any) -> str | None:
    """A hint for a date YAML did not read as one: quoted, or with a time of day."""
    if isinstance(value, dt.datetime):
        return "write an ISO date without a time of day, e.g. 2019-11-15"
    if isinstance(value, str):
        try:
            dt.date.fromisoformat(value.strip())
        except ValueError as e:
            if _ISO_DAY.fullmatch(value.strip()):
                return f"{value.strip()} is not a real day ({e}); dates are YYYY-MM-DD"
            return None
        return f"YAML reads a quoted date as text: write {value.strip()} without quotes"
    return None


def _flow(value: Any) -> str:
    """An example value as flow YAML: {values: [30, 60, 90]}."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) and not value.isidentifier() \
        else str(value).lower() if isinstance(value, bool) else str(value)


_NOUN = {"number": "a number", "integer": "a whole number", "boolean": "true or false",
         "string": "text", "date": "a date", "object": "a mapping", "array": "a list",
         "null": "empty"}


_PLAIN_TYPES = {str: frozenset({"string"}), bool: frozenset({"boolean"}),
                dict: frozenset({"object"}), list: frozenset({"array"}),
                type(None): frozenset({"null"})}


def _types(value: Any) -> frozenset[str] | set[str]:
    """The JSON types a YAML value can stand for (a date is its own kind of text)."""
    plain = _PLAIN_TYPES.get(type(value))
    if plain is not None:
        return plain
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"} if finite_number(value) else set()
    if isinstance(value, float):
        return {"number"} if math.isfinite(value) else set()
    if isinstance(value, str):
        return {"string"}
    if isinstance(value, dt.datetime):
        return set()
    if isinstance(value, dt.date):
        return {"date"}
    if isinstance(value, Mapping):
        return {"object"}
    if isinstance(value, list):
        return {"array"}
    return set()


# --------------------------------------------------------------------------- result

@attrs.frozen
class Checked:
    """The problems found and the paths where they were found."""

    problems: tuple[Problem, ...]
    bad: frozenset[tuple]

    def clean(self, path: tuple) -> bool:
        """True when nothing at or under ``path`` was reported."""
        path = tuple(path)
        n = len(path)
        return not any(b[:n] == path for b in self.bad)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(list(self.problems))


_KINDS: dict[int, tuple[Any, set[str]]] = {}


@cache
def _object_schema(name: str) -> dict[str, Any]:
    return schema.SECTIONS[name].object_schema()


@cache
def _defs(kind: str) -> dict[str, Any]:
    return schema.json_schema(kind)["$defs"]


def _kind_of(section: schema.Section) -> str:
    return next(k for k, (top, parts) in schema.KINDS.items()
                if section is top or section in parts)


def check(doc: Any, top: schema.Section, what: str | None = None) -> Checked:
    """Check a whole document (``doc.data``, ``doc.problem(path, ...)``) against the
    section ``top`` of :mod:`sim.schema`. A top level that is not a mapping, or a
    mapping none of whose keys the language knows (a file of another kind), raises
    :class:`InputError` at once: there is nothing else to say about it."""
    data = doc.data
    what = what or top.title
    if not isinstance(data, Mapping):
        raise InputError(doc.problem((), f"{what} must be a mapping at the top level, "
                                         f"not {type_name(data)}",
                                     "expected keys: " + ", ".join(top.names)))
    if foreign(data, top.names):
        raise InputError(not_this_kind(doc, what, top.names))
    return check_value(doc, (), data, top)


def check_value(doc: Any, path: tuple, value: Any, section: schema.Section,
                ctx: Mapping[str, Any] | None = None) -> Checked:
    """Check ``value`` (found at ``path`` of ``doc``) as one ``section`` mapping."""
    w = _Walk(doc, _defs(_kind_of(section)))
    w.section(tuple(path), value, section, dict(ctx or {}))
    return Checked(tuple(w.problems), frozenset(w.bad))


# --------------------------------------------------------------------------- the walk

def _label(template: str, ctx: Mapping[str, Any], data: Any = None) -> str:
    if "{id}" in template:
        rid = data.get("id") if isinstance(data, Mapping) else None
        if isinstance(rid, str) and rid:
            return template.replace("{id}", excerpt(rid)).format(**ctx)
        template = template.replace("'{id}'", "#{n}").replace("{id}", "#{n}")
    return template.format(**ctx)


class _Walk:
    def __init__(self, doc: Any, defs: Mapping[str, Any], quiet: bool = False):
        self.doc = doc
        self.defs = defs
        self.quiet = quiet
        self.problems: list[Problem] = []
        self.bad: set[tuple] = set()

    def add(self, path: tuple, message: str, hint: str | None = None,
            key: bool = False) -> None:
        self.bad.add(path)
        if not self.quiet:
            self.problems.append(self.doc.problem(path, message, hint or None, key=key))
        else:
            self.problems.append(Problem(None, None, None, message))

    def _quoted_date(self, path: tuple, v: Any) -> bool:
        """A quoted ISO date ('2019-11-15') where a date belongs: YAML read it as text, but
        it is unambiguous (and a YAML 1.2 editor reads every date as text), so it is
        taken as the date, written back into the document for the loaders."""
        if not (isinstance(v, str) and _ISO_DAY.fullmatch(v.strip()) and path):
            return False
        try:
            day = dt.date.fromisoformat(v.strip())
        except ValueError:
            return False
        parent = self.doc.data
        try:
            for k in path[:-1]:
                parent = parent[k]
            if parent[path[-1]] is v:
                parent[path[-1]] = day
        except (KeyError, IndexError, TypeError):
            return False
        return True

    # ---- sections (the mappings sim.schema describes key by key)

    def section(self, path: tuple, value: Any, sec: schema.Section, ctx: dict,
                what: str | None = None) -> None:
        label = _label(sec.label or sec.title, {"key": "", "n": 0, "owner": "", **ctx}, value)
        if not isinstance(value, Mapping):
            self.add(path, f"{what or label} must be a mapping, not {type_name(value)}",
                     sec.hint or None)
            return
        for group in sec.one_of_required:
            if not any(k in value and value[k] is not None for k in group):
                names = [f"'{k}'" for k in group]
                self.add(path, f"{label} is missing {' or '.join(names)}" if len(group) == 2
                         else f"{label} is missing one of {', '.join(names)}",
                         "give " + " or ".join(names) if len(group) == 2
                         else "give one of them")
        names = sec.names
        for k in value:
            if k not in names:
                self.add(path + (k,), f"unknown key '{excerpt(k)}' in {label}",
                         did_you_mean(k, names)
                         or "expected keys: " + ", ".join(names), key=True)
        for k in sec.keys:
            if k.required and k.name not in value:
                self.add(path, f"{label} is missing '{k.name}'",
                         f"required keys: {', '.join(sec.required)}")
            elif (k.required_unless and k.name not in value
                  and k.required_unless not in value):
                self.add(path, f"{label} is missing '{k.name}'",
                         k.hint or f"give '{k.name}' or '{k.required_unless}'")
        kctx = {"key": "", "n": 0, **ctx, "owner": label}
        for k in sec.keys:
            if k.name not in value:
                continue
            v = value[k.name]
            kpath = path + (k.name,)
            what_k = k.what.format(**kctx) if k.what else f"'{k.name}'"
            if v is None:
                if k.required:
                    self.add(kpath, f"{what_k} is empty", k.hint or None)
                continue
            self.value(kpath, v, k.schema, what_k, k.hint, kctx, k)

    # ---- JSON Schema fragments

    def value(self, path: tuple, v: Any, s: Mapping[str, Any], what: str, hint: str,
              ctx: dict, key: schema.Key | None = None) -> None:
        hint = hint or _examples(s)
        if "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[1]
            if name in schema.SEMANTIC_DEFS:
                return
            if name in schema.SECTIONS:
                self.section(path, v, schema.SECTIONS[name], ctx)
                return
            self.value(path, v, self.defs[name], what, hint, ctx, key)
            return
        if "anyOf" in s:
            self.any_of(path, v, s, what, hint, ctx, key)
            return
        if "const" in s:
            if v != s["const"] or isinstance(v, bool) != isinstance(s["const"], bool):
                self.add(path, f"{what} must be {fmt(s['const'])}, not {fmt(v)}", hint)
            return
        if "enum" in s:
            if not any(v == e and type(v) is type(e) for e in s["enum"]):
                self.add(path, f"unknown {what} {fmt(v)}",
                         did_you_mean(str(v), s["enum"]) or hint)
            return
        want = _wanted(s)
        if _infinite(v) and want is not None and want & {"number", "integer"}:
            self.add(path, f"{what} must be a finite number, not {fmt(v)}", _PLAIN)
            return
        if want == {"integer"} and isinstance(v, float) and math.isfinite(v):
            self.add(path, f"{what} must be a whole number, not {v!r}", hint or None)
            return
        if want is not None and not (_types(v) & want):
            if "date" in want and self._quoted_date(path, v):
                return
            self.add(path, f"{what} must be {_nouns(want)}, not {type_name(v)} ({fmt(v)})",
                     number_hint(v) or ("date" in want and date_hint(v)) or hint
                     or _auto_hint(s))
            return
        if _types(v) & {"number", "integer"}:
            self.number(path, v, s, what, hint)
        elif isinstance(v, str):
            pattern = s.get("pattern")
            if pattern and not re.search(pattern, v):
                words, phint = schema.PATTERNS.get(pattern, ("of the expected form", ""))
                self.add(path, f"{what} {fmt(v)} is not {words}", hint or phint)
        elif isinstance(v, list):
            self.array(path, v, s, what, hint, ctx, key)
        elif isinstance(v, Mapping):
            self.mapping(path, v, s, what, hint, ctx, key)

    def number(self, path: tuple, v: Any, s: Mapping[str, Any], what: str, hint: str) -> None:
        lo, hi = s.get("minimum"), s.get("maximum")
        xlo = s.get("exclusiveMinimum")
        low_bad = (lo is not None and v < lo) or (xlo is not None and v <= xlo)
        high_bad = hi is not None and v > hi
        if not (low_bad or high_bad):
            return
        if lo is not None and hi is not None:
            rng = f"between {lo:g} and {hi:g}"
        elif xlo is not None:
            rng = f"> {xlo:g}"
        elif lo is not None:
            rng = f">= {lo:g}"
        else:
            rng = f"<= {hi:g}"
        self.add(path, f"{what} is {v:g}; it must be {rng}", hint or _auto_hint(s))

    def array(self, path: tuple, v: list, s: Mapping[str, Any], what: str, hint: str,
              ctx: dict, key: schema.Key | None) -> None:
        lo, hi = s.get("minItems"), s.get("maxItems")
        if (lo is not None and len(v) < lo) or (hi is not None and len(v) > hi):
            want = s.get("title") or (f"a list of {lo} to {hi} entries" if lo and hi else
                                      f"a list of at least {lo} entries" if lo else
                                      f"a list of at most {hi} entries")
            self.add(path, f"{what} must be {want}, not a list of {len(v)}", hint)
            return
        items = s.get("items")
        if items is None:
            return
        for i, x in enumerate(v):
            ictx = {**ctx, "n": i + 1}
            iwhat = (key.item.format(**{**ictx, "name": i}) if key is not None and key.item
                     else f"entry #{i + 1} of {what}")
            self.value(path + (i,), x, items, iwhat, hint, ictx)

    def mapping(self, path: tuple, v: Mapping, s: Mapping[str, Any], what: str, hint: str,
                ctx: dict, key: schema.Key | None) -> None:
        title = s.get("title") or what
        lo, hi = s.get("minProperties"), s.get("maxProperties")
        if lo is not None and len(v) < lo:
            self.add(path, f"{title} is empty" if lo == 1 else
                     f"{title} needs at least {lo} keys", hint)
            return
        if hi is not None and len(v) > hi:
            self.add(path, f"{title} must have one key, not {len(v)}" if hi == 1 else
                     f"{title} has {len(v)} keys (at most {hi})", hint, key=True)
            return
        props = s.get("properties", {})
        extra = s.get("additionalProperties", True)
        names = s.get("propertyNames")
        for k in s.get("required", ()):
            if k not in v:
                self.add(path, f"{title} is missing '{k}'",
                         f"required keys: {', '.join(s['required'])}")
        item_name = (key.item_name if key is not None and key.item_name else "key")
        for k, x in v.items():
            kpath = path + (k,)
            if names is not None and not self.name(kpath, k, names, item_name, title, hint):
                continue
            if k in props:
                self.value(kpath, x, props[k], f"'{k}' of {title}",
                           _examples(s) or ("" if "title" in s else hint), ctx)
            elif extra is False:
                self.add(kpath, f"unknown key '{excerpt(k)}' in {title}",
                         did_you_mean(k, props) or hint
                         or "expected keys: " + ", ".join(props), key=True)
            elif isinstance(extra, Mapping):
                iwhat = (key.item.format(**{**ctx, "name": k}) if key is not None and key.item
                         else f"'{k}' of {title}")
                self.value(kpath, x, extra, iwhat, hint, {**ctx, "key": k})

    def name(self, path: tuple, k: Any, s: Mapping[str, Any], item_name: str, title: str,
             hint: str) -> bool:
        """A mapping's key against ``propertyNames``."""
        item_name = s.get("title", item_name)
        if "enum" in s:
            if k in s["enum"]:
                return True
            self.add(path, f"unknown {item_name} {fmt(k)}",
                     did_you_mean(str(k), s["enum"]) or hint, key=True)
            return False
        pattern = s.get("pattern")
        if pattern is None or (isinstance(k, str) and re.search(pattern, k)):
            return True
        words, phint = schema.PATTERNS.get(pattern, ("of the expected form", ""))
        if isinstance(k, bool):
            phint = "YAML reads on/off/yes/no as true/false: put the name in quotes"
        self.add(path, f"{item_name} {fmt(k)} is not {words}", phint or hint, key=True)
        return False

    # ---- alternatives

    def any_of(self, path: tuple, v: Any, s: Mapping[str, Any], what: str, hint: str,
               ctx: dict, key: schema.Key | None) -> None:
        branches = s["anyOf"]
        if v is None and any(b.get("type") == "null" for b in branches):
            return
        fits = [b for b in branches if _types(v) & self.kinds(b)]
        if _infinite(v) and any(self.kinds(b) & {"number", "integer"} for b in branches):
            self.add(path, f"{what} must be a finite number, not {fmt(v)}", _PLAIN)
            return
        if not fits or all(("const" in b or "enum" in b) for b in fits) and not any(
                self.passes(path, v, b, ctx) for b in fits):
            alts = _nouns(set().union(*(self.kinds(b) for b in branches
                                        if "const" not in b and "enum" not in b)) - {"null"})
            consts = [fmt(b["const"]) for b in branches if "const" in b]
            words = " or ".join(x for x in [alts] + consts if x)
            self.add(path, f"{what} must be {words}, not {type_name(v)} ({fmt(v)})",
                     number_hint(v) or date_hint(v) or hint or s.get("description"))
            return
        if len(fits) == 1:
            self.value(path, v, fits[0], what, hint, ctx, key)
            return
        keyed = ([b for b in fits if set(self.resolve(b).get("required", ())) & set(v)]
                 if isinstance(v, Mapping) else [])
        if len(keyed) == 1 and all(self.resolve(b).get("required") for b in fits):
            # one-key forms ({uniform: {...}}, {logistic: {...}}): only that one can fit
            self.value(path, v, keyed[0], what, hint, ctx, key)
            return
        if any(self.passes(path, v, b, ctx) for b in fits):
            return
        if isinstance(v, Mapping):
            if keyed:
                self.value(path, v, keyed[0], what, hint, ctx, key)
                return
            known = {n for b in fits for n in self.resolve(b).get("properties", {})}
            if known and v:
                for k in v:
                    if k not in known:
                        self.add(path + (k,), f"unknown key '{excerpt(k)}' in {what}",
                                 did_you_mean(str(k), known) or hint, key=True)
                return
        best = min(fits, key=lambda b: self.count(path, v, b, ctx))
        self.value(path, v, best, what, hint, ctx, key)

    def resolve(self, s: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[1]
            if name in schema.SECTIONS:
                return _object_schema(name)
            s = self.defs[name]
        return s

    def kinds(self, s: Mapping[str, Any]) -> set[str]:
        """The JSON types a schema fragment can accept."""
        key = id(s)
        if key not in _KINDS:
            _KINDS[key] = (s, self._kinds(s))      # s kept alive: its id stays its own
        return _KINDS[key][1]

    def _kinds(self, s: Mapping[str, Any]) -> set[str]:
        s = self.resolve(s)
        if "anyOf" in s:
            return set().union(*(self.kinds(b) for b in s["anyOf"]))
        if "const" in s:
            return _types(s["const"])
        if "enum" in s:
            return set().union(*(_types(e) for e in s["enum"]))
        want = _wanted(s)
        return want if want is not None else {"null", "boolean", "integer", "number",
                                              "string", "date", "object", "array"}

    def count(self, path: tuple, v: Any, s: Mapping[str, Any], ctx: dict) -> int:
        w = _Walk(self.doc, self.defs, quiet=True)
        w.value(path, v, s, "", "", ctx)
        return len(w.problems)

    def passes(self, path: tuple, v: Any, s: Mapping[str, Any], ctx: dict) -> bool:
        return self.count(path, v, s, ctx) == 0


_PLAIN = "write a plain number such as 0.5 or 30"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _infinite(v: Any) -> bool:
    """An int or float that is no finite number (nan, inf, an int too large for a float)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not finite_number(v)


def _wanted(s: Mapping[str, Any]) -> set[str] | None:
    t = s.get("type")
    if t is None:
        return None
    out = set([t] if isinstance(t, str) else t)
    if "string" in out and s.get("format") == "date":
        out = (out - {"string"}) | {"date"}
    return out


def _nouns(kinds: set[str]) -> str:
    order = ["boolean", "integer", "number", "date", "string", "object", "array", "null"]
    if {"integer", "number"} <= kinds:
        kinds = kinds - {"integer"}
    words = [_NOUN[k] for k in order if k in kinds]
    if len(words) > 1:
        words = ["true/false" if w == "true or false" else w for w in words]
    return " or ".join(words)


def _auto_hint(s: Mapping[str, Any]) -> str:
    lo, hi = s.get("minimum"), s.get("maximum")
    if lo is not None and hi is not None:
        return f"a number from {lo:g} to {hi:g}"
    if s.get("format") == "date":
        return schema.DATE_HINT
    return ""


def _examples(s: Mapping[str, Any]) -> str:
    ex = s.get("examples")
    return "e.g. " + " or ".join(_flow(e) for e in ex) if ex else ""
