"""NUL bytes in an export, as a damaged copy leaves them (a tail of zeros where the rest of the
file never arrived, a stray byte in a cell or in a header name): both the ``csv`` source and the
``export`` source name the file, the line and the column (counted from 1, in characters, one count
for both) and say to download the export again; never "not an export cmflow knows" nor a UTF-16
guess. The files are the TikTok Studio overview fixture (tests/fixtures/exports), damaged here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.builtin.sources.export_detection import HEAD_BYTES, UnknownExport, identify
from cmflow.builtin.sources.export_source import ExportSource

OVERVIEW = (Path(__file__).parent / "fixtures" / "exports" / "tiktok-overview-2026-11a.csv").read_bytes()
"""A byte-order mark, the header on line 1, then one quoted row a day from "November 14"."""


def csv_error(path: Path) -> str:
    """The csv source's error on ``path`` (read as TikTok's overview is)."""
    source = CsvSource(CsvSource.Options(path=str(path), record="account_activity", date_format="%B %d",
                                         constants={"platform": "tiktok", "account": "lumen"},
                                         columns={"date": "Date", "impressions": "Video Views"}), entry_id="csv")
    return _error(source, path)


def export_error(path: Path) -> str:
    """The export source's error on ``path``."""
    return _error(ExportSource(ExportSource.Options(path=str(path), account="lumen"), entry_id="export"), path)


def _error(source, path: Path) -> str:
    period = Period(datetime(2026, 11, 16).date(), datetime(2026, 11, 22).date(), "UTC")
    ctx = FetchContext(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc),
                       [period], path.parent, logging.getLogger("test.nul"))
    with pytest.raises(DataFileError) as caught:
        list(source.fetch(ctx))
    message = str(caught.value)
    for wrong in ("not an export cmflow knows", "utf-16", "UTF-16", "\x00", "\n"):
        assert wrong not in message, message
    return message


@pytest.mark.parametrize("zeros", [4096, HEAD_BYTES + 100])  # within the head the export is told by, and past it
def test_a_tail_of_zeros_is_a_copy_cut_short_at_its_line_and_column(tmp_path: Path, zeros: int) -> None:
    # The zeros start on line 5 (the row of "November 17", 38 characters and its line break),
    # cut after its 21 first characters '"November 17","1200",': the first NUL is the 22nd.
    row = b'"November 17","1200","22","95","7","5"\n'
    assert row in OVERVIEW
    kept = OVERVIEW[:OVERVIEW.index(row) + len(row) - 18]
    assert kept.endswith(b'\n"November 17","1200",')
    path = tmp_path / "tiktok.csv"
    path.write_bytes(kept + b"\x00" * zeros)
    for message in (csv_error(path), export_error(path)):
        assert message.startswith(f"{path}, line 5, column 22")
        assert "only NUL bytes (byte 0) from there to its end" in message and "cut short" in message
        assert message.endswith("export it again")
    assert '(in "Profile Views")' in export_error(path)  # the export source names the cell's column too
    assert "tiktok_overview" in export_error(path)


def test_a_nul_in_a_header_name_is_damage_at_its_character_not_an_unknown_export(tmp_path: Path) -> None:
    # '"Date","Video Views","Profile' is 29 characters (after the byte-order mark, not counted):
    # the NUL replacing the space of "Profile Views" is the 30th.
    path = tmp_path / "tiktok.csv"
    path.write_bytes(OVERVIEW.replace(b'"Profile Views"', b'"Profile\x00Views"'))
    for message in (csv_error(path), export_error(path)):
        assert message.startswith(f"{path}, line 1, column 30: holds a NUL character (byte 0)")
        assert "damaged" in message and message.endswith("export it again")
    assert "nearest known format: tiktok_overview" in export_error(path)


def test_a_nul_in_a_header_sharing_one_column_of_four_names_no_nearest_format(tmp_path: Path) -> None:
    """"Views" is one of youtube_studio_table's four identifying columns: not near it, neither in
    the message nor in UnknownExport.closest (which the NUL's message reads)."""
    path = tmp_path / "views.csv"
    path.write_bytes(b"Views,Foo,Bar,Baz\n1,2\x00,3,4\n")
    message = export_error(path)
    assert message.startswith(f"{path}, line 2, column 4: holds a NUL character") and "nearest" not in message
    path.write_bytes(b"Views,Foo,Bar,Baz\n1,2,3,4\n")
    with pytest.raises(UnknownExport) as caught:
        identify(path)
    assert (caught.value.closest, caught.value.missing) == (None, ())


def test_a_stray_nul_in_a_cell_is_counted_in_characters_by_both_sources(tmp_path: Path) -> None:
    # '"November 15","9' is 16 characters: the NUL after the 9 of "900" is the 17th of line 3.
    path = tmp_path / "tiktok.csv"
    path.write_bytes(OVERVIEW.replace(b'"November 15","900"', b'"November 15","9\x0000"'))
    csv_message, export_message = csv_error(path), export_error(path)
    assert csv_message.startswith(f"{path}, line 3, column 17: holds a NUL character")
    assert export_message.startswith(f'{path}, line 3, column 17 (in "Video Views"): holds a NUL character')
    assert "this tiktok_overview export is damaged" in export_message


def test_a_file_of_zeros_only_says_so(tmp_path: Path) -> None:
    path = tmp_path / "tiktok.csv"
    path.write_bytes(b"\x00" * 5000)
    for message in (csv_error(path), export_error(path)):
        assert message == f"{path} holds only NUL bytes (byte 0), no text: the file is damaged (a copy or " \
                          "download that never completed); export it again"
