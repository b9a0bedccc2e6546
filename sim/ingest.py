"""Article text -> candidate history entries, for a person to review (``sim ingest``).

This module owns the rule-based coder: paragraphs and sentence splitting with offsets,
date resolution against the publication date, the coding dictionaries
(``scenarios/s400/coding.yaml``: actor names with office dates, the world's own phrase
patterns, and ``cameo:`` mappings from the shared CAMEO lexicon of :mod:`sim.lexicon` to the
world's event kinds), clause analysis and the YAML printer. Phrases are matched by lemma
(:mod:`sim.lexicon`). It never writes a history file; it prints candidates with their
evidence as comments. docs/ingest.md documents the coding file and reports the scores.

What is deliberately *not* coded (each becomes a "skipped" comment instead):

- negated phrases ("has not yet switched on", "did not impose", "denied reports that"),
  an act that was stopped ("has stopped shipping" is no shipment) or called off ("the
  meeting ... was cancelled");
- conditionals ("if", "unless", "whether" opening the clause) and modal or
  future verbs ("will", "would", "is expected to", "plans to", an infinitive
  "to" just before the verb, unless an act verb governs it: "agreed on Tuesday to",
  "decided to", "began to"); patterns marked ``modal_ok`` are speech acts or
  decisions (a warning, "would not bow to pressure") and ignore modality, but never
  negation or conditionals;
- a verb form used as a noun ("threats of sanctions on Turkey", "Ankara's offer");
- questions (a sentence ending in "?");
- quoted speech of five words or more (it is what someone said, not what happened);
- captions, headlines and boilerplate: a *paragraph* of at most 60 words that carries a
  photo credit ("(Photo by ...)", "[File: ...]", "FILE PHOTO", "Photo:", "[caption]",
  "/File photo)"), or of at most 30 words that does not end with a full stop, "!" or "?"
  (optionally followed by a quote or bracket), is not split into sentences and never
  yields events; a longer paragraph is text even without a final stop;
- anything dated after the publication date, or by a date in an explicitly future clause
  ("will ... in October"), unless the pattern is ``modal_ok``.

Paragraphs (:func:`paragraphs`): blank lines separate paragraphs; inside a run of lines a
line end is a soft wrap, joined into the paragraph, unless it looks like a hard break (the
line plus the next line's first word would have fitted the text's wrap width, the next line
is indented, a bullet or a caption, and no lower-case start, trailing comma or word like
"the" says the sentence goes on). So hard-wrapped text (most plain-text articles) and the
same text unwrapped give the same candidates, and text with one paragraph per line and no
blank lines still keeps its headline apart. Sentences run across line ends; every offset is
into the original text (a span may hold newlines), and the text the coder reads has the
same length (quotes blanked per paragraph, a typographic hyphen in "F‑35" made plain).
Known weakness: a headline nearly as long as the wrap width, with no blank line after it,
is joined to the first sentence.

Model names with a hyphen ("F-35", "S-400", "F-16") are one word everywhere (patterns,
negation and modality checks, unknown-verb reports), and a number in one is never a day
of the month; a hyphen at a line end joins the word ("test-" / "fired").

Dates are resolved by hand (no dateparser: we need the span, the granularity
and a confidence for each phrase, and a fixed small grammar is easier to test
and to keep deterministic). Explicit day dates ("12 July 2019", "April 1") are
``high``; weekdays, "yesterday", "last/this week", "two weeks ago" are
``medium``; months and years, absolute or relative, are ``low``. Dates prefer
the past ("in December" in a November article is last December), with two
exceptions that never push a date back a year: a date in an explicitly future
clause ("will", "shall", "'ll", "is due/scheduled/set/going to", "plans/intends
to" earlier in its clause) is the first such date on or after publication; a
deadline ("a deadline of July 31", "the July 31 deadline", "by/until July 31"
in a clause of obligation: "must", "gave Turkey until", "has until") is the
nearest such date on either side of publication (a deadline in the news has
usually just passed or is about to). Neither kind dates an event: a deadline's
date is the day it was SET -- the sentence's other date, else the publication
date -- and the deadline day itself goes in the note ("deadline 2019-07-31");
``DateRef.context`` says which kind a phrase is. For a week,
month or year the date is the first day of that period. A phrase takes the
nearest date in its sentence, except one inside a later subordinate clause
("an incursion that began last month"). An undated sentence gets the
publication date (an upper bound), granularity ``week`` and confidence ``low``.

Linear time: sentences are cut at MAX_SENTENCE characters, clause questions are answered
from one tokenisation per sentence, and patterns start only where their first lemma occurs,
so the work per sentence is bounded; an article over MAX_ARTICLE_BYTES is refused.

Actors: the subject is the nearest named actor before the verb phrase (for an
``object_first`` pattern, "the working group Ankara proposed", before its last slot) in its
clause (not inside a prepositional phrase; coordinated subjects "X and Y" give
one candidate each). A subject that is the pattern's target ("Ankara received")
gives the actor named elsewhere in the sentence or the pattern's default. A
subject that may not do the event ("Russia imposed sanctions") is skipped. A pronoun
between the named subject and the verb ("China said it would ...") is read as that actor;
in a passive with an agent ("were expelled by Germany") the agent acts and the subject is
the target. Office holders count only within their office dates.

>>> from datetime import date
>>> [(d.date.isoformat(), d.granularity) for d in find_dates("on Friday", date(2019, 6, 10))]
[('2019-06-07', 'day')]
"""
from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from sim import lexicon, yamlfile
from sim.errors import Collector, InputError, Problem, did_you_mean
from sim.limits import MAX_ARTICLE_BYTES, published_problem, read_bytes
from sim.world import JOINT

# The vocabulary fixed for the S-400 world; used when no world is given.
S400_ACTORS = frozenset({"TUR", "USA", "USC", "RUS"})
S400_EVENTS = frozenset("""
caatsa_enacted contract_signed delivery_accelerated patriot_withdrawn patriot_offered
patriot_accepted sanctions_threatened deadline_set f35_deliveries_suspended f35_suspended
f35_removed wg_proposed wg_accepted wg_meeting tur_defiance s400_delivered s400_radar_test
s400_live_test s400_activated s400_stored syria_operation bill_introduced bill_passed_house
bill_held bill_committee ndaa_mandate caatsa_sanctions sanctions_expanded summit_rus_tur
summit_us_tur batch2_talks batch2_signed admin_change""".split())

GRANULARITIES = ("day", "week", "month", "year")
CONFIDENCES = ("low", "medium", "high")

# ============================================================================ records


@attrs.frozen
class ActorName:
    """One name (or title, capital, institution) that may stand for an actor."""

    name: str
    actor: str | None               # None: understood but not an actor (``others``)
    start: dt.date | None = None    # office dates; ``end`` exclusive
    end: dt.date | None = None

    def active(self, on: dt.date, until: dt.date | None = None) -> bool:
        """In office on ``on`` (or at any time from ``on`` to ``until`` inclusive)."""
        last = until or on
        return (self.start is None or last >= self.start) and (self.end is None or on < self.end)


@attrs.frozen
class Pattern:
    """A verb-phrase pattern coding one event kind."""

    id: str
    match: str
    event: str
    slots: lexicon.Slots = attrs.field(eq=False, repr=False)
    actors: tuple[str, ...]
    targets: tuple[str, ...] = ()
    modal_ok: bool = False
    requires: tuple[str, ...] = ()
    leaders: tuple[str, ...] = ()
    note: str = ""
    object_first: bool = False      # the verb is the last slot: mood and subject read there
    code: str = ""                  # the CAMEO code, for a phrase of the lexicon

    @property
    def words(self) -> set[str]:
        """The pattern's own words (lower case), which never count as negation or modality."""
        return {w.lower().rstrip("*") for w in re.split(r"[\s|_]+", self.match)
                if w and not w.startswith(("&", "*"))} | {"n't", "won't", "won’t"}


@attrs.frozen
class Rule:
    """A world's mapping of a CAMEO code (and object words) to one of its event kinds."""

    id: str
    codes: tuple[str, ...]          # CAMEO codes or prefixes ("16" covers 160-166)
    event: str
    actors: tuple[str, ...]
    targets: tuple[str, ...] = ()
    about: lexicon.Slots | None = attrs.field(eq=False, repr=False, default=None)
    about_text: str = ""
    requires: tuple[str, ...] = ()
    leaders: tuple[str, ...] = ()
    note: str = ""

    def specificity(self, code: str) -> tuple[int, int] | None:
        """How closely the rule fits a lexicon code (None: it does not)."""
        fit = [len(c) for c in self.codes if code.startswith(c)]
        return (max(fit), 1 if self.about else 0) if fit else None


@attrs.frozen
class Coding:
    """The coding dictionaries (see ``scenarios/s400/coding.yaml``)."""

    names: tuple[ActorName, ...]
    patterns: tuple[Pattern, ...]
    file: str | None = None
    name_regex: re.Pattern = attrs.field(eq=False, repr=False, default=None)
    rules: tuple[Rule, ...] = ()

    _by_name: dict = attrs.field(eq=False, repr=False, factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        if self.name_regex is None:
            object.__setattr__(self, "name_regex", _names_regex(n.name for n in self.names))
        for n in self.names:
            for key in {n.name, _cap(n.name)}:
                self._by_name.setdefault(key, []).append(n)

    def entries(self, name: str) -> list[ActorName]:
        return list(self._by_name.get(name, ()))


@attrs.frozen
class DateRef:
    """A date expression found in a sentence (offsets relative to the sentence)."""

    start: int
    end: int
    text: str
    date: dt.date
    granularity: str
    confidence: str
    context: str = ""   # "deadline", "future" or "" (see find_dates): only "" dates an event


@attrs.frozen
class Evidence:
    """Where a candidate was found: sentence offsets in the article and the patterns."""

    start: int
    end: int
    patterns: tuple[str, ...]
    date_text: str | None = None


@attrs.frozen
class Candidate:
    """A candidate history entry."""

    date: dt.date
    granularity: str
    confidence: str
    event: str
    actor: str | None
    target: str | None
    evidence: tuple[Evidence, ...]
    note: str


@attrs.frozen
class Skipped:
    """A pattern that matched but was not coded, and why (for the reviewer)."""

    start: int
    end: int
    pattern: str
    event: str
    reason: str


@attrs.frozen
class Unknown:
    """A capitalised name or a verb phrase the coding does not know (reported, not coded)."""

    kind: str          # "name" or "verb"
    text: str
    start: int         # first occurrence in the article
    count: int = 1


@attrs.frozen
class IngestResult:
    published: dt.date
    source: str | None
    candidates: tuple[Candidate, ...]
    unknown: tuple[Unknown, ...]
    skipped: tuple[Skipped, ...]
    sentences: tuple[tuple[int, int], ...]


# ============================================================================ patterns

_WORD = r"[\w'’\-\.]+"
# Words for negation and modality checks: a hyphenated word or model name ("F-35", "S-400",
# "test-fired") is one word, as in the patterns of coding.yaml.
_WORDS = re.compile(r"[\w'’]+(?:-[\w'’]+)*")
_LB, _RB = r"(?<![\w\-])", r"(?![\w\-])"


def _word_regex(word: str) -> str:
    """One word: ' also matches ’, and a hyphen may end a line ("Russian-" / "made")."""
    return re.escape(word).replace("'", "['’]").replace(r"\-", r"\-(?:\n[ \t]*)?")


def compile_pattern(match: str, classes: dict[str, list[str]]) -> lexicon.Slots:
    """Compile the pattern language of coding.yaml (see its header; matched on lemmas).

    >>> from sim.lexicon import find_all, tokens
    >>> p = compile_pattern("impose * sanctions", {})
    >>> bool(find_all(p, tokens("The US has imposed new sanctions.")))
    True
    """
    return lexicon.compile_slots(match, classes)


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


def _names_regex(names: Iterable[str]) -> re.Pattern:
    variants: set[str] = set()
    for n in names:
        variants.add(n)
        if n[:1].islower():
            variants.add(_cap(n))
    ordered = sorted(variants, key=lambda c: (-len(c), c))
    alts = []
    for n in ordered:
        body = r"\s+".join(_word_regex(w) for w in n.split())
        alts.append(body + (r"(?!\w)" if n.endswith(".") else r"(?![\w\-])"))
    # the left boundary once, outside the alternation: positions inside a word fail at once
    return re.compile(_LB + "(?:" + "|".join(alts) + ")")


# ============================================================================ load_coding


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def load_coding(path: str | Path, world: Any = None, *, events: Iterable[str] | None = None,
                actors: Iterable[str] | None = None) -> Coding:
    """Read and validate the coding dictionaries.

    Event kinds and actor ids are checked against ``world`` (a :class:`sim.world.World`:
    its ``events`` and ``actors`` keys), or the plain sets ``events`` / ``actors``, or by
    default the fixed S-400 vocabulary. Every problem is reported with file, line and a
    hint (:class:`sim.errors.InputError`).
    """
    if world is not None:
        events = set(world.events)
        actors = set(world.actors)
    events = set(S400_EVENTS if events is None else events)
    actors = set(S400_ACTORS if actors is None else actors)
    doc = yamlfile.load(path)
    bad = Collector(path)
    data = doc.data
    if not isinstance(data, dict):
        bad.extend([doc.problem((), "a coding file is a mapping with actors, classes and "
                                    "patterns", "see scenarios/s400/coding.yaml")])
        bad.raise_if_any()
    known_keys = {"actors", "others", "classes", "patterns", "cameo"}
    for key in data:
        if key not in known_keys:
            bad.extend([doc.problem((key,), f"unknown section '{key}'",
                                    did_you_mean(key, known_keys), key=True)])

    for key in ("actors", "others", "patterns"):
        if not isinstance(data.get(key) or [], list):
            bad.extend([doc.problem((key,), f"'{key}' must be a list",
                                    "see scenarios/s400/coding.yaml")])
            data = {k: v for k, v in data.items() if k != key}
    names: list[ActorName] = []
    for i, entry in enumerate(data.get("actors") or []):
        p = ("actors", i)
        if not isinstance(entry, dict) or "names" not in entry or "actor" not in entry:
            bad.extend([doc.problem(p, "an actor entry needs 'actor' and 'names'",
                                    "e.g. {actor: TUR, names: [Erdogan], from: 2014-08-28}")])
            continue
        for k in entry:
            if k not in ("actor", "names", "from", "until"):
                bad.extend([doc.problem(p + (k,), f"unknown key '{k}' in an actor entry",
                                        did_you_mean(k, ["actor", "names", "from", "until"]),
                                        key=True)])
        actor = entry["actor"]
        if not isinstance(actor, str) or actor not in actors:
            bad.extend([doc.problem(p + ("actor",), f"unknown actor '{actor}'",
                                    did_you_mean(actor, actors))])
        start, end = entry.get("from"), entry.get("until")
        for k, v in (("from", start), ("until", end)):
            if v is not None and _as_date(v) is None:
                bad.extend([doc.problem(p + (k,), f"'{k}' must be a date like 2017-01-20")])
        if not isinstance(actor, str):
            continue
        start, end = _as_date(start), _as_date(end)
        if start and end and end <= start:
            bad.extend([doc.problem(p + ("until",), "'until' is not after 'from'")])
        raw = entry["names"]
        if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
            bad.extend([doc.problem(p + ("names",), "'names' must be a list of words")])
            continue
        names.extend(ActorName(n.strip(), actor, start, end) for n in raw)
    for i, group in enumerate(data.get("others") or []):
        group = group if isinstance(group, list) else [group]
        for j, n in enumerate(group):
            if not isinstance(n, str):
                bad.extend([doc.problem(("others", i, j), "a name must be text")])
                continue
            names.append(ActorName(n.strip(), None))

    classes = data.get("classes") or {}
    if not isinstance(classes, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in classes.values()):
        bad.extend([doc.problem(("classes",), "classes map a NAME to a list of words")])
        classes = {}
    # the lexicon's classes (&SANCTION, &WEAPON ...) are there too; a world's own win
    classes = {**lexicon.load_lexicon().classes, **classes}

    patterns: list[Pattern] = []
    seen: dict[str, int] = {}
    pkeys = ["id", "match", "event", "actors", "targets", "modal_ok", "requires", "leaders",
             "note", "object_first"]
    for i, entry in enumerate(data.get("patterns") or []):
        p = ("patterns", i)
        if not isinstance(entry, dict):
            bad.extend([doc.problem(p, "a pattern is a mapping with id, match, event, actors")])
            continue
        missing = [k for k in ("id", "match", "event", "actors") if k not in entry]
        if missing:
            bad.extend([doc.problem(p, "pattern lacks " + ", ".join(missing),
                                    "each pattern needs id, match, event and actors")])
            continue
        for k in entry:
            if k not in pkeys:
                bad.extend([doc.problem(p + (k,), f"unknown key '{k}' in a pattern",
                                        did_you_mean(k, pkeys), key=True)])
        pid = str(entry["id"])[:200]
        if pid in seen:
            bad.extend([doc.problem(p + ("id",), f"duplicate pattern id '{pid}'",
                                    "pattern ids must be unique")])
        seen[pid] = i
        if not isinstance(entry["event"], str) or entry["event"] not in events:
            bad.extend([doc.problem(p + ("event",), f"unknown event kind '{entry['event']}'",
                                    did_you_mean(entry["event"], events))])
        lists = {}
        for k in ("actors", "targets", "requires", "leaders"):
            v = entry.get(k) or []
            v = [v] if isinstance(v, str) else v
            if not isinstance(v, list):
                bad.extend([doc.problem(p + (k,), f"'{k}' must be a list of names")])
                v = []
            if k == "leaders":
                if not all(isinstance(a, str) for a in v):
                    bad.extend([doc.problem(p + (k,), "'leaders' must be a list of names")])
                lists[k] = tuple(a for a in v if isinstance(a, str))
                continue
            for j, a in enumerate(v):
                if not isinstance(a, str) or a not in actors:
                    bad.extend([doc.problem(p + (k, j) if isinstance(entry.get(k), list)
                                            else p + (k,), f"unknown actor '{a}'",
                                            did_you_mean(a, actors))])
            lists[k] = tuple(v)
        if not lists["actors"]:
            bad.extend([doc.problem(p + ("actors",), "a pattern needs at least one actor")])
        try:
            slots = compile_pattern(str(entry["match"]), classes)
        except KeyError as exc:
            bad.extend([doc.problem(p + ("match",), f"unknown class &{exc.args[0]}",
                                    did_you_mean(exc.args[0], classes))])
            continue
        except (ValueError, re.error) as exc:
            bad.extend([doc.problem(p + ("match",), f"bad pattern: {exc}",
                                    "e.g. IMPOS*|SLAPPED * &SANCTION")])
            continue
        patterns.append(Pattern(
            id=pid, match=str(entry["match"]), event=entry["event"], slots=slots,
            actors=lists["actors"], targets=lists["targets"],
            modal_ok=bool(entry.get("modal_ok", False)), requires=lists["requires"],
            leaders=lists["leaders"], note=str(entry.get("note", "")),
            object_first=bool(entry.get("object_first", False))))
    rules = _load_rules(doc, data.get("cameo"), classes, events, actors, bad)
    bad.raise_if_any()
    return Coding(tuple(names), tuple(patterns), str(path), rules=tuple(rules))


RULE_KEYS = ("id", "code", "event", "actors", "targets", "about", "requires", "leaders", "note")


def _load_rules(doc: Any, raw: Any, classes: dict[str, list[str]], events: set[str],
                actors: set[str], bad: Collector) -> list[Rule]:
    """The ``cameo:`` section: CAMEO codes (+ object words) and actor roles -> event kinds."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        bad.extend([doc.problem(("cameo",), "'cameo' is a list of mappings",
                                "e.g. - {code: '163', event: sanctions_imposed, actors: [USA]}")])
        return []
    known_codes = {e.code for e in lexicon.load_lexicon().entries}
    rules: list[Rule] = []
    for i, entry in enumerate(raw):
        p = ("cameo", i)
        if not isinstance(entry, dict) or not {"code", "event", "actors"} <= set(entry):
            bad.extend([doc.problem(p, "a cameo mapping needs code, event and actors",
                                    "e.g. {code: '163', event: sanctions_imposed, "
                                    "actors: [USA], targets: [RUS]}")])
            continue
        for k in entry:
            if k not in RULE_KEYS:
                bad.extend([doc.problem(p + (k,), f"unknown key '{k}' in a cameo mapping",
                                        did_you_mean(k, RULE_KEYS), key=True)])
        codes = entry["code"] if isinstance(entry["code"], list) else [entry["code"]]
        codes = [str(c).strip() for c in codes]
        for c in codes:
            if not any(k.startswith(c) for k in known_codes):
                bad.extend([doc.problem(p + ("code",), f"no phrase of the lexicon has CAMEO "
                                        f"code '{c}'", "write codes as text ('163', '06'); "
                                        "see sim/data/cameo.yaml and docs/ingest.md")])
        if entry["event"] not in events:
            bad.extend([doc.problem(p + ("event",), f"unknown event kind '{entry['event']}'",
                                    did_you_mean(str(entry["event"]), events))])
        lists = {}
        for k in ("actors", "targets", "requires"):
            v = entry.get(k) or []
            v = [v] if isinstance(v, str) else list(v)
            for a in v:
                if a not in actors:
                    bad.extend([doc.problem(p + (k,), f"unknown actor '{a}'",
                                            did_you_mean(str(a), actors))])
            lists[k] = tuple(v)
        if not lists["actors"]:
            bad.extend([doc.problem(p + ("actors",), "a mapping needs at least one actor")])
        about, about_text = None, ""
        if entry.get("about"):
            words = entry["about"] if isinstance(entry["about"], list) else [entry["about"]]
            about_text = "|".join(str(w).replace(" ", "_") for w in words)
            try:
                about = lexicon.compile_slots(about_text, classes)
            except KeyError as exc:
                bad.extend([doc.problem(p + ("about",), f"unknown class &{exc.args[0]}",
                                        did_you_mean(exc.args[0], classes))])
                continue
            except ValueError as exc:
                bad.extend([doc.problem(p + ("about",), f"bad word list: {exc}")])
                continue
        rules.append(Rule(id=str(entry.get("id") or f"{entry['event']}<{'/'.join(codes)}"),
                          codes=tuple(codes), event=entry["event"], actors=lists["actors"],
                          targets=lists["targets"], about=about, about_text=about_text,
                          requires=lists["requires"],
                          leaders=tuple(entry.get("leaders") or ()),
                          note=str(entry.get("note", ""))))
    return rules


# ============================================================================ sentences

_ABBREV = {"u.s", "u.k", "u.n", "mr", "mrs", "ms", "dr", "gen", "lt", "col", "sen", "rep",
           "gov", "st", "jan", "feb", "mar", "apr", "aug", "sept", "sep", "oct", "nov", "dec",
           "no", "vs", "e.g", "i.e", "etc", "corp", "inc", "co", "maj", "capt", "adm", "prof",
           "jr", "sr", "a.m", "p.m", "approx"}
_CAPTION = re.compile(r"\(Photo\b|\bphoto\)|\[File:|^FILE PHOTO|^Photo:|\[caption\]|"
                      r"\(AFP/File|Getty Images\)|/Reuters\]", re.IGNORECASE)
_CAPTION_START = re.compile(r"FILE PHOTO|Photo:|\(Photo\b|\[File:|\[caption\]", re.IGNORECASE)
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*\s*$")
HEADLINE_WORDS = 30     # a paragraph this short without a final stop is a headline
CAPTION_WORDS = 60      # a paragraph this short with a photo credit is a caption


def is_caption(paragraph: str) -> bool:
    """A caption, headline or boilerplate paragraph: never coded (see the module docstring)."""
    s = paragraph.strip()
    words = len(re.findall(r"\w+", s))
    if _CAPTION.search(s) and words <= CAPTION_WORDS:
        return True
    return not _ENDS_SENTENCE.search(s) and words <= HEADLINE_WORDS


def _wrap_width(lengths: list[int]) -> int:
    """The width a text seems wrapped at: the 90th percentile of its line lengths (the
    longest line when there are fewer than ten), so one stray long line does not count."""
    ordered = sorted(lengths)
    if len(ordered) < 10:
        return ordered[-1]
    return ordered[int(0.9 * (len(ordered) - 1))]


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph, offsets into ``text``; lines of one paragraph are joined.

    Blank lines always end a paragraph. Inside a run of non-blank lines, a line break is a
    soft wrap (the paragraph goes on) when the next line starts in lower case, when the line
    ends with a comma, dash or a word no headline ends with ("the", "of", "said" ...), or when
    the line plus the next line's first word would not have fitted in the text's wrap width
    (so a wrapper must have broken it there); it is a hard break when the next line is
    indented, a bullet or starts a caption, or when the line carries a photo credit.

    >>> t = "Short headline\\nA long line of text that was\\nwrapped here.\\n\\nNext one."
    >>> [t[a:b] for a, b in paragraphs(t)][1:]
    ['A long line of text that was\\nwrapped here.', 'Next one.']
    """
    lines = [(m.start(), m.start() + len(m.group().rstrip())) for m in re.finditer(r"[^\n]*", text)]
    lines = [(a, b) for a, b in lines if text[a:b].strip()]
    if not lines:
        return []
    width = _wrap_width([b - a for a, b in lines])
    out: list[tuple[int, int]] = []
    start = None
    for i, (a, b) in enumerate(lines):
        lead = len(text[a:b]) - len(text[a:b].lstrip())
        if start is None:
            start = a + lead
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if nxt is None or "\n" in text[b:nxt[0]].replace("\n", "", 1) or not _soft_break(
                text[a:b], text[nxt[0]:nxt[1]], width):
            out.append((start, b))
            start = None
    return out


_GLUE_WORDS = {"the", "a", "an", "of", "to", "in", "on", "at", "by", "for", "from", "with", "and",
               "or", "but", "that", "which", "who", "its", "their", "his", "her", "as", "into",
               "than", "said", "says", "told", "would", "will", "has", "have", "had", "was",
               "were", "is", "are", "be", "been"}


def _soft_break(line: str, following: str, width: int) -> bool:
    if following[:1].isspace() or re.match(r"[-*•\u2022]\s|\d+[.)]\s", following):
        return False
    if _CAPTION_START.match(following) or _CAPTION.search(line):
        return False
    if following[:1].islower() or re.search(r"[,;\u2013\u2014-]$", line):
        return True
    last = re.findall(r"[\w'’]+", line[-20:])
    if last and last[-1].lower() in _GLUE_WORDS:     # no headline ends "... from the"
        return True
    first = following.split()[0]
    return len(line) + 1 + len(first) > width


def split_sentences(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_caption) for each sentence; a caption or headline is one whole paragraph.

    Sentences run across the line ends of a hard-wrapped paragraph (see :func:`paragraphs`);
    offsets are into ``text``, so a span may hold newlines.

    >>> t = "The U.S. warned Mr. Akar. He left."
    >>> [t[a:b] for a, b, _ in split_sentences(t)]
    ['The U.S. warned Mr. Akar.', 'He left.']
    """
    out: list[tuple[int, int, bool]] = []
    for base, pend in paragraphs(text):
        para = text[base:pend]
        if is_caption(para):
            out.append((base, pend, True))
            continue
        marked = bool(_CAPTION.search(para))     # a long paragraph with a credit inside
        start = 0
        pieces = []
        for end in re.finditer(r"[.!?]+[\"'”’)\]]*(?=\s+|$)", para):
            before = para[start:end.start() + 1]
            word = re.search(r"([\w.]+)\.$", before)
            nxt = para[end.end():].lstrip()
            if end.group().startswith(".") and word:
                w = word.group(1).lower()
                if w == "no" and not nxt[:1].isdigit():
                    pass                     # "said no." ends a sentence; "No. 5" does not
                elif w in _ABBREV or re.fullmatch(r"[a-z]", w):
                    continue
            if nxt and not re.match(r"[A-Z0-9\"“'‘(\[]", nxt):
                continue
            pieces.append((start, end.end()))
            start = end.end() + (len(para[end.end():]) - len(nxt))
        rest = para[start:].rstrip()
        if rest.strip():
            pieces.append((start, start + len(rest)))
        for a, b in pieces:
            cap = marked and bool(_CAPTION.search(para[a:b].strip()))
            for x, y in _cut_long(para, a, b):
                out.append((base + x, base + y, cap))
    return out


MAX_SENTENCE = 600      # characters; a longer "sentence" (a list, a table) is cut into pieces


def _cut_long(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """Cut ``text[a:b]`` into pieces of at most MAX_SENTENCE characters, at a semicolon,
    comma or space where there is one, so the work per sentence stays bounded (the coder's
    clause analysis looks back over its sentence) and the whole article stays linear."""
    out = []
    while b - a > MAX_SENTENCE:
        window = text[a:a + MAX_SENTENCE]
        cut = max(window.rfind("; "), window.rfind(", "))
        if cut < MAX_SENTENCE // 2:
            cut = window.rfind(" ")
        cut = cut + 1 if cut >= MAX_SENTENCE // 4 else MAX_SENTENCE
        out.append((a, a + len(text[a:a + cut].rstrip())))
        a += cut
        while a < b and text[a].isspace():
            a += 1
    if b > a:
        out.append((a, b))
    return out


# ============================================================================ dates

_MONTHS = {m: i + 1 for i, m in enumerate(
    "January February March April May June July August September October November December"
    .split())}
for _m, _i in list(_MONTHS.items()):
    if _m != "May":
        _MONTHS[_m[:3]] = _i
_MONTHS["Sept"] = 9
_MON = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "several": 3}
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"


def _month_start(d: dt.date, back: int = 0) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 - back, 12)
    return dt.date(y, m + 1, 1)


def _pick_year(month: int, day: int, pub: dt.date, mode: str) -> int | None:
    """The year of a month/day phrase: on or before ``pub`` (the default: dates prefer the
    past), on or after it (``future``), or the nearest to it either way (``deadline``)."""
    if mode == "future":
        years = (pub.year, pub.year + 1)
    elif mode == "deadline":
        years = (pub.year - 1, pub.year, pub.year + 1)
    else:
        years = (pub.year, pub.year - 1)
    found = [(y, d) for y in years if (d := _safe(y, month, day)) is not None]
    if mode == "future":
        found = [(y, d) for y, d in found if d >= pub]
    elif mode == "deadline":
        found.sort(key=lambda yd: (abs((yd[1] - pub).days), -yd[0]))
    else:
        found = [(y, d) for y, d in found if d <= pub]
    return found[0][0] if found else None


def _past_year(month: int, day: int, pub: dt.date) -> int | None:
    """The year that puts month/day on or before ``pub`` (dates prefer the past)."""
    return _pick_year(month, day, pub, "")


def _month_year(month: int, pub: dt.date, mode: str) -> int:
    if mode == "future":
        return pub.year if month >= pub.month else pub.year + 1
    if mode == "deadline":
        return min((pub.year - 1, pub.year, pub.year + 1),
                   key=lambda y: (abs(y * 12 + month - pub.year * 12 - pub.month), -y))
    return pub.year if month <= pub.month else pub.year - 1


def _safe(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


_NB = r"(?<![\w\-])"      # a number that is not part of a model name ("F-35", "S-400")


def _date_rules(pub: dt.date):
    """(regex, flags, function(match, mode) -> (date, granularity, confidence) | None).

    ``mode`` is the phrase's context (see :func:`_date_context`): "" (prefer the past),
    "future" or "deadline"; only phrases without an explicit year or direction use it."""
    def full_dmy(m, mode):
        return _safe(int(m[3]), _MONTHS[m[2]], int(m[1])), "day", "high"

    def full_mdy(m, mode):
        return _safe(int(m[3]), _MONTHS[m[1]], int(m[2])), "day", "high"

    def iso(m, mode):
        return _safe(int(m[1]), int(m[2]), int(m[3])), "day", "high"

    def md(m, mode):
        mon, day = _MONTHS[m[1]], int(m[2])
        y = _pick_year(mon, day, pub, mode)
        return (_safe(y, mon, day) if y else None), "day", "high"

    def dm(m, mode):
        mon, day = _MONTHS[m[2]], int(m[1])
        y = _pick_year(mon, day, pub, mode)
        return (_safe(y, mon, day) if y else None), "day", "high"

    def month_year(m, mode):
        return dt.date(int(m[2]), _MONTHS[m[1]], 1), "month", "low"

    def month(m, mode):
        mon = _MONTHS[m[1]]
        return dt.date(_month_year(mon, pub, mode), mon, 1), "month", "low"

    def year(m, mode):
        return dt.date(int(m[1]), 1, 1), "year", "low"

    def weekday(m, mode):
        wd = _WEEKDAYS.index(m[2])
        back, ahead = (pub.weekday() - wd) % 7, (wd - pub.weekday()) % 7
        word = (m[1] or "").lower()
        if word == "last" or (word not in ("next", "this") and mode == ""):
            return pub - dt.timedelta(days=back or (7 if word == "last" else 0)), "day", "medium"
        if word == "next" or mode == "future":
            return pub + dt.timedelta(days=ahead or (7 if word == "next" else 0)), "day", "medium"
        if word == "this" and mode == "":
            return pub - dt.timedelta(days=back), "day", "medium"
        days = -back if back < ahead else ahead          # a deadline: the nearest such day
        return pub + dt.timedelta(days=days), "day", "medium"

    def relative(m, mode):
        w = " ".join(m[0].lower().split())
        if "yesterday" in w:
            return pub - dt.timedelta(days=1), "day", "medium"
        if "tomorrow" in w:
            return pub + dt.timedelta(days=1), "day", "medium"
        if w.startswith("next "):        # future: such a phrase is never coded
            unit = w.split()[1]
            if unit == "week":
                return pub - dt.timedelta(days=pub.weekday() - 7), "week", "medium"
            if unit == "month":
                return _month_start(pub, -1), "month", "low"
            return dt.date(pub.year + 1, 1, 1), "year", "low"
        if "today" in w or "this morning" in w or "tonight" in w:
            return pub, "day", "medium"
        monday = pub - dt.timedelta(days=pub.weekday())
        if "last week" in w:
            return monday - dt.timedelta(days=7), "week", "medium"
        if "this week" in w:
            return monday, "week", "medium"
        if "last month" in w:
            return _month_start(pub, 1), "month", "low"
        if "this month" in w:
            return _month_start(pub), "month", "low"
        if "last year" in w:
            return dt.date(pub.year - 1, 1, 1), "year", "low"
        if "this year" in w:
            return dt.date(pub.year, 1, 1), "year", "low"
        return None, "", ""

    def ago(m, mode):
        n = int(m[1]) if m[1].isdigit() else _NUMBERS[m[1].lower()]
        unit = m[2].lower().rstrip("s")
        if unit == "day":
            return pub - dt.timedelta(days=n), "day", "medium"
        if unit == "week":
            d = pub - dt.timedelta(weeks=n)
            return d - dt.timedelta(days=d.weekday()), "week", "medium"
        if unit == "month":
            return _month_start(pub, n), "month", "low"
        return dt.date(pub.year - n, 1, 1), "year", "low"

    nums = "|".join(_NUMBERS)
    return [
        (r"\b(\d{4})-(\d{2})-(\d{2})\b", 0, iso),
        (rf"{_NB}{_ORD}\s+{_MON},?\s+(\d{{4}})\b", 0, full_dmy),
        (rf"\b{_MON}\s+{_ORD},?\s+(\d{{4}})\b", 0, full_mdy),
        (rf"\b{_MON}\s+{_ORD}\b", 0, md),
        (rf"{_NB}{_ORD}\s+{_MON}(?!\w)", 0, dm),
        (rf"\b{_MON},?\s+((?:19|20)\d\d)\b", 0, month_year),
        (rf"(?:\b(?:in|since|during|by|until|from|of|early|late|mid)\s+|\bmid-)"
         rf"(?:(?:early|late|mid)[\s-]+)?{_MON}(?!\w)", 0, month),
        (r"(?:\b(?:in|since|during|by|until|from|early|late|mid)\s+|\bmid-)"
         r"((?:19|20)\d\d)\b(?![-\w])", 0, year),
        (r"\b(?:(?i:(on|last|this|next|since|by|until|earlier\s+on|late\s+on|early\s+on))\s+)?"
         r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b", 0, weekday),
        (r"\b(?:yesterday|today|tomorrow|this\s+morning|tonight|next\s+(?:week|month|year)|"
         r"(?:earlier\s+|later\s+)?(?:last|this)\s+(?:week|month|year))\b", re.IGNORECASE,
         relative),
        (rf"\b(\d+|{nums})\s+(days?|weeks?|months?|years?)\s+ago\b", re.IGNORECASE, ago),
    ]


_DEADLINE_BEFORE = re.compile(
    r"\b(?:deadlines?|ultimatum)\s+(?:(?:of|for|on|is|was|set\s+for|falls\s+on|expires\s+on|"
    r"expiring\s+on|ends\s+on|ending\s+on)\s+)?(?:the\s+)?(?:end\s+of\s+)?$", re.IGNORECASE)
_DEADLINE_AFTER = re.compile(r"^[\s,]*(?:deadlines?|ultimatum)\b", re.IGNORECASE)
_UNTIL_BEFORE = re.compile(r"\b(?:(?:has|have|had|given|gave|give|gives)\s+(?:\w+\s+)?until|"
                           r"until|till|by|before|no\s+later\s+than|not\s+later\s+than)\s+"
                           r"(?:the\s+)?(?:end\s+of\s+)?$", re.IGNORECASE)
_OBLIGATION = re.compile(r"\b(?:must|deadlines?|ultimatum|gave|given|give|gives|giving|"
                         r"(?:has|have|had)\s+(?:\w+\s+)?until|has\s+to|have\s+to|needs?\s+to|"
                         r"required\s+to|demanded|demands)\b", re.IGNORECASE)
_FUTURE = re.compile(r"\b(?:will|shall|won['’]t)\b|\w['’]ll\b|\b(?:is|are)\s+(?:due|scheduled|"
                     r"set|going)\s+to\b|\b(?:plans?|planning|intends?|intending)\s+to\b",
                     re.IGNORECASE)


def _date_context(sentence: str, start: int, end: int, lead: str) -> str:
    """"deadline", "future" or "" for a date phrase at ``start:end`` (``lead``: its own
    leading preposition, e.g. "by "). A deadline: right after "deadline (of)", right before
    "deadline", or after "by/until/before" in a clause of obligation ("must ... by July 31",
    "gave Turkey until July 31"). Future: an explicit future ("will", "is due to", "plans
    to") earlier in the same clause."""
    before = sentence[:start] + lead
    if _DEADLINE_BEFORE.search(before) or _DEADLINE_AFTER.match(sentence[end:]):
        return "deadline"
    until = _UNTIL_BEFORE.search(before)
    if until:      # "until" may open a clause of its own: read the clause it stands in
        _, _, ustart = _clause_tokens(sentence, until.start())
        if _OBLIGATION.search(before[ustart:]):
            return "deadline"
    _, _, cstart = _clause_tokens(sentence, start)
    clause = before[cstart:]
    for m in _FUTURE.finditer(clause):
        prev = re.findall(r"[\w'’]+", clause[:m.start()].lower())[-1:]
        if m.group().lower().startswith(("plan", "intend")) and prev and (
                prev[0] in _NOUN_BEFORE or prev[0].endswith("ed")):
            continue            # "scrapped plans to ...", "the plans to ...": a noun
        return "future"
    return ""


_NOUN_BEFORE = {"the", "a", "an", "its", "their", "his", "her", "our", "these", "those", "any",
                "no", "new", "such", "of", "with", "for"}


def find_dates(sentence: str, published: dt.date) -> list[DateRef]:
    """Date expressions in ``sentence`` resolved against ``published``.

    Dates prefer the past, except a deadline (the nearest such date, either side of
    publication) and a date in an explicitly future clause (on or after publication); each
    result says which in ``context``. Earlier rules win over later ones where spans
    overlap; results are in text order.
    """
    taken: list[tuple[int, int]] = []
    out: list[DateRef] = []
    for rx, flags, fn in _date_rules(published):
        for m in re.finditer(rx, sentence, flags):
            s, e = m.span()
            if any(s < b and a < e for a, b in taken):
                continue
            lead = re.match(r"(?:(?:by|until|of|in|from|since|during)\s+)?", m.group(),
                            re.IGNORECASE).group()
            context = _date_context(sentence, s, e, lead)
            date, gran, conf = fn(m, context)
            if date is None:
                continue
            taken.append((s, e))
            out.append(DateRef(s, e, " ".join(m.group().split()), date, gran, conf, context))
    return sorted(out, key=lambda d: d.start)


# ============================================================================ coding a sentence

_BOUNDARY_WORDS = {"that", "which", "who", "whom", "whose", "when", "while", "after", "before",
                   "because", "although", "though", "but", "if", "unless", "whether", "where",
                   "as", "until", "since", "despite"}
_CONDITIONAL = {"if", "unless", "whether"}
_DEMAND = {"demanded", "demands", "demand", "demanding", "urged", "urges", "asked", "asks",
           "insisted", "insists", "proposed", "proposes", "suggested", "recommended",
           "requested", "called"}
_DENIAL = {"denied", "denies", "deny", "denying", "dismissed", "rejected", "refuted", "disputed"}
_NEGATION = {"not", "never", "no", "neither", "nor", "without", "yet", "failed", "refused",
             "declined", "denied", "hardly", "cannot", "rejected", "rebuffed", "spurned",
             "dismissed"}
_MODAL = {"will", "would", "could", "can", "may", "might", "shall", "should", "must", "wants",
          "want", "wanted", "plans", "planned", "planning", "plan", "expected", "expects",
          "intends", "intended", "aims", "hopes", "hoped", "ready", "going", "likely", "due",
          "considering", "considers", "reportedly", "allegedly",
          "'ll", "’ll"}
_PREPOSITIONS = {"in", "at", "near", "from", "to", "into", "with", "against", "on", "for",
                 "toward", "towards", "over", "about", "of", "by", "between", "alongside"}
_PRONOUNS = {"it", "its", "he", "his", "she", "her", "they", "their", "them", "we", "our"}
_REPORTING = {"said", "says", "told", "added", "stated", "noted", "reported", "announced",
              "according", "say", "tell", "insisted", "stressed", "claimed"}
_TOKEN = re.compile(r"[\w'’\-\.]+|[,;:()\u2013\u2014\"“”]")


def _mask_quotes(s: str) -> str:
    """Blank out quoted speech of 5+ words (same length, so offsets hold)."""
    def blank(m: re.Match) -> str:
        inner = m.group()[1:-1]
        if len(re.findall(r"\w+", inner)) >= 5:
            return m.group()[0] + " " * len(inner) + m.group()[-1]
        return m.group()
    s = re.sub(r"“[^”]*”", blank, s)
    return re.sub(r"\"[^\"]*\"", blank, s)


_ODD_HYPHEN = re.compile(r"(?<=\b[A-Z])[\u2010\u2011\u2012\u2013\u2212](?=\d)")


def _prepare(text: str) -> str:
    """The text the coder reads: quotes blanked per paragraph (a quote never runs into the
    next paragraph) and a typographic hyphen in a model name ("F\u201135") made plain;
    always the same length as ``text``, so every offset holds for both."""
    text = _ODD_HYPHEN.sub("-", text)
    parts, done = [], 0
    for a, b in paragraphs(text):       # joined once at the end: linear in the text
        parts += [text[done:a], _mask_quotes(text[a:b])]
        done = b
    parts.append(text[done:])
    return "".join(parts)


_TOKEN_CACHE: list = [None]     # the last sentence analysed: text, tokens, ends, words, bounds
_PUNCT_BOUNDARY = {",", ";", ":", "(", ")", "\u2013", "\u2014"}
CLAUSE_WORDS = 8                # words of a clause returned (callers read at most five)


def _sentence_tokens(s: str) -> tuple:
    """Tokens of ``s`` with their ends, lower-case words and, for each token position, the
    index of the last clause boundary before it (-1: none): computed once per sentence, so
    each clause question is answered in constant time (clause analysis asks often)."""
    if _TOKEN_CACHE[0] is not s and _TOKEN_CACHE[0] != s:
        toks = list(_TOKEN.finditer(s))
        words = [t.group().lower().rstrip(".") for t in toks]
        bounds, last = [], -1
        for i, w in enumerate(words):
            bounds.append(last)
            if w in _PUNCT_BOUNDARY or w in _BOUNDARY_WORDS:
                last = i
        bounds.append(last)
        _TOKEN_CACHE[:] = [s, toks, [t.end() for t in toks], words, bounds]
    return tuple(_TOKEN_CACHE[1:])


def _clause_tokens(s: str, pos: int) -> tuple[list[str], str | None, int]:
    """Words of the clause before ``pos`` (last first, at most CLAUSE_WORDS), the boundary
    word ("that", "if" ...; None for punctuation or the sentence start), the clause start."""
    toks, ends, words, bounds = _sentence_tokens(s)
    k = bisect.bisect_right(ends, pos)
    if k and toks[k - 1].start() < pos < ends[k - 1]:
        k -= 1                  # a token cut by ``pos`` (never happens at a word boundary)
    j = bounds[k]
    out = [words[i] for i in range(k - 1, max(j, k - 1 - CLAUSE_WORDS), -1)]
    if j < 0:
        return out, None, 0
    return out, (words[j] if words[j] in _BOUNDARY_WORDS else None), toks[j].end()


def _mood(s: str, pos: int, modal_ok: bool) -> str | None:
    """Why a phrase starting at ``pos`` did not happen, or None if it reads as reported fact."""
    before, boundary, cstart = _clause_tokens(s, pos)
    if boundary in _CONDITIONAL:
        return f"conditional ('{boundary}')"
    if boundary == "that":
        outer = _clause_tokens(s, cstart - len(boundary))[0][:4]
        denial = next((w for w in outer if w in _DENIAL), None)
        if denial:
            return f"negated ('{denial} ... that')"
        ask = next((w for w in outer if w in _DEMAND), None)
        if ask:
            return f"demanded, not done ('{ask} ... that')"
    window = before[:5]
    for w in window:
        if w in _NEGATION or w.endswith("n't") or w.endswith("n’t"):
            return f"negated ('{w}')"
    if not modal_ok:
        for w in window:
            if w in _MODAL:
                return f"modal or future ('{w}')"
        head = [w for w in window[:2] if not w.endswith("ly")]
        if head and head[0] == "to":
            gov = _governor(s, pos)
            if gov is not None:         # "agreed on Tuesday to ...": the agreement is the act
                return _mood(s, gov, modal_ok)
            return "infinitive ('to ...'), not a reported act"
    return None


# verbs whose infinitive reports an act ("agreed to", "decided to", "began to", "voted to");
# others ("plans to", "wants to", "hopes to") report an intention, never an occurrence
_ACT_VERBS = {"agreed", "decided", "began", "begun", "started", "moved", "voted", "opted",
              "chose", "resolved", "proceeded", "went", "rushed", "acted", "managed", "agree",
              "agrees", "decides", "begins", "starts", "votes"}
_FILLERS = ({"on", "in", "at", "last", "this", "early", "late", "earlier", "week", "month",
             "year", "weekend", "today", "yesterday", "also", "then", "unanimously", "formally",
             "finally", "quickly", "jointly", "both", "all", "instead", "eventually", "later"}
            | {m.lower() for m in _MONTHS} | {d.lower() for d in _WEEKDAYS})


def _governor(s: str, pos: int) -> int | None:
    """Where the act verb governing an infinitive at ``pos`` starts ("agreed on Tuesday to
    bring ..." -> "agreed"), or None when the verb before "to" is not an act verb."""
    toks = list(_TOKEN.finditer(s[:pos]))
    seen_to = False
    for t in reversed(toks):
        w = t.group().lower().rstrip(".")
        if not seen_to:
            if w == "to":
                seen_to = True
            elif not w.endswith("ly"):
                return None
            continue
        if w in _FILLERS or w.endswith("ly") or w.isdigit() or w == ",":
            continue
        return t.start() if w in _ACT_VERBS else None
    return None


def _inner_mood(words: list[str], own: set[str], modal_ok: bool) -> str | None:
    """Negation or modality inside a match's gaps (words that are not the pattern's own)."""
    for w in words:
        if w in own:
            continue
        if w in _NEGATION or w.endswith("n't") or w.endswith("n’t"):
            return f"negated ('{w}')"
        if not modal_ok and w in _MODAL:
            return f"modal or future ('{w}')"
    return None


_DETERMINERS = {"the", "a", "an", "its", "their", "his", "her", "our", "this", "that", "these",
                "those", "any", "no", "new", "fresh", "further", "more", "possible", "of",
                "such", "tough", "economic", "formal", "first", "latest"}
_NOUN_NEXT = {"on", "against", "over", "for", "from", "of", "bill", "law", "were", "are",
              "have", "had", "would", "will", "could", "relief", "waiver", "waivers", "threat",
              "regime", "package", "and", "or", "to", "in", "was", "is", "by", "with", "under",
              "if", "unless", "because", "after", "that", "which", "targeting", "imposed"}
_ENDING = {"stop", "stopped", "stops", "stopping", "cease", "ceased", "ceases", "halt",
           "halted", "halts", "quit", "quits", "suspended", "suspends", "ended", "ends"}


_CALLED_OFF = re.compile(r"^(?:\s+[\w'’\-]+){0,6}?\s+(?:was|were|has\s+been|had\s+been|is|are)"
                         r"\s+(?:\w+ly\s+)?(cancell?ed|postponed|called\s+off|scrapped|"
                         r"shelved|put\s+off|delayed|suspended|derailed)\b", re.IGNORECASE)


def _called_off(s: str, me: int) -> str | None:
    """"The meeting between X and Y was cancelled": the matched event did not happen."""
    m = _CALLED_OFF.match(s[me:me + 120])
    if m and not re.search(r"[,;:()]", m.group()):
        return f"called off ('{' '.join(m.group(1).split())}')"
    return None


def _is_ing(word: str) -> bool:
    """A present participle or gerund ("unloading"), not a verb that ends in -ing ("bring")."""
    return word.endswith("ing") and any(x != word and not x.endswith("ing")
                                        for x in lexicon.lemmas(word))


def _not_a_verb(s: str, ms: int, first: str, own: lexicon.Slots | None = None) -> str | None:
    """A verb form used as a noun or adjective: "said delivering X was ...", "despite
    forming", "the proposed working group", "threats of sanctions on Turkey", "Ankara's
    offer"; or an act that was ended: "has stopped shipping". ``own``: the pattern's written
    words (a noun written in the pattern, "deliveries", is meant as a noun)."""
    before, boundary, _ = _clause_tokens(s, ms)
    prev = before[0] if before else boundary
    w = first.lower().replace("’", "'")
    ing = _is_ing(w)
    if ing and prev in _ENDING:
        return f"an act that was stopped ('{prev} {w}')"
    if ing and (not before or prev in _REPORTING or prev in _PREPOSITIONS
                              or prev in {"despite", "after", "before", "without", "while"}):
        return "a gerund or participle clause, not a reported act"
    if w.endswith("ed") and prev in {"the", "a", "an", "its", "their", "his", "her", "our"}:
        return "a participle used as an adjective, not a reported act"
    if (own is None or not own.written(w)) and not w.endswith("ed") and not ing:
        if prev is not None and (prev in _DETERMINERS or prev.endswith(("'s", "’s", "ing",
                                                                          "ed"))
                                 or (prev in _PREPOSITIONS and prev != "to")):
            return f"a noun ('{prev} {w}'), not a reported act"
        after = re.findall(r"[\w'’]+", s[ms + len(first):ms + len(first) + 30].lower())
        if after and after[0] == "of":
            return f"a noun ('{w} of'), not a reported act"
        if w.endswith("s") and not w.endswith("ss"):
            if after and after[0] in _NOUN_NEXT:
                return f"a noun ('{w} {after[0]}'), not a reported act"
    return None


@attrs.frozen
class _Mention:
    start: int
    end: int
    text: str
    actor: str | None    # None: known name but not an actor on this date / not an actor
    inactive: bool = False   # an office holder's name outside their office dates


def _period_end(date: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return date + dt.timedelta(days=6)
    if granularity == "month":
        return _month_start(date, -1) - dt.timedelta(days=1)
    if granularity == "year":
        return dt.date(date.year, 12, 31)
    return date


def _mentions(s: str, coding: Coding, on: dt.date, until: dt.date | None = None
              ) -> list[_Mention]:
    out = []
    for m in coding.name_regex.finditer(s):
        text = m.group()
        norm = re.sub(r"\s+", " ", text).replace("’", "'")
        entries = coding.entries(norm)
        actor = None
        for e in entries:
            if e.actor is not None and e.active(on, until):
                actor = e.actor
                break
        inactive = actor is None and any(e.actor is not None for e in entries)
        out.append(_Mention(m.start(), m.end(), text, actor, inactive))
    return out


def _after_preposition(s: str, start: int) -> bool:
    words = re.findall(r"[\w'’]+", s[:start])
    while words and words[-1].lower() in {"the", "a", "an"}:
        words.pop()
    return bool(words) and words[-1].lower() in _PREPOSITIONS


def _subjects(s: str, pos: int, mentions: list[_Mention]) -> tuple[list[str], str]:
    """Actors named as the subject of a phrase at ``pos``: (actors, how)."""
    _, _, cstart = _clause_tokens(s, pos)
    cands = [m for m in mentions if m.actor and cstart <= m.start and m.end <= pos
             and not _after_preposition(s, m.start)]
    if not cands:
        return [], "not named"
    # a pronoun between the name and the verb ("China said on Monday it would ...") is read
    # as the actor named before it in the same clause: the name is preferred to a default
    last = cands[-1]
    group = [last]
    for m in reversed(cands[:-1]):
        gap = s[m.end:group[-1].start]
        if re.fullmatch(r"(?:['’]s)?\s+(?:[a-z][\w\-]*\s+){0,2}", gap) or re.fullmatch(
                r",?\s+(?:and|as well as|&)\s+(?:[\w\-]+\s+){0,2}", gap):
            group.append(m)
        else:
            break
    actors: list[str] = []
    for m in reversed(group):
        if m.actor not in actors:
            actors.append(m.actor)
    return actors, "named"


def _passive_agent(s: str, end: int, mentions: list[_Mention]) -> str | None:
    for m in mentions:
        if m.actor and m.start >= end and re.search(r"\bby\s+(?:the\s+)?$", s[end:m.start]):
            return m.actor
    return None


# ============================================================================ ingest


def ingest(text: str, published: dt.date, coding: Coding, world_events: set[str] | None = None,
           world_actors: set[str] | None = None, source: str | None = None,
           joint: Mapping[str, str] | None = None) -> IngestResult:
    """Code an article into candidate history entries (deterministic; writes nothing).

    Patterns whose event kind or actors are not in ``world_events`` / ``world_actors``
    are ignored (a world may use only part of the dictionaries). ``joint`` maps the
    world's joint acts to their actors ("USA+TUR"): their candidates name all of them,
    one candidate per act whichever actor the sentence names.
    """
    bad = published_problem(published)
    if bad:
        raise InputError(Problem(None, None, None, bad, "give the date the article appeared"))
    world_events = set(S400_EVENTS if world_events is None else world_events)
    world_actors = set(S400_ACTORS if world_actors is None else world_actors)
    sentences = split_sentences(text)
    found: dict[tuple, dict] = {}
    skipped: list[Skipped] = []
    unknown_names: dict[str, list] = {}
    unknown_verbs: dict[str, list] = {}
    cap_mid = {w for a, b, _ in sentences for w in re.findall(r"(?<=\w\s)[A-Z][\w\-]+",
                                                                text[a:b])}

    masked = _prepare(text)
    assert len(masked) == len(text)
    lex_fits = _lexicon_fits(coding, world_events)
    for a, b, caption in sentences:
        raw = text[a:b]
        if caption:
            continue
        s = masked[a:b]
        dates = find_dates(s, published)
        pub_mentions = _mentions(s, coding, published)
        _scan_names(s, a, pub_mentions, coding, cap_mid, unknown_names)
        question = raw.rstrip("\"'”’) ").endswith("?")
        coded_here = False
        # vs: where the verb starts; negation, modality and the subject are read before it
        named = {x.actor for x in pub_mentions if x.actor}
        mention_cache: dict[tuple, list[_Mention]] = {}
        for pat, ms, me, vs in _hits(s, coding, world_events, lex_fits, named):
            coded_here = True

            def skip(reason: str, _a=a, _ms=ms, _me=me, _pat=pat) -> None:
                skipped.append(Skipped(_a + _ms, _a + _me, _pat.id, _pat.event, reason))

            if question:
                skip("a question")
                continue
            why = _mood(s, vs, pat.modal_ok) or _inner_mood(
                [w.lower() for w in _WORDS.findall(s[ms:me])
                 if lexicon.lemmas(w.lower()).isdisjoint(pat.slots.surface)], pat.words,
                pat.modal_ok)
            if not why:
                why = _called_off(s, me)
            if not why:
                # a world's pattern may be written with a noun first ("DELIVERIES * BEGAN");
                # the lexicon's phrases start with a verb unless they start with a &CLASS
                noun_ok = not pat.code or pat.slots.noun_first
                why = _not_a_verb(s, vs, s[vs:me].split()[0], pat.slots if noun_ok else None)
            if why:
                skip(why)
                continue
            own = [d for d in dates if not _in_later_clause(s, me, d)]
            near = _nearest(own, ms, me)
            if near and near.context == "future" and not pat.modal_ok:
                skip(f"dated in the future ('{near.text}': {near.date.isoformat()})")
                continue
            ref = _nearest([d for d in own if not d.context], ms, me)
            when = ref.date if ref else published
            if when > published:
                skip(f"dated after publication ({when.isoformat()})")
                continue
            span_end = _period_end(when, ref.granularity) if ref else None
            if (when, span_end) not in mention_cache:
                mention_cache[(when, span_end)] = _mentions(s, coding, when, span_end)
            mentions = mention_cache[(when, span_end)]
            named = {x.actor for x in mentions if x.actor}
            if not set(pat.requires) <= named:
                skip("needs " + " and ".join(pat.requires) + " named in the sentence")
                continue
            if pat.leaders and len({n for n in pat.leaders
                                    if re.search(rf"\b{re.escape(n)}\b", s)}) < 2:
                skip("needs two leaders named")
                continue
            subjects, how = _subjects(s, vs, mentions)
            undergoer: list[str] = []
            if _is_passive(s, vs):      # "diplomats were expelled by Germany": the agent acts
                agent = _passive_agent(s, me, mentions)
                if agent in pat.actors:
                    undergoer = [x for x in subjects if x != agent]
                    subjects, how = [agent], "named"
            notes: list[str] = []
            actors_ok = [x for x in subjects if x in pat.actors]
            if subjects and not actors_ok:
                if all(x in pat.targets for x in subjects):
                    speakers = [x.actor for x in mentions
                                if x.actor in pat.actors and x.actor not in subjects]
                    out_of_office = [x.text for x in mentions if x.inactive]
                    if speakers:
                        actors_ok = speakers[:1]
                        notes.append("actor: another actor named in the sentence")
                    elif out_of_office:
                        skip(f"{out_of_office[0]} is not in office on {when.isoformat()}")
                        continue
                    else:
                        actors_ok = [pat.actors[0]]
                        notes.append("actor from the coding default")
                else:
                    skip(f"subject {'/'.join(subjects)} is not a source of {pat.event}")
                    continue
            if not actors_ok and how == "not named" and any(
                    x.inactive and x.end <= vs for x in mentions):
                name = next(x.text for x in mentions if x.inactive and x.end <= vs)
                skip(f"{name} is not in office on {when.isoformat()}")
                continue
            if not actors_ok:
                agent = _passive_agent(s, me, mentions)
                if agent in pat.actors:
                    actors_ok = [agent]
                else:
                    actors_ok = [pat.actors[0]]
                    notes.append(f"actor {how}: coding default")
            symmetric = set(pat.actors) == set(pat.targets)
            if symmetric and len(actors_ok) > 1:
                actors_ok = actors_ok[:1]
            for actor in actors_ok:
                if actor not in world_actors:
                    continue
                target, tnote = _target(pat, actor, mentions, ms, subjects, undergoer)
                if target is not None and target not in world_actors:
                    target = None
                if ref is None:
                    date, gran, conf = published, "week", "low"
                    extra = ["undated in the text: publication date, an upper bound"]
                else:
                    date, gran, conf = ref.date, ref.granularity, ref.confidence
                    extra = []
                if pat.event == "deadline_set":
                    extra += [f"deadline {_period_text(d)}" for d in dates
                              if d.context == "deadline"]
                key = (date, gran, pat.event, actor, target)
                rec = found.setdefault(key, {"conf": conf, "ev": {}, "notes": [],
                                             "note": pat.note})
                evk = (a, b)
                ev = rec["ev"].setdefault(evk, {"pats": [], "date": ref.text if ref else None})
                if pat.id not in ev["pats"]:
                    ev["pats"].append(pat.id)
                for n in notes + tnote + extra:
                    if n not in rec["notes"]:
                        rec["notes"].append(n)
                if CONFIDENCES.index(conf) > CONFIDENCES.index(rec["conf"]):
                    rec["conf"] = conf
        if not coded_here and any(x.actor for x in pub_mentions):
            _scan_verbs(s, a, pub_mentions, unknown_verbs)

    if joint:                      # a joint act is by all its actors: merge per actor
        merged: dict[tuple, dict] = {}
        for (date, gran, event, actor, target), rec in found.items():
            key = (date, gran, event, joint.get(event, actor), target)
            if key not in merged:
                merged[key] = rec
                continue
            into = merged[key]
            for evk, ev in rec["ev"].items():
                into["ev"].setdefault(evk, ev)
            into["notes"] += [n for n in rec["notes"] if n not in into["notes"]]
            if CONFIDENCES.index(rec["conf"]) > CONFIDENCES.index(into["conf"]):
                into["conf"] = rec["conf"]
        found = merged
    cands = []
    for (date, gran, event, actor, target), rec in found.items():
        evidence = tuple(Evidence(st, en, tuple(v["pats"]), v["date"])
                         for (st, en), v in sorted(rec["ev"].items()))
        note = rec["note"] or event
        if rec["notes"]:
            note += " (" + "; ".join(rec["notes"]) + ")"
        cands.append(Candidate(date, gran, rec["conf"], event, actor, target, evidence, note))
    cands.sort(key=lambda c: (c.date, c.event, c.actor or "", c.target or "", c.evidence[0].start))
    unknown = [Unknown("name", k, v[0], v[1]) for k, v in unknown_names.items()]
    unknown += [Unknown("verb", k, v[0], v[1]) for k, v in unknown_verbs.items()]
    unknown.sort(key=lambda u: (u.kind, u.start, u.text))
    skipped.sort(key=lambda x: (x.start, x.pattern))
    return IngestResult(published, source, tuple(cands), tuple(unknown), tuple(skipped),
                        tuple((x, y) for x, y, _ in sentences))


ABOUT_BEFORE, ABOUT_AFTER = 4, 10    # tokens around a lexicon match searched for `about` words


def _lexicon_fits(coding: Coding, world_events: set[str]) -> tuple:
    """The world's own patterns for its events; the lexicon phrases it maps, each with its
    candidate rules and their fit; and a start index over both (for :func:`_hits`)."""
    own = [p for p in coding.patterns if p.event in world_events]
    rules = [r for r in coding.rules if r.event in world_events]
    out = []
    for entry in lexicon.load_lexicon().entries if rules else ():
        fits = [(f, r) for r in rules if (f := r.specificity(entry.code))]
        if fits:
            out.append((entry, fits))
    index = lexicon.StartIndex([p.slots for p in own] + [e.slots for e, _ in out])
    return own, out, index


_LEX_PATTERNS: dict[tuple[str, str], Pattern] = {}


def _lex_pattern(entry: Any, rule: Rule) -> Pattern:
    key = (entry.id, rule.id)
    pat = _LEX_PATTERNS.get(key)
    if pat is None or pat.event != rule.event or pat.actors != rule.actors:
        pat = Pattern(id=f"cameo {entry.id} -> {rule.id}", match=entry.match, event=rule.event,
                      slots=entry.slots, actors=rule.actors, targets=rule.targets,
                      modal_ok=entry.modal_ok, requires=rule.requires, leaders=rule.leaders,
                      note=rule.note, object_first=entry.object_first, code=entry.code)
        _LEX_PATTERNS[key] = pat
    return pat


def _hits(s: str, coding: Coding, world_events: set[str], lex_fits: tuple, named: set[str]
          ) -> list[tuple[Pattern, int, int, int]]:
    """(pattern, start, end, verb start) of every match in a sentence: the world's own
    patterns first; then the CAMEO lexicon's phrases that the world maps (``cameo:``), except
    those starting inside a world pattern's match. A lexicon phrase takes one mapping: of those whose
    ``requires`` actors and ``leaders`` are named in the sentence, the most specific (longest
    code, then one whose ``about`` words stand near the phrase), the first listed on a tie."""
    toks = lexicon.tokens(s)
    if not toks:
        return []
    own, lex_fits, index = lex_fits
    where = index.positions(toks)
    out: list[tuple[Pattern, int, int, int]] = []
    taken: list[tuple[int, int]] = []
    for n, pat in enumerate(own):
        if n not in where:
            continue
        for a, b, last in lexicon.find_all(pat.slots, toks, where[n]):
            taken.append((a, b))
            out.append((pat, toks[a].start, toks[b - 1].end,
                        toks[last].start if pat.object_first else toks[a].start))
    mapped: dict[str, list[tuple[int, int]]] = {}
    lex_hits: list[tuple] = []
    for n, (entry, fits) in enumerate(lex_fits, len(own)):
        if n not in where:
            continue
        for a, b, last in lexicon.find_all(entry.slots, toks, where[n]):
            if any(x <= a < y for x, y in taken):
                continue        # inside a world pattern's match: the world's reading wins
            near = toks[max(0, a - ABOUT_BEFORE):b + ABOUT_AFTER]
            ok = [(f, r) for f, r in fits
                  if set(r.requires) <= named
                  and (not r.leaders or len({n for n in r.leaders if n in s}) >= 2)
                  and (r.about is None or lexicon.find_all(r.about, near))]
            if not ok:
                continue
            best = max(f for f, _ in ok)
            r = next(r for f, r in ok if f == best)
            lex_hits.append((a, -b, last, entry, r))
    starts_taken: set[int] = set()
    for a, b, last, entry, r in sorted(lex_hits, key=lambda h: (h[0], -h[1])):
        b = -b
        verb = last if entry.object_first else a
        if verb in starts_taken:
            continue        # one verb, one reading: the phrase with the nearest object wins
        if any(a < y and x < b for x, y in mapped.get(r.event, ())):
            continue        # one phrase, one event: an earlier or longer phrase already has it
        starts_taken.add(verb)
        mapped.setdefault(r.event, []).append((a, b))
        out.append((_lex_pattern(entry, r), toks[a].start, toks[b - 1].end,
                    toks[last].start if entry.object_first else toks[a].start))
    return out


def _period_text(d: DateRef) -> str:
    if d.granularity == "month":
        return d.date.strftime("%B %Y")
    if d.granularity == "year":
        return str(d.date.year)
    return d.date.isoformat()


def _in_later_clause(s: str, me: int, d: DateRef) -> bool:
    """A date after the match but inside a later subordinate clause ("... that began last
    month") belongs to that clause, not to the matched phrase; after a comma the main
    clause resumes ("..., an official said on Friday")."""
    if d.start < me:
        return False
    last = None
    for t in re.findall(r"[\w'’]+|[,;:()\u2013\u2014]", s[me:d.start].lower()):
        if t in _BOUNDARY_WORDS or not t[0].isalnum():
            last = t
    return last is not None and last in _BOUNDARY_WORDS


def _nearest(dates: list[DateRef], ms: int, me: int) -> DateRef | None:
    def dist(d: DateRef) -> int:
        if d.end <= ms:
            return ms - d.end
        if d.start >= me:
            return d.start - me
        return 0
    return min(dates, key=lambda d: (dist(d), d.start), default=None)


_BE = {"was", "were", "been", "being", "is", "are", "be"}


def _is_passive(s: str, vs: int) -> bool:
    """The verb at ``vs`` is passive: "were expelled", "has been lifted" (or the match
    itself starts with the auxiliary, as in an object-first "were_expelled")."""
    first = re.match(r"[\w'’]+", s[vs:])
    if first and first.group().lower() in _BE:
        return True
    before = re.findall(r"[\w'’]+", s[max(0, vs - 30):vs].lower())
    return bool(before) and before[-1] in _BE and bool(first) and first.group().lower(
        ).endswith(("ed", "en", "wn", "ut", "id"))


def _target(pat: Pattern, actor: str, mentions: list[_Mention], ms: int,
            subjects: list[str], undergoer: list[str] = ()) -> tuple[str | None, list[str]]:
    if not pat.targets:
        return None, []
    allowed = [t for t in pat.targets if t != actor]
    if any(u in allowed for u in undergoer):     # a passive's subject is its target
        return next(u for u in undergoer if u in allowed), []
    after = [m.actor for m in mentions if m.start >= ms and m.actor in allowed]
    if after:
        return after[0], []
    anywhere = [m.actor for m in mentions if m.actor in allowed]
    if anywhere:
        return anywhere[0], []
    if allowed:
        return allowed[0], ["target not named: coding default"]
    return None, []


_STOP_CAPS = {"The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "We", "This", "That",
              "These", "Those", "But", "And", "Or", "If", "As", "For", "By", "With", "While",
              "Meanwhile", "Still", "Last", "Back", "Before", "After", "Asked", "Speaking", "Our",
              "Its", "His", "Her", "Their", "Such", "Some", "Many", "Several", "Both", "One",
              "Two", "No", "Not", "There", "Here", "When", "Since", "Also", "However", "Earlier",
              "Later", "According", "Tensions", "Washington's"}


def _scan_names(s: str, base: int, mentions: list[_Mention], coding: Coding,
                cap_mid: set[str], out: dict[str, list]) -> None:
    """Report capitalised words not covered by a known name (never coded)."""
    covered = [(m.start, m.end) for m in mentions]
    dates = find_dates(s, dt.date(2000, 1, 1))
    covered += [(d.start, d.end) for d in dates]
    run: list[re.Match] = []

    def flush() -> None:
        words = [w.group() for w in run]
        while words and (words[0] in _STOP_CAPS or words[0] in _MONTHS
                         or words[0] in _WEEKDAYS):
            words.pop(0)
        if words:
            first = run[len(run) - len(words)]
            if not (first.start() == _first_word(s) and len(words) == 1
                    and words[0] not in cap_mid):
                name = " ".join(words)
                rec = out.setdefault(name, [base + first.start(), 0])
                rec[1] += 1
        run.clear()

    inside_at = bytearray(len(s) + 1)
    for a, b in covered:
        inside_at[a:b] = b"\x01" * (b - a)
    for t in re.finditer(r"[\w'’\-\.]+", s):
        w = t.group().rstrip(".").removesuffix("'s").removesuffix("’s")
        inside = bool(inside_at[t.start()])
        is_cap = bool(re.match(r"[A-ZÇĞİÖŞÜ]", w)) and not inside and not re.search(r"\d", w)
        if is_cap and w not in _MONTHS and w not in _WEEKDAYS:
            run.append(t)
        else:
            if run:
                flush()
    if run:
        flush()


def _first_word(s: str) -> int:
    m = re.search(r"\w", s)
    return m.start() if m else 0


def _scan_verbs(s: str, base: int, mentions: list[_Mention], out: dict[str, list]) -> None:
    """Report the main verb phrase after the first named actor in an uncoded sentence."""
    first = next(m for m in mentions if m.actor)
    toks = list(re.finditer(r"[A-Za-z][A-Za-z0-9'’\-]*", s[first.end:]))
    skipping_reporting = True
    for i, t in enumerate(toks):
        w = t.group().lower()
        if t.group()[:1].isupper():
            continue
        if w in _REPORTING and skipping_reporting:
            continue
        if w.endswith("ed") or w in {"is", "are", "was", "were", "has", "have", "says", "vowed",
                                     "seeks", "wants", "hopes", "insists", "rejects"}:
            if w in {"is", "are", "was", "were", "has", "have"} and i + 1 < len(toks):
                phrase = " ".join(x.group().lower() for x in toks[i:i + 3])
            else:
                phrase = " ".join(x.group().lower() for x in toks[i:i + 2])
            rec = out.setdefault(phrase, [base + first.end + t.start(), 0])
            rec[1] += 1
            return
        if i > 8:
            return


# ============================================================================ CLI helpers


def read_article(path: str | Path) -> str:
    """The article's text; a missing, unreadable, empty, binary, non-UTF-8 or oversized
    (over MAX_ARTICLE_BYTES) file is an InputError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size > MAX_ARTICLE_BYTES:
        raise InputError(Problem(path, None, None, f"{size / 1e6:.1f} MB is too long for one "
                                 f"article (the limit is {MAX_ARTICLE_BYTES / 1e6:.0f} MB)",
                                 "split it into articles or sections and ingest each"))
    try:
        data = read_bytes(path, MAX_ARTICLE_BYTES)   # a regular file only (not a FIFO)
        nul = data.find(b"\x00")
        if nul >= 0:
            line = data.count(b"\n", 0, nul) + 1
            raise InputError(Problem(path, line, None, "binary data, not text (a NUL byte)",
                                     "give a plain-text article (UTF-8)"))
        text = data.decode("utf-8")
        if not text.strip():
            raise InputError(Problem(path, None, None, "the article is empty",
                                     "give a file with the article's text"))
        return text
    except FileNotFoundError:
        raise InputError(Problem(path, None, None, "article file not found",
                                 "give the path of a plain-text article")) from None
    except IsADirectoryError:
        raise InputError(Problem(path, None, None, "is a folder, not an article file")) from None
    except UnicodeDecodeError as exc:
        raise InputError(Problem(path, None, None, f"not UTF-8 text ({exc.reason})",
                                 "save the article as plain UTF-8 text")) from None
    except OSError as exc:
        raise InputError(Problem(path, None, None, f"cannot read: {exc.strerror}")) from None
    except ValueError as exc:   # not a regular file, or too large
        raise InputError(Problem(path, None, None, f"cannot read: {exc}")) from None


def check_published(day: dt.date) -> dt.date:
    """A publication date the date arithmetic can work with (years 1900-2199)."""
    if published_problem(day):
        raise InputError(Problem(None, None, None, f"--published {day.isoformat()} is out of "
                                 "range", "give the article's publication date (years "
                                 "1900-2199)"))
    return day


def parse_published(text: str) -> dt.date:
    """The --published value: an ISO date; anything else is an InputError with a hint."""
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise InputError(Problem(None, None, None, f"--published: '{text}' is not a date",
                                 "use the ISO form YYYY-MM-DD, e.g. 2019-11-15")) from None


def default_coding_path(world_path: str | Path) -> Path:
    """Where the coding dictionaries of a world live: coding.yaml beside world.yaml."""
    return Path(world_path).with_name("coding.yaml")


# ============================================================================ output


def _scalar(v: Any) -> str:
    return yaml.safe_dump(v, default_flow_style=True, width=10_000).strip().removesuffix(
        "\n...").removesuffix("...").strip()


_SOURCE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")


def source_id(source: str | None) -> str:
    """The citation id the entries carry: ``source`` itself when it is an id (a key of
    history.yaml's ``sources``, e.g. S005), else ``NEW`` for the reviewer to name."""
    if source and _SOURCE_ID.fullmatch(source.strip()):
        return source.strip()
    return "NEW"


def to_yaml(result: IngestResult) -> str:
    """Candidate history entries in the history format, with the evidence as comments.

    The output is for a person to review and paste into history.yaml. ``source`` (``--source``)
    is either a citation id, which every entry carries, or "Outlet, Title": then the entries
    carry ``source: NEW`` and a ready-made ``sources`` line for history.yaml is printed.
    """
    lines = ["# Candidate history entries from `sim ingest` -- review every one before pasting.",
             f"# published: {result.published.isoformat()}"]
    sid = source_id(result.source)
    if result.source:
        text = " ".join(result.source.split())
        lines.append(f"# source: {text}")
        if sid == "NEW":
            outlet, _, title = (x.strip() for x in text.partition(","))
            lines.append("# add to history.yaml's sources (and give it a better id than NEW):")
            lines.append(f"#   NEW: {{outlet: {json.dumps(outlet)}, title: {json.dumps(title or '?')}, "
                         f"published: {result.published.isoformat()}}}")
    lines.append(f"# {len(result.candidates)} candidate(s), {len(result.skipped)} skipped "
                 f"match(es), {len(result.unknown)} unknown word(s)")
    for i, c in enumerate(result.candidates, 1):
        lines.append("")
        for ev in c.evidence:
            when = f"; date from '{ev.date_text}'" if ev.date_text else "; no date in sentence"
            lines.append(f"# [{i}] chars {ev.start}-{ev.end}; patterns: "
                         f"{', '.join(ev.patterns)}{when}")
        lines.append(f"- date: {c.date.isoformat()}")
        lines.append(f"  event: {c.event}")
        if c.actor and JOINT in c.actor:
            lines.append(f"  actor: [{', '.join(c.actor.split(JOINT))}]")
        elif c.actor:
            lines.append(f"  actor: {c.actor}")
        if c.target:
            lines.append(f"  target: {c.target}")
        lines.append(f"  source: {sid}")
        lines.append(f"  confidence: {c.confidence}")
        lines.append(f"  granularity: {c.granularity}")
        lines.append(f"  note: {_scalar(c.note)}")
    if result.skipped:
        lines += ["", "# Matched but not coded (negation, condition, modality, question, ...):"]
        for k in result.skipped:
            lines.append(f"#   chars {k.start}-{k.end}: {k.pattern} -> {k.event}: {k.reason}")
    if result.unknown:
        lines += ["", "# Not in the coding dictionaries (reported, not coded):"]
        for u in result.unknown:
            lines.append(f"#   {u.kind}: {_scalar(u.text)} (x{u.count}, first at char {u.start})")
    return "\n".join(lines) + "\n"
