"""Parameter uncertainty: the distributions of a scenario's ``uncertain:`` block and
each replicate's draws from them.

A scenario (or one of its branches) may declare, for any path that ``set:``
accepts, a distribution instead of a value::

    uncertain:
      rules.warn_on_contract.probability: {uniform: {low: 0.4, high: 0.8}}
      rules.suspend_with_wg.delay.median: {triangular: {low: 60, mode: 120, high: 240}}
      reviews.turkey_activation.probability: {beta: {a: 2, b: 60}}
      reviews.turkey_activation.every: {choice: {values: [15, 30, 60], weights: [1, 2, 1]}}
      rules.acceleration.delay.median: {lognormal: {median: 200, sigma: 0.3}}

Kinds and parameters (:data:`KINDS`): ``uniform(low, high)``,
``triangular(low, mode, high)``, ``beta(a, b[, low, high])`` (scaled to
[low, high], default [0, 1]), ``lognormal(median, sigma)`` and
``choice(values[, weights])``.

**Draws and common random numbers.** Replicate ``i`` takes, for each uncertain
path, ONE uniform ``u`` from its own stream keyed by (scenario seed, replicate,
path) -- :func:`unit` -- and maps it through the distribution's inverse CDF
(:meth:`Distribution.ppf`). The stream depends on nothing else: not the
branch, not the other uncertain paths, not the engine's streams (which are
keyed by (seed, replicate) only). So replicate ``i`` of a branch that does not
touch a parameter draws exactly the value the base draws, and a branch that
changes a parameter's *range* draws the same quantile of the new range.
Given its seed and drawn values a replicate is re-created exactly: the engine
runs the world with those values ``set``.

Validation (:func:`parse`): the kind and its parameters, and -- against the
world -- that the path exists and that the distribution's whole support is a
legal value for it (a probability within [0, 1], a delay not negative, a
review period positive, a true/false variable only as a choice of true and
false). ``sim.scenario`` also refuses a path that is both ``set:`` and
``uncertain:`` in the same mapping.

>>> d = Distribution("uniform", {"low": 0.2, "high": 0.6})
>>> round(d.ppf(0.5), 6), d.support()
(0.4, (0.2, 0.6))
>>> Distribution("choice", {"values": [15, 30, 60]}).ppf(0.5)
30
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from sim.errors import InputError, Problem, did_you_mean
from sim.world import World, triangular_ppf

KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required parameters, optional parameters)
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "beta": (("a", "b"), ("low", "high")),
    "lognormal": (("median", "sigma"), ()),
    "choice": (("values",), ("weights",)),
}
_TAG = 0x554E43        # "UNC": spawn-key tag of the parameter streams
_UNIT = 2.0 ** -53
HINT = ("e.g. rules.my_rule.probability: {uniform: {low: 0.3, high: 0.7}}; kinds: "
        "uniform(low, high), triangular(low, mode, high), beta(a, b[, low, high]), "
        "lognormal(median, sigma), choice(values[, weights])")


def path_key(path: str) -> int:
    """A 64-bit key of a parameter path (its stream's name)."""
    return int.from_bytes(hashlib.blake2b(path.encode(), digest_size=8).digest(), "little")


def unit(seed: int, replicate: int, path: str) -> float:
    """The uniform in [0, 1) that replicate ``replicate`` of a scenario seeded ``seed``
    uses for ``path``: the first 53 bits of ``SeedSequence(seed, spawn_key=(TAG,
    replicate, key(path)))``. Independent of branch, of the other paths and of
    the engine's streams.

    >>> unit(1, 0, "a") == unit(1, 0, "a") != unit(1, 1, "a")
    True
    """
    ss = np.random.SeedSequence(seed, spawn_key=(_TAG, replicate, path_key(path)))
    return float(int(ss.generate_state(1, np.uint64)[0]) >> 11) * _UNIT


@attrs.frozen
class Distribution:
    """One declared distribution; ``ppf(u)`` is its inverse CDF (``u`` in [0, 1))."""

    kind: str
    params: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def ppf(self, u: float) -> Any:
        """The value whose cumulative probability is ``u``.

        uniform: low + u (high - low); triangular: the closed-form inverse CDF;
        beta: low + (high - low) I^-1_u(a, b) (scipy's ``betaincinv``);
        lognormal: median exp(sigma z(u)) (u = 0 taken as 2**-54); choice: the
        first value whose cumulative weight exceeds u times the total.
        """
        p = self.params
        k = self.kind
        if k == "uniform":
            return float(p["low"]) + u * (float(p["high"]) - float(p["low"]))
        if k == "triangular":
            return triangular_ppf(u, float(p["low"]), float(p["mode"]), float(p["high"]))
        if k == "beta":
            from scipy.special import betaincinv

            low, high = float(p.get("low", 0.0)), float(p.get("high", 1.0))
            return low + (high - low) * float(betaincinv(float(p["a"]), float(p["b"]), u))
        if k == "lognormal":
            from scipy.special import ndtri

            z = float(ndtri(u if u > 0.0 else 2.0 ** -54))
            return float(p["median"]) * math.exp(float(p["sigma"]) * z)
        if k == "choice":
            values = p["values"]
            w = p.get("weights") or [1] * len(values)
            total = float(sum(w))
            cum = 0.0
            for v, x in zip(values, w):
                cum += float(x)
                if u * total < cum:
                    return v
            return values[-1]
        raise ValueError(f"unknown distribution {k!r}")

    def support(self) -> tuple[Any, Any]:
        """The smallest and largest value it can take (inf for lognormal's top)."""
        p = self.params
        k = self.kind
        if k in ("uniform", "triangular"):
            return (p["low"], p["high"])
        if k == "beta":
            return (p.get("low", 0.0), p.get("high", 1.0))
        if k == "lognormal":
            return (0.0 if p["sigma"] > 0 else p["median"], math.inf if p["sigma"] > 0
                    else p["median"])
        values = [v for v, w in zip(p["values"], p.get("weights") or [1] * len(p["values"]))
                  if w > 0]
        if all(isinstance(v, bool) for v in values):
            return (min(values), max(values))
        return (min(values), max(values))

    def values(self) -> list[Any]:
        """The values a choice can take (with positive weight); [] for the others."""
        if self.kind != "choice":
            return []
        p = self.params
        return [v for v, w in zip(p["values"], p.get("weights") or [1] * len(p["values"]))
                if w > 0]

    def mean(self) -> float:
        """Its mean (for documents and tornado captions)."""
        p = self.params
        k = self.kind
        if k == "uniform":
            return (p["low"] + p["high"]) / 2
        if k == "triangular":
            return (p["low"] + p["mode"] + p["high"]) / 3
        if k == "beta":
            low, high = p.get("low", 0.0), p.get("high", 1.0)
            return low + (high - low) * p["a"] / (p["a"] + p["b"])
        if k == "lognormal":
            return p["median"] * math.exp(p["sigma"] ** 2 / 2)
        w = p.get("weights") or [1] * len(p["values"])
        return sum(float(v) * x for v, x in zip(p["values"], w)) / sum(w)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind}({args})"

    def to_yaml(self) -> dict:
        return {self.kind: dict(self.params)}


def draw(uncertain: Mapping[str, Distribution], seed: int, replicate: int,
         integer: Callable[[str], bool] = lambda p: False) -> dict[str, Any]:
    """Replicate ``replicate``'s values of every uncertain path (file order).
    ``integer(path)`` says which paths take whole numbers (they are rounded)."""
    out = {}
    for path, d in uncertain.items():
        v = d.ppf(unit(seed, replicate, path))
        out[path] = int(round(v)) if integer(path) and not isinstance(v, bool) else v
    return out


def integer_path(world: World) -> Callable[[str], bool]:
    """Which paths hold whole numbers (int state variables)."""
    ints = {f"state.{v.name}" for v in world.variables.values() if v.type == "int"}
    return ints.__contains__


# --------------------------------------------------------------------------- parsing

def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def parse_one(spec: Any) -> tuple[Distribution | None, str | None, str | None]:
    """``(distribution, None, None)`` or ``(None, message, hint)`` for one YAML entry
    (no world checks)."""
    if not isinstance(spec, dict) or len(spec) != 1:
        return None, ("a distribution must be a mapping with one kind, got "
                      f"{spec!r}"), HINT
    (kind, params), = spec.items()
    if kind not in KINDS:
        return None, f"unknown distribution '{kind}'", did_you_mean(str(kind), KINDS) or HINT
    req, opt = KINDS[kind]
    if not isinstance(params, dict):
        return None, f"{kind} needs a mapping of its parameters ({', '.join(req + opt)})", HINT
    for k in params:
        if k not in req + opt:
            return None, f"unknown parameter '{k}' of {kind}", did_you_mean(str(k), req + opt)
    for k in req:
        if k not in params:
            return None, f"{kind} without '{k}'", f"{kind} needs: " + ", ".join(req)
    p = dict(params)
    if kind == "choice":
        vals = p["values"]
        if not isinstance(vals, list) or not vals:
            return None, "choice values must be a non-empty list", "e.g. values: [15, 30, 60]"
        if not (all(isinstance(v, bool) for v in vals) or all(_number(v) for v in vals)):
            return None, "choice values must all be numbers or all true/false", \
                "e.g. values: [15, 30, 60]"
        w = p.get("weights")
        if w is not None:
            if (not isinstance(w, list) or len(w) != len(vals)
                    or not all(_number(x) and x >= 0 for x in w) or not sum(w) > 0):
                return None, ("choice weights must be one non-negative number per value, "
                              "not all zero"), "e.g. weights: [1, 2, 1]"
        return Distribution(kind, p), None, None
    for k, v in p.items():
        if not _number(v):
            return None, f"{kind} {k} must be a number, got {v!r}", HINT
    if kind in ("uniform", "triangular") and not p["low"] < p["high"]:
        return None, f"{kind} needs low < high, got low {p['low']} and high {p['high']}", \
            "a fixed value belongs in set:"
    if kind == "triangular" and not p["low"] <= p["mode"] <= p["high"]:
        return None, f"triangular mode {p['mode']} is outside [{p['low']}, {p['high']}]", \
            "low <= mode <= high"
    if kind == "beta":
        if not (p["a"] > 0 and p["b"] > 0):
            return None, "beta a and b must be positive", "e.g. beta: {a: 2, b: 5}"
        if not p.get("low", 0.0) < p.get("high", 1.0):
            return None, "beta needs low < high", "e.g. beta: {a: 2, b: 5, low: 0, high: 0.5}"
    if kind == "lognormal":
        if not p["median"] > 0:
            return None, f"lognormal median must be positive, got {p['median']}", \
                "e.g. lognormal: {median: 120, sigma: 0.5}"
        if not p["sigma"] > 0:
            return None, f"lognormal sigma must be positive, got {p['sigma']}", \
                "a fixed value belongs in set:"
    return Distribution(kind, p), None, None


def domain_problem(path: str, d: Distribution, world: World) -> tuple[str, str] | None:
    """(message, hint) if some value ``d`` can take is not a legal value of ``path``."""
    known = world.parameters()
    if path not in known:
        return f"unknown parameter '{path}'", did_you_mean(path, known) or \
            "paths are those set: accepts, e.g. rules.ID.probability"
    parts = path.split(".")
    if parts[0] == "state":
        t = world.variables[parts[1]].type
        if t == "bool":
            if d.kind != "choice" or not all(isinstance(v, bool) for v in d.values()):
                return (f"'{path}' is true/false: only a choice of true and false fits",
                        f"e.g. {path}: {{choice: {{values: [true, false], weights: [3, 1]}}}}")
            return None
        if d.kind == "choice" and not all(_number(v) for v in d.values()):
            return f"'{path}' is a number; choice values must be numbers", HINT
    elif d.kind == "choice" and not all(_number(v) for v in d.values()):
        return f"'{path}' is a number; choice values must be numbers", HINT
    if isinstance(known[path], list):
        return f"'{path}' is a list; it cannot be uncertain", "declare a scalar parameter"
    lo, hi = d.support()
    if path.endswith(".probability") and not (0.0 <= lo and hi <= 1.0):
        return (f"'{path}' is a probability but {d.describe()} reaches "
                f"{'beyond 1' if hi > 1 else 'below 0'} (support [{lo:g}, {hi:g}])",
                "keep probabilities within [0, 1], e.g. uniform or beta with low >= 0, "
                "high <= 1")
    ends = [v for v in (lo, hi) if math.isfinite(v)]
    if d.kind == "lognormal":
        ends = [d.params["median"]]        # (0, inf): only positivity can fail, and cannot
    for v in ends:
        try:
            world.with_parameters({path: v})
        except InputError as exc:
            msg = exc.problems[0].message
            return (f"{d.describe()} reaches {v:g}, outside what '{path}' allows: {msg}",
                    "narrow the distribution to legal values")
    return None


def parse(spec: Any, world: World | None, report: Callable[[tuple, str, str | None, bool],
                                                            None]) -> dict[str, Distribution]:
    """The ``uncertain:`` mapping as {path: Distribution}. ``report(subpath, message,
    hint, key)`` receives every problem (subpath relative to the ``uncertain`` node)."""
    out: dict[str, Distribution] = {}
    if not isinstance(spec, dict):
        report((), "uncertain must be a mapping of parameter paths to distributions",
               HINT, False)
        return out
    for path, entry in spec.items():
        d, msg, hint = parse_one(entry)
        if d is None:
            report((path,), f"uncertain '{path}': {msg}", hint, False)
            continue
        if world is not None:
            bad = domain_problem(str(path), d, world)
            if bad:
                report((path,), f"uncertain '{path}': {bad[0]}", bad[1], True)
                continue
        out[str(path)] = d
    return out


def check_draw(world: World, values: Mapping[str, Any]) -> World:
    """The world with one replicate's drawn values set (raises InputError with the
    values when they do not make a possible world, e.g. a uniform delay whose drawn
    low passes its drawn high)."""
    try:
        return world.with_parameters(values)
    except InputError as exc:
        raise InputError([Problem(p.file, p.line, p.column,
                                  f"drawn parameters {dict(values)}: {p.message}",
                                  "make the uncertain ranges of one delay compatible")
                          for p in exc.problems]) from None
