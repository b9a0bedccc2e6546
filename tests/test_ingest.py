"""Tests for sim.ingest: the rule-based article coder behind `sim ingest`.

The case table (tests/data/ingest_cases.yaml) holds hand-written sentences with hand-resolved
dates; precision and recall over it are printed (run with -s) and held to fixed thresholds.
The seed-article checks compare against facts stated in /work/shared/CASE.md.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import ingest_eval
import pytest
import yaml

from sim import yamlfile
from sim.errors import InputError
from sim.ingest import (
    S400_ACTORS,
    S400_EVENTS,
    find_dates,
    ingest,
    load_coding,
    split_sentences,
    to_yaml,
)

ROOT = Path(__file__).resolve().parents[1]
CODING = ROOT / "scenarios" / "s400" / "coding.yaml"
CASES = yamlfile.load(Path(__file__).parent / "data" / "ingest_cases.yaml").data
# the project's shared folder sits beside the repository (as in CI); the seed articles are
# read from there, never copied into the project
SEEDS = next((p for p in (ROOT.parent / "shared" / "seeds", Path("/work/shared/seeds"))
              if p.is_dir()), ROOT.parent / "shared" / "seeds")
SEED_PUBLISHED = {"000": dt.date(2019, 11, 15), "001": dt.date(2021, 1, 14),
                  "002": dt.date(2019, 4, 29), "003": dt.date(2020, 11, 13),
                  "004": dt.date(2019, 6, 10)}


@pytest.fixture(scope="module")
def coding():
    return load_coding(CODING)


def _seed(number: str) -> str:
    files = sorted(SEEDS.glob(f"{number}_*.txt"))
    if not files:
        pytest.skip(f"seed articles not found in {SEEDS} (the shared folder beside the repo)")
    return files[0].read_text(encoding="utf-8")


def _key(c) -> tuple:
    return (c.event, c.actor, c.date, c.granularity)


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize("phrase, published, expected, granularity, confidence", [
    ("on Friday", dt.date(2019, 6, 10), dt.date(2019, 6, 7), "day", "medium"),
    ("on Friday", dt.date(2019, 11, 15), dt.date(2019, 11, 15), "day", "medium"),  # same day
    ("last Friday", dt.date(2019, 11, 15), dt.date(2019, 11, 8), "day", "medium"),
    ("yesterday", dt.date(2020, 3, 1), dt.date(2020, 2, 29), "day", "medium"),
    ("last week", dt.date(2019, 8, 30), dt.date(2019, 8, 19), "week", "medium"),
    ("this week", dt.date(2019, 8, 30), dt.date(2019, 8, 26), "week", "medium"),
    ("last month", dt.date(2021, 1, 14), dt.date(2020, 12, 1), "month", "low"),
    ("this month", dt.date(2019, 4, 29), dt.date(2019, 4, 1), "month", "low"),
    ("in July", dt.date(2019, 11, 15), dt.date(2019, 7, 1), "month", "low"),
    ("in December", dt.date(2019, 11, 15), dt.date(2018, 12, 1), "month", "low"),  # past
    ("on 12 July 2019", dt.date(2020, 11, 13), dt.date(2019, 7, 12), "day", "high"),
    ("on July 12, 2019", dt.date(2020, 11, 13), dt.date(2019, 7, 12), "day", "high"),
    ("on April 1", dt.date(2019, 6, 10), dt.date(2019, 4, 1), "day", "high"),
    ("in April 2018", dt.date(2021, 1, 14), dt.date(2018, 4, 1), "month", "low"),
    ("in 2017", dt.date(2019, 11, 15), dt.date(2017, 1, 1), "year", "low"),
    ("two weeks ago", dt.date(2020, 2, 14), dt.date(2020, 1, 27), "week", "medium"),
])
def test_date_resolution(phrase, published, expected, granularity, confidence):
    found = find_dates(f"Something happened {phrase}.", published)
    assert len(found) == 1
    assert (found[0].date, found[0].granularity, found[0].confidence) == (
        expected, granularity, confidence)


def test_modal_may_and_bare_years_are_not_dates():
    assert find_dates("The US may act under a 2017 law.", dt.date(2019, 5, 1)) == []


# ------------------------------------------------------------------ sentences


def test_split_sentences_keeps_abbreviations_and_offsets():
    text = ("The U.S. warned Gen. Akar on Friday. Mr. Erdogan said no. Did it work?\n"
            "Photo: S-400 launchers near Ankara\n")
    parts = [(text[a:b], cap) for a, b, cap in split_sentences(text)]
    assert parts == [("The U.S. warned Gen. Akar on Friday.", False),
                     ("Mr. Erdogan said no.", False), ("Did it work?", False),
                     ("Photo: S-400 launchers near Ankara", True)]


# ------------------------------------------------------------------ the case tables
# Development table: tests/data/ingest_cases.yaml (tuned on). Held-out table:
# tests/data/ingest_heldout.yaml, written before the issue #19 changes and never tuned on.
# Scoring and the first-run record live in tests/ingest_eval.py (also run as a script).

HELDOUT = ingest_eval.load_cases(ingest_eval.HELDOUT)


def _run_case(case, coding=None):
    return ingest_eval.run_case(case)


@pytest.mark.parametrize("case", CASES + HELDOUT, ids=[c["id"] for c in CASES + HELDOUT])
def test_case_rejections(case):
    """Kinds a sentence must not yield (negation, condition, question, caption ...)."""
    kinds = {c.event for c in _run_case(case).candidates}
    assert not kinds & set(case.get("reject", [])), kinds


@pytest.mark.parametrize("table", [CASES, HELDOUT], ids=["development", "held-out"])
def test_weekdays_in_the_tables_are_consistent(table):
    """Each "on <weekday>" date is that weekday within the week before publication; each
    week-granular date is a Monday (or the publication date of an undated sentence)."""
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    for case in table:
        m = re.search(r"\bon (" + "|".join(names) + r")\b", case["text"])
        for e in case.get("expect", []):
            d = e["date"]
            if m and e["granularity"] == "day":
                assert d.weekday() == names.index(m[1]), case["id"]
                assert 0 <= (case["published"] - d).days < 7, case["id"]
            if e["granularity"] == "week" and d != case["published"]:
                assert d.weekday() == 0 and 0 <= (case["published"] - d).days < 14, case["id"]


def test_heldout_table_is_large_and_varied():
    assert len(HELDOUT) >= 40
    parts = {c.get("coding", "s400") for c in HELDOUT}
    assert parts == {"s400", "disputes"}
    assert len(CASES) >= 100


def test_case_tables_precision_recall(capsys):
    rows = ingest_eval.table()
    with capsys.disabled():
        print("\ningest precision and recall (event, actor, date and granularity must match):")
        print(ingest_eval.markdown(rows))
        for name, s in rows:
            if name.endswith("all"):
                for m in s["misses"]:
                    print(f"  {name} missed: {m}")
                for x in s["extras"]:
                    print(f"  {name} extra:  {x}")
    scores = dict(rows)
    dev, held = scores["development, all"], scores["held-out, all"]
    assert dev["precision"] >= 0.95 and dev["recall"] >= 0.9
    # issue #19, done when: held-out recall >= 0.7 with precision >= 0.8
    assert held["precision"] >= 0.8 and held["recall"] >= 0.7
    for part in ("s400", "disputes"):
        assert scores[f"held-out, {part}"]["recall"] >= 0.7


def test_docs_report_the_computed_scores():
    """docs/ingest.md quotes the scores this code computes (regenerate with
    `python tests/ingest_eval.py --write`)."""
    doc = ingest_eval.DOC.read_text(encoding="utf-8")
    assert ingest_eval.doc_block(doc) == ingest_eval.markdown(ingest_eval.table())
    # the limits quoted in the prose are the code's
    from sim.ingest import MAX_ARTICLE_BYTES, check_published
    assert f"an article over {MAX_ARTICLE_BYTES // 1_000_000} MB" in doc
    assert "the years 1900-2199" in doc
    check_published(dt.date(1900, 1, 1)), check_published(dt.date(2199, 12, 31))
    for bad in (dt.date(1899, 12, 31), dt.date(2200, 1, 1)):
        with pytest.raises(InputError):
            check_published(bad)


def test_date_belongs_to_its_own_clause(coding):
    text = ("US lawmakers backed legislation that would slap sanctions on Turkey for an "
            "incursion into Syria that began last month.")
    res = ingest(text, dt.date(2019, 11, 15), coding)
    got = {(c.event, c.date, c.granularity) for c in res.candidates}
    assert ("syria_operation", dt.date(2019, 10, 1), "month") in got
    assert ("sanctions_threatened", dt.date(2019, 11, 15), "week") in got   # undated threat


def test_cli_helpers_give_clear_errors(tmp_path):
    from sim.ingest import default_coding_path, parse_published, read_article
    assert parse_published("2019-11-15") == dt.date(2019, 11, 15)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        parse_published("15/11/2019")
    with pytest.raises(InputError, match="article file not found"):
        read_article(tmp_path / "missing.txt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Erdo\xf0an".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_article(bad)
    assert default_coding_path("scenarios/s400/world.yaml") == Path("scenarios/s400/coding.yaml")


def test_several_actors_in_one_sentence(coding):
    text = "Senators and Secretary of State Mike Pompeo warned Turkey of sanctions on Monday."
    res = ingest(text, dt.date(2019, 4, 3), coding)
    assert sorted((c.event, c.actor) for c in res.candidates) == [
        ("sanctions_threatened", "USA"), ("sanctions_threatened", "USC")]


def test_office_dates_change_the_actor(coding):
    text = "Biden met Erdogan in Brussels on 14 June 2021."
    assert [c.actor for c in ingest(text, dt.date(2021, 6, 15), coding).candidates] == ["USA"]
    # Before his term Biden is known but is not the US executive: the meeting is not coded.
    early = ingest("Biden met Erdogan in Brussels on 14 June 2019.", dt.date(2019, 6, 15), coding)
    assert early.candidates == ()


def test_evidence_offsets_point_at_the_sentence(coding):
    text = "Nothing happened. Russia delivered the S-400 on 12 July 2019. More text follows."
    res = ingest(text, dt.date(2019, 8, 1), coding)
    (c,) = res.candidates
    (ev,) = c.evidence
    assert text[ev.start:ev.end] == "Russia delivered the S-400 on 12 July 2019."
    assert ev.patterns == ("delivered",)
    assert (c.date, c.confidence) == (dt.date(2019, 7, 12), "high")


def test_undated_event_uses_publication_date_with_low_confidence(coding):
    res = ingest("Washington imposed sanctions on Turkey.", dt.date(2020, 12, 20), coding)
    (c,) = res.candidates
    assert (c.date, c.granularity, c.confidence) == (dt.date(2020, 12, 20), "week", "low")


def test_future_dates_are_not_coded(coding):
    res = ingest("Russia delivered the S-400 on 1 May 2030.", dt.date(2019, 8, 1), coding)
    assert res.candidates == ()
    assert any("after publication" in s.reason for s in res.skipped)


# ------------------------------------------------------------------ output


def test_to_yaml_is_history_format_and_never_copies_the_sentence(coding):
    text = "Moscow delivered the S-400 to Turkey on 12 July 2019, a spokesman said."
    res = ingest(text, dt.date(2019, 7, 13), coding, source="Outlet, Some title")
    out = to_yaml(res)
    entries = yaml.safe_load(out)
    assert entries == [{"date": dt.date(2019, 7, 12), "event": "s400_delivered",
                        "actor": "RUS", "target": "TUR", "source": "NEW",
                        "confidence": "high", "granularity": "day",
                        "note": "Russia delivers S-400 components to Turkey"}]
    assert "# source: Outlet, Some title" in out
    assert "a spokesman said" not in out


def test_unknown_names_are_reported_not_coded(coding):
    text = "Foreign Minister Zorblat Quennick met Mevlut Cavusoglu in Sochi on Monday."
    res = ingest(text, dt.date(2019, 5, 8), coding)
    names = {u.text for u in res.unknown if u.kind == "name"}
    assert {"Zorblat Quennick", "Sochi"} <= names
    assert "Mevlut Cavusoglu" not in names


# ------------------------------------------------------------------ coding file errors


def _write(tmp_path, text):
    p = tmp_path / "coding.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_unknown_event_kind_is_named_with_line_and_hint(tmp_path):
    p = _write(tmp_path, "actors: []\npatterns:\n  - id: x\n    match: IMPOSED * SANCTIONS\n"
                         "    event: caatsa_sanction\n    actors: [USA]\n")
    with pytest.raises(InputError) as err:
        load_coding(p)
    msg = str(err.value)
    assert f"{p}:5:" in msg and "caatsa_sanction" in msg and "did you mean 'caatsa_sanctions'" in msg


def test_unknown_actor_and_class_are_reported_together(tmp_path):
    p = _write(tmp_path, "actors:\n  - {actor: TURK, names: [Ankara]}\npatterns:\n"
                         "  - {id: y, match: IMPOSED * &SANCTON, event: caatsa_sanctions, "
                         "actors: [USA]}\nclasses:\n  SANCTION: [sanctions]\n")
    with pytest.raises(InputError) as err:
        load_coding(p)
    msg = str(err.value)
    assert "2 problems" in msg and "unknown actor 'TURK'" in msg and "'TUR'" in msg
    assert "unknown class &SANCTON" in msg and "'SANCTION'" in msg


def test_coding_checks_against_a_given_world_vocabulary():
    with pytest.raises(InputError) as err:
        load_coding(CODING, events=S400_EVENTS - {"bill_held"}, actors=S400_ACTORS)
    assert "unknown event kind 'bill_held'" in str(err.value)


# ------------------------------------------------------------------ the seed articles


@pytest.mark.parametrize("number, fact", [
    ("003", ("s400_delivered", "RUS", dt.date(2019, 7, 12), "day")),       # CASE 16
    ("004", ("f35_deliveries_suspended", "USA", dt.date(2019, 4, 1), "day")),  # CASE 7
    ("004", ("deadline_set", "USA", dt.date(2019, 6, 7), "day")),          # CASE 14
    ("000", ("bill_held", "USC", dt.date(2019, 11, 14), "day")),           # CASE 22
    ("000", ("summit_us_tur", "USA", dt.date(2019, 11, 13), "day")),       # CASE 21
    ("000", ("tur_defiance", "TUR", dt.date(2019, 11, 15), "day")),        # CASE 24
    ("000", ("wg_meeting", "TUR", dt.date(2019, 11, 15), "day")),          # CASE 25
    ("000", ("s400_delivered", "RUS", dt.date(2019, 7, 1), "month")),      # CASE 16, "July"
    ("000", ("syria_operation", "TUR", dt.date(2019, 10, 1), "month")),    # CASE 18
    ("001", ("caatsa_sanctions", "USA", dt.date(2020, 12, 1), "month")),   # CASE 33
    ("001", ("batch2_talks", "TUR", dt.date(2021, 1, 14), "day")),         # CASE 35
    ("001", ("delivery_accelerated", "RUS", dt.date(2018, 4, 1), "month")),  # CASE 5
    ("002", ("wg_proposed", "TUR", dt.date(2019, 4, 29), "week")),         # CASE 11 (undated)
])
def test_seed_facts_found(coding, number, fact):
    res = ingest(_seed(number), SEED_PUBLISHED[number], coding)
    assert fact in {_key(c) for c in res.candidates}


def test_seed_non_events_are_not_coded(coding):
    # S000: the Putin visit is only planned; sanctions are proposed in a bill, not imposed.
    kinds = {c.event for c in ingest(_seed("000"), SEED_PUBLISHED["000"], coding).candidates}
    assert not kinds & {"summit_rus_tur", "caatsa_sanctions", "s400_activated"}
    # S002: Putin calling delivery a priority is not a delivery; S004: the parade caption.
    for n in ("002", "004"):
        kinds = {c.event for c in ingest(_seed(n), SEED_PUBLISHED[n], coding).candidates}
        assert "s400_delivered" not in kinds


def test_seed_output_is_deterministic_and_reports_unknowns(coding):
    for n, published in SEED_PUBLISHED.items():
        text = _seed(n)
        first = to_yaml(ingest(text, published, coding, source=f"seed {n}"))
        again = to_yaml(ingest(text, published, load_coding(CODING), source=f"seed {n}"))
        assert first == again
        assert isinstance(yaml.safe_load(first), list)
    # S003 misnames CAATSA: the coder reports the unknown name instead of guessing.
    unknown = {u.text for u in ingest(_seed("003"), SEED_PUBLISHED["003"], coding).unknown}
    assert "Countering America's Adversarial Missile Act" in unknown


# ------------------------------------------------------------------ defects found in use (H11)
# Each test below failed before the fix it documents.

# A practice article written for these tests (our own words; no seed text).
WRAP_ARTICLE = [
    "Ankara and Washington trade warnings over Russian missiles",
    "Turkish soldiers stand beside a missile launcher at an air base near the capital "
    "(Photo by Staff/Agency)",
    "The United States formally suspended Turkey from the F-35 programme on 17 July 2019, a "
    "day after the Pentagon briefed allies on the decision. Officials said the removal of "
    "Turkish suppliers would take months.",
    "Russia delivered the first parts of the S-400 system to the Murted air base on 12 July "
    "2019, the Turkish defence ministry said. Turkey has not activated the batteries, officials "
    "in Ankara said on Monday.",
    "On Friday Secretary of State Mike Pompeo warned Ankara that it would face sanctions under "
    "CAATSA if it switched the system on.",
    "Lawmakers in the House passed a bill on Tuesday to punish Turkey over its offensive in "
    "Syria.",
]
WRAP_PUBLISHED = dt.date(2019, 11, 1)       # a Friday: Tuesday is 29 October, Monday the 28th
WRAP_EXPECTED = {
    ("f35_suspended", "USA", dt.date(2019, 7, 17), "day"),
    ("s400_delivered", "RUS", dt.date(2019, 7, 12), "day"),
    ("sanctions_threatened", "USA", dt.date(2019, 11, 1), "day"),
    ("bill_passed_house", "USC", dt.date(2019, 10, 29), "day"),
}


def _comparable(text, res):
    """Candidates without their offsets: evidence as whitespace-normalised text."""
    return sorted((c.date, c.granularity, c.confidence, c.event, c.actor, c.target, c.note,
                   tuple((" ".join(text[e.start:e.end].split()), e.patterns) for e in c.evidence))
                  for c in res.candidates)


def _wrap(paragraphs, width, sep="\n\n"):
    import textwrap
    return sep.join(textwrap.fill(p, width, break_on_hyphens=False) for p in paragraphs)


def test_hard_wrapped_article_gives_the_same_candidates(coding):
    flat = "\n\n".join(WRAP_ARTICLE) + "\n"
    wrapped = _wrap(WRAP_ARTICLE, 60) + "\n"
    assert max(len(x) for x in wrapped.splitlines()) <= 60
    assert wrapped.count("\n") > 15                        # really wrapped
    one_line_each = "\n".join(WRAP_ARTICLE)               # no blank lines, like seeds 001/003
    base = ingest(flat, WRAP_PUBLISHED, coding)
    assert {_key(c) for c in base.candidates} == WRAP_EXPECTED
    for variant in (wrapped, one_line_each, _wrap(WRAP_ARTICLE, 72), _wrap(WRAP_ARTICLE, 45)):
        res = ingest(variant, WRAP_PUBLISHED, coding)
        assert _comparable(variant, res) == _comparable(flat, base)
        # negations and the conditional are still skipped, not lost nor coded
        assert {k.event for k in res.skipped} >= {"s400_activated"}


def test_wrapped_evidence_offsets_point_into_the_original_text(coding):
    wrapped = _wrap(WRAP_ARTICLE, 60)
    res = ingest(wrapped, WRAP_PUBLISHED, coding)
    (c,) = [c for c in res.candidates if c.event == "f35_suspended"]
    (ev,) = c.evidence
    span = wrapped[ev.start:ev.end]
    assert span.startswith("The United States formally suspended") and span.endswith("decision.")
    assert "\n" in span and re.search(r"suspended\s+Turkey\s+from\s+the\s+F-35", span)
    # a skipped match carries the offsets of the matched words themselves
    (sk,) = [k for k in res.skipped if k.event == "s400_activated"]
    assert re.fullmatch(r"activated\s+the\s+batteries", wrapped[sk.start:sk.end])


def test_wrapped_sentence_spans_cross_line_ends():
    text = ("The Pentagon said on Friday that the United\nStates had suspended Turkey from the\n"
            "F-35 programme. It gave no date.\n")         # wrapped at 44 columns
    parts = [(text[a:b], cap) for a, b, cap in split_sentences(text)]
    assert parts == [("The Pentagon said on Friday that the United\nStates had suspended Turkey "
                      "from the\nF-35 programme.", False), ("It gave no date.", False)]


def test_headlines_and_captions_are_short_paragraphs():
    text = ("Turkey defies US warnings over missiles\n\n"             # headline: short, no stop
            "Turkish troops beside a launcher near the capital on a\n"   # caption wrapped on two
            "grey morning (Photo by Staff/Agency)\n\n"                 # lines, credit on line 2
            "Russia delivered the system in July. Officials said the second batch of parts "
            "would follow and that the talks over payment had made progress, though they gave "
            "no figures and no schedule for the remaining launchers and radars\n")
    parts = [(text[a:b], cap) for a, b, cap in split_sentences(text)]
    assert parts[0] == ("Turkey defies US warnings over missiles", True)
    assert parts[1][1] is True and parts[1][0].endswith("(Photo by Staff/Agency)")
    assert ("Russia delivered the system in July.", False) in parts
    assert parts[-1][1] is False          # a long paragraph without a final stop is still text


def test_seed_articles_wrapped_give_the_same_candidates(coding):
    for n, published in SEED_PUBLISHED.items():
        text = _seed(n)
        paragraphs = [p for p in text.splitlines() if p.strip()]
        flat = "\n\n".join(paragraphs)
        wrapped = _wrap(paragraphs, 60)
        assert (_comparable(wrapped, ingest(wrapped, published, coding))
                == _comparable(flat, ingest(flat, published, coding))), n


@pytest.mark.parametrize("text, published, fact", [
    ("Washington suspended Turkey from the F-35 programme on Wednesday.", dt.date(2019, 7, 18),
     ("f35_suspended", "USA", dt.date(2019, 7, 17), "day")),
    ("The United States suspended F-35 deliveries to Turkey on April 1.", dt.date(2019, 6, 10),
     ("f35_deliveries_suspended", "USA", dt.date(2019, 4, 1), "day")),
    ("The Pentagon suspended Turkey from the F\u201135 programme on Wednesday.",  # no-break hyphen
     dt.date(2019, 7, 18), ("f35_suspended", "USA", dt.date(2019, 7, 17), "day")),
    ("The US removed Turkey from the F-35A programme on Wednesday.", dt.date(2019, 7, 18),
     ("f35_suspended", "USA", dt.date(2019, 7, 17), "day")),
])
def test_hyphenated_model_names_are_one_token(coding, text, published, fact):
    res = ingest(text, published, coding)
    assert fact in {_key(c) for c in res.candidates}
    assert not any(u.text.endswith("f-") for u in res.unknown)


def test_unknown_verb_keeps_the_model_name_whole(coding):
    res = ingest("Washington grounded F-35 training for Turkish pilots.", dt.date(2019, 6, 10),
                 coding)
    verbs = {u.text for u in res.unknown if u.kind == "verb"}
    assert verbs == {"grounded f-35"}


def test_model_numbers_are_not_days_of_a_month():
    assert find_dates("Turkey wanted F-35 March deliveries.", dt.date(2019, 6, 10)) == []


@pytest.mark.parametrize("phrase, published, expected, context", [
    ("set a deadline of July 31", dt.date(2019, 6, 10), dt.date(2019, 7, 31), "deadline"),
    ("set a deadline of July 31", dt.date(2019, 8, 5), dt.date(2019, 7, 31), "deadline"),
    ("set a deadline of January 6", dt.date(2019, 11, 15), dt.date(2020, 1, 6), "deadline"),
    ("gave Turkey until 31 July", dt.date(2019, 6, 10), dt.date(2019, 7, 31), "deadline"),
    ("must drop the system by July 31", dt.date(2019, 6, 10), dt.date(2019, 7, 31), "deadline"),
    ("missed the July 31 deadline", dt.date(2019, 8, 5), dt.date(2019, 7, 31), "deadline"),
    ("will deliver the rest in October", dt.date(2019, 11, 15), dt.date(2020, 10, 1), "future"),
    ("is due to visit on March 3", dt.date(2019, 11, 15), dt.date(2020, 3, 3), "future"),
    ("will meet on Friday", dt.date(2019, 6, 10), dt.date(2019, 6, 14), "future"),
    ("had delivered all parts by September", dt.date(2019, 11, 15), dt.date(2019, 9, 1), ""),
    ("delivered the rest in December", dt.date(2019, 11, 15), dt.date(2018, 12, 1), ""),
])
def test_deadline_and_future_dates_do_not_prefer_the_past(phrase, published, expected, context):
    (d,) = find_dates(f"Washington {phrase}.", published)
    assert (d.date, d.context) == (expected, context)


def test_a_deadline_is_dated_when_set_and_its_day_goes_in_the_note(coding):
    text = ("On Friday the acting US defence secretary wrote to his Turkish counterpart and set "
            "a deadline of July 31 for Turkey to drop the Russian system.")
    (c,) = ingest(text, dt.date(2019, 6, 10), coding).candidates
    assert (c.event, c.date, c.granularity) == ("deadline_set", dt.date(2019, 6, 7), "day")
    assert "deadline 2019-07-31" in c.note
    undated = ingest("Washington set Ankara a deadline of July 31 to drop the Russian system.",
                     dt.date(2019, 6, 10), coding)
    (c,) = undated.candidates
    assert (c.date, c.granularity, c.confidence) == (dt.date(2019, 6, 10), "week", "low")
    assert "deadline 2019-07-31" in c.note


def test_a_future_date_does_not_date_a_warning(coding):
    text = "Turkey will face sanctions in January if it keeps the system, Pompeo warned."
    (c,) = ingest(text, dt.date(2019, 11, 15), coding).candidates
    assert (c.event, c.date, c.granularity) == ("sanctions_threatened", dt.date(2019, 11, 15),
                                                "week")


@pytest.mark.parametrize("text, published, date, granularity", [
    ("Ankara proposed a joint working group on the missiles on Monday.", dt.date(2019, 4, 30),
     dt.date(2019, 4, 29), "day"),
    ("Erdogan renewed his proposal to form a working group on the S-400 on Tuesday.",
     dt.date(2019, 6, 13), dt.date(2019, 6, 11), "day"),
    ("Turkey offered to set up a working group with Washington in April.", dt.date(2019, 6, 10),
     dt.date(2019, 4, 1), "month"),
    ("Turkey's defence industry chief said on Monday that Washington had taken no step toward "
     "the joint working group Ankara proposed in April.", dt.date(2019, 6, 10),
     dt.date(2019, 4, 1), "month"),
    ("The technical working group, which Ankara suggested in April, has not met.",
     dt.date(2019, 6, 10), dt.date(2019, 4, 1), "month"),
])
def test_working_group_proposal_wordings(coding, text, published, date, granularity):
    res = ingest(text, published, coding)
    assert ("wg_proposed", "TUR", date, granularity) in {_key(c) for c in res.candidates}
    assert all(c.target == "USA" for c in res.candidates if c.event == "wg_proposed")


def test_working_group_proposal_is_still_negated(coding):
    for text in ("Ankara has not proposed a joint working group.",
                 "The working group Ankara never proposed was discussed on Monday."):
        assert "wg_proposed" not in {c.event for c in
                                     ingest(text, dt.date(2019, 6, 10), coding).candidates}


def test_a_hyphen_at_a_line_end_still_joins_the_word(coding):
    text = ("Turkish forces test-\nfired the S-400 near the Black Sea coast on Friday, officials "
            "in\nAnkara said.\n")
    (c,) = ingest(text, dt.date(2020, 10, 19), coding).candidates
    assert (c.event, c.date) == ("s400_live_test", dt.date(2020, 10, 16))


def test_cli_output_of_a_wrapped_article_stays_one_comment_per_line(coding, tmp_path):
    from sim.cli import main
    article = tmp_path / "article.txt"
    article.write_text(_wrap(WRAP_ARTICLE + ["Erdogan met Zorblat Quennick in Sochi last\nweek."],
                             30), encoding="utf-8")
    res = ingest(article.read_text(encoding="utf-8"), WRAP_PUBLISHED, coding)
    out = to_yaml(res)
    assert all(line.startswith(("#", "-", " ")) or not line for line in out.splitlines())
    assert {u.text for u in res.unknown if u.kind == "name"} >= {"Zorblat Quennick", "Sochi"}
    assert len(yaml.safe_load(out)) == len(WRAP_EXPECTED)
    assert main(["ingest", str(article), "--published", "2019-11-01", "--world",
                 str(ROOT / "scenarios" / "s400" / "world.yaml")]) == 0


# ------------------------------------------------------------------ issue #19: lemmas, lexicon,
# clause analysis, starter, --source, dates, bad input, linear time

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sim import lexicon  # noqa: E402


@pytest.mark.parametrize("text", [
    "The US imposed sanctions.", "The US imposes sanctions.", "The US is imposing sanctions.",
    "Sanctions have been imposed.", "The US will impose a sanction.",
])
def test_a_lemma_matches_every_inflection(text):
    p = lexicon.compile_slots("impose|sanction", {})
    both = lexicon.compile_slots("impose * sanction", {})
    assert lexicon.find_all(p, lexicon.tokens(text))
    if "imposed." not in text:
        assert lexicon.find_all(both, lexicon.tokens(text)) or "have been" in text


@pytest.mark.parametrize("word, lemma", [
    ("blacklisted", "blacklist"), ("telephoned", "telephone"), ("scrapped", "scrap"),
    ("notified", "notify"), ("began", "begin"), ("unloading", "unload"), ("held", "hold"),
    ("deliveries", "delivery"), ("test-fired", "test-fire"), ("Turkey's", "turkey"),
])
def test_lemmas_from_the_installed_lemmatiser(word, lemma):
    assert lemma in lexicon.lemmas(word.lower())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["x", "y", "z", ",", "q"]), min_size=0, max_size=30),
       st.integers(0, 3))
def test_matcher_agrees_with_a_lazy_regex(words, gap):
    """On words without inflections the lemma matcher finds what the equivalent lazy regex
    finds (leftmost, non-overlapping, shortest gaps)."""
    text = " ".join(words)
    p = lexicon.compile_slots(f"x *{gap} y" if gap else "x y", {})
    toks = lexicon.tokens(text)
    got = [(toks[a].start, toks[b - 1].end) for a, b, _ in lexicon.find_all(p, toks)]
    rx = (rf"(?<!\w)x(?:\W+\w+){{0,{gap}}}?\W+y(?!\w)" if gap else r"(?<!\w)x\W+y(?!\w)")
    assert got == [m.span() for m in re.finditer(rx, text)]


def test_lexicon_is_package_data_organised_by_cameo():
    lex = lexicon.load_lexicon()
    assert len(lex.entries) >= 200
    roots = {e.code[:2] for e in lex.entries}
    assert {"01", "02", "03", "04", "05", "06", "08", "10", "11", "12", "13", "15", "16",
            "17", "19"} <= roots
    assert roots <= set(lexicon.CAMEO_ROOTS)
    verbs = sum(len(e.match.split()[0].split("|")) for e in lex.entries)
    assert verbs >= 500          # several hundred verb and phrase forms
    from importlib import resources
    assert resources.files("sim").joinpath("data", "cameo.yaml").is_file()


def test_cameo_mapping_errors_name_line_and_hint(tmp_path):
    p = _write(tmp_path, "actors: []\ncameo:\n  - {code: '999', event: caatsa_sanction, "
                         "actors: [USA], about: ['&NOPE']}\n")
    with pytest.raises(InputError) as err:
        load_coding(p)
    msg = str(err.value)
    assert f"{p}:3:" in msg and "no phrase of the lexicon has CAMEO code '999'" in msg
    assert "did you mean 'caatsa_sanctions'" in msg and "unknown class &NOPE" in msg


@pytest.mark.parametrize("text, published, fact", [
    ("Ankara and Moscow agreed on Monday to bring forward the delivery of the S-400.",
     dt.date(2018, 4, 5), ("delivery_accelerated", "RUS", dt.date(2018, 4, 2), "day")),
    ("Turkey decided to put the S-400 in storage on 3 March 2021.", dt.date(2021, 3, 5),
     ("s400_stored", "TUR", dt.date(2021, 3, 3), "day")),
    ("Russia began to deliver the S-400 on 12 July 2019.", dt.date(2019, 7, 13),
     ("s400_delivered", "RUS", dt.date(2019, 7, 12), "day")),
    ("Washington has stopped shipping F-35 parts to Turkey, officials said on 1 April 2019.",
     dt.date(2019, 4, 2), ("f35_deliveries_suspended", "USA", dt.date(2019, 4, 1), "day")),
])
def test_clause_analysis_keeps_reported_acts(coding, text, published, fact):
    got = {_key(c) for c in ingest(text, published, coding).candidates}
    assert fact in got


@pytest.mark.parametrize("text", [
    "Ankara and Moscow plan to bring forward the delivery of the S-400.",          # intention
    "Ankara and Moscow did not agree to bring forward the delivery of the S-400.",  # negation
    "If Ankara and Moscow agree to bring forward the delivery, Washington will act.",  # cond.
    "Did Ankara and Moscow agree to bring forward the delivery of the S-400?",     # question
    "Russia wants to deliver the S-400 soon.",                                      # intention
    "Turkish officials denied reports that the S-400 had been delivered.",          # denial
    "Photo: Russia delivers the S-400 to Turkey",                                   # caption
])
def test_clause_analysis_refuses_what_did_not_happen(coding, text):
    assert ingest(text, dt.date(2019, 7, 13), coding).candidates == ()


def test_has_stopped_is_not_the_act_it_stopped(coding):
    text = "Washington has stopped shipping F-35 parts to Turkey."
    kinds = {c.event for c in ingest(text, dt.date(2019, 4, 2), coding).candidates}
    assert kinds == {"f35_deliveries_suspended"}


def test_a_named_actor_is_preferred_over_a_pronoun(coding):
    res = ingest("Washington said on Friday it had imposed sanctions on Turkey.",
                 dt.date(2020, 12, 20), coding)
    (c,) = res.candidates
    assert (c.event, c.actor, c.date) == ("caatsa_sanctions", "USA", dt.date(2020, 12, 18))
    assert "pronoun" not in c.note and "default" not in c.note


def test_a_passive_with_an_agent_is_coded_for_the_agent():
    case = {"coding": "disputes", "published": dt.date(2019, 12, 6),
            "text": "Two German diplomats were expelled by Russia on Wednesday."}
    (c,) = ingest_eval.run_case(case).candidates
    assert (c.event, c.actor, c.target, c.date) == ("diplomats_expelled", "RUS", "DEU",
                                                    dt.date(2019, 12, 4))


@pytest.mark.parametrize("phrase, published, expected, granularity", [
    ("next month", dt.date(2019, 12, 18), dt.date(2020, 1, 1), "month"),
    ("next year", dt.date(2019, 12, 18), dt.date(2020, 1, 1), "year"),
    ("next week", dt.date(2019, 12, 18), dt.date(2019, 12, 23), "week"),
    ("this year", dt.date(2019, 12, 18), dt.date(2019, 1, 1), "year"),
    ("earlier this year", dt.date(2019, 12, 18), dt.date(2019, 1, 1), "year"),
])
def test_periods_are_dated_by_their_first_day_and_granularity(phrase, published, expected,
                                                             granularity):
    (d,) = find_dates(f"It happened {phrase}.", published)
    assert (d.date, d.granularity) == (expected, granularity)


def test_an_event_this_year_has_year_granularity(coding):
    (c,) = ingest("Turkey put the S-400 in storage this year, officials said.",
                  dt.date(2021, 5, 10), coding).candidates
    assert (c.event, c.date, c.granularity) == ("s400_stored", dt.date(2021, 1, 1), "year")


def test_source_id_is_carried_and_free_text_gets_a_sources_line(coding):
    text = "Russia delivered the S-400 to Turkey on 12 July 2019."
    out = to_yaml(ingest(text, dt.date(2019, 7, 13), coding, source="WIRE19"))
    assert [e["source"] for e in yaml.safe_load(out)] == ["WIRE19"]
    out = to_yaml(ingest(text, dt.date(2019, 7, 13), coding, source="Wire, Parts arrive, now"))
    assert [e["source"] for e in yaml.safe_load(out)] == ["NEW"]
    line = next(x for x in out.splitlines() if x.startswith("#   NEW: "))
    assert yaml.safe_load(line[len("#   "):]) == {"NEW": {
        "outlet": "Wire", "title": "Parts arrive, now", "published": dt.date(2019, 7, 13)}}


def test_starter_coding_loads_and_codes_with_the_lexicon(tmp_path):
    from sim.coding_starter import guess_code, starter_coding
    from sim.worldfile import load_world
    world = load_world(ROOT / "scenarios" / "s400" / "world.yaml")
    text = starter_coding(world, "world.yaml")
    path = tmp_path / "coding.yaml"
    path.write_text(text, encoding="utf-8")
    coding = load_coding(path, world)
    assert {a.actor for a in coding.names} == set(world.actors)
    mapped = {r.event for r in coding.rules}
    assert {"caatsa_sanctions", "s400_delivered", "sanctions_threatened"} <= mapped
    assert guess_code("caatsa_sanctions") == "163" and guess_code("admin_change") is None
    res = ingest("Washington imposed sanctions on Ankara on 14 December 2020.",
                 dt.date(2020, 12, 15), coding, set(world.events), set(world.actors))
    assert [(c.event, c.actor, c.date) for c in res.candidates] == [
        ("caatsa_sanctions", "USA", dt.date(2020, 12, 14))]


def test_cli_starter_prints_a_coding_file(capsys):
    from sim.cli import main
    assert main(["ingest", "--starter", "--world",
                 str(ROOT / "scenarios" / "s400" / "world.yaml")]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["cameo"]


@pytest.mark.parametrize("content, message", [
    (b"", "the article is empty"),
    (b"   \n\n  ", "the article is empty"),
    (b"Russia\x00delivered", "binary data"),
    (b"\xff\xfe\x00\x01garbage", "binary data"),
    (b"Erdo\xf0an met Putin.", "not UTF-8"),
])
def test_bad_article_files_are_clear_errors(tmp_path, content, message):
    from sim.cli import main
    art = tmp_path / "article.txt"
    art.write_bytes(content)
    with pytest.raises(InputError, match=message):
        from sim.ingest import read_article
        read_article(art)
    assert main(["ingest", str(art), "--published", "2019-11-15", "--world",
                 str(ROOT / "scenarios" / "s400" / "world.yaml")]) == 2


def test_a_20_mb_article_is_refused_at_once(tmp_path, capsys):
    from sim.cli import main
    from sim.ingest import MAX_ARTICLE_BYTES
    art = tmp_path / "big.txt"
    with art.open("wb") as fh:            # sparse: no need to write 20 MB
        fh.truncate(20_000_000)
    assert main(["ingest", str(art), "--published", "2019-11-15", "--world",
                 str(ROOT / "scenarios" / "s400" / "world.yaml")]) == 2
    err = capsys.readouterr()
    assert "too long for one article" in err.err and err.out == ""
    assert MAX_ARTICLE_BYTES < 20_000_000


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_published_out_of_range_is_bad_input(tmp_path, day, capsys):
    from sim.cli import main
    art = tmp_path / "a.txt"
    art.write_text("Russia delivered the S-400 on Friday.", encoding="utf-8")
    try:                      # refused by the argument parser (exit 2) or the command
        code = main(["ingest", str(art), "--published", day, "--world",
                     str(ROOT / "scenarios" / "s400" / "world.yaml")])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert "out of range" in capsys.readouterr().err


def _pathological(n: int) -> str:
    """Dense text: actors and pattern words without a full stop (one long line), then
    ordinary sentences in many short paragraphs: what made the old coder quadratic."""
    unit = ("Russia delivered the S-400 to Turkey and Washington imposed sanctions on Ankara "
            "while Erdogan met Putin and the talks went on ")
    prose = ("Russia delivered the S-400 to Turkey on 12 July 2019, officials said. Turkey did "
             "not activate it.\n\n")
    half = n // 2
    return (unit * (half // len(unit) + 1))[:half] + "\n\n" + (prose * (n // len(prose) + 1))[
        :n - half]


def test_long_sentences_are_cut_into_bounded_pieces():
    from sim.ingest import MAX_SENTENCE
    text = _pathological(100_000)
    spans = split_sentences(text)
    assert max(b - a for a, b, _ in spans) <= MAX_SENTENCE
    covered = sum(len(text[a:b].split()) for a, b, _ in spans)
    assert covered == len(text.split())          # no word lost at a cut


@pytest.mark.slow
def test_ingest_work_is_linear_up_to_1_mb(coding):
    """CPU time for a 1 MB pathological article against a quarter of it: linear work gives a
    ratio near 4, the old quadratic coder about 16; a loose bound of 7 tells them apart."""
    import time

    def cpu(n: int) -> float:
        text = _pathological(n)
        t0 = time.process_time()
        ingest(text, dt.date(2019, 11, 15), coding)
        return time.process_time() - t0

    cpu(20_000)                                  # warm the lexicon and lemma caches
    small, big = cpu(250_000), cpu(1_000_000)
    assert big / small < 7, (small, big)
