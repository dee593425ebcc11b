"""The bundled demo, end to end: its numbers are checked against the raw files read with the
standard library only (csv, json), never with cmflow, so a wrong formula cannot check itself.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cmflow.store import open_store
from cmflow.testing import run_workflow_file

REPO = Path(__file__).resolve().parent.parent
DEMO_WORKFLOW = REPO / "workflows" / "demo.toml"
DATA = REPO / "src" / "cmflow" / "data" / "demo"
CURRENT = (date(2026, 11, 16), date(2026, 11, 22))
PREVIOUS = (date(2026, 11, 9), date(2026, 11, 15))
PERIOD = "2026-11-16..2026-11-22"
REPORT = Path("reports") / f"demo-{PERIOD}.html"


# -- independent computations from the raw files ---------------------------------------------
def meta_posts(period: tuple[date, date]) -> list[dict[str, str]]:
    """Meta export rows published in the period. Times are Paris wall-clock time, like the period."""
    with (DATA / "meta_posts.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r for r in rows
            if period[0] <= datetime.strptime(r["Publish time"], "%m/%d/%Y %H:%M").date() <= period[1]]


def linkedin_posts(period: tuple[date, date]) -> list[dict[str, str]]:
    with (DATA / "linkedin_posts.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return [r for r in rows
            if period[0] <= datetime.strptime(r["Date de publication"], "%d/%m/%Y %H:%M").date() <= period[1]]


def number(text: str) -> int:
    return int(text) if text.strip() else 0


def err(rows: list[dict[str, str]]) -> float:
    """ERR = (likes + comments + shares + saves) / reach x 100, as a ratio of sums."""
    with_reach = [r for r in rows if r["Reach"].strip()]
    interactions = sum(number(r["Likes"]) + number(r["Comments"]) + number(r["Shares"]) + number(r["Saves"])
                       for r in with_reach)
    return interactions / sum(number(r["Reach"]) for r in with_reach) * 100


def of_account(rows: list[dict[str, str]], platform: str, account: str) -> list[dict[str, str]]:
    return [r for r in rows if r["Platform"].lower() == platform and r["Account"] == account]


def followers_on(day: date, platform: str, account: str) -> int:
    snapshots = json.loads((DATA / "account_snapshots.json").read_text(encoding="utf-8"))
    [followers] = [s["followers"] for s in snapshots
                   if s["date"] == day.isoformat() and s["platform"] == platform and s["account"] == account]
    return followers


def posts_per_account(period: tuple[date, date]) -> Counter:
    counts = Counter((r["Platform"].lower(), r["Account"]) for r in meta_posts(period))
    counts.update(("linkedin", r["Page"]) for r in linkedin_posts(period))
    return counts


# -- reading the report ----------------------------------------------------------------------
@dataclass
class ReportTable:
    headers: list[str] = field(default_factory=list)
    rows: list[list[tuple[str, str]]] = field(default_factory=list)
    """Each cell is (text, change text)."""
    badges: dict[tuple[int, int], str] = field(default_factory=dict)
    """A cell's verdict badge (on track ...), by (row, column) index."""

    def _row(self, labels: tuple[str, ...]) -> int:
        [index] = [i for i, r in enumerate(self.rows) if tuple(text for text, _ in r[:len(labels)]) == labels]
        return index

    def cell(self, labels: tuple[str, ...], column: str) -> tuple[str, str]:
        return self.rows[self._row(labels)][self.headers.index(column)]

    def badge(self, labels: tuple[str, ...], column: str) -> str | None:
        return self.badges.get((self._row(labels), self.headers.index(column)))


class ReportParser(HTMLParser):
    """Tables of the HTML report by the title of the heading above them."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, ReportTable] = {}
        self._heading: str | None = None
        self._in_heading = False
        self._table: ReportTable | None = None
        self._cell: list[str] | None = None
        self._in_change = False
        self._in_badge = False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "h2":
            self._in_heading, self._heading = True, ""
        elif tag == "table" and self._heading is not None:
            self._table = self.tables[self._heading] = ReportTable()
        elif tag == "tr" and self._table is not None:
            self._table.rows.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ["", "", ""]
        elif tag == "span" and "change" in classes:
            self._in_change = True
        elif tag == "span" and "badge" in classes:
            self._in_badge = True

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_heading = False
        elif tag == "table":
            self._table = None
        elif tag == "tr" and self._table is not None and not self._table.rows[-1]:
            self._table.rows.pop()  # the header row: its cells went to headers
        elif tag == "span":
            self._in_change = self._in_badge = False
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            text, change, badge = (part.strip() for part in self._cell)
            if tag == "th":
                self._table.headers.append(text)
            else:
                if badge:
                    self._table.badges[(len(self._table.rows) - 1, len(self._table.rows[-1]))] = badge
                self._table.rows[-1].append((text, change))
            self._cell = None

    def handle_data(self, data):
        if self._in_heading:
            self._heading += data
        elif self._cell is not None:
            self._cell[2 if self._in_badge else 1 if self._in_change else 0] += data


def report_tables(html: str) -> dict[str, ReportTable]:
    parser = ReportParser()
    parser.feed(html)
    return parser.tables


def pct(value: float) -> str:
    return f"{value:.2f}%"


def points(change: float) -> str:
    return f"{change:+.2f} pt"


def current_row(result, metric: str, platform: str, account: str) -> dict:
    """One account's current measurement with its comparison columns."""
    rows = result.current(metric)
    [row] = rows.filter((rows["platform"] == platform) & (rows["account"] == account)).iter_rows(named=True)
    return row


# -- the runs --------------------------------------------------------------------------------
@pytest.fixture
def demo_dir(tmp_path, monkeypatch) -> Path:
    """Run from tmp_path, so reports/ (and any .cmflow/) land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def demo_run(demo_dir, store_url):
    return run_workflow_file(DEMO_WORKFLOW, store_url=store_url, period=PERIOD)


def test_demo_runs_cleanly_over_the_expected_weeks(demo_run, demo_dir):
    assert demo_run.status == "ok", [s for s in demo_run.stages if not s.ok]
    assert (demo_run.period.start, demo_run.period.end) == CURRENT
    [previous] = demo_run.comparison_periods
    assert (previous.start, previous.end) == PREVIOUS
    counts = {s.id: s.counts for s in demo_run.stages if s.kind == "source"}
    with (DATA / "meta_posts.csv").open(encoding="utf-8", newline="") as handle:
        assert counts["meta"] == {"post": sum(1 for _ in csv.DictReader(handle))}
    assert (demo_dir / REPORT).is_file()


def test_trailhead_instagram_err_drops_about_45_percent(demo_run):
    current = of_account(meta_posts(CURRENT), "instagram", "trailhead.outfitters")
    previous = of_account(meta_posts(PREVIOUS), "instagram", "trailhead.outfitters")
    assert current and previous
    expected_now, expected_before = err(current), err(previous)
    expected_change_pct = (expected_now - expected_before) / expected_before * 100
    assert -50 < expected_change_pct < -40  # the injected signal, in the raw data

    row = current_row(demo_run, "engagement_rate_by_reach", "instagram", "trailhead.outfitters")
    assert row["value"] == pytest.approx(expected_now)
    assert row["previous_period.previous_value"] == pytest.approx(expected_before)
    assert row["previous_period.change_pct"] == pytest.approx(expected_change_pct)
    assert row["previous_period.change"] == pytest.approx(expected_now - expected_before)


def test_overall_err_and_facebook_reach_spike(demo_run):
    # LinkedIn exports have no reach: its posts are left out of ERR, so overall ERR is the Meta one.
    assert demo_run.value("engagement_rate_by_reach") == pytest.approx(err(meta_posts(CURRENT)))
    reach_now = sum(number(r["Reach"]) for r in of_account(meta_posts(CURRENT), "facebook", "maisonlumiere"))
    reach_before = sum(number(r["Reach"]) for r in of_account(meta_posts(PREVIOUS), "facebook", "maisonlumiere"))
    rise = (reach_now - reach_before) / reach_before * 100
    assert 50 < rise < 70
    assert demo_run.value("total_reach", platform="facebook", account="maisonlumiere") == reach_now
    row = current_row(demo_run, "total_reach", "facebook", "maisonlumiere")
    assert row["previous_period.previous_value"] == reach_before
    assert row["previous_period.change_pct"] == pytest.approx(rise)


def test_posts_published_and_follower_growth(demo_run):
    expected = posts_per_account(CURRENT)
    assert len(expected) == 6
    for (platform, account), count in expected.items():
        assert demo_run.value("posts_published", platform=platform, account=account) == count, (platform, account)
    assert demo_run.value("posts_published") == sum(expected.values())
    growth = (followers_on(CURRENT[1], "instagram", "trailhead.outfitters")
              - followers_on(CURRENT[0] - timedelta(days=1), "instagram", "trailhead.outfitters"))
    assert growth > 0
    assert demo_run.value("follower_growth", platform="instagram", account="trailhead.outfitters") == growth


def test_expected_alerts_fire(demo_run):
    fired = {(a.rule, tuple(sorted(a.dimensions.items()))) for a in demo_run.alerts}
    assert fired == {
        ("err_drop", (("account", "trailhead.outfitters"), ("platform", "instagram"))),
        ("err_drop", (("platform", "instagram"),)),
        ("reach_spike", (("account", "maisonlumiere"), ("platform", "facebook"))),
        # below the 3% ERR objective by more than 10% of it: off track (2.58% and 2.16%)
        ("err_objective", (("account", "maisonlumiere"), ("platform", "facebook"))),
        ("err_objective", (("account", "trailheadoutfitters"), ("platform", "facebook"))),
    }
    assert all(a.is_new and a.state == "firing" for a in demo_run.alerts)
    assert demo_run.resolved == []
    severities = {a.rule: a.severity for a in demo_run.alerts}
    assert severities == {"err_drop": "warning", "reach_spike": "info", "err_objective": "warning"}
    assert sorted((v.dimensions["account"], v.status) for v in demo_run.verdicts) == [
        ("maisonlumiere", "off_track"), ("maisonlumiere", "on_track"), ("trailhead.outfitters", "at_risk"),
        ("trailheadoutfitters", "off_track")]


def test_report_shows_the_independently_computed_numbers(demo_run, demo_dir):
    html = (demo_dir / REPORT).read_text(encoding="utf-8")
    tables = report_tables(html)
    by_account, overall = tables["By account"], tables["Overall"]

    trail_now = err(of_account(meta_posts(CURRENT), "instagram", "trailhead.outfitters"))
    trail_before = err(of_account(meta_posts(PREVIOUS), "instagram", "trailhead.outfitters"))
    assert pct(trail_now) == "2.82%"  # the figure the demo is known for
    assert by_account.cell(("instagram", "trailhead.outfitters"), "ERR (reach)") == \
        (pct(trail_now), points(trail_now - trail_before))

    overall_now, overall_before = err(meta_posts(CURRENT)), err(meta_posts(PREVIOUS))
    assert overall.rows[0][overall.headers.index("ERR (reach)")] == \
        (pct(overall_now), points(overall_now - overall_before))

    reach_now = sum(number(r["Reach"]) for r in of_account(meta_posts(CURRENT), "facebook", "maisonlumiere"))
    reach_before = sum(number(r["Reach"]) for r in of_account(meta_posts(PREVIOUS), "facebook", "maisonlumiere"))
    assert by_account.cell(("facebook", "maisonlumiere"), "Reach (sum)") == \
        (f"{reach_now:,}", f"{(reach_now - reach_before) / reach_before * 100:+.0f}%")

    for (platform, account), count in posts_per_account(CURRENT).items():
        assert by_account.cell((platform, account), "Posts")[0] == str(count)

    # The ERR objective of 3% (at risk within 10% of it), account by account, next to the ERR.
    for platform, account in [("instagram", "maisonlumiere"), ("instagram", "trailhead.outfitters"),
                              ("facebook", "maisonlumiere"), ("facebook", "trailheadoutfitters")]:
        value = err(of_account(meta_posts(CURRENT), platform, account))
        expected = "on track" if value >= 3 else "at risk" if value >= 2.7 else "off track"
        assert by_account.badge((platform, account), "ERR (reach)") == expected, (platform, account, value)
    assert by_account.badge(("instagram", "trailhead.outfitters"), "ERR (reach)") == "at risk"  # 2.82%
    assert by_account.badge(("linkedin", "maison-lumiere"), "ERR (reach)") is None  # no reach: no verdict

    growth = (followers_on(CURRENT[1], "instagram", "trailhead.outfitters")
              - followers_on(CURRENT[0] - timedelta(days=1), "instagram", "trailhead.outfitters"))
    assert by_account.cell(("instagram", "trailhead.outfitters"), "Follower growth")[0] == f"{growth:,}"

    alerts = re.search(r'<ul class="alerts">(.*?)</ul>', html, re.S).group(1)
    assert alerts.count("<li>") == 5 and alerts.count('class="new"') == 5
    assert "instagram / trailhead.outfitters" in alerts and "facebook / maisonlumiere" in alerts


def test_report_is_self_contained_and_script_free(demo_run, demo_dir):
    html = (demo_dir / REPORT).read_text(encoding="utf-8")
    lowered = html.lower()
    assert "<script" not in lowered
    assert 'src="http' not in lowered and "src='http" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered and "url(http" not in lowered


def test_hostile_caption_is_escaped_in_the_week_it_is_shown(demo_dir, store_url):
    """The caption with <script>alert('x')</script> was published on 2026-10-07."""
    with (DATA / "meta_posts.csv").open(encoding="utf-8", newline="") as handle:
        [hostile] = [r for r in csv.DictReader(handle) if "<script>" in r["Description"]]
    assert hostile["Publish time"].startswith("10/07/2026")
    result = run_workflow_file(DEMO_WORKFLOW, store_url=store_url, period="2026-10-05..2026-10-11")
    ranked = result.measurements.filter(result.measurements["rank"].is_not_null()
                                        & (result.measurements["period"] == "current"))
    assert hostile["Post ID"] in ranked["post_id"].to_list()  # the post is in the report
    html = (demo_dir / "reports" / "demo-2026-10-05..2026-10-11.html").read_text(encoding="utf-8")
    assert "Jeu concours &lt;script&gt;alert(" in html
    assert "<script" not in html.lower()


def test_second_run_reports_no_new_alert(demo_run, demo_dir, store_url):
    second = run_workflow_file(DEMO_WORKFLOW, store_url=store_url, period=PERIOD)
    assert len(second.alerts) == 5
    assert [a.is_new for a in second.alerts] == [False] * 5
    assert second.resolved == []
    assert second.stats()["alerts_new"] == 0
    html = (demo_dir / REPORT).read_text(encoding="utf-8")
    assert 'class="new"' not in html
    with open_store(store_url) as store:
        runs = store.runs()
        states = store.alert_states(second.workflow.name)
    assert [r.stats["alerts_new"] for r in runs] == [0, 5]
    assert {s.state for s in states.values()} == {"firing"} and len(states) == 5
