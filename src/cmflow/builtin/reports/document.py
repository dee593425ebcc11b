"""A report's content, before any wording or format: the figures one reader (a client, the
management, the marketing team) is shown, taken from a run's result.

A :class:`ReportDocument` holds values, not text: the templates put them into words and numbers
in the report's language, and the HTML, PDF and XLSX formats all render the same document, so
they never disagree on a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cmflow.builtin.reports.headline import HEADLINE_METRICS
from cmflow import NONE_LABEL, dimension_columns
from cmflow.builtin.reports.scopes import ReportScope

if TYPE_CHECKING:
    import polars as pl

    from cmflow import RunResult

COMPARISONS = ("previous_period", "same_period_last_year")
LISTENING_METRICS = ("mentions", "negative_mentions", "comments_received", "negative_comments",
                     "response_time_median", "answered_within_sla", "unanswered_over_sla", "unanswered_negative")
"""What the listening section shows, when the run measures it for the report's scope (community
care's response times among them)."""
BRAND_METRICS = ("mentions", "share_of_voice", "net_sentiment_mentions")
"""What the listening section shows per brand a ``[listen]`` section watches (``by = ["brand"]``):
in a client's report, the brands whose ``client`` is theirs."""
PRODUCTION_METRICS = ("calendar_adherence", "posts_late", "posts_missing", "posts_unplanned", "hours_spent",
                      "production_cost", "cost_per_post", "cost_per_engagement")
"""What the production section shows of the scope's whole: the editorial calendar kept, the time
and money the content cost."""
RETURN_METRICS = ("production_cost", "budget_consumed", "total_sessions", "total_conversions", "conversion_rate",
                  "total_revenue", "cost_per_conversion", "roi")
"""What the production section shows per campaign: spend against budget, and what it brought back."""
PLATFORM_RETURN_METRICS = ("total_conversions", "conversion_rate", "total_revenue", "cost_per_conversion", "roi")
"""What the production section shows per platform: the cost of the time naming it against what
its traffic brought back (time naming no platform on a row of its own)."""
TASK_METRICS = ("hours_spent", "average_task_time")
"""What the production section shows per kind of task."""
MIX_METRICS = ("planned_mix", "published_mix")
"""What the production section shows per format and per pillar: the calendar's plan against
what was published (the ``content_mix`` metric)."""
MIX_DIMENSIONS = ("format", "pillar")
SHOWN_UNTAGGED = 10
"""How many links with UTM problems (``untagged_links``) the production section lists."""
# -- competitors, influencer candidates, suspicious activity (issue 17, listening lane) --
COMPETITOR_METRICS = ("followers", "posting_frequency", "engagement_per_post", "engagement_rate_by_followers")
"""What the competitors table shows per brand that lists its public ``accounts`` (``by = ["brand"]``),
the brand first."""
SHOWN_LISTING = 5
"""How many influencer candidates, bursts and new authors the listening section lists."""
LOCAL_INSTANTS = ("burst_start", "burst_end", "first_seen")
"""The instants the listening metrics write in UTC that the report shows in the workflow's time zone."""
# -- end of the listening lane's block --
NEGATIVE_METRICS = ("most_negative_mentions", "most_negative_comments", "most_negative_posts")
"""The moderation lists (``most_negative``) the listening section shows, when the run ranks them."""
SHOWN_NEGATIVE = 5
"""How many of each moderation list the listening section shows."""
INSIGHT_MIN_POSTS = 5
"""Posts a format needs, and twice as many the account, before an insight compares them."""
INSIGHT_MIN_GAP_PCT = 15.0
"""How far (in %) a format's rate must be from the account's for an insight to mention it."""


@dataclass(frozen=True)
class Change:
    """A figure against a comparison period."""

    previous: float | None
    change: float | None
    """The difference in the figure's unit (percentage points for rates)."""
    change_pct: float | None
    reason: str | None = None


def change_mark(change: Change, words: str) -> str:
    """The arrow a change is shown with, in a report and its e-mail alike: which way the figure
    went (▲ up, ▼ down; a rise of unfollows is ▲), ■ for no change or one whose ``words`` round
    to none (``±0``). Whether that is good news is the colour's job (:meth:`Figure.tone`)."""
    if words.startswith("±") or not change.change:
        return "■"
    return "▲" if change.change > 0 else "▼"


@dataclass(frozen=True)
class Figure:
    """One KPI of one series (the scope's whole, a platform, an account, a format)."""

    metric: str
    unit: str
    value: float | None
    reason: str | None = None
    basis: str | None = None
    polarity: str = "neutral"
    """up (more is better), down (less is better) or neutral (as the workflow says when no
    metric says otherwise)."""
    changes: dict[str, Change] = field(default_factory=dict)
    """By comparison: ``previous_period``, ``same_period_last_year``."""
    trend: tuple[tuple[date, float | None], ...] = ()
    """The figure over the last periods, oldest first, the current one last."""

    def relative_change(self, change: Change) -> float | None:
        """``change``'s percentage where it means something: from a positive figure to one that
        is not negative. A follower growth of 50 that turns into -10 did not change by -120 %:
        the report says -60 instead."""
        if change.change_pct is None or change.previous is None or change.previous <= 0:
            return None
        return change.change_pct if self.value is None or self.value >= 0 else None

    def tone(self, comparison: str) -> str:
        """good, bad or neutral: what the change against ``comparison`` means given the
        metric's polarity; empty when there is no change to judge."""
        change = self.changes.get(comparison)
        if change is None or change.change is None:
            return ""
        if change.change == 0 or self.polarity == "neutral" or (self.unit == "%" and abs(change.change) < 0.005):
            return "neutral"
        better = change.change > 0 if self.polarity == "up" else change.change < 0
        return "good" if better else "bad"


@dataclass(frozen=True)
class SeriesFigures:
    """The KPIs of one row of a section: an account, a platform, a format ..."""

    key: tuple[str, ...]
    """The dimension values (``("instagram", "maisonlumiere")``)."""
    name: str
    """What a reader calls it (the account's display name), before translation of platforms."""
    figures: dict[str, Figure]


@dataclass(frozen=True)
class PlatformSection:
    platform: str
    figures: dict[str, Figure]
    accounts: list[SeriesFigures]


@dataclass(frozen=True)
class RankedPost:
    rank: int
    platform: str
    account: str
    account_name: str
    published_at: datetime | None
    format: str | None
    text: str
    url: str | None
    value: float | None
    unit: str
    reach: float | None = None
    thumbnail_url: str | None = None
    """The image the post's record names (untrusted: never put in a page as a URL)."""
    thumbnail: str | None = None
    """That image as a ``data:`` URI, once fetched and checked (:mod:`~cmflow.builtin.reports.thumbnails`)."""
    post_id: str | None = None
    """The post's id on its platform: what tells a post of the top list in the flop list."""


@dataclass(frozen=True)
class Insight:
    """A plain-language finding: a catalogue key and its values (already measured)."""

    key: str
    values: dict[str, Any]


@dataclass(frozen=True)
class AlertLine:
    metric: str
    dimensions: dict[str, Any]
    severity: str
    value: float | None
    unit: str
    state: str
    """firing, pending or resolved."""
    is_new: bool
    polarity: str
    alert: Any = field(default=None, compare=False, repr=False)
    """The alert itself, for its trigger to say it (:mod:`cmflow.builtin.reports.alert_words`)."""
    workflow: Any = field(default=None, compare=False, repr=False)
    """The workflow whose trigger raised it."""

    @property
    def wording(self) -> str:
        """The state as a reader is told it: an info alert firing is worth noting (a viral
        week), not something to deal with."""
        return "noted" if self.state == "firing" and self.severity == "info" else self.state


@dataclass(frozen=True)
class NegativeItem:
    """A mention, comment or post of a moderation list (``most_negative``): the most negative
    first. Its author, text and link come from the public (a comment's link is the post it was
    left on)."""

    metric: str
    """``most_negative_mentions``, ``most_negative_comments`` or ``most_negative_posts``."""
    rank: int
    platform: str | None
    account_name: str | None
    author: str | None
    text: str
    url: str | None
    published_at: datetime | None
    """When it was published (a comment: received), in the workflow's time zone."""
    score: float | None
    """Its sentiment score (-1 the most negative); None when its source labelled it negative without one."""


@dataclass(frozen=True)
class MissingSource:
    """A source the run could not read."""

    id: str
    plugin: str
    platforms: tuple[str, ...] = ()
    """Whose data it reads, when known (its options, or what it read at its last run)."""


@dataclass(frozen=True)
class LeftOutRows:
    """The input rows a source left out (``on_error = "skip"``): the figures are those of the
    rows it accepted. Every report says how many; only the agency's own copies list them."""

    source: str
    count: int
    rows: tuple[str, ...] = ()
    """Each row with where and why (line, post id, column, value, reason), as the run summary
    prints it: only in a report whose output says ``show_warnings``, never in a client's e-mail."""


@dataclass(frozen=True)
class PostingTime:
    """The rate of the posts published at one weekday (0 = Monday) and hour, local time."""

    weekday: int
    hour: int
    value: float | None
    posts: int


@dataclass(frozen=True)
class PlannedPost:
    """A planned post missing at its time (a row of ``missing_planned_posts``) or published
    late (of ``late_planned_posts``)."""

    title: str | None
    platform: str | None
    account_name: str | None
    owner: str | None
    planned_on: date | None
    """The day it was planned for, in the workflow's time zone."""
    overdue_hours: float | None = None
    """A missing post's hours since it was due (at the as-of time); None for a late one."""
    delay_hours: float | None = None
    """A late post's delay in hours from its planned time; None for a missing one."""
    deleted_post_id: str | None = None
    """The post the item names when no post read has it (deleted?); None: no post was
    published near its planned time."""


@dataclass(frozen=True)
class LinkProblem:
    """One UTM problem of a link as a catalogue key and its values (``production_link_*``), so
    that a French report says it in French; ``key`` None for a problem code the report does not
    know (a newer ``untagged_links``), shown as ``text`` (the metric's English sentence)."""

    text: str
    key: str | None = None
    values: dict[str, str] = field(default_factory=dict)


LINK_PROBLEM_KEYS = {
    "no_tag": ("production_link_no_tag", "tag", None),
    "wrong_source": ("production_link_wrong_source", "source", "platform"),
    "wrong_campaign": ("production_link_wrong_campaign", "given", "campaign"),
    "spellings": ("production_link_spellings", "spelling", "others"),
}
"""By ``untagged_links`` problem code: the catalogue key that words it and the names its
``problem_value`` and ``problem_expected`` take there."""


def link_problem(row: dict[str, Any]) -> LinkProblem:
    """A row of ``untagged_links`` (its ``problem_code``, ``problem_value``, ``problem_expected``)
    as a catalogue key and its values."""
    text = row.get("problem") or ""
    known = LINK_PROBLEM_KEYS.get(row.get("problem_code") or "")
    if known is None:
        return LinkProblem(text)
    key, value_name, expected_name = known
    values = {value_name: row.get("problem_value") or ""}
    if expected_name:
        values[expected_name] = row.get("problem_expected") or ""
    return LinkProblem(text, key, values)


@dataclass(frozen=True)
class UntaggedLink:
    """One link of a published post and its UTM problems (the rows of ``untagged_links`` about
    it). The URL is public text: a template links it only through ``safe_url``."""

    platform: str | None
    account_name: str | None
    post_id: str | None
    url: str
    problems: tuple[LinkProblem, ...]


@dataclass
class ReportDocument:
    """Everything one report says, as values."""

    title: str
    scope: ReportScope
    period_start: date
    period_end: date
    comparisons: dict[str, tuple[date, date]]
    """The comparison periods shown, by label."""
    headline: list[Figure]
    objectives: list[Any]
    platforms: list[PlatformSection]
    breakdowns: dict[str, list[SeriesFigures]]
    """By ``format`` and ``pillar``: the scope's figures per value."""
    top_posts: list[RankedPost]
    flop_posts: list[RankedPost]
    """The lowest-ranked posts not already among :attr:`top_posts` (:func:`flop_apart_from_top`)."""
    insights: list[Insight]
    posting_times: list[PostingTime]
    alerts: list[AlertLine]
    missing: list["MissingSource"]
    """The sources the run could not read: the report is incomplete when this is not empty. A
    client's report names their platforms, never ids or paths."""
    generated_at: datetime
    commentary: str | None = None
    """The CM's commentary, Markdown."""
    listening: list[Figure] = field(default_factory=list)
    """Mentions and comments of the scope's whole, with their changes (none: no section)."""
    brands: list[SeriesFigures] = field(default_factory=list)
    """The watched brands' mentions, share of voice and net sentiment, one row per brand."""
    production: list[Figure] = field(default_factory=list)
    """Calendar adherence, hours and costs of the scope's whole (none: no production section)."""
    campaigns: list[SeriesFigures] = field(default_factory=list)
    """Each campaign's spend, budget and return (:data:`RETURN_METRICS`)."""
    platform_returns: list[SeriesFigures] = field(default_factory=list)
    """Each platform's cost per conversion and return (:data:`PLATFORM_RETURN_METRICS`), when the
    run measures them by platform."""
    task_types: list[SeriesFigures] = field(default_factory=list)
    """Each kind of task's hours and average time per task (:data:`TASK_METRICS`)."""
    missing_posts: list[PlannedPost] = field(default_factory=list)
    """The planned posts due and not published, by planned day."""
    late_posts: list[PlannedPost] = field(default_factory=list)
    """The planned posts of the period published late, by planned day."""
    mix: dict[str, list[SeriesFigures]] = field(default_factory=dict)
    """By ``format`` and ``pillar`` (those measured): the planned and the published share of each value."""
    untagged_links: list[UntaggedLink] = field(default_factory=list)
    """The first :data:`SHOWN_UNTAGGED` links of the period's posts with UTM problems."""
    untagged_more: int = 0
    """How many more such links there are than those listed."""
    # -- competitors, influencer candidates, suspicious activity (listening lane) --
    competitors: list[SeriesFigures] = field(default_factory=list)
    """The :data:`COMPETITOR_METRICS` of the brand and of each competitor listing its accounts."""
    competitor_counters: list[str] = field(default_factory=list)
    """The interaction counters the competitors' table counts when not every one of
    ``ENGAGEMENT_COUNTERS``: those every brand of the table reports (none: all of them)."""
    influencers: list[dict[str, Any]] = field(default_factory=list)
    """The first influencer candidates: rank, author, score, mentions, audience, engagement, relevance, example_url."""
    bursts: list[dict[str, Any]] = field(default_factory=list)
    """The bursts of near-identical mentions: authors, burst_text, burst_start, burst_end (UTC
    text; ``burst_start_local`` and ``burst_end_local``: in the workflow's time zone),
    burst_authors, example_urls."""
    new_authors: list[dict[str, Any]] = field(default_factory=list)
    """The authors with no history: author, mentions, audience, first_seen (and
    ``first_seen_local``), in_burst, example_urls."""
    time_zone: str = "UTC"
    """The workflow's time zone, the listening lists' times are shown in."""
    most_negative: list[NegativeItem] = field(default_factory=list)
    """The first :data:`SHOWN_NEGATIVE` items of each moderation list (mentions, comments, posts)."""
    warnings: list[str] = field(default_factory=list)
    """The run's warnings (:attr:`cmflow.RunResult.warnings`: figures in doubt) the report lists:
    only when its output asks (``show_warnings``), never in a client's e-mail."""
    left_out: list[LeftOutRows] = field(default_factory=list)
    """The rows the scope's sources left out (``on_error = "skip"``), counted for every reader."""
    ranked_posts: int | None = None
    """How many posts the two rankings ranked when that is fewer than both lists hold (the flop
    list then shows only the posts the top list does not, and the report says why); None when
    the lists did not meet."""

    @property
    def left_out_count(self) -> int:
        """How many input rows the figures leave out, over every source."""
        return sum(source.count for source in self.left_out)

    @property
    def competitor_metrics(self) -> list[str]:
        """The columns of the competitors' table: the :data:`COMPETITOR_METRICS` one brand at least has."""
        return [m for m in COMPETITOR_METRICS if any(m in row.figures for row in self.competitors)]
    # -- end of the listening lane's block --

    @property
    def brand_metrics(self) -> list[str]:
        """The columns of the brands' table: the :data:`BRAND_METRICS` one brand at least has."""
        return [m for m in BRAND_METRICS if any(m in row.figures for row in self.brands)]

    @property
    def campaign_metrics(self) -> list[str]:
        """The columns of the campaigns' table: the :data:`RETURN_METRICS` one campaign at least has."""
        return [m for m in RETURN_METRICS if any(m in row.figures for row in self.campaigns)]

    @property
    def platform_return_metrics(self) -> list[str]:
        """The columns of the platforms' table: the :data:`PLATFORM_RETURN_METRICS` one platform at least has."""
        return [m for m in PLATFORM_RETURN_METRICS if any(m in row.figures for row in self.platform_returns)]

    @property
    def task_metrics(self) -> list[str]:
        """The columns of the task types' table."""
        return [m for m in TASK_METRICS if any(m in row.figures for row in self.task_types)]

    @property
    def has_production(self) -> bool:
        """Whether the run measured anything of the production section for this scope."""
        return bool(self.production or self.campaigns or self.platform_returns or self.task_types
                    or self.missing_posts or self.late_posts or self.mix or self.untagged_links)

    @property
    def complete(self) -> bool:
        return not self.missing


def _clients_accounts_read(result: "RunResult", report: Any) -> frozenset[str] | None:
    """The accounts a failed source reads, when all are clients' (the reports of their clients
    are then the ones it makes incomplete); None when not known, or when one belongs to no client
    (a competitor's, a brand's: the figures of every client's report that compare with them)."""
    from cmflow import accounts_of_no_client

    if report.accounts is None or accounts_of_no_client(result.workflow.clients, report.accounts):
        return None
    return frozenset(report.accounts)


def build_document(result: "RunResult", scope: ReportScope, *, title: str, metrics: list[str] | None = None,
                   top: str = "top_posts", flop: str = "bottom_posts", commentary: str | None = None,
                   run_warnings: bool = False) -> ReportDocument:
    """The document of ``result`` for the readers of ``scope``; with ``run_warnings``, the run's
    warnings and the rows its sources left out too (an agency's own report: they name files,
    keys, lines and other clients' accounts)."""
    from datetime import timezone

    figures = _FigureIndex(result, scope)
    shown = metrics or [m for m in HEADLINE_METRICS if m in figures.metrics]
    headline = [f for m in shown if (f := figures.figure(m, scope.whole())) is not None]
    objectives = [o for o in result.objectives if scope.holds_objective(o)]
    top_posts = _ranked(result, top, scope)
    flop_posts, ranked_posts = flop_apart_from_top(top_posts, _ranked(result, flop, scope))
    return ReportDocument(
        title=title, scope=scope, period_start=result.period.start, period_end=result.period.end,
        comparisons={p.label: (p.start, p.end) for p in result.comparison_periods},
        headline=headline,
        objectives=objectives,
        platforms=_platform_sections(figures, shown, scope),
        breakdowns={dim: figures.breakdown(dim, shown) for dim in ("format", "pillar")},
        top_posts=top_posts, flop_posts=flop_posts, ranked_posts=ranked_posts,
        insights=_insights(result, scope),
        posting_times=_posting_times(result, scope),
        alerts=[line for line in alert_lines(result, scope) if not _judged_as_objective(line, objectives)],
        listening=[f for m in LISTENING_METRICS if m not in shown and (f := figures.figure(m, scope.whole())) is not None],
        brands=_brand_rows(result, figures, scope),
        production=[f for m in PRODUCTION_METRICS if m not in shown and (f := figures.figure(m, scope.whole())) is not None],
        campaigns=_campaign_rows(figures, scope, result.workflow.production),
        platform_returns=_platform_return_rows(figures),
        task_types=figures.breakdown("task_type", list(TASK_METRICS)),
        missing_posts=_planned_posts(result, scope, "missing_planned_posts"),
        late_posts=_planned_posts(result, scope, "late_planned_posts"),
        mix={dim: rows for dim in MIX_DIMENSIONS if _mix_says_something(rows := figures.breakdown(dim, list(MIX_METRICS)))},
        **_untagged_links(result, scope),
        competitors=(competitors := _competitor_rows(result, figures, scope)),
        competitor_counters=_shared_counters(result, competitors),
        influencers=_top_of_ranking(result, scope, "influencer_score", {"influencer_mentions": "mentions",
                            "influencer_audience": "audience", "influencer_engagement": "engagement",
                            "influencer_relevance": "relevance"}, "author"),
        bursts=_top_of_ranking(result, scope, "coordinated_bursts", {}, "burst_start"),
        new_authors=_top_of_ranking(result, scope, "new_authors", {"new_author_audience": "audience"}, "author"),
        time_zone=result.period.tz,
        most_negative=[item for metric in NEGATIVE_METRICS for item in _most_negative(result, scope, metric)],
        missing=[MissingSource(report.id, report.plugin, tuple(report.platforms)) for report in result.failed_sources
                 if scope.may_hold(_clients_accounts_read(result, report))],
        generated_at=datetime.now(timezone.utc), commentary=commentary,
        warnings=list(result.warnings) if run_warnings else [],
        left_out=[LeftOutRows(report.id, len(report.skipped), tuple(report.skipped) if run_warnings else ())
                  for report in result.stages if report.kind == "source" and report.skipped
                  and scope.may_hold(_clients_accounts_read(result, report))],
    )


class _FigureIndex:
    """The run's current measurements of one scope, with their changes and trends."""

    def __init__(self, result: "RunResult", scope: ReportScope):
        import polars as pl

        self.scope = scope
        self.polarity = result.workflow.polarity_of
        frame = result.measurements
        if frame is None or frame.height == 0:
            self.rows: dict[tuple, dict] = {}
            self.metrics: set[str] = set()
            self.trends: dict[tuple[str, str], list] = {}
            self.changes: dict[tuple[str, str], dict[str, Change]] = {}
            return
        frame = frame.filter(pl.col("rank").is_null())
        # Every dimension a row may carry (owner, task_type, a metric's own such as item_id): a
        # row broken down by one of them is never taken for the overall row of its metric.
        self.dimensions = dimension_columns(frame)
        current = frame.filter(pl.col("period") == "current")
        self.metrics = set(current["metric"].unique().to_list())
        self.rows = {(row["metric"], self._key(row)): row for row in current.iter_rows(named=True)}
        history = frame.filter(pl.col("period").str.starts_with("history-") | (pl.col("period") == "current"))
        self.trends = {}
        for row in history.sort("period_start").iter_rows(named=True):
            self.trends.setdefault((row["metric"], row["series_key"]), []).append((row["period_start"], row["value"]))
        self.changes = {}
        if result.comparisons is not None and result.comparisons.height:
            for row in result.comparisons.iter_rows(named=True):
                self.changes.setdefault((row["metric"], row["series_key"]), {})[row["comparison"]] = Change(
                    row["previous_value"], row["change"], row["change_pct"], row.get("change_reason"))

    def _key(self, row: dict) -> tuple:
        return tuple((d, row[d]) for d in self.dimensions if row.get(d) is not None)

    def figure(self, metric: str, dimensions: dict[str, str]) -> Figure | None:
        row = self.rows.get((metric, tuple((d, dimensions[d]) for d in self.dimensions if d in dimensions)))
        if row is None:
            return None
        trend = self.trends.get((metric, row["series_key"]), [])
        return Figure(metric, row["unit"], row["value"], row["reason"], row.get("basis"), self.polarity(metric),
                      self.changes.get((metric, row["series_key"]), {}),
                      tuple(trend) if len(trend) > 1 else ())

    def series(self, dims: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The values of ``dims`` that the scope's current measurements have, sorted."""
        found = set()
        for _, key in self.rows:
            names = dict(key)
            if set(names) - {"client"} == set(dims) and self.scope.holds(names):
                found.add(tuple(names[d] for d in dims))
        return sorted(found, key=lambda values: [v.casefold() for v in values])

    def breakdown(self, dim: str, metrics: list[str]) -> list[SeriesFigures]:
        rows = []
        for (value,) in self.series((dim,)):
            where = {**self.scope.whole(), dim: value}
            figures = {m: f for m in metrics if (f := self.figure(m, where)) is not None}
            if figures:
                rows.append(SeriesFigures((value,), value, figures))
        return rows


def _campaign_rows(figures: _FigureIndex, scope: ReportScope, production: Any = None) -> list[SeriesFigures]:
    """The :data:`RETURN_METRICS` of each campaign of the scope (not the time no campaign names),
    each named as ``production`` names it (``[production] campaigns``: ``Calendrier de l'Avent``;
    its key stays the row's key). A figure measured per campaign only (a budget is a campaign's,
    whoever's time it is) fills the campaign's row in a client's report too."""
    rows = []
    for row in figures.breakdown("campaign", list(RETURN_METRICS)):
        if row.name == NONE_LABEL:
            continue
        alone = {m: f for m in RETURN_METRICS if m not in row.figures
                 and (f := figures.figure(m, {"campaign": row.name})) is not None}
        name = production.campaign_name(row.name) if production is not None else row.name
        rows.append(SeriesFigures(row.key, name, {**row.figures, **alone}))
    return rows


def _platform_return_rows(figures: _FigureIndex) -> list[SeriesFigures]:
    """Each platform's :data:`PLATFORM_RETURN_METRICS`, when cost_per_conversion or roi is measured
    by platform (the traffic's conversions alone are the platform sections' business): the rows
    with a cost or a return, time naming no platform last."""
    rows = [row for row in figures.breakdown("platform", list(PLATFORM_RETURN_METRICS))
            if "cost_per_conversion" in row.figures or "roi" in row.figures]
    return sorted(rows, key=lambda row: row.name == NONE_LABEL)


def _mix_says_something(rows: list[SeriesFigures]) -> bool:
    """Whether a planned vs published mix compares anything: not when one side is wholly
    "(none)" (posts that carry no pillar, a calendar that names no format)."""
    if not rows:
        return False
    for metric in MIX_METRICS:
        shares = {row.name: row.figures[metric].value for row in rows if metric in row.figures}
        if not any(v for v in shares.values()) or (shares.get(NONE_LABEL) or 0) >= 100 - 1e-9:
            return False
    return True


def _listed_rows(result: "RunResult", scope: ReportScope, metric: str) -> list[dict[str, Any]]:
    """The current rows of a metric that lists things one row each (``missing_planned_posts``,
    ``untagged_links``) that are the scope's: in a client's report its client's rows when the
    metric is broken down by client, else the rows of the client's accounts. A metric whose rows
    each name their own client (``client`` among its row dimensions) lists each thing once: the
    whole workflow's report shows every row, a client's its own."""
    import polars as pl

    frame = result.measurements
    if frame is None or frame.height == 0:
        return []
    rows = frame.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    if "rank" in rows.columns:
        rows = rows.filter(pl.col("rank").is_null())
    if "client" in result.workflow.row_dimensions_of(metric):
        rows = rows.filter(pl.col("client") == scope.client.id) if scope.client is not None else rows
    elif "client" in rows.columns:
        own = rows.filter(pl.col("client") == scope.client.id) if scope.client is not None else rows.clear()
        rows = own if own.height else rows.filter(pl.col("client").is_null())
    return [row for row in rows.iter_rows(named=True)
            if scope.holds_account(row.get("platform"), row.get("account"))]


def _planned_posts(result: "RunResult", scope: ReportScope, metric: str) -> list[PlannedPost]:
    """The scope's rows of ``metric`` (``missing_planned_posts``, ``late_planned_posts``), with
    the day each was planned for (from its calendar item) in the workflow's time zone, by that
    day then title."""
    import polars as pl

    rows = _listed_rows(result, scope, metric)
    if metric == "missing_planned_posts":  # it has a row, at 0, for each item due that was published
        rows = [row for row in rows if (row.get("value") or 0) > 0]
    items = result.records.get("calendar_item")
    planned: dict[str, tuple[Any, Any]] = {}
    if rows and items is not None and items.height:
        wanted = {row.get("item_id") for row in rows}
        local = items.filter(pl.col("item_id").cast(pl.String).is_in(list(wanted))).select(
            pl.col("item_id").cast(pl.String),
            pl.col("planned_at").dt.convert_time_zone(result.period.tz).dt.date().alias("planned_on"),
            pl.col("post_id").cast(pl.String) if "post_id" in items.columns else pl.lit(None, pl.String).alias("post_id"))
        planned = {r["item_id"]: (r["planned_on"], r["post_id"]) for r in local.iter_rows(named=True)}
    posts = []
    for row in rows:
        planned_on, post_id = planned.get(row.get("item_id"), (None, None))
        platform, account = row.get("platform"), row.get("account")
        given = {k: row.get(k) if row.get(k) != NONE_LABEL else None for k in ("title", "owner")}  # "(none)": not given
        missing = metric == "missing_planned_posts"
        posts.append(PlannedPost(given["title"], platform,
                                 scope.account_name(platform, account) if platform and account else account,
                                 given["owner"], planned_on,
                                 overdue_hours=row.get("value") if missing else None,
                                 delay_hours=None if missing else row.get("value"),
                                 deleted_post_id=post_id.strip() if missing and post_id and post_id.strip() else None))
    return sorted(posts, key=lambda p: (p.planned_on or date.max, (p.title or "").casefold()))


def _untagged_links(result: "RunResult", scope: ReportScope) -> dict[str, Any]:
    """The scope's first :data:`SHOWN_UNTAGGED` links with ``untagged_links`` problems (each
    link once, its problems together) and how many more there are."""
    problems: dict[tuple[str, str, str, str], dict[tuple, LinkProblem]] = {}
    for row in _listed_rows(result, scope, "untagged_links"):
        key = tuple(row.get(k) or "" for k in ("platform", "account", "post_id", "url"))
        problem = link_problem(row)
        problems.setdefault(key, {})[(problem.key or "", problem.text)] = problem
    links = [UntaggedLink(platform or None, scope.account_name(platform, account) if platform and account
                          else account or None, post_id or None, url,
                          tuple(found[k] for k in sorted(found)))
             for (platform, account, post_id, url), found in sorted(problems.items())[:SHOWN_UNTAGGED]]
    return {"untagged_links": links, "untagged_more": max(0, len(problems) - SHOWN_UNTAGGED)}


def _brand_rows(result: "RunResult", figures: _FigureIndex, scope: ReportScope) -> list[SeriesFigures]:
    """The :data:`BRAND_METRICS` of each brand the workflow's ``[listen]`` watches, in its order:
    every brand in the whole workflow's report, in a client's the brands whose ``client`` is theirs."""
    return _rows_of_brands(result, figures, scope, BRAND_METRICS)


def _rows_of_brands(result: "RunResult", figures: _FigureIndex, scope: ReportScope, metrics: tuple[str, ...],
                    *, listing_accounts: bool = False) -> list[SeriesFigures]:
    """A row of ``metrics`` for each brand the workflow's ``[listen]`` watches that has one, in its
    order (``listing_accounts``: only the brands listing their ``accounts``); in a client's report,
    the brands whose ``client`` is theirs. A competitor's changes are neither good nor bad news
    for the reader (its followers' growth is not theirs): its figures' polarity is neutral, so
    they are drawn grey, with their arrows."""
    from dataclasses import replace

    listen = result.workflow.listen
    competitor_ids = set(listen.competitor_ids) if listen is not None else set()
    rows = []
    for brand in listen.brands if listen is not None else ():
        if (listing_accounts and not brand.accounts) or (scope.client is not None and brand.client != scope.client.id):
            continue
        found = {m: f for m in metrics if (f := figures.figure(m, {"brand": brand.id})) is not None}
        if brand.id in competitor_ids:
            found = {m: replace(f, polarity="neutral") for m, f in found.items()}
        if found:
            rows.append(SeriesFigures((brand.id,), brand.name, found))
    return rows


# -- competitors, influencer candidates, suspicious activity (listening lane) --
def _competitor_rows(result: "RunResult", figures: _FigureIndex, scope: ReportScope) -> list[SeriesFigures]:
    """The :data:`COMPETITOR_METRICS` of each watched brand listing its ``accounts``, the own brands
    first; in a client's report, the brands whose ``client`` is theirs (its own brand and its
    competitors). None when no competitor has figures."""
    listen = result.workflow.listen
    rows = _rows_of_brands(result, figures, scope, COMPETITOR_METRICS, listing_accounts=True)
    competitor_ids = set(listen.competitor_ids) if listen is not None else set()
    return rows if any(row.key[0] in competitor_ids for row in rows) else []


def _shared_counters(result: "RunResult", competitors: list[SeriesFigures]) -> list[str]:
    """The interaction counters the table's brands all report, when the measure stage left some
    out of a shown brand's rows (``result.unshared_counters``: another brand of its set never
    reports them); none otherwise."""
    from cmflow import BRANDS_COLUMN
    from cmflow.builtin.metrics.common import ENGAGEMENT_COUNTERS

    shown = tuple(row.key[0] for row in competitors)
    unshared = {c for brand in shown for c in result.unshared_counters.get(brand, ())}
    if not unshared:
        return []
    present = {c for kind in ("post", "account_activity")
               if (frame := result.records.get(kind)) is not None and BRANDS_COLUMN in frame.columns
               for c in frame.columns}
    return [c for c in ENGAGEMENT_COUNTERS if c in present and c not in unshared]


def _top_of_ranking(result: "RunResult", scope: ReportScope, metric: str, evidence: dict[str, str], identity: str
                     ) -> list[dict[str, Any]]:
    """The first :data:`SHOWN_LISTING` rows of a ranking of the listening metrics (the overall one;
    in a client's report, that of its own brand, the ``[listen]`` brand whose ``client`` is
    theirs: never a competitor's), with their evidence measurements (``evidence``: metric -> key)
    joined by ``identity`` and rank, and each instant of :data:`LOCAL_INSTANTS` also as a local
    time of the workflow's time zone (``burst_start_local`` ...)."""
    import polars as pl

    frame = result.measurements
    if frame is None or frame.height == 0 or "rank" not in frame.columns or "ranked_within" not in frame.columns:
        return []
    listen = result.workflow.listen
    brand = None
    if scope.client is not None:
        own = listen.own_brand_of(scope.client.id) if listen is not None else None
        if own is None:
            return []
        brand = own.id
    current = frame.filter((pl.col("period") == "current") & pl.col("rank").is_not_null()
                           & (pl.col("ranked_within") == "overall"))  # a brand's ranking is within it
    if "brand" in current.columns:
        current = current.filter(pl.col("brand") == brand if brand else pl.col("brand").is_null())
    if "client" in current.columns:
        current = current.filter(pl.col("client").is_null())
    if identity not in current.columns:
        return []
    ranked = current.filter(pl.col("metric") == metric).sort("rank").head(SHOWN_LISTING).to_dicts()
    values = {(row["metric"], row[identity], row["rank"]): row["value"]
              for row in current.filter(pl.col("metric").is_in(list(evidence))).iter_rows(named=True)}
    return [{**row, **{key: values.get((name, row[identity], row["rank"])) for name, key in evidence.items()},
             **{f"{key}_local": _local_instant(row[key], result.period.tz) for key in LOCAL_INSTANTS if key in row}}
            for row in ranked]


def _local_instant(text: str | None, tz: str) -> datetime | None:
    """An instant a listening metric writes in UTC (``2026-11-20T20:00:00Z``) in time zone ``tz``."""
    from zoneinfo import ZoneInfo

    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
# -- end of the listening lane's block --


def _most_negative(result: "RunResult", scope: ReportScope, metric: str) -> list[NegativeItem]:
    """The first :data:`SHOWN_NEGATIVE` items of a moderation list: in a client's report its own
    ranking (``by = ["client"]``), else those of the overall ranking on the client's accounts (a
    mention, which has no account, only in its client's ranking); never another client's."""
    import polars as pl

    from cmflow import ranked_items

    frame = result.measurements
    if frame is None or frame.height == 0 or metric not in set(frame["metric"].unique().to_list()):
        return []
    client = scope.client.id if scope.client is not None else None
    own = client is not None and "client" in frame.columns and frame.filter(
        (pl.col("metric") == metric) & (pl.col("client") == client) & pl.col("rank").is_not_null()).height > 0
    rows = []
    for row in ranked_items(result, metric, client=client if own else None):
        if client is not None and not own and not scope.holds({"platform": row.get("platform"),
                                                               "account": row.get("account")}):
            continue
        rows.append(row)
        if len(rows) == SHOWN_NEGATIVE:
            break
    post_urls = _post_urls(result, rows) if metric == "most_negative_comments" else {}
    return [NegativeItem(metric, rank, row.get("platform"),
                         scope.account_name(row.get("platform") or "", row["account"]) if row.get("account") else None,
                         row.get("author"), (row.get("text") or "").strip(),
                         row.get("url") or post_urls.get((row.get("platform"), row.get("account"), row.get("post_id"))),
                         row.get("published_at"), row.get("value"))
            for rank, row in enumerate(rows, start=1)]


def _post_urls(result: "RunResult", comments: list[dict[str, Any]]) -> dict[tuple, str]:
    """The address of the post each of ``comments`` was left on, by (platform, account,
    post_id): a comment has none of its own."""
    import polars as pl

    posts = result.records.get("post")
    ids = [c["post_id"] for c in comments if c.get("post_id")]
    if posts is None or "url" not in posts.columns or not ids:
        return {}
    found = posts.filter(pl.col("post_id").is_in(ids)).select("platform", "account", "post_id", "url").drop_nulls()
    return {(platform, account, post_id): url for platform, account, post_id, url in found.iter_rows()}


def _platform_sections(figures: _FigureIndex, metrics: list[str], scope: ReportScope) -> list[PlatformSection]:
    sections = []
    accounts = figures.series(("platform", "account"))
    for (platform,) in figures.series(("platform",)):
        where = {**scope.whole(), "platform": platform}
        totals = {m: f for m in metrics if (f := figures.figure(m, where)) is not None}
        rows = []
        for _, account in [a for a in accounts if a[0] == platform]:
            per_account = {m: f for m in metrics
                           if (f := figures.figure(m, {"platform": platform, "account": account})) is not None}
            if per_account:
                rows.append(SeriesFigures((platform, account), scope.account_name(platform, account), per_account))
        if totals or rows:
            sections.append(PlatformSection(platform, totals, rows))
    return sections


def _ranked(result: "RunResult", metric: str, scope: ReportScope) -> list[RankedPost]:
    """The posts a ranking metric (``top_posts``) put first, in the scope: its ranking within
    the scope's client when there is one, else the overall ranking less other clients' posts."""
    from cmflow import ranked_posts

    rows = ranked_posts(result, metric, client=scope.client.id if scope.client is not None else None)
    out = []
    for row in rows:
        if not scope.holds({"platform": row["platform"], "account": row["account"]}):
            continue
        out.append(RankedPost(len(out) + 1, row["platform"], row["account"],
                              scope.account_name(row["platform"], row["account"]), row["published_at"],
                              row["format"], (row["text"] or "").strip(), row["url"], row["value"], row["unit"],
                              row["reach"], row["thumbnail_url"], post_id=row["post_id"]))
    return out


def flop_apart_from_top(top: list[RankedPost], flop: list[RankedPost]) -> tuple[list[RankedPost], int | None]:
    """The flop list less the posts of the top list, renumbered from 1, and how many posts the
    two lists hold together when they met (None when they did not). A post is in one list at
    most: a client with 7 ranked posts, a top 5 and a flop 3, sees their 2 lowest below the 5
    best, not the 5th best again as the 3rd worst. When the lists meet, every ranked post is in
    one of them, so their union counts the ranked posts."""
    from dataclasses import replace

    shown = {(p.platform, p.account, p.post_id) for p in top}
    rest = [p for p in flop if (p.platform, p.account, p.post_id) not in shown]
    if len(rest) == len(flop):
        return flop, None
    return [replace(p, rank=i) for i, p in enumerate(rest, start=1)], len(top) + len(rest)


def _insights(result: "RunResult", scope: ReportScope) -> list[Insight]:
    """Formats that did clearly better or worse than their account (ERR, ratio of the sums),
    where the format has :data:`INSIGHT_MIN_POSTS` posts and the account twice as many: a week
    of three posts says nothing about carousels.

    A format is judged on the report's period when it has that sample there (``window`` is
    ``"period"``); else on the periods the report's trend shows (the current one and its
    history's: ``window`` is ``"trend"``, over ``periods`` periods of ``unit``), and the sentence
    says so ("over the last 8 weeks (28 Sep – 22 Nov 2026)"), never a window a reader could take
    for the report's period."""
    shown = [p for p in result.all_periods if p.label == "current" or p.label.startswith("history-")]
    since = min((p.start for p in shown), default=result.period.start)
    on_period = _format_rates(result, scope, result.period.start)
    on_trend = _format_rates(result, scope, since) if since < result.period.start else {}
    insights = []
    for key in sorted({*on_period, *on_trend}):
        if key in on_period:
            row, window, first = on_period[key], "period", result.period.start
        else:
            row, window, first = on_trend[key], "trend", since
        gap = (row["value"] - row["average"]) / row["average"] * 100
        if abs(gap) >= INSIGHT_MIN_GAP_PCT:
            insights.append(Insight("insight_format_above" if gap > 0 else "insight_format_below", {
                "account": scope.account_name(row["platform"], row["account"]), "platform": row["platform"],
                "format": row["format"], "metric": "engagement_rate_by_reach", "gap_pct": abs(gap),
                "posts": row["posts"], "account_posts": row["account_posts"], "value": row["value"],
                "average": row["average"], "since": first, "until": result.period.end, "window": window,
                "periods": 1 if window == "period" else len(shown), "unit": result.period.unit,
                "days": result.period.days}))
    return sorted(insights, key=lambda i: (-i.values["gap_pct"], i.values["account"], i.values["format"]))


def _format_rates(result: "RunResult", scope: ReportScope, since: date) -> dict[tuple, dict[str, Any]]:
    """By (platform, account, format): the format's ERR (``value``) and posts, the account's
    (``average``, ``account_posts``) over the posts published from ``since`` to the period's end,
    where both samples are large enough for an insight (:func:`_insights`)."""
    import polars as pl

    posts = _posts_of(result, scope, since=since)
    if posts is None:
        return {}
    account = ["platform", "account"]
    per_account = _rates(posts, account).rename({"value": "average", "posts": "account_posts"})
    per_format = _rates(posts.filter(pl.col("format").is_not_null()), [*account, "format"])
    joined = per_format.join(per_account, on=account).filter(
        (pl.col("posts") >= INSIGHT_MIN_POSTS) & (pl.col("account_posts") >= 2 * INSIGHT_MIN_POSTS)
        & pl.col("value").is_not_null() & (pl.col("average") > 0))
    return {(row["platform"], row["account"], row["format"]): row for row in joined.iter_rows(named=True)}


def _posts_of(result: "RunResult", scope: ReportScope, since: date) -> "pl.DataFrame | None":
    """The scope's posts published from ``since`` to the period's end (local days), with their
    local time (``local``); None when there are none or they have no reach."""
    import polars as pl

    posts = result.records.get("post")
    if posts is None or posts.height == 0 or "reach" not in posts.columns:
        return None
    local = posts.with_columns(pl.col("published_at").dt.convert_time_zone(result.period.tz).alias("local"))
    local = local.filter(pl.col("local").dt.date().is_between(since, result.period.end) & scope.record_filter())
    return local if local.height else None


def _rates(posts: "pl.DataFrame", by: list) -> "pl.DataFrame":
    """ERR of ``posts`` per group: (likes + comments + shares + saves) / reach x 100 as a ratio of
    the group's sums over the posts that report a reach (the formula of the
    ``engagement_rate_by_reach`` metric), and those posts counted; no value for a group in which
    no post reports any of the counters, as the metric."""
    import polars as pl

    from cmflow import ratio
    from cmflow.builtin.metrics.common import ENGAGEMENT_COUNTERS, counters_reported, interactions

    posts = posts.filter(pl.col("reach") > 0)  # as the metric: a post without reach is in neither sum
    return (posts.with_columns(interactions(*ENGAGEMENT_COUNTERS).alias("_interactions"))
            .group_by(by).agg(pl.col("_interactions").sum(), pl.col("reach").sum(), pl.len().alias("posts"),
                              counters_reported(*ENGAGEMENT_COUNTERS).alias("_reported"))
            .with_columns(pl.when(pl.col("_reported") > 0)
                          .then(ratio(pl.col("_interactions"), pl.col("reach"))).alias("value"))
            .drop("_interactions", "reach", "_reported"))


def _posting_times(result: "RunResult", scope: ReportScope) -> list[PostingTime]:
    """ERR (ratio of the sums) of the scope's posts of the period by local weekday and hour of publication."""
    import polars as pl

    posts = _posts_of(result, scope, since=result.period.start)
    if posts is None:
        return []
    timed = posts.with_columns(pl.col("local").dt.weekday().alias("weekday"), pl.col("local").dt.hour().alias("hour"))
    grouped = _rates(timed, ["weekday", "hour"]).sort("weekday", "hour")
    return [PostingTime(row["weekday"] - 1, row["hour"], row["value"], row["posts"]) for row in grouped.iter_rows(named=True)]


def alert_lines(result: "RunResult", scope: ReportScope | None) -> list[AlertLine]:
    """The period's alerts on the scope's series (``scope`` None: every alert of the run); in a client's report, an alert about a
    campaign alone (a budget spent) too when the campaign is the client's (the one client whose
    records name it: :func:`~cmflow.foundation.clients.campaign_owners`)."""
    import functools

    from cmflow import campaign_key_of, campaign_owners

    polarity, units = result.workflow.polarity_of, result.workflow.measurement_names()
    owners = functools.cache(lambda: campaign_owners(result.records))

    def held(dimensions: dict[str, Any]) -> bool:
        if scope is None:  # every alert of the run (the agency's html_report page)
            return True
        if scope.holds(dimensions):
            return True
        if scope.client is None or dimensions.get("campaign") is None or any(
                dimensions.get(name) is not None for name in ("client", "account", "brand")):
            return False
        return owners().get(campaign_key_of(str(dimensions["campaign"])) or "") == scope.client.id

    lines = []
    for state, alerts in (("firing", result.alerts), ("pending", result.pending), ("resolved", result.resolved)):
        for alert in alerts:
            if not held(alert.dimensions):
                continue
            lines.append(AlertLine(alert.metric, alert.dimensions, alert.severity, alert.value,
                                   units.get(alert.metric, ""), state,
                                   alert.is_new, polarity(alert.metric), alert, result.workflow))
    return lines


def _judged_as_objective(line: AlertLine, objectives: list[Any]) -> bool:
    """Whether ``line`` is a target trigger's status (on track, at risk, off track: its details
    carry ``status`` and ``objective``) about a series whose objective the report already shows with
    its decision: the report speaks in decisions, and says the same off-track facts once."""
    details = line.alert.details if line.alert is not None else {}
    if details.get("status") is None or details.get("objective") is None:
        return False
    series = {name: value for name, value in line.dimensions.items() if value is not None}
    return any(o.verdict is not None and o.objective.metric == line.metric
               and {name: value for name, value in o.dimensions.items() if value is not None} == series
               for o in objectives)


def measurement_frame(result: "RunResult", scope: ReportScope) -> "pl.DataFrame | None":
    """The run's measurements of the scope (for the CSV and JSON data files)."""
    import polars as pl

    frame = result.measurements
    if frame is None:
        return None
    # A trend period that is also a comparison period (history-1 is the previous week) is
    # written once, under its comparison's name: a pivot on the dates must not count it twice.
    compared = {(p.start, p.end) for p in result.comparison_periods}
    repeated = [p.label for p in result.all_periods if p.label.startswith("history-") and (p.start, p.end) in compared]
    frame = frame.filter(~pl.col("period").is_in(repeated))
    return frame.filter(scope.measurement_filter(frame.columns)) if scope.client is not None else frame
