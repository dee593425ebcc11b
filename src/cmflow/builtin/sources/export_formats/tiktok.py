"""TikTok Studio exports (Analytics -> Overview / Followers -> Download data, CSV)."""

from __future__ import annotations

from cmflow.builtin.sources.export_formats.format import ExportFormat

YEARLESS_DATE = ("%B %d", "%d %B", "%b %d", "%d %b", "%d-%b", "%d-%b-%y", "%Y-%m-%d")
"""TikTok writes `November 18` (or `28 May` in some English locales), without a year; `Nov 18` or
`18 Nov`, Excel's `18-Nov` and `18-Nov-26` (its `d-mmm` and `d-mmm-yy` when it saves the file
again) and an ISO day read too."""

OVERVIEW = ExportFormat(
    name="tiktok_overview",
    title="TikTok Studio overview (CSV)",
    platform="tiktok",
    record="account_activity",
    file_type="csv",
    identifying=("Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"),
    columns={
        "date": "Date",
        "impressions": "Video Views",
        "video_views": "Video Views",
        "profile_views": "Profile Views",
        "likes": "Likes",
        "comments": "Comments",
        "shares": "Shares",
        "followers_gained": "New followers",
    },
    optional=("followers_gained",),
    date_format=YEARLESS_DATE,
    notes="Byte-order mark, every field quoted, no newline at the end. Dates have no year: it is "
          "`default_year`, or the latest that puts it on or before the run's as-of day. Daily "
          "counts for the whole account; no account column (name it with `account`), no reach, no "
          "saves. `New followers` only in some variants.",
)

FOLLOWER_HISTORY = ExportFormat(
    name="tiktok_follower_history",
    title="TikTok Studio follower history (CSV)",
    platform="tiktok",
    record="account_snapshot",
    file_type="csv",
    identifying=("Date", "Followers", "Difference in followers from previous day"),
    columns={"date": "Date", "followers": "Followers"},
    date_format=YEARLESS_DATE,
    notes="`Followers` is the audience size that day. `Difference in followers from previous day` is "
          "not read (cmflow works growth out from the sizes). Dates without a year, as in the "
          "overview. No account column (name it with `account`).",
)

FORMATS = (OVERVIEW, FOLLOWER_HISTORY)
