"""Which language a short social-media text is in: French, English, or neither (unknown).

A vote of function words: every token of the text (normalised as the sentiment features are:
lower case, accents stripped) that is one of the most frequent words of a language counts one
for that language. French, English and, so that a Spanish, Italian, Portuguese or German text is
not taken for one of them, those four languages vote; the text goes to the language with the
most votes, and is unknown (None) when it has none, when the best is another language, or when
French and English tie. French also gets a vote per accented letter typical of it (é è ê à ç
ù û ô î œ). A tie between French (or English) and another language goes to French (or English)
when no word of the text votes for another language alone: "Livraison en retard, tres decevant"
(``en`` is Spanish too, ``tres`` French only) is French, "Estoy muy contento" stays unknown.
Made for texts of a few words; a text with no function word (``Super 😍``) is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cmflow.builtin.sentiment.text_features import text_tokens

LANGUAGES = ("fr", "en")
"""The languages the built-in model knows, as ISO 639-1 codes."""

FUNCTION_WORDS: dict[str, str] = {
    "fr": "le la les un une des du de et est c j l d n qu que qui ne pas je tu il elle on nous "
    "vous ils elles ce cette ces mon ma mes ton ta tes son sa ses au aux avec pour sur dans par "
    "mais ou donc tres trop bien plus moi toi lui leur sont suis etre avoir fait tout tous rien "
    "oui non ca ici aussi comme quand alors deja encore jamais toujours merci bonjour vraiment "
    "a en s se sans y faire",
    "en": "the a an and is are was were be been i you he she it we they me my your his her its "
    "our their this that these those of to in on at for with from by not no but or so if just "
    "have has had do does did don t can will would what when who how all very really too thanks "
    "thank love good great bad like get got about there here then than",
    "es": "el la los las un una de del y es que en por para con no lo le se mi tu su muy pero "
    "como mas esta este son hay todo gracias bueno",
    "it": "il lo la gli le un una di del della e che in per con non mi ti si sono ma come piu "
    "questo questa molto grazie anche tutto",
    "pt": "o a os as um uma de do da dos das e que em no na por para com nao se meu muito mas "
    "como mais esta isso obrigado tambem voce",
    "de": "der die das ein eine und ist nicht ich du er sie es wir ihr mit von zu auf fur den "
    "dem des auch sehr aber wie noch danke gut",
}
"""The most frequent words of each voting language, accents stripped. French's last line ("a en s
se sans y faire") is what French's frequencies add to the first list: the words among the 100
of highest document frequency in both French training sources of the model, XLM-T's French
train split (DEFT 2015 tweets) and the Allociné reviews (``tools/train_sentiment.py
--function-words``), so that
neither source's topic words (ecologie, serie) count; 44 of those 51 words were in the list
already. Without accents, "à" is "a" and "en" is Spanish too: see :func:`detect_language`."""

FRENCH_LETTERS = r"[éèêàçùûôîœ]"


def _vote_table() -> pl.DataFrame:
    pairs = [(word, language) for language, words in FUNCTION_WORDS.items() for word in words.split()]
    return pl.DataFrame(pairs, schema=["token", "vote"], orient="row").unique()


_VOTES = _vote_table()
_OTHER_LANGUAGES = [language for language in FUNCTION_WORDS if language not in LANGUAGES]
_OWN_WORDS = {word for language in LANGUAGES for word in FUNCTION_WORDS[language].split()}
_OTHER_ONLY = pl.DataFrame(
    {"token": sorted({word for language in _OTHER_LANGUAGES for word in FUNCTION_WORDS[language].split()} - _OWN_WORDS)}
).with_columns(pl.lit(1, dtype=pl.UInt32).alias("other_only"))
"""The function words of another language that are no French or English one (muy, gracias, ich)."""


def detect_language(texts: Sequence[str | None], tokens: pl.DataFrame | None = None) -> list[str | None]:
    """Each text's language: "fr", "en", or None (unknown, another language, null or empty).
    ``tokens``: the texts' :func:`~cmflow.builtin.sentiment.text_features.text_tokens`, if
    already computed."""
    texts = list(texts)
    if not texts:
        return []
    if tokens is None:
        tokens = text_tokens(texts)
    vote = pl.col("vote")
    tally = (
        tokens.join(_VOTES, on="token", how="inner")
        .group_by("row")
        .agg(*(vote.eq(language).sum().cast(pl.UInt32).alias(language) for language in FUNCTION_WORDS))
    )
    other_only = tokens.join(_OTHER_ONLY, on="token", how="inner").group_by("row").agg(pl.col("other_only").sum())
    counts = (
        pl.DataFrame({"text": pl.Series(texts, dtype=pl.Utf8)})
        .with_row_index("row")
        .select("row", accents=pl.col("text").str.to_lowercase().str.count_matches(FRENCH_LETTERS).fill_null(0))
        .join(tally, on="row", how="left")
        .join(other_only, on="row", how="left")
        .fill_null(0)
    )
    # a language wins with strictly more votes than each other language: a tie at the top, or
    # another language on top, is unknown; but a tie with another language whose votes all come
    # from words French or English share with it (en, la, a) goes to the model's language
    french, english = pl.col("fr") + pl.col("accents"), pl.col("en")
    other = pl.max_horizontal(_OTHER_LANGUAGES)
    shared_only = pl.col("other_only") == 0
    return (
        counts.select(
            pl.when((french > english) & ((french > other) | ((french == other) & shared_only)))
            .then(pl.lit("fr"))
            .when((english > french) & ((english > other) | ((english == other) & shared_only)))
            .then(pl.lit("en"))
        )
        .to_series()
        .to_list()
    )
