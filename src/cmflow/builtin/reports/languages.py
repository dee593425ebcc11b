"""Which languages reports are written in: one message catalogue each, ``catalogues/<code>.toml``.

Kept apart from :mod:`cmflow.builtin.reports.language` (the catalogues' words and Babel's
formats) so that checking a workflow's ``language`` options does not load Babel.
"""

from __future__ import annotations

from importlib import resources

CATALOGUES = resources.files("cmflow.builtin.reports") / "catalogues"
"""The folder of the message catalogues, one ``<code>.toml`` per language."""
LANGUAGES: tuple[str, ...] = tuple(sorted(
    entry.name.removesuffix(".toml") for entry in CATALOGUES.iterdir() if entry.name.endswith(".toml")))
"""The languages reports are written in: the catalogues present (``("en", "fr")``)."""
