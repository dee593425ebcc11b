"""What cmflow knows of one platform export (or one sheet of a workbook export)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping, Optional, Union

ColumnChoice = Union[str, tuple[str, ...]]
"""One column, or several: each row takes the first of them that is not empty, and a listed
column the file lacks is skipped (an older and a newer name of one column)."""


@dataclass(frozen=True, eq=False)
class ExportFormat:
    """One known export: the table a platform writes, how to recognise it and how it maps.

    A workbook export with several useful sheets (LinkedIn's content export: ``All posts`` and
    ``Metrics``) is one format per sheet, all with the same ``file_type``; a file is of every
    format one of its tables matches. Formats are compared and hashed by identity (each is one
    module-level constant), and their mappings are read-only.
    """

    name: str
    """Short name, as the source's `format` option and messages write it (``tiktok_overview``)."""
    title: str
    """What a community manager calls it: where it is downloaded from."""
    platform: str
    """The records' platform (lower case)."""
    record: str
    """The record kind each row becomes."""
    file_type: Literal["csv", "xlsx"]
    identifying: tuple[str, ...]
    """Header names that are all present in this export and together in no other known one."""
    columns: Mapping[str, ColumnChoice]
    """Canonical field -> column(s), as the ``csv`` source's `columns` option."""
    sheet: Optional[str] = None
    """The workbook's sheet holding the table (xlsx only)."""
    header_row: int = 1
    """The row (from 1) the header is usually on; detection also looks a few rows further."""
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Canonical field -> {value in the file: canonical value} (post types)."""
    constants: Mapping[str, str] = field(default_factory=dict)
    """Canonical field -> fixed value (the platform is added by itself)."""
    optional: tuple[str, ...] = ()
    """Fields whose columns only some variants of the export have: left out when missing."""
    date_format: tuple[str, ...] = ()
    """strftime formats of date columns, tried in order (empty: ISO dates)."""
    datetime_format: tuple[str, ...] = ()
    """strftime formats of date-time columns, tried in order (empty: ISO forms)."""
    decimal: Literal[".", ","] = "."
    thousands: Optional[str] = None
    account_column: Optional[str] = None
    """Column naming the account, or None when the file does not (the `account` option must)."""
    id_pattern: Optional[str] = None
    """A regular expression: the record's id is its first match in the mapped id column (LinkedIn
    has no post id, the id is taken from the post's link); the whole value when it does not match."""
    not_records: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Column -> values marking rows that are not records, left out before reading: YouTube
    Studio's `Total` row (first under the header, the sum of every video) would count each video
    twice. A totals row of any other export is a bad row, as the csv source says."""
    excluding: tuple[str, ...] = ()
    """Header names this export never has: a table holding one is not of this format (YouTube
    Studio's `Chart data.csv` has the table's columns and a `Date`, one row per day and video)."""
    sums: tuple[str, ...] = ()
    """Columns holding the sum of others (Meta's `Reactions, Comments and Shares`, X's
    `Engagements`): never read, since adding them would count the others twice; `cmflow
    inspect` says so."""
    account_in_url: Optional[str] = None
    """A regular expression whose first group is the account's handle in a post's link (X's
    `https://x.com/<handle>/status/<id>`): `cmflow inspect` suggests it for `account`."""
    counters_over_range: bool = False
    """The counters are those of the export's date range (YouTube Studio's table), not each
    record's lifetime totals at download time: two downloads of one post are then two different
    figures, and the newer one is no more right than the older."""
    joined: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Field -> a day column and a time column read together as one date-time (Toggl's `Start
    date` and `Start time`), in ``datetime_format``; left out when the file lacks either."""
    places: Mapping[str, str] = field(default_factory=dict)
    """Time trackers: place name (``tags``, ``task``, ``project``, ``client``) -> its column, from
    which the export source's `task_type_from` and `campaign_from` options choose."""
    list_places: tuple[str, ...] = ()
    """Places whose cell is a comma-separated list (Toggl's and Clockify's `Tags`): a field read
    from one takes its first item."""
    zero_is_missing: tuple[str, ...] = ()
    """Fields where 0 means "not given" (a billable amount of 0: no billable rate, or an entry not
    billable), read as no value so that the workflow's rates price the time, never as free."""
    date_order_chosen_by_user: bool = False
    """Dates are written in the order the tracker's user chose (Clockify: 11/03/2026 month first,
    or 03/11/2026 day first): ``date_format`` lists the month-first forms; the order is told from
    the file, else the export source's `date_order` option."""
    notes: str = ""
    """The traps of this export, for docs/exports.md and `cmflow inspect`."""
    reader: Literal["mapped", "traffic"] = "mapped"
    """How its rows are read: ``mapped``, by the csv and xlsx sources with ``columns`` as their
    mapping; ``traffic``, by :mod:`cmflow.builtin.sources.traffic_exports` (web analytics
    exports: comment lines above the header, a `;` or `,` separator, amounts with currency
    signs in the file's locale, a totals row, ``split`` columns, the platform read from the
    source)."""
    split: Mapping[str, str] = field(default_factory=dict)
    """Column -> separator, for a column holding two fields (GA4's `Session source / medium`,
    split on " / "): ``columns`` maps both fields to it, the first to the part before the
    separator, the second to the part after (``traffic`` reader only)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        object.__setattr__(self, "constants", MappingProxyType(dict(self.constants)))
        object.__setattr__(self, "not_records", MappingProxyType(dict(self.not_records)))
        object.__setattr__(self, "places", MappingProxyType(dict(self.places)))
        object.__setattr__(self, "joined", MappingProxyType(dict(self.joined)))
        object.__setattr__(self, "split", MappingProxyType(dict(self.split)))
        object.__setattr__(self, "values", MappingProxyType({k: MappingProxyType(dict(v))
                                                             for k, v in self.values.items()}))

    def mapped_columns(self) -> set[str]:
        """Every column name this format reads."""
        names = {name for value in self.columns.values() for name in _names(value)} | set(self.places.values()) \
            | {name for pair in self.joined.values() for name in pair}
        return names | ({self.account_column} if self.account_column else set())


def joined_column(pair: tuple[str, str]) -> str:
    """The name of the column two joined columns make, as messages show it."""
    return f"{pair[0]} + {pair[1]}"


def _names(value: ColumnChoice) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True, eq=False)
class CompanionFile:
    """A file that comes in one download with a known export and holds other views of the same
    figures (YouTube Studio's `Chart data.csv` and `Totals.csv` beside `Table data.csv`): in a
    folder it is passed over with a note, never read (its figures would count twice) and never
    an error. It is recognised as a format is, from its header, and only when no format matches."""

    name: str
    """Short name, as notes write it (``youtube_chart_data``)."""
    title: str
    """What it is, and the download it comes in."""
    companion_of: str
    """The name of the known format it comes with."""
    identifying: tuple[str, ...]
    """Header names that are all present in it."""
    reason: str
    """Why it is not read."""
    columns: Optional[int] = None
    """When set, its header has exactly this many columns (`Totals.csv`: the date and one metric)."""
    file_name: Optional[str] = None
    """When set, the file's name must start with this (any case): for a header too plain to tell
    it by itself (`Date,Views`)."""

    def matches(self, file_name: str, header: list[str]) -> bool:
        """True when a file called ``file_name`` with this header is this companion file."""
        names = [n for n in header if n]
        if not set(self.identifying) <= set(names):
            return False
        if self.columns is not None and len(names) != self.columns:
            return False
        return self.file_name is None or file_name.lower().startswith(self.file_name.lower())

    def note(self, file_name: str) -> str:
        """The run summary's note for a file of this kind, passed over."""
        return f"{file_name}: {self.title}, which comes with the {self.companion_of} export: not read " \
               f"({self.reason}); passed over"
