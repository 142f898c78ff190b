"""`naver-sms history`: what was sent (or written to the outbox), what waits for a retry, what failed for
good - as the rows' flag states say (`naver_sms.owner.ledger`), with the rule, the store and the channel of
each, filtered by Korean dates, store, rule, status and channel; every phone number masked in one form."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from naver_sms.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    kst,
    kst_iso,
    kst_short,
    masked,
    open_existing_state,
    out,
    seams,
    settings_of,
    state_errors,
    write_json,
)
from naver_sms.cli.upcoming import StoreOpt, store_ids
from naver_sms.config.models import AppConfig
from naver_sms.errors import NaverSmsError
from naver_sms.owner.ledger import CHANNELS, STATUSES, Entry, Filters, ledger
from naver_sms.rules.plan import CompiledRule
from naver_sms.wiring import compile_config

DateOpt = Annotated[str | None, typer.Option(help="A Korean calendar day, YYYY-MM-DD (inclusive).")]
ManyOpt = Annotated[list[str] | None, typer.Option(help="Repeatable.")]

#: what the times of `history` are: when each entry was written, by the real clock - not a run's `--now`
CLOCK_NOTE = "times: when written, by the real clock (KST), not a run's --now"


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"expected YYYY-MM-DD (Korean time), got {value!r}", param_hint=name
        ) from None


def _one_of(values: list[str] | None, known: tuple[str, ...], name: str) -> frozenset[str]:
    for value in values or ():
        if value not in known:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(known)}", param_hint=name)
    return frozenset(values or ())


def _config(config_dir: Path) -> tuple[AppConfig | None, tuple[CompiledRule, ...]]:
    """The configuration, for the kinds and the rules of older rows (none when it cannot be loaded)."""
    try:
        cfg, _, rules = compile_config(config_dir)
    except NaverSmsError:
        return None, ()
    return cfg, rules


def _legacy(e: Entry) -> dict[str, Any]:
    """An entry in the keys `history --json` always had (`sent` / `retrying` / `failed`), plus the new ones."""
    shown = e.to_json()
    if e.status in ("sent", "outbox"):
        return {"sent_at": shown["at"], **shown}
    return shown


def history(
    ctx: typer.Context,
    db: DbOpt = None,
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent entries to show.")] = 50,
    since: DateOpt = None,
    until: DateOpt = None,
    store: StoreOpt = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only this rule; repeatable.")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help=f"Only this status ({', '.join(STATUSES)}); repeatable."),
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", help=f"Only this channel ({', '.join(CHANNELS)}); repeatable."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What was sent (or written to the outbox), what failed and is waiting for a retry - by date, store, rule,
    status and channel."""
    world = seams(ctx)
    first, last = _day(since, "--since"), _day(until, "--until")
    statuses, channels = _one_of(status, STATUSES, "--status"), _one_of(channel, CHANNELS, "--channel")
    with state_errors():
        settings = settings_of(db=db, config=config)
        cfg, rules = _config(settings.config_dir)
        stores = frozenset(store_ids(cfg, store) or ()) if cfg is not None else frozenset(store or ())
        filters = Filters(first, last, stores, frozenset(rule or ()), statuses, channels)
        state = open_existing_state(settings, world)
        records = state.repo.records()
        outbox = [
            {**row, "created_at": kst_iso(row["created_at"]), "payload": masked(row["payload"])}
            for row in state.outbox.entries(limit=None if (first or last or channels) else limit)
            if _in_outbox(row, filters)
        ][:limit]
    entries = ledger(records, cfg, rules, world.clock(), filters)
    sent = [_legacy(e) for e in entries if e.status in ("sent", "outbox")][:limit]
    pending = [_legacy(e) for e in entries if e.status in ("retrying", "sending", "unknown")]
    failed = [_legacy(e) for e in entries if e.status == "failed"]
    if as_json:
        write_json({"outbox": outbox, "sent": sent, "retrying": pending, "failed": failed})
        return
    _print(state.description, sent, pending, failed, outbox)


def _in_outbox(row: dict[str, Any], filters: Filters) -> bool:
    at = kst(row["created_at"])
    day = at.date() if at else None
    return (
        (filters.since is None or (day is not None and day >= filters.since))
        and (filters.until is None or (day is not None and day <= filters.until))
        and (not filters.channels or row["channel"] in filters.channels)
    )


def _print(
    where: str,
    sent: list[dict[str, Any]],
    pending: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    outbox: list[dict[str, Any]],
) -> None:
    table = Table(title=f"sent ({where}) · times in Korean time (KST)", caption=CLOCK_NOTE)
    for col in (
        "sent at (KST)",
        "booking",
        "phone",
        "store",
        "rule",
        "channel",
        "kind",
        "status",
        "request id",
    ):
        table.add_column(col, no_wrap=col in ("booking", "phone"), overflow="fold")
    for e in sent:
        table.add_row(
            kst_short(e["sent_at"]),
            e["booking_num"],
            e["phone"],
            e["store_id"],
            e["rule"] or "?",
            e["channel"] or "?",
            e["kind"] or e["flag"],
            e["status"],
            str(e["request_id"] or ""),
        )
    out.print(table)
    if pending or failed:
        problems = Table(title="failed sends")
        for col in ("booking", "phone", "store", "rule", "flag", "attempts", "state", "last error"):
            problems.add_column(col, overflow="fold")
        for e in [*pending, *failed]:
            shown = "[red]failed for good[/]" if e["status"] == "failed" else e["status"]
            problems.add_row(
                e["booking_num"],
                e["phone"],
                e["store_id"],
                e["rule"] or "?",
                e["flag"],
                str(e["attempts"]),
                shown,
                str(e["last_error"]),
            )
        out.print(problems)
    if outbox:
        # every message whole, as it went out (one after the other, never folded into a table cell)
        out.print(f"[bold]outbox (sandbox)[/] [dim]{CLOCK_NOTE}[/]", highlight=False, soft_wrap=True)
        for row in outbox:
            payload = row["payload"]
            to = ",".join(str(m.get("to", "")) for m in payload.get("messages", []))
            text = str(payload.get("content") or payload.get("text") or "")
            head = f"{kst_short(row['created_at'])} · {row['channel']}" + (f" to {to}" if to else "")
            out.rule(escape(head), align="left", style="dim")
            out.print(text.rstrip("\n"), highlight=False, markup=False)
