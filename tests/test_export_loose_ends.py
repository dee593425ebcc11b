"""Loose ends of the export source, each through the real source or command on real-shaped files
(invented brands): a post type the format does not know, the `account` option on a file that names
its own account, and record kinds counted in words in the run summary."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from cmflow import FetchContext, Period
from cmflow.builtin.sources.export_source import ExportSource
from tests.cmflow_command import cmflow_in_process

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
FACEBOOK = EXPORTS / "meta-facebook-posts.csv"


def read(path: Path, **options) -> tuple[dict, FetchContext]:
    source = ExportSource(ExportSource.Options(path=str(path), **options), entry_id="exports")
    period = Period(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date(), "UTC")
    ctx = FetchContext(datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc),
                       [period], path.parent, logging.getLogger("test.export"))
    return {table.kind: table.conformed().to_dicts() for table in source.fetch(ctx)}, ctx


def test_an_unknown_post_type_is_kept_and_reported_as_the_formats_gap(tmp_path):
    text = FACEBOOK.read_text(encoding="utf-8-sig").replace(",Photos,", ",Live videos,", 1)
    path = tmp_path / "facebook.csv"
    path.write_text("\ufeff" + text, encoding="utf-8")
    posts = read(path)[0]["post"]
    assert "Live videos" in [p["format"] for p in posts]  # kept as written, not dropped, not guessed
    warning, = [p for p in read(path)[1].problems if "Live videos" in p]
    assert warning.startswith('facebook.csv: "Post type" value(s) "Live videos" are post types')
    assert "gap in cmflow's meta_facebook_posts format" in warning and "kept" in warning
    assert "values.format" not in warning  # the export source has no such option: never advise it


def test_the_csv_source_still_advises_values_format(tmp_path):
    from cmflow.builtin.sources.csv_source import CsvSource

    path = tmp_path / "posts.csv"
    path.write_text("platform,account,post_id,published_at,format,likes\n"
                    "instagram,velours,1,2026-11-16T10:00:00Z,IG reel,4\n", encoding="utf-8")
    source = CsvSource(CsvSource.Options(path=str(path)), entry_id="posts")
    ctx = FetchContext(datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc),
                       [], tmp_path, logging.getLogger("test.csv"))
    list(source.fetch(ctx))
    assert any('values.format = { "IG reel" = "..." }' in p for p in ctx.problems), ctx.problems


def test_account_disagreeing_with_the_files_own_account_is_warned():
    records, ctx = read(FACEBOOK, account="maison.lumen")
    assert {p["account"] for p in records["post"]} == {"Maison Lumen"}  # the file's own account wins
    warning, = [p for p in ctx.problems if "account = " in p]
    assert warning.startswith('meta-facebook-posts.csv names its own account(s) in "Page name" ("Maison Lumen")')
    assert 'account = "maison.lumen" is not used for it' in warning and "where = { account" in warning


def test_account_agreeing_with_the_file_or_absent_says_nothing():
    for options in ({"account": "Maison Lumen"}, {}):
        _, ctx = read(FACEBOOK, **options)
        assert not [p for p in ctx.problems if "account" in p], ctx.problems


def test_account_used_by_another_file_of_the_folder_says_nothing(tmp_path):
    # A brand's folder: the Facebook export names its page, the TikTok overview names nothing, so
    # `account` is needed (for TikTok) and is no mistake: no warning, each file its own account.
    for name in ("meta-facebook-posts.csv", "tiktok-overview-2026-11a.csv"):
        (tmp_path / name).write_bytes((EXPORTS / name).read_bytes())
    records, ctx = read(tmp_path, account="maison.lumen")
    assert {p["account"] for p in records["post"]} == {"Maison Lumen"}
    assert {d["account"] for d in records["account_activity"]} == {"maison.lumen"}
    assert not [p for p in ctx.problems if "account" in p], ctx.problems


def test_the_run_summary_counts_daily_activity_records_in_words(tmp_path):
    overview = EXPORTS / "tiktok-overview-2026-11a.csv"
    (tmp_path / "overview.csv").write_bytes(overview.read_bytes())
    workflow = tmp_path / "workflow.toml"
    workflow.write_text('[workflow]\nname = "Counts"\ntimezone = "Europe/Paris"\nperiod = "last_week"\n'
                        'as_of = "2026-11-23"\n\n[[sources]]\nid = "tiktok"\nplugin = "export"\n'
                        'path = "overview.csv"\naccount = "velours.atelier"\n\n[[metrics]]\nplugin = "totals"\n'
                        'counters = ["likes"]\n', encoding="utf-8")
    done = cmflow_in_process("run", workflow, "--store", f"sqlite:///{tmp_path / 'state.db'}")
    assert done.returncode == 0, done.stderr
    line, = [row for row in done.stderr.splitlines() if "source tiktok (export)" in row]
    assert line.rstrip().endswith("9 daily activity records"), line
    assert "account_activitys" not in done.stderr
