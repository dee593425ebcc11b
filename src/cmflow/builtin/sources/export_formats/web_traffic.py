"""Web analytics exports of UTM-tagged traffic: GA4's report and exploration downloads (CSV) and
the neutral `utm_*` CSV of link shorteners and shops. Read by
:mod:`cmflow.builtin.sources.traffic_exports` (``reader = "traffic"``)."""

from __future__ import annotations

from cmflow.builtin.sources.export_formats.format import ExportFormat

GA4_TRAFFIC = ExportFormat(
    name="ga4_traffic",
    title="GA4 traffic acquisition report or exploration, by session source / medium and campaign (CSV)",
    platform="web",
    record="traffic",
    file_type="csv",
    identifying=("Session source / medium", "Session campaign", "Sessions"),
    columns={
        "date": "Date",
        "source": "Session source / medium",
        "medium": "Session source / medium",
        "campaign": "Session campaign",
        "content": "Session manual ad content",
        "sessions": "Sessions",
        "users": "Total users",
        "conversions": ("Key events", "Conversions"),
        "revenue": "Total revenue",
    },
    optional=("content", "users", "conversions", "revenue"),
    split={"Session source / medium": " / "},
    not_records={"Session source / medium": ("Total", "Totals", "Grand total")},
    date_format=("%Y%m%d",),
    reader="traffic",
    notes="Lines starting with `#` above the header (the report's name, property and date range) are "
          "passed over. `Session source / medium` holds both fields, split on \" / \"; the platform is "
          "read from the source (`ig`, `l.instagram.com`, `lnkd.in`, `t.co` ...). The totals row GA4 "
          "puts under the header (its dimensions empty, or `Grand total`) is not a record. `Date` is "
          "written `20261118`: add the Date dimension to the report or exploration before downloading "
          "(a file without it has no day for its figures and is refused). `Key events` were "
          "`Conversions` before March 2024. `Total revenue` may carry the currency sign and thousands "
          "separators of the property's locale (`€1,234.50`, `1 234,50 €`).",
)

UTM_TRAFFIC = ExportFormat(
    name="utm_traffic",
    title="UTM traffic by utm_source, utm_medium and utm_campaign, a day a row (CSV from a link shortener, "
          "a shop or a spreadsheet)",
    platform="web",
    record="traffic",
    file_type="csv",
    identifying=("utm_source", "utm_medium", "utm_campaign", "sessions"),
    columns={
        "date": "date",
        "source": "utm_source",
        "medium": "utm_medium",
        "campaign": "utm_campaign",
        "content": "utm_content",
        "sessions": "sessions",
        "users": "users",
        "conversions": "conversions",
        "revenue": "revenue",
    },
    optional=("content", "users", "conversions", "revenue"),
    not_records={"utm_source": ("Total", "Totals", "Total général")},
    date_format=("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y"),
    reader="traffic",
    notes="cmflow's neutral shape: `utm_source, utm_medium, utm_campaign, utm_content, date, sessions, users, "
          "conversions, revenue` (the last four but sessions may be left out). `;` or `,` separated; "
          "numbers and amounts in the file's locale (`1 234,50 €` in a `;` file, `1,234.50` in a `,` one); "
          "dates ISO, `20261118`, or `18/11/2026` (day first in a `;` file or where a day is past 12, "
          "else month first). The platform is read from utm_source.",
)

FORMATS = (GA4_TRAFFIC, UTM_TRAFFIC)
