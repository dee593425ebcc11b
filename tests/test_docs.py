"""The docs keep themselves honest: every hook, record field, workflow key, command and
built-in plugin is documented, and every example in docs/ does what the page says it does."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import sys
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import click
import pytest
from click.testing import CliRunner

from cmflow.foundation import errors
from cmflow.plugins import hookspecs
from cmflow.cli import COMMANDS, LazyGroup, main
from cmflow.plugins.hookspecs import HOOK_OF_KIND
from cmflow.plugins.registry import ALLOW_LIST_VARIABLE
from cmflow.foundation.records import RECORD_KINDS
from cmflow.foundation.secrets import ENV_REFERENCE
from cmflow.store import STORE_VARIABLE
from cmflow.testing import registered_plugin
from cmflow.plugins.entries import ClassifierEntry, MetricEntry, OutputEntry, SourceEntry, TriggerEntry, entry_keys
from cmflow.workflow import (ClientEntry, ListenSettings, ObjectiveEntry, ProductionSettings, StoreSettings, WatchedBrandEntry, WorkflowSettings,
                             load_workflow)

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
CONCEPTS = DOCS / "concepts.md"
WORKFLOW_FILE = DOCS / "workflow-file.md"
CLI = DOCS / "cli.md"
WRITING_PLUGINS = DOCS / "writing-plugins.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PATH_LABEL = re.compile(r"^# ([\w/]+\.(?:py|toml))\n")


@dataclass(frozen=True)
class CodeBlock:
    page: Path
    index: int
    language: str
    text: str

    @property
    def label(self) -> str | None:
        """The file a block stands for, from a first line such as ``# broken.toml``."""
        match = PATH_LABEL.match(self.text)
        return match.group(1) if match else None

    def __str__(self) -> str:
        return f"{self.page.name}[{self.index}]"


def code_blocks(page: Path) -> list[CodeBlock]:
    text = page.read_text(encoding="utf-8")
    return [CodeBlock(page, i, m.group(1), m.group(2)) for i, m in enumerate(FENCE.finditer(text))]


def all_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def headings(page: Path) -> list[tuple[int, str]]:
    """(line index, text) of the Markdown headings of a page, code blocks skipped."""
    found, in_fence = [], False
    for index, line in enumerate(page.read_text(encoding="utf-8").splitlines()):
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and re.match(r"^#+ ", line):
            found.append((index, line))
    return found


def section(page: Path, heading: str) -> str:
    """The text under the first heading containing ``heading``, up to the next heading."""
    lines = page.read_text(encoding="utf-8").splitlines()
    marks = headings(page)
    for position, (index, line) in enumerate(marks):
        if heading in line:
            end = marks[position + 1][0] if position + 1 < len(marks) else len(lines)
            return "\n".join(lines[index + 1:end])
    raise AssertionError(f"{page.name} has no heading containing {heading!r}")


def flat(text: str) -> str:
    """Text with every run of whitespace as one space: line wrapping does not matter."""
    return " ".join(text.split())


def table_rows(text: str) -> list[list[str]]:
    """Cells of the data rows of the first Markdown table in ``text``."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    if start is None:
        return []
    rows = []
    for line in lines[start + 2:]:  # after the header and separator rows
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))])
    return rows


# -- hooks -----------------------------------------------------------------------------------
def hook_signatures() -> dict[str, str]:
    """Each hook spec's signature exactly as written in hookspecs.py."""
    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    signatures = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "hookspec" for d in node.decorator_list):
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            signatures[node.name] = f"{node.name}({ast.unparse(node.args)}){returns}"
    return signatures


def test_signatures_cover_every_hook_spec():
    specs = {name for name, value in vars(hookspecs).items() if hasattr(value, "cmflow_spec")}
    assert specs == set(hook_signatures()) == set(HOOK_OF_KIND.values())


@pytest.mark.parametrize("hook", sorted(hook_signatures()))
def test_hook_has_a_section_headed_by_its_signature(hook):
    signature = hook_signatures()[hook]
    assert any(f"`{signature}`" in line for _, line in headings(WRITING_PLUGINS)), \
        f"docs/writing-plugins.md needs a section headed by `{signature}`"


@pytest.mark.parametrize("hook", sorted(hook_signatures()))
def test_hook_has_a_test_of_its_own(hook):
    test_files = [p for p in (REPO / "tests").rglob("test_*.py") if p.name != Path(__file__).name]
    using = [p.name for p in test_files if hook in p.read_text(encoding="utf-8")]
    assert using, f"no test file other than test_docs.py implements or mentions {hook}"


# -- generated plugin pages ------------------------------------------------------------------
def load_generator() -> ModuleType:
    path = REPO / "tools" / "generate_plugin_docs.py"
    spec = importlib.util.spec_from_file_location("generate_plugin_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_builtin_plugin_has_an_up_to_date_page():
    generator = load_generator()
    assert generator.out_of_date() == [], "run: python tools/generate_plugin_docs.py"
    names = {info.name for info in generator.builtin_plugins()}
    assert names >= {"csv", "engagement_rate_by_reach", "change", "console"}
    assert {p.stem for p in (DOCS / "plugins").glob("*.md")} == names | {"index"}


def test_generator_check_reports_stale_missing_and_orphaned_pages(tmp_path, capsys, monkeypatch):
    generator = load_generator()
    # the pages rendered once (about 0.8 s each time): what is checked here is how the check and
    # the writer compare them with the files, which the test changes, not the plugins
    pages = generator.render_all()
    monkeypatch.setattr(generator, "render_all", lambda: pages)
    generator.write_all(tmp_path)
    assert generator.out_of_date(tmp_path) == []

    page = tmp_path / "csv.md"
    page.write_text(page.read_text(encoding="utf-8").replace("delimiter", "separator"), encoding="utf-8")
    (tmp_path / "console.md").unlink()
    (tmp_path / "retired_plugin.md").write_text("# retired\n", encoding="utf-8")
    problems = generator.out_of_date(tmp_path)
    assert any("csv.md is out of date" in p for p in problems)
    assert any("console.md is missing" in p for p in problems)
    assert any("retired_plugin.md documents no built-in plugin" in p for p in problems)
    assert len(problems) == 3

    generator.write_all(tmp_path)
    assert generator.out_of_date(tmp_path) == []
    assert generator.main(["--check"]) == 0  # the repository's own pages
    assert "up to date" in capsys.readouterr().out


def test_generated_page_is_built_from_the_options_model():
    generator = load_generator()
    info = next(i for i in generator.builtin_plugins() if i.name == "change")
    page = generator.render_plugin_page(info)
    for option, field in info.cls.Options.model_fields.items():
        assert f"| `{option}` |" in page
        assert " ".join(field.description.split()) in page
    assert "## Keys every `[[triggers]]` entry accepts" in page
    assert '```toml\n# Alert on a rise or drop' in page


def test_a_metric_page_gives_the_by_an_entry_without_one_computes():
    """The default ``by`` a page shows is the one a ``[[metrics]]`` entry with the default options
    computes: the sentiment metrics read mentions by default, which have no account, so
    ``["overall"]``, not the ``["overall", "account"]`` of the class's widest record kind."""
    from cmflow.plugins.docs import plugin_option_docs
    from cmflow.plugins.kinds import default_breakdowns

    generator = load_generator()
    for name in ("sentiment_share", "engagement_rate_by_reach"):
        info = next(i for i in generator.builtin_plugins() if i.name == name)
        [by] = [d for d in plugin_option_docs(info) if d.name == "by"]
        assert by.default == default_breakdowns(info.cls(info.cls.Options(), entry_id=name))
    assert by.default == ["overall", "account"]
    [by] = [d for d in plugin_option_docs(next(i for i in generator.builtin_plugins() if i.name == "sentiment_share"))
            if d.name == "by"]
    assert by.default == ["overall"]


# -- concepts --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(RECORD_KINDS))
def test_record_kind_table_lists_every_field_with_its_type(kind):
    record_kind = RECORD_KINDS[kind]
    rows = table_rows(section(CONCEPTS, f"### `{kind}`"))
    documented = {row[0].strip("`"): row for row in rows}
    assert list(documented) == list(record_kind.field_names), f"fields of {kind} in docs/concepts.md"
    for field in record_kind.fields:
        row = documented[field.name]
        assert row[1] == field.type, f"{kind}.{field.name} is a {field.type}"
        assert (row[2] == "yes") == field.required, f"{kind}.{field.name} required={field.required}"


KPI_FORMULAS = (
    "ERR = (likes + comments + shares + saves) / reach × 100",
    "ER = total interactions / followers × 100 (followers at period end)",
    "engagement by impressions = (likes + comments + shares) / impressions × 100",
    "conversion rate = conversions / visitors × 100",
    "cost per post = production cost / posts published",
    "budget consumed = cost / budget × 100",
)


@pytest.mark.parametrize("formula", KPI_FORMULAS)
def test_kpi_formula_is_written_exactly(formula):
    assert formula in flat(section(CONCEPTS, "## KPIs and their formulas"))


def test_concepts_names_the_store_defaults():
    text = flat(section(CONCEPTS, "## The state store"))
    for expected in ("~/.local/state/cmflow/state.db", "$XDG_STATE_HOME/cmflow/state.db",
                     STORE_VARIABLE, "[store] url", "WAL", "src/cmflow/store/migrations.py",
                     "Alembic", "one transaction"):
        assert expected in text


# -- workflow file ---------------------------------------------------------------------------
WORKFLOW_TABLES = {
    "[workflow]": WorkflowSettings, "[store]": StoreSettings, "[[sources]]": SourceEntry,
    "[[classifiers]]": ClassifierEntry,
    "[[metrics]]": MetricEntry, "[[triggers]]": TriggerEntry, "[[outputs]]": OutputEntry,
    "[[clients]]": ClientEntry, "[[objectives]]": ObjectiveEntry,
    "[listen]": ListenSettings, "[listen.brand]": WatchedBrandEntry, "[production]": ProductionSettings,
}


@pytest.mark.parametrize("table", list(WORKFLOW_TABLES))
def test_every_workflow_key_is_documented_in_its_section(table):
    model, heading = WORKFLOW_TABLES[table], f"## `{table}`"
    rows = table_rows(section(WORKFLOW_FILE, heading))
    documented = [row[0].strip("`") for row in rows]
    assert sorted(documented) == sorted(entry_keys(model)), f"keys of {heading} in docs/workflow-file.md"


def test_workflow_file_covers_its_topics():
    text = flat(WORKFLOW_FILE.read_text(encoding="utf-8"))
    for expected in ("${env:", ".env", "SecretStr", "builtin:", "#:schema", "cmflow schema",
                     "### `by`", "### `where`", "### `when`"):
        assert expected in text


# -- CLI -------------------------------------------------------------------------------------
def cli_commands() -> dict[str, click.Command]:
    """Every command, subcommands of groups included, by its full name (``plugins show``)."""
    context = click.Context(main)
    found: dict[str, click.Command] = {}
    for name in COMMANDS:
        command = LazyGroup.get_command(main, context, name)
        assert command is not None
        found[name] = command
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                found[f"{name} {sub_name}"] = sub
    return found


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_a_section(name):
    section(CLI, f"## `cmflow {name}`")


@pytest.mark.parametrize("name", list(cli_commands()))
def test_every_command_option_is_documented(name):
    command = cli_commands()[name]
    text = section(CLI, f"## `cmflow {name.split()[0]}`")
    assert f"cmflow {name}" in text
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            for option in param.opts:
                assert f"`{option}" in text, f"`cmflow {name}` option {option} in docs/cli.md"


def test_exit_codes_and_environment_variables_are_documented():
    codes = {row[0]: row[1] for row in table_rows(section(CLI, "## Exit codes"))}
    assert set(codes) == {str(errors.EXIT_OK), str(errors.EXIT_RUN_FAILED), str(errors.EXIT_INVALID),
                          str(errors.EXIT_DELIVERY_FAILED), str(errors.EXIT_BUSY), str(errors.EXIT_WARNING),
                          str(errors.EXIT_SIGINT), str(errors.EXIT_SIGTERM)}
    assert "invalid input" in codes[str(errors.EXIT_INVALID)].lower()
    assert "output" in codes[str(errors.EXIT_DELIVERY_FAILED)]
    variables = [row[0] for row in table_rows(section(CLI, "## Environment variables"))]
    for name in (STORE_VARIABLE, ALLOW_LIST_VARIABLE, "XDG_STATE_HOME"):
        assert f"`{name}`" in variables


# -- examples --------------------------------------------------------------------------------
WORKFLOW_BLOCKS = [b for page in all_pages() for b in code_blocks(page)
                   if b.language == "toml" and b.text.startswith("[workflow]")]


def test_docs_have_workflow_examples():
    pages = {b.page.name for b in WORKFLOW_BLOCKS}
    assert {"workflow-file.md", "writing-plugins.md"} <= pages


@pytest.fixture
def tutorial(tmp_path, monkeypatch) -> dict[str, ModuleType]:
    """The modules of the tutorial package in docs/writing-plugins.md, written to files and
    imported (not registered)."""
    root = tmp_path / "tutorial"
    for block in code_blocks(WRITING_PLUGINS):
        if block.language == "python" and block.label:
            path = root / block.label
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text, encoding="utf-8")
    (root / "cmflow_tutorial" / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    modules = {p.stem: importlib.import_module(f"cmflow_tutorial.{p.stem}")
               for p in sorted((root / "cmflow_tutorial").glob("[!_]*.py"))}
    yield modules
    for name in [n for n in sys.modules if n == "cmflow_tutorial" or n.startswith("cmflow_tutorial.")]:
        del sys.modules[name]


@pytest.mark.parametrize("block", WORKFLOW_BLOCKS, ids=str)
def test_workflow_example_validates(block, tmp_path, monkeypatch, request):
    for name in ENV_REFERENCE.findall(block.text):
        monkeypatch.setenv(name, f"value-of-{name}")
    path = tmp_path / "example.toml"
    path.write_text(block.text, encoding="utf-8")
    with ExitStack() as stack:
        if block.page == WRITING_PLUGINS:
            for module in request.getfixturevalue("tutorial").values():
                stack.enter_context(registered_plugin(module, package="cmflow-tutorial"))
        workflow = load_workflow(path)
    assert workflow.sources


def validation_examples() -> list[tuple[CodeBlock, CodeBlock]]:
    """Pairs of a ``# name.toml`` block and the ``$ cmflow validate name.toml`` block after it."""
    pairs = []
    for page in all_pages():
        blocks = code_blocks(page)
        for block, following in zip(blocks, blocks[1:]):
            if block.language == "toml" and block.label and \
                    following.text.startswith(f"$ cmflow validate {block.label}\n"):
                pairs.append((block, following))
    return pairs


def test_docs_show_validation_errors():
    assert len(validation_examples()) >= 2


@pytest.mark.parametrize("example", validation_examples(), ids=lambda pair: pair[0].label)
def test_validation_error_example_is_what_cmflow_prints(example, tmp_path, monkeypatch):
    workflow, shown = example
    for name in ENV_REFERENCE.findall(workflow.text):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    Path(workflow.label).write_text(workflow.text, encoding="utf-8")
    command, _, expected = shown.text.partition("\n")
    result = CliRunner().invoke(main, command.split()[2:])  # after "$ cmflow"
    assert result.exit_code == errors.EXIT_INVALID
    assert result.output == expected


def test_tutorial_workflow_runs_end_to_end(tutorial, tmp_path, monkeypatch, store_url):
    import json

    from cmflow.testing import run_workflow_file

    block = next(b for b in WORKFLOW_BLOCKS if b.page == WRITING_PLUGINS)
    monkeypatch.chdir(tmp_path)
    Path("tutorial.toml").write_text(block.text, encoding="utf-8")
    with ExitStack() as stack:
        for module in tutorial.values():
            stack.enter_context(registered_plugin(module, package="cmflow-tutorial"))
        result = run_workflow_file("tutorial.toml", store_url=store_url)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    # The example is complete on its own: only the tutorial's plugins and the console output.
    tables = tomllib.loads(block.text)
    plugins = {entry["plugin"] for kind in ("sources", "metrics", "triggers", "outputs")
               for entry in tables[kind]}
    assert plugins - set(tutorial) == {"console"}
    # What the page says the run does:
    trailhead_alert = ("interactions_per_post has no value for instagram / trailhead: "
                       "no post reports interactions")
    assert [a.summary for a in result.alerts] == [trailhead_alert]
    summary = json.loads(Path("reports/tutorial.json").read_text(encoding="utf-8"))
    per_post = [m for m in summary["measurements"] if m["metric"] == "interactions_per_post"]
    trailhead = {"account": "trailhead", "platform": "instagram"}
    assert {json.dumps(m["series"], sort_keys=True) for m in per_post} >= {
        "{}", '{"account": "maisonlumiere", "platform": "instagram"}', '{"format": "reel"}',
        json.dumps(trailhead, sort_keys=True)}
    assert all(m["value"] > 0 for m in per_post if m["series"] != trailhead)
    assert [(m["value"], m["reason"]) for m in per_post if m["series"] == trailhead] == [
        (None, "no post reports interactions")]
    assert summary["alerts"][0]["new"] is True
    # ... and the notifier appended one message about it to the inbox, as the page shows it.
    shown = json.loads(next(b for b in code_blocks(WRITING_PLUGINS) if b.language == "json").text)
    [message] = [json.loads(line) for line in
                 Path("inbox/tutorial.jsonl").read_text(encoding="utf-8").splitlines()]
    assert message["key"] and {**message, "key": "…"} == shown
    assert message["events"][0]["summary"] == trailhead_alert
    # A second run changes nothing: the alert keeps firing, and the inbox keeps its one line.
    with ExitStack() as stack:
        for module in tutorial.values():
            stack.enter_context(registered_plugin(module, package="cmflow-tutorial"))
        again = run_workflow_file("tutorial.toml", store_url=store_url)
    assert [(a.summary, a.is_new) for a in again.alerts] == [(trailhead_alert, False)]
    assert len(Path("inbox/tutorial.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def test_tutorial_test_file_passes(tutorial, tmp_path):
    block = next(b for b in code_blocks(WRITING_PLUGINS) if b.label == "tests/test_tutorial.py")
    namespace: dict[str, object] = {"__name__": "test_tutorial"}
    exec(compile(block.text, block.label, "exec"), namespace)
    tests = {name: f for name, f in namespace.items() if name.startswith("test_") and callable(f)}
    assert tests
    for index, (name, function) in enumerate(tests.items()):
        assert set(inspect.signature(function).parameters) <= {"tmp_path"}, name
        directory = tmp_path / f"run{index}"
        directory.mkdir()
        function(tmp_path=directory)


def test_unlabelled_python_examples_run():
    blocks = [b for page in all_pages() for b in code_blocks(page)
              if b.language == "python" and not b.label]
    for block in blocks:
        exec(compile(block.text, str(block), "exec"), {"__name__": f"docs_example_{block.index}"})
