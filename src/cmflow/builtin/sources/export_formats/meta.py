"""Meta Business Suite exports (Insights -> Content -> Export, CSV)."""

from __future__ import annotations

from cmflow.builtin.sources.export_formats.format import ExportFormat

US_PUBLISH_TIME = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")
"""Meta writes `11/18/2026 09:05`: month first, no seconds."""

FACEBOOK_POSTS = ExportFormat(
    name="meta_facebook_posts",
    title="Meta Business Suite: Facebook page posts (CSV)",
    platform="facebook",
    record="post",
    file_type="csv",
    identifying=("Post ID", "Page ID", "Page name", "Publish time", "Post type",
                 "Reactions, Comments and Shares"),
    account_column="Page name",
    columns={
        "post_id": "Post ID",
        "account": "Page name",
        "published_at": "Publish time",
        "format": "Post type",
        "text": ("Description", "Title"),
        "url": "Permalink",
        "impressions": ("Views", "Impressions"),
        "reach": "Reach",
        "likes": "Reactions",
        "comments": "Comments",
        "shares": "Shares",
        "clicks": "Total clicks",
    },
    optional=("clicks",),
    values={"format": {"Photos": "image", "Reels": "reel", "Links": "link", "Videos": "video",
                       "Photo": "image", "Reel": "reel", "Link": "link", "Video": "video",
                       "Status": "text", "Text": "text"}},
    datetime_format=US_PUBLISH_TIME,
    sums=("Reactions, Comments and Shares",),
    notes="`Reactions, Comments and Shares` (one header holding commas) is the sum of the three "
          "columns after it, and is not read (adding it again would double the interactions). "
          "Impressions are `Views` in current exports, `Impressions` in older ones. The caption is in "
          "`Description` for reels and videos, in `Title` for photos and links. There is no saves "
          "column: saves stay empty, not 0. `Date` holds `Lifetime`: counters are lifetime totals.",
)

INSTAGRAM_POSTS = ExportFormat(
    name="meta_instagram_posts",
    title="Meta Business Suite: Instagram posts (CSV, English)",
    platform="instagram",
    record="post",
    file_type="csv",
    identifying=("Post ID", "Account ID", "Account username", "Publish time", "Post type", "Likes",
                 "Saves"),
    account_column="Account username",
    columns={
        "post_id": "Post ID",
        "account": "Account username",
        "published_at": "Publish time",
        "format": "Post type",
        "text": "Description",
        "url": "Permalink",
        "impressions": ("Views", "Impressions"),
        "reach": "Reach",
        "likes": "Likes",
        "comments": "Comments",
        "shares": "Shares",
        "saves": "Saves",
    },
    values={"format": {"IG image": "image", "IG reel": "reel", "IG carousel": "carousel",
                       "IG story": "story", "IG video": "video"}},
    datetime_format=US_PUBLISH_TIME,
    notes="Impressions are `Views`. `Follows` (follows from the post) is not read. Same date and "
          "quoting style as the Facebook export.",
)

FORMATS = (FACEBOOK_POSTS, INSTAGRAM_POSTS)
