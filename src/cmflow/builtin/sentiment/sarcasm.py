"""Sarcasm markers: documented rules, on top of the model, that tell a text whose positive words
mean the opposite ("Génial, la box est encore en panne 🙄", "Thanks for nothing").

The model reads words, so sarcasm reads as the words it uses. These rules find the marks that
French and English social-media writers put on sarcasm, and :meth:`SentimentModel.classify
<cmflow.builtin.sentiment.model.SentimentModel.classify>` labels a marked text negative, its
positive probability counted as negative (the positive words are the irony). Praise uses the
same openers ("Merci, je reviendrai encore", "Great job team, another successful launch!"), so
every rule but the first two asks for a **mishap**: something gone wrong (:data:`MISHAPS`: panne,
outage, retard, late, perdu, lost, cassé, broken, "3 semaines d'attente", "an hour on hold",
"no answer" ...), not negated or excused a few words before it ("plus aucune panne", "no more
outages", "never lets us down", "même en retard", "even though it was late":
:data:`NOT_A_COMPLAINT_BEFORE`), not in a sentence that says it was fixed ("colis perdu
retrouvé", "fixed the outage": :data:`FIX_WORDS`), and not an idiom ("lost for words", "lost
5 kg": :data:`IDIOMS`). A text is marked when it has, in either language (lower case):

1. **a sarcasm tag**: ``#sarcasm``, ``#sarcastic``, ``#irony``, ``#not``, ``#sarcasme``,
   ``#ironie``, or ``/s`` at its end;
2. **a stock sarcastic phrase**: "merci pour rien", "il ne manquait plus que",
   "on n'arrête pas le progrès", "thanks for nothing", "yeah right" ending a clause (not "yeah,
   right on time"); and, with a mishap in the text, phrases said in earnest too: "just what I
   needed", "what a surprise", "quelle surprise", "merci du cadeau" (the thanks after a
   giveaway), "oh joy", "so much for" opening a sentence;
3. **an eye-roll** (🙄 😒) **with a positive word** (great, love, thanks, perfect, génial, super,
   top, merci, bravo, parfait ...: :data:`POSITIVE_WORDS`); not 🙃, often affectionate;
4. **a positive interjection opening the text, then a mishap**: the text starts with one of
   :data:`INTERJECTIONS` (optionally after "oh", "ah", "wow", "yeah") followed by punctuation (or
   "job"/"pour" in "great job", "bravo pour"), and later names a mishap;
5. **a positive interjection trailing off into a mishap**: the text starts with one of
   :data:`INTERJECTIONS` and an ellipsis, and a mishap follows ("Bravo... 3 semaines
   d'attente"; not "Merci…" nor "Top... j'adore !");
6. **scare quotes around what was promised, with a mishap**: a word such as service, support,
   quality, express, delivered, livré, qualité (:data:`PROMISED_WORDS`) inside short quotes (at
   most 12 characters on either side of it: ``"…"``, ``“…”``, ``« … »``), and a mishap or a
   stock phrase in the text; product names in quotes ("« Service Plus » est top") are left alone.

They were written from how sarcasm is marked in French and English social media and checked on
hand-written sets (``tests/fixtures/sarcasm/``: sarcastic texts, and earnest controls that must
bear no marker); the public evaluation sets were only measured with them
(``benchmarks/sentiment_eval.py``: they mark none of their texts), never used to choose them.
Sarcasm without a mark ("Love waiting on hold", "Oh joy, another mandatory update") still reads
as its words.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

TAGS = r"#(?:sarcasm|sarcastic|irony|not|sarcasme|ironie)\b"
TRAILING_TAG = " /s"
"""Reddit's mark, at the end of the text."""
PHRASES = (
    r"merci pour rien|ne manquait plus que|manquait plus que [cç]a"
    r"|on n.arr[eê]te pas le progr[eè]s|thanks for nothing|yeah,? right\s*(?:$|[,.!?…:;\"“«])"
)
"""Sarcastic wherever they stand. ("yeah right" ends its clause: "yeah, right on time" is earnest.)"""
PHRASES_BEFORE_A_MISHAP = (
    r"just what (?:i|we) needed|what a surprise|quelle surprise|merci du cadeau|\boh joy\b"
)
"""Phrases said in earnest too ("This coffee is just what I needed", "Merci du cadeau, ma fille
est ravie !", "Oh joy, my favourite band is touring again!"): sarcastic with a mishap."""
SO_MUCH_FOR = r"(?:^|[.!?]\s*)so much for"
"""At the start of a sentence only ("thanks so much for" is earnest), and with a mishap ("So much
for the rain forecast, what a sunny day!" is earnest). (A pattern of its own: in the alternation
of :data:`PHRASES` it made the whole search ten times slower.)"""
EYE_ROLLS = "[🙄😒]"
POSITIVE_WORDS = (
    "great", "love", "loving", "thanks", "thank", "perfect", "wonderful", "nice", "awesome", "amazing",
    "glad", "good", "brilliant", "fantastic", "cool", "génial", "genial", "super", "top", "merci", "bravo",
    "parfait", "magnifique", "ravi", "excellent", "plaisir", "heureusement", "trop bien", "génialissime",
)
INTERJECTIONS = (
    "great", "perfect", "wonderful", "awesome", "amazing", "fantastic", "nice", "cool", "brilliant",
    "well done", "excellent", "génial", "genial", "super", "parfait", "magnifique", "top", "bravo",
    "trop bien", "trop fort", "merci", "thanks", "vraiment top",
)
_DURATION = r"(?:minutes?|min|heures?|hours?|h|jours?|days?|semaines?|weeks?|mois|months?)"
MISHAPS = (
    "panne", "pannes", "outage", "outages", r"(?:is|was|are|were|went|goes|still) down", "crash", "crashed",
    "crashes", "plante", "planté", "retard", "late", "delayed", "delay", "perdu", "perdue", "perdre", "lost",
    "losing", "lose", "cassé", "cassée", "casse", "broken", "annulé", "annulée", "annule", "supprimé",
    "supprimée", "cancelled", "canceled", "deleted", "rupture", "coupure", "augmenté", "doublée", "increase",
    "charged", "prélèvement", "vanished", "disparu", "disparue", "raccroché", "hung up", "hanging up",
    rf"{_DURATION} (?:d.attente|on hold|of waiting)", r"on hold for", "attente interminable",
    "no answer", "no reply", "no response", "sans réponse", "aucune réponse", "pas de réponse", "aucune info",
    "nobody (?:ever )?answers", "personne ne répond", "jamais arrivée?", "never arrived", "pas chez moi",
)
"""Something gone wrong. Not "encore", "again", "another", "une fois de plus": praise says them
too ("Thanks! Will order again", "encore une belle collection")."""
NOT_A_COMPLAINT_BEFORE = (
    "pas", "plus", "aucun", "aucune", "zéro", "zero", "sans", "ni", "jamais", "no", "not", "never", "without",
    "malgré", "même", "despite", "even", "though", "after", "après", "only", "seulement",
)
"""Words that, at most four words before a mishap ("courier's" one word), say it did not happen ("plus aucune panne",
"no more outages", "didn't have to wait on hold") or is no complaint ("même en retard", "even
though my order was late", "back up after the outage")."""
FIX_WORDS = (
    "réglé", "réglée", "retrouvé", "retrouvée", "résolu", "résolue", "réparé", "réparée", "remplacé",
    "remplacée", "remboursé", "remboursée", "rétabli", "fixed", "solved", "resolved", "found", "repaired",
    "replaced", "refunded", "back up", "back online",
)
"""A sentence with one of these tells of a mishap put right ("colis perdu retrouvé")."""
IDIOMS = (
    "lost track", "lost for words", "lost my words", r"lost [0-9]+", "lost weight", r"perdu [0-9]+", "perdu du poids",
    "charged less", "sans perdre",
)
"""Mishap words in phrases that are no mishap."""
PROMISED_WORDS = (
    "service", "support", "qualité", "qualite", "quality", "express", "livré", "delivered",
    "delivery", "aide", "help", "rapide", "fast", "professionnel", "professional",
)


def _words(words: Sequence[str]) -> str:
    return "|".join(words)


OPENER = rf"^\s*(?:(?:oh|ah|wow|yeah)[,!]?\s+)?(?:{_words(INTERJECTIONS)})"
MISHAP = rf"\b(?:{_words(MISHAPS)})\b"
OPENER_THEN_MISHAP = rf"{OPENER}(?:\s*[,.!…]|\s+(?:job|pour)\b).*{MISHAP}"
TRAILING_OFF_INTO_MISHAP = rf"{OPENER}\s*(?:\.\.\.|…).*{MISHAP}"
SCARE_QUOTES = rf"[\"“«]\s*[^\"”»]{{0,12}}\b(?:{_words(PROMISED_WORDS)})\b[^\"”»]{{0,12}}\s*[\"”»]"
"""A promised word in quotes of a few words ("« service »", "next day delivery"), not a long quotation."""
IRONIC_EMOJI_WITH_PRAISE = rf"\b(?:{_words(POSITIVE_WORDS)})\b"
_NEGATED = rf"(?:\b(?:{_words(NOT_A_COMPLAINT_BEFORE)})|n['’]t)\b"
"""The words of :data:`NOT_A_COMPLAINT_BEFORE`, and any "…n't". (Searched as a suffix: a
``[a-z]+n't`` alternative, or ``\\d`` and ``\\w`` classes, made every search ten times slower.)"""
NO_MISHAP = (
    rf"{_NEGATED}(?:[^a-zà-ÿ0-9]+[a-zà-ÿ0-9]+(?:['’][a-zà-ÿ0-9]+)?){{0,4}}?[^a-zà-ÿ0-9]+(?:{_words(MISHAPS)})\b"
    rf"|\b(?:{_words(IDIOMS)})\b"
)
"""What :func:`sarcasm_marked` blanks out before it looks for a mishap: a negated or excused
mishap, an idiom; and, in the few texts with a fix word, a sentence that tells of a fix
(:data:`FIXED_SENTENCE`)."""
FIX = rf"\b(?:{_words(FIX_WORDS)})\b"
FIXED_SENTENCE = rf"[^.!?]*{FIX}[^.!?]*"


def sarcasm_marked(texts: Sequence[str | None] | pl.Series) -> pl.Series:
    """Whether each text bears one of the module's sarcasm markers (Boolean, False for a null
    text), computed for the whole column with Polars string expressions."""
    lower = pl.Series("text", texts, dtype=pl.Utf8).str.to_lowercase().fill_null("")
    marked = (  # the marks that need no mishap
        lower.str.contains(TAGS)
        | lower.str.strip_chars_end().str.ends_with(TRAILING_TAG)
        | lower.str.contains(PHRASES)
        | (lower.str.contains(EYE_ROLLS) & lower.str.contains(IRONIC_EMOJI_WITH_PRAISE))
    )
    # The others need a mishap: looked for only in the texts that bear the rest of their mark.
    needs_a_mishap = pl.DataFrame({"text": lower}).select(
        before_a_mishap=pl.col("text").str.contains(PHRASES_BEFORE_A_MISHAP),
        so_much_for=pl.col("text").str.contains(SO_MUCH_FOR),
        scare_quotes=pl.col("text").str.contains(SCARE_QUOTES),
        opener=pl.col("text").str.contains(OPENER),
    )
    rows = needs_a_mishap.select(pl.any_horizontal(pl.all()).alias("any")).to_series().arg_true()
    if rows.len() == 0:
        return marked.alias("sarcasm")
    candidates = needs_a_mishap[rows]
    rest = lower.gather(rows).str.replace_all(NO_MISHAP, " ")  # without its mishaps that are none
    fixed = rest.str.contains(FIX)
    if fixed.any():  # a few texts: searched apart, the sentence pattern is slow on every text
        told = fixed.arg_true()
        rest = rest.scatter(told, rest.gather(told).str.replace_all(FIXED_SENTENCE, " "))
    has_mishap = rest.str.contains(MISHAP)
    with_a_mishap = (
        ((candidates["before_a_mishap"] | candidates["so_much_for"]) & has_mishap)
        | (candidates["opener"] & rest.str.contains(OPENER_THEN_MISHAP))
        | (candidates["opener"] & rest.str.contains(TRAILING_OFF_INTO_MISHAP))
        | (candidates["scare_quotes"] & (has_mishap | candidates["so_much_for"]))
    )
    return marked.scatter(rows, marked.gather(rows) | with_a_mishap).alias("sarcasm")
