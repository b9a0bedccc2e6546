"""The declarative description of the world and history file languages.

This module owns *what keys exist* in a world file and a history file: for
every mapping of either language, each key once, with its JSON Schema type,
whether it is required, its default and its meaning. Everything else is
derived from these tables:

- the key lists the loaders check (unknown keys with "did you mean",
  missing required keys): :mod:`sim.worldfile` and :mod:`sim.history`
  import them from here;
- a JSON Schema per file kind (:func:`json_schema`), shipped in the package
  as ``sim/schemas/<kind>.schema.json`` and written by ``sim schema KIND``,
  for editors with a YAML language server;
- the reference tables of ``docs/world-language.md`` and ``docs/scenarios.md``
  (:func:`markdown_table`; tests/test_schema.py checks the docs hold them
  verbatim, and ``python -m sim.schema --docs`` rewrites them).

The loaders keep the checks that need more than one key or more than one
file (types against a variable's declared type, unknown names, dead rules,
zero-delay loops): a semantic pass over the structured data.

>>> [k.name for k in RULE.keys if k.required]
['id', 'on', 'then']
>>> json_schema("world")["properties"]["rules"]["anyOf"][0]["type"]
'array'
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from sim.limits import MAX_DAYS
from sim.world import DELAY_PARAMS

__all__ = ["Key", "Section", "json_schema", "markdown_table", "SECTIONS", "KINDS",
           "schema_path", "WORLD", "ACTOR", "VARIABLE", "DECAY", "EVENT", "RULE", "REVIEW",
           "MODIFIER", "INVARIANT", "HISTORY", "SOURCE", "ENTRY", "SCENARIO"]

IDENT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
COMPARATORS = ("==", "!=", ">=", ">", "<=", "<")
DELAY_KINDS = DELAY_PARAMS      # the delay kinds the engine draws, and their parameters


@attrs.frozen
class Key:
    """One key of a mapping: its name, JSON Schema, whether required, default and meaning.

    For messages (:mod:`sim.schemacheck`): ``what`` names the value in a message
    (default ``'name'``), ``hint`` says what to write; ``item`` names an entry of a
    mapping or list value and ``item_name`` what a mapping value's keys are. The
    templates may use ``{owner}`` (the mapping's own label), ``{key}`` (the name under
    which the mapping stands), ``{n}`` (its 1-based place in a list) and, for ``item``,
    ``{name}`` (the entry's key).
    """

    name: str
    schema: Mapping[str, Any] = attrs.field(hash=False)
    meaning: str
    required: bool = False
    default: str = ""
    type: str = ""          # the type as the docs say it ("number", "condition", ...)
    required_unless: str = ""   # required unless this other key is given
    what: str = ""
    hint: str = ""
    item: str = ""
    item_name: str = ""


@attrs.frozen
class Section:
    """A mapping of the language: its keys in documentation order.

    ``label`` names one such mapping in messages (a template as for :class:`Key`;
    ``{id}`` is its ``id`` key, and a label whose id is missing falls back to
    ``#{n}``); ``hint`` shows its form.
    """

    name: str
    title: str
    keys: tuple[Key, ...]
    one_of_required: tuple[tuple[str, ...], ...] = ()   # at least one key of each group
    label: str = ""
    hint: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys if k.required)

    def key(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)

    def object_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "description": self.title,
            # an optional key left empty (null) is the same as absent, as for the loaders
            "properties": {k.name: ({**k.schema, "description": k.meaning} if k.required else
                                    {"anyOf": [k.schema, {"type": "null"}],
                                     "description": k.meaning})
                           for k in self.keys},
            "additionalProperties": False,
        }
        if self.required:
            out["required"] = list(self.required)
        groups = [{"anyOf": [{"required": [n]} for n in group]}
                  for group in self.one_of_required]
        unless: dict[str, list[str]] = {}
        for k in self.keys:
            if k.required_unless:
                unless.setdefault(k.required_unless, []).append(k.name)
        groups += [{"anyOf": [{"required": [other]}, {"required": names}]}
                   for other, names in unless.items()]
        if groups:
            out["allOf"] = groups
        return out


# --------------------------------------------------------------------------- building blocks

def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


NAME = {"type": "string", "pattern": IDENT_PATTERN}
TEXT = {"type": "string"}
DATE = {"type": "string", "format": "date"}
NUMBER = {"type": "number"}
BOOL = {"type": "boolean"}
PROB = {"type": "number", "minimum": 0, "maximum": 1}
NAMES = {"anyOf": [NAME, {"type": "array", "items": NAME}]}
SCALAR = {"type": ["boolean", "number"]}
MONTH_DAY_PATTERN = r"^(0?[1-9]|1[0-2])-(0?[1-9]|[12][0-9]|3[01])$"
MONTH_DAY = {"type": "string", "pattern": MONTH_DAY_PATTERN}
JOINT_ACTORS = {"type": "array", "items": NAME, "minItems": 2,
                "title": "a list of two or more different actors"}

IDENT_HINT = "use letters, digits, '_' or '-', starting with a letter or '_' (no dots or spaces)"
PROB_HINT = "a probability is a number from 0 to 1, e.g. 0.7"
DATE_HINT = "write an ISO date like 2019-07-12"
DELAY_FORMS = ("days after the triggering event (0 or more), or one of {fixed: {value}}, "
               "{uniform: {low, high}}, {exponential: {mean}}, {lognormal: {median, sigma}}, "
               "{triangular: {low, mode, high}}, {choice: {values: [..], weights: [..]}}")
# what a string pattern means, for messages: pattern -> (what a match is, hint)
PATTERNS = {
    IDENT_PATTERN: ("a valid name", IDENT_HINT),
    MONTH_DAY_PATTERN: ("a month-day", 'month-days as text, e.g. calendar: ["12-15"]'),
    r"^[^/]+$": ("a name without '/'", "e.g. no_sanctions"),
}
# definitions the structural checker leaves to a semantic pass: a condition's keys are
# the world's variables and its values are typed by them (sim.conditions checks them)
SEMANTIC_DEFS = ("condition",)


def _condition_def() -> dict[str, Any]:
    comparison = {"type": "object", "propertyNames": {"enum": list(COMPARATORS)},
                  "additionalProperties": SCALAR, "minProperties": 1}
    calendar = {"type": "object", "additionalProperties": False, "minProperties": 1,
                "properties": {"before": DATE, "on_or_after": DATE}}
    return {
        "description": "a condition: {var: value}, {var: {'>=': 3}}, any/all/not, "
                       "date: {before/on_or_after: DATE}, or a list (all of them)",
        "anyOf": [
            {"type": "array", "items": _ref("condition")},
            {"type": "object",
             "properties": {"any": {"type": "array", "items": _ref("condition"),
                                    "minItems": 1},
                            "all": {"type": "array", "items": _ref("condition"),
                                    "minItems": 1},
                            "not": _ref("condition"),
                            "date": calendar},
             "additionalProperties": {"anyOf": [SCALAR, comparison]}},
        ],
    }


def _delay_def() -> dict[str, Any]:
    forms: list[dict[str, Any]] = [{"type": "number", "minimum": 0}]
    for kind, params in DELAY_KINDS.items():
        if kind == "choice":
            inner = {"type": "object", "additionalProperties": False, "required": ["values"],
                     "title": "a choice delay",
                     "examples": [{"values": [30, 60, 90], "weights": [1, 2, 1]}],
                     "properties": {"values": {"type": "array", "minItems": 1,
                                               "title": "a non-empty list of values",
                                               "items": {"type": "number", "minimum": 0,
                                                         "maximum": MAX_DAYS}},
                                    "weights": {"type": "array",
                                                "items": {"type": "number", "minimum": 0}}}}
        else:
            inner = {"type": "object", "additionalProperties": False, "required": list(params),
                     "title": ("an " if kind == "exponential" else "a ") + f"{kind} delay",
                     "properties": {p: NUMBER for p in params}}
        forms.append({"type": "object", "additionalProperties": False, "required": [kind],
                      "properties": {kind: inner}})
    return {"description": "days: a number, or one of " + ", ".join(DELAY_KINDS),
            "anyOf": forms}


def _hazard_def() -> dict[str, Any]:
    logistic = {"type": "object", "additionalProperties": False,
                "required": ["var", "mid", "scale"], "title": "a logistic probability",
                "properties": {"var": NAME, "mid": NUMBER,
                               "scale": {"type": "number", "exclusiveMinimum": 0},
                               "max": PROB}}
    per_unit = {"type": "object", "additionalProperties": False, "required": ["var", "p"],
                "title": "a per_unit probability",
                "properties": {"var": NAME, "p": PROB}}
    return {"description": "a probability, or {logistic: {var, mid, scale, max}} or "
                           "{per_unit: {var, p}} of a numeric variable",
            "anyOf": [PROB,
                      {"type": "object", "additionalProperties": False,
                       "required": ["logistic"], "properties": {"logistic": logistic}},
                      {"type": "object", "additionalProperties": False,
                       "required": ["per_unit"], "properties": {"per_unit": per_unit}}]}


# --------------------------------------------------------------------------- world files

ACTOR = Section("actor", "an actor: ID: {name: ...} (or ID: name)", (
    Key("name", TEXT, "the actor's name", default="the id", type="text",
        what="the name of {owner}", hint="e.g. {name: Turkey}"),
    Key("description", TEXT, "free text", type="text"),
), label="actor '{key}'", hint="expected {name: Turkey}")

DECAY = Section("decay", "exponential decay of a float variable toward a rest value", (
    Key("half_life", {"type": "number", "exclusiveMinimum": 0},
        "days for the distance to the rest value to halve", required=True, type="number > 0",
        what="the half-life of '{key}'",
        hint="days for the distance to the rest value to halve, e.g. half_life: 90"),
    Key("to", NUMBER, "the rest value", default="0", type="number",
        what="the rest value of '{key}'"),
), label="the decay of '{key}'", hint="expected {half_life: 90, to: 0}")

VARIABLE = Section("variable", "a state variable, long form", (
    Key("type", {"enum": ["bool", "int", "float"]}, "bool, int or float", required=True,
        type="type", what="variable type"),
    Key("initial", SCALAR, "the value at `starts`", default="false / 0 / 0.0",
        type="value", what="the initial value of '{key}'"),
    Key("min", NUMBER, "lower bound of a number: effects clamp to it", default="none",
        type="number", what="the 'min' of '{key}'"),
    Key("max", NUMBER, "upper bound of a number: effects clamp to it", default="none",
        type="number", what="the 'max' of '{key}'"),
    Key("decay", _ref("decay"), "float only: decays toward `to` with half-life "
        "`half_life` days (see Decay)", default="none", type="mapping"),
    Key("description", TEXT, "free text", type="text"),
), label="variable '{key}'", hint="e.g. {type: float, initial: 0, min: 0, max: 10}")

EVENT = Section("event", "an event type", (
    Key("actor", {"anyOf": [NAME, JOINT_ACTORS]},
        "the actor id who acts, or a list of two or more for a joint act", default="none",
        type="actor id(s)",
        hint="e.g. actor: USA, or actor: [USA, TUR] for a joint act"),
    Key("target", NAME, "the actor id acted upon", default="none", type="actor id"),
    Key("label", TEXT, "a short phrase for stories and plots", default='`""`', type="text",
        what="the label of '{key}'",
        hint="a short phrase, e.g. label: Russia delivers S-400 components"),
    Key("effects", {"type": "object", "additionalProperties": {
        "anyOf": [SCALAR, {"type": "object", "additionalProperties": False,
                           "minProperties": 1, "maxProperties": 1,
                           "properties": {"set": SCALAR, "add": NUMBER}}]}},
        "what the event changes (see effects)", default="none", type="mapping",
        what="the effects of '{key}'", item="the effect on '{name}'",
        hint="expected {variable: value, variable: {add: 1.0}}: a value, {set: value} or "
             "{add: number}"),
    Key("once", BOOL, "the event can occur at most once in a replicate (history included)",
        default="`false`", type="true/false",
        hint="write once: true for an event that can occur only once"),
    Key("description", TEXT, "free text", type="text"),
), label="event '{key}'",
    hint="expected {actor: ID, target: ID, label: ..., effects: {...}, once: true}")

NOTE_HINT = "one line in your own words"

RULE = Section("rule", "a rule (an edge)", (
    Key("id", NAME, "unique among rules **and** reviews (events record it as their `rule`)",
        required=True, type="name", what="the rule id", hint=IDENT_HINT),
    Key("on", NAME, "the event that triggers the rule", required=True, type="event id"),
    Key("then", NAME, "the event it schedules", required=True, type="event id"),
    Key("probability", PROB, "chance, in [0, 1], that the rule schedules `then`",
        default="1", type="probability", what="the probability of {owner}", hint=PROB_HINT),
    Key("delay", _ref("delay"), "days until `then` (see Delays)", default="0",
        type="delay", what="the delay of {owner}", hint="expected " + DELAY_FORMS),
    Key("when", _ref("condition"), "condition checked when the rule is evaluated and again "
        "when `then` falls due", default="always", type="condition"),
    Key("unless", NAMES, "event ids (a list, or one name); an occurrence of any of them "
        "cancels the pending `then`", default="`[]`", type="event ids",
        hint="e.g. unless: [deal]"),
    Key("note", TEXT, "free text, kept in `Rule.data[\"note\"]`", type="text",
        hint=NOTE_HINT),
), label="rule '{id}'", hint="expected {id: ..., on: EVENT, then: EVENT, ...}")

MODIFIER = Section("modifier", "a modifier of a review's probability", (
    Key("when", _ref("condition"), "the modifier applies while this holds", default="always",
        type="condition"),
    Key("multiply", {"type": "number", "minimum": 0}, "factor applied to the probability",
        default="1", type="number >= 0", what="the 'multiply' of {owner}",
        hint="a factor >= 0 applied to the probability, e.g. multiply: 0.5"),
    Key("add", {"type": "number", "minimum": -1, "maximum": 1},
        "added to the probability", default="0", type="number in [-1, 1]",
        what="the 'add' of {owner}", hint="a change to the probability, e.g. add: 0.02"),
), label="modifier #{n} of {owner}", hint="expected {when: {...}, multiply: 0.5, add: 0.01}")

REVIEW = Section("review", "a review (a periodic decision)", (
    Key("id", NAME, "unique among rules and reviews", required=True, type="name",
        what="the review id", hint=IDENT_HINT),
    Key("actor", NAME, "the actor who reconsiders", required=True, type="actor id"),
    Key("every", {"type": "number", "exclusiveMinimum": 0},
        "days between reviews, > 0 (give `every` or `calendar`)", type="number > 0",
        what="the period ('every') of {owner}",
        hint="'every' is the number of days between reviews, e.g. every: 30"),
    Key("phase", {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                            {"const": "random"}]},
        "days from the fork to the first tick, > 0, or `random`: drawn per replicate in "
        "(0, every]", default="`every`", type="number or random",
        what="the phase of {owner}",
        hint="days from the fork to the first review, > 0, or phase: random"),
    Key("calendar", {"type": "array", "items": MONTH_DAY, "minItems": 1},
        "month-days (`\"12-15\"`) on which the review runs every year, instead of `every`",
        default="none", type="list of MM-DD", what="the 'calendar' of {owner}",
        item="month-day #{n}",
        hint='month-days as text, e.g. calendar: ["12-15"] (every year on 15 December)'),
    Key("decides", NAME, "the event that happens if the actor decides to act "
        "(give `decides` or `choose`)", type="event id"),
    Key("choose", {"type": "object", "minProperties": 1,
                   "additionalProperties": {"type": "number", "minimum": 0}},
        "exclusive choice: event id -> weight; when the actor acts it picks one",
        default="none", type="mapping", what="'choose' of {owner}",
        item="the weight of '{name}'",
        hint="weights are numbers >= 0, e.g. choose: {sanctions: 2, waiver: 1}"),
    Key("probability", _ref("hazard"), "chance, in [0, 1], of acting at one review, or a "
        "function of a variable (see Hazards)", required=True, type="probability",
        what="the probability of {owner}",
        hint=PROB_HINT + " (per review), or {logistic: {...}} or {per_unit: {...}} of a "
                         "variable"),
    Key("when", _ref("condition"), "the review only runs while this holds",
        default="always", type="condition"),
    Key("unless", NAMES, "event ids: once any of them has occurred the review stops",
        default="`[]`", type="event ids", hint="e.g. unless: [deal]"),
    Key("modifiers", {"type": "array", "items": _ref("modifier")},
        "adjustments of the probability (below)", default="`[]`", type="list",
        hint="e.g. modifiers: [{when: {x: true}, multiply: 0.5}]"),
    Key("note", TEXT, "free text", type="text", hint=NOTE_HINT),
), one_of_required=(("every", "calendar"), ("decides", "choose")), label="review '{id}'",
    hint="expected {id: ..., actor: ID, every: 30, decides: EVENT, probability: 0.1, ...}")

INVARIANT = Section("invariant", "something that must never happen", (
    Key("never", NAME, "the event that must not occur ...", required=True, type="event id"),
    Key("unless", NAMES, "... unless one of these events has occurred before it",
        default="none", type="event ids", hint="e.g. unless: [deal]"),
    Key("when", _ref("condition"), "... while this condition holds (just before it occurs)",
        default="none", type="condition"),
    Key("note", TEXT, "free text", type="text", hint=NOTE_HINT),
), label="invariant #{n}", hint="expected {never: EVENT, unless: [EVENT], when: {...}}")

WORLD = Section("world", "a world file", (
    Key("world", {"type": "string", "pattern": r"\S"}, "the world's name", required=True,
        type="name", hint="e.g. world: s400"),
    Key("starts", DATE, "day 0 of the world's clock; history may not start before it",
        required=True, type="date", hint="write an ISO date like 2017-09-12"),
    Key("description", TEXT, "free text", type="text",
        hint="write one paragraph; quote it if it contains ':'"),
    Key("actors", {"type": "object", "propertyNames": {"pattern": IDENT_PATTERN},
                   "additionalProperties": {"anyOf": [{"type": "null"}, TEXT,
                                                      _ref("actor")]}},
        "actor id -> actor", default="none", type="mapping", item="actor '{name}'",
        item_name="actor id", hint="expected {ID: {name: ...}, ...}"),
    Key("state", {"type": "object", "propertyNames": {"pattern": IDENT_PATTERN},
                  "additionalProperties": {"anyOf": [SCALAR, _ref("variable")]}},
        "variable name -> initial value or long form", default="none", type="mapping",
        item="the initial value of '{name}'", item_name="variable name",
        hint="e.g. sanctioned: false, tension: 0.0, or {type: float, initial: 0}"),
    Key("events", {"type": "object", "propertyNames": {"pattern": IDENT_PATTERN},
                   "additionalProperties": {"anyOf": [{"type": "null"}, _ref("event")]}},
        "event id -> event type (file order is kept)", required=True, type="mapping",
        item_name="event id", hint="expected {event_id: {actor: ..., effects: {...}}, ...}"),
    Key("rules", {"type": "array", "items": _ref("rule")}, "edges, evaluated in file order",
        default="`[]`", type="list", hint="expected a list of {id, on, then, ...}"),
    Key("reviews", {"type": "array", "items": _ref("review")}, "periodic decisions",
        default="`[]`", type="list",
        hint="expected a list of {id, actor, every, decides, ...}"),
    Key("invariants", {"type": "array", "items": _ref("invariant")},
        "what must never happen (checked in every replicate)", default="`[]`", type="list",
        hint="expected a list of {never: EVENT, unless: EVENT}"),
    Key("fitted_through", DATE, "the last history date the parameters were chosen with; "
        "`sim score` labels scores at earlier origins in-sample", type="date",
        hint="the last history date the parameters were fitted on, e.g. 2020-12-14"),
), label="the world file")

# --------------------------------------------------------------------------- history files

SOURCE = Section("source", "a citation", (
    Key("outlet", TEXT, "who published it", required=True, type="text",
        what="the outlet of source '{key}'"),
    Key("title", TEXT, "its title", required=True, type="text",
        what="the title of source '{key}'"),
    Key("published", DATE, "its date", required=True, type="date",
        what="the publication date of '{key}'", hint=DATE_HINT),
    Key("identifier", TEXT, "a primary record's stable public identifier (a public law, "
        "Executive Order or bill number)", type="text",
        what="the identifier of source '{key}'", hint="e.g. identifier: Public Law 116-92"),
    Key("url", TEXT, "where to read it", type="text", what="the url of source '{key}'"),
    Key("note", TEXT, "free text", type="text", what="the note of source '{key}'"),
), label="source '{key}'", hint="expected {outlet: ..., title: ..., published: 2019-11-15}")

ENTRY = Section("entry", "a dated history entry", (
    Key("date", DATE, "when it happened", required=True, type="date", hint=DATE_HINT),
    Key("event", NAME, "an event id of the world", required=True, type="event id"),
    Key("actor", {"anyOf": [NAME, JOINT_ACTORS]},
        "who acted (a list for a joint act)", default="the event type's",
        type="actor id(s)", hint="e.g. actor: [USA, TUR]; one actor is written actor: USA"),
    Key("target", NAME, "who was acted upon", default="the event type's", type="actor id"),
    Key("source", NAME, "a key of `sources`", required=True, type="source id",
        hint="put the outlet, title and published date under 'sources:' with an id, "
             "e.g. S000, and write source: S000"),
    Key("confidence", {"enum": ["high", "medium", "low"]}, "how sure the record is",
        default="medium", type="high, medium or low", what="confidence"),
    Key("granularity", {"enum": ["day", "week", "month", "year"]},
        "how precise the date is", default="day", type="day, week, month or year",
        what="granularity"),
    Key("note", TEXT, "one line in our own words", type="text", hint=NOTE_HINT),
    Key("data", {"type": "object"}, "plain values carried on the event", default="none",
        type="mapping", hint="e.g. data: {units: 4}"),
), label="history entry #{n}", hint="expected {date: 2019-07-12, event: ..., source: ...}")

HISTORY = Section("history", "a history file", (
    Key("sources", {"type": "object", "propertyNames": {"pattern": IDENT_PATTERN},
                    "additionalProperties": _ref("source")},
        "citation id -> where the evidence comes from", default="none", type="mapping",
        item_name="source id",
        hint="e.g. sources: {S000: {outlet: ..., title: ..., published: 2019-11-15}}"),
    Key("events", {"type": "array", "items": _ref("entry")},
        "entries in date order, none before the world's `starts`", required=True,
        type="list",
        hint="e.g. events: [{date: 2019-07-12, event: s400_delivered, source: S000}]"),
), label="the history file")

# --------------------------------------------------------------------------- scenario files

DATE_OR_HORIZON = {"anyOf": [DATE, {"const": "horizon"}]}
PATH_VALUES = {"type": "object", "additionalProperties": {
    "anyOf": [SCALAR, {"type": "array"}]}}
COLUMN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
PATTERNS[COLUMN_PATTERN] = ("a name of letters, digits and _", "e.g. id: sanctioned_by_2021")
INJECT_HINT = "e.g. {date: 2020-01-15, event: talks_open}"

INJECT = Section("inject", "an injected event", (
    Key("date", DATE, "when it occurs (before or after the fork)", required=True, type="date"),
    Key("event", NAME, "an event id of the world", required=True, type="event id"),
    Key("actor", NAME, "who acts", default="the event type's", type="actor id"),
    Key("target", NAME, "who is acted upon", default="the event type's", type="actor id"),
    Key("note", TEXT, "why", type="text", hint=NOTE_HINT),
), label="inject entry #{n}", hint=INJECT_HINT)

DROP = Section("drop", "a history entry to leave out", (
    Key("event", NAME, "its event id", required=True, type="event id"),
    Key("date", DATE, "its date (without: every entry of that event)", default="every",
        type="date"),
), label="drop_history entry #{n}", hint="e.g. {event: s400_delivered, date: 2019-07-12}")

OUTCOME = Section("outcome", "a measure of each replicate", (
    Key("id", {"type": "string", "pattern": COLUMN_PATTERN},
        "a name of letters, digits and `_` (a CSV column)", required=True,
        type="name", what="the outcome id", hint="e.g. id: sanctioned_by_2021"),
    Key("label", TEXT, "a readable name", type="text", hint="e.g. label: sanctioned by 2021"),
    Key("by", DATE_OR_HORIZON, "for occurs/count/first: up to this date", default="horizon",
        type="date or horizon", hint=DATE_HINT),
    Key("at", DATE_OR_HORIZON, "for state: at this date", default="horizon",
        type="date or horizon", hint=DATE_HINT),
    Key("occurs", NAME, "1 if the event occurs by `by`, else 0", type="event id"),
    Key("time_to", NAME, "days from the fork to the event's first occurrence",
        type="event id"),
    Key("state", NAME, "a variable's value at `at`", type="variable"),
    Key("count", NAME, "occurrences by `by`", type="event id"),
    Key("first", {"type": "array", "items": NAME, "minItems": 2,
                  "title": "a list of two or more events"},
        "which of these events occurs first", type="event ids",
        hint="e.g. first: [s400_activated, deal_reached]"),
), one_of_required=(("occurs", "time_to", "state", "count", "first"),),
    label="outcome '{id}'", hint="e.g. {id: sanctioned, occurs: caatsa_sanctions}")

LHS = Section("lhs", "a Latin hypercube sweep", (
    Key("samples", {"type": "integer", "minimum": 1}, "points to draw", required=True,
        type="whole number", what="lhs samples", hint="e.g. samples: 20"),
    Key("ranges", {"type": "object", "additionalProperties": {
        "type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2,
        "title": "[low, high]"}},
        "parameter path -> [low, high]", required=True, type="mapping",
        item="lhs range '{name}'", hint="e.g. [0.1, 0.9]"),
), label="sweep lhs",
    hint="e.g. lhs: {samples: 20, ranges: {rules.my_rule.probability: [0.1, 0.9]}}")

SWEEP_HINT = ("e.g. sweep: {grid: {rules.my_rule.probability: [0.3, 0.5]}} or "
              "sweep: {lhs: {samples: 20, ranges: {rules.my_rule.probability: [0.1, 0.9]}}}")

SWEEP = Section("sweep", "one branch per point", (
    Key("grid", {"type": "object", "additionalProperties": {
        "type": "array", "minItems": 1, "title": "a non-empty list of values"}},
        "parameter path -> values (the cartesian product)", type="mapping",
        what="sweep grid", item="sweep grid '{name}'", hint="e.g. [0.3, 0.5, 0.7]"),
    Key("lhs", _ref("lhs"), "a Latin hypercube instead", type="mapping"),
    Key("base", BOOL, "keep the base branch", default="`true`", type="true/false",
        what="sweep base", hint="false drops the base branch and runs only the sweep points"),
), label="sweep", hint=SWEEP_HINT)

UNCERTAIN_KINDS = ("uniform", "triangular", "beta", "lognormal", "choice")

_CHANGES = (
    Key("set", PATH_VALUES, "parameter path -> value", default="none", type="mapping",
        item="set: '{name}'", hint="write the whole dotted path as one key, e.g. "
                                   "rules.my_rule.probability: 0.5"),
    Key("inject", {"type": "array", "items": _ref("inject")}, "events added",
        default="`[]`", type="list",
        hint="e.g. inject: [{date: 2020-01-15, event: talks_open}]"),
    Key("suppress", NAMES, "events that can never occur", default="`[]`", type="event ids",
        hint="e.g. suppress: [caatsa_sanctions]"),
    Key("drop_history", {"type": "array", "items": {"anyOf": [NAME, _ref("drop")]}},
        "history entries left out", default="`[]`", type="list",
        hint="e.g. drop_history: [{event: s400_delivered, date: 2019-07-12}]"),
    # the distribution names are sim.uncertainty.KINDS (a test checks they agree)
    Key("uncertain", {"type": "object", "additionalProperties": {"anyOf": [
        {"type": "null"},             # in a branch: this path is not drawn there
        {"type": "object", "minProperties": 1, "maxProperties": 1,
         "propertyNames": {"enum": list(UNCERTAIN_KINDS), "title": "distribution"}}]}},
        "parameter path -> a distribution drawn per replicate (null: not drawn)", default="none",
        type="mapping", item="uncertain: '{name}'",
        hint="e.g. uncertain: {rules.my_rule.probability: {uniform: [0.2, 0.6]}}"),
)

BRANCH = Section("branch", "a variant run beside the base",
                 (Key("description", TEXT, "what it changes", type="text",
                      hint="quote it if it contains ': '"),) + _CHANGES,
                 label="branch '{key}'",
                 hint="e.g. no_sanctions: {suppress: [caatsa_sanctions]}")

UNCERTAIN_HISTORY = Section("history_uncertainty", "opt-in history uncertainty", (
    Key("dates", BOOL, "draw week/month/year entries' dates within their period",
        default="`false`", type="true/false",
        hint="dates: true draws week/month/year entries' dates"),
    Key("keep", {"type": "object", "propertyNames": {"enum": ["high", "medium", "low"]},
                 "additionalProperties": PROB},
        "confidence -> probability that such an entry occurs", default="none",
        type="mapping", item="the probability of keeping '{name}' entries",
        item_name="confidence", hint="e.g. keep: {low: 0.5}"),
), label="history_uncertainty", hint="e.g. history_uncertainty: {dates: true, keep: {low: 0.5}}")

SCENARIO = Section("scenario", "a scenario file", (
    Key("name", TEXT, "the scenario's name", default="the file's stem", type="text",
        hint="e.g. name: baseline"),
    Key("description", TEXT, "the question it asks", type="text",
        hint="write it as one paragraph, quoted if it contains ': '"),
    Key("extends", TEXT, "a scenario file this one starts from", default="none",
        type="path", hint="e.g. extends: baseline.yaml"),
    Key("world", TEXT, "the world file", type="path", required_unless="extends",
        hint="e.g. world: world.yaml"),
    Key("history", TEXT, "the history file", type="path", required_unless="extends",
        hint="e.g. history: history.yaml"),
    Key("fork", DATE, "history before it, the model from it", type="date",
        required_unless="extends",
        hint="e.g. fork: 2019-11-15; history runs before it, the model after"),
    Key("horizon", DATE, "the simulation stops there", type="date",
        required_unless="extends", hint="e.g. horizon: 2021-12-31; the simulation stops there"),
    Key("replicates", {"type": "integer", "minimum": 1}, "replicates per branch",
        default="1000", type="whole number", hint="e.g. 1000"),
    Key("seed", {"type": "integer", "minimum": 0}, "the seed", default="0",
        type="whole number", hint="e.g. 20191115"),
    Key("replicates_per_draw", {"type": "integer", "minimum": 1},
        "replicates that share one draw of the `uncertain:` parameters (their per-draw "
        "estimates give the parameter-uncertainty interval)", default="20",
        type="whole number",
        hint="e.g. replicates_per_draw: 20; 1 gives every replicate its own draw"),
    *_CHANGES,
    Key("outcomes", {"type": "array", "items": _ref("outcome")}, "what to measure",
        default="`[]`", type="list",
        hint="e.g. outcomes: [{id: sanctioned, occurs: caatsa_sanctions}]"),
    Key("branches", {"type": "object", "propertyNames": {"pattern": r"^[^/]+$"},
                     "additionalProperties": {"anyOf": [{"type": "null"}, _ref("branch")]}},
        "branch name -> changes from the base", default="none", type="mapping",
        item_name="branch name",
        hint="e.g. branches: {no_sanctions: {suppress: [caatsa_sanctions]}}"),
    Key("sweep", _ref("sweep"), "parameter sweep", default="none", type="mapping"),
    Key("history_uncertainty", _ref("history_uncertainty"),
        "opt-in history uncertainty", default="none", type="mapping"),
), label="the scenario file")

SECTIONS: dict[str, Section] = {s.name: s for s in (
    WORLD, ACTOR, VARIABLE, DECAY, EVENT, RULE, MODIFIER, REVIEW, INVARIANT,
    HISTORY, SOURCE, ENTRY,
    SCENARIO, INJECT, DROP, OUTCOME, BRANCH, SWEEP, LHS, UNCERTAIN_HISTORY)}
KINDS = {"world": (WORLD, (ACTOR, VARIABLE, DECAY, EVENT, RULE, MODIFIER, REVIEW, INVARIANT)),
         "history": (HISTORY, (SOURCE, ENTRY)),
         "scenario": (SCENARIO, (INJECT, DROP, OUTCOME, BRANCH, SWEEP, LHS,
                                 UNCERTAIN_HISTORY))}


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``world``, ``history`` or ``scenario`` file."""
    top, parts = KINDS[kind]
    defs: dict[str, Any] = {s.name: s.object_schema() for s in parts}
    if kind == "world":
        defs["condition"] = _condition_def()
        defs["delay"] = _delay_def()
        defs["hazard"] = _hazard_def()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://example.invalid/sim/{kind}.schema.json",
            "title": f"sim {kind} file",
            **top.object_schema(), "$defs": defs}


def schema_path(kind: str) -> Path:
    """Where the package ships the JSON Schema of ``kind``."""
    return Path(__file__).with_name("schemas") / f"{kind}.schema.json"


def schema_text(kind: str) -> str:
    return json.dumps(json_schema(kind), indent=2) + "\n"


# --------------------------------------------------------------------------- docs

def markdown_table(section: Section) -> str:
    """The reference table of one section, as the docs show it."""
    lines = ["| key | required | type | default | meaning |", "|---|---|---|---|---|"]
    groups = {n: g for g in section.one_of_required for n in g}
    for k in section.keys:
        req = "yes" if k.required else "no"
        if k.name in groups:
            req = "one of " + " / ".join(f"`{n}`" for n in groups[k.name])
        if k.required_unless:
            req = f"yes, unless `{k.required_unless}`"
        lines.append(f"| `{k.name}` | {req} | {k.type} | {k.default} | {k.meaning} |")
    return "\n".join(lines) + "\n"


DOCS = ("world-language.md", "scenarios.md")      # the docs that hold generated tables
_MARK = re.compile(r"(<!-- schema:(\w+) -->\n)(.*?)(<!-- /schema -->)", re.S)


def docs_tables(text: str) -> str:
    """``text`` with every ``<!-- schema:NAME -->`` block replaced by its generated table."""
    return _MARK.sub(lambda m: m.group(1) + markdown_table(SECTIONS[m.group(2)]) + m.group(4),
                     text)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a maintenance script
    """``python -m sim.schema --docs`` rewrites the docs' tables and the shipped schemas."""
    import sys
    args = sys.argv[1:] if argv is None else argv
    if args != ["--docs"]:
        print("usage: python -m sim.schema --docs", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent
    for name in DOCS:
        doc = root / "docs" / name
        doc.write_text(docs_tables(doc.read_text(encoding="utf-8")), encoding="utf-8")
    for kind in KINDS:
        schema_path(kind).parent.mkdir(exist_ok=True)
        schema_path(kind).write_text(schema_text(kind), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
