"""X (Twitter) analytics exports (analytics -> Content -> Export data, CSV)."""

from __future__ import annotations

from cmflow.builtin.sources.export_formats.format import ExportFormat

STATUS_ID = r"[0-9]+$"
"""The post id at the end of its link (`https://x.com/<handle>/status/<id>`): a spreadsheet that
re-saved the export wrote the id column as `1.23457E+18`, never the link."""
HANDLE_IN_LINK = r"^https?://(?:www\.)?(?:x|twitter)\.com/([A-Za-z0-9_]+)/status/"

POSTS = ExportFormat(
    name="x_posts",
    title="X analytics: post content export (CSV, 2024 on)",
    platform="x",
    record="post",
    file_type="csv",
    identifying=("Post id", "Date", "Post text", "Impressions", "Likes"),
    columns={
        "post_id": ("Post Link", "Post id"),
        "url": "Post Link",
        "text": "Post text",
        "published_at": "Date",
        "impressions": "Impressions",
        "likes": "Likes",
        "comments": "Replies",
        "shares": "Reposts",
        "saves": "Bookmarks",
        "clicks": "URL Clicks",
    },
    optional=("url", "comments", "shares", "saves", "clicks"),
    datetime_format=("%a, %b %d, %Y", "%b %d, %Y", "%Y-%m-%d"),
    thousands=",",
    id_pattern=STATUS_ID,
    account_in_url=HANDLE_IN_LINK,
    sums=("Engagements",),
    notes="`Date` is the publish day only (`Tue, Jul 14, 2026`). `Engagements` is the sum of every "
          "interaction and click and is not read (adding it would count them twice); X's `Shares` "
          "(sent by DM or link) is not a repost: shares are `Reposts`, saves `Bookmarks`, clicks `URL "
          "Clicks`. The id is taken from `Post Link`. Replies are posts of their own. No account column: "
          "the handle is in each post's link, read as the account when `account` is not given.",
)

TWEET_ACTIVITY = ExportFormat(
    name="x_tweet_activity",
    title="X (Twitter) analytics: tweet activity export (CSV, until 2023)",
    platform="x",
    record="post",
    file_type="csv",
    identifying=("Tweet id", "Tweet permalink", "Tweet text", "time", "impressions"),
    columns={
        "post_id": ("Tweet permalink", "Tweet id"),
        "url": "Tweet permalink",
        "text": "Tweet text",
        "published_at": "time",
        "impressions": "impressions",
        "likes": ("likes", "favorites"),
        "comments": "replies",
        "shares": "retweets",
        "clicks": "url clicks",
    },
    optional=("comments", "shares", "clicks"),
    datetime_format=("%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M"),
    thousands=",",
    id_pattern=STATUS_ID,
    account_in_url=HANDLE_IN_LINK,
    sums=("engagements", "promoted engagements"),
    notes="Every field quoted, counters written `1203.0`. `time` is UTC (`2023-03-02 16:05 +0000`). "
          "`engagements` (a sum) and `engagement rate` (a per-tweet fraction) are not read, nor the "
          "`promoted ...` columns (`-` for organic tweets). `likes` was `favorites` before 2015. No "
          "account column: the handle is in each post's link, read as the account when `account` is not given.",
)

ACCOUNT_OVERVIEW = ExportFormat(
    name="x_account_overview",
    title="X analytics: account overview export (CSV, 2024 on)",
    platform="x",
    record="account_activity",
    file_type="csv",
    identifying=("Date", "Impressions", "Engagements", "New follows", "Unfollows", "Profile visits"),
    columns={
        "date": "Date",
        "impressions": "Impressions",
        "likes": "Likes",
        "comments": "Replies",
        "shares": "Reposts",
        "saves": "Bookmarks",
        "profile_views": "Profile visits",
        "video_views": "Video views",
        "followers_gained": "New follows",
        "followers_lost": "Unfollows",
    },
    optional=("comments", "shares", "saves", "video_views"),
    date_format=("%a, %b %d, %Y", "%b %d, %Y", "%Y-%m-%d"),
    thousands=",",
    sums=("Engagements",),
    notes="One row per day for the whole account, the newest day first in the samples found. `Date` "
          "is `Fri, Apr 26, 2024`. `New follows` and `Unfollows` are the day's gross gains and losses, "
          "not the audience size. `Engagements` (a sum), X's `Shares` (sent by DM or link), `Create "
          "Post` (posts published) and `Media views` are not read. No account column (name it with "
          "`account`).",
)

FORMATS = (POSTS, TWEET_ACTIVITY, ACCOUNT_OVERVIEW)
