"""cmflow: automation for community managers.

This module is the stable public API a plugin author imports (with ``cmflow.http`` for the
HTTP kit and ``cmflow.testing`` for tests; docs/writing-plugins.md lists the names)::

    from cmflow import hookimpl, Source, Classifier, Metric, Trigger, Output, PluginOptions, RecordTable

Everything else inside the package may move between releases; cmflow's built-in plugins import
nothing else either (tests/test_public_api.py). Names are imported on first use (PEP 562), so
that ``cmflow --help`` does not pay for pydantic or Polars.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    # the contract
    "hookimpl": "plugins.hookspecs", "Source": "plugins.kinds", "Classifier": "plugins.kinds",
    "Metric": "plugins.kinds",
    "Trigger": "plugins.kinds", "Output": "plugins.kinds", "Notifier": "plugins.kinds",
    "PluginOptions": "plugins.kinds", "NotifierOptions": "plugins.kinds",
    # what flows through a run
    "FetchContext": "plugins.context", "RecordTable": "foundation.records", "MetricInput": "plugins.context",
    "TriggerInput": "plugins.context", "Alert": "foundation.alerts", "Verdict": "foundation.alerts",
    "DeliveryContext": "plugins.context", "RunResult": "plugins.result", "Period": "foundation.periods",
    "RunWarning": "foundation.run_warnings",
    # the records' vocabulary
    "RECORD_KINDS": "foundation.records", "COUNTERS": "foundation.records", "POST_FORMATS": "foundation.records",
    "merged_records": "foundation.records", "SENTIMENTS": "foundation.records",
    "sentiment_of": "foundation.sentiment_labels", "read_sentiments": "foundation.sentiment_labels",
    "TEXT_RECORD_KINDS": "foundation.records", "folded_text": "foundation.listening",
    "BRANDS_COLUMN": "foundation.listening", "normalised_authors": "foundation.listening",
    "account_key": "foundation.listening",
    "normalised_texts": "foundation.listening", "unshared_counters": "foundation.listening",
    "language_code": "foundation.language_codes", "platform_of": "foundation.platform_names",
    "campaign_key": "foundation.campaign_names", "campaign_key_of": "foundation.campaign_names",
    # editorial calendars: the names people give formats and statuses, and plans for a day
    "format_of": "foundation.format_names",
    "status_of": "foundation.calendar_statuses", "CALENDAR_STATUSES": "foundation.calendar_statuses",
    "whole_day_instant": "foundation.planned_days", "is_whole_day": "foundation.planned_days",
    "whole_day_plan": "foundation.planned_days",
    # measurements: what a metric builds its frame with, and what a trigger reads it by
    "aggregate": "foundation.measurements", "ratio": "foundation.measurements",
    "measurement_rows": "foundation.measurements", "dimension_columns": "foundation.measurements",
    "row_dimensions": "foundation.measurements", "with_series_key": "foundation.measurements",
    "instant_literal": "foundation.literals",
    # cmflow doctor: what a source's check_credentials returns
    "CredentialCheck": "plugins.credentials", "RateBudget": "plugins.credentials",
    # notifications: what notifiers compose and send through the outbox
    "NotificationBatch": "plugins.notifications", "Notification": "foundation.alerts",
    "Message": "plugins.notifications", "SendContext": "plugins.notifications",
    "DeliveryFailed": "plugins.notifications",
    # presentation helpers outputs share, so every output shows the same numbers the same way
    "kpi_tables": "presentation.summary", "format_value": "presentation.numbers",
    "format_number": "presentation.numbers", "format_percent": "presentation.numbers",
    "shows_unit": "presentation.numbers", "is_currency": "presentation.numbers",
    "format_change": "presentation.numbers", "change_basis": "presentation.numbers", "metric_label": "presentation.summary",
    "ranked_posts": "presentation.summary", "ranked_items": "presentation.summary",
    "table_console": "presentation.terminal",
    # the reports' words in a reader's language: the message catalogues and Babel's formats
    "language": "presentation.language", "Language": "presentation.language", "MessageError": "presentation.language",
    "language_problems": "foundation.report_languages", "objective_figures": "presentation.objective_words",
    "objective_rule": "presentation.objective_words",
    # option types that check at validate what would fail at run time, and what to say when one fails
    "TimeZoneName": "plugins.option_types", "StrftimeFormats": "plugins.option_types",
    "TextEncoding": "plugins.option_types", "WebUrl": "plugins.option_types", "HexColour": "plugins.option_types",
    "OutputPath": "plugins.option_types", "ReportPath": "plugins.option_types", "OutputFolder": "plugins.option_types", "InputPath": "plugins.option_types",
    "Number": "plugins.option_types", "WholeNumber": "plugins.option_types",
    "ServiceHours": "foundation.business_hours", "business_seconds": "foundation.business_hours",
    "business_time_between": "foundation.business_hours",
    "Duration": "foundation.durations", "PositiveDuration": "foundation.durations",
    "hours_of": "foundation.tracked_time", "hours_or_none": "foundation.tracked_time",
    "DURATION_FORMS": "foundation.tracked_time", "NO_TIME_ENTRIES": "foundation.tracked_time",
    "InvalidOption": "plugins.option_errors", "closest": "foundation.names",
    # files, errors and secrets
    # cmflow inspect: what a file source says of a file
    "InspectsFiles": "plugins.inspection", "FileInspection": "plugins.inspection",
    "SearchesTerms": "plugins.search_terms", "ListsItems": "plugins.alert_items", "AlertItem": "foundation.alerts",
    "SharesAggregates": "plugins.shared_aggregates", "Aggregate": "plugins.shared_aggregates",
    "InspectedTable": "plugins.inspection",
    "read_input_file": "plugins.input_paths", "resolve_input_path": "plugins.input_paths",
    "neutralise": "foundation.spreadsheet_formulas", "UserFacingError": "foundation.errors",
    "DataFileError": "foundation.errors", "binary_file_kind": "foundation.file_signatures",
    "is_workbook": "foundation.file_signatures", "zip_contents": "foundation.file_signatures",
    "zip_advice": "foundation.file_signatures",
    "BYTE_ORDER_MARKS": "foundation.text_encodings", "encoding_in_bytes": "foundation.text_encodings",
    "unmarked_utf16": "foundation.text_encodings", "mark_secret": "foundation.secrets",
    "EmailAddress": "foundation.email_addresses", "parse_address": "foundation.email_addresses",
    # metric polarity, objectives and clients: what reports speak from
    "Polarity": "foundation.polarity", "change_tone": "foundation.polarity",
    "Objective": "foundation.objectives", "ObjectiveResult": "foundation.objectives",
    "Ladder": "foundation.objectives", "GOALS": "foundation.objectives", "VERDICTS": "foundation.objectives",
    "Client": "foundation.clients", "client_of": "foundation.clients",
    "accounts_of_no_client": "foundation.clients", "account_display_name": "foundation.clients",
    "campaign_owners": "foundation.clients",
    # UTM-tagged links
    "NONE_LABEL": "foundation.measurements", "REQUIRED_UTM": "foundation.utm_links",
    "utm_value": "foundation.utm_links", "utm_tags": "foundation.utm_links", "link_to_check": "foundation.utm_links",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from cmflow.foundation.version import cmflow_version

        value = cmflow_version()
    elif name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'cmflow' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # what type checkers and editors see
    from cmflow.foundation.alerts import Alert, Notification, Verdict
    from cmflow.foundation.business_hours import ServiceHours, business_seconds, business_time_between
    from cmflow.foundation.calendar_statuses import CALENDAR_STATUSES, status_of
    from cmflow.foundation.campaign_names import campaign_key, campaign_key_of
    from cmflow.foundation.clients import (Client, account_display_name, accounts_of_no_client, campaign_owners,
                                           client_of)
    from cmflow.foundation.durations import Duration, PositiveDuration
    from cmflow.foundation.tracked_time import DURATION_FORMS, NO_TIME_ENTRIES, hours_of, hours_or_none
    from cmflow.foundation.email_addresses import EmailAddress, parse_address
    from cmflow.foundation.errors import DataFileError, UserFacingError
    from cmflow.foundation.format_names import format_of
    from cmflow.foundation.language_codes import language_code
    from cmflow.foundation.literals import instant_literal
    from cmflow.foundation.listening import (BRANDS_COLUMN, account_key, folded_text, normalised_authors,
                                             normalised_texts, unshared_counters)
    from cmflow.foundation.measurements import (NONE_LABEL, aggregate, dimension_columns, measurement_rows, ratio,
                                                row_dimensions, with_series_key)
    from cmflow.foundation.names import closest
    from cmflow.foundation.objectives import GOALS, VERDICTS, Ladder, Objective, ObjectiveResult
    from cmflow.foundation.periods import Period
    from cmflow.foundation.run_warnings import RunWarning
    from cmflow.foundation.planned_days import is_whole_day, whole_day_instant, whole_day_plan
    from cmflow.foundation.platform_names import platform_of
    from cmflow.foundation.polarity import Polarity, change_tone
    from cmflow.foundation.records import (COUNTERS, POST_FORMATS, RECORD_KINDS, SENTIMENTS, TEXT_RECORD_KINDS,
                                           RecordTable, merged_records)
    from cmflow.foundation.secrets import mark_secret
    from cmflow.foundation.sentiment_labels import read_sentiments, sentiment_of
    from cmflow.foundation.spreadsheet_formulas import neutralise
    from cmflow.foundation.utm_links import REQUIRED_UTM, link_to_check, utm_tags, utm_value
    from cmflow.plugins.context import DeliveryContext, FetchContext, MetricInput, TriggerInput
    from cmflow.plugins.credentials import CredentialCheck, RateBudget
    from cmflow.plugins.hookspecs import hookimpl
    from cmflow.plugins.input_paths import read_input_file, resolve_input_path
    from cmflow.plugins.inspection import FileInspection, InspectedTable, InspectsFiles
    from cmflow.plugins.search_terms import SearchesTerms
    from cmflow.plugins.alert_items import ListsItems
    from cmflow.plugins.shared_aggregates import Aggregate, SharesAggregates
    from cmflow.foundation.alerts import AlertItem
    from cmflow.plugins.kinds import (Classifier, Metric, Notifier, NotifierOptions, Output, PluginOptions, Source,
                                      Trigger)
    from cmflow.plugins.notifications import DeliveryFailed, Message, NotificationBatch, SendContext
    from cmflow.plugins.option_errors import InvalidOption
    from cmflow.plugins.option_types import (HexColour, InputPath, Number, OutputFolder, OutputPath, ReportPath,
                                             StrftimeFormats, TextEncoding, TimeZoneName, WebUrl, WholeNumber)
    from cmflow.plugins.result import RunResult
    from cmflow.foundation.file_signatures import binary_file_kind, is_workbook, zip_advice, zip_contents
    from cmflow.foundation.text_encodings import BYTE_ORDER_MARKS, encoding_in_bytes, unmarked_utf16
    from cmflow.presentation.language import Language, MessageError, language
    from cmflow.foundation.report_languages import language_problems
    from cmflow.presentation.objective_words import objective_figures, objective_rule
    from cmflow.presentation.numbers import (change_basis, format_change, format_number, format_percent, format_value, is_currency,
                                             shows_unit)
    from cmflow.presentation.summary import kpi_tables, metric_label, ranked_items, ranked_posts
    from cmflow.presentation.terminal import table_console

    __version__: str
