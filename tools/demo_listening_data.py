"""The demo's listening data: mentions of each brand and of one competitor each, and the comments
and messages each brand's inbox received, for ``tools/generate_demo_data.py``.

Every row is written out here by hand (no random draw), so the figures the demo's tests check can
be computed by hand from this file: the week 2026-11-16..22 and the week before, times in
Europe/Paris wall-clock time as both tools export them.

* ``listening/<brand>/veille.csv``: a monitoring tool's mentions export: byte-order mark,
  every field quoted, CRLF line ends, line breaks inside texts, a reach and a language per row.
* ``listening/<brand>/alertes.csv``: a second, poorer alert export (no reach, no
  language) that found some of the same mentions again, their links with tracking parameters:
  the watch stage merges those copies.
* ``listening/<brand>/inbox.csv``: the comments and direct messages of the brand's Instagram and
  Facebook accounts, received and first replied to (empty: unanswered).
* ``listening/maison-lumiere/concurrent-publications.csv`` and ``concurrent-abonnes.csv``: the
  competitor Atelier Nuit's public Instagram posts and follower counts, as a benchmarking tool
  exports them (French headers, ``;`` separators, dates as ``16/11/2026 12:00``, "18 400"): the
  [listen] benchmark sets them beside Maison Lumière's own account.

Maison Lumière's texts are in French (its competitor: Atelier Nuit), Trailhead Outfitters' in
English (its competitor: Summit Supply Co.), with emoji, negations and missing accents; each
brand's export holds one homonym the workflow's exclusions drop (a lighting shop, a motel) and
one text naming no watched brand at all.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

BOM = "\ufeff"
VEILLE_HEADER = ["Id", "Date", "Network", "Author", "Content", "URL", "Reach", "Language"]
ALERTES_HEADER = ["Date", "Network", "Author", "Snippet", "Link"]
INBOX_HEADER = ["Message ID", "Platform", "Account", "Type", "Received", "Replied", "Author", "Message", "Post ID"]

# (id, date, network, author, text, url, reach, language)
MAISON_VEILLE = [
    ("ml-101", "2026-11-10 08:40", "instagram", "@claire.gourmande",
     "Le Paris-Brest de Maison Lumière 😍 rien à redire", "https://www.instagram.com/p/ml101/", 2400, "fr"),
    ("ml-102", "2026-11-12 12:15", "x", "@julienb",
     "Queue interminable chez Atelier Nuit ce midi, je n'y retournerai pas", "https://x.com/julienb/status/102",
     800, "fr"),
    ("ml-103", "2026-11-14 17:05", "facebook", "Sophie Martin",
     "Merci @maisonlumiere pour le gâteau d'anniversaire,\ntout le monde a adoré !",
     "https://www.facebook.com/sophie.martin/posts/103", 350, "fr"),
    ("ml-201", "2026-11-16 09:12", "instagram", "@paris.food.guide",
     "Les croissants de Maison Lumière sont les meilleurs du quartier 🥐❤️",
     "https://www.instagram.com/p/ml201/", 15000, "fr"),
    ("ml-202", "2026-11-16 18:30", "x", "@marc_dlt",
     "Bûche precommandee chez Maison Lumiere, tres bon accueil en boutique", "https://x.com/marc_dlt/status/202",
     600, "fr"),
    ("ml-203", "2026-11-17 10:05", "facebook", "Nadia K.",
     "Pain au chocolat de Maison Lumière pas frais du tout ce matin...\nDéçue 😞",
     "https://www.facebook.com/nadia.k/posts/203", 420, "fr"),
    ("ml-204", "2026-11-18 14:40", "instagram", "@atelier.nuit",
     "Nouvelle galette frangipane chez Atelier Nuit, venez la goûter ✨", "https://www.instagram.com/p/ml204/",
     9000, "fr"),
    ("ml-205", "2026-11-19 08:55", "x", "@lea_paris11",
     "Maison Lumière ou Atelier Nuit pour la bûche cette année ? Les deux me tentent 🤔",
     "https://x.com/lea_paris11/status/205", 1300, "fr"),
    ("ml-206", "2026-11-20 19:20", "instagram", "@thomas.r",
     "Commande Maison Lumière livrée avec une heure de retard, bûche écrasée 😡 inadmissible",
     "https://www.instagram.com/p/ml206/", 700, "fr"),
    ("ml-207", "2026-11-21 11:00", "facebook", "Camille D.",
     "Super brunch chez Atelier Nuit ce samedi, je recommande", "https://www.facebook.com/camille.d/posts/207",
     500, "fr"),
    ("ml-208", "2026-11-22 16:45", "instagram", "@vivre.a.paris",
     "#MaisonLumiere la tarte au citron n'est pas mauvaise, elle est excellente 🍋",
     "https://www.instagram.com/p/ml208/", 5200, "fr"),
    # Homonyms: a lighting shop the brand exclusions drop, and plural "maisons lumières" naming nobody.
    ("ml-209", "2026-11-18 09:30", "facebook", "Déco Intérieur",
     "Maison Lumière luminaires : -30 % sur les lampes de chevet", "https://www.facebook.com/deco/posts/209",
     3000, "fr"),
    ("ml-210", "2026-11-19 15:10", "x", "@archi_mag",
     "Ces maisons lumières de l'architecte sont baignées de soleil", "https://x.com/archi_mag/status/210", 900, "fr"),
]
# (date, network, author, snippet, link): two of them found again by the monitoring tool.
MAISON_ALERTES = [
    ("2026-11-16 09:12", "instagram", "@paris.food.guide", "Les croissants de Maison Lumière sont les meilleurs",
     "https://instagram.com/p/ml201?utm_source=alerts&utm_medium=email"),
    ("2026-11-20 19:20", "instagram", "@thomas.r", "Commande Maison Lumière livrée avec une heure de retard",
     "https://www.instagram.com/p/ml206/?utm_source=alerts"),
    ("2026-11-21 07:50", "web", "Le Petit Journal du 11e",
     "Atelier Nuit ouvre une deuxième boutique rue Oberkampf", "https://lepetitjournal11.example/atelier-nuit"),
]
TRAILHEAD_VEILLE = [
    ("th-101", "2026-11-10 15:20", "x", "@hike_with_dan",
     "Trailhead Outfitters repaired my jacket for free. Legends 🙌", "https://x.com/hike_with_dan/status/101",
     1100, "en"),
    ("th-102", "2026-11-13 21:00", "instagram", "@summitsupplyco",
     "New #SummitSupply down parka, warmest we've made", "https://www.instagram.com/p/th102/", 7000, "en"),
    ("th-201", "2026-11-16 07:45", "instagram", "@alpine.jess",
     "Slept warm at -8°C in the @trailhead_hq Ridgeline 2 ⛺🔥 love it", "https://www.instagram.com/p/th201/",
     12000, "en"),
    ("th-202", "2026-11-17 13:30", "x", "@gearnerd",
     "Trailhead Outfitters Black Friday deals are not worth it, same prices as October",
     "https://x.com/gearnerd/status/202", 2500, "en"),
    ("th-203", "2026-11-18 10:10", "facebook", "Mike Owens",
     "My Trailhead Outfitters order never arrived.\nTerrible support, no answer in 4 days 😠",
     "https://www.facebook.com/mike.owens/posts/203", 300, "en"),
    ("th-204", "2026-11-19 18:00", "x", "@trailrunner_k",
     "Summit Supply Co. jackets are great value this season", "https://x.com/trailrunner_k/status/204", 1800, "en"),
    ("th-205", "2026-11-20 09:25", "instagram", "@outdoor.weekly",
     "Comparing Trailhead Outfitters and Summit Supply Co. rain shells: both solid 👍",
     "https://www.instagram.com/p/th205/", 20000, "en"),
    ("th-206", "2026-11-21 12:00", "x", "@sam_climbs",
     "#trailheadcrew cleanup day was awesome, thanks everyone!", "https://x.com/sam_climbs/status/206", 900, "en"),
    # Homonyms: a motel of the same name (dropped by the brand exclusions), and a trail's start.
    ("th-207", "2026-11-17 20:00", "facebook", "Moab Stays",
     "Book the Trailhead Outfitters Motel in Moab, 10 minutes from Arches",
     "https://www.facebook.com/moabstays/posts/207", 4000, "en"),
    ("th-208", "2026-11-22 08:15", "x", "@early_hiker",
     "Parking at the trailhead was full by 7am", "https://x.com/early_hiker/status/208", 150, "en"),
]
TRAILHEAD_ALERTES = [
    ("2026-11-18 10:10", "facebook", "Mike Owens", "My Trailhead Outfitters order never arrived",
     "https://facebook.com/mike.owens/posts/203/?fbclid=IwAR0xyz"),
    ("2026-11-19 18:00", "x", "@trailrunner_k", "Summit Supply Co. jackets are great value",
     "https://x.com/trailrunner_k/status/204?s=20"),
    ("2026-11-22 10:00", "web", "Gear Patrol Weekly", "Summit Supply Co. opens a store in Boulder",
     "https://gearpatrol.example/summit-boulder"),
]

# A benchmarking tool's export of the competitor's public Instagram account (Paris time).
# Week 16-22 Nov: 3 posts, 224 + 571 + 189 = 984 interactions (likes + comments), 18 400 followers.
COMPETITOR_POSTS_HEADER = ["Date", "Réseau", "Compte", "Type", "Publication", "Lien", "J'aime", "Commentaires"]
ATELIER_NUIT_POSTS = [
    ("10/11/2026 09:00", "instagram", "ateliernuit", "IMAGE", "Ouverture des précommandes de bûches 🎄",
     "https://www.instagram.com/p/an101/", 120, 8),
    ("13/11/2026 18:00", "instagram", "ateliernuit", "REELS", "Dans le fournil, 4 h du matin",
     "https://www.instagram.com/reel/an102/", 80, 4),
    ("17/11/2026 12:00", "instagram", "ateliernuit", "IMAGE", "Galette frangipane, édition limitée ✨",
     "https://www.instagram.com/p/an201/", 210, 14),
    ("19/11/2026 18:30", "instagram", "ateliernuit", "REELS", "Notre nouvelle boutique rue Oberkampf ouvre samedi\u00a0!",
     "https://www.instagram.com/reel/an202/", 540, 31),
    ("22/11/2026 10:00", "instagram", "ateliernuit", "CAROUSEL_ALBUM", "Retour en images sur l'inauguration",
     "https://www.instagram.com/p/an203/", 180, 9),
]
COMPETITOR_FOLLOWERS_HEADER = ["Date", "Réseau", "Compte", "Abonnés"]
ATELIER_NUIT_FOLLOWERS = [
    ("15/11/2026", "instagram", "ateliernuit", "18 100"),
    ("22/11/2026", "instagram", "ateliernuit", "18 400"),
]

# (id, platform, account, type, received, replied, author, text, post id). Wall-clock Paris times:
# the agency's team in Paris answers both brands, Monday to Friday 09:00-18:00 (holidays of France).
MAISON_INBOX = [
    ("mlc-01", "instagram", "maisonlumiere", "comment", "2026-11-09 10:00", "2026-11-09 10:20", "@amelie.b",
     "Vous faites des macarons sans gluten ?", "ml-ig-p1"),
    # Tuesday 17:00, answered Thursday 10:00 after the 11 November holiday: 60 + 60 = 120 minutes.
    ("mlc-02", "facebook", "Maison Lumière", "message", "2026-11-10 17:00", "2026-11-12 10:00", "Pierre L.",
     "Bonjour, peut-on commander une pièce montée pour 40 personnes ?", ""),
    ("mlc-03", "instagram", "maisonlumiere", "comment", "2026-11-16 10:00", "2026-11-16 10:30", "@julie_m",
     "Trop beau ce Paris-Brest 😍", "ml-ig-p2"),
    ("mlc-04", "facebook", "Maison Lumière", "message", "2026-11-16 17:30", "2026-11-17 09:15", "Hugo P.",
     "Vous ouvrez a quelle heure dimanche ?", ""),
    ("mlc-05", "instagram", "maisonlumiere", "message", "2026-11-17 11:00", "2026-11-17 14:00", "@nadia.k",
     "Le pain au chocolat n'était pas frais ce matin, c'est dommage", ""),
    ("mlc-06", "instagram", "maisonlumiere", "comment", "2026-11-18 09:05", "2026-11-18 09:25", "@lucas.v",
     "La bûche est dispo en version individuelle ?", "ml-ig-p3"),
    ("mlc-07", "facebook", "Maison Lumière", "comment", "2026-11-20 17:00", "2026-11-23 09:30", "Anne R.",
     "Merci pour la dégustation de vendredi, un régal", "ml-fb-p1"),
    ("mlc-08", "instagram", "maisonlumiere", "message", "2026-11-19 15:00", "", "@thomas.r",
     "Commande livrée en retard et la bûche était écrasée 😡 je ne suis pas du tout contente, remboursez-moi",
     ""),
    ("mlc-09", "facebook", "Maison Lumière", "comment", "2026-11-22 20:00", "", "Sophie Martin",
     "Merci pour l'accueil ce matin 😍", "ml-fb-p2"),
]
TRAILHEAD_INBOX = [
    ("thc-01", "instagram", "trailhead.outfitters", "comment", "2026-11-13 10:00", "2026-11-13 10:30", "@kayla.hikes",
     "Does the Ridgeline come in green?", "th-ig-p1"),
    ("thc-02", "instagram", "trailhead.outfitters", "comment", "2026-11-16 09:30", "2026-11-16 09:40", "@alpine.jess",
     "Best tent I have ever owned 🔥", "th-ig-p2"),
    ("thc-03", "facebook", "Trailhead Outfitters", "message", "2026-11-17 16:00", "2026-11-18 10:00", "Mike Owens",
     "Where is my order? It was due last week.", ""),
    ("thc-04", "instagram", "trailhead.outfitters", "message", "2026-11-18 12:00", "2026-11-18 12:45", "@gearnerd",
     "Is the Black Friday discount stackable with the member code?", ""),
    ("thc-05", "facebook", "Trailhead Outfitters", "comment", "2026-11-19 10:00", "2026-11-19 11:00", "Laura P.",
     "Thanks for the quick repair, great service", "th-fb-p1"),
    ("thc-06", "instagram", "trailhead.outfitters", "comment", "2026-11-20 18:30", "", "@wet_camper",
     "Your Ridgeline 2 leaked on the first night, not happy at all 👎 worst purchase this year", "th-ig-p3"),
    ("thc-07", "facebook", "Trailhead Outfitters", "message", "2026-11-21 11:00", "", "Chris N.",
     "Do you ship to Canada?", ""),
]


def _csv_text(header: list[str], rows: list[tuple], *, quote_all: bool, line_end: str, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=line_end,
                        delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_listening(out_dir: Path) -> dict[str, int]:
    """Write each brand's mentions exports and inbox under ``out_dir/listening/<brand>/`` (beside
    ``exports/``, which holds the platforms' analytics exports only); rows written per file."""
    counts = {}
    for folder, veille, alertes, inbox in (
            ("maison-lumiere", MAISON_VEILLE, MAISON_ALERTES, MAISON_INBOX),
            ("trailhead-outfitters", TRAILHEAD_VEILLE, TRAILHEAD_ALERTES, TRAILHEAD_INBOX)):
        listening = out_dir / "listening" / folder
        listening.mkdir(parents=True, exist_ok=True)
        # The monitoring tool: BOM, every field quoted, CRLF (line breaks inside texts stay \n).
        text = _csv_text(VEILLE_HEADER, veille, quote_all=True, line_end="\r\n")
        (listening / "veille.csv").write_bytes((BOM + text).encode())
        (listening / "alertes.csv").write_bytes(
            _csv_text(ALERTES_HEADER, alertes, quote_all=False, line_end="\n").encode())
        (listening / "inbox.csv").write_bytes(
            _csv_text(INBOX_HEADER, inbox, quote_all=False, line_end="\n").encode())
        counts[f"listening/{folder}/veille.csv"] = len(veille)
        counts[f"listening/{folder}/alertes.csv"] = len(alertes)
        counts[f"listening/{folder}/inbox.csv"] = len(inbox)
    competitor = out_dir / "listening" / "maison-lumiere"
    (competitor / "concurrent-publications.csv").write_bytes((BOM + _csv_text(
        COMPETITOR_POSTS_HEADER, ATELIER_NUIT_POSTS, quote_all=False, line_end="\r\n", delimiter=";")).encode())
    (competitor / "concurrent-abonnes.csv").write_bytes((BOM + _csv_text(
        COMPETITOR_FOLLOWERS_HEADER, ATELIER_NUIT_FOLLOWERS, quote_all=False, line_end="\r\n", delimiter=";")).encode())
    counts["listening/maison-lumiere/concurrent-publications.csv"] = len(ATELIER_NUIT_POSTS)
    counts["listening/maison-lumiere/concurrent-abonnes.csv"] = len(ATELIER_NUIT_FOLLOWERS)
    return counts
