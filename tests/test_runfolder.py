"""Run folders under attack: --force, report --out, the writer lock, workers that outlive
their run, resume of a changed model, damaged runs, read-only runs (issue 11, items 1-4, 6-8).

Everything destructive happens in temporary folders.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import sim
from sim import runfolder
from sim.runfolder import FolderLock, LockedError, Run, RunError

MINI = Path(__file__).parent / "data" / "mini" / "scenario.yaml"


def sim_cmd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def small_run(folder: Path, n: int = 12, **kw) -> Run:
    return sim.run(MINI, out=folder, replicates=n, executor="serial", progress=False, **kw)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> Path:
    """A complete run; tests copy it before changing anything."""
    out = tmp_path_factory.mktemp("done") / "run"
    small_run(out).close()
    return out


@pytest.fixture
def copy(done, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(done, dst)
    return dst


# --------------------------------------------------------------------------- 1. --force


def test_force_never_deletes_a_folder_that_is_not_a_run(tmp_path):
    user = tmp_path / "u"
    user.mkdir()
    (user / "thesis.txt").write_text("four years of work")
    r = sim_cmd("run", str(MINI), "-n", "5", "--out", str(user), "--force",
                "--executor", "serial")
    assert r.returncode == 2, r.stderr
    assert "not a run folder" in r.stderr and "--force" not in r.stderr
    assert "Traceback" not in r.stderr
    assert snapshot(user) == {"thesis.txt": b"four years of work"}
    # without --force the refusal does not suggest it either
    r = sim_cmd("run", str(MINI), "-n", "5", "--out", str(user), "--executor", "serial")
    assert r.returncode == 2 and "--force" not in r.stderr


def test_force_refuses_the_current_folder_and_its_parents(copy):
    before = snapshot(copy.parent)
    figures = copy / "figures"
    figures.mkdir()
    # the current folder is a run folder of ours: still refused, as are its parents
    for cwd, out in ((copy, "."), (figures, ".."), (figures, str(copy)),
                     (figures, str(copy.parent))):
        r = sim_cmd("run", str(MINI), "-n", "5", "--out", out, "--force",
                    "--executor", "serial", cwd=cwd)
        assert r.returncode == 2, (out, r.stderr)
        assert "current folder" in r.stderr, r.stderr
    # a symbolic link to the current folder is the current folder
    (copy.parent / "link").symlink_to(copy)
    r = sim_cmd("run", str(MINI), "-n", "5", "--out", str(copy.parent / "link"), "--force",
                "--executor", "serial", cwd=copy)
    assert r.returncode == 2 and "current folder" in r.stderr
    figures.rmdir()
    (copy.parent / "link").unlink()
    assert snapshot(copy.parent) == before


def test_force_replaces_only_a_run_folder_holding_only_what_sim_wrote(copy):
    (copy / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="files sim did not write.*notes.txt"):
        small_run(copy, n=6, force=True)
    assert (copy / "notes.txt").read_text() == "mine"
    assert json.loads((copy / "manifest.json").read_text())["replicates"] == 12
    (copy / "notes.txt").unlink()
    # figures written by sim plot are ours; a run folder is replaced with --force
    (copy / "figures").mkdir()
    (copy / "figures" / "x.png").write_bytes(b"png")
    report = sim_cmd("report", str(copy), "--out", str(copy / "report.html"))
    assert report.returncode == 0, report.stderr
    (copy / "my.html").write_text("<!DOCTYPE html><p>my page</p>")
    with pytest.raises(RunError, match="files sim did not write.*my.html"):
        small_run(copy, n=6, force=True)
    (copy / "my.html").unlink()
    r = small_run(copy, n=6, force=True)
    r.close()
    assert r.manifest["replicates"] == 6 and not (copy / "figures").exists()
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        ["manifest.json", "scenario.yaml", "world.yaml", "history.yaml", "events.sqlite",
         "outcomes.csv", "replicates.csv"])


def test_a_complete_run_is_kept_without_force(copy):
    before = snapshot(copy)
    with pytest.raises(RunError, match="complete run; use --force"):
        small_run(copy, n=6)
    assert snapshot(copy) == before


def test_an_empty_folder_is_used_and_no_lock_file_is_left(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = small_run(empty, n=4)
    assert r.manifest["status"] == "complete"
    assert not (empty / runfolder.LOCK).exists() and not (empty / runfolder.WORKERS_LOCK).exists()


# --------------------------------------------------------------------------- 2. report --out


@pytest.mark.parametrize("force", [False, True])
def test_report_never_writes_over_links_devices_folders_or_run_files(done, tmp_path, force):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    link = tmp_path / "link.html"
    link.symlink_to(precious)
    folder = tmp_path / "folder.html"
    folder.mkdir()
    fifo = tmp_path / "fifo.html"          # a special file, like a device
    os.mkfifo(fifo)
    manifest = done / "manifest.json"
    before = manifest.read_bytes()
    flag = ["--force"] if force else []
    targets = [(link, "symbolic link"), (fifo, "not a regular file"),
               (folder, "not a regular file"), (manifest, "file of the run folder"),
               (done / "events.sqlite", "file of the run folder")]
    if Path(os.devnull).is_char_device():
        targets.append((Path(os.devnull), "not a regular file"))
    for out, words in targets:
        r = sim_cmd("report", str(done), "--out", str(out), *flag)
        assert r.returncode == 2, (out, r.stderr)
        assert words in r.stderr and "Traceback" not in r.stderr
    assert precious.read_text() == "keep" and link.is_symlink()
    assert manifest.read_bytes() == before
    assert fifo.is_fifo() and folder.is_dir()


def test_report_replaces_its_own_page_but_a_user_file_only_with_force(done, tmp_path):
    from sim.report import check_target

    mine = tmp_path / "mine.html"
    mine.write_text("<html>my own page</html>")
    r = sim_cmd("report", str(done), "--out", str(mine))
    assert r.returncode == 2 and "use --force" in r.stderr
    assert mine.read_text() == "<html>my own page</html>"
    out = tmp_path / "report.html"
    r = sim_cmd("report", str(done), "--out", str(out))
    assert r.returncode == 0, r.stderr
    check_target(out)                   # a page we wrote: replaced without --force
    with pytest.raises(sim.errors.InputError, match="use --force"):
        check_target(mine)
    check_target(mine, force=True)      # an ordinary file, with --force


# --------------------------------------------------------------------------- 3. the lock

HOLD = textwrap.dedent("""\
    import sys, time
    from sim.runfolder import FolderLock
    lock = FolderLock(sys.argv[1], sys.argv[2], shared=sys.argv[3] == "shared").acquire()
    print("held", flush=True)
    time.sleep(60)
""")


def hold_lock(folder: Path, name: str = runfolder.LOCK, shared: bool = False):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), name,
                             "shared" if shared else "excl"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_and_told_the_holders_pid(copy):
    before = snapshot(copy)
    holder = hold_lock(copy)
    try:
        with pytest.raises(LockedError, match=f"process {holder.pid}"):
            small_run(copy, n=6, force=True)
        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["status"] = "incomplete"
        (copy / "manifest.json").write_text(json.dumps(manifest))
        r = sim_cmd("run", "--resume", str(copy), "--executor", "serial")
        assert r.returncode == 2 and f"process {holder.pid}" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # the lock dies with its holder: a later writer gets it
    assert snapshot(copy)["events.sqlite"] == before["events.sqlite"]
    with FolderLock(copy) as lock:
        assert lock.fd is not None
        with pytest.raises(LockedError, match=f"process {os.getpid()}"):
            FolderLock(copy).acquire()
    assert not (copy / runfolder.LOCK).exists()


def test_resume_waits_for_no_stale_worker(copy, monkeypatch):
    monkeypatch.setattr(runfolder, "STALE_WAIT", 0.2)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["status"] = "incomplete"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    worker = hold_lock(copy, runfolder.WORKERS_LOCK, shared=True)
    try:
        with pytest.raises(RunError, match="worker processes of an earlier run"):
            sim.resume(copy, executor="serial", progress=False)
    finally:
        worker.kill()
        worker.wait(timeout=30)
    r = sim.resume(copy, executor="serial", progress=False)
    assert r.manifest["status"] == "complete"
    assert sim.runner.verify(copy) == []


# --------------------------------------------------------------------------- 4. workers die


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_stop_when_the_run_dies(tmp_path, sig):
    out = tmp_path / "k"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(MINI), "-n", "20000",
                             "--out", str(out), "--executor", "processes", "-j", "2",
                             "--no-progress"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        workers: set[int] = set()
        while time.time() < deadline and not (out / runfolder.WORKERS_LOCK).exists():
            time.sleep(0.05)
        time.sleep(0.5)
        workers = _children(proc.pid)
        assert len(workers) >= 2, "the pool did not start"
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.time() + 20
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "workers outlived their run"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        for p in workers | _children(proc.pid):   # never leave a process behind
            if _alive(p):
                os.kill(p, signal.SIGKILL)
    # nothing writes the folder any more: a resume takes it over
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "running"
    runfolder.FolderLock(out, runfolder.WORKERS_LOCK).acquire().release()


# --------------------------------------------------------------------------- 6. resume


def test_resume_refuses_a_changed_model(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["status"] = "incomplete"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    world = copy / "world.yaml"
    original = world.read_text()
    world.write_text(original.replace("probability: 0.1", "probability: 0.9"))
    assert world.read_text() != original
    r = sim_cmd("run", "--resume", str(copy), "--executor", "serial")
    assert r.returncode == 2, r.stderr
    assert "world.yaml: changed since the run wrote it" in r.stderr
    assert "Traceback" not in r.stderr
    world.write_text(original)
    r = sim_cmd("run", "--resume", str(copy), "--executor", "serial")
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------- 7. damaged runs

READERS = [("show", "-r", "3"), ("story", "-r", "3"), ("why", "-r", "3", "decide"),
           ("plot",), ("report", "--out", "{tmp}/r.html"), ("compare",)]


def _sql(folder: Path, statement: str) -> None:
    con = sqlite3.connect(folder / "events.sqlite")
    con.execute(statement)
    con.commit()
    con.close()


@pytest.mark.parametrize("damage", ["delete stream", "rename stream", "edit world copy"])
def test_readers_refuse_a_damaged_run(copy, tmp_path, damage, capsys):
    if damage == "delete stream":
        _sql(copy, "DELETE FROM streams WHERE name = 'mini/3'")
        what = "streams"
    elif damage == "rename stream":        # the counts still match; the stream is gone
        _sql(copy, "UPDATE streams SET name = 'elsewhere' WHERE name = 'mini/3'")
        what = "mini"
    else:
        world = copy / "world.yaml"
        world.write_text(world.read_text().replace("probability: 0.1", "probability: 0.9"))
        what = "world.yaml"
    from sim.cli import main

    for cmd, *rest in READERS:      # in this process: the same main() the command runs
        args = [a.format(tmp=tmp_path) for a in rest]
        code = main([cmd, str(copy), *args])
        err = capsys.readouterr().err
        assert code == 2, (cmd, err)
        assert "run is damaged" in err and "sim verify" in err, (cmd, err)
        assert what in err, (cmd, err)
    assert not (copy / "figures").exists() and not (tmp_path / "r.html").exists()


def test_damaged_manifest_is_refused_clearly(copy):
    (copy / "manifest.json").write_text("[]")
    r = sim_cmd("show", str(copy))
    assert r.returncode == 2 and "damaged manifest" in r.stderr, r.stderr
    manifest_counts_removed = {"format": 1, "status": "complete", "scenario": "mini"}
    (copy / "manifest.json").write_text(json.dumps(manifest_counts_removed))
    r = sim_cmd("show", str(copy))
    assert r.returncode == 2 and "run is damaged" in r.stderr, r.stderr


# --------------------------------------------------------------------------- 8. read-only


def test_reading_writes_nothing_in_the_run_folder(copy):
    before = snapshot(copy)
    for cmd in (("show", str(copy)), ("verify", str(copy)), ("story", str(copy))):
        r = sim_cmd(*cmd)
        assert r.returncode == 0, r.stderr
    assert snapshot(copy) == before


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX users")
def test_a_run_owned_by_another_user_or_read_only_can_be_read(done):
    top = Path(tempfile.mkdtemp(prefix="sim-ro-"))
    try:
        os.chmod(top, 0o755)
        run = top / "run"
        shutil.copytree(done, run)
        for p in [run, *run.iterdir()]:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
        cmd = [sys.executable, "-m", "sim"]
        if os.geteuid() == 0:       # root may write anywhere: read as another user
            if not shutil.which("setpriv"):
                pytest.skip("needs setpriv to read as another user")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        env = {**os.environ, "HOME": str(top), "MPLCONFIGDIR": str(top)}
        for args in (("show", str(run), "-r", "1"), ("verify", str(run)),
                     ("compare", str(run))):
            r = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                               env=env, cwd=top)
            assert r.returncode == 0, (args, r.stderr)
        assert "state at the end" in subprocess.run(
            [*cmd, "show", str(run)], capture_output=True, text=True, env=env,
            cwd=top, timeout=120).stdout
        r = subprocess.run([*cmd, "plot", str(run)], capture_output=True, text=True,
                           env=env, cwd=top, timeout=120)
        assert r.returncode == 2 and "cannot write the figures" in r.stderr, r.stderr
        assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in done.iterdir())
    finally:
        for p in top.rglob("*"):
            if not p.is_symlink():
                os.chmod(p, 0o755)
        shutil.rmtree(top)


# --------------------------------------------------------------------------- 19. scale


def test_first_times_from_the_column_index_equal_the_stores(done):
    """Run.first_times reads every event once into columns; it must give what the
    store's own per-kind query gives (itself checked against reading every stream)."""
    import numpy as np

    r = sim.open_run(done)
    fork = r.branch("mini").fork
    kinds = list(r.world().events)
    assert len(kinds) >= 3
    for kind in kinds:
        for since in (None, fork, fork + 100.0):
            ft = r.store.first_times(kind, since=since)
            for b in r.branch_names():
                want = np.array([ft.get(f"{b}/{i}", np.inf)
                                 for i in range(r.scenario.replicates)])
                assert np.array_equal(r.first_times(b, kind, since=since), want), (kind, b)
    r.close()
