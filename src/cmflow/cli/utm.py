"""``cmflow utm``: UTM-tagged links, for one address or for every item of a workflow's calendar.

Values are written as :mod:`cmflow.foundation.utm_links` does it (lower case, accents dropped,
other characters ``-``), the rule the ``untagged_links`` metric checks links against. This
module reads the arguments and prints; which calendar items get which link is
:mod:`cmflow.calendar_links`.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from cmflow.foundation.errors import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED, WorkflowInvalid

@click.command()
@click.argument("target", metavar="URL|WORKFLOW")
@click.option("--source", help="utm_source: the platform the link is posted on (instagram, linkedin ...).")
@click.option("--medium", default="social", show_default=True, help="utm_medium.")
@click.option("--campaign", help="utm_campaign: the campaign the link belongs to.")
@click.option("--content", help="utm_content: tells apart several links of one campaign (optional).")
@click.option("--calendar", is_flag=True, help="The argument is a workflow file: tag the link of each calendar item of its period.")
@click.option("--period", "period_spec", metavar="PERIOD",
              help="With --calendar: the items planned in this period (last_week, 7d, "
              "2026-12-07..2026-12-13 ...). Default: the workflow's period.")
@click.option("--url", "default_url", metavar="URL",
              help="With --calendar: the address to tag for items without a planned link of their own.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="With --calendar: write the CSV to this file instead of printing it.")
def utm(target: str, source: str | None, medium: str, campaign: str | None, content: str | None,
        calendar: bool, period_spec: str | None, default_url: str | None, output: Path | None) -> None:
    """Build UTM-tagged links.

    \b
    cmflow utm URL --source instagram --campaign soldes-hiver [--medium social] [--content ...]
        prints URL tagged: its other query parameters kept, any utm_* in it replaced; a
        platform's nickname as source is its name (IG, Insta: instagram).
    cmflow utm WORKFLOW --calendar [--period P] [--url URL] [-o FILE]
        reads the workflow's calendar items (running its sources) and prints a CSV, one row per
        item planned in the period: item_id, title, platform, planned_at (the workflow's time
        zone), campaign, tagged_link (source = the item's platform, medium = --medium,
        campaign = the item's campaign) and a note when no link could be made.

    Every value is written in lower case, accents dropped, other characters as "-"
    ("Soldes Hiver" -> soldes-hiver), so that one campaign is always spelt one way.
    Exit code 2 for an address, a value or a workflow that cannot be used.
    """
    if calendar:
        if source or campaign or content:
            _fail("--source, --campaign and --content are for one URL; with --calendar they come from each item")
        _calendar_links(target, medium, period_spec, default_url, output)
        return
    if period_spec or default_url or output:
        _fail("--period, --url and --output go with --calendar")
    missing = [name for name, value in (("--source", source), ("--campaign", campaign)) if not value]
    if missing:
        _fail(f"tagging {target!r} needs {' and '.join(missing)} (or --calendar, if it is a workflow file)")
    from cmflow.foundation.platform_names import platform_of
    from cmflow.foundation.utm_links import tagged

    source = platform_of(source) or source  # IG, Insta, instagram.com: instagram, as posts name it
    try:
        click.echo(tagged(target, source=source or "", medium=medium, campaign=campaign or "", content=content))
    except ValueError as error:
        _fail(str(error))


def _fail(message: str) -> None:
    click.secho(f"✗ {message}", fg="red", err=True)
    raise SystemExit(EXIT_INVALID)


def _calendar_links(file: str, medium: str, period_spec: str | None, default_url: str | None,
                    output: Path | None) -> None:
    """The calendar rows of workflow ``file`` as CSV, on standard output or in ``output``."""
    from cmflow.calendar_links import CALENDAR_COLUMNS, NoCalendarSource, calendar_links
    from cmflow.foundation.periods import PeriodError
    from cmflow.foundation.spreadsheet_formulas import neutralise
    from cmflow.foundation.utm_links import http_address
    from cmflow.cli.common import configure_logging, print_problems
    from cmflow.stages.run_periods import resolve_period
    from cmflow.workflow import load_workflow

    try:
        workflow = load_workflow(file)
    except WorkflowInvalid as error:
        print_problems(error, file)
        sys.exit(EXIT_INVALID)
    if default_url is not None:
        try:
            http_address(default_url)
        except ValueError as error:
            _fail(f"--url: {error}")
    try:
        period = resolve_period(workflow, period_spec)
    except (PeriodError, ValueError) as error:
        _fail(f"--period: {error}")
    configure_logging()  # a source's notes are printed below, once ("! source …")
    try:
        links = calendar_links(workflow, period, medium, default_url)
    except NoCalendarSource as error:
        _fail(str(error))
    for source_id, error_text in links.failed:
        click.secho(f"✗ source {source_id}: {error_text}", fg="red", err=True)
    for source_id, problem in links.problems:
        click.echo(f"! source {source_id}: {problem}", err=True)
    if links.failed:
        sys.exit(EXIT_RUN_FAILED)
    rows = links.rows
    target = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(CALENDAR_COLUMNS)
        writer.writerows([neutralise(cell) for cell in row] for row in rows)
    finally:
        if output:
            target.close()
    if output:
        click.echo(f"✓ {len(rows)} calendar item{'s' if len(rows) != 1 else ''} written to {output}", err=True)
    sys.exit(EXIT_OK)
