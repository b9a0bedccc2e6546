"""Reading and validating world files: YAML text -> :class:`sim.world.World`.

This module owns the world *language* (documented in ``docs/world-language.md``):
which keys exist, their types and defaults, and every static check on a
world. It reports all problems in a file at once, as one
:class:`sim.errors.InputError` whose problems each name the file, line and
column, what is wrong and a hint.

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

from sim import schema, yamlfile
from sim.errors import InputError, Problem, did_you_mean, excerpt, foreign, not_this_kind
from sim.limits import MAX_DAYS, date_problem
from sim.world import (
    CALENDAR_OPS,
    COMPARATORS,
    DATE_VAR,
    DELAY_PARAMS,
    JOINT,
    LOOP_HINT,
    Actor,
    All,
    AnyOf,
    Compare,
    Condition,
    Curve,
    Delay,
    Effect,
    EventType,
    Invariant,
    Modifier,
    Not,
    Review,
    Rule,
    Variable,
    World,
    condition,
    delay_problem,
    finite_number,
    instant_loops,
    loop_message,
)

__all__ = ["load_world", "parse_world", "load_yaml", "delay_problem", "satisfiable", "TOP_KEYS", "EVENT_KEYS", "RULE_KEYS",
           "REVIEW_KEYS", "MODIFIER_KEYS"]

# the keys of each mapping come from the one declarative description (sim.schema)
TOP_KEYS = schema.WORLD.names
TOP_REQUIRED = schema.WORLD.required
ACTOR_KEYS = schema.ACTOR.names
VARIABLE_KEYS = schema.VARIABLE.names
DECAY_KEYS = schema.DECAY.names
EVENT_KEYS = schema.EVENT.names
RULE_KEYS = schema.RULE.names
RULE_REQUIRED = schema.RULE.required
REVIEW_KEYS = schema.REVIEW.names
REVIEW_REQUIRED = schema.REVIEW.required
REVIEW_ONE_OF = schema.REVIEW.one_of_required
MODIFIER_KEYS = schema.MODIFIER.names
INVARIANT_KEYS = schema.INVARIANT.names
INVARIANT_REQUIRED = schema.INVARIANT.required
TYPES = ("bool", "int", "float")
LOGIC = ("any", "all", "not")
RESERVED = LOGIC + (DATE_VAR,)
CURVE_PARAMS = {"logistic": (("var", "mid", "scale"), ("max",)), "per_unit": (("var", "p"), ())}
MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
IDENT_HINT = "use letters, digits, '_' or '-', starting with a letter or '_' (no dots or spaces)"

DELAY_FORMS = ("a number of days, or one of {fixed: {value}}, {uniform: {low, high}}, "
               "{exponential: {mean}}, {lognormal: {median, sigma}}, "
               "{triangular: {low, mode, high}}, {choice: {values: [..], weights: [..]}}")
CONDITION_FORM = ("write {var: value}, {var: {'>=': 3}}, any: [..], all: [..] or not: {..}")
PROB_HINT = "a probability is a number from 0 to 1, e.g. 0.7"
NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


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
    return _WorldParser(_on_keys(doc)).parse()


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

def is_number(value: Any) -> bool:
    """A real, finite int or float (YAML's true/false are not numbers; nor is an int too
    large for a float)."""
    return finite_number(value)


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


def type_name(value: Any) -> str:
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


def _value_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if finite_number(value) else None
    if isinstance(value, float) and math.isfinite(value):
        return "float"
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return excerpt(repr(value))


class _WorldParser:
    def __init__(self, doc: yamlfile.Located):
        self.doc = doc
        self.problems: list[Problem] = []
        self.actors: dict[str, Actor] = {}
        self.variables: dict[str, Variable] = {}
        self.event_ids: list[str] = []
        self.events: dict[str, EventType] = {}
        self.starts: dt.date | None = None

    # ---- reporting

    def add(self, path: tuple, message: str, hint: str | None = None, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, hint, key=key))

    def keys(self, path: tuple, mapping: Mapping, allowed: tuple, what: str,
             required: tuple = (), one_of: tuple = ()) -> bool:
        """Report unknown and missing keys; True when there were none. ``one_of``: groups
        of keys of which at least one must be given."""
        ok = True
        for group in one_of:
            if not any(k in mapping for k in group):
                self.add(path, f"{what} is missing '{group[0]}'",
                         "give " + " or ".join(f"'{k}'" for k in group))
                ok = False
        for k in mapping:
            if k not in allowed:
                self.add(path + (k,), f"unknown key '{k}' in {what}",
                         did_you_mean(k, allowed), key=True)
                ok = False
        for k in required:
            if k not in mapping:
                self.add(path, f"{what} is missing '{k}'",
                         f"required keys: {', '.join(required)}")
                ok = False
        return ok

    def mapping(self, path: tuple, value: Any, what: str, form: str) -> bool:
        if isinstance(value, Mapping):
            return True
        self.add(path, f"{what} must be a mapping, not {type_name(value)}", f"expected {form}")
        return False

    def ident(self, path: tuple, name: Any, what: str) -> bool:
        if isinstance(name, str) and IDENT.match(name):
            return True
        hint = ("YAML reads on/off/yes/no as true/false: put the name in quotes" if isinstance(name, bool) else IDENT_HINT)
        self.add(path, f"{what} {_fmt(name)} is not a valid name", hint,
                 key=len(path) > 0 and path[0] in ("actors", "state", "events"))
        return False

    def number(self, path: tuple, value: Any, what: str, low: float | None = None,
               high: float | None = None, low_open: bool = False,
               hint: str | None = None) -> bool:
        if not is_number(value):
            self.add(path, f"{what} must be a number, not {type_name(value)} ({_fmt(value)})",
                     number_hint(value) or hint or "write a plain number such as 0.5 or 30")
            return False
        if low is not None and (value < low or (low_open and value == low)):
            rel = ">" if low_open else ">="
            rng = f"between {low:g} and {high:g}" if high is not None else f"{rel} {low:g}"
            self.add(path, f"{what} is {value:g}; it must be {rng}", hint)
            return False
        if high is not None and value > high:
            self.add(path, f"{what} is {value:g}; it must be between {low:g} and {high:g}",
                     hint)
            return False
        return True

    def reference(self, path: tuple, name: Any, kind: str, known: Mapping | list) -> bool:
        if isinstance(name, str) and name in known:
            return True
        if not isinstance(name, str):
            self.add(path, f"expected the name of {kind}, not {type_name(name)} ({_fmt(name)})",
                     did_you_mean(str(name), known))
        else:
            self.add(path, f"unknown {kind} '{name}'", did_you_mean(name, known)
                     or f"define it under '{_SECTION[kind]}' first")
        return False

    # ---- top level

    def parse(self) -> World:
        doc = self.doc
        data = doc.data
        if not isinstance(data, Mapping):
            raise InputError(doc.problem((), f"a world file must be a mapping at the top level, "
                                             f"not {type_name(data)}",
                                         "expected keys: " + ", ".join(TOP_KEYS)))
        if foreign(data, TOP_KEYS):
            raise InputError(not_this_kind(doc, "a world file", TOP_KEYS))
        self.keys((), data, TOP_KEYS, "the world file", TOP_REQUIRED)
        name = data.get("world")
        if "world" in data and not (isinstance(name, str) and name.strip()):
            self.add(("world",), f"'world' must be a name, not {type_name(name)}",
                     "e.g. world: s400")
        starts = data.get("starts")
        if "starts" in data and (not isinstance(starts, dt.date)
                                 or isinstance(starts, dt.datetime)):
            self.add(("starts",), f"'starts' must be a date, not {type_name(starts)} "
                                  f"({_fmt(starts)})", "write an ISO date like 2017-09-12")
            starts = None
        elif "starts" in data and date_problem(starts, "'starts'"):
            self.add(("starts",), date_problem(starts, "'starts'"), "a date in years 1000-8999")
            starts = None
        self.starts = starts
        if "description" in data and not isinstance(data["description"], str):
            self.add(("description",), "'description' must be text",
                     "write one paragraph; quote it if it contains ':'")
        fitted = data.get("fitted_through")
        if "fitted_through" in data and (not isinstance(fitted, dt.date)
                                         or isinstance(fitted, dt.datetime)):
            self.add(("fitted_through",), f"'fitted_through' must be a date, not "
                     f"{type_name(fitted)} ({_fmt(fitted)})",
                     "the last history date the parameters were fitted on, e.g. 2020-12-14")
            fitted = None

        self.parse_actors(data.get("actors"))
        self.parse_state(data.get("state"))
        self.parse_events(data.get("events"))
        rules = self.parse_rules(data.get("rules"))
        reviews = self.parse_reviews(data.get("reviews"))
        invariants = self.parse_invariants(data.get("invariants"))
        self.check_ids(data)
        self.check_instant_loops(rules)

        if self.problems:
            raise InputError(self.problems)
        assert isinstance(starts, dt.date)
        return World(str(name), starts, self.actors, self.variables, self.events,
                     tuple(rules), tuple(reviews), file=str(doc.file),
                     invariants=tuple(invariants), fitted_through=fitted)

    # ---- actors and state

    def parse_actors(self, section: Any) -> None:
        if section is None:
            return
        if not self.mapping(("actors",), section, "'actors'", "{ID: {name: ...}, ...}"):
            return
        for aid, spec in section.items():
            path = ("actors", aid)
            if not self.ident(path, aid, "actor id"):
                continue
            if isinstance(spec, str):
                self.actors[aid] = Actor(aid, spec)
                continue
            if spec is None:
                self.actors[aid] = Actor(aid, aid)
                continue
            if not self.mapping(path, spec, f"actor '{aid}'", "{name: Turkey}"):
                self.actors[aid] = Actor(aid, aid)
                continue
            self.keys(path, spec, ACTOR_KEYS, f"actor '{aid}'")
            nm = spec.get("name", aid)
            if not isinstance(nm, str):
                self.add(path + ("name",), f"the name of actor '{aid}' must be text",
                         "e.g. {name: Turkey}")
                nm = aid
            self.actors[aid] = Actor(aid, nm)

    def parse_state(self, section: Any) -> None:
        if section is None:
            return
        if not self.mapping(("state",), section, "'state'",
                            "{variable: initial value, ...}, e.g. {sanctioned: false}"):
            return
        for var, spec in section.items():
            path = ("state", var)
            if not self.ident(path, var, "variable name"):
                continue
            if var in RESERVED:
                self.add(path, f"'{var}' cannot be a variable name: it is a condition keyword",
                         "rename the variable", key=True)
                continue
            if isinstance(spec, Mapping):
                self.keys(path, spec, VARIABLE_KEYS, f"variable '{var}'", ("type",))
                typ = spec.get("type")
                if typ not in TYPES:
                    if "type" in spec:
                        self.add(path + ("type",), f"unknown variable type {_fmt(typ)}",
                                 did_you_mean(str(typ), TYPES))
                    typ = _value_type(spec.get("initial")) or "float"
                    self.variables[var] = Variable(var, typ, _default(typ))
                    continue
                initial = spec.get("initial", _default(typ))
                value = self.typed_value(path + ("initial",), initial, typ,
                                         f"the initial value of '{var}'")
                value = _default(typ) if value is None else value
                self.variables[var] = self.long_variable(path, var, typ, value, spec)
                continue
            typ = _value_type(spec)
            if typ is None:
                self.add(path, f"the initial value of '{var}' must be true/false or a number, "
                               f"not {type_name(spec)} ({_fmt(spec)})",
                         "e.g. sanctioned: false, tension: 0.0, or {type: float, initial: 0}")
                typ = "float"
                spec = 0.0
            self.variables[var] = Variable(var, typ, spec)

    def long_variable(self, path: tuple, var: str, typ: str, value: Any,
                      spec: Mapping) -> Variable:
        """A long-form variable with its bounds and decay checked."""
        lo, hi = spec.get("min"), spec.get("max")
        for key, bound in (("min", lo), ("max", hi)):
            if key not in spec:
                continue
            if typ == "bool":
                self.add(path + (key,), f"a true/false variable has no '{key}'",
                         "bounds apply to int and float variables", key=True)
                return Variable(var, typ, value)
            if not self.number(path + (key,), bound, f"the '{key}' of '{var}'"):
                return Variable(var, typ, value)
            if typ == "int" and not float(bound).is_integer():
                self.add(path + (key,), f"the '{key}' of int variable '{var}' must be a whole "
                                        f"number, not {bound!r}", "write a whole number")
                return Variable(var, typ, value)
        if lo is not None and hi is not None and lo > hi:
            self.add(path + ("min",), f"the bounds of '{var}' are empty: min {lo:g} is above "
                                      f"max {hi:g}", "swap them")
            return Variable(var, typ, value)
        if typ == "int":
            lo = None if lo is None else int(lo)
            hi = None if hi is None else int(hi)
        elif typ == "float":
            lo = None if lo is None else float(lo)
            hi = None if hi is None else float(hi)
        v = Variable(var, typ, value, lo, hi)
        if v.clamp(value) != value:
            self.add(path + ("initial",), f"the initial value of '{var}' ({value!r}) is outside "
                                          f"its bounds [{_fmt_bound(lo)}, {_fmt_bound(hi)}]",
                     "give an initial value within min and max")
        decay = spec.get("decay")
        if decay is None:
            return v
        dpath = path + ("decay",)
        if typ != "float":
            self.add(dpath, f"only a float variable can decay; '{var}' is {typ}",
                     f"write {{type: float, ...}} for '{var}'", key=True)
            return v
        if not self.mapping(dpath, decay, f"the decay of '{var}'", "{half_life: 90, to: 0}"):
            return v
        if not self.keys(dpath, decay, DECAY_KEYS, f"the decay of '{var}'",
                         schema.DECAY.required):
            return v
        hl, rest = decay["half_life"], decay.get("to", 0.0)
        if not self.number(dpath + ("half_life",), hl, f"the half-life of '{var}'", 0.0,
                           low_open=True, hint="days for the distance to the rest value "
                                               "to halve, e.g. half_life: 90"):
            return v
        if not self.number(dpath + ("to",), rest, f"the rest value of '{var}'"):
            return v
        if v.clamp(float(rest)) != rest:
            self.add(dpath + ("to",), f"the rest value of '{var}' ({rest:g}) is outside its "
                                      f"bounds [{_fmt_bound(lo)}, {_fmt_bound(hi)}]",
                     "decay must head to a value the variable can take")
            return v
        return attrs.evolve(v, half_life=float(hl), rest=float(rest))

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
        if section is None:
            return
        if not self.mapping(("events",), section, "'events'",
                            "{event_id: {actor: ..., effects: {...}}, ...}"):
            return
        valid = [e for e in section if self.ident(("events", e), e, "event id")]
        self.event_ids = valid
        for eid in valid:
            spec = section[eid]
            path = ("events", eid)
            if spec is None:
                spec = {}
            if not self.mapping(path, spec, f"event '{eid}'",
                                "{actor: ID, target: ID, label: ..., effects: {...}, once: true}"):
                continue
            self.keys(path, spec, EVENT_KEYS, f"event '{eid}'")
            actor = spec.get("actor")
            if isinstance(actor, list):
                actor = self.joint_actors(path + ("actor",), actor, f"event '{eid}'")
            elif actor is not None:
                self.reference(path + ("actor",), actor, "actor", self.actors)
            target = spec.get("target")
            if target is not None:
                self.reference(path + ("target",), target, "actor", self.actors)
            label = spec.get("label", "")
            if not isinstance(label, str):
                self.add(path + ("label",), f"the label of '{eid}' must be text",
                         "a short phrase, e.g. label: Russia delivers S-400 components")
                label = ""
            once = spec.get("once", False)
            if not isinstance(once, bool):
                self.add(path + ("once",), f"'once' must be true or false, not {_fmt(once)}",
                         "write once: true for an event that can occur only once")
                once = False
            effects = self.parse_effects(path + ("effects",), spec.get("effects"), eid)
            self.events[eid] = EventType(eid, actor if isinstance(actor, str) else None,
                                         target if isinstance(target, str) else None,
                                         label, tuple(effects), once)

    def joint_actors(self, path: tuple, names: list, what: str) -> str | None:
        """The actor "A+B" of a joint event given as a list of two or more actor ids."""
        ok = all([self.reference(path + (i,), a, "actor", self.actors)
                  for i, a in enumerate(names)])
        if not ok:
            return None
        if len(names) < 2 or len(set(names)) != len(names):
            self.add(path, f"the actors of {what} must be two or more different actors",
                     "e.g. actor: [USA, TUR] for a joint act; one actor is written actor: USA")
            return None
        return JOINT.join(names)

    def parse_effects(self, path: tuple, spec: Any, eid: str) -> list[Effect]:
        if spec is None:
            return []
        if not self.mapping(path, spec, f"the effects of '{eid}'",
                            "{variable: value, variable: {add: 1.0}}"):
            return []
        out = []
        for var, val in spec.items():
            vpath = path + (var,)
            if var not in self.variables:
                self.add(vpath, f"effect on unknown variable '{var}'",
                         did_you_mean(var, self.variables) or "declare it under 'state'",
                         key=True)
                continue
            v = self.variables[var]
            op = "set"
            if isinstance(val, Mapping):
                if len(val) != 1 or next(iter(val)) not in ("set", "add"):
                    bad = [k for k in val if k not in ("set", "add")]
                    self.add(vpath, f"an effect must be a value, {{set: value}} or "
                                    f"{{add: number}}, not {_fmt(dict(val))}",
                             did_you_mean(bad[0], ("set", "add")) if bad
                             else "give exactly one of set/add")
                    continue
                op, val = next(iter(val.items()))
                vpath = vpath + (op,)
            if op == "add" and v.type == "bool":
                self.add(vpath, f"cannot add to '{var}': it is true/false",
                         f"write {var}: true or {var}: false")
                continue
            value = self.typed_value(vpath, val, v.type, f"the effect on '{var}'")
            if value is not None and op == "set" and v.clamp(value) != value:
                self.add(vpath, f"the effect sets '{var}' to {value!r}, outside its bounds "
                                f"[{_fmt_bound(v.min)}, {_fmt_bound(v.max)}]",
                         "set a value within min and max")
                continue
            if value is not None:
                out.append(Effect(var, op, value))
        return out

    # ---- conditions

    def parse_condition(self, path: tuple, spec: Any) -> Condition | None:
        """Validate a condition's YAML and build it; None if absent, empty or invalid."""
        if spec is None:
            return None
        before = len(self.problems)
        self.check_condition(path, spec)
        if len(self.problems) > before:
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
                           f"({_fmt(spec)})", CONDITION_FORM)
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
                           f"({_fmt(value)})", f"write {form}")
            return
        for op, d in value.items():
            if op not in CALENDAR_OPS:
                self.add(path + (op,), f"unknown calendar comparison '{op}'",
                         did_you_mean(str(op), CALENDAR_OPS) or f"write {form}", key=True)
            elif not isinstance(d, dt.date) or isinstance(d, dt.datetime):
                self.add(path + (op,), f"'{op}' needs a date, not {type_name(d)} ({_fmt(d)})",
                         "write an ISO date like 2019-12-15")

    def check_compare(self, path: tuple, var: str, op: str, value: Any) -> None:
        typ = self.variables[var].type
        if typ == "bool":
            if not isinstance(value, bool):
                self.add(path, f"'{var}' is true/false but is compared with {type_name(value)} "
                               f"({_fmt(value)})", f"write {var}: true or {var}: false")
            elif op not in ("==", "!="):
                self.add(path, f"ordering comparison '{op}' on true/false variable '{var}'",
                         "only == and != apply to true/false; write "
                         f"{var}: true or {var}: false")
            return
        if not is_number(value):
            self.add(path, f"'{var}' is a number ({typ}) but is compared with "
                           f"{type_name(value)} ({_fmt(value)})", "compare it with a number")
            return
        if typ == "int" and op == "==" and isinstance(value, float) and not value.is_integer():
            self.add(path, f"'{var}' is a whole number (int) and can never equal {value!r}",
                     "compare with a whole number or use <, <=, >, >=")
            return
        v = self.variables[var]
        if v.clamp(value) != value:
            self.add(path, f"'{var}' is compared with {value!r}, outside its bounds "
                           f"[{_fmt_bound(v.min)}, {_fmt_bound(v.max)}]",
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

    def parse_delay(self, path: tuple, spec: Any) -> Delay | None:
        if spec is None:
            return Delay("fixed", {"value": 0})
        if is_number(spec):
            if spec < 0:
                self.add(path, f"a delay cannot be negative ({spec:g} days)",
                         "delays are days after the triggering event: use 0 or more")
                return None
            return Delay("fixed", {"value": spec})
        if not isinstance(spec, Mapping) or len(spec) != 1:
            self.add(path, f"a delay must be a number of days or a one-key mapping, "
                           f"not {type_name(spec)} ({_fmt(spec)})", "expected " + DELAY_FORMS)
            return None
        kind, params = next(iter(spec.items()))
        kpath = path + (kind,)
        if kind not in DELAY_PARAMS:
            self.add(kpath, f"unknown delay kind '{kind}'", did_you_mean(kind, DELAY_PARAMS),
                     key=True)
            return None
        names = DELAY_PARAMS[kind]
        form = "{" + kind + ": {" + ", ".join(names) + "}}"
        if not isinstance(params, Mapping):
            self.add(kpath, f"the parameters of a {kind} delay must be a mapping, "
                            f"not {type_name(params)} ({_fmt(params)})", f"expected {form}")
            return None
        before = len(self.problems)
        required = ("values",) if kind == "choice" else names
        self.keys(kpath, params, names, f"a {kind} delay", required)
        if len(self.problems) > before:
            return None
        p = dict(params)
        if kind == "choice":
            self.check_choice(kpath, p)
        else:
            for n in names:
                self.number(kpath + (n,), p[n], f"the {kind} delay's '{n}'",
                            hint=f"expected {form} with numbers of days")
        if len(self.problems) > before:
            return None
        bad = delay_problem(kind, p)
        if bad:
            self.add(kpath + (bad[0],), f"impossible {kind} delay: {bad[1]}", f"expected {form}"
                     + (" with 0 <= low <= high" if kind == "uniform" else "")
                     + (" with 0 <= low <= mode <= high" if kind == "triangular" else ""))
            return None
        return Delay(kind, p)

    def check_choice(self, path: tuple, p: dict) -> None:
        values = p.get("values")
        form = "{choice: {values: [30, 60, 90], weights: [1, 2, 1]}}"
        if not isinstance(values, list) or not values:
            self.add(path + ("values",), "a choice delay needs a non-empty list of values",
                     f"expected {form}")
            return
        for i, v in enumerate(values):
            if not is_number(v) or v < 0 or v > MAX_DAYS:
                self.add(path + ("values", i), f"a choice delay's values must be numbers from "
                                               f"0 to {MAX_DAYS:g}, "
                                               f"not {_fmt(v)}", f"expected {form}")
        if "weights" not in p or p["weights"] is None:
            p.pop("weights", None)
            return
        weights = p["weights"]
        if not isinstance(weights, list) or len(weights) != len(values):
            n = len(weights) if isinstance(weights, list) else type_name(weights)
            self.add(path + ("weights",), f"a choice delay has {len(values)} values but "
                                          f"{n} weights", "give one weight per value")
            return
        for i, w in enumerate(weights):
            if not is_number(w) or w < 0:
                self.add(path + ("weights", i), f"a weight must be a number >= 0, not {_fmt(w)}",
                         f"expected {form}")
                return
        if sum(weights) <= 0:
            self.add(path + ("weights",), "the weights of a choice delay sum to 0",
                     "give at least one positive weight")

    # ---- rules and reviews

    def section_list(self, name: str, section: Any, form: str) -> list:
        if section is None:
            return []
        if not isinstance(section, list):
            self.add((name,), f"'{name}' must be a list, not {type_name(section)}",
                     f"expected a list of {form}")
            return []
        return section

    def entry_id(self, path: tuple, spec: Mapping, what: str) -> str | None:
        rid = spec.get("id")
        if rid is None:
            if "id" in spec:        # `id:` left empty: not silently dropped
                self.add(path + ("id",), f"the {what} id is empty", IDENT_HINT)
            return None
        if not self.ident(path + ("id",), rid, f"{what} id"):
            return None
        return rid

    def parse_rules(self, section: Any) -> list[Rule]:
        out = []
        items = self.section_list("rules", section, "{id, on, then, ...}")
        for i, spec in enumerate(items):
            path = ("rules", i)
            if not self.mapping(path, spec, "a rule", "{id: ..., on: EVENT, then: EVENT, ...}"):
                continue
            rid = self.entry_id(path, spec, "rule")
            what = f"rule '{rid}'" if rid else f"rule #{i + 1}"
            before = len(self.problems)
            self.keys(path, spec, RULE_KEYS, what, RULE_REQUIRED)
            on, then = spec.get("on"), spec.get("then")
            if "on" in spec:
                self.reference(path + ("on",), on, "event", self.event_ids)
            if "then" in spec:
                self.reference(path + ("then",), then, "event", self.event_ids)
            prob = spec.get("probability", 1.0)
            self.number(path + ("probability",), prob, f"the probability of {what}", 0.0, 1.0,
                        hint=PROB_HINT)
            delay = self.parse_delay(path + ("delay",), spec.get("delay"))
            when = self.parse_condition(path + ("when",), spec.get("when"))
            self.check_never(path + ("when",), when, f"the 'when' of {what}")
            unless = spec.get("unless", [])
            if isinstance(unless, str):
                unless = [unless]
            if not isinstance(unless, list):
                self.add(path + ("unless",), f"'unless' must be a list of events, "
                                             f"not {type_name(unless)}", "e.g. unless: [deal]")
                unless = []
            for j, u in enumerate(unless):
                self.reference(path + ("unless", j), u, "event", self.event_ids)
            note = spec.get("note")
            if note is not None and not isinstance(note, str):
                self.add(path + ("note",), "'note' must be text", "one line in your own words")
            if len(self.problems) > before or rid is None:
                continue
            self.check_dead_rule(path, what, on, then, when)
            out.append(Rule(rid, on, then, float(prob), delay, when, tuple(unless),
                            {"note": note} if note else {}))
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
        if when is None or satisfiable(when, self.var_types()) is not True:
            return
        sets = [Compare(e.var, "==", e.value) for e in on_type.effects if e.op == "set"]
        if not sets:
            return
        result = satisfiable(All((when, *sets)), self.var_types())
        if result is not True:
            fixed = [e for e in on_type.effects if e.op == "set" and e.var in result]
            setting = ", ".join(f"{e.var} = {_fmt(e.value)}" for e in fixed)
            self.add(path + ("when",), f"{what} can never fire: its 'when' is checked right "
                                       f"after '{on}' occurs, and '{on}' sets {setting}",
                     "drop that comparison from 'when', or change 'on'")

    def parse_reviews(self, section: Any) -> list[Review]:
        out = []
        items = self.section_list("reviews", section, "{id, actor, every, decides, ...}")
        for i, spec in enumerate(items):
            path = ("reviews", i)
            if not self.mapping(path, spec, "a review",
                                "{id: ..., actor: ID, every: 30, decides: EVENT, "
                                "probability: 0.1, ...}"):
                continue
            rid = self.entry_id(path, spec, "review")
            what = f"review '{rid}'" if rid else f"review #{i + 1}"
            before = len(self.problems)
            self.keys(path, spec, REVIEW_KEYS, what, REVIEW_REQUIRED, REVIEW_ONE_OF)
            actor, decides = spec.get("actor"), spec.get("decides")
            if "actor" in spec:
                self.reference(path + ("actor",), actor, "actor", self.actors)
            if "decides" in spec and "choose" in spec:
                self.add(path + ("choose",), f"{what} has both 'decides' and 'choose'",
                         "give one event in 'decides', or several with weights in 'choose'",
                         key=True)
            elif "decides" in spec:
                self.reference(path + ("decides",), decides, "event", self.event_ids)
            choose = self.parse_choose(path + ("choose",), spec.get("choose"), what) \
                if "choose" in spec else ()
            every = spec.get("every")
            calendar = self.parse_calendar(path + ("calendar",), spec.get("calendar"), what) \
                if "calendar" in spec else ()
            if "every" in spec and "calendar" in spec:
                self.add(path + ("calendar",), f"{what} has both 'every' and 'calendar'",
                         "a review runs every N days or on calendar dates, not both", key=True)
            elif "every" in spec:
                self.number(path + ("every",), every, f"the period ('every') of {what}", 0.0,
                            low_open=True, hint="'every' is the number of days between "
                                                "reviews, e.g. every: 30")
            phase = spec.get("phase")
            if "phase" in spec:
                if "calendar" in spec:
                    self.add(path + ("phase",), f"{what} runs on calendar dates: 'phase' does "
                                                "not apply", "drop 'phase'", key=True)
                elif phase != "random":
                    self.number(path + ("phase",), phase, f"the phase of {what}", 0.0,
                                low_open=True, hint="days from the fork to the first review, "
                                                    "> 0, or phase: random")
            prob = self.parse_hazard(path + ("probability",), spec.get("probability"), what) \
                if "probability" in spec else None
            when = self.parse_condition(path + ("when",), spec.get("when"))
            self.check_never(path + ("when",), when, f"the 'when' of {what}")
            unless = self.event_list(path + ("unless",), spec.get("unless", []))
            modifiers = self.parse_modifiers(path + ("modifiers",), spec.get("modifiers"), what,
                                             when)
            note = spec.get("note")
            if note is not None and not isinstance(note, str):
                self.add(path + ("note",), "'note' must be text", "one line in your own words")
            if len(self.problems) > before or rid is None:
                continue
            out.append(Review(rid, actor, 365.0 if calendar else float(every),
                              decides if not choose else None, prob, when, tuple(modifiers),
                              phase="random" if phase == "random" else
                              (None if phase is None else float(phase)),
                              calendar=calendar, choose=choose, unless=tuple(unless)))
        return out

    def event_list(self, path: tuple, value: Any) -> list[str]:
        """An ``unless``-style list of event ids (one name is a list of one)."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(path, f"'{path[-1]}' must be a list of events, not {type_name(value)}",
                     f"e.g. {path[-1]}: [deal]")
            return []
        for j, u in enumerate(value):
            self.reference(path + (j,), u, "event", self.event_ids)
        return value

    def parse_choose(self, path: tuple, spec: Any, what: str) -> tuple:
        form = "choose: {sanctions: 2, waiver: 1}"
        if not isinstance(spec, Mapping) or not spec:
            self.add(path, f"'choose' of {what} must be a mapping of events to weights, "
                           f"not {type_name(spec)}", f"e.g. {form}")
            return ()
        ok = True
        for e, w in spec.items():
            ok &= self.reference(path + (e,), e, "event", self.event_ids)
            ok &= self.number(path + (e,), w, f"the weight of '{e}'", 0.0,
                              hint=f"weights are numbers >= 0, e.g. {form}")
        if ok and sum(spec.values()) <= 0:
            self.add(path, f"the weights of 'choose' of {what} sum to 0",
                     "give at least one positive weight")
            ok = False
        return tuple((e, float(w)) for e, w in spec.items()) if ok else ()

    def parse_calendar(self, path: tuple, spec: Any, what: str) -> tuple:
        hint = 'month-days as text, e.g. calendar: ["12-15"] (every year on 15 December)'
        if isinstance(spec, str):
            spec = [spec]
        if not isinstance(spec, list) or not spec:
            self.add(path, f"'calendar' of {what} must be a list of month-days, "
                           f"not {type_name(spec)}", hint)
            return ()
        out = []
        for j, md in enumerate(spec):
            m = MONTH_DAY.match(md) if isinstance(md, str) else None
            try:
                if m is None or (int(m[1]), int(m[2])) == (2, 29):
                    raise ValueError
                dt.date(2001, int(m[1]), int(m[2]))
            except ValueError:
                self.add(path + (j,), f"{_fmt(md)} is not a month-day of every year",
                         hint + "; 02-29 is not in every year")
                continue
            out.append((int(m[1]), int(m[2])))
        return tuple(sorted(set(out))) if len(out) == len(spec) else ()

    def parse_hazard(self, path: tuple, spec: Any, what: str) -> float | Curve | None:
        if not isinstance(spec, Mapping):
            if self.number(path, spec, f"the probability of {what}", 0.0, 1.0,
                           hint=PROB_HINT + " (per review), or {logistic: {...}} or "
                                            "{per_unit: {...}} of a variable"):
                return float(spec)
            return None
        form = ("{logistic: {var: tension, mid: 5, scale: 1, max: 0.5}} or "
                "{per_unit: {var: tension, p: 0.02}}")
        if len(spec) != 1 or next(iter(spec)) not in CURVE_PARAMS:
            bad = [k for k in spec if k not in CURVE_PARAMS]
            self.add(path + ((bad[0],) if bad else ()),
                     f"unknown probability form {_fmt(dict(spec))}",
                     (did_you_mean(str(bad[0]), CURVE_PARAMS) if bad else None)
                     or f"write a number, or {form}", key=bool(bad))
            return None
        kind, params = next(iter(spec.items()))
        kpath = path + (kind,)
        if not self.mapping(kpath, params, f"a {kind} probability", form):
            return None
        need, opt = CURVE_PARAMS[kind]
        before = len(self.problems)
        self.keys(kpath, params, need + opt, f"a {kind} probability", need)
        if len(self.problems) > before:
            return None
        var = params["var"]
        if not self.reference(kpath + ("var",), var, "variable", self.variables):
            return None
        if self.variables[var].type == "bool":
            self.add(kpath + ("var",), f"a {kind} probability needs a numeric variable; "
                                       f"'{var}' is true/false", "use a modifier instead")
        for k in need[1:] + opt:
            if k not in params:
                continue
            if k in ("p", "max"):
                self.number(kpath + (k,), params[k], f"'{k}' of a {kind} probability", 0.0,
                            1.0, hint=PROB_HINT)
            elif k == "scale":
                self.number(kpath + (k,), params[k], f"'{k}' of a {kind} probability", 0.0,
                            low_open=True, hint="the logistic's width in units of the "
                                                "variable, > 0")
            else:
                self.number(kpath + (k,), params[k], f"'{k}' of a {kind} probability")
        if len(self.problems) > before:
            return None
        return Curve(kind, var, {k: float(params[k]) for k in need[1:] + opt if k in params})

    def parse_invariants(self, section: Any) -> list[Invariant]:
        out = []
        items = self.section_list("invariants", section, "{never: EVENT, unless: EVENT}")
        for i, spec in enumerate(items):
            path = ("invariants", i)
            if not self.mapping(path, spec, "an invariant",
                                "{never: EVENT, unless: [EVENT], when: {...}}"):
                continue
            what = f"invariant #{i + 1}"
            before = len(self.problems)
            self.keys(path, spec, INVARIANT_KEYS, what, INVARIANT_REQUIRED)
            never = spec.get("never")
            if "never" in spec:
                self.reference(path + ("never",), never, "event", self.event_ids)
            unless = self.event_list(path + ("unless",), spec.get("unless", []))
            when = self.parse_condition(path + ("when",), spec.get("when"))
            self.check_never(path + ("when",), when, f"the 'when' of {what}")
            note = spec.get("note", "")
            if not isinstance(note, str):
                self.add(path + ("note",), "'note' must be text", "one line in your own words")
            if len(self.problems) > before:
                continue
            out.append(Invariant(never, tuple(unless), when, note))
        return out

    def parse_modifiers(self, path: tuple, section: Any, what: str,
                        review_when: Condition | None) -> list[Modifier]:
        if section is None:
            return []
        if not isinstance(section, list):
            self.add(path, f"'modifiers' must be a list, not {type_name(section)}",
                     "e.g. modifiers: [{when: {x: true}, multiply: 0.5}]")
            return []
        out = []
        for j, spec in enumerate(section):
            mpath = path + (j,)
            mwhat = f"modifier #{j + 1} of {what}"
            if not self.mapping(mpath, spec, mwhat, "{when: {...}, multiply: 0.5, add: 0.01}"):
                continue
            before = len(self.problems)
            self.keys(mpath, spec, MODIFIER_KEYS, mwhat)
            if "multiply" not in spec and "add" not in spec and len(self.problems) == before:
                self.add(mpath, f"{mwhat} changes nothing", "give 'multiply' and/or 'add'")
            mult = spec.get("multiply", 1.0)
            self.number(mpath + ("multiply",), mult, f"the 'multiply' of {mwhat}", 0.0,
                        hint="a factor >= 0 applied to the probability, e.g. multiply: 0.5")
            add = spec.get("add", 0.0)
            self.number(mpath + ("add",), add, f"the 'add' of {mwhat}", -1.0, 1.0,
                        hint="a change to the probability, e.g. add: 0.02")
            when = self.parse_condition(mpath + ("when",), spec.get("when"))
            self.check_never(mpath + ("when",), when, f"the 'when' of {mwhat}")
            if (when is not None and review_when is not None
                    and satisfiable(when, self.var_types()) is True
                    and satisfiable(review_when, self.var_types()) is True):
                result = satisfiable(All((review_when, when)), self.var_types())
                if result is not True:
                    names = ", ".join(f"'{v}'" for v in sorted(result))
                    self.add(mpath + ("when",), f"{mwhat} can never apply: its 'when' "
                                                f"contradicts the review's own 'when' on {names}",
                             "the review only runs while its 'when' holds")
            if len(self.problems) > before:
                continue
            out.append(Modifier(when, float(mult), float(add)))
        return out

    def check_instant_loops(self, rules: list[Rule]) -> None:
        """Rules that surely re-trigger each other with no delay (see
        :func:`sim.world.instant_loops`, the one check the scenario's ``set:`` also runs)."""
        index = {r.id: i for i, r in enumerate(rules)}
        for ids, loop in instant_loops(rules=rules, events=self.events):
            first = min(ids, key=index.__getitem__)
            path = ("rules", next(i for i, spec in enumerate(self.doc.data["rules"])
                                  if isinstance(spec, Mapping) and spec.get("id") == first))
            self.add(path, loop_message(ids, loop), LOOP_HINT)

    def check_ids(self, data: Mapping) -> None:
        """Rule and review ids share one namespace (events record them as ``rule``)."""
        seen: dict[str, tuple[str, int]] = {}
        for section in ("rules", "reviews"):
            items = data.get(section)
            if not isinstance(items, list):
                continue
            for i, spec in enumerate(items):
                if not isinstance(spec, Mapping) or not isinstance(spec.get("id"), str):
                    continue
                rid = spec["id"]
                if rid in seen:
                    other, j = seen[rid]
                    line, _ = self.doc.where((other, j, "id"))
                    kind = "rule" if other == "rules" else "review"
                    self.add((section, i, "id"), f"duplicate id '{rid}': already used by a "
                                                 f"{kind} at line {line}",
                             "rule and review ids must all be different (events record them)")
                else:
                    seen[rid] = (section, i)


_SECTION = {"actor": "actors", "event": "events", "variable": "state"}


def _fmt_bound(b: Any) -> str:
    return "none" if b is None else f"{b:g}"


def _default(typ: str) -> Any:
    return {"bool": False, "int": 0, "float": 0.0}[typ]


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

