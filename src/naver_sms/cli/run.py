"""`naver-sms run` (one run) and `naver-sms plan` (what a run would do now, and why): both over the runner's
one pipeline (`naver_sms.runner.run_once`, `naver_sms.runner.preview`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from naver_sms.cli.common import (
    BookingsOpt,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    NowOpt,
    err,
    error,
    print_report,
    runtime_for,
    seams,
    settings_of,
    state_errors,
    write_json,
)
from naver_sms.cli.plan_view import print_plan
from naver_sms.errors import NaverSmsError
from naver_sms.logs import log_context
from naver_sms.runner import Preview, preview, run_once


def run(
    ctx: typer.Context,
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    now: NowOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide, but send and write nothing.")] = False,
    live: Annotated[bool, typer.Option("--live", help="Send for real (SENS, Telegram, Slack).")] = False,
) -> None:
    """One run: fetch bookings, decide with the rules, act, report."""
    with state_errors():
        settings = settings_of(config=config, db=db, bookings=bookings, live=live)
        runtime, state, run_id = runtime_for(settings, now, seams(ctx), quiet=as_json, dry_run=dry_run)
    if not as_json:
        err.print(
            f"[bold]naver-sms[/] {runtime.mode}{' (dry run)' if dry_run else ''} · state: {state.description}"
            f" · source: {runtime.source.description} · now {runtime.clock():%Y-%m-%d %H:%M} KST",
            highlight=False,
        )
    try:
        with log_context(run_id=run_id):  # every log line of the run carries its id
            report = run_once(runtime, dry_run=dry_run, run_id=run_id)
    finally:
        runtime.close()
    if as_json:
        write_json(report.to_json())
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def plan(
    ctx: typer.Context,
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    now: NowOpt = None,
    config: ConfigOpt = None,
    booking: Annotated[
        str | None, typer.Option("--booking", help="Only this booking (booking_num or bookingId).")
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show why each rule did not match.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """What would be sent now and why (or why not), with the rendered texts. Changes nothing."""
    with state_errors():
        settings = settings_of(config=config, db=db, bookings=bookings)
        runtime, _, run_id = runtime_for(settings, now, seams(ctx), quiet=True, dry_run=True)
    try:
        shown = preview(runtime, run_id=run_id, only_booking=booking)
    except NaverSmsError as exc:
        raise error(str(exc), code=1) from None
    finally:
        runtime.close()
    if booking is not None and not shown.plan.facts:
        err.print(f"no booking {booking!r} in {runtime.source.description}")
        raise typer.Exit(2)
    if as_json:
        write_json(_plan_json(shown, explain=explain))
        return
    print_plan(shown, runtime.source.description, explain=explain)


def _plan_json(shown: Preview, *, explain: bool) -> dict[str, Any]:
    report = shown.report
    return {
        "now": report.now.strftime("%Y-%m-%d %H:%M"),
        "bookings": [
            {
                "booking_num": ev[0].facts.booking.booking_num,
                "status": ev[0].facts.booking.status,
                "reserve_at": ev[0].facts.booking.reserve_at.strftime("%Y-%m-%d %H:%M"),
                "in_db": ev[0].facts.record is not None,
                "rules": [
                    e.explain() if explain or e.matched else {"rule": e.rule.name, "matched": False}
                    for e in ev
                ],
            }
            for ev in shown.plan.evaluations
            if ev
        ],
        "sms": [s.to_json() for s in report.sms],
        "flags": [f.to_json() for f in report.flags],
        "notifications": [n.to_json() for n in report.notifications],
        "held": [h.to_json() for h in report.held],
        "errors": [e.to_json() for e in report.errors],
    }
