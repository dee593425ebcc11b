"""LinkedIn page analytics exports (Page admin -> Analytics -> Export, xlsx)."""

from __future__ import annotations

from cmflow.builtin.sources.export_formats.format import ExportFormat

US_DATE = ("%m/%d/%Y",)
"""LinkedIn writes dates as text, month first (`11/18/2026`)."""

CONTENT_POSTS = ExportFormat(
    name="linkedin_content_posts",
    title="LinkedIn page content export, sheet All posts (xlsx)",
    platform="linkedin",
    record="post",
    file_type="xlsx",
    sheet="All posts",
    header_row=2,
    identifying=("Created date", "Impressions", "Clicks", "Click through rate (CTR)", "Likes", "Comments"),
    columns={
        "post_id": ("Post link", "Update link"),
        "url": ("Post link", "Update link"),
        "published_at": "Created date",
        "text": ("Post title", "Update title"),
        "format": "Content Type",
        "impressions": "Impressions",
        "clicks": "Clicks",
        "likes": "Likes",
        "comments": "Comments",
        "shares": ("Reposts", "Shares"),
    },
    optional=("format",),
    values={"format": {"Image": "image", "Video": "video", "Text": "text", "Article": "link",
                       "Link": "link", "Document": "carousel", "Carousel": "carousel"}},
    date_format=US_DATE,
    datetime_format=(*US_DATE, "%m/%d/%Y %H:%M"),
    id_pattern=r"urn:li:[A-Za-z]+:\d+",
    notes="Row 1 is a notice sentence, the header is on row 2. Dates are text, month first. Older "
          "exports say `Update title`, `Update link`, `Shares`. There is no post id column: the id is "
          "the `urn:li:...:<number>` part of the post's link (the whole link when it holds none), so "
          "the same post in two exports is one post. CTR and engagement rate are not read (fractions "
          "worked out per post; cmflow computes rates over periods itself).",
)

CONTENT_METRICS = ExportFormat(
    name="linkedin_content_metrics",
    title="LinkedIn page content export, sheet Metrics (xlsx)",
    platform="linkedin",
    record="account_activity",
    file_type="xlsx",
    sheet="Metrics",
    header_row=2,
    identifying=("Date", "Impressions (total)", "Clicks (total)", "Reactions (total)", "Comments (total)"),
    columns={
        "date": "Date",
        "impressions": "Impressions (total)",
        "clicks": "Clicks (total)",
        "likes": "Reactions (total)",
        "comments": "Comments (total)",
        "shares": ("Reposts (total)", "Shares (total)"),
    },
    date_format=US_DATE,
    notes="Row 1 is a notice sentence, the header is on row 2. One row per day of page activity "
          "(older posts included). Only the `(total)` columns are read (organic + sponsored); "
          "`Unique impressions` and the engagement rates are not.",
)

FOLLOWERS = ExportFormat(
    name="linkedin_followers",
    title="LinkedIn page followers export, sheet New followers (xlsx)",
    platform="linkedin",
    record="account_activity",
    file_type="xlsx",
    sheet="New followers",
    header_row=1,
    identifying=("Date", "Sponsored followers", "Organic followers", "Total followers"),
    columns={"date": "Date", "followers_gained": "Total followers"},
    date_format=US_DATE,
    notes="`Total followers` is the number of new followers gained that day (organic + sponsored + "
          "auto-invited), not the audience size; unfollows are not exported. The demographic sheets "
          "(Location, Job function ...) are not read.",
)

FORMATS = (CONTENT_POSTS, CONTENT_METRICS, FOLLOWERS)
