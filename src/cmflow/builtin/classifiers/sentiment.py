"""The built-in ``sentiment`` classifier: French and English, offline, with cmflow's own model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import Classifier, InputPath, PluginOptions, UserFacingError, hookimpl, language_code, resolve_input_path

if TYPE_CHECKING:
    import polars as pl

    from cmflow.builtin.sentiment.model import SentimentModel

LANGUAGES = ("fr", "en")


class SentimentClassifierOptions(PluginOptions):
    model_path: InputPath | None = Field(
        None, description="A model file written by cmflow's sentiment training script, relative to "
        "the workflow file (the current folder for `cmflow classify`). Default: the model shipped "
        "with cmflow.", examples=["models/sentiment-brand.bin"])
    languages: list[Literal[LANGUAGES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(LANGUAGES), min_length=1,
        description="Languages the texts are in: fr, en. One: every text is read in it. Both: "
        "each text's language is detected. A record's own language, when its source gives one, "
        "wins (fr-FR and FR read as fr; und as unknown); texts in another language are left "
        "unlabelled, texts whose language cannot be told are read in both.", examples=[["fr"]])
    sarcasm: bool | None = Field(
        None, description="Label negative a text bearing a sarcasm marker (\"merci pour rien\", "
        "\"Great, another outage\", 🙄 with praise: docs/sentiment-model.md, Sarcasm). Default: on "
        "with the model shipped with cmflow (its earnest check texts bear no marker), off with a "
        "model_path model (it may have learnt sarcasm from your texts); true or false to choose.",
        examples=[False])


class Sentiment(Classifier):
    """Labels texts negative, neutral or positive, with a score in [-1, 1], in French and English.

    The model ships with cmflow and runs offline (no download, no API): it reads social-media
    text, emoji, negation ("pas terrible", "not bad"), intensifiers and elongations ("trop
    bieeen"), and sarcasm that bears a mark ("merci pour rien", "great, another outage", 🙄 with
    praise: documented rules on top of the model, ``sarcasm``). ``model_path`` loads a model
    trained on your own labelled texts instead (without the sarcasm rules unless ``sarcasm =
    true``).
    """

    name = "sentiment"
    description = "Sentiment (negative, neutral, positive) and language of French and English texts, offline."
    Options = SentimentClassifierOptions

    def __init__(self, options: SentimentClassifierOptions, *, entry_id: str) -> None:
        super().__init__(options, entry_id=entry_id)
        self._model: SentimentModel | None = None

    def prepare(self, directory: Path) -> None:
        if self._model is not None:
            return
        from cmflow.builtin.sentiment.model import SentimentModel

        if self.options.model_path is None:
            self._model = SentimentModel.builtin()
            return
        path = resolve_input_path(self.options.model_path, directory)
        if not path.is_file():
            raise UserFacingError(f"model file {path} not found: write it with the training script, or "
                                  "remove model_path to use the model shipped with cmflow")
        try:
            self._model = SentimentModel.from_path(path)
        except Exception as exc:
            raise UserFacingError(f"model file {path} cannot be read as a sentiment model "
                                  f"({type(exc).__name__}: {exc})") from None

    def classify(self, texts: "pl.Series", languages: "pl.Series | None") -> "pl.DataFrame":
        import polars as pl

        if self._model is None:
            self.prepare(Path.cwd())
        assert self._model is not None
        accepted = self.options.languages
        given = languages.to_list() if languages is not None else [None] * texts.len()
        known = [language_code(language) for language in given]  # fr-FR, FR -> fr; und -> None
        if len(accepted) == 1:  # a text of unknown language is read in the one language
            known = [language or accepted[0] for language in known]
        # A text its source says is in another language is not read as French or English.
        hints = [language if language in accepted else None for language in known]
        sarcasm = self.options.sarcasm
        if sarcasm is None:  # the rules were checked with the shipped model, not with the user's
            sarcasm = self.options.model_path is None
        answer = self._model.classify(texts.to_list(), hints if any(hints) else None, sarcasm=sarcasm)
        answer = answer.with_columns(pl.Series("language", known, dtype=pl.String).fill_null(answer["language"]))
        # Blank only a text whose language is known and not accepted: one whose language cannot
        # be told ("ok", "😡") keeps the label the model gives it, read in both languages.
        unread = pl.col("language").is_not_null() & ~pl.col("language").is_in(accepted)
        return answer.with_columns(pl.when(unread).then(None).otherwise(pl.col(c)).alias(c)
                                   for c in ("sentiment", "score"))

@hookimpl
def register_classifiers(register):
    register(Sentiment)
