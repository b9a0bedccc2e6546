"""User-given text made safe where sim writes it: CSV cells and terminals.

Names and labels come from scenario and world files, which may come from
anyone. Two places would otherwise act on them:

- a spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``,
  ``-``, ``@`` (or a tab or carriage return) as a formula. :func:`csv_writer`
  is the one CSV writer sim uses; it prefixes such text cells with a single
  quote, as OWASP recommends (numbers such as ``-0.5`` are left alone);
- a terminal obeys escape sequences and control characters.
  :func:`terminal_text` removes them (ANSI escapes and every C0/C1 control
  character except newline and tab), and :class:`TerminalSafe` wraps an output
  stream so everything the CLI prints passes through it.

(HTML is escaped where it is written, with :func:`html.escape`.)

>>> csv_cell("=HYPERLINK(1)"), csv_cell("-0.5"), csv_cell("-lots"), csv_cell(3)
("'=HYPERLINK(1)", '-0.5', "'-lots", 3)
>>> terminal_text("ok\\x1b[31mred\\x1b[0m\\x07 done\\n")
'okred done\\n'
"""
from __future__ import annotations

import csv
import re
from typing import Any, TextIO

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# ANSI escape sequences (CSI ... final byte, OSC ... BEL/ST, two-byte ESC x), then any
# remaining C0 control but \t and \n, DEL, and the C1 controls.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]"
                   r"|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet will run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, f: TextIO, **kwargs: Any):
        self._w = csv.writer(f, **kwargs)

    def writerow(self, row: Any) -> Any:
        return self._w.writerow([csv_cell(c) for c in row])

    def writerows(self, rows: Any) -> None:
        for r in rows:
            self.writerow(r)


def csv_writer(f: TextIO, **kwargs: Any) -> _SafeWriter:
    """A ``csv.writer`` whose text cells are neutralised with :func:`csv_cell`."""
    return _SafeWriter(f, **kwargs)


def terminal_text(text: str, keep_cr: bool = False) -> str:
    """``text`` without terminal escape sequences or control characters (newlines and
    tabs are kept; carriage returns too with ``keep_cr``, for progress bars)."""
    text = _ANSI.sub("", text)
    if keep_cr:
        return "\r".join(_CONTROL.sub("", part) for part in text.split("\r"))
    return _CONTROL.sub("", text)


class TerminalSafe:
    """A text stream that writes through :func:`terminal_text` to ``stream``
    (``keep_cr``: let carriage returns through, for a progress bar on stderr)."""

    def __init__(self, stream: TextIO, keep_cr: bool = False):
        self._stream = stream
        self._keep_cr = keep_cr

    def write(self, text: str) -> int:
        self._stream.write(terminal_text(text, self._keep_cr))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
