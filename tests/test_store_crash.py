"""Crash safety of SQLiteStore: a writer killed with SIGKILL mid-write loses no committed batch.

A child process appends batches (the same number of events to three streams per
batch, one transaction each) in a loop and prints the batch count after each commit.
We kill it with SIGKILL while it is writing, reopen the store, and check that every
batch it reported is there, that nothing half-written is visible (each stream holds
whole batches, all three streams the same number) and that the events are intact.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.store import open_store

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1000
NAMES = ("s0", "s1", "s2")

CHILD = f"""
import sys
from sim.events import Event
from sim.store import SQLiteStore
store = SQLiteStore(sys.argv[1], create=True)
n = 0
while True:
    with store.batch():
        for name in {NAMES!r}:
            base = n * {BATCH}
            store.append(name, [Event(name, base + i + 1, float(base + i + 1), "tick",
                                      data={{"batch": n}}) for i in range({BATCH})], base)
    n += 1
    print(n, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("kill_after, delay", [(1, 0.0), (2, 0.003), (4, 0.007), (8, 0.011)])
def test_sigkill_mid_write_keeps_committed_batches(tmp_path, kill_after, delay):
    path = tmp_path / "crash.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                            text=True, env=env)
    reported = 0
    try:
        for line in proc.stdout:
            reported = int(line)
            if reported >= kill_after:
                break
        # the child is already in its next batch (a batch takes ~10-30 ms): kill it there
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    for line in rest.split():
        reported = max(reported, int(line))
    assert proc.returncode == -signal.SIGKILL
    assert reported >= kill_after
    assert Path(str(path) + "-wal").exists()   # recovery goes through the WAL

    with open_store(path) as store:
        versions = {name: store.version(name) for name in NAMES}
        batches = versions["s0"] // BATCH
        # all-or-nothing batches: every stream has whole batches, the same number of them
        assert set(versions.values()) == {batches * BATCH}
        # at most the one batch that committed before its count was printed
        assert reported <= batches <= reported + 1
        for name in NAMES:
            events = store.read(name)
            assert [e.version for e in events] == list(range(1, batches * BATCH + 1))
            assert all(e.time == float(e.version) and e.kind == "tick"
                       and e.data == {"batch": (e.version - 1) // BATCH} for e in events)
        assert store.verify() == []
