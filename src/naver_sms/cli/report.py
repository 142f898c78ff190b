"""`naver-sms report`: the daily report of a day - its text (the configured template) and, with `--html FILE`,
the page with its charts (one self-contained file) - from the run log; tomorrow's forecast when a booking
source is given (`--bookings`, or the Naver credentials)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from naver_sms.cli.common import (
    BookingsOpt,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    NowOpt,
    clock_of,
    err,
    error,
    open_existing_state,
    out,
    runtime_for,
    seams,
    settings_of,
    state_errors,
    write_json,
)
from naver_sms.cli.upcoming import DayOpt, day_of
from naver_sms.config.reports import DailyReport
from naver_sms.domain.clock import KST
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.owner.daily import day_report, render_report
from naver_sms.owner.upcoming import forecast
from naver_sms.wiring import compile_config


def report(
    ctx: typer.Context,
    db: DbOpt = None,
    config: ConfigOpt = None,
    bookings: BookingsOpt = None,
    now: NowOpt = None,
    day: DayOpt = "today",
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the page (charts inline) to this file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The daily report of a day: its text, and with --html its page (one self-contained file)."""
    world = seams(ctx)
    with state_errors():
        settings = settings_of(db=db, config=config, bookings=bookings)
        cfg, _, _ = compile_config(settings.config_dir)
        state = open_existing_state(settings, world)
    at = clock_of(now, world.clock)().astimezone(KST)
    wanted = day_of(day, at.date())
    data = day_report(state.runs, cfg, wanted, at)
    problems: list[str] = []
    try:  # tomorrow's forecast needs a booking source; without one the report has none
        runtime, _, _ = runtime_for(settings, now, world, quiet=True, dry_run=True, state=state)
    except ConfigError as exc:
        runtime = None
        problems.append(f"no forecast: {exc.message}")
    if runtime is not None:
        try:
            since = max(at, runtime.clock()) + timedelta(seconds=1) if wanted == at.date() else None
            ahead = forecast(runtime, wanted + timedelta(days=1), since=since)
            data.tomorrow = [p for p in ahead.planned if p.channel == "sms" and not p.blocked]
            data.forecast = True
        except (ValueError, NaverSmsError) as exc:
            problems.append(f"no forecast: {exc}")
        finally:
            runtime.close()
    if html is not None:
        from naver_sms.owner.page import render_page  # pygal: only for the page

        try:
            html.write_text(
                render_page(data, state.runs, generated=f"{at:%Y-%m-%d %H:%M} KST"), encoding="utf-8"
            )
        except OSError as exc:
            raise error(f"cannot write {html}: {exc}", code=1) from None
    text = render_report(data, cfg.reports.daily_report or DailyReport())
    if as_json:
        write_json(
            {
                "day": wanted.isoformat(),
                "text": text,
                "html": str(html) if html else None,
                "problems": problems,
            }
        )
        return
    out.print(text, highlight=False, markup=False, soft_wrap=True)
    for problem in problems:
        err.print(f"[yellow]note:[/] {problem}", highlight=False)
    if html is not None:
        err.print(f"page written to {html}", highlight=False)
