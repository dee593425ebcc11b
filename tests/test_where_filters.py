"""`where` on sources (records kept), metrics (records read) and outputs (rows and alerts shown).

Every run reads the same agency-wide export (`fixtures/where/agency-posts.csv`, an invented
scheduling tool's shape: byte-order mark, CRLF, US month-first dates with times, thousands
with a comma, a caption over two lines) of two clients on three platforms, through the csv
source, into a real SQLite store. The expected figures are worked out by hand below.

    week 2026-11-16..2026-11-22 (previous week: ig-a0 for Maison Lumen, fb-b0 for Velo Verde)
    client        post   platform   account           likes comments shares reach pillar    campaign
    Maison Lumen  ig-a1  instagram  maisonlumen          80      5      3   1200 Produit   Noel
                  fb-a1  facebook   maisonlumen          30      4      6   2500 Produit   Noel
                  ig-a2  instagram  maisonlumen          40      2      1    900 Coulisses
                  li-a1  linkedin   maison-lumen         25      3      2    700 Coulisses
    Velo Verde    ig-b1  instagram  veloverde           150     12      9   3000 Produit
                  fb-b1  facebook   veloverde.bikes      22      1      4   1800 Conseils
                  li-b1  linkedin   velo-verde           10      0      1    400 Conseils
                  ig-b2  instagram  veloverde            90      6      2   2200 Conseils  Hiver
    previous week: ig-a0 instagram maisonlumen 50 likes, 1000 reach; fb-b0 facebook veloverde.bikes 35 likes
"""

from __future__ import annotations

import shutil
import types
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from cmflow import Output, hookimpl
from cmflow.presentation.language import language
from cmflow.cli import main
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.foundation.records import ACCOUNT_SNAPSHOT, POST, TRAFFIC
from cmflow.foundation.where_filters import DayRange, parse_days, record_where_problems
from cmflow.testing import registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow

FIXTURE = Path(__file__).parent / "fixtures" / "where" / "agency-posts.csv"
EXPORTS = Path(__file__).parent / "fixtures" / "exports"
WEEK = "2026-11-16..2026-11-22"
MAISON_LUMEN = '["maisonlumen", "maison-lumen"]'
VELO_VERDE = '["veloverde", "veloverde.bikes", "velo-verde"]'

AGENCY_SOURCE = '''
[[sources]]
id = "agency"
plugin = "csv"
path = "agency-posts.csv"
datetime_format = "%m/%d/%Y %H:%M"
thousands = ","
columns = { published_at = "Date", platform = "Network", account = "Profile", post_id = "Post ID", text = "Message", reach = "Reach", impressions = "Impressions", likes = "Likes", comments = "Comments", shares = "Shares", pillar = "Pillar", campaign = "Campaign" }
'''


def workflow(*, source_where: str = "", metric_where: str = "", by: str = '["overall", "platform", "account"]',
             extra: str = "") -> str:
    return f'''
[workflow]
name = "Agency weekly"
timezone = "Europe/Paris"
period = "last_week"
{AGENCY_SOURCE}{f"where = {source_where}" if source_where else ""}

[[metrics]]
plugin = "totals"
counters = ["likes", "comments", "shares", "reach"]
by = {by}
{f"where = {metric_where}" if metric_where else ""}

[[metrics]]
plugin = "posts_published"
by = {by}
{f"where = {metric_where}" if metric_where else ""}
{extra}
'''


@pytest.fixture
def run(tmp_path, write_workflow, store_url):
    """Run a workflow text next to a copy of the agency export; each text is a workflow of its
    own (its own file and id: one store keeps each one's history apart)."""
    shutil.copy(FIXTURE, tmp_path / "agency-posts.csv")
    made: list[str] = []

    def run_text(text: str, name: str | None = None):
        made.append(text)
        name = name or f"workflow-{len(made)}.toml"
        text = text.replace('name = "Agency weekly"', f'name = "Agency weekly"\nid = "{Path(name).stem}"', 1)
        return run_workflow_file(write_workflow(text, name), store_url=store_url, period=WEEK)

    return run_text


def source_report(result, source_id: str = "agency"):
    [report] = [s for s in result.stages if s.kind == "source" and s.id == source_id]
    return report


def series(result, metric: str) -> dict[tuple, float | None]:
    """The current rows of one metric: (platform, account) -> value (None: not split by it)."""
    rows = result.current(metric)
    return {(row["platform"], row["account"]): row["value"] for row in rows.iter_rows(named=True)}


# -- sources: one agency export, a workflow per client ---------------------------------------------

def test_one_agency_export_feeds_a_workflow_per_client(run):
    lumen = run(workflow(source_where=f"{{ account = {MAISON_LUMEN} }}"), "maison-lumen.toml")
    # Maison Lumen, 16-22 Nov: ig-a1 + fb-a1 + ig-a2 + li-a1.
    assert lumen.value("total_likes") == 175        # 80 + 30 + 40 + 25
    assert lumen.value("total_comments") == 14      # 5 + 4 + 2 + 3
    assert lumen.value("total_shares") == 12        # 3 + 6 + 1 + 2
    assert lumen.value("total_reach") == 5300       # 1200 + 2500 + 900 + 700
    assert lumen.value("posts_published") == 4
    assert lumen.value("total_likes", platform="instagram") == 120   # 80 + 40
    assert lumen.value("total_likes", platform="facebook") == 30
    assert lumen.value("total_likes", platform="linkedin", account="maison-lumen") == 25
    assert {account for _, account in series(lumen, "total_likes") if account} == {"maisonlumen", "maison-lumen"}
    # The previous week holds ig-a0 only (50 likes), not Velo Verde's fb-b0 (35).
    [previous] = lumen.current("total_likes").filter(
        lumen.current("total_likes")["platform"].is_null())["previous_period.previous_value"].to_list()
    assert previous == 50
    # 5 of the 10 rows are Maison Lumen's (ig-a0 included); the report says what was kept.
    assert source_report(lumen).counts == {"post": 5}
    assert "where kept 5 of 10 posts" in source_report(lumen).note
    assert source_report(lumen).problems == []

    velo = run(workflow(source_where=f"{{ account = {VELO_VERDE} }}"), "velo-verde.toml")
    # Velo Verde, 16-22 Nov: ig-b1 + fb-b1 + li-b1 + ig-b2.
    assert velo.value("total_likes") == 272         # 150 + 22 + 10 + 90
    assert velo.value("total_comments") == 19       # 12 + 1 + 0 + 6
    assert velo.value("total_shares") == 16         # 9 + 4 + 1 + 2
    assert velo.value("total_reach") == 7400        # 3000 + 1800 + 400 + 2200
    assert velo.value("posts_published") == 4
    assert velo.value("total_likes", platform="instagram") == 240    # 150 + 90
    assert velo.value("total_likes", platform="facebook", account="veloverde.bikes") == 22
    assert source_report(velo).counts == {"post": 5}

    whole = run(workflow(), "agency.toml")  # no where: both clients, 175 + 272
    assert whole.value("total_likes") == 447
    assert whole.value("posts_published") == 8


def test_a_source_where_on_platform_ignores_case_and_on_tags_keeps_posts_of_that_pillar(run):
    result = run(workflow(source_where='{ platform = "LinkedIn" }'))
    assert result.value("total_likes") == 35          # li-a1 25 + li-b1 10
    assert result.value("posts_published") == 2
    result = run(workflow(source_where=f'{{ account = {MAISON_LUMEN}, pillar = "Produit" }}'))
    assert result.value("total_likes") == 110         # ig-a1 80 + fb-a1 30
    result = run(workflow(source_where=f'{{ account = {MAISON_LUMEN}, campaign = "(none)" }}'))
    assert result.value("total_likes") == 65          # no campaign: ig-a2 40 + li-a1 25
    result = run(workflow(source_where='{ campaign = ["Noel", "Hiver"] }'))
    assert result.value("total_likes") == 200         # ig-a1 80 + fb-a1 30 + ig-b2 90


def test_a_source_where_on_days_keeps_the_days_of_the_workflow_time_zone(run):
    # 16-18 Nov, both included: ig-a1 (16th), fb-a1 (17th), ig-a2 (18th), ig-b1 (16th).
    result = run(workflow(source_where='{ date = "2026-11-16..2026-11-18" }'))
    assert result.value("total_likes") == 300         # 80 + 30 + 40 + 150
    # Open on one side: from the 20th on: li-a1 25, li-b1 10, ig-b2 90.
    result = run(workflow(source_where='{ published_at = "2026-11-20.." }'))
    assert result.value("total_likes") == 125
    # Several days or ranges: any of them.
    result = run(workflow(source_where='{ date = ["2026-11-17", "..2026-11-12", "2026-11-22"] }'))
    assert result.value("total_likes") == 120         # fb-a1 30 + ig-b2 90 this week
    assert source_report(result).counts == {"post": 4}  # and ig-a0, fb-b0 of the previous week


def test_days_are_counted_in_the_workflow_time_zone(tmp_path, write_workflow, store_url):
    """23:30 UTC on the 22nd is 00:30 on the 23rd in Paris: outside "..2026-11-22"."""
    (tmp_path / "posts.csv").write_text(
        "platform,account,post_id,published_at,likes\n"
        "instagram,a,p1,2026-11-15T23:30:00Z,7\n"    # Paris: 16 Nov 00:30, kept
        "instagram,a,p2,2026-11-22T12:00:00Z,11\n"   # Paris: 22 Nov 13:00, kept
        "instagram,a,p3,2026-11-22T23:30:00Z,13\n",  # Paris: 23 Nov 00:30, left out
        encoding="utf-8")
    text = '''
[workflow]
name = "Paris days"
timezone = "Europe/Paris"
period = "2026-11-16..2026-11-29"

[[sources]]
plugin = "csv"
path = "posts.csv"
where = { date = "2026-11-16..2026-11-22" }

[[metrics]]
plugin = "totals"
counters = ["likes"]
'''
    result = run_workflow_file(write_workflow(text), store_url=store_url)
    assert result.value("total_likes") == 18  # 7 + 11


# -- metrics: a single-platform workflow's overall row ---------------------------------------------

def test_a_metric_where_makes_the_overall_row_that_of_the_kept_records(run):
    result = run(workflow(metric_where='{ platform = "Instagram" }'))
    # Instagram only, both clients: ig-a1, ig-a2, ig-b1, ig-b2.
    assert result.value("total_likes") == 360          # 80 + 40 + 150 + 90, not 447
    assert result.value("total_reach") == 7300         # 1200 + 900 + 3000 + 2200
    assert result.value("posts_published") == 4
    assert series(result, "total_likes") == {
        (None, None): 360,
        ("instagram", None): 360,
        ("instagram", "maisonlumen"): 120,             # 80 + 40
        ("instagram", "veloverde"): 240,               # 150 + 90
    }
    # The previous week's overall is ig-a0's 50, not ig-a0 + fb-b0.
    overall = result.current("total_likes").filter(result.current("total_likes")["platform"].is_null())
    assert overall["previous_period.previous_value"].to_list() == [50]
    assert overall["previous_period.change"].to_list() == [310]
    # The source still read every row: the other metrics of a workflow may need them.
    assert source_report(result).counts == {"post": 10}


def test_each_metric_reads_the_records_of_its_own_where(run):
    extra = '''
[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]
where = { account = "veloverde.bikes" }
'''
    result = run(workflow(metric_where='{ pillar = ["Coulisses", "(none)"] }', by='["overall"]', extra=extra))
    assert result.value("total_likes") == 65            # pillar Coulisses: ig-a2 40 + li-a1 25
    # fb-b1 alone: (22 + 1 + 4) / 1800 * 100 = 1.5 (no saves reported on Facebook here)
    assert result.value("engagement_rate_by_reach") == pytest.approx(1.5)


def test_a_trigger_where_matches_the_platform_whatever_its_case(run):
    extra = '''
[[triggers]]
plugin = "threshold"
metric = "total_likes"
where = { platform = "Instagram" }
above = 100
'''
    result = run(workflow(by='["platform"]', extra=extra))
    # By platform: instagram 360 (80 + 40 + 150 + 90), facebook 52 (30 + 22), linkedin 35 (25 + 10).
    assert [(a.dimensions, a.value) for a in result.alerts] == [({"platform": "instagram"}, 360)]
    [trigger] = [s for s in result.stages if s.kind == "trigger"]
    assert trigger.problems == []


# -- outputs: the rows and alerts of the dimensions they name --------------------------------------

class SeenByOutput(Output):
    """An output that keeps what it was shown of the run."""

    name = "seen_by_output"
    description = "Keeps the rows, alerts and records it is handed."
    seen: dict[str, object] = {}

    def deliver(self, result, ctx) -> str:
        SeenByOutput.seen[self.entry_id] = result
        return "kept"


@hookimpl
def _register_seen(register) -> None:
    register(SeenByOutput)


SEEN_PLUGIN = types.SimpleNamespace(register_outputs=_register_seen)

ALERTS_AND_OUTPUTS = '''
[[triggers]]
id = "many_likes"
plugin = "threshold"
metric = "total_likes"
above = 100

[[outputs]]
id = "lumen_view"
plugin = "seen_by_output"
where = {{ account = {lumen} }}

[[outputs]]
id = "instagram_view"
plugin = "seen_by_output"
where = {{ platform = "INSTAGRAM" }}

[[outputs]]
id = "everything"
plugin = "seen_by_output"

[[outputs]]
id = "lumen_mail"
plugin = "email"
to = ["lumen@example.com"]
from_address = "cmflow@example.com"
transport = "file"
directory = "{mail}"
when = "alerts"
where = {{ account = {lumen} }}

[[outputs]]
id = "lumen_report"
plugin = "html_report"
path = "{report}"
where = {{ account = {lumen} }}
'''


def test_an_output_where_shows_the_rows_and_alerts_of_its_dimensions(run, tmp_path):
    extra = ALERTS_AND_OUTPUTS.format(lumen=MAISON_LUMEN, mail=tmp_path / "mail", report=tmp_path / "lumen.html")
    with registered_plugin(SEEN_PLUGIN):
        result = run(workflow(by='["overall", "account"]', extra=extra))
    seen = SeenByOutput.seen
    # Over 100 likes: the overall 447, (instagram, maisonlumen) 120, (instagram, veloverde) 240.
    assert sorted((a.dimensions.get("account") or "overall") for a in result.alerts) == \
        ["maisonlumen", "overall", "veloverde"]
    assert [a.dimensions["account"] for a in seen["lumen_view"].alerts] == ["maisonlumen"]
    assert sorted(a.dimensions["account"] for a in seen["instagram_view"].alerts) == ["maisonlumen", "veloverde"]
    assert len(seen["everything"].alerts) == 3

    # Rows: Maison Lumen's accounts only, and no overall row (it adds up both clients).
    assert series(seen["lumen_view"], "total_likes") == {
        ("instagram", "maisonlumen"): 120, ("facebook", "maisonlumen"): 30, ("linkedin", "maison-lumen"): 25}
    assert series(seen["instagram_view"], "total_likes") == {
        ("instagram", "maisonlumen"): 120, ("instagram", "veloverde"): 240}
    assert (None, None) in series(seen["everything"], "total_likes")
    assert set(seen["lumen_view"].comparisons["series_key"]) <= set(seen["lumen_view"].measurements["series_key"])
    assert sorted(seen["lumen_view"].records["post"]["post_id"]) == ["fb-a1", "ig-a0", "ig-a1", "ig-a2", "li-a1"]

    # A notifier and a report, as delivered.
    [mail] = list((tmp_path / "mail").iterdir())
    message = mail.read_text(encoding="utf-8")
    assert "maisonlumen" in message and "veloverde" not in message
    report = (tmp_path / "lumen.html").read_text(encoding="utf-8")
    assert "maisonlumen" in report and "veloverde" not in report and "velo-verde" not in report


def where_reports(result) -> dict[str, tuple[list[str], list[str]]]:
    """The where_misses stage's reports: entry id -> (notes, warnings)."""
    return {s.id: (s.problems, s.warnings) for s in result.stages if s.kind == "where"}


def test_a_where_value_never_seen_is_a_warning_naming_the_file_key_and_closest_value(run):
    """A misspelt account would silently keep nothing: the run ends warning, and the summary
    names the file, the key path and the closest value."""
    extra = '''
[[outputs]]
plugin = "console"
where = { account = "veloverd" }
'''
    result = run(workflow(source_where='{ account = ["maisonlumem", "maison-lumen"] }',
                          metric_where='{ platform = "linkdin" }', extra=extra))
    assert result.status == "warning"
    assert source_report(result).problems == []
    assert result.value("total_likes") is None   # linkdin: no record read
    assert where_reports(result) == {
        "agency": ([], ["workflow-1.toml: sources[0].where.account: no post record has account = 'maisonlumem'; "
                        "did you mean 'maisonlumen'?; 'maisonlumem' is in no record and no earlier run: check its "
                        "spelling (its figures are empty)"]),
        "totals": ([], ["workflow-1.toml: metrics[0].where.platform: no post record of its sources has platform = "
                        "'linkdin'; did you mean 'linkedin'?; 'linkdin' is in no record and no earlier run: check "
                        "its spelling (its figures are empty)"]),
        "posts_published": ([], ["workflow-1.toml: metrics[1].where.platform: no post record of its sources has "
                                 "platform = 'linkdin'; did you mean 'linkedin'?; 'linkdin' is in no record and no "
                                 "earlier run: check its spelling (its figures are empty)"]),
        "console": ([], ["workflow-1.toml: outputs[0].where.account: no measurement row has account = 'veloverd'; "
                         "none has any account; 'veloverd' is in no record and no earlier run: check its spelling "
                         "(its figures are empty)"])}  # linkdin: the metrics measured nothing

    result = run(workflow(extra=extra))
    assert result.status == "warning"
    assert where_reports(result) == {"console": ([], [
        "workflow-2.toml: outputs[0].where.account: no measurement row has account = 'veloverd'; "
        "did you mean 'veloverde'?; 'veloverd' is in no record and no earlier run: check its spelling "
        "(its figures are empty)"])}

    result = run(workflow(source_where='{ pillar = "Produits" }'))
    assert source_report(result).problems == [
        "sources[0].where kept none of its 10 posts: check its values (and days) against the file"]
    assert source_report(result).counts == {"post": 0}
    assert where_reports(result)["agency"][1][0].startswith(
        "workflow-3.toml: sources[0].where.pillar: no post record has pillar = 'Produits'; did you mean 'Produit'?")

    assert run(workflow(source_where='{ account = ["maisonlumen", "maison-lumen"] }')).status == "ok"


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_where_value_seen_before_with_no_row_this_time_is_a_note_not_a_warning(run, tmp_path):
    """Velo Verde's LinkedIn page (velo-verde) posts in November's first export, not in the next
    one: a where on it keeps nothing the second time, rightly. The store remembers the account
    from the first run, so the run stays ok with a note; a misspelling of it warns."""
    by_account = workflow(by='["account"]', extra='''
[[outputs]]
plugin = "console"
where = { account = "velo-verde" }
''')
    first = run(by_account, "first.toml")
    assert first.status == "ok" and where_reports(first) == {}
    assert first.value("total_likes", platform="linkedin", account="velo-verde") == 10   # li-b1

    export = tmp_path / "agency-posts.csv"
    lines = export.read_bytes().split(b"\r\n")
    export.write_bytes(b"\r\n".join(line for line in lines if b",li-b1," not in line))
    second = run(by_account, "first.toml")   # the same workflow: its store history has velo-verde
    assert second.value("total_likes", platform="linkedin", account="velo-verde") is None
    assert second.status == "ok"
    assert where_reports(second) == {"console": ([
        "outputs[0].where.account: no measurement row has account = 'velo-verde'; did you mean 'veloverde'? "
        "('velo-verde' is known from other rows or earlier runs: none here this time)"], [])}

    # The same where in a new workflow (no history) on the second export: never seen, a warning.
    fresh = run(by_account, "fresh.toml")
    assert fresh.status == "warning"
    assert "'velo-verde' is in no record and no earlier run" in where_reports(fresh)["console"][1][0]

    # A value other rows of this run have: the source keeps Maison Lumen's posts, an output
    # shows veloverde's: no measurement row has it, the export does: a note, the run ok.
    other_rows = run(workflow(source_where=f"{{ account = {MAISON_LUMEN} }}", extra='''
[[outputs]]
plugin = "console"
where = { account = "veloverde" }
'''), "other-rows.toml")
    assert other_rows.status == "ok"
    assert where_reports(other_rows)["console"][1] == []


def test_a_run_with_a_where_value_never_seen_exits_5_and_its_summary_names_it(tmp_path, write_workflow, store_url):
    shutil.copy(FIXTURE, tmp_path / "agency-posts.csv")
    path = write_workflow(workflow(source_where='{ account = ["maison-lumeire", "maison-lumen"] }'), "lumen.toml")
    outcome = CliRunner().invoke(main, ["run", str(path), "--period", WEEK, "--store", store_url])
    assert outcome.exit_code == 5, outcome.output
    assert ("! lumen.toml: sources[0].where.account: no post record has account = 'maison-lumeire'; did you mean "
            "'maison-lumen'?; 'maison-lumeire' is in no record and no earlier run") in outcome.output
    assert "Run warning in" in outcome.output
    history = CliRunner().invoke(main, ["history", "--store", store_url])
    assert "warning" in history.output and "maison-lumeire" in history.output


# -- campaigns: any spelling of one campaign -------------------------------------------------------

CAMPAIGN_WHERES = '''
[[triggers]]
id = "noel_likes"
plugin = "threshold"
metric = "total_likes"
where = { campaign = "NOËL" }
above = 100

[[objectives]]
id = "noel"
goal = "raise_interactions"
metric = "total_likes"
target = 100
where = { campaign = "noël" }

[[outputs]]
id = "noel_view"
plugin = "seen_by_output"
where = { campaign = "noel" }
'''


def test_a_where_on_a_campaign_matches_every_spelling_of_it(run):
    """The export writes "Noel"; a trigger's, an objective's and an output's where write it
    "NOËL", "noël" and "noel": one campaign (one key, noel), as the metrics group it."""
    with registered_plugin(SEEN_PLUGIN):
        result = run(workflow(by='["campaign"]', extra=CAMPAIGN_WHERES))
    # Noel: ig-a1 80 + fb-a1 30 = 110 likes, over the trigger's 100; Hiver: ig-b2 90.
    assert [(a.rule, a.dimensions, a.value) for a in result.alerts] == [("noel_likes", {"campaign": "Noel"}, 110)]
    [verdict] = result.objectives
    assert (verdict.value, verdict.reason, verdict.progress) == (110, None, pytest.approx(1.1))
    shown = SeenByOutput.seen["noel_view"].current("total_likes")
    assert shown["campaign"].to_list() == ["Noel"] and shown["value"].to_list() == [110]
    assert sorted(SeenByOutput.seen["noel_view"].records["post"]["post_id"]) == ["fb-a1", "ig-a1"]
    assert [p for s in result.stages for p in s.problems] == []  # none of the three is "no series has"

    # A source's where and a metric's too: "noël" keeps the two Noel posts (two posts, 110 likes).
    result = run(workflow(source_where='{ campaign = "noël" }', by='["overall"]'))
    assert (result.value("posts_published"), result.value("total_likes")) == (2, 110)
    result = run(workflow(metric_where='{ campaign = ["NOEL", "hiver"] }', by='["overall"]'))
    assert (result.value("posts_published"), result.value("total_likes")) == (3, 200)
    assert [p for s in result.stages for p in s.problems] == []


@pytest.mark.parametrize("have, wanted, matches", [
    ("Soldes d'hiver", "soldes-d-hiver", True),
    ("SOLDES_D_HIVER", ["soldes d hiver", "Soldes d'Hiver"], True),
    ("Soldes d'hiver", "Soldes d'été", False),
    ("(not set)", "(not set)", True),   # a placeholder of no campaign matches as written
    ("(not set)", "not set", False),
    ("Noël", "(none)", False),
])
def test_a_campaign_is_compared_by_its_key(have, wanted, matches):
    import polars as pl

    from cmflow.foundation.where_filters import dimensions_match, rows_condition, unmatched_values

    where = {"campaign": wanted}
    frame = pl.DataFrame({"campaign": [have]})
    assert dimensions_match(where, {"campaign": have}) is matches
    assert frame.filter(rows_condition(where, frame.columns)).height == int(matches)
    assert (unmatched_values(where, [frame], "row") == []) is matches


# -- validation -----------------------------------------------------------------------------------

def problems_of(write_workflow, text: str) -> dict[str, str]:
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(write_workflow(text))
    return {p.path: f"{p.message} ({p.hint})" for p in info.value.problems}


def test_a_source_where_names_fields_its_records_have(tmp_path, write_workflow):
    shutil.copy(FIXTURE, tmp_path / "agency-posts.csv")
    problems = problems_of(write_workflow, workflow(
        source_where='{ acount = "maisonlumen", likes = "3", date = "2026-11-31", published_at = "2026-11-20..2026-11-02" }'))
    assert problems["sources[0].where.acount"].startswith("post records have no field 'acount' (did you mean 'account'?")
    assert "post records have: platform, account, post_id" in problems["sources[0].where.acount"]
    assert "likes is a number" in problems["sources[0].where.likes"]
    assert "2026-11-31 is not a day of the calendar" in problems["sources[0].where.date"]
    assert "ends before it starts" in problems["sources[0].where.published_at"]
    assert len(problems) == 4


def test_a_source_where_on_another_kind_names_that_kinds_fields(tmp_path, write_workflow):
    """account_snapshot records have no pillar: filtering them by one is refused."""
    text = '''
[workflow]
name = "Snapshots"

[[sources]]
plugin = "csv"
path = "followers.csv"
record = "account_snapshot"
where = { pillar = "Produit", date = "..2026-11-30" }

[[metrics]]
plugin = "follower_growth"
'''
    (tmp_path / "followers.csv").write_text("date,platform,account,followers\n", encoding="utf-8")
    problems = problems_of(write_workflow, text)
    assert list(problems) == ["sources[0].where.pillar"]
    assert "account_snapshot records have no field 'pillar'" in problems["sources[0].where.pillar"]
    assert "account_snapshot records have: platform, account, date" in problems["sources[0].where.pillar"]


def test_a_source_of_two_record_kinds_filters_on_fields_one_of_them_has():
    """A key some of the kinds have filters those; a key none has is refused, with the fields of
    all of them and no suggestion of a field only another kind lacks (no 'content' for account)."""
    assert record_where_problems({"account": "a", "date": "2026-11-01.."}, [ACCOUNT_SNAPSHOT, POST]) == []
    assert record_where_problems({"pillar": "Produit"}, [ACCOUNT_SNAPSHOT, POST]) == []
    assert record_where_problems({"account": "a"}, [POST, TRAFFIC]) == []
    [(key, message, hint)] = record_where_problems({"acount": "a"}, [POST, TRAFFIC])
    assert key == "acount"
    assert message == "no record the source returns (post, traffic) has a field 'acount'"
    assert hint.startswith("did you mean 'account'? its records have: ")


def agency_folder_with_traffic(tmp_path):
    """A folder of two Meta exports (several accounts' posts) and a UTM traffic export (no account)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("meta-instagram-posts.csv", "meta-facebook-posts.csv", "utm-traffic-fr.csv"):
        shutil.copy(EXPORTS / name, folder / name)
    return folder


LUMEN_FROM_THE_AGENCY_FOLDER = """
[workflow]
name = "Lumen"
timezone = "Europe/Paris"

[[sources]]
id = "folder"
plugin = "export"
path = "exports"
where = { account = "maison.lumen" }

[[metrics]]
plugin = "posts_published"

[[metrics]]
plugin = "traffic_totals"
"""
"""One account of an agency's folder of exports, through the export source's `where`."""


def test_an_export_source_where_on_account_leaves_out_the_traffic_that_names_no_account_and_warns(
        tmp_path, write_workflow, store_url):
    """exports.md's promise: one account of a folder of exports through the export source's
    `where`. The folder's traffic names no account, so it cannot be that account's: it is left
    out (as a time entry with an empty account is), never counted as the client's revenue, and
    the run warns how many records it left out and what to do."""
    agency_folder_with_traffic(tmp_path)
    path = write_workflow(LUMEN_FROM_THE_AGENCY_FOLDER)
    result = run_workflow_file(path, store_url=store_url, period="2026-11-16..2026-11-22")
    report = source_report(result, "folder")
    assert "where kept 3 of 7 posts" in report.note
    assert "where left out 3 traffic records: no account" in report.note
    assert report.counts["traffic"] == 0
    assert result.status == "warning"
    [warning] = report.warnings
    assert warning.code == "where_field_missing"
    assert warning == (f"{path.name}: sources[0].where.account: 3 traffic records have no account, so the where left "
                       "them out of the figures; give the client's traffic records a source of its own (a path to "
                       "those files only, without where.account)")
    assert result.warnings == [warning]
    said = language("fr").run_warning(warning)
    assert said.startswith(f"{path.name}, sources[0].where.account\u00a0: 3 données de type traffic n'ont pas de champ "
                           "account")
    [row] = result.current("posts_published").filter(pl.col("account").is_null()).iter_rows(named=True)
    assert row["value"] == 3
    assert result.current("traffic_totals").filter(pl.col("value").is_not_null()).height == 0


def test_an_export_source_where_on_account_over_posts_only_neither_warns_nor_changes(
        tmp_path, write_workflow, store_url):
    """The same `where` over a folder of posts only is valid and keeps the account's posts,
    without a warning: only records actually fetched and left out are warned about."""
    folder = agency_folder_with_traffic(tmp_path)
    (folder / "utm-traffic-fr.csv").unlink()
    path = write_workflow(LUMEN_FROM_THE_AGENCY_FOLDER)
    load_workflow(path)
    result = run_workflow_file(path, store_url=store_url, period="2026-11-16..2026-11-22")
    report = source_report(result, "folder")
    assert report.note == "where kept 3 of 7 posts"
    assert (report.warnings, result.status) == ([], "ok")


def test_metric_and_output_wheres_name_dimensions(tmp_path, write_workflow):
    shutil.copy(FIXTURE, tmp_path / "agency-posts.csv")
    extra = '''
[[metrics]]
plugin = "follower_growth"
where = { pillar = "Produit" }

[[outputs]]
plugin = "console"
where = { acount = "maisonlumen", platform = 3 }

[[outputs]]
plugin = "html_report"
path = "r.html"
where = { campaign = [] }
'''
    problems = problems_of(write_workflow, workflow(metric_where='{ platfrom = "instagram" }', extra=extra))
    assert problems["metrics[0].where.platfrom"] == "unknown dimension 'platfrom' (did you mean 'platform'?)"
    assert problems["metrics[1].where.platfrom"] == "unknown dimension 'platfrom' (did you mean 'platform'?)"
    assert "reads account_snapshot records, which have no pillar" in problems["metrics[2].where.pillar"]
    assert "must be a string in quotes or a list" in problems["outputs[0].where.platform"]
    assert "must not be empty" in problems["outputs[1].where.campaign"]


def test_validate_prints_where_problems_on_one_screen(tmp_path, write_workflow):
    shutil.copy(FIXTURE, tmp_path / "agency-posts.csv")
    path = write_workflow(workflow(source_where='{ acount = "maisonlumen" }'))
    done = CliRunner().invoke(main, ["validate", str(path)], prog_name="cmflow")
    assert done.exit_code == 2, done.output
    assert "workflow.toml: sources[0].where.acount: post records have no field 'acount'" in done.output
    assert "did you mean 'account'?" in done.output
    assert len(done.output.splitlines()) <= 3, done.output


@pytest.mark.parametrize("text, expected", [
    ("2026-11-05", DayRange(date(2026, 11, 5), date(2026, 11, 5))),
    ("2026-11-01..2026-11-30", DayRange(date(2026, 11, 1), date(2026, 11, 30))),
    (" 2026-11-01 .. ", DayRange(date(2026, 11, 1), None)),
    ("..2026-11-30", DayRange(None, date(2026, 11, 30))),
])
def test_days_are_a_day_or_a_range_open_on_one_side(text, expected):
    assert parse_days(text) == expected


@pytest.mark.parametrize("text, message", [
    ("..", "has no day on either side"),
    ("11/05/2026", "days are written YYYY-MM-DD"),
    ("2026-02-30", "2026-02-30 is not a day of the calendar"),
    ("2026-11-30..2026-11-01", "ends before it starts"),
])
def test_days_that_are_not_days_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_days(text)


def test_a_where_on_account_compares_accounts_as_clients_own_them() -> None:
    """One rule with Client.owns (issue 17's review): ``{account = "@LUMEN"}`` keeps the records
    and series of ``lumen`` (and ``Lumen`` ...), as the client listing "lumen" owns them; another
    account stays out."""
    import polars as pl

    from cmflow.foundation.clients import Client
    from cmflow.foundation.where_filters import dimensions_match, rows_condition, unmatched_values

    frame = pl.DataFrame({"account": ["lumen", "Lumen", " @lumèn", "nuit", None]})
    where = {"account": "@LUMEN"}
    assert frame.filter(rows_condition(where, frame.columns))["account"].to_list() == ["lumen", "Lumen", " @lumèn"]
    assert dimensions_match(where, {"account": "lumen"}) and not dimensions_match(where, {"account": "nuit"})
    assert unmatched_values(where, [frame], "post record") == []
    assert Client("lumen", "Lumen", accounts={"lumen": "Lumen"}).owns("@LUMEN")


def test_a_trigger_where_value_never_seen_warns_as_a_source_where_does(run):
    """A trigger watching a misspelt account watches nothing: the run ends warning with the
    file, the key path and the closest value, as for sources, metrics and outputs; a value the
    workflow has seen elsewhere (another platform's account) is a note; said once, by the
    where_misses stage, not also by the trigger."""
    trigger = '''
[[triggers]]
id = "quiet"
plugin = "threshold"
metric = "total_likes"
where = {{ account = "{account}", platform = "instagram" }}
below = 1
'''
    result = run(workflow(extra=trigger.format(account="maisonlumem")))
    assert result.status == "warning"
    assert where_reports(result) == {"quiet": ([], [
        "workflow-1.toml: triggers[0].where.account: no series of total_likes has account = 'maisonlumem'; "
        "did you mean 'maisonlumen'?; 'maisonlumem' is in no record and no earlier run: check its spelling "
        "(the rule watches nothing of it)"])}
    [warning] = where_reports(result)["quiet"][1]
    assert language("fr").run_warning(warning) == (
        "workflow-1.toml, triggers[0].where.account\u00a0: «\u00a0maisonlumem\u00a0» ne figure dans aucune donnée ni "
        "aucune exécution précédente. Vouliez-vous dire «\u00a0maisonlumen\u00a0»\u00a0? Vérifiez l'orthographe (la "
        "règle ne surveille rien).")
    [trigger_report] = [s for s in result.stages if s.kind == "trigger"]
    assert trigger_report.problems == []

    assert run(workflow(extra=trigger.format(account="maisonlumen"))).status == "ok"

    # Velo Verde's Facebook page is in the export, not in the Instagram series the metric keeps
    seen = run(workflow(metric_where='{ platform = "instagram" }', extra=trigger.format(account="veloverde.bikes")))
    assert seen.status == "ok"
    [(notes, warnings)] = where_reports(seen).values()
    assert warnings == [] and len(notes) == 1
    assert notes[0].startswith("triggers[0].where.account: no series of total_likes has account = 'veloverde.bikes'")
    assert notes[0].endswith("('veloverde.bikes' is known from other rows or earlier runs: none here this time)")
