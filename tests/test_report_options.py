"""The report output's options are checked at validate, each problem at its key path: a client
report of figures not measured by client, an unknown client or language."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cmflow.foundation.errors import WorkflowInvalid
from cmflow.workflow import load_workflow

WORKFLOW = '''
[workflow]
name = "Agency"
period = "2026-11-16..2026-11-22"

[[clients]]
id = "lumen"
name = "Maison Lumen"
language = "fr"
accounts = ["maisonlumen"]

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = {by}

[[outputs]]
plugin = "report"
{options}
'''


def problems(tmp_path: Path, *, by: str = '["client", "account"]', options: str = "") -> list[tuple[str, str]]:
    (tmp_path / "posts.csv").write_text("platform,account,post_id,published_at,likes,reach\n", encoding="utf-8")
    path = tmp_path / "w.toml"
    path.write_text(WORKFLOW.format(by=by, options=options), encoding="utf-8")
    try:
        load_workflow(path)
    except WorkflowInvalid as error:
        return [(p.path, p.message) for p in error.problems]
    return []


def test_a_valid_report_output_has_no_problem(tmp_path) -> None:
    assert problems(tmp_path, options='formats = ["html", "pdf"]\nlanguage = "fr-FR"') == []


def test_a_client_report_of_figures_not_measured_by_client_is_refused(tmp_path) -> None:
    [(where, message)] = problems(tmp_path, by='["overall", "account"]')
    assert where == "outputs[0].clients"
    assert message.startswith("a report per client shows each client's own figures, but "
                              "engagement_rate_by_reach is not measured by client: add \"client\"")


def test_one_report_of_the_whole_workflow_needs_no_client_breakdown(tmp_path) -> None:
    assert problems(tmp_path, by='["overall", "account"]', options='clients = "none"') == []


@pytest.mark.parametrize(("options", "where", "message"), [
    ('clients = ["lumen", "nope"]', "outputs[0].clients[1]", "no client 'nope' in the workflow's [[clients]]; they are lumen"),
    ('language = "de"', "outputs[0].language", "unknown language 'de': use one of en, fr"),
    ('metrics = ["engagement_rate_by_rech"]', "outputs[0].metrics[0]",
     "no metric produces 'engagement_rate_by_rech'; did you mean 'engagement_rate_by_reach'?"),
])
def test_options_naming_what_does_not_exist_are_refused_at_their_key(tmp_path, options, where, message) -> None:
    assert problems(tmp_path, options=options) == [(where, message)]


TWO_CLIENTS = '''
[[clients]]
id = "verde"
name = "Velo Verde"
language = "en"
accounts = ["veloverde"]
'''


def problems_of_two_clients(tmp_path: Path, options: str) -> list[tuple[str, str]]:
    (tmp_path / "posts.csv").write_text("platform,account,post_id,published_at,likes,reach\n", encoding="utf-8")
    path = tmp_path / "w.toml"
    text = WORKFLOW.format(by='["client", "account"]', options=options).replace("[[sources]]", TWO_CLIENTS + "\n[[sources]]", 1)
    path.write_text(text, encoding="utf-8")
    try:
        load_workflow(path)
    except WorkflowInvalid as error:
        return [(p.path, p.message) for p in error.problems]
    return []


def test_a_path_that_would_write_each_clients_report_over_the_last_is_refused(tmp_path) -> None:
    [(where, message)] = problems_of_two_clients(tmp_path, 'path = "reports/weekly-{period}.{format}"')
    assert where == "outputs[0].path"
    assert message.startswith("one report is written per client, but the path has no {client}")
    assert problems_of_two_clients(tmp_path, 'path = "reports/{client}-{period}.{format}"') == []
    assert problems_of_two_clients(tmp_path, 'path = "reports/weekly.{format}"\nclients = ["lumen"]') == []


def test_a_path_that_would_write_each_format_over_the_last_is_refused(tmp_path) -> None:
    found = problems(tmp_path, options='path = "reports/{client}.html"\nformats = ["html", "pdf"]')
    assert found == [("outputs[0].path", "2 formats are written, but the path has no {format}: each would replace "
                                         "the one before; end it with .{format}")]
    assert problems(tmp_path, options='path = "reports/{client}.html"\nformats = ["html"]') == []


def test_a_templates_folder_that_does_not_exist_is_refused(tmp_path) -> None:
    assert problems(tmp_path, options='templates = "my-templates"') == [
        ("outputs[0].templates", "'my-templates' is not a folder next to the workflow file: give the folder of "
                                 "your templates (client.html.j2 ...), relative to it")]
    (tmp_path / "my-templates").mkdir()
    assert problems(tmp_path, options='templates = "my-templates"') == []


def test_a_template_added_or_edited_in_the_folder_is_used_by_the_next_render(tmp_path) -> None:
    """The environment is made once per state of the folder (templates are compiled once per
    process): a template added there later, or edited, still replaces the built-in one."""
    from cmflow.builtin.reports.html import template_environment

    folder = tmp_path / "my-templates"
    folder.mkdir()
    builtin = template_environment(folder).get_template("marketing.html.j2")
    assert Path(builtin.filename).parent.name == "templates" and Path(builtin.filename).parent != folder
    assert template_environment(folder) is template_environment(folder)  # made once
    (folder / "marketing.html.j2").write_text("mine, first", encoding="utf-8")
    assert template_environment(folder).get_template("marketing.html.j2").render() == "mine, first"
    (folder / "marketing.html.j2").write_text("mine, edited", encoding="utf-8")
    os.utime(folder / "marketing.html.j2", ns=(1, 1))  # a different time, however coarse the clock
    assert template_environment(folder).get_template("marketing.html.j2").render() == "mine, edited"


@pytest.mark.parametrize(("options", "where", "message"), [
    ('commentary = "../secrets.md"', "outputs[0].commentary",
     "'../secrets.md': give a path relative to the workflow file, inside its folder (no absolute path, no ..)"),
    ('commentary = "/etc/passwd"', "outputs[0].commentary",
     "'/etc/passwd': give a path relative to the workflow file, inside its folder (no absolute path, no ..)"),
    ('commentary = "notes/{cleint}.md"', "outputs[0].commentary",
     "unknown placeholder {cleint} (placeholders here: {client}, {period}, {workflow}, {date})"),
    ('templates = "../elsewhere"', "outputs[0].templates",
     "'../elsewhere': give a path relative to the workflow file, inside its folder (no absolute path, no ..)"),
])
def test_files_a_report_reads_stay_in_the_workflows_folder(tmp_path, options, where, message) -> None:
    [(found_where, found)] = problems(tmp_path, options=options)
    assert found_where == where and message in found
