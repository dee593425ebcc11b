"""The demo's production data: each brand's editorial calendar, the time its team logged and the
UTM-tagged traffic of its campaigns, for ``tools/generate_demo_data.py``.

Every row is written out here by hand (no random draw), so that the figures the demo's tests check
can be computed by hand from this file. The week is 2026-11-16..22, times in Europe/Paris (UTC+1),
and the calendar items are planned against the posts the demo's platform exports hold that week:

Maison Lumière, a Google Sheets calendar (French, CSV as Sheets downloads it):
  10 items due (a TikTok video cancelled, two items of the next week not due): 8 on time, the
  bûche carousel planned Thursday 18:00 published Friday 07:30 (13.5 h late), the Sunday story
  missing; the LinkedIn carousel of Friday 20 was not planned (1 unplanned). Adherence 8/10 = 80 %.
Trailhead Outfitters, a Google Calendar export (.ics, New York times, one event in UTC, all-day
  events for LinkedIn): 11 items due (a flash sale cancelled): 8 on time, the December trails
  carousel a day late (24.15 h), the gift guide and the trail tips reel missing. 8/11 = 72.73 %.

Time: Maison Lumière's team logs in Toggl Track (priced by the workflow's rates: 24.25 h, 1,306.25
in the week, 15 h the week before), Trailhead's in Clockify (US export, with billable amounts, which
win over the rates: 18 h, 1,015). calendrier-avent's 290 of time passes its budget of 250.
Traffic: both weeks, so that conversions compare with the week before.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

BOM = "\ufeff"

# -- Maison Lumière: the editorial calendar, as Google Sheets downloads it (CSV, comma, no BOM) --
MAISON_CALENDAR_HEADER = ("Date", "Heure", "Réseau", "Compte", "Format", "Pilier", "Campagne", "Statut",
                          "Responsable", "Sujet", "Lien")
MAISON_CALENDAR = [
    ("SEMAINE 47 — 16 au 22 novembre", "", "", "", "", "", "", "", "", "", ""),
    ("16/11/2026", "18h30", "Instagram", "maisonlumiere", "Image", "Produits", "noel-2026", "Publié",
     "Léa Martin", "Pain d'épices maison", ""),
    ("16/11/2026", "", "LinkedIn", "maison-lumiere", "Texte", "Marque employeur", "", "Publié",
     "Léa Martin", "Portrait d'artisane", ""),
    ("17/11/2026", "19h45", "Facebook", "Maison Lumière", "Texte", "Actualités", "", "Publié",
     "Léa Martin", "Horaires des fêtes", ""),
    ("18/11/2026", "", "LinkedIn", "maison-lumiere", "Carrousel", "Savoir-faire", "noel-2026", "Publié",
     "Hugo Petit", "Les étapes de la bûche", ""),
    ("19/11/2026", "11h30", "Instagram", "maisonlumiere", "Carrousel", "Savoir-faire", "noel-2026", "Publié",
     "Hugo Petit", "Atelier chocolat", ""),
    ("19/11/2026", "18h", "Instagram", "maisonlumiere", "Carrousel", "Produits", "noel-2026", "Publié",
     "Hugo Petit", "La bûche est de retour", ""),
    ("19/11/2026", "19h45", "Facebook", "Maison Lumière", "Vidéo", "Produits", "noel-2026", "Publié",
     "Camille Roux", "Vidéo : la bûche en 30 secondes", ""),
    ("20/11/2026", "12h", "TikTok", "maisonlumiere.paris", "Vidéo", "Coulisses", "", "Annulé",
     "Camille Roux", "Recette express", ""),
    ("21/11/2026", "9h", "Instagram", "maisonlumiere", "Réel", "Coulisses", "", "Publié",
     "Camille Roux", "Pause goûter", ""),
    ("21/11/2026", "17h", "Facebook", "Maison Lumière", "Image", "Produits", "", "Publié",
     "Léa Martin", "Le flan pâtissier", ""),
    ("22/11/2026", "11h", "Instagram", "maisonlumiere", "Story", "Coulisses", "calendrier-avent", "Validé",
     "Léa Martin", "L'atelier du dimanche\n(sondage)", ""),
    ("SEMAINE 48 — 23 au 29 novembre", "", "", "", "", "", "", "", "", "", ""),
    ("24/11/2026", "18h30", "Instagram", "maisonlumiere", "Carrousel", "Produits", "calendrier-avent", "Validé",
     "Hugo Petit", "Calendrier de l'Avent : le lancement",
     "https://www.maisonlumiere.example/avent?utm_source=instagram&utm_medium=social&utm_campaign=calendrier-avent"),
    ("26/11/2026", "", "LinkedIn", "maison-lumiere", "Texte", "Marque employeur", "", "Idée",
     "Léa Martin", "Nos apprentis", ""),
]

# -- Trailhead Outfitters: a Google Calendar export (.ics) ---------------------------------------
TRAILHEAD_EVENTS = [
    # (uid, start, summary, description lines, status)
    ("gear-check-1117", "TZID=America/New_York:20261117T124500", "Gear check: winter layers",
     ("Platform: Instagram", "Account: trailhead.outfitters", "Format: Image", "Pillar: Gear",
      "Campaign: winter-gear-sale", "Owner: Maya Chen"), "CONFIRMED"),
    ("trail-report-1117", "TZID=America/New_York:20261117T114500", "Trail report: Blue Ridge",
     ("Platform: Facebook", "Account: Trailhead Outfitters", "Format: Image", "Pillar: Trails",
      "Campaign: trail-stories", "Owner: Maya Chen"), "CONFIRMED"),
    ("behind-seams-1118", "TZID=America/New_York:20261118T104500", "Behind the seams",
     ("Platform: Facebook", "Account: Trailhead Outfitters", "Format: Video", "Pillar: Craft",
      "Owner: Owen Price"), "CONFIRMED"),
    ("december-trails-1119", "TZID=America/New_York:20261119T123000", "Carousel: 5 trails for December",
     ("Platform: Instagram", "Account: trailhead.outfitters", "Format: Carousel", "Pillar: Trails",
      "Campaign: trail-stories", "Owner: Owen Price"), "CONFIRMED"),
    ("flash-sale-1120", "TZID=America/New_York:20261120T090000", "Flash sale teaser",
     ("Platform: Instagram", "Account: trailhead.outfitters", "Format: Story",
      "Campaign: winter-gear-sale", "Owner: Maya Chen"), "CANCELLED"),
    ("gift-guide-1120", "TZID=America/New_York:20261120T120000", "Gift guide, part 1",
     ("Platform: Facebook", "Account: Trailhead Outfitters", "Format: Image", "Pillar: Gear",
      "Campaign: winter-gear-sale", "Owner: Maya Chen"), "CONFIRMED"),
    ("sunrise-hike-1121", ":20261121T073000Z", "Reel: sunrise hike",
     ("Platform: Instagram", "Account: trailhead.outfitters", "Format: Reel", "Pillar: Trails",
      "Campaign: trail-stories", "Owner: Owen Price"), "CONFIRMED"),
    ("weekend-deals-1121", "TZID=America/New_York:20261121T141500", "Weekend deals",
     ("Platform: Facebook", "Account: Trailhead Outfitters", "Format: Image", "Pillar: Gear",
      "Campaign: winter-gear-sale", "Owner: Maya Chen"), "CONFIRMED"),
    ("long-read-1122", "TZID=America/New_York:20261122T104200", "Sunday long read",
     ("Platform: Facebook", "Account: Trailhead Outfitters", "Format: Video", "Pillar: Trails",
      "Owner: Owen Price"), "CONFIRMED"),
    ("trail-tips-1122", "TZID=America/New_York:20261122T100000", "Reel: trail tips",
     ("Platform: Instagram", "Account: trailhead.outfitters", "Format: Reel", "Pillar: Trails",
      "Campaign: trail-stories", "Owner: Owen Price"), "TENTATIVE"),
    ("hiring-1116", "VALUE=DATE:20261116", "Hiring: store associates",
     ("Platform: LinkedIn", "Account: trailhead-outfitters", "Format: Image", "Pillar: Team",
      "Owner: Maya Chen"), "CONFIRMED"),
    ("layering-101-1119", "VALUE=DATE:20261119", "Blog: layering 101",
     ("Platform: LinkedIn", "Account: trailhead-outfitters", "Format: Link", "Pillar: Gear",
      "Campaign: winter-gear-sale", "Owner: Maya Chen",
      "Link: https://trailhead.example/blog/layering-101?utm_source=linkedin&utm_medium=social"
      "&utm_campaign=winter-gear-sale"), "CONFIRMED"),
]

# -- Time: Maison Lumière in Toggl Track (detailed report CSV) -----------------------------------
TOGGL_HEADER = ("User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
                "End date", "End time", "Duration", "Tags", "Amount (EUR)")
_LEA, _HUGO, _CAMILLE = (("Léa Martin", "lea@agence.example"), ("Hugo Petit", "hugo@agence.example"),
                         ("Camille Roux", "camille@agence.example"))
MAISON_TIME = [
    # (person, project, task, description, day, start, end, duration, tags: the kind of task first, then the
    # platform the time was for where there is one, as a team tags it: IG, Insta, Instagram ...)
    # the week before (2026-11-09..15): 15 h
    (_LEA, "noel-2026", "Rédaction", "Légendes de la semaine", "2026-11-09", "09:00:00", "10:00:00", "01:00:00",
     "rédaction"),
    (_HUGO, "noel-2026", "Visuels", "Moodboard Noël", "2026-11-10", "09:00:00", "11:00:00", "02:00:00", "visuel"),
    (_HUGO, "noel-2026", "Visuels", "Visuels pain d'épices", "2026-11-11", "09:00:00", "12:00:00", "03:00:00",
     "visuel, Instagram"),
    (_CAMILLE, "Community management", "Montage", "Réel atelier", "2026-11-12", "14:00:00", "18:00:00", "04:00:00",
     "vidéo courte, Insta"),
    (_LEA, "Community management", "Modération", "Modération des commentaires", "2026-11-13", "17:00:00",
     "18:30:00", "01:30:00", "modération"),
    (_LEA, "Community management", "Blog", "Article : nos farines", "2026-11-14", "09:00:00", "12:30:00",
     "03:30:00", "article de blog"),
    # the week (2026-11-16..22): 24.25 h
    (_LEA, "noel-2026", "Rédaction", "Légendes de la bûche", "2026-11-16", "09:00:00", "10:30:00", "01:30:00", "rédaction"),
    (_HUGO, "noel-2026", "Visuels", "Carrousel bûche, 6 slides", "2026-11-17", "09:00:00", "12:30:00", "03:30:00",
     "visuel, Instagram"),
    (_HUGO, "noel-2026", "Visuels", "Carrousel étapes LinkedIn", "2026-11-17", "14:00:00", "16:30:00", "02:30:00",
     "visuel, LinkedIn"),
    (_CAMILLE, "noel-2026", "Tournage", "Vidéo bûche", "2026-11-18", "09:00:00", "13:00:00", "04:00:00",
     "vidéo courte, Facebook"),
    (_CAMILLE, "noel-2026", "Montage", "Vidéo bûche", "2026-11-18", "14:00:00", "16:00:00", "02:00:00",
     "vidéo courte, Facebook"),
    (_LEA, "Community management", "Modération", "Modération des commentaires", "2026-11-19", "17:00:00", "18:00:00",
     "01:00:00", "modération"),
    (_LEA, "calendrier-avent", "Blog", "Article : le calendrier de l'Avent", "2026-11-20", "09:00:00", "13:00:00",
     "04:00:00", "article de blog, LinkedIn"),
    (_CAMILLE, "Community management", "Montage", "Réel pause goûter", "2026-11-20", "14:00:00", "17:00:00", "03:00:00",
     "vidéo courte, IG"),
    (_HUGO, "calendrier-avent", "Visuels", "Visuels du calendrier de l'Avent", "2026-11-21", "09:30:00", "11:30:00",
     "02:00:00", "visuel"),
    (_LEA, "Community management", "Modération", "Modération des commentaires", "2026-11-21", "10:00:00", "10:45:00",
     "00:45:00", "modération"),
]

# -- Time: Trailhead Outfitters in Clockify (detailed report, US settings: month first, 12-hour) ----
CLOCKIFY_HEADER = ("Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable",
                   "Start Date", "Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)",
                   "Billable Rate (EUR)", "Billable Amount (EUR)")
TRAILHEAD_TIME = [
    # (project, description, task, user, email, tags, start day, start, end, duration, decimal, rate, amount)
    # the week before: 11.5 h, 660
    ("winter-gear-sale", "Fall catalog shoot", "Photo", "Owen Price", "owen@agency.example", "visual",
     "11/10/2026", "09:00 AM", "01:00 PM", "04:00:00", "4.00", "60.00", "240.00"),
    ("trail-stories", "Trail stories interviews", "Copy", "Maya Chen", "maya@agency.example", "copywriting",
     "11/11/2026", "10:00 AM", "12:00 PM", "02:00:00", "2.00", "50.00", "100.00"),
    ("trail-stories", "Reel: first snow", "Edit", "Owen Price", "owen@agency.example", "short video",
     "11/12/2026", "09:00 AM", "01:30 PM", "04:30:00", "4.50", "60.00", "270.00"),
    ("Community management", "Comment moderation", "Moderation", "Maya Chen", "maya@agency.example", "moderation",
     "11/13/2026", "04:00 PM", "05:00 PM", "01:00:00", "1.00", "50.00", "50.00"),
    # the week: 18 h, 1,015
    ("winter-gear-sale", "Winter layers shoot", "Photo", "Owen Price", "owen@agency.example", "visual, Facebook",
     "11/16/2026", "09:00 AM", "12:00 PM", "03:00:00", "3.00", "60.00", "180.00"),
    ("winter-gear-sale", "Gift guide copy", "Copy", "Maya Chen", "maya@agency.example", "copywriting, Facebook",
     "11/17/2026", "10:00 AM", "11:30 AM", "01:30:00", "1.50", "50.00", "75.00"),
    ("trail-stories", "December trails carousel", "Design", "Owen Price", "owen@agency.example", "visual, Instagram",
     "11/18/2026", "01:00 PM", "04:30 PM", "03:30:00", "3.50", "60.00", "210.00"),
    ("trail-stories", "Sunrise hike reel", "Edit", "Owen Price", "owen@agency.example", "short video, IG",
     "11/19/2026", "09:00 AM", "02:00 PM", "05:00:00", "5.00", "60.00", "300.00"),
    ("Community management", "Comment moderation", "Moderation", "Maya Chen", "maya@agency.example", "moderation",
     "11/20/2026", "04:00 PM", "05:30 PM", "01:30:00", "1.50", "50.00", "75.00"),
    ("winter-gear-sale", "Blog: layering 101", "Blog", "Maya Chen", "maya@agency.example", "blog article, LinkedIn",
     "11/20/2026", "09:00 AM", "12:30 PM", "03:30:00", "3.50", "50.00", "175.00"),
]

# -- Traffic: Maison Lumière's UTM sheet (French Excel: ;, decimal commas, euros) ------------------
UTM_HEADER = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "date", "sessions", "users",
              "conversions", "revenue")
MAISON_TRAFFIC = [
    ("instagram", "social", "noel-2026", "visuel-pain-epices", "12/11/2026", "150", "138", "2", "70,00 €"),
    ("facebook", "social", "noel-2026", "", "13/11/2026", "80", "74", "1", "30,00 €"),
    ("newsletter", "email", "noel-2026", "", "14/11/2026", "250", "226", "6", "640,00 €"),
    ("instagram", "social", "noel-2026", "carrousel-buche", "19/11/2026", "180", "164", "3", "96,00 €"),
    ("instagram", "social", "noel-2026", "carrousel-buche", "20/11/2026", "240", "221", "5", "162,50 €"),
    ("facebook", "social", "noel-2026", "video-buche", "19/11/2026", "95", "90", "1", "32,00 €"),
    ("facebook", "social", "noel-2026", "video-buche", "20/11/2026", "120", "111", "2", "68,00 €"),
    ("newsletter", "email", "noel-2026", "", "21/11/2026", "310", "280", "9", "1 012,50 €"),
    ("linkedin", "social", "calendrier-avent", "article-blog", "20/11/2026", "60", "58", "0", "0,00 €"),
    ("instagram", "social", "calendrier-avent", "story", "21/11/2026", "45", "41", "1", "35,00 €"),
    ("Total", "", "", "", "", "1 530", "1 403", "30", "2 146,00 €"),
]

# -- Traffic: Trailhead Outfitters' GA4 download (traffic acquisition, CSV) -----------------------
GA4_PREAMBLE = (
    "# ----------------------------------------",
    "# Traffic acquisition: Session source / medium",
    "# Account: Trailhead Outfitters",
    "# Property: trailhead.example - GA4",
    "# ----------------------------------------",
    "# ",
    "# Start date: 20261109",
    "# End date: 20261122",
    "# ----------------------------------------",
    "",
)
GA4_HEADER = ("Session source / medium", "Session campaign", "Date", "Sessions", "Total users", "Key events",
              "Total revenue")
TRAILHEAD_TRAFFIC = [
    ("", "", "", "2,670", "2,390", "39", "€4,588.00"),  # the totals row GA4 puts first
    ("ig / social", "trail-stories", "20261112", "180", "166", "2", "€150.00"),
    ("facebook / social", "winter-gear-sale", "20261113", "260", "240", "4", "€420.00"),
    ("google / organic", "(not set)", "20261110", "500", "431", "6", "€800.00"),
    ("l.instagram.com / referral", "trail-stories", "20261120", "220", "201", "2", "€180.00"),
    ("ig / social", "trail-stories", "20261121", "310", "288", "4", "€362.00"),
    ("m.facebook.com / referral", "winter-gear-sale", "20261117", "150", "139", "3", "€285.00"),
    ("facebook / social", "winter-gear-sale", "20261121", "400", "362", "9", "€1,206.00"),
    ("lnkd.in / referral", "winter-gear-sale", "20261119", "90", "84", "1", "€95.00"),
    ("google / organic", "(not set)", "20261118", "560", "479", "8", "€1,090.00"),
]


def _csv_text(header, rows, *, delimiter=",", line_end="\n", quote_all=False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end,
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _ics_text() -> str:
    """Trailhead's calendar as Google Calendar exports it: CRLF, lines folded at 75 octets,
    commas and newlines escaped in texts."""
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:Trailhead Outfitters - content calendar",
             "X-WR-TIMEZONE:America/New_York",
             "BEGIN:VTIMEZONE", "TZID:America/New_York", "X-LIC-LOCATION:America/New_York",
             "BEGIN:DAYLIGHT", "TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "TZNAME:EDT", "DTSTART:19700308T020000",
             "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "END:DAYLIGHT",
             "BEGIN:STANDARD", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "TZNAME:EST", "DTSTART:19701101T020000",
             "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU", "END:STANDARD", "END:VTIMEZONE"]
    for uid, start, summary, description, status in TRAILHEAD_EVENTS:
        owner = next(line.split(": ", 1)[1] for line in description if line.startswith("Owner: "))
        text = "\\n".join(line.replace(",", "\\,") for line in description)
        lines += ["BEGIN:VEVENT", f"DTSTART;{start}" if not start.startswith(":") else f"DTSTART{start}",
                  "DTSTAMP:20261123T080000Z", f"UID:{uid}@trailhead.example",
                  f"ORGANIZER;CN={owner}:mailto:{owner.split()[0].lower()}@agency.example",
                  "CREATED:20261102T150000Z", f"DESCRIPTION:{text}", "LAST-MODIFIED:20261112T160000Z",
                  "SEQUENCE:0", f"STATUS:{status}", f"SUMMARY:{summary.replace(',', chr(92) + ',')}",
                  "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(_folded(line) + "\r\n" for line in lines)


def _folded(line: str) -> str:
    """An iCalendar content line folded at 75 octets (RFC 5545 §3.1), never inside a character."""
    parts, current = [], ""
    for char in line:
        limit = 75 if not parts else 74
        if len((current + char).encode()) > limit:
            parts.append(current)
            current = char
        else:
            current += char
    parts.append(current)
    return "\r\n ".join(parts)


def write_production(out_dir: Path) -> dict[str, int]:
    """Write each brand's calendar, time entries and traffic under ``out_dir/production/<brand>/``;
    rows (or events) written per file."""
    maison = out_dir / "production" / "maison-lumiere"
    trailhead = out_dir / "production" / "trailhead-outfitters"
    maison.mkdir(parents=True, exist_ok=True)
    trailhead.mkdir(parents=True, exist_ok=True)
    (maison / "calendrier-editorial.csv").write_bytes(_csv_text(MAISON_CALENDAR_HEADER, MAISON_CALENDAR).encode())
    toggl_rows = [(person, email, "Maison Lumière", project, task, description, "No", day, start, day, end,
                   duration, tags, "0.00")
                  for (person, email), project, task, description, day, start, end, duration, tags in MAISON_TIME]
    (maison / "toggl-detailed-2026-11.csv").write_bytes(
        (BOM + _csv_text(TOGGL_HEADER, toggl_rows)).encode())
    (maison / "trafic-utm.csv").write_bytes(
        (BOM + _csv_text(UTM_HEADER, MAISON_TRAFFIC, delimiter=";", line_end="\r\n")).encode())
    (trailhead / "content-calendar.ics").write_bytes(_ics_text().encode())
    clockify_rows = [(project, "Trailhead Outfitters", description, task, user, "Studio", email, tags, "Yes",
                      day, start, day, end, duration, decimal, rate, amount)
                     for (project, description, task, user, email, tags, day, start, end, duration, decimal, rate,
                          amount) in TRAILHEAD_TIME]
    (trailhead / "clockify-detailed-2026-11.csv").write_bytes(
        (BOM + _csv_text(CLOCKIFY_HEADER, clockify_rows)).encode())
    ga4 = "\n".join(GA4_PREAMBLE) + "\n" + _csv_text(GA4_HEADER, TRAILHEAD_TRAFFIC)
    (trailhead / "ga4-traffic-acquisition.csv").write_bytes((BOM + ga4).encode())
    return {
        "production/maison-lumiere/calendrier-editorial.csv": len(MAISON_CALENDAR),
        "production/maison-lumiere/toggl-detailed-2026-11.csv": len(MAISON_TIME),
        "production/maison-lumiere/trafic-utm.csv": len(MAISON_TRAFFIC),
        "production/trailhead-outfitters/content-calendar.ics": len(TRAILHEAD_EVENTS),
        "production/trailhead-outfitters/clockify-detailed-2026-11.csv": len(TRAILHEAD_TIME),
        "production/trailhead-outfitters/ga4-traffic-acquisition.csv": len(TRAILHEAD_TRAFFIC),
    }
