"""A run's warning: its English text, and what a report needs to say it in its reader's language.

A stage that puts a run's figures in doubt (a ``where`` value no record has, an export gone, a
filter changed, days older than a platform returns) appends a warning to its report
(:attr:`cmflow.plugins.result.StageReport.warnings`). The run history, the store and the
terminal keep the English text, as they always did; a report in French says the same with the
catalogue's message ``run_warning_<code>`` filled from :attr:`RunWarning.values` (dates and
numbers through Babel). A warning without a code (plain text) is shown as it is written.
"""

from __future__ import annotations

from typing import Any, Mapping


class RunWarning(str):
    """A warning of a run: the string is its English text, as ``cmflow history`` shows it;
    :attr:`code` names the report catalogue's message that says it in another language, filled
    from :attr:`values` (dates, ``(first, last)`` day pairs, lists, durations, texts)."""

    code: str
    values: Mapping[str, Any]

    def __new__(cls, text: str, code: str, values: Mapping[str, Any] | None = None) -> "RunWarning":
        warning = super().__new__(cls, text)
        object.__setattr__(warning, "code", code)
        object.__setattr__(warning, "values", dict(values or {}))
        return warning

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a RunWarning is frozen: {name} cannot be set")

    def __reduce__(self) -> tuple:  # pickled by the daemon's process pool: kept whole
        return (RunWarning, (str(self), self.code, self.values))
