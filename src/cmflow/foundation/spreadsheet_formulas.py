"""Text from the public made safe for spreadsheets (CSV or formula injection).

A caption, an account name or a comment is written by anyone. A spreadsheet that opens a cell
starting with ``=``, ``+``, ``-`` or ``@`` runs it as a formula (``=HYPERLINK(...)`` to leak
data, ``+cmd|' /C calc'!A0`` to start a program), and a leading tab, carriage return or line
feed lets such a formula hide behind blank space. Every file cmflow writes for a spreadsheet
(the bad-rows lists, the report's XLSX workbook, the measurements as CSV and JSON, the CSV
``cmflow classify`` writes) passes its text cells through :func:`neutralise`, the one
implementation (public as ``cmflow.neutralise``). Numbers are written as numbers
and never pass through it: ``-3`` is a number, ``"-20% off"`` from the public is text.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""What a spreadsheet runs as a formula when a cell starts with it (OWASP's CSV injection list;
a line feed too, which some spreadsheets skip like a tab)."""


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet cell that is never run as a formula: with a leading apostrophe
    when it starts like one (``'=HYPERLINK(...)``, ``'+1``, ``'-20% off``, ``'@SUM(A1)``),
    unchanged otherwise. The apostrophe is what a person types in Excel to enter text that looks
    like a formula; it is kept visible so that the value stays text if the sheet is saved again
    as CSV. Blanks before the formula do not hide it (``  =1+1`` -> ``'  =1+1``): some
    spreadsheets trim them on import."""
    return f"'{text}" if text.lstrip().startswith(FORMULA_STARTS) or text.startswith(FORMULA_STARTS) else text
