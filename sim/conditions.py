"""Conditions in a world file: their checks against the declared variables, and satisfiability.

This module owns what a condition (``when:``) may say in a world file beyond its
shape: every key names a declared variable (or ``any``/``all``/``not``/``date``),
every value has the variable's type and lies within its bounds, and the
condition can hold at all (:func:`satisfiable`: contradictory comparisons, empty
ranges). The shape of a condition is described in :mod:`sim.schema`; it is
checked here rather than by :mod:`sim.schemacheck` because its keys are the
world's own variables.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from sim.errors import did_you_mean
from sim.schemacheck import finite_number, fmt, type_name
from sim.world import (
    CALENDAR_OPS,
    COMPARATORS,
    DATE_VAR,
    All,
    AnyOf,
    Compare,
    Condition,
    Not,
    Variable,
    condition,
)

__all__ = ["Conditions", "satisfiable", "RESERVED", "CONDITION_FORM", "fmt_bound"]

LOGIC = ("any", "all", "not")
RESERVED = LOGIC + (DATE_VAR,)
CONDITION_FORM = ("write {var: value}, {var: {'>=': 3}}, any: [..], all: [..] or not: {..}")
NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def fmt_bound(b: Any) -> str:
    return "none" if b is None else f"{b:g}"


class Conditions:
    """Checks and builds the conditions of one world file.

    ``add(path, message, hint, key=False)`` records a problem; ``variables`` are the
    world's declared variables; ``starts`` its day 0 (None when it is invalid).
    """

    def __init__(self, variables: Mapping[str, Variable], starts: dt.date | None,
                 add: Callable[..., None], count: Callable[[], int]):
        self.variables = variables
        self.starts = starts
        self.add = add
        self.count = count

    def parse_condition(self, path: tuple, spec: Any) -> Condition | None:
        """Validate a condition's YAML and build it; None if absent, empty or invalid."""
        if spec is None:
            return None
        before = self.count()
        self.check_condition(path, spec)
        if self.count() > before:
            return None
        if isinstance(spec, (Mapping, list)) and not spec:
            return None
        if self.starts is None:      # already reported; calendar conditions need it
            return None
        return condition(spec, self.starts)

    def check_condition(self, path: tuple, spec: Any) -> None:
        if isinstance(spec, list):
            for i, part in enumerate(spec):
                self.check_condition(path + (i,), part)
            return
        if not isinstance(spec, Mapping):
            self.add(path, f"a condition must be a mapping, not {type_name(spec)} "
                           f"({fmt(spec)})", CONDITION_FORM)
            return
        for key, value in spec.items():
            kp = path + (key,)
            if key in ("any", "all"):
                if not isinstance(value, list) or not value:
                    self.add(kp, f"'{key}:' needs a non-empty list of conditions",
                             f"e.g. {key}: [{{x: true}}, {{y: {{'>': 2}}}}]")
                    continue
                for i, part in enumerate(value):
                    self.check_condition(kp + (i,), part)
            elif key == "not":
                if not isinstance(value, (Mapping, list)) or not value:
                    self.add(kp, "'not:' needs a condition", "e.g. not: {sanctioned: true}")
                    continue
                self.check_condition(kp, value)
            elif key == DATE_VAR:
                self.check_calendar(kp, value)
            elif key not in self.variables:
                self.add(kp, f"condition on unknown variable '{key}'",
                         did_you_mean(key, list(self.variables) + list(RESERVED)), key=True)
            elif isinstance(value, Mapping):
                if not value:
                    self.add(kp, f"empty comparison on '{key}'", CONDITION_FORM)
                for op, v in value.items():
                    if op not in COMPARATORS:
                        hint = ("write '==' for equality" if op == "=" else
                                "expected one of: " + ", ".join(COMPARATORS))
                        self.add(kp + (op,), f"unknown comparison '{op}' on '{key}'", hint,
                                 key=True)
                        continue
                    self.check_compare(kp + (op,), key, op, v)
            else:
                self.check_compare(kp, key, "==", value)

    def check_calendar(self, path: tuple, value: Any) -> None:
        form = "date: {before: 2019-12-15} or date: {on_or_after: 2019-12-15}"
        if not isinstance(value, Mapping) or not value:
            self.add(path, f"a calendar condition must be a mapping, not {type_name(value)} "
                           f"({fmt(value)})", f"write {form}")
            return
        for op, d in value.items():
            if op not in CALENDAR_OPS:
                self.add(path + (op,), f"unknown calendar comparison '{op}'",
                         did_you_mean(str(op), CALENDAR_OPS) or f"write {form}", key=True)
            elif not isinstance(d, dt.date) or isinstance(d, dt.datetime):
                self.add(path + (op,), f"'{op}' needs a date, not {type_name(d)} ({fmt(d)})",
                         "write an ISO date like 2019-12-15")

    def check_compare(self, path: tuple, var: str, op: str, value: Any) -> None:
        typ = self.variables[var].type
        if typ == "bool":
            if not isinstance(value, bool):
                self.add(path, f"'{var}' is true/false but is compared with {type_name(value)} "
                               f"({fmt(value)})", f"write {var}: true or {var}: false")
            elif op not in ("==", "!="):
                self.add(path, f"ordering comparison '{op}' on true/false variable '{var}'",
                         "only == and != apply to true/false; write "
                         f"{var}: true or {var}: false")
            return
        if not finite_number(value):
            self.add(path, f"'{var}' is a number ({typ}) but is compared with "
                           f"{type_name(value)} ({fmt(value)})", "compare it with a number")
            return
        if typ == "int" and op == "==" and isinstance(value, float) and not value.is_integer():
            self.add(path, f"'{var}' is a whole number (int) and can never equal {value!r}",
                     "compare with a whole number or use <, <=, >, >=")
            return
        v = self.variables[var]
        if v.clamp(value) != value:
            self.add(path, f"'{var}' is compared with {value!r}, outside its bounds "
                           f"[{fmt_bound(v.min)}, {fmt_bound(v.max)}]",
                     "the comparison is always or never true: compare within min and max")

    def check_never(self, path: tuple, cond: Condition | None, what: str) -> None:
        if cond is None:
            return
        result = satisfiable(cond, self.var_types())
        if result is not True:
            names = ", ".join(f"'{v}'" for v in sorted(result))
            self.add(path, f"{what} can never hold: the comparisons on {names} contradict "
                           "each other", "check for a variable required to be both true and "
                                         "false, or a range that is empty")

    def var_types(self) -> dict[str, str]:
        return {k: v.type for k, v in self.variables.items()}

    # ---- delays

# --------------------------------------------------------------------------- satisfiability

class _TooBig(Exception):
    pass


_DNF_LIMIT = 1024


def _dnf(c: Condition, neg: bool = False) -> list[list[Compare]]:
    """Disjunctive normal form with negations pushed into the comparisons."""
    if isinstance(c, Compare):
        return [[Compare(c.var, NEGATE[c.op], c.value) if neg else c]]
    if isinstance(c, Not):
        return _dnf(c.part, not neg)
    if isinstance(c, (All, AnyOf)):
        conj = isinstance(c, All) != neg
        parts = [_dnf(p, neg) for p in c.parts]
        if not conj:
            out = [t for p in parts for t in p]
        else:
            out = [[]]
            for p in parts:
                out = [a + b for a in out for b in p]
                if len(out) > _DNF_LIMIT:
                    raise _TooBig
        if len(out) > _DNF_LIMIT:
            raise _TooBig
        return out
    raise TypeError(f"unknown condition {c!r}")


def _infeasible_vars(atoms: list[Compare], types: Mapping[str, str]) -> set[str]:
    """The variables whose comparisons in this conjunction cannot all hold."""
    by_var: dict[str, list[Compare]] = {}
    for a in atoms:
        by_var.setdefault(a.var, []).append(a)
    return {v for v, cs in by_var.items() if not _feasible(cs, types.get(v, "float"))}


def _feasible(cs: list[Compare], typ: str) -> bool:
    if typ == "bool":
        allowed = {True, False}
        for c in cs:
            if c.op == "==":
                allowed &= {c.value}
            elif c.op == "!=":
                allowed -= {c.value}
        return bool(allowed)
    lo, lo_inc, hi, hi_inc = -math.inf, False, math.inf, False
    eq: set = set()
    ne: set = set()
    for c in cs:
        v = c.value
        if c.op == "==":
            eq.add(v)
        elif c.op == "!=":
            ne.add(v)
        elif c.op in (">", ">="):
            inc = c.op == ">="
            if v > lo or (v == lo and not inc):
                lo, lo_inc = v, inc
        else:
            inc = c.op == "<="
            if v < hi or (v == hi and not inc):
                hi, hi_inc = v, inc

    def within(x: float) -> bool:
        return ((x > lo or (x == lo and lo_inc)) and (x < hi or (x == hi and hi_inc))
                and x not in ne and (typ != "int" or float(x).is_integer()))

    if eq:
        return len(eq) == 1 and within(next(iter(eq)))
    if typ == "int":
        first = -math.inf if lo == -math.inf else (math.ceil(lo) if lo_inc
                                                   else math.floor(lo) + 1)
        last = math.inf if hi == math.inf else (math.floor(hi) if hi_inc else math.ceil(hi) - 1)
        if first > last:
            return False
        if first == -math.inf or last == math.inf or last - first + 1 > len(ne):
            return True
        return any(x not in ne for x in range(int(first), int(last) + 1))
    if lo < hi:
        return True
    return lo == hi and lo_inc and hi_inc and lo not in ne


def satisfiable(cond: Condition, types: Mapping[str, str]) -> bool | set[str]:
    """True if some values of the variables (of the given types) make ``cond`` hold;
    otherwise the set of variables whose comparisons contradict each other.

    Exact for the condition language (conjunctions of comparisons under any/all/not);
    conditions too large to expand (over ~1000 alternatives) are assumed satisfiable.

    >>> satisfiable(condition({"all": [{"x": True}, {"x": False}]}), {"x": "bool"})
    {'x'}
    >>> satisfiable(condition({"n": {">": 2, "<": 3}}), {"n": "int"})
    {'n'}
    >>> satisfiable(condition({"n": {">": 2, "<": 3}}), {"n": "float"})
    True
    """
    try:
        terms = _dnf(cond)
    except _TooBig:
        return True
    culprits: set[str] = set()
    for atoms in terms:
        bad = _infeasible_vars(atoms, types)
        if not bad:
            return True
        culprits |= bad
    return culprits


