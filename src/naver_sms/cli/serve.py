"""`naver-sms serve`: a run every 20 minutes (at :00, :20, :40 Korean time) on one machine, until interrupted.
Its clock and its wait are the seams of `Seams` (a test freezes one and intercepts the other)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from naver_sms.cli.common import (
    BookingsOpt,
    ConfigOpt,
    DbOpt,
    err,
    fail_config,
    print_config_error,
    print_report,
    runtime_for,
    seams,
    settings_of,
)
from naver_sms.domain.clock import KST
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.runner import run_once
from naver_sms.wiring import State


def serve(
    ctx: typer.Context,
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    live: Annotated[bool, typer.Option("--live", help="Send for real (SENS, Telegram, Slack).")] = False,
    every: Annotated[
        int, typer.Option("--every", min=1, max=1440, help="Minutes between runs, aligned to the hour.")
    ] = 20,
) -> None:
    """Run every 20 minutes (at :00, :20, :40 Korean time) on one machine, until interrupted."""
    world = seams(ctx)
    try:
        settings = settings_of(config=config, db=db, bookings=bookings, live=live)
    except ConfigError as exc:
        fail_config(exc)
    state: State | None = None  # opened once, reused by every run of this process
    while True:
        try:
            runtime, state, run_id = runtime_for(settings, None, world, quiet=False, state=state)
            try:
                report = run_once(runtime, run_id=run_id)
            finally:
                runtime.close()
            print_report(report)
        except ConfigError as exc:  # an edited file: say so, keep serving, pick up the fix next time
            print_config_error(exc)
        except NaverSmsError as exc:  # e.g. the state store unavailable: this run fails, the next one tries
            err.print(f"[bold red]run failed:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        now = world.clock().astimezone(KST)
        wait = every - now.minute % every
        next_at = (now + timedelta(minutes=wait)).replace(second=0, microsecond=0)
        err.print(f"[dim]next run at {next_at:%H:%M}[/]")
        world.sleep(max(1.0, (next_at - world.clock().astimezone(KST)).total_seconds()))
