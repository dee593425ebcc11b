"""``cmflow utm``: tagged links for one address, and for a workflow's calendar (a real CSV
export of a calendar, read by the workflow's csv source), outputs checked exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cmflow.cli import main
from cmflow.foundation.errors import EXIT_INVALID, EXIT_OK


def utm(*args: str):
    return CliRunner().invoke(main, ["utm", *args])


def test_one_address_tagged_with_its_query_kept_and_old_tags_replaced() -> None:
    result = utm("https://Shop.example.com/soldes?color=red&utm_source=old&UTM_Campaign=x#top",
                 "--source", "Instagram", "--campaign", "Soldes Hiver ", "--content", "Story 2")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == ("https://shop.example.com/soldes?color=red&utm_source=instagram&utm_medium=social"
                             "&utm_campaign=soldes-hiver&utm_content=story-2#top\n")


def test_a_bare_domain_gets_https_and_accents_are_dropped() -> None:
    result = utm("example.com", "--source", "LI", "--medium", "Réseaux sociaux", "--campaign", "Été 2026")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == "https://example.com/?utm_source=linkedin&utm_medium=reseaux-sociaux&utm_campaign=ete-2026\n"


def test_a_space_in_the_path_is_encoded_and_another_source_slugged() -> None:
    result = utm("https://example.com/fiche produit", "--source", "Newsletter Été", "--medium", "email",
                 "--campaign", "noel")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == ("https://example.com/fiche%20produit?utm_source=newsletter-ete&utm_medium=email"
                             "&utm_campaign=noel\n")


@pytest.mark.parametrize(("args", "message"), [
    (("mailto:a@b.fr", "--source", "x", "--campaign", "c"), "'mailto:a@b.fr' is not a web address"),
    (("https://example.com", "--source", "x"), "needs --campaign"),
    (("https://example.com", "--source", "x", "--campaign", "!!!"), "campaign '!!!' has no letter or digit"),
])
def test_bad_input_is_one_line_no_traceback(args: tuple[str, ...], message: str) -> None:
    result = utm(*args)
    assert result.exit_code == EXIT_INVALID
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr


BOM = "\ufeff"
# A Google Sheets calendar saved from Excel: BOM, ";" separators, CRLF, French headers, local times,
# a title over two lines, one a spreadsheet would run as a formula, a cancelled row, a published row
# whose link is the post's permalink, one without campaign, one outside the period.
CALENDAR = (f"{BOM}ID;Date prévue;Réseau;Titre;Campagne;Statut;Lien\r\n"
            "c1;02/12/2026 10:00;instagram;\"Soldes :\nle teaser\";Soldes Hiver;planifié;https://shop.example.com/soldes?ref=cal\r\n"
            "c2;03/12/2026 18:30;linkedin;=HYPERLINK(\"http://evil\");Soldes Hiver;approuvé;\r\n"
            "c3;04/12/2026 09:00;facebook;Annulé;Soldes Hiver;annulé;https://shop.example.com/\r\n"
            "c4;05/12/2026 12:00;instagram;Déjà publié;Noël;publié;https://www.instagram.com/p/Cx1/\r\n"
            "c5;06/12/2026 08:00;x;Sans campagne;;planifié;https://shop.example.com/x\r\n"
            "c6;08/12/2026 08:00;x;Semaine suivante;Noël;planifié;https://shop.example.com/y\r\n")
WORKFLOW = """\
[workflow]
name = "Calendar"
timezone = "Europe/Paris"
period = "2026-11-30..2026-12-06"

[[sources]]
id = "calendar"
plugin = "csv"
path = "calendar.csv"
record = "calendar_item"
delimiter = ";"
datetime_format = "%d/%m/%Y %H:%M"
columns = { item_id = "ID", planned_at = "Date prévue", platform = "Réseau", title = "Titre", campaign = "Campagne", status = "Statut", url = "Lien" }
"""


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    (tmp_path / "calendar.csv").write_bytes(CALENDAR.encode("utf-8"))
    path = tmp_path / "calendar.toml"
    path.write_text(WORKFLOW, encoding="utf-8")
    return path


def test_calendar_items_get_their_tagged_links(workflow: Path) -> None:
    result = utm(str(workflow), "--calendar", "--url", "https://shop.example.com/")
    assert result.exit_code == EXIT_OK, result.stderr
    assert result.stdout == (
        "item_id,title,platform,planned_at,campaign,tagged_link,note\n"
        "c1,\"Soldes :\nle teaser\",instagram,2026-12-02T10:00+01:00,Soldes Hiver,"
        "https://shop.example.com/soldes?ref=cal&utm_source=instagram&utm_medium=social&utm_campaign=soldes-hiver,\n"
        "c2,\"'=HYPERLINK(\"\"http://evil\"\")\",linkedin,2026-12-03T18:30+01:00,Soldes Hiver,"
        "https://shop.example.com/?utm_source=linkedin&utm_medium=social&utm_campaign=soldes-hiver,\n"
        "c4,Déjà publié,instagram,2026-12-05T12:00+01:00,Noël,"
        "https://shop.example.com/?utm_source=instagram&utm_medium=social&utm_campaign=noel,\n"
        "c5,Sans campagne,x,2026-12-06T08:00+01:00,,,no campaign: utm_campaign unknown\n")


def test_calendar_to_a_file_without_default_url(workflow: Path, tmp_path: Path) -> None:
    out = tmp_path / "links.csv"
    result = utm(str(workflow), "--calendar", "--period", "2026-12-07..2026-12-13", "-o", str(out))
    assert result.exit_code == EXIT_OK, result.stderr
    assert "1 calendar item written to" in result.stderr
    assert out.read_text(encoding="utf-8") == (
        "item_id,title,platform,planned_at,campaign,tagged_link,note\n"
        "c6,Semaine suivante,x,2026-12-08T08:00+01:00,Noël,"
        "https://shop.example.com/y?utm_source=x&utm_medium=social&utm_campaign=noel,\n")


def test_a_workflow_without_calendar_source_says_so(tmp_path: Path) -> None:
    path = tmp_path / "posts.toml"
    (tmp_path / "posts.csv").write_text("platform,account,post_id,published_at\n", encoding="utf-8")
    path.write_text('[workflow]\nname = "P"\n\n[[sources]]\nid = "p"\nplugin = "csv"\npath = "posts.csv"\n',
                    encoding="utf-8")
    result = utm(str(path), "--calendar")
    assert result.exit_code == EXIT_INVALID
    assert "no source of the workflow reads calendar items" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_the_calendar_s_links_are_made_by_the_library_the_cli_only_prints(workflow: Path) -> None:
    """cmflow.calendar_links decides (the cancelled c3 has no row; c4's own link is an Instagram
    permalink, so without --url it has none; c6 is after the period); cli/utm.py neither fetches
    nor reads statuses itself."""
    from cmflow.calendar_links import calendar_links
    from cmflow.stages.run_periods import resolve_period
    from cmflow.workflow import load_workflow

    loaded = load_workflow(workflow)
    links = calendar_links(loaded, resolve_period(loaded, None), "social", None)
    assert links.failed == [] and [row[0] for row in links.rows] == ["c1", "c2", "c4", "c5"]
    assert [row[5] or row[6] for row in links.rows] == [
        "https://shop.example.com/soldes?ref=cal&utm_source=instagram&utm_medium=social&utm_campaign=soldes-hiver",
        "no planned link: give one with --url", "no planned link: give one with --url",
        "no campaign: utm_campaign unknown"]
    cli = (Path(__file__).parents[1] / "src" / "cmflow" / "cli" / "utm.py").read_text(encoding="utf-8")
    assert "stages.fetch" not in cli and "calendar_statuses" not in cli and "cancelled" not in cli


def test_a_source_s_note_is_printed_once(tmp_path: Path, monkeypatch) -> None:
    """A calendar sheet's skipped section title is said once, as the source's (``! source …``),
    not a second time bare by the logger (with no handler of its own, as in a terminal)."""
    import logging

    monkeypatch.setattr(logging.root, "handlers", [])  # as in a fresh `cmflow` process, not pytest's capture
    (tmp_path / "calendrier.csv").write_text(
        "Date,Heure,Réseau,Compte,Format,Campagne,Statut,Sujet,Lien\n"
        "SEMAINE 49,,,,,,,,\n"
        "02/12/2026,10h00,Instagram,maison,Image,Noël,Planifié,Teaser,https://shop.example.com/noel\n", encoding="utf-8")
    path = tmp_path / "calendar.toml"
    path.write_text('[workflow]\nname = "C"\ntimezone = "Europe/Paris"\nperiod = "2026-11-30..2026-12-06"\n\n'
                    '[[sources]]\nid = "calendar"\nplugin = "calendar_sheet"\npath = "calendrier.csv"\n', encoding="utf-8")
    result = utm(str(path), "--calendar")
    assert result.exit_code == EXIT_OK, result.stderr
    assert result.stderr.count("section title(s) skipped") == 1, result.stderr
    assert result.stderr.startswith("! source calendar: calendrier.csv: 1 section title(s) skipped")
    assert "utm_campaign=noel" in result.stdout


def test_the_demo_s_calendar_items_with_a_planned_link_get_it_tagged(monkeypatch) -> None:
    """The demo's calendars plan a landing page for a few posts: `cmflow utm … --calendar` tags
    them with the item's platform and campaign (the campaign's key, as the links carry it)."""
    monkeypatch.chdir(Path(__file__).parents[1])  # the demo's store path is relative to where cmflow runs
    result = utm("workflows/demo.toml", "--calendar")
    assert result.exit_code == EXIT_OK, result.stderr
    tagged = [line.split(",")[-2] for line in result.stdout.splitlines()[1:] if "utm_source=" in line]
    assert tagged == [
        "https://trailhead.example/blog/layering-101?utm_source=linkedin&utm_medium=social&utm_campaign=winter-gear-sale",
        "https://www.maisonlumiere.example/ateliers?utm_source=instagram&utm_medium=social&utm_campaign=noel-2026",
        "https://www.maisonlumiere.example/buche-de-noel?utm_source=instagram&utm_medium=social&utm_campaign=noel-2026",
        "https://www.maisonlumiere.example/buche-de-noel?utm_source=facebook&utm_medium=social&utm_campaign=noel-2026",
        "https://www.maisonlumiere.example/avent?utm_source=instagram&utm_medium=social&utm_campaign=calendrier-avent"]
