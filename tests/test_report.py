"""`sim report`: one self-contained HTML page, checked as text and rendered in Chromium."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.report import render, write_report

MINI = Path(__file__).parent / "data" / "mini" / "scenario.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    a = sim.run(MINI, out=d / "a", replicates=80, executor="serial", progress=False)
    b = sim.run(MINI, out=d / "b", replicates=80, seed=9, executor="serial", progress=False)
    return a, b


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory) -> Path:
    return write_report(runs, tmp_path_factory.mktemp("html") / "report.html")


def test_report_is_self_contained(page: Path):
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    # nothing to fetch: no external scripts, styles or images
    assert not re.search(r"""(src|href)=['"](https?:)?//""", text)
    assert "<script" not in text
    assert text.count("data:image/png;base64,") >= 3


def test_report_holds_the_comparison(runs, page: Path):
    text = page.read_text()
    # the scenario difference: the second run was seeded 9
    assert re.search(r"<code>seed</code></td><td>7</td>\s*<td>9</td>", text)
    # each outcome's estimate appears, as computed from the run
    est = runs[0].outcomes.summary("mini", "decided")["probability"]
    assert f"{est.mean:.3f} [{est.lo:.3f}, {est.hi:.3f}]" in text
    # each branch against its own control; the second run (seed 9) against the first,
    # unpaired, and the report says why
    assert "<td>compared with</td>" in text and "<td>vs a:mini</td>" in text
    assert "(unpaired)" in text and "seed 9 vs 7" in text
    assert "cannot tell apart" in text            # 'same' is identical to its control
    # outcome labels stand next to their ids, in the report and in outcomes.csv
    assert "<td>punished</td><td>Beta punishes Alpha by the horizon</td>" in text
    assert "days from the fork to Alpha&#x27;s decision" in text
    csv_text = (runs[0].folder / "outcomes.csv").read_text()
    assert csv_text.splitlines()[0].startswith("branch,outcome,label,measure")
    assert "mini,punished,Beta punishes Alpha by the horizon,probability," in csv_text
    # one story per branch per run, with a reason from history
    assert text.count("replicate 0</h3>") == 6
    assert "Test Gazette" in text


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(page: Path, tmp_path: Path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); "
                    ".ci/run installs it")
    shot = tmp_path / "shot.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
           "--window-size=1200,2400", f"--screenshot={shot}", page.resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] >= 2000 and img.shape[1] >= 1100
    gray = img[..., :3].mean(axis=2)
    assert gray.std() > 0.05                       # not a blank page
    # dark text rows and coloured figure pixels are both present
    assert (gray < 0.3).mean() > 0.002
    rgb = img[..., :3]
    coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > 0.25
    assert coloured.mean() > 0.001
    np.save(tmp_path / "ok.npy", np.array([1]))


def test_cli_report(runs, tmp_path: Path):
    import sys

    out = tmp_path / "r.html"
    r = subprocess.run([sys.executable, "-m", "sim", "report", str(runs[0].folder),
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and "Scenario report: mini" in out.read_text()
    assert render([runs[0]]).count("<h3>") == 3


@pytest.fixture(scope="module")
def dropped(tmp_path_factory):
    """The mini scenario plus a branch without its only history entry (Alpha never arms,
    so the review never ticks: P(decided) = 0 against 1 - 0.9**12 = 0.718 in the control)."""
    d = tmp_path_factory.mktemp("drop")
    for f in ("world.yaml", "history.yaml", "scenario.yaml"):
        shutil.copy(MINI.parent / f, d / f)
    (d / "unarmed.yaml").write_text(
        "name: unarmed_control\nextends: scenario.yaml\nbranches:\n"
        "  unarmed: {drop_history: [{event: arm, date: 2020-01-10}]}\n")
    return sim.run(d / "unarmed.yaml", out=d / "run", replicates=60, executor="serial",
                   progress=False)


@pytest.fixture(scope="module")
def dropped_text(dropped) -> str:
    return render([dropped])


def test_report_summary_lists_the_known_large_effect_first(dropped, dropped_text):
    from sim import effects

    text = dropped_text
    summary = text[text.index("<h2>Summary</h2>"):text.index("<h2>Runs</h2>")]
    # the branch against its own control, the large effect first, in plain words
    d = next(x for x in effects.differences(*effects.pairs(dropped)[-1])
             if x.outcome == "decided")
    k = int(round(-d.estimate.mean * 60))
    assert 30 <= k <= 56                         # 60 x 0.718 = 43 expected; all lost
    block = summary[summary.index("<b>unarmed</b> against its control <b>unarmed_control</b>"):]
    first = block[block.index("<li>") + 4:block.index("</li>")]
    assert first.startswith(f"decided: {k / 60 * 100:.1f} percentage points less likely "
                            f"(95% interval ")
    # an unchanged branch has nothing clear
    assert ("<b>same</b> against its control <b>unarmed_control</b> (unarmed_control): no "
            "clear difference") in summary


def test_report_what_differs_shows_drop_history_and_set_values(dropped, dropped_text):
    from sim.compare import columns

    label = {c.branch: lab for c, lab in columns([dropped])}     # as the tables name them
    text = dropped_text
    table = text[text.index("<h2>What differs</h2>"):text.index("<h2>Outcomes</h2>")]
    assert (f"<td>{label['unarmed']}</td><td>{label['unarmed_control']}</td>"
            f"<td><code>drop_history</code></td><td>-</td><td>arm@2020-01-10</td>") in table
    # set: the control's value (from the world, which the control does not set) and the new
    assert (f"<td>{label['cautious']}</td><td>{label['unarmed_control']}</td><td><code>"
            f"set.reviews.alpha_decides.probability</code></td><td>0.1</td><td>0.05</td>"
            ) in table


def test_report_plots_the_effects(dropped_text):
    text = dropped_text
    part = text[text.index("<h2>The effects, plotted</h2>"):
                text.index("<h2>Each branch on its own</h2>")]
    assert "Effect over time: Alpha decides" in part
    assert "Every outcome: unarmed against unarmed_control" in part
    assert "Every outcome: cautious against unarmed_control" in part
