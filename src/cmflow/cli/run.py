"""``cmflow run FILE``"""

from __future__ import annotations

import logging
import sys
import time

import click

from cmflow.foundation.errors import (
    EXIT_BUSY, EXIT_DELIVERY_FAILED, EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED, EXIT_WARNING, WorkflowInvalid,
)
from cmflow.cli.common import IsoDate, configure_logging, opened_store, print_problems, store_url

EPILOG = """\b
Exit codes:
  0  ok
  1  the run failed (a source, metric or trigger failed)
  2  invalid workflow, period or option: nothing was fetched or delivered
  3  everything was computed but an output could not deliver
  4  another run of the same workflow is under way: nothing ran
  5  everything ran, but a where value matches nothing ever seen (a misspelling?):
     the summary names the file, the key and the closest value
  143 stopped by SIGTERM (130: Ctrl-C): the messages being sent were finished, the
     rest wait in the outbox; the run is recorded as interrupted
"""


@click.command(epilog=EPILOG)
# readable=False: the workflow loader says why a file cannot be read, in its own words.
@click.argument("file", type=click.Path(path_type=str, readable=False))
@click.option("--period", "period_spec", metavar="PERIOD",
              help="last_week, last_month, last_quarter, 28d or YYYY-MM-DD..YYYY-MM-DD. "
                   "Default: the workflow's.")
@click.option("--as-of", type=IsoDate(), metavar="YYYY-MM-DD",
              help="Count the period as if today were this date; the metrics judge at the end of that day "
                   "(a later reply is not known yet).")
@click.option("--dry-run", is_flag=True,
              help="Fetch and compute, deliver nothing (the console still prints), write no state.")
@click.option("--store", "store_option", metavar="URL",
              help="State store URL (default: [store] url, CMFLOW_STORE, or the user state file).")
@click.option("-v", "--verbose", is_flag=True, help="Log details (secrets are redacted).")
def run(file: str, period_spec: str | None, as_of, dry_run: bool, store_option: str | None,
        verbose: bool) -> None:
    """Run a workflow once: fetch, compute KPIs, compare, trigger alerts, deliver."""
    run_once(file, period_spec, as_of, dry_run, store_option, verbose)


@click.command(epilog=EPILOG)
@click.argument("file", type=click.Path(path_type=str, readable=False))
@click.option("--output", "output_id", required=True, metavar="ID",
              help="The id of the e-mail output whose clients' reports to send again.")
@click.option("--client", "client_ids", multiple=True, metavar="ID",
              help="Only this client's report (repeatable). Default: every client the output sends to.")
@click.option("--period", "period_spec", metavar="PERIOD",
              help="The period to send again (as for `cmflow run`). Default: the workflow's period.")
@click.option("--as-of", type=IsoDate(), metavar="YYYY-MM-DD",
              help="The day counted as today (as for `cmflow run`).")
@click.option("--store", "store_option", metavar="URL", help="State store URL (default: the workflow's [store]).")
@click.option("-v", "--verbose", is_flag=True, help="Log details (secrets are redacted).")
def resend(file: str, output_id: str, client_ids: tuple[str, ...], period_spec: str | None, as_of,
           store_option: str | None, verbose: bool) -> None:
    """Send a period's client reports again, on purpose, after they were sent once.

    An e-mail output with `send_once` sends each client's report once per period, whatever runs
    again. After fixing a report (an export, the commentary), this runs the period once more, as
    `cmflow run --period` does (files are written again, the figures kept), and the output named
    by --output sends the new reports again to the clients named by --client (default: all). The
    run is recorded in `cmflow history` as a resend.
    """
    run_once(file, period_spec, as_of, False, store_option, verbose, resend=(output_id, client_ids))


def resend_request(workflow, output_id: str, client_ids: tuple[str, ...]) -> dict[str, frozenset[str] | None]:
    """What ``cmflow resend`` asks of the run (:attr:`cmflow.RunResult.resend`); raises
    :class:`click.UsageError` naming an unknown output or client and what there is."""
    from cmflow.foundation.names import closest

    entry = next((e for e in workflow.outputs if e.id == output_id), None)
    if entry is None:
        ids = [e.id for e in workflow.outputs]
        near = closest(output_id, ids)
        raise click.UsageError(f"--output {output_id}: {workflow.file.name} has no output of that id"
                               + (f"; did you mean {near!r}?" if near else "")
                               + f" (its outputs: {', '.join(ids) or 'none'})")
    sends_to = getattr(entry.plugin.options, "clients", None)
    if getattr(entry.plugin.options, "send_once", None) is None or sends_to in (None, "none"):
        raise click.UsageError(f"--output {output_id}: the {entry.info.name} output {output_id!r} sends no "
                               "client report once a period (an email output with clients sends them): "
                               "`cmflow run` sends what it sends")
    known = [c.id for c in workflow.clients if sends_to == "each" or c.id in sends_to]
    for client in client_ids:
        if client not in known:
            near = closest(client, known)
            raise click.UsageError(f"--client {client}: output {output_id!r} sends no report to a client of "
                                   "that id" + (f"; did you mean {near!r}?" if near else "")
                                   + f" (it sends to: {', '.join(known) or 'nobody'})")
    return {output_id: frozenset(client_ids) if client_ids else None}


def pending_resend(store, workflow, period, output_id: str, client_ids: tuple[str, ...]) -> str | None:
    """Why ``cmflow resend`` must not run (an earlier resend of a client's report for ``period``
    still waits in the outbox: a second would send two copies once the receiver is back), or None."""
    from cmflow.store import PENDING

    entry = next(e for e in workflow.outputs if e.id == output_id)
    sends_to = entry.plugin.options.clients
    clients = client_ids or [c.id for c in workflow.clients if sends_to == "each" or c.id in sends_to]
    waiting = sorted({(client, message.last_error) for message in store.outbox(
        status=PENDING, workflow=workflow.key, limit=1_000_000) if message.output_id == output_id
        and (client := entry.plugin.resent_client(message.key, workflow.key, period, clients)) is not None},
        key=lambda pair: pair[0])
    if not waiting:
        return None
    names = ", ".join(dict.fromkeys(client for client, _ in waiting))
    error = next((error for _, error in waiting if error), None)
    return (f"an earlier resend of {names}'s report for {period} is still in the outbox, not delivered"
            + (f" ({error})" if error else "") + ": `cmflow outbox flush --now` sends it once the mail server "
            "answers (`cmflow outbox` shows it); resending now would send two copies")


def run_once(file: str, period_spec: str | None, as_of, dry_run: bool, store_option: str | None,
             verbose: bool, *, resend: tuple[str, tuple[str, ...]] | None = None) -> None:
    """What ``cmflow run`` does (and ``cmflow resend``, with the output and clients to send again);
    exits with the run's exit code."""
    from cmflow.foundation.periods import PeriodError
    from cmflow.runner import run_workflow
    from cmflow.stages.run_periods import resolve_period
    from cmflow.workflow import load_workflow

    configure_logging(verbose)  # a source's warnings are in the summary printed at the end
    started = time.perf_counter()
    try:
        workflow = load_workflow(file)
    except WorkflowInvalid as error:
        print_problems(error, file)
        sys.exit(EXIT_INVALID)
    resent = resend_request(workflow, *resend) if resend is not None else None
    try:
        period = resolve_period(workflow, period_spec, as_of)
    except PeriodError as error:
        given = " ".join(([f"--period {period_spec}"] if period_spec else [])
                         + ([f"--as-of {as_of}"] if as_of else []))
        click.secho(f"✗ {given or file + ': workflow.period'}: {error}", fg="red", err=True)
        sys.exit(EXIT_INVALID)

    from cmflow.stages.run_history import WorkflowKeyConflict
    from cmflow.foundation.secrets import redactor
    from cmflow.foundation.stopping import RunStopped, stop_on_signals
    from cmflow.store import StoreError, WorkflowBusy, display_url

    url = store_url(store_option, workflow.store.url)
    with opened_store(url) as store:  # a store that cannot be opened or used: said, exit 1
        versus = ", ".join(str(period.comparison(c)) for c in workflow.settings.compare)
        click.echo(f"Running {workflow.name!r} for {period}" + (f" (compared with {versus})" if versus else "")
                   + (" — dry run" if dry_run else ""), err=True)
        if resent is not None and (waiting := pending_resend(store, workflow, period, *resend)):
            click.secho(f"✗ {waiting}", fg="red", err=True)
            sys.exit(EXIT_INVALID)
        try:
            with stop_on_signals() as stop:
                result = run_workflow(workflow, store=store, period=period, dry_run=dry_run, stop=stop,
                                      as_of=as_of, resend=resent)
        except RunStopped as error:
            click.secho(f"✗ {error} before the run's results were kept: nothing was delivered; the run is "
                        "recorded as interrupted (`cmflow history`)", fg="yellow", err=True)
            sys.exit(stop.exit_code)
        except WorkflowKeyConflict as error:
            click.secho(f"✗ {file}: {error}", fg="red", err=True)
            sys.exit(EXIT_INVALID)
        except WorkflowBusy as error:
            click.secho(f"✗ {error}", fg="yellow", err=True)
            sys.exit(EXIT_BUSY)
        except StoreError:
            raise
        except Exception as error:
            logging.getLogger("cmflow").debug("run crashed", exc_info=True)
            click.secho(f"✗ the run crashed: {redactor(f'{type(error).__name__}: {error}')}"
                        + ("" if verbose else " (use -v for details)"), fg="red", err=True)
            sys.exit(EXIT_RUN_FAILED)
    _print_summary(result, display_url(url), time.perf_counter() - started)
    if resend is not None and not result.resent.get(resend[0]):
        click.secho(f"✗ {nothing_resent(result, *resend)}", fg="red", err=True)
        sys.exit(EXIT_DELIVERY_FAILED if result.status in ("ok", "warning") else _exit_code(result, stop))
    sys.exit(_exit_code(result, stop))


def _exit_code(result, stop) -> int:
    """The exit code of a run that ended (see :data:`EPILOG`)."""
    return {"ok": EXIT_OK, "warning": EXIT_WARNING, "failed": EXIT_RUN_FAILED,
              "undelivered": EXIT_DELIVERY_FAILED, "interrupted": stop.exit_code}[result.status]


def nothing_resent(result, output_id: str, client_ids: tuple[str, ...]) -> str:
    """One line saying that ``cmflow resend`` queued nothing, and why when the output said."""
    report = next((s for s in result.stages if s.kind == "output" and s.id == output_id), None)
    why = (report.error if report is not None and not report.ok else
           "a report held as incomplete (incomplete = \"hold\") is not sent: fix the failed source, then resend")
    whose = ", ".join(client_ids) or "any client"
    return f"nothing was sent again: output {output_id!r} queued no report for {whose}: {why}"


def _for_runs(result, alert) -> int:
    """The ``for`` of the rule a pending alert belongs to."""
    entry = next((e for e in result.workflow.triggers if e.id == alert.rule), None)
    return entry.common.for_runs if entry is not None else 1


SKIPPED_SHOWN = 10
"""Skipped rows the summary lists one by one (the rest are counted): it stays one screen."""


def _print_skipped(skipped: list[str], echo) -> None:
    """Every row a source left out, up to :data:`SKIPPED_SHOWN`, then where to see the rest."""
    for row in skipped[:SKIPPED_SHOWN]:
        echo(f"      - {row}", fg="yellow")
    if len(skipped) > SKIPPED_SHOWN:
        echo(f"      … and {len(skipped) - SKIPPED_SHOWN} more skipped rows: `cmflow run -v` prints them "
             "all, and an html_report output lists them in its footer", fg="yellow")


def _print_objectives(judged, echo) -> None:
    """Each objective's decision and the rule that gave it, one line each, as the reports say it
    in English (``167% of the target reached: continue from 100%.``; the exact progress is kept
    with the run)."""
    if not judged:
        return
    echo("\nObjectives:", bold=True)
    colours = {"continue": "green", "optimise": "cyan", "change": "yellow", "stop": "red"}
    for result in judged:
        series = ", ".join(f"{k} = {v}" for k, v in result.dimensions.items() if v is not None)
        name = result.objective.id + (f" ({series})" if series else "")
        echo(f"  [{result.verdict or 'no verdict'}] {name}: {_rule_in_words(result) or result.reason}",
             fg=colours.get(result.verdict))


def _rule_in_words(result) -> str:
    """The rule of an objective's verdict in words, the English reports' (their catalogue's, not
    a copy); empty without one."""
    from cmflow.presentation.language import language
    from cmflow.presentation.objective_words import objective_rule

    return objective_rule(result, language("en"))


def _counted(kind: str, count: int) -> str:
    """``15 daily activity records`` for the record kind ``account_activity`` (never "activitys")."""
    from cmflow.foundation.records import RECORD_KINDS

    known = RECORD_KINDS.get(kind)
    return known.counted(count) if known is not None else f"{kind}: {count}"


def _print_summary(result, url: str, seconds: float) -> None:
    from cmflow.foundation.secrets import redactor

    echo = lambda text="", **kw: click.secho(text, err=True, **kw)  # noqa: E731
    echo()
    for stage in result.stages:
        if stage.kind == "source":
            counts = ", ".join(_counted(kind, n) for kind, n in stage.counts.items()) or "no records"
            mark, colour = ("✓", "green") if stage.ok else ("✗", "red")
            note = f" ({stage.note})" if stage.ok and stage.note else ""  # incremental: what came from the store
            echo(f"{mark} source {stage.id} ({stage.plugin}): " + (counts + note if stage.ok else stage.error),
                 fg=None if stage.ok else colour)
            for detail in stage.details:  # each bad row of a failed export, one per line
                echo(f"      - {detail}", fg="red")
            for problem in stage.problems:
                echo(f"    ! {problem}", fg="yellow")
            _print_skipped(stage.skipped, echo)
        elif stage.kind == "listen" and stage.ok:
            echo(f"✓ listen: {stage.note}")
        elif stage.kind == "classifier" and stage.ok:
            counts = ", ".join(_counted(kind, n) for kind, n in stage.counts.items()) or "nothing"
            echo(f"✓ classifier {stage.id} ({stage.plugin}): " + (stage.note or f"labelled {counts}"))
        elif stage.kind == "where":  # warnings are listed below, as the run's status
            for problem in stage.problems:
                echo(f"! {problem}", fg="yellow")
        elif not stage.ok:
            echo(f"✗ {stage.kind} {stage.id} ({stage.plugin}) failed: {stage.error}", fg="red")
        else:
            for problem in stage.problems:  # a trigger's notes: "not enough history yet" ...
                echo(f"! {stage.kind} {stage.id} ({stage.plugin}): {problem}", fg="yellow")
    if result.failed_sources:
        echo(f"\n! Incomplete: {len(result.failed_sources)} source(s) failed; the figures leave their records "
             "out, no measurement was stored, and the rules reading them raise error alerts instead of "
             "resolving.", fg="red", bold=True)
    if result.warnings:
        echo(f"\n! Check: {len(result.warnings)} warning(s), each saying what it leaves out:", fg="yellow", bold=True)
        for warning in result.warnings:
            echo(f"  ! {warning}", fg="yellow")
    if result.past_period:
        echo("\n(A past period: its alerts are shown, the current alert state is left unchanged.)")
    if result.alerts or result.resolved or result.pending:
        new = sum(1 for a in result.alerts if a.is_new)
        echo()
        pending = f", {len(result.pending)} pending" if result.pending else ""
        echo(f"Alerts: {len(result.alerts)} firing ({new} new), {len(result.resolved)} resolved{pending}",
             bold=True)
        colours = {"critical": "red", "warning": "yellow", "info": "cyan"}
        for alert in result.alerts:
            flag = "NEW " if alert.is_new else ""
            muted = f" (silenced by {alert.silenced_by})" if alert.silenced_by else ""
            echo(f"  {flag}[{alert.severity}] {alert.summary}{muted}", fg=colours.get(alert.severity))
        for alert in result.pending:
            echo(f"  [pending {alert.streak}/{_for_runs(result, alert)}] {alert.summary}")
        for alert in result.resolved:
            echo(f"  [resolved] {alert.summary.removeprefix('resolved: ')}", fg="green")
    else:
        echo("\nNo alert.")
    for verdict in result.verdicts:
        colour = {"on_track": "green", "at_risk": "yellow", "off_track": "red"}.get(verdict.status)
        echo(f"  [{verdict.status.replace('_', ' ')}] {verdict.summary}", fg=colour)
    _print_objectives(result.objectives, echo)
    outputs = [s for s in result.stages if s.kind == "output"]
    if outputs:
        echo()
        for stage in outputs:
            if stage.ok:
                echo(f"✓ output {stage.id}" + (f": {stage.note}" if stage.note else ""))
            else:
                echo(f"✗ output {stage.id} failed: {stage.error}", fg="red")
    state = "nothing written (dry run)" if result.dry_run else f"run {result.run_id} recorded in {redactor(url)}"
    status_colour = {"ok": "green", "warning": "yellow", "failed": "red", "undelivered": "yellow",
                     "interrupted": "yellow"}[result.status]
    stopped = f" ({result.stopped}: `cmflow outbox flush` sends what is left)" if result.stopped else ""
    echo(f"\nRun {result.status}{stopped} in {seconds:.1f} s; {state}.", fg=status_colour)
