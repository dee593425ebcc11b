"""Charts for client reports: Vega-Lite specs rendered offline by vl-convert.

A chart is built once from a run's figures (:func:`trend_chart`, :func:`bar_chart`,
:func:`heatmap`, :func:`sparkline`) and rendered per language: SVG for the HTML report and
the PDF, PNG for e-mails (mail clients do not show SVG). Numbers and dates are formatted in the
report's language by Babel's data, the same data the report's text uses, so "3,5 %" in the text
is "3,5 %" on the axis.

The specs hold their data inline and nothing else: no URL, no script. Vega escapes the text it
writes (account names are text from the public) and :meth:`Chart.svg` checks the result before
handing it over: no script, no event attribute, no reference to anything outside the SVG.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import re
import textwrap
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from time import perf_counter
from typing import Any, Iterable
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

import vl_convert
from babel import Locale, UnknownLocaleError
from babel.dates import format_time
from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

PLATFORM_COLOURS: dict[str, str] = {
    "instagram": "#C13584",
    "facebook": "#1877F2",
    "linkedin": "#0A3D6B",
    "tiktok": "#00968F",
    "youtube": "#E00000",
    "x": "#14171A",
    "threads": "#6B6B6B",
    "bluesky": "#4A9FF5",
    "mastodon": "#6364FF",
    "pinterest": "#9B0A1C",
    "ga4": "#E37400",
    "rss": "#B8860B",
}
"""One colour per platform (lower-case platform name, as in records), the same in every chart
and report: the platform's own colour, adjusted where two platforms' colours would be confused
(LinkedIn's blue darkened next to Facebook's, TikTok's cyan darkened to be seen on white)."""

PLATFORM_NAMES: dict[str, str] = {
    "instagram": "Instagram", "facebook": "Facebook", "linkedin": "LinkedIn", "tiktok": "TikTok",
    "youtube": "YouTube", "x": "X", "threads": "Threads", "bluesky": "Bluesky",
    "mastodon": "Mastodon", "pinterest": "Pinterest", "ga4": "Google Analytics", "rss": "RSS",
}
"""How each platform of :data:`PLATFORM_COLOURS` is written for people (brand names, the same
in every language)."""

SERIES_COLOURS: tuple[str, ...] = (
    "#2563EB", "#D97706", "#059669", "#DC2626", "#7C3AED", "#0891B2", "#DB2777", "#65A30D",
    "#475569", "#92400E",
)
"""Colours for series that are not platforms (periods, accounts, formats), in order: distinct
hues dark enough to be seen on white."""

NO_DATA_TEXT: dict[str, str] = {
    "en": "No data for this period",
    "fr": "Aucune donnée sur cette période",
}
"""What an empty chart says, per language (English for a language not listed); a caller with
its own wording passes ``no_data_text``."""

TEXT_COLOUR = "#1F2937"
MUTED_COLOUR = "#6B7280"
GRID_COLOUR = "#E5E7EB"
EMPTY_CELL_COLOUR = "#F3F4F6"
FONT = "Liberation Sans, Arial, Helvetica, sans-serif"
WIDTH = 400
"""The width, in pixels, charts are drawn at: a phone's column (390 px less margins, about
358 px) shows them at about 9/10 size, so the 14 px labels stay above 12 px; a wider page shows
them at this size (or larger, when its CSS gives the SVG ``width:100%``: keep such a chart's
container to about 560 px, where labels reach 20 px)."""
LABEL_SIZE = 14
ROW_LABEL_CHARS = 50
"""A label above horizontal bars longer than this is wrapped onto more lines, never cut off."""
COLUMN_LABEL_CHARS = 12
"""A label under columns longer than this is wrapped onto more lines, never cut off."""

_DATE_FORMAT = re.compile(r"\{date:(\w+)\}")
_NO_DATA = "{no_data}"
_HOURS = "{hours}"
_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """A chart ready to render: its Vega-Lite spec with the data inline, a title for the
    heading above it and a description (alt text) in the report's language."""

    spec: dict = field(hash=False, compare=True)
    title: str
    description: str
    no_data_text: str | None = None
    """What the chart says when it has no data; None: :data:`NO_DATA_TEXT` in the language
    the chart is rendered in."""

    def localised_spec(self, locale: str = "en") -> dict:
        """The spec with its date formats and empty-chart text in ``locale``'s language."""
        return _localised(self.spec, locale, self.no_data_text)

    def svg(self, locale: str = "en") -> str:
        """The chart as SVG to put inline in HTML: no script, no external reference, its
        width, a ``viewBox`` and ``max-width:100%`` (and no height) so it shrinks to its
        container keeping its proportions (CSS ``width:100%`` on the ``svg`` stretches it too),
        titled and described for screen readers."""
        return _svg(json.dumps(self.localised_spec(locale), sort_keys=True), _language_tag(locale),
                    self.title, self.description)

    def narrowed(self, width: int) -> "Chart":
        """The chart drawn ``width`` pixels wide, its labels at the same size: for a column
        narrower than :data:`WIDTH` that would otherwise shrink them (an e-mail on a phone)."""
        return dataclasses.replace(self, spec={**self.spec, "width": width})

    def png(self, locale: str = "en", scale: float = 2) -> bytes:
        """The chart as a PNG image on white (for e-mails), ``scale`` times its size in pixels."""
        spec = self.localised_spec(locale)
        spec["background"] = "white"
        tag = _language_tag(locale)
        with _RENDER_LOCK:
            return vl_convert.vegalite_to_png(spec, scale=scale, format_locale=_number_locale(tag),
                                              time_format_locale=_time_locale(tag), allowed_base_urls=[])

    @property
    def width(self) -> int:
        """The chart's width in pixels (its SVG's ``viewBox`` width)."""
        return int(self.spec["width"])

    @property
    def height(self) -> int:
        """The chart's height in pixels (its SVG's ``viewBox`` height)."""
        return int(self.spec["height"])


def platform_colour(name: str, index: int = 0) -> str:
    """The colour of a series: its platform's colour when ``name`` is a platform ("instagram",
    "Instagram"), else the ``index``-th of :data:`SERIES_COLOURS`."""
    platform = _platform_of(name)
    return PLATFORM_COLOURS[platform] if platform else SERIES_COLOURS[index % len(SERIES_COLOURS)]


def _platform_of(name: str) -> str | None:
    """The platform ``name`` names: "instagram", "Instagram", "X (Twitter)"; None for others."""
    key = name.strip().lower()
    for candidate in (key, key.split(" (")[0]):
        for platform, display in PLATFORM_NAMES.items():
            if candidate in (platform, display.lower()):
                return platform
    return None


def series_colours(names: Iterable[str], colours: dict[str, str] | None = None) -> list[str]:
    """A colour per series name: the caller's choice, else the platform's colour, else the next
    of :data:`SERIES_COLOURS` not used by the other series."""
    colours = colours or {}
    chosen: list[str] = []
    spare = 0
    for name in names:
        if name in colours:
            chosen.append(colours[name])
            continue
        colour = platform_colour(name, spare)
        if colour in SERIES_COLOURS:
            spare += 1
        chosen.append(colour)
    return chosen


def trend_chart(series: dict[str, list[tuple[date, float | None]]], *, title: str, unit: str,
                colours: dict[str, str] | None = None, description: str = "",
                no_data_text: str | None = None, height: int = 220) -> Chart:
    """Lines over time, one per series (e.g. followers per platform over the last periods).

    ``unit`` "%" formats values as percentages (3.12 is 3.12 %), anything else as counts.
    A None value is a gap in the line, not a zero. Dates are drawn as days, or as months when
    every date is the first of a month.
    """
    rows = [{"series": name, "date": _day(day).isoformat(), "value": _shown(value, unit)}
            for name, points in series.items() for day, value in points]
    if not any(row["value"] is not None for row in rows):
        return _empty(title, description, no_data_text, height)
    names = list(series)
    days = sorted({_day(day) for points in series.values() for day, _ in points})
    monthly = len(days) > 1 and all(day.day == 1 for day in days)
    date_format = "{date:yMMM}" if monthly else "{date:MMMd}"
    x_axis: dict[str, Any] = {"title": None, "format": date_format,
                              "labelAngle": 0, "labelOverlap": "greedy", "grid": False,
                              "labelFlush": True}
    step = -(-len(days) // 5)  # at most five dates on the axis: readable on a phone
    x_axis["values"] = [_utc_timestamp(day) for day in days[::-1][::step][::-1]]
    legend = _legend(names)
    value_format = _value_format(unit)
    spec = {
        "width": WIDTH, "height": height + _legend_height(names),
        "autosize": {"type": "fit", "contains": "padding"},
        "data": {"values": rows},
        "mark": {"type": "line", "point": {"size": 36, "filled": True}, "strokeWidth": 2.5,
                 "invalid": "break-paths-show-domains"},
        "encoding": {
            # Dates are days, not instants: a UTC scale draws and labels them the same in every
            # time zone (a local one would label 1 July "30 June" west of Greenwich).
            "x": {"field": "date", "type": "temporal", "scale": {"type": "utc"}, "axis": x_axis},
            "y": {"field": "value", "type": "quantitative", "axis": {
                "title": None, "format": value_format, "tickCount": 4, **_whole_ticks(rows, unit)},
                  "scale": {"zero": False, "padding": 10}},
            "color": {"field": "series", "type": "nominal", "legend": legend,
                      "scale": {"domain": names, "range": series_colours(names, colours)}},
        },
        "config": _config(),
    }
    return Chart(spec, title, description, no_data_text)


def bar_chart(categories: list[str], series: dict[str, list[float | None]], *, title: str, unit: str,
              colours: dict[str, str] | None = None, horizontal: bool | None = None,
              description: str = "", no_data_text: str | None = None) -> Chart:
    """Bars per category, one per series side by side (e.g. ERR per account, this period and
    the previous one), each with its value written at its end.

    Category labels are never cut off. ``horizontal`` None chooses: horizontal bars when labels
    are long or categories many, columns otherwise. Horizontal bars have each category's label
    on a line of its own above its bars, across the chart's width, so account names read whole
    on a phone. A None value has no bar and reads "–", not zero.
    """
    names = list(series)
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(f"bar_chart {title!r}: series {name!r} has {len(values)} values "
                             f"for {len(categories)} categories")
    shown = [_shown(value, unit) for values in series.values() for value in values]
    shown = [value for value in shown if value is not None]
    if not categories or not shown:
        return _empty(title, description, no_data_text, 160)
    if horizontal is None:
        horizontal = (len(categories) > 5 or _longest(categories) > 10 or len(categories) * len(names) > 8
                      or not _values_fit_columns(categories, series))
    # Room past the longest bar for its value, written at its end.
    value_scale: dict[str, Any] = {"nice": True}
    if max(shown) > 0:
        value_scale["domainMax"] = max(shown) * (1.2 if horizontal else 1.1)
    if min(shown) < 0:
        value_scale["domainMin"] = min(shown) * (1.2 if horizontal else 1.3)
    value_format = _value_format(unit)
    legend = _legend(names)
    colour: dict[str, Any] = {"field": "series", "type": "nominal", "legend": legend,
                              "scale": {"domain": names, "range": series_colours(names, colours)}}
    if len(names) == 1 and not colours and all(_platform_of(category) for category in categories):
        # One figure per platform: each bar in its platform's colour, as everywhere else.
        colour = {"field": "fill", "type": "nominal", "scale": None, "legend": None}
    layout = _horizontal_bars if horizontal else _columns
    spec = layout(categories, series, unit, value_scale, colour)
    for row in spec["data"]["values"]:
        if row["kind"] == "bar" and colour["field"] == "fill":
            row["fill"] = platform_colour(categories[row["index"]])
    spec["height"] += _legend_height(names)
    spec["transform"] = [{"calculate": "datum.value == null ? 0 : datum.value", "as": "label_at"},
                         {"calculate": f"datum.value == null ? '–' : format(datum.value, '{value_format}')",
                          "as": "value_label"}]
    spec.update({"width": WIDTH, "autosize": {"type": "fit", "contains": "padding"}, "config": _config()})
    return Chart(spec, title, description, no_data_text)


def _values_fit_columns(categories: list[str], series: dict[str, list[float | None]]) -> bool:
    """Whether the values written over columns fit their columns' width (estimated: 7.5 px a
    character at 13 px, thousands separators and "%" included); if not, bars go horizontal."""
    column = WIDTH * 0.8 * 0.75 / (len(categories) * len(series))
    widest = max(len(f"{value:,.2f}".rstrip("0").rstrip(".")) + 2
                 for values in series.values() for value in values if _shown(value, "") is not None)
    return widest * 7.5 <= column


def _value_labels(channel: str, bar_kind: dict) -> list[dict]:
    """Text layers writing each bar's value past its end: after a positive bar, before a
    negative one."""
    horizontal = channel == "x"
    positive = ({"align": "left", "baseline": "middle", "dx": 4} if horizontal
                else {"align": "center", "baseline": "bottom", "dy": -3})
    negative = ({"align": "right", "baseline": "middle", "dx": -4} if horizontal
                else {"align": "center", "baseline": "top", "dy": 3})
    return [{"transform": [bar_kind, {"filter": test}],
             "mark": {"type": "text", "fontSize": LABEL_SIZE, "color": TEXT_COLOUR, **placement},
             "encoding": {channel: {"field": "label_at", "type": "quantitative"},
                          "text": {"field": "value_label", "type": "nominal"}}}
            for test, placement in (("datum.label_at >= 0", positive), ("datum.label_at < 0", negative))]


def _horizontal_bars(categories: list[str], series: dict[str, list[float | None]], unit: str,
                     value_scale: dict, colour: dict) -> dict:
    """Rows of bars, each category's label on its own line(s) above its bars."""
    names = list(series)
    wrapped = [_wrapped(category, ROW_LABEL_CHARS).split("\n") for category in categories]
    lines = max(len(label) for label in wrapped)
    slots = [f"label {line}" for line in range(lines)] + [f"bar {index}" for index in range(len(names))]
    rows: list[dict] = []
    for index, label in enumerate(wrapped):
        rows += [{"kind": "label", "group": index, "slot": f"label {line}", "text": text}
                 for line, text in enumerate(label)]
        rows += [{"kind": "bar", "group": index, "index": index, "slot": f"bar {number}", "series": name,
                  "value": _shown(series[name][index], unit)} for number, name in enumerate(names)]
    slot_height = 19
    bar_kind = {"filter": "datum.kind == 'bar'"}
    return {
        "height": round(len(categories) * len(slots) * slot_height / 0.85) + 28,
        "data": {"values": rows},
        "encoding": {
            "y": {"field": "group", "type": "ordinal", "axis": None,
                  "scale": {"paddingInner": 0.15, "paddingOuter": 0}},
            "yOffset": {"field": "slot", "type": "nominal", "scale": {"domain": slots, "paddingInner": 0.12}},
        },
        "layer": [
            {"transform": [{"filter": "datum.kind == 'label'"}],
             "mark": {"type": "text", "align": "left", "baseline": "middle", "dy": -2,
                      "fontSize": LABEL_SIZE, "color": TEXT_COLOUR, "fontWeight": "bold"},
             "encoding": {"x": {"value": 0}, "text": {"field": "text", "type": "nominal"}}},
            {"transform": [bar_kind], "mark": {"type": "bar", "cornerRadiusEnd": 2},
             "encoding": {"x": {"field": "value", "type": "quantitative", "scale": value_scale,
                                "axis": {"title": None, "format": _value_format(unit), "tickCount": 4,
                                         "grid": True, "labelFlush": True, **_whole_ticks(rows, unit)}},
                          "color": colour}},
            *_value_labels("x", bar_kind),
        ],
    }


def _columns(categories: list[str], series: dict[str, list[float | None]], unit: str,
             value_scale: dict, colour: dict) -> dict:
    """Columns side by side, the category's label (wrapped if long) under each group."""
    names = list(series)
    labels = _unique_labels([_wrapped(category, COLUMN_LABEL_CHARS) for category in categories])
    rows = [{"kind": "bar", "index": index, "category": label, "series": name, "value": _shown(values[index], unit)}
            for name, values in series.items() for index, label in enumerate(labels)]
    lines = max(label.count("\n") + 1 for label in labels)
    return {
        "height": 220 + (lines - 1) * 16,
        "data": {"values": rows},
        "encoding": {
            "x": {"field": "category", "type": "nominal", "sort": labels, "scale": {"paddingInner": 0.25},
                  "axis": {"title": None, "labelExpr": "split(datum.label, '\\n')", "labelLimit": 0,
                           "ticks": False, "domain": False, "labelAngle": 0}},
            "xOffset": {"field": "series", "type": "nominal", "sort": names},
        },
        "layer": [
            {"mark": {"type": "bar", "cornerRadiusEnd": 2},
             "encoding": {"y": {"field": "value", "type": "quantitative", "scale": value_scale,
                                "axis": {"title": None, "format": _value_format(unit), "tickCount": 4,
                                         "grid": True, "labelFlush": True, **_whole_ticks(rows, unit)}},
                          "color": colour}},
            *_value_labels("y", {"filter": "datum.kind == 'bar'"}),
        ],
    }


def heatmap(cells: list[tuple[int, int, float | None]], *, title: str, weekday_names: list[str],
            unit: str, description: str = "", no_data_text: str | None = None,
            hour_names: list[str] | None = None) -> Chart:
    """A weekday × hour grid (e.g. the engagement of posts by when they were published): one
    row per weekday (0 is ``weekday_names[0]``, Monday in Python's numbering), one column per
    hour 0-23, darker for more. A cell that is absent or None is "no data", drawn apart from
    the lowest value. The hours are labelled ``hour_names`` (24 of them: a report's "9 h") or,
    without, as the locale's clock writes them."""
    if hour_names is not None and len(hour_names) != 24:
        raise ValueError(f"heatmap {title!r}: hour_names needs 24 names, got {len(hour_names)}")
    if len(set(weekday_names)) != 7 or len(weekday_names) != 7:
        raise ValueError(f"heatmap {title!r}: weekday_names needs 7 different names, got {weekday_names!r}")
    given: dict[tuple[int, int], float | None] = {}
    for weekday, hour, value in cells:
        if not (0 <= weekday <= 6 and 0 <= hour <= 23):
            raise ValueError(f"heatmap {title!r}: cell ({weekday}, {hour}) is outside weekdays 0-6 "
                             f"and hours 0-23")
        given[(weekday, hour)] = value
    if not any(_shown(value, unit) is not None for value in given.values()):
        return _empty(title, description, no_data_text, 160)
    rows = [{"weekday": weekday_names[weekday], "hour": hour,
             "value": _shown(given.get((weekday, hour)), unit)}
            for weekday in range(7) for hour in range(24)]
    value_format = _value_format(unit)
    spec = {
        "width": WIDTH, "height": 7 * 22 + 80,
        "autosize": {"type": "fit", "contains": "padding"},
        "data": {"values": rows},
        "encoding": {
            "x": {"field": "hour", "type": "ordinal", "sort": list(range(24)), "axis": {
                "title": None, "labelAngle": 0, "ticks": False, "domain": False,
                "labelExpr": _HOURS if hour_names is None else
                f"datum.value % 3 == 0 ? {json.dumps(hour_names)}[datum.value] : ''", "orient": "top"},
                "scale": {"domain": list(range(24))}},
            "y": {"field": "weekday", "type": "ordinal", "sort": list(weekday_names),
                  "scale": {"domain": list(weekday_names)},
                  "axis": {"title": None, "ticks": False, "domain": False, "labelLimit": 0}},
        },
        "layer": [
            {"mark": {"type": "rect", "color": EMPTY_CELL_COLOUR, "stroke": "white", "strokeWidth": 1}},
            {"transform": [{"filter": "datum.value != null"}],
             "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1},
             "encoding": {
                 "color": {"field": "value", "type": "quantitative", "scale": {"range": ["#C7DDF5", "#0B3C7A"], "zero": True},
                           "legend": {"orient": "bottom", "title": None, "format": value_format,
                                      "gradientLength": 220, "tickCount": 3, "direction": "horizontal"}}}},
        ],
        "config": _config(),
    }
    return Chart(spec, title, description, no_data_text)


def sparkline(points: list[tuple[date, float | None]], *, colour: str, title: str = "",
              description: str = "") -> Chart:
    """A small line without axes (e.g. next to a headline KPI), its last value marked; None
    values are gaps. With no value it is an empty box of the same size."""
    rows = [{"date": _day(day).isoformat(), "value": _shown(value, "")} for day, value in points]
    width, height = 120, 32
    valid = [row for row in rows if row["value"] is not None]
    base: dict[str, Any] = {"width": width, "height": height, "padding": 3,
                            "autosize": {"type": "fit", "contains": "padding"},
                            "config": {**_config(), "view": {"stroke": None}}}
    if not valid:
        return Chart({**base, "data": {"values": [{}]}, "mark": {"type": "text", "text": ""}},
                     title, description, "")
    valid[-1]["last"] = True
    x = {"field": "date", "type": "temporal", "axis": None}
    y = {"field": "value", "type": "quantitative", "axis": None, "scale": {"zero": False}}
    spec = {
        **base,
        "data": {"values": rows},
        "encoding": {"x": x, "y": y},
        "layer": [
            {"mark": {"type": "line", "color": colour, "strokeWidth": 2, "invalid": "break-paths-show-domains"}},
            {"transform": [{"filter": "datum.last === true"}],
             "mark": {"type": "point", "filled": True, "color": colour, "size": 30, "opacity": 1}},
        ],
    }
    return Chart(spec, title, description, "")


def warm_up() -> float:
    """Start vl-convert's JavaScript engine (about half a second, once per process) so the
    first report does not pay for it; returns the seconds it took."""
    started = perf_counter()
    with _RENDER_LOCK:
        vl_convert.vegalite_to_svg({"mark": "point", "data": {"values": [{}]}})
    return perf_counter() - started


# --- rendering --------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _svg(spec_json: str, language: str, title: str, description: str) -> str:
    with _RENDER_LOCK:
        # allowed_base_urls=[]: a spec that names data or an image by URL fails instead of
        # fetching it: charts are drawn from what the run measured, offline.
        raw = vl_convert.vegalite_to_svg(json.loads(spec_json), format_locale=_number_locale(language),
                                         time_format_locale=_time_locale(language), allowed_base_urls=[])
    prefix = "c" + hashlib.sha1(f"{language}\n{spec_json}".encode()).hexdigest()[:10] + "-"
    return _inline_svg(_gradients_in_user_space(_rounded_geometry(_unique_ids(raw, prefix))), title, description)


_GEOMETRY = re.compile(r'(\s(?:d|transform|x|y|x1|x2|y1|y2|width|height)=")([^"]*)"')
_LONG_DECIMAL = re.compile(r"\d+\.\d{3,}")


def _rounded_geometry(svg: str) -> str:
    """Coordinates to a hundredth of a pixel (Vega writes 16 digits): a quarter smaller, the
    same drawing. Only geometry attributes are touched, never text."""
    def rounded(number: re.Match) -> str:
        return f"{float(number.group()):.2f}".rstrip("0").rstrip(".")

    return _GEOMETRY.sub(lambda match: match.group(1) + _LONG_DECIMAL.sub(rounded, match.group(2)) + '"', svg)


_GRADIENT_RECT = re.compile(r'<path d="M([\d.-]+),([\d.-]+)h([\d.]+)v([\d.]+)h-[\d.]+Z" fill="url\(#([^)"]+)\)"')
_BOX_GRADIENT = re.compile(r'<linearGradient id="([^"]+)" x1="([\d.]+)" x2="([\d.]+)" y1="([\d.]+)" y2="([\d.]+)">')


def _gradients_in_user_space(svg: str) -> str:
    """Vega's gradient legend (a heat map's colour bar) in the coordinates of the bar it fills.

    Vega gives the gradient in fractions of the filled shape (``objectBoundingBox``, the SVG
    default); WeasyPrint 70 places such a gradient wrong in the PDF, and the bar printed white
    under its labels. The same gradient in the bar's own coordinates (``userSpaceOnUse``) draws
    the same in browsers and in the PDF. A gradient filling anything but a plain rectangle is
    left as it is."""
    boxes = {match.group(5): tuple(float(match.group(i)) for i in range(1, 5))
             for match in _GRADIENT_RECT.finditer(svg)}

    def in_user_space(match: re.Match) -> str:
        gradient = match.group(1)
        if gradient not in boxes:
            return match.group(0)
        x, y, width, height = boxes[gradient]
        x1, x2, y1, y2 = (float(match.group(i)) for i in range(2, 6))
        return (f'<linearGradient id="{gradient}" gradientUnits="userSpaceOnUse" x1="{x + x1 * width:g}" '
                f'x2="{x + x2 * width:g}" y1="{y + y1 * height:g}" y2="{y + y2 * height:g}">')

    return _BOX_GRADIENT.sub(in_user_space, svg)


def _unique_ids(svg: str, prefix: str) -> str:
    """Vega numbers its clip paths and gradients per process ("clip1"); in a page holding
    several charts, maybe rendered by several processes, each id gets the chart's own prefix."""
    ids = set(re.findall(r'\sid="([^"]+)"', svg))
    if not ids:
        return svg

    def renamed(match: re.Match) -> str:
        return match.group(1) + prefix + match.group(2) + match.group(3) if match.group(2) in ids else match.group(0)

    return re.sub(r'(\sid="|url\(#|href="#)([^"\)]+)(["\)])', renamed, svg)


def _inline_svg(raw: str, title: str, description: str) -> str:
    """vl-convert's SVG made ready to sit in HTML: titled and described for screen readers,
    shrinking to its container, without the unused xlink namespace; refused if unsafe."""
    match = re.match(r'<svg ([^>]*)>', raw)
    if not match:
        raise RuntimeError("vl-convert returned something that is not an SVG")
    attributes = match.group(1)
    if "xlink:" not in raw[match.end():]:
        attributes = attributes.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    # No height: browsers and WeasyPrint take it from the viewBox's proportions at whatever
    # width the SVG gets, its own or less (max-width). An inline "height:auto" would do the same
    # in browsers, but WeasyPrint then draws the SVG in a square.
    attributes = re.sub(r'\sheight="[\d.]+"', "", attributes, count=1)
    label = description or title
    # Without a title or a description (a sparkline beside its figure) the chart is decoration.
    role = f"role=\"img\" aria-label={quoteattr(label)}" if label else 'aria-hidden="true"'
    opening = f'<svg {attributes} {role} style="max-width:100%">'

    heading = f"<title>{escape(title)}</title>" if title else ""
    if description:
        heading += f"<desc>{escape(description)}</desc>"
    svg = opening + heading + raw[match.end():]
    check_inline_safe(svg)
    return svg


_NAMESPACE = re.compile(r"^\{[^}]*\}")
_SAFE_NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")


def check_inline_safe(svg: str) -> None:
    """Raise ValueError unless ``svg`` is well-formed XML that runs nothing and loads nothing:
    no ``script`` or ``foreignObject`` element, no ``on…`` event attribute, no link or
    ``url(...)`` leaving the document, no ``@import``."""
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError as error:
        raise ValueError(f"chart SVG is not well-formed XML: {error}") from None
    for element in root.iter():
        tag = _NAMESPACE.sub("", element.tag).lower()
        if tag in ("script", "foreignobject", "iframe", "object", "embed", "use", "image", "a"):
            raise ValueError(f"chart SVG holds a <{tag}> element")
        if tag == "style" and "@import" in (element.text or ""):
            raise ValueError("chart SVG imports a style sheet")
        for name, value in element.attrib.items():
            bare = _NAMESPACE.sub("", name).lower()
            if bare.startswith("on"):
                raise ValueError(f"chart SVG has an event attribute {bare}")
            if bare in ("href", "src") and not value.startswith("#"):
                raise ValueError(f"chart SVG refers to {value!r}")
            if re.search(r"url\(\s*['\"]?(?!#)", value, re.IGNORECASE):
                raise ValueError(f"chart SVG loads {value!r}")
    if "@import" in svg:
        raise ValueError("chart SVG imports a style sheet")


# --- language ---------------------------------------------------------------------------------

def _language_tag(locale: str) -> str:
    """"fr", "fr-FR", "fr_FR" -> the identifier Babel knows ("fr", "fr_FR"); ValueError if unknown."""
    try:
        return str(Locale.parse(locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"unknown language {locale!r} for a chart (use e.g. 'en' or 'fr')") from None


@lru_cache(maxsize=32)
def _number_locale(language: str) -> dict:
    """d3-format's locale from Babel's data: the same separators as the report's text."""
    percent = Locale.parse(language).percent_formats[None]
    suffix = percent.suffix[0] if percent.suffix[0].strip() else "%"
    return {"decimal": get_decimal_symbol(language), "thousands": get_group_symbol(language),
            "grouping": [3], "currency": ["", ""], "percent": suffix,
            "minus": get_minus_sign_symbol(language), "nan": "–"}


@lru_cache(maxsize=32)
def _time_locale(language: str) -> dict:
    """d3-time-format's locale from Babel's data (d3 weeks start on Sunday, Babel's on Monday)."""
    babel = Locale.parse(language)
    sunday_first = [6, 0, 1, 2, 3, 4, 5]
    days = babel.days["format"]
    months = babel.months["format"]
    return {
        "dateTime": "%x %X", "date": _d3_pattern(babel.date_formats["short"].pattern),
        "time": "%H:%M:%S", "periods": [babel.periods.get("am", "AM"), babel.periods.get("pm", "PM")],
        "days": [days["wide"][index] for index in sunday_first],
        "shortDays": [days["abbreviated"][index] for index in sunday_first],
        "months": [months["wide"][index] for index in range(1, 13)],
        "shortMonths": [months["abbreviated"][index] for index in range(1, 13)],
    }


_CLDR_FIELDS = {"d": "%-d", "dd": "%d", "M": "%-m", "MM": "%m", "MMM": "%b", "MMMM": "%B",
                "L": "%-m", "LL": "%m", "LLL": "%b", "LLLL": "%B", "y": "%Y", "yyyy": "%Y", "yy": "%y",
                "E": "%a", "EEE": "%a", "EEEE": "%A", "ccc": "%a", "cccc": "%A"}


def _d3_pattern(cldr: str) -> str:
    """A CLDR date pattern ("d MMM y") as a d3 time format ("%-d %b %Y")."""
    out = []
    for match in re.finditer(r"'([^']*)'|(([A-Za-z])\3*)|(.)", cldr):
        quoted, run, _, other = match.groups()
        if run:
            out.append(_CLDR_FIELDS.get(run, _CLDR_FIELDS.get(run[0], "")))
        else:
            text = quoted if quoted is not None else other
            out.append((text or "'").replace("%", "%%"))
    return "".join(out)


def _hour_labels(babel: Locale) -> list[str]:
    """The 24 hours as the language writes them: "9 AM" where clocks have 12 hours (English),
    "9:00" where they have 24 (French)."""
    twelve_hours = "h" in babel.time_formats["short"].pattern.replace("'h'", "")
    skeleton = babel.datetime_skeletons["h" if twelve_hours else "Hm"].pattern
    return [format_time(time(hour), skeleton.replace("HH", "H"), locale=babel) for hour in range(24)]


def _localised(spec: dict, locale: str, no_data_text: str | None) -> dict:
    babel = Locale.parse(_language_tag(locale))
    empty_text = no_data_text if no_data_text is not None else NO_DATA_TEXT.get(babel.language, NO_DATA_TEXT["en"])

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, str):
            if value == _NO_DATA:
                return empty_text
            if value == _HOURS:
                return f"datum.value % 3 == 0 ? {json.dumps(_hour_labels(babel))}[datum.value] : ''"
            match = _DATE_FORMAT.fullmatch(value)
            if match:
                skeleton = match.group(1)
                pattern = babel.datetime_skeletons.get(skeleton)
                return _d3_pattern(pattern.pattern if pattern else "d MMM y")
        return value

    return fill(copy.deepcopy(spec))


# --- helpers ----------------------------------------------------------------------------------

def _config() -> dict:
    return {
        "background": None,
        # The SVG as a whole is one image described in the report's language (Chart.description);
        # Vega's own labels of each mark would be read out too, in English.
        "aria": False,
        "font": FONT,
        "view": {"stroke": None},
        "axis": {"labelFontSize": LABEL_SIZE, "labelColor": TEXT_COLOUR, "gridColor": GRID_COLOUR,
                 "domainColor": GRID_COLOUR, "tickColor": GRID_COLOUR, "labelPadding": 6},
        "legend": {"labelFontSize": LABEL_SIZE, "labelColor": TEXT_COLOUR, "symbolSize": 120,
                   "symbolStrokeWidth": 3},
        "text": {"font": FONT},
    }


def _empty(title: str, description: str, no_data_text: str | None, height: int) -> Chart:
    """A chart of the usual width that says there is no data (a caller renders it like any other)."""
    spec = {"width": WIDTH, "height": height, "autosize": {"type": "fit", "contains": "padding"},
            "data": {"values": [{}]},
            "mark": {"type": "text", "text": _NO_DATA, "fontSize": 15, "color": MUTED_COLOUR},
            "config": _config()}
    return Chart(spec, title, description, no_data_text)


def _whole_ticks(rows: list[dict], unit: str) -> dict:
    """Ticks one apart at least when every value is a whole number (posts, comments): no
    "0.5 post" on the axis."""
    values = [row.get("value") for row in rows if row.get("value") is not None]
    whole = unit != "%" and values and all(float(value).is_integer() for value in values)
    return {"tickMinStep": 1} if whole else {}


def _value_format(unit: str) -> str:
    return ".2~%" if unit == "%" else ",.2~f"


def _shown(value: float | None, unit: str) -> float | None:
    """The value as d3 formats it: percentages (3.12 for 3.12 %) as fractions (0.0312); a
    NaN or an infinity (a ratio over nothing, from a frame) is no value, like None."""
    if value is None or not math.isfinite(value):
        return None
    return float(value) / 100 if unit == "%" else float(value)


def _day(day: date) -> date:
    """The day of a date or a datetime: a chart's points are days (a datetime's time would be
    read in the renderer's time zone and shift the point)."""
    return day.date() if isinstance(day, datetime) else day


def _utc_timestamp(day: date) -> dict:
    return {"year": day.year, "month": day.month, "date": day.day, "utc": True}


def _longest(labels: Iterable[str]) -> int:
    return max((len(label) for label in labels), default=0)


def _legend_columns(names: list[str]) -> int:
    """As many legend entries side by side as fit the chart's width (estimated: 8 px a
    character, 34 px for the symbol and the gap), the entries never shortened."""
    entry = max(len(name) for name in names) * 8 + 34
    return max(1, min(len(names), WIDTH // entry))


def _legend(names: list[str]) -> dict | None:
    """The legend above a chart of several series; None for one series (the title names it)."""
    if len(names) < 2:
        return None
    return {"orient": "top", "title": None, "direction": "horizontal", "labelLimit": 0,
            "columns": _legend_columns(names)}


def _legend_height(names: list[str]) -> int:
    """The height :func:`_legend` takes: a line of 24 px per row of entries."""
    if len(names) < 2:
        return 0
    return 24 * -(-len(names) // _legend_columns(names))


def _wrapped(label: str, width: int) -> str:
    """``label`` on lines of at most ``width`` characters, broken at spaces (a longer word is
    broken too): the whole label is shown, never an ellipsis."""
    lines: list[str] = []
    parts = " ".join(label.split()).split(" · ")
    for index, part in enumerate(parts):
        # "Maison Lumière · Instagram": the separator ends a line rather than starting one.
        mark = " ·" if index < len(parts) - 1 else ""
        if lines and len(lines[-1]) + len(part) + len(mark) + 1 <= width and lines[-1].endswith(" ·"):
            part = f"{lines.pop()} {part}"
        wrapped = textwrap.wrap(part, width=width, break_long_words=True, break_on_hyphens=False)
        if wrapped:
            wrapped[-1] += mark
        lines += wrapped
    return "\n".join(lines) or " "


def _unique_labels(labels: list[str]) -> list[str]:
    """Equal labels made distinct (a zero-width space appended) so each keeps its own bar."""
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        count = seen.get(label, 0)
        seen[label] = count + 1
        unique.append(label + "\u200b" * count)
    return unique
