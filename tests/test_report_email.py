"""Client reports by e-mail (the ``email`` output's ``clients``): one message per client, to the
client's recipients, in the client's language, with the summary and decisions inline, a chart as
an inline PNG and the report attached; read back from .eml files and from a real SMTP server on
loopback (aiosmtpd).

The fixture: two clients, one Instagram account each, the week of 16-22 November 2026 and the
week before.

- Maison Lumière (French): this week m1, (10 + 2 + 3 + 5) / 400 = 5 %; the week before m0,
  (5 + 1 + 1 + 1) / 400 = 2 %: +3 pt, good (a rate: higher is better). One post each week: ±0 %.
  Objective ERR >= 3 %: 5 / 3 = 1.667 >= 1, continue.
- Trailhead (English): this week t1, (6 + 1 + 1 + 0) / 400 = 2 %; the week before t0,
  (8 + 1 + 1 + 2) / 400 = 3 %: -1 pt, bad. Objective ERR >= 3 % on the client's whole:
  2 / 3 = 0.667, below 0.8 and from 0.5: change. Objective ERR +50 % against the week before:
  -33.33 / 50 = -0.667, below 0.5: stop.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from cmflow import DeliveryContext, NotificationBatch, SendContext
from cmflow.builtin.outputs.email import Email, EmailOptions, message_id
from cmflow.builtin.reports.mailing import CHART_CID, LOGO_CID, safe_file_name
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.testing import FakeClock, run_workflow_file
from cmflow.workflow import load_workflow

NBSP = "\u00a0"
REPO = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert(1)</script> Lumière"

WORKFLOW = """
[workflow]
name = "Agency"
period = "last_week"
as_of = "2026-11-24"
compare = ["previous_period"]

[[clients]]
id = "maison-lumiere"
name = "Maison Lumière"
language = "fr"
colour = "#8a5a44"
logo = "logo.svg"
recipients = ["Marie Dupont <marie@lumiere.example>"]
accounts = {{ maisonlumiere = "<script>alert(1)</script> Lumière" }}

[[clients]]
id = "trailhead"
name = "Trailhead Outfitters"
language = "en"
recipients = ["tom@trailhead.example", "ops@trailhead.example"]
accounts = ["trailhead"]

[[sources]]
plugin = "csv"
path = "posts.csv"
{extra_source}
[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["client", "account"]

[[metrics]]
plugin = "posts_published"
by = ["client", "account"]

[[objectives]]
id = "err-lumiere"
title = "ERR ≥ 3 %"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "maison-lumiere"
where = {{ account = "maisonlumiere" }}

[[objectives]]
id = "err-trailhead"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target = 3.0
client = "trailhead"

[[objectives]]
id = "err-up-trailhead"
title = "ERR up 50 %"
goal = "raise_interactions"
metric = "engagement_rate_by_reach"
target_change_pct = 50
against = "previous_period"
client = "trailhead"

{outputs}
"""

EMAIL_OUTPUT = """
[[outputs]]
plugin = "email"
transport = "file"
directory = "mail"
when = "always"
from_address = "Agence Exemple <reports@agency.example>"
clients = "each"
attach = ["pdf", "xlsx"]
incomplete = "send"
"""

LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#8a5a44"/></svg>'

MISSING_SOURCE = """
[[sources]]
plugin = "csv"
id = "facebook_export"
path = "/srv/agency/secret-exports/facebook.csv"
"""


def write_fixture(directory: Path, *, extra_source: str = "", outputs: str = EMAIL_OUTPUT) -> Path:
    with (directory / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "post_id", "published_at", "format", "likes", "comments",
                         "shares", "saves", "reach"])
        writer.writerows([
            ["instagram", "maisonlumiere", "m1", "2026-11-17T10:00:00Z", "image", 10, 2, 3, 5, 400],
            ["instagram", "maisonlumiere", "m0", "2026-11-10T10:00:00Z", "image", 5, 1, 1, 1, 400],
            ["instagram", "trailhead", "t1", "2026-11-18T10:00:00Z", "reel", 6, 1, 1, 0, 400],
            ["instagram", "trailhead", "t0", "2026-11-11T10:00:00Z", "reel", 8, 1, 1, 2, 400],
        ])
    (directory / "logo.svg").write_text(LOGO, encoding="utf-8")
    path = directory / "agency.toml"
    path.write_text(WORKFLOW.format(extra_source=extra_source, outputs=outputs), encoding="utf-8")
    return path


def run_in(directory: Path, **fixture):
    """Run the fixture's workflow in ``directory`` (the .eml files land in its mail/)."""
    path = write_fixture(directory, **fixture)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        return run_workflow_file(path, store_url=f"sqlite:///{directory / 'state.db'}")


def read_mail(path: Path) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def mails(directory: Path) -> dict[str, EmailMessage]:
    """The .eml files written, by client id (the end of their names)."""
    found = {}
    for path in sorted((directory / "mail").glob("*.eml")):
        client = "maison-lumiere" if path.stem.endswith("-maison-lumiere") else "trailhead"
        found[client] = read_mail(path)
    return found


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(mail: EmailMessage) -> str:
    return mail.get_body(("html",)).get_content().replace("\r\n", "\n")


def attachments(mail: EmailMessage) -> list[tuple[str, str, bytes]]:
    return [(part.get_filename(), part.get_content_type(), part.get_content()) for part in mail.iter_attachments()]


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    """The fixture's run and the messages it wrote."""
    directory = tmp_path_factory.mktemp("agency")
    result = run_in(directory)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    return result, mails(directory), sorted(p.name for p in (directory / "mail").glob("*.eml"))


# -- one message per client, in the client's language ------------------------------------------

def test_each_client_gets_one_message_to_its_recipients(sent) -> None:
    result, messages, names = sent
    assert len(names) == 2 and names[0].endswith("-maison-lumiere.eml") and names[1].endswith("-trailhead.eml")
    lumiere, trailhead = messages["maison-lumiere"], messages["trailhead"]
    assert lumiere["To"] == "Marie Dupont <marie@lumiere.example>"
    assert trailhead["To"] == "tom@trailhead.example, ops@trailhead.example"
    assert lumiere["From"] == "Agence Exemple <reports@agency.example>"
    assert lumiere["Subject"] == f"Maison Lumière{NBSP}: rapport réseaux sociaux, 16–22 nov. 2026"
    assert trailhead["Subject"] == "Trailhead Outfitters: social media report, Nov 16\u2009–\u200922, 2026"
    assert lumiere["Message-ID"] == message_id(names[0].removesuffix(".eml"))
    assert lumiere["Auto-Submitted"] == "auto-generated"


def test_the_plain_text_part_says_the_figures_and_decisions_in_the_clients_language(sent) -> None:
    _, messages, _ = sent
    assert text_of(messages["maison-lumiere"]) == f"""Bonjour,

Voici le rapport réseaux sociaux de la période 16–22 nov. 2026.

Chiffres clés
-------------
- Taux d'engagement (portée){NBSP}: 5,00{NBSP}% (▲ +3,00{NBSP}pt par rapport à la période précédente)
- Publications{NBSP}: 1 (■ ±0{NBSP}% par rapport à la période précédente)

Décisions sur les objectifs
---------------------------
- CONTINUER{NBSP}: ERR ≥ 3 % ({HOSTILE} · Instagram)
  5,00{NBSP}% pour une cible de 3,00{NBSP}% (167{NBSP}% de la cible)
  Objectif atteint{NBSP}: on garde la même approche.

Points de vigilance
-------------------
Rien à signaler sur cette période.

Vous trouverez le rapport complet en pièce jointe (PDF et XLSX).

Bien cordialement,
Agence Exemple
"""
    text = text_of(messages["trailhead"])
    assert "- Engagement rate (reach): 2.00% (▼ -1.00\u00a0pt vs previous period)\n" in text
    assert "- CHANGE: Raise interactions (Trailhead Outfitters)\n" \
           "  2.00% for a target of 3.00% (67% of the target)\n" in text
    # a change target: -33.33 % achieved ((2 - 3) / 3) for +50 % wanted, -0.67 of it: stop
    assert "- STOP: ERR up 50 % (Trailhead Outfitters)\n" \
           "  -33.33% for a target of +50.00% (-67% of the target) · vs previous period\n" in text
    assert "The full report is attached (PDF and XLSX).\n" in text


def test_the_html_part_shows_the_same_facts_with_the_change_coloured_by_polarity(sent) -> None:
    _, messages, _ = sent
    html = html_of(messages["maison-lumiere"])
    assert '<html lang="fr">' in html
    assert f">5,00{NBSP}%</div>" in html
    # a rise of a rate is good: green, and an up arrow
    assert f'<div style="font-size:13px;color:#15803d;">▲ +3,00{NBSP}pt par rapport à la période précédente</div>' in html
    assert ">Continuer</span>" in html and "<strong>ERR ≥ 3 %</strong>" in html
    assert "border-top:6px solid #8a5a44" in html  # the client's colour
    html = html_of(messages["trailhead"])
    assert '<div style="font-size:13px;color:#b91c1c;">▼ -1.00\u00a0pt vs previous period</div>' in html
    assert ">Change</span>" in html
    for page in (html, html_of(messages["maison-lumiere"])):
        assert "display:flex" not in page and "display:grid" not in page and "<script" not in page
        assert "http://" not in page and "https://" not in page  # nothing fetched from outside


def test_the_chart_is_an_inline_png_the_html_references_by_cid(sent) -> None:
    _, messages, _ = sent
    for mail in messages.values():
        assert f'src="cid:{CHART_CID}"' in html_of(mail)
        related = mail.get_body(("related",))
        (image,) = [part for part in related.iter_parts() if part["Content-ID"] == f"<{CHART_CID}>"]
        assert image.get_content_type() == "image/png"
        assert image.get_content_disposition() == "inline"
        png = image.get_content()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        # shown at its own size in CSS pixels (half its pixels: sharp on a phone), within the 600 px
        shown = int.from_bytes(png[16:20], "big") // 2
        assert 200 < shown <= 560 and f'width="{shown}" style="display:block;width:100%;max-width:{shown}px;' \
            in html_of(mail)
    assert ">Taux d&#39;engagement (portée)\u00a0: tendance</div>" in html_of(messages["maison-lumiere"])


def test_the_report_is_attached_under_a_name_a_person_recognises(sent) -> None:
    _, messages, _ = sent
    (pdf, xlsx) = attachments(messages["maison-lumiere"])
    assert pdf[:2] == ("Maison Lumière - rapport réseaux sociaux - 16–22 nov. 2026.pdf", "application/pdf")
    assert pdf[2].startswith(b"%PDF-")
    assert xlsx[:2] == ("Maison Lumière - rapport réseaux sociaux - 16–22 nov. 2026.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(xlsx[2]))
    assert workbook.sheetnames  # a real workbook
    (pdf, _) = attachments(messages["trailhead"])
    assert pdf[0] == "Trailhead Outfitters - social media report - Nov 16 – 22, 2026.pdf"  # plain spaces
    # RFC 2231 for the non-ASCII name: the email package's job, read back intact above
    raw = messages["maison-lumiere"].as_string()
    assert "filename*0*=utf-8''Maison%20Lumi%C3%A8re%20-%20rapport" in raw


def test_hostile_text_is_escaped_in_html_and_kept_on_one_line_in_text(sent) -> None:
    _, messages, _ = sent
    html = html_of(messages["maison-lumiere"])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Lumière · Instagram" in html
    assert f"({HOSTILE} · Instagram)\n" in text_of(messages["maison-lumiere"])


def test_file_names_hold_no_slash_nor_control_character() -> None:
    assert safe_file_name("Acme/Globex\\Inc: Q4 <report>\r\nBcc: x|y?*\x00") == "Acme Globex Inc Q4 report Bcc x y"
    assert safe_file_name("../..") == "report"
    assert safe_file_name("..hidden") == "hidden"
    long = safe_file_name("word " * 40)
    assert len(long) <= 120 and long.endswith("word")


def test_the_pdf_a_client_gets_by_email_is_the_report_printed_once(tmp_path, monkeypatch) -> None:
    """A ``report`` output writing each client's PDF and the e-mail attaching it (its
    ``report_output``): each client's PDF is printed once in the run, and the attachment is the
    file, byte for byte."""
    import cmflow.builtin.reports.pdf as pdf

    printed = []
    real_write_pdf = pdf.write_pdf

    def counting_write_pdf(html, path, **kwargs):
        printed.append(path)
        return real_write_pdf(html, path, **kwargs)

    monkeypatch.setattr(pdf, "write_pdf", counting_write_pdf)
    outputs = EMAIL_OUTPUT + 'report_output = "client_reports"\n' + """
[[outputs]]
id = "client_reports"
plugin = "report"
path = "reports/{client}.{format}"
formats = ["pdf", "xlsx"]
"""
    result = run_in(tmp_path, outputs=outputs)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert len(printed) == 2  # one per client, not one for the e-mail and one for the file
    for client, mail in mails(tmp_path).items():
        attached = {name.rsplit(".", 1)[1]: content for name, _, content in attachments(mail)}
        assert attached["pdf"] == (tmp_path / "reports" / f"{client}.pdf").read_bytes()
        assert attached["xlsx"] == (tmp_path / "reports" / f"{client}.xlsx").read_bytes()


def test_the_chart_is_drawn_as_wide_as_a_phone_shows_it(sent) -> None:
    """A 390 px phone's message column is about 326 px wide: the chart, drawn 320 px wide (its
    PNG twice that, for sharp screens), shows there at its own size, its labels at 14 px, not
    shrunk to 11 px as a 400 px chart would be."""
    _, messages, _ = sent
    for mail in messages.values():
        [width] = re.findall(r'<img src="cid:chart@cmflow"[^>]* width="(\d+)"', html_of(mail))
        [png] = [part.get_content() for part in mail.walk() if part.get("Content-ID") == "<chart@cmflow>"]
        assert int(width) == 320 and int.from_bytes(png[16:20], "big") == 640  # the PNG header's width


# -- an incomplete run ---------------------------------------------------------------------------

def test_an_incomplete_run_says_so_and_what_is_missing_without_paths(tmp_path) -> None:
    result = run_in(tmp_path, extra_source=MISSING_SOURCE)
    assert [s.id for s in result.failed_sources] == ["facebook_export"]
    messages = mails(tmp_path)
    lumiere, trailhead = messages["maison-lumiere"], messages["trailhead"]
    assert lumiere["Subject"] == f"Maison Lumière{NBSP}: rapport réseaux sociaux, 16–22 nov. 2026 (incomplet)"
    assert trailhead["Subject"].endswith(" (incomplete)")
    assert f"\nRapport incomplet{NBSP}: Certaines données n'ont pas pu être récupérées pour cette période (un fichier d'export)" \
           f"{NBSP}: les chiffres ci-dessous ne les incluent pas.\n" in text_of(lumiere)
    assert "<strong>Incomplete report</strong>" in html_of(trailhead)
    assert [name for name, _, _ in attachments(lumiere)] == [
        "Maison Lumière - rapport réseaux sociaux - 16–22 nov. 2026 (incomplet).pdf",
        "Maison Lumière - rapport réseaux sociaux - 16–22 nov. 2026 (incomplet).xlsx"]
    for mail in messages.values():
        for part in (text_of(mail), html_of(mail), mail["Subject"]):
            assert "/srv" not in part and "secret-exports" not in part and "facebook_export" not in part


# -- over SMTP, through the outbox's keys ------------------------------------------------------

def email_plugin(**values) -> Email:
    options = EmailOptions(**{"from_address": "Agence Exemple <reports@agency.example>", "clients": "each",
                              "attach": ["pdf"], **values})
    return Email(options, entry_id="email")


def test_smtp_delivers_each_clients_message_to_its_recipients_and_to(sent, smtp_server) -> None:
    result, _, _ = sent
    mailbox, port = smtp_server()
    plugin = email_plugin(host="127.0.0.1", port=port, security="none", timeout="5s",
                          to=["cm@agency.example"], cc=["Boss <boss@agency.example>"])
    batch = NotificationBatch(result, [], {"workflow": result.workflow.name}, key="run-key")
    messages = plugin.compose(batch, DeliveryContext(Path(result.workflow.directory), logging.getLogger("test")))
    keys = [m.key for m in messages]
    assert [key.split("-", 1)[1] for key in keys] == ["maison-lumiere", "trailhead"]
    assert messages[0].payload["to"] == ["marie@lumiere.example", "cm@agency.example", "boss@agency.example"]
    context = SendContext(Path(result.workflow.directory), logging.getLogger("test"), FakeClock().now, 1)
    for message in messages:
        plugin.send(message, context)
    lumiere, trailhead = mailbox.received
    assert lumiere.rcpt_tos == ["marie@lumiere.example", "cm@agency.example", "boss@agency.example"]
    assert trailhead.rcpt_tos == ["tom@trailhead.example", "ops@trailhead.example", "cm@agency.example",
                                  "boss@agency.example"]
    arrived = lumiere.message
    assert arrived["Message-ID"] == f"<{keys[0]}@cmflow>"
    assert arrived["To"] == "Marie Dupont <marie@lumiere.example>, cm@agency.example"
    assert arrived["Cc"] == "Boss <boss@agency.example>"
    (pdf,) = attachments(arrived)
    assert pdf[1] == "application/pdf" and pdf[2].startswith(b"%PDF-")
    assert "5,00\u00a0%" in text_of(arrived)
    # composed again by another run of the period (another batch key): the same keys, which the
    # outbox keeps once
    rerun = NotificationBatch(result, [], {"workflow": result.workflow.name}, key="another-run")
    again = plugin.compose(rerun, DeliveryContext(Path(result.workflow.directory), logging.getLogger("test")))
    assert [m.key for m in again] == keys
    every_run = email_plugin(send_once=False, to=["cm@agency.example"], attach=[])
    assert [m.key for m in every_run.compose(rerun, DeliveryContext(REPO, logging.getLogger("test")))] == [
        "another-run-maison-lumiere", "another-run-trailhead"]


def test_a_period_already_mailed_is_not_mailed_again_unless_it_was_incomplete(tmp_path) -> None:
    missing = '\n[[sources]]\nplugin = "csv"\nid = "late"\npath = "late.csv"\n'
    # Which messages are written, not what they attach (the tests above): no PDF printed four times.
    unattached = EMAIL_OUTPUT.replace('attach = ["pdf", "xlsx"]', "attach = []")
    first = run_in(tmp_path, extra_source=missing, outputs=unattached)
    assert [s.id for s in first.failed_sources] == ["late"]
    incomplete = sorted(p.name for p in (tmp_path / "mail").glob("*.eml"))
    assert len(incomplete) == 2
    again = run_in(tmp_path, extra_source=missing, outputs=unattached)  # the same incomplete period: nothing new
    assert sorted(p.name for p in (tmp_path / "mail").glob("*.eml")) == incomplete
    # and the run says so, not "2 message(s) queued"
    assert [(s.note, s.counts) for s in again.stages if s.kind == "output" and s.plugin == "email"] == [
        ("2 already queued by an earlier run for this period: not sent again", {"messages": 0, "already_queued": 2})]
    (tmp_path / "late.csv").write_text("platform,account,post_id,published_at,likes,reach\n", encoding="utf-8")
    complete = run_in(tmp_path, extra_source=missing, outputs=unattached)
    assert complete.failed_sources == []
    written = sorted(p.name for p in (tmp_path / "mail").glob("*.eml"))
    assert len(written) == 4  # the complete report follows the incomplete one
    run_in(tmp_path, extra_source=missing, outputs=unattached)
    assert sorted(p.name for p in (tmp_path / "mail").glob("*.eml")) == written
    new = [read_mail(tmp_path / "mail" / name) for name in written if name not in incomplete]
    assert sorted(m["Subject"].endswith("(incomplete)") or m["Subject"].endswith("(incomplet)") for m in new) \
        == [False, False]


def test_an_incomplete_report_is_held_by_default_and_the_complete_one_sent(tmp_path) -> None:
    """With the default incomplete = "hold", a client gets no report the run could not complete
    (before it, or after a complete one); the complete run of the period sends it."""
    missing = '\n[[sources]]\nplugin = "csv"\nid = "late"\npath = "late.csv"\n'
    path = write_fixture(tmp_path, extra_source=missing)
    path.write_text(path.read_text(encoding="utf-8").replace('incomplete = "send"\n', ""), encoding="utf-8")

    def run():
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(tmp_path)
            patch.setenv("CMFLOW_LOAD_PLUGINS", "")
            return run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}")

    held = run()
    assert [s.id for s in held.failed_sources] == ["late"]
    assert [s.error for s in held.stages if s.kind == "output" and not s.ok] == []  # held, not failed
    assert not list((tmp_path / "mail").glob("*.eml"))
    (tmp_path / "late.csv").write_text("platform,account,post_id,published_at,likes,reach\n", encoding="utf-8")
    assert run().failed_sources == []
    sent = sorted(p.name for p in (tmp_path / "mail").glob("*.eml"))
    assert len(sent) == 2
    (tmp_path / "late.csv").unlink()  # incomplete again: the complete report stays the one sent
    assert [s.id for s in run().failed_sources] == ["late"]
    assert sorted(p.name for p in (tmp_path / "mail").glob("*.eml")) == sent


def test_client_recipients_false_sends_only_to_to(sent) -> None:
    result, _, _ = sent
    plugin = email_plugin(clients=["trailhead"], client_recipients=False, to=["cm@agency.example"], attach=[])
    batch = NotificationBatch(result, [], {"workflow": result.workflow.name}, key="k")
    (message,) = plugin.compose(batch, DeliveryContext(Path(result.workflow.directory), logging.getLogger("test")))
    assert message.payload["to"] == ["cm@agency.example"]
    mail = BytesParser(policy=policy.default).parsebytes(message.payload["eml"].encode())
    assert attachments(mail) == []
    assert "attached" not in text_of(mail)


def test_the_outbox_refuses_several_messages_without_their_own_keys() -> None:
    from cmflow import Message
    from cmflow.delivery.outbox import _keyed

    one = Message("a", {}, key="")
    assert _keyed("email", "k", one) == [("k", one)]
    with pytest.raises(TypeError, match="each needs its own key"):
        _keyed("email", "k", [Message("a", {}, key="k-1"), Message("b", {}, key="k-1")])
    with pytest.raises(TypeError, match="each needs its own key"):
        _keyed("email", "k", [Message("a", {})])


# -- following a report output's settings ------------------------------------------------------

def test_report_output_settings_give_the_language_and_title(tmp_path) -> None:
    outputs = EMAIL_OUTPUT + 'report_output = "english"\n' + """
[[outputs]]
id = "english"
plugin = "report"
language = "en"
title = "Weekly social report"
formats = ["html"]
path = "reports/{client}.{format}"
"""
    run_in(tmp_path, outputs=outputs)
    lumiere = mails(tmp_path)["maison-lumiere"]
    assert lumiere["Subject"] == "Maison Lumière: social media report, Nov 16\u2009–\u200922, 2026"
    assert ">Weekly social report</h1>" in html_of(lumiere)
    assert "- Engagement rate (reach): 5.00% (▲ +3.00\u00a0pt vs previous period)\n" in text_of(lumiere)


# -- options checked when the workflow is read -------------------------------------------------

def problems(tmp_path: Path, outputs: str) -> list[tuple[str, str]]:
    path = write_fixture(tmp_path, outputs=outputs)
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    return [(p.path, p.message) for p in caught.value.problems]


def test_unknown_clients_and_missing_recipients_are_said_at_their_keys(tmp_path) -> None:
    base = EMAIL_OUTPUT.replace('clients = "each"', 'clients = ["trailhead", "maison-lumire"]')
    assert problems(tmp_path, base + 'report_output = "reports"\n') == [
        ("outputs[0].clients[1]", "no client 'maison-lumire' in the workflow's [[clients]]; "
         "they are maison-lumiere, trailhead"),
        ("outputs[0].report_output", "no `report` output has id 'reports'; the workflow has none: "
         "remove report_output"),
    ]
    no_recipients = WORKFLOW.replace('recipients = ["tom@trailhead.example", "ops@trailhead.example"]\n', "")
    (tmp_path / "agency.toml").write_text(no_recipients.format(extra_source="", outputs=EMAIL_OUTPUT),
                                          encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "agency.toml")
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("outputs[0].to", "client 'trailhead' has no recipients and `to` is empty: add recipients to the "
         "client's [[clients]] entry, or set `to`")]


def test_alert_messages_still_need_to_and_client_reports_take_no_group_by(tmp_path) -> None:
    found = problems(tmp_path, EMAIL_OUTPUT.replace('clients = "each"\n', ""))
    assert [(path, message.split(":")[0]) for path, message in found] == [("outputs[0].to", "no recipient")]
    found = problems(tmp_path, EMAIL_OUTPUT + 'group_by = ["severity"]\n')
    assert [path for path, _ in found] == ["outputs[0].group_by"]


def test_a_users_email_template_replaces_the_builtin_one_and_is_escaped(tmp_path) -> None:
    (tmp_path / "mytemplates").mkdir()
    (tmp_path / "mytemplates" / "email.html.j2").write_text(
        "<p>{{ facts.title }}: {{ facts.figures[0].value }}</p><p>{{ facts.decisions[0].series }}</p>",
        encoding="utf-8")
    outputs = EMAIL_OUTPUT + 'report_output = "own"\n' + """
[[outputs]]
id = "own"
plugin = "report"
templates = "mytemplates"
path = "reports/{client}.{format}"
"""
    run_in(tmp_path, outputs=outputs)
    html = html_of(mails(tmp_path)["maison-lumiere"])
    assert html.strip() == (f"<p>Maison Lumière{NBSP}: rapport réseaux sociaux: 5,00{NBSP}%</p>"
                            "<p>&lt;script&gt;alert(1)&lt;/script&gt; Lumière · Instagram</p>")


def test_client_reports_need_the_headline_measured_by_client(tmp_path) -> None:
    path = write_fixture(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('by = ["client", "account"]', 'by = ["account"]'),
                    encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert [(p.path, p.message.split(":")[0]) for p in caught.value.problems] == [
        ("outputs[0].clients", "a report per client shows each client's own figures, but engagement_rate_by_reach, "
         "posts_published are not measured by client"),
        ("objectives[1].client", "metrics[0] (engagement_rate_by_reach) is not broken down by client, so no "
         "series would match"),
        ("objectives[2].client", "metrics[0] (engagement_rate_by_reach) is not broken down by client, so no "
         "series would match")]


def test_the_clients_svg_logo_goes_as_an_inline_png(sent) -> None:
    _, messages, _ = sent
    lumiere = messages["maison-lumiere"]
    assert f'<img src="cid:{LOGO_CID}" alt="" height="40"' in html_of(lumiere)
    related = lumiere.get_body(("related",))
    (logo,) = [part for part in related.iter_parts() if part["Content-ID"] == f"<{LOGO_CID}>"]
    png = logo.get_content()
    assert logo.get_content_type() == "image/png" and png.startswith(b"\x89PNG")
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (240, 80)  # twice 120 x 40
    assert "cid:" + LOGO_CID not in html_of(messages["trailhead"])  # no logo, no image


def test_a_broken_email_template_is_named_with_its_line_and_sends_nothing(tmp_path) -> None:
    (tmp_path / "mytemplates").mkdir()
    (tmp_path / "mytemplates" / "email.html.j2").write_text("<p>\n{{ facts.title( }}</p>", encoding="utf-8")
    outputs = EMAIL_OUTPUT + 'report_output = "own"\n' + """
[[outputs]]
id = "own"
plugin = "report"
templates = "mytemplates"
path = "reports/{client}.{format}"
"""
    result = run_in(tmp_path, outputs=outputs)
    (failed,) = [stage for stage in result.failed_stages if stage.kind == "output"]
    assert failed.error.startswith("report template email.html.j2, line 2: ")
    assert "Traceback" not in failed.error
    assert not (tmp_path / "mail").exists()


def client_emails_output(port: int, when: str | None = None) -> str:
    """The ``client_emails`` output of the resend tests: each client's report, no attachment, to
    the loopback SMTP server on ``port``."""
    return f"""
[[outputs]]
id = "client_emails"
plugin = "email"
host = "127.0.0.1"
port = {port}
security = "none"
timeout = "5s"
{f'when = "{when}"' if when else ""}
from_address = "Agence Exemple <reports@agency.example>"
clients = "each"
attach = []
"""


def cmflow_in(tmp_path, monkeypatch):
    """``cmflow ARGS --store`` (a SQLite file in ``tmp_path``), run in ``tmp_path`` in this process."""
    from click.testing import CliRunner

    from cmflow.cli import main

    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'state.db'}"

    def cmflow(*args: str):
        return CliRunner().invoke(main, [*args, "--store", store], catch_exceptions=False, prog_name="cmflow")

    return cmflow


def test_resend_sends_a_fixed_report_again_to_the_clients_named_once(tmp_path, smtp_server, monkeypatch) -> None:
    """With send_once, a second run of the period sends nothing. After a fix (Maison Lumière's
    post had 30 likes, not 10: ERR (30 + 2 + 3 + 5) / 400 = 10 %), `cmflow resend --client
    maison-lumiere` sends Maison Lumière's new report, with a Message-ID of its own, and nothing
    to Trailhead; a run after it sends nothing again; the history says resend. Unknown ids are
    refused before anything runs, naming the closest."""

    mailbox, port = smtp_server()
    path = write_fixture(tmp_path, outputs=client_emails_output(port, when="always"))
    cmflow = cmflow_in(tmp_path, monkeypatch)

    assert cmflow("run", str(path)).exit_code == 0
    assert cmflow("run", str(path)).exit_code == 0
    assert sorted(r.rcpt_tos[0] for r in mailbox.received) == ["marie@lumiere.example", "tom@trailhead.example"]
    first = next(r.message for r in mailbox.received if r.rcpt_tos[0] == "marie@lumiere.example")
    assert "5,00\u00a0%" in text_of(first)

    unknown = cmflow("resend", str(path), "--output", "client_email")
    assert unknown.exit_code == 2 and "--output client_email: agency.toml has no output of that id; " \
        "did you mean 'client_emails'?" in unknown.output
    unknown = cmflow("resend", str(path), "--output", "client_emails", "--client", "maison-lumiére")
    assert unknown.exit_code == 2 and "did you mean 'maison-lumiere'?" in unknown.output
    assert len(mailbox.received) == 2

    posts = (tmp_path / "posts.csv").read_text(encoding="utf-8")
    (tmp_path / "posts.csv").write_text(posts.replace("2026-11-17T10:00:00Z,image,10,", "2026-11-17T10:00:00Z,image,30,"),
                                        encoding="utf-8")
    resent = cmflow("resend", str(path), "--output", "client_emails", "--client", "maison-lumiere")
    assert resent.exit_code == 0, resent.output
    assert len(mailbox.received) == 3
    again = mailbox.received[2]
    assert again.rcpt_tos == ["marie@lumiere.example"]
    assert again.message["Message-ID"] != first["Message-ID"]
    assert "10,00\u00a0%" in text_of(again.message)
    # An update of the report sent, in the client's words, threaded under it in mail clients.
    assert again.message["Subject"] == first["Subject"] + " (mis à jour)"
    assert again.message["In-Reply-To"] == first["Message-ID"] == again.message["References"]

    assert cmflow("run", str(path)).exit_code == 0  # the resend does not make the next runs send
    assert len(mailbox.received) == 3
    history = cmflow("history", "--workflow", "Agency")
    slots = [line.split("│")[4].strip() for line in history.output.splitlines() if line.startswith("│")]
    assert history.exit_code == 0 and slots == ["by hand", "resend", "by hand", "by hand"], history.output


def test_resend_sends_whatever_the_outputs_when_and_only_the_output_named(tmp_path, smtp_server, monkeypatch) -> None:
    """The client e-mails keep the default `when = "change"` (no alert: a run sends them nothing),
    and an alerts e-mail with `when = "always"` goes to the agency at every run. `cmflow resend
    --client maison-lumiere` sends Maison Lumière's report (the CM asked for it), and nothing
    else: not Trailhead's, not the agency's e-mail again; the stats name what was queued. A
    resend that queues nothing (the source failed: the report is held) says so and exits non-zero."""
    import json

    from cmflow.store import open_store

    mailbox, port = smtp_server()
    path = write_fixture(tmp_path, outputs=client_emails_output(port) + f"""
[[outputs]]
id = "agency_email"
plugin = "email"
host = "127.0.0.1"
port = {port}
security = "none"
timeout = "5s"
when = "always"
from_address = "cmflow <cmflow@agency.example>"
to = ["cm@agency.example"]
""")
    cmflow = cmflow_in(tmp_path, monkeypatch)

    assert cmflow("run", str(path)).exit_code == 0
    assert [r.rcpt_tos for r in mailbox.received] == [["cm@agency.example"]]  # when = "change": no report

    resent = cmflow("resend", str(path), "--output", "client_emails", "--client", "maison-lumiere")
    assert resent.exit_code == 0, resent.output
    assert [r.rcpt_tos for r in mailbox.received] == [["cm@agency.example"], ["marie@lumiere.example"]]
    stats = open_store(f"sqlite:///{tmp_path / 'state.db'}").runs(limit=1)[0].stats
    assert stats["resent"] == {"client_emails": ["maison-lumiere"]}, json.dumps(stats)

    (tmp_path / "posts.csv").write_text("platform,account\n\"broken", encoding="utf-8")
    nothing = cmflow("resend", str(path), "--output", "client_emails", "--client", "trailhead")
    assert nothing.exit_code != 0
    assert "✗ nothing was sent again: output 'client_emails' queued no report for trailhead: a report held " \
        "as incomplete" in nothing.output
    assert len(mailbox.received) == 2
    assert "resent" not in open_store(f"sqlite:///{tmp_path / 'state.db'}").runs(limit=1)[0].stats


def test_a_resend_waiting_in_the_outbox_is_not_queued_twice(tmp_path, monkeypatch) -> None:
    """The mail server is down when Maison Lumière's report is resent: the message waits in the
    outbox (exit 3). Resending again is refused before anything runs (exit 2), pointing to
    `cmflow outbox flush --now`; once the server is back, the flush delivers the one copy, and a
    resend after it is queued again. The server receives the report three times, never four."""
    from aiosmtpd.controller import Controller
    from loopback_smtp import Mailbox, free_port

    mailbox, port = Mailbox(), free_port()
    path = write_fixture(tmp_path, outputs=client_emails_output(port, when="always"))
    cmflow = cmflow_in(tmp_path, monkeypatch)

    def to_marie() -> int:
        return sum(r.rcpt_tos == ["marie@lumiere.example"] for r in mailbox.received)

    server = Controller(mailbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        assert cmflow("run", str(path)).exit_code == 0
        assert to_marie() == 1
    finally:
        server.stop()

    down = cmflow("resend", str(path), "--output", "client_emails", "--client", "maison-lumiere")
    assert down.exit_code == 3, down.output
    again = cmflow("resend", str(path), "--output", "client_emails", "--client", "maison-lumiere")
    assert again.exit_code == 2, again.output
    assert "✗ an earlier resend of maison-lumiere's report for 2026-11-16..2026-11-22 is still in the outbox, " \
        "not delivered" in again.output and "`cmflow outbox flush --now`" in again.output
    assert "Traceback" not in again.output

    server = Controller(mailbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        flushed = cmflow("outbox", "flush", "--now")
        assert flushed.exit_code == 0, flushed.output
        assert to_marie() == 2
        assert cmflow("resend", str(path), "--output", "client_emails", "--client", "maison-lumiere").exit_code == 0
        assert to_marie() == 3 and len(mailbox.received) == 4
    finally:
        server.stop()
