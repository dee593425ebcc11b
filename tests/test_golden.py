"""Golden cases: real-shaped exports run through a real ``cmflow run``, figures checked by hand.

Each folder under ``tests/golden/`` is one case (Telegraf's ``testcases/`` style):

- ``workflow.toml``: the workflow to run (it sets ``as_of``, so its periods never move);
- the input file(s) it reads, in the shape a community manager downloads them; a file named
  ``NAME.xlsx.json`` describes a workbook (``{"sheet name": [[cell, ...], ...]}``, strings stay
  text, numbers stay numbers) and is written as ``NAME.xlsx`` with openpyxl before the run, so
  that the workbook is reviewed as text;
- ``expected.csv``: the expected measurements, one row each: ``metric``, ``period``, the
  dimension columns (``platform``, ``account``, ``format`` ...; empty = not split by it),
  ``value`` and ``reason`` (a missing value is an empty ``value`` and the reason, or a part of
  it). An optional ``quantity`` column compares a comparison instead of the value:
  ``change`` or ``change_pct`` of the current period against the period named in ``period``;
- optional ``expected-skipped.txt``: one line per input row the run must leave out
  (``on_error = "skip"``), each a piece of text its message holds;
- ``notes.md``: the trap the case covers and the hand arithmetic behind every expected value,
  worked out from the input, never by running cmflow.

For every (metric, period) named in ``expected.csv`` the run must produce exactly the rows
listed, no more and no fewer. Rates (unit ``%``, and every ``change_pct``) may differ from the
expected value by 0.01; counts must match exactly. Adding a case is adding a folder.

``tests/golden_pending/`` holds cases written for what is being built; they run as expected
failures (``xfail``), so that the day they pass shows, and the lead moves them here.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from cmflow.testing import run_workflow_file

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
PENDING = HERE / "golden_pending"

RATE_TOLERANCE = 0.01
COUNT_TOLERANCE = 1e-9
NOT_DIMENSIONS = {"metric", "period", "quantity", "value", "reason", "unit"}
QUANTITIES = ("value", "change", "change_pct")


def cases_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / "workflow.toml").is_file())


@dataclass(frozen=True)
class Expected:
    """One row of a case's expected.csv."""

    line: int
    metric: str
    period: str
    quantity: str
    dimensions: tuple[tuple[str, str | None], ...]
    value: float | None
    reason: str

    def describe(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in self.dimensions if v is not None) or "overall"
        what = self.metric if self.quantity == "value" else f"{self.metric} {self.quantity} vs"
        return f"{what} {self.period} [{dims}]"


def read_expected(case: Path) -> list[Expected]:
    """The rows of a case's expected.csv, checked for shape."""
    path = case / "expected.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = {"metric", "period", "value", "reason"} - set(header)
        assert not missing, f"{path}: the header lacks {sorted(missing)}"
        dimension_names = [name for name in header if name not in NOT_DIMENSIONS]
        rows = []
        for row in reader:
            quantity = (row.get("quantity") or "").strip() or "value"
            assert quantity in QUANTITIES, f"{path} line {reader.line_num}: quantity {quantity!r}"
            text = row["value"].strip()
            rows.append(Expected(
                line=reader.line_num, metric=row["metric"].strip(), period=row["period"].strip(),
                quantity=quantity,
                dimensions=tuple((name, row[name].strip() or None) for name in dimension_names),
                value=float(text) if text else None, reason=row["reason"].strip(),
            ))
    assert rows, f"{path}: no expected rows"
    return rows


def prepare(case: Path, work: Path) -> Path:
    """Copy a case to ``work`` and build its described workbooks; return the workflow file."""
    shutil.copytree(case, work)
    for description in work.glob("*.xlsx.json"):
        build_workbook(description, work / description.name.removesuffix(".json"))
    return work / "workflow.toml"


def build_workbook(description: Path, target: Path) -> None:
    """Write ``{"sheet": [[cells]]}`` as an xlsx workbook, sheets in the order given."""
    from openpyxl import Workbook

    sheets = json.loads(description.read_text(encoding="utf-8"))
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(target)


def produced_rows(result) -> list[dict]:
    """The run's measurements, plus each current row's comparisons, as dicts."""
    frame = result.measurements
    assert frame is not None and frame.height, "the run produced no measurement"
    rows = frame.to_dicts()
    changes: dict[tuple[str, str], dict[str, dict]] = {}
    if result.comparisons is not None:
        for change in result.comparisons.to_dicts():
            changes.setdefault((change["metric"], change["series_key"]), {})[change["comparison"]] = change
    for row in rows:
        if row["period"] == "current":
            row["_changes"] = changes.get((row["metric"], row["series_key"]), {})
    return rows


def compare(case_name: str, expected: list[Expected], result) -> list[str]:
    """Every difference between a case's expected rows and what the run produced."""
    rows = produced_rows(result)
    problems: list[str] = []
    dimensions = dimension_names(result)

    def key_of_produced(row: dict) -> tuple:
        return tuple(sorted((c, row[c]) for c in dimensions if row.get(c) is not None))

    def key_of_expected(item: Expected) -> tuple:
        return tuple(sorted((c, v) for c, v in item.dimensions if v is not None))

    def describe(metric: str, period: str, key: tuple) -> str:
        return f"{metric} {period} [{', '.join(f'{k}={v}' for k, v in key) or 'overall'}]"

    # Direct values: every (metric, period) named must match row for row.
    wanted = {(e.metric, e.period, key_of_expected(e)): e for e in expected if e.quantity == "value"}
    named = {(m, p) for m, p, _ in wanted}
    got = {(r["metric"], r["period"], key_of_produced(r)): r for r in rows if (r["metric"], r["period"]) in named}
    for key in sorted(set(wanted) | set(got), key=str):
        metric, period, dims = key
        if key not in got:
            problems.append(f"{case_name}: {describe(*key)}: expected {show(wanted[key].value)} "
                            f"(expected.csv line {wanted[key].line}), got no such row")
        elif key not in wanted:
            row = got[key]
            problems.append(f"{case_name}: {describe(*key)}: not in expected.csv, got {show(row['value'])} "
                            f"{row.get('reason') or ''}".rstrip())
        else:
            problem = differs(wanted[key].value, wanted[key].reason, got[key]["value"], got[key].get("reason"),
                              rate=got[key].get("unit") == "%")
            if problem:
                problems.append(f"{case_name}: {describe(*key)} (expected.csv line {wanted[key].line}): {problem}")

    # Changes against a comparison period.
    current = {(r["metric"], key_of_produced(r)): r for r in rows if r["period"] == "current"}
    for item in (e for e in expected if e.quantity != "value"):
        label = describe(f"{item.metric} {item.quantity} vs", item.period, key_of_expected(item))
        row = current.get((item.metric, key_of_expected(item)))
        change = (row or {}).get("_changes", {}).get(item.period)
        if change is None:
            problems.append(f"{case_name}: {label} (expected.csv line {item.line}): expected {show(item.value)}, "
                            "got no such comparison")
            continue
        problem = differs(item.value, item.reason, change[item.quantity], change.get("change_reason"),
                          rate=item.quantity == "change_pct" or row.get("unit") == "%")
        if problem:
            problems.append(f"{case_name}: {label} (expected.csv line {item.line}): {problem}")
    return problems


def dimension_names(result) -> set[str]:
    from cmflow.foundation.measurements import dimension_columns

    return set(dimension_columns(result.measurements))


def differs(expected: float | None, reason: str, got: float | None, got_reason: str | None, *, rate: bool) -> str | None:
    """Why a produced value does not match the expected one, or None."""
    if expected is None:
        if got is not None:
            return f"expected no value ({reason}), got {show(got)}"
        if reason and reason.lower() not in (got_reason or "").lower():
            return f"expected no value because {reason!r}, got no value because {got_reason!r}"
        return None
    if got is None:
        return f"expected {show(expected)}, got no value ({got_reason})"
    tolerance = RATE_TOLERANCE if rate else COUNT_TOLERANCE
    if abs(got - expected) > tolerance:
        return f"expected {show(expected)}, got {show(got)}"
    return None


def show(value: float | None) -> str:
    """A value as a message shows it: a whole number without ``.0``, no value as such."""
    if value is None:
        return "no value"
    return str(int(value)) if float(value).is_integer() else repr(value)


def read_expected_skipped(case: Path) -> list[str] | None:
    path = case / "expected-skipped.txt"
    if not path.is_file():
        return None
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def run_case(case: Path, tmp_path: Path):
    workflow = prepare(case, tmp_path / case.name)
    return run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path / 'state.db'}", dry_run=True)


def check_case(case: Path, tmp_path: Path) -> list[str]:
    """Run one case; return every problem found (empty when the case passes)."""
    expected = read_expected(case)
    result = run_case(case, tmp_path)
    problems = [f"{case.name}: {s.kind} {s.id} failed: {s.error}" for s in result.failed_stages]
    problems += compare(case.name, expected, result)
    wanted_skips = read_expected_skipped(case)
    if wanted_skips is not None:
        skipped = [line for stage in result.stages for line in stage.skipped]
        if len(skipped) != len(wanted_skips):
            problems.append(f"{case.name}: expected {len(wanted_skips)} rows left out, got {len(skipped)}: {skipped}")
        for text in wanted_skips:
            if not any(text in line for line in skipped):
                problems.append(f"{case.name}: no row left out with {text!r}; left out: {skipped}")
    return problems


@pytest.mark.parametrize("case", cases_in(GOLDEN), ids=lambda p: p.name)
def test_golden_case(case: Path, tmp_path: Path) -> None:
    problems = check_case(case, tmp_path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", cases_in(PENDING), ids=lambda p: p.name)
def test_pending_golden_case(case: Path, tmp_path: Path) -> None:
    try:
        problems = check_case(case, tmp_path)
    except Exception as error:  # noqa: BLE001 - a pending case may not even validate yet
        problems = [f"{type(error).__name__}: {error}".splitlines()[0]]
    if not problems:
        pytest.fail(f"{case.name} passes now: move its folder to tests/golden/")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    pytest.xfail(f"pending: {problems[0]}{more}")


@pytest.mark.parametrize("case", cases_in(GOLDEN) + cases_in(PENDING), ids=lambda p: p.name)
def test_every_case_shows_its_arithmetic(case: Path) -> None:
    notes = case / "notes.md"
    assert notes.is_file(), f"{case.name}: no notes.md with the hand arithmetic"
    text = notes.read_text(encoding="utf-8")
    assert "Trap" in text and "=" in text, f"{case.name}: notes.md must say the trap and show the arithmetic"
    read_expected(case)


def test_golden_cases_exist() -> None:
    assert len(cases_in(GOLDEN)) >= 7


def test_a_changed_expected_value_fails_naming_case_metric_and_dimensions(tmp_path: Path) -> None:
    """The harness is not a test that cannot fail: one wrong figure is reported as such."""
    case = GOLDEN / "meta_instagram_posts"
    result = run_case(case, tmp_path)
    expected = read_expected(case)
    wrong = [e if e.metric != "engagement_rate_by_reach" or dict(e.dimensions).get("format") != "reel"
             else Expected(e.line, e.metric, e.period, e.quantity, e.dimensions, e.value + 0.05, e.reason)
             for e in expected]
    problems = compare(case.name, wrong, result)
    assert len(problems) == 1, problems
    assert problems[0].startswith("meta_instagram_posts: engagement_rate_by_reach current [format=reel]")
    assert "expected 12.14" in problems[0] and "got 12.09" in problems[0]
    missing = compare(case.name, [e for e in expected if e.metric != "posts_published"] + [
        Expected(99, "posts_published", "current", "value", (("format", "story"),), 1.0, "")], result)
    assert any("posts_published current [overall]: not in expected.csv, got 3" in p for p in missing), missing
    assert any("[format=story]: expected 1 (expected.csv line 99), got no such row" in p for p in missing), missing


def test_every_case_is_listed_in_the_readme() -> None:
    readme = (GOLDEN / "README.md").read_text(encoding="utf-8")
    unlisted = [case.name for case in cases_in(GOLDEN) if f"`{case.name}`" not in readme]
    assert not unlisted, f"tests/golden/README.md does not list {unlisted}"
    pending = (PENDING / "README.md").read_text(encoding="utf-8")
    unlisted = [case.name for case in cases_in(PENDING) if f"`{case.name}`" not in pending]
    assert not unlisted, f"tests/golden_pending/README.md does not list {unlisted}"
