"""Contract tests of the event store, run against every backend; SQLite damage tests.

The same suite runs on MemoryStore and SQLiteStore (parametrized ``make_store``
fixture), so both backends are held to one behaviour. Expected values are written
out by hand (or, for the digest, computed here with hashlib over the documented
canonical encoding), never taken from the store itself.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import math
import sqlite3
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import ConcurrencyError, StoreError
from sim.events import Event
from sim.store import (
    FirstTimeIndex,
    MemoryStore,
    SealedStreamError,
    SQLiteStore,
    UnknownStreamError,
    canonical,
    open_store,
)

BACKENDS = ["memory", "sqlite"]
HSETTINGS = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def make_store(backend, tmp_path):
    """A factory of fresh stores of the backend under test (closed at teardown)."""
    made = []
    counter = itertools.count()

    def make():
        if backend == "memory":
            s = MemoryStore()
        else:
            s = SQLiteStore(tmp_path / f"store{next(counter)}.db", create=True)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def second_writer(backend, store):
    """Another writer on the same data: a second connection for SQLite."""
    if backend == "memory":
        yield lambda: store
        return
    made = []

    def make():
        s = SQLiteStore(store.path)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def ev(stream, version, time, kind="k", **kw):
    return Event(stream, version, time, kind, **kw)


def evs(stream, times, start=1, kind="k"):
    return [ev(stream, start + i, t, kind) for i, t in enumerate(times)]


# --------------------------------------------------------------------------- basics


def test_round_trip_keeps_every_field(store):
    given_events = [
        ev("a", 1, 0.5, "talks", actor="TUR", target="USA", data={"p": 0.25, "who": ["x"]},
           origin="history", source="S1"),
        ev("a", 2, 2.0, "deal", cause=1, rule="r1"),
        ev("a", 3, 1e-300, "odd", data={"nested": {"z": None, "ü": "ß"}}, origin="injected"),
    ]
    assert store.append("a", given_events, 0) == 3
    got = store.read("a")
    assert got == given_events
    assert got[0].data["who"] == ["x"] and got[2].data["nested"] == {"z": None, "ü": "ß"}
    assert store.version("a") == 3
    assert store.version("missing") == 0 and store.read("missing") == []


def test_versions_order_and_upto(store):
    store.append("a", evs("a", [1.0, 2.0]), 0)
    store.append("a", evs("a", [3.0], start=3), 2)
    store.append("b", evs("b", [9.0]), 0)
    assert [e.version for e in store.read("a")] == [1, 2, 3]
    assert [e.time for e in store.read("a", upto_version=2)] == [1.0, 2.0]
    assert store.read("a", upto_version=0) == []
    assert [i.name for i in store.streams()] == ["a", "b"]
    assert [(n, len(e)) for n, e in store.iter_streams()] == [("a", 3), ("b", 1)]
    assert store.count_events() == 4


def test_times_are_normalised_and_checked(store):
    store.append("a", [ev("a", 1, 3), ev("a", 2, -0.0)], 0)
    t1, t2 = (e.time for e in store.read("a"))
    assert type(t1) is float and t1 == 3.0
    assert math.copysign(1.0, t2) == 1.0
    with pytest.raises(ValueError, match="NaN"):
        store.append("a", [ev("a", 3, float("nan"))], 2)
    with pytest.raises(ValueError, match="time must be a number"):
        store.append("a", [ev("a", 3, "soon")], 2)
    assert store.version("a") == 2


@pytest.mark.parametrize("bad, match", [
    ([ev("a", 2, 1.0)], "versions must run 1..1"),
    ([ev("a", 1, 1.0), ev("a", 3, 2.0)], "has version 3"),
    ([ev("other", 1, 1.0)], "names stream 'other'"),
    ([ev("a", 1, 1.0, data={"f": object()})], "not JSON-able"),
    ([ev("a", 1, 1.0, actor=7)], "actor must be a str"),
])
def test_append_validates_events(store, bad, match):
    with pytest.raises(ValueError, match=match):
        store.append("a", bad, 0)
    assert store.version("a") == 0 and store.streams() == []


def test_expected_version_conflict_message_and_no_write(store):
    store.append("a", evs("a", [1.0, 2.0]), 0)
    with pytest.raises(ConcurrencyError) as info:
        store.append("a", evs("a", [3.0], start=2), 1)
    msg = str(info.value)
    assert "'a'" in msg and "expected version 1" in msg and "at version 2" in msg
    assert store.version("a") == 2


def test_two_writers_same_version_exactly_one_wins(store, second_writer):
    w1, w2 = store, second_writer()
    with w1.batch():
        w1.append("s", evs("s", [1.0]), 0)
    with pytest.raises(ConcurrencyError), w2.batch():
        w2.append("other", evs("other", [5.0]), 0)   # would be stored with the batch
        w2.append("s", [ev("s", 1, 2.0, "loser")], 0)
    for reader in (w1, w2):
        assert [e.kind for e in reader.read("s")] == ["k"]
        assert reader.version("other") == 0


def test_two_sqlite_connections_race_in_threads(tmp_path):
    path = tmp_path / "race.db"
    SQLiteStore(path, create=True).close()
    barrier = threading.Barrier(2)
    results = []

    def writer(tag):
        s = SQLiteStore(path)
        barrier.wait()
        try:
            with s.batch():
                s.append(f"side-{tag}", evs(f"side-{tag}", [1.0]), 0)
                s.append("s", [ev("s", 1, 1.0, tag)], 0)
            results.append(("won", tag))
        except ConcurrencyError:
            results.append(("lost", tag))
        finally:
            s.close()

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[0] for r in results) == ["lost", "won"]
    winner = next(r[1] for r in results if r[0] == "won")
    loser = next(r[1] for r in results if r[0] == "lost")
    with open_store(path) as s:
        assert [e.kind for e in s.read("s")] == [winner]
        assert s.version(f"side-{winner}") == 1 and s.version(f"side-{loser}") == 0


# --------------------------------------------------------------------------- forks


def test_fork_reads_prefix_by_reference_and_parent_unchanged(store):
    store.append("p", evs("p", [1.0, 2.0, 3.0]), 0)
    store.fork("p", 2, "c", {"branch": "b"})
    assert store.version("c") == 2
    store.append("c", evs("c", [10.0], start=3), 2)
    store.append("p", evs("p", [4.0], start=4), 3)          # parent grows after the fork
    got = store.read("c")
    assert [(e.stream, e.version, e.time) for e in got] == [
        ("p", 1, 1.0), ("p", 2, 2.0), ("c", 3, 10.0)]
    assert [e.time for e in store.read("p")] == [1.0, 2.0, 3.0, 4.0]
    store.read("c").clear()                                 # callers get their own lists
    assert len(store.read("c")) == 3
    info = {i.name: i for i in store.streams()}
    assert (info["c"].parent, info["c"].fork_version, info["c"].version) == ("p", 2, 3)
    assert info["c"].meta == {"branch": "b"}
    # no row copies: the prefix is stored once
    assert store.count_events() == 5


def test_fork_of_fork_and_errors(store):
    store.append("a", evs("a", [1.0, 2.0, 3.0]), 0)
    store.fork("a", 3, "b")
    store.append("b", evs("b", [4.0, 5.0], start=4), 3)
    store.fork("b", 4, "c")                     # a1..a3, b4
    store.append("c", evs("c", [6.0], start=5), 4)
    store.fork("b", 2, "d")                     # only a1..a2
    assert [(e.stream, e.version) for e in store.read("c")] == [
        ("a", 1), ("a", 2), ("a", 3), ("b", 4), ("c", 5)]
    assert [(e.stream, e.version) for e in store.read("d")] == [("a", 1), ("a", 2)]
    assert [e.version for e in store.read("c", upto_version=3)] == [1, 2, 3]
    with pytest.raises(ValueError, match="versions 1..5"):
        store.fork("b", 6, "e")
    with pytest.raises(ConcurrencyError, match="already exists"):
        store.fork("a", 1, "b")
    with pytest.raises(UnknownStreamError, match="did you mean 'a'"):
        store.fork("aa", 1, "x")


@HSETTINGS
@given(n=st.integers(0, 8), m=st.integers(0, 5), data=st.data())
def test_fork_equivalence_for_all_k(make_store, n, m, data):
    """A child forked at k reads as the parent's first k events plus its own."""
    store = make_store()
    parent = [ev("p", i + 1, float(i), f"k{i % 3}", data={"i": i}) for i in range(n)]
    if parent:
        store.append("p", parent, 0)
    else:
        store.create("p")
    k = data.draw(st.integers(0, n), label="k")
    store.fork("p", k, "c")
    own = [ev("c", k + j + 1, 100.0 + j, "own") for j in range(m)]
    if own:
        store.append("c", own, k)
    assert store.read("c") == parent[:k] + own
    assert store.read("p") == parent
    assert store.version("c") == k + m
    j = data.draw(st.integers(0, k + m), label="j")
    store.fork("c", j, "g")
    store.append("g", [ev("g", j + 1, -1.0, "g")], j)
    assert store.read("g") == (parent[:k] + own)[:j] + [ev("g", j + 1, -1.0, "g")]
    assert dict(store.iter_streams())["g"] == store.read("g")


# --------------------------------------------------------------------------- queries


def test_as_of_reads(store):
    store.append("a", evs("a", [0.0, 1.0, 1.0, 2.5, 4.0]), 0)
    assert [e.version for e in store.read("a", as_of=1.0)] == [1, 2, 3]
    assert [e.version for e in store.read("a", as_of=-1.0)] == []
    assert [e.version for e in store.read("a", upto_version=2, as_of=3.0)] == [1, 2]
    store.fork("a", 4, "c")
    store.append("c", evs("c", [0.5, 9.0], start=5), 4)
    # as_of filters by time (not a cut-off): the child's own 0.5 counts
    assert [e.version for e in store.read("c", as_of=1.0)] == [1, 2, 3, 5]


def _first_times_world(store):
    store.append("base", [ev("base", 1, 1.0, "a"), ev("base", 2, 2.0, "b"),
                          ev("base", 3, 3.0, "a")], 0)
    store.fork("base", 1, "c1")                       # inherits a@1 only
    store.append("c1", [ev("c1", 2, 5.0, "b")], 1)
    store.fork("base", 0, "c2")                       # inherits nothing
    store.append("c2", [ev("c2", 1, 7.0, "a")], 0)
    store.fork("c1", 2, "g")                          # a@1 from base, b@5 from c1
    store.fork("base", 3, "c3")                       # inherits everything
    store.append("c3", [ev("c3", 4, 0.5, "a")], 3)    # own a earlier than inherited
    store.create("empty")


def test_first_times_include_inherited_prefix(store):
    _first_times_world(store)
    assert store.first_times("a") == {"base": 1.0, "c1": 1.0, "c2": 7.0, "g": 1.0, "c3": 0.5}
    assert store.first_times("b") == {"base": 2.0, "c1": 5.0, "g": 5.0, "c3": 2.0}
    assert store.first_times("never") == {}
    assert store.first_times("a", streams=["c2", "g"]) == {"c2": 7.0, "g": 1.0}
    # only occurrences at or after `since`: base's a@3, c3 inherits it (its own a@0.5 is early)
    assert store.first_times("a", since=2.5) == {"base": 3.0, "c2": 7.0, "c3": 3.0}
    assert store.first_times("b", since=2.0) == {"base": 2.0, "c1": 5.0, "g": 5.0, "c3": 2.0}


@HSETTINGS
@given(plan=st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10),
                               st.lists(st.tuples(st.sampled_from("ab"),
                                                  st.floats(-5, 5, width=16)), max_size=5)),
                     min_size=1, max_size=6))
def test_random_fork_trees_first_times_and_scan_agree_with_reads(make_store, plan):
    """For any tree of forks, first_times and iter_streams match per-stream reads."""
    store = make_store()
    names: list[str] = []
    for i, (pick, k, own) in enumerate(plan):
        name = f"s{i}"
        if names:
            parent = names[pick % len(names)]
            at = k % (store.version(parent) + 1)
            store.fork(parent, at, name)
        else:
            at = 0
            store.create(name)
        if own:
            store.append(name, [ev(name, at + j + 1, t, kind)
                                for j, (kind, t) in enumerate(own)], at)
        names.append(name)
    reads = {n: store.read(n) for n in names}
    assert dict(store.iter_streams()) == reads
    assert dict(store.iter_streams(names[::2])) == {n: reads[n] for n in names[::2]}
    for kind in "ab":
        want = {n: min(e.time for e in evs if e.kind == kind)
                for n, evs in reads.items() if any(e.kind == kind for e in evs)}
        assert store.first_times(kind) == want
        since = {n: min(e.time for e in evs if e.kind == kind and e.time >= 0)
                 for n, evs in reads.items() if any(e.kind == kind and e.time >= 0 for e in evs)}
        assert store.first_times(kind, since=0.0) == since
        if isinstance(store, SQLiteStore):     # the columnar index gives the same answers
            index = FirstTimeIndex(store)
            for lo, expected in ((None, want), (0.0, since)):
                arr = index.first_times(kind, lo)
                got = {n: float(arr[index.ids[n]]) for n in names
                       if np.isfinite(arr[index.ids[n]])}
                assert got == expected
        owned = [(n, e.version) for n in names for e in reads[n]
                 if e.kind == kind and e.stream == n]
        assert [(e.stream, e.version) for e in store.by_kind(kind)] == owned


def test_by_kind_counts_own_events_only(store):
    _first_times_world(store)
    got = [(e.stream, e.version) for e in store.by_kind("a")]
    assert got == [("base", 1), ("base", 3), ("c2", 1), ("c3", 4)]
    assert [(e.stream, e.version) for e in store.by_kind("b", streams=["c1", "g"])] == [
        ("c1", 2)]


def test_iter_streams_subset_resolves_prefixes(store):
    _first_times_world(store)
    got = dict(store.iter_streams(["g", "empty", "nope"]))
    assert list(got) == ["g", "empty"]
    assert [(e.stream, e.version) for e in got["g"]] == [("base", 1), ("c1", 2)]
    assert got["empty"] == []
    full = dict(store.iter_streams())
    assert list(full) == ["base", "c1", "c2", "g", "c3", "empty"]
    for name, events in full.items():
        assert events == store.read(name)


# --------------------------------------------------------------------------- seals, meta, batch


KNOWN_CANONICAL = (b'[[1,0.5,"talks","TUR","USA",{"p":0.1},null,null,"history","S1"],'
                   b'[2,3.0,"deal",null,null,{},1,"r1","simulated",null]]')
KNOWN_DIGEST = "0b04a6c80bfc23239603979d14287343bfb0871098b056527c00e4abcfc6e9ab"


def _known_stream(name):
    return [ev(name, 1, 0.5, "talks", actor="TUR", target="USA", data={"p": 0.1},
               origin="history", source="S1"),
            ev(name, 2, 3.0, "deal", cause=1, rule="r1")]


def test_digest_is_sha256_of_documented_encoding(store):
    assert hashlib.sha256(KNOWN_CANONICAL).hexdigest() == KNOWN_DIGEST
    store.append("x", _known_stream("x"), 0)
    assert canonical(store.read("x")) == KNOWN_CANONICAL
    assert store.seal("x") == KNOWN_DIGEST
    # the digest ignores stream names: same content through a fork gives the same digest
    store.append("p", _known_stream("p")[:1], 0)
    store.fork("p", 1, "q")
    store.append("q", _known_stream("q")[1:], 1)
    assert store.seal("q") == KNOWN_DIGEST
    assert store.digest("x") == KNOWN_DIGEST and store.digest("p") is None
    assert store.verify() == []


def test_sealed_stream_refuses_appends(store):
    store.append("x", _known_stream("x"), 0)
    d = store.seal("x")
    with pytest.raises(SealedStreamError, match="sealed"):
        store.append("x", [ev("x", 3, 4.0)], 2)
    assert issubclass(SealedStreamError, ConcurrencyError)
    assert store.seal("x") == d and store.version("x") == 2
    store.set_meta("x", {"status": "ok"})          # metadata stays editable
    store.fork("x", 2, "y")                         # and forks of it are fine
    store.append("y", [ev("y", 3, 4.0)], 2)
    info = {i.name: i for i in store.streams()}
    assert info["x"].sealed and not info["y"].sealed and info["x"].meta == {"status": "ok"}


def test_meta(store):
    store.create("a", {"branch": "baseline", "replicate": 3})
    assert store.meta("a") == {"branch": "baseline", "replicate": 3}
    store.set_meta("a", {"status": "failed", "error": "boom"})
    assert store.stream_info("a").meta == {"status": "failed", "error": "boom"}
    store.set_meta("a", None)
    assert store.meta("a") == {}
    with pytest.raises(ConcurrencyError):
        store.create("a")
    with pytest.raises(UnknownStreamError):
        store.set_meta("b", {})
    with pytest.raises(ValueError, match="JSON"):
        store.set_meta("a", {"x": object()})


def test_batch_rollback_stores_nothing(store):
    store.append("keep", evs("keep", [1.0]), 0)
    store.create("m", {"v": 1})
    with pytest.raises(RuntimeError), store.batch():
        store.append("keep", [ev("keep", 2, 2.0, "brand_new_kind", actor="NEW")], 1)
        store.create("new", {"x": 1})
        store.fork("keep", 1, "child")
        store.append("child", evs("child", [3.0], start=2), 1)
        store.seal("keep")
        store.set_meta("m", {"v": 2})
        with store.batch():                          # nested: part of the same one
            store.append("n", evs("n", [1.0]), 0)
        raise RuntimeError("abort")
    assert [i.name for i in store.streams()] == ["keep", "m"]
    assert store.version("keep") == 1 and store.digest("keep") is None
    assert store.meta("m") == {"v": 1}
    # nothing read inside the rolled-back batch is served from a cache afterwards
    with pytest.raises(RuntimeError), store.batch():
        store.append("keep", [ev("keep", 2, 2.0, "ghost")], 1)
        store.fork("keep", 2, "peek")
        assert [e.kind for e in store.read("peek")] == ["k", "ghost"]
        raise RuntimeError("abort")
    store.append("keep", [ev("keep", 2, 2.0, "real")], 1)
    store.fork("keep", 2, "peek")
    assert [e.kind for e in store.read("peek")] == ["k", "real"]
    store.append("keep", [ev("keep", 3, 3.0, "more")], 2)
    # the store is fully usable afterwards, including shapes first seen in the batch
    store.fork("keep", 1, "other")
    store.append("other", [ev("other", 2, 2.0, "brand_new_kind", actor="NEW")], 1)
    assert [(e.kind, e.actor) for e in store.read("other")] == [
        ("k", None), ("brand_new_kind", "NEW")]


def test_batch_commits_everything(store, second_writer):
    with store.batch():
        for i in range(3):
            store.append(f"s{i}", evs(f"s{i}", [float(i)]), 0)
            store.seal(f"s{i}")
    other = second_writer()
    assert [i.name for i in other.streams() if i.sealed] == ["s0", "s1", "s2"]


# --------------------------------------------------------------------------- JSONL

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_odd_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                        st.sampled_from([0.1, -0.0, 5e-324, 1.7976931348623157e308]))
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | _odd_floats | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6)
_event_fields = st.fixed_dictionaries({
    "time": st.floats(allow_nan=False, allow_infinity=True),
    "kind": _text,
    "actor": st.none() | _text,
    "target": st.none() | _text,
    "data": st.dictionaries(_text, _json, max_size=3),
    "cause": st.none() | st.integers(-5, 10**12),
    "rule": st.none() | _text,
    "origin": st.sampled_from(["history", "simulated", "injected"]),
    "source": st.none() | _text,
})


_DST = itertools.count()


def _fill(store, name, fields, start):
    store.append(name, [Event(name, start + 1 + i, **f) for i, f in enumerate(fields)], start)


@HSETTINGS
@given(a=st.lists(_event_fields, max_size=6), b=st.lists(_event_fields, max_size=4),
       k=st.integers(0, 6), meta=st.dictionaries(_text, _json, max_size=3),
       seal=st.booleans(), target=st.sampled_from(BACKENDS))
def test_jsonl_round_trip(make_store, tmp_path, a, b, k, meta, seal, target):
    src = make_store()
    src.create("a", meta)
    if a:
        _fill(src, "a", a, 0)
    k = min(k, len(a))
    src.fork("a", k, "ünï/1", {"replicate": 1})
    if b:
        _fill(src, "ünï/1", b, k)
    if seal:
        src.seal("a")
        src.seal("ünï/1")
    buf = io.StringIO()
    assert src.export_jsonl(buf) == 2
    dst = MemoryStore() if target == "memory" else SQLiteStore(tmp_path / f"dst{next(_DST)}.db",
                                                                create=True)
    try:
        assert dst.import_jsonl(io.StringIO(buf.getvalue())) == 2
        assert dst.streams() == src.streams()
        for name in ("a", "ünï/1"):
            got, want = dst.read(name), src.read(name)
            # canonical() writes floats by repr, so NaN and -0.0 are compared exactly
            assert canonical(got) == canonical(want)
            assert [e.stream for e in got] == [e.stream for e in want]
        again = io.StringIO()
        dst.export_jsonl(again)
        assert again.getvalue() == buf.getvalue()
    finally:
        dst.close()


def test_jsonl_subset_brings_ancestors_and_rejects_tampering(store, tmp_path):
    _first_times_world(store)
    store.seal("c1")
    path = tmp_path / "out.jsonl"
    assert store.export_jsonl(path, ["g"]) == 3          # g, c1, base
    other = MemoryStore()
    other.import_jsonl(path)
    assert [i.name for i in other.streams()] == ["base", "c1", "g"]
    assert other.read("g") == store.read("g")
    lines = path.read_text().splitlines()
    bad = [ln.replace("5.0", "5.5") for ln in lines]
    path.write_text("\n".join(bad) + "\n")
    with pytest.raises(StoreError) as info:
        MemoryStore().import_jsonl(path)
    assert "out.jsonl" in str(info.value) and "digest" in str(info.value)
    path.write_text("hello\n")
    with pytest.raises(StoreError, match=r"out.jsonl:1: bad store export line"):
        MemoryStore().import_jsonl(path)


# --------------------------------------------------------------------------- SQLite files


def _sealed_store(path):
    with SQLiteStore(path, create=True) as s:
        s.append("a", evs("a", [1.0, 2.0]), 0)
        s.append("b", [ev("b", 1, 1.0, data={"note": "MARKER-b"}),
                       ev("b", 2, 2.0, data={"note": "other"})], 0)
        s.seal("a")
        s.seal("b")


def _replace_bytes(path, old, new):
    raw = path.read_bytes()
    assert raw.count(old) == 1, "marker not found exactly once"
    path.write_bytes(raw.replace(old, new))


def test_flipped_event_bytes_are_reported_naming_the_stream(tmp_path):
    path = tmp_path / "s.db"
    _sealed_store(path)
    _replace_bytes(path, b"MARKER-b", b"MARKER-X")
    with open_store(path) as s:
        problems = s.verify()
    assert len(problems) == 1
    assert "stream 'b'" in str(problems[0]) and "digest mismatch" in str(problems[0])
    assert str(path) in str(problems[0])


def test_unreadable_row_is_reported_naming_the_stream(tmp_path):
    path = tmp_path / "s.db"
    _sealed_store(path)
    _replace_bytes(path, b'"note": "MARKER-b"', b'"note"! "MARKER-b"')
    with open_store(path) as s:
        problems = s.verify()
        assert any("stream 'b'" in str(p) and "unreadable" in str(p) for p in problems)
        with pytest.raises(StoreError):
            s.read("b")


def test_damaged_header_fails_to_open_naming_the_file(tmp_path):
    path = tmp_path / "s.db"
    _sealed_store(path)
    raw = bytearray(path.read_bytes())
    raw[0:16] = b"not a database!!"
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError) as info:
        open_store(path)
    assert str(path) in str(info.value)


def test_garbage_pages_fail_loudly_never_a_raw_sqlite_error(tmp_path):
    path = tmp_path / "s.db"
    _sealed_store(path)
    raw = bytearray(path.read_bytes())
    page = 4096
    assert len(raw) >= 3 * page
    raw[page:3 * page] = bytes((i * 37 + 11) % 256 for i in range(2 * page))
    path.write_bytes(bytes(raw))
    try:
        s = open_store(path)
    except StoreError as exc:
        assert str(path) in str(exc)
        return
    with s:
        problems = s.verify()
        assert problems and all(str(path) in str(p) for p in problems)


def test_not_a_store(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some text, long enough to be read as a header " * 20)
    with pytest.raises(StoreError, match="notes.txt") as info:
        open_store(text)
    assert "not" in str(info.value)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a sim event store"):
        open_store(other)
    with pytest.raises(StoreError, match="not a sim event store"):
        SQLiteStore(other, create=True)            # never adopts a foreign database
    with pytest.raises(StoreError, match="no event store here"):
        open_store(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(StoreError, match="empty file"):
        open_store(tmp_path / "empty.db")


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    SQLiteStore(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer sim.*schema 99"):
        open_store(path)


def test_reopen_keeps_everything(tmp_path):
    path = tmp_path / "s.db"
    with SQLiteStore(path, create=True) as s:
        _first_times_world(s)
        s.seal("g")
        want = dict(s.iter_streams())
        infos = s.streams()
    with open_store(path) as s:
        assert dict(s.iter_streams()) == want
        assert s.streams() == infos
        assert s.first_times("b")["g"] == 5.0
        assert s.verify() == []


@HSETTINGS
@given(n_parent=st.integers(0, 6), ks=st.lists(st.integers(0, 6), min_size=1, max_size=4),
       n_own=st.integers(0, 4), grand=st.booleans())
def test_sealed_digest_of_forks_is_the_digest_of_what_they_read(make_store, n_parent, ks,
                                                                n_own, grand):
    """Sealing a fork (which hashes its shared prefix once and caches it) gives exactly
    sha256 of the canonical encoding of everything the child reads."""
    store = make_store()
    store.create("p")
    store.append("p", [ev("p", i + 1, float(i), "a", data={"i": i} if i % 2 else {})
                       for i in range(n_parent)], 0)
    store.seal("p")
    for j, k in enumerate(ks):
        k = min(k, n_parent)
        child = f"c{j}"
        store.fork("p", k, child)
        store.append(child, [ev(child, k + i + 1, 10.0 + i, "b") for i in range(n_own)], k)
        if grand:
            store.fork(child, k + n_own, child + "g")
            store.append(child + "g", [ev(child + "g", k + n_own + 1, 99.5, "c")], k + n_own)
            assert store.seal(child + "g") == hashlib.sha256(
                canonical(store.read(child + "g"))).hexdigest()
        assert store.seal(child) == hashlib.sha256(canonical(store.read(child))).hexdigest()


def test_shared_data_payloads_keep_their_types(store):
    """Repeated payloads are encoded once and shared; 1, 1.0 and True hash alike but are
    different JSON, so each must come back as it went in, in every repetition."""
    vals = [1, 1.0, True, 1, True, 1.0, [1, 2], "1"]
    store.append("s", [ev("s", i + 1, float(i), "k", data={"p": v}) for i, v in enumerate(vals)],
                 0)
    got = [e.data["p"] for e in store.read("s")]
    assert got == vals
    assert [type(g) for g in got] == [type(v) for v in vals]


@HSETTINGS
@given(a=st.lists(_event_fields, max_size=6), b=st.lists(_event_fields, max_size=4),
       k=st.integers(0, 6))
def test_verify_encodes_rows_exactly_as_canonical(tmp_path, a, b, k):
    """verify() recomputes digests from rows without building Events: the same bytes
    as canonical() of the events read back, for any event content."""
    store = SQLiteStore(tmp_path / f"v{next(_DST)}.db", create=True)
    try:
        store.create("a")
        if a:
            _fill(store, "a", a, 0)
        k = min(k, len(a))
        store.fork("a", k, "a/1")
        if b:
            _fill(store, "a/1", b, k)
        store.seal("a")
        store.seal("a/1")
        for name, lo in (("a", 0), ("a/1", k)):
            sid = store._sid(name)
            rows = store.conn.execute("SELECT stream, version, time, shape, data, cause "
                                      "FROM events WHERE stream=? ORDER BY version",
                                      (sid,)).fetchall()
            own = store.read(name)[lo:]
            assert store._canonical_body(rows) == canonical(own)[1:-1]
        assert store.verify() == []
    finally:
        store.close()
