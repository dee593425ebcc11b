"""The features the sentiment model reads from a social-media text, computed for a whole column
at once with Polars string expressions (no Python loop over texts).

Normalisation, in order: HTML entities the platforms leave in exports (``&amp;``) decoded; URLs
become the token ``httpurl`` and @mentions ``atuser``; a hashtag loses its ``#`` and its camel
case is split (``#PasContent`` -> ``pas content``); lower case; accents stripped (``très`` ->
``tres``, so "tres bien" and "très bien" are one feature); a letter repeated three times or more
becomes one (``bieeen`` -> ``bien``, ``soooo`` -> ``so``); curly apostrophes become straight ones.

Tokens: words (split at apostrophes: ``c'est`` -> ``c`` ``est``, ``don't`` -> ``don`` ``t``),
emoji (one token each, ``😍``), emoticons (``:)``, ``:(``, ``<3``), ``!`` and ``?``, and the
clause punctuation ``. , ; :``.

Features of one text: every token, prefixed ``not_`` when a negation word stands at most
:data:`NEGATION_SCOPE` tokens before it in the same clause (``pas terrible`` -> ``not_terrible``,
``not bad`` -> ``not_bad``); every pair of neighbouring tokens (``tres bien``, ``trop bien``: the
intensifiers); and two flags, ``_caps_`` (a word written in capitals) and ``_elong_`` (a word
stretched by repeated letters).

And the character n-grams of every word (:func:`word_char_grams`: ``c:<bi``, ``c:bie``, ...,
``c:en>``), which let the model score a word it never saw from the parts it did (``magnifique``
and ``magnifiques``, ``degueulasse`` and ``deguelasse``).
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import polars as pl

NEGATION_SCOPE = 3
"""How many tokens after a negation word are marked negated (the clause's end stops it sooner)."""

NEGATORS = frozenset(
    {
        # English ("don't" is tokenised "don" "t", so "t" carries the negation)
        "not", "no", "never", "t", "nt", "cannot", "nothing", "nobody", "none", "nor",
        "neither", "without", "dont", "cant", "wont", "isnt", "aint", "didnt", "doesnt",
        # French ("n'est" is tokenised "n" "est")
        "ne", "n", "pas", "jamais", "rien", "aucun", "aucune", "personne", "sans", "ni",
        "guere", "nullement",
    }
)
"""Words that negate what follows them, in English and French (accents stripped)."""

PRAISE_BY_SUFFICIENCY = "_cant_enough_"
"""The feature of English praise said by a negated ability and "enough" ("I can't recommend
them enough", "can't thank you enough", "can't get enough of it"): a negator of ability
(:data:`ABILITY_NEGATORS`) with "enough" two to four tokens after it. Such a negator negates
nothing (``recommend`` stays ``recommend``, not ``not_recommend``), and the text gets this
feature, which ``tools/train_sentiment.py`` gives a fixed prior toward positive. Not "not good
enough" nor "not enough staff": the negator there is no negator of ability, and "enough" right
after a negator is not the construction."""
ABILITY_NEGATORS = {"cannot": (), "cant": (), "couldnt": (), "t": ("can", "couldn"), "not": ("can", "could")}
"""The negators of ability, each with the tokens that must stand right before it (none for the
contracted forms: "can't" is tokenised ``can`` ``t``, "cannot" is one token)."""

CLAUSE_BREAKS = frozenset({".", ",", ";", ":", "!", "?"})
"""Tokens that end a clause, and so a negation's scope."""

TOKEN_PATTERN = (
    r"[:;=]-?[()\[\]dpo/\\|*3]"  # emoticons, after lower-casing (":D" is ":d")
    r"|<3"
    r"|\p{Extended_Pictographic}"  # emoji, one token each
    r"|[\p{L}\p{N}]+"  # words and numbers
    r"|[!?.,;:]"
)
WORD_PATTERN = r"^[\p{L}\p{N}]+$"
CHAR_GRAM_SIZES = (3, 4, 5)
"""The lengths of the character n-grams taken of each word (marked ``<`` ... ``>``)."""
URL_PATTERN = r"(?i)\bhttps?://\S+|\bwww\.\S+|\bhttps?\b"
MENTION_PATTERN = r"@\w+"
CAPS_PATTERN = r"\p{Lu}{3}"
"""Three capitals in a row: a word in capitals ("NUL", "WORST")."""
ELONGATED = [(letter, f"{letter}{{3,}}") for letter in string.ascii_lowercase]
ELONGATED_ANY = "|".join(pattern for _, pattern in ELONGATED)
ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'"}


def normalised_text(text: pl.Expr) -> pl.Expr:
    """``text`` (a Utf8 expression) normalised as the module docstring says, before tokenising."""
    return collapsed_letters(normalised_but_letters(text))


def collapsed_letters(text: pl.Expr) -> pl.Expr:
    """``text`` with each letter repeated three times or more made one (26 passes: the regex
    engine has no back-references, so one pattern per letter)."""
    for letter, pattern in ELONGATED:
        text = text.str.replace_all(pattern, letter)
    return text


def normalised_but_letters(text: pl.Expr) -> pl.Expr:
    """:func:`normalised_text` but for the collapsing of repeated letters."""
    return straight_apostrophes(stripped_accents(lower_case_placeholders(text)))


def lower_case_placeholders(text: pl.Expr) -> pl.Expr:
    """``text`` with entities decoded, links and mentions replaced, hashtags split, lower case."""
    for entity, character in ENTITIES.items():
        text = text.str.replace_all(entity, character, literal=True)
    return (
        text.str.replace_all(URL_PATTERN, " httpurl ")
        .str.replace_all(MENTION_PATTERN, " atuser ")
        .str.replace_all(r"#(\p{Lu}?\p{Ll}+)(\p{Lu})", "#$1 $2")
        .str.replace_all(r"(\p{Ll})(\p{Lu}\p{Ll})", "$1 $2")
        .str.replace_all("#", " ", literal=True)
        .str.to_lowercase()
    )


def stripped_accents(text: pl.Expr) -> pl.Expr:
    """``text`` without accents (NFKD, then the combining marks dropped): the identity on ASCII.
    Not ``cmflow.folded_text``, which folds one ``str`` at a time and lower-cases with it: the
    features fold whole columns as Polars expressions, and lower-case before, after splitting
    camel-case hashtags, which needs the capitals."""
    return text.str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")


def straight_apostrophes(text: pl.Expr) -> pl.Expr:
    """``text`` with its curly and other apostrophes made ``'``."""
    return text.str.replace_all(r"[’`´]", "'")


def text_tokens(texts: Sequence[str | None] | pl.Series) -> pl.DataFrame:
    """One row per token of every text: ``row`` (the text's index, from 0), ``position`` (0, 1
    ...) and ``token``, normalised. Null and empty texts have no token."""
    return tokens_and_flags(texts)[0]


def tokens_and_flags(texts: Sequence[str | None] | pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tokens of :func:`text_tokens`, and one row per text of its flags: ``row``, ``caps``
    (a word in capitals), ``elongated`` (a letter repeated three times or more)."""
    frame = pl.DataFrame({"text": pl.Series("text", texts, dtype=pl.Utf8)}).with_row_index("row")
    frame = frame.with_columns(
        caps=pl.col("text").str.contains(CAPS_PATTERN),
        elongated=pl.col("text").str.to_lowercase().str.contains(ELONGATED_ANY),
        normalised=lower_case_placeholders(pl.col("text")),
    )
    # the costly steps only on the texts they change (the same result as on every text):
    # accents on the texts with a character outside ASCII, the 26 passes that collapse
    # repeated letters on those with a letter repeated
    frame = _only_where(frame, pl.col("normalised").str.contains(r"[^\x00-\x7F]"), stripped_accents)
    frame = frame.with_columns(normalised=straight_apostrophes(pl.col("normalised")))
    frame = _only_where(frame, pl.col("normalised").str.contains(ELONGATED_ANY), collapsed_letters)
    frame = frame.with_columns(token=pl.col("normalised").str.extract_all(TOKEN_PATTERN))
    flags = frame.select("row", "caps", "elongated")
    tokens = (
        frame.select("row", "token")
        .explode("token")
        .drop_nulls("token")
        .with_columns(position=pl.int_range(pl.len()).over("row"))
    )
    return tokens, flags


def word_char_grams(words: pl.Series) -> pl.DataFrame:
    """One row per character n-gram of each word: ``word`` and ``feature`` (``c:`` and the
    n-gram of ``<word>``, for each length of :data:`CHAR_GRAM_SIZES`; a word of two letters
    has ``c:<ab``, ``c:ab>`` and ``c:<ab>``)."""
    frame = pl.DataFrame({"word": words.cast(pl.Utf8)}).with_columns(marked=pl.lit("<") + pl.col("word") + pl.lit(">"))
    parts = []
    for size in CHAR_GRAM_SIZES:
        parts.append(
            frame.with_columns(
                # (as signed: a word shorter than the n-gram must give no offset, not a wrap-around)
                offset=pl.int_ranges(0, (pl.col("marked").str.len_chars().cast(pl.Int64) - size + 1).clip(0, None))
            )
            .explode("offset")
            .drop_nulls("offset")
            .select("word", feature=pl.lit("c:") + pl.col("marked").str.slice(pl.col("offset"), size))
        )
    return pl.concat(parts)


def features_and_words(
    texts: Sequence[str | None] | pl.Series, tokenised: tuple[pl.DataFrame, pl.DataFrame] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The features of every text but the character n-grams (``row``, ``feature``, as
    :func:`text_features`), and its word tokens (``row``, ``token``: letters and digits), whose
    n-grams :func:`word_char_grams` gives: the model sums those once per distinct word.
    ``tokenised``: what :func:`tokens_and_flags` gave for ``texts``, if already computed."""
    tokens, flags = tokenised if tokenised is not None else tokens_and_flags(texts)
    words = tokens.filter(pl.col("token").str.contains(WORD_PATTERN)).select("row", "token")
    return _features_of(tokens, flags), words


def all_features(texts: Sequence[str | None] | pl.Series) -> pl.DataFrame:
    """Every feature occurrence of every text, character n-grams included: ``row`` and
    ``feature`` (what the model is trained on)."""
    features, words = features_and_words(texts)
    grams = word_char_grams(words["token"].unique())
    from_words = words.join(grams, left_on="token", right_on="word", how="inner").select("row", "feature")
    return pl.concat([features, from_words])


def _only_where(frame: pl.DataFrame, condition: pl.Expr, step) -> pl.DataFrame:
    """``frame`` with ``step`` applied to its ``normalised`` column on the rows where
    ``condition`` holds, in row order."""
    changed = frame.filter(condition).with_columns(normalised=step(pl.col("normalised")))
    return pl.concat([frame.filter(~condition | condition.is_null()), changed]).sort("row")


def text_features(texts: Sequence[str | None] | pl.Series) -> pl.DataFrame:
    """One row per feature occurrence of every text: ``row`` (the text's index, from 0) and
    ``feature`` (Utf8), character n-grams aside. A feature met twice in a text appears twice
    (the model counts them)."""
    return _features_of(*tokens_and_flags(texts))


def _praise_by_sufficiency(token: pl.Expr) -> pl.Expr:
    """Whether each token is a negator of ability opening :data:`PRAISE_BY_SUFFICIENCY`
    (tokens in text order, one text after another)."""
    before = token.shift(1)
    ability = token.is_in([negator for negator, needs in ABILITY_NEGATORS.items() if not needs])
    for negator, needs in ABILITY_NEGATORS.items():
        if needs:
            ability = ability | ((token == negator) & before.is_in(list(needs)))
    # "enough" two to four tokens ahead, in the same text (a token's position is its index in
    # its text, so the token d ahead is in the same text when its position is d more)
    enough, position = token == "enough", pl.col("position")
    enough_ahead = pl.any_horizontal(
        enough.shift(-distance) & (position.shift(-distance) == position + distance) for distance in (2, 3, 4)
    )
    # (a shift past either end of the frame is null: false here, not null, which would make
    # the negator a null, neither negator nor not)
    return (ability & enough_ahead).fill_null(False)


def _features_of(tokens: pl.DataFrame, flags: pl.DataFrame) -> pl.DataFrame:
    token = pl.col("token")
    tokens = tokens.with_columns(praise=_praise_by_sufficiency(token)).with_columns(
        negator=token.is_in(list(NEGATORS)) & ~pl.col("praise"),
        clause=token.is_in(list(CLAUSE_BREAKS)).cum_sum().over("row"),
    ).with_columns(
        negated_at=pl.when("negator").then("position").forward_fill().over("row", "clause"),
    )
    in_scope = (
        (pl.col("position") - pl.col("negated_at")).is_between(1, NEGATION_SCOPE)
        & ~pl.col("negator")
        & token.str.contains(WORD_PATTERN)
    )
    unigrams = tokens.select(
        "row", feature=pl.when(in_scope).then(pl.lit("not_") + token).otherwise(token)
    )
    bigrams = tokens.select(
        "row", feature=token + pl.lit(" ") + token.shift(-1).over("row")
    ).drop_nulls("feature")
    flagged = pl.concat(
        [
            tokens.filter("praise").select("row", feature=pl.lit(PRAISE_BY_SUFFICIENCY)),
            flags.filter("caps").select("row", feature=pl.lit("_caps_")),
            flags.filter("elongated").select("row", feature=pl.lit("_elong_")),
        ]
    )
    return pl.concat([unigrams, bigrams, flagged])
