"""`sim verify` covers everything a run folder holds (issue 11, item 5).

Each test damages a copy of a small complete run in one way and checks that verify
reports it; a missing or malformed manifest field is a failure, never a skipped check.
"""
from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.verify import verify

MINI = Path(__file__).parent / "data" / "mini" / "scenario.yaml"
COVERED = ("scenario.yaml", "world.yaml", "history.yaml", "outcomes.csv", "replicates.csv")
REQUIRED = ("format", "seed", "replicates", "branches", "counts", "digests", "run_digest",
            "meta_digest", "files")


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "run"
    sim.run(MINI, out=out, replicates=10, executor="serial", progress=False).close()
    return out


@pytest.fixture
def copy(done, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(done, dst)
    return dst


def edit_manifest(folder: Path, fn) -> None:
    path = folder / "manifest.json"
    m = json.loads(path.read_text())
    fn(m)
    path.write_text(json.dumps(m))


def test_an_intact_run_verifies(done):
    assert verify(done, resimulate=3) == []
    r = subprocess.run([sys.executable, "-m", "sim", "verify", str(done)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout


def test_a_flipped_outcome_value_is_found(done, copy):
    """The per-replicate values stored with each stream feed tables, compare and report."""
    con = sqlite3.connect(copy / "events.sqlite")
    (meta,) = con.execute("SELECT meta FROM streams WHERE name = 'mini/2'").fetchone()
    m = json.loads(meta)
    m["outcomes"]["decided"] = 1 - m["outcomes"]["decided"]
    con.execute("UPDATE streams SET meta = ? WHERE name = 'mini/2'", (json.dumps(m),))
    con.commit()
    con.close()
    # the attack is real: what readers report moves
    before = sim.open_run(done).outcome_values("mini")["decided"]
    after = sim.open_run(copy).outcome_values("mini")["decided"]
    assert after[2] == 1 - before[2] and after.mean() != before.mean()
    problems = verify(copy)
    assert any("per-replicate outcome values" in p for p in problems), problems


@pytest.mark.parametrize("name", COVERED)
def test_an_edited_copy_or_table_is_found(copy, name):
    path = copy / name
    path.write_text(path.read_text().replace("0", "1", 1) + "\n")
    problems = verify(copy)
    assert any(f"{name}: changed since the run wrote it" in p for p in problems), problems


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_manifest_field_fails(copy, field):
    edit_manifest(copy, lambda m: m.pop(field))
    problems = verify(copy)
    assert any(f"'{field}' field is missing" in p for p in problems), problems


@pytest.mark.parametrize("field,value", [("digests", []), ("digests", {}),
                                         ("counts", "many"), ("files", {"world.yaml": "x"}),
                                         ("run_digest", None), ("replicates", "10")])
def test_a_malformed_manifest_field_fails(copy, field, value):
    edit_manifest(copy, lambda m: m.__setitem__(field, value))
    problems = verify(copy)
    assert any(f"'{field}' field is not" in p for p in problems), problems


def test_deleting_digests_fails_on_the_command_line(copy):
    edit_manifest(copy, lambda m: m.pop("digests"))
    r = subprocess.run([sys.executable, "-m", "sim", "verify", str(copy)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and "'digests' field is missing" in r.stderr
    assert "Traceback" not in r.stderr and "ok" not in r.stdout


def test_streams_and_counts_against_the_store(copy):
    con = sqlite3.connect(copy / "events.sqlite")
    con.execute("DELETE FROM streams WHERE name = 'same/4'")
    con.execute("INSERT INTO streams(name, parent, fork_version, version, digest, meta) "
                "VALUES ('stray', NULL, 0, 0, NULL, NULL)")
    con.commit()
    con.close()
    edit_manifest(copy, lambda m: m["counts"].__setitem__("failed", 3))
    problems = "\n".join(verify(copy))
    assert "stream same/4: in the manifest but missing from the store" in problems
    assert "stream stray: in the store but not in the manifest" in problems
    assert "counts.failed is 3, the run has 0" in problems


def test_a_manifest_that_is_not_an_object_fails(copy):
    (copy / "manifest.json").write_text("[]")
    problems = verify(copy)
    assert len(problems) == 1 and "damaged manifest" in problems[0]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(COVERED), where=st.floats(0, 1), bit=st.integers(0, 7))
def test_any_flipped_bit_in_a_covered_file_fails(done, tmp_path_factory, which, where, bit):
    folder = tmp_path_factory.mktemp("flip") / "run"
    shutil.copytree(done, folder)
    path = folder / which
    data = bytearray(path.read_bytes())
    i = min(len(data) - 1, int(where * len(data)))
    data[i] ^= 1 << bit
    path.write_bytes(bytes(data))
    assert verify(folder) != []
    shutil.rmtree(folder)


def test_values_read_back_equal_the_table(done):
    """What verify protects is what the tables report (a cross-check, not a tautology:
    the CSV is written once at the end of the run, the values are re-read from the store)."""
    r = sim.open_run(done)
    with open(done / "replicates.csv") as f:
        rows = [row for row in csv.DictReader(f) if row["branch"] == "mini"]
    decided = np.array([float(row["decided"]) for row in rows])
    assert np.array_equal(decided, r.outcome_values("mini")["decided"])
