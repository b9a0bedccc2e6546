"""The Nord Stream 2 case content: history, world, baseline, teaching branches and its page.

Checks that the case files load and are internally consistent (every history entry cites a
source that exists, every source is cited, dates are ordered, the files point nowhere
outside the repository), that every world parameter carries a basis comment, that the
state at the baseline fork matches the record, that each teaching branch moves the outcomes
its header names in the stated direction against its own control (paired: replicate i of
both branches uses the same random numbers), and that the generated branch tables of
docs/nord-stream-model.md are what sim.branchdoc computes today.
"""
from __future__ import annotations

import datetime as dt
import math
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

from sim import branchdoc
from sim.engine import Engine
from sim.history import load_history
from sim.scenario import load_scenario
from sim.seeding import replicate_rng
from sim.worldfile import load_world

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "scenarios" / "nord_stream"
WORLD = CASE / "world.yaml"
HISTORY = CASE / "history.yaml"
DOC = ROOT / "docs" / "nord-stream-model.md"

# file -> [(outcome, expected sign of counterfactual - control)], as each file's header says
BRANCHES = {
    "insurers_early": [("complete_by_2021", -1), ("time_to_completion", +1),
                       ("time_to_resumption", +1)],
    "no_waiver": [("joint_statement", -1), ("friction_end", +1), ("complete_by_2021", -1),
                  ("halted", -1)],
    "certified_late_2021": [("certified", +1), ("gas_flows", +1), ("operator_sanctioned", +1)],
    "allseas_stays": [("time_to_completion", -1), ("complete_by_2021", +1), ("resumed", -1),
                      ("certified", +1), ("gas_flows", +1)],
    "no_escalation": [("halted", -1), ("operator_sanctioned", -1), ("certified", +1),
                      ("gas_flows", +1)],
}
N = 200   # replicates per branch (more where the effect is small): every paired difference
# below is beyond 3 standard errors at these counts
N_FOR = {"no_waiver": 400}
DOC_REPLICATES = 300   # the count the page's tables are generated with (make nord-stream-doc)
TARGETS = ("laying_resumed", "construction_complete", "cert_suspended")   # hindcast targets


@pytest.fixture(scope="module")
def world():
    return load_world(WORLD)


@pytest.fixture(scope="module")
def history(world):
    return load_history(HISTORY, world)


# --------------------------------------------------------------------------- files

def test_world_has_the_case_actors_and_the_sanctions_ladder(world):
    assert {"USA", "USC", "DEU", "RUS", "CON"} <= set(world.actors)
    for kind in ("peesa_enacted", "peesca_enacted", "operator_sanctioned", "operator_waiver",
                 "certification_granted", "certification_halted", "laying_resumed",
                 "construction_complete", "contractor_exit", "insurers_exit"):
        assert kind in world.events, kind


def test_every_world_parameter_has_a_basis_comment():
    bare = bare_parameter_lines(WORLD)
    assert not bare, f"world.yaml lines without a basis comment: {bare}"


def test_history_has_twenty_cited_entries_in_order(world, history):
    entries = history.entries
    assert len(entries) >= 20
    dates = [e.date for e in entries]
    assert dates == sorted(dates) and dates[0] >= world.starts
    assert all(e.note and e.confidence in ("high", "medium") for e in entries)
    check_sources(history)


def test_laws_are_cited_by_public_law_and_section(history):
    titles = {k: s.title for k, s in history.sources.items()}
    assert "Public Law 116-92" in titles["PL116_92"] and "7503" in titles["PL116_92"]
    assert "Public Law 116-283" in titles["PL116_283"] and "1242" in titles["PL116_283"]
    assert "Public Law 115-44" in titles["PL115_44"] and "232" in titles["PL115_44"]


def test_case_files_stand_alone():
    """No file of the case (or its page) points outside the repository or at a URL."""
    for path in [*CASE.glob("*.yaml"), DOC]:
        text = path.read_text()
        assert "../shared" not in text and "CASE" not in text, path
        assert "http://" not in text and "https://" not in text, path


@pytest.mark.parametrize("name", ["baseline", *BRANCHES])
def test_scenario_files_load_with_a_teaching_header(name):
    s = load_scenario(CASE / f"{name}.yaml")
    assert s.horizon_date == dt.date(2022, 6, 30)
    if name == "baseline":
        assert s.fork_date == dt.date(2020, 6, 1)
        return
    assert [b.name for b in s.branches] == [f"{name}_control", name]
    missing = missing_header_words(CASE / f"{name}.yaml")
    assert not missing, f"{name}.yaml: opening comment lacks {missing}"


def test_baseline_state_at_fork_matches_the_record():
    """On 2020-06-01: PEESA is law, the pipe-layer has left with 160 km to go, nothing else
    has happened yet. Friction is PEESA's 2 points (2019-12-20), decayed with its half-life
    of 365 days to the last history event before the fork (2019-12-21): 2 * 0.5**(1/365)."""
    s = load_scenario(CASE / "baseline.yaml")
    b = s.branches[0]
    st = Engine(b.world, b.history, b.fork, b.horizon).state_at_fork
    assert st["peesa_law"] and st["contractors_out"] and st["unbundling_rules"]
    assert st["permits_complete"] and st["caatsa_law"]
    assert not st["peesca_law"] and not st["resumed"] and not st["complete"]
    assert st["km_left"] == 160.0
    assert st["friction"] == pytest.approx(2.0 * 0.5 ** (1 / 365))


def test_construction_completes_exactly_when_the_pipe_is_laid():
    """Completion follows the eighth 20 km section (160 km), never earlier, and no ninth
    section is ever laid (a finished pipe is not laid further)."""
    s = load_scenario(CASE / "baseline.yaml")
    b = s.branches[0]
    eng = Engine(b.world, b.history, b.fork, b.horizon)
    for i in range(40):
        events = [*eng.prefix, *eng.run(replicate_rng(s.seed, i), f"b/{i}")]
        kinds = [e.kind for e in events]
        if "construction_complete" in kinds:
            laid = kinds[:kinds.index("construction_complete")].count("section_laid")
            assert laid == 8
        assert kinds.count("section_laid") <= 8


# --------------------------------------------------------------------------- branches

@pytest.mark.parametrize("name,outcome,sign",
                         [(f, o, s) for f, pairs in BRANCHES.items() for o, s in pairs])
def test_branch_moves_its_outcomes_in_the_stated_direction(name, outcome, sign):
    res = branch_outcomes(CASE / f"{name}.yaml", N_FOR.get(name, N))
    window = float(load_scenario(CASE / f"{name}.yaml").branches[0].horizon
                   - load_scenario(CASE / f"{name}.yaml").branches[0].fork)
    a, b = res[name][outcome], res[f"{name}_control"][outcome]
    a, b = np.minimum(a, window), np.minimum(b, window)   # time_to: restricted to the window
    d = a - b
    mean, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
    assert sign * mean > 0, f"{name}: {outcome} moved {mean:+.3f}, expected sign {sign:+d}"
    assert abs(mean) > 3 * se, f"{name}: {outcome} {mean:+.3f} is within 3 SE ({se:.3f})"


def test_a_change_after_the_fork_leaves_earlier_outcomes_equal():
    """no_waiver changes nothing before 2021-05-19, so the resumption (which depends on
    nothing the waiver touches) is identical replicate by replicate."""
    res = branch_outcomes(CASE / "no_waiver.yaml", N_FOR["no_waiver"])
    assert np.array_equal(res["no_waiver"]["time_to_resumption"],
                          res["no_waiver_control"]["time_to_resumption"])


# --------------------------------------------------------------------------- the page

def test_the_page_tables_are_what_the_generator_computes():
    files = [CASE / f"{name}.yaml" for name in BRANCHES]
    expected = branchdoc.markdown(files, DOC_REPLICATES, CASE / "baseline.yaml", TARGETS)
    assert branchdoc.current(DOC) == expected.strip()


def test_the_page_score_tables_are_current():
    from sim.scoredoc import block
    from sim.scoredoc import markdown as score_markdown
    from sim.scoring import score

    text = DOC.read_text()
    a, b = block(text, DOC)
    report = score(CASE / "score.yaml")
    expected = score_markdown(report)
    assert text[a:b].strip() == expected.strip(), \
        "docs/nord-stream-model.md is out of date: run `make nord-stream-doc`"
    # the page's reading of the table: the model beats the base rate on the events that
    # happened inside the windows
    for event in ("peesca_introduced", "peesca_enacted", "laying_resumed", "insurers_exit",
                  "operator_waiver"):
        qs = [q for q in report.questions if q.event == event and q.kind == "by"]
        assert any(q.outcome for q in qs), event
        mean = {f: np.mean([q.scores("brier")[f] for q in qs]) for f in ("model", "base rate")}
        assert mean["model"] < mean["base rate"], (event, mean)


@pytest.mark.parametrize("name", ["baseline", *BRANCHES])
def test_no_invariant_is_ever_broken(name):
    """The world's invariants hold in every replicate of every branch (history included)."""
    s = load_scenario(CASE / f"{name}.yaml")
    assert len(s.branches[0].world.invariants) >= 5
    broken = broken_invariants(CASE / f"{name}.yaml", 60)
    assert not broken, broken[:3]


def test_an_invariant_violation_is_caught(tmp_path):
    """The check is live: injecting gas flows without a certificate breaks an invariant."""
    text = (CASE / "baseline.yaml").read_text().replace(
        "world: world.yaml", f"world: {WORLD}").replace("history: history.yaml",
                                                       f"history: {HISTORY}")
    text += "inject: [{date: 2020-07-01, event: gas_flows, note: test}]\n"
    (tmp_path / "bad.yaml").write_text(text)
    s = load_scenario(tmp_path / "bad.yaml")
    br = s.branches[0]
    eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject)
    eng.run(replicate_rng(s.seed, 0), "bad/0")
    names = [br.world.invariants[k].never for k, _, _ in eng.violations]
    assert "gas_flows" in names


def test_hindcast_brackets_the_calibration_targets():
    """From 2020-06-01, the real resumption, completion and suspension dates fall between the
    5th and 95th percentile of the simulated first dates."""
    from sim.hindcast import hindcast

    report = hindcast(CASE / "baseline.yaml", replicates=400)
    for kind in TARGETS:
        row = report.row(kind)
        assert 5 <= row.percentile <= 95, (kind, row.percentile)
    assert report.row("construction_complete").actual == dt.date(2021, 9, 10)


def test_the_coding_dictionaries_code_the_milestones():
    """`sim ingest` with scenarios/nord_stream/coding.yaml on a short text of our own: each
    milestone sentence becomes one candidate of the right kind and actor, the negated one is
    skipped, and every event kind the dictionaries name exists in the world."""
    from sim.ingest import default_coding_path, ingest, load_coding

    world = load_world(WORLD)
    coding = load_coding(default_coding_path(WORLD), world)
    text = ("Berlin halted the certification of Nord Stream 2 on Tuesday.\n\n"
            "The United States imposed sanctions on the Russian pipe-laying vessel Fortuna in "
            "January. The State Department waived sanctions on the operator in May.\n\n"
            "Germany's energy regulator suspended the certification process in November.\n\n"
            "Gazprom completed construction of the pipeline in September.\n\n"
            "The United States did not impose sanctions on the operator in 2020.\n")
    res = ingest(text, dt.date(2022, 2, 23), coding, set(world.events), set(world.actors))
    got = sorted((c.event, c.actor) for c in res.candidates)
    assert got == sorted([("certification_halted", "DEU"), ("vessel_sanctions", "USA"),
                          ("operator_waiver", "USA"), ("cert_suspended", "DEU"),
                          ("construction_complete", "RUS")])
    halted = next(c for c in res.candidates if c.event == "certification_halted")
    assert halted.date == dt.date(2022, 2, 22)          # "on Tuesday" before a Wednesday
    assert any(s.event == "operator_sanctioned" and "negated" in s.reason for s in res.skipped)


def test_the_page_counts_match_the_files(world, history):
    """The counts the page's file table and text quote are those of the files."""
    text = DOC.read_text()
    baseline = load_scenario(CASE / "baseline.yaml")
    teaching = [p for p in CASE.glob("*.yaml") if p.stem in BRANCHES]
    assert f"| {len(history.entries)} dated entries" in text
    assert f"with {len(baseline.outcomes)} outcomes" in text
    assert f"| {len(teaching)} teaching files" in text and len(teaching) == len(BRANCHES)
    assert f"The model has {_words(len(world.actors))} actors" in text
    assert f"{_words(len(world.actors))} actors (5 that decide)" in text
    from sim.scoring import load_spec

    spec = load_spec(CASE / "score.yaml")
    assert f"forecasts of {len(spec.events)} milestones" in text
    assert f"at {_words(len(spec.origins))} origins" in text


def _words(n: int) -> str:
    return {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}.get(n, str(n))


@pytest.mark.parametrize("path", sorted(CASE.glob("*.yaml")), ids=lambda p: p.name)
def test_every_case_file_validates(path, capsys):
    from sim.cli import main

    assert main(["validate", str(path)]) == 0
    assert ": ok (" in capsys.readouterr().out
