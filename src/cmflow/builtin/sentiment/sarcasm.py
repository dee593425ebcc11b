"""Sarcasm markers: documented rules, on top of the model, that tell a text whose positive words
mean the opposite ("Génial, encore en panne 🙄", "Thanks for nothing").

The model reads words, so sarcasm reads as the words it uses. These rules find the marks that
French and English social-media writers put on sarcasm, and :meth:`SentimentModel.classify
<cmflow.builtin.sentiment.model.SentimentModel.classify>` labels a marked text negative, its
positive probability counted as negative (the positive words are the irony). A text is marked
when it has, in either language (lower case, accents optional):

1. **a sarcasm tag**: ``#sarcasm``, ``#sarcastic``, ``#irony``, ``#not``, ``#sarcasme``,
   ``#ironie``, or ``/s`` at its end;
2. **a stock sarcastic phrase**: "merci pour rien", "merci du cadeau", "il ne manquait plus que",
   "on n'arrête pas le progrès", "thanks for nothing", "yeah right", "oh joy", "so much for" at
   the start of a sentence (not "thanks so much for"); and, with a mishap word in the text (see
   4), "just what I needed", "what a surprise", "quelle surprise";
3. **an eye-roll or upside-down face** (🙄 🙃 😒) **with a positive word** (great, love, thanks,
   perfect, génial, super, top, merci, bravo, parfait ...: :data:`POSITIVE_WORDS`);
4. **a positive interjection opening the text, then a mishap**: the text starts with one of
   :data:`INTERJECTIONS` (optionally after "oh", "ah", "wow", "yeah") followed by punctuation (or
   "job"/"pour" in "great job", "bravo pour"), and later names something gone wrong again
   (:data:`MISHAP_WORDS`: encore, again, another, panne, outage, retard, late, perdu, lost ...),
   unless the only repeat is thanks said again ("merci encore", "thanks again");
5. **a positive interjection trailing off**: the text starts with one of :data:`INTERJECTIONS`
   and an ellipsis ("Bravo... 3 semaines d'attente", "Amazing… still no answer");
6. **scare quotes around what was promised**: a word such as service, support, quality, express,
   delivered, livré, qualité (:data:`PROMISED_WORDS`) inside short quotes (at most 12 characters
   on either side of it: ``"…"``, ``“…”``, ``« … »``), not a long quotation.

They were written from how sarcasm is marked in French and English social media, before any
measurement, and checked on a hand-written set (``tests/fixtures/sarcasm/``); the public
evaluation sets were only measured with them (``benchmarks/sentiment_eval.py``), never used to
choose them. Sarcasm without a mark ("Love waiting on hold") still reads as its words.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

TAGS = r"#(?:sarcasm|sarcastic|irony|not|sarcasme|ironie)\b"
TRAILING_TAG = " /s"
"""Reddit's mark, at the end of the text."""
PHRASES = (
    r"merci pour rien|merci du cadeau|ne manquait plus que|manquait plus que [cç]a"
    r"|on n.arr[eê]te pas le progr[eè]s|thanks for nothing|yeah,? right|\boh joy\b"
)
SO_MUCH_FOR = r"(?:^|[.!?]\s*)so much for"
"""At the start of a sentence only: "thanks so much for" is earnest. (A pattern of its own: in
the alternation of :data:`PHRASES` it made the whole search ten times slower.)"""
PHRASES_BEFORE_A_MISHAP = r"just what (?:i|we) needed|what a surprise|quelle surprise"
"""Phrases said in earnest too ("This coffee is just what I needed"): sarcastic with a mishap."""
EYE_ROLLS = "[🙄🙃😒]"
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
MISHAP_WORDS = (
    "encore", "again", "another", "une fois de plus", "panne", "outage", "down", "crash", "crashed",
    "plante", "retard", "late", "delayed", "perdu", "perdre", "lost", "losing", "lose", "cassé", "casse",
    "broken", "annulé", "annule", "supprimé", "cancelled", "canceled", "attente", "waiting", "hold",
    "rupture", "coupure", "augmenté", "increase", "charged", "prélèvement", "vanished", "disparu",
)
PROMISED_WORDS = (
    "service", "support", "qualité", "qualite", "quality", "express", "livré", "livre", "delivered",
    "delivery", "aide", "help", "rapide", "fast", "professionnel", "professional",
)


def _words(words: Sequence[str]) -> str:
    return "|".join(words)


OPENER = rf"^\s*(?:(?:oh|ah|wow|yeah)[,!]?\s+)?(?:{_words(INTERJECTIONS)})"
OPENER_THEN_MISHAP = rf"{OPENER}(?:\s*[,.!…]|\s+(?:job|pour)\b).*\b(?:{_words(MISHAP_WORDS)})\b"
MISHAP = rf"\b(?:{_words(MISHAP_WORDS)})\b"
THANKS_AGAIN = r"merci encore|encore merci|thanks again|thank you again"
TRAILING_OFF = rf"{OPENER}\s*(?:\.\.\.|…)"
SCARE_QUOTES = rf"[\"“«]\s*[^\"”»]{{0,12}}\b(?:{_words(PROMISED_WORDS)})\b[^\"”»]{{0,12}}\s*[\"”»]"
"""A promised word in quotes of a few words ("« service »", "next day delivery"), not a long quotation."""
IRONIC_EMOJI_WITH_PRAISE = rf"\b(?:{_words(POSITIVE_WORDS)})\b"


def sarcasm_marked(texts: Sequence[str | None] | pl.Series) -> pl.Series:
    """Whether each text bears one of the module's sarcasm markers (Boolean, False for a null
    text), computed for the whole column with Polars string expressions."""
    frame = pl.DataFrame({"text": pl.Series("text", texts, dtype=pl.Utf8)})
    text = pl.col("lower")
    marked = (
        text.str.contains(TAGS)
        | text.str.strip_chars_end().str.ends_with(TRAILING_TAG)
        | text.str.contains(PHRASES)
        | text.str.contains(SO_MUCH_FOR)
        | (text.str.contains(PHRASES_BEFORE_A_MISHAP) & text.str.contains(MISHAP))
        | (text.str.contains(EYE_ROLLS) & text.str.contains(IRONIC_EMOJI_WITH_PRAISE))
        | (text.str.contains(OPENER_THEN_MISHAP) & ~text.str.contains(THANKS_AGAIN))
        | text.str.contains(TRAILING_OFF)
        | text.str.contains(SCARE_QUOTES)
    )
    return (
        frame.with_columns(lower=pl.col("text").str.to_lowercase())
        .select(marked.fill_null(False).alias("sarcasm"))
        .to_series()
    )
