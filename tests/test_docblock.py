"""sim.docblock: the generated block between two markers of a doc."""
import pytest

from sim import docblock
from sim.errors import InputError

B, E = "<!-- t:begin -->", "<!-- t:end -->"


def test_replace_then_read_back_and_report_change(tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text(f"intro\n{B}\nold\n{E}\nrest\n", encoding="utf-8")
    assert docblock.replace(doc, B, E, "new table") is True
    assert doc.read_text(encoding="utf-8") == f"intro\n{B}\nnew table\n{E}\nrest\n"
    assert docblock.read(doc, B, E) == "new table"
    assert docblock.replace(doc, B, E, "new table") is False      # unchanged: not rewritten


def test_missing_or_reversed_markers_are_input_errors(tmp_path):
    doc = tmp_path / "d.md"
    for text in ("no markers", f"{E} before {B}"):
        doc.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="add the two marker lines"):
            docblock.read(doc, B, E)
