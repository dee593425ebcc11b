"""Time trackers' exports: Toggl Track's and Clockify's detailed reports (time entries), Clockify's
as CSV or Excel and in English or French (its exports name their columns in its user's language).

Headers checked against public parsers, importers and test fixtures written against real
exports (docs/exports.md gives the evidence). The amount columns name the workspace's currency
(``Amount (EUR)``, ``Amount ()`` when none is set): the usual codes are listed, and the one
found is each entry's ``currency``.
"""

from __future__ import annotations

from dataclasses import replace

from cmflow.builtin.sources.export_formats.format import ExportFormat

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK", "JPY", "BRL",
              "MXN", "INR", "ZAR")
"""Currency codes the amount columns are looked for with."""


def _amount_columns(prefix: str) -> tuple[str, ...]:
    return (*(f"{prefix} ({code})" for code in CURRENCIES), f"{prefix} ()", prefix)


CLOCKIFY_DATES = ("%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%Y-%m-%d")
"""Clockify's date formats, month first (day first is told from the file or `date_order`)."""
CLOCKIFY_TIMES = ("%I:%M %p", "%H:%M", "%H:%M:%S", "%I:%M:%S %p")
"""Clockify's time formats: 12-hour (02:00 PM, its default) or 24-hour, with or without seconds."""

TOGGL_DETAILED = ExportFormat(
    name="toggl_detailed",
    title="Toggl Track: detailed report (CSV)",
    platform="toggl",
    record="time_entry",
    file_type="csv",
    identifying=("User", "Email", "Project", "Description", "Billable", "Start date", "Start time", "Duration",
                 "Tags"),
    columns={
        "date": "Start date",
        "hours": "Duration",
        "task": "Description",
        "person": "User",
        "client": "Client",
        "cost": _amount_columns("Amount"),
    },
    optional=("client", "cost"),
    joined={"started_at": ("Start date", "Start time")},
    datetime_format=("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"),
    places={"tags": "Tags", "task": "Task", "project": "Project", "client": "Client"},
    list_places=("tags",),
    zero_is_missing=("cost",),
    notes="Reports -> Detailed -> Export -> Download as CSV. `Start date` is ISO (2026-11-17) in the "
          "tracker user's time zone, the local day of the entry; `Duration` is 02:30:00 (hours over 24 "
          "too: 150:00:00). `Tags` is a comma-separated list: the first tag is the task type by default. "
          "`Amount (EUR)` (the billable amount, in the workspace's currency; `Amount ()` without one) "
          "is the entry's cost, the code in its header the entry's `currency` (metrics refuse to add "
          "amounts in another currency than [production]'s); an amount of 0 or none (no billable rate, not billable) leaves the cost "
          "to the workflow's rates. `Start date` and `Start time` give started_at, in the export's "
          "time zone (the `timezone` option, default the workflow's). The export has no entry id (two "
          "equal rows are one entry). `Email`, `Billable`, `End date`, `End time` are not read.",
)

CLOCKIFY_DETAILED = ExportFormat(
    name="clockify_detailed",
    title="Clockify: detailed report (CSV)",
    platform="clockify",
    record="time_entry",
    file_type="csv",
    identifying=("Project", "Description", "User", "Email", "Start Date", "Start Time", "Duration (h)",
                 "Duration (decimal)"),
    columns={
        "date": "Start Date",
        "hours": ("Duration (h)", "Duration (decimal)"),
        "task": "Description",
        "person": "User",
        "client": "Client",
        "cost": _amount_columns("Billable Amount"),
    },
    optional=("client", "cost"),
    places={"tags": "Tags", "task": "Task", "project": "Project", "client": "Client"},
    list_places=("tags",),
    zero_is_missing=("cost",),
    date_format=CLOCKIFY_DATES,
    joined={"started_at": ("Start Date", "Start Time")},
    datetime_format=tuple(f"{day} {time}" for day in CLOCKIFY_DATES for time in CLOCKIFY_TIMES),
    date_order_chosen_by_user=True,
    notes="Reports -> Detailed -> Export -> Save as CSV. `Start Date` is in the date format the user "
          "chose in Clockify (11/03/2026 month first by default, 03/11/2026 day first, or ISO): the "
          "order is told from a day after the 12th, else from the `date_order` option (default month "
          "first, with a warning). `Duration (h)` (01:20:00, exact) is read, else `Duration (decimal)` (1.33, rounded to the hundredth). "
          "`Tags` is a comma-separated list: the first tag is the task type by default. `Billable "
          "Amount (EUR)` is the entry's cost, the code in its header the entry's `currency`; 0 (no billable rate, not billable) leaves the cost to the "
          "workflow's rates. `Start Date` and `Start Time` (02:00 PM or 14:00) give started_at, in the "
          "export's time zone (the `timezone` option). No entry id (two equal rows are one entry); "
          "`Group`, `Email`, `Billable`, `Billable Rate` are not read.",
)

CLOCKIFY_DETAILED_XLSX = replace(
    CLOCKIFY_DETAILED, name="clockify_detailed_xlsx", title="Clockify: detailed report (Excel)", file_type="xlsx",
    notes="Reports -> Detailed -> Export -> Save as Excel: the CSV's columns, header on the first row of "
          "the first sheet. A cell may hold text as the CSV writes it (11/03/2026, 02:00 PM, 01:20:00) or "
          "an Excel date, time or duration: both are read. Everything else as the CSV export.",
)

CLOCKIFY_DETAILED_FR = ExportFormat(
    name="clockify_detailed_fr",
    title="Clockify in French: detailed report (CSV)",
    platform="clockify",
    record="time_entry",
    file_type="csv",
    identifying=("Projet", "Utilisateur", "Date de début", "Heure de début", "Durée (décimal)"),
    columns={
        "date": "Date de début",
        "hours": "Durée (décimal)",
        "task": "Description",
        "person": "Utilisateur",
        "client": "Client",
    },
    optional=("client",),
    places={"project": "Projet", "client": "Client"},
    date_format=CLOCKIFY_DATES,
    joined={"started_at": ("Date de début", "Heure de début")},
    datetime_format=CLOCKIFY_DETAILED.datetime_format,
    date_order_chosen_by_user=True,
    notes="Clockify whose user chose French (Préférences -> Langue) names the columns in French: "
          "`Projet`, `Client`, `Description`, `Utilisateur`, `Date de début`, `Heure de début`, `Durée "
          "(décimal)` are read as their English names are (dates in the order the user chose, 1,50 or 1.50 "
          "hours). The French names of the tags, task, `Duration (h)` and amount columns are not known "
          "from a public source, so they are not read: the task type is read from the project "
          "(`task_type_from = \"project\"`) or not at all, and the workflow's rates price the time. "
          "`Groupe`, `Email`, `Facturable`, `Date de fin`, `Heure de fin` are not read.",
)

CLOCKIFY_DETAILED_FR_XLSX = replace(
    CLOCKIFY_DETAILED_FR, name="clockify_detailed_fr_xlsx", title="Clockify in French: detailed report (Excel)",
    file_type="xlsx", notes="The French CSV's columns in a workbook (Exporter -> Enregistrer en Excel), read "
    "as the French CSV, with Excel dates, times and durations read as the English workbook's.",
)

FORMATS = (TOGGL_DETAILED, CLOCKIFY_DETAILED, CLOCKIFY_DETAILED_XLSX, CLOCKIFY_DETAILED_FR,
           CLOCKIFY_DETAILED_FR_XLSX)
