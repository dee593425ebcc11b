"""Effort and cost metrics through a real workflow run: hours, average task time, production cost,
cost per post and per engagement, and campaign budgets with a threshold on them.

The current period is the week of Monday 16 November 2026, the previous one the week before.
Rates: Léa Martin 55 an hour, the designer role 45 (Hugo Petit is a designer); Zoé has no rate.
Every expected figure below is worked out by hand from the CSVs, in the comments.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cmflow import Period
from cmflow.testing import run_workflow_file

WORKFLOW = """
[workflow]
name = "Effort"
period = "2026-11-16..2026-11-22"

[[clients]]
id = "maison-lumiere"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere"]

[[clients]]
id = "trailhead"
name = "Trailhead Outfitters"
language = "en"
accounts = ["trailhead"]

[production]
currency = "EUR"
rates = { "Léa Martin" = 55, designer = 45 }
roles = { "Hugo Petit" = "designer" }
budgets = { soldes-hiver = 1200, lancement-bougies = 200, trail-run = 500 }

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[sources]]
id = "time"
plugin = "csv"
path = "time.csv"
record = "time_entry"

[[metrics]]
plugin = "hours_spent"
sources = ["time"]
by = ["overall", "client", "campaign", "task_type", "person"]

[[metrics]]
plugin = "average_task_time"
sources = ["time"]
by = ["overall", "task_type"]

[[metrics]]
plugin = "production_cost"
sources = ["time"]
by = ["overall", "client", "campaign", "person"]

[[metrics]]
plugin = "cost_per_post"
by = ["overall", "client", "campaign"]

[[metrics]]
plugin = "cost_per_engagement"
by = ["overall", "client", "campaign"]

[[metrics]]
plugin = "budget_consumed"
sources = ["time"]
by = ["campaign"]
since = "2026-10-01"

[[triggers]]
id = "over_budget"
plugin = "threshold"
metric = "budget_consumed"
above = 100
"""

# Léa's two sittings on one article (the description differs by case and spaces only) are one
# task of 4 h; Zoé's two entries without a description are two tasks. The 10 November entry is
# in the previous week; the 5 October one in neither period, but after `since`, so in the spend.
TIME = """date,task,task_type,person,campaign,client,hours
2026-11-16,Article : bougies d'hiver,blog article,Léa Martin,soldes-hiver,Maison Lumière,2.5
2026-11-17,  article : Bougies d'hiver ,blog article,Léa Martin,soldes-hiver,Maison Lumière,1.5
2026-11-18,Teaser soldes,short video,Hugo Petit,soldes-hiver,Maison Lumière,6
2026-11-19,Guide cadeaux,blog article,Léa Martin,lancement-bougies,maison-lumiere,4
2026-11-20,,moderation,Zoé,trail-run,Trailhead Outfitters,1.5
2026-11-21,,moderation,Zoé,trail-run,Trailhead Outfitters,0.5
2026-11-10,Visuel soldes,visual,Hugo Petit,soldes-hiver,Maison Lumière,2
2026-10-05,Shooting,visual,Hugo Petit,soldes-hiver,Maison Lumière,10
2026-09-20,Repérage,visual,Hugo Petit,soldes-hiver,Maison Lumière,3
"""

# Interactions = likes + comments + shares + saves: p1 50, p2 20 (no shares reported: 0),
# p3 120, t1 30; p0 (previous week) 9.
POSTS = """platform,account,post_id,published_at,campaign,likes,comments,shares,saves
instagram,maisonlumiere,p1,2026-11-17T10:00:00Z,soldes-hiver,40,5,3,2
instagram,maisonlumiere,p2,2026-11-19T10:00:00Z,soldes-hiver,20,0,,0
facebook,maisonlumiere,p3,2026-11-20T10:00:00Z,lancement-bougies,100,10,5,5
instagram,trailhead,t1,2026-11-21T10:00:00Z,trail-run,25,5,0,0
instagram,maisonlumiere,p0,2026-11-11T10:00:00Z,soldes-hiver,9,0,0,0
"""

DIMENSIONS = ("client", "campaign", "task_type", "person")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("effort")
    (folder / "time.csv").write_text(TIME, encoding="utf-8")
    (folder / "posts.csv").write_text(POSTS, encoding="utf-8")
    (folder / "effort.toml").write_text(WORKFLOW, encoding="utf-8")
    return run_workflow_file(folder / "effort.toml", store_url=f"sqlite:///{folder / 'state.db'}")


def cell(result, metric: str, period: str = "current", **dimensions: str) -> tuple:
    """(value, unit, reason) of the one row of ``metric`` with exactly these dimensions."""
    rows = result.measurements.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for column in DIMENSIONS:
        wanted = dimensions.get(column)
        rows = rows.filter(pl.col(column) == wanted if wanted else pl.col(column).is_null())
    [row] = rows.iter_rows(named=True)
    value = None if row["value"] is None else round(row["value"], 4)
    return value, row["unit"], row["reason"]


def test_the_run_measures_every_effort_metric(result) -> None:
    assert [s.id for s in result.stages if not s.ok] == []


def test_hours_spent_per_breakdown(result) -> None:
    # 2.5 + 1.5 + 6 + 4 + 1.5 + 0.5 = 16 h this week; 2 h the week before.
    assert cell(result, "hours_spent") == (16.0, "h", None)
    assert cell(result, "hours_spent", "previous_period") == (2.0, "h", None)
    assert cell(result, "hours_spent", task_type="blog article")[0] == 8.0
    assert cell(result, "hours_spent", task_type="short video")[0] == 6.0
    assert cell(result, "hours_spent", task_type="moderation")[0] == 2.0
    assert cell(result, "hours_spent", person="Léa Martin")[0] == 8.0
    assert cell(result, "hours_spent", campaign="soldes-hiver")[0] == 10.0
    # The tracker's client names are the clients' ids: "Maison Lumière" and "maison-lumiere" alike.
    assert cell(result, "hours_spent", client="maison-lumiere")[0] == 14.0
    assert cell(result, "hours_spent", client="trailhead")[0] == 2.0
    # A kind of task not worked on in the previous week: 0 h, not "no value".
    assert cell(result, "hours_spent", "previous_period", task_type="blog article") == (0.0, "h", None)


def test_average_task_time_adds_a_tasks_entries_up_before_averaging(result) -> None:
    # Blog articles: bougies d'hiver 2.5 + 1.5 = 4 h (one task), guide cadeaux 4 h: 8 / 2 = 4 h.
    assert cell(result, "average_task_time", task_type="blog article") == (4.0, "h", None)
    assert cell(result, "average_task_time", task_type="short video") == (6.0, "h", None)
    # Two entries without a description: two tasks, 2 h / 2.
    assert cell(result, "average_task_time", task_type="moderation") == (1.0, "h", None)
    # Overall: 16 h over 5 tasks (not the 6 entries: 2.667, nor a mean of the types' averages).
    assert cell(result, "average_task_time") == (3.2, "h", None)
    assert cell(result, "average_task_time", "previous_period", task_type="blog article") == (
        None, "h", "no time entries in this period")


def test_production_cost_prices_hours_and_never_counts_unpriced_time_as_free(result) -> None:
    # Léa 8 h x 55 = 440; Hugo 6 h x 45 (his role's rate) = 270.
    assert cell(result, "production_cost", person="Léa Martin") == (440.0, "EUR", None)
    assert cell(result, "production_cost", person="Hugo Petit") == (270.0, "EUR", None)
    assert cell(result, "production_cost", client="maison-lumiere") == (710.0, "EUR", None)
    # soldes-hiver: 137.5 + 82.5 + 270 = 490; lancement-bougies: 4 x 55 = 220.
    assert cell(result, "production_cost", campaign="soldes-hiver")[0] == 490.0
    assert cell(result, "production_cost", campaign="lancement-bougies")[0] == 220.0
    # Zoé's 2 h have no rate: no cost for her, her client, her campaign, nor the whole.
    unpriced = ("2\u00a0h of time has no rate (Zoé): add a rate for each person or their role, "
                "or default_rate, to [production]")
    for dimensions in ({}, {"person": "Zoé"}, {"client": "trailhead"}, {"campaign": "trail-run"}):
        assert cell(result, "production_cost", **dimensions) == (None, "EUR", unpriced)
    # The week before: Hugo's 2 h of visuals, 90.
    assert cell(result, "production_cost", "previous_period") == (90.0, "EUR", None)


def test_cost_per_post_is_a_ratio_of_sums(result) -> None:
    # soldes-hiver: 490 / 2 posts = 245; lancement-bougies: 220 / 1; Maison Lumière: 710 / 3.
    assert cell(result, "cost_per_post", campaign="soldes-hiver") == (245.0, "EUR", None)
    assert cell(result, "cost_per_post", campaign="lancement-bougies") == (220.0, "EUR", None)
    assert cell(result, "cost_per_post", client="maison-lumiere") == (236.6667, "EUR", None)
    assert cell(result, "cost_per_post", client="trailhead")[2].startswith("2\u00a0h of time has no rate (Zoé)")
    assert cell(result, "cost_per_post")[0] is None
    # The week before: 90 / 1 post; lancement-bougies had neither.
    assert cell(result, "cost_per_post", "previous_period", campaign="soldes-hiver")[0] == 90.0
    assert cell(result, "cost_per_post", "previous_period", campaign="lancement-bougies")[2] == "no posts in this period"


def test_cost_per_engagement(result) -> None:
    # soldes-hiver: 490 / (50 + 20) = 7; lancement-bougies: 220 / 120; Maison Lumière: 710 / 190.
    assert cell(result, "cost_per_engagement", campaign="soldes-hiver") == (7.0, "EUR", None)
    assert cell(result, "cost_per_engagement", campaign="lancement-bougies")[0] == 1.8333
    assert cell(result, "cost_per_engagement", client="maison-lumiere")[0] == 3.7368
    assert cell(result, "cost_per_engagement", "previous_period", campaign="soldes-hiver")[0] == 10.0  # 90 / 9


def test_budget_consumed_counts_the_spend_so_far(result) -> None:
    # soldes-hiver since 1 October, up to 22 November: 10 + 2 + 6 h of Hugo's (810) + Léa's 4 h
    # (220) = 1030 of 1200 = 85.83 %; the 20 September entry is before `since`.
    assert cell(result, "campaign_spend", campaign="soldes-hiver") == (1030.0, "EUR", None)
    assert cell(result, "campaign_budget", campaign="soldes-hiver") == (1200.0, "EUR", None)
    assert cell(result, "budget_consumed", campaign="soldes-hiver") == (85.8333, "%", None)
    # Up to 15 November: 450 + 90 = 540, 45 %.
    assert cell(result, "budget_consumed", "previous_period", campaign="soldes-hiver")[0] == 45.0
    # lancement-bougies: 220 of 200 = 110 %, over budget; nothing spent the week before: 0 %.
    assert cell(result, "budget_consumed", campaign="lancement-bougies")[0] == 110.0
    assert cell(result, "budget_consumed", "previous_period", campaign="lancement-bougies")[0] == 0.0
    # trail-run: Zoé's time has no rate, so nothing says how much of its budget is gone.
    value, unit, reason = cell(result, "budget_consumed", campaign="trail-run")
    assert (value, unit) == (None, "%") and reason.startswith("2\u00a0h of time has no rate (Zoé)")


def test_over_budget_fires_the_threshold(result) -> None:
    [alert] = result.alerts
    assert (alert.rule, alert.metric, alert.dimensions) == (
        "over_budget", "budget_consumed", {"campaign": "lancement-bougies"})
    assert alert.value == pytest.approx(110.0)
    assert alert.summary == "Budget consumed is 110.00% for lancement-bougies, above 100.00%"


def test_every_effort_measurement_has_its_polarity(result) -> None:
    polarities = {name: result.workflow.polarity_of(name) for name in (
        "hours_spent", "average_task_time", "production_cost", "cost_per_post", "cost_per_engagement",
        "budget_consumed", "campaign_spend", "campaign_budget")}
    assert polarities == {"hours_spent": "neutral", "average_task_time": "down", "production_cost": "down",
                          "cost_per_post": "down", "cost_per_engagement": "down", "budget_consumed": "down",
                          "campaign_spend": "down", "campaign_budget": "neutral"}


# -- variations, each a workflow of its own ---------------------------------------------------

def run(tmp_path, workflow: str, time: str | bytes, posts: str = POSTS):
    if isinstance(time, bytes):  # as a tool wrote it, byte for byte
        (tmp_path / "time.csv").write_bytes(time)
    else:
        (tmp_path / "time.csv").write_text(time, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(posts, encoding="utf-8")
    (tmp_path / "w.toml").write_text(workflow, encoding="utf-8")
    return run_workflow_file(tmp_path / "w.toml", store_url=f"sqlite:///{tmp_path / 'state.db'}")


def test_a_trackers_cost_wins_and_the_default_rate_prices_the_others(tmp_path) -> None:
    workflow = WORKFLOW.replace('roles = { "Hugo Petit" = "designer" }',
                                'roles = { "Hugo Petit" = "designer" }\ndefault_rate = 30')
    # A cost column, given for the gift guide only (Toggl's billable amount).
    header, *lines = TIME.splitlines()
    time = "\n".join([f"{header},cost", *(line + (",150" if "Guide cadeaux" in line else ",") for line in lines)])
    result = run(tmp_path, workflow, time)
    # Léa: 4 h x 55 + her tracked 150 (not 4 x 55) = 370; Zoé: 2 h x 30 (the default rate) = 60.
    assert cell(result, "production_cost", person="Léa Martin") == (370.0, "EUR", None)
    assert cell(result, "production_cost", person="Zoé") == (60.0, "EUR", None)
    # 137.5 + 82.5 + 270 + 150 + 60 = 700 over 4 posts.
    assert cell(result, "production_cost") == (700.0, "EUR", None)
    assert cell(result, "cost_per_post") == (175.0, "EUR", None)
    # trail-run: 60 of 500 = 12 %.
    assert cell(result, "budget_consumed", campaign="trail-run")[0] == 12.0


def test_without_since_the_spend_counts_every_entry_up_to_the_periods_end(tmp_path) -> None:
    result = run(tmp_path, WORKFLOW.replace('since = "2026-10-01"\n', ""), TIME)
    # The 20 September entry too: 1030 + 3 h x 45 = 1165.
    assert cell(result, "campaign_spend", campaign="soldes-hiver")[0] == 1165.0


def test_time_naming_no_one_is_said_so(tmp_path) -> None:
    time = TIME.replace("Teaser soldes,short video,Hugo Petit,", "Teaser soldes,short video,,")
    result = run(tmp_path, WORKFLOW, time)
    assert cell(result, "production_cost", campaign="soldes-hiver") == (
        None, "EUR", "6\u00a0h of time has no rate (entries naming no one): add a rate for each person or "
        "their role, or default_rate, to [production]")


def test_budget_consumed_without_budgets_is_refused_at_validation(tmp_path) -> None:
    from cmflow.foundation.errors import WorkflowInvalid

    with pytest.raises(WorkflowInvalid) as caught:
        run(tmp_path, WORKFLOW.replace("budgets = { soldes-hiver = 1200, lancement-bougies = 200, "
                                       "trail-run = 500 }\n", ""), TIME)
    assert [(p.path, p.message, p.hint) for p in caught.value.problems] == [
        ("metrics[5]", "metric 'budget_consumed' reads [production] budgets, and the workflow gives none",
         "add budgets to [production] (docs/workflow-file.md#production)")]


def test_budget_consumed_computed_without_budgets_says_what_to_add() -> None:
    """A metric input built by hand (a plugin author's test) has no [production] section."""
    from cmflow import RecordTable
    from cmflow.stages.measure import MetricRequest, measure

    from cmflow.builtin.metrics.budgets import BudgetConsumed

    entries = RecordTable.from_rows("time_entry", [{"date": date(2026, 11, 16), "hours": 1.0}]).conformed()
    measured = measure([MetricRequest(BudgetConsumed(BudgetConsumed.Options(), entry_id="b"), ["campaign"], ["t"])],
                       {"time_entry": entries.with_columns(source_id=pl.lit("t"))},
                       [Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")])
    assert [r.error for r in measured.reports] == [
        "budget_consumed: [production] gives no campaign budget: add budgets = { <campaign> = <amount> } "
        "to [production]"]


def test_a_wrong_since_is_said_at_its_key(tmp_path) -> None:
    from cmflow.foundation.errors import WorkflowInvalid
    from cmflow.workflow import load_workflow

    (tmp_path / "time.csv").write_text(TIME, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    (tmp_path / "w.toml").write_text(WORKFLOW.replace('since = "2026-10-01"', 'since = "1er octobre"'),
                                     encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "w.toml")
    assert [p.path for p in caught.value.problems] == ["metrics[5].since"]


def test_cmflow_run_shows_each_clients_figures(tmp_path) -> None:
    """The command itself (click's runner, in this process) on the workflow with a console output."""
    from cmflow_command import cmflow_in_process

    (tmp_path / "time.csv").write_text(TIME, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    (tmp_path / "w.toml").write_text(WORKFLOW + '\n[[outputs]]\nplugin = "console"\n', encoding="utf-8")
    env = {"COLUMNS": "200", "CMFLOW_STORE": f"sqlite:///{tmp_path / 'state.db'}"}
    done = cmflow_in_process("run", "w.toml", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    by_client = done.stdout[done.stdout.index("By client"):]
    rows = {line.split("│")[1].strip(): [cell.split()[0] for cell in line.split("│")[2:-1] if cell.strip()]
            for line in by_client.splitlines() if line.startswith("│")}
    # hours, cost, cost per post (710 / 3), cost per engagement (710 / 190); Trailhead's cost is
    # unknown (Zoé has no rate).
    assert rows["maison-lumiere"] == ["14", "€710.00", "€236.67", "€3.74"]
    assert rows["trailhead"] == ["2", "–", "–", "–"]
    assert "Budget consumed is 110.00% for lancement-bougies, above 100.00%" in done.stderr


def test_without_by_each_metric_computes_its_own_default(tmp_path) -> None:
    """Time entries have no account: the default ["overall", "account"] would be refused, so
    each metric gives its own (overall; per task type; per campaign)."""
    import re

    workflow = re.sub(r'by = \[.*\]\n', "", WORKFLOW)
    result = run(tmp_path, workflow, TIME)
    assert [s.id for s in result.stages if not s.ok] == []
    current = result.measurements.filter(pl.col("period") == "current")

    def series(metric: str) -> list[dict]:
        rows = current.filter(pl.col("metric") == metric).select("client", *DIMENSIONS[1:]).to_dicts()
        return [{k: v for k, v in row.items() if v is not None} for row in rows]

    assert series("hours_spent") == [{}]
    assert series("cost_per_post") == [{}]
    assert sorted(row["task_type"] for row in series("average_task_time")) == [
        "blog article", "moderation", "short video", "visual"]
    assert sorted(row["campaign"] for row in series("budget_consumed")) == [
        "lancement-bougies", "soldes-hiver", "trail-run"]


def test_a_budget_naming_a_campaign_no_entry_names_is_not_read_as_nothing_spent(tmp_path) -> None:
    workflow = WORKFLOW.replace("budgets = { soldes-hiver = 1200,", 'budgets = { soldes-hivr = 1200, printemps = 300,')
    result = run(tmp_path, workflow, TIME)
    assert cell(result, "budget_consumed", campaign="soldes-hivr") == (
        None, "%", "no time entry names campaign 'soldes-hivr' of [production.budgets]; did you mean "
        "'soldes-hiver'? Write the campaign as the time entries do")
    assert cell(result, "campaign_budget", campaign="soldes-hivr")[0] == 1200.0
    # A campaign not started yet, whose name is like no other: nothing spent.
    assert cell(result, "budget_consumed", campaign="printemps") == (0.0, "%", None)


def test_a_budget_written_another_way_is_the_same_campaign(tmp_path) -> None:
    workflow = WORKFLOW.replace("budgets = { soldes-hiver = 1200,", 'budgets = { "Soldes Hiver" = 1200,')
    result = run(tmp_path, workflow, TIME)
    # The same 1030 of 1200 as the budget written soldes-hiver, every figure under the budget's name.
    assert cell(result, "budget_consumed", campaign="Soldes Hiver") == (85.8333, "%", None)
    assert cell(result, "campaign_spend", campaign="Soldes Hiver") == (1030.0, "EUR", None)
    # 2.5 h + 1.5 h of Léa at 55, 6 h of Hugo at 45: 490, in one row under the budget's name.
    assert cell(result, "production_cost", campaign="Soldes Hiver") == (490.0, "EUR", None)
    assert result.measurements.filter(pl.col("campaign") == "soldes-hiver").height == 0


FRENCH_WORKFLOW = """
[workflow]
name = "Effort"
period = "2026-11-16..2026-11-22"
timezone = "Europe/Paris"

[[clients]]
id = "maison-lumiere"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere"]

[production]
rates = { "Léa Martin" = 55, designer = 45 }
roles = { "Hugo Petit" = "designer" }

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[sources]]
id = "time"
plugin = "csv"
path = "time.csv"
record = "time_entry"
delimiter = ";"
decimal = ","
date_format = "%d/%m/%Y"
columns = { campaign = "Projet", client = "Client", task = "Description", task_type = "Tags", person = "Utilisateur", date = "Date de début", hours = "Durée (décimal)", cost = "Montant facturable (EUR)" }

[[metrics]]
plugin = "average_task_time"
sources = ["time"]

[[metrics]]
plugin = "production_cost"
sources = ["time"]
by = ["person"]

[[metrics]]
plugin = "cost_per_post"
by = ["client"]
"""

# A detailed report as a French spreadsheet saves it: a byte-order mark, CRLF, ";", decimal
# commas, day/month/year, a description with a line break and a ";" in quotes, an empty amount
# where the time is not billable.
FRENCH_TIME = ("\ufeff" + "\r\n".join([
    '"Projet";"Client";"Description";"Tags";"Utilisateur";"Date de début";"Durée (décimal)";"Montant facturable (EUR)"',
    '"soldes-hiver";"Maison Lumière";"Article : bougies d\'hiver";"blog article";"Léa Martin";"16/11/2026";"2,50";""',
    '"soldes-hiver";"Maison Lumière";"Article : bougies d\'hiver";"blog article";"Léa Martin";"17/11/2026";"1,50";""',
    '"soldes-hiver";"Maison Lumière";"Teaser soldes\r\n(version courte; 15 s)";"short video";"Hugo Petit";"18/11/2026";"6,00";""',
    '"lancement-bougies";"Maison Lumière";"Guide cadeaux";"blog article";"Léa Martin";"19/11/2026";"4,00";"150,00"',
]) + "\r\n")


def test_a_french_spreadsheet_export_of_time_entries(tmp_path) -> None:
    result = run(tmp_path, FRENCH_WORKFLOW, FRENCH_TIME.encode("utf-8"))
    assert (tmp_path / "time.csv").read_bytes().startswith(b"\xef\xbb\xbf\"Projet\";")
    assert [s.id for s in result.stages if not s.ok] == []
    # Blog articles: (2.5 + 1.5) and 4 h: 4 h each; the video's 6 h.
    assert cell(result, "average_task_time", task_type="blog article") == (4.0, "h", None)
    assert cell(result, "average_task_time", task_type="short video") == (6.0, "h", None)
    # Léa: 4 h x 55 + the 150 billed for the guide = 370; Hugo: 6 h x 45 = 270.
    assert cell(result, "production_cost", person="Léa Martin") == (370.0, "EUR", None)
    assert cell(result, "production_cost", person="Hugo Petit") == (270.0, "EUR", None)
    # 640 over Maison Lumière's 3 posts of the week.
    assert cell(result, "cost_per_post", client="maison-lumiere") == (213.3333, "EUR", None)


def test_a_time_export_that_cannot_be_read_gives_no_figures_not_zeros(tmp_path) -> None:
    result = run(tmp_path, WORKFLOW, TIME.replace("Hugo Petit,soldes-hiver,Maison Lumière,6\n",
                                                  "Hugo Petit,soldes-hiver,Maison Lumière,six\n"))
    [failed] = [s for s in result.stages if not s.ok]
    assert failed.id == "time"
    assert 'time.csv, line 4, column 7 "hours": value "six" is not a duration' in failed.error
    assert result.status == "failed"
    missing = "source time could not be read: its records may be missing from this figure"  # not "no time entries"
    for metric, unit in (("hours_spent", "h"), ("production_cost", "EUR"), ("average_task_time", "h")):
        assert cell(result, metric) == (None, unit, missing)
    assert cell(result, "cost_per_post")[2] == missing
    assert cell(result, "budget_consumed", campaign="lancement-bougies") == (
        None, "%", "no time entries up to the end of this period")


def test_cost_per_engagement_of_posts_nobody_interacted_with(tmp_path) -> None:
    posts = POSTS.replace("lancement-bougies,100,10,5,5", "lancement-bougies,0,0,,0")
    result = run(tmp_path, WORKFLOW, TIME, posts)
    assert cell(result, "cost_per_engagement", campaign="lancement-bougies") == (
        None, "EUR", "the period's posts have no interactions")
    assert cell(result, "cost_per_post", campaign="lancement-bougies")[0] == 220.0


def test_cost_per_engagement_of_posts_that_report_no_counter(tmp_path) -> None:
    posts = POSTS.replace("lancement-bougies,100,10,5,5", "lancement-bougies,,,,")
    result = run(tmp_path, WORKFLOW, TIME, posts)
    assert cell(result, "cost_per_engagement", campaign="lancement-bougies") == (
        None, "EUR", "no post reports likes, comments, shares or saves")
    assert cell(result, "cost_per_post", campaign="lancement-bougies")[0] == 220.0


@pytest.mark.parametrize(("code", "written"), [
    ("fr", ["1\u202f030,00\u00a0€", "236,67\u00a0€", "4\u00a0h"]),
    ("en", ["€1,030.00", "€236.67", "4\u00a0h"]),
])
def test_reports_and_the_terminal_write_amounts_in_their_currency(code, written) -> None:
    from cmflow import format_value
    from cmflow.presentation.language import language

    lang = language(code)
    assert [lang.value(1030, "EUR"), lang.value(236.666, "EUR"), lang.value(4, "h")] == written
    # The terminal, alerts and messages write them by the same rule (English by default).
    assert [format_value(1030, "EUR", code), format_value(236.666, "EUR", code), format_value(4, "h", code)] == written
