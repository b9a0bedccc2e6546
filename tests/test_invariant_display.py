"""Broken invariants where results are read: the outcome table (text, HTML, outcomes.csv),
``sim compare`` and the report; and intervals that exclude 0 never printed with an end 0.

The world in tests/data/breaches breaks invariant #1 exactly when its event ``bad`` occurs:
a review ticks 6 times between the fork and the horizon, each time doing ``bad`` with
probability p (once), and nothing grants the permit the invariant asks for. So the share
of replicates that break it is 1 - (1 - p)^6, and the replicates that break it are exactly
those whose ``bad`` outcome is 1 in replicates.csv.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import cli, compare, effects, outcomes, plots
from sim.invariants import ANY_ROW, FLAG, ONE_ROW
from sim.runner import open_run

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "breaches"
N = 400
TICKS = 6                                           # days 61, 91, ..., 211 (fork 31)
P = {"breaches": 0.1, "safer": 0.0, "riskier": 0.3}  # goes_bad's probability per branch


def run_cli(capsys, folder: Path, scenario: Path = DATA / "scenario.yaml", n: int = N) -> str:
    assert cli.main(["run", str(scenario), "-n", str(n), "--out", str(folder),
                     "--executor", "serial", "--no-progress"]) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inv") / "run"
    assert cli.main(["run", str(DATA / "scenario.yaml"), "-n", str(N), "--out", str(folder),
                     "--executor", "serial", "--no-progress"]) == 0
    return open_run(folder)


def bad_replicates(folder: Path) -> dict[str, list[int]]:
    """Per branch, the replicates whose `bad` outcome is 1, read from replicates.csv."""
    out: dict[str, list[int]] = {}
    with (folder / "replicates.csv").open() as f:
        for row in csv.DictReader(f):
            out.setdefault(row["branch"], [])
            if row["status"] == "ok" and row["bad"] == "1":
                out[row["branch"]].append(int(row["replicate"]))
    return out


def test_the_table_counts_exactly_the_replicates_that_broke_it(broken_run):
    r = broken_run
    bad = bad_replicates(r.folder)
    # the store's own per-replicate records name the same replicates
    stored: dict[str, list[int]] = {}
    for info in r.store.iter_infos():
        m = info.meta
        if "replicate" in m and m.get("broken"):
            assert m["broken"] == [0]                # invariant #2 always holds
            stored.setdefault(m["branch"], []).append(m["replicate"])
    assert {b: sorted(v) for b, v in stored.items()} == {b: v for b, v in bad.items() if v}
    rows = {(x["branch"], x["outcome"]): x for x in r.outcomes.rows()}
    csv_rows = {(x["branch"], x["outcome"]): x
                for x in csv.DictReader((r.folder / "outcomes.csv").open())}
    for branch, p in P.items():
        k = len(bad[branch])
        row = rows[(branch, ANY_ROW)]
        assert round(row["estimate"] * row["n"]) == k and row["n"] == N
        assert float(csv_rows[(branch, ANY_ROW)]["estimate"]) * N == pytest.approx(k)
        expected = 1 - (1 - p) ** TICKS               # closed form
        se = math.sqrt(max(expected * (1 - expected), 1e-12) / N)
        assert abs(k / N - expected) <= 4 * se, (branch, k / N, expected)
        one = (branch, ONE_ROW.format(1))
        if k:
            first = min(bad[branch])
            assert rows[one]["label"].endswith(f"first: replicate {first}")
            assert csv_rows[one]["label"] == rows[one]["label"]
            assert round(rows[one]["estimate"] * N) == k
            assert row["label"] == f"any of 2 invariants; first: replicate {first}"
        else:
            assert one not in rows and row["estimate"] == 0 and row["lo"] == 0
        assert (branch, ONE_ROW.format(2)) not in rows   # never broken: no row
    # the manifest says the same
    for branch, inv in r.manifest["invariants"].items():
        assert inv[0]["broken"] == len(bad[branch]) and inv[1]["broken"] == 0
        assert inv[0]["first"] == (min(bad[branch]) if bad[branch] else None)


def test_the_text_table_shows_the_breaking_branches_and_names_the_first(broken_run):
    r = broken_run
    bad = bad_replicates(r.folder)
    text = str(r.outcomes)
    lines = text.splitlines()
    inv_rows = [x for x in lines if ANY_ROW in x]
    assert [x.split()[0] for x in inv_rows] == ["breaches", "riskier"]   # not safer
    assert not any("(invariant #" in x for x in lines)   # single invariants: in the notes
    notes = lines[lines.index(next(x for x in lines if x.startswith(FLAG))):]
    assert all(len(x) <= 80 for x in notes)
    joined = " ".join(x.strip() for x in notes)
    for branch in ("breaches", "riskier"):
        k, first = len(bad[branch]), min(bad[branch])
        assert (f"{branch}: #1 (never bad unless permit) broken in {k} of {N} replicates "
                f"({k / N:.1%}); first: replicate {first}") in joined
    assert "safer: all 2 held in all 400 replicates" in joined
    assert "INVARIANTS BROKEN in 2 of 3 branches" in joined
    html = r.outcomes._repr_html_()
    assert ANY_ROW in html and "first: replicate" in html


def test_all_held_is_one_line_and_no_invariants_changes_nothing(tmp_path, capsys):
    folder = tmp_path / "held"
    for f in ("history.yaml", "scenario.yaml"):
        (folder / f).parent.mkdir(exist_ok=True)
        (folder / f).write_text((DATA / f).read_text())
    (folder / "world.yaml").write_text((DATA / "world.yaml").read_text()
                                       .replace("probability: 0.1", "probability: 0.0"))
    (folder / "scenario.yaml").write_text((DATA / "scenario.yaml").read_text()
                                          .replace("probability: 0.3}", "probability: 0.0}"))
    out = run_cli(capsys, tmp_path / "run", folder / "scenario.yaml", 20)
    inv = [x for x in out.splitlines() if "invariant" in x]
    assert inv == ["invariants: all 2 held in all 20 replicates of every branch"]
    assert FLAG not in out
    r = open_run(tmp_path / "run")
    csv_rows = list(csv.DictReader((r.folder / "outcomes.csv").open()))
    assert [x["estimate"] for x in csv_rows if x["outcome"] == ANY_ROW] == ["0"] * 3
    assert "invariants: all held in every replicate of every column." in \
        str(compare.compare_runs([r]))
    # a world without invariants: no line, no row
    out = run_cli(capsys, tmp_path / "mini", ROOT / "tests" / "data" / "mini" /
                  "scenario.yaml", 20)
    assert "invariant" not in out
    assert "invariant" not in (tmp_path / "mini" / "outcomes.csv").read_text()


def test_compare_flags_every_difference_involving_a_breaking_branch(broken_run, tmp_path):
    r = broken_run
    bad = bad_replicates(r.folder)
    table = compare.compare_runs([r])
    text = str(table)
    row = next(x for x in text.splitlines() if x.strip().startswith("replicates"))
    assert re.findall(r"(\d+) of 400", row) == [str(len(bad[b])) for b in P]
    assert row.count(FLAG) == 2                      # breaches and riskier, not safer
    # every difference is against `breaches`, which broke it: all are flagged
    assert table.differences and all(d.caution for d in table.differences)
    for d in table.differences:
        assert f"invariants broken in {len(bad['breaches'])} of {N} replicates " \
               f"(first: replicate {min(bad['breaches'])})" in d.caution
        assert d.cell().endswith(FLAG) and FLAG in d.words()
    rk = [d for d in table.differences if d.branch == "riskier"]
    assert all(f"in {len(bad['riskier'])} of {N}" in d.caution for d in rk)
    sf = [d for d in table.differences if d.branch == "safer"]
    assert all("'breaches:safer'" not in d.caution for d in sf)   # safer itself held
    path = table.to_csv(tmp_path / "d.csv")
    notes = [x["note"] for x in csv.DictReader(path.open())]
    assert notes and all("invariants broken" in n for n in notes)
    assert f"#1 (never bad unless permit) in {len(bad['riskier'])} of {N}" in text


def test_report_warns_in_its_summary_table_and_section(broken_run):
    from sim.report import render

    html = render([broken_run])
    summary = html.split("<h2>Runs</h2>")[0]
    assert "<p class='flag'>[!] Invariants broken" in summary
    assert summary.count("<span class='flag'>") == 2      # safer and riskier vs breaches
    assert "<td class='flag'>" in html and "<h2>Invariants</h2>" in html
    assert "never bad unless permit" in html.split("<h2>Invariants</h2>")[1]


def test_a_report_of_runs_where_all_held_has_no_flag(tmp_path, capsys):
    from sim.report import render

    run_cli(capsys, tmp_path / "pat", ROOT / "scenarios" / "s400" / "patriot_2017.yaml", 10)
    html = render([open_run(tmp_path / "pat")])
    assert "class='flag'" not in html and "<span class='flag'>" not in html
    assert "invariants: all 20 held in all 10 replicates of every branch" in html


# --------------------------------------------------------------------------- 0 never shown

def _ends(text: str) -> list[float]:
    m = re.search(r"\[([^,\]]+), ([^\]]+)\]", text)
    return [float(m.group(1).replace(" days", "")), float(m.group(2))]


finite = st.floats(min_value=1e-9, max_value=1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(near=finite, far=finite, negative=st.booleans())
def test_an_interval_excluding_0_never_prints_an_end_as_0(near, far, negative):
    lo, hi = sorted((near, near + far))
    if negative:
        lo, hi = -hi, -lo
    e = outcomes.Estimate((lo + hi) / 2, lo, hi, 100, "difference")
    for text in (outcomes.fmt_interval(lo, hi), str(e), compare._iv(e, True)):
        assert all(x != 0 for x in _ends(text)), text
    for kind, stat in (("probability", "probability"), ("days", "restricted_mean_days"),
                       ("mean", "mean")):
        d = compare.Difference("o", "O", "occurs", stat, kind, "b", "c", e, True)
        assert all(x != 0 for x in _ends(d.cell())), d.cell()
        m = re.search(r"95% interval (\S+) to ([^\s,)]+)", effects.words(d))
        assert float(m.group(1)) != 0 and float(m.group(2)) != 0, effects.words(d)
        m = re.search(r"\[([^,]+), ([^\]]+)\]", d.words())
        assert float(m.group(1)) != 0, d.words()


def test_the_forest_plot_shows_a_barely_clear_interval_with_enough_digits():
    from test_plots import texts

    rows = [("barely below 0", -0.02, -0.04, -0.0004, "probability"),
            ("clear", 0.2, 0.1, 0.3, "probability"),
            ("unclear", 0.0, -0.1, 0.1, "probability"),
            ("days", -3.0, -6.0, -0.002, "days")]
    shown = [t for t in texts(plots.forest(rows)) if t.startswith(("+", "-"))]
    # percentage points: -0.04 to -0.0004 is [-4.0, -0.0] at one decimal
    assert "-2.00 [-4.00, -0.04]" in shown
    assert "+20.0 [+10.0, +30.0]" in shown                  # the usual one decimal
    assert "-3 [-6, -0.002]" in shown
    assert not any(re.search(r"[-+]0(\.0+)?\]", t) for t in shown
                   if "cannot tell" not in t)
