"""When two records name the same campaign: a time tracker's ``Black Friday`` and a link's
``utm_campaign=black_friday`` (or ``black-friday``) are one campaign, and ``Noël`` is ``noel``.

Trackers and calendars write campaigns as people name them; UTM tags as URLs allow. A campaign's
*key* is the UTM value ``cmflow utm`` writes for it (:func:`~cmflow.foundation.utm_links.utm_value`:
lower case, accents dropped, each run of other characters one separator), with ``_`` for ``-``:
``Soldes d'hiver``, ``soldes-d-hiver`` and ``SOLDES_D_HIVER`` share ``soldes_d_hiver``. Nothing
else is guessed. A name with no Latin letter or digit at all (``Распродажа``) keys as itself,
lower case, spaces as ``_``. Placeholders analytics tools write where a visit had no campaign
(GA4's ``(not set)``, ``(direct)``, ``(organic)``, ``(referral)``; cmflow's own ``(none)``) name
no campaign: their key is null.

:func:`one_spelling` writes every campaign of a run's records one way, so that every figure
groups and joins campaigns alike.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Iterable, Mapping

from cmflow.foundation.measurements import NONE_LABEL

if TYPE_CHECKING:
    import polars as pl

NO_CAMPAIGN = ("(not set)", "(direct)", "(organic)", "(referral)", NONE_LABEL, "(not provided)", "")
"""Campaign values that say a visit or an entry had no campaign (lower case): analytics tools'
placeholders, and cmflow's own label of records without one."""


def campaign_key(column: "pl.Expr") -> "pl.Expr":
    """The key two spellings of one campaign share (``Black Friday``, ``black_friday`` and
    ``black-friday``: ``black_friday``; ``Noël``: ``noel``; ``Soldes d'hiver``: ``soldes_d_hiver``);
    null for a placeholder of no campaign. The same as :func:`campaign_key_of`, on a column."""
    import polars as pl

    written = column.cast(pl.String).str.strip_chars()
    text = written.str.to_lowercase()
    # Punctuation of any script (the ’ of "d’hiver") separates before the accents are dropped.
    ascii_only = (written.str.replace_all(r"[^\p{L}\p{N}]+", " ").str.normalize("NFKD")
                  .str.replace_all(r"[^\x00-\x7F]", "").str.to_lowercase())
    key = ascii_only.str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
    spaced = text.str.replace_all(r"\s+", "_")  # no Latin letter or digit to keep: the name itself
    named = ~text.is_in(list(NO_CAMPAIGN))  # null for null
    return pl.when(named & (key != "")).then(key).when(named).then(spaced)  # named as the column


def campaign_key_of(name: str) -> str | None:
    """The key of one campaign name (see :func:`campaign_key`); None for a placeholder."""
    text = name.strip().lower()
    if text in NO_CAMPAIGN:
        return None
    spaced = "".join(c if c.isalnum() else " " for c in name.strip())  # the ’ of "d’hiver" separates
    plain = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode("ascii").lower()
    key = "_".join(part for part in "".join(c if c.isascii() and c.isalnum() else " " for c in plain).split())
    return key or "_".join(text.split())


def campaign_spellings(frames: Iterable["pl.DataFrame"], written: Iterable[str] = ()) -> dict[str, str]:
    """Each campaign key's one spelling: the name as ``written`` gives it (``[production.budgets]``'s
    keys) when one has that key, else the spelling of the earliest record naming it (by its time
    field, then its kind's order in ``frames``), ties in alphabetical order. ``frames`` are record
    frames with a ``campaign`` column and a ``_first`` column (when each record happened)."""
    import polars as pl

    labels: dict[str, str] = {}
    for name in written:
        key = campaign_key_of(name)
        if key is not None:
            labels.setdefault(key, name)
    seen = [f.select(pl.col("campaign").cast(pl.String), _instant(f.schema["_first"]).alias("_first"),
                     pl.lit(order).alias("_order"))
            for order, f in enumerate(frames) if f.height]
    if not seen:
        return labels
    first = (pl.concat(seen).drop_nulls("campaign").with_columns(campaign_key(pl.col("campaign")).alias("_key"))
             .drop_nulls("_key").sort(["_key", "_first", "_order", "campaign"], nulls_last=True)
             .unique("_key", keep="first"))
    for key, name in zip(first["_key"].to_list(), first["campaign"].to_list()):
        labels.setdefault(key, name)
    return labels


def _instant(dtype: "pl.DataType") -> "pl.Expr":
    """The ``_first`` column as a naive UTC datetime, whether a date or an aware datetime."""
    import polars as pl

    column = pl.col("_first")
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return column.cast(pl.Datetime("us"))


def one_spelling(records: Mapping[str, "pl.DataFrame"], time_fields: Mapping[str, str],
                 written: Iterable[str] = ()) -> tuple[dict[str, "pl.DataFrame"], dict[str, str]]:
    """``records`` (one frame per record kind) with each campaign written one way: all the
    spellings of one key (:func:`campaign_key`) become :func:`campaign_spellings`' label, in
    every kind, so that posts, time entries, traffic and calendar items of one campaign group
    and join as one. Placeholders of no campaign stay as written. Also returns the labels by key."""
    import polars as pl

    # A kind whose records name no campaign (the null count is known without a scan) has none to
    # rewrite: its campaign column is not even grouped.
    named = {kind: frame for kind, frame in records.items()
             if "campaign" in frame.columns and frame.get_column("campaign").null_count() < frame.height
             and kind in time_fields}
    # Each kind's distinct campaigns with their earliest record: a few rows, whatever the records.
    # Lazy, so that only the two columns are read (an eager group-by of a wide frame of posts cost
    # ten times as much).
    firsts = {kind: frame.lazy().group_by("campaign").agg(pl.col(time_fields[kind]).min().alias("_first"))
              .collect() for kind, frame in named.items()}
    labels = campaign_spellings(list(firsts.values()), written)
    if not labels:
        return dict(records), labels
    relabelled = dict(records)
    for kind, frame in named.items():
        distinct = firsts[kind].select(pl.col("campaign").cast(pl.String)).drop_nulls()
        keyed = distinct.with_columns(campaign_key(pl.col("campaign")).alias("_key"))
        renamed = {campaign: labels[key] for campaign, key in keyed.iter_rows()
                   if key in labels and labels[key] != campaign}
        if renamed:
            dtype = frame.schema["campaign"]
            relabelled[kind] = frame.with_columns(pl.col("campaign").cast(pl.String).replace(renamed)
                                                  .cast(dtype).alias("campaign"))
    return relabelled, labels
