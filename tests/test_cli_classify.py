"""``cmflow classify FILE.csv --text-column COL``: a real CSV file in, its rows labelled out.

The labels asked of the built-in classifier are ones a reader would not argue with; exact scores
come from the ``keywords`` classifier of test_classify_stage.py, registered for the test.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmflow.cli import main
from cmflow.foundation.errors import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED

from test_classify_stage import keywords_registered

BOM = "\ufeff"
# An Excel "CSV UTF-8" export of comments: byte-order mark, semicolons, a comment over two lines,
# one that a spreadsheet would run as a formula, one without text, and a number that must stay one.
COMMENTS = (f"{BOM}id;message;auteur;likes\r\n"
            "1;\"Super produit, merci à toute l'équipe !\nVraiment génial\";julie;-3\r\n"
            "2;=cmd|' /C calc'!A0;x;0\r\n"
            "3;Je suis très déçu, le service client est nul.;marc;12\r\n"
            "4;;vide;1\r\n"
            "5;This is the worst delivery ever, I hate it.;tom;+7\r\n")


def classify(*args: str):
    return CliRunner().invoke(main, ["classify", *args])


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix(BOM), newline=""), delimiter=";"))


@pytest.fixture
def comments(tmp_path) -> Path:
    path = tmp_path / "comments.csv"
    path.write_bytes(COMMENTS.encode("utf-8"))
    return path


def test_the_rows_come_back_labelled_with_formulas_neutralised(comments) -> None:
    result = classify(str(comments), "--text-column", "message")
    assert result.exit_code == EXIT_OK, result.output
    labelled = rows(result.stdout)
    assert labelled[0] == ["id", "message", "auteur", "likes", "sentiment", "score", "language"]
    assert [row[:4] for row in labelled[1:]] == [
        ["1", "Super produit, merci à toute l'équipe !\nVraiment génial", "julie", "-3"],  # a number: as it was
        ["2", "'=cmd|' /C calc'!A0", "x", "0"],  # text a spreadsheet would run: an apostrophe first
        ["3", "Je suis très déçu, le service client est nul.", "marc", "12"],
        ["4", "", "vide", "1"],
        ["5", "This is the worst delivery ever, I hate it.", "tom", "+7"]]
    assert [(row[0], row[4], row[6]) for row in labelled[1:]] == [
        ("1", "positive", "fr"), ("2", labelled[2][4], labelled[2][6]), ("3", "negative", "fr"), ("4", "", ""),
        ("5", "negative", "en")]
    scores = {row[0]: row[5] for row in labelled[1:]}
    assert float(scores["1"]) > 0 > float(scores["3"]) and float(scores["5"]) < 0 and scores["4"] == ""
    assert all(len(score.split(".")[1]) == 3 for key, score in scores.items() if score)
    assert result.stderr == "✓ 5 rows: 2 negative, 1 neutral, 1 positive; 1 not labelled (1 without text)\n"


def test_exact_scores_into_a_file_with_the_inputs_byte_order_mark(comments, tmp_path) -> None:
    out = tmp_path / "labelled.csv"
    with keywords_registered():
        result = classify(str(comments), "--text-column", "message", "--classifier", "keywords",
                          "--lang", "fr", "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output
    written = out.read_bytes().decode("utf-8")
    assert written.startswith(BOM) and result.stdout == ""
    assert [(row[0], row[4], row[5], row[6]) for row in rows(written)[1:]] == [
        ("1", "neutral", "0.000", "fr"), ("2", "neutral", "0.000", "fr"), ("3", "neutral", "0.000", "fr"),
        ("4", "", "", ""), ("5", "neutral", "0.000", "fr")]  # --lang fr: every text read as French
    assert result.stderr == f"✓ 5 rows: 0 negative, 4 neutral, 0 positive; 1 not labelled (1 without text); " \
                            f"written to {out}\n"


def test_columns_already_named_sentiment_are_filled_not_repeated(tmp_path) -> None:
    path = tmp_path / "mentions.csv"
    path.write_text("text, sentiment,score\nthe scent is good,,\nbad news,,9\n", encoding="utf-8")
    with keywords_registered():
        result = classify(str(path), "--text-column", "text", "--classifier", "keywords")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == ("text, sentiment,score,language\n"  # " sentiment" is the sentiment column
                             "the scent is good,positive,0.750,en\n"
                             "bad news,negative,-0.500,\n")
    assert result.stderr == "✓ 2 rows: 1 negative, 0 neutral, 1 positive; 1 of them of unknown language\n"


def test_the_files_own_sentiments_and_languages_are_kept_and_its_languages_are_the_hints(tmp_path) -> None:
    path = tmp_path / "mentions.csv"
    path.write_text("text,sentiment,score,language\n"
                    "the parcel is bad,positive,0.9,en\n"  # a sentiment the file has wins: kept, not classified
                    "good stuff,,,fr-FR\n"  # its language: the hint, and kept as written
                    ",neutral,,de\n"  # no text, but labelled: kept
                    ",,,es\n"  # no text: nothing written over its language
                    "so good,,,\n", encoding="utf-8")
    with keywords_registered():
        result = classify(str(path), "--text-column", "text", "--classifier", "keywords")
    from test_classify_stage import CALLS
    assert CALLS[-1] == (["good stuff", "so good"], ["fr-FR", None])
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == ("text,sentiment,score,language\n"
                             "the parcel is bad,positive,0.9,en\n"
                             "good stuff,positive,0.750,fr-FR\n"
                             ",neutral,,de\n"
                             ",,,es\n"
                             "so good,positive,0.750,\n")
    assert result.stderr == ("✓ 5 rows: 0 negative, 0 neutral, 2 positive; 1 of them of unknown language; "
                             "2 already labelled in the file, kept; 1 not labelled (1 without text)\n")
    with keywords_registered():  # --lang: the texts' language, whatever the cells say
        result = classify(str(path), "--text-column", "text", "--classifier", "keywords", "--lang", "en")
    assert CALLS[-1] == (["good stuff", "so good"], ["en", "en"])
    assert result.stdout.splitlines()[2:] == ["good stuff,positive,0.750,fr-FR", ",neutral,,de", ",,,es",
                                              "so good,positive,0.750,en"]


def test_texts_of_unknown_and_of_other_languages_are_counted_apart(tmp_path) -> None:
    path = tmp_path / "mentions.csv"
    path.write_text("text,language\nhorrible service,\nok,\nDas ist schlecht,de\nNul.,FR\n,\n",
                    encoding="utf-8")
    result = classify(str(path), "--text-column", "text")
    assert result.exit_code == EXIT_OK, result.output
    labelled = rows(result.stdout.replace(",", ";"))
    assert [(row[2], row[1]) for row in labelled[1:]] == [
        ("negative", ""), ("neutral", ""), ("", "de"), ("negative", "FR"), ("", "")]
    assert result.stderr == ("✓ 5 rows: 2 negative, 1 neutral, 0 positive; 2 of them of unknown language; "
                             "2 not labelled (1 in another language, 1 without text)\n")


@pytest.mark.parametrize(("content", "args", "expected"), [
    (None, ["--text-column", "message"], "{path}: file not found: check the path (relative to {cwd})"),
    (COMMENTS, ["--text-column", "mesage"],
     "{path}: no column 'mesage'; did you mean 'message'? its columns: id, message, auteur, likes"),
    (COMMENTS, ["--text-column", "commentaire"],
     "{path}: no column 'commentaire'; its columns: id, message, auteur, likes"),
    ("id;message\n1;ok\n2;trop;de;champs\n", ["--text-column", "message"],
     "{path}: line 3: 4 fields where the header has 2: check the quotes and delimiters (';') of that row"),
    ("", ["--text-column", "message"], "{path}: the first line is empty: it must name the columns"),
    (COMMENTS, ["--text-column", "message", "--classifier", "sentimen"],
     "unknown classifier plugin 'sentimen'; did you mean 'sentiment'?"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, monkeypatch, content, args, expected) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "comments.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = classify(str(path), *args)
    assert result.exit_code == EXIT_INVALID
    assert result.stdout == ""
    assert result.stderr == "✗ " + expected.format(path=path, cwd=tmp_path) + "\n"


def test_a_file_that_is_not_utf8_is_refused_with_where(tmp_path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,message\n1,très déçu\n".encode("latin-1"))
    result = classify(str(path), "--text-column", "message")
    assert result.exit_code == EXIT_INVALID and "Traceback" not in result.output
    assert result.stderr.startswith(f"✗ {path}:2:")
    assert "UTF-8" in result.stderr


def test_a_workbook_and_an_image_are_named_for_what_they_are(tmp_path) -> None:
    """Not "not UTF-8 text (byte 0x92)": an .xlsx is a workbook to save as CSV UTF-8; a PNG is an image."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["id", "message"])
    book.save(tmp_path / "comments.xlsx")
    (tmp_path / "shot.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xf5\x92")
    result = classify(str(tmp_path / "comments.xlsx"), "--text-column", "message")
    assert result.exit_code == EXIT_INVALID
    assert "is not a text file: its first bytes are those of an Excel workbook (.xlsx)" in result.stderr
    assert 'save it as "CSV UTF-8"' in result.stderr and "byte 0x" not in result.stderr
    result = classify(str(tmp_path / "shot.csv"), "--text-column", "message")
    assert "its first bytes are those of a PNG image" in result.stderr and "save it as" not in result.stderr


def test_a_zip_of_csv_files_is_no_workbook_and_a_utf16_export_is_read(tmp_path) -> None:
    """A zip archive holding posts.csv is named so, with the file inside, not "save the workbook
    as CSV UTF-8"; Excel's "Unicode text" (UTF-16, with a byte-order mark or without) is read as
    the csv source reads it, not refused as "not UTF-8"."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "download.zip", "w") as archive:
        archive.writestr("posts.csv", "id,message\n1,super\n")
    result = classify(str(tmp_path / "download.zip"), "--text-column", "message")
    assert result.exit_code == EXIT_INVALID and "CSV UTF-8" not in result.stderr
    assert result.stderr.endswith('a zip archive: it holds "posts.csv"; unzip it and give the CSV file inside\n')
    text = "id,message\r\n1,très déçu\r\n"
    for name, data in (("bom.csv", text.encode("utf-16")), ("nobom.csv", text.encode("utf-16-le"))):
        (tmp_path / name).write_bytes(data)
        out = tmp_path / f"labelled-{name}"
        result = classify(str(tmp_path / name), "--text-column", "message", "-o", str(out))
        assert result.exit_code == EXIT_OK, result.output
        assert out.read_text(encoding="utf-8-sig").splitlines()[1].startswith("1,très déçu,")


def test_a_folder_is_refused(tmp_path) -> None:
    result = classify(str(tmp_path), "--text-column", "message")
    assert result.exit_code == EXIT_INVALID
    assert result.stderr == f"✗ {tmp_path}: is a folder, not a file: give the path of a CSV file inside it\n"


def test_a_classifier_that_fails_is_named_with_exit_code_1(comments) -> None:
    from test_classify_stage import Keywords

    original = Keywords.Options.model_fields["fail"].default
    Keywords.Options.model_fields["fail"].default = True
    Keywords.Options.model_rebuild(force=True)
    try:
        with keywords_registered():
            result = classify(str(comments), "--text-column", "message", "--classifier", "keywords")
    finally:
        Keywords.Options.model_fields["fail"].default = original
        Keywords.Options.model_rebuild(force=True)
    assert result.exit_code == EXIT_RUN_FAILED
    assert result.stderr == "✗ classifier 'keywords' failed: RuntimeError: model exploded\n"
