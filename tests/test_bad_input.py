"""Bad input under attack (issue 11, items 9-17, 20, 21): every malformed input is exit 2,
one message, no traceback, nothing left behind; failures while running say what
happened and leave the run resumable; user text is made safe where it is written."""
from __future__ import annotations

import csv
import errno
import json
import math
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import runner, yamlfile
from sim.cli import main
from sim.errors import InputError, Problem, StoreError
from sim.limits import MAX_ALIAS_NODES, MAX_JOBS, MAX_REPLICATES, MAX_YAML_DEPTH
from sim.safetext import csv_cell, terminal_text

MINI = Path(__file__).parent / "data" / "mini"

HEAD = """world: world.yaml
history: history.yaml
fork: 2020-02-01
horizon: 2021-01-26
outcomes:
  - {id: decided, occurs: decide}
"""


def scenario(body: str = "", name: str = "x") -> str:
    return f"name: {name}\n{HEAD}{body}"


LAUGHS = "".join(f"{a}: &{a} [" + ",".join([f"*{p}"] * 9 if p else ['"lol"'] * 9) + "]\n"
                 for p, a in zip(["", *"abcdefgh"], "abcdefghi"))


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    d = tmp_path / "mini"
    shutil.copytree(MINI, d)
    return d


def sim(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:      # argparse refusing an argument
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- the corpus

# name -> (scenario text or bytes, extra files {name: text or bytes}); world.yaml and
# history.yaml are the mini ones unless overridden. Each must be refused with exit 2.
CORPUS: dict[str, tuple] = {
    "empty file": (b"", {}),
    "only a comment": ("# nothing\n", {}),
    "binary": (bytes(range(256)) * 4, {}),
    "not utf-8": ("name: caf\xe9\n".encode("latin-1") + HEAD.encode(), {}),
    "top-level list": ("- 1\n- 2\n", {}),
    "top-level text": ("hello\n", {}),
    "billion laughs": (LAUGHS, {}),
    "alias as key": ("a: &a [1, 2]\n? *a\n: 3\n", {}),
    "deep set nesting": (scenario("set: " + "{a: " * 600 + "1" + "}" * 600 + "\n"), {}),
    "deep flow nesting": ("[" * 100_000, {}),
    "delay mean 10**400": (scenario("set: {rules.punish_after_decision.delay.mean: "
                                    f"{10**400}}}\n"), {}),
    "delay mean as text": (scenario("set: {rules.punish_after_decision.delay.mean: '1e308'}\n"),
                           {}),
    "delay mean .nan": (scenario("set: {rules.punish_after_decision.delay.mean: .nan}\n"), {}),
    "delay mean .inf": (scenario("set: {rules.punish_after_decision.delay.mean: .inf}\n"), {}),
    "delay mean 1e308": (scenario("set: {rules.punish_after_decision.delay.mean: 1.0e+308}\n"),
                         {}),
    "every .nan": (scenario("set: {reviews.alpha_decides.every: .nan}\n"), {}),
    "every tiny via set": (scenario("set: {reviews.alpha_decides.every: 1.0e-9}\n"), {}),
    "every tiny in the world": ("name: x\nworld: w.yaml\n" + HEAD.split("\n", 1)[1],
                                {"w.yaml": (MINI / "world.yaml").read_text()
                                 .replace("every: 30", "every: 1.0e-9")}),
    "every huge via set": (scenario("set: {reviews.alpha_decides.every: 1.0e+300}\n"), {}),
    "probability .nan": (scenario("set: {reviews.alpha_decides.probability: .nan}\n"), {}),
    "state .nan": (scenario("set: {state.tension: .nan}\n"), {}),
    "state huge int": (scenario(f"set: {{state.tension: {10**400}}}\n"), {}),
    "int with 5000 digits": (scenario(f"seed: {'9' * 5000}\n"), {}),
    "replicates 10**30": (scenario(f"replicates: {10**30}\n"), {}),
    "replicates text": (scenario("replicates: many\n"), {}),
    "seed negative": (scenario("seed: -1\n"), {}),
    "world path with NUL": ('name: x\nworld: "wor\\0ld.yaml"\n' + HEAD.split("\n", 1)[1], {}),
    "world path 400 chars": ("name: x\nworld: " + "a" * 400 + ".yaml\n"
                             + HEAD.split("\n", 1)[1], {}),
    "world is a folder": ("name: x\nworld: adir\n" + HEAD.split("\n", 1)[1], {"adir/": None}),
    "world is binary": ("name: x\nworld: w.bin\n" + HEAD.split("\n", 1)[1],
                        {"w.bin": bytes(range(256))}),
    "world is a system file": ("name: x\nworld: w.txt\n" + HEAD.split("\n", 1)[1],
                               {"w.txt": "root:$6$salt$hash:19000:0:99999:7:::\n"
                                         "daemon:*:19000:0:99999:7:::\n"}),
    "world is /proc status": ("name: x\nworld: w.txt\n" + HEAD.split("\n", 1)[1],
                              {"w.txt": "Name:\tbash\nUmask:\t0022\nState:\tS\nPid:\t1\n"}),
    "world is /dev/zero": ("name: x\nworld: /dev/zero\n" + HEAD.split("\n", 1)[1], {}),
    "extends a FIFO": ("extends: fifo\n", {"fifo": "FIFO"}),
    "world missing": ("name: x\nworld: nowhere.yaml\n" + HEAD.split("\n", 1)[1], {}),
    "name 300 chars": (scenario(name="n" * 300), {}),
    "name with escape": (scenario(name='"a\\e[31mb"'), {}),
    "name is a list": (scenario(name="[1, 2]"), {}),
    "name dot dot": (scenario(name="'..'"), {}),
    "branch with NUL": (scenario('branches: {"b\\0": {}}\n'), {}),
    "fork with a time": ("name: x\nworld: world.yaml\nhistory: history.yaml\n"
                         "fork: 2020-02-01 12:30:00\nhorizon: 2021-01-26\n", {}),
    "fork year 0": ("name: x\nworld: world.yaml\nhistory: history.yaml\n"
                    "fork: 0000-01-01\nhorizon: 2021-01-26\n", {}),
    "horizon 9999": ("name: x\nworld: world.yaml\nhistory: history.yaml\n"
                     "fork: 2020-02-01\nhorizon: 9999-12-31\n", {}),
    "world starts 0001": ("name: x\nworld: w.yaml\n" + HEAD.split("\n", 1)[1],
                          {"w.yaml": (MINI / "world.yaml").read_text()
                           .replace("starts: 2020-01-01", "starts: 0001-01-01")}),
    "horizon far": ("name: x\nworld: world.yaml\nhistory: history.yaml\n"
                    "fork: 2020-02-01\nhorizon: 99999-01-26\n", {}),
    "extends itself": ("extends: s.yaml\n" + scenario(), {}),
    "extends NUL": ('extends: "a\\0b"\n' + scenario(), {}),
    "unknown set path": (scenario("set: {" + "x." * 200 + "y: 1}\n"), {}),
    "sweep huge grid": (scenario("sweep: {grid: {reviews.alpha_decides.probability: ["
                                 + ", ".join(str(i / 2000) for i in range(1, 1500)) + "]}}\n"),
                        {}),
    "lhs huge": (scenario("sweep: {lhs: {samples: 100000000, ranges: "
                          "{reviews.alpha_decides.probability: [0.1, 0.9]}}}\n"), {}),
    "choice delay nan": (scenario("set: {rules.punish_after_decision.delay.mean: [.nan]}\n"),
                         {}),
    "duplicate keys": (scenario() + "name: y\n", {}),
    "tab indentation": ("name: x\n\tworld: world.yaml\n", {}),
    "unicode garbage key": ("\u202e\u0000: 1\n", {}),
}


def _materialise(folder: Path, case: str) -> Path:
    text, extra = CORPUS[case]
    for name, content in extra.items():
        if content == "FIFO":
            os.mkfifo(folder / name)
        elif content is None:
            (folder / name).mkdir()
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8")
    path = folder / "s.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malformed_input_is_refused_cleanly(mini: Path, capsys, case: str):
    path = _materialise(mini, case)
    before = sorted(p.name for p in mini.iterdir())
    code, out, err = sim(capsys, "validate", path)
    assert code == 2, (out, err)
    assert "Traceback" not in err and "internal error" not in err
    out_dir = mini / "out"
    code, out, err = sim(capsys, "run", path, "-n", "3", "--out", out_dir, "--no-progress")
    assert code == 2, (out, err)
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith("error: ") and len(err) < 5000
    assert not out_dir.exists()
    for args in (["compare", path, "-n", "3", "--out-root", mini / "runs", "--no-progress"],
                 ["hindcast", path, "-n", "3"]):
        code, out, err = sim(capsys, *args)
        assert code == 2, (args[0], out, err)
        assert "Traceback" not in err and "internal error" not in err
    assert sorted(p.name for p in mini.iterdir()) == before   # nothing written beside it


def test_a_directory_a_device_or_a_missing_file_as_the_scenario(mini: Path, capsys):
    os.mkfifo(mini / "fifo.yaml")
    for target in (mini, mini / "missing.yaml", "/dev/zero", mini / "fifo.yaml"):
        code, _, err = sim(capsys, "run", target, "--out", mini / "out", "--no-progress")
        assert code == 2 and "Traceback" not in err
        assert not (mini / "out").exists()


# --------------------------------------------------------------------------- item 9

def test_billion_laughs_is_refused_at_its_line_without_building_it():
    with pytest.raises(InputError) as exc:
        yamlfile.loads(LAUGHS, "laughs.yaml")
    p = exc.value.problems[0]
    assert p.file == "laughs.yaml" and p.line is not None
    assert f"more than {MAX_ALIAS_NODES} values" in p.message


def test_ordinary_aliases_still_work():
    doc = yamlfile.loads("a: &x {p: 1}\nb: *x\nc: [*x, *x]\n", "ok.yaml")
    assert doc.data == {"a": {"p": 1}, "b": {"p": 1}, "c": [{"p": 1}, {"p": 1}]}
    assert doc.where(("c", 1, "p"))[0] == 1      # an alias points at its anchor


def test_nesting_depth_bound_names_the_line():
    ok = "a: " + "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH + "\n"
    yamlfile.loads(ok)
    deep = "a: 1\nb: " + "[" * (MAX_YAML_DEPTH + 2) + "]" * (MAX_YAML_DEPTH + 2) + "\n"
    with pytest.raises(InputError) as exc:
        yamlfile.loads(deep, "deep.yaml")
    assert exc.value.problems[0].line == 2


# --------------------------------------------------------------------------- item 10

def test_replicates_and_jobs_are_bounded(mini: Path, capsys):
    sc = mini / "scenario.yaml"
    code, _, err = sim(capsys, "run", sc, "-j", "100000", "--out", mini / "o")
    assert code == 2 and f"at most {MAX_JOBS}" in err
    code, _, err = sim(capsys, "run", sc, "-n", str(MAX_REPLICATES + 1), "--out", mini / "o")
    assert code == 2 and f"at most {MAX_REPLICATES}" in err
    assert not (mini / "o").exists()
    with pytest.raises(InputError, match="jobs must be a whole number from 1"):
        runner.run(sc, replicates=2, jobs=10**5, out=mini / "o")
    with pytest.raises(InputError, match="at most 1000000"):
        runner.run(sc, replicates=10**30, out=mini / "o")
    assert not (mini / "o").exists()
    code, out, _ = sim(capsys, "run", "--help")
    assert f"at most {MAX_JOBS}" in out and f"at most {MAX_REPLICATES}" in out


def test_bounds_are_documented():
    from sim import limits
    from sim.scenario import MAX_BRANCHES

    text = (Path(__file__).parents[1] / "docs" / "scenarios.md").read_text()
    table = text[text.index("## Limits"):]
    for needle in (f"at most {limits.MAX_REPLICATES:,} per branch",
                   f"1 to {limits.MAX_JOBS} |", f"at most {MAX_BRANCHES:,} |",
                   f"at most {limits.MAX_NAME} characters", f"at most {limits.MAX_PATH} char",
                   f"at most {limits.MAX_YAML_DEPTH} levels",
                   f"at most {limits.MAX_ALIAS_NODES:,} in a file",
                   f"at most {int(limits.MAX_DAYS):,} days", f"at most {limits.MAX_SIGMA:g} |",
                   f"from {limits.PUBLISHED[0]} to {limits.PUBLISHED[1]}",
                   f"`every`) | at most {limits.MAX_TICKS:,} |",
                   f"`horizon` | from {limits.DATES[0]} to {limits.DATES[1]} |"):
        assert needle in table, needle


# --------------------------------------------------------------------------- item 11

def test_out_is_a_file(mini: Path, capsys):
    f = mini / "thesis.txt"
    f.write_text("my thesis")
    code, _, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "2", "--out", f,
                       "--no-progress")
    assert code == 2 and "is a file" in err and "Traceback" not in err
    assert f.read_text() == "my thesis"
    code, _, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "2", "--out", f / "sub",
                       "--no-progress")
    assert code == 2 and "Traceback" not in err


@pytest.mark.parametrize("out", ["a\0b", "x" * 5000, "d/" + "y" * 300])
def test_out_that_is_no_possible_path(mini: Path, capsys, out: str):
    with pytest.raises(InputError):
        runner.run(mini / "scenario.yaml", replicates=2, out=mini / out, executor="serial",
                   progress=False)
    if "\0" not in out:
        code, _, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "2", "--out",
                           mini / out, "--no-progress")
        assert code == 2 and "Traceback" not in err
    assert sorted(p.name for p in mini.iterdir()) == ["history.yaml", "scenario.yaml",
                                                      "world.yaml"]


def test_out_on_a_read_only_file_system(mini: Path, capsys, monkeypatch):
    def refuse(self, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, _, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "2", "--out",
                       mini / "ro" / "run", "--no-progress")
    assert code == 2 and "Read-only file system" in err and "Traceback" not in err


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_killed_worker_is_reported_and_the_run_resumes(mini: Path, capsys, monkeypatch):
    real = runner.SerialExecutor.submit
    calls = []

    def submit(self, b, start, stop):
        calls.append(b)
        if len(calls) == 3:
            f: Future = Future()
            f.set_exception(BrokenProcessPool("A process in the process pool was terminated"))
            return f
        return real(self, b, start, stop)

    monkeypatch.setattr(runner.SerialExecutor, "submit", submit)
    out = mini / "run"
    code, _, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "40", "--out", out,
                       "--executor", "serial", "--no-progress")
    assert code == 2 and "worker process stopped unexpectedly" in err
    assert f"sim run --resume {out}" in err and "Traceback" not in err
    assert _manifest(out)["status"] == "incomplete"
    monkeypatch.setattr(runner.SerialExecutor, "submit", real)
    code, _, err = sim(capsys, "run", "--resume", out, "--executor", "serial", "--no-progress")
    assert code == 0, err
    assert _manifest(out)["status"] == "complete"


@pytest.mark.parametrize("failure", [
    StoreError(Problem("events.sqlite", None, None,
                       "cannot use the store (SQLite: database or disk is full)")),
    sqlite3.OperationalError("database or disk is full"),
    OSError(errno.ENOSPC, "No space left on device"),
], ids=["store", "sqlite", "oserror"])
def test_disk_full_mid_run_says_so_and_stays_resumable(mini: Path, capsys, monkeypatch,
                                                       failure):
    real = runner._write_results
    calls = []

    def write(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise failure
        return real(*args, **kw)

    monkeypatch.setattr(runner, "_write_results", write)
    out = mini / "run"
    code, _, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "40", "--out", out,
                       "--executor", "serial", "--no-progress")
    assert code == 2 and "disk full" in err and "damaged" not in err
    assert "Traceback" not in err and f"sim run --resume {out}" in err
    assert _manifest(out)["status"] == "incomplete"
    monkeypatch.setattr(runner, "_write_results", real)
    code, _, err = sim(capsys, "run", "--resume", out, "--executor", "serial", "--no-progress")
    assert code == 0, err
    code, _, err = sim(capsys, "verify", out)
    assert code == 0, err


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small") / "run"
    runner.run(MINI / "scenario.yaml", replicates=5, out=out, executor="serial",
               progress=False).close()
    return out


def test_bad_json_in_stream_metadata(small_run: Path, tmp_path: Path, capsys):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    with sqlite3.connect(run / "events.sqlite") as c:
        c.execute("UPDATE streams SET meta='{bad' WHERE name='mini/3'")
    for cmd in ("compare", "report"):
        code, _, err = sim(capsys, cmd, run, *(["--out", tmp_path / "r.html"]
                                                if cmd == "report" else []))
        assert code == 2 and "damaged" in err and "Traceback" not in err, (cmd, err)
    with sqlite3.connect(run / "events.sqlite") as c:
        c.execute("""UPDATE streams SET meta='{"branch": "mini", "replicate": "x"}'
                     WHERE name='mini/3'""")
    code, _, err = sim(capsys, "compare", run)
    assert code == 2 and "damaged" in err and "Traceback" not in err


@pytest.mark.parametrize("text", ["[]", "3", '"x"', "null", "{", "[" * 100_000, b"\xff\xfe"])
def test_manifest_that_is_not_an_object(small_run: Path, tmp_path: Path, capsys, text):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    if isinstance(text, bytes):
        (run / "manifest.json").write_bytes(text)
    else:
        (run / "manifest.json").write_text(text)
    code, _, err = sim(capsys, "show", run)
    assert code == 2 and "damaged manifest" in err and "Traceback" not in err


def test_labels_that_are_invalid_mathtext_are_plotted_literally(mini: Path, capsys):
    w = mini / "world.yaml"
    w.write_text(w.read_text().replace("label: Alpha decides", r"label: '$\frac{Alpha$ ^'"))
    sc = mini / "scenario.yaml"
    sc.write_text(sc.read_text().replace("{id: decided, occurs: decide}",
                                         r"{id: decided, occurs: decide, label: '$x^$ $'}"))
    out = mini / "run"
    assert sim(capsys, "run", sc, "-n", "4", "--out", out, "--executor", "serial",
               "--no-progress")[0] == 0
    code, _, err = sim(capsys, "plot", out)
    assert code == 0, err
    assert any(p.suffix == ".png" for p in (out / "figures").iterdir())


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31"])
def test_ingest_with_a_far_publication_date(tmp_path: Path, capsys, date: str):
    art = tmp_path / "a.txt"
    art.write_text("Turkey signed the deal last year. Next month the talks resume.\n")
    world = Path(__file__).parents[1] / "scenarios" / "s400" / "world.yaml"
    with pytest.raises(SystemExit) as exc:
        main(["ingest", str(art), "--published", date, "--world", str(world)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "publication date" in err and "Traceback" not in err
    import datetime as dt

    from sim import ingest
    with pytest.raises(InputError, match="publication date"):
        ingest.ingest(art.read_text(), dt.date.fromisoformat(date), None)


def _not_dask_server() -> tuple[str, threading.Event]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\r\n")
            conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"tcp://127.0.0.1:{srv.getsockname()[1]}", stop


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("kind", ["unreachable", "scheme", "not dask"])
def test_bad_dask_scheduler(mini: Path, capsys, kind: str):
    pytest.importorskip("dask.distributed")
    stop = None
    if kind == "unreachable":
        address = f"tcp://127.0.0.1:{_free_port()}"
    elif kind == "scheme":
        address = "htp://127.0.0.1:8786"
    else:
        address, stop = _not_dask_server()
    out = mini / "run"
    try:
        code, _, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "3", "--out", out,
                           "--scheduler", address, "--no-progress")
    finally:
        if stop:
            stop.set()
    assert code == 2 and "cannot use the Dask scheduler" in err and "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- item 12

LOOP_WORLD = """world: loop
starts: 2020-01-01
actors: {A: {name: Alpha}}
state: {n: 0}
events:
  ping: {actor: A, effects: {n: {add: 1}}}
  pong: {actor: A}
rules:
  - {id: r1, on: ping, then: pong, probability: 1, delay: 5}
  - {id: r2, on: pong, then: ping, probability: 1, delay: 5}
"""
LOOP_HISTORY = """sources: {S: {outlet: Test, title: T, published: 2020-01-02}}
events:
  - {date: 2020-01-02, event: ping, source: S, confidence: high, granularity: day, note: n}
"""


@pytest.mark.parametrize("setting,words", [
    ("{rules.r1.delay.value: 0, rules.r2.delay.value: 0}", "loop with no delay"),
    ("{rules.r1.delay.value: .nan}", "finite number"),
    ("{rules.r1.delay.value: -.inf}", "finite number"),
])
def test_validate_rejects_what_run_rejects(tmp_path: Path, capsys, setting: str, words: str):
    (tmp_path / "world.yaml").write_text(LOOP_WORLD)
    (tmp_path / "history.yaml").write_text(LOOP_HISTORY)
    sc = tmp_path / "s.yaml"
    sc.write_text("name: loop\nworld: world.yaml\nhistory: history.yaml\nfork: 2020-01-10\n"
                  f"horizon: 2020-06-01\nset: {setting}\n")
    code, _, verr = sim(capsys, "validate", sc)
    assert code == 2 and words in verr
    code, _, rerr = sim(capsys, "run", sc, "-n", "2", "--out", tmp_path / "o", "--no-progress")
    assert code == 2 and rerr.strip() == "error: " + verr.strip()
    assert f"{sc}:6:" in verr      # the file and line of the set:


# --------------------------------------------------------------------------- item 13

def test_failed_replicates_are_in_the_table_and_the_status(mini: Path, capsys, monkeypatch):
    from sim.engine import Engine

    real = Engine.run

    def run(self, rng, stream):
        if stream.endswith("/1"):
            raise RuntimeError("boom")
        return real(self, rng, stream)

    monkeypatch.setattr(Engine, "run", run)
    out = mini / "run"
    code, stdout, err = sim(capsys, "run", mini / "scenario.yaml", "-n", "10", "--out", out,
                            "--executor", "serial", "--no-progress")
    assert code == 0, err
    assert "1 of 10 replicates failed (10.0%)" in stdout
    m = _manifest(out)
    assert m["counts"]["failed"] == 3 and "3 of 30 replicates failed" in m["status_note"]
    assert "3 of 30 replicates failed" in err
    rows = [r for r in csv.DictReader((out / "outcomes.csv").open())
            if r["outcome"] == "(failed replicates)"]
    assert [r["branch"] for r in rows] == ["mini", "same", "cautious"]
    # Wilson interval of 1 in 10, by hand
    z, n, p = 1.959963984540054, 10, 0.1
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    for r in rows:
        assert float(r["estimate"]) == pytest.approx(0.1)
        assert float(r["lo"]) == pytest.approx(centre - half, rel=1e-6)
        assert float(r["hi"]) == pytest.approx(centre + half, rel=1e-6)
        assert r["n"] == "10"
    run_ = runner.open_run(out)
    assert run_.status == "complete, 3 of 30 replicates failed"
    assert "3 of 30 replicates failed" in repr(run_)
    run_.close()


def test_no_failure_row_when_nothing_failed(small_run: Path):
    assert "(failed replicates)" not in (small_run / "outcomes.csv").read_text()


def test_fork_with_time_and_inf_delay_are_refused(mini: Path, capsys):
    sc = mini / "scenario.yaml"
    text = sc.read_text()
    sc.write_text(text.replace("fork: 2020-02-01", "fork: 2020-02-01T10:00:00"))
    code, _, err = sim(capsys, "validate", sc)
    assert code == 2 and "without a time of day" in err
    w = mini / "world.yaml"
    sc.write_text(text)
    w.write_text(w.read_text().replace("mean: 30", "mean: .inf"))
    code, _, err = sim(capsys, "validate", sc)
    assert code == 2 and "must be a finite number, not inf" in err
    w.write_text(w.read_text().replace("mean: .inf", "mean: 1.0e+300"))
    code, _, err = sim(capsys, "validate", sc)
    assert code == 2 and "longest delay" in err
    w.write_text(w.read_text().replace("tension: 0.0", "tension: .nan"))
    code, _, err = sim(capsys, "validate", w)
    assert code == 2 and "tension" in err


# --------------------------------------------------------------------------- item 14

def test_a_system_file_is_not_echoed(mini: Path, capsys):
    secret = mini / "shadow"
    lines = [f"user{i}:$6$salt{i}$secretsecretsecret{i}:19000:0:99999:7:::" for i in range(5)]
    secret.write_text("\n".join(lines) + "\n")
    for args in (["validate", secret], ["run", mini / "s.yaml", "--out", mini / "o"]):
        (mini / "s.yaml").write_text("name: x\nworld: shadow\n" + HEAD.split("\n", 1)[1])
        code, out, err = sim(capsys, *args)
        assert code == 2
        assert "secretsecret" not in out + err            # not even the first line in full
        for line in lines[1:]:
            assert line.split(":")[0] not in out + err
        assert "user0:$6$salt0" in err                    # one short excerpt, to recognise it
    status = mini / "status"                              # like /proc/self/status
    status.write_text("".join(f"{k}:\t{v}\n" for k, v in [("Name", "bash"), ("Umask", "22"),
                                                          ("State", "S"), ("Uid", "0 0 0")]))
    code, _, err = sim(capsys, "validate", status)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Umask" not in err


# --------------------------------------------------------------------------- items 15-17

def test_repr_html_escapes_everything(mini: Path):
    sc = mini / "scenario.yaml"
    sc.write_text(sc.read_text().replace("name: mini", "name: '<img src=x onerror=alert(1)>'"))
    r = runner.run(sc, replicates=3, out=mini / "run", executor="serial", progress=False)
    page = r._repr_html_()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    r.close()


def test_csv_formula_injection_is_neutralised(mini: Path):
    sc = mini / "scenario.yaml"
    sc.write_text(sc.read_text().replace("  same:", "  '=HYPERLINK(\"x\")':")
                  .replace("  cautious:", "  '-2+3':"))
    r = runner.run(sc, replicates=3, out=mini / "run", executor="serial", progress=False)
    r.close()
    for name in ("outcomes.csv", "replicates.csv"):
        rows = list(csv.reader((mini / "run" / name).open()))
        branches = {row[0] for row in rows[1:]}
        assert branches == {"mini", "'=HYPERLINK(\"x\")", "'-2+3"}, name
        for row in rows[1:]:   # numbers, negative ones included, stay numbers
            assert not any(c.startswith("'") for c in row[1:])


@given(st.text())
def test_csv_cells_never_start_a_formula(text: str):
    cell = csv_cell(text)
    if cell and cell[0] in "=+-@\t\r":
        float(cell)     # only a plain number may start so


@given(st.text())
def test_terminal_text_has_no_control_characters(text: str):
    clean = terminal_text(text)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in clean)


def test_terminal_escapes_in_labels_are_not_printed(mini: Path, capsys):
    w = mini / "world.yaml"
    w.write_text(w.read_text().replace("label: Alpha arms", 'label: "Alpha \\e[31marms\\e]0;x\\a"'))
    out = mini / "run"
    assert sim(capsys, "run", mini / "scenario.yaml", "-n", "3", "--out", out,
               "--executor", "serial", "--no-progress")[0] == 0
    for cmd in ("story", "show"):
        code, stdout, err = sim(capsys, cmd, out)
        assert code == 0, err
        assert "\x1b" not in stdout and "\x07" not in stdout
    code, stdout, _ = sim(capsys, "story", out)
    assert "Alpha arms" in stdout


# --------------------------------------------------------------------------- items 20, 21

def test_a_plain_script_without_main_guard_works(tmp_path: Path):
    shutil.copytree(MINI, tmp_path / "m")
    script = tmp_path / "m" / "plain.py"
    script.write_text("import sim\n"
                      "run = sim.run('scenario.yaml', replicates=700, out='out', "
                      "progress=False)\n"
                      "print(run.manifest['status'], run.manifest['executor'])\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       cwd=tmp_path / "m", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "BrokenProcessPool" not in r.stderr
    assert r.stdout.split() == ["complete", "serial"]
    assert "if __name__ == \"__main__\"" in r.stderr      # the one-line note
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_guarded_script_keeps_its_worker_processes(tmp_path: Path):
    import ast

    from sim.mainguard import _guard_lines

    tree = ast.parse("import sim\n\ndef main():\n    sim.run('x')\n\n"
                     "if __name__ == '__main__':\n    main()\n")
    assert _guard_lines(tree) == [(6, 7)]
    tree = ast.parse("if '__main__' == __name__:\n    pass\nif __name__ != '__main__':\n  1\n")
    assert _guard_lines(tree) == [(1, 2)]


def test_to_pandas_as_in_the_readme(small_run: Path):
    pd = pytest.importorskip("pandas")   # a core dependency: this must not skip
    r = runner.open_run(small_run)
    df = r.outcomes.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["branch", "outcome", "label", "measure", "estimate", "lo",
                                  "hi", "n"]
    assert df.to_dict("records") == r.outcomes.rows()
    r.close()


def test_pandas_is_a_core_dependency():
    import tomllib

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert any(d.startswith("pandas") for d in meta["project"]["dependencies"])


def test_a_really_killed_worker_process(tmp_path: Path):
    """End to end: SIGKILL one worker of a real process pool; the run stops with exit 2,
    says what happened and how to resume, and is marked incomplete."""
    psutil = pytest.importorskip("psutil")
    import signal
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(MINI / "scenario.yaml"),
                             "-n", "100000", "-j", "2", "--executor", "processes", "--out",
                             str(out), "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        victim = None
        for _ in range(600):                     # wait for a worker to be writing
            time.sleep(0.1)
            kids = psutil.Process(proc.pid).children(recursive=True)
            workers = [k for k in kids if k.ppid() != proc.pid]   # forkserver's children
            if workers and (out / "events.sqlite").exists():
                victim = workers[0]
                break
        assert victim is not None, "no worker process appeared"
        time.sleep(0.5)
        os.kill(victim.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, err
    assert "worker process stopped unexpectedly" in err and "Traceback" not in err
    assert f"sim run --resume {out}" in err
    assert _manifest(out)["status"] == "incomplete"


# --------------------------------------------------------------------------- coding files

S400 = Path(__file__).parents[1] / "scenarios" / "s400"


@pytest.mark.parametrize("path,value", [
    (("actors",), 3),
    (("actors", 0, "actor"), []),
    (("actors", 0, "names"), {"a": 1}),
    (("others",), {"x": 1}),
    (("patterns",), {"a": 1}),
    (("patterns", 0, "actors"), 7),
    (("patterns", 0, "actors"), [[1]]),
    (("patterns", 0, "event"), [1]),
    (("patterns", 0, "leaders"), 5),
    (("patterns", 0, "match"), "IMPOS* *999999999999 SANCTIONS"),
    (("patterns", 0, "match"), "IMPOS* *99 SANCTIONS"),
    (("classes",), [1, 2]),
])
def test_malformed_coding_file(tmp_path: Path, capsys, path: tuple, value):
    import yaml

    shutil.copy(S400 / "world.yaml", tmp_path / "world.yaml")
    data = yaml.safe_load((S400 / "coding.yaml").read_text())
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value            # set (or add) the key
    coding = tmp_path / "coding.yaml"
    coding.write_text(yaml.safe_dump(data))
    art = tmp_path / "a.txt"
    art.write_text("Turkey said on Monday it had received the S-400 from Russia.\n")
    for args in (["validate", coding],
                 ["ingest", art, "--published", "2019-07-15", "--world", tmp_path / "world.yaml"]):
        code, _, err = sim(capsys, *args)
        assert code == 2, (args[0], err)
        assert "Traceback" not in err and "internal error" not in err
