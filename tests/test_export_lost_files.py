"""A folder or glob of exports that loses one of its files: the next run says which format (and
account) it read last time is gone, and from which file, instead of reading what is left in
silence. Real runs of `cmflow run` into one SQLite store, one after the other.

The folder `exports/meta/` holds Meta's Facebook export of the page "Maison Lumen" and the
Instagram export of "maison.lumen" (the fixtures of tests/fixtures/exports). Week 16–22
November 2026: Facebook likes (Reactions) 120 + 410 + 30 = 560; Instagram likes 310 + 980 +
450 = 1740; together 2300.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from cmflow.cli import main
from cmflow.presentation.language import language
from cmflow.store import open_store
from cmflow.testing import run_workflow_file

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
WEEK = "2026-11-16..2026-11-22"
FACEBOOK, INSTAGRAM = "meta-facebook-posts.csv", "meta-instagram-posts.csv"

WORKFLOW = f"""
[workflow]
name = "Maison Lumen, Meta"
period = "{WEEK}"

[[sources]]
id = "meta"
plugin = "export"
path = "exports/meta"

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall"]

[[outputs]]
plugin = "console"
"""


def run(workflow: Path, store_url: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(main, ["run", str(workflow), "--store", store_url])
    return outcome.exit_code, " ".join(outcome.output.split())


def test_a_folder_that_lost_an_export_says_which_format_and_file_once(tmp_path: Path, store_url: str) -> None:
    folder = tmp_path / "exports" / "meta"
    folder.mkdir(parents=True)
    for name in (FACEBOOK, INSTAGRAM):
        shutil.copy(FIXTURES / name, folder / name)
    workflow = tmp_path / "meta.toml"
    workflow.write_text(WORKFLOW, encoding="utf-8")

    code, output = run(workflow, store_url)
    assert code == 0, output
    assert "│ 2,300 " in output   # likes: 560 + 1740

    (folder / FACEBOOK).unlink()   # the Facebook export is gone, the Instagram one stays
    # a dry run compares and keeps nothing: the warning, as a French report says it
    result = run_workflow_file(workflow, store_url=store_url, dry_run=True)
    [warning] = result.warnings
    assert language("fr").run_warning(warning) == (
        f"meta.toml, sources[0]\u00a0: meta_facebook_posts of Maison Lumen, lu la dernière fois dans "
        f"exports/meta/{FACEBOOK}, est absent cette fois (chemin «\u00a0exports/meta\u00a0»)\u00a0: ses chiffres "
        "manquent à cette exécution. Remettez l'export en place\u00a0; s'il a été retiré exprès, ce message "
        "n'apparaît qu'une fois.")
    code, output = run(workflow, store_url)
    assert code == 5, output
    assert ("meta.toml: sources[0]: meta_facebook_posts of Maison Lumen, read last time from "
            f"exports/meta/{FACEBOOK}, is not there this time (path = 'exports/meta'): its figures are left "
            "out of this run") in output
    assert "meta_instagram_posts" not in output.split("Check:")[-1]   # Instagram is still read
    assert "│ 1,740 " in output and "Run warning" in output
    with open_store(store_url) as store:
        last = store.runs(limit=1)[0]
    assert last.status == "warning" and "meta_facebook_posts of Maison Lumen" in last.error

    code, output = run(workflow, store_url)   # said once: this run compares with the last one
    assert code == 0 and "is not there this time" not in output, output

    shutil.copy(FIXTURES / FACEBOOK, folder / FACEBOOK)   # back: nothing to say either
    code, output = run(workflow, store_url)
    assert code == 0 and "is not there this time" not in output, output


def test_a_monthly_export_replaced_by_the_next_one_is_no_loss(tmp_path: Path, store_url: str) -> None:
    """What is compared is the format and account, not the file's name: November's TikTok
    download replacing October's under another name is the same export."""
    folder = tmp_path / "exports" / "meta"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / INSTAGRAM, folder / "instagram-october.csv")
    workflow = tmp_path / "meta.toml"
    workflow.write_text(WORKFLOW, encoding="utf-8")
    assert run(workflow, store_url)[0] == 0
    (folder / "instagram-october.csv").rename(folder / "instagram-november.csv")
    code, output = run(workflow, store_url)
    assert code == 0 and "is not there this time" not in output, output
