"""STAND-IN, to be replaced by lane S1's model (issue 17): a tiny word list with the interface
the real model has, so that the classifier plugin, the classify stage and ``cmflow classify``
can be built and tested now. Its labels are only good enough for the tests' plain sentences;
do not measure it.

Interface kept by the real model:

- ``SentimentModel.builtin()`` and ``SentimentModel.from_path(path)``;
- ``SentimentModel.classify(texts, languages=None)``: a frame of ``sentiment``
  (``negative``/``neutral``/``positive``/null), ``score`` (Float64 in [-1, 1]) and ``language``
  (``fr``/``en``/null), one row per text, in order; null text gives null everywhere;
- ``detect_language(texts)``: ``fr``/``en``/None per text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import polars as pl

_WORD = re.compile(r"[a-zà-ÿ']+")
_FRENCH = {"le", "la", "les", "des", "est", "et", "pas", "une", "un", "je", "très", "trop", "vraiment",
           "merci", "c'est", "nul", "super", "génial", "ne", "du", "au", "pour", "avec", "mon", "ma", "vos"}
_ENGLISH = {"the", "is", "and", "not", "a", "an", "i", "very", "really", "thanks", "this", "it", "my",
            "your", "with", "for", "of", "to", "was", "love", "great"}
_LEXICON = {
    "fr": {"super": 1.0, "génial": 1.0, "genial": 1.0, "merci": 0.6, "bien": 0.6, "bravo": 1.0, "top": 0.8,
           "nul": -1.0, "nulle": -1.0, "honte": -1.0, "déçu": -1.0, "decu": -1.0, "déçue": -1.0,
           "horrible": -1.0, "arnaque": -1.0, "terrible": 0.8, "cassé": -0.8, "casse": -0.8},
    "en": {"great": 1.0, "love": 1.0, "thanks": 0.6, "good": 0.6, "awesome": 1.0, "amazing": 1.0,
           "bad": -1.0, "awful": -1.0, "terrible": -1.0, "broken": -0.8, "scam": -1.0, "hate": -1.0,
           "disappointed": -1.0, "worst": -1.0},
}
_NEGATIONS = {"pas", "not", "never", "jamais", "no", "isn't", "n'est"}


class SentimentModel:
    """STAND-IN word-list model (see the module's docstring)."""

    def __init__(self, lexicon: dict[str, dict[str, float]]) -> None:
        self.lexicon = lexicon

    @classmethod
    def builtin(cls) -> "SentimentModel":
        """The model shipped with cmflow."""
        return cls(_LEXICON)

    @classmethod
    def from_path(cls, path: Path) -> "SentimentModel":
        """A model file written by the training script (here: a JSON word list by language)."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def classify(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None) -> "pl.DataFrame":
        """One row per text: sentiment, score in [-1, 1], language."""
        import polars as pl

        detected = detect_language(texts)
        rows = []
        for index, text in enumerate(texts):
            language = (languages[index] if languages is not None else None) or detected[index]
            if text is None or language not in self.lexicon:
                rows.append((None, None, language if text is not None else None))
                continue
            words = _WORD.findall(text.lower())
            score = 0.0
            for position, word in enumerate(words):
                weight = self.lexicon[language].get(word, 0.0)
                if weight and any(w in _NEGATIONS for w in words[max(0, position - 2):position]):
                    weight = -weight / 2
                score += weight
            score = max(-1.0, min(1.0, score))
            label = "positive" if score > 0.25 else "negative" if score < -0.25 else "neutral"
            rows.append((label, score, language))
        return pl.DataFrame(rows, schema={"sentiment": pl.String, "score": pl.Float64, "language": pl.String},
                            orient="row")


def detect_language(texts: Sequence[str | None]) -> list[str | None]:
    """``fr`` or ``en`` per text by its common words (None: no text, or neither)."""
    found: list[str | None] = []
    for text in texts:
        words = set(_WORD.findall(text.lower())) if text else set()
        french, english = len(words & _FRENCH), len(words & _ENGLISH)
        found.append(None if not words or french == english == 0 else "fr" if french >= english else "en")
    return found
