"""Third-party plugins are found the way pip installs them: a ``*.dist-info`` on ``sys.path``
with a ``cmflow`` entry-point group.

Nothing is pip-installed: each test lays out a private site directory (package source plus a
hand-written ``dist-info``), puts it on ``sys.path`` and reloads the plugin registry, which
``importlib.metadata`` then discovers like any installed distribution. The example package is
``plugins/cmflow-example``; broken distributions are written here, one per failure mode.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import cmflow
from cmflow.cli import main
from cmflow.plugins.registry import PluginRegistry, UnknownPlugin, get_registry

REPO = Path(__file__).resolve().parent.parent
DEMO_WORKFLOW = REPO / "workflows" / "demo.toml"
EXAMPLE = REPO / "plugins" / "cmflow-example"
EXAMPLE_SOURCE = EXAMPLE / "src" / "cmflow_example"
PLUGIN_MODULES = ("cmflow_example", "cmflow_broken_import", "cmflow_broken_hook", "cmflow_duplicate_csv",
                  "cmflow_declared", "cmflow_undeclared", "cmflow_broken_declared", "cmflow_keyword_mood")
WIDE = {"COLUMNS": "250"}  # rich would fold the tables at 80 columns


@dataclass
class Site:
    """A private site-packages directory on ``sys.path`` for one test."""

    path: Path
    monkeypatch: pytest.MonkeyPatch

    def add_distribution(self, name: str, version: str, entry_points: dict[str, str],
                         modules: dict[str, str] | None = None) -> None:
        """What ``pip install`` leaves behind: modules, and METADATA + entry_points.txt."""
        dist_info = self.path / f"{name.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
        (dist_info / "entry_points.txt").write_text(
            "[cmflow]\n" + "".join(f"{key} = {value}\n" for key, value in entry_points.items()),
            encoding="utf-8")
        for module, source in (modules or {}).items():
            (self.path / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")

    def add_example(self) -> None:
        """cmflow-example as pip would install it, entry points taken from its pyproject.toml."""
        project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        shutil.copytree(EXAMPLE_SOURCE, self.path / "cmflow_example",
                        ignore=shutil.ignore_patterns("__pycache__"))
        self.add_distribution(project["name"], project["version"], project["entry-points"]["cmflow"])

    def load(self, allowed: str) -> PluginRegistry:
        """Reload the plugin registry with ``CMFLOW_LOAD_PLUGINS=allowed``."""
        self.monkeypatch.setenv("CMFLOW_LOAD_PLUGINS", allowed)
        importlib.invalidate_caches()
        return get_registry(reload=True)


def _forget_plugin_modules() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in PLUGIN_MODULES:
            del sys.modules[name]


@pytest.fixture
def site(tmp_path):
    """A site directory on sys.path; afterwards sys.path, the allow-list and the registry are
    as before, so later tests see built-ins only."""
    path = tmp_path / "site-packages"
    path.mkdir()
    _forget_plugin_modules()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.syspath_prepend(str(path))
        yield Site(path, monkeypatch)
    _forget_plugin_modules()
    importlib.invalidate_caches()
    get_registry(reload=True)


def plugins_json() -> dict:
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def origin(listing: dict, name: str) -> tuple[str, str, str] | None:
    """(kind, package, version) of a plugin in ``cmflow plugins --json``, None if absent."""
    found = [(p["kind"], p["package"], p["version"]) for p in listing["plugins"] if p["name"] == name]
    assert len(found) <= 1
    return found[0] if found else None


# -- the example package ------------------------------------------------------------------
WORKFLOW = """
[workflow]
name = "Mastodon weekly"
timezone = "UTC"
period = "last_week"
compare = ["previous_period"]
as_of = "2026-11-24"

[[sources]]
id = "mastodon"
plugin = "mastodon_archive"
path = "{outbox}"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]

[[metrics]]
plugin = "posts_published"
by = ["overall", "format"]

[[outputs]]
plugin = "console"

[[outputs]]
plugin = "markdown_summary"
path = "{summary}"
"""


def test_cmflow_plugins_lists_the_example_with_its_origin(site):
    site.add_example()
    site.load("cmflow-example")

    listing = plugins_json()
    assert origin(listing, "mastodon_archive") == ("source", "cmflow-example", "0.1.0")
    assert origin(listing, "markdown_summary") == ("output", "cmflow-example", "0.1.0")
    assert origin(listing, "csv") == ("source", "cmflow", cmflow.__version__)
    assert listing["problems"] == []

    table = CliRunner().invoke(main, ["plugins"], env=WIDE)
    assert table.exit_code == 0, table.output
    assert re.search(r"source\W+mastodon_archive\W+cmflow-example\W+0\.1\.0\W+cmflow_example\.mastodon_archive\W+"
                     r"Read the posts of a Mastodon", table.output)
    assert re.search(r"output\W+markdown_summary\W+cmflow-example\W+0\.1\.0\W+cmflow_example\.markdown_summary\W+"
                     r"Write the run's KPI tables", table.output)
    assert "could not be loaded" not in table.output


def test_plugins_show_documents_the_example_source(site):
    site.add_example()
    site.load("cmflow-example")

    shown = CliRunner().invoke(main, ["plugins", "show", "mastodon_archive"], env=WIDE)

    assert shown.exit_code == 0, shown.output
    assert "mastodon_archive (source) — Read the posts of a Mastodon account" in shown.output
    assert "from cmflow-example 0.1.0" in shown.output
    assert "without any network access" in shown.output  # the class docstring
    options_table, sample = shown.output.split("Sample:\n")
    for option, example in (("path", '"exports/archive-20261124.tar.gz"'),
                            ("account", '"@maisonlumiere@mastodon.social"'), ("include_replies", "true")):
        assert re.search(rf"│ {option}\s+│.*│ {re.escape(example)}\s+│", options_table), option
    # The sample is valid TOML: required options set from their example, the others commented.
    assert tomllib.loads(sample) == {"sources": [{"plugin": "mastodon_archive",
                                                  "path": "exports/archive-20261124.tar.gz"}]}
    assert "# account = \"@maisonlumiere@mastodon.social\"" in sample
    assert "# include_replies = false" in sample
    assert "# Also count replies (statuses answering another status) as posts." in sample


def test_a_workflow_runs_through_the_example_plugins(site, tmp_path, store_url):
    site.add_example()
    site.load("cmflow-example")
    summary = tmp_path / "out" / "summary.md"
    workflow = tmp_path / "mastodon.toml"
    outbox = site.path / "cmflow_example" / "data" / "outbox.json"  # shipped in the package
    workflow.write_text(WORKFLOW.format(outbox=outbox.as_posix(), summary=summary.as_posix()), encoding="utf-8")

    run = CliRunner().invoke(main, ["run", str(workflow), "--store", store_url], env=WIDE)

    assert run.exit_code == 0, run.output
    # Two weeks of posts: 3 this week, 2 the week before (boosts, DMs, replies, older posts left out).
    assert "✓ source mastodon (mastodon_archive): 5 post" in run.stderr
    assert f"✓ output markdown_summary: wrote {summary}" in run.stderr
    lines = summary.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Mastodon weekly"
    overall = lines.index("## Overall")
    assert lines[overall + 2:overall + 5] == [
        "| ERR (reach) | Posts |",
        "| ---: | ---: |",
        "| – | 3 (+50%) |",
    ]
    # Mastodon reports no reach: no value, and the reason, rather than a 0 %.
    assert "- ERR (reach), overall: no post has reach data" in lines
    by_format = lines.index("## By format")
    assert lines[by_format + 2:by_format + 7] == [
        "| Format | Posts |", "| --- | ---: |",
        "| image | 1 (±0%) |", "| text | 1 (±0%) |", "| video | 1 (+1) |"]


def test_an_empty_allow_list_loads_built_ins_only(site, tmp_path):
    site.add_example()
    site.load("")
    workflow = tmp_path / "mastodon.toml"
    workflow.write_text(WORKFLOW.format(outbox="outbox.json", summary="summary.md"), encoding="utf-8")

    listing = plugins_json()
    assert origin(listing, "mastodon_archive") is None
    assert origin(listing, "markdown_summary") is None
    assert origin(listing, "csv") == ("source", "cmflow", cmflow.__version__)
    assert "cmflow_example" not in sys.modules
    checked = CliRunner().invoke(main, ["validate", str(workflow)])
    assert checked.exit_code == 2
    assert "sources[0].plugin: unknown source plugin 'mastodon_archive'" in checked.stderr
    assert "outputs[1].plugin: unknown output plugin 'markdown_summary'" in checked.stderr


# -- broken distributions -----------------------------------------------------------------
BROKEN_IMPORT = """
raise ImportError("cmflow-broken-import needs the 'unobtainium' library")
"""

BROKEN_HOOK = """
from cmflow import Output, hookimpl


class Survivor(Output):
    name = "survivor"
    description = "Registered by the same module as a hook that raises."

    def deliver(self, result, ctx):
        return None


@hookimpl
def register_sources(register):
    raise RuntimeError("register hook exploded")


@hookimpl
def register_outputs(register):
    register(Survivor)
"""

DUPLICATE_CSV = """
from cmflow import Source, hookimpl


class OtherCsv(Source):
    name = "csv"
    description = "Another package's idea of a CSV source."


@hookimpl
def register_sources(register):
    register(OtherCsv)
"""


def test_broken_plugin_distributions_are_reported_and_the_rest_loads(site):
    site.add_example()
    site.add_distribution("cmflow-broken-import", "1.0.0", {"broken": "cmflow_broken_import"},
                          {"cmflow_broken_import": BROKEN_IMPORT})
    site.add_distribution("cmflow-broken-hook", "1.1.0", {"hooks": "cmflow_broken_hook"},
                          {"cmflow_broken_hook": BROKEN_HOOK})
    site.add_distribution("cmflow-duplicate-csv", "2.0.0", {"csv": "cmflow_duplicate_csv"},
                          {"cmflow_duplicate_csv": DUPLICATE_CSV})
    site.load("cmflow-example,cmflow-broken-import,cmflow-broken-hook,cmflow-duplicate-csv")

    listing = plugins_json()
    problems = {p["package"]: p for p in listing["problems"]}
    assert sorted(problems) == ["cmflow-broken-hook", "cmflow-broken-import", "cmflow-duplicate-csv"]
    assert problems["cmflow-broken-import"]["source"] == "cmflow-broken-import:broken"
    assert problems["cmflow-broken-import"]["version"] == "1.0.0"
    assert problems["cmflow-broken-import"]["message"].startswith(
        "ImportError: cmflow-broken-import needs the 'unobtainium' library")
    assert problems["cmflow-broken-hook"]["message"].startswith("RuntimeError: register hook exploded")
    assert (f"source plugin 'csv' is registered twice: by cmflow {cmflow.__version__} and by "
            f"cmflow-duplicate-csv 2.0.0" in problems["cmflow-duplicate-csv"]["message"])
    # The built-in keeps its name; the failing module's other hook and other packages still load.
    assert origin(listing, "csv") == ("source", "cmflow", cmflow.__version__)
    assert origin(listing, "survivor") == ("output", "cmflow-broken-hook", "1.1.0")
    assert origin(listing, "mastodon_archive") == ("source", "cmflow-example", "0.1.0")
    assert origin(listing, "engagement_rate_by_reach") == ("metric", "cmflow", cmflow.__version__)

    table = CliRunner().invoke(main, ["plugins"], env=WIDE)
    assert table.exit_code == 0, table.output
    assert "3 plugin module(s) could not be loaded:" in table.output
    assert re.search(r"✗ cmflow-broken-import:broken \(cmflow-broken-import 1\.0\.0\): ImportError: "
                     r"cmflow-broken-import needs the 'unobtainium' library", table.output)
    assert re.search(r"✗ cmflow-broken-hook:hooks \(cmflow-broken-hook 1\.1\.0\): RuntimeError: "
                     r"register hook exploded", table.output)
    assert re.search(r"✗ cmflow-duplicate-csv:csv \(cmflow-duplicate-csv 2\.0\.0\): ValueError: source plugin "
                     r"'csv' is registered twice: by cmflow \S+ and by cmflow-duplicate-csv 2\.0\.0", table.output)

    checked = CliRunner().invoke(main, ["validate", str(DEMO_WORKFLOW)])
    assert checked.exit_code == 0, checked.output


# -- entry points named kind.name -----------------------------------------------------------
DECLARED = DUPLICATE_CSV + """
from cmflow import Output


class Note(Output):
    name = "note"
    description = "Declared by its entry point."

    def deliver(self, result, ctx):
        return None


@hookimpl
def register_outputs(register):
    register(Note)
"""
"""A note output, and a csv source that clashes with the built-in one."""


def test_a_module_whose_entry_points_name_its_plugins_is_imported_when_one_is_used(site):
    site.add_distribution("cmflow-declared", "3.0.0", {"output.note": "cmflow_declared",
                                                       "source.csv": "cmflow_declared"},
                          {"cmflow_declared": DECLARED})
    registry = site.load("cmflow-declared")

    assert "note" in registry.names("output")
    assert "cmflow_declared" not in sys.modules
    assert registry.get("output", "note").package == "cmflow-declared"
    # The built-in csv keeps its name, though its module was not imported when the other came.
    [problem] = registry.problems
    assert (f"source plugin 'csv' is registered twice: by cmflow {cmflow.__version__} and by "
            f"cmflow-declared 3.0.0" in problem.message)
    assert registry.get("source", "csv").package == "cmflow"


UNDECLARED = """
from cmflow import Metric, Source, hookimpl


class Foo(Source):
    name = "foo"
    description = "Declared by its entry point."


class Bar(Metric):
    name = "bar"
    description = "Registered by the same module, but named by no entry point."


@hookimpl
def register_sources(register):
    register(Foo)


@hookimpl
def register_metrics(register):
    register(Bar)
"""


def test_a_plugin_its_entry_points_do_not_name_is_refused_whatever_was_imported_first(site):
    site.add_distribution("cmflow-undeclared", "4.0.0", {"source.foo": "cmflow_undeclared"},
                          {"cmflow_undeclared": UNDECLARED})
    registry = site.load("cmflow-undeclared")

    assert "bar" not in registry.names("metric")
    with pytest.raises(UnknownPlugin):
        registry.get("metric", "bar")
    assert "cmflow_undeclared" not in sys.modules
    assert registry.get("source", "foo").package == "cmflow-undeclared"
    # Its module imported now, bar is still refused: the same answer in either order.
    with pytest.raises(UnknownPlugin):
        registry.get("metric", "bar")
    assert "bar" not in registry.names("metric")
    [problem] = registry.problems
    assert (problem.source, problem.package, problem.version) == ("cmflow-undeclared:source.foo",
                                                                  "cmflow-undeclared", "4.0.0")
    assert problem.message == (
        "cmflow_undeclared registers metric.bar, which its entry points do not name; add "
        "\"metric.bar\" = \"cmflow_undeclared\" to [project.entry-points.cmflow] in "
        "cmflow-undeclared's pyproject.toml")

    listing = plugins_json()
    assert origin(listing, "bar") is None
    assert origin(listing, "foo") == ("source", "cmflow-undeclared", "4.0.0")
    table = CliRunner().invoke(main, ["plugins"], env=WIDE)
    assert table.exit_code == 0, table.output
    assert "1 plugin module(s) could not be loaded:" in table.output
    assert re.search(r"✗ cmflow-undeclared:source\.foo \(cmflow-undeclared 4\.0\.0\): cmflow_undeclared "
                     r"registers metric\.bar, which its entry points do not name; add \"metric\.bar\" = "
                     r"\"cmflow_undeclared\" to \[project\.entry-points\.cmflow\]", table.output)


BROKEN_DECLARED_WORKFLOW = """
[workflow]
name = "Broken plugin"

[[sources]]
id = "posts"
plugin = "foo"

[[outputs]]
plugin = "console"
"""


def test_validate_says_why_a_declared_plugin_could_not_be_loaded(site, tmp_path):
    site.add_distribution("cmflow-broken-declared", "5.0.0", {"source.foo": "cmflow_broken_declared"},
                          {"cmflow_broken_declared": BROKEN_IMPORT})
    registry = site.load("cmflow-broken-declared")
    assert "foo" in registry.names("source")  # known from the metadata, before the import fails
    workflow = tmp_path / "broken.toml"
    workflow.write_text(BROKEN_DECLARED_WORKFLOW, encoding="utf-8")

    checked = CliRunner().invoke(main, ["validate", str(workflow)], env=WIDE)

    assert checked.exit_code == 2, checked.output
    assert ("sources[0].plugin: source plugin 'foo' could not be loaded: ImportError: "
            "cmflow-broken-import needs the 'unobtainium' library" in checked.stderr)
    assert ("(from cmflow-broken-declared 5.0.0, module cmflow_broken_declared: "
            "fix or reinstall that package, or uninstall it" in checked.stderr)
    assert "unknown source plugin" not in checked.stderr
    assert "Traceback" not in checked.output
    assert len(checked.output.splitlines()) < 20  # one screen


# -- a classifier ------------------------------------------------------------------------------
KEYWORD_MOOD = re.search(r"```python\n# cmflow_tutorial/keyword_mood.py\n(.*?)```",
                         (REPO / "docs" / "writing-plugins.md").read_text(encoding="utf-8"), re.DOTALL).group(1)
"""The third-party classifier docs/writing-plugins.md shows (register_classifiers)."""

LISTENING = """
[workflow]
name = "Listening"
period = "yesterday"
as_of = "2026-11-24"

[[sources]]
plugin = "json"
path = "mentions.json"
record = "mention"

[[classifiers]]
plugin = "keyword_mood"
records = ["mention"]
negative = ["remboursement", "scam"]

[[metrics]]
plugin = "sentiment_counts"
records = "mention"
by = ["overall"]
"""


def test_a_third_party_classifier_labels_a_workflows_mentions_and_a_csv_file(site, tmp_path, store_url):
    site.add_distribution("cmflow-keyword-mood", "0.2.0", {"classifier.keyword_mood": "cmflow_keyword_mood"},
                          {"cmflow_keyword_mood": KEYWORD_MOOD})
    registry = site.load("cmflow-keyword-mood")
    assert registry.names("classifier") == ["keyword_mood", "sentiment"]
    assert "cmflow_keyword_mood" not in sys.modules  # known from its entry point alone
    assert origin(plugins_json(), "keyword_mood") == ("classifier", "cmflow-keyword-mood", "0.2.0")

    mentions = [{"platform": "x", "mention_id": f"m{i}", "published_at": f"2026-11-23T0{i}:00:00Z", "text": text}
                for i, text in enumerate(["Je veux un remboursement", "Merci pour tout", "A scam, thanks to you",
                                          "Vu en vitrine"])]
    (tmp_path / "mentions.json").write_text(json.dumps(mentions), encoding="utf-8")
    (tmp_path / "listening.toml").write_text(LISTENING, encoding="utf-8")
    run = CliRunner().invoke(main, ["run", str(tmp_path / "listening.toml"), "--store", store_url], env=WIDE)
    assert run.exit_code == 0, run.output
    assert "✓ classifier keyword_mood (keyword_mood): labelled 4 mentions" in run.stderr
    from cmflow.testing import run_workflow_file

    result = run_workflow_file(tmp_path / "listening.toml", store_url=store_url)
    counts = {row["metric"]: row["value"] for row in result.measurements.filter(
        result.measurements["period"] == "current").iter_rows(named=True)}
    # remboursement and scam (negative wins over thanks), merci, and nothing: 2, 1, 1.
    assert counts == {"negative_mentions": 2.0, "neutral_mentions": 1.0, "positive_mentions": 1.0}

    (tmp_path / "comments.csv").write_text("id,message\n1,Love it\n2,broken again\n", encoding="utf-8")
    shown = CliRunner().invoke(main, ["classify", str(tmp_path / "comments.csv"), "--text-column", "message",
                                      "--classifier", "keyword_mood"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == ("id,message,sentiment,score,language\n"
                            "1,Love it,positive,1.000,\n2,broken again,negative,-1.000,\n")
