"""YouTube Studio exports (Analytics -> Advanced mode -> Export current view -> CSV)."""

from __future__ import annotations

from cmflow.builtin.sources.export_formats.format import CompanionFile, ExportFormat

PUBLISH_DAY = ("%b %d, %Y", "%b %d %Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S")
"""Studio writes the publish day in English, month abbreviated, day unpadded: `Oct 3, 2026`
(ISO in some files)."""

TABLE_DATA = ExportFormat(
    name="youtube_studio_table",
    title="YouTube Studio advanced-mode export, Table data.csv (CSV)",
    platform="youtube",
    record="post",
    file_type="csv",
    identifying=("Content", "Video title", "Video publish time", "Views"),
    excluding=("Date",),
    not_records={"Content": ("Total",)},
    columns={
        "post_id": "Content",
        "text": "Video title",
        "published_at": "Video publish time",
        "video_views": "Views",
        "impressions": ("Impressions", "Thumbnail impressions"),
        "likes": "Likes",
        "comments": "Comments added",
        "shares": "Shares",
    },
    constants={"format": "video"},
    counters_over_range=True,  # every row of the table is a video (Shorts too)
    optional=("impressions", "likes", "comments", "shares"),
    datetime_format=PUBLISH_DAY,
    thousands=",",
    notes="One row per video, with counters over the export's date range; the `Total` row first "
          "under the header (the sum of every video) is not a post and is left out. Impressions are "
          "`Impressions` (`Thumbnail impressions` since 2025); a metric not chosen in Studio's table is "
          "no column, and an empty cell is no value: both stay empty, not 0. `Subscribers` (gained "
          "through the video), watch time, durations and the `(%)` rates are not read. No channel "
          "column: name it with `account`. Only `Table data.csv` is read: `Chart data.csv` (per day and "
          "video) and `Totals.csv` (per day), other views of the same figures, are left aside.",
)

FORMATS = (TABLE_DATA,)

CHART_DATA = CompanionFile(
    name="youtube_chart_data",
    title="YouTube Studio's Chart data.csv (one row per day and video)",
    companion_of=TABLE_DATA.name,
    identifying=("Date", "Content", "Video title", "Video publish time"),
    reason="the same figures as Table data.csv, by day",
)

TOTALS = CompanionFile(
    name="youtube_totals",
    title="YouTube Studio's Totals.csv (the chart's metric per day)",
    companion_of=TABLE_DATA.name,
    identifying=("Date",),
    columns=2,
    file_name="Totals",
    reason="the chart's metric for the whole channel by day, the sum of Table data.csv's videos",
)

COMPANIONS = (CHART_DATA, TOTALS)
"""The other files of Studio's download (a folder such as `Content 2026-10-01_2026-10-31 Atelier Lumen`)."""
