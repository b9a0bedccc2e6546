"""Phrase patterns matched on lemmas, and the CAMEO verb lexicon (``sim/data/cameo.yaml``).

This module owns the pattern language shared by the CAMEO lexicon and a world's coding.yaml
(slots of words, ``word*`` prefixes, ``a|b`` choices, ``&CLASS`` word lists and ``*N`` gaps),
the tokeniser and lemmatiser behind it (lemminflect: its data ships in the wheel, nothing is
downloaded at run time) and the matcher. A word in a pattern matches every inflection of it:
"impose" matches imposed, imposes, imposing; "delivery" matches deliveries.

Matching is linear in the sentence: each pattern is tried only at tokens whose lemma can start
it, and the result of matching slot k at token i is remembered, so a gap never re-scans
(at most slots x tokens x gap steps per pattern and sentence).

>>> toks = tokens("Washington has blacklisted Turkey's agency.")
>>> p = compile_slots("blacklist * agency", {})
>>> [(toks[a].start, toks[b - 1].end) for a, b, _ in find_all(p, toks)]
[(15, 42)]
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import attrs
import yaml

_TOKEN = re.compile(r"(?:[A-Za-z]\.){2,}|[\w'’]+(?:-(?:\n[ \t]*)?[\w'’]+)*")


@attrs.frozen
class Token:
    start: int
    end: int
    low: str                   # lower case, a line-end hyphen joined, ’ made '
    lemmas: frozenset[str]     # low itself, its verb and noun lemmas, a possessive's base


MAX_GAP = 50    # the most words a gap '*N' of a pattern may skip


@functools.lru_cache(maxsize=100_000)
def lemmas(word: str) -> frozenset[str]:
    """The word (lower case) and its verb and noun lemmas ("blacklisted" -> blacklist)."""
    from lemminflect import getLemma

    out = {word}
    base = word
    if word.endswith("'s"):
        base = word[:-2]
        out.add(base)
    if base.isalpha() or "-" in base:
        for upos in ("VERB", "NOUN"):
            out.update(x.lower() for x in getLemma(base, upos=upos, lemmatize_oov=True))
    return frozenset(out)


def tokens(text: str) -> list[Token]:
    """Word tokens of ``text`` with offsets; model names ("F-35", "S-400") are one word."""
    out = []
    for m in _TOKEN.finditer(text):
        low = m.group().lower().replace("’", "'")
        if "\n" in low:
            low = re.sub(r"-\n[ \t]*", "-", low)
        out.append(Token(m.start(), m.end(), low, lemmas(low)))
    return out


# ---------------------------------------------------------------------------- patterns

# A word matcher: ("=", lemma set) or ("^", prefix). An alternative: a tuple of word
# matchers (a several-word choice). A slot: (alternatives, gap before it).


def _word(w: str) -> tuple[str, Any]:
    w = w.lower().replace("’", "'")
    if w.endswith("*") and len(w) > 1:
        return ("^", w[:-1])
    return ("=", lemmas(w))


@attrs.frozen
class Slots:
    """A compiled pattern: slots of alternatives with the gap allowed before each."""

    slots: tuple[tuple[tuple[tuple, ...], int, tuple], ...]   # (choices, gap, index)
    first: frozenset[str]          # lemmas that can start a match
    prefixes: tuple[str, ...]      # prefixes that can start a match
    surface: frozenset[str] = frozenset()   # every word as written (lower case; "word*" kept)
    noun_first: bool = False       # the first slot is a &CLASS of nouns ("&SANCTION * lifted")

    def written(self, word: str) -> bool:
        """``word`` is one of the pattern's words as written (or starts a ``word*``)."""
        w = word.lower().replace("’", "'")
        return self.noun_first or w in self.surface or any(w.startswith(s[:-1]) for s in self.surface
                                        if s.endswith("*"))


def compile_slots(match: str, classes: dict[str, list[str]]) -> Slots:
    """Compile the pattern language (see the module docstring) to :class:`Slots`.

    A KeyError names an unknown class; a ValueError says what else is wrong.
    """
    parts = match.split()
    if not parts:
        raise ValueError("empty pattern")
    slots: list[tuple[tuple, int]] = []
    gap: int | None = None
    for part in parts:
        m = re.fullmatch(r"\*(\d*)", part)
        if m:
            if not slots or gap is not None:
                raise ValueError("a gap '*' must stand between two words")
            gap = int(m.group(1)) if m.group(1) else 6
            if gap > MAX_GAP:
                raise ValueError(f"a gap '*{m.group(1)}' is longer than {MAX_GAP} words")
            continue
        alts: list[tuple] = []
        for alt in part.split("|"):
            if not alt:
                raise ValueError(f"empty choice in '{part}'")
            if alt.startswith("&"):
                if alt[1:] not in classes:
                    raise KeyError(alt[1:])
                choices = classes[alt[1:]]
            else:
                choices = [alt.replace("_", " ")]
            for c in choices:
                words = tuple(_word(w) for w in c.split())
                if words:
                    alts.append(words)
        # longer choices first: "S-400 system" before "S-400"
        alts.sort(key=lambda a: -len(a))
        slots.append((tuple(alts), gap or 0, _slot_index(alts)))
        gap = None
    if gap is not None:
        raise ValueError("a pattern cannot end with a gap '*'")
    first: set[str] = set()
    prefixes: list[str] = []
    for alt in slots[0][0]:
        kind, val = alt[0]
        if kind == "=":
            first |= val
        else:
            prefixes.append(val)
    surface: set[str] = set()
    surface |= {w.lower().replace("’", "'") for part in parts
                if not re.fullmatch(r"\*\d*", part)
                for alt in part.split("|") if not alt.startswith("&")
                for w in alt.split("_")}
    for part in parts:
        for alt in part.split("|"):
            if alt.startswith("&"):
                surface |= {w.lower() for c in classes[alt[1:]] for w in c.split()}
    return Slots(tuple(slots), frozenset(first), tuple(prefixes), frozenset(surface),
                 any(a.startswith("&") for a in parts[0].split("|")))


def _slot_index(alts: list[tuple]) -> tuple[dict[str, tuple], tuple]:
    """lemma -> the alternatives whose first word has it; and those starting with a prefix
    (so a slot is tried only with the alternatives its token can start)."""
    by_lemma: dict[str, list] = {}
    prefixed = []
    for alt in alts:
        kind, val = alt[0]
        if kind == "=":
            for lem in val:
                by_lemma.setdefault(lem, []).append(alt)
        else:
            prefixed.append(alt)
    return {k: tuple(v) for k, v in by_lemma.items()}, tuple(prefixed)


def _candidates(slot: tuple, tok: Token) -> list[tuple]:
    by_lemma, prefixed = slot[2]
    seen: dict[int, tuple] = {}
    for lem in tok.lemmas:
        for alt in by_lemma.get(lem, ()):
            seen[id(alt)] = alt
    for alt in prefixed:
        if tok.low.startswith(alt[0][1]):
            seen[id(alt)] = alt
    return sorted(seen.values(), key=lambda a: -len(a)) if len(seen) > 1 else list(
        seen.values())


def _word_ok(matcher: tuple, tok: Token) -> bool:
    kind, val = matcher
    if kind == "=":
        return not val.isdisjoint(tok.lemmas)
    return tok.low.startswith(val)


def _alt_ok(alt: tuple, toks: list[Token], i: int) -> bool:
    if i + len(alt) > len(toks):
        return False
    return all(_word_ok(w, toks[i + k]) for k, w in enumerate(alt))


def can_start(p: Slots, tok: Token) -> bool:
    return not p.first.isdisjoint(tok.lemmas) or any(tok.low.startswith(x) for x in p.prefixes)


def index(toks: list[Token]) -> dict[str, list[int]]:
    """lemma -> positions of the tokens that have it (to find where patterns can start)."""
    out: dict[str, list[int]] = {}
    for i, t in enumerate(toks):
        for lem in t.lemmas:
            out.setdefault(lem, []).append(i)
    return out


def starts(p: Slots, toks: list[Token], idx: dict[str, list[int]]) -> list[int]:
    """Token positions where ``p`` can start (from :func:`index`)."""
    found: set[int] = set()
    for lem in p.first:
        found.update(idx.get(lem, ()))
    if p.prefixes:
        found.update(i for i, t in enumerate(toks) if any(t.low.startswith(x)
                                                            for x in p.prefixes))
    return sorted(found)


class StartIndex:
    """Where each of many patterns can start in a sentence, found in one pass over its
    tokens (lemma -> patterns), so the cost does not grow with the number of patterns."""

    def __init__(self, patterns: list[Slots]) -> None:
        self.by_lemma: dict[str, list[int]] = {}
        self.prefixed: list[tuple[int, str]] = []
        for n, p in enumerate(patterns):
            for lem in p.first:
                self.by_lemma.setdefault(lem, []).append(n)
            self.prefixed += [(n, x) for x in p.prefixes]

    def positions(self, toks: list[Token]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i, t in enumerate(toks):
            hit: set[int] = set()
            for lem in t.lemmas:
                hit.update(self.by_lemma.get(lem, ()))
            hit.update(n for n, x in self.prefixed if t.low.startswith(x))
            for n in hit:
                out.setdefault(n, []).append(i)
        return out


def find_all(p: Slots, toks: list[Token], starts: Iterable[int] | None = None
             ) -> list[tuple[int, int, int]]:
    """Non-overlapping matches, leftmost first, shortest gaps first (like a lazy regex):
    (first token, end token exclusive, first token of the last slot)."""
    memo: dict[tuple[int, int], tuple[int, int] | None] = {}
    n = len(p.slots)

    def at(k: int, i: int) -> tuple[int, int] | None:
        key = (k, i)
        if key in memo:
            return memo[key]
        memo[key] = None
        res = None
        if i >= len(toks):
            return None
        for alt in _candidates(p.slots[k], toks[i]):
            if not _alt_ok(alt, toks, i):
                continue
            j = i + len(alt)
            if k + 1 == n:
                res = (j, i)
                break
            for g in range(p.slots[k + 1][1] + 1):
                if j + g >= len(toks):
                    break
                r = at(k + 1, j + g)
                if r:
                    res = r
                    break
            if res:
                break
        memo[key] = res
        return res

    out = []
    last_end = 0
    for i in (range(len(toks)) if starts is None else starts):
        if i < last_end or not can_start(p, toks[i]):
            continue
        r = at(0, i)
        if r:
            out.append((i, r[0], r[1]))
            last_end = r[0]
    return out


# ---------------------------------------------------------------------------- the lexicon


@attrs.frozen
class LexEntry:
    """One phrase of the CAMEO lexicon."""

    id: str                     # "163.2": code and position
    code: str                   # CAMEO code ("163") or a lawmaking code ("L2")
    match: str
    slots: Slots = attrs.field(eq=False, repr=False)
    modal_ok: bool = False
    object_first: bool = False


@attrs.frozen
class Lexicon:
    entries: tuple[LexEntry, ...]
    classes: dict[str, list[str]] = attrs.field(eq=False, repr=False)


@functools.cache
def load_lexicon() -> Lexicon:
    """The CAMEO lexicon shipped with the package (``sim/data/cameo.yaml``)."""
    text = resources.files("sim").joinpath("data", "cameo.yaml").read_text(encoding="utf-8")
    return parse_lexicon(yaml.safe_load(text))


def parse_lexicon(data: dict) -> Lexicon:
    classes = {k: [str(x) for x in v] for k, v in (data.get("classes") or {}).items()}
    entries = []
    for code, items in (data.get("patterns") or {}).items():
        for j, item in enumerate(items):
            spec = item if isinstance(item, dict) else {"match": item}
            match = str(spec["match"])
            if "," in match:
                raise ValueError(f"lexicon {code}: a comma in '{match}' (one pattern per item)")
            entries.append(LexEntry(f"{code}.{j + 1}", str(code), match,
                                    compile_slots(match, classes),
                                    bool(spec.get("modal_ok", False)),
                                    bool(spec.get("object_first", False))))
    return Lexicon(tuple(entries), classes)


CAMEO_ROOTS = {
    "01": "make a public statement", "02": "appeal", "03": "express intent to cooperate",
    "04": "consult", "05": "engage in diplomatic cooperation",
    "06": "engage in material cooperation", "07": "provide aid", "08": "yield",
    "09": "investigate", "10": "demand", "11": "disapprove", "12": "reject",
    "13": "threaten", "14": "protest", "15": "exhibit force posture", "16": "reduce relations",
    "17": "coerce", "18": "assault", "19": "fight", "20": "use unconventional mass violence",
    "L1": "introduce a bill (not CAMEO)", "L2": "pass a bill (not CAMEO)",
    "L3": "hold or delay a bill (not CAMEO)", "L4": "a committee approves a bill (not CAMEO)",
}
