"""PRIM scenario discovery: the box of parameter ranges where an outcome is most likely.

The Patient Rule Induction Method of Friedman, J. H. and Fisher, N. I. (1999),
"Bump hunting in high-dimensional data", *Statistics and Computing* 9(2):
123-143, as scenario discovery uses it (Bryant, B. P. and Lempert, R. J.
(2010), "Thinking inside the box", *Technological Forecasting and Social
Change* 77(1): 34-49). Only the top-down *peeling* phase is implemented (no
pasting, no covering of further boxes):

Start with the box holding every point. At each step, for every parameter,
try removing the ``alpha`` share of the points in the box with the lowest
values of it, and the share with the highest; keep the one removal that gives
the highest mean of ``y`` in what remains (ties: the first parameter, lower
side first). Stop when the box would hold fewer than ``min_mass`` of the
points or no removal shrinks it.

``y`` is in [0, 1]: 0/1 for one replicate per point, or the share of a
point's replicates where the outcome occurred (with the same number of
replicates at every point, this is PRIM on all the replicates: every mean
below is the same). Along the trajectory of boxes:

- **coverage** = sum of y inside / sum of y overall: the share of all the
  cases of interest the box captures;
- **density** = mean of y inside: how likely the outcome is inside the box;
- **mass** = share of the points inside.

The reported box is the densest one whose coverage is at least
``min_coverage`` (the analyst's trade-off; the whole trajectory is kept).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.random((2000, 2))
>>> y = ((x[:, 0] > 0.6) & (x[:, 1] < 0.3)).astype(float)
>>> r = prim(x, y, ["a", "b"], min_coverage=0.8)
>>> [round(v, 1) for v in r.box[0]], [round(v, 1) for v in r.box[1]]
([0.6, 1.0], [0.0, 0.3])
"""
from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np


@attrs.frozen
class Step:
    coverage: float
    density: float
    mass: float
    box: tuple[tuple[float, float], ...]


@attrs.frozen
class PrimResult:
    """The peeling trajectory, the chosen step and its box (per parameter: [low, high]
    of the points inside); ``limits`` are the whole data's ranges; ``restricted[j]``
    says whether the box is narrower than the data in parameter j."""

    names: tuple[str, ...]
    trajectory: tuple[Step, ...]
    chosen: int
    limits: tuple[tuple[float, float], ...]

    @property
    def box(self) -> tuple[tuple[float, float], ...]:
        return self.trajectory[self.chosen].box

    @property
    def restricted(self) -> tuple[bool, ...]:
        return tuple(b != lim for b, lim in zip(self.box, self.limits))

    @property
    def coverage(self) -> float:
        return self.trajectory[self.chosen].coverage

    @property
    def density(self) -> float:
        return self.trajectory[self.chosen].density


def _box(x: np.ndarray, inside: np.ndarray) -> tuple[tuple[float, float], ...]:
    xs = x[inside]
    return tuple((float(xs[:, j].min()), float(xs[:, j].max())) for j in range(x.shape[1]))


def prim(x: np.ndarray, y: np.ndarray, names: Sequence[str], alpha: float = 0.05,
         min_mass: float = 0.05, min_coverage: float = 0.5) -> PrimResult:
    """Peel ``x`` (points x parameters) towards high ``y`` (see the module docs)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    if n == 0 or len(y) != n:
        raise ValueError("prim needs as many outcome values as points, and some points")
    if not 0 < alpha < 1 or not 0 < min_mass <= 1:
        raise ValueError("alpha and min_mass must be in (0, 1)")
    total = float(y.sum())
    inside = np.ones(n, dtype=bool)

    def step(mask: np.ndarray) -> Step:
        k = int(mask.sum())
        s = float(y[mask].sum())
        return Step(s / total if total > 0 else 0.0, s / k, k / n, _box(x, mask))

    traj = [step(inside)]
    while True:
        k = int(inside.sum())
        best: tuple[float, np.ndarray] | None = None
        for j in range(d):
            col = x[inside, j]
            for side in (0, 1):
                q = np.quantile(col, alpha if side == 0 else 1 - alpha, method="lower"
                                if side == 0 else "higher")
                keep = inside & ((x[:, j] > q) if side == 0 else (x[:, j] < q))
                m = int(keep.sum())
                if m == k or m < min_mass * n or m == 0:
                    continue
                mean = float(y[keep].mean())
                if best is None or mean > best[0]:
                    best = (mean, keep)
        if best is None:
            break
        inside = best[1]
        traj.append(step(inside))
    ok = [i for i, s in enumerate(traj) if s.coverage >= min_coverage - 1e-12]
    # the densest (the first of equally dense ones: no peel without a gain)
    top = max((traj[i].density for i in ok), default=traj[0].density)
    chosen = min((i for i in ok if traj[i].density >= top - 1e-9), default=0)
    limits = _box(x, np.ones(n, dtype=bool))
    return PrimResult(tuple(names), tuple(traj), chosen, limits)
