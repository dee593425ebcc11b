"""Which languages reports and messages are written in: one message catalogue each,
``src/cmflow/catalogues/<code>.toml``.

Kept apart from :mod:`cmflow.presentation.language` (the catalogues' words and Babel's
formats) so that checking a workflow's ``language`` options loads neither Babel nor the
presentation layer.
"""

from __future__ import annotations

from importlib import resources

CATALOGUES = resources.files("cmflow") / "catalogues"
"""The folder of the message catalogues, one ``<code>.toml`` per language."""
LANGUAGES: tuple[str, ...] = tuple(sorted(
    entry.name.removesuffix(".toml") for entry in CATALOGUES.iterdir() if entry.name.endswith(".toml")))
"""The languages reports are written in: the catalogues present (``("en", "fr")``)."""


def language_problems(code: str | None) -> list[tuple[str, str]]:
    """What validate says of an output's ``language`` option (``None``: the default, fine)."""
    if code is not None and code.split("-")[0].lower() not in LANGUAGES:
        return [("language", f"unknown language {code!r}: use one of {', '.join(LANGUAGES)}")]
    return []
