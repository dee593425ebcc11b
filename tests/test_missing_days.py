"""A day missing from an account's daily activity is said (stages/missing_days.py).

The export below is LinkedIn's Metrics sheet saved as CSV by a French Excel (`;`, day first):
one row per day for the page "Atelier Lumen" from 26 December 2025 to 6 January 2026, without
31 December. The week of 29 December 2025 to 4 January 2026 holds 6 of its 7 days: its
impressions (hand sum of the 6 rows: 300 + 310 + 315 + 320 + 330 + 340 = 1915) leave the day
out, and the run says so. Rows scattered over the week (the days something happened, as some
tools list them) are not a daily series that lost days: nothing is said.
"""

from __future__ import annotations

from cmflow.presentation.language import language
from cmflow.testing import run_workflow_file

DAYS = {"26/12/2025": 100, "27/12/2025": 110, "28/12/2025": 120, "29/12/2025": 300, "30/12/2025": 310,
        "01/01/2026": 315, "02/01/2026": 320, "03/01/2026": 330, "04/01/2026": 340, "05/01/2026": 350,
        "06/01/2026": 360}

WORKFLOW = """
[workflow]
name = "Atelier weekly"
timezone = "Europe/Paris"
period = "2025-12-29..2026-01-04"
compare = ["previous_period"]

[[sources]]
id = "linkedin"
plugin = "csv"
record = "account_activity"
path = "metrics.csv"
delimiter = ";"
date_format = "%d/%m/%Y"
columns = { date = "Date", impressions = "Impressions (total)" }
constants = { platform = "linkedin", account = "Atelier Lumen" }

[[metrics]]
plugin = "totals"
counters = ["impressions"]
by = ["overall"]
"""


def run(tmp_path, store_url, days: dict[str, int]):
    rows = ["Date;Impressions (total)", *(f"{day};{count}" for day, count in days.items())]
    (tmp_path / "metrics.csv").write_text("\ufeff" + "\r\n".join(rows) + "\r\n", encoding="utf-8", newline="")
    (tmp_path / "workflow.toml").write_text(WORKFLOW, encoding="utf-8")
    return run_workflow_file(tmp_path / "workflow.toml", store_url=store_url, dry_run=True)


def warnings(result) -> list[str]:
    [report] = [s for s in result.stages if s.kind == "source" and s.id == "linkedin"]
    return [w for w in report.warnings if getattr(w, "code", "") == "missing_activity_days"]


def test_days_missing_inside_the_export_are_named_with_the_account(tmp_path, store_url):
    result = run(tmp_path, store_url, DAYS)
    current = result.measurements.filter((result.measurements["metric"] == "total_impressions")
                                         & (result.measurements["period"] == "current"))
    assert current["value"].to_list() == [1915]
    [warning] = warnings(result)
    assert warning == ("workflow.toml: source 'linkedin': linkedin Atelier Lumen has no daily activity on "
                       "2025-12-31 (1 day missing between its first and last day): the totals of the "
                       "periods holding these days leave them out, as a missing day is not a 0; export those days again")
    french = language("fr").run_warning(warning)
    assert "aucune activité quotidienne de linkedin Atelier Lumen n'est enregistrée pour ces jours" in french
    assert "2025-12-31" not in french  # the days in the report's own words


def test_a_complete_export_days_outside_its_span_and_scattered_days_are_not_said(tmp_path, store_url):
    complete = {**DAYS, "31/12/2025": 1}
    assert warnings(run(tmp_path, store_url, complete)) == []
    late_start = {day: count for day, count in complete.items() if not day.startswith(("26/", "27/", "28/", "29/"))}
    assert warnings(run(tmp_path, store_url, late_start)) == []  # the file starts mid-week: no day inside it lacks
    scattered = {"29/12/2025": 5, "31/12/2025": 2, "03/01/2026": 1}  # 2 of the 5 days between are absent
    assert warnings(run(tmp_path, store_url, scattered)) == []
