"""The S-400 sensitivity numbers in docs/s400-model.md are current: the same analysis
(scripts/s400_sensitivity.py) gives the same block. And the S-400 `uncertain:` ranges stay
legal and centred on the world's values."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("s400_sensitivity",
                                                  ROOT / "scripts" / "s400_sensitivity.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_assumption_ranges_contain_the_world_values():
    sc = load_scenario(ROOT / "scenarios" / "s400" / "assumptions.yaml")
    br = sc.branches[0]
    assert len(br.uncertain) == 8
    known = br.world.parameters()
    for path, d in br.uncertain.items():
        lo, hi = d.support()
        assert lo <= known[path] <= hi, path
        assert lo < d.ppf(0.5) < hi


@pytest.mark.slow
def test_docs_sensitivity_block_is_current():
    tool = _tool()
    assert tool.block() == tool.current(), (
        "docs/s400-model.md is stale: run .venv/bin/python scripts/s400_sensitivity.py")
