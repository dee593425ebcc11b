"""The command line, through click's CliRunner: help, exit codes, and what each command prints.

Exit codes: 0 ok, 1 the run failed, 2 invalid input (nothing ran), 3 an output could not deliver.
Runs of the offline demo happen in a temporary directory, so reports land there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result
from demo_scenario import demo_without_client_reports

import cmflow
from cmflow.cli import COMMANDS, main
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.plugins.registry import get_registry
from cmflow.store import open_store
from cmflow.workflow import load_workflow

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEMO_WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "demo.toml"
# The demo's text for copies written elsewhere, which have no logos/ folder beside them.
DEMO_TEXT = re.sub(r"^logo = .*\n", "", DEMO_WORKFLOW.read_text(encoding="utf-8"), flags=re.MULTILINE)
DEMO_PERIOD = "2026-11-16..2026-11-22"
BUILTINS = {
    ("source", "csv"), ("source", "json"),
    ("metric", "engagement_rate_by_reach"), ("metric", "engagement_rate_by_followers"),
    ("metric", "engagement_rate_by_impressions"), ("metric", "follower_growth"),
    ("metric", "posts_published"), ("metric", "totals"), ("metric", "top_posts"),
    ("trigger", "threshold"), ("trigger", "change"),
    ("output", "console"), ("output", "html_report"),
}
WIDE = {"COLUMNS": "250"}  # rich tables fold cells to the terminal width; keep rows on one line


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty temporary directory, so reports/ and relative paths land there."""
    directory = tmp_path / "cwd"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(main, list(args), env=env, catch_exceptions=False, prog_name="cmflow")


def demo_variant(directory: Path, old: str, new: str, name: str = "demo-variant.toml",
                 text: str = DEMO_TEXT) -> Path:
    """The demo workflow (or ``text``) with one line changed, written to ``directory``."""
    assert old in text, old
    path = directory / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def quick_demo(directory: Path) -> Path:
    """:func:`demo_without_client_reports`, written to ``directory``."""
    path = directory / "demo.toml"
    path.write_text(demo_without_client_reports(), encoding="utf-8")
    return path


CONSOLE = '[[outputs]]\nplugin = "console"\n'
CONSOLE_AND_PAGE = CONSOLE + '\n[[outputs]]\nplugin = "html_report"\npath = "reports/demo-{period}.html"\n'
"""The console and the demo's dashboard page (its html_report, where the demo writes it)."""


def record_demo(directory: Path, rules: str = "", outputs: str = CONSOLE) -> Path:
    """The demo's [workflow] table (its name, period and comparison) with its Meta export, one
    metric, ``rules`` (more [[triggers]]) and ``outputs`` (the console): for the tests that read
    only the runs and alerts it records, its exit code, or whether it wrote a page, written to
    ``directory`` (a small part of the CPU of a :func:`quick_demo` run)."""
    path = directory / "demo.toml"
    path.write_text(DEMO_TEXT[:DEMO_TEXT.index("[[sources]]")] + (
        '[[sources]]\nid = "meta"\nplugin = "export"\npath = "builtin:demo/exports/*/*-posts.csv"\n\n'
        '[[metrics]]\nplugin = "posts_published"\n\n') + rules + outputs,
        encoding="utf-8")
    return path


CLIENT_PAGES = ('\n[[outputs]]\nid = "client_reports"\nplugin = "report"\npath = "reports/{client}/{client}-{period}.{format}"\n'
                'formats = ["html"]\naudience = "client"\n\n'
                + "".join(block for block in re.split(r"(?=^\[)", DEMO_TEXT, flags=re.MULTILINE)
                          if block.startswith("[[clients]]")))
"""Each of the demo's clients' report as an HTML page, and the demo's [[clients]]: outputs for
:func:`record_demo`."""

ALWAYS_FIRES = '[[triggers]]\nid = "always"\nplugin = "threshold"\nmetric = "posts_published"\nabove = -1\n\n'
"""A rule every run of :func:`record_demo` breaks: its alert fires at the first run and stays firing."""


@pytest.fixture(scope="module")
def demo_first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A folder after one ``cmflow run demo.toml`` of :func:`quick_demo` into the store its
    [store] url names (``.cmflow/demo-state.db``, beside the reports), and what the command
    printed: run once for the tests that only read what a run said or left, each of which copies
    the folder (:func:`after_one_run`)."""
    directory = tmp_path_factory.mktemp("demo-run-once")
    demo = quick_demo(directory)
    state = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:  # conftest's isolated_environment, for this module
        patch.chdir(directory)
        patch.setenv("CMFLOW_STORE", f"sqlite:///{state / 'state.db'}")
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        patch.setenv("XDG_STATE_HOME", str(state))
        patch.delenv("CMFLOW_SHARED_BUDGETS", raising=False)
        result = invoke(CliRunner(), "run", str(demo))
    assert result.exit_code == 0, result.output
    assert (directory / ".cmflow" / "demo-state.db").is_file()
    return directory, result


@pytest.fixture(scope="module")
def demo_run_once(demo_first_run: tuple[Path, Result]) -> Path:
    """The folder of :func:`demo_first_run`."""
    return demo_first_run[0]


def after_one_run(demo_run_once: Path, directory: Path) -> Path:
    """``directory`` as :func:`demo_run_once` left its folder (the demo, its store, its reports),
    a copy of its own; the demo's path in it."""
    shutil.copytree(demo_run_once, directory, dirs_exist_ok=True)
    return directory / "demo.toml"


def runs_in(store_url: str) -> list:
    with open_store(store_url) as store:
        return store.runs()


# -- help -------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [[name] for name in COMMANDS] + [["plugins", "show"]],
                         ids=lambda c: " ".join(c))
def test_every_command_has_help(runner: CliRunner, command: list[str]) -> None:
    result = invoke(runner, *command, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: cmflow {' '.join(command)}" in result.output
    assert "--help" in result.output


def test_main_help_lists_commands_and_exit_codes(runner: CliRunner) -> None:
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for name, (_, _, help_text) in COMMANDS.items():
        assert re.search(rf"^\s+{name}\s+{re.escape(help_text)}", result.output, re.MULTILINE), name
    assert "Exit codes:" in result.output
    for code, meaning in (("0", "ok"), ("1", "the run failed"), ("2", "invalid input"),
                          ("3", "an output could not deliver")):
        assert re.search(rf"^\s+{code}\s+.*{meaning}", result.output, re.MULTILINE), code


def test_run_help_documents_exit_codes(runner: CliRunner) -> None:
    result = invoke(runner, "run", "--help")
    assert "Exit codes:" in result.output and "--dry-run" in result.output and "--period" in result.output


def test_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(runner, "rnu")
    assert result.exit_code == 2
    assert "No such command 'rnu'. Did you mean 'run'?" in result.output


# -- validate ---------------------------------------------------------------------------------
def test_validate_a_valid_workflow(runner: CliRunner) -> None:
    result = invoke(runner, "validate", str(DEMO_WORKFLOW))
    assert result.exit_code == 0, result.output
    assert f"✓ {DEMO_WORKFLOW}: Weekly social KPIs (demo) (23 sources, 1 classifier, 33 metrics, 6 triggers, 7 outputs)" in result.stdout


def test_validate_lists_every_problem_of_every_file(runner: CliRunner, tmp_path: Path) -> None:
    one = demo_variant(tmp_path, 'plugin = "follower_growth"', 'plugin = "follower_grwth"', "one.toml")
    two = demo_variant(tmp_path, 'period = "last_week"', 'period = "last_wek"\nperiodd = 1', "two.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text('[workflow\nname = "x"\n', encoding="utf-8")
    result = invoke(runner, "validate", str(one), str(DEMO_WORKFLOW), str(two), str(broken))
    assert result.exit_code == 2
    assert f"✓ {DEMO_WORKFLOW}" in result.stdout  # the valid file is still checked and reported
    for path, count in ((one, 1), (two, 2), (broken, 1)):
        with pytest.raises(WorkflowInvalid) as caught:
            load_workflow(path)
        assert len(caught.value.problems) == count, [str(p) for p in caught.value.problems]
        assert f"✗ {path}: {count} problem" in result.stderr
        for problem in caught.value.problems:
            assert f"  {problem}" in result.stderr
    assert "did you mean 'follower_growth'?" in result.stderr
    assert "workflow.periodd" in result.stderr and "workflow.period:" in result.stderr
    assert f"{broken}:1:" in result.stderr


def test_validate_needs_a_file(runner: CliRunner) -> None:
    result = invoke(runner, "validate")
    assert result.exit_code == 2
    assert "Missing argument" in result.output


# -- run --------------------------------------------------------------------------------------
def test_run_the_demo(in_tmp: Path, demo_first_run: tuple[Path, Result]) -> None:
    """What `cmflow run` says and leaves of the demo (the module's one run of it, into the store
    its [store] url names), without its client reports and e-mails, which this test does not read
    (seconds of charts and PDFs): tests/test_demo.py runs the whole demo once and reads them."""
    folder, result = demo_first_run
    after_one_run(folder, in_tmp)
    store_url = "sqlite:///.cmflow/demo-state.db"  # relative to in_tmp, the run's folder copied
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert f"Running 'Weekly social KPIs (demo)' for {DEMO_PERIOD} (compared with 2026-11-09..2026-11-15)" in err
    assert "✓ source meta (export): 141 post" in err
    firing = re.search(r"Alerts: (\d+) firing \((\d+) new\)", err)
    assert firing, err
    alert_lines = re.findall(r"^  NEW \[(warning|info|critical)\] .+$", err, re.MULTILINE)
    assert int(firing.group(1)) == int(firing.group(2)) == len(alert_lines) >= 1
    assert "ERR (reach) dropped 45%, -2.35\u00a0pt for instagram / trailhead.outfitters" in err
    report = f"reports/demo-{DEMO_PERIOD}.html"
    assert f"✓ output html_report: wrote {report}" in err
    assert (in_tmp / report).is_file()
    assert "<html" in (in_tmp / report).read_text(encoding="utf-8")
    assert "Weekly social KPIs (demo)" in result.stdout  # the console output's tables
    runs = runs_in(store_url)
    assert [(r.status, str(r.period_start), str(r.period_end)) for r in runs] == [("ok", "2026-11-16", "2026-11-22")]
    assert runs[0].stats["alerts_firing"] == len(alert_lines)
    assert f"run {runs[0].id} recorded in {store_url}" in err


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_second_run_reports_alerts_as_known(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    demo = record_demo(in_tmp, ALWAYS_FIRES)
    invoke(runner, "run", str(demo), "--store", store_url)
    again = invoke(runner, "run", str(demo), "--store", store_url)
    assert again.exit_code == 0
    firing = re.search(r"Alerts: (\d+) firing \((\d+) new\)", again.stderr)
    assert firing and int(firing.group(1)) >= 1 and firing.group(2) == "0"
    assert "NEW [" not in again.stderr


def test_dry_run_writes_no_report_and_no_run(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    demo = record_demo(in_tmp, outputs=CONSOLE_AND_PAGE)
    result = invoke(runner, "run", str(demo), "--store", store_url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "— dry run" in result.stderr
    assert "output html_report: skipped (dry run)" in result.stderr
    assert "nothing written (dry run)" in result.stderr
    assert "Weekly social KPIs (demo)" in result.stdout  # the console still prints
    assert not (in_tmp / "reports").exists()
    assert runs_in(store_url) == []


def test_run_an_explicit_period(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    demo = record_demo(in_tmp, outputs=CONSOLE_AND_PAGE)
    result = invoke(runner, "run", str(demo), "--store", store_url, "--period", "2026-11-09..2026-11-15")
    assert result.exit_code == 0, result.output
    assert "for 2026-11-09..2026-11-15 (compared with 2026-11-02..2026-11-08)" in result.stderr
    assert (in_tmp / "reports" / "demo-2026-11-09..2026-11-15.html").is_file()
    [run] = runs_in(store_url)
    assert (str(run.period_start), str(run.period_end)) == ("2026-11-09", "2026-11-15")


def test_run_a_nonsense_period_exits_2_and_runs_nothing(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    result = invoke(runner, "run", str(DEMO_WORKFLOW), "--store", store_url, "--period", "nonsense")
    assert result.exit_code == 2
    assert "--period" in result.stderr and "unknown period 'nonsense'" in result.stderr
    assert not (in_tmp / "reports").exists()
    assert runs_in(store_url) == []


def test_run_an_invalid_workflow_exits_2(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    path = demo_variant(in_tmp, 'plugin = "html_report"', 'plugin = "html_reprot"')
    result = invoke(runner, "run", str(path), "--store", store_url)
    assert result.exit_code == 2
    assert "outputs[3].plugin: unknown output plugin 'html_reprot' (did you mean 'html_report'?)" in result.stderr
    assert runs_in(store_url) == []


def test_run_with_a_missing_data_file_exits_1_naming_the_file(runner: CliRunner, in_tmp: Path,
                                                             store_url: str) -> None:
    # The clients' pages are read, not their PDFs: the demo's clients, its Meta export and its
    # dashboard, with their reports as HTML pages.
    path = record_demo(in_tmp, outputs=CONSOLE_AND_PAGE + CLIENT_PAGES)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'path = "builtin:demo/exports/*/*-posts.csv"', 'path = "exports/meta-missing.csv"').replace(
        'plugin = "posts_published"\n', 'plugin = "posts_published"\nby = ["overall", "client"]\n'), encoding="utf-8")
    result = invoke(runner, "run", str(path), "--store", store_url)
    assert result.exit_code == 1, result.output
    missing = str(in_tmp / "exports" / "meta-missing.csv")
    assert re.search(rf"✗ source meta \(export\): .*{re.escape(missing)} does not exist", result.stderr)
    assert "Run failed" in result.stderr
    [run] = runs_in(store_url)
    assert run.status == "failed" and "meta-missing.csv" in run.error
    assert "Incomplete: 1 source(s) failed" in result.stderr
    # The agency's dashboard says what failed, under a name of its own: the last complete
    # report stays where it was.
    assert not (in_tmp / "reports" / f"demo-{DEMO_PERIOD}.html").exists()
    report = (in_tmp / "reports" / f"demo-{DEMO_PERIOD}.incomplete.html").read_text(encoding="utf-8")
    assert "Incomplete report:" in report and "meta-missing.csv does not exist" in report
    # The clients' reports say what is missing in their words, with no path or source id.
    client = (in_tmp / "reports" / "maison-lumiere" / f"maison-lumiere-{DEMO_PERIOD}.incomplete.html").read_text(
        encoding="utf-8")
    assert "Rapport incomplet" in client and "meta-missing" not in client and "/exports/" not in client


def test_a_store_password_is_never_printed(runner: CliRunner, in_tmp: Path) -> None:
    url = "postgresql://cm:Sup3rS3cret@127.0.0.1:1/cmflow"
    result = invoke(runner, "run", str(DEMO_WORKFLOW), "--store", url)
    assert result.exit_code == 1
    assert "cannot open the state store postgresql://cm:***@127.0.0.1:1/cmflow" in result.stderr
    assert "Sup3rS3cret" not in result.output + result.stderr


def test_run_whose_output_cannot_deliver_exits_3(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    blocker = in_tmp / "not-a-directory"
    blocker.write_text("a regular file where the report's directory should be", encoding="utf-8")
    path = record_demo(in_tmp, outputs=CONSOLE_AND_PAGE.replace('path = "reports/demo-{period}.html"',
                                                                f'path = "{blocker}/report.html"'))
    result = invoke(runner, "run", str(path), "--store", store_url)
    assert result.exit_code == 3, result.output
    assert "✗ output html_report failed:" in result.stderr
    assert "✓ output console" in result.stderr  # the other output still delivered
    assert blocker.read_text(encoding="utf-8").startswith("a regular file")
    [run] = runs_in(store_url)
    assert run.status == "undelivered"


# -- plugins ----------------------------------------------------------------------------------
def test_plugins_json_lists_every_builtin(runner: CliRunner) -> None:
    result = invoke(runner, "plugins", "--json")
    assert result.exit_code == 0
    listing = json.loads(result.stdout)
    assert listing["problems"] == []
    listed = {(p["kind"], p["name"]): p for p in listing["plugins"]}
    assert BUILTINS <= set(listed)
    assert set(listed) == {(i.kind, i.name) for i in get_registry()}
    for plugin in listing["plugins"]:
        assert plugin["package"] == "cmflow" and plugin["version"] == cmflow.__version__
        assert plugin["description"].strip()


def test_a_plugin_name_leads_to_its_module(runner: CliRunner) -> None:
    """`cmflow plugins` and `plugins show` name each plugin's module, and a built-in's module is
    named after the plugin, or after the family it belongs to (engagement_rate_by_*, followers_gained
    beside followers, the listening metrics)."""
    listing = json.loads(invoke(runner, "plugins", "--json").stdout)["plugins"]
    modules = {plugin["name"]: plugin["module"] for plugin in listing}
    assert modules["posts_published"] == "cmflow.builtin.metrics.posts_published"
    assert modules["follower_growth"] == "cmflow.builtin.metrics.follower_growth"
    assert modules["slack"] == "cmflow.builtin.outputs.slack"
    assert modules["mentions"] == "cmflow.builtin.metrics.conversation_counts"
    families = {"engagement_rate_by_": "engagement", "csv": "csv_source", "json": "json_source", "xlsx": "xlsx_source",
                "export": "export_source",
                "mentions": "conversation_counts", "comments_received": "conversation_counts",
                "negative_": "conversation_counts", "followers_": "followers",
                "sentiment_": "sentiment", "net_sentiment": "sentiment", "most_negative": "sentiment",
                "unanswered_negative": "response_times",
                "missing_planned_posts": "calendar_adherence", "late_planned_posts": "calendar_adherence",
                "conversion_rate": "conversions", "cost_per_conversion": "conversions", "roi": "conversions",
                "traffic_totals": "conversions",
                "hours_spent": "effort", "average_task_time": "effort", "production_cost": "effort",
                "cost_per_": "effort", "budget_consumed": "budgets",
                "share_of_voice": "listening", "mention_reach": "listening", "top_hashtags": "listening",
                "posting_frequency": "publishing_pace", "engagement_per_post": "publishing_pace"}
    for plugin in listing:
        module = plugin["module"].rsplit(".", 1)[1]
        expected = next((family for prefix, family in families.items() if plugin["name"].startswith(prefix)),
                        plugin["name"])
        assert module == expected, (plugin["name"], plugin["module"])
    shown = invoke(runner, "plugins", "show", "posts_published", env=WIDE).stdout
    assert "module cmflow.builtin.metrics.posts_published" in shown.splitlines()[1]


def test_plugins_table_shows_kind_package_version_module_and_description(runner: CliRunner) -> None:
    result = invoke(runner, "plugins", env=WIDE)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for info in get_registry():
        row = next((line for line in lines if line.count("│") > 2
                    and [c.strip() for c in line.split("│")[1:3]] == [info.kind, info.name]), None)
        assert row is not None, info.name
        cells = [cell.strip() for cell in row.split("│")[1:-1]]
        assert cells == [info.kind, info.name, info.package, info.version, info.cls.__module__, info.description]
    assert "cmflow plugins show NAME" in result.stdout


def test_plugins_show_csv(runner: CliRunner) -> None:
    result = invoke(runner, "plugins", "show", "csv", env=WIDE)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("csv (source) — Read posts, account snapshots")
    header = next(line for line in text.splitlines() if "Option" in line and "Type" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]] == ["Option", "Type", "Default", "Description", "Example"]

    def row(option: str) -> list[str]:
        line = next(line for line in text.splitlines() if line.startswith(f"│ {option} "))
        return [cell.strip() for cell in line.split("│")[1:-1]]

    path_row, delimiter_row = row("path"), row("delimiter")
    assert path_row[:3] == ["path", "string", "required"]
    assert path_row[3].startswith("File to read") and path_row[4] == '"exports/instagram-posts.csv"'
    assert delimiter_row[:3] == ["delimiter", "string", '","']
    assert delimiter_row[3].startswith("Field separator") and delimiter_row[4] == '";"'
    assert row("on_error")[1] == '"fail" | "skip"'

    sample = text.split("\nSample:\n", 1)[1]
    parsed = tomllib.loads(sample)
    assert parsed == {"sources": [{"plugin": "csv", "path": "exports/instagram-posts.csv"}]}
    assert "# delimiter = \",\"" in sample  # optional options: commented, with their default


@pytest.mark.parametrize("kind_name", sorted(BUILTINS), ids=lambda k: k[1])
def test_every_builtin_sample_is_toml(runner: CliRunner, kind_name: tuple[str, str]) -> None:
    kind, name = kind_name
    result = invoke(runner, "plugins", "show", name, "--kind", kind)
    assert result.exit_code == 0
    parsed = tomllib.loads(result.stdout.split("\nSample:\n", 1)[1])
    section = {"source": "sources", "metric": "metrics", "trigger": "triggers", "output": "outputs"}[kind]
    assert parsed[section][0]["plugin"] == name


SAMPLE_CONTEXT = """
[workflow]
name = "Sample check"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[sources]]
id = "audience"
plugin = "json"
path = "audience.json"
record = "account_snapshot"
"""


@pytest.mark.parametrize("kind_name", sorted(BUILTINS), ids=lambda k: k[1])
def test_every_builtin_sample_works_as_written(runner: CliRunner, kind_name: tuple[str, str],
                                               write_workflow) -> None:
    """Pasted into a workflow as it is, a plugin's sample block validates."""
    kind, name = kind_name
    sample = invoke(runner, "plugins", "show", name, "--kind", kind).stdout.split("\nSample:\n", 1)[1]
    context = SAMPLE_CONTEXT
    if kind == "trigger":  # a trigger needs the metric its sample watches
        context += '\n[[metrics]]\nplugin = "engagement_rate_by_reach"\n'
    load_workflow(write_workflow(context + "\n" + sample))  # raises WorkflowInvalid if not


def test_plugins_show_options_as_json_schema(runner: CliRunner) -> None:
    result = invoke(runner, "plugins", "show", "csv", "--json")
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["path"] and schema["additionalProperties"] is False
    # an optional bounded number's bound in JSON Schema's word, which editors check (pydantic writes "ge")
    assert schema["properties"]["default_year"]["anyOf"][0]["minimum"] == 1990, schema["properties"]["default_year"]


def test_plugins_show_unknown_name_suggests(runner: CliRunner) -> None:
    close = invoke(runner, "plugins", "show", "csvv")
    assert close.exit_code == 2
    assert "no plugin named 'csvv'; did you mean 'csv'?" in close.stderr
    far = invoke(runner, "plugins", "show", "qqqq")  # "nope" is near notion_page
    assert far.exit_code == 2
    assert "no plugin named 'qqqq'" in far.stderr and "cmflow plugins" in far.stderr


# -- init -------------------------------------------------------------------------------------
def test_init_writes_a_valid_workflow_and_will_not_overwrite(runner: CliRunner, in_tmp: Path) -> None:
    result = invoke(runner, "init")
    assert result.exit_code == 0, result.output
    target = in_tmp / "workflow.toml"
    assert "wrote workflow.toml" in result.stdout
    assert load_workflow(target).name == "Weekly social KPIs"
    assert invoke(runner, "validate", str(target)).exit_code == 0

    target.write_text("# my edits\n", encoding="utf-8")
    refused = invoke(runner, "init")
    assert refused.exit_code == 2
    assert "exists; use --force" in refused.stderr
    assert target.read_text(encoding="utf-8") == "# my edits\n"

    forced = invoke(runner, "init", "--force")
    assert forced.exit_code == 0
    load_workflow(target)


def test_init_into_a_new_directory(runner: CliRunner, in_tmp: Path) -> None:
    result = invoke(runner, "init", "flows/weekly.toml")
    assert result.exit_code == 0
    text = (in_tmp / "flows" / "weekly.toml").read_text(encoding="utf-8")
    assert "cmflow validate flows/weekly.toml" in text  # the {file} placeholder is filled
    load_workflow(in_tmp / "flows" / "weekly.toml")


# -- schema -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workflow_schema() -> dict:
    result = CliRunner().invoke(main, ["schema"], catch_exceptions=False)
    assert result.exit_code == 0
    return json.loads(result.stdout)


def test_schema_is_a_valid_draft_2020_12_schema(workflow_schema: dict) -> None:
    assert workflow_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(workflow_schema)


def test_schema_bounds_are_json_schema_words(workflow_schema: dict) -> None:
    """Bounds pydantic cannot place (an optional number's ``ge``) are written as JSON Schema's
    ``minimum`` and its kin, which editors check; ``ge`` would be ignored."""
    def pydantic_bounds(node, names=False):
        if isinstance(node, list):
            return [b for item in node for b in pydantic_bounds(item)]
        if not isinstance(node, dict):
            return []
        found = [] if names else [k for k, v in node.items() if k in ("ge", "le", "gt", "lt") and not isinstance(v, dict)]
        return found + [b for k, v in node.items()
                        for b in pydantic_bounds(v, names=not names and k in ("properties", "$defs"))]
    assert pydantic_bounds(workflow_schema) == []
    validator = jsonschema.Draft202012Validator(workflow_schema)
    document = tomllib.loads(DEMO_TEXT)
    document["production"] = {**document.get("production", {}), "default_rate": -5}
    (error,) = validator.iter_errors(document)  # default_rate: a number of at least 0, or none
    assert list(error.absolute_path) == ["production", "default_rate"]
    assert any("less than the minimum of 0" in cause.message for cause in error.context), error.context


def test_schema_accepts_the_demo(workflow_schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(workflow_schema)
    errors = list(validator.iter_errors(tomllib.loads(DEMO_TEXT)))
    assert errors == [], [e.message for e in errors]


def test_schema_accepts_the_init_starter(workflow_schema: dict, runner: CliRunner, in_tmp: Path) -> None:
    invoke(runner, "init")
    starter = tomllib.loads((in_tmp / "workflow.toml").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(workflow_schema).iter_errors(starter)) == []


@pytest.mark.parametrize(("old", "new"), [
    ('account = "maison-lumiere"', 'acount = "maison-lumiere"'),  # unknown option
    ('n = 5', 'n = "five"'),  # wrong type
    ('plugin = "totals"', 'plugin = "totalz"'),  # unknown plugin
    ('period = "last_week"', 'period = "last_week"\nperiodd = 1'),  # unknown [workflow] key
])
def test_schema_rejects_demo_variants(workflow_schema: dict, old: str, new: str) -> None:
    assert old in DEMO_TEXT
    document = tomllib.loads(DEMO_TEXT.replace(old, new))
    assert not jsonschema.Draft202012Validator(workflow_schema).is_valid(document)


def test_schema_to_a_file(runner: CliRunner, in_tmp: Path, workflow_schema: dict) -> None:
    result = invoke(runner, "schema", "-o", "cmflow.schema.json")
    assert result.exit_code == 0
    assert json.loads((in_tmp / "cmflow.schema.json").read_text(encoding="utf-8")) == workflow_schema


# -- history ----------------------------------------------------------------------------------
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_history_lists_runs(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    demo = record_demo(in_tmp)
    empty = invoke(runner, "history", "--store", store_url)
    assert empty.exit_code == 0 and "No run recorded yet." in empty.stdout
    invoke(runner, "run", str(demo), "--store", store_url)
    invoke(runner, "run", str(demo), "--store", store_url, "--period", "2026-11-09..2026-11-15")
    result = invoke(runner, "history", "--store", store_url, env=WIDE)
    assert result.exit_code == 0
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows] == [
        ("2", "Weekly social KPIs (demo)", "by hand", "2026-11-09..2026-11-15", "ok"),
        ("1", "Weekly social KPIs (demo)", "by hand", DEMO_PERIOD, "ok"),
    ]
    limited = invoke(runner, "history", "--store", store_url, "-n", "1", env=WIDE)
    assert sum(line.startswith("│") for line in limited.stdout.splitlines()) == 1


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_history_says_which_unfinished_runs_already_committed(runner: CliRunner, in_tmp: Path, store_url: str) -> None:
    """A run still running after its commit (delivering), one before it, and one cut short after
    its commit (a run of the same workflow started since): their slots count as run or not."""
    period = (date(2026, 11, 16), date(2026, 11, 22))
    with open_store(store_url) as store:
        delivering = store.start_run("Delivering", "a.toml", *period, False)
        store.commit_run(delivering, workflow="Delivering", measurements=None, alerts=[])
        store.start_run("Fetching", "b.toml", *period, False)
        cut_short = store.start_run("Restarted", "c.toml", *period, False)
        store.commit_run(cut_short, workflow="Restarted", measurements=None, alerts=[])
        store.start_run("Restarted", "c.toml", *period, False)
    result = invoke(runner, "history", "--store", store_url, env=WIDE)
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert [(r[1], r[5]) for r in rows if r[0]] == [("Restarted", "running"), ("Restarted", "interrupted (committed)"),
                                            ("Fetching", "running"), ("Delivering", "running (committed)")]


def test_history_uses_cmflow_store_by_default(runner: CliRunner, in_tmp: Path) -> None:
    """No --store: the CMFLOW_STORE variable (set per test by conftest) is the store."""
    default = os.environ["CMFLOW_STORE"]
    with open_store(default) as store:
        store.start_run("From the default store", "x.toml", date(2026, 1, 1), date(2026, 1, 7), False)
    result = invoke(runner, "history", env=WIDE)
    assert "From the default store" in result.stdout


def test_history_of_a_workflow_file_reads_its_own_store(runner: CliRunner, in_tmp: Path,
                                                        demo_run_once: Path) -> None:
    """The demo names its store in [store] url: `history FILE` finds it, filtered to that workflow."""
    demo = after_one_run(demo_run_once, in_tmp)  # ran with sqlite:///.cmflow/demo-state.db there
    with open_store(os.environ["CMFLOW_STORE"]) as store:
        store.start_run("Another workflow", "x.toml", date(2026, 1, 1), date(2026, 1, 7), False)
    result = invoke(runner, "history", str(demo), env=WIDE)
    assert result.exit_code == 0
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert [(r[1], r[4], r[5]) for r in rows] == [("Weekly social KPIs (demo)", DEMO_PERIOD, "ok")]
    assert (in_tmp / ".cmflow" / "demo-state.db").exists()


def test_alerts_lists_what_fires_and_with_all_what_resolved(runner: CliRunner, in_tmp: Path,
                                                            demo_run_once: Path) -> None:
    empty = invoke(runner, "alerts", str(quick_demo(in_tmp)), env=WIDE)
    assert empty.exit_code == 0 and "No alert firing or pending." in empty.stdout
    demo = after_one_run(demo_run_once, in_tmp)  # the demo run once, its store beside it
    result = invoke(runner, "alerts", str(demo), env=WIDE)
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()]
    assert sorted((r[0], r[1], r[3]) for r in rows) == [
        ("firing", "info", "missing_post"), ("firing", "info", "missing_post"), ("firing", "info", "missing_post"),
        ("firing", "info", "reach_spike"), ("firing", "warning", "err_drop"), ("firing", "warning", "err_drop"),
        ("firing", "warning", "err_objective"), ("firing", "warning", "err_objective"), ("firing", "warning", "over_budget"),
        ("firing", "warning", "unanswered_negative"), ("firing", "warning", "unanswered_negative")]
    other = invoke(runner, "alerts", "--workflow", "Some other workflow", "--store",
                   "sqlite:///.cmflow/demo-state.db", env=WIDE)
    assert "No alert firing or pending." in other.stdout


def test_a_second_run_while_one_is_under_way_exits_4_and_runs_nothing(runner: CliRunner, in_tmp: Path,
                                                                      store_url: str) -> None:
    demo = record_demo(in_tmp, outputs=CONSOLE_AND_PAGE)
    import socket
    from datetime import timedelta

    from cmflow.store import LockOwner

    holder = LockOwner(socket.gethostname(), os.getpid(), "a-daemon")  # this test process: alive
    with open_store(store_url) as store:
        store.acquire_run_lock("Weekly social KPIs (demo)", holder, timedelta(hours=1))
    busy = invoke(runner, "run", str(demo), "--store", store_url)
    assert busy.exit_code == 4, busy.output
    assert "is already running" in busy.stderr and "try again when it is done" in busy.stderr
    assert runs_in(store_url) == [] and not (in_tmp / "reports").exists()
    with open_store(store_url) as store:
        store.release_run_lock("Weekly social KPIs (demo)", holder)
    assert invoke(runner, "run", str(demo), "--store", store_url).exit_code == 0
    assert (in_tmp / "reports").is_dir()  # the run it refused would have written its page
    with open_store(store_url) as store:  # the finished run gave its lock back
        store.acquire_run_lock("Weekly social KPIs (demo)", holder, timedelta(hours=1))


def test_status_reads_the_settings_file_the_daemon_was_given(runner: CliRunner, tmp_path: Path) -> None:
    """A daemon started with --config elsewhere: `status --config` finds its store and thresholds."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "weekly.toml").write_text(DEMO_TEXT.replace('as_of = "2026-11-24"\n', "").replace(
        'url = "sqlite:///.cmflow/demo-state.db"', f'url = "sqlite:///{tmp_path / "elsewhere.db"}"'), encoding="utf-8")
    state = tmp_path / "elsewhere.db"
    config = tmp_path / "etc" / "daemon.toml"
    config.parent.mkdir()
    config.write_text(f'[daemon]\nstore = "sqlite:///{state}"\n', encoding="utf-8")
    result = invoke(runner, "status", str(folder), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert f"State in sqlite:///{state}" in " ".join(result.output.split())
    assert "waiting" in result.output and "invalid" not in result.output  # the table is folded at 80 columns
