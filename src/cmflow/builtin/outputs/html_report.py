"""The ``html_report`` output: one self-contained HTML file (inline CSS and SVG, no script)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import Output, hookimpl
from cmflow.builtin.outputs.html_page import HtmlReportOptions, render_report

if TYPE_CHECKING:
    from cmflow import DeliveryContext, RunResult


class HtmlReport(Output):
    """Writes the period's KPIs (headline cards, tables per breakdown with changes), a chart,
    the alerts, the top posts and the most negative mentions or comments (``most_negative``) to
    one HTML file that opens anywhere, offline.

    Everything from the public (captions, account names) is escaped, and links are kept only
    when they are http(s).
    """

    name = "html_report"
    description = "Write a self-contained HTML report (KPIs, changes, chart, alerts, top posts)."
    Options = HtmlReportOptions

    def check(self, workflow) -> list[tuple[str, str]]:
        options: HtmlReportOptions = self.options
        names = {f"metrics[{i}]": name for i, name in enumerate(options.metrics or [])}
        if options.chart_metric and "chart_metric" in options.model_fields_set:  # the default may be absent
            names["chart_metric"] = options.chart_metric
        return workflow.unknown_measurements(names)

    def deliver(self, result: RunResult, ctx: DeliveryContext) -> str | None:
        from cmflow.builtin.reports.files import replace_atomically

        options: HtmlReportOptions = self.options
        html = render_report(result, options)
        path = result.output_path(options.path)
        if result.failed_sources:  # never in place of the last complete report
            path = path.with_name(f"{path.stem}.incomplete{path.suffix}")
        replace_atomically(path, lambda temporary: temporary.write_text(html, encoding="utf-8"))
        return f"wrote {path}"


@hookimpl
def register_outputs(register):
    register(HtmlReport)
