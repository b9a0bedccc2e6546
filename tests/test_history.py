"""Tests of sim.history: history YAML -> History, its validation, occurrences and drops."""
from __future__ import annotations

import datetime as dt
import pickle

import pytest
from helpers import paths, replaced

from sim.errors import InputError
from sim.events import HISTORY
from sim.history import History, HistoryEntry, NoMatch, Source, load_history, parse_history
from sim.worldfile import parse_world
from sim.yamlfile import loads

WORLD = parse_world(loads("""\
world: t
starts: 2017-09-12
actors: {TUR: {name: Turkey}, USA: {name: US}, RUS: {name: Russia}}
state: {delivered: false, active: false, tension: 0.0}
events:
  s400_delivered: {actor: RUS, target: TUR, effects: {delivered: true}}
  s400_activated: {actor: TUR, effects: {active: true}, once: true}
  talks: {actor: USA}
""", "world.yaml"))

SOURCES = """\
sources:
  S000: {outlet: Outlet A, title: "Deliveries begin", published: 2019-07-13}
  S001: {outlet: Outlet B, title: Tests, published: 2019-11-26, url: "https://example.org/x"}
events:
"""                                                    # entries start on line 5


def parse(text: str):
    return parse_history(loads(text, "h.yaml"), WORLD)


def problems(text: str):
    with pytest.raises(InputError) as exc:
        parse(text)
    return exc.value.problems


GOOD = SOURCES + """\
  - {date: 2019-07-12, event: s400_delivered, source: S000, confidence: high, note: first parts}
  - date: 2019-07-12
    event: talks
    target: TUR
    source: S000
    granularity: month
    data: {round: 1}
  - {date: 2019-11-25, event: s400_activated, actor: TUR, source: S001, confidence: low}
"""


def test_valid_history_entries_and_sources():
    h = parse(GOOD)
    assert h.sources["S001"] == Source("S001", "Outlet B", "Tests", dt.date(2019, 11, 26),
                                       "https://example.org/x")
    assert h.entries[0] == HistoryEntry(dt.date(2019, 7, 12), "s400_delivered", "RUS", "TUR",
                                        "S000", "high", "day", "first parts")
    # actor defaults to the event type's; target given; defaults for confidence
    assert h.entries[1] == HistoryEntry(dt.date(2019, 7, 12), "talks", "USA", "TUR", "S000",
                                        "medium", "month", None, {"round": 1})
    assert [e.line for e in h.entries] == [5, 6, 12]
    assert h.file == "h.yaml"
    assert len(h) == 3


def test_a_source_may_carry_a_stable_identifier():
    law = ("  L1: {outlet: US Congress, title: An act, published: 2019-12-20,"
           " identifier: Public Law 116-92}\n")
    text = SOURCES.replace("events:\n", law + "events:\n")
    h = parse(text + "  - {date: 2019-12-20, event: talks, source: L1}\n")
    assert h.sources["L1"].identifier == "Public Law 116-92"
    assert h.sources["S000"].identifier is None
    bad = SOURCES.replace("events:\n", law.replace("Public Law 116-92", "92") + "events:\n")
    (p,) = problems(bad + "  - {date: 2019-12-20, event: talks, source: L1}\n")
    assert "identifier" in p.message and "L1" in p.message


def test_occurrences_times_are_days_since_starts():
    h = parse(GOOD)
    occ = h.occurrences(WORLD)
    # 2017-09-12 -> 2019-07-12: 19 days left in Sep 2017, +31+30+31 (Oct-Dec) = 111,
    # +365 (2018) = 476, +31+28+31+30+31+30 (Jan-Jun 2019) = 657, +12 = 668
    assert [o.time for o in occ] == [668.0, 668.0, 668.0 + 136]
    assert [o.kind for o in occ] == ["s400_delivered", "talks", "s400_activated"]
    assert all(o.origin == HISTORY for o in occ)
    assert [o.source for o in occ] == ["S000", "S000", "S001"]
    assert occ[0].note == "first parts" and occ[2].note is None
    assert (occ[0].actor, occ[0].target) == ("RUS", "TUR")
    assert dict(occ[1].data) == {"round": 1}


def test_without_drops_matching_entries():
    h = parse(GOOD)
    assert [e.event for e in h.without([{"event": "talks"}]).entries] == \
        ["s400_delivered", "s400_activated"]
    kept = h.without([{"event": "s400_delivered", "date": dt.date(2019, 7, 12)},
                      {"event": "s400_activated", "date": "2019-11-25"}])
    assert [e.event for e in kept.entries] == ["talks"]
    assert h.without([]) is h
    assert len(h.entries) == 3                       # the original is unchanged


def test_without_reports_drops_that_match_nothing():
    h = parse(GOOD)
    drops = [{"event": "talks"}, {"event": "s400_delivered", "date": dt.date(2019, 7, 13)},
             {"event": "caatsa"}]
    with pytest.raises(NoMatch) as exc:
        h.without(drops)
    assert exc.value.unmatched == (1, 2)
    assert "s400_delivered on 2019-07-13" in str(exc.value)
    lenient = h.without(drops, strict=False)
    assert [e.event for e in lenient.entries] == ["s400_delivered", "s400_activated"]


def test_before_keeps_entries_strictly_before_the_fork():
    h = parse(GOOD)
    assert len(h.before(dt.date(2019, 11, 25)).entries) == 2
    assert len(h.before(dt.date(2019, 11, 26)).entries) == 3


def test_history_is_picklable_for_worker_processes():
    h = parse(GOOD)
    assert pickle.loads(pickle.dumps(h)) == h


BAD = [
    ("out-of-order", "  - {date: 2019-08-01, event: talks, source: S000}\n"
     "  - {date: 2019-07-01, event: talks, source: S000}\n", 6,
     "entries out of order: 2019-07-01 comes after 2019-08-01 (line 5)", "date order"),
    ("unknown-kind", "  - {date: 2019-08-01, event: s400_deliverd, source: S000}\n", 5,
     "unknown event 's400_deliverd'", "did you mean 's400_delivered'"),
    ("missing-source", "  - {date: 2019-08-01, event: talks}\n", 5,
     "history entry #1 is missing 'source'", "required keys: date, event, source"),
    ("unknown-source", "  - {date: 2019-08-01, event: talks, source: S010}\n", 5,
     "unknown source 'S010'", "did you mean 'S001'"),
    ("inline-source", "  - {date: 2019-08-01, event: talks, source: {outlet: A, title: B}}\n",
     5, "'source' must be text, not a mapping", "write source: S000"),
    ("bad-confidence", "  - {date: 2019-08-01, event: talks, source: S000, confidence: sure}\n",
     5, "unknown confidence 'sure'", "expected one of: high, low, medium"),
    ("bad-granularity", "  - {date: 2019-08-01, event: talks, source: S000, "
     "granularity: mnoth}\n", 5, "unknown granularity 'mnoth'", "did you mean 'month'"),
    ("before-starts", "  - {date: 2017-09-11, event: talks, source: S000}\n", 5,
     "2017-09-11 is before the world starts (2017-09-12)", "move the world's 'starts'"),
    ("date-not-a-date", "  - {date: July 2019, event: talks, source: S000}\n", 5,
     "'date' must be a date, not text", "ISO date"),
    ("unknown-actor", "  - {date: 2019-08-01, event: talks, actor: TRK, source: S000}\n", 5,
     "unknown actor 'TRK'", "did you mean 'TUR'"),
    ("unknown-entry-key", "  - {date: 2019-08-01, event: talks, source: S000, notes: x}\n", 5,
     "unknown key 'notes'", "did you mean 'note'"),
    ("once-twice", "  - {date: 2019-08-01, event: s400_activated, source: S000}\n"
     "  - {date: 2019-08-02, event: s400_activated, source: S000}\n", 6,
     "'s400_activated' is a once event but already occurs at line 5", "keep one entry"),
    ("entry-not-mapping", "  - just text\n", 5, "history entry #1 must be a mapping",
     "date: 2019-07-12"),
]


@pytest.mark.parametrize("text,line,message,hint", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_history_entry(text, line, message, hint):
    (p,) = problems(SOURCES + text)
    assert (p.file, p.line) == ("h.yaml", line)
    assert message in p.message
    assert p.hint and hint in p.hint


@pytest.mark.parametrize("text,line,message,hint", [
    ("sources:\n  S0: {outlet: A, title: T}\nevents: []\n", 2, "source 'S0' is missing "
     "'published'", "required keys: outlet, title, published"),
    ("sources:\n  S0: {outlet: A, title: T, published: soon}\nevents: []\n", 2,
     "publication date of 'S0' must be a date", "ISO date"),
    ("sources:\n  S0: {outlet: A, titel: T, published: 2019-01-01}\nevents: []\n", 2,
     "unknown key 'titel'", "did you mean 'title'"),
    ("events:\n  date: 2019-01-01\n", 2, "'events' must be a list", "events: [{date"),
    ("sources: []\nevents: []\n", 1, "'sources' must be a mapping", "sources: {S000"),
    ("entries: []\n", 1, "unknown key 'entries'", "did you mean"),
])
def test_bad_history_file(text, line, message, hint):
    found = problems(text)
    p = found[0]
    assert (p.file, p.line) == ("h.yaml", line)
    assert message in p.message
    assert p.hint and hint in p.hint


@pytest.mark.parametrize("text", ["- {date: 2019-07-12, event: talks}\n", "42\n", ""])
def test_history_top_level_must_be_a_mapping(text):
    (p,) = problems(text)
    assert p.file == "h.yaml" and p.line == 1
    assert "must be a mapping at the top level" in p.message and "sources" in p.hint


def test_all_history_problems_reported_at_once():
    text = SOURCES + (
        "  - {date: 2019-08-01, event: tlaks, source: S000}\n"              # 5
        "  - {date: 2019-07-01, event: talks, source: S009, confidence: x}\n"  # 6
        "  - {date: 2016-01-01, event: talks}\n")                          # 7
    found = problems(text)
    assert sorted(p.line for p in found) == [5, 6, 6, 6, 7, 7, 7]
    joined = "\n".join(map(str, found))
    for words in ("unknown event 'tlaks'", "out of order", "unknown source 'S009'",
                  "unknown confidence 'x'", "before the world starts", "missing 'source'"):
        assert words in joined


def test_yaml_syntax_error_in_history(tmp_path):
    p = tmp_path / "history.yaml"
    p.write_text("events:\n  - {date: 2019-01-01, event: talks\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_history(p, WORLD)
    (prob,) = exc.value.problems
    assert prob.file == p and "YAML syntax error" in prob.message and prob.line is not None


def test_load_history_from_file_and_impossible_date(tmp_path):
    p = tmp_path / "history.yaml"
    p.write_text(GOOD, encoding="utf-8")
    assert load_history(p, WORLD).entries == parse(GOOD).entries
    p.write_text(SOURCES + "  - {date: 2019-02-30, event: talks, source: S000}\n",
                 encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_history(p, WORLD)
    (prob,) = exc.value.problems
    assert prob.line == 5 and "2019-02-30" in prob.message and prob.hint


def test_empty_history():
    h = History.empty()
    assert h.occurrences(WORLD) == () and h.without([], strict=True) is h
    assert parse("sources: {}\nevents: []\n").entries == ()


def test_any_wrong_value_anywhere_gives_input_error_not_a_crash():
    from sim.yamlfile import Located
    doc = loads(GOOD, "h.yaml")
    all_paths = list(paths(doc.data))
    assert len(all_paths) > 30
    for path in all_paths:
        for value in WRONG:
            mutated = Located(replaced(doc.data, path, value), doc.positions, "h.yaml")
            try:
                parse_history(mutated, WORLD)
            except InputError as exc:
                assert exc.problems and all(p.file == "h.yaml" and p.line for p in exc.problems)


WRONG = [None, "zzz", [], {}, -1, True, 1.5, [1, "a"], {"k": None}, dt.date(2000, 1, 1)]


