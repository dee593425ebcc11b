"""Report charts (cmflow.builtin.reports.charts): Vega-Lite specs rendered offline by vl-convert.

Each chart kind is rendered for real, in French and English, and its SVG read back: it parses,
holds its labels whole and its numbers in the language's format, runs and loads nothing, draws
missing values as gaps and uses each platform's colour.
"""

from __future__ import annotations

import re
import struct
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from cmflow.builtin.reports.charts import (
    PLATFORM_COLOURS,
    SERIES_COLOURS,
    Chart,
    bar_chart,
    check_inline_safe,
    heatmap,
    platform_colour,
    series_colours,
    sparkline,
    trend_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
NNBSP, NBSP = "\u202f", "\xa0"  # French thousands separator, and the space before "%"
HOSTILE = "<script>alert(1)</script> & Co"
WEEKS = [date(2026, 10, 5) + timedelta(weeks=index) for index in range(4)]  # Mondays 5 Oct - 26 Oct
WEEKDAYS_FR = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def texts(svg: str) -> list[str]:
    """Every piece of text drawn, a multi-line label's lines joined by a space."""
    found = []
    for element in parsed(svg).iter(f"{SVG}text"):
        spans = [span.text or "" for span in element.iter(f"{SVG}tspan")]
        found.append(" ".join(spans) if spans else (element.text or ""))
    return found


def line_paths(svg: str) -> dict[str, str]:
    """The ``d`` of each line drawn, by its stroke colour."""
    return {path.get("stroke"): path.get("d") for path in parsed(svg).iter(f"{SVG}path")
            if path.get("aria-roledescription") == "line mark" or
            (path.get("stroke") and path.get("stroke-width") in ("2", "2.5") and path.get("d", "").count("L"))}


def bar_fills(svg: str) -> list[str]:
    """The fill of every bar (or heat-map cell) drawn."""
    found = []
    for group in parsed(svg).iter(f"{SVG}g"):
        if "mark-rect" in (group.get("class") or ""):
            found += [path.get("fill") for path in group if path.tag in (f"{SVG}path", f"{SVG}rect")]
    return found


def assert_inline_safe(svg: str) -> None:
    check_inline_safe(svg)
    assert "<script" not in svg.lower()
    attributes = re.findall(r'\s([\w:-]+)="([^"]*)"', svg)
    external = [(name, value) for name, value in attributes
                if "http" in value.lower() and not name.startswith("xmlns")]
    assert external == []
    assert "@import" not in svg
    assert re.findall(r"url\((?!#)", svg) == []  # only the SVG's own clip paths and gradients


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# --- trend lines ----------------------------------------------------------------------------------

def err_trend() -> Chart:
    return trend_chart({"Instagram": [(WEEKS[0], 3.1), (WEEKS[1], None), (WEEKS[2], 3.5), (WEEKS[3], 3.25)],
                        "facebook": [(WEEKS[0], 2.0), (WEEKS[1], 2.5), (WEEKS[2], 2.25), (WEEKS[3], 2.75)]},
                       title="ERR", unit="%", description="Taux d'engagement par plateforme")


def test_trend_chart_in_french_formats_percentages_and_dates_the_french_way() -> None:
    svg = err_trend().svg("fr")
    assert_inline_safe(svg)
    drawn = texts(svg)
    # Axis ticks of the y scale, from 2 % to 3,5 % by halves; the dates are the four Mondays.
    assert f"2,5{NBSP}%" in drawn and f"3,5{NBSP}%" in drawn
    assert {"5 oct.", "12 oct.", "19 oct.", "26 oct."} <= set(drawn)
    assert "Instagram" in drawn and "facebook" in drawn


def test_trend_chart_in_english_formats_the_english_way() -> None:
    drawn = texts(err_trend().svg("en"))
    assert "2.5%" in drawn and "3.5%" in drawn
    assert {"Oct 5", "Oct 12", "Oct 19", "Oct 26"} <= set(drawn)


def test_a_missing_value_is_a_gap_in_the_line_not_a_zero() -> None:
    chart = err_trend()
    assert [row["value"] for row in chart.spec["data"]["values"][:4]] == [0.031, None, 0.035, 0.0325]
    lines = line_paths(chart.svg("en"))
    instagram, facebook = lines[PLATFORM_COLOURS["instagram"]], lines[PLATFORM_COLOURS["facebook"]]
    assert instagram.count("M") == 2  # two pieces: 5 Oct alone, then 19-26 Oct
    assert facebook.count("M") == 1 and facebook.count("L") == 3


def test_nan_and_infinity_are_gaps_too() -> None:
    chart = trend_chart({"Instagram": [(WEEKS[0], float("inf")), (WEEKS[1], 3.0), (WEEKS[2], float("nan")),
                                       (WEEKS[3], 3.5), (WEEKS[3] + timedelta(weeks=1), 3.75)]}, title="t", unit="%")
    assert [row["value"] for row in chart.spec["data"]["values"]] == [None, 0.03, None, 0.035, 0.0375]
    assert line_paths(chart.svg("en"))[PLATFORM_COLOURS["instagram"]].count("M") == 2


def test_a_language_with_its_region_formats_as_the_language() -> None:
    assert texts(err_trend().svg("fr-FR")) == texts(err_trend().svg("fr_FR")) == texts(err_trend().svg("fr"))
    assert "5 Oct" in texts(err_trend().svg("en-GB")) and "Oct 5" in texts(err_trend().svg("en-US"))


def test_platform_series_take_their_platform_colour() -> None:
    lines = line_paths(err_trend().svg("en"))
    assert set(lines) == {PLATFORM_COLOURS["instagram"], PLATFORM_COLOURS["facebook"]}
    assert platform_colour("LinkedIn") == PLATFORM_COLOURS["linkedin"] == platform_colour("linkedin")
    assert platform_colour("X (Twitter)") == PLATFORM_COLOURS["x"]
    assert platform_colour("Maison Lumière · Instagram") == SERIES_COLOURS[0]  # an account, not a platform
    assert series_colours(["This month", "TikTok", "Last year"]) == [
        SERIES_COLOURS[0], PLATFORM_COLOURS["tiktok"], SERIES_COLOURS[1]]
    assert series_colours(["Instagram"], {"Instagram": "#123456"}) == ["#123456"]


def test_monthly_points_are_labelled_by_month() -> None:
    months = [date(2026, month, 1) for month in range(7, 11)]
    chart = trend_chart({"Followers": [(day, 12000 + 1500 * index) for index, day in enumerate(months)]},
                        title="Abonnés", unit="followers")
    drawn = texts(chart.svg("fr"))
    assert {"juil. 2026", "août 2026", "sept. 2026", "oct. 2026"} <= set(drawn)
    assert f"12{NNBSP}000" in drawn and f"16{NNBSP}000" in drawn  # counts with thousands
    assert "12,000" in texts(chart.svg("en"))


def test_many_dates_give_at_most_five_labels_ending_with_the_last() -> None:
    days = [date(2026, 1, 5) + timedelta(weeks=index) for index in range(12)]
    chart = trend_chart({"A": [(day, float(index)) for index, day in enumerate(days)]}, title="t", unit="posts")
    values = chart.spec["encoding"]["x"]["axis"]["values"]
    assert len(values) <= 5
    assert values[-1] == {"year": 2026, "month": 3, "date": 23, "utc": True}


# --- bars -----------------------------------------------------------------------------------------

def account_bars() -> Chart:
    return bar_chart(["Maison Lumière · Instagram", HOSTILE, "Trailhead Outdoor Gear · LinkedIn company page"],
                     {"nov. 2026": [3.5, None, 1.0], "oct. 2026": [3.12, 0.8, 1.25]},
                     title="ERR par compte", unit="%")


def test_bar_chart_labels_are_whole_and_numbers_french() -> None:
    chart = account_bars()
    svg = chart.svg("fr")
    assert_inline_safe(svg)
    drawn = texts(svg)
    # Long labels: horizontal bars, each label whole on a line above its bars, no ellipsis.
    assert chart.spec["encoding"]["y"]["field"] == "group"
    at = drawn.index("Maison Lumière · Instagram")
    assert drawn[at:at + 3] == ["Maison Lumière · Instagram", HOSTILE, "Trailhead Outdoor Gear · LinkedIn company page"]
    assert "…" not in svg
    # Each bar's value written at its end; the missing one reads "–".
    assert {f"3,5{NBSP}%", f"3,12{NBSP}%", f"0,8{NBSP}%", f"1{NBSP}%", f"1,25{NBSP}%", "–"} <= set(drawn)


def test_hostile_labels_come_out_escaped() -> None:
    svg = account_bars().svg("en")
    assert "&lt;script&gt;alert(1)&lt;/" in svg and "&amp; Co" in svg
    assert "<script" not in svg
    assert any(line.endswith("& Co") for line in texts(svg))


def test_a_missing_bar_is_absent_not_zero() -> None:
    chart = account_bars()
    fills = bar_fills(chart.svg("en"))
    blue, orange = SERIES_COLOURS[0], SERIES_COLOURS[1]
    assert sorted(fills) == sorted([blue, blue, orange, orange, orange])  # 6 values, one None


def test_short_labels_give_columns_and_counts_with_thousands() -> None:
    chart = bar_chart(["Instagram", "Facebook"], {"Abonnés": [12345, 8765.5]}, title="Abonnés", unit="followers")
    assert chart.spec["encoding"]["x"]["field"] == "category"  # columns
    drawn = texts(chart.svg("fr"))
    assert f"12{NNBSP}345" in drawn and f"8{NNBSP}765,5" in drawn
    assert {"12,345", "8,765.5"} <= set(texts(chart.svg("en")))
    assert bar_chart(["a"], {"s": [1.0]}, title="t", unit="%", horizontal=True).spec["encoding"]["y"]["field"] == "group"


def test_a_label_too_long_for_one_line_is_wrapped_whole() -> None:
    name = "Fédération française des associations de randonnée pédestre et de montagne · Instagram"
    drawn = texts(bar_chart([name], {"ERR": [2.0]}, title="t", unit="%").svg("fr"))
    at = drawn.index("Fédération française des associations de randonnée")
    assert drawn[at:at + 3] == ["Fédération française des associations de randonnée",
                                "pédestre et de montagne · Instagram", f"2{NBSP}%"]


def test_a_negative_bar_has_its_value_before_its_end() -> None:
    chart = bar_chart(["Instagram", "Facebook"], {"Abonnés gagnés": [120, -35]}, title="t", unit="followers")
    drawn = texts(chart.svg("fr"))
    assert "120" in drawn and "-35" in drawn


def test_one_figure_per_platform_gives_each_bar_its_platform_colour() -> None:
    chart = bar_chart(["Instagram", "facebook", "LinkedIn"], {"ERR": [3.2, 2.1, 1.0]}, title="t", unit="%")
    assert bar_fills(chart.svg("en")) == [PLATFORM_COLOURS["instagram"], PLATFORM_COLOURS["facebook"],
                                          PLATFORM_COLOURS["linkedin"]]
    mixed = bar_chart(["Instagram", "Maison Lumière"], {"ERR": [3.2, 2.1]}, title="t", unit="%")
    assert bar_fills(mixed.svg("en")) == [SERIES_COLOURS[0]] * 2  # not all platforms: one series colour


def test_bar_chart_refuses_series_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="series 'b' has 1 values for 2 categories"):
        bar_chart(["x", "y"], {"a": [1.0, 2.0], "b": [1.0]}, title="t", unit="%")


# --- heat map, sparkline --------------------------------------------------------------------------

def test_heatmap_draws_one_cell_per_value_and_empty_cells_apart() -> None:
    chart = heatmap([(0, 9, 4.0), (0, 10, None), (4, 18, 2.5), (6, 21, 0.0)], title="Meilleur moment",
                    weekday_names=WEEKDAYS_FR, unit="%")
    svg = chart.svg("fr")
    assert_inline_safe(svg)
    drawn = texts(svg)
    assert set(WEEKDAYS_FR) <= set(drawn)
    assert {"0:00", "9:00", "21:00"} <= set(drawn) and "10:00" not in drawn  # an hour label every 3 hours
    assert f"0{NBSP}%" in drawn  # the colour legend, formatted
    fills = [fill for fill in bar_fills(svg) if not fill.startswith("url(")]  # less the legend's gradient
    # The grid of "no data" cells, then the three values over it (None is no data): 4 % the
    # darkest, 0 % the lightest blue, apart from the empty cells' grey.
    assert fills == ["#F3F4F6"] * (7 * 24) + ["rgb(11, 60, 122)", "rgb(85, 117, 167)", "rgb(199, 221, 245)"]
    assert "12 AM" in texts(chart.svg("en")) and "9 PM" in texts(chart.svg("en"))


def test_heatmap_refuses_cells_outside_the_week() -> None:
    with pytest.raises(ValueError, match=r"cell \(7, 9\) is outside"):
        heatmap([(7, 9, 1.0)], title="t", weekday_names=WEEKDAYS_FR, unit="%")
    with pytest.raises(ValueError, match="needs 7 different names"):
        heatmap([], title="t", weekday_names=WEEKDAYS_FR[:5], unit="%")
    with pytest.raises(ValueError, match="needs 7 different names"):
        heatmap([], title="t", weekday_names=["x"] * 7, unit="%")


def test_sparkline_is_small_and_keeps_gaps() -> None:
    colour = PLATFORM_COLOURS["youtube"]
    chart = sparkline([(WEEKS[0], 10.0), (WEEKS[1], None), (WEEKS[2], 12.0), (WEEKS[3], 11.0)], colour=colour)
    svg = chart.svg()
    assert_inline_safe(svg)
    assert 'viewBox="0 0 120 32"' in svg
    assert line_paths(svg)[colour].count("M") == 2
    assert texts(svg) == []
    assert parsed(svg).get("aria-hidden") == "true" and parsed(svg).get("role") is None  # decoration
    symbols = [path for group in parsed(svg).iter(f"{SVG}g") if "mark-symbol" in (group.get("class") or "")
               for path in group]
    assert [path.get("fill") for path in symbols] == [colour]  # the last value, marked


def test_long_series_names_are_whole_in_the_legend() -> None:
    name = "Trailhead Outdoor Gear · LinkedIn company page"
    chart = trend_chart({name: [(WEEKS[0], 10.0), (WEEKS[1], 12.0)], "Maison Lumière · Instagram":
                         [(WEEKS[0], 11.0), (WEEKS[1], 9.0)]}, title="t", unit="followers")
    drawn = texts(chart.svg("fr"))
    assert name in drawn and "Maison Lumière · Instagram" in drawn


# --- empty charts, rendering ----------------------------------------------------------------------

@pytest.mark.parametrize("chart", [
    trend_chart({}, title="t", unit="%"),
    trend_chart({"Instagram": [(WEEKS[0], None)]}, title="t", unit="%"),
    bar_chart([], {}, title="t", unit="%"),
    bar_chart(["a"], {"s": [None]}, title="t", unit="%"),
    heatmap([], title="t", weekday_names=WEEKDAYS_FR, unit="%"),
    bar_chart(["a", "b"], {"s": [float("nan"), None]}, title="t", unit="%"),
    heatmap([(0, 9, float("nan"))], title="t", weekday_names=WEEKDAYS_FR, unit="%"),
], ids=["trend-none", "trend-all-missing", "bars-none", "bars-all-missing", "heatmap-none", "bars-nan",
        "heatmap-nan"])
def test_a_chart_without_data_says_so(chart: Chart) -> None:
    assert texts(chart.svg("fr")) == ["Aucune donnée sur cette période"]
    assert texts(chart.svg("en")) == ["No data for this period"]


def test_a_caller_may_word_the_empty_chart() -> None:
    chart = trend_chart({}, title="t", unit="%", no_data_text="Pas encore de publication")
    assert texts(chart.svg("fr")) == ["Pas encore de publication"]


def test_svg_scales_to_its_container_and_describes_itself() -> None:
    chart = account_bars()
    svg = chart.svg("fr")
    root = parsed(svg)
    assert root.get("viewBox") == f"0 0 {chart.width} {chart.height}"
    # Its width, shrinking to the container; its height from the viewBox's proportions.
    assert (root.get("width"), root.get("height"), root.get("style")) == (str(chart.width), None, "max-width:100%")
    assert root.get("role") == "img" and root.get("aria-label") == "ERR par compte"
    assert root.find(f"{SVG}title").text == "ERR par compte"
    described = trend_chart({}, title="A < B", unit="%", description='Fans & "<script>x</script>').svg()
    assert_inline_safe(described)
    assert parsed(described).find(f"{SVG}desc").text == 'Fans & "<script>x</script>'
    assert parsed(described).get("aria-label") == 'Fans & "<script>x</script>'
    assert parsed(described).find(f"{SVG}title").text == "A < B"


def test_png_has_the_signature_and_the_scaled_size() -> None:
    chart = err_trend()
    assert png_size(chart.png("fr")) == (chart.width * 2, chart.height * 2)
    assert png_size(chart.png("en", scale=1)) == (chart.width, chart.height)


def test_an_unknown_language_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unknown language 'xx-nope'"):
        err_trend().svg("xx-nope")


@pytest.mark.parametrize("svg, problem", [
    ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="x()"/></svg>', "event attribute onclick"),
    ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
     '<use xlink:href="https://evil.example/a.svg#x"/></svg>', "<use>"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://evil.example/p)"/></svg>', "loads"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><style>@import "https://x.example/a.css";</style></svg>',
     "imports"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><text>unclosed</svg>', "not well-formed"),
])
def test_check_inline_safe_refuses_what_would_run_or_load(svg: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        check_inline_safe(svg)


def test_whole_numbers_get_whole_ticks() -> None:
    chart = bar_chart(["Instagram", "Facebook"], {"Publications": [2, 1]}, title="t", unit="posts")
    ticks = [text for text in texts(chart.svg("fr")) if text not in ("Instagram", "Facebook")]
    assert ticks == ["0", "1", "2", "2", "1"]  # the axis (0, 1, 2), then each bar's value
    trend = trend_chart({"Publications": [(WEEKS[0], 1), (WEEKS[1], 3)]}, title="t", unit="posts")
    assert [text for text in texts(trend.svg("en")) if "Oct" not in text] == ["1", "2", "3"]


def test_values_too_wide_for_their_columns_turn_the_bars_horizontal() -> None:
    short = bar_chart(["Reels", "Carousel", "Image"], {"ERR": [4.2, 3.5, 2.1]}, title="t", unit="%")
    assert "x" in short.spec["encoding"] and short.spec["encoding"]["x"]["field"] == "category"
    # Six columns of 44 px for "12 345 %"-wide values: horizontal bars instead.
    wide = bar_chart(["Reels", "Carousel", "Image"], {"Portée": [12345, 8765.5, 1], "Avant": [1, 2, 3]},
                     title="t", unit="count")
    assert wide.spec["encoding"]["y"]["field"] == "group"


def test_coordinates_are_rounded_but_text_is_not() -> None:
    chart = bar_chart(["Compte 3.14159265"], {"ERR": [1 / 3]}, title="t", unit="%")
    svg = chart.svg("en")
    geometry = re.findall(r'\s(?:d|transform|x|y)="([^"]*)"', svg)
    assert geometry and not any(re.search(r"\d\.\d{3}", value) for value in geometry)
    assert "Compte 3.14159265" in texts(svg) and "0.33%" in texts(svg)


def test_datetimes_and_decimals_are_taken_as_days_and_numbers() -> None:
    from datetime import datetime
    from decimal import Decimal

    chart = trend_chart({"Instagram": [(datetime(2026, 10, 5, 23, 30), Decimal("3.5")),
                                       (datetime(2026, 10, 12, 0, 15), 4)]}, title="t", unit="%")
    assert chart.spec["data"]["values"] == [
        {"series": "Instagram", "date": "2026-10-05", "value": 0.035},
        {"series": "Instagram", "date": "2026-10-12", "value": 0.04}]
    assert {"5 oct.", "12 oct."} <= set(texts(chart.svg("fr")))


RENDER_IN_A_NEW_PROCESS = """
import sys
from cmflow.builtin.reports.charts import bar_chart
chart = bar_chart(["Maison Lumière · Instagram", "Trailhead · Facebook"], {"a": [1.0, 2.0], "b": [3.0, None]},
                  title="t", unit="%")
sys.stdout.write(chart.svg(sys.argv[1]))
"""


def test_two_charts_in_one_page_never_share_an_id() -> None:
    # Vega numbers clip paths per process from 1: two reports' workers would both write "clip1".
    import subprocess
    import sys

    first, second = (subprocess.run([sys.executable, "-c", RENDER_IN_A_NEW_PROCESS, language], check=True,
                                    capture_output=True, text=True).stdout for language in ("fr", "en"))
    ids = [set(re.findall(r'\sid="([^"]+)"', svg)) for svg in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    for svg, own in zip((first, second), ids):
        assert set(re.findall(r"url\(#([^)]+)\)", svg)) <= own  # every reference is to its own id


def test_rendering_never_fetches_anything() -> None:
    chart = Chart({"data": {"url": "https://example.invalid/data.json"}, "mark": "point"}, "t", "d")
    with pytest.raises(ValueError, match="External data url not allowed"):
        chart.svg("en")
    with pytest.raises(ValueError, match="External data url not allowed"):
        chart.png("en")


def test_a_heat_map_labels_its_hours_with_the_names_it_is_given() -> None:
    """A French report writes "9 h", not the clock's "9:00"; a list that is not 24 names is refused."""
    from cmflow.builtin.reports.charts import heatmap

    days = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
    svg = heatmap([(0, 9, 3.0), (4, 18, 5.0)], title="t", weekday_names=days, unit="%",
                  hour_names=[f"{h} h" for h in range(24)]).svg("fr")
    assert ">9 h<" in svg and ">21 h<" in svg and "9:00" not in svg
    with pytest.raises(ValueError, match="hour_names needs 24 names, got 2"):
        heatmap([(0, 9, 3.0)], title="t", weekday_names=days, unit="%", hour_names=["0 h", "1 h"])
