"""The report document's own judgements: what a change means given the metric's polarity, and
how an alert's state is put to a client."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmflow.builtin.reports.document import AlertLine, Change, Figure


@pytest.mark.parametrize(("polarity", "unit", "change", "tone"), [
    ("up", "", 12.0, "good"), ("up", "", -3.0, "bad"),
    ("down", "", 12.0, "bad"), ("down", "", -3.0, "good"),  # more negative mentions is bad news
    ("neutral", "", 5.0, "neutral"), ("up", "", 0.0, "neutral"),
    ("up", "%", 0.004, "neutral"),  # a rate that moved less than 0.005 pt shows as ±0.00 pt: no news
    ("up", "%", 0.006, "good"),
])
def test_a_change_is_good_or_bad_news_by_the_metrics_polarity(polarity, unit, change, tone) -> None:
    figure = Figure("m", unit, 10.0, polarity=polarity, changes={"previous_period": Change(9.0, change, None)})
    assert figure.tone("previous_period") == tone


def test_no_change_has_no_tone() -> None:
    assert Figure("m", "", 10.0).tone("previous_period") == ""
    assert Figure("m", "", 10.0, changes={"previous_period": Change(None, None, None)}).tone("previous_period") == ""


@pytest.mark.parametrize(("severity", "state", "wording"), [
    ("info", "firing", "noted"),  # a viral week is worth noting, not something to deal with
    ("warning", "firing", "firing"), ("critical", "firing", "firing"),
    ("info", "resolved", "resolved"), ("warning", "pending", "pending"),
])
def test_an_alert_is_worded_by_its_severity_and_state(severity, state, wording) -> None:
    line = AlertLine("total_reach", {"account": "a"}, severity, 100.0, "", state, True, "up")
    assert line.wording == wording


@pytest.mark.parametrize(("previous", "value", "change_pct", "shown"), [
    (50.0, 60.0, 20.0, 20.0),
    (50.0, -10.0, -120.0, None),  # a growth that turned negative: the difference (-60), not -120 %
    (-10.0, 40.0, -500.0, None),  # from a negative figure a percentage says nothing
    (0.0, 3.0, None, None),
])
def test_a_change_is_a_percentage_only_where_one_means_something(previous, value, change_pct, shown) -> None:
    figure = Figure("follower_growth", "followers", value)
    assert figure.relative_change(Change(previous, value - previous, change_pct)) == shown


def test_the_rates_of_the_insights_and_heat_map_leave_out_posts_without_reach() -> None:
    """As the engagement_rate_by_reach metric: 10 likes over a reach of 1,000 is 1 %; a post with
    100 likes and no reach (an X post) is in neither sum, nor counted."""
    import polars as pl

    from cmflow.builtin.reports.document import _rates

    posts = pl.DataFrame({"account": ["a", "a", "a"], "likes": [10, 100, 5], "comments": [0, 0, None],
                          "shares": [0, 0, 0], "saves": [0, 0, 0], "reach": [1000, None, 0]})
    [row] = _rates(posts, ["account"]).to_dicts()
    assert (row["value"], row["posts"]) == (1.0, 1)


def test_the_rates_of_the_insights_and_heat_map_follow_the_group_rule_for_counters() -> None:
    """As the metric: empty counter cells count as 0 with the post's reach kept (10 / 1,000), and
    a group in which no post reports any counter (an export of reach only) has no rate, not 0 %."""
    import polars as pl

    from cmflow.builtin.reports.document import _rates

    posts = pl.DataFrame({"account": ["a", "a", "b"], "likes": [10, None, None], "comments": [None, None, None],
                          "shares": [None, None, None], "saves": [None, None, None], "reach": [100, 900, 500]},
                         schema_overrides={c: pl.Int64 for c in ("likes", "comments", "shares", "saves")})
    rows = {row["account"]: row for row in _rates(posts, ["account"]).to_dicts()}
    assert (rows["a"]["value"], rows["a"]["posts"]) == (1.0, 2)
    assert (rows["b"]["value"], rows["b"]["posts"]) == (None, 1)


def test_an_objective_without_a_verdict_shows_no_figures() -> None:
    """Its reason is said instead: never "– for a target of – (0 % of the target)"."""
    from cmflow import Objective, ObjectiveResult
    from cmflow.presentation.language import language
    from cmflow.presentation.objective_words import objective_figures

    objective = Objective(id="fans", goal="grow_fanbase", metric="followers", direction="at_least",
                          target_change_pct=10.0, against="previous_period")
    no_baseline = ObjectiveResult(objective, {}, "followers", "up", 120.0)
    assert objective_figures(no_baseline, language("fr")) == ""
    reached = ObjectiveResult(objective, {}, "followers", "up", 112.0, baseline=100.0, change_pct=12.0,
                              progress=1.2, verdict="continue", threshold=1.0)
    assert objective_figures(reached, language("en")) == "+12.00% for a target of +10.00% (120% of the target) · vs previous period"


@pytest.mark.parametrize(("change", "words", "mark"), [
    (Change(10.0, 5.0, 50.0), "+50 %", "▲"),  # more unfollows: ▲ (the colour says it is bad news)
    (Change(10.0, -3.0, -30.0), "-30 %", "▼"),
    (Change(3.0, 0.001, None), "±0,00 pt", "■"),  # rounds to no change
    (Change(3.0, 0.0, 0.0), "±0 %", "■"),
])
def test_a_changes_arrow_says_which_way_the_figure_went(change, words, mark) -> None:
    from cmflow.builtin.reports.document import change_mark

    assert change_mark(change, words) == mark


def test_the_email_marks_a_change_the_way_the_report_does() -> None:
    """A rise of unfollows (down is good) is ▲ in red in the e-mail too: the arrow is the
    direction, the colour the tone; it used to be ▼ there, against its own +50 %."""
    from datetime import date, datetime, timezone

    from cmflow.builtin.reports.document import ReportDocument
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.mailing import email_facts
    from cmflow.builtin.reports.scopes import ReportScope

    unfollows = Figure("followers_lost", "followers", 15.0, polarity="down",
                       changes={"previous_period": Change(10.0, 5.0, 50.0)})
    document = ReportDocument("Report", ReportScope(), date(2026, 11, 16), date(2026, 11, 22),
                              {"previous_period": (date(2026, 11, 9), date(2026, 11, 15))}, [unfollows], [], [], {},
                              [], [], [], [], [], [], datetime(2026, 11, 24, tzinfo=timezone.utc))
    [line] = email_facts(document, language("en"), attached=[]).figures[0].changes
    assert (line.mark, line.tone, line.text) == ("▲", "bad", "+50% vs previous period")


@pytest.mark.parametrize(("entry_client", "in_report"), [
    ("maison", True),  # the spend is Maison Lumière's own: their report lists the alert
    (None, False),  # an unlabelled time entry may be another client's Black Friday: in no client's report
    ("trailhead", False),  # two clients name the campaign: in neither's
])
def test_a_campaign_alert_is_in_a_client_s_report_only_when_the_campaign_is_certainly_theirs(
        entry_client, in_report) -> None:
    """Generic campaign names (black-friday, soldes, noel) recur across an agency's clients: a
    campaign alert goes to a client's report only when every record naming the campaign is that
    client's; the agency's copies list it always."""
    import types

    import polars as pl

    from cmflow.builtin.reports.document import alert_lines
    from cmflow.builtin.reports.scopes import ReportScope
    from cmflow.foundation.alerts import Alert
    from cmflow.foundation.clients import Client

    maison = Client("maison", "Maison Lumière", {"maisonlumiere": "Maison Lumière"}, language="fr")
    records = {"time_entry": pl.DataFrame({"campaign": ["Black Friday"], "client": [entry_client]},
                                          schema={"campaign": pl.String, "client": pl.String}),
               "post": pl.DataFrame({"campaign": ["black-friday"], "client": ["maison"]})}
    workflow = types.SimpleNamespace(polarity_of=lambda metric: "down", measurement_names=lambda: {"budget_consumed": "%"})
    alert = Alert("over_budget", "budget_consumed", {"campaign": "Black Friday"}, "s", "warning", 116.0)
    result = types.SimpleNamespace(workflow=workflow, records=records, alerts=[alert], pending=[], resolved=[])
    client_scope = ReportScope(maison, frozenset({("instagram", "maisonlumiere")}), {})
    assert bool(alert_lines(result, client_scope)) is in_report
    assert len(alert_lines(result, ReportScope())) == 1


def test_a_resolved_alert_is_not_told_as_if_its_condition_held() -> None:
    """A resolved budget alert carries its last firing value and the trigger's words for it
    ("au-dessus de 100,00 %"); beside "Revenu à la normale" the report says the neutral line:
    the metric, the campaign and the value, never the condition as if it still held."""
    from cmflow.builtin.reports.alert_words import alert_sentence
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope
    from cmflow.foundation.alerts import Alert
    from cmflow.workflow import load_workflow

    workflow = load_workflow(Path(__file__).parent.parent / "workflows" / "demo.toml")
    dims = {"campaign": "calendrier-avent"}
    for code, above in (("fr", "au-dessus"), ("en", "above")):
        alert = Alert("over_budget", "budget_consumed", dims, "Budget consumed is 116.00% for calendrier-avent, above 100.00%",
                      "warning", 116.0, state="resolved", is_new=False)
        resolved = AlertLine("budget_consumed", dims, "warning", 116.0, "%", "resolved", False, "down", alert, workflow)
        said = alert_sentence(resolved, ReportScope(), language(code))
        assert above not in said and "Calendrier de l'Avent" in said, said  # the campaign by its name (demo.toml)


def test_a_post_is_in_the_top_or_the_flop_list_never_both() -> None:
    """Seven ranked posts (ERR 7 % down to 1 %), a top 5 and a flop 3: the flop ranking is p7, p6,
    p5 and p5 is the top's 5th, so the flop list is p7 and p6, ranked 1 and 2, and the report is
    told that 7 posts were ranked. Lists that do not meet are left as they are."""
    from cmflow.builtin.reports.document import RankedPost, flop_apart_from_top

    def post(post_id: str, rank: int) -> RankedPost:
        err = float(post_id[1:])
        return RankedPost(rank, "instagram", "lumiere", "Maison Lumière", None, "image", post_id, None,
                          8 - err, "%", post_id=post_id)

    top = [post(f"p{i}", i) for i in range(1, 6)]
    flop, ranked = flop_apart_from_top(top, [post("p7", 1), post("p6", 2), post("p5", 3)])
    assert [(p.post_id, p.rank) for p in flop] == [("p7", 1), ("p6", 2)]
    assert ranked == 7
    flop, ranked = flop_apart_from_top(top[:2], [post("p5", 1), post("p4", 2), post("p3", 3)])
    assert ([(p.post_id, p.rank) for p in flop], ranked) == ([("p5", 1), ("p4", 2), ("p3", 3)], None)
    # every post already in the top: no flop list, and how many were ranked
    assert flop_apart_from_top(top[:3], [post("p3", 1), post("p2", 2), post("p1", 3)]) == ([], 3)
    # the same post id on two accounts is two posts
    other = RankedPost(1, "instagram", "trailhead", "Trailhead", None, None, "", None, 1.0, "%", post_id="p1")
    assert flop_apart_from_top(top, [other]) == ([other], None)


def test_an_insight_is_on_the_reports_period_when_it_has_the_posts_else_says_its_weeks() -> None:
    """A week's report (16-22 Nov 2026) with a trend of two weeks (from 9 Nov). Lumière posted 10
    times in the week: 5 reels at 60 / 1,000 = 6 % and 5 images at 4 %, the account 500 / 10,000
    = 5 %: reels +20 %, images -20 %, both on the week. Atelier posted 4 times in the week, too
    few, and 8 the week before: 6 carousels at 3 % and 6 images at 1 %, the account 2 % over the
    two weeks: carousels +50 %, images -50 %, on the two weeks, and the sentence says so."""
    import types
    from datetime import date, datetime, timedelta, timezone

    import polars as pl

    from cmflow.builtin.reports.document import _insights
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope
    from cmflow.foundation.periods import Period

    rows = []
    def posts(account: str, fmt: str, likes: int, first: date, n: int) -> None:
        for i in range(n):
            rows.append({"platform": "instagram", "account": account, "format": fmt, "likes": likes,
                         "comments": 0, "shares": 0, "saves": 0, "reach": 1000,
                         "published_at": datetime.combine(first + timedelta(days=i), datetime.min.time(),
                                                          timezone.utc) + timedelta(hours=10)})
    posts("lumiere", "reel", 60, date(2026, 11, 16), 5)
    posts("lumiere", "image", 40, date(2026, 11, 16), 5)
    posts("lumiere", "reel", 10, date(2026, 11, 9), 5)  # the week before: not the week's figures
    posts("atelier", "carousel", 30, date(2026, 11, 16), 2)
    posts("atelier", "image", 10, date(2026, 11, 18), 2)
    posts("atelier", "carousel", 30, date(2026, 11, 9), 4)
    posts("atelier", "image", 10, date(2026, 11, 9), 4)
    posts("atelier", "carousel", 30, date(2026, 11, 2), 3)  # before the trend: in no insight
    week = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    before = Period(date(2026, 11, 9), date(2026, 11, 15), "Europe/Paris", label="history-1", unit="week")
    result = types.SimpleNamespace(records={"post": pl.DataFrame(rows)}, period=week, all_periods=[week, before])

    said = {(i.values["account"], i.values["format"]): i for i in _insights(result, ReportScope())}
    assert {k: (i.key, round(i.values["gap_pct"], 6), i.values["posts"], i.values["account_posts"], i.values["window"],
                i.values["since"]) for k, i in said.items()} == {
        ("lumiere", "reel"): ("insight_format_above", 20.0, 5, 10, "period", date(2026, 11, 16)),
        ("lumiere", "image"): ("insight_format_below", 20.0, 5, 10, "period", date(2026, 11, 16)),
        ("atelier", "carousel"): ("insight_format_above", 50.0, 6, 12, "trend", date(2026, 11, 9)),
        ("atelier", "image"): ("insight_format_below", 50.0, 6, 12, "trend", date(2026, 11, 9)),
    }
    assert said[("atelier", "carousel")].values["periods"] == 2
    fr, en = language("fr"), language("en")
    assert fr.text("insight_window_week", n=2, days=7, period=fr.period(date(2026, 11, 9), date(2026, 11, 22))) == (
        "sur les 2 dernières semaines (9–22 nov. 2026)")
    assert en.text("insight_window_week", n=8, days=7, period="Sep 28 – Nov 22, 2026") == (
        "over the last 8 weeks (Sep 28 – Nov 22, 2026)")
