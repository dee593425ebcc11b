"""The keys every workflow entry of a kind accepts besides its plugin's options.

An entry of ``[[sources]]``, ``[[classifiers]]``, ``[[metrics]]``, ``[[triggers]]`` or ``[[outputs]]`` is these common
keys plus the options of the plugin it names; the common keys are part of the plugin contract
(a plugin's ``Options`` may not reuse them: the registry refuses such a plugin), so they live in
the plugin layer, below the workflow file that reads them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from cmflow.foundation.alerts import SEVERITIES
from cmflow.foundation.durations import Duration, PositiveDuration
from cmflow.foundation.measurements import GROUPINGS
from cmflow.foundation.records import TEXT_RECORD_KINDS
from cmflow.plugins.option_types import WholeNumber

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*$"
"""What an id (of a workflow or an entry) looks like."""
ID_MEANING = "is not an id: an id starts with a letter and holds only letters, digits, '_', '.' and '-' (no spaces)"
"""What :data:`ID_PATTERN` asks for, in words, for a value that does not match it."""
WhereTable = dict[str, Union[str, Annotated[list[str], Field(min_length=1)]]]
"""A ``where`` table: a name and the value, or values, to keep (see :mod:`cmflow.foundation.where_filters`)."""
SECTION_OF_KIND = {"source": "sources", "classifier": "classifiers", "metric": "metrics", "trigger": "triggers",
                   "output": "outputs"}
"""The workflow file's array of tables that holds the entries of each plugin kind."""


class SourceEntry(BaseModel):
    """Keys every ``[[sources]]`` entry accepts besides its plugin's options."""

    model_config = ConfigDict(extra="forbid")
    plugin: str = Field(description="Source plugin name (see `cmflow plugins`).")
    id: str | None = Field(None, pattern=ID_PATTERN, description="Id metrics refer to. Default: the plugin name.")
    look_back: Optional[Duration] = Field(
        None, description="For sources that call an API (kept in the store, fetched incrementally): "
        "how far back records are fetched again at each run, since likes and comments keep coming "
        "after publication. Default 28d.", examples=["14d"])
    where: WhereTable = Field(
        default_factory=dict, description="Keep only the records whose fields match, e.g. {account = "
        "\"brand_a\", date = \"2026-11-01..2026-11-30\"}: fields of the records (account, platform, "
        "pillar, campaign ...) or days (date: a day or a range of days, both included).",
        examples=[{"account": ["brand_a", "brand_a_fr"]}])


class ClassifierEntry(BaseModel):
    """Keys every ``[[classifiers]]`` entry accepts besides its plugin's options."""

    model_config = ConfigDict(extra="forbid")
    plugin: str = Field(description="Classifier plugin name (see `cmflow plugins`).")
    id: str | None = Field(None, pattern=ID_PATTERN, description="Id of this entry. Default: the plugin name.")
    records: list[Literal[TEXT_RECORD_KINDS]] | None = Field(  # type: ignore[valid-type]
        None, min_length=1,
        description="Record kinds whose text to label: mention, conversation (comments and messages), "
        "post (captions). Default: mention and conversation, those of the two its sources provide.",
        examples=[["mention", "conversation", "post"]])
    sources: list[str] | None = Field(None, min_length=1, description="Ids of the sources whose records "
                                      "to label. Default: all.")


class MetricEntry(BaseModel):
    """Keys every ``[[metrics]]`` entry accepts besides its plugin's options."""

    model_config = ConfigDict(extra="forbid")
    plugin: str = Field(description="Metric plugin name (see `cmflow plugins`).")
    id: str | None = Field(None, pattern=ID_PATTERN, description="Id of this entry. Default: the plugin name.")
    sources: list[str] | None = Field(None, min_length=1, description="Ids of the sources to read. "
                                      "Default: all.")
    by: list[Union[Literal[tuple(GROUPINGS)], Annotated[list[Literal[tuple(GROUPINGS)]], Field(min_length=1)]]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["overall", "account"], min_length=1,
        description="Breakdowns to compute: overall, platform, account, format, pillar, campaign, "
        "post (comments of each post), or a list of them combined (e.g. [\"platform\", \"format\"]).",
    )
    where: WhereTable = Field(
        default_factory=dict, description="Read only the records whose dimensions match, e.g. "
        "{platform = \"instagram\"}: every row, the overall one included, is computed from them.",
        examples=[{"platform": "instagram"}])


class TriggerEntry(BaseModel):
    """Keys every ``[[triggers]]`` entry accepts besides its plugin's options."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    plugin: str = Field(description="Trigger plugin name (see `cmflow plugins`).")
    id: str | None = Field(None, pattern=ID_PATTERN, description="Rule id, part of each alert's fingerprint. "
                           "Default: plugin_metric.")
    metric: str = Field(description="Name of the measurement the trigger watches.",
                        examples=["engagement_rate_by_reach"])
    where: WhereTable = Field(
        default_factory=dict, description="Only series whose dimensions match, e.g. {platform = \"instagram\"}.")
    by: Optional[list[Union[Literal[tuple(GROUPINGS)], Annotated[list[Literal[tuple(GROUPINGS)]], Field(min_length=1)]]]] = Field(  # type: ignore[valid-type]
        None, description="Only the series of these breakdowns of the metric (written as a metric's "
        "`by`), e.g. [\"account\"]: each account's series, not the totals per platform or client "
        "that would repeat the same fact. Default: every series.", examples=[["account"]])
    severity: Literal[SEVERITIES] = Field("warning", description="info, warning or critical.")  # type: ignore[valid-type]
    for_runs: WholeNumber = Field(1, ge=1, alias="for", description="Consecutive runs the condition must "
                                  "hold before the alert fires (until then it is pending).", examples=[2])
    keep_firing_for: WholeNumber = Field(0, ge=0, description="Runs a firing alert keeps firing after its "
                                         "condition stops holding, so a flapping series resolves once.",
                                         examples=[1])
    repeat_every: Optional[PositiveDuration] = Field(
        None, description="Announce a still-firing alert again, no more often than this (e.g. "
        "\"1d\", \"1w\"). Default: once per episode.", examples=["1w"])
    no_data: Literal["alert", "keep", "ok"] = Field(
        "alert", description="When the watched metric has no value at all this run (a source "
        "returned nothing): alert (a \"no data\" alert of its own), keep (leave alerts as they "
        "are) or ok (resolve this rule's alerts).")
    on_error: Literal["alert", "keep"] = Field(
        "alert", description="When the rule cannot be evaluated (a source or metric it reads, or "
        "the trigger, failed): alert (an \"error\" alert of its own) or keep (leave alerts as they "
        "are). Alerts are never resolved by a failure.")


class OutputEntry(BaseModel):
    """Keys every ``[[outputs]]`` entry accepts besides its plugin's options."""

    model_config = ConfigDict(extra="forbid")
    plugin: str = Field(description="Output plugin name (see `cmflow plugins`).")
    id: str | None = Field(None, pattern=ID_PATTERN, description="Id of this entry. Default: the plugin name.")
    when: Optional[Literal["always", "alerts", "change"]] = Field(
        None, description="always: at every run; alerts: when an alert is firing; change: when an "
        "alert event is due (an alert started firing, is due a reminder, or resolved). Default: "
        "always, change for notifiers (email, chat, webhooks).")
    where: WhereTable = Field(
        default_factory=dict, description="Show only the measurement rows, alerts and records whose "
        "dimensions match, e.g. {account = \"brand_a\"}. Rows not broken down by that dimension "
        "(the overall row) are left out: they add up everything.", examples=[{"account": "brand_a"}])


ENTRY_MODELS: dict[str, type[BaseModel]] = {
    "source": SourceEntry, "classifier": ClassifierEntry, "metric": MetricEntry, "trigger": TriggerEntry,
    "output": OutputEntry,
}


def entry_keys(model: type[BaseModel]) -> set[str]:
    """The TOML keys of an entry model (``for``, not the Python name ``for_runs``)."""
    return {info.alias or name for name, info in model.model_fields.items()}
