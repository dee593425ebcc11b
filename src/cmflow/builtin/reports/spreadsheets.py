"""The report's tables as an Excel workbook, and the run's measurements as CSV and JSON files.

A :class:`Sheet` is a title, typed :class:`Column` s and rows of plain values; :func:`write_xlsx`
writes sheets to one ``.xlsx`` file with XlsxWriter. Numbers stay numbers (a percentage in percent
units, ``3.12``, is written ``0.0312`` with a ``0.00%`` format), dates are Excel dates, a missing
value (``None``, NaN) is an empty cell, never ``0`` or ``"None"``.

:func:`measurement_table` lays out a run's measurements (and their comparisons) as one flat table
for people who build their own dashboards; :func:`write_measurements_csv`,
:func:`write_measurements_json` and :func:`measurements_sheet` write it as CSV, JSON or a sheet.

Every text cell of every format goes through
:func:`cmflow.neutralise`: captions and account names come from the
public. Every file is written beside its place and moved there once complete.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

from cmflow.builtin.reports.files import replace_atomically
from cmflow import neutralise

if TYPE_CHECKING:
    import polars as pl
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

__all__ = ["Cell", "Column", "Sheet", "SheetChart", "excel_sheet_name", "measurement_table", "measurements_sheet",
           "neutralise", "replace_atomically", "write_measurements_csv", "write_measurements_json", "write_xlsx"]

MetricLabels = Mapping[str, str] | Callable[[str], str]
"""What people call each metric: a mapping, or a function such as ``Language.metric_label``."""
ColumnKind = Literal["text", "integer", "decimal", "percent", "points", "amount", "date", "datetime", "url"]
COLUMN_KINDS = frozenset({"text", "integer", "decimal", "percent", "points", "amount", "date", "datetime", "url"})
NUMERIC_KINDS = frozenset({"integer", "decimal", "percent", "points", "amount"})

NUMBER_FORMATS: dict[str, str] = {"integer": "#,##0", "decimal": "#,##0.00", "percent": "0.00%",
                                  "points": '+0.00" pt";-0.00" pt";0.00" pt"'}
"""Excel number formats by column kind. Excel shows the thousands and decimal separators of
the reader's own settings (``1,234.50`` in English, ``1 234,50`` in French), whatever the code."""
DATE_FORMAT = "d mmm yyyy"
DATETIME_FORMAT = "d mmm yyyy hh:mm"
EXCEL_LANGUAGE_IDS = {"en": "409", "fr": "40C"}
"""Windows language ids put in front of date formats (``[$-40C]d mmm yyyy``) so that month names
are in the report's language (``16 nov. 2026``) on any reader's Excel. A language not listed
gets the reader's own."""

SHEET_NAME_LIMIT = 31
"""Excel's longest sheet name, in UTF-16 code units."""
FORBIDDEN_IN_SHEET_NAMES = frozenset("[]:*?/\\")
RESERVED_SHEET_NAMES = frozenset({"history"})
"""Names Excel keeps for itself (whatever the case)."""
MAX_ROWS = 1_048_576
MAX_TEXT = 32_767
"""Longest text an Excel cell holds; longer text is cut, ending with an ellipsis."""
MAX_URL = 2_079
MAX_URL_ANCHOR = 255
"""Longest link Excel keeps, and longest part after its ``#``: a longer one is written as text."""
MAX_LINKS_PER_SHEET = 65_530
MIN_WIDTH, MAX_WIDTH = 6, 60
"""Column widths, in characters: wide enough for the header and the longest value, up to
MAX_WIDTH (a long caption is cut off on screen rather than making the sheet unreadable)."""

TITLE_ROW, HEADER_ROW = 0, 2
"""A title line, a blank line, then the table: its header row stays frozen while scrolling."""
CHART_SIZE = (640, 360)
CHART_ROWS = 20
"""A chart's size in pixels, and the rows (of 20 px) from one chart's top to the next's: a
sheet's charts stand one under the other, a blank row between them."""


@dataclass(frozen=True)
class Column:
    """One column of a table: the row key its values are read from, the header shown, and what
    the values are. ``percent`` values are in percent units (``3.12`` means 3.12 %); ``url``
    values are links when they are http(s), text otherwise."""

    key: str
    title: str
    kind: ColumnKind = "text"
    currency: str = ""
    """An ``amount`` column's currency (ISO 4217: ``EUR``): its symbol and decimals, placed as
    the report's language writes them (``290,00 €``, ``€290.00``)."""


@dataclass(frozen=True)
class Cell:
    """A value with a kind of its own, for a column whose rows hold different figures (the
    summary's KPIs: a rate on one row, a count on the next); the column's kind applies to the
    other values."""

    value: Any
    kind: ColumnKind
    currency: str = ""
    """An ``amount``'s currency (ISO 4217)."""

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"cell kind {self.kind!r} is not one of {', '.join(sorted(COLUMN_KINDS))}")


@dataclass(frozen=True)
class SheetChart:
    """A native Excel chart of a sheet's table, beside it: a ``line`` (a trend over periods) or
    ``column`` chart with ``category`` (a column key) on the horizontal axis and one series per
    key of ``values`` (numeric columns). ``colours`` (``#rrggbb``, one per series, optional)
    keeps a platform's colour the same as in the HTML report."""

    kind: Literal["line", "column"]
    category: str
    values: tuple[str, ...]
    title: str = ""
    colours: tuple[str, ...] = ()


@dataclass
class Sheet:
    """One table of the workbook, on a sheet of its own. ``name`` is made valid for Excel by
    :func:`excel_sheet_name` (at most 31 characters, none of ``[]:*?/\\``, unique in the book);
    ``title`` is a line above the table; each row is a dict read by the columns' keys (a key
    missing from a row is an empty cell); ``charts`` are drawn beside the table, one under the other."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    charts: tuple[SheetChart, ...] = ()


def excel_sheet_name(name: str, taken: set[str]) -> str:
    """``name`` made valid for an Excel sheet and unique among ``taken`` (compared without case,
    as Excel does; the result is added to it): forbidden characters and control characters become
    spaces, leading and trailing apostrophes go, a name longer than 31 characters is cut after a
    word and ends with an ellipsis, and a name already taken gets `` (2)``, `` (3)`` ... (cut
    further to fit)."""
    cleaned = "".join(" " if c in FORBIDDEN_IN_SHEET_NAMES or not c.isprintable() else c for c in name)
    cleaned = " ".join(cleaned.split()).strip("'").strip() or "Sheet"
    candidate, number = _shortened(cleaned, SHEET_NAME_LIMIT), 1
    while candidate.casefold() in {t.casefold() for t in taken} | RESERVED_SHEET_NAMES:
        number += 1
        suffix = f" ({number})"
        candidate = _shortened(cleaned, SHEET_NAME_LIMIT - len(suffix)) + suffix
    taken.add(candidate)
    return candidate


def _shortened(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` UTF-16 code units, else cut after its last whole word
    (within the second half; mid-word otherwise) and ended with an ellipsis."""
    if _utf16_length(text) <= limit:
        return text
    cut = _cut_utf16(text, limit - 1)
    space = cut.rfind(" ")
    if space >= len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" '") + "…"


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut_utf16(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 code units (an emoji counts two, as in Excel)."""
    while _utf16_length(text) > limit:
        text = text[:-1]
    return text


def write_xlsx(sheets: list[Sheet], path: str | os.PathLike[str], *, title: str, locale: str = "en") -> None:
    """Write ``sheets`` to an Excel workbook at ``path``, replacing it only once complete (a
    reader never opens half a file): one sheet per table with its title line, a frozen header row
    with filters, number formats by column kind, widths from the content, the sheet's chart if
    any, and ``title`` as the document's title. ``locale`` (``en``, ``fr``, ``fr_FR`` ...) sets
    the language of month names in dates.

    Raises ValueError when a sheet cannot be written as asked (a value that is not a number in a
    numeric column, a chart naming a column the sheet lacks, more rows than Excel holds): a
    mistake in the code building the sheets, said with the sheet, column and row. OSError when
    the file cannot be written (the earlier file, if any, is left as it was)."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    for sheet in sheets:
        _check_sheet(sheet)
    replace_atomically(path, lambda temporary: _write_workbook(sheets, temporary, title, locale))


def _check_sheet(sheet: Sheet) -> None:
    """Refuse what would make a wrong workbook before anything is written."""
    keys = [c.key for c in sheet.columns]
    if not keys:
        raise ValueError(f"sheet {sheet.name!r} has no columns")
    if len(set(keys)) != len(keys):
        raise ValueError(f"sheet {sheet.name!r}: column keys repeat: {keys}")
    for column in sheet.columns:
        if column.kind not in COLUMN_KINDS:
            raise ValueError(f"sheet {sheet.name!r}, column {column.key!r}: kind {column.kind!r} is not one of "
                             f"{', '.join(sorted(COLUMN_KINDS))}")
    if len(sheet.rows) > MAX_ROWS - HEADER_ROW - 1:
        raise ValueError(f"sheet {sheet.name!r} has {len(sheet.rows):,} rows; an Excel sheet holds "
                         f"{MAX_ROWS - HEADER_ROW - 1:,} below its title and header: split the table")
    kinds = {c.key: c.kind for c in sheet.columns}
    for chart in sheet.charts:
        _check_chart(sheet, chart, keys, kinds)


def _check_chart(sheet: Sheet, chart: SheetChart, keys: list[str], kinds: dict[str, str]) -> None:
    if chart.kind not in ("line", "column"):
        raise ValueError(f"sheet {sheet.name!r}: chart kind {chart.kind!r} is not line or column")
    if chart.category not in kinds:
        raise ValueError(f"sheet {sheet.name!r}: the chart's category {chart.category!r} is not a column "
                         f"(columns: {', '.join(keys)})")
    if not chart.values:
        raise ValueError(f"sheet {sheet.name!r}: the chart has no values to draw")
    for key in chart.values:
        if kinds.get(key) not in NUMERIC_KINDS:
            raise ValueError(f"sheet {sheet.name!r}: the chart's value {key!r} is not a numeric column "
                             f"(numeric columns: {', '.join(k for k in keys if kinds[k] in NUMERIC_KINDS)})")
    if chart.colours and len(chart.colours) != len(chart.values):
        raise ValueError(f"sheet {sheet.name!r}: the chart has {len(chart.values)} series and "
                         f"{len(chart.colours)} colours")


class _Formats:
    """The workbook's cell formats, made once (Excel files hold each distinct format once)."""

    def __init__(self, book: "Workbook", locale: str) -> None:
        language = EXCEL_LANGUAGE_IDS.get(locale.replace("-", "_").split("_")[0].lower())
        prefix = self.date_prefix = f"[$-{language}]" if language else ""
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#F2F2F2", "valign": "top"})
        self.text = book.add_format({"valign": "top"})
        self.link = book.add_format({"valign": "top", "font_color": "#1155CC", "underline": 1})
        self.by_kind: dict[str, "Format"] = {
            kind: book.add_format({"num_format": code, "valign": "top"}) for kind, code in NUMBER_FORMATS.items()}
        self.by_kind["date"] = book.add_format({"num_format": prefix + DATE_FORMAT, "valign": "top"})
        self.by_kind["datetime"] = book.add_format({"num_format": prefix + DATETIME_FORMAT, "valign": "top"})
        self.by_kind["text"] = self.text
        self.by_kind["url"] = self.text
        self._book, self._locale, self._amounts = book, locale, {}

    def amount(self, currency: str) -> "Format":
        """The format of amounts in ``currency``, as the report's language writes them."""
        if currency not in self._amounts:
            self._amounts[currency] = self._book.add_format(
                {"num_format": amount_format(currency, self._locale), "valign": "top"})
        return self._amounts[currency]


def amount_format(currency: str, locale: str) -> str:
    """An Excel number format for amounts in ``currency`` (ISO 4217), its symbol before or after
    the figure and its decimals as ``locale`` writes them (Babel's CLDR data): ``#,##0.00\\ [$€]``
    in French, ``[$€]#,##0.00`` in English; an unknown currency is written by its code. Excel shows
    the separators of the reader's own settings, as for every number."""
    from babel import Locale
    from babel.numbers import get_currency_precision, get_currency_symbol

    babel = Locale.parse(locale.replace("-", "_"))
    digits = get_currency_precision(currency)
    number = "#,##0" + ("." + "0" * digits if digits else "")
    symbol = f"[${get_currency_symbol(currency, babel)}]"
    pattern = babel.currency_formats["standard"].pattern.split(";")[0]
    if pattern.index("¤") < pattern.index("0"):
        return symbol + ("\\ " if pattern[pattern.index("¤") + 1].isspace() else "") + number
    return number + ("\\ " if pattern[pattern.index("¤") - 1].isspace() else "") + symbol


def _write_workbook(sheets: list[Sheet], path: Path, title: str, locale: str) -> None:
    from xlsxwriter import Workbook

    # Strings are written as strings whatever they look like (never turned into formulas,
    # numbers or links by XlsxWriter); datetimes keep their wall-clock time, time zone dropped.
    book = Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                "strings_to_urls": False, "remove_timezone": True})
    try:
        book.set_properties({"title": title})
        formats, taken = _Formats(book, locale), set()
        for sheet in sheets:
            _write_sheet(book, book.add_worksheet(excel_sheet_name(sheet.name, taken)), sheet, formats)
    finally:
        book.close()


def _write_sheet(book: "Workbook", worksheet: "Worksheet", sheet: Sheet, formats: _Formats) -> None:
    worksheet.write_string(TITLE_ROW, 0, _cell_text(sheet.title), formats.title)
    widths = [len(column.title) for column in sheet.columns]
    for index, column in enumerate(sheet.columns):
        worksheet.write_string(HEADER_ROW, index, _cell_text(column.title), formats.header)
    links = 0
    for offset, row in enumerate(sheet.rows, start=1):
        for index, column in enumerate(sheet.columns):
            value = row.get(column.key)
            cell_column = column
            if isinstance(value, Cell):
                cell_column, value = Column(column.key, column.title, value.kind, value.currency), value.value
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                continue  # an empty cell: a missing figure is not 0
            where = (sheet, cell_column, offset)
            width, links = _write_value(worksheet, HEADER_ROW + offset, index, cell_column, value, formats, links,
                                        where)
            widths[index] = max(widths[index], width)
    for index, width in enumerate(widths):
        worksheet.set_column(index, index, min(max(width + 2, MIN_WIDTH), MAX_WIDTH))
    last_row = HEADER_ROW + len(sheet.rows)
    worksheet.freeze_panes(HEADER_ROW + 1, 0)
    worksheet.autofilter(HEADER_ROW, 0, last_row, len(sheet.columns) - 1)
    worksheet.repeat_rows(HEADER_ROW)  # printed: the header on every page
    worksheet.fit_to_pages(1, 0)
    worksheet.set_landscape()
    # Ids and codes are text on purpose: no "number stored as text" warning on them.
    worksheet.ignore_errors({"number_stored_as_text": f"A{HEADER_ROW + 1}:XFD{MAX_ROWS}"})
    if sheet.rows:
        for number, chart in enumerate(sheet.charts):
            _insert_chart(book, worksheet, sheet, chart, formats, HEADER_ROW + number * CHART_ROWS)


def _write_value(worksheet: "Worksheet", row: int, col: int, column: Column, value: Any,
                 formats: _Formats, links: int, where: tuple[Sheet, Column, int]) -> tuple[int, int]:
    """Write one non-empty cell; return the width its content needs and the sheet's links so far."""
    kind = column.kind
    if kind in NUMERIC_KINDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _not_a(where, value, "number")
        number = value / 100 if kind == "percent" else value
        if kind == "amount":
            worksheet.write_number(row, col, number, formats.amount(column.currency))
            return len(f"{value:,.2f} €"), links
        worksheet.write_number(row, col, number, formats.by_kind[kind])
        shown = {"integer": f"{value:,.0f}", "decimal": f"{value:,.2f}", "percent": f"{value:.2f}%",
                 "points": f"{value:+.2f} pt"}[kind]
        return len(shown), links
    if kind in ("date", "datetime"):
        if not isinstance(value, date):
            raise _not_a(where, value, "date" if kind == "date" else "datetime")
        if kind == "date" and isinstance(value, datetime):
            value = value.date()
        worksheet.write_datetime(row, col, value, formats.by_kind[kind])
        return (11 if kind == "date" else 17), links
    text = str(value)
    if kind == "url" and _is_web_link(text) and links < MAX_LINKS_PER_SHEET:
        if worksheet.write_url(row, col, text, formats.link, string=text) == 0:  # else refused: text
            return len(text), links + 1
    text = _cell_text(text)
    worksheet.write_string(row, col, text, formats.text)
    return max((len(line) for line in text.splitlines()), default=0), links


def _is_web_link(text: str) -> bool:
    """A link Excel may open: http(s), within Excel's length, without spaces or quotes."""
    return (text.lower().startswith(("http://", "https://")) and len(text) <= MAX_URL
            and len(text.partition("#")[2]) <= MAX_URL_ANCHOR and not any(c.isspace() or c in '"<>' for c in text))


def _cell_text(text: str) -> str:
    """Text as a cell holds it: neutralised, and cut to Excel's limit."""
    text = neutralise(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _not_a(where: tuple[Sheet, Column, int], value: Any, wanted: str) -> ValueError:
    sheet, column, row = where
    return ValueError(f"sheet {sheet.name!r}, column {column.key!r} ({column.kind}), row {row}: "
                      f"{value!r} is not a {wanted}")


def _insert_chart(book: "Workbook", worksheet: "Worksheet", sheet: Sheet, chart_spec: SheetChart,
                  formats: _Formats, row: int) -> None:
    """A native chart to the right of the table from ``row`` down, its series read from the table's cells."""
    keys = [c.key for c in sheet.columns]
    kinds = {c.key: c.kind for c in sheet.columns}
    first, last = HEADER_ROW + 1, HEADER_ROW + len(sheet.rows)
    category = keys.index(chart_spec.category)
    chart = book.add_chart({"type": chart_spec.kind})
    for number, key in enumerate(chart_spec.values):
        col = keys.index(key)
        series: dict[str, Any] = {
            "name": [worksheet.name, HEADER_ROW, col],
            "categories": [worksheet.name, first, category, last, category],
            "values": [worksheet.name, first, col, last, col],
        }
        if chart_spec.colours:
            colour = chart_spec.colours[number]
            series["line" if chart_spec.kind == "line" else "fill"] = {"color": colour}
            if chart_spec.kind == "line":
                series["marker"] = {"type": "circle", "size": 5, "fill": {"color": colour},
                                    "border": {"color": colour}}
        chart.add_series(series)
    if chart_spec.title:
        chart.set_title({"name": neutralise(chart_spec.title), "name_font": {"size": 12}})
    else:
        chart.set_title({"none": True})
    value_kind = kinds[chart_spec.values[0]]
    chart.set_y_axis({"num_format": "0%" if value_kind == "percent" else NUMBER_FORMATS[value_kind],
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    if kinds[chart_spec.category] in ("date", "datetime"):
        chart.set_x_axis({"date_axis": True, "num_format": formats.date_prefix + DATE_FORMAT})
    chart.set_legend({"position": "bottom"} if len(chart_spec.values) > 1 else {"none": True})
    chart.set_size({"width": CHART_SIZE[0], "height": CHART_SIZE[1]})
    worksheet.insert_chart(row, len(sheet.columns) + 1, chart)


# -- the measurements as one flat table (CSV, JSON, a sheet) --------------------------------------

MEASUREMENT_COLUMNS_BEFORE = (Column("metric", "metric"), Column("metric_label", "metric_label"),
                              Column("period", "period"), Column("period_start", "period_start", "date"),
                              Column("period_end", "period_end", "date"))
MEASUREMENT_COLUMNS_AFTER = (Column("rank", "rank", "integer"), Column("value", "value", "decimal"),
                             Column("unit", "unit"), Column("reason", "reason"), Column("basis", "basis"))
"""The measurement table's columns around the dimension columns (platform, account ...)."""
NOT_IN_MEASUREMENT_FILES = frozenset({"series_key"})
"""Frame columns left out: ``series_key`` repeats the dimension columns as one JSON text."""


def measurement_table(measurements: "pl.DataFrame | None", comparisons: "pl.DataFrame | None" = None, *,
                      metric_labels: MetricLabels | None = None) -> tuple[list[Column], list[dict[str, Any]]]:
    """A run's measurements (``RunResult.measurements``) as columns and rows, one row per metric,
    period and series, sorted by metric, period start and dimensions: ``metric``, ``metric_label``
    (from ``metric_labels``, a mapping or a function, else cmflow's English label), ``period`` (``current``,
    ``previous_period`` ...), ``period_start``, ``period_end``, the dimension columns, ``rank``,
    ``value`` (rates in percent units: ``3.12`` is 3.12 %), ``unit``, ``reason`` (why there is no
    value) and ``basis``; a ranking's rows in rank order. With ``comparisons``
    (``RunResult.comparisons``), each current row also has, per comparison period ``P``:
    ``P_value``, ``change_vs_P`` (in the metric's unit; percentage points for rates),
    ``change_pct_vs_P`` (relative change, in percent) and ``change_reason_vs_P``. Values are as
    the frame holds them (text not yet neutralised)."""
    import polars as pl

    from cmflow import dimension_columns, metric_label, with_series_key

    if measurements is None or measurements.width == 0:
        return [*MEASUREMENT_COLUMNS_BEFORE, *MEASUREMENT_COLUMNS_AFTER], []
    frame = measurements
    dimensions = [c for c in dimension_columns(frame) if c not in NOT_IN_MEASUREMENT_FILES]
    columns = [*MEASUREMENT_COLUMNS_BEFORE, *(Column(d, d) for d in dimensions), *MEASUREMENT_COLUMNS_AFTER]
    label_of = metric_labels if callable(metric_labels) else (metric_labels or {}).get
    labels = {m: label_of(m) or metric_label(m) for m in frame["metric"].unique().drop_nulls()}
    frame = frame.with_columns(pl.col("metric").replace_strict(labels, default=None, return_dtype=pl.String)
                               .alias("metric_label"))
    for name, dtype in (("period_start", pl.Date), ("period_end", pl.Date), ("rank", pl.Int64),
                        ("reason", pl.String), ("basis", pl.String)):
        if name not in frame.columns:  # a frame built by hand, without the run's columns
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    if comparisons is not None and comparisons.height:
        if "series_key" not in frame.columns:
            frame = with_series_key(frame)
        for label in comparisons["comparison"].unique(maintain_order=True).to_list():
            names = {"previous_value": f"{label}_value", "change": f"change_vs_{label}",
                     "change_pct": f"change_pct_vs_{label}", "change_reason": f"change_reason_vs_{label}"}
            compared = comparisons.filter(pl.col("comparison") == label).select(
                "period", "metric", "series_key", *(pl.col(old).alias(new) for old, new in names.items()))
            frame = frame.join(compared, on=["period", "metric", "series_key"], how="left")
            columns += [Column(names["previous_value"], names["previous_value"], "decimal"),
                        Column(names["change"], names["change"], "decimal"),
                        Column(names["change_pct"], names["change_pct"], "percent"),
                        Column(names["change_reason"], names["change_reason"])]
    keys = [c.key for c in columns]
    # A ranking's rows in rank order (within each ``ranked_within`` group), other rows by series.
    within = [c for c in ("ranked_within",) if c in dimensions]
    order = ["metric", "period_start", *within, "rank", *(d for d in dimensions if d not in within)]
    frame = frame.sort(order, nulls_last=False, maintain_order=True)
    return columns, frame.select(keys).to_dicts()


def measurements_sheet(measurements: "pl.DataFrame | None", comparisons: "pl.DataFrame | None" = None, *,
                       name: str = "Data", title: str = "Measurements",
                       metric_labels: MetricLabels | None = None) -> Sheet:
    """The measurement table (:func:`measurement_table`) as a workbook sheet (its headers the
    column names of the CSV file, so a formula or a dashboard reads both the same way)."""
    columns, rows = measurement_table(measurements, comparisons, metric_labels=metric_labels)
    return Sheet(name=name, title=title, columns=columns, rows=rows)


def write_measurements_csv(measurements: "pl.DataFrame | None", path: str | os.PathLike[str], *,
                           comparisons: "pl.DataFrame | None" = None,
                           metric_labels: MetricLabels | None = None) -> None:
    """Write the measurement table (:func:`measurement_table`) as CSV: UTF-8 with a byte-order
    mark (without it Excel reads the file in the computer's old code page and garbles accents),
    a header row of column names, commas, fields with commas, quotes or line breaks quoted, ISO
    dates, dot decimals, an empty field where there is no value, text neutralised."""
    import csv

    columns, rows = measurement_table(measurements, comparisons, metric_labels=metric_labels)

    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([c.key for c in columns])
            for row in rows:
                writer.writerow([_csv_field(row.get(c.key)) for c in columns])

    replace_atomically(path, write)


def write_measurements_json(measurements: "pl.DataFrame | None", path: str | os.PathLike[str], *,
                            comparisons: "pl.DataFrame | None" = None,
                            metric_labels: MetricLabels | None = None) -> None:
    """Write the measurement table (:func:`measurement_table`) as JSON (UTF-8): a list of
    objects, one per row, each with every column (``null`` where there is no value), numbers as
    numbers, ISO dates as text, text neutralised (tools that turn JSON into a sheet would run it)."""
    import json

    columns, rows = measurement_table(measurements, comparisons, metric_labels=metric_labels)

    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8", newline="\n") as out:
            out.write("[")
            for number, row in enumerate(rows):
                item = {c.key: _json_value(row.get(c.key)) for c in columns}
                out.write(("\n" if number == 0 else ",\n") + json.dumps(item, ensure_ascii=False, allow_nan=False))
            out.write("\n]\n" if rows else "]\n")

    replace_atomically(path, write)


SIGNIFICANT_DIGITS = 12
"""Digits a data file keeps of a number: float noise goes (``-21.999999999999996`` is written
``-22``), no figure a report shows changes."""


def _number(value: float | int) -> float | int | None:
    """A number as data files write it: none for NaN and infinities, at most
    :data:`SIGNIFICANT_DIGITS` significant digits, whole numbers without ``.0``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        if value.is_integer() and abs(value) < 2 ** 53:
            return int(value)
    return value


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = _number(value)
        if number is None:
            return ""
        from decimal import Decimal

        return format(Decimal(repr(number)), "f")  # positional, never 1e-05
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))
