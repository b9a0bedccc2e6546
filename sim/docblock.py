"""Generated blocks in Markdown docs: the text between a begin and an end marker.

The doc generators (:mod:`sim.scoredoc`, :mod:`sim.branchdoc`) write their tables
between marker lines such as ``<!-- scores:begin -->`` and ``<!-- scores:end -->``;
tests read the block back and compare it with a fresh regeneration.

>>> span("a <!-- x:begin -->old<!-- x:end --> b", "<!-- x:begin -->", "<!-- x:end -->")
(18, 21)
"""
from __future__ import annotations

import os
from pathlib import Path

from sim.errors import InputError, Problem


def span(text: str, begin: str, end: str, file: str | os.PathLike = "<doc>") -> tuple[int, int]:
    """The character span strictly between the markers (InputError if missing)."""
    a, b = text.find(begin), text.find(end)
    if a < 0 or b < a:
        raise InputError(Problem(str(file), None, None, f"no '{begin}' ... '{end}' block",
                                 "add the two marker lines where the tables belong"))
    return a + len(begin), b


def read(doc: str | os.PathLike, begin: str, end: str) -> str:
    """The block's present content, stripped."""
    text = Path(doc).read_text(encoding="utf-8")
    a, b = span(text, begin, end, doc)
    return text[a:b].strip()


def replace(doc: str | os.PathLike, begin: str, end: str, content: str) -> bool:
    """Replace the block's content with ``content``; True if the file changed."""
    path = Path(doc)
    old = path.read_text(encoding="utf-8")
    a, b = span(old, begin, end, path)
    new = old[:a] + "\n" + content + "\n" + old[b:]
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old
