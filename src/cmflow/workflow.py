"""Workflow files: load the TOML, validate everything, and build the plugin instances.

Validation reports every problem at once, each with the file, the TOML key path and, for an
unknown name, the closest known one. Nothing is fetched or delivered unless the whole workflow
is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from cmflow.foundation import periods, schedules
from cmflow.foundation.clients import LANGUAGES, Client
from cmflow.foundation.listening import Listen, WatchedBrand, account_key
from cmflow.foundation.email_addresses import EmailAddress
from cmflow.foundation.objectives import GOALS, Ladder, Objective
from cmflow.foundation.production import Production
from cmflow.foundation.polarity import POLARITIES, Polarity
from cmflow.foundation.durations import Duration, PositiveDuration
from cmflow.foundation.errors import Problem, WorkflowInvalid
from cmflow.plugins.kinds import Plugin, default_breakdowns
from cmflow.foundation.measurements import DIMENSIONS, GROUPINGS, grouping_columns
from cmflow.plugins.entries import ENTRY_MODELS, ID_PATTERN, SECTION_OF_KIND, SourceEntry, WhereTable, entry_keys
from cmflow.plugins.option_errors import InvalidOption, explain, key_path
from cmflow.plugins.option_types import HexColour, Number, WholeNumber
from cmflow.foundation.names import closest
from cmflow.plugins.registry import PluginInfo, PluginNotLoaded, PluginRegistry, UnknownPlugin, get_registry
from cmflow.foundation.env_files import load_dotenv_beside
from cmflow.foundation.where_filters import dimension_where_problems, record_where_problems, values_of
from cmflow.foundation.secrets import interpolate, paths_of_urls_with_credentials, redactor
from cmflow.foundation.text_files import read_toml

TOP_LEVEL_KEYS = ("workflow", "store", "clients", "listen", "production", *SECTION_OF_KIND.values(), "objectives")
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
DAEMON_WORKFLOW_ID = "cmflow-daemon"
"""Reserved: the daemon keeps its health alerts and their runs under this key."""


class WorkflowSettings(BaseModel):
    """The ``[workflow]`` table."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Name shown in the terminal, reports and messages.",
                      examples=["Weekly social KPIs"])
    id: str | None = Field(
        None, pattern=ID_PATTERN, description="Key of this workflow's run history, measurements and "
        "alert state in the store. Default: the name. Workflows sharing a store need distinct ids.",
        examples=["client-a-weekly"])
    description: str = Field("", description="What this workflow is for.")
    timezone: str = Field("UTC", description="IANA time zone the periods are counted in.",
                          examples=["Europe/Paris"])
    period: str = Field("last_week", description=f"Reporting period: {periods.PERIOD_HELP}.",
                        examples=["last_week", "last_month", "28d"])
    compare: list[Literal["previous_period", "same_period_last_year"]] = Field(
        default_factory=lambda: ["previous_period"],
        description="Periods every measurement is compared with.",
    )

    schedule: Union[str, list[str], None] = Field(
        None, description="When the daemon runs it: 'every monday at 09:00' or a cron expression.",
        examples=["every monday at 09:00"],
    )
    catch_up: Literal["skip", "latest", "all"] = Field(
        "latest", description="What the daemon runs of the slots it missed while down: skip (none), "
        "latest (the most recent) or all (each, oldest first, up to catch_up_cap). See docs/schedules.md.",
    )
    catch_up_grace: Optional[Duration] = Field(
        None, description="How late a missed slot may still run, e.g. \"6h\". Default: no limit.",
        examples=["6h"],
    )
    catch_up_cap: WholeNumber = Field(10, ge=1, description="With catch_up = \"all\": at most this many "
                                      "missed slots run, the most recent.")
    timeout: Optional[PositiveDuration] = Field(
        None, description="Under the daemon, a run taking longer is stopped and recorded as timed "
        "out. Default: the daemon's run_timeout.", examples=["20m"],
    )
    as_of: date | None = Field(
        None, description="Count periods as if today were this date (demos, back-fills). "
        "Default: today in the workflow's time zone.", examples=["2026-11-24"],
    )

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: the name titles the terminal output, reports and "
                             "messages (and is the store's key for this workflow unless `id` is set)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return periods.check_timezone(value)

    @field_validator("period")
    @classmethod
    def _known_period(cls, value: str) -> str:
        periods.check_period_spec(value)
        return value

    @field_validator("compare")
    @classmethod
    def _distinct_comparisons(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each comparison may be listed once")
        return value

    @field_validator("schedule")
    @classmethod
    def _readable_schedule(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None:
            schedules.parse_schedules(value)  # ScheduleError is a ValueError: reported at workflow.schedule
        return value


class StoreSettings(BaseModel):
    """The optional ``[store]`` table: where run and measurement history are kept."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        None, description="SQLAlchemy URL of the state store. Default: the CMFLOW_STORE "
        "environment variable, else sqlite:///~/.local/state/cmflow/state.db",
        examples=["sqlite:///state/cmflow.db"],
    )

    @field_validator("url")
    @classmethod
    def _a_database_url(cls, value: str | None) -> str | None:
        from cmflow.store.urls import store_url_problem

        # An unset ${env:...} is said already, by name.
        if value is not None and "${env:" not in value and (problem := store_url_problem(value)):
            raise ValueError(problem)
        return value


class ClientEntry(BaseModel):
    """One ``[[clients]]`` entry: a client of an agency workflow (see docs/workflow-file.md)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Id objectives and report outputs refer to the client by.",
                    examples=["maison-lumiere"])
    name: str = Field(description="The client's name as its reports show it.", examples=["Maison Lumière"])
    accounts: Union[Annotated[list[str], Field(min_length=1)], Annotated[dict[str, str], Field(min_length=1)]] = Field(
        description="The client's accounts (the `account` of its records: handle, page name; compared without "
        "case, accents, surrounding blanks or a leading `@`): a list, "
        "or a table giving each the name reports show for it instead of the handle.",
        examples=[{"maisonlumiere": "Maison Lumière", "maisonlumiere_fr": "Maison Lumière"}])
    language: Literal[LANGUAGES] = Field(  # type: ignore[valid-type]
        description="Language of the client's reports, and of the tasks its alerts make: fr or en.", examples=["fr"])
    logo: str | None = Field(None, description="The client's logo for its reports: a .png, .jpg or .svg "
                             "file, relative to the workflow file.", examples=["logos/maison-lumiere.svg"])
    colour: HexColour | None = Field(None, description="The client's brand colour, #rrggbb.",
                                     examples=["#8a5a44"])
    recipients: list[EmailAddress] = Field(
        default_factory=list, description="E-mail addresses the client's reports go to.",
        examples=[["marie@maisonlumiere.example"]])

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: reports title the client's pages with it")
        return value

    @field_validator("accounts")
    @classmethod
    def _display_names(cls, value: list[str] | dict[str, str]) -> list[str] | dict[str, str]:
        names = value if isinstance(value, list) else list(value)
        for name in names:
            if not name.strip():
                raise ValueError("an account id must not be empty")
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError("each account may be listed once")
        if isinstance(value, dict):
            for account, shown in value.items():
                if not shown.strip():
                    raise InvalidOption(account, "the display name must not be empty")
        return value

    @field_validator("logo")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().endswith(LOGO_SUFFIXES):
            raise ValueError(f"{value!r} is not a .png, .jpg or .svg file: reports show one of those")
        return value


def _matchable_term(term: str) -> str:
    """``term``, refused when it has no letter or digit (it would match nothing)."""
    if not any(c.isalnum() for c in term):
        raise ValueError(f"{term!r} has no letter or digit: it would match nothing")
    return term


def _language_code(code: str) -> str:
    """``code``, refused when it is not a two-letter ISO 639-1 code in lower case."""
    if len(code) != 2 or not code.isascii() or not code.isalpha() or not code.islower():
        raise ValueError(f"{code!r} is not a two-letter ISO 639-1 code in lower case (fr, en, de ...)")
    return code


MatchableTerm = Annotated[str, AfterValidator(_matchable_term)]
LanguageCode = Annotated[str, AfterValidator(_language_code)]


class WatchedBrandEntry(BaseModel):
    """``[listen.brand]``, one ``[[listen.brands]]`` or one ``[[listen.competitors]]`` entry: a brand and
    the terms that name it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Id the metrics' `brand` breakdown names the brand by.",
                    examples=["maison-lumiere"])
    name: str = Field(description="The brand's name as reports show it; it is one of its terms.",
                      examples=["Maison Lumière"])
    terms: list[MatchableTerm] = Field(default_factory=list, description="Other words that name the brand: hashtags, "
                             "handles, products. Case and accents do not matter; each matches as a whole word, "
                             "and also as a one-word hashtag or @handle.",
                             examples=[["#MaisonLumiere", "@maisonlumiere", "bougie Lumière"]])
    exclude: list[MatchableTerm] = Field(default_factory=list, description="Terms that make a mention not about this "
                               "brand (it may still name another).", examples=[["lumière du jour"]])
    client: Optional[str] = Field(None, description="Id of the [[clients]] entry whose reports show this brand's "
                                  "figures (mentions, sentiment, share of voice): an own brand's client, or the "
                                  "client whose competitor it is; none: only the reports of the whole workflow "
                                  "show them. Required on every own brand and competitor when [[listen.brands]] "
                                  "lists more own brands.", examples=["maison-lumiere"])
    accounts: list[str] = Field(default_factory=list, description="The brand's public accounts, as the "
                                "sources' records name them (a post's `account`: handle, channel id; compared without "
                                "case, blanks or a leading @): every record of them (posts, follower counts, daily "
                                "activity) is the brand's in `by = [\"brand\"]` and the competitors "
                                "table. An own brand's accounts belong to its client (or to no [[clients]] entry); "
                                "a competitor's belong to no [[clients]] entry and never count in an own brand's "
                                "or a client's figures.",
                                examples=[["atelier-nuit.bsky.social", "@ateliernuit@mastodon.social"]])

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _matchable_term(value)

    @field_validator("accounts")
    @classmethod
    def _accounts_named(cls, value: list[str]) -> list[str]:
        for account in value:
            if not account.strip():
                raise ValueError("an account must not be empty: write the handle as the source's records name it")
        return value


class ListenSettings(BaseModel):
    """The ``[listen]`` section: the own brands, the competitors, exclusions and languages (docs/workflow-file.md)."""

    model_config = ConfigDict(extra="forbid")

    brand: WatchedBrandEntry = Field(description="The brand the workflow watches (its own).")
    brands: list[WatchedBrandEntry] = Field(default_factory=list, description="More own brands beside it "
                                            "([[listen.brands]] tables), one per client: an agency's other "
                                            "clients' brands. Their records count in their client's figures; "
                                            "never competitors.")
    competitors: list[WatchedBrandEntry] = Field(default_factory=list, description="The competitors watched "
                                                 "beside it ([[listen.competitors]] tables).")
    exclude: list[MatchableTerm] = Field(default_factory=list, description="Terms that drop a mention whatever brand it "
                               "names.", examples=[["lumière du jour", "offre d'emploi"]])
    languages: list[LanguageCode] = Field(default_factory=list, description="ISO 639-1 codes of the mentions kept; a "
                                 "mention whose language is not known is kept. Empty: every language.",
                                 examples=[["fr", "en"]])
    sources: list[str] = Field(default_factory=list, description="Ids of the sources whose mentions are watched; "
                               "empty: every source of mentions.", examples=[["bluesky-search", "alerts"]])
    duplicate_window: PositiveDuration = Field(
        timedelta(hours=1), description="Two mentions by one author with the same text published this close "
        "in time are one (e.g. \"1h\", \"30m\").", examples=["2h"])


    def listen(self) -> Listen:
        """The section as the watch stage reads it."""
        brands = [WatchedBrand(b.id, b.name, (b.name, *b.terms), tuple(b.exclude), client=b.client,
                               accounts=tuple(b.accounts))
                  for b in [self.brand, *self.brands, *self.competitors]]
        return Listen(tuple(brands), tuple(self.exclude), tuple(self.languages), tuple(self.sources),
                      self.duplicate_window, own=1 + len(self.brands))

    def entries(self) -> list[tuple[str, WatchedBrandEntry, bool]]:
        """Each brand with its key path and whether it is an own brand, in the section's order."""
        return [("listen.brand", self.brand, True),
                *((f"listen.brands[{i}]", b, True) for i, b in enumerate(self.brands)),
                *((f"listen.competitors[{i}]", b, False) for i, b in enumerate(self.competitors))]


Amount = Annotated[Number, Field(ge=0, allow_inf_nan=False)]


class ProductionSettings(BaseModel):
    """The ``[production]`` section: what an hour of each person costs and each campaign's budget
    (docs/workflow-file.md)."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of every amount: rates, "
                          "budgets, costs and revenue.", examples=["EUR"])
    rates: dict[str, Amount] = Field(default_factory=dict, description="Hourly rate by person or by role, as "
                                     "the time entries name them; a person's own rate wins over their role's.",
                                     examples=[{"Léa Martin": 55, "designer": 45, "community manager": 40}])
    roles: dict[str, str] = Field(default_factory=dict, description="Each person's role, for the rate of "
                                  "the role.", examples=[{"Hugo Petit": "designer"}])
    default_rate: Optional[Amount] = Field(None, description="Hourly rate of anyone with no rate of their own "
                                           "or of their role; none: their time has no cost, and costs say so.",
                                           examples=[40])
    budgets: dict[str, Amount] = Field(default_factory=dict, description="Planned spend per campaign (the "
                                       "`campaign` of time entries, posts and traffic).",
                                       examples=[{"soldes-hiver": 2500}])
    campaigns: dict[str, str] = Field(default_factory=dict, description="What reports, workbooks, alerts and "
                                      "tasks call each campaign, by the campaign as the records or `budgets` "
                                      "name it (matched whatever its case, accents, spaces or punctuation); "
                                      "data, CSV and JSON keep the campaign as written.",
                                      examples=[{"soldes-hiver": "Soldes d'hiver"}])

    @field_validator("campaigns")
    @classmethod
    def _one_label_a_campaign(cls, value: dict[str, str]) -> dict[str, str]:
        from cmflow.foundation.campaign_names import campaign_key_of

        seen: dict[str, str] = {}
        for name, label in value.items():
            if not label.strip():
                raise InvalidOption(name, f"campaign {name!r} has an empty name: write what "
                                    "a reader calls it, or remove the line")
            key = campaign_key_of(name)
            if key is None:
                raise InvalidOption(name, f"{name!r} is what analytics tools write for no "
                                    "campaign: it cannot be given a name")
            if key in seen:
                raise InvalidOption(name, f"{name!r} and {seen[key]!r} are the same campaign "
                                    "(campaigns match whatever their case, accents, spaces or punctuation): "
                                    "keep one")
            seen[key] = name
        return value

    @model_validator(mode="after")
    def _roles_priced(self) -> "ProductionSettings":
        for person, role in self.roles.items():
            if role not in self.rates:
                raise InvalidOption("roles", f"{person!r} holds role {role!r}, which [production.rates] does "
                                    f"not price: add `{role!r} = <hourly rate>` to [production.rates]")
        return self

    def production(self) -> Production:
        """The section as metrics read it."""
        return Production(self.currency, dict(self.rates), dict(self.roles), self.default_rate, dict(self.budgets),
                          dict(self.campaigns))


class LadderEntry(BaseModel):
    """An objective's ``ladder``: the lowest progress of each verdict (below ``change``: stop)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    continue_: Number = Field(1.0, alias="continue", gt=0, description="Lowest progress of continue (success).")
    optimise: Number = Field(0.8, ge=0, description="Lowest progress of optimise (moderate success).")
    change: Number = Field(0.5, ge=0, description="Lowest progress of change (moderate failure); "
                          "below it: stop (clear failure).")

    @model_validator(mode="after")
    def _ordered(self) -> "LadderEntry":
        if problem := self.ladder().problem():
            raise ValueError(problem)
        return self

    def ladder(self) -> Ladder:
        """The thresholds as the verdicts read them."""
        return Ladder(self.continue_, self.optimise, self.change)


class ObjectiveEntry(BaseModel):
    """One ``[[objectives]]`` entry: a business goal, the measurement that tells it, a target
    (see docs/objectives.md)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Id of the objective.", examples=["fanbase-instagram"])
    title: str = Field("", description="The objective in the reader's words, shown in reports.",
                       examples=["Grow the Instagram community by 10% over last year"])
    goal: Literal[tuple(GOALS)] = Field(  # type: ignore[valid-type]
        description="The business goal: " + ", ".join(GOALS) + ".", examples=["grow_fanbase"])
    metric: str = Field(description="The measurement that tells how the goal is going (one the workflow's "
                        "metrics produce).", examples=["followers"])
    target: Number | None = Field(None, description="The value to reach, in the metric's unit (3.0 for an ERR "
                                 "of 3%); for a measurement better lower, the value not to exceed.",
                                 examples=[3.0])
    target_change_pct: Number | None = Field(
        None, description="Instead of target: the relative change to achieve against `against`, in % "
        "(10: up 10%; -20: down 20%, for a measurement better lower).", examples=[10])
    against: Literal["previous_period", "same_period_last_year"] | None = Field(
        None, description="With target_change_pct: the comparison period (one of [workflow] compare).")
    direction: Literal["at_least", "at_most"] | None = Field(
        None, description="at_least: reach the target; at_most: stay under it. Default: from the "
        "measurement's polarity (at_most for one better lower); required for a neutral one.")
    where: WhereTable = Field(
        default_factory=dict, description="The series judged, by dimensions, e.g. {account = "
        "\"maisonlumiere\"}; a list of values: one result per value. Default: the client's whole "
        "(its `client` row) for an objective with a client, else the overall series.",
        examples=[{"account": "maisonlumiere"}])
    client: str | None = Field(None, description="Id of the [[clients]] entry the "
                               "objective belongs to.", examples=["maison-lumiere"])
    horizon: date | None = Field(None, description="The date the objective is for, shown to the reader.",
                                 examples=["2026-12-31"])
    ladder: LadderEntry = Field(default_factory=LadderEntry, description="Thresholds of progress for each "
                                "verdict: {continue = 1.0, optimise = 0.8, change = 0.5} by default.")

    @model_validator(mode="after")
    def _one_target(self) -> "ObjectiveEntry":
        if (self.target is None) == (self.target_change_pct is None):
            raise ValueError("give either target (a value to reach) or target_change_pct (a change in % "
                             "against a comparison period), not " + ("both" if self.target is not None
                                                                      else "neither"))
        if self.target_change_pct is not None:
            if self.against is None:
                raise InvalidOption("against", "target_change_pct needs against = \"previous_period\" "
                                    "or \"same_period_last_year\"")
            if self.target_change_pct == 0:
                raise InvalidOption("target_change_pct", "a change of 0% gives no progress to measure: "
                                    "for \"stay where it is\", write target = the value")
        elif self.against is not None:
            raise InvalidOption("against", "against goes with target_change_pct; a target is a value to reach")
        return self

    def objective(self, direction: str) -> Objective:
        """The objective this entry declares, its direction settled (from polarity if unset)."""
        where = dict(self.where)
        if self.client and "account" not in where and "client" not in where:
            # The client's whole, or its share of a platform, a format ...: never every client's.
            where["client"] = self.client
        return Objective(self.id, self.goal, self.metric, direction, self.target, self.target_change_pct,
                         self.against, self.title, where, self.client, self.horizon, self.ladder.ladder())


@dataclass
class Entry:
    """One validated workflow entry: its common keys, its plugin and the plugin instance."""

    kind: str
    index: int
    id: str
    common: Any
    info: PluginInfo
    plugin: Plugin

    @property
    def path(self) -> str:
        return f"{SECTION_OF_KIND[self.kind]}[{self.index}]"


@dataclass
class Workflow:
    """A validated workflow, ready to run."""

    file: Path
    settings: WorkflowSettings
    store: StoreSettings
    sources: list[Entry] = field(default_factory=list)
    classifiers: list[Entry] = field(default_factory=list)
    """The ``[[classifiers]]`` entries, in the file's order: the classify stage runs them after fetch."""
    metrics: list[Entry] = field(default_factory=list)
    triggers: list[Entry] = field(default_factory=list)
    outputs: list[Entry] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    """The ``[[clients]]`` entries: who owns which accounts, their language and branding."""
    listen: Listen | None = None
    """The ``[listen]`` section: the brands the watch stage labels mentions with; None without one."""
    production: Production = field(default_factory=Production)
    """The ``[production]`` section: hourly rates and campaign budgets (none by default)."""
    objectives: list[Objective] = field(default_factory=list)
    """The ``[[objectives]]`` entries, each judged at every run (``RunResult.objectives``)."""
    metrics_complete: bool = True
    """False while a metric entry is invalid: what the metrics produce is then not known."""
    clients_complete: bool = True
    """False while the ``[[clients]]`` entries are invalid: which clients exist is then not known
    (checks of references to them say nothing more: the entries have their problems)."""

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def key(self) -> str:
        """What the store files this workflow's history and alerts under."""
        return self.settings.id or self.settings.name

    @property
    def directory(self) -> Path:
        return self.file.parent

    def entries(self, kind: str) -> list[Entry]:
        return getattr(self, SECTION_OF_KIND[kind])

    def measurement_names(self) -> dict[str, str]:
        """Every measurement the workflow's metrics produce, with its unit."""
        names: dict[str, str] = {}
        for entry in self.metrics:
            names.update(entry.plugin.produces())
        return names

    def polarity_of(self, measurement: str) -> Polarity:
        """Whether ``measurement`` is better higher (``up``), lower (``down``) or neither
        (``neutral``), as the metric producing it says; ``neutral`` if no metric produces it."""
        for entry in self.metrics:
            if measurement in entry.plugin.produces():
                return entry.plugin.polarity(measurement)
        return "neutral"

    def source_accounts(self, source_id: str) -> frozenset[str] | None:
        """The accounts source ``source_id`` reads, when its options say so (its plugin's
        :meth:`~cmflow.Source.accounts`, else the ``account`` values of its ``where``, the only
        records it keeps); None if not known."""
        entry = next((e for e in self.sources if e.id == source_id), None)
        if entry is None:
            return None
        if (accounts := entry.plugin.accounts()) is not None:
            return accounts
        kept = (getattr(entry.common, "where", None) or {}).get("account")
        return frozenset(values_of(kept)) if kept else None

    def source_filters(self) -> dict[str, dict[str, list[str]]]:
        """Each source's effective filter by id: its ``where`` and the accounts its options name,
        normalised (:func:`~cmflow.foundation.measurement_scopes.canonical_where`)."""
        from cmflow.foundation.measurement_scopes import canonical_where
        from cmflow.foundation.records import RECORD_KINDS

        day_keys = {f.name for kind in RECORD_KINDS.values() for f in kind.fields if f.type in ("date", "datetime")}
        filters = {}
        for entry in self.sources:
            where = dict(getattr(entry.common, "where", None) or {})
            if "account" not in where and (accounts := entry.plugin.accounts()) is not None:
                where["account"] = sorted(accounts)
            filters[entry.id] = canonical_where(where, day_keys)
        return filters

    def metric_filters(self) -> dict[str, dict[str, list[str]]]:
        """The ``where`` of the metric producing each measurement, normalised."""
        from cmflow.foundation.measurement_scopes import canonical_where

        return {name: canonical_where(entry.common.where) for entry in self.metrics for name in entry.plugin.produces()}

    def measurement_scopes(self, without: tuple[str, ...] = ()) -> dict[str, str]:
        """Each measurement's scope (:func:`~cmflow.foundation.measurement_scopes.scope_hash`):
        the effective filters of the sources its metric reads (:meth:`source_filters`) and the
        metric's own ``where``, less the keys ``without`` (those a row's dimensions make
        irrelevant), so that spellings keeping the same records hash the same. Kept with every
        stored figure of the measurement."""
        from cmflow.foundation.measurement_scopes import scope_hash, sources_digest, without_keys

        sources = {s: without_keys(f, without) for s, f in self.source_filters().items()}
        metrics = {m: without_keys(f, without) for m, f in self.metric_filters().items()}
        digests: dict[tuple[str, ...], str] = {}  # most entries read every source: digested once
        scopes: dict[str, str] = {}
        for entry in self.metrics:
            ids = tuple(entry.common.sources or sources)
            if ids not in digests:
                digests[ids] = sources_digest(sources[s] for s in ids if s in sources)
            for name in entry.plugin.produces():
                scopes[name] = scope_hash(digests[ids], metrics[name])
        return scopes

    def row_scopes(self) -> dict[tuple[str, ...], dict[str, str]]:
        """:meth:`measurement_scopes` for each shape of row (which of account, platform and client
        it has: :data:`~cmflow.foundation.measurement_scopes.ROW_SHAPES`), by shape."""
        from cmflow.foundation.measurement_scopes import ROW_SHAPES, left_out

        return {shape: self.measurement_scopes(without=left_out(shape)) for shape in ROW_SHAPES}

    def breakdowns_of(self, measurement: str) -> list[tuple[str, ...]]:
        """The dimension sets ``measurement`` is measured by (``("client", "platform")`` ...),
        from the ``by`` of every metric entry producing it."""
        from cmflow.foundation.measurements import grouping_columns

        found: list[tuple[str, ...]] = []
        for entry in self.metrics:
            if measurement in entry.plugin.produces():
                found += [g for g in grouping_columns(entry.common.by) if g not in found]
        return found

    def row_dimensions_of(self, measurement: str) -> tuple[str, ...]:
        """The dimensions every row of ``measurement`` holds whatever ``by`` says (the
        ``row_dimensions`` of the metric producing it: ``item_id``, ``client`` ...)."""
        return next((entry.plugin.row_dimensions for entry in self.metrics
                     if measurement in entry.plugin.produces()), ())

    def series_labels_of(self, measurement: str) -> frozenset[str]:
        """The dimensions of ``measurement`` that label a row without making a series of it:
        ``client`` where every row names its own (among the metric's ``row_dimensions``: the
        measure stage computes it once, never per client). An alert's series is told apart
        without them (:mod:`cmflow.stages.lifecycle`)."""
        return frozenset(d for d in self.row_dimensions_of(measurement) if d == "client")

    def client(self, client_id: str) -> Client | None:
        """The client of that id, or None."""
        return next((c for c in self.clients if c.id == client_id), None)

    def unknown_measurements(self, names: dict[str, str]) -> list[tuple[str, str]]:
        """Problems (key path, message) for the measurements named in an entry's options (by
        key path: ``{"metrics[1]": "reach"}``) that no metric produces: they would show nothing."""
        if not self.metrics_complete:
            return []  # a broken metric entry may be the one producing them: it has its problem
        produced = list(self.measurement_names())
        problems = []
        for key, name in names.items():
            if name not in produced:
                suggestion = closest(name, produced)
                problems.append((key, f"no metric produces {name!r}; " + (
                    f"did you mean {suggestion!r}?" if suggestion else
                    f"produced: {', '.join(sorted(produced)) or 'nothing'}")))
        return problems


def option_names(options: type[BaseModel], field: str) -> list[str]:
    """The names a workflow may give an option under: its own, then the older names its
    ``validation_alias`` accepts (``api_url`` for ``base_url``)."""
    alias = options.model_fields[field].validation_alias
    names = [field]
    if isinstance(alias, str):
        names.append(alias)
    elif isinstance(alias, AliasChoices):
        names += [choice for choice in alias.choices if isinstance(choice, str) and choice != field]
    return names


def load_workflow(path: str | Path, registry: PluginRegistry | None = None, *, text: str | None = None) -> Workflow:
    """Read and validate a workflow file; raise :class:`WorkflowInvalid` listing every problem.

    ``text``: the file's content as read earlier (the daemon runs the version it validated,
    even if the file was broken since); paths in it still resolve against ``path``.
    """
    return _Loader(Path(path), registry or get_registry(), text).load()


def outputs_only_workflow(path: str | Path, settings: dict[str, Any], outputs: list[Any],
                          registry: PluginRegistry | None = None) -> Workflow:
    """A workflow with outputs and no source, from tables already read from ``path`` (the
    daemon's health outputs): validated and interpolated like a workflow file's ``[[outputs]]``."""
    document = {"workflow": settings, "outputs": outputs}
    return _Loader(Path(path), registry or get_registry()).load(document, require_sources=False)


class _Loader:
    def __init__(self, file: Path, registry: PluginRegistry, text: str | None = None) -> None:
        self.file = file
        self.text = text
        self.registry = registry
        self.problems: list[Problem] = []
        self.incomplete: dict[str, list[tuple[str, Any]]] = {kind: [] for kind in SECTION_OF_KIND}
        """Entries whose common keys are valid but not their plugin or options: (path, common)."""
        self.failed_kinds: set[str] = set()
        self.client_ids: list[str] = []
        """The ids of the ``[[clients]]`` entries, valid or not."""
        self.listen_given = False
        """Whether the file has a ``[listen]`` section, valid or not."""
        self.unresolved: set[str] = set()
        """Key paths whose ${env:...} reference could not be read: no other problem is added there."""

    def problem(self, path: str, message: str, hint: str = "", **where: Any) -> None:
        if any(path.startswith(p) and path[len(p):][:1] in ("", ".", "[") for p in self.unresolved):
            return  # said already: its ${env:...} reference could not be read
        # Redacted here, not only when printed: a problem's fields may be shown as they are.
        self.problems.append(Problem(str(self.file), path, redactor(message), redactor(hint), **where))

    def load(self, document: dict[str, Any] | None = None, require_sources: bool = True) -> Workflow:
        document = self._parse() if document is None else document
        secret_paths: set[str] = set()
        missing: list[tuple[str, str]] = []
        malformed: list[tuple[str, str]] = []
        document = interpolate(document, "", load_dotenv_beside(self.file), missing, secret_paths, malformed)
        for where, message in malformed:
            self.problem(where, message)
        for where, name in missing:
            if where not in {p for p, _ in malformed}:
                self.problem(where, f"environment variable {name} is not set",
                             f"export {name}=... or add it to {self.file.parent / '.env'}")
        # A value still holding its reference would only add a misleading second problem.
        self.unresolved = {where for where, _ in missing} | {where for where, _ in malformed}

        for key in document:
            if key not in TOP_LEVEL_KEYS:
                suggestion = closest(key, list(TOP_LEVEL_KEYS))
                self.problem(key, f"unknown section {key!r}",
                             f"did you mean {suggestion!r}?" if suggestion else
                             f"sections are {', '.join(TOP_LEVEL_KEYS)}")

        settings = self._model(WorkflowSettings, document.get("workflow"), "workflow", required=True)
        if settings is not None:
            self._check_period(settings)
        store = self._model(StoreSettings, document.get("store", {}), "store")
        workflow = Workflow(self.file, settings or _placeholder_settings(), store or StoreSettings())
        for kind, section in SECTION_OF_KIND.items():
            raw = document.get(section, [])
            if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
                self.problem(section, f"must be an array of tables: write [[{section}]] before each entry")
                continue
            for index, item in enumerate(raw):
                entry = self._entry(kind, index, item, secret_paths)
                if entry is not None:
                    workflow.entries(kind).append(entry)
        if require_sources and settings is not None and workflow.key == DAEMON_WORKFLOW_ID:
            where = "workflow.id" if settings.id else "workflow.name"
            self.problem(where, f"{DAEMON_WORKFLOW_ID!r} is reserved for the daemon's health alerts",
                         "give the workflow another id (`id = \"...\"` in [workflow])")
        if require_sources and not workflow.sources and "sources" not in [p.path.split("[")[0] for p in self.problems]:
            self.problem("sources", "the workflow has no source", "add a [[sources]] table")
        said = len(self.problems)
        workflow.clients = self._clients(document.get("clients", []))  # before the plugins' checks, which read them
        workflow.clients_complete = len(self.problems) == said
        self.listen_given = "listen" in document
        workflow.listen = self._listen(document.get("listen"), workflow)
        self._default_search_terms(workflow)
        production = self._model(ProductionSettings, document.get("production", {}), "production")
        workflow.production = production.production() if production is not None else Production()
        self._cross_check(workflow, settings_valid=settings is not None)
        workflow.objectives = self._objectives(workflow, document.get("objectives", []),
                                               settings_valid=settings is not None)
        if self.problems:
            raise WorkflowInvalid(self.problems)
        return workflow

    def _check_period(self, settings: WorkflowSettings) -> None:
        """The period and its comparisons exist in the calendar (a range in year 1 has no previous period)."""
        today = settings.as_of or periods.today_in(settings.timezone)
        try:
            period = periods.parse_period(settings.period, settings.timezone, today)
        except periods.PeriodError as exc:
            self.problem("workflow.as_of" if settings.as_of else "workflow.period", str(exc))
            return
        for index, which in enumerate(settings.compare):
            try:
                period.comparison(which)
            except periods.PeriodError as exc:
                self.problem(f"workflow.compare[{index}]", str(exc))

    def _parse(self) -> dict[str, Any]:
        if self.text is None and self.file.is_dir():
            inside = sorted(p.name for p in self.file.glob("*.toml"))[:3]
            hint = (f"did you mean {self.file / inside[0]}?" if len(inside) == 1 else
                    f"name one of its files: {', '.join(inside)}" if inside else
                    "give the path of a workflow .toml file; cmflow daemon DIR runs the workflows of a folder")
            raise WorkflowInvalid([Problem(str(self.file), "", "is a folder, not a workflow file", hint)])
        return read_toml(self.file, text=self.text)

    def _model(self, model: type[BaseModel], raw: Any, path: str, required: bool = False) -> Any:
        if raw is None:
            if required:
                self.problem(path, f"missing [{path}] table", "add [workflow] with at least name = \"...\"")
            return None
        if not isinstance(raw, dict):
            self.problem(path, "must be a table")
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            self._report(exc, path, list(model.model_fields))
            return None

    def _entry(self, kind: str, index: int, item: dict[str, Any], secret_paths: set[str]) -> Entry | None:
        entry = self._build_entry(kind, index, item, secret_paths)
        if entry is None:
            self.failed_kinds.add(kind)
            path = f"{SECTION_OF_KIND[kind]}[{index}]"
            common_keys = entry_keys(ENTRY_MODELS[kind])
            try:  # keep what is valid, so references are still checked
                common = ENTRY_MODELS[kind].model_validate({k: v for k, v in item.items() if k in common_keys})
                self.incomplete[kind].append((path, common))
            except ValidationError:
                pass
        return entry

    def _build_entry(self, kind: str, index: int, item: dict[str, Any], secret_paths: set[str]) -> Entry | None:
        path = f"{SECTION_OF_KIND[kind]}[{index}]"
        name = item.get("plugin")
        if not isinstance(name, str):
            self.problem(f"{path}.plugin", "missing plugin name",
                         f"known {kind} plugins: {', '.join(self.registry.names(kind))}")
            return None
        try:
            info = self.registry.get(kind, name)
        except PluginNotLoaded as exc:
            self.problem(f"{path}.plugin", str(exc), exc.hint)
            return None
        except UnknownPlugin as exc:
            other_kinds = [i.kind for i in self.registry.find(name)]
            if other_kinds:
                hint = f"{name!r} is {_a(other_kinds[0])} plugin, not {_a(kind)} plugin"
            elif exc.suggestion:
                hint = f"did you mean {exc.suggestion!r}?"
            else:
                hint = "see `cmflow plugins`"
            self.problem(f"{path}.plugin", f"unknown {kind} plugin {name!r}", hint)
            return None

        entry_model = ENTRY_MODELS[kind]
        common_keys = entry_keys(entry_model)
        option_keys = {name for field in info.cls.Options.model_fields for name in option_names(info.cls.Options, field)}
        known = sorted(common_keys | option_keys)
        common_raw = {k: v for k, v in item.items() if k in common_keys}
        option_raw = {k: v for k, v in item.items() if k not in common_keys}
        common = options = None
        try:
            common = entry_model.model_validate(common_raw)
        except ValidationError as exc:
            self._report(exc, path, known)
        try:
            options = info.cls.Options.model_validate(option_raw)
        except ValidationError as exc:
            self._report(exc, path, known)
        if common is None or options is None:
            return None
        for key, value in options:
            written = next((name for name in option_names(info.cls.Options, key) if name in option_raw), key)
            if isinstance(value, SecretStr) and f"{path}.{written}" not in secret_paths:
                self.problem(f"{path}.{written}", "secrets may not be written in the workflow file",
                             f'write {written} = "${{env:NAME}}" and set NAME in the environment or .env')
        for where in paths_of_urls_with_credentials(option_raw, path):
            if where not in secret_paths:
                self.problem(where, "a URL with a user name or password is written in the workflow file",
                             'write the URL as "${env:NAME}" and set NAME in the environment or .env')
        entry_id = common.id or _default_id(kind, common)
        try:
            plugin = info.cls(options, entry_id=entry_id)
        except Exception as exc:
            self.problem(path, f"plugin {name!r} refused these options: {exc}")
            return None
        if kind == "metric" and "by" not in common_raw:  # the metric's own default breakdowns
            common = common.model_copy(update={"by": default_breakdowns(plugin)})
        self._check_input_files(path, options)
        self._check_web_addresses(path, options)
        if isinstance(common, SourceEntry) and common.look_back and not plugin.incremental:
            self.problem(f"{path}.look_back", f"{name} reads its input whole at every run: look_back does "
                         "not apply", "remove look_back: it is for the sources that keep their records in the store, "
                         "those of social platforms' APIs")
        if isinstance(common, SourceEntry):
            self._check_source_where(path, common.where, plugin)
        return Entry(kind, index, entry_id, common, info, plugin)

    def _check_source_where(self, path: str, where: dict[str, Any], plugin: Plugin) -> None:
        """A source's ``where`` names fields its records have, and days that are days."""
        from cmflow.foundation.records import RECORD_KINDS

        try:
            kinds = [RECORD_KINDS[k] for k in sorted(plugin.produces()) if k in RECORD_KINDS]
        except Exception:  # a third-party source whose produces() fails: its fetch will say so
            return
        for key, message, hint in record_where_problems(where, kinds):
            self.problem(f"{path}.where.{key}", message, hint)

    def _check_dimension_where(self, path: str, where: dict[str, Any]) -> list[str]:
        """Unknown dimensions in a metric's or an output's ``where``; returns the known keys."""
        problems = dimension_where_problems(where)
        for key, message, hint in problems:
            self.problem(f"{path}.where.{key}", message, hint)
        return [key for key in where if key not in {p[0] for p in problems}]

    def _check_web_addresses(self, path: str, options: BaseModel) -> None:
        """A server on a literal private address (or ``localhost``) is refused now, before
        anything is sent, unless the plugin allows private networks."""
        from cmflow.plugins.option_types import WEB_ADDRESS

        addresses = {name: value for name, info in type(options).model_fields.items()
                     if _marked(info, WEB_ADDRESS) and isinstance(value := getattr(options, name), str)}
        if not addresses:
            return
        from cmflow.http.guard import PRIVATE_NETWORK_OPTION, refused_url_problem  # imports httpx

        if getattr(options, PRIVATE_NETWORK_OPTION, False):
            return
        for name, value in addresses.items():
            if problem := refused_url_problem(value):
                self.problem(f"{path}.{name}", problem)

    def _check_input_files(self, path: str, options: BaseModel) -> None:
        """A folder where an option names a file to read is refused now, not when the run reads it."""
        from cmflow.plugins.input_paths import resolve_input_path
        from cmflow.plugins.option_types import INPUT_FILE

        for name, info in type(options).model_fields.items():
            value = getattr(options, name)
            if _marked(info, INPUT_FILE) and isinstance(value, str) and not value.startswith("builtin:"):
                resolved = resolve_input_path(value, self.file.parent)
                if resolved.is_dir():
                    inside = sorted(p.name for p in resolved.iterdir() if p.is_file())[:1]
                    self.problem(f"{path}.{name}", f"{resolved} is a folder, not a file",
                                 f"did you mean {value.rstrip('/')}/{inside[0]}?" if inside else
                                 "name a file inside it")

    def _report(self, exc: ValidationError, path: str, known: list[str]) -> None:
        for error in explain(exc, known):
            self.problem(key_path(error.location, path), error.message, error.hint)

    def _unique_ids(self, entries: list[Entry], kind: str) -> dict[str, Entry]:
        """Entries by id; a repeated id is a problem (triggers' ids are alert fingerprints)."""
        by_id: dict[str, Entry] = {}
        for entry in entries:
            if entry.id in by_id:
                self.problem(f"{entry.path}.id", f"{kind} id {entry.id!r} is already used by "
                             f"{by_id[entry.id].path}", f"give each {kind} its own id")
            by_id.setdefault(entry.id, entry)
        return by_id

    def _cross_check(self, workflow: Workflow, settings_valid: bool) -> None:
        source_ids = self._unique_ids(workflow.sources, "source")

        known_sources = list(source_ids) + [c.id or c.plugin for _, c in self.incomplete["source"]]
        for path, common in [(e.path, e.common) for e in workflow.metrics] + self.incomplete["metric"]:
            self._check_sources_named(path, common.sources, known_sources)

        self._check_classifiers(workflow, source_ids, known_sources)

        # Two metrics of one plugin without ids already clash by what they produce (below).
        self._unique_ids([e for e in workflow.metrics if e.common.id], "metric")
        producers: dict[str, Entry] = {}
        for entry in workflow.metrics:
            chosen = entry.common.sources or list(source_ids)
            provided: set[str] = set()
            for source_id in chosen:
                if source_id in source_ids:
                    provided |= source_ids[source_id].plugin.produces()
            missing = [" or ".join(group) for group in entry.plugin.needed_records()
                       if not provided & set(group)]
            # A broken source entry may be the one that provides the kind: it has its own problem.
            sources_known = bool(entry.common.sources) or "source" not in self.failed_kinds
            if missing and sources_known and all(s in source_ids for s in chosen):
                self.problem(entry.path, f"metric {entry.info.name!r} needs {' and '.join(missing)} "
                             f"records but its sources provide {', '.join(sorted(provided)) or 'none'}",
                             "add a source of that record kind or list it in `sources`")
            production_valid = not any(p.path.startswith("production") for p in self.problems)
            for key in entry.plugin.needs_production if production_valid else ():
                if not getattr(workflow.production, key):
                    self.problem(entry.path, f"metric {entry.info.name!r} reads [production] {key}, and the "
                                 "workflow gives none", f"add {key} to [production] (docs/workflow-file.md#production)")
            if all(s in source_ids for s in chosen):
                for message, hint in entry.plugin.source_problems({s: source_ids[s].plugin for s in chosen}):
                    self.problem(entry.path, message, hint)
            for i, item in enumerate(entry.common.by):
                names = [item] if isinstance(item, str) else item
                unsupported = [n for n in names if n not in entry.plugin.groupings]
                if unsupported:
                    self.problem(f"{entry.path}.by[{i}]", f"metric {entry.info.name!r} cannot be "
                                 f"broken down by {', '.join(unsupported)}",
                                 f"it supports {', '.join(entry.plugin.groupings)}")
                elif "brand" in names and not self.listen_given:
                    self.problem(f"{entry.path}.by[{i}]", "a brand breakdown needs the brands a [listen] "
                                 "section watches, and the workflow has none",
                                 "add [listen] with the brand and its competitors, or remove brand from by")
            if "brand" in entry.plugin.row_dimensions and not self.listen_given:
                self.problem(entry.path, f"metric {entry.info.name!r} compares the brands a [listen] section "
                             "watches, and the workflow has none", "add [listen] with the brand and its competitors")
            for key in self._check_dimension_where(entry.path, entry.common.where):
                read = [kind for group in entry.plugin.needed_records() for kind in group]
                readable = [k for k in read if key in _record_fields(k)]
                if not readable:
                    self.problem(f"{entry.path}.where.{key}", f"metric {entry.info.name!r} reads "
                                 f"{' and '.join(read)} records, which have no {key}",
                                 "remove it from where, or filter the source's records instead")
            for measurement in entry.plugin.produces():
                if measurement in producers:
                    self.problem(entry.path, f"measurement {measurement!r} is also produced by "
                                 f"{producers[measurement].path}", "keep one of them, or use `by` "
                                 "on a single entry for several breakdowns")
                producers[measurement] = entry

        dimension_names = list(DIMENSIONS)
        # What a broken metric entry would produce is unknown: then trust the trigger's name.
        metrics_known = "metric" not in self.failed_kinds
        for path, common in [(e.path, e.common) for e in workflow.triggers] + self.incomplete["trigger"]:
            if metrics_known and common.metric not in producers:
                suggestion = closest(common.metric, list(producers))
                self.problem(f"{path}.metric", f"no metric produces {common.metric!r}",
                             f"did you mean {suggestion!r}?" if suggestion else
                             f"produced: {', '.join(sorted(producers)) or 'nothing'}")
            # A metric's own row dimensions (item_id, title ...) select series too.
            own = list(producers[common.metric].plugin.row_dimensions) if common.metric in producers else []
            for key in common.where:
                if key in own and key not in dimension_names:
                    continue
                if key not in dimension_names:
                    suggestion = closest(key, [*dimension_names, *own])
                    self.problem(f"{path}.where.{key}", f"unknown dimension {key!r}",
                                 f"did you mean {suggestion!r}?" if suggestion else
                                 f"dimensions: {', '.join(dimension_names)}")
                elif common.metric in producers:
                    self._check_broken_down(f"{path}.where.{key}", key, producers[common.metric])
        self._unique_ids(workflow.triggers, "trigger")
        self._unique_ids(workflow.outputs, "output")
        for entry in workflow.outputs:
            self._check_dimension_where(entry.path, entry.common.where)

        workflow.metrics_complete = "metric" not in self.failed_kinds
        if settings_valid:  # plugin checks read [workflow] settings
            for kind in SECTION_OF_KIND:
                for entry in workflow.entries(kind):
                    for problem in entry.plugin.check(workflow):
                        key, message = problem if isinstance(problem, tuple) else ("", problem)
                        self.problem(f"{entry.path}.{key}" if key else entry.path, message)


    def _check_sources_named(self, path: str, sources: list[str] | None, known_sources: list[str]) -> None:
        """Each id in an entry's ``sources`` is a source's, else a problem at its key path."""
        for i, source_id in enumerate(sources or []):
            if source_id not in known_sources:
                suggestion = closest(source_id, known_sources)
                self.problem(f"{path}.sources[{i}]", f"no source has id {source_id!r}",
                             f"did you mean {suggestion!r}?" if suggestion else
                             f"source ids: {', '.join(known_sources) or 'none'}")

    def _check_classifiers(self, workflow: Workflow, source_ids: dict[str, Entry], known_sources: list[str]) -> None:
        """A classifier entry's ``sources`` exist, and each record kind it labels is one of
        them provides (else it would label nothing, silently)."""
        self._unique_ids(workflow.classifiers, "classifier")
        entries = {e.path: e for e in workflow.classifiers}
        for path, common in [(e.path, e.common) for e in workflow.classifiers] + self.incomplete["classifier"]:
            self._check_sources_named(path, common.sources, known_sources)
            chosen = common.sources or list(source_ids)
            if "source" in self.failed_kinds or not all(s in source_ids for s in chosen):
                continue  # a broken source entry may be the one providing them: it has its own problem
            provided = set().union(*(source_ids[s].plugin.produces() for s in chosen)) if chosen else set()
            if common.records is None:  # the default: mentions and comments, those the sources provide
                default = [kind for kind in DEFAULT_CLASSIFIED if kind in provided]
                if not default:
                    self.problem(f"{path}.records", f"no source it reads provides {' or '.join(DEFAULT_CLASSIFIED)} "
                                 f"records, the kinds labelled by default (they provide "
                                 f"{', '.join(sorted(provided)) or 'none'})",
                                 'write records = ["post"] to label captions, or add a source of mentions or comments')
                elif path in entries:
                    entries[path].common = common.model_copy(update={"records": default})
                continue
            for i, kind in enumerate(common.records):
                if kind not in provided:
                    self.problem(f"{path}.records[{i}]", f"no source it reads provides {kind} records "
                                 f"(they provide {', '.join(sorted(provided)) or 'none'})",
                                 "remove it from records, or add a source of that record kind")

    def _tables(self, section: str, raw: Any) -> list[tuple[str, dict[str, Any]]]:
        """The entries of an array of tables (``[[clients]]``), each with its key path."""
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.problem(section, f"must be an array of tables: write [[{section}]] before each entry")
            return []
        return [(f"{section}[{index}]", item) for index, item in enumerate(raw)]

    def _clients(self, raw: Any) -> list[Client]:
        """The ``[[clients]]`` entries: valid, distinct ids, each account one client's, logos that exist."""
        clients: list[Client] = []
        owner: dict[str, str] = {}
        for path, item in self._tables("clients", raw):
            if isinstance(item.get("id"), str):
                self.client_ids.append(item["id"])  # an invalid client has its own problem, not its references
            entry = self._model(ClientEntry, item, path)
            logo = item.get("logo")
            if isinstance(logo, str) and logo.lower().endswith(LOGO_SUFFIXES):
                self._check_logo(f"{path}.logo", logo)  # said even when another key is wrong
            if entry is None:
                continue
            if entry.id in (c.id for c in clients):
                self.problem(f"{path}.id", f"client id {entry.id!r} is already used", "give each client its own id")
                continue
            accounts = dict.fromkeys(entry.accounts, entry.name) if isinstance(entry.accounts, list) \
                else dict(entry.accounts)
            for account in accounts:  # compared as the clients stage labels records: "@Maison" is maison
                if account_key(account) in owner:
                    self.problem(f"{path}.accounts", f"account {account!r} already belongs to client "
                                 f"{owner[account_key(account)]!r}",
                                 "an account belongs to one client: remove it from one of them")
                owner.setdefault(account_key(account), entry.id)
            logo = self._logo_path(entry.logo) if entry.logo is not None else None
            clients.append(Client(entry.id, entry.name, accounts, entry.language, logo, entry.colour,
                                  tuple(entry.recipients)))
        return clients

    def _listen(self, raw: Any, workflow: Workflow) -> Listen | None:
        """The ``[listen]`` section: valid, distinct brand ids, clients that exist (one own brand
        each when there are several), sources that exist."""
        settings = self._model(ListenSettings, raw, "listen")
        if settings is None:
            return None
        seen: set[str] = set()
        clients = [c.id for c in workflow.clients]
        for path, brand, _ in settings.entries():
            if brand.id in seen:
                self.problem(f"{path}.id", f"brand id {brand.id!r} is already used", "give each brand its own id")
            seen.add(brand.id)
            if brand.client is not None and brand.client not in clients:
                suggestion = closest(brand.client, clients)
                self.problem(f"{path}.client", f"no [[clients]] entry has id {brand.client!r}",
                             f"did you mean {suggestion!r}?" if suggestion else
                             f"client ids: {', '.join(clients)}" if clients else "add a [[clients]] entry, or remove client")
        if settings.brands:
            self._check_own_brands(settings, clients)
        self._check_brand_accounts(settings, workflow)
        known = [s.id for s in workflow.sources]
        for index, source_id in enumerate(settings.sources):
            if source_id not in known:
                suggestion = closest(source_id, known)
                self.problem(f"listen.sources[{index}]", f"no source has id {source_id!r}",
                             f"did you mean {suggestion!r}?" if suggestion else f"source ids: {', '.join(known)}")
        return settings.listen()

    def _check_own_brands(self, settings: ListenSettings, clients: list[str]) -> None:
        """With several own brands ([[listen.brands]]): each names its client, one own brand per
        client, and each competitor names the client whose competitor it is, one with an own brand."""
        owned: dict[str, str] = {}
        for path, brand, own in settings.entries():
            if brand.client is None:
                what = "own brand" if own else "competitor"
                self.problem(f"{path}.client", f"{what} {brand.id!r} names no client, and [listen] has several "
                             "own brands ([[listen.brands]])",
                             f"set client to the id of {'its' if own else 'the'} [[clients]] entry"
                             f"{'' if own else ' whose competitor it is'}"
                             + (f" ({', '.join(clients)})" if clients else ""))
            elif own and brand.client in owned:
                self.problem(f"{path}.client", f"client {brand.client!r} already has own brand "
                             f"{owned[brand.client]!r}: a client has one own brand",
                             "give the brand another client, or list it as a competitor or under the other's terms")
            elif own:
                owned[brand.client] = brand.id
            elif brand.client in clients and brand.client not in owned:
                self.problem(f"{path}.client", f"competitor {brand.id!r} is client {brand.client!r}'s, and "
                             f"{brand.client!r} has no own brand in [listen]",
                             f"add client {brand.client!r}'s brand as [[listen.brands]], or set client to one with "
                             f"an own brand ({', '.join(owned)})")

    def _default_search_terms(self, workflow: Workflow) -> None:
        """Each source that searches its platform (:class:`~cmflow.plugins.search_terms.SearchesTerms`)
        and whose entry gives no terms searches the ``[listen]`` section's; without one (or
        when ``listen.sources`` leaves it out), its missing terms are a problem at their option."""
        from cmflow.plugins.search_terms import SearchesTerms

        listen = workflow.listen
        for entry in workflow.sources:
            plugin = entry.plugin
            if not isinstance(plugin, SearchesTerms) or not plugin.needs_search_terms():
                continue
            option = f"{entry.path}.{plugin.search_option}"
            if listen is not None and (not listen.sources or entry.id in listen.sources):
                try:
                    entry.plugin = plugin.with_search_terms(listen.search_terms)
                except ValueError as exc:
                    self.problem(option, f"the [listen] terms cannot be searched here: {exc}",
                                 f"write {plugin.search_option} = [...] for this source")
            elif listen is not None:
                self.problem(option, f"{entry.info.name} is asked to search, with no terms of its own, and "
                             f"listen.sources leaves {entry.id!r} out, so it cannot search the [listen] terms",
                             f"add {entry.id!r} to listen.sources, or write {plugin.search_option} = [...]")
            elif not self.listen_given:  # an invalid [listen] has its own problems
                self.problem(option, f"{entry.info.name} is asked to search but has no terms, and the workflow "
                             "has no [listen] section whose terms it would search",
                             f"write {plugin.search_option} = [\"your brand\", ...], or add a [listen] section")

    def _check_brand_accounts(self, settings: ListenSettings, workflow: Workflow) -> None:
        """Each account is one brand's; a competitor's belongs to no client, and an own brand's to
        its own client if any: a client's figures are its accounts', never a competitor's."""
        # Compared as the watch stage labels records: without case, accents, blanks or a leading @.
        owner = {account_key(account): client.id for client in workflow.clients for account in client.accounts}
        listed: dict[str, str] = {}
        for path, brand, own in settings.entries():
            for position, account in enumerate(brand.accounts):
                key = f"{path}.accounts[{position}]"
                if account_key(account) in listed:
                    self.problem(key, f"account {account!r} is already listed by brand "
                                 f"{listed[account_key(account)]!r}",
                                 "an account belongs to one brand: remove it from one of them")
                    continue
                listed[account_key(account)] = brand.id
                client = owner.get(account_key(account))
                if client is None:
                    continue
                if not own:
                    self.problem(key, f"account {account!r} of competitor {brand.id!r} belongs to client {client!r} "
                                 "([[clients]] accounts): a competitor's accounts belong to no client",
                                 f"remove it from the accounts of client {client!r} or of the competitor"
                                 + (f", or list it in [[listen.brands]] as client {client!r}'s own brand"
                                    if client not in {b.client for _, b, o in settings.entries() if o} else ""))
                elif brand.client is not None and brand.client != client:
                    self.problem(key, f"account {account!r} of brand {brand.id!r} belongs to client {client!r}, "
                                 f"and the brand's client is {brand.client!r}",
                                 f"set client = {client!r} in {path}, or remove the account from one of them")

    def _logo_path(self, logo: str) -> Path:
        """A client's logo, resolved against the workflow file's folder."""
        path = Path(logo).expanduser()
        return path if path.is_absolute() else self.file.parent / path

    def _check_logo(self, key: str, logo: str) -> None:
        """The logo is a file: a report must not find out at delivery that it is missing."""
        path = self._logo_path(logo)
        if not path.is_file():
            self.problem(key, f"{path} is not a file" if path.exists() else f"{path} does not exist",
                         "give the path of the logo file, relative to the workflow file")

    def _objectives(self, workflow: Workflow, raw: Any, settings_valid: bool) -> list[Objective]:
        """The ``[[objectives]]`` entries, checked against the workflow's metrics, comparisons and clients."""
        objectives: list[Objective] = []
        producers = {name: entry for entry in workflow.metrics for name in entry.plugin.produces()}
        metrics_known = "metric" not in self.failed_kinds
        for path, item in self._tables("objectives", raw):
            entry = self._model(ObjectiveEntry, item, path)
            if entry is None:  # still say what is wrong with its references
                self._check_objective_references(path, item, workflow, producers, metrics_known)
                continue
            if entry.id in (o.id for o in objectives):
                self.problem(f"{path}.id", f"objective id {entry.id!r} is already used",
                             "give each objective its own id")
                continue
            problems_before = len(self.problems)
            self._check_objective_references(path, {"client": entry.client}, workflow, producers, metrics_known)
            if entry.against is not None and settings_valid and entry.against not in workflow.settings.compare:
                self.problem(f"{path}.against", f"the workflow is not compared with {entry.against}",
                             f"add \"{entry.against}\" to compare in [workflow]")
            self._check_objective_where(path, entry, workflow, producers.get(entry.metric))
            producer = producers.get(entry.metric)
            if producer is None:
                self._check_objective_references(path, {"metric": entry.metric}, workflow, producers, metrics_known)
                continue
            direction = self._objective_direction(path, entry, producer)
            if direction is None or len(self.problems) > problems_before:
                continue
            objectives.append(entry.objective(direction))
        return objectives

    def _check_objective_references(self, path: str, item: dict[str, Any], workflow: Workflow,
                                    producers: dict[str, Entry], metrics_known: bool) -> None:
        """An objective's ``metric`` is produced by a metric and its ``client`` is a client."""
        metric, client = item.get("metric"), item.get("client")
        if isinstance(metric, str) and metrics_known and metric not in producers:
            suggestion = closest(metric, list(producers))
            self.problem(f"{path}.metric", f"no metric produces {metric!r}",
                         f"did you mean {suggestion!r}?" if suggestion else
                         f"produced: {', '.join(sorted(producers)) or 'nothing'}")
        if isinstance(client, str) and client not in self.client_ids:
            known = list(dict.fromkeys(self.client_ids))
            suggestion = closest(client, known)
            self.problem(f"{path}.client", f"no client has id {client!r}",
                         f"did you mean {suggestion!r}?" if suggestion else
                         f"client ids: {', '.join(known)}" if known else "add a [[clients]] entry with that id")

    def _objective_direction(self, path: str, entry: ObjectiveEntry, producer: Entry) -> str | None:
        """The objective's direction (its own, else from the measurement's polarity), with a
        target on the side that direction makes sense of."""
        polarity = producer.plugin.polarity(entry.metric)
        if polarity not in POLARITIES:
            self.problem(producer.path, f"metric {producer.info.name!r} gives {entry.metric} the polarity "
                         f"{polarity!r}", f"a polarity is one of {', '.join(POLARITIES)}: fix the plugin")
            return None
        direction = entry.direction or {"up": "at_least", "down": "at_most"}.get(polarity)
        if direction is None:
            self.problem(f"{path}.direction", f"{entry.metric} is neither better higher nor lower, so the "
                         "objective must say which side of the target is the right one",
                         "write direction = \"at_least\" (reach the target) or \"at_most\" (stay under it)")
            return None
        better = "higher" if direction == "at_least" else "lower"
        if entry.target is not None:
            if direction == "at_least" and entry.target <= 0:
                self.problem(f"{path}.target", "a target to reach must be above 0 (progress is value / target)",
                             "for a change against a comparison period, use target_change_pct")
            elif direction == "at_most" and entry.target < 0:
                self.problem(f"{path}.target", "a value not to exceed must be 0 or more")
        elif (entry.target_change_pct > 0) != (direction == "at_least"):
            sign = "positive" if direction == "at_least" else "negative"
            self.problem(f"{path}.target_change_pct", f"{entry.metric} is better {better} here ({direction}): "
                         f"its target change must be {sign}",
                         f"write target_change_pct = {-entry.target_change_pct:g}" + (
                             "" if entry.direction else ", or set direction"))
        return direction

    def _check_objective_where(self, path: str, entry: ObjectiveEntry, workflow: Workflow,
                               producer: Entry | None) -> None:
        """The ``where`` names dimensions the metric is broken down by (no where: its overall
        series), and the accounts of the objective's client."""
        for key in self._check_dimension_where(path, entry.where):
            if producer is not None:
                self._check_broken_down(f"{path}.where.{key}", key, producer)
        if not entry.where and entry.client is not None:  # the client's whole: its `client` row
            if producer is not None and entry.client in self.client_ids:
                self._check_broken_down(f"{path}.client", "client", producer)
        elif not entry.where and producer is not None and () not in grouping_columns(producer.common.by):
            self.problem(f"{path}.where", f"{producer.path} ({producer.info.name}) has no overall series",
                         "add \"overall\" to its `by`, or give the objective a where (e.g. {account = \"...\"})")
        if "client" in entry.where:
            for value in values_of(entry.where["client"]):
                if entry.client is not None and value != entry.client:
                    self.problem(f"{path}.where.client", f"the objective belongs to client {entry.client!r}, "
                                 f"not {value!r}", "remove the where, or the client")
                elif value not in self.client_ids:
                    suggestion = closest(value, self.client_ids)
                    self.problem(f"{path}.where.client", f"no client has id {value!r}",
                                 f"did you mean {suggestion!r}?" if suggestion else
                                 f"client ids: {', '.join(self.client_ids) or 'none'}")
        client = workflow.client(entry.client) if entry.client else None
        if client is not None and "account" in entry.where:
            for account in values_of(entry.where["account"]):
                if not client.owns(account):
                    suggestion = closest(account, list(client.accounts))
                    self.problem(f"{path}.where.account", f"{account!r} is not an account of client {client.id!r}",
                                 f"did you mean {suggestion!r}?" if suggestion else
                                 f"its accounts: {', '.join(client.accounts)}")

    def _check_broken_down(self, path: str, dimension: str, metric: Entry) -> None:
        """A trigger's ``where`` selects on a dimension its metric's rows have: else it would
        match no series and the rule would only ever say "no data"."""
        columns = {c for group in grouping_columns(metric.common.by) for c in group}
        if dimension in columns or dimension in metric.plugin.row_dimensions:
            return
        by = [item for item in GROUPINGS if dimension in GROUPINGS[item]]
        if not by:
            return
        can = [b for b in by if b in metric.plugin.groupings]
        self.problem(path, f"{metric.path} ({metric.info.name}) is not broken down by {dimension}, "
                     "so no series would match", f"add \"{can[0]}\" to its `by`" if can else
                     f"metric {metric.info.name!r} cannot be broken down by {dimension}")


DEFAULT_CLASSIFIED: tuple[str, ...] = ("mention", "conversation")
"""The record kinds a ``[[classifiers]]`` entry labels when it names none (those its sources provide)."""


def _record_fields(kind: str) -> tuple[str, ...]:
    from cmflow.foundation.records import RECORD_KINDS

    return RECORD_KINDS[kind].field_names if kind in RECORD_KINDS else ()


def _default_id(kind: str, common: Any) -> str:
    if kind == "trigger":
        return f"{common.plugin}_{common.metric}"
    return common.plugin


def _a(word: str) -> str:
    """``an output``, ``a source``."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _placeholder_settings() -> WorkflowSettings:
    return WorkflowSettings(name="(invalid)")


def _marked(field: Any, marker: object) -> bool:
    """Whether an option's type carries ``marker`` (``InputPath``, ``WebUrl``), optional or not."""
    from typing import get_args

    return marker in field.metadata or any(marker in getattr(arg, "__metadata__", ())
                                           for arg in get_args(field.annotation))
