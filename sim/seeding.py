"""Random streams: one generator per replicate, derived from the scenario seed.

Replicate ``i`` of *every* branch gets the same stream (common random
numbers), so an unchanged branch reproduces the baseline exactly and paired
differences between branches have small variance. Streams come from
``numpy.random.SeedSequence(seed, spawn_key=(i,))``, which makes them
independent of each other and of the order or the worker they run on. The
engine takes one 64-bit number from this generator and derives from it one
counter-based stream per rule and per review (see :mod:`sim.engine`), so a
change to one rule does not shift the draws of the others.

>>> replicate_rng(42, 3).random() == replicate_rng(42, 3).random()
True
>>> replicate_rng(42, 3).random() == replicate_rng(42, 4).random()
False
"""
from __future__ import annotations

import random

import numpy as np


def replicate_seed(seed: int, replicate: int) -> int:
    """A 128-bit integer seed for replicate ``replicate`` of a scenario seeded ``seed``."""
    state = np.random.SeedSequence(seed, spawn_key=(replicate,)).generate_state(4, np.uint32)
    return int.from_bytes(state.tobytes(), "little")


def replicate_rng(seed: int, replicate: int) -> random.Random:
    """The generator of replicate ``replicate``."""
    return random.Random(replicate_seed(seed, replicate))
