"""The client breakdown: each client's whole is computed from its own accounts' records alone,
and a client whose accounts published nothing still has its row (0 posts, no rate and why)."""

from __future__ import annotations

import polars as pl

from cmflow.testing import run_workflow_file

WORKFLOW = """
[workflow]
name = "Clients"
period = "2026-11-16..2026-11-22"

[[clients]]
id = "lumen"
name = "Maison Lumen"
language = "fr"
accounts = ["lumen", "lumen.paris"]

[[clients]]
id = "verde"
name = "Velo Verde"
language = "en"
accounts = ["verde"]

[[clients]]
id = "quiet"
name = "Quiet Brand"
language = "en"
accounts = ["quiet"]

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall", "client", ["client", "platform"]]

[[metrics]]
plugin = "posts_published"
by = ["client"]
"""

POSTS = """platform,account,post_id,published_at,likes,comments,reach
instagram,lumen,l1,2026-11-17T10:00:00Z,30,10,1000
facebook,lumen.paris,l2,2026-11-18T10:00:00Z,5,0,500
instagram,verde,v1,2026-11-19T10:00:00Z,90,10,2000
instagram,nobody,n1,2026-11-19T10:00:00Z,500,0,1000
"""


def test_each_clients_figures_come_from_its_own_accounts(tmp_path, store_url) -> None:
    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    (tmp_path / "w.toml").write_text(WORKFLOW, encoding="utf-8")
    result = run_workflow_file(tmp_path / "w.toml", store_url=store_url)
    current = result.measurements.filter(pl.col("period") == "current")

    def value(metric: str, **dimensions: str):
        rows = current.filter(pl.col("metric") == metric)
        for column in ("client", "platform"):
            wanted = dimensions.get(column)
            rows = rows.filter(pl.col(column) == wanted if wanted else pl.col(column).is_null())
        [row] = rows.iter_rows(named=True)
        return row["value"], row["reason"]

    # lumen: (30 + 10 + 5) / (1000 + 500) = 3 %; verde: 100 / 2000 = 5 %; the account of no client
    # counts in the overall figure only: (40 + 5 + 100 + 500) / 4500 = 14.33 %
    assert value("engagement_rate_by_reach", client="lumen") == (3.0, None)
    assert value("engagement_rate_by_reach", client="lumen", platform="instagram") == (4.0, None)
    assert value("engagement_rate_by_reach", client="lumen", platform="facebook") == (1.0, None)
    assert value("engagement_rate_by_reach", client="verde") == (5.0, None)
    assert round(value("engagement_rate_by_reach")[0], 2) == 14.33
    assert value("posts_published", client="quiet") == (0.0, None)
    assert value("engagement_rate_by_reach", client="quiet") == (None, "no posts in this period")


def test_a_source_of_one_clients_account_that_fails_leaves_the_others_report_complete(tmp_path, monkeypatch) -> None:
    """The demo with Trailhead's TikTok export missing: Trailhead's report is incomplete, Maison
    Lumière's is complete: the failed source reads an account of Trailhead's only (its `account`
    option)."""
    import re

    from demo_scenario import demo_without_client_reports

    # The demo's [workflow], its clients, its Meta export and Trailhead's TikTok source; no more
    # of its sources and metrics, which a report of what failed does not need.
    blocks = re.split(r"(?=^\[)", demo_without_client_reports(), flags=re.MULTILINE)
    kept = [b for b in blocks if b.startswith(("[workflow]", "[[clients]]"))
            or 'id = "meta"' in b or 'id = "tiktok_trailhead"' in b]
    assert len(kept) == 5, kept
    text = "".join(kept).replace(
        'path = "builtin:demo/exports/trailhead-outfitters/tiktok/"', 'path = "exports/gone/tiktok/"') + '''
[[metrics]]
plugin = "posts_published"
by = ["overall", "client"]

[[outputs]]
id = "pages"
plugin = "report"
path = "pages/{client}.{format}"
'''
    (tmp_path / "demo.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_workflow_file(tmp_path / "demo.toml", store_url=f"sqlite:///{tmp_path / 'state.db'}")
    assert [s.id for s in result.failed_sources] == ["tiktok_trailhead"]
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == [
        "maison-lumiere.html", "trailhead-outfitters.incomplete.html"]
    page = (tmp_path / "pages" / "trailhead-outfitters.incomplete.html").read_text(encoding="utf-8")
    assert "<strong>Incomplete report</strong> Some data could not be retrieved for this period (an exported file)" in page


def test_ranked_posts_gives_one_ranking_the_workflows_or_a_clients(tmp_path, store_url) -> None:
    """`top_posts` by client ranks each client's posts apart; the console and html_report show the
    whole workflow's ranking, not every client's mixed with it."""
    from cmflow import ranked_posts

    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    (tmp_path / "w.toml").write_text(WORKFLOW + '\n[[metrics]]\nplugin = "top_posts"\nby = ["overall", "client"]\n',
                                     encoding="utf-8")
    result = run_workflow_file(tmp_path / "w.toml", store_url=store_url)
    overall = ranked_posts(result, "top_posts")
    # ERR per post: n1 50 %, v1 5 %, l1 4 %, l2 1 %
    assert [(row["rank"], row["post_id"]) for row in overall] == [(1, "n1"), (2, "v1"), (3, "l1"), (4, "l2")]
    assert [(row["rank"], row["post_id"]) for row in ranked_posts(result, "top_posts", client="lumen")] == [
        (1, "l1"), (2, "l2")]
    # A client without a ranking of its own falls back to the whole workflow's.
    assert [row["post_id"] for row in ranked_posts(result, "top_posts", client="nobody")] == ["n1", "v1", "l1", "l2"]


def test_clients_accounts_match_the_records_as_a_brands_do(tmp_path, store_url) -> None:
    """The [[clients]] accounts written as a CM may ("@Lumen", " LUMEN.paris ", "Verde") own the
    records of lumen, lumen.paris and verde: one rule with [listen] brands' accounts (case,
    accents, blanks, a leading @). Same figures as the exact spelling above."""
    from cmflow.builtin.reports.scopes import ReportScope

    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    text = WORKFLOW.replace('accounts = ["lumen", "lumen.paris"]', 'accounts = ["@Lumen", " LUMEN.paris "]') \
        .replace('accounts = ["verde"]', 'accounts = { "Vérde" = "Velo Verde on Instagram" }')
    (tmp_path / "w.toml").write_text(text, encoding="utf-8")
    result = run_workflow_file(tmp_path / "w.toml", store_url=store_url)
    rate = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == "engagement_rate_by_reach")
                                      & pl.col("platform").is_null())
    assert dict(zip(rate["client"], rate["value"])) == {None: rate.filter(pl.col("client").is_null())["value"][0],
                                                        "lumen": 3.0, "verde": 5.0, "quiet": None}
    assert result.records["post"].select("account", "client").sort("account").rows() == [
        ("lumen", "lumen"), ("lumen.paris", "lumen"), ("nobody", None), ("verde", "verde")]
    verde = result.workflow.client("verde")
    assert verde.owns("verde") and verde.display_name("verde") == "Velo Verde on Instagram"
    scope = ReportScope(verde, frozenset(("*", account) for account in verde.accounts), {})
    assert scope.holds({"platform": "instagram", "account": "verde"})
    assert result.records["post"].filter(scope.record_filter())["post_id"].to_list() == ["v1"]


def test_one_account_spelt_two_ways_by_two_clients_is_refused(tmp_path) -> None:
    import pytest

    from cmflow.foundation.errors import WorkflowInvalid
    from cmflow.workflow import load_workflow

    (tmp_path / "w.toml").write_text(WORKFLOW.replace('accounts = ["verde"]', 'accounts = ["verde", "@Lumen"]'),
                                     encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(tmp_path / "w.toml")
    [problem] = raised.value.problems
    assert (problem.path, problem.message) == ("clients[1].accounts",
                                               "account '@Lumen' already belongs to client 'lumen'")
