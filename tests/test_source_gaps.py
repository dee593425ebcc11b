"""Days an API could no longer return have no value, not 0, in its series only
(stages/source_gaps.py; the YouTube table's range is tested with the export:
tests/test_export_youtube_x.py).

A search API that, like X's recent search, returns the last 7 days only (Lumen's account on X,
one post on 18 November), beside Onde's Facebook export (posts on 12 and 18 November). Run on
Monday 23 November 09:00 for 16-22 November, compared with 9-15 November, by hand:

    series              this week   previous week
    X (lumen)           1           no value: nothing before 16 November 09:00 was fetched
    overall             2           no value: X's part of it is not known
    client lumen        1           no value
    Facebook (onde)     1           1 (the post of the 12th: Facebook's export reaches it)
    client onde         1           1
"""

from __future__ import annotations

import types
from datetime import datetime, timedelta, timezone

from cmflow import RecordTable, Source, hookimpl
from cmflow.builtin.reports.language import language
from cmflow.stages.uncovered_periods import UNCOVERED_REASON
from cmflow.testing import registered_plugin, run_workflow_file


class RecentSearch(Source):
    """Posts from a search that, like X's recent search, returns the last 7 days only: one post
    of lumen on 18 November, 2 likes."""

    name = "recent_search_for_gaps_test"
    description = "A search API reaching back 7 days (a test's stand-in for X's recent search)."
    record_kinds = ("post",)
    incremental = True

    def reaches_back(self):
        return timedelta(days=7)

    def fetch(self, ctx):
        assert ctx.window_start >= ctx.as_of - timedelta(days=7)  # never asked for older days
        published = datetime(2026, 11, 18, 9, tzinfo=timezone.utc)
        rows = [{"platform": "x", "account": "lumen", "post_id": "x-1", "published_at": published, "likes": 2}] \
            if ctx.window_start <= published < ctx.window_end else []
        return [RecordTable.from_rows("post", rows)]


@hookimpl
def register_search(register):
    register(RecentSearch)


WORKFLOW = f"""
[workflow]
name = "Agency weekly"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
compare = ["previous_period"]

[[clients]]
id = "lumen"
name = "Lumen"
accounts = ["lumen"]
language = "fr"

[[clients]]
id = "onde"
name = "Onde"
accounts = ["onde"]
language = "en"

[[sources]]
id = "search"
plugin = "{RecentSearch.name}"

[[sources]]
id = "onde"
plugin = "csv"
path = "onde.csv"

[[metrics]]
plugin = "posts_published"
by = ["overall", "platform", "account", "client"]
"""


def test_a_period_older_than_an_api_source_reaches_has_no_value_in_its_series_only(tmp_path, store_url):
    module = types.ModuleType("gaps_search_source")
    module.register_sources = register_search
    (tmp_path / "onde.csv").write_text("platform,account,post_id,published_at,likes\n"
                                       "facebook,onde,p1,2026-11-12T10:00:00Z,7\n"
                                       "facebook,onde,p2,2026-11-18T10:00:00Z,9\n", encoding="utf-8")
    (tmp_path / "workflow.toml").write_text(WORKFLOW, encoding="utf-8")
    with registered_plugin(module):
        result = run_workflow_file(tmp_path / "workflow.toml", store_url=store_url,
                                   now=datetime(2026, 11, 23, 9, tzinfo=timezone.utc))
    assert [w.code for w in result.warnings] == ["older_than_reach"]
    rows = result.measurements.filter(result.measurements["metric"] == "posts_published")
    got = {(r["period"], r["platform"], r["account"], r["client"]): (r["value"], r["reason"])
           for r in rows.iter_rows(named=True)}
    said = (f"{UNCOVERED_REASON}: source search returns records 7 days back only, and no run fetched "
            "2026-11-09..2026-11-16 in time")
    for series in ((None, None, None), ("x", None, None), ("x", "lumen", None), (None, None, "lumen")):
        assert got[("current", *series)] == (1 if series != (None, None, None) else 2, None)
        assert got[("previous_period", *series)] == (None, said), series
    for series in (("facebook", None, None), ("facebook", "onde", None), (None, None, "onde")):
        assert got[("current", *series)] == (1, None)
        assert got[("previous_period", *series)] == (1, None), series
    comparisons = result.comparisons.filter((result.comparisons["metric"] == "posts_published")
                                            & result.comparisons["platform"].is_null()
                                            & result.comparisons["client"].is_null())
    assert comparisons.row(0, named=True)["change_reason"] == "no value for the comparison period"
    assert language("fr").reason(said) == "Hors des jours couverts par les données lues"
