"""The declarative schema: shipped JSON Schemas, `sim schema`, docs tables, loaders' keys."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest

from sim import cli, schema, yamlfile
from sim.worldfile import _on_keys

ROOT = Path(__file__).resolve().parent.parent
WORLDS = sorted((ROOT / "scenarios").glob("*/world.yaml")) + [
    ROOT / "tests" / "data" / "world2" / "world.yaml"]
HISTORIES = sorted((ROOT / "scenarios").glob("*/history.yaml"))


def as_json(value):
    """YAML data as a JSON document (dates become ISO text, as an editor sees them)."""
    if isinstance(value, dict):
        return {("on" if k is True else str(k)): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def printed_schema(kind, capsys):
    assert cli.main(["schema", kind]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("kind", ["world", "history", "scenario"])
def test_shipped_schema_is_the_generated_one(kind, capsys):
    assert printed_schema(kind, capsys) == schema.json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema.json_schema(kind))


@pytest.mark.parametrize("path", WORLDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_sim_schema_world_validates_the_worlds(path, capsys):
    validator = jsonschema.Draft202012Validator(printed_schema("world", capsys))
    doc = as_json(_on_keys(yamlfile.load(path)).data)
    assert [e.message for e in validator.iter_errors(doc)] == []


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: str(p.relative_to(ROOT)))
def test_sim_schema_history_validates_the_histories(path, capsys):
    validator = jsonschema.Draft202012Validator(printed_schema("history", capsys))
    assert [e.message for e in validator.iter_errors(as_json(yamlfile.load(path).data))] == []


def test_schema_rejects_what_the_loader_rejects():
    world = as_json(_on_keys(yamlfile.load(ROOT / "scenarios/s400/world.yaml")).data)
    v = jsonschema.Draft202012Validator(schema.json_schema("world"))
    bad = dict(world, rulez=[])
    assert any("rulez" in e.message for e in v.iter_errors(bad))
    rule = dict(world["rules"][0], probabilty=0.5)
    assert list(v.iter_errors(dict(world, rules=[rule])))
    review = {k: x for k, x in world["reviews"][0].items() if k != "every"}
    assert list(v.iter_errors(dict(world, reviews=[review])))      # every or calendar
    review = dict(world["reviews"][0], probability=1.5)
    assert list(v.iter_errors(dict(world, reviews=[review])))
    review = dict(world["reviews"][0], probability={"logistic": {"var": "x", "mid": 1}})
    assert list(v.iter_errors(dict(world, reviews=[review])))      # scale missing


def test_docs_tables_are_generated_from_the_schema():
    texts = {d: (ROOT / "docs" / d).read_text(encoding="utf-8") for d in schema.DOCS}
    for text in texts.values():
        assert schema.docs_tables(text) == text, "run: python -m sim.schema --docs"
    both = "".join(texts.values())
    for name in schema.SECTIONS:          # every section has its table in the docs
        assert f"<!-- schema:{name} -->" in both
        assert schema.markdown_table(schema.SECTIONS[name]) in both


def test_loaders_take_their_keys_from_the_schema():
    from sim import history, worldfile

    assert worldfile.TOP_KEYS == schema.WORLD.names
    assert worldfile.REVIEW_KEYS == schema.REVIEW.names
    assert worldfile.VARIABLE_KEYS == schema.VARIABLE.names
    assert history.ENTRY_KEYS == schema.ENTRY.names
    # every key the schema lists is accepted by the loader: the test world uses them all
    w = yamlfile.load(ROOT / "tests/data/world2/world.yaml").data
    used = set(w) | {k for r in w["reviews"] for k in r} | {k for r in w["rules"] for k in r}
    used |= {k for v in w["state"].values() if isinstance(v, dict) for k in v}
    used |= {k for i in w["invariants"] for k in i}
    used |= {k for r in w["reviews"] for m in r.get("modifiers", []) for k in m}
    for section in (schema.WORLD, schema.REVIEW, schema.VARIABLE, schema.INVARIANT,
                    schema.MODIFIER):
        missing = set(section.names) - used - {"description", "note", "decides", "every",
                                                "calendar", "choose", "on"}
        assert not missing, (section.name, missing)


def test_every_world_the_loader_accepts_the_schema_accepts():
    """The schema never rejects a valid world (it is looser: names and types against
    declarations are the loader's): checked on every one-value mutation of the test
    world, which uses every construct (the S-400 world takes minutes: too slow here)."""
    path = ROOT / "tests/data/world2/world.yaml"
    from helpers import paths, replaced

    from sim.errors import InputError
    from sim.worldfile import parse_world

    doc = _on_keys(yamlfile.load(path))
    v = jsonschema.Draft202012Validator(schema.json_schema("world"))
    accepted = 0
    for p in paths(doc.data):
        for value in (None, "zzz", [], {}, -1, 0, True, 1.5, 2, dt.date(2020, 6, 1)):
            data = replaced(doc.data, p, value)
            try:
                parse_world(yamlfile.Located(data, doc.positions, str(path)))
            except InputError:
                continue
            accepted += 1
            errors = [e.message for e in v.iter_errors(as_json(data))]
            assert not errors, (p, value, errors)
    assert accepted > 50


def _is_scenario(p: Path) -> bool:
    """A scenario file, as `sim validate` recognises it (not a world, history, coding,
    scoring or test-table file)."""
    from sim.cli import _validate_one

    try:
        return _validate_one(p).startswith("scenario")
    except Exception:
        return False


SCENARIOS = sorted(p for p in [*ROOT.glob("scenarios/*/*.yaml"), *ROOT.glob("tests/data/*/*.yaml"),
                               *ROOT.glob("tests/data/scenarios/variants/*.yaml")]
                   if p.name not in ("world.yaml", "history.yaml", "coding.yaml",
                                     "ingest_cases.yaml") and _is_scenario(p))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT)))
def test_sim_schema_scenario_validates_the_scenarios(path, capsys):
    validator = jsonschema.Draft202012Validator(printed_schema("scenario", capsys))
    assert [e.message for e in validator.iter_errors(as_json(yamlfile.load(path).data))] == []


def test_scenario_schema_rejects_what_the_loader_rejects():
    base = as_json(yamlfile.load(ROOT / "scenarios/s400/baseline.yaml").data)
    v = jsonschema.Draft202012Validator(schema.json_schema("scenario"))
    assert list(v.iter_errors(dict(base, replicate=10)))                   # unknown key
    assert list(v.iter_errors(dict(base, replicates=0)))
    assert list(v.iter_errors({k: x for k, x in base.items() if k != "fork"}))
    assert not list(v.iter_errors({"extends": "baseline.yaml", "seed": 3}))
    assert list(v.iter_errors(dict(base, outcomes=[{"id": "x"}])))          # no measure
    assert list(v.iter_errors(dict(base, history_uncertainty={"keep": {"lo": 0.5}})))


def test_loaders_keep_no_key_lists_of_their_own():
    """The loaders take every key list from sim.schema (the structural checks are
    sim.schemacheck's): none of them spells out a tuple of keys."""
    import re

    from sim import history, scenario, worldfile

    assert scenario.SCENARIO_KEYS == schema.SCENARIO.names
    for module in (scenario, history, worldfile):
        text = Path(module.__file__).read_text(encoding="utf-8")
        assert not re.search(r"^[A-Z_]*KEYS = \(", text, re.M), module.__name__


def test_uncertain_distribution_names_agree_with_the_loader():
    from sim import uncertainty

    assert set(schema.UNCERTAIN_KINDS) == set(uncertainty.KINDS)
