"""The runner: run folders, closed-form results, common random numbers, executors, resume."""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
from sim import runner
from sim.runner import Run, RunError

MINI = Path(__file__).parent / "data" / "mini" / "scenario.yaml"


def four_se(p: float, n: int) -> float:
    return 4 * math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory) -> Run:
    out = tmp_path_factory.mktemp("runs") / "mini"
    return sim.run(MINI, out=out, replicates=1500, executor="serial", progress=False)


def test_run_folder_is_self_describing(mini_run: Run):
    folder = mini_run.folder
    for name in ("manifest.json", "scenario.yaml", "world.yaml", "history.yaml",
                 "events.sqlite", "outcomes.csv", "replicates.csv"):
        assert (folder / name).is_file(), name
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete"
    assert m["seed"] == 7 and m["replicates"] == 1500
    assert m["branches"] == ["mini", "same", "cautious"]
    assert m["counts"]["failed"] == 0
    assert len(m["digests"]) == 3 * 1500 + 3          # replicates + one prefix per branch
    assert all(len(d) == 64 for d in m["digests"].values())
    assert {"simpy", "numpy", "attrs", "python"} <= set(m["versions"])
    # the folder alone is enough to reopen the run and get the same numbers
    again = sim.open_run(folder)
    assert np.array_equal(again.outcome_values("mini")["decided"],
                          mini_run.outcome_values("mini")["decided"])
    with open(folder / "replicates.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 1500
    assert {r["status"] for r in rows} == {"ok"}


def test_review_closed_form(mini_run: Run):
    # 12 reviews (days 61, 91, ..., 391 are fork + 30k) at p = 0.1
    p = 1 - 0.9 ** 12
    got = np.mean(mini_run.outcome_values("mini")["decided"])
    assert abs(got - p) < four_se(p, 1500)
    # a branch with p = 0.05
    p2 = 1 - 0.95 ** 12
    got2 = np.mean(mini_run.outcome_values("cautious")["decided"])
    assert abs(got2 - p2) < four_se(p2, 1500)


def test_rule_after_review_closed_form(mini_run: Run):
    # decide at review k (day 30k after the fork) with prob 0.9^(k-1) 0.1, then punish with
    # prob 0.5 after an exponential(mean 30) delay that must fall within the remaining days
    p = sum(0.9 ** (k - 1) * 0.1 * 0.5 * (1 - math.exp(-(360 - 30 * k) / 30))
            for k in range(1, 13))
    got = np.mean(mini_run.outcome_values("mini")["punished"])
    assert abs(got - p) < four_se(p, 1500)


def test_time_to_event_is_on_the_review_grid(mini_run: Run):
    t = mini_run.outcome_values("mini")["time_to_decide"]
    occurred = t[np.isfinite(t)]
    assert len(occurred) > 0
    assert np.allclose(occurred % 30, 0) and occurred.min() >= 30 and occurred.max() <= 360


def test_common_random_numbers(mini_run: Run):
    d = mini_run.manifest["digests"]
    # an unchanged branch reproduces the base replicate by replicate
    assert all(d[f"mini/{i}"] == d[f"same/{i}"] for i in range(1500))
    assert sum(d[f"mini/{i}"] != d[f"cautious/{i}"] for i in range(1500)) > 100
    # under CRN a lower hazard can only delay the decision: paired, never earlier
    base = mini_run.outcome_values("mini")["time_to_decide"]
    caut = mini_run.outcome_values("cautious")["time_to_decide"]
    assert np.all(caut >= base)


def test_events_and_outcomes_agree(mini_run: Run):
    ft = mini_run.first_times("mini", "decide")
    vals = mini_run.outcome_values("mini")
    assert np.array_equal(np.isfinite(ft), vals["decided"] == 1.0)
    fork = mini_run.branch("mini").fork
    assert np.allclose(ft[np.isfinite(ft)] - fork,
                       vals["time_to_decide"][np.isfinite(vals["time_to_decide"])])
    ev = mini_run.replicate_events("mini", 0)
    assert ev[0].kind == "arm" and ev[0].origin == "history" and ev[0].source == "T1"
    # the history entry after the fork is not used: the model takes over
    assert not any(e.kind == "talk" for e in ev)


def test_same_seed_same_digests_and_seed_matters(tmp_path):
    a = sim.run(MINI, out=tmp_path / "a", replicates=60, executor="serial", progress=False)
    b = sim.run(MINI, out=tmp_path / "b", replicates=60, executor="serial", progress=False)
    c = sim.run(MINI, out=tmp_path / "c", replicates=60, seed=8, executor="serial",
                progress=False)
    assert a.manifest["run_digest"] == b.manifest["run_digest"]
    assert a.manifest["run_digest"] != c.manifest["run_digest"]


def test_refuses_existing_run_unless_forced(tmp_path):
    sim.run(MINI, out=tmp_path / "r", replicates=5, executor="serial", progress=False)
    with pytest.raises(RunError, match="already holds a complete run"):
        sim.run(MINI, out=tmp_path / "r", replicates=5, executor="serial", progress=False)
    r = sim.run(MINI, out=tmp_path / "r", replicates=6, executor="serial", progress=False,
                force=True)
    assert r.manifest["replicates"] == 6


def test_failing_replicate_is_recorded_not_fatal(tmp_path, monkeypatch):
    from sim.engine import Engine

    real = Engine.run

    def flaky(self, rng, stream):
        if stream.endswith("/3"):
            raise RuntimeError("boom")
        return real(self, rng, stream)

    monkeypatch.setattr(Engine, "run", flaky)
    r = sim.run(MINI, out=tmp_path / "f", replicates=6, executor="serial", progress=False)
    assert r.manifest["status"] == "complete"
    assert r.manifest["counts"]["failed"] == 3          # replicate 3 of each branch
    assert r.failed("mini") == [("mini", 3, "RuntimeError: boom")]
    assert np.isnan(r.outcome_values("mini")["decided"][3])
    assert np.sum(~np.isnan(r.outcome_values("mini")["decided"])) == 5


@pytest.mark.slow
def test_executors_give_identical_digests(tmp_path):
    pytest.importorskip("dask.distributed")
    runs = {ex: sim.run(MINI, out=tmp_path / ex, replicates=300, executor=ex, jobs=2,
                        progress=False)
            for ex in ("serial", "processes", "dask")}
    # a scheduler given by address: workers that may not share the disk send events back
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        runs["dask-remote"] = sim.run(MINI, out=tmp_path / "remote", replicates=300,
                                      scheduler=cluster.scheduler_address, progress=False)
    digests = {ex: r.manifest["digests"] for ex, r in runs.items()}
    assert digests["serial"] == digests["processes"] == digests["dask"] == digests["dask-remote"]
    assert runs["processes"].manifest["executor"] == "processes"
    assert runs["dask"].manifest["executor"] == "dask"
    assert runs["dask-remote"].manifest["executor"] == "dask"


def _streams_in(store: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
        n = con.execute("select count(*) from streams").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_is_incomplete_and_resumes_identically(tmp_path, sig):
    out = tmp_path / "k"
    n = 4000
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(MINI), "-n", str(n),
                             "--out", str(out), "--executor", "serial", "--no-progress"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while _streams_in(out / "events.sqlite") < 200 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] in ("running", "incomplete"), "the run finished before it was killed"
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and b"--resume" in err and m["status"] == "incomplete"
    with pytest.raises(RunError, match="incomplete"):
        Run(out)
    resumed = sim.resume(out, executor="serial", progress=False)
    whole = sim.run(MINI, out=tmp_path / "whole", replicates=n, executor="serial",
                    progress=False)
    assert resumed.manifest["status"] == "complete"
    assert resumed.manifest["digests"] == whole.manifest["digests"]
    assert (out / "outcomes.csv").read_text() == (tmp_path / "whole" / "outcomes.csv").read_text()
    assert runner.verify(out) == []


def test_verify_resimulates_and_detects_tampering(tmp_path):
    r = sim.run(MINI, out=tmp_path / "v", replicates=20, executor="serial", progress=False)
    assert runner.verify(r.folder, resimulate=5) == []
    m = json.loads((r.folder / "manifest.json").read_text())
    m["digests"]["mini/4"] = "0" * 64
    (r.folder / "manifest.json").write_text(json.dumps(m))
    problems = runner.verify(r.folder)
    assert any("mini/4" in p for p in problems)


def test_engine_cache_never_mixes_scenarios():
    """Many scenarios created and dropped in one process: each gets its own engines."""
    import gc

    import attrs

    from sim.runner import simulate_chunk
    from sim.scenario import load_scenario

    expected = {}
    for rep in range(30):
        p = 0.05 if rep % 2 else 0.5
        sc = load_scenario(MINI).replace(replicates=50)
        br = sc.branches[0]
        world = br.world.with_parameters({"reviews.alpha_decides.probability": p})
        sc = attrs.evolve(sc, branches=(attrs.evolve(br, world=world),))
        got = sum(r.values["decided"] for r in simulate_chunk(sc, 0, 0, 50))
        expected.setdefault(p, got)
        assert got == expected[p], f"scenario {rep} got another scenario's engine"
        del sc
        gc.collect()
    assert expected[0.5] > expected[0.05]
