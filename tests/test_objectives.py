"""Objectives: the verdict ladder by hand, the ``[[objectives]]`` key checks, and a real run.

Every progress below is worked out by hand from the figures, never read back from cmflow.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cmflow import Ladder, Objective, ObjectiveResult
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.foundation.objectives import judge
from cmflow.store import open_store
from cmflow.testing import run_workflow_file
from cmflow.workflow import load_workflow


def objective(**fields) -> Objective:
    defaults = {"id": "o", "goal": "raise_interactions", "metric": "engagement_rate_by_reach",
                "direction": "at_least"}
    return Objective(**{**defaults, **fields})


def verdict(result: ObjectiveResult) -> tuple:
    return result.progress, result.verdict, result.threshold, result.rule


# -- the ladder, by hand ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (3.6, (1.2, "continue", 1.0, "progress 1.2 >= 1: continue")),      # 3.6 / 3
    (3.0, (1.0, "continue", 1.0, "progress 1 >= 1: continue")),        # exactly reached
    (2.4, (0.8, "optimise", 0.8, "progress 0.8 >= 0.8: optimise")),    # 2.4 / 3 = 0.8 (not 0.7999...)
    (1.5, (0.5, "change", 0.5, "progress 0.5 >= 0.5: change")),        # 1.5 / 3
    (1.2, (0.4, "stop", 0.5, "progress 0.4 < 0.5: stop")),             # 1.2 / 3
    (0.0, (0.0, "stop", 0.5, "progress 0 < 0.5: stop")),
    (-0.3, (-0.1, "stop", 0.5, "progress -0.1 < 0.5: stop")),          # a fall below zero
])
def test_a_level_target_to_reach_is_value_over_target(value, expected) -> None:
    result = judge(objective(target=3.0), {}, "%", "up", value)
    assert verdict(result) == expected
    assert result.value == value and result.reason is None and result.target_value == 3.0


@pytest.mark.parametrize(("value", "expected"), [
    (4.0, (1.25, "continue")),        # 5 / 4: under the limit
    (5.0, (1.0, "continue")),         # at the limit
    (6.0, (0.8333333333, "optimise")),  # 5 / 6
    (10.0, (0.5, "change")),          # 5 / 10
    (20.0, (0.25, "stop")),           # 5 / 20
    (0.0, (1.0, "continue")),         # no negative mention at all: reached
])
def test_a_level_target_not_to_exceed_is_target_over_value(value, expected) -> None:
    result = judge(objective(metric="negative_mentions", direction="at_most", target=5.0), {}, "mentions",
                   "down", value)
    assert (result.progress, result.verdict) == expected


def test_a_limit_of_zero_is_kept_only_by_zero() -> None:
    limit = objective(metric="negative_mentions", direction="at_most", target=0.0)
    assert verdict(judge(limit, {}, "mentions", "down", 0.0))[:2] == (1.0, "continue")
    assert verdict(judge(limit, {}, "mentions", "down", 2.0))[:2] == (0.0, "stop")  # 0 / 2


@pytest.mark.parametrize(("change_pct", "expected"), [
    (12.0, (1.2, "continue")),    # +12% achieved / +10% wanted
    (8.0, (0.8, "optimise")),
    (6.0, (0.6, "change")),
    (2.0, (0.2, "stop")),
    (-5.0, (-0.5, "stop")),       # a fall when a rise was wanted
])
def test_a_change_target_is_achieved_change_over_wanted_change(change_pct, expected) -> None:
    goal = objective(metric="followers", goal="grow_fanbase", target_change_pct=10.0, against="same_period_last_year")
    baseline = 1000.0
    result = judge(goal, {"account": "a"}, "followers", "up", baseline * (1 + change_pct / 100),
                   baseline=baseline, change_pct=change_pct)
    assert (result.progress, result.verdict) == expected
    assert result.baseline == 1000.0 and result.change_pct == change_pct
    assert result.target_value == 1100.0  # 1000 + 10%


@pytest.mark.parametrize(("change_pct", "expected"), [
    (-25.0, (1.25, "continue")),  # down 25% when down 20% was wanted: -25 / -20
    (-16.0, (0.8, "optimise")),
    (-10.0, (0.5, "change")),
    (10.0, (-0.5, "stop")),       # up 10%: the wrong way
])
def test_a_change_target_downwards_for_a_measurement_better_lower(change_pct, expected) -> None:
    goal = objective(metric="negative_mentions", goal="protect_reputation", direction="at_most",
                     target_change_pct=-20.0, against="previous_period")
    result = judge(goal, {}, "mentions", "down", 40 * (1 + change_pct / 100), baseline=40.0, change_pct=change_pct)
    assert (result.progress, result.verdict) == expected
    assert result.target_value == 32.0  # 40 - 20%


def test_no_value_or_no_baseline_gives_no_verdict_with_the_reason() -> None:
    level = judge(objective(target=3.0), {}, "%", "up", None, reason="no posts in this period")
    assert (level.progress, level.verdict, level.threshold, level.rule) == (None, None, None, "")
    assert level.reason == "no posts in this period"
    assert judge(objective(target=3.0), {}, "%", "up", None).reason == "no value this period"
    change = objective(target_change_pct=10.0, against="previous_period")
    zero = judge(change, {}, "%", "up", 3.0, baseline=0.0, change_pct=None, reason="comparison value is 0")
    assert (zero.verdict, zero.reason, zero.baseline) == (None, "comparison value is 0", 0.0)
    assert judge(change, {}, "%", "up", 3.0, baseline=0.0).reason == "comparison value is 0"
    missing = judge(change, {}, "%", "up", 3.0)
    assert (missing.verdict, missing.reason, missing.target_value) == (None, "no value for the comparison period", None)


def test_the_rule_shows_the_progress_that_met_the_threshold() -> None:
    """1.49 / 3 and 1.4999997 / 3: six digits would show the second as 0.5, the threshold it is below."""
    assert judge(objective(target=3.0), {}, "%", "up", 1.49).rule == "progress 0.4966666667 < 0.5: stop"
    assert judge(objective(target=3.0), {}, "%", "up", 1.4999997).rule == "progress 0.4999999 < 0.5: stop"


def test_a_threshold_is_shown_with_the_decimals_it_has_in_the_report_and_on_the_console() -> None:
    """optimise = 0.875: 87.55 % reached reads "optimise from 87.5%", never "from 88%" (the
    progress rounded the same way); a progress just past a threshold of 87.45 % is never shown
    as 87 %, below it."""
    from cmflow.presentation.language import language
    from cmflow.presentation.objective_words import objective_rule
    from cmflow.cli.run import _rule_in_words

    halves = objective(target=10.0, ladder=Ladder(optimise=0.875))
    result = judge(halves, {}, "%", "up", 8.755)  # 8.755 / 10 = 0.8755
    assert (result.verdict, result.threshold_percent(), result.progress_percent()) == ("optimise", (87.5, 1), (88.0, 0))
    assert objective_rule(result, language("en")) == _rule_in_words(result) == \
        "88% of the target reached: optimise from 87.5%."
    assert objective_rule(result, language("fr")).endswith("optimiser à partir de 87,5\u00a0%.")
    just_past = judge(objective(target=10.0, ladder=Ladder(optimise=0.8745)), {}, "%", "up", 8.7454)
    assert _rule_in_words(just_past) == "87.5% of the target reached: optimise from 87.45%."
    assert judge(objective(target=3.0), {}, "%", "up", 2.4).threshold_percent() == (80.0, 0)


def test_a_custom_ladder_moves_the_thresholds() -> None:
    strict = objective(target=10.0, ladder=Ladder(continue_=1.2, optimise=0.9, change=0.6))
    assert verdict(judge(strict, {}, "%", "up", 12.0)) == (1.2, "continue", 1.2, "progress 1.2 >= 1.2: continue")
    assert verdict(judge(strict, {}, "%", "up", 10.0)) == (1.0, "optimise", 0.9, "progress 1 >= 0.9: optimise")
    assert verdict(judge(strict, {}, "%", "up", 6.0)) == (0.6, "change", 0.6, "progress 0.6 >= 0.6: change")
    assert verdict(judge(strict, {}, "%", "up", 5.9)) == (0.59, "stop", 0.6, "progress 0.59 < 0.6: stop")


def test_a_ladder_must_go_down() -> None:
    assert Ladder().problem() is None
    assert Ladder(1.0, 0.5, 0.8).problem() == ("change (0.8) must be below optimise (0.5): the thresholds go "
                                               "down from continue to optimise to change")
    assert Ladder(0.8, 0.8, 0.5).problem().startswith("optimise (0.8) must be below continue (0.8)")


# -- the [[objectives]] keys -------------------------------------------------------------------------

HEAD = """
[workflow]
name = "Objectives"
period = "last_week"
as_of = "2026-11-24"
compare = ["previous_period"]

[[clients]]
id = "maison-lumiere"
name = "Maison Lumière"
language = "fr"
accounts = {maisonlumiere = "Maison Lumière"}

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall", "account"]

[[metrics]]
plugin = "posts_published"
by = ["account"]
"""


def problems(tmp_path: Path, objectives: str) -> list[tuple[str, str, str]]:
    (tmp_path / "kpi.toml").write_text(HEAD + objectives, encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "kpi.toml")
    return [(p.path, p.message, p.hint) for p in caught.value.problems]


def test_a_valid_objective_is_read_with_its_direction_from_the_polarity(tmp_path) -> None:
    (tmp_path / "kpi.toml").write_text(HEAD + """
[[objectives]]
id = "err"
title = "Un ERR d'au moins 3 %"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
where = {account = "maisonlumiere"}
client = "maison-lumiere"
horizon = 2026-12-31
ladder = {continue = 1.1, optimise = 0.9}
""", encoding="utf-8")
    (read,) = load_workflow(tmp_path / "kpi.toml").objectives
    assert read == Objective("err", "raise_interactions", "engagement_rate_by_reach", "at_least", 3.0, None, None,
                             "Un ERR d'au moins 3 %", {"account": "maisonlumiere"}, "maison-lumiere",
                             __import__("datetime").date(2026, 12, 31), Ladder(1.1, 0.9, 0.5))
    assert read.kind == "level"


def test_a_bad_goal_gets_the_closest_one(tmp_path) -> None:
    (path, message, hint), = problems(tmp_path, """
[[objectives]]
id = "fans"
goal = "grow_fanbse"
metric = "engagement_rate_by_reach"
target = 3.0
""")
    assert (path, message) == ("objectives[0].goal", "unknown value 'grow_fanbse'")
    assert hint.startswith("did you mean 'grow_fanbase'?")


def test_an_unknown_metric_gets_the_closest_measurement(tmp_path) -> None:
    assert problems(tmp_path, """
[[objectives]]
id = "err"
goal = "raise_interactions"
metric = "engagement_rate_by_rech"
target = 3.0
""") == [("objectives[0].metric", "no metric produces 'engagement_rate_by_rech'",
          "did you mean 'engagement_rate_by_reach'?")]


def test_against_must_be_among_the_comparisons(tmp_path) -> None:
    assert problems(tmp_path, """
[[objectives]]
id = "err"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target_change_pct = 10
against = "same_period_last_year"
""") == [("objectives[0].against", "the workflow is not compared with same_period_last_year",
          'add "same_period_last_year" to compare in [workflow]')]


def test_a_target_and_its_kind_are_checked(tmp_path) -> None:
    found = problems(tmp_path, """
[[objectives]]
id = "both"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
target_change_pct = 10
against = "previous_period"

[[objectives]]
id = "no-against"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target_change_pct = 10

[[objectives]]
id = "wrong-sign"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target_change_pct = -10
against = "previous_period"

[[objectives]]
id = "zero"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 0
""")
    assert found == [
        ("objectives[0]", "give either target (a value to reach) or target_change_pct (a change in % against a "
         "comparison period), not both", ""),
        ("objectives[1].against", 'target_change_pct needs against = "previous_period" or "same_period_last_year"', ""),
        ("objectives[2].target_change_pct", "engagement_rate_by_reach is better higher here (at_least): its "
         "target change must be positive", "write target_change_pct = 10, or set direction"),
        ("objectives[3].target", "a target to reach must be above 0 (progress is value / target)",
         "for a change against a comparison period, use target_change_pct"),
    ]


def test_a_neutral_measurement_needs_a_direction(tmp_path) -> None:
    assert problems(tmp_path, """
[[objectives]]
id = "cadence"
goal = "publish_regularly"
metric = "posts_published"
target = 3
where = {account = "maisonlumiere"}
""") == [("objectives[0].direction", "posts_published is neither better higher nor lower, so the objective "
          "must say which side of the target is the right one",
          'write direction = "at_least" (reach the target) or "at_most" (stay under it)')]


def test_an_unordered_ladder_is_refused(tmp_path) -> None:
    assert problems(tmp_path, """
[[objectives]]
id = "err"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
ladder = {optimise = 0.4}
""") == [("objectives[0].ladder", "change (0.5) must be below optimise (0.4): the thresholds go down from "
          "continue to optimise to change", "")]


def test_client_and_where_are_checked(tmp_path) -> None:
    assert problems(tmp_path, """
[[objectives]]
id = "err"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "maison-lumière"

[[objectives]]
id = "err2"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "maison-lumiere"
where = {acount = "maisonlumiere"}

[[objectives]]
id = "err3"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "maison-lumiere"
where = {account = ["maisonlumiere", "trailhead"]}

[[objectives]]
id = "overall"
goal = "publish_regularly"
metric = "posts_published"
direction = "at_least"
target = 3
""") == [
        ("objectives[0].client", "no client has id 'maison-lumière'", "did you mean 'maison-lumiere'?"),
        ("objectives[1].where.acount", "unknown dimension 'acount'", "did you mean 'account'?"),
        ("objectives[2].where.account", "'trailhead' is not an account of client 'maison-lumiere'",
         "its accounts: maisonlumiere"),
        ("objectives[3].where", "metrics[1] (posts_published) has no overall series",
         'add "overall" to its `by`, or give the objective a where (e.g. {account = "..."})'),
    ]


def test_ids_are_distinct(tmp_path) -> None:
    block = """
[[objectives]]
id = "err"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
"""
    assert problems(tmp_path, block * 2) == [("objectives[1].id", "objective id 'err' is already used",
                                              "give each objective its own id")]


# -- a real run --------------------------------------------------------------------------------------

def write_posts(path: Path, rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "post_id", "published_at", "format", "likes", "comments", "shares",
                         "saves", "reach"])
        writer.writerows(rows)


RUN = """
[workflow]
name = "Objectives"
period = "last_week"
as_of = "2026-11-24"
compare = ["previous_period"]

[[clients]]
id = "lumiere"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere"]

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall", "account", ["account", "format"]]

[[objectives]]
id = "err"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
where = {account = ["maisonlumiere", "trailhead", "nobody", "maisonlumier"]}

[[objectives]]
id = "err-up"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target_change_pct = 50
against = "previous_period"
client = "lumiere"
where = {account = "maisonlumiere"}

[[objectives]]
id = "overall"
title = "ERR of 4% overall"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 4.0
"""


def test_a_run_judges_each_objective_on_its_series(tmp_path, store_url) -> None:
    """Week of 16-22 November 2026, and the week before.

    maisonlumiere: this week one image post, (10 + 2 + 3 + 5) / 400 = 5%; the week before
    (5 + 1 + 1 + 1) / 400 = 2%. trailhead: this week (6 + 1 + 1 + 0) / 400 = 2%. Overall this
    week (20 + 8) / 800 = 3.5%.
    """
    write_posts(tmp_path / "posts.csv", [
        ["instagram", "maisonlumiere", "m1", "2026-11-17T10:00:00Z", "image", 10, 2, 3, 5, 400],
        ["instagram", "trailhead", "t1", "2026-11-18T10:00:00Z", "reel", 6, 1, 1, 0, 400],
        ["instagram", "maisonlumiere", "m0", "2026-11-10T10:00:00Z", "image", 5, 1, 1, 1, 400],
    ])
    (tmp_path / "kpi.toml").write_text(RUN, encoding="utf-8")
    result = run_workflow_file(tmp_path / "kpi.toml", store_url=store_url)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    got = [(r.objective.id, r.dimensions, r.value, r.baseline, r.change_pct, r.progress, r.verdict, r.reason)
           for r in result.objectives]
    approx = pytest.approx
    assert got == [
        # the account's series, not its series by format: 5 / 3
        ("err", {"platform": "instagram", "account": "maisonlumiere"}, approx(5.0), None, None, 1.6666666667,
         "continue", None),
        ("err", {"platform": "instagram", "account": "trailhead"}, approx(2.0), None, None, 0.6666666667,
         "change", None),  # 2 / 3
        ("err", {"account": "nobody"}, None, None, None, None, None,
         "no series of engagement_rate_by_reach has account = 'nobody' this period"),
        ("err", {"account": "maisonlumier"}, None, None, None, None, None,
         "no series of engagement_rate_by_reach has account = 'maisonlumier' this period; "
         "did you mean 'maisonlumiere'?"),
        # +150% against the week before (5 vs 2): 150 / 50
        ("err-up", {"platform": "instagram", "account": "maisonlumiere"}, approx(5.0), approx(2.0), approx(150.0),
         3.0, "continue", None),
        ("overall", {}, approx(3.5), None, None, 0.875, "optimise", None),  # 3.5 / 4
    ]
    assert result.objectives[-1].rule == "progress 0.875 >= 0.8: optimise"
    with open_store(store_url) as store:  # the rule is kept with the run, not only shown
        (kept,) = store.runs(result.workflow.key, limit=1)
    assert kept.stats["objectives"][-1] == {"id": "overall", "dimensions": {}, "progress": 0.875,
                                            "verdict": "optimise", "rule": "progress 0.875 >= 0.8: optimise",
                                            "reason": None}
    assert kept.stats["objectives"][2]["reason"].startswith("no series of engagement_rate_by_reach has account")
    assert result.objectives[-1].polarity == "up" and result.objectives[-1].unit == "%"
    assert result.workflow.polarity_of("engagement_rate_by_reach") == "up"


def test_the_console_lists_each_objective_with_its_decision(tmp_path) -> None:
    """In process (``--dry-run``): the summary names each objective, its decision and the rule."""
    from cmflow_command import cmflow_in_process

    write_posts(tmp_path / "posts.csv", [
        ["instagram", "maisonlumiere", "m1", "2026-11-17T10:00:00Z", "image", 10, 2, 3, 5, 400]])
    (tmp_path / "kpi.toml").write_text(RUN, encoding="utf-8")
    done = cmflow_in_process("run", tmp_path / "kpi.toml", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Objectives:" in done.stderr
    assert ("[continue] err (platform = instagram, account = maisonlumiere): 167% of the target reached: "
            "continue from 100%.") in done.stderr
    assert "[no verdict] err (account = nobody): no series of engagement_rate_by_reach" in done.stderr


def test_a_failed_source_gives_no_verdict(tmp_path, store_url) -> None:
    (tmp_path / "kpi.toml").write_text(RUN, encoding="utf-8")  # posts.csv does not exist
    result = run_workflow_file(tmp_path / "kpi.toml", store_url=store_url)
    assert result.status == "failed"
    assert {r.verdict for r in result.objectives} == {None}
    assert all(r.reason.startswith("source csv failed: ") for r in result.objectives)


# -- the docs -----------------------------------------------------------------------------------------

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "objectives.md"


def test_the_docs_worked_example_is_what_cmflow_says() -> None:
    """docs/objectives.md: the four objectives at the end of November."""
    err = judge(objective(target=3.0), {}, "%", "up", 2.7)
    fans = judge(objective(metric="followers", target_change_pct=10.0, against="same_period_last_year"), {},
                 "followers", "up", 4620.0, baseline=4400.0, change_pct=(4620 - 4400) / 4400 * 100)
    reputation = judge(objective(metric="negative_mentions", direction="at_most", target_change_pct=-20.0,
                                 against="previous_period"), {}, "mentions", "down", 6.0, baseline=10.0,
                       change_pct=-40.0)
    cadence = judge(objective(metric="posts_published", target=12.0), {}, "posts", "neutral", 9.0)
    assert [(r.progress, r.verdict) for r in (err, fans, reputation, cadence)] == [
        (0.9, "optimise"), (0.5, "change"), (2.0, "continue"), (0.75, "change")]
    page = DOCS_PAGE.read_text(encoding="utf-8")
    for row in ("| 2.7 / 3 = 0.9 | optimise", "| 5 / 10 = 0.5 | change", "| −40 / −20 = 2.0 | continue",
                "| 9 / 12 = 0.75 | change"):
        assert row in page


def test_the_json_schema_knows_clients_and_objectives() -> None:
    import json
    import re
    import tomllib

    import jsonschema

    from cmflow.plugins.registry import get_registry
    from cmflow.workflow_schema import workflow_schema

    validator = jsonschema.Draft202012Validator(workflow_schema(get_registry()))
    (example,) = [b for b in re.findall(r"^```toml\n(.*?)^```$", DOCS_PAGE.read_text(encoding="utf-8"),
                                        re.MULTILINE | re.DOTALL) if b.startswith("[workflow]")]
    # as an editor's TOML server hands it over: dates as ISO strings
    document = json.loads(json.dumps(tomllib.loads(example), default=str))
    assert [e.message for e in validator.iter_errors(document)] == []
    document["objectives"][0]["goal"] = "world_domination"
    document["clients"][0]["langage"] = "fr"
    assert not validator.is_valid(document)
    assert validator.is_valid({**json.loads(json.dumps(tomllib.loads(example), default=str)), "objectives": [
        {**document["objectives"][1], "ladder": {"continue": 1.2, "optimise": 0.9}}]})


def test_an_invalid_objective_still_has_its_references_checked(tmp_path) -> None:
    """Every problem at once: a bad goal does not hide a misspelt metric or client."""
    assert problems(tmp_path, """
[[objectives]]
id = "fans"
goal = "grow_fans"
metric = "engagement_rate"
target = 3.0
client = "maison-lumire"
""") == [
        ("objectives[0].goal", "unknown value 'grow_fans'", "did you mean 'grow_fanbase'? Choices: grow_fanbase, "
         "raise_interactions, increase_reach, generate_site_visits, increase_conversions, promote_event, "
         "protect_reputation, improve_response_time, publish_regularly"),
        ("objectives[0].metric", "no metric produces 'engagement_rate'", "did you mean 'engagement_rate_by_reach'?"),
        ("objectives[0].client", "no client has id 'maison-lumire'", "did you mean 'maison-lumiere'?"),
    ]


def test_a_client_objective_without_where_judges_the_clients_whole(tmp_path, store_url) -> None:
    """maisonlumiere and its TikTok-less twin lumiere_fr are the client's: (10 + 2 + 3 + 5 + 4 +
    0 + 0 + 0) / (400 + 400) = 3%; trailhead's post is no part of it. Against 4%: 0.75, change."""
    write_posts(tmp_path / "posts.csv", [
        ["instagram", "maisonlumiere", "m1", "2026-11-17T10:00:00Z", "image", 10, 2, 3, 5, 400],
        ["facebook", "lumiere_fr", "f1", "2026-11-17T11:00:00Z", "image", 4, 0, 0, 0, 400],
        ["instagram", "trailhead", "t1", "2026-11-18T10:00:00Z", "reel", 60, 1, 1, 0, 400],
    ])
    (tmp_path / "kpi.toml").write_text(RUN.split("[[objectives]]")[0].replace(
        'accounts = ["maisonlumiere"]', 'accounts = ["maisonlumiere", "lumiere_fr"]').replace(
        'by = ["overall", "account", ["account", "format"]]', 'by = ["client", "account"]') + """
[[objectives]]
id = "lumiere"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 4.0
client = "lumiere"
""", encoding="utf-8")
    result = run_workflow_file(tmp_path / "kpi.toml", store_url=store_url)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    (judged,) = result.objectives
    assert judged.objective.where == {"client": "lumiere"}
    assert (judged.dimensions, judged.value, judged.progress, judged.verdict) == (
        {"client": "lumiere"}, pytest.approx(3.0), 0.75, "change")


def test_a_client_objective_without_where_needs_the_client_breakdown(tmp_path) -> None:
    found = problems(tmp_path, """
[[objectives]]
id = "lumiere"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "maison-lumiere"

[[objectives]]
id = "other"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "maison-lumiere"
where = {client = "trailhead"}
""")
    assert found[0][:2] == ("objectives[0].client", "metrics[0] (engagement_rate_by_reach) is not broken down by "
                            "client, so no series would match")
    assert found[0][2] == 'add "client" to its `by`'
    assert found[1:] == [("objectives[1].where.client", "metrics[0] (engagement_rate_by_reach) is not broken down "
                          "by client, so no series would match", 'add "client" to its `by`'),
                         ("objectives[1].where.client", "the objective belongs to client 'maison-lumiere', not "
                          "'trailhead'", "remove the where, or the client")]


def test_a_failed_list_of_posts_leaves_the_follower_objective_its_verdict(tmp_path, store_url) -> None:
    """The posts export is missing, the follower counts are read: the ERR objective has no verdict,
    the followers' one is judged on counts that are whole (6,300 against a target of 6,000)."""
    (tmp_path / "followers.csv").write_text(
        "date,platform,account,followers\n2026-11-22,instagram,maisonlumiere,6300\n", encoding="utf-8")
    text = RUN.replace('''[[metrics]]
plugin = "engagement_rate_by_reach"''', '''[[sources]]
id = "counts"
plugin = "csv"
path = "followers.csv"
record = "account_snapshot"

[[metrics]]
plugin = "followers"
by = ["overall"]

[[metrics]]
plugin = "engagement_rate_by_reach"''') + '''
[[objectives]]
id = "fans"
goal = "grow_fanbase"
metric = "followers"
target = 6000
'''
    (tmp_path / "kpi.toml").write_text(text, encoding="utf-8")  # posts.csv does not exist
    result = run_workflow_file(tmp_path / "kpi.toml", store_url=store_url)
    assert result.status == "failed"
    verdicts = {r.objective.id: (r.verdict, r.reason) for r in result.objectives}
    assert verdicts["fans"] == ("continue", None)
    assert verdicts["overall"][0] is None and verdicts["overall"][1].startswith("source csv failed: ")


def test_a_clients_objective_on_a_platform_judges_the_clients_share_of_it(tmp_path, store_url) -> None:
    """client = "lumiere" with where = {platform = "instagram"}: Maison Lumière's Instagram
    (30 / 1000 = 3 %), not every client's Instagram ((30 + 10) / (1000 + 1000) = 2 %)."""
    (tmp_path / "posts.csv").write_text(
        "platform,account,post_id,published_at,likes,reach\n"
        "instagram,maisonlumiere,p1,2026-11-17T10:00:00Z,30,1000\n"
        "instagram,trailhead,p2,2026-11-18T10:00:00Z,10,1000\n", encoding="utf-8")
    (tmp_path / "kpi.toml").write_text('''
[workflow]
name = "Objectives"
period = "last_week"
as_of = "2026-11-24"

[[clients]]
id = "lumiere"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere"]

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["platform", ["client", "platform"]]

[[objectives]]
id = "insta"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "lumiere"
where = {platform = "instagram"}
''', encoding="utf-8")
    [judged] = run_workflow_file(tmp_path / "kpi.toml", store_url=store_url).objectives
    assert judged.dimensions == {"client": "lumiere", "platform": "instagram"}
    assert (judged.value, judged.verdict) == (3.0, "continue")


def test_a_client_objective_on_its_account_written_otherwise_gets_its_verdict(tmp_path, store_url) -> None:
    """``where = {account = "@MaisonLumiere"}`` names the client's account ``maisonlumiere`` (as
    Client.owns compares them): it loads, and the verdict is that account's (issue 17's review:
    it loaded and then matched no series)."""
    write_posts(tmp_path / "posts.csv", [
        ["instagram", "maisonlumiere", "m1", "2026-11-17T10:00:00Z", "image", 10, 2, 3, 5, 400],
        ["instagram", "maisonlumiere", "m0", "2026-11-10T10:00:00Z", "image", 5, 1, 1, 1, 400],
    ])
    text = RUN.replace('client = "lumiere"\nwhere = {account = "maisonlumiere"}',
                       'client = "lumiere"\nwhere = {account = "@MaisonLumiere"}')
    assert text != RUN
    (tmp_path / "kpi.toml").write_text(text, encoding="utf-8")
    result = run_workflow_file(tmp_path / "kpi.toml", store_url=store_url)
    [verdict] = [r for r in result.objectives if r.objective.id == "err-up"]
    assert (verdict.dimensions, verdict.verdict) == ({"platform": "instagram", "account": "maisonlumiere"}, "continue")
