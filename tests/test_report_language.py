"""Report languages: the catalogues match key for key, every built-in metric has words in every
language, no English is left in the French catalogue, and Babel formats figures as each
language writes them (the exact characters: U+202F thousands, U+00A0 before % in French)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from cmflow.builtin.metrics.totals import TOTALS
from cmflow.presentation.language import (LANGUAGES, MessageError, catalogue_differences, language,
                                             load_catalogue, placeholders)
from cmflow.plugins.registry import load_registry

REPO = Path(__file__).resolve().parent.parent
NNBSP = "\u202f"  # narrow no-break space: French thousands
NBSP = "\u00a0"  # no-break space: French before %, and between a change and "pt"
THIN = "\u2009"  # thin space around the en dash of a range across months


def built_in_metric_names() -> set[str]:
    """Every measurement a built-in metric can produce: the names its produces() gives with
    default options (or its sample ones, where an option is required), and the ones its options
    can ask for."""
    registry = load_registry()
    names = set()
    for name in registry.names("metric"):
        plugin = registry.get("metric", name).cls
        if not plugin.__module__.startswith("cmflow.builtin."):
            continue
        names.update(plugin(plugin.Options(**plugin.sample_options), entry_id=name).produces())
    names.update(f"total_{counter}" for counter in TOTALS)  # totals' counters option
    names.add("bottom_posts")  # top_posts' direction = "bottom"
    for name in ("sentiment_counts", "sentiment_share", "net_sentiment", "most_negative"):  # their records option
        plugin = registry.get("metric", name).cls
        for records in ("mention", "conversation", "post"):
            names.update(plugin(plugin.Options(records=records), entry_id=name).produces())
    return names


# -- the catalogues --------------------------------------------------------------------------

def test_languages_are_the_catalogues():
    assert LANGUAGES == ("en", "fr")


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
def test_catalogue_has_the_keys_and_placeholders_of_english(code):
    assert catalogue_differences(code) == []


def test_differences_name_missing_extra_keys_and_placeholders(tmp_path, monkeypatch):
    from cmflow.presentation import language as module

    (tmp_path / "en.toml").write_text('[a]\nb = "x {n}"\nc = "y"\n', encoding="utf-8")
    (tmp_path / "xx.toml").write_text('[a]\nb = "x {m}"\nd = "z"\n', encoding="utf-8")
    monkeypatch.setattr(module, "CATALOGUES", tmp_path)
    assert catalogue_differences("xx") == [
        "xx: a_b has placeholders ['m'], en.toml ['n']",
        "xx: a_d is not in en.toml",
        "xx: missing a_c",
    ]


def test_two_tables_giving_one_key_are_an_error(tmp_path, monkeypatch):
    from cmflow.presentation import language as module

    (tmp_path / "xx.toml").write_text('[a]\nb_c = "x"\n[a_b]\nc = "y"\n', encoding="utf-8")
    monkeypatch.setattr(module, "CATALOGUES", tmp_path)
    with pytest.raises(ValueError, match=r"catalogue xx.toml: a_b.c and a.b_c are both message 'a_b_c': rename one"):
        load_catalogue("xx")


def test_catalogue_keys_tool_lists_differences_and_exits_nonzero(tmp_path, monkeypatch, capsys):
    done = subprocess.run([sys.executable, str(REPO / "tools" / "catalogue_keys.py")],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "fr: same keys and placeholders as en")

    import importlib.util

    from cmflow.presentation import language as module

    spec = importlib.util.spec_from_file_location("catalogue_keys", REPO / "tools" / "catalogue_keys.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / "en.toml").write_text('a = "x {n}"\nb = "y"\n', encoding="utf-8")
    (tmp_path / "xx.toml").write_text('a = "x"\n', encoding="utf-8")
    monkeypatch.setattr(module, "CATALOGUES", tmp_path)
    monkeypatch.setattr(tool, "LANGUAGES", ("en", "xx"))
    assert tool.main([]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "xx: a has placeholders [], en.toml ['n']", "xx: missing b"]
    assert tool.main(["de"]) == 2
    assert capsys.readouterr().err == "no catalogue for de: the languages are en, xx\n"


def test_plural_messages_have_other_and_placeholders_are_names():
    for code in LANGUAGES:
        for key, message in load_catalogue(code).items():
            forms = message.values() if isinstance(message, dict) else [message]
            for form in forms:
                # every brace is a {name} placeholder: no stray or format-spec brace
                assert re.sub(r"\{\w+\}", "", form).count("{") == 0, (code, key)
                assert "}" not in re.sub(r"\{\w+\}", "", form), (code, key)
                assert "<" not in form and "&" not in form, (code, key)  # plain text: templates escape it
            if isinstance(message, dict):
                assert "n" in placeholders(message), (code, key)


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_built_in_metric_has_a_label_and_help(code):
    lang = language(code)
    names = built_in_metric_names()
    assert {"engagement_rate_by_reach", "follower_growth_pct", "followers_lost", "top_posts",
            "total_profile_views", "negative_mentions"} <= names
    missing = sorted(m for m in names if not (lang.has(f"metric_{m}_label") and lang.has(f"metric_{m}_help")))
    assert missing == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_post_format_and_issue_word_has_a_message(code):
    from cmflow import GOALS, POST_FORMATS, VERDICTS

    lang = language(code)
    wanted = [f"post_format_{f}" for f in POST_FORMATS]
    assert VERDICTS == ("continue", "optimise", "change", "stop")
    wanted += [f"verdict_{v}" for v in (*VERDICTS, "none")]
    wanted += [f"verdict_help_{v}" for v in (*VERDICTS, "none")]
    assert {"grow_fanbase", "raise_interactions", "generate_site_visits", "promote_event", "increase_reach",
            "protect_reputation", "improve_response_time", "increase_conversions"} <= set(GOALS)
    wanted += [f"goal_{g}" for g in GOALS]
    wanted += [f"tone_{t}" for t in ("good", "bad", "neutral")]
    wanted += [f"severity_{s}" for s in ("info", "warning", "critical")]
    wanted += [f"alert_state_{s}" for s in ("firing", "pending", "resolved")]
    wanted += [f"section_{s}" for s in ("summary", "objectives", "platforms", "accounts", "top_posts", "flop_posts",
                                        "by_format", "by_pillar", "best_time", "alerts", "commentary", "listening",
                                        "production", "sources", "about")]
    wanted += [f"{group}_{c}" for group in ("vs", "compared_with", "column")
               for c in ("previous_period", "same_period_last_year")]
    wanted += ["page_of", "generated_on", "email_subject", "insight_format_above", "insight_format_below"]
    assert [key for key in wanted if not lang.has(key)] == []


# No English in French: every French message differs from the English one, unless all its
# words are names or terms French uses as they are; and no French message holds a word that
# is only English.
SAME_IN_BOTH = {"instagram", "facebook", "linkedin", "youtube", "x", "twitter", "tiktok", "mastodon", "bluesky",
                "threads", "pinterest", "kpi", "err", "image", "reel", "story", "format", "impressions",
                "interactions", "mentions", "client", "production", "urgent", "stable", "page", "n", "total",
                "pt", "h", "value", "metric", "series", "text", "platform", "period", "date", "tz", "pct", "sessions", "conversions",
                "sentiment"}
ENGLISH_ONLY = {"the", "and", "of", "to", "from", "with", "by", "for", "or", "than", "post", "posts", "reach",
                "followers", "follower", "rate", "growth", "report", "previous", "week", "month", "year", "likes",
                "like", "shares", "saves", "clicks", "views", "average", "above", "below", "alert", "alerts",
                "target", "better", "worse", "new", "none", "no", "not", "data", "available", "best", "time", "top",
                "summary", "account", "accounts", "comments", "received", "negative", "people", "last", "same",
                "this", "period", "vs", "hello", "regards", "attached", "website", "video", "link", "carousel",
                "pillar", "campaign", "overall", "unfollows", "reached", "needs", "back", "watch", "decision",
                "made", "day", "hour", "hours", "level", "status", "progress", "change", "continue", "stop"}
"""Words English has and French does not (engagement, messages, page, attention, on ... are both)."""


def words(message: str | dict) -> list[str]:
    forms = message.values() if isinstance(message, dict) else [message]
    text = " ".join(forms)
    text = re.sub(r"\{\w+\}", " ", text)
    return re.findall(r"[^\W\d_]+", text.lower())


def test_french_messages_are_not_english():
    english, french = load_catalogue("en"), load_catalogue("fr")
    same = sorted(k for k in english if k != "pattern_hour" and english[k] == french[k]
                  and not set(words(french[k])) <= SAME_IN_BOTH)
    assert same == []
    english_words = sorted({(k, w) for k, m in french.items() if k != "pattern_hour"
                            for w in words(m) if w in ENGLISH_ONLY})
    assert english_words == []


def test_french_puts_a_no_break_space_before_colons():
    for key, message in load_catalogue("fr").items():
        forms = message.values() if isinstance(message, dict) else [message]
        for form in forms:
            assert not re.search(r"[^\u00a0\u202f]:", form), key


# -- looking a language up -------------------------------------------------------------------

@pytest.mark.parametrize(("code", "catalogue", "tag"), [
    ("fr", "fr", "fr"), ("en", "en", "en"), ("fr-FR", "fr", "fr-FR"), ("en_GB", "en", "en-GB"),
    ("EN-gb", "en", "en-GB"), (" fr ", "fr", "fr")])
def test_language_codes(code, catalogue, tag):
    lang = language(code)
    assert (lang.code, lang.tag) == (catalogue, tag)


@pytest.mark.parametrize(("code", "message"), [
    ("de", "unknown language 'de': reports are written in en (English), fr (French); to add one, add a "
           "catalogue (docs/reports.md, \"Languages\")"),
    ("fr-XX", "unknown region in language 'fr-XX': write 'fr', or fr with a region CLDR knows (fr-BE, fr-BF, "
              "fr-BI, fr-BJ ...)"),
    ("", "no language given: reports are written in en (English), fr (French)"),
])
def test_unknown_language_names_the_available_ones(code, message):
    with pytest.raises(ValueError) as raised:
        language(code)
    assert str(raised.value) == message


def test_language_names_itself():
    assert (language("fr").name, language("en").name) == ("français", "English")


# -- messages --------------------------------------------------------------------------------

def test_text_fills_placeholders_and_formats_numbers():
    fr, en = language("fr"), language("en")
    assert fr.text("page_of", n=2, total=12) == "Page 2 sur 12"
    assert en.text("page_of", n=2, total=12) == "Page 2 of 12"
    assert fr.text("generated_on", date=date(2026, 11, 23)) == "Rapport établi le 23 nov. 2026"
    assert en.text("generated_on", date=date(2026, 11, 23)) == "Report made on Nov 23, 2026"
    assert fr.text("sources_line", platform="Instagram", records=fr.text("record_post", n=6143)) == \
        f"Instagram{NBSP}: 6{NNBSP}143 publications"


@pytest.mark.parametrize(("code", "n", "expected"), [
    ("fr", 0, "0 publication"), ("fr", 1, "1 publication"), ("fr", 2, "2 publications"),
    ("fr", 1_000_000, f"1{NNBSP}000{NNBSP}000 de publications"),
    ("en", 0, "0 posts"), ("en", 1, "1 post"), ("en", 2, "2 posts"), ("en", 1_000_000, "1,000,000 posts"),
])
def test_plural_forms(code, n, expected):
    assert language(code).text("count_posts", n=n) == expected


def test_unknown_key_and_missing_value_are_errors():
    fr = language("fr")
    with pytest.raises(MessageError, match=r"no message 'section_sumary' in the fr catalogue; did you mean "
                                           r"'section_summary'\?"):
        fr.text("section_sumary")
    with pytest.raises(MessageError, match=r"message 'page_of' \(fr\) needs a value for \{total\}"):
        fr.text("page_of", n=1)
    with pytest.raises(MessageError, match=r"message 'count_posts' \(fr\) has plural forms: give n="):
        fr.text("count_posts")


def test_metric_words():
    fr, en = language("fr"), language("en")
    assert fr.metric_label("engagement_rate_by_reach") == "Taux d'engagement (portée)"
    assert en.metric_label("engagement_rate_by_reach") == "Engagement rate (reach)"
    assert fr.metric_help("engagement_rate_by_reach") == (
        f"La part des personnes touchées qui ont interagi{NBSP}: (j'aime + commentaires + partages + "
        "enregistrements) ÷ portée × 100.")
    assert en.metric_label("cost_per_lead") == "Cost per lead"  # a third party's metric
    assert en.metric_help("cost_per_lead") == ""


def test_platforms_and_formats():
    fr, en = language("fr"), language("en")
    assert [fr.platform(p) for p in ("linkedin", "x", "rss", "vimeo")] == [
        "LinkedIn", "X (Twitter)", "Blog (flux RSS)", "Vimeo"]
    assert [fr.post_format(f) for f in ("carousel", "video", "reel", "short")] == [
        "Carrousel", "Vidéo", "Reel", "Short"]
    assert [en.post_format(f) for f in ("carousel", "video")] == ["Carousel", "Video"]


# -- figures ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "fr", "en"), [
    (3.12, "%", f"3,12{NBSP}%", "3.12%"),
    (3.125, "%", f"3,13{NBSP}%", "3.13%"),  # halves round away from zero (Babel alone: to even)
    (0.0, "%", f"0,00{NBSP}%", "0.00%"),
    (-1.5, "%", f"-1,50{NBSP}%", "-1.50%"),
    (6143, "count", f"6{NNBSP}143", "6,143"),
    (6143.0, "followers", f"6{NNBSP}143", "6,143"),
    (1234567, "count", f"1{NNBSP}234{NNBSP}567", "1,234,567"),
    (-2500, "followers", f"-2{NNBSP}500", "-2,500"),
    (12.3456, "count", "12,35", "12.35"),  # a fraction under 100: two decimals
    (250.4, "count", "250", "250"),  # from 100 up: none
    (None, "%", "–", "–"),
    (None, "count", "–", "–"),
    (1234.5, "EUR", f"1{NNBSP}234,50{NBSP}€", "€1,234.50"),  # an amount: its currency, the locale's way
    (-250, "EUR", f"-250,00{NBSP}€", "-€250.00"),
    (12.345, "USD", f"12,35{NBSP}$US", "$12.35"),  # from its shortest decimal form, 12.345
    (float("nan"), "EUR", "–", "–"),
    (12.25, "h", f"12,3{NBSP}h", f"12.3{NBSP}h"),  # hours: one decimal
    (150, "h", f"150{NBSP}h", f"150{NBSP}h"),
])
def test_values(value, unit, fr, en):
    assert language("fr").value(value, unit) == fr
    assert language("en").value(value, unit) == en


def test_numbers_with_decimals():
    fr, en = language("fr"), language("en")
    assert fr.number(1234.5, 1) == f"1{NNBSP}234,5"
    assert en.number(1234.5, 1) == "1,234.5"
    assert en.number(2, 2) == "2.00"
    assert en.number(-0.001) == "0.00"  # no "-0.00"
    assert en.number(float("nan")) == "–"


@pytest.mark.parametrize(("change", "change_pct", "unit", "fr", "en"), [
    (0.84, None, "%", f"+0,84{NBSP}pt", f"+0.84{NBSP}pt"),
    (-0.84, 20.0, "%", f"-0,84{NBSP}pt", f"-0.84{NBSP}pt"),  # rates: points, never %
    (0.004, None, "%", f"±0,00{NBSP}pt", f"±0.00{NBSP}pt"),
    (-12.3, None, "%", f"-12,30{NBSP}pt", f"-12.30{NBSP}pt"),
    (640, 12.0, "count", f"+12{NBSP}%", "+12%"),
    (-640, -12.4, "count", f"-12{NBSP}%", "-12%"),
    (35, 3.46, "followers", f"+3,5{NBSP}%", "+3.5%"),  # under 10 %: one decimal
    (30, 3.0, "followers", f"+3{NBSP}%", "+3%"),
    (1, 0.04, "count", f"±0{NBSP}%", "±0%"),
    (1500, 1250.0, "count", f"+1{NNBSP}250{NBSP}%", "+1,250%"),
    (5, None, "count", "+5", "+5"),  # from 0: no percentage, the difference
    (-1234, None, "count", f"-1{NNBSP}234", "-1,234"),
    (None, None, "count", "", ""),
    (None, None, "%", "", ""),
])
def test_changes(change, change_pct, unit, fr, en):
    assert language("fr").change(change, change_pct, unit) == fr
    assert language("en").change(change, change_pct, unit) == en


# -- dates -----------------------------------------------------------------------------------

def test_dates():
    assert language("fr").date(date(2026, 11, 16)) == "16 nov. 2026"
    assert language("en").date(date(2026, 11, 16)) == "Nov 16, 2026"
    assert language("en-GB").date(date(2026, 11, 16)) == "16 Nov 2026"
    assert language("fr").date(datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)) == "1 juil. 2026"


@pytest.mark.parametrize(("start", "end", "fr", "en"), [
    (date(2026, 11, 16), date(2026, 11, 22), "16–22 nov. 2026", f"Nov 16{THIN}–{THIN}22, 2026"),
    (date(2026, 11, 30), date(2026, 12, 6), f"30 nov.{THIN}–{THIN}6 déc. 2026",
     f"Nov 30{THIN}–{THIN}Dec 6, 2026"),
    (date(2026, 12, 28), date(2027, 1, 3), f"28 déc. 2026{THIN}–{THIN}3 janv. 2027",
     f"Dec 28, 2026{THIN}–{THIN}Jan 3, 2027"),
    (date(2026, 11, 16), date(2026, 11, 16), "16 nov. 2026", "Nov 16, 2026"),
    (date(2026, 11, 1), date(2026, 11, 30), "novembre 2026", "November 2026"),
    (date(2026, 2, 1), date(2026, 2, 28), "février 2026", "February 2026"),
    (date(2026, 2, 1), date(2026, 2, 27), "1–27 févr. 2026", f"Feb 1{THIN}–{THIN}27, 2026"),
    (date(2026, 10, 1), date(2026, 12, 31), "T4 2026", "Q4 2026"),
    (date(2026, 11, 1), date(2026, 12, 31), "nov.–déc. 2026", f"Nov{THIN}–{THIN}Dec 2026"),
    (date(2026, 12, 1), date(2027, 1, 31), f"déc. 2026{THIN}–{THIN}janv. 2027",
     f"Dec 2026{THIN}–{THIN}Jan 2027"),
    (date(2026, 1, 1), date(2026, 12, 31), "2026", "2026"),
    (date(2025, 1, 1), date(2026, 12, 31), "2025–2026", f"2025{THIN}–{THIN}2026"),
])
def test_periods(start, end, fr, en):
    assert language("fr").period(start, end) == fr
    assert language("en").period(start, end) == en


def test_period_ending_before_it_starts_is_an_error():
    with pytest.raises(ValueError, match="a period cannot end"):
        language("en").period(date(2026, 11, 22), date(2026, 11, 16))


def test_weekdays_and_hours():
    fr, en = language("fr"), language("en")
    assert [fr.weekday(i) for i in range(7)] == ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
    assert [en.weekday(i) for i in range(7)] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert (fr.weekday(0, "wide"), en.weekday(6, "wide")) == ("lundi", "Sunday")
    assert [fr.hour(h) for h in (0, 9, 15, 23)] == ["0 h", "9 h", "15 h", "23 h"]
    assert [en.hour(h) for h in (0, 9, 12, 15)] == ["12 AM", "9 AM", "12 PM", "3 PM"]
    assert language("en-GB").hour(15) == "3 pm"
    with pytest.raises(ValueError, match="weekday 7 is not 0"):
        fr.weekday(7)
    with pytest.raises(ValueError, match="hour 24 is not 0 to 23"):
        fr.hour(24)


def test_text_parts_are_the_words_around_placeholders():
    assert language("fr").text_parts("page_of") == ["Page ", " sur ", ""]
    assert language("en").text_parts("page_of") == ["Page ", " of ", ""]
    with pytest.raises(MessageError, match="has plural forms"):
        language("en").text_parts("count_posts")


@pytest.mark.parametrize(("reason", "fr", "en"), [
    ("no posts in this period", "Aucune publication sur la période", "No post this period"),
    ("no posts or activity in this period", "Aucune publication sur la période", "No post this period"),
    ("no post has reach data", "Non communiqué par la plateforme", "Not provided by the platform"),
    ("no post reports saves", "Non communiqué par la plateforme", "Not provided by the platform"),
    ("no follower count for 1 of the 3 accounts with posts or activity: a rate of the others would be taken "
     "for the group's", "Nombre d'abonnés indisponible", "Follower count not available"),
    ("latest follower count is from 2026-09-01, before 2026-11-15: too old for this period",
     "Dernier chiffre trop ancien pour cette période", "Latest figure too old for this period"),
    ("reach is 0", "Non calculable (rien à diviser)", "Cannot be computed (nothing to divide by)"),
    ("no mention has a sentiment: map the export's sentiment column", "Tonalité des messages indisponible",
     "Tone of messages not available"),
    ("no value for the comparison period", "Pas de chiffre de comparaison", "No figure to compare with"),
    ("no value this period", "Pas de chiffre pour cette période", "No figure for this period"),
    ("comparison value is 0", "Pas de chiffre de comparaison", "No figure to compare with"),
    ("activity only: no post list to average (aggregate = \"mean_of_posts\")", "Indisponible", "Not available"),
    (None, "Indisponible", "Not available"),
] + [(f"source {source} could not be read: its records may be missing from this figure", "Données non récupérées",
      "Data could not be retrieved")  # a source's id holds words of other reasons
     for source in ("instagram", "sentiment_api", "competitor_comparison", "reports", "too_old_export")])
def test_reasons_in_a_clients_words(reason, fr, en):
    assert (language("fr").reason(reason), language("en").reason(reason)) == (fr, en)


def test_catalogues_are_package_data():
    """An installed wheel carries the catalogues: pyproject's package data names them."""
    import fnmatch
    import tomllib

    package_data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]
    folder = REPO / "src" / "cmflow"
    files = sorted(p.relative_to(folder).as_posix() for p in (folder / "catalogues").glob("*.toml"))
    assert files == ["catalogues/en.toml", "catalogues/fr.toml"]
    patterns = package_data["cmflow"]
    assert [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)] == []


def test_insight_sentence_in_both_languages():
    """The sentence an insight of the report document becomes (values formatted as the
    templates do): it says the window its posts come from (the report's trend, not its week)
    and how many posts."""
    from datetime import date

    def sentence(lang):
        return lang.text("insight_format_above", metric=lang.metric_label("engagement_rate_by_reach"),
                         format=lang.post_format("carousel"), account="Maison Lumière", value=lang.value(4.1, "%"),
                         gap_pct=lang.percent(30.16, 0), average=lang.value(3.15, "%"), posts=12, account_posts=40,
                         window=lang.period(date(2026, 9, 28), date(2026, 11, 22)))

    assert sentence(language("fr")) == (
        f"Taux d'engagement (portée) des publications au format Carrousel sur Maison Lumière, "
        f"28 sept.{THIN}–{THIN}22 nov. 2026{NBSP}: 4,10{NBSP}%, "
        f"soit 30{NBSP}% de plus que la moyenne du compte (3,15{NBSP}%), sur 12 publications.")
    assert sentence(language("en")) == (
        f"Engagement rate (reach) of Carousel posts on Maison Lumière, Sep 28{THIN}–{THIN}Nov 22, 2026: 4.10%, "
        "30% above the account's average (3.15%), over 12 posts.")


def test_objective_rule_in_a_clients_words():
    fr = language("fr")
    assert fr.text("objective_rule_reached", progress=fr.percent(85, 0), verdict=fr.text("verdict_optimise").lower(),
                   threshold=fr.percent(80, 0)) == \
        f"85{NBSP}% de la cible atteinte{NBSP}: optimiser à partir de 80{NBSP}%."


def test_an_objectives_progress_and_rule_never_read_across_a_threshold():
    """0.4967 is a stop: it never shows as 50 % (the ladder's change), in the figures or the rule."""
    from cmflow.presentation.objective_words import objective_figures, objective_rule
    from cmflow.foundation.objectives import Objective, judge

    err = Objective("err", "raise_interactions", "engagement_rate_by_reach", "at_least", target=3.0)
    result = judge(err, {}, "%", "up", 1.49)
    fr, en = language("fr"), language("en")
    assert objective_rule(result, fr) == f"49,7{NBSP}% de la cible atteinte{NBSP}: arrêter en dessous de 50{NBSP}%."
    assert objective_rule(result, en) == "49.7% of the target reached: stop below 50%."
    assert objective_figures(result, en) == "1.49% for a target of 3.00% (49.7% of the target)"
    assert objective_rule(judge(err, {}, "%", "up", 2.4), en) == "80% of the target reached: optimise from 80%."
    assert objective_rule(judge(err, {}, "%", "up", None), en) == ""
    assert objective_rule(judge(err, {}, "%", "up", 1.4999997), en) == "49.9% of the target reached: stop below 50%."
    assert objective_figures(judge(err, {}, "%", "up", 5.0), en) == "5.00% for a target of 3.00% (167% of the target)"


def test_lists_in_a_sentence():
    names = ["Instagram", "Facebook", "TikTok"]
    assert language("fr").join(names) == "Instagram, Facebook et TikTok"
    assert language("en").join(names) == "Instagram, Facebook, and TikTok"
    assert language("en-GB").join(names) == "Instagram, Facebook and TikTok"
    assert (language("fr").join(["A"]), language("fr").join([])) == ("A", "")


def test_every_message_the_report_code_asks_for_exists():
    """The keys written in the report templates and code (``t("section_summary")``, and the
    prefixes of built ones, ``t("verdict_" ~ verdict)``) are in every catalogue: a template
    never falls back to English or breaks at render time."""
    builtin = REPO / "src" / "cmflow" / "builtin"
    files = [*(builtin / "reports").rglob("*.j2"), *(builtin / "reports").glob("*.py"),
             *(builtin / "outputs").glob("*.py")]
    call = re.compile(r"""(?:\bt|\.text|\.text_parts)\(\s*["']([a-z][a-z_]*)["']\s*([~+),])""")
    asked = {(m.group(1), m.group(2) in "~+", path.name) for path in files
             for m in call.finditer(path.read_text(encoding="utf-8"))}
    assert any(name == "base.html.j2" for _, _, name in asked) or not (builtin / "reports" / "templates").exists()
    for code in LANGUAGES:
        keys = set(load_catalogue(code))
        missing = sorted((key, name) for key, prefix, name in asked
                         if not (any(k.startswith(key) for k in keys) if prefix else key in keys))
        assert missing == [], code


def test_a_run_warning_is_said_in_the_reports_language_and_free_text_as_written():
    """A built-in warning (:class:`~cmflow.foundation.run_warnings.RunWarning`) is said with the
    catalogue's message in a French report (days, lists and lengths by Babel) and as the stage
    wrote it in an English one; a third party's plain text, an unknown code, or values a message
    lacks leave the text as written."""
    from datetime import timedelta

    from cmflow.foundation.run_warnings import RunWarning

    warning = RunWarning("api: 2026-11-16, 2026-11-18..2026-11-22 is older than the platform returns (36 hours back)",
                         "older_than_reach", {"source": "w.toml: sources[0] (api)", "reach": timedelta(hours=36),
                                              "days": [(date(2026, 11, 16), date(2026, 11, 16)),
                                                       (date(2026, 11, 18), date(2026, 11, 22))]})
    fr = language("fr")
    said = fr.run_warning(warning)
    assert said.startswith(f"w.toml: sources[0] (api){NBSP}: la plateforme ne remonte qu'à 1{NBSP}jour et 12{NBSP}heures")
    assert f"n'a récupéré 16 nov. 2026 et 18–22 nov. 2026{NBSP}:" in said
    assert language("en").run_warning(warning) == str(warning) == warning
    plain = "plugin acme: the CRM export is a day late"  # a third party's words
    assert fr.run_warning(plain) == plain
    assert fr.run_warning(RunWarning("acme: late", "acme_late")) == "acme: late"
    assert fr.run_warning(RunWarning("w: x", "older_than_reach", {"source": "w"})) == "w: x"
    assert (fr.duration(timedelta(days=7)), language("en").duration(timedelta(days=6, hours=23, minutes=55))) == (
        f"7{NBSP}jours", "6 days, 23 hours, 55 minutes")
