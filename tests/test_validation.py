"""Workflow validation: every problem names the file, the TOML key path and what to do.

Each test writes a small workflow with one mistake and checks the exact key path and the
hint a user reads. The last tests prove that an invalid workflow fetches and delivers nothing.
"""

from __future__ import annotations

import subprocess
import types
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, Union

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cmflow import Number, Output, RecordTable, Source, WholeNumber, hookimpl
from cmflow.cli import main
from cmflow.foundation.durations import Duration
from cmflow.foundation.errors import Problem, WorkflowInvalid
from cmflow.foundation.secrets import FromEnvironment
from cmflow.plugins.option_errors import explain
from cmflow.plugins.output_paths import fill_path_template
from cmflow.store import open_store
from cmflow.testing import registered_plugin
from cmflow.workflow import Workflow, load_workflow
from cmflow_command import CMFLOW
from unprivileged import open_folder, unprivileged  # noqa: F401  (fixtures)


DEMO_WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "demo.toml"
HEADER = '[workflow]\nname = "Test"\n'
POSTS_SOURCE = '[[sources]]\nid = "posts"\nplugin = "csv"\npath = "posts.csv"\n'
SNAPSHOT_SOURCE = ('[[sources]]\nid = "audience"\nplugin = "json"\npath = "followers.json"\n'
                   'record = "account_snapshot"\n')
ERR_METRIC = '[[metrics]]\nplugin = "engagement_rate_by_reach"\n'


def problems_of(path: Path) -> list[Problem]:
    """Load a workflow that must be invalid and return its problems."""
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    return caught.value.problems


def only_problem(path: Path) -> Problem:
    """The single problem of a workflow with exactly one mistake."""
    problems = problems_of(path)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def problem_at(problems: list[Problem], key_path: str) -> Problem:
    matching = [p for p in problems if p.path == key_path]
    assert matching, f"no problem at {key_path!r}: {[str(p) for p in problems]}"
    return matching[0]


# -- the well-formed baseline ---------------------------------------------------------------
def test_the_minimal_workflow_these_tests_break_is_valid(write_workflow) -> None:
    """Every other test adds one mistake to this; it must be valid on its own."""
    workflow = load_workflow(write_workflow(HEADER + POSTS_SOURCE + SNAPSHOT_SOURCE + ERR_METRIC))
    assert isinstance(workflow, Workflow)
    assert [e.id for e in workflow.sources] == ["posts", "audience"]


def test_the_demo_workflow_is_valid() -> None:
    workflow = load_workflow(DEMO_WORKFLOW)
    assert workflow.name == "Weekly social KPIs (demo)"
    assert [e.id for e in workflow.sources] == ["meta", "linkedin_maison", "linkedin_trailhead", "tiktok_maison",
                                                "tiktok_trailhead", "youtube_maison", "youtube_trailhead", "x_maison",
                                                "x_trailhead", "audience", "calendar_maison", "calendar_trailhead",
                                                "time", "traffic_maison", "traffic_trailhead", "veille_maison",
                                                "alertes_maison",
                                                "veille_trailhead", "alertes_trailhead", "inbox_maison", "inbox_trailhead",
                                                "concurrent_publications", "concurrent_abonnes"]
    assert workflow.metrics and workflow.triggers and workflow.outputs


def test_the_init_starter_is_valid(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "starter.toml"
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    workflow = load_workflow(target)
    assert workflow.sources and workflow.metrics and workflow.outputs


# -- syntax -----------------------------------------------------------------------------------
def test_toml_syntax_error_reports_file_line_and_column(write_workflow) -> None:
    path = write_workflow(HEADER + 'period = "last_week\n' + POSTS_SOURCE)
    problem = only_problem(path)
    assert problem.file == str(path)
    assert (problem.line, problem.column) == (3, 20)
    assert problem.message.startswith("TOML syntax error")
    assert str(problem).startswith(f"{path}:3:20: TOML syntax error")


def test_a_data_file_given_as_the_workflow_is_named_so(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("platform,account,post_id,likes\ninstagram,a,1,3\n", encoding="utf-8")
    problem = only_problem(path)
    assert problem.message.startswith("this looks like a data file, not a workflow")
    assert 'path = "posts.csv"' in problem.hint


def test_a_workbook_or_a_zip_given_as_the_workflow_is_named_for_what_it_is(tmp_path: Path) -> None:
    """A workbook is data for the xlsx source, not a file to save as CSV; a zip archive of CSV
    files is no workbook, though the zip label once held the word."""
    import zipfile

    import openpyxl

    openpyxl.Workbook().save(tmp_path / "posts.xlsx")
    with zipfile.ZipFile(tmp_path / "download.zip", "w") as archive:
        archive.writestr("posts.csv", "id,likes\n1,3\n")
    workbook, archive_given = only_problem(tmp_path / "posts.xlsx"), only_problem(tmp_path / "download.zip")
    assert (workbook.message, workbook.hint) == (
        "is not a text file: its first bytes are those of an Excel workbook (.xlsx)",
        "give the workflow's .toml file; a workbook is data, read by a source of the workflow: "
        '[[sources]] plugin = "xlsx", path = "posts.xlsx"')
    assert (archive_given.message, archive_given.hint) == (
        "is not a text file: its first bytes are those of a zip archive",
        "give the text file meant: a .toml workflow, a .env file or a template")


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    problem = only_problem(tmp_path / "nowhere.toml")
    assert problem.message == "file not found"


# -- plugins ----------------------------------------------------------------------------------
def test_unknown_plugin_suggests_the_closest_name(write_workflow) -> None:
    path = write_workflow(HEADER + '[[sources]]\nplugin = "csvv"\npath = "posts.csv"\n')
    problem = only_problem(path)
    assert problem.path == "sources[0].plugin"
    assert problem.message == "unknown source plugin 'csvv'"
    assert problem.hint == "did you mean 'csv'?"
    assert str(problem) == f"{path}: sources[0].plugin: unknown source plugin 'csvv' (did you mean 'csv'?)"


def test_plugin_of_another_kind_says_which_kind_it_is(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + '[[sources]]\nid = "screen"\nplugin = "console"\n')
    problem = only_problem(path)
    assert problem.path == "sources[1].plugin"
    assert problem.message == "unknown source plugin 'console'"
    assert problem.hint == "'console' is an output plugin, not a source plugin"


def test_entry_without_plugin_lists_the_known_ones(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + '[[outputs]]\nid = "screen"\n')
    problem = only_problem(path)
    assert problem.path == "outputs[0].plugin"
    assert "console" in problem.hint and "html_report" in problem.hint


# -- options ----------------------------------------------------------------------------------
def test_unknown_option_reports_its_key_path(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + 'since = "2026-01-01"\n')
    problem = only_problem(path)
    assert problem.path == "sources[0].since"
    assert problem.message == "unknown option 'since'"
    assert "delimiter" in problem.hint  # nothing close: the known options are listed


def test_mistyped_option_suggests_the_closest_option(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + 'delimter = ";"\n')
    problem = only_problem(path)
    assert problem.path == "sources[0].delimter"
    assert problem.hint == "did you mean 'delimiter'?"


def test_mistyped_common_key_suggests_it_too(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + '[[metrics]]\nplugin = "posts_published"\nsorces = ["posts"]\n')
    problem = only_problem(path)
    assert problem.path == "metrics[0].sorces"
    assert problem.hint == "did you mean 'sources'?"


def test_wrong_option_type_reports_path_and_value(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + "delimiter = 5\n")
    problem = only_problem(path)
    assert problem.path == "sources[0].delimiter"
    assert problem.message == "must be a string in quotes (got 5)"


def test_wrong_type_inside_a_list_reports_the_index(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + '[[metrics]]\nplugin = "totals"\ncounters = ["likes", 3]\n')
    problem = only_problem(path)
    assert problem.path == "metrics[0].counters[1]"


def test_missing_required_option(write_workflow) -> None:
    path = write_workflow(HEADER + '[[sources]]\nid = "posts"\nplugin = "csv"\n')
    problem = only_problem(path)
    assert problem.path == "sources[0].path"
    assert problem.message == "required option is missing"


def test_value_outside_the_allowed_choices(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + 'record = "tweet"\n')
    problem = only_problem(path)
    assert problem.path == "sources[0].record"
    assert problem.message == "unknown value 'tweet'"
    assert "account_snapshot" in problem.hint


# -- references between entries -------------------------------------------------------------
def test_metric_naming_a_missing_source_id(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + '[[metrics]]\nplugin = "posts_published"\nsources = ["post"]\n')
    problem = only_problem(path)
    assert problem.path == "metrics[0].sources[0]"
    assert problem.message == "no source has id 'post'"
    assert problem.hint == "did you mean 'posts'?"


def test_metric_needing_snapshots_when_sources_give_only_posts(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + '[[metrics]]\nplugin = "follower_growth"\n')
    problem = only_problem(path)
    assert problem.path == "metrics[0]"
    assert problem.message == ("metric 'follower_growth' needs account_snapshot records but its "
                               "sources provide post")
    assert "add a source" in problem.hint


def test_metric_restricted_to_a_posts_source_needs_snapshots_too(write_workflow) -> None:
    """A snapshot source exists, but the metric's `sources` leaves it out."""
    path = write_workflow(HEADER + POSTS_SOURCE + SNAPSHOT_SOURCE
                          + '[[metrics]]\nplugin = "follower_growth"\nsources = ["posts"]\n')
    problem = only_problem(path)
    assert problem.path == "metrics[0]"
    assert "needs account_snapshot" in problem.message


def test_trigger_on_a_metric_nothing_produces(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + ERR_METRIC
                          + '[[triggers]]\nplugin = "threshold"\nmetric = "engagement_rate_by_rech"\nbelow = 1\n')
    problem = only_problem(path)
    assert problem.path == "triggers[0].metric"
    assert problem.message == "no metric produces 'engagement_rate_by_rech'"
    assert problem.hint == "did you mean 'engagement_rate_by_reach'?"


def test_trigger_where_on_an_unknown_dimension(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + ERR_METRIC
                          + '[[triggers]]\nplugin = "threshold"\nmetric = "engagement_rate_by_reach"\n'
                          'below = 1\nwhere = { platfrom = "instagram" }\n')
    problem = only_problem(path)
    assert problem.path == "triggers[0].where.platfrom"
    assert problem.hint == "did you mean 'platform'?"


def test_by_value_a_metric_does_not_support(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + SNAPSHOT_SOURCE
                          + '[[metrics]]\nplugin = "follower_growth"\nby = ["overall", "format"]\n')
    problem = only_problem(path)
    assert problem.path == "metrics[0].by[1]"
    assert problem.message == "metric 'follower_growth' cannot be broken down by format"
    assert problem.hint == "it supports overall, client, brand, platform, account"


MENTIONS_SOURCE = ('[[sources]]\nid = "veille"\nplugin = "csv"\npath = "mentions.csv"\nrecord = "mention"\n'
                   '[listen.brand]\nid = "lumen"\nname = "Lumen"\n'
                   '[[listen.competitors]]\nid = "nuit"\nname = "Nuit Atelier"\n')
LISTENING_METRICS = ("mentions", "share_of_voice", "mention_reach", "top_hashtags", "negative_mentions",
                     "sentiment_share", "net_sentiment", "most_negative", "influencer_candidates",
                     "suspicious_mentions")


@pytest.mark.parametrize("metric", LISTENING_METRICS)
def test_a_listening_metric_without_by_uses_its_own_default(write_workflow, metric) -> None:
    """Mentions have no account: without `by`, the metric breaks down as it can (overall), as
    workflow-file.md promises, instead of refusing a `by[1]` the user never wrote."""
    workflow = load_workflow(write_workflow(HEADER + MENTIONS_SOURCE + f'[[metrics]]\nplugin = "{metric}"\n'))
    entry = workflow.entries("metric")[0]
    assert "account" not in entry.common.by
    assert "overall" in entry.common.by


def test_duplicate_source_ids(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + POSTS_SOURCE.replace("posts.csv", "more.csv"))
    problem = only_problem(path)
    assert problem.path == "sources[1].id"
    assert problem.message == "source id 'posts' is already used by sources[0]"


def test_change_trigger_compared_to_a_period_not_in_compare(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + ERR_METRIC
                          + '[[triggers]]\nplugin = "change"\nmetric = "engagement_rate_by_reach"\n'
                          'drop_pct = 20\ncompared_to = "same_period_last_year"\n')
    problem = only_problem(path)
    assert problem.path == "triggers[0].compared_to"
    assert "'same_period_last_year' is not in [workflow] compare" in problem.message
    assert "compare" in problem.message
    fixed = path.read_text().replace('name = "Test"',
                                     'name = "Test"\ncompare = ["previous_period", "same_period_last_year"]')
    path.write_text(fixed)
    load_workflow(path)  # listed in compare: valid


# -- secrets and the environment --------------------------------------------------------------
def test_unset_environment_variable(write_workflow, monkeypatch) -> None:
    monkeypatch.delenv("CMFLOW_TEST_EXPORT", raising=False)
    path = write_workflow(HEADER + '[[sources]]\nid = "posts"\nplugin = "csv"\npath = "${env:CMFLOW_TEST_EXPORT}"\n')
    problem = only_problem(path)
    assert problem.path == "sources[0].path"
    assert problem.message == "environment variable CMFLOW_TEST_EXPORT is not set"
    assert "CMFLOW_TEST_EXPORT" in problem.hint and ".env" in problem.hint


def test_dotenv_beside_the_workflow_supplies_the_variable(write_workflow, monkeypatch) -> None:
    monkeypatch.delenv("CMFLOW_TEST_EXPORT", raising=False)
    path = write_workflow(HEADER + '[[sources]]\nid = "posts"\nplugin = "csv"\npath = "${env:CMFLOW_TEST_EXPORT}"\n')
    (path.parent / ".env").write_text("CMFLOW_TEST_EXPORT=exports/posts-from-dotenv.csv\n")
    workflow = load_workflow(path)
    assert workflow.sources[0].plugin.options.path == "exports/posts-from-dotenv.csv"


def test_environment_value_never_appears_in_problems(write_workflow, monkeypatch) -> None:
    """A secret used where it does not fit is reported without its value, and so is the rest."""
    secret = "s3cr3t-value-from-env"
    monkeypatch.setenv("CMFLOW_TEST_SECRET", secret)
    path = write_workflow(HEADER + POSTS_SOURCE + 'delimiter = "${env:CMFLOW_TEST_SECRET}"\n'
                          'encoding = "${env:CMFLOW_TEST_SECRET}"\nrecord = "${env:CMFLOW_TEST_SECRET}"\n'
                          '[[metrics]]\nplugin = "posts_published"\nsources = ["${env:CMFLOW_TEST_SECRET}"]\n')
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    problems = caught.value.problems
    assert {p.path for p in problems} >= {"sources[0].delimiter", "sources[0].record", "metrics[0].sources[0]"}
    for problem in problems:
        assert secret not in str(problem)
        assert secret not in problem.message and secret not in problem.hint
    assert secret not in str(caught.value)


# -- the [workflow] table and the file's shape ------------------------------------------------
def test_bad_period(write_workflow) -> None:
    path = write_workflow('[workflow]\nname = "Test"\nperiod = "last_fortnight"\n' + POSTS_SOURCE)
    problem = only_problem(path)
    assert problem.path == "workflow.period"
    assert "unknown period 'last_fortnight'" in problem.message
    assert "last_week" in problem.message  # the forms it accepts


def test_unknown_timezone(write_workflow) -> None:
    path = write_workflow('[workflow]\nname = "Test"\ntimezone = "Europe/Pariss"\n' + POSTS_SOURCE)
    problem = only_problem(path)
    assert problem.path == "workflow.timezone"
    assert "unknown time zone 'Europe/Pariss'" in problem.message


def test_unknown_top_level_section(write_workflow) -> None:
    path = write_workflow(HEADER + POSTS_SOURCE + '[[metric]]\nplugin = "posts_published"\n')
    problem = only_problem(path)
    assert problem.path == "metric"
    assert problem.message == "unknown section 'metric'"
    assert problem.hint == "did you mean 'metrics'?"


def test_missing_workflow_table_and_sources(write_workflow) -> None:
    problems = problems_of(write_workflow(ERR_METRIC))
    assert problem_at(problems, "workflow").message == "missing [workflow] table"
    assert problem_at(problems, "sources").message == "the workflow has no source"


def test_a_broken_source_does_not_make_metrics_look_unfed(write_workflow) -> None:
    """The only posts source has a typo: that is the one problem, not also "needs post records"."""
    path = write_workflow(HEADER + POSTS_SOURCE + 'delimter = ";"\n' + SNAPSHOT_SOURCE + ERR_METRIC
                          + '[[metrics]]\nplugin = "posts_published"\nsources = ["posts"]\n')
    problem = only_problem(path)
    assert problem.path == "sources[0].delimter"


def test_every_problem_is_listed_at_once(write_workflow) -> None:
    path = write_workflow(
        '[workflow]\nname = "Test"\nperiod = "last_fortnight"\n'
        '[[sources]]\nid = "posts"\nplugin = "csvv"\npath = "posts.csv"\n'
        '[[sources]]\nid = "linkedin"\nplugin = "csv"\npath = "li.csv"\ndelimter = ";"\n'
        '[[sources]]\nid = "audience"\nplugin = "json"\npath = "f.json"\nrecord = "account_snapshot"\n'
        '[[metrics]]\nplugin = "follower_growth"\nby = ["format"]\n'
        '[[metrics]]\nplugin = "posts_published"\nsources = ["linkdin"]\n'
        '[[triggers]]\nplugin = "threshold"\nmetric = "folower_growth"\nbelow = 0\n'
        '[[output]]\nplugin = "console"\n'
    )
    problems = problems_of(path)
    expected = {
        "workflow.period": "unknown period",
        "sources[0].plugin": "did you mean 'csv'?",
        "sources[1].delimter": "did you mean 'delimiter'?",
        "metrics[0].by[0]": "cannot be broken down by format",
        "metrics[1].sources[0]": "did you mean 'linkedin'?",
        "triggers[0].metric": "did you mean 'follower_growth'?",
        "output": "did you mean 'outputs'?",
    }
    for key_path, text in expected.items():
        assert text in str(problem_at(problems, key_path))
    assert len(problems) == len(expected), [str(p) for p in problems]
    assert all(p.file == str(path) for p in problems)


# -- nothing runs when validation fails -------------------------------------------------------
class Recorder:
    """A plugin module whose source and output write down every call they receive."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.delivered: list[str] = []
        recorder = self

        class RecordingSource(Source):
            name = "recording_source"
            description = "Hands over one post and notes that it was asked to."
            record_kinds = ("post",)

            def fetch(self, ctx):
                recorder.fetched.append(self.entry_id)
                return [RecordTable.from_rows("post", [{
                    "platform": "instagram", "account": "brand", "post_id": "1",
                    "published_at": ctx.periods[0].start_utc, "format": "image", "likes": 3}])]

        class RecordingOutput(Output):
            name = "recording_output"
            description = "Notes every delivery."

            def deliver(self, result, ctx):
                recorder.delivered.append(self.entry_id)
                return "recorded"

        @hookimpl
        def register_sources(register):
            register(RecordingSource)

        @hookimpl
        def register_outputs(register):
            register(RecordingOutput)

        self.module = types.ModuleType("cmflow_test_recording_plugins")
        self.module.register_sources = register_sources
        self.module.register_outputs = register_outputs


RECORDING_WORKFLOW = (HEADER + 'period = "2026-11-16..2026-11-22"\n'
                      '[[sources]]\nid = "rec"\nplugin = "recording_source"\n'
                      '[[metrics]]\nplugin = "posts_published"\n'
                      '[[outputs]]\nplugin = "recording_output"\n')


@pytest.fixture
def recorder():
    recording = Recorder()
    with registered_plugin(recording.module):
        yield recording


def test_a_valid_workflow_of_recording_plugins_fetches_and_delivers(write_workflow, recorder, store_url) -> None:
    """The control for the next test: these plugins do record calls when the workflow is valid."""
    path = write_workflow(RECORDING_WORKFLOW)
    result = CliRunner().invoke(main, ["run", str(path), "--store", store_url])
    assert result.exit_code == 0, result.output
    assert recorder.fetched == ["rec"] and recorder.delivered == ["recording_output"]
    with open_store(store_url) as store:
        assert len(store.runs()) == 1


def test_invalid_workflow_fetches_and_delivers_nothing(write_workflow, recorder, store_url) -> None:
    path = write_workflow(RECORDING_WORKFLOW + '[[metrics]]\nplugin = "posts_publishd"\n')
    result = CliRunner().invoke(main, ["run", str(path), "--store", store_url])
    assert result.exit_code == 2, result.output
    assert "metrics[1].plugin" in result.stderr and "did you mean 'posts_published'?" in result.stderr
    assert recorder.fetched == [] and recorder.delivered == []
    with open_store(store_url) as store:
        assert store.runs() == []


# -- files that cannot be read, and how pydantic's errors read --------------------------------
def test_an_unreadable_workflow_file_says_permission_denied(open_folder, unprivileged) -> None:
    """Run as a user the file's mode locks out (``nobody`` under root, which reads any file)."""
    path = open_folder / "workflow.toml"
    path.write_text(HEADER + POSTS_SOURCE, encoding="utf-8")
    path.chmod(0)
    result = subprocess.run([*unprivileged.prefix, *CMFLOW, "validate", "workflow.toml"], cwd=open_folder,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "workflow.toml: cannot be read: permission denied" in result.stderr and "chmod" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bom_keeps_every_column_of_line_1_right(tmp_path) -> None:
    path = tmp_path / "workflow.toml"
    path.write_bytes(b"\xef\xbb\xbf[workflow] name\n")
    problem = only_problem(path)
    assert (problem.line, problem.column) == (1, 12)


def test_not_utf8_counts_columns_in_characters_not_bytes(tmp_path) -> None:
    path = tmp_path / "workflow.toml"
    path.write_bytes('[workflow]\nname = "Équipe ü '.encode() + b"\xe9" + b'"\n')
    problem = only_problem(path)
    assert (problem.line, problem.column) == (2, 18) and "0xE9" in problem.message


class EveryConstraint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choice: Literal["alpha", "beta"] = "alpha"
    count: int = Field(1, ge=1, le=10)
    ratio: float = Field(0.5, gt=0, lt=1)
    flag: bool = False
    day: date | None = None
    names: list[str] = Field(default_factory=list, min_length=1, max_length=2)
    text: str = Field("x", min_length=1, max_length=5)
    either: Union[int, list[int]] = 1
    table: dict[str, Union[str, list[str]]] = Field(default_factory=dict)
    wait: Duration = timedelta(1)


@pytest.mark.parametrize("given, hint", [
    ("3 %", "write ratio = 3: a number without quotes, in %, without the % sign"),
    ("0,5", "write ratio = 0.5: a number without quotes"), ("half", ""),
    # A separator then exactly three digits reads two ways: no single guess, a thousand times off.
    ("1,500", "write ratio = 1.5 or ratio = 1500, whichever you meant"),
    ("1,500,000", "write ratio = 1500000: a number without quotes"),
    ("1.500,25", "write ratio = 1500.25: a number without quotes"),
    ("0,875", "write ratio = 0.875: a number without quotes"),
    ("1234,567", "write ratio = 1234.567: a number without quotes"),
])
def test_a_number_in_quotes_gets_the_line_to_write(given, hint) -> None:
    with pytest.raises(ValidationError) as caught:
        EveryConstraint.model_validate({"ratio": given})
    (explained,) = explain(caught.value, list(EveryConstraint.model_fields))
    assert explained.hint.startswith(hint) and bool(explained.hint) == bool(hint), explained.hint
    assert "(" not in explained.hint, "the hint is shown in parentheses: none inside it"


class NumberOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: Number | None = None
    weeks: WholeNumber = 8
    rates: dict[str, Number] = {}


@pytest.mark.parametrize("values, words, hint", [
    ({"weeks": "eight"}, "must be a whole number (got 'eight')", ""),
    # pydantic alone reads "1.500" (1500 in French) as 1.5, without a word.
    ({"target": "1.500"}, "must be a number written without quotes (got '1.500')",
     "write target = 1.5 or target = 1500, whichever you meant"),
    ({"target": "2.5"}, "must be a number written without quotes (got '2.5')", "write target = 2.5"),
    ({"weeks": "8"}, "must be a whole number written without quotes (got '8')", "write weeks = 8"),
    ({"target": "half"}, "must be a number (got 'half')", ""),
    # A whole number gets only its whole reading; a key TOML would not read bare, in quotes.
    ({"weeks": "1.500"}, "must be a whole number written without quotes (got '1.500')", "write weeks = 1500"),
    ({"rates": {"Léa Martin": "55,50"}}, "must be a number written without quotes (got '55,50')",
     'write "Léa Martin" = 55.5'),
    # pydantic alone reads true as 1 (n = true: one top post).
    ({"weeks": True}, "must be a whole number, not true or false (got true)", ""),
    ({"target": False}, "must be a number, not true or false (got false)", ""),
])
def test_a_number_option_refuses_a_number_in_quotes(values, words, hint) -> None:
    with pytest.raises(ValidationError) as caught:
        NumberOptions.model_validate(values)
    (explained,) = explain(caught.value, list(NumberOptions.model_fields))
    assert (explained.message, explained.hint.startswith(hint), bool(explained.hint)) == (words, True, bool(hint))


def test_a_number_option_reads_a_value_from_the_environment_as_written() -> None:
    options = NumberOptions.model_validate({"target": FromEnvironment("1500"), "weeks": FromEnvironment("8")})
    assert (options.target, options.weeks) == (1500, 8)


def test_objectives_and_triggers_refuse_a_number_in_quotes_and_take_one_from_the_environment(
        write_workflow, monkeypatch) -> None:
    objective = ('[[objectives]]\nid = "err"\ngoal = "raise_interactions"\nmetric = "engagement_rate_by_reach"\n'
                 'target = "1.500"\nladder = {optimise = "0,875"}\n')
    trigger = '[[triggers]]\nplugin = "threshold"\nmetric = "engagement_rate_by_reach"\nabove = "1,500"\n'
    problems = problems_of(write_workflow(HEADER + POSTS_SOURCE + ERR_METRIC + trigger + objective))
    assert {p.path: p.hint.split(",")[0] for p in problems} == {
        "objectives[0].target": "write target = 1.5 or target = 1500",
        "objectives[0].ladder.optimise": "write optimise = 0.875",
        "triggers[0].above": "write above = 1.5 or above = 1500"}
    monkeypatch.setenv("CMFLOW_TEST_ABOVE", "1500")
    workflow = load_workflow(write_workflow(HEADER + POSTS_SOURCE + ERR_METRIC + trigger.replace(
        '"1,500"', '"${env:CMFLOW_TEST_ABOVE}"') + objective.replace('"1.500"', "1500").replace('"0,875"', "0.875")))
    assert (workflow.triggers[0].plugin.options.above, workflow.objectives[0].target) == (1500, 1500)


def test_sources_metrics_and_outputs_refuse_a_number_in_quotes(write_workflow) -> None:
    """A number a user writes is a TOML number in every kind's options, not only a trigger's:
    pydantic alone would read ``header_row = "2"`` as 2 and ``n = "1.500"`` as 1500 without a word."""
    source = POSTS_SOURCE + 'header_row = "2"\n'
    metric = '[[metrics]]\nplugin = "top_posts"\nn = "5"\n'
    output = '[[outputs]]\nplugin = "console"\nwidth = "100"\n'
    problems = problems_of(write_workflow(HEADER + source + metric + output))
    assert {p.path: (p.message, p.hint.split(",")[0]) for p in problems} == {
        "sources[0].header_row": ("must be a whole number written without quotes (got '2')", "write header_row = 2"),
        "metrics[0].n": ("must be a whole number written without quotes (got '5')", "write n = 5"),
        "outputs[0].width": ("must be a whole number written without quotes (got '100')", "write width = 100")}


def test_the_workflow_files_own_numbers_refuse_a_number_in_quotes(write_workflow) -> None:
    """A trigger entry's run counts, the daemon's catch-up cap and the production amounts too."""
    header = HEADER + 'catch_up_cap = "3"\n'
    trigger = '[[triggers]]\nplugin = "threshold"\nmetric = "engagement_rate_by_reach"\nabove = 2\nfor = "2"\n'
    production = '[production]\ndefault_rate = "45.50"\n'
    problems = problems_of(write_workflow(header + POSTS_SOURCE + ERR_METRIC + trigger + production))
    assert {p.path: p.hint.split(",")[0] for p in problems} == {
        "workflow.catch_up_cap": "write catch_up_cap = 3", "triggers[0].for": "write for = 2",
        "production.default_rate": "write default_rate = 45.5"}


def test_every_number_a_built_in_plugin_reads_refuses_quotes() -> None:
    """Each whole or decimal number of a built-in plugin's options (nested tables too) is a
    :data:`cmflow.Number` or :data:`cmflow.WholeNumber`; left out: an option that is a name or a
    number (a sheet's name or index) and an identifier (Toggl's ``workspace_id``, written either way)."""
    import typing

    from cmflow import Number, WholeNumber
    from cmflow.plugins.registry import get_registry

    def numeric(kind) -> bool:
        if kind in (int, float):
            return True
        inner = typing.get_args(kind)
        return (typing.get_origin(kind) is typing.Annotated and numeric(inner[0])) or (
            typing.get_origin(kind) is not typing.Annotated and str not in inner and any(map(numeric, inner)))

    def guarded(kind) -> bool:
        if typing.get_origin(kind) is typing.Annotated and any(
                mark in (*Number.__metadata__, *WholeNumber.__metadata__) for mark in kind.__metadata__):
            return True
        return any(map(guarded, typing.get_args(kind)))

    def unguarded(model, prefix: str):
        for name, field in model.model_fields.items():
            kind = field.annotation if not field.metadata else typing.Annotated[(field.annotation, *field.metadata)]
            if numeric(kind) and not guarded(kind):
                yield prefix + name
            for inner in [field.annotation, *typing.get_args(field.annotation)]:
                for candidate in [inner, *typing.get_args(inner)]:
                    if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                        yield from unguarded(candidate, f"{prefix}{name}.")

    plugins = [info for info in get_registry() if info.package == "cmflow"]
    assert {info.kind for info in plugins} >= {"source", "metric", "trigger", "output"}
    found = [path for info in plugins for path in unguarded(info.cls.Options, f"{info.kind}.{info.name}.")]
    assert found == ["source.toggl.workspace_id"]


@pytest.mark.parametrize("values, where, words", [
    ({"choice": "alpah"}, ("choice",), "unknown value 'alpah'"),
    ({"choice": 3}, ("choice",), "must be one of alpha, beta (got 3)"),
    ({"count": 0}, ("count",), "must be at least 1 (got 0)"),
    ({"count": 11}, ("count",), "must be at most 10 (got 11)"),
    ({"count": 2.5}, ("count",), "must be a whole number (got 2.5)"),
    ({"count": "many"}, ("count",), "must be a whole number (got 'many')"),
    ({"ratio": 1}, ("ratio",), "must be less than 1"),
    ({"ratio": "half"}, ("ratio",), "must be a number (got 'half')"),
    ({"flag": "maybe"}, ("flag",), "must be true or false (without quotes) (got 'maybe')"),
    ({"day": "2026-02-30"}, ("day",), "must be a date (YYYY-MM-DD)"),
    ({"names": []}, ("names",), "must not be empty"),
    ({"names": ["a", "b", "c"]}, ("names",), "must hold at most 2 values"),
    ({"names": "a"}, ("names",), 'must be a list such as ["a", "b"]'),
    ({"text": ""}, ("text",), "must not be empty"),
    ({"text": "toolong"}, ("text",), "must be at most 5 characters long"),
    ({"either": "x"}, ("either",), "must be a whole number or a list"),
    ({"either": [1, "x"]}, ("either", 1), "must be a whole number (got 'x')"),
    ({"table": {"k": 3}}, ("table", "k"), "must be a string in quotes or a list"),
    ({"table": "k"}, ("table",), "must be a table"),
    ({"wait": "soon"}, ("wait",), "'soon' is not a duration"),
    ({"chioce": "alpha"}, ("chioce",), "unknown option 'chioce'"),
])
def test_every_kind_of_pydantic_error_reads_as_one_sentence_at_its_key(values, where, words) -> None:
    with pytest.raises(ValidationError) as caught:
        EveryConstraint.model_validate(values)
    explained = explain(caught.value, list(EveryConstraint.model_fields))
    assert len(explained) == 1, explained
    assert explained[0].location == where
    assert words in explained[0].message, explained[0].message
    for noise in ("Input should", "Value error", "literal[", "list[", "int]", "errors.pydantic.dev"):
        assert noise not in explained[0].message + explained[0].hint


# -- output paths ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "a/b\\c", "tab\there\nnewline", "/", "\x00"])
def test_what_workflow_puts_in_an_output_path_stays_a_file_name_under_its_folder(name, tmp_path,
                                                                                  monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = fill_path_template("reports/{workflow}-{period}.html",
                              {"workflow": name, "period": "2026-11-16..2026-11-22"})
    assert path.parent == Path("reports")
    assert path.name.endswith("-2026-11-16..2026-11-22.html") and not path.name.startswith(".")
    assert all(ord(c) >= 32 for c in path.name)


def test_escaped_braces_in_an_output_path_stay_literal() -> None:
    path = fill_path_template("reports/{{workflow}}-{workflow}.html", {"workflow": "weekly", "period": "p"})
    assert path == Path("reports/{workflow}-weekly.html")


def test_an_output_path_that_became_a_folder_fails_that_output_clearly(write_workflow, tmp_path,
                                                                       monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "posts.csv").write_text("platform,account,post_id,published_at,likes,reach\n"
                                        "instagram,a,1,2026-11-17T10:00:00Z,1,10\n", encoding="utf-8")
    path = write_workflow(HEADER.replace('"Test"', '"Test"\nas_of = "2026-11-24"') + POSTS_SOURCE
                          + '[[outputs]]\nplugin = "html_report"\npath = "reports/{period}"\n')
    (tmp_path / "reports" / "2026-11-16..2026-11-22").mkdir(parents=True)
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 3, result.output
    assert "output html_report failed: reports/2026-11-16..2026-11-22 is a folder" in result.output
    assert "Error:" not in result.output and "ValueError" not in result.output
