"""The structural checker derived from sim.schema (sim.schemacheck): random mutations of
valid files are always reported on the right line, never with a traceback, and every
problem the JSON Schema (the `jsonschema` library, same description) finds is reported."""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import paths, replaced
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_schema import as_json

from sim import schema, schemacheck, yamlfile
from sim.errors import InputError
from sim.history import parse_history
from sim.worldfile import _on_keys, load_world, parse_world

ROOT = Path(__file__).resolve().parent.parent
WORLD2 = ROOT / "tests" / "data" / "world2" / "world.yaml"
S400 = ROOT / "scenarios" / "s400" / "world.yaml"
DOCS = {p: _on_keys(yamlfile.load(p)) for p in (WORLD2, S400)}
VALIDATOR = jsonschema.Draft202012Validator(schema.json_schema("world"))
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- where sections are

def _section_refs(s: Any) -> list[schema.Section]:
    """The sections a key's schema fragment can hold directly (through anyOf)."""
    if isinstance(s, dict):
        ref = s.get("$ref", "").rsplit("/", 1)[-1]
        if ref in schema.SECTIONS:
            return [schema.SECTIONS[ref]]
        return [x for b in s.get("anyOf", ()) for x in _section_refs(b)]
    return []


def sections(data: Any, sec: schema.Section, path: tuple = ()):
    """Every (path, section, mapping) of a document: the mappings sim.schema describes."""
    yield path, sec, data
    for k in sec.keys:
        v = data.get(k.name)
        if v is None:
            continue
        s = k.schema
        direct = _section_refs(s)
        if direct and isinstance(v, dict):
            yield from sections(v, direct[0], path + (k.name,))
        elif s.get("type") == "array" and isinstance(v, list):
            for sub in _section_refs(s.get("items", {})):
                for i, x in enumerate(v):
                    if isinstance(x, dict):
                        yield from sections(x, sub, path + (k.name, i))
        elif s.get("type") == "object" and isinstance(v, dict):
            for sub in _section_refs(s.get("additionalProperties", {})):
                for name, x in v.items():
                    if isinstance(x, dict):
                        yield from sections(x, sub, path + (k.name, name))


SITES = {p: list(sections(doc.data, schema.WORLD)) for p, doc in DOCS.items()}


def parse(doc: yamlfile.Located, data: Any) -> list:
    """The problems the loader reports for ``data`` (positions from ``doc``); [] if none.
    Anything but an InputError (a traceback) fails the test."""
    try:
        parse_world(yamlfile.Located(data, doc.positions, doc.file))
    except InputError as exc:
        assert exc.problems and all(p.file == doc.file for p in exc.problems)
        return exc.problems
    return []


def lines_under(doc: yamlfile.Located, path: tuple) -> set[int]:
    """The lines of the value at ``path`` and of everything inside it (keys included)."""
    n = len(path)
    out = {doc.where(path)[0]}
    for p, (line, _) in doc.positions.items():
        q = p[1:] if p[:1] == ("<key>",) else p
        if q[:n] == path:
            out.add(line)
    return out


def _bound(s: dict) -> tuple[str, float] | None:
    for k in ("maximum", "minimum", "exclusiveMinimum"):
        if k in s:
            return k, s[k]
    return None


# --------------------------------------------------------------------------- the property test

MUTATIONS = ("drop a required key", "wrong type", "unknown key", "out of range")
WRONG = ["zz text", 2.5, -7, True, [1, "a"], {"zz": 1}, dt.date(2020, 1, 1)]


@SETTINGS
@given(file=st.sampled_from(sorted(DOCS)), kind=st.sampled_from(MUTATIONS), data=st.data())
def test_random_mutations_are_reported_on_their_line(file, kind, data):
    doc = DOCS[file]
    path, sec, mapping = data.draw(st.sampled_from(SITES[file]))
    if kind == "drop a required key":
        assume(sec.required)
        key = data.draw(st.sampled_from(sec.required))
        mutated = replaced(doc.data, path, {k: v for k, v in mapping.items() if k != key})
        where, words = path, f"missing '{key}'"
    elif kind == "unknown key":
        mutated = replaced(doc.data, path, {**mapping, "zz_unknown": 1})
        where, words = path, "unknown key 'zz_unknown'"
    elif kind == "wrong type":
        key = data.draw(st.sampled_from(sorted(mapping)))
        value = data.draw(st.sampled_from(WRONG))
        where = path + (key,)
        mutated = replaced(doc.data, where, value)
        # wrong per the JSON Schema: it reports this very value (not a parent or sibling)
        assume(any(tuple(e.absolute_path)[:len(where)] == where
                   for e in VALIDATOR.iter_errors(as_json(mutated))))
        words = ""
    else:
        ranged = [(k, _bound(k_.schema)) for k_ in sec.keys for k in [k_.name]
                  if k in mapping and _bound(k_.schema) and mapping[k] is not None]
        assume(ranged)
        key, (which, bound) = data.draw(st.sampled_from(ranged))
        value = bound + 1 if which == "maximum" else bound - 1
        where = path + (key,)
        mutated = replaced(doc.data, where, value)
        words = f"is {value:g}; it must be"
    problems = parse(doc, mutated)
    line = doc.where(where)[0]
    assert any(p.line == line and words in p.message and p.hint for p in problems), (
        kind, where, [str(p) for p in problems])


@SETTINGS
@given(file=st.sampled_from(sorted(DOCS)), data=st.data())
def test_every_json_schema_problem_is_reported(file, data):
    """Same description, so they must agree: for any one-value mutation, each error the
    jsonschema library finds is reported by the loader on a line of that value."""
    doc = DOCS[file]
    where = data.draw(st.sampled_from(list(paths(doc.data))))
    value = data.draw(st.sampled_from([None, "zzz", [], {}, -1, 0, True, 1.5, 2, 1e9,
                                       [1, "a"], {"k": None}, {"zz": {"x": 1}},
                                       dt.date(2020, 6, 1)]))
    mutated = replaced(doc.data, where, copy.deepcopy(value))
    errors = list(VALIDATOR.iter_errors(as_json(mutated)))
    problems = parse(doc, mutated)
    if errors:
        assert problems, (where, value, [e.message for e in errors])
    lines = {p.line for p in problems}
    for e in errors:
        under = lines_under(doc, tuple(e.absolute_path))
        assert lines & under, (where, value, e.message, [str(p) for p in problems])


def test_the_checker_alone_agrees_with_jsonschema_outside_conditions():
    """Outside conditions (checked against the variables, sim.conditions), the structural
    checker by itself finds every problem jsonschema finds, at the same path or inside it."""
    doc = DOCS[WORLD2]
    missed = []
    for where in paths(doc.data):
        if "when" in where:
            continue
        for value in (None, "zzz", [], {}, -1, 0, True, 1.5, [1, "a"], {"zz": 1}):
            data = replaced(doc.data, where, copy.deepcopy(value))
            located = yamlfile.Located(data, doc.positions, doc.file)
            try:
                bad = schemacheck.check(located, schema.WORLD).bad
            except InputError:
                continue                         # not a world file at all: one problem
            for e in VALIDATOR.iter_errors(as_json(data)):
                p = tuple(e.absolute_path)
                if not any(b[:len(p)] == p for b in bad):
                    missed.append((where, value, e.message))
    assert not missed, missed[:5]


# --------------------------------------------------------------------------- messages

def _one(text: str, kind: schema.Section = schema.WORLD) -> str:
    doc = yamlfile.loads(text, "f.yaml")
    return "\n".join(str(p) for p in schemacheck.check(doc, kind).problems)


@pytest.mark.parametrize("text,expected", [
    ("world: w\nstarts: 2020-01-01\nevents: {}\nrulez: []\n",
     "f.yaml:4:1: unknown key 'rulez' in the world file (did you mean 'rules'?)"),
    ("world: w\nevents: {}\n",
     "f.yaml:1:1: the world file is missing 'starts' (required keys: world, starts, events)"),
    ("world: w\nstarts: '2020-02-30'\nevents: {}\n",
     "f.yaml:2:9: 'starts' must be a date, not text ('2020-02-30') "
     "(2020-02-30 is not a real day (day is out of range for month); dates are YYYY-MM-DD)"),
    ("world: w\nstarts: 2020-01-01\nevents: {}\nreviews:\n  - {id: v, actor: A, every: 30,"
     " decides: e, probability: .nan}\n",
     "f.yaml:5:59: the probability of review 'v' must be a finite number, not nan "
     "(write a plain number such as 0.5 or 30)"),
    ("world: w\nstarts: 2020-01-01\nevents: {}\nreviews:\n  - {id: v, actor: A, every: 30,"
     " phase: soon, decides: e, probability: 1}\n",
     "f.yaml:5:41: the phase of review 'v' must be a number or 'random', not text ('soon') "
     "(days from the fork to the first review, > 0, or phase: random)"),
    ("world: w\nstarts: 2020-01-01\nevents: {}\nrules:\n  - {id: r, then: a, "
     "delay: {uniform: {low: 1, hihg: 2}}}\n",
     "f.yaml:5:5: rule 'r' is missing 'on' (required keys: id, on, then)\n"
     "f.yaml:5:39: a uniform delay is missing 'high' (required keys: low, high)\n"
     "f.yaml:5:48: unknown key 'hihg' in a uniform delay (did you mean 'high'?)"),
    ("sources: {S1: {outlet: O, title: T, published: 2020}}\nevents: [{date: x}]\n",
     "f.yaml:1:48: the publication date of 'S1' must be a date, not a number (2020) "
     "(write an ISO date like 2019-07-12)\n"
     "f.yaml:2:10: history entry #1 is missing 'event' (required keys: date, event, source)\n"
     "f.yaml:2:10: history entry #1 is missing 'source' (required keys: date, event, source)\n"
     "f.yaml:2:17: 'date' must be a date, not text ('x') (write an ISO date like 2019-07-12)"),
])
def test_messages_name_the_place_what_is_wrong_and_a_hint(text, expected):
    kind = schema.HISTORY if text.startswith("sources") else schema.WORLD
    assert _one(text, kind) == expected


def test_a_non_mapping_or_foreign_file_is_one_problem():
    with pytest.raises(InputError, match="a world file must be a mapping at the top level"):
        schemacheck.check(yamlfile.loads("- 1\n", "f.yaml"), schema.WORLD, "a world file")
    with pytest.raises(InputError, match="this is not a history file"):
        schemacheck.check(yamlfile.loads("a: 1\nb: 2\nc: 3\nd: 4\n", "f.yaml"), schema.HISTORY,
                          "a history file")


def test_the_valid_files_pass_and_load():
    for p, doc in DOCS.items():
        assert schemacheck.check(doc, schema.WORLD).problems == ()
        load_world(p)
    h = yamlfile.load(ROOT / "scenarios/s400/history.yaml")
    assert schemacheck.check(h, schema.HISTORY).problems == ()
    parse_history(h, load_world(S400))


def test_a_quoted_iso_date_is_the_date():
    """YAML reads '2020-01-01' (quoted) as text, a YAML 1.2 editor reads every date as text,
    and the JSON Schema says a date is a string: the checker takes an unambiguous quoted
    ISO date as the date and writes it back for the loaders (no problem reported)."""
    import datetime as dt

    doc = yamlfile.loads("world: w\nstarts: '2020-01-01'\nevents: {}\n", "f.yaml")
    assert schemacheck.check(doc, schema.WORLD).problems == ()
    assert doc.data["starts"] == dt.date(2020, 1, 1)
