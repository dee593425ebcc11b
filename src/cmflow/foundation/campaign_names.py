"""When two records name the same campaign: a time tracker's ``Black Friday`` and a link's
``utm_campaign=black_friday`` (or ``black-friday``) are one campaign, and ``Noël`` is ``noel``.

Trackers and calendars write campaigns as people name them; UTM tags as URLs allow. A campaign's
*key* sets case, accents, spaces, hyphens and underscores aside, and nothing else (no spelling
is guessed). Placeholders analytics tools write where a visit had no campaign (GA4's ``(not set)``,
``(direct)``, ``(organic)``, ``(referral)``; cmflow's own ``(none)``) name no campaign: their key
is null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

NO_CAMPAIGN = ("(not set)", "(direct)", "(organic)", "(referral)", "(none)", "(not provided)", "")
"""Campaign values that say a visit or an entry had no campaign (lower case)."""


def campaign_key(column: "pl.Expr") -> "pl.Expr":
    """The key two spellings of one campaign share (``Black Friday``, ``black_friday`` and
    ``black-friday``: ``black_friday``; ``Noël``: ``noel``); null for a placeholder of no campaign."""
    import polars as pl

    text = (column.cast(pl.String).str.strip_chars().str.to_lowercase()
            .str.normalize("NFKD").str.replace_all(r"\p{M}", ""))
    key = text.str.replace_all(r"[\s_\-]+", "_").str.strip_chars("_")
    return pl.when(~text.is_in(list(NO_CAMPAIGN)) & (key != "")).then(key)
