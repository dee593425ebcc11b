"""The base classes a plugin subclasses: one per plugin kind.

A plugin is a class with a ``name``, a one-line ``description``, an ``Options`` pydantic model
(which *is* the documentation of its TOML table) and the one method of its kind. cmflow
instantiates it once per workflow entry with the validated options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cmflow.foundation.durations import PositiveDuration
from cmflow.foundation.polarity import Polarity

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

    from cmflow.foundation.alerts import Alert
    from cmflow.plugins.credentials import CredentialCheck
    from cmflow.plugins.context import DeliveryContext, FetchContext, MetricInput, TriggerInput
    from cmflow.plugins.notifications import Message, NotificationBatch, SendContext
    from cmflow.foundation.records import RecordTable
    from cmflow.plugins.result import RunResult


class PluginOptions(BaseModel):
    """Base of every plugin's options: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid")

    key_omits_default: ClassVar[frozenset[str]] = frozenset()
    """Options added after an incremental source first kept records: at their default, they are
    left out of the source's key, so that upgrading keeps its cursor and stored records (a key
    digests the options: see :func:`cmflow.stages.incremental.source_key`). List every option
    added to an incremental source here."""


class Plugin:
    """What every plugin kind has in common."""

    kind: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[PluginOptions]] = PluginOptions
    sample_options: ClassVar[dict[str, Any]] = {}
    """Options the generated sample TOML block sets (uncommented), so that it works as written
    where no single option is required (e.g. a threshold needs `above` or `below`)."""

    def __init__(self, options: PluginOptions, *, entry_id: str) -> None:
        self.options = options
        self.entry_id = entry_id
        """The workflow entry's id (sources) or a generated one (``metrics[2]``)."""

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        """Extra checks against the whole workflow, run at validation.

        Return problems as text, or as (option name, text) to point at one option.
        """
        return []


class Source(Plugin):
    """Fetches records (posts, account snapshots, mentions ...) for a time window."""

    kind = "source"
    record_kinds: ClassVar[tuple[str, ...]] = ("post",)
    """Record kinds this source can produce; override :meth:`produces` when options decide."""
    per_account_option: ClassVar[str | None] = None
    """The option listing the accounts (pages, feeds) the source reads, if any. cmflow then
    fetches each account as a part of its own (:meth:`parts`): one account failing leaves the
    others' records, and each account keeps its own cursor."""
    incremental: ClassVar[bool] = False
    """True for sources that call an API: cmflow then keeps their records in the store, fetches
    only what it does not have (plus a look-back window, as counters keep growing) and fills
    the rest of the window from the store. False for files, which are read whole each run."""
    reads_platform: ClassVar[str | None] = None
    """The platform whose data this source reads, when it reads one only (an API's: the
    ``facebook_page`` source reads Facebook's); what an incomplete report names when it fails."""
    lags_behind: ClassVar[timedelta] = timedelta(0)
    """How far behind now the platform can be asked (X refuses an ``end_time`` less than 10 s
    ago): an incremental fetch's cursor ends there, so the next run asks for those seconds."""
    shows_latest_only: ClassVar[frozenset[str]] = frozenset()
    """The record kinds of which the platform shows only its latest items (a feed, a search, X's
    800 latest mentions). An incremental fetch keeps what the store holds of these over the whole
    window: the platform no longer gives what it gave before. Of the other kinds, what the
    source was asked again replaces the store: a post deleted on the platform leaves the figures,
    a renamed account is counted once."""
    window_only: ClassVar[bool] = False
    """True for sources that hand over only the fetch window's records (an API asked for those
    days: Toggl, Clockify); False for those that hand over all they read (a file, read whole).
    A metric counting "to date" (``budget_consumed``) then needs a start of its own."""

    def produces(self) -> set[str]:
        """The record kinds this configured source will hand over."""
        return set(self.record_kinds)

    def accounts(self) -> frozenset[str] | None:
        """The accounts whose records this configured source reads, when its options say so
        before anything is read (an export of one account); None when they are not known. A
        client's report is incomplete only when a source of its accounts, or of unknown ones,
        failed."""
        return None

    def platforms(self) -> frozenset[str] | None:
        """The platforms whose data this configured source reads, when its class or options say
        so before anything is read (``reads_platform``; an export with ``platform`` as a constant);
        None when not known. A report missing this source's data names them to its reader."""
        return frozenset({self.reads_platform}) if self.reads_platform else None

    def reaches_back(self) -> timedelta | None:
        """How far before now the platform returns this configured source's records (X's recent
        search: 7 days); None when it returns any window asked for (the default). An incremental
        fetch never asks for older records: the store gives those it kept, and the run warns of the
        days nobody fetched in time. A source whose kinds of records reach back differently splits
        into :meth:`parts` that each reach back one way."""
        return None

    def fetch(self, ctx: "FetchContext") -> Iterable["RecordTable"]:
        """Return or yield :class:`cmflow.RecordTable` objects covering ``ctx.window``."""
        raise NotImplementedError

    def parts(self) -> list["Source"]:
        """This source split by account (``per_account_option``), each part fetched on its own;
        ``[self]`` for one account. Override to keep together what cannot be split."""
        name = self.per_account_option
        values = getattr(self.options, name, None) if name else None
        if not values or len(values) < 2:
            return [self]
        return [type(self)(self.options.model_copy(update={name: [value], **self.part_options(index)}),
                           entry_id=self.entry_id)
                for index, value in enumerate(values)]

    def part_options(self, index: int) -> dict[str, Any]:
        """Options of part ``index`` besides its account: what a token fetches once for all its
        accounts (its mentions, say) goes to the first part only. Default: none."""
        return {}

    def check_credentials(self, ctx: "FetchContext") -> list["CredentialCheck"]:
        """What ``cmflow doctor`` shows for this source: one :class:`cmflow.CredentialCheck`
        per token, account or file (valid, scopes, expiry, rate budget left, what to do), from a
        few cheap requests through ``ctx.http``. Default: one row saying there is nothing to check."""
        from cmflow.plugins.credentials import not_checked

        return [not_checked(self)]


class Classifier(Plugin):
    """Labels texts (mentions, comments, post captions) with a sentiment, its score and a language.

    The classify stage hands it the texts of the records a ``[[classifiers]]`` entry names that
    have no sentiment yet; ``cmflow classify`` hands it a CSV file's column. Options often name a
    model file (:class:`cmflow.InputPath`) and the languages to expect.
    """

    kind = "classifier"

    def prepare(self, directory: "Path") -> None:
        """Called once before the first :meth:`classify`, with the folder relative paths are read
        from (the workflow file's; the current one for ``cmflow classify``): load a model here.
        Raise :class:`cmflow.UserFacingError` saying what is wrong with a model file. Default:
        nothing to load."""

    def classify(self, texts: "pl.Series", languages: "pl.Series | None") -> "pl.DataFrame":
        """Label each text, in order.

        :param texts: the texts to label (String, none null or blank: records without a text
            are not handed over).
        :param languages: the language each text is known to be in (ISO 639-1, ``fr``, ``en``;
            null where not known), or None when nothing is known: detect it.
        :returns: a frame of ``texts.len()`` rows with the columns ``sentiment`` (``negative``,
            ``neutral``, ``positive``, or null where the text cannot be labelled), ``score``
            (Float64 in [-1, 1], negative to positive, or null) and ``language`` (the language
            the text was read in, or null). cmflow refuses any other shape, naming the classifier.
        """
        raise NotImplementedError


class Metric(Plugin):
    """Turns records into measurements, as vectorised Polars expressions."""

    kind = "metric"
    needs: ClassVar[tuple[str, ...]] = ("post",)
    """Record kinds the metric reads; validation checks its sources provide them."""
    needs_any: ClassVar[tuple[str, ...]] = ()
    """Record kinds of which the metric reads whichever its sources provide, at least one
    (``("post", "account_activity")``: posts, or the daily activity of accounts without a post
    list); validation checks one of them is provided."""
    groupings: ClassVar[tuple[str, ...]] = ("overall", "client", "platform", "account", "format", "pillar", "campaign")
    """Breakdowns (values of ``by``) the metric supports."""
    default_by: ClassVar[tuple[str, ...]] = ("overall", "account")
    """Breakdowns computed when the ``[[metrics]]`` entry gives no ``by``, less those the metric
    does not support (:func:`default_breakdowns`: mentions have no account, so a listening metric
    breaks down by ``overall`` alone); set it where the metric has a default of its own (time
    entries have no account: their metrics break down by campaign ...)."""
    needs_production: ClassVar[tuple[str, ...]] = ()
    """Keys of the workflow's ``[production]`` section the metric cannot do without
    (``("budgets",)``): validation refuses a workflow that leaves one empty."""
    row_dimensions: ClassVar[tuple[str, ...]] = ()
    """Dimension columns every row holds whatever ``by`` says (top_posts: each row is a post);
    a trigger's ``where`` may select on them besides the breakdowns. With ``client`` among them,
    each row is one record labelled with its own client (none for an account no client lists):
    the metric is computed once, never again per client, so no record is listed twice."""

    reads_sentiment: ClassVar[bool] = False
    """True for metrics that read the records' ``sentiment`` (what a classifier fills): when a
    classifier labelling the kinds they read fails, their figures are not trusted this run."""

    default_polarity: ClassVar[Polarity] = "neutral"
    """Whether its measurements are better higher (``up``), lower (``down``) or neither
    (``neutral``, the default: a metric that says nothing is not coloured)."""
    measurement_polarities: ClassVar[Mapping[str, Polarity]] = {}
    """Polarity of the measurements that differ from :attr:`default_polarity`, by name
    (``{"followers_lost": "down"}``)."""

    def polarity(self, measurement: str) -> Polarity:
        """Whether ``measurement`` (one of :meth:`produces`) is better higher (``up``), lower
        (``down``) or neither (``neutral``): reports colour and word changes by it, objectives
        read it to know which side of a target is the right one."""
        return self.measurement_polarities.get(measurement, self.default_polarity)

    def needed_records(self) -> list[tuple[str, ...]]:
        """Record kinds this configured metric reads, as groups of alternatives: its sources must
        provide at least one kind of each group. Default: each of :attr:`needs`, then
        :attr:`needs_any` as one group; override when an option narrows them."""
        return [(kind,) for kind in self.needs] + ([tuple(self.needs_any)] if self.needs_any else [])

    def lookback(self) -> timedelta:
        """How long before the run's earliest period this configured metric reads records
        (``data.all_records``): the fetch window starts that far back (at least one day, for
        baselines). Default: none; a backlog of unanswered messages needs days."""
        return timedelta(0)

    def lookahead(self) -> timedelta:
        """How long after the run's latest period this configured metric reads records
        (``data.all_records``): the fetch window ends that far later, so that sources of
        dated plans (calendars) hand over what is planned next. Default: none."""
        return timedelta(0)

    def source_problems(self, sources: Mapping[str, "Source"]) -> list[tuple[str, str]]:
        """What is wrong with reading these configured sources (by entry id) with this configured
        metric, as (problem, what to do) pairs that validation reports on the metric's entry.
        Default: nothing (validation already checks the sources provide :attr:`needs`)."""
        return []

    def produces(self) -> dict[str, str]:
        """Measurement names this configured metric emits, each with its unit."""
        return {self.name: getattr(self, "unit", "")}

    def compute(self, data: "MetricInput") -> "pl.DataFrame":
        """Return a measurement frame (see :mod:`cmflow.foundation.measurements`) for every period."""
        raise NotImplementedError


def default_breakdowns(metric: "Metric | type[Metric]") -> list[str]:
    """The ``by`` of a ``[[metrics]]`` entry that gives none: the metric's :attr:`~Metric.default_by`
    less the breakdowns it does not support (a metric's class, or a configured metric, whose
    groupings may follow its options); its first grouping when none is left."""
    return [b for b in metric.default_by if b in metric.groupings] or list(metric.groupings[:1])


class Trigger(Plugin):
    """Turns measurements into alerts."""

    kind = "trigger"

    history_periods: ClassVar[int] = 0
    """How many periods before the current one the trigger reads (``data.history``): cmflow
    measures them too, from the sources' records and the store. Override :meth:`history_needed`
    when options decide (e.g. an anomaly baseline of 8 weeks of days)."""

    def history_needed(self) -> int:
        """Number of periods before the current one this configured trigger needs."""
        return self.history_periods

    def evaluate(self, data: "TriggerInput") -> list["Alert"]:
        """Return the alerts whose condition holds now.

        cmflow runs the lifecycle (pending, firing, resolved, reminders) from what is returned
        at each run; a trigger only says whether the condition holds, series by series.
        """
        raise NotImplementedError


class Output(Plugin):
    """Delivers a run's result: the terminal, a file, a message."""

    kind = "output"
    delivers_externally: ClassVar[bool] = True
    """False for outputs with no side effect beyond the terminal: they still run in --dry-run."""
    default_when: ClassVar[str] = "always"
    """When the output runs if the workflow entry sets no ``when``."""

    def history_needed(self) -> int:
        """Number of periods before the current one this configured output shows (a report's
        trend charts): cmflow measures them too, as it does a trigger's history."""
        return 0

    def deliver(self, result: "RunResult", ctx: "DeliveryContext") -> str | None:
        """Deliver the result; return a short note for the run summary (e.g. the file written)."""
        raise NotImplementedError


class NotifierOptions(PluginOptions):
    """Options every notifier output has, besides its own."""

    group_by: list[str] = Field(
        default_factory=lambda: ["workflow"],
        description="Alerts of one run that share these labels go out as one message: workflow, "
        "rule, severity, metric, or a dimension (platform, account, format, pillar, campaign).",
        examples=[["workflow", "severity"]])
    send_resolved: bool = Field(
        True, description="Also send a message when an alert resolves (once per alert).")
    max_age: PositiveDuration = Field(
        timedelta(hours=24), description="Keep retrying a message that could not be sent for this "
        "long (e.g. \"30m\", \"24h\", \"2d\"), then move it to the dead-letter list "
        "(`cmflow outbox`).", examples=["6h"])

    @field_validator("group_by")
    @classmethod
    def _known_labels(cls, value: list[str]) -> list[str]:
        from cmflow.foundation.measurements import DIMENSIONS
        from cmflow.plugins.notifications import GROUP_LABELS
        from cmflow.foundation.names import closest

        labels = ["workflow", *GROUP_LABELS, *DIMENSIONS]
        for name in value:
            if name not in labels:  # every alert would have "" there: one group, silently
                suggestion = closest(name, labels)
                raise ValueError(f"alerts have no label {name!r}; " + (
                    f"did you mean {suggestion!r}?" if suggestion else f"labels: {', '.join(labels)}"))
        return value


class Notifier(Output):
    """An output that sends messages (email, chat, webhook) through the durable outbox.

    It does not deliver itself: cmflow asks it to :meth:`compose` one message per group of
    alert events, keeps the messages in the store's outbox in the same transaction as the alert
    state, then calls :meth:`send` for each until the receiver acknowledges (retrying the ones
    that failed on a later run, or from ``cmflow outbox``). Options subclass
    :class:`cmflow.NotifierOptions` (``group_by``, ``send_resolved``, ``max_age``).
    """

    Options: ClassVar[type[PluginOptions]] = NotifierOptions
    default_when: ClassVar[str] = "change"
    """Notifiers speak when an alert event is due, unless the workflow says ``when``."""
    closes_superseded: ClassVar[bool] = False
    """True for a notifier that keeps an item per alert (a card, a task): it is also handed a
    ``resolved`` event for each alert resolved without a word (:attr:`cmflow.Alert.superseded`),
    to close that alert's item the way a resolution does. Other notifiers announce nothing of them."""

    def compose(self, batch: "NotificationBatch", ctx: "DeliveryContext") -> "Message | list[Message]":
        """Render one group's notifications (and the run, for reports) into a :class:`cmflow.Message`,
        or into several (one per client of a report e-mail), each with its own ``key`` derived
        from ``batch.key``."""
        raise NotImplementedError

    def send(self, message: "Message", ctx: "SendContext") -> str | None:
        """Hand the message to the receiver; return a short note (e.g. the receiver's id for it).

        Raise :class:`cmflow.DeliveryFailed` (``retryable`` or not) when it was not taken.
        """
        raise NotImplementedError

    def lane(self) -> tuple[str, int]:
        """Which receiver the messages go to, and how many may be sent to it at once.

        Messages of one lane start oldest first, at most that many together; lanes are sent in
        parallel. Default: this output's own lane, one message at a time.
        """
        return f"{self.name}:{id(self)}", 1

    def deliver(self, result: "RunResult", ctx: "DeliveryContext") -> str | None:
        raise TypeError(f"{self.name} is a notifier: cmflow composes and sends its messages "
                        "through the outbox; call compose() and send()")


BASE_CLASS_OF_KIND: dict[str, type[Plugin]] = {
    "source": Source,
    "classifier": Classifier,
    "metric": Metric,
    "trigger": Trigger,
    "output": Output,
}
"""The base class of each plugin kind. (A plugin kind, not a record kind: the kinds of records
sources make, ``post``, ``account_snapshot`` ..., are ``cmflow.RECORD_KINDS``.)"""
