"""Reviews and invariants of a world file: the semantic checks that build them.

This module owns turning the ``reviews:`` and ``invariants:`` of a world file, once
they passed the structural checks of :mod:`sim.schemacheck`, into
:class:`sim.world.Review` and :class:`sim.world.Invariant`: references to actors,
events and variables, ``decides``/``choose`` and ``every``/``calendar`` given
together, month-days of every year, hazards of a numeric variable, modifiers that
can never apply. :class:`ReviewParts` is mixed into the world file's parser
(:mod:`sim.worldfile`), which provides ``add``, ``ok``, ``reference``, ``items``,
``condition``, ``event_list``, ``entry_id``, ``conds``, ``actors``, ``variables``
and ``event_ids``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sim.conditions import satisfiable
from sim.schemacheck import fmt as _fmt
from sim.world import All, Condition, Curve, Invariant, Modifier, Review

__all__ = ["ReviewParts"]

MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_CURVE_PARAMS = {"logistic": ("mid", "scale", "max"), "per_unit": ("p",)}


class ReviewParts:
    """The reviews and invariants of the world file parser (a mixin)."""

    add: Any
    ok: Any
    reference: Any
    items: Any
    condition: Any
    event_list: Any
    entry_id: Any
    conds: Any
    actors: dict
    variables: dict
    event_ids: list
    problems: list

    # ---- reviews

    def parse_reviews(self) -> list[Review]:
        out = []
        for path, spec in self.items("reviews"):
            rid = self.entry_id(spec)
            what = f"review '{rid}'" if rid else f"review #{path[1] + 1}"
            before = len(self.problems)
            given = {k for k, v in spec.items() if v is not None}
            if "actor" in given and self.ok(path + ("actor",)):
                self.reference(path + ("actor",), spec["actor"], "actor", self.actors)
            for a, b, hint in (("decides", "choose", "give one event in 'decides', or "
                                "several with weights in 'choose'"),
                               ("every", "calendar", "a review runs every N days or on "
                                "calendar dates, not both")):
                if {a, b} <= given:
                    self.add(path + (b,), f"{what} has both '{a}' and '{b}'", hint, key=True)
            if "phase" in given and "calendar" in given:
                self.add(path + ("phase",), f"{what} runs on calendar dates: 'phase' does "
                                            "not apply", "drop 'phase'", key=True)
            if "decides" in given and "choose" not in given and self.ok(path + ("decides",)):
                self.reference(path + ("decides",), spec["decides"], "event", self.event_ids)
            choose = (self.parse_choose(path + ("choose",), spec["choose"], what)
                      if "choose" in given and self.ok(path + ("choose",)) else ())
            calendar = (self.parse_calendar(path + ("calendar",), spec["calendar"])
                        if "calendar" in given and self.ok(path + ("calendar",)) else ())
            prob = (self.parse_hazard(path + ("probability",), spec["probability"])
                    if "probability" in given and self.ok(path + ("probability",)) else None)
            when = self.condition(path + ("when",), spec.get("when"), what)
            unless = (self.event_list(path + ("unless",), spec.get("unless"))
                      if self.ok(path + ("unless",)) else [])
            modifiers = self.parse_modifiers(path + ("modifiers",), spec.get("modifiers"), what,
                                             when)
            if len(self.problems) > before or not self.ok(path) or rid is None:
                continue
            phase = spec.get("phase")
            out.append(Review(rid, spec["actor"],
                              365.0 if calendar else float(spec["every"]),
                              spec.get("decides") if not choose else None, prob, when,
                              tuple(modifiers),
                              phase="random" if phase == "random" else
                              (None if phase is None else float(phase)),
                              calendar=calendar, choose=choose, unless=tuple(unless)))
        return out

    def parse_choose(self, path: tuple, spec: Mapping, what: str) -> tuple:
        ok = all([self.reference(path + (e,), e, "event", self.event_ids) for e in spec])
        if ok and sum(spec.values()) <= 0:
            self.add(path, f"the weights of 'choose' of {what} sum to 0",
                     "give at least one positive weight")
            ok = False
        return tuple((e, float(w)) for e, w in spec.items()) if ok else ()

    def parse_calendar(self, path: tuple, spec: list) -> tuple:
        hint = 'month-days as text, e.g. calendar: ["12-15"] (every year on 15 December)'
        out = []
        for j, md in enumerate(spec):
            m = MONTH_DAY.match(md)
            try:
                if m is None or (int(m[1]), int(m[2])) == (2, 29):
                    raise ValueError
                dt.date(2001, int(m[1]), int(m[2]))
            except ValueError:
                self.add(path + (j,), f"{_fmt(md)} is not a month-day of every year",
                         hint + "; 02-29 is not in every year")
                continue
            out.append((int(m[1]), int(m[2])))
        return tuple(sorted(set(out))) if len(out) == len(spec) else ()

    def parse_hazard(self, path: tuple, spec: Any) -> float | Curve | None:
        if not isinstance(spec, Mapping):
            return float(spec)
        kind, params = next(iter(spec.items()))
        kpath = path + (kind,)
        var = params["var"]
        if not self.reference(kpath + ("var",), var, "variable", self.variables):
            return None
        if self.variables[var].type == "bool":
            self.add(kpath + ("var",), f"a {kind} probability needs a numeric variable; "
                                       f"'{var}' is true/false", "use a modifier instead")
            return None
        return Curve(kind, var, {k: float(params[k]) for k in _CURVE_PARAMS[kind]
                                 if params.get(k) is not None})

    def parse_modifiers(self, path: tuple, section: Any, what: str,
                        review_when: Condition | None) -> list[Modifier]:
        if not isinstance(section, list):
            return []
        out = []
        types = self.conds.var_types()
        for j, spec in enumerate(section):
            mpath = path + (j,)
            mwhat = f"modifier #{j + 1} of {what}"
            if not isinstance(spec, Mapping):
                continue
            before = len(self.problems)
            if spec.get("multiply") is None and spec.get("add") is None and self.ok(mpath):
                self.add(mpath, f"{mwhat} changes nothing", "give 'multiply' and/or 'add'")
            when = self.condition(mpath + ("when",), spec.get("when"), mwhat)
            if (when is not None and review_when is not None
                    and satisfiable(when, types) is True
                    and satisfiable(review_when, types) is True):
                result = satisfiable(All((review_when, when)), types)
                if result is not True:
                    names = ", ".join(f"'{v}'" for v in sorted(result))
                    self.add(mpath + ("when",), f"{mwhat} can never apply: its 'when' "
                                                f"contradicts the review's own 'when' on {names}",
                             "the review only runs while its 'when' holds")
            if len(self.problems) > before or not self.ok(mpath):
                continue
            mult, add = spec.get("multiply"), spec.get("add")
            out.append(Modifier(when, 1.0 if mult is None else float(mult),
                                0.0 if add is None else float(add)))
        return out

    # ---- invariants

    def parse_invariants(self) -> list[Invariant]:
        out = []
        for path, spec in self.items("invariants"):
            what = f"invariant #{path[1] + 1}"
            before = len(self.problems)
            never = spec.get("never")
            if never is not None and self.ok(path + ("never",)):
                self.reference(path + ("never",), never, "event", self.event_ids)
            unless = (self.event_list(path + ("unless",), spec.get("unless"))
                      if self.ok(path + ("unless",)) else [])
            when = self.condition(path + ("when",), spec.get("when"), what)
            if len(self.problems) > before or not self.ok(path):
                continue
            out.append(Invariant(never, tuple(unless), when, spec.get("note") or ""))
        return out
