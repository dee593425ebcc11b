"""The production section's lists, on a small workflow of the week of 16 November 2026 (Paris):
the untagged links (``untagged_links``) and the missing and late planned posts.

Untagged links: public text, shown escaped, linked only when a plain http(s) address, each link
once with its problems, cut short after ten.

t01 instagram  https://shop.example.com/a                       no utm_source, utm_medium, utm_campaign
t02 instagram  https://shop.example.com/b?x="><script>...        the same; quotes and brackets in the
                                                                address: shown as text, never a link
t03 facebook   .../c?utm_source=<img ...>&utm_medium=social&utm_campaign=noel
                                                                its utm_source names no facebook
t04 facebook   https://shop.example.com/d                       no tag at all
t05 x          .../e?utm_source=x&utm_medium=social&utm_campaign=noel   fine: not listed
t06..t13 x     https://shop.example.com/x/<n>                    no tag at all
12 links with problems, listed by platform, account, post: facebook t03 t04, instagram t01 t02,
x t06..t11; t12 and t13 are "2 more links".

Calendar (times UTC; on time within 2 h; window 3 days):
c1 linkedin  Tue 17 10:00  names post gone-1, which no source returned: missing, "deleted?";
             its title carries a <script>
c2 instagram Wed 18 07:00  t02 published 10:00 (t01 is 21 h away): late, 3 h
c3 linkedin  Sat 21 09:00  no linkedin post at all: missing, nothing published; its title spans
             two lines in the CSV
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from cmflow.testing import run_workflow_file

SHOP = "https://shop.example.com"
HOSTILE_LINK = f'{SHOP}/b?x="><script>alert(1)</script>'
HOSTILE_SOURCE = f"{SHOP}/c?utm_source=<img src=x onerror=alert(2)>&utm_medium=social&utm_campaign=noel"
POSTS = [
    ["instagram", "acme", "t01", "2026-11-17T10:00:00Z", "image", "Nouveautés", f"{SHOP}/a"],
    ["instagram", "acme", "t02", "2026-11-18T10:00:00Z", "image", "Soldes", HOSTILE_LINK],
    ["facebook", "Acme", "t03", "2026-11-18T11:00:00Z", "image", "Noël", HOSTILE_SOURCE],
    ["facebook", "Acme", "t04", "2026-11-19T11:00:00Z", "image", "Vitrine", f"{SHOP}/d"],
    ["x", "acme", "t05", "2026-11-19T12:00:00Z", "text", "Tagged",
     f"{SHOP}/e?utm_source=x&utm_medium=social&utm_campaign=noel"],
    *[["x", "acme", f"t{n:02d}", "2026-11-20T12:00:00Z", "text", "Untagged", f"{SHOP}/x/{n}"] for n in range(6, 14)],
]
HOSTILE_TITLE = "<script>alert(3)</script> Teaser"
CALENDAR = [
    ["c1", "2026-11-17T10:00:00Z", HOSTILE_TITLE, "linkedin", "acme", "Zoé", "gone-1"],
    ["c2", "2026-11-18T07:00:00Z", "Soldes", "instagram", "acme", "Zoé", ""],
    ["c3", "2026-11-21T09:00:00Z", "Portrait\nd'équipe", "linkedin", "acme", "", ""],
]
WORKFLOW = """
[workflow]
name = "Acme"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "posts_published"
by = ["overall"]

[[sources]]
id = "calendar"
plugin = "csv"
path = "calendar.csv"
record = "calendar_item"

[[metrics]]
plugin = "untagged_links"
by = ["overall"]

[[metrics]]
plugin = "missing_planned_posts"
by = ["overall"]

[[metrics]]
plugin = "late_planned_posts"
by = ["overall"]

[[outputs]]
plugin = "report"
path = "reports/{client}.{format}"
clients = "none"
language = "en"
formats = ["html", "xlsx"]
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    """The folder of the run's reports (all.html, all.xlsx)."""
    folder = tmp_path_factory.mktemp("untagged")
    with (folder / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "post_id", "published_at", "format", "text", "link"])
        writer.writerows(POSTS)
    with (folder / "calendar.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "planned_at", "title", "platform", "account", "owner", "post_id"])
        writer.writerows(CALENDAR)
    (folder / "acme.toml").write_text(WORKFLOW, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        patch.chdir(folder)
        result = run_workflow_file(folder / "acme.toml", store_url=f"sqlite:///{folder / 'state.db'}")
    assert result.status == "ok", [f"{s.kind} {s.id}: {s.error}" for s in result.failed_stages]
    return folder / "reports"


@pytest.fixture(scope="module")
def page(reports: Path) -> str:
    return (reports / "all.html").read_text(encoding="utf-8")


def listed(page: str) -> str:
    return page.split('<h3 id="untagged-links">', 1)[1].split("</ul>", 1)[0]


def test_the_first_ten_links_are_listed_with_their_problems_and_the_rest_counted(page: str) -> None:
    section = listed(page)
    assert section.count("<li>") == 10
    assert "and 2 more links" in section
    assert section.count("no utm_campaign; no utm_medium; no utm_source") == 9  # t04 t01 t02 t06..t11
    assert f"{SHOP}/x/11<" in section and f"{SHOP}/x/12<" not in section
    assert "/e?utm_source=x" not in section  # t05 is tagged
    ordered = [section.index(f">{SHOP}/{path}<") for path in ("d", "a", "x/6")]
    assert ordered == sorted(ordered)  # facebook, then instagram, then x


def test_a_plain_address_is_a_link_and_a_hostile_one_only_text(page: str) -> None:
    section = listed(page)
    assert f'<a href="{SHOP}/a" rel="noopener noreferrer nofollow">{SHOP}/a</a>' in section
    assert "<script>" not in section and "<img" not in section
    assert 'href="https://shop.example.com/b' not in section and 'href="https://shop.example.com/c' not in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "utm_source &#39;&lt;img src=x onerror=alert(2)&gt;&#39; does not name facebook" in section


def test_every_problem_the_metric_finds_is_said_in_french() -> None:
    """The report words each problem code of ``untagged_links`` from the catalogue, with the
    values the metric gives beside the code: a French report shows no English, whatever quotes
    the values hold (``soldes-d'hiver``, ``"noël"``), which a sentence read back by a pattern lost."""
    from cmflow.builtin.metrics.untagged_links import PROBLEM_SENTENCES, link_problems
    from cmflow.builtin.reports.document import LINK_PROBLEM_KEYS, link_problem
    from cmflow.presentation.language import language

    assert set(LINK_PROBLEM_KEYS) == set(PROBLEM_SENTENCES)  # a code the metric writes and the report cannot word
    fr = language("fr")
    found = [*link_problems(f"{SHOP}/a", "instagram", None),
             *link_problems(f"{SHOP}/b?utm_source=d'x&utm_medium=social&utm_campaign=soldes-d'hiver",
                            "instagram", '"noël"')]
    rows = [{"problem": p.sentence, "problem_code": p.code, "problem_value": p.value, "problem_expected": p.expected}
            for p in found]
    rows.append({"problem": "utm_campaign 'Soldes-d'Hiver' is one of several spellings: Soldes-d'Hiver, soldes-d-hiver",
                 "problem_code": "spellings", "problem_value": "Soldes-d'Hiver",
                 "problem_expected": "Soldes-d'Hiver, soldes-d-hiver"})
    said = [fr.text(p.key, **p.values) for p in map(link_problem, rows)]
    assert said == [
        "pas de utm_source", "pas de utm_medium", "pas de utm_campaign",
        "la source UTM «\u00a0d'x\u00a0» ne désigne pas instagram",
        "la campagne UTM «\u00a0soldes-d'hiver\u00a0» n'est pas la campagne de la publication («\u00a0\"noël\"\u00a0»)",
        "la campagne UTM «\u00a0Soldes-d'Hiver\u00a0» est une graphie parmi plusieurs\u00a0: Soldes-d'Hiver, soldes-d-hiver"]
    unknown = link_problem({"problem": "a problem from a newer metric", "problem_code": "newer"})
    assert (unknown.key, unknown.text) == (None, "a problem from a newer metric")


def rows_under(page: str, heading_id: str) -> list[list[str]]:
    """The cells of the table under the h3 ``heading_id``, as their escaped HTML less tags."""
    import re

    table = page.split(f'<h3 id="{heading_id}">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)]


def test_missing_and_late_planned_posts_are_listed_escaped(page: str) -> None:
    assert rows_under(page, "missing-posts") == [
        ["&lt;script&gt;alert(3)&lt;/script&gt; Teaser", "acme · LinkedIn", "Zoé", "Nov 17, 2026",
         "Its post gone-1 cannot be found (deleted?)."],
        ["Portrait d&#39;équipe", "acme · LinkedIn", "Not set", "Nov 21, 2026",
         "Nothing was published around its planned time."]]
    assert rows_under(page, "late-posts") == [["Soldes", "acme · Instagram", "Zoé", "Nov 18, 2026", "3\u00a0h"]]
    assert "<script>alert(3)" not in page


def sheet_rows(reports: Path, title: str) -> list[tuple]:
    """The rows under the header of the workbook's sheet whose title line is ``title``."""
    import openpyxl

    book = openpyxl.load_workbook(reports / "all.xlsx")
    sheet = next(s for s in book.worksheets if s.cell(1, 1).value == title)
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(rows) if row and row[0] in ("Account", "Planned post"))
    return [row for row in rows[header + 1:] if any(v is not None for v in row)]


def test_the_workbook_lists_the_same_links_and_counts_the_rest(reports: Path) -> None:
    rows = sheet_rows(reports, "Links without consistent UTM tags")
    assert len(rows) == 11  # the ten links the HTML lists, then its last line
    assert rows[-1][0] == "and 2 more links"
    assert [row[2] for row in rows[:3]] == [HOSTILE_SOURCE, f"{SHOP}/d", f"{SHOP}/a"]


def test_the_workbook_lists_the_missing_and_the_late_planned_posts(reports: Path) -> None:
    from datetime import datetime

    missing = sheet_rows(reports, "Missing planned posts")
    assert [(row[0], row[1], row[3], row[4], row[5]) for row in missing] == [
        (HOSTILE_TITLE, "acme", "Zoé", datetime(2026, 11, 17), "Its post gone-1 cannot be found (deleted?)."),
        ("Portrait d'équipe", "acme", None, datetime(2026, 11, 21), "Nothing was published around its planned time.")]
    late = sheet_rows(reports, "Planned posts published late")
    # c2 planned Wed 18 07:00 UTC, t02 published 10:00: 3 h late.
    assert [(row[0], row[3], row[4], row[5]) for row in late] == [("Soldes", "Zoé", datetime(2026, 11, 18), 3.0)]
