"""A source that could not be read: a 0 its missing records may have made has no value, a 0 of
the sources that were read stays (stages/failed_sources.py).

Real workflows on a real store: a CSV export that is read, and a second source that fails (a
file gone, or the Instagram API answering an expired token on the replay server). Figures by
hand, from the Facebook posts: account f posted on 2026-11-05 (2 likes, before the previous week,
so the records read reach it and the uncovered_periods stage does not decide it) and on 2026-11-18
(5 likes), nothing in the previous week (9-15 November)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cmflow.testing import Reply, replay_server, run_workflow_file  # noqa: F401 (a fixture)

FACEBOOK = ("platform,account,post_id,published_at,likes\nfacebook,f,f0,2026-11-05T10:00:00Z,2\n"
            "facebook,f,f1,2026-11-18T10:00:00Z,5\n")
WORKFLOW = """[workflow]
name = "Failed sources"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
compare = ["previous_period"]

[[sources]]
id = "facebook"
plugin = "csv"
path = "facebook.csv"

{failing}

[[metrics]]
plugin = "posts_published"
by = ["overall", "platform", "account"]

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall", "platform"]
{more}
"""
MISSING = "source gone could not be read: its records may be missing from this figure"


def figure(result, metric: str, period: str, **dimensions: str) -> tuple[float | None, str | None]:
    frame = result.measurements.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for name in ("platform", "account"):
        frame = frame.filter(pl.col(name) == dimensions[name]) if name in dimensions else \
            frame.filter(pl.col(name).is_null()) if name in frame.columns else frame
    [row] = frame.select("value", "reason").rows()
    return row


def run(tmp_path: Path, store_url: str, failing: str, more: str = ""):
    (tmp_path / "facebook.csv").write_text(FACEBOOK, encoding="utf-8")
    path = tmp_path / "workflow.toml"
    path.write_text(WORKFLOW.format(failing=failing, more=more), encoding="utf-8")
    return run_workflow_file(path, store_url=store_url)


def test_a_failed_export_of_another_platform_blanks_the_overall_zero_not_facebooks(tmp_path: Path,
                                                                                  store_url: str) -> None:
    """The Instagram export is gone: 0 posts overall last week may be Instagram's missing posts;
    Facebook's 0 (and account f's) is what Facebook's export says, and stays 0."""
    result = run(tmp_path, store_url, '[[sources]]\nid = "gone"\nplugin = "csv"\npath = "instagram.csv"\n'
                 'constants = { platform = "instagram" }')
    assert [s.id for s in result.failed_sources] == ["gone"]
    assert figure(result, "posts_published", "previous_period") == (None, MISSING)
    assert figure(result, "posts_published", "previous_period", platform="facebook") == (0, None)
    assert figure(result, "posts_published", "previous_period", platform="facebook", account="f") == (0, None)
    assert figure(result, "total_likes", "previous_period") == (None, MISSING)  # not "no posts in this period"
    assert figure(result, "total_likes", "previous_period", platform="facebook")[0] is None  # no post: no value,
    assert figure(result, "total_likes", "previous_period", platform="facebook")[1] != MISSING  # said as before
    # what was read, other than 0, stays (the report says it is incomplete)
    assert figure(result, "posts_published", "current") == (1, None)
    assert figure(result, "total_likes", "current", platform="facebook") == (5, None)


def test_a_failed_source_of_unknown_platform_and_accounts_blanks_only_what_it_may_hold(tmp_path: Path,
                                                                                      store_url: str) -> None:
    """Nothing says what the gone file held (its first run): only the overall zero may be its;
    Facebook's rows are the read export's series, whose 0 is a true 0."""
    result = run(tmp_path, store_url, '[[sources]]\nid = "gone"\nplugin = "csv"\npath = "gone.csv"')
    assert figure(result, "posts_published", "previous_period") == (None, MISSING)
    assert figure(result, "posts_published", "previous_period", platform="facebook") == (0, None)
    assert figure(result, "posts_published", "previous_period", platform="facebook", account="f") == (0, None)


def test_a_failed_export_of_the_same_platform_blanks_that_platforms_zero(tmp_path: Path, store_url: str) -> None:
    """A second Facebook export (constants say so) is gone: Facebook's 0 last week may be its
    missing posts; account f's too, since the gone export's accounts are not known. Given its
    account (another page), account f's 0 is f's again."""
    result = run(tmp_path, store_url, '[[sources]]\nid = "gone"\nplugin = "csv"\npath = "older.csv"\n'
                 'constants = { platform = "facebook" }')
    assert figure(result, "posts_published", "previous_period", platform="facebook") == (None, MISSING)
    assert figure(result, "posts_published", "previous_period", platform="facebook", account="f") == (None, MISSING)
    other = tmp_path / "other"
    other.mkdir()
    result = run(other, f"sqlite:///{other / 'state.db'}", '[[sources]]\nid = "gone"\nplugin = "csv"\npath = "older.csv"\n'
                 'constants = { platform = "facebook", account = "g" }\nwhere = { account = "g" }')
    assert figure(result, "posts_published", "previous_period", platform="facebook") == (None, MISSING)
    assert figure(result, "posts_published", "previous_period", platform="facebook", account="f") == (0, None)


def test_a_metric_that_does_not_read_the_failed_sources_records_keeps_its_zero(tmp_path: Path,
                                                                              store_url: str) -> None:
    """The gone source is named in no metric's sources, or gives a kind the metric does not read."""
    result = run(tmp_path, store_url, '[[sources]]\nid = "gone"\nplugin = "csv"\npath = "gone.csv"\nrecord = "mention"',
                 more='\n[[metrics]]\nplugin = "mentions"\nby = ["overall"]\n')
    assert figure(result, "posts_published", "previous_period") == (0, None)  # posts: the gone file held mentions
    assert figure(result, "mentions", "previous_period") == (None, MISSING)


def test_a_failed_time_tracker_blanks_the_no_time_entries_figures(tmp_path: Path, store_url: str) -> None:
    """The time tracker's export is gone: "no time entries in this period" (hours spent, cost
    per post) is not known; it may be the export's missing entries."""
    result = run(tmp_path, store_url, '[[sources]]\nid = "gone"\nplugin = "csv"\npath = "time.csv"\n'
                 'record = "time_entry"',
                 more='\n[[metrics]]\nplugin = "hours_spent"\nby = ["overall"]\n')
    assert figure(result, "hours_spent", "current") == (None, MISSING)
    assert figure(result, "hours_spent", "previous_period") == (None, MISSING)
    assert figure(result, "posts_published", "current") == (1, None)


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_an_instagram_api_that_fails_blanks_instagrams_zero_on_the_replay_server(
        tmp_path: Path, store_url: str, replay_server, monkeypatch) -> None:
    """The Instagram source (accounts and platform in its options) gets an expired token:
    0 posts overall last week is not known, Facebook's and account f's 0 stay."""
    from test_source_instagram import IG_USER, TOKEN

    replay_server.add("GET", f"/v25.0/{IG_USER}", Reply(status=400, json={"error": {
        "message": "Error validating access token: Session has expired.", "type": "OAuthException", "code": 190,
        "error_subcode": 463, "fbtrace_id": "AbCdEf"}}), repeat=True)
    monkeypatch.setenv("IG_ACCESS_TOKEN", TOKEN)
    result = run(tmp_path, store_url, f'[[sources]]\nid = "gone"\nplugin = "instagram"\naccounts = ["{IG_USER}"]\n'
                 'access_token = "${env:IG_ACCESS_TOKEN}"\nfetch = ["posts"]\n'
                 f'base_url = "{replay_server.url}"\nallow_private_network = true')
    [failed] = result.failed_sources
    assert failed.id == "gone" and "expired" in failed.error
    assert figure(result, "posts_published", "previous_period") == (None, MISSING)
    assert figure(result, "posts_published", "previous_period", platform="facebook") == (0, None)
    assert figure(result, "posts_published", "previous_period", platform="facebook", account="f") == (0, None)
    assert figure(result, "posts_published", "current") == (1, None)
    assert result.comparisons.filter((pl.col("metric") == "posts_published") & pl.col("platform").is_null()
                                     ).row(0, named=True)["change_reason"] == "no value for the comparison period"


AGENCY = """[workflow]
name = "Agency"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
compare = ["previous_period"]

[[clients]]
id = "lumen"
name = "Lumen"
accounts = ["f", "lumen.ig"]
language = "en"

[[clients]]
id = "bakery"
name = "Bakery"
accounts = ["g"]
language = "fr"

[[sources]]
id = "facebook"
plugin = "csv"
path = "facebook.csv"

[[sources]]
id = "gone"
plugin = "csv"
path = "instagram.csv"
{constants}

[[metrics]]
plugin = "posts_published"
by = ["overall", "platform", "account", "client"]

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall"]
where = {{ platform = "facebook" }}
"""


@pytest.mark.parametrize("constants", ['constants = { platform = "instagram" }', ""])
def test_a_failed_source_of_unknown_accounts_blanks_the_series_it_may_hold_by_platform_and_account(
        tmp_path: Path, constants: str) -> None:
    """An agency's Facebook export is read (f of Lumen, g of Bakery: nothing on 9-15 November);
    its other export is gone, its accounts unknown. Known to be Instagram's (its constants), it
    may hold f's or g's Instagram posts (one handle on several platforms): both clients' 0 last
    week have no value, Facebook's and (facebook, f)'s stay. Known by nothing, it may hold what
    the records read do not have: Lumen's lumen.ig, not Bakery's g. A metric kept to Facebook
    (its where) reads none of an Instagram source's records: its overall row is as before."""
    (tmp_path / "facebook.csv").write_text(
        "platform,account,post_id,published_at,likes,comments\n"
        "facebook,f,f0,2026-11-05T10:00:00Z,2,0\nfacebook,f,f1,2026-11-18T10:00:00Z,5,1\n"
        "facebook,g,g0,2026-11-04T10:00:00Z,3,0\nfacebook,g,g1,2026-11-19T10:00:00Z,4,2\n", encoding="utf-8")
    (tmp_path / "workflow.toml").write_text(AGENCY.format(constants=constants), encoding="utf-8")
    result = run_workflow_file(tmp_path / "workflow.toml", store_url=None)
    rows = result.measurements.filter(pl.col("period") == "previous_period")
    got = {(r["metric"], r["platform"], r["account"], r["client"]): (r["value"], r["reason"])
           for r in rows.iter_rows(named=True)}
    assert got[("posts_published", None, None, None)] == (None, MISSING)
    assert got[("posts_published", None, None, "lumen")] == (None, MISSING)
    assert got[("posts_published", None, None, "bakery")] == ((None, MISSING) if constants else (0, None))
    assert got[("posts_published", "facebook", None, None)] == (0, None)
    assert got[("posts_published", "facebook", "f", None)] == (0, None)
    assert got[("posts_published", "facebook", "g", None)] == (0, None)
    assert got[("total_likes", None, None, None)][1] == ("no posts in this period" if constants else MISSING)
