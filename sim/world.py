"""The world model: an event graph of actors, state, event types, rules and reviews.

These are frozen value objects; reading and validating a world *file* is
:mod:`sim.worldfile`'s job. The engine (:mod:`sim.engine`) uses:

- :class:`Condition` objects: ``holds(values) -> bool`` over a state mapping;
- :class:`Delay` objects: ``draw(rng) -> float`` days, ``rng`` a ``random.Random``;
- :class:`Rule`: on one event, maybe schedule another after a delay;
- :class:`Review`: an actor's periodic reconsideration, a discrete hazard;
- :class:`World`: all of it, with indexes for the engine and
  :meth:`World.with_parameters` for scenario ``set:`` overrides.

Conditions are built from structured YAML only (never ``eval``):

>>> c = condition({"sanctioned": False, "tension": {">=": 3}})
>>> c.holds({"sanctioned": False, "tension": 4}), c.holds({"sanctioned": True, "tension": 4})
(True, False)
>>> import random
>>> Delay("fixed", {"value": 30}).draw(random.Random(1))
30.0
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
import operator
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import attrs

from sim.errors import InputError, Problem, did_you_mean, excerpt
from sim.limits import MAX_DAYS, MAX_SIGMA

# --------------------------------------------------------------------------- conditions

COMPARATORS = {"==": operator.eq, "!=": operator.ne, ">=": operator.ge,
               ">": operator.gt, "<=": operator.le, "<": operator.lt}


class Condition:
    """Base of structured conditions over a mapping of state values."""

    def holds(self, values: Mapping[str, Any]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def variables(self) -> set[str]:  # pragma: no cover - abstract
        raise NotImplementedError


@attrs.frozen
class Compare(Condition):
    """``var op value``; ``{x: 3}`` is ``Compare('x', '==', 3)``."""

    var: str
    op: str
    value: Any

    def holds(self, values: Mapping[str, Any]) -> bool:
        return COMPARATORS[self.op](values[self.var], self.value)

    def variables(self) -> set[str]:
        return {self.var}


@attrs.frozen
class All(Condition):
    parts: tuple[Condition, ...]

    def holds(self, values: Mapping[str, Any]) -> bool:
        return all(p.holds(values) for p in self.parts)

    def variables(self) -> set[str]:
        return set().union(*(p.variables() for p in self.parts)) if self.parts else set()


@attrs.frozen
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def holds(self, values: Mapping[str, Any]) -> bool:
        return any(p.holds(values) for p in self.parts)

    def variables(self) -> set[str]:
        return set().union(*(p.variables() for p in self.parts)) if self.parts else set()


@attrs.frozen
class Not(Condition):
    part: Condition

    def holds(self, values: Mapping[str, Any]) -> bool:
        return not self.part.holds(values)

    def variables(self) -> set[str]:
        return self.part.variables()


def end_of_day(day: float) -> float:
    """The last instant of day number ``day`` (a whole number of days since ``starts``):
    the largest float below ``day + 1``, so ``t <= end_of_day(d)`` exactly when ``t`` falls
    on day ``d`` or before. Engines and outcomes compare times with ``<=``; a date used as
    a bound is converted with this (see :meth:`World.end_of_day`).

    >>> end_of_day(9.0) < 10.0, 9.999 <= end_of_day(9.0), math.floor(end_of_day(9.0))
    (True, True, 9)
    """
    return math.nextafter(float(day) + 1.0, -math.inf)


DATE_VAR = "date"
CALENDAR_OPS = {"before": "<", "on_or_after": ">="}


def condition(spec: Any, starts: dt.date | None = None) -> Condition | None:
    """Build a Condition from its YAML form (no validation of names; see worldfile).

    Forms: ``{var: value}``, ``{var: {">=": 3}}``, ``{any: [...]}``,
    ``{all: [...]}``, ``{not: {...}}``; a mapping of several entries is their ``all``.
    ``{date: {before: D}}`` / ``{date: {on_or_after: D}}`` compare the clock (the
    variable ``date``, days since ``starts``) with day ``D - starts``:

    >>> condition({"date": {"before": dt.date(2019, 1, 11)}}, dt.date(2019, 1, 1))
    Compare(var='date', op='<', value=10.0)
    """
    if spec is None:
        return None
    if isinstance(spec, list):
        return All(tuple(condition(s, starts) for s in spec))
    if not isinstance(spec, Mapping):
        raise ValueError(f"a condition must be a mapping, not {type(spec).__name__}")
    parts: list[Condition] = []
    for key, value in spec.items():
        if key == "any":
            parts.append(AnyOf(tuple(condition(s, starts) for s in value)))
        elif key == "all":
            parts.append(All(tuple(condition(s, starts) for s in value)))
        elif key == "not":
            parts.append(Not(condition(value, starts)))
        elif key == DATE_VAR and isinstance(value, Mapping) and starts is not None:
            for op, d in value.items():
                parts.append(Compare(DATE_VAR, CALENDAR_OPS[op], float((d - starts).days)))
        elif isinstance(value, Mapping):
            for op, v in value.items():
                if op not in COMPARATORS:
                    raise ValueError(f"unknown comparison '{op}'")
                parts.append(Compare(key, op, v))
        else:
            parts.append(Compare(key, "==", value))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


# --------------------------------------------------------------------------- delays

DELAY_PARAMS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "triangular": ("low", "mode", "high"),
    "choice": ("values", "weights"),
}


def triangular_ppf(u: float, low: float, mode: float, high: float) -> float:
    """The inverse CDF of the triangular distribution (low, mode, high) at ``u``.

    >>> triangular_ppf(0.5, 0.0, 0.5, 1.0)
    0.5
    """
    span = high - low
    if span <= 0.0:
        return low
    if u * span < mode - low:
        return low + math.sqrt(u * span * (mode - low))
    return high - math.sqrt((1.0 - u) * span * (high - mode))


@attrs.frozen
class Delay:
    """A distribution of days. ``draw(rng)`` takes a ``random.Random``.

    kinds and parameters: fixed(value); uniform(low, high); exponential(mean);
    lognormal(median, sigma); triangular(low, mode, high); choice(values[, weights]).

    Every draw is an inverse transform of ONE uniform: ``draw(rng)`` is
    ``from_uniform(rng.random())``, so a delay consumes exactly one number of its
    stream whatever its kind (what the engine's common random numbers rely on).

    >>> round(Delay("exponential", {"mean": 10}).from_uniform(0.5), 4)   # median = mean ln 2
    6.9315
    >>> Delay("lognormal", {"median": 30, "sigma": 0.5}).from_uniform(0.5)
    30.0
    """

    kind: str
    params: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    # u == 0 (probability 2**-53 from random()) has no normal quantile: use half a step
    _TINY = 2.0 ** -54
    _inv_cdf = staticmethod(NormalDist().inv_cdf)

    def draw(self, rng: Any) -> float:
        return self.from_uniform(rng.random())

    def from_uniform(self, u: float) -> float:
        """The delay whose cumulative probability is ``u``, for ``0 <= u < 1``.

        fixed: the value; uniform: low + u (high - low); exponential:
        -mean log(1 - u); lognormal: median exp(sigma z(u)), z the standard
        normal quantile (u = 0 is taken as 2**-54); triangular: the closed-form
        inverse of its CDF; choice: the first value whose cumulative weight
        exceeds u times the total weight.
        """
        if not 0.0 <= u < 1.0:
            raise ValueError(f"a uniform in [0, 1) is needed, not {u!r}")
        p = self.params
        k = self.kind
        if k == "fixed":
            return float(p["value"])
        if k == "exponential":
            return -float(p["mean"]) * math.log1p(-u)
        if k == "lognormal":
            return float(p["median"]) * math.exp(
                float(p["sigma"]) * self._inv_cdf(u if u > 0.0 else self._TINY))
        if k == "uniform":
            low = float(p["low"])
            return low + u * (float(p["high"]) - low)
        if k == "triangular":
            return triangular_ppf(u, float(p["low"]), float(p["mode"]), float(p["high"]))
        if k == "choice":
            values = p["values"]
            w = p.get("weights") or [1] * len(values)
            cum = []
            total = 0.0
            for x in w:
                total += float(x)
                cum.append(total)
            i = bisect.bisect_right(cum, u * total)
            return float(values[min(i, len(values) - 1)])
        raise ValueError(f"unknown delay kind {k!r}")

    def mean(self) -> float:
        """The distribution's mean (for documentation and plots)."""
        p = self.params
        k = self.kind
        if k == "fixed":
            return float(p["value"])
        if k == "exponential":
            return float(p["mean"])
        if k == "lognormal":
            return p["median"] * math.exp(p["sigma"] ** 2 / 2)
        if k == "uniform":
            return (p["low"] + p["high"]) / 2
        if k == "triangular":
            return (p["low"] + p["mode"] + p["high"]) / 3
        if k == "choice":
            w = p.get("weights") or [1] * len(p["values"])
            return sum(v * x for v, x in zip(p["values"], w)) / sum(w)
        raise ValueError(k)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind}({args})"


def delay_problem(kind: str, p: Mapping[str, Any]) -> tuple[str, str] | None:
    """(parameter, what is wrong) if numeric delay parameters are impossible, else None.

    For callers that change parameters after loading (a scenario's ``set:``):
    ``delay_problem("uniform", {"low": 5, "high": 1})`` names ``low``. Choice
    delays' lists are checked by the loader only.

    >>> delay_problem("lognormal", {"median": 0, "sigma": 1})
    ('median', 'the median must be positive, not 0')
    >>> delay_problem("triangular", {"low": 1, "mode": 3, "high": 5}) is None
    True
    """
    for name in DELAY_PARAMS.get(kind, ()):
        v = p.get(name)
        if name in ("values", "weights") or v is None:
            continue
        if not finite_number(v):
            return (name, f"must be a finite number, not {excerpt(v)}")
        if name == "sigma" and v > MAX_SIGMA:
            return (name, f"sigma is {v:g}; at most {MAX_SIGMA:g} (larger overflows)")
        if name != "sigma" and v > MAX_DAYS:
            return (name, f"{v:g} days is more than the longest delay allowed "
                          f"({MAX_DAYS:g} days)")
    if kind == "choice":
        w = p.get("weights")
        if w is not None and len(w) != len(p["values"]):
            return ("weights", f"{len(p['values'])} values but {len(w)} weights")
        if w is not None and sum(w) <= 0:
            return ("weights", "the weights sum to 0")
    if kind == "fixed" and p["value"] < 0:
        return ("value", "a delay cannot be negative")
    if kind == "uniform" and p["low"] < 0:
        return ("low", "a delay cannot be negative")
    if kind == "uniform" and p["low"] > p["high"]:
        return ("low", f"low ({p['low']:g}) is above high ({p['high']:g})")
    if kind == "exponential" and p["mean"] <= 0:
        return ("mean", f"the mean must be positive, not {p['mean']:g}")
    if kind == "lognormal" and p["median"] <= 0:
        return ("median", f"the median must be positive, not {p['median']:g}")
    if kind == "lognormal" and p["sigma"] < 0:
        return ("sigma", f"sigma cannot be negative ({p['sigma']:g})")
    if kind == "triangular" and p["low"] < 0:
        return ("low", "a delay cannot be negative")
    if kind == "triangular" and not p["low"] <= p["mode"] <= p["high"]:
        return ("mode", f"the mode ({p['mode']:g}) must lie between low ({p['low']:g}) "
                        f"and high ({p['high']:g})")
    return None


def finite_number(value: Any) -> bool:
    """A real int or float (not true/false) that is finite as a float.

    >>> finite_number(30), finite_number(float("nan")), finite_number(10**400), finite_number("1")
    (True, False, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:   # an int too large for a float
        return False


# --------------------------------------------------------------------------- the graph

@attrs.frozen
class Actor:
    id: str
    name: str


@attrs.frozen
class Variable:
    """A state variable. Numbers may have bounds (effects clamp to them) and a float
    may decay toward ``rest`` with half-life ``half_life`` days (see :mod:`sim.state`)."""

    name: str
    type: str            # "bool", "int" or "float"
    initial: Any
    min: float | None = None
    max: float | None = None
    half_life: float | None = None
    rest: float = 0.0

    def clamp(self, value: Any) -> Any:
        """``value`` within the bounds."""
        if self.min is not None and value < self.min:
            return type(value)(self.min)
        if self.max is not None and value > self.max:
            return type(value)(self.max)
        return value

    def decayed(self, value: float, days: float) -> float:
        """The value ``days`` after it was ``value`` (exact exponential decay).

        >>> Variable("t", "float", 8.0, half_life=10.0).decayed(8.0, 20.0)
        2.0
        """
        if self.half_life is None:
            return value
        rest = self.rest
        return rest + (value - rest) * 0.5 ** (days / self.half_life)


@attrs.frozen
class Effect:
    """What an event does to one variable: ``set`` it or ``add`` to it."""

    var: str
    op: str              # "set" or "add"
    value: Any

    def apply(self, values: dict[str, Any]) -> None:
        if self.op == "set":
            values[self.var] = self.value
        else:
            values[self.var] = values[self.var] + self.value


JOINT = "+"     # joins the actors of a joint event ("USA+TUR"); ids cannot contain it


@attrs.frozen
class EventType:
    """An event type. A joint event (several actors, e.g. a joint statement) has
    ``actor`` "A+B" (:data:`JOINT`); :attr:`actors` lists them."""

    id: str
    actor: str | None = None
    target: str | None = None
    label: str = ""
    effects: tuple[Effect, ...] = ()
    once: bool = False

    @property
    def actors(self) -> tuple[str, ...]:
        """Every actor of the event (one, several for a joint event, or none)."""
        return tuple(self.actor.split(JOINT)) if self.actor else ()


@attrs.frozen
class Rule:
    """An edge: when ``on`` occurs, with ``probability`` schedule ``then`` after ``delay``.

    ``when`` is checked when the rule is evaluated and again when the event
    falls due; ``unless`` lists event kinds whose occurrence cancels the
    pending event.
    """

    id: str
    on: str
    then: str
    probability: float = 1.0
    delay: Delay = Delay("fixed", {"value": 0})
    when: Condition | None = None
    unless: tuple[str, ...] = ()
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class Modifier:
    """Under ``when``, the review's probability is multiplied by ``multiply`` and/or ``add`` is added."""

    when: Condition | None
    multiply: float = 1.0
    add: float = 0.0


@attrs.frozen
class Curve:
    """A review probability that depends on a numeric variable ``var``.

    ``logistic``: ``max / (1 + exp(-(x - mid) / scale))`` (params mid, scale, max);
    ``per_unit``: ``1 - (1 - p) ** x`` for x > 0, else 0 (param p): the chance that
    at least one of x independent unit chances p fires.

    >>> Curve("logistic", "t", {"mid": 5, "scale": 2, "max": 0.4}).at(5.0)
    0.2
    >>> round(Curve("per_unit", "t", {"p": 0.5}).at(2.0), 6)
    0.75
    """

    kind: str
    var: str
    params: Mapping[str, float] = attrs.field(hash=False)

    def at(self, x: float) -> float:
        p = self.params
        if self.kind == "logistic":
            z = -(x - p["mid"]) / p["scale"]
            return p.get("max", 1.0) / (1.0 + math.exp(z)) if z < 700 else 0.0
        return 1.0 - (1.0 - p["p"]) ** x if x > 0 else 0.0

    def __call__(self, values: Mapping[str, Any]) -> float:
        return self.at(values[self.var])


@attrs.frozen
class Review:
    """An actor reconsiders every ``every`` days: while ``when`` holds, ``decides`` occurs
    with probability ``probability`` adjusted by ``modifiers`` (applied in order,
    clamped to [0, 1]).

    ``probability`` may be a :class:`Curve` of a variable. ``phase``: days from the
    fork to the first tick (None: ``every``; ``"random"``: drawn per replicate);
    ``calendar``: (month, day) pairs on which it ticks every year instead;
    ``choose``: exclusive options ((event, weight), ...) instead of ``decides``;
    ``unless``: events after any of which it stops.
    """

    id: str
    actor: str
    every: float
    decides: str | None
    probability: float | Curve
    when: Condition | None = None
    modifiers: tuple[Modifier, ...] = ()
    phase: float | str | None = None
    calendar: tuple[tuple[int, int], ...] = ()
    choose: tuple[tuple[str, float], ...] = ()
    unless: tuple[str, ...] = ()

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The events this review can produce."""
        return tuple(e for e, _ in self.choose) if self.choose else (self.decides,)

    def variables(self) -> set[str]:
        """The variables its hazard and ``when`` read."""
        out = set(self.when.variables()) if self.when is not None else set()
        for m in self.modifiers:
            if m.when is not None:
                out |= m.when.variables()
        if isinstance(self.probability, Curve):
            out.add(self.probability.var)
        return out

    def hazard(self, values: Mapping[str, Any]) -> float:
        p = self.probability
        if isinstance(p, Curve):
            p = p(values)
        for m in self.modifiers:
            if m.when is None or m.when.holds(values):
                p = p * m.multiply + m.add
        return 0.0 if p < 0.0 else 1.0 if p > 1.0 else p


@attrs.frozen
class Invariant:
    """What must never happen: ``never`` occurring while none of ``unless`` has occurred
    (when ``unless`` is given) and while ``when`` holds (when given; checked just
    before its effects). With neither, any occurrence of ``never`` breaks it."""

    never: str
    unless: tuple[str, ...] = ()
    when: Condition | None = None
    note: str = ""

    def describe(self) -> str:
        """``never X unless Y or Z when <condition>``, in one line.

        >>> Invariant("sanction", when=condition({"deal": True, "n": {">": 2}})).describe()
        'never sanction when deal == true and n > 2'
        """
        out = f"never {self.never}"
        if self.unless:
            out += " unless " + " or ".join(self.unless)
        if self.when is not None:
            out += " when " + describe_condition(self.when)
        return out


def describe_condition(c: Condition) -> str:
    """A condition in one line of text (the clock variable ``date`` as "day N")."""
    if isinstance(c, Compare):
        v = c.value
        text = ("true" if v else "false") if isinstance(v, bool) else f"{v:g}" \
            if isinstance(v, float) else str(v)
        if c.var == DATE_VAR:
            text = f"day {text}"
        return f"{c.var} {c.op} {text}"
    if isinstance(c, Not):
        return f"not ({describe_condition(c.part)})"
    if isinstance(c, (All, AnyOf)):
        joiner = " and " if isinstance(c, All) else " or "
        parts = [describe_condition(p) for p in c.parts]
        if len(parts) > 1:
            parts = [f"({p})" if isinstance(q, (All, AnyOf)) else p
                     for p, q in zip(parts, c.parts)]
        return joiner.join(parts)
    return repr(c)


@attrs.frozen
class World:
    """A whole event graph. ``rules`` and ``reviews`` keep file order."""

    name: str
    starts: dt.date
    actors: Mapping[str, Actor] = attrs.field(hash=False)
    variables: Mapping[str, Variable] = attrs.field(hash=False)
    events: Mapping[str, EventType] = attrs.field(hash=False)
    rules: tuple[Rule, ...] = ()
    reviews: tuple[Review, ...] = ()
    file: str | None = attrs.field(default=None, eq=False)
    invariants: tuple[Invariant, ...] = ()
    # the last history date the parameters were fitted on (None: not declared); see sim.scoring
    fitted_through: dt.date | None = attrs.field(default=None, eq=False)
    rules_on: Mapping[str, tuple[Rule, ...]] = attrs.field(init=False, eq=False, hash=False)
    cancelled_by: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        on: dict[str, list[Rule]] = {}
        cancel: dict[str, list[str]] = {}
        for r in self.rules:
            on.setdefault(r.on, []).append(r)
            for u in r.unless:
                cancel.setdefault(u, []).append(r.id)
        object.__setattr__(self, "rules_on", {k: tuple(v) for k, v in on.items()})
        object.__setattr__(self, "cancelled_by", {k: tuple(v) for k, v in cancel.items()})

    # ---- time

    def day(self, date: dt.date) -> float:
        """Days from ``starts`` to ``date``."""
        return float((date - self.starts).days)

    def end_of_day(self, date: dt.date) -> float:
        """The last instant of ``date`` in days since ``starts``: the largest float below
        ``day(date) + 1``. A date used as a bound (a horizon, an outcome's ``by:`` or
        ``at:``) means the whole day: ``t <= end_of_day(D)`` holds exactly for the times
        on or before ``D``, including an event at 23:59 of ``D`` and none of ``D + 1``."""
        return end_of_day(self.day(date))

    def date(self, day: float) -> dt.date:
        """The calendar date of day ``day`` (rounded down)."""
        return self.starts + dt.timedelta(days=math.floor(day))

    # ---- state

    def initial_state(self) -> dict[str, Any]:
        return {v.name: v.initial for v in self.variables.values()}

    @property
    def uses_date(self) -> bool:
        """True if some condition reads the calendar (``date: {before: ...}``)."""
        conds = [r.when for r in self.rules] + [i.when for i in self.invariants]
        conds += [rv.when for rv in self.reviews]
        conds += [m.when for rv in self.reviews for m in rv.modifiers]
        return any(c is not None and DATE_VAR in c.variables() for c in conds)

    # ---- parameters for scenario `set:`

    def parameters(self) -> dict[str, Any]:
        """Every settable dotted path and its current value."""
        out: dict[str, Any] = {}
        for v in self.variables.values():
            out[f"state.{v.name}"] = v.initial
        for r in self.rules:
            out[f"rules.{r.id}.probability"] = r.probability
            for k, val in r.delay.params.items():
                out[f"rules.{r.id}.delay.{k}"] = val
        for rv in self.reviews:
            if isinstance(rv.probability, Curve):
                for k, val in rv.probability.params.items():
                    out[f"reviews.{rv.id}.probability.{k}"] = val
            else:
                out[f"reviews.{rv.id}.probability"] = rv.probability
            if not rv.calendar:
                out[f"reviews.{rv.id}.every"] = rv.every
            for i, m in enumerate(rv.modifiers):
                out[f"reviews.{rv.id}.modifiers.{i}.multiply"] = m.multiply
                out[f"reviews.{rv.id}.modifiers.{i}.add"] = m.add
        return out

    def with_parameters(self, changes: Mapping[str, Any], file: Any = None,
                        where: Any = None) -> World:
        """A new World with dotted-path parameters changed.

        ``where(path) -> (line, col)`` lets errors point into the file that asked
        for the change. Unknown paths raise :class:`InputError` with a hint.
        """
        if not changes:
            return self
        known = self.parameters()
        problems = []
        bad_paths = set()
        for path, value in changes.items():
            line, col = where(path) if where else (None, None)
            if path not in known:
                problems.append(Problem(file, line, col, f"unknown parameter "
                                        f"'{excerpt(path, 80)}'", did_you_mean(path, known)))
                bad_paths.add(path)
                continue
            err = _check_value(path, value, known[path], self)
            if err:
                problems.append(Problem(file, line, col, f"'{path}': {err}"))
                bad_paths.add(path)
        for r in self.rules:  # a changed delay must still be a possible distribution
            touched = [p for p in changes if p.startswith(f"rules.{r.id}.delay.")]
            if not touched or bad_paths.intersection(touched):
                continue
            params = dict(r.delay.params)
            params.update({p.split(".")[3]: changes[p] for p in touched})
            bad = delay_problem(r.delay.kind, params)
            if bad:
                path = f"rules.{r.id}.delay.{bad[0]}"
                line, col = where(path if path in changes else touched[0]) if where \
                    else (None, None)
                problems.append(Problem(file, line, col, f"'{path}': {bad[1]}",
                                        f"rule '{r.id}' has a {r.delay.kind} delay"))
        if problems:
            raise InputError(problems)
        variables = dict(self.variables)
        rules = {r.id: r for r in self.rules}
        reviews = {r.id: r for r in self.reviews}
        for path, value in changes.items():
            parts = path.split(".")
            if parts[0] == "state":
                v = variables[parts[1]]
                variables[v.name] = attrs.evolve(v, initial=_coerce(v.type, value))
            elif parts[0] == "rules":
                r = rules[parts[1]]
                if parts[2] == "probability":
                    rules[r.id] = attrs.evolve(r, probability=float(value))
                else:
                    params = dict(r.delay.params)
                    params[parts[3]] = value
                    rules[r.id] = attrs.evolve(r, delay=Delay(r.delay.kind, params))
            else:
                rv = reviews[parts[1]]
                if parts[2] == "probability" and len(parts) == 4:
                    c = rv.probability
                    params = {**c.params, parts[3]: float(value)}
                    reviews[rv.id] = attrs.evolve(rv, probability=Curve(c.kind, c.var, params))
                elif parts[2] in ("probability", "every"):
                    reviews[rv.id] = attrs.evolve(rv, **{parts[2]: float(value)})
                else:
                    mods = list(rv.modifiers)
                    i = int(parts[3])
                    mods[i] = attrs.evolve(mods[i], **{parts[4]: float(value)})
                    reviews[rv.id] = attrs.evolve(rv, modifiers=tuple(mods))
        new = World(self.name, self.starts, self.actors, variables, self.events,
                    tuple(rules[r.id] for r in self.rules),
                    tuple(reviews[r.id] for r in self.reviews), self.file, self.invariants,
                    fitted_through=self.fitted_through)
        before = {frozenset(ids) for ids, _ in instant_loops(self)}
        for ids, loop in instant_loops(new):
            if frozenset(ids) in before:
                continue
            asked = [p for p in changes if p.split(".")[1:2] and p.split(".")[1] in ids]
            line, col = where(asked[0]) if (where and asked) else (None, None)
            problems.append(Problem(file, line, col, f"with this setting {loop_message(ids, loop)}",
                                    LOOP_HINT))
        if problems:
            raise InputError(problems)
        return new


LOOP_HINT = ("give one of them a delay, a probability below 1 or a 'when', or make an "
             "event of the loop 'once'")


def loop_message(ids: list[str], loop: set[str]) -> str:
    """Words for a loop of rules found by :func:`instant_loops`."""
    who = (f"rule '{ids[0]}' forms" if len(ids) == 1 else
           "rules " + ", ".join(f"'{i}'" for i in ids) + " form")
    return (f"{who} a loop with no delay, probability 1 and no 'when' (through "
            + ", ".join(f"'{x}'" for x in sorted(loop)) + "): it would repeat forever "
            "at one instant")


def instant_loops(world: World | None = None, rules: tuple | list | None = None,
                  events: Mapping[str, EventType] | None = None
                  ) -> list[tuple[list[str], set[str]]]:
    """Rules that surely re-trigger each other with no delay would never let time advance:
    cycles of rules with ``delay`` fixed at 0, probability 1 and no ``when``, through
    events none of which is ``once``. Returns (rule ids in file order, the loop's events)
    for each loop. Pass a ``world``, or its ``rules`` and ``events`` while building one.
    """
    if world is not None:
        rules, events = world.rules, world.events
    rules = list(rules or ())
    events = events or {}
    edges: dict[str, list[Rule]] = {}
    for r in rules:
        if (r.delay.kind == "fixed" and r.delay.params.get("value") == 0
                and r.probability == 1.0 and r.when is None
                and not getattr(events.get(r.on), "once", True)
                and not getattr(events.get(r.then), "once", True)):
            edges.setdefault(r.on, []).append(r)
    if not edges:
        return []

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for r in edges.get(todo.pop(), ()):
                if r.then not in seen:
                    seen.add(r.then)
                    todo.append(r.then)
        return seen

    reachable = {e: reach(e) for e in edges}
    done: set[str] = set()
    out = []
    for r in rules:
        e = r.on
        if e in done or e not in reachable or e not in reachable[e]:
            continue
        loop = {x for x in reachable[e] if x in reachable and e in reachable[x]}
        done |= loop
        ids = [q.id for q in rules if q.on in loop and q in edges.get(q.on, ())
               and q.then in loop]
        out.append((ids, loop))
    return out


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _coerce(type_: str, value: Any) -> Any:
    return {"bool": bool, "int": int, "float": float}[type_](value)


def _check_value(path: str, value: Any, current: Any, world: World) -> str | None:
    if path.startswith("state."):
        t = world.variables[path.split(".")[1]].type
        if t == "bool" and not isinstance(value, bool):
            return f"expected true or false, got {excerpt(repr(value))}"
        if t in ("int", "float") and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
            return f"expected a number, got {excerpt(repr(value))}"
        if t in ("int", "float") and not finite_number(value):
            return f"expected a finite number, got {excerpt(value)}"
        if t == "int" and isinstance(value, float) and not value.is_integer():
            return f"expected a whole number, got {value!r}"
        v = world.variables[path.split(".")[1]]
        if t != "bool" and v.clamp(value) != value:
            return f"{value!r} is outside the variable's bounds [{v.min}, {v.max}]"
        return None
    if isinstance(current, list):
        if not isinstance(value, list) or not value:
            return f"expected a non-empty list, got {excerpt(repr(value))}"
        for x in value:
            if not finite_number(x) or x < 0 or x > MAX_DAYS:
                return (f"expected numbers from 0 to {MAX_DAYS:g}, got {excerpt(repr(x))}")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = (" (YAML reads a number without a dot, like 1e5, as text: write 1.0e+5)"
                if isinstance(value, str) and _looks_numeric(value) else "")
        return f"expected a number, got {excerpt(repr(value))}{text}"
    if not finite_number(value):
        return f"expected a finite number, got {excerpt(value)}"
    if path.endswith(".every") and value > MAX_DAYS:
        return f"a review period of {value:g} days is more than {MAX_DAYS:g}"
    if ".probability." in path:
        if path.endswith((".p", ".max")) and not 0.0 <= value <= 1.0:
            return f"a probability must be between 0 and 1, got {value}"
        if path.endswith(".scale") and value <= 0:
            return f"a logistic scale must be positive, got {value}"
        return None
    if path.endswith(".probability") and not 0.0 <= value <= 1.0:
        return f"a probability must be between 0 and 1, got {value}"
    if path.endswith(".every") and value <= 0:
        return f"a review period must be positive, got {value}"
    if ".delay." in path and value < 0 and not path.endswith(".sigma"):
        return f"a delay cannot be negative, got {value}"
    if path.endswith(".sigma") and value < 0:
        return f"sigma cannot be negative, got {value}"
    return None
