"""The S-400 case content: history, world, baseline, teaching branches and the hindcast.

Checks that the case files load and are internally consistent (every history kind is
in the world, dates are ordered, sources are all cited and can be found), that common
random numbers leave outcomes the change cannot reach equal (replicate i of both branches
uses the same seed), and that the
2019-04-01 hindcast brackets the real dates of its calibration targets. The hindcast's
percentile arithmetic is checked on a tiny world whose answer is known in closed form.
Each teaching branch's stated directions are checked in test_s400_docs.py.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from casefiles import (
    bare_parameter_lines,
    branch_outcomes,
    broken_invariants,
    check_sources,
    missing_header_words,
)

from sim import yamlfile
from sim.engine import Engine
from sim.errors import InputError
from sim.hindcast import TARGETS, format_report, hindcast
from sim.history import load_history
from sim.scenario import load_scenario
from sim.seeding import replicate_rng
from sim.worldfile import load_world

CASE = Path(__file__).resolve().parent.parent / "scenarios" / "s400"
WORLD = CASE / "world.yaml"
HISTORY = CASE / "history.yaml"

# file -> (counterfactual branch, headline outcome, expected sign of counterfactual - control);
# the full list of stated directions is scripts/s400_docs.py's EXPECTED
BRANCHES = {
    "patriot_2017": ("patriot_2017", "contract", -1),
    "no_congress_hold": ("no_congress_hold", "sanctioned_by_2021", +1),
    "wg_accepted_apr2019": ("wg_accepted_apr2019", "f35_suspended_by_2020", -1),
    "crete_model": ("crete_model", "sanctioned", -1),
    "sanction_on_delivery": ("sanction_on_delivery", "batch2_talks", +1),
    "no_syria_shock": ("no_syria_shock", "house_bill", -1),
    "trump_second_term": ("trump_second_term", "batch2_signed", +1),
    "russia_wedge": ("russia_wedge", "batch2_signed", +1),
    "turkey_resells": ("turkey_resells", "still_in_f35", +1),
    "deadline_slips": ("deadline_slips", "f35_suspended_by_2020", -1),
}
N = 400   # replicates per branch for the checks below (the stated directions of every
# teaching branch are checked with 1000 replicates and 95% intervals in test_s400_docs.py)


@pytest.fixture(scope="module")
def world():
    return load_world(WORLD)


@pytest.fixture(scope="module")
def history(world):
    return load_history(HISTORY, world)


# --------------------------------------------------------------------------- files

def test_world_loads_with_the_fixed_vocabulary(world):
    assert set(world.actors) == {"TUR", "USA", "USC", "RUS"}
    assert world.starts == dt.date(2015, 1, 1)
    fixed = """caatsa_enacted contract_signed delivery_accelerated patriot_withdrawn patriot_offered
        patriot_accepted sanctions_threatened deadline_set f35_deliveries_suspended f35_suspended
        f35_removed wg_proposed wg_accepted wg_meeting tur_defiance s400_delivered
        s400_radar_test s400_live_test s400_activated s400_stored syria_operation
        bill_introduced bill_passed_house bill_held bill_committee ndaa_mandate caatsa_sanctions
        sanctions_expanded summit_rus_tur summit_us_tur batch2_talks batch2_signed
        admin_change""".split()
    missing = [k for k in fixed if k not in world.events]
    assert not missing
    assert world.variables["tension"].type == "float"


def test_every_world_parameter_has_a_basis_comment():
    """Each probability / delay / every line in world.yaml carries a comment (its basis)."""
    bare = bare_parameter_lines(WORLD)
    assert not bare, f"world.yaml lines without a basis comment: {bare}"


def test_history_loads_ordered_and_in_range(world, history):
    entries = history.entries
    dates = [e.date for e in entries]
    assert dates == sorted(dates)
    assert all(d >= world.starts for d in dates)
    in_range = [e for e in entries if dt.date(2015, 1, 1) <= e.date <= dt.date(2021, 12, 31)]
    assert len(in_range) >= 30
    assert all(e.event in world.events for e in entries)
    assert all(e.confidence in ("high", "medium", "low") for e in entries)
    assert all(e.note for e in entries)


def test_sources_all_cited_and_all_exist(history):
    check_sources(history)


def test_every_source_can_be_found(history):
    """Each source has an outlet, a publication date and either a title or an identifier; a
    title in [brackets] is our description, so an entry citing such a source without a stable
    identifier is not 'high' confidence; no source points outside the repository."""
    for sid, s in history.sources.items():
        assert s.outlet and s.published > dt.date(2000, 1, 1), sid
        assert s.title or s.identifier, sid
        assert "CASE" not in f"{s.outlet} {s.title} {s.note}", sid
        assert "Public record" not in s.outlet, sid
        assert s.url is None, f"{sid}: no address was verified, so none is given"
    for e in history.entries:
        s = history.sources[e.source]
        if s.title.startswith("[") and not s.identifier:
            assert e.confidence != "high", (e.date, e.event, e.source)


def test_issue_15_codings(history):
    """The entries the review found miscoded now carry their meaning, and the added events
    are present."""
    by = {(e.date.isoformat(), e.event): e for e in history.entries}
    # the promise of no sanctions while the system stays off is not a threat
    assert ("2019-07-25", "sanctions_assurance") in by
    assert ("2019-07-25", "sanctions_threatened") not in by
    # the Shanahan letter is the F-35 deadline, not a sanctions warning
    assert not any(e.event == "sanctions_threatened" and e.date.month == 6 and e.date.year == 2019
                   for e in history.entries)
    # the October 2020 condemnation is a condemnation
    assert ("2020-10-16", "us_condemnation") in by
    assert ("2020-10-16", "sanctions_threatened") not in by
    # a source must not predate the event it reports, unless it is the record that fixed the date
    for e in history.entries:
        if history.sources[e.source].published > e.date + dt.timedelta(days=31):
            raise AssertionError((e.date, e.event, e.source))
    passed = by[("2019-07-31", "deadline_passed")]
    assert passed.source == by[("2019-06-07", "deadline_set")].source
    # the unconfirmed joint mechanism is a claim, not a meeting
    assert ("2019-11-15", "wg_claimed") in by
    assert not any(e.event == "wg_meeting" for e in history.entries)
    for key in [("2018-09-20", "caatsa_precedent"), ("2018-08-01", "other_sanctions"),
                ("2019-10-14", "other_sanctions"), ("2019-10-23", "other_sanctions_lifted"),
                ("2019-12-20", "f35_transfer_barred"), ("2020-02-27", "idlib_crisis"),
                ("2020-02-20", "patriot_requested"), ("2020-01-15", "activation_announced"),
                ("2020-05-15", "activation_slipped"), ("2020-12-23", "ndaa_vetoed"),
                ("2021-01-01", "ndaa_mandate"), ("2021-01-19", "sanctions_review")]:
        assert key in by, key
    assert history.sources["EO13894"].identifier == "Executive Order 13894"


def test_the_repository_stands_alone():
    root = CASE.parent.parent
    bad = []
    for folder in ("scenarios", "docs", "sim", "notebooks"):
        for f in (root / folder).rglob("*"):
            if f.is_file() and f.suffix in (".py", ".md", ".yaml", ".ipynb"):
                text = f.read_text(encoding="utf-8")
                if "shared/" in text or "CASE.md" in text:
                    bad.append(str(f.relative_to(root)))
    assert not bad, bad


def test_seed_articles_are_cited_with_their_dates(history):
    seeds = {"S000": (2019, 11, 15), "S001": (2021, 1, 14), "S002": (2019, 4, 29),
             "S003": (2020, 11, 12), "S004": (2019, 6, 10)}
    for sid, ymd in seeds.items():
        assert history.sources[sid].published == dt.date(*ymd)


def test_a_bad_history_entry_is_one_clear_error(tmp_path, world):
    text = HISTORY.read_text().replace("event: s400_live_test,", "event: s400_live_tset,")
    bad = tmp_path / "history.yaml"
    bad.write_text(text)
    with pytest.raises(InputError) as err:
        load_history(bad, world)
    msg = str(err.value)
    assert "history.yaml" in msg and "s400_live_tset" in msg and "s400_live_test" in msg


@pytest.mark.parametrize("name", ["baseline", "hindcast", *BRANCHES])
def test_scenario_files_load(name):
    s = load_scenario(CASE / f"{name}.yaml")
    assert s.horizon_date == dt.date(2021, 12, 31)
    if name in BRANCHES:
        assert [b.name for b in s.branches] == [f"{name}_control", BRANCHES[name][0]]
        doc = yamlfile.load(CASE / f"{name}.yaml").data
        assert doc["extends"] == "baseline.yaml"
        missing = missing_header_words(CASE / f"{name}.yaml")
        assert not missing, f"{name}.yaml: opening comment lacks {missing}"


def test_baseline_state_at_fork_matches_the_record():
    """On 2019-11-15: delivered, suspended from the F-35, bill held, no sanctions yet."""
    s = load_scenario(CASE / "baseline.yaml")
    b = s.branches[0]
    st = Engine(b.world, b.history, b.fork, b.horizon).state_at_fork
    assert st["s400_delivered"] and not st["in_f35"] and st["bill_held"] and st["syria_op"]
    assert not st["sanctioned"] and not st["live_tested"] and not st["working_group"]
    # tension = minus the Goldstein scores of the US-Turkey events before the fork, each
    # halved every 90 days since it happened (the world's decay): the pastor sanctions and
    # their lifting, the Patriot offer, the F-35 pause, defiance (Apr, Oct; Kalin's is on the
    # fork day), warnings (Apr, Risch in Nov), working-group offers, the deadline, the F-35
    # suspension, conditional assurances (Jul, Oct), the Syria executive order and its
    # lifting, the bill, the House vote and the White House meeting
    scores = [("2015-08-16", 5.6), ("2018-08-01", 8.0), ("2018-11-02", -5.0),
              ("2018-12-18", -5.2), ("2019-04-01", 5.6), ("2019-04-08", 4.0),
              ("2019-04-15", 5.8), ("2019-04-29", -4.0), ("2019-05-29", -4.0),
              ("2019-06-07", 7.0), ("2019-06-10", -4.0), ("2019-07-17", 5.6),
              ("2019-07-25", -3.5), ("2019-10-14", 8.0), ("2019-10-15", 2.0),
              ("2019-10-15", -3.5), ("2019-10-15", 4.0), ("2019-10-23", -5.0),
              ("2019-10-29", 5.8), ("2019-11-13", -2.8), ("2019-11-14", 5.8)]
    # state_at_fork stores the value as of the last event before the fork (Risch, 11-14);
    # a reader at a later time decays it further
    last = dt.date(2019, 11, 14)
    expected = sum(g * 0.5 ** ((last - dt.date.fromisoformat(d)).days / 90) for d, g in scores)
    assert b.world.variables["tension"].half_life == 90
    assert st["tension"] == pytest.approx(expected)


# --------------------------------------------------------------------------- branches

def test_common_random_numbers_leave_pre_intervention_outcomes_equal():
    """Both branches use the same draws, so an outcome the change cannot reach (tension at
    the end of 2019; the resale is on 2020-06-01) is identical replicate by replicate."""
    res = branch_outcomes(CASE / "turkey_resells.yaml", N)
    a, b = res["turkey_resells"], res["turkey_resells_control"]
    assert np.array_equal(a["tension_2019_end"], b["tension_2019_end"])


def test_crete_model_keeps_sanctions_possible():
    res = branch_outcomes(CASE / "crete_model.yaml", N)["crete_model"]
    assert res["activated"].sum() == 0 and res["stored"].min() == 1
    assert 0.1 < res["sanctioned"].mean() < 0.9


# --------------------------------------------------------------------------- hindcast

def test_hindcast_brackets_the_calibration_targets():
    report = hindcast(CASE / "hindcast.yaml", replicates=1000)
    assert report.fork == dt.date(2019, 4, 1)
    for kind in TARGETS:
        row = report.row(kind)
        assert 5 <= row.percentile <= 95, (kind, row.percentile)
        assert row.q05 is not None and row.q05 <= row.actual
    assert report.targets_in_band()
    assert report.row("caatsa_sanctions").actual == dt.date(2020, 12, 14)
    assert report.row("s400_live_test").actual == dt.date(2020, 10, 16)
    text = format_report(report)
    assert "caatsa_sanctions" in text and "all inside the 5-95% band" in text


def _tiny(tmp_path: Path, history_dates: list[str]) -> Path:
    (tmp_path / "world.yaml").write_text(
        "world: tiny\nstarts: 2020-01-01\nactors: {A: {name: A}}\n"
        "state: {done: false}\n"
        "events: {go: {actor: A, effects: {done: true}, once: true}}\n"
        "reviews:\n  - {id: r, actor: A, every: 10, decides: go, when: {done: false},"
        " probability: 0.5}\n")
    entries = "".join(f"  - {{date: {d}, event: go, source: S}}\n" for d in history_dates)
    (tmp_path / "history.yaml").write_text(
        "sources: {S: {outlet: O, title: T, published: 2020-01-01}}\nevents:\n" + entries)
    (tmp_path / "s.yaml").write_text(
        "name: tiny\nworld: world.yaml\nhistory: history.yaml\nfork: 2020-01-01\n"
        "horizon: 2020-01-31\nreplicates: 4000\nseed: 7\n")
    return tmp_path / "s.yaml"


def test_hindcast_percentile_is_the_censored_cdf_at_the_actual_date(tmp_path):
    """Reviews on days 10, 20, 30 with p = 1/2: the first 'go' is on day 10, 20, 30 or never
    with probabilities 1/2, 1/4, 1/8, 1/8. The actual date is day 20 (2020-01-21): the
    percentile is 100 * (1/2 + 1/2 * 1/4) = 62.5; P(by horizon) = 7/8; quantiles: 5% day 10,
    95% never; the CDF is exactly 1/2 at day 10, so the median is not unique: any day from
    10 up to (not incl.) 20 is one, and a sample median lands on day 10 or day 20."""
    report = hindcast(_tiny(tmp_path, ["2020-01-21"]))
    row = report.row("go")
    assert row.p_by_horizon == pytest.approx(7 / 8, abs=0.02)
    assert row.percentile == pytest.approx(62.5, abs=2.0)
    assert row.q05 == dt.date(2020, 1, 11)
    assert row.q50 in (dt.date(2020, 1, 11), dt.date(2020, 1, 21))
    assert row.q95 is None
    assert row.in_band


def test_hindcast_flags_an_event_the_model_is_too_late_for(tmp_path):
    """An actual date before the first review (day 5) has percentile 0: outside the band."""
    report = hindcast(_tiny(tmp_path, ["2020-01-06"]), replicates=200)
    row = report.row("go")
    assert row.percentile == 0.0 and not row.in_band
    assert "OUTSIDE" in format_report(report)


# --------------------------------------------------------------------------- invariants

SCENARIOS = sorted(p.stem for p in CASE.glob("*.yaml")
                   if p.stem not in ("world", "history", "coding", "score"))


def test_the_world_declares_the_rules_of_possibility(world):
    declared = {(i.never, tuple(i.unless or ())) for i in world.invariants}
    assert ("caatsa_sanctions", ("contract_signed",)) in declared
    assert any(i.never == "f35_reinstated" and i.when for i in world.invariants)
    assert len(world.invariants) >= 15


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_impossible_worlds(name):
    """Every branch of every S-400 scenario runs with zero invariant violations (history,
    injections and the model together), replicate by replicate."""
    broken = broken_invariants(CASE / f"{name}.yaml", 150)
    assert not broken, broken[:3]


def test_an_impossible_world_is_caught(world):
    """The check is live: sanctions injected on the fork day of patriot_2017 (before any
    contract and before CAATSA) break both invariants that forbid that, in every replicate,
    at the injected time."""
    s = load_scenario(CASE / "patriot_2017.yaml")
    br = s.branches[0]
    when = float(world.day(dt.date(2017, 6, 1)))   # the fork: nothing has happened yet
    from sim.events import INJECTED, Occurrence
    eng = Engine(br.world, br.history, br.fork, br.horizon,
                 inject=[*br.inject, Occurrence(when, "caatsa_sanctions", INJECTED)],
                 suppress=br.suppress)
    # no contract and no CAATSA yet (the law is injected on 2017-08-02): both break
    expect = {k for k, i in enumerate(world.invariants) if i.never == "caatsa_sanctions"
              and tuple(i.unless) in (("contract_signed",), ("caatsa_enacted",))}
    assert len(expect) == 2
    for i in range(20):
        eng.run(replicate_rng(s.seed, i), f"x/{i}")
        at = {v[0] for v in eng.violations if v[2] == pytest.approx(when)}
        assert at == expect, eng.violations
