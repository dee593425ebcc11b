"""Canonical record kinds: the typed shapes every source normalises platform data into.

Sources map platform field names (Instagram ``saved``, X ``retweet_count``, LinkedIn ``shareCount``)
to these canonical columns, so that every metric works on every platform. Records travel through
a run as columns (one Polars frame per kind), never as one Python object per post.

A counter a platform does not report is *missing* (null), not zero: metrics say "no value" rather
than compute a misleading 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping

if TYPE_CHECKING:  # polars is imported lazily: validating a workflow must stay fast.
    import polars as pl

FieldType = Literal["str", "int", "float", "datetime", "date"]


@dataclass(frozen=True)
class Field:
    """One canonical column of a record kind."""

    name: str
    type: FieldType
    description: str
    required: bool = False


@dataclass(frozen=True)
class RecordKind:
    """A kind of record (post, account snapshot ...) and its canonical columns."""

    name: str
    description: str
    fields: tuple[Field, ...]
    time_field: str
    """The column that places a record in a reporting period."""
    identity: tuple[str, ...] = ()
    """The columns that tell one record from another: fetched again, a record replaces its older
    copy (the newest counters win). Empty: the whole row."""
    nouns: tuple[str, str] = ("", "")
    """What one record and several are called in counts (``("post", "posts")``); empty: the
    kind's name followed by ``record``/``records``."""
    not_selected_by_where: tuple[str, ...] = ()
    """Fields a metric's ``where`` does not select this kind's records by (a time entry's
    platform: ``where = { platform = [...] }`` picks posts and traffic, and a metric's cost stays
    that of all the time, as before entries had a platform; ``by = ["platform"]`` splits it)."""

    def counted(self, count: int) -> str:
        """``count`` records of this kind, in words: ``1 post``, ``15 daily activity records``."""
        one, many = self.nouns if self.nouns[0] else (f"{self.name} record", f"{self.name} records")
        return f"{count} {one if count == 1 else many}"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def polars_schema(self) -> dict[str, Any]:
        import polars as pl

        dtypes = {
            "str": pl.String,
            "int": pl.Int64,
            "float": pl.Float64,
            "datetime": pl.Datetime("us", "UTC"),
            "date": pl.Date,
        }
        return {f.name: dtypes[f.type] for f in self.fields}


def _f(name: str, type_: FieldType, description: str, required: bool = False) -> Field:
    return Field(name, type_, description, required)


_PLATFORM = _f("platform", "str", "Platform, lower case: instagram, facebook, linkedin ...", True)
_ACCOUNT = _f("account", "str", "Account handle or id on that platform.", True)
_SENTIMENT = _f("sentiment", "str", "positive, neutral or negative, as a monitoring tool's export or a "
                "classifier says; empty when not classified.")

POST = RecordKind(
    "post",
    "A published post with its counters at fetch time.",
    (
        _PLATFORM,
        _ACCOUNT,
        _f("post_id", "str", "The platform's id of the post.", True),
        _f("published_at", "datetime", "Publication instant (stored in UTC).", True),
        _f("format", "str", "image, video, reel, carousel, text, link or story."),
        _f("text", "str", "Caption or body text (untrusted: escaped wherever rendered)."),
        _f("url", "str", "Permalink."),
        _f("thumbnail_url", "str", "An image of the post as the platform gives it (a photo, a video's "
           "cover); reports show it beside the post, fetched when the report is written."),
        _f("likes", "int", "Likes / reactions."),
        _f("comments", "int", "Comments."),
        _f("shares", "int", "Shares, reposts, retweets."),
        _f("saves", "int", "Saves / bookmarks (Instagram `saved`)."),
        _f("reach", "int", "Unique accounts reached."),
        _f("impressions", "int", "Times shown (Meta now calls this `views`)."),
        _f("clicks", "int", "Link or post clicks."),
        _f("video_views", "int", "Video plays, where reported separately."),
        _f("pillar", "str", "Editorial pillar the post belongs to."),
        _f("campaign", "str", "Campaign tag."),
        _f("link", "str", "The link the post sends to (a link post's target, a story's link), with "
           "its UTM tags; links written in the text are read from ``text``."),
    ),
    time_field="published_at",
    identity=("platform", "account", "post_id"),
    nouns=("post", "posts"),
)

ACCOUNT_SNAPSHOT = RecordKind(
    "account_snapshot",
    "An account's audience figures on one day.",
    (
        _PLATFORM,
        _ACCOUNT,
        _f("date", "date", "The day the figures describe (account's local date).", True),
        _f("followers", "int", "Followers at the end of that day."),
        _f("reach", "int", "Accounts reached that day."),
        _f("impressions", "int", "Impressions / views that day."),
        _f("profile_views", "int", "Profile visits that day."),
        _f("website_clicks", "int", "Clicks on the profile's website link that day."),
    ),
    time_field="date",
    identity=("platform", "account", "date"),
    nouns=("account snapshot", "account snapshots"),
)

ACCOUNT_ACTIVITY = RecordKind(
    "account_activity",
    "What happened on an account in one day, all its posts together (TikTok Studio's overview, "
    "LinkedIn's Metrics and New followers sheets): counts of that day, including interactions "
    "with older posts. Not a post: posts published is no value for it.",
    (
        _PLATFORM,
        _ACCOUNT,
        _f("date", "date", "The day the figures describe (account's local date).", True),
        _f("impressions", "int", "Times content was shown or viewed that day (TikTok `Video Views`, "
           "LinkedIn `Impressions (total)`)."),
        _f("reach", "int", "Unique accounts reached that day."),
        _f("profile_views", "int", "Profile visits that day."),
        _f("likes", "int", "Likes / reactions that day."),
        _f("comments", "int", "Comments that day."),
        _f("shares", "int", "Shares / reposts that day."),
        _f("saves", "int", "Saves that day."),
        _f("clicks", "int", "Clicks that day."),
        _f("video_views", "int", "Video plays that day, where reported separately."),
        _f("followers_gained", "int", "New followers that day (gross: unfollows not deducted). "
           "Not the audience size."),
        _f("followers_lost", "int", "Unfollows that day."),
        _f("posts_listed", "int", "1 when the export this day comes from also holds the account's list of "
           "posts, even an empty one (LinkedIn's content workbook with its `All posts` sheet): the account "
           "is counted from its posts, and a period without any is 0 posts published, not \"no post list\". "
           "Not a count."),
    ),
    time_field="date",
    identity=("platform", "account", "date"),
    nouns=("daily activity record", "daily activity records"),
)

MENTION = RecordKind(
    "mention",
    "A public mention of a brand found by monitoring (veille).",
    (
        _PLATFORM,
        _f("mention_id", "str", "Id of the mention on its platform.", True),
        _f("published_at", "datetime", "Publication instant (UTC).", True),
        _f("author", "str", "Author handle."),
        _f("text", "str", "Text of the mention (untrusted)."),
        _f("url", "str", "Link to the mention."),
        _f("reach", "int", "Estimated audience."),
        _f("likes", "int", "Likes / reactions the mention received, where the source gives them."),
        _f("comments", "int", "Replies to the mention, where the source gives them."),
        _f("shares", "int", "Reposts, retweets, boosts of the mention, where the source gives them."),
        _f("language", "str", "ISO 639-1 language code."),
        _SENTIMENT,
    ),
    time_field="published_at",
    identity=("platform", "mention_id"),
    nouns=("mention", "mentions"),
)

CONVERSATION = RecordKind(
    "conversation",
    "A message or comment received, and when it was answered (response-time SLAs).",
    (
        _PLATFORM,
        _ACCOUNT,
        _f("message_id", "str", "Id of the message or comment.", True),
        _f("received_at", "datetime", "When it arrived (UTC).", True),
        _f("replied_at", "datetime", "When the brand answered (UTC); empty if unanswered."),
        _f("author", "str", "Author handle."),
        _f("text", "str", "Message text (untrusted)."),
        _f("post_id", "str", "Post the comment belongs to, if any."),
        _f("url", "str", "Link to the message or comment (http or https), or to the post it is under where "
           "the platform gives comments no link of their own; empty where there is none (direct messages)."),
        _SENTIMENT,
    ),
    time_field="received_at",
    identity=("platform", "account", "message_id"),
    nouns=("conversation", "conversations"),
)

CALENDAR_ITEM = RecordKind(
    "calendar_item",
    "An entry of the editorial calendar: a content planned for a platform at a time.",
    (
        _f("item_id", "str", "Id of the calendar entry in its tool (card, task, page, row).", True),
        _f("planned_at", "datetime", "Planned publication instant (UTC).", True),
        _f("title", "str", "What the content is, as the calendar names it (untrusted)."),
        _f("platform", "str", "Target platform, lower case like a post's."),
        _f("account", "str", "Target account."),
        _f("format", "str", "Planned format: image, video, reel, carousel, text, link or story."),
        _f("pillar", "str", "Editorial pillar."),
        _f("campaign", "str", "Campaign the content belongs to."),
        _f("status", "str", "Where the content stands, lower case: idea, approved, scheduled, "
           "published, cancelled ... (the tool's own words)."),
        _f("owner", "str", "Person responsible for the content."),
        _f("post_id", "str", "Id of the published post, once known."),
        _f("url", "str", "The planned link or the published post's permalink, once known."),
        _f("updated_at", "datetime", "When the entry last changed in its tool (UTC)."),
    ),
    time_field="planned_at",
    identity=("item_id",),
    nouns=("calendar item", "calendar items"),
)

TIME_ENTRY = RecordKind(
    "time_entry",
    "Production time spent on a task, from a time tracker (Toggl Track, Clockify) or a sheet.",
    (
        _f("date", "date", "Day the time was spent (the tracker's local day).", True),
        _f("hours", "float", "Hours spent, from whatever form the tracker wrote (02:30:00, 2.5, 2h30).", True),
        _f("entry_id", "str", "Id of the entry in its tracker (an export may have none: two equal rows "
           "are then one entry)."),
        _f("started_at", "datetime", "When the work started (UTC)."),
        _f("task", "str", "Task description (untrusted)."),
        _f("task_type", "str", "Kind of task: blog article, short video, visual, moderation ..."),
        _f("person", "str", "Who spent the time."),
        _f("campaign", "str", "Campaign the time belongs to."),
        _f("client", "str", "Client the time belongs to: the id of a [[clients]] entry, or the tracker's "
           "client name."),
        _f("account", "str", "Account the time belongs to."),
        _f("platform", "str", "The platform the time was spent for, when the tracker says so (a tag, a "
           "project or a task naming it: IG, Instagram, LinkedIn ...), in lower case; empty otherwise."),
        _f("cost", "float", "Cost of that time when the tracker gives it; else the workflow's rates "
           "price it."),
        _f("currency", "str", "Currency of cost as the tracker writes it (EUR, USD): a cost in another "
           "currency than [production]'s is never added to the others."),
    ),
    time_field="date",
    nouns=("time entry", "time entries"),
    not_selected_by_where=("platform",),
)

TRAFFIC = RecordKind(
    "traffic",
    "Web analytics by UTM source, medium and campaign for one day.",
    (
        _f("date", "date", "Day of the figures.", True),
        _f("platform", "str", "The social platform the visits came from, read from utm_source (ig, "
           "instagram.com and Instagram are instagram); empty for any other source."),
        _f("source", "str", "utm_source."),
        _f("medium", "str", "utm_medium."),
        _f("campaign", "str", "utm_campaign."),
        _f("content", "str", "utm_content, where the export breaks it down."),
        _f("sessions", "int", "Sessions (visitors)."),
        _f("users", "int", "Users."),
        _f("conversions", "int", "Conversions (GA4 key events)."),
        _f("revenue", "float", "Revenue."),
        _f("currency", "str", "Currency of revenue as the file writes it (EUR, or $ for a dollar): revenue "
           "in another currency than [production]'s is never added to the others."),
    ),
    time_field="date",
    identity=("date", "source", "medium", "campaign", "content"),
    nouns=("traffic record", "traffic records"),
)

RECORD_KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (POST, ACCOUNT_SNAPSHOT, ACCOUNT_ACTIVITY, MENTION, CONVERSATION, CALENDAR_ITEM, TIME_ENTRY, TRAFFIC)
}

POST_FORMATS: tuple[str, ...] = ("image", "video", "reel", "carousel", "text", "link", "story")
"""Canonical values of a post's ``format``."""

COUNTERS: tuple[str, ...] = (
    "likes", "comments", "shares", "saves", "reach", "impressions", "clicks", "video_views",
)
"""The post counters that metrics can total and rank by."""

TEXT_RECORD_KINDS: tuple[str, ...] = ("mention", "conversation", "post")
"""The record kinds whose ``text`` a classifier labels (a post's is its caption)."""

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
"""The values of a record's ``sentiment``, as classifiers give them and metrics count them."""

CLASSIFICATION_COLUMNS: tuple[str, ...] = ("sentiment", "sentiment_score", "language")
"""The columns the classify stage fills on records of :data:`TEXT_RECORD_KINDS` (and adds where
a kind has none): the sentiment, its score in [-1, 1] (negative to positive; empty when the
sentiment came from an export) and the text's language."""

ACTIVITY_COUNTERS: tuple[str, ...] = (
    "impressions", "reach", "profile_views", "likes", "comments", "shares", "saves", "clicks",
    "video_views", "followers_gained", "followers_lost",
)
"""The daily account-activity counters (``account_activity`` records)."""


CONTROL_CHARACTERS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
"""Characters removed from every text field of a record (all C0/C1 controls but tab and newline)."""


class RecordSchemaError(ValueError):
    """Records handed over by a source do not fit their kind's canonical columns."""


@dataclass
class RecordTable:
    """Records of one kind, as a Polars frame with the kind's canonical columns.

    Sources return these. Build one from a frame (``RecordTable("post", frame)``) or from
    rows (``RecordTable.from_rows("post", [{"platform": ...}, ...])``).
    """

    kind: str
    frame: "pl.DataFrame"

    @classmethod
    def from_rows(cls, kind: str, rows: Iterable[Mapping[str, Any]]) -> "RecordTable":
        import polars as pl

        record_kind = RECORD_KINDS[kind]
        frame = pl.DataFrame(list(rows), schema=record_kind.polars_schema(), strict=False)
        return cls(kind, frame)

    def conformed(self, clean_text: bool = True) -> "pl.DataFrame":
        """The frame with exactly the canonical columns, in order, with canonical types (see
        :func:`conform`)."""
        return conform(RECORD_KINDS[self.kind], self.frame, clean_text)


def unique_records(kind_name: str, frame: "pl.DataFrame", keep: Literal["first", "last"]) -> "pl.DataFrame":
    """One row per record of ``frame`` (told apart by the kind's ``identity``, else by the whole
    row), keeping the ``first`` or the ``last`` copy, in order."""
    subset = list(RECORD_KINDS[kind_name].identity) or None
    return frame.unique(subset=subset, keep=keep, maintain_order=True)


def merged_records(kind_name: str, frame: "pl.DataFrame") -> "pl.DataFrame":
    """One row per record of ``frame`` (told apart by the kind's ``identity``): the copies of a
    record become one row, each cell taken from the first copy, in ``frame``'s order, that has it
    filled, so copies holding different columns (LinkedIn's Metrics and New followers sheets of
    one day) keep both. Records with one copy pass as they are, first; the merged ones follow,
    in the order of their first copy. A kind without identity is returned as it is."""
    import polars as pl

    identity = list(RECORD_KINDS[kind_name].identity)
    if not identity or frame.height < 2:
        return frame
    repeated = frame.select(pl.struct(identity).is_duplicated()).to_series()
    if not repeated.any():
        return frame
    return pl.concat([frame.filter(~repeated), merged_copies(frame.filter(repeated), identity)],
                     how="vertical_relaxed")


def merged_copies(frame: "pl.DataFrame", by: list[str], *,
                  otherwise: "Mapping[str, pl.Expr] | None" = None) -> "pl.DataFrame":
    """One row per group of ``by`` in the order of each group's first row, ``frame``'s columns:
    each cell from the group's first row that has it filled; ``otherwise`` aggregates the
    columns it names its own way (a list of every copy's values ...)."""
    import polars as pl

    otherwise = otherwise or {}
    return (frame.group_by(by, maintain_order=True)
            .agg(*[otherwise.get(c, pl.col(c).drop_nulls().first()) for c in frame.columns if c not in by])
            .select(frame.columns))


def empty_frame(kind: RecordKind) -> "pl.DataFrame":
    import polars as pl

    return pl.DataFrame(schema=kind.polars_schema())


def conform(kind: RecordKind, frame: "pl.DataFrame", clean_text: bool = True) -> "pl.DataFrame":
    """Cast a frame to a kind's canonical schema: missing optional columns become null. Control
    characters are removed from text unless ``clean_text`` is False (for a source's own step
    before the fetch stage conforms its records again: a copy of every text column saved)."""
    import polars as pl

    missing = [f.name for f in kind.fields if f.required and f.name not in frame.columns]
    if missing:
        raise RecordSchemaError(f"{kind.name} records lack required column(s): {', '.join(missing)}")
    columns = []
    for name, dtype in kind.polars_schema().items():
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        column = pl.col(name)
        current = frame.schema[name]
        if isinstance(dtype, pl.Datetime) and isinstance(current, pl.Datetime):
            column = column.dt.replace_time_zone("UTC") if current.time_zone is None else column.dt.convert_time_zone("UTC")
            column = column.dt.cast_time_unit("us")
        else:
            column = column.cast(dtype)
            if dtype == pl.String and clean_text:
                # Text from the public may carry terminal escapes (ESC [2J ...): keep tab and
                # newline, drop every other control character before anything prints it.
                column = column.str.replace_all(CONTROL_CHARACTERS, "")
        columns.append(column.alias(name))
    return frame.select(columns)
