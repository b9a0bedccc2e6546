"""Generated blocks in Markdown docs: the text between a begin and an end marker.

The doc generators (:mod:`sim.scoredoc`, :mod:`sim.branchdoc`, scripts/s400_docs.py,
scripts/s400_sensitivity.py) write their tables between marker lines such as
``<!-- scores:begin -->`` and ``<!-- scores:end -->``; tests read the block back and
compare it with a fresh regeneration. Several blocks may share one end marker (e.g.
``<!-- generated:NAME -->`` ... ``<!-- /generated -->``): a block ends at the first end
marker after its begin marker.

>>> span("a <!-- x:begin -->old<!-- x:end --> b", "<!-- x:begin -->", "<!-- x:end -->")
(18, 21)
>>> render("<!-- a -->1<!-- / --><!-- b -->2<!-- / -->", "<!-- b -->", "<!-- / -->", "3")
'<!-- a -->1<!-- / --><!-- b -->\\n3\\n<!-- / -->'
"""
from __future__ import annotations

import os
from pathlib import Path

import attrs

from sim.errors import InputError, Problem


def span(text: str, begin: str, end: str, file: str | os.PathLike = "<doc>") -> tuple[int, int]:
    """The character span strictly between the begin marker and the first end marker
    after it (InputError if either is missing)."""
    a = text.find(begin)
    b = text.find(end, a + len(begin)) if a >= 0 else -1
    if a < 0 or b < 0:
        raise InputError(Problem(str(file), None, None, f"no '{begin}' ... '{end}' block",
                                 "add the two marker lines where the tables belong"))
    return a + len(begin), b


def read(doc: str | os.PathLike, begin: str, end: str) -> str:
    """The block's present content, stripped."""
    text = Path(doc).read_text(encoding="utf-8")
    a, b = span(text, begin, end, doc)
    return text[a:b].strip()


def render(text: str, begin: str, end: str, content: str,
           file: str | os.PathLike = "<doc>") -> str:
    """``text`` with the block's content replaced by ``content`` (on lines of its own)."""
    a, b = span(text, begin, end, file)
    return text[:a] + "\n" + content + "\n" + text[b:]


def replace(doc: str | os.PathLike, begin: str, end: str, content: str) -> bool:
    """Replace the block's content with ``content``; True if the file changed."""
    path = Path(doc)
    old = path.read_text(encoding="utf-8")
    new = render(old, begin, end, content, path)
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


@attrs.frozen
class Block:
    """One generator's markers, so a generator names them once:
    ``BLOCK = Block(BEGIN, END)``; ``BLOCK.span(text)``, ``BLOCK.read(doc)``,
    ``BLOCK.replace(doc, content)``."""

    begin: str
    end: str

    def span(self, text: str, file: str | os.PathLike = "<doc>") -> tuple[int, int]:
        """:func:`span` between these markers."""
        return span(text, self.begin, self.end, file)

    def read(self, doc: str | os.PathLike) -> str:
        """:func:`read` between these markers."""
        return read(doc, self.begin, self.end)

    def replace(self, doc: str | os.PathLike, content: str) -> bool:
        """:func:`replace` between these markers."""
        return replace(doc, self.begin, self.end, content)
