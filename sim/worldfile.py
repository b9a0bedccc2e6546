"""Reading world files: YAML text -> :class:`sim.world.World`.

This module owns turning a world file into a :class:`sim.world.World` (the
language is documented in ``docs/world-language.md`` and described once, key by
key, in :mod:`sim.schema`). Validation runs in two passes and reports every
problem in the file at once, as one :class:`sim.errors.InputError` whose problems
each name the file, line and column, what is wrong and a hint:

1. the structural pass, :func:`sim.schemacheck.check`, derived from the schema:
   unknown and missing keys, types, ranges, enumerations, name patterns;
2. the semantic pass here, over what passed the first: names against their
   declarations (actors, events, variables), values against a variable's declared
   type and bounds, conditions (:mod:`sim.conditions`), impossible delays,
   duplicate ids, rules that can never fire, zero-delay loops; reviews and invariants
   in :mod:`sim.worldreviews`.

>>> from sim.yamlfile import loads
>>> w = parse_world(loads('''
... world: tiny
... starts: 2019-01-01
... actors: {TUR: {name: Turkey}}
... state: {active: false}
... events: {activate: {actor: TUR, effects: {active: true}, once: true}}
... ''', "tiny.yaml"))
>>> w.events["activate"].effects
(Effect(var='active', op='set', value=True),)

Static checks beyond shapes and names (see the docs for the full list):
a condition that can never hold (contradictory comparisons, empty ranges), a
rule that can never fire because its ``when`` contradicts what its own ``on``
event has just set (``when`` is checked right after ``on``'s effects are
applied), a rule ``on: X, then: X`` where X is ``once`` (the second X can never
occur), and a review modifier whose ``when`` contradicts the review's own.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from sim import schema, schemacheck, yamlfile
from sim.conditions import RESERVED, Conditions, fmt_bound, satisfiable
from sim.errors import InputError, Problem, did_you_mean
from sim.limits import date_problem
from sim.schemacheck import finite_number as is_number
from sim.schemacheck import fmt as _fmt
from sim.schemacheck import number_hint, type_name
from sim.world import (
    JOINT,
    LOOP_HINT,
    Actor,
    All,
    Compare,
    Condition,
    Delay,
    Effect,
    EventType,
    Rule,
    Variable,
    World,
    delay_problem,
    instant_loops,
    loop_message,
)
from sim.worldreviews import ReviewParts

__all__ = ["load_world", "parse_world", "load_yaml", "delay_problem", "satisfiable",
           "type_name", "number_hint", "is_number", "TOP_KEYS", "EVENT_KEYS", "RULE_KEYS",
           "REVIEW_KEYS", "MODIFIER_KEYS"]

# the keys of each mapping come from the one declarative description (sim.schema)
TOP_KEYS = schema.WORLD.names
EVENT_KEYS = schema.EVENT.names
RULE_KEYS = schema.RULE.names
REVIEW_KEYS = schema.REVIEW.names
VARIABLE_KEYS = schema.VARIABLE.names
MODIFIER_KEYS = schema.MODIFIER.names
TYPES = ("bool", "int", "float")
IDENT = re.compile(schema.IDENT_PATTERN)


def load_world(path: str | Path) -> World:
    """Read, validate and build the world in the YAML file at ``path``."""
    return parse_world(load_yaml(path))


_DATE_LIKE = re.compile(r"(?<![\w.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w.:-])")


def load_yaml(path: str | Path) -> yamlfile.Located:
    """:func:`sim.yamlfile.load`, turning PyYAML's bare ``ValueError`` on an impossible
    date (``2019-13-01`` looks like a date to YAML) into an :class:`InputError`."""
    try:
        return yamlfile.load(path)
    except ValueError as exc:
        text = Path(path).read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            for m in _DATE_LIKE.finditer(line.split("#", 1)[0]):
                try:
                    dt.date(*map(int, m.groups()))
                except ValueError as bad:
                    raise InputError(Problem(path, n, m.start() + 1,
                                             f"impossible date {m.group(0)} ({bad})",
                                             "write an ISO date like 2019-07-12")) from None
        raise InputError(Problem(path, None, None, f"invalid value: {exc}",
                                 "check the dates and numbers in the file")) from None


def parse_world(doc: yamlfile.Located) -> World:
    """Validate and build a world from a loaded YAML document (see :func:`sim.yamlfile.loads`).

    Raises :class:`InputError` listing every problem found.
    """
    doc = _on_keys(doc)
    return _WorldParser(doc, schemacheck.check(doc, schema.WORLD, "a world file")).parse()


def _on_keys(doc: yamlfile.Located) -> yamlfile.Located:
    """YAML 1.1 (PyYAML) reads the key ``on`` as ``true``: give rules their ``on`` back."""
    data = doc.data
    rules = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(rules, list) or not any(isinstance(r, Mapping) and True in r
                                              for r in rules):
        return doc
    new_rules = []
    for r in rules:
        if isinstance(r, Mapping) and True in r and "on" not in r:
            r = {("on" if k is True else k): v for k, v in r.items()}
        new_rules.append(r)
    positions = {}
    for path, pos in doc.positions.items():
        i = 3 if path[:1] == ("<key>",) else 2
        if len(path) > i and path[i - 2] == "rules" and path[i] is True:
            path = path[:i] + ("on",) + path[i + 1:]
        positions[path] = pos
    return yamlfile.Located({**data, "rules": new_rules}, positions, doc.file)


# --------------------------------------------------------------------------- helpers

def _is_name(value: Any) -> bool:
    return isinstance(value, str) and IDENT.match(value) is not None


def _value_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if is_number(value) else None
    if isinstance(value, float) and math.isfinite(value):
        return "float"
    return None


def _default(typ: str) -> Any:
    return {"bool": False, "int": 0, "float": 0.0}[typ]


def _position(p: Problem) -> tuple:
    return (p.line is None, p.line or 0)       # stable: a line's problems in check order


_SECTION = {"actor": "actors", "event": "events", "variable": "state"}


class _WorldParser(ReviewParts):
    """The semantic pass: builds the world from what passed the structural pass."""

    def __init__(self, doc: yamlfile.Located, checked: schemacheck.Checked):
        self.doc = doc
        self.ok = checked.clean
        self.problems: list[Problem] = list(checked.problems)
        self.actors: dict[str, Actor] = {}
        self.variables: dict[str, Variable] = {}
        self.event_ids: list[str] = []
        self.events: dict[str, EventType] = {}
        self.conds = Conditions(self.variables, None, self.add, lambda: len(self.problems))

    def add(self, path: tuple, message: str, hint: str | None = None, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, hint, key=key))

    def reference(self, path: tuple, name: Any, kind: str, known: Mapping | list) -> bool:
        if isinstance(name, str) and name in known:
            return True
        self.add(path, f"unknown {kind} '{name}'", did_you_mean(str(name), known)
                 or f"define it under '{_SECTION[kind]}' first")
        return False

    def items(self, name: str) -> list[tuple[tuple, Mapping]]:
        """The entries of a list section that are mappings, with their paths."""
        section = self.doc.data.get(name)
        if not isinstance(section, list):
            return []
        return [((name, i), spec) for i, spec in enumerate(section) if isinstance(spec, Mapping)]

    # ---- top level

    def parse(self) -> World:
        data = self.doc.data
        starts = data.get("starts") if self.ok(("starts",)) else None
        if starts is not None and date_problem(starts, "'starts'"):
            self.add(("starts",), date_problem(starts, "'starts'"), "a date in years 1000-8999")
            starts = None
        self.conds.starts = starts
        fitted = data.get("fitted_through") if self.ok(("fitted_through",)) else None
        self.parse_actors(data.get("actors"))
        self.parse_state(data.get("state"))
        self.parse_events(data.get("events"))
        rules = self.parse_rules()
        reviews = self.parse_reviews()
        invariants = self.parse_invariants()
        self.check_ids()
        self.check_instant_loops(rules)
        if self.problems:
            raise InputError(sorted(self.problems, key=_position))
        assert isinstance(starts, dt.date)
        return World(str(data["world"]), starts, self.actors, self.variables, self.events,
                     tuple(rules), tuple(reviews), file=str(self.doc.file),
                     invariants=tuple(invariants), fitted_through=fitted)

    # ---- actors and state

    def parse_actors(self, section: Any) -> None:
        if not isinstance(section, Mapping):
            return
        for aid, spec in section.items():
            if _is_name(aid):
                name = spec.get("name") if isinstance(spec, Mapping) else spec
                self.actors[aid] = Actor(aid, name if isinstance(name, str) else aid)

    def parse_state(self, section: Any) -> None:
        if not isinstance(section, Mapping):
            return
        for var, spec in section.items():
            path = ("state", var)
            if not _is_name(var):
                continue
            if var in RESERVED:
                self.add(path, f"'{var}' cannot be a variable name: it is a condition keyword",
                         "rename the variable", key=True)
                continue
            if not isinstance(spec, Mapping):
                typ = _value_type(spec)
                self.variables[var] = (Variable(var, typ, spec) if typ is not None
                                       else Variable(var, "float", 0.0))
                continue
            typ = spec.get("type")
            if typ not in TYPES:
                typ = _value_type(spec.get("initial")) or "float"
                self.variables[var] = Variable(var, typ, _default(typ))
                continue
            value = None
            if spec.get("initial") is not None and self.ok(path + ("initial",)):
                value = self.typed_value(path + ("initial",), spec["initial"], typ,
                                         f"the initial value of '{var}'")
            value = _default(typ) if value is None else value
            self.variables[var] = self.long_variable(path, var, typ, value, spec)

    def long_variable(self, path: tuple, var: str, typ: str, value: Any,
                      spec: Mapping) -> Variable:
        """A long-form variable with its bounds and decay checked."""
        lo, hi = spec.get("min"), spec.get("max")
        for key, bound in (("min", lo), ("max", hi)):
            if bound is None:
                continue
            if typ == "bool":
                self.add(path + (key,), f"a true/false variable has no '{key}'",
                         "bounds apply to int and float variables", key=True)
                return Variable(var, typ, value)
            if not self.ok(path + (key,)):
                return Variable(var, typ, value)
            if typ == "int" and not float(bound).is_integer():
                self.add(path + (key,), f"the '{key}' of int variable '{var}' must be a whole "
                                        f"number, not {bound!r}", "write a whole number")
                return Variable(var, typ, value)
        if lo is not None and hi is not None and lo > hi:
            self.add(path + ("min",), f"the bounds of '{var}' are empty: min {lo:g} is above "
                                      f"max {hi:g}", "swap them")
            return Variable(var, typ, value)
        cast = int if typ == "int" else float
        lo = None if lo is None else cast(lo)
        hi = None if hi is None else cast(hi)
        v = Variable(var, typ, value, lo, hi)
        if v.clamp(value) != value:
            self.add(path + ("initial",), f"the initial value of '{var}' ({value!r}) is outside "
                                          f"its bounds [{fmt_bound(lo)}, {fmt_bound(hi)}]",
                     "give an initial value within min and max")
        decay = spec.get("decay")
        dpath = path + ("decay",)
        if decay is None:
            return v
        if typ != "float":
            self.add(dpath, f"only a float variable can decay; '{var}' is {typ}",
                     f"write {{type: float, ...}} for '{var}'", key=True)
            return v
        if not self.ok(dpath):
            return v
        rest = decay.get("to") if decay.get("to") is not None else 0.0
        if v.clamp(float(rest)) != rest:
            self.add(dpath + ("to",), f"the rest value of '{var}' ({rest:g}) is outside its "
                                      f"bounds [{fmt_bound(lo)}, {fmt_bound(hi)}]",
                     "decay must head to a value the variable can take")
            return v
        return attrs.evolve(v, half_life=float(decay["half_life"]), rest=float(rest))

    def typed_value(self, path: tuple, value: Any, typ: str, what: str) -> Any:
        """``value`` converted to ``typ``, or None after reporting a mismatch."""
        if typ == "bool":
            if isinstance(value, bool):
                return value
            self.add(path, f"{what} must be true or false, not {type_name(value)} "
                           f"({_fmt(value)})", "this variable is true/false")
            return None
        if not is_number(value):
            self.add(path, f"{what} must be a number, not {type_name(value)} ({_fmt(value)})",
                     f"this variable is a number ({typ})")
            return None
        if typ == "int":
            if isinstance(value, float) and not value.is_integer():
                self.add(path, f"{what} must be a whole number, not {value!r}",
                         "this variable is an int; write {type: float, ...} for fractions")
                return None
            return int(value)
        return float(value)

    # ---- events

    def parse_events(self, section: Any) -> None:
        if not isinstance(section, Mapping):
            return
        self.event_ids = [e for e in section if _is_name(e)]
        for eid in self.event_ids:
            spec = section[eid] if section[eid] is not None else {}
            path = ("events", eid)
            if not isinstance(spec, Mapping):
                continue
            actor, target = spec.get("actor"), spec.get("target")
            if not self.ok(path + ("actor",)):
                actor = None
            elif isinstance(actor, list):
                actor = self.joint_actors(path + ("actor",), actor, f"event '{eid}'")
            elif actor is not None and not self.reference(path + ("actor",), actor, "actor",
                                                          self.actors):
                actor = None
            if target is not None and not (self.ok(path + ("target",)) and self.reference(
                    path + ("target",), target, "actor", self.actors)):
                target = None
            label = spec.get("label")
            effects = self.parse_effects(path + ("effects",), spec.get("effects"))
            self.events[eid] = EventType(eid, actor, target,
                                         label if isinstance(label, str) else "",
                                         tuple(effects), spec.get("once") is True)

    def joint_actors(self, path: tuple, names: list, what: str) -> str | None:
        """The actor "A+B" of a joint event given as a list of two or more actor ids."""
        if not all([self.reference(path + (i,), a, "actor", self.actors)
                    for i, a in enumerate(names)]):
            return None
        if len(set(names)) != len(names):
            self.add(path, f"the actors of {what} must be two or more different actors",
                     "e.g. actor: [USA, TUR] for a joint act; one actor is written actor: USA")
            return None
        return JOINT.join(names)

    def parse_effects(self, path: tuple, spec: Any) -> list[Effect]:
        if not isinstance(spec, Mapping):
            return []
        out = []
        for var, val in spec.items():
            vpath = path + (var,)
            if var not in self.variables:
                self.add(vpath, f"effect on unknown variable '{var}'",
                         did_you_mean(var, self.variables) or "declare it under 'state'",
                         key=True)
                continue
            if not self.ok(vpath):
                continue
            v = self.variables[var]
            op = "set"
            if isinstance(val, Mapping):
                op, val = next(iter(val.items()))
                vpath = vpath + (op,)
            if op == "add" and v.type == "bool":
                self.add(vpath, f"cannot add to '{var}': it is true/false",
                         f"write {var}: true or {var}: false")
                continue
            value = self.typed_value(vpath, val, v.type, f"the effect on '{var}'")
            if value is not None and op == "set" and v.clamp(value) != value:
                self.add(vpath, f"the effect sets '{var}' to {value!r}, outside its bounds "
                                f"[{fmt_bound(v.min)}, {fmt_bound(v.max)}]",
                         "set a value within min and max")
                continue
            if value is not None:
                out.append(Effect(var, op, value))
        return out

    # ---- conditions, delays and lists of events

    def condition(self, path: tuple, spec: Any, what: str) -> Condition | None:
        """A ``when:`` checked against the variables, and for whether it can hold."""
        cond = self.conds.parse_condition(path, spec)
        self.conds.check_never(path, cond, f"the 'when' of {what}")
        return cond

    def parse_delay(self, path: tuple, spec: Any) -> Delay | None:
        if spec is None:
            return Delay("fixed", {"value": 0})
        if is_number(spec):
            return Delay("fixed", {"value": spec})
        kind, params = next(iter(spec.items()))
        p = {k: v for k, v in params.items() if v is not None}
        bad = delay_problem(kind, p)
        if bad:
            form = "{" + kind + ": {" + ", ".join(p) + "}}"
            hint = {"uniform": f"expected {form} with 0 <= low <= high",
                    "triangular": f"expected {form} with 0 <= low <= mode <= high",
                    "choice": "give one weight per value and at least one positive weight, "
                              "e.g. {choice: {values: [30, 60, 90], weights: [1, 2, 1]}}"}
            self.add(path + (kind, bad[0]), f"impossible {kind} delay: {bad[1]}",
                     hint.get(kind, f"expected {form}"))
            return None
        return Delay(kind, p)

    def event_list(self, path: tuple, value: Any) -> list[str]:
        """An ``unless``-style list of event ids (one name is a list of one)."""
        if isinstance(value, str):
            return [value] if self.reference(path, value, "event", self.event_ids) else []
        value = value or []
        ok = all([self.reference(path + (j,), u, "event", self.event_ids)
                  for j, u in enumerate(value)])
        return value if ok else []

    # ---- rules

    def entry_id(self, spec: Mapping) -> str | None:
        rid = spec.get("id")
        return rid if _is_name(rid) else None

    def parse_rules(self) -> list[Rule]:
        out = []
        for path, spec in self.items("rules"):
            rid = self.entry_id(spec)
            what = f"rule '{rid}'" if rid else f"rule #{path[1] + 1}"
            before = len(self.problems)
            on, then = spec.get("on"), spec.get("then")
            for k in ("on", "then"):
                if spec.get(k) is not None and self.ok(path + (k,)):
                    self.reference(path + (k,), spec[k], "event", self.event_ids)
            delay = (self.parse_delay(path + ("delay",), spec.get("delay"))
                     if self.ok(path + ("delay",)) else None)
            when = self.condition(path + ("when",), spec.get("when"), what)
            unless = (self.event_list(path + ("unless",), spec.get("unless"))
                      if self.ok(path + ("unless",)) else [])
            if len(self.problems) > before or not self.ok(path) or rid is None:
                continue
            self.check_dead_rule(path, what, on, then, when)
            note = spec.get("note")
            prob = spec.get("probability")
            out.append(Rule(rid, on, then, 1.0 if prob is None else float(prob), delay, when,
                            tuple(unless), {"note": note} if note else {}))
        return out

    def check_dead_rule(self, path: tuple, what: str, on: str, then: str,
                        when: Condition | None) -> None:
        on_type = self.events.get(on)
        if on_type is None:
            return
        if on == then and on_type.once:
            self.add(path + ("then",), f"{what} can never fire: '{on}' is a once event, so the "
                                       f"'{then}' it schedules after '{on}' can never occur",
                     "schedule another event, or drop 'once: true' from "
                     f"'{on}'")
            return
        types = self.conds.var_types()
        if when is None or satisfiable(when, types) is not True:
            return
        sets = [Compare(e.var, "==", e.value) for e in on_type.effects if e.op == "set"]
        if not sets:
            return
        result = satisfiable(All((when, *sets)), types)
        if result is not True:
            fixed = [e for e in on_type.effects if e.op == "set" and e.var in result]
            setting = ", ".join(f"{e.var} = {_fmt(e.value)}" for e in fixed)
            self.add(path + ("when",), f"{what} can never fire: its 'when' is checked right "
                                       f"after '{on}' occurs, and '{on}' sets {setting}",
                     "drop that comparison from 'when', or change 'on'")

    # ---- across the file

    def check_instant_loops(self, rules: list[Rule]) -> None:
        """Rules that surely re-trigger each other with no delay (see
        :func:`sim.world.instant_loops`, the one check the scenario's ``set:`` also runs)."""
        index = {r.id: i for i, r in enumerate(rules)}
        for ids, loop in instant_loops(rules=rules, events=self.events):
            first = min(ids, key=index.__getitem__)
            path = next(p for p, spec in self.items("rules") if spec.get("id") == first)
            self.add(path, loop_message(ids, loop), LOOP_HINT)

    def check_ids(self) -> None:
        """Rule and review ids share one namespace (events record them as ``rule``)."""
        seen: dict[str, tuple] = {}
        for path, spec in self.items("rules") + self.items("reviews"):
            rid = spec.get("id")
            if not isinstance(rid, str):
                continue
            if rid in seen:
                line, _ = self.doc.where(seen[rid] + ("id",))
                kind = "rule" if seen[rid][0] == "rules" else "review"
                self.add(path + ("id",), f"duplicate id '{rid}': already used by a "
                                         f"{kind} at line {line}",
                         "rule and review ids must all be different (events record them)")
            else:
                seen[rid] = path
