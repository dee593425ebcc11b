"""A run's result arranged for people: KPI tables per breakdown, ranked posts and ranked items
(the most negative mentions or comments).

The console and HTML outputs (and later e-mails) render these, so that every output shows
the same numbers, formatted the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cmflow.foundation.measurements import DIMENSIONS, row_dimensions
from cmflow.presentation.numbers import format_change, format_value

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.alerts import Verdict
    from cmflow.plugins.result import RunResult

BREAKDOWN_TITLES = {
    (): "Overall",
    ("platform",): "By platform",
    ("platform", "account"): "By account",
    ("format",): "By format",
    ("pillar",): "By pillar",
    ("campaign",): "By campaign",
}
METRIC_LABELS = {
    "engagement_rate_by_reach": "ERR (reach)",
    "engagement_rate_by_followers": "ER (followers)",
    "engagement_rate_by_impressions": "Eng. / impressions",
    "follower_growth": "Follower growth",
    "follower_growth_pct": "Growth %",
    "posts_published": "Posts",
    "total_interactions": "Interactions",
    "total_reach": "Reach (sum)",
    "total_impressions": "Impressions",
    "total_likes": "Likes",
    "total_comments": "Comments",
    "total_shares": "Shares",
    "total_saves": "Saves",
    "total_clicks": "Clicks",
    "total_video_views": "Video views",
    "total_profile_views": "Profile views",
    "followers": "Followers",
    "followers_gained": "Followers gained",
    "followers_lost": "Followers lost",
    "response_time_median": "First response, median (min)",
    "response_time_p90": "First response, p90 (min)",
    "answered_within_sla": "Answered within SLA",
    "unanswered_over_sla": "Unanswered past SLA",
    "wall_response_time_median": "First response, wall clock, median (min)",
    "wall_response_time_p90": "First response, wall clock, p90 (min)",
    "wall_answered_within_sla": "Answered within SLA (wall clock)",
    "wall_unanswered_over_sla": "Unanswered past SLA (wall clock)",
    "unanswered_negative": "Unanswered negative",
}

BASIS_WORDS = {
    "posts": "from posts published in the period",
    "activity": "from account activity in the period",
    "posts+activity": "from posts published in the period for the accounts with posts, and from "
                      "account activity in the period for the others",
}
"""What a measurement's ``basis`` means, in words for a report's reader."""
BASIS_TAGS = {"activity": "activity", "posts+activity": "posts + activity"}
"""Short labels of the figures not counted from posts alone (posts, the usual case, has none)."""


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " ").capitalize())


@dataclass
class Cell:
    value: float | None
    unit: str
    reason: str | None = None
    previous: float | None = None
    change: float | None = None
    change_pct: float | None = None
    verdict: "Verdict | None" = None
    """The objective this KPI is judged against (a ``target`` trigger), if any."""
    basis: str | None = None
    """Which records the figure comes from: ``posts``, ``activity``, ``posts+activity``, or None."""

    @property
    def basis_tag(self) -> str:
        """A short label for a figure not counted from posts alone (``activity``); else empty."""
        return BASIS_TAGS.get(self.basis or "", "")

    @property
    def basis_text(self) -> str:
        """Where the figure comes from, in words (``from account activity in the period``)."""
        return BASIS_WORDS.get(self.basis or "", "")

    @property
    def verdict_label(self) -> str:
        """``on track``, ``at risk``, ``off track``; empty without an objective."""
        return self.verdict.status.replace("_", " ") if self.verdict else ""

    @property
    def text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def change_text(self) -> str:
        return format_change(self.change, self.change_pct, self.unit)

    @property
    def direction(self) -> str:
        """up, down or flat (for arrows and colours); empty when there is no change."""
        if self.change is None:
            return ""
        if self.unit == "%" and abs(self.change) < 0.005 or self.change == 0:
            return "flat"
        return "up" if self.change > 0 else "down"


@dataclass
class KpiRow:
    labels: list[str]
    cells: dict[str, Cell]
    alerting: bool = False


@dataclass
class KpiTable:
    title: str
    dimensions: list[str]
    metrics: list[tuple[str, str]]
    """(metric, unit) columns in display order."""
    rows: list[KpiRow] = field(default_factory=list)

    @property
    def basis_notes(self) -> list[str]:
        """Footnotes saying where the table's figures come from: one per label used in its
        cells, then what unlabelled figures of posts come from."""
        cells = [c for r in self.rows for c in r.cells.values()]
        bases = {c.basis for c in cells if c.basis}
        notes = [f"{BASIS_TAGS[b]}: {BASIS_WORDS[b]}." for b in ("activity", "posts+activity") if b in bases]
        if "posts" in bases:
            others = " (follower counts: from account snapshots)" if any(not c.basis for c in cells) else ""
            notes.append(f"{'Unlabelled figures' if notes else 'Figures'} of posts and interactions: "
                         f"{BASIS_WORDS['posts']}{others}.")
        return notes


def kpi_tables(result: "RunResult", metrics: list[str] | None = None,
               comparison: str | None = None) -> list[KpiTable]:
    """One table per breakdown found in the current period, metrics as columns."""
    import polars as pl

    frame = result.measurements
    if frame is None or frame.height == 0:
        return []
    comparison = comparison or (result.comparison_periods[0].label if result.comparison_periods else None)
    current = frame.filter((pl.col("period") == "current") & pl.col("rank").is_null())
    names = metrics or list(dict.fromkeys(current["metric"].to_list()))
    current = current.filter(pl.col("metric").is_in(names))
    changes: dict[tuple[str, str], dict[str, Any]] = {}
    if comparison and result.comparisons is not None and result.comparisons.height:
        for row in result.comparisons.filter(pl.col("comparison") == comparison).iter_rows(named=True):
            changes[(row["metric"], row["series_key"])] = row
    alerting = {(a.metric, _key(a.dimensions)) for a in result.alerts}
    verdicts = {(v.metric, _key(v.dimensions)): v for v in result.verdicts}
    dims_present = [d for d in DIMENSIONS if d in current.columns]
    tables: dict[tuple[str, ...], KpiTable] = {}
    rows_by_labels: dict[tuple, KpiRow] = {}
    units: dict[str, str] = {}
    for row in current.iter_rows(named=True):
        dims = tuple(d for d in dims_present if row[d] is not None)
        table = tables.get(dims)
        if table is None:
            title = BREAKDOWN_TITLES.get(dims, "By " + " × ".join(dims))
            table = tables[dims] = KpiTable(title, list(dims), [])
        units[row["metric"]] = row["unit"]
        labels = [row[d] for d in dims]
        kpi_row = rows_by_labels.get((dims, tuple(labels)))
        if kpi_row is None:
            kpi_row = rows_by_labels[(dims, tuple(labels))] = KpiRow(labels, {})
            table.rows.append(kpi_row)
        compared = changes.get((row["metric"], row["series_key"]), {})
        series = (row["metric"], _key({d: row[d] for d in dims}))
        kpi_row.cells[row["metric"]] = Cell(row["value"], row["unit"], row["reason"],
                                            compared.get("previous_value"), compared.get("change"),
                                            compared.get("change_pct"), verdicts.get(series),
                                            row.get("basis"))
        if series in alerting:
            kpi_row.alerting = True
    preferred = list(BREAKDOWN_TITLES)
    ordered = sorted(tables.values(), key=lambda t: (
        preferred.index(tuple(t.dimensions)) if tuple(t.dimensions) in preferred else len(preferred),
        len(t.dimensions), t.dimensions))
    for table in ordered:
        present = {m for r in table.rows for m in r.cells}
        table.metrics = [(m, units[m]) for m in names if m in present]
        table.rows.sort(key=lambda r: [str(x) for x in r.labels])
    return ordered


def ranked_posts(result: "RunResult", metric: str, *, client: str | None = None) -> list[dict[str, Any]]:
    """Rows of a ranking metric (``top_posts``) joined with the posts' text, link, date and
    thumbnail, best rank first, dates in the workflow's time zone.

    One ranking: the overall one if it was asked for, else the first breakdown's. Where the
    workflow has clients, ``client`` picks that client's own ranking (falling back to the whole
    workflow's when the client has none); without it, the whole workflow's.
    """
    import polars as pl

    posts = result.records.get("post")
    ranked = _one_ranking(result, metric, client)
    if ranked is None or posts is None:
        return []
    ranked = ranked.unique(subset=["platform", "account", "post_id"], keep="first", maintain_order=True)
    wanted = ("published_at", "format", "text", "url", "pillar", "reach", "thumbnail_url")
    details = posts.select("platform", "account", "post_id", *(c for c in wanted if c in posts.columns)
                           ).unique(subset=["platform", "account", "post_id"])
    # Dates are shown in the workflow's time zone: a post at 00:30 in Paris is on Monday there.
    joined = (ranked.select("platform", "account", "post_id", "value", "unit", "rank", "series_key")
              .join(details, on=["platform", "account", "post_id"], how="left")
              .with_columns(pl.col("published_at").dt.convert_time_zone(result.period.tz))
              .with_columns(pl.lit(None, pl.Utf8).alias(c) for c in wanted if c not in details.columns)
              .sort("rank"))
    return joined.to_dicts()


RANKED_ITEMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "mention_id": ("mention", ("platform", "mention_id"), "published_at"),
    "message_id": ("conversation", ("platform", "account", "message_id"), "received_at"),
    "post_id": ("post", ("platform", "account", "post_id"), "published_at"),
}
"""For each column naming a ranked item: its record kind, identity and time field."""


def ranked_items(result: "RunResult", metric: str, *, client: str | None = None) -> list[dict[str, Any]]:
    """Rows of a ranking of mentions, comments or posts (``most_negative``), in rank order,
    joined with each item's ``author``, ``text``, ``url`` (where the kind has them) and date
    (``published_at``: when a comment was received, for comments, in the workflow's time zone).
    One ranking, chosen as :func:`ranked_posts` chooses it (``client``: that client's own)."""
    import polars as pl

    ranked = _one_ranking(result, metric, client)
    if ranked is None:
        return []
    column = next((c for c in RANKED_ITEMS if c in ranked.columns and ranked[c].null_count() < ranked.height), None)
    if column is None:
        return []
    kind, identity, time_field = RANKED_ITEMS[column]
    records = result.records.get(kind)
    if records is None:
        return []
    extra = [c for c in ("author", "text", "url", "reach") if c in records.columns and c not in identity]
    details = (records.select(*identity, pl.col(time_field).alias("published_at"), *extra)
               .unique(subset=list(identity), keep="first"))
    shown = [c for c in ("platform", "account", "post_id", column) if c in ranked.columns]
    joined = ranked.select(*shown, "value", "unit", "reason", "rank").join(details, on=list(identity), how="left")
    local = joined.with_columns(pl.col("published_at").dt.convert_time_zone(result.period.tz))
    return local.sort("rank").to_dicts()


def _one_ranking(result: "RunResult", metric: str, client: str | None) -> "pl.DataFrame | None":
    """The current period's rows of a ranking metric: the overall ranking if it was asked for,
    else the first breakdown's; where the workflow has clients, ``client``'s own (else the whole
    workflow's), never both. None when the run has none."""
    import polars as pl

    frame = result.measurements
    if frame is None or frame.height == 0 or "rank" not in frame.columns:
        return None
    ranked = frame.filter((pl.col("metric") == metric) & (pl.col("period") == "current")
                          & pl.col("rank").is_not_null())
    if "client" in ranked.columns:  # a client's own ranking, or the whole workflow's, never both
        own = ranked.filter(pl.col("client") == client) if client is not None else None
        ranked = own if own is not None and own.height else ranked.filter(pl.col("client").is_null())
    if "ranked_within" in ranked.columns and ranked.height:
        within = ranked["ranked_within"].unique().to_list()
        ranked = ranked.filter(pl.col("ranked_within") == ("overall" if "overall" in within else sorted(within)[0]))
    return ranked if ranked.height else None


def _key(dimensions: dict[str, Any]) -> frozenset:
    return frozenset(row_dimensions(dimensions).items())
