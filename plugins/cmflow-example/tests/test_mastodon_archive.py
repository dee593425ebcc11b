"""The mastodon_archive source, on the sample export shipped with the package."""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import FetchContext, Period

from cmflow_example.mastodon_archive import MastodonArchive, MastodonArchiveError, MastodonArchiveOptions

# The sample spans October and November 2026; this window holds every post but the October one.
WINDOW = (datetime(2026, 11, 8, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))


def fetch_posts(path: Path, **options) -> tuple[list[dict], list[str]]:
    """Run the source over WINDOW; return its posts (sorted by post_id) and its warnings."""
    source = MastodonArchive(MastodonArchiveOptions(path=str(path), **options), entry_id="mastodon")
    ctx = FetchContext(*WINDOW, [Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")],
                       path.parent, logging.getLogger("test"))
    tables = list(source.fetch(ctx))
    assert [t.kind for t in tables] == ["post"]
    return sorted(tables[0].conformed().to_dicts(), key=lambda p: p["post_id"]), ctx.problems


def test_maps_create_activities_to_canonical_posts(sample_outbox):
    posts, problems = fetch_posts(sample_outbox)

    assert problems == []
    # Not counted: the boost (04), the direct message (05), the reply (06), October's post (01).
    assert [p["post_id"] for p in posts] == ["113500000000000002", "113500000000000003",
                                             "113500000000000007", "113500000000000008",
                                             "113500000000000009"]
    croissants = posts[0]
    assert croissants["platform"] == "mastodon"
    assert croissants["account"] == "@maisonlumiere@mastodon.social"
    assert croissants["published_at"] == datetime(2026, 11, 17, 9, 30, tzinfo=timezone.utc)
    assert croissants["text"] == "Fresh croissants at 7am & every day!\nCome early 🥐\n\n#bakery"
    assert croissants["url"] == "https://mastodon.social/@maisonlumiere/113500000000000002"
    assert (croissants["likes"], croissants["shares"], croissants["comments"]) == (12, 3, 2)
    assert [p["format"] for p in posts] == ["image", "text", "text", "image", "video"]
    assert posts[1]["text"] == "Thanks @julie for the lovely review: https://example.org/review"


def test_counters_the_export_lacks_are_missing_not_zero(sample_outbox):
    posts, _ = fetch_posts(sample_outbox)
    video = posts[-1]
    assert video["format"] == "video"
    assert (video["likes"], video["shares"], video["comments"]) == (None, None, None)
    # Mastodon reports no reach: engagement by reach must say "no value", not 0 %.
    assert all(p["reach"] is None and p["impressions"] is None for p in posts)


def test_replies_are_counted_on_request_and_account_can_be_named(sample_outbox):
    posts, _ = fetch_posts(sample_outbox, include_replies=True, account="Maison Lumière")
    assert "113500000000000006" in [p["post_id"] for p in posts]
    assert len(posts) == 6
    assert {p["account"] for p in posts} == {"Maison Lumière"}


def test_reads_the_folder_and_the_archives_mastodon_hands_out(sample_outbox, tmp_path):
    expected, _ = fetch_posts(sample_outbox)
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(sample_outbox, folder / "outbox.json")
    with tarfile.open(tmp_path / "archive-20261124.tar.gz", "w:gz") as archive:
        archive.add(folder / "outbox.json", arcname="outbox.json")
    with zipfile.ZipFile(tmp_path / "archive-20261124.zip", "w") as archive:
        archive.write(folder / "outbox.json", "archive/outbox.json")

    for path in (folder, tmp_path / "archive-20261124.tar.gz", tmp_path / "archive-20261124.zip"):
        assert fetch_posts(path)[0] == expected, path


def test_malformed_activities_are_skipped_and_reported(tmp_path):
    good = {"type": "Create", "actor": "https://example.social/users/bob",
            "object": {"id": "https://example.social/users/bob/statuses/1", "published": "2026-11-17T10:00:00Z",
                       "content": "<p>hi</p>", "to": ["https://www.w3.org/ns/activitystreams#Public"]}}
    no_date = {"type": "Create", "actor": "https://example.social/users/bob",
               "object": {"id": "https://example.social/users/bob/statuses/2", "content": "<p>?</p>",
                          "to": ["https://www.w3.org/ns/activitystreams#Public"]}}
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [good, no_date]}), encoding="utf-8")

    posts, problems = fetch_posts(outbox)

    assert [(p["account"], p["post_id"], p["text"]) for p in posts] == [("@bob@example.social", "1", "hi")]
    assert problems == ["skipped 1 malformed activity in outbox.json"]


def test_unreadable_exports_fail_with_the_path(tmp_path):
    with pytest.raises(MastodonArchiveError, match="file not found"):
        fetch_posts(tmp_path / "missing.json")
    not_json = tmp_path / "outbox.json"
    not_json.write_text("<html>", encoding="utf-8")
    with pytest.raises(MastodonArchiveError, match="not valid JSON"):
        fetch_posts(not_json)
    not_outbox = tmp_path / "actor.json"
    not_outbox.write_text('{"type": "Person"}', encoding="utf-8")
    with pytest.raises(MastodonArchiveError, match="no orderedItems"):
        fetch_posts(not_outbox)


def test_options_refuse_unknown_keys_and_document_every_field():
    with pytest.raises(pydantic.ValidationError, match="extra"):
        MastodonArchiveOptions(path="outbox.json", acount="@typo@example.social")
    for name, field in MastodonArchiveOptions.model_fields.items():
        assert field.description and field.examples, name
