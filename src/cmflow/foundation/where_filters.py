"""``where`` filters: which records a source keeps, which records a metric reads, which rows,
alerts and records an output shows.

A ``where`` table maps a name to a value or a list of values (any of them matches):

- on a source, the name is a field of the records it returns (``account``, ``platform``,
  ``pillar``, ``campaign`` ...) or a day field (``date``, ``published_at`` ...; ``date`` means the
  day that places the record in a period, whatever its kind calls it), whose value is a day
  (``"2026-11-05"``) or a range of days, both included (``"2026-11-01..2026-11-30"``, or open
  on one side: ``"2026-11-01.."``, ``"..2026-11-30"``), counted in the workflow's time zone;
- on a metric or an output, the name is a dimension (:data:`~cmflow.foundation.measurements.DIMENSIONS`).

Text matches exactly, except the platform, which matches whatever its case, the account, which
matches as a client's or a brand's accounts do (:func:`~cmflow.foundation.listening.account_key`:
``"@Lumen"`` is ``lumen``), and the campaign,
which matches whatever its spelling: ``"Soldes d'hiver"``, ``"soldes-d-hiver"`` and
``"SOLDES_D_HIVER"`` name one campaign (they share a
:func:`~cmflow.foundation.campaign_names.campaign_key`), as the measure stage groups them.
``"(none)"`` on ``format``, ``pillar`` or ``campaign`` matches the records that have none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, Union

from cmflow.foundation.campaign_names import campaign_key, campaign_key_of
from cmflow.foundation.listening import account_key, account_keys
from cmflow.foundation.measurements import BREAKDOWN_DIMENSIONS, DIMENSIONS, NONE_LABEL
from cmflow.foundation.names import closest

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.records import RecordKind

Where = Mapping[str, Union[str, Sequence[str]]]
"""A validated ``where`` table: name -> a value or a list of values."""

DAY_KEY = "date"
"""On a source, the day that places a record in a period, whatever its kind calls it."""
CASE_INSENSITIVE = ("platform",)
"""Fields compared whatever their case (platforms are stored in lower case)."""
ACCOUNT_KEYED = ("account",)
"""Fields compared by :func:`~cmflow.foundation.listening.account_key` (without case, accents,
surrounding blanks or a leading ``@``): one rule with :meth:`cmflow.foundation.clients.Client.owns`."""
ANY_SPELLING = ("campaign",)
"""Fields compared by their campaign key, whatever their spelling (``Soldes hiver`` = ``soldes-hiver``)."""
DAY_HELP = ('a day ("2026-11-05") or a range of days, both included ("2026-11-01..2026-11-30", '
            '"2026-11-01.." or "..2026-11-30")')


@dataclass(frozen=True)
class DayRange:
    """Days from ``start`` to ``end``, both included; None: open on that side."""

    start: date | None
    end: date | None

    def __str__(self) -> str:
        if self.start == self.end and self.start is not None:
            return self.start.isoformat()
        return f"{self.start or ''}..{self.end or ''}"


def values_of(value: str | Sequence[str]) -> list[str]:
    """A ``where`` value as a list of values."""
    return [value] if isinstance(value, str) else list(value)


def parse_days(text: str) -> DayRange:
    """``"2026-11-05"``, ``"2026-11-01..2026-11-30"``, ``"2026-11-01.."`` or ``"..2026-11-30"``;
    ValueError saying what is wrong otherwise."""
    text = text.strip()
    if ".." not in text:
        day = _day(text, text)
        return DayRange(day, day)
    first, _, last = text.partition("..")
    start = _day(first.strip(), text) if first.strip() else None
    end = _day(last.strip(), text) if last.strip() else None
    if start is None and end is None:
        raise ValueError(f"{text!r} has no day on either side of '..': write {DAY_HELP}")
    if start is not None and end is not None and end < start:
        raise ValueError(f"{text!r} ends before it starts: write the earlier day first")
    return DayRange(start, end)


def _day(text: str, whole: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(f"{text} is not a day of the calendar" + (f" (in {whole!r})" if whole != text else "")) from None
        raise ValueError(f"{whole!r} is not {DAY_HELP}: days are written YYYY-MM-DD") from None


# -- sources: records kept -------------------------------------------------------------------------

def record_where_problems(where: Where, kinds: Iterable["RecordKind"]) -> list[tuple[str, str, str]]:
    """What is wrong with a source's ``where`` for the record kinds it returns: (key, message,
    hint) each. A key must be a text or day field of at least one kind; the records of a kind
    without it cannot match and are left out (:func:`missing_keys`; the run warns when it
    leaves some out): an ``export`` source that may return posts and traffic validates with
    ``where = { account = ... }``, and a folder of posts only keeps one account's posts."""
    kinds = list(kinds)
    problems = []
    for key, value in where.items():
        having = [k for k in kinds if _field_type(k, key) is not None]
        if kinds and not having:
            fields = list(dict.fromkeys(f for k in kinds for f in _filterable(k)))
            suggestion = closest(key, fields)
            problems.append((key, f"{kinds[0].name} records have no field {key!r}" if len(kinds) == 1 else
                             f"no record the source returns ({', '.join(k.name for k in kinds)}) has a field {key!r}",
                             (f"did you mean {suggestion!r}? " if suggestion else "")
                             + f"{kinds[0].name if len(kinds) == 1 else 'its'} records have: {', '.join(fields)}"))
            continue
        kinds_of_key = having or kinds
        types = {_field_type(k, key) for k in kinds_of_key}
        if types & {"int", "float"}:
            problems.append((key, f"{key} is a number: a where keeps records by text (account, "
                             "platform, pillar ...) or by day", "remove it from where"))
            continue
        if types & {"date", "datetime"}:
            for item in values_of(value):
                try:
                    parse_days(item)
                except ValueError as exc:
                    problems.append((key, str(exc), ""))
    return problems


def record_condition(where: Where, kind: "RecordKind", timezone: str) -> "pl.Expr":
    """The records of ``kind`` a (valid) source ``where`` keeps; days counted in ``timezone``.
    A key ``kind`` has no field for keeps none of them, as an empty field keeps none."""
    import polars as pl

    if missing_keys(where, kind):
        return pl.lit(False)
    condition = pl.lit(True)
    for key, value in where.items():
        name = kind.time_field if key == DAY_KEY and DAY_KEY not in kind.field_names else key
        field_type = kind.field(name).type
        if field_type in ("date", "datetime"):
            day = pl.col(name) if field_type == "date" else pl.col(name).dt.convert_time_zone(timezone).dt.date()
            condition &= pl.any_horizontal([_within(day, parse_days(v)) for v in values_of(value)])
        else:
            condition &= text_condition(name, values_of(value))
    return condition


def missing_keys(where: Where, kind: "RecordKind") -> list[str]:
    """The keys of a (valid) source ``where`` that ``kind`` has no field for: no record of
    ``kind`` can match them (traffic has no ``account``), so the ``where`` keeps none."""
    return [key for key in where if _field_type(kind, key) is None]


def _within(day: "pl.Expr", days: DayRange) -> "pl.Expr":
    import polars as pl

    inside = day.is_not_null()
    if days.start is not None:
        inside &= day >= pl.lit(days.start)
    if days.end is not None:
        inside &= day <= pl.lit(days.end)
    return inside


def _field_type(kind: "RecordKind", key: str) -> str | None:
    if key == DAY_KEY and DAY_KEY not in kind.field_names:
        return kind.field(kind.time_field).type
    return kind.field(key).type if key in kind.field_names else None


def _filterable(kind: "RecordKind") -> list[str]:
    """The fields of ``kind`` a source's ``where`` may name."""
    names = [f.name for f in kind.fields if f.type not in ("int", "float")]
    return names if DAY_KEY in names else [*names, DAY_KEY]


# -- metrics and outputs: dimensions kept ----------------------------------------------------------

def dimension_where_problems(where: Where) -> list[tuple[str, str, str]]:
    """Keys of a metric's or an output's ``where`` that are no dimension: (key, message, hint)."""
    problems = []
    for key in where:
        if key not in DIMENSIONS:
            suggestion = closest(key, DIMENSIONS)
            problems.append((key, f"unknown dimension {key!r}", f"did you mean {suggestion!r}?" if suggestion
                             else f"dimensions: {', '.join(DIMENSIONS)}"))
    return problems


def compared(key: str, value: Any) -> str:
    """What a ``where`` compares of a value of ``key``: the platform in lower case, a campaign's
    key (a placeholder of no campaign, such as ``(none)``, as written), an account's
    :func:`~cmflow.foundation.listening.account_key`, any other text as written."""
    text = str(value)
    if key in CASE_INSENSITIVE:
        return text.lower()
    if key in ACCOUNT_KEYED:
        return account_key(text)
    if key in ANY_SPELLING:
        return campaign_key_of(text) or text
    return text


def text_condition(column: str, values: Sequence[str]) -> "pl.Expr":
    """Rows whose ``column`` is one of ``values`` (any case for the platform, any spelling for a
    campaign, an account by its key; ``(none)``: empty)."""
    import polars as pl

    if column in CASE_INSENSITIVE:
        matches = pl.col(column).str.to_lowercase().is_in([v.lower() for v in values])
    elif column in ACCOUNT_KEYED:
        matches = account_keys(pl.col(column).cast(pl.String)).is_in([account_key(v) for v in values])
    elif column in ANY_SPELLING:
        keys = [key for key in map(campaign_key_of, values) if key is not None]
        matches = pl.col(column).cast(pl.String).is_in(list(values)) | campaign_key(pl.col(column)).is_in(keys)
    else:
        matches = pl.col(column).is_in(list(values))
    if column in BREAKDOWN_DIMENSIONS and NONE_LABEL in values:
        matches = matches | pl.col(column).is_null()
    return matches.fill_null(False)


def rows_condition(where: Where, columns: Iterable[str]) -> "pl.Expr":
    """The rows of a frame (records or measurements) whose dimensions match ``where``; a row
    without one of its dimensions (an overall row, a frame without that column) does not match."""
    import polars as pl

    columns = set(columns)
    condition = pl.lit(True)
    for key, value in where.items():
        condition &= text_condition(key, values_of(value)) if key in columns else pl.lit(False)
    return condition


def dimensions_match(where: Where, dimensions: Mapping[str, Any]) -> bool:
    """Whether a series (an alert's or a verdict's dimensions) matches ``where``."""
    for key, value in where.items():
        have = dimensions.get(key)
        wanted = values_of(value)
        if have is None:
            if not (key in BREAKDOWN_DIMENSIONS and NONE_LABEL in wanted):
                return False
        elif compared(key, have) not in {compared(key, v) for v in wanted}:
            return False
    return True


# -- values that match nothing ---------------------------------------------------------------------

@dataclass(frozen=True)
class UnmatchedValue:
    """A value of a ``where`` that no row has: its key, the value, and a sentence naming it with
    the closest value present (``where.account: no post record has account = 'maisonlumem';
    did you mean 'maisonlumen'?``)."""

    key: str
    value: str
    note: str
    closest: str | None = None
    """The closest value the rows have, if one is close enough to be a misspelling's."""

    def __str__(self) -> str:
        return self.note


def unmatched_values(where: Where, frames: Iterable["pl.DataFrame"], what: str) -> list[UnmatchedValue]:
    """Each text value of ``where`` that no row of ``frames`` has (a misspelt account), with
    the closest value present, so that a filter never silently keeps nothing. ``what`` names
    the rows (``post records``, ``rows of total_likes``). Days and keys no frame has are left
    to the caller (validation, or the "kept none" note)."""
    frames = list(frames)
    found = []
    for key, value in where.items():
        columns = [f.get_column(key) for f in frames if key in f.columns and f.height]
        if not columns or any(c.dtype.is_temporal() for c in columns):
            continue
        present = sorted({str(v) for c in columns for v in c.drop_nulls().unique().to_list()})
        has_none = any(c.null_count() for c in columns) or NONE_LABEL in present
        folded = {compared(key, p) for p in present}
        for wanted in values_of(value):
            if wanted == NONE_LABEL and key in BREAKDOWN_DIMENSIONS:
                if has_none:
                    continue
            elif compared(key, wanted) in folded:
                continue
            suggestion = closest(wanted, present)
            found.append(UnmatchedValue(key, wanted, f"where.{key}: no {what} has {key} = {wanted!r}; " + (
                f"did you mean {suggestion!r}?" if suggestion else
                f"they have {', '.join(present[:5])}" + (" ..." if len(present) > 5 else "") if present else
                f"none has any {key}"), suggestion))
    return found
