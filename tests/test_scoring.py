"""Forecast scores at rolling origins (sim.scoring, sim score): closed-form checks on a
constant-hazard toy world, discrimination of deliberately wrong models (which the
hindcast's "inside the 5-95% band" check cannot see), in-sample labelling, bad input,
the CLI, and the S-400 tables in docs/s400-model.md."""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.engine import Engine
from sim.errors import InputError
from sim.events import INJECTED, Occurrence
from sim.hindcast import hindcast
from sim.scenario import load_scenario
from sim.scores import bootstrap
from sim.scoring import (
    BASE_RATE,
    MODEL,
    NO_CHANGE,
    format_report,
    load_report,
    load_spec,
    reliability,
    score,
    summarise,
    time_scaled,
)
from sim.seeding import replicate_rng
from sim.worldfile import load_world

START = dt.date(2000, 1, 1)
SRC = "sources: {S: {outlet: O, title: T, published: 2000-01-01}}\n"


def _day(d: int) -> dt.date:
    return START + dt.timedelta(days=d)


def _write_history(path: Path, entries: list[tuple[int, str]]) -> None:
    lines = "".join(f"  - {{date: {_day(d)}, event: {k}, source: S}}\n"
                    for d, k in sorted(entries))
    path.write_text(SRC + "events:\n" + lines)


def _truth(world_file: Path, history: list[tuple[int, str]], end: int, seed: int):
    """One run of the true world from day 0 to ``end``: the "real" history."""
    world = load_world(world_file)
    occ = tuple(Occurrence(time=float(d), kind=k, origin=INJECTED) for d, k in history)
    eng = Engine(world, (), 0.0, float(end), inject=occ)
    return [(int(math.floor(e.time)), e.kind) for e in eng.run(replicate_rng(seed, 0), "truth")
            if e.origin != INJECTED]


# --------------------------------------------------------------------------- constant hazard

P, EVERY, K = 0.25, 30, 30


def _hazard_world(tmp: Path, k: int = K, fitted: str | None = None) -> Path:
    events = "".join(f"  e{i}: {{actor: A}}\n" for i in range(k))
    reviews = "".join(f"  - {{id: r{i}, actor: A, every: {EVERY}, decides: e{i}, "
                      f"probability: {P}}}\n" for i in range(k))
    fit = f"fitted_through: {fitted}\n" if fitted else ""
    (tmp / "world.yaml").write_text(f"world: hazard\nstarts: {START}\n{fit}"
                                    "actors: {A: {name: A}}\nevents:\n" + events
                                    + "reviews:\n" + reviews)
    return tmp / "world.yaml"


def _hazard_case(tmp: Path, origins: list[int], horizons: str, n: int, *, k: int = K,
                 variants: bool = True, fitted: str | None = None, seed: int = 11) -> Path:
    """A world of ``k`` independent events, each decided every 30 days with probability
    1/4; its history is one run of itself (the truth); origins are days 30j + 1, so that
    the true process and a model forked there both tick on exactly the same days of each
    window [origin, origin + h) for the horizons used below."""
    wf = _hazard_world(tmp, k, fitted)
    end = max(origins) + 400
    _write_history(tmp / "history.yaml", _truth(wf, [], end, seed) + [(end, "e0")])
    (tmp / "base.yaml").write_text("name: base\nworld: world.yaml\nhistory: history.yaml\n"
                                   f"fork: {_day(1)}\nhorizon: {_day(2)}\n")
    var = ("variants:\n  - {name: 3x faster, time_scale: 0.3333333333333333}\n"
           "  - {name: 4x slower, time_scale: 4}\n") if variants else ""
    evs = ", ".join(f"e{i}" for i in range(k))
    (tmp / "score.yaml").write_text(
        "scenario: base.yaml\norigins: [" + ", ".join(str(_day(o)) for o in origins) + "]\n"
        f"horizons: {horizons}\nevents: [{evs}]\nreplicates: {n}\nseed: 5\nbootstrap: 200\n"
        + var)
    return tmp / "score.yaml"


def _ticks(h: int, every: float) -> int:
    """Review ticks of a model forked at the origin inside [origin, origin + h)."""
    return math.ceil(h / every) - 1


def test_constant_hazard_model_has_the_hand_computed_brier_score(tmp_path):
    """Horizons 75 and 135 days: the true process (ticks at days 30j, so at origin + 29,
    + 59, ...) and the model forked at the origin (ticks at origin + 30, + 60, ...) both
    tick 2 and 4 times, so the true probability is pi = 1 - (3/4)^k: 0.4375 and 0.68359.
    (1) each model forecast is pi up to Monte Carlo error; (2) its Brier score equals the
    one computed by hand with pi and the realised outcomes; (3) over 240 independent
    question pairs that is near the expected pi (1 - pi), averaged: 0.2312; (4) the
    mis-specified models' expected scores are pi (1 - pi) + (q - pi)^2 with q from their
    own tick counts (x3 faster: every 10 days, 7 and 13 ticks; x4 slower: every 120 days,
    0 and 1 ticks): 0.3661 and 0.4209, and they score near that, worse than the model."""
    origins = [301 + 300 * j for j in range(8)]
    n = 400
    report = score(_hazard_case(tmp_path, origins, "[75d, 135d]", n))
    qs = [q for q in report.questions if q.kind == "by"]
    assert len(qs) == K * len(origins) * 2
    pi = {75: 1 - 0.75 ** 2, 135: 1 - 0.75 ** 4}
    for q in qs:
        se = math.sqrt(pi[q.days] * (1 - pi[q.days]) / n)
        assert abs(q.forecast[MODEL] - pi[q.days]) < 4.5 * se, q
    hand = np.mean([(pi[q.days] - q.outcome) ** 2 for q in qs])
    model = np.mean([(q.forecast[MODEL] - q.outcome) ** 2 for q in qs])
    assert model == pytest.approx(hand, abs=0.004)
    # the expected score, from the closed form
    expected = {}
    for name, every in ((MODEL, 30), ("3x faster", 10), ("4x slower", 120)):
        e = []
        for h, p in pi.items():
            qq = 1 - 0.75 ** _ticks(h, every)
            e.append(p * (1 - p) + (qq - p) ** 2)
        expected[name] = float(np.mean(e))
    assert expected[MODEL] == pytest.approx(0.2312, abs=1e-4)
    assert expected["3x faster"] == pytest.approx(0.3661, abs=1e-4)
    assert expected["4x slower"] == pytest.approx(0.4209, abs=1e-4)
    s = summarise(report, qs)["brier"]
    for name, e in expected.items():
        # 240 independent (event, origin) pairs: standard error of the mean about 0.015
        assert s["mean"][name] == pytest.approx(e, abs=0.05), name
    assert s["mean"][MODEL] < s["mean"]["3x faster"] and s["mean"][MODEL] < s["mean"]["4x slower"]
    # the model's own hazard beats the mis-specified ones, paired over events
    assert s["skill"][("3x faster", BASE_RATE)][0] < s["skill"][(MODEL, BASE_RATE)][0]


def test_baselines_are_computed_from_history_before_the_origin_only(tmp_path):
    origin = 601
    report = score(_hazard_case(tmp_path, [origin], "[75d]", 20, k=3, variants=False))
    hist = load_scenario(tmp_path / "base.yaml").branches[0].history_doc.entries
    for q in report.questions:
        k = sum(1 for e in hist if e.event == q.event and e.date < _day(origin))
        lam = (k + 0.5) / origin
        after = [(e.date - _day(origin)).days for e in hist
                 if e.event == q.event and e.date >= _day(origin)]
        first = min(after) if after else math.inf
        if q.kind == "by":
            assert q.forecast[BASE_RATE] == pytest.approx(1 - math.exp(-lam * 75))
            assert q.forecast[NO_CHANGE] == 0.0
            assert q.outcome == (1.0 if first < 75 else 0.0)
        else:
            assert q.days == 75
            assert q.outcome == (first if first < 75 else None)
            assert q.forecast[NO_CHANGE] == pytest.approx(75 - min(first, 75))


def test_windows_are_half_open_by_date(tmp_path):
    """An event on the origin's date counts; one on origin + h does not."""
    wf = _hazard_world(tmp_path, k=2)
    _write_history(tmp_path / "history.yaml", [(5, "e0"), (100, "e0"), (190, "e1"), (400, "e1")])
    (tmp_path / "base.yaml").write_text(f"name: b\nworld: {wf.name}\nhistory: history.yaml\n"
                                        f"fork: {_day(1)}\nhorizon: {_day(2)}\n")
    (tmp_path / "score.yaml").write_text(f"scenario: base.yaml\norigins: [{_day(100)}]\n"
                                         "horizons: [90d]\nevents: [e0, e1]\nreplicates: 5\n")
    report = score(tmp_path / "score.yaml")
    by = {q.event: q for q in report.questions if q.kind == "by"}
    date = {q.event: q for q in report.questions if q.kind == "date"}
    assert by["e0"].outcome == 1.0 and date["e0"].outcome == 0.0      # on the origin itself
    assert by["e1"].outcome == 0.0 and date["e1"].outcome is None      # day 190 = origin + 90
    # model ticks at origin + 30 and + 60 (not + 90): P = 1 - (3/4)^2 in expectation
    assert report.horizons == ("90d",)


def test_once_events_already_in_history_are_not_asked(tmp_path):
    (tmp_path / "world.yaml").write_text(
        f"world: w\nstarts: {START}\nactors: {{A: {{name: A}}}}\n"
        "events: {go: {actor: A, once: true}, tick: {actor: A}}\n"
        "reviews:\n  - {id: r, actor: A, every: 30, decides: tick, probability: 0.5}\n")
    _write_history(tmp_path / "history.yaml", [(50, "go"), (60, "tick"), (400, "tick")])
    (tmp_path / "base.yaml").write_text("name: b\nworld: world.yaml\nhistory: history.yaml\n"
                                        f"fork: {_day(1)}\nhorizon: {_day(2)}\n")
    (tmp_path / "score.yaml").write_text(
        f"scenario: base.yaml\norigins: [{_day(40)}, {_day(100)}]\nhorizons: [60d]\n"
        "events: [go, tick]\nreplicates: 10\n")
    report = score(tmp_path / "score.yaml")
    asked = {(q.origin, q.event) for q in report.questions}
    assert (_day(40), "go") in asked and (_day(100), "go") not in asked
    assert report.skipped == ((str(_day(100)), "go"),)
    assert "left out: 1" in format_report(report)


# --------------------------------------------------------------------------- discrimination

CHAINS, MEDIAN, SIGMA, PROB = 150, 100, 1.0, 0.9


def _chain_world(tmp: Path) -> Path:
    """``CHAINS`` independent chains: a history-only trigger t_i, then d_i with probability
    0.9 after a lognormal delay (median 100 days, sigma 1)."""
    events = "".join(f"  t{i}: {{actor: A}}\n  d{i}: {{actor: A, once: true}}\n"
                     for i in range(CHAINS))
    rules = "".join(f"  - {{id: c{i}, on: t{i}, then: d{i}, probability: {PROB}, delay: "
                    f"{{lognormal: {{median: {MEDIAN}, sigma: {SIGMA}}}}}}}\n"
                    for i in range(CHAINS))
    wf = tmp / "world.yaml"
    wf.write_text(f"world: chains\nstarts: {START}\nactors: {{A: {{name: A}}}}\nevents:\n"
                  + events + "rules:\n" + rules)
    return wf


def _scaled_set(factor: float) -> str:
    return "set:\n" + "".join(f"  rules.c{i}.delay.median: {MEDIAN * factor}\n"
                              for i in range(CHAINS))


def test_perturbed_models_pass_the_band_check_but_score_worse(tmp_path):
    """The hindcast check ("the real date is inside the simulated 5-95% band") passes a
    model whose delays are all 3x shorter and one whose delays are 4x longer, even when
    history went exactly as the true model's median says: with a 10% chance of "never"
    the 95th percentile is never, and the percentiles are 0.9 Phi(ln 3) = 78% and
    0.9 Phi(-ln 4) = 7.5% (the true model: 45%). Proper scores at rolling origins on a
    history drawn from the true model (150 chains triggered 8 days apart, 6 origins) rank
    the true model first on every score, and the paired bootstrap interval of the 3x
    faster model's Brier skill against the true model lies below 0. (Checked with truth
    seeds 1-8: the ranking held for each; the interval was below 0 for the 3x faster model
    every time, and for the 4x slower one five times in eight, so only the first is
    asserted.)"""
    wf = _chain_world(tmp_path)
    # --- the band check, on a history where chain 0's outcome is the model's median day
    median_day = 1 + MEDIAN
    _write_history(tmp_path / "typical.yaml", [(1, "t0"), (median_day, "d0")])
    for name, factor, pct in (("exact", 1, 45.0), ("fast", 1 / 3, 77.8), ("slow", 4, 7.5)):
        (tmp_path / f"band_{name}.yaml").write_text(
            f"name: {name}\nworld: world.yaml\nhistory: typical.yaml\nfork: {_day(2)}\n"
            f"horizon: {_day(2 + 730)}\nreplicates: 2000\nseed: 3\n"
            + (_scaled_set(factor) if factor != 1 else ""))
        rep = hindcast(tmp_path / f"band_{name}.yaml")
        row = rep.row("d0")
        assert row.in_band and rep.targets_in_band(["d0"]), (name, row.percentile)
        assert row.q95 is None                       # "never": the band has no upper end
        assert row.percentile == pytest.approx(pct, abs=3.0), name
    # --- the scores, on a history drawn from the true model
    triggers = [(8 * i, f"t{i}") for i in range(CHAINS)]
    truth = _truth(wf, triggers, 1700, seed=4)
    hist = triggers + [x for x in truth if x[1].startswith("d")] + [(1700, "t0")]
    _write_history(tmp_path / "history.yaml", hist)
    (tmp_path / "base.yaml").write_text("name: base\nworld: world.yaml\nhistory: history.yaml\n"
                                        f"fork: {_day(100)}\nhorizon: {_day(101)}\n")
    evs = ", ".join(f"d{i}" for i in range(CHAINS))
    (tmp_path / "score.yaml").write_text(
        "scenario: base.yaml\norigins: [" + ", ".join(str(_day(o)) for o in range(201, 1202, 200))
        + f"]\nhorizons: [60d, 120d, 240d]\nevents: [{evs}]\nreplicates: 200\nseed: 9\n"
        "bootstrap: 500\nvariants:\n  - {name: 3x faster, time_scale: 0.3333333333333333}\n"
        "  - {name: 4x slower, time_scale: 4}\n")
    report = score(tmp_path / "score.yaml")
    s = summarise(report, report.questions)
    for metric in ("brier", "log", "crps"):
        m = s[metric]["mean"]
        assert m[MODEL] < m["3x faster"] and m[MODEL] < m["4x slower"], (metric, m)
    by = [q for q in report.questions if q.kind == "by"]
    briers = {f: np.array([q.scores("brier")[f] for q in by]) for f in report.forecasters}
    paired = bootstrap(briers, [q.event for q in by], reference=[MODEL], draws=500, seed=1)
    assert paired["skill"][("3x faster", MODEL)][2] < 0, paired["skill"]
    # and the report says which model the base rate beats
    text = format_report(report)
    assert "3x faster" in text and "4x slower" in text


def test_time_scaled_scales_every_delay_and_period():
    from sim.world import Delay

    w = load_world(Path(__file__).resolve().parent.parent / "scenarios/s400/world.yaml")
    f = time_scaled(w, 4.0)
    for a, b in zip(w.rules, f.rules):
        assert b.delay.mean() == pytest.approx(4.0 * a.delay.mean())
        assert b.probability == a.probability
    for a, b in zip(w.reviews, f.reviews):
        assert b.every == 4.0 * a.every and b.probability == a.probability
    assert f.fitted_through == w.fitted_through == dt.date(2022, 8, 15)
    assert f.rules_on.keys() == w.rules_on.keys()
    d = Delay("triangular", {"low": 1, "mode": 2, "high": 6})
    assert time_scaled(attrs_world(d), 0.5).rules[0].delay.params == {"low": 0.5, "mode": 1.0,
                                                                       "high": 3.0}


def attrs_world(delay):
    from sim.world import EventType, Rule, World
    return World("w", START, {}, {}, {"a": EventType("a"), "b": EventType("b")},
                 (Rule("r", "a", "b", delay=delay),))


# --------------------------------------------------------------------------- in-sample

def test_origins_before_the_fit_date_are_in_sample_and_reported_apart(tmp_path):
    path = _hazard_case(tmp_path, [301, 601], "[75d]", 20, k=3, variants=False,
                        fitted=str(_day(500)))
    report = score(path)
    assert {q.origin: q.in_sample for q in report.questions} == {_day(301): True,
                                                                 _day(601): False}
    text = format_report(report)
    assert "IN-SAMPLE: 1 origin(s)" in text and "OUT-OF-SAMPLE: 1 origin(s)" in text
    # a scoring file may move the fit date later (its scenario's set: was fitted later)...
    path.write_text(path.read_text() + f"fitted_through: {_day(700)}\n")
    assert all(q.in_sample for q in score(path).questions)
    # ...but not earlier than the world's
    path.write_text(path.read_text().replace(str(_day(700)), str(_day(10))))
    assert load_spec(path).fitted_through == _day(500)
    # undeclared: everything in-sample, and the report says why
    (tmp_path / "world.yaml").write_text(
        (tmp_path / "world.yaml").read_text().replace(f"fitted_through: {_day(500)}\n", ""))
    path.write_text(path.read_text().replace(f"fitted_through: {_day(10)}\n", ""))
    rep = score(path)
    assert all(q.in_sample for q in rep.questions)
    assert "does not declare" in format_report(rep)
    assert "no out-of-sample score" in format_report(rep)


def test_verdict_says_when_the_model_does_not_beat_the_base_rate(tmp_path):
    """A model 4x too slow against a history of its true self: the 'model' here is the
    slow one (set on the scenario), so it must be reported as not beating the base rate,
    which has the right hazard almost exactly."""
    path = _hazard_case(tmp_path, [301 + 300 * j for j in range(6)], "[75d, 135d]", 100,
                        variants=False)
    base = tmp_path / "base.yaml"
    base.write_text(base.read_text() + "set:\n" + "".join(
        f"  reviews.r{i}.every: 120\n" for i in range(K)))
    text = format_report(score(path))
    assert "the model is WORSE than the base rate" in text


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("edit,where,words", [
    (("origins: [", "origins: [2001-01-01, 2050-01-01, "), "origins", "after the last history"),
    (("origins: [", "origins: [1999-06-01, "), "origins", "not after the world's start"),
    (("events: [e0", "events: [e0, e9x"), "events", "'e9x' is not an event of world"),
    (("horizons: [75d]", "horizons: [75d, 2000d]"), "origins", "longest horizon runs to"),
    (("horizons: [75d]", "horizons: [75x]"), "horizons", "is not a horizon"),
    (("seed: 5", "seed: 5\ncolour: red"), "colour", "unknown key 'colour'"),
])
def test_bad_scoring_files_exit_2_with_file_and_line_and_write_nothing(tmp_path, capsys, edit,
                                                                      where, words):
    path = _hazard_case(tmp_path, [301, 601], "[75d]", 10, k=3, variants=False)
    text = path.read_text().replace(*edit)
    path.write_text(text)
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if t.startswith(where))
    out = tmp_path / "out"
    assert main(["score", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}:" in err and words in err, err
    assert "Traceback" not in err
    assert not out.exists()
    with pytest.raises(InputError):
        load_spec(path)


def test_a_scenario_given_to_sim_score_is_named_as_such(tmp_path, capsys):
    _hazard_case(tmp_path, [301], "[75d]", 5, k=2, variants=False)
    assert main(["score", str(tmp_path / "base.yaml")]) == 2
    err = capsys.readouterr().err
    assert "this is a scenario, not a scoring file" in err and err.count("\n") == 1


def test_out_folder_that_is_not_a_scoring_output_is_refused(tmp_path, capsys):
    path = _hazard_case(tmp_path, [301], "[75d]", 5, k=2, variants=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert main(["score", str(path), "--out", str(other), "--force"]) == 2
    assert "not a scoring output" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]


def test_cli_score_writes_scores_and_sim_plot_draws_the_reliability_diagram(tmp_path, capsys):
    path = _hazard_case(tmp_path, [301, 601], "[75d, 135d]", 50, k=4, variants=False)
    out = tmp_path / "scores"
    assert main(["score", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "IN-SAMPLE" in text and "base rate" in text and "no change" in text
    report = load_report(out)
    assert report.replicates == 50 and len(report.questions) == 4 * 2 * 3
    data = json.loads((out / "scores.json").read_text())
    assert data["questions"][0]["forecast"].keys() == {MODEL, BASE_RATE, NO_CHANGE}
    assert main(["plot", str(out)]) == 0
    png = Path(capsys.readouterr().out.strip())
    assert png == out / "figures" / "reliability.png" and png.stat().st_size > 5000
    # again without --force: refused, the earlier scores kept
    before = (out / "scores.json").read_bytes()
    assert main(["score", str(path), "--out", str(out), "-n", "5"]) == 2
    assert (out / "scores.json").read_bytes() == before
    assert main(["score", str(path), "--out", str(out), "-n", "5", "--force"]) == 0
    assert load_report(out).replicates == 5


def test_reliability_bins_count_every_binary_question(tmp_path):
    report = score(_hazard_case(tmp_path, [301, 601], "[75d, 135d]", 50, k=4, variants=False))
    rows = reliability(report.questions)
    qs = [q for q in report.questions if q.kind == "by"]
    assert sum(r["count"] for r in rows) == len(qs)
    for r in rows:
        inside = [q for q in qs if r["lo"] <= q.forecast[MODEL] < r["hi"]
                  or (r["hi"] == 1.0 and q.forecast[MODEL] == 1.0)]
        assert r["count"] == len(inside)
        if inside:
            assert r["observed"] == pytest.approx(np.mean([q.outcome for q in inside]))


def test_sim_validate_recognises_a_scoring_file(capsys):
    path = Path(__file__).resolve().parent.parent / "scenarios/s400/score.yaml"
    assert main(["validate", str(path)]) == 0
    assert "scoring file, 6 origins x 26 events x 3 horizons" in capsys.readouterr().out


def test_sim_report_adds_a_scoring_output(tmp_path, capsys):
    import sim

    run = sim.run(Path(__file__).parent / "data" / "mini" / "scenario.yaml", out=tmp_path / "r",
                  replicates=20, executor="serial", progress=False)
    toy = tmp_path / "toy"
    toy.mkdir()
    path = _hazard_case(toy, [301], "[75d]", 20, k=2, variants=False)
    assert main(["score", str(path), "--out", str(tmp_path / "sc")]) == 0
    out = tmp_path / "page.html"
    assert main(["report", str(run.folder), str(tmp_path / "sc"), "--out", str(out)]) == 0
    page = out.read_text()
    assert "<h2>Forecast scores</h2>" in page and "IN-SAMPLE" in page
    assert page.count("data:image/png;base64,") >= 2
    # scores alone are not a report
    capsys.readouterr()
    assert main(["report", str(tmp_path / "sc"), "--out", str(tmp_path / "x.html")]) == 2
    assert "at least one run folder" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_horizons_add_calendar_months_and_days():
    from sim.scoring import Horizon

    assert Horizon(3, "m").end(dt.date(2019, 4, 1)) == dt.date(2019, 7, 1)
    assert Horizon(3, "m").days(dt.date(2019, 4, 1)) == 91
    assert Horizon(1, "m").end(dt.date(2020, 1, 31)) == dt.date(2020, 2, 29)
    assert Horizon(12, "m").end(dt.date(2019, 11, 15)) == dt.date(2020, 11, 15)
    assert Horizon(1, "y").end(dt.date(2020, 2, 29)) == dt.date(2021, 2, 28)
    assert Horizon(90, "d").days(dt.date(2019, 4, 1)) == 90


def test_a_bad_fitted_through_in_a_world_names_its_line(tmp_path):
    wf = _hazard_world(tmp_path, k=1)
    text = wf.read_text().replace("actors:", "fitted_through: soon\nactors:")
    wf.write_text(text)
    with pytest.raises(InputError) as exc:
        load_world(wf)
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if t.startswith("fitted_through"))
    assert f"{wf}:{line}:" in str(exc.value) and "'fitted_through' must be a date" in str(exc.value)
    wf.write_text(text.replace("soon", "2001-05-01"))
    assert load_world(wf).fitted_through == dt.date(2001, 5, 1)


def test_reliability_figure_draws_the_binned_points_and_counts():
    from sim import plots

    rows = [{"lo": 0.0, "hi": 0.1, "count": 50, "forecast": 0.04, "observed": 0.06},
            {"lo": 0.1, "hi": 0.2, "count": 0, "forecast": math.nan, "observed": math.nan},
            {"lo": 0.9, "hi": 1.0, "count": 7, "forecast": 0.95, "observed": 0.71}]
    fig = plots.reliability({"model": rows})
    top, bottom = fig.axes
    line = [ln for ln in top.lines if ln.get_label() == "model"][0]
    assert list(line.get_xdata()) == [0.04, 0.95] and list(line.get_ydata()) == [0.06, 0.71]
    assert sorted(t.get_text() for t in top.texts) == ["50", "7"]
    assert sorted(p.get_height() for p in bottom.patches) == [7, 50]
