#!/usr/bin/env python3
"""Generate cmflow's bundled offline demo data set (``src/cmflow/data/demo/``).

Why: ``cmflow demo`` (and the tests) must work with no network and no API keys, on data that
looks like what a community manager really exports, so every source, metric, trigger and
report can be shown end to end. This script is the single, reviewable source of that data:
edit it and re-run it instead of editing the generated files by hand.

What it writes (plain UTF-8, no BOM), for two fictional brands, "Maison Lumière" (French
bakery chain) and "Trailhead Outfitters" (outdoor gear), over the ten ISO weeks from Monday
2026-09-14 to Sunday 2026-11-22 (wall-clock times in Europe/Paris):

* ``meta_posts.csv`` - a Meta Business Suite style post export (Instagram and Facebook),
  comma separated, ``MM/DD/YYYY HH:MM`` times, empty ``Saves`` on Facebook, ``Link clicks``
  only on Facebook link posts.
* ``linkedin_posts.csv`` - a LinkedIn page "Contenu" export in the French locale:
  semicolon separated, ``DD/MM/YYYY HH:MM``, ``1 234`` thousands separators, ``4,52 %``
  engagement rates, no reach column, newest post first (as LinkedIn exports).
* ``account_snapshots.json`` - one object per account per day from 2026-09-07 (one week
  before the first exported post, so growth can be computed) to 2026-11-22.
* ``follower_counts.json`` - the same, with each Facebook page named as Meta's export names it
  (its ``Page name``): the follower counts the demo workflow reads with the exports below.
* ``exports/<brand>/`` - the same posts and follower counts as each platform's analytics page
  exports them (docs/exports.md), one file per page or account, for ``workflows/demo.toml``:
  Meta Business Suite's ``facebook-posts.csv`` and ``instagram-posts.csv`` (byte-order mark,
  Meta's quoting, the ``Reactions, Comments and Shares`` sum column), LinkedIn's
  ``linkedin/content.xlsx`` (sheets ``Metrics`` and ``All posts`` under a notice row) and
  ``linkedin/followers.xlsx`` (``New followers``), and accounts only these exports show: TikTok
  Studio overviews (two overlapping downloads, dates without a year) and follower history, a
  YouTube Studio ``youtube/Content <range> <channel>/Table data.csv`` (``Total`` row first; the
  folder named as Studio names the download, with its range) and an X post export. Figures
  the merged files lack (TikTok, YouTube, X, LinkedIn's daily page activity ...) come from
  random generators of their own, so the files above are unchanged by them.
* ``listening/<brand>/`` - mentions of each brand and
  of one competitor each (two exports that found some of the same mentions) and the comments
  and messages each brand received, written by hand in ``tools/demo_listening_data.py``.
* ``production/<brand>/`` - each brand's editorial calendar (a Google Sheets CSV, a Google
  Calendar .ics), the time its team logged (Toggl Track, Clockify) and its UTM-tagged traffic
  (a UTM sheet, a GA4 download), written by hand in ``tools/demo_production_data.py``.

Deliberate content for the demo and the tests:

* Injected signals the demo's alerts rely on: in the last week (2026-11-16..22) Trailhead's
  Instagram engagement rate by reach falls ~45 % against the week before at the same reach
  (a salesy Black Friday week), and Maison Lumière's Facebook weekly reach rises ~60 % (a
  viral Christmas-log video). Every other account-week keeps its engagement rate within
  +-12 % (by construction) of the week before, and its weekly reach within about +-25 %.
* Hostile captions: exactly one containing ``<script>alert('x')</script>`` (HTML escaping),
  exactly one starting with ``=HYPERLINK(...)`` (spreadsheet formula injection) and one with
  a comma and a double quote (CSV quoting). No other caption contains a double quote or
  starts with ``= + - @``, and no LinkedIn title contains a semicolon.

Determinism: every random draw comes from ``random.Random`` instances seeded with fixed
strings (one per account), files are written with fixed ordering and ``\\n`` line endings, so
each run produces byte-identical output (the workbooks' time stamps are set to the data's last
day). The workbooks are written with openpyxl (a test dependency); the rest with the standard
library.

Run from anywhere: ``python tools/generate_demo_data.py``. After writing, the script reads the
files back, prints a weekly sanity table and fails (exit 1) if an injected signal or a
stability / size guarantee does not hold.
"""

from __future__ import annotations

import csv
import json
import random
import string
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from demo_listening_data import write_listening  # tools/ is on sys.path when run as a script
from demo_production_data import write_production

SEED = "cmflow-demo-2026"
TZ = ZoneInfo("Europe/Paris")
SNAPSHOT_START = date(2026, 9, 7)  # one week before the first exported post
POSTS_START = date(2026, 9, 14)
END = date(2026, 11, 22)
N_WEEKS = 11  # week 0 (09-07..13) is simulated for account reach history, its posts not exported
LAST_WEEK = N_WEEKS - 1
OUT_DIR = Path(__file__).resolve().parent.parent / "src" / "cmflow" / "data" / "demo"
MAX_BYTES = 300_000

META_HEADER = [
    "Post ID", "Page name", "Account", "Platform", "Publish time", "Post type", "Description",
    "Permalink", "Reach", "Views", "Likes", "Comments", "Shares", "Saves", "Link clicks",
    "Content pillar", "Campaign",
]
LINKEDIN_HEADER = [
    "Page", "Date de publication", "Titre du post", "Lien du post", "Type de contenu",
    "Impressions", "Clics", "Réactions", "Commentaires", "Republications",
    "Taux d'engagement", "Pilier",
]

SCRIPT_CAPTION = (
    "Jeu concours <script>alert('x')</script> : gagnez un coffret gourmand en commentant "
    "votre viennoiserie préférée 🎁 #maisonlumiere #concours"
)
FORMULA_CAPTION = (
    '=HYPERLINK("http://evil.example","click") Win a Ridgeline 2 tent! Comment with your '
    "dream campsite to enter ⛺ #trailheadcrew"
)
QUOTE_CAPTION = (
    'Notre "Paris-Brest", version noisette du Piémont : on vous en garde un ? 🌰 '
    "#maisonlumiere #patisserie"
)
VIRAL_CAPTION = (
    "La bûche Noël 2026 de A à Z en 60 secondes : praliné, biscuit noisette et glaçage miroir "
    "🎄 Précommandes ouvertes en boutique et en ligne"
)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    key: str
    name: str
    pillars: tuple[tuple[str, int], ...]  # (pillar, weight) on Instagram and Facebook
    linkedin_pillars: tuple[tuple[str, int], ...]  # corporate LinkedIn is less product-heavy
    campaign: str
    hours: tuple[tuple[int, int], ...]  # (hour, weight) for Instagram / Facebook


@dataclass(frozen=True)
class Account:
    brand: Brand
    platform: str  # instagram, facebook, linkedin
    handle: str
    followers: int  # on the evening before SNAPSHOT_START
    posts_per_week: tuple[int, int]
    base_err: float  # engagement / reach (impressions on LinkedIn), percent


MAISON = Brand(
    key="maison",
    name="Maison Lumière",
    pillars=(("Produits", 4), ("Coulisses", 2), ("Recettes", 2), ("Événements", 2)),
    linkedin_pillars=(("Produits", 2), ("Coulisses", 3), ("Recettes", 2), ("Événements", 2)),
    campaign="Noël 2026",
    hours=((7, 3), (8, 5), (9, 3), (11, 2), (12, 3), (13, 1), (15, 2), (16, 4), (17, 3),
           (18, 4), (19, 3), (20, 2), (21, 1)),
)
TRAILHEAD = Brand(
    key="trailhead",
    name="Trailhead Outfitters",
    pillars=(("Gear", 4), ("Adventures", 3), ("Community", 2), ("Sustainability", 2)),
    linkedin_pillars=(("Gear", 2), ("Adventures", 2), ("Community", 3), ("Sustainability", 3)),
    campaign="Black Friday",
    hours=((7, 1), (8, 2), (10, 2), (12, 5), (13, 3), (16, 2), (17, 4), (18, 6), (19, 6),
           (20, 4), (21, 2), (22, 1)),
)
LINKEDIN_HOURS = ((8, 4), (9, 6), (10, 4), (11, 3), (12, 2), (14, 2), (16, 1), (17, 1))

ACCOUNTS = (
    Account(MAISON, "instagram", "maisonlumiere", 11_870, (3, 6), 5.6),
    Account(MAISON, "facebook", "maisonlumiere", 7_940, (2, 4), 2.6),
    Account(MAISON, "linkedin", "maison-lumiere", 2_960, (1, 3), 3.8),
    Account(TRAILHEAD, "instagram", "trailhead.outfitters", 44_600, (3, 6), 5.2),
    Account(TRAILHEAD, "facebook", "trailheadoutfitters", 19_850, (2, 4), 2.2),
    Account(TRAILHEAD, "linkedin", "trailhead-outfitters", 5_930, (1, 3), 3.2),
)
ERR_DROP = ("instagram", "trailhead.outfitters")  # last-week engagement-rate drop
REACH_SPIKE = ("facebook", "maisonlumiere")  # last-week viral reach


@dataclass(frozen=True)
class PostType:
    label: str
    weight: int
    reach: tuple[float, float]  # share of followers reached (impressions on LinkedIn)
    views: tuple[float, float]  # views / reach
    err: float  # relative engagement multiplier
    split: tuple[float, ...]  # likes, comments, shares[, saves]


PLATFORM_TYPES: dict[str, tuple[PostType, ...]] = {
    "instagram": (
        PostType("IG image", 3, (0.15, 0.24), (1.20, 1.50), 0.85, (0.83, 0.05, 0.04, 0.08)),
        PostType("IG carousel", 4, (0.18, 0.30), (1.30, 1.70), 1.00, (0.75, 0.05, 0.05, 0.15)),
        PostType("IG reel", 4, (0.26, 0.40), (1.50, 2.00), 1.20, (0.73, 0.04, 0.13, 0.10)),
    ),
    "facebook": (
        PostType("Photo", 9, (0.15, 0.28), (1.20, 1.50), 1.00, (0.82, 0.10, 0.08)),
        PostType("Video", 4, (0.22, 0.38), (1.50, 2.00), 1.25, (0.74, 0.10, 0.16)),
        PostType("Link", 5, (0.15, 0.24), (1.20, 1.40), 0.75, (0.78, 0.08, 0.14)),
        PostType("Text", 2, (0.15, 0.22), (1.20, 1.40), 0.90, (0.80, 0.15, 0.05)),
    ),
    "linkedin": (
        PostType("Image", 8, (0.18, 0.35), (1.0, 1.0), 1.00, (0.86, 0.09, 0.05)),
        PostType("Carrousel", 4, (0.25, 0.45), (1.0, 1.0), 1.20, (0.84, 0.09, 0.07)),
        PostType("Vidéo", 3, (0.25, 0.45), (1.0, 1.0), 1.15, (0.84, 0.08, 0.08)),
        PostType("Texte", 3, (0.15, 0.30), (1.0, 1.0), 0.90, (0.82, 0.13, 0.05)),
        PostType("Lien", 2, (0.12, 0.25), (1.0, 1.0), 0.80, (0.85, 0.07, 0.08)),
    ),
}
TYPES_BY_LABEL = {t.label: t for types in PLATFORM_TYPES.values() for t in types}

# Daily account figures: organic reach (stories, explore, page visits ...) as a share of
# followers, profile views per reached account, website clicks per profile view.
SNAPSHOT_RATES = {
    "instagram": ((0.035, 0.050), (0.020, 0.035), (0.08, 0.15)),
    "facebook": ((0.020, 0.030), (0.010, 0.020), (0.05, 0.10)),
    "linkedin": ((0.015, 0.025), (0.030, 0.050), (0.05, 0.12)),
}
# Share of a post's reach counted in the account's daily reach on day 0, 1, 2, 3.
REACH_DECAY = (0.55, 0.30, 0.10, 0.05)


# --------------------------------------------------------------------------------------------
# Captions
# --------------------------------------------------------------------------------------------

M_PASTRIES = ["croissant", "pain au chocolat", "éclair au café", "flan pâtissier",
              "kouign-amann", "chausson aux pommes", "millefeuille", "tarte au citron meringuée",
              "brioche feuilletée", "cannelé", "financier à la noisette", "pain aux raisins",
              "tarte aux figues", "Mont-Blanc", "baba au rhum", "tarte Tatin"]
M_BASES = ["croissant", "éclair", "flan pâtissier", "kouign-amann", "millefeuille",
           "brioche feuilletée", "financier", "cannelé", "chou"]  # take a flavour well
M_FLAVOURS = ["à la châtaigne", "au praliné maison", "à la pistache de Sicile",
              "à la vanille de Madagascar", "au caramel beurre salé", "poire et sarrasin",
              "chocolat grand cru et noisette", "marron et cassis"]
M_PEOPLE = [("Camille", "cheffe pâtissière"), ("Julien", "chef boulanger"),
            ("Inès", "responsable de la boutique Bastille"), ("Mathieu", "tourier"),
            ("Sofia", "apprentie pâtissière"), ("Hugo", "livreur à vélo")]
M_SHOPS = ["Bastille", "Montmartre", "Lyon Croix-Rousse", "Bordeaux Chartrons", "Nantes Graslin"]
M_INGREDIENTS = ["pommes du Limousin", "beurre de baratte", "noisettes du Piémont",
                 "farine de meule du moulin voisin", "œufs plein air de la ferme des Grillons",
                 "châtaignes d'Ardèche", "figues de Solliès"]
M_RECIPES = ["cookies au beurre noisette", "pain perdu brioché", "madeleines au miel",
             "crème pâtissière", "sablés bretons", "financiers", "tarte fine aux pommes"]
M_LEFTOVERS = ["pain perdu", "pudding au pain", "croûtons à l'ail", "chapelure maison"]
M_WORKSHOPS = ["viennoiseries", "macarons", "pain au levain", "pâte à choux"]
M_CITIES = ["Paris", "Lyon", "Bordeaux", "Nantes", "Lille"]
M_TAGS = ["#boulangerie", "#patisserie", "#viennoiserie", "#faitmaison", "#artisanboulanger",
          "#gourmandise", "#croissant", "#paris", "#painaulevain", "#patisseriefrancaise",
          "#foodlover", "#automne"]
M_EMOJI = ["🥐", "🥖", "✨", "🍰", "☕", "🤎", "🍂", "😋", "👩‍🍳", "🧈", "🍫", "🌰"]
M_XMAS_EMOJI = ["🎄", "🎁", "✨", "⭐"]

MAISON_CAPTIONS = {
    "Produits": [
        "Nouveauté du mois en boutique : {base} {flavour} {e} Disponible jusqu'à épuisement !",
        "Croustillant dehors, fondant dedans. Qui résiste à notre {pastry} ? {e}",
        "Édition limitée : {base} {flavour}, seulement ce week-end {e}",
        "Farine Label Rouge, beurre AOP Charentes-Poitou : le secret de notre {pastry} {e}",
        "L'automne s'invite en vitrine avec notre {base} {flavour} {e}",
        "Pause goûter ? On vous conseille notre {pastry} avec un chocolat chaud {e}",
        "Sorti du four il y a cinq minutes : {pastry} encore tiède {e}",
        "Team {pastry} ou team {pastry2} ? Dites-nous tout en commentaire {e}",
    ],
    "Coulisses": [
        "5h du matin au fournil : {name} façonne les premières baguettes de la journée {e}",
        "Rencontrez {name}, {role} chez Maison Lumière depuis {years} ans {e}",
        "!Notre levain a 12 ans et on le nourrit tous les jours. Il s'appelle Gaston {e}",
        "Arrivage du matin : {ingredient}, en direct de nos producteurs {e}",
        "!Tourage, pliage, repos... les coulisses de notre feuilletage {e}",
        "Il faut {hours} heures pour préparer notre {pastry}. Et cinq minutes pour le dévorer {e}",
        "!Ce que vous ne voyez pas : le grand nettoyage du fournil, tous les soirs à 22h {e}",
    ],
    "Recettes": [
        "Notre recette de {recipe} à refaire à la maison, étape par étape {e} Enregistrez ce post !",
        "!Astuce du chef : pour un feuilletage réussi, gardez votre beurre bien froid {e}",
        "Vous nous l'avez demandée : notre recette de {recipe} {e}",
        "Pain rassis ? Transformez-le en {leftover} {e} Zéro gaspi, 100 % gourmand",
        "Recette express : {recipe} en {minutes} minutes chrono {e}",
        "!Le geste du jour : comment réussir une pâte à choux bien gonflée {e}",
    ],
    "Événements": [
        "Atelier {workshop} samedi dans notre boutique {shop} ! Places limitées, inscription via le lien en bio {e}",
        "!Ce dimanche, dégustation gratuite dans toutes nos boutiques {e}",
        "!Merci d'être venus si nombreux à notre marché d'automne ! {e}",
        "!Retrouvez-nous ce week-end au Salon du Chocolat, stand 42 {e}",
        "Notre boutique {shop} fête ses {years} ans : une viennoiserie offerte pour tout achat samedi {e}",
        "Portes ouvertes du fournil {shop} samedi matin, venez voir naître vos croissants {e}",
    ],
}
MAISON_XMAS = [
    "!Elle est là : la bûche Noël 2026, {flavour} {e} Précommandes ouvertes en boutique et en ligne",
    "!Le calendrier de l'Avent Maison Lumière arrive : 24 surprises gourmandes {e}",
    "Précommandez votre bûche avant le 20 décembre, un sachet de sablés vous est offert {e}",
    "!Nos coffrets de Noël sont en boutique : sablés, pâtes de fruits et marrons glacés {e}",
    "!Sapin, guirlandes et pain d'épices : nos boutiques se mettent à l'heure de Noël {e}",
    "!Noël approche : notre brioche aux fruits confits revient en édition limitée {e}",
    "Idée cadeau : la carte cadeau Maison Lumière, valable dans toutes nos boutiques {e}",
]
MAISON_LINKEDIN = {
    "Produits": [
        "!Lancement de notre gamme de pains au levain naturel, désormais disponible dans toutes nos boutiques.",
        "Produit du mois : notre {base} {flavour}, né d'une collaboration avec nos producteurs partenaires.",
        "!Nouveau : une offre petit-déjeuner pour les entreprises de {city}, livrée avant 8h.",
        "!Notre croissant au beurre AOP distingué par le guide Le Fooding 2027 : une fierté pour toute l'équipe !",
        "Notre offre traiteur s'étoffe : plateaux salés et sucrés pour vos séminaires et événements d'entreprise.",
        "!Pourquoi nous avons choisi de ne travailler qu'avec du beurre AOP Charentes-Poitou.",
        "!Coffrets gourmands pour vos cadeaux clients et collaborateurs : les commandes entreprises sont ouvertes.",
    ],
    "Coulisses": [
        "Portrait : {name}, {role}, raconte son parcours chez Maison Lumière.",
        "Nous recrutons {n} boulangers et pâtissiers pour nos boutiques de {city}. Rejoignez l'aventure !",
        "!Formation : {n} apprentis rejoignent nos fournils cette saison.",
        "!Anti-gaspillage : nos invendus sont désormais redistribués chaque soir à des associations locales.",
        "!Une nuit avec nos équipes : de 22h à 6h, le fournil ne dort jamais.",
        "!Égalité professionnelle : notre index atteint {index}/100 cette année.",
    ],
    "Recettes": [
        "!72 heures de préparation, 27 couches de feuilletage : le savoir-faire derrière notre croissant.",
        "!Comment nous avons réduit de {off} % le sucre de nos recettes sans renoncer au goût.",
        "!Du champ au fournil : {pct} % de nos farines viennent de moulins situés à moins de 200 km.",
        "!Levain naturel et fermentation longue : ce qui change vraiment pour la digestibilité du pain.",
        "!Comment nos chefs font vivre une même recette dans cinq fournils sans perdre l'âme artisanale.",
        "!Saisonnalité : pourquoi notre carte de pâtisseries change toutes les six semaines.",
    ],
    "Événements": [
        "!Maison Lumière ouvre une nouvelle boutique à Lille ! Merci à nos équipes et à nos clients.",
        "!Retour sur le Salon du Chocolat : {n}00 visiteurs sur notre stand en trois jours.",
        "!Merci à nos {n} partenaires producteurs réunis hier pour notre rencontre annuelle.",
        "!Rendez-vous au Sirha Food à Lyon en janvier : venez rencontrer nos équipes.",
        "Conférence : notre fondatrice interviendra sur l'avenir de l'artisanat de bouche à {city}.",
        "!Journée portes ouvertes du fournil central : {n}0 collaborateurs et leurs familles au rendez-vous.",
    ],
}
M_LI_TAGS = {
    "Produits": ["#boulangerie", "#artisanat", "#savoirfaire"],
    "Coulisses": ["#RSE", "#equipe", "#artisanat"],
    "Recettes": ["#savoirfaire", "#boulangerie", "#innovation"],
    "Événements": ["#evenement", "#artisanat", "#commerce"],
}

T_PRODUCTS = ["Ridgeline 2 tent", "Summit 45L pack", "Alpine down jacket", "Switchback trail shoe",
              "Cascade rain shell", "Basecamp sleeping bag", "Granite trekking pole set",
              "Headwall fleece", "Timberline hiking boot"]
T_PLACES = ["Lac Blanc", "Mont Aiguille", "the Col du Galibier", "Lac de Gaube", "the Brèche de Roland",
            "Lac d'Allos", "the Tre Cime di Lavaredo", "Lac de Roselend", "the Aiguilles Rouges"]
T_TREKS = ["the GR20", "the Tour du Mont Blanc", "the Pyrenees", "the Dolomites", "the Écrins",
           "the Cairngorms"]
T_REGIONS = ["the Écrins", "the Dolomites", "the Pyrenees", "the Cairngorms", "the Vercors"]
T_COLOURS = ["forest green", "glacier blue", "ember orange", "slate grey", "sand"]
T_PEOPLE = [("Maya", "trail team lead"), ("Tom", "head of product"), ("Lucie", "store manager"),
            ("Sam", "repair technician"), ("Noah", "ambassador")]
T_CITIES = ["Annecy", "Grenoble", "Chamonix", "Lyon"]
T_EVENTS = ["sunrise hike", "trail clean-up", "gear repair night", "full-moon trail run"]
T_TOPICS = ["layering", "winter camping", "boot sizing", "waterproofing"]
T_USERS = ["lea.outdoors", "bivouac_ben", "summit.sarah", "nico_on_trail", "wild.camille"]
T_TAGS = ["#getoutside", "#hiking", "#outdoorgear", "#trailrunning", "#mountains", "#adventure",
          "#leavenotrace", "#trailheadcrew", "#camping", "#alps"]
T_EMOJI = ["🏔️", "⛺", "🥾", "🌲", "🧭", "🌄", "❄️", "🎒", "🔥", "🌿", "♻️"]

TRAILHEAD_CAPTIONS = {
    "Gear": [
        "Meet the {product}: light, tough and built for long days out {e}",
        "Field-tested on {place}: the {product} kept our crew dry all weekend {e}",
        "New colourway alert: the {product} now comes in {colour} {e} Link in bio",
        "Pack light, go far. The {product} weighs just {weight} g {e}",
        "Layering 101: base, mid, shell. Here is how we pair the {product} {e}",
        "Restocked: the {product} is back in every size {e}",
    ],
    "Adventures": [
        "Sunrise over {place} {e} Where are you heading this weekend?",
        "{days} days, {trek_km} km, zero regrets. {name}'s trek across {trek} {e}",
        "!First snow on {trek} {e} Winter season is officially on",
        "Trail report: {place}, {loop_km} km loop, {elev} m of climbing {e}",
        "Golden hour, cold hands, full heart. Camp night at {place} {e}",
        "Fog in the valley, blue sky on top. Worth the early start at {place} {e}",
    ],
    "Community": [
        "Shot of the week by @{user} at {place} {e} Tag #trailheadcrew to be featured",
        "Join our {event} this Saturday from our {city} store, all levels welcome {e}",
        "You asked, we answered: your top {n} questions about {topic} {e}",
        "Huge thanks to the {n}0 of you who joined our {event} {e}",
        "Meet {name}, our {role} in {city} {e}",
    ],
    "Sustainability": [
        "!Our repair program fixed {n}00 jackets this year. Repair beats replace {e}",
        "!{pct}% of our range now uses recycled or bio-based materials {e}",
        "Leave no trace: {n} simple habits for your next trip {e}",
        "!Trade in your old gear, get store credit and give it a second life {e}",
        "!Every order now ships plastic-free {e}",
        "!1% of every sale goes to trail restoration. This year: {km} km of paths repaired {e}",
    ],
}
TRAILHEAD_BF = [
    "!Black Friday is coming. Sign up for early access {e}",
    "Black Friday preview: up to {off}% off the {product} {e}",
    "!Our Black Friday promise: 10% of sales go to trail restoration {e}",
    "Countdown: {bf_days} days to Black Friday {e}",
    "!Black Friday early access starts Monday for members {e}",
    "Wishlist season: save your favourites before Black Friday {e}",
    "Black Friday deals on the {product} drop at midnight {e}",
]
TRAILHEAD_LINKEDIN = {
    "Gear": [
        "Behind the design of the {product}: a conversation with our head of product.",
        "How we cut the weight of the {product} by {off}% without losing durability.",
        "!Our {product} has been shortlisted for the European Outdoor Design Awards.",
        "!Why every Trailhead product now ships with a repair guide and spare parts for life.",
        "From prototype to shelf in 14 months: the making of the {product}.",
        "!Lab testing vs. field testing: how we validate our waterproofing claims.",
    ],
    "Adventures": [
        "What {n} weeks of field testing in {region} taught our product team.",
        "!Our team spent a week in {region} testing next season's range. Here is what we learned.",
        "!Why every employee gets two paid adventure days a year.",
        "!Leadership lessons from a winter traverse of {region}.",
        "!Season recap from our athletes: {n} expeditions, zero gear failures.",
    ],
    "Community": [
        "Join our {city} headquarters as our new {role}: applications are open.",
        "!Welcome to the {n} new team members who joined Trailhead Outfitters this quarter.",
        "!Our ambassador program is open for 2027 applications.",
        "!Thank you to the {n}00 volunteers who joined our trail clean-ups this autumn.",
        "Retail matters: our {city} store team on building a local outdoor community.",
    ],
    "Sustainability": [
        "!Our 2026 impact report is out: {pct}% recycled materials and {n},000 items repaired.",
        "!Proud to partner with Mountain Wilderness to restore {km} km of alpine trails.",
        "!Why we will not discount our repair service this Black Friday.",
        "!Trailhead Outfitters is now a certified B Corp. Here is what it took.",
        "!Our take-back program collected {n} tonnes of used gear this year.",
        "!Scope 3 is where the carbon is: how we work with our suppliers to cut it.",
    ],
}
T_LI_TAGS = {
    "Gear": ["#productdesign", "#outdoorindustry", "#innovation"],
    "Adventures": ["#outdoorindustry", "#teamculture", "#fieldtesting"],
    "Community": ["#hiring", "#teamculture", "#community"],
    "Sustainability": ["#sustainability", "#circulareconomy", "#BCorp"],
}
T_LI_ROLES = ["senior product designer", "e-commerce manager", "supply chain analyst",
              "retail operations lead"]


def _fill(template: str, rng: random.Random, brand: Brand, emoji: list[str], day: date) -> str:
    person = rng.choice(M_PEOPLE if brand is MAISON else T_PEOPLE)
    values = {
        "e": rng.choice(emoji),
        "n": rng.randint(3, 9),
        "pct": rng.choice([40, 55, 62, 70, 85]),
        "off": rng.choice([15, 20, 25, 30]),
        "index": rng.randint(88, 96),
        "bf_days": (date(2026, 11, 27) - day).days,
        "years": rng.randint(3, 12),
        "hours": rng.choice([24, 36, 48, 72]),
        "minutes": rng.choice([10, 15, 20, 30]),
        "name": person[0],
        "role": person[1],
    }
    if brand is MAISON:
        pastry, pastry2 = rng.sample(M_PASTRIES, 2)
        values.update(
            pastry=pastry, pastry2=pastry2, base=rng.choice(M_BASES), flavour=rng.choice(M_FLAVOURS),
            shop=rng.choice(M_SHOPS), ingredient=rng.choice(M_INGREDIENTS),
            recipe=rng.choice(M_RECIPES), leftover=rng.choice(M_LEFTOVERS),
            workshop=rng.choice(M_WORKSHOPS), city=rng.choice(M_CITIES),
        )
    else:
        values.update(
            product=rng.choice(T_PRODUCTS), place=rng.choice(T_PLACES),
            colour=rng.choice(T_COLOURS), weight=rng.randrange(380, 2400, 10),
            days=(days := rng.randint(3, 9)), trek_km=days * rng.randint(12, 22),
            km=rng.randint(12, 140), loop_km=rng.randint(8, 28), elev=rng.randrange(600, 2400, 50),
            trek=rng.choice(T_TREKS), region=rng.choice(T_REGIONS),
            city=rng.choice(T_CITIES), event=rng.choice(T_EVENTS), topic=rng.choice(T_TOPICS),
            user=rng.choice(T_USERS),
        )
        if "{role}" in template and "applications" in template:
            values["role"] = rng.choice(T_LI_ROLES)
    return template.format(**values)


def _template(rng: random.Random, pool: list[str], used: set[str]) -> str:
    """A template this account has not used yet while the pool lasts (less repetition).

    Templates starting with "!" are one-offs (an announcement, a fact) never used twice.
    """
    fresh = [t for t in pool if "\0" + t not in used]
    reusable = [t for t in pool if not t.startswith("!")]
    template = rng.choice(fresh or reusable or pool)
    used.add("\0" + template)
    return template.removeprefix("!")


def make_caption(rng: random.Random, acc: Account, day: date, pillar: str, campaign: str,
                 used: set[str]) -> str:
    brand = acc.brand
    for _ in range(30):
        if acc.platform == "linkedin":
            pool = (MAISON_LINKEDIN if brand is MAISON else TRAILHEAD_LINKEDIN)[pillar]
            text = _fill(_template(rng, pool, used), rng, brand, M_EMOJI if brand is MAISON else T_EMOJI, day)
            if rng.random() < 0.6:
                tags = rng.sample((M_LI_TAGS if brand is MAISON else T_LI_TAGS)[pillar], rng.randint(1, 2))
                text += " " + " ".join(tags)
        else:
            if brand is MAISON:
                pool = MAISON_XMAS if campaign else MAISON_CAPTIONS[pillar]
                emoji = M_XMAS_EMOJI if campaign else M_EMOJI
                own, tags = "#maisonlumiere", M_TAGS + (["#noel", "#buchedenoel"] if campaign else [])
            else:
                pool = TRAILHEAD_BF if campaign else TRAILHEAD_CAPTIONS[pillar]
                emoji, own = T_EMOJI, "#trailheadoutfitters"
                tags = T_TAGS + (["#blackfriday"] if campaign else [])
            text = _fill(_template(rng, pool, used), rng, brand, emoji, day)
            if acc.platform == "instagram":
                text += " " + " ".join([own] + rng.sample(tags, rng.randint(2, 4)))
            else:  # no link in bio, no saves on Facebook
                for ig_only, fb in ((" Link in bio", ""), (" Enregistrez ce post !", ""),
                                    ("inscription via le lien en bio", "inscription sur notre site")):
                    text = text.replace(ig_only, fb)
                if rng.random() < 0.4:
                    text += " " + own
        if text not in used:
            break
    used.add(text)
    return text


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


@dataclass
class Post:
    account: Account
    local: datetime  # aware, Europe/Paris
    ptype: PostType
    pillar: str
    campaign: str
    text: str = ""
    post_id: str = ""
    permalink: str = ""
    reach: int = 0  # impressions on LinkedIn
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    clicks: int = 0
    viral: bool = False


def weighted(rng: random.Random, pairs) -> object:
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


def week_start(w: int) -> date:
    return SNAPSHOT_START + timedelta(weeks=w)


def post_counts(rng: random.Random, acc: Account) -> list[int]:
    lo, hi = acc.posts_per_week
    n = (lo + hi + 1) // 2
    counts = []
    for _ in range(N_WEEKS):
        counts.append(n)
        n = min(hi, max(lo, n + rng.choice((-1, 0, 0, 1))))
    if (acc.platform, acc.handle) == REACH_SPIKE:
        counts[LAST_WEEK - 1] = counts[LAST_WEEK] = 3
    if (acc.platform, acc.handle) == ERR_DROP:
        counts[LAST_WEEK] = counts[LAST_WEEK - 1]
    return counts


def campaign_probability(acc: Account, day: date) -> float:
    if acc.platform == "linkedin":
        return 0.0  # LinkedIn's export has no campaign column
    if acc.brand is MAISON:
        if day >= date(2026, 11, 16):
            return 0.6
        return 0.35 if day >= date(2026, 11, 1) else 0.0
    if day >= date(2026, 11, 16):
        return 0.75  # the salesy week whose engagement falls
    return 0.3 if day >= date(2026, 11, 9) else 0.0


def make_posts(rng: random.Random, acc: Account, w: int, count: int, used: set[str],
               deck: list[str]) -> list[Post]:
    start = week_start(w)
    weekdays = range(5) if acc.platform == "linkedin" else range(7)
    days = sorted(rng.sample(list(weekdays), count))
    hours = LINKEDIN_HOURS if acc.platform == "linkedin" else acc.brand.hours
    types = PLATFORM_TYPES[acc.platform]
    posts = []
    for i, offset in enumerate(days):
        day = start + timedelta(days=offset)
        hour = weighted(rng, hours)
        minute = rng.choice((0, 15, 30, 45)) if rng.random() < 0.6 else rng.randint(0, 59)
        local = datetime.combine(day, time(hour, minute), TZ)
        ptype = weighted(rng, [(t, t.weight) for t in types])
        campaign = acc.brand.campaign if rng.random() < campaign_probability(acc, day) else ""
        if campaign:
            choices = ("Produits", "Événements") if acc.brand is MAISON else ("Gear", "Community")
            pillar = rng.choice(choices)
        else:  # editorial calendars balance pillars: deal them from a shuffled deck
            if not deck:
                weights = acc.brand.linkedin_pillars if acc.platform == "linkedin" else acc.brand.pillars
                deck.extend(p for p, weight in weights for _ in range(weight))
                rng.shuffle(deck)
            pillar = deck.pop()
        post = Post(acc, local, ptype, pillar, campaign)
        if (acc.platform, acc.handle) == REACH_SPIKE and w == LAST_WEEK and i == 1:
            post.ptype, post.pillar, post.campaign = TYPES_BY_LABEL["Video"], "Recettes", MAISON.campaign
            post.viral, post.text = True, VIRAL_CAPTION
            used.add(VIRAL_CAPTION)
        else:
            post.text = make_caption(rng, acc, day, post.pillar, post.campaign, used)
        posts.append(post)
    return posts


def simulate_followers(rng: random.Random, acc: Account, posts: list[Post]) -> dict[date, int]:
    """Followers at the end of each day: +0.15-0.40 %/week, more on posting days.

    Each week's gain is fixed first, then spread over its days with some day-to-day noise
    (a few unfollows now and then) that cancels out over the week.
    """
    post_days = {p.local.date() for p in posts}
    viral_days = {p.local.date() for p in posts if p.viral}
    followers, series = acc.followers, {}
    for w in range(N_WEEKS):
        growth = rng.uniform(0.0015, 0.0040)
        if (acc.platform, acc.handle) == REACH_SPIKE and w == LAST_WEEK:
            growth = 0.0045
        if (acc.platform, acc.handle) == ERR_DROP and w == LAST_WEEK:
            growth = 0.0012
        days = [week_start(w) + timedelta(days=i) for i in range(7)]
        weights = [rng.lognormvariate(0, 0.4) * (1.6 if d in post_days else 1.0)
                   * (4.0 if d in viral_days else 1.0) for d in days]
        deltas = allocate(round(followers * growth), weights)
        for _ in range(3):  # move a few followers between days; a day may go negative (>= -3)
            a, b = rng.sample(range(7), 2)
            k = min(rng.randint(1, 3), deltas[a] + 3)
            deltas[a] -= k
            deltas[b] += k
        for d, delta in zip(days, deltas):
            followers += delta
            series[d] = followers
    return series


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split an integer total proportionally to weights (largest remainder, exact sum)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def simulate_metrics(rng: random.Random, acc: Account, weeks: list[list[Post]],
                     followers: dict[date, int]) -> None:
    key = (acc.platform, acc.handle)
    prev_reach = None
    err = acc.base_err * rng.uniform(0.96, 1.04)
    for w, posts in enumerate(weeks):
        # Reach (impressions on LinkedIn): a share of followers, by format.
        for p in posts:
            eve = p.local.date() - timedelta(days=1)
            base = followers[eve] if eve >= SNAPSHOT_START else acc.followers
            p.reach = max(1, round(base * rng.uniform(*p.ptype.reach)))
        total = sum(p.reach for p in posts)
        if prev_reach is not None:
            if key == REACH_SPIKE and w == LAST_WEEK:
                # The other posts of the week do as usual; the viral video makes up the rest.
                viral = next(p for p in posts if p.viral)
                others = [p for p in posts if not p.viral]
                scale = prev_reach * rng.uniform(0.60, 0.68) / sum(p.reach for p in others)
                for p in others:
                    p.reach = max(1, round(p.reach * scale))
                target = round(prev_reach * rng.uniform(1.59, 1.61))
                viral.reach = target - sum(p.reach for p in others)
            else:
                if key == ERR_DROP and w == LAST_WEEK:
                    ratio = rng.uniform(0.98, 1.02)  # same reach level, only engagement falls
                else:  # damp week-to-week swings (posting more rarely doubles reach)
                    ratio = (total / prev_reach) ** 0.5 * rng.uniform(0.96, 1.04)
                    ratio = min(1.25, max(0.82, ratio))
                scale = prev_reach * ratio / total
                for p in posts:
                    p.reach = max(1, round(p.reach * scale))
        prev_reach = sum(p.reach for p in posts)

        # Weekly engagement rate: a mean-reverting walk, steps within +-12 %.
        if w > 0:
            if key == ERR_DROP and w == LAST_WEEK:
                err *= rng.uniform(0.545, 0.555)
            else:
                step = rng.uniform(0.93, 1.07) * (acc.base_err / err) ** 0.4
                err *= min(1.12, max(0.88, step))
        engagement = round(err / 100 * prev_reach)
        weights = [p.reach * p.ptype.err * rng.lognormvariate(0, 0.15) * (1.4 if p.viral else 1.0)
                   for p in posts]
        for p, e in zip(posts, allocate(engagement, weights)):
            split = list(p.ptype.split)
            if p.viral:
                split = [0.62, 0.08, 0.30]
            noisy = [split[0]] + [s * rng.uniform(0.75, 1.25) for s in split[1:]]
            parts = allocate(e, noisy)
            p.likes, p.comments, p.shares = parts[0], parts[1], parts[2]
            p.saves = parts[3] if len(parts) > 3 else 0
            p.views = round(p.reach * rng.uniform(*p.ptype.views))
            if acc.platform == "linkedin":
                rate = (0.03, 0.06) if p.ptype.label == "Lien" else (0.008, 0.025)
                p.clicks = round(p.reach * rng.uniform(*rate))
            elif p.ptype.label == "Link":
                p.clicks = round(p.reach * rng.uniform(0.012, 0.035))


def assign_ids(rng: random.Random, acc: Account, posts: list[Post]) -> None:
    page_id = str(rng.randint(100_000_000_000_000, 999_999_999_999_999))
    alphabet = string.ascii_letters + string.digits + "_-"
    for p in posts:
        if acc.platform == "instagram":
            p.post_id = str(rng.randint(17_841_000_000_000_000, 18_069_999_999_999_999))
            code = "D" + "".join(rng.choice(alphabet) for _ in range(10))
            p.permalink = f"https://www.instagram.com/p/{code}/"
        elif acc.platform == "facebook":
            story = str(rng.randint(100_000_000_000_000, 999_999_999_999_999))
            p.post_id = f"{page_id}_{story}"
            p.permalink = f"https://www.facebook.com/{acc.handle}/posts/{story}"
        else:  # LinkedIn activity ids are snowflakes: epoch milliseconds << 22 | 22 random bits
            ms = int(p.local.astimezone(timezone.utc).timestamp() * 1000)
            p.post_id = str((ms << 22) | rng.getrandbits(22))
            p.permalink = f"https://www.linkedin.com/feed/update/urn:li:activity:{p.post_id}/"


def simulate_snapshots(rng: random.Random, acc: Account, posts: list[Post],
                       followers: dict[date, int]) -> list[dict]:
    key = (acc.platform, acc.handle)
    n_days = (END - SNAPSHOT_START).days + 1
    days = [SNAPSHOT_START + timedelta(days=i) for i in range(n_days)]
    post_reach = {d: 0 for d in days}
    for p in posts:
        post_reach[p.local.date()] += p.reach
    # Posts before the window (not simulated): assume week 0's average daily post reach.
    before = sum(post_reach[d] for d in days[:7]) / 7
    org_rate, view_rate, click_rate = SNAPSHOT_RATES[acc.platform]
    reach = []
    for i, d in enumerate(days):
        carried = sum(share * (post_reach[days[i - k]] if i - k >= 0 else before)
                      for k, share in enumerate(REACH_DECAY))
        organic = followers[d] * rng.uniform(*org_rate)
        if acc.platform == "linkedin" and d.weekday() >= 5:
            organic *= 0.4
        reach.append(organic + carried)
    # Keep weekly account reach steady (+-18 %), except for the injected signals.
    for w in range(1, N_WEEKS):
        prev = sum(reach[(w - 1) * 7 : w * 7])
        cur = sum(reach[w * 7 : (w + 1) * 7])
        if key == REACH_SPIKE and w == LAST_WEEK:
            ratio = rng.uniform(1.58, 1.62)
        elif key == ERR_DROP and w == LAST_WEEK:
            ratio = rng.uniform(0.98, 1.02)
        else:
            ratio = min(1.18, max(0.85, (cur / prev) ** 0.6 * rng.uniform(0.97, 1.03)))
        scale = prev * ratio / cur
        for i in range(w * 7, (w + 1) * 7):
            reach[i] *= scale
    out = []
    for d, r in zip(days, reach):
        r = round(r)
        views = round(r * rng.uniform(*view_rate))
        out.append({
            "date": d.isoformat(),
            "platform": acc.platform,
            "account": acc.handle,
            "followers": followers[d],
            "reach": r,
            "profile_views": views,
            "website_clicks": round(views * rng.uniform(*click_rate)),
        })
    return out


def place_hostile_captions(posts_by_account: dict[tuple[str, str], list[Post]]) -> None:
    def first(key, pillar, min_day):
        return next(p for p in posts_by_account[key]
                    if p.pillar == pillar and not p.campaign and p.local.date() >= min_day)

    first(("instagram", "maisonlumiere"), "Événements", date(2026, 10, 5)).text = SCRIPT_CAPTION
    first(("facebook", "trailheadoutfitters"), "Community", date(2026, 9, 28)).text = FORMULA_CAPTION
    first(("instagram", "maisonlumiere"), "Produits", date(2026, 9, 21)).text = QUOTE_CAPTION


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def fr_int(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def write_meta(path: Path, posts: list[Post]) -> int:
    rows = sorted((p for p in posts if p.account.platform in ("instagram", "facebook")),
                  key=lambda p: (p.local, p.account.brand.name, p.account.platform))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(META_HEADER)
        for p in rows:
            ig = p.account.platform == "instagram"
            writer.writerow([
                p.post_id, p.account.brand.name, p.account.handle, "Instagram" if ig else "Facebook",
                p.local.strftime("%m/%d/%Y %H:%M"), p.ptype.label, p.text, p.permalink,
                p.reach, p.views, p.likes, p.comments, p.shares,
                p.saves if ig else "",
                p.clicks if p.ptype.label == "Link" else "",
                p.pillar, p.campaign,
            ])
    return len(rows)


def write_linkedin(path: Path, posts: list[Post]) -> int:
    rows = sorted((p for p in posts if p.account.platform == "linkedin"),
                  key=lambda p: (p.local, p.account.handle), reverse=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\n")
        writer.writerow(LINKEDIN_HEADER)
        for p in rows:
            rate = (p.clicks + p.likes + p.comments + p.shares) / p.reach * 100
            writer.writerow([
                p.account.handle, p.local.strftime("%d/%m/%Y %H:%M"), p.text, p.permalink,
                p.ptype.label, fr_int(p.reach), fr_int(p.clicks), p.likes, p.comments, p.shares,
                f"{rate:.2f}".replace(".", ",") + " %", p.pillar,
            ])
    return len(rows)


def write_snapshots(path: Path, snapshots: list[dict]) -> int:
    snapshots = sorted(snapshots, key=lambda s: (s["date"], s["platform"], s["account"]))
    with path.open("w", encoding="utf-8", newline="\n") as f:
        json.dump(snapshots, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return len(snapshots)


# --------------------------------------------------------------------------------------------
# The same posts and figures as the platforms export them (exports/<brand>/...)
# --------------------------------------------------------------------------------------------
#
# A community manager does not receive one merged CSV: each platform's analytics page gives its
# own file, one per page or account. The files below hold the posts and daily figures simulated
# above, written in the shapes docs/exports.md describes, so the demo reads them with the `export`
# source. Figures these exports have and the merged files do not (Facebook's clicks on photos,
# LinkedIn's daily page activity, TikTok, YouTube and X) come from random generators of their
# own (seeded "<SEED>/exports/..."), so the merged files above stay byte for byte as they were.

EXPORTS_DIR = OUT_DIR / "exports"
BOM = "\ufeff"
EXPORT_START, EXPORT_END = POSTS_START, END  # every export's date range

FACEBOOK_HEADER = [
    "Post ID", "Page ID", "Page name", "Title", "Description", "Duration (sec)", "Publish time", "Caption type",
    "Permalink", "Is crosspost", "Is share", "Post type", "Languages", "Custom labels", "Funded content status",
    "Data comment", "Date", "Views", "Reach", "Reactions, Comments and Shares", "Reactions", "Comments", "Shares",
    "Total clicks", "Matched Audience Targeting Consumption (Photo Click)", "Other Clicks", "Link Clicks",
    "Matched Audience Targeting Consumption (Video Click)", "Negative feedback from users: Hide all",
    "Seconds viewed", "Average Seconds viewed", "Estimated earnings (USD)", "Ad CPM (USD)", "Ad impressions"]
FACEBOOK_TYPES = {"Photo": "Photos", "Video": "Videos", "Link": "Links", "Text": "Status"}
INSTAGRAM_HEADER = ["Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)",
                    "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes",
                    "Shares", "Follows", "Comments", "Saves"]
LINKEDIN_NOTICE = ("All posts data for the selected date range. Impressions and engagement are counted for "
                   "organic and sponsored content.")
LINKEDIN_POSTS_HEADER = [
    "Post title", "Post link", "Post type", "Campaign name", "Posted by", "Created date", "Campaign start date",
    "Campaign end date", "Audience", "Impressions", "Views (excluding off-site video views)", "Off-site views",
    "Clicks", "Click through rate (CTR)", "Likes", "Comments", "Reposts", "Follows", "Engagement rate",
    "Content Type"]
LINKEDIN_TYPES = {"Image": "Image", "Carrousel": "Document", "Vidéo": "Video", "Texte": "Text", "Lien": "Article"}
LINKEDIN_METRICS_NOTICE = "Aggregated metrics for the selected date range."
LINKEDIN_METRICS_HEADER = [
    "Date", "Impressions (organic)", "Impressions (sponsored)", "Impressions (total)",
    "Unique impressions (organic)", "Clicks (organic)", "Clicks (sponsored)", "Clicks (total)",
    "Reactions (organic)", "Reactions (sponsored)", "Reactions (total)", "Comments (organic)",
    "Comments (sponsored)", "Comments (total)", "Reposts (organic)", "Reposts (sponsored)", "Reposts (total)",
    "Engagement rate (organic)", "Engagement rate (sponsored)", "Engagement rate (total)"]
LINKEDIN_FOLLOWERS_HEADER = ["Date", "Sponsored followers", "Organic followers", "Auto-invited followers",
                             "Total followers"]
TIKTOK_OVERVIEW_HEADER = ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares", "New followers"]
TIKTOK_FOLLOWERS_HEADER = ["Date", "Followers", "Difference in followers from previous day"]
YOUTUBE_HEADER = ["Content", "Video title", "Video publish time", "Duration", "Views", "Watch time (hours)",
                  "Subscribers", "Impressions", "Impressions click-through rate (%)", "Likes", "Comments added",
                  "Shares"]
X_HEADER = ["Post id", "Date", "Post text", "Post Link", "Impressions", "Likes", "Engagements", "Bookmarks",
            "Shares", "New follows", "Replies", "Reposts", "Profile visits", "Detail Expands", "URL Clicks",
            "Hashtag Clicks", "Permalink Clicks"]


EXPORT_ACCOUNT_NAMES = {("facebook", a.handle): a.brand.name for a in ACCOUNTS if a.platform == "facebook"}
"""Meta's Facebook export names a page by its name (`Page name`), not its handle: the demo's
follower counts (follower_counts.json) name the Facebook pages so, to go with the exports."""


@dataclass(frozen=True)
class BrandChannels:
    """A brand's folder of exports and its accounts on the platforms only the exports show."""

    brand: Brand
    folder: str
    tiktok: str  # handle; TikTok Studio's files do not name it
    tiktok_followers: int  # on the evening before SNAPSHOT_START
    youtube: str  # channel handle; YouTube Studio's files do not name it
    youtube_videos: tuple[int, int]  # videos per week
    x: str  # handle, in the posts' links
    x_posts: tuple[int, int]  # posts per week


CHANNELS = (
    BrandChannels(MAISON, "maison-lumiere", "maisonlumiere.paris", 8_240, "MaisonLumiereParis", (0, 1),
                  "maisonlumiere_fr", (2, 4)),
    BrandChannels(TRAILHEAD, "trailhead-outfitters", "trailhead.gear", 23_400, "TrailheadOutfittersTV", (1, 2),
                  "trailhead_hq", (3, 5)),
)
TIKTOK_FILES = (  # TikTok Studio caps a custom range at about 60 days: two downloads, overlapping
    (date(2026, 9, 14), date(2026, 11, 1)),
    (date(2026, 10, 24), date(2026, 11, 22)),
)
TIKTOK_FOLLOWERS_FROM = date(2026, 9, 24)  # the follower history's 60 days
X_TEXTS = {
    MAISON: ["Nos {n} boutiques ouvrent à 7h demain : croissants chauds pour tout le monde 🥐",
             "La recette de nos sablés bretons, pas à pas (fil) 🧵",
             "Question du jour : croissant nature ou pain au chocolat ? ☕",
             "Précommandes de bûches ouvertes : retrait en boutique du 20 au 24 décembre 🎄",
             "Merci pour vos {n}00 messages cette semaine ✨",
             "Atelier viennoiseries samedi à Lyon : il reste {n} places",
             "Notre farine vient d'un moulin à {n}0 km de Paris. Rencontre avec le meunier 🌾"],
    TRAILHEAD: ["Trail report: {n} inches of fresh snow up high. Pack your microspikes ❄️",
                "Our repair team fixed {n}00 jackets this year. Repair beats replace ♻️",
                "Which trail should we test next? Reply with your favourite 🥾",
                "Black Friday early access is live for members: link below",
                "Thread: {n} things we learned field-testing next season's shell 🧵",
                "Store event in Denver on Saturday: {n} local guides, free coffee ⛺",
                "1% of every sale goes to trail restoration. This year: {n}0 km repaired 🌲"],
}
YOUTUBE_TITLES = {
    MAISON: ["Le croissant parfait, étape par étape", "Une nuit au fournil de Maison Lumière",
             "Bûche de Noël praliné noisette : la recette", "Pain au levain : nourrir son levain",
             "Les secrets du kouign-amann", "3 desserts d'automne avec des pommes"],
    TRAILHEAD: ["Ridgeline 2 tent: 30-second pitch test", "How to layer for winter hiking",
                "Gear repair 101: fixing a torn down jacket", "A week on the Tour du Mont Blanc",
                "Waterproofing tested: lab vs. field", "Packing list: 3-day fall backpacking trip",
                "Black Friday 2026: what is worth buying", "Meet our repair team in Denver",
                "Trail restoration day with our community", "Winter camping: staying warm at -10°C"],
}
ID_ALPHABET = string.ascii_letters + string.digits + "_-"


def meta_field(value: object) -> str:
    """Meta's quoting: a value with a space, comma, quote or line break is quoted; others are not."""
    text = str(value)
    if any(c in text for c in ' ,"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def meta_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    lines = [",".join(meta_field(v) for v in row) for row in [header, *rows]]
    path.write_bytes((BOM + "\n".join(lines) + "\n").encode())


def tiktok_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """TikTok Studio's shape: a byte-order mark, every field quoted, no final newline."""
    lines = [",".join('"' + str(v) + '"' for v in row) for row in [header, *rows]]
    path.write_bytes((BOM + "\n".join(lines)).encode())


def plain_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """YouTube Studio's and X's shape: minimal quoting, no byte-order mark."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def export_days(start: date = EXPORT_START, end: date = EXPORT_END) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def save_workbook(book, path: Path) -> None:
    """Save as Excel would, but byte for byte the same at every run: openpyxl stamps the file's
    properties and its zip entries with the current time; both are set to the data's last day."""
    import io
    import re
    import zipfile

    buffer = io.BytesIO()
    book.save(buffer)
    stamp = f"{END.isoformat()}T00:00:00Z"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(END.year, END.month, END.day, 0, 0, 0)),
                            data, zipfile.ZIP_DEFLATED)


def write_facebook(path: Path, brand: Brand, posts: list[Post], rng: random.Random) -> int:
    page_id = posts[0].post_id.split("_")[0]
    rows = []
    for p in sorted(posts, key=lambda p: p.local, reverse=True):  # Meta: newest first
        kind = FACEBOOK_TYPES[p.ptype.label]
        video = kind == "Videos"
        title, description = (VIDEO_TITLE, p.text) if video else (p.text, "")
        other = round(p.reach * rng.uniform(0.004, 0.015))  # photo opens, "see more" ...
        link_clicks = p.clicks if kind == "Links" else ""
        total_clicks = p.clicks + other
        rows.append([p.post_id, page_id, brand.name, title, description, rng.randint(15, 75) if video else "",
                     p.local.strftime("%m/%d/%Y %H:%M"), "", p.permalink, "No", "No", kind, "", "", "", "",
                     "Lifetime", p.views, p.reach, p.likes + p.comments + p.shares, p.likes, p.comments, p.shares,
                     total_clicks, "", other, link_clicks, "", rng.randint(0, 3), "", "", "", "", ""])
    meta_csv(path, FACEBOOK_HEADER, rows)
    return len(rows)


VIDEO_TITLE = "Vidéo"


def write_instagram(path: Path, brand: Brand, posts: list[Post], rng: random.Random) -> int:
    account_id = str(rng.randint(17_841_400_000_000_000, 17_841_499_999_999_999))
    rows = []
    for p in sorted(posts, key=lambda p: p.local, reverse=True):
        reel = p.ptype.label == "IG reel"
        rows.append([p.post_id, account_id, p.account.handle, brand.name, p.text,
                     rng.randint(12, 60) if reel else 0, p.local.strftime("%m/%d/%Y %H:%M"), p.permalink,
                     p.ptype.label, "", "Lifetime", p.views, p.reach, p.likes, p.shares,
                     round(p.reach * rng.uniform(0.0005, 0.002)), p.comments, p.saves])
    meta_csv(path, INSTAGRAM_HEADER, rows)
    return len(rows)


def spread(value: int, day: date, days: dict[date, list[float]], index: int) -> None:
    """Add a post's counter to the days after its publication, as REACH_DECAY shares it out."""
    for k, share in enumerate(REACH_DECAY):
        d = day + timedelta(days=k)
        if d in days:
            days[d][index] += value * share


def write_linkedin_content(path: Path, posts: list[Post], followers: dict[date, int], rng: random.Random) -> int:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "All posts"
    sheet.append([LINKEDIN_NOTICE])
    sheet.append(LINKEDIN_POSTS_HEADER)
    for p in sorted(posts, key=lambda p: p.local, reverse=True):
        engagement = p.clicks + p.likes + p.comments + p.shares
        sheet.append([p.text, p.permalink, "Organic", "", "", p.local.strftime("%m/%d/%Y"), "", "",
                      "All followers", p.reach, "", "", p.clicks, round(p.clicks / p.reach, 4), p.likes, p.comments,
                      p.shares, rng.randint(0, 4), round(engagement / p.reach, 4),
                      LINKEDIN_TYPES[p.ptype.label]])
    # Daily page activity: each post's counters spread over the days after it, and the page's own
    # (older posts, the page itself) on top.
    days = {d: [0.0] * 5 for d in export_days()}  # impressions, clicks, reactions, comments, reposts
    for p in posts:
        for i, value in enumerate((p.reach, p.clicks, p.likes, p.comments, p.shares)):
            spread(value, p.local.date(), days, i)
    metrics = book.create_sheet("Metrics", 0)
    metrics.append([LINKEDIN_METRICS_NOTICE])
    metrics.append(LINKEDIN_METRICS_HEADER)
    for d, (imp, clk, rea, com, rep) in days.items():
        base = followers[d] * rng.uniform(0.02, 0.04) * (0.4 if d.weekday() >= 5 else 1.0)
        imp, clk = round(imp + base), round(clk + base * 0.01)
        rea, com, rep = round(rea + base * 0.02), round(com), round(rep)
        rate = round((clk + rea + com + rep) / imp, 4) if imp else 0
        metrics.append([d.strftime("%m/%d/%Y"), imp, 0, imp, round(imp * rng.uniform(0.6, 0.75)), clk, 0, clk,
                        rea, 0, rea, com, 0, com, rep, 0, rep, rate, 0, rate])
    save_workbook(book, path)
    return len(posts)


def gains(followers: dict[date, int], rng: random.Random) -> dict[date, int]:
    """New followers each day: the day's net change plus the few who left (never below 0)."""
    out = {}
    for d in export_days():
        net = followers[d] - followers[d - timedelta(days=1)]
        lost = max(rng.randint(0, 3), -net)
        out[d] = net + lost
    return out


def write_linkedin_followers(path: Path, followers: dict[date, int], rng: random.Random) -> int:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "New followers"
    sheet.append(LINKEDIN_FOLLOWERS_HEADER)
    gained = gains(followers, rng)
    for d, total in gained.items():
        invited = min(total, rng.choice((0, 0, 0, 1)))
        sheet.append([d.strftime("%m/%d/%Y"), 0, total - invited, invited, total])
    for name, rows in (("Location", [("Paris, France", 0.42), ("Lyon, France", 0.18), ("Bordeaux, France", 0.09)]),
                       ("Job function", [("Marketing", 0.21), ("Sales", 0.12), ("Operations", 0.10)])):
        demographic = book.create_sheet(name)
        demographic.append([name, "Total followers"])
        for label, share in rows:
            demographic.append([label, round(followers[EXPORT_END] * share)])
    save_workbook(book, path)
    return len(gained)


def tiktok_followers(rng: random.Random, start: int) -> dict[date, int]:
    followers, series = start, {}
    for d in export_days(SNAPSHOT_START, END):
        followers += round(followers * rng.uniform(0.0008, 0.006)) - rng.randint(0, 6)
        series[d] = followers
    return series


def write_tiktok(folder: Path, channels: BrandChannels, rng: random.Random) -> int:
    followers = tiktok_followers(rng, channels.tiktok_followers)
    gained = gains(followers, rng)
    days = {}
    for d in export_days():
        views = round(followers[d] * rng.uniform(0.18, 0.42) * (1.3 if d.weekday() >= 5 else 1.0))
        days[d] = [views, round(views * rng.uniform(0.010, 0.022)), round(views * rng.uniform(0.05, 0.09)),
                   round(views * rng.uniform(0.002, 0.006)), round(views * rng.uniform(0.003, 0.009)), gained[d]]
    for start, end in TIKTOK_FILES:
        # A later download has grown the counters of its first days a little (late views).
        late = 1.0 if end == EXPORT_END else None
        rows = []
        for d in export_days(start, end):
            figures = days[d] if late else [round(v * 0.97) for v in days[d][:5]] + [days[d][5]]
            rows.append([d.strftime("%B %-d"), *figures])
        tiktok_csv(folder / f"overview {start:%Y-%m-%d} to {end:%Y-%m-%d}.csv", TIKTOK_OVERVIEW_HEADER, rows)
    rows = [[d.strftime("%B %-d"), followers[d], followers[d] - followers[d - timedelta(days=1)]]
            for d in export_days(TIKTOK_FOLLOWERS_FROM)]
    tiktok_csv(folder / "follower history.csv", TIKTOK_FOLLOWERS_HEADER, rows)
    return len(days)


def weekly_days(rng: random.Random, per_week: tuple[int, int], weekdays: int = 7) -> list[date]:
    out = []
    for w in range((EXPORT_END - EXPORT_START).days // 7 + 1):
        n = rng.randint(*per_week)
        out += [EXPORT_START + timedelta(weeks=w, days=k) for k in sorted(rng.sample(range(weekdays), n))]
    return [d for d in out if d <= EXPORT_END]


def youtube_download(channels: BrandChannels) -> str:
    """The folder YouTube Studio downloads the table in: its name gives the export's range (the
    counters' range: a table without it blanks nothing but is taken as it is, with a warning)."""
    return f"Content {EXPORT_START}_{EXPORT_END} {channels.youtube}"


def write_youtube(path: Path, channels: BrandChannels, rng: random.Random) -> int:
    titles = iter(YOUTUBE_TITLES[channels.brand] * 3)
    rows = []
    for d in weekly_days(rng, channels.youtube_videos):
        age = (EXPORT_END - d).days + 1  # counters over the export's range: from publication on
        views = round(rng.uniform(400, 1400) * (1 + min(age, 28) / 10) * (1.8 if channels.brand is TRAILHEAD else 1))
        impressions = round(views / rng.uniform(0.04, 0.08))
        duration = rng.randint(45, 900)
        video_id = "".join(rng.choice(ID_ALPHABET) for _ in range(11))
        rows.append([video_id, next(titles), f"{d:%b} {d.day}, {d.year}", duration, views,
                     round(views * duration * rng.uniform(0.3, 0.55) / 3600, 4), round(views * rng.uniform(0.002, 0.01)),
                     impressions, round(views / impressions * 100, 2), round(views * rng.uniform(0.03, 0.06)),
                     round(views * rng.uniform(0.002, 0.008)), round(views * rng.uniform(0.001, 0.004))])
    rows.sort(key=lambda r: r[4], reverse=True)  # Studio sorts the table by views
    total = ["Total", "", "", ""] + [round(sum(r[i] for r in rows), 4) if i == 5 else sum(r[i] for r in rows)
                                     for i in range(4, len(YOUTUBE_HEADER))]
    total[8] = round(total[4] / total[7] * 100, 2)
    plain_csv(path, YOUTUBE_HEADER, [total, *rows])
    return len(rows)


def write_x(path: Path, channels: BrandChannels, rng: random.Random) -> int:
    rows = []
    for d in weekly_days(rng, channels.x_posts):
        ms = int(datetime.combine(d, time(rng.randint(8, 20), rng.randint(0, 59)), TZ).timestamp() * 1000)
        post_id = str((ms - 1_288_834_974_657) << 22 | rng.getrandbits(22))
        impressions = rng.randint(600, 3200) * (2 if channels.brand is TRAILHEAD else 1)
        likes, replies = round(impressions * rng.uniform(0.008, 0.02)), round(impressions * rng.uniform(0.001, 0.004))
        reposts, bookmarks = round(impressions * rng.uniform(0.001, 0.005)), round(impressions * rng.uniform(0, 0.002))
        shares, follows = rng.randint(0, 3), rng.randint(0, 4)
        profile, expands = round(impressions * rng.uniform(0.002, 0.006)), round(impressions * rng.uniform(0.005, 0.012))
        url_clicks, hashtag = round(impressions * rng.uniform(0, 0.01)), rng.randint(0, 3)
        permalink = rng.randint(0, 5)
        engagements = (likes + replies + reposts + bookmarks + shares + follows + profile + expands + url_clicks
                       + hashtag + permalink)
        text = rng.choice(X_TEXTS[channels.brand]).format(n=rng.randint(2, 9))
        rows.append([post_id, f"{d:%a, %b} {d.day}, {d.year}", text, f"https://x.com/{channels.x}/status/{post_id}",
                     impressions, likes, engagements, bookmarks, shares, follows, replies, reposts, profile, expands,
                     url_clicks, hashtag, permalink])
    rows.reverse()  # newest first
    plain_csv(path, X_HEADER, rows)
    return len(rows)


def write_exports(by_account: dict[tuple[str, str], list[Post]],
                  followers: dict[tuple[str, str], dict[date, int]]) -> dict[str, int]:
    """Every brand's exports, from the same posts and follower counts as the merged files."""
    counts = {}
    for channels in CHANNELS:
        brand = channels.brand
        folder = EXPORTS_DIR / channels.folder
        for sub in ("linkedin", "tiktok", "youtube", "x"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        [facebook, instagram, linkedin] = [next(a for a in ACCOUNTS if a.brand is brand and a.platform == platform)
                                           for platform in ("facebook", "instagram", "linkedin")]
        rng = random.Random(f"{SEED}/exports/{channels.folder}")
        name = f"exports/{channels.folder}"
        counts[f"{name}/facebook-posts.csv"] = write_facebook(
            folder / "facebook-posts.csv", brand, by_account[("facebook", facebook.handle)], rng)
        counts[f"{name}/instagram-posts.csv"] = write_instagram(
            folder / "instagram-posts.csv", brand, by_account[("instagram", instagram.handle)], rng)
        linkedin_key = ("linkedin", linkedin.handle)
        counts[f"{name}/linkedin/content.xlsx"] = write_linkedin_content(
            folder / "linkedin" / "content.xlsx", by_account[linkedin_key], followers[linkedin_key], rng)
        counts[f"{name}/linkedin/followers.xlsx"] = write_linkedin_followers(
            folder / "linkedin" / "followers.xlsx", followers[linkedin_key], rng)
        counts[f"{name}/tiktok/"] = write_tiktok(folder / "tiktok", channels, rng)
        youtube = f"youtube/{youtube_download(channels)}/Table data.csv"
        (folder / youtube).parent.mkdir(parents=True, exist_ok=True)
        counts[f"{name}/{youtube}"] = write_youtube(folder / youtube, channels, rng)
        x_name = f"account_analytics_content_{EXPORT_START}_{EXPORT_END}.csv"
        counts[f"{name}/x/{x_name}"] = write_x(folder / "x" / x_name, channels, rng)
    return counts


def generate() -> dict[str, int]:
    all_posts: list[Post] = []
    by_account: dict[tuple[str, str], list[Post]] = {}
    snapshots: list[dict] = []
    followers_by_account: dict[tuple[str, str], dict[date, int]] = {}
    for acc in ACCOUNTS:
        rng = random.Random(f"{SEED}/{acc.platform}/{acc.handle}")
        used: set[str] = set()
        counts = post_counts(rng, acc)
        deck: list[str] = []
        weeks = [make_posts(rng, acc, w, counts[w], used, deck) for w in range(N_WEEKS)]
        posts = [p for week in weeks for p in week]
        followers = simulate_followers(rng, acc, posts)
        followers_by_account[(acc.platform, acc.handle)] = followers
        simulate_metrics(rng, acc, weeks, followers)
        assign_ids(rng, acc, posts)
        snapshots += simulate_snapshots(rng, acc, posts, followers)
        exported = [p for p in posts if p.local.date() >= POSTS_START]
        by_account[(acc.platform, acc.handle)] = exported
        all_posts += exported
    place_hostile_captions(by_account)
    for p in all_posts:
        if p.account.platform == "linkedin":
            assert ";" not in p.text and '"' not in p.text, p.text

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "meta_posts.csv": write_meta(OUT_DIR / "meta_posts.csv", all_posts),
        "linkedin_posts.csv": write_linkedin(OUT_DIR / "linkedin_posts.csv", all_posts),
        "account_snapshots.json": write_snapshots(OUT_DIR / "account_snapshots.json", snapshots),
        "follower_counts.json": write_snapshots(OUT_DIR / "follower_counts.json", [
            {**s, "account": EXPORT_ACCOUNT_NAMES.get((s["platform"], s["account"]), s["account"])}
            for s in snapshots]),
        **write_exports(by_account, followers_by_account),
        **write_listening(OUT_DIR),
        **write_production(OUT_DIR),
    }


# --------------------------------------------------------------------------------------------
# Sanity check: read the files back as a consumer would
# --------------------------------------------------------------------------------------------


def _week(d: date) -> int:
    return (d - POSTS_START).days // 7


def check() -> list[str]:
    problems: list[str] = []
    for name in ("meta_posts.csv", "linkedin_posts.csv", "account_snapshots.json"):
        data = (OUT_DIR / name).read_bytes()
        if data.startswith(b"\xef\xbb\xbf"):
            problems.append(f"{name} has a BOM")
        if len(data) >= MAX_BYTES:
            problems.append(f"{name} is {len(data)} bytes")

    # weekly[(platform, account)][week] = [posts, reach, engagement]
    weekly: dict[tuple[str, str], dict[int, list[int]]] = {}
    with (OUT_DIR / "meta_posts.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == META_HEADER, reader.fieldnames
        texts, ids = [], []
        for row in reader:
            day = datetime.strptime(row["Publish time"], "%m/%d/%Y %H:%M").date()
            key = (row["Platform"].lower(), row["Account"])
            acc = weekly.setdefault(key, {}).setdefault(_week(day), [0, 0, 0])
            eng = sum(int(row[c]) for c in ("Likes", "Comments", "Shares"))
            eng += int(row["Saves"]) if row["Saves"] else 0
            acc[0] += 1
            acc[1] += int(row["Reach"])
            acc[2] += eng
            texts.append(row["Description"])
            ids.append(row["Post ID"])
            if (row["Platform"] == "Facebook") != (row["Saves"] == ""):
                problems.append(f"Saves column wrong for {row['Post ID']}")
            if (row["Post type"] == "Link") != (row["Link clicks"] != ""):
                problems.append(f"Link clicks column wrong for {row['Post ID']}")
    with (OUT_DIR / "linkedin_posts.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=";")
        assert reader.fieldnames == LINKEDIN_HEADER, reader.fieldnames
        for row in reader:
            day = datetime.strptime(row["Date de publication"], "%d/%m/%Y %H:%M").date()
            acc = weekly.setdefault(("linkedin", row["Page"]), {}).setdefault(_week(day), [0, 0, 0])
            impressions = int(row["Impressions"].replace(" ", ""))
            clicks = int(row["Clics"].replace(" ", ""))
            eng = sum(int(row[c]) for c in ("Réactions", "Commentaires", "Republications"))
            acc[0] += 1
            acc[1] += impressions
            acc[2] += eng
            texts.append(row["Titre du post"])
            ids.append(row["Lien du post"])
            rate = float(row["Taux d'engagement"].removesuffix(" %").replace(",", "."))
            if abs(rate - (eng + clicks) / impressions * 100) > 0.006:
                problems.append(f"engagement rate mismatch {row['Lien du post']}")
    with (OUT_DIR / "account_snapshots.json").open(encoding="utf-8") as f:
        snaps = json.load(f)

    if sum("<script>alert('x')</script>" in t for t in texts) != 1:
        problems.append("expected exactly one <script> caption")
    if sum(t.startswith('=HYPERLINK("http://evil.example","click")') for t in texts) != 1:
        problems.append("expected exactly one =HYPERLINK caption")
    if sum(bool(t) and t[0] in "=+-@" for t in texts) != 1:
        problems.append("unexpected caption starting with a formula character")
    if not any("," in t and '"' in t and not t.startswith("=") for t in texts):
        problems.append("no caption with a comma and a double quote")
    if sum('"' in t for t in texts) != 2:
        problems.append("expected double quotes in exactly two captions (=HYPERLINK and the quoted one)")
    if len(set(ids)) != len(ids):
        problems.append("duplicate post ids")
    if len(set(texts)) != len(texts):
        problems.append(f"{len(texts) - len(set(texts))} duplicate captions")

    print("Weekly posts / reach (impressions on LinkedIn) / ERR % by reach, change vs previous week")
    print(f"{'account':34} {'week':>10} {'posts':>5} {'reach':>8} {'dReach':>7} {'ERR':>6} {'dERR':>7}")
    for (platform, account), weeks in sorted(weekly.items()):
        prev = None
        for w in range(10):
            n, reach, eng = weeks.get(w, [0, 0, 0])
            err = eng / reach * 100 if reach else 0.0
            d_reach = d_err = ""
            if prev and reach:
                rr, re = reach / prev[0] - 1, err / prev[1] - 1
                d_reach, d_err = f"{rr:+.0%}", f"{re:+.0%}"
                if (platform, account) == ERR_DROP and w == 9:
                    if not -0.50 <= re <= -0.40 or abs(rr) > 0.05:
                        problems.append(f"Trailhead IG signal: dERR {re:+.1%}, dReach {rr:+.1%}")
                elif abs(re) > 0.20:
                    problems.append(f"{platform}/{account} week {w}: dERR {re:+.1%}")
                if (platform, account) == REACH_SPIKE and w == 9 and not 0.55 <= rr <= 0.65:
                    problems.append(f"Maison FB signal: dReach {rr:+.1%}")
            start = POSTS_START + timedelta(weeks=w)
            print(f"{platform + '/' + account:34} {start.isoformat()[5:]:>10} {n:5} {reach:8} "
                  f"{d_reach:>7} {err:6.2f} {d_err:>7}")
            prev = (reach, err)

    print("\nAccount snapshots: followers at week end (weekly growth), weekly account reach (change)")
    by_acc: dict[tuple[str, str], list[dict]] = {}
    for s in snaps:
        by_acc.setdefault((s["platform"], s["account"]), []).append(s)
    for key, rows in sorted(by_acc.items()):
        cells = []
        for w in range(11):
            days = rows[w * 7 : (w + 1) * 7]
            reach = sum(r["reach"] for r in days)
            cells.append((days[-1]["followers"], reach))
        line = []
        for w in range(1, 11):
            growth = cells[w][0] / cells[w - 1][0] - 1
            d_reach = cells[w][1] / cells[w - 1][1] - 1
            line.append(f"{growth:+.2%}/{d_reach:+.0%}")
            if not 0.0008 <= growth <= 0.0055:
                problems.append(f"{key} snapshot week {w}: follower growth {growth:+.2%}")
        drops = [b["followers"] - a["followers"] for a, b in zip(rows, rows[1:])]
        if min(drops) < -3:
            problems.append(f"{key}: followers drop by {min(drops)} in a day")
        print(f"{key[0] + '/' + key[1]:34} {cells[-1][0]:6} " + " ".join(line))
    return problems


def main() -> int:
    counts = generate()
    for name, n in counts.items():
        size = sum(f.stat().st_size for f in (OUT_DIR / name).parent.glob((OUT_DIR / name).name or "*"))
        print(f"wrote {OUT_DIR / name}: {n} rows, {size} bytes")
    print()
    problems = check()
    if problems:
        print("\nPROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
