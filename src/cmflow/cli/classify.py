"""``cmflow classify FILE.csv --text-column COL``: a CSV file's texts labelled by a classifier."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cmflow.foundation.errors import EXIT_INVALID, EXIT_RUN_FAILED, UserFacingError

if TYPE_CHECKING:
    from cmflow.classify_file import ClassifiedFile


@click.command(epilog="Exit codes: 0 written; 1 the classifier failed; 2 invalid input (file, column, "
               "classifier): nothing written.")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=True, readable=False))
@click.option("--text-column", required=True, metavar="COL", help="The column holding the texts.")
@click.option("--lang", type=click.Choice(["fr", "en", "auto"]), default="auto", show_default=True,
              help="The texts' language; auto: detected for each text.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the CSV to this file instead of standard output.")
@click.option("--classifier", "classifier_name", default="sentiment", show_default=True, metavar="NAME",
              help="The classifier plugin to use (see `cmflow plugins`), with its default options.")
def classify(file: Path, text_column: str, lang: str, output: Path | None, classifier_name: str) -> None:
    """Label the texts of a CSV file with a sentiment, a score and a language.

    Writes the file's rows back with three more columns: sentiment (negative, neutral or
    positive; empty for a row without text or in another language), score (from -1, negative,
    to 1, positive) and language (fr, en; empty when it cannot be told). Columns of those names
    already in the file are filled where empty: a sentiment the file has is kept (its row is
    not classified), and its language cells tell each text's language unless --lang does. Text cells that a spreadsheet would run as a formula (=, +, -, @) start
    with an apostrophe. A count by sentiment goes to standard error.
    """
    from cmflow.classify_file import ClassifierFailed, classify_csv
    from cmflow.plugins.registry import PluginNotLoaded, UnknownPlugin, get_registry

    try:
        info = get_registry().get("classifier", classifier_name)
        classifier = info.cls(info.cls.Options(), entry_id=classifier_name)
    except PluginNotLoaded as exc:
        _fail(f"{exc} ({exc.hint})", EXIT_INVALID)
    except UnknownPlugin as exc:
        _fail(f"{exc}" + ("" if exc.suggestion else "; see `cmflow plugins`"), EXIT_INVALID)
    except Exception as exc:  # a classifier whose options have no defaults
        _fail(f"classifier {classifier_name!r} cannot run with its default options: {exc}", EXIT_INVALID)
    try:
        classified = classify_csv(file, text_column, classifier, None if lang == "auto" else lang)
    except ClassifierFailed as exc:
        _fail(str(exc), EXIT_RUN_FAILED)
    except UserFacingError as exc:
        _fail(str(exc), EXIT_INVALID)
    text = classified.csv_text()
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8-sig" if classified.byte_order_mark else "utf-8", newline="")
        except OSError as exc:
            _fail(f"{output}: cannot be written: {exc.strerror or exc}", EXIT_INVALID)
    click.secho(f"✓ {summary_line(classified)}" + (f"; written to {output}" if output else ""), fg="green", err=True)


def summary_line(classified: "ClassifiedFile") -> str:
    """What ``cmflow classify`` says of a file it labelled: the rows by sentiment, those of
    unknown language, those kept, and those not labelled by why."""
    counts = classified.counts
    parts = [", ".join(f"{counts[s]} {s}" for s in ("negative", "neutral", "positive"))]
    if classified.unknown_language:
        parts.append(f"{classified.unknown_language} of them of unknown language")
    if classified.kept:
        parts.append(f"{classified.kept} already labelled in the file, kept")
    if counts[None]:
        why = ", ".join(f"{n} {reason}" for reason, n in classified.unlabelled.items())
        parts.append(f"{counts[None]} not labelled ({why})")
    return f"{len(classified.rows)} rows: " + "; ".join(parts)


def _fail(message: str, code: int) -> None:
    from cmflow.foundation.secrets import redactor

    click.secho(f"✗ {redactor(message)}", fg="red", err=True)
    raise SystemExit(code)
