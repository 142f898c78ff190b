"""`naver-sms history`: what was sent (or written to the outbox), what waits for a retry, what failed for
good - as the rows' flag states say (`FlagState.sent_at`, `.waiting`, `.status`); every phone number masked in
one form."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from naver_sms.cli.common import (
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
from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.domain.privacy import mask_phone_uniform, mask_uniform
from naver_sms.flags.state import FlagState, flag_states

#: what the times of `history` are: when each entry was written, by the real clock - not a run's `--now`
CLOCK_NOTE = "times: when written, by the real clock (KST), not a run's --now"


def _sent(record: BookingRecord, state: FlagState) -> dict[str, Any]:
    phone = mask_phone_uniform(record.phone)
    at = kst_iso(state.sent_at)
    return {
        "booking_num": record.booking_num,
        "phone": phone,
        "flag": state.flag,
        "sent_at": at,
        "request_id": state.request_id,
    }


def _waiting(record: BookingRecord, state: FlagState) -> dict[str, Any]:
    phone = mask_phone_uniform(record.phone)
    error = mask_uniform(state.last_error) if state.last_error is not None else None
    return {
        "booking_num": record.booking_num,
        "phone": phone,
        "flag": state.flag,
        "attempts": state.attempts,
        "last_error": error,
    }


def history(
    ctx: typer.Context,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent entries to show.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """What was sent (or written to the outbox), what failed and is waiting for a retry."""
    world = seams(ctx)
    with state_errors():
        state = open_existing_state(settings_of(db=db), world)
        outbox = [
            {**row, "created_at": kst_iso(row["created_at"]), "payload": masked(row["payload"])}
            for row in state.outbox.entries(limit=limit)
        ]
        rows = [(record, flag_states(record, world.clock())) for record in state.repo.records()]
    sent = [_sent(r, s) for r, states in rows for s in sorted(states, key=lambda s: s.flag) if s.sent_at]
    sent.sort(key=lambda e: kst(e["sent_at"]) or datetime.min.replace(tzinfo=KST), reverse=True)
    pending = [_waiting(r, s) for r, states in rows for s in states if s.waiting and s.status != "failed"]
    failed = [_waiting(r, s) for r, states in rows for s in states if s.waiting and s.status == "failed"]
    if as_json:
        write_json({"outbox": outbox, "sent": sent[:limit], "retrying": pending, "failed": failed})
        return
    table = Table(title=f"sent ({state.description})", caption=CLOCK_NOTE)
    for col in ("sent at (KST)", "booking", "phone", "flag", "request id"):
        table.add_column(col, no_wrap=col != "request id", overflow="fold")
    for e in sent[:limit]:
        table.add_row(
            kst_short(e["sent_at"]), e["booking_num"], e["phone"], e["flag"], str(e["request_id"] or "")
        )
    out.print(table)
    if pending or failed:
        problems = Table(title="failed sends")
        for col in ("booking", "phone", "flag", "attempts", "state", "last error"):
            problems.add_column(col)
        for e, shown in [
            *((e, "retrying") for e in pending),
            *((e, "[red]failed for good[/]") for e in failed),
        ]:
            problems.add_row(
                e["booking_num"], e["phone"], e["flag"], str(e["attempts"]), shown, str(e["last_error"])
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
