"""The ``report`` output: client-ready reports, one per client (or one for the workflow), for an
audience (client, management, marketing), in the reader's language, as HTML, PDF, XLSX, and the
measurements as CSV and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cmflow import Output, hookimpl
from cmflow.builtin.outputs.report_options import ReportOptions, client_breakdowns_missing

if TYPE_CHECKING:
    from cmflow import DeliveryContext, RunResult


class Report(Output):
    """Writes a report per client (or one for the workflow) for its audience and in its language:
    summary KPIs against the previous period and last year, objectives with their decisions,
    platforms and accounts, top and flop posts, insights, best times to post, alerts and the CM's
    commentary; HTML, PDF and XLSX, and the measurements as CSV and JSON.

    Text from the public is escaped in HTML and neutralised against formulas in spreadsheets.
    """

    name = "report"
    description = "Write client-ready reports (HTML, PDF, XLSX, CSV, JSON) per client, audience and language."
    Options = ReportOptions

    def history_needed(self) -> int:
        """The earlier periods the trend charts show."""
        options: ReportOptions = self.options
        return max(options.trend_periods - 1, 0)

    def check(self, workflow) -> list[tuple[str, str]]:
        from cmflow import language_problems

        options: ReportOptions = self.options
        problems = workflow.unknown_measurements({f"metrics[{i}]": m for i, m in enumerate(options.metrics or [])})
        problems += language_problems(options.language)
        known = [c.id for c in workflow.clients]
        problems += _overwritten_files(workflow, options)
        if options.templates and not (Path(workflow.directory) / options.templates).is_dir():
            problems.append(("templates", f"{options.templates!r} is not a folder next to the workflow file: "
                             "give the folder of your templates (client.html.j2 ...), relative to it"))
        if known and options.clients != "none":
            problems += client_breakdowns_missing(workflow, options)
        if isinstance(options.clients, list):
            for index, client in enumerate(options.clients):
                if client not in known:
                    problems.append((f"clients[{index}]", f"no client {client!r} in the workflow's [[clients]]"
                                     + (f"; they are {', '.join(known)}" if known else "")))
        return problems

    def deliver(self, result: RunResult, ctx: DeliveryContext) -> str | None:
        from cmflow.builtin.reports.writing import commentary_folders_missing, write_reports

        directory = Path(result.workflow.directory)
        written = write_reports(result, self.options, directory)
        note = f"wrote {len(written)} file{'s' if len(written) != 1 else ''}: " + ", ".join(str(p) for p in written)
        missing = commentary_folders_missing(result, self.options, directory)
        if missing:  # a misspelt commentary path would otherwise go unnoticed, run after run
            note += (f"; no commentary: folder {', '.join(str(f) for f in missing)} does not exist "
                     f"(commentary = {self.options.commentary!r}, relative to the workflow file)")
        return note


def _overwritten_files(workflow, options: ReportOptions) -> list[tuple[str, str]]:
    """A path that does not tell the files apart would write each over the one before."""
    problems = []
    many_clients = len(workflow.clients) > 1 and options.clients != "none" and (
        not isinstance(options.clients, list) or len(options.clients) > 1)
    if many_clients and "{client}" not in options.path:
        problems.append(("path", "one report is written per client, but the path has no {client}: each "
                         "client's file would replace the one before; add {client}, e.g. "
                         "reports/{client}-{period}.{format}"))
    if len(options.formats) > 1 and "{format}" not in options.path:
        problems.append(("path", f"{len(options.formats)} formats are written, but the path has no {{format}}: "
                         "each would replace the one before; end it with .{format}"))
    return problems


@hookimpl
def register_outputs(register):
    register(Report)
