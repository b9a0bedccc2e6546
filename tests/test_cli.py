"""The `sim` command end to end, as a user runs it, including wrong input."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MINI = Path(__file__).parent / "data" / "mini"


def sim_cmd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture
def mini(tmp_path) -> Path:
    d = tmp_path / "mini"
    shutil.copytree(MINI, d)
    return d


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    r = sim_cmd("run", str(MINI / "scenario.yaml"), "-n", "30", "--out", str(out),
                "--executor", "serial")
    assert r.returncode == 0, r.stderr
    return out


def test_help_has_examples():
    r = sim_cmd("--help")
    assert r.returncode == 0
    assert "examples:" in r.stdout and "sim run scenarios/s400/baseline.yaml" in r.stdout
    r = sim_cmd("run", "--help")
    assert r.returncode == 0 and "--resume" in r.stdout and "--executor" in r.stdout


def test_run_prints_outcomes_and_folder(mini_run: Path):
    assert (mini_run / "manifest.json").is_file()
    text = (mini_run / "outcomes.csv").read_text()
    assert text.splitlines()[0].startswith("branch,outcome")


def test_show_story_why_verify(mini_run: Path):
    r = sim_cmd("show", str(mini_run), "--replicate", "2", "--as-of", "2020-06-30")
    assert r.returncode == 0, r.stderr
    assert "2020-01-10" in r.stdout and "arm" in r.stdout and "fork 2020-02-01" in r.stdout
    assert "armed = True" in r.stdout
    r = sim_cmd("story", str(mini_run), "--replicate", "2")
    assert r.returncode == 0, r.stderr
    assert "Alpha arms" in r.stdout and "Test Gazette" in r.stdout
    r = sim_cmd("verify", str(mini_run), "--resimulate", "3")
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_run_bad_scenario_exit_2_no_folder(mini: Path, tmp_path: Path):
    text = (mini / "scenario.yaml").read_text().replace("occurs: punish", "occurs: punnish")
    (mini / "scenario.yaml").write_text(text)
    out = tmp_path / "never"
    r = sim_cmd("run", str(mini / "scenario.yaml"), "--out", str(out))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "scenario.yaml:" in r.stderr and "punnish" in r.stderr and "punish" in r.stderr
    assert not out.exists()


def test_run_bad_world_names_world_file(mini: Path, tmp_path: Path):
    text = (mini / "world.yaml").read_text().replace("then: punish", "then: punsh")
    (mini / "world.yaml").write_text(text)
    r = sim_cmd("run", str(mini / "scenario.yaml"), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "world.yaml:" in r.stderr and "did you mean 'punish'" in r.stderr
    assert not (tmp_path / "x").exists()


def test_missing_file_and_bad_arguments(tmp_path: Path):
    r = sim_cmd("run", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "file not found" in r.stderr and "Traceback" not in r.stderr
    r = sim_cmd("run", str(MINI / "scenario.yaml"), "--replicates", "zero")
    assert r.returncode == 2 and "not a whole number" in r.stderr
    r = sim_cmd("show", str(tmp_path))
    assert r.returncode == 2 and "not a run folder" in r.stderr


def test_show_replicate_out_of_range(mini_run: Path):
    r = sim_cmd("show", str(mini_run), "--replicate", "999")
    assert r.returncode == 2 and "out of range" in r.stderr


def test_refuses_to_overwrite_complete_run(mini_run: Path):
    r = sim_cmd("run", str(MINI / "scenario.yaml"), "--out", str(mini_run))
    assert r.returncode == 2 and "--force" in r.stderr


def test_validate(mini: Path):
    r = sim_cmd("validate", str(mini / "scenario.yaml"), str(mini / "world.yaml"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok") == 2
    (mini / "world.yaml").write_text((mini / "world.yaml").read_text()
                                     .replace("probability: 0.1", "probability: 1.1"))
    r = sim_cmd("validate", str(mini / "world.yaml"))
    assert r.returncode == 2 and "world.yaml:" in r.stderr and "1.1" in r.stderr


def test_not_a_store(mini_run: Path, tmp_path: Path):
    bad = tmp_path / "bad"
    shutil.copytree(mini_run, bad)
    (bad / "events.sqlite").write_text("this is not a database\n" * 100)
    for f in bad.glob("events.sqlite-*"):
        f.unlink()
    r = sim_cmd("show", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "events.sqlite" in r.stderr


def test_compare_paired_and_unpaired(mini_run: Path, tmp_path: Path):
    r = sim_cmd("compare", str(MINI / "scenario.yaml"), str(mini_run), "-n", "30",
                "--executor", "serial", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["outcome", "/", "measure"]
    # each branch against its own control; the second run's control against the first run's
    words = lines[1].split()
    first = next(w for w in words if w.endswith(":mini"))
    assert words[0] == "(control)" and words[1::2] == ["vs"] * 5
    assert words[2::2] == [first, first, first, "run:mini", "run:mini"]
    # the unchanged branch 'same' is identical replicate by replicate: a zero paired
    # difference, which is no direction
    start = lines.index("decided")
    diff = next(ln for ln in lines[start:] if ln.strip().startswith("difference"))
    assert diff.split()[1:6] == ["+0.000", "[+0.000,", "+0.000]", "cannot", "tell"]
    # same seed, same replicate count, same history: every difference is paired
    assert "(unpaired)" not in r.stdout and "\npaired:" in r.stdout
    assert (tmp_path / "runs").is_dir()          # the scenario not yet run went to runs/


def test_impossible_date_names_the_line(mini: Path, tmp_path: Path):
    for name in ("scenario.yaml", "world.yaml", "history.yaml"):
        d = tmp_path / name.split(".")[0]
        shutil.copytree(mini, d)
        text = (d / name).read_text()
        text = text.replace("2020-02-01", "2020-02-31").replace("2020-01-01", "2020-01-32")
        text = text.replace("2020-01-10", "2020-13-10")
        (d / name).write_text(text)
        r = sim_cmd("run", str(d / "scenario.yaml"), "--out", str(d / "out"))
        assert r.returncode == 2, (name, r.stderr)
        assert "Traceback" not in r.stderr
        assert f"{name}:" in r.stderr and "not a valid value" in r.stderr, r.stderr
        assert not (d / "out").exists()


def test_ingest_prints_reviewable_candidates(tmp_path: Path):
    art = tmp_path / "article.txt"
    art.write_text("ANKARA (Wire) -- Russia delivered the first S-400 parts to Turkey on "
                   "Friday, officials said.\nTurkey has not yet switched the system on.\n")
    root = Path(__file__).parents[1] / "scenarios" / "s400"
    r = sim_cmd("ingest", str(art), "--published", "2019-07-15", "--world",
                str(root / "world.yaml"), "--source", "Wire, Parts arrive")
    assert r.returncode == 0, r.stderr
    import yaml

    entries = yaml.safe_load(r.stdout)
    assert [(e["event"], str(e["date"]), e["granularity"]) for e in entries] == [
        ("s400_delivered", "2019-07-12", "day")]          # Friday before Monday 15 July
    assert "s400_activated" not in r.stdout               # the negated sentence codes nothing
    r = sim_cmd("ingest", str(art), "--published", "15/07/2019", "--world",
                str(root / "world.yaml"))
    assert r.returncode == 2 and "not a date" in r.stderr


def test_runaway_rule_loop_is_bad_input(mini: Path, tmp_path: Path):
    """Two events that schedule each other at once, for ever: a clear error, no run folder."""
    text = (mini / "world.yaml").read_text().replace("reviews:", """  - id: ping
    on: talk
    then: arm
    probability: 1
  - id: pong
    on: arm
    then: talk
    probability: 1
reviews:""")
    (mini / "world.yaml").write_text(text)
    out = tmp_path / "loop"
    r = sim_cmd("run", str(mini / "scenario.yaml"), "-n", "3", "--out", str(out),
                "--executor", "serial")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and ("ping" in r.stderr or "pong" in r.stderr)
    assert not out.exists()


def test_why_never_occurred_names_replicates_where_it_did(mini_run: Path):
    import numpy as np

    from sim.runner import Run

    with Run(mini_run) as r:
        t = r.first_times("mini", "punish")
    hits = [int(i) for i in np.flatnonzero(np.isfinite(t))]
    miss = int(np.flatnonzero(~np.isfinite(t))[0])
    assert hits, "the fixture run should have some punishments"
    res = sim_cmd("why", str(mini_run), "--replicate", str(miss), "punish")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"Beta punishes Alpha ('punish') never occurred in mini/{miss}."
    listed = ", ".join(str(i) for i in hits[:10]) + (
        f", ... ({len(hits) - 10} more)" if len(hits) > 10 else "")
    assert lines[1] == (f"It occurred in {len(hits)} of 30 replicates of branch mini: "
                        f"{listed} (e.g. --replicate {hits[0]}).")


def test_compare_plot_draws_the_effects(mini_run: Path):
    r = sim_cmd("compare", str(mini_run), "--plot")
    assert r.returncode == 0, r.stderr
    paths = [Path(p) for p in r.stdout.splitlines() if p.endswith(".png")]
    names = sorted(p.name for p in paths)
    # the key events with a difference (decide, punish), and a forest per branch
    assert names == ["effect_decide.png", "effect_punish.png", "forest_cautious.png",
                     "forest_same.png"]
    assert all(p.parent == mini_run / "figures" and p.is_file() for p in paths)
