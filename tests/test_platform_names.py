"""Platform names as calendars and UTM tags write them."""

from __future__ import annotations

import pytest

from cmflow.foundation.platform_names import platform_of


@pytest.mark.parametrize(("written", "platform"), [
    ("Instagram", "instagram"), ("IG", "instagram"), (" insta ", "instagram"), ("l.instagram.com", "instagram"),
    ("https://www.instagram.com/p/Cx1/", "instagram"), ("FB", "facebook"), ("m.facebook.com", "facebook"),
    ("lm.facebook.com", "facebook"), ("LinkedIn", "linkedin"), ("lnkd.in", "linkedin"),
    ("www.linkedin.com", "linkedin"), ("Twitter", "x"), ("t.co", "x"), ("X", "x"), ("TikTok", "tiktok"),
    ("youtu.be", "youtube"), ("YouTube Shorts", "youtube"), ("bsky.app", "bluesky"),
])
def test_names_abbreviations_and_addresses_name_their_platform(written, platform) -> None:
    assert platform_of(written) == platform


@pytest.mark.parametrize("written", ["newsletter", "google", "(direct)", "(not set)", "", None,
                                     "notinstagram.com", "instagram.com.evil.example", "xbox"])
def test_anything_else_names_no_platform(written) -> None:
    assert platform_of(written) is None
