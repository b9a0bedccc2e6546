"""Checks shared by the tests of the case folders (tests/test_s400.py, tests/test_nord_stream.py;
not a test module): a world's parameters carry their basis, a teaching file's header says
what it asks, every source is cited and can be found, each branch's outcomes replicate by
replicate, and the replicates that break the world's invariants."""
from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

import numpy as np

from sim.engine import Engine
from sim.outcomes import Evaluator
from sim.scenario import load_scenario
from sim.seeding import replicate_rng

TEACHING_HEADER = ("Question:", "Change:", "Expected:")


def bare_parameter_lines(world: Path) -> list[int]:
    """Line numbers of world.yaml's probability / delay / every / modifier lines that carry
    no comment (each should state its basis)."""
    bare = []
    for no, line in enumerate(world.read_text(encoding="utf-8").splitlines(), 1):
        s = line.strip()
        if re.match(r"^(probability|delay|every):", s) or \
                re.match(r"^- \{when: .*(multiply|add)", s):
            if "#" not in s:
                bare.append(no)
    return bare


def missing_header_words(scenario: Path) -> list[str]:
    """The words of :data:`TEACHING_HEADER` that a teaching file's opening comment (the text
    before its ``name:`` line) lacks."""
    head = scenario.read_text(encoding="utf-8").split("\nname:")[0]
    return [w for w in TEACHING_HEADER if w not in head]


def check_sources(history) -> None:
    """Every entry cites a source that exists, every source is cited, and each source has an
    outlet, a title and a publication date."""
    cited = {e.source for e in history.entries}
    assert cited <= set(history.sources), cited - set(history.sources)
    assert set(history.sources) <= cited, set(history.sources) - cited
    for sid, s in history.sources.items():
        assert s.outlet and s.title and isinstance(s.published, dt.date), sid


@cache
def _branch_outcomes(path: str, n: int) -> dict[str, dict[str, np.ndarray]]:
    s = load_scenario(path)
    out = {}
    for br in s.branches:
        eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                     suppress=br.suppress)
        ev = Evaluator(s.outcomes, br.world, br.fork, br.horizon)
        rows = [ev([*eng.prefix, *eng.run(replicate_rng(s.seed, i), f"{br.name}/{i}")])
                for i in range(n)]
        out[br.name] = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    return out


def branch_outcomes(path: Path, n: int) -> dict[str, dict[str, np.ndarray]]:
    """Per branch of the scenario file, each outcome's value in replicates 0..n-1 (seeded
    as ``sim run`` seeds them, so branches share their random numbers); computed once per
    (file, n) in a test session."""
    return _branch_outcomes(str(path), n)


def broken_invariants(path: Path, n: int) -> list[tuple[str, int, tuple]]:
    """(branch, replicate, violation) for every invariant broken in replicates 0..n-1 of
    every branch of the scenario file (history, injections and the model together)."""
    s = load_scenario(path)
    broken = []
    for br in s.branches:
        eng = Engine(br.world, br.history, br.fork, br.horizon, inject=br.inject,
                     suppress=br.suppress)
        for i in range(n):
            eng.run(replicate_rng(s.seed, i), f"{br.name}/{i}")
            broken += [(br.name, i, v) for v in eng.violations]
    return broken
