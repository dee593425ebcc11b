"""What several commands share."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click

from cmflow.foundation.errors import WorkflowInvalid

if TYPE_CHECKING:
    from cmflow.store import Store


class IsoDate(click.ParamType):
    """A YYYY-MM-DD date on the command line; an impossible one (2026-02-30) says why."""

    name = "date"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        from datetime import date

        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError as exc:
            reason = str(exc) if "Invalid isoformat" not in str(exc) else "write it as YYYY-MM-DD"
            self.fail(f"{value!r} is not a date: {reason}", param, ctx)


class ListenAddress(click.ParamType):
    """A HOST:PORT to serve on (``--metrics-address``), as the settings file's ``metrics`` takes it."""

    name = "HOST:PORT"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        from cmflow.foundation.listen_addresses import parse_listen_address

        try:
            return str(parse_listen_address(str(value)))
        except ValueError as problem:
            self.fail(str(problem), param, ctx)


def configure_logging(verbose: bool = False) -> None:
    """Log warnings (everything with ``verbose``) to standard error, secrets redacted; without
    ``verbose``, a source's warnings only where the command prints them itself (the run's
    summary, ``cmflow utm``'s ``! source …`` lines), not once more as they happen."""
    import logging

    from cmflow.foundation.log_redaction import RedactingFilter
    from cmflow.plugins.context import IN_RUN_SUMMARY

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # handler filters see every logger's records
        handler.addFilter(RedactingFilter())
        if not verbose:
            handler.addFilter(lambda record: not getattr(record, IN_RUN_SUMMARY, False))


def print_problems(error: WorkflowInvalid, file: str) -> None:
    """List every problem of an invalid workflow on standard error."""
    count = len(error.problems)
    click.secho(f"✗ {file}: {count} problem{'s' if count != 1 else ''}", fg="red", err=True)
    for problem in error.problems:
        click.echo(f"  {problem}", err=True)


def store_url(option: str | None, workflow_store_url: str | None) -> str:
    """--store, else the workflow's [store] url, else CMFLOW_STORE, else the default file."""
    from cmflow.store import default_store_url

    return option or workflow_store_url or default_store_url()


@contextmanager
def saying_store_errors() -> Iterator[None]:
    """End the command with a :class:`~cmflow.store.StoreError`'s own explanation and exit
    code 1 (a bad URL, a missing driver, a folder or another file where the store should be,
    no write access, locked by another process), never a traceback."""
    from cmflow.foundation.errors import EXIT_RUN_FAILED
    from cmflow.store import StoreError

    try:
        yield
    except StoreError as error:
        click.secho(f"✗ {error}", fg="red", err=True)
        raise SystemExit(EXIT_RUN_FAILED) from None


@contextmanager
def opened_store(url: str, *, read_only: bool = False) -> Iterator["Store"]:
    """The state store at ``url`` for one command, closed after it; what goes wrong with it
    ends the command clearly (:func:`saying_store_errors`). With ``read_only`` nothing is
    created or changed, and a store that does not exist yet reads as an empty one (said on
    standard error)."""
    from cmflow.store import StoreMissing, open_store

    with saying_store_errors():
        try:
            store = open_store(url, read_only=read_only)
        except StoreMissing as missing:
            click.echo(f"Note: {missing}.", err=True)
            store = open_store("sqlite://")  # empty, in memory: every listing finds nothing
        with store:
            yield store


def rich_console():
    """A rich console for tables (see cmflow.presentation.terminal)."""
    from cmflow.presentation.terminal import table_console

    return table_console()


def store_of(file: str | None, store_option: str | None, workflow_option: str | None) -> tuple[str, str | None]:
    """The store URL and workflow key a reading command (history, alerts) should use.

    With a workflow FILE: its [store] url and its id; otherwise --store / CMFLOW_STORE and
    --workflow as given. An invalid FILE exits 2 with its problems.
    """
    if file is None:
        return store_url(store_option, None), workflow_option
    from cmflow.foundation.errors import EXIT_INVALID
    from cmflow.workflow import load_workflow

    try:
        workflow = load_workflow(file)
    except WorkflowInvalid as error:
        print_problems(error, file)
        raise SystemExit(EXIT_INVALID) from None
    return store_url(store_option, workflow.store.url), workflow_option or workflow.key
