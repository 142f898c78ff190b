"""`naver-sms upcoming`: which messages the rules will send on a day - at which run, to whom (masked), with which
text - forecast from the state as it is now, writing nothing (`naver_sms.owner.upcoming`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.table import Table

from naver_sms.cli.common import (
    BookingsOpt,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    NowOpt,
    err,
    error,
    out,
    print_errors,
    runtime_for,
    seams,
    settings_of,
    state_errors,
    write_json,
)
from naver_sms.config.models import AppConfig
from naver_sms.domain.clock import KST
from naver_sms.errors import NaverSmsError, did_you_mean
from naver_sms.owner.upcoming import Forecast, forecast

DayOpt = Annotated[
    str, typer.Option("--day", help="today, tomorrow or YYYY-MM-DD (Korean calendar day).", show_default=True)
]
StoreOpt = Annotated[
    list[str] | None, typer.Option("--store", help="Only this store (its id, alias or name); repeatable.")
]


def day_of(text: str, today: date) -> date:
    """`today`, `tomorrow` or `YYYY-MM-DD`."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise typer.BadParameter(
            f"expected today, tomorrow or YYYY-MM-DD, got {text!r}", param_hint="--day"
        ) from None


def store_ids(config: AppConfig, wanted: list[str] | None) -> set[str] | None:
    """The ids of the stores named by id, alias or name (exit 2, with a suggestion, for an unknown one)."""
    if not wanted:
        return None
    names = {key: s.id for s in config.stores.values() for key in (s.id, s.alias, s.name)}
    found = set()
    for name in wanted:
        if name not in names:
            close = did_you_mean(name, names)
            raise error(
                f"no store {name!r} in stores.yaml" + (f" (did you mean {close!r}?)" if close else ""), code=2
            )
        found.add(names[name])
    return found


def upcoming(
    ctx: typer.Context,
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    now: NowOpt = None,
    config: ConfigOpt = None,
    day: DayOpt = "today",
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which messages the rules will send on a day, at which run, to whom and with which text. Writes nothing."""
    with state_errors():
        settings = settings_of(config=config, db=db, bookings=bookings)
        runtime, _, _ = runtime_for(settings, now, seams(ctx), quiet=True, dry_run=True)
    try:
        wanted = day_of(day, runtime.clock().astimezone(KST).date())
        stores = store_ids(runtime.config, store)
        shown = forecast(runtime, wanted, stores=stores)
    except ValueError as exc:
        raise error(str(exc), code=2) from None
    except NaverSmsError as exc:
        raise error(str(exc), code=1) from None
    finally:
        runtime.close()
    if as_json:
        write_json(shown.to_json())
        return
    _print(shown)


def _print(shown: Forecast) -> None:
    first = shown.runs[0].strftime("%H:%M") if shown.runs else "-"
    table = Table(
        title=f"upcoming {shown.day} · {len(shown.runs)} runs from {first} · {shown.bookings} bookings"
    )
    for col in ("run", "rule", "channel", "to", "store", "template", "type", "bytes"):
        table.add_column(col, no_wrap=col in ("run", "to"))
    for p in shown.planned:
        template = p.template or ("(digest)" if p.booking_num is None else "")
        row = [f"{p.at:%H:%M}", p.rule, p.channel, p.to or "", p.store_id or "", template, p.type or ""]
        row.append(str(p.bytes) if p.bytes is not None else "")
        if p.blocked:
            row[2] = f"[red]blocked[/]: {p.blocked}"
        table.add_row(*row)
    out.print(table)
    texts: dict[tuple[str, str], list[str]] = {}
    for p in shown.planned:
        if p.text:
            texts.setdefault((p.template or p.rule, p.text), []).append(f"{p.at:%H:%M}")
    for (name, text), times in texts.items():
        out.rule(f"{name} · {len(times)}x · first at {times[0]}")
        out.print(text, highlight=False, markup=False)
    if not shown.planned:
        out.print(f"nothing would be sent on {shown.day}")
    if shown.errors:
        err.print(f"{len(shown.errors)} problem(s):")
        print_errors(shown.errors)
