"""sim: an event-sourced scenario simulator for policy analysis.

The Python API (what the notebooks use)::

    import sim
    scenario = sim.load("scenarios/s400/baseline.yaml")   # validated, resolved Scenario
    run = sim.run(scenario, replicates=200)               # a Run: its folder, store, outcomes
    run.outcomes                                          # the outcome table (text / HTML)
    run.outcomes.to_pandas()                              # a pandas DataFrame
    sim.open_run("runs/baseline-...")                     # re-open a run folder

Submodules are imported lazily so that ``import sim`` and the CLI start fast.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load", "run", "resume", "open_run", "__version__"]


def load(path: Any):
    """Load and validate a scenario file into a resolved :class:`sim.scenario.Scenario`."""
    from sim.scenario import load_scenario

    return load_scenario(path)


def run(scenario: Any, **kwargs: Any):
    """Run a scenario (a Scenario or a path); see :func:`sim.runner.run` for the options."""
    from sim import runner

    return runner.run(scenario, **kwargs)


def resume(folder: Any, **kwargs: Any):
    """Finish an interrupted run folder."""
    from sim import runner

    return runner.resume(folder, **kwargs)


def open_run(folder: Any, allow_incomplete: bool = False):
    """Open an existing run folder."""
    from sim import runner

    return runner.open_run(folder, allow_incomplete=allow_incomplete)
