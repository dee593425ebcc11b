"""The ``task_list`` output: one task per alert in a file a community manager opens offline, a
Markdown checklist (``.md``) or a CSV table (``.csv``), written once per alert and ticked when the
alert resolves.

It is a task output like ``trello_card`` (one item per alert event, through the durable outbox;
:mod:`.work_items`), whose "platform" is the file: each task holds its key (a ``cmflow-key``
comment at the end of a Markdown line, a ``key`` column in CSV), looked for before anything is
written, so a re-run or a retry never adds a second line. A task is added by appending one line
(the lines a person added or ticked stay as they are); a resolution rewrites the file through a
temporary file moved into place, so a reader never sees half of it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from cmflow import DeliveryFailed, OutputFolder, hookimpl, neutralise
from cmflow.builtin.outputs.work_items import (FoundItem, TaskNotifier, WorkItemOptions, due_date, markdown_escape,
                                               one_line, payload_text, rules_problems)

if TYPE_CHECKING:
    from cmflow import Message, SendContext

SUFFIXES = (".md", ".csv")
CSV_COLUMNS = ("status", "title", "due", "details", "opened", "closed", "key")
"""The CSV list's header: ``status`` is ``open`` or ``done``; ``details`` the alert's description
on one line; ``opened`` and ``closed`` the instants the run wrote them (UTC, ISO)."""
MARKDOWN_TITLE = "# Tasks (cmflow)\n\n"
"""The first line of a Markdown list cmflow starts."""
KEY_COMMENT = re.compile(r"<!-- cmflow-key: ([0-9a-f]{32}) -->\s*$")
"""How a Markdown task line ends: the comment holding its key (not shown by Markdown viewers)."""


class TaskListOptions(WorkItemOptions):
    path: OutputFolder = Field(  # a path that stays under where cmflow runs unless absolute (no ..)
        description="The list's file, relative to the directory cmflow runs in as reports are (without ..), "
        "or absolute: a Markdown checklist "
        "(.md: `- [ ] title` lines, ticked `- [x]` when the alert resolves) or a CSV table (.csv: status, "
        "title, due, details, opened, closed, key; open it in a spreadsheet). Made with its folder on the "
        "first task; lines you add or tick by hand are kept.", examples=["tasks/a-faire.md"])
    delimiter: Literal[",", ";"] = Field(
        ",", description="CSV only: the separator between fields. \";\" for a spreadsheet in a "
        "decimal-comma locale (French Excel opens a ;-separated file in columns).", examples=[";"])

    @field_validator("path")
    @classmethod
    def _markdown_or_csv(cls, value: str) -> str:
        if "{" in value or "}" in value:  # one list over time: a {period} would start a new one each week
            raise ValueError(f"{value!r}: a task list is one file over time, written without placeholders")
        if any(ord(c) < 32 for c in value):
            raise ValueError("holds a control character (a tab or a line break): write the path on one line")
        if Path(value).suffix.lower() not in SUFFIXES:
            raise ValueError(f"{value!r}: name a .md file (a Markdown checklist) or a .csv file (a table)")
        return value


@dataclass(frozen=True)
class TaskFile:
    """The list's file, as the task output reads and writes it (its "session")."""

    path: Path
    delimiter: str
    now: datetime
    """The sending run's instant: when a task is written as opened or closed."""

    @property
    def opened_text(self) -> str:
        """The instant as the CSV writes it (UTC, to the second)."""
        return self.now.astimezone(timezone.utc).isoformat(timespec="seconds")

    @property
    def markdown(self) -> bool:
        return self.path.suffix.lower() == ".md"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8-sig") if self.path.exists() else ""

    def rows(self) -> list[dict[str, str]]:
        """The CSV list's rows (none when the file is not there yet)."""
        text = self.text()
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=self.delimiter)) if text else []

    def append(self, text: str) -> None:
        """Add ``text`` at the end in one write (a new file starts with its heading or header)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8", newline="") as handle:
            if handle.tell() == 0:
                text = (MARKDOWN_TITLE if self.markdown else "\ufeff" + csv_line(CSV_COLUMNS, self.delimiter)) + text
            handle.write(text)

    def replace(self, text: str) -> None:
        """Write the whole file anew, through a temporary file moved into place."""
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            if self.path.exists():  # keep who may read it: the temporary file is the owner's only
                os.chmod(temporary, stat.S_IMODE(self.path.stat().st_mode))
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def csv_line(values: Any, delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(values)
    return out.getvalue()


class TaskList(TaskNotifier):
    """Writes one task per alert to a file: a Markdown checklist or a CSV table a community
    manager opens offline (no Trello, Asana or Notion needed). The title comes from a template
    ("Publish or reschedule: {title}"), with the alert's details and a due date; each task
    holds its key, so a re-run or a retry never writes it twice; when the alert resolves, the
    task is ticked (Markdown) or marked done (CSV). Untrusted text is escaped (Markdown) or kept
    from running as a formula (CSV)."""

    name = "task_list"
    description = "Write a task per alert to a Markdown or CSV list (once), ticked when the alert resolves."
    Options = TaskListOptions
    receiver = "task list"
    item_noun = "task"

    def target(self) -> str:
        return self.options.path

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        from cmflow import language_problems

        return [*rules_problems(self.options, workflow), *language_problems(self.options.language)]

    def session(self, ctx: "SendContext") -> TaskFile:
        return TaskFile(Path(self.options.path).expanduser().absolute(), self.options.delimiter, ctx.now)

    def send(self, message: "Message", ctx: "SendContext") -> str | None:
        try:
            return super().send(message, ctx)
        except OSError as exc:  # a folder not writable, the file open and locked in a spreadsheet
            where = self.session(ctx).path
            raise DeliveryFailed(f"task list {where}: cannot be written ({exc.strerror or exc}): check that the "
                                 "folder exists and is writable, and close the file if a spreadsheet holds it; "
                                 "retried later", retryable=True) from None

    def find(self, session: TaskFile, key: str) -> FoundItem | None:
        if session.markdown:
            for number, line in enumerate(session.text().splitlines(), start=1):
                found = KEY_COMMENT.search(line)
                if found and found.group(1) == key:
                    return FoundItem(key, f"{session.path.name}, line {number}",
                                     closed=line.lstrip().startswith(("- [x]", "- [X]")))
            return None
        for number, row in enumerate(session.rows(), start=2):
            if (row.get("key") or "").strip() == key:
                return FoundItem(key, f"{session.path.name}, line {number}",
                                 closed=(row.get("status") or "").strip().lower() == "done")
        return None

    def create(self, session: TaskFile, payload: dict[str, Any], ctx: "SendContext") -> FoundItem:
        from cmflow.builtin.outputs.message_text import clean_text

        due = due_date(payload)
        # the first line of the description is the alert's summary: not again when it is the title
        lines = [clean_text(line) for line in payload["description"]]
        lines = lines[1:] if lines and one_line(lines[0]) == payload["title"] else lines
        if session.markdown:
            due_text = payload_text(payload, "task_due", date=date.fromisoformat(due)) if due else ""
            title = markdown_escape(payload["title"]) + (f" ({due_text})" if due else "")
            details = "".join(f"  - {markdown_escape(line)}\n" for line in lines)  # a list under the task
            session.append(f"- [ ] {title} <!-- cmflow-key: {payload['item_key']} -->\n{details}")
        else:
            details = " · ".join(lines)
            session.append(csv_line(["open", neutralise(payload["title"]), due or "", neutralise(details),
                                     session.opened_text, "", payload["item_key"]], session.delimiter))
        found = self.find(session, payload["item_key"])
        return found or FoundItem(payload["item_key"], session.path.name)

    def close(self, session: TaskFile, item: FoundItem, payload: dict[str, Any]) -> None:
        key = payload["item_key"]
        if session.markdown:
            lines = session.text().splitlines(keepends=True)
            for index, line in enumerate(lines):
                found = KEY_COMMENT.search(line)
                if found and found.group(1) == key:
                    lines[index] = line.replace("- [ ]", "- [x]", 1)
            session.replace("".join(lines))
            return
        rows = session.rows()
        now = session.opened_text
        text = "\ufeff" + csv_line(CSV_COLUMNS, session.delimiter)
        for row in rows:
            if (row.get("key") or "").strip() == key:
                row["status"], row["closed"] = "done", now
            text += csv_line([row.get(column) or "" for column in CSV_COLUMNS], session.delimiter)
        session.replace(text)


@hookimpl
def register_outputs(register):
    register(TaskList)
